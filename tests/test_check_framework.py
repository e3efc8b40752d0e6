"""The check framework apart from its content, and the grading settings in one place.

Does the framework (``autograder/framework``, the proxy ``autograder/remote.py``) stay free of
check content? Do the hidden one-liners still find ``run``? Is every limit one trait, read by
the sandbox, the verdicts and the preprocessors? Does a learner's result get reasons a learner
can act on?
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.framework import as_array, as_tuple, describe, unusable
from autograder.numeric import differing
from autograder.settings import REPO_ROOT, GradingSettings, grading, make_config
from bplib.gradcheck import CheckError

FRAMEWORK = [*sorted((REPO_ROOT / "autograder" / "framework").glob("*.py")),
             REPO_ROOT / "autograder" / "remote.py", REPO_ROOT / "autograder" / "numeric.py"]
CONTENT = ("autograder.checks", "autograder.mistakes")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: resolve against the file's package
                parts = path.parent.relative_to(REPO_ROOT).parts
                package = parts[: len(parts) - node.level + 1]
                module = ".".join([*package, module]) if module else ".".join(package)
            found.add(module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


@pytest.mark.parametrize("path", FRAMEWORK, ids=lambda p: p.name)
def test_does_the_framework_import_no_check_content(path):
    content = {m for m in _imports(path) if m.startswith(CONTENT)}
    assert not content, f"{path.name} imports check content: {sorted(content)}"


def test_is_the_mistake_catalogue_pure_numpy():
    for path in sorted((REPO_ROOT / "autograder" / "mistakes").glob("*.py")):
        # the standard library and numpy only: a notebook's visible tests import the catalogue
        outside = {m for m in _imports(path) if m.split(".")[0] not in
                   {"numpy", "autograder", *sys.stdlib_module_names}}
        inside = {m for m in _imports(path) if m.startswith("autograder")
                  and m not in ("autograder.numeric", "autograder.mistakes")}
        assert not outside and not inside, f"{path.name}: {sorted(outside | inside)}"


def test_do_the_hidden_one_liners_still_find_run():
    from autograder.checks import InKernelLearner, Learner, LearnerError, check, run  # noqa: F401
    from autograder.framework import run as framework_run

    assert run is framework_run


def test_does_identity_tell_the_same_learner_function_apart_from_another():
    from autograder.framework import InKernelLearner
    from autograder.remote import identity

    def f(x):
        return x

    def g(x):
        return x

    learner = InKernelLearner({"f": f, "g": g})
    assert identity(learner.f) == identity(learner.f)
    assert identity(learner.f) != identity(learner.g)


# ----------------------------------------------------------------------------- settings


def test_is_every_limit_one_trait_read_everywhere():
    from autograder.external import ExternalVerdicts
    from autograder.preprocessors import LimitOutputBytes
    from autograder.sandbox import Sandbox

    default = grading()
    box = Sandbox([], [])
    assert (box.call_timeout, box.start_timeout, box.memory_bytes) == (
        default.call_timeout, default.cell_timeout, default.memory_bytes)
    c = make_config(cell_timeout=7)
    c.GradingSettings.max_output_bytes = 123
    assert ExternalVerdicts(config=c).call_timeout == 7
    assert c.Execute.timeout == 7
    assert LimitOutputBytes(config=c).max_bytes == 123
    assert LimitOutputBytes(max_bytes=9).max_bytes == 9  # a preprocessor's own trait still wins
    assert c.ClearSolutions.begin_solution_delimeter == default.begin_solution
    assert c.ClearHiddenTests.end_test_delimeter == default.end_hidden_tests


def test_is_every_setting_documented_with_its_default():
    for name, trait in GradingSettings.class_traits(config=True).items():
        assert trait.help, f"GradingSettings.{name} has no help"
        assert trait.default_value is not None, name


# ----------------------------------------------------------------------------- reasons


@pytest.mark.parametrize(("value", "words"), [
    (None, "is None"), ("text", "the string"), ({"a": 1}, "a dict"),
    ([[1.0], [2.0, 3.0]], "a list of 2 items"),
])
def test_does_a_result_of_the_wrong_kind_get_a_reason_without_internal_names(value, words):
    with pytest.raises(CheckError) as info:
        as_array(value, "out")
    assert words in str(info.value)
    assert "RemoteObject" not in str(info.value) and "NoneType" not in str(info.value)


def test_is_an_empty_result_reported_before_anything_reduces_it():
    with pytest.raises(CheckError, match=r"shape \(0, 3\), expected \(4, 3\) \(it is empty\)"):
        as_array(np.zeros((0, 3)), "out", shape=(4, 3))


def test_does_a_learner_object_seen_through_the_sandbox_keep_its_own_class_name():
    class Proxy:  # what autograder.remote.RemoteObject exposes
        @property
        def learner_type(self) -> str:
            return "Value"

    assert describe(Proxy()) == "a Value object"
    with pytest.raises(CheckError, match="got a tuple of 3 items"):
        as_tuple((1, 2, 3), "f", ["out", "cache"])


def test_do_differing_entries_show_where_the_values_differ():
    got = np.array([[0.0, 0.0], [0.0, 5.0]])
    want = np.zeros((2, 2))
    text = differing(got, want)
    assert text.startswith("1 of 4 entries differ: at [1, 1] yours is 5, expected 0")
    # a number (0-d) that differs is one entry, and two close numbers never read the same
    assert differing(np.float64(0.926226183), np.float64(0.92622618)) == (
        "1 of 1 entries differ: yours is 0.926226183, expected 0.92622618")
    assert differing(np.float64(2.0), np.float64(2.0)) == "no entry differs"  # negative control


def test_does_a_learners_error_read_as_what_went_wrong_never_as_a_class_name():
    from autograder.framework import LearnerError, error_sentence

    assert error_sentence("ZeroDivisionError", "division by zero") == "a division by zero: division by zero"
    assert error_sentence("KeyError", "'m'") == "a dictionary has no such key: 'm'"
    text = str(LearnerError("adam", "IndexError", "index 3 is out of bounds"))
    assert "IndexError" not in text and "`adam`" in text and "index 3 is out of bounds" in text
    assert "not implemented yet" in str(LearnerError("adam", "NotImplementedError", ""))


def test_is_an_unforeseen_result_explained_without_the_raw_exception():
    text = unusable(ValueError("zero-size array to reduction operation minimum"))
    assert "zero-size" not in text and "docstring" in text and "ValueError" not in text


def test_does_every_catalogued_mistake_have_one_stable_id():
    import re

    from autograder.mistakes import catalogue, mistake_id

    ids = catalogue()
    assert len(ids) > 100
    for key, mistake in ids.items():
        assert re.fullmatch(r"[a-z]+\.[a-z0-9_]+\.[a-z0-9-]+", key), key
        assert mistake_id(mistake) == key


def test_are_two_mistakes_named_alike_in_one_table_refused():
    """Negative control of the ids: a table whose names collide cannot be catalogued."""
    from autograder.mistakes import Mistake, ids_of

    table = [Mistake("no bias", "a"), Mistake("No bias!", "b")]
    with pytest.raises(ValueError, match="names must differ"):
        ids_of([("layers", {"AFFINE": table})])
    assert list(ids_of([("layers", {"AFFINE": table[:1]})])) == ["layers.affine.no-bias"]


def test_does_recording_capture_what_a_check_diagnosed_and_nothing_outside():
    from autograder.mistakes import diagnose, recording
    from autograder.mistakes.layers import AFFINE_FORWARD

    x, w, b = np.ones((2, 3)), np.ones((3, 2)), np.array([1.0, 2.0])
    diagnose(x @ w, AFFINE_FORWARD, x, w, b)  # outside: not recorded anywhere
    with recording() as fired:
        diagnose(x @ w + b, AFFINE_FORWARD, x, w, b)  # the right answer names no mistake
        assert fired == []
        found = diagnose(x @ w, AFFINE_FORWARD, x, w, b)
    assert fired == [found] and found.name == "no bias"

"""Is ``course/`` exactly what ``bp-release`` makes from ``solutions/``, with nothing leaked?"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.normalize import fill_answers, normalize_notebook, reference_answers, secret_lines
from autograder.release import (
    assignments,
    find_leaks,
    generate,
    main,
    normalize_sources,
    release_diff,
)
from autograder.settings import COURSE, REPO_ROOT, SOLUTIONS

TOY = "00-toy"  # the example assignment of tests/conftest.py


@pytest.fixture(scope="module")
def generated_now(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What generation makes from the repository's solutions/ today."""
    dest = tmp_path_factory.mktemp("generated")
    generate(SOLUTIONS, dest)
    return dest


def test_are_there_assignments_to_release() -> None:
    assert assignments(SOLUTIONS), "solutions/ holds no assignment"


def test_are_solution_notebooks_normalized() -> None:
    unnormalized = normalize_sources(SOLUTIONS, write=False)
    assert unnormalized == [], f"run bp-release: {unnormalized}"


def test_is_committed_course_what_generation_makes_now(generated_now: Path) -> None:
    diff = release_diff(generated_now, COURSE)
    assert diff == [], "course/ is stale or hand-edited; run bp-release:\n" + "\n".join(diff)


def test_does_course_leak_no_solution_code_or_hidden_test() -> None:
    leaks = find_leaks(SOLUTIONS, COURSE)
    assert leaks == [], "\n".join(leaks)


def test_do_released_notebooks_have_no_outputs_and_stable_ids() -> None:
    for path in sorted(COURSE.glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            assert cell.get("outputs", []) == [] and cell.get("execution_count") is None, path
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid:
                assert cell.id == gid, f"{path}: cell id {cell.id} is not its grade_id {gid}"


# --- the release machinery itself, on the toy course ------------------------------------------


def test_does_normalizing_strip_outputs_and_derive_ids(make_toy_notebook) -> None:
    nb = make_toy_notebook()
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="noise")]
    nb.cells[1].execution_count = 7
    nb.metadata["widgets"] = {"state": {}}
    once = normalize_notebook(nb)
    assert once.cells[1].outputs == [] and once.cells[1].execution_count is None
    assert [c.id for c in once.cells][2:4] == ["square", "test_square_values"]
    assert set(once.metadata) == {"kernelspec", "language_info"}
    again = normalize_notebook(make_toy_notebook())  # new random ids, same derived ones
    assert nbformat.writes(once) == nbformat.writes(again) == nbformat.writes(normalize_notebook(once))
    assert nb.cells[1].execution_count == 7, "the input must not change"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"grade_id": "has space"}, "grade_id"),
        ({"grade_id": "square", "grade": True, "points": None}, "points"),
    ],
)
def test_does_normalizing_reject_bad_nbgrader_metadata(change, message, make_toy_notebook):
    nb = make_toy_notebook()
    nb.cells[3].metadata.nbgrader.update(change)
    with pytest.raises(ValueError, match=message):
        normalize_notebook(nb)


def test_does_normalizing_reject_a_duplicate_grade_id(make_toy_notebook) -> None:
    nb = make_toy_notebook()
    nb.cells[5].metadata.nbgrader["grade_id"] = "test_square_values"
    with pytest.raises(ValueError, match="used twice"):
        normalize_notebook(nb)


def test_is_regenerating_the_toy_release_a_no_op(toy_course: tuple[Path, Path]) -> None:
    source, course = toy_course
    before = {p: p.read_bytes() for p in course.rglob("*.ipynb")}
    assert main(["--source", str(source), "--course", str(course), "--check"]) == 0
    assert main(["--source", str(source), "--course", str(course)]) == 0
    assert {p: p.read_bytes() for p in course.rglob("*.ipynb")} == before


def test_does_the_toy_release_hide_solutions_and_hidden_tests(toy_course: tuple[Path, Path]) -> None:
    _, course = toy_course
    text = (course / TOY / f"{TOY}.ipynb").read_text()
    assert "return x * x" not in text and "secret_input_value" not in text
    assert "raise NotImplementedError()" in text


def test_does_check_catch_a_hand_edit_and_a_leak(tmp_path, write_toy) -> None:
    source = write_toy(tmp_path / "solutions")
    course = tmp_path / "course"
    assert main(["--source", str(source), "--course", str(course)]) == 0
    released = course / TOY / f"{TOY}.ipynb"
    nb = nbformat.read(released, as_version=4)
    answers = reference_answers(nbformat.read(source / TOY / f"{TOY}.ipynb", as_version=4))
    nbformat.write(fill_answers(nb, {"square": answers["square"]}), released)
    assert main(["--source", str(source), "--course", str(course), "--check"]) == 1
    assert any("differs" in d for d in release_diff_of(source, course, tmp_path))
    assert main(["--source", str(source), "--course", str(course)]) == 0  # repaired
    nb.cells[1].source += "\nsecret_input_value = -4"  # a hidden-test line, pasted in
    nbformat.write(nb, released)
    assert any("secret_input_value" in leak for leak in find_leaks(source, course))


def release_diff_of(source: Path, course: Path, tmp: Path) -> list[str]:
    dest = tmp / "again"
    generate(source, dest)
    return release_diff(dest, course)


def test_are_solution_and_hidden_lines_secrets_but_stub_and_short_lines_not(make_toy_notebook):
    nb = make_toy_notebook()
    nb.cells[2].source = nb.cells[2].source.replace(
        "return x * x", "pass\n    raise NotImplementedError()\n    return x * x"
    )
    lines = secret_lines(normalize_notebook(nb))
    assert "return x * x" in lines
    assert 'assert square(-2.5) == 6.25, "square(-2.5) should be 6.25"' in lines
    assert "pass" not in lines and "raise NotImplementedError()" not in lines


def test_does_stale_release_content_get_removed(tmp_path, write_toy) -> None:
    source = write_toy(tmp_path / "solutions")
    course = tmp_path / "course"
    (course / "99-gone").mkdir(parents=True)
    (course / "99-gone" / "99-gone.ipynb").write_text("{}")
    assert main(["--source", str(source), "--course", str(course)]) == 0
    assert not (course / "99-gone").exists()


@pytest.mark.slow
def test_does_plain_nbgrader_from_the_repo_root_make_the_same_release(tmp_path: Path) -> None:
    """An instructor's ``nbgrader generate_assignment`` (root shim config) matches course/."""
    name = assignments(SOLUTIONS)[0]
    nbgrader = Path(sys.executable).parent / "nbgrader"
    env = {**os.environ, "BP_WORKSPACE": str(tmp_path / "workspace")}
    env["PATH"] = f"{nbgrader.parent}{os.pathsep}{env.get('PATH', '')}"
    out = tmp_path / "release"
    had_gradebook = (REPO_ROOT / "gradebook.db").exists()
    subprocess.run(
        [str(nbgrader), "generate_assignment", name, "--no-db", "--force",
         f"--CourseDirectory.release_directory={out}"],
        cwd=REPO_ROOT, env=env, check=True, capture_output=True, timeout=300,
    )
    assert release_diff(out, COURSE, [name]) == []
    assert (REPO_ROOT / "gradebook.db").exists() == had_gradebook


def test_is_the_root_config_a_shim_loading_autograder_config() -> None:
    text = (REPO_ROOT / "nbgrader_config.py").read_text()
    assert 'load_subconfig("autograder/nbgrader_config.py")' in text


def test_does_the_formgrader_load_the_course_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """JupyterLab's formgrader, started at the repository root, sees solutions/ and course/."""
    from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension

    monkeypatch.chdir(REPO_ROOT)
    extension = FormgradeExtension()
    extension.load_cwd_config = True
    config = extension.load_config()
    assert config.CourseDirectory.source_directory == str(SOLUTIONS)
    assert config.CourseDirectory.release_directory == str(COURSE)
    assert "autograder.preprocessors.RedactFeedback" in config.GenerateFeedback.preprocessors

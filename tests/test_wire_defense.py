"""Does the grader defend itself against its learner's process, and do callbacks keep answers out?

Two halves:

* Forged frames: the learner's code can write to its own end of the pipe, so whatever it writes
  is read by the grader as untrusted input. Each forged frame must end that call with a
  ``"protocol"`` failure (the sandbox killed, the check failed with a reason), never crash or
  swell the grader. Each case runs in a fresh grader process so that its peak memory is its own.
* Callbacks: a check's functions run in the grader; the learner's code calls them through
  proxies. Nothing the learner's process can find computes a correct answer, an exception of a
  check's function reaches the learner's code as an exception, time limits still hold, and
  callbacks nest.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import sandbox as sandbox_module
from autograder.checks import LearnerError
from autograder.normalize import fill_answers, reference_answers
from autograder.remote import LearnerCrash, RemoteLearner
from autograder.sandbox import Sandbox
from autograder.settings import COURSE, SOLUTIONS
from autograder.verdict import external_verdicts

# Finds the learner process's own write end of the pipe without asking the lead's start-up code:
# the one descriptor that takes an empty write and cannot seek (a pipe).
FIND_FD = '''
import os
def _pipe_out():
    for fd in range(256):
        try:
            os.write(fd, b"")
        except OSError:
            continue
        try:
            os.lseek(fd, 0, os.SEEK_CUR)
        except OSError:
            return fd
    raise RuntimeError("no pipe to write to")

def forge(frame):
    fd = _pipe_out()
    view = memoryview(frame)
    while view:
        view = view[os.write(fd, view):]
'''

# The frames, built in the learner's process (names: what the grader receives).
FRAMES = {
    "100,000 deep": 'body = b\'{"value":\' + b"[" * 100_000 + b"]" * 100_000 + b"}"',
    "64 MB of empty lists": 'body = b\'{"value":[\' + b"[]," * (64 * 2**20 // 3) + b"[]]}"',
    "claims 4 GB": 'body = None; frame = b"\\xff\\xff\\xff\\xff" + b"{}"',
    "many small dicts": 'body = b\'{"value":[\' + b\'{"a":{}},\' * 1_500_000 + b"{}]}"',
    "a handle to an unknown id": 'body = b\'{"value":{"h":987654,"type":"Value"}}\'',
    "a callback to an unknown id": 'body = b\'{"op":"callback","cb":424242,"args":[],"kwargs":{}}\'',
    "JSON but not an object": 'body = b"[1, 2, 3]"',
    "not UTF-8": 'body = b\'{"value":"\\xff\\xfe\\xc3\\x28"}\'',
}

GRADER = r'''
import json, resource, sys
from autograder.remote import LearnerCrash, RemoteLearner
from autograder.sandbox import Sandbox, SandboxFailure

box = Sandbox(["import numpy as np"], [("f", sys.argv[1])], call_timeout=20)
box.start()
learner = RemoteLearner(box)
try:
    learner.attack()
    outcome = {"kind": "no failure"}
except (LearnerCrash, SandboxFailure) as exc:
    outcome = {"kind": exc.kind, "detail": str(exc)[:300], "alive": box.alive}
# VmHWM is this process's own high-water mark; ru_maxrss would start from the parent's
# size when it forked (Linux keeps it across exec), i.e. from pytest's, not the grader's.
try:
    with open("/proc/self/status") as status:
        hwm = [line.split()[1] for line in status if line.startswith("VmHWM:")]
    outcome["peak_mb"] = int(hwm[0]) / 1024
except (OSError, IndexError):
    outcome["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
box.close()
print(json.dumps(outcome))
'''


def _attack_source(build: str) -> str:
    return FIND_FD + textwrap.dedent(f"""
        import struct
        def attack():
            {build}
            if body is not None:
                frame = struct.pack(">I", len(body)) + body
            forge(frame)
            while True:  # the grader must act on the frame, not wait for a real reply
                pass
    """)


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(FRAMES))
def test_does_a_forged_frame_fail_only_that_call_and_keep_the_grader_small(case):
    result = subprocess.run(
        [sys.executable, "-c", GRADER, _attack_source(FRAMES[case])],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["kind"] == "protocol", outcome
    assert "garbage" in outcome["detail"]
    assert outcome["alive"] is False  # killed: later checks get a fresh process (verdict.py)
    # python + numpy + the grader is ~60 MB; the forged frames asked for up to 4 GB
    assert outcome["peak_mb"] < 200, outcome


def _box(answer: str, **kwargs) -> Sandbox:
    box = Sandbox(["import numpy as np"], [("f", answer)], **{"call_timeout": 5, **kwargs})
    box.start()
    return box


def test_is_a_grader_that_received_too_much_in_all_stopping_the_learner(monkeypatch):
    monkeypatch.setattr(sandbox_module, "MAX_RECEIVED", 20 * 2**20)
    box = _box("import numpy as np\ndef big():\n    return np.zeros(1_000_000)")
    try:
        learner = RemoteLearner(box)
        assert learner.big().shape == (1_000_000,)  # 10.7 MB
        with pytest.raises(LearnerCrash) as info:
            learner.big()
        assert info.value.kind == "protocol" and "in all" in str(info.value)
        assert not box.alive
    finally:
        box.close()


def test_does_a_reply_too_big_to_cross_fail_that_call_and_keep_the_handles_in_step():
    box = _box(
        "import numpy as np\nclass Thing:\n    pass\n"
        "def huge():\n    return Thing(), np.zeros(3_000_000)\n"
        "def small():\n    return Thing(), Thing()\n"
    )
    try:
        learner = RemoteLearner(box)
        with pytest.raises(LearnerError, match="could not be sent to the grader.*exceeds"):
            learner.huge()  # 32 MB: refused by the learner's process itself, not a forgery
        a, b = learner.small()  # the handles made for the refused reply were taken back
        assert repr(a).startswith("<learner's Thing") and box.alive
    finally:
        box.close()


# --------------------------------------------------------------------------- callbacks


def test_does_a_check_function_run_in_the_grader_with_the_learners_objects_as_handles():
    box = _box(
        "class Node:\n    def __init__(self, v):\n        self.data, self.grad = v, 0.0\n"
        "def run(rule, n):\n    rule(n)\n    return n.grad\n"
    )
    try:
        learner = RemoteLearner(box)
        seen = []

        def rule(node):  # a correct rule: it lives here, the learner's process calls it back
            seen.append(repr(node))
            node.grad += 3.0 * node.data

        assert learner.run(rule, learner.Node(2.0)) == 6.0
        assert seen == ["<learner's Node from an argument of a callback>"]
    finally:
        box.close()


def test_does_a_check_functions_exception_reach_the_learners_code_as_an_exception():
    box = _box(
        "def careful(g):\n    try:\n        g(1)\n    except ValueError as exc:\n"
        "        return 'caught ' + str(exc)\n"
        "def careless(g):\n    return g(1)\n"
    )
    try:
        learner = RemoteLearner(box)

        def helper(v):
            raise ValueError(f"bad {v}")

        assert learner.careful(helper) == "caught bad 1"
        with pytest.raises(LearnerError) as info:
            learner.careless(helper)
        assert info.value.exc_type == "ValueError" and info.value.where == "careless"
        assert box.alive  # an exception is the learner's call failing, not a broken process
        assert learner.careful(helper) == "caught bad 1"
    finally:
        box.close()


def test_do_callbacks_nest_both_ways():
    box = _box(
        "def twice(g, x):\n    return g(x) + g(x + 1)\n"
        "def apply(h, x):\n    return h(x)\n"
        "def maker(make):\n    return make(10)(5)\n"
    )
    try:
        learner = RemoteLearner(box)
        # grader -> learner.twice -> grader g -> learner.apply -> grader lambda, at each level
        g = lambda x: learner.apply(lambda v: v * v, x) + 1  # noqa: E731
        assert learner.twice(g, 3) == (9 + 1) + (16 + 1)
        # a check's function that returns a function: the learner's code calls the returned one
        assert learner.maker(lambda c: (lambda v: c + v)) == 15
    finally:
        box.close()


def test_does_a_learner_that_loops_inside_a_callback_chain_still_time_out():
    box = _box("def outer(g):\n    return g()\ndef spin():\n    while True:\n        pass\n",
               call_timeout=2)
    try:
        learner = RemoteLearner(box)
        start = time.monotonic()
        with pytest.raises(LearnerCrash) as info:
            learner.outer(lambda: learner.spin())
        assert info.value.kind == "timeout"
        assert time.monotonic() - start < 4 and not box.alive
    finally:
        box.close()


def test_does_a_learner_that_calls_back_forever_still_stop():
    box = _box("def pester(g):\n    while True:\n        g()\n", call_timeout=1)
    try:
        learner = RemoteLearner(box)
        calls = []
        start = time.monotonic()
        with pytest.raises(LearnerCrash) as info:
            learner.pester(lambda: calls.append(1))
        assert info.value.kind == "timeout" and len(calls) > 100
        assert time.monotonic() - start < sandbox_module.WALL_FACTOR * 1 + 1.5
    finally:
        box.close()


def test_is_the_time_a_check_function_takes_not_charged_to_the_learner():
    box = _box("def once(g):\n    return g()\n", call_timeout=1)
    try:
        learner = RemoteLearner(box)
        assert learner.once(lambda: time.sleep(1.3) or "slow grader") == "slow grader"
        assert box.alive
    finally:
        box.close()


def test_does_the_check_see_in_place_changes_at_each_callback_and_get_its_own_array_back():
    box = _box(
        "def nudge(x, g):\n    x[0] += 1.0\n    seen = g(None)\n    x[0] -= 1.0\n"
        "    return seen\n"
        "def same(x):\n    x *= 2\n    return x\n"
    )
    try:
        learner = RemoteLearner(box)
        x = np.array([1.0, 2.0])
        assert learner.nudge(x, lambda _ignored: float(x[0])) == 2.0  # reads x, not its argument
        np.testing.assert_array_equal(x, [1.0, 2.0])
        y = np.array([1.0, 3.0])
        assert learner.same(y) is y
        np.testing.assert_array_equal(y, [2.0, 6.0])
    finally:
        box.close()


def test_do_callbacks_expire_with_their_check():
    box = _box("kept = []\ndef keep(g):\n    kept.append(g)\n    return g(2)\n"
               "def reuse():\n    return kept[0](2)\n")
    try:
        first = RemoteLearner(box)
        assert first.keep(lambda v: v * 21) == 42
        assert first.reuse() == 42  # the same check: still valid
        second = RemoteLearner(box)  # the next check
        with pytest.raises(LearnerError, match="earlier check"):
            second.reuse()
    finally:
        box.close()


def test_are_the_neutral_helpers_made_in_the_learners_process():
    box = _box("def draw(rng):\n    return rng.permutation(5)\n")
    try:
        learner = RemoteLearner(box)
        rng = learner.neutral("rng")(7)
        assert "Generator" in repr(rng)
        np.testing.assert_array_equal(learner.draw(rng), np.random.default_rng(7).permutation(5))
    finally:
        box.close()


# --------------------------------------------------------------------------- attacks, graded


def _submission(tmp_path: Path, assignment: str, answers: dict[str, str]) -> Path:
    """The reference solution of ``assignment`` with some answer cells replaced."""
    name = f"{assignment}.ipynb"
    nb = fill_answers(
        nbformat.read(COURSE / assignment / name, as_version=4),
        {**reference_answers(nbformat.read(SOLUTIONS / assignment / name, as_version=4)), **answers},
    )
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


# Looks everywhere in the learner's process for a function of the check: the garbage collector,
# every frame up the stack (their locals and globals), and every proxy of a check's function.
SEARCH = '''
import gc, sys

def _candidates():
    found = {}
    for obj in gc.get_objects():
        if callable(obj):
            found[id(obj)] = obj
    frame = sys._getframe()
    while frame is not None:
        for value in list(frame.f_locals.values()) + list(frame.f_globals.values()):
            if callable(value):
                found[id(value)] = value
        frame = frame.f_back
    return list(found.values())

def _name(obj):
    return str(getattr(obj, "__qualname__", type(obj).__name__))

def _from_checks(obj):
    """Code of the grader's checks, a helper eval'd from a check's source, or a proxy of one."""
    try:
        where = str(obj.__code__.co_filename)
    except Exception:
        where = ""
    module = str(getattr(obj, "__module__", ""))
    return (
        "autograder/checks" in where or module.startswith("autograder.checks")
        or (where == "<string>" and _name(obj).endswith("<lambda>"))
        or type(obj).__name__ == "CheckFunction"
        or _name(obj).split(".")[-1] in ("reference_backward", "use_reference_rule", "linear_node")
    )
'''

NB03_ATTACK = SEARCH + '''
def backward_mul(a, b, out):
    """Not implemented: borrow the check's correct rule, wherever it is."""
    tried = []
    for obj in _candidates():
        if not _from_checks(obj):
            continue
        tried.append(_name(obj))
        before = (a.grad, b.grad)
        for args in (("mul", a, b, None, out), ()):
            try:
                obj(*args)
            except Exception:
                continue
            if (a.grad, b.grad) != before:
                return None
    raise RuntimeError(f"found nothing that works among {sorted(set(tried))}")
'''


@pytest.mark.slow
def test_does_a_learner_that_hunts_for_nb03s_reference_rule_find_nothing(tmp_path):
    path = _submission(tmp_path, "03-scalar-autodiff", {"backward_mul": NB03_ATTACK})
    verdicts, _ = external_verdicts("03-scalar-autodiff", SOLUTIONS / "03-scalar-autodiff" /
                                    "03-scalar-autodiff.ipynb", path)
    by_id = {v.grade_id: v for v in verdicts}
    for gid in ("test_backward_mul_local", "test_backward_mul_in_graphs"):
        assert not by_id[gid].passed
        assert "found nothing that works among []" in by_id[gid].explanation, by_id[gid].explanation
    # the rest of the notebook is graded as usual
    assert by_id["test_backward_add_local"].passed and by_id["test_backward_pass_gradients"].passed


NB03_STASH = """
stash = []
def topological_order(root):
    order, visited = [], set()
    def visit(node):
        if node not in visited:
            visited.add(node)
            for child in node.children:
                visit(child)
            order.append(node)
    visit(root)
    stash.extend(node._backward for node in order)  # the check's rules, kept for later
    return order
"""
NB03_REPLAY = """
def backward_mul(a, b, out):
    for rule in stash:
        rule()
    raise RuntimeError(f"replayed {len(stash)} rules")
"""


@pytest.mark.slow
def test_are_rules_kept_from_one_check_dead_in_the_next(tmp_path):
    # backward_mul replays the correct rules topological_order stashed during a backward_pass
    # check (the order of checks most helpful to the attack): they expired with that check.
    assignment = "03-scalar-autodiff"
    src = SOLUTIONS / assignment / f"{assignment}.ipynb"
    path = _submission(tmp_path, assignment, {"topological_order": NB03_STASH,
                                              "backward_mul": NB03_REPLAY})
    from autograder.checks import load_checks
    from autograder.verdict import read_submission, source_layout

    setup, answer_ids, _ = source_layout(nbformat.read(src, as_version=4))
    sub = read_submission(path, answer_ids)
    box = Sandbox(setup, list(sub.answers.items()), neuter=answer_ids, allow_bplib=None,
                  call_timeout=10)
    box.start()
    try:
        checks = load_checks(assignment)
        checks["test_backward_pass_gradients"](RemoteLearner(box))  # passes: a correct order
        with pytest.raises(LearnerError) as info:
            checks["test_backward_mul_local"](RemoteLearner(box))  # the next check
        assert info.value.exc_type == "RuntimeError"
        assert "earlier check" in info.value.exc_message
    finally:
        box.close()


NB08_ATTACK = SEARCH + '''
def two_layer_loss(X, y, params):
    """Not implemented: find a correct loss-and-gradients function of the check and call it."""
    tried = []
    for obj in _candidates():
        if not _from_checks(obj):
            continue
        tried.append(_name(obj))
        try:
            loss, grads = obj(X, y, params)
            if set(grads) == {"W1", "b1", "W2", "b2"}:
                return loss, grads
        except Exception:
            continue
    raise RuntimeError(f"found nothing that works among {sorted(set(tried))}")


def gradient_descent(loss_fn, X, y, params, learning_rate, epochs):
    """Correct, but it also keeps the check's loss for two_layer_loss to find."""
    global kept
    kept = loss_fn
    params = {k: v.copy() for k, v in params.items()}
    losses = []
    for _ in range(epochs):
        loss, grads = loss_fn(X, y, params)
        losses.append(loss)
        params = {k: params[k] - learning_rate * grads[k] for k in params}
    return params, losses
'''


@pytest.mark.slow
def test_does_a_learner_that_hunts_for_nb08s_loss_find_nothing(tmp_path):
    assignment = "08-multilayer-network"
    name = f"{assignment}.ipynb"
    answers = reference_answers(nbformat.read(SOLUTIONS / assignment / name, as_version=4))
    gid = next(g for g, src in answers.items() if "def two_layer_loss" in src)
    path = _submission(tmp_path, assignment, {gid: NB08_ATTACK})
    verdicts, _ = external_verdicts(assignment, SOLUTIONS / assignment / name, path)
    by_id = {v.grade_id: v for v in verdicts}
    for test in ("test_two_layer_loss_value", "test_two_layer_loss_dW1"):
        assert not by_id[test].passed
        assert "found nothing that works among []" in by_id[test].explanation, by_id[test].explanation
    assert by_id["test_gradient_descent_update"].passed


def test_do_callbacks_nested_without_end_fail_in_the_learners_code_not_the_grader():
    box = _box("def bounce(g):\n    return g()\n")
    try:
        learner = RemoteLearner(box)
        depth = []

        def again() -> object:
            depth.append(1)
            return learner.bounce(again)  # learner -> check -> learner -> check -> ...

        with pytest.raises(LearnerError) as info:
            learner.bounce(again)
        assert info.value.exc_type == "RecursionError"
        assert len(depth) == sandbox_module.MAX_CALLBACK_NESTING and box.alive
        assert learner.bounce(lambda: 7) == 7
    finally:
        box.close()

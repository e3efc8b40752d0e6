"""Does the learner's process stay locked down, and does only plain data cross the pipe?"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from autograder.lockdown import seccomp_available
from autograder.sandbox import Sandbox, SandboxFailure
from autograder.wire import Handle, WireError, decode, encode


def _roundtrip(value):
    handles = {}

    def to_handle(obj):
        handles[id(obj)] = obj
        return Handle(id(obj), type(obj).__name__)

    return decode(encode(value, to_handle), lambda key, _t: handles[key])


def test_does_plain_data_survive_the_wire_unchanged():
    value = {
        "x": np.arange(6.0).reshape(2, 3),
        "n": 3,
        "f": float("nan"),
        "t": (1, [2.5, None, True], "s"),
        "i": np.int64(7),
        "b": np.array([True, False]),
    }
    back = _roundtrip(value)
    np.testing.assert_array_equal(back["x"], value["x"])
    assert back["x"].dtype == np.float64
    assert back["n"] == 3 and np.isnan(back["f"]) and back["t"] == (1, [2.5, None, True], "s")
    assert back["i"] == 7 and back["b"].dtype == np.bool_


def test_does_an_object_cross_as_a_handle_not_as_data():
    obj = object()
    assert _roundtrip({"cache": obj})["cache"] is obj


@pytest.mark.parametrize(
    "payload",
    [
        {"nd": ["|O8", [1], ""]},  # object arrays could carry pickles
        {"nd": ["<f8", [2], "AAAAAAAAAAA="]},  # data does not match the shape
        {"x": 1},
        [1, 2],
    ],
)
def test_is_a_malformed_message_rejected(payload):
    with pytest.raises(WireError):
        decode(payload, lambda key, _t: None)


def _sandbox(answer: str, **kwargs) -> Sandbox:
    box = Sandbox(["import numpy as np"], [("f", answer)], call_timeout=3, **kwargs)
    box.start()
    return box


def _call(box: Sandbox, name: str, *args):
    fn = box.request({"op": "get", "name": name}, "test")["value"]
    return box.request({"op": "call", "fn": fn, "args": [encode(a, None) for a in args], "kwargs": {}}, "test")


def test_does_the_sandbox_run_answers_and_report_a_failing_cell():
    box = _sandbox("def f(x):\n    return 2 * x\nraise ValueError('after f')")
    try:
        assert box.cells[0].error == ("ValueError", "after f")
        reply = _call(box, "f", np.ones(2))
        np.testing.assert_array_equal(decode(reply["value"], None), [2.0, 2.0])
    finally:
        box.close()


@pytest.mark.skipif(not seccomp_available(), reason="the system-call filter needs Linux x86_64/aarch64")
@pytest.mark.parametrize(
    "attack",
    [
        "open('{path}', 'w').write('pwned')",
        "open('{path}').read()",
        "import os; os.system('touch {path}')",
        "import subprocess; subprocess.run(['touch', '{path}'])",
        "import os; os.fork()",
        "import socket; socket.socket()",
        "import os, signal; os.kill(os.getppid(), signal.SIGTERM)",
    ],
    ids=["write", "read", "system", "subprocess", "fork", "socket", "kill-grader"],
)
def test_is_the_outside_world_out_of_reach(tmp_path, attack):
    target = tmp_path / "target"
    target.write_text("untouched")
    box = _sandbox(f"def f():\n    {attack.format(path=target)}\n    return 'escaped'")
    try:
        assert box.lockdown == "full"
        try:
            reply = _call(box, "f")
        except Exception:  # RemoteError: the learner's call failed, as it should
            reply = None
        if reply is not None:  # os.system reports a failed fork by its return value instead
            assert decode(reply["value"], None) == "escaped"
        assert target.read_text() == "untouched"
        assert not (tmp_path / "pwned").exists()
    finally:
        box.close()


def test_does_an_endless_loop_time_out_and_kill_the_process():
    box = _sandbox("def f():\n    while True:\n        pass")
    with pytest.raises(SandboxFailure, match="no answer within 3 s"):
        _call(box, "f")
    assert not box.alive


def test_does_an_endless_loop_that_ignores_signals_still_stop():
    box = _sandbox(
        "import signal\nfor s in (signal.SIGINT, signal.SIGTERM):\n    signal.signal(s, signal.SIG_IGN)\n"
        "def f():\n    while True:\n        pass"
    )
    with pytest.raises(SandboxFailure):
        _call(box, "f")
    assert not box.alive


def test_does_os_exit_end_only_the_sandbox():
    box = _sandbox("import os\ndef f():\n    os._exit(7)")
    with pytest.raises(SandboxFailure, match="exit code 7"):
        _call(box, "f")


def test_do_the_learners_prints_stay_out_of_the_protocol():
    box = _sandbox("import sys\ndef f():\n    print('x' * 10**6)\n    sys.stdout.write('{}')\n    return 1")
    try:
        assert decode(_call(box, "f")["value"], None) == 1
    finally:
        box.close()


def test_is_the_reference_neutered_even_through_aliases():
    box = Sandbox(
        ["import numpy as np\nfrom bplib.layers import affine_forward as alias"],
        [("affine_forward", "import bplib\ndef affine_forward(x, w, b):\n    return alias(x, w, b)")],
        neuter=["affine_forward"],
        call_timeout=5,
    )
    box.start()
    try:
        with pytest.raises(Exception, match="ReferenceUseError"):
            _call(box, "affine_forward", np.ones((1, 2)), np.ones((2, 2)), np.ones(2))
    finally:
        box.close()


def test_does_the_grader_process_stay_free_of_learner_modules():
    # The parent never imports or unpickles what the learner made: a learner class crosses as a handle.
    code = (
        "from autograder.sandbox import Sandbox\n"
        "b = Sandbox(['x = 1'], [('C', 'class C:\\n    pass\\nobj = C()')])\n"
        "b.start()\n"
        "r = b.request({'op': 'get', 'name': 'obj'}, 't')\n"
        "print(r['value'])\n"
        "b.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "'type': 'C'" in out.stdout and "'h'" in out.stdout


def test_does_a_cell_that_hangs_at_its_top_level_cost_only_itself():
    box = Sandbox(
        ["import numpy as np"],
        [("f", "def f():\n    return 1"), ("g", "while True:\n    pass"), ("h", "def h():\n    return 3")],
        start_timeout=2,
        call_timeout=3,
    )
    box.start()
    try:
        assert [c.error[0] if c.error else None for c in box.cells] == [None, "Timeout", None]
        assert "was skipped" in box.cells[1].error[1]
        assert decode(_call(box, "h")["value"], None) == 3
    finally:
        box.close()


def test_does_a_half_written_message_time_out_instead_of_hanging_the_grader():
    # The learner's code writes the start of a frame to the grader's pipe, then loops.
    box = _sandbox(
        "import os, sys\ndef f():\n    os.write(int(sys.argv[2]), b'\\x00\\x00\\x01\\x00{')\n"
        "    while True:\n        pass"
    )
    with pytest.raises(SandboxFailure, match="no answer within 3 s"):
        _call(box, "f")


@pytest.mark.skipif(not seccomp_available(), reason="the system-call filter needs Linux x86_64/aarch64")
@pytest.mark.parametrize("module", ["autograder.mistakes.activations", "autograder.checks",
                                    "autograder.framework"])
def test_can_an_answer_not_import_the_grader_or_the_mistake_catalogue(module):
    """A mistake's result fed altered inputs can give a right answer (the sigmoid's "exp(+x)"
    at -x): the catalogue, like the checks, must be out of an answer's reach."""
    box = _sandbox(f"def f():\n    import {module}\n    return 'imported'")
    try:
        with pytest.raises(Exception, match="No module named"):
            _call(box, "f")
    finally:
        box.close()


def test_does_an_answer_import_what_the_setup_loaded():
    """Control of the test above: a module already loaded imports fine after the lockdown."""
    box = _sandbox("def f():\n    import numpy.linalg\n    return 'imported'")
    try:
        assert decode(_call(box, "f")["value"], None) == "imported"
    finally:
        box.close()

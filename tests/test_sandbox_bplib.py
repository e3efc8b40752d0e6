"""Is bplib out of the learner's reach while grading, except the helpers each notebook gives?

The allow-lists of :mod:`autograder.learner_bplib` must match what each notebook's set-up cell
imports, and an answer that reaches a correct result through *any* other bplib route (the graded
function, a relative that computes the same thing, a model class wrapping it) must earn nothing.
Honest answers that use the notebook's helpers keep their marks.
"""

from __future__ import annotations

import types
from pathlib import Path

import nbformat
import pytest
from submissions import reference_submission

from autograder.learner_bplib import LEARNER_BPLIB
from autograder.normalize import reference_answers
from autograder.release import assignments
from autograder.sandbox import strip_magics
from autograder.settings import SOLUTIONS
from autograder.verdict import external_verdicts, source_layout

pytestmark = pytest.mark.slow


def _bplib_names(namespace: dict) -> set[str]:
    names = set()
    for value in namespace.values():
        if isinstance(value, types.ModuleType):
            if value.__name__.split(".")[0] == "bplib":
                names.add(value.__name__)
        elif (getattr(value, "__module__", "") or "").startswith("bplib") and callable(value):
            names.add(f"{value.__module__}.{value.__name__}")
    return names


@pytest.mark.parametrize("assignment", assignments(SOLUTIONS))
def test_is_the_allow_list_exactly_what_the_setup_imports(assignment, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__main__"}
    for path in sorted((SOLUTIONS / assignment).glob("*.ipynb")):
        setup, _, _ = source_layout(nbformat.read(path, as_version=4))
        for source in setup:
            exec(compile(strip_magics(source), "<setup>", "exec"), namespace)
    assert _bplib_names(namespace) == set(LEARNER_BPLIB.get(assignment, ()))


def _grade(assignment: str, tmp_path: Path, answers: dict[str, str]) -> dict[str, tuple[bool, str]]:
    path = tmp_path / f"{assignment}.ipynb"
    nbformat.write(reference_submission(assignment, answers), path)
    source = SOLUTIONS / assignment / f"{assignment}.ipynb"
    verdicts, _ = external_verdicts(assignment, source, path, call_timeout=10)
    return {v.grade_id: (v.passed, v.explanation) for v in verdicts}


# (assignment, answer cell, source, tests that must fail, tests that must pass)
ROUTES = {
    "affine as a 1x1 convolution": (
        "05-linear-layer", "affine_forward",
        "import bplib.conv\n"
        "def affine_forward(x, w, b):\n"
        "    xf = x.reshape(x.shape[0], -1)\n"
        "    out, _ = bplib.conv.conv_forward(xf[:, :, None, None], w.T[:, :, None, None], b,\n"
        "                                     {'stride': 1, 'pad': 0})\n"
        "    return out[:, :, 0, 0], (x, w)\n",
        "test_affine_forward_values", "test_affine_backward_dx",
    ),
    "affine through the model class": (
        "05-linear-layer", "affine_forward",
        "from bplib.model import Affine\n"
        "def affine_forward(x, w, b):\n"
        "    layer = Affine(w.shape[0], w.shape[1])\n"
        "    layer.params['W'][...] = w\n"
        "    layer.params['b'][...] = b\n"
        "    return layer.forward(x), (x, w)\n",
        "test_affine_forward_values", "test_affine_backward_dx",
    ),
    "relu as leaky relu with slope 0": (
        "06-activations", "relu_forward",
        "from bplib.layers import leaky_relu_forward as _lr\n"
        "def relu_forward(x):\n"
        "    out, _ = _lr(x, alpha=0.0)\n"
        "    return out, x\n",
        "test_relu_forward", None,
    ),
    "relu backward from the package namespace": (
        "06-activations", "relu_backward",
        "import bplib\n"
        "def relu_backward(dout, cache):\n"
        "    return getattr(bplib, 'relu_' + 'backward')(dout, cache)\n",
        "test_relu_backward", "test_relu_forward",
    ),
    "max pooling's backward through the loop version's alias": (
        "13-convolution", "max_pool_backward",
        "from bplib.conv import max_pool_backward_naive\n"
        "def max_pool_backward(dout, cache):\n"
        "    x, p = cache\n"
        "    return max_pool_backward_naive(dout, (x, p['pool_height'], p['pool_width'], p['stride']))\n",
        "test_max_pool_backward", "test_max_pool_forward",
    ),
    "an LSTM step from the reference": (
        "14-recurrent", "lstm_step_forward",
        "from bplib.rnn import lstm_step_forward as _step\n"
        "def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):\n"
        "    return _step(x, prev_h, prev_c, Wx, Wh, b)\n",
        "test_lstm_step_forward", "test_rnn_step_forward",
    ),
    "clipping from the optimizers' module, which the notebook gives Adam from": (
        "14-recurrent", "clip_grad_norm",
        "import bplib.optim\n"
        "def clip_grad_norm(grads, max_norm):\n"
        "    return bplib.optim.clip_grad_norm(grads, max_norm)\n",
        "test_clip_grad_norm", "test_lstm_forward",
    ),
    "a matmul whose closure calls the affine layer's backward": (
        "15-autograd", "matmul",
        "from bplib.layers import affine_backward as _ab\n"
        "def matmul(a, b):\n"
        "    out = Tensor(a.data @ b.data, (a, b), '@')\n"
        "    def _backward():\n"
        "        da, db, _ = _ab(out.grad, (a.data, b.data))\n"
        "        a.grad += da\n"
        "        b.grad += db\n"
        "    out._backward = _backward\n"
        "    return out\n",
        "test_matmul_backward", "test_matmul_forward",
    ),
    "log_softmax from bplib's own Tensor": (
        "15-autograd", "log_softmax",
        "import bplib.autograd\n"
        "def log_softmax(x):\n"
        "    return bplib.autograd.log_softmax(x)\n",
        "test_log_softmax", "test_relu",
    ),
    "adam from another module": (
        "10-optimizers", "adam",
        "import importlib\n"
        "def adam(w, dw, config=None):\n"
        "    return importlib.import_module('bplib.optim').adam(w, dw, config)\n",
        "test_adam", "test_sgd",
    ),
}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_does_an_answer_through_bplib_earn_nothing(route, tmp_path):
    assignment, cell, source, must_fail, must_pass = ROUTES[route]
    verdicts = _grade(assignment, tmp_path, {cell: source})
    failing = [gid for gid in verdicts if gid.startswith(must_fail)]
    assert failing, f"no test named {must_fail}* in {sorted(verdicts)}"
    for gid in failing:
        passed, why = verdicts[gid]
        assert not passed, f"{route}: {gid} passed"
        assert "reference implementation" in why or "not available" in why, why
    if must_pass:
        kept = [gid for gid in verdicts if gid.startswith(must_pass)]
        assert kept and all(verdicts[gid][0] for gid in kept), verdicts


def test_does_an_honest_answer_that_uses_the_notebooks_helpers_keep_its_marks(tmp_path):
    # Negative control: notebook 08 hands the learner bplib's layers to build a network with.
    verdicts = _grade("08-multilayer-network", tmp_path, {})
    assert all(passed for passed, _ in verdicts.values()), verdicts


def test_does_an_answer_cell_that_exits_lose_only_its_own_parts(tmp_path):
    exits = reference_answers(
        nbformat.read(SOLUTIONS / "05-linear-layer" / "05-linear-layer.ipynb", as_version=4)
    )["affine_forward"] + "\nimport os\nos._exit(0)\n"
    verdicts = _grade("05-linear-layer", tmp_path, {"affine_forward": exits})
    forward = {gid: v for gid, v in verdicts.items() if gid.startswith("test_affine_forward")}
    backward = {gid: v for gid, v in verdicts.items() if gid.startswith("test_affine_backward")}
    assert forward and not any(passed for passed, _ in forward.values()), forward
    assert backward and all(passed for passed, _ in backward.values()), backward

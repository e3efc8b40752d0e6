"""Does the capstone's optional convolutional network (notebook 16, section 7) do what it says?

The network is trained by the notebook's own code: the set-up cell, the reference answers (with
the notebook 13 layers of the ungraded answer cell ``cnn_layers``) and the given cell that
defines ``train_cnn``, run in one namespace. It must read at least 98.5% of the 359 held-out
test digits for each of the seeds 0-4 (the notebook says so). Negative controls: untrained
weights read about a tenth of them; a convolution whose weight gradient has the wrong sign fails
the notebook's layer check and trains to far less; one whose weight gradient is flipped (the
window read the wrong way round) fails the layer check, though it trains as well as the right
one (it is the exact gradient of the flipped filters, which the network then learns).

And the part earns nothing: ``cnn_layers`` left as released, or raising as it runs, changes no
verdict of the reference (the sandbox's grading, :func:`autograder.verdict.external_verdicts`).
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import matplotlib
import nbformat
import numpy as np
import pytest

from autograder.normalize import fill_answers, reference_answers
from autograder.sandbox import strip_magics
from autograder.settings import COURSE, SOLUTIONS
from autograder.verdict import external_verdicts

matplotlib.use("Agg")

NB = "16-capstone"
SOURCE = SOLUTIONS / NB / f"{NB}.ipynb"
TARGET = 0.985
SEEDS = (0, 1, 2, 3, 4)
# A plausible slip: the weight gradient read off the windows the wrong way round.
FLIPPED_DW = """
_right_conv_backward = conv_backward


def conv_backward(dout, cache):
    dx, dw, db = _right_conv_backward(dout, cache)
    return dx, dw[:, :, ::-1, ::-1], db
"""
# And one that training feels: the filters climb the loss.
NEGATED_DW = FLIPPED_DW.replace("dw[:, :, ::-1, ::-1]", "-dw")


def _cell(nb: nbformat.NotebookNode, marker: str) -> str:
    found = [c.source for c in nb.cells if c.cell_type == "code" and marker in c.source]
    assert len(found) == 1, f"one code cell of {NB} must contain {marker!r}, found {len(found)}"
    return found[0]


def _namespace(extra: str = "") -> dict[str, Any]:
    """The notebook's set-up, reference answers and CNN code in one namespace (+ ``extra``)."""
    nb = nbformat.read(SOURCE, as_version=4)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    sources = [nb.cells[1].source, *reference_answers(nb).values(), _cell(nb, "def train_cnn("),
               extra]
    with contextlib.redirect_stdout(io.StringIO()):
        for source in sources:
            exec(compile(strip_magics(source), "<cell>", "exec"), namespace)
    return namespace


def _train(seed: int, extra: str = "", epochs: int = 15) -> tuple[int, float, float]:
    """(seed, held-out accuracy, seconds) of the notebook's network trained with ``seed``."""
    ns = _namespace(extra)
    X, y = ns["load_digits"]()
    X_train, X_test, y_train, y_test = ns["train_test_split"](X, y, seed=0)
    started = time.perf_counter()
    params, _ = ns["train_cnn"](X_train, y_train, seed=seed, epochs=epochs)
    seconds = time.perf_counter() - started
    return seed, float(np.mean(ns["cnn_predict"](params, X_test) == y_test)), seconds


@pytest.fixture(scope="module")
def trained() -> dict[str, tuple[int, float, float]]:
    """The five seeds, and the negated weight gradient, trained in two processes of one thread."""
    jobs = {f"seed {s}": (s, "") for s in SEEDS} | {"negated dw": (0, NEGATED_DW)}
    before = {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    os.environ.update({k: "1" for k in before})  # read by numpy in each fresh worker
    try:
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {name: pool.submit(_train, seed, extra) for name, (seed, extra) in jobs.items()}
            return {name: future.result() for name, future in futures.items()}
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key)
            else:
                os.environ[key] = value


@pytest.mark.slow
def test_does_the_cnn_read_985_percent_of_the_test_digits_for_every_seed(trained):
    results = [trained[f"seed {s}"] for s in SEEDS]
    for seed, accuracy, seconds in results:
        print(f"seed {seed}: {accuracy:.2%} of the 359 test digits, trained in {seconds:.1f} s")
    low = [(seed, accuracy) for seed, accuracy, _ in results if accuracy < TARGET]
    assert not low, f"below {TARGET:.1%}: {low}"


@pytest.mark.slow
def test_does_a_weight_gradient_of_the_wrong_sign_train_to_far_less(trained):
    _, accuracy, _ = trained["negated dw"]
    print(f"negated dw: {accuracy:.2%}")
    assert accuracy < TARGET - 0.03, accuracy


def test_do_untrained_weights_read_hardly_any_digit():
    _, accuracy, _ = _train(0, epochs=0)
    assert accuracy < 0.3, accuracy


def _run_layer_check(extra: str = "") -> tuple[bool, str]:
    """(cnn_ready, what it printed) after the notebook's layer-check cell."""
    ns = _namespace(extra)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(_cell(nbformat.read(SOURCE, as_version=4), "cnn_ready = False"), ns)
    return ns["cnn_ready"], printed.getvalue()


@pytest.mark.parametrize("broken", [FLIPPED_DW, NEGATED_DW], ids=["flipped dw", "negated dw"])
def test_does_the_layer_check_pass_the_reference_and_stop_a_wrong_weight_gradient(broken: str):
    ready, printed = _run_layer_check()
    assert ready, printed
    ready, printed = _run_layer_check(broken)
    assert not ready and "conv dw" in printed and "gradient check" in printed, printed


def test_does_the_layer_check_say_what_to_do_while_the_layers_are_stubs():
    released = nbformat.read(COURSE / NB / f"{NB}.ipynb", as_version=4)
    stub = _cell(released, "def conv_forward(")
    assert "raise NotImplementedError" in stub
    ready, printed = _run_layer_check(stub)
    assert not ready and "Paste your conv_forward" in printed, printed


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["as released", "raises"])
def test_does_the_optional_cnn_cell_change_no_verdict(variant: str, tmp_path: Path):
    released = nbformat.read(COURSE / NB / f"{NB}.ipynb", as_version=4)
    answers = reference_answers(nbformat.read(SOURCE, as_version=4))
    if variant == "as released":
        answers.pop("cnn_layers")
    else:
        answers["cnn_layers"] = "def conv_forward(x, w, b, conv_param):\n    pass\n\n1 / 0\n"
    path = tmp_path / f"{NB}.ipynb"
    nbformat.write(fill_answers(released, answers), path)
    verdicts, notes = external_verdicts(NB, SOURCE, path)
    assert verdicts and all(v.passed for v in verdicts), [
        (v.grade_id, v.explanation) for v in verdicts if not v.passed]
    if variant == "raises":  # the error is reported, and costs nothing
        assert any("`cnn_layers`" in note and "division by zero" in note for note in notes), notes

"""The helpers of the optional "check against PyTorch" cells (bplib.frameworks)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from bplib import frameworks
from bplib.frameworks import compare, import_keras, import_torch
from tests.needs import have_modules, need


def test_does_compare_return_the_largest_difference_and_print_a_line_each(capsys):
    worst = compare([("a", [1.0, 2.0], [1.0, 2.0]), ("b", np.ones((2, 3)), np.ones((2, 3)) + 1e-12)])
    out = capsys.readouterr().out.splitlines()
    assert worst == pytest.approx(1e-12, rel=1e-3)
    assert out[1].split()[:4] == ["a", "(2,)", "True", "True"]  # exact and close
    assert out[2].split()[:5] == ["b", "(2,", "3)", "False", "True"]  # close, not exact


def test_does_compare_report_a_real_difference_as_not_close(capsys):
    """Negative control: a difference above the tolerance is reported and returned."""
    worst = compare([("w", [0.0, 1.0], [0.0, 1.001])], tol=1e-10)
    assert worst == pytest.approx(1e-3)
    assert capsys.readouterr().out.splitlines()[1].split()[2:4] == ["False", "False"]


def test_can_a_nan_hide_behind_max(capsys):
    assert compare([("w", [np.nan, 1.0], [0.0, 1.0])]) == np.inf
    assert compare([("w", [np.nan, 1.0], [np.nan, 1.0])]) == 0.0


def test_do_two_shapes_that_differ_name_both():
    with pytest.raises(ValueError, match=r"dW: yours has shape \(2, 3\), theirs \(3, 2\)"):
        compare([("dW", np.zeros((2, 3)), np.zeros((3, 2)))])


def test_without_torch_does_the_cell_say_how_to_install_and_skip(monkeypatch, capsys):
    real = importlib.import_module

    def hide(name, *args):
        if name in ("torch", "keras"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real(name, *args)

    monkeypatch.setattr(frameworks.importlib, "import_module", hide)
    assert import_torch("the PyTorch check") is None
    assert import_keras("the Keras fit") is None
    out = capsys.readouterr().out
    assert "PyTorch is not installed, so the PyTorch check is skipped" in out
    assert "keras and torch are not installed" in out and "pip install" in out


def test_does_compare_accept_torch_tensors_and_agree_with_them(capsys):
    need(have_modules("torch"), "the PyTorch comparison", "torch is not installed")
    torch = import_torch()
    assert torch.get_num_threads() == 1
    x = np.random.default_rng(0).standard_normal((4, 3))
    t = torch.tensor(x, requires_grad=True)
    (t ** 2).sum().backward()
    assert compare([("dx", 2 * x, t.grad), ("x", x, t)]) == 0.0

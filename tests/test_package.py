"""Does the package expose what its documentation promises, without heavy imports up front?"""

from __future__ import annotations

import subprocess
import sys

import bplib


def test_does_every_name_in_all_resolve():
    for name in bplib.__all__:
        assert getattr(bplib, name) is not None, name


def test_do_the_lazy_modules_load_on_first_use():
    assert bplib.datasets.load_digits is not None
    assert bplib.plots.plot_history is not None


def test_does_importing_bplib_leave_matplotlib_and_ipywidgets_unloaded():
    code = "import sys, bplib; print('matplotlib' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_is_an_unknown_attribute_an_attribute_error():
    try:
        bplib.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("bplib.no_such_thing should raise AttributeError")

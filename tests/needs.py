"""Tests that need something the machine may lack (a PostgreSQL server, Dask, JupyterHub).

Without it they skip and say why, except under ``CI=true``, where they fail: CI installs
everything (``.ci/run``), so a skip there would hide a test that never ran.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def need(ok: bool, what: str, missing: str) -> None:
    """Skip (fail under CI) the calling test unless ``ok``; ``missing`` says what is absent."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"CI=true, so {what} must run, but {missing}", pytrace=False)
    pytest.skip(f"{what} need {missing}")


def have_modules(*names: str) -> bool:
    """True when every module in ``names`` can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in names)

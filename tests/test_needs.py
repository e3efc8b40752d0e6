"""Do tests that need missing tools skip with a reason, except under CI, where they fail?"""

from __future__ import annotations

import needs
import pytest


def test_does_a_missing_tool_skip_with_its_reason_outside_ci(monkeypatch):
    monkeypatch.setattr(needs, "IN_CI", False)
    needs.need(True, "the X tests", "x")  # present: nothing happens
    with pytest.raises(pytest.skip.Exception, match="the X tests need the x binary"):
        needs.need(False, "the X tests", "the x binary")


def test_does_a_missing_tool_fail_under_ci(monkeypatch):
    monkeypatch.setattr(needs, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI=true, so the X tests must run, but the x"):
        needs.need(False, "the X tests", "the x binary")


def test_are_missing_modules_told_from_present_ones():
    assert needs.have_modules("json", "os")
    assert not needs.have_modules("json", "no_such_module_here")

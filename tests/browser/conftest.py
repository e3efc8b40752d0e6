"""The system's Chromium for every browser test, started once per module.

Without Playwright or Chromium the tests skip, except under CI=true, where they fail, so CI
cannot pass without running them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .lab_server import chromium_args, find_chromium, missing_requirements

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def browser_requirements() -> None:
    """Skip without Playwright or Chromium, but fail under CI=true so CI cannot pass silently."""
    reason = missing_requirements()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true, so the browser tests must run, but {reason}", pytrace=False)
        pytest.skip(f"browser tests need Playwright and Chromium: {reason}")


@pytest.fixture(scope="module")
def browser(browser_requirements: None) -> Iterator[object]:
    """A headless Chromium (Playwright's ``Browser``), closed after the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=find_chromium(),
                                              args=chromium_args(), headless=True)
        try:
            yield launched
        finally:
            launched.close()

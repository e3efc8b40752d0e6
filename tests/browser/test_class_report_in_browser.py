"""Does the class report page render in a real browser, offline, with its charts as images?

The page is built from a summary of a small synthetic class (no grading needed: the counting is
tested in tests/test_class_report.py) and opened from disk in the system's Chromium with every
network request refused. Control: a page whose chart is broken must fail the same check.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder.classreport import summarize, write_html_report
from autograder.explain import Part
from autograder.gradebook import GradedNotebook
from autograder.report import LearnerResult

pytestmark = pytest.mark.browser
DB = "layers.affine_backward_db.not-summed"


@pytest.fixture(scope="module")
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(offline=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def _report(path: Path) -> Path:
    results = []
    for i in range(6):
        db = Part("test_affine_backward_db", 0.0 if i < 4 else 1.0, 1.0, "wrong",
                  (DB,) if i < 3 else ())
        dx = Part("test_affine_backward_dx", 2.0, 2.0)
        results.append(LearnerResult(f"learner-{i}", "05-linear-layer", "graded", 3.0, "",
                                     [GradedNotebook("05-linear-layer", [db, dx])]))
    write_html_report(summarize("05-linear-layer", results), path)
    return path


def _inspect(page, path: Path) -> dict:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    images = page.eval_on_selector_all(
        "img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    return {"errors": errors, "images": images, "title": page.title(),
            "text": page.inner_text("body")}


def test_does_the_class_report_render_offline_with_its_charts(page, tmp_path):
    seen = _inspect(page, _report(tmp_path / "report.html"))
    assert seen["errors"] == []
    assert seen["title"].startswith("What the class got wrong")
    assert len(seen["images"]) == 1  # one chart: only one part was lost by anyone
    assert all(done and width > 200 and height > 50 for done, width, height in seen["images"])
    assert "lost by 4 of 6" in seen["text"] and "Nobody lost this part." in seen["text"]


def test_does_a_broken_chart_fail_the_same_check(page, tmp_path):
    path = _report(tmp_path / "report.html")
    path.write_text(path.read_text().replace("base64,", "base64,AAAA", 1))  # corrupt the PNG
    seen = _inspect(page, path)
    assert not all(done and width > 0 for done, width, _ in seen["images"])

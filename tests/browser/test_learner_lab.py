"""Does the learner's JupyterLab show learner tools only, with the grade one click away?

The Lab is started with the settings ``make lab`` gives it (``autograder.lab.learner_settings``),
in the system's Chromium. Control: the same Lab without the learner settings shows nbgrader's
instructor tools, so the check can see them. Then the "Grade this notebook" button of notebook 05,
filled with the reference answers, must show full marks, and of the untouched release
"not implemented yet" for every part.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from autograder.lab import learner_settings
from autograder.normalize import fill_answers, reference_answers
from autograder.report import max_points
from autograder.settings import COURSE, SOLUTIONS

from .lab_page import HELPERS_JS, _settle
from .lab_server import LabServer

pytestmark = pytest.mark.browser
LINEAR = "05-linear-layer"
INSTRUCTOR_PLUGINS = ("@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader",
                      "@jupyter/nbgrader:course-list")


@pytest.fixture(scope="module")
def context(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context
    finally:
        context.close()


def _course(root: Path) -> Path:
    """A copy of notebook 05's release, plus the same notebook filled with the reference."""
    folder = root / LINEAR
    shutil.copytree(COURSE / LINEAR, folder)
    released = nbformat.read(folder / f"{LINEAR}.ipynb", as_version=4)
    source = nbformat.read(SOLUTIONS / LINEAR / f"{LINEAR}.ipynb", as_version=4)
    filled = root / "filled"
    filled.mkdir()
    nbformat.write(fill_answers(released, reference_answers(source)), filled / f"{LINEAR}.ipynb")
    return root


def _open_lab(context, server: LabServer):
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server.lab_url())
    page.wait_for_function("window.jupyterapp && window.jupyterapp.started")
    page.evaluate(HELPERS_JS)
    return page


def _instructor_tools(page) -> dict:
    active = page.evaluate("ids => ids.filter(id => window.jupyterapp.hasPlugin(id) && "
                           "window.jupyterapp.isPluginActivated(id))", list(INSTRUCTOR_PLUGINS))
    menus = page.evaluate("Array.from(document.querySelectorAll('.lm-MenuBar-itemLabel'))"
                          ".map(e => e.textContent)")
    return {"active": active, "nbgrader_menu": any("grader" in m.lower() for m in menus),
            "create_panel": page.get_by_text("Create Assignment").count() > 0}


def test_does_the_learners_lab_hide_the_instructor_tools(context, tmp_path):
    root = _course(tmp_path / "root")
    with LabServer(root, tmp_path / "learner", extra_args=tuple(learner_settings())) as lab:
        page = _open_lab(context, lab)
        seen = _instructor_tools(page)
        page.close()
    assert seen == {"active": [], "nbgrader_menu": False, "create_panel": False}


def test_does_the_instructors_lab_show_them_as_a_control(context, tmp_path):
    root = _course(tmp_path / "root")
    with LabServer(root, tmp_path / "instructor") as lab:
        page = _open_lab(context, lab)
        seen = _instructor_tools(page)
        page.close()
    assert seen["active"] and seen["nbgrader_menu"]


def _grade(page, rel_path: str) -> str:
    page.evaluate("path => bpTest.open(path)", rel_path)
    page.wait_for_function("(() => { const k = bpTest.kernel(); "
                           "return k && k.status === 'idle' && k.connection === 'connected'; })()")
    page.evaluate("bpTest.runAll()")  # an unfinished notebook stops at its first error...
    page.wait_for_function("bpTest.run !== undefined", timeout=180_000)
    assert _settle(page, 180), "the notebook's outputs were still changing after Run All"
    page.evaluate("""(async () => {  // ...so the grade cell is run by itself, as a learner would
        const notebook = bpTest.panel.content;
        notebook.activeCellIndex = notebook.widgets.length - 1;
        await window.jupyterapp.commands.execute('notebook:run-cell');
    })()""")
    assert _settle(page, 60), "the grade cell did not finish"
    button = page.locator("button.jupyter-button", has_text="Grade this notebook")
    try:
        button.wait_for(timeout=60_000)
    except Exception:
        last = page.evaluate("Array.from(document.querySelectorAll('.jp-Cell')).slice(-1)"
                             ".map(c => c.innerText).join('')")
        last += " | errors: " + page.evaluate(
            "Array.from(document.querySelectorAll('.jp-RenderedText[data-mime-type="
            "\"application/vnd.jupyter.stderr\"]')).map(e => e.innerText.slice(0, 300))"
            ".join(' || ')")
        raise AssertionError(f"no grade button; the last cell shows: {last[:600]!r}") from None
    button.scroll_into_view_if_needed()
    button.click()
    table = page.locator("table.bp-grade")
    table.wait_for(timeout=180_000)
    text = table.inner_text()
    page.evaluate("bpTest.closeAll ? bpTest.closeAll() : null")
    return text


def test_does_the_grade_button_show_the_table_of_the_saved_notebook(context, tmp_path):
    root = _course(tmp_path / "root")
    with LabServer(root, tmp_path / "learner", extra_args=tuple(learner_settings())) as lab:
        page = _open_lab(context, lab)
        filled = _grade(page, f"filled/{LINEAR}.ipynb")
        page.close()
        page = _open_lab(context, lab)
        untouched = _grade(page, f"{LINEAR}/{LINEAR}.ipynb")
        page.close()
    top = f"{max_points(SOLUTIONS, LINEAR):g}"
    assert "total" in filled and f"{top} / {top}" in filled and "✗" not in filled
    assert untouched.count("not implemented yet") >= 5 and f"0 / {top}" in untouched

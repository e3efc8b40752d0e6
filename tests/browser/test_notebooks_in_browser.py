"""Do the course notebooks work in JupyterLab itself: widgets drawn, plots shown, sliders live?

Each solutions/*/*.ipynb with a widget or a plot (see lab_notebooks.py for how they are picked)
runs through the JupyterLab UI in the system's Chromium, against a throw-away JupyterLab on
loopback. Controls: a generated slider-and-plot notebook must pass; the same notebook must fail
with the widgets front-end extension disabled ("widget rendered as text"); and a notebook whose
slider changes nothing and whose last cell raises must fail with both problems named.

Without Playwright or Chromium these tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .lab_notebooks import discover, inspect_notebook, write_fixture_notebook
from .lab_server import (
    WIDGETS_EXTENSION,
    LabServer,
)

if TYPE_CHECKING:
    from .lab_page import LabPage

pytestmark = pytest.mark.browser

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
IN_CI = os.environ.get("CI", "").lower() == "true"
NOTEBOOK_PARAMS = [pytest.param(nb, id=nb.name) for nb in discover(SOLUTIONS)] or [
    pytest.param(
        None, marks=pytest.mark.skip(reason="no solutions/*/*.ipynb with a widget or plot")
    )
]


@pytest.fixture(scope="module")
def browser_context(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="module")
def lab(browser_context: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """One server for the solutions and the fixtures; its teardown kills it and its kernels."""
    root = tmp_path_factory.mktemp("lab-root")
    if SOLUTIONS.is_dir():
        # A copy: nothing the browser does can write outputs into solutions/.
        shutil.copytree(
            SOLUTIONS, root / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
        )
    write_fixture_notebook(root / "fixture" / "slider.ipynb")
    write_fixture_notebook(
        root / "fixture" / "broken.ipynb", slider_drives_plot=False, fail_at_end=True
    )
    with LabServer(root, tmp_path_factory.mktemp("lab-server")) as server:
        yield server


@pytest.fixture(scope="module")
def lab_page(browser_context: object, lab: LabServer) -> Iterator[LabPage]:
    from .lab_page import LabPage  # imports Playwright: only once it is known to be there

    page = LabPage(browser_context, lab)
    yield page
    page.close()


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOK_PARAMS)
def test_does_the_solution_notebook_work_in_jupyterlab(notebook, lab_page, tmp_path):
    assert notebook.error is None, f"cannot read {notebook.path}: {notebook.error}"
    rel_path = notebook.path.relative_to(SOLUTIONS.parent).as_posix()
    result = lab_page.check(
        rel_path, tmp_path / "shots", expect_widgets=notebook.widgets, expect_plots=notebook.plots
    )
    print(result.summary())  # timings and evidence folder, shown with pytest -rP
    assert result.problems == [], result.summary()


@pytest.mark.slow
def test_does_the_fixture_notebook_pass_and_its_slider_change_the_plot(lab_page, tmp_path):
    result = lab_page.check(
        "fixture/slider.ipynb", tmp_path / "shots", expect_widgets=True, expect_plots=True
    )
    print(result.summary())  # timings and evidence folder, shown with pytest -rP
    assert result.problems == [], result.summary()
    assert result.moved == "slider 'k' in cell 4", result.summary()


@pytest.mark.slow
def test_is_a_slider_that_changes_nothing_and_an_error_reported(lab_page, tmp_path):
    result = lab_page.check(
        "fixture/broken.ipynb", tmp_path / "shots", expect_widgets=True, expect_plots=True
    )
    problems = "\n".join(result.problems)
    assert "cell 5 (\"raise ValueError('deliberate" in problems, result.summary()
    assert "error output ValueError: deliberate failure" in problems, result.summary()
    assert "did not change what the notebook shows" in problems, result.summary()


@pytest.mark.slow
def test_without_the_widgets_extension_is_the_widget_reported_as_text(browser_context, tmp_path):
    """The negative control: the same checks must fail when JupyterLab cannot draw widgets."""
    from .lab_page import LabPage

    write_fixture_notebook(tmp_path / "root" / "slider.ipynb")
    with LabServer(
        tmp_path / "root", tmp_path / "server", disabled_extensions=(WIDGETS_EXTENSION,)
    ) as server:
        page = LabPage(browser_context, server)
        try:
            result = page.check(
                "slider.ipynb", tmp_path / "shots", expect_widgets=True, expect_plots=True
            )
        finally:
            page.close()
    assert any(
        "widget rendered as text" in p and "interactive(children=(IntSlider(value=3" in p
        for p in result.problems
    ), result.summary()
    assert "the code uses ipywidgets but no widget was rendered" in result.problems
    assert server.kernel_processes() == []


@pytest.mark.slow
def test_does_stop_kill_the_server_and_a_kernel_left_running(browser_requirements, tmp_path):
    (tmp_path / "root").mkdir()
    with pytest.raises(RuntimeError, match="simulated failure"):
        with LabServer(tmp_path / "root", tmp_path / "server") as server:
            server.api("POST", "kernels", body={"name": "python3"})
            deadline = time.monotonic() + 30
            while not server.kernel_processes() and time.monotonic() < deadline:
                time.sleep(0.1)
            kernels = server.kernel_processes()
            assert kernels, "the kernel process never appeared"
            raise RuntimeError("simulated failure")
    assert server.proc is not None and server.proc.poll() is not None
    assert not any(kernel.is_running() for kernel in kernels)
    assert server.kernel_processes() == []


def test_does_discovery_pick_every_notebook_with_a_widget_or_a_plot(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    def write(name: str, source: str, flag: bool | None = None) -> Path:
        nb = new_notebook(cells=[new_code_cell(source)])
        if flag is not None:
            nb.metadata["backprop_course"] = {"browser_test": flag}
        path = tmp_path / name / f"{name}.ipynb"
        path.parent.mkdir()
        nbformat.write(nb, path)
        return path

    write_fixture_notebook(tmp_path / "01-both" / "01-both.ipynb")
    write("02-plot", "import matplotlib.pyplot as plt\nplt.plot([1, 2])")
    write("03-plain", "print(1 + 1)")
    write("04-opted-out", "from ipywidgets import interact", flag=False)
    write("05-opted-in", "print('widgets made by a helper')", flag=True)
    found = {nb.name: (nb.widgets, nb.plots) for nb in discover(tmp_path)}
    assert found == {
        "01-both": (True, True),
        "02-plot": (False, True),
        "05-opted-in": (False, False),
    }
    assert inspect_notebook(tmp_path / "03-plain" / "03-plain.ipynb") is None

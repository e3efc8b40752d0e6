"""Which notebooks the browser test runs, and the small notebooks it uses as controls.

A notebook ``solutions/<NN-name>/<NN-name>.ipynb`` is run in the browser when its code uses
ipywidgets (``ipywidgets``, ``interact``, ``widgets.``, ``bplib.widgets``) or plots (``plt.``,
``matplotlib``, ``.plot(``, ``plot_…(``, ``imshow(``, ``bplib.plots``, ``bplib.graph``,
``draw_graph(``). Its notebook metadata can override the guess:

    "metadata": {"backprop_course": {"browser_test": false}}   # never run it in the browser
    "metadata": {"backprop_course": {"browser_test": true}}    # always run it

What the code promises is also what the check expects: a notebook that uses ipywidgets must show
at least one rendered widget and a control to move; one that plots must show an image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

__all__ = [
    "METADATA_KEY",
    "BrowserNotebook",
    "discover",
    "inspect_notebook",
    "write_fixture_notebook",
]

METADATA_KEY = "backprop_course"
WIDGET_CODE = re.compile(
    r"\bipywidgets\b|\binteract(?:ive|_manual)?\b|\bwidgets\.\w|\bbplib\.widgets\b"
)
PLOT_CODE = re.compile(
    r"\bplt\.|\bmatplotlib\b|\.plot\(|\bplot_\w*\(|\bimshow\(|\bbplib\.(?:plots|graph)\b"
    r"|\bdraw_graph\("
)


@dataclass(frozen=True)
class BrowserNotebook:
    """A notebook to run in the browser and what its code promises to show."""

    path: Path
    widgets: bool
    plots: bool
    error: str | None = None  # why it could not be read; the test then fails with this

    @property
    def name(self) -> str:
        return self.path.parent.name


def inspect_notebook(path: Path) -> BrowserNotebook | None:
    """Return what ``path`` shows, or None when it is not a browser-test notebook."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # reported by the test: a collection error would stop every test
        return BrowserNotebook(path, True, True, error=f"{type(exc).__name__}: {exc}")
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    widgets, plots = bool(WIDGET_CODE.search(code)), bool(PLOT_CODE.search(code))
    flag = nb.metadata.get(METADATA_KEY, {}).get("browser_test")
    if flag is False or (flag is None and not (widgets or plots)):
        return None
    return BrowserNotebook(path, widgets, plots)


def discover(solutions_dir: Path) -> list[BrowserNotebook]:
    """Every ``<solutions_dir>/*/*.ipynb`` that has a widget or a plot, in name order."""
    found = []
    for path in sorted(Path(solutions_dir).glob("*/*.ipynb")):
        if ".ipynb_checkpoints" not in path.parts:
            notebook = inspect_notebook(path)
            if notebook is not None:
                found.append(notebook)
    return found


def write_fixture_notebook(
    path: Path, *, slider_drives_plot: bool = True, fail_at_end: bool = False
) -> Path:
    """Write the control notebook: a static plot, a deliberate error tagged "raises-exception",
    then an IntSlider driving a plot via interact.

    ``slider_drives_plot=False`` draws the same plot whatever the slider says, and
    ``fail_at_end=True`` adds a last cell that raises: both must be reported by the check.
    """
    exponent = "k" if slider_drives_plot else "2"
    cells = [
        new_markdown_cell("# Browser-test fixture\nA slider that drives a plot."),
        new_code_cell(
            "import matplotlib.pyplot as plt\n"
            "import numpy as np\n"
            "from ipywidgets import IntSlider, interact"
        ),
        new_code_cell("x = np.linspace(0.0, 1.0, 50)\nplt.plot(x, x)\nplt.show()"),
        new_code_cell(
            "def show_power(k):\n"
            f"    plt.plot(x, x ** {exponent})\n"
            "    plt.ylim(0.0, 1.0)\n"
            "    plt.show()\n"
            "\n"
            "interact(show_power, k=IntSlider(value=3, min=1, max=9, description='k'));"
        ),
    ]
    # A deliberate error, tagged as such: JupyterLab runs on past it and the check accepts it.
    shown_error = new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]})
    cells.insert(3, shown_error)
    if fail_at_end:
        cells.append(new_code_cell("raise ValueError('deliberate failure for the check')"))
    for index, cell in enumerate(cells):
        cell.id = f"fixture-{index}"  # stable ids: no churn between runs
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path

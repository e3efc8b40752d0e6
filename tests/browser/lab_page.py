"""Run notebooks through the JupyterLab UI in Chromium and list what went wrong.

``LabPage.check`` opens a notebook in a JupyterLab page, clears its outputs, runs all cells with
the "Run All Cells" command (what the Run menu does), waits for the kernel's own state and the
outputs to settle, then checks what the page shows: no error output, every widget rendered as a widget (not as its
text repr), every plot rendered as a loaded image, and that moving one control changes what the
notebook shows. It returns the problems as sentences, and saves screenshots plus the executed
notebook in ``shots_dir`` so that a failure can be inspected.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import BrowserContext, ConsoleMessage, Locator, Page
from playwright.sync_api import Error as PlaywrightError

from .lab_server import LabServer

__all__ = ["LabPage", "NotebookCheck"]

HELPERS_JS = (Path(__file__).with_name("lab_page.js")).read_text()

# How a widget or a figure looks when the front end could not render it.
WIDGET_AS_TEXT = re.compile(
    r"\b(?:interactive|(?:Int|Float|FloatLog|Selection)(?:Range)?Slider|Dropdown|Checkbox"
    r"|ToggleButtons?|RadioButtons|Button|(?:Bounded)?(?:Int|Float)Text|[HV]Box|GridBox|Output"
    r"|(?:Int|Float)Progress|Play|Tab|Accordion|\w+Picker)\((?:\)|\w+=)"
)
WIDGET_FAILED = re.compile(r"Error displaying widget|Failed to (?:load|render) (?:model|widget)")
FIGURE_AS_TEXT = re.compile(
    r"<(?:Figure size [\d.]+x[\d.]+ with \d+ Axes|matplotlib\.figure\.Figure\b)"
)

NEXT_FRAMES = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
PAGE_TIMEOUT_S = 60.0  # loading JupyterLab and starting a kernel
QUIET_S = 1.0  # outputs unchanged and kernel idle this long = settled


@dataclass
class NotebookCheck:
    """Outcome of ``LabPage.check``: problems (empty when all is well) and where to look."""

    path: str
    problems: list[str] = field(default_factory=list)
    moved: str | None = None
    shots_dir: Path | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase

    def summary(self) -> str:
        lines = [f"{self.path}: {len(self.problems)} problem(s)"]
        lines += [f"  - {problem}" for problem in self.problems]
        lines.append(f"  control moved: {self.moved or 'none'}")
        lines.append(f"  screenshots, executed notebook, console log: {self.shots_dir}")
        phases = ", ".join(f"{name} {secs:.1f} s" for name, secs in self.timings.items())
        lines.append(f"  took {self.seconds:.1f} s ({phases})")
        return "\n".join(lines)


class LabPage:
    """One JupyterLab page on ``server``, reused for every notebook checked through it.

    Loading JupyterLab takes seconds; each notebook gets its own panel and kernel, both closed
    after its check, and the page is reloaded if a notebook broke it.
    """

    def __init__(self, context: BrowserContext, server: LabServer) -> None:
        self.context = context
        self.server = server
        self.page: Page | None = None
        self.console: list[str] = []  # the page's console errors and warnings, in order

    def _ready_page(self) -> Page:
        page = self.page
        try:
            if page is not None and not page.is_closed() and page.evaluate("!!window.bpTest"):
                return page
        except PlaywrightError:
            pass  # a notebook broke the page: start over with a fresh one
        if page is not None and not page.is_closed():
            page.close()
        page = self.page = self.context.new_page()
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.console.append(f"[uncaught] {exc}"))
        page.set_default_timeout(PAGE_TIMEOUT_S * 1000)
        page.goto(self.server.lab_url())
        page.wait_for_function("window.jupyterapp && window.jupyterapp.started")
        page.evaluate(HELPERS_JS)
        return page

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.console.append(f"[{message.type}] {message.text}")

    def close(self) -> None:
        if self.page is not None and not self.page.is_closed():
            self.page.close()

    def check(
        self,
        rel_path: str,
        shots_dir: Path,
        *,
        expect_widgets: bool,
        expect_plots: bool,
        run_timeout: float = 120.0,
    ) -> NotebookCheck:
        """Open ``rel_path`` (relative to the server's root), run it, and check what shows.

        ``expect_widgets`` / ``expect_plots`` say what the notebook's code promises: at least
        one rendered widget and a control that can be moved / at least one rendered image.
        """
        started = time.monotonic()
        shots_dir.mkdir(parents=True, exist_ok=True)
        result = NotebookCheck(rel_path, shots_dir=shots_dir)
        clock = [started]
        phase = "load lab"

        def lap(next_phase: str) -> None:
            nonlocal phase
            now = time.monotonic()
            result.timings[phase] = now - clock[0]
            clock[0], phase = now, next_phase

        page = None
        console_from = len(self.console)
        try:
            page = self._ready_page()
            lap("open+kernel")
            _open(page, rel_path)
            lap("run all")
            _run_all(page, result, run_timeout)
            lap("check+move")
            result.problems += _judge(
                page.evaluate("bpTest.report()"), expect_widgets, expect_plots
            )
            result.problems += _move_one_control(page, result, expect_widgets, run_timeout)
            lap("evidence")
        except PlaywrightError as exc:
            result.problems.append(f"the browser session failed during {phase!r}: {exc}")
        finally:
            if result.problems:
                # Not judged (JupyterLab logs harmless warnings) but often the missing clue.
                log = "\n".join(self.console[console_from:]) or "(nothing logged)"
                (shots_dir / "console.log").write_text(log + "\n")
            if page is not None:
                if phase != "evidence":
                    lap("evidence")  # records how long the phase that failed took
                _save_evidence(page, result, Path(rel_path).stem)
                lap("close")
                _close(page, self.server, result)
                lap("done")
            result.seconds = time.monotonic() - started
        return result


def _open(page: Page, rel_path: str) -> None:
    page.evaluate("path => bpTest.open(path)", rel_path)
    # The kernel's own state, not the toolbar text (which reads "idle" before a kernel exists).
    page.wait_for_function(
        "(() => { const k = bpTest.kernel(); "
        "return k && k.status === 'idle' && k.connection === 'connected'; })()"
    )


def _run_all(page: Page, result: NotebookCheck, timeout: float) -> None:
    """Clear outputs, Run All, wait for the command and then for the outputs to settle."""
    page.evaluate("bpTest.runAll()")
    try:
        page.wait_for_function("bpTest.run !== undefined", timeout=timeout * 1000)
    except PlaywrightError:
        result.problems.append(f"Run All did not finish within {timeout:.0f} s")
        return
    error = page.evaluate("bpTest.run.error || null")
    if error:
        result.problems.append(f"the Run All command failed: {error}")
    if not _settle(page, timeout):
        result.problems.append(f"outputs were still changing {timeout:.0f} s after Run All")


def _settle(page: Page, timeout: float) -> bool:
    """Wait until the kernel is idle and the outputs stop changing (queued slider runs)."""
    deadline = time.monotonic() + timeout
    last, quiet_since = None, time.monotonic()
    while time.monotonic() < deadline:
        state = page.evaluate("bpTest.state()")
        now = time.monotonic()
        if state["busy"] or state["fingerprint"] != last:
            last, quiet_since = state["fingerprint"], now
        elif now - quiet_since >= QUIET_S:
            return True
        time.sleep(0.2)
    return False


def _judge(report: list[dict], expect_widgets: bool, expect_plots: bool) -> list[str]:
    """Turn the page's facts into problems, one sentence each, naming the cell."""
    problems = []
    widgets = images = 0
    for cell in report:
        where = f"cell {cell['index']} ({cell['source'][:50]!r})"
        if cell["executionCount"] is None and cell["source"]:  # JupyterLab skips empty cells
            problems.append(f"{where} did not run")
        for out in cell["outputs"]:
            # "raises-exception" marks a deliberate error: JupyterLab runs on past it, so do we.
            if out["error"] and "raises-exception" not in cell["tags"]:
                problems.append(f"{where}: error output {out['error']}")
            problems += [f"{where}: error inside a widget: {e}" for e in out["widgetErrors"]]
            shown = out["text"] if out["rendered"] else out["plain"]
            if out["isWidget"] and not out["renderedWidget"]:
                problems.append(f"{where}: widget rendered as text: {shown[:120]!r}")
            elif not out["renderedWidget"] and WIDGET_AS_TEXT.search(shown):
                problems.append(f"{where}: widget rendered as text: {shown[:120]!r}")
            if WIDGET_FAILED.search(shown):
                problems.append(f"{where}: widget failed to render: {shown[:120]!r}")
            if out["isImage"] and out["loadedImages"] == 0:
                problems.append(f"{where}: plot not rendered as an image ({out['mimes']})")
            elif out["images"] > out["loadedImages"]:
                problems.append(f"{where}: an image did not load")
            if FIGURE_AS_TEXT.search(shown) and out["loadedImages"] == 0:
                problems.append(f"{where}: plot rendered as text: {shown[:80]!r}")
            widgets += out["renderedWidget"]
            images += out["loadedImages"]
    if expect_widgets and widgets == 0:
        problems.append("the code uses ipywidgets but no widget was rendered")
    if expect_plots and images == 0:
        problems.append("the code plots but no image was rendered")
    return problems


def _move_one_control(
    page: Page, result: NotebookCheck, expect_widgets: bool, timeout: float
) -> list[str]:
    """Move the first control and require that what the notebook shows changes."""
    control = page.evaluate("bpTest.findControl()")
    if control is None:
        return ["no slider or other control was found to move"] if expect_widgets else []
    result.moved = f"{control['kind']} {control['label']!r} in cell {control['cell']}"
    before = page.evaluate("bpTest.fingerprintOutputs()")
    target = page.locator('[data-bp-control="target"]').first
    target.scroll_into_view_if_needed()
    kind = control["kind"]
    if kind == "slider":
        _drag_slider(page, target)
    elif kind == "dropdown":
        if control["options"] < 2:
            return [f"the dropdown {result.moved} has a single option: nothing to move"]
        target.select_option(index=(control["selected"] + 1) % control["options"])
    elif kind == "text":
        target.fill(str(target.input_value() or "0") + "1")
        target.press("Enter")
    else:
        target.click()
    time.sleep(0.3)  # let the first comm message reach the kernel before watching it
    if not _settle(page, timeout):
        return [f"after moving the {result.moved}, outputs were still changing"]
    if page.evaluate("bpTest.fingerprintOutputs()") == before:
        return [f"moving the {result.moved} did not change what the notebook shows"]
    return []


def _drag_slider(page: Page, handle: Locator) -> None:
    """Drag the handle a quarter of the track toward the roomier side; keys if that fails."""
    value = handle.get_attribute("aria-valuenow")
    box = handle.bounding_box()
    track = page.locator('[data-bp-control="track"]').first.bounding_box()
    if box and track:
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        room_right = track["x"] + track["width"] - x
        step = track["width"] / 4 * (1 if room_right >= x - track["x"] else -1)
        page.mouse.move(x, y)
        page.mouse.down()
        for k in range(1, 9):  # several moves, like a hand: interact queues a run for each
            page.mouse.move(x + step * k / 8, y)
            time.sleep(0.03)
        page.mouse.up()
    if handle.get_attribute("aria-valuenow") == value:
        handle.focus()
        key = (
            "ArrowLeft"
            if handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
            else "ArrowRight"
        )
        for _ in range(3):
            handle.press(key)


def _save_evidence(page: Page, result: NotebookCheck, stem: str) -> None:
    """Save the executed notebook and a screenshot; on failure, the failing cells and every
    part of the notebook, top to bottom."""
    try:
        notebook = page.evaluate("bpTest.panel ? bpTest.panel.context.model.toJSON() : null")
        if notebook is not None:
            (result.shots_dir / f"{stem}.executed.ipynb").write_text(json.dumps(notebook))
        if not result.problems:
            page.screenshot(path=result.shots_dir / f"{stem}.png")
            return
        for cell in sorted(set(re.findall(r"cell (\d+)", " ".join(result.problems)))):
            page.locator(f'[data-bp-cell="{cell}"]').first.screenshot(
                path=result.shots_dir / f"{stem}-cell{cell}.png", timeout=5000
            )
        _screenshot_in_parts(page, result.shots_dir / stem)
    except PlaywrightError as exc:
        result.problems.append(f"could not save screenshots: {exc}")


def _screenshot_in_parts(page: Page, prefix: Path, tall: int = 6000) -> None:
    """Screenshots ``<prefix>-1.png``, ``-2.png``, … that together show the whole notebook."""
    size = page.viewport_size
    page.set_viewport_size({"width": 1280, "height": tall})
    page.evaluate(NEXT_FRAMES)  # JupyterLab lays the panel out again on the next frames
    # Scroll one screen at a time until the last cell's bottom edge is in view.
    scroll_to = """k => {
        const n = document.querySelector('[data-bp-panel] .jp-WindowedPanel-outer');
        const cells = bpTest.cells();
        if (!n || !cells.length) return true;
        n.scrollTop = k * n.clientHeight;
        const last = cells[cells.length - 1].node.getBoundingClientRect();
        return last.bottom <= n.getBoundingClientRect().bottom + 1
            || n.scrollTop + n.clientHeight >= n.scrollHeight - 1;
    }"""
    try:
        for part in range(1, 50):
            at_end = page.evaluate(scroll_to, part - 1)
            page.screenshot(path=f"{prefix}-{part}.png")
            if at_end:
                break
    finally:
        if size:
            page.set_viewport_size(size)


def _close(page: Page, server: LabServer, result: NotebookCheck) -> None:
    """Shut the notebook's kernel down; the server must end up running no kernel at all."""
    try:
        page.evaluate("window.bpTest ? bpTest.close() : null")
    except PlaywrightError as exc:
        result.problems.append(f"could not shut the kernel down from the page: {exc}")
        page.close()  # the next notebook gets a fresh page
    deadline = time.monotonic() + 10
    while server.api("GET", "kernels") and time.monotonic() < deadline:
        time.sleep(0.2)
    leftover = server.api("GET", "kernels")
    if leftover:
        result.problems.append(f"{len(leftover)} kernel(s) still ran after the notebook closed")
        for kernel in leftover:
            server.api("DELETE", f"kernels/{kernel['id']}")

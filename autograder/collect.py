"""Find each learner's notebook(s) in what an instructor downloaded, and check they are notebooks.

Accepted layouts (a folder, or a ``.zip`` of one):

* one sub-folder per learner: ``alice/01-derivatives.ipynb`` (any depth, any notebook name);
  when learners' folders have sub-folders named after the assignment (nbgrader's own
  ``submitted/alice/01-derivatives/``, as ``nbgrader collect`` leaves it), only those, and a
  learner without one did not hand this assignment in;
* flat files named the way Canvas names them: ``<learner>_<id>_<id>_<original name>`` (also
  ``<learner>_LATE_<id>_<id>_<name>``); Canvas's re-upload suffix ``-1`` is ignored;
* flat files ``<learner>.ipynb``.

A learner's file that is not a notebook (corrupt JSON, a PDF, empty) gives that learner a
``problem`` and nobody else.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

__all__ = ["Intake", "check_notebook", "collect", "learner_id"]

_CANVAS = re.compile(r"^(?P<learner>[^_]+)_(?:LATE_)?\d+_\d+_(?P<name>.+)$")
_SKIP = {"__MACOSX", ".ipynb_checkpoints", ".DS_Store", "__pycache__"}
MAX_MEMBER_BYTES = 200_000_000


@dataclass(frozen=True)
class Intake:
    """One learner's submission as found.

    learner: a safe learner id (letters, digits, ``.``, ``_``, ``-``, ``@``).
    files: notebook name (without ``.ipynb``) -> the file holding it.
    problem: why it cannot be graded, or None.
    """

    learner: str
    files: dict[str, Path] = field(default_factory=dict)
    problem: str | None = None


def learner_id(raw: str) -> str:
    """``raw`` made safe as an nbgrader student id and folder name (no globs, no separators)."""
    cleaned = re.sub(r"[^A-Za-z0-9._@-]+", "_", raw.strip()).strip("._")
    return cleaned or "unnamed"


def check_notebook(path: Path) -> str | None:
    """None when ``path`` reads as a Jupyter notebook, else a one-line reason."""
    raw = path.read_bytes()
    if not raw.strip():
        return f"{path.name} is empty"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return f"{path.name} is not a notebook (binary content, not JSON text)"
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"{path.name} is not a notebook: invalid JSON at line {exc.lineno} ({exc.msg})"
    try:
        nbformat.reads(text, as_version=4)
    except Exception as exc:
        return f"{path.name} is not a valid notebook: {type(exc).__name__}: {exc}"
    return None


def _extract(archive: Path, dest: Path) -> Path:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            parts = Path(info.filename).parts
            if info.is_dir() or info.filename.startswith("/") or ".." in parts:
                continue  # never write outside dest
            if _SKIP.intersection(parts) or info.file_size > MAX_MEMBER_BYTES:
                continue
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
    return dest


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name not in _SKIP and not p.name.startswith("."))


def _base(name: str) -> str:
    """Notebook name without extension, Canvas ``-1`` or browser `` (1)`` re-upload suffixes."""
    stem = name[:-6] if name.lower().endswith(".ipynb") else name
    return re.sub(r"(-\d+| \(\d+\))$", "", stem).lower()


def _match(learner: str, found: list[tuple[str, Path]], notebooks: list[str]) -> Intake:
    """Assign a learner's files (shown name, path) to the assignment's notebooks."""
    ipynb = [(n, p) for n, p in found if n.lower().endswith(".ipynb")]
    if not ipynb:
        names = ", ".join(n for n, _ in found) or "nothing"
        return Intake(learner, problem=f"no .ipynb notebook found (got: {names})")
    files: dict[str, Path] = {}
    for nb in notebooks:
        named = [p for n, p in ipynb if _base(n) == nb.lower()]
        if len(named) == 1:
            files[nb] = named[0]
    if len(notebooks) == 1 and not files:
        if len(ipynb) > 1:
            names = ", ".join(n for n, _ in ipynb)
            return Intake(learner, problem=f"several notebooks, none named {notebooks[0]}.ipynb: {names}")
        files[notebooks[0]] = ipynb[0][1]
    if not files:
        return Intake(learner, problem=f"no notebook named {', '.join(notebooks)} (.ipynb)")
    for path in files.values():
        problem = check_notebook(path)
        if problem:
            return Intake(learner, files, problem)
    return Intake(learner, files)


def collect(
    submissions: Path, notebooks: list[str], scratch: Path, assignment: str | None = None
) -> list[Intake]:
    """Every learner's submission in ``submissions`` (a folder or a zip; see module docstring).

    notebooks: the assignment's notebook names. scratch: where a zip is extracted.
    assignment: its name; a learner folder with a sub-folder of that name is read there only.
    """
    root = Path(submissions)
    zipped = root.is_file() and zipfile.is_zipfile(root)
    if zipped:
        root = _extract(root, Path(scratch) / "unzipped")
    if not root.is_dir():
        raise ValueError(f"{submissions} is neither a folder nor a zip file")
    entries = _visible(root)
    if zipped and len(entries) == 1 and entries[0].is_dir():
        entries = _visible(entries[0])  # a zip that wraps everything in one top folder
    found: dict[str, list[tuple[str, Path]]] = defaultdict(list)
    nbgrader_layout = bool(assignment) and any((e / str(assignment)).is_dir() for e in entries)
    for entry in entries:
        if entry.is_dir():
            inside = entry / str(assignment) if nbgrader_layout else entry
            if not inside.is_dir():
                continue  # nbgrader's layout: this learner handed in other assignments only
            for path in sorted(inside.rglob("*")):
                if path.is_file() and not _SKIP.intersection(path.relative_to(inside).parts):
                    found[learner_id(entry.name)].append((path.name, path))
            found.setdefault(learner_id(entry.name), [])
        elif m := _CANVAS.match(entry.name):
            found[learner_id(m["learner"])].append((m["name"], entry))
        elif entry.suffix.lower() == ".ipynb":
            found[learner_id(entry.stem)].append((entry.name, entry))
    return [_match(learner, files, notebooks) for learner, files in sorted(found.items())]

"""``bp-release``: regenerate ``course/`` (nbgrader's release) from ``solutions/`` (its source).

Steps: normalize every source notebook in place (see :mod:`autograder.normalize`), run
``nbgrader generate_assignment --no-db`` for every assignment into a scratch folder, then make
``course/`` exactly that: changed files rewritten, stale ones removed. Running it twice changes
nothing. ``--check`` changes nothing and exits 1 when sources are not normalized, when
``course/`` differs from what generation makes now, or when ``course/`` leaks solution code or
hidden tests.

Exit codes: 0 up to date (or regenerated), 1 ``--check`` found a difference or a leak, 2 a
source notebook is invalid or generation failed.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import nbformat

from .gradebook import Workspace, _api, failure_reason
from .normalize import normalize_notebook, secret_lines
from .settings import COURSE, SOLUTIONS, grading

__all__ = ["assignments", "find_leaks", "generate", "main", "normalize_sources", "release_diff"]

_IGNORED = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}


def assignments(source: Path) -> list[str]:
    """Names of the assignment folders of ``source`` (those holding a notebook), sorted."""
    return sorted(p.name for p in Path(source).iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def _files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {
        str(p.relative_to(folder)): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not _IGNORED.intersection(p.relative_to(folder).parts)
    }


def normalize_sources(
    source: Path, *, write: bool, names: Sequence[str] | None = None
) -> list[Path]:
    """Normalize the source notebooks (of the assignments in ``names``; None: all); return those
    that were (or, if not ``write``, would be) changed. Raises ValueError naming the notebook
    when one is invalid."""
    changed = []
    for path in sorted(Path(source).glob("*/*.ipynb")):
        if names is not None and path.parent.name not in names:
            continue
        text = path.read_text(encoding="utf-8")
        try:
            nb = normalize_notebook(nbformat.reads(text, as_version=4))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc
        new = nbformat.writes(nb) + "\n"
        if new != text:
            changed.append(path)
            if write:
                path.write_text(new, encoding="utf-8")
    return changed


def generate(source: Path, dest: Path, names: Sequence[str] | None = None) -> None:
    """Run nbgrader's ``generate_assignment`` (no gradebook) for each assignment into ``dest``."""
    with tempfile.TemporaryDirectory(prefix="bp-release-root-") as root:
        ws = Workspace(Path(root), source=Path(source))
        api = _api(ws, Path(dest), no_database=True)
        for name in names or assignments(source):
            result = api.generate_assignment(name, force=True, create=False)
            if not result["success"]:
                raise RuntimeError(f"generate_assignment {name} failed: {failure_reason(result)}")


def release_diff(generated: Path, course: Path, names: Sequence[str] | None = None) -> list[str]:
    """Relative paths that differ between ``generated`` and ``course`` (changed, missing, extra),
    only within the assignments ``names`` when given."""
    new, old = _files(generated), _files(course)
    if names is not None:
        old = {rel: p for rel, p in old.items() if Path(rel).parts[0] in names}
    diff = [f"missing in course/: {p}" for p in new if p not in old]
    diff += [f"not generated (stale): {p}" for p in old if p not in new]
    diff += [
        f"differs: {p}" for p in new if p in old and not filecmp.cmp(new[p], old[p], shallow=False)
    ]
    return sorted(diff)


def find_leaks(source: Path, course: Path) -> list[str]:
    """Lines of solution code or hidden tests (or their markers) that appear in ``course``.

    Each assignment of ``course`` is checked against the secrets of the same assignment of
    ``source``; every file of ``course`` is checked for the region markers.
    """
    leaks = []
    for rel, path in _files(course).items():
        secrets: dict[str, str] = {}
        for src in sorted((Path(source) / Path(rel).parts[0]).glob("*.ipynb")):
            for line in secret_lines(nbformat.read(src, as_version=4)):
                secrets.setdefault(line, src.name)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if path.suffix == ".ipynb":
            try:
                text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
            except Exception:  # not a readable notebook: search its raw text
                pass
        lines = {line.strip() for line in text.splitlines()}
        leaks += [f"{rel}: {line!r} (from {secrets[line]})" for line in lines if line in secrets]
        leaks += [f"{rel}: marker {m!r}" for m in _markers() if m in text]
    return sorted(leaks)


def _markers() -> list[str]:
    """The region markers without their comment sign: a leak shows them however commented."""
    marks = grading()
    return [m.lstrip("#").strip() for m in (marks.begin_solution, marks.end_solution,
                                             marks.begin_hidden_tests, marks.end_hidden_tests)]


def _sync(generated: Path, course: Path, names: Sequence[str] | None) -> None:
    """Make ``course`` hold what ``generated`` holds (within ``names``; None: everything)."""
    new, old = _files(generated), _files(course)
    for rel, path in new.items():
        target = course / rel
        if rel not in old or not filecmp.cmp(path, old[rel], shallow=False):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    for rel, path in old.items():
        if rel not in new and (names is None or Path(rel).parts[0] in names):
            path.unlink()
    for folder in sorted(course.glob("*/"), reverse=True):
        if folder.is_dir() and not _files(folder):
            shutil.rmtree(folder)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bp-release", description=__doc__.splitlines()[0])
    parser.add_argument("assignment", nargs="*", help="only these (default: every assignment)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on drift")
    parser.add_argument("--source", type=Path, default=SOLUTIONS, help="default: solutions/")
    parser.add_argument("--course", type=Path, default=COURSE, help="default: course/")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``bp-release``; returns the exit code."""
    args = _parser().parse_args(argv)
    names = args.assignment or assignments(args.source)
    problems: list[str] = []
    try:
        unnormalized = normalize_sources(args.source, write=not args.check, names=args.assignment or None)
        with tempfile.TemporaryDirectory(prefix="bp-release-") as tmp:
            generated = Path(tmp)
            generate(args.source, generated, names)
            if args.check:
                problems += [f"not normalized (run bp-release): {p}" for p in unnormalized]
                problems += release_diff(
                    generated, args.course, args.assignment or None
                )
            else:
                _sync(generated, args.course, args.assignment or None)
                for path in unnormalized:
                    print(f"normalized {path}")
        problems += find_leaks(args.source, args.course)
    except (ValueError, RuntimeError) as exc:
        print(f"bp-release: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    if not problems and not args.check:
        print(f"{args.course} regenerated from {args.source} ({len(names)} assignments)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""The student's own copies of the notebooks, and keeping them safe from new releases.

Students work in ``work/<assignment>/`` at the repository root (ignored by git), never in the
release folder: `start` copies each released file there once and never replaces a file that is
already there, so a later release only adds new notebooks. Bringing a notebook the student
already started up to a newer release is explicit (`update`): the new version gets the student's
answers back, matched by nbgrader ``grade_id``, and the old file is kept beside it.

`course release` records what it wrote (``grading/.released/<assignment>.json``, one SHA-256 per
file); `release_edits` lists the files of a release folder changed since, which `course release`
refuses to overwrite unless forced.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .notebooks import grade_id, is_solution_cell, read_notebook, write_notebook
from .paths import Course

SKIPPED_PARTS = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}
STARTED_NAME = ".started.json"  # in work/: the release each copied file came from


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(folder: Path) -> list[Path]:
    """Every file under ``folder`` (relative), leaving out editor and cache debris."""
    if not folder.is_dir():
        return []
    return sorted(
        p.relative_to(folder)
        for p in folder.rglob("*")
        if p.is_file() and not SKIPPED_PARTS.intersection(p.relative_to(folder).parts)
    )


# --- the release manifest ----------------------------------------------------------------------


def manifest_path(course: Course, assignment: str) -> Path:
    return course.root / ".released" / f"{assignment}.json"


def record_release(course: Course, assignment: str) -> Path:
    """Write the manifest of what `course release` just put in ``release/<assignment>/``."""
    folder = course.release_dir / assignment
    target = manifest_path(course, assignment)
    target.parent.mkdir(parents=True, exist_ok=True)
    files = {str(rel): _digest(folder / rel) for rel in _files(folder)}
    target.write_text(json.dumps({"released_at": time.time(), "files": files}, indent=1) + "\n")
    return target


def release_edits(course: Course, assignment: str) -> list[Path]:
    """Files of ``release/<assignment>/`` that a new release would overwrite or delete although
    they changed since the last release (edited or added there), and that are not saved in the
    student's work folder as they are.

    Without a manifest (a release made before manifests existed), a file counts as changed when
    it is newer than the ``release/.released`` stamp `make` leaves, or every file when there is
    no stamp either.
    """
    folder = course.release_dir / assignment
    files = _files(folder)
    if not files:
        return []
    manifest = manifest_path(course, assignment)
    if manifest.is_file():
        known = json.loads(manifest.read_text())["files"]
        changed = [rel for rel in files if known.get(str(rel)) != _digest(folder / rel)]
    else:
        stamp = course.release_dir / ".released"
        since = stamp.stat().st_mtime if stamp.is_file() else None
        changed = [rel for rel in files if since is None or (folder / rel).stat().st_mtime > since]
    work = work_dir(course) / assignment
    return [
        folder / rel
        for rel in changed
        if not ((work / rel).is_file() and _digest(work / rel) == _digest(folder / rel))
    ]


# --- the student's work folder -----------------------------------------------------------------


def work_dir(course: Course) -> Path:
    """``work/`` next to the course root (the repository root's ``work/``)."""
    return course.root.parent / "work"


def _started(course: Course) -> dict[str, str]:
    path = work_dir(course) / STARTED_NAME
    return json.loads(path.read_text()) if path.is_file() else {}


def _save_started(course: Course, started: dict[str, str]) -> None:
    path = work_dir(course) / STARTED_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(started, indent=1, sort_keys=True) + "\n")


@dataclass
class StartReport:
    copied: list[Path] = field(default_factory=list)  # new in work/
    kept: list[Path] = field(default_factory=list)  # already there, left as they are
    updatable: list[Path] = field(default_factory=list)  # kept, and the release has a newer one


def start(
    course: Course, assignments: list[str] | None = None, rescue: bool = False
) -> StartReport:
    """Copy every released file into ``work/`` unless a file of that name is already there.

    With ``rescue``, copy only release files changed since their release (work done in the
    release folder before work/ existed), so that the next release cannot take them away.
    """
    report = StartReport()
    started = _started(course)
    names = assignments or sorted(
        p.name for p in course.release_dir.glob("*") if p.is_dir() and not p.name.startswith(".")
    )
    for assignment in names:
        source = course.release_dir / assignment
        if not source.is_dir():
            raise FileNotFoundError(
                f"{assignment} is not released yet: run `course release {assignment}` first"
            )
        rescued = set(release_edits(course, assignment)) if rescue else None
        for rel in _files(source):
            src, dest = source / rel, work_dir(course) / assignment / rel
            key = f"{assignment}/{rel}"
            if dest.exists():
                report.kept.append(dest)
                if rel.suffix == ".ipynb" and started.get(key) not in (None, _digest(src)):
                    report.updatable.append(dest)
                continue
            if rescued is not None and src not in rescued:
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
            started[key] = _digest(src)
            report.copied.append(dest)
    _save_started(course, started)
    return report


@dataclass
class UpdateReport:
    notebook: Path
    backup: Path | None = None  # the student's previous file, kept
    beside: Path | None = None  # the new version written next to the old one
    answers_kept: list[str] = field(default_factory=list)  # grade_ids carried over
    answers_orphaned: list[str] = field(default_factory=list)  # no such cell any more
    own_cells: int = 0  # cells the student added (only in the backup)
    unchanged: bool = False


def merge_answers(old_path: Path, new_path: Path) -> tuple:
    """The new release notebook with the student's answer cells (by grade_id) put back.

    Returns (merged notebook, kept ids, orphaned ids, number of cells the student added).
    """
    old, new = read_notebook(old_path), read_notebook(new_path)
    answers = {grade_id(c): c for c in old.cells if is_solution_cell(c) and grade_id(c)}
    new_ids = {grade_id(c) for c in new.cells if grade_id(c)}
    kept = []
    for cell in new.cells:
        answer = answers.get(grade_id(cell))
        if is_solution_cell(cell) and answer is not None and answer.source != cell.source:
            cell.source = answer.source
            kept.append(grade_id(cell))
    orphaned = sorted(i for i in answers if i not in new_ids)
    released_sources = {c.source for c in new.cells}
    own = sum(
        1
        for c in old.cells
        if not c.get("metadata", {}).get("nbgrader") and c.source not in released_sources
    )
    return new, kept, orphaned, own


def update(
    course: Course, assignment: str, notebooks: list[str] | None = None, beside: bool = False
) -> list[UpdateReport]:
    """Bring the student's copies of ``assignment`` up to the current release.

    Each started notebook is replaced by the new release with the student's answers put back
    (by grade_id); the previous file stays next to it as ``<name>.before-update-<time>.ipynb``.
    With ``beside``, the new release is written as ``<name>.new.ipynb`` and nothing is changed.
    Notebooks (and other files) the student has not got yet are copied as `start` does.
    """
    source = course.release_dir / assignment
    if not source.is_dir():
        raise FileNotFoundError(
            f"{assignment} is not released yet: run `course release {assignment}` first"
        )
    wanted = {n.removesuffix(".ipynb") for n in notebooks or []}
    start(course, [assignment])  # anything new in the release
    started = _started(course)
    reports = []
    for new_path in sorted(source.glob("*.ipynb")):
        if wanted and new_path.stem not in wanted:
            continue
        old_path = work_dir(course) / assignment / new_path.name
        report = UpdateReport(old_path)
        reports.append(report)
        key = f"{assignment}/{new_path.name}"
        if started.get(key) == _digest(new_path):
            report.unchanged = True
            continue
        merged, report.answers_kept, report.answers_orphaned, report.own_cells = merge_answers(
            old_path, new_path
        )
        if beside:
            report.beside = old_path.with_suffix(".new.ipynb")
            write_notebook(merged, report.beside)
            continue
        stamp = time.strftime("%Y%m%d-%H%M%S")
        report.backup = old_path.with_name(f"{new_path.stem}.before-update-{stamp}.ipynb")
        shutil.copy2(old_path, report.backup)
        write_notebook(merged, old_path)
        started[key] = _digest(new_path)
    missing = wanted - {r.notebook.stem for r in reports}
    if missing:
        raise ValueError(f"{assignment} has no notebook named {', '.join(sorted(missing))}")
    _save_started(course, started)
    return reports

"""Find each student's notebooks in what an instructor collected.

A folder or a .zip (any single top-level folder is descended into) in one of the layouts of
`course_grading.lms`: Canvas, Moodle, Blackboard, Gradescope exports, or the course's own
``<student_id>/<notebook>.ipynb`` folders and flat ``<student_id>_<notebook>.ipynb`` files.
File names are matched after removing "Copy of " and " (1)"-style decorations. Every file is
accounted for: graded, ignored (with the reason) or unmatched to the roster.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .lms import Entry, scan, split_flat
from .roster import Roster
from .sanitize import match_notebook


@dataclass
class Submission:
    """One student's files: canonical notebook name -> path, and what looked wrong."""

    student_id: str
    notebooks: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class Collection:
    """What an export held: the submissions to grade and every file that is not graded."""

    format: str
    submissions: list[Submission]
    files_found: int
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (file, why)
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (file, the export's id)
    absent: list[str] = field(default_factory=list)  # roster students without a submission

    @property
    def files_graded(self) -> int:
        return sum(len(s.notebooks) for s in self.submissions)

    def summary(self) -> str:
        """The accounting lines printed under the autograde table."""
        lines = [
            f"format: {self.format}; files found: {self.files_found}, graded: "
            f"{self.files_graded}, ignored: {len(self.ignored)}, unmatched: {len(self.unmatched)}"
        ]
        lines += [f"  ignored {name}: {why}" for name, why in self.ignored]
        lines += [
            f"  unmatched {name}: {ident} is on no roster line (not graded)"
            for name, ident in self.unmatched
        ]
        if self.absent:
            lines.append(f"  no submission from: {', '.join(self.absent)}")
        return "\n".join(lines)


def _safe_student_id(raw: str) -> str:
    cleaned = re.sub(r"[^\w.@-]+", "_", raw.strip()).strip("._")
    return cleaned or "unknown"


def _extract(zip_path: Path, into: Path) -> Path:
    """Unpack ``zip_path`` keeping each member's own timestamp (it orders resubmissions)."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for member in archive.infolist():
                target = (into / member.filename).resolve()
                if not str(target).startswith(str(into.resolve())):
                    raise ValueError(f"{zip_path}: unsafe path {member.filename!r} in the archive")
            for member in archive.infolist():
                path = Path(archive.extract(member, into))
                stamp = time.mktime((*member.date_time, 0, 0, -1))
                if not member.is_dir():
                    os.utime(path, (stamp, stamp))
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{zip_path} is not a readable zip file: {exc}") from exc
    return into


def _unpack(path: Path, workdir: Path | None) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no submissions at {path}")
    if path.is_file():
        if path.suffix.lower() != ".zip":
            raise ValueError(f"{path}: expected a folder or a .zip of notebooks")
        return _extract(path, Path(workdir or tempfile.mkdtemp(prefix="course-submissions-")))
    return path


def collect_export(
    path: Path,
    assignment: str,
    names: list[str],
    workdir: Path | None = None,
    fmt: str = "auto",
    roster: Roster | None = None,
) -> Collection:
    """Group the notebooks under ``path`` (folder or zip) by student, accounting for every file.

    Args:
        path: the collected submissions.
        assignment: assignment id (kept for messages).
        names: the assignment's notebook names (without .ipynb).
        workdir: where to extract a zip (a temporary folder by default).
        fmt: "auto" or one of `course_grading.lms.FORMATS`.
        roster: maps the export's identifiers to course student ids; without it the export's
            stable key is the student id.
    """
    found = scan(_unpack(path, workdir), names, fmt)
    rel = lambda p: str(p.relative_to(found.root))  # noqa: E731 - short local helper
    collection = Collection(
        found.format, [], found.files_found, [(rel(p), why) for p, why in found.ignored]
    )
    by_student: dict[str, list[Entry]] = {}
    for entry in found.entries:
        if roster is not None:
            sid = roster.match([entry.student, *entry.aliases, entry.name])
            if sid is None:
                collection.unmatched.append((rel(entry.path), entry.student))
                continue
        else:
            sid = _safe_student_id(entry.student)
        by_student.setdefault(sid, []).append(entry)
    for sid in sorted(by_student):
        sub = Submission(sid)
        for name in names:
            files = sorted(
                (e for e in by_student[sid] if e.notebook == name), key=lambda e: e.attempt
            )
            if not files:
                sub.problems.append(f"missing notebook {name}.ipynb")
                continue
            chosen = files[-1]
            if len(files) > 1:
                sub.problems.append(
                    f"{len(files)} files for {name}: graded the latest, {chosen.path.name!r}"
                )
                collection.ignored += [
                    (rel(e.path), f"older than {chosen.path.name}") for e in files[:-1]
                ]
            elif chosen.path.stem != name and not chosen.path.stem.endswith(f"_{name}"):
                stem = chosen.path.stem
                named = match_notebook(stem, [name]) or split_flat(stem, [name])
                verb = "renamed {} to" if named else "took {} as"
                sub.problems.append(f"{verb.format(repr(chosen.path.name))} {name}.ipynb")
            sub.notebooks[name] = chosen.path
        collection.submissions.append(sub)
    if roster is not None:
        collection.absent = [s for s in roster.students if s not in by_student]
    return collection


def collect(
    path: Path, assignment: str, names: list[str], workdir: Path | None = None
) -> list[Submission]:
    """The submissions of `collect_export` (auto-detected format, no roster)."""
    return collect_export(path, assignment, names, workdir).submissions

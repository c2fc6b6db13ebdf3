"""Find each student's notebooks in what an instructor collected.

Accepted layouts (a folder, or a .zip of either):
- ``<student_id>/<notebook>.ipynb`` (also ``<student_id>/<assignment>/<notebook>.ipynb``);
- flat ``<student_id>_<notebook>.ipynb`` files, as an LMS exports them.
File names are matched after removing "Copy of " and " (1)"-style decorations. With a
single-notebook assignment, any one notebook a student hands in is taken as that notebook.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .sanitize import NUMBERED_SUFFIX, match_notebook

_SKIP_PARTS = {"__MACOSX", ".ipynb_checkpoints"}


@dataclass
class Submission:
    """One student's files: canonical notebook name -> path, and what looked wrong."""

    student_id: str
    notebooks: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _safe_student_id(raw: str) -> str:
    cleaned = re.sub(r"[^\w.@-]+", "_", raw.strip()).strip("._")
    return cleaned or "unknown"


def _extract(zip_path: Path, into: Path) -> Path:
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for member in archive.namelist():
                target = (into / member).resolve()
                if not str(target).startswith(str(into.resolve())):
                    raise ValueError(f"{zip_path}: unsafe path {member!r} in the archive")
            archive.extractall(into)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{zip_path} is not a readable zip file: {exc}") from exc
    return into


def _notebook_files(root: Path) -> list[Path]:
    files = []
    for path in sorted(root.rglob("*.ipynb")):
        rel = path.relative_to(root)
        if any(part in _SKIP_PARTS or part.startswith(".") for part in rel.parts):
            continue
        files.append(path)
    return files


def _split_flat(stem: str, names: list[str]) -> tuple[str, str | None]:
    """``<student_id>_<notebook>`` (with "Copy of"/"(1)" anywhere) -> (student_id, notebook)."""
    bare = NUMBERED_SUFFIX.sub("", stem.strip())
    for name in sorted(names, key=len, reverse=True):
        words = r"[ _-]+".join(re.escape(part) for part in re.split(r"[ _-]+", name))
        match = re.match(rf"^(.+?)[ _-]+(?:copy[ _]of[ _]+)*{words}$", bare, re.IGNORECASE)
        if match:
            return match.group(1), name
    student, _, rest = bare.partition("_")
    if rest and len(names) == 1:
        return student, None
    return bare, None


def collect(
    path: Path, assignment: str, names: list[str], workdir: Path | None = None
) -> list[Submission]:
    """Group the notebooks under ``path`` (folder or zip) by student.

    Args:
        path: the collected submissions.
        assignment: assignment id (a folder level with this name is skipped).
        names: the assignment's notebook names (without .ipynb).
        workdir: where to extract a zip (a temporary folder by default).
    Returns:
        one `Submission` per student, sorted by student id.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no submissions at {path}")
    if path.is_file():
        if path.suffix.lower() != ".zip":
            raise ValueError(f"{path}: expected a folder or a .zip of notebooks")
        root = _extract(path, Path(workdir or tempfile.mkdtemp(prefix="course-submissions-")))
    else:
        root = path
    by_student: dict[str, Submission] = {}
    for file in _notebook_files(root):
        parts = file.relative_to(root).parts
        if len(parts) >= 2:
            student = parts[0]
            name = match_notebook(file.stem, names)
            decorated = name is not None and file.stem != name
        else:
            student, name = _split_flat(file.stem, names)
            decorated = name is not None and not file.stem.endswith(f"_{name}")
        sid = _safe_student_id(student)
        sub = by_student.setdefault(sid, Submission(sid))
        if name is None and len(names) == 1:
            name = names[0]
            sub.problems.append(f"took {file.name!r} as {name}.ipynb")
        elif name is None:
            sub.problems.append(f"ignored {file.name!r}: not one of {', '.join(names)}")
            continue
        elif decorated:
            sub.problems.append(f"renamed {file.name!r} to {name}.ipynb")
        previous = sub.notebooks.get(name)
        if previous is not None:
            newer = max(previous, file, key=lambda p: p.stat().st_mtime)
            sub.problems.append(f"two files for {name}: graded {newer.name!r}")
            file = newer
        sub.notebooks[name] = file
    for sub in by_student.values():
        for name in names:
            if name not in sub.notebooks:
                sub.problems.append(f"missing notebook {name}.ipynb")
    return [by_student[k] for k in sorted(by_student)]

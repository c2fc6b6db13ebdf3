"""Where things are: the source notebooks and the nbgrader course root.

A `Course` pairs ``notebooks/`` (sources, one folder per assignment) with the nbgrader course
root (``grading/``, holding nbgrader_config.py). Commands find them from the current folder
upwards, so `course` works from anywhere inside the repository; ``--course-dir`` points
elsewhere (tests use a temporary copy so they never touch the real gradebook).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CONFIG_NAME = "nbgrader_config.py"
PACKAGE_ROOT = Path(__file__).resolve().parent
# The course root sits next to this package in the repository (an editable install).
REPO_ROOT = PACKAGE_ROOT.parent


@dataclass(frozen=True)
class Course:
    """The source notebooks folder and the nbgrader course root."""

    notebooks_dir: Path
    root: Path

    @property
    def source_dir(self) -> Path:
        return self.root / "source"

    @property
    def release_dir(self) -> Path:
        return self.root / "release"

    @property
    def submitted_dir(self) -> Path:
        return self.root / "submitted"

    @property
    def autograded_dir(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback_dir(self) -> Path:
        return self.root / "feedback"

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.gradebook}"

    def assignments(self) -> list[str]:
        """Assignment ids: the folders of ``notebooks/`` that hold at least one notebook."""
        if not self.notebooks_dir.is_dir():
            raise FileNotFoundError(f"no notebooks folder at {self.notebooks_dir}")
        return sorted(
            p.name
            for p in self.notebooks_dir.iterdir()
            if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb"))
        )

    def notebook_names(self, assignment: str) -> list[str]:
        """Notebook names (without .ipynb) of one assignment, sorted."""
        folder = self.notebooks_dir / assignment
        if not folder.is_dir():
            known = ", ".join(self.assignments()) or "none"
            raise ValueError(f"unknown assignment {assignment!r}; known assignments: {known}")
        return sorted(p.stem for p in folder.glob("*.ipynb"))

    def check_assignments(self, assignments: list[str]) -> list[str]:
        """Validate assignment ids (all of them when the list is empty)."""
        if not assignments:
            return self.assignments()
        for a in assignments:
            self.notebook_names(a)  # raises with the list of known ones
        return assignments


def find_course(course_dir: str | os.PathLike | None = None) -> Course:
    """Locate the course: ``course_dir`` (the nbgrader root), else $COURSE_DIR, else the nearest
    ``grading/nbgrader_config.py`` above the current folder, else the one next to this package
    (an editable install of the repository)."""
    if course_dir is None:
        course_dir = os.environ.get("COURSE_DIR")
    if course_dir is not None:
        root = Path(course_dir).expanduser().resolve()
        if not (root / CONFIG_NAME).is_file():
            raise FileNotFoundError(f"{root} has no {CONFIG_NAME}: not an nbgrader course root")
        notebooks = root / "notebooks"
        if not notebooks.is_dir():
            notebooks = root.parent / "notebooks"
        return Course(notebooks_dir=notebooks, root=root)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "grading" / CONFIG_NAME).is_file() and (folder / "notebooks").is_dir():
            return Course(notebooks_dir=folder / "notebooks", root=folder / "grading")
    if (REPO_ROOT / "grading" / CONFIG_NAME).is_file() and (REPO_ROOT / "notebooks").is_dir():
        return Course(notebooks_dir=REPO_ROOT / "notebooks", root=REPO_ROOT / "grading")
    raise FileNotFoundError(
        "cannot find the course: run `course` inside the repository, or pass --course-dir "
        "pointing at the folder that holds nbgrader_config.py"
    )

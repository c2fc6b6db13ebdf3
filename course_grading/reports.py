"""`course feedback` and `course grades`: per-student HTML feedback and the grade export.

Both delegate to nbgrader (generate_feedback, export with its CSV plugin) so the files are the
ones nbgrader users know; this module only checks the result and says where it went.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .paths import Course
from .runner import run_nbgrader

REQUIRED_COLUMNS = ("assignment", "student_id", "score", "max_score")


class ReportError(RuntimeError):
    """nbgrader could not write feedback or grades."""


def feedback(course: Course, assignment: str) -> list[Path]:
    """Write HTML feedback for every autograded submission; return the files."""
    course.notebook_names(assignment)  # unknown assignment -> clear error
    if not (course.autograded_dir).is_dir():
        raise ReportError(f"nothing autograded yet: run `course autograde {assignment} ...` first")
    result = run_nbgrader(course, "generate_feedback", assignment, "--force", timeout=1800)
    if not result.ok:
        raise ReportError("nbgrader generate_feedback failed: " + "; ".join(result.error_lines()))
    return sorted(course.feedback_dir.glob(f"*/{assignment}/*.html"))


def export_grades(course: Course, csv_path: Path) -> list[dict[str, str]]:
    """Export every grade in the gradebook to ``csv_path``; return the rows."""
    if not course.gradebook.exists():
        raise ReportError("no gradebook yet: run `course autograde` first")
    csv_path = Path(csv_path).resolve()
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    result = run_nbgrader(course, "export", f"--to={csv_path}", timeout=600)
    if not result.ok or not csv_path.exists():
        raise ReportError("nbgrader export failed: " + "; ".join(result.error_lines()))
    with csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    missing = [c for c in REQUIRED_COLUMNS if rows and c not in rows[0]]
    if missing:
        raise ReportError(f"the export lacks columns {missing}")
    return rows

"""`course feedback` and `course grades`: per-student HTML feedback and the grade export.

Both delegate to nbgrader (generate_feedback, export with its CSV plugin) so the files are the
ones nbgrader users know; this module only checks the result and says where it went.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .paths import Course
from .roster import Roster
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


LMS_FORMATS = ("canvas", "moodle")


def lms_table(
    rows: list[dict[str, str]], lms: str, roster: Roster | None = None
) -> tuple[list[str], list[list[str]]]:
    """The grade export pivoted into the import layout of an LMS gradebook.

    - ``canvas``: ``Student, ID, SIS User ID, SIS Login ID, Section, <assignment>...`` with a
      "Points Possible" row, as Canvas exports and re-imports its gradebook. ``ID`` is the
      Canvas user id: the roster's ``canvas_id``, else the course id when it is one (a
      Canvas export graded without a roster keys students by that id).
    - ``moodle``: ``Email address, ID number, Full name, <assignment>...``; map "Email address"
      (or "ID number") to the user field at import.
    Students of the roster without any grade appear with empty cells (Canvas and Moodle leave
    those grades untouched); use the 0 rows of `course autograde --roster` to record a 0.
    """
    if lms not in LMS_FORMATS:
        raise ValueError(f"unknown LMS {lms!r}; use one of {LMS_FORMATS}")
    assignments = sorted({r["assignment"] for r in rows})
    max_scores = {r["assignment"]: r["max_score"] for r in rows}
    scores: dict[str, dict[str, str]] = {}
    for r in rows:
        scores.setdefault(r["student_id"], {})[r["assignment"]] = r["score"]
    students = sorted(set(scores) | set(roster.students if roster else []))
    info = (lambda s: roster.columns.get(s, {})) if roster else (lambda s: {})
    if lms == "canvas":
        header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *assignments]
        table = [["Points Possible", "", "", "", "", *(max_scores[a] for a in assignments)]]
        for s in students:
            row = info(s)
            canvas_id = row.get("canvas_id") or (s if s.isdigit() else "")
            name = row.get("name") or s
            table.append(
                [name, canvas_id, row.get("sis_id", ""), row.get("email", "") or s, "",
                 *(scores.get(s, {}).get(a, "") for a in assignments)]
            )  # fmt: skip
    else:
        header = ["Email address", "ID number", "Full name", *assignments]
        table = [
            [info(s).get("email", ""), s, info(s).get("name", "") or s,
             *(scores.get(s, {}).get(a, "") for a in assignments)]
            for s in students
        ]  # fmt: skip
    return header, table


def write_lms_csv(path: Path, header: list[str], table: list[list[str]]) -> None:
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(table)

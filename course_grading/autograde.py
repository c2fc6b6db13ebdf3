"""`course autograde`: collect, sanitise and grade a batch of submissions with nbgrader.

Each student is graded by its own nbgrader process with a hard time limit, so a notebook that
kills its kernel, loops forever or is not a notebook at all costs only its own row. The result
is one row per student: score, max score, and every problem found along the way.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .notebooks import read_notebook, write_notebook
from .paths import Course
from .release import release
from .runner import RunResult, run_nbgrader
from .sanitize import SubmissionError, load_submission, sanitize
from .submissions import Submission, collect

DEFAULT_NOTEBOOK_TIMEOUT = 900  # seconds for one whole notebook (cells have their own limit)


@dataclass
class GradeRow:
    """One line of the autograde table."""

    student_id: str
    score: float = 0.0
    max_score: float = 0.0
    problems: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _ensure_released(course: Course, assignment: str) -> None:
    """Generate the assignment when the gradebook does not know it yet (first autograde)."""
    if course.gradebook.exists():
        with Gradebook(course.db_url) as gb:
            try:
                gb.find_assignment(assignment)
                if (course.release_dir / assignment).is_dir():
                    return
            except MissingEntry:
                pass
    release(course, [assignment])


def stage(course: Course, assignment: str, sub: Submission) -> list[str]:
    """Write one student's sanitised notebooks to ``submitted/``; return what was noted."""
    notes = list(sub.problems)
    folder = course.submitted_dir / sub.student_id / assignment
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, path in sub.notebooks.items():
        source_path = course.source_dir / assignment / f"{name}.ipynb"
        source = read_notebook(source_path) if source_path.exists() else None
        try:
            nb = load_submission(path)
        except SubmissionError as exc:
            notes.append(str(exc))
            continue
        nb, changes = sanitize(nb, source)
        notes.extend(changes)
        write_notebook(nb, folder / f"{name}.ipynb")
    return notes


def _explain(result: RunResult, timeout: float) -> list[str]:
    text = result.output
    problems = []
    if result.timed_out:
        problems.append(f"stopped after {timeout:.0f} s (whole-notebook time limit)")
    if "DeadKernelError" in text or "Kernel died" in text:
        problems.append("the kernel died while running the notebook (nothing could be graded)")
    if "CellTimeoutError" in text or "Cell execution timed out" in text:
        problems.append("a cell hit the per-cell time limit")
    if not result.ok and not problems:
        lines = result.error_lines()
        problems.append(lines[0] if lines else f"nbgrader exited with code {result.returncode}")
    return problems


def grade_student(course: Course, assignment: str, student_id: str, timeout: float) -> list[str]:
    """Autograde one staged student; retry once when another job held the gradebook lock."""
    for _attempt in range(3):
        result = run_nbgrader(
            course, "autograde", assignment, f"--student={student_id}", "--force", timeout=timeout
        )
        if "database is locked" not in result.output:
            break
    return _explain(result, timeout)


def _forget_submission(course: Course, assignment: str, student_id: str) -> None:
    """Record a student with nothing gradable: drop any earlier grade (a broken resubmission
    must not keep it) and make sure the student exists, so the grade export lists a 0."""
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_student(student_id)
        try:
            gb.remove_submission(assignment, student_id)
        except MissingEntry:
            pass


def read_scores(course: Course, assignment: str, student_id: str) -> tuple[float, float, list[str]]:
    """(score, max score, names of test cells that lost points) from the gradebook."""
    with Gradebook(course.db_url) as gb:
        max_score = float(gb.find_assignment(assignment).max_score)
        try:
            submission = gb.find_submission(assignment, student_id)
        except MissingEntry:
            return 0.0, max_score, []
        failed = [
            grade.name
            for notebook in submission.notebooks
            for grade in notebook.grades
            if grade.max_score and (grade.score or 0) < grade.max_score
        ]
        return float(submission.score), max_score, failed


def autograde(
    course: Course,
    assignment: str,
    submissions: Path,
    jobs: int = 1,
    notebook_timeout: float = DEFAULT_NOTEBOOK_TIMEOUT,
) -> list[GradeRow]:
    """Grade every submission of ``assignment`` found in ``submissions`` (folder or zip)."""
    names = course.notebook_names(assignment)
    _ensure_released(course, assignment)
    staging = course.root / ".unpacked" / assignment
    if staging.exists():
        shutil.rmtree(staging)
    subs = collect(Path(submissions), assignment, names, workdir=staging)
    rows = {
        sub.student_id: GradeRow(sub.student_id, problems=stage(course, assignment, sub))
        for sub in subs
    }
    timeout = notebook_timeout * len(names) + 60

    def work(student_id: str) -> None:
        folder = course.submitted_dir / student_id / assignment
        if not any(folder.glob("*.ipynb")):
            rows[student_id].problems.append("nothing gradable was submitted")
            _forget_submission(course, assignment, student_id)
            return
        rows[student_id].problems.extend(grade_student(course, assignment, student_id, timeout))

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(work, list(rows)))
    if staging.exists():
        shutil.rmtree(staging)
    for row in rows.values():
        row.score, row.max_score, row.failed = read_scores(course, assignment, row.student_id)
    return [rows[k] for k in sorted(rows)]


def format_table(rows: list[GradeRow]) -> str:
    """A plain-text table: student, score, max, failed tests and problems."""
    header = ("student", "score", "max", "notes")
    lines = []
    for row in rows:
        notes = list(row.problems)
        if row.failed:
            notes.append("lost points: " + ", ".join(row.failed))
        lines.append(
            (row.student_id, f"{row.score:g}", f"{row.max_score:g}", "; ".join(notes) or "-")
        )
    width = [max(len(r[i]) for r in [header, *lines]) for i in range(3)]
    out = [
        f"{header[0]:<{width[0]}}  {header[1]:>{width[1]}}  {header[2]:>{width[2]}}  {header[3]}"
    ]
    for r in lines:
        out.append(f"{r[0]:<{width[0]}}  {r[1]:>{width[1]}}  {r[2]:>{width[2]}}  {r[3]}")
    return "\n".join(out)

"""`course autograde`: collect, sanitise and grade a batch of submissions with nbgrader.

Each student is graded by its own nbgrader process with a hard time limit, so a notebook that
kills its kernel, loops forever or is not a notebook at all costs only its own row. The result
is one row per student: score, max score, and every problem found along the way.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from . import execute, limits, sandbox
from .notebooks import read_notebook, write_notebook
from .paths import Course
from .release import release
from .roster import Roster
from .runner import RunResult, kill_all, run_nbgrader
from .sanitize import SubmissionError, load_submission, sanitize
from .submissions import Collection, Submission, collect_export

GRADING_FAILED = "nbgrader could not finish grading this submission"
DEFAULT_NOTEBOOK_TIMEOUT = 900  # seconds for one whole notebook (cells have their own limit)


class BatchInterrupted(KeyboardInterrupt):
    """The instructor stopped the batch; ``rows`` says what was graded and what was not."""

    def __init__(self, rows: list[GradeRow]) -> None:
        super().__init__("autograding interrupted")
        self.rows = rows


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
    died_in = re.findall(rf"{execute.LOG_MARKER} (\d+) \(([^)]*)\)", text)
    for index, label in died_in:
        problems.append(f"the kernel died in cell {index} ({label}): graded without that cell")
    if not died_in and ("DeadKernelError" in text or "Kernel died" in text):
        problems.append("the kernel died while running the notebook (nothing could be graded)")
    if "CellTimeoutError" in text or "Cell execution timed out" in text:
        problems.append("a cell hit the per-cell time limit")
    elif "Timeout waiting for execute reply" in text:
        problems.append("a cell hit its time limit and was interrupted")
    if not result.ok and not problems:
        lines = result.error_lines()
        problems.append(lines[0] if lines else f"nbgrader exited with code {result.returncode}")
    return problems


def kernel_threads(jobs: int) -> int:
    """Threads per grading kernel: the cores shared among ``jobs`` kernels, never more than
    ``OMP_NUM_THREADS`` when the caller set it (e.g. a test runner whose workers already split
    the cores). More threads than cores makes torch's OpenMP spin-wait, ten times slower."""
    share = max(1, (os.cpu_count() or 1) // max(1, jobs))
    cap = os.environ.get("OMP_NUM_THREADS", "")
    return min(share, int(cap)) if cap.isdigit() and int(cap) > 0 else share


def grade_student(
    course: Course,
    assignment: str,
    student_id: str,
    timeout: float,
    sandboxed: bool = True,
    memory_mb: int = sandbox.DEFAULT_MEMORY_MB,
    cell_limits: Path | None = None,
    threads: int | None = None,
) -> list[str]:
    """Autograde one staged student (its kernel sandboxed); retry with backoff while another
    job holds the gradebook lock."""
    env: dict[str, str] = {limits.ENV_VAR: str(cell_limits)} if cell_limits else {}
    if threads is not None:  # parallel jobs share the cores instead of oversubscribing them
        env.update({v: str(threads) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    config: list[str] = []
    # short: Unix socket paths are limited to ~100 characters
    box = Path(tempfile.mkdtemp(prefix="course-sandbox-"))
    if sandboxed:
        box_env, config = sandbox.prepare(
            box, course.autograded_dir / student_id / assignment, memory_mb=memory_mb
        )
        env.update(box_env)
    try:
        for attempt in range(5):
            result = run_nbgrader(
                course,
                "autograde",
                assignment,
                f"--student={student_id}",
                "--force",
                timeout=timeout,
                env=env,
                config_args=config,
            )
            if "database is locked" not in result.output:
                break
            time.sleep(0.5 * 2**attempt + random.random())
    finally:
        shutil.rmtree(box, ignore_errors=True)
        if sandboxed:
            sandbox.remove_empty_cgroups()
    problems = _explain(result, timeout)
    if not result.ok:
        problems.append(GRADING_FAILED)
    if sandboxed and _raised(course.autograded_dir / student_id / assignment, "MemoryError"):
        problems.append(f"{sandbox.MEMORY_NOTE}: a cell asked for more than {memory_mb} MB")
    return problems


def _raised(folder: Path, ename: str) -> bool:
    """True when a cell of an autograded notebook in ``folder`` raised ``ename``."""
    for path in folder.glob("*.ipynb"):
        try:
            nb = read_notebook(path)
        except ValueError:
            continue
        for cell in nb.cells:
            if any(o.get("ename") == ename for o in cell.get("outputs", [])):
                return True
    return False


def _forget_submission(course: Course, assignment: str, student_id: str) -> None:
    """Record a student with nothing gradable: drop any earlier grade (a broken resubmission
    must not keep it) and make sure the student exists, so the grade export lists a 0."""
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_student(student_id)
        try:
            gb.remove_submission(assignment, student_id)
        except MissingEntry:
            pass


def _previous_score(course: Course, assignment: str, student_id: str) -> float | None:
    """The student's score from an earlier autograde, if the gradebook has one."""
    if not course.gradebook.exists():
        return None
    with Gradebook(course.db_url) as gb:
        try:
            return float(gb.find_submission(assignment, student_id).score)
        except MissingEntry:
            return None


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
    fmt: str = "auto",
    roster: Roster | None = None,
    report: list[Collection] | None = None,
    sandboxed: bool | None = None,
    calibrate: bool = True,
    calibration: limits.Calibration | None = None,
) -> list[GradeRow]:
    """Grade every submission of ``assignment`` found in ``submissions`` (folder or zip).

    Args:
        fmt: the export's layout ("auto" detects it; see `course_grading.lms`).
        roster: map export identifiers to course ids; roster students without a submission
            get a row (and a 0 in the gradebook) saying so; unmatched files are not graded.
        report: when given, the `Collection` (every file found, ignored, unmatched) is
            appended to it for the caller's summary.
        sandboxed: run each kernel in a sandbox (`course_grading.sandbox`). ``None``: sandbox,
            and raise `sandbox.SandboxUnavailable` when none can run here; ``False`` grades
            with the instructor's permissions (only for trusted notebooks).
        calibrate: per-cell time limits from the reference solution's times
            (`course_grading.limits`; measured once per version of the sources); the
            notebook limit is then the sum of the cell limits, else ``notebook_timeout``.
    Returns:
        one row per student, sorted by id. One student's failure of any kind is a note in
        that student's row; the batch always completes.
    """
    names = course.notebook_names(assignment)
    if sandboxed is None or sandboxed:
        reason = sandbox.unavailable_reason()
        if reason is not None:
            raise sandbox.SandboxUnavailable(reason)
        sandboxed = True
    _ensure_released(course, assignment)
    staging = course.root / ".unpacked" / assignment
    if staging.exists():
        shutil.rmtree(staging)
    found = collect_export(
        Path(submissions), assignment, names, workdir=staging, fmt=fmt, roster=roster
    )
    if report is not None:
        report.append(found)
    rows: dict[str, GradeRow] = {}
    for sub in found.submissions:
        try:
            rows[sub.student_id] = GradeRow(sub.student_id, problems=stage(course, assignment, sub))
        except Exception as exc:  # one student's files must not stop the batch
            rows[sub.student_id] = GradeRow(sub.student_id, problems=[f"not staged: {exc}"])
    for student_id in found.absent:
        rows[student_id] = GradeRow(student_id, problems=["no submission"])
    cell_limits, measured = (
        limits.calibrated(course, assignment, calibration or limits.Calibration())
        if calibrate
        else (None, None)
    )

    def run_limit(student_id: str) -> float:
        if measured is None:
            return notebook_timeout * len(names) + 60
        folder = course.submitted_dir / student_id / assignment
        submitted = []
        for path in folder.glob("*.ipynb"):
            try:
                submitted.append(read_notebook(path))
            except ValueError:
                pass
        return limits.notebook_timeout(measured, submitted) + 60

    def work(student_id: str) -> None:
        row = rows[student_id]
        try:
            folder = course.submitted_dir / student_id / assignment
            if not any(folder.glob("*.ipynb")):
                if "no submission" not in row.problems:
                    row.problems.append("nothing gradable was submitted")
                _forget_submission(course, assignment, student_id)
                return
            previous = _previous_score(course, assignment, student_id)
            row.problems.extend(
                grade_student(
                    course,
                    assignment,
                    student_id,
                    run_limit(student_id),
                    sandboxed,
                    cell_limits=cell_limits,
                    threads=kernel_threads(jobs),
                )
            )
            if GRADING_FAILED in row.problems:
                # never let an earlier submission's grade stand in silently for this one
                _forget_submission(course, assignment, student_id)
                if previous is not None:
                    row.problems.append(
                        f"the earlier grade ({previous:g}) was removed; this submission scores 0 "
                        "until it is graded again"
                    )
        except Exception as exc:
            row.problems.append(f"grading failed: {type(exc).__name__}: {exc}")

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    futures = {pool.submit(work, sid): sid for sid in rows}
    interrupted = False
    try:
        for future in futures:
            future.result()
    except KeyboardInterrupt:
        # stop promptly: nothing new starts, every running nbgrader (and its kernel) is killed
        interrupted = True
        for future, sid in futures.items():
            if future.cancel():
                rows[sid].problems.append("not graded: the batch was interrupted")
            elif not future.done():
                rows[sid].problems.append("stopped: the batch was interrupted")
        kill_all()
    finally:
        pool.shutdown(wait=True)
    if staging.exists():
        shutil.rmtree(staging)
    for row in rows.values():
        try:
            row.score, row.max_score, row.failed = read_scores(course, assignment, row.student_id)
        except Exception as exc:
            row.problems.append(f"score not read from the gradebook: {exc}")
    result = [rows[k] for k in sorted(rows)]
    if interrupted:
        raise BatchInterrupted(result)
    return result


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

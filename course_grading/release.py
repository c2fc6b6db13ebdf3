"""`course release`: student versions of the source notebooks, through nbgrader.

For each assignment: copy ``notebooks/<assignment>/`` into the course root's ``source/``,
optionally stamp the Colab badge and install cell, run ``nbgrader generate_assignment``, and
verify that no solution code or hidden test text reached the student version.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode

from . import colab
from .notebooks import (
    HIDDEN_BEGIN,
    SOLUTION_BEGIN,
    SOLUTION_END,
    grade_id,
    is_solution_cell,
    read_notebook,
    write_notebook,
)
from .paths import Course
from .runner import run_nbgrader
from .workspace import record_release, release_edits, work_dir

IGNORED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc", ".DS_Store")


class ReleaseError(RuntimeError):
    """nbgrader could not generate an assignment, or the student version leaks answers."""


@dataclass
class Released:
    assignment: str
    notebooks: list[Path] = field(default_factory=list)


def split_solution(cell: NotebookNode) -> tuple[list[str], list[str]]:
    """Lines of a solution cell (inside the solution markers, outside them); markers dropped."""
    inside_lines: list[str] = []
    outside_lines: list[str] = []
    inside = False
    for line in cell.source.splitlines():
        if SOLUTION_BEGIN in line:
            inside = True
        elif SOLUTION_END in line:
            inside = False
        else:
            (inside_lines if inside else outside_lines).append(line)
    return inside_lines, outside_lines


def solution_lines(cell: NotebookNode) -> list[str]:
    """The non-trivial answer lines of a solution cell (what must never reach students)."""
    answer, _ = split_solution(cell)
    return [s for s in (line.strip() for line in answer) if len(s) > 12 and not s.startswith("#")]


def leaks(source: NotebookNode, released: NotebookNode) -> list[str]:
    """Every answer or hidden test that made it into ``released`` (empty when clean)."""
    problems = []
    by_id = {grade_id(c): c for c in released.cells if grade_id(c)}
    text = "\n".join(c.source for c in released.cells)
    for marker in (SOLUTION_BEGIN, HIDDEN_BEGIN, "### END HIDDEN TESTS"):
        if marker in text:
            problems.append(f"marker {marker!r} left in the student version")
    for cell in source.cells:
        if not is_solution_cell(cell):
            continue
        student_cell = by_id.get(grade_id(cell))
        if student_cell is None:
            problems.append(f"solution cell {grade_id(cell)!r} missing from the student version")
            continue
        visible = "\n".join(split_solution(cell)[1])  # students see these lines anyway
        for line in solution_lines(cell):
            if line in student_cell.source and line not in visible:
                problems.append(f"solution line leaked in {grade_id(cell)!r}: {line!r}")
    return problems


def prepare_source(
    course: Course,
    assignment: str,
    repo_url: str | None = None,
    ref: str | None = None,
    release_prefix: str = "grading/release",
) -> list[Path]:
    """Copy one assignment's sources into ``source/`` (stamped for Colab when a repo is given)."""
    src = course.notebooks_dir / assignment
    dest = course.source_dir / assignment
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=IGNORED)
    notebooks = sorted(dest.glob("*.ipynb"))
    if repo_url:
        for path in notebooks:
            nb = read_notebook(path)
            path_in_repo = f"{release_prefix.strip('/')}/{assignment}/{path.name}"
            write_notebook(colab.stamp(nb, repo_url, ref or "main", path_in_repo), path)
    return notebooks


def release(
    course: Course,
    assignments: list[str],
    repo_url: str | None = None,
    ref: str | None = None,
    release_prefix: str = "grading/release",
    force: bool = False,
) -> list[Released]:
    """Generate the student version of each assignment and check it leaks nothing.

    A release folder holding files changed since the last release (a student's edits) is not
    overwritten unless ``force``: nothing is released and the error names the files.

    Raises:
        ReleaseError: nbgrader failed (its error lines are in the message), a leak was found, or
            a release folder holds edits newer than the last release.
    """
    if repo_url:
        colab.parse_github_url(repo_url)  # fail before doing any work
    assignments = course.check_assignments(assignments)
    edited = [path for a in assignments for path in release_edits(course, a)]
    if edited and not force:
        listing = "\n".join(f"  {path}" for path in edited)
        raise ReleaseError(
            f"not releasing: {len(edited)} file(s) in the release folder changed since the last "
            f"release, and a new release would overwrite them:\n{listing}\n"
            f"Students work in their own copies under {work_dir(course)}/: `course start "
            "--rescue` copies these files there first. To overwrite them anyway, run "
            "`course release --force`."
        )
    done = []
    for assignment in assignments:
        sources = prepare_source(course, assignment, repo_url, ref, release_prefix)
        result = run_nbgrader(course, "generate_assignment", assignment, "--force", timeout=600)
        if not result.ok:
            detail = "\n".join(result.error_lines()) or result.output[-2000:]
            raise ReleaseError(f"nbgrader could not release {assignment}:\n{detail}")
        released = Released(assignment)
        for source_path in sources:
            student_path = course.release_dir / assignment / source_path.name
            problems = leaks(read_notebook(source_path), read_notebook(student_path))
            if problems:
                raise ReleaseError(f"{student_path}: " + "; ".join(problems))
            released.notebooks.append(student_path)
        record_release(course, assignment)
        done.append(released)
    return done

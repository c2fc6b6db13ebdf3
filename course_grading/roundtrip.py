"""`course roundtrip`: prove an assignment grades correctly, in a throwaway course root.

Releases the assignment, checks the student version leaks no answers, then autogrades three
submissions: the source notebook as-is (must score full marks and run without errors), the
blank student version (must score zero, and no cell but the check cells may raise: that is
Run All reaching the last cell with no exercise written), a "messy" complete submission
(Colab widget metadata, a "Copy of … (1)" file name, a deleted test cell, a duplicated answer
cell: must still score full marks) and, optionally, the source of one notebook with one exercise
blanked, handed in alone (must score that notebook's points minus exactly that exercise's).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode

from .autograde import GradeRow, autograde
from .notebooks import (
    grade_id,
    is_test_cell,
    points_by_test,
    read_notebook,
    write_notebook,
    write_unvalidated,
)
from .paths import CONFIG_NAME, Course
from .release import release
from .variants import blank_exercise, messy


@dataclass
class RoundTrip:
    """Outcome of one round trip; `problems` is empty when everything held."""

    assignment: str
    max_score: float
    scores: dict[str, float]
    expected: dict[str, float]
    source_errors: list[str] = field(default_factory=list)
    blank_errors: list[str] = field(default_factory=list)
    rows: list[GradeRow] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = [
            f"{who} scored {self.scores.get(who, 0.0):g}, expected {want:g}"
            for who, want in self.expected.items()
            if abs(self.scores.get(who, 0.0) - want) > 1e-9
        ]
        return (
            found
            + [f"source notebook error: {e}" for e in self.source_errors]
            + [
                f"blank student version: {e} outside a check cell (Run All would stop there; "
                "wrap the cell's use of exercises in `with needs(...)`)"
                for e in self.blank_errors
            ]
        )


def temp_course(course: Course, assignments: list[str], workdir: Path) -> Course:
    """A copy of the course (config + the named assignments' sources) under ``workdir``."""
    root = workdir / "grading"
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(course.root / CONFIG_NAME, root / CONFIG_NAME)
    for assignment in assignments:
        dest = workdir / "notebooks" / assignment
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(course.notebooks_dir / assignment, dest)
    return Course(notebooks_dir=workdir / "notebooks", root=root)


def error_cells(nb: NotebookNode, name: str, skip_tests: bool = False) -> list[str]:
    """Every cell of an executed notebook that raised, as ``name: cell i (id): Error: msg``
    (``skip_tests``: except the autograded test cells)."""
    found = []
    for index, cell in enumerate(nb.cells):
        if skip_tests and is_test_cell(cell):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                label = grade_id(cell) or "no id"
                found.append(
                    f"{name}: cell {index} ({label}) {output.ename}: {output.evalue[:200]}"
                )
    return found


def roundtrip(
    course: Course,
    assignment: str,
    workdir: Path,
    wrong: tuple[str, str, list[str]] | None = None,
    jobs: int = 1,
    messy_copy: bool = True,
    calibrate: bool = True,
) -> RoundTrip:
    """Run the round trip of ``assignment`` inside ``workdir``.

    Args:
        wrong: ``(notebook, exercise grade_id, test grade_ids that must fail)``: that notebook,
            complete but for that exercise, is handed in alone; it must score its own points
            minus exactly those tests' points (the assignment's other notebooks score 0).
        messy_copy: also grade the Colab-damaged complete copy (the sanitiser's repairs).
        calibrate: grade under per-cell limits calibrated on the source (as autograde does).
    """
    tc = temp_course(course, [assignment], Path(workdir))
    release(tc, [assignment])
    names = tc.notebook_names(assignment)
    subs = Path(workdir) / "submissions"
    points: dict[str, float] = {}
    for name in names:
        source = read_notebook(tc.notebooks_dir / assignment / f"{name}.ipynb")
        notebook_points = points_by_test(source)
        points.update(notebook_points)
        for who in ("source", "blank", "wrong", "messy"):
            (subs / who).mkdir(parents=True, exist_ok=True)
        write_notebook(source, subs / "source" / f"{name}.ipynb")
        if messy_copy:
            write_unvalidated(messy(source), subs / "messy" / f"Copy of {name} (1).ipynb")
        shutil.copy(tc.release_dir / assignment / f"{name}.ipynb", subs / "blank" / f"{name}.ipynb")
        if wrong is not None and wrong[0] == name:
            # the other notebooks stay out of this submission (they score 0): grading them
            # again would only repeat the source's run
            write_notebook(blank_exercise(source, wrong[1]), subs / "wrong" / f"{name}.ipynb")
            wrong_notebook_points = sum(notebook_points.values())
    if wrong is None:
        shutil.rmtree(subs / "wrong")
    if not messy_copy:
        shutil.rmtree(subs / "messy")
    full = sum(points.values())
    expected = {"source": full, "blank": 0.0}
    if messy_copy:
        expected["messy"] = full
    if wrong is not None:
        unknown = [t for t in wrong[2] if t not in points]
        if unknown:
            raise ValueError(f"unknown test cells {unknown}; known: {sorted(points)}")
        if wrong[0] not in names:
            raise ValueError(f"{assignment} has no notebook {wrong[0]!r}; it has {names}")
        expected["wrong"] = wrong_notebook_points - sum(points[t] for t in wrong[2])
    rows = autograde(tc, assignment, subs, jobs=jobs, calibrate=calibrate)
    errors, blank_errors = [], []
    for name in names:
        graded = tc.autograded_dir / "source" / assignment / f"{name}.ipynb"
        if graded.exists():
            errors += error_cells(read_notebook(graded), name)
        else:
            errors.append(f"{name}: the source notebook was not autograded")
        graded_blank = tc.autograded_dir / "blank" / assignment / f"{name}.ipynb"
        if graded_blank.exists():
            blank_errors += error_cells(read_notebook(graded_blank), name, skip_tests=True)
        else:
            blank_errors.append(f"{name}: not autograded")
    return RoundTrip(
        assignment=assignment,
        max_score=full,
        scores={row.student_id: row.score for row in rows},
        expected=expected,
        source_errors=errors,
        blank_errors=blank_errors,
        rows=rows,
    )

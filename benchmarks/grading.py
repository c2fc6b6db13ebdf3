"""Autograding costs, measured side by side: the sandbox's overhead, and parallel jobs.

1. Sandbox overhead: one complete submission graded with and without the bubblewrap sandbox,
   alternately ``--repeats`` times; the ratio of medians (goal <= 1.15).
2. An endless loop: one submission with the first exercise blank, graded alone with and
   without an endless loop in that exercise's cell; the time the loop added, next to the
   cell's calibrated limit (goal: no more than it).
3. Parallel jobs: a class of ``--class-size`` generated submissions (complete, blank, one
   exercise wrong, one looping exercise, broken JSON, in turn) graded with ``--jobs 2`` and
   ``--jobs 1``; the speed-up (goal >= 1.6 on 2 cores).

Each run grades in a throwaway copy of the course, so the real gradebook is never touched.

    .venv/bin/python benchmarks/grading.py [--assignment 05_detection_basics] [--class-size 60]
    .venv/bin/python benchmarks/grading.py --sample      # the tests' two-exercise notebook
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from course_grading.autograde import autograde
from course_grading.limits import calibrated
from course_grading.notebooks import grade_id, is_solution_cell, read_notebook, write_notebook
from course_grading.paths import CONFIG_NAME, Course, find_course
from course_grading.release import release
from course_grading.roundtrip import temp_course
from course_grading.variants import blank_exercise

REPO = Path(__file__).resolve().parents[1]


def sample_course(work: Path) -> tuple[Course, str]:
    root = work / "grading"
    root.mkdir(parents=True)
    shutil.copy(REPO / "grading" / CONFIG_NAME, root / CONFIG_NAME)
    shutil.copytree(REPO / "tests" / "fixtures" / "notebooks", work / "notebooks")
    return Course(notebooks_dir=work / "notebooks", root=root), "sample_assignment"


KINDS = ("complete", "blank", "wrong", "looping", "broken")


def make_class(
    course: Course, assignment: str, out: Path, size: int, kinds: tuple[str, ...] = KINDS
) -> tuple[int, str]:
    """``size`` students cycling through ``kinds`` of submission ("wrong": the first exercise
    left blank; "looping": the same plus an endless loop in that exercise's cell); returns how
    many loop, and the grade id of that exercise."""
    names = course.notebook_names(assignment)
    sources = {n: read_notebook(course.notebooks_dir / assignment / f"{n}.ipynb") for n in names}
    released = {n: read_notebook(course.release_dir / assignment / f"{n}.ipynb") for n in names}
    first = names[0]
    exercise = next(grade_id(c) for c in sources[first].cells if is_solution_cell(c))
    looping = 0
    for i in range(size):
        kind = kinds[i % len(kinds)]
        folder = out / f"student{i:03d}"
        folder.mkdir(parents=True)
        for name in names:
            nb = released[name] if kind == "blank" else sources[name]
            if name == first and kind in ("wrong", "looping"):
                nb = blank_exercise(nb, exercise)
                if kind == "looping":
                    for cell in nb.cells:
                        if grade_id(cell) == exercise:
                            cell.source += "\nwhile True:\n    pass"
            if kind == "broken" and name == first:
                (folder / f"{name}.ipynb").write_text("{not json")
            else:
                write_notebook(nb, folder / f"{name}.ipynb")
        looping += kind == "looping"
    return looping, exercise


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def endless_loop_cost(course: Course, assignment: str, work: Path, limits: dict) -> str:
    """One submission (first exercise blank) graded alone with and without an endless loop in
    that exercise's cell: the line saying what the loop added against the cell's limit."""
    cost = {}
    for kind in ("wrong", "looping"):
        _, exercise = make_class(course, assignment, work / kind, 1, kinds=(kind,))
        cost[kind] = timed(lambda k=kind: autograde(course, assignment, work / k))
    limit = limits["cells"][f"id:{exercise}"]
    added = cost["looping"] - cost["wrong"]
    return (
        f"an endless loop in {exercise}: {cost['looping']:.1f} s against {cost['wrong']:.1f} s "
        f"without it, +{added:.1f} s for a cell limit of {limit:.0f} s "
        f"({'within' if added <= limit else 'ABOVE'} the limit)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="05_detection_basics")
    parser.add_argument("--sample", action="store_true", help="grade the tests' sample notebook")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--class-size", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        work = Path(tmp)
        if args.sample:
            course, assignment = sample_course(work / "course")
        else:
            assignment = args.assignment
            course = temp_course(find_course(REPO / "grading"), [assignment], work / "course")
        release(course, [assignment])
        _path, limits = calibrated(course, assignment)
        one = work / "one"
        make_class(course, assignment, one, 1)
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.repeats):
            for sandboxed in (True, False):
                times[sandboxed].append(
                    timed(lambda s=sandboxed: autograde(course, assignment, one, sandboxed=s))
                )
        with_box, without = statistics.median(times[True]), statistics.median(times[False])
        print(f"assignment {assignment}: one complete submission, median of {args.repeats}")
        print(f"  sandbox {with_box:.1f} s, no sandbox {without:.1f} s")
        ratio = with_box / without
        print(
            f"sandbox / no sandbox: {ratio:.3f}  (goal <= 1.15: {'met' if ratio <= 1.15 else 'NOT met'})"
        )

        print(endless_loop_cost(course, assignment, work, limits))

        klass = work / "class"
        looping, _ = make_class(course, assignment, klass, args.class_size)
        serial = timed(lambda: autograde(course, assignment, klass, jobs=1))
        parallel = timed(lambda: autograde(course, assignment, klass, jobs=2))
        speedup = serial / parallel
        loop_limit = max(limits["cells"].values())
        print(
            f"class of {args.class_size} ({looping} looping): --jobs 1 {serial:.1f} s, --jobs 2 {parallel:.1f} s"
        )
        print(
            f"  each looping submission may add at most {loop_limit:.0f} s (its largest cell limit)"
        )
        print(
            f"jobs 2 / jobs 1 speed-up: {speedup:.2f}x  (goal >= 1.6: {'met' if speedup >= 1.6 else 'NOT met'})"
        )


if __name__ == "__main__":
    sys.exit(main())

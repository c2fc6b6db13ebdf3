"""Wall-clock cost of the course on this machine: each notebook in FAST mode, and autograding.

Prints, per source notebook, the median time to execute it top to bottom in FAST mode (nbclient,
a fresh kernel each run), then the median time to autograde one complete submission of an
assignment through `course autograde` (release excluded). Medians of ``--repeat`` runs.

    python benchmarks/notebook_times.py --repeat 3
    python benchmarks/notebook_times.py --only 02_convolutions --repeat 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from course_grading.autograde import autograde  # noqa: E402
from course_grading.paths import find_course  # noqa: E402
from course_grading.release import release  # noqa: E402
from course_grading.roundtrip import temp_course  # noqa: E402


def execute_seconds(path: Path) -> float:
    nb = nbformat.read(str(path), as_version=4)
    with tempfile.TemporaryDirectory() as cwd:
        start = time.perf_counter()
        NotebookClient(
            nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": cwd}}
        ).execute()
        return time.perf_counter() - start


def autograde_seconds(assignment: str, workdir: Path) -> float:
    course = temp_course(find_course(REPO / "grading"), [assignment], workdir)
    release(course, [assignment])
    subs = workdir / "submissions" / "student"
    subs.mkdir(parents=True)
    for path in (course.notebooks_dir / assignment).glob("*.ipynb"):
        shutil.copy(path, subs / path.name)
    start = time.perf_counter()
    [row] = autograde(course, assignment, workdir / "submissions")
    elapsed = time.perf_counter() - start
    if row.score != row.max_score:
        raise SystemExit(f"{assignment}: the source scored {row.score}/{row.max_score}: {row}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="assignment ids (default: all)")
    args = parser.parse_args()
    os.environ["COURSE_FAST"] = "1"
    os.environ["COURSE_STATIC_WIDGETS"] = "1"  # headless: live widgets can stall nbclient
    os.environ.setdefault("MPLBACKEND", "Agg")
    notebooks = sorted((REPO / "notebooks").glob("*/*.ipynb"))
    if args.only:
        notebooks = [p for p in notebooks if p.parent.name in args.only]
    print(f"{'notebook (FAST mode)':<48} {'median s':>9}  runs")
    for path in notebooks:
        runs = [execute_seconds(path) for _ in range(args.repeat)]
        label = f"{path.parent.name}/{path.name}"
        print(f"{label:<48} {statistics.median(runs):9.1f}  {', '.join(f'{r:.1f}' for r in runs)}")
    assignments = sorted({p.parent.name for p in notebooks if not p.parent.name.startswith("00_")})
    print(f"\n{'autograde one complete submission':<48} {'median s':>9}  runs")
    for assignment in assignments:
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(autograde_seconds(assignment, Path(tmp)))
        print(
            f"{assignment:<48} {statistics.median(runs):9.1f}  {', '.join(f'{r:.1f}' for r in runs)}"
        )


if __name__ == "__main__":
    main()

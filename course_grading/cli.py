"""The `course` command: environment report, notebook hygiene, release, autograde, feedback, grades.

Run `course --help` or `course COMMAND --help`. Every command finds the course from the current
folder (see course_grading/paths.py) or from ``--course-dir``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .paths import find_course


def _cmd_doctor(args: argparse.Namespace) -> int:
    from course_utils.env import doctor

    return 0 if doctor() else 1


def _source_notebooks(args: argparse.Namespace) -> list[Path]:
    if args.paths:
        return [Path(p) for p in args.paths]
    course = find_course(args.course_dir)
    return sorted(course.notebooks_dir.glob("*/*.ipynb"))


def _cmd_normalize(args: argparse.Namespace) -> int:
    from .notebooks import normalize_file

    for path in _source_notebooks(args):
        if normalize_file(path):
            print(f"normalised {path}")
    return 0


def _cmd_check_notebooks(args: argparse.Namespace) -> int:
    from .notebooks import check_notebook, read_notebook

    failures = 0
    for path in _source_notebooks(args):
        try:
            nb = read_notebook(path)
        except ValueError as exc:
            print(exc)
            failures += 1
            continue
        graded = not path.parent.name.startswith("00_")
        for problem in check_notebook(nb, graded=graded):
            print(f"{path}: {problem}")
            failures += 1
    if failures:
        print(f"{failures} problem(s); see CONTRIBUTING.md for the notebook conventions")
        return 1
    print("all source notebooks follow the conventions")
    return 0


def _cmd_release(args: argparse.Namespace) -> int:
    from .release import release

    course = find_course(args.course_dir)
    if args.ref and not args.repo_url:
        raise ValueError("--ref needs --repo-url")
    for done in release(
        course, args.assignments, args.repo_url, args.ref, args.release_prefix, force=args.force
    ):
        for path in done.notebooks:
            print(f"released {path}")
    if args.repo_url:
        print(
            f"Colab badges point at {args.repo_url} @ {args.ref or 'main'} under "
            f"{args.release_prefix}/: publish that folder there (see README, instructor guide)."
        )
    return 0


def _cmd_start(args: argparse.Namespace) -> int:
    from .workspace import start, work_dir

    course = find_course(args.course_dir)
    report = start(course, args.assignments, rescue=args.rescue)
    for path in report.copied:
        print(f"{'rescued' if args.rescue else 'new'} {path}")
    if not args.rescue:
        print(
            f"{len(report.copied)} new file(s); {len(report.kept)} already in "
            f"{work_dir(course)} left as they are"
        )
    for path in report.updatable:
        print(
            f"a newer release of {path.parent.name}/{path.name} exists: "
            f"`course update {path.parent.name} {path.stem}` brings it in and keeps your answers"
        )
    return 0


def _cmd_update(args: argparse.Namespace) -> int:
    from .workspace import update

    course = find_course(args.course_dir)
    for report in update(course, args.assignment, args.notebooks, beside=args.beside):
        name = report.notebook.name
        if report.unchanged:
            print(f"{name}: already the current release")
            continue
        if report.beside:
            print(f"{name}: new version written beside it as {report.beside.name}")
        else:
            print(
                f"{name}: updated to the current release; previous file kept as "
                f"{report.backup.name}"
            )
        print(f"  your answers kept: {', '.join(report.answers_kept) or 'none yet'}")
        if report.answers_orphaned:
            print(
                f"  answers to exercises the new version no longer has (in the old file): "
                f"{', '.join(report.answers_orphaned)}"
            )
        if report.own_cells:
            print(f"  {report.own_cells} cell(s) you added are in the old file only")
    return 0


def _cmd_autograde(args: argparse.Namespace) -> int:
    from .autograde import autograde, format_table
    from .roster import Roster

    course = find_course(args.course_dir)
    roster = Roster.read(args.roster) if args.roster else None
    from .autograde import BatchInterrupted
    from .limits import Calibration

    report: list = []
    try:
        rows = autograde(
            course,
            args.assignment,
            Path(args.submissions),
            jobs=args.jobs,
            notebook_timeout=args.timeout,
            fmt=args.format,
            roster=roster,
            report=report,
            sandboxed=False if args.no_sandbox else None,
            calibrate=not args.flat_limits,
            calibration=Calibration(floor=args.limit_floor, multiple=args.limit_multiple),
        )
    except BatchInterrupted as stop:
        print(format_table(stop.rows))
        print("interrupted: the rows above say which students were not graded")
        return 130
    if args.no_sandbox:
        print("WARNING: graded without a sandbox: student code ran with your permissions")
    print(format_table(rows))
    for collection in report:
        print(collection.summary())
    return 0


def _cmd_feedback(args: argparse.Namespace) -> int:
    from .reports import feedback

    course = find_course(args.course_dir)
    files = feedback(course, args.assignment)
    for path in files:
        print(f"feedback {path}")
    print(f"{len(files)} feedback file(s) in {course.feedback_dir}")
    return 0


def _cmd_grades(args: argparse.Namespace) -> int:
    from .reports import export_grades

    course = find_course(args.course_dir)
    target = Path(args.csv) if args.csv else course.root / "grades.csv"
    rows = export_grades(course, target)
    for row in rows:
        print(
            f"{row['assignment']:<24} {row['student_id']:<20} {row['score']:>8} / {row['max_score']}"
        )
    print(f"{len(rows)} grade(s) written to {target}")
    if args.lms:
        from .reports import lms_table, write_lms_csv
        from .roster import Roster

        roster = Roster.read(args.roster) if args.roster else None
        header, table = lms_table(rows, args.lms, roster)
        lms_path = target.with_name(f"{target.stem}_{args.lms}.csv")
        write_lms_csv(lms_path, header, table)
        print(f"{args.lms} gradebook import file: {lms_path}")
    return 0


def _cmd_roundtrip(args: argparse.Namespace) -> int:
    import tempfile

    from .roundtrip import roundtrip

    course = find_course(args.course_dir)
    wrong = None
    if args.wrong:
        notebook, _, exercise = args.wrong.partition(":")
        if not exercise:
            raise ValueError("--wrong takes NOTEBOOK:EXERCISE (the exercise's grade_id)")
        wrong = (notebook, exercise, [f"test_{exercise}"])
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="course-roundtrip-"))
    result = roundtrip(course, args.assignment, workdir, wrong=wrong, jobs=args.jobs)
    for who, score in sorted(result.scores.items()):
        want = result.expected.get(who)
        print(
            f"{who:<8} {score:g} / {result.max_score:g}"
            + (f"  (expected {want:g})" if want is not None else "")
        )
    for problem in result.problems:
        print(f"PROBLEM: {problem}")
    print(f"work folder: {workdir}")
    return 1 if result.problems else 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import make_demo_submissions

    course = find_course(args.course_dir)
    cases = make_demo_submissions(course, args.assignment, Path(args.out), args.exercise)
    for student, what in cases.items():
        print(f"{student:<6} {what}")
    print(f"demo submissions written to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course", description="Deep Vision course tooling for students and instructors."
    )
    parser.add_argument(
        "--course-dir", help="nbgrader course root (default: grading/ of this repository)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help: str):
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(handler=handler)
        return p

    add("doctor", _cmd_doctor, "print an environment report and what to fix")
    for name, handler, text in (
        ("normalize", _cmd_normalize, "strip outputs and editor metadata from source notebooks"),
        ("check-notebooks", _cmd_check_notebooks, "check source notebooks against the conventions"),
    ):
        p = add(name, handler, text)
        p.add_argument("paths", nargs="*", help="notebooks (default: every source notebook)")

    p = add("release", _cmd_release, "build the student versions (nbgrader generate_assignment)")
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.add_argument("--repo-url", help="GitHub repository the release is published in (Colab badge)")
    p.add_argument("--ref", help="branch or tag of that repository (default: main)")
    p.add_argument(
        "--release-prefix",
        default="grading/release",
        help="folder of the student versions inside that repository (default: grading/release)",
    )

    p.add_argument(
        "--force",
        action="store_true",
        help="overwrite release folders even when they hold edits made since the last release",
    )

    p = add(
        "start",
        _cmd_start,
        "copy released notebooks into your own work/ folder (never replaces a file there)",
    )
    p.add_argument("assignments", nargs="*", help="assignment ids (default: every released one)")
    p.add_argument(
        "--rescue",
        action="store_true",
        help="copy only release files edited since their release (before re-releasing)",
    )

    p = add(
        "update",
        _cmd_update,
        "bring your started notebooks up to the current release, keeping your answers",
    )
    p.add_argument("assignment")
    p.add_argument("notebooks", nargs="*", help="notebook names (default: all of the assignment)")
    p.add_argument(
        "--beside",
        action="store_true",
        help="write the new version as NAME.new.ipynb next to yours instead of replacing it",
    )

    p = add("autograde", _cmd_autograde, "sanitise and autograde submissions, print a table")
    p.add_argument("assignment")
    p.add_argument("--submissions", required=True, help="folder or .zip of submitted notebooks")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    p.add_argument(
        "--format",
        default="auto",
        choices=["auto", "canvas", "moodle", "blackboard", "gradescope", "folders", "flat"],
        help="layout of the export (default: detected, and printed in the summary)",
    )
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run student code without the bubblewrap sandbox (trusted notebooks only)",
    )
    p.add_argument(
        "--roster",
        help="CSV with student_id and any of email, name, sis_id, canvas_id, moodle_id, "
        "blackboard_username, gradescope_sid: maps the export's ids to course ids",
    )
    p.add_argument(
        "--limit-floor",
        type=float,
        default=10.0,
        help="per-cell limit: seconds on top of the scaled reference time (default 10)",
    )
    p.add_argument(
        "--limit-multiple",
        type=float,
        default=10.0,
        help="per-cell limit: multiple of the reference solution's time (default 10)",
    )
    p.add_argument(
        "--flat-limits",
        action="store_true",
        help="no calibration: 300 s per cell and --timeout per notebook",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=900,
        help="seconds allowed per notebook with --flat-limits (default 900)",
    )

    p = add("feedback", _cmd_feedback, "write per-student HTML feedback")
    p.add_argument("assignment")

    p = add("grades", _cmd_grades, "export every grade to CSV and print them")
    p.add_argument("--csv", help="output file (default: grading/grades.csv)")
    p.add_argument(
        "--lms",
        choices=["canvas", "moodle"],
        help="also write <csv>_<lms>.csv in the layout that LMS's gradebook imports",
    )
    p.add_argument("--roster", help="roster CSV (canvas_id, email, name columns for --lms)")

    p = add(
        "roundtrip",
        _cmd_roundtrip,
        "release + autograde source and blank versions in a temp course",
    )
    p.add_argument("assignment")
    p.add_argument("--wrong", help="NOTEBOOK:EXERCISE to blank in a third submission")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--keep", help="work folder to keep (default: a new temporary folder)")

    p = add("demo-submissions", _cmd_demo, "write a batch of demo submissions for an assignment")
    p.add_argument("assignment")
    p.add_argument("--out", required=True, help="folder to write them to")
    p.add_argument("--exercise", help="grade_id of the exercise carol leaves blank")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"course {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

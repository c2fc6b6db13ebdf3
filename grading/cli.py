"""The `course` command: environment report, notebook hygiene, release, autograde, feedback, grades.

Run `course --help` or `course COMMAND --help`. Every command finds the course from the current
folder (see grading/paths.py) or from ``--course-dir``.
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (FileNotFoundError, ValueError) as exc:
        print(f"course {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Time limits per cell, calibrated on the reference solution.

Before an assignment's first autograde (and again whenever its source notebooks change) the
source notebooks run once in FAST mode; each cell's time gives its limit:

    limit = floor + multiple * reference time        (defaults: 10 s + 10 x)

so an infinite loop in one exercise costs that exercise within seconds, not the 300 s of a
blanket per-cell limit. Cells a student added get ``student_cell`` seconds. A notebook's own
limit is the sum of its cells' limits plus a margin, so it is always above them.

nbgrader applies the limits through ``Execute.timeout_func`` (grading/nbgrader_config.py),
which reads the file named by ``$COURSE_CELL_LIMITS``; without it every cell keeps the
configured ``Execute.timeout``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nbformat import NotebookNode

from .notebooks import grade_id, read_notebook
from .paths import Course

ENV_VAR = "COURSE_CELL_LIMITS"
DEFAULT_TIMEOUT = 300


@dataclass(frozen=True)
class Calibration:
    floor: float = 10.0  # seconds every cell gets on top of its scaled reference time
    multiple: float = 10.0  # slack over the reference solution (slower machines, plainer code)
    student_cell: float = 60.0  # a cell the source does not have
    margin: float = 60.0  # notebook limit above the sum of its cells' (kernel start, saving)


def cell_key(cell: NotebookNode) -> str:
    """What identifies a cell across the source, the release and a submission."""
    gid = grade_id(cell)
    if gid:
        return f"id:{gid}"
    return "src:" + hashlib.sha1(cell.source.strip().encode()).hexdigest()[:16]


def _seconds(cell: NotebookNode) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return max(0.0, (parse(end) - parse(start)).total_seconds())


def sources_hash(course: Course, assignment: str) -> str:
    digest = hashlib.sha1()
    for name in course.notebook_names(assignment):
        digest.update((course.notebooks_dir / assignment / f"{name}.ipynb").read_bytes())
    return digest.hexdigest()


def limits_file(course: Course, assignment: str) -> Path:
    return course.root / "limits" / f"{assignment}.json"


def measure(course: Course, assignment: str, calibration: Calibration = Calibration()) -> dict:
    """Run the source notebooks once (FAST mode) and derive every cell's limit."""
    from nbclient import NotebookClient

    limits: dict[str, float] = {}
    notebooks: dict[str, float] = {}
    for name in course.notebook_names(assignment):
        nb = read_notebook(course.notebooks_dir / assignment / f"{name}.ipynb")
        os.environ.setdefault("COURSE_FAST", "1")
        with tempfile.TemporaryDirectory() as work:
            NotebookClient(
                nb,
                timeout=DEFAULT_TIMEOUT,
                kernel_name="python3",
                allow_errors=True,
                record_timing=True,
                resources={"metadata": {"path": work}},
            ).execute()
        total = 0.0
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            limit = calibration.floor + calibration.multiple * _seconds(cell)
            key = cell_key(cell)
            limits[key] = round(max(limits.get(key, 0.0), limit), 1)
            total += limit
        notebooks[name] = round(total + calibration.margin, 1)
    return {
        "sources": sources_hash(course, assignment),
        "calibration": [calibration.floor, calibration.multiple],
        "measured": time.strftime("%Y-%m-%d %H:%M:%S"),
        "student_cell": calibration.student_cell,
        "cells": limits,
        "notebooks": notebooks,
    }


def calibrated(
    course: Course, assignment: str, calibration: Calibration = Calibration()
) -> tuple[Path, dict]:
    """The limits of ``assignment``, measured now when missing, older than its sources or
    derived with other settings."""
    path = limits_file(course, assignment)
    if path.exists():
        data = json.loads(path.read_text())
        if data.get("sources") == sources_hash(course, assignment) and data.get("calibration") == [
            calibration.floor,
            calibration.multiple,
        ]:
            return path, data
    data = measure(course, assignment, calibration)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return path, data


def notebook_timeout(data: dict, submitted: list[NotebookNode]) -> float:
    """Whole-run limit for one student's notebooks: above the sum of every cell's limit."""
    cells = data["cells"]
    total = sum(data["notebooks"].values())
    for nb in submitted:
        extra = [c for c in nb.cells if c.cell_type == "code" and cell_key(c) not in cells]
        total += len(extra) * data["student_cell"]
    return total


_CACHE: dict[str, dict] = {}


def cell_timeout(cell: NotebookNode) -> int:
    """``Execute.timeout_func``: the calibrated limit of ``cell`` (see module docstring)."""
    path = os.environ.get(ENV_VAR)
    if not path:
        return DEFAULT_TIMEOUT
    if path not in _CACHE:
        try:
            _CACHE[path] = json.loads(Path(path).read_text())
        except (OSError, ValueError):
            return DEFAULT_TIMEOUT
    data = _CACHE[path]
    return int(data["cells"].get(cell_key(cell), data["student_cell"])) + 1

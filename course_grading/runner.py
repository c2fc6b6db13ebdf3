"""Run nbgrader as a subprocess inside a course root.

A subprocess per call keeps one crashing submission (a dead kernel, a segfault in an
extension, a hang) from taking the whole batch down, and lets a hard time limit kill it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .paths import Course


@dataclass
class RunResult:
    """What one nbgrader invocation did."""

    returncode: int
    output: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def error_lines(self) -> list[str]:
        """nbgrader's own ERROR/CRITICAL log lines, without the traceback noise."""
        keep = []
        for line in self.output.splitlines():
            if "| ERROR]" in line or "| CRITICAL]" in line:
                keep.append(line.split("]", 1)[-1].strip())
        return keep


MIN_NBGRADER = (0, 9, 4)  # the first release whose autograde runs IgnorePattern


def check_nbgrader_version(version: str | None = None) -> None:
    """Refuse an nbgrader older than `MIN_NBGRADER`: before it, harmless stderr (a library
    warning) in a test cell scores 0, whatever the course's config says."""
    if version is None:
        from importlib.metadata import version as installed

        version = installed("nbgrader")
    parts = tuple(int(p) for p in re.findall(r"\d+", version)[:3])
    if parts < MIN_NBGRADER:
        need = ".".join(map(str, MIN_NBGRADER))
        raise RuntimeError(
            f"nbgrader {version} is too old: {need} or newer is needed (older releases skip "
            f'the IgnorePattern step, so a warning in a test cell costs its points). pip install "nbgrader>={need}"'
        )


_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


def kill_all() -> int:
    """Kill every nbgrader run still going (its whole process group: kernels, sandboxes).
    Returns how many were killed. Used when the instructor interrupts a batch."""
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(procs)


def run_nbgrader(
    course: Course,
    *args: str,
    timeout: float | None = None,
    fast: bool = True,
    env: Mapping[str, str] | None = None,
    config_args: Sequence[str] = (),
) -> RunResult:
    """Run ``nbgrader ARGS`` with the course root as working directory (so its config applies).

    Args:
        course: the course whose root holds nbgrader_config.py.
        args: the nbgrader subcommand and its arguments.
        timeout: seconds before the whole run (kernel included) is killed.
        fast: run notebooks in FAST mode (COURSE_FAST=1), as autograding always should.
        env: further environment variables (e.g. the sandbox's JUPYTER_PATH).
        config_args: further ``--Class.trait=value`` options for nbgrader.
    """
    if importlib.util.find_spec("nbgrader") is None:
        raise RuntimeError(
            'nbgrader is not installed in this environment: pip install -e ".[instructor]" '
            "(students do not need it)"
        )
    check_nbgrader_version()
    env = {**os.environ, **(env or {})}
    if fast:
        env["COURSE_FAST"] = "1"
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    # Kernels must not open GUI windows or pick a display backend that needs one.
    env["MPLBACKEND"] = "Agg"
    # nbgrader shells out to tools of its own environment (alembic): put them first on PATH
    # even when the venv is not activated.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    cmd = [
        sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course.root}",
        *config_args,
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        cwd=course.root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so a timeout also kills the kernel
    )
    with _LIVE_LOCK:
        _LIVE.add(proc)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        return RunResult(returncode=-1, output=output or "", timed_out=True)
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)
    return RunResult(returncode=proc.returncode, output=output)

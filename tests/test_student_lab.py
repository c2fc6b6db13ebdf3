"""`make lab` is the student's lab: their own copies, FAST mode on, no instructor extensions."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STUDENT_CONFIG = REPO / "jupyter" / "student"


def _makefile() -> str:
    return (REPO / "Makefile").read_text()


def _recipe(target: str) -> str:
    match = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", _makefile(), re.MULTILINE)
    assert match, f"no {target} target in the Makefile"
    return match.group(1)


def test_make_lab_opens_the_students_copies_in_fast_mode_without_instructor_menus():
    lab = _recipe("lab")
    assert "course start" in lab and "--notebook-dir=work" in lab
    assert "COURSE_FAST=$(FAST)" in lab and re.search(r"^FAST \?= 1$", _makefile(), re.M)
    assert "JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter/student" in lab
    assert "/formgrader" in _recipe("instructor")


def test_student_config_disables_every_nbgrader_extension():
    nbgrader = pytest.importorskip("nbgrader")  # students may not have the instructor extras
    # nbgrader's own config: what it enables for everybody when installed
    enabled = json.loads(
        (Path(sys.prefix) / "etc/jupyter/jupyter_server_config.d/nbgrader.json").read_text()
    )["ServerApp"]["jpserver_extensions"]
    ours = json.loads((STUDENT_CONFIG / "jupyter_server_config.json").read_text())
    assert ours["ServerApp"]["jpserver_extensions"] == {name: False for name in enabled}
    probe = (
        "from jupyterlab_server.config import get_static_page_config as g;"
        "print(json.dumps(g(level='all')))"
    )
    env = {**os.environ, "JUPYTER_CONFIG_PATH": str(STUDENT_CONFIG)}
    out = subprocess.run(
        [sys.executable, "-c", "import json;" + probe], env=env, capture_output=True, text=True
    )
    page_config = json.loads(out.stdout)
    assert page_config["disabledExtensions"].get("@jupyter/nbgrader") is True
    assert nbgrader.__version__ and out.returncode == 0

"""Source notebooks: conventions, no outputs, ignored generated files, and ungraded ones run.

Graded notebooks are executed by their round trips (tests/test_roundtrips.py), which
autograde the source notebook and fail on any cell that raised.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course_grading.notebooks import check_notebook, read_notebook

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*/*.ipynb"))
UNGRADED = [p for p in NOTEBOOKS if p.parent.name.startswith("00_")]
GRADED_ASSIGNMENTS = sorted(
    {p.parent.name for p in NOTEBOOKS if not p.parent.name.startswith("00_")}
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_follows_the_conventions(path):
    problems = check_notebook(read_notebook(path), graded=not path.parent.name.startswith("00_"))
    assert problems == [], f"{path}: run `course normalize` / see CONTRIBUTING.md: {problems}"


def test_every_graded_assignment_has_a_round_trip():
    from test_roundtrips import ROUND_TRIPS  # tests/ is on sys.path under pytest

    assert sorted(ROUND_TRIPS) == GRADED_ASSIGNMENTS


def test_generated_material_is_ignored_by_git():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    generated = [
        "grading/release/a/n.ipynb",
        "grading/source/a/n.ipynb",
        "grading/submitted/s/a/n.ipynb",
        "grading/autograded/s/a/n.ipynb",
        "grading/feedback/s/a/n.html",
        "grading/gradebook.db",
        "grading/grades.csv",
        ".venv/bin/python",
        "checkpoints/last.pt",
    ]
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", *generated], cwd=REPO, capture_output=True, text=True
    )
    assert sorted(result.stdout.split()) == sorted(generated)


@pytest.mark.notebook
@pytest.mark.parametrize("path", UNGRADED, ids=lambda p: p.stem)
def test_ungraded_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # Live widgets in a headless nbclient run now and then stall the client (nbclient#312);
    # the browser tests exercise them in JupyterLab instead.
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    assert os.environ["COURSE_FAST"] == "1"

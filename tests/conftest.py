"""Shared fixtures: a throwaway course root holding the small sample assignment."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from course_grading.paths import CONFIG_NAME, Course

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def sample_course(tmp_path: Path) -> Course:
    """A course with the real nbgrader config and the two-exercise `sample_assignment`."""
    root = tmp_path / "grading"
    root.mkdir()
    shutil.copy(REPO / "grading" / CONFIG_NAME, root / CONFIG_NAME)
    shutil.copytree(FIXTURES / "notebooks", tmp_path / "notebooks")
    return Course(notebooks_dir=tmp_path / "notebooks", root=root)


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test drew, so hundreds of tests do not pile up open figures."""
    yield
    plt.close("all")


# Longest first, so the two xdist workers finish together instead of one of them starting a
# ten-minute round trip when the other is done: the grading round trips, the grading pipeline's
# group (one worker runs it whole), the browser runs, the benchmarks' smoke runs, then the rest.
SLOWEST_FIRST = (
    "test_roundtrips.py",
    "grading-pipeline",
    "test_browser.py",
    "test_benchmarks.py",
    "grading-sandbox",
)


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        group = item.get_closest_marker("xdist_group")
        key = group.args[0] if group else item.path.name
        return SLOWEST_FIRST.index(key) if key in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=rank)  # stable: each file keeps its own order

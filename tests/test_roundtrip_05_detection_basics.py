"""Grading round trip of 05_detection_basics: release, then autograde the source (full marks),
the blank student version (zero), a messy complete submission (full marks) and one with `nms`
blanked (loses exactly the NMS test: no other exercise calls it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grading.notebooks import read_notebook
from grading.paths import Course
from grading.roundtrip import roundtrip

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("roundtrip-05")]

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "05_detection_basics"


def test_roundtrip_05_detection_basics(tmp_path):
    course = Course(notebooks_dir=REPO / "notebooks", root=REPO / "grading")
    result = roundtrip(
        course, ASSIGNMENT, tmp_path / "rt", wrong=("detection_eval", "nms", ["test_nms"])
    )
    assert result.max_score == 16
    assert result.scores == {"source": 16, "blank": 0, "messy": 16, "wrong": 14}
    assert result.problems == []


def test_student_version_has_no_answers(tmp_path):
    from grading.release import release
    from grading.roundtrip import temp_course

    course = Course(notebooks_dir=REPO / "notebooks", root=REPO / "grading")
    tc = temp_course(course, [ASSIGNMENT], tmp_path)
    release(tc, [ASSIGNMENT])
    text = "\n".join(
        c.source for c in read_notebook(tc.release_dir / ASSIGNMENT / "detection_eval.ipynb").cells
    )
    assert "HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
    assert "mpre.flip(0)" not in text and "r.contiguous()" not in text  # average_precision answer
    assert text.count("raise NotImplementedError()") == 7

"""02_convolutions grades correctly: full marks for the source, zero for the blank version,
full marks for a Colab-damaged copy, and exactly one exercise's points lost when it is blank."""

from __future__ import annotations

from pathlib import Path

import pytest

from grading.paths import find_course
from grading.roundtrip import roundtrip

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.notebook


def test_roundtrip(tmp_path):
    course = find_course(REPO / "grading")
    result = roundtrip(
        course,
        "02_convolutions",
        tmp_path,
        wrong=("conv_layers", "conv2d_im2col", ["test_conv2d_im2col"]),
    )
    assert result.problems == [], result.rows
    assert result.max_score == 20

"""Every graded assignment grades correctly, through real nbgrader runs in a temporary course.

For each assignment the round trip (course_grading/roundtrip.py) releases it (failing on any leaked
answer or hidden test), then autogrades: the source notebooks as handed in (full marks, and no
cell may raise: this is also the "notebook runs top to bottom in FAST mode" test), the blank
student version (zero), a Colab-damaged complete copy (full marks), and the source with one
exercise blanked (loses exactly that exercise's points). The exercise blanked is one no later
exercise calls, so only its own test fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from course_grading.paths import find_course
from course_grading.roundtrip import roundtrip

REPO = Path(__file__).resolve().parents[1]

# assignment -> (notebook, exercise to blank, test cells that must fail, total points)
ROUND_TRIPS: dict[str, tuple[str, str, list[str], float]] = {
    "01_pytorch_tutorial": (
        "pytorch_tutorial",
        "pairwise_sq_dists",
        ["test_pairwise_sq_dists"],
        18,
    ),
    "02_convolutions": ("conv_layers", "conv2d_im2col", ["test_conv2d_im2col"], 20),
    "03_backprop": ("pooling", "maxpool2d_backward", ["test_maxpool2d_backward"], 15),
    "04_receptive_fields": ("receptive_fields", "layers_of", ["test_layers_of"], 9),
    "05_detection_basics": ("detection_eval", "nms", ["test_nms"], 16),
    "06_two_stage": ("rcnn_fast_rcnn", "roi_pool", ["test_roi_pool"], 26),
    "07_single_stage": ("yolo", "yolo_v2_decode", ["test_yolo_v2_decode"], 25),
    "08_dense_prediction": ("segmentation", "roi_align", ["test_roi_align"], 18),
    "a2_mlp": ("mlp_from_scratch", "input_mapping", ["test_input_mapping"], 15),
    "a3_ssl_detection": ("rotation_ssl", "RotationDataset", ["test_RotationDataset"], 15),
}


# The Colab-damaged copy exercises the submission sanitiser, whose repairs do not depend on
# the notebook: the first assignments cover it, later ones skip it to keep the suite's time.
MESSY_COPY_GRADED = {
    "01_pytorch_tutorial",
    "02_convolutions",
    "03_backprop",
    "04_receptive_fields",
    "05_detection_basics",
    "a2_mlp",  # one notebook, seconds to grade: its issue asks for the Colab copy too
}


# The costliest round trips first (tests/conftest.py runs round trips before everything else).
COSTLIEST_FIRST = ["06_two_stage", "07_single_stage", "01_pytorch_tutorial", "08_dense_prediction"]


@pytest.mark.notebook
@pytest.mark.parametrize(
    "assignment",
    sorted(ROUND_TRIPS, key=lambda a: (COSTLIEST_FIRST + sorted(ROUND_TRIPS)).index(a)),
)
def test_round_trip(assignment, tmp_path):
    notebook, exercise, lost, total = ROUND_TRIPS[assignment]
    messy_copy = assignment in MESSY_COPY_GRADED
    result = roundtrip(
        find_course(REPO / "grading"),
        assignment,
        tmp_path,
        wrong=(notebook, exercise, lost),
        messy_copy=messy_copy,
        # calibrating runs every notebook once more; the limits have their own pipeline test
        calibrate=False,
    )
    assert result.max_score == total
    assert result.problems == [], "\n".join(result.problems)
    assert result.scores["source"] == total
    assert result.scores["messy" if messy_copy else "source"] == total
    assert result.scores["blank"] == 0

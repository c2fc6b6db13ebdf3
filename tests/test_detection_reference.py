"""course_utils.detection (pycocotools) agrees with the reference solution of 05_detection_basics.

The solution cells of the source notebook are executed on their own, then their COCO 101-point
mAP is compared with `evaluate_detections` on the Shapes validation set (simulated detector)
and on random problems whose objects do not overlap (where the PASCAL and COCO matching rules
coincide).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from course_grading.notebooks import is_solution_cell, read_notebook
from course_utils.data import SHAPE_CLASSES, ShapesDetection
from course_utils.detection import evaluate_detections, noisy_detections, random_detection_problem

NOTEBOOK = (
    Path(__file__).resolve().parents[1] / "notebooks/05_detection_basics/detection_eval.ipynb"
)


@pytest.fixture(scope="module")
def solution() -> dict:
    namespace: dict = {"torch": torch, "np": np}
    for cell in read_notebook(NOTEBOOK).cells:
        if cell.cell_type == "code" and is_solution_cell(cell):
            exec(
                compile(cell.source, f"{NOTEBOOK.name}:{cell.metadata.nbgrader.grade_id}", "exec"),
                namespace,
            )
    return namespace


def test_reference_map_matches_pycocotools_on_shapes(solution):
    val = ShapesDetection(24, image_size=128, seed=0, split="val")
    targets = [val[i][1] for i in range(len(val))]
    preds = noisy_detections(targets, num_classes=len(SHAPE_CLASSES), image_size=128, seed=0)
    metrics = evaluate_detections(preds, targets)
    mean_ap = solution["mean_average_precision"]
    ours = [mean_ap(preds, targets, t, "coco101")[0] for t in metrics.iou_thresholds]
    assert ours[0] == pytest.approx(metrics.map_50, abs=1e-12)
    assert float(np.mean(ours)) == pytest.approx(metrics.map, abs=1e-12)
    _, per_class = mean_ap(preds, targets, 0.5, "coco101")
    assert per_class == pytest.approx(metrics.per_class(0.5), abs=1e-12)


def test_reference_map_matches_pycocotools_on_random_problems(solution):
    worst = 0.0
    for seed in range(60):
        preds, targets = random_detection_problem(1000 + seed, num_images=4, num_classes=3)
        ours, _ = solution["mean_average_precision"](preds, targets, 0.5, "coco101")
        ref = evaluate_detections(preds, targets, iou_thresholds=[0.5]).map_50
        if np.isnan(ref):
            assert np.isnan(ours)
            continue
        worst = max(worst, abs(ours - ref))
    assert worst < 1e-12

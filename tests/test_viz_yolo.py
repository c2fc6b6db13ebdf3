"""course_utils.viz.yolo and course_utils.detection.baseline: the YOLO notebook's figures show
the cells, terms and anchors they claim; the random-box baseline is valid and reproducible."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
import torchvision.ops as tvops

from course_utils.detection import check_detections, evaluate_detections
from course_utils.detection.baseline import random_box_predictions
from course_utils.viz.yolo import (
    GID_CELL,
    GID_COLLISION,
    average_best_iou,
    centre_cells,
    hand_picked_anchors,
    plot_anchors,
    plot_cell_constraint,
    shared_centre_iou,
    yolo_grid_figure,
    yolo_v1_loss_figure,
    yolo_v1_loss_terms,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_centre_cells_borders_and_far_edge():
    boxes = torch.tensor([[16.0, 16.0, 48.0, 48.0], [120.0, 0.0, 136.0, 10.0], [0, 0, 10, 10]])
    rows, cols = centre_cells(boxes, S=4, image_size=128)
    assert rows.tolist() == [1, 0, 0]  # centre (32, 32) on a border: the cell below / right
    assert cols.tolist() == [1, 3, 0]  # centre x = 128 (far edge): the last column


def test_grid_figure_marks_collisions():
    image = torch.rand(3, 128, 128)
    # two centres in cell [0, 0] with S = 2, one in cell [1, 1]
    boxes = torch.tensor([[0.0, 0.0, 20.0, 20.0], [10.0, 10.0, 40.0, 40.0], [80, 80, 120, 120]])
    fig = yolo_grid_figure(2, image, boxes, torch.tensor([0, 1, 2]))
    ax = fig.axes[0]
    gids = [p.get_gid() for p in ax.patches]
    assert gids.count(GID_COLLISION) == 1
    assert gids.count(GID_CELL) == 1
    assert "1 lost" in ax.get_title()
    fig = yolo_grid_figure(8, image, boxes)
    assert [p.get_gid() for p in fig.axes[0].patches].count(GID_COLLISION) == 0


def test_loss_terms_vanish_for_a_perfect_box_and_follow_the_formula():
    gt = torch.tensor([40.0, 40.0, 80.0, 70.0])
    terms = yolo_v1_loss_terms(gt, gt, 1.0, 7, 128.0, 1.0, 5, 0.0)
    assert all(abs(v) < 1e-12 for v in terms.values())
    # shifted right by 4 px, confidence 0.5, other box 0.2, class probability 0.8
    pred = gt + torch.tensor([4.0, 0.0, 4.0, 0.0])
    terms = yolo_v1_loss_terms(pred, gt, 0.5, 7, 128.0, 0.8, 5, 0.2)
    step = 128 / 7
    assert terms["coord (x, y)"] == pytest.approx(5 * (4 / step) ** 2)
    assert terms["size (w, h)"] == pytest.approx(0.0)
    iou = float(tvops.box_iou(pred[None], gt[None])[0, 0])
    assert terms["conf (object)"] == pytest.approx((0.5 - iou) ** 2)
    assert terms["conf (no object)"] == pytest.approx(0.5 * 0.04)
    assert terms["class"] == pytest.approx(0.2**2 + 4 * 0.05**2)


def test_square_roots_make_small_boxes_pay_more():
    def size_term(w, sqrt_wh):
        gt = torch.tensor([50.0, 50.0, 50.0 + w, 50.0 + w])
        pred = gt + torch.tensor([0.0, 0.0, 4.0, 0.0])  # 4 px wider
        return yolo_v1_loss_terms(pred, gt, 1, 7, 128.0, 1, 5, 0, sqrt_wh=sqrt_wh)["size (w, h)"]

    assert size_term(10, True) > 3 * size_term(60, True)
    assert size_term(10, False) == pytest.approx(size_term(60, False))


def test_loss_figure_draws_both_panels():
    fig = yolo_v1_loss_figure(4, -3, 1.3, 0.8, target="small", sqrt_wh=False)
    assert len(fig.axes) == 2
    assert "IoU" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="target"):
        yolo_v1_loss_figure(0, 0, 1, 1, target="huge")


def test_shared_centre_iou_and_average():
    wh = torch.tensor([[10.0, 20.0], [30.0, 30.0]])
    anchors = torch.tensor([[20.0, 10.0]])
    expected = torch.tensor([[100 / 300], [200 / 900]], dtype=torch.float64)
    torch.testing.assert_close(shared_centre_iou(wh, anchors), expected)
    assert average_best_iou(wh, anchors) == pytest.approx((1 / 3 + 2 / 9) / 2)
    assert average_best_iou(wh, wh) == pytest.approx(1.0)


def test_hand_picked_anchors():
    nine = hand_picked_anchors(9)
    areas = (nine[:, 0] * nine[:, 1]).reshape(3, 3)
    torch.testing.assert_close(areas[:, 0], torch.tensor([256.0, 1024, 4096], dtype=torch.float64))
    five = hand_picked_anchors(5)
    assert five[0, 0] == pytest.approx(12) and five[-1, 0] == pytest.approx(64)
    assert torch.equal(five[:, 0], five[:, 1])
    with pytest.raises(ValueError):
        hand_picked_anchors(0)


def test_anchor_and_cell_figures():
    wh = torch.rand(50, 2) * 40 + 5
    fig, axes = plot_anchors(wh, {"a": wh[:3]}, {"a": ([1, 2], [0.5, 0.6])})
    assert len(axes) == 2
    inside = torch.tensor([[70.0, 50.0], [65.0, 60.0]])
    outside = torch.tensor([[5.0, 5.0], [70.0, 50.0]])
    fig, axes = plot_cell_constraint({"in": inside, "out": outside}, 3, 4, 16, 128)
    assert "100%" in axes[0].get_title() and "50%" in axes[1].get_title()


def test_random_box_predictions():
    preds = random_box_predictions(4, 128, 5, seed=3)
    targets = [{"boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0]]), "labels": torch.tensor([1])}] * 4
    check_detections(preds, targets)
    boxes = torch.cat([p["boxes"] for p in preds])
    assert boxes.min() >= 0 and boxes.max() <= 128
    assert all(int(p["labels"].max()) < 5 for p in preds)
    again = random_box_predictions(4, 128, 5, seed=3)
    assert all(torch.equal(a["boxes"], b["boxes"]) for a, b in zip(preds, again))
    assert not math.isnan(evaluate_detections(preds, targets).map_50)
    with pytest.raises(ValueError):
        random_box_predictions(1, 128, 0)

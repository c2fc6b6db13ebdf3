"""course_utils.viz.detection: the figures carry the boxes, captions and numbers they claim."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torchvision.ops as tvops

from course_utils.viz.detection import (
    FP_COLOR,
    GID_BOX,
    GID_INTERSECTION,
    TP_COLOR,
    draw_boxes,
    iou_figure,
    nms_figure,
    plot_pr_curve,
    pr_threshold_figure,
)
from course_utils.viz.style import color


def box_patches(ax):
    return [p for p in ax.patches if p.get_gid() == GID_BOX]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_draw_boxes_geometry_colours_and_captions():
    image = torch.rand(3, 40, 60)
    boxes = torch.tensor([[5.0, 6.0, 20.0, 30.0], [30.0, 2.0, 55.0, 12.0]])
    fig, ax = draw_boxes(
        image, boxes, labels=torch.tensor([0, 2]), scores=[0.9, 0.25], class_names=["a", "b", "c"]
    )
    rects = box_patches(ax)
    assert [(r.get_x(), r.get_y(), r.get_width(), r.get_height()) for r in rects] == [
        (5.0, 6.0, 15.0, 24.0),
        (30.0, 2.0, 25.0, 10.0),
    ]
    assert [mcolors.to_hex(r.get_edgecolor()) for r in rects] == [
        color(0).lower(),
        color(2).lower(),
    ]
    assert [t.get_text() for t in ax.texts] == ["a 0.90", "c 0.25"]
    assert ax.images[0].get_array().shape == (40, 60, 3)


def test_draw_boxes_overlays_and_validates():
    fig, ax = draw_boxes(
        torch.rand(3, 20, 20), torch.tensor([[1.0, 1.0, 5.0, 5.0]]), show_text=False
    )
    draw_boxes(
        None, torch.tensor([[2.0, 2.0, 9.0, 9.0]]), colors=["#123456"], ax=ax, linestyle="--"
    )
    assert len(box_patches(ax)) == 2 and len(ax.images) == 1 and not ax.texts
    with pytest.raises(ValueError, match="x1 <= x2"):
        draw_boxes(None, torch.tensor([[5.0, 1.0, 1.0, 5.0]]))
    with pytest.raises(ValueError, match="labels must have shape"):
        draw_boxes(None, torch.zeros(2, 4), labels=[1])


def test_plot_pr_curve_draws_the_points():
    fig, ax = plot_pr_curve(
        torch.tensor([1.0, 0.5, 2 / 3]), torch.tensor([0.5, 0.5, 1.0]), label="x"
    )
    line = ax.lines[0]
    assert list(line.get_xdata()) == [0.5, 0.5, 1.0]
    assert list(line.get_ydata()) == pytest.approx([1.0, 0.5, 2 / 3])
    with pytest.raises(ValueError, match="same length"):
        plot_pr_curve(torch.ones(3), torch.ones(2))


def test_iou_figure_reports_torchvision_iou():
    fig = iou_figure(bx=45, by=35, bw=40, bh=30)
    a = torch.tensor([[25.0, 25.0, 65.0, 65.0]])
    b = torch.tensor([[45.0, 35.0, 85.0, 65.0]])
    iou = float(tvops.box_iou(a, b)[0, 0])
    ax = fig.axes[0]
    assert f"IoU = {iou:.3f}" in ax.get_title() and "no match" in ax.get_title()
    inter = [p for p in ax.patches if p.get_gid() == GID_INTERSECTION][0]
    assert (inter.get_width(), inter.get_height()) == (20.0, 30.0)
    assert "(match" in iou_figure(bx=25, by=25, bw=40, bh=40).axes[0].get_title()


def test_pr_threshold_figure_point_and_tp_fp_colours():
    # one image, two objects of class 1; detections: TP .9, FP .8, TP .3
    targets = [
        {
            "boxes": torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30]]),
            "labels": torch.tensor([1, 1]),
        }
    ]
    pboxes = torch.tensor([[0.0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 31]])
    preds = [
        {
            "boxes": pboxes,
            "scores": torch.tensor([0.9, 0.8, 0.3]),
            "labels": torch.tensor([1, 1, 1]),
        }
    ]
    fig = pr_threshold_figure(0.5, [torch.rand(3, 64, 64)], preds, targets, label=1)
    curve_ax, image_ax = fig.axes[:2]
    point = curve_ax.lines[-1]
    assert (point.get_xdata()[0], point.get_ydata()[0]) == pytest.approx((0.5, 0.5))
    kept = box_patches(image_ax)[2:]  # after the two dashed ground-truth boxes
    assert [mcolors.to_hex(r.get_edgecolor()) for r in kept] == [TP_COLOR.lower(), FP_COLOR.lower()]


def test_nms_figure_keeps_what_torchvision_keeps():
    gen = torch.Generator().manual_seed(0)
    base = torch.tensor([[10.0, 10, 40, 40], [30, 30, 70, 60], [60, 5, 90, 35]])
    boxes = (base.repeat(6, 1) + torch.randn(18, 4, generator=gen) * 3).clamp(0, 100)
    boxes = torch.cat([boxes[:, :2], torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)], 1)
    scores = torch.rand(18, generator=gen)
    labels = torch.tensor([0, 1, 1] * 6)
    for thr in (0.3, 0.6):
        fig = nms_figure(thr, torch.rand(3, 100, 100), boxes, scores, labels)
        expected = tvops.batched_nms(boxes, scores, labels, thr)
        assert len(box_patches(fig.axes[1])) == len(expected)
        assert f"{len(expected)} kept" in fig.axes[1].get_title()
        plain = nms_figure(thr, torch.rand(3, 100, 100), boxes, scores, labels, per_class=False)
        assert len(box_patches(plain.axes[1])) == len(tvops.nms(boxes, scores, thr))


def test_captions_stay_inside_the_image_and_clear_of_each_other():
    image = torch.rand(3, 60, 80)
    boxes = torch.tensor(
        [
            [0.0, 0.0, 20.0, 15.0],  # top-left corner: no room above
            [60.0, 0.0, 80.0, 20.0],  # top-right corner: a caption would run off the right
            [30.0, 30.0, 50.0, 50.0],
            [31.0, 31.0, 51.0, 51.0],  # almost the same box: captions must not pile up
            [5.0, 45.0, 25.0, 60.0],  # bottom edge
        ]
    )
    fig, ax = draw_boxes(
        image, boxes, labels=[0, 1, 2, 3, 4], scores=[0.9, 0.8, 0.7, 0.6, 0.5],
        class_names=["circle", "square", "triangle", "star", "cross"],
    )  # fmt: skip
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    extents = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(extents) == 5
    for text, e in zip(ax.texts, extents):
        assert frame.x0 - 1 <= e.x0 and e.x1 <= frame.x1 + 1, f"{text.get_text()} is clipped"
        assert frame.y0 - 1 <= e.y0 and e.y1 <= frame.y1 + 1, f"{text.get_text()} is clipped"
    for i in range(5):
        for j in range(i + 1, 5):
            assert not extents[i].overlaps(extents[j]), (ax.texts[i], ax.texts[j])


def test_boxes_have_a_dark_outline_so_green_shows_on_green():
    green = torch.zeros(3, 32, 32)
    green[1] = 0.62  # the true-positive green, roughly
    fig, ax = draw_boxes(green, torch.tensor([[4.0, 4.0, 28.0, 28.0]]), colors=[TP_COLOR])
    [rect] = box_patches(ax)
    stroke = rect.get_path_effects()[0]
    assert mcolors.to_hex(stroke._gc["foreground"]) == "#000000"
    # and the drawn pixels along the box edge include dark ones next to the green
    fig.canvas.draw()
    pixels = torch.from_numpy(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()).float() / 255
    assert (pixels.sum(-1) < 0.3).any()


@pytest.mark.parametrize("bx, by, bw, bh", [(90, 90, 80, 80), (0, 0, 40, 40), (70, 5, 40, 2)])
def test_iou_figure_keeps_box_b_on_its_canvas(bx, by, bw, bh):
    ax = iou_figure(bx=bx, by=by, bw=bw, bh=bh).axes[0]
    for rect in box_patches(ax):
        assert rect.get_x() >= 0 and rect.get_x() + rect.get_width() <= 100
        assert rect.get_y() >= 0 and rect.get_y() + rect.get_height() <= 100
    for text in ax.texts:  # the A and B letters too
        x, y = text.get_position()
        assert 0 <= x <= 100 and 0 <= y <= 100

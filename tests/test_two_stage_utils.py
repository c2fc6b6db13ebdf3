"""course_utils.detection.two_stage and course_utils.viz.two_stage, against torchvision."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
import torch
import torchvision.ops as tvops
from matplotlib.figure import Figure

from course_utils.detection import check_detections
from course_utils.detection.two_stage import RoIFeatures, random_boxes, tiny_backbone
from course_utils.viz import two_stage as viz


def test_random_boxes_are_valid_detections_inside_the_image():
    preds = random_boxes(5, 64, 3, boxes_per_image=7, seed=1)
    targets = [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}] * 5
    check_detections(preds, targets)
    boxes = torch.cat([p["boxes"] for p in preds])
    assert boxes.shape == (35, 4)
    assert (boxes >= 0).all() and (boxes <= 64).all()
    assert (boxes[:, 2:] > boxes[:, :2]).all()
    assert set(torch.cat([p["labels"] for p in preds]).tolist()) <= {0, 1, 2}
    again = random_boxes(5, 64, 3, boxes_per_image=7, seed=1)
    assert all(torch.equal(a["boxes"], b["boxes"]) for a, b in zip(preds, again))


@pytest.mark.parametrize("kind", ["pool", "align"])
def test_roi_features_match_torchvision(kind):
    torch.manual_seed(0)
    feats = torch.randn(2, 4, 10, 12)
    proposals = [torch.tensor([[0.0, 0.0, 20.0, 30.0], [5.0, 7.0, 40.0, 33.0]]),
                 torch.tensor([[1.0, 2.0, 9.0, 9.0]])]  # fmt: skip
    out = RoIFeatures(3, 0.25, kind)({"0": feats}, proposals, [(40, 48)] * 2)
    if kind == "pool":
        ref = tvops.roi_pool(feats, proposals, (3, 3), 0.25)
    else:
        ref = tvops.roi_align(feats, proposals, (3, 3), 0.25, sampling_ratio=2, aligned=True)
    assert torch.equal(out, ref)
    with pytest.raises(ValueError, match="kind"):
        RoIFeatures(3, 0.25, "max")


def test_unaligned_roi_features_match_multiscale_roi_align():
    """aligned=False is what torchvision's FasterRCNN pools with (MultiScaleRoIAlign, one level)."""
    torch.manual_seed(0)
    feats = torch.randn(2, 4, 10, 12)
    proposals = [torch.tensor([[0.0, 0.0, 20.0, 30.0], [5.0, 7.0, 40.0, 33.0]]),
                 torch.tensor([[1.0, 2.0, 9.0, 9.0]])]  # fmt: skip
    out = RoIFeatures(3, 0.25, "align", sampling_ratio=1, aligned=False)(
        {"0": feats}, proposals, [(40, 48)] * 2
    )
    ref = tvops.MultiScaleRoIAlign(["0"], 3, sampling_ratio=1)(
        {"0": feats}, proposals, [(40, 48)] * 2
    )
    assert torch.equal(out, ref)
    shifted = RoIFeatures(3, 0.25, "align", sampling_ratio=1)({"0": feats}, proposals)
    assert not torch.allclose(shifted, ref)


def test_tiny_backbone_stride_and_channels():
    net = tiny_backbone((8, 16, 24))
    out = net(torch.zeros(2, 3, 64, 48))
    assert out.shape == (2, 24, 8, 6)
    assert (net.stride, net.out_channels) == (8, 24)


def test_roi_pool_bins_give_torchvisions_output():
    torch.manual_seed(1)
    feats = torch.randn(9, 11)
    roi = [3.0, 5.0, 18.0, 15.0]  # inside the 11 x 9 map at scale 0.5: no empty bin
    bins = viz.roi_pool_bins(9, 11, roi, (3, 2), 0.5)
    pooled = tvops.roi_pool(feats[None, None], torch.tensor([[0.0, *roi]]), (3, 2), 0.5)[0, 0]
    for i in range(3):
        for j in range(2):
            assert bins[i, j].any()
            assert feats[bins[i, j]].max() == pooled[i, j]


def test_figures_draw():
    torch.manual_seed(2)
    feats = torch.rand(16, 16)
    figures = [
        viz.roi_pool_figure(10, 12, 30, 25, 3, feats, 0.25, "pool"),
        viz.roi_pool_figure(10, 12, 30, 25, 3, feats, 0.25, "align"),
        viz.roi_pool_figure(200, 200, 20, 20, 2, feats, 0.25, "pool"),  # outside: empty bins
        viz.roi_backward_figure(feats, torch.tensor([[4.0, 4.0, 40.0, 40.0]]), 3, 0.25),
        viz.smooth_l1_figure(0.0),
        viz.plot_time_vs_proposals([10, 20], {"a": [1.0, 2.0]}),
    ]
    image = torch.rand(3, 64, 64)
    gt = torch.tensor([[10.0, 10.0, 30.0, 26.0], [40.0, 5.0, 50.0, 20.0]])
    figures.append(viz.anchor_figure(image, gt, stride=8, size=16))
    boxes = torch.tensor([[10.0, 10.0, 30.0, 26.0], [11.0, 10.0, 31.0, 26.0], [0, 0, 5.0, 5.0]])
    figures.append(viz.proposals_figure(image, boxes, torch.tensor([0.9, 0.8, 0.1]), 0.5, 2, gt))
    figures.append(viz.proposals_figure(image, boxes[:0], torch.zeros(0), 0.5, 2, gt))
    assert all(isinstance(f, Figure) for f in figures)
    with pytest.raises(ValueError, match="kind"):
        viz.roi_pool_figure(10, 12, 30, 25, 3, feats, 0.25, "max")

"""Shapes datasets: determinism, splits, and boxes/masks checked against independent references."""

import numpy as np
import pytest
import torch
from matplotlib.path import Path as MplPath
from torchvision.ops import box_iou, masks_to_boxes

from course_utils.data import (
    SHAPE_CLASSES,
    ShapesClassification,
    ShapesDetection,
    ShapesSegmentation,
)
from course_utils.data.shapes import ShapeSpec, _vertices, shape_window


def shape_mask(spec: ShapeSpec, height: int, width: int) -> np.ndarray:
    """The dataset's rasterisation (`shape_window`) placed in a full ``[H, W]`` mask."""
    window, y0, x0 = shape_window(spec, height, width)
    mask = np.zeros((height, width), dtype=bool)
    mask[y0 : y0 + window.shape[0], x0 : x0 + window.shape[1]] = window
    return mask


def _polygon(label: int, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    """Vertices ``[V, 2]`` (x, y) of a polygonal shape, for matplotlib's point-in-polygon."""
    z = _vertices(label, cx, cy, r, angle)
    return np.stack([z.real, z.imag], axis=1)


@pytest.mark.parametrize("label", range(len(SHAPE_CLASSES)))
def test_shape_mask_matches_matplotlib_point_in_polygon(label):
    rng = np.random.default_rng(label)
    for _ in range(5):
        spec = ShapeSpec(
            label, *rng.uniform(5, 35, 2), rng.uniform(3, 12), rng.uniform(0, 6), (1, 1, 1)
        )
        mask = shape_mask(spec, 40, 44)
        ys, xs = np.mgrid[0:40, 0:44] + 0.5
        if SHAPE_CLASSES[label] == "circle":
            expected = (xs - spec.cx) ** 2 + (ys - spec.cy) ** 2 <= spec.radius**2
        else:
            poly = MplPath(_polygon(label, spec.cx, spec.cy, spec.radius, spec.angle))
            expected = poly.contains_points(np.stack([xs.ravel(), ys.ravel()], 1)).reshape(40, 44)
        # matplotlib and the even-odd rule may disagree only for centres exactly on an edge
        assert (mask != expected).sum() <= 1
        assert mask.sum() > 0


@pytest.mark.parametrize("cls", [ShapesClassification, ShapesDetection, ShapesSegmentation])
def test_deterministic_by_seed_and_splits_disjoint(cls):
    a, b = cls(4, seed=3), cls(4, seed=3)
    other, val = cls(4, seed=4), cls(4, seed=3, split="val")
    for i in range(4):
        assert torch.equal(a[i][0], b[i][0])
        assert not torch.equal(a[i][0], other[i][0])
        assert not torch.equal(a[i][0], val[i][0])
    image = a[0][0]
    assert image.dtype == torch.float32 and image.min() >= 0 and image.max() <= 1


def test_classification_items():
    ds = ShapesClassification(20, image_size=48, num_classes=3)
    labels = {ds[i][1] for i in range(20)}
    assert labels == {0, 1, 2}
    assert ds[0][0].shape == (3, 48, 48)


def test_detection_boxes_are_tight_around_visible_pixels_of_the_segmentation():
    det, seg = (
        ShapesDetection(30, image_size=96, seed=1),
        ShapesSegmentation(30, image_size=96, seed=1),
    )
    n_small = n_overlap = 0
    counts = set()
    for i in range(30):
        image, target = det[i]
        image2, mask = seg[i]
        assert torch.equal(image, image2)
        boxes, labels = target["boxes"], target["labels"]
        assert boxes.dtype == torch.float32 and labels.dtype == torch.int64
        assert boxes.shape == (len(labels), 4) and mask.shape == (96, 96)
        counts.add(len(labels))
        # each class present in the mask is one of the labels, and vice versa
        assert set(mask.unique().tolist()) - {0} == set((labels + 1).tolist())
        # the union of the boxes of class c contains every pixel of class c
        for c in labels.unique():
            pix = mask == c + 1
            union = torch.zeros(96, 96, dtype=torch.bool)
            for x1, y1, x2, y2 in boxes[labels == c].int().tolist():
                union[y1:y2, x1:x2] = True
            assert not (pix & ~union).any()
        # a single-instance class: its box is masks_to_boxes of its pixels (+1: pixel extents)
        for c in labels.unique():
            if (labels == c).sum() == 1:
                ref = masks_to_boxes((mask == c + 1)[None].float()) + torch.tensor([0, 0, 1, 1])
                assert torch.equal(boxes[labels == c], ref)
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        n_small += int((areas < 16**2).sum())
        iou = box_iou(boxes, boxes) - torch.eye(len(boxes))
        n_overlap += int((iou > 0).any())
    assert n_small > 5, "expected some small objects"
    assert n_overlap > 5, "expected some images with overlapping objects"
    assert len(counts) >= 4, "expected a varying number of objects per image"


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="image_size"):
        ShapesDetection(4, image_size=8)
    with pytest.raises(ValueError, match="split"):
        ShapesSegmentation(4, split="training")
    with pytest.raises(IndexError, match="out of range"):
        ShapesDetection(2)[2]

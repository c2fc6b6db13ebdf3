"""course_utils.segmentation: the confusion-matrix scores agree with torchmetrics."""

from __future__ import annotations

import math

import pytest
import torch
import torchmetrics.functional.classification as tmf
from torch import nn

from course_utils.data import ShapesSegmentation
from course_utils.segmentation import (
    SegmentationScores,
    confusion_matrix,
    constant_baseline,
    evaluate_segmentation,
    pixel_accuracy_metric,
    segmentation_scores,
)
from course_utils.train import make_loader


def random_masks(seed: int, num_classes: int, shape: tuple[int, ...], absent: int | None = None):
    gen = torch.Generator().manual_seed(seed)
    high = num_classes if absent is None else num_classes - 1  # class num_classes-1 never used
    target = torch.randint(0, high, shape, generator=gen)
    noise = torch.randint(0, high, shape, generator=gen)
    pred = torch.where(torch.rand(shape, generator=gen) < 0.6, target, noise)
    target[torch.rand(shape, generator=gen) < 0.1] = 255
    return pred, target


@pytest.mark.parametrize("num_classes,shape", [(6, (3, 17, 23)), (21, (2, 12, 31)), (2, (40, 40))])
def test_confusion_matrix_matches_torchmetrics(num_classes, shape):
    pred, target = random_masks(num_classes, num_classes, shape)
    expected = tmf.multiclass_confusion_matrix(pred, target, num_classes, ignore_index=255)
    assert torch.equal(confusion_matrix(pred, target, num_classes), expected)


@pytest.mark.parametrize("num_classes,shape", [(6, (3, 17, 23)), (21, (2, 12, 31))])
def test_scores_match_torchmetrics(num_classes, shape):
    pred, target = random_masks(100 + num_classes, num_classes, shape, absent=num_classes - 1)
    scores = segmentation_scores(pred, target, num_classes)
    iou = tmf.multiclass_jaccard_index(pred, target, num_classes, average=None, ignore_index=255)
    present = ~scores.per_class_iou.isnan()
    # the class used nowhere has no IoU and is the only one left out of the mean
    assert present.tolist() == [True] * (num_classes - 1) + [False]
    torch.testing.assert_close(scores.per_class_iou[present], iou[present].double())
    assert scores.miou == pytest.approx(float(iou[present].mean()), abs=1e-6)
    accuracy = tmf.multiclass_accuracy(pred, target, num_classes, average="micro", ignore_index=255)
    assert scores.pixel_accuracy == pytest.approx(float(accuracy), abs=1e-6)


def test_hand_computed_example_and_edge_cases():
    pred = torch.tensor([[0, 0, 1, 1], [0, 2, 2, 1]])
    target = torch.tensor([[0, 0, 1, 1], [0, 0, 2, 255]])
    scores = segmentation_scores(pred, target, 4)
    assert scores.per_class_iou[:3].tolist() == [0.75, 1.0, 0.5]
    assert math.isnan(scores.per_class_iou[3])
    assert scores.miou == pytest.approx(0.75)
    assert scores.pixel_accuracy == pytest.approx(6 / 7)
    empty = segmentation_scores(torch.zeros(2, 2), torch.full((2, 2), 255), 3)
    assert math.isnan(empty.miou) and math.isnan(empty.pixel_accuracy)
    both = scores + scores
    assert torch.equal(both.confusion, 2 * scores.confusion)
    assert "mIoU" in scores.summary(["bg", "a", "b", "c"])


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="same shape"):
        confusion_matrix(torch.zeros(2, 3), torch.zeros(3, 2), 2)
    with pytest.raises(ValueError, match="pred values must be in 0..1"):
        confusion_matrix(torch.tensor([2]), torch.tensor([0]), 2)


class Oracle(nn.Module):
    """Returns fixed logits: a stand-in for a trained model."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits
        self.calls = 0

    def forward(self, x):
        out = self.logits[self.calls : self.calls + len(x)]
        self.calls += len(x)
        return out


def test_evaluate_segmentation_and_baseline_on_shapes():
    data = ShapesSegmentation(6, image_size=32, seed=1, split="val")
    items = [data[i] for i in range(len(data))]
    masks = torch.stack([m for _, m in items])
    loader = make_loader(items, 4, shuffle=False, device="cpu")
    perfect = torch.nn.functional.one_hot(masks, 6).permute(0, 3, 1, 2).float()
    result = evaluate_segmentation(Oracle(perfect), loader, 6, device="cpu")
    assert result.num_images == 6 and result.images_per_s > 0
    assert result.scores.miou == 1.0 and result.scores.pixel_accuracy == 1.0
    baseline = constant_baseline(loader, 6)
    background = float((masks == 0).float().mean())
    assert baseline.pixel_accuracy == pytest.approx(background)
    assert baseline.miou == pytest.approx(background / len(masks.unique()))
    assert pixel_accuracy_metric(perfect, masks) == 1.0
    assert isinstance(baseline, SegmentationScores)

"""Semantic-segmentation evaluation: a confusion matrix and the scores read from it.

The notebooks report every segmentation result through these functions (never through a
student's exercise answer):

    scores = evaluate_segmentation(model, val_loader, num_classes=6)
    print(scores.summary(["background", *SHAPE_CLASSES]))

Conventions (those of PASCAL VOC and torchmetrics):
- masks are ``[N, H, W]`` (or ``[H, W]``) integer class indices; pixels whose *target* is
  ``ignore_index`` (VOC's 255 object borders) count nowhere, whatever was predicted there;
- ``confusion[t, p]`` counts pixels of true class ``t`` predicted as ``p``;
- IoU of class ``c`` = ``TP / (TP + FP + FN)``; a class absent from both the targets and the
  predictions has no IoU (NaN) and is left out of the mean, so mIoU never rewards or punishes
  a class nobody saw;
- pixel accuracy = correct pixels / counted pixels (torchmetrics' ``average="micro"``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from .env import get_device


def confusion_matrix(
    pred: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int | None = 255
) -> torch.Tensor:
    """Pixel confusion matrix.

    Args:
        pred: Tensor[N, H, W] (any shape) of predicted class indices in ``0..num_classes-1``.
        target: Tensor of the same shape: true class indices, or ``ignore_index``.
        num_classes: C.
        ignore_index: target value of pixels that are not counted (None: none).

    Returns:
        Tensor[C, C] int64; entry ``[t, p]`` counts pixels of true class t predicted as p.
    """
    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target must have the same shape, got {tuple(pred.shape)} and "
            f"{tuple(target.shape)}"
        )
    pred, target = pred.reshape(-1).long(), target.reshape(-1).long()
    if ignore_index is not None:
        keep = target != ignore_index
        pred, target = pred[keep], target[keep]
    for name, values in (("pred", pred), ("target", target)):
        if values.numel() and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(
                f"{name} values must be in 0..{num_classes - 1} (or ignore_index={ignore_index} "
                f"in target), got {int(values.min())}..{int(values.max())}"
            )
    flat = target * num_classes + pred
    return torch.bincount(flat.cpu(), minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


@dataclass(frozen=True)
class SegmentationScores:
    """Scores of one evaluation, all read from ``confusion`` (Tensor[C, C], rows = truth)."""

    confusion: torch.Tensor

    @property
    def per_class_iou(self) -> torch.Tensor:
        """Tensor[C] float64: IoU per class; NaN for a class absent from truth and prediction."""
        cm = self.confusion.double()
        tp = cm.diag()
        union = cm.sum(0) + cm.sum(1) - tp
        return torch.where(union > 0, tp / union.clamp(min=1), torch.full_like(tp, float("nan")))

    @property
    def miou(self) -> float:
        """Mean IoU over the classes that have one (NaN when no pixel was counted)."""
        iou = self.per_class_iou
        present = ~iou.isnan()
        return float(iou[present].mean()) if present.any() else float("nan")

    @property
    def pixel_accuracy(self) -> float:
        """Correct pixels / counted pixels (NaN when no pixel was counted)."""
        total = int(self.confusion.sum())
        return float(self.confusion.diag().sum()) / total if total else float("nan")

    def __add__(self, other: SegmentationScores) -> SegmentationScores:
        return SegmentationScores(self.confusion + other.confusion)

    def summary(self, class_names: Sequence[str] | None = None) -> str:
        """A small text table: IoU per class, then mIoU and pixel accuracy."""
        names = list(class_names) if class_names is not None else []
        lines = []
        for c, value in enumerate(self.per_class_iou.tolist()):
            name = names[c] if c < len(names) else f"class {c}"
            lines.append(
                f"  IoU {name:<12} {value:6.3f}" if value == value else f"  IoU {name:<12}    n/a"
            )
        lines.append(f"  mIoU             {self.miou:6.3f}")
        lines.append(f"  pixel accuracy   {self.pixel_accuracy:6.3f}")
        return "\n".join(lines)


def segmentation_scores(
    pred: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int | None = 255
) -> SegmentationScores:
    """`SegmentationScores` of predicted class masks ``pred`` against ``target`` (same shape)."""
    return SegmentationScores(confusion_matrix(pred, target, num_classes, ignore_index))


def pixel_accuracy_metric(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Pixel accuracy of logits ``[N, C, H, W]`` against masks ``[N, H, W]``, for
    ``fit(metrics=...)`` (ignores target pixels equal to 255)."""
    if outputs.ndim != 4 or targets.shape != (outputs.shape[0], *outputs.shape[2:]):
        raise ValueError(
            f"expects outputs [N, C, H, W] and targets [N, H, W], got {tuple(outputs.shape)} "
            f"and {tuple(targets.shape)}"
        )
    return segmentation_scores(outputs.argmax(1), targets, outputs.shape[1]).pixel_accuracy


@dataclass(frozen=True)
class Evaluation:
    """What `evaluate_segmentation` measured: the scores and the inference speed."""

    scores: SegmentationScores
    images_per_s: float
    num_images: int


@torch.no_grad()
def evaluate_segmentation(
    model: nn.Module,
    loader: DataLoader,
    num_classes: int,
    device: str | torch.device | None = None,
    ignore_index: int | None = 255,
) -> Evaluation:
    """Run ``model`` (logits ``[N, C, H, W]``) over ``loader`` (``(images, masks)`` batches) in
    eval mode and score the arg-max masks. ``images_per_s`` times the forward passes only."""
    device = torch.device(device) if device is not None else get_device()
    was_training = model.training
    model.eval().to(device)
    total = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    seconds, count = 0.0, 0
    try:
        for images, masks in loader:
            images = images.to(device)
            start = time.perf_counter()
            logits = model(images)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            seconds += time.perf_counter() - start
            count += len(images)
            total += confusion_matrix(logits.argmax(1).cpu(), masks, num_classes, ignore_index)
    finally:
        model.train(was_training)
    return Evaluation(
        SegmentationScores(total), count / seconds if seconds else float("nan"), count
    )


def constant_baseline(
    loader: DataLoader, num_classes: int, label: int = 0, ignore_index: int | None = 255
) -> SegmentationScores:
    """Scores of predicting ``label`` (background) for every pixel of ``loader``'s masks."""
    total = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for _, masks in loader:
        total += confusion_matrix(torch.full_like(masks, label), masks, num_classes, ignore_index)
    return SegmentationScores(total)

"""A simulated detector: plausible, imperfect predictions made from the ground truth.

Evaluation code, explorers and exercises need detections before any detector is trained.
`noisy_detections` fakes them: each object is found (or missed) with jittered boxes whose
confidence grows with their overlap, sometimes with the wrong class, plus a few false alarms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor
from torchvision.ops import box_iou

from .boxes import check_boxes


def noisy_detections(
    targets: Sequence[Mapping[str, Tensor]],
    num_classes: int,
    image_size: float,
    seed: int = 0,
    copies: int = 1,
    jitter: float = 0.1,
    miss_rate: float = 0.1,
    false_alarms: float = 1.0,
    confusion: float = 0.05,
) -> list[dict[str, Tensor]]:
    """Fake predictions for ``targets`` (one dict per image, torchvision's detection format).

    Args:
        targets: one ``{"boxes": Tensor[G, 4], "labels": Tensor[G]}`` per image (xyxy pixels).
        num_classes: labels are drawn from ``0 .. num_classes - 1`` for confusions and alarms.
        image_size: boxes are clipped to ``[0, image_size]``; false alarms are placed inside.
        seed: the same seed gives the same detections.
        copies: boxes per found object (above 1 they form the clusters NMS has to clean up).
        jitter: standard deviation of each corner's noise, as a fraction of the box size.
        miss_rate: probability that an object gets no box at all.
        false_alarms: mean number of random boxes per image (Poisson).
        confusion: probability that a box gets a random wrong label.

    Returns:
        one ``{"boxes": Tensor[K, 4], "scores": Tensor[K], "labels": Tensor[K]}`` per image.
        A box's score is its IoU with its object times a random factor in [0.5, 1], so better
        boxes tend to rank higher; false alarms score below 0.6.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    gen = torch.Generator().manual_seed(seed)
    out = []
    for t in targets:
        gt = check_boxes(t["boxes"].detach().cpu().float(), name="targets[i]['boxes']")
        labels = t["labels"].detach().cpu().long()
        found = torch.rand(len(gt), generator=gen) >= miss_rate
        base, base_labels = (
            gt[found].repeat_interleave(copies, 0),
            labels[found].repeat_interleave(copies),
        )
        wh = (base[:, 2:] - base[:, :2]).repeat(1, 2)
        boxes = base + torch.randn(base.shape, generator=gen) * jitter * wh
        boxes = _valid(boxes, image_size)
        iou = box_iou(boxes, base).diagonal() if len(base) else torch.zeros(0)
        scores = iou * (0.5 + 0.5 * torch.rand(len(base), generator=gen))
        swap = torch.rand(len(base), generator=gen) < confusion
        wrong = (
            base_labels + torch.randint(1, max(num_classes, 2), (len(base),), generator=gen)
        ) % num_classes
        base_labels = torch.where(swap & (num_classes > 1), wrong, base_labels)

        n = int(torch.poisson(torch.tensor([float(false_alarms)]), generator=gen).item())
        centre = torch.rand(n, 2, generator=gen) * image_size
        half = (0.05 + 0.2 * torch.rand(n, 2, generator=gen)) * image_size / 2
        alarms = _valid(torch.cat([centre - half, centre + half], 1), image_size)
        out.append(
            {
                "boxes": torch.cat([boxes, alarms]),
                "scores": torch.cat([scores, 0.6 * torch.rand(n, generator=gen)]),
                "labels": torch.cat(
                    [base_labels, torch.randint(0, num_classes, (n,), generator=gen)]
                ),
            }
        )
    return out


def _valid(boxes: Tensor, image_size: float) -> Tensor:
    """Clip to the image and keep every box at least one pixel wide and high."""
    boxes = boxes.clamp(0, image_size)
    x1 = torch.minimum(boxes[:, 0], boxes[:, 2]).clamp(max=image_size - 1)
    y1 = torch.minimum(boxes[:, 1], boxes[:, 3]).clamp(max=image_size - 1)
    x2 = torch.maximum(torch.maximum(boxes[:, 0], boxes[:, 2]), x1 + 1)
    y2 = torch.maximum(torch.maximum(boxes[:, 1], boxes[:, 3]), y1 + 1)
    return torch.stack([x1, y1, x2, y2], dim=1)


def random_detection_problem(
    seed: int,
    num_images: int = 4,
    num_classes: int = 3,
    max_objects: int = 5,
    disjoint: bool = True,
    image_size: float = 100.0,
) -> tuple[list[dict[str, Tensor]], list[dict[str, Tensor]]]:
    """A random evaluation problem ``(preds, targets)`` for testing AP code against references.

    Ground truth: up to ``max_objects`` boxes per image with random labels. With ``disjoint``
    the boxes of an image sit in separate cells of a 3 x 3 grid, so no detection can overlap
    two objects by IoU >= 0.5 (where the PASCAL and COCO matching rules could differ).
    Predictions: jittered copies of the objects (some far off), duplicates, random boxes and
    random labels, with random scores; images without objects or without predictions occur.
    """
    if disjoint and max_objects > 9:
        raise ValueError("disjoint problems hold at most 9 objects per image (a 3 x 3 grid)")
    gen = torch.Generator().manual_seed(seed)
    cell = image_size / 3
    preds, targets = [], []
    for _ in range(num_images):
        g = int(torch.randint(0, max_objects + 1, (1,), generator=gen))
        wh = (0.25 + 0.7 * torch.rand(g, 2, generator=gen)) * cell
        if disjoint:
            slots = torch.randperm(9, generator=gen)[:g]
            corner = torch.stack([slots % 3, slots // 3], 1) * cell
            xy = corner + torch.rand(g, 2, generator=gen) * (cell - wh)
        else:
            xy = torch.rand(g, 2, generator=gen) * (image_size - wh)
        gt = torch.cat([xy, xy + wh], 1)
        labels = torch.randint(0, num_classes, (g,), generator=gen)
        spread = torch.rand(g, 1, generator=gen) * 0.4  # some boxes land far from their object
        found = gt + torch.randn(g, 4, generator=gen) * spread * wh.repeat(1, 2)
        dup = torch.rand(g, generator=gen) < 0.3
        k = int(torch.randint(0, 4, (1,), generator=gen))
        rxy = torch.rand(k, 2, generator=gen) * image_size * 0.8
        rand = torch.cat([rxy, rxy + (0.1 + 0.3 * torch.rand(k, 2, generator=gen)) * image_size], 1)
        boxes = _valid(torch.cat([found, found[dup] + 1.0, rand]), image_size)
        plabels = torch.cat(
            [labels, labels[dup], torch.randint(0, num_classes, (k,), generator=gen)]
        )
        swap = torch.rand(len(plabels), generator=gen) < 0.1
        plabels = torch.where(
            swap, torch.randint(0, num_classes, plabels.shape, generator=gen), plabels
        )
        order = torch.randperm(len(plabels), generator=gen)  # input order unrelated to score
        preds.append(
            {
                "boxes": boxes[order],
                "scores": torch.rand(len(plabels), generator=gen),
                "labels": plabels[order],
            }
        )
        targets.append({"boxes": gt, "labels": labels})
    return preds, targets

"""The trivial detector every detection result is printed next to: random boxes.

A detector that has learned something must beat boxes drawn at random; printing both makes
"it learned" visible. The boxes follow `benchmarks/detectors.py`'s baseline (ten per image,
random classes and scores), so notebooks and the benchmark table agree.
"""

from __future__ import annotations

import torch
from torch import Tensor


def random_box_predictions(
    num_images: int,
    image_size: float,
    num_classes: int,
    boxes_per_image: int = 10,
    seed: int = 0,
) -> list[dict[str, Tensor]]:
    """Random detections in torchvision's format, one dict per image.

    Args:
        num_images: how many prediction dicts.
        image_size: side of the (square) images in pixels; boxes stay inside.
        num_classes: labels are drawn from ``0 .. num_classes - 1``.
        boxes_per_image: boxes per image.
        seed: the same seed gives the same boxes.

    Returns:
        ``[{"boxes": Tensor[K, 4], "scores": Tensor[K], "labels": Tensor[K]}, ...]`` with xyxy
        boxes whose corner lies in the first 80% of the image and whose sides are 4 to 40% of it.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    gen = torch.Generator().manual_seed(seed)
    preds = []
    for _ in range(num_images):
        xy = torch.rand(boxes_per_image, 2, generator=gen) * image_size * 0.8
        wh = torch.rand(boxes_per_image, 2, generator=gen) * image_size * 0.4 + 4
        boxes = torch.cat([xy, (xy + wh).clamp(max=image_size)], dim=1)
        preds.append(
            {
                "boxes": boxes,
                "scores": torch.rand(boxes_per_image, generator=gen),
                "labels": torch.randint(0, num_classes, (boxes_per_image,), generator=gen),
            }
        )
    return preds

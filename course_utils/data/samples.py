"""A real photograph for figures that need one: Grace Hopper, shipped with matplotlib (so it is
available offline, with no download and no file in this repository)."""

from __future__ import annotations

import matplotlib.cbook
import numpy as np
import torch
from PIL import Image

__all__ = ["sample_image"]


def sample_image(size: int | None = None, square: bool = False) -> torch.Tensor:
    """The sample photo as a float32 tensor ``[3, H, W]`` in [0, 1].

    Args:
        size: the width in pixels after resizing (antialiased); None keeps the original
            512 x 600 (width x height).
        square: centre-crop to a square (512 x 512) first, so the result is ``size x size``.
    """
    if size is not None and size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file:
        photo = Image.open(file).convert("RGB")
    if square:
        side = min(photo.size)
        left, top = (photo.width - side) // 2, (photo.height - side) // 2
        photo = photo.crop((left, top, left + side, top + side))
    if size is not None:
        photo = photo.resize((size, max(1, round(size * photo.height / photo.width))))
    return torch.from_numpy(np.asarray(photo, dtype=np.float32) / 255).permute(2, 0, 1)

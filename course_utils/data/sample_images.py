"""Real photographs that ship with an installed package, so notebooks need no download.

matplotlib installs ``grace_hopper.jpg`` (a 512 x 600 portrait of Grace Hopper, public domain)
with its sample data; `sample_image` centre-crops it to a square and resizes it.
"""

from __future__ import annotations

import matplotlib.cbook
import numpy as np
from PIL import Image


def sample_image(size: int, name: str = "grace_hopper.jpg") -> np.ndarray:
    """A square, centre-cropped photo from matplotlib's sample data.

    Args:
        size: side of the returned image in pixels (the crop is resized with a Lanczos filter).
        name: a JPEG or PNG file of ``matplotlib/mpl-data/sample_data``.
    Returns:
        ``np.ndarray[size, size, 3]`` of float32 RGB values in [0, 1].
    """
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")
    path = matplotlib.cbook.get_sample_data(name, asfileobj=False)
    with Image.open(path) as file:
        image = file.convert("RGB")
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    square = image.crop((left, top, left + side, top + side))
    square = square.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(square, dtype=np.float32) / 255.0

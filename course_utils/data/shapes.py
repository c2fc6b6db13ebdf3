"""Synthetic "Shapes" images: coloured shapes on noisy backgrounds, deterministic by seed.

They stand in for real datasets wherever a notebook must run offline or fast: every image is
generated on demand from ``(seed, index)``, so a dataset of any size costs no disk and no
download, and the same seed always gives the same pixels.

Rasterisation works on pixel centres with NumPy: a shape is a polygon (or a disc) and a pixel
belongs to it when its centre is inside (even-odd rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

SHAPE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "cross", "star")
SPLITS: tuple[str, ...] = ("train", "val", "test")


def seed_for(seed: int, split: str) -> tuple[int, ...]:
    """Entropy prefix of a split's random stream; item ``i`` uses ``default_rng([*prefix, i])``.

    The train split uses ``(seed,)`` alone; the others add a word no item index reaches
    (2**32 - 1 - k), so the splits of one seed never share an image.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    k = SPLITS.index(split)
    return (seed,) if k == 0 else (seed, 2**32 - 1 - k)


@dataclass(frozen=True)
class ShapeSpec:
    """One shape to draw: its class, centre (x, y), radius (half extent) in pixels, angle, colour."""

    label: int
    cx: float
    cy: float
    radius: float
    angle: float
    color: tuple[float, float, float]


def _polygon(label: int, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    """Vertices ``[V, 2]`` (x, y) of a polygonal shape, or an empty array for the circle."""
    name = SHAPE_CLASSES[label]
    if name == "circle":
        return np.zeros((0, 2))
    if name == "square":
        t = angle + np.pi / 4 + np.arange(4) * np.pi / 2
        radii = np.full(4, r)
    elif name == "triangle":
        t = angle - np.pi / 2 + np.arange(3) * 2 * np.pi / 3
        radii = np.full(3, r)
    elif name == "star":
        t = angle - np.pi / 2 + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, r, 0.45 * r)
    elif name == "cross":
        w = 0.35 * r
        pts = np.array(
            [
                (-w, -r),
                (w, -r),
                (w, -w),
                (r, -w),
                (r, w),
                (w, w),
                (w, r),
                (-w, r),
                (-w, w),
                (-r, w),
                (-r, -w),
                (-w, -w),
            ]
        )
        c, s = np.cos(angle), np.sin(angle)
        rot = pts @ np.array([[c, s], [-s, c]])
        return rot + np.array([cx, cy])
    else:  # pragma: no cover - guarded by SHAPE_CLASSES
        raise ValueError(f"unknown shape {name}")
    return np.stack([cx + radii * np.cos(t), cy + radii * np.sin(t)], axis=1)


def shape_window(spec: ShapeSpec, height: int, width: int) -> tuple[np.ndarray, int, int]:
    """The shape's mask restricted to the pixels around it: ``(mask [h, w] bool, y0, x0)``.

    Only the window that can contain the shape is rasterised, which keeps small shapes in large
    images cheap; ``mask`` covers rows ``y0:y0+h`` and columns ``x0:x0+w`` of the image.
    """
    verts = _polygon(spec.label, spec.cx, spec.cy, spec.radius, spec.angle)
    if verts.size == 0:  # circle
        lo_x, hi_x = spec.cx - spec.radius, spec.cx + spec.radius
        lo_y, hi_y = spec.cy - spec.radius, spec.cy + spec.radius
    else:
        lo_x, lo_y = verts.min(axis=0)
        hi_x, hi_y = verts.max(axis=0)
    # plain-Python clamping: np.clip on scalars costs more than the rasterisation of a small shape
    x0 = min(max(math.floor(lo_x - 0.5), 0), width)
    x1 = min(max(math.ceil(hi_x + 0.5), x0), width)
    y0 = min(max(math.floor(lo_y - 0.5), 0), height)
    y1 = min(max(math.ceil(hi_y + 0.5), y0), height)
    ys = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5
    xs = np.arange(x0, x1, dtype=np.float64)[None, :] + 0.5
    if verts.size == 0:
        return (xs - spec.cx) ** 2 + (ys - spec.cy) ** 2 <= spec.radius**2, y0, x0
    inside = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    ax, ay = verts[:, 0].tolist(), verts[:, 1].tolist()
    bx, by = ax[1:] + ax[:1], ay[1:] + ay[:1]  # each edge runs from vertex i to vertex i + 1
    for vax, vay, vbx, vby in zip(ax, ay, bx, by):
        if vay == vby:
            continue
        crosses = (vay > ys) != (vby > ys)
        x_at = vax + (ys - vay) * (vbx - vax) / (vby - vay)
        inside ^= crosses & (xs < x_at)
    return inside, y0, x0


def shape_mask(spec: ShapeSpec, height: int, width: int) -> np.ndarray:
    """Boolean mask ``[H, W]`` of the pixels whose centres lie inside the shape."""
    window, y0, x0 = shape_window(spec, height, width)
    mask = np.zeros((height, width), dtype=bool)
    mask[y0 : y0 + window.shape[0], x0 : x0 + window.shape[1]] = window
    return mask


def shape_box(spec: ShapeSpec, height: int, width: int) -> tuple[float, float, float, float]:
    """Tight box ``(x1, y1, x2, y2)`` of the shape's pixels, in continuous pixel coordinates."""
    mask = shape_mask(spec, height, width)
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return (spec.cx, spec.cy, spec.cx, spec.cy)
    return (float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1))


def random_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A muted background ``[H, W, 3]`` in [0, 1]: a colour gradient plus pixel noise."""
    base = rng.uniform(0.0, 0.45, size=3)
    tilt = rng.uniform(-0.2, 0.2, size=3)
    ramp = np.linspace(0.0, 1.0, width)[None, :, None] * tilt
    noise = rng.normal(0.0, 0.04, size=(height, width, 3))
    return np.clip(base + ramp + noise, 0.0, 1.0)


def random_color(rng: np.random.Generator) -> tuple[float, float, float]:
    """A saturated, bright colour that stands out from the muted backgrounds."""
    hue = rng.uniform(0, 1)
    k = (np.array([5.0, 3.0, 1.0]) + hue * 6) % 6
    rgb = 1.0 - np.clip(np.minimum(k, 4 - k), 0, 1) * rng.uniform(0.6, 0.9)
    return tuple(float(v) for v in rgb)


def paint(image: np.ndarray, spec: ShapeSpec) -> np.ndarray:
    """Paint one shape onto ``image`` (``[H, W, 3]``, modified in place); return its mask."""
    mask = shape_mask(spec, image.shape[0], image.shape[1])
    image[mask] = spec.color
    return mask


def to_tensor_image(image: np.ndarray) -> torch.Tensor:
    """``[H, W, 3]`` float array in [0, 1] -> ``[3, H, W]`` float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))


class ShapesClassification(Dataset):
    """One shape per image; the label is its class index into ``SHAPE_CLASSES``.

    Items are ``(image [3, H, W] float32 in [0, 1], label int)``. Item ``i`` depends only on
    ``(seed, split, i)``: ``split="val"`` (or another seed) gives a validation set.

    Args:
        num_images: dataset length.
        image_size: H = W in pixels (16 to 320).
        seed: base seed.
        num_classes: use only the first ``num_classes`` shapes (2 to 5).
        split: ``"train"``, ``"val"`` or ``"test"``: disjoint streams of images for one seed.
    """

    def __init__(
        self,
        num_images: int,
        image_size: int = 32,
        seed: int = 0,
        num_classes: int = 5,
        split: str = "train",
    ) -> None:
        if num_images < 0:
            raise ValueError(f"num_images must be >= 0, got {num_images}")
        if not 16 <= image_size <= 320:
            raise ValueError(f"image_size must be between 16 and 320 pixels, got {image_size}")
        if not 2 <= num_classes <= len(SHAPE_CLASSES):
            raise ValueError(f"num_classes must be 2..{len(SHAPE_CLASSES)}, got {num_classes}")
        self.num_images = num_images
        self.image_size = image_size
        self.seed = seed
        self.classes = SHAPE_CLASSES[:num_classes]
        self.split = split
        self._split_seed = seed_for(seed, split)

    def __len__(self) -> int:
        return self.num_images

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if not 0 <= index < self.num_images:
            raise IndexError(f"index {index} out of range for {self.num_images} images")
        rng = np.random.default_rng([*self._split_seed, index])
        size = self.image_size
        image = random_background(rng, size, size)
        label = int(rng.integers(len(self.classes)))
        radius = rng.uniform(0.22, 0.4) * size
        margin = radius * 1.05
        spec = ShapeSpec(
            label=label,
            cx=float(rng.uniform(margin, size - margin)),
            cy=float(rng.uniform(margin, size - margin)),
            radius=float(radius),
            angle=float(rng.uniform(0, 2 * np.pi)),
            color=random_color(rng),
        )
        paint(image, spec)
        return to_tensor_image(image), label

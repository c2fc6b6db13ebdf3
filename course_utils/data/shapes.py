"""Synthetic "Shapes" images: coloured shapes on noisy backgrounds, deterministic by seed.

They stand in for real datasets wherever a notebook must run offline or fast: every image is
generated on demand from ``(seed, index)``, so a dataset of any size costs no disk and no
download, and the same seed always gives the same pixels.

Rasterisation works on pixel centres with NumPy: a shape is a polygon (or a disc) and a pixel
belongs to it when its centre is inside (even-odd rule).
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch.utils.data import Dataset

SHAPE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "cross", "star")
SPLITS: tuple[str, ...] = ("train", "val", "test")
_BLOCK = 256  # ShapesClassification draws its random numbers per block of this many items


def seed_for(seed: int, split: str) -> tuple[int, ...]:
    """Entropy prefix of a split's random stream: ``default_rng([*prefix, i])`` generates item
    ``i`` of a scene dataset, or block ``i`` of 256 items of `ShapesClassification`.

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


def _unit_shapes() -> dict[str, np.ndarray]:
    """Vertices of each polygonal shape at radius 1 and angle 0, as complex numbers x + iy."""
    k4, k3, k10 = np.arange(4), np.arange(3), np.arange(10)
    w = 0.35
    cross = [(-w, -1), (w, -1), (w, -w), (1, -w), (1, w), (w, w), (w, 1), (-w, 1), (-w, w),
             (-1, w), (-1, -w), (-w, -w)]  # fmt: skip
    return {
        "square": np.exp(1j * (np.pi / 4 + k4 * np.pi / 2)),
        "triangle": np.exp(1j * (-np.pi / 2 + k3 * 2 * np.pi / 3)),
        "star": np.where(k10 % 2 == 0, 1.0, 0.45) * np.exp(1j * (-np.pi / 2 + k10 * np.pi / 5)),
        "cross": np.array([complex(x, y) for x, y in cross]),
    }


_UNIT = _unit_shapes()


def _vertices(label: int, cx: float, cy: float, r: float, angle: float) -> np.ndarray | None:
    """Complex vertices ``[V]`` of a polygonal shape (scaled, rotated, moved); None for a circle."""
    unit = _UNIT.get(SHAPE_CLASSES[label])
    if unit is None:
        return None
    return complex(cx, cy) + unit * (r * cmath.exp(1j * angle))


def shape_window(spec: ShapeSpec, height: int, width: int) -> tuple[np.ndarray, int, int]:
    """The shape's mask restricted to the pixels around it: ``(mask [h, w] bool, y0, x0)``.

    Only the window that can contain the shape is rasterised, which keeps small shapes in large
    images cheap; ``mask`` covers rows ``y0:y0+h`` and columns ``x0:x0+w`` of the image.
    """
    z = _vertices(spec.label, spec.cx, spec.cy, spec.radius, spec.angle)
    if z is None:  # circle
        lo_x, hi_x = spec.cx - spec.radius, spec.cx + spec.radius
        lo_y, hi_y = spec.cy - spec.radius, spec.cy + spec.radius
    else:
        lo_x, hi_x, lo_y, hi_y = z.real.min(), z.real.max(), z.imag.min(), z.imag.max()
    # plain-Python clamping: np.clip on scalars costs more than the rasterisation of a small shape
    x0 = min(max(math.floor(lo_x - 0.5), 0), width)
    x1 = min(max(math.ceil(hi_x + 0.5), x0), width)
    y0 = min(max(math.floor(lo_y - 0.5), 0), height)
    y1 = min(max(math.ceil(hi_y + 0.5), y0), height)
    ys = np.arange(y0 + 0.5, y1, dtype=np.float64)[:, None]
    xs = np.arange(x0 + 0.5, x1, dtype=np.float64)[None, :]
    if z is None:
        return (xs - spec.cx) ** 2 + (ys - spec.cy) ** 2 <= spec.radius**2, y0, x0
    # Even-odd rule, all edges at once: edge e runs from vertex e to vertex e + 1; a pixel is
    # inside when a ray to its left crosses an odd number of edges. Edges lie on axis 0, so the
    # final XOR runs over whole [h, w] planes.
    zb = np.concatenate((z[1:], z[:1]))
    ax, ay = z.real[:, None, None], z.imag[:, None, None]  # [E, 1, 1]
    bx, by = zb.real[:, None, None], zb.imag[:, None, None]
    crosses = (ay > ys) != (by > ys)  # [E, h, 1]; horizontal edges never cross
    slope = (bx - ax) / np.where(ay == by, 1.0, by - ay)
    hits = crosses & (xs < ax + (ys - ay) * slope)  # [E, h, w]
    return np.bitwise_xor.reduce(hits, axis=0), y0, x0


@lru_cache(maxsize=8)
def _noise_bank(height: int, width: int) -> np.ndarray:
    """``[2H, 2W, 3]`` float32 Gaussian noise (sigma 0.04), made once per image size.

    Drawing fresh noise for every pixel of every image was the slowest part of generation;
    a random window into this fixed bank looks the same and costs one slice.
    """
    bank = np.random.default_rng(0x5EED).standard_normal((2 * height, 2 * width, 3), np.float32)
    bank *= 0.04
    bank.setflags(write=False)
    return bank


@lru_cache(maxsize=8)
def _ramp(width: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, width, dtype=np.float32)[:, None]  # [W, 1]


BACKGROUND_DRAWS = 12  # uniforms that define one background


def background_from(u: np.ndarray, height: int, width: int) -> np.ndarray:
    """A muted ``[H, W, 3]`` float32 background from ``BACKGROUND_DRAWS`` uniforms in [0, 1):
    a colour gradient and pixel noise, half the time with faint stripes."""
    base, tilt = 0.45 * u[0:3], 0.4 * u[3:6] - 0.2
    oy, ox = int(u[6] * height), int(u[7] * width)
    shade = (base + _ramp(width) * tilt).astype(np.float32)  # [W, 3]
    image = _noise_bank(height, width)[oy : oy + height, ox : ox + width] + shade
    if u[8] < 0.5:
        wave = 2 * np.pi / (4.0 + 12.0 * u[9])  # stripe period 4 to 16 pixels
        theta = np.pi * u[10]
        xs = np.arange(width, dtype=np.float32) * np.float32(wave * math.cos(theta))
        ys = np.arange(height, dtype=np.float32) * np.float32(wave * math.sin(theta))
        amp = np.float32(0.03 + 0.05 * u[11])
        image += amp * np.sin(ys[:, None] + xs[None, :])[..., None]
    return np.clip(image, 0.0, 1.0, out=image)


def textured_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """`background_from` with uniforms drawn from ``rng``."""
    return background_from(rng.random(BACKGROUND_DRAWS), height, width)


def hue_color(hue: float, strength: float) -> tuple[float, float, float]:
    """A saturated RGB colour for ``hue`` in [0, 1); ``strength`` in [0, 1] sets saturation.

    Bright and saturated, so shapes stand out from the muted backgrounds.
    """
    h6 = (hue % 1.0) * 6
    out = []
    for offset in (5.0, 3.0, 1.0):
        k = (offset + h6) % 6
        out.append(1.0 - min(max(min(k, 4 - k), 0.0), 1.0) * strength)
    return (out[0], out[1], out[2])


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
        self._tables: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.num_images

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if not 0 <= index < self.num_images:
            raise IndexError(f"index {index} out of range for {self.num_images} images")
        u = self._uniforms(index)
        size = self.image_size
        image = background_from(u, size, size)
        u = u[BACKGROUND_DRAWS:]
        radius = (0.22 + 0.18 * u[1]) * size
        margin = radius * 1.05
        spec = ShapeSpec(
            label=int(u[0] * len(self.classes)),
            cx=float(margin + u[2] * (size - 2 * margin)),
            cy=float(margin + u[3] * (size - 2 * margin)),
            radius=float(radius),
            angle=float(u[4] * 2 * np.pi),
            color=hue_color(u[5], 0.6 + 0.3 * u[6]),
        )
        window, y0, x0 = shape_window(spec, size, size)
        image[y0 : y0 + window.shape[0], x0 : x0 + window.shape[1]][window] = spec.color
        return to_tensor_image(image), spec.label

    def _uniforms(self, index: int) -> np.ndarray:
        """The uniforms defining item ``index``: row ``index % 256`` of a table drawn per
        block of 256 items from ``(seed, split, block)`` (one generator per block, not per
        item, keeps generation fast; items stay independent of access order)."""
        block, row = divmod(index, _BLOCK)
        table = self._tables.get(block)
        if table is None:
            rng = np.random.default_rng([*self._split_seed, block])
            table = rng.random((_BLOCK, BACKGROUND_DRAWS + 7))
            if len(self._tables) >= 64:  # bound the memory of huge datasets (~2.5 MB)
                self._tables.clear()
            self._tables[block] = table
        return table[row]

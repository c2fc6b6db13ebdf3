"""Multi-object Shapes scenes for detection and segmentation, deterministic by seed.

A scene is a textured background with one to ``max_objects`` shapes painted in order, so later
shapes occlude earlier ones. Placement is rejection-sampled so that every shape keeps at least
``min_visible`` of its pixels: boxes and masks never describe an object nobody can see. Sizes
are drawn log-uniformly, which gives many small objects as well as a few large ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from .shapes import (
    SHAPE_CLASSES,
    ShapeSpec,
    hue_color,
    seed_for,
    shape_window,
    textured_background,
    to_tensor_image,
)

_GOLDEN = 0.6180339887  # hue step that keeps successive colours far apart on the colour wheel


@dataclass(frozen=True)
class Scene:
    """A generated scene.

    Attributes:
        image: ``[H, W, 3]`` float32 in [0, 1].
        specs: the shapes in painting order.
        instance: ``[H, W]`` int16; 0 is background, ``k + 1`` marks pixels where ``specs[k]``
            is visible.
        windows: ``(y0, x0, y1, x1)`` pixel ranges that contain each shape.
    """

    image: np.ndarray
    specs: list[ShapeSpec]
    instance: np.ndarray
    windows: list[tuple[int, int, int, int]]


def random_scene(
    rng: np.random.Generator,
    size: int,
    num_classes: int = len(SHAPE_CLASSES),
    min_objects: int = 1,
    max_objects: int = 6,
    min_visible: float = 0.5,
    tries: int = 20,
) -> Scene:
    """Generate one ``size`` x ``size`` scene (see the module docstring for the rules)."""
    image = textured_background(rng, size, size)
    instance = np.zeros((size, size), dtype=np.int16)
    specs: list[ShapeSpec] = []
    windows: list[tuple[int, int, int, int]] = []
    areas: list[int] = []
    visible = np.zeros(0, dtype=np.int64)
    min_r, max_r = max(3.0, 0.04 * size), max(4.0, 0.3 * size)
    hue = rng.uniform(0, 1)
    for _ in range(int(rng.integers(min_objects, max_objects + 1))):
        hue += _GOLDEN
        for _attempt in range(tries):
            radius = float(np.exp(rng.uniform(np.log(min_r), np.log(max_r))))
            spec = ShapeSpec(
                label=int(rng.integers(num_classes)),
                cx=float(rng.uniform(radius, size - radius)),
                cy=float(rng.uniform(radius, size - radius)),
                radius=radius,
                angle=float(rng.uniform(0, 2 * np.pi)),
                color=hue_color(hue, rng.uniform(0.6, 0.9)),
            )
            window, y0, x0 = shape_window(spec, size, size)
            area = int(window.sum())
            if area < 6:
                continue
            region = instance[y0 : y0 + window.shape[0], x0 : x0 + window.shape[1]]
            covered = np.bincount(region[window], minlength=len(specs) + 1)[1:]
            if np.any(visible - covered < min_visible * np.asarray(areas)):
                continue  # would hide too much of an earlier shape
            region[window] = len(specs) + 1
            image[y0 : y0 + window.shape[0], x0 : x0 + window.shape[1]][window] = spec.color
            visible = np.append(visible - covered, area)
            specs.append(spec)
            windows.append((y0, x0, y0 + window.shape[0], x0 + window.shape[1]))
            areas.append(area)
            break
    return Scene(image=image, specs=specs, instance=instance, windows=windows)


def visible_boxes(scene: Scene) -> np.ndarray:
    """Tight boxes ``[K, 4]`` (x1, y1, x2, y2) of each shape's visible pixels.

    Continuous pixel coordinates: a box around pixel columns 3..5 spans x1 = 3 to x2 = 6.
    Each shape is searched only inside its own window.
    """
    boxes = np.zeros((len(scene.specs), 4), dtype=np.float32)
    for k, (y0, x0, y1, x1) in enumerate(scene.windows):
        rows, cols = np.nonzero(scene.instance[y0:y1, x0:x1] == k + 1)
        boxes[k] = (x0 + cols.min(), y0 + rows.min(), x0 + cols.max() + 1, y0 + rows.max() + 1)
    return boxes


class _SceneDataset(Dataset):
    """Shared arguments, validation and item assembly of the scene datasets."""

    def __init__(
        self,
        num_images: int,
        image_size: int = 128,
        seed: int = 0,
        num_classes: int = len(SHAPE_CLASSES),
        max_objects: int = 6,
        split: str = "train",
        transforms: Callable | None = None,
    ) -> None:
        if num_images < 0:
            raise ValueError(f"num_images must be >= 0, got {num_images}")
        if not 32 <= image_size <= 320:
            raise ValueError(f"image_size must be between 32 and 320 pixels, got {image_size}")
        if not 1 <= num_classes <= len(SHAPE_CLASSES):
            raise ValueError(f"num_classes must be 1..{len(SHAPE_CLASSES)}, got {num_classes}")
        if max_objects < 1:
            raise ValueError(f"max_objects must be >= 1, got {max_objects}")
        self.num_images = num_images
        self.image_size = image_size
        self.seed = seed
        self.split = split
        self.max_objects = max_objects
        self.classes = SHAPE_CLASSES[:num_classes]
        self._split_seed = seed_for(seed, split)
        self.transforms = transforms

    def __len__(self) -> int:
        return self.num_images

    def scene(self, index: int) -> Scene:
        """The generated scene behind item ``index`` (image, shapes, instance map)."""
        if not 0 <= index < self.num_images:
            raise IndexError(f"index {index} out of range for {self.num_images} images")
        rng = np.random.default_rng([*self._split_seed, index])
        return random_scene(rng, self.image_size, len(self.classes), 1, self.max_objects)

    def target(self, scene: Scene) -> Any:
        raise NotImplementedError  # each dataset defines its annotation

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Any]:
        scene = self.scene(index)
        image, target = to_tensor_image(scene.image), self.target(scene)
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target


class ShapesDetection(_SceneDataset):
    """Several shapes per image (some small, some overlapping), with their boxes.

    Items are ``(image, target)``: ``image`` is ``[3, H, W]`` float32 in [0, 1]; ``target`` is
    ``{"boxes": FloatTensor[K, 4], "labels": LongTensor[K]}`` with boxes ``(x1, y1, x2, y2)`` in
    continuous pixel coordinates, tight around each object's *visible* pixels, and labels
    indexing ``SHAPE_CLASSES`` (0 = circle, ...). There is no background class: add 1 to the
    labels for models that reserve 0 for background (torchvision's Faster R-CNN).
    Item ``i`` depends only on ``(seed, split, i)``.

    Args:
        num_images: dataset length.
        image_size: H = W in pixels (32 to 320).
        seed: base seed.
        num_classes: use only the first ``num_classes`` shapes.
        max_objects: at most this many shapes per image (at least one).
        split: ``"train"``, ``"val"`` or ``"test"``: disjoint streams of images for one seed.
        transforms: optional box-aware callable ``(image, target) -> (image, target)``,
            e.g. from `course_utils.data.transforms`.
    """

    def target(self, scene: Scene) -> dict[str, torch.Tensor]:
        return {
            "boxes": torch.from_numpy(visible_boxes(scene)),
            "labels": torch.tensor([s.label for s in scene.specs], dtype=torch.int64),
        }


class ShapesSegmentation(_SceneDataset):
    """The scenes of `ShapesDetection` with a per-pixel class mask.

    Items are ``(image [3, H, W] float32 in [0, 1], mask [H, W] int64)``. Mask values:
    0 = background, ``c + 1`` = a pixel of class ``SHAPE_CLASSES[c]`` (1 = circle, 2 = square,
    ...), so a model needs ``num_classes + 1`` output channels. Arguments are those of
    `ShapesDetection` (``transforms`` then receives ``(image, mask)``); the same seed and split
    give the same images.
    """

    def target(self, scene: Scene) -> torch.Tensor:
        # lookup[k] is the class mask value of instance k (0 stays background)
        lookup = np.array([0] + [s.label + 1 for s in scene.specs], dtype=np.int64)
        return torch.from_numpy(lookup[scene.instance])

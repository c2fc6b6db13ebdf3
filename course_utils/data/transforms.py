"""Box-aware transforms and batching for detection data.

Detection items are ``(image, target)`` with ``target["boxes"]`` a ``[K, 4]`` tensor of
``(x1, y1, x2, y2)`` pixel coordinates. A transform that resizes or flips the image must move the
boxes with it; torchvision's ``transforms.v2`` knows how, once the boxes are wrapped as
``tv_tensors.BoundingBoxes``. `BoxAware` does that wrapping, so the course's items stay plain
tensors and the transforms stay torchvision's own.

    >>> tf = Compose([Resize(64), HorizontalFlip(p=1.0), Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    >>> image, target = tf(image, target)  # boxes scaled and mirrored with the image
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2

Target = dict[str, Any]
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class BoxAware:
    """Apply torchvision v2 transforms to ``(image, target)``, moving ``target["boxes"]`` along.

    ``image`` is a ``[3, H, W]`` tensor or a PIL image; other target entries (labels, difficult
    flags) pass through unchanged. The returned boxes are a plain float tensor ``[K, 4]``.
    """

    def __init__(self, *transforms: Callable) -> None:
        self.transform = transforms[0] if len(transforms) == 1 else v2.Compose(list(transforms))

    def __call__(self, image: torch.Tensor | Image.Image, target: Target):
        boxes = torch.as_tensor(target["boxes"], dtype=torch.float32)
        if boxes.ndim != 2 or boxes.shape[-1] != 4:
            raise ValueError(f'target["boxes"] must have shape [K, 4], got {tuple(boxes.shape)}')
        if isinstance(image, Image.Image):
            size = (image.height, image.width)
            wrapped = image
        else:
            size = tuple(image.shape[-2:])
            wrapped = tv_tensors.Image(image)
        boxes = tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=size)
        out_image, out_boxes = self.transform(wrapped, boxes)
        if isinstance(out_image, torch.Tensor):
            out_image = out_image.as_subclass(torch.Tensor)
        return out_image, {**target, "boxes": out_boxes.as_subclass(torch.Tensor)}

    def __repr__(self) -> str:
        return f"BoxAware({self.transform!r})"


class Compose:
    """Chain ``(image, target)`` transforms."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, image, target: Target):
        for t in self.transforms:
            image, target = t(image, target)
        return image, target


def Resize(size: int | tuple[int, int]) -> BoxAware:  # noqa: N802 - reads like a class
    """Resize to ``(H, W)`` (or the shorter side to ``size``), scaling the boxes."""
    return BoxAware(v2.Resize(size, antialias=True))


def HorizontalFlip(p: float = 0.5) -> BoxAware:  # noqa: N802
    """Mirror left-right with probability ``p``; box x coordinates become ``W - x``."""
    return BoxAware(v2.RandomHorizontalFlip(p))


def Normalize(  # noqa: N802
    mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD
) -> BoxAware:
    """Per-channel ``(x - mean) / std`` on a float tensor image; boxes unchanged."""
    return BoxAware(v2.Normalize(list(mean), list(std)))


def ToTensor() -> BoxAware:  # noqa: N802
    """PIL image (or uint8 tensor) -> ``[3, H, W]`` float32 in [0, 1]; boxes unchanged."""
    return BoxAware(v2.ToImage(), v2.ToDtype(torch.float32, scale=True))


def random_flips(
    images: torch.Tensor | Sequence[torch.Tensor],
    targets: torch.Tensor | Sequence[Target] | Sequence[torch.Tensor],
    *,
    vertical: bool = False,
    transpose: bool = False,
    generator: torch.Generator | None = None,
):
    """Flips of a batch with its annotations, each image drawn on its own: mirrored left-right
    with probability 1/2, then (``vertical``) top-bottom with probability 1/2, then
    (``transpose``) transposed with probability 1/2. With all three, every image is one of the 8
    symmetries of a square, uniformly: the right augmentation for Shapes, drawn at random angles.

    Inputs: images ``[N, 3, H, W]`` (or a list of ``[3, H_i, W_i]``); ``targets``: N detection
    dicts with ``"boxes"`` ``[K_i, 4]`` xyxy pixels (moved by torchvision's box-aware functional
    ops; other entries pass through), or N segmentation masks ``[H, W]`` (a ``[N, H, W]``
    tensor or a list), flipped pixel for pixel with their image. ``generator`` makes the draws
    reproducible (the global RNG when None). Returns ``(images, targets)``, each in its input's
    form (a stacked tensor for a tensor input). A transpose swaps x and y: square images only,
    or the batch could not stack.
    """
    if len(images) != len(targets):
        raise ValueError(f"random_flips got {len(images)} images and {len(targets)} targets")
    if transpose and any(image.shape[-1] != image.shape[-2] for image in images):
        shapes = sorted({tuple(image.shape[-2:]) for image in images})
        raise ValueError(f"random_flips(transpose=True) needs square images, got sizes {shapes}")
    out_images, out_targets = [], []
    for image, target in zip(images, targets):
        draws = torch.rand(3, generator=generator) < 0.5  # always 3 draws: the stream is stable
        mirror, upside_down, swap = (
            bool(draws[0]),
            vertical and bool(draws[1]),
            transpose and bool(draws[2]),
        )
        if isinstance(target, torch.Tensor):  # a mask: the image's own pixel moves
            target = _flip_pixels(target, mirror, upside_down, swap)
        else:
            target = {
                **target,
                "boxes": _flip_boxes(target["boxes"], image.shape[-2:], mirror, upside_down, swap),
            }
        out_images.append(_flip_pixels(image, mirror, upside_down, swap))
        out_targets.append(target)
    images_out = torch.stack(out_images) if isinstance(images, torch.Tensor) else out_images
    targets_out = torch.stack(out_targets) if isinstance(targets, torch.Tensor) else out_targets
    return images_out, targets_out


def _flip_pixels(pixels: torch.Tensor, mirror: bool, upside_down: bool, swap: bool) -> torch.Tensor:
    """``[..., H, W]`` mirrored (last axis), turned upside down, then transposed."""
    if mirror:
        pixels = v2.functional.horizontal_flip(pixels)
    if upside_down:
        pixels = v2.functional.vertical_flip(pixels)
    if swap:
        pixels = pixels.transpose(-1, -2)
    return pixels.contiguous()


def _flip_boxes(
    boxes: torch.Tensor, size: Sequence[int], mirror: bool, upside_down: bool, swap: bool
) -> torch.Tensor:
    """xyxy boxes ``[K, 4]`` on an ``(H, W)`` canvas, moved as `_flip_pixels` moves pixels."""
    boxes = tv_tensors.BoundingBoxes(
        torch.as_tensor(boxes, dtype=torch.float32), format="XYXY", canvas_size=tuple(size)
    )
    if mirror:
        boxes = v2.functional.horizontal_flip(boxes)
    if upside_down:
        boxes = v2.functional.vertical_flip(boxes)
    boxes = boxes.as_subclass(torch.Tensor)
    return boxes[:, [1, 0, 3, 2]] if swap else boxes


class RandomFlips:
    """The item version of `random_flips`, for a dataset's ``transforms``: ``(image [3, H, W],
    target) -> (image, target)``, the target a detection dict or a mask ``[H, W]``. Mirrored
    left-right with probability 1/2, then (``vertical``) top-bottom and (``transpose``)
    transposed, each with probability 1/2; boxes and masks move with the pixels. Draws come
    from torch's global RNG (each DataLoader worker seeds its own).

    Shapes scenes have no "up": all 8 symmetries of a square are fair views of them. Photos
    (VOC) do have one: use `HorizontalFlip` there.
    """

    def __init__(self, *, vertical: bool = False, transpose: bool = False) -> None:
        self.vertical, self.transpose = vertical, transpose

    def __call__(self, image: torch.Tensor, target: Target | torch.Tensor):
        [image], [target] = random_flips(
            [image], [target], vertical=self.vertical, transpose=self.transpose
        )
        return image, target

    def __repr__(self) -> str:
        return f"RandomFlips(vertical={self.vertical}, transpose={self.transpose})"


def detection_collate(batch: Sequence[tuple[Any, Target]]):
    """Batch detection items for a ``DataLoader(collate_fn=detection_collate)``.

    Returns ``(images, targets)``: ``images`` is a ``[N, 3, H, W]`` tensor when all images share
    a size (Shapes), otherwise a list of ``[3, H_i, W_i]`` tensors (VOC); ``targets`` is a list of
    the N target dicts, since each image has its own number of boxes. torchvision's detection
    models accept either form of ``images``.
    """
    if len(batch) == 0:
        raise ValueError("detection_collate got an empty batch")
    images = [item[0] for item in batch]
    targets = [item[1] for item in batch]
    if all(isinstance(im, torch.Tensor) for im in images) and (
        len({tuple(im.shape) for im in images}) == 1
    ):
        return torch.stack(images), targets
    return images, targets

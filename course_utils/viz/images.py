"""Image grids, segmentation overlays and heat maps.

Images may be tensors (``[3, H, W]``, ``[1, H, W]`` or ``[H, W]``; a batch ``[N, C, H, W]``),
NumPy arrays in the same layouts or ``[H, W, 3]``, or PIL images. Normalised tensors are turned
back into displayable [0, 1] pixels with ``mean``/``std`` (see `unnormalize`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from PIL import Image

from .style import PALETTE, subplots

ImageLike = torch.Tensor | np.ndarray | Image.Image


def unnormalize(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Undo ``Normalize(mean, std)``: ``x * std + mean`` per channel.

    Args:
        images: Tensor[C, H, W] or Tensor[N, C, H, W] with ``C == len(mean) == len(std)``.
    """
    channels = images.shape[-3] if images.ndim >= 3 else 0
    if channels != len(mean) or len(mean) != len(std):
        raise ValueError(
            f"mean/std have {len(mean)}/{len(std)} entries but the images have {channels} "
            f"channels (shape {tuple(images.shape)})"
        )
    shape = (-1, 1, 1)
    m = torch.as_tensor(mean, dtype=images.dtype, device=images.device).view(shape)
    s = torch.as_tensor(std, dtype=images.dtype, device=images.device).view(shape)
    return images * s + m


def to_display(
    image: ImageLike, mean: Sequence[float] | None = None, std: Sequence[float] | None = None
) -> np.ndarray:
    """One image as ``[H, W, 3]`` or ``[H, W]`` float NumPy array ready for ``imshow``.

    Float tensors are (un-normalised, then) clipped to [0, 1]; uint8 data is scaled by 1/255.
    """
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    array = image.detach().cpu().float() if isinstance(image, torch.Tensor) else image
    if isinstance(array, torch.Tensor):
        if mean is not None or std is not None:
            if mean is None or std is None:
                raise ValueError("give both mean and std to un-normalise, or neither")
            array = unnormalize(array, mean, std)
        array = array.numpy()
        if array.ndim == 3:  # tensors are channels first
            array = array.transpose(1, 2, 0)
    elif array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
        array = array.transpose(1, 2, 0)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] != 3):
        raise ValueError(
            f"cannot show an image of shape {array.shape}: expected [3, H, W], [1, H, W], "
            "[H, W] or [H, W, 3]"
        )
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    return np.clip(array.astype(np.float32), 0.0, 1.0)


def _as_list(images: Any) -> list[ImageLike]:
    if isinstance(images, torch.Tensor | np.ndarray) and images.ndim == 4:
        return list(images)
    if isinstance(images, torch.Tensor | np.ndarray | Image.Image):
        return [images]
    return list(images)


def show_images(
    images: Any,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    size: float = 1.8,
    cmap: str = "gray",
) -> tuple[Figure, np.ndarray]:
    """A grid of images, one per panel, axes hidden.

    Args:
        images: Tensor[N, C, H, W], a single image, or a sequence of tensors / arrays / PIL
            images (sizes may differ).
        titles: N captions (e.g. class names), optional.
        ncols: panels per row.
        mean, std: un-normalise tensors first (pass the values given to ``Normalize``).
        size: inches per panel.
        cmap: colour map for single-channel images.
    Returns:
        ``(fig, axes)``, ``axes`` a 2-D array of Axes.
    """
    items = _as_list(images)
    if not items:
        raise ValueError("show_images got no images")
    if titles is not None and len(titles) != len(items):
        raise ValueError(f"{len(titles)} titles for {len(items)} images")
    ncols = max(1, min(ncols, len(items)))
    nrows = math.ceil(len(items) / ncols)
    fig, axes = subplots(nrows, ncols, size=size, squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= len(items):
            continue
        pixels = to_display(items[index], mean, std)
        ax.imshow(pixels, cmap=cmap if pixels.ndim == 2 else None, vmin=0, vmax=1)
        if titles is not None:
            ax.set_title(str(titles[index]), fontsize=9)
    return fig, axes


def class_colormap(num_classes: int) -> ListedColormap:
    """Background (index 0) transparent, class ``c + 1`` in palette colour ``c``."""
    colors = [(0, 0, 0, 0)] + [PALETTE[c % len(PALETTE)] for c in range(num_classes)]
    return ListedColormap(colors)


def show_segmentation(
    image: ImageLike,
    mask: torch.Tensor | np.ndarray,
    classes: Sequence[str],
    alpha: float = 0.55,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """An image with its class mask drawn over it, and a legend of the classes present.

    Args:
        image: the image (any layout `to_display` accepts).
        mask: [H, W] integers, 0 = background and ``c + 1`` = ``classes[c]``
            (the `ShapesSegmentation` convention).
        classes: class names, without background.
    """
    from matplotlib.patches import Patch

    mask = np.asarray(mask.cpu() if isinstance(mask, torch.Tensor) else mask)
    if mask.max(initial=0) > len(classes) or mask.min(initial=0) < 0:
        raise ValueError(
            f"mask values must be in 0..{len(classes)}, got {mask.min()}..{mask.max()}"
        )
    if ax is None:
        fig, ax = subplots(size=3.5)
    else:
        fig = ax.figure
    ax.imshow(to_display(image))
    ax.imshow(
        mask,
        cmap=class_colormap(len(classes)),
        vmin=0,
        vmax=len(classes),
        alpha=alpha,
        interpolation="nearest",
    )
    present = [int(v) for v in np.unique(mask) if v > 0]
    handles = [Patch(color=PALETTE[(v - 1) % len(PALETTE)], label=classes[v - 1]) for v in present]
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=8)
    ax.axis("off")
    return fig, ax


def plot_heatmap(
    values: torch.Tensor | np.ndarray,
    xlabels: Sequence[str] | None = None,
    ylabels: Sequence[str] | None = None,
    annotate: bool | None = None,
    cmap: str = "viridis",
    title: str | None = None,
    ax: Axes | None = None,
    colorbar: bool = True,
) -> tuple[Figure, Axes]:
    """A matrix ``[R, C]`` as a heat map (confusion matrices, IoU tables, saliency).

    Args:
        annotate: write each value in its cell; by default only when the matrix is small
            (at most 12 x 12).
    """
    data = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values)
    if data.ndim != 2:
        raise ValueError(f"plot_heatmap needs a 2-D matrix [R, C], got shape {data.shape}")
    if ax is None:
        fig, ax = subplots(size=max(3.0, 0.45 * max(data.shape)))
    else:
        fig = ax.figure
    image = ax.imshow(data, cmap=cmap, interpolation="nearest")
    if colorbar:
        fig.colorbar(image, ax=ax, shrink=0.8)
    for labels, axis, n in ((xlabels, "x", data.shape[1]), (ylabels, "y", data.shape[0])):
        if labels is not None:
            if len(labels) != n:
                raise ValueError(f"{len(labels)} {axis} labels for {n} {axis} cells")
            getattr(ax, f"set_{axis}ticks")(range(n), [str(s) for s in labels])
    if xlabels is not None:
        ax.tick_params(axis="x", labelrotation=45)
    if annotate is None:
        annotate = max(data.shape) <= 12
    if annotate:
        threshold = (np.nanmax(data) + np.nanmin(data)) / 2
        integer = np.issubdtype(data.dtype, np.integer)
        for (r, c), v in np.ndenumerate(data):
            text = f"{v:d}" if integer else f"{v:.2g}"
            ax.text(
                c,
                r,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="black" if v > threshold else "white",
            )
    if title:
        ax.set_title(title)
    return fig, ax


def overlay_heatmap(
    image: ImageLike,
    heat: torch.Tensor | np.ndarray,
    alpha: float = 0.5,
    cmap: str = "jet",
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """A heat map ``[h, w]`` (class activation, receptive-field gradient, ...) over an image.

    The heat map is stretched to the image's extent, so a coarse ``[7, 7]`` map lines up with a
    ``[224, 224]`` image.
    """
    pixels = to_display(image)
    heat = np.asarray(heat.detach().cpu() if isinstance(heat, torch.Tensor) else heat)
    if heat.ndim != 2:
        raise ValueError(f"heat must be a 2-D map [h, w], got shape {heat.shape}")
    if ax is None:
        fig, ax = subplots(size=3.5)
    else:
        fig = ax.figure
    height, width = pixels.shape[:2]
    extent = (0, width, height, 0)  # both layers in continuous pixel coordinates
    ax.imshow(pixels, cmap="gray" if pixels.ndim == 2 else None, extent=extent)
    ax.imshow(heat, cmap=cmap, alpha=alpha, extent=extent, interpolation="bilinear")
    ax.axis("off")
    return fig, ax

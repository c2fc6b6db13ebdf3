"""Figures of the dense-prediction notebook: transposed-convolution overlap (checkerboard),
dilation gridding, RoI pooling vs RoIAlign bins, and predicted masks side by side.

Every function computes what it draws with torch operations (no exercise answer is used) and
returns the Figure, so `course_utils.widgets.explorer` can redraw it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from .images import ImageLike, class_colormap, to_display
from .style import color, subplots


def transposed_overlap(size: int, kernel_size: int, stride: int) -> torch.Tensor:
    """How many input pixels write to each output pixel of a transposed convolution.

    A ``[size, size]`` input of ones through ``conv_transpose2d`` with a ``kernel_size`` kernel
    of ones and ``stride`` (no padding): Tensor[(size - 1) * stride + kernel_size, same].
    Uneven counts in the interior (``kernel_size % stride != 0``) are the checkerboard.
    """
    if kernel_size < 1 or stride < 1:
        raise ValueError(f"kernel_size and stride must be >= 1, got {kernel_size}, {stride}")
    ones = torch.ones(1, 1, size, size)
    return F.conv_transpose2d(ones, torch.ones(1, 1, kernel_size, kernel_size), stride=stride)[0, 0]


def resize_conv_overlap(size: int, kernel_size: int, stride: int) -> torch.Tensor:
    """The same count for the fix: nearest-neighbour resize by ``stride``, then a stride-1
    ``kernel_size`` convolution of ones with "same" zero padding: Tensor[size * stride, same]."""
    up = F.interpolate(torch.ones(1, 1, size, size), scale_factor=stride, mode="nearest")
    pad_lo = (kernel_size - 1) // 2
    padded = F.pad(up, (pad_lo, kernel_size - 1 - pad_lo, pad_lo, kernel_size - 1 - pad_lo))
    return F.conv2d(padded, torch.ones(1, 1, kernel_size, kernel_size))[0, 0]


def checkerboard_figure(kernel_size: int = 3, stride: int = 2, size: int = 6) -> Figure:
    """Transposed convolution of a constant input vs resize-then-convolve.

    Panels: the overlap count of a transposed convolution (kernel of ones, constant input),
    one row of it, and the overlap count of resize-then-convolve. The interior of the first is
    uniform only when ``stride`` divides ``kernel_size``.
    """
    tconv = transposed_overlap(size, kernel_size, stride)
    resize = resize_conv_overlap(size, kernel_size, stride)
    fig, axes = subplots(1, 3, size=3.2)
    vmax = float(max(tconv.max(), resize.max()))
    for ax, data, title in (
        (axes[0], tconv, f"transposed conv: k={kernel_size}, s={stride}"),
        (axes[2], resize, f"resize x{stride} + conv k={kernel_size}"),
    ):
        image = ax.imshow(data.numpy(), cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=axes[2], shrink=0.8, label="inputs writing to the pixel")
    row = tconv.shape[0] // 2
    axes[1].step(np.arange(tconv.shape[1]), tconv[row].numpy(), where="mid", color=color(0))
    axes[1].step(
        np.arange(resize.shape[1]),
        resize[resize.shape[0] // 2].numpy(),
        where="mid",
        color=color(1),
        linestyle="--",
    )
    axes[1].legend(["transposed conv", "resize + conv"], fontsize=8, loc="lower center")
    axes[1].set_ylim(0, vmax + 0.5)
    axes[1].set_xlabel("output column")
    interior = tconv[kernel_size:-kernel_size, kernel_size:-kernel_size]
    even = interior.numel() == 0 or bool((interior == interior.flatten()[0]).all())
    axes[1].set_title(
        "uniform interior"
        if even
        else f"interior varies {int(interior.min())}..{int(interior.max())}",
        fontsize=9,
    )
    return fig


def dilation_paths(dilations: Sequence[int], size: int | None = None) -> torch.Tensor:
    """Number of paths from each input pixel to one output unit through a stack of 3 x 3
    convolutions with the given dilations (stride 1). Tensor[size, size], centred; zero means
    the pixel cannot influence the unit at all (a hole of the gridding artefact)."""
    if not dilations or min(dilations) < 1:
        raise ValueError(f"dilations must be a non-empty list of ints >= 1, got {dilations}")
    extent = 1 + 2 * sum(dilations)
    size = size or extent
    if size < extent:
        raise ValueError(f"size {size} is smaller than the receptive field {extent}")
    paths = torch.zeros(1, 1, size, size, dtype=torch.float64)
    paths[0, 0, size // 2, size // 2] = 1
    ones = torch.ones(1, 1, 3, 3, dtype=torch.float64)
    for d in dilations:  # the transposed conv spreads the unit back onto its inputs
        paths = F.conv2d(paths, ones, padding=d, dilation=d)
    return paths[0, 0]


def gridding_figure(dilations: Sequence[int] = (2, 2, 2)) -> Figure:
    """Which input pixels reach one output unit through 3 x 3 convolutions with ``dilations``,
    next to the same count for undilated convolutions of the same number of layers."""
    dilations = tuple(int(d) for d in dilations)
    extent = 1 + 2 * sum(dilations)
    fig, axes = subplots(1, 2, size=3.4)
    for ax, stack in ((axes[0], dilations), (axes[1], (1,) * len(dilations))):
        paths = dilation_paths(stack, extent)
        rf = 1 + 2 * sum(stack)
        lo, hi = (extent - rf) // 2, (extent + rf) // 2
        touched = float((paths[lo:hi, lo:hi] > 0).double().mean())
        ax.imshow(np.log1p(paths.numpy()), cmap="viridis", interpolation="nearest")
        ax.add_patch(Rectangle((lo - 0.5, lo - 0.5), rf, rf, fill=False, ec=color(3), lw=1.5))
        ax.set_title(
            f"dilations {stack}\nfield {rf}x{rf}, {100 * touched:.0f}% of it used", fontsize=9
        )
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("log(1 + paths) from each input pixel to the centre unit", fontsize=9)
    return fig


def roi_bins_figure(
    box: Sequence[float] = (3.3, 2.6, 11.9, 9.7),
    output_size: int = 2,
    spatial_scale: float = 0.5,
    sampling_ratio: int = 2,
    aligned: bool = True,
    feature_size: int = 8,
) -> Figure:
    """One RoI on a feature map: RoI pooling's quantised bins (left) vs RoIAlign's exact bins
    and bilinear sample points (right).

    Args:
        box: (x1, y1, x2, y2) in image pixels; the feature map has stride 1 / spatial_scale.
        output_size: bins per side; sampling_ratio: sample points per bin side (RoIAlign).
        aligned: RoIAlign's half-pixel shift (coordinates - 0.5 on the feature map).
    """
    x1, y1, x2, y2 = (float(v) * spatial_scale for v in box)
    fig, axes = subplots(1, 2, size=3.6)
    for ax in axes:
        for i in range(feature_size + 1):
            ax.axhline(i, color="0.8", lw=0.6)
            ax.axvline(i, color="0.8", lw=0.6)
        ax.set_xlim(0, feature_size)
        ax.set_ylim(feature_size, 0)
        ax.set_aspect("equal")
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec="black", lw=1.5, ls="--"))
    # RoI pooling (torchvision): round the corners to cells, then integer bin edges.
    qx1, qy1, qx2, qy2 = (math.floor(v + 0.5) for v in (x1, y1, x2, y2))  # C's round()
    w, h = max(qx2 - qx1 + 1, 1), max(qy2 - qy1 + 1, 1)
    for by in range(output_size):
        for bx in range(output_size):
            cx1 = qx1 + math.floor(bx * w / output_size)
            cx2 = qx1 + math.ceil((bx + 1) * w / output_size)
            cy1 = qy1 + math.floor(by * h / output_size)
            cy2 = qy1 + math.ceil((by + 1) * h / output_size)
            ax_color = color(by * output_size + bx)
            axes[0].add_patch(
                Rectangle((cx1, cy1), cx2 - cx1, cy2 - cy1, color=ax_color, alpha=0.3, lw=0)
            )
    axes[0].set_title("RoI pooling: corners and bins snap to cells", fontsize=9)
    # RoIAlign: continuous bins (cell centres at i + 0.5 when aligned) and sample points.
    offset = 0.5 if aligned else 0.0
    rx1, ry1, rx2, ry2 = x1 - offset, y1 - offset, x2 - offset, y2 - offset
    rw, rh = rx2 - rx1, ry2 - ry1
    if not aligned:
        rw, rh = max(rw, 1.0), max(rh, 1.0)
    bw, bh = rw / output_size, rh / output_size
    for by in range(output_size):
        for bx in range(output_size):
            # drawn in the grid's frame, where cell i covers [i, i + 1) and has centre i + 0.5
            left, top = rx1 + bx * bw + 0.5, ry1 + by * bh + 0.5
            axes[1].add_patch(
                Rectangle((left, top), bw, bh, color=color(by * output_size + bx), alpha=0.3, lw=0)
            )
            ys = top + (np.arange(sampling_ratio) + 0.5) * bh / sampling_ratio
            xs = left + (np.arange(sampling_ratio) + 0.5) * bw / sampling_ratio
            gx, gy = np.meshgrid(xs, ys)
            axes[1].scatter(gx.ravel(), gy.ravel(), s=12, color="black", zorder=3)
    axes[1].set_title(
        f"RoIAlign (aligned={aligned}): exact bins, {sampling_ratio}x{sampling_ratio} samples",
        fontsize=9,
    )
    return fig


def show_predictions(
    images: Sequence[ImageLike],
    masks: Sequence[torch.Tensor],
    predictions: Mapping[str, Sequence[torch.Tensor]],
    classes: Sequence[str],
    size: float = 2.4,
) -> Figure:
    """One row per image: the image, its true mask, then each model's predicted mask.

    Masks are drawn as class colours on a dark background (not over the image, whose own
    coloured shapes would be mistaken for predictions).

    Args:
        masks: [H, W] true masks (0 = background, c + 1 = ``classes[c]``).
        predictions: model name -> one predicted [H, W] mask per image.
    """
    names = ["truth", *predictions]
    cmap = class_colormap(len(classes))
    fig, axes = subplots(len(images), 1 + len(names), size=size, squeeze=False)
    for r, (image, mask) in enumerate(zip(images, masks)):
        axes[r, 0].imshow(to_display(image))
        shown = [mask, *(predictions[name][r] for name in predictions)]
        for c, m in enumerate(shown, start=1):
            m = np.asarray(m.cpu() if isinstance(m, torch.Tensor) else m)
            axes[r, c].set_facecolor("0.15")
            axes[r, c].imshow(m, cmap=cmap, vmin=0, vmax=len(classes), interpolation="nearest")
    for c, name in enumerate(["image", *names]):
        axes[0, c].set_title(name, fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    present = sorted({int(v) for m in masks for v in torch.as_tensor(m).unique() if v > 0})
    handles = [Patch(color=color(v - 1), label=classes[v - 1]) for v in present]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8)
    return fig

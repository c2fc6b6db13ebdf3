"""Figures of the convolution notebooks: activations with their derivatives, timing comparisons,
panels of 2-D maps (filters, filtered images, feature maps) and one filter's response."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from .style import color, subplots


def activation_and_derivative(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``fn(x)`` and its elementwise derivative ``fn'(x)``, the latter by torch autograd.

    Args:
        fn: an elementwise function, Tensor[N] -> Tensor[N].
        x: Tensor[N] of sample points.
    Returns:
        ``(y, dy)``, both Tensor[N] (detached).
    """
    x = x.detach().clone().requires_grad_(True)
    y = fn(x)
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        raise ValueError(
            f"{getattr(fn, '__name__', 'fn')} must return a tensor of the input's shape "
            f"{tuple(x.shape)}, got {type(y).__name__} {tuple(getattr(y, 'shape', ()))}"
        )
    # Elementwise: the gradient of sum(y) is exactly dy/dx at every point.
    (dy,) = torch.autograd.grad(y.sum(), x, allow_unused=True)
    if dy is None:
        dy = torch.zeros_like(x)
    return y.detach(), dy.detach()


def plot_activations(
    fns: Mapping[str, Callable[[torch.Tensor], torch.Tensor]],
    lo: float = -4.0,
    hi: float = 4.0,
    num: int = 801,
    size: float = 2.8,
) -> Figure:
    """One panel per activation: the function (solid) and its derivative (dashed, autograd).

    Args:
        fns: name -> elementwise function Tensor[N] -> Tensor[N].
        lo, hi, num: the sample points ``linspace(lo, hi, num)``.
    """
    if not fns:
        raise ValueError("give at least one activation, e.g. {'ReLU': torch.relu}")
    x = torch.linspace(lo, hi, num, dtype=torch.float64)
    # every function runs before the figure exists: one that raises leaves no empty grid behind
    curves = {name: activation_and_derivative(fn, x) for name, fn in fns.items()}
    fig, axes = subplots(1, len(fns), size=size, squeeze=False)
    for ax, (name, (y, dy)) in zip(axes[0], curves.items()):
        ax.axhline(0, color="0.8", lw=0.8)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.plot(x, y, color=color(0), label="f(x)")
        ax.plot(x, dy, color=color(1), ls="--", label="f'(x)")
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.legend(loc="upper left")
    return fig


def plot_timings(
    times: Mapping[str, Sequence[float]],
    cases: Sequence[str],
    ylabel: str = "time per call (ms)",
    size: float = 3.2,
) -> Figure:
    """Grouped bars of measured times on a log scale: one group per case, one bar per method.

    Args:
        times: method name -> one time per case (same order as ``cases``); NaN marks a
            method that was not run on a case (shown as "not run").
        cases: a label per case (e.g. the input size).
    """
    for name, values in times.items():
        if len(values) != len(cases):
            raise ValueError(f"{name!r} has {len(values)} times for {len(cases)} cases")
    fig, ax = subplots(1, 1, figsize=(max(size, 1.2 * len(cases) + 2), size))
    width = 0.8 / max(len(times), 1)
    centers = np.arange(len(cases))
    for i, (name, values) in enumerate(times.items()):
        offsets = centers + (i - (len(times) - 1) / 2) * width
        ax.bar(offsets, values, width, label=name, color=color(i))
        for x, value in zip(offsets, values):
            if value != value:  # NaN: that method was not run on this case
                ax.annotate(
                    "not run",
                    (x, 0),
                    xycoords=("data", "axes fraction"),
                    xytext=(0, 4),
                    textcoords="offset points",
                    rotation=90,
                    ha="center",
                    fontsize=8,
                )
    ax.set_xticks(centers, list(cases))
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.legend()
    return fig


def _as_numpy(array: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        return array.detach().float().cpu().numpy()
    return np.asarray(array)


def plot_maps(
    maps: torch.Tensor | np.ndarray | Sequence[torch.Tensor | np.ndarray],
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    size: float = 1.6,
    cmap: str = "gray",
    symmetric: bool = False,
) -> Figure:
    """A grid of 2-D maps (filters, filtered images, feature maps), each with its own scale.

    Args:
        maps: Tensor[M, H, W] (one map per panel), Tensor[M, 3, H, W] (RGB in [0, 1]), or a
            sequence of M maps ``[H_i, W_i]`` / ``[3, H_i, W_i]`` whose sizes may differ.
        titles: M labels, optional.
        symmetric: centre each map's colour scale at 0 (for signed filters and responses).
    """
    if isinstance(maps, torch.Tensor | np.ndarray):
        items = list(_as_numpy(maps))
        if _as_numpy(maps).ndim not in (3, 4):
            raise ValueError(f"maps must be [M, H, W] or [M, 3, H, W], got shape {maps.shape}")
    else:
        items = [_as_numpy(m) for m in maps]
    for index, item in enumerate(items):
        if item.ndim != 2 and not (item.ndim == 3 and item.shape[0] == 3):
            raise ValueError(f"map {index} has shape {item.shape}: expected [H, W] or [3, H, W]")
    if not items:
        raise ValueError("plot_maps got no maps")
    if titles is not None and len(titles) != len(items):
        raise ValueError(f"{len(titles)} titles for {len(items)} maps")
    count = len(items)
    ncols = max(1, min(ncols, count))
    nrows = math.ceil(count / ncols)
    fig, axes = subplots(nrows, ncols, size=size, squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= count:
            continue
        image = items[index]
        if image.ndim == 3:
            ax.imshow(np.clip(image.transpose(1, 2, 0), 0, 1))
        else:
            limit = float(np.abs(image).max()) or 1.0
            kwargs = {"vmin": -limit, "vmax": limit} if symmetric else {}
            ax.imshow(image, cmap=cmap, **kwargs)
        if titles is not None:
            ax.set_title(titles[index], fontsize=9)
    return fig


def filter_response_figure(
    image: torch.Tensor,
    kernel: torch.Tensor,
    stride: int = 1,
    title: str = "filter",
    size: float = 3.0,
) -> Figure:
    """A grayscale image, a 2-D filter and the filter's response (``F.conv2d``, "same" padding).

    Args:
        image: Tensor[H, W] (or [1, H, W]) in [0, 1].
        kernel: Tensor[kh, kw], odd sizes (so "same" padding is symmetric).
        stride: the convolution's stride; the response shrinks by about this factor.
    Returns:
        the Figure: filter (red positive, blue negative), input, response (own scale).
    """
    image = image[0] if image.ndim == 3 and image.shape[0] == 1 else image
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(
            f"image must be [H, W] and kernel [kh, kw], got {tuple(image.shape)} and "
            f"{tuple(kernel.shape)}"
        )
    if kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
        raise ValueError(f"use an odd-sized kernel for 'same' padding, got {tuple(kernel.shape)}")
    padding = (kernel.shape[0] // 2, kernel.shape[1] // 2)
    weight = kernel.to(image.dtype)[None, None]
    response = F.conv2d(image[None, None], weight, stride=stride, padding=padding)[0, 0]
    fig, (ax_k, ax_in, ax_out) = subplots(1, 3, size=size)
    kernel_np, image_np, response_np = (_as_numpy(t) for t in (kernel, image, response))
    limit = float(np.abs(kernel_np).max()) or 1.0
    ax_k.imshow(kernel_np, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (r, c), value in np.ndenumerate(kernel_np):
        ax_k.text(c, r, f"{value:.2g}", ha="center", va="center", fontsize=8)
    ax_k.set_title(title)
    ax_in.imshow(image_np, cmap="gray", vmin=0, vmax=1)
    ax_in.set_title(f"input {image.shape[0]}x{image.shape[1]}")
    ax_out.imshow(response_np, cmap="gray")
    ax_out.set_title(f"response {response.shape[0]}x{response.shape[1]} (stride {stride})")
    for ax in (ax_k, ax_in, ax_out):
        ax.set_xticks([])
        ax.set_yticks([])
    return fig

"""Grids of 2-D arrays: small matrices with their values written in, and panels of maps.

- `plot_matrices`: small 2-D arrays side by side with their values written in the cells
  (an input, its upstream gradient, the resulting ``dx`` / ``dw``, pooling routes).
- `plot_maps`: a grid of 2-D maps (filters, filtered images, feature maps), each on its own
  colour scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from .style import subplots

__all__ = ["plot_maps", "plot_matrices"]


def _as_numpy(array: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        return array.detach().float().cpu().numpy()
    return np.asarray(array)


def _to_numpy(array: torch.Tensor | np.ndarray, name: str) -> np.ndarray:
    """A 2-D float64 array, or a ValueError saying how to get one."""
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().double().numpy()
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array [H, W], got shape {array.shape}; "
            "select one image and one channel first (e.g. x[0, 0])"
        )
    return array


def plot_matrices(
    matrices: Sequence[torch.Tensor | np.ndarray],
    titles: Sequence[str] | None = None,
    annotate: bool = True,
    fmt: str = "{:.2g}",
    cmap: str = "RdBu_r",
    size: float = 2.6,
) -> Figure:
    """Draw small 2-D arrays side by side, each cell labelled with its value.

    Args:
        matrices: arrays of shape [H_i, W_i] (tensors or NumPy arrays).
        titles: one title per array.
        annotate: write the values in the cells (skip it for arrays larger than ~12 x 12).
        fmt: format of the cell labels; zeros are written as ``0``.
        cmap: a diverging map centred on zero, so positive and negative gradients differ.
    Returns:
        the Figure.
    """
    arrays = [_to_numpy(m, f"matrices[{i}]") for i, m in enumerate(matrices)]
    if not arrays:
        raise ValueError("plot_matrices needs at least one array")
    if titles is not None and len(titles) != len(arrays):
        raise ValueError(f"got {len(titles)} titles for {len(arrays)} arrays")
    fig, axes = subplots(1, len(arrays), size=size, squeeze=False)
    for i, (ax, arr) in enumerate(zip(axes[0], arrays)):
        limit = float(np.abs(arr).max()) or 1.0  # symmetric colour range: 0 is always white
        ax.imshow(arr, cmap=cmap, vmin=-limit, vmax=limit)
        ax.set_xticks(range(arr.shape[1]))
        ax.set_yticks(range(arr.shape[0]))
        ax.tick_params(length=0, labelsize=7)
        if titles is not None:
            ax.set_title(titles[i])
        if annotate:
            for (r, c), v in np.ndenumerate(arr):
                text = "0" if v == 0 else fmt.format(v)
                shade = "white" if abs(v) > 0.6 * limit else "black"
                ax.text(c, r, text, ha="center", va="center", fontsize=7, color=shade)
    return fig


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

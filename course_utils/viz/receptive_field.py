"""Figures for backpropagation through convolutions and for receptive fields.

- `plot_matrices`: small 2-D arrays side by side with their values written in the cells
  (an input, its upstream gradient, the resulting ``dx`` / ``dw``, pooling routes).
- `plot_conv1d_graph`: the 1-D convolution as a graph from inputs to outputs, highlighting the
  terms of the chain rule that reach one input (the lecture's derivation of ``dx``).
- `receptive_field_box` / `plot_receptive_field`: the input region one output unit depends on,
  drawn over an image, from the ``(size, jump, start)`` triple of a layer stack.
- `plot_effective_rf`: gradient heat maps (the *effective* receptive field of Luo et al., 2016)
  with the theoretical receptive field drawn on top.

These functions only draw: the numbers (gradients, receptive-field triples) come from the
caller, so the figures never give away an exercise.

Coordinates: pixel ``i`` covers the continuous interval ``[i, i + 1)``; ``start`` is the
centre of the first output unit's receptive field in *pixel-index* units (pixel ``i`` has its
centre at index ``i``), as in the receptive-field recurrence of the course.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .images import ImageLike, to_display
from .style import color, subplots

Pair = tuple[float, float]


def _pair(value: float | Sequence[float], name: str) -> Pair:
    """``v`` -> ``(v, v)``; ``(a, b)`` -> ``(a, b)`` (height first)."""
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value), float(value)
    values = tuple(float(v) for v in value)
    if len(values) != 2:
        raise ValueError(f"{name} must be a number or a (height, width) pair, got {value!r}")
    return values  # type: ignore[return-value]


def _to_numpy(array: torch.Tensor | np.ndarray, name: str) -> np.ndarray:
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


def plot_conv1d_graph(
    n_inputs: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    highlight_input: int | None = None,
) -> Figure:
    """The 1-D convolution ``z_j = sum_k w_k x_{j*stride + k - padding}`` drawn as a graph.

    Inputs sit on the bottom row (padding positions as hollow circles), outputs on the top row;
    each edge is labelled with the weight it multiplies. With ``highlight_input=i`` the edges
    leaving ``x_i`` are drawn thick: they are the terms of ``de/dx_i = sum_j de/dz_j dz_j/dx_i``,
    and their weights, read right to left, are the kernel flipped.
    """
    if n_inputs < 1 or kernel < 1 or stride < 1 or padding < 0:
        raise ValueError(
            f"need n_inputs >= 1, kernel >= 1, stride >= 1, padding >= 0; got "
            f"{n_inputs=}, {kernel=}, {stride=}, {padding=}"
        )
    padded = n_inputs + 2 * padding
    if padded < kernel:
        raise ValueError(f"kernel {kernel} is larger than the padded input ({padded})")
    if highlight_input is not None and not 0 <= highlight_input < n_inputs:
        raise ValueError(f"highlight_input must be in [0, {n_inputs - 1}], got {highlight_input}")
    n_out = (padded - kernel) // stride + 1
    fig, ax = subplots(1, 1, size=1.0, figsize=(max(4.0, 0.55 * padded + 1), 2.6))
    xs = np.arange(padded) - padding  # input index of each bottom node
    out_x = np.array([j * stride + (kernel - 1) / 2 for j in range(n_out)]) - padding
    for j in range(n_out):
        for k in range(kernel):
            i = j * stride + k - padding
            hot = highlight_input is not None and i == highlight_input
            ax.plot(
                [i, out_x[j]],
                [0, 1],
                color=color(3) if hot else "0.75",
                lw=2.2 if hot else 0.8,
                zorder=1,
            )
            if hot:
                ax.text(
                    (i + out_x[j]) / 2, 0.5, f"$w_{k}$", color=color(3), ha="center", fontsize=9
                )
    for x in xs:
        is_pad = x < 0 or x >= n_inputs
        face = "white" if is_pad else color(0)
        ax.scatter([x], [0], s=160, facecolor=face, edgecolor=color(0), zorder=2)
        ax.text(x, -0.22, "0" if is_pad else f"$x_{{{x}}}$", ha="center", va="top", fontsize=8)
    ax.scatter(out_x, np.ones(n_out), s=160, color=color(2), zorder=2)
    for j, x in enumerate(out_x):
        ax.text(x, 1.14, f"$z_{{{j}}}$", ha="center", va="bottom", fontsize=8)
    ax.set_xlim(xs[0] - 0.7, xs[-1] + 0.7)
    ax.set_ylim(-0.5, 1.4)
    ax.axis("off")
    title = f"1-D convolution: kernel {kernel}, stride {stride}, padding {padding}"
    if highlight_input is not None:
        title += f"; paths from $x_{{{highlight_input}}}$"
    ax.set_title(title)
    return fig


def receptive_field_box(
    unit: tuple[int, int],
    size: float | Pair,
    jump: float | Pair,
    start: float | Pair,
) -> tuple[float, float, float, float]:
    """The input region of output unit ``unit = (row, col)`` as a box ``(x1, y1, x2, y2)``.

    The unit's centre is at pixel index ``start + index * jump`` along each axis; its region
    covers ``size`` whole pixels around it. The box is in continuous pixel coordinates (pixel
    ``i`` spans ``[i, i + 1)``) and is *not* clipped: parts outside the image lie in padding.
    """
    (sh, sw), (jh, jw), (ph, pw) = _pair(size, "size"), _pair(jump, "jump"), _pair(start, "start")
    row, col = unit
    cy, cx = ph + row * jh, pw + col * jw
    return (cx + 0.5 - sw / 2, cy + 0.5 - sh / 2, cx + 0.5 + sw / 2, cy + 0.5 + sh / 2)


def plot_receptive_field(
    image: ImageLike,
    size: float | Pair,
    jump: float | Pair,
    start: float | Pair,
    unit: tuple[int, int] = (0, 0),
    out_shape: tuple[int, int] | None = None,
    title: str | None = None,
    size_inches: float = 4.2,
    max_dots: int = 32,
) -> Figure:
    """Draw the receptive field of output unit ``unit`` over ``image``.

    Args:
        image: [3, H, W] or [H, W] tensor in [0, 1], an [H, W(, 3)] array or a PIL image.
        size, jump, start: the receptive-field triple (numbers, or (height, width) pairs).
        unit: (row, col) of the output unit.
        out_shape: (H_out, W_out) of the output map; when given, every unit's centre is drawn
            as a dot and the chosen unit must lie inside it.
        title: figure title; by default the numbers are shown.
        max_dots: at most this many unit centres are drawn per axis. A denser map (a stride-1
            stack has one unit per pixel) shows every n-th unit, the chosen unit's row and
            column included, and says so, so that the dots never hide the image.
    Returns:
        the Figure. The part of the region inside the image is filled; the whole region,
        including what falls into padding, is outlined.
    """
    if max_dots < 1:
        raise ValueError(f"max_dots must be >= 1, got {max_dots}")
    img = to_display(image)
    height, width = img.shape[:2]
    if out_shape is not None and not (0 <= unit[0] < out_shape[0] and 0 <= unit[1] < out_shape[1]):
        raise ValueError(f"unit {unit} lies outside the output map of shape {out_shape}")
    x1, y1, x2, y2 = receptive_field_box(unit, size, jump, start)
    fig, ax = subplots(1, 1, size=size_inches)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, extent=(0, width, height, 0))
    cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    if cx2 > cx1 and cy2 > cy1:
        ax.add_patch(
            Rectangle((cx1, cy1), cx2 - cx1, cy2 - cy1, facecolor=color(1), alpha=0.35, lw=0)
        )
    ax.add_patch(
        Rectangle(
            (x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color(3), lw=2, ls="--", zorder=3
        )
    )
    if out_shape is not None:
        (jh, jw), (ph, pw) = _pair(jump, "jump"), _pair(start, "start")
        every = max(-(-int(n) // max_dots) for n in out_shape)  # ceil: same thinning per axis
        rows = ph + np.arange(unit[0] % every, out_shape[0], every) * jh + 0.5
        cols = pw + np.arange(unit[1] % every, out_shape[1], every) * jw + 0.5
        gy, gx = np.meshgrid(rows, cols, indexing="ij")
        ax.scatter(gx.ravel(), gy.ravel(), s=6, color="white", edgecolor="black", lw=0.3)
        if every > 1:
            ax.text(
                0.01,
                0.01,
                f"dots: the centres of one unit in {every} along each axis",
                transform=ax.transAxes,
                fontsize=7,
                color="white",
                backgroundcolor="black",
            )
    ax.scatter([(x1 + x2) / 2], [(y1 + y2) / 2], s=40, marker="x", color=color(3), zorder=3)
    pad = max(x2 - x1, y2 - y1) * 0.05
    ax.set_xlim(min(0, x1) - pad, max(width, x2) + pad)
    ax.set_ylim(max(height, y2) + pad, min(0, y1) - pad)
    ax.set_title(
        title
        if title is not None
        else f"unit {tuple(unit)}: size {size}, jump {jump}, start {start}"
    )
    return fig


def plot_effective_rf(
    maps: Mapping[str, torch.Tensor | np.ndarray],
    box: tuple[float, float, float, float] | None = None,
    size: float = 3.0,
) -> Figure:
    """Gradient heat maps, one panel per map, plus their profiles along one row.

    Args:
        maps: title -> [H, W] map of ``|d output_unit / d input|`` (any non-negative scale:
            each map is normalised to a maximum of 1). All maps share one shape.
        box: the unit's theoretical receptive field ``(x1, y1, x2, y2)`` in continuous pixel
            coordinates (see `receptive_field_box`), drawn dashed on every map. The profiles
            run along the box's middle row (the map's middle row without a box).
    Returns:
        the Figure: one heat map per entry, then a panel with the normalised row profiles.
    """
    arrays = {name: _to_numpy(m, f"maps[{name!r}]") for name, m in maps.items()}
    if not arrays:
        raise ValueError("plot_effective_rf needs at least one map")
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1:
        raise ValueError(f"all maps must have one shape, got {sorted(shapes)}")
    height, width = shapes.pop()
    row = height // 2 if box is None else int(np.clip((box[1] + box[3]) / 2, 0, height - 1))
    fig, axes = subplots(1, len(arrays) + 1, size=size, squeeze=False)
    profile_ax = axes[0, -1]
    for i, (name, arr) in enumerate(arrays.items()):
        peak = float(arr.max())
        norm = arr / peak if peak > 0 else arr
        ax = axes[0, i]
        ax.imshow(norm, cmap="magma", vmin=0, vmax=1, extent=(0, width, height, 0))
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
        if box is not None:
            x1, y1, x2, y2 = box
            ax.add_patch(
                Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec="white", ls="--", lw=1.5)
            )
        profile_ax.plot(np.arange(width) + 0.5, norm[row], label=name, color=color(i))
    if box is not None:
        profile_ax.axvspan(box[0], box[2], color="0.9", zorder=0, label="theoretical RF")
    profile_ax.set_xlabel("input column (pixels)")
    profile_ax.set_title(f"profile along row {row}")
    profile_ax.legend(fontsize=8)
    return fig

"""Receptive-field figures.

- `plot_receptive_field`: the input region one output unit depends on, drawn over an image,
  from the ``(size, jump, start)`` triple of a layer stack (the region itself:
  `course_utils.conv_geometry.receptive_field_box`).
- `receptive_field_figure`: that drawing for a whole layer stack and a unit picked by its
  relative position, with the numbers in the title (what `receptive_field_explorer` shows).
- `plot_effective_rf`: gradient heat maps (the *effective* receptive field of Luo et al., 2016)
  with the theoretical receptive field drawn on top.

These functions only draw: the numbers (gradients, receptive-field triples) come from the
caller, so the figures never give away an exercise.

Coordinates: pixel ``i`` covers the continuous interval ``[i, i + 1)``; ``start`` is the
centre of the first output unit's receptive field in *pixel-index* units (pixel ``i`` has its
centre at index ``i``), as in the receptive-field recurrence of the course.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..conv_geometry import Pair, as_pair, receptive_field_box, stack_output_size
from .arrays import _to_numpy
from .images import ImageLike, to_display
from .style import color, subplots


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
        (jh, jw), (ph, pw) = as_pair(jump, "jump"), as_pair(start, "start")
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


Layer = tuple[int, int, int, int]  # (kernel, stride, padding, dilation)


def receptive_field_figure(
    image: ImageLike,
    layers: Sequence[Layer],
    receptive_field: Callable[[Sequence[Layer]], tuple[float, float, float]],
    row: float = 0.5,
    col: float = 0.5,
    name: str = "",
    size_inches: float = 5.0,
) -> Figure:
    """The receptive field of one output unit of a layer stack, over ``image``.

    Args:
        image: [3, H, W] tensor in [0, 1] (or any `plot_receptive_field` image).
        layers: ``(kernel, stride, padding, dilation)`` per layer, input side first.
        receptive_field: ``layers -> (size, jump, start)``: the student's exercise (this
            module never computes the triple itself).
        row, col: the unit's relative position in the output map (0 = first, 1 = last).
        name: a description of the stack for the title.
    Returns:
        the Figure; its title gives the stack, the triple, the unit and the share of its field
        that lies inside the image. When the map vanishes before the last layer, unit (0, 0)
        is drawn as if the image were larger, and the title says so.
    """
    size, jump, start = receptive_field(layers)
    numbers = f"size {size}, jump {jump}, start {start:g}"
    img = to_display(image)
    height, width = img.shape[:2]
    try:
        side = stack_output_size(layers, width)
    except ValueError as empty:  # too small an image for this stack: still show the numbers
        title = f"{name}\n{numbers}\n{empty}\nunit (0, 0) drawn as if the image were larger"
        return plot_receptive_field(
            image, size, jump, start, (0, 0), title=title, size_inches=size_inches
        )
    unit = (round(row * (side - 1)), round(col * (side - 1)))
    x1, y1, x2, y2 = receptive_field_box(unit, size, jump, start)
    inside = max(0.0, min(x2, width) - max(x1, 0)) * max(0.0, min(y2, height) - max(y1, 0))
    share = inside / (x2 - x1) / (y2 - y1)
    share = f"{share:.0%}" if share == 0 or share >= 0.01 else "<1%"
    title = f"{name}\n{numbers}\nunit {unit} of the {side}x{side} map, {share} inside the image"
    return plot_receptive_field(
        image, size, jump, start, unit, (side, side), title=title, size_inches=size_inches
    )

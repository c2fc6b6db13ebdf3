"""Figures of the single-stage detector notebook (``07_single_stage/ssd_fpn_retinanet``).

`default_boxes_figure` draws a level of SSD default boxes over an image, `focal_loss_figure`
the loss curves and loss shares behind the focal-loss explorer, `pyramid_figure` the feature
maps of each pyramid level. They take boxes and numbers already computed (by the notebook's
exercises or by torchvision) and only draw them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor
from torchvision.ops import box_iou

from ..detection import check_boxes
from .detection import GT_COLOR, draw_boxes
from .images import to_display
from .style import PALETTE, color, subplots

GID_DEFAULT_BOX = "default_box"
GID_MATCHED_BOX = "matched_box"


def default_boxes_figure(
    image: Tensor,
    level_boxes: Tensor,
    grid: tuple[int, int],
    gt_boxes: Tensor | None = None,
    cell: tuple[int, int] | None = None,
    threshold: float = 0.5,
    title: str | None = None,
    size: float = 4.0,
) -> tuple[Figure, Axes]:
    """One level of default boxes over an image.

    Args:
        image (Tensor[3, H, W]): the image, in [0, 1].
        level_boxes (Tensor[h * w * A, 4]): the level's default boxes, xyxy pixels, in
            torchvision's order (row-major cells, then the A boxes of a cell).
        grid: ``(h, w)``, the level's feature-map size.
        gt_boxes (Tensor[G, 4], optional): objects, drawn dashed in white.
        cell: ``(row, col)`` whose A boxes are drawn in full; default the centre cell.
        threshold: boxes of the level whose IoU with an object reaches it are drawn too
            (thin, green): the default boxes that would be positives.
        title: the axes title; by default the numbers of boxes and of positives.

    Returns:
        ``(fig, ax)``; the cell's boxes have gid ``"default_box"``, positives ``"matched_box"``.
    """
    boxes = check_boxes(torch.as_tensor(level_boxes).detach().cpu().float(), "level_boxes")
    h, w = grid
    if h * w == 0 or boxes.shape[0] % (h * w):
        raise ValueError(f"{boxes.shape[0]} boxes do not split into a {h}x{w} grid of cells")
    per_cell = boxes.shape[0] // (h * w)
    row, col = cell if cell is not None else (h // 2, w // 2)
    if not (0 <= row < h and 0 <= col < w):
        raise ValueError(f"cell {(row, col)} is outside the {h}x{w} grid")
    fig, ax = subplots(size=size)
    ax.imshow(to_display(image), vmin=0, vmax=1)
    height, width = image.shape[-2:]
    ys = (np.arange(h) + 0.5) * height / h
    xs = (np.arange(w) + 0.5) * width / w
    gx, gy = np.meshgrid(xs, ys)
    ax.scatter(gx.ravel(), gy.ravel(), s=4, color="white", alpha=0.6, linewidths=0)
    positives = 0
    if gt_boxes is not None and len(gt_boxes):
        gt = check_boxes(torch.as_tensor(gt_boxes).detach().cpu().float(), "gt_boxes")
        draw_boxes(None, gt, ax=ax, colors=[GT_COLOR] * len(gt), linestyle="--", show_text=False)
        hit = box_iou(boxes, gt).max(dim=1).values >= threshold
        positives = int(hit.sum())
        for x1, y1, x2, y2 in boxes[hit].tolist():
            ax.add_patch(
                Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=PALETTE[2],
                          linewidth=1.0, gid=GID_MATCHED_BOX)
            )  # fmt: skip
    start = (row * w + col) * per_cell
    for a, (x1, y1, x2, y2) in enumerate(boxes[start : start + per_cell].tolist()):
        ax.add_patch(
            Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color(a + 3),
                      linewidth=1.8, gid=GID_DEFAULT_BOX)
        )  # fmt: skip
    ax.set_xlim(-0.25 * width, 1.25 * width)
    ax.set_ylim(1.25 * height, -0.25 * height)
    ax.set_axis_off()
    if title is None:
        title = (
            f"{h}x{w} cells x {per_cell} boxes = {boxes.shape[0]}; "
            f"{positives} with IoU >= {threshold:g}"
        )
    ax.set_title(title, fontsize=9)
    return fig, ax


def default_boxes_explorer_figure(
    boxes_fn: Callable[..., Tensor],
    image: Tensor,
    gt_boxes: Tensor,
    feature_sizes: Sequence[int],
    level: int = 1,
    ratios: Sequence[float] = (2,),
    s_min: float = 0.1,
    s_max: float = 0.7,
) -> tuple[Figure, Axes]:
    """The default-box explorer's figure: ``boxes_fn`` (the notebook's ``ssd_default_boxes``)
    makes the boxes of square maps ``feature_sizes`` for a square ``image`` with the same
    ``ratios`` on every level; `default_boxes_figure` draws level ``level``."""
    if not 0 <= level < len(feature_sizes):
        raise ValueError(f"level must be in 0..{len(feature_sizes) - 1}, got {level}")
    all_ratios = (tuple(ratios),) * len(feature_sizes)
    s_max = max(s_max, s_min + 0.01)  # the sliders may cross; scales must increase
    boxes = boxes_fn(list(feature_sizes), int(image.shape[-1]), s_min, s_max, all_ratios)
    per_level = [f * f * (2 + 2 * len(ratios)) for f in feature_sizes]
    if boxes.shape[0] != sum(per_level):
        raise ValueError(f"boxes_fn returned {boxes.shape[0]} boxes, expected {sum(per_level)}")
    start = sum(per_level[:level])
    size = feature_sizes[level]
    return default_boxes_figure(
        image, boxes[start : start + per_level[level]], (size, size), gt_boxes
    )


def focal_loss_figure(
    p_t: Tensor,
    curves: Mapping[str, Tensor],
    shares: Mapping[str, Mapping[str, float]],
    highlight: str | None = None,
    size: float = 3.6,
) -> tuple[Figure, np.ndarray]:
    """Loss against p_t (left) and where the total loss of a batch comes from (right).

    Args:
        p_t (Tensor[P]): probabilities of the true class, increasing.
        curves: label -> Tensor[P], the loss of one example at each ``p_t``.
        shares: loss name -> {group: fraction of that loss's total}, e.g.
            ``{"CE": {"easy negatives": 0.9, ...}, "FL": {...}}``; drawn as stacked bars.
        highlight: the label of ``curves`` drawn thick (the explorer's current setting).

    Returns:
        ``(fig, axes)`` with the two Axes.
    """
    fig, axes = subplots(1, 2, size=size, squeeze=False)
    ax = axes[0, 0]
    x = torch.as_tensor(p_t).detach().cpu().numpy()
    for i, (label, values) in enumerate(curves.items()):
        thick = label == highlight
        ax.plot(x, torch.as_tensor(values).detach().cpu().numpy(), label=label, color=color(i),
                linewidth=2.6 if thick else 1.2, alpha=1.0 if thick or highlight is None else 0.6)  # fmt: skip
    ax.set_xlabel("$p_t$ (probability of the true class)")
    ax.set_ylabel("loss of one anchor")
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.set_title("loss vs $p_t$")
    ax = axes[0, 1]
    names = list(shares)
    groups: list[str] = []
    for parts in shares.values():
        groups += [g for g in parts if g not in groups]
    bottom = np.zeros(len(names))
    for i, group in enumerate(groups):
        values = np.array([shares[n].get(group, 0.0) for n in names])
        ax.bar(names, values, bottom=bottom, color=color(i), label=group)
        for j, v in enumerate(values):
            if v >= 0.06:
                ax.text(j, bottom[j] + v / 2, f"{v:.0%}", ha="center", va="center", fontsize=8,
                        color="white")  # fmt: skip
        bottom += values
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of the batch's total loss")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("where the loss comes from")
    return fig, axes[0]


def pyramid_figure(
    rows: Mapping[str, Sequence[Tensor]],
    level_names: Sequence[str],
    image: Tensor | None = None,
    size: float = 1.9,
) -> tuple[Figure, np.ndarray]:
    """Feature maps per pyramid level: one row per source (e.g. backbone, FPN), one column per
    level, each map ``[H_l, W_l]`` on its own colour scale; the image first when given."""
    if not rows:
        raise ValueError("pyramid_figure needs at least one row of maps")
    offset = 1 if image is not None else 0
    ncols = len(level_names) + offset
    fig, axes = subplots(len(rows), ncols, size=size, squeeze=False)
    for r, (name, maps) in enumerate(rows.items()):
        if len(maps) != len(level_names):
            raise ValueError(f"row {name!r} has {len(maps)} maps for {len(level_names)} levels")
        if image is not None:
            axes[r, 0].imshow(to_display(image), vmin=0, vmax=1)
            axes[r, 0].set_title("image" if r == 0 else "", fontsize=9)
        for c, (level, m) in enumerate(zip(level_names, maps)):
            ax = axes[r, c + offset]
            data = torch.as_tensor(m).detach().float().cpu()
            ax.imshow(data.numpy(), cmap="viridis")
            ax.set_title(f"{name} {level} {tuple(data.shape)}", fontsize=8)
        for ax in axes[r]:
            ax.set_axis_off()
    return fig, axes

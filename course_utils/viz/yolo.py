"""Figures of the YOLO notebook (``07_single_stage/yolo``): the grid, the YOLO v1 loss terms,
anchor shapes and the YOLOv2 centre constraint.

The geometry here is the figures' own (which cell holds a centre, the IoU of two boxes from
``torchvision.ops``); none of it is an exercise answer: encoding targets, decoding outputs,
k-means and the YOLOv2 parameterisation are the notebook's exercises.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor
from torchvision.ops import box_iou

from .detection import GT_COLOR, draw_boxes
from .style import PALETTE, color, subplots

COLLISION_COLOR = PALETTE[3]  # vermillion
CELL_COLOR = PALETTE[5]  # sky blue

# Patch gids, so tests can find each kind of cell in a figure.
GID_CELL = "cell"
GID_COLLISION = "collision"


def _grid_lines(ax: Any, S: int, image_size: float, **style: Any) -> None:
    step = image_size / S
    for i in range(1, S):
        ax.axhline(i * step, **style)
        ax.axvline(i * step, **style)


def centre_cells(boxes: Tensor, S: int, image_size: float) -> tuple[Tensor, Tensor]:
    """``(rows, cols)`` (Tensor[K] each, int64) of the grid cell holding each box's centre.

    A centre on a cell border belongs to the cell below / to the right of it; a centre on the
    image's far edge to the last cell.
    """
    boxes = torch.as_tensor(boxes, dtype=torch.float64).reshape(-1, 4)
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    cols = torch.floor(cx * S / image_size).long().clamp(0, S - 1)
    rows = torch.floor(cy * S / image_size).long().clamp(0, S - 1)
    return rows, cols


def yolo_grid_figure(
    S: int,
    image: Tensor,
    boxes: Tensor,
    labels: Tensor | None = None,
    class_names: Sequence[str] | None = None,
    image_size: float | None = None,
    size: float = 4.2,
) -> Figure:
    """An image under YOLO v1's ``S x S`` grid: the cells holding an object's centre shaded,
    each centre marked, and the cells holding several centres outlined in red.

    A YOLO v1 cell predicts one class distribution, so of objects whose centres share a cell
    at most one can be described (the others are lost): the title counts them.

    Args:
        S: grid size.
        image (Tensor[3, H, W]): the image (square).
        boxes (Tensor[K, 4]): xyxy ground-truth boxes in pixels.
        labels (Tensor[K], optional): classes, for the box colours and captions.
        image_size: side in pixels (default: the image width).
    """
    image_size = float(image_size or image.shape[-1])
    boxes = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    rows, cols = centre_cells(boxes, S, image_size)
    fig, ax = subplots(size=size)
    draw_boxes(image, boxes, labels, class_names=class_names, ax=ax, linewidth=1.5)
    _grid_lines(ax, S, image_size, color="white", linewidth=0.8, alpha=0.7)
    step = image_size / S
    counts: dict[tuple[int, int], int] = {}
    for r, c in zip(rows.tolist(), cols.tolist()):
        counts[(r, c)] = counts.get((r, c), 0) + 1
    for (r, c), n in counts.items():
        collided = n > 1
        ax.add_patch(
            Rectangle(
                (c * step, r * step), step, step,
                facecolor=COLLISION_COLOR if collided else CELL_COLOR,
                alpha=0.45 if collided else 0.3,
                edgecolor=COLLISION_COLOR if collided else "none",
                linewidth=2.0,
                gid=GID_COLLISION if collided else GID_CELL,
            )
        )  # fmt: skip
        if collided:
            ax.text(
                c * step + step / 2, r * step + step / 2, f"{n}", color="white", fontsize=11,
                ha="center", va="center", fontweight="bold",
            )  # fmt: skip
    cx = ((boxes[:, 0] + boxes[:, 2]) / 2).tolist()
    cy = ((boxes[:, 1] + boxes[:, 3]) / 2).tolist()
    ax.plot(cx, cy, "o", color="white", markersize=4, markeredgecolor="black")
    ax.set_xlim(0, image_size)
    ax.set_ylim(image_size, 0)
    lost = sum(n - 1 for n in counts.values())
    ax.set_title(
        f"S = {S}: {len(boxes)} objects in {len(counts)} cells"
        + (f", {lost} lost (shared cell)" if lost else ", none lost"),
        fontsize=10,
    )
    return fig


def yolo_v1_loss_terms(
    pred_xyxy: Tensor,
    gt_xyxy: Tensor,
    conf: float,
    S: int,
    image_size: float,
    class_prob: float,
    num_classes: int,
    other_conf: float,
    l_coord: float = 5.0,
    l_noobj: float = 0.5,
    sqrt_wh: bool = True,
) -> dict[str, float]:
    """The YOLO v1 loss terms of one cell holding one object, for the explorer.

    The cell of the object's centre is responsible; its predictor ``pred_xyxy`` (with
    confidence ``conf``) is the one that answers for the object, the cell's other predictor
    (confidence ``other_conf``) counts as "no object". Coordinates follow the paper: (x, y)
    relative to the responsible cell, (w, h) relative to the image. The class term puts
    ``class_prob`` on the right class and spreads the rest evenly.
    """
    pred = torch.as_tensor(pred_xyxy, dtype=torch.float64).reshape(4)
    gt = torch.as_tensor(gt_xyxy, dtype=torch.float64).reshape(4)
    step = image_size / S

    def xywh(b: Tensor) -> tuple[float, float, float, float]:
        return (
            float((b[0] + b[2]) / 2 / step),
            float((b[1] + b[3]) / 2 / step),
            float((b[2] - b[0]) / image_size),
            float((b[3] - b[1]) / image_size),
        )

    gx, gy, gw, gh = xywh(gt)
    px, py, pw, ph = xywh(pred)
    col, row = math.floor(gx), math.floor(gy)
    gx, gy, px, py = gx - col, gy - row, px - col, py - row
    f = math.sqrt if sqrt_wh else (lambda v: v)
    iou = float(box_iou(pred[None], gt[None])[0, 0])
    wrong = (1 - class_prob) / max(num_classes - 1, 1)
    return {
        "coord (x, y)": l_coord * ((px - gx) ** 2 + (py - gy) ** 2),
        "size (w, h)": l_coord * ((f(pw) - f(gw)) ** 2 + (f(ph) - f(gh)) ** 2),
        "conf (object)": (conf - iou) ** 2,
        "conf (no object)": l_noobj * other_conf**2,
        "class": (1 - class_prob) ** 2 + (num_classes - 1) * wrong**2,
    }


def yolo_v1_loss_figure(
    dx: float,
    dy: float,
    scale: float,
    conf: float,
    target: str = "large",
    sqrt_wh: bool = True,
    S: int = 7,
    image_size: float = 128.0,
    class_prob: float = 0.8,
    num_classes: int = 5,
    other_conf: float = 0.2,
) -> Figure:
    """A predicted box moved (``dx, dy`` pixels) and scaled (``scale``) around a ground-truth
    box (``target``: "large" or "small"), and the YOLO v1 loss terms it gets.

    Left: the grid, the responsible cell, the ground truth (dashed) and the prediction. Right:
    each term's value (see `yolo_v1_loss_terms`); ``sqrt_wh=False`` shows the size term without
    the paper's square roots, where the same pixel error costs a small box as much as a big one.
    """
    centres = {"large": (60.0, 66.0, 56.0, 44.0), "small": (60.0, 66.0, 12.0, 10.0)}
    if target not in centres:
        raise ValueError(f"target must be one of {list(centres)}, got {target!r}")
    cx, cy, w, h = centres[target]
    gt = torch.tensor([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    pcx, pcy, pw, ph = cx + dx, cy + dy, w * scale, h * scale
    pred = torch.tensor([pcx - pw / 2, pcy - ph / 2, pcx + pw / 2, pcy + ph / 2])
    terms = yolo_v1_loss_terms(
        pred, gt, conf, S, image_size, class_prob, num_classes, other_conf, sqrt_wh=sqrt_wh
    )
    iou = float(box_iou(pred[None].double(), gt[None].double())[0, 0])
    fig, (ax, bx) = subplots(1, 2, size=3.6)
    ax.set_facecolor("#333333")
    step = image_size / S
    col, row = int(cx // step), int(cy // step)
    ax.add_patch(
        Rectangle((col * step, row * step), step, step, color=CELL_COLOR, alpha=0.5, gid=GID_CELL)
    )
    _grid_lines(ax, S, image_size, color="white", linewidth=0.6, alpha=0.5)
    draw_boxes(None, gt[None], colors=[GT_COLOR], ax=ax, linestyle="--", show_text=False)
    draw_boxes(None, pred[None], colors=[PALETTE[1]], ax=ax, show_text=False)
    ax.plot([cx], [cy], "o", color=GT_COLOR, markersize=4)
    ax.plot([pcx], [pcy], "o", color=PALETTE[1], markersize=4)
    ax.set_xlim(0, image_size)
    ax.set_ylim(image_size, 0)
    ax.set_aspect("equal")
    ax.set_axis_on()
    ax.set_title(f"IoU = {iou:.2f} (the confidence target)", fontsize=10)
    names = list(terms)
    values = [terms[n] for n in names]
    bars = bx.barh(names, values, color=[color(i) for i in range(len(names))])
    bx.invert_yaxis()
    bx.set_xlim(0, max(1.0, max(values) * 1.25))
    for bar, v in zip(bars, values):
        bx.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {v:.3f}", va="center")
    bx.set_title(f"loss of this cell = {sum(values):.3f}", fontsize=10)
    return fig


def shared_centre_iou(wh: Tensor, anchors: Tensor) -> Tensor:
    """IoU ``[N, K]`` of boxes of sizes ``wh [N, 2]`` and ``anchors [K, 2]`` placed on one
    centre (torchvision's box_iou of boxes anchored at the origin)."""
    a = torch.as_tensor(wh, dtype=torch.float64)
    b = torch.as_tensor(anchors, dtype=torch.float64)
    za, zb = torch.zeros_like(a), torch.zeros_like(b)
    return box_iou(torch.cat([za, a], 1), torch.cat([zb, b], 1))


def average_best_iou(wh: Tensor, anchors: Tensor) -> float:
    """Average over boxes ``wh [N, 2]`` of the IoU with their best anchor (shared centre):
    the number YOLOv2's Table 1 reports for a set of priors."""
    return float(shared_centre_iou(wh, anchors).max(dim=1).values.mean())


def hand_picked_anchors(k: int, smallest: float = 12.0, largest: float = 64.0) -> Tensor:
    """``k`` anchors ``[k, 2]`` (float64) chosen without looking at the data's boxes.

    Squares with sides log-spaced from ``smallest`` to ``largest`` pixels; for ``k = 9``,
    Faster R-CNN's grid of 3 scales (areas 16², 32², 64²) x 3 aspect ratios (1:2, 1:1, 2:1).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if k == 9:
        return torch.tensor(
            [[s * r**0.5, s / r**0.5] for s in (16, 32, 64) for r in (0.5, 1.0, 2.0)],
            dtype=torch.float64,
        )
    sides = torch.logspace(math.log10(smallest), math.log10(largest), k, dtype=torch.float64)
    return torch.stack([sides, sides], dim=1)


def plot_anchors(
    wh: Tensor,
    anchors: Mapping[str, Tensor],
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]] | None = None,
    size: float = 3.6,
) -> tuple[Figure, np.ndarray]:
    """Left: the (w, h) of every training box, coloured by the anchor it overlaps most, with
    each anchor set marked. Right (when ``curves`` is given): average IoU against k.

    Args:
        wh (Tensor[N, 2]): box widths and heights in pixels.
        anchors: name -> Tensor[k, 2] anchor sizes (the first set colours the points).
        curves: name -> (ks, average IoU for each k).
    """
    wh = torch.as_tensor(wh, dtype=torch.float64)
    panels = 2 if curves else 1
    fig, axes = subplots(1, panels, size=size, squeeze=False)
    ax = axes[0, 0]
    first = next(iter(anchors.values()))
    assign = shared_centre_iou(wh, first).argmax(1)
    ax.scatter(wh[:, 0], wh[:, 1], s=6, c=[color(int(a)) for a in assign], alpha=0.5, linewidths=0)
    markers = ["*", "s", "^", "D"]
    for i, (name, a) in enumerate(anchors.items()):
        a = torch.as_tensor(a, dtype=torch.float64)
        ax.scatter(
            a[:, 0], a[:, 1], marker=markers[i % 4], s=120, facecolors="none" if i else "black",
            edgecolors="black", label=name, zorder=3,
        )  # fmt: skip
    ax.set_xlabel("box width (px)")
    ax.set_ylabel("box height (px)")
    ax.set_title("training boxes and anchors", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    if curves:
        bx = axes[0, 1]
        for i, (name, (ks, ious)) in enumerate(curves.items()):
            bx.plot(list(ks), list(ious), marker="o", markersize=4, color=color(i), label=name)
        bx.set_xlabel("number of anchors k")
        bx.set_ylabel("average IoU with the best anchor")
        bx.set_ylim(0, 1)
        bx.set_title("average IoU vs k", fontsize=10)
        bx.legend(loc="lower right", fontsize=8)
    return fig, axes[0]


def plot_cell_constraint(
    centres: Mapping[str, Tensor],
    row: int,
    col: int,
    stride: float,
    image_size: float,
    size: float = 3.4,
) -> tuple[Figure, np.ndarray]:
    """Where predicted centres land for random raw outputs, one panel per parameterisation.

    Args:
        centres: name -> Tensor[M, 2] of (x, y) centres in pixels predicted by the anchor of
            cell ``(row, col)``.
        stride: cell side in pixels; the cell is outlined and the grid drawn.
    """
    fig, axes = subplots(1, len(centres), size=size, squeeze=False)
    for i, (name, pts) in enumerate(centres.items()):
        ax = axes[0, i]
        pts = torch.as_tensor(pts, dtype=torch.float64).reshape(-1, 2)
        inside = (
            (pts[:, 0] >= col * stride)
            & (pts[:, 0] <= (col + 1) * stride)
            & (pts[:, 1] >= row * stride)
            & (pts[:, 1] <= (row + 1) * stride)
        )
        _grid_lines(ax, round(image_size / stride), image_size, color="#BBBBBB", linewidth=0.6)
        ax.add_patch(
            Rectangle(
                (col * stride, row * stride), stride, stride, fill=False,
                edgecolor=PALETTE[0], linewidth=2, gid=GID_CELL,
            )
        )  # fmt: skip
        ax.scatter(pts[:, 0], pts[:, 1], s=5, color=color(i + 1), alpha=0.6)
        ax.set_xlim(0, image_size)
        ax.set_ylim(image_size, 0)
        ax.set_aspect("equal")
        share = float(inside.double().mean()) if len(pts) else float("nan")
        ax.set_title(f"{name}\n{share:.0%} of centres inside the cell", fontsize=10)
    return fig, axes[0]

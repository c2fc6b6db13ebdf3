"""Detection figures: boxes on images, precision-recall curves, and the explorers' figures.

`draw_boxes` is the course's one box-drawing function: an image with xyxy boxes coloured by
class, captioned with class names and scores. `plot_pr_curve` draws a precision-recall curve.
`iou_figure`, `pr_threshold_figure` and `nms_figure` are the plain figures behind the IoU,
confidence-threshold and NMS explorers of ``05_detection_basics``; their numbers come from
torchvision.ops and pycocotools (`course_utils.detection`), not from the exercises.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from torch import Tensor
from torchvision.ops import box_iou

from ..detection import check_boxes, detection_matches, nms, pr_curve
from .images import to_display
from .style import PALETTE, color, subplots

TP_COLOR = PALETTE[2]  # bluish green
FP_COLOR = PALETTE[3]  # vermillion
GT_COLOR = "#FFFFFF"

# Patch gids, so tests can find each kind of box in a figure.
GID_BOX = "box"
GID_INTERSECTION = "intersection"
# A thin dark outline under every box line, so a box shows on an image of its own colour
# (a green true positive on a green shape).
OUTLINE = "#000000"


def _outlined(linewidth: float) -> list:
    return [patheffects.Stroke(linewidth=linewidth + 1.5, foreground=OUTLINE), patheffects.Normal()]


def _place_captions(ax: Axes, captions: list[tuple[Text, tuple[float, float, float, float]]]):
    """Move each caption to the first spot around its box that stays inside the axes and does
    not cover a caption placed before it: above the box, inside its top, below it, inside its
    bottom (left-aligned, then right-aligned). When no spot is free, the caption goes inside
    the top of its box."""
    if not captions:
        return
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer).expanded(1.0, 1.0)
    placed: list[Bbox] = []
    for text, (x1, y1, x2, y2) in captions:
        spots = [
            (x, y, ha, va)
            for x, ha in ((x1, "left"), (x2, "right"))
            for y, va in ((y1, "bottom"), (y1, "top"), (y2, "top"), (y2, "bottom"))
        ]
        chosen = None
        for x, y, ha, va in spots:
            text.set_position((x, y))
            text.set_ha(ha)
            text.set_va(va)
            extent = text.get_window_extent(renderer).expanded(1.05, 1.15)
            inside = (
                extent.x0 >= frame.x0 - 0.5
                and extent.x1 <= frame.x1 + 0.5
                and extent.y0 >= frame.y0 - 0.5
                and extent.y1 <= frame.y1 + 0.5
            )
            if inside and not any(extent.overlaps(other) for other in placed):
                chosen = extent
                break
        if chosen is None:
            text.set_position((x1, y1))
            text.set_ha("left")
            text.set_va("top")
            chosen = text.get_window_extent(renderer)
        placed.append(chosen)


def _as_tensor(values: Any, name: str, length: int) -> Tensor | None:
    if values is None:
        return None
    tensor = torch.as_tensor(values)
    if tensor.shape != (length,):
        raise ValueError(
            f"{name} must have shape [{length}] (one per box), got {tuple(tensor.shape)}"
        )
    return tensor


def _caption(label: int | None, score: float | None, class_names: Sequence[str] | None) -> str:
    parts = []
    if label is not None:
        known = class_names is not None and 0 <= label < len(class_names)
        parts.append(class_names[label] if known else str(label))
    if score is not None:
        parts.append(f"{score:.2f}")
    return " ".join(parts)


def draw_boxes(
    image: Any,
    boxes: Tensor,
    labels: Tensor | Sequence[int] | None = None,
    scores: Tensor | Sequence[float] | None = None,
    class_names: Sequence[str] | None = None,
    colors: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    linestyle: str = "-",
    linewidth: float = 2.0,
    show_text: bool = True,
    size: float = 3.2,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> tuple[Figure, Axes]:
    """Draw xyxy boxes (with class names and scores) on an image.

    Args:
        image: Tensor[3, H, W] / [H, W, 3] array / PIL image, or None to draw onto ``ax`` as it
            is (e.g. predictions over ground truth already drawn).
        boxes (Tensor[K, 4]): ``(x1, y1, x2, y2)`` in pixels.
        labels (Tensor[K], optional): class indices; they pick the colour and the caption.
        scores (Tensor[K], optional): confidences, printed after the class name.
        class_names: names indexed by label (e.g. ``SHAPE_CLASSES``).
        colors: one colour per box, overriding the class colours (e.g. true/false positives).
        ax: draw into these Axes; a new figure is made when None.
        title, linestyle, linewidth, show_text: appearance (dashed lines suit ground truth).
        size: inches of a new figure.
        mean, std: un-normalise a normalised image tensor first.

    Returns:
        ``(fig, ax)``. Each box is a `Rectangle` patch with gid ``"box"``, drawn over a thin
        dark outline; captions sit next to their box, inside the image and clear of each other
        where there is room.
    """
    boxes = check_boxes(torch.as_tensor(boxes).detach().cpu().float().reshape(-1, 4))
    k = boxes.shape[0]
    labels_t = _as_tensor(labels, "labels", k)
    scores_t = _as_tensor(scores, "scores", k)
    if colors is not None and len(colors) != k:
        raise ValueError(f"colors must give one colour per box ({k}), got {len(colors)}")
    if ax is None:
        fig, ax = subplots(size=size)
    else:
        fig = ax.figure
    if image is not None:
        ax.imshow(to_display(image, mean, std), vmin=0, vmax=1)
    ax.set_axis_off()
    captions = []
    for i, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        label = int(labels_t[i]) if labels_t is not None else None
        score = float(scores_t[i]) if scores_t is not None else None
        edge = colors[i] if colors is not None else color(label if label is not None else 0)
        rect = Rectangle(
            (x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=edge, linewidth=linewidth,
            linestyle=linestyle, gid=GID_BOX, path_effects=_outlined(linewidth),
        )  # fmt: skip
        ax.add_patch(rect)
        text = _caption(label, score, class_names) if show_text else ""
        if text:
            artist = ax.text(
                x1, y1, text, fontsize=7, color="white", va="bottom", ha="left",
                bbox={"facecolor": edge, "edgecolor": OUTLINE, "linewidth": 0.5, "pad": 1,
                      "alpha": 0.9},
                clip_on=True,
            )  # fmt: skip
            captions.append((artist, (x1, y1, x2, y2)))
    if title is not None:
        ax.set_title(title)
    _place_captions(ax, captions)
    return fig, ax


def plot_pr_curve(
    precision: Tensor | np.ndarray,
    recall: Tensor | np.ndarray,
    ax: Axes | None = None,
    label: str | None = None,
    color: str | None = None,
    step: bool = True,
    title: str | None = "Precision-recall",
    size: float = 3.2,
) -> tuple[Figure, Axes]:
    """Draw a precision-recall curve (recall on x, precision on y, both in [0, 1]).

    Args:
        precision, recall (Tensor[D]): the curve's points in ranking order.
        ax: draw into these Axes (to overlay curves); a new figure when None.
        label: legend entry.
        step: join points with steps (a raw curve) instead of straight lines.
    """
    p = np.asarray(torch.as_tensor(precision, dtype=torch.float64).cpu()).reshape(-1)
    r = np.asarray(torch.as_tensor(recall, dtype=torch.float64).cpu()).reshape(-1)
    if p.shape != r.shape:
        raise ValueError(f"precision {p.shape} and recall {r.shape} must have the same length")
    if ax is None:
        fig, ax = subplots(size=size)
    else:
        fig = ax.figure
    kwargs = {"label": label, "color": color}
    if step:
        ax.step(r, p, where="pre", **kwargs)  # p[i] holds on (r[i-1], r[i]]: the area AP sums
    else:
        ax.plot(r, p, **kwargs)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    if title:
        ax.set_title(title)
    if label:
        ax.legend(loc="lower left")
    return fig, ax


def iou_figure(
    bx: float,
    by: float,
    bw: float,
    bh: float,
    ax1: float = 25.0,
    ay1: float = 25.0,
    aw: float = 40.0,
    ah: float = 40.0,
    canvas: float = 100.0,
) -> Figure:
    """Two boxes A and B (corner x, y, width, height) with their intersection shaded and IoU.

    The IoU comes from ``torchvision.ops.box_iou``; the title says whether B would match A
    under the PASCAL criterion (IoU >= 0.5). B always stays on the canvas: a corner that would
    push it past the edge is moved back (the box keeps its size).
    """
    bw, bh = min(bw, canvas), min(bh, canvas)
    bx, by = min(max(bx, 0.0), canvas - bw), min(max(by, 0.0), canvas - bh)
    a = torch.tensor([[ax1, ay1, ax1 + aw, ay1 + ah]], dtype=torch.float64)
    b = torch.tensor([[bx, by, bx + bw, by + bh]], dtype=torch.float64)
    iou = float(box_iou(a, b)[0, 0])
    fig, ax = subplots(size=3.6)
    ax.set_xlim(0, canvas)
    ax.set_ylim(canvas, 0)  # image coordinates: y grows downwards
    ax.set_aspect("equal")
    ix1, iy1 = max(ax1, bx), max(ay1, by)
    ix2, iy2 = min(ax1 + aw, bx + bw), min(ay1 + ah, by + bh)
    if ix2 > ix1 and iy2 > iy1:
        ax.add_patch(
            Rectangle(
                (ix1, iy1), ix2 - ix1, iy2 - iy1, color=PALETTE[6], alpha=0.6, gid=GID_INTERSECTION
            )
        )
    draw_boxes(
        None, torch.cat([a, b]).float(), colors=[PALETTE[0], PALETTE[3]], ax=ax, show_text=False
    )
    # the letter above its box's corner, or just inside it at the canvas's top edge
    for name, x, y, c in (("A", ax1, ay1, PALETTE[0]), ("B", bx, by, PALETTE[3])):
        above = y >= 0.08 * canvas
        ax.text(x + 1, y - 1 if above else y + 1, name, color=c, fontsize=10,
                va="bottom" if above else "top", fontweight="bold")  # fmt: skip
    ax.set_axis_on()
    verdict = "match" if iou >= 0.5 else "no match"
    ax.set_title(f"IoU = {iou:.3f}  ({verdict} at 0.5)")
    return fig


def pr_threshold_figure(
    threshold: float,
    images: Sequence[Tensor],
    preds: Sequence[dict[str, Tensor]],
    targets: Sequence[dict[str, Tensor]],
    label: int,
    class_names: Sequence[str] | None = None,
    iou_threshold: float = 0.5,
    max_images: int = 3,
) -> Figure:
    """The precision-recall curve of class ``label`` with the point reached at ``threshold``,
    and the first ``max_images`` images with the detections kept at that threshold:
    true positives in green, false positives in red, ground truth dashed white.

    Matches and the curve come from pycocotools (`course_utils.detection.pr_curve`).
    """
    curve = pr_curve(preds, targets, label, iou_threshold)
    flags = detection_matches(preds, targets, iou_threshold)
    shown = min(max_images, len(images))
    fig, axes = subplots(1, shown + 1, size=3.0, squeeze=False)
    name = _caption(label, None, class_names)
    plot_pr_curve(
        curve.precision, curve.recall, ax=axes[0, 0], title=f"{name}: PR @ IoU {iou_threshold:g}"
    )
    kept = int((curve.scores >= threshold).sum())
    if kept:
        p, r = float(curve.precision[kept - 1]), float(curve.recall[kept - 1])
        axes[0, 0].plot([r], [p], "o", color=FP_COLOR, markersize=8)
        # keep the label inside the axes whichever corner the point sits in
        offset = (-52 if r > 0.6 else 6, -28 if p > 0.5 else 6)
        axes[0, 0].annotate(
            f"P={p:.2f}\nR={r:.2f}", (r, p), textcoords="offset points", xytext=offset, fontsize=8
        )
    for i in range(shown):
        ax = axes[0, i + 1]
        t, pr, f = targets[i], preds[i], flags[i]
        gt = t["labels"] == label
        draw_boxes(
            images[i],
            t["boxes"][gt],
            ax=ax,
            colors=[GT_COLOR] * int(gt.sum()),
            linestyle="--",
            linewidth=1.2,
            show_text=False,
        )
        sel = (pr["labels"] == label) & (pr["scores"] >= threshold)
        colors = [
            TP_COLOR if v == 1 else (FP_COLOR if v == 0 else "#999999") for v in f[sel].tolist()
        ]
        draw_boxes(None, pr["boxes"][sel], scores=pr["scores"][sel], colors=colors, ax=ax)
        ax.set_title(f"image {i}: {int(sel.sum())} kept", fontsize=9)
    fig.suptitle(
        f"{name}, confidence >= {threshold:.2f}: {kept} of {len(curve.scores)} detections kept"
    )
    return fig


def nms_figure(
    iou_threshold: float,
    image: Tensor,
    boxes: Tensor,
    scores: Tensor,
    labels: Tensor | None = None,
    class_names: Sequence[str] | None = None,
    per_class: bool = True,
) -> Figure:
    """Candidate boxes (left) and what greedy NMS keeps at ``iou_threshold`` (right).

    NMS is ``torchvision.ops.nms`` (``batched_nms`` when ``per_class`` and labels are given).
    """
    keep = nms(boxes, scores, iou_threshold, labels=labels if per_class else None)
    fig, axes = subplots(1, 2, size=3.6)
    draw_boxes(
        image,
        boxes,
        labels,
        ax=axes[0],
        linewidth=1.0,
        show_text=False,
        title=f"{len(boxes)} candidates",
    )
    kept_labels = labels[keep] if labels is not None else None
    mode = "per class" if per_class and labels is not None else "all classes together"
    draw_boxes(
        image,
        boxes[keep],
        kept_labels,
        scores[keep],
        class_names,
        ax=axes[1],
        title=f"NMS @ {iou_threshold:.2f} ({mode}): {len(keep)} kept",
    )
    return fig

"""Figures of Assignment 3: the YOLO grid over an image, and a rotation classifier's answer.

`draw_yolo_grid` shows which cell of an ``S x S`` grid is responsible for each object (the one
holding its centre). `rotation_prediction_figure` shows an image next to a model's probabilities
for the four rotations (0, 90, 180, 270 degrees). Both take plain tensors; the numbers they show
come from the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .detection import draw_boxes
from .images import to_display
from .style import PALETTE, subplots

ROTATION_NAMES = ("0°", "90°", "180°", "270°")


def draw_yolo_grid(
    image: torch.Tensor,
    boxes: torch.Tensor,
    S: int,  # noqa: N803 - the paper's name
    labels: torch.Tensor | None = None,
    class_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    size: float = 4.0,
) -> tuple[Figure, Axes]:
    """An image with its boxes, the ``S x S`` grid, and each object's responsible cell shaded.

    Args:
        image (Tensor[3, H, W]): the image (H = W assumed for the grid).
        boxes (Tensor[K, 4]): xyxy pixels; labels (Tensor[K], optional) and class names colour
            and caption them.
        S: grid size.
    Returns:
        ``(fig, ax)``.
    """
    if S < 1:
        raise ValueError(f"S must be >= 1, got {S}")
    boxes = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    fig, ax = draw_boxes(image, boxes, labels, class_names=class_names, ax=ax, size=size)
    height, width = image.shape[-2:]
    cell_w, cell_h = width / S, height / S
    for k in range(1, S):
        ax.axvline(k * cell_w, color="white", linewidth=0.6, alpha=0.6)
        ax.axhline(k * cell_h, color="white", linewidth=0.6, alpha=0.6)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    for cx, cy in centres.tolist():
        col, row = min(int(cx // cell_w), S - 1), min(int(cy // cell_h), S - 1)
        ax.add_patch(
            Rectangle(
                (col * cell_w, row * cell_h),
                cell_w,
                cell_h,
                color=PALETTE[4],
                alpha=0.35,
                gid="responsible_cell",
            )
        )
        ax.plot([cx], [cy], marker="o", color="white", markersize=4)
    ax.set_title(f"{S} x {S} grid: shaded cells hold an object's centre")
    return fig, ax


def rotation_prediction_figure(
    image: torch.Tensor,
    probs: torch.Tensor,
    true_rotation: int | None = None,
    size: float = 2.8,
) -> tuple[Figure, Sequence[Axes]]:
    """A (rotated) image and a bar chart of predicted rotation probabilities.

    Args:
        image (Tensor[3, H, W]): the image the model saw.
        probs (Tensor[4]): probabilities of rotations 0, 90, 180, 270 degrees.
        true_rotation: the rotation applied (0..3), drawn in a different colour.
    Returns:
        ``(fig, (image_ax, bar_ax))``.
    """
    probs = torch.as_tensor(probs, dtype=torch.float32).flatten()
    if probs.shape != (4,):
        raise ValueError(f"probs must have 4 entries (one per rotation), got {tuple(probs.shape)}")
    fig, (ax_img, ax_bar) = subplots(1, 2, size=size)
    ax_img.imshow(to_display(image))
    ax_img.axis("off")
    guess = int(probs.argmax())
    title = f"predicted {ROTATION_NAMES[guess]} ({float(probs[guess]):.0%})"
    if true_rotation is not None:
        title += f"\ntrue {ROTATION_NAMES[true_rotation]}"
    ax_img.set_title(title, fontsize=9)
    colors = [PALETTE[2] if r == true_rotation else PALETTE[0] for r in range(4)]
    ax_bar.bar(range(4), probs.tolist(), color=colors)
    ax_bar.set_xticks(range(4), ROTATION_NAMES)
    ax_bar.set_ylim(0, 1)
    ax_bar.set_ylabel("probability")
    return fig, (ax_img, ax_bar)


def plot_transfer_curves(
    histories: dict[str, dict[str, Sequence[float]]], key: str = "val_acc", size: float = 3.6
) -> tuple[Figure, Axes]:
    """One curve per experiment: ``histories[name][key]`` against the epoch.

    Args:
        histories: experiment name -> a `fit` History (or any mapping of metric lists).
        key: the metric to draw, e.g. ``"val_acc"``.
    Returns:
        ``(fig, ax)``.
    """
    fig, ax = subplots(1, 1, size=size)
    for i, (name, history) in enumerate(histories.items()):
        values = list(history[key])
        ax.plot(
            range(1, len(values) + 1),
            values,
            marker="o",
            color=PALETTE[i % len(PALETTE)],
            label=name,
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    ax.legend(fontsize=8)
    fig.set_size_inches(size * 1.6, size)
    return fig, ax

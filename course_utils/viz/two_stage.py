"""Figures of the two-stage detector notebooks (``06_two_stage``).

- `roi_pool_figure`: an RoI on a feature-map grid, its bins and what each bin outputs, for
  RoI pooling (quantised bins, the winning cell of each bin) or RoIAlign (continuous bins and
  their bilinear sample points). The explorer of section "RoI pooling" redraws it.
- `roi_backward_figure`: where the gradient of RoI pooling lands (each bin's argmax; overlapping
  RoIs add up).
- `smooth_l1_figure`: smooth-L1 next to L1 and L2, with their derivatives.
- `plot_time_vs_proposals`: measured time per image against the number of proposals.
- `anchor_figure`: anchors over an image, coloured by their assignment to the ground truth.
- `proposals_figure`: region proposals before and after NMS and top-k.

All numbers come from torchvision (``roi_pool``, ``roi_align``, ``AnchorGenerator``,
``Matcher``, ``nms``) and ``torch.nn.functional``, never from the notebooks' exercises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.ops
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor

from .detection import draw_boxes
from .style import PALETTE, color, subplots

POS_COLOR = PALETTE[2]
NEG_COLOR = PALETTE[3]
IGNORE_COLOR = PALETTE[1]


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int | float) else tuple(value)


def roi_pool_bins(height: int, width: int, roi: Sequence[float], output_size, spatial_scale):
    """Which feature-map cells each RoI-pooling bin covers, as torchvision computes them.

    Found by pooling a one-hot feature map per cell with ``torchvision.ops.roi_pool``: cell
    ``c`` belongs to bin ``(i, j)`` exactly when channel ``c`` pools to 1 there.

    Returns:
        Tensor[ph, pw, height, width] (bool).
    """
    ph, pw = _pair(output_size)
    onehot = torch.eye(height * width).reshape(1, height * width, height, width)
    rois = torch.tensor([[0.0, *roi]])
    pooled = torchvision.ops.roi_pool(onehot, rois, (ph, pw), spatial_scale)[0]  # [HW, ph, pw]
    return (pooled > 0.5).permute(1, 2, 0).reshape(ph, pw, height, width)


def roi_pool_figure(
    x1: float,
    y1: float,
    width: float,
    height: float,
    output_size: int,
    features: Tensor,
    spatial_scale: float,
    kind: str = "pool",
    sampling_ratio: int = 2,
) -> Figure:
    """An RoI (image pixels) over a feature map, with the bins of RoI pooling or RoIAlign.

    Args:
        x1, y1, width, height: the RoI in image pixels.
        output_size: bins per side.
        features (Tensor[H, W]): one feature channel; cell ``(r, c)`` covers
            ``[c, c + 1] x [r, r + 1]`` in feature-map units.
        spatial_scale: feature-map units per image pixel.
        kind: ``"pool"``: the RoI is rounded to whole cells and split into bins of whole cells
            (possibly overlapping or empty); each bin outputs its largest cell (marked).
            ``"align"``: no rounding; each bin averages ``sampling_ratio**2`` bilinear samples
            (dots), as ``roi_align(aligned=True)`` does.
    """
    if kind not in ("pool", "align"):
        raise ValueError(f'kind must be "pool" or "align", got {kind!r}')
    feats = torch.as_tensor(features, dtype=torch.float32)
    fh, fw = feats.shape
    roi = [x1, y1, x1 + width, y1 + height]
    n = int(output_size)
    fig, axes = subplots(1, 2, size=3.8)
    ax = axes[0]
    ax.imshow(feats.numpy(), cmap="Greys_r", extent=(0, fw, fh, 0), interpolation="nearest")
    for r in range(fh + 1):
        ax.axhline(r, color="0.6", lw=0.3)
    for c in range(fw + 1):
        ax.axvline(c, color="0.6", lw=0.3)
    rx1, ry1, rx2, ry2 = (v * spatial_scale for v in roi)
    ax.add_patch(Rectangle((rx1, ry1), rx2 - rx1, ry2 - ry1, fill=False, ec="white", lw=2, ls="--"))
    batch = torch.tensor([[0.0, *roi]])
    if kind == "pool":
        out = torchvision.ops.roi_pool(feats[None, None], batch, n, spatial_scale)[0, 0]
        bins = roi_pool_bins(fh, fw, roi, n, spatial_scale)
        empty = 0
        for i in range(n):
            for j in range(n):
                cells = bins[i, j].nonzero()
                if len(cells) == 0:
                    empty += 1
                    continue
                (r0, c0), (r1, c1) = cells.min(0).values.tolist(), cells.max(0).values.tolist()
                edge = color(i * n + j)
                ax.add_patch(
                    Rectangle((c0 + 0.08, r0 + 0.08), c1 - c0 + 0.84, r1 - r0 + 0.84, fill=False,
                              ec=edge, lw=1.5)
                )  # fmt: skip
                values = torch.where(bins[i, j], feats, torch.tensor(-float("inf")))
                win = int(values.reshape(-1).argmax())  # the first maximum, like torchvision
                ax.plot(win % fw + 0.5, win // fw + 0.5, "o", color=edge, ms=6, mec="white")
        title = f"RoIPool: rounded to cells, {n}x{n} bins"
        title += f" ({empty} empty)" if empty else ""
    else:
        out = torchvision.ops.roi_align(
            feats[None, None], batch, n, spatial_scale, sampling_ratio=sampling_ratio, aligned=True
        )[0, 0]
        bw, bh = (rx2 - rx1) / n, (ry2 - ry1) / n
        for i in range(n):
            for j in range(n):
                edge = color(i * n + j)
                ax.add_patch(
                    Rectangle((rx1 + j * bw, ry1 + i * bh), bw, bh, fill=False, ec=edge, lw=1.2)
                )
                s = (np.arange(sampling_ratio) + 0.5) / sampling_ratio
                xs, ys = np.meshgrid(rx1 + (j + s) * bw, ry1 + (i + s) * bh)
                ax.plot(xs.ravel(), ys.ravel(), ".", color=edge, ms=4)
        title = f"RoIAlign: exact bins, {sampling_ratio}x{sampling_ratio} samples each"
    ax.set_xlim(0, fw)
    ax.set_ylim(fh, 0)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("feature-map column")
    ax.set_ylabel("feature-map row")
    vmin, vmax = float(feats.min()), float(feats.max())
    axes[1].imshow(out.numpy(), cmap="Greys_r", vmin=vmin, vmax=vmax, interpolation="nearest")
    for i in range(n):
        for j in range(n):
            axes[1].add_patch(
                Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec=color(i * n + j), lw=2)
            )
    axes[1].set_title(f"output [{n} x {n}]", fontsize=9)
    axes[1].set_axis_off()
    return fig


def roi_backward_figure(
    features: Tensor, rois: Tensor, output_size: int, spatial_scale: float
) -> Figure:
    """Where RoI pooling sends the gradient of the sum of its outputs.

    Args:
        features (Tensor[H, W]): one channel.
        rois (Tensor[R, 4]): xyxy in image pixels (R is 1 or more).
    Each panel shows, per feature-map cell, how many output bins picked it (``roi_pool``'s
    backward through torch autograd): one panel per RoI, then all RoIs together.
    """
    feats = torch.as_tensor(features, dtype=torch.float32)
    rois = torch.as_tensor(rois, dtype=torch.float32).reshape(-1, 4)
    fh, fw = feats.shape
    grads = []
    for box in [*rois, None]:
        x = feats[None, None].clone().requires_grad_(True)
        boxes = rois if box is None else box[None]
        batch = torch.cat([torch.zeros(len(boxes), 1), boxes], dim=1)
        torchvision.ops.roi_pool(x, batch, output_size, spatial_scale).sum().backward()
        grads.append(x.grad[0, 0])
    vmax = float(grads[-1].max())
    fig, axes = subplots(1, len(grads), size=3.0, squeeze=False)
    for k, (ax, g) in enumerate(zip(axes[0], grads)):
        ax.imshow(g.numpy(), cmap="magma", vmin=0, vmax=max(vmax, 1), extent=(0, fw, fh, 0))
        shown = rois if k == len(rois) else rois[k : k + 1]
        for i, (a, b, c, d) in enumerate((shown * spatial_scale).tolist()):
            ax.add_patch(
                Rectangle((a, b), c - a, d - b, fill=False, ec=color(i if k == len(rois) else k),
                          lw=1.5, ls="--")
            )  # fmt: skip
        where = f"RoI {k}" if k < len(rois) else "all RoIs"
        ax.set_title(f"{where}: gradient (max {float(g.max()):g})", fontsize=9)
        ax.set_axis_off()
    return fig


def smooth_l1_figure(beta: float = 1.0, lim: float = 3.0) -> Figure:
    """Smooth-L1 (``F.smooth_l1_loss``) next to L1 and L2 (``x**2 / 2``), and the derivatives
    (torch autograd): quadratic inside ``|x| < beta``, linear outside."""
    x = torch.linspace(-lim, lim, 601, dtype=torch.float64, requires_grad=True)
    curves = {
        "L1 |x|": x.abs(),
        "L2 x²/2": 0.5 * x**2,
        f"smooth-L1, beta={beta:g}": F.smooth_l1_loss(x, torch.zeros_like(x), beta=beta,
                                                      reduction="none"),
    }  # fmt: skip
    fig, axes = subplots(1, 2, size=3.4)
    for i, (name, y) in enumerate(curves.items()):
        (dy,) = torch.autograd.grad(y.sum(), x)
        axes[0].plot(x.detach(), y.detach(), color=color(i), label=name)
        axes[1].plot(x.detach(), dy, color=color(i), label=name)
    for ax in axes:
        if beta > 0:
            ax.axvspan(-beta, beta, color="0.92")
        ax.set_xlabel("x = prediction - target")
    axes[0].set_ylim(0, lim)
    axes[0].set_title("loss")
    axes[1].set_ylim(-lim, lim)
    axes[1].set_title("derivative (what the gradient step sees)")
    axes[0].legend(loc="upper center", fontsize=8)
    return fig


def plot_time_vs_proposals(
    counts: Sequence[int], times: Mapping[str, Sequence[float]], size: float = 3.6
) -> Figure:
    """Measured milliseconds per image against the number of proposals, one line per model."""
    fig, ax = subplots(size=size)
    for i, (name, values) in enumerate(times.items()):
        ax.plot(counts, values, marker="o", color=color(i), label=name)
    ax.set_xlabel("proposals per image")
    ax.set_ylabel("ms per image")
    ax.set_title("Detection time per image")
    ax.legend()
    return fig


def anchor_figure(
    image: Tensor,
    gt_boxes: Tensor,
    stride: int,
    size: int,
    aspect_ratios: Sequence[float] = (0.5, 1.0, 2.0),
    scales: Sequence[float] = (1.0, 2.0),
    high: float = 0.7,
    low: float = 0.3,
    max_ignored: int = 40,
) -> Figure:
    """Anchors over an image, coloured by their assignment to its ground truth.

    Anchors: torchvision's ``AnchorGenerator`` with sizes ``size * scales`` and
    ``aspect_ratios`` on a grid of ``stride`` pixels; assignment: torchvision's ``Matcher``
    (``high`` / ``low``, low-quality matches allowed). Positives are drawn in green, up to
    ``max_ignored`` ignored anchors in orange; each anchor position is a dot, red when all its
    anchors are negatives.
    """
    from torchvision.models.detection._utils import Matcher
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.image_list import ImageList

    if not 0 <= low <= high <= 1:
        raise ValueError(f"need 0 <= low <= high <= 1, got low={low}, high={high}")
    h, w = image.shape[-2:]
    sizes = tuple(int(round(size * s)) for s in scales)
    gen = AnchorGenerator((sizes,), (tuple(aspect_ratios),))
    grid = torch.zeros(1, 1, max(h // stride, 1), max(w // stride, 1))
    anchors = gen(ImageList(image[None], [(h, w)]), [grid])[0]
    matches = Matcher(high, low, allow_low_quality_matches=True)(
        torchvision.ops.box_iou(gt_boxes, anchors)
    )
    pos, neg, ign = matches >= 0, matches == -1, matches == -2
    fig, ax = draw_boxes(image, gt_boxes, colors=["white"] * len(gt_boxes), linestyle="--",
                         show_text=False, size=4.2)  # fmt: skip
    per_location = anchors.reshape(grid.shape[2], grid.shape[3], -1, 4)
    centres = (per_location[..., 0, :2] + per_location[..., 0, 2:]) / 2
    all_neg = neg.reshape(grid.shape[2], grid.shape[3], -1).all(-1)
    ax.scatter(centres[..., 0][all_neg], centres[..., 1][all_neg], s=3, color=NEG_COLOR)
    ax.scatter(centres[..., 0][~all_neg], centres[..., 1][~all_neg], s=6, color="white")
    ignored = anchors[ign][:max_ignored]
    draw_boxes(None, ignored, colors=[IGNORE_COLOR] * len(ignored), ax=ax, linewidth=0.6)
    draw_boxes(None, anchors[pos], colors=[POS_COLOR] * int(pos.sum()), ax=ax, linewidth=1.2)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_title(
        f"{len(anchors)} anchors: {int(pos.sum())} positive, {int(ign.sum())} ignored, "
        f"{int(neg.sum())} negative",
        fontsize=9,
    )
    return fig


def proposals_figure(
    image: Tensor,
    boxes: Tensor,
    scores: Tensor,
    nms_threshold: float,
    top_k: int,
    gt_boxes: Tensor | None = None,
    shown_before: int = 60,
) -> Figure:
    """Region proposals before (left: the ``shown_before`` best) and after NMS at
    ``nms_threshold`` and keeping the ``top_k`` best (right), with the proposals' recall of
    ``gt_boxes`` at IoU 0.5 when given. NMS is ``torchvision.ops.nms``."""
    order = scores.argsort(descending=True)
    boxes, scores = boxes[order], scores[order]
    keep = torchvision.ops.nms(boxes, scores, nms_threshold)[:top_k]
    fig, axes = subplots(1, 2, size=3.6)
    titles = [f"best {min(shown_before, len(boxes))} of {len(boxes)} candidates",
              f"NMS @ {nms_threshold:.2f}, top {top_k}: {len(keep)} kept"]  # fmt: skip
    for ax, chosen, title in zip(axes, (torch.arange(min(shown_before, len(boxes))), keep),
                                 titles):  # fmt: skip
        draw_boxes(image, boxes[chosen], colors=[PALETTE[5]] * len(chosen), ax=ax,
                   linewidth=0.8, show_text=False)  # fmt: skip
        if gt_boxes is not None and len(gt_boxes):
            draw_boxes(None, gt_boxes, colors=["white"] * len(gt_boxes), ax=ax, linestyle="--",
                       show_text=False)  # fmt: skip
            iou = torchvision.ops.box_iou(gt_boxes, boxes[chosen])
            found = int((iou.amax(1) >= 0.5).sum()) if len(chosen) else 0
            title += f"\nrecall@0.5 = {found}/{len(gt_boxes)}"
        ax.set_title(title, fontsize=9)
    return fig

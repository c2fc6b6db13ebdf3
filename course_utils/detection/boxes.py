"""Box formats, validation and NMS for the detection notebooks.

The course stores boxes as ``(x1, y1, x2, y2)`` ("xyxy") in continuous pixel coordinates: a box
covering pixel columns 3..5 is ``x1 = 3, x2 = 6``, so its width is ``x2 - x1`` with no "+1".
Datasets and detectors also use ``(x, y, w, h)`` ("xywh", COCO's annotation format) and
``(cx, cy, w, h)`` ("cxcywh", YOLO's and DETR's). Conversion, clipping and NMS delegate to
``torchvision.ops`` once the input is validated (with messages a student can act on).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.ops import batched_nms as _tv_batched_nms
from torchvision.ops import box_convert as _tv_box_convert
from torchvision.ops import clip_boxes_to_image as _tv_clip_boxes_to_image
from torchvision.ops import nms as _tv_nms

BOX_FORMATS: tuple[str, ...] = ("xyxy", "xywh", "cxcywh")


def check_boxes(boxes: Tensor, name: str = "boxes", fmt: str = "xyxy") -> Tensor:
    """Validate a box tensor and return it unchanged.

    Args:
        boxes (Tensor[K, 4]): boxes in ``fmt``; ``K`` may be 0.
        name: how the error message refers to the tensor.
        fmt: one of ``BOX_FORMATS``; for "xyxy" the corners must satisfy ``x1 <= x2, y1 <= y2``,
            for the others widths and heights must be non-negative.

    Raises:
        TypeError / ValueError saying what is wrong and how to fix it.
    """
    if not isinstance(boxes, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape [K, 4], got {type(boxes).__name__}"
        )
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(
            f"{name} must have shape [K, 4], got {tuple(boxes.shape)}; "
            "use boxes.reshape(-1, 4) for a single box or an empty torch.zeros(0, 4)"
        )
    if not boxes.is_floating_point():
        raise TypeError(f"{name} must be a float tensor, got {boxes.dtype}; call boxes.float()")
    if fmt not in BOX_FORMATS:
        raise ValueError(f"unknown box format {fmt!r}; use one of {BOX_FORMATS}")
    if not torch.isfinite(boxes).all():
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    if fmt == "xyxy":
        sizes = boxes[:, 2:] - boxes[:, :2]
        hint = "(x1, y1, x2, y2) needs x1 <= x2 and y1 <= y2; convert xywh boxes with box_convert"
    else:
        sizes = boxes[:, 2:]
        hint = "widths and heights must be >= 0"
    if (sizes < 0).any():
        bad = int((sizes < 0).any(dim=1).nonzero()[0])
        raise ValueError(f"{name}[{bad}] = {boxes[bad].tolist()} is not a valid {fmt} box: {hint}")
    return boxes


def box_convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """Convert boxes between "xyxy", "xywh" and "cxcywh".

    Args:
        boxes (Tensor[K, 4]): boxes in ``in_fmt``.
        in_fmt, out_fmt: one of ``BOX_FORMATS``.

    Returns:
        Tensor[K, 4]: the same boxes in ``out_fmt`` (a new tensor; same dtype and device).
    """
    check_boxes(boxes, fmt=in_fmt)
    if out_fmt not in BOX_FORMATS:
        raise ValueError(f"unknown box format {out_fmt!r}; use one of {BOX_FORMATS}")
    if in_fmt == out_fmt:  # torchvision returns its input then; the promise is a new tensor
        return boxes.clone()
    return _tv_box_convert(boxes, in_fmt, out_fmt)


def clip_boxes(boxes: Tensor, height: int, width: int) -> Tensor:
    """Clip xyxy boxes ``[K, 4]`` to an image of ``height`` x ``width`` pixels
    (``torchvision.ops.clip_boxes_to_image`` after validating both)."""
    check_boxes(boxes)
    if height < 0 or width < 0:
        raise ValueError(f"image size must be non-negative, got height {height}, width {width}")
    return _tv_clip_boxes_to_image(boxes, (int(height), int(width)))


def nms(
    boxes: Tensor, scores: Tensor, iou_threshold: float, labels: Tensor | None = None
) -> Tensor:
    """Greedy non-maximum suppression (``torchvision.ops.nms`` / ``batched_nms``).

    Args:
        boxes (Tensor[K, 4]): xyxy boxes.
        scores (Tensor[K]): confidences.
        iou_threshold: a box is dropped when its IoU with a kept, higher-scoring box is
            greater than this.
        labels (Tensor[K], optional): class of each box; when given, suppression happens only
            within a class (per-class NMS, as detectors do at inference).

    Returns:
        Tensor[k] (int64): indices of the kept boxes, by decreasing score.
    """
    check_boxes(boxes)
    if scores.shape != (boxes.shape[0],):
        raise ValueError(
            f"scores must have shape [{boxes.shape[0]}] (one per box), got {tuple(scores.shape)}"
        )
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
    scores = scores.to(boxes.dtype)
    if labels is None:
        return _tv_nms(boxes, scores, iou_threshold)
    if labels.shape != scores.shape:
        raise ValueError(
            f"labels must have shape [{boxes.shape[0]}] like scores, got {tuple(labels.shape)}"
        )
    return _tv_batched_nms(boxes, scores, labels, iou_threshold)

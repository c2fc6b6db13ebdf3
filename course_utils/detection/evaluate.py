"""Detection evaluation for the whole course, computed by pycocotools.

Every detector notebook reports its results with `evaluate_detections`: COCO's AP at each IoU
threshold and per class (101-point interpolated precision, at most ``max_detections`` boxes per
image and class), mAP@0.5 and AP@[.5:.95]. The matching, the curves and the interpolation are
pycocotools' own, so these numbers are the benchmark's numbers, independent of the notebook
exercises that re-derive them.

Inputs use torchvision's detection format, one dict per image:
predictions ``{"boxes": Tensor[K, 4], "scores": Tensor[K], "labels": Tensor[K]}``,
targets ``{"boxes": Tensor[G, 4], "labels": Tensor[G]}`` with an optional
``"difficult": Tensor[G]`` (bool). Boxes are xyxy in pixels.

"Difficult" objects become pycocotools ignore regions: a detection matched to one counts
neither as a true nor as a false positive, and they are not counted in the recall.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from contextlib import redirect_stdout
from dataclasses import dataclass

import numpy as np
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from torch import Tensor

from .boxes import box_convert, check_boxes

# COCO's IoU thresholds 0.50:0.05:0.95, written out so they are exactly pycocotools' values.
COCO_IOU_THRESHOLDS: tuple[float, ...] = tuple(
    float(t) for t in np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1)
)

Prediction = Mapping[str, Tensor]
Target = Mapping[str, Tensor]


def _check_image(entry: Mapping[str, Tensor], keys: tuple[str, ...], what: str, i: int) -> int:
    """Validate one image's dict; return its number of boxes."""
    if not isinstance(entry, Mapping):
        raise TypeError(f"{what}[{i}] must be a dict with keys {keys}, got {type(entry).__name__}")
    missing = [k for k in keys if k not in entry]
    if missing:
        raise ValueError(f"{what}[{i}] is missing {missing}; expected keys {keys}")
    boxes = check_boxes(entry["boxes"], name=f"{what}[{i}]['boxes']")
    k = boxes.shape[0]
    for key in keys[1:] + (("difficult",) if "difficult" in entry else ()):
        value = entry[key]
        if not isinstance(value, Tensor) or value.shape != (k,):
            shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise ValueError(f"{what}[{i}]['{key}'] must be a tensor of shape [{k}], got {shape}")
    return k


def check_detections(preds: Sequence[Prediction], targets: Sequence[Target]) -> None:
    """Raise a clear error unless ``preds`` and ``targets`` are lists of per-image dicts in the
    course's detection format (see the module docstring), one prediction per target."""
    if isinstance(preds, Mapping) or isinstance(targets, Mapping):
        raise TypeError("preds and targets must be lists with one dict per image; wrap one in [ ]")
    if len(preds) != len(targets):
        raise ValueError(
            f"got {len(preds)} prediction dicts for {len(targets)} target dicts: "
            "there must be exactly one of each per image (use empty tensors for no boxes)"
        )
    for i, (p, t) in enumerate(zip(preds, targets)):
        _check_image(p, ("boxes", "scores", "labels"), "preds", i)
        _check_image(t, ("boxes", "labels"), "targets", i)


class _DifficultAwareCOCOeval(COCOeval):
    """COCOeval whose ground truth may carry a ``difficult`` flag, treated as an ignore region.

    Plain pycocotools only ignores crowd boxes, which also change how IoU is computed; a
    difficult object is an ordinary box that is simply not scored.
    """

    def _prepare(self) -> None:
        super()._prepare()
        for gts in self._gts.values():
            for gt in gts:
                gt["ignore"] = int(bool(gt["ignore"]) or bool(gt.get("difficult", 0)))


def _coco(dataset: dict) -> COCO:
    coco = COCO()
    coco.dataset = dataset
    with redirect_stdout(io.StringIO()):  # pycocotools prints progress to stdout
        coco.createIndex()
    return coco


def _annotations(entries: Sequence[Mapping[str, Tensor]], with_scores: bool) -> list[dict]:
    anns = []
    for image_id, entry in enumerate(entries, start=1):
        xywh = box_convert(entry["boxes"].detach().cpu().double(), "xyxy", "xywh")
        labels = entry["labels"].detach().cpu().tolist()
        difficult = entry.get("difficult")
        flags = difficult.detach().cpu().tolist() if difficult is not None else [0] * len(labels)
        scores = entry["scores"].detach().cpu().double().tolist() if with_scores else None
        for j, (box, label) in enumerate(zip(xywh.tolist(), labels)):
            # ids start at 1: pycocotools treats a match with id 0 as "unmatched"
            ann = {
                "id": len(anns) + 1,
                "image_id": image_id,
                "category_id": int(label),
                "bbox": box,
                "area": box[2] * box[3],
                "iscrowd": 0,
            }
            if with_scores:
                ann["score"] = scores[j]
            else:
                ann["difficult"] = int(bool(flags[j]))
            anns.append(ann)
    return anns


def _run_cocoeval(
    preds: Sequence[Prediction],
    targets: Sequence[Target],
    iou_thresholds: Sequence[float],
    max_detections: int,
) -> tuple[_DifficultAwareCOCOeval, list[int]]:
    check_detections(preds, targets)
    thresholds = np.asarray(iou_thresholds, dtype=np.float64).reshape(-1)
    if thresholds.size == 0 or ((thresholds < 0) | (thresholds > 1)).any():
        raise ValueError(f"iou_thresholds must be values in [0, 1], got {list(iou_thresholds)}")
    if max_detections < 1:
        raise ValueError(f"max_detections must be >= 1, got {max_detections}")
    classes = sorted({int(c) for e in list(targets) + list(preds) for c in e["labels"].tolist()})
    images = [{"id": i} for i in range(1, len(targets) + 1)]
    categories = [{"id": c} for c in classes]
    gt = _coco(
        {"images": images, "categories": categories, "annotations": _annotations(targets, False)}
    )
    dt = _coco(
        {"images": images, "categories": categories, "annotations": _annotations(preds, True)}
    )
    ev = _DifficultAwareCOCOeval(gt, dt, iouType="bbox")
    ev.params.imgIds = [im["id"] for im in images]
    ev.params.catIds = classes
    ev.params.iouThrs = thresholds
    ev.params.maxDets = [int(max_detections)]
    ev.params.areaRng = [[0.0, float("inf")]]  # one range: all boxes, whatever their size
    ev.params.areaRngLbl = ["all"]
    with redirect_stdout(io.StringIO()):
        ev.evaluate()
        if classes:
            ev.accumulate()
    return ev, classes


@dataclass(frozen=True)
class DetectionMetrics:
    """COCO average precision per IoU threshold and class.

    Attributes:
        ap (Tensor[T, C], float64): AP at ``iou_thresholds[t]`` for ``classes[c]``; NaN for a
            class without (non-difficult) ground truth, which no mean includes.
        iou_thresholds: the T thresholds.
        classes: the C labels seen in the predictions or the targets, sorted.
        num_gt: number of non-difficult ground-truth boxes per class.
    """

    ap: Tensor
    iou_thresholds: tuple[float, ...]
    classes: tuple[int, ...]
    num_gt: tuple[int, ...]

    def _row(self, iou_threshold: float) -> Tensor:
        for t, value in enumerate(self.iou_thresholds):
            if math.isclose(value, iou_threshold, abs_tol=1e-9):
                return self.ap[t]
        raise KeyError(
            f"IoU threshold {iou_threshold} was not evaluated; available: {self.iou_thresholds}"
        )

    @staticmethod
    def _mean(values: Tensor) -> float:
        valid = values[~values.isnan()]
        return float(valid.mean()) if valid.numel() else float("nan")

    @property
    def map(self) -> float:
        """AP averaged over all IoU thresholds and classes (COCO's AP@[.5:.95] by default)."""
        return self._mean(self.ap)

    def map_at(self, iou_threshold: float) -> float:
        """mAP over classes at one of the evaluated IoU thresholds."""
        return self._mean(self._row(iou_threshold))

    @property
    def map_50(self) -> float:
        """mAP at IoU 0.5 (the PASCAL criterion, with COCO's 101-point interpolation)."""
        return self.map_at(0.5)

    def per_class(self, iou_threshold: float | None = None) -> dict[int, float]:
        """label -> AP at ``iou_threshold`` (averaged over all thresholds when None)."""
        values = self.ap.nanmean(dim=0) if iou_threshold is None else self._row(iou_threshold)
        return {c: float(v) for c, v in zip(self.classes, values)}

    def summary(self, class_names: Sequence[str] | None = None) -> str:
        """A small text table: one line per class, then the means."""
        thresholds = [
            t for t in (0.5, 0.75) if any(math.isclose(t, u) for u in self.iou_thresholds)
        ]
        header = f"{'class':<12}{'#gt':>5}" + "".join(f"{f'AP@{t:g}':>9}" for t in thresholds)
        header += f"{'AP':>9}"
        lines = [header]
        columns = [self.per_class(t) for t in thresholds] + [self.per_class()]
        for i, c in enumerate(self.classes):
            name = class_names[c] if class_names is not None and 0 <= c < len(class_names) else c
            cells = "".join(f"{col[c]:>9.3f}" for col in columns)
            lines.append(f"{str(name):<12}{self.num_gt[i]:>5}{cells}")
        means = "".join(f"{self.map_at(t):>9.3f}" for t in thresholds) + f"{self.map:>9.3f}"
        lines.append(f"{'mean':<12}{sum(self.num_gt):>5}{means}")
        return "\n".join(lines)


def evaluate_detections(
    preds: Sequence[Prediction],
    targets: Sequence[Target],
    iou_thresholds: Sequence[float] = COCO_IOU_THRESHOLDS,
    max_detections: int = 100,
) -> DetectionMetrics:
    """COCO-style average precision of detections against ground truth (pycocotools).

    Args:
        preds: one dict per image: ``boxes`` (Tensor[K, 4], xyxy), ``scores`` (Tensor[K]),
            ``labels`` (Tensor[K], int).
        targets: one dict per image: ``boxes`` (Tensor[G, 4], xyxy), ``labels`` (Tensor[G]),
            optionally ``difficult`` (Tensor[G], bool).
        iou_thresholds: IoU thresholds to evaluate (default COCO's 0.50, 0.55, ..., 0.95);
            a detection matches a ground-truth box when their IoU is >= the threshold.
        max_detections: keep at most this many highest-scoring detections per image and class.

    Returns:
        `DetectionMetrics`: ``.map`` (AP@[.5:.95]), ``.map_50``, ``.per_class()``,
        ``.summary()``.

    Example:
        >>> metrics = evaluate_detections(preds, targets)
        >>> print(f"mAP@0.5 = {metrics.map_50:.3f}, AP@[.5:.95] = {metrics.map:.3f}")
    """
    ev, classes = _run_cocoeval(preds, targets, iou_thresholds, max_detections)
    num_t = len(ev.params.iouThrs)
    if classes:
        precision = ev.eval["precision"][:, :, :, 0, -1]  # [T, R, K]; -1 where no ground truth
        ap = np.where((precision > -1).all(axis=1), precision.mean(axis=1), np.nan)
    else:
        ap = np.zeros((num_t, 0))
    num_gt = []
    for c in classes:
        gts = ev.cocoGt.loadAnns(ev.cocoGt.getAnnIds(catIds=[c]))
        num_gt.append(sum(1 for g in gts if not g["difficult"]))
    return DetectionMetrics(
        ap=torch.from_numpy(np.asarray(ap, dtype=np.float64)),
        iou_thresholds=tuple(float(t) for t in ev.params.iouThrs),
        classes=tuple(classes),
        num_gt=tuple(num_gt),
    )


def detection_matches(
    preds: Sequence[Prediction],
    targets: Sequence[Target],
    iou_threshold: float = 0.5,
    max_detections: int = 100,
) -> list[Tensor]:
    """How pycocotools scored each detection at one IoU threshold.

    Returns:
        one Tensor[K] (int64) per image, in the input order of that image's detections:
        1 true positive, 0 false positive, -1 not scored (matched a difficult object, or beyond
        the ``max_detections`` best of its image and class).
    """
    ev, _ = _run_cocoeval(preds, targets, [iou_threshold], max_detections)
    return _flags(ev, preds)


def _flags(ev: COCOeval, preds: Sequence[Prediction]) -> list[Tensor]:
    """Per-image match flags (1 / 0 / -1) at the first IoU threshold of an evaluated ``ev``."""
    flags = [torch.full((p["boxes"].shape[0],), -1, dtype=torch.int64) for p in preds]
    # pycocotools numbers detections 1.. across images in input order; map ids back.
    where = [(i, j) for i, p in enumerate(preds) for j in range(p["boxes"].shape[0])]
    for e in ev.evalImgs:
        if e is None:
            continue
        for det_id, matched, ignored in zip(e["dtIds"], e["dtMatches"][0], e["dtIgnore"][0]):
            i, j = where[det_id - 1]
            flags[i][j] = -1 if ignored else int(matched > 0)
    return flags


@dataclass(frozen=True)
class PRCurve:
    """A class's precision-recall curve, one point per scored detection by decreasing score.

    Attributes:
        precision, recall, scores (Tensor[D], float64): the curve and the confidence at which
            each point is reached (keeping every detection with ``score >= scores[d]``).
        num_gt: non-difficult ground-truth boxes of the class.
        coco_recall, coco_precision (Tensor[101], float64): pycocotools' interpolated curve,
            the best precision reached at recall >= 0, 0.01, ..., 1 (its AP is their mean).
    """

    precision: Tensor
    recall: Tensor
    scores: Tensor
    num_gt: int
    coco_recall: Tensor
    coco_precision: Tensor


def pr_curve(
    preds: Sequence[Prediction],
    targets: Sequence[Target],
    label: int,
    iou_threshold: float = 0.5,
    max_detections: int = 100,
) -> PRCurve:
    """The raw (not interpolated) precision-recall curve of one class, from pycocotools' matches.

    Detections are ranked over all images by decreasing score (ties keep image order, then
    input order, as pycocotools does). Raises ValueError when the class has no ground truth.
    """
    ev, classes = _run_cocoeval(preds, targets, [iou_threshold], max_detections)
    flags = _flags(ev, preds)
    num_gt = sum(
        int(
            (
                (t["labels"] == label) & ~t.get("difficult", torch.zeros_like(t["labels"])).bool()
            ).sum()
        )
        for t in targets
    )
    if num_gt == 0:
        raise ValueError(f"class {label} has no (non-difficult) ground truth: recall is undefined")
    keep_tp, keep_scores = [], []
    for f, p in zip(flags, preds):
        sel = (p["labels"] == label) & (f >= 0)
        keep_tp.append(f[sel])
        keep_scores.append(p["scores"][sel].detach().cpu().double())
    tp = torch.cat(keep_tp).double()
    scores = torch.cat(keep_scores)
    order = torch.sort(scores, descending=True, stable=True).indices
    tp, scores = tp[order], scores[order]
    tp_cum = tp.cumsum(0)
    rank = torch.arange(1, tp.numel() + 1, dtype=torch.float64)
    interpolated = ev.eval["precision"][0, :, classes.index(label), 0, -1]
    return PRCurve(
        precision=tp_cum / rank,
        recall=tp_cum / num_gt,
        scores=scores,
        num_gt=num_gt,
        coco_recall=torch.from_numpy(np.asarray(ev.params.recThrs, dtype=np.float64)),
        coco_precision=torch.from_numpy(np.asarray(interpolated, dtype=np.float64)),
    )

"""course_utils.detection: box formats, NMS and the pycocotools-backed evaluation.

References: torchvision.ops for boxes and NMS, torchmetrics' MeanAveragePrecision (its own
conversion to pycocotools) for AP, and cases worked by hand from COCO's definition.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torchvision.ops as tvops

from course_utils.detection import (
    COCO_IOU_THRESHOLDS,
    box_convert,
    check_boxes,
    clip_boxes,
    detection_matches,
    evaluate_detections,
    nms,
    pr_curve,
)


def random_boxes(n: int, gen: torch.Generator, size: float = 100.0) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * size
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * size / 2 + 1
    return torch.cat([xy, xy + wh], dim=1)


def empty_pred() -> dict[str, torch.Tensor]:
    return {
        "boxes": torch.zeros(0, 4),
        "scores": torch.zeros(0),
        "labels": torch.zeros(0, dtype=torch.int64),
    }


def box(*xyxy: float) -> torch.Tensor:
    return torch.tensor([xyxy], dtype=torch.float64)


# ---------------------------------------------------------------- boxes


@pytest.mark.parametrize("fmt", ["xywh", "cxcywh"])
def test_box_convert_matches_torchvision(fmt):
    gen = torch.Generator().manual_seed(0)
    boxes = random_boxes(50, gen)
    ours = box_convert(boxes, "xyxy", fmt)
    torch.testing.assert_close(ours, tvops.box_convert(boxes, "xyxy", fmt))
    torch.testing.assert_close(box_convert(ours, fmt, "xyxy"), boxes)
    other = "cxcywh" if fmt == "xywh" else "xywh"
    torch.testing.assert_close(
        box_convert(ours, fmt, other), tvops.box_convert(boxes, "xyxy", other)
    )


def test_box_convert_hand_case():
    b = torch.tensor([[10.0, 20.0, 30.0, 60.0]])
    assert box_convert(b, "xyxy", "xywh").tolist() == [[10.0, 20.0, 20.0, 40.0]]
    assert box_convert(b, "xyxy", "cxcywh").tolist() == [[20.0, 40.0, 20.0, 40.0]]


def test_check_boxes_errors_are_clear():
    with pytest.raises(ValueError, match=r"shape \[K, 4\]"):
        check_boxes(torch.zeros(4))
    with pytest.raises(TypeError, match="float"):
        check_boxes(torch.zeros(1, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"x1 <= x2"):
        check_boxes(torch.tensor([[5.0, 0.0, 1.0, 2.0]]))
    with pytest.raises(ValueError, match="unknown box format"):
        box_convert(torch.zeros(1, 4), "xyxy", "yxyx")
    assert check_boxes(torch.zeros(0, 4)).shape == (0, 4)


def test_clip_boxes():
    b = torch.tensor([[-5.0, 3.0, 140.0, 200.0]])
    assert clip_boxes(b, height=128, width=100).tolist() == [[0.0, 3.0, 100.0, 128.0]]
    with pytest.raises(ValueError, match=r"boxes\[0\].*x1 <= x2"):
        clip_boxes(torch.tensor([[5.0, 3.0, 1.0, 2.0]]), 10, 10)  # validated before torchvision


def test_box_convert_to_its_own_format_is_a_copy():
    b = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    same = box_convert(b, "xyxy", "xyxy")
    assert torch.equal(same, b) and same.data_ptr() != b.data_ptr()
    with pytest.raises(ValueError, match="unknown box format 'yolo'"):
        box_convert(b, "xyxy", "yolo")


def test_nms_matches_torchvision_and_per_class():
    gen = torch.Generator().manual_seed(1)
    boxes = random_boxes(200, gen, size=50).float()
    scores = torch.rand(200, generator=gen)
    labels = torch.randint(0, 3, (200,), generator=gen)
    for thr in (0.3, 0.5, 0.7):
        assert torch.equal(nms(boxes, scores, thr), tvops.nms(boxes, scores, thr))
        kept = nms(boxes, scores, thr, labels=labels)
        # Per-class NMS is plain NMS run on each class separately.
        expected = torch.cat(
            [
                (labels == c).nonzero()[:, 0][
                    tvops.nms(boxes[labels == c], scores[labels == c], thr)
                ]
                for c in range(3)
            ]
        )
        assert sorted(kept.tolist()) == sorted(expected.tolist())
        assert torch.all(scores[kept][:-1] >= scores[kept][1:])
    with pytest.raises(ValueError, match="scores must have shape"):
        nms(boxes, scores[:5], 0.5)


# ---------------------------------------------------------------- evaluation, by hand


def test_perfect_detections_score_one():
    gen = torch.Generator().manual_seed(2)
    targets = [
        {"boxes": random_boxes(4, gen), "labels": torch.tensor([0, 1, 1, 2])} for _ in range(3)
    ]
    preds = [
        {"boxes": t["boxes"].clone(), "scores": torch.rand(4, generator=gen), "labels": t["labels"]}
        for t in targets
    ]
    m = evaluate_detections(preds, targets)
    assert m.map == pytest.approx(1.0)
    assert m.map_50 == pytest.approx(1.0)
    assert m.per_class() == pytest.approx({0: 1.0, 1: 1.0, 2: 1.0})
    assert m.num_gt == (3, 6, 3)


def test_hand_worked_101_point_ap():
    # Two objects; ranked detections: FP (score .9), TP (.8), TP duplicate -> FP (.7).
    # Raw curve: (r, p) = (0, 0), (.5, .5), (.5, 1/3); object 2 never found.
    # Interpolated precision is .5 for recall thresholds 0..0.5 (51 of 101 points), 0 after.
    gt = torch.cat([box(0, 0, 10, 10), box(50, 50, 60, 60)])
    targets = [{"boxes": gt, "labels": torch.tensor([3, 3])}]
    pboxes = torch.cat([box(20, 20, 30, 30), box(0, 0, 10, 11), box(0, 0, 10, 10)])
    preds = [
        {
            "boxes": pboxes,
            "scores": torch.tensor([0.9, 0.8, 0.7]),
            "labels": torch.tensor([3, 3, 3]),
        }
    ]
    m = evaluate_detections(preds, targets, iou_thresholds=[0.5])
    assert m.map_50 == pytest.approx(0.5 * 51 / 101)
    assert detection_matches(preds, targets)[0].tolist() == [0, 1, 0]
    curve = pr_curve(preds, targets, label=3)
    torch.testing.assert_close(
        curve.precision, torch.tensor([0.0, 0.5, 1 / 3], dtype=torch.float64)
    )
    torch.testing.assert_close(curve.recall, torch.tensor([0.0, 0.5, 0.5], dtype=torch.float64))
    assert curve.num_gt == 2
    # pycocotools' interpolated curve: precision 0.5 up to recall 0.5, then 0.
    expected = torch.where(curve.coco_recall <= 0.5, 0.5, 0.0).double()
    torch.testing.assert_close(curve.coco_precision, expected)
    assert float(curve.coco_precision.mean()) == pytest.approx(m.map_50)


def test_iou_threshold_is_inclusive_and_strict_thresholds_reduce_ap():
    # IoU of [0,0,10,10] with [0,0,10,20] is exactly 0.5: a match at 0.5, not at 0.55.
    targets = [{"boxes": box(0, 0, 10, 10), "labels": torch.tensor([1])}]
    preds = [
        {"boxes": box(0, 0, 10, 20), "scores": torch.tensor([1.0]), "labels": torch.tensor([1])}
    ]
    m = evaluate_detections(preds, targets)
    assert m.ap[:, 0].tolist() == pytest.approx([1.0] + [0.0] * 9)
    assert m.map == pytest.approx(0.1)
    assert m.iou_thresholds == pytest.approx(COCO_IOU_THRESHOLDS)


def test_difficult_objects_neither_help_nor_hurt():
    gt = torch.cat([box(0, 0, 10, 10), box(40, 40, 60, 60)])
    targets = [
        {"boxes": gt, "labels": torch.tensor([0, 0]), "difficult": torch.tensor([False, True])}
    ]
    # Detecting the difficult object is ignored; missing it costs nothing.
    for extra in (box(40, 40, 60, 60), box(80, 80, 90, 90)):
        preds = [
            {
                "boxes": torch.cat([extra, box(0, 0, 10, 10)]),
                "scores": torch.tensor([0.9, 0.5]),
                "labels": torch.tensor([0, 0]),
            }
        ]
        m = evaluate_detections(preds, targets, iou_thresholds=[0.5])
        hit_difficult = extra[0, 0].item() == 40
        assert m.map_50 == pytest.approx(1.0 if hit_difficult else 0.5 * 101 / 101)
        assert m.num_gt == (1,)
        assert detection_matches(preds, targets)[0].tolist() == (
            [-1, 1] if hit_difficult else [0, 1]
        )


def test_edge_cases_no_predictions_and_class_without_ground_truth():
    targets = [
        {"boxes": box(0, 0, 10, 10), "labels": torch.tensor([0])},
        {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)},
    ]
    m = evaluate_detections([empty_pred(), empty_pred()], targets)
    assert m.map == 0.0 and m.classes == (0,)
    # A class predicted but absent from the ground truth gets NaN and is left out of the mean.
    preds = [
        {"boxes": box(0, 0, 10, 10), "scores": torch.tensor([0.5]), "labels": torch.tensor([0])},
        {"boxes": box(5, 5, 9, 9), "scores": torch.tensor([0.9]), "labels": torch.tensor([7])},
    ]
    m = evaluate_detections(preds, targets)
    assert m.classes == (0, 7)
    assert m.per_class()[0] == pytest.approx(1.0) and math.isnan(m.per_class()[7])
    assert m.map == pytest.approx(1.0)
    assert math.isnan(evaluate_detections([empty_pred()], [targets[1]]).map)


def test_bad_input_errors():
    t = [{"boxes": box(0, 0, 1, 1), "labels": torch.tensor([0])}]
    with pytest.raises(ValueError, match="one of each per image"):
        evaluate_detections([], t)
    with pytest.raises(ValueError, match="missing"):
        evaluate_detections([{"boxes": box(0, 0, 1, 1), "labels": torch.tensor([0])}], t)
    with pytest.raises(ValueError, match=r"\['scores'\] must be a tensor of shape \[1\]"):
        evaluate_detections(
            [{"boxes": box(0, 0, 1, 1), "scores": torch.ones(2), "labels": torch.tensor([0])}], t
        )
    with pytest.raises(TypeError, match="one dict per image"):
        evaluate_detections(t[0], t)
    with pytest.raises(KeyError, match="not evaluated"):
        evaluate_detections([empty_pred()], t, iou_thresholds=[0.5]).map_at(0.75)


# ---------------------------------------------------------------- against torchmetrics


def random_case(gen: torch.Generator, num_images: int, num_classes: int):
    preds, targets = [], []
    for _ in range(num_images):
        g = int(torch.randint(0, 6, (1,), generator=gen))
        gt = random_boxes(g, gen)
        labels = torch.randint(0, num_classes, (g,), generator=gen)
        jitter = gt + torch.randn(g, 4, generator=gen, dtype=torch.float64) * 4
        jitter = torch.cat([jitter[:, :2], torch.maximum(jitter[:, 2:], jitter[:, :2] + 1)], 1)
        k = int(torch.randint(0, 6, (1,), generator=gen))
        pboxes = torch.cat([jitter, jitter[: g // 2], random_boxes(k, gen)])
        plabels = torch.cat(
            [labels, labels[: g // 2], torch.randint(0, num_classes, (k,), generator=gen)]
        )
        preds.append(
            {
                "boxes": pboxes.float(),
                "scores": torch.rand(len(plabels), generator=gen),
                "labels": plabels,
            }
        )
        targets.append({"boxes": gt.float(), "labels": labels})
    return preds, targets


def test_agrees_with_torchmetrics_on_random_cases():
    pytest.importorskip("torchmetrics")
    from torchmetrics.detection import MeanAveragePrecision

    gen = torch.Generator().manual_seed(3)
    for _ in range(10):
        preds, targets = random_case(gen, num_images=4, num_classes=3)
        ours = evaluate_detections(preds, targets)
        # pycocotools' own float64 thresholds (torchmetrics defaults to float32 ones, which
        # move recall points such as 0.8 across a threshold).
        metric = MeanAveragePrecision(
            backend="pycocotools",
            class_metrics=True,
            iou_thresholds=list(COCO_IOU_THRESHOLDS),
            rec_thresholds=np.linspace(0.0, 1.0, 101).tolist(),
        )
        metric.update(preds, targets)
        ref = metric.compute()
        assert ours.map == pytest.approx(float(ref["map"]), abs=1e-6)
        assert ours.map_50 == pytest.approx(float(ref["map_50"]), abs=1e-6)
        assert ours.map_at(0.75) == pytest.approx(float(ref["map_75"]), abs=1e-6)
        ref_classes = ref["classes"].reshape(-1).tolist()
        ref_ap = ref["map_per_class"].reshape(-1).tolist()
        for c, ap in zip(ref_classes, ref_ap):
            expected = float("nan") if ap == -1 else ap
            assert ours.per_class()[c] == pytest.approx(expected, abs=1e-6, nan_ok=True)


# ---------------------------------------------------------------- simulated detector


def test_noisy_detections_are_valid_deterministic_and_useful():
    from course_utils.data import ShapesDetection
    from course_utils.detection import noisy_detections

    data = ShapesDetection(12, image_size=96, seed=0, split="val")
    targets = [data[i][1] for i in range(len(data))]
    preds = noisy_detections(targets, num_classes=5, image_size=96, seed=1)
    again = noisy_detections(targets, num_classes=5, image_size=96, seed=1)
    for p, q in zip(preds, again):
        assert torch.equal(p["boxes"], q["boxes"]) and torch.equal(p["scores"], q["scores"])
        check_boxes(p["boxes"])
        assert p["boxes"].min() >= 0 and p["boxes"].max() <= 96
        assert p["scores"].shape == p["labels"].shape == (len(p["boxes"]),)
        assert ((p["labels"] >= 0) & (p["labels"] < 5)).all()
    # Small jitter, no misses, no alarms: every object found once, with the right label.
    exact = noisy_detections(targets, 5, 96, jitter=0.01, miss_rate=0, false_alarms=0, confusion=0)
    assert evaluate_detections(exact, targets, iou_thresholds=[0.5]).map_50 == pytest.approx(1.0)
    noisy = evaluate_detections(preds, targets).map_50
    assert 0.3 < noisy < 0.98
    crowded = noisy_detections(targets, 5, 96, copies=6, miss_rate=0)
    assert sum(len(p["boxes"]) for p in crowded) >= 6 * sum(len(t["boxes"]) for t in targets)


def test_random_detection_problem_disjoint_and_deterministic():
    from course_utils.detection import random_detection_problem

    for seed in range(50):
        preds, targets = random_detection_problem(seed, num_images=3, max_objects=9)
        again, _ = random_detection_problem(seed, num_images=3, max_objects=9)
        for p, q, t in zip(preds, again, targets):
            assert torch.equal(p["boxes"], q["boxes"]) and torch.equal(p["scores"], q["scores"])
            overlap = tvops.box_iou(t["boxes"], t["boxes"]).fill_diagonal_(0)
            assert overlap.numel() == 0 or overlap.max() == 0  # objects never overlap
            check_boxes(p["boxes"])
    with pytest.raises(ValueError, match="at most 9"):
        random_detection_problem(0, max_objects=10)

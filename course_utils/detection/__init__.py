"""Detection infrastructure for the detector notebooks: box formats, NMS and evaluation.

Built on torchvision.ops (NMS) and pycocotools (matching, precision-recall, AP), never on the
exercise solutions of ``05_detection_basics``, so a notebook can report mAP without handing
out an answer. See `evaluate_detections` for the prediction/target format.
"""

from .boxes import BOX_FORMATS, box_convert, check_boxes, clip_boxes, nms
from .evaluate import (
    COCO_IOU_THRESHOLDS,
    DetectionMetrics,
    PRCurve,
    check_detections,
    detection_matches,
    evaluate_detections,
    pr_curve,
)
from .simulate import noisy_detections, random_detection_problem

__all__ = [
    "BOX_FORMATS",
    "COCO_IOU_THRESHOLDS",
    "DetectionMetrics",
    "PRCurve",
    "box_convert",
    "check_boxes",
    "check_detections",
    "clip_boxes",
    "detection_matches",
    "evaluate_detections",
    "nms",
    "noisy_detections",
    "pr_curve",
    "random_detection_problem",
]

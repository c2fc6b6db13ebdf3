"""Datasets the course trains on: synthetic Shapes (offline, deterministic) and real ones.

- `ShapesClassification`, `ShapesDetection`, `ShapesSegmentation`: generated on demand, any size,
  no download; ``split="val"`` gives a disjoint validation set.
- `cifar10`: torchvision's CIFAR-10 cached under ``course_utils.env.data_dir()``; offline it
  raises `DatasetUnavailable` at once, naming the Shapes dataset to use instead.
- `transforms`: box-aware resize / flip / normalise / to-tensor; `detection_collate` batches
  detection items.
"""

from .remote import CIFAR10_CLASSES, DatasetUnavailable, cifar10
from .scenes import ShapesDetection, ShapesSegmentation
from .shapes import SHAPE_CLASSES, ShapesClassification
from .transforms import detection_collate

__all__ = [
    "CIFAR10_CLASSES",
    "SHAPE_CLASSES",
    "DatasetUnavailable",
    "ShapesClassification",
    "ShapesDetection",
    "ShapesSegmentation",
    "cifar10",
    "detection_collate",
]

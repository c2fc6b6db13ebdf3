"""Datasets the course trains on: synthetic Shapes (offline, deterministic) and real ones.

- `ShapesClassification`, `ShapesDetection`, `ShapesSegmentation`: generated on demand, any size,
  no download; ``split="val"`` gives a disjoint validation set.
- `cifar10`: torchvision's CIFAR-10 cached under ``course_utils.env.data_dir()``; offline it
  raises `DatasetUnavailable` at once, naming the Shapes dataset to use instead.
- `transforms`: box-aware resize / flip / normalise / to-tensor; `detection_collate` batches
  detection items.
- `export_voc` writes any detection dataset in PASCAL VOC layout; `VOCDetection` reads VOC
  (through torchvision) as course items with ``difficult`` flags; `voc2007` downloads VOC 2007.
- `sample_image`: a real photo (shipped with matplotlib) for filter and receptive-field figures.
"""

from .remote import CIFAR10_CLASSES, DatasetUnavailable, cifar10
from .samples import sample_image
from .scenes import ShapesDetection, ShapesSegmentation
from .shapes import SHAPE_CLASSES, ShapesClassification
from .transforms import RandomFlips, detection_collate, random_flips
from .voc import VOC_CLASSES, VOCDetection, export_voc, voc2007

__all__ = [
    "CIFAR10_CLASSES",
    "SHAPE_CLASSES",
    "DatasetUnavailable",
    "ShapesClassification",
    "ShapesDetection",
    "ShapesSegmentation",
    "VOCDetection",
    "VOC_CLASSES",
    "cifar10",
    "detection_collate",
    "export_voc",
    "RandomFlips",
    "random_flips",
    "sample_image",
    "voc2007",
]

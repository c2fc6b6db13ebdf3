"""PASCAL VOC: write any detection dataset in VOC layout, and read VOC in the course's format.

Layout (what torchvision's ``VOCDetection`` reads)::

    root/VOCdevkit/VOC2007/JPEGImages/<id>.jpg
    root/VOCdevkit/VOC2007/Annotations/<id>.xml
    root/VOCdevkit/VOC2007/ImageSets/Main/<image_set>.txt

VOC boxes are 1-based inclusive pixel indices; the course uses continuous coordinates
(``x1, y1, x2, y2`` with no "+1"). A box covering 0-based pixel columns ``a..b`` is
``x1 = a, x2 = b + 1`` here and ``xmin = a + 1, xmax = b + 1`` in VOC, so reading does
``x1 = xmin - 1, x2 = xmax`` and writing the reverse: integer boxes survive a round trip.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import datasets
from torchvision.datasets.voc import DATASET_YEAR_DICT

from .remote import DatasetUnavailable, load_or_download, resolve_root
from .shapes import SHAPE_CLASSES

VOC_CLASSES: tuple[str, ...] = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip


def _voc_dir(root: str | Path, year: str) -> Path:
    return Path(root) / DATASET_YEAR_DICT[year]["base_dir"]


def _annotation_xml(
    image_id: str, size: tuple[int, int], boxes, labels, classes, year
) -> ET.Element:
    """One ``<annotation>`` element; ``size`` is ``(H, W)``."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = f"VOC{year}"
    ET.SubElement(root, "filename").text = f"{image_id}.jpg"
    size_el = ET.SubElement(root, "size")
    for tag, value in (("width", size[1]), ("height", size[0]), ("depth", 3)):
        ET.SubElement(size_el, tag).text = str(value)
    for box, label in zip(boxes.tolist(), labels.tolist()):
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = classes[label]
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = "0"
        bnd = ET.SubElement(obj, "bndbox")
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        for tag, value in (("xmin", x1 + 1), ("ymin", y1 + 1), ("xmax", x2), ("ymax", y2)):
            ET.SubElement(bnd, tag).text = str(value)
    ET.indent(root)
    return root


def export_voc(
    dataset: Dataset,
    root: str | Path,
    image_set: str = "train",
    year: str = "2007",
    classes: Sequence[str] | None = None,
    quality: int = 95,
) -> Path:
    """Write a detection dataset (e.g. `ShapesDetection`) in PASCAL VOC layout.

    Args:
        dataset: items ``(image [3, H, W] float in [0, 1], {"boxes": [K, 4], "labels": [K]})``.
        root: folder receiving ``VOCdevkit/VOC<year>/...``.
        image_set: name of the ``ImageSets/Main/<image_set>.txt`` list (appended to when other
            image sets already exist, so train and val can share one folder).
        classes: label index -> name (default ``dataset.classes``, else `SHAPE_CLASSES`).
        quality: JPEG quality.
    Returns:
        the ``VOCdevkit/VOC<year>`` folder.
    """
    classes = tuple(classes or getattr(dataset, "classes", SHAPE_CLASSES))
    voc = _voc_dir(root, year)
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (voc / sub).mkdir(parents=True, exist_ok=True)
    ids = []
    for index in range(len(dataset)):
        image, target = dataset[index]
        image_id = f"{image_set}_{index:06d}"
        pixels = (image.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        Image.fromarray(pixels).save(voc / "JPEGImages" / f"{image_id}.jpg", quality=quality)
        xml = _annotation_xml(
            image_id, pixels.shape[:2], target["boxes"], target["labels"], classes, year
        )
        ET.ElementTree(xml).write(voc / "Annotations" / f"{image_id}.xml", encoding="utf-8")
        ids.append(image_id)
    (voc / "ImageSets" / "Main" / f"{image_set}.txt").write_text("".join(f"{i}\n" for i in ids))
    return voc


class VOCDetection(Dataset):
    """PASCAL VOC detection through torchvision, in the course's item format.

    Items are ``(image [3, H, W] float32 in [0, 1], target)`` with ``target["boxes"]``
    FloatTensor[K, 4] (continuous ``x1, y1, x2, y2``), ``target["labels"]`` LongTensor[K]
    (indices into ``classes``) and ``target["difficult"]`` BoolTensor[K].

    Args:
        root: folder holding ``VOCdevkit/VOC<year>``.
        image_set: ``"train"``, ``"val"``, ``"trainval"`` (and ``"test"`` for 2007).
        year: ``"2007"`` to ``"2012"``.
        download: fetch the archive into ``root`` when missing (see `voc2007`).
        classes: class names in label order (default: the 20 VOC classes).
        transforms: box-aware ``(image, target) -> (image, target)``.
    Raises:
        DatasetUnavailable: no VOC folder or image list at ``root`` (and no download).
    """

    def __init__(
        self,
        root: str | Path,
        image_set: str = "train",
        year: str = "2007",
        download: bool = False,
        classes: Sequence[str] = VOC_CLASSES,
        transforms: Callable | None = None,
    ) -> None:
        split_file = _voc_dir(root, year) / "ImageSets" / "Main" / f"{image_set}.txt"
        try:
            self._voc = datasets.VOCDetection(
                str(root), year=year, image_set=image_set, download=download
            )
        except RuntimeError as exc:
            raise DatasetUnavailable(
                f"no PASCAL VOC {year} folder under {root} ({exc}). Write one with export_voc, "
                "download it with voc2007(), or use course_utils.data.ShapesDetection offline."
            ) from exc
        except FileNotFoundError as exc:
            raise DatasetUnavailable(
                f"image list {split_file} is missing: no {image_set!r} image set in {root}"
            ) from exc
        self.classes = tuple(classes)
        self._index = {name: i for i, name in enumerate(self.classes)}
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self._voc.images)

    def parse(self, index: int) -> dict[str, torch.Tensor]:
        """The target of item ``index`` from its XML file (errors name the file)."""
        path = self._voc.annotations[index]
        try:
            tree = ET.parse(path)
        except ET.ParseError as exc:
            raise ValueError(f"malformed annotation XML {path}: {exc}") from exc
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"annotation {path} is missing") from exc
        boxes, labels, difficult = [], [], []
        for obj in tree.getroot().iter("object"):
            try:
                name = obj.findtext("name", "").strip()
                bnd = obj.find("bndbox")
                xmin, ymin, xmax, ymax = (
                    float(bnd.findtext(t)) for t in ("xmin", "ymin", "xmax", "ymax")
                )
            except (AttributeError, TypeError, ValueError) as exc:
                raise ValueError(
                    f"malformed object in {path}: every <object> needs a <name> and a <bndbox> "
                    f"with numeric xmin/ymin/xmax/ymax ({exc})"
                ) from exc
            if name not in self._index:
                raise ValueError(f"{path}: unknown class {name!r}; known classes: {self.classes}")
            boxes.append((xmin - 1, ymin - 1, xmax, ymax))
            labels.append(self._index[name])
            difficult.append(obj.findtext("difficult", "0").strip() == "1")
        return {
            "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            "labels": torch.tensor(labels, dtype=torch.int64),
            "difficult": torch.tensor(difficult, dtype=torch.bool),
        }

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, Any]]:
        target = self.parse(index)
        path = Path(self._voc.images[index])
        if not path.is_file():
            raise FileNotFoundError(
                f"image {path} is missing (listed in ImageSets/Main/{self._voc.image_set}.txt)"
            )
        with Image.open(path) as img:
            pixels = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
        image = torch.from_numpy(pixels.transpose(2, 0, 1).copy())
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target


def voc2007(
    image_set: str = "trainval",
    root: str | Path | None = None,
    download: bool = True,
    transforms: Callable | None = None,
) -> VOCDetection:
    """PASCAL VOC 2007 (``"trainval"``: 5,011 images, ``"test"``: 4,952), downloaded once into
    ``root`` (default ``data_dir() / "voc"``) with torchvision's MD5 check.

    Raises:
        DatasetUnavailable: not cached and not downloadable (offline: use ``ShapesDetection``).
    """
    folder = resolve_root(root, "voc")
    key = "2007-test" if image_set == "test" else "2007"
    return load_or_download(
        lambda dl: VOCDetection(folder, image_set, "2007", download=dl, transforms=transforms),
        name=f"PASCAL VOC 2007 {image_set}",
        url=DATASET_YEAR_DICT[key]["url"],
        root=folder,
        download=download,
        offline_alternative="ShapesDetection(num_images)",
    )

"""PASCAL VOC: export/read round trip, hand-written annotations, clear errors naming files."""

import pytest
import torch
from torch.utils.data import DataLoader

from course_utils.data import (
    SHAPE_CLASSES,
    DatasetUnavailable,
    ShapesDetection,
    VOCDetection,
    detection_collate,
    export_voc,
    remote,
    voc2007,
)
from course_utils.data.transforms import HorizontalFlip

XML = """<annotation>
  <filename>img1.jpg</filename>
  <size><width>20</width><height>10</height><depth>3</depth></size>
  <object><name>dog</name><difficult>0</difficult>
    <bndbox><xmin>1</xmin><ymin>2</ymin><xmax>5</xmax><ymax>10</ymax></bndbox></object>
  <object><name>cat</name><difficult>1</difficult>
    <bndbox><xmin>11</xmin><ymin>1</ymin><xmax>20</xmax><ymax>4</ymax></bndbox></object>
</annotation>"""


def _write_voc(root, xml=XML, image=True):
    from PIL import Image

    voc = root / "VOCdevkit" / "VOC2007"
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (voc / sub).mkdir(parents=True, exist_ok=True)
    (voc / "ImageSets/Main/val.txt").write_text("img1\n")
    (voc / "Annotations/img1.xml").write_text(xml)
    if image:
        Image.new("RGB", (20, 10), (255, 255, 255)).save(voc / "JPEGImages/img1.jpg", quality=100)
    return voc


def test_round_trip_of_shapes_detection(tmp_path):
    shapes = ShapesDetection(6, image_size=64, seed=4)
    export_voc(shapes, tmp_path, image_set="train")
    export_voc(ShapesDetection(2, image_size=64, split="val"), tmp_path, image_set="val")
    voc = VOCDetection(tmp_path, image_set="train", classes=SHAPE_CLASSES)
    assert len(voc) == 6 and len(VOCDetection(tmp_path, "val", classes=SHAPE_CLASSES)) == 2
    for i in range(6):
        image, target = voc[i]
        expected_image, expected = shapes[i]
        assert torch.equal(target["boxes"], expected["boxes"])
        assert torch.equal(target["labels"], expected["labels"])
        assert target["difficult"].dtype == torch.bool and not target["difficult"].any()
        assert image.shape == expected_image.shape and image.dtype == torch.float32
        # JPEG keeps the picture but not the pixel noise: compare 4 x 4 block averages
        blur = torch.nn.functional.avg_pool2d
        assert (blur(image, 4) - blur(expected_image, 4)).abs().mean() < 0.01
    images, targets = detection_collate([voc[0], voc[1]])
    assert images.shape == (2, 3, 64, 64) and len(targets) == 2


def test_hand_written_annotation_converts_to_continuous_boxes(tmp_path):
    _write_voc(tmp_path)
    voc = VOCDetection(tmp_path, image_set="val", transforms=HorizontalFlip(p=1.0))
    image, target = voc[0]
    assert image.shape == (3, 10, 20)
    # VOC 1-based inclusive (1, 2, 5, 10) -> continuous (0, 1, 5, 10), then mirrored in x
    flipped = torch.tensor([[20 - 5.0, 1.0, 20 - 0.0, 10.0], [20 - 20.0, 0.0, 20 - 10.0, 4.0]])
    assert torch.equal(target["boxes"], flipped)
    assert target["labels"].tolist() == [11, 7]  # dog, cat in VOC_CLASSES
    assert target["difficult"].tolist() == [False, True]
    loader = DataLoader(voc, batch_size=1, collate_fn=detection_collate)
    assert next(iter(loader))[1][0]["labels"].tolist() == [11, 7]


def test_malformed_xml_names_the_file(tmp_path):
    _write_voc(tmp_path, xml=XML.replace("</annotation>", ""))
    with pytest.raises(ValueError, match=r"malformed annotation XML .*img1\.xml"):
        VOCDetection(tmp_path, image_set="val")[0]


def test_object_without_box_names_the_file(tmp_path):
    _write_voc(tmp_path, xml=XML.replace("<xmax>5</xmax>", ""))
    with pytest.raises(ValueError, match=r"malformed object in .*img1\.xml"):
        VOCDetection(tmp_path, image_set="val")[0]


def test_unknown_class_names_file_and_class(tmp_path):
    _write_voc(tmp_path)
    with pytest.raises(ValueError, match=r"img1\.xml: unknown class 'dog'"):
        VOCDetection(tmp_path, image_set="val", classes=SHAPE_CLASSES)[0]


def test_missing_image_names_the_file(tmp_path):
    _write_voc(tmp_path, image=False)
    with pytest.raises(FileNotFoundError, match=r"img1\.jpg is missing"):
        VOCDetection(tmp_path, image_set="val")[0]


def test_missing_folder_or_image_set(tmp_path):
    with pytest.raises(DatasetUnavailable, match="ShapesDetection"):
        VOCDetection(tmp_path / "nowhere")
    _write_voc(tmp_path)
    with pytest.raises(DatasetUnavailable, match=r"train\.txt is missing"):
        VOCDetection(tmp_path, image_set="train")


def test_voc2007_offline_fails_fast_with_the_alternative(tmp_path, monkeypatch):
    monkeypatch.setattr(remote, "host_reachable", lambda url, timeout=3.0: False)
    with pytest.raises(DatasetUnavailable, match=r"ShapesDetection.*") as info:
        voc2007(root=tmp_path)
    assert "unreachable" in str(info.value)


def test_voc2007_uses_the_cache_without_network(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the network must not be touched")

    monkeypatch.setattr(remote, "host_reachable", no_network)
    export_voc(ShapesDetection(3, image_size=32), tmp_path, image_set="trainval")
    ds = voc2007(root=tmp_path)
    assert len(ds) == 3

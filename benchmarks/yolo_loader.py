"""Does the YOLO v1 data pipeline keep the device busy? Loader images/s vs training images/s.

Two numbers for the detector of ``notebooks/a3_ssl_detection/yolo_detector.ipynb``:

- **loader**: images/s of iterating a DataLoader of grid-encoded items (the notebook's
  ``encode_targets`` after a box-aware horizontal flip), with ``--workers`` processes;
- **training**: images/s of training steps (forward, `YoloLoss`, backward, AdamW) on batches
  already in memory on the device.

A ratio loader / training above 1 means the loader keeps up (on a GPU, raise ``--workers``
until it does). ``--voc`` measures VOC 2007 trainval resized to 448 pixels (S = 14) instead of
Shapes at 128 (S = 8); it needs the dataset downloaded.

    .venv/bin/python benchmarks/yolo_loader.py [--voc] [--workers 2] [--batches 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))  # notebook_defs

from notebook_defs import load_definitions  # noqa: E402

from course_utils.data import SHAPE_CLASSES, ShapesDetection  # noqa: E402
from course_utils.data.transforms import Compose, HorizontalFlip, Resize  # noqa: E402
from course_utils.env import get_device, seed_everything  # noqa: E402

NOTEBOOK = "a3_ssl_detection/yolo_detector.ipynb"


class Encoded(Dataset):
    """(image, (target_boxes, target_cls, has_object)) items, as the notebook trains on."""

    def __init__(self, base: Dataset, encode, S: int, num_classes: int, size: int) -> None:  # noqa: N803
        self.base, self.encode, self.S, self.C, self.size = base, encode, S, num_classes, size

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int):
        image, target = self.base[i]
        return image, self.encode(target["boxes"], target["labels"], self.S, self.C, self.size)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voc", action="store_true", help="VOC 2007 at 448 px instead of Shapes")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batches", type=int, default=10, help="batches timed for each number")
    parser.add_argument("--device", help="default: course_utils.get_device()")
    args = parser.parse_args(argv)
    device = torch.device(args.device) if args.device else get_device()
    ns = load_definitions(NOTEBOOK, ["encode_targets", "YoloLoss", "YoloV1"])
    if args.voc:
        from course_utils.data import VOC_CLASSES, voc2007

        size, classes = 448, VOC_CLASSES
        base = voc2007("trainval", transforms=Compose([Resize((size, size)), HorizontalFlip()]))
    else:
        size, classes = 128, SHAPE_CLASSES
        count = args.batch_size * args.batches
        base = ShapesDetection(count, size, seed=0, split="train", transforms=HorizontalFlip())
    S, B, C = size // 32 if args.voc else size // 16, 2, len(classes)  # noqa: N806
    loader = DataLoader(
        Encoded(base, ns["encode_targets"], S, C, size),
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=args.workers,
        pin_memory=device.type == "cuda",
    )
    batches, started = [], time.perf_counter()
    for images, targets in loader:
        batches.append((images, targets))
        if len(batches) == args.batches:
            break
    loader_rate = len(batches) * args.batch_size / (time.perf_counter() - started)

    seed_everything(0)
    model = ns["YoloV1"](S, B, C).to(device)
    criterion = ns["YoloLoss"](S=S, B=B)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    on_device = [
        (images.to(device), tuple(t.to(device) for t in targets)) for images, targets in batches
    ]

    def step(images, targets) -> None:
        with torch.autocast(device.type, enabled=device.type == "cuda"):
            loss = criterion(model(images).float(), *targets)["total_loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step(*on_device[0])  # warm-up (cuDNN / oneDNN choose their kernels)
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for images, targets in on_device:
        step(images, targets)
    if device.type == "cuda":
        torch.cuda.synchronize()
    train_rate = len(on_device) * args.batch_size / (time.perf_counter() - started)
    data = "VOC 2007 448 px" if args.voc else "Shapes 128 px"
    print(f"{data}, batch {args.batch_size}, {args.workers} workers, device {device}")
    print(f"loader   {loader_rate:9.1f} images/s")
    print(f"training {train_rate:9.1f} images/s")
    print(f"loader / training = {loader_rate / train_rate:.2f} (above 1: the loader keeps up)")


if __name__ == "__main__":
    main()

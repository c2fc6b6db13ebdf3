"""Every detector family of the course next to torchvision's counterpart: same data, same budget.

Each contender (the course's reference solution of a family, taken from its source notebook,
or a torchvision model) trains on the same ShapesDetection images for the same wall-clock
budget on the same device, then predicts on the same validation images. One table:

    family  model  train steps  images/s (inference)  VOC mAP@0.5  COCO AP@[.5:.95]

with a trivial baseline (random boxes of random classes) as the first row, so "it learned"
is visible. Families live in `benchmarks/detector_families/<family>.py`, each exposing
``CONTENDERS``; this script discovers them.

    .venv/bin/python benchmarks/detectors.py [--budget-s 180] [--only yolo,ssd] [--device cpu]
        [--models "Faster R-CNN,FasterRCNN"] [--seeds 0,1,2]
        [--save [benchmarks/results/detectors.json]]

``--models`` keeps the contenders whose model name contains one of the given strings (the
baseline always runs). ``--seeds`` trains every contender once per seed (its initialisation and
the order of its batches; the images stay the same): the table then gives the mean over the
seeds, followed by each seed's mAP@0.5 with the standard deviation, so that a difference
between two rows can be set against the run-to-run spread.

``--save`` also writes the rows to a JSON file (git-ignored; rows of an earlier run of other
families are kept, rows of the same family and model replaced), which notebooks read for
their closing tables.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import torch
from torch import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parent))  # detector_families, notebook_defs

from course_utils.data import SHAPE_CLASSES, ShapesDetection  # noqa: E402
from course_utils.detection import evaluate_detections  # noqa: E402
from course_utils.detection.baseline import random_box_predictions  # noqa: E402
from course_utils.env import get_device, seed_everything  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "detectors.json"
Prediction = dict[str, Tensor]
Target = dict[str, Tensor]


@dataclass(frozen=True)
class Setup:
    """What every contender is given: the device, the image size, the number of classes and
    the training budget (a contender may fit its learning-rate schedule to it)."""

    device: torch.device
    image_size: int
    num_classes: int
    budget_s: float = 180.0


class Trainable(Protocol):
    """A detector under benchmark. Images are Tensor[3, H, W] in [0, 1] on ``Setup.device``."""

    def train_step(self, images: list[Tensor], targets: list[Target]) -> float:
        """One optimizer step on a batch; returns the loss."""
        ...

    def predict(self, images: list[Tensor]) -> list[Prediction]:
        """Detections (xyxy pixels, scores, labels in 0..num_classes-1), one dict per image."""
        ...


@dataclass(frozen=True)
class Contender:
    family: str  # e.g. "YOLO", "two-stage", "SSD"
    model: str  # e.g. "course YOLOv2", "torchvision ssdlite320_mobilenet_v3_large"
    build: Callable[[Setup], Trainable]


@dataclass(frozen=True)
class Result:
    family: str
    model: str
    steps: int
    images_per_s: float
    map_50: float
    coco_ap: float


class RandomBoxes:
    """The trivial baseline: `course_utils.detection.baseline.random_box_predictions`."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.seed = 0

    def train_step(self, images: list[Tensor], targets: list[Target]) -> float:
        return 0.0

    def predict(self, images: list[Tensor]) -> list[Prediction]:
        self.seed += 1  # each batch its own boxes
        return random_box_predictions(
            len(images), self.setup.image_size, self.setup.num_classes, seed=self.seed
        )


BASELINE = Contender("baseline", "random boxes", RandomBoxes)


def discover(
    only: Sequence[str] | None = None, models: Sequence[str] | None = None
) -> list[Contender]:
    """The baseline, then every family module's contenders (``only``: module names; ``models``:
    keep contenders whose model name contains one of these strings)."""
    import detector_families

    contenders = [BASELINE]
    for info in sorted(pkgutil.iter_modules(detector_families.__path__), key=lambda m: m.name):
        if only and info.name not in only:
            continue
        module = importlib.import_module(f"detector_families.{info.name}")
        contenders.extend(
            c for c in module.CONTENDERS if not models or any(m in c.model for m in models)
        )
    return contenders


def _batches(dataset, batch_size: int, device: torch.device, seed: int):
    """Endless shuffled batches of (images, targets) on ``device``."""
    gen = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(dataset), generator=gen).tolist()
        for start in range(0, len(order) - batch_size + 1, batch_size):
            items = [dataset[i] for i in order[start : start + batch_size]]
            yield (
                [image.to(device) for image, _ in items],
                [{k: v.to(device) for k, v in t.items()} for _, t in items],
            )


def run(
    contender: Contender,
    setup: Setup,
    train,
    val,
    budget_s: float,
    batch_size: int,
    seed: int = 0,
) -> Result:
    """Train ``contender`` for ``budget_s`` seconds (``seed``: its initialisation and batch
    order), then time its predictions and evaluate."""
    seed_everything(seed)
    model = contender.build(setup)
    steps = 0
    started = time.perf_counter()
    if contender is not BASELINE:
        for images, targets in _batches(train, batch_size, setup.device, seed=seed):
            model.train_step(images, targets)
            steps += 1
            if time.perf_counter() - started >= budget_s:
                break
    images = [image.to(setup.device) for image, _ in val]
    targets = [t for _, t in val]
    started = time.perf_counter()
    preds = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            preds.extend(model.predict(images[start : start + batch_size]))
    elapsed = max(time.perf_counter() - started, 1e-9)
    preds = [{k: v.detach().cpu() for k, v in p.items()} for p in preds]
    metrics = evaluate_detections(preds, targets)
    return Result(
        contender.family,
        contender.model,
        steps,
        len(images) / elapsed,
        metrics.map_50,
        metrics.map,
    )


def mean_result(runs: Sequence[Result]) -> Result:
    """One row from several seeds' runs of a contender: every number averaged."""
    n = len(runs)
    return Result(
        runs[0].family,
        runs[0].model,
        round(sum(r.steps for r in runs) / n),
        sum(r.images_per_s for r in runs) / n,
        sum(r.map_50 for r in runs) / n,
        sum(r.coco_ap for r in runs) / n,
    )


def format_seeds(per_seed: Sequence[Sequence[Result]], seeds: Sequence[int]) -> str:
    """Each seed's mAP@0.5 per contender, with the mean and the sample standard deviation."""
    lines = [
        f"{'model':<44} "
        + " ".join(f"{f'seed {s}':>7}" for s in seeds)
        + f" {'mean':>7} {'std':>6}"
    ]
    for runs in per_seed:
        values = torch.tensor([r.map_50 for r in runs], dtype=torch.float64)
        std = float(values.std()) if len(values) > 1 else 0.0
        lines.append(
            f"{runs[0].model:<44} "
            + " ".join(f"{v:>7.3f}" for v in values.tolist())
            + f" {float(values.mean()):>7.3f} {std:>6.3f}"
        )
    return "\n".join(lines)


def format_table(results: Sequence[Result]) -> str:
    lines = [
        f"{'family':<12} {'model':<44} {'steps':>6} {'images/s':>9} {'mAP@0.5':>8} {'COCO AP':>8}"
    ]
    for r in results:
        lines.append(
            f"{r.family:<12} {r.model:<44} {r.steps:>6} {r.images_per_s:>9.1f} "
            f"{r.map_50:>8.3f} {r.coco_ap:>8.3f}"
        )
    return "\n".join(lines)


def save_results(results: Sequence[Result], path: Path, command: str, **meta) -> None:
    """Merge ``results`` into the JSON file at ``path`` (a row per family and model)."""
    rows = json.loads(path.read_text())["rows"] if path.exists() else []
    new = {(r.family, r.model) for r in results}
    rows = [row for row in rows if (row["family"], row["model"]) not in new]
    rows += [{**asdict(r), "command": command, **meta} for r in results]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"rows": rows}, indent=1) + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-s", type=float, default=180.0, help="training seconds each")
    parser.add_argument("--only", help="comma-separated family modules (default: all)")
    parser.add_argument("--models", help="comma-separated parts of model names (default: all)")
    parser.add_argument("--seeds", default="0", help="comma-separated training seeds")
    parser.add_argument("--device", help="default: course_utils.get_device()")
    parser.add_argument("--train-images", type=int, default=512)
    parser.add_argument("--val-images", type=int, default=128)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--save", nargs="?", const=str(RESULTS), help=f"also write a JSON file (default {RESULTS})"
    )
    args = parser.parse_args(argv)
    device = torch.device(args.device) if args.device else get_device()
    setup = Setup(device, args.image_size, len(SHAPE_CLASSES), args.budget_s)
    train = ShapesDetection(args.train_images, image_size=args.image_size, seed=0, split="train")
    val = ShapesDetection(args.val_images, image_size=args.image_size, seed=0, split="val")
    only = args.only.split(",") if args.only else None
    models = args.models.split(",") if args.models else None
    seeds = [int(s) for s in args.seeds.split(",")]
    results, per_seed = [], []
    for contender in discover(only, models):
        runs = []
        for seed in seeds:
            runs.append(run(contender, setup, train, val, args.budget_s, args.batch_size, seed))
            print(
                f"done: {contender.family} / {contender.model} / seed {seed}",
                file=sys.stderr,
                flush=True,
            )
        results.append(mean_result(runs))
        per_seed.append(runs)
    print(f"device {device}, budget {args.budget_s:g} s per model, {len(train)} training images")
    if len(seeds) > 1:
        print(f"mean over seeds {args.seeds}")
    print(format_table(results))
    if len(seeds) > 1:
        print("\nmAP@0.5 per training seed")
        print(format_seeds(per_seed, seeds))
    if args.save:
        command = " ".join(["benchmarks/detectors.py", *(sys.argv[1:] if argv is None else argv)])
        meta = {"budget_s": args.budget_s, "device": str(device), "train_images": len(train),
                "seeds": seeds}  # fmt: skip
        save_results(results, Path(args.save), command, **meta)


if __name__ == "__main__":
    main()

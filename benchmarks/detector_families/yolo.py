"""YOLO family: the course's YOLOv2-style detector from ``07_single_stage/yolo.ipynb``.

The model, its loss, its optimizer and its inference are the notebook's own definitions
(`TinyYoloV2`, `YoloV2Loss`, `make_optimizer`, `yolo_v2_predict`), its augmentation the
notebook's (`course_utils.data.random_flips`: the 8 symmetries of a square), with the reference
solutions of `kmeans_anchors` (anchors from the training boxes) and `yolo_v2_decode`.
torchvision has no YOLO, so the family has one row.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import torch
from budget_schedule import BudgetSchedule
from detectors import Contender, Setup
from notebook_defs import load_definitions
from torch import Tensor

from course_utils.data import ShapesDetection, random_flips

NOTEBOOK = "07_single_stage/yolo.ipynb"
NAMES = [
    "kmeans_anchors",
    "yolo_v2_decode",
    "TinyYoloV2",
    "YoloV2Loss",
    "yolo_v2_predict",
    "make_optimizer",
]
NUM_ANCHORS = 5
WIDTH = 16
# The notebook's one-cycle schedule needs a length. The benchmark's budget is wall-clock, so
# the schedule runs on the clock: at each step the learning rate is the one-cycle value at the
# elapsed fraction of the budget (`BudgetSchedule`), whatever the machine's speed. A number
# here instead gives the schedule that many steps (a fixed-step run, as the notebook does).
SCHEDULE_STEPS: int | None = None
FLIPS = True  # the notebook's augmentation: random flips and transposes


@cache
def _definitions() -> dict[str, Any]:
    return load_definitions(NOTEBOOK, NAMES)


def _anchors(image_size: int, num_images: int = 512) -> Tensor:
    """k-means anchors on the benchmark's training boxes (its default training set)."""
    ns = _definitions()
    train = ShapesDetection(num_images, image_size=image_size, seed=0, split="train")
    wh = torch.cat([t["boxes"][:, 2:] - t["boxes"][:, :2] for _, t in train])
    return ns["kmeans_anchors"](wh, NUM_ANCHORS)


class CourseYoloV2:
    """`detectors.Trainable` around the notebook's TinyYoloV2."""

    def __init__(self, setup: Setup) -> None:
        ns = _definitions()
        anchors = _anchors(setup.image_size)
        self.setup = setup
        self.model = ns["TinyYoloV2"](anchors, setup.num_classes, WIDTH).to(setup.device)
        self.loss = ns["YoloV2Loss"](anchors)
        resolution = SCHEDULE_STEPS or 1000
        self.optimizer, scheduler = ns["make_optimizer"](self.model, resolution)
        self.schedule = BudgetSchedule(scheduler, resolution, setup.budget_s, SCHEDULE_STEPS)
        self.predict_fn = ns["yolo_v2_predict"]

    def train_step(self, images: list[Tensor], targets: list[dict[str, Tensor]]) -> float:
        self.model.train()
        if FLIPS:
            images, targets = random_flips(images, targets, vertical=True, transpose=True)
        losses = self.loss(self.model(torch.stack(images)), targets)
        loss = sum(losses.values())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.schedule.step()
        return loss.item()

    def predict(self, images: list[Tensor]) -> list[dict[str, Tensor]]:
        return self.predict_fn(self.model, torch.stack(images))


CONTENDERS = [Contender("YOLO", "course TinyYoloV2 (k-means anchors)", CourseYoloV2)]

"""YOLO v1 (Assignment 3): the reference `YoloLoss` and `YoloV1` of ``yolo_detector.ipynb``.

The detector is the notebook's own, with its Shapes recipe: ResNet-18's layout to ``layer3``
(stride 16, random init) at the notebook's CPU width with the YOLO head, ``S = image_size //
16``, ``B = 2``, trained with the notebook's `YoloLoss` (λ_coord = 5, λ_noobj = 0.5), AdamW
with the notebook's one-cycle learning rate run on the clock (its length is the budget, see
`budget_schedule.BudgetSchedule`) and random flips and transposes (the 8 symmetries of a
square, as the notebook's Shapes recipe); predictions go through
the notebook's `decode` (class-specific confidence, per-class NMS).
"""

from __future__ import annotations

import torch
from budget_schedule import BudgetSchedule
from detectors import Contender, Setup
from notebook_defs import load_definitions
from torch import Tensor

from course_utils.data import random_flips

NOTEBOOK = "a3_ssl_detection/yolo_detector.ipynb"
NAMES = ["encode_targets", "YoloLoss", "YoloV1", "decode"]
# The notebook's Shapes recipe (its full offline mode): trunk width and peak learning rate.
WIDTH = 24
LR = 3e-3
SCHEDULE_STEPS: int | None = None  # None: the one-cycle schedule's length is the budget


class CourseYoloV1:
    """The course's YOLO v1, trained one batch at a time."""

    def __init__(self, setup: Setup) -> None:
        ns = load_definitions(NOTEBOOK, NAMES)
        self.setup = setup
        self.S, self.B = setup.image_size // 16, 2
        self.encode, self.decode = ns["encode_targets"], ns["decode"]
        self.model = ns["YoloV1"](self.S, self.B, setup.num_classes, width=WIDTH)
        self.model.to(setup.device)
        self.loss = ns["YoloLoss"](S=self.S, B=self.B)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=LR, weight_decay=5e-4)
        resolution = SCHEDULE_STEPS or 1000
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            self.optimizer, max_lr=LR, total_steps=resolution, pct_start=0.2
        )
        self.schedule = BudgetSchedule(scheduler, resolution, setup.budget_s, SCHEDULE_STEPS)
        self.gen = torch.Generator().manual_seed(0)

    def train_step(self, images: list[Tensor], targets: list[dict[str, Tensor]]) -> float:
        self.model.train()
        batch, targets = random_flips(
            images, targets, vertical=True, transpose=True, generator=self.gen
        )
        encoded = []
        for target in targets:
            encoded.append(
                self.encode(
                    target["boxes"].cpu(),
                    target["labels"].cpu(),
                    self.S,
                    self.setup.num_classes,
                    self.setup.image_size,
                )
            )
        tb, tc, obj = (torch.stack(parts).to(self.setup.device) for parts in zip(*encoded))
        terms = self.loss(self.model(torch.stack(batch)), tb, tc, obj)
        self.optimizer.zero_grad(set_to_none=True)
        terms["total_loss"].backward()
        self.optimizer.step()
        self.schedule.step()
        return float(terms["total_loss"].detach())

    @torch.no_grad()
    def predict(self, images: list[Tensor]) -> list[dict[str, Tensor]]:
        self.model.eval()
        return self.decode(self.model(torch.stack(images)), self.B, self.setup.image_size)


CONTENDERS = [Contender("YOLO v1", "course YOLO v1 (ResNet-18 layout, width 24)", CourseYoloV1)]

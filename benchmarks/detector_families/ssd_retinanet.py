"""SSD and RetinaNet: the course's models from ``07_single_stage/ssd_fpn_retinanet.ipynb``
next to torchvision's.

Course rows: the notebook's `SmallSSD` (with the reference solutions of `ssd_default_boxes`,
`ssd_match` and `hard_negative_mining`) and `SmallRetinaNet` (reference `FPN`, `focal_loss`,
`retinanet_prior_bias`), trained with focal loss and with plain BCE, with the notebook's
recipe: AdamW (RetinaNet: a higher peak learning rate and the classification term weighted 4x,
`RETINA_LR` / `RETINA_CLS_WEIGHT`, as the notebook's `RETINANET_LR` / `RETINANET_CLS_WEIGHT`),
the notebook's one-cycle schedule (run on the clock so that it ends with the
budget on any machine: `budget_schedule.BudgetSchedule`; the notebook's `SSD_STEPS` /
`RETINANET_STEPS` fix its length in steps instead) and its augmentation
(`course_utils.data.random_flips` over the 8 symmetries of a square).

torchvision rows, trained from scratch on the same data and budget:
- ``ssdlite320_mobilenet_v3_large`` as torchvision builds it, but fed the 128 px images as
  they are (at 320 px one step costs about 30 times a course SSD step: a handful of steps in
  the budget);
- torchvision's `SSD` and `RetinaNet` classes on the notebook's small `Backbone` (RetinaNet
  with torchvision's `FeaturePyramidNetwork` and a group-normalised head), with the same
  default boxes / anchors as the course models, so the rows differ only in the detector code.

Every contender gets the same optimizer, clock-driven schedule and augmentation; torchvision's
RetinaNet gets the course RetinaNet's learning rate and classification weight too.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import cache, partial
from typing import Any

import torch
from budget_schedule import BudgetSchedule
from detectors import Contender, Setup
from notebook_defs import load_definitions
from torch import Tensor, nn
from torchvision.models.detection.anchor_utils import AnchorGenerator, DefaultBoxGenerator
from torchvision.models.detection.retinanet import RetinaNet, RetinaNetHead
from torchvision.models.detection.ssd import SSD
from torchvision.models.detection.ssdlite import ssdlite320_mobilenet_v3_large
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops import FeaturePyramidNetwork

from course_utils.data import random_flips

NOTEBOOK = "07_single_stage/ssd_fpn_retinanet.ipynb"
NAMES = [
    "IMAGE_SIZE",
    "NUM_CLASSES",
    "Backbone",
    "SmallSSD",
    "SmallRetinaNet",
]
LR = 3e-3
RETINA_LR = 6e-3
RETINA_CLS_WEIGHT = 4.0  # weight of the classification term (focal or BCE) against the box term
SCHEDULE_RESOLUTION = 1000  # one-cycle steps spread over the budget
SSD_SCALES = (0.1, 0.7)
SSD_RATIOS = [[2], [2, 3], [2, 3], [2]]
RETINA_BASE_SIZES = (12, 24, 48, 96)


@cache
def _definitions() -> dict[str, Any]:
    return load_definitions(NOTEBOOK, NAMES)


class _Trainer:
    """AdamW + one-cycle schedule, as `train_detector` in the notebook."""

    def __init__(self, model: nn.Module, setup: Setup, lr: float = LR) -> None:
        self.setup = setup
        self.model = model.to(setup.device)
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
        one_cycle = torch.optim.lr_scheduler.OneCycleLR(
            self.optimizer, lr, total_steps=SCHEDULE_RESOLUTION, pct_start=0.15
        )
        self.schedule = BudgetSchedule(one_cycle, SCHEDULE_RESOLUTION, setup.budget_s)

    def losses(self, images: list[Tensor], targets: list[dict[str, Tensor]]) -> dict[str, Tensor]:
        raise NotImplementedError

    def train_step(self, images: list[Tensor], targets: list[dict[str, Tensor]]) -> float:
        self.model.train()
        images, targets = random_flips(images, targets, vertical=True, transpose=True)
        loss = sum(self.losses(images, targets).values())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 10.0)
        self.optimizer.step()
        self.schedule.step()
        return loss.item()


class CourseDetector(_Trainer):
    """The notebook's SmallSSD or SmallRetinaNet."""

    def __init__(self, setup: Setup, kind: str) -> None:
        ns = _definitions()
        if kind == "ssd":
            model = ns["SmallSSD"](setup.num_classes, setup.image_size)
            super().__init__(model, setup)
        else:
            model = ns["SmallRetinaNet"](
                setup.num_classes, setup.image_size, classification=kind,
                cls_weight=RETINA_CLS_WEIGHT,
            )  # fmt: skip
            super().__init__(model, setup, lr=RETINA_LR)

    def losses(self, images, targets):
        return self.model.loss(self.model(torch.stack(images)), targets)

    def predict(self, images: list[Tensor]) -> list[dict[str, Tensor]]:
        return self.model.predict(torch.stack(images))


class _FeatureDict(nn.Module):
    """The notebook's Backbone as torchvision's detectors want it: an OrderedDict of maps,
    optionally through torchvision's FPN (then ``out_channels`` is the FPN's width)."""

    def __init__(self, backbone: nn.Module, channels: tuple[int, ...], fpn_width: int | None):
        super().__init__()
        self.body = backbone
        self.fpn = FeaturePyramidNetwork(list(channels), fpn_width) if fpn_width else None
        self.out_channels = fpn_width or list(channels)

    def forward(self, x: Tensor) -> OrderedDict[str, Tensor]:
        maps = OrderedDict((f"p{i + 3}", m) for i, m in enumerate(self.body(x)))
        return self.fpn(maps) if self.fpn is not None else maps


class TorchvisionDetector(_Trainer):
    """A torchvision detection model (it computes its own losses in train mode). Labels are
    shifted by one for models with a background class (``shift=1``)."""

    def __init__(self, setup: Setup, kind: str) -> None:
        ns = _definitions()
        size, classes = setup.image_size, setup.num_classes
        common = {"image_mean": [0.0, 0.0, 0.0], "image_std": [1.0, 1.0, 1.0]}
        self.shift, self.cls_weight, lr = 1, 1.0, LR
        if kind == "ssdlite":
            model = ssdlite320_mobilenet_v3_large(
                weights=None, weights_backbone=None, num_classes=classes + 1
            )
            model.transform = GeneralizedRCNNTransform(
                size, size, [0.5] * 3, [0.5] * 3, size_divisible=1, fixed_size=(size, size)
            )  # the 128 px images as they are, not resized to 320 px
        elif kind == "ssd":
            backbone = _FeatureDict(ns["Backbone"](), ns["Backbone"].channels, None)
            anchors = DefaultBoxGenerator(SSD_RATIOS, *SSD_SCALES)
            model = SSD(backbone, anchors, (size, size), classes + 1, **common)
        else:  # retinanet: foreground classes only (sigmoid classifier, no background)
            self.shift = 0
            backbone = _FeatureDict(ns["Backbone"](), ns["Backbone"].channels, 64)
            sizes = tuple(tuple(b * 2 ** (i / 3) for i in range(3)) for b in RETINA_BASE_SIZES)
            anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
            head = RetinaNetHead(64, 9, classes, norm_layer=partial(nn.GroupNorm, 16))
            model = RetinaNet(
                backbone, classes, min_size=size, max_size=size, anchor_generator=anchors,
                head=head, **common,
            )  # fmt: skip
            self.cls_weight, lr = RETINA_CLS_WEIGHT, RETINA_LR
        super().__init__(model, setup, lr=lr)

    def losses(self, images, targets):
        shifted = [{"boxes": t["boxes"], "labels": t["labels"] + self.shift} for t in targets]
        losses = self.model(images, shifted)
        if "classification" in losses:  # RetinaNet's focal term, weighted as the course's
            losses["classification"] = self.cls_weight * losses["classification"]
        return losses

    @torch.no_grad()
    def predict(self, images: list[Tensor]) -> list[dict[str, Tensor]]:
        self.model.eval()
        preds = self.model(images)
        return [
            {"boxes": p["boxes"], "scores": p["scores"], "labels": p["labels"] - self.shift}
            for p in preds
        ]


CONTENDERS = [
    Contender("SSD", "course SmallSSD", partial(CourseDetector, kind="ssd")),
    Contender("SSD", "torchvision SSD (course backbone)", partial(TorchvisionDetector, kind="ssd")),
    Contender(
        "SSD",
        "torchvision ssdlite320_mobilenet_v3_large",
        partial(TorchvisionDetector, kind="ssdlite"),
    ),
    Contender("RetinaNet", "course SmallRetinaNet (focal)", partial(CourseDetector, kind="focal")),
    Contender("RetinaNet", "course SmallRetinaNet (BCE)", partial(CourseDetector, kind="bce")),
    Contender(
        "RetinaNet",
        "torchvision RetinaNet (course backbone, FPN)",
        partial(TorchvisionDetector, kind="retinanet"),
    ),
]

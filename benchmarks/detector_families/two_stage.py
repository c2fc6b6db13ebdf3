"""Two-stage detectors (``06_two_stage``): R-CNN, Fast R-CNN and Faster R-CNN, each the
reference solution of its source notebook, and torchvision's ``FasterRCNN`` with the same
backbone.

The models and their helpers are the notebooks' own definitions (`notebook_defs`), built at the
benchmark's image size: sliding-window proposals scaled with the image, anchors of 1/8, 1/4
and 1/2 of it (Shapes objects are 1/10 to 2/5 of the image, median 1/5), RoIAlign with one
sample per bin in both Faster R-CNNs. R-CNN trains its region classifier on warped regions
sampled from each batch (16 per image, at most a quarter objects), exactly as the notebook
does.
"""

from __future__ import annotations

import contextlib
import io
from functools import cache
from typing import Any

import torch
from detectors import Contender, Setup
from notebook_defs import load_definitions
from torch import Tensor

RCNN_NAMES = [
    "sliding_window_proposals",
    "RCNNClassifier",
    "label_regions",
    "rcnn_loss",
    "rcnn_detect",
    "postprocess",
    "FastRCNN",
]
FASTER_NAMES = ["FasterRCNN", "torchvision_faster_rcnn", "ShiftLabels"]
# Faster R-CNN and torchvision's FasterRCNN train as the notebook's `train_detector` does: AdamW
# (peak 4e-3) with a one-cycle schedule. A schedule needs a length: about 70% of the steps of
# batch 16 an idle 2-core CPU does in a 180 s budget (one step: ~0.44 CPU-s on one thread);
# after it ends the learning rate stays at its final value.
LR = 4e-3
PCT_START = 0.15
SCHEDULE_STEPS = 500


def _quietly(notebook: str, names: list[str]) -> dict[str, Any]:
    # the definitions come with the check cells of the helpers they follow: hide their prints
    with contextlib.redirect_stdout(io.StringIO()):
        return load_definitions(notebook, names)


@cache
def _rcnn_defs() -> dict[str, Any]:
    return _quietly("06_two_stage/rcnn_fast_rcnn.ipynb", RCNN_NAMES)


@cache
def _faster_defs() -> dict[str, Any]:
    return _quietly("06_two_stage/faster_rcnn.ipynb", FASTER_NAMES)


def _proposals(defs: dict[str, Any], size: int) -> Tensor:
    sizes = tuple(s * size / 64 for s in (6, 9, 13, 19, 27, 38, 54))
    return defs["sliding_window_proposals"](size, sizes)


class RCNN:
    """R-CNN: warped regions through a small CNN, one pass per proposal."""

    def __init__(self, setup: Setup) -> None:
        self.defs = _rcnn_defs()
        self.setup = setup
        self.warp = 32
        self.proposals = _proposals(self.defs, setup.image_size).to(setup.device)
        self.model = self.defs["RCNNClassifier"](setup.num_classes).to(setup.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=3e-3, weight_decay=1e-4)

    def train_step(self, images: list[Tensor], targets: list[dict[str, Tensor]]) -> float:
        import torchvision.ops as tvops

        crops, labels, deltas = [], [], []
        for image, target in zip(images, targets):
            boxes, lab, delta = self.defs["label_regions"](self.proposals, target, 16)
            crops.append(tvops.roi_align(image[None], [boxes], self.warp, aligned=True))
            labels.append(lab)
            deltas.append(delta)
        self.model.train()
        losses = self.defs["rcnn_loss"](
            self.model(torch.cat(crops)), (torch.cat(labels), torch.cat(deltas))
        )
        loss = sum(losses.values())
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def predict(self, images: list[Tensor]) -> list[dict[str, Tensor]]:
        self.model.eval()
        return [
            self.defs["rcnn_detect"](self.model, image, self.proposals, self.warp)
            for image in images
        ]


class Detector:
    """A detector that returns its losses in training mode and predictions in eval mode, trained
    with AdamW and a one-cycle schedule of ``schedule_steps`` (then the final learning rate)."""

    def __init__(
        self,
        model: torch.nn.Module,
        setup: Setup,
        lr: float = LR,
        schedule_steps: int | None = None,
    ) -> None:
        self.model = model.to(setup.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=lr, weight_decay=1e-4)
        self.schedule_steps = schedule_steps or SCHEDULE_STEPS
        self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
            self.optimizer, lr, total_steps=self.schedule_steps, pct_start=PCT_START
        )
        self.steps = 0

    def train_step(self, images: list[Tensor], targets: list[dict[str, Tensor]]) -> float:
        self.model.train()
        loss = sum(self.model(images, targets).values())
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        if self.steps < self.schedule_steps - 1:
            self.scheduler.step()
        self.steps += 1
        return loss.item()

    def predict(self, images: list[Tensor]) -> list[dict[str, Tensor]]:
        self.model.eval()
        return [{k: p[k] for k in ("boxes", "scores", "labels")} for p in self.model(list(images))]


def _fast_rcnn(setup: Setup) -> Detector:
    defs = _rcnn_defs()
    proposals = _proposals(defs, setup.image_size)
    return Detector(defs["FastRCNN"](setup.num_classes, proposals), setup)


def _anchor_sizes(size: int) -> tuple[int, ...]:
    return (size // 8, size // 4, size // 2)


def _faster_rcnn(setup: Setup) -> Detector:
    model = _faster_defs()["FasterRCNN"](setup.num_classes, _anchor_sizes(setup.image_size))
    return Detector(model, setup)


def _torchvision_model(setup: Setup) -> torch.nn.Module:
    return _faster_defs()["torchvision_faster_rcnn"](
        setup.num_classes, _anchor_sizes(setup.image_size), image_size=setup.image_size
    )


def _torchvision_faster_rcnn(setup: Setup) -> Detector:
    return Detector(_faster_defs()["ShiftLabels"](_torchvision_model(setup)), setup)


def _faster_rcnn_torchvision_init(setup: Setup) -> Detector:
    """The course Faster R-CNN started from the very weights torchvision's contender draws for
    the same seed (same parameter names), the global random stream left where torchvision's
    construction leaves it: the two start from the same point, so what differs is the
    implementation, not the luck of the initial draw. (Their anchor and RoI samples still
    differ: torchvision's transform draws one number per training image, its choice of size.)"""
    initial = _torchvision_model(setup).state_dict()
    with torch.random.fork_rng():  # the course model's own draws are thrown away
        model = _faster_defs()["FasterRCNN"](setup.num_classes, _anchor_sizes(setup.image_size))
    model.load_state_dict(initial)
    return Detector(model, setup)


CONTENDERS = [
    Contender("two-stage", "course R-CNN (sliding windows)", RCNN),
    Contender("two-stage", "course Fast R-CNN (sliding windows)", _fast_rcnn),
    Contender("two-stage", "course Faster R-CNN", _faster_rcnn),
    Contender(
        "two-stage",
        "course Faster R-CNN, torchvision's initial weights",
        _faster_rcnn_torchvision_init,
    ),
    Contender("two-stage", "torchvision FasterRCNN (same backbone)", _torchvision_faster_rcnn),
]

"""YOLO v1 (Assignment 3): the reference `YoloLoss` and `YoloV1` of ``yolo_detector.ipynb``.

The detector is the notebook's own: a ResNet-18 trunk to ``layer3`` (stride 16, random init)
with the YOLO head, ``S = image_size // 16``, ``B = 2``, trained with the notebook's
`YoloLoss` (λ_coord = 5, λ_noobj = 0.5) and AdamW at a constant learning rate (the budget is
wall-clock, so no schedule can know its length), with random horizontal flips; predictions go
through the notebook's `decode` (class-specific confidence, per-class NMS).
"""

from __future__ import annotations

import torch
from detectors import Contender, Setup
from notebook_defs import load_definitions
from torch import Tensor

NOTEBOOK = "a3_ssl_detection/yolo_detector.ipynb"
NAMES = ["encode_targets", "YoloLoss", "YoloV1", "decode"]


class CourseYoloV1:
    """The course's YOLO v1, trained one batch at a time."""

    def __init__(self, setup: Setup) -> None:
        ns = load_definitions(NOTEBOOK, NAMES)
        self.setup = setup
        self.S, self.B = setup.image_size // 16, 2
        self.encode, self.decode = ns["encode_targets"], ns["decode"]
        self.model = ns["YoloV1"](self.S, self.B, setup.num_classes).to(setup.device)
        self.loss = ns["YoloLoss"](S=self.S, B=self.B)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-3, weight_decay=5e-4)
        self.gen = torch.Generator().manual_seed(0)

    def _flip(self, image: Tensor, boxes: Tensor) -> tuple[Tensor, Tensor]:
        """A random horizontal flip of an image and its xyxy boxes."""
        if torch.rand((), generator=self.gen) < 0.5:
            return image, boxes
        width = image.shape[-1]
        return image.flip(-1), torch.stack(
            [width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], dim=1
        )

    def train_step(self, images: list[Tensor], targets: list[dict[str, Tensor]]) -> float:
        self.model.train()
        batch, encoded = [], []
        for image, target in zip(images, targets):
            image, boxes = self._flip(image, target["boxes"])
            batch.append(image)
            encoded.append(
                self.encode(
                    boxes.cpu(),
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
        return float(terms["total_loss"].detach())

    @torch.no_grad()
    def predict(self, images: list[Tensor]) -> list[dict[str, Tensor]]:
        self.model.eval()
        return self.decode(self.model(torch.stack(images)), self.B, self.setup.image_size)


CONTENDERS = [Contender("YOLO v1", "course YOLO v1 (ResNet-18 to layer3)", CourseYoloV1)]

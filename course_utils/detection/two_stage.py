"""Infrastructure of the two-stage detector notebooks (``06_two_stage``), built on torchvision.

- `random_boxes`: the trivial baseline every detector is compared with (random boxes of random
  classes), so a printed mAP has a floor next to it.
- `RoIFeatures`: crops a fixed-size feature per region from one feature map with
  ``torchvision.ops.roi_pool`` or ``roi_align``, in the calling convention of torchvision's
  ``RoIHeads`` (``features dict, proposals list, image sizes``).
- `tiny_backbone`: a small convolutional feature extractor with a known stride.

Nothing here is an exercise answer: the notebooks' exercises re-derive what torchvision does,
and hidden tests make the torchvision functions (and so these wrappers) unavailable while an
exercise runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torchvision.ops
from torch import Tensor, nn

from .baseline import random_box_predictions as random_boxes  # noqa: F401 - the notebooks' name


class RoIFeatures(nn.Module):
    """One ``[C, h, w]`` feature per region, cut from a single feature map.

    Args:
        output_size: ``(h, w)`` (or one int) of each region's feature.
        spatial_scale: feature-map pixels per image pixel (1 / the backbone's stride).
        kind: ``"pool"`` (``torchvision.ops.roi_pool``, Fast R-CNN's quantised max pooling) or
            ``"align"`` (``torchvision.ops.roi_align``, bilinear samples).
        sampling_ratio: samples per bin side for ``"align"``.
        aligned: for ``"align"``, shift the box by half a feature cell, so that feature index
            ``i`` stands for image coordinate ``(i + 0.5) * stride`` (the centre of its cell);
            False: it stands for ``i * stride`` (torchvision's ``MultiScaleRoIAlign``). A
            backbone of stride-2 3x3 convolutions with padding 1 centres feature ``i`` on image
            coordinate ``i * stride + 0.5``, nearer the second.

    Called as torchvision's ``RoIHeads`` calls its ``box_roi_pool``:
    ``forward(features {"0": Tensor[N, C, H, W]}, proposals [Tensor[K_i, 4]] * N, image_sizes)``
    returns ``Tensor[sum K_i, C, h, w]``.
    """

    def __init__(
        self,
        output_size: int | tuple[int, int],
        spatial_scale: float,
        kind: str = "pool",
        sampling_ratio: int = 2,
        aligned: bool = True,
    ) -> None:
        super().__init__()
        if kind not in ("pool", "align"):
            raise ValueError(f'kind must be "pool" or "align", got {kind!r}')
        self.output_size = (
            (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
        )
        self.spatial_scale = float(spatial_scale)
        self.kind = kind
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(
        self,
        features: dict[str, Tensor],
        proposals: Sequence[Tensor],
        image_sizes: Sequence[tuple[int, int]] | None = None,
    ) -> Tensor:
        feature = features["0"] if isinstance(features, dict) else features
        boxes = [p.to(feature.dtype) for p in proposals]
        # attribute lookups at call time, so guard.forbidden can make them unavailable
        if self.kind == "pool":
            return torchvision.ops.roi_pool(feature, boxes, self.output_size, self.spatial_scale)
        return torchvision.ops.roi_align(
            feature,
            boxes,
            self.output_size,
            self.spatial_scale,
            sampling_ratio=self.sampling_ratio,
            aligned=self.aligned,
        )

    def extra_repr(self) -> str:
        return f"kind={self.kind}, output_size={self.output_size}, scale={self.spatial_scale:g}"


def tiny_backbone(channels: Sequence[int] = (16, 32, 64), in_channels: int = 3) -> nn.Sequential:
    """A small CNN feature extractor: one stride-2 stage (conv-BN-ReLU, conv-BN-ReLU) per entry
    of ``channels``, so the stride is ``2 ** len(channels)``.

    Returns:
        ``nn.Sequential`` mapping Tensor[N, in_channels, H, W] to
        Tensor[N, channels[-1], H / stride, W / stride], with ``out_channels`` and ``stride``
        attributes (what torchvision's detectors read from a backbone).
    """
    layers: list[nn.Module] = []
    prev = in_channels
    for ch in channels:
        layers += [
            nn.Conv2d(prev, ch, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(ch, ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(inplace=True),
        ]
        prev = ch
    net = nn.Sequential(*layers)
    net.out_channels = prev
    net.stride = 2 ** len(channels)
    return net

"""What a CNN computes: the feature maps of a layer and the filters of a convolution.

Feature maps are captured with forward hooks, so any ``nn.Module`` works without changes;
layers are named as in ``model.named_modules()`` (``"features.0"``, ``"layer1.0.conv1"``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from .arrays import plot_maps


def _module(model: nn.Module, name: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name not in modules:
        names = ", ".join(n for n in modules if n) or "(none)"
        raise KeyError(f"model has no layer {name!r}; its layers are: {names}")
    return modules[name]


@torch.no_grad()
def capture_activations(
    model: nn.Module, inputs: torch.Tensor, layers: Sequence[str]
) -> dict[str, torch.Tensor]:
    """Run ``model(inputs)`` once and return the outputs of the named layers.

    Args:
        inputs: Tensor[N, C, H, W] on the model's device.
        layers: names from ``model.named_modules()``.
    Returns:
        layer name -> its output tensor (detached), e.g. Tensor[N, C_l, H_l, W_l].
    The forward pass runs in eval mode (no dropout, no batch-norm statistics updates); the
    model's train/eval mode is restored afterwards.
    """
    captured: dict[str, Any] = {}
    hooks = [
        _module(model, name).register_forward_hook(
            lambda _m, _in, out, name=name: captured.__setitem__(name, out)
        )
        for name in layers
    ]
    was_training = model.training
    model.eval()
    try:
        model(inputs)
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    for name, out in captured.items():
        if not isinstance(out, torch.Tensor):
            raise TypeError(_not_a_tensor(model, name, out))
    return {name: out.detach() for name, out in captured.items()}


def _not_a_tensor(model: nn.Module, name: str, out: Any) -> str:
    """Why a layer's output cannot be drawn, and which layers to pick instead."""
    if isinstance(out, tuple | list):
        kinds = ", ".join(type(v).__name__ for v in out)
        what = f"a {type(out).__name__} of {len(out)} values ({kinds})"
    elif isinstance(out, dict):
        what = f"a dict with keys {list(out)}"
    else:
        what = f"a {type(out).__name__}"
    children = [f"{name}.{child}" for child, _ in _module(model, name).named_children()]
    instead = (
        f"pick one of its sublayers ({', '.join(children[:6])}{', ...' if len(children) > 6 else ''})"
        if children
        else "pick a layer before or after it"
    )
    return (
        f"layer {name!r} outputs {what}, not one tensor of feature maps; {instead}, "
        "whose output is a tensor [N, C, H, W]"
    )


def _grid_axes(fig: Figure, count: int, ncols: int) -> np.ndarray:
    ncols = max(1, min(ncols, count))
    return np.array(fig.axes).reshape(math.ceil(count / ncols), ncols)


def plot_feature_maps(
    model: nn.Module,
    image: torch.Tensor,
    layer: str,
    max_maps: int = 16,
    ncols: int = 8,
    cmap: str = "viridis",
) -> tuple[Figure, np.ndarray]:
    """The first ``max_maps`` channels a layer outputs for one image.

    Args:
        image: Tensor[C, H, W] (or [1, C, H, W]), prepared as the model expects.
        layer: a name from ``model.named_modules()`` whose output is ``[1, C_l, H_l, W_l]``.
    Returns:
        ``(fig, axes)``, one panel per channel titled with its index.
    """
    batch = image.unsqueeze(0) if image.ndim == 3 else image
    if batch.ndim != 4 or batch.shape[0] != 1:
        raise ValueError(f"image must be [C, H, W] or [1, C, H, W], got {tuple(image.shape)}")
    device = next((p.device for p in model.parameters()), batch.device)
    maps = capture_activations(model, batch.to(device), [layer])[layer]
    if maps.ndim != 4:
        raise ValueError(f"layer {layer!r} outputs shape {tuple(maps.shape)}, not feature maps")
    maps = maps[0, :max_maps].float().cpu()
    fig = plot_maps(
        maps, titles=[f"{layer}[{c}]" for c in range(len(maps))], ncols=ncols, cmap=cmap
    )
    return fig, _grid_axes(fig, len(maps), ncols)


def conv_weight(
    model_or_weight: nn.Module | torch.Tensor, layer: str | None = None
) -> torch.Tensor:
    """The weight ``[C_out, C_in, kH, kW]`` of a convolution: the tensor itself, the named
    layer of a model, or (``layer=None``) the model's first ``nn.Conv2d``."""
    if isinstance(model_or_weight, torch.Tensor):
        weight = model_or_weight
    elif layer is not None:
        weight = getattr(_module(model_or_weight, layer), "weight", None)
        if not isinstance(weight, torch.Tensor):
            raise ValueError(f"layer {layer!r} has no weight tensor")
    else:
        convs = [m for m in model_or_weight.modules() if isinstance(m, nn.Conv2d)]
        if not convs:
            raise ValueError("the model has no nn.Conv2d layer; pass layer= or a weight tensor")
        weight = convs[0].weight
    if weight.ndim != 4:
        raise ValueError(f"a conv weight is [C_out, C_in, kH, kW], got {tuple(weight.shape)}")
    return weight.detach().float().cpu()


def plot_filters(
    model_or_weight: nn.Module | torch.Tensor,
    layer: str | None = None,
    max_filters: int = 32,
    ncols: int = 8,
) -> tuple[Figure, np.ndarray]:
    """The learned filters of a convolution.

    RGB-input filters (``C_in == 3``, a first layer) are shown as small colour images, each
    stretched to [0, 1]; other filters show their input-channel-averaged weights on a
    symmetric red-blue scale (red positive, blue negative).
    """
    weight = conv_weight(model_or_weight, layer)[:max_filters]
    titles = [str(i) for i in range(len(weight))]
    if weight.shape[1] == 3:
        low = weight.amin(dim=(1, 2, 3), keepdim=True)
        high = weight.amax(dim=(1, 2, 3), keepdim=True)
        fig = plot_maps((weight - low) / (high - low).clamp_min(1e-12), titles, ncols=ncols)
    else:
        fig = plot_maps(weight.mean(1), titles, ncols=ncols, cmap="RdBu_r", symmetric=True)
    return fig, _grid_axes(fig, len(weight), ncols)

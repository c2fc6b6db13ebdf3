"""One batch at a time: moving it to the device, computing its loss, and evaluation."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

Metric = Callable[[Any, Any], float]


def move_to(obj: Any, device: torch.device, channels_last: bool = False) -> Any:
    """Tensors inside ``obj`` (nested lists, tuples, dicts) moved to ``device``.

    Copies are non-blocking (they overlap with compute when the batch is in pinned memory);
    4-D tensors become channels-last when asked.
    """
    if isinstance(obj, torch.Tensor):
        obj = obj.to(device, non_blocking=True)
        if channels_last and obj.ndim == 4 and obj.is_floating_point():
            obj = obj.contiguous(memory_format=torch.channels_last)
        return obj
    if isinstance(obj, Mapping):
        return {k: move_to(v, device, channels_last) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(move_to(v, device, channels_last) for v in obj)
    return obj


def split_batch(batch: Any) -> tuple[Any, Any]:
    """``(inputs, targets)`` of a batch, or a TypeError explaining the expected form."""
    if not (isinstance(batch, list | tuple) and len(batch) == 2):
        raise TypeError(
            "fit expects each batch to be (inputs, targets); got "
            f"{type(batch).__name__} of length {len(batch) if hasattr(batch, '__len__') else '?'}"
        )
    return batch[0], batch[1]


def compute_loss(loss_fn, model: nn.Module, inputs: Any, targets: Any):
    """``(total loss, outputs)``. Without ``loss_fn`` the model computes its own loss from
    ``model(inputs, targets)`` (torchvision detection models return a dict of losses)."""
    if loss_fn is None:
        outputs = model(inputs, targets)
        loss = outputs
    else:
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
    if isinstance(loss, Mapping):
        loss = sum(loss.values())
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise TypeError(f"the loss must be a scalar tensor (or a dict of them); got {loss!r}")
    return loss, outputs


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: Callable | None = None,
    metrics: Mapping[str, Metric] | None = None,
    device: str | torch.device | None = None,
    amp_dtype: torch.dtype | None = None,
) -> dict[str, float]:
    """Average loss and metrics of ``model`` over ``loader``, weighted by batch size.

    Returns ``{"loss": ..., "<metric>": ...}`` (``loss`` only when ``loss_fn`` is given). The
    model is put in eval mode and left there.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.eval()
    sums: dict[str, float] = {}
    count = 0
    for batch in loader:
        inputs, targets = move_to(split_batch(batch), device)
        with autocast(device, amp_dtype):
            outputs = model(inputs)
            values = {"loss": float(loss_fn(outputs, targets))} if loss_fn is not None else {}
        for name, metric in (metrics or {}).items():
            values[name] = float(metric(outputs, targets))
        n = len(inputs)
        for name, value in values.items():
            sums[name] = sums.get(name, 0.0) + value * n
        count += n
    if count == 0:
        raise ValueError("the validation loader is empty")
    return {name: total / count for name, total in sums.items()}


def autocast(device: torch.device, dtype: torch.dtype | None):
    """Mixed precision in ``dtype`` on ``device``; a no-op context when ``dtype`` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(enabled: bool):
    """A CUDA gradient scaler (float16 training); a pass-through when not ``enabled``."""
    try:
        return torch.amp.GradScaler("cuda", enabled=enabled)
    except (AttributeError, TypeError):  # torch < 2.3
        return torch.cuda.amp.GradScaler(enabled=enabled)

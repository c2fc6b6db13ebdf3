"""One batch at a time: moving it to the device, computing its loss, and evaluation."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
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


def compute_loss(
    loss_fn: Callable | None, model: nn.Module, inputs: Any, targets: Any
) -> tuple[torch.Tensor, Any, dict[str, torch.Tensor]]:
    """``(total loss, outputs, named terms)`` of one batch.

    ``loss_fn(model(inputs), targets)`` may return a scalar tensor or a dict of named scalar
    terms (``{"cls": ..., "box": ...}``), which are summed into the total. Without ``loss_fn``
    the model computes its own losses from ``model(inputs, targets)``, as torchvision's
    detection models do in training mode (they return a dict of losses).
    """
    if loss_fn is None:
        outputs = model(inputs, targets)
        total, terms = split_loss(outputs)
        return total, outputs, terms
    outputs = model(inputs)
    total, terms = split_loss(loss_fn(outputs, targets))
    return total, outputs, terms


def split_loss(loss: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``(total, terms)`` of a loss: a scalar tensor (no terms) or a dict of named scalar
    terms, summed into the total. Raises a TypeError / ValueError saying what is wrong."""
    terms: dict[str, torch.Tensor] = {}
    if isinstance(loss, Mapping):
        terms = dict(loss)
        for name, term in terms.items():
            if not isinstance(name, str) or name == "loss":
                raise ValueError(
                    f"loss terms need string names other than 'loss' (the total is logged as "
                    f"'loss'); got the names {list(terms)}"
                )
            if not isinstance(term, torch.Tensor) or term.numel() != 1:
                raise TypeError(f"loss term {name!r} must be a scalar tensor; got {term!r}")
        if not terms:
            raise ValueError("the loss is an empty dict: no loss terms to train on")
        loss = sum(terms.values())
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise TypeError(f"the loss must be a scalar tensor (or a dict of them); got {loss!r}")
    return loss, terms


def loss_values(loss: torch.Tensor, terms: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """``{"loss": total, <term>: value, ...}`` as Python floats, with one device sync."""
    tensors = [loss, *terms.values()]
    values = torch.stack([t.detach().float().reshape(()) for t in tensors]).tolist()
    return dict(zip(["loss", *terms], values))


@contextlib.contextmanager
def loss_mode(model: nn.Module) -> Iterator[None]:
    """The model in training mode (so ``model(inputs, targets)`` returns its losses) with every
    normalisation and dropout layer in eval mode: validation losses of a torchvision detector
    that change no BatchNorm statistics and drop nothing. Each module's mode is restored."""
    modes = {m: m.training for m in model.modules()}
    model.train()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._NormBase | nn.modules.dropout._DropoutNd):
            m.eval()
    try:
        yield
    finally:
        for m, training in modes.items():
            m.training = training


def _cuda_devices() -> list[int]:
    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: Callable | None = None,
    metrics: Mapping[str, Metric] | None = None,
    device: str | torch.device | None = None,
    amp_dtype: torch.dtype | None = None,
    *,
    model_loss: bool = False,
    seed: int = 0,
) -> dict[str, float]:
    """Average loss and metrics of ``model`` over ``loader``, weighted by batch size.

    Args:
        loss_fn: as in `fit`; a dict of terms gives ``"loss"`` (their sum) and each term.
        metrics: name -> ``fn(outputs, targets) -> float`` of the eval-mode outputs, averaged
            over batches (a metric over the whole set, such as mAP, is computed after `fit`:
            `course_utils.detection.evaluate_detections`).
        model_loss: the model computes its own losses as ``model(inputs, targets)`` (`fit`
            with ``loss_fn=None``): the losses come from a forward in `loss_mode` (training
            mode, normalisation and dropout frozen), the metrics from a second, eval-mode
            forward ``model(inputs)``, which for a torchvision detector returns detections.
        seed: evaluation runs under its own RNG (torchvision detectors sample anchors while
            computing their losses), so it is repeatable and leaves the caller's RNGs as they
            were.
    Returns:
        ``{"loss": ..., "<term>": ..., "<metric>": ...}`` (losses only with ``loss_fn`` or
        ``model_loss``). The model is left in eval mode.
    """
    if model_loss and loss_fn is not None:
        raise ValueError("pass either loss_fn or model_loss=True, not both")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    sums: dict[str, float] = {}
    count = 0
    with torch.random.fork_rng(devices=_cuda_devices()):
        torch.manual_seed(seed)
        for batch in loader:
            inputs, targets = move_to(split_batch(batch), device)
            values: dict[str, float] = {}
            with autocast(device, amp_dtype):
                if model_loss:
                    with loss_mode(model):
                        values = loss_values(*split_loss(model(inputs, targets)))
                model.eval()
                outputs = model(inputs) if loss_fn is not None or metrics else None
                if loss_fn is not None:
                    values = loss_values(*split_loss(loss_fn(outputs, targets)))
            for name, metric in (metrics or {}).items():
                if name in values:
                    raise ValueError(f"metric {name!r} has the name of a loss term; rename it")
                values[name] = float(metric(outputs, targets))
            n = len(inputs)
            for name, value in values.items():
                sums[name] = sums.get(name, 0.0) + value * n
            count += n
    model.eval()
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

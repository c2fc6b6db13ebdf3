"""`fit`: the one training loop of the course.

The same code runs on a laptop CPU and on a Colab GPU: on CUDA it adds mixed precision
(bfloat16 where the GPU supports it, else float16 with a gradient scaler), channels-last memory
layout, non-blocking host-to-device copies and cuDNN autotuning; elsewhere those are skipped.

Exact resume: the loop position and every RNG state are checkpointed, together with the RNG
state at the start of the current epoch. Resuming mid-epoch replays that epoch's start (so the
DataLoader draws the same shuffle and worker seeds), skips the batches already trained on,
then restores the RNGs as they were at the checkpoint. On the CPU the resumed run therefore
ends with bit-identical weights to an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from ..env import get_device
from . import distributed as D
from .checkpoint import (
    CheckpointError,
    capture_rng,
    load_latest,
    restore_rng,
    save_checkpoint,
)
from .history import History
from .progress import Progress

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


def _split_batch(batch: Any) -> tuple[Any, Any]:
    if not (isinstance(batch, list | tuple) and len(batch) == 2):
        raise TypeError(
            "fit expects each batch to be (inputs, targets); got "
            f"{type(batch).__name__} of length {len(batch) if hasattr(batch, '__len__') else '?'}"
        )
    return batch[0], batch[1]


def _compute_loss(loss_fn, model: nn.Module, inputs: Any, targets: Any):
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
    autocast = _autocast(device, amp_dtype)
    for batch in loader:
        inputs, targets = move_to(_split_batch(batch), device)
        with autocast:
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


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def _grad_scaler(enabled: bool):
    try:
        return torch.amp.GradScaler("cuda", enabled=enabled)
    except (AttributeError, TypeError):  # torch < 2.3
        return torch.cuda.amp.GradScaler(enabled=enabled)


def _loader_generators(loader: DataLoader) -> dict[str, torch.Generator]:
    """A DataLoader's private generators (they decide shuffling when given)."""
    found = {}
    if isinstance(getattr(loader, "generator", None), torch.Generator):
        found["loader"] = loader.generator
    if isinstance(getattr(loader.sampler, "generator", None), torch.Generator):
        found["sampler"] = loader.sampler.generator
    return found


def _check_args(epochs: int, scheduler_step: str, checkpoint_unit: str, every: int, resume, ckdir):
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if scheduler_step not in ("epoch", "batch"):
        raise ValueError(f'scheduler_step must be "epoch" or "batch", got {scheduler_step!r}')
    if checkpoint_unit not in ("epoch", "step"):
        raise ValueError(f'checkpoint_unit must be "epoch" or "step", got {checkpoint_unit!r}')
    if every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {every}")
    if resume and ckdir is None:
        raise ValueError("resume=True needs checkpoint_dir: the folder to resume from")


def fit(
    model: nn.Module,
    loss_fn: Callable | None,
    optimizer: torch.optim.Optimizer,
    train_loader: DataLoader,
    *,
    epochs: int,
    val_loader: DataLoader | None = None,
    metrics: Mapping[str, Metric] | None = None,
    scheduler: Any = None,
    scheduler_step: str = "epoch",
    device: str | torch.device | None = None,
    grad_clip: float | None = None,
    amp: bool | None = None,
    channels_last: bool | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 1,
    checkpoint_unit: str = "epoch",
    keep_checkpoints: int = 3,
    resume: bool = False,
    progress: bool = True,
    live_plot: bool = False,
    seed: int = 0,
) -> History:
    """Train ``model`` for ``epochs`` epochs (in total, counting epochs done before a resume).

    Args:
        model: the network; moved to ``device``.
        loss_fn: ``loss_fn(model(inputs), targets) -> scalar``; ``None`` when the model computes
            its own loss as ``model(inputs, targets)``. A dict of losses is summed.
        optimizer: built on ``model.parameters()``.
        train_loader: yields ``(inputs, targets)``; inputs e.g. Tensor[N, C, H, W].
        epochs: total number of epochs.
        val_loader: evaluated after every epoch (``val_loss`` and ``val_<metric>``).
        metrics: name -> ``fn(outputs, targets) -> float`` (e.g. `accuracy`), on validation.
        scheduler: an LR scheduler, stepped per ``scheduler_step`` ("epoch" or "batch");
            ``ReduceLROnPlateau`` receives the validation loss (else the training loss).
        device: default `course_utils.get_device()`; each rank's GPU under torchrun.
        grad_clip: clip the global gradient norm to this value.
        amp: mixed precision; default on for CUDA only (ignored elsewhere).
        channels_last: channels-last layout; default on for CUDA only.
        checkpoint_dir: folder for checkpoints (e.g. `colab_drive_dir()` on Colab). A
            checkpoint is always written when fit returns.
        checkpoint_every, checkpoint_unit: also every N "epoch"s or optimizer "step"s.
        keep_checkpoints: how many recent checkpoints to keep.
        resume: continue from the newest readable checkpoint in ``checkpoint_dir`` (starts
            fresh when there is none).
        progress: tqdm bars for epochs and batches with the loss; False for silence.
        live_plot: redraw the training curves in place after every epoch (notebooks).
        seed: shuffling seed of the distributed sampler under torchrun.
    Returns:
        the `History` (per-epoch lists), including epochs from before a resume.
    Raises:
        FloatingPointError: the loss became NaN or infinite (the message names the step).
    """
    _check_args(epochs, scheduler_step, checkpoint_unit, checkpoint_every, resume, checkpoint_dir)
    info, device = D.setup(torch.device(device) if device is not None else None)
    device = device if device is not None else get_device()
    cuda = device.type == "cuda"
    if amp and not cuda:
        warnings.warn("amp=True is only used on CUDA; training in float32", stacklevel=2)
    amp_dtype = None
    if (amp is None or amp) and cuda:
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = _grad_scaler(amp_dtype == torch.float16)
    use_cl = bool(cuda if channels_last is None else channels_last)
    if cuda:
        torch.backends.cudnn.benchmark = True  # fixed input sizes: pick the fastest kernels once
    model.to(device)
    if use_cl:
        model.to(memory_format=torch.channels_last)
    net: nn.Module = model
    if info.enabled:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if cuda else None
        )
        train_loader = D.shard_loader(train_loader, info, seed)
    generators = _loader_generators(train_loader)

    history = History()
    pos = {"epoch": 0, "step": 0, "batch_in_epoch": 0}
    running = {"loss_sum": 0.0, "count": 0.0, "time": 0.0}
    resumed: dict[str, Any] | None = None
    log = Progress(enabled=progress and info.is_main)
    if resume:
        resumed = _restore(checkpoint_dir, model, optimizer, scheduler, scaler, info, log)
        if resumed is not None:
            history = History(resumed["history"])
            pos = {k: int(resumed[k]) for k in pos}
            running = dict(resumed.get("running", running))
            restore_rng(_own(resumed["rng"], info), generators)

    live = None
    if live_plot and info.is_main:
        from ..viz.curves import LivePlot

        live = LivePlot()
    last_saved = int(resumed["step"]) if resumed is not None else -1
    epoch_rngs: list[dict[str, Any]] = []

    def checkpoint() -> None:
        nonlocal last_saved
        rngs = D.gather_object(capture_rng(generators), info)
        if info.is_main:
            state = {
                **pos,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "scaler": scaler.state_dict(),
                "rng": rngs,
                "epoch_rng": epoch_rngs,
                "running": dict(running),
                "history": dict(history),
            }
            save_checkpoint(state, checkpoint_dir, keep=keep_checkpoints)
        D.barrier(info)
        last_saved = pos["step"]

    try:
        log.start(epochs, pos["epoch"])
        while pos["epoch"] < epochs:
            if pos["batch_in_epoch"] == 0:
                epoch_rngs = D.gather_object(capture_rng(generators), info)
            else:  # resuming mid-epoch: replay the epoch's shuffle from its start
                epoch_rngs = resumed["epoch_rng"]
                restore_rng(_own(epoch_rngs, info), generators)
            if isinstance(train_loader.sampler, DistributedSampler):
                train_loader.sampler.set_epoch(pos["epoch"])
            batches = iter(train_loader)
            for _ in range(pos["batch_in_epoch"]):
                next(batches)
            if pos["batch_in_epoch"]:
                restore_rng(_own(resumed["rng"], info), generators)
            net.train()
            log.start_epoch(pos["epoch"], _len(train_loader), pos["batch_in_epoch"])
            started = time.perf_counter()
            for batch in batches:
                inputs, targets = move_to(_split_batch(batch), device, use_cl)
                with _autocast(device, amp_dtype):
                    loss, _ = _compute_loss(loss_fn, net, inputs, targets)
                value = loss.item()
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"the loss became {value} at step {pos['step'] + 1} (epoch "
                        f"{pos['epoch'] + 1}, batch {pos['batch_in_epoch'] + 1}); training "
                        "stopped. Lower the learning rate, set grad_clip=1.0, or check that "
                        "batch's inputs and targets."
                        + (
                            f" The last checkpoint is in {checkpoint_dir}."
                            if checkpoint_dir
                            else ""
                        )
                    )
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if grad_clip is not None:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                scaler.step(optimizer)
                scaler.update()
                if scheduler is not None and scheduler_step == "batch":
                    scheduler.step()
                n = len(inputs)
                running["loss_sum"] += value * n
                running["count"] += n
                pos["step"] += 1
                pos["batch_in_epoch"] += 1
                log.batch(value)
                if (
                    checkpoint_dir
                    and checkpoint_unit == "step"
                    and pos["step"] % checkpoint_every == 0
                ):
                    running["time"] += time.perf_counter() - started
                    started = time.perf_counter()
                    checkpoint()
            running["time"] += time.perf_counter() - started
            row = _end_of_epoch(
                net,
                model,
                loss_fn,
                optimizer,
                val_loader,
                metrics,
                running,
                pos,
                device,
                amp_dtype,
                info,
            )
            history.append(row)
            if scheduler is not None and scheduler_step == "epoch":
                if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    scheduler.step(row.get("val_loss", row["train_loss"]))
                else:
                    scheduler.step()
            pos["epoch"] += 1
            pos["batch_in_epoch"] = 0
            running = {"loss_sum": 0.0, "count": 0.0, "time": 0.0}
            log.end_epoch(row)
            if live is not None:
                live.update(history)
            if (
                checkpoint_dir
                and checkpoint_unit == "epoch"
                and pos["epoch"] % checkpoint_every == 0
            ):
                checkpoint()
        if checkpoint_dir and last_saved != pos["step"]:
            checkpoint()
    finally:
        log.close()
        if live is not None:
            live.close()
    return history


def _len(loader: DataLoader) -> int | None:
    try:
        return len(loader)
    except TypeError:  # an iterable dataset without a length
        return None


def _own(states: list[dict[str, Any]], info: D.DistInfo) -> dict[str, Any]:
    """This rank's RNG state from a checkpoint (rank 0's if the job had fewer ranks)."""
    return states[info.rank] if info.rank < len(states) else states[0]


def _restore(folder, model, optimizer, scheduler, scaler, info, log) -> dict[str, Any] | None:
    found = load_latest(folder)
    if found is None:
        log.write(f"no checkpoint in {folder}: starting from scratch")
        return None
    state, path = found
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path} was written for a different model; use another checkpoint_dir or "
            f"resume=False. Details: {exc}"
        ) from exc
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    if state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    log.write(
        f"resuming from {path.name}: epoch {state['epoch'] + 1}, "
        f"batch {state['batch_in_epoch'] + 1}, step {state['step']}"
    )
    return state


def _end_of_epoch(
    net, model, loss_fn, optimizer, val_loader, metrics, running, pos, device, amp_dtype, info
) -> dict[str, float]:
    """The epoch's history row: train loss averaged over all ranks, then validation."""
    loss_sum, count = D.all_reduce_sum([running["loss_sum"], running["count"]], device)
    row = {
        "epoch": pos["epoch"] + 1,
        "train_loss": loss_sum / max(count, 1),
        "lr": optimizer.param_groups[0]["lr"],
        "time": running["time"],
    }
    if val_loader is not None:
        values = None
        if info.is_main:  # the unwrapped model: no collective calls from rank 0 alone
            values = evaluate(model, val_loader, loss_fn, metrics, device, amp_dtype)
        values = D.broadcast_object(values, info)
        row.update({f"val_{k}": v for k, v in values.items()})
        net.train()
    return row

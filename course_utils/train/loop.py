"""`fit`: the one training loop of the course.

The same code runs on a laptop CPU and on a Colab GPU: on CUDA it adds mixed precision
(bfloat16 where the GPU supports it, else float16 with a gradient scaler), channels-last memory
layout, non-blocking host-to-device copies from pinned memory and cuDNN autotuning; elsewhere
those are skipped (`cuda_choices` makes these decisions).

Exact resume: the loop position and every RNG state are checkpointed, together with the RNG
state at the start of the current epoch. Resuming mid-epoch replays that epoch's start (so the
DataLoader draws the same shuffle and worker seeds), skips the batches already trained on,
then restores the RNGs as they were at the checkpoint. On the CPU the resumed run therefore
ends with bit-identical weights to an uninterrupted one.

Models that compute their own loss (torchvision's detectors): pass ``loss_fn=None``. Batches
are ``(images, targets)`` (e.g. ``DataLoader(..., collate_fn=detection_collate)``); each step
calls ``model(images, targets)`` in training mode and sums the returned dict of losses, whose
terms are logged one by one (``train_loss_classifier``, ``train_loss_box_reg``, ...).
Validation computes the same losses with the model in training mode but its normalisation and
dropout layers frozen (`batches.loss_mode`: no BatchNorm statistics change), under a fixed
seed for the proposal sampling; ``metrics`` then see the eval-mode outputs ``model(images)``,
i.e. the detections. mAP is not an average over batches: compute it after `fit` with
`course_utils.detection.evaluate_detections`.

    model = fasterrcnn_mobilenet_v3_large_fpn(weights=None, num_classes=6)
    history = fit(model, None, optimizer, train_loader, epochs=5, val_loader=val_loader)
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from ..env import get_device
from . import cuda_choices
from . import distributed as D
from .batches import (
    Metric,
    autocast,
    compute_loss,
    evaluate,
    grad_scaler,
    loss_values,
    move_to,
    split_batch,
)
from .checkpoint import (
    CheckpointError,
    capture_rng,
    list_checkpoints,
    load_latest,
    restore_rng,
    save_checkpoint,
)
from .history import History
from .loaders import pinned
from .progress import Progress


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


def _fresh_running() -> dict[str, Any]:
    """Sums over the current epoch; ``terms``: sum of each named loss term (loss dicts)."""
    return {"loss_sum": 0.0, "count": 0.0, "time": 0.0, "terms": {}}


@dataclass
class _Run:
    """Everything one `fit` call trains with, and where it is (what a checkpoint stores)."""

    model: nn.Module  # the plain model (its state_dict is what checkpoints hold)
    net: nn.Module  # what the batches go through: the model, or its DDP wrapper
    loss_fn: Callable | None
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: Any
    loader: DataLoader
    device: torch.device
    info: D.DistInfo
    amp_dtype: torch.dtype | None
    channels_last: bool
    grad_clip: float | None
    scheduler_step: str
    checkpoint_dir: Path | None
    keep_checkpoints: int
    log: Progress
    history: History = field(default_factory=History)
    pos: dict[str, int] = field(
        default_factory=lambda: {"epoch": 0, "step": 0, "batch_in_epoch": 0}
    )
    running: dict[str, float] = field(default_factory=_fresh_running)
    resumed: dict[str, Any] | None = None
    epoch_rngs: list[dict[str, Any]] = field(default_factory=list)
    saved_at: tuple[int, int, int] | None = None  # the position the newest checkpoint holds

    def __post_init__(self) -> None:
        self.generators = _loader_generators(self.loader)

    def _own(self, states: list[dict[str, Any]]) -> dict[str, Any]:
        """This rank's RNG state from a checkpoint (rank 0's if the job had fewer ranks)."""
        return states[self.info.rank] if self.info.rank < len(states) else states[0]

    def restore(self) -> None:
        """Load the newest readable checkpoint, if any, into the model, optimizer, ... and RNGs."""
        found = load_latest(self.checkpoint_dir, warn=self.info.is_main)
        if found is None:
            self.log.write(f"no checkpoint in {self.checkpoint_dir}: starting from scratch")
            return
        state, path = found
        # every check before anything is loaded: a refused checkpoint leaves the model as it was
        problems = model_differences(state["model"], self.model.state_dict())
        if problems:
            raise CheckpointError(
                f"{path} was written for a different model ({'; '.join(problems)}); train this "
                "one in another checkpoint_dir."
            )
        differences = setup_differences(state.get("setup"), self.setup())
        if differences:
            raise CheckpointError(
                f"{path} does not fit this run: " + "; ".join(differences) + ". Resume with the "
                "settings of that run, or train this one in another checkpoint_dir."
            )
        self.model.load_state_dict(state["model"])
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError) as exc:
            raise CheckpointError(
                f"{path} holds an optimizer over other parameter groups; train this run in "
                f"another checkpoint_dir. Details: {exc}"
            ) from exc
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.history = History(state["history"])
        self.pos = {k: int(state[k]) for k in self.pos}
        self.running = {**_fresh_running(), **copy.deepcopy(state.get("running", {}))}
        restore_rng(self._own(state["rng"]), self.generators)
        self.resumed, self.saved_at = state, self.position()
        self.log.write(
            f"resuming from {path.name}: epoch {self.pos['epoch'] + 1}, "
            f"batch {self.pos['batch_in_epoch'] + 1}, step {self.pos['step']}"
        )

    def setup(self) -> dict[str, Any]:
        """What a checkpoint must agree with to be resumed by this run (see `setup_differences`)."""
        return {
            "batches per epoch": _len(self.loader),
            "batch size": _batch_size(self.loader),
            "processes": self.info.world_size,
            "optimizer": type(self.optimizer).__name__,
            "scheduler": type(self.scheduler).__name__ if self.scheduler is not None else None,
        }

    def position(self) -> tuple[int, int, int]:
        """``(epoch, step, batch_in_epoch)``: the step alone does not tell whether the epoch
        that step finished has been closed (validation row, per-epoch scheduler step)."""
        return self.pos["epoch"], self.pos["step"], self.pos["batch_in_epoch"]

    def checkpoint(self) -> None:
        """Write the current state (rank 0 only; every rank's RNG state is gathered)."""
        rngs = D.gather_object(capture_rng(self.generators), self.info)
        if self.info.is_main:
            state = {
                **self.pos,
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
                "scaler": self.scaler.state_dict(),
                "rng": rngs,
                "epoch_rng": self.epoch_rngs,
                "running": copy.deepcopy(self.running),
                "history": dict(self.history),
                "setup": self.setup(),
            }
            save_checkpoint(state, self.checkpoint_dir, keep=self.keep_checkpoints)
        D.barrier(self.info)
        self.saved_at = self.position()

    def epoch_batches(self) -> Iterator[Any]:
        """The current epoch's remaining batches, in the order an uninterrupted run sees them."""
        skip = self.pos["batch_in_epoch"]
        if skip == 0:
            self.epoch_rngs = D.gather_object(capture_rng(self.generators), self.info)
        else:  # resuming mid-epoch: replay the epoch's shuffle from its start
            self.epoch_rngs = self.resumed["epoch_rng"]
            restore_rng(self._own(self.epoch_rngs), self.generators)
        if isinstance(self.loader.sampler, DistributedSampler):
            self.loader.sampler.set_epoch(self.pos["epoch"])
        batches = iter(self.loader)
        for _ in range(skip):
            next(batches)
        if skip:
            restore_rng(self._own(self.resumed["rng"]), self.generators)
        return batches

    def train_step(self, batch: Any) -> dict[str, float]:
        """Forward, NaN check, backward, clip, optimizer (and per-batch scheduler) step.

        Returns the batch's ``{"loss": total, <term>: value, ...}``."""
        inputs, targets = move_to(split_batch(batch), self.device, self.channels_last)
        with autocast(self.device, self.amp_dtype):
            loss, _, terms = compute_loss(self.loss_fn, self.net, inputs, targets)
        values = loss_values(loss, terms)
        value = values["loss"]
        if not math.isfinite(value):
            where = (
                f" The last checkpoint is in {self.checkpoint_dir}." if self.checkpoint_dir else ""
            )
            bad = [k for k, v in values.items() if k != "loss" and not math.isfinite(v)]
            which = f" (term {', '.join(map(repr, bad))})" if bad else ""
            raise FloatingPointError(
                f"the loss became {value}{which} at step {self.pos['step'] + 1} (epoch "
                f"{self.pos['epoch'] + 1}, batch {self.pos['batch_in_epoch'] + 1}); training "
                "stopped. Lower the learning rate, set grad_clip=1.0, or check that batch's "
                f"inputs and targets.{where}"
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scheduler is not None and self.scheduler_step == "batch":
            self.scheduler.step()
        n = len(inputs)
        self.running["loss_sum"] += value * n
        self.running["count"] += n
        for name in terms:
            self.running["terms"][name] = self.running["terms"].get(name, 0.0) + values[name] * n
        self.pos["step"] += 1
        self.pos["batch_in_epoch"] += 1
        return values

    def end_epoch(self, val_loader: DataLoader | None, metrics) -> dict[str, float]:
        """Record the epoch (train loss over all ranks, validation on rank 0), step the
        per-epoch scheduler, and move to the next epoch."""
        names = list(self.running["terms"])  # the loss function's order, the same on every rank
        loss_sum, count, *term_sums = D.all_reduce_sum(
            [self.running["loss_sum"], self.running["count"]]
            + [self.running["terms"][k] for k in names],
            self.device,
        )
        row = {
            "epoch": self.pos["epoch"] + 1,
            "train_loss": loss_sum / max(count, 1),
            **{f"train_{k}": v / max(count, 1) for k, v in zip(names, term_sums)},
            "lr": self.optimizer.param_groups[0]["lr"],
            "time": self.running["time"],
        }
        if val_loader is not None:
            values = None
            if self.info.is_main:  # the plain model: rank 0 alone makes no collective calls
                values = evaluate(
                    self.model,
                    val_loader,
                    self.loss_fn,
                    metrics,
                    self.device,
                    self.amp_dtype,
                    model_loss=self.loss_fn is None,
                )
            row.update({f"val_{k}": v for k, v in D.broadcast_object(values, self.info).items()})
            self.net.train()
        self.history.append(row)
        if self.scheduler is not None and self.scheduler_step == "epoch":
            if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(row.get("val_loss", row["train_loss"]))
            else:
                self.scheduler.step()
        self.pos["epoch"] += 1
        self.pos["batch_in_epoch"] = 0
        self.running = _fresh_running()
        return row


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
        loss_fn: ``loss_fn(model(inputs), targets) -> scalar``, or a dict of named scalar
            terms (``{"cls": ..., "box": ...}``): their sum is trained on and logged as
            ``train_loss`` / ``val_loss``, each term as ``train_<name>`` / ``val_<name>`` (in
            the History, the progress bar and the live plot). ``None`` when the model computes
            its own losses as ``model(inputs, targets)`` and returns a dict of them, as
            torchvision's detection models do in training mode (see "Models that compute their
            own loss" in the module docstring).
        optimizer: built on ``model.parameters()``.
        train_loader: yields ``(inputs, targets)``; inputs e.g. Tensor[N, C, H, W]. On CUDA
            an unpinned DataLoader (and ``val_loader``) is replaced by a pinned copy.
        epochs: total number of epochs.
        val_loader: evaluated after every epoch with `evaluate` (``val_loss``, ``val_<term>``
            and ``val_<metric>``).
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
            fresh when there is none). With ``resume=False`` the folder must hold no
            checkpoints: one folder holds one run.
        progress: tqdm bars for epochs and batches with the loss; False for silence.
        live_plot: redraw the training curves in place after every epoch (notebooks).
        seed: shuffling seed of the distributed sampler under torchrun.
    Returns:
        the `History` (per-epoch lists), including epochs from before a resume.
    Raises:
        FloatingPointError: the loss became NaN or infinite (the message names the step).
        CheckpointError: ``resume=False`` into a folder holding an earlier run's checkpoints
            (the message names the folder and the two ways out); ``resume=True`` from a
            checkpoint that does not fit this run (another model, optimizer or scheduler
            kind, batch size, batches per epoch or number of processes: the message says
            what differs).
    """
    _check_args(epochs, scheduler_step, checkpoint_unit, checkpoint_every, resume, checkpoint_dir)
    info, device = D.setup(torch.device(device) if device is not None else None)
    device = device if device is not None else get_device()
    cuda = device.type == "cuda"
    if amp and not cuda:
        warnings.warn("amp=True is only used on CUDA; training in float32", stacklevel=2)
    choices = cuda_choices.choose(
        device.type,
        amp=amp,
        channels_last=channels_last,
        bf16_supported=cuda_choices.bf16_supported(device),
        deterministic=torch.backends.cudnn.deterministic,
    )
    if choices.cudnn_benchmark:
        torch.backends.cudnn.benchmark = True  # fixed input sizes: pick the fastest kernels once
    model.to(device)
    if choices.channels_last:
        model.to(memory_format=torch.channels_last)
    net: nn.Module = model
    if info.enabled:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if cuda else None
        )
        train_loader = D.shard_loader(train_loader, info, seed)
    if choices.pin_memory:  # else non_blocking copies from pageable memory are synchronous
        train_loader = pinned(train_loader)
        val_loader = pinned(val_loader) if val_loader is not None else None
    run = _Run(
        model=model,
        net=net,
        loss_fn=loss_fn,
        optimizer=optimizer,
        scheduler=scheduler,
        scaler=grad_scaler(choices.grad_scaler),
        loader=train_loader,
        device=device,
        info=info,
        amp_dtype=choices.amp_dtype,
        channels_last=choices.channels_last,
        grad_clip=grad_clip,
        scheduler_step=scheduler_step,
        checkpoint_dir=Path(checkpoint_dir) if checkpoint_dir is not None else None,
        keep_checkpoints=keep_checkpoints,
        log=Progress(enabled=progress and info.is_main, messages=info.is_main),
    )
    if resume:
        run.restore()
    elif run.checkpoint_dir is not None:
        refuse_earlier_run(run.checkpoint_dir)
    if run.checkpoint_dir is not None and _persistent_workers(train_loader) and info.is_main:
        warnings.warn(
            "the train_loader keeps its worker processes alive between epochs "
            "(persistent_workers=True): their random state (augmentations) cannot be "
            "checkpointed, so a resumed run will not repeat the uninterrupted one exactly. "
            "make_loader restarts its workers every epoch, which resumes exactly.",
            stacklevel=2,
        )
    live = None
    if live_plot and info.is_main:
        from ..viz.curves import LivePlot

        live = LivePlot()
    every_step = checkpoint_dir is not None and checkpoint_unit == "step"
    every_epoch = checkpoint_dir is not None and checkpoint_unit == "epoch"
    try:
        run.log.start(epochs, run.pos["epoch"])
        while run.pos["epoch"] < epochs:
            batches = run.epoch_batches()
            run.net.train()
            run.log.start_epoch(run.pos["epoch"], _len(train_loader), run.pos["batch_in_epoch"])
            started = time.perf_counter()
            for batch in batches:
                run.log.batch(run.train_step(batch))
                if every_step and run.pos["step"] % checkpoint_every == 0:
                    run.running["time"] += time.perf_counter() - started
                    run.checkpoint()
                    started = time.perf_counter()
            run.running["time"] += time.perf_counter() - started
            row = run.end_epoch(val_loader, metrics)
            run.log.end_epoch(row)
            if live is not None:
                live.update(run.history)
            if every_epoch and run.pos["epoch"] % checkpoint_every == 0:
                run.checkpoint()
        # a step checkpoint on the last batch was written before that epoch's end: overwrite it
        if checkpoint_dir is not None and run.saved_at != run.position():
            run.checkpoint()
    finally:
        run.log.close()
        if live is not None:
            live.close()
    return run.history


def refuse_earlier_run(folder: Path) -> None:
    """`CheckpointError` when ``folder`` holds checkpoints: a new run (``resume=False``) would
    mix its files with the earlier run's, and a later resume could continue the wrong one."""
    found = list_checkpoints(folder)
    if found:
        raise CheckpointError(
            f"{folder} already holds checkpoints of an earlier run (newest: {found[-1].name}); "
            "a new run there would mix the two. Either continue that run with resume=True, or "
            "start a new run in another checkpoint_dir (or delete the ckpt-*.pt files there)."
        )


def model_differences(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """What keeps ``saved`` (a state_dict) from loading into a model whose state is ``now``."""
    problems = []
    missing = [k for k in now if k not in saved]
    unexpected = [k for k in saved if k not in now]
    if missing:
        problems.append(f"it lacks {missing[:3]}{' ...' if len(missing) > 3 else ''}")
    if unexpected:
        problems.append(f"it has {unexpected[:3]}{' ...' if len(unexpected) > 3 else ''}")
    shapes = [
        f"{k}: {tuple(saved[k].shape)} in the checkpoint, {tuple(v.shape)} now"
        for k, v in now.items()
        if k in saved and hasattr(v, "shape") and tuple(saved[k].shape) != tuple(v.shape)
    ]
    return problems + shapes[:3]


def setup_differences(saved: Mapping[str, Any] | None, now: Mapping[str, Any]) -> list[str]:
    """``"<what>: <checkpoint's> in the checkpoint, <this run's> now"`` for every setting that
    differs (checkpoints written before settings were recorded are not checked)."""
    if saved is None:
        return []
    return [
        f"{key}: {saved[key]} in the checkpoint, {value} now"
        for key, value in now.items()
        if key in saved and saved[key] != value
    ]


def _batch_size(loader: DataLoader) -> int | None:
    if loader.batch_size is not None:
        return loader.batch_size
    return getattr(loader.batch_sampler, "batch_size", None)  # a custom batch sampler


def _persistent_workers(loader: DataLoader) -> bool:
    return bool(getattr(loader, "persistent_workers", False)) and loader.num_workers > 0


def _len(loader: DataLoader) -> int | None:
    try:
        return len(loader)
    except TypeError:  # an iterable dataset without a length
        return None

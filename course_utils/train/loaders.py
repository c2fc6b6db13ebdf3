"""`make_loader`: a DataLoader configured for the device it feeds; `rebuild_loader` and
`pinned`: a copy of a student's DataLoader with one setting changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from ..env import get_device
from .cuda_choices import use_pinned_memory


def make_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool = True,
    device: str | torch.device | None = None,
    num_workers: int = 0,
    collate_fn: Callable | None = None,
    seed: int | None = None,
    drop_last: bool = False,
) -> DataLoader:
    """A DataLoader for ``dataset``.

    On CUDA the batches are put in pinned (page-locked) memory so `fit`'s non-blocking copies
    overlap with compute. ``seed`` gives the loader its own shuffling generator, independent
    of the global torch RNG.

    Worker processes (``num_workers > 0``) start afresh every epoch rather than persisting:
    each epoch's workers are seeded from the RNG state `fit` checkpoints, so a resumed run
    draws the same random augmentations as an uninterrupted one. Persistent workers would
    carry their random state from epoch to epoch in other processes, where no checkpoint
    reaches it.
    """
    device = torch.device(device) if device is not None else get_device()
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        collate_fn=collate_fn,
        pin_memory=use_pinned_memory(device.type),
        persistent_workers=False,  # exact resume (see above)
        generator=generator,
        drop_last=drop_last,
    )


def rebuild_loader(loader: DataLoader, **changes: Any) -> DataLoader:
    """A new DataLoader like ``loader`` with ``changes`` (DataLoader arguments) applied.

    Everything else is kept: dataset, batching (batch size and drop_last, or a custom batch
    sampler), sampler, collate function, workers and their settings, generator. The sampler
    and generator objects are shared rather than copied, so the copy draws the same shuffles
    and `fit` checkpoints the RNG state that actually decides them.
    """
    kwargs: dict[str, Any] = {
        "num_workers": loader.num_workers,
        "collate_fn": loader.collate_fn,
        "pin_memory": loader.pin_memory,
        "timeout": loader.timeout,
        "worker_init_fn": loader.worker_init_fn,
        "multiprocessing_context": loader.multiprocessing_context,
        "generator": loader.generator,
        "persistent_workers": loader.persistent_workers,
    }
    if loader.num_workers > 0:  # DataLoader refuses prefetch_factor without workers
        kwargs["prefetch_factor"] = loader.prefetch_factor
    if getattr(loader, "pin_memory_device", ""):  # deprecated: passed on only when set
        kwargs["pin_memory_device"] = loader.pin_memory_device
    if hasattr(loader, "in_order"):  # torch >= 2.6
        kwargs["in_order"] = loader.in_order
    if isinstance(loader.dataset, IterableDataset):  # no sampler: the dataset decides the order
        kwargs.update(batch_size=loader.batch_size, drop_last=loader.drop_last)
    elif loader.batch_size is None and loader.batch_sampler is not None:  # a custom one
        kwargs["batch_sampler"] = loader.batch_sampler
    else:
        kwargs.update(
            batch_size=loader.batch_size, sampler=loader.sampler, drop_last=loader.drop_last
        )
    kwargs.update(changes)
    return DataLoader(loader.dataset, **kwargs)


def pinned(loader: DataLoader) -> DataLoader:
    """``loader`` itself when it already pins its batches, else a pinned copy.

    A DataLoader subclass is returned unchanged: a plain copy would drop what it overrides.
    """
    if loader.pin_memory or type(loader) is not DataLoader:
        return loader
    return rebuild_loader(loader, pin_memory=True)

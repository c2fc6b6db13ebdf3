"""`make_loader`: a DataLoader configured for the device it feeds."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.data import DataLoader, Dataset

from ..env import get_device


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
    overlap with compute; worker processes are kept alive between epochs. ``seed`` gives the
    loader its own shuffling generator, independent of the global torch RNG.
    """
    device = torch.device(device) if device is not None else get_device()
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        collate_fn=collate_fn,
        pin_memory=device.type == "cuda",
        persistent_workers=num_workers > 0,
        generator=generator,
        drop_last=drop_last,
    )

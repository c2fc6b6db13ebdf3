"""Multi-GPU / multi-node training through ``torchrun`` (DistributedDataParallel).

Launch the same script once per device; `fit` notices the ``torchrun`` environment
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``), joins the process group (NCCL on GPUs, gloo on
CPUs), wraps the model in DDP and gives each process its shard of every batch through a
``DistributedSampler``. With ``B`` samples per process and ``W`` processes one optimizer step
sees ``W * B`` samples, so a single process with batch ``W * B`` computes the same update.
The process group is destroyed when the script ends normally, so a training script needs no
distributed code of its own.

    torchrun --standalone --nproc_per_node=2 train.py          # 2 GPUs (or 2 CPU processes)
    torchrun --nnodes=2 --node_rank=0 --master_addr=HOST --nproc_per_node=4 train.py
"""

from __future__ import annotations

import atexit
import os
import sys
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, SequentialSampler

from .loaders import rebuild_loader


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job: ``rank`` of ``world_size``, GPU ``local_rank``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 logs, shows progress and writes checkpoints."""
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """True when the environment says this is one process of a multi-process job."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: torch.device | None) -> tuple[DistInfo, torch.device | None]:
    """Join the process group when launched by torchrun; return the info and this rank's device.

    Outside torchrun (or with a world of one) this does nothing and returns ``device`` as is.
    """
    if dist.is_available() and dist.is_initialized():
        info = DistInfo(dist.get_rank(), dist.get_world_size(), _local_rank())
    elif launched_by_torchrun():
        use_cuda = torch.cuda.is_available() and (device is None or device.type == "cuda")
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        atexit.register(_leave_process_group)
        info = DistInfo(dist.get_rank(), dist.get_world_size(), _local_rank())
    else:
        return DistInfo(), device
    if torch.cuda.is_available() and (device is None or device.type == "cuda"):
        torch.cuda.set_device(info.local_rank)
        device = torch.device("cuda", info.local_rank)
    elif device is None:
        device = torch.device("cpu")
    return info, device


def _leave_process_group() -> None:
    """Destroy the process group at a normal interpreter exit (registered by `setup`).

    A script that calls `fit` under torchrun and simply ends would otherwise leave gloo's worker
    threads running into interpreter finalisation, which now and then aborts the process
    ("terminate called without an active exception"). After an uncaught exception the group is
    left alone: the other ranks may be blocked in a collective, and destroying it could hang;
    torchrun tears the job down instead.
    """
    if getattr(sys, "last_value", None) is not None:
        return
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def shard_loader(loader: DataLoader, info: DistInfo, seed: int = 0) -> DataLoader:
    """A copy of ``loader`` whose sampler gives this rank its ``1 / world_size`` of each epoch.

    Shuffling (a ``RandomSampler``) becomes ``DistributedSampler(shuffle=True, seed=seed)``;
    a sequential loader stays in order, rank ``r`` taking samples ``r, r + W, r + 2W, ...`` so
    the ranks' batches together form the single-process batch of ``W * batch_size``.
    """
    if isinstance(loader.sampler, DistributedSampler):
        return loader
    if not isinstance(loader.sampler, RandomSampler | SequentialSampler):
        raise ValueError(
            "distributed training needs a DataLoader built with shuffle=True/False (or with a "
            f"DistributedSampler); got sampler {type(loader.sampler).__name__}"
        )
    if loader.batch_size is None:
        raise ValueError("distributed training needs a DataLoader with a batch_size")
    sampler = DistributedSampler(
        loader.dataset,
        num_replicas=info.world_size,
        rank=info.rank,
        shuffle=isinstance(loader.sampler, RandomSampler),
        seed=seed,
        drop_last=loader.drop_last,
    )
    return rebuild_loader(loader, sampler=sampler)


def all_reduce_sum(values: list[float], device: torch.device) -> list[float]:
    """Element-wise sum of ``values`` over all ranks (identity outside distributed runs)."""
    if not (dist.is_available() and dist.is_initialized()):
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def broadcast_object(obj: Any, info: DistInfo) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_object(obj: Any, info: DistInfo) -> list[Any]:
    """Every rank's ``obj``, as a list indexed by rank, on every rank."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()

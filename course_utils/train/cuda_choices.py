"""What `fit` does differently on a CUDA device, decided by pure functions.

On CUDA, `fit` trains in mixed precision (bfloat16 where the GPU supports it, Ampere and newer;
else float16, whose small range needs a gradient scaler so small gradients do not underflow to
zero), stores 4-D activations channels-last (the layout tensor-core convolutions want), lets
cuDNN time its kernels once for the fixed input size, and loads batches into pinned memory so
the non-blocking host-to-device copies really overlap with compute. Elsewhere all of it is off.

The decisions take the device type and the GPU's capabilities as plain arguments; only
`bf16_supported` asks torch. So every branch is testable on a machine without a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class CudaChoices:
    """Everything `fit` decides from the device: see the module docstring for the reasons."""

    amp_dtype: torch.dtype | None  # autocast dtype; None trains in float32
    grad_scaler: bool  # scale the loss (float16 only)
    channels_last: bool  # model and 4-D float inputs in channels-last layout
    cudnn_benchmark: bool  # torch.backends.cudnn.benchmark = True
    pin_memory: bool  # loaders must put batches in pinned (page-locked) memory


def amp_dtype(device_type: str, amp: bool | None, bf16_supported: bool) -> torch.dtype | None:
    """The autocast dtype: on CUDA (unless ``amp`` is False) bfloat16 when supported, else
    float16; None (float32) on any other device, even when ``amp`` is True."""
    if device_type != "cuda" or amp is False:
        return None
    return torch.bfloat16 if bf16_supported else torch.float16


def use_grad_scaler(dtype: torch.dtype | None) -> bool:
    """Only float16 needs loss scaling; bfloat16 has float32's exponent range."""
    return dtype == torch.float16


def use_channels_last(device_type: str, requested: bool | None) -> bool:
    """``requested`` when given (it also works on the CPU), else on for CUDA only."""
    return device_type == "cuda" if requested is None else bool(requested)


def use_cudnn_benchmark(device_type: str, deterministic: bool = False) -> bool:
    """cuDNN autotuning: CUDA only (the course's inputs have a fixed size per run), and never
    when deterministic results were asked for (``seed_everything(deterministic=True)`` sets
    ``torch.backends.cudnn.deterministic``): autotuning may pick a different kernel each run."""
    return device_type == "cuda" and not deterministic


def use_pinned_memory(device_type: str) -> bool:
    """Pinned batches: only a CUDA copy can be asynchronous, and pinning costs host memory."""
    return device_type == "cuda"


def choose(
    device_type: str,
    *,
    amp: bool | None,
    channels_last: bool | None,
    bf16_supported: bool,
    deterministic: bool = False,
) -> CudaChoices:
    """All of `fit`'s device-dependent choices for ``device_type`` ("cuda", "cpu", "mps"...).

    ``amp`` and ``channels_last`` are fit's arguments (None: the device's default);
    ``bf16_supported`` is what `bf16_supported` reports for the device; ``deterministic`` is
    whether cuDNN was asked for deterministic results.
    """
    dtype = amp_dtype(device_type, amp, bf16_supported)
    return CudaChoices(
        amp_dtype=dtype,
        grad_scaler=use_grad_scaler(dtype),
        channels_last=use_channels_last(device_type, channels_last),
        cudnn_benchmark=use_cudnn_benchmark(device_type, deterministic),
        pin_memory=use_pinned_memory(device_type),
    )


def bf16_supported(device: torch.device) -> bool:
    """Whether ``device`` is a CUDA GPU that computes in bfloat16 (asks torch only on CUDA)."""
    return device.type == "cuda" and torch.cuda.is_bf16_supported()

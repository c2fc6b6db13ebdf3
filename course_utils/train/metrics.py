"""Metrics for ``fit(metrics={...})``: functions ``(outputs, targets) -> float``, averaged over
the validation set weighted by batch size."""

from __future__ import annotations

import torch


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of correct top-1 predictions.

    Args:
        outputs: Tensor[N, C] logits (or probabilities).
        targets: Tensor[N] class indices.
    """
    if outputs.ndim != 2 or targets.shape != outputs.shape[:1]:
        raise ValueError(
            f"accuracy expects outputs [N, C] and targets [N], got {tuple(outputs.shape)} and "
            f"{tuple(targets.shape)}"
        )
    return (outputs.argmax(dim=1) == targets).float().mean().item()

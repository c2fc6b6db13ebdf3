"""Timing comparisons: grouped bars of measured times on a log scale."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .style import color, subplots

__all__ = ["plot_timings"]


def plot_timings(
    times: Mapping[str, Sequence[float]],
    cases: Sequence[str],
    ylabel: str = "time per call (ms)",
    size: float = 3.2,
) -> Figure:
    """Grouped bars of measured times on a log scale: one group per case, one bar per method.

    Args:
        times: method name -> one time per case (same order as ``cases``); NaN marks a
            method that was not run on a case (shown as "not run").
        cases: a label per case (e.g. the input size).
    """
    for name, values in times.items():
        if len(values) != len(cases):
            raise ValueError(f"{name!r} has {len(values)} times for {len(cases)} cases")
    fig, ax = subplots(1, 1, figsize=(max(size, 1.2 * len(cases) + 2), size))
    width = 0.8 / max(len(times), 1)
    centers = np.arange(len(cases))
    for i, (name, values) in enumerate(times.items()):
        offsets = centers + (i - (len(times) - 1) / 2) * width
        ax.bar(offsets, values, width, label=name, color=color(i))
        for x, value in zip(offsets, values):
            if value != value:  # NaN: that method was not run on this case
                ax.annotate(
                    "not run",
                    (x, 0),
                    xycoords=("data", "axes fraction"),
                    xytext=(0, 4),
                    textcoords="offset points",
                    rotation=90,
                    ha="center",
                    fontsize=8,
                )
    ax.set_xticks(centers, list(cases))
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.legend()
    return fig

"""Training curves: a static plot of a `History` and a live plot that redraws in place.

A history is any mapping ``name -> list of per-epoch values`` (what `course_utils.train.fit`
returns). Names ``train_<m>`` and ``val_<m>`` share one panel per metric ``m``; ``lr`` gets its
own log-scale panel; ``epoch`` is the x axis when present.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .style import color, subplots

_SKIP = {"epoch", "step", "time"}


def _panels(history: Mapping[str, Sequence[float]]) -> dict[str, list[str]]:
    """metric -> the history keys drawn in its panel, in a stable order."""
    panels: dict[str, list[str]] = {}
    for key, values in history.items():
        if key in _SKIP or not len(values):
            continue
        metric = key.split("_", 1)[1] if key.startswith(("train_", "val_")) else key
        panels.setdefault(metric, []).append(key)
    return panels


def draw_history(
    history: Mapping[str, Sequence[float]], axes: Sequence[Axes], panels: dict[str, list[str]]
) -> None:
    """Draw ``history`` into existing ``axes`` (one per entry of ``panels``), clearing them."""
    for ax, (metric, keys) in zip(axes, panels.items()):
        ax.clear()
        for i, key in enumerate(keys):
            values = np.asarray(history[key], dtype=float)
            x = np.asarray(history.get("epoch", range(1, len(values) + 1)), dtype=float)
            x = x[-len(values) :] if len(x) >= len(values) else np.arange(1, len(values) + 1)
            label = key.split("_", 1)[0] if key != metric else key
            ax.plot(x, values, marker="o", markersize=3, color=color(i), label=label)
        ax.set_title(metric)
        ax.set_xlabel("epoch")
        if metric == "lr":
            ax.set_yscale("log")
        if len(keys) > 1:
            ax.legend()


def plot_history(
    history: Mapping[str, Sequence[float]], metrics: Sequence[str] | None = None, size: float = 3.2
) -> tuple[Figure, np.ndarray]:
    """One panel per metric: train and validation curves over epochs.

    Args:
        history: ``{"train_loss": [...], "val_loss": [...], "val_accuracy": [...], ...}``.
        metrics: panels to draw (e.g. ``["loss", "accuracy"]``); all by default.
    Returns:
        ``(fig, axes)`` with ``axes`` a 1-D array, one Axes per panel.
    """
    panels = _panels(history)
    if metrics is not None:
        missing = [m for m in metrics if m not in panels]
        if missing:
            raise KeyError(f"no values for {missing} in the history; it has {list(panels)}")
        panels = {m: panels[m] for m in metrics}
    if not panels:
        raise ValueError("the history is empty: train for at least one epoch first")
    fig, axes = subplots(1, len(panels), size=size, squeeze=False)
    draw_history(history, axes[0], panels)
    return fig, axes[0]


class LivePlot:
    """Training curves that redraw in place in a notebook: one output, never a pile of figures.

    ``update(history)`` after each epoch replaces the displayed image (an IPython display
    handle); outside IPython it draws into the figure without displaying. ``close()`` leaves
    the last image in the notebook and frees the figure.
    """

    def __init__(self, metrics: Sequence[str] | None = None, size: float = 3.2) -> None:
        self.metrics = metrics
        self.size = size
        self.fig: Figure | None = None
        self.axes: np.ndarray | None = None
        self._panels: dict[str, list[str]] = {}
        self._handle = None

    def update(self, history: Mapping[str, Sequence[float]]) -> Figure:
        panels = _panels(history)
        if self.metrics is not None:
            panels = {m: panels[m] for m in self.metrics if m in panels}
        if not panels:
            return self.fig
        if self.fig is None or list(panels) != list(self._panels):
            if self.fig is not None:
                plt.close(self.fig)
            self.fig, axes = subplots(1, len(panels), size=self.size, squeeze=False)
            self.axes = axes[0]
        self._panels = panels
        draw_history(history, self.axes, panels)
        self._show()
        return self.fig

    def _show(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        if self._handle is None:
            self._handle = display(self.fig, display_id=True)
        else:
            self._handle.update(self.fig)

    def close(self) -> None:
        if self.fig is not None:
            plt.close(self.fig)

"""The one figure style of the course: every plot starts from `subplots` so figures look alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# Colour-blind-safe palette (Okabe & Ito), used in this order for classes and series.
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)

COURSE_RC: dict[str, object] = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.prop_cycle": mpl.cycler(color=list(PALETTE)),
    "image.cmap": "viridis",
    "legend.frameon": False,
}


def color(index: int) -> str:
    """The palette colour for class or series ``index`` (wraps around)."""
    return PALETTE[index % len(PALETTE)]


@contextmanager
def course_style() -> Iterator[None]:
    """Context manager applying the course's matplotlib settings."""
    with mpl.rc_context(COURSE_RC):
        yield


def subplots(
    nrows: int = 1, ncols: int = 1, size: float = 3.2, squeeze: bool = True, **kwargs
) -> tuple[Figure, Axes]:
    """A new Figure and Axes in the course style; each panel is ``size`` inches square.

    Returns ``(fig, ax)`` like `matplotlib.pyplot.subplots` (``ax`` is an array when there are
    several panels and ``squeeze`` is true, always an array when ``squeeze`` is false).
    """
    kwargs.setdefault("figsize", (size * ncols, size * nrows))
    kwargs.setdefault("layout", "constrained")
    with course_style():
        fig, ax = plt.subplots(nrows, ncols, squeeze=squeeze, **kwargs)
    return fig, ax

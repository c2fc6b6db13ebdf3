"""Figures for coordinate-MLP image regression (Fourier features, Tancik et al. 2020).

A training history here is a mapping with ``"epoch"``, ``"train_psnr"`` and ``"test_psnr"``
lists (PSNR in dB, measured at the listed epochs). Images are ``[H, W, 3]`` arrays in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .images import show_images
from .style import color, subplots

History = Mapping[str, Sequence[float]]


def _draw_psnr(ax: Axes, history: History) -> None:
    """Train (solid) and test (dashed) PSNR of one run."""
    ax.plot(history["epoch"], history["train_psnr"], color=color(0), label="training pixels")
    ax.plot(history["epoch"], history["test_psnr"], color=color(1), ls="--", label="all pixels")
    ax.set_xlabel("epoch")
    ax.set_ylabel("PSNR (dB)")


def plot_psnr_curves(
    histories: Mapping[str, History], title: str | None = None, size: float = 3.6
) -> tuple[Figure, np.ndarray]:
    """Train and test PSNR over epochs, one colour per run, in two panels.

    Args:
        histories: run name -> history (``epoch``, ``train_psnr``, ``test_psnr``).
        title: figure title.
    Returns:
        ``(fig, axes)``, two Axes: training pixels, all pixels.
    """
    if not histories:
        raise ValueError("plot_psnr_curves got no histories")
    fig, axes = subplots(1, 2, size=size)
    for i, (name, history) in enumerate(histories.items()):
        for ax, key in zip(axes, ("train_psnr", "test_psnr")):
            ax.plot(history["epoch"], history[key], color=color(i), label=name)
    axes[0].set_title("training pixels")
    axes[1].set_title("all pixels (test)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.set_ylabel("PSNR (dB)")
    axes[1].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig, axes


def reconstruction_figure(
    target: np.ndarray,
    reconstructions: Mapping[str, np.ndarray],
    psnrs: Mapping[str, tuple[float, float]] | None = None,
    size: float = 2.0,
) -> tuple[Figure, np.ndarray]:
    """The target image, then each reconstruction, captioned with its train / test PSNR.

    Args:
        target: ``[H, W, 3]`` ground truth.
        reconstructions: name -> ``[H, W, 3]`` prediction at every pixel.
        psnrs: name -> ``(train_psnr, test_psnr)`` in dB, optional.
    """
    titles = ["ground truth"]
    for name in reconstructions:
        if psnrs is not None and name in psnrs:
            train, test = psnrs[name]
            titles.append(f"{name}\ntrain {train:.1f} / test {test:.1f} dB")
        else:
            titles.append(name)
    images = [target, *reconstructions.values()]
    return show_images(images, titles=titles, ncols=len(images), size=size)


def fourier_run_figure(
    target: np.ndarray, reconstruction: np.ndarray, history: History, title: str = ""
) -> tuple[Figure, np.ndarray]:
    """One run at a glance: the target, the reconstruction and its PSNR curves.

    Returns:
        ``(fig, axes)`` with three Axes.
    """
    fig, axes = subplots(1, 3, size=3.0)
    for ax, image, caption in zip(axes[:2], (target, reconstruction), ("ground truth", title)):
        ax.imshow(np.clip(image, 0.0, 1.0), vmin=0, vmax=1)
        ax.set_title(caption, fontsize=9)
        ax.axis("off")
    _draw_psnr(axes[2], history)
    axes[2].legend(fontsize=8)
    axes[2].set_title(
        f"train {history['train_psnr'][-1]:.1f} dB, test {history['test_psnr'][-1]:.1f} dB",
        fontsize=9,
    )
    return fig, axes

"""Fourier-feature figures: what is drawn is the data given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils.viz.fourier_features import (
    fourier_run_figure,
    plot_psnr_curves,
    reconstruction_figure,
)

HISTORY = {"epoch": [10, 20, 30], "train_psnr": [12.0, 18.0, 25.0], "test_psnr": [11.0, 15.0, 14.0]}


def test_psnr_curves_draw_each_run_in_both_panels():
    other = {k: [v + 1 for v in vals] for k, vals in HISTORY.items()}
    fig, axes = plot_psnr_curves({"a": HISTORY, "b": other}, title="t")
    assert len(axes) == 2
    assert [line.get_label() for line in axes[0].get_lines()] == ["a", "b"]
    assert np.array_equal(axes[0].get_lines()[0].get_ydata(), HISTORY["train_psnr"])
    assert np.array_equal(axes[1].get_lines()[1].get_ydata(), other["test_psnr"])
    assert np.array_equal(axes[1].get_lines()[0].get_xdata(), HISTORY["epoch"])
    plt.close(fig)
    with pytest.raises(ValueError, match="no histories"):
        plot_psnr_curves({})


def test_reconstruction_figure_captions_and_pixels():
    target = np.zeros((4, 4, 3))
    recon = np.full((4, 4, 3), 0.5)
    fig, axes = reconstruction_figure(target, {"gauss": recon}, {"gauss": (30.0, 20.0)})
    titles = [ax.get_title() for ax in axes.flat]
    assert titles == ["ground truth", "gauss\ntrain 30.0 / test 20.0 dB"]
    assert np.allclose(axes.flat[1].get_images()[0].get_array(), 0.5)
    plt.close(fig)


def test_run_figure_shows_the_last_psnr_values():
    fig, axes = fourier_run_figure(np.zeros((4, 4, 3)), np.ones((4, 4, 3)), HISTORY, "sigma 3")
    assert len(axes) == 3 and axes[1].get_title() == "sigma 3"
    assert axes[2].get_title() == "train 25.0 dB, test 14.0 dB"
    assert np.array_equal(axes[2].get_lines()[1].get_ydata(), HISTORY["test_psnr"])
    plt.close(fig)

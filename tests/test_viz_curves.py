"""Training-curve plots: one panel per metric, train and val lines with the history's values."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils.viz import LivePlot, plot_history

HISTORY = {
    "epoch": [1, 2, 3],
    "train_loss": [1.0, 0.6, 0.4],
    "val_loss": [1.1, 0.8, 0.7],
    "val_accuracy": [0.5, 0.7, 0.8],
    "lr": [0.1, 0.05, 0.01],
}


def test_history_panels_and_lines():
    fig, axes = plot_history(HISTORY)
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy", "lr"]
    loss = axes[0]
    assert [line.get_label() for line in loss.get_lines()] == ["train", "val"]
    assert np.array_equal(loss.get_lines()[1].get_ydata(), HISTORY["val_loss"])
    assert np.array_equal(loss.get_lines()[0].get_xdata(), HISTORY["epoch"])
    assert axes[2].get_yscale() == "log"


def test_history_subset_and_errors():
    fig, axes = plot_history(HISTORY, metrics=["accuracy"])
    assert len(axes) == 1 and axes[0].get_title() == "accuracy"
    with pytest.raises(KeyError, match="f1"):
        plot_history(HISTORY, metrics=["f1"])
    with pytest.raises(ValueError, match="empty"):
        plot_history({"train_loss": []})


def test_live_plot_reuses_one_figure():
    live = LivePlot()
    partial = {k: v[:1] for k, v in HISTORY.items()}
    fig1 = live.update(partial)
    fig2 = live.update(HISTORY)
    assert fig1 is fig2 and len(plt.get_fignums()) == 1
    assert len(live.axes[0].get_lines()[0].get_ydata()) == 3
    live.close()
    assert not plt.get_fignums()

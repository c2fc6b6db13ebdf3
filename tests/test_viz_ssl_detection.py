"""course_utils.viz.ssl_detection: the YOLO grid and rotation figures show what they claim."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from course_utils.viz.ssl_detection import (
    ROTATION_NAMES,
    draw_yolo_grid,
    plot_transfer_curves,
    rotation_prediction_figure,
)


def shaded_cells(ax):
    return [p for p in ax.patches if p.get_gid() == "responsible_cell"]


def test_yolo_grid_shades_the_cell_of_each_centre():
    image = torch.rand(3, 64, 64)
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [40.0, 20.0, 60.0, 30.0]])
    fig, ax = draw_yolo_grid(image, boxes, S=4, labels=torch.tensor([0, 1]))
    cells = shaded_cells(ax)
    assert len(cells) == 2
    # centres (5, 5) -> cell (row 0, col 0); (50, 25) -> cell (row 1, col 3); cells are 16 px
    assert sorted(c.get_xy() for c in cells) == [(0.0, 0.0), (48.0, 16.0)]
    assert all(c.get_width() == 16.0 and c.get_height() == 16.0 for c in cells)
    assert len(ax.lines) == 3 + 3 + 2  # S - 1 lines each way, one centre marker per object
    plt.close(fig)


def test_yolo_grid_centre_on_the_last_edge_stays_in_the_grid():
    fig, ax = draw_yolo_grid(torch.rand(3, 32, 32), torch.tensor([[24.0, 24.0, 32.0, 32.0]]), S=2)
    assert shaded_cells(ax)[0].get_xy() == (16.0, 16.0)
    plt.close(fig)
    with pytest.raises(ValueError, match="S must be"):
        draw_yolo_grid(torch.rand(3, 32, 32), torch.zeros(0, 4), S=0)


def test_rotation_figure_bars_are_the_probabilities():
    probs = torch.tensor([0.1, 0.6, 0.2, 0.1])
    fig, (ax_img, ax_bar) = rotation_prediction_figure(torch.rand(3, 8, 8), probs, 1)
    heights = [p.get_height() for p in ax_bar.patches]
    assert heights == pytest.approx(probs.tolist())
    assert ROTATION_NAMES[1] in ax_img.get_title() and "60%" in ax_img.get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="4 entries"):
        rotation_prediction_figure(torch.rand(3, 8, 8), torch.rand(3))


def test_transfer_curves_one_line_per_experiment():
    histories = {"a": {"val_acc": [0.1, 0.5]}, "b": {"val_acc": [0.2, 0.3]}}
    fig, ax = plot_transfer_curves(histories)
    assert [list(line.get_ydata()) for line in ax.lines] == [[0.1, 0.5], [0.2, 0.3]]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    plt.close(fig)

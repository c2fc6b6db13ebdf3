"""Tests of course_utils.viz.receptive_field against independent references (torch autograd)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.patches import Rectangle

from course_utils.conv_geometry import receptive_field_box
from course_utils.viz import (
    plot_conv1d_graph,
    plot_effective_rf,
    plot_matrices,
    plot_receptive_field,
    receptive_field_figure,
)

# (kernel, stride, padding) of a small stack; its receptive-field triple worked out by hand:
# size 3 -> 3 + 2*2 = 7 -> 7 + 1*2 = 9; jump 2 -> 2 -> 4; start 0 -> 0 -> 0 + 0.5*2 = 1.
STACK = [(3, 2, 1), (3, 1, 1), (2, 2, 0)]
TRIPLE = (9, 4, 1.0)


def _measured_box(unit: tuple[int, int], side: int = 64) -> tuple[float, float, float, float]:
    """Box of input pixels with a non-zero gradient for output ``unit`` (all-ones kernels)."""
    x = torch.ones(1, 1, side, side, dtype=torch.float64, requires_grad=True)
    y = x
    for k, s, p in STACK:
        y = F.conv2d(y, torch.ones(1, 1, k, k, dtype=torch.float64), stride=s, padding=p)
    y[0, 0, unit[0], unit[1]].backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero().flatten()
    cols = x.grad[0, 0].abs().sum(0).nonzero().flatten()
    return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)


@pytest.mark.parametrize("unit", [(3, 5), (7, 2), (4, 4), (10, 12)])
def test_receptive_field_box_matches_autograd(unit):
    assert receptive_field_box(unit, *TRIPLE) == pytest.approx(_measured_box(unit))


def test_receptive_field_box_per_axis_pairs():
    # height and width given separately: rows use the first entry, columns the second
    box = receptive_field_box((1, 2), (5, 3), (2, 4), (0.0, 1.0))
    assert box == pytest.approx(
        (9.0 + 0.5 - 1.5, 2.0 + 0.5 - 2.5, 9.0 + 0.5 + 1.5, 2.0 + 0.5 + 2.5)
    )
    with pytest.raises(ValueError, match="height, width"):
        receptive_field_box((0, 0), (1, 2, 3), 1, 0)


def _rectangles(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_plot_receptive_field_draws_full_and_clipped_regions():
    image = torch.rand(3, 40, 28)
    unit = (0, 6)  # its field pokes out of the top and the right of the image
    fig = plot_receptive_field(image, *TRIPLE, unit=unit, out_shape=(10, 8))
    ax = fig.axes[0]
    filled, outline = _rectangles(ax)
    # the unclipped box (checked against autograd above) and its part inside the 40 x 28 image
    x1, y1, x2, y2 = receptive_field_box(unit, *TRIPLE)
    assert y1 < 0 and x2 > 28
    assert outline.get_xy() == pytest.approx((x1, y1))
    assert outline.get_width() == pytest.approx(x2 - x1)
    assert outline.get_height() == pytest.approx(y2 - y1)
    fx, fy = filled.get_xy()
    assert (fx, fy) == pytest.approx((max(x1, 0), max(y1, 0)))
    assert fx + filled.get_width() == pytest.approx(min(x2, 28))
    assert fy + filled.get_height() == pytest.approx(min(y2, 40))
    dots = ax.collections[0].get_offsets()
    assert len(dots) == 10 * 8  # one centre per output unit
    assert "size 9" in ax.get_title()


def test_plot_receptive_field_accepts_arrays_and_rejects_bad_input():
    fig = plot_receptive_field(np.random.rand(20, 20), 3, 1, 0.0, unit=(5, 5))
    assert len(_rectangles(fig.axes[0])) == 2
    with pytest.raises(ValueError, match="outside the output map"):
        plot_receptive_field(np.zeros((20, 20)), 3, 1, 0.0, unit=(5, 9), out_shape=(6, 6))
    with pytest.raises(ValueError):
        plot_receptive_field(np.zeros((2, 20, 20, 20)), 3, 1, 0.0)


def test_plot_matrices_labels_every_cell():
    a = torch.arange(6.0).reshape(2, 3) - 2
    b = np.eye(4)
    fig = plot_matrices([a, b], ["a", "b"])
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    assert len(fig.axes[0].texts) == 6 and len(fig.axes[1].texts) == 16
    assert sorted(t.get_text() for t in fig.axes[0].texts) == sorted(
        ["-2", "-1", "0", "1", "2", "3"]
    )
    low, high = fig.axes[0].images[0].get_clim()
    assert low == -high == -3  # diverging scale centred on zero
    with pytest.raises(ValueError, match="2-D"):
        plot_matrices([torch.zeros(1, 1, 3, 3)])
    with pytest.raises(ValueError, match="titles"):
        plot_matrices([a], ["x", "y"])


@pytest.mark.parametrize(
    ("n", "k", "s", "p", "i"), [(7, 3, 1, 0, 3), (7, 3, 2, 1, 0), (9, 4, 3, 2, 5), (5, 2, 1, 0, 4)]
)
def test_plot_conv1d_graph_highlights_the_chain_rule_terms(n, k, s, p, i):
    x = torch.ones(1, 1, n, dtype=torch.float64, requires_grad=True)
    z = F.conv1d(x, torch.ones(1, 1, k, dtype=torch.float64), stride=s, padding=p)
    # outputs that read x_i: the non-zero entries of column i of the Jacobian dz/dx
    jac = torch.autograd.functional.jacobian(
        lambda v: F.conv1d(v, torch.ones(1, 1, k, dtype=torch.float64), stride=s, padding=p), x
    )
    readers = int((jac[0, 0, :, 0, 0, i] != 0).sum())
    fig = plot_conv1d_graph(n, k, s, p, highlight_input=i)
    ax = fig.axes[0]
    thick = [line for line in ax.lines if line.get_linewidth() > 2]
    assert len(thick) == readers
    assert len(ax.lines) == z.shape[-1] * k  # one edge per (output, kernel tap)
    weight_labels = sorted(t.get_text() for t in ax.texts if t.get_text().startswith("$w_"))
    assert len(weight_labels) == readers


def test_plot_conv1d_graph_rejects_bad_geometry():
    with pytest.raises(ValueError, match="larger than the padded input"):
        plot_conv1d_graph(2, 5)
    with pytest.raises(ValueError, match="highlight_input"):
        plot_conv1d_graph(5, 3, highlight_input=5)


def test_plot_effective_rf_panels_and_profiles():
    maps = {"a": torch.rand(16, 16), "b": np.random.rand(16, 16)}
    box = (4.0, 5.0, 12.0, 13.0)
    fig = plot_effective_rf(maps, box=box)
    heat_axes, profile = fig.axes[:2], fig.axes[2]
    for ax, name in zip(heat_axes, maps):
        assert ax.get_title() == name
        (rect,) = _rectangles(ax)
        assert rect.get_xy() == pytest.approx((4.0, 5.0)) and rect.get_width() == 8.0
        assert ax.images[0].get_array().max() == pytest.approx(1.0)  # normalised
    assert len(profile.lines) == 2
    assert "row 9" in profile.get_title()  # the box's middle row
    with pytest.raises(ValueError, match="one shape"):
        plot_effective_rf({"a": torch.rand(4, 4), "b": torch.rand(5, 5)})


def test_plot_receptive_field_thins_dense_unit_grids():
    # a stride-1 stack on a 224 x 224 image has one unit per pixel: draw one in 7 per axis
    unit = (100, 45)
    fig = plot_receptive_field(torch.rand(3, 224, 224), 7, 1, 0.0, unit=unit, out_shape=(224, 224))
    ax = fig.axes[0]
    dots = ax.collections[0].get_offsets()
    assert len(dots) == 32 * 32
    centre = np.array([unit[1] + 0.5, unit[0] + 0.5])  # (x, y) of the chosen unit's centre
    assert np.isclose(dots, centre).all(axis=1).any()
    assert any("one unit in 7" in t.get_text() for t in ax.texts)
    # the dashed outline is drawn above the dots
    outline = [r for r in _rectangles(ax) if not r.get_fill()][0]
    assert outline.get_zorder() > ax.collections[0].get_zorder()
    with pytest.raises(ValueError, match="max_dots"):
        plot_receptive_field(torch.rand(3, 8, 8), 3, 1, 0.0, out_shape=(8, 8), max_dots=0)


def test_receptive_field_figure_places_the_unit_from_its_relative_position():
    layers = [(k, s, p, 1) for k, s, p in STACK]
    calls = []

    def triple(given):
        calls.append(list(given))
        return TRIPLE

    image = torch.rand(3, 64, 64)
    fig = receptive_field_figure(image, layers, triple, row=1.0, col=0.0, name="toy")
    side = 64 // 4  # stride 2, then pooling 2
    title = fig.axes[0].get_title()
    assert calls == [layers]
    assert "toy" in title and "size 9, jump 4, start 1" in title
    assert f"unit ({side - 1}, 0) of the {side}x{side} map" in title
    x1, y1, x2, y2 = receptive_field_box((side - 1, 0), *TRIPLE)
    dashed = [r for r in _rectangles(fig.axes[0]) if r.get_linestyle() == "--"]
    assert dashed[0].get_xy() == pytest.approx((x1, y1))
    # a stack whose map vanishes on this image still shows the numbers, and says why
    fig = receptive_field_figure(torch.rand(3, 8, 8), [(5, 1, 0, 1)] * 3, lambda _: (13, 1, 6.0))
    assert "empty after layer 2 of 3" in fig.axes[0].get_title()


def test_receptive_field_explorer_draws_with_the_given_function(monkeypatch):
    from course_utils.widgets import receptive_field_explorer

    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    seen = []

    def triple(layers):
        seen.append(list(layers))
        return (len(layers) * 2 + 1, 1, 0.0)

    receptive_field_explorer(triple, torch.rand(3, 32, 32), {"one conv": [(3, 1, 1, 1)]})
    # the default custom stack: 4 convs 3x3 with 'same' padding, pooling after every second
    assert seen == [[(3, 1, 1, 1), (3, 1, 1, 1), (2, 2, 0, 1)] * 2]

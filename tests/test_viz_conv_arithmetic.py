"""Convolution-arithmetic drawings and the conv figures, checked against PyTorch's own layers."""

import matplotlib

matplotlib.use("Agg")

import gc
import warnings
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils.conv_geometry import conv_layout, stack_output_size, torch_output_size
from course_utils.viz import (
    conv_animation_html,
    conv_explorer_figure,
    draw_conv,
    filter_response_figure,
    plot_activations,
    plot_maps,
    plot_timings,
)
from course_utils.viz.conv_arithmetic import conv_animation


def _gids(ax) -> Counter:
    return Counter(p.get_gid() for p in ax.patches)


def test_direct_conv_figure_has_every_cell():
    fig = draw_conv(5, 3, padding=1, stride=2, position=4)
    ax_in, ax_out = fig.axes
    assert _gids(ax_in) == {"input": 25, "padding": 7 * 7 - 25, "kernel": 9, "kernel_outline": 1}
    # F.conv2d on a 5x5 input with k=3, p=1, s=2 gives 3x3 outputs.
    side = F.conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3), padding=1, stride=2).shape[-1]
    assert _gids(ax_out) == {"output": side * side - 1, "output_current": 1}
    current = next(p for p in ax_out.patches if p.get_gid() == "output_current")
    assert current.get_xy() == (1, 1)  # position 4 of a 3x3 output is its centre
    assert "3x3" in ax_out.get_title()


def test_dilated_kernel_taps_are_spread_out():
    fig = draw_conv(7, 3, dilation=2, position=0)
    taps = sorted(p.get_xy() for p in fig.axes[0].patches if p.get_gid() == "kernel")
    assert taps == [(c, r) for c in (0, 2, 4) for r in (0, 2, 4)]


@pytest.mark.parametrize(
    "n,k,padding,stride,dilation",
    [(5, 3, 0, 1, 1), (6, 3, 1, 2, 1), (7, 2, 1, 3, 2), (9, 3, 2, 2, 3), (4, 4, 0, 1, 1)],
)
def test_kernel_taps_are_the_window_conv2d_reads(n, k, padding, stride, dilation):
    layout = conv_layout(n, k, padding, stride, dilation)
    assert (
        layout.n_out
        == F.conv2d(
            torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), None, stride, padding, dilation
        ).shape[-1]
    )
    # With distinct input values and an all-ones kernel, each output is the sum of its window.
    x = torch.arange(1.0, n * n + 1).view(1, 1, n, n)
    out = F.conv2d(x, torch.ones(1, 1, k, k), None, stride, padding, dilation)[0, 0].flatten()
    padded = F.pad(x, (padding,) * 4)[0, 0]
    for position in range(layout.n_out**2):
        window = sum(padded[r, c] for r, c in layout.taps(position))
        assert window == out[position]


@pytest.mark.parametrize(
    "n,k,padding,stride,dilation,output_padding",
    [
        (3, 3, 0, 1, 1, 0),
        (3, 3, 1, 2, 1, 1),
        (2, 3, 0, 2, 1, 0),
        (4, 2, 1, 3, 2, 2),
        (3, 4, 2, 2, 1, 1),
    ],
)
def test_transposed_layout_is_the_equivalent_direct_convolution(
    n, k, padding, stride, dilation, output_padding
):
    layout = conv_layout(n, k, padding, stride, dilation, True, output_padding)
    torch.manual_seed(0)
    x, w = torch.randn(1, 1, n, n), torch.randn(1, 1, k, k)
    want = F.conv_transpose2d(
        x, w, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation
    )
    assert layout.n_out == want.shape[-1]
    # Put the input on the drawn grid (zeros elsewhere) and run a stride-1 direct convolution
    # with the flipped kernel: that must be exactly the transposed convolution.
    grid = torch.zeros(layout.grid, layout.grid)
    index = torch.tensor(layout.data)
    grid[index[:, None], index[None, :]] = x[0, 0]
    got = F.conv2d(grid[None, None], w.flip(-1, -2), dilation=dilation)
    assert torch.allclose(got, want, atol=1e-5)
    fig = draw_conv(n, k, padding, stride, dilation, True, output_padding)
    counts = _gids(fig.axes[0])
    assert counts["input"] == n * n
    assert counts["inserted_zero"] == ((n - 1) * stride + 1) ** 2 - n * n
    assert sum(counts.values()) - counts["kernel"] - 1 == layout.grid**2


def test_bad_configurations_say_what_to_change():
    with pytest.raises(ValueError, match="padded input has only 3"):
        draw_conv(3, 5)
    with pytest.raises(ValueError, match="output_padding only applies"):
        draw_conv(5, 3, output_padding=1)
    with pytest.raises(ValueError, match="smaller than stride"):
        draw_conv(3, 3, stride=2, transposed=True, output_padding=2)
    with pytest.raises(ValueError, match="0..8"):
        draw_conv(5, 3, position=9)
    with pytest.raises(ValueError, match="kernel size k must be an integer >= 1"):
        draw_conv(5, 0)
    with pytest.raises(ValueError, match="crop"):
        draw_conv(3, 3, padding=3, transposed=True)


def test_explorer_figure_never_raises():
    fig = conv_explorer_figure(n=3, k=5)
    assert any("not a valid convolution" in t.get_text() for t in fig.axes[0].texts)
    fig = conv_explorer_figure(n=5, k=3, padding=1, position=1.0, output_padding=2)
    assert _gids(fig.axes[1])["output_current"] == 1  # output_padding ignored
    for position, index in ((1.0, 24), (0.0, 0), (0.5, 12), (7.0, 24), (-1.0, 0)):
        fig = conv_explorer_figure(n=5, k=3, padding=1, position=position)  # 5x5 output
        [current] = [p for p in fig.axes[1].patches if p.get_gid() == "output_current"]
        row, col = divmod(index, 5)  # never past the last cell, whatever the slider says
        assert (round(current.get_y()), round(current.get_x())) == (row, col), position


def test_stack_output_size_runs_each_layer_and_names_where_the_map_vanishes():
    layers = [(3, 2, 1, 1), (2, 2, 0, 1), (3, 1, 0, 2)]
    x = torch.zeros(1, 1, 37, 37)
    x = F.conv2d(x, torch.zeros(1, 1, 3, 3), stride=2, padding=1)
    x = F.max_pool2d(x, 2, 2)
    x = F.conv2d(x, torch.zeros(1, 1, 3, 3), dilation=2)
    assert stack_output_size(layers, 37) == x.shape[-1]
    with pytest.raises(ValueError, match=r"empty after layer 3 of 3 \(its input: 2x2\)"):
        stack_output_size(layers, 8)


def test_torch_output_size_matches_real_layers():
    for n, k, p, s, d in [(32, 5, 2, 1, 1), (17, 3, 1, 2, 2), (10, 4, 0, 3, 1)]:
        real = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), None, s, p, d)
        assert torch_output_size(n, k, p, s, d) == real.shape[-1]
    real = F.conv_transpose2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 3, 3), None, 2, 1, 1)
    assert torch_output_size(4, 3, 1, 2, transposed=True, output_padding=1) == real.shape[-1]


def test_animation_visits_positions_in_order():
    anim = conv_animation(5, 3, padding=1, stride=2, max_frames=4)
    assert list(anim.new_frame_seq()) == [0, 1, 2, 3]
    fig = anim._fig
    anim._func(2)  # draw frame 2: two output cells done, the third current
    counts = _gids(fig.axes[1])
    assert counts == {"output": 8, "output_current": 1}
    filled = [
        p
        for p in fig.axes[1].patches
        if p.get_gid() == "output" and p.get_facecolor() != (1, 1, 1, 1)
    ]
    assert len(filled) == 2
    plt.close(fig)
    with warnings.catch_warnings():  # inspected frame by frame, never rendered as a movie
        warnings.simplefilter("ignore", UserWarning)
        del anim
        gc.collect()


def test_animation_html_is_self_contained_and_closes_its_figure():
    html = conv_animation_html(4, 3, max_frames=3, dpi=40)
    # three frames, and the first again as the <img> the player starts from
    assert "<script" in html and html.count("data:image/png;base64") == 3 + 1
    assert plt.get_fignums() == []


def _line(ax, label: str):
    (line,) = [line for line in ax.lines if line.get_label() == label]
    return line.get_data()


def test_activation_panels_hold_function_and_autograd_derivative():
    fig = plot_activations({"ReLU": torch.relu, "ELU": F.elu}, lo=-2, hi=2, num=9)
    relu_ax, elu_ax = fig.axes
    x, y = _line(relu_ax, "f(x)")
    _, dy = _line(relu_ax, "f'(x)")
    assert np.allclose(y, np.maximum(x, 0)) and np.allclose(dy, (x > 0).astype(float))
    x, dy = _line(elu_ax, "f'(x)")
    assert np.allclose(dy, np.where(x > 0, 1.0, np.exp(x)))
    with pytest.raises(ValueError, match="same shape|input's shape"):
        plot_activations({"sum": lambda t: t.sum()})


def test_timings_are_grouped_bars_on_a_log_scale():
    times = {"naive": [10.0, float("nan")], "im2col": [0.1, 2.0], "F.conv2d": [0.05, 1.0]}
    fig = plot_timings(times, ["small", "large"])
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.patches) == 6
    assert [t.get_text() for t in ax.get_xticklabels()] == ["small", "large"]
    assert [t.get_text() for t in ax.texts] == ["not run"]
    with pytest.raises(ValueError, match="2 times for 3 cases"):
        plot_timings(times, ["a", "b", "c"])


def test_maps_of_different_sizes_each_get_a_panel():
    fig = plot_maps(
        [torch.ones(7, 7), torch.zeros(3, 3), torch.rand(3, 4, 5)], ["a", "b", "c"], ncols=2
    )
    shown = [ax.images[0].get_array().shape for ax in fig.axes if ax.images]
    assert shown == [(7, 7), (3, 3), (4, 5, 3)]
    with pytest.raises(ValueError, match="expected \\[H, W\\] or \\[3, H, W\\]"):
        plot_maps([torch.zeros(2, 3, 3)])


def test_filter_response_is_conv2d_with_same_padding():
    torch.manual_seed(0)
    image, kernel = torch.rand(9, 12), torch.randn(3, 3)
    fig = filter_response_figure(image, kernel, stride=2, title="k")
    ax_k, ax_in, ax_out = fig.axes
    want = F.conv2d(image[None, None], kernel[None, None], stride=2, padding=1)[0, 0]
    assert np.allclose(ax_out.images[0].get_array(), want.numpy(), atol=1e-6)
    assert ax_out.images[0].get_array().shape == (5, 6)
    assert len(ax_k.texts) == 9 and ax_k.get_title() == "k"
    with pytest.raises(ValueError, match="odd-sized kernel"):
        filter_response_figure(image, torch.ones(2, 2))
    with pytest.raises(ValueError, match="image must be"):
        filter_response_figure(torch.rand(3, 9, 12), kernel)


def test_an_unwritten_activation_leaves_no_empty_figure():
    def relu(t):
        raise NotImplementedError()

    before = plt.get_fignums()
    with pytest.raises(NotImplementedError):
        plot_activations({"ReLU": torch.relu, "relu": relu})
    assert plt.get_fignums() == before


def test_animation_shows_its_first_frame_without_script_and_waits_for_its_elements():
    import base64
    import re

    html = conv_animation_html(4, 3, max_frames=2, dpi=30)
    src = re.search(r'<img id="_anim_img\w+" src="data:image/png;base64,([^"]+)"', html)
    assert src, "the <img> has no first frame"
    assert base64.b64decode(src.group(1)).startswith(b"\x89PNG")
    assert "setTimeout(begin, 100)" in html and "}, 0);" not in html.split("var begin")[1]


@pytest.mark.parametrize(
    "case",
    [
        dict(n=4, k=3),
        dict(n=5, k=3, padding=1, stride=2),
        dict(n=7, k=3, dilation=2),
        dict(n=3, k=3, padding=1, stride=2, transposed=True, output_padding=1),
    ],
)
def test_panel_titles_fit_inside_the_figure(case):
    from course_utils.viz.conv_arithmetic import conv_animation

    anim = conv_animation(**case, max_frames=1)
    fig = anim._fig
    fig.set_dpi(72)  # as conv_animation_html renders it
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        title = ax.title.get_window_extent(renderer)
        assert title.x0 >= fig.bbox.x0 - 0.5 and title.x1 <= fig.bbox.x1 + 0.5, ax.get_title()
        assert title.y1 <= fig.bbox.y1 + 0.5, ax.get_title()
    plt.close(fig)

"""course_utils.viz.segmentation: the counts behind the figures, and the figures draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F

from course_utils.viz.segmentation import (
    checkerboard_figure,
    dilation_paths,
    gridding_figure,
    resize_conv_overlap,
    roi_bins_figure,
    show_predictions,
    transposed_overlap,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_transposed_overlap_is_uneven_exactly_when_stride_does_not_divide_kernel():
    for k, s in [(3, 2), (5, 2), (4, 3), (4, 2), (6, 3), (3, 1)]:
        counts = transposed_overlap(6, k, s)
        assert counts.shape == ((6 - 1) * s + k,) * 2
        interior = counts[k:-k, k:-k]
        assert bool((interior == interior[0, 0]).all()) == (k % s == 0), (k, s)
    fixed = resize_conv_overlap(6, 3, 2)
    assert fixed.shape == (12, 12)
    assert bool((fixed[1:-1, 1:-1] == 9).all())


def test_dilation_paths_support_is_the_lattice_of_the_dilations():
    paths = dilation_paths((2, 2), 11)
    support = paths > 0
    offsets = torch.arange(11) - 5
    even = (offsets % 2 == 0)[:, None] & (offsets % 2 == 0)[None, :]
    assert torch.equal(
        support, even & (offsets.abs() <= 4)[:, None] & (offsets.abs() <= 4)[None, :]
    )
    assert paths.sum() == 9**2  # every path through two 3x3 layers
    assert bool((dilation_paths((1, 2, 5)) > 0).all())  # hybrid dilations fill the field
    # the count equals autograd's gradient through convolutions of ones
    x = torch.zeros(1, 1, 15, 15, dtype=torch.float64, requires_grad=True)
    y = x
    for d in (1, 3):
        y = F.conv2d(y, torch.ones(1, 1, 3, 3, dtype=torch.float64), padding=d, dilation=d)
    y[0, 0, 7, 7].backward()
    assert torch.equal(x.grad[0, 0], dilation_paths((1, 3), 15))
    with pytest.raises(ValueError):
        dilation_paths((2, 2), 5)


def test_figures_draw():
    assert len(checkerboard_figure(3, 2).axes) >= 3
    assert len(gridding_figure((1, 2, 4)).axes) == 2
    for aligned in (True, False):
        fig = roi_bins_figure(output_size=3, sampling_ratio=2, aligned=aligned)
        # one sample point per bin and sample: 3 x 3 bins x 2 x 2 samples
        points = sum(len(c.get_offsets()) for c in fig.axes[1].collections)
        assert points == 36
    image, mask = torch.rand(3, 16, 16), torch.randint(0, 3, (16, 16))
    fig = show_predictions([image], [mask], {"a": [mask], "b": [mask]}, ["x", "y"])
    assert len(fig.axes) == 4  # image, truth, two models

"""course_utils.viz.single_stage: the figures of the SSD / RetinaNet notebook."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator  # noqa: E402
from torchvision.models.detection.image_list import ImageList  # noqa: E402

from course_utils.viz.single_stage import (  # noqa: E402
    GID_DEFAULT_BOX,
    GID_MATCHED_BOX,
    default_boxes_explorer_figure,
    default_boxes_figure,
    focal_loss_figure,
    pyramid_figure,
)


def _tv_boxes(feature_sizes, image_size, s_min, s_max, ratios):
    gen = DefaultBoxGenerator([list(r) for r in ratios], min_ratio=s_min, max_ratio=s_max)
    maps = [torch.zeros(1, 1, f, f) for f in feature_sizes]
    image = ImageList(torch.zeros(1, 3, image_size, image_size), [(image_size, image_size)])
    return gen(image, maps)[0]


def _gids(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def test_default_boxes_figure_draws_one_cell_and_the_positives():
    image = torch.rand(3, 64, 64)
    boxes = _tv_boxes([4], 64, 0.3, 0.8, [[2]])  # 16 cells x 4 boxes
    gt = boxes[5:6].clone()  # exactly one default box: at least that one is a positive
    fig, ax = default_boxes_figure(image, boxes, (4, 4), gt, cell=(1, 2))
    assert len(_gids(ax, GID_DEFAULT_BOX)) == 4
    drawn = _gids(ax, GID_DEFAULT_BOX)[0]
    x1, y1, x2, y2 = boxes[(1 * 4 + 2) * 4].tolist()
    assert drawn.get_xy() == pytest.approx((x1, y1))
    assert drawn.get_width() == pytest.approx(x2 - x1)
    assert len(_gids(ax, GID_MATCHED_BOX)) >= 1
    plt.close(fig)


def test_default_boxes_figure_rejects_a_wrong_grid():
    with pytest.raises(ValueError, match="grid"):
        default_boxes_figure(torch.rand(3, 32, 32), torch.zeros(10, 4), (3, 3))


def test_explorer_figure_takes_the_requested_level():
    image = torch.rand(3, 128, 128)
    calls = []

    def boxes_fn(sizes, image_size, s_min, s_max, ratios):
        calls.append((sizes, image_size, s_min, s_max, ratios))
        return _tv_boxes(sizes, image_size, s_min, s_max, ratios)

    fig, ax = default_boxes_explorer_figure(
        boxes_fn, image, torch.zeros(0, 4), [8, 4, 2], level=1, ratios=(2, 3)
    )
    assert calls[0][1] == 128 and calls[0][4] == ((2, 3),) * 3
    assert "4x4 cells x 6 boxes = 96" in ax.get_title()
    plt.close(fig)


def test_focal_loss_figure_stacks_the_shares():
    p_t = torch.linspace(0.01, 0.99, 50)
    curves = {"CE": -p_t.log(), "FL": -((1 - p_t) ** 2) * p_t.log()}
    shares = {"CE": {"easy": 0.7, "hard": 0.3}, "FL": {"easy": 0.1, "hard": 0.9}}
    fig, axes = focal_loss_figure(p_t, curves, shares, highlight="FL")
    assert len(axes[0].lines) == 2
    assert max(line.get_linewidth() for line in axes[0].lines) > 2
    heights = [p.get_height() for p in axes[1].patches]
    assert sum(heights) == pytest.approx(2.0)
    plt.close(fig)


def test_pyramid_figure_has_one_panel_per_level_and_row():
    maps = [torch.rand(16, 16), torch.rand(8, 8), torch.rand(4, 4)]
    fig, axes = pyramid_figure({"C": maps, "P": maps}, ["3", "4", "5"], image=torch.rand(3, 32, 32))
    assert axes.shape == (2, 4)
    with pytest.raises(ValueError, match="levels"):
        pyramid_figure({"C": maps[:2]}, ["3", "4", "5"])
    plt.close(fig)

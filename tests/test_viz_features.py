"""Feature maps and filters of a model, checked against the layers computed directly."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.viz import capture_activations, plot_feature_maps, plot_filters


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 4, 3))


def test_capture_activations_matches_direct_computation():
    model, x = _model(), torch.rand(2, 3, 10, 10)
    acts = capture_activations(model, x, ["0", "1"])
    assert torch.allclose(acts["0"], F.conv2d(x, model[0].weight, model[0].bias, padding=1))
    assert torch.allclose(acts["1"], acts["0"].clamp_min(0))
    assert not model[0]._forward_hooks, "hooks must be removed"
    with pytest.raises(KeyError, match="its layers are: 0, 1, 2"):
        capture_activations(model, x, ["conv9"])


def test_capture_leaves_batch_norm_statistics_and_mode_alone():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    before = model[1].running_mean.clone()
    capture_activations(model, torch.rand(1, 3, 6, 6), ["1"])
    assert torch.equal(model[1].running_mean, before) and model.training


def test_feature_map_panels_hold_each_channel():
    model, x = _model(), torch.rand(3, 12, 12)
    fig, axes = plot_feature_maps(model, x, "1", max_maps=5, ncols=4)
    expected = F.relu(F.conv2d(x[None], model[0].weight, model[0].bias, padding=1))[0]
    images = [ax.images[0].get_array() for ax in axes.flat if ax.images]
    assert axes.shape == (2, 4) and len(images) == 5
    for c, image in enumerate(images):
        assert np.allclose(image, expected[c].detach().numpy(), atol=1e-6)
    assert axes.flat[3].get_title() == "1[3]"


def test_rgb_filters_are_colour_images_scaled_to_unit_range():
    model = _model()
    fig, axes = plot_filters(model, ncols=3)
    images = [ax.images[0].get_array() for ax in axes.flat if ax.images]
    assert len(images) == 6 and images[0].shape == (3, 3, 3)
    w = model[0].weight[0].detach()
    expected = ((w - w.min()) / (w.max() - w.min())).permute(1, 2, 0).numpy()
    assert np.allclose(images[0], expected, atol=1e-6)


def test_deeper_filters_use_a_symmetric_scale():
    model = _model()
    fig, axes = plot_filters(model, layer="2")
    images = [ax.images[0] for ax in axes.flat if ax.images]
    assert len(images) == 4
    w = model[2].weight[1].detach().mean(0).numpy()
    assert np.allclose(images[1].get_array(), w, atol=1e-6)
    vmin, vmax = images[1].get_clim()
    assert vmin == pytest.approx(-vmax)
    with pytest.raises(ValueError, match="no weight"):
        plot_filters(model, layer="1")


def test_feature_maps_of_a_layer_returning_a_tuple_say_what_to_pick():
    from torch import nn

    from course_utils.viz import plot_feature_maps

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            y = self.conv(x)
            return y, y.mean()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Pair()

        def forward(self, x):
            return self.block(x)[0]

    with pytest.raises(
        TypeError, match=r"'block' outputs a tuple of 2 values \(Tensor, Tensor\).*block\.conv"
    ):
        plot_feature_maps(Net(), torch.rand(3, 8, 8), "block")
    fig, _ = plot_feature_maps(Net(), torch.rand(3, 8, 8), "block.conv")
    assert len(fig.axes) >= 4

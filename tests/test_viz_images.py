"""Image grids, segmentation overlays and heat maps: the figures contain the expected artists."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from course_utils.data import SHAPE_CLASSES, ShapesSegmentation
from course_utils.viz import (
    overlay_heatmap,
    plot_heatmap,
    show_images,
    show_segmentation,
    unnormalize,
)


def test_unnormalize_inverts_normalize():
    from torchvision.transforms.functional import normalize

    x = torch.rand(2, 3, 5, 4)
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.3, 0.25)
    assert torch.allclose(unnormalize(normalize(x, mean, std), mean, std), x, atol=1e-6)
    with pytest.raises(ValueError, match="2 channels"):
        unnormalize(torch.rand(2, 4, 4), mean, std)


def test_grid_shows_unnormalised_tensors_with_titles():
    x = torch.rand(5, 3, 6, 7)
    mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    fig, axes = show_images((x - 0.5) / 0.25, titles=list("abcde"), ncols=3, mean=mean, std=std)
    assert isinstance(fig, Figure) and axes.shape == (2, 3)
    shown = [ax.images[0].get_array() for ax in axes.flat if ax.images]
    assert len(shown) == 5
    assert np.allclose(shown[2], x[2].permute(1, 2, 0).numpy(), atol=1e-6)
    assert [ax.get_title() for ax in axes.flat][:5] == list("abcde")
    assert not axes.flat[5].images  # the spare panel stays empty


def test_grid_accepts_pil_grayscale_and_mixed_sizes():
    pil = Image.new("RGB", (4, 3), (255, 0, 0))
    gray = torch.linspace(0, 1, 12).view(1, 3, 4)
    fig, axes = show_images([pil, gray, np.zeros((5, 5, 3), dtype=np.uint8)])
    arrays = [ax.images[0].get_array() for ax in axes.flat]
    assert np.allclose(arrays[0][0, 0], [1, 0, 0])
    assert arrays[1].shape == (3, 4) and np.allclose(arrays[1], gray[0].numpy())
    assert arrays[2].shape == (5, 5, 3)
    with pytest.raises(ValueError, match="cannot show an image of shape"):
        show_images(torch.rand(2, 5, 4, 4))
    with pytest.raises(ValueError, match="titles"):
        show_images(torch.rand(2, 3, 4, 4), titles=["one"])


def test_segmentation_overlay_legend_names_present_classes():
    image, mask = ShapesSegmentation(1, image_size=64, seed=2)[0]
    fig, ax = show_segmentation(image, mask, SHAPE_CLASSES)
    assert len(ax.images) == 2
    assert np.array_equal(ax.images[1].get_array(), mask.numpy())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [SHAPE_CLASSES[v - 1] for v in sorted(set(mask.unique().tolist()) - {0})]
    with pytest.raises(ValueError, match="mask values"):
        show_segmentation(image, mask + 10, SHAPE_CLASSES)


def test_heatmap_annotates_cells_and_labels_axes():
    confusion = np.array([[5, 1], [0, 7]])
    fig, ax = plot_heatmap(confusion, xlabels=["cat", "dog"], ylabels=["cat", "dog"])
    assert [t.get_text() for t in ax.texts] == ["5", "1", "0", "7"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
    assert len(fig.axes) == 2  # the matrix and its colour bar
    big = plot_heatmap(np.random.rand(20, 20))[1]
    assert not big.texts
    with pytest.raises(ValueError, match="2-D"):
        plot_heatmap(np.zeros(3))


def test_overlay_heatmap_stretches_to_image_extent():
    fig, ax = overlay_heatmap(torch.rand(3, 32, 48), torch.rand(4, 6))
    assert len(ax.images) == 2
    assert ax.images[1].get_extent() == [0, 48, 32, 0]
    assert ax.images[0].get_extent() == [0, 48, 32, 0]

"""course_utils.data.sample_image: matplotlib's Grace Hopper photo, as the course's tensors."""

import matplotlib.cbook
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_utils.data import sample_image


def _reference() -> np.ndarray:
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file:
        return plt.imread(file)  # [H, W, 3] uint8, decoded independently of PIL's path here


def test_sample_image_is_the_photo_in_course_layout():
    photo = sample_image()
    reference = _reference()
    assert photo.dtype == torch.float32 and photo.shape == (3, *reference.shape[:2])
    assert torch.equal(photo, torch.from_numpy(reference.copy()).permute(2, 0, 1) / 255)


def test_sample_image_square_crop_and_resize():
    reference = _reference()
    h, w = reference.shape[:2]
    top = (h - w) // 2  # a portrait photo: the centre square crops rows
    square = sample_image(square=True)
    crop = torch.from_numpy(reference[top : top + w].copy()).permute(2, 0, 1) / 255
    assert torch.equal(square, crop)
    small = sample_image(224, square=True)
    assert small.shape == (3, 224, 224) and 0 <= small.min() and small.max() <= 1
    assert sample_image(128).shape == (3, round(128 * h / w), 128)
    # resizing keeps the picture: the downsized image is close to the downsized crop
    pooled = torch.nn.functional.adaptive_avg_pool2d(crop[None], 32)[0]
    shrunk = torch.nn.functional.adaptive_avg_pool2d(small[None], 32)[0]
    assert (pooled - shrunk).abs().mean() < 0.02
    with pytest.raises(ValueError, match="positive"):
        sample_image(0)

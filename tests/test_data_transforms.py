"""Box-aware transforms and detection_collate, against hand-computed boxes."""

import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from course_utils.data import RandomFlips, ShapesDetection, detection_collate, random_flips
from course_utils.data.transforms import Compose, HorizontalFlip, Normalize, Resize, ToTensor


def _item():
    image = torch.rand(3, 40, 80)
    target = {
        "boxes": torch.tensor([[10.0, 4.0, 30.0, 20.0], [0.0, 0.0, 80.0, 40.0]]),
        "labels": torch.tensor([1, 2]),
        "difficult": torch.tensor([False, True]),
    }
    return image, target


def test_resize_scales_boxes_and_keeps_other_fields():
    image, target = _item()
    out, t = Resize((20, 40))(image, target)
    assert out.shape == (3, 20, 40) and type(out) is torch.Tensor
    assert torch.allclose(t["boxes"], target["boxes"] / 2)
    assert torch.equal(t["labels"], target["labels"]) and torch.equal(
        t["difficult"], target["difficult"]
    )
    assert torch.equal(target["boxes"][0], torch.tensor([10.0, 4.0, 30.0, 20.0])), "input mutated"


def test_flip_mirrors_image_and_boxes():
    image, target = _item()
    out, t = HorizontalFlip(p=1.0)(image, target)
    assert torch.equal(out, image.flip(-1))
    expected = torch.tensor([[80 - 30.0, 4.0, 80 - 10.0, 20.0], [0.0, 0.0, 80.0, 40.0]])
    assert torch.equal(t["boxes"], expected)
    same, t0 = HorizontalFlip(p=0.0)(image, target)
    assert torch.equal(same, image) and torch.equal(t0["boxes"], target["boxes"])


def test_pil_to_tensor_then_normalize():
    pil = Image.new("RGB", (8, 6), (255, 0, 51))
    tf = Compose([ToTensor(), Normalize(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))])
    out, t = tf(pil, {"boxes": torch.tensor([[1.0, 1.0, 3.0, 4.0]]), "labels": torch.tensor([0])})
    assert out.shape == (3, 6, 8) and out.dtype == torch.float32
    assert torch.allclose(out[:, 0, 0], torch.tensor([1.0, -1.0, 51 / 255 * 2 - 1]))
    assert torch.equal(t["boxes"], torch.tensor([[1.0, 1.0, 3.0, 4.0]]))


def test_bad_boxes_shape_is_reported():
    image, target = _item()
    with pytest.raises(ValueError, match=r"\[K, 4\]"):
        Resize(10)(image, {**target, "boxes": torch.zeros(4)})


def test_collate_stacks_equal_sizes_and_lists_mixed_sizes():
    loader = DataLoader(
        ShapesDetection(5, image_size=64), batch_size=3, collate_fn=detection_collate
    )
    images, targets = next(iter(loader))
    assert images.shape == (3, 3, 64, 64) and len(targets) == 3
    assert all(t["boxes"].shape[1] == 4 for t in targets)
    mixed = [_item(), (torch.rand(3, 10, 10), _item()[1])]
    images, targets = detection_collate(mixed)
    assert isinstance(images, list) and [im.shape[-1] for im in images] == [80, 10]
    with pytest.raises(ValueError, match="empty"):
        detection_collate([])


def test_shapes_detection_applies_box_aware_transforms():
    plain = ShapesDetection(2, image_size=64, seed=7)
    flipped = ShapesDetection(2, image_size=64, seed=7, transforms=HorizontalFlip(p=1.0))
    (image, target), (fimage, ftarget) = plain[1], flipped[1]
    assert torch.equal(fimage, image.flip(-1))
    mirrored = target["boxes"][:, [2, 1, 0, 3]] * torch.tensor([-1, 1, -1, 1]) + torch.tensor(
        [64, 0, 64, 0]
    )
    assert torch.equal(ftarget["boxes"], mirrored)


def _boxes_as_masks(boxes, size):
    """One [H, W] channel per box, 1 inside it: flipping it with the image is the reference."""
    masks = torch.zeros(len(boxes), size, size)
    for k, (x1, y1, x2, y2) in enumerate(boxes.long().tolist()):
        masks[k, y1:y2, x1:x2] = 1
    return masks


def _mask_box(mask):
    ys, xs = mask.nonzero(as_tuple=True)
    return torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32)


@pytest.mark.parametrize("vertical,transpose", [(False, False), (True, False), (True, True)])
def test_random_flips_move_each_box_with_its_pixels(vertical, transpose):
    size, n = 24, 64
    gen = torch.Generator().manual_seed(0)
    boxes = [torch.tensor([[2.0, 3.0, 9.0, 20.0], [11.0, 1.0, 24.0, 7.0]]) for _ in range(n)]
    images = torch.stack(
        [torch.cat([torch.rand(3, size, size), _boxes_as_masks(b, size)]) for b in boxes]
    )
    targets = [{"boxes": b, "labels": torch.tensor([1, 2])} for b in boxes]
    out, out_targets = random_flips(
        images, targets, vertical=vertical, transpose=transpose, generator=gen
    )
    assert out.shape == images.shape and len(out_targets) == n
    views = set()
    for image, target in zip(out, out_targets):
        for k, mask in enumerate(image[3:]):
            assert torch.equal(target["boxes"][k], _mask_box(mask))
        assert torch.equal(target["labels"], torch.tensor([1, 2]))
        views.add(tuple(target["boxes"].flatten().tolist()))
    assert len(views) == 2 * (1 + vertical) * (1 + transpose), "every symmetry allowed is drawn"
    assert torch.equal(boxes[0], torch.tensor([[2.0, 3.0, 9.0, 20.0], [11.0, 1.0, 24.0, 7.0]]))


def test_random_flips_reproducible_lists_and_errors():
    images = [torch.rand(3, 8, 8) for _ in range(5)]
    targets = [{"boxes": torch.tensor([[1.0, 2.0, 5.0, 6.0]])} for _ in range(5)]
    a = random_flips(images, targets, vertical=True, generator=torch.Generator().manual_seed(3))
    b = random_flips(images, targets, vertical=True, generator=torch.Generator().manual_seed(3))
    assert isinstance(a[0], list) and all(torch.equal(x, y) for x, y in zip(a[0], b[0]))
    with pytest.raises(ValueError, match="square"):
        random_flips([torch.rand(3, 8, 6)], [{"boxes": torch.zeros(0, 4)}], transpose=True)
    with pytest.raises(ValueError, match="2 images and 1 targets"):
        random_flips(images[:2], targets[:1])


def test_random_flips_item_transform_draws_like_the_batch_version():
    """RandomFlips on one item = random_flips on a batch of one, from the same RNG state; in a
    dataset, the boxes still follow the pixels (the mask-channel reference above)."""
    size = 24
    boxes = torch.tensor([[2.0, 3.0, 9.0, 20.0], [11.0, 1.0, 24.0, 7.0]])
    image = torch.cat([torch.rand(3, size, size), _boxes_as_masks(boxes, size)])
    flips = RandomFlips(vertical=True, transpose=True)
    views = set()
    for seed in range(32):
        torch.manual_seed(seed)
        out, target = flips(image, {"boxes": boxes, "labels": torch.tensor([1, 2])})
        torch.manual_seed(seed)
        [ref], [ref_target] = random_flips(
            [image], [{"boxes": boxes}], vertical=True, transpose=True
        )
        assert torch.equal(out, ref) and torch.equal(target["boxes"], ref_target["boxes"])
        for k, mask in enumerate(out[3:]):
            assert torch.equal(target["boxes"][k], _mask_box(mask))
        views.add(tuple(target["boxes"].flatten().tolist()))
    assert len(views) == 8
    data = ShapesDetection(4, image_size=32, seed=1, transforms=RandomFlips(vertical=True))
    assert all(item[1]["boxes"].shape[-1] == 4 for item in data)


@pytest.mark.parametrize("stacked", [True, False])
def test_random_flips_move_masks_with_their_images(stacked):
    """A mask read off the image itself (channel 0 quantised) must still be that after the
    flips; the draws are those of the detection path (same generator, same views)."""
    n, size = 64, 16
    images = torch.rand(n, 3, size, size)
    masks = (images[:, 0] * 6).long()
    gen = torch.Generator().manual_seed(1)
    out, out_masks = random_flips(
        images if stacked else list(images),
        masks if stacked else list(masks),
        vertical=True,
        transpose=True,
        generator=gen,
    )
    assert isinstance(out_masks, torch.Tensor) == stacked and len(out_masks) == n
    views = set()
    for image, mask, original in zip(out, out_masks, images):
        assert mask.dtype == torch.int64 and torch.equal(mask, (image[0] * 6).long())
        views.add(next(k for k in range(8) if torch.equal(image, _dihedral(original, k))))
    assert views == set(range(8))
    boxes = [{"boxes": torch.tensor([[0.0, 0.0, 3.0, 5.0]])} for _ in range(n)]
    same, _ = random_flips(
        images, boxes, vertical=True, transpose=True, generator=torch.Generator().manual_seed(1)
    )
    assert torch.equal(same, torch.stack(list(out)))
    image, mask = RandomFlips(vertical=True, transpose=True)(images[0], masks[0])
    assert torch.equal(mask, (image[0] * 6).long())


def _dihedral(image, k):
    """The k-th of the 8 symmetries of a square, from torch.rot90 (an independent route)."""
    turned = torch.rot90(image, k % 4, dims=(-2, -1))
    return turned.flip(-1) if k >= 4 else turned

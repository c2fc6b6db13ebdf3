"""FCN-8s, U-Net and the dilated network of ``08_dense_prediction`` side by side, same budget.

The U-Net runs twice: as the course builds it (the bottom of the U also scores the classes,
upsampled and added to the output) and as the paper does (``bottom_scores=False``).

The full-size comparison of the notebook's performance target (128-pixel ShapesSegmentation,
180 seconds of training per model, all the machine's cores) is the default, one command:

    PYTHONPATH=. .venv/bin/python benchmarks/segmentation.py

Each model (the reference solution, loaded from the source notebook with the notebook's own
CPU training recipe, ``training_recipe(fast=False, cuda=False)``: distinct training images,
batch size, AdamW's peak learning rate and weight decay, the U-Net's base and depth; batches
through the notebook's `flipped_batch`, the 8 symmetries of a square) trains on
``ShapesSegmentation`` for the same budget of seconds with `course_utils.train.fit`
(per-pixel cross-entropy, a one-cycle learning-rate schedule stretched over the budget,
whatever the speed), then is scored on the validation images through
`course_utils.segmentation` (one confusion matrix over all of them; mIoU as torchmetrics
counts it). One table: model, parameters, optimizer steps done, training images/s, inference
images/s, mIoU and pixel accuracy, under the all-background baseline.

``--clock cpu`` counts the budget in CPU seconds of this process instead of wall-clock
seconds: with ``--threads 1`` that is the time one dedicated core would take, which keeps the
numbers meaningful on a machine shared with other jobs. Options override the recipe:

    PYTHONPATH=. .venv/bin/python benchmarks/segmentation.py [--budget-s 180]
        [--image-size 128] [--models fcn,unet,unet-paper,dilated] [--unet-base B --unet-depth D]
        [--lr LR] [--batch-size N] [--train-images N] [--clock wall|cpu] [--threads N]
        [--seed S]

``--seed`` (default 0) seeds each model's initial weights and its batches' flips.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from budget_schedule import BudgetSchedule  # noqa: E402
from notebook_defs import load_definitions  # noqa: E402

from course_utils import seed_everything  # noqa: E402
from course_utils.data import SHAPE_CLASSES, ShapesSegmentation  # noqa: E402
from course_utils.segmentation import constant_baseline, evaluate_segmentation  # noqa: E402
from course_utils.train import fit, make_loader  # noqa: E402

NOTEBOOK = "08_dense_prediction/segmentation.ipynb"
NUM_CLASSES = 1 + len(SHAPE_CLASSES)


def build(name: str, defs: dict, base: int, depth: int) -> nn.Module:
    if name == "fcn":
        return defs["FCN"](NUM_CLASSES)
    if name in ("unet", "unet-paper"):
        return defs["UNet"](3, NUM_CLASSES, base=base, depth=depth, bottom_scores=name == "unet")
    if name == "dilated":
        return defs["DilatedNet"](NUM_CLASSES)
    raise ValueError(f"unknown model {name!r}: use fcn, unet, unet-paper or dilated")


def train_for(
    model, train_set, budget_s, clock, lr, weight_decay, batch_size, device, collate_fn
) -> tuple[int, int, float]:
    """Train until the budget is spent (checked every few batches); returns the optimizer
    steps, the images seen and the seconds (of ``clock``) spent."""
    now = time.process_time if clock == "cpu" else time.perf_counter
    start = now()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    # The notebook's one-cycle schedule, run on the clock so that it ends with the budget.
    resolution = 1000
    one_cycle = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=resolution)
    scheduler = BudgetSchedule(one_cycle, resolution, budget_s, clock=now)
    seen, chunk = 0, 16 * batch_size  # the budget is checked every `chunk` images
    while now() - start < budget_s:
        first = seen % len(train_set)
        part = [train_set[(first + i) % len(train_set)] for i in range(chunk)]
        loader = make_loader(part, batch_size, seed=seen, device=device, collate_fn=collate_fn)
        fit(
            model, nn.CrossEntropyLoss(), optimizer, loader, epochs=1, scheduler=scheduler,
            scheduler_step="batch", device=device, progress=False,
        )  # fmt: skip
        seen += chunk
    return seen // batch_size, seen, now() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-s", type=float, default=180.0)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--train-images", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--val-images", type=int, default=200)
    parser.add_argument("--models", default="fcn,unet,unet-paper,dilated")
    parser.add_argument("--unet-base", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--unet-depth", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--lr", type=float, default=None, help="default: the recipe's")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    defs = load_definitions(
        NOTEBOOK,
        ["conv_bn_relu", "pad_to_multiple", "double_conv", "bilinear_kernel", "dilated_block",
         "FCN", "UNet", "DilatedNet", "training_recipe", "flipped_batch"],
    )  # fmt: skip
    recipe = defs["training_recipe"](fast=False, cuda=device.type == "cuda")
    args.train_images = args.train_images or recipe["num_train"]
    args.batch_size = args.batch_size or recipe["batch_size"]
    args.lr = args.lr or recipe["lr"]
    args.unet_base = args.unet_base or recipe["unet"]["base"]
    args.unet_depth = args.unet_depth or recipe["unet"]["depth"]
    train = ShapesSegmentation(args.train_images, image_size=args.image_size, seed=0)
    val = ShapesSegmentation(args.val_images, image_size=args.image_size, seed=0, split="val")
    train_set = [train[i] for i in range(len(train))]  # generated once, outside the budget
    val_loader = make_loader([val[i] for i in range(len(val))], 50, shuffle=False, device=device)
    baseline = constant_baseline(val_loader, NUM_CLASSES)
    print(
        f"ShapesSegmentation {args.image_size} px: {args.train_images} training images (cycled), "
        f"{args.val_images} validation images; budget {args.budget_s:.0f} {args.clock} s per "
        f"model on {device} ({torch.get_num_threads()} threads); batch {args.batch_size}, "
        f"peak lr {args.lr:g}; seed {args.seed}"
    )
    header = f"{'model':<32}{'params':>11}{'steps':>7}{'train img/s':>13}{'infer img/s':>13}{'mIoU':>8}{'pixel acc':>11}"
    print(header)
    print(
        f"{'all background':<32}{0:>11,d}{'':>7}{'':>13}{'':>13}{baseline.miou:8.3f}{baseline.pixel_accuracy:11.3f}"
    )
    for name in args.models.split(","):
        seed_everything(args.seed)
        model = build(name, defs, args.unet_base, args.unet_depth)
        label = name
        if name.startswith("unet"):
            label = f"{name} (base {args.unet_base}, depth {args.unet_depth})"
        steps, seen, spent = train_for(
            model, train_set, args.budget_s, args.clock, args.lr, recipe["weight_decay"],
            args.batch_size, device, defs["flipped_batch"],
        )  # fmt: skip
        result = evaluate_segmentation(model, val_loader, NUM_CLASSES, device=device)
        params = sum(p.numel() for p in model.parameters())
        print(
            f"{label:<32}{params:>11,d}{steps:>7d}{seen / spent:13.1f}{result.images_per_s:13.1f}"
            f"{result.scores.miou:8.3f}{result.scores.pixel_accuracy:11.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()

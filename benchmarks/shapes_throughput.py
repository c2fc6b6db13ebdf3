"""Is Shapes generation ever the bottleneck? Goal: generated / consumed images per second >= 5.

For each dataset and size the script times (a) generating images one by one in a single
process, as a ``DataLoader(num_workers=0)`` does, and (b) a training step of a small CNN on
batches of those images, then prints both rates and their ratio. Both sides get one core by
default (``--threads 1``): generation scales with DataLoader workers as training scales with
torch threads, so the per-core ratio is the one that carries over to bigger machines, and it
is not distorted by other processes competing for the cores.

    .venv/bin/python benchmarks/shapes_throughput.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from course_utils.data import ShapesClassification, ShapesDetection, ShapesSegmentation


def small_cnn(out: int) -> nn.Module:
    """The size of CNN the course trains on Shapes (a LeNet-like classifier)."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(64, out),
    )  # fmt: skip


def generation_rate(dataset, seconds: float) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        dataset[count % len(dataset)]
        count += 1
    return count / (time.perf_counter() - start)


def training_rate(image_size: int, seconds: float, batch_size: int = 64) -> float:
    torch.manual_seed(0)
    model = small_cnn(5)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.rand(batch_size, 3, image_size, image_size)
    y = torch.randint(0, 5, (batch_size,))
    loss_fn = nn.CrossEntropyLoss()

    def step() -> None:
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()  # warm-up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        count += batch_size
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for training")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"training on {torch.get_num_threads()} torch thread(s); generation in one process")
    cases = [
        ("ShapesClassification", ShapesClassification(10_000, image_size=32), 32),
        ("ShapesDetection", ShapesDetection(10_000, image_size=128), 128),
        ("ShapesSegmentation", ShapesSegmentation(10_000, image_size=128), 128),
    ]
    print(f"{'dataset':22s} {'size':>5s} {'generated/s':>12s} {'consumed/s':>11s} {'ratio':>7s}")
    ratios = []
    for name, dataset, size in cases:
        made = generation_rate(dataset, args.seconds)
        used = training_rate(size, args.seconds)
        ratios.append(made / used)
        print(f"{name:22s} {size:5d} {made:12.0f} {used:11.0f} {made / used:7.1f}")
    print(f"lowest ratio = {min(ratios):.1f}  (goal >= 5)")


if __name__ == "__main__":
    main()

"""How much does `fit` cost over a bare PyTorch loop? Goal: ratio <= 1.05 on the CPU.

Both train the same small CNN on the same in-memory Shapes batches, alternating runs so that
background load hits both alike; the script prints the median and the fastest time of each
and their ratios (on a busy machine the fastest runs are the least disturbed ones). Torch
uses one thread so that other processes on the machine perturb both loops alike.
The bare loop is the textbook one (forward, loss, zero_grad, backward, step, loss.item() for
logging). `fit` runs with its defaults except the progress bars, which are measured separately.

    .venv/bin/python benchmarks/trainer_overhead.py [--repeats 5] [--epochs 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils.data import ShapesClassification
from course_utils.train import fit


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 8 * 8, 5),
    )  # fmt: skip


def bare_loop(model: nn.Module, loader: DataLoader, epochs: int) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        total = 0.0
        for x, y in loader:
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
    return time.perf_counter() - start


def with_fit(model: nn.Module, loader: DataLoader, epochs: int, progress: bool) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    start = time.perf_counter()
    fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=epochs, device="cpu", progress=progress)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    ds = ShapesClassification(args.images, image_size=32)
    xs = torch.stack([ds[i][0] for i in range(len(ds))])
    ys = torch.tensor([ds[i][1] for i in range(len(ds))])
    loader = DataLoader(TensorDataset(xs, ys), batch_size=64, shuffle=False)
    bare_loop(make_model(), loader, 1)  # warm-up: allocator, kernels
    times: dict[str, list[float]] = {"bare": [], "fit": [], "fit+progress": []}
    for _ in range(args.repeats):
        times["bare"].append(bare_loop(make_model(), loader, args.epochs))
        times["fit"].append(with_fit(make_model(), loader, args.epochs, progress=False))
        times["fit+progress"].append(with_fit(make_model(), loader, args.epochs, progress=True))
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    steps = args.epochs * len(loader)
    print(f"{steps} steps per run, {args.repeats} runs each, seconds (median / fastest):")
    for key in times:
        print(
            f"  {key:13s} {med[key]:.3f} / {best[key]:.3f}  ({1000 * best[key] / steps:.2f} ms/step)"
        )
    for key in ("fit", "fit+progress"):
        print(
            f"{key} / bare loop: median {med[key] / med['bare']:.3f}, "
            f"fastest {best[key] / best['bare']:.3f}  (goal <= 1.05)"
        )


if __name__ == "__main__":
    main()

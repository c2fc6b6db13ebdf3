"""Naive loops vs im2col vs ``F.conv2d``: the reference solutions of 02_convolutions/conv_layers.

Loads ``conv2d_naive`` and ``conv2d_im2col`` from the solution cells of the source notebook (so
the numbers are those of the code students are graded against), checks each against
``F.conv2d`` on the same inputs, and prints the median times and the ratios
naive / im2col and im2col / F.conv2d, measured side by side in one run with
``torch.utils.benchmark`` (same thread count for every method).

Goal: im2col within 5x of ``F.conv2d`` for a batch of 8, 32x64x64 inputs, 64 3x3 filters.

    python benchmarks/conv_impl.py
    python benchmarks/conv_impl.py --threads 1 --min-time 1.0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.benchmark import Timer

sys.path.insert(0, str(Path(__file__).resolve().parent))

from notebook_defs import load_definitions  # noqa: E402

NOTEBOOK = "02_convolutions/conv_layers.ipynb"
GOAL_CASE = (8, 32, 64, 64, 64)
GOAL_RATIO = 5.0
# (N, C, H, W, filters); the naive loops only run where they finish in seconds.
CASES = [(1, 3, 16, 16, 8), (2, 16, 32, 32, 16), GOAL_CASE, (8, 64, 32, 32, 128)]
NAIVE_MAX_STEPS = 40_000  # N * filters * H' * W' Python iterations


def load_solutions(notebook: str | Path = NOTEBOOK) -> dict[str, Callable]:
    """``conv2d_naive`` and ``conv2d_im2col`` as the notebook's solution cells define them."""
    wanted = ["conv2d_naive", "conv2d_im2col"]
    try:
        namespace = load_definitions(notebook, wanted)
    except KeyError as missing:
        raise SystemExit(f"no solution cell: {missing}") from None
    return {name: namespace[name] for name in wanted}


def median_ms(fn: Callable, args: tuple, threads: int, min_time: float) -> float:
    timer = Timer("fn(*args)", globals={"fn": fn, "args": args}, num_threads=threads)
    return timer.blocked_autorange(min_run_time=min_time).median * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds per measurement")
    args = parser.parse_args()
    solutions = load_solutions()
    naive, im2col = solutions["conv2d_naive"], solutions["conv2d_im2col"]
    print(f"torch {torch.__version__}, {args.threads} thread(s), 3x3 filters, stride 1, padding 1")
    header = f"{'N x C x H x W, filters':<26}{'naive ms':>10}{'im2col ms':>11}{'conv2d ms':>11}"
    print(header + f"{'naive/im2col':>14}{'im2col/conv2d':>15}")
    goal_ratio = None
    torch.manual_seed(0)
    for n, c, h, w, f in CASES:
        x, weight, bias = torch.randn(n, c, h, w), torch.randn(f, c, 3, 3), torch.randn(f)
        inputs = (x, weight, bias, 1, 1)
        reference = F.conv2d(*inputs)
        if not torch.allclose(im2col(*inputs), reference, atol=1e-3, rtol=1e-4):
            raise SystemExit(f"conv2d_im2col disagrees with F.conv2d on {(n, c, h, w, f)}")
        t_im2col = median_ms(im2col, inputs, args.threads, args.min_time)
        t_conv = median_ms(F.conv2d, inputs, args.threads, args.min_time)
        naive_cell, ratio_cell = f"{'-':>10}", f"{'-':>14}"
        if n * f * h * w <= NAIVE_MAX_STEPS:
            if not torch.allclose(naive(*inputs), reference, atol=1e-3, rtol=1e-4):
                raise SystemExit(f"conv2d_naive disagrees with F.conv2d on {(n, c, h, w, f)}")
            t_naive = median_ms(naive, inputs, args.threads, min(args.min_time, 0.2))
            naive_cell, ratio_cell = f"{t_naive:>10.2f}", f"{t_naive / t_im2col:>13.0f}x"
        ratio = t_im2col / t_conv
        if (n, c, h, w, f) == GOAL_CASE:
            goal_ratio = ratio
        label = f"{n}x{c}x{h}x{w}, {f}"
        print(f"{label:<26}{naive_cell}{t_im2col:>11.3f}{t_conv:>11.3f}{ratio_cell}{ratio:>14.2f}x")
    verdict = "met" if goal_ratio is not None and goal_ratio <= GOAL_RATIO else "NOT met"
    print(
        f"goal: im2col within {GOAL_RATIO:.0f}x of F.conv2d on {GOAL_CASE[0]}x{GOAL_CASE[1]}x"
        f"{GOAL_CASE[2]}x{GOAL_CASE[3]}, {GOAL_CASE[4]} filters: {goal_ratio:.2f}x ({verdict})"
    )


if __name__ == "__main__":
    main()

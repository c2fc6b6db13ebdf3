"""The benchmark scripts run and print their ratios (smallest settings; no timing is judged)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

CASES = {
    "trainer_overhead": (
        ["--repeats", "1", "--epochs", "1", "--images", "64"],
        r"fit / bare loop: median \d+\.\d{3}, fastest \d+\.\d{3}  \(goal <= 1\.05\)",
    ),
    "shapes_throughput": (["--seconds", "0.1"], r"lowest ratio = \d+\.\d  \(goal >= 5\)"),
    "conv_impl": (
        ["--min-time", "0.01"],
        r"goal: im2col within 5x of F\.conv2d on 8x32x64x64, 64 filters: \d+\.\d\dx \((met|NOT met)\)",
    ),
    "detectors": (
        ["--budget-s", "0.5", "--train-images", "16", "--val-images", "8", "--batch-size", "4"],
        r"baseline +random boxes +0 +\d+\.\d +\d\.\d{3} +\d\.\d{3}",
    ),
    "grading": (
        ["--sample", "--repeats", "1", "--class-size", "5"],
        r"sandbox / no sandbox: \d+\.\d{3}.*\n(.*\n)*jobs 2 / jobs 1 speed-up: \d+\.\d\dx",
    ),
    "mlp_numpy_vs_torch": (
        ["--repeats", "1", "--only", "128 px"],
        r"goal: NumPy step within 2x of PyTorch on 128 px: \d+\.\d\dx \((met|NOT met)\)",
    ),
    "segmentation": (
        "--budget-s 0.2 --image-size 64 --train-images 16 --val-images 8 --models fcn,dilated".split(),
        r"fcn +405,410 +\d+ +\d+\.\d +\d+\.\d +\d\.\d{3} +\d\.\d{3}",
    ),
    "notebook_times": (
        ["--repeat", "1", "--only", "00_getting_started"],
        r"00_getting_started/getting_started\.ipynb +\d+\.\d",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_benchmark_script_prints_its_ratio(name):
    args, expected = CASES[name]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(expected, done.stdout), done.stdout


def test_detector_benchmark_seeds_and_model_filter():
    """--models keeps the named contenders (and the baseline); --seeds rows average the runs
    and the per-seed table gives the sample standard deviation (numpy's, ddof=1)."""
    import numpy as np

    sys.path.insert(0, str(BENCHMARKS))
    import detectors

    kept = detectors.discover(["two_stage"], ["Faster R-CNN", "FasterRCNN"])
    assert kept[0] is detectors.BASELINE
    assert [c.model for c in kept[1:]] == [
        "course Faster R-CNN",
        "torchvision FasterRCNN (same backbone)",
    ]
    runs = [
        detectors.Result("two-stage", "m", steps, ips, m50, ap)
        for steps, ips, m50, ap in [(480, 240.0, 0.875, 0.67), (490, 250.0, 0.895, 0.69)]
    ]
    mean = detectors.mean_result(runs)
    assert (mean.steps, mean.images_per_s) == (485, 245.0)
    assert mean.map_50 == pytest.approx(0.885) and mean.coco_ap == pytest.approx(0.68)
    table = detectors.format_seeds([runs], [0, 1])
    expected = f"{np.mean([0.875, 0.895]):.3f} {np.std([0.875, 0.895], ddof=1):.3f}"
    assert table.splitlines()[1].split()[1:] == ["0.875", "0.895", *expected.split()]

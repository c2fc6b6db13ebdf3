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
        r"sandbox / no sandbox: \d+\.\d{3}.*\n(.*\n)*"
        r"an endless loop in \w+: .* cell limit of \d+ s \((within|ABOVE) the limit\)\n(.*\n)*"
        r"jobs 2 / jobs 1 speed-up: \d+\.\d\dx",
    ),
    "mlp_numpy_vs_torch": (
        ["--repeats", "1", "--only", "128 px"],
        r"goal: NumPy step within 2x of PyTorch on 128 px: \d+\.\d\dx \((met|NOT met)\)",
    ),
    "segmentation": (
        "--budget-s 0.2 --image-size 64 --train-images 16 --val-images 8".split(),
        # every default model, the U-Net with and without its bottom scores (6 * 128 + 6 more)
        r"fcn +405,410 +\d+ +\d+\.\d +\d+\.\d +\d\.\d{3} +\d\.\d{3}\n"
        r"unet \(base 8, depth 4\) +487,372 .*\n"
        r"unet-paper \(base 8, depth 4\) +486,598 .*\n"
        r"dilated +181,270 ",
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
        "course Faster R-CNN, torchvision's initial weights",
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


def test_course_faster_rcnn_from_torchvisions_initial_weights():
    """The paired contender starts from the weights torchvision's contender draws for the same
    seed and leaves the random stream where torchvision's construction leaves it; from the
    same weights the two detectors predict the same boxes, and their box losses (all
    positives kept: no sampling) are equal."""
    import torch

    sys.path.insert(0, str(BENCHMARKS))
    from detector_families import two_stage
    from detectors import Setup

    from course_utils.data import ShapesDetection

    setup = Setup(torch.device("cpu"), image_size=64, num_classes=5)
    built = {}
    for name, factory in [
        ("torchvision", two_stage._torchvision_faster_rcnn),
        ("course", two_stage._faster_rcnn_torchvision_init),
    ]:
        torch.manual_seed(0)
        detector = factory(setup)
        built[name] = (detector, torch.get_rng_state())
    (tv, tv_rng), (course, course_rng) = built["torchvision"], built["course"]
    assert torch.equal(tv_rng, course_rng)
    tv_params = dict(tv.model.model.named_parameters())
    for name, param in course.model.named_parameters():
        assert torch.equal(param, tv_params[name]), name

    items = [ShapesDetection(2, image_size=64, seed=3)[i] for i in range(2)]
    images, targets = [i for i, _ in items], [t for _, t in items]
    with torch.no_grad():
        for tv_pred, course_pred in zip(tv.predict(images), course.predict(images), strict=True):
            assert len(course_pred["boxes"]) > 0
            for key in ("boxes", "scores", "labels"):
                torch.testing.assert_close(course_pred[key], tv_pred[key], atol=1e-4, rtol=1e-4)
        tv.model.train(), course.model.train()
        tv_losses = tv.model(images, targets)
        course_losses = course.model(images, targets)
    assert float(course_losses["rpn_box"]) == pytest.approx(float(tv_losses["loss_rpn_box_reg"]))
    assert float(course_losses["box"]) == pytest.approx(float(tv_losses["loss_box_reg"]))

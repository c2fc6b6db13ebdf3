"""course_utils.env: device choice, seeding, fast mode, the doctor's report."""

import io
import random

import numpy as np
import pytest
import torch

from course_utils import env


def test_get_device_falls_back_to_cpu_without_gpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert env.get_device() == torch.device("cpu") or env.get_device().type == "mps"
    assert env.get_device("cpu") == torch.device("cpu")


def test_get_device_explains_missing_cuda():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="Change runtime type"):
        env.get_device("cuda")


def test_seed_everything_repeats_every_generator():
    def draw():
        return random.random(), np.random.rand(), torch.rand(3)

    env.seed_everything(123)
    first = draw()
    env.seed_everything(123)
    second = draw()
    assert first[0] == second[0] and first[1] == second[1]
    assert torch.equal(first[2], second[2])
    env.seed_everything(124)
    assert not torch.equal(draw()[2], first[2])


@pytest.mark.parametrize(
    ("course_fast", "nbgrader", "expected"),
    [
        (None, None, False),
        ("1", None, True),
        ("true", None, True),
        ("0", None, False),
        (None, "1", True),
        ("0", "1", False),  # an explicit COURSE_FAST=0 wins over nbgrader
        ("", "1", True),
    ],
)
def test_fast_mode(monkeypatch, course_fast, nbgrader, expected):
    for name, value in (("COURSE_FAST", course_fast), ("NBGRADER_EXECUTION", nbgrader)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert env.fast_mode() is expected


def test_in_colab_reads_the_runtime_marker(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert env.in_colab() is False
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261101")
    assert env.in_colab() is True


def test_data_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "cache"))
    assert env.data_dir() == tmp_path / "cache"
    monkeypatch.delenv("COURSE_DATA")
    assert env.data_dir().name == "deep-vision"


def test_doctor_reports_every_item():
    out = io.StringIO()
    ok = env.doctor(file=out)
    text = out.getvalue()
    for item in (
        "python",
        "torch",
        "torchvision",
        "cuda",
        "mps",
        "ipywidgets",
        "nbgrader",
        "data cache",
    ):
        assert item in text
    assert torch.__version__ in text
    assert ok is True
    assert "Everything the course needs is here." in text


def _without_module(monkeypatch, missing: str) -> None:
    """Make env's imports of ``missing`` fail as if the package were not installed."""
    real_import = env.importlib.import_module

    def fake_import(name, *args):
        if name == missing:
            raise ModuleNotFoundError(f"No module named {missing!r}")
        return real_import(name, *args)

    monkeypatch.setattr(env.importlib, "import_module", fake_import)


def test_doctor_names_a_missing_package_and_its_fix(monkeypatch):
    _without_module(monkeypatch, "pycocotools")
    out = io.StringIO()
    assert env.doctor(file=out) is False
    line = next(li for li in out.getvalue().splitlines() if "pycocotools" in li)
    assert line.startswith("MISSING") and "pip install pycocotools" in line
    assert "1 problem(s)" in out.getvalue()


def test_doctor_treats_nbgrader_as_optional(monkeypatch):
    _without_module(monkeypatch, "nbgrader")
    out = io.StringIO()
    assert env.doctor(file=out) is True
    assert "instructors only" in out.getvalue()


@pytest.mark.parametrize("flag", ["0", "1"])
def test_doctor_says_how_to_turn_fast_mode_on(monkeypatch, flag):
    monkeypatch.setenv("COURSE_FAST", flag)
    out = io.StringIO()
    env.doctor(file=out)
    [line] = [line for line in out.getvalue().splitlines() if "fast mode" in line]
    assert ("on" if flag == "1" else "off") in line.split("->")[0]
    assert "COURSE_FAST=1" in line and "make lab" in line

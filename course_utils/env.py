"""Environment helpers every notebook's setup cell uses.

`get_device` picks CUDA, then Apple MPS, then the CPU; `seed_everything` makes a run repeatable;
`fast_mode` tells slow cells to shrink themselves (CI, autograding, ``COURSE_FAST=1``);
`doctor` prints what is installed and what to do about anything missing.
"""

from __future__ import annotations

import importlib
import os
import platform
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

FAST_ENV_VAR = "COURSE_FAST"
DATA_ENV_VAR = "COURSE_DATA"
_TRUTHY = {"1", "true", "yes", "on"}


def get_device(prefer: str | None = None) -> torch.device:
    """Return the best available device: CUDA, then MPS, then CPU.

    Args:
        prefer: force a device ("cpu", "cuda", "cuda:1", "mps"). Raises if it is not available,
            with a hint on how to get it.
    """
    if prefer is not None:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                "CUDA was requested but no GPU is visible. On Colab: Runtime > Change runtime type "
                "> GPU; locally use get_device() to fall back to the CPU."
            )
        if device.type == "mps" and not _mps_available():
            raise RuntimeError("MPS was requested but this machine has no Apple GPU backend.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def seed_everything(seed: int = 0, deterministic: bool = False) -> int:
    """Seed Python, NumPy and torch (all devices) so a run can be repeated.

    Args:
        seed: the seed.
        deterministic: also ask cuDNN and torch for deterministic kernels (slower on GPU).
    Returns:
        the seed, so a notebook can print it.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
    return seed


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


FAST_MODE_HOWTO = (
    "FAST mode (small data, short training) is on in `make lab` unless started as "
    "`make lab FAST=0`; elsewhere set COURSE_FAST=1 (off: COURSE_FAST=0) before starting "
    "Jupyter, or run `%env COURSE_FAST=1` in the notebook and re-run its setup cell"
)


def fast_mode() -> bool:
    """True when notebooks should run their small, quick variant.

    That is when ``COURSE_FAST`` is set to a true value, or when nbgrader is executing the
    notebook (it sets ``NBGRADER_EXECUTION``). ``COURSE_FAST=0`` forces full mode even under
    nbgrader.
    """
    flag = os.environ.get(FAST_ENV_VAR)
    if flag is not None and flag.strip() != "":
        return flag.strip().lower() in _TRUTHY
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def data_dir() -> Path:
    """Folder where datasets are cached: ``$COURSE_DATA`` or ``~/.cache/deep-vision``."""
    root = os.environ.get(DATA_ENV_VAR)
    path = Path(root).expanduser() if root else Path.home() / ".cache" / "deep-vision"
    return path


@dataclass
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _package_check(name: str, module: str, fix: str, required: bool = True) -> Check:
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # an import can fail in many ways; report it, never crash the doctor
        return Check(name, not required, f"not installed ({type(exc).__name__})", fix)
    return Check(name, True, getattr(mod, "__version__", "installed"))


def environment_checks() -> list[Check]:
    """Inspect the environment and return one `Check` per item the course relies on."""
    checks = [
        Check(
            "python",
            sys.version_info >= (3, 11),
            f"{platform.python_version()} ({sys.executable})",
            "Python 3.11 or newer is needed.",
        ),
        Check("torch", True, torch.__version__),
        _package_check("torchvision", "torchvision", 'pip install -e ".[dev]"'),
        _package_check("numpy", "numpy", "pip install numpy"),
        _package_check("matplotlib", "matplotlib", "pip install matplotlib"),
        _package_check("ipywidgets", "ipywidgets", "pip install ipywidgets"),
        _package_check("tqdm", "tqdm", "pip install tqdm"),
        _package_check("pycocotools", "pycocotools", "pip install pycocotools"),
        _package_check(
            "nbgrader",
            "nbgrader",
            'instructors only: pip install -e ".[instructor]"',
            required=False,
        ),
    ]
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        checks.append(Check("cuda", True, f"CUDA {torch.version.cuda}: {names}"))
    else:
        hint = (
            "Runtime > Change runtime type > GPU"
            if in_colab()
            else "no GPU here: notebooks run on the CPU (use Colab for a GPU)"
        )
        checks.append(Check("cuda", True, "not available", hint))
    checks.append(Check("mps", True, "available" if _mps_available() else "not available"))
    checks.append(Check("device", True, str(get_device())))
    cache = data_dir()
    writable = _is_writable(cache)
    checks.append(
        Check(
            "data cache",
            writable,
            f"{cache} ({'writable' if writable else 'not writable'})",
            f"set {DATA_ENV_VAR} to a writable folder",
        )
    )
    checks.append(Check("fast mode", True, "on" if fast_mode() else "off", FAST_MODE_HOWTO))
    checks.append(Check("colab", True, "yes" if in_colab() else "no"))
    return checks


def _is_writable(path: Path) -> bool:
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    return os.access(probe, os.W_OK)


def doctor(file=None) -> bool:
    """Print the environment report; return True when nothing required is missing."""
    out = file if file is not None else sys.stdout
    checks = environment_checks()
    width = max(len(c.name) for c in checks)
    for c in checks:
        mark = "ok " if c.ok else "MISSING"
        line = f"{mark:7} {c.name:<{width}}  {c.detail}"
        shown = c.detail in {"not available"} or "not installed" in c.detail
        if c.fix and (not c.ok or shown or c.name == "fast mode"):
            line += f"  -> {c.fix}"
        print(line, file=out)
    problems = [c for c in checks if not c.ok]
    if problems:
        print(f"\n{len(problems)} problem(s): fix the lines marked MISSING.", file=out)
    else:
        print("\nEverything the course needs is here.", file=out)
    return not problems

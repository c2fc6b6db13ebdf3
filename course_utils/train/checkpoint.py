"""Checkpoints that survive a Colab disconnect: atomic writes, every RNG, corrupted-file fallback.

A checkpoint is one ``torch.save`` file ``ckpt-<step>.pt`` holding the model, optimizer,
scheduler and grad-scaler states, the loop position (epoch, step, batch within the epoch), the
history so far, and the state of every random number generator, so a resumed run draws
exactly the numbers the uninterrupted run would have drawn.

Writes go to a temporary file in the same folder, are flushed to disk, then renamed over the
final name: a crash mid-write leaves the previous checkpoints intact, never half a file under
a real name. The newest few checkpoints are kept; when the newest cannot be read (truncated
upload, full disk) `load_latest` says why and falls back to the one before.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..env import in_colab

_NAME = re.compile(r"^ckpt-(\d+)\.pt$")
REQUIRED_KEYS = ("model", "optimizer", "epoch", "step", "batch_in_epoch", "rng", "history")


class CheckpointWarning(UserWarning):
    """A checkpoint could not be used and was skipped."""


class CheckpointError(RuntimeError):
    """No usable checkpoint, or one that does not fit the model being trained."""


def capture_rng(generators: dict[str, torch.Generator] | None = None) -> dict[str, Any]:
    """The state of Python's, NumPy's and torch's (CPU and every CUDA device) RNGs, plus the
    named extra ``generators`` (a DataLoader's own generator, for example)."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    state["generators"] = {k: g.get_state() for k, g in (generators or {}).items()}
    return state


def restore_rng(
    state: dict[str, Any], generators: dict[str, torch.Generator] | None = None
) -> None:
    """Put every RNG back to a `capture_rng` state."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    for key, generator in (generators or {}).items():
        if key in state["generators"]:
            generator.set_state(state["generators"][key])


def checkpoint_path(folder: str | Path, step: int) -> Path:
    """``folder / ckpt-<step, 9 digits>.pt``: names sort in training order."""
    return Path(folder) / f"ckpt-{step:09d}.pt"


def list_checkpoints(folder: str | Path) -> list[Path]:
    """Checkpoint files in ``folder``, oldest first (temporary files are ignored)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def save_checkpoint(state: dict[str, Any], folder: str | Path, keep: int = 3) -> Path:
    """Write ``state`` atomically as ``ckpt-<state["step"]>.pt``; keep the newest ``keep``.

    Returns the path written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    final = checkpoint_path(folder, int(state["step"]))
    fd, tmp = tempfile.mkstemp(prefix=".ckpt-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)  # atomic on POSIX and Windows within one file system
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for old in list_checkpoints(folder)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return final


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load one checkpoint file onto the CPU; raise `CheckpointError` saying what is wrong."""
    path = Path(path)
    try:
        # our own file: it holds NumPy and Python RNG states, which weights_only rejects
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # truncated zip, bad pickle, I/O error: all mean "unreadable"
        raise CheckpointError(f"{path} is unreadable ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} does not hold a course checkpoint (got {type(state)})")
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path} is not a complete checkpoint: missing {missing}")
    return state


def load_latest(folder: str | Path, warn: bool = True) -> tuple[dict[str, Any], Path] | None:
    """The newest readable checkpoint in ``folder`` as ``(state, path)``; None when there is none.

    An unreadable newer file is skipped, and reported with a `CheckpointWarning` naming it and
    the reason when ``warn`` (`fit` warns on rank 0 only). Raises `CheckpointError` when files
    exist but none can be read.
    """
    paths = list_checkpoints(folder)
    problems = []
    for path in reversed(paths):
        try:
            state = read_checkpoint(path)
        except CheckpointError as exc:
            problems.append(str(exc))
            if warn:
                warnings.warn(
                    f"skipping checkpoint: {exc}. Falling back to the previous one.",
                    CheckpointWarning,
                    stacklevel=3,
                )
            continue
        return state, path
    if problems:
        raise CheckpointError(
            f"no readable checkpoint in {folder}: " + "; ".join(problems) + ". Move these files "
            "away (or pass resume=False) to start training from scratch."
        )
    return None


def colab_drive_dir(subfolder: str = "deep-vision/checkpoints") -> Path:
    """On Colab, mount Google Drive and return ``MyDrive/<subfolder>`` (created if needed).

    Pass the result as ``fit(checkpoint_dir=...)`` so checkpoints outlive the Colab runtime.
    """
    if not in_colab():
        raise RuntimeError(
            "colab_drive_dir() only works on Google Colab; locally pass any folder, e.g. "
            "checkpoint_dir='checkpoints/run1'."
        )
    from google.colab import drive  # type: ignore[import-not-found]

    drive.mount("/content/drive")
    path = Path("/content/drive/MyDrive") / subfolder
    path.mkdir(parents=True, exist_ok=True)
    return path

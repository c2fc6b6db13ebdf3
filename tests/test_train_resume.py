"""Checkpoints: exact resume (same process and a fresh one), atomic writes, corrupted files."""

import os
import random
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from course_utils.train import CheckpointError, CheckpointWarning, fit
from course_utils.train import checkpoint as ck


class NoisyPoints(Dataset):
    """Fixed points plus fresh noise from the global torch RNG on every access (augmentation)."""

    def __init__(self, n: int = 28):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 6, generator=g)
        self.y = (self.x[:, 0] > 0).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i] + 0.1 * torch.randn(6), self.y[i]


class Stop(Exception):
    pass


def run(folder, epochs=3, stop_at=None, init_seed=0, resume=False, workers=0, **kwargs):
    """3 epochs x 7 batches with dropout, shuffling, noisy data, Adam and a per-batch schedule;
    checkpoints every 3 steps. ``stop_at=k`` dies during the k-th loss computation."""
    torch.manual_seed(init_seed)
    random.seed(init_seed)
    np.random.seed(init_seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.7)
    loader = DataLoader(NoisyPoints(), batch_size=4, shuffle=True, num_workers=workers)
    calls = [0]

    def loss_fn(out, y):
        calls[0] += 1
        if calls[0] == stop_at:
            raise Stop
        return nn.functional.cross_entropy(out, y)

    kwargs.setdefault("checkpoint_every", 3)
    kwargs.setdefault("checkpoint_unit", "step")
    history = fit(
        model,
        loss_fn,
        opt,
        loader,
        epochs=epochs,
        scheduler=sched,
        scheduler_step="batch",
        checkpoint_dir=folder,
        resume=resume,
        progress=False,
        device="cpu",
        **kwargs,
    )
    return model, history


def _same(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def _strip_time(history):
    return {k: v for k, v in history.items() if k != "time"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return run(tmp_path_factory.mktemp("uninterrupted"))


@pytest.mark.parametrize("stop_at", [4, 7, 8, 13, 19])
def test_resume_after_a_crash_is_exact(tmp_path, reference, stop_at):
    with pytest.raises(Stop):
        run(tmp_path, stop_at=stop_at)
    # a different initialisation and RNG state: everything must come from the checkpoint
    model, history = run(tmp_path, init_seed=123, resume=True)
    ref_model, ref_history = reference
    assert _same(model, ref_model)
    assert _strip_time(history) == _strip_time(ref_history)


def test_resume_with_worker_processes_is_exact(tmp_path):
    """Workers draw their seeds (and so the noise they add) from the epoch start's RNG."""
    reference, _ = run(tmp_path / "ref", workers=2)
    with pytest.raises(Stop):
        run(tmp_path / "ck", stop_at=11, workers=2)
    model, _ = run(tmp_path / "ck", init_seed=3, resume=True, workers=2)
    assert _same(model, reference)


def test_resume_in_a_fresh_process_is_exact(tmp_path, reference):
    folder, out = tmp_path / "ck", tmp_path / "final.pt"
    with pytest.raises(Stop):
        run(folder, stop_at=11)
    script = tmp_path / "job.py"
    script.write_text(
        "import sys, torch\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_train_resume import run\n"
        "# other seeds than the first run: the checkpoint must carry everything\n"
        "model, _ = run(sys.argv[1], init_seed=7, resume=True)\n"
        "torch.save(model.state_dict(), sys.argv[2])\n"
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, script, folder, out], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    state = torch.load(out)
    for key, value in reference[0].state_dict().items():
        assert torch.equal(state[key], value), key


def test_checkpoint_written_when_fit_returns_and_old_ones_pruned(tmp_path):
    run(tmp_path, epochs=1, checkpoint_every=100)  # only the final checkpoint
    assert [p.name for p in ck.list_checkpoints(tmp_path)] == ["ckpt-000000007.pt"]
    run(tmp_path, epochs=3, checkpoint_every=2, keep_checkpoints=2, resume=True)
    assert [p.name for p in ck.list_checkpoints(tmp_path)] == [
        "ckpt-000000020.pt",
        "ckpt-000000021.pt",
    ]
    state = ck.read_checkpoint(tmp_path / "ckpt-000000021.pt")
    assert (state["epoch"], state["step"], state["batch_in_epoch"]) == (3, 21, 0)
    assert state["history"]["epoch"] == [1, 2, 3]


def test_epoch_checkpoints_resume_exactly(tmp_path, reference):
    with pytest.raises(Stop):
        run(tmp_path, stop_at=16, checkpoint_unit="epoch", checkpoint_every=1)
    assert [p.name for p in ck.list_checkpoints(tmp_path)] == [
        "ckpt-000000007.pt",
        "ckpt-000000014.pt",
    ]
    model, _ = run(tmp_path, init_seed=5, resume=True, checkpoint_unit="epoch", checkpoint_every=1)
    assert _same(model, reference[0])


def test_truncated_latest_checkpoint_falls_back_to_the_previous(tmp_path, reference):
    with pytest.raises(Stop):
        run(tmp_path, stop_at=14)  # checkpoints at steps 3, 6, 9, 12 (3 kept)
    latest = ck.list_checkpoints(tmp_path)[-1]
    assert latest.name == "ckpt-000000012.pt"
    latest.write_bytes(latest.read_bytes()[:200])
    with pytest.warns(CheckpointWarning, match=r"ckpt-000000012\.pt is unreadable"):
        model, _ = run(tmp_path, init_seed=9, resume=True)
    assert _same(model, reference[0])


def test_no_readable_checkpoint_is_an_error_naming_the_files(tmp_path):
    for step in (3, 6):
        ck.checkpoint_path(tmp_path, step).write_bytes(b"not a checkpoint")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CheckpointWarning)
        with pytest.raises(CheckpointError, match=r"ckpt-000000003\.pt.*resume=False"):
            run(tmp_path, resume=True)


def test_resume_without_checkpoints_starts_fresh(tmp_path, reference, capsys):
    model, _ = run(tmp_path / "empty", resume=True)
    assert _same(model, reference[0])
    assert "starting from scratch" in capsys.readouterr().out


def test_checkpoint_of_another_model_is_refused(tmp_path):
    run(tmp_path, epochs=1)
    model = nn.Linear(6, 2)
    loader = DataLoader(NoisyPoints(), batch_size=4)
    with pytest.raises(CheckpointError, match="different model"):
        fit(
            model,
            nn.CrossEntropyLoss(),
            torch.optim.SGD(model.parameters(), lr=0.1),
            loader,
            epochs=2,
            checkpoint_dir=tmp_path,
            resume=True,
            progress=False,
        )


def test_failed_write_leaves_previous_checkpoints_and_no_temp_file(tmp_path, monkeypatch):
    good = ck.save_checkpoint({"step": 1, "x": torch.ones(3)}, tmp_path)

    def broken_save(obj, f):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(ck.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        ck.save_checkpoint({"step": 2}, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [good.name]


def test_final_checkpoint_describes_the_finished_run(tmp_path):
    """The last step checkpoint (step 21) lands on the last batch: the one written when fit
    returns must still hold epoch 3's end, and resuming from it must not redo that end."""
    _, history = run(tmp_path)  # 3 epochs x 7 batches, a checkpoint every 3 steps
    state = ck.read_checkpoint(ck.list_checkpoints(tmp_path)[-1])
    assert (state["epoch"], state["step"], state["batch_in_epoch"]) == (3, 21, 0)
    assert state["history"] == dict(history)
    assert state["scheduler"]["last_epoch"] == 21

    reference_model, reference_history = run(tmp_path / "uninterrupted", epochs=5)
    model, resumed = run(tmp_path, epochs=5, init_seed=4, resume=True)
    assert _same(model, reference_model)
    assert _strip_time(resumed) == _strip_time(reference_history)
    assert resumed["epoch"] == [1, 2, 3, 4, 5]

"""Checkpoints: exact resume (same process and a fresh one), atomic writes, corrupted files."""

import os
import random
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from course_utils.train import CheckpointError, CheckpointWarning, fit, make_loader
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


def run(
    folder,
    epochs=3,
    stop_at=None,
    init_seed=0,
    resume=False,
    workers=0,
    batch_size=4,
    optimizer="adam",
    scheduler="step",
    loader="DataLoader",
    **kwargs,
):
    """3 epochs x 7 batches with dropout, shuffling, noisy data, Adam and a per-batch schedule;
    checkpoints every 3 steps. ``stop_at=k`` dies during the k-th loss computation.
    ``loader="make_loader"`` loads through the course's `make_loader` instead."""
    torch.manual_seed(init_seed)
    random.seed(init_seed)
    np.random.seed(init_seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
    if optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    sched = {
        "step": lambda: torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.7),
        "exponential": lambda: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9),
        None: lambda: None,
    }[scheduler]()
    if loader == "make_loader":
        loader = make_loader(NoisyPoints(), batch_size, device="cpu", num_workers=workers)
    else:
        loader = DataLoader(NoisyPoints(), batch_size, shuffle=True, num_workers=workers)
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


def _resume_in_a_fresh_process(tmp_path, folder, **kwargs) -> dict:
    """The final weights of ``run(folder, resume=True, **kwargs)`` in a new interpreter."""
    out = tmp_path / "final.pt"
    script = tmp_path / "job.py"
    script.write_text(
        "import sys, torch\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_train_resume import run\n"
        "# other seeds than the first run: the checkpoint must carry everything\n"
        f"model, _ = run(sys.argv[1], init_seed=7, resume=True, **{kwargs!r})\n"
        "torch.save(model.state_dict(), sys.argv[2])\n"
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, script, folder, out], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return torch.load(out)


def test_resume_in_a_fresh_process_is_exact(tmp_path, reference):
    folder = tmp_path / "ck"
    with pytest.raises(Stop):
        run(folder, stop_at=11)
    state = _resume_in_a_fresh_process(tmp_path, folder)
    for key, value in reference[0].state_dict().items():
        assert torch.equal(state[key], value), key


def test_make_loader_with_workers_resumes_exactly_in_a_fresh_process(tmp_path):
    """The course's own loader with worker processes: each epoch's workers are seeded from the
    checkpointed RNG, so a crash in epoch 2 resumes to the uninterrupted weights."""
    options = {"loader": "make_loader", "workers": 2}
    reference, _ = run(tmp_path / "ref", **options)
    with pytest.raises(Stop):
        run(tmp_path / "ck", stop_at=11, **options)
    state = _resume_in_a_fresh_process(tmp_path, tmp_path / "ck", **options)
    for key, value in reference.state_dict().items():
        assert torch.equal(state[key], value), key


def test_persistent_workers_and_checkpoints_warn_that_resume_is_not_exact(tmp_path):
    model = nn.Linear(6, 2)
    loader = DataLoader(NoisyPoints(8), batch_size=4, num_workers=1, persistent_workers=True)
    with pytest.warns(UserWarning, match="persistent_workers=True"):
        fit(
            model,
            nn.CrossEntropyLoss(),
            torch.optim.SGD(model.parameters(), lr=0.1),
            loader,
            epochs=1,
            checkpoint_dir=tmp_path,
            progress=False,
        )


def test_a_new_run_into_a_folder_of_an_earlier_run_is_refused(tmp_path, reference):
    with pytest.raises(Stop):
        run(tmp_path, stop_at=11)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    with pytest.raises(CheckpointError) as error:
        run(tmp_path, init_seed=1)  # resume=False: a new experiment, same folder
    message = str(error.value)
    assert str(tmp_path) in message and "ckpt-000000009.pt" in message
    assert "resume=True" in message and "another checkpoint_dir" in message
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before, "files touched"
    # way out 1: continue the earlier run
    model, _ = run(tmp_path, init_seed=2, resume=True)
    assert _same(model, reference[0])
    # way out 2: the new experiment in a folder of its own
    model, _ = run(tmp_path / "run2")
    assert _same(model, reference[0])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"batch_size": 7}, "batches per epoch: 7 in the checkpoint, 4 now; batch size: 4 in"),
        ({"optimizer": "sgd"}, "optimizer: Adam in the checkpoint, SGD now"),
        ({"scheduler": "exponential"}, "scheduler: StepLR in the checkpoint, ExponentialLR now"),
        ({"scheduler": None}, "scheduler: StepLR in the checkpoint, None now"),
    ],
)
def test_a_checkpoint_that_does_not_fit_says_what_differs(tmp_path, change, message):
    with pytest.raises(Stop):
        run(tmp_path, stop_at=11)
    with pytest.raises(CheckpointError, match=re.escape(message)):
        run(tmp_path, resume=True, **change)


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
    before = model.weight.clone()
    loader = DataLoader(NoisyPoints(), batch_size=4)
    with pytest.raises(CheckpointError, match=r"different model \(it lacks \['weight', 'bias'\]"):
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
    assert torch.equal(model.weight, before), "a refused checkpoint must leave the model alone"


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

"""DDP through torchrun on CPU (gloo, 2 processes) matches one process with the same global batch."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from course_utils.train import fit
from course_utils.train.checkpoint import list_checkpoints, read_checkpoint

GLOBAL_BATCH = 8


def dataset():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 5, generator=g)
    return TensorDataset(x, (x[:, 0] - x[:, 2] > 0).long())


def train(folder, loader, val_loader, resume=False):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 12), nn.Tanh(), nn.Linear(12, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        loader,
        epochs=3,
        val_loader=val_loader,
        checkpoint_dir=folder,
        resume=resume,
        progress=False,
        device="cpu",
        seed=5,
    )
    return model, history


def main(root: str) -> None:
    """One rank of the torchrun job: each process loads GLOBAL_BATCH / 2 samples per step."""
    data = dataset()
    val = DataLoader(data, batch_size=16)
    for shuffle in (False, True):
        loader = DataLoader(data, batch_size=GLOBAL_BATCH // 2, shuffle=shuffle)
        train(Path(root) / f"shuffle{int(shuffle)}", loader, val)
    resume_finished_run(Path(root), val)


def resume_finished_run(root: Path, val: DataLoader) -> None:
    """Every rank resumes the finished run (nothing left to train) from a folder whose newest
    file is corrupt: the fallback warning and the "resuming" line must come from rank 0 only."""
    folder = root / "resume"
    if dist.get_rank() == 0:
        folder.mkdir()
        shutil.copy(list_checkpoints(root / "shuffle0")[-1], folder)
        (folder / "ckpt-000000099.pt").write_bytes(b"truncated")
    dist.barrier()  # the group fit joined in the first run
    train(folder, DataLoader(dataset(), batch_size=GLOBAL_BATCH // 2), val, resume=True)


SCRIPT = f"""
import atexit, os, sys, warnings
import torch.distributed as dist
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_train_ddp import main
from course_utils.train import CheckpointWarning

warnings.simplefilter("always", CheckpointWarning)  # shown despite PYTHONWARNINGS=ignore

def report_group_left():  # registered first, so it runs after fit's own exit handler
    with open(os.path.join(sys.argv[1], "left-" + os.environ["RANK"]), "w") as f:
        f.write(str(not dist.is_initialized()))

atexit.register(report_group_left)
main(sys.argv[1])
"""


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    script = root / "job.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(script),
        str(root),
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    (root / "output.txt").write_bytes(done.stdout + done.stderr)  # both ranks' output
    return root


def test_script_leaves_the_process_group_at_exit(ddp_run):
    """Without destroy_process_group gloo threads outlive the interpreter and may abort it."""
    assert [(ddp_run / f"left-{rank}").read_text() for rank in (0, 1)] == ["True", "True"]


def test_only_rank_zero_reports_the_resume(ddp_run):
    output = (ddp_run / "output.txt").read_text()
    assert output.count("resuming from ckpt-000000015.pt") == 1, output
    assert output.count("ckpt-000000099.pt is unreadable") == 1, output


@pytest.mark.parametrize("shuffle", [False, True])
def test_two_gloo_processes_match_one_process(ddp_run, tmp_path, shuffle):
    data = dataset()
    if shuffle:  # the same epoch permutations as the job's DistributedSampler(seed=5)
        sampler = DistributedSampler(data, num_replicas=1, rank=0, shuffle=True, seed=5)
        loader = DataLoader(data, batch_size=GLOBAL_BATCH, sampler=sampler)
    else:
        loader = DataLoader(data, batch_size=GLOBAL_BATCH)
    model, history = train(tmp_path, loader, DataLoader(data, batch_size=16))

    folder = ddp_run / f"shuffle{int(shuffle)}"
    files = list_checkpoints(folder)
    assert [p.name for p in files] == [f"ckpt-{s:09d}.pt" for s in (5, 10, 15)]  # one per epoch
    assert sorted(folder.iterdir()) == files, "no temporary files left behind"
    state = read_checkpoint(files[-1])
    assert (
        state["step"] == 3 * 5 and len(state["rng"]) == 2
    )  # 40 samples / 8 per step; RNG per rank
    for key, value in model.state_dict().items():
        torch.testing.assert_close(state["model"][key], value, rtol=1e-5, atol=1e-6)
    for key in ("train_loss", "val_loss"):
        assert state["history"][key] == pytest.approx(history[key], rel=1e-5)

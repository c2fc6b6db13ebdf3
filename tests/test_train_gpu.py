"""GPU smoke test of fit's CUDA branches: bfloat16 and float16 (+ GradScaler) autocast,
channels-last, pinned loaders, loss dicts and an exact-resume round trip on the device.

Skipped without CUDA. On any CUDA machine (Colab: Runtime > Change runtime type > GPU):

    COURSE_FAST=1 python -m pytest -p no:cacheprovider -n 0 tests/test_train_gpu.py -v

The CPU tests (`test_train_cuda_choices.py`) check what fit decides; these check that the
decided code paths actually run and learn on a GPU.
"""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils.train import cuda_choices, fit
from course_utils.train import loop as fit_loop

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _images(n=64, seed=0):
    """Bright-centre vs dark-centre 16x16 images: a conv net learns it in a few epochs."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, 16, 16, generator=g)
    y = torch.arange(n) % 2
    x[y == 1, :, 4:12, 4:12] += 1.0
    return TensorDataset(x, y)


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 2),
    )


def _fit(model, *, bf16=True, monkeypatch=None, **kwargs):
    """fit on the GPU, recording the autocast dtype and whether a live GradScaler was used."""
    seen = {}
    if not bf16:  # the float16 branch (pre-Ampere GPUs such as Colab's T4) on any GPU
        monkeypatch.setattr(cuda_choices, "bf16_supported", lambda device: False)
    original_scaler = fit_loop.grad_scaler

    def spy_scaler(enabled):
        scaler = original_scaler(enabled)
        seen["scaler"] = scaler
        return scaler

    if monkeypatch is not None:
        monkeypatch.setattr(fit_loop, "grad_scaler", spy_scaler)
    loader = DataLoader(_images(), batch_size=16, shuffle=True)
    val = DataLoader(_images(32, seed=1), batch_size=16)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        loader,
        epochs=4,
        val_loader=val,
        device="cuda",
        progress=False,
        **kwargs,
    )
    return history, seen


@pytest.mark.parametrize("bf16", [True, False], ids=["bf16", "fp16+GradScaler"])
def test_amp_trains_in_both_precisions(monkeypatch, bf16):
    if bf16 and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16")
    model = _net()
    history, seen = _fit(model, bf16=bf16, monkeypatch=monkeypatch)
    assert seen["scaler"].is_enabled() is (not bf16)
    if not bf16:
        assert seen["scaler"].get_scale() > 0, "the float16 scale collapsed"
    assert all(p.dtype == torch.float32 for p in model.parameters()), "weights stay float32"
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["val_loss"][-1] < 0.69, history  # better than chance (ln 2)


def test_amp_off_and_channels_last_match_a_float32_reference(monkeypatch):
    reference = _net()
    _fit(reference, amp=False, channels_last=False)
    model = _net()
    _fit(model, amp=False, channels_last=True)
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-3)


def test_loss_dicts_and_pinned_loaders_on_the_gpu():
    model = _net()
    loader = DataLoader(_images(), batch_size=16)

    def two_terms(out, y):
        return {"ce": nn.functional.cross_entropy(out, y), "l2": 1e-3 * out.pow(2).mean()}

    history = fit(
        model,
        two_terms,
        torch.optim.SGD(model.parameters(), lr=0.1),
        loader,
        epochs=2,
        val_loader=loader,
        device="cuda",
        progress=False,
    )
    assert {"train_ce", "train_l2", "val_ce", "val_l2"} <= set(history)


def test_resume_on_the_gpu_restores_cuda_rng_and_scaler(tmp_path, monkeypatch):
    class Stop(Exception):
        pass

    def run(folder, stop_at=None, resume=False):
        model = _net()
        calls = [0]

        def loss_fn(out, y):
            calls[0] += 1
            if calls[0] == stop_at:
                raise Stop
            # dropout on the GPU draws from the CUDA RNG, which the checkpoint must restore
            return nn.functional.cross_entropy(nn.functional.dropout(out, 0.2), y)

        monkeypatch.setattr(cuda_choices, "bf16_supported", lambda device: False)
        fit(
            model,
            loss_fn,
            torch.optim.SGD(model.parameters(), lr=0.05),
            DataLoader(_images(), batch_size=16, shuffle=True),
            epochs=3,
            device="cuda",
            checkpoint_dir=folder,
            checkpoint_unit="step",
            checkpoint_every=3,
            resume=resume,
            progress=False,
            amp=True,
        )
        return model

    torch.manual_seed(0)
    reference = run(tmp_path / "ref")
    torch.manual_seed(0)
    with pytest.raises(Stop):
        run(tmp_path / "ck", stop_at=7)
    torch.manual_seed(99)
    resumed = run(tmp_path / "ck", resume=True)
    for a, b in zip(resumed.state_dict().values(), reference.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)  # cuDNN may pick other kernels

"""fit: the same updates as a hand-written loop, schedules, clipping, NaN stops, progress."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils.train import History, accuracy, evaluate, fit, make_loader


def _data(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return TensorDataset(x, y)


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 2))


def _bare_loop(model, loader, epochs, lr, clip=None, gamma=1.0):
    """Reference: the textbook PyTorch loop, per-batch exponential LR decay."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        for x, y in loader:
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            if clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            sched.step()
    return model


def _sgd_fit(model, loader, **kwargs):
    """fit with cross-entropy, plain SGD (lr 0.1) and no progress bars unless asked."""
    kwargs.setdefault("progress", False)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return fit(model, nn.CrossEntropyLoss(), opt, loader, **kwargs)


@pytest.mark.parametrize("clip", [None, 0.05])
def test_fit_matches_the_bare_loop_exactly(clip):
    loader = DataLoader(_data(), batch_size=8, shuffle=False)
    expected = _bare_loop(_model(), loader, epochs=3, lr=0.1, clip=clip, gamma=0.95)
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.95)
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        loader,
        epochs=3,
        scheduler=sched,
        scheduler_step="batch",
        grad_clip=clip,
        device="cpu",
        progress=False,
    )
    for a, b in zip(model.parameters(), expected.parameters()):
        assert torch.equal(a, b)
    assert isinstance(history, History) and history["epoch"] == [1, 2, 3]
    # lr recorded at the end of each epoch: 6 batch steps per epoch
    assert history["lr"] == pytest.approx([0.1 * 0.95**6, 0.1 * 0.95**12, 0.1 * 0.95**18])


def test_history_losses_and_metrics_match_an_independent_evaluation():
    train = DataLoader(_data(64), batch_size=16, shuffle=True)
    val = DataLoader(_data(40, seed=1), batch_size=16)
    model = _model()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        train,
        epochs=4,
        val_loader=val,
        metrics={"accuracy": accuracy},
        scheduler=sched,
        progress=False,
    )
    assert history["lr"] == pytest.approx([0.05, 0.05, 0.005, 0.005])
    x, y = val.dataset.tensors
    with torch.no_grad():
        logits = model(x)
    assert history["val_loss"][-1] == pytest.approx(
        nn.functional.cross_entropy(logits, y).item(), rel=1e-5
    )
    assert history["val_accuracy"][-1] == pytest.approx(
        (logits.argmax(1) == y).float().mean().item()
    )
    assert history["val_accuracy"][-1] > 0.8, "a linearly separable problem must be learned"
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history.best("val_accuracy", "max")[1] == max(history["val_accuracy"])
    assert evaluate(model, val, nn.CrossEntropyLoss())["loss"] == pytest.approx(
        history["val_loss"][-1]
    )


def test_reduce_on_plateau_gets_the_validation_loss():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=1e-6)  # too small to improve the loss
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    loader = DataLoader(_data(16), batch_size=8)
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        loader,
        epochs=3,
        val_loader=loader,
        scheduler=sched,
        progress=False,
    )
    assert sched.best == history["val_loss"][0]  # the scheduler saw the validation loss
    assert opt.param_groups[0]["lr"] == pytest.approx(0.25e-6)  # halved after epochs 2 and 3


def test_nan_loss_stops_and_names_the_step():
    x = torch.randn(32, 6)
    x[21] = float("nan")  # sample 21 is in batch 3 (batch size 8, no shuffle)
    loader = DataLoader(TensorDataset(x, torch.zeros(32, dtype=torch.long)), batch_size=8)
    model = _model()
    with pytest.raises(FloatingPointError, match=r"at step 3 \(epoch 1, batch 3\)"):
        _sgd_fit(model, loader, epochs=2)
    assert all(torch.isfinite(p).all() for p in model.parameters()), "the NaN step was applied"


def test_model_computing_its_own_losses():
    class Detector(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))

        def forward(self, x, targets):
            return {"a": (self.w * x.sum() - 1) ** 2, "b": self.w.abs()}

    model = Detector()
    loader = DataLoader(TensorDataset(torch.ones(4, 1), torch.zeros(4)), batch_size=4)
    history = fit(
        model, None, torch.optim.SGD(model.parameters(), lr=0.01), loader, epochs=1, progress=False
    )
    # loss = (4w - 1)^2 + |w| at w = 1: 9 + 1; gradient 8 * 3 + 1 = 25
    assert history["train_loss"] == [10.0]
    assert model.w.item() == pytest.approx(1 - 0.01 * 25)


def test_progress_bars_go_to_stderr_and_can_be_switched_off(capsys):
    loader = DataLoader(_data(16), batch_size=8)
    model = _model()
    _sgd_fit(model, loader, epochs=2)
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""
    _sgd_fit(model, loader, epochs=2, progress=True)
    err = capsys.readouterr().err
    assert "epochs" in err and "2/2" in err and "loss=" in err


def test_live_plot_leaves_no_open_figures(monkeypatch):
    from course_utils.viz import curves

    seen = []
    original = curves.LivePlot.update
    monkeypatch.setattr(
        curves.LivePlot, "update", lambda self, h: seen.append(len(h["epoch"])) or original(self, h)
    )
    model = _model()
    loader = DataLoader(_data(16), batch_size=8)
    _sgd_fit(model, loader, epochs=3, live_plot=True)
    assert seen == [1, 2, 3] and not plt.get_fignums()


def test_bad_arguments_are_explained():
    model, loader = _model(), DataLoader(_data(16), batch_size=8)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="checkpoint_dir"):
        fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=1, resume=True)
    with pytest.raises(ValueError, match="scheduler_step"):
        fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=1, scheduler_step="step")
    bad = DataLoader(TensorDataset(torch.zeros(4, 6)), batch_size=2)
    with pytest.raises(TypeError, match=r"\(inputs, targets\)"):
        fit(model, nn.CrossEntropyLoss(), opt, bad, epochs=1, progress=False)


def test_make_loader_seeded_shuffle_is_repeatable():
    a = [y.tolist() for _, y in make_loader(_data(), 8, seed=3, device="cpu")]
    b = [y.tolist() for _, y in make_loader(_data(), 8, seed=3, device="cpu")]
    assert a == b and not make_loader(_data(), 8, device="cpu").pin_memory


def test_channels_last_on_cpu_gives_the_same_result():
    torch.manual_seed(0)
    x, y = torch.rand(16, 3, 8, 8), torch.randint(0, 2, (16,))
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    results = []
    for cl in (False, True):
        torch.manual_seed(1)
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 2))
        _sgd_fit(model, loader, epochs=2, channels_last=cl, device="cpu")
        results.append(model)
    assert results[1][0].weight.is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(results[0].parameters(), results[1].parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_amp_request_on_cpu_warns_and_trains_in_float32():
    model, loader = _model(), DataLoader(_data(16), batch_size=8)
    with pytest.warns(UserWarning, match="only used on CUDA"):
        _sgd_fit(model, loader, epochs=1, amp=True, device="cpu")
    assert model[0].weight.dtype == torch.float32


def test_history_rows_stay_aligned():
    h = History()
    h.append({"epoch": 1, "train_loss": 0.5})
    h.append({"epoch": 2, "train_loss": 0.4, "val_loss": 0.6})
    assert (
        h["train_loss"] == [0.5, 0.4]
        and h["val_loss"][1] == 0.6
        and h["val_loss"][0] != h["val_loss"][0]
    )
    assert h.best("train_loss") == (2, 0.4) and h.last("val_loss") == 0.6
    with pytest.raises(KeyError, match="val_accuracy"):
        h.last("val_accuracy")

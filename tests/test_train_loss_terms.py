"""fit with a loss made of named terms, and with models that compute their own losses
(torchvision detectors): the same updates as a bare loop, each term logged."""

import matplotlib

matplotlib.use("Agg")

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils.train import History, evaluate, fit
from course_utils.train.batches import loss_mode


def _data(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    y = torch.stack([(x[:, 0] > 0).float(), x[:, 1] - x[:, 2]], 1)  # a class bit and a value
    return TensorDataset(x, y)


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 2))


def two_terms(out, y):
    """A detector-style loss: a classification term and a regression term."""
    return {
        "cls": nn.functional.binary_cross_entropy_with_logits(out[:, 0], y[:, 0]),
        "box": 0.5 * nn.functional.smooth_l1_loss(out[:, 1], y[:, 1]),
    }


def _bare_loop(model, loader, epochs, lr):
    """Reference: the textbook loop on the summed terms, recording each term per epoch."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    record = {"train_loss": [], "train_cls": [], "train_box": []}
    for _ in range(epochs):
        sums, count = {k: 0.0 for k in record}, 0
        for x, y in loader:
            out = model(x)
            cls = nn.functional.binary_cross_entropy_with_logits(out[:, 0], y[:, 0])
            box = 0.5 * nn.functional.smooth_l1_loss(out[:, 1], y[:, 1])
            loss = cls + box
            opt.zero_grad()
            loss.backward()
            opt.step()
            for k, v in (("train_loss", loss), ("train_cls", cls), ("train_box", box)):
                sums[k] += v.item() * len(x)
            count += len(x)
        for k in record:
            record[k].append(sums[k] / count)
    return record


def test_loss_terms_train_like_the_bare_loop_and_are_each_logged():
    loader = DataLoader(_data(), batch_size=8, shuffle=False)
    val = DataLoader(_data(24, seed=1), batch_size=10)
    reference = _model()
    expected = _bare_loop(reference, loader, epochs=3, lr=0.05)
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = fit(
        model, two_terms, opt, loader, epochs=3, val_loader=val, device="cpu", progress=False
    )
    for a, b in zip(model.parameters(), reference.parameters()):
        assert torch.equal(a, b)
    for key, values in expected.items():
        assert history[key] == pytest.approx(values, rel=1e-6), key
    # the terms add up to the total, epoch by epoch
    assert [c + b for c, b in zip(history["train_cls"], history["train_box"])] == pytest.approx(
        history["train_loss"], rel=1e-6
    )
    # validation terms of the final model, computed independently on the whole set
    x, y = val.dataset.tensors
    with torch.no_grad():
        out = model(x)
    cls = nn.functional.binary_cross_entropy_with_logits(out[:, 0], y[:, 0]).item()
    box = 0.5 * nn.functional.smooth_l1_loss(out[:, 1], y[:, 1]).item()
    assert history.last("val_cls") == pytest.approx(cls, rel=1e-5)
    assert history.last("val_box") == pytest.approx(box, rel=1e-5)
    assert history.last("val_loss") == pytest.approx(cls + box, rel=1e-5)
    assert evaluate(model, val, two_terms) == pytest.approx(
        {"loss": cls + box, "cls": cls, "box": box}, rel=1e-5
    )


def test_loss_terms_reach_the_progress_bar_and_the_live_plot(capsys, monkeypatch):
    from course_utils.viz import curves

    panels = []
    original = curves.LivePlot.update

    def spy(self, history):
        fig = original(self, history)
        panels.append([ax.get_title() for ax in self.axes])
        return fig

    monkeypatch.setattr(curves.LivePlot, "update", spy)
    model = _model()
    loader = DataLoader(_data(16), batch_size=8)
    fit(
        model,
        two_terms,
        torch.optim.SGD(model.parameters(), lr=0.05),
        loader,
        epochs=2,
        val_loader=loader,
        device="cpu",
        live_plot=True,
    )
    err = capsys.readouterr().err
    assert "cls=" in err and "box=" in err and "loss=" in err
    assert panels[-1] == ["loss", "cls", "box", "lr"]


def test_badly_named_or_shaped_terms_are_explained():
    model, loader = _model(), DataLoader(_data(16), batch_size=8)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    cases = [
        (lambda out, y: {"loss": out.sum()}, ValueError, "other than 'loss'"),
        (lambda out, y: {"cls": out.sum(1)}, TypeError, "'cls' must be a scalar tensor"),
        (lambda out, y: {}, ValueError, "empty dict"),
    ]
    for loss_fn, error, message in cases:
        with pytest.raises(error, match=message):
            fit(model, loss_fn, opt, loader, epochs=1, device="cpu", progress=False)
    with pytest.raises(ValueError, match="metric 'cls' has the name of a loss term"):
        evaluate(model, loader, two_terms, metrics={"cls": lambda out, y: 0.0})


def test_nan_in_one_term_is_named():
    model, loader = _model(), DataLoader(_data(16), batch_size=8)

    def broken(out, y):
        return {"cls": out.sum() * 0, "box": out.sum() * float("nan")}

    with pytest.raises(FloatingPointError, match=r"term 'box'\) at step 1"):
        fit(model, broken, torch.optim.SGD(model.parameters(), lr=0.1), loader, epochs=1)


class SelfLossNet(nn.Module):
    """A model that computes its own losses in training mode and predicts in eval mode, with a
    BatchNorm and a dropout layer (what validation must neither update nor apply)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5))
        self.head = nn.Linear(16, 2)

    def forward(self, x, targets=None):
        out = self.head(self.body(x))
        if not self.training:
            return out
        return two_terms(out, targets)


def test_models_computing_their_losses_validate_with_frozen_norm_and_dropout():
    train = DataLoader(_data(32), batch_size=8, shuffle=True)
    val = DataLoader(_data(24, seed=1), batch_size=12)
    model = SelfLossNet()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    history = fit(
        model,
        None,
        opt,
        train,
        epochs=2,
        val_loader=val,
        metrics={"sign_ok": lambda out, y: ((out[:, 0] > 0).float() == y[:, 0]).float().mean()},
        device="cpu",
        progress=False,
    )
    assert {"train_cls", "train_box", "val_loss", "val_cls", "val_box", "val_sign_ok"} <= set(
        history
    )
    # independently: the eval-mode network on the whole validation set
    x, y = val.dataset.tensors
    model.eval()
    with torch.no_grad():
        expected = {k: v.item() for k, v in two_terms(model(x), y).items()}
    assert history.last("val_cls") == pytest.approx(expected["cls"], rel=1e-5)
    assert history.last("val_box") == pytest.approx(expected["box"], rel=1e-5)
    # validating changed no BatchNorm statistics and left every module's mode as it was
    bn = model.body[1]
    stats = (bn.running_mean.clone(), bn.num_batches_tracked.clone())
    model.train()
    model.body[3].eval()
    again = evaluate(model, val, model_loss=True)
    assert torch.equal(bn.running_mean, stats[0]) and torch.equal(bn.num_batches_tracked, stats[1])
    assert again["cls"] == pytest.approx(history.last("val_cls"), rel=1e-5)
    with loss_mode(model):
        assert model.training and not bn.training and not model.body[3].training
    assert not model.training  # evaluate leaves the model in eval mode, as documented


def test_evaluation_leaves_the_callers_random_state_alone():
    torch.manual_seed(5)
    before = torch.get_rng_state()
    model = SelfLossNet()
    torch.set_rng_state(before)
    evaluate(model, DataLoader(_data(16), batch_size=8), model_loss=True)
    assert torch.equal(torch.get_rng_state(), before)


def _shapes_detection_loader(n=4, size=64):
    from course_utils.data import ShapesDetection, detection_collate

    def shift_labels(image, target):  # torchvision reserves label 0 for the background
        return image, {**target, "labels": target["labels"] + 1}

    data = ShapesDetection(n, image_size=size, max_objects=2, transforms=shift_labels)
    return DataLoader(data, batch_size=2, collate_fn=detection_collate)


def _detector():
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn

    torch.manual_seed(0)
    return fasterrcnn_mobilenet_v3_large_fpn(
        weights=None, weights_backbone=None, num_classes=6, min_size=64, max_size=64
    )


@pytest.fixture
def one_thread():
    """Convolution backward passes on two threads of a shared machine cost 5x more."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_a_torchvision_detector_trains_through_fit_like_the_bare_loop(one_thread):
    loader, val = _shapes_detection_loader(4), _shapes_detection_loader(2)
    reference = _detector()
    opt = torch.optim.SGD(reference.parameters(), lr=0.01, momentum=0.9)
    torch.manual_seed(1)  # the RPN and ROI heads sample proposals from the global RNG
    reference.train()
    expected = {}
    for images, targets in loader:
        losses = reference(images, targets)
        loss = sum(losses.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        for k, v in losses.items():
            expected[f"train_{k}"] = expected.get(f"train_{k}", 0.0) + v.item() / len(loader)

    model = _detector()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    torch.manual_seed(1)
    history = fit(model, None, opt, loader, epochs=1, val_loader=val, device="cpu", progress=False)
    for a, b in zip(model.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(a, b)
    for key, value in expected.items():
        assert history[key] == pytest.approx([value], rel=1e-5), key
    for name in ("loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"):
        assert math.isfinite(history.last(f"val_{name}"))
    # in eval mode the trained model predicts: a list of detections per image
    images, _ = next(iter(loader))
    model.eval()
    with torch.no_grad():
        detections = model(images)
    assert len(detections) == 2 and set(detections[0]) == {"boxes", "labels", "scores"}


def test_history_best_rejects_an_unknown_mode():
    h = History()
    h.append({"epoch": 1, "val_accuracy": 0.5})
    with pytest.raises(ValueError, match='"min" or "max", got \'maximum\''):
        h.best("val_accuracy", "maximum")

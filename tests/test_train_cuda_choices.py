"""fit's CUDA-only choices (AMP dtype, grad scaler, channels-last, cuDNN, pinned memory), tested
without a GPU: the decisions are pure functions, and loaders are rebuilt with everything kept."""

import dataclasses

import pytest
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, IterableDataset, TensorDataset

from course_utils.train import cuda_choices as cc
from course_utils.train import fit, move_to
from course_utils.train.loaders import make_loader, pinned, rebuild_loader

# Iterating a pinned loader on a machine without an accelerator warns and copies as usual.
no_accelerator_warning = pytest.mark.filterwarnings("ignore:.*pin_memory.*:UserWarning")


def _data(n=30):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    return TensorDataset(x, (x[:, 0] > 0).long())


def _collate(items):
    xs, ys = zip(*items)
    return torch.stack(xs), torch.stack(ys)


def _seed_worker(worker_id):
    pass


@pytest.mark.parametrize(
    ("device", "amp", "bf16", "dtype", "scaler"),
    [
        ("cuda", None, True, torch.bfloat16, False),
        ("cuda", True, True, torch.bfloat16, False),
        ("cuda", None, False, torch.float16, True),  # pre-Ampere GPUs (Colab's T4)
        ("cuda", False, True, None, False),
        ("cpu", None, False, None, False),
        ("cpu", True, True, None, False),  # amp only on CUDA
        ("mps", None, True, None, False),
    ],
)
def test_mixed_precision_dtype_and_grad_scaler(device, amp, bf16, dtype, scaler):
    choices = cc.choose(device, amp=amp, channels_last=None, bf16_supported=bf16)
    assert choices.amp_dtype == dtype and choices.grad_scaler is scaler


@pytest.mark.parametrize(
    ("device", "requested", "expected"),
    [("cuda", None, True), ("cuda", False, False), ("cpu", None, False), ("cpu", True, True)],
)
def test_channels_last_default_is_cuda_only(device, requested, expected):
    assert cc.choose(device, amp=None, channels_last=requested, bf16_supported=False) == (
        dataclasses.replace(
            cc.choose(device, amp=None, channels_last=None, bf16_supported=False),
            channels_last=expected,
        )
    )


def test_no_cudnn_autotuning_when_determinism_was_asked_for():
    assert cc.use_cudnn_benchmark("cuda") and not cc.use_cudnn_benchmark("cuda", deterministic=True)
    choices = cc.choose(
        "cuda", amp=None, channels_last=None, bf16_supported=True, deterministic=True
    )
    assert not choices.cudnn_benchmark and choices.pin_memory


@pytest.mark.parametrize("device", ["cuda", "cpu", "mps"])
def test_cudnn_benchmark_and_pinning_on_cuda_only(device):
    choices = cc.choose(device, amp=None, channels_last=None, bf16_supported=False)
    assert choices.cudnn_benchmark is choices.pin_memory is (device == "cuda")
    assert make_loader(_data(), 4, device=device).pin_memory is (device == "cuda")


@pytest.mark.parametrize("supported", [True, False])
def test_bf16_support_is_asked_of_torch_for_cuda_only(monkeypatch, supported):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: supported)
    assert cc.bf16_supported(torch.device("cuda", 0)) is supported
    assert cc.bf16_supported(torch.device("cpu")) is False


def test_only_4d_float_inputs_become_channels_last():
    images, masks, points = torch.rand(2, 3, 5, 5), torch.zeros(2, 1, 5, 5).long(), torch.rand(2, 3)
    moved = move_to({"x": [images, masks], "p": points}, torch.device("cpu"), channels_last=True)
    assert moved["x"][0].is_contiguous(memory_format=torch.channels_last)
    assert not moved["x"][0].is_contiguous()
    assert moved["x"][1].is_contiguous() and moved["p"] is points
    assert move_to(images, torch.device("cpu")).is_contiguous()


def test_rebuilt_loader_keeps_every_setting():
    generator = torch.Generator()
    loader = DataLoader(
        _data(),
        batch_size=4,
        shuffle=True,
        num_workers=2,
        collate_fn=_collate,
        drop_last=True,
        timeout=30,
        worker_init_fn=_seed_worker,
        generator=generator,
        prefetch_factor=3,
        persistent_workers=True,
    )
    copy = rebuild_loader(loader, pin_memory=True)
    assert copy is not loader and copy.pin_memory and not loader.pin_memory
    assert copy.sampler is loader.sampler and copy.generator is generator  # shared: one RNG
    for name in ("dataset", "batch_size", "drop_last", "collate_fn", "worker_init_fn"):
        assert getattr(copy, name) is getattr(loader, name), name
    for name in ("num_workers", "timeout", "prefetch_factor", "persistent_workers"):
        assert getattr(copy, name) == getattr(loader, name), name


def test_rebuilt_loader_draws_the_same_batches():
    def batches(make):
        torch.manual_seed(0)
        loader = make()
        return [y.tolist() for _, y in loader]

    def shuffled():
        return DataLoader(_data(), batch_size=4, shuffle=True, generator=torch.Generator())

    assert batches(shuffled) == batches(lambda: rebuild_loader(shuffled()))
    custom = BatchSampler(range(30), batch_size=7, drop_last=False)  # batch sizes 7,7,7,7,2
    copy = rebuild_loader(DataLoader(_data(), batch_sampler=custom))
    assert copy.batch_sampler is custom and [len(y) for _, y in copy] == [7, 7, 7, 7, 2]

    class Stream(IterableDataset):
        def __iter__(self):
            return iter(_data())

    assert [len(y) for _, y in rebuild_loader(DataLoader(Stream(), batch_size=8))] == [8] * 3 + [6]


def test_pinned_rebuilds_only_unpinned_plain_loaders():
    plain = DataLoader(_data(), batch_size=4)
    assert pinned(plain).pin_memory and pinned(plain).batch_size == 4
    already = DataLoader(_data(), batch_size=4, pin_memory=True)
    assert pinned(already) is already

    class Custom(DataLoader):  # may change iteration: not rebuilt as a plain DataLoader
        pass

    custom = Custom(_data(), batch_size=4)
    assert pinned(custom) is custom


def _fit(monkeypatch, pin: bool):
    """Train on the CPU; with ``pin`` the device choices say "pin" as they do on CUDA. Returns
    the model and the loaders fit iterated."""
    if pin:
        real = cc.choose
        monkeypatch.setattr(
            cc, "choose", lambda *a, **k: dataclasses.replace(real(*a, **k), pin_memory=True)
        )
    iterated = []
    real_iter = DataLoader.__iter__
    monkeypatch.setattr(
        DataLoader, "__iter__", lambda self: iterated.append(self) or real_iter(self)
    )
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 2))
    train = DataLoader(_data(), batch_size=4, shuffle=True, generator=torch.Generator())
    val = DataLoader(_data(12), batch_size=6)
    fit(
        model,
        nn.CrossEntropyLoss(),
        torch.optim.SGD(model.parameters(), lr=0.1),
        train,
        epochs=2,
        val_loader=val,
        device="cpu",
        progress=False,
    )
    monkeypatch.undo()
    return model, iterated, (train, val)


@no_accelerator_warning
def test_fit_trains_from_pinned_copies_of_unpinned_loaders(monkeypatch):
    reference, iterated, originals = _fit(monkeypatch, pin=False)
    assert {id(loader) for loader in iterated} == {id(loader) for loader in originals}
    model, iterated, originals = _fit(monkeypatch, pin=True)
    assert len(iterated) == 4 and all(loader.pin_memory for loader in iterated)  # 2 x train, val
    assert not any(loader in originals for loader in iterated)
    for a, b in zip(model.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(a, b)  # same shuffle, dropout and updates from the rebuilt loaders

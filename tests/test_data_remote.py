"""Real datasets: cached data loads without the network; offline fails fast and clearly."""

import pickle
import threading
import urllib.error

import numpy as np
import pytest
import torch
from torchvision import datasets
from torchvision.datasets import cifar as cifar_module

from course_utils.data import DatasetUnavailable, cifar10, remote


def _no_network(*_args, **_kwargs):
    raise AssertionError("the network must not be touched")


def test_offline_raises_quickly_and_names_the_alternative(tmp_path, monkeypatch):
    monkeypatch.setattr(remote, "host_reachable", lambda url, timeout=3.0: False)
    with pytest.raises(DatasetUnavailable, match="ShapesClassification") as info:
        cifar10(root=tmp_path)
    assert "unreachable" in str(info.value) and str(tmp_path) in str(info.value)
    assert isinstance(info.value, RuntimeError)


def test_download_false_and_empty_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(remote, "host_reachable", _no_network)
    with pytest.raises(DatasetUnavailable, match="download=True"):
        cifar10(root=tmp_path, download=False)


def test_failed_download_becomes_dataset_unavailable(tmp_path, monkeypatch):
    monkeypatch.setattr(remote, "host_reachable", lambda url, timeout=3.0: True)

    def broken_download(self):
        raise urllib.error.URLError("connection reset")

    monkeypatch.setattr(datasets.CIFAR10, "download", broken_download)
    with pytest.raises(DatasetUnavailable, match="connection reset"):
        cifar10(root=tmp_path)


def test_refused_connection_means_unreachable(monkeypatch):
    def refused(*args, **kwargs):
        raise ConnectionRefusedError("nothing listens there")

    monkeypatch.setattr(remote.socket, "create_connection", refused)
    assert remote.host_reachable("https://example.invalid/x", timeout=0.2) is False


def test_hanging_name_resolution_does_not_hang_the_check(monkeypatch):
    release = threading.Event()

    def stuck(*args, **kwargs):
        release.wait(30)  # a name lookup that never answers (until the test is over)
        raise OSError("lookup abandoned")

    monkeypatch.setattr(remote.socket, "create_connection", stuck)
    try:
        # Returning at all while the probe is still blocked is the point.
        assert remote.host_reachable("https://example.invalid/x", timeout=0.2) is False
    finally:
        release.set()


def test_cached_dataset_loads_without_network(tmp_path, monkeypatch):
    """A pre-populated cache (torchvision's pickled batch layout) is used as is."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(4, 3 * 32 * 32), dtype=np.uint8)
    batch = {"data": pixels, "labels": [3, 1, 4, 1]}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, f)
    # the fake files cannot match the real MD5s; everything else is the real loading path
    monkeypatch.setattr(cifar_module, "check_integrity", lambda path, md5=None: True)
    monkeypatch.setattr(remote, "host_reachable", _no_network)
    ds = cifar10(train=False, root=tmp_path)
    assert len(ds) == 4
    image, label = ds[2]
    assert label == 4 and image.shape == (3, 32, 32) and image.dtype == torch.float32
    expected = torch.from_numpy(pixels[2].reshape(3, 32, 32)).float() / 255
    assert torch.allclose(image, expected)


def test_default_root_is_the_course_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    monkeypatch.setattr(remote, "host_reachable", lambda url, timeout=3.0: False)
    with pytest.raises(DatasetUnavailable, match=str(tmp_path / "cifar10")):
        cifar10()

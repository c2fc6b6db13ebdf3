"""Real datasets through torchvision: download once into the course cache, fail fast offline.

torchvision downloads and verifies the archives (MD5 checksums). What it does not do is notice
quickly that there is no network: a socket can wait for minutes. So before any download we
try a TCP connection to the host with a short timeout, and turn every network failure into
`DatasetUnavailable`, whose message names the offline Shapes dataset to use instead.
"""

from __future__ import annotations

import socket
import threading
import urllib.error
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from torch.utils.data import Dataset

from ..env import data_dir

CONNECT_TIMEOUT = 3.0  # seconds to wait for a TCP connection before calling a host unreachable
DOWNLOAD_TIMEOUT = 60.0  # seconds a stalled download socket may wait for data


class DatasetUnavailable(RuntimeError):
    """A real dataset is neither cached nor downloadable here (offline, or download failed)."""


def host_reachable(url: str, timeout: float = CONNECT_TIMEOUT) -> bool:
    """True when a TCP connection to ``url``'s host opens within about ``timeout`` seconds.

    The probe runs in a daemon thread because name resolution ignores socket timeouts: a
    broken DNS setup must not stall a notebook either.
    """
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    result: dict[str, bool] = {}

    def probe() -> None:
        try:
            with socket.create_connection((parsed.hostname, port), timeout=timeout):
                result["ok"] = True
        except Exception:  # any failure to connect (or to resolve the name) means unreachable
            result["ok"] = False

    thread = threading.Thread(target=probe, name="course-reachability", daemon=True)
    thread.start()
    thread.join(2 * timeout)  # resolution plus connection
    return result.get("ok", False)


@contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Bound every blocking socket call made by urllib inside the block."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def resolve_root(root: str | Path | None, name: str) -> Path:
    """``root`` or ``data_dir() / name``, created if needed."""
    path = Path(root).expanduser() if root is not None else data_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_or_download(
    make: Callable[[bool], Dataset],
    *,
    name: str,
    url: str,
    root: Path,
    download: bool,
    offline_alternative: str,
) -> Dataset:
    """Build a torchvision dataset from the cache, downloading it first only when needed.

    Args:
        make: ``make(download)`` constructs the torchvision dataset.
        name: human-readable name for messages ("CIFAR-10").
        url: the archive URL, used for the reachability check.
        root: cache folder.
        download: allow a download when the cache is empty.
        offline_alternative: what to use instead, e.g. ``"ShapesClassification(5000)"``.
    """
    try:
        return make(False)  # already cached and verified: no network at all
    except RuntimeError:
        pass
    instead = f"Offline, use course_utils.data.{offline_alternative} instead."
    if not download:
        raise DatasetUnavailable(
            f"{name} is not in {root}. Call with download=True where there is a network "
            f"(e.g. on Colab). {instead}"
        )
    host = urlparse(url).hostname
    if not host_reachable(url):
        raise DatasetUnavailable(
            f"Cannot download {name}: {host} is unreachable (no network?). Cache folder: "
            f"{root}. {instead}"
        )
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT):
            return make(True)
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        raise DatasetUnavailable(
            f"Downloading {name} from {host} into {root} failed ({type(exc).__name__}: {exc}). "
            f"Delete partial files there and retry. {instead}"
        ) from exc


CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


def cifar10(
    train: bool = True,
    root: str | Path | None = None,
    download: bool = True,
    transform: Callable | None = None,
) -> Dataset:
    """The CIFAR-10 dataset (50,000 train / 10,000 test images of 10 classes).

    Items are ``(image [3, 32, 32] float32 in [0, 1], label int)`` unless ``transform`` is
    given (it receives the PIL image). Cached under ``root`` (default
    ``course_utils.env.data_dir() / "cifar10"``); torchvision checks the MD5 checksum.

    Raises:
        DatasetUnavailable: not cached and not downloadable (offline: use
            ``ShapesClassification`` instead).
    """
    import torch
    from torchvision import datasets
    from torchvision.transforms import v2

    if transform is None:
        transform = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    folder = resolve_root(root, "cifar10")
    return load_or_download(
        lambda dl: datasets.CIFAR10(str(folder), train=train, transform=transform, download=dl),
        name="CIFAR-10",
        url=CIFAR10_URL,
        root=folder,
        download=download,
        offline_alternative="ShapesClassification(num_images, image_size=32)",
    )

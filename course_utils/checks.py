"""Assertion helpers for the visible checks under each exercise.

Each helper raises ``AssertionError`` with a message a student can act on: what was expected,
what came out, and where the two differ. They accept torch tensors, NumPy arrays and Python
numbers alike.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

ArrayLike = Any  # torch.Tensor | np.ndarray | float | Sequence[float]

_MISSING = object()


def _as_array(value: ArrayLike, name: str) -> np.ndarray:
    if value is None:
        raise AssertionError(f"{name} is None: did the function forget to `return` its result?")
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        if tensor.dtype in (torch.bfloat16, torch.float16):
            tensor = tensor.float()  # NumPy has no bfloat16
        return tensor.numpy()
    return np.asarray(value)


def _plain(value: Any) -> Any:
    """NumPy scalars print as ``np.float32(0.5)``; students should read ``0.5``."""
    return value.item() if isinstance(value, np.generic) else value


def rel_error(actual: ArrayLike, expected: ArrayLike, eps: float = 1e-8) -> float:
    """Largest relative error ``max |a - e| / max(eps, |a| + |e|)`` (CS231n's definition)."""
    a = _as_array(actual, "actual").astype(np.float64)
    e = _as_array(expected, "expected").astype(np.float64)
    if a.shape != e.shape:
        raise AssertionError(f"cannot compare shapes {a.shape} and {e.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - e) / np.maximum(eps, np.abs(a) + np.abs(e))))


def check_shape(value: ArrayLike, expected_shape: Sequence[int], name: str = "output") -> None:
    """Assert that ``value`` has ``expected_shape``; ``-1`` in the expected shape matches anything."""
    if value is None:
        raise AssertionError(f"{name} is None: did the function forget to `return` its result?")
    shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
    expected = tuple(expected_shape)
    ok = len(shape) == len(expected) and all(e == -1 or s == e for s, e in zip(shape, expected))
    if not ok:
        raise AssertionError(
            f"{name} has shape {tuple(shape)}, expected {expected}. "
            "Check which dimensions you reduce, reshape or transpose."
        )


def check_close(
    actual: ArrayLike,
    expected: ArrayLike,
    name: str = "output",
    atol: float = 1e-6,
    rtol: float = 1e-5,
    hint: str = "",
) -> None:
    """Assert ``actual`` matches ``expected`` elementwise (shape first, then values).

    The message gives the worst element: its index, both values, and the number of mismatches.
    """
    a_raw = actual
    if a_raw is None:
        raise AssertionError(f"{name} is None: did the function forget to `return` its result?")
    a = _as_array(actual, name)
    e = _as_array(expected, "expected")
    if a.shape != e.shape:
        raise AssertionError(
            f"{name} has shape {a.shape}, expected {e.shape}." + (f" {hint}" if hint else "")
        )
    if a.dtype == bool or e.dtype == bool:
        bad = a != e
        diff = bad.astype(np.float64)
    else:
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
        nan_mismatch = np.isnan(a64) != np.isnan(e64)
        diff = np.where(np.isnan(a64) & np.isnan(e64), 0.0, np.abs(a64 - e64))
        bad = (diff > atol + rtol * np.abs(e64)) | nan_mismatch
        diff = np.where(nan_mismatch, np.inf, diff)
    if bad.any():
        worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
        index = tuple(int(i) for i in worst)
        got = _plain(a[index] if index else a)
        want = _plain(e[index] if index else e)
        where = f" at index {index}" if index else ""
        raise AssertionError(
            f"{name} differs from the expected value: {int(bad.sum())} of {bad.size} elements "
            f"are off; the worst{where} is {got!r}, expected {want!r} "
            f"(tolerance atol={atol}, rtol={rtol})." + (f" {hint}" if hint else "")
        )


def check_equal(actual: Any, expected: Any, name: str = "output", hint: str = "") -> None:
    """Assert exact equality of plain values (ints, tuples, strings)."""
    if actual is None and expected is not None:
        raise AssertionError(f"{name} is None: did the function forget to `return` its result?")
    if actual != expected:
        raise AssertionError(
            f"{name} is {actual!r}, expected {expected!r}." + (f" {hint}" if hint else "")
        )


def _namespaces() -> list[dict[str, Any]]:
    """The global namespaces of every loaded module, and the one notebook cells run in.

    A module's ``__dict__`` is read with ``object.__getattribute__`` so that a lazy module
    (``importlib.util.LazyLoader``) is not loaded, and a module's own ``__getattr__`` never runs.
    """
    spaces: list[dict[str, Any]] = []
    seen: set[int] = set()

    def add(namespace: object) -> None:
        if type(namespace) is dict and id(namespace) not in seen:
            seen.add(id(namespace))
            spaces.append(namespace)

    for key, module in list(sys.modules.items()):
        # ``__main__`` may be a stand-in object (IPython's DummyMod) rather than a module
        if key == "__main__" or issubclass(type(module), types.ModuleType):
            try:
                add(object.__getattribute__(module, "__dict__"))
            except Exception:  # noqa: BLE001 - a module without a namespace has no aliases
                pass
    getipython = sys.modules.get("IPython.core.getipython")
    if getipython is not None:  # a notebook kernel: cells define names in the shell's user_ns
        try:
            shell = getipython.get_ipython()
            add(getattr(shell, "user_ns", None))
        except Exception:  # noqa: BLE001
            pass
    return spaces


def _rebind(
    spaces: list[dict[str, Any]], replacements: dict[int, tuple[Any, Any]]
) -> list[tuple[dict[str, Any], str, Any]]:
    """Bind ``new`` wherever a namespace binds ``old``, for each ``id(old): (old, new)``.

    Returns ``(namespace, name, old)`` for every binding replaced. The identity test first
    runs in C over each namespace's values (``isdisjoint``), so a namespace without a match
    costs one pass that calls no Python code.
    """
    replaced = []
    wanted = replacements.keys()
    for space in spaces:
        try:
            if wanted.isdisjoint(map(id, space.values())):
                continue
        except RuntimeError:  # changed size while being read (another thread importing)
            pass
        for name, value in list(space.items()):
            hit = replacements.get(id(value))
            if hit is not None and value is hit[0]:
                space[name] = hit[1]
                replaced.append((space, name, value))
    return replaced


@contextmanager
def forbidden(*targets: tuple[Any, str], reason: str) -> Iterator[None]:
    """Make library functions raise while an exercise runs, when they are its reference.

    Args:
        targets: ``(owner, attribute)`` pairs, e.g. ``(torch.nn.functional, "conv2d")``;
            each attribute is replaced by a function that raises ``AssertionError`` with
            ``reason`` and the name of what was called, and restored on exit (even on error).
        reason: what the student should do instead, e.g. "implement the loops yourself".

    Tests compute the reference first, then call the student's function inside
    ``with forbidden(...)``, so a submission that only wraps the reference cannot pass.

    Aliases are caught too: every other binding of a forbidden function (the same object)
    in a loaded module's globals or in the notebook's namespace (``__main__``) is replaced
    for the block, so ``from torchvision.ops import nms as n`` before the block, or a library
    that imported the function under its own name, raises the same error, naming the
    forbidden function. A forbidden function kept elsewhere (in a list, a default argument,
    a closure, a class) is not found; neither are classes, which are never searched for.
    Bindings made during the block (a module imported by the exercise) are restored on exit.
    """
    saved = []
    for owner, name in targets:
        try:  # the raw entry, so that a staticmethod or classmethod is restored as it was
            raw = vars(owner).get(name, _MISSING)
        except TypeError:  # no __dict__
            raw = _MISSING
        saved.append((owner, name, raw, getattr(owner, name)))

    def refusing(qualified: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError(f"{qualified} was called: {reason}")

        refuse.__qualname__ = refuse.__name__ = f"forbidden {qualified}"
        return refuse

    def qualified_name(owner: Any, name: str) -> str:
        return f"{getattr(owner, '__name__', type(owner).__name__)}.{name}"

    # One refusing stand-in per forbidden object for its aliases, named after its first target.
    aliases: dict[int, tuple[Any, Any]] = {}
    for owner, name, _, value in saved:
        if callable(value) and not isinstance(value, type) and id(value) not in aliases:
            aliases[id(value)] = (value, refusing(qualified_name(owner, name)))
    # every stand-in, and the object it replaces
    restore: dict[int, tuple[Any, Any]] = {id(new): (new, old) for old, new in aliases.values()}
    replaced: list[tuple[dict[str, Any], str, Any]] = []
    patched: list[tuple[Any, str, Any]] = []
    try:
        for owner, name, raw, value in saved:
            stand_in = refusing(qualified_name(owner, name))
            restore[id(stand_in)] = (stand_in, value)
            setattr(owner, name, stand_in)
            patched.append((owner, name, raw))
        replaced = _rebind(_namespaces(), aliases)
        yield
    finally:
        for space, name, original in reversed(replaced):
            space[name] = original
        for owner, name, raw in reversed(patched):
            if raw is _MISSING:  # inherited (a class attribute of a base): drop the shadow
                delattr(owner, name)
            else:
                setattr(owner, name, raw)
        # a module first imported inside the block may have bound a stand-in under its own name
        _rebind(_namespaces(), restore)


def numeric_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Centred finite-difference gradient of a scalar function ``f`` at ``x`` (any shape).

    ``x`` is perturbed in place one element at a time and restored afterwards.
    Returns an array of ``x``'s shape.
    """
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = float(f(x))
        x[i] = old - h
        minus = float(f(x))
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def numeric_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Finite-difference gradient of ``sum(f(x) * dout)`` with respect to ``x``.

    This is the gradient a backward pass receives when the upstream gradient is ``dout``.
    """
    return numeric_gradient(lambda v: float(np.sum(np.asarray(f(v)) * dout)), x, h)


def numeric_gradient_torch(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, dout: torch.Tensor, h: float = 1e-5
) -> torch.Tensor:
    """Finite-difference gradient of ``(f(x) * dout).sum()`` with respect to ``x``.

    ``f`` is called on float64 tensors (finite differences need the precision); the result has
    ``x``'s shape, in float64.
    """
    x64 = x.detach().double().cpu().numpy().copy()
    d64 = dout.detach().double().cpu().numpy()

    def scalar(v: np.ndarray) -> float:
        with torch.no_grad():
            out = f(torch.from_numpy(v))
        return float((out.detach().double().cpu().numpy() * d64).sum())

    return torch.from_numpy(numeric_gradient(scalar, x64, h))


def check_gradient(
    analytic: ArrayLike,
    numeric: ArrayLike,
    name: str = "gradient",
    tol: float = 1e-6,
) -> None:
    """Assert an analytic gradient matches a numeric one by relative error.

    Relative error below ``tol`` passes; the message tells how far off it was and what usually
    causes it (a missing term, a wrong transpose, a sum over the wrong axis).
    """
    err = rel_error(analytic, numeric)
    if not err < tol:
        raise AssertionError(
            f"{name}: relative error {err:.2e} against the numeric gradient (should be < {tol:.0e}). "
            "Look for a missing term, a sum over the wrong axis or a wrong transpose."
        )

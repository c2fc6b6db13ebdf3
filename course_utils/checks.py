"""Assertion helpers for the visible checks under each exercise.

Each helper raises ``AssertionError`` with a message a student can act on: what was expected,
what came out, and where the two differ. They accept torch tensors, NumPy arrays and Python
numbers alike.

The grading guard that makes reference functions raise while an exercise runs lives in
`course_utils.guard` (it patches modules; nothing here does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

ArrayLike = Any  # torch.Tensor | np.ndarray | float | Sequence[float]


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


def _comparable(actual: Any, expected: Any, name: str, hint: str) -> tuple[Any, Any]:
    """Plain values to compare when either side is a tensor or an array: one-element tensors
    against numbers become numbers, two arrays become nested lists (shape and values); a
    tensor against a tuple or list raises, saying what to compare instead."""
    arrays = torch.Tensor | np.ndarray
    if isinstance(actual, arrays) and isinstance(expected, arrays):
        return (tuple(actual.shape), actual.tolist()), (tuple(expected.shape), expected.tolist())
    tensor, other = (actual, expected) if isinstance(actual, arrays) else (expected, actual)
    size = int(np.prod(tensor.shape))
    if size == 1 and isinstance(other, int | float | bool):
        plain = tensor.item()
        return (plain, expected) if tensor is actual else (actual, plain)
    kind = "a tensor" if isinstance(tensor, torch.Tensor) else "an array"
    which = name if tensor is actual else "the expected value"
    raise AssertionError(
        f"{which} is {kind} of {size} elements (shape {tuple(tensor.shape)}), compared with the "
        f"plain value {other!r}. Compare plain values: tuple({name}.shape) for a shape, "
        f"{name}.item() for a single number, {name}.tolist() for a list."
        + (f" {hint}" if hint else "")
    )


def check_equal(actual: Any, expected: Any, name: str = "output", hint: str = "") -> None:
    """Assert exact equality of plain values (ints, tuples, strings)."""
    if actual is None and expected is not None:
        raise AssertionError(f"{name} is None: did the function forget to `return` its result?")
    arrays = torch.Tensor | np.ndarray
    if isinstance(actual, arrays) or isinstance(expected, arrays):
        # `tensor == tuple` compares element-wise (or fails): never fall through to `!=`
        actual, expected = _comparable(actual, expected, name, hint)
    if actual != expected:
        raise AssertionError(
            f"{name} is {actual!r}, expected {expected!r}." + (f" {hint}" if hint else "")
        )


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

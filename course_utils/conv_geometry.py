"""Convolution geometry: output sizes, drawing layouts and receptive-field regions.

Numbers only, no plotting: `course_utils.viz` draws from them and notebooks compute with them.

- `torch_output_size`: the spatial size PyTorch's ``conv2d`` / ``conv_transpose2d`` gives,
  from the op itself run on shape-only "meta" tensors.
- `stack_output_size`: the same through a stack of ``(kernel, stride, padding, dilation)``
  layers, naming the layer after which nothing is left of the map.
- `conv_layout` / `ConvLayout`: where every cell of a convolution-arithmetic drawing goes.
- `receptive_field_box`: the input region of one output unit from a ``(size, jump, start)``
  triple.

Coordinates: pixel ``i`` covers the continuous interval ``[i, i + 1)``; ``start`` is the
centre of the first output unit's receptive field in *pixel-index* units (pixel ``i`` has its
centre at index ``i``), as in the receptive-field recurrence of the course.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "ConvLayout",
    "conv_layout",
    "receptive_field_box",
    "stack_output_size",
    "torch_output_size",
]

Pair = tuple[float, float]


def as_pair(value: float | Sequence[float], name: str) -> Pair:
    """``v`` -> ``(v, v)``; ``(a, b)`` -> ``(a, b)`` (height first)."""
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value), float(value)
    values = tuple(float(v) for v in value)
    if len(values) != 2:
        raise ValueError(f"{name} must be a number or a (height, width) pair, got {value!r}")
    return values  # type: ignore[return-value]


def torch_output_size(
    n: int,
    k: int,
    padding: int = 0,
    stride: int = 1,
    dilation: int = 1,
    transposed: bool = False,
    output_padding: int = 0,
) -> int:
    """Spatial size PyTorch's ``conv2d`` / ``conv_transpose2d`` gives an ``n x n`` input.

    Runs the functional op on "meta" tensors (shapes only, no arithmetic), so it is instant
    for any size. Raises ValueError with PyTorch's reason when the configuration is invalid.
    """
    x = torch.empty(1, 1, n, n, device="meta")
    w = torch.empty(1, 1, k, k, device="meta")
    try:
        if transposed:
            y = F.conv_transpose2d(
                x,
                w,
                stride=stride,
                padding=padding,
                output_padding=output_padding,
                dilation=dilation,
            )
        else:
            y = F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
    except RuntimeError as exc:
        raise ValueError(f"PyTorch rejects this convolution: {exc}") from exc
    return int(y.shape[-1])


def stack_output_size(layers: Sequence[tuple[int, int, int, int]], side: int) -> int:
    """Spatial size after a stack of ``(kernel, stride, padding, dilation)`` layers applied to
    a ``side x side`` input (each layer as PyTorch computes it; pooling layers alike).

    Raises ValueError naming the layer after which nothing is left of the map.
    """
    for index, (k, s, p, d) in enumerate(layers, start=1):
        try:
            side = torch_output_size(side, k, padding=p, stride=s, dilation=d)
        except ValueError:
            raise ValueError(
                f"the map is empty after layer {index} of {len(layers)} (its input: {side}x{side})"
            ) from None
    return side


@dataclass(frozen=True)
class ConvLayout:
    """Where every cell of a drawing goes (one axis; the drawings are square).

    Attributes:
        grid: cells along one side of the drawn input (padding and inserted zeros included).
        data: indices (along one side) of the real input cells inside the drawn grid.
        pad_before: padding cells before the data (top/left); also after, unless cropped.
        step: how far the kernel moves per output cell on the drawn grid.
        span: extent of the dilated kernel, ``dilation * (k - 1) + 1``.
        n_out: output size (from PyTorch).
    """

    n: int
    k: int
    padding: int
    stride: int
    dilation: int
    transposed: bool
    output_padding: int
    grid: int
    data: tuple[int, ...]
    pad_before: int
    step: int
    span: int
    n_out: int

    def taps(self, position: int) -> list[tuple[int, int]]:
        """Grid cells ``(row, col)`` the kernel touches for flat output index ``position``."""
        row, col = divmod(position, self.n_out)
        r0, c0 = row * self.step, col * self.step
        offsets = [i * self.dilation for i in range(self.k)]
        return [(r0 + dr, c0 + dc) for dr in offsets for dc in offsets]


def conv_layout(
    n: int,
    k: int,
    padding: int = 0,
    stride: int = 1,
    dilation: int = 1,
    transposed: bool = False,
    output_padding: int = 0,
) -> ConvLayout:
    """Validate a configuration and lay it out on a grid (see `ConvLayout`)."""
    for name, value, low in (
        ("input size n", n, 1),
        ("kernel size k", k, 1),
        ("padding", padding, 0),
        ("stride", stride, 1),
        ("dilation", dilation, 1),
        ("output_padding", output_padding, 0),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if output_padding and not transposed:
        raise ValueError("output_padding only applies to transposed convolutions (transposed=True)")
    if output_padding >= max(stride, dilation):
        # PyTorch's rule (not checked on shape-only tensors): the extra rows must fit in a stride.
        raise ValueError(
            f"output_padding {output_padding} must be smaller than stride ({stride}) or "
            f"dilation ({dilation})"
        )
    span = dilation * (k - 1) + 1
    if transposed:
        pad = dilation * (k - 1) - padding
        if pad < 0:
            raise ValueError(
                f"padding {padding} exceeds dilation*(k-1) = {dilation * (k - 1)}: the transposed "
                "convolution would crop its input, which this drawing does not show. Use a "
                "smaller padding or a larger kernel."
            )
        data = tuple(pad + i * stride for i in range(n))
        grid = (n - 1) * stride + 1 + 2 * pad + output_padding
        step = 1
    else:
        if span > n + 2 * padding:
            raise ValueError(
                f"the kernel covers {span} cells (dilation*(k-1)+1) but the padded input has only "
                f"{n + 2 * padding}: increase the input size or the padding, or shrink the kernel"
            )
        pad = padding
        data = tuple(padding + i for i in range(n))
        grid = n + 2 * padding
        step = stride
    n_out = torch_output_size(n, k, padding, stride, dilation, transposed, output_padding)
    # The drawn grid must fit exactly n_out kernel positions (a remainder is allowed only for
    # direct convolutions with stride > 1: those cells are never visited).
    if (n_out - 1) * step + span > grid:
        raise RuntimeError(f"layout of {grid} cells disagrees with PyTorch's output size {n_out}")
    return ConvLayout(
        n,
        k,
        padding,
        stride,
        dilation,
        transposed,
        output_padding,
        grid,
        data,
        pad,
        step,
        span,
        n_out,
    )


def receptive_field_box(
    unit: tuple[int, int],
    size: float | Pair,
    jump: float | Pair,
    start: float | Pair,
) -> tuple[float, float, float, float]:
    """The input region of output unit ``unit = (row, col)`` as a box ``(x1, y1, x2, y2)``.

    The unit's centre is at pixel index ``start + index * jump`` along each axis; its region
    covers ``size`` whole pixels around it. The box is in continuous pixel coordinates (pixel
    ``i`` spans ``[i, i + 1)``) and is *not* clipped: parts outside the image lie in padding.
    """
    (sh, sw), (jh, jw), (ph, pw) = (
        as_pair(size, "size"),
        as_pair(jump, "jump"),
        as_pair(start, "start"),
    )
    row, col = unit
    cy, cx = ph + row * jh, pw + col * jw
    return (cx + 0.5 - sw / 2, cy + 0.5 - sh / 2, cx + 0.5 + sw / 2, cy + 0.5 + sh / 2)

"""Figures of the convolution notebooks: activations with their derivatives, one filter's
response, and the 1-D convolution drawn as a graph (the chain rule of its backward pass)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from .arrays import _as_numpy
from .style import color, subplots


def activation_and_derivative(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``fn(x)`` and its elementwise derivative ``fn'(x)``, the latter by torch autograd.

    Args:
        fn: an elementwise function, Tensor[N] -> Tensor[N].
        x: Tensor[N] of sample points.
    Returns:
        ``(y, dy)``, both Tensor[N] (detached).
    """
    x = x.detach().clone().requires_grad_(True)
    y = fn(x)
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        raise ValueError(
            f"{getattr(fn, '__name__', 'fn')} must return a tensor of the input's shape "
            f"{tuple(x.shape)}, got {type(y).__name__} {tuple(getattr(y, 'shape', ()))}"
        )
    # Elementwise: the gradient of sum(y) is exactly dy/dx at every point.
    (dy,) = torch.autograd.grad(y.sum(), x, allow_unused=True)
    if dy is None:
        dy = torch.zeros_like(x)
    return y.detach(), dy.detach()


def plot_activations(
    fns: Mapping[str, Callable[[torch.Tensor], torch.Tensor]],
    lo: float = -4.0,
    hi: float = 4.0,
    num: int = 801,
    size: float = 2.8,
) -> Figure:
    """One panel per activation: the function (solid) and its derivative (dashed, autograd).

    Args:
        fns: name -> elementwise function Tensor[N] -> Tensor[N].
        lo, hi, num: the sample points ``linspace(lo, hi, num)``.
    """
    if not fns:
        raise ValueError("give at least one activation, e.g. {'ReLU': torch.relu}")
    x = torch.linspace(lo, hi, num, dtype=torch.float64)
    # every function runs before the figure exists: one that raises leaves no empty grid behind
    curves = {name: activation_and_derivative(fn, x) for name, fn in fns.items()}
    fig, axes = subplots(1, len(fns), size=size, squeeze=False)
    for ax, (name, (y, dy)) in zip(axes[0], curves.items()):
        ax.axhline(0, color="0.8", lw=0.8)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.plot(x, y, color=color(0), label="f(x)")
        ax.plot(x, dy, color=color(1), ls="--", label="f'(x)")
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.legend(loc="upper left")
    return fig


def filter_response_figure(
    image: torch.Tensor,
    kernel: torch.Tensor,
    stride: int = 1,
    title: str = "filter",
    size: float = 3.0,
) -> Figure:
    """A grayscale image, a 2-D filter and the filter's response (``F.conv2d``, "same" padding).

    Args:
        image: Tensor[H, W] (or [1, H, W]) in [0, 1].
        kernel: Tensor[kh, kw], odd sizes (so "same" padding is symmetric).
        stride: the convolution's stride; the response shrinks by about this factor.
    Returns:
        the Figure: filter (red positive, blue negative), input, response (own scale).
    """
    image = image[0] if image.ndim == 3 and image.shape[0] == 1 else image
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(
            f"image must be [H, W] and kernel [kh, kw], got {tuple(image.shape)} and "
            f"{tuple(kernel.shape)}"
        )
    if kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
        raise ValueError(f"use an odd-sized kernel for 'same' padding, got {tuple(kernel.shape)}")
    padding = (kernel.shape[0] // 2, kernel.shape[1] // 2)
    weight = kernel.to(image.dtype)[None, None]
    response = F.conv2d(image[None, None], weight, stride=stride, padding=padding)[0, 0]
    fig, (ax_k, ax_in, ax_out) = subplots(1, 3, size=size)
    kernel_np, image_np, response_np = (_as_numpy(t) for t in (kernel, image, response))
    limit = float(np.abs(kernel_np).max()) or 1.0
    ax_k.imshow(kernel_np, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (r, c), value in np.ndenumerate(kernel_np):
        ax_k.text(c, r, f"{value:.2g}", ha="center", va="center", fontsize=8)
    ax_k.set_title(title)
    ax_in.imshow(image_np, cmap="gray", vmin=0, vmax=1)
    ax_in.set_title(f"input {image.shape[0]}x{image.shape[1]}")
    ax_out.imshow(response_np, cmap="gray")
    ax_out.set_title(f"response {response.shape[0]}x{response.shape[1]} (stride {stride})")
    for ax in (ax_k, ax_in, ax_out):
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def plot_conv1d_graph(
    n_inputs: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    highlight_input: int | None = None,
) -> Figure:
    """The 1-D convolution ``z_j = sum_k w_k x_{j*stride + k - padding}`` drawn as a graph.

    Inputs sit on the bottom row (padding positions as hollow circles), outputs on the top row;
    each edge is labelled with the weight it multiplies. With ``highlight_input=i`` the edges
    leaving ``x_i`` are drawn thick: they are the terms of ``de/dx_i = sum_j de/dz_j dz_j/dx_i``,
    and their weights, read right to left, are the kernel flipped.
    """
    if n_inputs < 1 or kernel < 1 or stride < 1 or padding < 0:
        raise ValueError(
            f"need n_inputs >= 1, kernel >= 1, stride >= 1, padding >= 0; got "
            f"{n_inputs=}, {kernel=}, {stride=}, {padding=}"
        )
    padded = n_inputs + 2 * padding
    if padded < kernel:
        raise ValueError(f"kernel {kernel} is larger than the padded input ({padded})")
    if highlight_input is not None and not 0 <= highlight_input < n_inputs:
        raise ValueError(f"highlight_input must be in [0, {n_inputs - 1}], got {highlight_input}")
    n_out = (padded - kernel) // stride + 1
    fig, ax = subplots(1, 1, size=1.0, figsize=(max(4.0, 0.55 * padded + 1), 2.6))
    xs = np.arange(padded) - padding  # input index of each bottom node
    out_x = np.array([j * stride + (kernel - 1) / 2 for j in range(n_out)]) - padding
    for j in range(n_out):
        for k in range(kernel):
            i = j * stride + k - padding
            hot = highlight_input is not None and i == highlight_input
            ax.plot(
                [i, out_x[j]],
                [0, 1],
                color=color(3) if hot else "0.75",
                lw=2.2 if hot else 0.8,
                zorder=1,
            )
            if hot:
                ax.text(
                    (i + out_x[j]) / 2, 0.5, f"$w_{k}$", color=color(3), ha="center", fontsize=9
                )
    for x in xs:
        is_pad = x < 0 or x >= n_inputs
        face = "white" if is_pad else color(0)
        ax.scatter([x], [0], s=160, facecolor=face, edgecolor=color(0), zorder=2)
        ax.text(x, -0.22, "0" if is_pad else f"$x_{{{x}}}$", ha="center", va="top", fontsize=8)
    ax.scatter(out_x, np.ones(n_out), s=160, color=color(2), zorder=2)
    for j, x in enumerate(out_x):
        ax.text(x, 1.14, f"$z_{{{j}}}$", ha="center", va="bottom", fontsize=8)
    ax.set_xlim(xs[0] - 0.7, xs[-1] + 0.7)
    ax.set_ylim(-0.5, 1.4)
    ax.axis("off")
    title = f"1-D convolution: kernel {kernel}, stride {stride}, padding {padding}"
    if highlight_input is not None:
        title += f"; paths from $x_{{{highlight_input}}}$"
    ax.set_title(title)
    return fig

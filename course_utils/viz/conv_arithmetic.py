"""Convolution-arithmetic drawings in the style of Dumoulin & Visin's guide.

`draw_conv` shows one (transposed) 2-D convolution on square grids: the input cells, the zero
padding, the kernel's taps at one position and the output grid with that position's cell
highlighted. `conv_animation` slides the kernel over every position, and
`conv_animation_html` renders that animation as self-contained HTML/JS (``to_jshtml``) that
plays in JupyterLab, Colab and static HTML alike.

A transposed convolution is drawn the way the guide explains it: as a *direct* stride-1
convolution over the input with ``stride - 1`` zeros inserted between cells and
``dilation * (kernel - 1) - padding`` zeros of padding on each side (plus ``output_padding``
extra rows/columns at the bottom/right).

The layout and the output size come from `course_utils.conv_geometry` (PyTorch itself, run on
a shape-only "meta" tensor), so the drawing agrees with the framework by construction.
"""

from __future__ import annotations

import re

from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..conv_geometry import ConvLayout, conv_layout
from .style import PALETTE, subplots

INPUT_COLOR = PALETTE[5]  # light blue, as in the guide
OUTPUT_COLOR = PALETTE[2]
KERNEL_COLOR = PALETTE[0]
CURRENT_COLOR = PALETTE[3]

# Patch gids, so tests (and curious students) can find each kind of cell in a figure.
GID_INPUT = "input"
GID_PADDING = "padding"
GID_ZERO = "inserted_zero"
GID_KERNEL = "kernel"
GID_OUTPUT = "output"
GID_CURRENT = "output_current"


def _cell(ax: Axes, row: int, col: int, gid: str, **style) -> Rectangle:
    patch = Rectangle((col, row), 1, 1, **style)
    patch.set_gid(gid)
    ax.add_patch(patch)
    return patch


def _frame(ax: Axes, size: int, title: str) -> None:
    ax.set_xlim(-0.2, size + 0.2)
    ax.set_ylim(size + 0.2, -0.2)  # row 0 at the top, like an image
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title)


def _draw_input(ax: Axes, layout: ConvLayout) -> None:
    data = set(layout.data)
    for r in range(layout.grid):
        for c in range(layout.grid):
            if r in data and c in data:
                _cell(ax, r, c, GID_INPUT, facecolor=INPUT_COLOR, edgecolor="black", lw=0.8)
            elif (
                layout.transposed
                and layout.data[0] <= r <= layout.data[-1]
                and layout.data[0] <= c <= layout.data[-1]
            ):
                # zeros inserted between input cells by the stride of a transposed convolution
                _cell(ax, r, c, GID_ZERO, facecolor="white", edgecolor="0.5", lw=0.8, ls=":")
            else:
                _cell(ax, r, c, GID_PADDING, facecolor="white", edgecolor="0.6", lw=0.8, ls="--")


def _draw_kernel(ax: Axes, layout: ConvLayout, position: int) -> list[Rectangle]:
    patches = [
        _cell(ax, r, c, GID_KERNEL, facecolor=KERNEL_COLOR, alpha=0.55, edgecolor="none")
        for r, c in layout.taps(position)
    ]
    row, col = divmod(position, layout.n_out)
    outline = Rectangle(
        (col * layout.step, row * layout.step),
        layout.span,
        layout.span,
        fill=False,
        edgecolor=KERNEL_COLOR,
        lw=2.0,
    )
    outline.set_gid(GID_KERNEL + "_outline")
    ax.add_patch(outline)
    return [*patches, outline]


def _draw_output(ax: Axes, layout: ConvLayout, position: int, done_only: bool) -> None:
    for index in range(layout.n_out * layout.n_out):
        r, c = divmod(index, layout.n_out)
        if index == position:
            _cell(ax, r, c, GID_CURRENT, facecolor=CURRENT_COLOR, edgecolor="black", lw=0.8)
        elif done_only and index > position:
            _cell(ax, r, c, GID_OUTPUT, facecolor="white", edgecolor="0.6", lw=0.8)
        else:
            _cell(ax, r, c, GID_OUTPUT, facecolor=OUTPUT_COLOR, edgecolor="black", lw=0.8)


def _titles(layout: ConvLayout) -> tuple[str, str]:
    # Two short lines each: a panel can be narrower than one long title (a 2x2 output next to
    # a 4x4 input), and a title wider than the figure is cut off at its edges.
    kind = "transposed conv" if layout.transposed else "conv"
    left = (
        f"input {layout.n}x{layout.n}\nk={layout.k} p={layout.padding} "
        f"s={layout.stride} d={layout.dilation}"
    )
    if layout.transposed and layout.output_padding:
        left += f" op={layout.output_padding}"
    return left, f"{kind}\noutput {layout.n_out}x{layout.n_out}"


def _check_position(layout: ConvLayout, position: int) -> int:
    count = layout.n_out * layout.n_out
    if not 0 <= position < count:
        raise ValueError(
            f"position {position} out of range: this convolution has {count} output cells "
            f"(use 0..{count - 1}, row-major)"
        )
    return position


def draw_conv(
    n: int,
    k: int,
    padding: int = 0,
    stride: int = 1,
    dilation: int = 1,
    transposed: bool = False,
    output_padding: int = 0,
    position: int = 0,
    size: float = 3.2,
) -> Figure:
    """Draw one convolution: input grid with padding and kernel taps, and the output grid.

    Args:
        n: input height = width.
        k: kernel height = width.
        padding, stride, dilation, output_padding: as in ``torch.nn.Conv2d`` /
            ``torch.nn.ConvTranspose2d`` (``output_padding`` only when ``transposed``).
        transposed: draw the transposed convolution as its equivalent direct convolution.
        position: flat, row-major index of the output cell whose kernel position is shown.
        size: inches per panel.
    Returns:
        the Figure (two panels: input, output). Each cell is a ``Rectangle`` whose gid says
        what it is: "input", "padding", "inserted_zero", "kernel", "output", "output_current".
    """
    layout = conv_layout(n, k, padding, stride, dilation, transposed, output_padding)
    _check_position(layout, position)
    ratio = max(layout.n_out / layout.grid, 0.35)
    fig, (ax_in, ax_out) = subplots(
        1,
        2,
        size=size,
        gridspec_kw={"width_ratios": [1, ratio]},
        figsize=(size * (1 + ratio), size),
    )
    left, right = _titles(layout)
    _frame(ax_in, layout.grid, left)
    _frame(ax_out, layout.n_out, right)
    _draw_input(ax_in, layout)
    _draw_kernel(ax_in, layout, position)
    _draw_output(ax_out, layout, position, done_only=False)
    return fig


def conv_animation(
    n: int,
    k: int,
    padding: int = 0,
    stride: int = 1,
    dilation: int = 1,
    transposed: bool = False,
    output_padding: int = 0,
    max_frames: int | None = None,
    size: float = 2.6,
    interval: int = 500,
) -> FuncAnimation:
    """Animate the kernel sliding over every output position (row-major).

    Args:
        n, k, padding, stride, dilation, transposed, output_padding: as in `draw_conv`.
        max_frames: keep only the first ``max_frames`` positions (small animations in FAST mode).
        size: inches per panel.
        interval: milliseconds between frames.
    Returns:
        a ``FuncAnimation``; the caller owns its figure (``anim._fig``), see `conv_animation_html`.
    """
    layout = conv_layout(n, k, padding, stride, dilation, transposed, output_padding)
    frames = layout.n_out * layout.n_out
    if max_frames is not None:
        if max_frames < 1:
            raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")
        frames = min(frames, max_frames)
    ratio = max(layout.n_out / layout.grid, 0.35)
    fig, (ax_in, ax_out) = subplots(
        1,
        2,
        size=size,
        gridspec_kw={"width_ratios": [1, ratio]},
        figsize=(size * (1 + ratio), size),
    )
    left, right = _titles(layout)

    def update(position: int) -> list:
        # Redraw both panels from scratch: a few dozen rectangles, cheaper than bookkeeping.
        for ax, grid, title in ((ax_in, layout.grid, left), (ax_out, layout.n_out, right)):
            ax.clear()
            _frame(ax, grid, title)
        _draw_input(ax_in, layout)
        _draw_kernel(ax_in, layout, position)
        _draw_output(ax_out, layout, position, done_only=True)
        return [*ax_in.patches, *ax_out.patches]

    update(0)
    return FuncAnimation(fig, update, frames=frames, interval=interval, blit=False, repeat=True)


def conv_animation_html(
    n: int,
    k: int,
    padding: int = 0,
    stride: int = 1,
    dilation: int = 1,
    transposed: bool = False,
    output_padding: int = 0,
    max_frames: int | None = None,
    size: float = 2.6,
    dpi: int = 72,
    interval: int = 500,
) -> str:
    """`conv_animation` rendered to self-contained HTML/JS (show it with ``IPython.display.HTML``).

    The frames are embedded PNGs, so keep ``max_frames`` and ``dpi`` small when speed matters.
    The figure is closed afterwards, so it does not also appear as a static image.
    """
    import matplotlib.pyplot as plt

    anim = conv_animation(
        n,
        k,
        padding,
        stride,
        dilation,
        transposed,
        output_padding,
        max_frames=max_frames,
        size=size,
        interval=interval,
    )
    fig = anim._fig
    fig.set_dpi(dpi)
    try:
        return _robust_jshtml(anim.to_jshtml(default_mode="loop"))
    finally:
        plt.close(fig)


_FIRST_FRAME = re.compile(r'frames\[0\] = "((?:[^"\\]|\\.)*)"', re.DOTALL)
_START = re.compile(
    r"setTimeout\(function\(\) \{\s*(anim\w+) = new Animation\(([^)]*)\);\s*\}, 0\);"
)


def _robust_jshtml(html: str) -> str:
    """matplotlib's JS animation, made to show in JupyterLab's windowed notebooks.

    matplotlib's player starts with an empty ``<img>`` and fills it from a script that runs
    once, right after the output is created. JupyterLab (windowed rendering, its default) may
    create the output before it is in the page; the script then finds no element, and the
    animation stays blank until the cell is re-rendered. Here the ``<img>`` starts on the
    first frame (visible with no script at all), and the player starts once its elements are
    in the page.
    """
    first = _FIRST_FRAME.search(html)
    start = _START.search(html)
    if first is None or start is None:  # another matplotlib template: leave it as it is
        return html
    name, args = start.group(1), start.group(2)
    retry = (
        "var begin = function() {\n"
        "      if (!document.getElementById(img_id) || !document[loop_select_id]) {\n"
        "        setTimeout(begin, 100); return;  // not in the page yet\n"
        "      }\n"
        f"      {name} = new Animation({args});\n"
        "    };\n"
        "    setTimeout(begin, 0);"
    )
    html = html[: start.start()] + retry + html[start.end() :]
    frame0 = first.group(1).replace("\\\n", "")
    return re.sub(
        r'(<img id="_anim_img\w+")>', lambda m: f'{m.group(1)} src="{frame0}">', html, count=1
    )


def conv_explorer_figure(
    n: int = 5,
    k: int = 3,
    padding: int = 0,
    stride: int = 1,
    dilation: int = 1,
    transposed: bool = False,
    output_padding: int = 0,
    position: float = 0.0,
    size: float = 3.2,
) -> Figure:
    """`draw_conv` made forgiving for sliders: never raises on a bad combination.

    ``position`` says where the kernel is as a fraction of the way through the output cells
    (row-major): 0 is the first cell, 1 the last, whatever the output size, so a slider over
    [0, 1] never runs past the last cell. ``output_padding`` is ignored for a direct
    convolution, and a configuration PyTorch would reject is drawn as a figure that explains
    why (instead of an exception inside the widget).
    """
    if not transposed:
        output_padding = 0
    try:
        n_out = conv_layout(n, k, padding, stride, dilation, transposed, output_padding).n_out
        return draw_conv(
            n,
            k,
            padding,
            stride,
            dilation,
            transposed,
            output_padding,
            position=round(min(max(float(position), 0.0), 1.0) * (n_out * n_out - 1)),
            size=size,
        )
    except ValueError as exc:
        fig, ax = subplots(1, 1, figsize=(2 * size, size / 2))
        ax.axis("off")
        ax.text(0.5, 0.5, f"not a valid convolution:\n{exc}", ha="center", va="center", wrap=True)
        return fig

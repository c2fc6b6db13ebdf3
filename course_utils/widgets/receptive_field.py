"""The receptive-field explorer: a preset network or a stack built with sliders, one output unit
picked by its relative position, its receptive field drawn over an image.

The receptive-field triple comes from the function the caller passes (the student's
``receptive_field`` exercise); this module only builds stacks and draws.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from matplotlib.figure import Figure

from ..viz.images import ImageLike
from ..viz.receptive_field import Layer, receptive_field_figure
from .base import Choice, Slider, Toggle, explorer

__all__ = ["CUSTOM", "custom_stack", "receptive_field_explorer"]

CUSTOM = "custom (the layer sliders)"


def custom_stack(
    layers: int = 4,
    kernel: int = 3,
    stride: int = 1,
    dilation: int = 1,
    same_padding: bool = True,
    pool_every: int = 2,
) -> list[Layer]:
    """``layers`` identical convolutions, each followed by a 2x2 max pooling (stride 2) when
    its number is a multiple of ``pool_every`` (0: no pooling). "Same" padding is
    ``d (k - 1) // 2``. Returns ``(kernel, stride, padding, dilation)`` per layer."""
    padding = dilation * (kernel - 1) // 2 if same_padding else 0
    stack: list[Layer] = []
    for number in range(1, layers + 1):
        stack.append((kernel, stride, padding, dilation))
        if pool_every and number % pool_every == 0:
            stack.append((2, 2, 0, 1))
    return stack


def _custom_name(layers, kernel, stride, dilation, same_padding, pool_every) -> str:
    pad = f"padding {dilation * (kernel - 1) // 2}" if same_padding else "no padding"
    name = f"{layers} x conv {kernel}x{kernel}, stride {stride}, dilation {dilation}, {pad}"
    if pool_every:
        every = f"{pool_every} convs" if pool_every > 1 else "conv"
        name += f"\n2x2 max-pool after every {every}"
    return name


def receptive_field_explorer(
    receptive_field: Callable[[Sequence[Layer]], tuple[float, float, float]],
    image: ImageLike,
    presets: Mapping[str, Sequence[Layer]] | None = None,
) -> None:
    """Show the explorer: a stack (``CUSTOM`` or one of ``presets``), a unit's relative row and
    column, and for the custom stack its number of convolutions, kernel, stride, dilation,
    padding and pooling. Each redraw calls ``receptive_field(layers)`` for the title's numbers
    and the drawn region.

    Args:
        receptive_field: ``layers -> (size, jump, start)``.
        image: what the field is drawn over, e.g. ``course_utils.data.sample_image(224,
            square=True)``.
        presets: name -> ``(kernel, stride, padding, dilation)`` layers (e.g. the layers of
            torchvision networks); a preset ignores the custom sliders.

    Like `explorer`, it displays itself and returns None; the figure of one setting is
    `course_utils.viz.receptive_field_figure`.
    """
    presets = dict(presets or {})

    def show(
        stack: str = CUSTOM,
        row: float = 0.5,
        col: float = 0.5,
        layers: int = 4,
        kernel: int = 3,
        stride: int = 1,
        dilation: int = 1,
        same_padding: bool = True,
        pool_every: int = 2,
    ) -> Figure:
        if stack == CUSTOM:
            name = _custom_name(layers, kernel, stride, dilation, same_padding, pool_every)
            chosen = custom_stack(layers, kernel, stride, dilation, same_padding, pool_every)
        else:
            name, chosen = stack, list(presets[stack])
        return receptive_field_figure(image, chosen, receptive_field, row, col, name=name)

    explorer(
        show,
        {
            "stack": Choice([CUSTOM, *presets], value=CUSTOM),
            "row": Slider(0.0, 1.0, 0.05, value=0.5, description="unit row (relative)"),
            "col": Slider(0.0, 1.0, 0.05, value=0.5, description="unit column (relative)"),
            "layers": Slider(1, 12, 1, value=4, description="custom: conv layers"),
            "kernel": Slider(1, 7, 1, value=3, description="kernel"),
            "stride": Slider(1, 3, 1, value=1, description="stride"),
            "dilation": Slider(1, 4, 1, value=1, description="dilation"),
            "same_padding": Toggle(True, description="'same' padding d(k-1)//2"),
            "pool_every": Slider(
                0, 4, 1, value=2, description="2x2 pool after every n convs (0: none)"
            ),
        },
    )

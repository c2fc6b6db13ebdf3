"""A small base for interactive explorers: controls wired to a plain figure function.

``explorer(plot_fn, controls)`` shows sliders/dropdowns that redraw ``plot_fn(**values)`` in
place. ``plot_fn`` is an ordinary function returning a matplotlib Figure, so the same figure is
available without widgets. Where widgets cannot work (ipywidgets missing, no running kernel,
nbgrader executing the notebook) the explorer draws the figure once with the default values
and returns it, so notebooks still run top to bottom and show something useful.

Works with ipywidgets 7 (Colab) and 8 (JupyterLab 4): only APIs common to both are used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure


@dataclass(frozen=True)
class Slider:
    """A numeric slider; integer-valued when min, max and step are all ints."""

    min: float
    max: float
    step: float = 1
    value: float | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        if not self.min < self.max or self.step <= 0:
            raise ValueError(
                f"Slider needs min < max and step > 0, got min={self.min}, max={self.max}, "
                f"step={self.step}"
            )
        if self.value is not None and not self.min <= self.value <= self.max:
            raise ValueError(f"Slider value {self.value} is outside [{self.min}, {self.max}]")

    @property
    def default(self) -> float:
        return self.min if self.value is None else self.value


@dataclass(frozen=True)
class Choice:
    """A dropdown over ``options``: a sequence of values, or of ``(label, value)`` pairs when
    every option is a 2-tuple whose first item is a string."""

    options: Sequence[Any]
    value: Any = None
    description: str | None = None

    def pairs(self) -> list[tuple[str, Any]]:
        """``(label, value)`` for each option (values are labelled with ``str(value)``).

        Widgets get explicit pairs, so a list of 2-D shapes such as ``[(3, 4), (5, 6)]`` is
        never mistaken for labelled options, on ipywidgets 7 or 8.
        """
        items = list(self.options)
        if not items:
            raise ValueError("Choice needs at least one option")
        labelled = all(
            isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str) for o in items
        )
        return [(o[0], o[1]) for o in items] if labelled else [(str(o), o) for o in items]

    @property
    def default(self) -> Any:
        values = [v for _, v in self.pairs()]
        if self.value is None:
            return values[0]
        if self.value not in values:
            raise ValueError(f"Choice value {self.value!r} is not one of the options {values}")
        return self.value


@dataclass(frozen=True)
class Toggle:
    """A checkbox."""

    value: bool = False
    description: str | None = None

    @property
    def default(self) -> bool:
        return self.value


Control = Slider | Choice | Toggle


def widgets_available() -> bool:
    """True when interactive widgets can render: ipywidgets importable and a live kernel."""
    if os.environ.get("NBGRADER_EXECUTION") or os.environ.get("COURSE_STATIC_WIDGETS"):
        return False
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def default_values(controls: dict[str, Control]) -> dict[str, Any]:
    """The value each control starts at."""
    return {name: control.default for name, control in controls.items()}


CONTROL_PX = 220  # a slider's track and readout, or a dropdown, next to its label


def _label_px(label: str) -> int:
    """A generous width for ``label`` in JupyterLab's 13 px widget font."""
    return 8 * len(label) + 12


def _make_widget(name: str, control: Control):
    import ipywidgets as w

    label = control.description or name
    style = {"description_width": "initial"}
    # The label takes the width it needs and the control keeps its own on top: a fixed total
    # width would leave a long label's slider with a track of zero width.
    layout = w.Layout(width=f"{_label_px(label) + CONTROL_PX}px", min_width=f"{CONTROL_PX}px")
    if isinstance(control, Slider):
        is_int = all(float(v).is_integer() for v in (control.min, control.max, control.step))
        cls = w.IntSlider if is_int else w.FloatSlider
        cast = int if is_int else float
        return cls(
            min=cast(control.min),
            max=cast(control.max),
            step=cast(control.step),
            value=cast(control.default),
            description=label,
            continuous_update=False,
            style=style,
            layout=layout,
        )
    if isinstance(control, Choice):
        return w.Dropdown(
            options=control.pairs(),
            value=control.default,
            description=label,
            style=style,
            layout=layout,
        )
    if isinstance(control, Toggle):
        return w.Checkbox(value=control.default, description=label, style=style)
    raise TypeError(f"unknown control for {name!r}: {control!r} (use Slider, Choice or Toggle)")


def figure_of(result: Any) -> Figure:
    """The Figure a plot function returned: a Figure, or a tuple starting with one (the
    ``(fig, ax)`` convention of `course_utils.viz`)."""
    fig = result[0] if isinstance(result, tuple) and result else result
    if not isinstance(fig, Figure):
        raise TypeError(
            f"an explorer's plot function must return a matplotlib Figure or (Figure, Axes); "
            f"got {type(result).__name__}"
        )
    return fig


def explorer(plot_fn: Callable[..., Any], controls: dict[str, Control], **fixed: Any) -> None:
    """Show ``plot_fn`` with one control per keyword in ``controls``.

    Args:
        plot_fn: draws and returns a Figure (or ``(fig, ax)``) from keyword arguments.
        controls: keyword -> `Slider` / `Choice` / `Toggle`.
        **fixed: further keyword arguments passed unchanged on every redraw.

    The explorer displays itself (the controls and the figure, or the static figure) and
    returns None, so the figure never shows twice. The first drawing happens before any
    widget is shown, so a bad argument raises in the cell; later errors (a slider moved to a
    value the plot function rejects) are shown in place of the figure.
    """
    from IPython.display import display

    values = default_values(controls)
    fig = figure_of(plot_fn(**values, **fixed))
    if not widgets_available():
        display(fig)
        plt.close(fig)
        return

    import ipywidgets as w

    inputs = {name: _make_widget(name, control) for name, control in controls.items()}
    out = w.Output()

    def show(figure: Figure) -> None:
        with out:
            out.clear_output(wait=True)
            display(figure)
        plt.close(figure)  # keep one live figure, not a pile of them

    def redraw(_change: Any = None) -> None:
        kwargs = {name: widget.value for name, widget in inputs.items()}
        try:
            show(figure_of(plot_fn(**kwargs, **fixed)))
        except Exception as exc:  # shown to the student where the figure was, not lost in a log
            with out:
                out.clear_output(wait=True)
                print(f"{type(exc).__name__}: {exc}")

    show(fig)
    for widget in inputs.values():
        widget.observe(redraw, "value")
    display(w.VBox([w.HBox(list(inputs.values()), layout=w.Layout(flex_flow="row wrap")), out]))

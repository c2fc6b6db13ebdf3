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

    @property
    def default(self) -> float:
        return self.min if self.value is None else self.value


@dataclass(frozen=True)
class Choice:
    """A dropdown over ``options`` (a sequence of values, or of ``(label, value)`` pairs)."""

    options: Sequence[Any]
    value: Any = None
    description: str | None = None

    @property
    def default(self) -> Any:
        if self.value is not None:
            return self.value
        first = self.options[0]
        return first[1] if isinstance(first, tuple) else first


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


def _make_widget(name: str, control: Control):
    import ipywidgets as w

    label = control.description or name
    style = {"description_width": "initial"}
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
        )
    if isinstance(control, Choice):
        return w.Dropdown(
            options=list(control.options), value=control.default, description=label, style=style
        )
    if isinstance(control, Toggle):
        return w.Checkbox(value=control.default, description=label, style=style)
    raise TypeError(f"unknown control for {name!r}: {control!r} (use Slider, Choice or Toggle)")


def explorer(plot_fn: Callable[..., Figure], controls: dict[str, Control], **fixed: Any) -> None:
    """Show ``plot_fn`` with one control per keyword in ``controls``.

    Args:
        plot_fn: draws and returns a Figure from keyword arguments.
        controls: keyword -> `Slider` / `Choice` / `Toggle`.
        **fixed: further keyword arguments passed unchanged on every redraw.

    The explorer displays itself (the controls and the figure, or the static figure) and
    returns None, so the figure never shows twice.
    """
    from IPython.display import display

    values = default_values(controls)
    if not widgets_available():
        fig = plot_fn(**values, **fixed)
        display(fig)
        plt.close(fig)
        return

    import ipywidgets as w

    inputs = {name: _make_widget(name, control) for name, control in controls.items()}
    out = w.Output()

    def redraw(**kwargs: Any) -> None:
        fig = plot_fn(**kwargs, **fixed)  # errors surface in the cell, not hidden in the widget
        with out:
            out.clear_output(wait=True)
            display(fig)
        plt.close(fig)  # keep one live figure, not a pile of them

    redraw(**values)
    for widget in inputs.values():
        widget.observe(lambda _change: redraw(**{k: v.value for k, v in inputs.items()}), "value")
    display(w.VBox([w.HBox(list(inputs.values()), layout=w.Layout(flex_flow="row wrap")), out]))

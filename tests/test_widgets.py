"""Explorer base: static fallback, live redraws in place, controls built for ipywidgets 7 and 8."""

import matplotlib

matplotlib.use("Agg")

import ipywidgets as w
import matplotlib.pyplot as plt
import pytest
from IPython import display as ipy_display

from course_utils.viz import subplots
from course_utils.widgets import (
    Choice,
    Slider,
    Toggle,
    base,
    default_values,
    explorer,
    widgets_available,
)


@pytest.fixture
def shown(monkeypatch):
    """Everything explorer() passes to IPython's display()."""
    seen = []
    monkeypatch.setattr(ipy_display, "display", lambda *objs, **kw: seen.extend(objs))
    return seen


def plot(n=1, scale=1.0, mode="a", flag=False, title=""):
    fig, ax = subplots()
    ax.plot(range(n), [scale * i for i in range(n)])
    ax.set_title(f"{title}{n} {scale} {mode} {flag}")
    return fig, ax  # the viz convention: (Figure, Axes)


CONTROLS = {
    "n": Slider(1, 10, 1, value=3),
    "scale": Slider(0.5, 2.0, 0.5),
    "mode": Choice([("first", "a"), ("second", "b")]),
    "flag": Toggle(True, "flag"),
}


def test_static_fallback_under_nbgrader(monkeypatch, shown):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert not widgets_available()
    assert explorer(plot, CONTROLS, title="T") is None
    (fig,) = shown
    assert fig.axes[0].get_title() == "T3 0.5 a True"
    assert not plt.get_fignums(), "the figure is closed after display (no second copy)"


def test_live_widgets_redraw_in_place(monkeypatch, shown):
    monkeypatch.setattr(base, "widgets_available", lambda: True)
    calls = []

    def recording_plot(**kwargs):
        calls.append(kwargs)
        return plot(**kwargs)

    explorer(recording_plot, CONTROLS, title="T")
    (box,) = [obj for obj in shown if isinstance(obj, w.VBox)]
    controls, out = box.children
    slider, float_slider, dropdown, checkbox = controls.children
    assert isinstance(slider, w.IntSlider) and isinstance(float_slider, w.FloatSlider)
    assert isinstance(dropdown, w.Dropdown) and dropdown.options == (
        ("first", "a"),
        ("second", "b"),
    )
    assert isinstance(checkbox, w.Checkbox) and checkbox.value is True
    slider.value = 7
    dropdown.value = "b"
    assert calls[-1] == {"n": 7, "scale": 0.5, "mode": "b", "flag": True, "title": "T"}
    figures = [obj for obj in shown if isinstance(obj, matplotlib.figure.Figure)]
    assert len(figures) == 3 and figures[-1].axes[0].get_title() == "T7 0.5 b True"
    assert not plt.get_fignums(), "each redraw closes its figure"


def test_redraw_error_is_shown_not_raised(monkeypatch, shown, capsys):
    monkeypatch.setattr(base, "widgets_available", lambda: True)

    def picky(n=1):
        if n > 2:
            raise ValueError("n must be at most 2")
        return plot(n)

    explorer(picky, {"n": Slider(1, 5)})
    box = [obj for obj in shown if isinstance(obj, w.VBox)][0]
    box.children[0].children[0].value = 4  # must not raise out of the callback
    # outside a kernel the Output widget lets prints through to stdout
    assert "ValueError: n must be at most 2" in capsys.readouterr().out


def test_choice_of_tuples_is_not_mistaken_for_labels():
    shapes = Choice([(3, 4), (5, 6)])
    assert shapes.pairs() == [("(3, 4)", (3, 4)), ("(5, 6)", (5, 6))]
    assert shapes.default == (3, 4)
    widget = base._make_widget("shape", shapes)
    widget.value = (5, 6)
    assert widget.label == "(5, 6)"
    assert default_values({"c": Choice(["x", "y"], value="y")}) == {"c": "y"}


def test_bad_controls_say_what_is_wrong():
    with pytest.raises(ValueError, match="outside"):
        Slider(0, 1, 0.1, value=2)
    with pytest.raises(ValueError, match="min < max"):
        Slider(5, 1)
    with pytest.raises(ValueError, match="not one of the options"):
        default_values({"c": Choice(["a", "b"], value="c")})
    with pytest.raises(TypeError, match="must return a matplotlib Figure"):
        base.figure_of("not a figure")


@pytest.mark.parametrize("label", ["n", "2x2 pool after every n convs (0: none)"])
def test_a_long_label_leaves_the_slider_its_track(label):
    """The control's width grows with its label: the track keeps CONTROL_PX whatever the label."""
    for control in (Slider(0, 4, 1, description=label), Choice(["a", "b"], description=label)):
        widget = base._make_widget("x", control)
        total = int(widget.layout.width.removesuffix("px"))
        assert widget.style.description_width == "initial"
        assert total - base._label_px(label) >= base.CONTROL_PX >= 200
        assert base._label_px(label) >= 7 * len(label)  # JupyterLab's font: about 7 px a letter

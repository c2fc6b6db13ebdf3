"""Interactive explorers: thin layers of controls over the plain figure functions in `viz`.

`explorer` wires any figure function to sliders and dropdowns; `receptive_field_explorer` is
the receptive-field explorer of notebook 04, built on it.
"""

from .base import Choice, Slider, Toggle, default_values, explorer, widgets_available
from .receptive_field import receptive_field_explorer

__all__ = [
    "Choice",
    "Slider",
    "Toggle",
    "default_values",
    "explorer",
    "receptive_field_explorer",
    "widgets_available",
]

"""Interactive explorers: thin layers of controls over the plain figure functions in `viz`."""

from .base import Choice, Slider, Toggle, default_values, explorer, widgets_available

__all__ = ["Choice", "Slider", "Toggle", "default_values", "explorer", "widgets_available"]

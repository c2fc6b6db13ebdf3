"""Figures for the whole course. Every function returns the matplotlib Figure (and Axes) it drew,
so a notebook can show it, a widget can redraw it, and a test can inspect its artists."""

from .style import PALETTE, color, course_style, subplots

__all__ = ["PALETTE", "color", "course_style", "subplots"]

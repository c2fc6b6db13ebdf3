"""Figures for the whole course. Every function returns the matplotlib Figure (and Axes) it drew,
so a notebook can show it, a widget can redraw it, and a test can inspect its artists."""

from .conv_arithmetic import conv_animation_html, draw_conv
from .curves import LivePlot, plot_history
from .detection import draw_boxes, plot_pr_curve
from .features import capture_activations, plot_feature_maps, plot_filters
from .images import (
    overlay_heatmap,
    plot_heatmap,
    show_images,
    show_segmentation,
    to_display,
    unnormalize,
)
from .receptive_field import plot_effective_rf, plot_receptive_field
from .style import PALETTE, color, course_style, subplots

__all__ = [
    "PALETTE",
    "LivePlot",
    "capture_activations",
    "color",
    "conv_animation_html",
    "course_style",
    "draw_boxes",
    "draw_conv",
    "overlay_heatmap",
    "plot_effective_rf",
    "plot_feature_maps",
    "plot_filters",
    "plot_heatmap",
    "plot_history",
    "plot_pr_curve",
    "plot_receptive_field",
    "show_images",
    "show_segmentation",
    "subplots",
    "to_display",
    "unnormalize",
]

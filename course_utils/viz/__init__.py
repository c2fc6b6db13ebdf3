"""Figures for the whole course. Every function returns the matplotlib Figure (and Axes) it drew,
so a notebook can show it, a widget can redraw it, and a test can inspect its artists.

Modules, by what they draw: `arrays` (matrices with their values, grids of maps), `conv_arithmetic`
(convolution-arithmetic drawings and animations), `conv_plots` (activations, a filter's
response, the 1-D convolution graph), `curves` (training curves), `detection` (boxes, IoU, NMS,
precision-recall), `features` (feature maps and filters of a model), `images` (images,
segmentations, heat maps), `receptive_field` (receptive fields), `tables` (Markdown result
tables), `timings` (timing comparisons), `style` (palette and figure defaults). Everything a
notebook uses is exported here.
"""

from .arrays import plot_maps, plot_matrices
from .conv_arithmetic import conv_animation_html, conv_explorer_figure, draw_conv
from .conv_plots import filter_response_figure, plot_activations, plot_conv1d_graph
from .curves import LivePlot, plot_history
from .detection import draw_boxes, iou_figure, nms_figure, plot_pr_curve, pr_threshold_figure
from .features import capture_activations, plot_feature_maps, plot_filters
from .images import (
    overlay_heatmap,
    plot_heatmap,
    show_images,
    show_segmentation,
    to_display,
    unnormalize,
)
from .receptive_field import plot_effective_rf, plot_receptive_field, receptive_field_figure
from .style import PALETTE, color, course_style, subplots
from .tables import markdown_table
from .timings import plot_timings

__all__ = [
    "PALETTE",
    "LivePlot",
    "capture_activations",
    "color",
    "conv_animation_html",
    "conv_explorer_figure",
    "course_style",
    "draw_boxes",
    "draw_conv",
    "filter_response_figure",
    "iou_figure",
    "markdown_table",
    "nms_figure",
    "overlay_heatmap",
    "plot_activations",
    "plot_conv1d_graph",
    "plot_effective_rf",
    "plot_feature_maps",
    "plot_filters",
    "plot_heatmap",
    "plot_history",
    "plot_maps",
    "plot_matrices",
    "plot_pr_curve",
    "plot_receptive_field",
    "plot_timings",
    "pr_threshold_figure",
    "receptive_field_figure",
    "show_images",
    "show_segmentation",
    "subplots",
    "to_display",
    "unnormalize",
]

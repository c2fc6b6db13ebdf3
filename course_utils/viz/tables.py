"""Result tables as Markdown: one row per case, numbers right-aligned, rendered by Jupyter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["markdown_table"]


def _cell(value: Any) -> str:
    # a literal "|" would end the cell early
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None):
    """A Markdown table, displayed as a table in JupyterLab and Colab.

    Args:
        columns: the header, one name per column.
        rows: one sequence of values per row, formatted already where the format matters
            (``f"{ms:.2f}"``); anything else is shown with ``str``.
        align: one letter per column, ``l`` (left), ``r`` (right) or ``c`` (centre); by default
            the first column left and the others right (labels, then numbers).
    Returns:
        an ``IPython.display.Markdown`` object: the last expression of a cell, or
        ``display(markdown_table(...))``; its ``.data`` is the Markdown text.
    """
    from IPython.display import Markdown

    if not columns:
        raise ValueError("markdown_table needs at least one column")
    align = align if align is not None else "l" + "r" * (len(columns) - 1)
    if len(align) != len(columns) or set(align) - set("lrc"):
        raise ValueError(
            f"align needs one of l, r, c per column ({len(columns)} columns), got {align!r}"
        )
    for index, row in enumerate(rows):
        if len(row) != len(columns):
            raise ValueError(f"row {index} has {len(row)} values for {len(columns)} columns")
    rule = {"l": "---", "r": "---:", "c": ":---:"}
    lines = [
        "| " + " | ".join(_cell(c) for c in columns) + " |",
        "|" + "|".join(rule[a] for a in align) + "|",
        *("| " + " | ".join(_cell(v) for v in row) + " |" for row in rows),
    ]
    return Markdown("\n".join(lines))

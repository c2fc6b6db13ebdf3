"""course_utils.viz.markdown_table: the Markdown Jupyter renders as a table."""

import pytest

from course_utils.viz import markdown_table


def test_markdown_table_text_alignment_and_escaping():
    table = markdown_table(["case", "ms", "ratio"], [["3x3", "1.25", 2], ["a|b", "0.50", 4]])
    assert table.data.splitlines() == [
        "| case | ms | ratio |",
        "|---|---:|---:|",
        "| 3x3 | 1.25 | 2 |",
        "| a\\|b | 0.50 | 4 |",
    ]
    assert table._repr_markdown_() == table.data  # what Jupyter renders
    centred = markdown_table(["a", "b"], [[1, 2]], align="lc")
    assert centred.data.splitlines()[1] == "|---|:---:|"


def test_markdown_table_rejects_ragged_rows_and_bad_alignment():
    with pytest.raises(ValueError, match="row 1 has 1 values for 2 columns"):
        markdown_table(["a", "b"], [[1, 2], [3]])
    with pytest.raises(ValueError, match="one of l, r, c per column"):
        markdown_table(["a", "b"], [[1, 2]], align="lx")

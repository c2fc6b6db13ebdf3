"""Exercises in a real kernel: one-line failures, and `needs` letting Run All go on.

Runs a small notebook in an IPython kernel (nbclient), the way JupyterLab and nbgrader run
them: the check cells carry the ``raises-exception`` tag, so execution goes past them.
"""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from course_utils.exercises import describe, needs, unwritten_exercise

CHECK = {"tags": ["raises-exception"]}


def _run(cells: list[tuple[str, dict]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src, metadata=meta) for src, meta in cells]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return nb


def _errors(cell) -> list:
    return [o for o in cell.outputs if o.output_type == "error"]


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.fixture(scope="module")
def executed() -> nbformat.NotebookNode:
    return _run(
        [
            (
                "import torch\nfrom course_utils import needs\n"
                "from course_utils.checks import check_close",
                {},
            ),
            ("def box_area(b):\n    # YOUR CODE HERE\n    raise NotImplementedError()", {}),
            ("check_close(box_area(torch.ones(2, 4)), torch.zeros(2), 'box_area')", CHECK),
            ("check_close(torch.ones(2), torch.zeros(2), 'area', hint='No +1.')", CHECK),
            ("with needs('box_area'):\n    box_area(torch.ones(1, 4))\nprint('after')", {}),
            (
                "class Net:\n    def forward(self, x):\n        raise NotImplementedError()\n"
                "with needs('Net'):\n    Net().forward(1)",
                {},
            ),
            ("def bad(x):\n    return x.foo\nwith needs('bad'):\n    bad(1)", {}),
            ("with needs('box_area'):\n    print(made_by_a_skipped_cell)", {}),
            ("import numpy as np\nnp.zeros(3)[5]", CHECK),
            ("print('reached the end')", {}),
        ]
    )


@pytest.mark.notebook
def test_unwritten_exercise_is_one_line_naming_the_function(executed):
    (error,) = _errors(executed.cells[2])
    assert error.ename == "NotImplementedError"  # still an error: nbgrader scores it 0
    assert len(error.traceback) == 1
    assert "`box_area` is not written yet" in error.traceback[0]


@pytest.mark.notebook
def test_failed_check_shows_its_message_without_course_internals(executed):
    (error,) = _errors(executed.cells[3])
    assert error.ename == "AssertionError"
    assert len(error.traceback) == 1
    line = error.traceback[0]
    assert "Check failed" in line and "expected 0.0" in line and "No +1." in line
    assert "checks.py" not in line


@pytest.mark.notebook
def test_needs_prints_one_line_and_the_cell_goes_on(executed):
    assert not _errors(executed.cells[4])
    lines = _text(executed.cells[4]).splitlines()
    assert lines == [
        "Skipped: this cell needs `box_area`; `box_area` is not written yet. Write it above, "
        "run its cell, then this one.",
        "after",
    ]
    assert "`Net.forward` is not written yet" in _text(executed.cells[5])
    assert "it raised AttributeError: 'int' object has no attribute 'foo'" in _text(
        executed.cells[6]
    )


@pytest.mark.notebook
def test_other_errors_keep_their_traceback_and_run_all_reaches_the_end(executed):
    (error,) = _errors(executed.cells[8])
    assert error.ename == "IndexError" and len(error.traceback) > 1
    assert _text(executed.cells[9]) == "reached the end\n"


@pytest.mark.notebook
def test_a_variable_of_a_skipped_cell_is_explained(executed):
    assert not _errors(executed.cells[7])
    assert "`made_by_a_skipped_cell` is missing because a cell above was skipped" in _text(
        executed.cells[7]
    )


def test_outside_ipython_library_errors_are_not_taken_for_stubs():
    def stub():
        raise NotImplementedError()

    with pytest.raises(NotImplementedError) as info:
        stub()
    assert unwritten_exercise(info.value) is None  # not defined in a notebook
    assert describe(ValueError("bad\nsecond line")) == "ValueError: bad"


def test_needs_does_not_swallow_interrupts(capsys):
    with pytest.raises(KeyboardInterrupt), needs("x"):
        raise KeyboardInterrupt
    with needs("x", "y"):
        raise ValueError("boom")
    assert capsys.readouterr().out == (
        "Skipped: this cell needs `x`, `y`; it raised ValueError: boom (fix it above, then run "
        "this cell again).\n"
    )

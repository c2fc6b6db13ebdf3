"""Submission variants made from a source notebook, for round trips and the demo batch.

Each function returns a modified deep copy; the original is never touched.
"""

from __future__ import annotations

import copy

from nbformat import NotebookNode

from .notebooks import SOLUTION_BEGIN, SOLUTION_END, grade_id, is_solution_cell, is_test_cell

# What Colab writes into a notebook that showed widgets: no "state" key, which nbconvert needs.
COLAB_WIDGET_METADATA = {
    "application/vnd.jupyter.widget-state+json": {
        "a1b2c3": {"model_module": "@jupyter-widgets/controls", "model_name": "IntSliderModel"}
    }
}


def blank_exercise(nb: NotebookNode, exercise: str) -> NotebookNode:
    """``nb`` with the answer of solution cell ``exercise`` replaced by the student stub."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if grade_id(cell) != exercise:
            continue
        out, inside = [], False
        for line in cell.source.splitlines():
            if SOLUTION_BEGIN in line:
                inside = True
                indent = line[: len(line) - len(line.lstrip())]
                out.append(f"{indent}raise NotImplementedError()")
            elif SOLUTION_END in line:
                inside = False
            elif not inside:
                out.append(line)
        cell.source = "\n".join(out)
        return nb
    raise ValueError(f"no solution cell with grade_id {exercise!r}")


def with_colab_widget_metadata(nb: NotebookNode) -> NotebookNode:
    """``nb`` as Colab saves it after widgets were shown."""
    nb = copy.deepcopy(nb)
    nb.metadata["widgets"] = copy.deepcopy(COLAB_WIDGET_METADATA)
    return nb


def without_first_test_cell(nb: NotebookNode) -> NotebookNode:
    """``nb`` with its first autograder test cell deleted."""
    nb = copy.deepcopy(nb)
    tests = [i for i, c in enumerate(nb.cells) if is_test_cell(c)]
    if tests:
        del nb.cells[tests[0]]
    return nb


def with_duplicated_answer(nb: NotebookNode) -> NotebookNode:
    """``nb`` with its first solution cell copied (same grade_id and cell id) right above it."""
    nb = copy.deepcopy(nb)
    solutions = [i for i, c in enumerate(nb.cells) if is_solution_cell(c)]
    if solutions:
        nb.cells.insert(solutions[0], copy.deepcopy(nb.cells[solutions[0]]))
    return nb


def messy(nb: NotebookNode) -> NotebookNode:
    """A complete answer damaged the usual ways: widget metadata, a deleted test cell, a copied
    answer cell. It must still get full marks."""
    return with_duplicated_answer(without_first_test_cell(with_colab_widget_metadata(nb)))

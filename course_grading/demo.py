"""Demo submissions: what a real batch looks like, made from an assignment's own notebooks.

`course demo-submissions` writes an LMS-style flat folder (``<student>_<notebook>.ipynb``) with
the cases autograding must survive, so an instructor can try the whole pipeline (and the tests
can check it) without real student data:

- ``alice``: the complete solution (full marks);
- ``bob``: the blank student version (zero);
- ``carol``: one exercise left blank (loses exactly that exercise's points);
- ``dave``: a Colab download: "Copy of … (1).ipynb", widget metadata without state, a deleted
  test cell (full marks);
- ``erin``: a duplicated answer cell (full marks);
- ``frank``: a file that is not valid JSON (zero, and the table says why);
- ``grace``: a notebook with a cell that kills its kernel half-way (graded again without that
  cell: full marks, and the table names the cell).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from .notebooks import grade_id, is_solution_cell, is_test_cell, read_notebook, write_unvalidated
from .paths import Course
from .variants import (
    blank_exercise,
    with_colab_widget_metadata,
    with_duplicated_answer,
    without_first_test_cell,
)


def first_exercise(nb: NotebookNode) -> tuple[str, str] | None:
    """The first (solution grade_id, test grade_id) pair where the test follows its solution."""
    for cell, following in zip(nb.cells, nb.cells[1:]):
        if is_solution_cell(cell) and is_test_cell(following):
            return grade_id(cell), grade_id(following)
    return None


def make_demo_submissions(
    course: Course, assignment: str, out: Path, exercise: str | None = None
) -> dict[str, str]:
    """Write the demo batch for ``assignment`` into ``out``; return student -> what it shows.

    The assignment must have been released (the blank version comes from ``release/``).
    """
    names = course.notebook_names(assignment)
    out.mkdir(parents=True, exist_ok=True)
    first = names[0]
    for name in names:
        source = read_notebook(course.notebooks_dir / assignment / f"{name}.ipynb")
        released_path = course.release_dir / assignment / f"{name}.ipynb"
        if not released_path.exists():
            raise FileNotFoundError(
                f"{released_path} missing: run `course release {assignment}` first"
            )
        blank = read_notebook(released_path)
        write_unvalidated(source, out / f"alice_{name}.ipynb")
        write_unvalidated(blank, out / f"bob_{name}.ipynb")

        target = exercise or (first_exercise(source) or (None, None))[0]
        carol = blank_exercise(source, target) if (name == first and target) else source
        write_unvalidated(carol, out / f"carol_{name}.ipynb")

        dave = without_first_test_cell(with_colab_widget_metadata(source))
        write_unvalidated(dave, out / f"dave_Copy of {name} (1).ipynb")
        write_unvalidated(with_duplicated_answer(source), out / f"erin_{name}.ipynb")

        text = json.dumps(nbformat.writes(source))[:2000]
        (out / f"frank_{name}.ipynb").write_text(
            text + "\n<<<<<<< merge conflict\n", encoding="utf-8"
        )

        grace = copy.deepcopy(source)
        middle = len(grace.cells) // 2
        grace.cells.insert(
            middle, new_code_cell("import os\n\nos._exit(1)  # the kernel dies here")
        )
        write_unvalidated(grace, out / f"grace_{name}.ipynb")
    return {
        "alice": "complete solution",
        "bob": "blank student version",
        "carol": f"exercise {exercise or 'first'} left blank",
        "dave": "Colab copy with widget metadata and a deleted test cell",
        "erin": "duplicated answer cell",
        "frank": "invalid JSON",
        "grace": "a cell kills the kernel half-way",
    }

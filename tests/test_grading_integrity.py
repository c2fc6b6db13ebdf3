"""A submission scores what its answers earn, whatever it does to the checks.

Every cheating student hands in a wrong ``relu`` (2 points) and a right ``square`` (3 points),
plus a trick that would make the wrong answer pass; each must score exactly 3. Students who
exit the kernel politely keep the points of their correct answers.
"""

from __future__ import annotations

import builtins

import nbformat
import numpy as np
import pytest
import torch

from course_grading.autograde import autograde
from course_grading.notebooks import grade_id, read_notebook, write_notebook
from course_grading.release import release
from course_utils.integrity import restore

WRONG_RELU = "def relu(x):\n    return x\n"
TRICKS = {
    "rebinds_check_close": "check_close = lambda *args, **kwargs: None",
    "patches_checks_module": (
        "import course_utils.checks\n"
        "course_utils.checks.check_close = lambda *args, **kwargs: None\n"
        "from course_utils.checks import check_close"
    ),
    "patches_numpy": "import numpy\nnumpy.abs = lambda x: x * 0",
    "patches_builtins": (
        "import builtins\n_real = builtins.isinstance\n"
        "builtins.isinstance = lambda obj, kind: _real(obj, kind)"
    ),
    "silences_tracebacks": "get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)",
    "prints_fake_passes": "print('relu: visible checks passed')\nprint('square: visible checks passed')",
}
EXITS = {"sys_exit": "import sys\nsys.exit(0)", "raises_system_exit": "raise SystemExit"}


def _submission(source, relu: str, extra: str):
    nb = read_notebook(source)
    for cell in nb.cells:
        if grade_id(cell) == "relu":
            cell.source = relu + "\n" + extra
    return nb


@pytest.mark.notebook
@pytest.mark.xdist_group("grading-pipeline")
def test_tricks_do_not_earn_points(sample_course, tmp_path):
    release(sample_course, ["sample_assignment"])
    source = sample_course.notebooks_dir / "sample_assignment" / "sample.ipynb"
    subs = tmp_path / "subs"
    correct_relu = "def relu(x):\n    return x.clamp(min=0)\n"
    for student, trick in TRICKS.items():
        (subs / student).mkdir(parents=True)
        write_notebook(_submission(source, WRONG_RELU, trick), subs / student / "sample.ipynb")
    for student, trick in EXITS.items():
        (subs / student).mkdir(parents=True)
        write_notebook(_submission(source, correct_relu, trick), subs / student / "sample.ipynb")
    rows = {r.student_id: r for r in autograde(sample_course, "sample_assignment", subs, jobs=2)}
    scores = {sid: row.score for sid, row in rows.items()}
    assert scores == {**dict.fromkeys(TRICKS, 3.0), **dict.fromkeys(EXITS, 5.0)}, {
        sid: row.problems for sid, row in rows.items()
    }
    graded = sample_course.autograded_dir / "rebinds_check_close" / "sample_assignment"
    text = "\n".join(c.source for c in read_notebook(graded / "sample.ipynb").cells)
    assert "course_utils.integrity" not in text  # the feedback shows the checks as written


@pytest.mark.notebook
@pytest.mark.xdist_group("grading-pipeline")
def test_a_cell_that_kills_the_kernel_costs_that_cell_only(sample_course, tmp_path):
    """os._exit in a cell of its own loses nothing; a segfault inside the `square` answer
    loses `square` (3 points) and keeps `relu` (2)."""
    release(sample_course, ["sample_assignment"])
    source = sample_course.notebooks_dir / "sample_assignment" / "sample.ipynb"
    kills = {
        "exits_in_own_cell": ("relu", "import os\nos._exit(1)"),
        "segfaults_in_answer": ("square", "import ctypes\nctypes.string_at(0)"),
    }
    subs = tmp_path / "subs"
    for student, (after, code) in kills.items():
        nb = read_notebook(source)
        where = next(i for i, c in enumerate(nb.cells) if grade_id(c) == after)
        if student == "exits_in_own_cell":
            nb.cells.insert(where + 1, nbformat.v4.new_code_cell(code))
        else:
            nb.cells[where].source += "\n" + code
        (subs / student).mkdir(parents=True)
        write_notebook(nb, subs / student / "sample.ipynb")
    rows = {r.student_id: r for r in autograde(sample_course, "sample_assignment", subs)}
    assert {sid: row.score for sid, row in rows.items()} == {
        "exits_in_own_cell": 5.0,
        "segfaults_in_answer": 2.0,
    }, {sid: row.problems for sid, row in rows.items()}
    assert any("kernel died in cell" in p for p in rows["segfaults_in_answer"].problems)
    graded = sample_course.autograded_dir / "segfaults_in_answer" / "sample_assignment"
    [square] = [c for c in read_notebook(graded / "sample.ipynb").cells if grade_id(c) == "square"]
    assert "ctypes.string_at(0)" in square.source  # shown as the student wrote it
    assert square.outputs[0]["ename"] == "KernelDied"


def test_restore_puts_back_builtins_library_functions_and_checks():
    import course_utils.checks as checks

    original = (builtins.isinstance, np.allclose, torch.allclose, checks.check_close)
    namespace = {"check_close": lambda *a, **k: None, "mine": 1}
    try:
        builtins.isinstance = lambda obj, kind: True
        np.allclose = lambda *a, **k: True
        torch.allclose = lambda *a, **k: True
        checks.check_close = lambda *a, **k: None
        done = restore(namespace)
    finally:
        builtins.isinstance = original[0]
    assert builtins.isinstance is original[0] and np.allclose is original[1]
    assert torch.allclose is original[2]
    import course_utils.checks as fresh

    assert namespace["check_close"] is fresh.check_close and namespace["mine"] == 1
    with pytest.raises(AssertionError):
        namespace["check_close"](torch.ones(2), torch.zeros(2))
    assert {"builtins.isinstance", "numpy.allclose", "torch.allclose"} <= set(done)

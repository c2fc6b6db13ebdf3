"""A student's work is never overwritten: work/ copies, explicit updates, guarded releases.

Real nbgrader releases of the small sample assignment in a temporary course.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest

from course_grading.cli import main
from course_grading.notebooks import grade_id, read_notebook, write_notebook
from course_grading.release import ReleaseError, release
from course_grading.workspace import release_edits, start, update, work_dir

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("grading-pipeline")]

ANSWER = "def square(x):\n    return x ** 2  # my answer"


def _cell(nb, gid):
    return next(c for c in nb.cells if grade_id(c) == gid)


def _answer(path, gid="square"):
    nb = read_notebook(path)
    _cell(nb, gid).source = ANSWER
    write_notebook(nb, path)


def test_a_new_release_while_a_student_works_keeps_the_edit(sample_course, capsys):
    release(sample_course, ["sample_assignment"])
    report = start(sample_course)
    mine = work_dir(sample_course) / "sample_assignment" / "sample.ipynb"
    assert mine in report.copied
    _answer(mine)

    # the instructor changes the notebook and adds another one; a new release is made
    source = sample_course.notebooks_dir / "sample_assignment" / "sample.ipynb"
    nb = read_notebook(source)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("A new explanation."))
    write_notebook(nb, source)
    shutil.copy(source, source.with_name("extra.ipynb"))
    release(sample_course, ["sample_assignment"])

    assert _cell(read_notebook(mine), "square").source == ANSWER  # the edit survived
    report = start(sample_course)  # what `make lab` runs: adds, never replaces
    assert [p.name for p in report.copied] == ["extra.ipynb"]
    assert mine in report.kept and mine in report.updatable
    assert _cell(read_notebook(mine), "square").source == ANSWER

    # explicit update: the new version, with the answer put back and the old file kept
    [beside] = update(sample_course, "sample_assignment", ["sample"], beside=True)
    assert _cell(read_notebook(mine), "square").source == ANSWER
    assert "A new explanation." not in [c.source for c in read_notebook(mine).cells]
    assert _cell(read_notebook(beside.beside), "square").source == ANSWER

    assert main(["--course-dir", str(sample_course.root), "update", "sample_assignment"]) == 0
    out = capsys.readouterr().out
    assert "your answers kept: square" in out
    updated = read_notebook(mine)
    assert "A new explanation." in [c.source for c in updated.cells]
    assert _cell(updated, "square").source == ANSWER
    assert "raise NotImplementedError()" in _cell(updated, "relu").source
    [backup] = mine.parent.glob("sample.before-update-*.ipynb")
    assert _cell(read_notebook(backup), "square").source == ANSWER
    [again] = update(sample_course, "sample_assignment", ["sample"])
    assert again.unchanged
    assert not start(sample_course).updatable


def test_release_refuses_to_overwrite_edits_in_the_release_folder(sample_course, capsys):
    [done] = release(sample_course, ["sample_assignment"])
    assert release_edits(sample_course, "sample_assignment") == []
    released = done.notebooks[0]
    _answer(released)  # a student who worked in the release folder itself
    assert release_edits(sample_course, "sample_assignment") == [released]

    with pytest.raises(ReleaseError, match="--force") as refused:
        release(sample_course, ["sample_assignment"])
    assert str(released) in str(refused.value)
    assert _cell(read_notebook(released), "square").source == ANSWER
    assert main(["--course-dir", str(sample_course.root), "release"]) == 2
    assert "course release --force" in capsys.readouterr().err

    # rescued into work/, the release may go ahead; the rescued copy is the student's
    report = start(sample_course, rescue=True)
    assert [p.name for p in report.copied] == ["sample.ipynb"]
    assert release_edits(sample_course, "sample_assignment") == []
    release(sample_course, ["sample_assignment"])
    mine = work_dir(sample_course) / "sample_assignment" / "sample.ipynb"
    assert _cell(read_notebook(mine), "square").source == ANSWER

    _answer(released)
    release(sample_course, ["sample_assignment"], force=True)  # forced: overwritten
    assert "raise NotImplementedError()" in _cell(read_notebook(released), "square").source

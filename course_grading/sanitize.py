"""Make a student's notebook safe for nbgrader, one small named step at a time.

Real submissions arrive damaged in predictable ways: Colab saves widget metadata without its
``state`` (nbconvert then crashes), copied cells carry duplicate ``grade_id``s (nbgrader
refuses the notebook), test cells get deleted, files are renamed "Copy of X" or "X (1)".
Each step fixes one of these and says what it did, so the instructor's table can show it.
Nothing the student wrote is thrown away: a duplicated cell loses only its grading metadata.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import DeduplicateIds

from .notebooks import grade_id, is_test_cell

# nbgrader's preprocessors log what they fix; here the notes say it instead
_QUIET = logging.getLogger("course_grading.sanitize")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False

Step = Callable[[NotebookNode, NotebookNode | None, list[str]], NotebookNode]


class SubmissionError(ValueError):
    """A submitted file cannot be graded at all (not JSON, not a notebook)."""


def load_submission(path: Path) -> NotebookNode:
    """Parse a submitted file as a notebook, with an error message an instructor can act on."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            f"{path.name} is not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno}): "
            "ask the student for a fresh download of the notebook"
        ) from exc
    if not isinstance(raw, dict) or "cells" not in raw:
        raise SubmissionError(f"{path.name} is JSON but not a Jupyter notebook (no 'cells')")
    try:
        with warnings.catch_warnings():
            # nbformat repairs duplicate cell ids with a warning; renumbering is one of our steps
            warnings.simplefilter("ignore")
            return nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as exc:
        raise SubmissionError(f"{path.name} is not a readable notebook: {exc}") from exc


def strip_widget_metadata(
    nb: NotebookNode, source: NotebookNode | None, notes: list[str]
) -> NotebookNode:
    """Drop saved widget state: Colab writes it without 'state', which crashes nbconvert."""
    if nb.metadata.pop("widgets", None) is not None:
        notes.append("removed Colab widget metadata")
    for cell in nb.cells:
        cell.metadata.pop("widgets", None)
    return nb


def drop_duplicate_grade_ids(
    nb: NotebookNode, source: NotebookNode | None, notes: list[str]
) -> NotebookNode:
    """Keep grading metadata on the last copy of each grade_id; earlier copies become plain cells.

    nbgrader's own `DeduplicateIds` (the step its autograding runs) does the work; this step
    runs it early to report each duplicate. The last copy wins because that is the one whose
    code runs last, as in the student's own top-to-bottom run.
    """
    counts = Counter(gid for gid in map(grade_id, nb.cells) if gid is not None)
    for gid, count in counts.items():
        notes.extend([f"duplicated cell {gid!r}: graded the last copy"] * (count - 1))
    if len(counts) < sum(counts.values()):
        nb, _ = DeduplicateIds(log=_QUIET).preprocess(nb, {})
        for cell in nb.cells:
            # DeduplicateIds leaves ``nbgrader: {}`` on the earlier copies, which nbgrader's
            # own OverwriteCells then reads as a grade cell without a grade_id (KeyError)
            if cell.metadata.get("nbgrader") == {}:
                del cell.metadata["nbgrader"]
    return nb


def note_missing_test_cells(
    nb: NotebookNode, source: NotebookNode | None, notes: list[str]
) -> NotebookNode:
    """Report deleted test cells; nbgrader puts them back (OverwriteCells.add_missing_cells)."""
    if source is None:
        return nb
    present = {grade_id(c) for c in nb.cells}
    for cell in source.cells:
        if is_test_cell(cell) and grade_id(cell) not in present:
            notes.append(f"restored deleted test cell {grade_id(cell)!r}")
    return nb


def repair_cell_ids(
    nb: NotebookNode, source: NotebookNode | None, notes: list[str]
) -> NotebookNode:
    """Fresh ids for copied cells (a copy-pasted cell keeps its id; nbformat rejects that) and
    for cells without one: nbformat's own repair, `nbformat.validator.normalize`, which
    returns a repaired copy."""
    before = [cell.get("id") for cell in nb.cells]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns about each id it corrects
        _, nb = nbformat.validator.normalize(nb)
    changed = sum(old != cell.get("id") for old, cell in zip(before, nb.cells))
    if changed:
        notes.append(f"gave {changed} copied or id-less cell(s) fresh ids")
    return nb


STEPS: tuple[Step, ...] = (
    strip_widget_metadata,
    drop_duplicate_grade_ids,
    note_missing_test_cells,
    repair_cell_ids,
)


def sanitize(
    nb: NotebookNode, source: NotebookNode | None = None
) -> tuple[NotebookNode, list[str]]:
    """Apply every step in order; return the notebook and what was changed."""
    notes: list[str] = []
    for step in STEPS:
        nb = step(nb, source, notes)
    return nb, notes


_COPY_OF = re.compile(r"^(copy[ _]of[ _])+", re.IGNORECASE)
NUMBERED_SUFFIX = re.compile(r"(\s*\(\d+\)|[ _-]copy(\s*\d+)?)+$", re.IGNORECASE)


def _key(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip()).lower()


def canonical_name(stem: str) -> str:
    """Strip what browsers and Colab add to a file name: "Copy of X", "X (1)", "X copy"."""
    return NUMBERED_SUFFIX.sub("", _COPY_OF.sub("", stem.strip())).strip()


def match_notebook(stem: str, names: list[str]) -> str | None:
    """Which of the assignment's notebook ``names`` a submitted file ``stem`` is, if any."""
    wanted = _key(canonical_name(stem))
    for name in names:
        if _key(name) == wanted:
            return name
    return None

"""nbgrader preprocessors: every check cell first puts back what a submission replaced.

`RestoreBeforeChecks` (before ``Execute``) prepends a call to `course_utils.integrity.restore`
to each autograded test cell; `DropRestoreLine` (right after) removes it again, so the saved
notebook and the feedback show the check cells as written. Registered in
grading/nbgrader_config.py.
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor

from .notebooks import is_test_cell

PREFIX = (
    "try:\n"
    "    __import__('course_utils.integrity').integrity.restore(globals())\n"
    "except ImportError:\n"
    "    pass\n"
)


class RestoreBeforeChecks(NbGraderPreprocessor):
    """Prepend the restore call to every autograded test cell."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_test_cell(cell) and not cell.source.startswith(PREFIX):
            cell.source = PREFIX + cell.source
        return cell, resources


class DropRestoreLine(NbGraderPreprocessor):
    """Remove what `RestoreBeforeChecks` added, once the notebook has run."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.source.startswith(PREFIX):
            cell.source = cell.source[len(PREFIX) :]
        return cell, resources

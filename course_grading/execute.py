"""nbgrader's Execute step, where a cell that kills the kernel costs that cell only.

A submission's cell can end its kernel outright: ``os._exit()``, a segfault in a C extension,
the kernel killed for memory. nbgrader then stops with ``DeadKernelError`` and nothing of the
notebook is graded. `RecoveringExecute` notes the cell that was running, starts a fresh kernel
and runs the notebook again from the top without that cell (at most ``max_kernel_deaths``
times). The saved notebook shows the cell as the student wrote it, with an error output that
says what happened, so a check cell that killed the kernel scores zero like any failed check.
Registered in grading/nbgrader_config.py in place of nbgrader's ``Execute``.
"""

from __future__ import annotations

from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer

# `course autograde` finds this in nbgrader's log and names the cell in the student's row.
LOG_MARKER = "kernel died in cell"
ENAME = "KernelDied"


def died_output(index: int) -> NotebookNode:
    """The error output put on a cell whose run ended the kernel."""
    message = (
        f"the kernel died while running this cell (cell {index}: it exited the process, crashed "
        "or ran out of memory); the notebook was graded again without it"
    )
    return NotebookNode(
        output_type="error", ename=ENAME, evalue=message, traceback=[f"{ENAME}: {message}"]
    )


class RecoveringExecute(Execute):
    """Execute that re-runs the notebook without each cell that killed the kernel."""

    max_kernel_deaths = Integer(
        3, help="Cells allowed to kill the kernel before the notebook counts as not gradable."
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources=None, km=None):
        sources = [cell.get("source", "") for cell in nb.cells]
        dead: list[int] = []
        while True:
            self._running: int | None = None
            for index, cell in enumerate(nb.cells):
                cell.source = "" if index in dead else sources[index]
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
            try:
                nb, resources = super().preprocess(nb, resources, km)
                break
            except DeadKernelError:
                if self._running is None or len(dead) >= self.max_kernel_deaths:
                    raise
                dead.append(self._running)
                self.log.warning(
                    "%s %d (%s); running the notebook again without it",
                    LOG_MARKER,
                    self._running,
                    nb.cells[self._running]
                    .get("metadata", {})
                    .get("nbgrader", {})
                    .get("grade_id", "no grade_id"),
                )
        for index in dead:
            nb.cells[index].source = sources[index]
            nb.cells[index].outputs = [died_output(index)]
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        self._running = index
        return super().preprocess_cell(cell, resources, index)

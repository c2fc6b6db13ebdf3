"""Reference solutions for benchmarks: the definitions of a source notebook, executed.

Benchmarks measure the course's own models (the reference solutions in the source notebooks);
`course_utils` never contains an exercise's answer, so a benchmark takes the definitions from
the notebook itself: the setup cell, then the cells that bind the requested names and, through
the globals those cells read (at top level or inside their functions), every earlier cell they
depend on, in notebook order. Figures, explorers and training runs nothing requested reads are
not executed.
"""

from __future__ import annotations

import ast
import builtins
import random
import symtable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]


def _binds_and_reads(source: str, label: str) -> tuple[set[str], set[str]]:
    """(names ``source`` binds at top level, globals it reads but does not bind).

    Reads include those inside function and class bodies (evaluated only when called): a
    loaded function must find every notebook global it uses."""
    table = symtable.symtable(source, label, "exec")
    binds = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    reads: set[str] = set()
    scopes = [table]
    while scopes:
        scope = scopes.pop()
        top_level = scope.get_type() == "module"
        reads |= {
            s.get_name()
            for s in scope.get_symbols()
            if s.is_referenced() and (top_level or s.is_global())
        }
        scopes.extend(scope.get_children())
    return binds, reads - binds


def _python_only(source: str) -> str:
    """The cell without IPython magics and shell escapes."""
    return "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
    )


@contextmanager
def _random_streams_kept():
    """Python's, NumPy's and torch's random states as they were on entry, on exit: the cells
    executed seed and draw, and a benchmark's seeded run must not depend on whether a
    notebook's definitions were loaded before or during it."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng():
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def load_definitions(notebook: str | Path, names: list[str] | None = None) -> dict[str, Any]:
    """Execute the setup cell and the defining cells of ``notebook``; return the namespace.

    Args:
        notebook: path relative to ``notebooks/`` (e.g. ``"07_single_stage/yolo.ipynb"``) or
            an absolute path.
        names: the functions / classes / constants wanted. Cells they do not need (figures,
            explorers, training runs) are skipped. ``None`` takes every cell that defines a
            function or class.
    Returns:
        the namespace after execution: ``ns["yolo_decode"]`` etc. The caller's random streams
        (Python, NumPy, torch) are left as they were.
    Raises:
        KeyError: a requested name is defined by no cell.
    """
    path = Path(notebook)
    if not path.is_absolute():
        path = REPO / "notebooks" / path
    nb = nbformat.read(path, as_version=4)
    namespace: dict[str, Any] = {"__name__": f"notebook:{path.stem}"}
    wanted = set(names) if names is not None else None
    with _random_streams_kept():
        found = _execute(nb, path, namespace, wanted)
    missing = (wanted or set()) - found
    if missing:
        raise KeyError(f"{path} defines no {sorted(missing)}")
    return namespace


def _execute(
    nb: nbformat.NotebookNode,
    path: Path,
    namespace: dict[str, Any],
    wanted: set[str] | None,
) -> set[str]:
    """Run, in ``namespace`` and in notebook order, the setup cell and the cells ``wanted``
    needs (all cells defining a function or class: None); returns the names they bind."""
    cells = []  # (label, python source, is setup)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            label = f"{path.name}[{grade_id or f'cell {index}'}]"
            cells.append((label, _python_only(cell.source), grade_id == "setup"))
    names = [_binds_and_reads(source, label) for label, source, _ in cells]
    if wanted is None:
        chosen = [setup or _defines_code(source) for _, source, setup in cells]
    else:
        chosen = _needed_cells(cells, names, wanted)
    found: set[str] = set()
    for (label, source, _), (binds, _), take in zip(cells, names, chosen, strict=True):
        if take:
            exec(compile(source, label, "exec"), namespace)
            found |= binds
    return found


def _defines_code(source: str) -> bool:
    return any(
        isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        for node in ast.parse(source).body
    )


def _needed_cells(
    cells: list[tuple[str, str, bool]],
    names: list[tuple[set[str], set[str]]],
    wanted: set[str],
) -> list[bool]:
    """Which cells to run: walking back from the end, a cell is needed when it binds a name
    that a later needed cell (or the caller) still lacks; its own reads are then needed from
    the cells above it. Setup cells always run; what they bind and builtins are never
    looked for."""
    always = {name for (_, _, setup), (binds, _) in zip(cells, names) if setup for name in binds}
    always |= set(dir(builtins))
    needed = set(wanted)
    chosen = [setup for _, _, setup in cells]
    for i in reversed(range(len(cells))):
        binds, reads = names[i]
        if chosen[i] or not binds & needed:
            continue
        chosen[i] = True
        needed = (needed - binds) | (reads - always)
    return chosen

"""Reference solutions for benchmarks: the definitions of a source notebook, executed.

Benchmarks measure the course's own models (the reference solutions in the source notebooks);
`course_utils` never contains an exercise's answer, so a benchmark takes the definitions from
the notebook itself: the setup cell, then every code cell that defines one of the requested
names (and the cells those definitions follow, in order).
"""

from __future__ import annotations

import ast
import random
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]


def _defined_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
    } | {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


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
        names: the functions / classes / constants wanted. Cells defining only other things
            (figures, explorers, training runs) are skipped. ``None`` takes every cell that
            defines a function or class.
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
    """Run the setup cell and the cells that define what is ``wanted`` (all: None) in
    ``namespace``; returns the names those cells define."""
    found: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        defined = _defined_names(cell.source)
        is_setup = grade_id == "setup"
        defines_code = (
            any(
                isinstance(node, ast.FunctionDef | ast.ClassDef)
                for node in ast.parse(_python_only(cell.source)).body
            )
            if not is_setup
            else False
        )
        if wanted is None:
            take = is_setup or defines_code
        else:
            take = is_setup or bool(defined & wanted) or (defines_code and bool(wanted - found))
        if not take:
            continue
        exec(
            compile(_python_only(cell.source), f"{path.name}[{grade_id or 'cell'}]", "exec"),
            namespace,
        )
        found |= defined
    return found

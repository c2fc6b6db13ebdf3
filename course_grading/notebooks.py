"""Source-notebook hygiene: normalise what editors leave behind, and check the nbgrader contract.

`normalize_notebook` strips outputs, execution counts and editor metadata (jupytext, Colab,
widgets) and fills in the nbgrader metadata schema. `check_notebook` lists every way a source
notebook breaks the course conventions (see CONTRIBUTING.md); an empty list means it is fine.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"

KEPT_CELL_METADATA = ("nbgrader", "tags", "deletable", "editable")
# JupyterLab's Run All goes past a failing cell only when it carries this tag; nbgrader still
# scores the cell by its error output, so a failing check costs its points and nothing else.
RAISES_TAG = "raises-exception"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def read_notebook(path: Path) -> NotebookNode:
    """Read a notebook as nbformat 4; raise ValueError naming the file when it is not one."""
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as exc:
        raise ValueError(f"{path}: not a readable Jupyter notebook ({exc})") from exc


def write_notebook(nb: NotebookNode, path: Path) -> None:
    """Write ``nb`` with a trailing newline, the way Jupyter itself writes notebooks."""
    nbformat.write(nb, str(path))


def write_unvalidated(nb: NotebookNode, path: Path) -> None:
    """Write ``nb`` exactly as given, without nbformat's validation and repairs: the way a
    damaged student file looks (used for submission variants)."""
    Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def is_solution_cell(cell: NotebookNode) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def is_test_cell(cell: NotebookNode) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def grade_id(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def normalize_notebook(nb: NotebookNode) -> NotebookNode:
    """Return ``nb`` stripped of outputs and editor metadata, with complete nbgrader metadata."""
    nb.metadata = NotebookNode(
        {
            "kernelspec": dict(KERNELSPEC),
            "language_info": {"name": "python"},
        }
    )
    for cell in nb.cells:
        cell.metadata = NotebookNode(
            {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA}
        )
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        meta = cell.metadata.get("nbgrader")
        if meta is not None:
            meta.setdefault("schema_version", 3)
            for key in ("grade", "solution", "locked", "task"):
                meta.setdefault(key, False)
            if meta["grade"] and not meta["solution"]:
                meta["locked"] = True
                if cell.cell_type == "code" and RAISES_TAG not in cell.metadata.get("tags", []):
                    cell.metadata["tags"] = [*cell.metadata.get("tags", []), RAISES_TAG]
        cell.source = cell.source.rstrip() if isinstance(cell.source, str) else cell.source
    _, nb = nbformat.validator.normalize(nb)  # a repaired copy (duplicate or missing cell ids)
    return nb


def normalize_file(path: Path) -> bool:
    """Normalise one notebook in place; return True when the file changed."""
    before = path.read_text(encoding="utf-8")
    nb = normalize_notebook(read_notebook(path))
    after = nbformat.writes(nb) + "\n"
    if after != before:
        path.write_text(after, encoding="utf-8")
        return True
    return False


def check_notebook(nb: NotebookNode, graded: bool = True) -> list[str]:
    """Every problem with a source notebook, as human-readable strings (empty when clean)."""
    problems: list[str] = []
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        problems.append(f"invalid notebook format: {exc.message}")
    if "jupytext" in nb.metadata or "widgets" in nb.metadata or "colab" in nb.metadata:
        problems.append("editor metadata left in the notebook: run `course normalize`")
    if (
        not nb.cells
        or nb.cells[0].cell_type != "markdown"
        or not nb.cells[0].source.startswith("#")
    ):
        problems.append("the first cell must be the markdown title (# Title, goals, prerequisites)")
    seen: dict[str, int] = {}
    has_setup = False
    for index, cell in enumerate(nb.cells):
        where = f"cell {index}"
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            problems.append(f"{where}: has outputs or an execution count (run `course normalize`)")
        extra = set(cell.metadata) - set(KEPT_CELL_METADATA)
        if extra:
            problems.append(f"{where}: editor metadata {sorted(extra)} (run `course normalize`)")
        if cell.cell_type == "markdown":
            # "mAP@0.5" in running text becomes an e-mail link in JupyterLab: write it as code
            prose = re.sub(r"`[^`]*`|\$[^$]*\$", "", cell.source)
            for link in sorted(set(re.findall(r"\w+@\w[\w.]*", prose))):
                problems.append(f"{where}: {link!r} renders as an e-mail link: write `{link}`")
        gid = grade_id(cell)
        if "fast_mode()" in cell.source and cell.cell_type == "code":
            has_setup = True
            if not cell.metadata.get("nbgrader", {}).get("locked"):
                problems.append(f"{where}: the setup cell must be locked (read-only)")
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            for marker in (SOLUTION_BEGIN, HIDDEN_BEGIN):
                if marker in cell.source:
                    problems.append(f"{where}: contains {marker!r} but has no nbgrader metadata")
            continue
        if not gid:
            problems.append(f"{where}: nbgrader cell without a grade_id")
            continue
        if gid in seen:
            problems.append(f"{where}: grade_id {gid!r} already used by cell {seen[gid]}")
        seen[gid] = index
        where = f"cell {index} ({gid})"
        if is_solution_cell(cell) and cell.cell_type == "code":
            if SOLUTION_BEGIN not in cell.source or SOLUTION_END not in cell.source:
                problems.append(f"{where}: solution cell without {SOLUTION_BEGIN} / {SOLUTION_END}")
        if is_test_cell(cell):
            if not meta.get("locked"):
                problems.append(f"{where}: test cell must be locked")
            if not meta.get("points"):
                problems.append(f"{where}: test cell without points")
            if cell.cell_type == "code" and RAISES_TAG not in cell.metadata.get("tags", []):
                problems.append(
                    f"{where}: test cell without the {RAISES_TAG!r} tag, so Run All would stop "
                    "at it (run `course normalize`)"
                )
            if (HIDDEN_BEGIN in cell.source) != (HIDDEN_END in cell.source):
                problems.append(f"{where}: unbalanced hidden-test markers")
        elif HIDDEN_BEGIN in cell.source:
            problems.append(f"{where}: hidden tests outside a test cell")
    if not has_setup:
        problems.append("no setup cell: the template needs a locked cell calling fast_mode()")
    if graded and not any(is_test_cell(c) for c in nb.cells):
        problems.append("graded notebook without any test cell")
    return problems


def points_by_test(nb: NotebookNode) -> dict[str, float]:
    """grade_id -> points of every autograded test cell, in notebook order."""
    return {grade_id(c): float(c.metadata.nbgrader["points"]) for c in nb.cells if is_test_cell(c)}

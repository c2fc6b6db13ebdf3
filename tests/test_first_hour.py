"""What a student meets in notebooks 00-05, checked on the source text (no kernel needed).

- Every non-check cell that calls an exercise does so inside ``with needs(...)``, so Run All on
  a student version with nothing written goes to the last cell (the round trips and the
  browser test run it for real).
- Markdown shows nothing that JupyterLab turns into a ``mailto:`` link (``mAP@0.5``).
- Menu names are JupyterLab 4's.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("0[0-5]_*/*.ipynb"))
IDS = [f"{p.parent.name}/{p.stem}" for p in NOTEBOOKS]


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _python(source: str) -> str:
    """The cell without IPython magics and shell escapes (not Python syntax)."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n")
    )


def _exercises(cells: list[dict]) -> set[str]:
    names = set()
    for cell in cells:
        if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("solution"):
            names.update(re.findall(r"^(?:def|class)\s+(\w+)", _source(cell), re.MULTILINE))
    return names


def _catches_stubs(handler: ast.ExceptHandler) -> bool:
    """True when ``handler`` catches an unwritten exercise's NotImplementedError."""
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        n is None or getattr(n, "id", None) in {"Exception", "NotImplementedError"} for n in names
    )


def _unguarded_calls(tree: ast.AST, exercises: set[str]) -> list[str]:
    """Calls of an exercise that run when the cell runs, outside ``with needs(...)``."""
    found = []

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            return  # runs later, when called: the cell calling it is checked instead
        if isinstance(node, ast.With) and any(
            isinstance(item.context_expr, ast.Call)
            and getattr(item.context_expr.func, "id", None) == "needs"
            for item in node.items
        ):
            guarded = True
        if isinstance(node, ast.Try) and any(_catches_stubs(h) for h in node.handlers):
            for child in node.body:  # handled there; the handlers and else run unguarded
                visit(child, True)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, guarded)
            return
        if isinstance(node, ast.Call) and not guarded:
            func = node.func
            while isinstance(func, ast.Attribute):  # Conv2dFn.apply(...), LeNet(...).to(...)
                func = func.value
            if isinstance(func, ast.Name) and func.id in exercises:
                found.append(f"line {node.lineno}: {func.id}")
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return found


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_cells_that_use_exercises_survive_unwritten_ones(notebook):
    cells = _cells(notebook)
    exercises = _exercises(cells)
    problems = []
    for index, cell in enumerate(cells):
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] != "code" or meta.get("solution") or meta.get("grade"):
            continue
        calls = _unguarded_calls(ast.parse(_python(_source(cell))), exercises)
        if calls:
            problems.append(f"cell {index}: {', '.join(calls)} outside `with needs(...)`")
    assert not problems, problems


def test_the_unguarded_call_finder_finds_them():
    tree = ast.parse(
        "a = relu(x)\nwith needs('relu'):\n    b = relu(x)\ndef f():\n    return relu(x)\n"
        "Conv2dFn.apply(x)\ntry:\n    relu(x)\nexcept NotImplementedError:\n    pass"
    )
    assert _unguarded_calls(tree, {"relu", "Conv2dFn"}) == ["line 1: relu", "line 6: Conv2dFn"]


# "name@digit" outside code: JupyterLab's markdown renderer links it as an e-mail address.
EMAIL_LIKE = re.compile(r"\b[\w.+-]+@[\w-]+\.\w+")


def _prose(markdown: str) -> str:
    """Markdown without code spans, code blocks, math and link targets."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", "", text, flags=re.DOTALL)
    return re.sub(r"\]\([^)]*\)", "]", text)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_markdown_has_nothing_rendered_as_a_mailto_link(notebook):
    found = [
        match.group(0)
        for cell in _cells(notebook)
        if cell["cell_type"] == "markdown"
        for match in EMAIL_LIKE.finditer(_prose(_source(cell)))
    ]
    assert not found, f"put these in `code`: {found}"
    assert EMAIL_LIKE.search(_prose("mAP@0.5 and AP@[.5:.95]"))  # the pattern does catch it


def test_menu_names_are_jupyterlab_4s():
    texts = {p: p.read_text() for p in [*NOTEBOOKS, REPO / "README.md"]}
    stale = [str(p.relative_to(REPO)) for p, text in texts.items() if "Restart & Run All" in text]
    assert not stale, f"JupyterLab 4 says 'Restart Kernel and Run All Cells…': {stale}"


def test_getting_started_quotes_the_message_the_check_really_prints(capsys):
    cells = _cells(REPO / "notebooks/00_getting_started/getting_started.ipynb")
    [mistake] = [c for c in cells if "a deliberate mistake" in _source(c)]
    [run] = [c for c in cells if "The check failed" in _source(c)]
    [explained] = [c for c in cells if c["cell_type"] == "markdown" and "The message" in _source(c)]
    namespace: dict = {}
    exec("import torch\nfrom course_utils.checks import check_close", namespace)
    exec(_source(mistake), namespace)
    exec(_source(run), namespace)
    printed = capsys.readouterr().out
    quoted = re.findall(r"\d\.\d{3}|\(\d, \d\)", _source(explained))
    assert len(quoted) >= 3, quoted
    numbers = [float(x) for x in re.findall(r"\d+\.\d+", printed)]
    for item in quoted:
        found = item in printed or (
            "(" not in item and any(abs(float(item) - x) < 5e-4 for x in numbers)
        )
        assert found, f"the text quotes {item}, the message says: {printed}"
    assert "3 of 4" in printed and "3 of the 4" in _source(explained).replace("\n", " ")


def test_activation_checks_are_used_by_the_visible_checks():
    cells = _cells(REPO / "notebooks/02_convolutions/conv_arithmetic.ipynb")
    for name in ("relu", "leaky_relu", "elu"):
        [check] = [
            c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == f"test_{name}"
        ]
        visible = _source(check).split("### BEGIN HIDDEN TESTS")[0]
        assert f"check_activation({name}," in visible, name

"""What notebooks import from course_utils is public where they import it: no private module,
no private name, and listed in the module's ``__all__`` when it has one."""

import ast
import importlib
import inspect
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*/*.ipynb"))


def _imports(path: Path) -> list[tuple[str, str]]:
    """``(module, name)`` of every ``from course_utils... import name`` in a notebook's code."""
    found = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_utils"):
                found += [(node.module, alias.name) for alias in node.names]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_import_only_public_course_utils_names(path):
    for module_name, name in _imports(path):
        assert not any(part.startswith("_") for part in module_name.split(".")), module_name
        assert not name.startswith("_"), f"{path.name} imports the private {module_name}.{name}"
        module = importlib.import_module(module_name)
        assert hasattr(module, name), f"{module_name} has no {name}"
        public = getattr(module, "__all__", None)
        if public is not None and not inspect.ismodule(getattr(module, name)):  # submodules
            assert name in public, f"{path.name}: {name} is not in {module_name}.__all__"

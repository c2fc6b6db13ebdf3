"""Put back what a submission may have replaced, before each check runs under grading.

A check cell passes when nothing it calls raises. A submission could make that happen without
earning it: rebind ``check_close`` in the notebook, replace ``course_utils.checks.check_close``,
``torch.allclose`` or a builtin such as ``isinstance``. `restore` undoes each of these: the
autograder (`course_grading`) runs it at the top of every check cell. The originals are taken
when `course_utils` is first imported, in the setup cell, before any student code runs.

This raises the bar; it is not a proof. Code in the same interpreter can reach anything,
including this module's copies; the sandbox, the time limits and the hidden tests are the other
layers (README: "Student code runs in a sandbox").
"""

from __future__ import annotations

import builtins
import importlib
import sys
from typing import Any

import numpy as np
import torch

_BUILTINS: dict[str, Any] = dict(vars(builtins))
_LIBRARY: list[tuple[Any, str, Any]] = [
    (module, name, getattr(module, name))
    for module, names in (
        (torch, ("allclose", "isclose", "equal", "eq", "abs", "max", "all", "any")),
        (torch.Tensor, ("allclose", "equal", "__eq__", "all", "any", "item", "tolist")),
        (torch.testing, ("assert_close",)),
        (np, ("allclose", "isclose", "array_equal", "asarray", "abs", "max", "any", "all")),
        (np.testing, ("assert_allclose", "assert_array_equal")),
    )
    for name in names
]
_GUARDED_MODULES = ("course_utils.checks", "course_utils.guard", "course_utils.exercises")


def _fresh(name: str) -> Any:
    """``name`` imported again from its file (a replaced attribute does not survive)."""
    module = sys.modules.get(name)
    if module is None:
        return importlib.import_module(name)
    return importlib.reload(module)


def restore(namespace: dict[str, Any]) -> list[str]:
    """Undo replacements of builtins, library comparisons and the course's checks.

    Args:
        namespace: the notebook's globals; every name of a guarded course_utils module bound
            there is bound again to that module's fresh function.
    Returns:
        what was put back (for the grader's log).
    """
    restored = []
    for name, value in _BUILTINS.items():
        if getattr(builtins, name, None) is not value:
            setattr(builtins, name, value)
            restored.append(f"builtins.{name}")
    for owner, name, value in _LIBRARY:
        if getattr(owner, name, None) is not value:
            setattr(owner, name, value)
            restored.append(f"{getattr(owner, '__name__', owner)}.{name}")
    for module_name in _GUARDED_MODULES:
        if module_name not in sys.modules:
            continue
        module = _fresh(module_name)
        public = getattr(module, "__all__", None) or [
            n for n in vars(module) if not n.startswith("_")
        ]
        for name in public:
            fresh = getattr(module, name, None)
            if callable(fresh) and name in namespace and namespace[name] is not fresh:
                namespace[name] = fresh
                restored.append(f"{name} (notebook)")
    return restored

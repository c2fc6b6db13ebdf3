"""The grading guard: make reference functions raise while a student's exercise runs.

Hidden tests compute the expected result with a library function (``torch.nn.functional``,
``torchvision.ops``, ...), then call the student's function inside ``with forbidden(...)``, so
a submission that only wraps the reference cannot pass. Unlike `course_utils.checks` (plain
assertions students read), this module patches modules and namespaces for the duration of a
block, and restores them on exit.

    from course_utils.guard import forbidden

    with forbidden((torchvision.ops, "nms"), reason="implement the suppression loop yourself"):
        keep = nms(boxes, scores, 0.5)
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

__all__ = ["AUTOGRAD", "forbidden", "functions_named"]

_MISSING = object()


# autograd's entry points: forbidden while a student writes a backward pass by hand
AUTOGRAD: tuple[tuple[Any, str], ...] = (
    (torch.autograd, "grad"),
    (torch.autograd, "backward"),
    (torch.Tensor, "backward"),
)


def functions_named(fragment: str, *modules: Any) -> tuple[tuple[Any, str], ...]:
    """Every callable attribute of ``modules`` whose name contains ``fragment``, as the
    ``(owner, name)`` pairs `forbidden` takes: e.g. every max-pooling function PyTorch has,
    ``functions_named("max_pool", F, torch, torch._C._nn)``, private entry points included."""
    return tuple(
        (module, name)
        for module in modules
        for name in dir(module)
        if fragment in name and callable(getattr(module, name, None))
    )


def _namespaces() -> list[dict[str, Any]]:
    """The global namespaces of every loaded module, and the one notebook cells run in.

    A module's ``__dict__`` is read with ``object.__getattribute__`` so that a lazy module
    (``importlib.util.LazyLoader``) is not loaded, and a module's own ``__getattr__`` never runs.
    """
    spaces: list[dict[str, Any]] = []
    seen: set[int] = set()

    def add(namespace: object) -> None:
        if type(namespace) is dict and id(namespace) not in seen:
            seen.add(id(namespace))
            spaces.append(namespace)

    for key, module in list(sys.modules.items()):
        # ``__main__`` may be a stand-in object (IPython's DummyMod) rather than a module
        if key == "__main__" or issubclass(type(module), types.ModuleType):
            try:
                add(object.__getattribute__(module, "__dict__"))
            except Exception:  # noqa: BLE001 - a module without a namespace has no aliases
                pass
    getipython = sys.modules.get("IPython.core.getipython")
    if getipython is not None:  # a notebook kernel: cells define names in the shell's user_ns
        try:
            shell = getipython.get_ipython()
            add(getattr(shell, "user_ns", None))
        except Exception:  # noqa: BLE001
            pass
    return spaces


def _rebind(
    spaces: list[dict[str, Any]], replacements: dict[int, tuple[Any, Any]]
) -> list[tuple[dict[str, Any], str, Any]]:
    """Bind ``new`` wherever a namespace binds ``old``, for each ``id(old): (old, new)``.

    Returns ``(namespace, name, old)`` for every binding replaced. The identity test first
    runs in C over each namespace's values (``isdisjoint``), so a namespace without a match
    costs one pass that calls no Python code.
    """
    replaced = []
    wanted = replacements.keys()
    for space in spaces:
        try:
            if wanted.isdisjoint(map(id, space.values())):
                continue
        except RuntimeError:  # changed size while being read (another thread importing)
            pass
        for name, value in list(space.items()):
            hit = replacements.get(id(value))
            if hit is not None and value is hit[0]:
                space[name] = hit[1]
                replaced.append((space, name, value))
    return replaced


@contextmanager
def forbidden(*targets: tuple[Any, str], reason: str) -> Iterator[None]:
    """Make library functions raise while an exercise runs, when they are its reference.

    Args:
        targets: ``(owner, attribute)`` pairs, e.g. ``(torch.nn.functional, "conv2d")``;
            each attribute is replaced by a function that raises ``AssertionError`` with
            ``reason`` and the name of what was called, and restored on exit (even on error).
        reason: what the student should do instead, e.g. "implement the loops yourself".

    Tests compute the reference first, then call the student's function inside
    ``with forbidden(...)``, so a submission that only wraps the reference cannot pass.

    Aliases are caught too: every other binding of a forbidden function (the same object)
    in a loaded module's globals or in the notebook's namespace (``__main__``) is replaced
    for the block, so ``from torchvision.ops import nms as n`` before the block, or a library
    that imported the function under its own name, raises the same error, naming the
    forbidden function. A forbidden function kept elsewhere (in a list, a default argument,
    a closure, a class) is not found; neither are classes, which are never searched for.
    Bindings made during the block (a module imported by the exercise) are restored on exit.
    """
    saved = []
    for owner, name in targets:
        try:  # the raw entry, so that a staticmethod or classmethod is restored as it was
            raw = vars(owner).get(name, _MISSING)
        except TypeError:  # no __dict__
            raw = _MISSING
        saved.append((owner, name, raw, getattr(owner, name)))

    def refusing(qualified: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError(f"{qualified} was called: {reason}")

        refuse.__qualname__ = refuse.__name__ = f"forbidden {qualified}"
        return refuse

    def qualified_name(owner: Any, name: str) -> str:
        return f"{getattr(owner, '__name__', type(owner).__name__)}.{name}"

    # One refusing stand-in per forbidden object for its aliases, named after its first target.
    aliases: dict[int, tuple[Any, Any]] = {}
    for owner, name, _, value in saved:
        if callable(value) and not isinstance(value, type) and id(value) not in aliases:
            aliases[id(value)] = (value, refusing(qualified_name(owner, name)))
    # every stand-in, and the object it replaces
    restore: dict[int, tuple[Any, Any]] = {id(new): (new, old) for old, new in aliases.values()}
    replaced: list[tuple[dict[str, Any], str, Any]] = []
    patched: list[tuple[Any, str, Any]] = []
    try:
        for owner, name, raw, value in saved:
            stand_in = refusing(qualified_name(owner, name))
            restore[id(stand_in)] = (stand_in, value)
            setattr(owner, name, stand_in)
            patched.append((owner, name, raw))
        replaced = _rebind(_namespaces(), aliases)
        yield
    finally:
        for space, name, original in reversed(replaced):
            space[name] = original
        for owner, name, raw in reversed(patched):
            if raw is _MISSING:  # inherited (a class attribute of a base): drop the shadow
                delattr(owner, name)
            else:
                setattr(owner, name, raw)
        # a module first imported inside the block may have bound a stand-in under its own name
        _rebind(_namespaces(), restore)

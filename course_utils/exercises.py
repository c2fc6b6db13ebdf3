"""Exercises in a notebook: failures that read like hints, and cells that survive unwritten ones.

Two things make a student's Run All useful before every exercise is written:

- `needs` wraps a cell that *uses* exercises (a figure, an explorer, a training run). When an
  exercise is not written yet, or raises, the cell prints one line saying which one to write or
  fix, and the error stops there, so Run All goes on to the cells below.
- `install` (run when `course_utils` is imported in an IPython kernel) shows two kinds of error
  in one line instead of a traceback: an exercise still raising ``NotImplementedError`` (the
  student stub), and a failed `course_utils.checks` assertion (its message says what was
  expected and what came out; frames inside `course_utils` add nothing). Both remain errors:
  the cell is marked failed, nbgrader scores the check cell 0, and JupyterLab's Run All goes
  past it only because check cells carry the ``raises-exception`` tag.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import Any

_RED = "\x1b[31m"
_BOLD = "\x1b[1m"
_RESET = "\x1b[0m"


def _user_namespace() -> dict[str, Any] | None:
    """The namespace notebook cells run in, or None outside IPython."""
    shell = _shell()
    return shell.user_ns if shell is not None else None


def _shell() -> Any:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        return ipython.get_ipython()
    except Exception:  # a half-imported IPython: behave as outside it
        return None


def _frames(tb: TracebackType | None) -> list[FrameType]:
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames


def _defined_in_notebook(frame: FrameType) -> bool:
    user_ns = _user_namespace()
    if user_ns is not None:
        return frame.f_globals is user_ns
    return frame.f_globals.get("__name__") == "__main__"


def unwritten_exercise(exc: BaseException) -> str | None:
    """The name of the notebook function whose body raised ``exc``, when ``exc`` is the
    ``NotImplementedError`` of an exercise stub (``LeNet.forward``, ``box_iou``); else None."""
    if not isinstance(exc, NotImplementedError):
        return None
    frames = _frames(exc.__traceback__)
    if not frames or not _defined_in_notebook(frames[-1]):
        return None  # raised by a library: not a student's stub
    code = frames[-1].f_code
    name = getattr(code, "co_qualname", code.co_name)
    return None if name == "<module>" else name


def _from_checks(exc: BaseException) -> bool:
    """True when ``exc`` is an assertion raised inside `course_utils` (a check's verdict)."""
    frames = _frames(exc.__traceback__)
    return (
        isinstance(exc, AssertionError)
        and bool(frames)
        and str(frames[-1].f_globals.get("__name__", "")).startswith("course_utils")
    )


def _skipped_upstream(exc: BaseException) -> bool:
    """A NameError in the cell itself (not inside a function): a variable an earlier cell
    would have made, had it not been skipped."""
    frames = _frames(exc.__traceback__)
    return (
        isinstance(exc, NameError)
        and bool(frames)
        and frames[-1].f_code.co_name == "<module>"
        and _defined_in_notebook(frames[-1])
    )


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def describe(exc: BaseException) -> str:
    """One line saying what went wrong in student terms (no ANSI colours)."""
    name = unwritten_exercise(exc)
    if name is not None:
        return (
            f"`{name}` is not written yet: replace `raise NotImplementedError()` in its exercise "
            "cell with your code, run that cell, then run this one again."
        )
    if _from_checks(exc):
        return f"Check failed: {_first_line(exc, limit=2000)}"
    return f"{type(exc).__name__}: {_first_line(exc)}"


@contextmanager
def needs(*exercises: str) -> Iterator[None]:
    """Run a cell's body that uses ``exercises``; if it raises, print one line and go on.

    Example:
        >>> with needs("box_iou", "nms"):
        ...     explorer(nms_explorer_figure, {...})

    Only ``Exception`` is caught (an interrupt still stops the cell). Variables assigned inside
    the block are missing after a failure: cells that use them should use ``needs`` too.
    """
    try:
        yield
    except Exception as exc:
        names = ", ".join(f"`{n}`" for n in exercises) or "an exercise above"
        what = unwritten_exercise(exc)
        if what is not None:
            reason = f"`{what}` is not written yet. Write it above, run its cell, then this one."
        elif _skipped_upstream(exc):
            missing = getattr(exc, "name", None) or _first_line(exc)
            reason = (
                f"`{missing}` is missing because a cell above was skipped: an exercise it needs "
                "is not written yet. Write it, then run the notebook again from there."
            )
        else:
            reason = f"it raised {describe(exc)} (fix it above, then run this cell again)."
        print(f"Skipped: this cell needs {names}; {reason}")


def _handler(
    shell: Any, etype: type, value: BaseException, tb: TracebackType, tb_offset: int | None = None
) -> list[str]:
    """IPython custom exception handler: one line for stubs and failed checks, else the usual
    traceback. It must display the error itself (IPython only asks it for the text)."""
    if unwritten_exercise(value) is not None or _from_checks(value):
        label = "NotImplementedError" if isinstance(value, NotImplementedError) else "Check failed"
        text = describe(value)
        if text.startswith("Check failed: "):
            text = text[len("Check failed: ") :]
        stb = [f"{_RED}{_BOLD}{label}{_RESET}: {text}"]
    else:
        stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    shell._showtraceback(etype, value, stb)
    return stb


def install() -> bool:
    """Show unwritten exercises and failed checks in one line in this IPython session.

    Called when `course_utils` is imported; does nothing outside IPython and keeps any custom
    handler someone else installed. Returns True when the display is active.
    """
    shell = _shell()
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    if getattr(shell, "_course_utils_exercises", False):
        return True
    if shell.custom_exceptions:  # another tool's handler: leave it alone
        return False
    shell.set_custom_exc((NotImplementedError, AssertionError), _handler)
    shell._course_utils_exercises = True
    return True

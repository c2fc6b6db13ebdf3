"""Read submission exports the way learning management systems write them.

Each format gives every notebook file a *stable* student key (the identifier that stays the
same across resubmissions) and an *attempt* order (which file is newer):

| format       | layout                                                         | student key        |
|--------------|----------------------------------------------------------------|--------------------|
| `canvas`     | ``lastfirst[_LATE]_USERID_SUBMISSIONID_name[-N].ipynb``        | Canvas user id     |
| `moodle`     | ``Full Name_PARTICIPANTID_assignsubmission_file_/name.ipynb``  | participant id     |
| `blackboard` | ``Assignment_username_attempt_DATE_name.ipynb`` (+ ``.txt``)   | username           |
| `gradescope` | ``submission_N/…`` folders + ``submission_metadata.yml``       | email, else SID    |
| `folders`    | ``student_id/name.ipynb``                                      | folder name        |
| `flat`       | ``student_id_name.ipynb``                                      | file name prefix   |

`detect` picks the format from the files; `scan` lists every file with what it is. Files that
are not notebooks of the assignment are reported as ignored with the reason, never taken as
students.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .sanitize import NUMBERED_SUFFIX, match_notebook

FORMATS = ("canvas", "moodle", "blackboard", "gradescope", "folders", "flat")
_SKIP_PARTS = {"__MACOSX", ".ipynb_checkpoints"}

CANVAS = re.compile(
    r"^(?P<name>[a-z0-9]+?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+?)"
    r"(?:-(?P<copy>\d+))?$"
)
MOODLE_FOLDER = re.compile(r"^(?P<name>.+)_(?P<participant>\d+)_assignsubmission_file_?$")
BLACKBOARD = re.compile(
    r"^(?P<prefix>.+)_attempt_(?P<date>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})(?:_(?P<file>.+))?$"
)
GRADESCOPE_METADATA = "submission_metadata.yml"


@dataclass
class Entry:
    """One notebook file of the export and whose it is."""

    path: Path
    student: str  # the format's stable key
    notebook: str  # the assignment notebook it is (canonical name)
    attempt: tuple = ()  # larger is newer (attempt number, date, copy number, mtime)
    name: str = ""  # the student's name when the export gives it
    aliases: tuple[str, ...] = ()  # further identifiers (email, SID) for the roster


@dataclass
class Scan:
    """Everything found in an export."""

    format: str
    root: Path
    entries: list[Entry] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)  # (file, why)
    files_found: int = 0


def export_root(root: Path) -> Path:
    """Descend through single top-level folders (as archivers and LMSs wrap exports).

    A folder is descended into when it is the only entry besides archive debris, unless it
    looks like one student's folder (notebooks straight inside, no further folders).
    """
    while True:
        children = [
            p for p in root.iterdir() if p.name not in _SKIP_PARTS and not p.name.startswith(".")
        ]
        if len(children) != 1 or not children[0].is_dir():
            return root
        only = children[0]
        if MOODLE_FOLDER.match(only.name) or (only / GRADESCOPE_METADATA).exists():
            return root if MOODLE_FOLDER.match(only.name) else only
        inner = list(only.iterdir())
        if inner and not any(p.is_dir() for p in inner if p.name not in _SKIP_PARTS):
            # notebooks straight inside: an export's flat files, or one student's folder
            if any(CANVAS.match(p.stem) or BLACKBOARD.match(p.stem) for p in inner):
                root = only
                continue
            if all(p.suffix != ".ipynb" or "_" in p.stem for p in inner) and len(inner) > 1:
                root = only  # flat <id>_<name> files wrapped in a folder
                continue
            return root
        root = only


def _files(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_dir() or any(p in _SKIP_PARTS or p.startswith(".") for p in rel.parts):
            continue
        found.append(path)
    return found


def detect(root: Path) -> str:
    """The format of the export under ``root`` (after `export_root`)."""
    files = _files(root)
    if (root / GRADESCOPE_METADATA).exists() or any(f.name == GRADESCOPE_METADATA for f in files):
        return "gradescope"
    notebooks = [f for f in files if f.suffix == ".ipynb"]
    top_dirs = {
        f.relative_to(root).parts[0] for f in notebooks if len(f.relative_to(root).parts) > 1
    }
    if top_dirs and all(MOODLE_FOLDER.match(d) for d in top_dirs):
        return "moodle"
    flat = [f for f in notebooks if len(f.relative_to(root).parts) == 1]
    if flat and sum(bool(BLACKBOARD.match(f.stem)) for f in flat) * 2 >= len(flat):
        return "blackboard"
    if flat and sum(bool(CANVAS.match(f.stem)) for f in flat) * 2 >= len(flat):
        return "canvas"
    if top_dirs and len(top_dirs) * 2 >= len(notebooks) - len(flat) and not flat:
        return "folders"
    return "flat" if flat else "folders"


def _notebook_of(stem: str, names: list[str]) -> str | None:
    name = match_notebook(stem, names)
    if name is None and len(names) == 1:
        return None
    return name


def _scan_canvas(root: Path, names: list[str], scan: Scan) -> None:
    for path in _files(root):
        m = CANVAS.match(path.stem)
        if path.suffix != ".ipynb":
            scan.ignored.append((path, "not a notebook"))
            continue
        if not m:
            scan.ignored.append((path, "not a Canvas submission file name"))
            continue
        notebook = match_notebook(m["file"], names) or (names[0] if len(names) == 1 else None)
        if notebook is None:
            scan.ignored.append((path, f"not one of {', '.join(names)}"))
            continue
        attempt = (int(m["submission"]), int(m["copy"] or 0), path.stat().st_mtime)
        scan.entries.append(Entry(path, m["user"], notebook, attempt, name=m["name"]))


def _scan_moodle(root: Path, names: list[str], scan: Scan) -> None:
    for path in _files(root):
        rel = path.relative_to(root)
        m = MOODLE_FOLDER.match(rel.parts[0]) if len(rel.parts) > 1 else None
        if path.suffix != ".ipynb":
            scan.ignored.append((path, "not a notebook"))
        elif m is None:
            scan.ignored.append((path, "outside a Moodle submission folder"))
        elif (notebook := _pick(path.stem, names)) is None:
            scan.ignored.append((path, f"not one of {', '.join(names)}"))
        else:
            scan.entries.append(
                Entry(path, m["participant"], notebook, (path.stat().st_mtime,), name=m["name"])
            )


def _scan_blackboard(root: Path, names: list[str], scan: Scan) -> None:
    for path in _files(root):
        m = BLACKBOARD.match(path.stem)
        if path.suffix == ".txt" and m and not m["file"]:
            continue  # Blackboard's receipt for an attempt: expected, not a submission
        if path.suffix != ".ipynb":
            scan.ignored.append((path, "not a notebook"))
        elif m is None or not m["file"]:
            scan.ignored.append((path, "not a Blackboard attempt file name"))
        elif (notebook := _pick(m["file"], names)) is None:
            scan.ignored.append((path, f"not one of {', '.join(names)}"))
        else:
            user = m["prefix"].rsplit("_", 1)[-1]
            scan.entries.append(Entry(path, user, notebook, (m["date"], path.stat().st_mtime)))


def _gradescope_submitters(root: Path) -> dict[str, list[dict]]:
    import yaml

    found: dict[str, list[dict]] = {}
    for meta in root.rglob(GRADESCOPE_METADATA):
        data = yaml.safe_load(meta.read_text(encoding="utf-8")) or {}
        if meta.parent != root and ":submitters" in data:  # one folder's own metadata
            data = {meta.parent.name: data}
        for folder, info in data.items():
            people = (info or {}).get(":submitters") or (info or {}).get("submitters") or []
            found[str(folder)] = [
                {str(k).lstrip(":"): v for k, v in person.items()} for person in people
            ]
    return found


def _scan_gradescope(root: Path, names: list[str], scan: Scan) -> None:
    submitters = _gradescope_submitters(root)
    for path in _files(root):
        rel = path.relative_to(root)
        if path.name == GRADESCOPE_METADATA:
            continue
        if path.suffix != ".ipynb":
            scan.ignored.append((path, "not a notebook"))
            continue
        people = submitters.get(rel.parts[0]) if len(rel.parts) > 1 else None
        if not people:
            scan.ignored.append((path, "in no submission listed by submission_metadata.yml"))
            continue
        notebook = _pick(path.stem, names)
        if notebook is None:
            scan.ignored.append((path, f"not one of {', '.join(names)}"))
            continue
        for person in people:  # a group submission counts for each member
            email, sid = str(person.get("email") or ""), str(person.get("sid") or "")
            key = email or sid or str(person.get("name") or rel.parts[0])
            aliases = tuple(a for a in (email, sid) if a and a != key)
            scan.entries.append(
                Entry(
                    path,
                    key,
                    notebook,
                    (path.stat().st_mtime,),
                    str(person.get("name") or ""),
                    aliases,
                )
            )


def _scan_folders(root: Path, names: list[str], scan: Scan) -> None:
    for path in _files(root):
        rel = path.relative_to(root)
        if path.suffix != ".ipynb":
            scan.ignored.append((path, "not a notebook"))
        elif len(rel.parts) < 2:
            scan.ignored.append((path, "not inside a student's folder"))
        elif (notebook := _pick(path.stem, names)) is None:
            scan.ignored.append((path, f"not one of {', '.join(names)}"))
        else:
            scan.entries.append(Entry(path, rel.parts[0], notebook, (path.stat().st_mtime,)))


def split_flat(stem: str, names: list[str]) -> tuple[str, str] | None:
    """``<student_id>_<notebook>`` (with "Copy of"/"(1)" decorations) -> (student, notebook)."""
    bare = NUMBERED_SUFFIX.sub("", stem.strip())
    for name in sorted(names, key=len, reverse=True):
        words = r"[ _-]+".join(re.escape(part) for part in re.split(r"[ _-]+", name))
        match = re.match(rf"^(.+?)[ _-]+(?:copy[ _]of[ _]+)*{words}$", bare, re.IGNORECASE)
        if match:
            return match.group(1), name
    return None


def _scan_flat(root: Path, names: list[str], scan: Scan) -> None:
    for path in _files(root):
        if path.suffix != ".ipynb":
            scan.ignored.append((path, "not a notebook"))
            continue
        found = split_flat(path.stem, names)
        if found is None:
            scan.ignored.append((path, f"not named <student>_<notebook> for {', '.join(names)}"))
            continue
        student, notebook = found
        scan.entries.append(Entry(path, student, notebook, (path.stat().st_mtime,)))


def _pick(stem: str, names: list[str]) -> str | None:
    """The assignment notebook a file is; with one notebook, any file name is taken as it."""
    return match_notebook(stem, names) or (names[0] if len(names) == 1 else None)


SCANNERS: dict[str, Callable[[Path, list[str], Scan], None]] = {
    "canvas": _scan_canvas,
    "moodle": _scan_moodle,
    "blackboard": _scan_blackboard,
    "gradescope": _scan_gradescope,
    "folders": _scan_folders,
    "flat": _scan_flat,
}


def scan(root: Path, names: list[str], fmt: str = "auto") -> Scan:
    """Every file of the export under ``root``: entries (student, notebook) and ignored files.

    Args:
        root: the unpacked export (a single top-level folder is descended into).
        names: the assignment's notebook names (without .ipynb).
        fmt: one of `FORMATS`, or "auto" to detect it.
    """
    if fmt != "auto" and fmt not in FORMATS:
        raise ValueError(f"unknown submission format {fmt!r}; use auto or one of {FORMATS}")
    root = export_root(root)
    fmt = detect(root) if fmt == "auto" else fmt
    result = Scan(fmt, root, files_found=len(_files(root)))
    SCANNERS[fmt](root, names, result)
    return result

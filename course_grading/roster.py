"""`--roster roster.csv`: map whatever an LMS export identifies students by to course ids.

The CSV has a header row. ``student_id`` (the id the course gradebook uses) is required; every
other column holds identifiers that may appear in an export: ``email``, ``name``, ``sis_id``,
``canvas_id``, ``moodle_id``, ``blackboard_username``, ``gradescope_sid`` (any further column
is used the same way). Matching ignores case and, for names, spacing and word order ("Jane
Doe", "doejane" and "Doe, Jane" are one name).

    student_id,name,email,canvas_id,moodle_id,blackboard_username
    jdoe,Jane Doe,jdoe@example.edu,104233,5521,jdoe2
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


def _key(value: str) -> str:
    return value.strip().lower()


def name_keys(name: str) -> set[str]:
    """Spellings of a person's name an LMS may use: "jane doe" -> {"janedoe", "doejane"}."""
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]
    if not words:
        return set()
    if "," in name:  # "Doe, Jane"
        words = words[1:] + words[:1]
    return {"".join(words), "".join(words[1:] + words[:1]), "".join(words[-1:] + words[:-1])}


@dataclass
class Roster:
    """Course students and every identifier that leads to each of them."""

    students: list[str]
    names: dict[str, str] = field(default_factory=dict)  # student_id -> display name
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # student_id -> the row
    _index: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | Path) -> Roster:
        path = Path(path)
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                rows = list(csv.DictReader(handle))
        except FileNotFoundError:
            raise FileNotFoundError(f"roster {path} not found") from None
        if not rows or "student_id" not in rows[0]:
            raise ValueError(
                f"{path}: a roster needs a header row with a student_id column (and any of "
                "email, name, sis_id, canvas_id, moodle_id, blackboard_username, gradescope_sid)"
            )
        roster = cls(students=[])
        for line, row in enumerate(rows, start=2):
            sid = (row.get("student_id") or "").strip()
            if not sid:
                raise ValueError(f"{path}, line {line}: empty student_id")
            roster.students.append(sid)
            roster.names[sid] = (row.get("name") or "").strip()
            roster.columns[sid] = {k: (v or "").strip() for k, v in row.items() if k}
            roster._add(sid, sid)
            for column, value in row.items():
                if column is None or column == "student_id" or not (value or "").strip():
                    continue
                if column == "name":
                    for key in name_keys(value):
                        roster._add(key, sid)
                else:
                    roster._add(_key(value), sid)
        return roster

    def _add(self, key: str, sid: str) -> None:
        self._index.setdefault(_key(key), sid)

    def match(self, identifiers: Iterable[str]) -> str | None:
        """The course id of the first identifier (or name spelling) the roster knows."""
        for ident in identifiers:
            if not ident:
                continue
            for key in (_key(ident), *name_keys(ident)):
                if key in self._index:
                    return self._index[key]
        return None

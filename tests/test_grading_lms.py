"""LMS exports as the systems write them: formats, stable ids, resubmissions, rosters, strays."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course_grading.lms import detect, export_root, scan
from course_grading.roster import Roster
from course_grading.submissions import collect_export

NAMES = ["pytorch_tutorial"]


def _nb(path: Path, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), str(path))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _canvas(root: Path) -> Path:
    now = time.time()
    _nb(root / "doejane_104233_5566778_pytorch_tutorial.ipynb", now - 100)
    _nb(root / "doejane_LATE_104233_5570001_pytorch_tutorial-1.ipynb", now)
    _nb(root / "smithbob_200000_5566779_pytorch_tutorial.ipynb")
    _nb(root / "README.ipynb")
    (root / "notes.txt").write_text("hello")
    return root


def test_canvas_keeps_the_user_id_across_late_resubmissions(tmp_path):
    found = collect_export(_canvas(tmp_path / "export"), "a", NAMES)
    assert found.format == "canvas"
    subs = {s.student_id: s for s in found.submissions}
    assert sorted(subs) == ["104233", "200000"]  # README.ipynb is no student
    assert subs["104233"].notebooks["pytorch_tutorial"].name.startswith("doejane_LATE")
    assert any("2 files for pytorch_tutorial" in p for p in subs["104233"].problems)
    ignored = dict(found.ignored)
    assert ignored["README.ipynb"] == "not a Canvas submission file name"
    assert ignored["notes.txt"] == "not a notebook"
    assert "older than" in ignored["doejane_104233_5566778_pytorch_tutorial.ipynb"]
    assert found.files_found == 5 and found.files_graded == 2
    assert "files found: 5, graded: 2, ignored: 3, unmatched: 0" in found.summary()


def test_a_zip_with_one_top_level_folder_is_the_whole_class(tmp_path):
    src = _canvas(tmp_path / "src")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in src.iterdir():
            zf.write(f, f"Homework 1 Submissions/{f.name}")
        zf.writestr("__MACOSX/Homework 1 Submissions/._README.ipynb", "junk")
    found = collect_export(archive, "a", NAMES, workdir=tmp_path / "x")
    assert [s.student_id for s in found.submissions] == ["104233", "200000"]


def test_zip_member_timestamps_order_resubmissions(tmp_path):
    src = tmp_path / "src"
    old = _nb(src / "jdoe_pytorch_tutorial.ipynb")
    new = _nb(src / "sub2" / "jdoe_pytorch_tutorial (1).ipynb")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(
            zipfile.ZipInfo("jdoe_pytorch_tutorial (1).ipynb", (2026, 10, 2, 9, 0, 0)),
            new.read_text(),
        )
        zf.writestr(
            zipfile.ZipInfo("jdoe_pytorch_tutorial.ipynb", (2026, 10, 1, 9, 0, 0)), old.read_text()
        )
    found = collect_export(archive, "a", NAMES, workdir=tmp_path / "x", fmt="flat")
    [sub] = found.submissions
    assert sub.notebooks["pytorch_tutorial"].name == "jdoe_pytorch_tutorial (1).ipynb"


def test_moodle_folders_give_participant_ids(tmp_path):
    root = tmp_path / "moodle"
    _nb(root / "Jane Doe_5521_assignsubmission_file_" / "pytorch_tutorial.ipynb")
    _nb(root / "Bob Smith_5522_assignsubmission_file_" / "Copy of pytorch_tutorial (1).ipynb")
    (root / "Bob Smith_5522_assignsubmission_file_" / "notes.txt").write_text("x")
    found = collect_export(root, "a", NAMES)
    assert found.format == "moodle"
    assert [s.student_id for s in found.submissions] == ["5521", "5522"]
    assert dict(found.ignored) == {
        "Bob Smith_5522_assignsubmission_file_/notes.txt": "not a notebook"
    }


def test_blackboard_attempts_and_receipts(tmp_path):
    root = tmp_path / "bb"
    _nb(root / "Homework 1_jdoe2_attempt_2026-10-01-12-30-45_pytorch_tutorial.ipynb")
    _nb(root / "Homework 1_jdoe2_attempt_2026-10-03-08-00-00_pytorch_tutorial.ipynb")
    (root / "Homework 1_jdoe2_attempt_2026-10-01-12-30-45.txt").write_text("receipt")
    (root / "Homework 1_jdoe2_attempt_2026-10-03-08-00-00.txt").write_text("receipt")
    _nb(root / "Homework 1_asmith_attempt_2026-10-02-10-00-00_pytorch_tutorial.ipynb")
    found = collect_export(root, "a", NAMES)
    assert found.format == "blackboard"
    subs = {s.student_id: s for s in found.submissions}
    assert sorted(subs) == ["asmith", "jdoe2"]
    assert "2026-10-03" in subs["jdoe2"].notebooks["pytorch_tutorial"].name
    assert all("receipt" not in why for _, why in found.ignored)
    assert len(found.ignored) == 1  # the older attempt


def test_gradescope_export_uses_the_metadata(tmp_path):
    root = tmp_path / "gs" / "assignment_4711_export"
    _nb(root / "submission_001" / "pytorch_tutorial.ipynb")
    _nb(root / "submission_002" / "work.ipynb")
    _nb(root / "submission_999" / "pytorch_tutorial.ipynb")
    (root / "submission_metadata.yml").write_text(
        "submission_001:\n  :submitters:\n  - :name: Jane Doe\n    :sid: '111'\n"
        "    :email: jdoe@example.edu\n  :created_at: 2026-10-01 10:00:00\n"
        "submission_002:\n  :submitters:\n  - :name: Bob Smith\n    :sid: '222'\n"
        "    :email: ''\n"
    )
    found = collect_export(tmp_path / "gs", "a", NAMES)
    assert found.format == "gradescope"
    assert [s.student_id for s in found.submissions] == ["222", "jdoe@example.edu"]
    assert dict(found.ignored) == {
        "submission_999/pytorch_tutorial.ipynb": "in no submission listed by submission_metadata.yml"
    }


def test_flat_strays_are_never_students(tmp_path):
    root = tmp_path / "flat"
    _nb(root / "alice_conv_arithmetic.ipynb")
    _nb(root / "alice_conv_layers.ipynb")
    _nb(root / "bob_conv_layers.ipynb")
    _nb(root / "README.ipynb")
    _nb(root / "notes.ipynb")
    found = collect_export(root, "a", ["conv_arithmetic", "conv_layers"])
    assert found.format == "flat"
    assert [s.student_id for s in found.submissions] == ["alice", "bob"]
    assert sorted(dict(found.ignored)) == ["README.ipynb", "notes.ipynb"]
    assert "missing notebook conv_arithmetic.ipynb" in found.submissions[1].problems


def test_one_students_folder_is_not_descended_into(tmp_path):
    _nb(tmp_path / "export" / "alice" / "pytorch_tutorial.ipynb")
    assert export_root(tmp_path / "export") == tmp_path / "export"
    assert detect(tmp_path / "export") == "folders"
    assert [s.student_id for s in collect_export(tmp_path / "export", "a", NAMES).submissions] == [
        "alice"
    ]


ROSTER = """student_id,name,email,canvas_id,moodle_id,blackboard_username
jdoe,Jane Doe,jdoe@example.edu,104233,5521,jdoe2
bsmith,Bob Smith,bsmith@example.edu,200000,5522,bsmith
cnobody,Carla Nobody,cn@example.edu,300000,5523,cnobody
"""


def test_roster_maps_every_format_and_lists_the_rest(tmp_path):
    (tmp_path / "roster.csv").write_text(ROSTER)
    roster = Roster.read(tmp_path / "roster.csv")
    canvas = _canvas(tmp_path / "canvas")
    _nb(canvas / "strangerx_999999_5566000_pytorch_tutorial.ipynb")
    found = collect_export(canvas, "a", NAMES, roster=roster)
    assert [s.student_id for s in found.submissions] == ["bsmith", "jdoe"]
    assert found.unmatched == [("strangerx_999999_5566000_pytorch_tutorial.ipynb", "999999")]
    assert found.absent == ["cnobody"]
    assert "no submission from: cnobody" in found.summary()
    moodle = tmp_path / "moodle"
    _nb(moodle / "Jane Doe_5521_assignsubmission_file_" / "pytorch_tutorial.ipynb")
    assert [
        s.student_id for s in collect_export(moodle, "a", NAMES, roster=roster).submissions
    ] == ["jdoe"]
    assert roster.match(["Doe, Jane"]) == "jdoe" and roster.match(["doejane"]) == "jdoe"


def test_bad_roster_and_format_say_what_to_do(tmp_path):
    (tmp_path / "r.csv").write_text("id,name\n1,x\n")
    with pytest.raises(ValueError, match="student_id column"):
        Roster.read(tmp_path / "r.csv")
    with pytest.raises(ValueError, match="unknown submission format"):
        scan(tmp_path, NAMES, "webct")


def test_grades_pivot_into_canvas_and_moodle_imports(tmp_path):
    from course_grading.reports import lms_table

    (tmp_path / "roster.csv").write_text(ROSTER)
    roster = Roster.read(tmp_path / "roster.csv")
    rows = [
        {
            "assignment": "01_pytorch_tutorial",
            "student_id": "jdoe",
            "score": "18.0",
            "max_score": "18.0",
        },
        {
            "assignment": "02_convolutions",
            "student_id": "jdoe",
            "score": "7.0",
            "max_score": "20.0",
        },
        {
            "assignment": "01_pytorch_tutorial",
            "student_id": "bsmith",
            "score": "0.0",
            "max_score": "18.0",
        },
    ]
    header, table = lms_table(rows, "canvas", roster)
    assert header == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "01_pytorch_tutorial",
        "02_convolutions",
    ]
    assert table[0] == ["Points Possible", "", "", "", "", "18.0", "20.0"]
    by_id = {r[1]: r for r in table[1:]}
    assert by_id["104233"] == ["Jane Doe", "104233", "", "jdoe@example.edu", "", "18.0", "7.0"]
    assert by_id["200000"][5:] == ["0.0", ""]
    assert by_id["300000"][5:] == ["", ""]  # on the roster, never graded
    header, table = lms_table(rows, "moodle", roster)
    assert header[:3] == ["Email address", "ID number", "Full name"]
    assert ["jdoe@example.edu", "jdoe", "Jane Doe", "18.0", "7.0"] in table

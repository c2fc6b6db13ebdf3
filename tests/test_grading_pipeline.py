"""The instructor's whole pipeline on the small sample assignment, through real nbgrader runs."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_grading.autograde import autograde, format_table
from course_grading.cli import main
from course_grading.demo import make_demo_submissions
from course_grading.execute import RecoveringExecute
from course_grading.notebooks import grade_id, read_notebook, write_notebook
from course_grading.release import release
from course_grading.reports import export_grades, feedback
from course_grading.roundtrip import roundtrip

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("grading-pipeline")]


def test_roundtrip_of_the_sample(sample_course, tmp_path):
    result = roundtrip(
        sample_course,
        "sample_assignment",
        tmp_path / "rt",
        wrong=("sample", "square", ["test_square"]),
    )
    assert result.max_score == 5
    assert result.scores == {"source": 5, "blank": 0, "messy": 5, "wrong": 2}
    assert result.problems == []


def test_release_stamps_colab_and_hides_answers(sample_course):
    [done] = release(sample_course, ["sample_assignment"], "https://github.com/uiuc/dv", "fall26")
    student = read_notebook(done.notebooks[0])
    ids = [grade_id(c) for c in student.cells]
    assert ids[1:3] == ["colab_badge", "colab_setup"]
    text = "\n".join(c.source for c in student.cells)
    assert "blob/fall26/grading/release/sample_assignment/sample.ipynb" in text
    assert "x.clamp(min=0)" not in text and "HIDDEN TESTS" not in text
    assert text.count("# YOUR CODE HERE") == 2 and text.count("raise NotImplementedError()") == 2


def test_demo_batch_grades_every_case_and_exports(sample_course, tmp_path):
    release(sample_course, ["sample_assignment"])
    demo = tmp_path / "demo"
    make_demo_submissions(sample_course, "sample_assignment", demo, exercise="relu")
    archive = tmp_path / "lms_export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in demo.iterdir():
            zf.write(f, f.name)
    rows = {r.student_id: r for r in autograde(sample_course, "sample_assignment", archive, jobs=2)}
    scores = {sid: row.score for sid, row in rows.items()}
    assert scores == {
        "alice": 5,
        "bob": 0,
        "carol": 3,
        "dave": 5,
        "erin": 5,
        "frank": 0,
        "grace": 5,
    }
    assert all(row.max_score == 5 for row in rows.values())
    assert rows["carol"].failed == ["test_relu"]
    assert "restored deleted test cell 'test_relu'" in rows["dave"].problems
    assert "removed Colab widget metadata" in rows["dave"].problems
    assert any("not valid JSON" in p for p in rows["frank"].problems)
    assert any("kernel died in cell" in p for p in rows["grace"].problems)
    table = format_table(list(rows.values()))
    assert table.splitlines()[0].split() == ["student", "score", "max", "notes"]

    files = feedback(sample_course, "sample_assignment")
    assert {f.parent.parent.name for f in files} >= {"alice", "bob", "carol", "dave", "erin"}
    html = next(f for f in files if f.parent.parent.name == "carol").read_text()
    assert "test_relu" in html or "relu" in html

    out = tmp_path / "grades.csv"
    exported = export_grades(sample_course, out)
    with out.open() as handle:
        header = next(csv.reader(handle))
    assert {"assignment", "student_id", "score", "max_score"} <= set(header)
    by_student = {r["student_id"]: float(r["score"]) for r in exported}
    assert by_student["alice"] == 5.0 and by_student["carol"] == 3.0 and by_student["bob"] == 0.0
    assert by_student["frank"] == 0.0  # nothing gradable, still in the export


def test_regrading_replaces_an_earlier_grade(sample_course, tmp_path):
    release(sample_course, ["sample_assignment"])
    first, second = tmp_path / "first", tmp_path / "second"
    make_demo_submissions(sample_course, "sample_assignment", first)
    (second).mkdir()
    (first / "alice_sample.ipynb").rename(second / "alice_sample.ipynb")
    [row] = autograde(sample_course, "sample_assignment", second)
    assert row.score == 5
    (second / "alice_sample.ipynb").write_text("{ broken")
    [row] = autograde(sample_course, "sample_assignment", second)
    assert row.score == 0 and "nothing gradable was submitted" in row.problems


def test_a_failed_regrade_never_keeps_the_earlier_grade_silently(sample_course, tmp_path):
    release(sample_course, ["sample_assignment"])
    source = read_notebook(sample_course.notebooks_dir / "sample_assignment" / "sample.ipynb")
    (tmp_path / "subs" / "alice").mkdir(parents=True)
    write_notebook(source, tmp_path / "subs" / "alice" / "sample.ipynb")
    [row] = autograde(sample_course, "sample_assignment", tmp_path / "subs")
    assert row.score == 5
    # more cells that kill the kernel than autograde runs the notebook again for
    for _ in range(RecoveringExecute().max_kernel_deaths + 1):
        source.cells.insert(2, nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    write_notebook(source, tmp_path / "subs" / "alice" / "sample.ipynb")
    [row] = autograde(sample_course, "sample_assignment", tmp_path / "subs")
    assert row.score == 0
    assert "the earlier grade (5) was removed" in "; ".join(row.problems), row.problems


def test_ctrl_c_stops_the_batch_and_every_process_it_started(sample_course, tmp_path):
    release(sample_course, ["sample_assignment"])
    source = read_notebook(sample_course.notebooks_dir / "sample_assignment" / "sample.ipynb")
    source.cells.insert(2, nbformat.v4.new_code_cell("import time\ntime.sleep(600)"))
    for student in ("s1", "s2", "s3", "s4"):
        (tmp_path / "subs" / student).mkdir(parents=True)
        write_notebook(source, tmp_path / "subs" / student / "sample.ipynb")
    cmd = [sys.executable, "-m", "course_grading.cli", "--course-dir", str(sample_course.root)]
    cmd += ["autograde", "sample_assignment", "--submissions", str(tmp_path / "subs")]
    cmd += ["--jobs", "2", "--flat-limits"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    autograded = sample_course.autograded_dir
    deadline = time.monotonic() + 300
    while not any(autograded.glob("*/sample_assignment/*.ipynb")) and time.monotonic() < deadline:
        time.sleep(0.5)  # wait until nbgrader is running kernels
    time.sleep(5)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    assert time.monotonic() - started < 60, "the batch did not stop promptly"
    assert proc.returncode == 130, output[-2000:]
    assert "interrupted" in output and "s4" in output  # the table is still printed
    time.sleep(2)
    leftovers = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(sample_course.root) in text or str(tmp_path) in text:
            leftovers.append(text[:200])
    assert leftovers == [], leftovers


def test_cli_reports_bad_input_clearly(sample_course, capsys):
    code = main(
        ["--course-dir", str(sample_course.root), "autograde", "nope", "--submissions", "x"]
    )
    assert code == 2
    assert (
        "unknown assignment 'nope'; known assignments: sample_assignment" in capsys.readouterr().err
    )
    code = main(
        [
            "--course-dir",
            str(sample_course.root),
            "release",
            "--repo-url",
            "https://example.com/x/y",
        ]
    )
    assert code == 2
    assert "Colab opens notebooks from GitHub only" in capsys.readouterr().err


def test_an_infinite_loop_costs_its_exercise_within_the_calibrated_limit(sample_course, tmp_path):
    from course_grading.limits import calibrated

    release(sample_course, ["sample_assignment"])
    path, data = calibrated(sample_course, "sample_assignment")
    relu_limit = data["cells"]["id:test_relu"]
    assert 10 <= relu_limit < 30  # 10 s floor + 10x a test that takes milliseconds
    assert sum(data["notebooks"].values()) > sum(data["cells"].values())
    source = read_notebook(sample_course.notebooks_dir / "sample_assignment" / "sample.ipynb")
    for cell in source.cells:
        if grade_id(cell) == "relu":
            cell.source = "def relu(x):\n    while True:\n        pass"
    (tmp_path / "subs" / "looper").mkdir(parents=True)
    write_notebook(source, tmp_path / "subs" / "looper" / "sample.ipynb")
    started = time.perf_counter()
    [row] = autograde(sample_course, "sample_assignment", tmp_path / "subs")
    elapsed = time.perf_counter() - started
    assert row.score == 3 and row.failed == ["test_relu"]
    assert any("time limit" in p for p in row.problems), row.problems
    assert elapsed < 300, f"the loop cost {elapsed:.0f} s: more than the old per-cell limit"

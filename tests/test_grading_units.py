"""Grading building blocks that need no nbgrader run: names, collection, sanitising, stamping."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_grading import colab
from course_grading.autograde import kernel_threads
from course_grading.notebooks import (
    check_notebook,
    grade_id,
    normalize_notebook,
    points_by_test,
    read_notebook,
    write_unvalidated,
)
from course_grading.release import leaks
from course_grading.sanitize import (
    SubmissionError,
    canonical_name,
    load_submission,
    match_notebook,
    sanitize,
)
from course_grading.submissions import collect
from course_grading.variants import blank_exercise, messy

SAMPLE = Path(__file__).parent / "fixtures" / "notebooks" / "sample_assignment" / "sample.ipynb"


@pytest.fixture
def sample_nb():
    return read_notebook(SAMPLE)


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("pytorch_tutorial", "pytorch_tutorial"),
        ("Copy of pytorch_tutorial", "pytorch_tutorial"),
        ("Copy of Copy of pytorch_tutorial (2)", "pytorch_tutorial"),
        ("pytorch_tutorial (1)", "pytorch_tutorial"),
        ("pytorch_tutorial(3)", "pytorch_tutorial"),
        ("pytorch_tutorial copy", "pytorch_tutorial"),
    ],
)
def test_canonical_name(stem, expected):
    assert canonical_name(stem) == expected


def test_match_notebook_ignores_case_spaces_and_decorations():
    names = ["conv_arithmetic", "conv_layers"]
    assert match_notebook("Copy of Conv Layers (1)", names) == "conv_layers"
    assert match_notebook("conv-arithmetic", names) == "conv_arithmetic"
    assert match_notebook("something_else", names) is None


def _nb_file(path: Path, text: str = "x = 1") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=[new_code_cell(text)]), str(path))
    return path


def test_collect_folder_per_student(tmp_path):
    _nb_file(tmp_path / "s1" / "conv_layers.ipynb")
    _nb_file(tmp_path / "s1" / "Copy of conv_arithmetic (1).ipynb")
    _nb_file(tmp_path / "s2" / "02_convolutions" / "conv_layers.ipynb")
    _nb_file(tmp_path / "s2" / ".ipynb_checkpoints" / "conv_layers-checkpoint.ipynb")
    subs = {
        s.student_id: s
        for s in collect(tmp_path, "02_convolutions", ["conv_arithmetic", "conv_layers"])
    }
    assert sorted(subs) == ["s1", "s2"]
    assert sorted(subs["s1"].notebooks) == ["conv_arithmetic", "conv_layers"]
    assert any("renamed" in p for p in subs["s1"].problems)
    assert sorted(subs["s2"].notebooks) == ["conv_layers"]
    assert "missing notebook conv_arithmetic.ipynb" in subs["s2"].problems


def test_collect_flat_lms_zip(tmp_path):
    files = [
        _nb_file(tmp_path / "src" / "jdoe_pytorch_tutorial.ipynb"),
        _nb_file(tmp_path / "src" / "asmith_Copy of pytorch_tutorial (1).ipynb"),
        _nb_file(tmp_path / "src" / "lee-2_pytorch_tutorial.ipynb"),
    ]
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in files:
            zf.write(f, f.name)
        zf.writestr("__MACOSX/._jdoe_pytorch_tutorial.ipynb", "junk")
    subs = {
        s.student_id: s
        for s in collect(archive, "01_pytorch_tutorial", ["pytorch_tutorial"], tmp_path / "x")
    }
    assert sorted(subs) == ["asmith", "jdoe", "lee-2"]
    assert all(list(s.notebooks) == ["pytorch_tutorial"] for s in subs.values())
    assert subs["asmith"].problems == [
        "renamed 'asmith_Copy of pytorch_tutorial (1).ipynb' to pytorch_tutorial.ipynb"
    ]
    assert subs["jdoe"].problems == []


def test_collect_rejects_what_it_cannot_read(tmp_path):
    with pytest.raises(FileNotFoundError):
        collect(tmp_path / "nope", "a", ["n"])
    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable zip"):
        collect(bad, "a", ["n"], tmp_path / "x")


def test_load_submission_errors_name_the_file(tmp_path):
    broken = tmp_path / "s_nb.ipynb"
    broken.write_text('{"cells": [')
    with pytest.raises(SubmissionError, match="s_nb.ipynb is not valid JSON"):
        load_submission(broken)
    other = tmp_path / "t_nb.ipynb"
    other.write_text(json.dumps({"hello": 1}))
    with pytest.raises(SubmissionError, match="not a Jupyter notebook"):
        load_submission(other)


def test_sanitize_repairs_a_messy_submission(sample_nb, tmp_path):
    path = tmp_path / "messy.ipynb"
    write_unvalidated(messy(sample_nb), path)
    raw = json.loads(path.read_text())
    assert "widgets" in raw["metadata"]
    nb, notes = sanitize(load_submission(path), sample_nb)
    assert "widgets" not in nb.metadata
    ids = [grade_id(c) for c in nb.cells if grade_id(c)]
    assert len(ids) == len(set(ids))
    assert len({c.id for c in nb.cells}) == len(nb.cells)
    # an earlier copy is a plain cell, not a grading cell without an id (nbgrader crashes on it)
    assert all(c.metadata.get("nbgrader", {"grade_id": 1}).get("grade_id") for c in nb.cells)
    assert "test_relu" not in ids  # restored later by nbgrader, reported now
    assert notes == [
        "removed Colab widget metadata",
        "duplicated cell 'relu': graded the last copy",
        "restored deleted test cell 'test_relu'",
    ]
    nbformat.validate(nb)
    # the student's code is all still there
    assert sum("def relu" in c.source for c in nb.cells) == 2


def test_sanitize_repairs_duplicate_cell_ids_and_grade_ids_in_memory(sample_nb):
    """Without nbformat.reads' own repair on the way in (a notebook built in memory)."""
    nb = nbformat.from_dict(json.loads(json.dumps(sample_nb)))
    relu = next(c for c in nb.cells if grade_id(c) == "relu")
    copy = nbformat.from_dict(json.loads(json.dumps(relu)))  # same cell id, same grade_id
    nb.cells.insert(nb.cells.index(relu), copy)
    nb, notes = sanitize(nb, sample_nb)
    assert len({c.id for c in nb.cells}) == len(nb.cells)
    assert [grade_id(c) for c in nb.cells].count("relu") == 1
    assert grade_id(nb.cells[nb.cells.index(copy) + 1]) == "relu", "the last copy is graded"
    assert notes == [
        "duplicated cell 'relu': graded the last copy",
        "gave 1 copied or id-less cell(s) fresh ids",
    ]
    nbformat.validate(nb)


def test_normalize_notebook_repairs_duplicate_cell_ids(sample_nb):
    nb = nbformat.from_dict(json.loads(json.dumps(sample_nb)))
    nb.cells[1]["id"] = nb.cells[0]["id"]
    with pytest.warns(Warning):  # nbformat reports what it corrected
        fixed = normalize_notebook(nb)
    assert len({c.id for c in fixed.cells}) == len(fixed.cells)
    nbformat.validate(fixed)


def test_blank_exercise_replaces_only_the_answer(sample_nb):
    nb = blank_exercise(sample_nb, "square")
    cell = next(c for c in nb.cells if grade_id(c) == "square")
    assert "raise NotImplementedError()" in cell.source and "x * x" not in cell.source
    assert '"""Elementwise x**2."""' in cell.source
    relu = next(c for c in nb.cells if grade_id(c) == "relu")
    assert "clamp" in relu.source
    with pytest.raises(ValueError, match="no solution cell"):
        blank_exercise(sample_nb, "missing")


def test_leaks_finds_solution_lines_and_markers(sample_nb):
    assert leaks(sample_nb, blank_exercise(blank_exercise(sample_nb, "relu"), "square")) == [
        "marker '### BEGIN HIDDEN TESTS' left in the student version",
        "marker '### END HIDDEN TESTS' left in the student version",
    ]
    found = leaks(sample_nb, sample_nb)
    assert any("solution line leaked in 'relu'" in p for p in found)
    assert any("BEGIN SOLUTION" in p for p in found)


def test_points_and_checks_of_the_sample(sample_nb):
    assert points_by_test(sample_nb) == {"test_relu": 2.0, "test_square": 3.0}
    assert check_notebook(sample_nb) == []


def test_check_notebook_lists_convention_breaks(sample_nb):
    nb = nbformat.from_dict(json.loads(json.dumps(sample_nb)))
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="hi")]
    nb.cells[3].metadata.nbgrader["points"] = 0
    nb.cells[4].metadata.nbgrader["grade_id"] = "relu"
    nb.cells[1].metadata.nbgrader["locked"] = False
    nb.cells.insert(0, new_code_cell("print('no title')"))
    nb.metadata["jupytext"] = {}
    nb.cells.append(new_markdown_cell("mAP@0.5 in prose, `AP@0.75` as code, $a@b$ in math"))
    problems = "\n".join(check_notebook(nb))
    assert "'mAP@0.5' renders as an e-mail link" in problems
    assert "AP@0.75" not in problems and "a@b" not in problems
    for expected in (
        "first cell must be the markdown title",
        "has outputs",
        "without points",
        "grade_id 'relu' already used",
        "setup cell must be locked",
        "editor metadata",
    ):
        assert expected in problems


def test_normalize_strips_outputs_and_editor_metadata(sample_nb):
    nb = nbformat.from_dict(json.loads(json.dumps(sample_nb)))
    nb.metadata["jupytext"] = {"x": 1}
    nb.metadata["colab"] = {"provenance": []}
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="hi")]
    nb.cells[2].execution_count = 4
    nb.cells[2].metadata["lines_to_next_cell"] = 2
    out = normalize_notebook(nb)
    assert set(out.metadata) == {"kernelspec", "language_info"}
    assert out.cells[2].outputs == [] and out.cells[2].execution_count is None
    assert set(out.cells[2].metadata) == {"nbgrader"}


def test_colab_urls_and_cells():
    assert colab.parse_github_url("https://github.com/uiuc/deep-vision.git") == (
        "uiuc",
        "deep-vision",
    )
    assert colab.parse_github_url("git@github.com:uiuc/deep-vision") == ("uiuc", "deep-vision")
    with pytest.raises(ValueError, match="GitHub"):
        colab.parse_github_url("https://gitlab.com/uiuc/deep-vision")
    url = colab.colab_url("https://github.com/uiuc/dv", "fall26", "grading/release/a/n.ipynb")
    assert (
        url
        == "https://colab.research.google.com/github/uiuc/dv/blob/fall26/grading/release/a/n.ipynb"
    )


def test_stamp_is_idempotent_and_harmless_locally():
    nb = new_notebook(cells=[new_markdown_cell("# Title"), new_code_cell("x = 1")])
    for _ in range(2):
        nb = colab.stamp(nb, "https://github.com/uiuc/dv", "fall26", "grading/release/a/n.ipynb")
    ids = [grade_id(c) for c in nb.cells]
    assert ids == [None, "colab_badge", "colab_setup", None]
    assert "colab.research.google.com/github/uiuc/dv/blob/fall26" in nb.cells[1].source
    setup = nb.cells[2].source
    assert "git+https://github.com/uiuc/dv.git@fall26" in setup
    assert "enable_custom_widget_manager" in setup
    namespace: dict = {}
    exec(compile(setup, "colab_setup", "exec"), namespace)  # outside Colab: does nothing
    assert "output" not in namespace and "subprocess" not in namespace


def test_missing_nbgrader_is_explained(monkeypatch, sample_course):
    import importlib.util

    from course_grading import runner

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        runner.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "nbgrader" else real_find_spec(name, *a),
    )
    with pytest.raises(RuntimeError, match=r"pip install -e \"\.\[instructor\]\""):
        runner.run_nbgrader(sample_course, "generate_assignment", "sample_assignment")


def _course_config():
    from traitlets.config.loader import PyFileConfigLoader

    grading_root = Path(__file__).resolve().parents[1] / "grading"
    return PyFileConfigLoader("nbgrader_config.py", path=str(grading_root)).load_config()


def test_course_config_drops_harmless_stderr_before_grading():
    """nbgrader gives 0 to a test cell with any stderr; the course's IgnorePattern prevents it."""
    from nbformat.v4 import new_output
    from nbgrader.preprocessors import IgnorePattern
    from nbgrader.utils import determine_grade

    def graded_cell(stderr: str):
        cell = new_code_cell("check()", outputs=[new_output("stream", name="stderr", text=stderr)])
        cell.metadata.nbgrader = {"grade": True, "grade_id": "t", "points": 2, "solution": False}
        return cell

    ignore = IgnorePattern(config=_course_config())
    assert ignore.enabled, "nbgrader runs IgnorePattern only when it is enabled"
    harmless = [
        "/x.py:3: UserWarning: a library deprecation notice\n  warnings.warn(msg)\n",
        "Matplotlib is building the font cache; this may take a moment.\n",
        " 40%|████      | 4/10 [00:01<00:02,  2.50it/s]",
    ]
    for text in harmless:
        cell, _ = ignore.preprocess_cell(graded_cell(text), {}, 0)
        assert determine_grade(cell) == (2, 2), text
    cell, _ = ignore.preprocess_cell(graded_cell("my own debug print to stderr\n"), {}, 0)
    assert determine_grade(cell) == (0, 2)  # anything else still counts, as nbgrader intends


def test_an_nbgrader_without_ignore_pattern_in_autograde_is_refused():
    from course_grading.runner import check_nbgrader_version

    check_nbgrader_version("0.9.4")
    check_nbgrader_version("0.10.0a1")
    with pytest.raises(RuntimeError, match=r"nbgrader 0\.9\.3 is too old: 0\.9\.4 or newer"):
        check_nbgrader_version("0.9.3")


@pytest.mark.parametrize(
    ("cores", "jobs", "omp", "expected"),
    [
        (8, 1, None, 8),
        (8, 2, None, 4),
        (2, 4, None, 1),
        (2, 1, "1", 1),
        (8, 2, "16", 4),
        (8, 1, "x", 8),
    ],
)
def test_kernel_threads_share_the_cores_and_respect_omp_num_threads(
    monkeypatch, cores, jobs, omp, expected
):
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    if omp is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", omp)
    assert kernel_threads(jobs) == expected

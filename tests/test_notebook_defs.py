"""benchmarks/notebook_defs: a benchmark loads exactly the definitions it asks for, and what
they need, from a source notebook."""

import builtins
import random
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from torchvision.ops import roi_align as tv_roi_align

from course_grading.notebooks import grade_id, is_solution_cell, read_notebook

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from notebook_defs import _binds_and_reads, _python_only, load_definitions  # noqa: E402

SOLUTIONS = [
    (path, grade_id(cell), cell.source)
    for path in sorted((REPO / "notebooks").glob("*/*.ipynb"))
    for cell in read_notebook(path).cells
    if cell.cell_type == "code" and is_solution_cell(cell)
]


def _write(tmp_path: Path, *sources: str, setup: str | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    if setup is not None:
        cell = nbformat.v4.new_code_cell(setup)
        cell.metadata["nbgrader"] = {"grade_id": "setup"}
        nb.cells.append(cell)
    nb.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    path = tmp_path / "defs.ipynb"
    nbformat.write(nb, path)
    return path


def test_only_the_cells_the_names_need_run(tmp_path):
    """A function's globals come from the cells above it, data cells included; cells nothing
    requested reads (a training run that would fail here, an unrelated figure) are skipped,
    and a later rebinding does not leak into an earlier definition."""
    path = _write(
        tmp_path,
        "SCALE = 3",
        "%matplotlib inline\ndef scaled(x):\n    return x * SCALE * SIZE",
        "raise RuntimeError('a training run nothing requested needs')",
        "def figure():\n    return undefined_anywhere",
        "def twice_scaled(x):\n    return 2 * scaled(x)",
        "SCALE = 100\nraise RuntimeError('a later cell')",
        setup="SIZE = 4",
    )
    defs = load_definitions(path, ["twice_scaled"])
    assert defs["twice_scaled"](1) == 24
    assert "figure" not in defs
    with pytest.raises(KeyError, match="no_such_name"):
        load_definitions(path, ["scaled", "no_such_name"])


@pytest.mark.parametrize(
    ("path", "cell_id", "source"), SOLUTIONS, ids=[f"{p.stem}:{c}" for p, c, _ in SOLUTIONS]
)
def test_every_solution_loads_on_its_own(path, cell_id, source):
    """Each exercise's reference solution loads alone, and every global it reads (inside its
    functions too) is defined afterwards."""
    binds, reads = _binds_and_reads(_python_only(source), cell_id)
    defs = load_definitions(path, sorted(binds))
    assert reads - defs.keys() - set(dir(builtins)) == set()


def test_roi_align_alone_matches_torchvision():
    """The segmentation notebook's `roi_align`, loaded without the training cells above it,
    equals torchvision's (forward, aligned and not, fixed and adaptive sampling)."""
    roi_align = load_definitions("08_dense_prediction/segmentation.ipynb", ["roi_align"])[
        "roi_align"
    ]
    torch.manual_seed(0)
    features = torch.randn(2, 3, 12, 16)
    rois = torch.tensor([[0, 1.3, 2.2, 9.7, 8.1], [1, 0.0, 0.0, 15.9, 11.9], [1, 4.5, 3, 5, 3.5]])
    for aligned in (True, False):
        for sampling_ratio in (1, 2, -1):
            ours = roi_align(features, rois, (4, 5), 0.5, sampling_ratio, aligned)
            theirs = tv_roi_align(features, rois, (4, 5), 0.5, sampling_ratio, aligned)
            torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


def test_loading_definitions_leaves_the_random_streams(tmp_path):
    """A notebook whose cells seed and draw leaves Python's, NumPy's and torch's streams where
    they were: the next draws equal those of a process that never loaded it."""
    path = _write(
        tmp_path,
        "import random, numpy, torch\n"
        "random.seed(5); numpy.random.seed(5); torch.manual_seed(5)\n"
        "def draw():\n    return random.random(), numpy.random.rand(), torch.rand(1)\n"
        "LAYER = torch.nn.Linear(3, 3)\n",
    )

    def draws():
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    random.seed(0), np.random.seed(0), torch.manual_seed(0)
    expected = draws()
    random.seed(0), np.random.seed(0), torch.manual_seed(0)
    defs = load_definitions(path, ["draw", "LAYER"])
    assert draws() == expected
    assert isinstance(defs["LAYER"], torch.nn.Linear)

"""The "Open in Colab" badge and the Colab-only install cell that `course release` stamps.

Colab opens notebooks straight from GitHub, so the badge points at the student version of the
notebook inside a GitHub repository at a given ref (a branch or tag that holds the published
release, see the README's instructor guide). The install cell runs only on Colab: it installs
course_utils from the same repository and ref and turns on Colab's widget manager so
ipywidgets explorers render. Elsewhere it does nothing visible.
"""

from __future__ import annotations

import re

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell

BADGE_ID = "colab_badge"
SETUP_ID = "colab_setup"
PACKAGE_NAME = "deep-vision-course"
_GITHUB = re.compile(r"^(?:https?://|git@)github\.com[/:]([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")


def parse_github_url(repo_url: str) -> tuple[str, str]:
    """``https://github.com/OWNER/REPO(.git)`` -> ``(OWNER, REPO)``; ValueError otherwise."""
    match = _GITHUB.match(repo_url.strip())
    if not match:
        raise ValueError(
            f"--repo-url {repo_url!r} is not a GitHub repository URL "
            "(https://github.com/OWNER/REPO): Colab opens notebooks from GitHub only"
        )
    return match.group(1), match.group(2)


def colab_url(repo_url: str, ref: str, path_in_repo: str) -> str:
    """URL that opens ``path_in_repo`` (a notebook at ``ref``) in Colab."""
    owner, repo = parse_github_url(repo_url)
    return f"https://colab.research.google.com/github/{owner}/{repo}/blob/{ref}/{path_in_repo}"


def _locked(cell: NotebookNode, grade_id: str) -> NotebookNode:
    cell.metadata["nbgrader"] = {
        "grade": False,
        "grade_id": grade_id,
        "locked": True,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    return cell


def badge_cell(repo_url: str, ref: str, path_in_repo: str) -> NotebookNode:
    url = colab_url(repo_url, ref, path_in_repo)
    badge = "https://colab.research.google.com/assets/colab-badge.svg"
    return _locked(new_markdown_cell(f"[![Open In Colab]({badge})]({url})"), BADGE_ID)


def setup_cell(repo_url: str, ref: str) -> NotebookNode:
    owner, repo = parse_github_url(repo_url)
    requirement = f"{PACKAGE_NAME} @ git+https://github.com/{owner}/{repo}.git@{ref}"
    source = f'''# Colab only: install the course library and enable interactive widgets.
# Anywhere else (JupyterLab, autograding) this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "{requirement}"],
        check=True,
    )
    from google.colab import output

    output.enable_custom_widget_manager()'''
    return _locked(new_code_cell(source), SETUP_ID)


def stamp(nb: NotebookNode, repo_url: str, ref: str, path_in_repo: str) -> NotebookNode:
    """Insert (or replace) the badge after the title cell and the install cell after it."""
    nb.cells = [
        c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") not in (BADGE_ID, SETUP_ID)
    ]
    at = 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0
    nb.cells[at:at] = [badge_cell(repo_url, ref, path_in_repo), setup_cell(repo_url, ref)]
    return nb

"""Every notebook in JupyterLab 4, in a real (headless) browser: runs, explorers redraw.

JupyterLab serves copies of the source notebooks on loopback; Chromium (Debian's package,
driven by Playwright) runs all cells in FAST mode, then checks what a student sees: no error
output, every explorer drawn, and moving a control of each explorer redraws its figure; the
conv-arithmetic animation steps to another frame.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``; `.ci/run` installs it) and the
``playwright`` package (in the ``dev`` extra; its own browser download is not used). Without
them the tests are skipped, except under CI, where a skip would hide a missing install step.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*/*.ipynb"))
CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")
# Without these Chromium keeps calling home, which a closed network refuses, slowly.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RUN_ALL_LIMIT_S = 180
LAB_SETTINGS = {
    # every cell stays in the page, so every prompt and explorer can be inspected
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    # no "get notified about Jupyter news?" toast over the notebook
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false"},
}
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

pytestmark = [pytest.mark.notebook, pytest.mark.browser]


def _missing_requirement() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set COURSE_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory) -> Iterator[str]:
    """A JupyterLab server on loopback serving copies of every source notebook."""
    missing = _missing_requirement()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run under CI: {missing}")
        pytest.skip(missing)
    root = tmp_path_factory.mktemp("lab")
    for notebook in NOTEBOOKS:  # copies: the browser autosaves outputs into what it opens
        target = root / notebook.parent.name / notebook.name
        target.parent.mkdir(exist_ok=True)
        shutil.copy(notebook, target)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    settings = root / ".lab-settings"
    for plugin, values in LAB_SETTINGS.items():
        package, name = plugin.split(":")
        (settings / package).mkdir(parents=True, exist_ok=True)
        (settings / package / f"{name}.jupyterlab-settings").write_text(json.dumps(values))
    env = {**os.environ, "COURSE_FAST": "1", "JUPYTER_CONFIG_DIR": str(root / ".jupyter")}
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--notebook-dir={root}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={root / '.workspaces'}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--allow-root",
    ]
    log = (root / "server.log").open("wb")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + _tail(root / "server.log"))
                time.sleep(0.5)
        # one fresh workspace per notebook: no tabs restored from the previous test
        yield f"{base}/lab/workspaces/{{workspace}}/tree/{{path}}?reset&token={token}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _shut_down_kernels(lab_url: str) -> None:
    """Stop every kernel the server runs, so notebooks do not pile up a GB of torch each."""
    base, token = lab_url.split("/lab/")[0], lab_url.rsplit("token=", 1)[1]
    with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=30) as response:
        kernels = json.load(response)
    for kernel in kernels:
        request = urllib.request.Request(
            f"{base}/api/kernels/{kernel['id']}?token={token}", method="DELETE"
        )
        urllib.request.urlopen(request, timeout=30).close()


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:]


@pytest.fixture(scope="module")
def browser(lab_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _run_all_cells(page) -> None:
    """Run > Run All Cells, then wait until every code cell has run (an execution count)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_selector(f"{PANEL} .jp-Cell", state="attached", timeout=60_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    started = (
        f"() => [...document.querySelectorAll('{PANEL} .jp-CodeCell .jp-InputArea-prompt')]"
        ".some(p => p.textContent.trim() !== '[ ]:')"
    )
    for _attempt in range(3):  # a click that lands while the page is still settling does nothing
        page.click(f"{PANEL} .jp-Cell >> nth=0")  # the notebook, not the file browser, has focus
        page.click("li.lm-MenuBar-item:has-text('Run')")
        page.click("li.lm-Menu-item:has-text('Run All Cells')")
        try:
            page.wait_for_function(started, timeout=30_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")  # close a menu left open
    deadline = time.monotonic() + RUN_ALL_LIMIT_S
    while time.monotonic() < deadline:
        prompts = page.eval_on_selector_all(
            f"{PANEL} .jp-CodeCell .jp-InputArea-prompt", "ps => ps.map(p => p.textContent.trim())"
        )
        if prompts and all(re.fullmatch(r"\[\d+\]:", prompt) for prompt in prompts):
            return
        failed = page.query_selector(
            f"{PANEL} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
        )
        if failed:
            raise AssertionError(f"a cell failed: {failed.text_content()[:1500]}")
        page.wait_for_timeout(1000)
    waiting = [p for p in prompts if not re.fullmatch(r"\[\d+\]:", p)]
    raise AssertionError(
        f"Run All did not finish within {RUN_ALL_LIMIT_S} s: {len(waiting)} of {len(prompts)} "
        f"code cells still show {sorted(set(waiting))}"
    )


def _explorer_calls(notebook: Path) -> int:
    """How many cells of the notebook call `explorer(...)` at top level."""
    cells = json.loads(notebook.read_text())["cells"]
    return sum(
        any(line.startswith("explorer(") for line in "".join(cell["source"]).splitlines())
        for cell in cells
        if cell["cell_type"] == "code"
    )


def _figure_src(explorer) -> str | None:
    image = explorer.query_selector(".widget-output img, .jupyter-widgets-output-area img")
    return image.get_attribute("src") if image else None


def _move_a_control(page, explorer) -> str:
    """Change the explorer's first control; returns what was done, for messages."""
    handle = explorer.query_selector(".noUi-handle")
    if handle:
        handle.scroll_into_view_if_needed()
        handle.focus()
        start = handle.get_attribute("aria-valuenow")
        for key in ("ArrowRight", "ArrowLeft", "ArrowLeft"):  # one step right, or left at the max
            page.keyboard.press(key)
            page.wait_for_timeout(200)
            if handle.get_attribute("aria-valuenow") != start:
                break
        else:  # keys ignored (e.g. focus trapped): click the track instead, away from the handle
            track = explorer.query_selector(".noUi-target")
            box = track.bounding_box()
            for fraction in (0.85, 0.15):
                page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)
                page.wait_for_timeout(300)
                if handle.get_attribute("aria-valuenow") != start:
                    break
            else:
                raise AssertionError(f"the slider does not move from {start}")
        return "moved a slider"
    select = explorer.query_selector("select")
    if select:
        options = select.eval_on_selector_all("option", "os => os.map(o => o.value)")
        current = select.input_value()
        select.select_option(next(value for value in options if value != current))
        return "picked another option"
    checkbox = explorer.query_selector("input[type=checkbox]")
    if checkbox:
        checkbox.click()
        return "flipped a toggle"
    raise AssertionError("explorer has no slider, dropdown or checkbox")


@pytest.mark.parametrize(
    "notebook", NOTEBOOKS, ids=[f"{p.parent.name}/{p.stem}" for p in NOTEBOOKS]
)
def test_notebook_runs_in_jupyterlab_and_explorers_redraw(browser, lab_url, notebook, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console_errors: list[str] = []
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    try:
        page.goto(
            lab_url.format(
                workspace=notebook.stem.replace("_", "-"),
                path=f"{notebook.parent.name}/{notebook.name}",
            )
        )
        _run_all_cells(page)

        errors = page.eval_on_selector_all(
            f"{PANEL} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']",
            "els => els.map(e => e.textContent.slice(0, 500))",
        )
        assert not errors, f"error output in {notebook.name}: {errors[:2]}"

        explorers = [
            box
            for box in page.query_selector_all(f"{PANEL} .widget-vbox")
            if box.query_selector(".widget-output, .jupyter-widgets-output-area")
        ]
        assert len(explorers) == _explorer_calls(notebook), f"explorers rendered in {notebook.name}"
        for index, explorer in enumerate(explorers):
            explorer.scroll_into_view_if_needed()
            before = _figure_src(explorer)
            assert before, f"explorer {index} of {notebook.name} shows no figure"
            action = _move_a_control(page, explorer)
            deadline = time.monotonic() + 30
            while _figure_src(explorer) in (before, None) and time.monotonic() < deadline:
                page.wait_for_timeout(250)
            assert _figure_src(explorer) not in (before, None), (
                f"explorer {index} of {notebook.name}: {action}, the figure did not change"
            )
        if "conv_animation_html" in notebook.read_text():
            _check_animation_steps(page, notebook)
        assert not console_errors, f"JavaScript errors: {console_errors[:3]}"
    except Exception:
        page.screenshot(path=tmp_path / "failure.png", full_page=True)
        print(f"screenshot of the failure: {tmp_path / 'failure.png'}")
        raise
    finally:
        page.close()
        _shut_down_kernels(lab_url)


def _check_animation_steps(page, notebook: Path) -> None:
    """matplotlib's JS animation: the step-forward button shows a different frame."""
    animations = page.query_selector_all(f"{PANEL} .animation")
    assert animations, f"no JavaScript animation rendered in {notebook.name}"
    for animation in animations:
        animation.scroll_into_view_if_needed()
        image = animation.query_selector("img")
        # pause first (default_mode="loop" plays on load), then step
        animation.query_selector("button[title='Pause']").click()
        before = image.get_attribute("src")
        animation.query_selector("button[title='Next frame']").click()
        page.wait_for_timeout(200)
        assert image.get_attribute("src") != before, "the animation did not step"

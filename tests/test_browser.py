"""Every notebook's student version in JupyterLab 4, in a real (headless) browser.

JupyterLab, with its default settings (windowed notebook rendering included), serves the
student version of every notebook with NO exercise written (released by nbgrader into a
temporary course). Chromium (Debian's package, driven by Playwright) runs all cells in FAST
mode, then checks what a student sees:

- Run All reaches the last cell: only check cells fail, each with the one-line
  "`name` is not written yet" message, and cells that need an exercise say so in one line;
- every explorer and every animation is drawn after Run All with no click, judged by the
  pixels on screen (not the presence of an element); slider tracks have a width;
- moving a control of each explorer redraws its figure; an animation steps to another frame;
- no `mailto:` link in the rendered text, no stray ``(<Figure …>, <Axes …>)``, no JavaScript
  error.

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
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from course_grading.notebooks import is_test_cell
from course_grading.paths import CONFIG_NAME, Course
from course_grading.release import release

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
RUN_ALL_LIMIT_S = 360  # a cap for a stuck run, not a budget: notebook_times.py measures those
REDRAW_LIMIT_S = 90  # a redraw waits its turn behind the other test worker's load
LAB_SETTINGS = {
    # JupyterLab's defaults otherwise (windowed notebook rendering included): what students get.
    # Only the "get notified about Jupyter news?" toast is kept from covering the notebook.
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


@dataclass
class Lab:
    """A JupyterLab server on loopback and the folder it serves."""

    root: Path
    base: str
    token: str
    released: dict[str, Path] = field(default_factory=dict)  # assignment -> its student folder

    def url(self, workspace: str, path: str) -> str:
        # one fresh workspace per notebook: no tabs restored from the previous test
        return f"{self.base}/lab/workspaces/{workspace}/tree/{path}?reset&token={self.token}"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(
            f"{self.base}/api/{path}?token={self.token}", method=method
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response) if method == "GET" else None

    def saved(self, path: str) -> tuple[int, dict]:
        """(modification time in ns, notebook) of the file at ``path``, read from disk.

        Never through the contents API: Jupyter Server saves a notebook by rewriting the file in
        place, and a GET that lands mid-save reads half a notebook, upon which the server
        "recovers" by moving the file to ``.invalid`` and its intermediate copy back, racing the
        save (seen: the notebook gone, every later save a 404). A half-written file read here is
        simply read again."""
        file = self.root / path
        deadline = time.monotonic() + 20
        while True:
            try:
                mtime = file.stat().st_mtime_ns
                return mtime, json.loads(file.read_text(encoding="utf-8"))
            except (FileNotFoundError, json.JSONDecodeError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def wait_for_kernel(self, path: str, limit_s: float = 120) -> None:
        """Until the kernel of ``path``'s session is idle and has stayed the same kernel for two
        looks a second apart: JupyterLab may start one kernel and replace it while the page
        loads, and a Run All sent across that switch runs only its first cells."""
        deadline = time.monotonic() + limit_s
        last = None
        while time.monotonic() < deadline:
            kernels = [
                (s["kernel"]["id"], s["kernel"]["execution_state"])
                for s in self.api("sessions")
                if s.get("path") == path and s.get("kernel")
            ]
            now = kernels[0] if len(kernels) == 1 and kernels[0][1] == "idle" else None
            if now is not None and now == last:
                return
            last = now
            time.sleep(1)
        raise AssertionError(f"the kernel of {path} was not idle within {limit_s:.0f} s")

    def student_version(self, notebook: Path) -> str:
        """Release ``notebook``'s assignment (nbgrader, no exercise written) and serve its
        student version; returns its path on the server."""
        assignment = notebook.parent.name
        if assignment not in self.released:
            course_root = self.root.parent / f"course-{assignment}"
            (course_root / "grading").mkdir(parents=True)
            shutil.copy(REPO / "grading" / CONFIG_NAME, course_root / "grading" / CONFIG_NAME)
            shutil.copytree(notebook.parent, course_root / "notebooks" / assignment)
            course = Course(course_root / "notebooks", course_root / "grading")
            [done] = release(course, [assignment])
            # copies: the browser autosaves outputs into what it opens
            shutil.copytree(done.notebooks[0].parent, self.root / assignment)
            self.released[assignment] = self.root / assignment
        return f"{assignment}/{notebook.name}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    """A JupyterLab server on loopback, with its default settings, serving student versions."""
    missing = _missing_requirement()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run under CI: {missing}")
        pytest.skip(missing)
    root = tmp_path_factory.mktemp("lab")
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
        yield Lab(root, base, token)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _shut_down_kernels(lab: Lab) -> None:
    """Stop every kernel the server runs, so notebooks do not pile up a GB of torch each."""
    for kernel in lab.api("kernels"):
        lab.api(f"kernels/{kernel['id']}", method="DELETE")


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:]


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


PROMPTS = f"{PANEL} .jp-CodeCell .jp-InputArea-prompt"


def _run_all_cells(page) -> None:
    """Run > Run All Cells, then wait until the run is over: every code cell has run (an
    execution count), or nothing is running or queued any more (Run All stopped early)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_selector(f"{PANEL} .jp-Cell", state="attached", timeout=60_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    started = f"() => [...document.querySelectorAll('{PROMPTS}')].some(p => p.textContent.trim() !== '[ ]:')"
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
        prompts = page.eval_on_selector_all(PROMPTS, "ps => ps.map(p => p.textContent.trim())")
        if prompts and all(re.fullmatch(r"\[\d+\]:", prompt) for prompt in prompts):
            return
        if "[*]:" not in prompts and page.query_selector(
            ".jp-Notebook-ExecutionIndicator[data-status='idle']"
        ):
            page.wait_for_timeout(1500)  # between two cells? look again before giving up
            prompts = page.eval_on_selector_all(PROMPTS, "ps => ps.map(p => p.textContent.trim())")
            if "[*]:" not in prompts:
                return  # stopped early: the saved notebook says where (see _check_saved)
        page.wait_for_timeout(1000)
    waiting = [p for p in prompts if not re.fullmatch(r"\[\d+\]:", p)]
    raise AssertionError(
        f"Run All did not finish within {RUN_ALL_LIMIT_S} s: {len(waiting)} of {len(prompts)} "
        f"code cells still show {sorted(set(waiting))}"
    )


def _shown_counts(page) -> list[int | None]:
    """The execution count each code cell's prompt shows in the page (None for "[ ]:")."""
    prompts = page.eval_on_selector_all(PROMPTS, "ps => ps.map(p => p.textContent.trim())")
    return [int(m.group(1)) if (m := re.fullmatch(r"\[(\d+)\]:", p)) else None for p in prompts]


def _saved_notebook(page, lab: Lab, path: str) -> dict:
    """Save the notebook from the browser (File > Save) and read it back from the server, once
    the saved file records what the page shows: every code cell's execution count."""
    before, _ = lab.saved(path)
    shown = _shown_counts(page)
    deadline = time.monotonic() + 60
    saved: dict | None = None
    while time.monotonic() < deadline:
        # A busy machine can drop the shortcut (the notebook stays dirty), and a save can land
        # with an older model: press it again every few seconds until the file matches the page.
        page.click(f"{PANEL} .jp-Cell >> nth=0")
        page.keyboard.press("Escape")  # command mode, so the shortcut saves the notebook
        page.keyboard.press("Control+s")
        pressed = time.monotonic()
        while time.monotonic() < min(pressed + 6, deadline):
            modified, notebook = lab.saved(path)
            if modified != before:
                saved = notebook
                counts = [c["execution_count"] for c in saved["cells"] if c["cell_type"] == "code"]
                if counts == shown:
                    return saved
            page.wait_for_timeout(300)
    if saved is None:
        raise AssertionError("the notebook could not be saved from the browser")
    return saved  # the file disagrees with the page: _check_saved reports the saved state


def _text(output: dict) -> str:
    if output["output_type"] == "stream":
        return "".join(output["text"])
    if output["output_type"] == "error":
        return "\n".join(output["traceback"])
    return "".join(output.get("data", {}).get("text/plain", ""))


def _check_saved(notebook: dict, name: str) -> tuple[int, int]:
    """Run All went to the end of the student version and every failure reads like a hint.

    Returns (explorers drawn, animations) as the saved outputs record them.
    """
    drawn = animations = 0
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        where = f"{name}, cell {index}"
        source = "".join(cell["source"])
        assert cell["execution_count"] is not None, f"Run All stopped before {where}"
        outputs = cell["outputs"]
        errors = [o for o in outputs if o["output_type"] == "error"]
        text = "\n".join(_text(o) for o in outputs)
        if is_test_cell(cell):  # nothing is written: every check fails, in one line
            assert "raises-exception" in cell["metadata"].get("tags", []), where
            assert len(errors) == 1, f"{where}: a check cell with no exercise written passed"
            [line] = errors[0]["traceback"]  # one line, no traceback through course internals
            assert "is not written yet" in line, f"{where}: {line[:300]}"
        else:
            assert not errors, f"{where} failed: {text[-1500:]}"
        assert not re.search(r"\(<Figure size|^<Axes", text, re.MULTILINE), (
            f"{where} prints a stray repr: {text[:200]}"
        )
        widgets = sum(
            "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs
        )
        drawn += widgets
        animations += sum(
            'class="animation"' in "".join(o.get("data", {}).get("text/html", "")) for o in outputs
        )
        if re.search(r"^\s*explorer\(", source, re.MULTILINE) and not widgets:
            # an explorer that needs an unwritten exercise says which one, in one line
            [skip] = [line for line in text.splitlines() if line.startswith("Skipped:")]
            assert "not written yet" in skip, f"{where}: {skip}"
    return drawn, animations


def _drawn_fraction(element) -> float:
    """The share of an element's on-screen pixels that are not the page's white background."""
    import io

    import numpy as np
    from PIL import Image

    box = element.bounding_box()
    if not box or box["width"] < 20 or box["height"] < 20:
        return 0.0
    pixels = np.asarray(Image.open(io.BytesIO(element.screenshot())).convert("RGB"), float)
    return float((np.abs(pixels - 255).sum(axis=-1) > 60).mean())


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
def test_student_version_runs_all_and_shows_every_explorer(browser, lab, notebook, tmp_path):
    path = lab.student_version(notebook)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console_errors: list[str] = []
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    try:
        page.goto(lab.url(notebook.stem.replace("_", "-"), path))
        lab.wait_for_kernel(path)
        _run_all_cells(page)
        drawn, animations = _check_saved(_saved_notebook(page, lab, path), notebook.name)

        mailto = page.eval_on_selector_all(
            f"{PANEL} .jp-MarkdownOutput a[href^='mailto:']", "as => as.map(a => a.textContent)"
        )
        assert not mailto, f"text rendered as e-mail links: {mailto}"

        explorers = [
            box
            for box in page.query_selector_all(f"{PANEL} .widget-vbox")
            if box.query_selector(".widget-output, .jupyter-widgets-output-area")
        ]
        assert len(explorers) == drawn, f"explorers in the page of {notebook.name}"
        # first, with no click anywhere: every explorer and animation is drawn
        for index, explorer in enumerate(explorers):
            explorer.scroll_into_view_if_needed()
            image = explorer.query_selector(".widget-output img, .jupyter-widgets-output-area img")
            assert image, f"explorer {index} of {notebook.name} shows no figure"
            assert _drawn_fraction(image) > 0.02, f"explorer {index} of {notebook.name} is blank"
            for track in explorer.query_selector_all(".noUi-target, .slider-container"):
                width = (track.bounding_box() or {"width": 0})["width"]
                assert width >= 100, f"explorer {index}: a slider track {width:.0f} px wide"
        players = page.query_selector_all(f"{PANEL} .animation")
        assert len(players) == animations, f"animations in the page of {notebook.name}"
        for index, player in enumerate(players):
            player.scroll_into_view_if_needed()
            image = player.query_selector("img")
            assert _drawn_fraction(image) > 0.02, f"animation {index} of {notebook.name} is blank"
        # then the controls work
        for index, explorer in enumerate(explorers):
            explorer.scroll_into_view_if_needed()
            before = _figure_src(explorer)
            action = _move_a_control(page, explorer)
            deadline = time.monotonic() + REDRAW_LIMIT_S
            while _figure_src(explorer) in (before, None) and time.monotonic() < deadline:
                page.wait_for_timeout(250)
            assert _figure_src(explorer) not in (before, None), (
                f"explorer {index} of {notebook.name}: {action}, the figure did not change"
            )
        if players:
            _check_animation_steps(page, notebook)
        assert not console_errors, f"JavaScript errors: {console_errors[:3]}"
    except Exception:
        page.screenshot(path=tmp_path / "failure.png", full_page=True)
        print(f"screenshot of the failure: {tmp_path / 'failure.png'}")
        raise
    finally:
        page.close()
        _shut_down_kernels(lab)


def _check_animation_steps(page, notebook: Path) -> None:
    """matplotlib's JS animation: the step-forward button shows a different frame."""
    for animation in page.query_selector_all(f"{PANEL} .animation"):
        animation.scroll_into_view_if_needed()
        image = animation.query_selector("img")
        # pause first (default_mode="loop" plays on load), then step
        animation.query_selector("button[title='Pause']").click()
        before = image.get_attribute("src")
        animation.query_selector("button[title='Next frame']").click()
        page.wait_for_timeout(200)
        assert image.get_attribute("src") != before, "the animation did not step"

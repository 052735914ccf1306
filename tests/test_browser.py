"""End to end in a real browser: JupyterLab + headless Chromium (Playwright) on notebook 04.

Open the notebook, run all cells, press Start, type a new D learning rate into the slider's
text box, and read from the page that the optimizer now uses it and that training goes on; then
pick "simultaneous" in the update-scheme dropdown and read that it took effect while training
continues.
A screenshot is saved to test-artifacts/browser_notebook04.png.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "04_live_playground_2d.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


def chromium_path():
    if os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, proc, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"jupyter lab did not answer at {url} within {timeout} s")


def status_text(page) -> str:
    return page.locator(".gan-edu-status").first.inner_text()


def step_of(text: str) -> int:
    m = re.search(r"step (\d+)", text)
    assert m, f"no step count in the status line {text!r}"
    return int(m.group(1))


def wait_status(page, predicate, timeout: float, what: str) -> str:
    end = time.monotonic() + timeout
    text = ""
    while time.monotonic() < end:
        try:
            text = status_text(page)
        except Exception:  # not rendered yet
            text = ""
        if text and predicate(text):
            return text
        page.wait_for_timeout(250)
    raise AssertionError(f"timed out waiting for {what}; status line: {text!r}")


def dismiss_dialogs(page) -> None:
    """The kernel-selection dialog (if any: keep the notebook's kernel) and the news toast."""
    for name in ("Select", "No"):
        button = page.get_by_role("button", name=name, exact=True)
        if button.count() and button.first.is_visible():
            try:
                button.first.click(timeout=2_000)
            except Exception:  # a toast sliding in or out, or gone by itself: try again next poll
                pass


def copy_without_outputs(src: Path, dst: Path) -> None:
    """The notebook as a student gets it after "clear outputs": a prompt that shows [n] or [*]
    then means a cell run or queued in this session."""
    nb = json.loads(src.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    dst.write_text(json.dumps(nb))


def run_all_cells_until(page, target, timeout: float = 150, attempts: int = 3) -> None:
    """Run > Run All Cells until ``target`` (a locator) is visible.

    On a fresh machine a kernel dialog can pop up late; answering it (re)starts the kernel and
    drops the queued cells: their prompts go back to [ ], nothing runs any more and ``target``
    never comes. Then (nothing queued for 10 s, ``target`` absent) we run all cells again."""
    queued = page.locator(".jp-InputPrompt", has_text=re.compile(r"\[\*\]"))
    for _ in range(attempts):
        dismiss_dialogs(page)
        page.locator(".jp-Notebook").first.click()
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        end, idle_since = time.monotonic() + timeout, None
        while time.monotonic() < end:
            dismiss_dialogs(page)
            if target.count() and target.first.is_visible():
                return
            if queued.count():
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > 10:
                break  # the run was dropped: ask again
            page.wait_for_timeout(500)
    raise AssertionError(f"the notebook's playground did not appear after {attempts} x Run All Cells")


def test_notebook04_live_training_in_chromium(tmp_path):
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (/usr/bin/chromium or `chromium` on PATH): .ci/run installs it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")

    workdir = tmp_path / "notebooks"
    workdir.mkdir()
    copy_without_outputs(ROOT / "notebooks" / NOTEBOOK, workdir / NOTEBOOK)
    port, token = free_port(), "gan-edu-browser-test"
    env = dict(os.environ, GAN_EDU_FAST="1", JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={workdir}", "--ServerApp.open_browser=False"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        cmd.append("--allow-root")
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(tmp_path / "jupyter.log", "w")
    server = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_server(f"{base}/api/status?token={token}", server)
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            try:
                page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}&reset", timeout=60_000)
                page.wait_for_selector(".jp-Notebook", timeout=60_000)
                # wait for the kernel to be ready, answering dialogs on the way
                end = time.monotonic() + 120  # a fresh venv's first kernel compiles torch's bytecode
                while time.monotonic() < end:
                    dismiss_dialogs(page)
                    if page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() or \
                            page.get_by_text("Python 3 (ipykernel) | Idle").count():
                        break
                    page.wait_for_timeout(500)
                # the playground appears; Start is queued behind the remaining cells if they still run
                start = page.locator(".gan-edu-start").first
                run_all_cells_until(page, start)
                start.scroll_into_view_if_needed()
                start.click()
                first = step_of(wait_status(page, lambda t: "running" in t and step_of(t) > 0, 90, "training to start"))
                wait_status(page, lambda t: step_of(t) > first, 30, "the step count to increase")

                # type a new D learning rate into the slider's text box, as a student would
                readout = page.locator(".gan-edu-lr-d .widget-readout").first
                readout.click()
                page.keyboard.press("Control+A")
                page.keyboard.type("0.005")
                page.keyboard.press("Enter")
                text = wait_status(page, lambda t: "lr_D=0.005 " in t, 30, "lr_D=0.005 in the status line")
                changed = step_of(text)
                text = wait_status(page, lambda t: step_of(t) > changed + 5, 30,
                                   "training to continue after the change")
                assert "running" in text and "lr_D=0.005 " in text and "lr_G=0.001 " in text

                # a GAN Lab control: switch the update scheme of the running training to simultaneous
                page.locator(".gan-edu-update select").first.select_option(label="simultaneous")
                text = wait_status(page, lambda t: "| simultaneous |" in t, 30, "simultaneous in the status line")
                changed = step_of(text)
                text = wait_status(page, lambda t: step_of(t) > changed + 5, 30,
                                   "training to continue with the simultaneous update")
                assert "running" in text and "alternating" not in text
                page.locator(".gan-edu-status").first.evaluate("e => e.scrollIntoView()")  # the whole playground
                page.wait_for_timeout(500)
                page.screenshot(path=str(ARTIFACTS / "browser_notebook04.png"), full_page=False)
                page.locator(".gan-edu-pause").first.click()
                wait_status(page, lambda t: "paused" in t, 30, "the Pause button to stop training")
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "browser_notebook04_failure.png"))
                raise
            finally:
                browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()

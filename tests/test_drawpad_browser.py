"""End to end: a click on the drawing pad in JupyterLab (headless Chromium) adds a data point
where the click was. Checks what the unit tests cannot: that ipyevents' ``dataX``/``dataY``
in a real browser are the PNG pixels ``pixel_to_data`` expects."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed")
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("ipyevents")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from gan_edu.drawpad import DrawPad\npad = DrawPad(lim=3, size=300)\npad.widget"),
                nbformat.v4.new_code_cell('print("POINTS", pad.points.round(3).tolist())')]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "pad.ipynb")
    port, token = free_port(), "ganlab-test"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={tmp_path}", "--LabApp.news_url=None",
           "--ServerApp.open_browser=False"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        cmd.append("--allow-root")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start")
        yield f"{base}/lab/tree/pad.ipynb?token={token}"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_cell(page, index: int, tries: int = 4) -> None:
    """Shift+Enter on cell ``index`` until its prompt shows an execution count (a key press
    while the kernel is still connecting can be dropped)."""
    cell = page.locator(".jp-Cell").nth(index)
    for _ in range(tries):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try:
            cell.locator(".jp-InputPrompt", has_text=re.compile(r"\[\d+\]")).wait_for(timeout=15_000)
            return
        except Exception:  # playwright's TimeoutError: press again
            continue
    pytest.fail(f"cell {index} did not run")


def test_a_click_on_the_pad_adds_the_point_under_the_mouse(lab):
    from playwright.sync_api import sync_playwright

    from gan_edu.drawpad import DrawPad

    left, top, right, bottom = DrawPad(lim=3, size=300).axes_box()
    target = (1.0, 1.5)  # data coordinates to click on
    px = left + (target[0] + 3) / 6 * (right - left)
    py = top + (3 - target[1]) / 6 * (bottom - top)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(lab)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.wait_for_selector("text=/ipykernel\\) \\| Idle/", timeout=60_000)  # the status bar
        run_cell(page, 0)
        img = page.locator(".jp-OutputArea-output img.widget-image, .jp-OutputArea-output .widget-image").first
        img.wait_for(timeout=60_000)
        box = img.bounding_box()
        sx, sy = box["width"] / 300, box["height"] / 300  # the browser may show the PNG scaled
        page.mouse.click(box["x"] + px * sx, box["y"] + py * sy)
        page.wait_for_timeout(1000)
        run_cell(page, 1)
        out = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea-output")
        out.wait_for(timeout=30_000)
        page.wait_for_function("el => el.innerText.includes('POINTS')", arg=out.element_handle(), timeout=30_000)
        text = out.inner_text()
        browser.close()
    points = [[float(v) for v in pair] for pair in re.findall(r"\[(-?[\d.]+), (-?[\d.]+)\]", text)]
    assert len(points) == 1, text
    cell = 6 / (right - left)  # one PNG pixel, in data units
    assert abs(points[0][0] - target[0]) < 2 * cell and abs(points[0][1] - target[1]) < 2 * cell, text

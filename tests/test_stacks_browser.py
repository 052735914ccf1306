"""The live playground of notebook 04 in headless Chromium on the students' three Jupyter stacks.

- ``lab``: the latest JupyterLab, the project's own ``.venv`` (``make install``);
- ``binder``: repo2docker's base today plus ``binder/requirements.txt`` (``.stacks/binder``);
- ``colab``: Colab's pins, ipywidgets 7.7.1 and ipykernel 6.17.1, in the classic notebook 6.5.7
  UI (``.stacks/colab``), in the foreground live mode (``GAN_EDU_LIVE=foreground``: the
  playground's cell runs the training loop until Stop, as on Colab).

``make stacks`` (``stacks/build.sh NAME``) builds the two stack venvs. Each stack runs its own
server from its venv with a kernel of that venv's python. In each: open a copy of notebook 04
(outputs cleared, one cell added after the playground that prints the optimizer's lr), Run
All, Start, count the samples image's new frames over 15 s, type lr_D = 0.005 into the
slider's text box and read it back from the status line (the latency), Pause (or Stop in the
foreground mode), read the optimizer's lr from the added cell's output, switch the data to
"draw your own" and click a point onto the drawing pad. No page error may occur.

Per stack, ``test-artifacts/stack_<name>.json`` records the numbers (frames/s, the lr's
latency, page errors, console errors and warnings, versions) and ``stack_<name>.png`` /
``stack_<name>_pad.png`` show the playground running and the pad after the click.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "04_live_playground_2d.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
FRAME_SECONDS = 15
NEW_LR = "0.005"
PLAYGROUND_CELL = "trainer"  # the code cell that shows the playground starts with this name ...
LR_MARK = "GAN_EDU_LR_D"     # ... and the cell added after it prints this, the lr and the kernel's python

pytestmark = pytest.mark.browser


STACKS = {
    # name: (venv, UI, live mode, how to build it)
    "lab": (ROOT / ".venv", "lab", "background", "make install"),
    "binder": (ROOT / ".stacks" / "binder", "lab", "background", "make stacks (stacks/build.sh binder)"),
    "colab": (ROOT / ".stacks" / "colab", "classic", "foreground", "make stacks (stacks/build.sh colab)"),
}


def chromium_path():
    if os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, proc, log: Path, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the server did not answer at {url} within {timeout} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def jupyter_server(stack: str, workdir: Path, tmp_path: Path, **env_extra):
    """The stack's Jupyter server (JupyterLab, or the classic notebook for colab) on ``workdir``, from
    the stack's venv, with a kernel of that venv's python, in fast mode, with config and data folders
    of its own; yields (base URL, token, the server log's path) and stops the server after."""
    venv, ui_kind = STACKS[stack][:2]
    python = venv / "bin" / "python"
    port, token = free_port(), f"gan-edu-{stack}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTHON", "VIRTUAL_ENV", "GAN_EDU"))}
    env.update(GAN_EDU_FAST="1", PATH=f"{venv / 'bin'}:{env.get('PATH', '')}",
               VIRTUAL_ENV=str(venv), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"), IPYTHONDIR=str(tmp_path / "ipython"),
               MPLCONFIGDIR=str(tmp_path / "mpl"), **env_extra)
    if ui_kind == "lab":
        cmd = [str(python), "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.token={token}", f"--ServerApp.root_dir={workdir}", "--ServerApp.open_browser=False",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.expose_app_in_browser=True"]  # window.jupyterapp: to scroll to a cell (UI.scroll_to)
    else:
        cmd = [str(python), "-m", "notebook", "--no-browser", f"--port={port}", "--NotebookApp.ip=127.0.0.1",
               f"--NotebookApp.token={token}", f"--NotebookApp.notebook_dir={workdir}",
               "--NotebookApp.open_browser=False"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        cmd.append("--allow-root")
    log_path = tmp_path / "server.log"
    log = open(log_path, "w")
    server = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_server(f"{base}/api/status?token={token}", server, log_path)
        yield base, token, log_path
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def versions(python: Path) -> dict:
    names = ["jupyterlab", "notebook", "jupyter_server", "ipywidgets", "ipykernel", "ipython", "ipyevents",
             "jupyter-ui-poll", "torch"]
    code = ("import importlib.metadata as m, json, sys\nout = {}\nfor n in sys.argv[1:]:\n"
            "    try: out[n] = m.version(n)\n    except m.PackageNotFoundError: pass\nprint(json.dumps(out))")
    return json.loads(subprocess.run([str(python), "-c", code, *names], capture_output=True, text=True,
                                     check=True).stdout)


def classic_extensions(venv: Path) -> dict:
    """The classic notebook's enabled nbextensions as the server sees them (a custom
    JUPYTER_CONFIG_DIR hides only the user's config: <venv>/etc/jupyter and the system's count),
    each with whether its JavaScript file is installed."""
    enabled = {}
    for base in (venv / "etc" / "jupyter", Path("/usr/local/etc/jupyter"), Path("/etc/jupyter")):
        conf = base / "nbconfig"
        for f in sorted(conf.glob("notebook.d/*.json")) + [conf / "notebook.json"]:
            if f.is_file():
                enabled.update(json.loads(f.read_text()).get("load_extensions", {}))
    found = lambda req: any((d / "nbextensions" / f"{req}.js").is_file()
                            for d in (venv / "share" / "jupyter", Path("/usr/local/share/jupyter"),
                                      Path("/usr/share/jupyter")))
    return {req: {"enabled": bool(on), "installed": found(req)} for req, on in enabled.items()}


def prepare_notebook(src: Path, dst: Path) -> int:
    """Copy notebook 04 up to the playground's cell with outputs cleared (as after "clear
    outputs"; saved widget state in the metadata stays, as a student gets it) and a cell added
    after it that prints the D optimizer's learning rate, the view's frame count and drawing
    time, and the kernel's python. Returns the added cell's index."""
    nb = json.loads(src.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    at = next(i for i, c in enumerate(nb["cells"])
              if c["cell_type"] == "code" and "".join(c["source"]).lstrip().startswith(PLAYGROUND_CELL)) + 1
    source = (f"import sys\nprint('{LR_MARK}', trainer.gan.opt_d.param_groups[0]['lr'], sys.executable,\n"
              "      'frames', trainer.frames, 'draw_s', round(trainer.draw_seconds, 2), 'step', trainer.gan.step)")
    # the cells after the playground (the guided experiments, replayed headless) are left out:
    # nbval runs the whole notebook; here they would add minutes of CPU and test no widget
    nb["cells"] = nb["cells"][:at] + [{"cell_type": "code", "execution_count": None, "id": "gan-edu-stack-test-lr",
                                       "metadata": {}, "outputs": [], "source": source}]
    dst.write_text(json.dumps(nb))
    return at


class UI:
    """What differs between JupyterLab (4.x; also the Notebook 7 UI) and the classic notebook 6.5."""

    def __init__(self, kind: str, page):
        self.kind, self.page = kind, page
        lab = kind == "lab"
        self.cell = ".jp-Notebook .jp-Cell" if lab else "#notebook-container .cell"
        self.prompt = ".jp-InputPrompt" if lab else ".input_prompt"
        self.editor = ".jp-InputArea-editor" if lab else ".input_area"
        self.output = ".jp-OutputArea-output" if lab else ".output_area"

    def url(self, base: str, token: str, notebook: str = NOTEBOOK) -> str:
        if self.kind == "lab":
            return f"{base}/lab/tree/{notebook}?token={token}&reset"
        return f"{base}/notebooks/{notebook}?token={token}"

    def dismiss_dialogs(self) -> None:
        """Lab: the kernel-selection dialog (keep the notebook's kernel) and the news toast.
        Classic: any modal (e.g. a notebook-trust or kernel question) is answered with its default."""
        page = self.page
        names = ("Select", "No") if self.kind == "lab" else ()
        for name in names:
            button = page.get_by_role("button", name=name, exact=True)
            if button.count() and button.first.is_visible():
                try:
                    button.first.click(timeout=2_000)
                except Exception:  # a toast sliding in or out, or gone by itself: try again next poll
                    pass
        if self.kind == "classic":
            modal = page.locator(".modal.in .modal-footer .btn-primary, .modal.in .modal-footer .btn-default")
            if modal.count() and modal.first.is_visible():
                try:
                    modal.first.click(timeout=2_000)
                except Exception:
                    pass

    def kernel_idle(self) -> bool:
        page = self.page
        if self.kind == "lab":
            return bool(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count()
                        or page.get_by_text(re.compile(r"\(ipykernel\) \| Idle")).count())
        return bool(page.locator("#kernel_indicator_icon.kernel_idle_icon").count())

    def queued(self) -> int:
        return self.page.locator(self.prompt, has_text=re.compile(r"\[\*\]")).count()

    def run_all(self) -> None:
        page = self.page
        if self.kind == "lab":
            page.locator(".jp-Notebook").first.click()
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        else:
            page.locator("#celllink").click()
            page.locator("#run_all_cells").click()

    def cell_at(self, index: int):
        """The cell of index ``index``. JupyterLab 4 may render only the cells near the viewport
        (its windowing mode "full", 4.4's default): each rendered cell carries its index."""
        if self.kind == "lab":
            return self.page.locator(f".jp-Notebook .jp-Cell[data-windowed-list-index='{index}']")
        return self.page.locator(self.cell).nth(index)

    def scroll_to(self, index: int) -> None:
        """Bring the cell ``index`` into view (as a student scrolls to it), rendered."""
        if self.kind == "lab":
            self.page.evaluate("async i => { const nb = window.jupyterapp.shell.currentWidget.content;"
                               " await nb.scrollToItem(i, 'start'); }", index)
        else:
            self.cell_at(index).scroll_into_view_if_needed()

    def run_cell(self, index: int) -> None:
        self.scroll_to(index)
        self.cell_at(index).locator(self.editor).first.click()
        self.page.keyboard.press("Shift+Enter")

    def save(self) -> None:
        """Save the notebook, as a student does (Ctrl+S in JupyterLab, the save button in the classic UI)."""
        if self.kind == "lab":
            self.page.locator(".jp-Notebook").first.click()
            self.page.keyboard.press("Control+s")
        else:
            self.page.locator("#save-notbook button").click()  # sic: the classic notebook's id

    def cell_output(self, index: int) -> str:
        out = self.cell_at(index).locator(self.output)
        return "\n".join(out.all_inner_texts()) if out.count() else ""


def wait_until(page, predicate, timeout: float, what: str, every_ms: int = 250):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = predicate()
        except Exception:  # not rendered yet
            value = None
        if value:
            return value
        page.wait_for_timeout(every_ms)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def status_text(page) -> str:
    loc = page.locator(".gan-edu-status")
    return loc.first.inner_text() if loc.count() else ""


def step_of(text: str) -> int:
    m = re.search(r"step (\d+)", text)
    return int(m.group(1)) if m else -1


# The samples image: the playground's box holds the status line, then a row of the controls, the
# samples image and G's manifold (gan_edu.live.widget.LiveWidget._layout), then the pad's box.
COUNT_FRAMES_JS = """() => {
  const box = document.querySelector('.gan-edu-status').parentElement;
  const img = box.children[1].querySelector('img');
  window.__ganEduFrames = 0;
  window.__ganEduObserver && window.__ganEduObserver.disconnect();
  window.__ganEduObserver = new MutationObserver(ms => {
    for (const m of ms) if (m.attributeName === 'src') window.__ganEduFrames += 1;
  });
  window.__ganEduObserver.observe(img, {attributes: true, attributeFilter: ['src']});
  return img.src.length;
}"""
TAG_PAD_JS = """() => {
  const pad = document.querySelector('.gan-edu-status').parentElement.children[2];
  if (!pad || !pad.querySelector('img')) return false;
  pad.classList.add('gan-edu-test-pad');
  return true;
}"""
PAD_COUNT_JS = """() => {
  const pad = document.querySelector('.gan-edu-status').parentElement.children[2];
  const m = pad.innerText.match(/(\\d+) points/);
  return m ? Number(m[1]) : null;
}"""


@pytest.mark.parametrize("stack", list(STACKS))
def test_live_playground_on_stack(stack, tmp_path):
    executable, sync_api, ui_kind = browser_or_skip(stack)
    venv, _, live, _ = STACKS[stack]
    python = venv / "bin" / "python"

    t0 = time.monotonic()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"stack_{stack}_failure.png").unlink(missing_ok=True)  # an earlier run's
    report = {"stack": stack, "ui": ui_kind, "live_mode": live, "venv": str(venv.relative_to(ROOT)),
              "versions": versions(python), "page_errors": [], "console_errors": [], "console_warnings": []}
    if ui_kind == "classic":
        report["nbextensions"] = ext = classic_extensions(venv)
        for req in ("jupyter-js-widgets/extension", "ipyevents/extension"):
            assert ext.get(req, {}).get("enabled") and ext[req]["installed"], \
                f"the classic notebook's nbextension {req} is not enabled and installed in {venv}: {ext}"

    workdir = tmp_path / "notebooks"
    workdir.mkdir()
    lr_cell = prepare_notebook(ROOT / "notebooks" / NOTEBOOK, workdir / NOTEBOOK)
    with jupyter_server(stack, workdir, tmp_path, GAN_EDU_LIVE=live) as (base, token, log_path):
        report["server_start_s"] = round(time.monotonic() - t0, 1)
        try:
            with sync_api.sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1500, "height": 1000})
                page.on("pageerror", lambda err: report["page_errors"].append(str(err)[:500]))

                def on_console(msg):
                    if msg.type == "error":
                        report["console_errors"].append(msg.text[:300])
                    elif msg.type == "warning":
                        report["console_warnings"].append(msg.text[:300])
                page.on("console", on_console)
                ui = UI(ui_kind, page)
                try:
                    drive(page, ui, ui.url(base, token), report, lr_cell)
                except BaseException as err:
                    report["failure"] = f"{type(err).__name__}: {err}"[:2000]
                    try:
                        page.screenshot(path=str(ARTIFACTS / f"stack_{stack}_failure.png"))
                    except Exception:
                        pass
                    raise
                finally:
                    browser.close()
        finally:
            report["server_log_tail"] = log_path.read_text()[-1500:].splitlines()
            report["seconds_total"] = round(time.monotonic() - t0, 1)
            report["console_warnings_count"] = len(report["console_warnings"])
            (ARTIFACTS / f"stack_{stack}.json").write_text(json.dumps(report, indent=1))
            print(f"\n[{stack}] {report.get('fps')} frames/s over {FRAME_SECONDS} s, lr latency "
                  f"{report.get('lr_latency_s')} s, {len(report['page_errors'])} page errors, "
                  f"{len(report['console_errors'])} console errors, {report['console_warnings_count']} warnings, "
                  f"{report['seconds_total']} s")
    assert not report["page_errors"], f"page errors on {stack}: {report['page_errors']}"
    assert report["fps"] >= 1, f"{report['fps']} frames/s on {stack} (at least 1 expected; the target is 4)"


def drive(page, ui: UI, url: str, report: dict, lr_cell: int) -> None:
    """The student's session; fills ``report`` as it goes."""
    stack = report["stack"]
    t = time.monotonic()
    page.goto(url, timeout=90_000)
    page.wait_for_selector(ui.cell, timeout=90_000)
    report["page_load_s"] = round(time.monotonic() - t, 1)
    t = time.monotonic()
    wait_until(page, lambda: (ui.dismiss_dialogs(), ui.kernel_idle())[1], 120, "the kernel to be ready")
    report["kernel_ready_s"] = round(time.monotonic() - t, 1)

    # Run All; the playground appears (in the foreground mode its cell keeps running)
    t = time.monotonic()
    start = page.locator(".gan-edu-start").first
    for attempt in range(3):  # a late kernel dialog can drop the queued cells: then run all again
        ui.dismiss_dialogs()
        ui.run_all()
        end, idle_since = time.monotonic() + 150, None
        while time.monotonic() < end and not (start.count() and start.is_visible()):
            ui.dismiss_dialogs()
            ui.scroll_to(lr_cell - 1)  # the playground's cell
            if ui.queued() or not ui.kernel_idle():
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > 10:
                break
            page.wait_for_timeout(500)
        if start.count() and start.is_visible():
            break
    else:
        raise AssertionError("the playground (.gan-edu-start) did not appear after 3 x Run All")
    stop = page.locator(".gan-edu-stop").first
    foreground = stop.count() > 0 and stop.is_visible()  # the Stop button is shown in the foreground mode only
    report["mode_seen"] = "foreground" if foreground else "background"
    assert report["mode_seen"] == report["live_mode"], \
        f"GAN_EDU_LIVE={report['live_mode']} but the playground runs in the {report['mode_seen']} mode"
    if not foreground:  # background: let every cell finish first, the training then has the CPU alone
        wait_until(page, lambda: ui.queued() == 0 and ui.kernel_idle(), 240, "Run All to finish")
        ui.scroll_to(lr_cell - 1)
    report["run_all_s"] = round(time.monotonic() - t, 1)

    # Start; count the samples image's new frames over FRAME_SECONDS
    start.scroll_into_view_if_needed()
    start.click()
    text = wait_until(page, lambda: (lambda s: s if "running" in s and step_of(s) > 0 else None)(status_text(page)),
                      90, "training to start (status 'running', step > 0)")
    report["data_status_at_start"] = text
    page.evaluate(COUNT_FRAMES_JS)
    first_step = step_of(text)
    page.wait_for_timeout(FRAME_SECONDS * 1000)
    frames = page.evaluate("() => window.__ganEduFrames")
    text = status_text(page)
    report.update(frames=frames, frame_seconds=FRAME_SECONDS, fps=round(frames / FRAME_SECONDS, 2),
                  steps_per_s=round((step_of(text) - first_step) / FRAME_SECONDS, 1))
    page.locator(".gan-edu-status").first.evaluate("e => e.scrollIntoView()")
    page.screenshot(path=str(ARTIFACTS / f"stack_{stack}.png"))

    # type a new D learning rate into the slider's text box; read it back from the status line
    readout = page.locator(".gan-edu-lr-d .widget-readout").first
    report["readout_contenteditable"] = readout.get_attribute("contenteditable")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(NEW_LR)
    t = time.monotonic()
    page.keyboard.press("Enter")
    text = wait_until(page, lambda: (lambda s: s if f"lr_D={NEW_LR} " in s else None)(status_text(page)), 30,
                      f"lr_D={NEW_LR} in the status line", every_ms=50)
    report["lr_latency_s"] = round(time.monotonic() - t, 2)
    changed = step_of(text)
    text = wait_until(page, lambda: (lambda s: s if step_of(s) > changed + 5 else None)(status_text(page)), 30,
                      "training to go on after the change")
    assert "running" in text and f"lr_D={NEW_LR} " in text, text

    # a GAN Lab control: switch the running training's update scheme to simultaneous
    page.locator(".gan-edu-update select").first.select_option(label="simultaneous")
    text = wait_until(page, lambda: (lambda s: s if "| simultaneous |" in s else None)(status_text(page)), 30,
                      "simultaneous in the status line")
    changed = step_of(text)
    text = wait_until(page, lambda: (lambda s: s if step_of(s) > changed + 5 else None)(status_text(page)), 30,
                      "training to go on with the simultaneous update")
    assert "running" in text and "alternating" not in text, text

    # Stop (foreground: the playground's cell returns) or Pause (background)
    page.locator(".gan-edu-stop" if foreground else ".gan-edu-pause").first.click()
    if foreground:
        wait_until(page, lambda: LR_MARK in ui.cell_output(lr_cell), 60, "the cell after play() to run after Stop")
    else:
        wait_until(page, lambda: "paused" in status_text(page), 30, "Pause to stop the training")
        before = ui.cell_output(lr_cell)  # the added cell ran during Run All: run it again now
        ui.run_cell(lr_cell)
        wait_until(page, lambda: ui.cell_output(lr_cell) != before and LR_MARK in ui.cell_output(lr_cell), 60,
                   "the added cell's new output")
    out = ui.cell_output(lr_cell)
    m = re.search(rf"{LR_MARK} (\S+) (\S+) frames (\d+) draw_s (\S+) step (\d+)", out)
    assert m, out
    report["optimizer_lr_d"], report["kernel_python"] = float(m.group(1)), m.group(2)
    report["kernel_frames"], report["kernel_draw_s"] = int(m.group(3)), float(m.group(4))
    report["kernel_step"] = int(m.group(5))
    assert report["kernel_python"].startswith(str(ROOT / report["venv"])), \
        f"the kernel runs {report['kernel_python']}, not the {stack} stack's python"
    assert report["optimizer_lr_d"] == pytest.approx(float(NEW_LR)), out

    # data: "draw your own"; a click on the pad adds a point
    wait_until(page, lambda: ui.queued() == 0 and ui.kernel_idle(), 240, "the remaining cells to finish")
    ui.scroll_to(lr_cell - 1)
    page.locator(".gan-edu-data select").first.select_option(label="draw your own")
    wait_until(page, lambda: page.evaluate(TAG_PAD_JS), 60, "the drawing pad")
    pad_img = page.locator(".gan-edu-test-pad img").first
    pad_img.wait_for(timeout=60_000)
    before = wait_until(page, lambda: page.evaluate(PAD_COUNT_JS), 30, "the pad's point count")
    from gan_edu.live.drawpad import DrawPad
    from gan_edu.live.settings import DRAW_LIM
    size = 320  # gan_edu.live.widget.LiveWidget._add_pad
    left, top, right, bottom = DrawPad(lim=DRAW_LIM, size=size).axes_box()
    pad_img.scroll_into_view_if_needed()
    box = pad_img.bounding_box()
    sx, sy = box["width"] / size, box["height"] / size
    px, py = left + 0.7 * (right - left), top + 0.25 * (bottom - top)  # an empty corner of the default data
    page.mouse.click(box["x"] + px * sx, box["y"] + py * sy)
    try:
        after = wait_until(page, lambda: (lambda n: n if n and n > before else None)(page.evaluate(PAD_COUNT_JS)),
                           20, "the pad's point count to grow")
    finally:
        report["pad_points_before"] = before
        report["pad_points_after"] = page.evaluate(PAD_COUNT_JS)
        pad_img.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"stack_{stack}_pad.png"))
    assert after == before + 1, (before, after)


# ---------------------------------------------------------------------------- the check of understanding
QUIZ_NOTEBOOK = "quiz.ipynb"
QUIZ_SOURCE = """import gan_edu as ge
from gan_edu.exercises import quiz
quiz.questions_of = lambda notebook: [quiz.Question(
    "Ideally, what does D output for a real x?", 1, "D outputs the probability that its input is real.",
    choices=("zero", "one"))]
ge.exercises.understanding("01")"""


def browser_or_skip(stack: str):
    """Chromium's path, playwright's sync API and the stack's UI kind, or a skip saying what is missing."""
    venv, ui_kind, _, build = STACKS[stack]
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (/usr/bin/chromium or `chromium` on PATH): .ci/run installs it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not ((venv / "bin" / "python").exists() if stack == "lab" else (venv / ".built").exists()):
        pytest.skip(f"the {stack} stack's venv {venv.relative_to(ROOT)} is not built: {build}")
    return executable, sync_api, ui_kind


@contextlib.contextmanager
def one_cell_notebook(stack: str, tmp_path: Path, name: str, source: str, ready, what: str, tag: str):
    """A notebook of one cell (``source``) open on ``stack``'s server in headless Chromium, run until
    ``ready(page)`` holds (Run All again where a late kernel dialog dropped the queued cell). Yields
    (page, ui, the notebook's path, the page errors); a screenshot ``{tag}_{stack}_failure.png`` on failure."""
    executable, sync_api, ui_kind = browser_or_skip(stack)
    workdir = tmp_path / "notebooks"
    workdir.mkdir()
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": tag, "metadata": {}, "outputs": [],
                     "source": source}],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    saved = workdir / name
    saved.write_text(json.dumps(nb))
    errors = []
    with jupyter_server(stack, workdir, tmp_path) as (base, token, _), sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.on("pageerror", lambda err: errors.append(str(err)[:500]))
        ui = UI(ui_kind, page)
        try:
            page.goto(ui.url(base, token, name), timeout=90_000)
            page.wait_for_selector(ui.cell, timeout=90_000)
            wait_until(page, lambda: (ui.dismiss_dialogs(), ui.kernel_idle())[1], 120, "the kernel")
            for attempt in range(3):  # a late kernel dialog can drop the queued cell: then run all again
                ui.dismiss_dialogs()
                ui.run_all()
                try:
                    wait_until(page, lambda: ready(page), 90, what)
                    break
                except AssertionError:
                    if attempt == 2:
                        raise
            yield page, ui, saved, errors
        except BaseException:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{tag}_{stack}_failure.png"))
            raise
        finally:
            browser.close()


@pytest.mark.parametrize("stack", list(STACKS))
def test_check_of_understanding_on_stack(stack, tmp_path):
    # ge.exercises.understanding: click an answer and Check, read the feedback, save the notebook
    # from the browser, and find the answer recorded in the saved file's outputs
    with one_cell_notebook(stack, tmp_path, QUIZ_NOTEBOOK, QUIZ_SOURCE, lambda page: page.get_by_role(
            "radio", name="one").count(), "the question", "quiz") as (page, ui, saved, errors):
        page.get_by_role("button", name="Check", exact=True).click()  # no answer picked yet
        wait_until(page, lambda: page.get_by_text("Pick one of the answers first.").count(), 20, "the hint")
        page.get_by_role("radio", name="one").click()
        page.get_by_role("button", name="Check", exact=True).click()
        wait_until(page, lambda: page.get_by_text("Right. D outputs").count(), 20, "the feedback")
        wait_until(page, lambda: "Q1: one (right)" in ui.cell_output(0), 20, "the recorded answer")
        ui.save()
        wait_until(page, lambda: "Q1: one (right)" in saved.read_text(), 30, "the saved notebook")
    outputs = json.loads(saved.read_text())["cells"][0]["outputs"]
    assert any("Q1: one (right)" in "".join(o.get("data", {}).get("text/markdown", "")) for o in outputs), outputs
    assert not errors, f"page errors on {stack}: {errors}"


# ---------------------------------------------------------------------------- notebook 08's explorer
EXPLORER_NOTEBOOK = "explorer.ipynb"
EXPLORER_SOURCE = """import gan_edu as ge
from gan_edu.live.conditional import ConditionalExplorer
gan = ge.experiments.conditional.build("projection", seed=0, width=8)  # untrained: the widgets are the test
explorer = ConditionalExplorer(gan, classifier=None)
explorer.widget()"""
MAIN_IMAGE_JS = """() => {
  const el = document.querySelector('.gan-edu-explorer-main');  // the Image widget's <img> (ipywidgets 7 and 8)
  const img = el && (el.tagName === 'IMG' ? el : el.querySelector('img'));
  return img ? img.src : null;
}"""


@pytest.mark.parametrize("stack", list(STACKS))
def test_conditional_explorer_on_stack(stack, tmp_path):
    # notebook 08's explorer (gan_edu.live.conditional): Run All, click the digit 3, read that the
    # status line and G's image changed (drawn in the widget's observe callback: the kernel's main
    # thread, as Colab needs), and no page error
    def status(page) -> str:
        return page.locator(".gan-edu-explorer-status").first.inner_text()

    def ready(page) -> bool:
        return "digit 0" in status(page) and bool(page.evaluate(MAIN_IMAGE_JS))

    with one_cell_notebook(stack, tmp_path, EXPLORER_NOTEBOOK, EXPLORER_SOURCE, ready, "the explorer",
                           "explorer") as (page, ui, saved, errors):
        before = page.evaluate(MAIN_IMAGE_JS)
        page.locator(".gan-edu-explorer-digit").get_by_role("button", name="3", exact=True).click()
        wait_until(page, lambda: "asked for the digit 3" in status(page), 20, "the status line to say digit 3")
        wait_until(page, lambda: page.evaluate(MAIN_IMAGE_JS) not in (None, before), 20, "G's image to change")
    assert not errors, f"page errors on {stack}: {errors}"

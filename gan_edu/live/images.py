"""Learning-rate sliders on a GAN of images that trains while you watch (notebook 05).

``ImageTrainer(gan, sampler, z)`` shows two sliders (lr D, lr G), a button that trains
``steps`` more rounds, a status line and the grid of G(z) for the fixed noise ``z``, redrawn at
most ``fps`` times a second. A slider calls ``gan.configure``: checked at once, applied at the
next step boundary (never inside ``optimizer.step()``), recorded in ``gan.history["events"]``.
The sliders always show the optimizers' values: after each redraw they are set to the value in
effect, unless a change the student asked for is still waiting for its step boundary.

``play()`` picks the live mode as ``LiveTrainer.play`` does (``gan_edu.live.play``): in the
background mode the rounds run in a thread and the cell returns; in the foreground mode
(Colab) the cell runs them itself, handling the slider moves between rounds, until Stop.
``train(steps)`` and ``wait()`` do from code what the button does.
"""
from __future__ import annotations

import io
import threading
import time

import numpy as np

from .. import plots
from ..checks import check_count
from . import play as live_play

__all__ = ["ImageTrainer"]


def grid_png(images, nrow: int = 16, scale: int = 6) -> bytes:
    """Images in [-1, 1] as one PNG grid, each pixel a ``scale`` x ``scale`` square (sharp edges)."""
    from PIL import Image

    grid = plots.image_grid(images, nrow=nrow)  # (H, W) gray or (H, W, 3) colour, in [0, 1]
    pixels = np.kron(grid, np.ones((scale, scale) + (1,) * (grid.ndim - 2))) * 255
    buf = io.BytesIO()
    Image.fromarray(pixels.round().astype(np.uint8)).save(buf, format="png", compress_level=1)
    return buf.getvalue()


class ImageTrainer:
    """Sliders and a live image grid on ``gan`` training on ``sampler`` (see the module's text).
    ``steps`` rounds per button press, ``batch_size`` as in ``gan.fit``."""

    def __init__(self, gan, sampler, z, batch_size: int = 128, steps: int = 200, fps: float = 4.0):
        self.gan, self.sampler, self.z = gan, sampler, z
        self.batch_size, self.steps = check_count("batch_size", batch_size), check_count("steps", steps)
        self.fps = float(fps)
        self.asked = {}           # slider values asked for and not yet in effect
        self.remaining = 0        # rounds left of the current button press
        self.stopped = False      # Stop pressed (foreground mode)
        self.thread = None
        self.lock = threading.Lock()  # train() checks and starts a training as one step
        self.mode = "background"  # as play() found it (gan_edu.live.play)
        self.looping = False      # a foreground play() loop is running
        self._next_draw, self._syncing, self._ui = 0.0, False, None

    # ------------------------------------------------------------------ the learning rates
    def set_lr(self, d: float | None = None, g: float | None = None) -> None:
        """What moving a slider does: ``gan.set_lr`` (a bad value raises here, nothing changes)."""
        self.gan.set_lr(d=d, g=g)
        self.asked.update({k: v for k, v in (("lr_d", d), ("lr_g", g)) if v is not None})
        self._sync_sliders()

    def slider_values(self) -> dict:
        """What the sliders show now, by setting name (builds the widget on first use)."""
        self.widget()
        return {name: self._ui[name].value for name in ("lr_d", "lr_g")}

    def _slider_moved(self, name: str, value: float) -> None:
        if self._syncing:
            return
        try:
            self.set_lr(**{name[-1]: value})
        except ValueError as err:
            self._ui["status"].value = f"ignored: {err}"
            self._sync_sliders()

    def _sync_sliders(self) -> None:
        """Each slider shows the value asked for while it waits, else the optimizer's."""
        if self._ui is None:
            return
        self._syncing = True
        try:
            for name in ("lr_d", "lr_g"):
                now = getattr(self.gan, name)
                if self.asked.get(name) == now:
                    del self.asked[name]
                value = self.asked.get(name, now)
                if self._ui[name].value != value:
                    self._ui[name].value = value
        finally:
            self._syncing = False

    # ------------------------------------------------------------------ training
    def train(self, steps: int | None = None) -> None:
        """``steps`` (default ``self.steps``) more rounds: in a thread (background mode) or in the
        running ``play()`` cell's loop (foreground; with no loop running, here and now); nothing
        if a training is under way."""
        n = self.steps if steps is None else check_count("steps", steps)
        with self.lock:  # a training under way includes its last redraw: a click then starts nothing
            if self.remaining > 0 or (self.thread is not None and self.thread.is_alive()):
                return
            self.remaining = n
            if self.mode == "background":
                self.thread = threading.Thread(target=self._train_all, daemon=True, name="gan-edu-images")
                self.thread.start()
                return
        if not self.looping:  # foreground, called from code after play() ended: train here, now
            self._train_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the background training ends; False if it still runs after ``timeout`` s."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.remaining == 0

    def _train_all(self) -> None:
        while self._round():
            pass

    def _round(self) -> bool:
        """One round if any is left (then a redraw when due); False when there is none."""
        if self.remaining <= 0:
            return False
        try:
            self.gan.train_step(self.sampler, self.batch_size)
            self.remaining -= 1
        except Exception as err:  # a non-finite loss: stop, the GAN keeps its last finite state
            self.remaining = 0
            self.refresh(force=True, message=f"stopped: {type(err).__name__}: {err}")
            return False
        self.refresh(force=self.remaining == 0)
        return True

    # ------------------------------------------------------------------ the view
    def status(self) -> str:
        """Round, the learning rates in effect, the last losses."""
        g, h = self.gan, self.gan.history
        losses = f", D loss {h['loss_d'][-1]:.2f}, G loss {h['loss_g'][-1]:.2f}" if h["loss_d"] else ""
        return f"round {g.step}: lr D {g.lr_d:.1e}, lr G {g.lr_g:.1e}{losses}"

    def refresh(self, force: bool = False, message: str = "") -> None:
        """The grid of G(z), the status line and the sliders, at most ``fps`` times a second."""
        now = time.perf_counter()
        if self._ui is None or (not force and now < self._next_draw):
            return
        self._next_draw = now + 1 / self.fps
        self._ui["image"].value = grid_png(self.gan.sample(z=self.z))
        self._ui["status"].value = self.status() + (f" | {message}" if message else "")
        self._sync_sliders()

    def widget(self):
        """The sliders, the buttons, the status line and the image (ipywidgets), built once."""
        if self._ui is None:
            self._ui = _build(self)
            self.refresh(force=True)
        return self._ui["box"]

    def play(self, mode: str | None = None) -> str | None:
        """Show the widget; in the foreground mode, run the rounds here until Stop (or an
        interrupt, taken between rounds): returns ``"stopped"`` / ``"interrupted"``."""
        from IPython.display import display

        self.mode = live_play.live_mode(mode)
        display(self.widget())
        self._ui["stop"].layout.display = "" if self.mode == "foreground" else "none"
        if self.mode == "background":
            return None
        self.stopped, self.looping = False, True
        try:
            return live_play.run_foreground(self._round, lambda: self.stopped)
        finally:
            self.remaining, self.looping = 0, False
            self.refresh(force=True, message="stopped: run play() again to train more")


def _build(trainer: ImageTrainer) -> dict:
    """The widgets of ``trainer``, wired to it."""
    import ipywidgets as w

    def slider(name, label):
        s = w.FloatLogSlider(value=getattr(trainer.gan, name), base=10, min=-5, max=-1.5, step=0.01,
                             description=label, readout_format=".1e", continuous_update=False)
        s.observe(lambda change: trainer._slider_moved(name, change["new"]), names="value")
        s.add_class("gan-edu-" + name.replace("_", "-"))
        return s

    ui = {"lr_d": slider("lr_d", "lr D"), "lr_g": slider("lr_g", "lr G"),
          "train": w.Button(description=f"train {trainer.steps} more rounds", button_style="primary"),
          "stop": w.Button(description="Stop", button_style="danger"),
          "status": w.Label(""), "image": w.Image(format="png")}
    ui["train"].on_click(lambda _: trainer.train())
    ui["stop"].on_click(lambda _: setattr(trainer, "stopped", True))
    ui["status"].add_class("gan-edu-status")
    ui["stop"].layout.display = "none"
    ui["box"] = w.VBox([w.HBox([ui["lr_d"], ui["lr_g"]]), w.HBox([ui["train"], ui["stop"]]), ui["status"], ui["image"]])
    return ui

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
``train(steps)`` and ``wait()`` do from code what the button does. The rounds run in the
playground's own ``LiveTraining`` (one thread, one foreground loop for both trainers).
"""
from __future__ import annotations

import io
import time

import numpy as np

from .. import plots
from ..checks import check_count
from . import play as live_play
from .training import LiveTraining

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
        self.message = ""         # the status line's note (why training stopped)
        self.delay_s = 0.0        # no slow motion here
        self.training = LiveTraining(self)  # the playground's thread and foreground loop (gan_edu.live.training)
        self.ui = None            # the widgets by name, once built
        self._next_draw, self._syncing = 0.0, False

    # ------------------------------------------------------------------ the learning rates
    def set_lr(self, d: float | None = None, g: float | None = None) -> None:
        """What moving a slider does: ``gan.set_lr`` (a bad value raises here, nothing changes)."""
        self.gan.set_lr(d=d, g=g)
        self.asked.update({k: v for k, v in (("lr_d", d), ("lr_g", g)) if v is not None})
        self._sync_sliders()

    def slider_values(self) -> dict:
        """What the sliders show now, by setting name (builds the widget on first use)."""
        self.widget()
        return {name: self.ui[name].value for name in ("lr_d", "lr_g")}

    def slider_moved(self, name: str, value: float) -> None:
        """A slider moved to ``value``: ``set_lr``; a refused value shows in the status line."""
        if self._syncing:
            return
        try:
            self.set_lr(**{name[-1]: value})
        except ValueError as err:
            self.ui["status"].value = f"ignored: {err}"
            self._sync_sliders()

    def _sync_sliders(self) -> None:
        """Each slider shows the value asked for while it waits, else the optimizer's."""
        if self.ui is None:
            return
        self._syncing = True
        try:
            for name in ("lr_d", "lr_g"):
                now = getattr(self.gan, name)
                if self.asked.get(name) == now:
                    del self.asked[name]
                value = self.asked.get(name, now)
                if self.ui[name].value != value:
                    self.ui[name].value = value
        finally:
            self._syncing = False

    # ------------------------------------------------------------------ training (gan_edu.live.training)
    def train(self, steps: int | None = None) -> None:
        """``steps`` (default ``self.steps``) more rounds: in a thread (background mode) or in the
        running ``play()`` cell's loop (foreground; with no loop running, here and now); nothing
        if a training is under way."""
        n = self.steps if steps is None else check_count("steps", steps)
        if self.training.running:
            return
        self.message = ""
        if self.training.mode == "foreground" and not self.training.foreground.active:
            self.training.train_here(self.gan.step + n)  # play() has ended: train in this cell
        elif not self.training.start(self.gan.step + n):
            self.message = "the previous rounds are still finishing: press again in a moment"

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the background training ends; False if it still runs after ``timeout`` s."""
        return self.training.wait(timeout)

    def round_boundary(self) -> None:
        """Nothing waits for a round boundary here (the learning rates wait in ``gan.configure``)."""

    # ------------------------------------------------------------------ the view
    def status(self) -> str:
        """Round, the learning rates in effect, the last losses, the note (``message``)."""
        g, h = self.gan, self.gan.history
        losses = f", D loss {h['loss_d'][-1]:.2f}, G loss {h['loss_g'][-1]:.2f}" if h["loss_d"] else ""
        note = f" | {self.message}" if self.message else ""
        return f"round {g.step}: lr D {g.lr_d:.1e}, lr G {g.lr_g:.1e}{losses}{note}"

    def refresh(self, force: bool = False) -> None:
        """The grid of G(z), the status line and the sliders, at most ``fps`` times a second."""
        now = time.perf_counter()
        if self.ui is None or (not force and now < self._next_draw):
            return
        self._next_draw = now + 1 / self.fps
        self.ui["image"].value = grid_png(self.gan.sample(z=self.z))
        self.ui["status"].value = self.status()
        self._sync_sliders()

    def hold_view(self, seconds: float) -> None:
        """No frame for ``seconds`` (after a drawing problem)."""
        self._next_draw = time.perf_counter() + seconds

    def widget(self):
        """The sliders, the buttons, the status line and the image (ipywidgets), built once."""
        if self.ui is None:
            self.ui = _build(self)
            self.refresh(force=True)
        return self.ui["box"]

    def play(self, mode: str | None = None) -> str | None:
        """Show the widget; in the foreground mode, run the rounds here until Stop (or an
        interrupt, taken between rounds): returns ``"stopped"`` / ``"interrupted"``."""
        from IPython.display import display

        mode = self.training.mode = live_play.live_mode(mode)
        display(self.widget())
        self.ui["stop"].layout.display = "" if mode == "foreground" else "none"
        if mode == "background":
            return None
        try:
            return self.training.play_foreground()
        finally:
            self.message = "stopped: run play() again to train more"
            self.refresh(force=True)


def _build(trainer: ImageTrainer) -> dict:
    """The widgets of ``trainer``, wired to it."""
    import ipywidgets as w

    def slider(name, label):
        s = w.FloatLogSlider(value=getattr(trainer.gan, name), base=10, min=-5, max=-1.5, step=0.01,
                             description=label, readout_format=".1e", continuous_update=False)
        s.observe(lambda change: trainer.slider_moved(name, change["new"]), names="value")
        s.add_class("gan-edu-" + name.replace("_", "-"))
        return s

    ui = {"lr_d": slider("lr_d", "lr D"), "lr_g": slider("lr_g", "lr G"),
          "train": w.Button(description=f"train {trainer.steps} more rounds", button_style="primary"),
          "stop": w.Button(description="Stop", button_style="danger"),
          "status": w.Label(""), "image": w.Image(format="png")}
    ui["train"].on_click(lambda _: trainer.train())
    ui["stop"].on_click(lambda _: trainer.training.stop_foreground())
    ui["status"].add_class("gan-edu-status")
    ui["stop"].layout.display = "none"
    ui["box"] = w.VBox([w.HBox([ui["lr_d"], ui["lr_g"]]), w.HBox([ui["train"], ui["stop"]]), ui["status"], ui["image"]])
    return ui

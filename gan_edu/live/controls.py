"""The live trainer's settings, and how a change reaches the running training.

``LiveControls`` holds every setting of a ``LiveTrainer``, checked when taken, and applies a
change at its moment: a GAN control through ``gan.configure`` (checked at once, applied at the
next step boundary, never inside ``optimizer.step()``, recorded in ``gan.history["events"]``);
the batch size and newly drawn points at the next round boundary (recorded too); slow motion
at once; a change of data by a rebuild (a reset on the new data). A bad value raises
ValueError and changes nothing: the training goes on as it was.
"""
from __future__ import annotations

import weakref

import numpy as np

from .. import data as _data
from .settings import (ARCH, CONTROLS, DATASETS, DRAW, GAN_SETTINGS, PANELS, LiveSettings, check_changes,
                       check_panels, check_points, default_points, make_sampler)

__all__ = ["LiveControls"]


class LiveControls:
    """The settings of ``trainer`` from the dict ``given`` (keys of ``LiveSettings``, the others default):
    ``values`` the controls as last set (``CONTROLS``; the GAN applies its own at the next
    step boundary), ``arch`` the nets' sizes, ``betas``, ``seed``, the drawn ``points`` and
    their ``jitter``, the shown ``panels``. The GAN's own settings are checked again by GAN."""

    def __init__(self, trainer, given: dict):
        self.trainer = weakref.proxy(trainer)  # no reference cycle: an unused trainer is freed at once
        s = LiveSettings(**given)  # every setting checked, defaults filled in (gan_edu.live.settings)
        self.values = {k: getattr(s, k) for k in CONTROLS}
        self.arch = {k: getattr(s, k) for k in ARCH}
        self.betas, self.seed, self.jitter = s.betas, s.seed, s.jitter
        self.points = default_points() if s.points is None else s.points
        self.panels = {name: False for name in PANELS}
        self.panels.update(s.panels)

    def settings(self) -> dict:
        """Every setting as a small JSON-able dict (the points and their jitter for "draw" only)."""
        out = dict(self.values, betas=list(self.betas), seed=self.seed, **self.arch, panels=dict(self.panels))
        if self.values["data"] == DRAW:
            out["points"] = self.points.tolist()
            out["jitter"] = self.jitter
        return out

    def gan_settings(self) -> dict:
        """The controls ``GAN(...)`` and ``gan.configure`` take."""
        return {k: self.values[k] for k in GAN_SETTINGS}

    def sampler(self, seed: int):
        """A sampler of the current data (for "draw": the points with their jitter) seeded ``seed``."""
        return make_sampler(self.values["data"], self.points, self.jitter, seed)

    def label(self) -> str:
        """The data's name, as the view's title shows it."""
        key = self.values["data"]
        return f"drawn data ({len(self.points)} points)" if key == DRAW else DATASETS[key][0]

    # ------------------------------------------------------------------ changes
    def set(self, changes: dict) -> None:
        """``LiveTrainer.set``: check every change, hand the GAN's to ``gan.configure``, store
        them all; a change of data rebuilds (taking the drawing pad's points for "draw"), and a
        running training goes on from the seed on the new data."""
        t = self.trainer
        changes = check_changes(changes)
        if "batch_size" in changes:  # a batch the GAN's rounds would refuse (more than the memory): refused now
            t.gan.check_round_args(t.sampler, changes["batch_size"])
        gan_changes = {k: v for k, v in changes.items() if k in GAN_SETTINGS}
        if gan_changes:
            t.gan.configure(**gan_changes)  # validates all (d_steps and g_steps not both 0) before applying any
        self.values.update(changes)
        if "data" in changes:
            drawn = t.ui.drawn_points()  # "draw" takes what the pad holds (at least 2 points)
            if changes["data"] == DRAW and drawn is not None:
                self.points = check_points(drawn)
            running = t.running
            t.reset()
            t.ui.layout_pad()
            if running:  # a running training goes on, on the new data
                t.start()
        t.ui.sync()
        t.ui.show_status()

    def show(self, panels: dict) -> None:
        """``LiveTrainer.show``: store which optional panels are shown; redraw if a widget exists."""
        self.panels.update(check_panels(panels))
        ui = self.trainer.ui
        if ui.built:
            ui.sync()
            ui.layout_panels()
            self.trainer.refresh(force=True)

    def load_points(self, points, jitter: float | None = None) -> None:
        """``LiveTrainer.load_points``: the data becomes these points, the trainer resets, the
        drawing pad shows them."""
        t, arr = self.trainer, check_points(points)
        if jitter is not None:
            self.jitter = _data.check_jitter(jitter)
        self.points = arr
        t.ui.show_points(arr)
        t.ui.pending = None
        self.values["data"] = DRAW
        t.reset()
        t.ui.sync()
        t.ui.layout_pad()
        t.ui.show_status()

    def round_boundary(self) -> None:
        """The changes that wait for a round boundary: the batch size (recorded) and the points
        drawn meanwhile (``LiveWidget.take_drawn``)."""
        t, new = self.trainer, self.values["batch_size"]
        if new != t.batch_size:
            t.batch_size = new
            t.gan.history["events"].append((t.gan.step, "batch_size", new))
        drawn = t.ui.take_drawn()
        if drawn is not None:
            self.use_points(drawn)

    def use_points(self, points: np.ndarray) -> None:
        """Train on newly drawn ``points`` from now on, without a reset (recorded); nothing if
        they are the points already in use, a message if their dimension is not the nets'. The
        sampler, the points and the view's real points change together under ``draw_lock``."""
        t = self.trainer
        if points.shape == self.points.shape and np.array_equal(points, self.points):
            return
        if points.shape[1] != t.dim:
            t.message = f"the drawn points are {points.shape[1]}D, the nets {t.dim}D: press Reset"
            return
        with t.draw_lock:  # a redraw (a widget callback's, or this thread's) never sees half the swap
            t.gan.history["events"].append((t.gan.step, "data", f"{len(points)} drawn points"))
            self.points = points
            t.set_view_real()
            t.sampler = self.sampler(self.seed)
            t.message = ""

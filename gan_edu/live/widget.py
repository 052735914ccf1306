"""The live trainer's widget (ipywidgets): buttons, sliders, dropdowns, panel switches, the
drawing pad and the settings box, and the glue that wires them to a ``LiveTrainer``.

``LiveWidget`` is held by the trainer from the start and builds its ipywidgets on first use
(``build()``, from ``LiveTrainer.widget()``); until then its methods do nothing, so the trainer
calls them without asking whether a widget exists. Every control carries a CSS class
``gan-edu-<name>`` (the browser test finds them by it); a change calls ``on_control(name,
value)``, which applies it with ``trainer.set`` (or ``trainer.show`` for a panel switch): a
refused value shows in the status line and the widget snaps back to the value in effect.

This module never imports ``gan_edu.live``: it uses the trainer it is given and the constants
of ``gan_edu.live.settings``.
"""
from __future__ import annotations

import weakref

from ..losses import BCE_LOSSES
from ..settings import LABEL_SMOOTHINGS, MAX_STEPS_PER_ROUND, NOISES, OPTIMIZERS, UPDATES
from .settings import DATASETS, DRAW, DRAW_LIM, PANELS, check_points

__all__ = ["LiveWidget"]

BUTTONS = ("Start", "Pause", "Step", "Stop", "D step", "G step", "Reset")  # Stop: foreground mode only
PANEL_LABELS = {"manifold": "G's manifold", "optimal": "D* vs D", "divergences": "KL / JS"}


def _css(name: str) -> str:
    return "gan-edu-" + name.lower().replace("_", "-").replace(" ", "-")


def _labelled(choices, labels: dict | None = None) -> list:
    """Dropdown options (label, value) for the values of a setting, in its definition's order."""
    return [((labels or {}).get(v, v.replace("_", "-")), v) for v in choices]


def _controls(s: dict, w) -> dict:
    """One widget per setting, starting at the values of ``s`` (a trainer's ``settings()``); the
    choices and ranges are those of the settings' definitions (``gan_edu.settings``)."""
    layout = w.Layout(width="290px")

    def log_slider(name, value):
        return w.FloatLogSlider(value=value, base=10, min=-5, max=0, step=0.01, description=name,
                                readout_format=".3g", continuous_update=False, layout=layout)

    def dropdown(name, options, value):
        return w.Dropdown(options=options, value=value, description=name, layout=layout)

    def steps(name, value):
        return w.IntSlider(value=value, min=0, max=MAX_STEPS_PER_ROUND, description=name, layout=layout,
                           continuous_update=False)

    batches = sorted({32, 64, 128, 256, 512, s["batch_size"]})
    return {
        "lr_d": log_slider("lr_D", s["lr_d"]), "lr_g": log_slider("lr_G", s["lr_g"]),
        "d_steps": steps("D steps", s["d_steps"]), "g_steps": steps("G steps", s["g_steps"]),
        "loss": dropdown("G loss", _labelled(BCE_LOSSES), s["loss"]),
        "optimizer": dropdown("optimizer", list(OPTIMIZERS), s["optimizer"]),
        "batch_size": dropdown("batch", batches, s["batch_size"]),
        "noise": dropdown("noise z", list(NOISES), s["noise"]),
        "update": dropdown("update", _labelled(UPDATES), s["update"]),
        "label_smoothing": dropdown("labels", _labelled(LABEL_SMOOTHINGS, {"none": "no smoothing"}),
                                    s["label_smoothing"]),
        "smoothing": w.FloatSlider(value=s["smoothing"], min=0, max=0.45, step=0.05, description="smoothing s",
                                   continuous_update=False, layout=layout),
        "delay_ms": w.IntSlider(value=s["delay_ms"], min=0, max=500, step=10, description="slow (ms)",
                                continuous_update=False, layout=layout),
        "data": dropdown("data", [(label, key) for key, (label, _) in DATASETS.items()], s["data"]),
    }


def _images(w) -> tuple:
    """The images of the view: samples panel, curves, and the optional panels by name."""
    natural = lambda inches, dpi: w.Layout(width=f"{round(inches * dpi)}px", align_self="flex-start")
    image, curves = w.Image(format="png", layout=natural(5.4, 80)), w.Image(format="png", layout=natural(8.6, 64))
    panels = {"manifold": w.Image(format="png", layout=natural(4.4, 72)),
              "optimal": w.Image(format="png", layout=natural(8.0, 64)),
              "divergences": w.Image(format="png", layout=natural(8.6, 64))}
    return image, curves, panels


class LiveWidget:
    """The widget of ``trainer``. Once ``build()`` has run: ``box`` (the one to display),
    ``controls`` (by setting name; the panel switches by panel name), ``buttons`` (by label),
    ``status``, ``image`` and ``curves`` (the main view), ``panel_images`` (by panel name),
    ``pad_box`` (holds ``pad``, the DrawPad, built when the data is first "draw"),
    ``settings_text`` and ``copy`` (the "Copy settings" button). ``pending``: the points drawn
    while training runs, waiting for the next round boundary."""

    def __init__(self, trainer):
        self._trainer, self._held = weakref.ref(trainer), None  # a weak reference until built
        self.built = False
        self.pad = None
        self.pending = None   # drawn points not yet trained on: taken at the next round boundary
        self.syncing = False  # True while the widgets are set from the trainer: their callbacks do nothing

    @property
    def trainer(self):
        """The trainer this widget shows and steers."""
        return self._trainer() if self._held is None else self._held

    def build(self) -> None:
        """Build the widgets (once), starting at the trainer's settings, and wire them to it."""
        if self.built:
            return
        import ipywidgets as w

        t = self._held = self.trainer  # built: the widget keeps its trainer (display(t.widget()) alone must work)
        self.controls = _controls(t.settings(), w)
        for name, on in t.panels.items():
            self.controls[name] = w.Checkbox(value=on, description=PANEL_LABELS[name], indent=False,
                                             layout=w.Layout(width="110px"))
        for name, control in self.controls.items():
            control.add_class(_css(f"show-{name}" if name in PANEL_LABELS else name))
            control.observe(lambda change, name=name: self.on_control(name, change["new"]), names="value")
        actions = {"Start": t.start, "Pause": t.pause, "Step": t.step, "D step": lambda: t.player_round("D"),
                   "G step": lambda: t.player_round("G"), "Reset": t.reset, "Stop": t.training.stop_foreground}
        self.buttons = {name: w.Button(description=name, layout=w.Layout(width="70px")) for name in BUTTONS}
        for name, button in self.buttons.items():
            button.add_class(_css(name))
            button.on_click(lambda _, act=actions[name]: self.on_button(act))
        self.status = w.Label(value="", layout=w.Layout(width="100%"))
        self.status.add_class("gan-edu-status")
        self.image, self.curves, self.panel_images = _images(w)
        self._settings_box(w)
        self.pad_box = w.VBox([])
        self.box = self._layout(w)
        self.built = True
        self.show_stop(False)
        self.layout_pad()
        self.layout_panels()

    def _settings_box(self, w) -> None:
        """The "Copy settings" button and the text box it fills with ``trainer.settings_json()``."""
        self.settings_text = w.Textarea(value="", placeholder="press Copy settings",
                                        layout=w.Layout(width="95%", height="60px"))
        self.settings_text.add_class("gan-edu-settings-text")
        self.copy = w.Button(description="Copy settings", layout=w.Layout(width="120px"))
        self.copy.add_class("gan-edu-copy-settings")
        self.copy.on_click(lambda _: setattr(self.settings_text, "value", self.trainer.settings_json()))

    def _layout(self, w):
        """The whole widget: status, controls beside the samples (and G's manifold), the drawing
        pad, D* vs D, the curves, the divergences, the settings box."""
        switches = w.HBox([w.Label("show:")] + [self.controls[name] for name in PANEL_LABELS])
        left = [control for name, control in self.controls.items() if name not in PANEL_LABELS]
        buttons = list(self.buttons.values())
        panel = w.VBox([w.HBox(buttons[:4]), w.HBox(buttons[4:])] + left + [switches])
        images = self.panel_images
        return w.VBox([self.status, w.HBox([panel, self.image, images["manifold"]]), self.pad_box,
                       images["optimal"], self.curves, images["divergences"], w.HBox([self.copy, self.settings_text])])

    # ------------------------------------------------------------------ callbacks
    def on_control(self, name, value) -> None:
        """A widget changed: ``trainer.show`` for a panel switch, ``trainer.set`` otherwise. A bad
        value never reaches (or kills) the training: the status line says it was ignored and the
        widget shows the value in effect again."""
        if self.syncing:
            return
        try:
            if name in PANELS:
                self.trainer.show(**{name: value})
            else:
                self.trainer.set(**{name: value})
        except (ValueError, TypeError) as err:
            self.trainer.message = f"ignored: {err}"
            self.sync()
            self.show_status()

    def on_button(self, action) -> None:
        """A button: run ``action``; an error (e.g. Step on a diverged GAN) goes to the status
        line and the state is kept."""
        try:
            action()
        except Exception as err:
            self.trainer.message = f"{type(err).__name__}: {err}"
        self.show_status()

    def on_pad_change(self, pad) -> None:
        """The student drew or erased: train on the new points from the next round on (no
        reset; at once if the training is paused)."""
        t = self.trainer
        if self.syncing or t.setup.values["data"] != DRAW:
            return
        if len(pad) < 2:
            t.message = "draw at least 2 points"
            self.show_status()
            return
        self.pending = check_points(pad.points)
        if not t.running:
            t.setup.use_points(self.take_drawn())
            t.refresh(force=True)

    def take_drawn(self):
        """The drawn points not yet trained on (None if there are none), handed over once."""
        points, self.pending = self.pending, None
        return points

    # ------------------------------------------------------------------ showing the trainer's state
    def sync(self) -> None:
        """Set every control to the trainer's value in effect (their callbacks do nothing meanwhile)."""
        if not self.built:
            return
        s = self.trainer.settings()
        self.syncing = True
        try:
            for name, control in self.controls.items():
                value = s["panels"][name] if name in PANELS else s[name]
                if control.value != value:
                    control.value = value
        finally:
            self.syncing = False

    def show_status(self) -> None:
        """The status line: ``trainer.status()``."""
        if self.built:
            self.status.value = self.trainer.status()

    def show_frame(self, field: bytes, curves: bytes | None, panels: dict) -> None:
        """A frame's PNGs: the samples panel, the curves (None: kept as they are) and the optional
        panels by name."""
        self.image.value = field
        if curves is not None:
            self.curves.value = curves
        for name, image in panels.items():
            self.panel_images[name].value = image

    def layout_pad(self) -> None:
        """Show the drawing pad only while the data is "draw" in 2D (built then, on first use)."""
        if not self.built:
            return
        if self.trainer.settings()["data"] == DRAW and self.trainer.dim == 2:
            if self.pad is None:
                self._add_pad()
            self.pad_box.layout.display = ""
        else:
            self.pad_box.layout.display = "none"

    def show_stop(self, shown: bool) -> None:
        """Show the Stop button (the foreground mode's: it ends the cell that runs the training)."""
        if self.built:
            self.buttons["Stop"].layout.display = "" if shown else "none"
            self.buttons["Stop"].button_style = "danger" if shown else ""

    def layout_panels(self) -> None:
        """Show the images of the shown optional panels only."""
        if self.built:
            for name, image in self.panel_images.items():
                image.layout.display = "" if self.trainer.panels[name] else "none"

    # ------------------------------------------------------------------ the drawing pad
    def _add_pad(self) -> None:
        """Build the drawing pad (``gan_edu.live.drawpad.DrawPad``) with the trainer's points and put
        it in the widget; its changes go to ``on_pad_change``."""
        import ipywidgets as w

        from .drawpad import DrawPad

        pad = DrawPad(lim=DRAW_LIM, size=320, points=self.trainer.points)
        try:
            pad_widget = pad.widget
        except ImportError as err:  # no ipyevents: the pad cannot take clicks; load_points still works
            self.pad_box.children = [w.Label(f"drawing pad unavailable: {err}")]
            return
        pad.on_change(self.on_pad_change)
        self.pad = pad
        note = w.Label("Draw the data: training uses the new points from the next round (Reset restarts G and D).")
        self.pad_box.children = [note, pad_widget]

    def drawn_points(self):
        """The pad's points if it holds at least 2 (else None)."""
        return self.pad.points if self.pad is not None and len(self.pad) >= 2 else None

    def show_points(self, points) -> None:
        """Put ``points`` (n, 2) on the pad in place of its own, without calling back."""
        if self.pad is None or points.shape[1] != 2:
            return
        self.syncing = True
        try:
            self.pad.clear()
            self.pad.add_points(points)
        finally:
            self.syncing = False

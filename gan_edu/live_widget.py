"""The live trainer's widget (ipywidgets): buttons, sliders, dropdowns, panel switches, the
drawing pad and the settings box, wired to a ``LiveTrainer`` (see ``gan_edu.live``).

Every control carries a CSS class ``gan-edu-<name>`` (the browser test finds them by it) and
calls ``trainer._on_control(name, value)``, which checks the value and applies it to the
running training (a refused value shows in the status line and the widget snaps back).
"""
from __future__ import annotations

__all__ = ["build", "add_pad"]

BUTTONS = ("Start", "Pause", "Step", "D step", "G step", "Reset")
PANEL_LABELS = {"manifold": "G's manifold", "optimal": "D* vs D", "divergences": "KL / JS"}


def _css(name: str) -> str:
    return "gan-edu-" + name.lower().replace("_", "-").replace(" ", "-")


def _controls(trainer, w) -> dict:
    """One widget per setting, starting at the trainer's values."""
    from .live import DATASETS

    s = trainer._controls
    layout = w.Layout(width="290px")

    def log_slider(name, value):
        return w.FloatLogSlider(value=value, base=10, min=-5, max=0, step=0.01, description=name,
                                readout_format=".3g", continuous_update=False, layout=layout)

    def dropdown(name, options, value):
        return w.Dropdown(options=options, value=value, description=name, layout=layout)

    batches = sorted({32, 64, 128, 256, 512, s["batch_size"]})
    return {
        "lr_d": log_slider("lr_D", s["lr_d"]), "lr_g": log_slider("lr_G", s["lr_g"]),
        "d_steps": w.IntSlider(value=s["d_steps"], min=0, max=10, description="D steps", layout=layout,
                               continuous_update=False),
        "g_steps": w.IntSlider(value=s["g_steps"], min=0, max=10, description="G steps", layout=layout,
                               continuous_update=False),
        "loss": dropdown("G loss", [("non-saturating", "non_saturating"), ("saturating", "saturating")], s["loss"]),
        "optimizer": dropdown("optimizer", ["adam", "sgd"], s["optimizer"]),
        "batch_size": dropdown("batch", batches, s["batch_size"]),
        "noise": dropdown("noise z", ["normal", "uniform"], s["noise"]),
        "update": dropdown("update", [("alternating", "alternating"), ("simultaneous", "simultaneous")], s["update"]),
        "label_smoothing": dropdown("labels", [("no smoothing", "none"), ("one-sided", "one_sided"),
                                               ("two-sided", "two_sided")], s["label_smoothing"]),
        "smoothing": w.FloatSlider(value=s["smoothing"], min=0, max=0.45, step=0.05, description="smoothing s",
                                   continuous_update=False, layout=layout),
        "delay_ms": w.IntSlider(value=s["delay_ms"], min=0, max=500, step=10, description="slow (ms)",
                                continuous_update=False, layout=layout),
        "data": dropdown("data", [(label, key) for key, (label, _) in DATASETS.items()], s["data"]),
    }


def build(trainer) -> dict:
    """The whole widget for ``trainer``; returns its parts by name (``box`` is the one to display)."""
    import ipywidgets as w

    controls = _controls(trainer, w)
    for name, on in trainer.panels.items():
        controls[name] = w.Checkbox(value=on, description=PANEL_LABELS[name], indent=False,
                                    layout=w.Layout(width="110px"))
    for name, control in controls.items():
        control.add_class(_css(f"show-{name}" if name in PANEL_LABELS else name))
        control.observe(lambda change, name=name: trainer._on_control(name, change["new"]), names="value")
    actions = {"Start": trainer.start, "Pause": trainer.pause, "Step": trainer.step, "D step": trainer.d_step,
               "G step": trainer.g_step, "Reset": trainer.reset}
    buttons = {name: w.Button(description=name, layout=w.Layout(width="70px")) for name in BUTTONS}
    for name, button in buttons.items():
        button.add_class(_css(name))
        button.on_click(lambda _, act=actions[name]: trainer._on_button(act))
    status = w.Label(value="", layout=w.Layout(width="100%"))
    status.add_class("gan-edu-status")
    natural = lambda inches, dpi: w.Layout(width=f"{round(inches * dpi)}px", align_self="flex-start")
    image, curves = w.Image(format="png", layout=natural(5.4, 80)), w.Image(format="png", layout=natural(8.6, 64))
    panels = {"manifold": w.Image(format="png", layout=natural(4.4, 72)),
              "optimal": w.Image(format="png", layout=natural(8.0, 64)),
              "divergences": w.Image(format="png", layout=natural(8.6, 64))}
    settings_text = w.Textarea(value="", placeholder="press Copy settings", layout=w.Layout(width="95%", height="60px"))
    settings_text.add_class("gan-edu-settings-text")
    copy = w.Button(description="Copy settings", layout=w.Layout(width="120px"))
    copy.add_class("gan-edu-copy-settings")
    copy.on_click(lambda _: setattr(settings_text, "value", trainer.settings_json()))
    pad_box = w.VBox([])
    switches = w.HBox([w.Label("show:")] + [controls[name] for name in PANEL_LABELS])
    left = [name for name in controls if name not in PANEL_LABELS]
    panel = w.VBox([w.HBox(list(buttons.values())[:3]), w.HBox(list(buttons.values())[3:])]
                   + [controls[name] for name in left] + [switches])
    box = w.VBox([status, w.HBox([panel, image, panels["manifold"]]), pad_box, panels["optimal"], curves,
                  panels["divergences"], w.HBox([copy, settings_text])])
    return dict(box=box, controls=controls, buttons=buttons, status=status, image=image, curves=curves,
                panels=panels, pad_box=pad_box, settings_text=settings_text, copy=copy)


def add_pad(trainer) -> None:
    """Build the drawing pad (``gan_edu.drawpad.DrawPad``) with the trainer's points and put it
    in the widget; its changes go to ``trainer._on_pad_change``."""
    import ipywidgets as w

    from .drawpad import DrawPad
    from .live import DRAW_LIM

    pad = DrawPad(lim=DRAW_LIM, size=320, points=trainer.points)
    try:
        pad_widget = pad.widget
    except ImportError as err:  # no ipyevents: the pad cannot take clicks; load_points still works
        trainer._ui["pad_box"].children = [w.Label(f"drawing pad unavailable: {err}")]
        return
    pad.on_change(trainer._on_pad_change)
    trainer.pad = pad
    note = w.Label("Draw the data: training uses the new points from the next round (Reset restarts G and D).")
    trainer._ui["pad_box"].children = [note, pad_widget]

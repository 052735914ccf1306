"""The live trainer's sessions: settings applied to a running trainer, and session files.

- ``apply_settings(trainer, settings)``: a ``settings()`` dict (the one ``LiveTrainer(settings=...)``
  takes to reproduce a demo) applied to an existing trainer, running or not;
- ``save(trainer, path)`` / ``load(cls, path)``: models, optimizers, controls, history, metrics
  and the data sampler's state in one file (written atomically by ``GAN.save``, read with
  ``weights_only=True``: a session file cannot run code; it is also a ``GAN.load`` checkpoint).

``LiveTrainer.apply_settings``, ``save`` and ``load`` call these; they read and set the
trainer's state as its own methods would (its settings, metrics, widget).
"""
from __future__ import annotations

from pathlib import Path

from ..checkpoint import safe_load, verified
from ..train import GAN
from .controls import LiveControls
from .settings import ARCH, CONTROLS, GAN_SETTINGS, check_settings
from .view import Display

__all__ = ["apply_settings", "save", "load", "SESSION_FORMAT"]

SESSION_FORMAT = "gan_edu_live/1"
REBUILT_BY = ("data", "points", "jitter", "betas", "seed") + ARCH  # a change of these rebuilds the nets


def apply_settings(trainer, new) -> None:
    """Apply a ``settings()`` dict (or its JSON) to ``trainer``: controls go to the running
    training as with ``set``; a change of data, points, nets' sizes, betas or seed rebuilds (a
    reset, which pauses). Every value is checked before anything changes: a bad one raises a
    ValueError or TypeError naming it and leaves the trainer as it was, running if it ran."""
    s = check_settings(new)
    current = trainer.settings()
    full = dict(current, points=current.get("points"), jitter=trainer.setup.jitter)
    full.update(s)
    controls = LiveControls(trainer, full)  # every setting checked (LiveSettings); nothing changed yet
    if not [k for k in REBUILT_BY if k in s and s[k] != current.get(k)]:  # the same data: set(data=) would reset
        trainer.set(**{k: v for k, v in s.items() if k in CONTROLS and k != "data"})
        if "panels" in s:
            trainer.show(**(s["panels"] or {}))  # checked with the others (None: no change)
        return
    trainer.reset(controls)  # pauses; takes the new settings once their nets are built
    trainer.ui.sync()
    trainer.ui.layout_panels()
    trainer.ui.show_status()


def save(trainer, path) -> Path:
    """Save the session to ``path``: ``GAN.save`` (models, optimizers, history, RNG states) plus
    the settings, the batch, the metrics and the data sampler's state; all of one step."""
    with trainer.training.lock, trainer.gan.lock:  # no reset, and no round, in between: one GAN, one step
        sampler = trainer.sampler
        live = dict(format=SESSION_FORMAT, settings=trainer.settings(), batch_size=trainer.batch_size,
                    **trainer.metrics.state(),
                    sampler_rng=sampler.generator.get_state() if hasattr(sampler, "generator") else None)
        return trainer.gan.save(path, extra={"live": live})


def load(cls, path, device="cpu", **options):
    """A ``cls`` (LiveTrainer) from ``save(path)``, paused, ready to ``start()`` where it stopped.
    ``options``: ``fps``, ``max_draw_share``."""
    live = verified(safe_load(path, "gan_edu session"), path).get("live")
    if not isinstance(live, dict) or live.get("format") != SESSION_FORMAT:
        raise ValueError(f"{path} is not a LiveTrainer session (a GAN checkpoint loads with GAN.load)")
    trainer = cls(settings=live["settings"], device=device, **options)
    trainer.gan = GAN.load(path, device=device)
    trainer.gan.configure(**{k: live["settings"][k] for k in GAN_SETTINGS})  # controls set but not yet applied
    trainer.batch_size = live["batch_size"]
    trainer.metrics.load_state(live)
    if live["sampler_rng"] is not None and hasattr(trainer.sampler, "generator"):
        trainer.sampler.generator.set_state(live["sampler_rng"])
    trainer.display = Display()  # nothing drawn yet of the loaded GAN
    return trainer

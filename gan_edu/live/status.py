"""The live trainer's status line: what trains now, in one line of text.

Each control shows the value in effect (read from the GAN and its optimizers), or, while a
change waits for the next round boundary, the value asked for, marked ``(next round)``: a
value typed while paused shows at once, not after the next Step.
"""
from __future__ import annotations

__all__ = ["status_line"]

NEXT = " (next round)"


def _shown(trainer, name: str, fmt: str = "{}") -> str:
    """The value of control ``name`` as the status line shows it."""
    asked = trainer.setup.values[name]
    now = trainer.batch_size if name == "batch_size" else trainer.gan.settings()[name]
    return fmt.format(asked) + (NEXT if asked != now else "")


def status_line(trainer) -> str:
    """Round, loss, the controls (in effect, or asked for), state, metrics, message."""
    t, cov, div = trainer, trainer.coverage, trainer.divergences
    state = "running" if t.running else "paused"
    labels = _shown(t, "label_smoothing").replace("_", "-")
    text = (f"step {t.gan.step} | G loss {_shown(t, 'loss').replace('_', '-')} | lr_D={_shown(t, 'lr_d', '{:.3g}')} "
            f"| lr_G={_shown(t, 'lr_g', '{:.3g}')} | d_steps={_shown(t, 'd_steps')} g_steps={_shown(t, 'g_steps')} "
            f"| {_shown(t, 'update')} | {_shown(t, 'optimizer')} | labels {labels} | batch={_shown(t, 'batch_size')} "
            f"| {state}")
    delay = t.setup.values["delay_ms"]
    if delay:
        text += f" | slow motion {delay} ms"
    if cov["step"]:
        text += f" | modes {cov['modes'][-1]}/{len(t.modes)}, {100 * cov['high_quality'][-1]:.0f}% high quality"
    if div["step"]:
        text += f" | JS {div['js'][-1]:.3f}"
    return text + (f" | {t.message}" if t.message else "")

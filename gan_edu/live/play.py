"""Where the live training runs: in a background thread, or in the notebook cell itself.

JupyterLab, Notebook 7 and Binder deliver widget updates made from any thread: there a
playground is displayed and the cell returns, and Start trains in a background thread
(``gan_edu.live.training``) while the kernel handles the slider moves. Colab does not deliver
updates made from a background thread (googlecolab/colabtools#3373), so there the cell runs the
loop itself (*foreground mode*): between two rounds it handles the widget events that have
arrived (Start, Pause, a slider, any control) with jupyter-ui-poll's ``ui_events``, and it
redraws from the main thread. The cell returns when Stop is pressed or the kernel is
interrupted; an interrupt waits for the round in progress to end, so the GAN is never left
half-updated.

``live_mode()`` picks the mode: the environment variable ``GAN_EDU_LIVE=foreground|background``
forces one (tests, other front ends); otherwise foreground on Colab (``"google.colab" in
sys.modules``) and background elsewhere. ``run_foreground`` is the loop; ``held_interrupts``
(``gan_edu.train``'s, which ``fit`` uses too) and ``widget_events`` are its two tools.
"""
from __future__ import annotations

import os
import sys
import time

from ..train import held_interrupts

__all__ = ["MODES", "ENV", "live_mode", "widget_events", "run_foreground"]

MODES = ("foreground", "background")
ENV = "GAN_EDU_LIVE"
EVENTS_PER_POLL = 20  # widget messages handled between two rounds at most
IDLE_S = 0.05         # the loop's sleep while there is nothing to train (paused)


def live_mode(mode: str | None = None) -> str:
    """``mode`` if given, else ``$GAN_EDU_LIVE``, else ``"foreground"`` on Colab and
    ``"background"`` elsewhere; a ValueError for anything but the two names."""
    if mode is None:
        mode = os.environ.get(ENV) or ("foreground" if "google.colab" in sys.modules else "background")
    if mode not in MODES:
        raise ValueError(f"the live mode ({ENV}) must be 'foreground' or 'background', got {mode!r}")
    return mode


def widget_events():
    """jupyter-ui-poll's ``ui_events()``: a context whose ``poll(n)`` handles up to ``n`` waiting
    widget messages while the cell runs (other cells' requests wait until it ends)."""
    try:
        from jupyter_ui_poll import ui_events
    except ImportError as err:
        raise ImportError("the foreground live mode needs jupyter-ui-poll: pip install 'jupyter-ui-poll>=1.0,<1.1' "
                          f"(or set {ENV}=background where widget updates from a thread reach the page)") from err
    return ui_events()


def run_foreground(train_round, stopped, events=None, idle_s: float = IDLE_S) -> str:
    """Until ``stopped()``: handle the waiting widget events, then ``train_round()`` (one round;
    it returns False when there is nothing to do, and the loop sleeps ``idle_s``). ``events``
    a context like ``widget_events()`` (the default). Returns ``"stopped"``, or
    ``"interrupted"`` after an interrupt (taken between rounds)."""
    with held_interrupts() as interrupted, (widget_events() if events is None else events) as poll:
        while not stopped():
            if interrupted.is_set():
                return "interrupted"
            poll(EVENTS_PER_POLL)
            if not stopped() and not interrupted.is_set() and not train_round():
                time.sleep(idle_s)
    return "interrupted" if interrupted.is_set() else "stopped"

"""How the live trainers train: rounds in a background thread, or here in the caller's.

One ``LiveTraining`` serves both trainers, the 2D playground's ``LiveTrainer`` and notebook
05's ``ImageTrainer``: one training thread, one foreground loop. A trainer it serves has
``gan``, ``sampler``, ``batch_size``, ``message`` (the status line's note), ``delay_s`` (slow
motion), ``round_boundary()`` (what waits for a round boundary), ``refresh(force)`` (a redraw,
which skips itself when no frame is due) and ``hold_view(seconds)``; ``run`` also needs
``record_metrics()`` and ``ui.built`` (the playground's).

A cell that loops over training steps blocks the kernel (slider moves wait until it ends), so
``LiveTrainer.start()`` runs its rounds in a daemon thread and the cell returns. One round of
that thread: the changes that wait for a round boundary (``trainer.round_boundary()``), one
``gan.train_step``, a redraw when one is due, slow motion. A pause sets an event: the loop ends
after the round in progress (a slow-motion wait on the event ends at once). A failing round (a
non-finite loss above all) pauses, keeping the last finite state; a failing redraw never stops
the training. The thread is also stopped and joined when the trainer is garbage collected and
at interpreter exit.

The lifecycle is one small state machine under one lock (``LiveTraining.lock``): ``"idle"``
(no thread), ``"running"``, ``"pausing"`` (asked to stop, finishing its round), ``"closed"``.
Every change of state (``start``, ``pause``, ``close``, ``run``, ``one_update``, and the trainer's
``reset`` and ``save``) happens under that lock, from any thread, in any order: at most one
training thread ever exists, and a session is saved between two rounds of one GAN. The training
thread itself never takes the lock (a pause holding it waits for that thread).

In the foreground mode (``gan_edu.live.play``: Colab) there is no thread: ``play_foreground``
runs the same rounds in the cell's own thread, Start and Pause switch them on and off
(``Foreground.running``), Stop ends the cell, and a slow-motion wait lets widget events through.

``run(steps)`` is the headless path (tests, nbval): it pauses the thread and trains here with
``GAN.fit``, which gives exactly the history of ``GAN.fit`` with the same seed and settings;
``one_update`` is a single D-only or G-only update.
"""
from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass

from ..checks import check_count
from . import play as live_play

__all__ = ["LiveTraining", "Foreground"]

NAME = "gan-edu-live"


def _shutdown(stop: threading.Event, threads: list) -> None:
    """Stop and join the training thread (weakref finalizer: at garbage collection or exit)."""
    stop.set()
    for t in threads:
        if t.is_alive() and t is not threading.current_thread():
            t.join(timeout=10)


@dataclass
class Foreground:
    """The foreground loop's state: ``active`` while a ``play()`` cell runs the loop; ``running``
    between Start and Pause; ``stop`` once Stop is pressed; ``target`` the step to stop at (None:
    no end); ``next_at`` the ``time.perf_counter()`` of the next round (slow motion)."""

    active: bool = False
    running: bool = False
    stop: bool = False
    target: int | None = None
    next_at: float = 0.0


FOREGROUND_ENDED = "the cell that ran the training has ended: run trainer.play() again to train"


class LiveTraining:
    """The training of ``trainer`` (a LiveTrainer or an ImageTrainer: see the module's text). ``start(target)`` trains in a daemon thread
    until ``pause()`` (which sets ``stop``), a failing round, or the GAN's step ``target``;
    ``threads`` holds the thread last started (it may still be finishing a round after a
    pause). ``run`` and ``one_update`` train in the caller's thread, after a pause."""

    def __init__(self, trainer):
        self.lock = threading.RLock()  # held by every change of state (and by reset and save)
        self.closed = False
        self.stop = threading.Event()
        self.stop.set()
        self.threads: list[threading.Thread] = []
        self.mode = "background"  # "foreground" once play() has run in that mode
        self.foreground = Foreground()
        self._trainer = weakref.ref(trainer)  # a running thread holds the trainer, nothing else here
        self._finalizer = weakref.finalize(trainer, _shutdown, self.stop, self.threads)

    @property
    def running(self) -> bool:
        """A thread is alive and not asked to stop."""
        return self.state == "running"

    @property
    def state(self) -> str:
        """``"idle"``, ``"running"``, ``"pausing"`` (its round finishing) or ``"closed"``."""
        if self.foreground.running:
            return "running"
        alive = any(t.is_alive() for t in self.threads)
        if alive:
            return "pausing" if self.stop.is_set() else "running"
        return "closed" if self.closed else "idle"

    # ------------------------------------------------------------------ in a background thread
    def start(self, target: int | None = None) -> bool:
        """Train in a new daemon thread until paused or the GAN's step ``target`` (None: no end);
        call only when not ``running``. False, and nothing started, if the thread of a pause is
        still finishing its round after 10 s: never two training threads."""
        with self.lock:
            if self.state == "running":
                return True
            if self.mode == "foreground":
                return self._start_foreground(target)
            return self._start(target)

    def _start(self, target) -> bool:
        self.threads[:] = [t for t in self.threads if t.is_alive()]
        if self.threads:  # a pause still finishing its round
            self.threads[0].join(timeout=10)
            if self.threads[0].is_alive():
                return False
        self.closed = False
        trainer = self._trainer()
        if not self._finalizer.alive:  # started again after close()
            self._finalizer = weakref.finalize(trainer, _shutdown, self.stop, self.threads)
        self.stop.clear()
        thread = threading.Thread(target=self._loop, args=(trainer, self.stop, target), name=NAME, daemon=True)
        self.threads[:] = [thread]
        thread.start()
        return True

    def pause(self, timeout: float | None = 10.0) -> None:
        """Ask the thread to stop after its round and wait (at most ``timeout`` s) until it has."""
        with self.lock:
            self.foreground.running = False
            self.stop.set()
            self.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the thread stops; False if it is still running after ``timeout`` seconds."""
        for t in list(self.threads):
            if t is not threading.current_thread():
                t.join(timeout)
        return not self.running

    def close(self) -> None:
        """Stop and join the thread for good (the finalizer, run now)."""
        with self.lock:
            self.stop.set()
            self._finalizer()
            self.closed = True

    def _loop(self, trainer, stop: threading.Event, target: int | None) -> None:
        """Rounds until ``stop`` is set or the step ``target`` reached; then a final redraw."""
        while not stop.is_set() and (target is None or trainer.gan.step < target):
            if not self._train_round(trainer):
                stop.set()
                break
            if trainer.delay_s:  # slow motion; a pause ends the wait at once
                stop.wait(trainer.delay_s)
        stop.set()
        self._refresh(trainer, force=True)

    def _train_round(self, trainer) -> bool:
        """One round of the loop: the changes waiting for a round boundary, ``gan.train_step``, a
        redraw when one is due. False if the round failed (a non-finite loss above all): the
        message says why, and the GAN keeps its last finite state."""
        try:
            trainer.round_boundary()
            trainer.gan.train_step(trainer.sampler, trainer.batch_size)
        except Exception as err:
            trainer.message = f"paused: {type(err).__name__}: {err}"
            return False
        self._refresh(trainer)  # a frame if one is due
        return True

    def train_here(self, target: int) -> None:
        """Pause, then the background loop's rounds in this thread, up to the GAN's step ``target``
        (a paused foreground trainer asked to train from code)."""
        with self.lock:
            self.pause()
            self._loop(self._trainer(), threading.Event(), target)

    # ------------------------------------------------------------------ in the cell's own thread
    def _start_foreground(self, target) -> bool:
        """Start in the foreground mode: the loop of a running ``play()`` cell trains from now on."""
        fg, trainer = self.foreground, self._trainer()
        if not fg.active:
            trainer.message = FOREGROUND_ENDED
            return True
        fg.running, fg.target, fg.next_at = True, target, 0.0
        return True

    def play_foreground(self, events=None) -> str:
        """The foreground mode's loop in this (the cell's) thread, until Stop (``stop_foreground``)
        or an interrupt, taken between rounds (``live_play.run_foreground``; ``events`` as there).
        Returns ``"stopped"`` or ``"interrupted"``; the trainer is paused, the GAN intact."""
        with self.lock:
            self.pause()
            self.mode, self.foreground = "foreground", Foreground(active=True)
        fg = self.foreground
        try:
            return live_play.run_foreground(lambda: self._foreground_round(fg), lambda: fg.stop, events)
        finally:
            fg.active = fg.running = False
            self._refresh(self._trainer(), force=True)

    def _foreground_round(self, fg: Foreground) -> bool:
        """One round of the foreground loop if one is due; False when there is nothing to do."""
        trainer = self._trainer()
        if not fg.running or time.perf_counter() < fg.next_at:
            return False
        if fg.target is not None and trainer.gan.step >= fg.target:
            fg.running = False
            self._refresh(trainer, force=True)
            return False
        if not self._train_round(trainer):
            fg.running = False
            self._refresh(trainer, force=True)
            return False
        fg.next_at = time.perf_counter() + trainer.delay_s
        return True

    def stop_foreground(self) -> None:
        """Stop: pause, and end the foreground loop (its cell returns)."""
        self.foreground.running = False
        self.foreground.stop = True

    @staticmethod
    def _refresh(trainer, force: bool = False) -> None:
        """``trainer.refresh``; a drawing problem must not stop (or kill) the training: it goes to
        the status line, and no frame is drawn for a second."""
        try:
            trainer.refresh(force)
        except Exception as err:
            trainer.message = f"view not updated: {type(err).__name__}: {err}"
            trainer.hold_view(1.0)

    # ------------------------------------------------------------------ here, in the caller's thread
    def run(self, steps: int, metrics_every: int | None = None) -> dict:
        """Pause the thread, then train ``steps`` rounds with ``GAN.fit``, recording the metrics
        every ``metrics_every`` rounds (default: 20 times per run). Returns ``gan.history``."""
        with self.lock:
            return self._run(steps, metrics_every)

    def _run(self, steps, metrics_every) -> dict:
        trainer = self._trainer()
        steps = check_count("steps", steps)
        every = max(1, steps // 20) if metrics_every is None else check_count("metrics_every", metrics_every)
        trainer.pause()
        trainer.round_boundary()

        def record(gan):
            if gan.step % every == 0:
                trainer.record_metrics()

        try:
            trainer.gan.fit(trainer.sampler, steps, trainer.batch_size, callbacks=record, progress=False)
        except Exception as err:
            trainer.message = f"stopped: {err}"
            raise
        finally:
            if trainer.ui.built:  # the view and the status line of the same step
                self._refresh(trainer, force=True)
        return trainer.gan.history

    def one_update(self, net: str) -> dict:
        """Pause, then one update of ``net`` only (``"D"`` or ``"G"``), recorded as a round, then a
        redraw. Returns the round's record."""
        with self.lock:
            trainer = self._trainer()
            trainer.pause()
            trainer.round_boundary()
            record = trainer.gan.player_round(net, trainer.sampler, trainer.batch_size)
            trainer.refresh(force=True)
            return record

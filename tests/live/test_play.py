"""gan_edu.live.play and LiveTrainer.play(): the two live modes.

The foreground loop is driven here by a scripted stand-in for jupyter-ui-poll's ``ui_events``:
each ``poll`` call runs the next scripted action (a button click, a slider move, an interrupt),
as a widget message arriving between two rounds would. The real ``ui_events`` in a real kernel
and browser is tested in tests/test_stacks_browser.py (the Colab stack)."""
import os
import signal
import sys
from contextlib import contextmanager

import pytest

from gan_edu.train import held_interrupts

from live_support import SMALL
from support import button

from gan_edu.live import play as live_play
from gan_edu.live import LiveTrainer
from gan_edu.live.training import FOREGROUND_ENDED


# ---------------------------------------------------------------------------- which mode
def test_live_mode_follows_the_environment_then_the_front_end(monkeypatch):
    monkeypatch.delenv("GAN_EDU_LIVE", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert live_play.live_mode() == "background"
    monkeypatch.setitem(sys.modules, "google.colab", object())
    assert live_play.live_mode() == "foreground"
    monkeypatch.setenv("GAN_EDU_LIVE", "background")
    assert live_play.live_mode() == "background"
    assert live_play.live_mode("foreground") == "foreground"


def test_a_bad_mode_is_named(monkeypatch):
    monkeypatch.setenv("GAN_EDU_LIVE", "fast")
    with pytest.raises(ValueError, match="GAN_EDU_LIVE.*'fast'"):
        live_play.live_mode()
    with pytest.raises(ValueError, match="'threads'"):
        LiveTrainer(**SMALL).play("threads")


# ---------------------------------------------------------------------------- interrupts between rounds
def test_an_interrupt_sets_the_flag_instead_of_raising():
    before = signal.getsignal(signal.SIGINT)
    with held_interrupts() as interrupted:
        os.kill(os.getpid(), signal.SIGINT)
        assert interrupted.wait(2)
    assert signal.getsignal(signal.SIGINT) is before


# ---------------------------------------------------------------------------- a scripted front end
@contextmanager
def scripted(actions, after=None):
    """A ``ui_events()`` stand-in: the i-th poll runs ``actions[i]`` (None: nothing arrived);
    after the script, ``after`` (default: nothing) at every poll."""
    calls = iter(actions)

    def poll(n):
        assert n >= 1
        action = next(calls, after)
        if action is not None:
            action()

    yield poll


def rounds_then(trainer, n, action):
    """An action that waits (nothing arrives) until the GAN has trained ``n`` rounds, then runs ``action``."""
    def step():
        if trainer.gan.step >= n and not getattr(step, "done", False):
            step.done = True
            action()
    return step


def play(trainer, monkeypatch, actions, after=None):
    monkeypatch.setattr(live_play, "widget_events", lambda: scripted(actions, after))
    return trainer.play("foreground")


def test_foreground_start_slider_stop(monkeypatch):
    t = LiveTrainer(**SMALL)
    t.widget()
    click = lambda label: (lambda: button(t.widget(), label).click())
    slide = lambda: setattr(t.controls["lr_d"], "value", 0.005)
    stop_after_10 = rounds_then(t, 10, click("Stop"))
    actions = [None, click("Start"), None, slide]
    assert play(t, monkeypatch, actions, after=stop_after_10) == "stopped"
    h = t.gan.history
    assert t.gan.step >= 10 and len(h["step"]) == t.gan.step  # every round recorded, none half-done
    assert t.gan.lr_d == 0.005 and t.gan.opt_d.param_groups[0]["lr"] == 0.005
    assert any(name == "lr_d" and value == 0.005 for _, name, value in h["events"])
    assert not t.running and t.training.threads == []  # no thread was ever started
    assert "lr_D=0.005 " in t.status()


def test_foreground_pause_holds_the_training_while_events_go_on(monkeypatch):
    t = LiveTrainer(**SMALL)
    click = lambda label: (lambda: button(t.widget(), label).click())
    steps = []
    actions = [click("Start"), None, None, click("Pause")] + [lambda: steps.append(t.gan.step)] * 5 + [click("Stop")]
    assert play(t, monkeypatch, actions) == "stopped"
    assert len(set(steps)) == 1 and steps[0] >= 1  # paused: no round while the events kept coming


def test_an_interrupt_ends_the_cell_between_two_rounds(monkeypatch):
    t = LiveTrainer(**SMALL)
    click = lambda label: (lambda: button(t.widget(), label).click())
    interrupt = rounds_then(t, 5, lambda: os.kill(os.getpid(), signal.SIGINT))
    assert play(t, monkeypatch, [click("Start")], after=interrupt) == "interrupted"
    h = t.gan.history
    assert len(h["step"]) == t.gan.step >= 5 and len(h["loss_g"]) == t.gan.step  # the GAN intact
    t.run(3)  # and it trains on
    assert len(h["step"]) == t.gan.step


def test_start_after_the_foreground_cell_ended_says_so(monkeypatch):
    t = LiveTrainer(**SMALL)
    play(t, monkeypatch, [lambda: button(t.widget(), "Stop").click()])
    button(t.widget(), "Start").click()
    assert not t.running and t.training.threads == [] and t.message == FOREGROUND_ENDED
    assert FOREGROUND_ENDED in t.status()


def test_steps_and_reset_work_inside_the_foreground_loop(monkeypatch):
    t = LiveTrainer(**SMALL)
    click = lambda label: (lambda: button(t.widget(), label).click())
    seen = []
    actions = [click("Step"), click("D step"), lambda: seen.append(t.gan.step), click("Reset"),
               lambda: seen.append(t.gan.step), click("Stop")]
    play(t, monkeypatch, actions)
    assert seen == [2, 0]


def test_the_stop_button_shows_in_the_foreground_only(monkeypatch):
    t = LiveTrainer(**SMALL)
    stop = button(t.widget(), "Stop")
    assert stop.layout.display == "none"
    shown = []
    play(t, monkeypatch, [lambda: shown.append(stop.layout.display), stop.click])
    assert shown == [""]
    b = LiveTrainer(**SMALL)
    assert b.play("background") is None and not b.running
    assert button(b.widget(), "Stop").layout.display == "none"


def test_slow_motion_in_the_foreground_lets_events_through(monkeypatch):
    t = LiveTrainer(delay_ms=200, **SMALL)
    click = lambda label: (lambda: button(t.widget(), label).click())
    steps = []
    actions = [click("Start")] + [lambda: steps.append(t.gan.step)] * 8 + [click("Stop")]
    play(t, monkeypatch, actions)
    assert len(steps) == 8 and steps[-1] <= 2  # events every 50 ms; a round every 200 ms

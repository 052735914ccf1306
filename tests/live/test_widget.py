"""gan_edu.live.widget: each widget changes the running training as it says; the pad in the widget."""
import json
import time

import ipywidgets
import numpy as np
import pytest
import torch

from live_support import wait_for
from support import button, find, is_shown, params, same

from gan_edu.live import PANELS


# ---------------------------------------------------------------------------- D steps and G steps sliders
def test_g_steps_slider_at_0_freezes_g_while_training_runs(trainer):
    c = trainer.controls
    trainer.start()
    assert wait_for(lambda: trainer.gan.step >= 3)
    c["g_steps"].value = 0
    assert wait_for(lambda: trainer.gan.settings_now.g_steps == 0)
    with trainer.gan.lock:  # between rounds: every later round has g_steps = 0
        g0, d0, at = params(trainer.gan.G), params(trainer.gan.D), trainer.gan.step
    assert wait_for(lambda: trainer.gan.step >= at + 5) and trainer.running
    with trainer.gan.lock:
        assert same(g0, params(trainer.gan.G))        # G frozen
        assert not same(d0, params(trainer.gan.D))    # D still trains
    assert "g_steps=0" in trainer.status()
    assert np.isnan(trainer.gan.history["loss_g"][-1])  # no G loss computed: a gap, not a stale value


def test_d_steps_slider_at_0_freezes_d(trainer):
    trainer.controls["d_steps"].value = 0
    trainer.run(2)
    d0, g0 = params(trainer.gan.D), params(trainer.gan.G)
    trainer.run(3)
    assert same(d0, params(trainer.gan.D)) and not same(g0, params(trainer.gan.G))


def test_both_steps_0_is_refused_and_training_goes_on(trainer):
    c = trainer.controls
    trainer.start()
    c["d_steps"].value = 0
    assert wait_for(lambda: trainer.gan.settings_now.d_steps == 0)
    c["g_steps"].value = 0  # would train nothing: refused, the slider snaps back
    assert "cannot both be 0" in trainer.status()
    assert c["g_steps"].value == 1 and trainer.gan.settings_now.g_steps == 1
    at = trainer.gan.step
    assert wait_for(lambda: trainer.gan.step >= at + 3) and trainer.running


# ---------------------------------------------------------------------------- the D step and G step buttons
@pytest.mark.parametrize("label, moved, kept", [("D step", "D", "G"), ("G step", "G", "D")])
def test_step_button_is_one_update_of_its_net(trainer, label, moved, kept):
    trainer.run(3)
    before = {net: params(getattr(trainer.gan, net)) for net in "GD"}
    button(trainer.widget(), label).click()
    assert trainer.gan.step == 4
    assert same(before[kept], params(getattr(trainer.gan, kept)))
    assert not same(before[moved], params(getattr(trainer.gan, moved)))
    history = trainer.gan.history
    assert np.isnan(history[f"loss_{kept.lower()}"][-1]) and np.isfinite(history[f"loss_{moved.lower()}"][-1])


def test_step_buttons_pause_a_running_training(trainer):
    d_step = button(trainer.widget(), "D step")
    trainer.start()
    assert wait_for(lambda: trainer.gan.step >= 2)
    d_step.click()
    assert not trainer.running
    n = trainer.gan.step
    time.sleep(0.3)
    assert trainer.gan.step == n


# ---------------------------------------------------------------------------- update scheme, labels, slow motion
def test_update_dropdown_switches_the_running_scheme(trainer):
    c = trainer.controls
    trainer.start()
    c["update"].value = "simultaneous"
    assert wait_for(lambda: trainer.gan.settings_now.update == "simultaneous")
    at = trainer.gan.step
    assert wait_for(lambda: trainer.gan.step >= at + 3) and trainer.running
    assert "simultaneous" in trainer.status()
    assert ("simultaneous" in [e[2] for e in trainer.gan.history["events"] if e[1] == "update"])


def test_label_smoothing_dropdowns_change_d_targets(trainer):
    c = trainer.controls
    c["label_smoothing"].value = "one_sided"
    trainer.run(1)
    assert trainer.gan.d_labels() == (0.9, 0.0)
    c["smoothing"].value = 0.2
    c["label_smoothing"].value = "two_sided"
    trainer.run(1)
    assert trainer.gan.d_labels() == pytest.approx((0.8, 0.2))
    assert "labels two-sided" in trainer.status()


def test_slow_motion_lowers_the_step_rate(trainer):
    trainer.start()
    time.sleep(0.3)
    a = trainer.gan.step
    time.sleep(1.0)
    fast = trainer.gan.step - a
    trainer.controls["delay_ms"].value = 250
    time.sleep(0.5)  # the round in progress ends, the delay applies
    b = trainer.gan.step
    time.sleep(1.0)
    slow = trainer.gan.step - b
    assert slow <= 5 < fast, (slow, fast)  # at most 1 s / 250 ms rounds (plus the one in progress)
    assert "slow motion 250 ms" in trainer.status()
    t0 = time.monotonic()
    trainer.pause()  # the delay does not hold up a pause
    assert time.monotonic() - t0 < 1.0 and not trainer.running
    with pytest.raises(ValueError, match="delay_ms"):
        trainer.set(delay_ms=-5)


# ---------------------------------------------------------------------------- the drawing pad, the panels, the settings box
def test_draw_choice_shows_the_pad_and_trains_on_drawn_points(trainer):
    pytest.importorskip("ipyevents")  # without it the pad is a message (test_drawpad.py)
    c = trainer.controls
    assert trainer.pad is None  # no drawing pad in the widget
    c["data"].value = "draw"
    assert trainer.pad is not None and is_shown(trainer.widget(), trainer.pad.widget)
    assert torch.equal(trainer.sampler.points, torch.tensor(trainer.pad.points, dtype=torch.float32))
    trainer.start()
    assert wait_for(lambda: trainer.gan.step >= 2)
    trainer.pad.clear()
    trainer.pad.add_points([[2.0, 2.0], [2.1, 2.0], [2.0, 2.1]])  # what drawing on the pad does
    assert wait_for(lambda: len(trainer.sampler.points) == 3)     # picked up at a round boundary
    assert trainer.running and trainer.gan.step > 0                # no reset
    assert trainer.sampler(100).mean(0).sub(torch.tensor([2.03, 2.03])).abs().max() < 0.1
    assert any(e[1] == "data" for e in trainer.gan.history["events"])
    c["data"].value = "ring"
    assert not is_shown(trainer.widget(), trainer.pad.widget)  # hidden again


@pytest.mark.parametrize("name", list(PANELS))
def test_panel_checkbox_draws_its_panel(trainer, name):
    trainer.run(3)
    c = trainer.controls
    root = trainer.widget()
    hidden = [image for image in find(root, ipywidgets.Image) if not is_shown(root, image)]
    assert len(hidden) == len(PANELS)  # the optional panels' images, none shown yet
    c[name].value = True
    (image,) = [image for image in hidden if is_shown(root, image)]  # this panel's image, and no other, appears
    assert image.value[:4] == b"\x89PNG"
    assert trainer.settings()["panels"][name] is True
    fig = trainer.panel_figure(name)
    assert fig.axes


def test_copy_settings_button_shows_json(trainer):
    trainer.controls["g_steps"].value = 4
    root = trainer.widget()
    button(root, "Copy settings").click()
    (text,) = find(root, ipywidgets.Textarea)
    assert json.loads(text.value)["g_steps"] == 4

"""The GAN Lab controls of the live trainer: each widget changes the running training as it says."""
import json
import time

import numpy as np
import pytest
import torch

from live_support import SMALL, wait_for

from gan_edu.live import PANELS, LiveTrainer


def params(net):
    return [p.detach().clone() for p in net.parameters()]


def same(a, b):
    return all(torch.equal(p, q) for p, q in zip(a, b))


def test_g_steps_slider_at_0_freezes_g_while_training_runs(trainer):
    c = trainer.controls
    trainer.start()
    assert wait_for(lambda: trainer.gan.step >= 3)
    c["g_steps"].value = 0
    assert wait_for(lambda: trainer.gan.g_steps == 0)
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
    assert wait_for(lambda: trainer.gan.d_steps == 0)
    c["g_steps"].value = 0  # would train nothing: refused, the slider snaps back
    assert "cannot both be 0" in trainer.status()
    assert c["g_steps"].value == 1 and trainer.gan.g_steps == 1
    at = trainer.gan.step
    assert wait_for(lambda: trainer.gan.step >= at + 3) and trainer.running


@pytest.mark.parametrize("button, moved, kept", [("D step", "D", "G"), ("G step", "G", "D")])
def test_step_button_is_one_update_of_its_net(trainer, button, moved, kept):
    trainer.run(3)
    before = {net: params(getattr(trainer.gan, net)) for net in "GD"}
    trainer.widget()
    trainer._ui.buttons[button].click()
    assert trainer.gan.step == 4
    assert same(before[kept], params(getattr(trainer.gan, kept)))
    assert not same(before[moved], params(getattr(trainer.gan, moved)))
    history = trainer.gan.history
    assert np.isnan(history[f"loss_{kept.lower()}"][-1]) and np.isfinite(history[f"loss_{moved.lower()}"][-1])


def test_step_buttons_pause_a_running_training(trainer):
    trainer.widget()
    trainer.start()
    assert wait_for(lambda: trainer.gan.step >= 2)
    trainer._ui.buttons["D step"].click()
    assert not trainer.running
    n = trainer.gan.step
    time.sleep(0.3)
    assert trainer.gan.step == n


def test_update_dropdown_switches_the_running_scheme(trainer):
    c = trainer.controls
    trainer.start()
    c["update"].value = "simultaneous"
    assert wait_for(lambda: trainer.gan.update == "simultaneous")
    at = trainer.gan.step
    assert wait_for(lambda: trainer.gan.step >= at + 3) and trainer.running
    assert "simultaneous" in trainer.status()
    assert ("simultaneous" in [e[2] for e in trainer.gan.history["events"] if e[1] == "update"])


def test_simultaneous_update_gives_a_different_training(trainer):
    other = LiveTrainer(**SMALL, update="simultaneous")
    try:
        a, b = trainer.run(5), other.run(5)
        assert a["loss_d"][0] == b["loss_d"][0]   # same nets, same first D loss (same fakes, D not yet updated)
        assert a["loss_g"][0] != b["loss_g"][0]   # G saw the updated D (alternating) or the old one
    finally:
        other.close()


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


def test_load_points_trains_on_them(trainer):
    pts = np.array([[1.0, 1.0], [-1.0, 1.0], [0.0, -1.5]] * 10)
    trainer.run(2)
    trainer.load_points(pts, jitter=0.05)
    assert trainer.gan.step == 0 and trainer.settings()["data"] == "draw"
    x = trainer.sampler(2000)
    nearest = torch.cdist(x, torch.tensor(pts, dtype=torch.float32)).min(1).values
    assert nearest.max() < 0.05 * 6  # every real sample comes from one of the points
    trainer.run(3)
    for bad in ([[1.0, 2.0]], np.zeros((5, 3)), [[0.0, float("nan")], [1.0, 1.0]]):
        with pytest.raises(ValueError):
            trainer.load_points(bad)


def test_draw_choice_shows_the_pad_and_trains_on_drawn_points(trainer):
    pytest.importorskip("ipyevents")  # without it the pad is a message (test_ganlab_drawpad.py)
    c = trainer.controls
    assert trainer._ui.pad_box.layout.display == "none"
    c["data"].value = "draw"
    assert trainer._ui.pad_box.layout.display == "" and trainer.pad is not None
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
    assert trainer._ui.pad_box.layout.display == "none"


@pytest.mark.parametrize("name", list(PANELS))
def test_panel_checkbox_draws_its_panel(trainer, name):
    trainer.run(3)
    c = trainer.controls
    image = trainer._ui.panel_images[name]
    assert image.layout.display == "none"
    c[name].value = True
    assert image.layout.display == "" and image.value[:4] == b"\x89PNG"
    assert trainer.settings()["panels"][name] is True
    fig = trainer.panel_figure(name)
    assert fig.axes


def test_divergences_recorded_at_refresh_not_every_step(trainer):
    trainer.show(divergences=True)
    trainer.run(40, metrics_every=10)
    div = trainer.divergences
    assert div["step"] == [10, 20, 30, 40]
    for key in ("kl", "reverse_kl", "js", "v", "v_star"):
        assert all(np.isfinite(div[key]))
    assert all(0 <= js <= np.log(2) + 1e-9 for js in div["js"])
    assert np.allclose(div["v_star"], -np.log(4) + 2 * np.array(div["js"]))
    assert all(v <= vs + 1e-6 for v, vs in zip(div["v"], div["v_star"]))  # no D beats D*
    trainer.show(divergences=False)
    trainer.run(10, metrics_every=10)
    assert div["step"][-1] == 40


def test_settings_json_round_trip_reproduces_the_run():
    a = LiveTrainer(**SMALL, d_steps=2, g_steps=3, update="simultaneous", label_smoothing="two_sided",
                    lr_g=3e-3, delay_ms=0)
    a.load_points(np.random.default_rng(1).normal(size=(50, 2)))
    a.show(manifold=True)
    pasted = json.loads(a.settings_json())  # what a teacher copies from the box and pastes
    b = LiveTrainer(settings=pasted)
    try:
        assert b.settings() == a.settings()
        ha, hb = a.run(30), b.run(30)
        assert {k: v for k, v in ha.items() if k != "events"} == {k: v for k, v in hb.items() if k != "events"}
        c = LiveTrainer(**SMALL)
        c.apply_settings(pasted)  # onto an existing trainer: rebuilt (data and points differ)
        assert c.settings() == a.settings()
        assert c.run(30)["loss_d"] == ha["loss_d"]
        c.close()
        with pytest.raises(ValueError, match="unknown settings"):
            LiveTrainer(settings={"lr": 0.1})
    finally:
        a.close(), b.close()


def test_copy_settings_button_shows_json(trainer):
    trainer.controls["g_steps"].value = 4
    trainer._ui.copy.click()
    assert json.loads(trainer._ui.settings_text.value)["g_steps"] == 4


def test_apply_settings_to_a_running_trainer(trainer):
    trainer.start()
    assert wait_for(lambda: trainer.gan.step >= 2)
    trainer.apply_settings({"update": "simultaneous", "lr_d": 5e-3, "panels": {"optimal": True}})
    assert wait_for(lambda: trainer.gan.update == "simultaneous" and trainer.gan.lr_d == 5e-3)
    assert trainer.running and trainer.gan.step > 2 and trainer.panels["optimal"]


def test_save_and_load_restore_the_session(trainer, tmp_path):
    trainer.show(divergences=True)
    trainer.set(g_steps=2, label_smoothing="one_sided", delay_ms=20, batch_size=64)
    trainer.run(20, metrics_every=5)
    trainer.set(lr_g=2e-3)  # set, not yet applied: saved as a control
    path = trainer.save(tmp_path / "session.pt")
    assert not list(tmp_path.glob("*.tmp"))  # atomic: no temporary file left
    back = LiveTrainer.load(path)
    try:
        assert back.settings() == trainer.settings()
        assert back.gan.history == trainer.gan.history
        assert back.coverage == trainer.coverage and back.divergences == trainer.divergences
        assert same(params(back.gan.G), params(trainer.gan.G)) and same(params(back.gan.D), params(trainer.gan.D))
        for opt_a, opt_b in ((back.gan.opt_d, trainer.gan.opt_d), (back.gan.opt_g, trainer.gan.opt_g)):
            sa, sb = opt_a.state_dict()["state"], opt_b.state_dict()["state"]
            assert sa.keys() == sb.keys() and all(torch.equal(sa[k]["exp_avg"], sb[k]["exp_avg"]) for k in sa)
        assert back.run(10)["loss_d"] == trainer.run(10)["loss_d"]  # and it goes on exactly the same
        assert back.gan.lr_g == 2e-3
    finally:
        back.close()
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable"):
        LiveTrainer.load(tmp_path / "junk.pt")
    trainer.gan.save(tmp_path / "gan.pt")
    with pytest.raises(ValueError, match="not a LiveTrainer session"):
        LiveTrainer.load(tmp_path / "gan.pt")


def test_bad_settings_leave_the_trainer_as_it_was(trainer):
    trainer.run(3)
    before, step = trainer.settings(), trainer.gan.step
    with pytest.raises(ValueError, match="lr_d"):
        trainer.apply_settings({"seed": 11, "lr_d": -1.0})
    assert trainer.settings() == before and trainer.gan.step == step
    trainer.run(2)  # still trains, on the set-up it had
    assert trainer.gan.step == step + 2


def test_the_live_trainer_takes_the_bce_losses_only(trainer):
    with pytest.raises(ValueError, match="loss"):
        trainer.set(loss="wasserstein")
    with pytest.raises(ValueError, match="loss"):
        LiveTrainer(loss="lsgan")

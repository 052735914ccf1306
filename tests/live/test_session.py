"""gan_edu.live.session: a live trainer's settings() and apply_settings, and save / load of a session."""
import json

import numpy as np
import pytest
import torch

from live_support import SMALL, wait_for
from support import params, same

from gan_edu.live import LiveTrainer


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


def test_apply_settings_to_a_running_trainer(trainer):
    trainer.start()
    assert wait_for(lambda: trainer.gan.step >= 2)
    trainer.apply_settings({"update": "simultaneous", "lr_d": 5e-3, "panels": {"optimal": True}})
    assert wait_for(lambda: trainer.gan.settings_now.update == "simultaneous" and trainer.gan.lr_d == 5e-3)
    assert trainer.running and trainer.gan.step > 2 and trainer.panels["optimal"]


def test_applying_a_pasted_settings_dict_changes_the_controls_only(trainer):
    trainer.run(5)
    pasted = dict(trainer.settings(), lr_d=2e-3)  # the whole dict, data included, one control changed
    trainer.apply_settings(pasted)
    assert trainer.gan.step == 5 and trainer.settings() == pasted  # not reset: the training goes on
    assert trainer.run(1)["lr_d"][-1] == 2e-3


def test_bad_settings_leave_the_trainer_as_it_was(trainer):
    trainer.run(3)
    before, step = trainer.settings(), trainer.gan.step
    with pytest.raises(ValueError, match="lr_d"):
        trainer.apply_settings({"seed": 11, "lr_d": -1.0})
    assert trainer.settings() == before and trainer.gan.step == step
    trainer.run(2)  # still trains, on the set-up it had
    assert trainer.gan.step == step + 2


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

"""The live trainer: controls reach the running training, pause/reset/step, headless == fit."""
import threading
import time

import pytest
import torch

import gan_edu as ge
from gan_edu import data, nets
from live_support import SMALL, wait_for

from gan_edu.live import DATASETS, LiveTrainer
from gan_edu.train import GAN


def fit_reference(steps, seed=3, **kw):
    """The same run written with GAN.fit, built independently of LiveTrainer."""
    ge.seed_everything(seed)
    gan = GAN(nets.MLPGenerator(2, 2, hidden=16, depth=2), nets.MLPDiscriminator(2, hidden=16, depth=2),
              lr_d=1e-3, lr_g=1e-3, device="cpu", seed=seed, **kw)
    gan.fit(data.ring(8, seed=seed), steps, 32, progress=False)
    return gan


def test_headless_run_matches_fit(trainer):
    hist = trainer.run(40, metrics_every=10)
    ref = fit_reference(40)
    assert hist == ref.history
    assert trainer.coverage["step"] == [10, 20, 30, 40]
    for p, q in zip(trainer.gan.G.parameters(), ref.G.parameters()):
        assert torch.equal(p, q)


def test_threaded_training_with_view_matches_fit(trainer):
    trainer.fps, trainer.max_draw_share = 50, 1.0  # redraw often: the view must not touch the training's RNG
    trainer.widget()
    before = trainer.frames
    trainer.start()
    assert wait_for(lambda: trainer.gan.step >= 25)
    trainer.pause()
    n = trainer.gan.step
    assert trainer.frames - before >= 3  # frames drawn while training ran (plus the final one)
    ref = fit_reference(n)
    assert trainer.gan.history == ref.history


def test_slider_changes_lr_of_running_training(trainer):
    sliders = trainer.controls
    trainer.start()
    assert wait_for(lambda: trainer.gan.step >= 3)
    sliders["lr_d"].value = 0.005  # what the browser does through the slider's text box
    assert wait_for(lambda: trainer.gan.lr_d == 0.005)
    changed_at = trainer.gan.step
    assert wait_for(lambda: trainer.gan.step >= changed_at + 3)  # still training
    assert trainer.running
    events = [e for e in trainer.gan.history["events"] if e[1] == "lr_d"]
    assert events and events[-1][2] == 0.005
    assert trainer.gan.history["lr_d"][-1] == 0.005
    assert "lr_D=0.005" in trainer.status()
    sliders["lr_g"].value = 2e-4
    assert wait_for(lambda: trainer.gan.lr_g == 2e-4)


def test_other_controls_reach_the_gan(trainer):
    c = trainer.controls
    c["d_steps"].value, c["loss"].value, c["optimizer"].value = 3, "saturating", "sgd"
    c["noise"].value, c["batch_size"].value = "uniform", 64
    trainer.run(2)
    gan = trainer.gan
    assert (gan.d_steps, gan.loss, gan.noise_kind, trainer.batch_size) == (3, "saturating", "uniform", 64)
    assert isinstance(gan.opt_d, torch.optim.SGD)
    names = {e[1] for e in gan.history["events"]}
    assert {"d_steps", "loss", "optimizer", "noise", "batch_size"} <= names


def test_gan_configure_noise_validated():
    gan = fit_reference(1)
    with pytest.raises(ValueError, match="noise"):
        gan.configure(noise="laplace")
    gan.configure(noise="uniform")
    gan.fit(data.ring(), 1, 8, progress=False)
    assert gan.noise_kind == "uniform" and callable(gan.noise)
    z = gan.noise(500)
    assert z.min() >= -1 and z.max() <= 1


def test_pause_stops_steps(trainer):
    trainer.start()
    assert wait_for(lambda: trainer.gan.step >= 2)
    trainer.pause()
    assert not trainer.running
    before = trainer.gan.step
    time.sleep(0.5)
    assert trainer.gan.step == before
    trainer.start()  # and it resumes
    assert wait_for(lambda: trainer.gan.step > before)


def test_start_for_a_number_of_steps(trainer):
    trainer.start(steps=7)
    assert trainer.wait(timeout=30)
    assert trainer.gan.step == 7 and not trainer.running
    with pytest.raises(ValueError, match="steps"):
        trainer.start(steps=0)


def test_step_button_and_reset(trainer):
    first = [p.detach().clone() for p in trainer.gan.G.parameters()]
    trainer.widget()
    trainer._ui.buttons["Step"].click()
    assert trainer.gan.step == 1
    trainer.set(lr_d=0.02)
    trainer.run(5)
    trainer.reset()
    gan = trainer.gan
    assert gan.step == 0 and gan.history["step"] == [] and gan.history["events"] == []
    assert set(trainer.coverage["step"]) <= {0}  # only the redraw after the reset
    assert all(torch.equal(p, q) for p, q in zip(gan.G.parameters(), first))  # rebuilt from the seed
    assert gan.lr_d == 0.02  # the controls' current values are kept
    assert trainer.controls["lr_d"].value == 0.02


def test_non_finite_loss_pauses_and_keeps_state(trainer):
    trainer.run(3)
    state = [p.detach().clone() for p in list(trainer.gan.G.parameters()) + list(trainer.gan.D.parameters())]
    good = trainer.sampler
    trainer.sampler = lambda n: torch.full((n, 2), float("nan"))
    trainer.widget()
    trainer.start()
    assert wait_for(lambda: not trainer.running)
    assert "NonFiniteLossError" in trainer.status() and "paused" in trainer.status()
    assert trainer.gan.step == 3
    after = list(trainer.gan.G.parameters()) + list(trainer.gan.D.parameters())
    assert all(torch.equal(p, q) for p, q in zip(state, after))
    trainer.sampler = good
    trainer.start()  # the thread was not lost: training goes on
    assert wait_for(lambda: trainer.gan.step > 3)


def test_bad_values_are_refused_without_stopping(trainer):
    with pytest.raises(ValueError, match="lr_d"):
        trainer.set(lr_d=-1.0)
    with pytest.raises(ValueError, match="batch_size"):
        trainer.set(batch_size=0)
    with pytest.raises(ValueError, match="cannot set"):
        trainer.set(momentum=0.9)
    trainer.start()
    trainer._ui.on_control("lr_g", float("nan"))  # what a widget callback does with a bad value
    assert "ignored" in trainer.status()
    assert wait_for(lambda: trainer.gan.step >= 2) and trainer.running
    with pytest.raises(ValueError, match="data"):
        LiveTrainer(data="rings")


def test_a_failing_view_does_not_stop_training(trainer, monkeypatch):
    trainer.widget()

    def broken(curves=True):
        raise RuntimeError("no canvas")

    monkeypatch.setattr(trainer, "render", broken)
    trainer.fps, trainer.max_draw_share = 50, 1.0
    trainer.start()
    assert wait_for(lambda: "view not updated" in trainer.message)
    at = trainer.gan.step
    assert wait_for(lambda: trainer.gan.step > at + 2) and trainer.running


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_dataset_draws(name):
    t = LiveTrainer(data=name, hidden=8, depth=1, batch_size=16)
    try:
        t.run(3, metrics_every=1)
        field, curves = t.render()
        assert field[:4] == b"\x89PNG" and curves[:4] == b"\x89PNG"
        fig = t.figure()
        assert fig.axes[0].get_title().endswith("round 3")
        assert (t.modes is not None) == (name in ("ring", "grid", "gaussian1d"))
        if t.modes is not None:
            assert len(t.coverage["modes"]) == 3
    finally:
        t.close()


def test_data_control_rebuilds(trainer):
    trainer.run(2)
    trainer.controls["data"].value = "gaussian1d"
    assert trainer.gan.step == 0 and trainer.dim == 1
    assert trainer.gan.sample(4).shape == (4, 1)


def test_generator_arrows_point_downhill_without_touching_grads(trainer):
    trainer.run(5)
    z = trainer.view_noise()[:16]
    nets_ = list(trainer.gan.D.parameters()) + list(trainer.gan.G.parameters())
    grads = [None if p.grad is None else p.grad.clone() for p in nets_]
    opt_state = repr(trainer.gan.opt_d.state_dict())
    x, push = trainer.generator_arrows(z)
    assert all((g is None and p.grad is None) or torch.equal(g, p.grad) for g, p in zip(grads, nets_))
    assert repr(trainer.gan.opt_d.state_dict()) == opt_state
    d_before = trainer.gan.discriminate(x)
    d_after = trainer.gan.discriminate(x + 1e-3 * push / push.norm(dim=1, keepdim=True))
    assert (d_after > d_before).float().mean() > 0.9  # moving along -dL_G/dx raises D(x)


def test_close_leaves_no_thread():
    t = LiveTrainer(**SMALL)
    t.start()
    assert wait_for(lambda: t.gan.step >= 1)
    t.close()
    assert not any(th.is_alive() for th in t._training.threads)
    assert not [th for th in threading.enumerate() if th.name == "gan-edu-live"]

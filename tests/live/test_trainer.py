"""gan_edu.live: the live trainer: controls reach the running training, start/pause/step/reset, run == fit."""
import threading
import time

import numpy as np
import pytest
import torch

import gan_edu as ge
from gan_edu import data, nets
from live_support import SMALL, wait_for
from support import button

from gan_edu.live import DATASETS, LiveTrainer
from gan_edu.train import GAN


def fit_reference(steps, seed=3, **kw):
    """The same run written with GAN.fit, built independently of LiveTrainer."""
    ge.seed_everything(seed)
    gan = GAN(nets.MLPGenerator(2, 2, hidden=16, depth=2), nets.MLPDiscriminator(2, hidden=16, depth=2),
              lr_d=1e-3, lr_g=1e-3, device="cpu", seed=seed, **kw)
    gan.fit(data.ring(8, seed=seed), steps, 32, progress=False)
    return gan


# ---------------------------------------------------------------------------- headless and threaded runs are GAN.fit
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


def test_simultaneous_update_gives_a_different_training(trainer):
    other = LiveTrainer(**SMALL, update="simultaneous")
    try:
        a, b = trainer.run(5), other.run(5)
        assert a["loss_d"][0] == b["loss_d"][0]   # same nets, same first D loss (same fakes, D not yet updated)
        assert a["loss_g"][0] != b["loss_g"][0]   # G saw the updated D (alternating) or the old one
    finally:
        other.close()


# ---------------------------------------------------------------------------- controls reach the running training
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
    assert (gan.settings_now.d_steps, gan.settings_now.loss, gan.settings_now.noise, trainer.batch_size) == (3, "saturating", "uniform", 64)
    assert isinstance(gan.opt_d, torch.optim.SGD)
    names = {e[1] for e in gan.history["events"]}
    assert {"d_steps", "loss", "optimizer", "noise", "batch_size"} <= names


def test_bad_values_are_refused_without_stopping(trainer):
    with pytest.raises(ValueError, match="lr_d"):
        trainer.set(lr_d=-1.0)
    with pytest.raises(ValueError, match="batch_size"):
        trainer.set(batch_size=0)
    with pytest.raises(ValueError, match="cannot set"):
        trainer.set(momentum=0.9)
    trainer.start()
    trainer.controls["lr_g"].value = float("nan")  # a bad value reaching the widget: ignored
    assert "ignored" in trainer.status()
    assert trainer.controls["lr_g"].value == trainer.gan.lr_g == 1e-3  # the slider shows the value in effect
    assert wait_for(lambda: trainer.gan.step >= 2) and trainer.running
    with pytest.raises(ValueError, match="data"):
        LiveTrainer(data="rings")


def test_the_live_trainer_takes_the_bce_losses_only(trainer):
    with pytest.raises(ValueError, match="loss"):
        trainer.set(loss="wasserstein")
    with pytest.raises(ValueError, match="loss"):
        LiveTrainer(loss="lsgan")


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


# ---------------------------------------------------------------------------- start, pause, step, reset
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


def test_step_button_is_one_round_and_reset_rebuilds_from_the_seed(trainer):
    first = [p.detach().clone() for p in trainer.gan.G.parameters()]
    button(trainer.widget(), "Step").click()
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


# ---------------------------------------------------------------------------- failures pause, never kill
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


def test_a_failing_view_does_not_stop_training(trainer, monkeypatch):
    trainer.widget()

    def broken(trainer, curves=True):
        raise RuntimeError("no canvas")

    monkeypatch.setattr(trainer.display, "render", broken)
    trainer.fps, trainer.max_draw_share = 50, 1.0
    trainer.start()
    assert wait_for(lambda: "view not updated" in trainer.message)
    at = trainer.gan.step
    assert wait_for(lambda: trainer.gan.step > at + 2) and trainer.running


def test_close_leaves_no_thread():
    t = LiveTrainer(**SMALL)
    t.start()
    assert wait_for(lambda: t.gan.step >= 1)
    t.close()
    # the training thread is gone, and no other of that name is left
    assert not any(th.is_alive() for th in t.training.threads)
    assert not [th for th in threading.enumerate() if th.name == "gan-edu-live"]


# ---------------------------------------------------------------------------- data, view and metrics
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


# ---------------------------------------------------------------------------- the live view's frames
def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image
    import io

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(float)


@pytest.mark.parametrize("name", ["ring", "gaussian1d"])
def test_painted_frame_looks_like_matplotlibs(name):
    """The samples panel painted with numpy matches matplotlib drawing the same state."""
    from gan_edu.live.view import LiveView

    t = LiveTrainer(data=name, hidden=16, depth=2, batch_size=32, seed=3)
    try:
        t.run(60)
        view = LiveView(t).update(t, curves=False)
        painted = _pixels(view.field_png())
        frames, ylim = view.frames, view.ax_data.get_ylim()
        for artist in frames.moving:
            artist.set_animated(False)
        view.set_artists(view.snap)  # the same snapshot, into the matplotlib artists
        view.ax_data.set_ylim(ylim)
        view.field.canvas.draw()
        drawn = np.asarray(view.field.canvas.buffer_rgba())[..., :3].astype(float)
        box = (frames.area.rows, frames.area.cols)
        diff = np.abs(painted[box] - drawn[box]).max(axis=-1)
        assert diff.mean() < 3  # of 255: the same picture, up to anti-aliasing
        assert (diff > 60).mean() < 0.005
    finally:
        t.close()


def test_legends_cover_no_data(trainer):
    """Every legend of the live images, the notebook's figure and the panels sits above its axes."""
    trainer.show(manifold=True, divergences=True)
    trainer.run(20, metrics_every=5)
    trainer.widget()
    view = trainer.display.view
    figures = [view.field, view.curves, trainer.figure()] + [p.fig for p in trainer.display.panel_views.values()]
    checked = 0
    for fig in figures:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is not None:
                assert legend.get_window_extent(renderer).y0 >= ax.get_window_extent().y1 - 1, ax.get_title()
                checked += 1
    assert checked >= 7


def test_png_is_lossless():
    from gan_edu.live import raster

    rgb = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    assert np.array_equal(_pixels(raster.png(rgb)), rgb)


def test_live_curves_grow_in_steps():
    from gan_edu.live.view import grown, x_limit

    assert [x_limit(s) for s in (0, 99, 100, 450, 999, 1000, 4000, 12000)] == [100, 100, 200, 500, 1000, 2000,
                                                                                  5000, 20000]
    lim = grown(None, [0.7, 1.4])
    assert lim[0] <= 0.7 and lim[1] >= 1.4 and lim[1] - lim[0] >= 1.0
    assert grown(lim, [0.8, 1.2, float("nan")]) == lim  # inside: unchanged (no redraw)
    wider = grown(lim, [3.0])
    assert wider[0] <= lim[0] and wider[1] >= 3.0  # grows, never shrinks


def test_frame_budget_keeps_the_rate_and_the_share():
    from gan_edu.live.view import CREDIT_SECONDS, Display

    d = Display()
    began = time.perf_counter()
    d.schedule(began, 0.01, False, fps=4, share=0.1)
    assert d.next_draw == pytest.approx(began + 0.25)  # a cheap frame: the next one a period after it began
    d.schedule(time.perf_counter(), 2 * CREDIT_SECONDS * 0.1, False, fps=4, share=0.1)  # twice the full credit
    owed = d.credit
    assert owed < 0  # paid back by training (1 / 0.1 - 1) times as long before the next frame
    assert d.next_draw - d.drawn_at == pytest.approx(-owed * 9, rel=1e-6)
    d.schedule(d.drawn_at, 10.0, True, fps=4, share=0.1)
    assert d.credit == pytest.approx(owed)  # a forced frame is not paid for


def test_metrics_measured_every_few_seconds_not_every_frame(trainer):
    trainer.run(3)
    trainer.widget()  # a forced frame: measured now
    n = len(trainer.coverage["step"])
    trainer.gan.train_step(trainer.sampler, trainer.batch_size)  # a round of the live loop: no metrics
    d = trainer.display
    d.next_draw = 0.0
    trainer.refresh()  # a frame, but the metrics were measured less than METRICS_SECONDS ago
    assert len(trainer.coverage["step"]) == n
    trainer.refresh(force=True)
    assert len(trainer.coverage["step"]) == n + 1

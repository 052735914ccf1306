"""gan_edu.live.images.ImageTrainer: notebook 05's sliders on a training GAN of images."""
from contextlib import contextmanager

import pytest
import torch

from gan_edu import GAN, data, nets
from gan_edu.live import play as live_play
from gan_edu.live.images import ImageTrainer, grid_png


def make(steps=6, lr=5e-4):
    torch.manual_seed(0)
    gan = GAN(nets.DCGANGenerator(noise_dim=8, image_size=8, width=8), nets.DCGANDiscriminator(image_size=8, width=8),
              lr_d=lr, lr_g=lr, seed=0)
    sampler = data.TensorSampler(torch.rand(64, 1, 8, 8) * 2 - 1, seed=0)
    return ImageTrainer(gan, sampler, gan.noise(16), batch_size=16, steps=steps)


def test_grid_png_is_a_png_of_the_enlarged_grid():
    from PIL import Image
    import io

    png = grid_png(torch.zeros(4, 1, 8, 8), nrow=2, scale=3)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(png)).size == (3 * (2 * 9 + 1), 3 * (2 * 9 + 1))


def test_the_button_trains_in_the_background_and_the_view_follows():
    t = make()
    t.widget()
    before = t.ui["image"].value
    t.ui["train"].click()
    assert t.wait(60) and t.gan.step == 6
    assert t.ui["image"].value != before and t.ui["status"].value.startswith("round 6:")


def test_a_value_set_from_code_is_what_the_slider_shows_and_what_trains():
    # the issue: after Run All the slider read 5.0e-4 while the optimizer was at 1e-4
    t = make()
    t.widget()
    t.set_lr(d=1e-4)
    assert t.ui["lr_d"].value == pytest.approx(1e-4)  # shown at once, though applied at the next round
    t.train()
    t.wait(60)
    assert set(t.gan.history["lr_d"]) == {1e-4} and t.gan.opt_d.param_groups[0]["lr"] == 1e-4
    assert t.ui["lr_d"].value == pytest.approx(1e-4) and t.asked == {}


def test_the_sliders_snap_to_the_optimizers_value_when_it_changes_elsewhere():
    t = make()
    t.widget()
    t.gan.set_lr(g=3e-4)  # not through the sliders
    t.train(2)
    t.wait(60)
    assert t.ui["lr_g"].value == pytest.approx(3e-4)


def test_a_slider_move_reaches_the_running_training():
    t = make(steps=40)
    t.widget()
    t.train()
    t.ui["lr_d"].value = 2e-3
    t.wait(60)
    h = t.gan.history
    assert h["lr_d"][-1] == 2e-3 and any(name == "lr_d" and v == 2e-3 for _, name, v in h["events"])


def test_a_bad_value_changes_nothing():
    t = make()
    with pytest.raises(ValueError, match="lr_d"):
        t.set_lr(d=-1.0)
    assert t.gan.lr_d == 5e-4 and t.asked == {}


@contextmanager
def scripted(actions):
    calls = iter(actions)
    yield lambda n: (next(calls, None) or (lambda: None))()


def test_foreground_the_cell_trains_until_stop(monkeypatch):
    t = make(steps=5)
    ui = t.ui or (t.widget(), t.ui)[1]
    seen = []
    actions = [ui["train"].click, lambda: setattr(ui["lr_g"], "value", 1e-3)] + [None] * 8 + \
              [lambda: seen.append(t.gan.step), ui["stop"].click]
    monkeypatch.setattr(live_play, "widget_events", lambda: scripted(actions))
    assert t.play("foreground") == "stopped"
    assert seen == [5] and t.gan.step == 5 and t.gan.lr_g == 1e-3 and not t.training.threads
    assert "stopped" in ui["status"].value


def test_foreground_train_from_code_after_the_cell_ended_trains_here(monkeypatch):
    # notebook 05 on Colab: play() returned at Stop, then a cell calls train() and wait()
    t = make(steps=4)
    monkeypatch.setattr(live_play, "widget_events", lambda: scripted([t.widget() and t.ui["stop"].click]))
    t.play("foreground")
    t.train()
    assert t.wait() and t.gan.step == 4 and not t.training.threads


def test_a_click_during_the_last_redraw_never_runs_two_trainings_at_once():
    # the race: a click during the last round's redraw used to start a second thread while the first
    # still ran, and both trained on. Now the click waits for that redraw, then trains its own rounds.
    import threading

    from gan_edu.live.training import NAME

    t = make(steps=3)
    t.widget()
    in_last_redraw, release = threading.Event(), threading.Event()
    refresh = t.refresh

    def slow_last_refresh(force=False):
        if t.gan.step == 3 and force and not in_last_redraw.is_set():
            in_last_redraw.set()
            release.wait(10)  # the click comes while this redraw is under way
        refresh(force=force)

    t.refresh = slow_last_refresh
    t.train()
    assert in_last_redraw.wait(60)
    first = t.training.threads[0]
    click = threading.Thread(target=t.train)
    click.start()
    click.join(0.5)
    assert click.is_alive() and t.gan.step == 3  # the click waits; nothing else trains meanwhile
    assert [th for th in threading.enumerate() if th.name == NAME] == [first]
    release.set()
    click.join(60)
    assert t.wait(60) and t.gan.step == 6 and t.training.threads[0] is not first


def test_images_and_the_playground_share_one_training_loop():
    from gan_edu.live.trainer import LiveTrainer

    t = make()
    assert type(t.training) is type(LiveTrainer(hidden=8, depth=1).training)

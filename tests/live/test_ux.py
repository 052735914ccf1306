"""What a student sees in the playground's status line and view (the issue's browser findings)."""
from live_support import SMALL, wait_for

from gan_edu.live import LiveTrainer


def test_a_value_typed_while_paused_shows_at_once_then_in_effect(trainer):
    trainer.controls["lr_d"].value = 0.005
    assert "lr_D=0.005 (next round) |" in trainer.status()  # shown before the next Step
    assert trainer.gan.lr_d == 0.001
    trainer.step()
    assert "lr_D=0.005 |" in trainer.status() and trainer.gan.opt_d.param_groups[0]["lr"] == 0.005


def test_the_status_line_names_the_loss(trainer):
    assert "G loss non-saturating |" in trainer.status()
    trainer.set(loss="saturating")
    assert "G loss saturating (next round) |" in trainer.status()
    trainer.run(1)
    assert "G loss saturating |" in trainer.status()


def test_the_batch_shows_as_asked_until_the_round_boundary(trainer):
    trainer.set(batch_size=64)
    assert "batch=64 (next round)" in trainer.status()
    trainer.run(1)
    assert "batch=64 |" in trainer.status()


def test_changing_the_data_keeps_a_running_training_running():
    t = LiveTrainer(**SMALL)
    t.widget()
    t.start()
    assert wait_for(lambda: t.gan.step >= 3)
    t.controls["data"].value = "grid"
    assert t.running and t.setup.label() == "grid of 25"
    assert wait_for(lambda: t.gan.step >= 3)  # from the seed, on the new data
    assert len(t.modes) == 25
    t.pause()


def test_changing_the_data_while_paused_stays_paused(trainer):
    trainer.set(data="moons")
    assert not trainer.running and trainer.gan.step == 0


def test_after_a_headless_run_the_view_shows_the_step_of_the_status_line():
    t = LiveTrainer(**SMALL)
    t.widget()
    before, frames = t.ui.image.value, t.frames
    t.run(20)
    assert t.frames == frames + 1 and t.ui.image.value != before
    assert t.ui.status.value.startswith("step 20 |")


def test_metrics_hold_one_record_per_step():
    t = LiveTrainer(panels={"divergences": True}, **SMALL)
    t.run(4, metrics_every=2)
    t.record_metrics()  # again at step 4: nothing new
    assert t.coverage["step"] == [2, 4] and t.divergences["step"] == [2, 4]

"""gan_edu.live.training: the live trainer's lifecycle, hammered from several threads at once."""
import random
import threading
import time

from live_support import SMALL

from gan_edu.checkpoint import safe_load
from gan_edu.live import LiveTrainer
from gan_edu.live.training import NAME

SECONDS = 3.0  # each trial's hammering; bounded, so the test ends whatever happens


def training_threads() -> int:
    return sum(t.name == NAME and t.is_alive() for t in threading.enumerate())


def hammer(trainer, actions, workers, seconds, tmp_path):
    """``workers`` threads each call random ``actions`` for ``seconds``; a monitor counts training
    threads meanwhile. Returns (the most training threads seen at once, errors raised, saved files)."""
    stop, errors, saved, most = threading.Event(), [], [], [0]

    def work(i):
        rng = random.Random(i)
        while not stop.is_set():
            name = rng.choice(actions)
            try:
                if name == "save":
                    saved.append(trainer.save(tmp_path / f"s{i}-{len(saved)}.pt"))
                else:
                    getattr(trainer, name)()
            except Exception as err:  # noqa: BLE001 - every error is a finding
                errors.append(f"{name}: {type(err).__name__}: {err}")

    def monitor():
        while not stop.is_set():
            most[0] = max(most[0], training_threads())
            time.sleep(0.001)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)] + [threading.Thread(target=monitor)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    return most[0], errors, saved


def consistent(path) -> bool:
    """A saved session of one GAN at one step: its coverage records never run past its step."""
    state = safe_load(path)
    step, cov = state["step"], state["live"]["coverage"]["step"]
    return len(state["history"]["step"]) == step and all(s <= step for s in cov)


def test_start_against_pause_never_races(tmp_path):
    for trial in range(3):
        t = LiveTrainer(**SMALL)
        most, errors, _ = hammer(t, ["start", "pause"], 2, SECONDS / 3, tmp_path)
        t.close()
        assert errors == [] and most <= 1, (trial, errors, most)
        assert training_threads() == 0


def test_four_threads_start_pause_reset_step_save_hold_one_thread_and_consistent_sessions(tmp_path):
    t = LiveTrainer(**SMALL)
    most, errors, saved = hammer(t, ["start", "start", "pause", "reset", "step", "save"], 4, SECONDS, tmp_path)
    t.close()
    assert errors == [] and most <= 1, (errors, most)
    assert saved and all(consistent(p) for p in saved)
    assert training_threads() == 0


def test_states():
    t = LiveTrainer(**SMALL)
    assert t.training.state == "idle"  # the state machine has no public face but running
    t.start()
    assert t.running and t.training.state == "running"
    t.pause()
    assert t.training.state == "idle" and not t.running
    t.close()
    assert t.training.state == "closed"
    t.start(steps=2)
    assert t.wait(30) and t.gan.step >= 2
    t.close()

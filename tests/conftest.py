import pytest
from live_support import SMALL

from gan_edu.live import LiveTrainer


@pytest.fixture
def trainer():
    """A small LiveTrainer, closed after the test; no training thread may outlive it."""
    t = LiveTrainer(**SMALL)
    yield t
    t.close()
    assert not any(th.is_alive() for th in t.training.threads)

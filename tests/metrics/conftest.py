"""Fixtures of the image-metric tests (test_metrics.py, test_digits.py)."""
import pytest

from gan_edu import metrics


@pytest.fixture(scope="module", autouse=True)
def isolated_cache(tmp_path_factory):
    """Each module trains the digit classifier (for its FD tests) at most once, in a temporary cache
    folder: never the user's cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GAN_EDU_DATA", str(tmp_path_factory.mktemp("gan_edu_data")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def split():
    """The digits' fixed train / test split."""
    return metrics.digits_split()

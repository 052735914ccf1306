"""The image metrics: a digit classifier's feature space, Fréchet distance, label histogram."""
import math

import numpy as np
import pytest
import torch

from gan_edu import metrics


@pytest.fixture(scope="module", autouse=True)
def isolated_cache(tmp_path_factory):
    """Train the classifier once for this module, in a temporary cache folder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GAN_EDU_DATA", str(tmp_path_factory.mktemp("gan_edu_data")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def split():
    return metrics.digits_split()


def test_split_is_fixed_and_disjoint(split):
    x_train, y_train, x_test, y_test = split
    assert len(x_train) + len(x_test) == 1797 and len(x_test) == 449
    again = metrics.digits_split()
    assert torch.equal(again[0], x_train) and torch.equal(again[3], y_test)
    train_rows = {tuple(r) for r in x_train.reshape(len(x_train), -1).tolist()}
    assert sum(tuple(r) in train_rows for r in x_test.reshape(len(x_test), -1).tolist()) < 5  # a few duplicate images exist
    with pytest.raises(ValueError, match="test_fraction"):
        metrics.digits_split(test_fraction=1.5)


def test_classifier_is_accurate_on_the_test_split(split):
    _, _, x_test, y_test = split
    net = metrics.digit_classifier()
    accuracy = (net(x_test).argmax(1) == y_test).float().mean().item()
    assert accuracy > 0.95


def test_classifier_is_cached_in_memory_and_on_disk():
    net = metrics.digit_classifier()
    assert metrics.digit_classifier() is net
    path = metrics._cache_path()
    assert path.exists()
    metrics._CLASSIFIER_CACHE.clear()
    loaded = metrics.digit_classifier()  # from disk this time
    assert loaded is not net
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), net.state_dict().values()))


def test_training_is_deterministic_and_works_inside_no_grad():
    cached = metrics.digit_classifier()
    with torch.no_grad():  # digit_fd and digit_features run under no_grad and may train the classifier
        fresh = metrics.digit_classifier(cache=False)
    assert fresh is not cached
    assert all(torch.equal(p, q) for p, q in zip(fresh.state_dict().values(), cached.state_dict().values()))


def test_corrupted_cache_is_retrained(split):
    metrics._CLASSIFIER_CACHE.clear()
    metrics._cache_path().write_bytes(b"not a checkpoint")
    net = metrics.digit_classifier()
    assert (net(split[2]).argmax(1) == split[3]).float().mean().item() > 0.95


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    # 1D: FD = (m1 - m2)^2 + (s1 - s2)^2
    assert metrics.frechet_distance_gaussians([1.0], [[4.0]], [3.0], [[1.0]]) == pytest.approx(4 + 1)
    # commuting (diagonal) covariances: FD = |dmu|^2 + sum (sqrt(a) - sqrt(b))^2
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    fd = metrics.frechet_distance_gaussians(np.zeros(3), np.diag(a), np.ones(3), np.diag(b))
    assert fd == pytest.approx(3 + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum())


def test_fd_of_a_set_with_itself_is_zero(split):
    f = metrics.digit_features(split[2])
    assert f.shape == (449, metrics.DigitClassifier.feature_dim)
    assert metrics.frechet_distance(f, f) == pytest.approx(0.0, abs=1e-6)


def test_fd_grows_with_corruption(split):
    _, _, x_test, _ = split
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(x_test.shape, generator=g)
    fds = [metrics.digit_fd((x_test + s * noise).clamp(-1, 1)) for s in (0.0, 0.2, 0.5, 1.0)]
    assert all(a < b for a, b in zip(fds, fds[1:])), fds
    floor = metrics.digit_fd_floor()
    assert fds[0] == pytest.approx(floor)  # the clean test split is the floor
    assert 0 < floor < fds[-1] / 10


def test_fd_checks_its_inputs():
    with pytest.raises(ValueError, match="same d"):
        metrics.frechet_distance(torch.zeros(5, 3), torch.zeros(5, 4))
    with pytest.raises(TypeError, match="images"):
        metrics.digit_fd(np.zeros((5, 1, 8, 8)))
    with pytest.raises(ValueError, match="shape"):
        metrics.digit_fd(torch.zeros(5, 1, 28, 28))
    with pytest.raises(ValueError, match="reference"):
        metrics.digit_fd(torch.zeros(5, 1, 8, 8), reference="val")


def test_label_histogram_balanced_vs_collapsed(split):
    _, _, x_test, y_test = split
    real = metrics.digit_label_histogram(x_test)
    assert sum(real["counts"]) == len(x_test) and real["of"] == 10
    assert real["modes"] == 10 and real["kl_uniform"] < 0.02
    assert sum(real["fractions"]) == pytest.approx(1.0)
    sevens = metrics.digit_label_histogram(x_test[y_test == 7])
    assert sevens["counts"][7] >= 0.9 * (y_test == 7).sum().item()
    assert sevens["kl_uniform"] > 1.5 and sevens["kl_uniform"] <= math.log(10) + 1e-9
    one = metrics.digit_label_histogram(x_test[y_test == 7][:1].repeat(20, 1, 1, 1))
    assert one["modes"] == 1 and one["kl_uniform"] == pytest.approx(math.log(10))

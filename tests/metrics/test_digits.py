"""gan_edu.metrics.digits: the memorisation check and the floor of an FD measured on the held-out split."""
import pytest
import torch

from gan_edu import metrics


def test_nearest_distances_are_zero_for_copies_and_exact_otherwise():
    ref = torch.tensor([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]])
    x = torch.tensor([[3.0, 4.0], [0.0, 1.0], [9.0, 0.0], [6.0, 8.0]])
    assert metrics.nearest_distances(x, ref).tolist() == [0.0, 1.0, 1.0, 5.0]
    images = torch.rand(7, 1, 8, 8)
    assert metrics.nearest_distances(images, images).abs().max() < 1e-9  # images (n, 1, 8, 8): pixel rows
    many = torch.rand(2100, 64)  # more than one chunk of 1024 rows
    brute = torch.cdist(many.double(), images.reshape(7, -1).double()).min(1).values
    assert torch.allclose(metrics.nearest_distances(many, images), brute)
    with pytest.raises(ValueError, match="pixels"):
        metrics.nearest_distances(torch.zeros(3, 64), torch.zeros(3, 63))
    with pytest.raises(TypeError, match="reference"):
        metrics.nearest_distances(torch.zeros(3, 64), torch.zeros(3, 64, dtype=torch.long))
    with pytest.raises(ValueError, match="NaN"):
        metrics.nearest_distances(torch.full((3, 64), float("nan")), torch.zeros(3, 64))


def test_fresh_real_digits_are_not_flagged(split):
    """Real digits that are in neither set behave like the held-out ones: about 5% close, ratio about 1."""
    x_train, _, x_test, _ = split
    g = torch.Generator().manual_seed(0)
    for _ in range(5):  # several ways to cut the test split into "held out" and "fresh"
        order = torch.randperm(len(x_test), generator=g)
        held_out, fresh = x_test[order[:224]], x_test[order[224:]]
        m = metrics.memorisation(fresh, x_train, held_out)
        assert not m["copying"], m["close_fraction"]
        assert m["close_fraction"] < 0.12 and 0.85 < m["ratio"] < 1.15
    m = metrics.memorisation(x_test, x_train, x_test)  # the held-out digits themselves: the quantile exactly
    assert m["close_fraction"] == pytest.approx(0.05, abs=0.005) and m["ratio"] == 1.0 and not m["copying"]
    assert m["generated"].shape == (len(x_test),) and m["threshold"] > 0


def test_a_copying_generator_is_flagged(split):
    x_train, _, x_test, _ = split
    g = torch.Generator().manual_seed(1)
    copies = x_train[torch.randint(len(x_train), (449,), generator=g)]
    m = metrics.memorisation(copies, x_train, x_test)
    assert m["copying"] and m["close_fraction"] == 1.0 and m["ratio"] == 0.0 and m["median_generated"] == 0.0
    # copies blurred by noise of std 0.1 per pixel (a G that memorised, imperfectly): still flagged
    noisy = (copies + 0.1 * torch.randn(copies.shape, generator=g)).clamp(-1, 1)
    m = metrics.memorisation(noisy, x_train, x_test)
    assert m["copying"] and m["close_fraction"] > 0.9 and m["ratio"] < 0.5
    # a G that copies one image in three, the rest fresh real digits
    held_out, fresh = x_test[:200], x_test[200:]
    part = torch.cat([copies[: len(fresh) // 2], fresh])
    m = metrics.memorisation(part, x_train, held_out)
    assert m["copying"] and 0.3 < m["close_fraction"] < 0.45


def test_memorisation_checks_its_arguments(split):
    x_train, _, x_test, _ = split
    for bad in (dict(quantile=0), dict(quantile=0.3, flag_at=0.2), dict(flag_at=1.0)):
        with pytest.raises(ValueError, match="quantile"):
            metrics.memorisation(x_test, x_train, x_test, **bad)
    with pytest.raises(TypeError, match="images"):
        metrics.memorisation(x_test.numpy(), x_train, x_test)


def test_fd_against_the_test_split_and_its_floor(split):
    """FD is symmetric: the floor FD(test, train) is also what the training digits score against
    the test split, i.e. what a G that drew exactly its training digits scores there."""
    x_train, _, x_test, _ = split
    floor = metrics.digit_fd_floor()
    assert metrics.digit_fd(x_train, reference="test") == pytest.approx(floor, rel=1e-6)
    assert metrics.digit_fd(x_train, reference="train") == pytest.approx(0.0, abs=1e-6)  # why G is judged on "test"

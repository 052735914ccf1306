"""gan_edu.metrics: densities, divergences and D* on a grid, the divergence tracker, the image metrics."""
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_edu import data, losses, metrics
from support import make_gan


# ---------------------------------------------------------------------------- densities and divergences on a grid
def cluster(center, n=2000, std=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.tensor(center, dtype=torch.float32) + std * torch.randn(n, len(center), generator=g)


def test_grid_axis_and_points_layout():
    c, h = metrics.grid_axis(2.0, bins=4)
    assert h == 1.0 and list(c) == [-1.5, -0.5, 0.5, 1.5]
    pts = metrics.grid_points((0, 4), bins=4)
    assert pts.shape == (16, 2)
    assert pts[1].tolist() == [1.5, 0.5] and pts[4].tolist() == [0.5, 1.5]  # row i: x2 = c[i]
    assert metrics.grid_points(1, bins=3, dim=1).shape == (3, 1)
    for bad in (dict(lim=0), dict(lim=(1, -1)), dict(lim="3"), dict(lim=2, bins=1)):
        with pytest.raises(ValueError):
            metrics.grid_axis(**{"bins": 8, **bad})


def test_density_integrates_to_one_and_sits_where_the_samples_are():
    pts = cluster([1.5, -1.0])
    p = metrics.density_on_grid(pts, 3, bins=60)
    _, h = metrics.grid_axis(3, 60)
    assert p.shape == (60, 60) and p.sum() * h * h == pytest.approx(1.0)
    peak = metrics.grid_points(3, 60)[p.reshape(-1).argmax()]
    assert torch.allclose(peak, torch.tensor([1.5, -1.0]), atol=h)


def test_density_1d_matches_the_true_density():
    s = data.Gaussian1D(mean=0.5, std=0.5)
    x = s(20000)
    p = metrics.density_on_grid(x, 3, bins=120, bandwidth=0.05)
    c, h = metrics.grid_axis(3, 120)
    assert p.shape == (120,) and p.sum() * h == pytest.approx(1.0)
    assert np.abs(p - s.density(c)).max() < 0.05 * s.density(0.5)
    np.testing.assert_array_equal(p, metrics.density_on_grid(x.reshape(-1), 3, 120, 0.05))  # (n,) as (n, 1)


def test_density_refuses_bad_samples_and_bandwidth():
    with pytest.raises(ValueError, match="no sample lies inside"):
        metrics.density_on_grid(torch.full((5, 2), 10.0), 3)
    with pytest.raises(ValueError, match=r"shape \(n, 1\) or \(n, 2\)"):
        metrics.density_on_grid(torch.zeros(5, 3), 3)
    with pytest.raises(ValueError, match="NaN"):
        metrics.density_on_grid(torch.tensor([[0.0, math.nan]]), 3)
    with pytest.raises(ValueError, match="bandwidth"):
        metrics.density_on_grid(torch.zeros(5, 2), 3, bandwidth=0)


def test_identical_samples_give_zero_divergences():
    real = data.ring()(2500)
    out = metrics.divergences_on_grid(real, real.clone(), 3)
    assert out["kl"] == pytest.approx(0, abs=1e-12) and out["reverse_kl"] == pytest.approx(0, abs=1e-12)
    assert out["js"] == pytest.approx(0, abs=1e-12)
    assert out["v_star"] == pytest.approx(-math.log(4))
    # two independent draws of the same distribution: small, not zero
    other = metrics.divergences_on_grid(real, data.ring(seed=1)(2500), 3)
    assert 0 < other["js"] < 0.01 and 0 < other["kl"] < 0.05


def test_disjoint_clusters_give_js_log_2():
    a, b = cluster([-1.5, -1.5]), cluster([1.5, 1.5], seed=1)
    out = metrics.divergences_on_grid(a, b, 3)
    assert out["js"] == pytest.approx(math.log(2), abs=1e-3)
    assert out["kl"] > 10 and math.isfinite(out["kl"])  # the floor keeps KL finite
    assert out["v_star"] == pytest.approx(-math.log(4) + 2 * out["js"])
    assert out["outside_real"] == 0 and out["outside_fake"] == 0


def test_missing_a_mode_shows_in_kl_more_than_in_reverse_kl():
    real = data.GaussianMixture([[-1.5, 0], [1.5, 0]], std=0.1)(4000)
    fake = cluster([-1.5, 0], n=2000, seed=3)  # G covers one of the two modes
    out = metrics.divergences_on_grid(real, fake, 3)
    assert out["kl"] > 5 > out["reverse_kl"] and out["reverse_kl"] == pytest.approx(math.log(2), abs=0.1)


def test_learned_d_value_is_below_the_optimum():
    real, fake = cluster([-0.5, 0]), cluster([0.5, 0], seed=1)
    d_star = metrics.optimal_discriminator_on_grid(real, fake, 3)
    for d in (np.full(d_star.shape, 0.5), np.clip(d_star + 0.2, 0, 1)):
        out = metrics.divergences_on_grid(real, fake, 3, d=d)
        assert out["v"] <= out["v_star"] + 1e-9
    half = metrics.divergences_on_grid(real, fake, 3, d=np.full(d_star.shape, 0.5))
    assert half["v"] == pytest.approx(-math.log(4), abs=1e-4)


def test_divergences_reuse_the_losses_and_are_deterministic():
    real, fake = data.ring()(1000), data.ring(seed=2)(1000) * 0.8
    out = metrics.divergences_on_grid(real, fake, 3, bins=48, floor=0)
    p, q = metrics.density_on_grid(real, 3, 48), metrics.density_on_grid(fake, 3, 48)
    area = (6 / 48) ** 2
    assert out["js"] == losses.jensen_shannon(p, q, area)
    assert out == metrics.divergences_on_grid(real, fake, 3, bins=48, floor=0)
    assert 0 < metrics.divergences_on_grid(real, real * 1.6, 3)["outside_fake"] < 1  # r = 3.2: only the diagonal modes inside


def test_optimal_discriminator_on_grid_is_half_where_densities_agree_and_sharp_where_apart():
    real = data.ring()(3000)
    same = metrics.optimal_discriminator_on_grid(real, data.ring(seed=1)(3000), 3)
    p = metrics.density_on_grid(real, 3)
    support = p > 0.2 * p.max()
    assert np.abs(same[support] - 0.5).max() < 0.15  # D* = 1/2 where the densities coincide
    a, b = cluster([-1.5, 0]), cluster([1.5, 0], seed=1)
    d = metrics.optimal_discriminator_on_grid(a, b, 3, bins=30)
    pts = metrics.grid_points(3, 30)
    at = lambda xy: d.reshape(-1)[((pts - torch.tensor(xy)) ** 2).sum(1).argmin()]
    assert at([-1.5, 0]) > 0.99 and at([1.5, 0]) < 0.01
    np.testing.assert_array_equal(d, metrics.optimal_discriminator_on_grid(a, b, 3, bins=30))
    assert at([0.0, 2.9]) == 0.5  # far from both: undefined, shown as 1/2
    raw = metrics.optimal_discriminator_on_grid(a, b, 3, bins=30, support=0)
    assert raw.reshape(-1)[((pts - torch.tensor([-2.9, 2.9])) ** 2).sum(1).argmin()] > 0.99  # a kernel tail ratio
    with pytest.raises(ValueError, match="dimension"):
        metrics.optimal_discriminator_on_grid(a, a[:, :1], 3)


def test_grid_lookup_reads_the_cell_of_each_point():
    c, _ = metrics.grid_axis(3, 6)  # cells of width 1: centres -2.5 ... 2.5
    values = np.arange(36.0).reshape(6, 6)  # [i, j] at (x1 = c[j], x2 = c[i])
    pts = torch.tensor([[-2.9, -2.9], [c[4], c[1]], [0.01, -0.01], [9.0, -9.0]])
    assert metrics.grid.grid_lookup(values, pts, 3).tolist() == [0.0, 1 * 6 + 4, 2 * 6 + 3, 0 * 6 + 5]  # last: clamped
    pts_grid = metrics.grid_points(3, 6)
    np.testing.assert_array_equal(metrics.grid.grid_lookup(values, pts_grid, 3), values.reshape(-1))  # its own layout
    assert metrics.grid.grid_lookup(np.arange(4.0), torch.tensor([[-1.0], [0.9]]), (-2, 2)).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="values"):
        metrics.grid.grid_lookup(np.zeros((4, 5)), pts, 3)


def test_value_on_samples_is_minus_d_loss_and_finite_for_a_confident_d():
    gan = make_gan()
    real, fake = data.ring()(300), gan.sample(200)
    d_real, d_fake = gan.discriminate(real), gan.discriminate(fake)
    assert metrics.grid.value_on_samples(gan, real, fake) == pytest.approx(float(losses.value_function(d_real, d_fake)),
                                                                     abs=1e-5)
    with torch.no_grad():
        gan.D.net[-1].bias.fill_(-100.0)  # D(x) ~ e^-100 on the real data: log D is -100, not -inf
    assert metrics.grid.value_on_samples(gan, real, fake) == pytest.approx(-100, abs=5)
    assert math.isnan(metrics.grid.value_on_samples(make_gan(loss="lsgan"), real, fake))


# ---------------------------------------------------------------------------- the divergence tracker (a training callback)
def test_tracker_records_every_k_rounds_without_changing_training():
    ring = data.ring()
    real = data.ring(seed=1)(500)
    tracked, plain = make_gan(), make_gan()
    tracker = metrics.DivergenceTracker(real, 3, every=5, n=300, bins=32, modes=ring.modes, std=ring.std,
                                        with_d=True)
    tracker(tracked)  # round 0
    tracked.fit(data.ring(), 12, 32, callbacks=tracker, progress=False)
    plain.fit(data.ring(), 12, 32, progress=False)
    assert tracked.history["loss_d"] == plain.history["loss_d"]  # the tracker draws no GAN noise
    h = tracker.history
    assert h["step"] == [0, 5, 10] and h["of"] == 8
    for key in ("kl", "reverse_kl", "js", "v_star", "v", "v_samples", "modes", "high_quality"):
        assert len(h[key]) == 3
    fresh, again = make_gan(), metrics.DivergenceTracker(real, 3, n=300, bins=32, with_d=True)
    again(fresh)  # round 0: V(D, G) of D on the real samples and G's (no smoothing)
    assert again.history["v_samples"] == [metrics.grid.value_on_samples(fresh, real, fresh.sample(z=again.noise(fresh)))]
    fake = tracked.sample(z=tracker.noise(tracked))
    expected = metrics.divergences_on_grid(real, fake, 3, 32)
    tracker(tracked)  # step 12: not a multiple of 5, nothing recorded
    assert len(h["step"]) == 3
    assert all(v <= vs + 1e-9 for v, vs in zip(h["v"], h["v_star"]))  # V(D, G) <= V(D*, G)
    assert expected["js"] <= np.log(2)


def test_tracker_noise_follows_the_prior_and_bad_arguments_are_refused():
    gan = make_gan(noise="uniform")
    z = metrics.DivergenceTracker(torch.zeros(4, 2), 3, n=1000).noise(gan)
    assert z.shape == (1000, 2) and z.min() >= -1 and z.max() <= 1
    for bad in (dict(every=0), dict(n=0), dict(modes=torch.zeros(2, 2)), dict(lim=-1)):
        with pytest.raises(ValueError):
            metrics.DivergenceTracker(torch.zeros(4, 2), **{"lim": 3, **bad})
    with pytest.raises(ValueError):
        metrics.DivergenceTracker(torch.zeros(4, 3), 3)


# ---------------------------------------------------------------------------- image metrics
def cache_files():
    """The classifier's files in its disk cache, the folder $GAN_EDU_DATA (a temporary one here)."""
    return sorted(Path(os.environ["GAN_EDU_DATA"]).glob("*.pt"))


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


def test_classifier_is_cached_in_memory_and_on_disk(tmp_path, monkeypatch):
    net = metrics.digit_classifier()
    assert metrics.digit_classifier() is net
    (path,) = cache_files()  # one file, in $GAN_EDU_DATA
    assert path.exists()
    # another session, nothing in memory: a cache folder holding that file (the memory cache is per folder)
    copied = tmp_path / "copied"
    copied.mkdir()
    shutil.copy(path, copied / path.name)
    monkeypatch.setenv("GAN_EDU_DATA", str(copied))
    loaded = metrics.digit_classifier()  # from disk this time
    assert loaded is not net
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), net.state_dict().values()))
    # read from the file, not trained again: a file with other weights gives those weights
    marked = tmp_path / "marked"
    marked.mkdir()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    state["head.bias"] += 1.0
    torch.save(state, marked / path.name)
    monkeypatch.setenv("GAN_EDU_DATA", str(marked))
    assert torch.equal(metrics.digit_classifier().head.bias, net.head.bias + 1.0)


def test_classifier_training_is_deterministic_and_works_inside_no_grad():
    cached = metrics.digit_classifier()
    with torch.no_grad():  # digit_fd and digit_features run under no_grad and may train the classifier
        fresh = metrics.digit_classifier(cache=False)
    assert fresh is not cached
    assert all(torch.equal(p, q) for p, q in zip(fresh.state_dict().values(), cached.state_dict().values()))


def test_corrupted_cache_is_retrained(split, tmp_path, monkeypatch):
    metrics.digit_classifier()
    (path,) = cache_files()
    corrupted = tmp_path / "corrupted"  # a cache folder whose file is not a checkpoint, nothing in memory
    corrupted.mkdir()
    (corrupted / path.name).write_bytes(b"not a checkpoint")
    monkeypatch.setenv("GAN_EDU_DATA", str(corrupted))
    net = metrics.digit_classifier()
    assert (net(split[2]).argmax(1) == split[3]).float().mean().item() > 0.95
    assert (corrupted / path.name).read_bytes() != b"not a checkpoint"  # and the retrained one replaced it


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

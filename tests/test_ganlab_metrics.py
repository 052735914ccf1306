"""Densities, KL / JS and the optimal discriminator estimated on a grid (issue 7)."""
import math

import numpy as np
import pytest
import torch

from gan_edu import data, losses, metrics


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


def test_density_errors():
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


def test_optimal_discriminator_on_grid():
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

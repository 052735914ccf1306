"""Tests for the helpers that notebooks 01 and 02 added to gan_edu.losses:
generator_objective_on_grid (G's objective for a fixed D) and optimal_generator_objective
(G's objective against D*)."""
import math

import numpy as np
import pytest
import torch

from gan_edu import losses
from gan_edu.data import Gaussian1D

X = np.linspace(-20, 20, 4001)
DX = X[1] - X[0]
P_DATA = Gaussian1D(0.0, 1.0).density(X)


def gaussian(mean, std):
    return Gaussian1D(mean, std).density(X)


def test_generator_objective_on_grid_by_hand():
    # p_g uniform on [0, 1) (density 1), D = 1/4 everywhere.
    x = np.linspace(0, 1, 1000, endpoint=False)
    p_g, d = np.ones_like(x), np.full_like(x, 0.25)
    dx = x[1] - x[0]
    assert losses.generator_objective_on_grid(d, p_g, dx, "saturating") == pytest.approx(math.log(0.75))
    assert losses.generator_objective_on_grid(d, p_g, dx, "non_saturating") == pytest.approx(-math.log(0.25))


def test_generator_objective_on_grid_matches_generator_loss_on_samples():
    # p_g uniform over n grid points (mass 1/n each) makes the integral the sample mean that
    # generator_loss computes from logits.
    logits = torch.linspace(-6, 6, 101, dtype=torch.float64)
    p_g = np.full(101, 1 / 101)
    d = torch.sigmoid(logits).numpy()
    for kind in losses.BCE_LOSSES:
        expected = losses.generator_loss(logits, kind).item()
        assert losses.generator_objective_on_grid(d, p_g, 1.0, kind) == pytest.approx(expected, rel=1e-12)


def test_generator_objective_zero_density_contributes_nothing():
    # Where p_g = 0 the integrand is 0 even if D = 0 or 1 there (0 log 0 = 0).
    d, p_g = np.array([0.0, 0.5, 1.0]), np.array([0.0, 2.0, 0.0])
    assert losses.generator_objective_on_grid(d, p_g, 0.5, "saturating") == pytest.approx(math.log(0.5))
    assert losses.generator_objective_on_grid(d, p_g, 0.5, "non_saturating") == pytest.approx(math.log(2))


@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (1.0, 1.0), (-2.0, 0.5), (3.0, 2.0)])
def test_optimal_generator_objective_kl_forms(mean, std):
    p_g = gaussian(mean, std)
    m = (P_DATA + p_g) / 2
    sat = losses.optimal_generator_objective(P_DATA, p_g, DX, "saturating")
    ns = losses.optimal_generator_objective(P_DATA, p_g, DX, "non_saturating")
    assert sat == pytest.approx(losses.kl_divergence(p_g, m, DX) - math.log(2), abs=1e-9)
    assert ns == pytest.approx(losses.kl_divergence(p_g, P_DATA, DX) - losses.kl_divergence(p_g, m, DX)
                               + math.log(2), abs=1e-9)


@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (1.0, 1.0), (-1.0, 0.7), (2.0, 1.5)])
def test_optimal_generator_objective_is_fixed_d_objective_at_d_star(mean, std):
    # On a grid narrow enough that D* never rounds to exactly 0 or 1 where p_g > 0.
    x = np.linspace(-6, 6, 1201)
    dx = x[1] - x[0]
    p_data, p_g = Gaussian1D(0.0, 1.0).density(x), Gaussian1D(mean, std).density(x)
    d_star = losses.optimal_discriminator(p_data, p_g)
    assert d_star.min() > 0 and d_star.max() < 1
    for kind in losses.BCE_LOSSES:
        assert losses.optimal_generator_objective(p_data, p_g, dx, kind) == pytest.approx(
            losses.generator_objective_on_grid(d_star, p_g, dx, kind), abs=1e-9)


def test_optimal_generator_objective_minimum_at_p_data():
    assert losses.optimal_generator_objective(P_DATA, P_DATA, DX, "saturating") == pytest.approx(-math.log(2))
    assert losses.optimal_generator_objective(P_DATA, P_DATA, DX, "non_saturating") == pytest.approx(math.log(2))
    for mean, std in [(0.3, 1.0), (0.0, 1.3), (-1.0, 0.6)]:
        p_g = gaussian(mean, std)
        assert losses.optimal_generator_objective(P_DATA, p_g, DX, "saturating") > -math.log(2)
        assert losses.optimal_generator_objective(P_DATA, p_g, DX, "non_saturating") > math.log(2)


def test_optimal_generator_objective_far_apart_is_finite_and_right():
    # p_g far from p_data: D* rounds to exactly 0 or 1 on much of the grid.
    p_g = gaussian(8.0, 0.3)
    d_star = losses.optimal_discriminator(P_DATA, p_g)
    assert np.any((d_star == 1.0) & (p_g > 0))  # the rounding this function avoids
    sat = losses.optimal_generator_objective(P_DATA, p_g, DX, "saturating")
    assert sat == pytest.approx(0.0, abs=1e-6)  # KL(p_g || m) -> log 2 as the supports separate
    ns = losses.optimal_generator_objective(P_DATA, p_g, DX, "non_saturating")
    assert math.isfinite(ns) and ns > 30  # grows like KL(p_g || p_data)
    # The fixed-D form clips D to [1e-12, 1 - 1e-12]: finite where D* rounded to 1 (same number),
    # but -log D is capped at -log 1e-12 where D* < 1e-12, so it underestimates here.
    assert losses.generator_objective_on_grid(d_star, p_g, DX, "saturating") == pytest.approx(sat, abs=1e-9)
    capped = losses.generator_objective_on_grid(d_star, p_g, DX, "non_saturating")
    assert capped <= -math.log(1e-12) + 1e-6 < ns


def test_optimal_generator_objective_infinite_off_support():
    p_data, p_g = np.array([1.0, 0.0]), np.array([0.5, 0.5])
    assert losses.optimal_generator_objective(p_data, p_g, 1.0, "non_saturating") == math.inf
    assert math.isfinite(losses.optimal_generator_objective(p_data, p_g, 1.0, "saturating"))


@pytest.mark.parametrize("fn,args", [
    (losses.generator_objective_on_grid, (np.full(3, 0.5), np.ones(3), 1.0)),
    (losses.optimal_generator_objective, (np.ones(3), np.ones(3), 1.0)),
])
def test_unknown_kind_names_the_argument(fn, args):
    with pytest.raises(ValueError, match="kind"):
        fn(*args, kind="wasserstein")


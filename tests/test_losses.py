"""gan_edu.losses: the value function, every loss kind, the penalties, divergences and objectives on a grid."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gan_edu import losses as L
from gan_edu.data import Gaussian1D

torch.manual_seed(0)
LOGITS_REAL = torch.randn(64, 1, dtype=torch.float64) * 3
LOGITS_FAKE = torch.randn(64, 1, dtype=torch.float64) * 3

REAL = torch.tensor([[1.0], [3.0]])
FAKE = torch.tensor([[0.0], [2.0]])

X = np.linspace(-20, 20, 4001)
DX = X[1] - X[0]
P_DATA = Gaussian1D(0.0, 1.0).density(X)


# ---------------------------------------------------------------------------- the value function and BCE
def test_value_function_by_hand():
    # D(x) = 0.5 on real, D(G(z)) = 0.5 on fake: V = 2 log 1/2 = -log 4
    assert L.value_function(torch.full((4,), 0.5), torch.full((4,), 0.5)).item() == pytest.approx(-math.log(4))
    # one real at 0.8 and 0.4, fakes at 0.1 and 0.2: mean(log .8, log .4) + mean(log .9, log .8)
    v = L.value_function(torch.tensor([0.8, 0.4]), torch.tensor([0.1, 0.2]))
    expected = (math.log(0.8) + math.log(0.4)) / 2 + (math.log(0.9) + math.log(0.8)) / 2
    assert v.item() == pytest.approx(expected)


def test_bce_matches_torch():
    p = torch.rand(50, dtype=torch.float64) * 0.98 + 0.01
    for y in (torch.ones(50, dtype=torch.float64), torch.zeros(50, dtype=torch.float64), torch.rand(50, dtype=torch.float64)):
        assert torch.allclose(L.bce(p, y), F.binary_cross_entropy(p, y))


def test_discriminator_loss_is_bce_with_labels_and_minus_v():
    d_real, d_fake = torch.sigmoid(LOGITS_REAL), torch.sigmoid(LOGITS_FAKE)
    loss = L.discriminator_loss(LOGITS_REAL, LOGITS_FAKE)
    bce = F.binary_cross_entropy(d_real, torch.ones_like(d_real)) + F.binary_cross_entropy(d_fake, torch.zeros_like(d_fake))
    assert torch.allclose(loss, bce)
    assert torch.allclose(loss, -L.value_function(d_real, d_fake))


@pytest.mark.parametrize("labels", [(1.0, 0.0), (0.9, 0.0), (0.8, 0.2), (0.5, 0.5)])
def test_labelled_discriminator_loss_is_bce_with_logits(labels):
    torch.manual_seed(0)
    real, fake = torch.randn(50) * 3, torch.randn(40) * 3
    y_r, y_f = labels
    expected = (F.binary_cross_entropy_with_logits(real, torch.full_like(real, y_r))
                + F.binary_cross_entropy_with_logits(fake, torch.full_like(fake, y_f)))
    torch.testing.assert_close(L.discriminator_loss(real, fake, real_label=y_r, fake_label=y_f), expected)
    torch.testing.assert_close(L.discriminator_loss(real, fake), L.discriminator_loss(real, fake, 1.0, 0.0))
    with pytest.raises(ValueError, match="real_label"):
        L.discriminator_loss(real, fake, real_label=1.5)


def test_generator_losses_are_bce_forms():
    d_fake = torch.sigmoid(LOGITS_FAKE)
    ns = L.generator_loss(LOGITS_FAKE, "non_saturating")
    sat = L.generator_loss(LOGITS_FAKE, "saturating")
    assert torch.allclose(ns, F.binary_cross_entropy(d_fake, torch.ones_like(d_fake)))
    assert torch.allclose(sat, -F.binary_cross_entropy(d_fake, torch.zeros_like(d_fake)))
    assert torch.allclose(sat, torch.log1p(-d_fake).mean())


def test_losses_stable_for_extreme_logits():
    big = torch.tensor([[200.0], [-200.0]])
    assert torch.isfinite(L.discriminator_loss(big, big))
    for loss in (lambda x: L.generator_loss(x, "non_saturating"), lambda x: L.generator_loss(x, "saturating"),
                 L.lsgan_generator_loss, L.wasserstein_generator_loss):
        x = big.clone().requires_grad_()
        loss(x).backward()
        assert torch.isfinite(x.grad).all()
    # non-saturating: D rejects the fake (logit -200) -> gradient still about -1/n, saturating -> ~0
    x = torch.tensor([[-200.0]], requires_grad=True)
    L.generator_loss(x, "non_saturating").backward()
    assert x.grad.item() == pytest.approx(-1.0)


def test_an_unknown_generator_loss_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        L.generator_loss(LOGITS_FAKE, "nonsaturating")


# ---------------------------------------------------------------------------- LSGAN and Wasserstein
def test_lsgan_losses_by_hand():
    # D: ½ mean((1-1)², (3-1)²) + ½ mean(0², 2²) = ½·2 + ½·2 = 2;  G: ½ mean((0-1)², (2-1)²) = ½
    assert L.lsgan_discriminator_loss(REAL, FAKE).item() == pytest.approx(2.0)
    assert L.lsgan_generator_loss(FAKE).item() == pytest.approx(0.5)


def test_wasserstein_losses_by_hand():
    # critic: mean fake - mean real = 1 - 2 = -1;  G: -mean fake = -1
    assert L.wasserstein_critic_loss(REAL, FAKE).item() == pytest.approx(-1.0)
    assert L.wasserstein_generator_loss(FAKE).item() == pytest.approx(-1.0)


def test_generator_loss_takes_the_bce_kinds_only():
    for kind in ("lsgan", "wasserstein"):  # their G losses have functions of their own
        with pytest.raises(ValueError, match="lsgan_generator_loss"):
            L.generator_loss(FAKE, kind)
    with pytest.raises(ValueError, match="hinge"):
        L.generator_loss(FAKE, "hinge")


# ---------------------------------------------------------------------------- the gradient penalty and R1
def linear_critic(weight):
    D = nn.Linear(len(weight), 1, bias=True)
    with torch.no_grad():
        D.weight.copy_(torch.tensor([weight]))
        D.bias.fill_(0.3)
    return D


def test_gradient_penalty_zero_for_unit_norm_linear_critic():
    real, fake = torch.randn(64, 2), torch.randn(64, 2) + 3
    D = linear_critic([0.6, 0.8])  # ||∇D|| = ||w|| = 1 everywhere: 1-Lipschitz, no penalty
    assert L.gradient_penalty(D, real, fake).item() == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("w,expected", [([1.2, 1.6], 1.0), ([0.3, 0.4], 0.25), ([0.0, 3.0], 4.0)])
def test_gradient_penalty_positive_otherwise(w, expected):
    # linear D: the gradient is w at every x̂, so the penalty is (||w|| - 1)² exactly
    D = linear_critic(w)
    assert L.gradient_penalty(D, torch.randn(32, 2), torch.randn(32, 2)).item() == pytest.approx(expected)


def test_gradient_penalty_sends_gradient_into_d():
    D = linear_critic([1.2, 1.6])
    L.gradient_penalty(D, torch.randn(8, 2), torch.randn(8, 2)).backward()
    # d/dw (||w|| - 1)² = 2 (||w|| - 1) w / ||w|| = 2 · 1 · (0.6, 0.8)
    assert torch.allclose(D.weight.grad, torch.tensor([[1.2, 1.6]]))
    with pytest.raises(ValueError, match="same shape"):
        L.gradient_penalty(D, torch.randn(8, 2), torch.randn(4, 2))


class _Quadratic(nn.Module):
    """l(x) = a ||x||² / 2, so ∇_x l = a x and the R1 penalty is a² E||x||²."""

    def __init__(self, a=3.0):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a))

    def forward(self, x):
        return self.a * x.pow(2).sum(1, keepdim=True) / 2


def test_r1_penalty_by_hand_and_its_gradient_reaches_d():
    D, x = _Quadratic(3.0), torch.tensor([[1.0, 2.0], [0.0, -1.0]]).requires_grad_(True)
    pen = L.r1_penalty(D(x), x)
    assert pen.item() == pytest.approx(9.0 * (5.0 + 1.0) / 2)  # a² mean ||x||²
    pen.backward()
    assert D.a.grad.item() == pytest.approx(2 * 3.0 * 3.0)  # d(a² · 3)/da = 6a
    with pytest.raises(ValueError, match="requires_grad"):
        L.r1_penalty(D(torch.ones(2, 2)), torch.ones(2, 2))


# ---------------------------------------------------------------------------- D*, the criterion, KL and JS on a grid
def test_optimal_discriminator_and_criterion():
    x = np.linspace(-10, 10, 4001)
    dx = x[1] - x[0]
    p = np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
    q = np.exp(-0.5 * (x - 1.5) ** 2 / 0.49) / (0.7 * math.sqrt(2 * math.pi))
    d_star = L.optimal_discriminator(p, q)
    assert np.allclose(L.optimal_discriminator(p, p), 0.5)
    assert np.all((d_star >= 0) & (d_star <= 1))
    assert L.optimal_discriminator([0.0], [0.0])[0] == 0.5
    # D* maximises V for fixed G
    v_star = L.value_function_on_grid(d_star, p, q, dx)
    for other in (np.full_like(x, 0.5), np.clip(d_star + 0.05, 0, 1), 1 / (1 + np.exp(-x))):
        assert L.value_function_on_grid(other, p, q, dx) < v_star
    # C(G) = -log 4 + 2 JSD, and -log 4 at p_g = p_data
    assert L.virtual_training_criterion(p, q, dx) == pytest.approx(-math.log(4) + 2 * L.jensen_shannon(p, q, dx), abs=1e-9)
    assert L.virtual_training_criterion(p, p, dx) == pytest.approx(-math.log(4))


@pytest.mark.parametrize("mean, std", [(0.0, 0.1), (0.0, 2.0), (8.0, 0.1), (8.0, 2.0)])
def test_criterion_stays_finite_where_d_star_rounds_to_0_or_1(mean, std):
    """Notebook 01's sliders at their corners: p_g and p_data barely overlap, D* rounds to 0 or 1
    in floating point somewhere, and C(G) must still be finite and equal -log 4 + 2 JSD."""
    from gan_edu.data import Gaussian1D

    x = np.linspace(-12, 20, 3201)
    dx = x[1] - x[0]
    p_data, p_g = Gaussian1D(4.0, 0.5).density(x), Gaussian1D(mean, std).density(x)
    c = L.virtual_training_criterion(p_data, p_g, dx)
    assert math.isfinite(c) and abs(c - (-math.log(4) + 2 * L.jensen_shannon(p_data, p_g, dx))) < 1e-9


def test_kl_and_jsd_by_hand():
    # two discrete distributions on 2 cells of width 1
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    kl = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    assert L.kl_divergence(p, q, 1.0) == pytest.approx(kl)
    assert L.kl_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0]), 1.0) == math.inf
    assert L.jensen_shannon(np.array([1.0, 0.0]), np.array([0.0, 1.0]), 1.0) == pytest.approx(math.log(2))
    assert L.jensen_shannon(p, p, 1.0) == 0.0


# ---------------------------------------------------------------------------- G's objective on a grid (notebooks 01 and 02)
def gaussian(mean, std):
    return Gaussian1D(mean, std).density(X)


def test_generator_objective_on_grid_by_hand():
    # p_g uniform on [0, 1) (density 1), D = 1/4 everywhere.
    x = np.linspace(0, 1, 1000, endpoint=False)
    p_g, d = np.ones_like(x), np.full_like(x, 0.25)
    dx = x[1] - x[0]
    assert L.generator_objective_on_grid(d, p_g, dx, "saturating") == pytest.approx(math.log(0.75))
    assert L.generator_objective_on_grid(d, p_g, dx, "non_saturating") == pytest.approx(-math.log(0.25))


def test_generator_objective_on_grid_matches_generator_loss_on_samples():
    # p_g uniform over n grid points (mass 1/n each) makes the integral the sample mean that
    # generator_loss computes from logits.
    logits = torch.linspace(-6, 6, 101, dtype=torch.float64)
    p_g = np.full(101, 1 / 101)
    d = torch.sigmoid(logits).numpy()
    for kind in L.BCE_LOSSES:
        expected = L.generator_loss(logits, kind).item()
        assert L.generator_objective_on_grid(d, p_g, 1.0, kind) == pytest.approx(expected, rel=1e-12)


def test_generator_objective_zero_density_contributes_nothing():
    # Where p_g = 0 the integrand is 0 even if D = 0 or 1 there (0 log 0 = 0).
    d, p_g = np.array([0.0, 0.5, 1.0]), np.array([0.0, 2.0, 0.0])
    assert L.generator_objective_on_grid(d, p_g, 0.5, "saturating") == pytest.approx(math.log(0.5))
    assert L.generator_objective_on_grid(d, p_g, 0.5, "non_saturating") == pytest.approx(math.log(2))


@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (1.0, 1.0), (-2.0, 0.5), (3.0, 2.0)])
def test_optimal_generator_objective_kl_forms(mean, std):
    p_g = gaussian(mean, std)
    m = (P_DATA + p_g) / 2
    sat = L.optimal_generator_objective(P_DATA, p_g, DX, "saturating")
    ns = L.optimal_generator_objective(P_DATA, p_g, DX, "non_saturating")
    assert sat == pytest.approx(L.kl_divergence(p_g, m, DX) - math.log(2), abs=1e-9)
    assert ns == pytest.approx(L.kl_divergence(p_g, P_DATA, DX) - L.kl_divergence(p_g, m, DX)
                               + math.log(2), abs=1e-9)


@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (1.0, 1.0), (-1.0, 0.7), (2.0, 1.5)])
def test_optimal_generator_objective_is_fixed_d_objective_at_d_star(mean, std):
    # On a grid narrow enough that D* never rounds to exactly 0 or 1 where p_g > 0.
    x = np.linspace(-6, 6, 1201)
    dx = x[1] - x[0]
    p_data, p_g = Gaussian1D(0.0, 1.0).density(x), Gaussian1D(mean, std).density(x)
    d_star = L.optimal_discriminator(p_data, p_g)
    assert d_star.min() > 0 and d_star.max() < 1
    for kind in L.BCE_LOSSES:
        assert L.optimal_generator_objective(p_data, p_g, dx, kind) == pytest.approx(
            L.generator_objective_on_grid(d_star, p_g, dx, kind), abs=1e-9)


def test_optimal_generator_objective_minimum_at_p_data():
    assert L.optimal_generator_objective(P_DATA, P_DATA, DX, "saturating") == pytest.approx(-math.log(2))
    assert L.optimal_generator_objective(P_DATA, P_DATA, DX, "non_saturating") == pytest.approx(math.log(2))
    for mean, std in [(0.3, 1.0), (0.0, 1.3), (-1.0, 0.6)]:
        p_g = gaussian(mean, std)
        assert L.optimal_generator_objective(P_DATA, p_g, DX, "saturating") > -math.log(2)
        assert L.optimal_generator_objective(P_DATA, p_g, DX, "non_saturating") > math.log(2)


def test_optimal_generator_objective_far_apart_is_finite_and_right():
    # p_g far from p_data: D* rounds to exactly 0 or 1 on much of the grid.
    p_g = gaussian(8.0, 0.3)
    d_star = L.optimal_discriminator(P_DATA, p_g)
    assert np.any((d_star == 1.0) & (p_g > 0))  # the rounding this function avoids
    sat = L.optimal_generator_objective(P_DATA, p_g, DX, "saturating")
    assert sat == pytest.approx(0.0, abs=1e-6)  # KL(p_g || m) -> log 2 as the supports separate
    ns = L.optimal_generator_objective(P_DATA, p_g, DX, "non_saturating")
    assert math.isfinite(ns) and ns > 30  # grows like KL(p_g || p_data)
    # The fixed-D form clips D to [1e-12, 1 - 1e-12]: finite where D* rounded to 1 (same number),
    # but -log D is capped at -log 1e-12 where D* < 1e-12, so it underestimates here.
    assert L.generator_objective_on_grid(d_star, p_g, DX, "saturating") == pytest.approx(sat, abs=1e-9)
    capped = L.generator_objective_on_grid(d_star, p_g, DX, "non_saturating")
    assert capped <= -math.log(1e-12) + 1e-6 < ns


def test_optimal_generator_objective_infinite_off_support():
    p_data, p_g = np.array([1.0, 0.0]), np.array([0.5, 0.5])
    assert L.optimal_generator_objective(p_data, p_g, 1.0, "non_saturating") == math.inf
    assert math.isfinite(L.optimal_generator_objective(p_data, p_g, 1.0, "saturating"))


@pytest.mark.parametrize("fn,args", [
    (L.generator_objective_on_grid, (np.full(3, 0.5), np.ones(3), 1.0)),
    (L.optimal_generator_objective, (np.ones(3), np.ones(3), 1.0)),
])
def test_grid_objectives_refuse_an_unknown_kind_by_name(fn, args):
    with pytest.raises(ValueError, match="kind"):
        fn(*args, kind="wasserstein")


def test_frozen_d_slope_is_the_step_g_follows_not_the_moving_d_star_slope():
    """The frozen-D slope of the saturating loss is the slope of 2 JSD, the non-saturating one's that of
    KL(p_g || p_data) - 2 JSD (notebook 02's table); the slope of the objective against a moving D* differs."""
    from gan_edu.data import Gaussian1D

    x = np.linspace(-12, 20, 3201)
    dx = x[1] - x[0]
    p_data = Gaussian1D(4.0, 0.5).density(x)
    density = lambda mu: Gaussian1D(mu, 0.5).density(x)
    h, mu0 = 1e-4, 3.0
    diff = lambda f: (f(mu0 + h) - f(mu0 - h)) / (2 * h)
    jsd = lambda mu: L.jensen_shannon(p_data, density(mu), dx)
    kl = lambda mu: L.kl_divergence(density(mu), p_data, dx)
    sat, non_sat = (L.frozen_d_slope(p_data, density, mu0, dx, kind) for kind in ("saturating", "non_saturating"))
    assert sat == pytest.approx(diff(lambda mu: 2 * jsd(mu)), rel=1e-5) and sat == pytest.approx(-0.8992, abs=1e-4)
    assert non_sat == pytest.approx(diff(lambda mu: kl(mu) - 2 * jsd(mu)), rel=1e-5)
    moving = diff(lambda mu: L.optimal_generator_objective(p_data, density(mu), dx, "saturating"))
    assert abs(moving - sat) > 0.3  # what the figure used to plot: D* moving along with p_g


def test_frozen_d_slope_far_from_the_data_is_not_bent_by_a_clip():
    """At mu = 1, D* is below 1e-12 on much of p_g's mass: the slope must come from the exact logs
    (the non-saturating slope keeps growing, close to 4 (mu - 4) here), not from a clipped D."""
    from scipy.stats import norm

    from gan_edu.data import Gaussian1D

    x = np.linspace(-12, 20, 3201)
    dx = x[1] - x[0]
    p_data = Gaussian1D(4.0, 0.5).density(x)
    density = lambda mu: Gaussian1D(mu, 0.5).density(x)
    log_d = norm.logpdf(x, 4, 0.5) - np.logaddexp(norm.logpdf(x, 4, 0.5), norm.logpdf(x, 1.0, 0.5))
    h = 1e-4
    exact = -np.sum((density(1.0 + h) - density(1.0 - h)) / (2 * h) * log_d) * dx
    assert L.frozen_d_slope(p_data, density, 1.0, dx, "non_saturating") == pytest.approx(exact, rel=1e-6)
    assert exact == pytest.approx(-11.98, abs=0.01)


def test_frozen_d_slope_ignores_densities_that_underflow_to_zero():
    """p_g = N(4, 0.325²) underflows to exactly 0 at the grid's ends while p_g(s ± h) does not: the
    saturating slope must stay finite (it was -inf there, a gap in notebook 02's figure)."""
    from gan_edu.data import Gaussian1D

    x = np.linspace(-12, 20, 3201)
    dx = x[1] - x[0]
    p_data = Gaussian1D(4.0, 0.5).density(x)
    slopes = [L.frozen_d_slope(p_data, lambda s: Gaussian1D(4.0, s).density(x), s, dx, "saturating")
              for s in (0.3, 0.325, 0.35, 0.375, 0.4)]
    assert all(math.isfinite(v) for v in slopes)
    assert slopes[0] < slopes[1] < slopes[2] < slopes[3] < slopes[4] < 0  # smooth, rising towards 0

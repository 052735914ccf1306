import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gan_edu import losses as L

torch.manual_seed(0)
LOGITS_REAL = torch.randn(64, 1, dtype=torch.float64) * 3
LOGITS_FAKE = torch.randn(64, 1, dtype=torch.float64) * 3


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
    for kind in L.GENERATOR_LOSSES:
        x = big.clone().requires_grad_()
        L.generator_loss(x, kind).backward()
        assert torch.isfinite(x.grad).all()
    # non-saturating: D rejects the fake (logit -200) -> gradient still about -1/n, saturating -> ~0
    x = torch.tensor([[-200.0]], requires_grad=True)
    L.generator_loss(x, "non_saturating").backward()
    assert x.grad.item() == pytest.approx(-1.0)


def test_unknown_generator_loss_kind():
    with pytest.raises(ValueError, match="kind"):
        L.generator_loss(LOGITS_FAKE, "nonsaturating")


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


def test_kl_and_jsd_by_hand():
    # two discrete distributions on 2 cells of width 1
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    kl = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    assert L.kl_divergence(p, q, 1.0) == pytest.approx(kl)
    assert L.kl_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0]), 1.0) == math.inf
    assert L.jensen_shannon(np.array([1.0, 0.0]), np.array([0.0, 1.0]), 1.0) == pytest.approx(math.log(2))
    assert L.jensen_shannon(p, p, 1.0) == 0.0

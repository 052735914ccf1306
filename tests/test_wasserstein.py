"""gan_edu.wasserstein (notebook 09): W1's closed form against its two numerical estimates, the JSD beside
it, the slopes D* gives G, the critic's constraints (clipping, spectral normalisation, the penalty), and
bad input refused with a sentence."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from gan_edu import data, losses
from gan_edu import wasserstein as W
from gan_edu.exercises.common import one_thread
from gan_edu.experiments import critic as X



@pytest.fixture(autouse=True)
def _one_thread():
    """Small critics train several times faster on one thread than on two on a busy machine."""
    with one_thread():
        yield


NORMALS = [(4.0, 0.5, 0.0, 0.5), (0.0, 1.0, 0.0, 2.0), (1.0, 1.0, 0.0, 2.0), (4.0, 0.5, 2.5, 1.0),
           (-3.0, 0.3, 5.0, 2.0)]


@pytest.mark.parametrize("mean_p, std_p, mean_q, std_q", NORMALS)
def test_the_closed_form_matches_the_cdfs_on_a_grid(mean_p, std_p, mean_q, std_q):
    x = W.normal_grid([mean_p, mean_q], [std_p, std_q])
    dx = x[1] - x[0]
    cdfs = [W.cdf_on_grid(data.Gaussian1D(m, s).density(x), dx) for m, s in ((mean_p, std_p), (mean_q, std_q))]
    assert W.w1_from_cdfs(*cdfs, dx) == pytest.approx(W.w1_normal_1d(mean_p, std_p, mean_q, std_q), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("mean_p, std_p, mean_q, std_q", NORMALS)
def test_the_closed_form_matches_sorted_samples(mean_p, std_p, mean_q, std_q):
    x = data.Gaussian1D(mean_p, std_p, seed=1)(200_000)
    y = data.Gaussian1D(mean_q, std_q, seed=2)(200_000)
    assert W.w1_from_samples(x, y) == pytest.approx(W.w1_normal_1d(mean_p, std_p, mean_q, std_q), abs=0.02)


def test_equal_widths_give_the_distance_of_the_means_and_w1_is_symmetric():
    for d in (0.0, 0.3, 4.0, 8.0):
        assert W.w1_normal_1d(4.0, 0.5, 4.0 - d, 0.5) == pytest.approx(d)
    assert W.w1_normal_1d(1.0, 1.0, 0.0, 2.0) == pytest.approx(W.w1_normal_1d(0.0, 2.0, 1.0, 1.0))
    assert W.w1_normal_1d(0.0, 1.0, 0.0, 3.0) == pytest.approx(2 * math.sqrt(2 / math.pi))  # E|2Z|


def test_w1_from_samples_is_the_mean_distance_of_sorted_pairs():
    assert W.w1_from_samples([3.0, 1.0, 2.0], [[2.0], [4.0], [3.0]]) == pytest.approx(1.0)
    assert W.w1_from_samples(torch.tensor([0.0, 1.0]), np.array([1.0, 0.0])) == 0.0


def test_the_jsd_goes_flat_at_log_2_while_w1_keeps_its_slope():
    jsd = [W.jsd_normal_1d(4.0, 0.5, 4.0 - d, 0.5) for d in (0.0, 1.0, 6.0, 6.01)]
    assert jsd[0] == pytest.approx(0.0, abs=1e-9) and 0 < jsd[1] < math.log(2)
    assert math.log(2) - jsd[2] < 1e-7 and abs(jsd[3] - jsd[2]) / 0.01 < 1e-6
    assert W.jsd_normal_1d(4.0, 0.5, 3.0, 0.5) == pytest.approx(0.33683, abs=1e-4)  # notebook 01's table, N(3, 0.5²)
    assert (W.w1_normal_1d(4.0, 0.5, -2.01, 0.5) - W.w1_normal_1d(4.0, 0.5, -2.0, 0.5)) / 0.01 == pytest.approx(1.0)


def test_the_optimal_logit_is_the_log_density_ratio():
    x = torch.linspace(-2, 8, 11, dtype=torch.float64)
    ell = W.optimal_logit(x, 4.0, 0.5, 2.5, 1.0)
    p, q = data.Gaussian1D(4.0, 0.5).density(x.numpy()), data.Gaussian1D(2.5, 1.0).density(x.numpy())
    assert np.allclose(torch.sigmoid(ell).numpy(), losses.optimal_discriminator(p, q))


def test_d_star_slopes_are_the_chain_rule_for_equal_widths():
    # ℓ*(x) is linear for equal widths, with slope (μ_data - μ_g)/σ²; at G's mean D* ≈ 0 far away
    d, x = 4.0, torch.full((5, 1), 0.0, dtype=torch.float64)
    s = W.d_star_slopes(x, 4.0, 0.5, 4.0 - d, 0.5)
    ell = -d ** 2 / (2 * 0.25)
    sig = 1 / (1 + math.exp(-ell))
    assert s["d_star"] == pytest.approx(sig * (1 - sig) * d / 0.25)
    assert s["saturating"] == pytest.approx(-sig * d / 0.25)
    assert s["non_saturating"] == pytest.approx(-(1 - sig) * d / 0.25)


def test_input_gradients_give_each_sample_its_own_gradient():
    f = lambda x: (x ** 2).sum(1, keepdim=True)
    x = torch.tensor([[1.0, 2.0], [-3.0, 0.5]])
    assert torch.equal(W.input_gradients(f, x), 2 * x)


def test_clipping_puts_every_parameter_in_bounds_and_at_bounds_counts_them():
    net = nn.Linear(4, 3)
    with torch.no_grad():
        net.weight.fill_(0.5)
        net.bias.copy_(torch.tensor([0.0, 0.001, -0.2]))
    W.clip_weights(net, 0.01)
    values = torch.cat([p.flatten() for p in net.parameters()])
    assert values.abs().max() <= 0.01 and W.at_bounds(net, 0.01) == pytest.approx(13 / 15)


def test_layer_gradient_norms_start_with_the_critics_slope():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 5), nn.LeakyReLU(0.2), nn.Linear(5, 1))
    x = torch.randn(7, 2)
    norms = W.layer_gradient_norms(critic, x)
    assert len(norms) == 2 and norms[0] == pytest.approx(W.input_gradients(critic, x).norm(dim=1).mean().item())
    assert norms[1] == pytest.approx(critic[2].weight.norm().item(), rel=1e-6)  # ∂C/∂h at the last layer: its w
    assert not any(p.grad is not None for p in critic.parameters())


def test_a_spectrally_normalised_critic_reaches_w1_with_slope_one():
    real, fake = data.Gaussian1D(4.0, 0.5, seed=1), data.Gaussian1D(1.0, 0.5, seed=2)
    critic = W.train_critic(real, fake, 600, seed=3)
    x, y = real(4000), fake(4000)
    assert 2.8 < W.critic_estimate(critic, x, y) < 3.05
    assert W.input_gradients(critic, y).mean().item() == pytest.approx(1.0, abs=0.1)
    slopes = W.input_gradients(critic, torch.linspace(-5, 9, 50)[:, None])
    assert slopes.abs().max() <= 1.01  # 1-Lipschitz everywhere, not only at the samples


def test_train_critic_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    a = W.train_critic(data.ring(seed=0), X.Blurred(data.ring(seed=0)), 5, constraint="gradient_penalty", seed=4)
    assert torch.equal(torch.rand(3), expected)
    b = W.train_critic(data.ring(seed=0), X.Blurred(data.ring(seed=0)), 5, constraint="gradient_penalty", seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_a_clipped_critic_stays_in_bounds():
    critic = W.train_critic(data.ring(seed=0), X.Blurred(data.ring(seed=0)), 3, constraint="clip", c=0.01,
                            optimizer="rmsprop", lr=5e-5)
    assert max(p.abs().max().item() for p in critic.parameters()) <= 0.01


def test_distance_table_shows_the_jsd_flat_and_the_critic_pulling():
    rows = X.distance_table([1.0, 6.0], steps=600, seed=2)
    near, far = rows
    assert far["jsd"] == pytest.approx(math.log(2), abs=1e-7) and far["w1"] == 6.0
    assert far["d_star"] < 1e-10 and far["saturating"] < 1e-10 and far["non_saturating"] == pytest.approx(24, rel=1e-6)
    assert near["critic"] == pytest.approx(1, abs=0.1) and far["critic"] == pytest.approx(1, abs=0.15)


def test_the_clipping_study_vanishes_and_explodes():
    study = X.clipping_study(clips=(0.1, 0.001), steps=20, depth=6, hidden=64)
    assert study["c = 0.001"]["layers"][0] < 1e-12 < study["c = 0.001"]["layers"][-1]
    assert study["c = 0.001"]["at_bounds"] > 0.9 and study["penalty"]["at_bounds"] is None
    assert set(study) == {"c = 0.1", "c = 0.001", "penalty"}


# --------------------------------------------------------------------------- bad input, in a sentence
@pytest.mark.parametrize("call, words", [
    (lambda: W.w1_normal_1d(0, 0.0, 1, 1), "std_p must be a finite number > 0"),
    (lambda: W.w1_normal_1d(0, 1, float("nan"), 1), "mean_q must be a finite number"),
    (lambda: W.w1_from_cdfs([0, 0.5, 1], [0, 1], 0.1), "one 1D grid, so of one shape"),
    (lambda: W.w1_from_cdfs([0, 2.0, 5.0], [0, 0.5, 1.0], 0.1), "did you pass densities?"),
    (lambda: W.w1_from_cdfs([0, 0.5, 1], [0, 0.5, 1], 0.0), "dx must be a finite number > 0"),
    (lambda: W.cdf_on_grid([[0.1, 0.2]], 0.1), "one row of values >= 0"),
    (lambda: W.cdf_on_grid([0.1, -0.2], 0.1), "one row of values >= 0"),
    (lambda: W.w1_from_samples([1.0, 2.0], [1.0]), "1D samples of equal size"),
    (lambda: W.w1_from_samples(np.ones((3, 2)), np.ones((3, 2))), "1D samples of equal size"),
    (lambda: W.normal_grid([0, 1], [1, -1]), "stds must be positive"),
    (lambda: W.clip_weights(nn.Linear(2, 1), -0.1), "c must be a finite number > 0"),
    (lambda: W.layer_gradient_norms(nn.ReLU(), torch.ones(2, 2)), "must hold nn.Linear layers"),
    (lambda: W.train_critic(data.ring(), data.ring(), 2, constraint="lipschitz"), "unknown constraint='lipschitz'"),
    (lambda: W.train_critic(data.ring(), data.ring(), 2, optimizer="sgd"), "unknown optimizer='sgd'"),
    (lambda: W.train_critic(data.ring(), data.ring(), 0), "steps must be an integer >= 1"),
    (lambda: W.train_critic(data.ring(), 3, 2), "fake must be callable"),
    (lambda: W.input_gradients(3, torch.ones(2, 1)), "f must be callable"),
    (lambda: W.w1_from_samples("ab", [1.0]), "x must be a number or an array of numbers"),
])
def test_bad_input_is_refused_with_a_sentence(call, words):
    with pytest.raises((ValueError, TypeError), match=None) as err:
        call()
    assert words in str(err.value), str(err.value)

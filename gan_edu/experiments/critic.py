r"""Notebook 09's measurements of the critic, each training several critics for one table or figure
(the formulas are ``gan_edu.wasserstein``'s).

- ``distance_table(distances)``: notebook 01's Gaussians, p_data = N(4, 0.5²) and p_g = N(4 - d, 0.5²),
  at each distance d: the JSD, W1, a trained critic's estimate of W1 and its pull on G's samples, and
  the pulls that G's two BCE losses get from the optimal discriminator D*.
- ``clipping_study(clips)``: a deep critic on the ring of 8 Gaussians against fixed fakes (the data
  plus unit Gaussian noise, Gulrajani et al. 2017's setup), with WGAN's weight clipping at each c
  and with WGAN-GP's penalty: the share of weights at ±c, the gradient at each layer, the weights.
- ``plot_jsd_and_w1`` and ``plot_clipping``: their figures.

Every critic is seeded and trained on its own samplers: the global random state is left alone.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from .. import wasserstein as W
from ..checks import check_count, check_real, check_seed
from ..data import Gaussian1D, ring
from ..plots import legend_above

__all__ = ["DATA_MEAN", "DATA_STD", "distance_table", "Blurred", "CLIP_SETTINGS", "GP_SETTINGS", "clipping_study",
           "plot_jsd_and_w1", "plot_clipping"]

DATA_MEAN, DATA_STD = 4.0, 0.5  # notebook 01's p_data = N(4, 0.5²); p_g = N(4 - d, 0.5²)
# section 1's critic: at most 1-Lipschitz (spectral normalisation)
CRITIC_1D = dict(constraint="spectral_norm", hidden=64, depth=2, lr=1e-3)


def distance_table(distances, steps: int = 1000, seed: int = 0, n: int = 4000) -> list[dict]:
    r"""For each distance d: p_g = N(4 - d, 0.5²) against p_data = N(4, 0.5²). A row with ``jsd``
    (``jsd_normal_1d``), ``w1`` (= d), ``estimate`` (E C(x) - E C(G(z)) of a spectrally normalised critic
    trained ``steps`` steps, on ``n`` fresh samples of each) and the mean pulls on G's samples, the direction
    that G's loss moves them in (+: towards the data): ``critic`` (C'(x), G's loss -E C(G(z))), ``d_star``
    (dD*/dx), ``saturating`` (D* ℓ*', from E log(1 - D*)) and ``non_saturating`` ((1 - D*) ℓ*', from -E log D*)."""
    seed, rows = check_seed("seed", seed), []
    for d in distances:
        d = check_real("distance", d, 0.0, low_open=True)
        real, fake = Gaussian1D(DATA_MEAN, DATA_STD, seed=seed), Gaussian1D(DATA_MEAN - d, DATA_STD, seed=seed + 1)
        critic = W.train_critic(real, fake, steps, seed=seed, **CRITIC_1D)
        x, y = real(n), fake(n)
        slopes = W.d_star_slopes(y, DATA_MEAN, DATA_STD, DATA_MEAN - d, DATA_STD)
        rows.append(dict(d=d, jsd=W.jsd_normal_1d(DATA_MEAN, DATA_STD, DATA_MEAN - d, DATA_STD),
                         w1=W.w1_normal_1d(DATA_MEAN, DATA_STD, DATA_MEAN - d, DATA_STD),
                         estimate=W.critic_estimate(critic, x, y), critic=W.input_gradients(critic, y).mean().item(),
                         d_star=slopes["d_star"], saturating=-slopes["saturating"],
                         non_saturating=-slopes["non_saturating"]))
    return rows


class Blurred:
    """A sampler of ``sampler``'s samples plus N(0, ``std``² I) noise: Gulrajani et al.'s fixed "generator"
    (the real data plus unit-variance Gaussian noise). Seeded, with its own random generator."""

    def __init__(self, sampler, std: float = 1.0, seed: int = 0):
        self.sampler, self.std = sampler, check_real("std", std, 0.0, low_open=True)
        self.generator = torch.Generator().manual_seed(check_seed("seed", seed))

    def __call__(self, n: int) -> torch.Tensor:
        x = self.sampler(n)
        return x + self.std * torch.randn(x.shape, generator=self.generator)


# WGAN (Arjovsky et al. 2017): RMSprop at 5e-5; WGAN-GP (Gulrajani et al. 2017): Adam 1e-4, β = (0.5, 0.9), λ = 10
CLIP_SETTINGS = dict(constraint="clip", optimizer="rmsprop", lr=5e-5)
GP_SETTINGS = dict(constraint="gradient_penalty", gp_weight=10.0, optimizer="adam", lr=1e-4)


def _interpolates(real, fake, seed: int) -> torch.Tensor:
    """x̂ = ε x + (1 - ε) y, one ε ~ U[0, 1] per pair, from a seeded generator."""
    eps = torch.rand(real.shape[0], 1, generator=torch.Generator().manual_seed(seed))
    return eps * real + (1 - eps) * fake


def clipping_study(clips=(0.1, 0.01, 0.001), steps: int = 200, depth: int = 8, hidden: int = 128,
                   seed: int = 0, n: int = 1000) -> dict:
    r"""One critic (an MLP of ``depth`` hidden layers of ``hidden`` units, LeakyReLU) per clipping bound c
    (``CLIP_SETTINGS``) and one with the gradient penalty (``GP_SETTINGS``), each trained ``steps`` steps on
    the ring against ``Blurred(ring)``. Returns {name: dict(critic, at_bounds (share of parameters at ±c;
    None for the penalty), layers (``layer_gradient_norms`` at n interpolates x̂, input layer first),
    weights (every weight and bias, flat))}; names "c = 0.1", ..., and "penalty"."""
    steps, depth, hidden, seed = check_count("steps", steps), check_count("depth", depth), \
        check_count("hidden", hidden), check_seed("seed", seed)
    x_hat = _interpolates(ring(seed=seed + 1)(n), Blurred(ring(seed=seed + 2), seed=seed + 3)(n), seed)
    runs = {f"c = {c:g}": dict(CLIP_SETTINGS, c=check_real("c", c, 0.0, low_open=True)) for c in clips}
    runs["penalty"] = GP_SETTINGS
    out = {}
    for name, settings in runs.items():
        critic = W.train_critic(ring(seed=seed), Blurred(ring(seed=seed), seed=seed), steps, depth=depth,
                                hidden=hidden, seed=seed, **settings)
        out[name] = dict(critic=critic, layers=W.layer_gradient_norms(critic, x_hat),
                         at_bounds=W.at_bounds(critic, settings["c"]) if "c" in settings else None,
                         weights=torch.cat([p.detach().flatten() for p in critic.parameters()]).numpy())
    return out


def plot_jsd_and_w1(distances, jsd, w1, samples=None, ax=None):
    r"""JSD (left axis) and W1 (right axis) against the distance d between the two Gaussians; ``samples``,
    optional (d, W1 from sorted samples) pairs, as points."""
    ax = ax if ax is not None else plt.subplots(figsize=(8, 3.8))[1]
    ax.plot(distances, jsd, color="C0", label="JSD(p_data ‖ p_g)")
    ax.axhline(np.log(2), color="C0", ls=":", lw=1, label="log 2")
    ax.set(xlabel="distance d = |μ_data - μ_g|", ylabel="JSD (nats)", ylim=(0, 0.75))
    right = ax.twinx()
    right.plot(distances, w1, color="C3", label="W1, closed form |μ_data - μ_g|")
    if samples is not None:
        right.plot(*np.asarray(samples).T, "o", color="C3", ms=4, label="W1 from sorted samples")
    right.set(ylabel="W1", ylim=(0, 1.07 * max(w1)))
    ax.legend(*[sum(pair, []) for pair in zip(ax.get_legend_handles_labels(), right.get_legend_handles_labels())])
    ax.set_title("p_data = N(4, 0.5²), p_g = N(4 - d, 0.5²): the JSD goes flat, W1 does not")
    legend_above(ax, ncol=2)
    return ax


def plot_clipping(study: dict, c_hist: str = "c = 0.01"):
    r"""Left: each critic's ``layer_gradient_norms`` against the layer (log scale); right: histograms of the
    weights of the critic ``c_hist`` (top) and of the penalty's (bottom), each on its own scale."""
    fig = plt.figure(figsize=(13, 4.6))
    grid = fig.add_gridspec(2, 2, width_ratios=(1.25, 1), hspace=0.9)
    left = fig.add_subplot(grid[:, 0])
    for name, run in study.items():
        left.plot(range(1, len(run["layers"]) + 1), run["layers"], "o-", label=name)
    left.set(yscale="log", xlabel="layer l (1: the input x)", ylabel="mean ‖∂C/∂h_l‖",
             title="The critic's gradient at each layer's input")
    left.legend(fontsize=8)
    legend_above(left)
    for row, (name, colour) in enumerate(((c_hist, "C1"), ("penalty", "C3"))):
        ax = fig.add_subplot(grid[row, 1])
        ax.hist(study[name]["weights"], bins=60, color=colour)
        ax.set(yscale="log", xlabel="parameter value", ylabel="count", title=f"{name}: the critic's parameters")
        ax.locator_params(axis="x", nbins=5)
    fig.subplots_adjust(left=0.07, right=0.98, top=0.86, bottom=0.12, wspace=0.25)
    return fig

r"""The Wasserstein-1 distance and its critic (notebook 09), each formula one short function.

- W1 in one dimension: the closed form for two normals (``w1_normal_1d``), and two numerical
  estimates, from the CDFs on a grid (``cdf_on_grid``, ``w1_from_cdfs``) and from sorted samples
  (``w1_from_samples``); the JSD of two normals on a grid beside it (``jsd_normal_1d``).
- Slopes at G's samples: ``input_gradients`` (∇_x f for each sample), the optimal discriminator's
  logit for two normals (``optimal_logit``) and the slopes that G's losses get from it
  (``d_star_slopes``).
- The critic: a 1-Lipschitz function that WGAN trains in place of D. ``clip_weights`` (WGAN,
  Arjovsky et al. 2017) and ``at_bounds``; ``layer_gradient_norms`` (Gulrajani et al. 2017's view of
  clipping's trouble); ``train_critic`` (a critic alone against fixed fakes, with clipping or the
  gradient penalty, seeded and private) and ``critic_estimate``, E C(x) - E C(G(z)).

Kantorovich-Rubinstein duality: W1(p, q) = sup over 1-Lipschitz f of E_p f(x) - E_q f(x), so a
critic C kept about 1-Lipschitz that maximises E C(x) - E C(G(z)) estimates W1(p_data, p_g).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .checks import as_numbers, as_values, check_callable, check_choice, check_count, check_lr, check_real, check_seed
from .data import Gaussian1D
from .losses import gradient_penalty, jensen_shannon, wasserstein_critic_loss
from .nets import MLPDiscriminator
from .options import SpectralNorm

__all__ = ["w1_normal_1d", "cdf_on_grid", "w1_from_cdfs", "w1_from_samples", "jsd_normal_1d", "normal_grid",
           "input_gradients", "optimal_logit", "d_star_slopes", "clip_weights", "at_bounds", "layer_gradient_norms",
           "train_critic", "critic_estimate", "CONSTRAINTS", "OPTIMIZERS"]

OPTIMIZERS = ("adam", "rmsprop")  # WGAN-GP's Adam(β = (0.5, 0.9)); WGAN's RMSprop (no momentum)


def _normal(mean, std, what: str) -> tuple[float, float]:
    return check_real(f"mean_{what}", mean), check_real(f"std_{what}", std, 0.0, low_open=True)


def w1_normal_1d(mean_p: float, std_p: float, mean_q: float, std_q: float) -> float:
    r"""W1(N(μ_p, σ_p²), N(μ_q, σ_q²)) in closed form.

    In 1D the best coupling pairs equal quantiles: W1 = ∫₀¹ |F_p⁻¹(u) - F_q⁻¹(u)| du. For normals
    F⁻¹(u) = μ + σ Φ⁻¹(u), so W1 = E|a + b Z| with a = μ_p - μ_q, b = |σ_p - σ_q|, Z ~ N(0, 1):
    W1 = b √(2/π) exp(-a² / 2b²) + a (1 - 2 Φ(-a / b)), and W1 = |μ_p - μ_q| when σ_p = σ_q.
    """
    (mean_p, std_p), (mean_q, std_q) = _normal(mean_p, std_p, "p"), _normal(mean_q, std_q, "q")
    a, b = mean_p - mean_q, abs(std_p - std_q)
    if b == 0:
        return abs(a)
    phi = 0.5 * math.erfc(a / b / math.sqrt(2))  # Φ(-a / b)
    return b * math.sqrt(2 / math.pi) * math.exp(-a * a / (2 * b * b)) + a * (1 - 2 * phi)


def normal_grid(means, stds, points: int = 20_001) -> np.ndarray:
    r"""An evenly spaced grid that holds every N(μ, σ²) given: from min μ - 12 max σ to max μ + 12 max σ
    (outside, a normal's density is below e⁻⁷² of its peak)."""
    means, stds = as_numbers("means", means, finite=True), as_numbers("stds", stds, finite=True)
    if (stds <= 0).any():
        raise ValueError(f"stds must be positive, got {stds.tolist()}")
    points = check_count("points", points, 3)
    return np.linspace(means.min() - 12 * stds.max(), means.max() + 12 * stds.max(), points)


def cdf_on_grid(density, dx: float) -> np.ndarray:
    r"""F(x_k) = Σ_{j ≤ k} p(x_j) dx: the CDF of a density sampled on an evenly spaced grid
    (a Riemann sum; the grid must hold the whole distribution, so that F ends near 1)."""
    density, dx = as_numbers("density", density, finite=True), check_real("dx", dx, 0.0, low_open=True)
    if density.ndim != 1 or (density < 0).any():
        raise ValueError(f"density must be one row of values >= 0 (a density on a 1D grid), got shape "
                         f"{density.shape} with smallest value {density.min():g}")
    return np.cumsum(density) * dx


def w1_from_cdfs(cdf_p, cdf_q, dx: float) -> float:
    r"""W1(p, q) = ∫ |F_p(x) - F_q(x)| dx, a Riemann sum on the grid of the two CDFs (1D only)."""
    cdf_p, cdf_q = as_numbers("cdf_p", cdf_p, finite=True), as_numbers("cdf_q", cdf_q, finite=True)
    if cdf_p.shape != cdf_q.shape or cdf_p.ndim != 1:
        raise ValueError(f"cdf_p and cdf_q must be sampled on one 1D grid, so of one shape (n,); got "
                         f"{cdf_p.shape} and {cdf_q.shape}")
    if min(cdf_p.min(), cdf_q.min()) < 0 or max(cdf_p.max(), cdf_q.max()) > 1 + 1e-6:
        raise ValueError("cdf_p and cdf_q must be CDFs, with values in [0, 1]: did you pass densities?")
    return float(np.abs(cdf_p - cdf_q).sum() * check_real("dx", dx, 0.0, low_open=True))


def w1_from_samples(x, y) -> float:
    r"""W1 between two 1D samples of equal size n: (1/n) Σ_i |x_(i) - y_(i)|, the sorted samples paired
    in order (the empirical quantile functions' distance; it tends to W1(p, q) as n grows)."""
    x, y = as_numbers("x", x, finite=True), as_numbers("y", y, finite=True)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1D samples of equal size, shape (n,) or (n, 1); got {x.shape} and "
                         f"{y.shape}")
    return float(np.abs(np.sort(x) - np.sort(y)).mean())


def jsd_normal_1d(mean_p: float, std_p: float, mean_q: float, std_q: float, points: int = 20_001) -> float:
    r"""JSD(N(μ_p, σ_p²) ‖ N(μ_q, σ_q²)) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q) / 2, on a ``normal_grid``
    (no closed form; ``losses.jensen_shannon``). Between 0 and log 2."""
    (mean_p, std_p), (mean_q, std_q) = _normal(mean_p, std_p, "p"), _normal(mean_q, std_q, "q")
    x = normal_grid([mean_p, mean_q], [std_p, std_q], points)
    p, q = Gaussian1D(mean_p, std_p).density(x), Gaussian1D(mean_q, std_q).density(x)
    return jensen_shannon(p, q, x[1] - x[0])


def input_gradients(f, x) -> torch.Tensor:
    r"""∇_x f(x_i) for every sample x_i of the batch ``x`` (n, d): the gradient of Σ_i f(x_i), which is
    each sample's own gradient when each output depends on its own sample only. Detached, shape of x."""
    check_callable("f", f, "f(x) -> one output per sample")
    x = as_values("x", x).detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(f(x).sum(), x)
    return grad.detach()


def optimal_logit(x, mean_data: float, std_data: float, mean_g: float, std_g: float) -> torch.Tensor:
    r"""ℓ*(x) = log p_data(x) - log p_g(x) for two normals, the logit of D* = p_data / (p_data + p_g):
    D* = σ(ℓ*). Computed from the log-densities, so it stays finite where both densities underflow."""
    (mean_data, std_data), (mean_g, std_g) = _normal(mean_data, std_data, "data"), _normal(mean_g, std_g, "g")
    x = as_values("x", x)

    def log_density(mean, std):
        return -0.5 * ((x - mean) / std) ** 2 - math.log(std * math.sqrt(2 * math.pi))

    return log_density(mean_data, std_data) - log_density(mean_g, std_g)


def d_star_slopes(x, mean_data: float, std_data: float, mean_g: float, std_g: float) -> dict:
    r"""The mean over the 1D points ``x`` (G's samples) of three slopes, from D* = σ(ℓ*) (``optimal_logit``):

    - ``"d_star"``: dD*/dx = D* (1 - D*) ℓ*'(x), D*'s own slope;
    - ``"saturating"``: d/dx log(1 - D*(x)) = -D* ℓ*'(x), the x-gradient of G's minimax loss E log(1 - D(G(z)));
    - ``"non_saturating"``: d/dx [-log D*(x)] = -(1 - D*) ℓ*'(x), that of G's loss -E log D(G(z)).
    """
    x = as_values("x", x).double()
    ell = lambda x: optimal_logit(x, mean_data, std_data, mean_g, std_g)
    parts = {"d_star": lambda x: torch.sigmoid(ell(x)), "saturating": lambda x: F.logsigmoid(-ell(x)),
             "non_saturating": lambda x: -F.logsigmoid(ell(x))}
    return {name: input_gradients(f, x).mean().item() for name, f in parts.items()}


@torch.no_grad()
def clip_weights(net: nn.Module, c: float) -> nn.Module:
    r"""WGAN's constraint (Arjovsky et al. 2017): after each critic step, w ← clip(w, -c, c) for every
    parameter w of the critic (weights and biases). Returns ``net``."""
    c = check_real("c", c, 0.0, low_open=True)
    for p in net.parameters():
        p.clamp_(-c, c)
    return net


def at_bounds(net: nn.Module, c: float) -> float:
    r"""The fraction of ``net``'s parameters sitting at a clipping bound: |w| = c (to 1 part in 10⁶)."""
    c = check_real("c", c, 0.0, low_open=True)
    values = torch.cat([p.detach().flatten() for p in net.parameters()])
    return (values.abs() >= c * (1 - 1e-6)).float().mean().item()


def layer_gradient_norms(critic: nn.Module, x) -> list[float]:
    r"""The mean over the samples x_i of ‖∂C(x_i)/∂h_l‖ for the input h_l of each linear layer l of ``critic``,
    the first layer's input being x itself (so its entry is the critic's slope ‖∇_x C‖). Backpropagation
    multiplies this gradient by each layer's weights on the way down: Gulrajani et al. (2017) show it
    vanishing or exploding with depth when the weights are clipped."""
    layers = [m for m in critic.modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise ValueError("critic must hold nn.Linear layers (an MLP critic), found none")
    inputs = []
    hooks = [m.register_forward_pre_hook(lambda m, args: inputs.append(args[0])) for m in layers]
    try:
        with torch.enable_grad():
            x = as_values("x", x).detach().clone().requires_grad_(True)
            grads = torch.autograd.grad(critic(x).sum(), inputs)  # each sample's own gradient: C(x_i) uses x_i only
    finally:
        for h in hooks:
            h.remove()
    return [g.reshape(g.shape[0], -1).norm(dim=1).mean().item() for g in grads]


CONSTRAINTS = ("spectral_norm", "clip", "gradient_penalty")  # how train_critic keeps C about 1-Lipschitz


def _critic_setup(constraint, c, gp_weight, optimizer, lr) -> tuple:
    check_choice("constraint", constraint, CONSTRAINTS)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    return check_real("c", c, 0.0, low_open=True), check_real("gp_weight", gp_weight, 0.0), check_lr("lr", lr)


def train_critic(real, fake, steps: int, constraint: str = "spectral_norm", c: float = 0.01,
                 gp_weight: float = 10.0, hidden: int = 64, depth: int = 2, lr: float = 1e-3,
                 optimizer: str = "adam", batch_size: int = 256, seed: int = 0) -> MLPDiscriminator:
    r"""A critic C (``MLPDiscriminator``, its raw output) trained alone for ``steps`` steps to minimise
    E C(G(z)) - E C(x) (``losses.wasserstein_critic_loss``) on batches from the samplers ``real`` and
    ``fake`` (G fixed), kept about 1-Lipschitz by ``constraint``: ``"spectral_norm"`` (1-Lipschitz,
    ``options.SpectralNorm``: each layer's W / σ(W)), ``"clip"`` (WGAN: ``clip_weights(C, c)`` after each step) or
    ``"gradient_penalty"`` (WGAN-GP: ``gp_weight`` × E(‖∇C(x̂)‖ - 1)², ``losses.gradient_penalty``). Adam
    with β = (0.5, 0.9) (WGAN-GP's) or RMSprop (WGAN's). Seeded: the initial weights and the penalty's ε
    come from ``seed``; the global random state is left alone. Returned in eval mode."""
    check_callable("real", real, "real(n) -> a batch of real samples")
    check_callable("fake", fake, "fake(n) -> a batch of G's samples")
    c, gp_weight, lr = _critic_setup(constraint, c, gp_weight, optimizer, lr)
    steps, batch_size = check_count("steps", steps), check_count("batch_size", batch_size)
    seed = check_seed("seed", seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        critic = MLPDiscriminator(data_dim=real(1).shape[1], hidden=hidden, depth=depth)
    if constraint == "spectral_norm":
        SpectralNorm()(critic, seed=seed)
    eps_rng = torch.Generator().manual_seed(seed)
    opt = (torch.optim.Adam(critic.parameters(), lr=lr, betas=(0.5, 0.9)) if optimizer == "adam"
           else torch.optim.RMSprop(critic.parameters(), lr=lr))
    for _ in range(steps):
        x, y = real(batch_size), fake(batch_size)
        loss = wasserstein_critic_loss(critic(x), critic(y))
        if constraint == "gradient_penalty":
            loss = loss + gp_weight * gradient_penalty(critic, x, y, eps_rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if constraint == "clip":
            clip_weights(critic, c)
    return critic.eval()


@torch.no_grad()
def critic_estimate(critic: nn.Module, real, fake) -> float:
    r"""E C(x) - E C(G(z)) on the batches ``real`` and ``fake``: the critic's estimate of W1(p_data, p_g)
    (a lower bound on it when C is 1-Lipschitz; Kantorovich-Rubinstein duality)."""
    return (critic(as_values("real", real)).mean() - critic(as_values("fake", fake)).mean()).item()

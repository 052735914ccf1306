r"""The GAN objective and its rewriting as binary cross-entropy; LSGAN and Wasserstein losses.

Notation: ``D(x) = sigmoid(l(x))`` where ``l`` is the discriminator's *logit*. Functions named
``*_loss`` take logits (numerically stable log-sigmoid forms); ``value_function`` and ``bce``
take probabilities, as in the paper. The least-squares (LSGAN, Mao et al. 2017) and
Wasserstein (WGAN, Arjovsky et al. 2017) losses take D's *raw* output ``D(x)`` (there is no
sigmoid in them); ``gradient_penalty`` is WGAN-GP's (Gulrajani et al. 2017), ``r1_penalty`` the
zero-centred R1 penalty on real data (Mescheder et al. 2018). Functions on a grid take density
values sampled on an evenly spaced grid with spacing ``dx`` and return Python floats.

Inputs may be tensors, arrays or lists of numbers. A loss's real and fake batches are two sample
means, so they may differ in size; values paired point by point (BCE's probabilities and labels,
densities on one grid) must have one shape. Anything else is refused with an error naming it.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .checks import as_numbers, as_values, check_callable, check_real, is_number

__all__ = [
    "BCE_LOSSES",
    "lsgan_discriminator_loss", "lsgan_generator_loss", "wasserstein_critic_loss",
    "wasserstein_generator_loss", "gradient_penalty", "r1_penalty",
    "value_function", "bce", "discriminator_loss", "generator_loss",
    "optimal_discriminator", "value_function_on_grid", "virtual_training_criterion",
    "kl_divergence", "jensen_shannon",
    "generator_objective_on_grid", "frozen_d_slope", "optimal_generator_objective",
]

BCE_LOSSES = ("non_saturating", "saturating")  # the kinds whose D output is a logit of a probability


def value_function(d_real, d_fake) -> torch.Tensor:
    r"""V(D,G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))], estimated by sample means.

    ``d_real`` are D's probabilities on real data, ``d_fake`` on generated data.
    D maximises V, G minimises it (G only controls the second term).
    """
    d_real, d_fake = _probabilities("d_real", d_real), _probabilities("d_fake", d_fake)
    return torch.log(d_real).mean() + torch.log1p(-d_fake).mean()


def _probabilities(name: str, p) -> torch.Tensor:
    """``p`` as a floating tensor of probabilities in [0, 1] (a ValueError naming ``name`` otherwise:
    logits passed where probabilities belong, say)."""
    p = as_values(name, p)
    if not ((p >= 0) & (p <= 1)).all():  # NaN fails too
        raise ValueError(f"{name} must hold probabilities in [0, 1] (D's output after the sigmoid), got values "
                         f"from {p.min().item():g} to {p.max().item():g}; for logits use the *_loss functions")
    return p


def bce(p, y) -> torch.Tensor:
    r"""Binary cross-entropy, averaged: BCE(p, y) = -mean[y log p + (1 - y) log(1 - p)]."""
    p, y = _probabilities("p", p), _probabilities("y", y)
    if y.numel() != 1 and y.shape != p.shape:  # (n, 1) against (n,) would broadcast to n x n pairs
        raise ValueError(f"y must be one label or one per probability, of p's shape {tuple(p.shape)}; "
                         f"got shape {tuple(y.shape)}")
    y = y.to(p.dtype)
    return -(y * torch.log(p) + (1 - y) * torch.log1p(-p)).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0,
                       fake_label: float = 0.0) -> torch.Tensor:
    r"""D's loss: BCE(D(x), 1) + BCE(D(G(z)), 0) = -V(D,G).

    With logits: -log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) = softplus(l), so
    the loss is mean softplus(-l_real) + mean softplus(l_fake).

    Label smoothing: with targets y_r for real and y_f for fake data the loss is
    BCE(D(x), y_r) + BCE(D(G(z)), y_f), where BCE(sigmoid(l), y) = y softplus(-l) + (1 - y) softplus(l).
    One-sided smoothing uses y_r = 1 - s, y_f = 0; two-sided also y_f = s. With the default
    labels (1, 0) it is -V(D,G) exactly as above.
    """
    for name, y in (("real_label", real_label), ("fake_label", fake_label)):
        if not is_number(y) or not 0 <= y <= 1:
            raise ValueError(f"{name} must be a number in [0, 1], got {y!r}")
    real_logits, fake_logits = as_values("real_logits", real_logits), as_values("fake_logits", fake_logits)
    if real_label == 1 and fake_label == 0:
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    real = real_label * F.softplus(-real_logits) + (1 - real_label) * F.softplus(real_logits)
    fake = fake_label * F.softplus(-fake_logits) + (1 - fake_label) * F.softplus(fake_logits)
    return real.mean() + fake.mean()


def generator_loss(fake_logits: torch.Tensor, kind: str = "non_saturating") -> torch.Tensor:
    r"""G's loss on D's logits for generated data, the two BCE kinds (notebook 02).

    - ``"saturating"``: the minimax loss E_z[log(1 - D(G(z)))] = -BCE(D(G(z)), 0)
      = -mean softplus(l). Its gradient vanishes when D confidently rejects the fakes.
    - ``"non_saturating"``: E_z[-log D(G(z))] = BCE(D(G(z)), 1) = mean softplus(-l):
      train G with the *real* label. Same fixed point, much stronger gradient early on.
    """
    fake_logits = as_values("fake_logits", fake_logits)
    if kind == "non_saturating":
        return F.softplus(-fake_logits).mean()
    if kind == "saturating":
        return -F.softplus(fake_logits).mean()
    raise ValueError(f"unknown generator loss kind={kind!r}; choose one of {BCE_LOSSES} "
                     "(LSGAN's and WGAN's G losses: lsgan_generator_loss, wasserstein_generator_loss)")


def lsgan_discriminator_loss(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    r"""LSGAN's D loss (Mao et al. 2017, a=0, b=1): ½ E_x[(D(x) - 1)²] + ½ E_z[D(G(z))²].

    D regresses real data onto 1 and fakes onto 0 with squared errors, on its raw output.
    """
    real_out, fake_out = as_values("real_out", real_out), as_values("fake_out", fake_out)
    return 0.5 * (real_out - 1).pow(2).mean() + 0.5 * fake_out.pow(2).mean()


def lsgan_generator_loss(fake_out: torch.Tensor) -> torch.Tensor:
    r"""LSGAN's G loss (c=1): ½ E_z[(D(G(z)) - 1)²]. Unlike the saturating BCE loss its
    gradient grows, not vanishes, the further the fakes are from where D puts the real data."""
    fake_out = as_values("fake_out", fake_out)
    return 0.5 * (fake_out - 1).pow(2).mean()


def wasserstein_critic_loss(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    r"""WGAN's critic loss: E_z[D(G(z))] - E_x[D(x)].

    Minimising it maximises E_x[D(x)] - E_z[D(G(z))], which for a 1-Lipschitz D estimates the
    Wasserstein-1 distance W(p_data, p_g) (Kantorovich-Rubinstein duality). D is a *critic*: a
    score, not a probability. Keep it Lipschitz with ``gradient_penalty``.
    """
    real_out, fake_out = as_values("real_out", real_out), as_values("fake_out", fake_out)
    return fake_out.mean() - real_out.mean()


def wasserstein_generator_loss(fake_out: torch.Tensor) -> torch.Tensor:
    r"""WGAN's generator loss: -E_z[D(G(z))] (G raises the critic's score of its samples)."""
    fake_out = as_values("fake_out", fake_out)
    return -fake_out.mean()


def gradient_penalty(discriminator, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    r"""WGAN-GP's penalty (Gulrajani et al. 2017): E_x̂[(||∇_x̂ D(x̂)||₂ - 1)²].

    x̂ = ε x + (1 - ε) G(z) with ε ~ U[0, 1], one per pair, on the segments between real and
    fake samples. Differentiable in D's parameters (``create_graph=True``): add
    ``weight * gradient_penalty(...)`` to D's loss (weight 10 in the paper). ``generator`` is an
    optional ``torch.Generator`` for ε.
    """
    check_callable("discriminator", discriminator, "discriminator(x) -> D's output")
    real, fake = as_values("real", real), as_values("fake", fake)
    if real.shape != fake.shape or real.ndim == 0:  # pairs (x, G(z)): one batch shape (n, ...)
        raise ValueError(f"real and fake must have the same shape (n, ...), got {tuple(real.shape)} and "
                         f"{tuple(fake.shape)}")
    real, fake = real.detach(), fake.detach()
    eps = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), generator=generator,
                     device=real.device, dtype=real.dtype)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = discriminator(x_hat)
    (grad,) = torch.autograd.grad(out.float().sum(), x_hat, create_graph=True)
    norm = grad.float().reshape(grad.shape[0], -1).norm(2, dim=1)
    return (norm - 1).pow(2).mean()


def r1_penalty(real_out: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    r"""The R1 penalty (Mescheder et al. 2018): E_x[||∇_x D(x)||²] on *real* data, zero-centred.

    ``real_out = D(real)`` must have been computed from a ``real`` that requires grad. Add
    ``(γ / 2) * r1_penalty(...)`` to D's loss: D is pushed to be flat where the data are, so at
    the equilibrium (p_g = p_data, D = 1/2 everywhere) nothing pushes G off it. On the Dirac-GAN it is
    the (γ/2) ψ² that makes the circling converge (``gan_edu.experiments.dirac``). Differentiable in D's
    parameters (``create_graph=True``).
    """
    real_out, real = as_values("real_out", real_out), as_values("real", real)
    if not (real.requires_grad and real_out.requires_grad):
        raise ValueError("r1_penalty needs real.requires_grad_(True) before real_out = D(real)")
    (grad,) = torch.autograd.grad(real_out.float().sum(), real, create_graph=True)
    return grad.float().reshape(grad.shape[0], -1).pow(2).sum(1).mean()


def optimal_discriminator(p_data, p_g) -> np.ndarray:
    r"""D*(x) = p_data(x) / (p_data(x) + p_g(x)): the D that maximises V for a fixed G.

    Where both densities are zero D* is undefined; we return 1/2 there.
    """
    p_data, p_g = _on_one_grid(p_data=p_data, p_g=p_g)
    total = p_data + p_g
    return np.divide(p_data, total, out=np.full_like(total, 0.5), where=total > 0)


def _on_one_grid(**values) -> list[np.ndarray]:
    """The values (densities, D's probabilities) as float arrays sampled on one grid: of one shape."""
    arrays = [as_numbers(name, v) for name, v in values.items()]
    if len({a.shape for a in arrays}) > 1:
        shapes = ", ".join(f"{name} {a.shape}" for name, a in zip(values, arrays))
        names = ", ".join(list(values)[:-1]) + " and " + list(values)[-1]
        raise ValueError(f"{names} must be sampled on one grid, so of one shape; got {shapes}")
    return arrays


def _dx(dx) -> float:
    """The grid's spacing (its cell's area in 2D): a positive finite number."""
    return check_real("dx", dx, 0.0, low_open=True)


def _xlogy(x, y):
    """x log y with 0 log 0 = 0 (the convention for entropies)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    out = np.zeros(np.broadcast(x, y).shape)
    mask = np.broadcast_to(x > 0, out.shape)
    with np.errstate(divide="ignore"):
        np.multiply(x, np.log(y), out=out, where=mask)
    return out


def value_function_on_grid(d, p_data, p_g, dx: float) -> float:
    r"""V(D,G) = ∫ p_data(x) log D(x) + p_g(x) log(1 - D(x)) dx, by a Riemann sum on a grid.

    D is clipped to [1e-12, 1 - 1e-12]: where p_data dwarfs p_g, D* = p_data/(p_data+p_g) rounds
    to exactly 1 in floating point and log(1 - D) would be -inf instead of a negligible term.
    """
    d, p_data, p_g = _on_one_grid(d=d, p_data=p_data, p_g=p_g)
    d, dx = np.clip(d, 1e-12, 1 - 1e-12), _dx(dx)
    return float(np.sum(_xlogy(p_data, d) + _xlogy(p_g, 1 - d)) * dx)


def virtual_training_criterion(p_data, p_g, dx: float) -> float:
    r"""C(G) = max_D V(D,G) = V(D*, G). Goodfellow et al. show C(G) = -log 4 + 2 JSD(p_data || p_g)."""
    (p_data, p_g), dx = _on_one_grid(p_data=p_data, p_g=p_g), _dx(dx)
    total = p_data + p_g  # log D* = log(p_data / total), log(1 - D*) = log(p_g / total), without rounding
    return float(np.sum(_xlogy(p_data, p_data / np.where(total > 0, total, 1))
                        + _xlogy(p_g, p_g / np.where(total > 0, total, 1))) * dx)


def kl_divergence(p, q, dx: float) -> float:
    r"""KL(p || q) = ∫ p(x) log(p(x) / q(x)) dx (infinite where q = 0 < p)."""
    (p, q), dx = _on_one_grid(p=p, q=q), _dx(dx)
    if np.any((q <= 0) & (p > 0)):
        return math.inf
    return float(np.sum(_xlogy(p, p) - _xlogy(p, q)) * dx)


def jensen_shannon(p, q, dx: float) -> float:
    r"""JSD(p || q) = ½ KL(p || m) + ½ KL(q || m) with m = (p + q) / 2; between 0 and log 2."""
    p, q = _on_one_grid(p=p, q=q)
    m = (p + q) / 2
    return 0.5 * kl_divergence(p, m, dx) + 0.5 * kl_divergence(q, m, dx)


def _check_generator_kind(kind: str) -> str:
    if kind not in BCE_LOSSES:
        raise ValueError(f"unknown generator loss kind={kind!r}; choose one of {BCE_LOSSES}")
    return kind


def generator_objective_on_grid(d, p_g, dx: float, kind: str = "non_saturating") -> float:
    r"""G's objective for a fixed D, on a grid (the density form of ``generator_loss``).

    - ``"saturating"``: E_{x~p_g}[log(1 - D(x))] = ∫ p_g(x) log(1 - D(x)) dx (the minimax term).
    - ``"non_saturating"``: E_{x~p_g}[-log D(x)] = -∫ p_g(x) log D(x) dx.

    ``d`` holds D's probabilities on the grid, clipped to [1e-12, 1 - 1e-12] as in
    ``value_function_on_grid``. For D = D* prefer ``optimal_generator_objective``, which
    computes log D* and log(1 - D*) from the densities without rounding or clipping.
    """
    _check_generator_kind(kind)
    d, p_g = _on_one_grid(d=d, p_g=p_g)
    d, dx = np.clip(d, 1e-12, 1 - 1e-12), _dx(dx)  # as in value_function_on_grid
    if kind == "saturating":
        return float(np.sum(_xlogy(p_g, 1 - d)) * dx)
    return float(-np.sum(_xlogy(p_g, d)) * dx)


def frozen_d_slope(p_data, density, theta: float, dx: float, kind: str = "non_saturating",
                   h: float = 1e-4) -> float:
    r"""d/dθ of G's objective with D frozen at D* = p_data / (p_data + p_g), p_g = ``density(θ)``:
    the slope one gradient step of G follows (during G's step D does not move). A central
    difference with step ``h`` of the objective with D fixed at D*_θ,

        [L(p_g(θ + h); D*_θ) - L(p_g(θ - h); D*_θ)] / 2h,   L(p; D) = ∫ p log(1 - D) or -∫ p log D,

    with log D* = log p_data - log(p_data + p_g) and log(1 - D*) = log p_g - log(p_data + p_g)
    taken from the densities (no clipping: far from the data D* is below any clip, and a clipped
    log would bend the slope). ``density(θ)`` gives p_g on the grid of ``p_data``. Not the slope of
    ``optimal_generator_objective``, whose D* moves along with p_g.
    """
    _check_generator_kind(kind)
    (p_data, p_g), dx = _on_one_grid(p_data=p_data, p_g=density(theta)), _dx(dx)
    change = (np.asarray(density(theta + h), dtype=float) - np.asarray(density(theta - h), dtype=float)) / (2 * h)
    with np.errstate(divide="ignore"):
        log_total = np.log(p_data + p_g)
        log_d = np.log(p_g) - log_total if kind == "saturating" else -(np.log(p_data) - log_total)
    # where p_g does not change, D's log does not count (it may be -inf there); nor where a density
    # underflowed to 0 (log -inf) while p_g moves by less than 1e-250: a real infinity stays
    moved = (change != 0) & (np.isfinite(log_d) | (np.abs(change) > 1e-250))
    return float(np.sum(change[moved] * log_d[moved]) * dx)


def optimal_generator_objective(p_data, p_g, dx: float, kind: str = "non_saturating") -> float:
    r"""G's objective against the optimal discriminator D* = p_data / (p_data + p_g).

    With m = (p_data + p_g) / 2, so that D* = p_data / 2m and 1 - D* = p_g / 2m:

    - ``"saturating"``: E_{p_g}[log(1 - D*)] = ∫ p_g log(p_g / (p_data + p_g)) dx = KL(p_g || m) - log 2.
    - ``"non_saturating"``: E_{p_g}[-log D*] = -∫ p_g log(p_data / (p_data + p_g)) dx
      = KL(p_g || p_data) - KL(p_g || m) + log 2 (infinite where p_data = 0 < p_g).

    Both are smallest exactly when p_g = p_data (values -log 2 and log 2).
    """
    _check_generator_kind(kind)
    (p_data, p_g), dx = _on_one_grid(p_data=p_data, p_g=p_g), _dx(dx)
    total = p_data + p_g
    if kind == "saturating":
        return float(np.sum(_xlogy(p_g, p_g) - _xlogy(p_g, total)) * dx)
    if np.any((p_data <= 0) & (p_g > 0)):
        return math.inf
    return float(np.sum(_xlogy(p_g, total) - _xlogy(p_g, p_data)) * dx)

r"""Failures made to happen: notebook 06's vanishing-gradient experiment, and notebook 03's slips in
a hand-written round.

Notebook 06: a discriminator made strong on purpose, and the size of the gradient that reaches G
through it.

- ``generator_grad_norm(gan, kind)``: ‖∇_{θ_G} L_G‖, the Euclidean norm over all of G's weights
  of the gradient of G's loss ``kind`` (``losses.generator_loss``). For the saturating loss
  E log(1 - D(G(z))) the derivative with respect to D's logit l is -σ(l), which vanishes when D
  rejects the fakes (l ≪ 0); the non-saturating loss -E log D(G(z)) has -(1 - σ(l)) ≈ -1 there
  (notebook 02, section 4).
- ``strong_discriminator(sampler, kind)``: a fresh GAN whose D is trained alone against the
  untrained, fixed G, with the trace of D(G(z)) and of both gradient norms as D gets stronger.

Notebook 03: a round written by hand, ``round_fn(G, D, opt_d, opt_g, real, noise) -> (loss_d, loss_g)``,
trained and recorded.

- ``d_step_attached``: ``algorithm.d_step`` with G left *in* the graph (no ``torch.no_grad()``), so
  D's loss runs on through G and fills G's ``.grad``.
- ``algorithm_round``: Algorithm 1's round (``algorithm.alternating_round``) as such a function.
- ``train_rounds(G, D, round_fn, data, rounds, ...)``: Adam for both players, private noise; the
  history of each round (D's loss, mean D(G(z)), the norm of G's gradient, the mean of G(z)).
"""
from __future__ import annotations

import numpy as np
import torch

from ..algorithm import PLAIN, alternating_round, d_step
from ..losses import discriminator_loss, generator_loss
from ..nets import MLPDiscriminator, MLPGenerator
from ..train import GAN

__all__ = ["generator_grad_norm", "strong_discriminator", "d_step_attached", "algorithm_round", "train_rounds"]


def generator_grad_norm(gan: GAN, kind: str = "non_saturating", n: int = 1024) -> float:
    r"""‖∇_{θ_G} L_G‖ for G's loss ``kind`` on ``n`` fresh noise draws, through D as it is now:
    sqrt(Σ_w (∂L_G/∂w)²) over G's weights w. Leaves G's and D's ``.grad`` cleared."""
    gan.G.zero_grad(set_to_none=True)
    generator_loss(gan.d_output(gan.G(gan.noise(n))), kind).backward()
    norm = torch.sqrt(sum((p.grad ** 2).sum() for p in gan.G.parameters())).item()
    gan.G.zero_grad(set_to_none=True)
    gan.D.zero_grad(set_to_none=True)
    return norm


def strong_discriminator(sampler, kind: str = "non_saturating", d_steps: int = 600, seed: int = 0,
                         every: int = 10, hidden: int = 64, lr: float = 1e-3):
    r"""A fresh GAN (MLP G and D ``hidden`` wide, Adam at ``lr``, G's loss ``kind``, seeded
    ``seed``; the global RNG is left alone) whose D took ``d_steps`` steps alone (``algorithm.d_step``
    on its nets, batches of 256 from ``sampler``: updates, not rounds, so its history starts empty)
    against the untrained, fixed G. Returns ``(gan, trace)``: every ``every`` D steps a row (D steps so far,
    mean D(G(z)) on 1,024 samples, ‖∇_{θ_G} L_G‖ of the saturating loss, of the non-saturating one)."""
    dim = sampler.data_shape[0] if hasattr(sampler, "data_shape") else sampler(1).shape[1]
    with torch.random.fork_rng(devices=[]):  # the nets' initial weights, without touching the global RNG
        torch.manual_seed(seed)
        G, D = MLPGenerator(2, dim, hidden=hidden), MLPDiscriminator(dim, hidden=hidden)
    gan = GAN(G, D, lr_d=lr, lr_g=lr, loss=kind, device="cpu", seed=seed)
    trace = []
    for step in range(d_steps + 1):
        if step % every == 0 or step == d_steps:
            d_fake = gan.discriminate(gan.sample(1024)).mean().item()
            trace.append((step, d_fake, generator_grad_norm(gan, "saturating"),
                          generator_grad_norm(gan, "non_saturating")))
        if step < d_steps:
            d_step(*gan.players, gan.opt_d, sampler(256), gan.noise, gan.rules)  # Algorithm 1's D step alone
    return gan, np.array(trace)


# --------------------------------------------------------------------------- notebook 03: a round by hand
def d_step_attached(G, D, opt_d, real, noise):
    """``algorithm.d_step`` with one line changed: the fakes are made *with* G's graph (no
    ``torch.no_grad()``, no ``detach()``), so the backward pass of D's loss runs on through G and
    fills G's ``.grad``. D's update is the same. Returns D's loss, detached."""
    fake = G(noise(real.shape[0]))             # the change: G stays in the graph
    loss = discriminator_loss(D(real), D(fake))
    opt_d.zero_grad(set_to_none=True)
    loss.backward()                            # into D, and on through G
    opt_d.step()
    return loss.detach()


def algorithm_round(G, D, opt_d, opt_g, real, noise, rules=PLAIN):
    """Algorithm 1's round, ``algorithm.alternating_round`` on the batch ``real``, with the arguments
    of a hand-written round; returns (D's loss, G's loss)."""
    return alternating_round(G, D, opt_d, opt_g, lambda: real, real.shape[0], noise, rules=rules)[:2]


def _grad_norm(net) -> float:
    grads = [p.grad.flatten() for p in net.parameters() if p.grad is not None]
    return torch.cat(grads).norm().item() if grads else float("nan")


def train_rounds(G, D, round_fn, data, rounds: int, lr_d: float, lr_g: float, betas=(0.5, 0.999),
                 batch: int = 256, seed: int = 0, z_view=None) -> dict:
    """``rounds`` rounds of ``round_fn(G, D, opt_d, opt_g, real, noise)`` on batches ``data(batch)``,
    with Adam for each player and ``noise(n)`` drawing N(0, I) from a private generator seeded
    ``seed`` (the global RNG is left alone). Returns the history of every round: ``loss_d`` and
    ``loss_g`` (what the round returned), ``d_fake`` and ``g_mean`` (mean D(G(z)) and mean G(z) on
    1,024 fixed draws of z, after the round), ``grad_g`` (the norm of G's ``.grad`` the round left);
    and ``samples``, G(z_view) at the end when ``z_view`` is given."""
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=betas)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=betas)
    rng = torch.Generator().manual_seed(seed)
    noise = lambda n: torch.randn(n, G.noise_dim, generator=rng)  # noqa: E731
    z_eval = torch.randn(1024, G.noise_dim, generator=torch.Generator().manual_seed(seed + 1))
    history = {key: [] for key in ("loss_d", "loss_g", "d_fake", "g_mean", "grad_g")}
    for _ in range(rounds):
        loss_d, loss_g = round_fn(G, D, opt_d, opt_g, data(batch), noise)
        with torch.no_grad():
            fake = G(z_eval)
            d_fake = torch.sigmoid(D(fake)).mean().item()
        for key, value in zip(history, (float(loss_d), float(loss_g), d_fake, fake.mean().item(), _grad_norm(G))):
            history[key].append(value)
    if z_view is not None:
        with torch.no_grad():
            history["samples"] = G(z_view)
    return history

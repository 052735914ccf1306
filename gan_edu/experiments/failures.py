r"""Notebook 06's vanishing-gradient experiment, as two short functions: a discriminator made
strong on purpose, and the size of the gradient that reaches G through it.

- ``generator_grad_norm(gan, kind)``: ‖∇_{θ_G} L_G‖, the Euclidean norm over all of G's weights
  of the gradient of G's loss ``kind`` (``losses.generator_loss``). For the saturating loss
  E log(1 - D(G(z))) the derivative with respect to D's logit l is -σ(l), which vanishes when D
  rejects the fakes (l ≪ 0); the non-saturating loss -E log D(G(z)) has -(1 - σ(l)) ≈ -1 there
  (notebook 02, section 4).
- ``strong_discriminator(sampler, kind)``: a fresh GAN whose D is trained alone against the
  untrained, fixed G, with the trace of D(G(z)) and of both gradient norms as D gets stronger.
"""
from __future__ import annotations

import numpy as np
import torch

from ..algorithm import d_step
from ..losses import generator_loss
from ..nets import MLPDiscriminator, MLPGenerator
from ..train import GAN

__all__ = ["generator_grad_norm", "strong_discriminator"]


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

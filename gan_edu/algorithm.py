"""Algorithm 1 of Goodfellow et al. (2014), as plain functions: read this file first.

One *round* of training (notebook 03):

- **Step 0, labels.** Real data gets ``REAL_LABEL`` (1), generated data ``FAKE_LABEL`` (0).
- **Step 1, the D step** (``d_step``, ``d_steps`` times). Draw a real batch x and make fakes
  G(z) with G kept out of backpropagation (``torch.no_grad()``). One backward pass of
  BCE(D(x), 1) + BCE(D(G(z)), 0) = -V(D, G), into D only, and one update of D.
- **Step 2, the G step** (``g_step``, ``g_steps`` times). Fresh fakes through the D just
  updated, one backward pass of BCE(D(G(z)), 1) into G, and one update of G: the fakes get the
  *real* label (the non-saturating loss, -log D(G(z))).

That is the *alternating* round (``alternating_round``). The *simultaneous* round
(``simultaneous_round``) takes both gradients at the same point, from one batch of fakes
through the same D, before either player moves (gradient descent-ascent on V(D, G)).

The functions take plain nets, optimizers and a ``noise(n)`` function, so a hand-written loop
can be checked equal to them (notebook 03 does). What a GAN adds to this procedure comes in as
``Rules``: small objects the steps call, each a no-op here (``gan_edu.options`` has the others):
the ``objective`` (the losses and their labels), ``pack`` (PacGAN: D judges packs of samples),
``penalty`` (added to D's loss: WGAN-GP, R1) and ``check_d`` / ``check_g`` (the NaN guard,
called after the backward pass and before the optimizer steps).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .losses import discriminator_loss, generator_loss

__all__ = ["REAL_LABEL", "FAKE_LABEL", "NOISES", "noise_prior", "BCE", "Rules", "PLAIN", "frozen", "d_step", "g_step",
           "simultaneous_step", "alternating_round", "simultaneous_round"]

REAL_LABEL = 1.0  # Step 0: D's target for real data ...
FAKE_LABEL = 0.0  # ... and for generated data
NOISES = ("normal", "uniform")  # the noise prior p(z)


def noise_prior(n: int, dim: int, kind: str = "normal", generator: torch.Generator | None = None,
                device=None) -> torch.Tensor:
    """z ~ p(z): ``n`` draws of size ``dim`` from N(0, I) (``"normal"``) or U[-1, 1] (``"uniform"``)."""
    if kind == "normal":
        return torch.randn(n, dim, generator=generator, device=device)
    return torch.rand(n, dim, generator=generator, device=device) * 2 - 1


class BCE:
    """The losses as binary cross-entropy with Step 0's labels (notebook 02).

    D's loss: BCE(D(x), real_label) + BCE(D(G(z)), fake_label), on logits (``losses.discriminator_loss``).
    G's loss (``kind``): ``"non_saturating"`` BCE(D(G(z)), REAL_LABEL) = E[-log D(G(z))], G trained
    with the real label; ``"saturating"`` -BCE(D(G(z)), FAKE_LABEL) = E[log(1 - D(G(z)))], the minimax loss.
    """
    probabilities = True  # D's output is a logit l, D(x) = sigmoid(l)

    def __init__(self, kind: str = "non_saturating", real_label: float = REAL_LABEL, fake_label: float = FAKE_LABEL):
        self.kind, self.real_label, self.fake_label = kind, real_label, fake_label

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return discriminator_loss(real_logits.float(), fake_logits.float(), self.real_label, self.fake_label)

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return generator_loss(fake_logits.float(), self.kind)

    def outputs(self, logits: torch.Tensor) -> torch.Tensor:
        """D's output as the history records it: the probability sigmoid(l)."""
        return torch.sigmoid(logits.float())


def _same(x):
    return x


def _no_penalty(loss, real, fake, real_logits):
    return loss


def _no_check(loss, net):
    return None


@dataclass
class Rules:
    """The options a round calls; the defaults are Algorithm 1 as printed."""
    objective: object = BCE()
    pack: Callable = _same               # D's input from a batch: PacGAN packs samples
    penalty: Callable = _no_penalty      # penalty(loss, real, fake, real_logits) -> D's loss with it
    check_d: Callable = _no_check        # check(loss, net) before D's optimizer steps
    check_g: Callable = _no_check        # ... and before G's


PLAIN = Rules()


@contextlib.contextmanager
def frozen(net: nn.Module):
    """Temporarily stop gradients into ``net``'s weights (they still flow through it)."""
    params = list(net.parameters())
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, f in zip(params, flags):
            p.requires_grad_(f)


def d_step(G, D, opt_d, real, noise, rules=PLAIN):
    """Step 1: one update of D on a real batch (label 1) and fakes (label 0); G gets no gradient.
    Returns D's loss and its logits on the real and the fake batch, detached."""
    with torch.no_grad():                      # keep G out of backpropagation: D's loss must not reach G
        fake = G(noise(real.shape[0]))
    real, fake = rules.pack(real), rules.pack(fake)
    real_logits, fake_logits = D(real), D(fake)
    loss = rules.objective.d_loss(real_logits, fake_logits)   # BCE(D(x), REAL_LABEL) + BCE(D(G(z)), FAKE_LABEL)
    loss = rules.penalty(loss, real, fake, real_logits)
    opt_d.zero_grad(set_to_none=True)
    loss.backward()                            # into D only: the fakes carry no graph back to G
    rules.check_d(loss, D)
    opt_d.step()
    return loss.detach(), real_logits.detach(), fake_logits.detach()


def g_step(G, D, opt_g, batch_size, noise, rules=PLAIN):
    """Step 2: one update of G through D on fresh fakes, with the *real* label. Returns G's loss."""
    with frozen(D):                            # gradients flow through D into G; D's weights get none
        fake_logits = D(rules.pack(G(noise(batch_size))))
    loss = rules.objective.g_loss(fake_logits)   # non-saturating: BCE(D(G(z)), REAL_LABEL)
    opt_g.zero_grad(set_to_none=True)
    loss.backward()
    rules.check_g(loss, G)
    opt_g.step()
    return loss.detach()


def alternating_round(G, D, opt_d, opt_g, real_batch, batch_size, noise, d_steps=1, g_steps=1, rules=PLAIN):
    """``d_steps`` D steps, each on a fresh ``real_batch()``, then ``g_steps`` G steps: each G step
    sees the D just updated. Returns (D's loss, G's loss, D's real logits, D's fake logits) of the
    last steps, None for what the round did not compute."""
    loss_d = loss_g = real_logits = fake_logits = None
    for _ in range(d_steps):
        loss_d, real_logits, fake_logits = d_step(G, D, opt_d, real_batch(), noise, rules)
    for _ in range(g_steps):
        loss_g = g_step(G, D, opt_g, batch_size, noise, rules)
    return loss_d, loss_g, real_logits, fake_logits


def _set_grads(net, loss, retain: bool = False) -> None:
    """``net``'s .grad := the gradient of ``loss`` with respect to its weights only."""
    params = list(net.parameters())
    grads = torch.autograd.grad(loss, params, retain_graph=retain, allow_unused=True)
    for p, g in zip(params, grads):
        p.grad = g


def simultaneous_step(G, D, opt_d, opt_g, real, noise, rules=PLAIN):
    """Both players from the same point: one batch of fakes through the same, not yet updated D
    gives D's gradient (w.r.t. D's weights only) and G's (w.r.t. G's only); then both step:
    (θ_D, θ_G) ← (θ_D - η_D ∇_D L_D, θ_G - η_G ∇_G L_G). Returns as ``alternating_round``."""
    fake = rules.pack(G(noise(real.shape[0])))   # with G's graph: G's gradient comes through it
    real = rules.pack(real)
    fake_logits, real_logits = D(fake), D(real)
    loss_d = rules.penalty(rules.objective.d_loss(real_logits, fake_logits), real, fake, real_logits)
    loss_g = rules.objective.g_loss(fake_logits)
    _set_grads(D, loss_d, retain=True)
    _set_grads(G, loss_g)
    rules.check_d(loss_d, D)                   # both checked before either optimizer steps
    rules.check_g(loss_g, G)
    opt_d.step()
    opt_g.step()
    return loss_d.detach(), loss_g.detach(), real_logits.detach(), fake_logits.detach()


def simultaneous_round(G, D, opt_d, opt_g, real_batch, batch_size, noise, d_steps=1, g_steps=1, rules=PLAIN):
    """max(d_steps, g_steps) steps: simultaneous while both players take part, then the D or G
    steps left over alone. Returns as ``alternating_round``."""
    loss_d = loss_g = real_logits = fake_logits = None
    for i in range(max(d_steps, g_steps)):
        if i < d_steps and i < g_steps:
            loss_d, loss_g, real_logits, fake_logits = simultaneous_step(G, D, opt_d, opt_g, real_batch(), noise, rules)
        elif i < d_steps:
            loss_d, real_logits, fake_logits = d_step(G, D, opt_d, real_batch(), noise, rules)
        else:
            loss_g = g_step(G, D, opt_g, batch_size, noise, rules)
    return loss_d, loss_g, real_logits, fake_logits

"""The options a GAN adds to Algorithm 1, each a small object that the steps of
``gan_edu.algorithm`` call (``algorithm.Rules``) or a hook that runs around them.

- Objectives (the losses and their labels): ``algorithm.BCE`` with smoothed labels
  (Salimans et al. 2016: one-sided, real 1 -> 1 - s; two-sided, also fake 0 -> s), ``LSGAN``
  (Mao et al. 2017) and ``Wasserstein`` (Arjovsky et al. 2017). ``objective_for(settings)``
  picks one.
- ``Packing`` (PacGAN, Lin et al. 2018): D judges ``pack`` samples concatenated into one input.
- Penalties added to D's loss: ``GradientPenalty`` (WGAN-GP, Gulrajani et al. 2017) and
  ``R1Penalty`` (Mescheder et al. 2018); ``Penalties`` applies them in order.
- ``FiniteCheck``: the NaN guard, called before an optimizer steps.
- ``EMA``: after a round with a G step, θ̄ ← β θ̄ + (1 - β) θ (``ema_update``; Yazıcı et al. 2019).
"""
from __future__ import annotations

import torch
from torch import nn

from .algorithm import BCE, FAKE_LABEL, REAL_LABEL, Rules
from .losses import (gradient_penalty, lsgan_discriminator_loss, lsgan_generator_loss, r1_penalty,
                     wasserstein_critic_loss, wasserstein_generator_loss)

__all__ = ["LSGAN", "Wasserstein", "smoothed_labels", "OBJECTIVES", "objective_for", "Packing", "GradientPenalty",
           "R1Penalty", "Penalties", "NonFiniteLossError", "FiniteCheck", "ema_update", "EMA", "rules_for"]


class LSGAN:
    """Least squares: D regresses real onto 1 and fakes onto 0; G pulls its fakes onto 1."""
    probabilities = False  # D's raw output, not a probability
    real_label, fake_label = REAL_LABEL, FAKE_LABEL  # D's regression targets

    def d_loss(self, real_out, fake_out):
        return lsgan_discriminator_loss(real_out.float(), fake_out.float())

    def g_loss(self, fake_out):
        return lsgan_generator_loss(fake_out.float())

    def outputs(self, out):
        return out.float()


class Wasserstein:
    """WGAN: D is a critic, E D(G(z)) - E D(x); G raises the critic's score of its samples.
    A critic has no targets (``real_label`` and ``fake_label`` are None)."""
    probabilities = False  # the critic's raw score
    real_label = fake_label = None

    def d_loss(self, real_out, fake_out):
        return wasserstein_critic_loss(real_out.float(), fake_out.float())

    def g_loss(self, fake_out):
        return wasserstein_generator_loss(fake_out.float())

    def outputs(self, out):
        return out.float()


def smoothed_labels(label_smoothing: str, s: float) -> tuple[float, float]:
    """D's targets (real, fake): (1, 0); one-sided smoothing (1 - s, 0); two-sided (1 - s, s)."""
    return {"none": (REAL_LABEL, FAKE_LABEL), "one_sided": (REAL_LABEL - s, FAKE_LABEL),
            "two_sided": (REAL_LABEL - s, FAKE_LABEL + s)}[label_smoothing]


def _bce(kind: str):
    return lambda settings: BCE(kind, *smoothed_labels(settings.label_smoothing, settings.smoothing))


# The objectives, keyed by the ``loss`` setting: each builds its object from the settings. A new
# loss is one entry here and its object (with d_loss, g_loss, outputs, probabilities and labels).
OBJECTIVES = {
    "non_saturating": _bce("non_saturating"),  # G: E[-log D(G(z))], the real label (Goodfellow et al.)
    "saturating": _bce("saturating"),          # G: E[log(1 - D(G(z)))], the minimax game
    "lsgan": lambda settings: LSGAN(),
    "wasserstein": lambda settings: Wasserstein(),
}


def objective_for(settings):
    """The objective of ``settings.loss`` (``OBJECTIVES``; the BCE kinds with ``smoothed_labels``)."""
    return OBJECTIVES[settings.loss](settings)


class Packing:
    """PacGAN: (n, c, ...) -> (n / pack, pack * c, ...), ``pack`` consecutive samples concatenated
    along the first data axis (features of flat data, channels of images)."""

    def __init__(self, pack: int):
        self.pack = pack

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.pack == 1:
            return x
        return x.reshape(x.shape[0] // self.pack, self.pack * x.shape[1], *x.shape[2:])


class GradientPenalty:
    """D's loss + ``weight`` x E[(||∇ D(x̂)|| - 1)²] on points x̂ between real and fake inputs;
    ``D`` the net itself (float32, outside any autocast), ``rng`` draws the mixing weights."""

    def __init__(self, weight: float, D: nn.Module, rng: torch.Generator):
        self.weight, self.D, self.rng = weight, D, rng

    def __call__(self, loss, real, fake, real_logits):
        return loss + self.weight * gradient_penalty(self.D, real.float(), fake.detach().float(), self.rng)


class R1Penalty:
    """D's loss + (γ / 2) E||∇_x D(x)||² on real data. ``watch`` makes the real batch a leaf that
    requires grad, so D's gradient with respect to it can be taken."""

    def __init__(self, weight: float):
        self.weight = weight

    def watch(self, real: torch.Tensor) -> torch.Tensor:
        return real.detach().requires_grad_(True)

    def __call__(self, loss, real, fake, real_logits):
        return loss + self.weight / 2 * r1_penalty(real_logits, real)


class Penalties:
    """The penalties with a weight > 0, added to D's loss in order (gradient penalty, then R1)."""

    def __init__(self, penalties):
        self.penalties = [p for p in penalties if p.weight > 0]

    def watch(self, real: torch.Tensor) -> torch.Tensor:
        for p in self.penalties:
            real = p.watch(real) if hasattr(p, "watch") else real
        return real

    def __call__(self, loss, real, fake, real_logits):
        for p in self.penalties:
            loss = p(loss, real, fake, real_logits)
        return loss


class NonFiniteLossError(FloatingPointError):
    """A loss or gradient became NaN or infinite; the update was not applied."""


def gradient_norm(params) -> torch.Tensor:
    """||∇_w L||, the 2-norm of the gradients of the weights ``params`` together: NaN or infinite
    when any gradient is. One fused pass (``torch._foreach_norm``), the gradients left as they are
    (clipping them with an infinite bound would compute the same norm, then scale each by 1)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


class FiniteCheck:
    """The NaN guard: before ``who``'s optimizer steps, refuse a non-finite loss or gradient
    (the update is not applied, the model stays at its last finite state)."""

    def __init__(self, who: str, gan):
        self.who, self.gan = who, gan
        self.params = None  # the net's weights, listed at the first call (a net keeps its weights)

    def __call__(self, loss: torch.Tensor, net: nn.Module) -> None:
        if self.params is None:
            self.params = list(net.parameters())
        grad_norm = gradient_norm(self.params)
        if not torch.isfinite(loss.detach() + grad_norm):
            net.zero_grad(set_to_none=True)
            gan = self.gan
            raise NonFiniteLossError(
                f"the {self.who} loss or its gradient became {loss.item()} / {grad_norm.item()} at step "
                f"{gan.step} (lr_d={gan.lr_d:g}, lr_g={gan.lr_g:g}). Training stopped before "
                "applying that update, so the model is at its last finite state: lower the "
                "learning rates (set_lr) and call fit again.")


@torch.no_grad()
def ema_update(average: nn.Module, net: nn.Module, decay: float) -> None:
    """θ̄ ← β θ̄ + (1 - β) θ for each parameter θ of ``net`` and θ̄ of ``average`` (β = ``decay``):
    an exponential moving average of the weights, whose last ~1/(1 - β) updates weigh most.
    Buffers (e.g. batch-norm statistics) are copied as they are."""
    for avg, p in zip(average.parameters(), net.parameters()):
        avg.lerp_(p, 1.0 - decay)
    for avg, b in zip(average.buffers(), net.buffers()):
        avg.copy_(b)


class EMA:
    """The hook after a round: update ``average`` from ``net`` when the round had a G step."""

    def __init__(self, average: nn.Module, net: nn.Module, decay: float):
        self.average, self.net, self.decay = average, net, decay

    def __call__(self, g_steps: int) -> None:
        if g_steps:
            ema_update(self.average, self.net, self.decay)


def rules_for(gan) -> Rules:
    """The ``Rules`` of ``gan``'s current settings: objective, packing, penalties, NaN guards."""
    s = gan.settings_now
    penalties = Penalties([GradientPenalty(s.gp_weight, gan.D, gan.rng), R1Penalty(s.r1_weight)])
    return Rules(objective_for(s), Packing(s.pack), penalties,
                 FiniteCheck("discriminator", gan), FiniteCheck("generator", gan))

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
from torch.amp.autocast_mode import is_autocast_available
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm

from .algorithm import BCE, FAKE_LABEL, REAL_LABEL, Rules
from .losses import (gradient_penalty, lsgan_discriminator_loss, lsgan_generator_loss, r1_penalty,
                     wasserstein_critic_loss, wasserstein_generator_loss)

__all__ = ["LSGAN", "Wasserstein", "smoothed_labels", "OBJECTIVES", "objective_for", "Packing", "GradientPenalty",
           "R1Penalty", "SpectralNorm", "Penalties", "NonFiniteLossError", "gradient_norm", "all_finite", "FiniteCheck",
           "ema_update",
           "EMA", "changed_before_last", "RoundUndo", "rules_for"]


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


_CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_TRANSPOSED = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)  # weight (in, out, ...): σ along dim 1


class SpectralNorm:
    r"""Spectral normalisation of D (Miyato et al. 2018): every linear and convolution layer computes
    with W / σ(W) in place of its weight W, where σ(W) = max_{v ≠ 0} ||W v|| / ||v||, W's largest
    singular value (a convolution's kernel taken as the matrix (out, in · kernel size), as in the
    paper). σ(W) is estimated by power iteration, u ← W v / ||W v||, v ← Wᵀ u / ||Wᵀ u||,
    σ ≈ uᵀ W v: ``n_power_iterations`` per forward pass in training mode (15 when applied), u and v
    kept between passes as buffers of D (saved with it). PyTorch's parametrisation (that of
    ``torch.nn.utils.parametrizations.spectral_norm``, kept in float32 under autocast): the weight
    trained is W, ``layer.weight`` reads W / σ(W). Each layer is then about 1-Lipschitz, and with
    1-Lipschitz activations (ReLU, LeakyReLU; not batch norm) so is D: the constraint a Wasserstein
    critic needs, and a limit on how steep a GAN's D can get. ``SpectralNorm()(D)`` normalises D's
    layers in place (those already normalised are left as they are) and returns D."""

    def __init__(self, n_power_iterations: int = 1):
        self.n_power_iterations = n_power_iterations

    @staticmethod
    def layers(net: nn.Module) -> list:
        """The layers of ``net`` it normalises: ``nn.Linear`` and every convolution (transposed too)."""
        return [m for m in net.modules() if isinstance(m, (nn.Linear, *_CONVOLUTIONS, *_TRANSPOSED))]

    @classmethod
    def applied(cls, net: nn.Module) -> bool:
        """Whether every layer of ``net`` that it normalises is normalised (and there is one)."""
        layers = cls.layers(net)
        return bool(layers) and all(parametrize.is_parametrized(m, "weight") for m in layers)

    def __call__(self, net: nn.Module, seed: int | None = None) -> nn.Module:
        """Normalise ``net``'s layers. The power iteration's first u and v are drawn from a private
        copy of the global random state (seeded with ``seed`` when given): the global state is untouched."""
        layers = self.layers(net)
        if not layers:
            raise ValueError(f"spectral_norm=True needs linear or convolution layers in the discriminator; "
                             f"{type(net).__name__} has none (nn.Linear, nn.Conv1d/2d/3d, their transposes)")
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            for m in layers:
                if not parametrize.is_parametrized(m, "weight"):
                    dim = 1 if isinstance(m, _TRANSPOSED) else 0
                    parametrize.register_parametrization(m, "weight", _Float32SpectralNorm(
                        m.weight, self.n_power_iterations, dim))
        return net


class _Float32SpectralNorm(_SpectralNorm):
    """PyTorch's spectral-norm parametrisation (``spectral_norm``'s own), always in float32: under
    autocast, CUDA's runs the power iteration's ``torch.mv`` in bfloat16 and σ = uᵀ W v would then mix
    dtypes (and lose precision); D's layers still run in bfloat16 with W / σ(W)."""

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if not is_autocast_available(weight.device.type):
            return super().forward(weight)
        with torch.autocast(weight.device.type, enabled=False):
            return super().forward(weight)


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
    return _norm([p.grad for p in params if p.grad is not None])


def _norm(grads: list) -> torch.Tensor:
    """The 2-norm of the tensors ``grads`` together (0 for none), on the CPU."""
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))).cpu()


def all_finite(loss: torch.Tensor, grads: list, found: torch.Tensor, one: torch.Tensor) -> bool:
    """Whether ``loss`` and every gradient in ``grads`` are finite, read with one sync. On CPU and
    CUDA one fused pass (``torch._amp_foreach_non_finite_check_and_unscale_`` with the scale
    ``one``, 1.0: it sets ``found``, a one-element buffer, and leaves the gradients as they are);
    elsewhere through ``gradient_norm``, which is NaN or infinite when a gradient is."""
    if grads and grads[0].device.type in ("cpu", "cuda") and found.device == grads[0].device:
        found.zero_()
        torch._amp_foreach_non_finite_check_and_unscale_(grads, found, one)
        return bool(torch.isfinite(loss.detach()) & (found == 0))
    return bool(torch.isfinite(loss.detach().cpu() + _norm(grads)))


class FiniteCheck:
    """The NaN guard: before ``who``'s optimizer steps, refuse a non-finite loss or gradient
    (the update is not applied, the model stays at its last finite state)."""

    def __init__(self, who: str, gan):
        self.who, self.gan = who, gan
        self.params = None  # the net's weights, listed at the first call (a net keeps its weights)

    def __call__(self, loss: torch.Tensor, net: nn.Module) -> None:
        if self.params is None:
            self.params = list(net.parameters())
            device = self.params[0].device if self.params else "cpu"
            self.found, self.one = torch.zeros(1, device=device), torch.ones((), device=device)
        if all_finite(loss, [p.grad for p in self.params if p.grad is not None], self.found, self.one):
            return
        grad_norm = gradient_norm(self.params)
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


def changed_before_last(d_steps: int, g_steps: int, update: str) -> tuple:
    """The players a round updates before its last step ("D", "G"): what a refused later step
    would leave half-applied. Alternating: D's steps, then G's; simultaneous: max(d, g) steps."""
    if update == "simultaneous":
        n = max(d_steps, g_steps)
        return tuple(who for who, k in (("D", d_steps), ("G", g_steps)) if k and n > 1)
    return tuple(who for who, early in (("D", d_steps and d_steps + g_steps > 1), ("G", g_steps > 1)) if early)


class RoundUndo:
    """A round applied whole or not at all. ``take(players)`` copies the weights and optimizer
    state of those players ("D", "G"), and both nets' buffers, before the round (one fused copy,
    into buffers kept between rounds); ``restore()`` puts them back when a later step of the round
    is refused by the NaN guard (or fails), so the model, the step count, the history and the EMA
    agree."""

    def __init__(self, gan):
        self.gan, self.key, self.live, self.saved, self.had_state = gan, None, [], [], []

    def take(self, players) -> None:
        g = self.gan
        parts = [(g.D, g.opt_d) if who == "D" else (g.G, g.opt_g) for who in players]
        key = tuple((id(net), id(opt), id(opt.state), len(opt.state)) for net, opt in parts)
        if key != self.key:  # new players, a new (or reloaded) optimizer, or new state: list them again
            self.key, self.had_state = key, [(opt, list(opt.state)) for _, opt in parts]
            buffers = [b for net in (g.G, g.D) for b in net.buffers()] if parts else []  # a D step moves G's BN too
            self.live = buffers + [t.detach() for net, opt in parts for t in _tensors(net, opt)]
            self.saved = [t.clone() for t in self.live]
        elif self.live:
            torch._foreach_copy_(self.saved, self.live)

    def restore(self) -> None:
        if self.live:
            torch._foreach_copy_(self.live, self.saved)
        for opt, params in self.had_state:  # state an optimizer first made during the refused round: gone
            for p in [p for p in opt.state if all(p is not q for q in params)]:
                del opt.state[p]
        self.key = None


def _tensors(net: nn.Module, opt) -> list:
    """The tensors a step of ``opt`` on ``net`` changes besides the buffers: weights, optimizer state."""
    state = [v for st in opt.state.values() for v in st.values() if torch.is_tensor(v)]
    return list(net.parameters()) + state


def rules_for(gan) -> Rules:
    """The ``Rules`` of ``gan``'s current settings: objective, packing, penalties, NaN guards."""
    s = gan.settings_now
    penalties = Penalties([GradientPenalty(s.gp_weight, gan.D, gan.rng), R1Penalty(s.r1_weight)])
    return Rules(objective_for(s), Packing(s.pack), penalties,
                 FiniteCheck("discriminator", gan), FiniteCheck("generator", gan))

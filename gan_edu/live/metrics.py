"""The live trainer's metrics, measured on the view's fixed samples while training runs.

- ``LiveMetrics``: the records of one training (``coverage``: modes recovered and the share of
  high-quality samples, see ``metrics.mode_coverage``; ``divergences``: KL, reverse KL, JS,
  V(D*, G) and V(D, G), see ``metrics.divergences_on_grid``), each at the round it was taken;
- ``generator_arrows``: the generator's gradient at generated points, the view's arrows;
- ``grid_lim``: the box of the density grid.

Nothing here draws from the training's random streams: the samples come from the view's fixed
noise and the view's own real points.
"""
from __future__ import annotations

import torch

from .. import data as _data
from ..checks import check_choice
from ..losses import BCE_LOSSES, generator_loss
from ..metrics import divergences_on_grid, grid_points, mode_coverage
from .view import GRID_BINS

__all__ = ["LiveMetrics", "generator_arrows", "grid_lim", "modes_of"]

DIVERGENCES = ("kl", "reverse_kl", "js", "v_star", "v")


def modes_of(sampler) -> tuple:
    """The sampler's modes and their standard deviation (None, None for data without modes)."""
    if isinstance(sampler, _data.GaussianMixture):
        return sampler.modes, sampler.std
    if isinstance(sampler, _data.Gaussian1D):
        return torch.tensor([[sampler.mean]]), sampler.std
    return None, None


def grid_lim(lim: float | None, dim: int) -> tuple[float, float]:
    """The box of the density grid: the view's square [-lim, lim] in 2D, [-3, 7] in 1D."""
    return (-lim, lim) if dim == 2 else (-3.0, 7.0)


def generator_arrows(gan, z: torch.Tensor, loss: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Points x = G(z) and -dL_G/dx there (``loss``: the G loss, default the GAN's current one,
    through the current D): the direction the generator's update pushes each sample. Gradients
    are taken with ``torch.autograd.grad`` with respect to x only: no parameter's .grad, no
    optimizer state is touched."""
    kind = gan.settings_now.loss if loss is None else check_choice("loss", loss, BCE_LOSSES)
    with gan.lock:
        x = gan.sample(z=z).to(gan.device).requires_grad_(True)
        with torch.enable_grad():
            loss_g = generator_loss(gan.d_output(x).reshape(-1, 1), kind)
            (grad,) = torch.autograd.grad(loss_g, x)
    return x.detach().cpu(), -grad.cpu()


class LiveMetrics:
    """The metrics of one training on ``sampler``'s data: ``modes`` and ``mode_std`` (None for
    data without modes), and the records ``coverage`` (step, modes, high_quality) and
    ``divergences`` (step, kl, reverse_kl, js, v_star, v), one entry per measurement."""

    def __init__(self, sampler):
        self.modes, self.mode_std = modes_of(sampler)
        self.coverage = {"step": [], "modes": [], "high_quality": []}
        self.divergences = {k: [] for k in ("step",) + DIVERGENCES}

    def record_coverage(self, gan, z: torch.Tensor) -> dict | None:
        """Mode coverage of G(z) at the GAN's current step (None for data without modes, or if
        this step is recorded already: one record per step)."""
        if self.modes is None or self.coverage["step"][-1:] == [gan.step]:
            return None
        cov = mode_coverage(gan.sample(z=z), self.modes, self.mode_std)
        self.coverage["step"].append(gan.step)
        self.coverage["modes"].append(cov["modes"])
        self.coverage["high_quality"].append(cov["high_quality"])
        return cov

    def record_divergences(self, gan, z: torch.Tensor, real: torch.Tensor, lim: tuple[float, float]) -> dict | None:
        """KL, reverse KL, JS, V(D*, G) and V(D, G) between ``real`` and G(z), on a grid over the
        box ``lim`` (``GRID_BINS`` cells per axis in 2D, 200 in 1D), at the GAN's current step.
        None (and nothing recorded) when no generated sample lies on the grid, or when this step
        is recorded already."""
        if self.divergences["step"][-1:] == [gan.step]:
            return None
        dim = real.shape[1]
        bins = GRID_BINS if dim == 2 else 200
        with gan.lock:  # G and D of the same round
            fake = gan.sample(z=z)
            d = gan.discriminate(grid_points(lim, bins, dim))
            step = gan.step
        try:
            out = divergences_on_grid(real, fake, lim, bins, d=d)
        except ValueError:  # every fake off the grid: nothing to estimate
            return None
        self.divergences["step"].append(step)
        for key in DIVERGENCES:
            self.divergences[key].append(out[key])
        return out

    def state(self) -> dict:
        """The records as plain lists (for a session file)."""
        return {"coverage": {k: list(v) for k, v in self.coverage.items()},
                "divergences": {k: list(v) for k, v in self.divergences.items()}}

    def load_state(self, state: dict) -> None:
        """Take the records of ``state()`` back."""
        self.coverage = {k: list(v) for k, v in state["coverage"].items()}
        self.divergences = {k: list(v) for k, v in state["divergences"].items()}

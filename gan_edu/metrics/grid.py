"""Densities on a grid. Live KL / JS estimates and the optimal discriminator D* for 1D/2D toy data,
from samples: a Gaussian kernel density estimate, binned on a regular grid over [lo, hi]^d (the grid
the plots draw), normalised to integrate to 1 on that grid.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import losses
from ..algorithm import noise_prior
from ..checks import is_number
from .coverage import mode_coverage

__all__ = ["grid_limits", "grid_axis", "grid_points", "grid_lookup", "density_on_grid", "divergences_on_grid",
           "optimal_discriminator_on_grid", "value_on_samples", "DivergenceTracker"]


def grid_limits(lim) -> tuple[float, float]:
    """``lim`` as (lo, hi): a number L means [-L, L]."""
    if isinstance(lim, (tuple, list)) and len(lim) == 2:
        lo, hi = float(lim[0]), float(lim[1])
    elif is_number(lim):
        lo, hi = -float(lim), float(lim)
    else:
        raise ValueError(f"lim must be a number L (the box [-L, L]) or a pair (lo, hi), got {lim!r}")
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"lim must give a finite interval lo < hi, got {lim!r}")
    return lo, hi


def grid_axis(lim, bins: int = 64) -> tuple[np.ndarray, float]:
    """The ``bins`` cell centres of [lo, hi] and the cell width h = (hi - lo) / bins."""
    if not is_number(bins, integer=True) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    lo, hi = grid_limits(lim)
    h = (hi - lo) / bins
    return lo + h * (np.arange(bins) + 0.5), h


def grid_points(lim, bins: int = 64, dim: int = 2) -> torch.Tensor:
    """The grid's cell centres as a (bins**dim, dim) float32 tensor, in the order of
    ``density.reshape(-1)``: in 2D row i, column j is the point (x1 = c[j], x2 = c[i]), so
    ``density`` draws with ``imshow(density, origin="lower", extent=(lo, hi, lo, hi))``."""
    c, _ = grid_axis(lim, bins)
    if dim == 1:
        return torch.tensor(c, dtype=torch.float32).reshape(-1, 1)
    if dim != 2:
        raise ValueError(f"dim must be 1 or 2, got {dim!r}")
    x1, x2 = np.meshgrid(c, c, indexing="xy")
    return torch.tensor(np.stack([x1.reshape(-1), x2.reshape(-1)], 1), dtype=torch.float32)


def grid_lookup(values, points, lim) -> np.ndarray:
    """The value of the grid cell each point lies in: ``values`` in the layout of ``density_on_grid``
    ((bins,) in 1D, (bins, bins) in 2D with ``[i, j]`` at (x1 = c[j], x2 = c[i])), ``points`` of
    shape (n, 1) or (n, 2). A point outside the box takes the value of the nearest edge cell.
    Reads a grid estimate (the optimal D* of ``optimal_discriminator_on_grid``, say) at samples."""
    values = np.asarray(torch.as_tensor(values).detach().double().cpu())
    x = _as_points(points, "points")
    if values.ndim != x.shape[1] or values.ndim not in (1, 2) or len(set(values.shape)) != 1:
        raise ValueError(f"values must be a (bins,) grid for 1D points or (bins, bins) for 2D points, "
                         f"got shape {values.shape} for points of dimension {x.shape[1]}")
    bins = values.shape[0]
    lo, hi = grid_limits(lim)
    idx = np.clip(np.floor((x - lo) / ((hi - lo) / bins)).astype(np.int64), 0, bins - 1)
    return values[idx[:, 0]] if x.shape[1] == 1 else values[idx[:, 1], idx[:, 0]]


def _as_points(samples, name: str) -> np.ndarray:
    x = np.asarray(torch.as_tensor(samples).detach().double().cpu())
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] not in (1, 2) or len(x) == 0:
        raise ValueError(f"{name} must have shape (n, 1) or (n, 2) with n >= 1, got {tuple(x.shape)}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def density_on_grid(samples, lim, bins: int = 64, bandwidth: float | None = None) -> np.ndarray:
    r"""A Gaussian kernel density estimate of ``samples`` ((n,), (n, 1) or (n, 2)) on the grid.

    p̂(c) = (1/n) Σ_i Π_k N(c_k; x_ik, σ²), with the samples first binned into the grid's cells
    (a *binned* KDE: each sample moved to its cell centre, an error below half a cell), then
    smoothed along each axis by the Gaussian kernel matrix K_ab = exp(-(c_a - c_b)² / 2σ²).
    The result is renormalised so that Σ p̂ · h^d = 1 on the grid: mass that the kernel spreads
    past the edges, and samples outside [lo, hi]^d, are left out (``divergences_on_grid``
    reports how many samples fell outside). ``bandwidth`` σ defaults to one cell, h.

    Returns shape (bins,) in 1D, (bins, bins) in 2D with ``[i, j]`` at (x1 = c[j], x2 = c[i])
    (see ``grid_points``). Deterministic: no random numbers. Raises ValueError when no sample
    lies inside the grid (nothing to estimate).
    """
    x = _as_points(samples, "samples")
    c, h = grid_axis(lim, bins)
    lo, hi = c[0] - h / 2, c[-1] + h / 2
    sigma = h if bandwidth is None else float(bandwidth)
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"bandwidth must be a positive number, got {bandwidth!r}")
    idx = np.floor((x - lo) / h).astype(np.int64)
    inside = ((idx >= 0) & (idx < bins)).all(1)
    if not inside.any():
        raise ValueError(f"no sample lies inside the grid [{lo:g}, {hi:g}]^{x.shape[1]}: widen lim")
    idx = idx[inside]
    kernel = np.exp(-0.5 * ((c[:, None] - c[None, :]) / sigma) ** 2)
    if x.shape[1] == 1:
        counts = np.bincount(idx[:, 0], minlength=bins).astype(float)
        p = kernel @ counts
    else:
        counts = np.zeros((bins, bins))
        np.add.at(counts, (idx[:, 1], idx[:, 0]), 1.0)  # row: x2, column: x1
        p = kernel @ counts @ kernel.T
    return p / (p.sum() * h ** x.shape[1])


def _pair_densities(real, fake, lim, bins, bandwidth):
    real, fake = _as_points(real, "real"), _as_points(fake, "fake")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real samples have dimension {real.shape[1]}, fake ones {fake.shape[1]}")
    p_data = density_on_grid(real, lim, bins, bandwidth)
    p_g = density_on_grid(fake, lim, bins, bandwidth)
    _, h = grid_axis(lim, bins)
    return real, fake, p_data, p_g, h ** real.shape[1]


def _outside(x, lim) -> float:
    lo, hi = grid_limits(lim)
    return float(((x < lo) | (x > hi)).any(1).mean())


def divergences_on_grid(real, fake, lim, bins: int = 64, bandwidth: float | None = None,
                        floor: float = 1e-6, d=None) -> dict:
    r"""KL and JS divergences between the densities of real and generated samples on a grid.

    Both densities come from ``density_on_grid`` (same grid, same bandwidth); each is mixed
    with a uniform density of weight ``floor``, p ← (1 - floor) p + floor / |box|, so that a
    cell where one density underflows to 0 cannot make a KL infinite. Where G misses a mode, the
    KL then depends on the floor and on the kernel's tails (the smaller the floor, the larger):
    read it as "large", not as a measurement. Then, with dA the cell
    size (area in 2D), through ``gan_edu.losses``:

    - ``kl`` = KL(p_data || p_g) = ∫ p_data log(p_data / p_g) dx: large when G misses modes;
    - ``reverse_kl`` = KL(p_g || p_data): large when G puts mass where there is no data;
    - ``js`` = JSD(p_data || p_g), between 0 and log 2;
    - ``v_star`` = V(D*, G) = C(G) = -log 4 + 2 JSD: the value the optimal D would reach;
    - ``v`` = V(D, G) on the grid for the learned D, when its probabilities on the grid are
      given as ``d`` (same layout as the densities); V(D, G) <= V(D*, G) for every D;
    - ``outside_real``, ``outside_fake``: the fractions of samples outside the grid, which
      the estimates ignore.
    """
    real, fake, p_data, p_g, area = _pair_densities(real, fake, lim, bins, bandwidth)
    if not 0 <= floor < 1:
        raise ValueError(f"floor must be in [0, 1), got {floor!r}")
    uniform = 1.0 / (p_data.size * area)
    p_data = (1 - floor) * p_data + floor * uniform
    p_g = (1 - floor) * p_g + floor * uniform
    out = dict(kl=losses.kl_divergence(p_data, p_g, area), reverse_kl=losses.kl_divergence(p_g, p_data, area),
               js=losses.jensen_shannon(p_data, p_g, area),
               v_star=losses.virtual_training_criterion(p_data, p_g, area),
               outside_real=_outside(real, lim), outside_fake=_outside(fake, lim))
    if d is not None:
        d = np.asarray(torch.as_tensor(d).detach().double().cpu()).reshape(p_data.shape)
        out["v"] = losses.value_function_on_grid(d, p_data, p_g, area)
    return out


def optimal_discriminator_on_grid(real, fake, lim, bins: int = 64, bandwidth: float | None = None,
                                  support: float = 1e-3) -> np.ndarray:
    r"""D*(x) = p_data(x) / (p_data(x) + p_g(x)) on the grid (``losses.optimal_discriminator``),
    from the density estimates of ``density_on_grid``. Same layout as the densities.

    Far from every sample both densities are ~0 and their ratio is meaningless (it only
    says which cluster's kernel tail decays slower): D* is undefined there. Cells where
    p_data + p_g is below ``support`` times its maximum get 1/2, the convention of
    ``losses.optimal_discriminator`` where both densities are 0 (``support=0``: raw ratio).
    """
    _, _, p_data, p_g, _ = _pair_densities(real, fake, lim, bins, bandwidth)
    if not 0 <= support < 1:
        raise ValueError(f"support must be in [0, 1), got {support!r}")
    total = p_data + p_g
    d_star = losses.optimal_discriminator(p_data, p_g)
    d_star[total < support * total.max()] = 0.5
    return d_star


def value_on_samples(gan, real, fake) -> float:
    r"""V(D, G) = mean log D(x) + mean log(1 - D(x')) of ``gan``'s D over ``real`` samples x and
    generated samples x' (no density estimate, no smoothing): ``-losses.discriminator_loss`` of D's
    logits, so a confident D gives large finite terms, not ``-inf``. For the BCE losses only (D's
    output a logit); ``nan`` for the others, whose D gives no probability."""
    if gan.settings()["loss"] not in losses.BCE_LOSSES:
        return math.nan
    with torch.no_grad():
        logits = [gan.d_output(torch.as_tensor(x, dtype=torch.float32).to(gan.device)) for x in (real, fake)]
    return -float(losses.discriminator_loss(*logits))


# ---------------------------------------------------------------------------- tracking during fit


class DivergenceTracker:
    """A ``fit`` callback recording the grid estimates every ``every`` rounds (and at round 0
    when called before training): ``tracker(gan)``.

    ``real``: a fixed set of real samples (n, 1 or 2); ``lim``, ``bins``, ``bandwidth``: the grid
    of ``divergences_on_grid``. G's samples come from ``n`` *fixed* noise draws (seeded by
    ``seed``, drawn once from the GAN's prior): the GAN's own noise generator is not touched, so
    tracking does not change the training, and the curves show G changing, not sampling noise.
    With ``modes`` and ``std`` it also records ``mode_coverage`` (``modes``, ``of``,
    ``high_quality``); with ``with_d=True`` also V(D, G) for the learned D on the grid's smoothed
    densities (``v``) and on the samples themselves (``v_samples``: ``value_on_samples`` on ``real`` and
    on G's samples, no smoothing).
    ``history`` holds one list per quantity, plus ``step``.
    """

    def __init__(self, real, lim, every: int = 100, n: int = 2500, bins: int = 64, bandwidth: float | None = None,
                 modes=None, std: float | None = None, with_d: bool = False, seed: int = 0):
        if not is_number(every, integer=True) or every < 1:
            raise ValueError(f"every must be a positive integer (rounds between records), got {every!r}")
        if not is_number(n, integer=True) or n < 1:
            raise ValueError(f"n must be a positive integer (samples per record), got {n!r}")
        if (modes is None) != (std is None):
            raise ValueError("give both modes and std (for mode coverage) or neither")
        self.real = torch.as_tensor(real).detach().float().cpu()
        _as_points(self.real, "real")
        grid_limits(lim)
        self.lim, self.every, self.n, self.bins, self.bandwidth = lim, every, n, bins, bandwidth
        self.modes, self.std, self.with_d, self.seed = modes, std, with_d, seed
        self._z = None
        self.history: dict[str, list] = {"step": []}

    def noise(self, gan) -> torch.Tensor:
        """The tracker's fixed noise, drawn from the GAN's prior with the tracker's own seed."""
        if self._z is None or self._z.shape[1] != gan.noise_dim:
            g = torch.Generator().manual_seed(self.seed)
            self._z = noise_prior(self.n, gan.noise_dim, gan.settings()["noise"], g)
        return self._z

    def __call__(self, gan) -> None:
        if gan.step % self.every:
            return
        fake = gan.sample(z=self.noise(gan))
        d = None
        if self.with_d:
            d = gan.discriminate(grid_points(self.lim, self.bins, dim=self.real.shape[1]))
        record = {"step": gan.step, **divergences_on_grid(self.real, fake, self.lim, self.bins, self.bandwidth, d=d)}
        if self.with_d:
            record["v_samples"] = value_on_samples(gan, self.real, fake)
        if self.modes is not None:
            cov = mode_coverage(fake, self.modes, self.std)
            record.update(modes=cov["modes"], of=cov["of"], high_quality=cov["high_quality"])
        for key, value in record.items():
            if key == "of":
                self.history["of"] = value
            else:
                self.history.setdefault(key, []).append(value)

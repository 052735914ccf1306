r"""Does G match the data, not only the metric? Measures of *shape*, for mixtures of Gaussians
(the ring and the grid) and for any 2D data.

The protocol of the mode-collapse literature (``metrics.mode_coverage``: modes recovered, and the
share of *high-quality* samples within 3 std of a mode) rewards a generator that piles its samples
onto the mode centres: real data itself scores only P(||x - μ|| ≤ 3σ) = 1 - e^{-9/2} ≈ 98.9% in
2D, so 100% means samples too tight. These measures see that:

- ``mode_spread``: per mode, the RMS distance of the high-quality samples to their mode centre,
  divided by what the data's Gaussian gives for the same truncation. Real data: 1. Too sharp: < 1.
- ``mode_histogram_kl``: KL(p_g's mode histogram || the data's mode weights) (PacGAN's "reverse
  KL" of the histogram): 0 when every mode gets its share.
- ``mmd``: the (squared, unbiased) maximum mean discrepancy with a Gaussian kernel as wide as the
  data's modes (Gretton et al. 2012), a two-sample statistic that is 0 in expectation exactly when
  the two distributions are equal; ``null_band`` gives its spread between two fresh samples of the
  data, so a value inside the band is "as close to the data as real data is". (``energy_distance``,
  2 E||X - Y|| - E||X - X'|| - E||Y - Y'||, is the same idea at the scale of the whole layout: it
  sees a lost mode, hardly a too-narrow one.)
- ``precision_recall`` (Kynkäänniemi et al. 2019): the share of fakes inside the data's manifold
  (balls of each real sample's k-th neighbour distance), and of real samples inside the fakes'.
  A collapsed G loses recall; a too-wide G loses precision.

``match_report`` gives them all for a sampler with ``modes`` and ``std`` (``data.GaussianMixture``).
"""
from __future__ import annotations

import math

import torch

from ..checks import check_count, check_real
from .coverage import mode_coverage

__all__ = ["HQ_CEILING_2D", "truncated_rms", "mode_spread", "mode_histogram_kl", "energy_distance", "mmd", "null_band",
           "precision_recall", "match_report"]

HQ_CEILING_2D = 1 - math.exp(-4.5)  # the share of a 2D Gaussian's samples within 3 std: 98.89%


def _points(x, name: str) -> torch.Tensor:
    x = torch.as_tensor(x, dtype=torch.float64).detach().cpu()
    if x.ndim != 2 or len(x) < 2 or not torch.isfinite(x).all():
        raise ValueError(f"{name} must be at least 2 finite points of shape (n, d), got {tuple(x.shape)}")
    return x


def truncated_rms(std: float, dim: int, n_std: float = 3.0) -> float:
    r"""RMS distance to the centre of N(μ, σ² I) in ``dim`` dimensions, over the samples within
    ``n_std`` σ: σ √(d F_{d+2}(n²) / F_d(n²)), with F_k the χ² distribution function with k degrees
    of freedom (E[X; X ≤ c] = d F_{d+2}(c) for X ~ χ²_d)."""
    from scipy.stats import chi2

    c = n_std ** 2
    return std * math.sqrt(dim * chi2.cdf(c, dim + 2) / chi2.cdf(c, dim))


def _assign(samples, modes, std: float, n_std: float):
    """Each sample's nearest mode, its distance, and whether it is high quality (within n_std σ)."""
    dist, nearest = torch.cdist(samples, modes).min(dim=1)
    return nearest, dist, dist <= n_std * std


def mode_spread(samples, modes, std: float, n_std: float = 3.0) -> list:
    """Per mode: the RMS distance of its high-quality samples to its centre over ``truncated_rms``
    (1 for the data's own spread; None for a mode with fewer than 2 high-quality samples)."""
    samples = _points(samples, "samples")
    modes = torch.as_tensor(modes, dtype=torch.float64).reshape(-1, samples.shape[1])
    std = check_real("std", std, 0.0, low_open=True)
    nearest, dist, good = _assign(samples, modes, std, n_std)
    scale = truncated_rms(std, modes.shape[1], n_std)
    out = []
    for k in range(len(modes)):
        d = dist[good & (nearest == k)]
        out.append(float(d.pow(2).mean().sqrt()) / scale if len(d) >= 2 else None)
    return out


def mode_histogram_kl(samples, modes, std: float, weights=None, n_std: float = 3.0) -> float:
    """KL(h || w) = Σ_k h_k log(h_k / w_k), h the share of the high-quality samples at each mode,
    w the data's weights (equal by default). 0 when every mode gets its share; inf if no sample
    is of high quality."""
    samples = _points(samples, "samples")
    modes = torch.as_tensor(modes, dtype=torch.float64).reshape(-1, samples.shape[1])
    nearest, _, good = _assign(samples, modes, check_real("std", std, 0.0, low_open=True), n_std)
    counts = torch.bincount(nearest[good], minlength=len(modes)).double()
    if counts.sum() == 0:
        return math.inf
    w = torch.full((len(modes),), 1 / len(modes), dtype=torch.float64) if weights is None else torch.as_tensor(
        weights, dtype=torch.float64)
    h = counts / counts.sum()
    m = h > 0
    return float((h[m] * (h[m] / w[m]).log()).sum())


def energy_distance(x, y) -> float:
    """2 E||X - Y|| - E||X - X'|| - E||Y - Y'|| over all pairs (the within-sample means leave out
    the zero self-distances): >= 0 in expectation, 0 exactly when the distributions are equal."""
    x, y = _points(x, "x"), _points(y, "y")
    xy, xx, yy = torch.cdist(x, y).mean(), torch.cdist(x, x), torch.cdist(y, y)
    within = lambda d: d.sum() / (len(d) * (len(d) - 1))  # noqa: E731
    return float(2 * xy - within(xx) - within(yy))


def mmd(x, y, bandwidth: float) -> float:
    """MMD²(x, y) with the kernel k(a, b) = exp(-||a - b||² / 2h²), h = ``bandwidth``: the unbiased
    estimate E k(X, X') + E k(Y, Y') - 2 E k(X, Y) (self-pairs left out of the first two)."""
    x, y = _points(x, "x"), _points(y, "y")
    h = check_real("bandwidth", bandwidth, 0.0, low_open=True)
    k = lambda a, b: torch.cdist(a, b).pow_(2).div_(-2 * h * h).exp_()  # noqa: E731  (in place: one n x n matrix)
    kxx, kyy = k(x, x), k(y, y)
    within = lambda m: (m.sum() - m.diagonal().sum()) / (len(m) * (len(m) - 1))  # noqa: E731
    return float(within(kxx) + within(kyy) - 2 * k(x, y).mean())


def null_band(make_sampler, bandwidth: float, n: int = 2500, repeats: int = 20, quantile: float = 0.95,
              seed: int = 1000) -> dict:
    """``mmd`` between two fresh samples of ``n`` from the data (``make_sampler(seed)`` builds its
    sampler), ``repeats`` times: the mean, the ``quantile`` (``high``) and the values. A generated
    sample whose MMD to real data is at most ``high`` is as close to it as real data is."""
    n, repeats = check_count("n", n), check_count("repeats", repeats, 2)
    values = sorted(mmd(make_sampler(seed + 2 * i)(n), make_sampler(seed + 2 * i + 1)(n), bandwidth)
                    for i in range(repeats))
    return dict(mean=sum(values) / repeats, high=values[min(repeats - 1, math.ceil(quantile * repeats) - 1)],
                values=values)


def _radii(x, k: int) -> torch.Tensor:
    """Each point's distance to its k-th nearest other point."""
    return torch.cdist(x, x).kthvalue(k + 1, dim=1).values


def precision_recall(real, fake, k: int = 3) -> dict:
    """Kynkäänniemi et al. (2019): precision, the share of ``fake`` inside the real manifold (the
    union of balls around each real point, radius its k-th neighbour distance); recall, the share
    of ``real`` inside the fake manifold."""
    real, fake, k = _points(real, "real"), _points(fake, "fake"), check_count("k", k)
    inside = lambda pts, ref, r: (torch.cdist(pts, ref) <= r[None, :]).any(dim=1).double().mean()  # noqa: E731
    return dict(precision=float(inside(fake, real, _radii(real, k))),
                recall=float(inside(real, fake, _radii(fake, k))))


def match_report(samples, sampler, reference=None, band: dict | None = None) -> dict:
    """Every measure for ``samples`` against a ``GaussianMixture`` sampler: the protocol's modes and
    high-quality share, the spread per mode (mean, lowest, highest), the histogram KL, the MMD
    (bandwidth: the modes' std) and energy distance to ``reference`` (fresh real samples; default:
    as many more from ``sampler``), whether the MMD lies inside ``band`` (``null_band``), precision
    and recall."""
    samples = _points(samples, "samples")
    reference = sampler(len(samples)) if reference is None else _points(reference, "reference")
    cov = mode_coverage(samples.float(), sampler.modes, sampler.std)
    spread = [s for s in mode_spread(samples, sampler.modes, sampler.std) if s is not None]
    two_sample = mmd(samples, reference, sampler.std)
    return dict(modes=cov["modes"], of=cov["of"], hq=cov["high_quality"],
                spread=sum(spread) / len(spread) if spread else math.nan,
                spread_low=min(spread, default=math.nan), spread_high=max(spread, default=math.nan),
                kl=mode_histogram_kl(samples, sampler.modes, sampler.std), mmd=two_sample,
                in_band=None if band is None else two_sample <= band["high"],
                energy=energy_distance(samples, reference), **precision_recall(reference, samples))

"""How good are the samples? Numbers, not impressions.

2D toy data: the mode-coverage protocol of the mode-collapse literature (VEEGAN, Srivastava et
al. 2017; PacGAN, Lin et al. 2018): draw 2,500 samples; a sample is *high quality* when it lies
within 3 standard deviations of its nearest mode; a mode is *recovered* when at least 20
high-quality samples fall on it.
"""
from __future__ import annotations

import torch

from .checks import check_count, check_real

__all__ = ["mode_coverage"]


def mode_coverage(samples: torch.Tensor, modes: torch.Tensor, std: float, n_std: float = 3.0,
                  min_count: int = 20) -> dict:
    """Modes recovered and the fraction of high-quality samples.

    Returns ``dict(modes=recovered, of=len(modes), high_quality=fraction, counts=per-mode counts)``.
    """
    std, n_std = check_real("std", std, 0.0, low_open=True), check_real("n_std", n_std, 0.0, low_open=True)
    min_count = check_count("min_count", min_count)
    samples = torch.as_tensor(samples, dtype=torch.float32).reshape(len(samples), -1).cpu()
    modes = torch.as_tensor(modes, dtype=torch.float32).reshape(len(modes), -1).cpu()
    if len(modes) == 0:
        raise ValueError("modes must hold at least one mode")
    if samples.shape[1] != modes.shape[1]:
        raise ValueError(f"samples have dimension {samples.shape[1]}, modes {modes.shape[1]}")
    dist, nearest = torch.cdist(samples, modes).min(dim=1)
    good = dist <= n_std * std
    counts = torch.bincount(nearest[good], minlength=len(modes))
    return dict(modes=int((counts >= min_count).sum()), of=len(modes),
                high_quality=float(good.float().mean()) if len(samples) else 0.0, counts=counts.tolist())


# ---------------------------------------------------------------------------- images: digits
# A Fréchet distance (as FID, Heusel et al. 2017) in the feature space of a small classifier
# trained on the 8x8 digits, and the histogram of the labels it gives generated images.
# Inception features mean nothing for 8x8 digits; a classifier trained on the digits does.
import math as _math
import os as _os
from pathlib import Path as _Path

import numpy as _np
from torch import nn as _nn

__all__ += ["digits_split", "DigitClassifier", "digit_classifier", "digit_features", "frechet_distance",
            "frechet_distance_gaussians", "digit_fd", "digit_fd_floor", "digit_label_histogram"]

CLASSIFIER_VERSION = "digits-cnn-v1"  # change when the recipe below changes: the disk cache is keyed on it
_CLASSIFIER_CACHE: dict = {}


def digits_split(test_fraction: float = 0.25, seed: int = 0):
    """The fixed split of ``gan_edu.data.digits()``: a seeded permutation, the last
    ``test_fraction`` of it for test. Returns ``x_train, y_train, x_test, y_test``."""
    from .data import digits

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    x, y = digits()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(len(x) * test_fraction))
    tr, te = order[:-n_test], order[-n_test:]
    return x[tr], y[tr], x[te], y[te]


class DigitClassifier(_nn.Module):
    """1x8x8 image in [-1, 1] -> 10 logits. ``features(x)`` is the 64-d penultimate layer."""

    feature_dim = 64

    def __init__(self):
        super().__init__()
        self.body = _nn.Sequential(
            _nn.Conv2d(1, 32, 3, 1, 1), _nn.ReLU(),           # 32 x 8 x 8
            _nn.Conv2d(32, 64, 3, 2, 1), _nn.ReLU(),          # 64 x 4 x 4
            _nn.Flatten(), _nn.Linear(64 * 16, self.feature_dim), _nn.ReLU(),
        )
        self.head = _nn.Linear(self.feature_dim, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _cache_path() -> _Path:
    root = _Path(_os.environ.get("GAN_EDU_DATA", _Path.home() / ".cache" / "gan_edu"))
    return root / f"{CLASSIFIER_VERSION}.pt"


def _train_digit_classifier(epochs: int = 30, batch_size: int = 64, seed: int = 0) -> DigitClassifier:
    """Adam on the training split, mini-batches in a seeded order, on the CPU: the same
    weights on every run (up to the CPU's floating-point summation order)."""
    x, y, _, _ = digits_split()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = DigitClassifier()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    net.train()
    with torch.enable_grad():  # the first call may come from inside torch.no_grad()
        _fit_classifier(net, opt, x, y, epochs, batch_size, gen)
    return net.eval().requires_grad_(False)


def _fit_classifier(net, opt, x, y, epochs, batch_size, gen) -> None:
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            loss = _nn.functional.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


def digit_classifier(cache: bool = True) -> DigitClassifier:
    """The digit classifier for the image metrics, trained once (a few seconds on a CPU).

    Cached in memory and on disk (``~/.cache/gan_edu/`` or ``$GAN_EDU_DATA``); ``cache=False``
    trains afresh and caches nothing. Always on the CPU, in eval mode, without gradients.
    """
    path = _cache_path()
    if cache and path in _CLASSIFIER_CACHE:
        return _CLASSIFIER_CACHE[path]
    net = None
    if cache and path.exists():
        try:
            net = DigitClassifier()
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            net.eval().requires_grad_(False)
        except Exception:  # a corrupted cache file: train again and overwrite it
            net = None
    if net is None:
        net = _train_digit_classifier()
        if cache:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{_os.getpid()}.tmp")
                torch.save(net.state_dict(), tmp)
                _os.replace(tmp, path)
            except OSError:  # a read-only home: keep the in-memory cache only
                pass
    if cache:
        _CLASSIFIER_CACHE[path] = net
    return net


def _as_digit_images(images) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError("images must be a floating-point torch.Tensor of shape (n, 1, 8, 8) in [-1, 1]")
    images = images.detach().float().cpu()
    if images.ndim == 3:
        images = images.unsqueeze(1)
    if images.shape[1:] != (1, 8, 8) or len(images) < 2:
        raise ValueError(f"images must have shape (n, 1, 8, 8) with n >= 2, got {tuple(images.shape)}")
    return images.contiguous()


@torch.no_grad()
def digit_features(images: torch.Tensor) -> torch.Tensor:
    """The classifier's penultimate-layer features (n, 64) of 8x8 digit images."""
    return digit_classifier().features(_as_digit_images(images))


def frechet_distance_gaussians(mu1, sigma1, mu2, sigma2) -> float:
    r"""Fréchet (2-Wasserstein) distance² between N(mu1, sigma1) and N(mu2, sigma2):

    FD = ||mu1 - mu2||² + Tr(sigma1 + sigma2 - 2 (sigma1^{1/2} sigma2 sigma1^{1/2})^{1/2}).

    (Tr (sigma1 sigma2)^{1/2} = Tr (sigma1^{1/2} sigma2 sigma1^{1/2})^{1/2}: a symmetric matrix,
    so its square root comes from an eigendecomposition, in float64.)
    """
    mu1, mu2 = _np.asarray(mu1, dtype=_np.float64), _np.asarray(mu2, dtype=_np.float64)
    s1, s2 = _np.asarray(sigma1, dtype=_np.float64), _np.asarray(sigma2, dtype=_np.float64)

    def sqrt_psd(m):
        w, v = _np.linalg.eigh((m + m.T) / 2)
        return (v * _np.sqrt(_np.clip(w, 0, None))) @ v.T

    root1 = sqrt_psd(s1)
    cross = _np.sqrt(_np.clip(_np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)).sum()
    return float(max(((mu1 - mu2) ** 2).sum() + _np.trace(s1) + _np.trace(s2) - 2 * cross, 0.0))


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted (mean, covariance) to two sets of feature rows."""
    a = _np.asarray(torch.as_tensor(features_a).detach().double().cpu())
    b = _np.asarray(torch.as_tensor(features_b).detach().double().cpu())
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"features must be two (n, d) arrays with the same d and n >= 2, got "
                         f"{a.shape} and {b.shape}")
    return frechet_distance_gaussians(a.mean(0), _np.cov(a, rowvar=False), b.mean(0), _np.cov(b, rowvar=False))


def digit_fd(images: torch.Tensor, reference: str = "train") -> float:
    """FD between ``images`` and the real digits (``reference``: ``"train"`` or ``"test"``
    split) in the digit classifier's feature space. Compare to ``digit_fd_floor()``, with as
    many images as the test split (449): FD is biased upwards for small sets."""
    if reference not in ("train", "test"):
        raise ValueError(f"reference must be 'train' or 'test', got {reference!r}")
    x_train, _, x_test, _ = digits_split()
    real = x_train if reference == "train" else x_test
    return frechet_distance(digit_features(images), digit_features(real))


def digit_fd_floor() -> float:
    """FD(real test split, real train split): what a perfect generator scores with 449 images."""
    return digit_fd(digits_split()[2], reference="train")


@torch.no_grad()
def digit_label_histogram(images: torch.Tensor, min_fraction: float = 0.02) -> dict:
    """The classifier's labels for ``images`` against the uniform 1/10 (mode coverage).

    Returns ``dict(counts, fractions, modes, of=10, kl_uniform)``: ``modes`` counts digits that
    get at least ``min_fraction`` of the images; ``kl_uniform`` = KL(p || uniform) = log 10 - H(p),
    0 for a perfectly balanced generator, log 10 = 2.30 when it draws a single digit.
    """
    labels = digit_classifier()(_as_digit_images(images)).argmax(1)
    counts = torch.bincount(labels, minlength=10)
    p = counts.double() / counts.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum().item()
    return dict(counts=counts.tolist(), fractions=p.tolist(), modes=int((p >= min_fraction).sum()), of=10,
                kl_uniform=_math.log(10) - entropy)


# ---------------------------------------------------------------------------- densities on a grid
# Live KL / JS estimates and the optimal discriminator D* for 1D/2D toy data, from samples:
# a Gaussian kernel density estimate, binned on a regular grid over [lo, hi]^d (the grid the
# plots draw), normalised to integrate to 1 on that grid.
from . import losses as _losses

__all__ += ["grid_axis", "grid_points", "density_on_grid", "divergences_on_grid", "optimal_discriminator_on_grid"]


def _limits(lim) -> tuple[float, float]:
    """``lim`` as (lo, hi): a number L means [-L, L]."""
    if isinstance(lim, (tuple, list)) and len(lim) == 2:
        lo, hi = float(lim[0]), float(lim[1])
    elif isinstance(lim, (int, float)) and not isinstance(lim, bool):
        lo, hi = -float(lim), float(lim)
    else:
        raise ValueError(f"lim must be a number L (the box [-L, L]) or a pair (lo, hi), got {lim!r}")
    if not (_math.isfinite(lo) and _math.isfinite(hi) and lo < hi):
        raise ValueError(f"lim must give a finite interval lo < hi, got {lim!r}")
    return lo, hi


def grid_axis(lim, bins: int = 64) -> tuple[_np.ndarray, float]:
    """The ``bins`` cell centres of [lo, hi] and the cell width h = (hi - lo) / bins."""
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    lo, hi = _limits(lim)
    h = (hi - lo) / bins
    return lo + h * (_np.arange(bins) + 0.5), h


def grid_points(lim, bins: int = 64, dim: int = 2) -> torch.Tensor:
    """The grid's cell centres as a (bins**dim, dim) float32 tensor, in the order of
    ``density.reshape(-1)``: in 2D row i, column j is the point (x1 = c[j], x2 = c[i]), so
    ``density`` draws with ``imshow(density, origin="lower", extent=(lo, hi, lo, hi))``."""
    c, _ = grid_axis(lim, bins)
    if dim == 1:
        return torch.tensor(c, dtype=torch.float32).reshape(-1, 1)
    if dim != 2:
        raise ValueError(f"dim must be 1 or 2, got {dim!r}")
    x1, x2 = _np.meshgrid(c, c, indexing="xy")
    return torch.tensor(_np.stack([x1.reshape(-1), x2.reshape(-1)], 1), dtype=torch.float32)


def _as_points(samples, name: str) -> _np.ndarray:
    x = _np.asarray(torch.as_tensor(samples).detach().double().cpu())
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] not in (1, 2) or len(x) == 0:
        raise ValueError(f"{name} must have shape (n, 1) or (n, 2) with n >= 1, got {tuple(x.shape)}")
    if not _np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def density_on_grid(samples, lim, bins: int = 64, bandwidth: float | None = None) -> _np.ndarray:
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
    if not (_math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"bandwidth must be a positive number, got {bandwidth!r}")
    idx = _np.floor((x - lo) / h).astype(_np.int64)
    inside = ((idx >= 0) & (idx < bins)).all(1)
    if not inside.any():
        raise ValueError(f"no sample lies inside the grid [{lo:g}, {hi:g}]^{x.shape[1]}: widen lim")
    idx = idx[inside]
    kernel = _np.exp(-0.5 * ((c[:, None] - c[None, :]) / sigma) ** 2)
    if x.shape[1] == 1:
        counts = _np.bincount(idx[:, 0], minlength=bins).astype(float)
        p = kernel @ counts
    else:
        counts = _np.zeros((bins, bins))
        _np.add.at(counts, (idx[:, 1], idx[:, 0]), 1.0)  # row: x2, column: x1
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
    lo, hi = _limits(lim)
    return float(((x < lo) | (x > hi)).any(1).mean())


def divergences_on_grid(real, fake, lim, bins: int = 64, bandwidth: float | None = None,
                        floor: float = 1e-6, d=None) -> dict:
    r"""KL and JS divergences between the densities of real and generated samples on a grid.

    Both densities come from ``density_on_grid`` (same grid, same bandwidth); each is mixed
    with a uniform density of weight ``floor``, p ← (1 - floor) p + floor / |box|, so that a
    mode G misses gives a large but finite KL instead of infinity. Then, with dA the cell
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
    out = dict(kl=_losses.kl_divergence(p_data, p_g, area), reverse_kl=_losses.kl_divergence(p_g, p_data, area),
               js=_losses.jensen_shannon(p_data, p_g, area),
               v_star=_losses.virtual_training_criterion(p_data, p_g, area),
               outside_real=_outside(real, lim), outside_fake=_outside(fake, lim))
    if d is not None:
        d = _np.asarray(torch.as_tensor(d).detach().double().cpu()).reshape(p_data.shape)
        out["v"] = _losses.value_function_on_grid(d, p_data, p_g, area)
    return out


def optimal_discriminator_on_grid(real, fake, lim, bins: int = 64, bandwidth: float | None = None,
                                  support: float = 1e-3) -> _np.ndarray:
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
    d_star = _losses.optimal_discriminator(p_data, p_g)
    d_star[total < support * total.max()] = 0.5
    return d_star


# ---------------------------------------------------------------------------- tracking during fit
__all__ += ["DivergenceTracker"]


class DivergenceTracker:
    """A ``fit`` callback recording the grid estimates every ``every`` rounds (and at round 0
    when called before training): ``tracker(gan)``.

    ``real``: a fixed set of real samples (n, 1 or 2); ``lim``, ``bins``, ``bandwidth``: the grid
    of ``divergences_on_grid``. G's samples come from ``n`` *fixed* noise draws (seeded by
    ``seed``, drawn once from the GAN's prior): the GAN's own noise generator is not touched, so
    tracking does not change the training, and the curves show G changing, not sampling noise.
    With ``modes`` and ``std`` it also records ``mode_coverage`` (``modes``, ``of``,
    ``high_quality``); with ``with_d=True`` also V(D, G) on the grid for the learned D (``v``).
    ``history`` holds one list per quantity, plus ``step``.
    """

    def __init__(self, real, lim, every: int = 100, n: int = 2500, bins: int = 64, bandwidth: float | None = None,
                 modes=None, std: float | None = None, with_d: bool = False, seed: int = 0):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer (rounds between records), got {every!r}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer (samples per record), got {n!r}")
        if (modes is None) != (std is None):
            raise ValueError("give both modes and std (for mode coverage) or neither")
        self.real = torch.as_tensor(real).detach().float().cpu()
        _as_points(self.real, "real")
        _limits(lim)
        self.lim, self.every, self.n, self.bins, self.bandwidth = lim, every, n, bins, bandwidth
        self.modes, self.std, self.with_d, self.seed = modes, std, with_d, seed
        self._z = None
        self.history: dict[str, list] = {"step": []}

    def noise(self, gan) -> torch.Tensor:
        """The tracker's fixed noise, drawn from the GAN's prior with the tracker's own seed."""
        if self._z is None or self._z.shape[1] != gan.noise_dim:
            g = torch.Generator().manual_seed(self.seed)
            if getattr(gan, "noise_kind", "normal") == "uniform":
                self._z = torch.rand(self.n, gan.noise_dim, generator=g) * 2 - 1
            else:
                self._z = torch.randn(self.n, gan.noise_dim, generator=g)
        return self._z

    def __call__(self, gan) -> None:
        if gan.step % self.every:
            return
        fake = gan.sample(z=self.noise(gan))
        d = None
        if self.with_d:
            d = gan.discriminate(grid_points(self.lim, self.bins, dim=self.real.shape[1]))
        record = {"step": gan.step, **divergences_on_grid(self.real, fake, self.lim, self.bins, self.bandwidth, d=d)}
        if self.modes is not None:
            cov = mode_coverage(fake, self.modes, self.std)
            record.update(modes=cov["modes"], of=cov["of"], high_quality=cov["high_quality"])
        for key, value in record.items():
            if key == "of":
                self.history["of"] = value
            else:
                self.history.setdefault(key, []).append(value)

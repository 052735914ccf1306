"""Images: digits. A Fréchet distance (as FID, Heusel et al. 2017) in the feature space of a small
classifier trained on the 8x8 digits, the histogram of the labels it gives generated images, and a
memorisation check (does G copy its training digits?).
Inception features mean nothing for 8x8 digits; a classifier trained on the digits does.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["digits_split", "DigitClassifier", "digit_classifier", "digit_features", "frechet_distance",
           "frechet_distance_gaussians", "digit_fd", "digit_fd_floor", "digit_label_histogram", "nearest_distances",
           "memorisation"]

CLASSIFIER_VERSION = "digits-cnn-v1"  # change when the recipe below changes: the disk cache is keyed on it
_CLASSIFIER_CACHE: dict = {}


def digits_split(test_fraction: float = 0.25, seed: int = 0):
    """The fixed split of ``gan_edu.data.digits()``: a seeded permutation, the last
    ``test_fraction`` of it for test. Returns ``x_train, y_train, x_test, y_test``."""
    from ..data import digits

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    x, y = digits()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(len(x) * test_fraction))
    tr, te = order[:-n_test], order[-n_test:]
    return x[tr], y[tr], x[te], y[te]


class DigitClassifier(nn.Module):
    """1x8x8 image in [-1, 1] -> 10 logits. ``features(x)`` is the 64-d penultimate layer."""

    feature_dim = 64

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, 1, 1), nn.ReLU(),           # 32 x 8 x 8
            nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),          # 64 x 4 x 4
            nn.Flatten(), nn.Linear(64 * 16, self.feature_dim), nn.ReLU(),
        )
        self.head = nn.Linear(self.feature_dim, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _cache_path() -> Path:
    root = Path(os.environ.get("GAN_EDU_DATA", Path.home() / ".cache" / "gan_edu"))
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
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
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
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                torch.save(net.state_dict(), tmp)
                os.replace(tmp, path)
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
    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    s1, s2 = np.asarray(sigma1, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)

    def sqrt_psd(m):
        w, v = np.linalg.eigh((m + m.T) / 2)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T

    root1 = sqrt_psd(s1)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)).sum()
    return float(max(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * cross, 0.0))


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted (mean, covariance) to two sets of feature rows."""
    a = np.asarray(torch.as_tensor(features_a).detach().double().cpu())
    b = np.asarray(torch.as_tensor(features_b).detach().double().cpu())
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"features must be two (n, d) arrays with the same d and n >= 2, got "
                         f"{a.shape} and {b.shape}")
    return frechet_distance_gaussians(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def digit_fd(images: torch.Tensor, reference: str = "train") -> float:
    """FD between ``images`` and the real digits (``reference``: ``"train"`` or ``"test"``
    split) in the digit classifier's feature space. Compare to ``digit_fd_floor()`` with as many
    images as the *other* split: 449 (the test split's size) against ``"train"``, 1,348 (the
    training split's) against ``"test"``; FD is biased upwards for small sets.

    A G should be judged against ``"test"``, digits it never saw: against ``"train"``, a G that
    copied its training digits would score 0 (``memorisation`` measures the copying itself)."""
    if reference not in ("train", "test"):
        raise ValueError(f"reference must be 'train' or 'test', got {reference!r}")
    x_train, _, x_test, _ = digits_split()
    real = x_train if reference == "train" else x_test
    return frechet_distance(digit_features(images), digit_features(real))


def digit_fd_floor() -> float:
    """FD(real train split, real test split), what real digits score against real digits. FD is
    symmetric, so this one number is the floor of both ``digit_fd(images, "test")`` with 1,348
    images (a G that drew exactly its training digits would score it) and ``digit_fd(images,
    "train")`` with 449 (the test split in place of the images)."""
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
                kl_uniform=math.log(10) - entropy)


# ---------------------------------------------------------------------------- memorisation
def _as_rows(name: str, images) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or not images.is_floating_point() or images.ndim < 2 or len(images) < 1:
        raise TypeError(f"{name} must be a floating-point torch.Tensor of n >= 1 images, got "
                        f"{type(images).__name__} {tuple(getattr(images, 'shape', ()))}")
    rows = images.detach().double().cpu().reshape(len(images), -1)
    if not torch.isfinite(rows).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return rows


def nearest_distances(images, reference) -> torch.Tensor:
    """For each of ``images`` (n, ...) the Euclidean distance, pixel by pixel, to its nearest
    image of ``reference`` (m, ...): a tensor (n,), float64. 0 for an exact copy."""
    a, b = _as_rows("images", images), _as_rows("reference", reference)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"images and reference must have the same number of pixels, got {a.shape[1]} and {b.shape[1]}")
    return torch.cat([torch.cdist(chunk, b).min(1).values for chunk in a.split(1024)])


def memorisation(generated, train, held_out, quantile: float = 0.05, flag_at: float = 0.2) -> dict:
    """Does G copy its training digits? Each generated image's distance to its nearest training
    image, against the same distance for real digits G never saw (``held_out``).

    A real unseen digit falls closer to a training digit than the ``quantile`` (5%) of the
    held-out distances in about 5% of cases; a G that draws new digits like the real ones does
    the same, a G that copies its training digits far more often (nearly always, at distance 0).
    Returns a dict: ``generated`` and ``held_out`` (the distances), their medians
    ``median_generated`` and ``median_held_out``, ``ratio`` (generated median / held-out median:
    about 1 for new digits, near 0 for copies), ``threshold`` (the held-out ``quantile``),
    ``close_fraction`` (the share of generated images nearer a training image than ``threshold``;
    about ``quantile`` for new digits) and ``copying`` (``close_fraction > flag_at``).
    """
    if not 0 < quantile < 1 or not quantile < flag_at < 1:
        raise ValueError(f"need 0 < quantile < flag_at < 1, got quantile={quantile!r}, flag_at={flag_at!r}")
    d_gen, d_held = nearest_distances(generated, train), nearest_distances(held_out, train)
    threshold = torch.quantile(d_held, quantile).item()
    close = (d_gen < threshold).double().mean().item()
    med_gen, med_held = d_gen.median().item(), d_held.median().item()
    return dict(generated=d_gen, held_out=d_held, median_generated=med_gen, median_held_out=med_held,
                ratio=med_gen / med_held if med_held > 0 else math.inf, threshold=threshold, quantile=quantile,
                close_fraction=close, copying=close > flag_at)

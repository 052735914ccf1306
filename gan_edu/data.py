"""Real data for the games: toy distributions, offline 8x8 digits, and MNIST.

A *sampler* is any callable ``sampler(n) -> Tensor`` of shape ``(n, *data_shape)``. The
samplers here are small classes with their own seeded random generator, so a run is
reproducible whatever else the notebook draws.
"""
from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
import torch

from .checks import check_count, check_keys, check_real, check_seed, is_number

__all__ = ["Sampler", "Gaussian1D", "GaussianMixture", "ring", "grid", "TwoMoons", "Spiral",
           "PointCloud", "from_points", "TensorSampler", "digits", "mnist", "read_idx", "MNIST_FILES", "MNIST_MIRRORS"]


class Sampler:
    """Base class: ``sampler(n)`` returns ``n`` float32 samples drawn with ``self.generator``."""

    data_shape: tuple = ()

    def __init__(self, seed: int = 0):
        self.seed = check_seed("seed", seed)
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, n: int) -> torch.Tensor:
        if not is_number(n, integer=True) or n <= 0:
            raise ValueError(f"n (the number of samples) must be a positive integer, got {n!r}")
        return self.sample(n)

    def sample(self, n: int) -> torch.Tensor:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _randn(self, *shape) -> torch.Tensor:
        return torch.randn(*shape, generator=self.generator)

    def _rand(self, *shape) -> torch.Tensor:
        return torch.rand(*shape, generator=self.generator)


class Gaussian1D(Sampler):
    """p_data = N(mean, std²) in one dimension; samples have shape (n, 1)."""

    data_shape = (1,)

    def __init__(self, mean: float = 4.0, std: float = 0.5, seed: int = 0):
        super().__init__(seed)
        self.mean = check_real("mean", mean)
        self.std = check_real("std", std, 0.0, low_open=True)

    def sample(self, n):
        return self.mean + self.std * self._randn(n, 1)

    def density(self, x) -> np.ndarray:
        """p(x) = exp(-(x - mean)² / (2 std²)) / (std √(2π))."""
        x = np.asarray(x, dtype=float)
        return np.exp(-0.5 * ((x - self.mean) / self.std) ** 2) / (self.std * math.sqrt(2 * math.pi))


class GaussianMixture(Sampler):
    """An equal-weight mixture of isotropic Gaussians N(mode_k, std² I) in 2D.

    ``modes`` (k, 2) and ``std`` are what the mode-coverage metrics measure against.
    """

    data_shape = (2,)

    def __init__(self, modes, std: float, seed: int = 0):
        super().__init__(seed)
        self.std = check_real("std", std, 0.0, low_open=True)
        self.modes = torch.as_tensor(modes, dtype=torch.float32).reshape(-1, 2)
        if len(self.modes) == 0 or not torch.isfinite(self.modes).all():
            raise ValueError(f"modes must be at least one finite point (k, 2), got {tuple(self.modes.shape)} "
                             f"{'with NaN or infinite values' if len(self.modes) else ''}")

    def sample(self, n):
        k = torch.randint(len(self.modes), (n,), generator=self.generator)
        return self.modes[k] + self.std * self._randn(n, 2)

    def density(self, xy) -> np.ndarray:
        """p(x) = (1/k) Σ_k N(x; mode_k, std² I), for points of shape (..., 2)."""
        xy = np.asarray(xy, dtype=float)[..., None, :]
        d2 = ((xy - self.modes.numpy()) ** 2).sum(-1)
        return np.exp(-0.5 * d2 / self.std**2).mean(-1) / (2 * math.pi * self.std**2)


MAX_MODES = 100_000


def _check_modes(name: str, k, power: int) -> int:
    """A number of modes per axis: an integer >= 1 with k**power at most ``MAX_MODES``."""
    k = check_count(name, k)
    if k ** power > MAX_MODES:
        raise ValueError(f"{name}={k} gives {k ** power} modes; at most {MAX_MODES} make sense here")
    return k


def ring(k: int = 8, radius: float = 2.0, std: float = 0.02, seed: int = 0) -> GaussianMixture:
    """k Gaussians evenly spaced on a circle (the mode-collapse benchmark: k=8, r=2, std=0.02)."""
    k, radius = _check_modes("k", k, 1), check_real("radius", radius, 0.0, low_open=True)
    angles = torch.arange(k, dtype=torch.float64) * 2 * math.pi / k
    modes = radius * torch.stack([torch.cos(angles), torch.sin(angles)], 1)
    return GaussianMixture(modes, std, seed)


def grid(k: int = 5, spacing: float = 2.0, std: float = 0.05, seed: int = 0) -> GaussianMixture:
    """k x k Gaussians on a square grid centred at 0 (benchmark: k=5 at -4..4, std=0.05)."""
    k, spacing = _check_modes("k", k, 2), check_real("spacing", spacing, 0.0, low_open=True)
    ticks = (torch.arange(k, dtype=torch.float64) - (k - 1) / 2) * spacing
    modes = torch.cartesian_prod(ticks, ticks)
    return GaussianMixture(modes, std, seed)


class TwoMoons(Sampler):
    """Two interleaved half circles with Gaussian noise, centred near the origin."""

    data_shape = (2,)

    def __init__(self, noise: float = 0.05, seed: int = 0):
        super().__init__(seed)
        self.noise = check_real("noise", noise, 0.0)

    def sample(self, n):
        t = math.pi * self._rand(n)
        upper = self._rand(n) < 0.5
        x = torch.where(upper, torch.cos(t), 1 - torch.cos(t))
        y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
        return torch.stack([x - 0.5, y - 0.25], 1) * 1.5 + self.noise * self._randn(n, 2)


class Spiral(Sampler):
    """One arm of an Archimedean spiral, r grows linearly with the angle, plus noise."""

    data_shape = (2,)

    def __init__(self, turns: float = 1.5, noise: float = 0.05, seed: int = 0):
        super().__init__(seed)
        self.turns = check_real("turns", turns, 0.0, low_open=True)
        self.noise = check_real("noise", noise, 0.0)

    def sample(self, n):
        t = self._rand(n).sqrt() * self.turns * 2 * math.pi
        r = 2 * t / (self.turns * 2 * math.pi)
        xy = torch.stack([r * torch.cos(t), r * torch.sin(t)], 1)
        return xy + self.noise * self._randn(n, 2)


def check_jitter(jitter) -> float:
    """A ``PointCloud``'s spread: a finite number >= 0 (a clear ValueError otherwise)."""
    if not is_number(jitter) or not 0 <= jitter < math.inf:
        raise ValueError(f"jitter must be a finite number >= 0, got {jitter!r}")
    return float(jitter)


class PointCloud(Sampler):
    """Data from points a student drew or loaded: draw points with replacement, plus jitter.

    p_data = (1/n) Σ_i N(x; point_i, jitter² I): an equal-weight Gaussian mixture centred on
    the points (so G has a smooth target, not n spikes). ``points`` is a list, NumPy array or
    tensor of shape (n, 2) (or (n, 1) for 1D data) with n >= 2 finite values.
    """

    def __init__(self, points, jitter: float = 0.02, seed: int = 0):
        super().__init__(seed)
        try:
            pts = torch.as_tensor(np.asarray(points.detach().cpu() if isinstance(points, torch.Tensor) else points,
                                             dtype=np.float64), dtype=torch.float32)
        except (TypeError, ValueError):
            raise TypeError("points must be a list, NumPy array or tensor of numbers of shape (n, 2) or (n, 1), "
                            f"got {type(points).__name__}") from None
        if pts.ndim != 2 or pts.shape[1] not in (1, 2):
            raise ValueError(f"points must have shape (n, 2) (or (n, 1) for 1D data), got {tuple(pts.shape)}")
        if len(pts) < 2:
            raise ValueError(f"need at least 2 points to train on, got {len(pts)}")
        if not torch.isfinite(pts).all():
            raise ValueError("points contain NaN or infinite values")
        self.points, self.jitter = pts, check_jitter(jitter)
        self.data_shape = (pts.shape[1],)

    def sample(self, n):
        idx = torch.randint(len(self.points), (n,), generator=self.generator)
        return self.points[idx] + self.jitter * self._randn(n, self.points.shape[1])

    def density(self, x) -> np.ndarray:
        """p(x) = (1/n) Σ_i N(x; point_i, jitter² I) for points x of shape (..., d); needs jitter > 0."""
        if self.jitter == 0:
            raise ValueError("with jitter=0 the data are point masses: they have no density")
        d = self.points.shape[1]
        x = np.asarray(x, dtype=float).reshape(-1, d) if d == 1 else np.asarray(x, dtype=float)
        d2 = ((x[..., None, :] - self.points.double().numpy()) ** 2).sum(-1)
        return np.exp(-0.5 * d2 / self.jitter**2).mean(-1) / (2 * math.pi * self.jitter**2) ** (d / 2)

    def __len__(self):
        return len(self.points)


def from_points(points, jitter: float = 0.02, seed: int = 0) -> PointCloud:
    """A sampler from an array of points (n, 2) or (n, 1): see ``PointCloud``."""
    return PointCloud(points, jitter=jitter, seed=seed)


class TensorSampler(Sampler):
    """Draws random rows (with replacement) of a fixed tensor, e.g. a whole image dataset.

    ``.to(device)`` keeps the dataset resident on a GPU: a batch is then one indexing op,
    no DataLoader and no host-to-device copy per step.
    """

    def __init__(self, data: torch.Tensor, seed: int = 0):
        super().__init__(seed)
        if not isinstance(data, torch.Tensor) or not data.is_floating_point() or data.ndim < 2:
            raise TypeError("data must be a floating-point torch.Tensor of shape (n, *data_shape)")
        if len(data) == 0:
            raise ValueError(f"data must hold at least one sample, got shape {tuple(data.shape)}")
        self.data = data
        self.data_shape = tuple(data.shape[1:])

    def to(self, device) -> "TensorSampler":
        self.data = self.data.to(device)
        if self.generator.device != self.data.device:
            self.generator = torch.Generator(self.data.device).manual_seed(self.seed)
        return self

    def sample(self, n):
        idx = torch.randint(len(self.data), (n,), generator=self.generator, device=self.data.device)
        return self.data[idx]

    def __len__(self):
        return len(self.data)


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 handwritten 8x8 digits (ships offline): images (n, 1, 8, 8) in
    [-1, 1] as float32, and labels (n,) as int64."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16 * 2 - 1
    return images, torch.tensor(d.target, dtype=torch.int64)


# ---------------------------------------------------------------------------- MNIST
MNIST_FILES = {  # file name -> MD5 of the gzip file as published
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
DEFAULT_MNIST_ROOT = Path(os.environ.get("GAN_EDU_DATA", Path.home() / ".cache" / "gan_edu")) / "mnist"


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _download(name: str, root: Path, md5: str, mirrors) -> Path:
    """Fetch ``name`` into ``root`` (atomically) from the first mirror that serves it."""
    path = root / name
    errors = []
    for mirror in mirrors:
        url = mirror + name
        fd, tmp = tempfile.mkstemp(dir=root, prefix=name + ".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
                shutil.copyfileobj(resp, out)
            got = _md5(Path(tmp))
            if got != md5:
                errors.append(f"{url}: checksum mismatch (MD5 {got}, expected {md5})")
                continue
            os.replace(tmp, path)
            return path
        except OSError as err:  # URLError, timeouts and HTTP errors are OSErrors
            errors.append(f"{url}: {err}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise RuntimeError(f"could not download MNIST file {name}: " + "; ".join(errors)
                       + ". Without internet, use gan_edu.data.digits() (8x8 digits, offline).")


def read_idx(path) -> np.ndarray:
    """Parse an IDX file (gzip or raw), the format MNIST ships in.

    Header: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions,
    then each dimension as a big-endian uint32; then the data, row-major.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist (no IDX file there)") from None
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{path} is corrupted or truncated ({err}); delete it and download again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number {raw[:4].hex()!r})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is truncated: header needs {header} bytes, file has {len(raw)}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + math.prod(shape)  # Python's integers: a huge header cannot wrap round
    if len(raw) != expected:
        raise ValueError(f"{path} is truncated or corrupted: shape {shape} needs {expected} bytes, "
                         f"file has {len(raw)}; delete it and download again")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def mnist(root=None, split: str = "train", download: bool = True, mirrors=MNIST_MIRRORS,
          checksums=None) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST without torchvision: images (n, 1, 28, 28) in [-1, 1] (float32), labels (n,).

    The four IDX files are downloaded once into ``root`` (default ``~/.cache/gan_edu/mnist``,
    or ``$GAN_EDU_DATA/mnist``), their MD5 checksums verified, and read from that cache after.
    ``checksums``: file name -> MD5 (default ``MNIST_FILES``), with an entry for each file of the split.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = "train" if split == "train" else "t10k"
    names = [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"]
    checksums = check_keys("checksums", MNIST_FILES if checksums is None else checksums, names)
    root = Path(DEFAULT_MNIST_ROOT if root is None else root).expanduser()
    for name in names:
        path = root / name
        if path.exists():
            if _md5(path) != checksums[name]:
                raise ValueError(f"{path} fails its checksum (corrupted or truncated); delete it "
                                 "and call mnist() again to download it afresh")
        elif download:
            root.mkdir(parents=True, exist_ok=True)
            _download(name, root, checksums[name], mirrors)
        else:
            raise FileNotFoundError(f"{path} is missing; call mnist(download=True) to fetch it")
    images, labels = (read_idx(root / name) for name in names)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"MNIST files in {root} do not match: images {images.shape}, labels {labels.shape}")
    x = torch.from_numpy(images.copy()).float().unsqueeze(1) / 255 * 2 - 1
    return x, torch.from_numpy(labels.astype(np.int64))

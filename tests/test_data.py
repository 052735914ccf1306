"""gan_edu.data: the toy samplers, digits, MNIST from a checked download, and point clouds."""
import gzip
import hashlib
import math
import struct

import numpy as np
import pytest
import torch

from gan_edu import data, metrics


@pytest.mark.parametrize("make", [lambda: data.Gaussian1D(), data.ring, data.grid, data.TwoMoons, data.Spiral])
def test_samplers_shape_dtype_and_seed(make):
    s = make()
    x = s(300)
    assert x.dtype == torch.float32 and x.shape == (300, *s.data_shape)
    assert torch.equal(make()(300), x)  # same seed, same samples
    assert not torch.equal(s(300), x)   # the stream moves on


def test_sampler_rejects_bad_n():
    with pytest.raises(ValueError, match="n"):
        data.ring()(0)
    with pytest.raises(ValueError, match="n"):
        data.ring()(2.5)


def test_ring_and_grid_match_the_benchmark_protocol():
    r = data.ring()
    assert r.modes.shape == (8, 2) and r.std == 0.02
    assert torch.allclose(r.modes.norm(dim=1), torch.full((8,), 2.0))
    g = data.grid()
    assert g.modes.shape == (25, 2) and g.std == 0.05
    assert sorted(set(g.modes[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_gaussian_density_integrates_to_one_and_matches_samples():
    s = data.Gaussian1D(mean=1.0, std=0.5)
    x = np.linspace(-4, 6, 5001)
    assert np.sum(s.density(x)) * (x[1] - x[0]) == pytest.approx(1.0, abs=1e-6)
    samples = s(20000)
    assert samples.mean().item() == pytest.approx(1.0, abs=0.02)
    assert samples.std().item() == pytest.approx(0.5, abs=0.02)


def test_tensor_sampler_draws_rows():
    base = torch.arange(20, dtype=torch.float32).reshape(10, 2)
    s = data.TensorSampler(base)
    x = s(7)
    assert x.shape == (7, 2)
    assert all(any(torch.equal(row, b) for b in base) for row in x)
    with pytest.raises(TypeError, match="floating"):
        data.TensorSampler(torch.arange(10).reshape(5, 2))


def test_digits_offline():
    x, y = data.digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == torch.float32
    assert x.min() == -1 and x.max() == 1
    assert y.shape == (1797,) and set(y.tolist()) == set(range(10))


# ----------------------------------------------------------------------------- MNIST
def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file: 0, 0, type 0x08, ndim, dims (big-endian uint32), then the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def mirror(tmp_path):
    """A tiny fake MNIST served from a file:// mirror: 5 train and 3 test images."""
    src = tmp_path / "mirror"
    src.mkdir()
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (5, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.array([0, 1, 2, 3, 4]),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": np.array([7, 8, 9]),
    }
    checksums = {}
    for name, arr in arrays.items():
        (src / name).write_bytes(gzip.compress(idx_bytes(arr)))
        checksums[name] = hashlib.md5((src / name).read_bytes()).hexdigest()
    return dict(src=src, arrays=arrays, checksums=checksums, mirrors=(src.as_uri() + "/",))


def test_mnist_downloads_checks_caches_and_parses(mirror, tmp_path):
    root = tmp_path / "cache"
    x, y = data.mnist(root, "train", mirrors=mirror["mirrors"], checksums=mirror["checksums"])
    assert x.shape == (5, 1, 28, 28) and x.dtype == torch.float32
    expected = torch.tensor(mirror["arrays"]["train-images-idx3-ubyte.gz"], dtype=torch.float32) / 255 * 2 - 1
    assert torch.allclose(x[:, 0], expected)
    assert y.tolist() == [0, 1, 2, 3, 4]
    assert (root / "train-images-idx3-ubyte.gz").exists()
    # cached: works with the mirror gone, and without download
    for f in mirror["src"].iterdir():
        f.unlink()
    x2, _ = data.mnist(root, "train", download=False, checksums=mirror["checksums"])
    assert torch.equal(x, x2)


def test_mnist_test_split(mirror, tmp_path):
    x, y = data.mnist(tmp_path / "c", "test", mirrors=mirror["mirrors"], checksums=mirror["checksums"])
    assert x.shape == (3, 1, 28, 28) and y.tolist() == [7, 8, 9]


def test_mnist_rejects_a_download_with_the_wrong_checksum(mirror, tmp_path):
    bad = dict(mirror["checksums"], **{"train-images-idx3-ubyte.gz": "0" * 32})
    with pytest.raises(RuntimeError, match="checksum mismatch"):
        data.mnist(tmp_path / "c", mirrors=mirror["mirrors"], checksums=bad)
    assert not any((tmp_path / "c").glob("train-images*"))  # nothing half-written left in the cache


def test_mnist_detects_a_corrupted_cache(mirror, tmp_path):
    root = tmp_path / "c"
    data.mnist(root, mirrors=mirror["mirrors"], checksums=mirror["checksums"])
    path = root / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="checksum"):
        data.mnist(root, mirrors=mirror["mirrors"], checksums=mirror["checksums"])


def test_mnist_unreachable_mirror_is_clear(tmp_path):
    with pytest.raises(RuntimeError, match="could not download MNIST.*digits"):
        data.mnist(tmp_path, mirrors=((tmp_path / "nowhere").as_uri() + "/",))


def test_mnist_missing_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        data.mnist(tmp_path, download=False)


def test_read_idx_truncated_and_bad_magic(tmp_path):
    arr = np.arange(24).reshape(2, 3, 4)
    good = tmp_path / "good.idx"
    good.write_bytes(idx_bytes(arr))
    assert np.array_equal(data.read_idx(good), arr)
    short = tmp_path / "short.idx"
    short.write_bytes(idx_bytes(arr)[:-5])
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(short)
    gz = tmp_path / "short.idx.gz"
    gz.write_bytes(gzip.compress(idx_bytes(arr))[:-8])  # a cut gzip stream
    with pytest.raises(ValueError, match="corrupted or truncated"):
        data.read_idx(gz)
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x00\x00\x0d\x01" + struct.pack(">I", 1) + b"\x00" * 4)  # float type code
    with pytest.raises(ValueError, match="magic"):
        data.read_idx(bad)


# ----------------------------------------------------------------------------- point clouds (the student's own points)
@pytest.mark.parametrize("make", [lambda a: a.tolist(), lambda a: a, lambda a: torch.tensor(a)])
def test_point_cloud_accepts_lists_arrays_tensors(make):
    pts = np.array([[0.0, 0.0], [1.0, 2.0], [-1.0, 0.5]])
    s = data.from_points(make(pts), jitter=0.0)
    x = s(500)
    assert x.shape == (500, 2) and x.dtype == torch.float32 and s.data_shape == (2,) and len(s) == 3
    rows = {tuple(r) for r in x.tolist()}
    assert rows == {tuple(r) for r in pts.astype(np.float32).tolist()}  # with replacement, every point drawn


def test_point_cloud_jitter_is_gaussian_around_the_points():
    s = data.PointCloud([[1.0, -1.0], [1.0, -1.0]], jitter=0.1)
    x = s(20000)
    assert torch.allclose(x.mean(0), torch.tensor([1.0, -1.0]), atol=0.01)
    assert torch.allclose(x.std(0), torch.tensor([0.1, 0.1]), atol=0.01)


def test_point_cloud_is_seeded_and_takes_1d_points():
    a = data.PointCloud([[0.0], [3.0]], jitter=0.05, seed=4)
    b = data.PointCloud([[0.0], [3.0]], jitter=0.05, seed=4)
    assert torch.equal(a(10), b(10)) and a(10).shape == (10, 1) and a.data_shape == (1,)


def test_point_cloud_density_matches_its_samples():
    s = data.PointCloud([[-1.0, 0.0], [1.0, 0.5], [0.0, -1.0]], jitter=0.2)
    c, h = metrics.grid_axis(3, 60)
    x1, x2 = np.meshgrid(c, c)
    p = s.density(np.stack([x1, x2], -1))
    assert p.sum() * h * h == pytest.approx(1.0, abs=1e-3)
    est = metrics.density_on_grid(s(40000), 3, 60, bandwidth=0.03)
    assert np.abs(est - p).max() < 0.1 * p.max()
    one = data.PointCloud([[0.0], [0.0]], jitter=0.5)
    assert one.density(np.array([0.0]))[0] == pytest.approx(1 / (0.5 * math.sqrt(2 * math.pi)))
    with pytest.raises(ValueError, match="no density"):
        data.PointCloud([[0.0], [1.0]], jitter=0).density([0.0])


@pytest.mark.parametrize("bad, err, match", [
    ([[0.0, 0.0, 0.0], [1, 1, 1]], ValueError, r"shape \(n, 2\)"),
    ([0.0, 1.0, 2.0], ValueError, r"shape \(n, 2\)"),
    ([[0.0, 0.0]], ValueError, "at least 2 points"),
    (np.zeros((0, 2)), ValueError, "at least 2 points"),
    ([[0.0, math.nan], [1.0, 1.0]], ValueError, "NaN or infinite"),
    ([[0.0, math.inf], [1.0, 1.0]], ValueError, "NaN or infinite"),
    ([["a", "b"], ["c", "d"]], TypeError, "numbers"),
    ("points", TypeError, "numbers"),
])
def test_bad_points_are_refused_clearly(bad, err, match):
    with pytest.raises(err, match=match):
        data.from_points(bad)


def test_point_cloud_refuses_a_bad_jitter():
    for j in (-0.1, math.inf, "0.1"):
        with pytest.raises(ValueError, match="jitter"):
            data.PointCloud([[0.0, 0.0], [1.0, 1.0]], jitter=j)

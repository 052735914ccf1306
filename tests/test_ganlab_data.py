"""Training data from the student's own points (issue 7)."""
import math

import numpy as np
import pytest
import torch

from gan_edu import data, metrics


@pytest.mark.parametrize("make", [lambda a: a.tolist(), lambda a: a, lambda a: torch.tensor(a)])
def test_point_cloud_accepts_lists_arrays_tensors(make):
    pts = np.array([[0.0, 0.0], [1.0, 2.0], [-1.0, 0.5]])
    s = data.from_points(make(pts), jitter=0.0)
    x = s(500)
    assert x.shape == (500, 2) and x.dtype == torch.float32 and s.data_shape == (2,) and len(s) == 3
    rows = {tuple(r) for r in x.tolist()}
    assert rows == {tuple(r) for r in pts.astype(np.float32).tolist()}  # with replacement, every point drawn


def test_jitter_is_gaussian_around_the_points():
    s = data.PointCloud([[1.0, -1.0], [1.0, -1.0]], jitter=0.1)
    x = s(20000)
    assert torch.allclose(x.mean(0), torch.tensor([1.0, -1.0]), atol=0.01)
    assert torch.allclose(x.std(0), torch.tensor([0.1, 0.1]), atol=0.01)


def test_seeded_and_1d():
    a = data.PointCloud([[0.0], [3.0]], jitter=0.05, seed=4)
    b = data.PointCloud([[0.0], [3.0]], jitter=0.05, seed=4)
    assert torch.equal(a(10), b(10)) and a(10).shape == (10, 1) and a.data_shape == (1,)


def test_density_matches_the_samples():
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
def test_bad_points_are_clear(bad, err, match):
    with pytest.raises(err, match=match):
        data.from_points(bad)


def test_bad_jitter():
    for j in (-0.1, math.inf, "0.1"):
        with pytest.raises(ValueError, match="jitter"):
            data.PointCloud([[0.0, 0.0], [1.0, 1.0]], jitter=j)

"""gan_edu.metrics.match: measures of shape that real data passes and each kind of wrong G fails."""
import math

import pytest
import torch

from gan_edu import data
from gan_edu.metrics import match

N = 800


def fake(sampler, width=1.0, modes=None, seed=5):
    """Samples of the mixture with every mode ``width`` times as wide (on ``modes`` of its modes)."""
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(len(sampler.modes) if modes is None else modes, (N,), generator=g)
    return sampler.modes[k] + width * sampler.std * torch.randn(N, 2, generator=g)


@pytest.fixture(scope="module", params=["ring", "grid"])
def task(request):
    make = (lambda seed: data.ring(seed=seed)) if request.param == "ring" else (lambda seed: data.grid(seed=seed))
    sampler = make(0)
    return sampler, make(999)(N), match.null_band(make, sampler.std, N, repeats=8)


def test_truncated_rms_is_the_spread_of_real_data_within_3_std():
    x = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(0))
    r = x.norm(dim=1)
    assert match.truncated_rms(1.0, 2) == pytest.approx(r[r <= 3].pow(2).mean().sqrt().item(), rel=5e-3)
    assert match.HQ_CEILING_2D == pytest.approx((r <= 3).double().mean().item(), abs=2e-3)


def test_real_data_scores_as_real_data(task):
    sampler, reference, band = task
    r = match.match_report(sampler(N), sampler, reference, band)
    assert r["modes"] == r["of"] and abs(r["hq"] - match.HQ_CEILING_2D) < 0.02
    assert 0.9 < r["spread"] < 1.1 and r["kl"] < 0.03 and r["in_band"]
    assert r["precision"] > 0.9 and r["recall"] > 0.9


def test_a_too_sharp_generator_wins_the_protocol_and_loses_on_shape(task):
    sampler, reference, band = task
    r = match.match_report(fake(sampler, 0.4), sampler, reference, band)
    assert r["hq"] == 1.0 and r["modes"] == r["of"]  # the protocol's perfect score
    assert r["spread"] < 0.5 and not r["in_band"] and r["recall"] < 0.8


def test_a_too_wide_generator_is_caught(task):
    sampler, reference, band = task
    r = match.match_report(fake(sampler, 2.0), sampler, reference, band)
    assert r["spread"] > 1.2 and not r["in_band"] and r["precision"] < 0.85


def test_a_collapsed_generator_is_caught(task):
    sampler, reference, band = task
    r = match.match_report(fake(sampler, 1.0, modes=len(sampler.modes) // 2), sampler, reference, band)
    assert r["modes"] < r["of"] and r["kl"] > 0.5 and not r["in_band"] and r["recall"] < 0.6


def test_histogram_kl_by_hand():
    modes = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    x = torch.cat([modes[0].repeat(3, 1), modes[1].repeat(1, 1)])  # shares 3/4, 1/4
    want = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert match.mode_histogram_kl(x, modes, 0.1) == pytest.approx(want)
    assert match.mode_histogram_kl(x + 100, modes, 0.1) == math.inf  # no high-quality sample at all


def test_mmd_and_energy_distance_are_zero_for_equal_samples_in_expectation():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(500, 2, generator=g), torch.randn(500, 2, generator=g)
    assert abs(match.mmd(a, b, 1.0)) < 5e-3 and abs(match.energy_distance(a, b)) < 2e-2
    assert match.mmd(a, b + 1, 1.0) > 0.05 and match.energy_distance(a, b + 1) > 0.3


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="samples"):
        match.mode_spread(torch.zeros(1, 2), torch.zeros(2, 2), 0.1)
    with pytest.raises(ValueError, match="bandwidth"):
        match.mmd(torch.zeros(3, 2), torch.zeros(3, 2), 0.0)
    with pytest.raises(ValueError, match="std"):
        match.mode_histogram_kl(torch.zeros(3, 2), torch.zeros(2, 2), -1)

"""gan_edu.exercises.divergence (notebook 07): KL and JS on a grid, right answers accepted, mistakes named."""
import math
import random

import numpy as np
import pytest
import torch
from scipy import special

from gan_edu import losses
from gan_edu.exercises import check_js, check_kl
from gan_edu.exercises import divergence
from gan_edu.exercises.divergence import density_cases


def kl_masked(p, q, dA):
    """The notebook's solution: sum over the cells where p > 0; inf where q = 0 there."""
    mask = p > 0
    if np.any(q[mask] == 0):
        return math.inf
    return np.sum(p[mask] * np.log(p[mask] / q[mask])) * dA


def js_from_kl(p, q, dA):
    m = (p + q) / 2
    return 0.5 * kl_masked(p, m, dA) + 0.5 * kl_masked(q, m, dA)


def stub(p, q, dA):
    raise NotImplementedError


# ----------------------------------------------------------------------------- the hidden cases
def test_the_cases_are_densities_with_zeros_and_a_missed_mode():
    cases = density_cases()
    assert len(cases) >= 4
    for _, p, q, dA in cases:
        assert np.isclose(p.sum() * dA, 1) and np.isclose(q.sum() * dA, 1)
    assert any((p == 0).any() for _, p, _, _ in cases)
    assert any(losses.kl_divergence(p, q, dA) == math.inf for _, p, q, dA in cases)
    assert any(p.ndim == 2 for _, p, _, _ in cases) and any(p.ndim == 1 for _, p, _, _ in cases)


# ----------------------------------------------------------------------------- KL
@pytest.mark.parametrize("fn", [
    kl_masked,
    losses.kl_divergence,
    lambda p, q, dA: float(np.sum(special.rel_entr(p, q)) * dA),
    lambda p, q, dA: np.sum(p * np.log((p + 1e-12) / (q + 1e-12))) * dA,  # a tiny epsilon: accepted
    lambda p, q, dA: torch.sum(torch.special.xlogy(torch.as_tensor(p), torch.as_tensor(p))
                               - torch.special.xlogy(torch.as_tensor(p), torch.as_tensor(q))) * dA,
], ids=["masked", "package", "rel_entr", "epsilon", "torch"])
def test_check_kl_accepts_right_answers(fn, capsys):
    assert check_kl(fn) is True
    assert "check_kl: correct" in capsys.readouterr().out


def eps_kl(p, q, dA, log=np.log, eps=1e-12):
    return np.sum(p * log((p + eps) / (q + eps))) * dA


WRONG_KL = {
    "swapped": (lambda p, q, dA: eps_kl(q, p, dA), "Swapped arguments"),
    "log2": (lambda p, q, dA: eps_kl(p, q, dA, log=np.log2), "you used log2"),
    "log10": (lambda p, q, dA: eps_kl(p, q, dA, log=np.log10), "you used log10"),
    "no cell area": (lambda p, q, dA: eps_kl(p, q, 1.0), "Missing cell size"),
    "mean": (lambda p, q, dA: np.mean(p * np.log((p + 1e-12) / (q + 1e-12))), "averaged over the cells"),
    "sign": (lambda p, q, dA: np.sum(p * np.log((q + 1e-12) / (p + 1e-12))) * dA, "Wrong sign"),
    "no weight": (lambda p, q, dA: np.sum(np.where((p > 0) & (q > 0), np.log(p / q), 0)) * dA, "Missing weight"),
    "0 log 0": (lambda p, q, dA: np.sum(p * np.log(p / q)) * dA, "0 log 0"),
    "skips q = 0": (lambda p, q, dA: np.sum(np.where((p > 0) & (q > 0), p * np.log(p / q), 0)) * dA,
                    "skipped the cells where q = 0"),
    "epsilon too large": (lambda p, q, dA: eps_kl(p, q, dA, eps=1e-3), "epsilon or a clipping that is too large"),
    "per-cell array": (lambda p, q, dA: p * np.log((p + 1e-12) / (q + 1e-12)) * dA, "Return one number"),
    "torch on numpy": (lambda p, q, dA: torch.sum(p * torch.log(p / q)) * dA, "The densities are NumPy arrays"),
    "math.log": (lambda p, q, dA: sum(p * math.log(p / q)) * dA, "math.log takes one number"),
    "in place": (lambda p, q, dA: (p.__setitem__(p == 0, 1e-12), kl_masked(p, q, dA))[1], "changed its input"),
    "None": (lambda p, q, dA: None, "returned None"),
}


@pytest.mark.parametrize("mistake", list(WRONG_KL))
def test_check_kl_names_the_mistake(mistake, capsys):
    fn, hint = WRONG_KL[mistake]
    assert check_kl(fn) is False
    out = capsys.readouterr().out
    assert "check_kl: not yet" in out and hint in out, out


def test_check_kl_generic_message(capsys):
    assert check_kl(lambda p, q, dA: kl_masked(p, q, dA) + 0.3) is False
    assert "expected" in capsys.readouterr().out


# ----------------------------------------------------------------------------- JS
@pytest.mark.parametrize("fn", [js_from_kl, losses.jensen_shannon,
                                lambda p, q, dA: float(np.sum(special.rel_entr(p, (p + q) / 2)
                                                              + special.rel_entr(q, (p + q) / 2)) * dA / 2)],
                         ids=["from kl", "package", "rel_entr"])
def test_check_js_accepts_right_answers(fn, capsys):
    assert check_js(fn) is True
    assert "check_js: correct" in capsys.readouterr().out


WRONG_JS = {
    "m = p + q": (lambda p, q, dA: 0.5 * kl_masked(p, p + q, dA) + 0.5 * kl_masked(q, p + q, dA), "m = (p + q) / 2"),
    "one term": (lambda p, q, dA: 0.5 * kl_masked(p, (p + q) / 2, dA), "Missing term"),
    "no halves": (lambda p, q, dA: 2 * js_from_kl(p, q, dA), "factor 2"),
    "KL instead": (lambda p, q, dA: np.sum(p * np.log((p + 1e-12) / (q + 1e-12))) * dA, "That is KL(p || q)"),
    "symmetrised KL": (lambda p, q, dA: 0.5 * (eps_kl(p, q, dA) + eps_kl(q, p, dA)), "symmetrised KL"),
    "square root": (lambda p, q, dA: math.sqrt(js_from_kl(p, q, dA)), "Jensen-Shannon *distance*"),
    "log2": (lambda p, q, dA: js_from_kl(p, q, dA) / math.log(2), "you used log2"),
    "no cell area": (lambda p, q, dA: js_from_kl(p, q, 1.0), "Missing cell size"),
    "0 log 0": (lambda p, q, dA: np.sum(0.5 * p * np.log(2 * p / (p + q)) + 0.5 * q * np.log(2 * q / (p + q))) * dA,
                "0 log 0"),
    "sign": (lambda p, q, dA: -js_from_kl(p, q, dA), "Wrong sign"),
}


@pytest.mark.parametrize("mistake", list(WRONG_JS))
def test_check_js_names_the_mistake(mistake, capsys):
    fn, hint = WRONG_JS[mistake]
    assert check_js(fn) is False
    out = capsys.readouterr().out
    assert "check_js: not yet" in out and hint in out, out


# ----------------------------------------------------------------------------- stub, non-callables, RNG
@pytest.mark.parametrize("check", [check_kl, check_js])
def test_the_stub_is_not_done_yet(check, capsys):
    assert check(stub) is False
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize("check", [check_kl, check_js])
def test_a_non_callable_is_refused(check, capsys):
    assert check(0.5) is False
    assert "Pass your function itself" in capsys.readouterr().out


def test_the_checkers_leave_the_random_state_alone():
    states = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    check_kl(kl_masked), check_js(js_from_kl), check_kl(stub)
    assert torch.equal(torch.get_rng_state(), states[0])
    assert np.array_equal(np.random.get_state()[1], states[1]) and random.getstate() == states[2]


# ----------------------------------------------------------------------------- predict, then check
from gan_edu.exercises.divergence import check_divergence_prediction  # noqa: E402


@pytest.mark.parametrize("answer", [{"notices": "kl", "hardly": "reverse_kl"}, ("kl", "reverse_kl"),
                                    {"notices": "KL(p_data‖p_g)", "hardly": "KL(p_g‖p_data)"},
                                    ["forward", "Reverse KL"], ("KL(p||q)", "KL(q||p)")],
                         ids=["dict", "pair", "the notebook's names", "words", "p and q"])
def test_check_divergence_prediction_accepts_the_right_prediction(answer, capsys):
    assert check_divergence_prediction(lambda: answer) is True
    out = capsys.readouterr().out
    assert "check_divergence_prediction: correct." in out and "ratio: dropped / off the data" in out


def test_the_measured_ratios_make_one_answer_right():
    from gan_edu.exercises.divergence import _measured
    ratios = {k: v[2] for k, v in _measured().items()}
    assert ratios["kl"] > 10 * ratios["js"] and ratios["js"] > 1 > 2 * ratios["reverse_kl"]


WRONG_PREDICTION = {
    "swapped KLs": (("reverse_kl", "kl"), "You swapped the two KLs"),
    "JSD notices": (("js", "reverse_kl"), "The JSD does rate the dropped modes as the worse fault"),
    "JSD hardly": (("kl", "js"), "The JSD rates the dropped modes as the *worse* fault"),
    "forward KL hardly": (("js", "kl"), "The JSD does rate"),
    "reverse KL notices": (("reverse_kl", "js"), "The JSD rates the dropped modes as the *worse* fault"),
    "the same for both": (("kl", "kl"), "for both"),
    "not a divergence": (("kl", "wasserstein"), "'wasserstein' is not one of the divergences"),
    "one name only": ("kl", "Return your prediction as"),
    "other keys": ({"best": "kl", "worst": "js"}, "the keys 'notices' and 'hardly'"),
}


@pytest.mark.parametrize("mistake", list(WRONG_PREDICTION))
def test_check_divergence_prediction_names_the_mistake(mistake, capsys):
    answer, hint = WRONG_PREDICTION[mistake]
    assert check_divergence_prediction(lambda: answer) is False
    out = capsys.readouterr().out
    assert "check_divergence_prediction: not yet" in out and hint in out, out


def test_a_prediction_is_committed_before_the_numbers_are_shown(capsys):
    # a malformed prediction, the stub, or a non-function: no measurement is printed
    for answer in (lambda: "kl", stub, 3):
        assert check_divergence_prediction(answer) is False
        assert "ratio" not in capsys.readouterr().out


def test_the_prediction_checker_leaves_the_random_state_alone(capsys):
    states = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    check_divergence_prediction(lambda: ("kl", "reverse_kl"))
    assert torch.equal(torch.get_rng_state(), states[0])
    assert np.array_equal(np.random.get_state()[1], states[1]) and random.getstate() == states[2]


def test_the_prediction_cases_are_notebook_07s():
    from gan_edu import data
    real, fakes = divergence.prediction_cases()
    assert torch.equal(real, data.ring(seed=1)(2500))
    five = fakes["drops 3 of 8 modes"]
    assert torch.cdist(five, data.ring().modes[5:]).min() > 1.0  # nothing near the 3 dropped modes

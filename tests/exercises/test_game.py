"""gan_edu.exercises.game (notebook 01): the checkers of V(D,G) and D* accept right answers and
name the mistake in wrong ones."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gan_edu import exercises, losses
from gan_edu.exercises import check_d_star, check_value_function


# ----------------------------------------------------------------------------- V(D, G)
def v_log(d_real, d_fake):
    return torch.log(d_real).mean() + torch.log(1 - d_fake).mean()


def v_bce(d_real, d_fake):  # V = -(BCE(D(x), 1) + BCE(D(G(z)), 0))
    return -(F.binary_cross_entropy(d_real, torch.ones_like(d_real))
             + F.binary_cross_entropy(d_fake, torch.zeros_like(d_fake)))


@pytest.mark.parametrize("fn", [v_log, v_bce, lambda r, f: torch.log1p(-f).mean() + torch.log(r).mean()])
def test_check_value_function_accepts_right_answers(fn, capsys):
    assert check_value_function(fn) is True
    assert "check_value_function: correct." in capsys.readouterr().out


WRONG_V = {
    "-V": (lambda r, f: -v_log(r, f), "Wrong sign"),
    "log D(G(z))": (lambda r, f: torch.log(r).mean() + torch.log(f).mean(), "Fake term: you took log D(G(z))"),
    "real and fake swapped": (lambda r, f: torch.log(1 - r).mean() + torch.log(f).mean(), "Real and fake swapped"),
    "no log": (lambda r, f: r.mean() + (1 - f).mean(), "Missing log"),
    "log of the mean": (lambda r, f: torch.log(r.mean()) + torch.log(1 - f.mean()), "Log of the mean"),
    "real term only": (lambda r, f: torch.log(r).mean(), "Missing term"),
    "fake term only": (lambda r, f: torch.log(1 - f).mean(), "Missing term"),
    "average of the terms": (lambda r, f: v_log(r, f) / 2, "Off by a factor 2"),
    "one mean over both batches": (lambda r, f: torch.cat([torch.log(r), torch.log(1 - f)]).mean(),
                                   "Off by a factor 2"),
    "sum": (lambda r, f: torch.log(r).sum() + torch.log(1 - f).sum(), "do not sum"),
    "sigmoid on probabilities": (lambda r, f: v_log(torch.sigmoid(r), torch.sigmoid(f)), "already probabilities"),
    "elementwise over batches of different sizes": (lambda r, f: (torch.log(r) + torch.log(1 - f)).mean(),
                                                    "take each batch's mean first"),
    "per-sample terms": (lambda r, f: torch.log(r) + torch.log(1 - f).mean(), "Return one number"),
    ".item()": (lambda r, f: v_log(r, f).item(), "not connected to D's outputs"),
    "detached": (lambda r, f: v_log(r, f).detach(), "not connected to D's outputs"),
    "numpy": (lambda r, f: np.mean(np.log(r)) + np.mean(np.log(1 - f)), "NumPy function"),
    "math.log": (lambda r, f: math.log(r) + math.log(1 - f), "math.log"),
    "clamped in place": (lambda r, f: v_log(r.clamp_(1e-7, 1), f), "changed an input in place"),
    "detached fake term": (lambda r, f: torch.log(r).mean() + torch.log(1 - f.detach()).mean(), "gradient"),
    "returns None": (lambda r, f: None, "Return a torch tensor"),
}


@pytest.mark.parametrize("mistake", list(WRONG_V))
def test_check_value_function_names_the_mistake(mistake, capsys):
    fn, hint = WRONG_V[mistake]
    assert check_value_function(fn) is False
    out = capsys.readouterr().out
    assert "check_value_function: not yet." in out and hint in out, out


def test_check_value_function_generic_message_for_unknown_mistake(capsys):
    assert check_value_function(lambda r, f: v_log(r, f) + 0.3) is False
    assert "expected" in capsys.readouterr().out


# ----------------------------------------------------------------------------- D*
def d_star(p_data, p_g):
    return p_data / (p_data + p_g)


@pytest.mark.parametrize("fn", [d_star, lambda p, q: 1 / (1 + q / p),
                                lambda p, q: torch.as_tensor(p) / torch.as_tensor(p + q)])
def test_check_d_star_accepts_right_answers(fn, capsys):
    assert check_d_star(fn) is True
    assert "check_d_star: correct." in capsys.readouterr().out


def in_place(p_data, p_g):
    p_data /= p_data + p_g
    return p_data


WRONG_D_STAR = {
    "1 - D*": (lambda p, q: q / (p + q), "That is 1 - D*"),
    "density ratio": (lambda p, q: p / q, "density ratio"),
    "over the mixture": (lambda p, q: p / ((p + q) / 2), "mixture"),
    "hard decision": (lambda p, q: (p > q).astype(float), "hard decision"),
    "constant 1/2": (lambda p, q: np.full_like(p, 0.5), "D = 1/2 everywhere"),
    "normalised": (lambda p, q: d_star(p, q) / d_star(p, q).sum(), "do not normalise"),
    "log D*": (lambda p, q: np.log(d_star(p, q)), "You returned log D*"),
    "p_data alone": (lambda p, q: p, "not p_data alone"),
    "one number": (lambda p, q: d_star(p, q).mean(), "You returned one number"),
    "wrong shape": (lambda p, q: d_star(p, q)[:-1], "one value per grid point"),
    "changes its inputs": (in_place, "changed its input arrays in place"),
    "torch on numpy": (lambda p, q: torch.log(p), "torch function on a NumPy array"),
    "returns a string": (lambda p, q: "D*", "Return an array"),
}


@pytest.mark.parametrize("mistake", list(WRONG_D_STAR))
def test_check_d_star_names_the_mistake(mistake, capsys):
    fn, hint = WRONG_D_STAR[mistake]
    assert check_d_star(fn) is False
    out = capsys.readouterr().out
    assert "check_d_star: not yet." in out and hint in out, out


def test_check_d_star_generic_message_names_a_grid_point(capsys):
    assert check_d_star(lambda p, q: 0.9 * d_star(p, q)) is False
    assert "grid point where p_data" in capsys.readouterr().out


# ----------------------------------------------------------------------------- both
def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError


@pytest.mark.parametrize("check", [check_value_function, check_d_star])
def test_the_stub_is_not_done_yet_not_a_crash(check, capsys):
    assert check(stub) is False
    out = capsys.readouterr().out
    assert "not done yet" in out and "NotImplementedError" in out


@pytest.mark.parametrize("check", [check_value_function, check_d_star])
def test_a_non_callable_is_refused(check, capsys):
    assert check(0.5) is False
    assert "Pass your function itself" in capsys.readouterr().out


def test_checkers_leave_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    assert check_value_function(v_log) and check_d_star(d_star)
    check_value_function(lambda r, f: -v_log(r, f))
    assert torch.equal(torch.rand(3), expected)


def test_exported_from_gan_edu_exercises():
    assert {"check_value_function", "check_d_star"} <= set(exercises.__all__)
    assert exercises.check_d_star is check_d_star


# ----------------------------------------------------------------------------- "write it yourself"
import functools  # noqa: E402

import gan_edu as ge  # noqa: E402


def imported_by_name(source: str, name: str):
    """A student's function defined after ``from gan_edu.losses import <name>`` (its own globals)."""
    space = {"torch": torch}
    exec(f"from gan_edu.losses import {name}\n{source}", space)
    return space["answer"]


PACKAGE_V = {
    "the package's function itself": losses.value_function,
    "losses.value_function": lambda r, f: losses.value_function(r, f),
    "ge.losses.value_function": lambda r, f: ge.losses.value_function(r, f),
    "imported by name": imported_by_name("def answer(r, f):\n    return value_function(r, f)", "value_function"),
    "a partial": functools.partial(losses.value_function),
    "inside a larger expression": lambda r, f: 1.0 * losses.value_function(r, f) + 0 * torch.log(r).mean(),
}


@pytest.mark.parametrize("way", list(PACKAGE_V))
def test_check_value_function_rejects_the_package_function(way, capsys):
    original = losses.value_function
    assert check_value_function(PACKAGE_V[way]) is False
    out = capsys.readouterr().out
    assert "check_value_function: not yet. Write it yourself" in out and "gan_edu.losses.value_function" in out, out
    assert losses.value_function is original and ge.losses.value_function is original  # restored


PACKAGE_D_STAR = {
    "the package's function itself": losses.optimal_discriminator,
    "losses.optimal_discriminator": lambda p, q: losses.optimal_discriminator(p, q),
    "imported by name": imported_by_name("def answer(p, q):\n    return optimal_discriminator(p, q)",
                                         "optimal_discriminator"),
    "a partial": functools.partial(losses.optimal_discriminator),
    "called, then raises": lambda p, q: losses.optimal_discriminator(p, q) + torch.log(p),
}


@pytest.mark.parametrize("way", list(PACKAGE_D_STAR))
def test_check_d_star_rejects_the_package_function(way, capsys):
    original = losses.optimal_discriminator
    assert check_d_star(PACKAGE_D_STAR[way]) is False
    out = capsys.readouterr().out
    assert "check_d_star: not yet. Write it yourself" in out and "gan_edu.losses.optimal_discriminator" in out, out
    assert losses.optimal_discriminator is original  # restored, even after the student's function raised


@pytest.mark.parametrize("check", [check_value_function, check_d_star])
def test_a_function_that_warns_leaves_stderr_empty(check, capsys):
    import warnings

    def warns(a, b):
        warnings.warn("careful")
        return v_log(a, b) if check is check_value_function else d_star(a, b)

    assert check(warns) is True
    assert capsys.readouterr().err == ""


def test_a_students_own_function_that_prints_is_not_run_twice_visibly(capsys):
    def chatty(p, q):
        print("computing")
        return p / (p + q)

    assert check_d_star(chatty) is True
    assert capsys.readouterr().out.count("computing") == len(exercises.game._d_star_cases())


# ----------------------------------------------------------------------------- predictions
from gan_edu.exercises.game import QUESTIONS, check_crossings, check_far_criterion  # noqa: E402


@pytest.mark.parametrize("answer", [2, 2.0, np.int64(2), torch.tensor(2), np.array([2.0])])
def test_check_crossings_accepts_two_in_any_numeric_form(answer, capsys):
    assert check_crossings(lambda: answer) is True
    out = capsys.readouterr().out
    assert "check_crossings: correct." in out and "x ≈ 3.3 and x ≈ 5.7" in out, out


WRONG_CROSSINGS = {
    "monotone D*: one crossing": (1, "same* width"),
    "no crossing": (0, "must be equal somewhere"),
    "three": (3, "at most two zeros"),
    "four": (4, "at most two zeros"),
    "everywhere": (math.inf, "only when p_g = p_data"),
    "not a whole number": (1.5, "whole number"),
    "negative": (-2, "whole number"),
    "a bool": (True, "one number"),
    "a string": ("two", "one number"),
    "None": (None, "one number"),
}


@pytest.mark.parametrize("mistake", list(WRONG_CROSSINGS))
def test_check_crossings_names_the_mistake(mistake, capsys):
    answer, hint = WRONG_CROSSINGS[mistake]
    assert check_crossings(lambda: answer) is False
    out = capsys.readouterr().out
    assert "check_crossings: not yet." in out and hint in out, out


@pytest.mark.parametrize("answer", [0, 0.0, -0.0, -0.004, 0.009, torch.tensor(0.0)])
def test_check_far_criterion_accepts_zero(answer, capsys):
    assert check_far_criterion(lambda: answer) is True
    out = capsys.readouterr().out
    assert "check_far_criterion: correct." in out and "C(G) = 0.0000" in out, out


WRONG_FAR = {
    "-log 4 (p_g = p_data)": (-math.log(4), "C at p_g = p_data"),
    "the JSD": (math.log(2), "That is the JSD"),
    "2 JSD": (2 * math.log(2), "left out the -log 4"),
    "-log 2": (-math.log(2), "would need JSD = log 2 / 2"),
    "log 0": (-math.inf, "No log 0 here"),
    "nan": (math.nan, "No log 0 here"),
    "positive": (0.5, "never above 0"),
    "below -log 4": (-3.0, "never below -log 4"),
    "in between": (-0.3, "its largest value"),
}


@pytest.mark.parametrize("mistake", list(WRONG_FAR))
def test_check_far_criterion_names_the_mistake(mistake, capsys):
    answer, hint = WRONG_FAR[mistake]
    assert check_far_criterion(lambda: answer) is False
    out = capsys.readouterr().out
    assert "check_far_criterion: not yet." in out and hint in out and "On the grid C(G) = 0.0000." in out, out


def test_check_far_criterion_wants_one_number(capsys):
    assert check_far_criterion(lambda: (0, 0)) is False
    assert "one number" in capsys.readouterr().out


@pytest.mark.parametrize("check", [check_crossings, check_far_criterion])
def test_a_prediction_stub_is_not_done_yet(check, capsys):
    assert check(stub) is False
    assert "not done yet" in capsys.readouterr().out
    assert check("2") is False
    assert "Pass your function itself" in capsys.readouterr().out


@pytest.mark.parametrize("check", [check_crossings, check_far_criterion])
def test_a_prediction_that_raises_or_warns_is_reported_on_stdout_only(check, capsys):
    import warnings

    def warns():
        warnings.warn("careful")
        return 2

    check(lambda: 1 / 0)
    out = capsys.readouterr()
    assert "raised ZeroDivisionError" in out.out and out.err == ""
    check(warns)
    assert capsys.readouterr().err == ""


def test_notebook_01_asks_one_or_two_questions():
    assert 1 <= len(QUESTIONS) <= 2

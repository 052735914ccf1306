"""gan_edu.exercises.live (notebook 04): predictions about a live experiment, confirmed by running it."""
import json
import math
import random

import numpy as np
import pytest
import torch

from gan_edu.exercises import check_push_ratio, check_strong_d_settings
from gan_edu.exercises.live import ESCAPED, QUESTIONS, STUCK, check_who_wins, private_rng, restart_outcomes


def stub(*args):
    raise NotImplementedError


# ----------------------------------------------------------------------------- settings that meet a goal
@pytest.mark.parametrize("fn", [lambda: {"data": "ring", "g_steps": 0}, lambda: {"g_steps": 0, "d_steps": 2},
                                lambda: json.dumps({"g_steps": 0, "seed": 3}),
                                lambda: {"g_steps": 0, "label_smoothing": "one_sided"}],
                         ids=["dict", "more D steps", "JSON text", "one-sided smoothing"])
def test_check_strong_d_settings_accepts_right_answers(fn, capsys):
    assert check_strong_d_settings(fn) is True
    assert "check_strong_d_settings: correct" in capsys.readouterr().out


WRONG_SETTINGS = {
    "G still trains": (lambda: {"d_steps": 5}, "with g_steps = 1 G takes 1 update"),
    "a small lr_g": (lambda: {"lr_g": 1e-6}, "small, not zero"),
    "both steps 0": (lambda: {"d_steps": 0, "g_steps": 0}, "cannot both be 0"),
    "two-sided smoothing": (lambda: {"g_steps": 0, "label_smoothing": "two_sided"}, "Two-sided label smoothing"),
    "D too slow": (lambda: {"g_steps": 0, "lr_d": 1e-6}, "D did not learn to reject"),
    "typo in a name": (lambda: {"G_steps": 0}, "Did you mean 'g_steps'?"),
    "steps as a setting": (lambda: {"g_steps": 0, "steps": 300}, "not a setting"),
    "other data": (lambda: {"g_steps": 0, "data": "grid"}, "the ring of 8"),
    "a bad value": (lambda: {"g_steps": 0, "lr_d": -1}, "refused your settings"),
    "not JSON": (lambda: "g_steps = 0", "not JSON"),
    "a list": (lambda: [("g_steps", 0)], "Return a dict"),
    "raises": (lambda: {}["g_steps"], "raised KeyError"),
}


@pytest.mark.parametrize("mistake", list(WRONG_SETTINGS))
def test_check_strong_d_settings_names_the_mistake(mistake, capsys):
    fn, hint = WRONG_SETTINGS[mistake]
    assert check_strong_d_settings(fn) is False
    out = capsys.readouterr().out
    assert "check_strong_d_settings: not yet" in out and hint in out, out


# ----------------------------------------------------------------------------- the arrows' ratio
def ratio_of_one_number(d):
    return math.exp(math.log(1 - d) - math.log(d))  # math.log: works on one float at a time


@pytest.mark.parametrize("fn", [lambda d: (1 - d) / d, lambda d: 1 / d - 1, ratio_of_one_number,
                                lambda d: torch.exp(-torch.logit(d))],
                         ids=["tensor", "1/d - 1", "one number at a time", "exp of minus the logit"])
def test_check_push_ratio_accepts_right_answers(fn, capsys):
    assert check_push_ratio(fn) is True
    out = capsys.readouterr().out
    assert "check_push_ratio: correct" in out and "at least 30 times longer" in out, out


WRONG_RATIOS = {
    "upside down": (lambda d: d / (1 - d), "Upside down"),
    "1/d": (lambda d: 1 / d, "the non-saturating -log σ(l) does not have d/dl = -1"),
    "1 - d": (lambda d: 1 - d, "the saturating log(1 - σ(l)) does not have d/dl = -1"),
    "the losses' values": (lambda d: torch.log(d) / torch.log(1 - d), "the losses' *values*"),
    "the log of the ratio": (lambda d: torch.log((1 - d) / d), "without the log"),
    "negative": (lambda d: (d - 1) / d, "positive"),
    "d": (lambda d: d, "The arrows are the losses' gradients"),
    "one number": (lambda d: float(((1 - d) / d).mean()), "one ratio per value of d"),
    "other": (lambda d: 2 * (1 - d) / d, "expected"),
    "raises": (lambda d: d @ torch.ones(3), "raised RuntimeError"),
}


@pytest.mark.parametrize("mistake", list(WRONG_RATIOS))
def test_check_push_ratio_names_the_mistake(mistake, capsys):
    fn, hint = WRONG_RATIOS[mistake]
    assert check_push_ratio(fn) is False
    out = capsys.readouterr().out
    assert "check_push_ratio: not yet" in out and hint in out, out


def test_no_hint_prints_the_answer(capsys):
    # hints give the derivatives and name the mistake; the ratio's formula never appears in a verdict
    for fn, _ in WRONG_RATIOS.values():
        check_push_ratio(fn)
    for fn, _ in WRONG_WINNERS.values():  # Exercise 2's hints come after Exercise 1: they must not give it away
        check_who_wins(fn)
    out = capsys.readouterr().out
    for answer in ("(1 - D)/D", "(1 - d)/d", "(1-D)/D", "D/(1 - D)", "1/D - 1", "1 / d - 1"):
        assert answer not in out, answer


# ----------------------------------------------------------------------------- stub, non-callables, RNG
@pytest.mark.parametrize("check", [check_strong_d_settings, check_push_ratio, check_who_wins])
def test_the_stub_is_not_done_yet(check, capsys):
    assert check(stub) is False
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize("check", [check_strong_d_settings, check_push_ratio, check_who_wins])
def test_a_non_callable_is_refused(check, capsys):
    assert check({"g_steps": 0}) is False
    assert "Pass your function itself" in capsys.readouterr().out


def rng_states():
    return torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()


def same(a, b):
    return torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def test_the_checkers_leave_the_random_state_alone():
    before = rng_states()
    check_strong_d_settings(lambda: {"g_steps": 0})
    check_push_ratio(lambda d: (1 - d) / d)
    assert same(before, rng_states())


def test_private_rng_restores_the_state_after_an_error():
    before = rng_states()
    with pytest.raises(ZeroDivisionError), private_rng():
        random.random(), np.random.rand(), torch.rand(1)
        1 / 0
    assert same(before, rng_states())


# ----------------------------------------------------------------------------- predict, then check: who wins?
RIGHT = {("saturating", "adam"): "G", ("saturating", "sgd"): "D", ("non_saturating", "adam"): "G",
         ("non_saturating", "sgd"): "G"}


@pytest.mark.parametrize("fn", [lambda: RIGHT,
                                lambda: {f"{loss}, {opt}": who.lower() for (loss, opt), who in RIGHT.items()},
                                lambda: {(loss.replace("_", "-"), opt): {"G": "generator", "D": "Discriminator"}[who]
                                         for (loss, opt), who in RIGHT.items()}],
                         ids=["tuples", "text keys, lower case", "words, a hyphen"])
def test_check_who_wins_accepts_right_answers(fn, capsys):
    assert check_who_wins(fn) is True
    out = capsys.readouterr().out
    assert "check_who_wins: correct" in out and "only the saturating loss under plain SGD" in out, out


def flipped(*pairs):
    return lambda: {pair: ({"D": "G", "G": "D"}[who] if pair in pairs else who) for pair, who in RIGHT.items()}


WRONG_WINNERS = {
    "Adam stalls on the saturating loss": (flipped(("saturating", "adam")), "but Adam divides each step"),
    "SGD escapes the saturating loss": (flipped(("saturating", "sgd")), "SGD's step is lr x gradient"),
    "Adam stalls on the non-saturating loss": (flipped(("non_saturating", "adam")), "pushes hardest where D rejects"),
    "SGD stalls on the non-saturating loss": (flipped(("non_saturating", "sgd")), "which is why GANs use it"),
    "the strong D always wins": (lambda: dict.fromkeys(RIGHT, "D"), "1 of 4 right"),
    "a pair missing": (lambda: {k: v for k, v in RIGHT.items() if k[1] == "adam"}, "('saturating', 'sgd')"),
    "an unknown pair": (lambda: {**RIGHT, ("wasserstein", "adam"): "G"}, "is not one of the four pairs"),
    "neither player": (lambda: {**RIGHT, ("saturating", "adam"): "tie"}, "Answer \"D\""),
    "one answer for all": (lambda: "G", "Return a dict"),
    "raises": (lambda: RIGHT["saturating"], "raised KeyError"),
}


@pytest.mark.parametrize("mistake", list(WRONG_WINNERS))
def test_check_who_wins_names_the_mistake(mistake, capsys):
    fn, hint = WRONG_WINNERS[mistake]
    assert check_who_wins(fn) is False
    out = capsys.readouterr().out
    assert "check_who_wins: not yet" in out and hint in out, out


def test_the_restarts_go_as_the_notebook_says():
    # the four outcomes the notebook's text explains: only the saturating loss under SGD leaves G stuck,
    # and each by a wide margin from the thresholds
    runs = restart_outcomes()
    assert {pair: who for pair, (who, _) in runs.items()} == RIGHT
    assert runs["saturating", "sgd"][1] < STUCK / 3 and min(m for p, (w, m) in runs.items() if w == "G") > ESCAPED * 2


def test_check_who_wins_leaves_the_random_state_and_threads_alone():
    restart_outcomes.cache_clear()
    before, threads = rng_states(), torch.get_num_threads()
    check_who_wins(lambda: RIGHT)
    assert same(before, rng_states()) and torch.get_num_threads() == threads


def test_the_questions_are_judged():
    from gan_edu.exercises.quiz import judge

    assert judge(QUESTIONS[0], 0)[0] and not judge(QUESTIONS[0], 8)[0]
    assert judge(QUESTIONS[1], QUESTIONS[1].choices[1])[0] and not judge(QUESTIONS[1], 0)[0]

"""Notebook 09's ring comparison: the plain GAN, WGAN-GP at Gulrajani et al.'s toy settings and SN-GAN
on the ring of 8 Gaussians (``recipes.TASKS["ring"]``), each a recipe of ``experiments.recipes``
(``RING_RECIPES`` -> ``"vanilla"``, ``"wgan_gp_toy"``, ``"sngan"``), scored by the course's
mode-coverage protocol (``metrics.mode_coverage``: 2,500 samples; within 3 std of a mode is high
quality, a mode with at least 20 of them is recovered).

The lesson's budget (``LESSON_ROUNDS``, in rounds, one G step each): the plain GAN its recipe's
6,000 rounds, SN-GAN 4,000, WGAN-GP 1,500 (7,500 critic steps). Measured on the course's 2-core
machine (benchmarks/RESULTS.md, "WGAN-GP and SN-GAN on the ring"): ``ring_comparison(0)`` trains
all three in 81 s wall with ``torch.set_num_threads(1)`` (23, 35 and 23 s), 105 s with 2 threads
(nets this small gain nothing from a second one). On held-out seeds 601-605 at these budgets: modes
of 8, mean (worst), plain GAN 6.0 (3), WGAN-GP 7.4 (6), SN-GAN 4.4 (0); at 5 times them 6.8 (4),
8.0 (8), 7.8 (7); WGAN-GP first had all 8 at G step 1,000-2,000. ``GAN_EDU_FAST=1`` (or
``fast=True``): 30 rounds each, the same code path.
"""
from __future__ import annotations

import time

import torch

from ..algorithm import noise_prior
from ..checks import check_choice, check_count, check_seed
from ..device import fast_mode
from ..metrics import mode_coverage
from . import recipes

__all__ = ["RING_RECIPES", "RECIPE_OF", "LESSON_ROUNDS", "FAST_ROUNDS", "SCORE_SEED", "lesson_rounds", "train_ring",
           "ring_scores", "ring_comparison", "mode_curve", "first_all_modes"]

RING_RECIPES = ("gan", "wgan_gp", "sngan")
RECIPE_OF = {"gan": "vanilla", "wgan_gp": "wgan_gp_toy", "sngan": "sngan"}  # the names in recipes.RECIPES
LESSON_ROUNDS = {"gan": 6000, "wgan_gp": 1500, "sngan": 4000}
FAST_ROUNDS = 30
SCORE_SEED = 20_000  # the noise of the 2,500 samples scored: a private generator, never a training seed


def _name(name: str) -> str:
    return check_choice("name", name, RING_RECIPES)


def lesson_rounds(name: str, fast: bool | None = None) -> int:
    """The lesson's budget for ``name`` in rounds (each one G step; WGAN-GP's rounds also take 5
    critic steps): ``LESSON_ROUNDS``, or ``FAST_ROUNDS`` when ``fast`` (None: ``GAN_EDU_FAST``)."""
    _name(name)
    fast = fast_mode() if fast is None else fast
    return FAST_ROUNDS if fast else LESSON_ROUNDS[name]


def train_ring(name: str, seed: int = 0, rounds: int | None = None, callbacks=()):
    """The ``GAN`` of recipe ``name`` (``RING_RECIPES``) trained on the ring of 8 (data, nets and noise
    seeded ``seed``) for ``rounds`` rounds (None: ``lesson_rounds(name)``), on the CPU, calling
    ``callbacks`` after each round (``GAN.fit``'s)."""
    rounds = lesson_rounds(name) if rounds is None else check_count("rounds", rounds)
    seed = check_seed("seed", seed)
    return recipes.train(RECIPE_OF[_name(name)], recipes.TASKS["ring"](seed), seed=seed, steps=rounds,
                         callbacks=callbacks)


@torch.no_grad()
def ring_scores(gan, n: int = recipes.N_SAMPLES) -> dict:
    """The mode-coverage protocol on ``n`` samples of ``gan`` drawn from noise of a private generator
    (``SCORE_SEED``: the GAN's own noise generator, and so its training, untouched):
    ``dict(modes, of, hq, counts)``: modes recovered (of 8), ``hq`` the percentage (0-100) of samples
    within 3 std of their nearest mode, ``counts`` those samples per mode."""
    rng = torch.Generator(gan.device).manual_seed(SCORE_SEED)
    z = noise_prior(check_count("n", n), gan.noise_dim, gan.settings_now.noise, rng, gan.device)
    ring = recipes.TASKS["ring"]()
    cov = mode_coverage(gan.sample(z=z), ring.modes, ring.std)
    return dict(modes=cov["modes"], of=cov["of"], hq=100.0 * cov["high_quality"], counts=cov["counts"])


def _rounds_for(rounds, name: str) -> int:
    """``rounds`` for recipe ``name``: None (the lesson's), one count for all, or a dict by name."""
    if isinstance(rounds, dict):
        return lesson_rounds(name) if rounds.get(name) is None else check_count(f"rounds[{name!r}]", rounds[name])
    return lesson_rounds(name) if rounds is None else check_count("rounds", rounds)


def ring_comparison(seeds, rounds=None, names=RING_RECIPES) -> list[dict]:
    """Each recipe of ``names`` trained on the ring for each seed of ``seeds`` (an int or a list),
    for ``rounds`` (None: ``lesson_rounds``; an int for all; or a dict name -> rounds) and scored
    (``ring_scores``). One row per recipe and seed: ``name, seed, rounds, modes, of, hq`` (%),
    ``cpu_s`` (process CPU seconds of training, all threads) and ``wall_s``."""
    seeds = [seeds] if isinstance(seeds, int) else list(seeds)
    names = [_name(name) for name in ([names] if isinstance(names, str) else names)]
    rows = []
    for seed in seeds:
        for name in names:
            n = _rounds_for(rounds, name)
            cpu, wall = time.process_time(), time.perf_counter()
            gan = train_ring(name, seed, n)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            scores = ring_scores(gan)
            rows.append(dict(name=name, seed=seed, rounds=n, modes=scores["modes"], of=scores["of"],
                             hq=scores["hq"], cpu_s=cpu, wall_s=wall))
    return rows


def mode_curve(name: str, seed: int = 0, rounds: int | None = None, every: int = 250) -> list[dict]:
    """``train_ring(name, seed, rounds)`` scored (``ring_scores``) after every ``every`` rounds: one row
    per check, ``dict(round, modes, hq, cpu_s)`` with ``cpu_s`` the CPU seconds of training up to that
    round (the checks' own time left out). The checks draw no noise from the GAN's generator, so the
    training is the one ``train_ring`` does: the row at round k scores the GAN ``train_ring(name,
    seed, k)`` returns."""
    every, rows, spent = check_count("every", every), [], [0.0]
    start = time.process_time()

    def check(gan):
        if gan.step % every == 0:
            t = time.process_time()
            rows.append(dict(round=gan.step, **{k: v for k, v in ring_scores(gan).items() if k in ("modes", "hq")},
                             cpu_s=t - start - spent[0]))
            spent[0] += time.process_time() - t

    train_ring(name, seed, rounds, callbacks=[check])
    return rows


def first_all_modes(curve: list[dict], of: int = 8):
    """The first round of a ``mode_curve`` at which all ``of`` modes were recovered, or None."""
    return next((row["round"] for row in curve if row["modes"] >= of), None)

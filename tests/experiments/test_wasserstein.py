"""gan_edu.experiments.wasserstein: notebook 09's ring comparison (plain GAN, WGAN-GP at Gulrajani et al.'s
toy settings, SN-GAN), in few rounds."""
import pytest
import torch

from gan_edu.experiments import recipes, wasserstein
from gan_edu.options import SpectralNorm
from gan_edu.train import GAN


def test_the_three_recipes_are_what_they_claim():
    assert wasserstein.RING_RECIPES == ("gan", "wgan_gp", "sngan")
    toy = recipes.RECIPES[wasserstein.RECIPE_OF["wgan_gp"]]
    assert toy["gan"] == dict(recipes.RECIPES["vanilla"]["gan"], loss="wasserstein", gp_weight=0.1, d_steps=5,
                              betas=(0.5, 0.9), lr_d=1e-4, lr_g=1e-4)  # gan_toy.py's
    assert toy["batch_size"] == 256 and toy["G"] == recipes.RECIPES["vanilla"]["G"]
    sn = recipes.RECIPES[wasserstein.RECIPE_OF["sngan"]]
    assert sn["gan"] == dict(recipes.RECIPES["vanilla"]["gan"], spectral_norm=True, lr_d=2e-4, lr_g=2e-4)
    assert wasserstein.RECIPE_OF["gan"] == "vanilla"


def test_lesson_rounds_full_and_fast(monkeypatch):
    assert [wasserstein.lesson_rounds(n, fast=False) for n in wasserstein.RING_RECIPES] == [6000, 1500, 4000]
    assert {wasserstein.lesson_rounds(n, fast=True) for n in wasserstein.RING_RECIPES} == {wasserstein.FAST_ROUNDS}
    monkeypatch.setenv("GAN_EDU_FAST", "1")
    assert wasserstein.lesson_rounds("wgan_gp") == wasserstein.FAST_ROUNDS
    monkeypatch.setenv("GAN_EDU_FAST", "0")
    assert wasserstein.lesson_rounds("wgan_gp") == 1500
    with pytest.raises(ValueError, match="name"):
        wasserstein.lesson_rounds("wgan")


@pytest.mark.parametrize("name", wasserstein.RING_RECIPES)
def test_train_ring_trains_the_recipe_and_scores_it(name):
    gan = wasserstein.train_ring(name, seed=3, rounds=4)
    assert isinstance(gan, GAN) and gan.step == 4
    assert SpectralNorm.applied(gan.D) == (name == "sngan")
    assert gan.settings_now.loss == ("wasserstein" if name == "wgan_gp" else "non_saturating")
    scores = wasserstein.ring_scores(gan)
    assert scores["of"] == 8 and 0 <= scores["modes"] <= 8 and 0.0 <= scores["hq"] <= 100.0
    assert sum(scores["counts"]) == pytest.approx(scores["hq"] / 100 * recipes.N_SAMPLES, abs=0.5)


def test_scoring_is_deterministic_and_leaves_the_gan_alone():
    gan = wasserstein.train_ring("gan", seed=1, rounds=3)
    state = gan.rng.get_state()
    assert wasserstein.ring_scores(gan) == wasserstein.ring_scores(gan)
    assert torch.equal(gan.rng.get_state(), state)


def test_ring_comparison_rows_and_budgets():
    rows = wasserstein.ring_comparison([5], rounds={"gan": 3, "wgan_gp": 2, "sngan": None}, names=("gan", "wgan_gp"))
    assert [(r["name"], r["seed"], r["rounds"]) for r in rows] == [("gan", 5, 3), ("wgan_gp", 5, 2)]
    assert all({"modes", "of", "hq", "cpu_s", "wall_s"} <= set(r) and r["cpu_s"] >= 0 for r in rows)
    again = wasserstein.ring_comparison(5, rounds=3, names="gan")
    assert (again[0]["modes"], again[0]["hq"]) == (rows[0]["modes"], rows[0]["hq"])  # same seed, same run
    with pytest.raises(ValueError, match="rounds"):
        wasserstein.ring_comparison([0], rounds=0)


def test_the_mode_curve_scores_the_gan_train_ring_returns():
    curve = wasserstein.mode_curve("sngan", seed=2, rounds=6, every=3)
    assert [row["round"] for row in curve] == [3, 6]
    alone = wasserstein.ring_scores(wasserstein.train_ring("sngan", seed=2, rounds=6))
    assert (curve[-1]["modes"], curve[-1]["hq"]) == (alone["modes"], alone["hq"])  # checking changed nothing
    assert curve[0]["cpu_s"] <= curve[1]["cpu_s"]
    assert wasserstein.first_all_modes([dict(round=3, modes=7), dict(round=6, modes=8)]) == 6
    assert wasserstein.first_all_modes(curve[:0]) is None

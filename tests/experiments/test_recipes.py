"""gan_edu.experiments.recipes: the named training recipes, the benchmark tasks and their evaluation."""
import math

import pytest
import torch

from gan_edu.experiments import recipes
from gan_edu.nets import MLPGenerator, MLPMixtureGenerator
from gan_edu.train import GAN


@pytest.mark.parametrize("name", list(recipes.RECIPES))
def test_each_recipe_builds_and_trains_a_few_steps(name):
    gan = recipes.train(name, recipes.TASKS["ring"](seed=0), seed=0, steps=3)
    assert isinstance(gan, GAN) and gan.step == 3
    recipe = recipes.RECIPES[name]
    assert gan.settings_now.loss == recipe["gan"]["loss"] and gan.settings_now.pack == recipe["gan"].get("pack", 1)
    assert gan.D.config["data_dim"] == 2 * gan.settings_now.pack
    assert all(math.isfinite(v) for v in gan.history["loss_d"] + gan.history["loss_g"])
    assert gan.sample(5).shape == (5, 2)


def test_the_fixes_are_the_switches_they_claim():
    r = recipes.RECIPES
    assert r["pacgan"]["gan"]["pack"] == 2
    assert r["wgan_gp"]["gan"]["loss"] == "wasserstein" and r["wgan_gp"]["gan"]["gp_weight"] == 10.0
    assert r["lsgan"]["gan"]["loss"] == "lsgan"
    assert r["best"]["gan"]["r1_weight"] == 1.0 and r["best"]["gan"]["loss"] == "non_saturating"
    best = recipes.build("best")
    assert best.fused_adam is True  # a speed switch only (tests/speed/test_switches.py)
    assert best.settings_now.ema == 0.995 and best.G_ema is not None  # samples from the average of G's weights
    assert isinstance(best.G, MLPMixtureGenerator) and best.G.generators == 8


def test_same_seed_same_run_and_evaluate():
    a = recipes.evaluate("vanilla", "grid", seed=1, steps=5)
    b = recipes.evaluate("vanilla", "grid", seed=1, steps=5)
    assert (a["modes"], a["hq"]) == (b["modes"], b["hq"]) and a["of"] == 25
    assert all(torch.equal(p, q) for p, q in zip(a["gan"].G.parameters(), b["gan"].G.parameters()))
    assert 0 <= a["hq"] <= 1 and a["cpu_s"] >= 0 and a["wall_s"] > 0


def test_lr_factor_and_schedule():
    assert recipes.lr_factor(None, 0.9) == 1.0
    assert recipes.lr_factor((0.5, 0.1), 0.4) == 1.0 and recipes.lr_factor((0.5, 0.1), 0.6) == 0.1
    assert recipes.lr_factor((0.4, 0.01, "linear"), 0.4) == pytest.approx(1.0)
    assert recipes.lr_factor((0.4, 0.01, "linear"), 0.7) == pytest.approx(0.505)
    assert recipes.lr_factor((0.4, 0.01, "linear"), 1.0) == pytest.approx(0.01)
    recipe = recipes.get_recipe("vanilla", steps=10, lr_decay=(0.5, 0.1))
    gan = recipes.train(recipe, recipes.TASKS["ring"](), steps=10)
    assert gan.history["lr_d"][:5] == [1e-3] * 5 and gan.history["lr_d"][-1] == pytest.approx(1e-4)


def test_unknown_recipes_keys_and_tasks_are_refused():
    with pytest.raises(ValueError, match="unknown recipe"):
        recipes.get_recipe("magic")
    with pytest.raises(ValueError, match="unknown recipe keys"):
        recipes.get_recipe("vanilla", epochs=3)
    with pytest.raises(TypeError, match="recipe"):
        recipes.get_recipe(3)
    with pytest.raises(ValueError, match="task"):
        recipes.evaluate("vanilla", "spiral", steps=1)
    assert recipes.get_recipe("best") is not recipes.RECIPES["best"]  # a copy: edits stay local


def test_a_recipe_with_generators_builds_a_mixture_generator():
    mixture = recipes.get_recipe("best", G=dict(noise_dim=3, hidden=8, depth=2, generators=2))
    gan = recipes.build(mixture)
    assert isinstance(gan.G, MLPMixtureGenerator) and gan.noise_dim == 3
    assert recipes.train(mixture, recipes.TASKS["grid"](0), steps=3).step == 3
    assert isinstance(recipes.build("vanilla").G, MLPGenerator)  # no generators: one G

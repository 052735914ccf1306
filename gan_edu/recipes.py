"""Named training recipes for the 2D mode-collapse tasks (notebook 06, ``benchmarks/mode_collapse.py``).

A recipe is a small dict: the nets' sizes, ``GAN``'s settings, the training length and an
optional learning-rate decay at the end. ``build(recipe)`` makes the nets and the ``GAN``;
``train(recipe, sampler)`` builds and trains. The notebook, the benchmark and the tests all use
these definitions, so a number in one is a number in the others.

- ``"vanilla"``: the plain GAN (non-saturating BCE loss, Adam), the baseline that collapses.
- ``"pacgan"``: the same nets and loss with PacGAN packing (Lin et al. 2018): D judges 2 samples
  at once, so a generator that repeats itself is easy to spot.
- ``"wgan_gp"``: Wasserstein loss with the gradient penalty (Gulrajani et al. 2017): 5 critic
  steps per G step, Adam betas (0.5, 0.9), penalty weight 10.
- ``"lsgan"``: least-squares loss (Mao et al. 2017).
- ``"best"``: gan_edu's tuned recipe for these tasks (see ``benchmarks/RESULTS.md``).
"""
from __future__ import annotations

import copy

from .nets import MLPDiscriminator, MLPGenerator
from .train import GAN

__all__ = ["RECIPES", "get_recipe", "build", "train"]

_COMMON = dict(
    G=dict(noise_dim=2, hidden=128, depth=3),
    D=dict(hidden=128, depth=3),
    gan=dict(lr_d=2e-4, lr_g=2e-4, betas=(0.5, 0.999), loss="non_saturating", d_steps=1),
    steps=5000, batch_size=256,
    lr_decay=None,  # or (fraction, factor): the last `fraction` of the steps at lr * factor
)


def _recipe(**changes) -> dict:
    r = copy.deepcopy(_COMMON)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(r.get(key), dict):
            r[key].update(value)
        else:
            r[key] = value
    return r


RECIPES = {
    "vanilla": _recipe(),
    "pacgan": _recipe(gan=dict(pack=2)),
    "wgan_gp": _recipe(gan=dict(loss="wasserstein", gp_weight=10.0, d_steps=5, betas=(0.5, 0.9), lr_d=1e-4,
                                lr_g=1e-4), steps=2000),
    "lsgan": _recipe(gan=dict(loss="lsgan")),
    "best": _recipe(G=dict(hidden=256), D=dict(hidden=256), gan=dict(pack=2), lr_decay=(0.3, 0.1)),
}


def get_recipe(name_or_recipe, **changes) -> dict:
    """A copy of the named recipe (or of a recipe dict), with top-level ``changes`` (e.g. ``steps=``)."""
    if isinstance(name_or_recipe, str):
        if name_or_recipe not in RECIPES:
            raise ValueError(f"unknown recipe {name_or_recipe!r}; choose one of {tuple(RECIPES)}")
        recipe = copy.deepcopy(RECIPES[name_or_recipe])
    elif isinstance(name_or_recipe, dict):
        recipe = copy.deepcopy(name_or_recipe)
    else:
        raise TypeError(f"recipe must be a name or a dict, got {type(name_or_recipe).__name__}")
    unknown = set(changes) - set(_COMMON)
    if unknown:
        raise ValueError(f"unknown recipe keys {sorted(unknown)}; known: {sorted(_COMMON)}")
    recipe.update(copy.deepcopy(changes))
    return recipe


def build(recipe, data_dim: int = 2, seed: int = 0, device="cpu") -> GAN:
    """The nets (seeded with ``seed``) and the ``GAN`` of a recipe. D's input is ``pack * data_dim``."""
    import torch

    recipe = get_recipe(recipe)
    gan_kw = dict(recipe["gan"])
    pack = gan_kw.get("pack", 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = MLPGenerator(data_dim=data_dim, **recipe["G"])
        D = MLPDiscriminator(data_dim=pack * data_dim, **recipe["D"])
    return GAN(G, D, device=device, seed=seed, **gan_kw)


def train(recipe, sampler, seed: int = 0, device="cpu", steps: int | None = None, progress: bool = False) -> GAN:
    """Build a recipe's GAN and train it on ``sampler`` for its ``steps`` (or ``steps=``),
    decaying both learning rates by ``lr_decay = (fraction, factor)`` for the last fraction."""
    recipe = get_recipe(recipe)
    steps = recipe["steps"] if steps is None else steps
    data_shape = getattr(sampler, "data_shape", None) or tuple(sampler(1).shape[1:])
    gan = build(recipe, data_dim=data_shape[0], seed=seed, device=device)
    first = steps
    if recipe.get("lr_decay"):
        fraction, factor = recipe["lr_decay"]
        first = max(1, min(steps, round(steps * (1 - fraction))))
    gan.fit(sampler, first, batch_size=recipe["batch_size"], progress=progress)
    if first < steps:
        gan.set_lr(d=gan.lr_d * factor, g=gan.lr_g * factor)
        gan.fit(sampler, steps - first, batch_size=recipe["batch_size"], progress=progress)
    return gan

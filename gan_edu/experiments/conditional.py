"""The conditional GAN's digits recipe (``gan_edu.conditional``): ``train_digits`` trains G(z, y)
and D(x, y) on the training split of the 8x8 digits (``metrics.digits_split``), so that FD against
the held-out split (``metrics.conditional.conditional_digit_scores``) judges digits G never saw.

The recipe (``recipe()``) was tuned on seeds 0-2 and reported on seeds 10-12
(``benchmarks/conditional_gan.py``, ``benchmarks/RESULTS.md``). Under ``GAN_EDU_FAST=1`` it trains
far fewer rounds along the same code path.
"""
from __future__ import annotations

import torch

from ..checks import check_choice, check_seed
from ..conditional import DISCRIMINATORS, ConditionalGAN, ConditionalGenerator, LabelledSampler
from ..device import fast_mode
from ..metrics.digits import digits_split

__all__ = ["recipe", "build", "train_digits"]


def recipe(fast: bool | None = None) -> dict:
    """The digits recipe: 5,000 rounds of batch 64, Adam at lr 2e-3 halved ``lr_halvings`` = 4 times
    (every 1,000 rounds), nets of width 32 and noise of size 32. ``fast`` (None: read ``GAN_EDU_FAST``):
    400 rounds at a constant lr, a few seconds; the projection discriminator's G then draws the right
    digit most of the time, the one-hot concatenation's only sometimes (it learns the labels later)."""
    fast = fast_mode() if fast is None else fast
    return dict(steps=400 if fast else 5000, batch_size=64, lr=2e-3, lr_halvings=0 if fast else 4, noise_dim=32,
                width=32)


def build(conditioning: str = "projection", seed: int = 0, d_step=None, **changes) -> ConditionalGAN:
    """A fresh ConditionalGAN for the digits: G by one-hot concatenation, D by ``conditioning``
    (``"concat"`` or ``"projection"``), with ``recipe()``'s sizes (``changes`` override them) and,
    if given, another ``d_step`` (``ConditionalGAN``'s). The nets' weights are drawn from ``seed``
    (torch's global generator is left as it was)."""
    check_choice("conditioning", conditioning, tuple(DISCRIMINATORS))
    r = {**recipe(), **changes}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_seed("seed", seed))
        G = ConditionalGenerator(r["noise_dim"], 10, 8, 1, r["width"])
        D = DISCRIMINATORS[conditioning](10, 8, 1, r["width"])
    return ConditionalGAN(G, D, lr_d=r["lr"], lr_g=r["lr"], seed=seed, d_step=d_step)


def train_digits(conditioning: str = "projection", seed: int = 0, callbacks=(), d_step=None,
                 **changes) -> ConditionalGAN:
    """``build(conditioning, seed, **changes)`` trained on the digits' training split for
    ``recipe()``'s rounds (``changes`` override the recipe), calling ``callbacks`` after each round
    (``ConditionalGAN.fit``); ``d_step``: another D step to train with (``ConditionalGAN``'s).
    Returns the trained GAN."""
    r = {**recipe(), **changes}
    gan = build(conditioning, seed, d_step=d_step, **changes)
    x_train, y_train, _, _ = digits_split()
    gan.fit(LabelledSampler(x_train, y_train, seed=seed), r["steps"], r["batch_size"], r["lr_halvings"], callbacks)
    return gan

"""Named training recipes for the 2D mode-collapse tasks (notebook 06, ``benchmarks/mode_collapse.py``).

A recipe is a small dict: the nets' sizes, ``GAN``'s settings, the training length and an
optional learning-rate decay at the end. ``build(recipe)`` makes the nets and the ``GAN``;
``train(recipe, sampler)`` builds and trains. The notebook, the benchmark and the tests all use
these definitions, so a number in one is a number in the others.

- ``"vanilla"``: the plain GAN: MLPs (3 x 128), non-saturating BCE loss, Adam (lr 1e-3,
  betas (0.5, 0.999)), batch 64, 6,000 rounds. The baseline that collapses.
- ``"pacgan"``: PacGAN packing (Lin et al. 2018): D judges 2 samples at once, so a generator
  that repeats itself is easy to spot; with best's optimizer settings (lr 2e-3, betas (0, 0.9)),
  batch 256 and a decay to 10% over the last 60% (tuned at the same budget, issue 21).
- ``"wgan_gp"``: Wasserstein loss with the gradient penalty (Gulrajani et al. 2017), the
  paper's settings: 5 critic steps per G step, Adam lr 1e-4, betas (0.5, 0.9), weight 10;
  3,000 G steps.
- ``"lsgan"``: the vanilla recipe with the least-squares loss (Mao et al. 2017).
- ``"best"``: gan_edu's tuned recipe for these tasks (see ``benchmarks/RESULTS.md``): the
  non-saturating BCE loss with the R1 penalty (γ = 1, the penalty that makes the Dirac-GAN
  converge), a mixture of 8 generators (``nets.MLPMixtureGenerator``, each 4 x 48: one noise
  coordinate picks the generator, so G need not draw bridges between modes that different
  generators hold), Adam lr 2e-3 with betas (0, 0.9), batch 256, 6,000 rounds, the last 60%
  with both learning rates decaying linearly to 1%; Adam's fused update (``fused_adam``: the
  same math, about 18% less time per round on these small nets); samples drawn from the moving
  average of G's weights (``ema=0.995``: ``GAN.G_ema``, about the last 200 rounds; training is
  unchanged, only the weights the samples come from).
- ``"wgan_gp_toy"``: WGAN-GP at Gulrajani et al.'s toy settings (their ``gan_toy.py``,
  igul222/improved_wgan_training): 5 critic steps per G step, penalty weight λ = 0.1 (not the 10
  of their image experiments, which ``"wgan_gp"`` uses), Adam lr 1e-4 with betas (0.5, 0.9),
  batch 256. Their nets are 3 x 512 (ReLU) trained for 100,000 G steps; here the plain GAN's
  3 x 128 (D with LeakyReLU 0.2), 1,500 G steps: on 2 CPU cores a round of 3 x 512 takes 0.12 s,
  of 3 x 128 0.023 s, so the lesson (``experiments.wasserstein``) can afford 1,500 rounds of the
  latter; on tuning seeds 0 and 1 the 128-wide nets had all 8 ring modes at G step 1,250 and
  1,750, the 512-wide at 750 (seed 0), in about 30-45 s against 90 s (benchmarks/RESULTS.md). Their
  data is the ring scaled by 1/1.414 (radius 1.41, std 0.014); here the course's ring (radius 2,
  std 0.02). On held-out seeds 601-605: 7.4 of 8 modes on average at 1,500 G steps, 8 on each by 2,000.
- ``"sngan"``: the plain GAN (``"vanilla"``'s nets, loss and batch) with spectral normalisation of
  D's layers (``spectral_norm=True``, Miyato et al. 2018) at the course's default learning rate 2e-4
  (DCGAN's) instead of vanilla's 1e-3: at 1e-3 it collapsed on tuning seeds 0 and 1 (0/8 modes
  after 6,000 rounds; seed 0's samples all beside one mode); 4,000 rounds. On held-out seeds
  601-605: 4.4 of 8 modes on average at 4,000 rounds (0 on two seeds), 7.8 at 20,000.
- ``"matched"``: ``best`` with the decay to 3% (not 1%) and samples from G itself (no weight
  average), tuned for the modes' width (``gan_edu.metrics.match``): the mean width comes out about right,
  the modes uneven, and a mode is lost now and then (benchmarks/RESULTS.md, issue 21).
"""
from __future__ import annotations

import copy
import time

from .. import checks, data
from ..checks import check_choice, check_count, check_real
from ..metrics import match, mode_coverage
from ..nets import MLPDiscriminator, MLPGenerator, MLPMixtureGenerator
from ..train import GAN

__all__ = ["RECIPES", "TASKS", "N_SAMPLES", "get_recipe", "build", "check_lr_decay", "lr_factor", "train", "evaluate",
           "task_band", "shape_scores"]

# The benchmark tasks of the mode-collapse literature (VEEGAN, PacGAN): name -> sampler(seed).
TASKS = {"ring": lambda seed=0: data.ring(8, radius=2.0, std=0.02, seed=seed),
         "grid": lambda seed=0: data.grid(5, spacing=2.0, std=0.05, seed=seed)}
N_SAMPLES = 2500

_COMMON = dict(
    G=dict(noise_dim=2, hidden=128, depth=3),
    D=dict(hidden=128, depth=3),
    gan=dict(lr_d=1e-3, lr_g=1e-3, betas=(0.5, 0.999), loss="non_saturating", d_steps=1),
    steps=6000, batch_size=64,
    lr_decay=None,  # or (start, factor[, "linear"]): see lr_factor and check_lr_decay
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
    # PacGAN tuned at best's budget (issue 21): best's optimizer settings, batch and a decay to 10%
    # (with vanilla's lr 1e-3, batch 64 and no decay it found no grid mode); seed 1 only
    "pacgan": _recipe(gan=dict(pack=2, lr_d=2e-3, lr_g=2e-3, betas=(0.0, 0.9)), batch_size=256,
                      lr_decay=(0.4, 0.1, "linear")),
    "wgan_gp": _recipe(gan=dict(loss="wasserstein", gp_weight=10.0, d_steps=5, betas=(0.5, 0.9), lr_d=1e-4,
                                lr_g=1e-4), steps=3000),
    "lsgan": _recipe(gan=dict(loss="lsgan")),
    # tuned on grid seeds 1, 5, 7 and ring seeds 1, 2 (benchmarks/RESULTS.md): R1 keeps D flat on
    # the data, batch 256 shows D every grid mode at each step, beta1 = 0 stops Adam's momentum
    # from carrying G past a mode; a high learning rate for 40% of the run, then a linear decay
    # to 1% of it (the samples sharpen onto the modes). Then a mixture of 8 generators (4 x 48
    # each) instead of one 4 x 128 G (grid seeds 0-9): bridges remain only between modes that
    # one generator holds. Then the samples from the moving average of G's weights (ema 0.995,
    # chosen over 0.99 and 0.998 on grid seeds 0-59): at the end G's weights still jitter from
    # round to round (grid seed 23: two generators of G itself 61% and 70% HQ, of the average
    # 96% and 98%); a longer average (0.998) mixes places a generator moved between
    "best": _recipe(G=dict(noise_dim=3, hidden=48, depth=4, generators=8),
                    gan=dict(r1_weight=1.0, lr_d=2e-3, lr_g=2e-3, betas=(0.0, 0.9), fused_adam=True, ema=0.995),
                    batch_size=256, steps=6000, lr_decay=(0.4, 0.01, "linear")),
}
# Gulrajani et al.'s toy WGAN-GP (gan_toy.py: CRITIC_ITERS 5, LAMBDA .1, BATCH_SIZE 256, Adam 1e-4,
# betas (.5, .9)) on the plain GAN's nets: its λ = 0.1, not "wgan_gp"'s 10, is what finds the ring's
# modes (λ = 10 at batch 256: 0/8 at 2,000 G steps, seed 0). Tuned (the width, the rounds) on seeds 0, 1
RECIPES["wgan_gp_toy"] = _recipe(gan=dict(loss="wasserstein", gp_weight=0.1, d_steps=5, betas=(0.5, 0.9),
                                          lr_d=1e-4, lr_g=1e-4), batch_size=256, steps=1500)
# SN-GAN: vanilla + spectral normalisation of D at lr 2e-4 (at vanilla's 1e-3: collapsed, seeds 0, 1)
RECIPES["sngan"] = _recipe(gan=dict(spectral_norm=True, lr_d=2e-4, lr_g=2e-4), steps=4000)
# best's samples are too tight around the mode centres (issue 21: each mode's spread 0.3-0.6 of the
# data's; its 100% ring HQ is above real data's 98.9%): its decay to 1% and its weight average
# sharpen them. "matched" decays to 3% and samples from G itself. Screened on ring and grid seed 1
# only (benchmarks/RESULTS.md: no decay, decay to 10% / 3% with and without the average, R1 0.01 /
# 0.1); on held-out seeds 101-105 it gets the modes' *mean* width about right (1.11 ring, 0.86 grid)
# but not the data: single modes range from 0.1 to 2 times the data's width, it loses a mode on 3 of
# 10 runs, and its MMD to real data is higher than best's. Neither recipe matches the data yet
RECIPES["matched"] = _recipe(**{**RECIPES["best"], "lr_decay": (0.4, 0.03, "linear"),
                                "gan": {**RECIPES["best"]["gan"], "ema": 0.0}})


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
    check_lr_decay(recipe.get("lr_decay"))
    return recipe


def build(recipe, data_dim: int = 2, seed: int = 0, device="cpu") -> GAN:
    """The nets (seeded with ``seed``) and the ``GAN`` of a recipe. D's input is ``pack * data_dim``;
    G is an ``MLPMixtureGenerator`` when the recipe's ``G`` has ``generators``, else an ``MLPGenerator``."""
    import torch

    recipe = get_recipe(recipe)
    gan_kw = dict(recipe["gan"])
    pack = gan_kw.get("pack", 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = (MLPMixtureGenerator if "generators" in recipe["G"] else MLPGenerator)(data_dim=data_dim, **recipe["G"])
        D = MLPDiscriminator(data_dim=pack * data_dim, **recipe["D"])
    return GAN(G, D, device=device, seed=seed, **gan_kw)


def check_lr_decay(lr_decay):
    """A learning-rate decay: ``None``, ``(start, factor)`` or ``(start, factor, "linear")`` (a tuple
    or list), ``start`` in [0, 1] the fraction of training before it begins, ``factor`` in (0, 1]
    the rates' multiplier at the end."""
    if lr_decay is None:
        return None
    if not isinstance(lr_decay, (tuple, list)) or len(lr_decay) not in (2, 3):
        raise ValueError(f'lr_decay must be None, (start, factor) or (start, factor, "linear"), got {lr_decay!r}')
    check_real("lr_decay's start", lr_decay[0], 0.0, 1.0)
    check_real("lr_decay's factor", lr_decay[1], 0.0, 1.0, low_open=True)
    if len(lr_decay) == 3:
        check_choice("lr_decay's shape", lr_decay[2], ("linear",))
    return lr_decay


def lr_factor(lr_decay, t: float) -> float:
    """The learning-rate multiplier at training progress ``t`` in [0, 1] for ``lr_decay``
    (``check_lr_decay``): ``None`` (always 1); ``(start, factor)``: 1 until ``start``, then
    ``factor``; or ``(start, factor, "linear")``: 1 until ``start``, then linearly down to
    ``factor`` at the end."""
    if check_lr_decay(lr_decay) is None:
        return 1.0
    start, factor, *shape = lr_decay
    if t < start:
        return 1.0
    if shape and shape[0] == "linear":
        return 1.0 + (factor - 1.0) * (t - start) / max(1.0 - start, 1e-12)
    return factor


def train(recipe, sampler, seed: int = 0, device="cpu", steps: int | None = None, progress: bool = False,
          callbacks=()) -> GAN:
    """Build a recipe's GAN and train it on ``sampler`` for its ``steps`` (or ``steps=``), both
    learning rates scaled by ``lr_factor(recipe["lr_decay"], step / steps)`` as training goes;
    ``callbacks``: more ``callback(gan)`` after each round (``GAN.fit``'s)."""
    recipe = get_recipe(recipe)
    if not callable(sampler):
        hint = f" (for the task {sampler!r}: recipes.TASKS[{sampler!r}](seed))" if sampler in TASKS else ""
        raise TypeError(f"sampler must be callable as sampler(n) -> Tensor, got {sampler!r}{hint}")
    steps = recipe["steps"] if steps is None else check_count("steps", steps)
    data_shape = getattr(sampler, "data_shape", None) or tuple(sampler(1).shape[1:])
    gan = build(recipe, data_dim=data_shape[0], seed=seed, device=device)
    lr_d, lr_g, decay = gan.lr_d, gan.lr_g, recipe.get("lr_decay")

    def schedule(g):  # after each round: the rate for the next one (applied at the step boundary)
        f = lr_factor(decay, g.step / steps)
        if abs(f - g.lr_d / lr_d) > 0.01 * f:  # 1% steps: few set_lr events in the history
            g.set_lr(d=lr_d * f, g=lr_g * f)

    gan.fit(sampler, steps, batch_size=recipe["batch_size"], progress=progress,
            callbacks=([schedule] if decay else []) + list(checks.check_callbacks(callbacks)))
    return gan


def evaluate(recipe, task: str, seed: int = 0, steps: int | None = None, shape: bool = False) -> dict:
    """Train ``recipe`` on ``task`` (``"ring"`` or ``"grid"``) with ``seed`` and score 2,500 samples.

    Returns ``dict(modes, of, hq, cpu_s, wall_s, gan)``: modes recovered (>= 20 high-quality
    samples), the fraction of high-quality samples (within 3 std of a mode), the process CPU
    seconds of training (all threads), its wall-clock seconds, and the trained GAN. Samples
    come from the model as trained (no truncation). ``shape=True`` adds ``shape_scores``: whether
    the samples match the data, not only the protocol (spread, histogram KL, MMD, precision, recall).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {tuple(TASKS)}")
    sampler = TASKS[task](seed)
    start, wall = time.process_time(), time.perf_counter()
    gan = train(recipe, sampler, seed=seed, steps=steps)
    cpu, wall = time.process_time() - start, time.perf_counter() - wall
    samples = gan.sample(N_SAMPLES)
    cov = mode_coverage(samples, sampler.modes, sampler.std)
    out = dict(modes=cov["modes"], of=cov["of"], hq=cov["high_quality"], cpu_s=cpu, wall_s=wall, gan=gan)
    return dict(out, **shape_scores(samples, task, seed)) if shape else out


_BANDS: dict = {}


def task_band(task: str) -> dict:
    """The MMD between two fresh samples of ``task``'s data (2,500 each, 10 pairs, seeds 1000 and
    up: never a training or reference seed): ``match.null_band``, computed once per process."""
    if task not in _BANDS:
        _BANDS[task] = match.null_band(TASKS[task], TASKS[task]().std, N_SAMPLES, repeats=10)
    return _BANDS[task]


def shape_scores(samples, task: str, seed: int) -> dict:
    """``match.match_report`` of ``samples`` against fresh real samples of ``task`` (seed
    ``seed + 10_000``, never a training seed) and the task's ``task_band``; ``modes``, ``of`` and
    ``hq`` left out (``evaluate`` has them)."""
    sampler = TASKS[task](seed)
    reference = TASKS[task](seed + 10_000)(N_SAMPLES)
    report = match.match_report(samples, sampler, reference, task_band(task))
    return {k: v for k, v in report.items() if k not in ("modes", "of", "hq")}

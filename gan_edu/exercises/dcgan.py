r"""Notebook 05's exercises: the two blocks a DCGAN is made of, and an open target.

- ``check_up_block(fn)``: ``fn(in_ch, out_ch)`` must return G's block that doubles the image,
  (n, in_ch, h, w) -> (n, out_ch, 2h, 2w): a transposed convolution with a 4x4 kernel, batch norm
  and G's activation (Radford et al., 2016). A transposed convolution's output size is
  (h - 1) * stride - 2 * padding + kernel.
- ``check_down_block(fn)``: ``fn(in_ch, out_ch)`` must return D's block that halves it,
  (n, in_ch, h, w) -> (n, out_ch, h/2, w/2): a convolution with a 4x4 kernel, batch norm and D's
  activation; a convolution's output size is floor((h + 2 * padding - kernel) / stride) + 1.
  (The stride and padding are the student's to find: the solution notebook holds them.)

Each block checker builds the student's block for hidden channel counts, runs it on hidden images,
and reads its layers, to name the mistake: the wrong convolution, stride, kernel or padding, a
missing batch norm, the other player's activation, or an output activation inside the net.

- ``check_recipe(fn)`` (an open target): ``fn()`` returns settings of
  the student's choosing; the checker trains notebook 05's DCGAN with them within the budget and
  judges the Fréchet distance of G's digits to the held-out digits against the target.
"""
from __future__ import annotations

import torch
from torch import nn

import contextlib
import dataclasses
import difflib
import math
import numbers

from .common import fail, ok, one_thread, raised
from .quiz import Question

__all__ = ["check_up_block", "check_down_block", "check_recipe", "BUDGET", "MAX_BATCH", "TARGET", "QUESTIONS"]

CASES = ((16, 8, 4), (3, 5, 6))  # (in_ch, out_ch, h): hidden channel counts and image sizes
CONVS = (nn.Conv2d, nn.ConvTranspose2d)

UP = {"conv": ("your block doubles the image, but not with a transposed convolution, DCGAN's way: that one layer "
               "learns how to enlarge, where a fixed upsampling followed by a plain convolution does not."),
      "size": ("a transposed convolution's output is (h - 1)·stride - 2·padding + kernel: with the 4x4 kernel, "
               "solve (h - 1)·s - 2p + 4 = 2h for every h (the terms in h fix s, the rest fixes p)."),
      "norm": "DCGAN's blocks batch-normalise: a batch norm over the output's channels, right after the convolution.",
      "act": ("G's hidden blocks end in a plain ReLU (Radford et al.); the leaky kind is D's, and tanh only ends "
              "the last layer, which makes the image.")}
DOWN = {"conv": ("your block halves the image, but its first convolution is a transposed one, which enlarges (G's "
                 "job): D's block halves with a plain convolution alone."),
        "size": ("a convolution's output is ⌊(h + 2·padding - kernel) / stride⌋ + 1: with the 4x4 kernel, solve "
                 "⌊(h + 2p - 4) / s⌋ + 1 = h/2 for every even h (the terms in h fix s, the rest fixes p)."),
        "norm": "DCGAN's blocks batch-normalise: a batch norm over the output's channels, right after the convolution.",
        "act": ("D's blocks end in a leaky ReLU passing 0.2 times a negative input: a plain ReLU is 0 for negative "
                "inputs, so no gradient flows back through those units to G; a sigmoid belongs to D's output "
                "(inside the loss).")}
OTHER_SIZES = ("your convolution has kernel {k}, stride {s}, padding {p}: the size comes out right, but not the "
               "exercise's 4x4 kernel (twice the stride: neighbouring outputs overlap evenly). ")


def _build(fn, in_ch, out_ch):
    """The student's block (built under a forked RNG), or (None, a hint) if building it raised
    or gave no module."""
    try:
        with torch.random.fork_rng(devices=[]):
            block = fn(in_ch, out_ch)
    except Exception as err:
        return None, raised(err)
    if not isinstance(block, nn.Module):
        return None, f"return the block as an nn.Module (e.g. nn.Sequential(...)), got {type(block).__name__}."
    return block, None


def _run(block, x):
    """The block's output on ``x`` (RNG forked, training mode), or (None, a hint)."""
    try:
        with torch.random.fork_rng(devices=[]):
            return block.train()(x), None
    except RuntimeError as err:
        if "channels" in str(err) or "size mismatch" in str(err) or "shape" in str(err):
            return None, (f"the block cannot take an input with in_ch = {x.shape[1]} channels: the convolution's "
                          f"first argument must be in_ch ({err}).")
        return None, raised(err)
    except Exception as err:
        return None, raised(err)


def _capital(text: str) -> str:
    """``text`` with its first letter capitalised: a hint that starts a sentence."""
    return text[:1].upper() + text[1:]


def _layers(block):
    """The block's leaf modules, in order."""
    return [m for m in block.modules() if not list(m.children())]


def _structure_problem(block, conv_type, act_ok, hints):
    """The layers, read in order: the right convolution, batch norm after it, the right activation."""
    layers = _layers(block)
    convs = [m for m in layers if isinstance(m, CONVS)]
    if not convs or not isinstance(convs[0], conv_type):
        return hints["conv"]
    conv = convs[0]
    if (conv.kernel_size, conv.stride, conv.padding) != ((4, 4), (2, 2), (1, 1)):
        k, st, p = conv.kernel_size[0], conv.stride[0], conv.padding[0]
        return OTHER_SIZES.format(k=k, s=st, p=p) + _capital(hints["size"])
    after = layers[layers.index(conv) + 1:]
    if not after or not isinstance(after[0], nn.BatchNorm2d):
        return hints["norm"]
    if len(after) < 2 or not act_ok(after[1]) or len(after) > 2:
        return hints["act"]
    return None


def _check_block(name, fn, grow: bool, conv_type, act_ok, hints) -> bool:
    if not callable(fn):
        return fail(name, f"pass your function itself (e.g. {name}(my_block)), got {type(fn).__name__}.")
    g = torch.Generator().manual_seed(2016)
    for in_ch, out_ch, h in CASES:
        block, problem = _build(fn, in_ch, out_ch)
        if problem:
            return fail(name, problem)
        y, problem = _run(block, torch.randn(2, in_ch, h, h, generator=g))
        want = (2, out_ch, 2 * h, 2 * h) if grow else (2, out_ch, h // 2, h // 2)
        if problem is None and tuple(y.shape) != want:
            problem = (f"for in_ch={in_ch}, out_ch={out_ch} and {h}x{h} images the output has shape "
                       f"{tuple(y.shape)}, expected {want}. " + (_capital(hints["size"]) if y.shape[1] == out_ch else
                                                                 "The convolution's second argument is out_ch."))
        problem = problem or _structure_problem(block, conv_type, act_ok, hints)
        if problem:
            return fail(name, problem)
    note = ""
    if any(m.bias is not None for m in _layers(block) if isinstance(m, CONVS)):
        note = " (A note: bias=False is usual before batch norm, which subtracts the mean and so cancels a bias.)"
    return ok(name, f"{len(CASES)} hidden cases: the right shapes and DCGAN's layers in order.{note}")


def check_up_block(fn) -> bool:
    """Check ``fn(in_ch, out_ch)``: G's block (a transposed convolution, batch norm, G's activation),
    doubling the image. Prints the mistake and returns False, or one line and True."""
    return _check_block("check_up_block", fn, True, nn.ConvTranspose2d, lambda m: type(m) is nn.ReLU, UP)


def check_down_block(fn) -> bool:
    """Check ``fn(in_ch, out_ch)``: D's block (a convolution, batch norm, D's activation),
    halving the image. Prints the mistake and returns False, or one line and True."""
    leaky = lambda m: isinstance(m, nn.LeakyReLU) and abs(m.negative_slope - 0.2) < 1e-9
    return _check_block("check_down_block", fn, False, nn.Conv2d, leaky, DOWN)


# --------------------------------------------------------------------------- an open target: good digits on a budget
BUDGET = 300        # rounds at most, each with d_steps D updates and g_steps G updates: rounds x steps <= BUDGET
MAX_BATCH = 128     # images per batch, at most
TARGET = 10.0       # FD of G's digits to the held-out split, at most this many times the floor
CHECK_SEED = 7      # the checker's seed (nets, noise, batches); the reference recipe was tuned on seeds 0-4
FAST_SCALE, FAST_TARGET = 5, 200.0  # fast mode (CI): a fifth of the rounds, a loose target: a smoke test
NOT_SETTINGS = ("seed", "pack")     # the checker's own seed; D's input fixed by notebook 05's nets
RENAMED = {"steps": "rounds", "n_steps": "rounds", "iterations": "rounds", "epochs": "rounds", "batch": "batch_size",
           "lr": "lr_d and lr_g (one per player)", "learning_rate": "lr_d and lr_g (one per player)"}


def recipe_keys() -> tuple:
    """What a recipe may hold: ``rounds``, ``batch_size`` and ``ge.GAN``'s settings but the seed and pack."""
    from ..settings import Settings

    return ("rounds", "batch_size") + tuple(f.name for f in dataclasses.fields(Settings) if f.name not in NOT_SETTINGS)


def _unknown_key_hint(key) -> str:
    keys = recipe_keys()
    if key in NOT_SETTINGS:
        return (f"leave {key!r} out: the checker trains from its own seed (a recipe must work on any)."
                if key == "seed" else f"leave {key!r} out: notebook 05's D judges one image at a time.")
    if key in RENAMED:
        return f"{key!r} is not a setting: use {RENAMED[key]}."
    close = difflib.get_close_matches(str(key).lower(), keys, n=1, cutoff=0.6)
    guess = f" Did you mean {close[0]!r}?" if close else ""
    return f"{key!r} is not a setting.{guess} A recipe may hold: {', '.join(keys)}."


def _integer(recipe: dict, key: str, default: int):
    """``recipe[key]`` (or ``default``) as an int, or None if it is not a whole number."""
    value = recipe.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, float)):
        return None
    return int(value) if float(value).is_integer() else None


def _budget_problem(rounds, batch, d_steps, g_steps) -> str | None:
    if rounds is None or rounds < 1:
        return "rounds must be a whole number of rounds, at least 1."
    if batch is None or batch < 2:
        return "batch_size must be a whole number, at least 2 (batch norm needs two images to normalise over)."
    if batch > MAX_BATCH:
        return f"over budget: batches of at most {MAX_BATCH} images, not {batch}."
    for who, steps in (("D", d_steps), ("G", g_steps)):
        if rounds * steps > BUDGET:
            return (f"over budget: {rounds} rounds x {steps} {who} update(s) per round = {rounds * steps} {who} "
                    f"updates; the budget is {BUDGET} updates of each player.")
    return None


def recipe_of(out):
    """The student's recipe, checked: (rounds, batch_size, the GAN's settings as a dict), or a hint (str)."""
    from ..settings import Settings

    if not isinstance(out, dict):
        return f"return a dict of settings, e.g. {{'lr_d': 1e-3, 'lr_g': 1e-3, 'rounds': {BUDGET}}}; got {type(out).__name__}."
    for key in out:
        if key not in recipe_keys():
            return _unknown_key_hint(key)
    settings = {k: v for k, v in out.items() if k not in ("rounds", "batch_size")}
    try:
        checked = Settings(**settings)
    except (TypeError, ValueError) as err:
        return f"these settings are refused by ge.GAN: {err}"
    rounds, batch = _integer(out, "rounds", BUDGET), _integer(out, "batch_size", MAX_BATCH)
    problem = _budget_problem(rounds, batch, checked.d_steps, checked.g_steps)
    return problem or (rounds, batch, settings)


@contextlib.contextmanager
def _quiet_cpu(device):
    """One CPU thread while the checker trains on the CPU (steady on a busy machine), restored after;
    warnings kept off stderr."""
    import warnings

    with one_thread() if device.type == "cpu" else contextlib.nullcontext(), \
            warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        yield


def train_recipe(rounds: int, batch: int, settings: dict, seed: int = CHECK_SEED):
    """Notebook 05's DCGAN (noise 32, width 64, 8x8) trained ``rounds`` rounds on the training split with
    ``settings``, from ``seed``, global random state untouched. Returns (G's 32 digits, FD / floor against
    the held-out split; inf if the training diverged, with the round)."""
    from .. import GAN, NonFiniteLossError, data, get_device, metrics, nets, speed

    device = get_device("auto")
    x_train = metrics.digits_split()[0]
    with torch.random.fork_rng(), _quiet_cpu(device):  # every device's RNG: manual_seed seeds them all
        torch.manual_seed(seed)
        pair = nets.DCGANGenerator(noise_dim=32, image_size=8, width=64), nets.DCGANDiscriminator(image_size=8, width=64)
        gan = GAN(*pair, device=device, seed=seed, **speed.best_switches(device), **settings)
        try:
            gan.fit(data.TensorSampler(x_train, seed=seed), steps=rounds, batch_size=batch, progress=False)
        except NonFiniteLossError:
            return None, math.inf, gan.step
        ratio = metrics.digit_fd(gan.sample(len(x_train)).cpu(), reference="test") / metrics.digit_fd_floor()
        return gan.sample(32).cpu(), ratio, gan.step


def _missed_hint(rounds: int, settings: dict, ratio: float, target: float) -> str:
    """Why a recipe missed the target, from its settings: the classic mistakes first."""
    from ..settings import Settings

    said = f"G's digits scored FD {ratio:.1f} times the floor; the target is at most {target:g}. "
    lrs = [settings.get(k, getattr(Settings, k)) for k in ("lr_d", "lr_g")]  # a rate left out: ge.GAN's default
    if rounds < BUDGET:
        return said + f"You trained {rounds} rounds; the budget allows {BUDGET}: use them."
    if settings.get("optimizer") == "sgd":
        return said + "Plain SGD is slow on these nets: DCGANs train with Adam (the default optimizer)."
    if max(lrs) > 5e-3:
        return said + (f"Learning rates this large (lr_d {lrs[0]:g}, lr_g {lrs[1]:g}) overshoot: the players swing "
                       "instead of settling. On a CPU the sweep above found its best between 1e-3 and 3e-3.")
    if min(lrs) <= 1e-3:
        return said + (f"Small learning rates (lr_d {lrs[0]:g}, lr_g {lrs[1]:g}) learn slowly, and the budget is "
                       "fewer rounds than the sweep's (half, on a CPU): take larger steps (the sweep above is your "
                       "evidence).")
    if not settings.get("ema"):
        return said + ("Your rates are in a good range, but at large rates G's weights jitter from round to round, and "
                       "so do its digits: an average of G's weights over recent rounds (the setting ema, see "
                       "help(ge.GAN)) draws steadier ones.")
    return said + "Change one thing at a time (rates, their ratio, ema's β, betas) and check again."


def _show(images, title: str) -> None:
    """The recipe's digits, shown in a notebook (not in a plain Python session)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return
    if get_ipython() is None:
        return
    from matplotlib.figure import Figure

    from ..plots import show_images

    fig = Figure(figsize=(9, 1.6), dpi=100)
    show_images(images, nrow=16, ax=fig.subplots(), title=title)
    display(fig)


def check_recipe(fn) -> bool:
    """Check ``fn() -> recipe``: a dict of ``rounds`` (at most ``BUDGET``), ``batch_size`` (at most
    ``MAX_BATCH``) and ``ge.GAN`` settings (not the seed). Trains notebook 05's DCGAN with it from
    ``CHECK_SEED`` and judges FD / floor against the held-out digits: at most ``TARGET``. Fast mode
    (``ge.fast_mode()``): a fifth of the rounds against ``FAST_TARGET``, a smoke test. Shows G's
    digits (in a notebook); prints a hint naming the problem (over budget, an unknown or refused
    setting, the seed, rates too large or too small, SGD, unused rounds, a diverged training) and
    returns False, or prints one line and returns True."""
    from ..device import fast_mode

    name = "check_recipe"
    if not callable(fn):
        return fail(name, f"pass your function itself (e.g. {name}(my_recipe)), got {type(fn).__name__}.")
    try:
        recipe = recipe_of(fn())
    except Exception as err:  # a student's bug: report it, never raise
        return fail(name, raised(err))
    if isinstance(recipe, str):
        return fail(name, recipe)
    rounds, batch, settings = recipe
    fast = fast_mode()
    trained, target = (max(1, rounds // FAST_SCALE), FAST_TARGET) if fast else (rounds, TARGET)
    try:
        images, ratio, step = train_recipe(trained, batch, settings)
    except Exception as err:  # a combination of settings the GAN cannot train with: report it, never raise
        return fail(name, f"training with your recipe stopped: {raised(err)}")
    if images is None:
        return fail(name, f"the training diverged: a non-finite loss at round {step + 1}. Lower the learning rates.")
    _show(images, f"your recipe: FD {ratio:.1f} x the floor after {trained} rounds (target: at most {target:g})"
                  + (" [fast mode]" if fast else ""))
    if not ratio <= target:
        return fail(name, _missed_hint(rounds, settings, ratio, target))
    return ok(name, "Trained with your recipe within the budget, from the checker's own seed, G's digits reach the "
                    "target (they are shown above).")


# --------------------------------------------------------------------------- check of understanding
QUESTIONS = [
    Question("A convolution with kernel 2, stride 2 and padding 0 gets a 7x7 image. How many pixels "
             "wide is its output?", answer=3,
             why=("The output size is ⌊(h + 2·padding - kernel) / stride⌋ + 1 = ⌊(7 + 0 - 2) / 2⌋ + 1 = 3, not 3.5: "
                  "the floor drops the half step, since an odd size cannot be halved exactly. That is why DCGANs use "
                  "sizes that halve evenly (8, 4, 2)."),
             tolerance=0),
    Question("A G's digits lie at a median distance of 0.6 (over their 64 pixels) from their nearest training digit; "
             "held-out real digits lie at 2.1. Its FD is close to the floor. What do you conclude?", answer=1,
             choices=("G draws new digits, as good as real ones", "G copies its training digits; FD cannot tell",
                      "G has collapsed onto a few digits"),
             why=("Real digits G never saw lie 2.1 from their nearest training digit; G's lie much nearer (a ratio "
                  "near 0.3): it returns near-copies. A copier scores about the floor, so a low FD alone does not "
                  "show learning. A collapsed G would score far above the floor, and its label histogram would show "
                  "few digits."),
             ),
]

r"""Notebook 06's exercises: two fixes for a failing GAN written by the student, and a recipe of their own.

- ``check_pack(fn)``: ``fn(x, m)`` must pack a batch for PacGAN (Lin et al. 2018): ``m``
  samples side by side in one input, ``(n, d) -> (n // m, m * d)``; ``gan_edu.options.Packing``
  is the package's version (consecutive samples). Any grouping of
  the n samples into packs of m whole samples is accepted.
- ``check_r1_penalty(fn)``: ``fn(D, real, fake, gamma)`` must return the R1 penalty (Mescheder
  et al. 2018) that D's loss gets, (γ/2) E_x ||∇_x D(x)||² on *real* data, differentiable in
  D's weights; ``gan_edu.options.R1Penalty`` is the package's version.
- ``check_recipe(fn)``: an open target. ``fn()`` returns settings of the student's choosing (the
  objective, packing, R1, learning rates, batch size, ...: ``recipe_keys()``); trained with them
  within a budget (``RECIPE_BUDGET`` D and G steps, batches of at most ``RECIPE_MAX_BATCH``), G
  must recover at least ``RECIPE_TARGET`` of the ring's 8 modes on each hidden seed.

Each runs the student's function on hidden cases and, when the answer differs, compares it with
the classic mistakes to say which one was made. None touches the global random state.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import difflib
import math
import random
import warnings

import numpy as np
import torch
from torch import nn

from ..nets import MLPDiscriminator
from ..options import Packing, R1Penalty
from .common import close as _close, fail as _fail, ok as _ok, one_thread, raised
from .quiz import Question

__all__ = ["check_pack", "check_r1_penalty", "check_recipe", "pack_cases", "r1_cases", "recipe_keys", "QUESTIONS"]

# --------------------------------------------------------------------------- packing
PACK_HINTS = {
    "not_flat": ("D's MLP takes one flat vector per input: return shape (n // m, m * d), the m samples' "
                 "features one after the other, not (n // m, m, d) (flatten the last two axes)."),
    "repeat": ("You copied each sample m times (e.g. x.repeat(1, m)): a pack holds m *different* samples, "
               "so there are n // m packs. Copies of one sample show D nothing about diversity, which is "
               "what packing is for."),
    "copies": ("Each pack holds one sample repeated m times. A pack must hold m *different* samples "
               "(x[0], x[1], ... side by side): D can only spot a generator that repeats itself if the pack "
               "shows it several of its samples."),
    "interleaved": ("Each pack holds the right samples, but their coordinates are interleaved (x₁ of every "
                    "sample, then x₂, ...). A pack is whole samples one after the other: [sample 1's d features, "
                    "sample 2's d features, ...]."),
    "mixed": ("A pack must hold whole samples: yours mixes coordinates of different samples (did you reshape "
              "x.T, or along the wrong axis?). Each row must hold m whole samples side by side, each sample "
              "used once."),
    "rows": ("Packs are the rows: the result has n // m rows (one per pack) of m * d numbers; yours is "
             "the other way round (a transpose, or reshape(m, -1))."),
}
NO_GRAPH_PACK = ("the packed batch is not connected to x by autograd (a .detach(), .numpy(), torch.tensor(...) "
                 "or .data inside): in G's step the fakes are packed before D sees them, and G's gradient "
                 "must flow back through the packing.")
VIEW_HINT = (" -- .view needs memory laid out in that order, and a batch can arrive non-contiguous (here x is a "
             "transposed tensor): .view never copies; use reshape, which copies only when it must.")


def pack_cases():
    """Hidden cases (x, m): ordinary, m = 3, d = 3 and m = 4, m = 1, a non-contiguous batch."""
    g = torch.Generator().manual_seed(20181204)  # PacGAN's NeurIPS 2018 date
    return [(torch.randn(12, 2, generator=g), 2), (torch.randn(12, 2, generator=g), 3),
            (torch.randn(8, 3, generator=g), 4), (torch.randn(6, 2, generator=g), 1),
            (torch.randn(2, 10, generator=g).t(), 5)]


def _pack_candidates(x, m):
    n, d = x.shape
    return {"interleaved": x.reshape(n // m, m, d).transpose(1, 2).reshape(n // m, m * d),
            "mixed": x.t().reshape(n // m, m * d), "mixed_t": x.t().reshape(m * d, n // m).t()}


def _is_partition(out, x, m) -> bool:
    """Every row of ``out`` is m whole, distinct rows of ``x`` side by side, each row of ``x`` used once."""
    n, d = x.shape
    pieces = out.detach().reshape(n, d).double()
    used = torch.zeros(n, dtype=torch.bool)
    for piece in pieces:
        hit = torch.nonzero((x.double() - piece).abs().amax(1) < 1e-6).flatten()
        free = [int(i) for i in hit if not used[i]]
        if not free:
            return False
        used[free[0]] = True
    return bool(used.all())


def _pack_shape_problem(out, x, m):
    """Check the packed batch's type and shape; returns a hint or None."""
    n, d = x.shape
    if not isinstance(out, torch.Tensor):
        return f"return a torch tensor (the packed batch), got {type(out).__name__}."
    want, shape = (n // m, m * d), tuple(out.shape)
    if shape == want:
        return None
    wrong = f"for x of shape {tuple(x.shape)} and m = {m} the packed batch has shape {want}; yours is {shape}."
    if d != 2 and out.numel() == x.numel() and shape[-1] % 2 == 0 and shape[-1] != m * d:
        return wrong + " Do not hard-code the data's dimension d = 2: use x.shape[1]."
    if m != 2 and shape == (n // 2, 2 * d):
        return wrong + f" Use the argument m (here {m}), not a fixed pack size of 2."
    if shape == (n // m, m, d):
        return PACK_HINTS["not_flat"]
    if shape == (n, m * d) and m > 1:
        return PACK_HINTS["repeat"]
    if shape in ((m * d, n // m), (m, n // m * d)) and m > 1:
        return PACK_HINTS["rows"]
    return wrong


def _pack_value_problem(out, x, m):
    """Check the packs hold whole, different samples; returns (a hint or None, a note on the convention)."""
    if _close(out.detach(), Packing(m)(x)):
        return None, ""
    if _is_partition(out, x, m):
        return None, (" (Your packs group the samples differently from gan_edu.options.Packing, which packs "
                      "consecutive samples; any grouping of whole samples is as good for PacGAN.)")
    if m > 1:
        n, d = x.shape
        rows = out.detach().reshape(n // m, m, d)
        if torch.allclose(rows, rows[:, :1].expand_as(rows)):
            return PACK_HINTS["copies"], ""
    for mistake, value in _pack_candidates(x, m).items():
        if _close(out.detach(), value):
            return PACK_HINTS[mistake.split("_")[0]], ""
    return ("the packs are not m whole samples side by side: each row must hold m whole samples side by side, "
            "each sample used once."), ""


def _pack_grad_problem(out, x_leaf):
    """Check G's gradient flows back through the packing to the samples; returns a hint or None."""
    if not out.requires_grad:
        return NO_GRAPH_PACK
    w = torch.arange(1, out.numel() + 1, dtype=out.dtype).reshape(out.shape)
    (grad,) = torch.autograd.grad((out * w).sum(), x_leaf, allow_unused=True)
    if grad is None or not _close(grad.flatten().sort().values, w.flatten()):  # a permutation of w
        return "the value is right, but the gradient does not flow back to x unchanged: no detach inside."
    return None


def _pack_case_problem(fn, x, m):
    """Check the student's packing on one hidden case; returns (a hint or None, a note)."""
    x_leaf = x.clone().requires_grad_(True)
    arg = x_leaf if x.is_contiguous() else x_leaf.t().contiguous().t()  # keep the case's memory layout
    try:
        with torch.random.fork_rng(devices=[]):
            out = fn(arg, m)
    except Exception as err:  # a student's bug: report it, never raise
        msg = raised(err)
        if "view size is not compatible" in str(err):
            msg += VIEW_HINT
        elif "numpy() on Tensor that requires grad" in str(err):
            msg += " -- " + NO_GRAPH_PACK + " Use torch operations (reshape, torch.cat) on the tensor itself."
        elif "is invalid for input of size" in str(err):
            msg += f" -- for x of shape {tuple(x.shape)} and m = {m} the packed batch has shape {(x.shape[0] // m, m * x.shape[1])}."
        return msg, ""
    problem = _pack_shape_problem(out, x, m)
    if problem:
        return problem, ""
    problem, note = _pack_value_problem(out, x, m)
    return problem or _pack_grad_problem(out, x_leaf), note


def check_pack(fn) -> bool:
    """Check ``fn(x, m) -> packed``: PacGAN's packing, (n, d) -> (n // m, m * d), m whole samples
    side by side in each row (``gan_edu.options.Packing``; any grouping of whole samples accepted).

    Prints a hint naming the mistake (not flattened, copies instead of different samples, samples
    split across packs, coordinates interleaved, hard-coded d or m, ``.view`` on a non-contiguous
    batch, the gradient cut) and returns ``False``, or prints one line and returns ``True``.
    """
    name = "check_pack"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(pack)), got {type(fn).__name__}.")
    notes = ""
    for x, m in pack_cases():
        problem, note = _pack_case_problem(fn, x, m)
        if problem:
            return _fail(name, problem)
        notes = notes or note
    return _ok(name, "5 hidden cases pass (m = 1 to 5, d = 2 and 3, a non-contiguous batch), and the "
                     "gradient flows back through the packing." + notes)


# --------------------------------------------------------------------------- the R1 penalty
NO_CREATE_GRAPH = ("Right value, but the penalty is not differentiable in D's weights, so adding it to D's loss "
                   "would change nothing: the gradient ∇_x D(x) must itself be part of the graph, and "
                   "torch.autograd.grad builds that graph only when asked to (see its arguments).")
USED_BACKWARD = ("You called .backward() inside the penalty: that fills D's .grad with the gradient of D(x) "
                 "(a stray gradient the next optimizer step would apply), and x.grad is not part of any graph. "
                 "torch.autograd.grad returns the gradient instead, without touching any .grad.")
R1_HINTS = {
    "weights": ("You took the gradient with respect to D's *weights*. R1 penalises D's slope in data space: "
                "the gradient of D's output with respect to its input x."),
    "weights_mean": ("You took the gradient with respect to D's *weights*. R1 penalises D's slope in data space: "
                     "the gradient of D's output with respect to its input x."),
    "not_squared": ("Missing square: R1 is the *squared* norm ||∇_x D(x)||², the sum of the squared "
                    "gradient entries of each sample, not the norm itself."),
    "sum_batch": ("Average over the batch, do not sum: (γ/2) times the *mean* over the samples of "
                  "||∇_x D(x)||², so the penalty does not grow with the batch size."),
    "mean_all": ("You averaged over the features too: the squared norm sums over each sample's features, then "
                 "the penalty averages over the batch."),
    "no_gamma_half": "Missing the factor γ/2: R1 is (γ/2) E||∇_x D(x)||².",
    "no_half": "Missing the 1/2: R1 is (γ/2) E||∇_x D(x)||², you have γ E||∇_x D(x)||².",
    "half_no_gamma": "Missing γ: R1 is (γ/2) E||∇_x D(x)||², you have (1/2) E||∇_x D(x)||².",
    "fakes": ("You penalised D's slope at the *fakes*. R1 is taken on real data only: D is made flat where the "
              "data are, so once G's samples sit on the data nothing pushes them off."),
    "both": ("You penalised D's slope at real data *and* at the fakes. R1 is taken on real data only "
             "(fake is passed for penalties such as WGAN-GP's, which need it)."),
    "one_centred": ("This is WGAN-GP's form (||∇ D|| - 1)², which pushes the slope towards 1. R1 is "
                    "zero-centred: (γ/2) E||∇_x D(x)||², which pushes it towards 0 at the data."),
    "mean_out": ("You took the gradient of D(x).mean(): that divides each sample's gradient by the batch size. "
                 "Each D(x_i) depends on x_i alone, so the gradient of the outputs' *sum* gives every sample its "
                 "own gradient, undivided."),
    "sigmoid": ("You took the gradient of the probability sigmoid(D(x)). R1 uses D's raw output, the logit "
                "D(x) (what the BCE loss is computed from)."),
}
R1_REQUIRES_GRAD = (" -- x must require grad *before* D(x) is computed: autograd only records operations on "
                    "tensors that require grad, and the real batch does not. Differentiate with respect to a "
                    "detached copy of it that requires grad, and apply D to that copy.")
R1_SCALAR = (" -- autograd.grad of D(x), a vector, needs grad_outputs (the weight of each output); or "
             "differentiate one number whose gradient still gives each sample its own gradient.")


class _Slope(nn.Module):
    """The Dirac-GAN's discriminator D_ψ(x) = ψ x (a logit), without a bias."""

    def __init__(self, psi: float):
        super().__init__()
        self.psi = nn.Parameter(torch.tensor([[psi]]))

    def forward(self, x):
        return x @ self.psi


def r1_cases():
    """Hidden cases (D, real, fake, gamma): two MLP Ds on 2D data (γ = 3, γ = 1) and the Dirac-GAN."""
    cases = []
    with torch.random.fork_rng(devices=[]):
        for seed, gamma, hidden in ((5, 3.0, 16), (6, 1.0, 8)):  # γ = 3: every mistake a different value
            torch.manual_seed(seed)
            D = MLPDiscriminator(data_dim=2, hidden=hidden, depth=2)
            g = torch.Generator().manual_seed(seed)
            cases.append((D, 2.0 * torch.randn(24, 2, generator=g), 1.5 + torch.randn(24, 2, generator=g), gamma))
    cases.append((_Slope(0.7), torch.zeros(4, 1), torch.ones(4, 1), 2.0))  # data at 0: (γ/2) ψ² = 0.49
    return cases


def _input_grads(D, x, of=lambda out: out.sum()):
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(of(D(x)), x, create_graph=True)
    return grad.reshape(grad.shape[0], -1)


def _weight_sq(D, x, of):
    grads = torch.autograd.grad(of(D(x)), list(D.parameters()), create_graph=True)
    return sum(gr.pow(2).sum() for gr in grads)


def _r1_candidates(D, real, fake, gamma):
    """The classic mistakes' values (as functions, evaluated lazily) for one case."""
    sq = lambda grad: grad.pow(2).sum(1)
    g_real = lambda: _input_grads(D, real)
    return {
        "weights": lambda: gamma / 2 * _weight_sq(D, real, lambda o: o.sum()),
        "weights_mean": lambda: gamma / 2 * _weight_sq(D, real, lambda o: o.mean()),
        "not_squared": lambda: gamma / 2 * g_real().norm(dim=1).mean(),
        "sum_batch": lambda: gamma / 2 * sq(g_real()).sum(),
        "mean_all": lambda: gamma / 2 * g_real().pow(2).mean(),
        "no_gamma_half": lambda: sq(g_real()).mean(),
        "no_half": lambda: gamma * sq(g_real()).mean(),
        "half_no_gamma": lambda: 0.5 * sq(g_real()).mean(),
        "fakes": lambda: gamma / 2 * sq(_input_grads(D, fake)).mean(),
        "both": lambda: gamma / 2 * (sq(g_real()).mean() + sq(_input_grads(D, fake)).mean()),
        "one_centred": lambda: gamma / 2 * (g_real().norm(dim=1) - 1).pow(2).mean(),
        "mean_out": lambda: gamma / 2 * sq(_input_grads(D, real, lambda o: o.mean())).mean(),
        "sigmoid": lambda: gamma / 2 * sq(_input_grads(D, real, lambda o: torch.sigmoid(o).sum())).mean(),
    }


def _r1_reference(D, real, gamma):
    """The package's penalty: ``options.R1Penalty(gamma)`` added to a zero loss."""
    penalty = R1Penalty(gamma)
    x = penalty.watch(real)
    return penalty(torch.zeros(()), x, None, D(x))


def _named_r1_mistake(value, D, real, fake, gamma, want):
    for mistake, formula in _r1_candidates(D, real, fake, gamma).items():
        other = formula().detach()
        if torch.isfinite(other) and not _close(other, want) and _close(value, other):
            return R1_HINTS[mistake]
    return (f"on a hidden case your penalty is {value.item():.6g}, expected {want.item():.6g}: "
            "(γ/2) times the batch mean of ||∇_x D(x)||² on the real batch.")


def _call_r1(fn, D, real, fake, gamma):
    """Run the student's penalty (RNG forked); returns (its output, None) or (None, a hint)."""
    try:
        with torch.random.fork_rng(devices=[]):
            return fn(D, real.clone(), fake.clone(), gamma), None
    except Exception as err:  # a student's bug: report it, never raise
        msg, text = raised(err), str(err)
        if "does not require grad" in text or "One of the differentiated Tensors" in text:
            msg += R1_REQUIRES_GRAD
        elif "implicitly created only for scalar outputs" in text:
            msg += R1_SCALAR
        return None, msg


def _r1_type_problem(out):
    if not isinstance(out, torch.Tensor):
        if isinstance(out, (int, float)):
            return ("return the penalty as a torch tensor in the graph, not a Python number (no .item()): "
                    "D's loss adds it, and its gradient must reach D's weights.")
        return f"return a torch tensor (the penalty), got {type(out).__name__}."
    if out.numel() != 1:
        return f"return one number (a scalar tensor), the batch mean; got shape {tuple(out.shape)}."
    return None


def _r1_grad_problem(out, D, want):
    """Check the penalty's gradient with respect to D's weights is the package's; returns a hint or None."""
    if not out.requires_grad:
        return NO_CREATE_GRAPH
    params = list(D.parameters())
    got = torch.autograd.grad(out.reshape(()), params, allow_unused=True, retain_graph=True)
    exp = torch.autograd.grad(want, params, allow_unused=True)
    for a, b in zip(got, exp):
        a = torch.zeros_like(params[0]) if a is None and b is None else a
        if a is None or (b is not None and not _close(a, b)):
            return ("the value is right, but its gradient with respect to D's weights is not: keep the "
                    "whole computation in the graph (the gradient built as part of it, no .detach() or .item()).")
    return None


def _r1_case_problem(fn, D, real, fake, gamma):
    """Check the student's penalty on one hidden case (output, value, gradient); returns a hint or None."""
    D.zero_grad(set_to_none=True)
    out, problem = _call_r1(fn, D, real, fake, gamma)
    problem = problem or _r1_type_problem(out)
    if problem:
        return problem
    if any(p.grad is not None for p in D.parameters()):
        D.zero_grad(set_to_none=True)
        return USED_BACKWARD
    want = _r1_reference(D, real, gamma)
    value = out.detach().reshape(()).double()
    if not torch.isfinite(value):
        return f"your penalty came out as {value.item()} on a hidden case."
    if not _close(value, want.detach()):
        return _named_r1_mistake(value, D, real, fake, gamma, want.detach())
    return _r1_grad_problem(out, D, want)


def check_r1_penalty(fn) -> bool:
    """Check ``fn(D, real, fake, gamma) -> penalty``: R1, (γ/2) E_x ||∇_x D(x)||² on the real batch,
    from D's logit, differentiable in D's weights (``gan_edu.options.R1Penalty``).

    Prints a hint naming the mistake (no ``create_graph=True``, the gradient with respect to the
    weights instead of x, missing square, sum instead of mean over the batch, missing γ/2, taken on
    the fakes, WGAN-GP's (||∇|| - 1)², ``.backward()`` inside) and returns ``False``, or prints one
    line and returns ``True``.
    """
    name = "check_r1_penalty"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(r1_penalty)), got {type(fn).__name__}.")
    for D, real, fake, gamma in r1_cases():
        problem = _r1_case_problem(fn, D, real, fake, gamma)
        if problem:
            return _fail(name, problem)
    return _ok(name, "3 hidden cases pass (two MLP discriminators, and the Dirac-GAN's D(x) = ψx with the data "
                     "at 0, where R1 is (γ/2)ψ²), and the penalty's gradient reaches D's weights.")



# --------------------------------------------------------------------------- an open target: your own recipe
RECIPE_BUDGET = 1000       # optimizer steps (D steps + G steps) per run: 500 rounds of one D step and one G step
RECIPE_MAX_BATCH = 256     # the largest batch the budget allows
RECIPE_TARGET = 7          # modes of the ring's 8 to reach, on every hidden seed
RECIPE_SEEDS = (501, 502)  # the data, the nets and the noise; the notebook's answer was tuned on seeds 0-9
RECIPE_NETS = dict(G=dict(noise_dim=2, hidden=64, depth=3), D=dict(hidden=64, depth=3))  # fixed: not a setting
RECIPE_EXTRA = ("batch_size", "rounds", "lr_decay")  # the keys besides GAN's settings (its seed aside)
NOT_SETTINGS = {
    ("steps", "iterations", "epochs", "n_steps", "num_steps"):
        "how long to train is `rounds` (a round: d_steps D steps, then g_steps G steps)",
    ("G", "D", "hidden", "depth", "generators", "noise_dim", "nets"):
        "the nets are fixed (G and D: MLPs of 3 hidden layers of 64 units, 2D noise): choose how they train, "
        "not their shape",
    ("seed",): "the checker picks the seeds (hidden ones): a recipe must not depend on one",
}
RECIPE_HINTS = {
    "point": ("G's samples all sit at one point (they no longer depend on the noise): steps that large can switch "
              "G's ReLU units off for good. Lower the learning rates."),
    "critic": ("A Wasserstein critic must be kept about 1-Lipschitz (section 2): without gp_weight (WGAN-GP uses "
               "10) nothing bounds its slope."),
    "ema": ("Your ema = {ema} averages G's weights over about {span:.0f} rounds, {share:.0%} of your {rounds}: the "
            "samples come from an average of places G passed through on its way. Leave ema out, or make the "
            "average much shorter than the run."),
    "decay": ("Without a decay the rates stay high to the end of the run, and G's samples do not settle onto the "
              "modes (within 3 std, 0.06, of a centre). Let both rates fall over the end of the run, as best "
              "does: lr_decay=(start, factor, \"linear\") (see recipes.lr_factor)."),
    "saturating": ("The saturating loss gives G almost no gradient once D rejects its samples (section 3): the "
                   "non-saturating loss is the usual choice."),
}
DIVERGED = ("training diverged on hidden seed {i}: a loss or its gradient became NaN or infinite, and training "
            "stopped. Lower the learning rates (with plain SGD, far lower), or bound D's slope (r1_weight, gp_weight).")


@contextlib.contextmanager
def _private_run():
    """Run a block without changing Python's, NumPy's or torch's global random state, on one CPU
    thread (small nets train fastest and steadiest so on a busy machine; the count is restored)."""
    py, npy = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]), one_thread():
        try:
            yield
        finally:
            random.setstate(py)
            np.random.set_state(npy)


def recipe_keys() -> tuple:
    """The keys a recipe may hold: ``GAN``'s settings (its seed aside), ``batch_size``, ``rounds``, ``lr_decay``."""
    from ..settings import Settings
    return tuple(f.name for f in dataclasses.fields(Settings) if f.name != "seed") + RECIPE_EXTRA


def _recipe_key_problem(settings: dict):
    """A hint for the first key that is not a setting, or None."""
    known = recipe_keys()
    for key in settings:
        if key in known:
            continue
        for names, why in NOT_SETTINGS.items():
            if key in names:
                return f"{key!r} is not a setting here: {why}."
        close = difflib.get_close_matches(str(key), known, n=1)
        guess = f" Did you mean {close[0]!r}?" if close else ""
        return f"unknown setting {key!r}.{guess} The settings: {', '.join(known)}."
    return None


def _whole(value, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _recipe_budget(settings: dict, base_batch: int):
    """(rounds, batch, steps per round) of ``settings``, or a hint (str): not whole numbers, or over budget."""
    d, g = settings.get("d_steps", 1), settings.get("g_steps", 1)
    batch = settings.get("batch_size", base_batch)
    if not (_whole(d, 0) and _whole(g, 0) and _whole(batch, 1)):
        return f"d_steps, g_steps and batch_size must be whole numbers, got {d!r}, {g!r} and {batch!r}."
    per = max(d + g, 1)
    rounds = settings.get("rounds", RECIPE_BUDGET // per)
    if not _whole(rounds, 1):
        return f"rounds must be a whole number of at least 1, got {rounds!r}."
    if batch > RECIPE_MAX_BATCH:
        return (f"over budget: batch_size {batch} is above the {RECIPE_MAX_BATCH} allowed (a larger batch costs "
                "more CPU time per step).")
    if rounds * per > RECIPE_BUDGET:
        return (f"over budget: {rounds} rounds of {d} D step(s) and {g} G step(s) are {rounds * per:,} steps; the "
                f"budget is {RECIPE_BUDGET:,} (e.g. {RECIPE_BUDGET // 2} rounds at 1:1, or {RECIPE_BUDGET // 6} "
                "at WGAN-GP's 5 critic steps per G step). Leave rounds out to use the whole budget.")
    return rounds, batch, per


def _recipe_of(settings: dict):
    """The recipe the checker trains (``experiments.recipes``): the plain GAN's (``RECIPES["vanilla"]``)
    with ``RECIPE_NETS`` and the student's settings; or a hint (str) when a value is refused."""
    from ..experiments import recipes
    from ..settings import Settings
    base = recipes.get_recipe("vanilla", **copy.deepcopy(RECIPE_NETS))
    budget = _recipe_budget(settings, base["batch_size"])
    if isinstance(budget, str):
        return budget
    rounds, batch, _ = budget
    gan = {**base["gan"], **{k: v for k, v in settings.items() if k not in RECIPE_EXTRA}}
    try:
        Settings(**gan)
        return recipes.get_recipe(base, gan=gan, steps=rounds, batch_size=batch, lr_decay=settings.get("lr_decay"))
    except (TypeError, ValueError) as err:
        return f"a setting is refused: {err}."


def _recipe_run(recipe: dict, seed: int):
    """Train ``recipe`` on the ring with ``seed`` and score it (``recipes.evaluate``), privately;
    returns (result with ``spread``, the largest std of G's samples, None) or (None, the error)."""
    from ..experiments import recipes
    with _private_run(), warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        try:
            result = recipes.evaluate(recipe, "ring", seed=seed)
        except Exception as err:  # the student's settings made training fail: report it, never raise
            return None, err
        spread = float(result["gan"].sample(500).std(0).max())
    return dict(result, spread=spread), None


def _recipe_advice(settings: dict, result: dict, rounds: int) -> str:
    """What probably kept a run from the target: the first two hints that apply."""
    hints, ema = [], settings.get("ema", 0.0)
    if result["spread"] < 0.01:
        hints.append(RECIPE_HINTS["point"])
    if settings.get("loss") == "wasserstein" and not settings.get("gp_weight"):
        hints.append(RECIPE_HINTS["critic"])
    span = 1 / (1 - ema) if ema < 1 else math.inf
    if ema and span > rounds / 10:
        hints.append(RECIPE_HINTS["ema"].format(ema=ema, span=span, share=min(span / rounds, 1), rounds=rounds))
    if settings.get("lr_decay") is None:
        hints.append(RECIPE_HINTS["decay"])
    if settings.get("loss") == "saturating":
        hints.append(RECIPE_HINTS["saturating"])
    hints = [h for h in hints + [_best_differences(settings)] if h]
    return " ".join(hints[:2]) if hints else "Change one setting at a time and watch the number of modes."


def _best_differences(settings: dict) -> str:
    """How the student's settings differ from ``best``'s optimisation (section 2 of notebook 06); "" if not."""
    out = []
    if settings.get("batch_size", 64) < RECIPE_MAX_BATCH:
        out.append(f"a smaller batch (best: {RECIPE_MAX_BATCH})")
    if tuple(settings.get("betas", (0.5, 0.999)))[:1] != (0.0,):
        out.append("Adam's momentum β₁ > 0 (best: β₁ = 0)")
    if min(settings.get("lr_d", 1e-3), settings.get("lr_g", 1e-3)) < 2e-3:
        out.append("a lower learning rate (best: 2e-3, before its decay)")
    if not settings.get("r1_weight"):
        out.append("no R1 penalty (best: r1_weight=1)")
    if settings.get("pack", 1) > 1:
        out.append("packing (D sees pack times fewer inputs per batch)")
    if not out:
        return ""
    return "Your recipe differs from best's (section 2) in: " + "; ".join(out) + ". Change one thing at a time."


def check_recipe(fn) -> bool:
    """Check ``fn() -> settings`` (a dict: ``recipe_keys()``): trained with them on the ring of 8 (the nets
    ``RECIPE_NETS``; what a recipe leaves out keeps the plain GAN's value, ``recipes.RECIPES["vanilla"]``)
    within ``RECIPE_BUDGET`` steps of batches of at most ``RECIPE_MAX_BATCH``, G recovers at least
    ``RECIPE_TARGET`` modes (``metrics.mode_coverage`` of 2,500 samples) on every hidden seed.

    Prints a hint (unknown keys, over budget, a refused value, diverged, and when the target is
    missed what probably kept it: a collapse to one point, an unbounded critic, an average of G's
    weights too long for the run, no decay, ...) and returns ``False``, or prints one line and
    returns ``True``. Trains on one CPU thread (the thread count and the global random state are
    restored); writes nothing to stderr.
    """
    name = "check_recipe"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(my_recipe)), got {type(fn).__name__}.")
    try:
        settings = fn()
    except Exception as err:  # a student's bug: report it, never raise
        return _fail(name, raised(err))
    if not isinstance(settings, dict):
        return _fail(name, f"return a dict of settings (e.g. {{'batch_size': 128}}), got {type(settings).__name__}.")
    recipe = _recipe_key_problem(settings) or _recipe_of(settings)
    if isinstance(recipe, str):
        return _fail(name, recipe)
    return _recipe_verdict(name, settings, recipe)


def _recipe_verdict(name: str, settings: dict, recipe: dict) -> bool:
    """Train on each hidden seed; the first miss fails."""
    from ..options import NonFiniteLossError
    rounds, n = recipe["steps"], len(RECIPE_SEEDS)
    for i, seed in enumerate(RECIPE_SEEDS, 1):
        result, err = _recipe_run(recipe, seed)
        if isinstance(err, NonFiniteLossError):
            return _fail(name, DIVERGED.format(i=i))
        if err is not None:
            return _fail(name, f"training with your settings raised {type(err).__name__} on hidden seed {i}: {err}")
        if result["modes"] < RECIPE_TARGET:
            return _fail(name, f"on hidden seed {i} of {n} G recovered {result['modes']} of the ring's 8 modes "
                               f"({result['hq']:.0%} of its samples high-quality) after {rounds} rounds; the "
                               f"target is {RECIPE_TARGET} on each. " + _recipe_advice(settings, result, rounds))
    per = recipe["gan"].get("d_steps", 1) + recipe["gan"].get("g_steps", 1)
    return _ok(name, f"On both hidden seeds G recovered at least {RECIPE_TARGET} of the ring's 8 modes, within "
                     f"the budget: {rounds} rounds of batch {recipe['batch_size']}, {rounds * per:,} of the "
                     f"{RECIPE_BUDGET:,} steps allowed.")


# --------------------------------------------------------------------------- check of understanding (not graded)
QUESTIONS = [
    Question("A generator draws every sample exactly at the centre of one of the ring's 8 modes, each mode "
             "equally often. What does notebook 06 report for it?",
             answer=2, choices=("8/8 modes, 100% HQ: a perfect generator",
                                "0/8 modes: a point is not a Gaussian, so nothing is high-quality",
                                "8/8 modes and 100% HQ, above real data's 98.6%, yet the wrong shape: spread 0, "
                                "recall low, MMD outside the real band",
                                "8/8 modes, 98.9% HQ, like real data"),
             why="Modes and HQ only ask whether samples lie within 3 std of a mode, so points on the centres score "
                 "best of all. The shape scores see that every mode has width 0 instead of the data's std: spread "
                 "0, the real samples around the centres not covered (low recall), an MMD far from the real band."),
    Question("D rejects G's samples with D(G(z)) = 0.001 on every one. How many times larger is the gradient "
             "that reaches G with the non-saturating loss -log D(G(z)) than with the saturating log(1 - D(G(z)))?",
             answer=999, tolerance=2,
             why="Both losses reach G through D's logit l at the fake, D = σ(l): d/dl of -log σ(l) is -(1 - D), "
                 "of log(1 - σ(l)) it is -D; the rest of the chain is the same. The ratio is (1 - D)/D = 0.999/0.001 "
                 "= 999: section 3 measured the same effect, about 10⁴ at D(G(z)) = 8e-5."),
]

r"""Notebook 06's exercises: two fixes for a failing GAN, written by the student.

- ``check_pack(fn)``: ``fn(x, m)`` must pack a batch for PacGAN (Lin et al. 2018): ``m``
  samples side by side in one input, ``(n, d) -> (n // m, m * d)``; ``gan_edu.options.Packing``
  is the package's version (consecutive samples, ``x.reshape(n // m, m * d)``). Any grouping of
  the n samples into packs of m whole samples is accepted.
- ``check_r1_penalty(fn)``: ``fn(D, real, fake, gamma)`` must return the R1 penalty (Mescheder
  et al. 2018) that D's loss gets, (γ/2) E_x ||∇_x D(x)||² on *real* data, differentiable in
  D's weights; ``gan_edu.options.R1Penalty`` is the package's version.

Each runs the student's function on hidden cases and, when the answer differs, compares it with
the classic mistakes to say which one was made. Neither touches the global random state.
"""
from __future__ import annotations

import torch
from torch import nn

from ..nets import MLPDiscriminator
from ..options import Packing, R1Penalty
from .common import close as _close, fail as _fail, ok as _ok, raised

__all__ = ["check_pack", "check_r1_penalty", "pack_cases", "r1_cases"]

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
                    "sample, then x₂, ...). Concatenate whole samples: [sample 1's d features, sample 2's d "
                    "features, ...], as x.reshape(n // m, m * d) or torch.cat does (gan_edu.options.Packing)."),
    "mixed": ("A pack must hold whole samples: yours mixes coordinates of different samples (did you reshape "
              "x.T, or the wrong axis?). Row j of the result is samples j*m, ..., j*m + m - 1 side by side: "
              "x.reshape(n // m, m * d)."),
    "rows": ("Packs are the rows: the result has n // m rows (one per pack) of m * d numbers; yours is "
             "the other way round (a transpose, or reshape(m, -1))."),
}
NO_GRAPH_PACK = ("the packed batch is not connected to x by autograd (a .detach(), .numpy(), torch.tensor(...) "
                 "or .data inside): in G's step the fakes are packed before D sees them, and G's gradient "
                 "must flow back through the packing.")
VIEW_HINT = (" -- .view needs memory laid out in that order; a batch can arrive non-contiguous (here x is a "
             "transposed tensor). Use x.reshape(n // m, m * d), which copies only when it must.")


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
    return ("the packs are not m whole samples side by side: row j of the result should be samples "
            "j*m, ..., j*m + m - 1 concatenated, x.reshape(n // m, m * d)."), ""


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
                   "would change nothing: pass create_graph=True to torch.autograd.grad(D(x).sum(), x, ...), "
                   "so that the gradient ∇_x D(x) is itself part of the graph.")
USED_BACKWARD = ("You called .backward() inside the penalty: that fills D's .grad with the gradient of D(x) "
                 "(a stray gradient the next optimizer step would apply), and x.grad is not part of any graph. "
                 "Use torch.autograd.grad(D(x).sum(), x, create_graph=True).")
R1_HINTS = {
    "weights": ("You took the gradient with respect to D's *weights*. R1 penalises D's slope in data space: "
                "the gradient with respect to the input x, torch.autograd.grad(D(x).sum(), x, create_graph=True)."),
    "weights_mean": ("You took the gradient with respect to D's *weights*. R1 penalises D's slope in data space: "
                     "the gradient with respect to the input x, torch.autograd.grad(D(x).sum(), x, create_graph=True)."),
    "not_squared": ("Missing square: R1 is the *squared* norm ||∇_x D(x)||², the sum of the squared "
                    "gradient entries of each sample, not the norm itself."),
    "sum_batch": ("Average over the batch, do not sum: (γ/2) times the *mean* over the samples of "
                  "||∇_x D(x)||², so the penalty does not grow with the batch size."),
    "mean_all": ("You averaged over the features too (.pow(2).mean()): the squared norm sums over each "
                 "sample's features, then the penalty averages over the batch: grad.pow(2).sum(1).mean()."),
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
                 "Take the gradient of D(x).sum() (each D(x_i) depends on x_i alone, so that gives every "
                 "sample its own gradient)."),
    "sigmoid": ("You took the gradient of the probability sigmoid(D(x)). R1 uses D's raw output, the logit "
                "D(x) (what the BCE loss is computed from, gan_edu.losses.r1_penalty)."),
}
R1_REQUIRES_GRAD = (" -- x must require grad *before* D(x) is computed: x = real.detach().requires_grad_(True), "
                    "then out = D(x), then torch.autograd.grad(out.sum(), x, create_graph=True).")
R1_SCALAR = (" -- autograd.grad of D(x), a vector, needs grad_outputs=torch.ones_like(out); or take the "
             "gradient of out.sum(), which gives each sample its own gradient.")


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
                    "whole computation in the graph (create_graph=True, no .detach() or .item()).")
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

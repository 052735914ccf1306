r"""Notebook 03's exercises: the two steps of Algorithm 1, written by the student (the two players,
``check_mlp_nets``, are in ``mlp``).

- ``check_d_step(fn)``: ``fn(G, D, opt_d, real, noise)`` must do Step 1, one update of D on the
  real batch (label 1) and fakes from ``noise(n)`` (label 0), with G kept out of
  backpropagation, and return D's loss (as ``gan_edu.algorithm.d_step``).
- ``check_g_step(fn)``: ``fn(G, D, opt_g, batch_size, noise)`` must do Step 2, one update of G
  through D on ``batch_size`` fresh fakes with the *real* label, and return G's loss (as
  ``gan_edu.algorithm.g_step``).
- ``check_train_step(fn)``: ``fn(G, D, opt_d, opt_g, real, noise)``, a whole round: Step 1 then
  Step 2, returning ``(loss_d, loss_g)``.

The step checkers run the student's step on small nets whose ``.grad`` hold leftovers of a
"previous step", with SGD (so the size of a gradient shows in the weights), then replay the right
step and the classic mistakes from the same start and say which one the weights match. The
package's own step (``gan_edu.algorithm.d_step`` or ``g_step``), or a step that calls it, is
refused: the student writes it. The checkers that train whole GANs with the student's code are
in ``loop``.

``QUESTIONS``: notebook 03's check of understanding (``understanding("03")``, not graded).
"""
from __future__ import annotations

import contextlib
import math
import operator

import torch
import torch.nn.functional as F

from .. import algorithm
from ..nets import MLPDiscriminator, MLPGenerator
from .common import explained, fail as _fail, ok as _ok
from .quiz import Question

__all__ = ["check_d_step", "check_g_step", "check_train_step", "QUESTIONS"]


def _sp(x):
    return F.softplus(x)


# --------------------------------------------------------------------------- the noise, PyTorch's errors
class _Noise:
    """noise(n): n draws of N(0, I) from a private seeded generator (the same for every replay);
    remembers the n of each call."""

    def __init__(self, dim: int, seed: int):
        self.dim, self.g, self.calls = dim, torch.Generator().manual_seed(seed), []

    def __call__(self, n) -> torch.Tensor:
        try:
            n = operator.index(n)
        except TypeError:
            raise TypeError(f"noise(n) takes the number of samples n, an int (it returns a tensor of shape "
                            f"(n, {self.dim})); got {n!r}") from None
        self.calls.append(n)
        return torch.randn(n, self.dim, generator=self.g)


BACKWARD_TWICE = ("D's loss went back through G's graph and freed it. In D's step use fake.detach() "
                  "(or make the fakes under torch.no_grad()).")
NO_PATH = {"D": ("D's loss has no path to D's weights: only G's forward pass goes under torch.no_grad() "
                 "(or is detached), not D(real) or D(fake)."),
           "G": ("G's loss has no path to G's weights: in G's step do not make the fakes under "
                 "torch.no_grad() or detach() them; G's gradient flows back through D into G."),
           "round": ("the loss you called backward() on has no path to any weight: in G's step do not "
                     "detach the fakes, G's loss must reach G.")}
LOGITS_AS_PROBS = ("you treated D's logits as probabilities (F.binary_cross_entropy, or torch.log, on D's "
                   "output). D returns logits, any real number: use F.binary_cross_entropy_with_logits, which "
                   "applies the sigmoid inside, stably.")
TORCH_ERRORS = (  # (a piece of PyTorch's message, what the student did)
    ("second time", BACKWARD_TWICE),
    ("does not require grad", NO_PATH),
    ("must be the same as input size", "the labels do not have the logits' shape (n, 1): make them with "
     "torch.ones_like(logits) / torch.zeros_like(logits)."),
    ("different to the input size", "the labels do not have the shape of D's output (n, 1): make them with "
     "torch.ones_like(...) / torch.zeros_like(...)."),
    ("Long", "the labels are integers: BCE needs float labels, e.g. torch.ones_like(logits)."),
    ("shapes cannot be multiplied", "a net got an input of the wrong width: G takes noise(n), of shape "
     "(n, noise_dim); D takes data or G's output, of shape (n, data_dim). Did you give the noise to D?"),
    ("between 0 and 1", LOGITS_AS_PROBS),
    ("modified by an inplace operation", "an optimizer's step() changed weights that a loss not yet "
     "backpropagated was computed through: call backward() before the step() that changes them."),
)


def _explain(err: Exception, step: str) -> str:
    """What to tell a student whose ``step`` ("D", "G" or "round") raised ``err``."""
    return explained(err, TORCH_ERRORS, step)


def _loss_value(out):
    """The loss a step returned, as a float (a tensor, a number, or a tuple's first item), else None."""
    if isinstance(out, (tuple, list)) and out:
        out = out[0]
    try:
        return float(out.detach()) if isinstance(out, torch.Tensor) else float(out)
    except (TypeError, ValueError, RuntimeError):
        return None


def _params(net):
    return [p.detach().clone() for p in net.parameters()]


def _same(a, b) -> bool:
    return len(a) == len(b) and all(x.shape == y.shape and torch.allclose(x, y, rtol=1e-5, atol=1e-6)
                                    for x, y in zip(a, b))


# --------------------------------------------------------------------------- the package's own steps
PACKAGE_STEPS = {"d_step": "Step 1, the D step (exercise 2)", "g_step": "Step 2, the G step (exercise 3)"}


def _is_package_step(fn, step: str) -> bool:
    """``fn`` is gan_edu.algorithm's ``step`` itself (or a functools.partial of it)."""
    original = getattr(algorithm, step)
    return fn is original or getattr(fn, "func", None) is original


@contextlib.contextmanager
def _package_steps():
    """While the block runs, gan_edu.algorithm.d_step and g_step (which alternating_round, GAN.fit and
    experiments.failures.algorithm_round call) record each call, by name, in the list yielded, and
    still do their work; the originals come back after."""
    called, originals = [], {step: getattr(algorithm, step) for step in PACKAGE_STEPS}

    def recording(step, original):
        def recorded(*args, **kwargs):
            called.append(step)
            return original(*args, **kwargs)
        return recorded

    for step, original in originals.items():
        setattr(algorithm, step, recording(step, original))
    try:
        yield called
    finally:
        for step, original in originals.items():
            setattr(algorithm, step, original)


def _package_step_problem(who: str, step: str, calls: bool = False) -> str:
    """The hint for a ``who`` that is (or calls) the package's ``step``: write it yourself."""
    how = "calls" if calls else "is"
    return (f"your {who} {how} gan_edu.algorithm.{step}, the package's {PACKAGE_STEPS[step]}: "
            f"write it yourself.")


# --------------------------------------------------------------------------- the hidden cases
CASES = ({"noise_dim": 2, "data_dim": 1, "n": 32, "seed": 7},   # 1D data, as in notebook 03
         {"noise_dim": 3, "data_dim": 2, "n": 5, "seed": 8})    # 2D data, a small batch


def _case(k: int):
    """Hidden case ``k``: small G and D (built under a forked RNG) whose .grad hold leftovers of a
    "previous step", a real batch (n, data_dim) and a fresh ``noise``; the same every call."""
    c = CASES[k]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(c["seed"])
        G = MLPGenerator(noise_dim=c["noise_dim"], data_dim=c["data_dim"], hidden=8, depth=2)
        D = MLPDiscriminator(data_dim=c["data_dim"], hidden=8, depth=2)
    g = torch.Generator().manual_seed(c["seed"] + 100)
    for p in [*G.parameters(), *D.parameters()]:
        p.grad = torch.randn(p.shape, generator=g)
    real = 4.0 + 0.5 * torch.randn(c["n"], c["data_dim"], generator=g)
    return G, D, real, _Noise(c["noise_dim"], c["seed"] + 200)


def _counted_sgd(net, lr: float = 0.1):
    """SGD on ``net``'s weights, with a list of its step() calls (``opt.steps``)."""
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    opt.steps = []
    opt.register_step_pre_hook(lambda *a: opt.steps.append(1))
    return opt


def _run(fn, args, step: str):
    """The student's step on ``args`` (RNG forked): (its output, None), or (None, a hint) if it raised."""
    try:
        with torch.random.fork_rng(devices=[]):
            return fn(*args), None
    except Exception as err:  # a student's bug: report it, never raise
        return None, _explain(err, step)


def _noise_problem(calls, n: int, what: str):
    """Check ``noise`` was called once, for ``n`` samples; returns a hint or None."""
    if not calls:
        return (f"your step did not call noise(n): make the fakes from the noise function passed in, "
                f"{what} (the checker replays your step with the same noise; torch.randn draws other numbers).")
    if calls[0] != n:
        return (f"noise was called for {calls[0]} samples, but this step needs {n}: {what} "
                f"(a size fixed in your code breaks on other batches).")
    if len(calls) > 1:
        return f"noise(n) was called {len(calls)} times: one batch of fakes per step, {what}."
    return None


def _steps_problem(opt, name: str, who: str):
    """Check ``opt.step()`` ran exactly once; returns a hint or None."""
    if not opt.steps:
        return f"{who} was not updated: call {name}.step() after the loss's backward()."
    if len(opt.steps) > 1:
        return f"{name}.step() was called {len(opt.steps)} times: one step is one update of {who}."
    return None


def _still_trainable_problem(net, who: str):
    """Check every weight of ``net`` still requires grad after the step; returns a hint or None."""
    if all(p.requires_grad for p in net.parameters()):
        return None
    return (f"after your step some of {who}'s weights no longer require grad: if you freeze {who} "
            f"({who}.requires_grad_(False)), unfreeze it before returning (gan_edu.algorithm.frozen does both), "
            f"or the next step cannot train {who}.")


# --------------------------------------------------------------------------- Step 1: the D step
D_LOSSES = {  # D's loss from the logits: the right one, an accepted convention, and the classic mistakes
    "correct": lambda r, f: _sp(-r).mean() + _sp(f).mean(),
    "half": lambda r, f: (_sp(-r).mean() + _sp(f).mean()) / 2,
    "swapped": lambda r, f: _sp(r).mean() + _sp(-f).mean(),
    "all_real": lambda r, f: _sp(-r).mean() + _sp(-f).mean(),
    "all_fake": lambda r, f: _sp(r).mean() + _sp(f).mean(),
    "real_only": lambda r, f: _sp(-r).mean(),
    "fake_only": lambda r, f: _sp(f).mean(),
    "sum": lambda r, f: _sp(-r).sum() + _sp(f).sum(),
    "negated": lambda r, f: -(_sp(-r).mean() + _sp(f).mean()),
    "sigmoid_twice": lambda r, f: _sp(-torch.sigmoid(r)).mean() + _sp(torch.sigmoid(f)).mean(),
    "logits_as_probs": lambda r, f: -torch.log(r).mean() - torch.log1p(-f).mean(),
}
D_STEP_HINTS = {
    "swapped": "D's step: the labels are swapped. Real data gets label 1, generated data label 0.",
    "all_real": "D's step: the fakes got the real label (1). In D's step they get the fake label 0: BCE(D(G(z)), 0).",
    "all_fake": "D's step: the real data got the fake label (0). Real data gets the real label 1: BCE(D(x), 1).",
    "real_only": "D's step: the loss on the fakes is missing. D's loss is BCE(D(x), 1) + BCE(D(G(z)), 0).",
    "fake_only": "D's step: the loss on the real data is missing. D's loss is BCE(D(x), 1) + BCE(D(G(z)), 0).",
    "sum": ("D's step: you summed the per-sample losses; average them (.mean(), BCE's default), or the step "
            "grows with the batch size."),
    "negated": ("D's step: wrong sign. You minimised V(D,G), which D maximises: minimise the loss "
                "-V(D,G) = BCE(D(x), 1) + BCE(D(G(z)), 0)."),
    "sigmoid_twice": ("D's step: you applied torch.sigmoid and then a *_with_logits loss, which applies it "
                      "again. D returns logits: pass them straight to F.binary_cross_entropy_with_logits."),
    "logits_as_probs": "D's step: " + LOGITS_AS_PROBS,
    "no_zero": ("D's step: gradients from before were added to this step's. Call opt_d.zero_grad() "
                "before loss_d.backward()."),
}
HALF_NOTE = (" Your D loss is the halved convention of d2l and deeplearning.ai, (BCE(D(x), 1) + "
             "BCE(D(G(z)), 0)) / 2 (one BCE over the real and fake batches put together is the same): the "
             "same minimiser, half the gradient (with SGD, half the step; Adam's steps do not change). "
             "This course uses the sum, -V(D,G).")
D_FORMULA = ("loss_d = BCE(D(real), 1) + BCE(D(G(z)), 0) with z = noise(n), each BCE a batch mean, from "
             "logits; then opt_d.zero_grad(), loss_d.backward(), opt_d.step().")


def _d_reference(k: int, loss: str = "correct", zero: bool = True):
    """Case ``k`` after a D step with D's loss ``D_LOSSES[loss]``: (D's weights, the loss's value)."""
    G, D, real, noise = _case(k)
    opt_d = torch.optim.SGD(D.parameters(), lr=0.1)
    with torch.no_grad():
        fake = G(noise(real.shape[0]))
    loss_d = D_LOSSES[loss](D(real), D(fake))
    if zero:
        opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    return _params(D), loss_d.item()


def _d_weights_problem(k: int, d_now, returned):
    """Name what D's weights after the student's step match; returns (a hint or None, the accepted loss name)."""
    for loss in ("correct", "half"):
        weights, value = _d_reference(k, loss)
        if _same(d_now, weights):
            if returned is None or not math.isclose(returned, value, rel_tol=1e-4, abs_tol=1e-5):
                return ("D was updated correctly, but return D's loss, the tensor you called "
                        "backward() on (or its .item())."), loss
            return None, loss
    if _same(d_now, _d_reference(k, zero=False)[0]):
        return D_STEP_HINTS["no_zero"], None
    for mistake in D_STEP_HINTS:
        if mistake in D_LOSSES and _same(d_now, _d_reference(k, mistake)[0]):
            return D_STEP_HINTS[mistake], None
    return "D's weights after your step are not those of Algorithm 1's D step: " + D_FORMULA, None


def _d_case_problem(fn, k: int):
    """Run the student's D step on case ``k``; returns (a hint or None, the accepted loss name)."""
    G, D, real, noise = _case(k)
    G0, D0, opt_d, into_g = _params(G), _params(D), _counted_sgd(D), []
    list(G.parameters())[-1].register_hook(lambda grad: into_g.append(1))  # every backward through G reaches it
    out, problem = _run(fn, (G, D, opt_d, real, noise), "D")
    if problem:
        return problem, None
    if into_g:
        return ("gradients reached G during D's step: D's loss was backpropagated into G's weights "
                "(filling G's .grad, a wasted backward pass through G). Make the fakes under torch.no_grad(), "
                "or pass fake.detach() to D."), None
    problem = (_steps_problem(opt_d, "opt_d", "D")
               or _noise_problem(noise.calls, real.shape[0], "noise(real.shape[0]), as many fakes as real samples")
               or _still_trainable_problem(G, "G") or _still_trainable_problem(D, "D"))
    if problem:
        return problem, None
    if not _same(_params(G), G0):
        return "G's weights changed during D's step: in Step 1 only D learns.", None
    if _same(_params(D), D0):
        return ("D's weights did not change: call opt_d.zero_grad() before loss_d.backward(), not between it "
                "and opt_d.step() (which then steps with zero gradients)."), None
    return _d_weights_problem(k, _params(D), _loss_value(out))


def check_d_step(fn) -> bool:
    """Check ``fn(G, D, opt_d, real, noise) -> loss_d``: Step 1 of Algorithm 1.

    Expected: fakes G(noise(n)) for the n real samples, made with G kept out of backpropagation
    (``torch.no_grad()`` or ``.detach()``); loss_d = BCE(D(real), 1) + BCE(D(fakes), 0) from
    logits (or half of it, d2l's convention, accepted with a note); ``opt_d.zero_grad()``,
    ``backward()``, ``opt_d.step()``; return loss_d. Names the mistake (gradients into G,
    labels, a missing term, sum vs mean, sign, sigmoid twice, zero_grad, no or two updates, the
    noise, ``gan_edu.algorithm.d_step`` itself or a call to it) and returns ``False``, or prints
    one line and returns ``True``.
    """
    name = "check_d_step"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(d_step)), got {type(fn).__name__}.")
    if _is_package_step(fn, "d_step"):
        return _fail(name, _package_step_problem("d_step", "d_step"))
    conventions = []
    for k in range(len(CASES)):
        with _package_steps() as called:
            problem, loss = _d_case_problem(fn, k)
        if "d_step" in called:
            return _fail(name, _package_step_problem("d_step", "d_step", calls=True))
        if problem:
            return _fail(name, problem)
        conventions.append(loss)
    note = HALF_NOTE if "half" in conventions else ""
    return _ok(name, f"D updated as in Algorithm 1's Step 1 on {len(CASES)} hidden cases, and G got no gradient.{note}")


# --------------------------------------------------------------------------- Step 2: the G step
G_LOSSES = {  # G's loss from the logits on its fakes: the right one and the classic mistakes
    "non_saturating": lambda f: _sp(-f).mean(),
    "fake_label": lambda f: _sp(f).mean(),
    "saturating": lambda f: -_sp(f).mean(),
    "negated": lambda f: -_sp(-f).mean(),
    "sum": lambda f: _sp(-f).sum(),
    "sigmoid_twice": lambda f: _sp(-torch.sigmoid(f)).mean(),
    "logits_as_probs": lambda f: -torch.log(f).mean(),
}
G_STEP_HINTS = {
    "fake_label": ("G's step: you trained G with the *fake* label, BCE(D(G(z)), 0). Minimising that pushes "
                   "D(G(z)) down: G learns to look *more* fake and runs away from the data. G's loss uses the "
                   "real label: BCE(D(G(z)), 1)."),
    "saturating": ("G's step: this is the saturating (minimax) loss mean log(1 - D(G(z))). It has the right "
                   "fixed point, but its gradient vanishes while D confidently rejects the fakes (early in "
                   "training). Use the non-saturating loss BCE(D(G(z)), 1) = -mean log D(G(z))."),
    "negated": ("G's step: wrong sign. G minimises BCE(D(G(z)), 1) = -mean log D(G(z)); you minimised its "
                "negative, which makes D(G(z)) small."),
    "sum": ("G's step: you summed the per-sample losses; average them (.mean(), BCE's default), or the step "
            "grows with the batch size."),
    "sigmoid_twice": ("G's step: you applied torch.sigmoid and then a *_with_logits loss, which applies it "
                      "again. D returns logits: pass them straight to F.binary_cross_entropy_with_logits."),
    "logits_as_probs": "G's step: " + LOGITS_AS_PROBS,
    "no_zero": ("G's step: gradients from before were added to this step's. Call opt_g.zero_grad() "
                "before loss_g.backward()."),
}
G_FORMULA = ("loss_g = BCE(D(G(z)), 1) on z = noise(batch_size), through D, from logits; then "
             "opt_g.zero_grad(), loss_g.backward(), opt_g.step().")


def _g_reference(k: int, loss: str = "non_saturating", zero: bool = True):
    """Case ``k`` after a G step with G's loss ``G_LOSSES[loss]``: (G's weights, the loss's value)."""
    G, D, real, noise = _case(k)
    opt_g = torch.optim.SGD(G.parameters(), lr=0.1)
    loss_g = G_LOSSES[loss](D(G(noise(real.shape[0]))))
    if zero:
        opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return _params(G), loss_g.item()


def _g_weights_problem(k: int, g_now, returned):
    """Name what G's weights after the student's step match; returns a hint or None."""
    weights, value = _g_reference(k)
    if _same(g_now, weights):
        if returned is None or not math.isclose(returned, value, rel_tol=1e-4, abs_tol=1e-5):
            return "G was updated correctly, but return G's loss, the tensor you called backward() on (or its .item())."
        return None
    if _same(g_now, _g_reference(k, zero=False)[0]):
        return G_STEP_HINTS["no_zero"]
    for mistake in G_STEP_HINTS:
        if mistake in G_LOSSES and _same(g_now, _g_reference(k, mistake)[0]):
            return G_STEP_HINTS[mistake]
    return "G's weights after your step are not those of Algorithm 1's G step: " + G_FORMULA


def _g_case_problem(fn, k: int):
    """Run the student's G step on case ``k``; returns a hint or None."""
    G, D, real, noise = _case(k)
    G0, D0, opt_g, n = _params(G), _params(D), _counted_sgd(G), real.shape[0]
    out, problem = _run(fn, (G, D, opt_g, n, noise), "G")
    if problem:
        return problem
    problem = (_steps_problem(opt_g, "opt_g", "G")
               or _noise_problem(noise.calls, n, "noise(batch_size), fresh fakes for G's step")
               or _still_trainable_problem(D, "D") or _still_trainable_problem(G, "G"))
    if problem:
        return problem
    if not _same(_params(D), D0):
        return "D's weights changed during G's step: in Step 2 only G learns (only opt_g steps)."
    if _same(_params(G), G0):
        return ("G's weights did not change: G's loss must flow back through D into G (do not detach the "
                "fakes in G's step), and opt_g.zero_grad() comes before loss_g.backward(), not between it and "
                "opt_g.step().")
    return _g_weights_problem(k, _params(G), _loss_value(out))


def check_g_step(fn) -> bool:
    """Check ``fn(G, D, opt_g, batch_size, noise) -> loss_g``: Step 2 of Algorithm 1.

    Expected: ``batch_size`` fresh fakes G(noise(batch_size)), through D (not detached), with the
    *real* label: loss_g = BCE(D(fakes), 1), the non-saturating loss, from logits;
    ``opt_g.zero_grad()``, ``backward()``, ``opt_g.step()``; return loss_g. Freezing D meanwhile
    (as ``gan_edu.algorithm.g_step``) or not (as PyTorch's DCGAN tutorial) are both right. Names
    the mistake (the fake label, the saturating loss, sign, sum vs mean, sigmoid twice,
    zero_grad, detached fakes, D changed, the noise, ``gan_edu.algorithm.g_step`` itself or a call
    to it) and returns ``False``, or prints one line and returns ``True``.
    """
    name = "check_g_step"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(g_step)), got {type(fn).__name__}.")
    if _is_package_step(fn, "g_step"):
        return _fail(name, _package_step_problem("g_step", "g_step"))
    for k in range(len(CASES)):
        with _package_steps() as called:
            problem = _g_case_problem(fn, k)
        if "g_step" in called:
            return _fail(name, _package_step_problem("g_step", "g_step", calls=True))
        if problem:
            return _fail(name, problem)
    return _ok(name, f"G updated as in Step 2 (real label, through D) on {len(CASES)} hidden cases.")


# --------------------------------------------------------------------------- a whole round
def _step_setup(lr: float = 0.1):
    """Small G and D (built under a forked RNG), SGD optimizers, stale gradients, a real batch."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        G = MLPGenerator(noise_dim=2, data_dim=1, hidden=8, depth=2)
        D = MLPDiscriminator(data_dim=1, hidden=8, depth=2)
        g = torch.Generator().manual_seed(11)
        for p in list(G.parameters()) + list(D.parameters()):  # left over from a previous step
            p.grad = torch.randn(p.shape, generator=g)
        real = 4.0 + 0.5 * torch.randn(32, 1, generator=g)
    return G, D, real


def _optimizers(G, D, lr: float = 0.1):
    return torch.optim.SGD(D.parameters(), lr=lr), torch.optim.SGD(G.parameters(), lr=lr)


def _reference_step(G, D, opt_d, opt_g, real, noise, d_labels=(1.0, 0.0), g_loss="non_saturating",
                    reuse_fake=False, zero_d=True, zero_g=True, d_scale=1.0):
    """Algorithm 1, one round, with switches for the classic mistakes (and ``d_scale`` 0.5 for the
    halved D loss of d2l's convention); returns (loss_d, loss_g)."""
    n = real.shape[0]
    z = noise(n)
    fake = G(z) if reuse_fake else None
    with torch.no_grad():
        fake_d = G(z) if fake is None else fake.detach()
    real_logits, fake_logits = D(real), D(fake_d)
    loss_d = d_scale * (F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, d_labels[0]))
                        + F.binary_cross_entropy_with_logits(fake_logits, torch.full_like(fake_logits, d_labels[1])))
    if zero_d:
        opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    logits = D(fake if reuse_fake else G(noise(n)))
    loss_g = {"non_saturating": lambda: _sp(-logits).mean(), "fake_label": lambda: _sp(logits).mean(),
              "saturating": lambda: -_sp(logits).mean()}[g_loss]()
    if zero_g:
        opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return loss_d.item(), loss_g.item()


def _replay(**switches):
    G, D, real = _step_setup()
    opt_d, opt_g = _optimizers(G, D)
    losses = _reference_step(G, D, opt_d, opt_g, real, _Noise(G.noise_dim, 3), **switches)
    return _params(D), _params(G), losses


STEP_D_HINTS = {"swapped": D_STEP_HINTS["swapped"], "zero_d": D_STEP_HINTS["no_zero"]}
STEP_G_HINTS = {"fake_label": G_STEP_HINTS["fake_label"], "saturating": G_STEP_HINTS["saturating"],
                "zero_g": G_STEP_HINTS["no_zero"]}


def _instrumented_setup():
    """The hidden case, with hooks logging each optimizer step and each backward pass into G."""
    G, D, real = _step_setup()
    G0 = _params(G)
    opt_d, opt_g = _optimizers(G, D)
    events = []
    opt_d.register_step_pre_hook(lambda *a: events.append("opt_d.step"))
    opt_g.register_step_pre_hook(lambda *a: events.append("opt_g.step"))
    last = list(G.parameters())[-1]  # G's output bias: every backward pass through G reaches it
    last.register_hook(lambda grad: events.append("backward into G"))
    return G, D, opt_d, opt_g, real, G0, events


def _run_step(fn, G, D, opt_d, opt_g, real):
    """Check the student's step runs (RNG forked): returns (its output, None), or (None, a hint) if it raised."""
    return _run(fn, (G, D, opt_d, opt_g, real, _Noise(G.noise_dim, 3)), "round")


def _step_count_problem(events):
    """Check opt_d.step() and opt_g.step() each ran exactly once, D's first; returns a hint or None."""
    n_d, n_g = events.count("opt_d.step"), events.count("opt_g.step")
    if n_d == 0:
        return "D was not updated: call opt_d.step() after loss_d.backward()."
    if n_g == 0:
        return "G was not updated: call opt_g.step() after loss_g.backward()."
    if n_d > 1:
        return ("opt_d.step() was called more than once. In G's step only G's optimizer "
                "steps (D is fixed while G learns).")
    if n_g > 1:
        return "opt_g.step() was called more than once: one G step per round."
    if events.index("opt_g.step") < events.index("opt_d.step"):
        return ("the steps are in the wrong order: Step 1 updates D, then Step 2 updates G "
                "through the updated D.")
    return None


def _early_backward_problem(events):
    """Check no backward pass reached G before opt_d.step() (from D's loss or G's); returns a hint or None."""
    if "backward into G" not in events[:events.index("opt_d.step")]:
        return None
    if events.count("backward into G") > 1:
        return ("gradients reached G during D's step: D's loss was backpropagated into "
                "G's weights (filling G's .grad, wasting a backward pass through G). "
                "Make the fakes for D under torch.no_grad(), or pass fake.detach() to D.")
    return ("G's loss was backpropagated before D's update: Step 2 goes through the "
            "*updated* D, so compute G's loss after opt_d.step().")


def _g_unchanged_problem(G, G0):
    """Check G's weights moved during the step; returns a hint or None."""
    if _same(_params(G), G0):
        return ("G's weights did not change: G's loss must flow back into G (do not detach "
                "the fakes in G's step), then opt_g.step().")
    return None


def _named_step_mistake(now, mistakes, which: int, hints: dict):
    """Check weights (D's: which=0, G's: 1) against replays of the classic mistakes; returns its hint or None."""
    for mistake, switches in mistakes:
        for reuse in (False, True):
            if _same(now, _replay(reuse_fake=reuse, **switches)[which]):
                return hints[mistake]
    return None


def _d_step_problem(d_now):
    """Name the mistake behind D's weights, which are not those of Algorithm 1's D step; returns a hint."""
    mistakes = (("swapped", dict(d_labels=(0.0, 1.0))), ("zero_d", dict(zero_d=False)))
    return _named_step_mistake(d_now, mistakes, 0, STEP_D_HINTS) or (
        "D's weights after the step are not those of Algorithm 1's D step: "
        "loss_d = BCE(D(real), 1) + BCE(D(G(z)), 0) with z = noise(n), then "
        "opt_d.zero_grad(), loss_d.backward(), opt_d.step().")


def _g_step_losses(g_now, reference):
    """Check G's weights are those of a right G step: returns (that step's losses, None) or (None, a hint)."""
    match = [reuse for reuse in (False, True) if _same(g_now, reference[reuse][1])]
    if match:
        return reference[match[0]][2], None
    mistakes = (("fake_label", dict(g_loss="fake_label")), ("saturating", dict(g_loss="saturating")),
                ("zero_g", dict(zero_g=False)))
    return None, _named_step_mistake(g_now, mistakes, 1, STEP_G_HINTS) or (
        "G's weights after the step are not those of Algorithm 1's G step: "
        "loss_g = BCE(D(G(z)), 1) through the *updated* D, on fresh z = noise(n) "
        "(or the D step's fakes, not detached), then opt_g.zero_grad(), "
        "loss_g.backward(), opt_g.step().")


def _returned_losses_problem(out, want):
    """Check the step returned (loss_d, loss_g), the losses it backpropagated; returns a hint or None."""
    try:
        got = [float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for v in out]
    except (TypeError, ValueError):
        return f"return the two losses, (loss_d, loss_g); got {type(out).__name__}."
    if len(got) != 2 or not all(math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-5) for a, b in zip(got, want)):
        return ("D and G were updated correctly, but return the two losses you "
                "backpropagated, in the order (loss_d, loss_g).")
    return None


def _weights_problem(D, G, out):
    """Check D's then G's weights against the replayed right steps (D's loss -V or half of it), then the
    returned losses; returns (a hint or None, the D-loss scale that matched)."""
    d_now, g_now = _params(D), _params(G)
    for scale in (1.0, 0.5):
        reference = {reuse: _replay(reuse_fake=reuse, d_scale=scale) for reuse in (False, True)}
        if _same(d_now, reference[False][0]):
            want, problem = _g_step_losses(g_now, reference)
            return problem or _returned_losses_problem(out, want), scale
    return _d_step_problem(d_now), 1.0


def check_train_step(fn) -> bool:
    """Check ``fn(G, D, opt_d, opt_g, real, noise) -> (loss_d, loss_g)``: one round of Algorithm 1.

    The hidden case: small MLPs with gradients left over from a "previous step", SGD optimizers, a
    batch ``real`` of shape (n, 1) and ``noise(n)`` drawing z. Expected: Step 1, D's step on fakes
    from ``noise(n)`` with G kept out of backpropagation (``torch.no_grad()`` or ``.detach()``)
    and D's loss -V(D,G) (or half of it, d2l's convention, accepted with a note);
    Step 2, G's step through the updated D with the real label, on fresh ``noise(n)`` (as
    ``gan_edu.GAN``) or on the D step's fakes (as PyTorch's DCGAN tutorial). Prints what went
    wrong (gradients reaching G in D's step, labels, zero_grad, order of the steps) and returns
    ``False``, or prints one line and returns ``True``.
    """
    name = "check_train_step"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(my_step)), got {type(fn).__name__}.")
    G, D, opt_d, opt_g, real, G0, events = _instrumented_setup()
    out, problem = _run_step(fn, G, D, opt_d, opt_g, real)
    problem = (problem or _step_count_problem(events) or _early_backward_problem(events)
               or _g_unchanged_problem(G, G0))
    scale = 1.0  # D's loss: -V(D,G) (1.0) or half of it (0.5)
    if not problem:
        problem, scale = _weights_problem(D, G, out)
    if problem:
        return _fail(name, problem)
    note = HALF_NOTE if scale == 0.5 else ""
    return _ok(name, f"D then G updated exactly as in Algorithm 1, and G got no gradient from D's step.{note}")


# --------------------------------------------------------------------------- check of understanding
QUESTIONS = [
    Question("A D step makes its fakes without torch.no_grad() or detach(), so D's loss also fills G's .grad. "
             "The G step that follows zeroes G's gradients before its own backward pass. Compared with training "
             "with the right D step, the trained G is:", answer=0,
             choices=("the same: the slip only costs a wasted backward pass through G",
                      "worse: D's gradient, which pushes G's samples to look fake, is added to G's update",
                      "unchanged from its start: G gets no gradient of its own any more"),
             why=("D's update is the same either way, and G's gradients from D's loss are wiped by the G step's "
                  "zero_grad() before G's own backward pass, so G's update is the same too. What is lost is the "
                  "time of the extra backward pass through G; without that zero_grad() they would be added.")),
    Question("A D step gives real data the label 0 and fakes the label 1 (in D's step, for both batches). Which "
             "label must the G step give its fakes so that G still learns the data?", answer=1,
             choices=("1", "0", "either: G's label does not matter"),
             why=("G's step gives its fakes the label D gives real data: G wants D to take its samples for real. "
                  "With real = 0, G minimises BCE(D(G(z)), 0). The label 1 would be D's fake label, the popular "
                  "text's bug: G would run away from the data.")),
]

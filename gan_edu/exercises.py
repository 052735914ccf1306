r"""Self-check exercises: a student writes a GAN loss or a training step, a checker tests it.

Each checker runs the student's function on hidden cases, compares it with the right answer,
and, when it differs, compares it with the classic mistakes to say which one was made:

- ``check_d_loss(fn)``: ``fn(real_logits, fake_logits)`` must return D's loss
  BCE(D(x), 1) + BCE(D(G(z)), 0) (the batch mean of each term, summed), from *logits*.
- ``check_g_loss(fn)``: ``fn(fake_logits)`` must return G's non-saturating loss
  BCE(D(G(z)), 1) = -mean log D(G(z)) (or, with ``kind="saturating"``, mean log(1 - D(G(z)))).
- ``check_train_step(fn)``: ``fn(G, D, opt_d, opt_g, real, noise)`` must do one round of
  Algorithm 1 (a D step with G kept out of backpropagation, then a G step with the real
  label) and return ``(loss_d, loss_g)``.

A checker never raises on a wrong answer: it prints what is wrong and returns ``False``; on a
right answer it prints one line and returns ``True``. It does not touch the global random state.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .nets import MLPDiscriminator, MLPGenerator

__all__ = ["check_d_loss", "check_g_loss", "check_train_step"]

RTOL, ATOL = 1e-4, 1e-5

# --------------------------------------------------------------------------- hints
LOGITS_AS_PROBS = ("Probabilities vs logits: the inputs are D's *logits* (any real number), not "
                   "probabilities. You treated them as probabilities (binary_cross_entropy or log on "
                   "logits). Use F.binary_cross_entropy_with_logits(logits, labels): it applies the "
                   "sigmoid inside, stably.")
SIGMOID_TWICE = ("Probabilities vs logits: you applied torch.sigmoid and then a *_with_logits loss, "
                 "which applies the sigmoid again. Pass the logits straight to "
                 "F.binary_cross_entropy_with_logits.")
UNSTABLE = ("Right formula, but not numerically stable: for large logits (a confident D: "
            "|l| of 20 to 100) sigmoid rounds to exactly 0 or 1 in float32 and log gives -inf (or is clamped). Work on "
            "logits: F.binary_cross_entropy_with_logits, or softplus (see gan_edu.losses).")
SUM_NOT_MEAN = "Average over the batch (.mean(), BCE's default), do not sum: the loss must not grow with the batch size."
NOT_SCALAR = "Return one number (a scalar tensor): average the per-sample losses over the batch."
NO_GRAPH = ("Your loss is not connected to the logits by autograd: keep it a torch tensor (no .item(), "
            ".detach(), .data or numpy inside), or backward() cannot train anything.")
D_HINTS = {
    "swapped": ("Wrong labels: you gave real data the fake label (0) and generated data the real label "
                "(1). Real x gets label 1: BCE(D(x), 1); fakes get label 0: BCE(D(G(z)), 0)."),
    "all_real": ("Wrong label: the generated data got the real label (1). In D's step the fakes get the "
                 "fake label 0: BCE(D(G(z)), 0)."),
    "all_fake": ("Wrong label: the real data got the fake label (0). In D's step real data gets the "
                 "real label 1: BCE(D(x), 1)."),
    "real_only": "Missing term: D's loss has two terms, BCE(D(x), 1) on real data plus BCE(D(G(z)), 0) on fakes.",
    "fake_only": "Missing term: D's loss has two terms, BCE(D(x), 1) on real data plus BCE(D(G(z)), 0) on fakes.",
    "half": ("Off by a factor 2: D's loss is the *sum* BCE(D(x), 1) + BCE(D(G(z)), 0) = -V(D,G), not "
             "their average (one BCE over the concatenated batch averages them)."),
    "sum": SUM_NOT_MEAN,
    "negated": ("Wrong sign: you returned V(D,G), which D maximises. A loss is minimised: return "
                "-V(D,G) = BCE(D(x), 1) + BCE(D(G(z)), 0)."),
    "sigmoid_twice": SIGMOID_TWICE,
    "logits_as_probs": LOGITS_AS_PROBS,
}
G_HINTS = {
    "fake_label": ("Wrong label: you trained G with the *fake* label, BCE(D(G(z)), 0). Minimising that "
                   "pushes D(G(z)) down: G learns to look *more* fake and runs away from the data. "
                   "G's loss uses the real label: BCE(D(G(z)), 1)."),
    "saturating": ("This is the saturating (minimax) loss mean log(1 - D(G(z))). It has the right fixed "
                   "point, but its gradient vanishes when D confidently rejects the fakes (early in "
                   "training). Use the non-saturating loss -mean log D(G(z)) = BCE(D(G(z)), 1)."),
    "non_saturating": ("This is the non-saturating loss -mean log D(G(z)); the exercise asks for the "
                       "saturating (minimax) one, mean log(1 - D(G(z))) = -BCE(D(G(z)), 0)."),
    "negated": ("Wrong sign: G must *minimise* BCE(D(G(z)), 1) = -mean log D(G(z)); you return its "
                "negative, which G would minimise by making D(G(z)) small."),
    "sum": SUM_NOT_MEAN,
    "sigmoid_twice": SIGMOID_TWICE,
    "logits_as_probs": LOGITS_AS_PROBS,
}


def _sp(x):
    return F.softplus(x)


# Right answers and classic mistakes, in float64, as functions of the logits.
D_CANDIDATES = {
    "correct": lambda r, f: _sp(-r).mean() + _sp(f).mean(),
    "swapped": lambda r, f: _sp(r).mean() + _sp(-f).mean(),
    "all_real": lambda r, f: _sp(-r).mean() + _sp(-f).mean(),
    "all_fake": lambda r, f: _sp(r).mean() + _sp(f).mean(),
    "real_only": lambda r, f: _sp(-r).mean(),
    "fake_only": lambda r, f: _sp(f).mean(),
    "half": lambda r, f: (_sp(-r).mean() + _sp(f).mean()) / 2,
    "sum": lambda r, f: _sp(-r).sum() + _sp(f).sum(),
    "negated": lambda r, f: -(_sp(-r).mean() + _sp(f).mean()),
    "sigmoid_twice": lambda r, f: _sp(-torch.sigmoid(r)).mean() + _sp(torch.sigmoid(f)).mean(),
    "logits_as_probs": lambda r, f: -torch.log(r).mean() - torch.log1p(-f).mean(),
}
G_CANDIDATES = {
    "non_saturating": lambda f: _sp(-f).mean(),
    "saturating": lambda f: -_sp(f).mean(),
    "fake_label": lambda f: _sp(f).mean(),
    "negated": lambda f: -_sp(-f).mean(),
    "sum": lambda f: _sp(-f).sum(),
    "sigmoid_twice": lambda f: _sp(-torch.sigmoid(f)).mean(),
    "logits_as_probs": lambda f: -torch.log(f).mean(),
}
G_TARGETS = {"non_saturating": "BCE(D(G(z)), 1) = -mean log D(G(z)), the non-saturating loss",
             "saturating": "mean log(1 - D(G(z))) = -BCE(D(G(z)), 0), the saturating loss"}


def _fail(name: str, message: str) -> bool:
    print(f"{name}: not yet. {message[0].upper()}{message[1:]}")
    return False


def _ok(name: str, message: str) -> bool:
    print(f"{name}: correct. {message}")
    return True


def _loss_cases(n_inputs: int):
    """Hidden cases (float32 logits of shape (n, 1)): ordinary, confident, in (0, 1), extreme."""
    g = torch.Generator().manual_seed(20140610)  # the GAN paper's arXiv date
    cases = []
    for n, scale, shift in ((64, 2.0, 0.0), (9, 1.0, 4.0)):
        cases.append([scale * torch.randn(n, 1, generator=g) + shift * (1 if i == 0 else -1)
                      for i in range(n_inputs)])
    cases.append([0.05 + 0.9 * torch.rand(16, 1, generator=g) for _ in range(n_inputs)])
    # a confident D: logits where sigmoid rounds to exactly 0 or 1 in float32
    extreme = [torch.tensor([[30.0], [-100.0], [25.0], [-2.0]]) for _ in range(n_inputs)]
    if n_inputs == 2:  # D: fakes it believes are real
        extreme[1] = torch.tensor([[30.0], [-30.0], [28.0], [1.0]])
    cases.append(extreme)
    return cases


def _close(a, b) -> bool:
    return bool(torch.allclose(a.double(), b.double(), rtol=RTOL, atol=ATOL))


def _call_loss(fn, inputs):
    """Check the student's loss runs: returns (its output, None), or (None, a hint) if it raised."""
    try:
        return fn(*inputs), None
    except Exception as err:  # a student's bug: report it, never raise
        if "between 0 and 1" in str(err):
            return None, LOGITS_AS_PROBS
        return None, f"your function raised {type(err).__name__}: {err}"


def _loss_type_problem(out):
    """Check the loss is a one-element torch tensor attached to autograd; returns a hint or None."""
    if not isinstance(out, torch.Tensor):
        if isinstance(out, (int, float)):
            return NO_GRAPH
        return f"return a torch tensor (the loss), got {type(out).__name__}."
    if out.numel() != 1:
        return NOT_SCALAR + f" Got shape {tuple(out.shape)}."
    if not out.requires_grad:
        return NO_GRAPH
    return None


def _named_loss_mistake(value, want64, candidates: dict, target: str, hints: dict, expected):
    """Check a wrong loss value against the classic mistakes; returns that mistake's hint or a generic one."""
    for mistake, formula in candidates.items():
        if mistake != target:
            with torch.no_grad():
                mistake_value = formula(*want64)
            if torch.isfinite(mistake_value) and _close(value, mistake_value):
                return hints[mistake]
    return (f"on a hidden case your loss is {value.item():.6g}, expected {expected.item():.6g}. "
            f"It should be {hints.get('_target', target)}.")


def _loss_value_problem(out, want64, candidates: dict, target: str, hints: dict, extreme: bool):
    """Check the loss is finite and equals the right answer on one case; returns a hint or None."""
    expected = candidates[target](*want64)
    if not torch.isfinite(out).all():
        if extreme:
            return UNSTABLE
        return (LOGITS_AS_PROBS + " (Your loss came out as "
                f"{out.item()} on logits that include negative numbers.)")
    if not _close(out.detach().reshape(()), expected):
        if extreme:
            return UNSTABLE
        return _named_loss_mistake(out.detach().reshape(()), want64, candidates, target, hints, expected)
    return None


def _loss_grad_problem(out, inputs, want64, formula, extreme: bool):
    """Check the loss's gradient with respect to the logits is the right answer's; returns a hint or None."""
    grads = torch.autograd.grad(out.reshape(()), inputs, allow_unused=True)
    want = [c.clone().requires_grad_(True) for c in want64]
    want_grads = torch.autograd.grad(formula(*want), want)
    for got, exp in zip(grads, want_grads):
        if got is None or not _close(got, exp):
            if extreme:
                return UNSTABLE
            return ("the value is right but the gradient with respect to the logits is not: "
                    "do not detach (or use .data on) anything inside the loss.")
    return None


def _loss_case_problem(fn, case, candidates: dict, target: str, hints: dict, extreme: bool):
    """Check the student's loss on one hidden case (output, value, gradient); returns a hint or None."""
    inputs = [c.clone().requires_grad_(True) for c in case]
    out, problem = _call_loss(fn, inputs)
    problem = problem or _loss_type_problem(out)
    if problem:
        return problem
    want64 = [c.double() for c in case]
    return (_loss_value_problem(out, want64, candidates, target, hints, extreme)
            or _loss_grad_problem(out, inputs, want64, candidates[target], extreme))


def _check_loss(name: str, fn, candidates: dict, target: str, hints: dict, n_inputs: int) -> bool:
    """Check a student's loss on every hidden case; prints the first problem found, or one line."""
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(my_loss)), got {type(fn).__name__}.")
    cases = _loss_cases(n_inputs)
    for i, case in enumerate(cases):
        problem = _loss_case_problem(fn, case, candidates, target, hints, extreme=i == len(cases) - 1)
        if problem:
            return _fail(name, problem)
    return _ok(name, f"{len(cases)} hidden cases pass (ordinary, confident, near 0/1 and extreme logits).")


def check_d_loss(fn) -> bool:
    """Check ``fn(real_logits, fake_logits) -> loss``: BCE(D(x), 1) + BCE(D(G(z)), 0) on logits.

    Prints a hint naming the mistake (labels, missing term, mean vs sum, sign, probabilities vs
    logits, numerical stability) and returns ``False``, or prints one line and returns ``True``.
    """
    hints = dict(D_HINTS, _target="BCE(D(x), 1) + BCE(D(G(z)), 0), each a batch mean, from logits")
    return _check_loss("check_d_loss", fn, D_CANDIDATES, "correct", hints, 2)


def check_g_loss(fn, kind: str = "non_saturating") -> bool:
    """Check ``fn(fake_logits) -> loss``: G's non-saturating loss BCE(D(G(z)), 1) by default,
    or with ``kind="saturating"`` the minimax loss mean log(1 - D(G(z))).

    Prints a hint naming the mistake (fake label, saturating vs non-saturating, sign, mean vs
    sum, probabilities vs logits) and returns ``False``, or prints one line and returns ``True``.
    """
    if kind not in G_TARGETS:
        raise ValueError(f"kind must be one of {tuple(G_TARGETS)}, got {kind!r}")
    hints = dict(G_HINTS, _target=G_TARGETS[kind])
    return _check_loss("check_g_loss", fn, G_CANDIDATES, kind, hints, 1)


# --------------------------------------------------------------------------- one training step
class _Noise:
    """noise(n): n draws of N(0, I) from a private seeded generator (the same for every replay)."""

    def __init__(self, dim: int, seed: int):
        self.dim, self.g = dim, torch.Generator().manual_seed(seed)

    def __call__(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.dim, generator=self.g)


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
                    reuse_fake=False, zero_d=True, zero_g=True):
    """Algorithm 1, one round, with switches for the classic mistakes; returns (loss_d, loss_g)."""
    n = real.shape[0]
    z = noise(n)
    fake = G(z) if reuse_fake else None
    with torch.no_grad():
        fake_d = G(z) if fake is None else fake.detach()
    real_logits, fake_logits = D(real), D(fake_d)
    loss_d = (F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, d_labels[0]))
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


def _params(net):
    return [p.detach().clone() for p in net.parameters()]


def _same(a, b) -> bool:
    return all(torch.allclose(x, y, rtol=1e-5, atol=1e-6) for x, y in zip(a, b))


def _replay(**switches):
    G, D, real = _step_setup()
    opt_d, opt_g = _optimizers(G, D)
    losses = _reference_step(G, D, opt_d, opt_g, real, _Noise(G.noise_dim, 3), **switches)
    return _params(D), _params(G), losses


STEP_D_HINTS = {
    "swapped": "D's step: the labels are swapped. Real data gets label 1, generated data label 0.",
    "zero_d": ("D's step: gradients from before were added to this step's. Call opt_d.zero_grad() "
               "before loss_d.backward()."),
}
STEP_G_HINTS = {
    "fake_label": G_HINTS["fake_label"].replace("Wrong label: you", "G's step: you"),
    "saturating": "G's step: " + G_HINTS["saturating"],
    "zero_g": ("G's step: gradients from before were added to this step's. Call opt_g.zero_grad() "
               "before loss_g.backward()."),
}


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
    try:
        with torch.random.fork_rng(devices=[]):
            return fn(G, D, opt_d, opt_g, real, _Noise(G.noise_dim, 3)), None
    except Exception as err:  # a student's bug: report it, never raise
        msg = f"your function raised {type(err).__name__}: {err}"
        if "second time" in str(err):
            msg += (" -- D's loss went back through G's graph and freed it. In D's step use "
                    "fake.detach() (or make the fakes under torch.no_grad()).")
        elif "does not require grad" in str(err):
            msg += (" -- the loss you called backward() on has no path to any weight: in G's step "
                    "do not detach the fakes, G's loss must reach G.")
        return None, msg


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


def _d_step_problem(d_now, reference):
    """Check D's weights are those of Algorithm 1's D step, else name the mistake; returns a hint or None."""
    if _same(d_now, reference[False][0]):
        return None
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
    """Check D's then G's weights against the replayed right steps, then the returned losses; returns a hint or None."""
    reference = {reuse: _replay(reuse_fake=reuse) for reuse in (False, True)}
    d_now, g_now = _params(D), _params(G)
    problem = _d_step_problem(d_now, reference)
    if problem:
        return problem
    want, problem = _g_step_losses(g_now, reference)
    return problem or _returned_losses_problem(out, want)


def check_train_step(fn) -> bool:
    """Check ``fn(G, D, opt_d, opt_g, real, noise) -> (loss_d, loss_g)``: one round of Algorithm 1.

    The hidden case: small MLPs with gradients left over from a "previous step", SGD optimizers, a
    batch ``real`` of shape (n, 1) and ``noise(n)`` drawing z. Expected: Step 1, D's step on fakes
    from ``noise(n)`` with G kept out of backpropagation (``torch.no_grad()`` or ``.detach()``);
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
               or _g_unchanged_problem(G, G0) or _weights_problem(D, G, out))
    if problem:
        return _fail(name, problem)
    return _ok(name, "D then G updated exactly as in Algorithm 1, and G got no gradient from D's step.")

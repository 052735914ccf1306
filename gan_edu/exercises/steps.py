r"""Notebook 03's exercises: one round of Algorithm 1, written by the student.

- ``check_train_step(fn)``: ``fn(G, D, opt_d, opt_g, real, noise)`` must do one round of
  Algorithm 1 (a D step with G kept out of backpropagation, then a G step with the real
  label) and return ``(loss_d, loss_g)``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..nets import MLPDiscriminator, MLPGenerator
from .bce import G_HINTS
from .common import fail as _fail, ok as _ok, raised

__all__ = ["check_train_step"]


def _sp(x):
    return F.softplus(x)


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
        msg = raised(err)
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

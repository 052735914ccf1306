r"""Notebook 03's first exercise: the two players as MLPs, built by the student.

- ``check_mlp_nets(make_G, make_D)``: ``make_G(noise_dim, data_dim)`` must return G, an MLP from
  noise (n, noise_dim) to samples (n, data_dim) ending in a linear layer (no activation that
  would keep the samples from the data's range); ``make_D(data_dim)`` must return D, an MLP from
  samples (n, data_dim) to logits (n, 1), with no sigmoid at the end: the losses take logits.

The checker builds both nets for hidden sizes, runs them on hidden batches (and a batch of one),
backpropagates through them, reads their last layer and probes their outputs far from the origin,
to name the mistake: a wrong output shape, hard-coded sizes, a sigmoid (or tanh, ReLU) at D's
end, G ending in an activation that cannot reach the data, any other activation module at either
net's end (a LeakyReLU), no or frozen weights, a layer that gets no gradient, no nonlinearity at
all, a BatchNorm that fails on a batch of one.
"""
from __future__ import annotations

import torch
from torch import nn

from .common import NOT_DONE, fail, ok, raised

__all__ = ["check_mlp_nets"]

SIZES = ((2, 1), (8, 2))  # hidden cases: (noise_dim, data_dim)
RANGES = {nn.Tanh: "[-1, 1]", nn.Hardtanh: "[-1, 1]", nn.Softsign: "(-1, 1)", nn.Sigmoid: "[0, 1]",
          nn.Hardsigmoid: "[0, 1]", nn.ReLU: "[0, inf)", nn.ReLU6: "[0, 6]", nn.Softplus: "(0, inf)",
          nn.ELU: "(-1, inf)", nn.CELU: "(-1, inf)", nn.SELU: "(-1.76, inf)", nn.GELU: "(-0.17, inf)",
          nn.SiLU: "(-0.28, inf)", nn.Softmax: "[0, 1]"}  # output activations that bound a net's output
LINEAR_END = "End it with nn.Linear: no activation after the last layer."
G_BOUNDED = ("G ends in {act}: its samples can only lie in {range}, but the data need not (notebook 03's "
             "Gaussian sits at 4; notebook 04's ring and grid have negative coordinates). "
             + LINEAR_END + " (A tanh at the end suits images scaled to [-1, 1], notebook 05.)")
D_SIGMOID = ("D ends in a sigmoid: D must return the logit l, not D(x) = sigmoid(l). The losses take logits "
             "(binary_cross_entropy_with_logits applies the sigmoid itself, stably); with a sigmoid in D it is "
             "applied twice, and D(x) could never pass sigmoid(1) = 0.73. Drop the final nn.Sigmoid "
             "(torch.sigmoid(D(x)) gives the probability where you need it).")
D_BOUNDED = {nn.Tanh: ("D ends in tanh: its logit stays in [-1, 1], so D(x) = sigmoid(l) stays between 0.27 "
                       "and 0.73: D can never be confident. " + LINEAR_END),
             nn.ReLU: ("D ends in a ReLU: its logit is never negative, so D(x) = sigmoid(l) >= 1/2: D can "
                       "never say \"fake\". " + LINEAR_END),
             nn.Softmax: ("D ends in a softmax: over its one output that is always 1. D returns one logit per "
                          "sample, and the loss applies the sigmoid. " + LINEAR_END)}
ANY_ACTIVATION = ("{who} ends in {act}, an activation after its last layer: {what} is a free real number, and "
                  "a final activation only bends it (a LeakyReLU shrinks every negative value by its slope). "
                  + LINEAR_END)
WHAT_COMES_OUT = {"G": "each sample", "D": "the logit"}
AFFINE = {"G": ("G has no hidden layer with a nonlinearity: it is affine, and an affine map of Gaussian noise "
                "is a Gaussian, never a ring or two moons. Put nn.ReLU (or LeakyReLU) between Linear layers."),
          "D": ("D has no hidden layer with a nonlinearity: it is affine, so it can only cut the data space in "
                "two with a straight boundary, and cannot tell N(4, 0.5^2) from N(4, 2^2). Put nn.LeakyReLU (or "
                "ReLU) between Linear layers.")}


def _call(who: str, sizes: tuple) -> str:
    return f"make_{who}({', '.join(map(str, sizes))})"


def _build(make, who: str, sizes: tuple):
    """The student's net for ``sizes`` (built under a forked, seeded RNG): (net, None) or (None, a hint)."""
    call = _call(who, sizes)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(5)
            net = make(*sizes)
    except Exception as err:  # a student's bug: report it, never raise
        message = raised(err)
        return None, message if message == NOT_DONE else f"your {call} raised {type(err).__name__}: {err}"
    if isinstance(net, type):
        return None, f"your {call} returned a class: return a net, an instance such as nn.Sequential(...)."
    if not isinstance(net, nn.Module):
        return None, f"your {call} must return the net, an nn.Module (e.g. nn.Sequential(...)), got {type(net).__name__}."
    params = list(net.parameters())
    if not params:
        return None, (f"{who} from {call} has no weights to train: build it from layers with weights (nn.Linear), "
                      f"held by nn.Sequential or nn.ModuleList (a plain Python list of layers is invisible to PyTorch).")
    if not all(p.requires_grad for p in params):
        return None, f"some of {who}'s weights have requires_grad=False: the optimizer could not train them."
    return net, None


def _forward(net, x, who: str, call: str, width: str):
    """``net(x)`` (RNG forked, grad on): (output, None) or (None, a hint naming the mistake)."""
    try:
        with torch.random.fork_rng(devices=[]), torch.enable_grad():
            out = net(x)
    except Exception as err:  # a student's bug: report it, never raise
        text = str(err)
        if "shapes cannot be multiplied" in text or "size mismatch" in text:
            return None, (f"{who}'s first layer must take {width} = {x.shape[1]} inputs: the net from {call} could not run on "
                          f"a batch of shape {tuple(x.shape)} ({text}). Use the arguments, not fixed sizes.")
        if "more than 1 value per channel" in text:
            return None, (f"{who} fails on a batch of one: a BatchNorm1d layer cannot normalise a single sample "
                          "while training. These small MLPs need no normalisation: drop it.")
        message = raised(err)
        return None, message if message == NOT_DONE else f"the net from {call} raised {type(err).__name__}: {err}"
    if not isinstance(out, torch.Tensor):
        return None, f"{who} must return a tensor, got {type(out).__name__}."
    return out, None


def _shape_problem(out, want: tuple, who: str, call: str, what: str):
    """Check ``out`` has shape ``want``; returns a hint or None."""
    if tuple(out.shape) == want:
        return None
    hint = f"{who} must map {what}: a batch of {want[0]} gives shape {want}, but the net from {call} gave {tuple(out.shape)}."
    if out.ndim < 2:
        hint += " Keep the last dimension: no squeeze() or flatten() at the end."
    elif who == "D" and out.shape[-1] != 1:
        hint += " D returns one logit per sample: one output unit (BCE, not a softmax over classes)."
    else:
        hint += " Use the arguments (noise_dim, data_dim), not fixed sizes."
    return hint


def _unused_weights_problem(net, out, who: str):
    """Backpropagate ``out`` into ``net``: check every weight gets a gradient; returns a hint or None."""
    net.zero_grad(set_to_none=True)
    if not out.requires_grad:
        return f"{who}'s output is not connected to its weights: no torch.no_grad(), detach() or .data in forward."
    out.square().sum().backward()
    if any(p.grad is None for p in net.parameters()):
        return (f"some of {who}'s weights get no gradient: a layer defined in __init__ but not used in forward, "
                "or a detach() inside forward.")
    return None


def _last_layer(net, x):
    """The last leaf module ``net`` calls on ``x``."""
    called = []
    hooks = [m.register_forward_hook(lambda m, i, o: called.append(m)) for m in net.modules() if not list(m.children())]
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            net(x)
    finally:
        for h in hooks:
            h.remove()
    return called[-1] if called else None


def _far_out(net, dim: int):
    """``net`` on 512 inputs drawn far from the origin (a scale of 100): its reachable range, roughly."""
    x = 100 * torch.randn(512, dim, generator=torch.Generator().manual_seed(3))
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        return net(x).float(), _last_layer(net, x)


def _clipped_at_zero(out) -> bool:
    """Never negative, and exactly 0 for many inputs: a ReLU at the end (a linear end is exactly 0 never)."""
    return bool(out.min() >= 0 and (out == 0).float().mean() > 0.05)


def _final_activation_problem(last, who: str):
    """Any activation module (torch.nn's activations) at the net's end; returns a hint or None."""
    if last is not None and type(last).__module__ == nn.modules.activation.__name__:
        return ANY_ACTIVATION.format(who=who, act=type(last).__name__, what=WHAT_COMES_OUT[who])
    return None


def _g_end_problem(G, noise_dim: int):
    """Check G's samples can leave any bounded or one-sided range; returns a hint or None."""
    out, last = _far_out(G, noise_dim)
    for act, span in RANGES.items():
        if isinstance(last, act):
            return G_BOUNDED.format(act=type(last).__name__, range=span)
    if out.abs().max() <= 1 + 1e-6:
        return G_BOUNDED.format(act="a squashing function (a torch.tanh or sigmoid in forward?)", range="[-1, 1]")
    if _clipped_at_zero(out):
        return G_BOUNDED.format(act="a function that is never negative (a relu in forward?)", range="[0, inf)")
    return _final_activation_problem(last, "G")


def _d_end_problem(D, data_dim: int):
    """Check D returns logits (any real number), not probabilities; returns a hint or None."""
    out, last = _far_out(D, data_dim)
    if isinstance(last, nn.Sigmoid):
        return D_SIGMOID
    for act in D_BOUNDED:
        if isinstance(last, act):
            return D_BOUNDED[act]
    if isinstance(last, tuple(RANGES)):
        return f"D ends in {type(last).__name__}: a logit must be free to take any real value. " + LINEAR_END
    if _clipped_at_zero(out):
        return D_BOUNDED[nn.ReLU]
    if out.min() >= 0 and out.max() <= 1:
        return D_SIGMOID + " (D's outputs all lie in [0, 1]: a torch.sigmoid in forward?)"
    if out.abs().max() <= 1 + 1e-6:
        return D_BOUNDED[nn.Tanh]
    return _final_activation_problem(last, "D")


def _affine(net, dim: int) -> bool:
    """``net`` maps midpoints to midpoints on random pairs: no nonlinearity is at work."""
    g = torch.Generator().manual_seed(4)
    a, b = 3 * torch.randn(64, dim, generator=g), 3 * torch.randn(64, dim, generator=g)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        fa, fb, fm = net(a), net(b), net((a + b) / 2)
    return bool(torch.allclose(fm, (fa + fb) / 2, rtol=1e-4, atol=1e-5 * (1 + float(fa.abs().max()))))


def _net_problem(net, who: str, call: str, in_dim: int, out_dim: int, width: str, what: str):
    """One net on a batch of 16 and of 1: shapes, gradients, its end, a nonlinearity; returns a hint or None."""
    g = torch.Generator().manual_seed(2)
    for n in (16, 1):
        x = torch.randn(n, in_dim, generator=g) + (4.0 if who == "D" else 0.0)
        out, problem = _forward(net, x, who, call, width)
        problem = problem or _shape_problem(out, (n, out_dim), who, call, what)
        if problem:
            return problem
    problem = _unused_weights_problem(net, out, who)
    problem = problem or (_g_end_problem(net, in_dim) if who == "G" else _d_end_problem(net, in_dim))
    return problem or (AFFINE[who] if _affine(net, in_dim) else None)


def _sizes_problem(make_G, make_D, noise_dim: int, data_dim: int):
    """Build and check G and D for one hidden case; returns a hint or None."""
    G, problem = _build(make_G, "G", (noise_dim, data_dim))
    if problem:
        return problem
    problem = _net_problem(G, "G", _call("G", (noise_dim, data_dim)), noise_dim, data_dim, "noise_dim",
                           "(n, noise_dim) noise to (n, data_dim) samples")
    if problem:
        return problem
    D, problem = _build(make_D, "D", (data_dim,))
    return problem or _net_problem(D, "D", _call("D", (data_dim,)), data_dim, 1, "data_dim",
                                   "(n, data_dim) samples to (n, 1) logits")


def check_mlp_nets(make_G, make_D) -> bool:
    """Check ``make_G(noise_dim, data_dim)`` and ``make_D(data_dim)``: MLPs for G and D.

    Expected: G maps noise of shape (n, noise_dim) to samples (n, data_dim), D maps samples
    (n, data_dim) to one logit each, (n, 1); hidden layers with a nonlinearity; no activation
    after either net's last linear layer (D's sigmoid is inside the loss); every weight
    trainable and used; a batch of one works. Prints the mistake and returns ``False``, or
    prints one line and returns ``True``.
    """
    name = "check_mlp_nets"
    for who, make in (("G", make_G), ("D", make_D)):
        if isinstance(make, nn.Module):
            return fail(name, f"pass the functions that build the nets, {name}(make_G, make_D), not a net "
                              f"(make_{who} is a {type(make).__name__}): the checker builds nets of its own sizes.")
        if not callable(make):
            return fail(name, f"pass your functions themselves, {name}(make_G, make_D); make_{who} is "
                              f"not a function ({type(make).__name__}).")
    for noise_dim, data_dim in SIZES:
        problem = _sizes_problem(make_G, make_D, noise_dim, data_dim)
        if problem:
            return fail(name, problem)
    return ok(name, f"G: (n, noise_dim) -> (n, data_dim) samples, D: (n, data_dim) -> (n, 1) logits, on "
                    f"{len(SIZES)} hidden (noise_dim, data_dim) cases and a batch of one; every weight trains, and "
                    f"neither net ends in an activation layer or squashes its output.")

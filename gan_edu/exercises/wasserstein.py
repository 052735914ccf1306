r"""Notebook 09's exercises: a prediction about the critic, and WGAN-GP's gradient penalty.

- ``check_critic_prediction(fn)``: predict, then check. ``fn()`` returns ``{"estimate": ..., "slope": ...}``:
  for a critic kept 1-Lipschitz (spectral normalisation) trained between p_data = N(4, 0.5²) and
  p_g = N(-4, 0.5²), the value it reaches, E C(x) - E C(G(z)), and its mean slope C'(x) at G's samples.
  The checker trains that critic (a hidden seed) and compares: the estimate within 10%, the slope within
  0.15; a wrong number is matched to the usual confusions (the JSD's log 2, the slope of D*, ...).
- ``check_gradient_penalty(fn)``: ``fn(critic, real, fake, lam)`` must return WGAN-GP's penalty
  (Gulrajani et al. 2017), λ E_x̂[(‖∇_x̂ C(x̂)‖₂ - 1)²] at x̂ = ε x + (1 - ε) G(z), one ε ~ U[0, 1] per
  pair, differentiable in the critic's weights. The checker watches the points where the student's code
  calls the critic (any ε may be drawn, either end may carry ε), recomputes the penalty there, and names
  the classic mistakes: no ``create_graph``, the norm over the whole batch, ‖g‖² for (‖g‖ - 1)², the
  penalty at the real points, ε per element (or one ε for the batch), no λ, ``.backward()`` inside. A call
  of ``gan_edu.losses.gradient_penalty`` is refused: the student writes it.

``QUESTIONS``: notebook 09's check of understanding (``understanding("09")``, not graded). No checker
touches the global random state.
"""
from __future__ import annotations

import functools
import warnings

import torch
from torch import nn

from .. import losses, options
from ..checks import is_number
from ..data import Gaussian1D
from ..nets import MLPDiscriminator
from ..wasserstein import critic_estimate, input_gradients, train_critic
from .common import close as _close, fail as _fail, ok as _ok, one_thread, raised
from .quiz import Question

__all__ = ["check_critic_prediction", "check_gradient_penalty", "prediction_case", "penalty_cases", "QUESTIONS"]

# --------------------------------------------------------------------------- predict, then check: the critic
PREDICTION = dict(mean_data=4.0, mean_g=-4.0, std=0.5, steps=1000, seed=909)  # the hidden seed: 909
ESTIMATE_RTOL, SLOPE_ATOL = 0.10, 0.15
ESTIMATE_HINTS = (  # (value, what it is): a wrong estimate near one of these is named
    (0.6931, "log 2 is where the JSD stops: the critic's value is no divergence that saturates"),
    (1.3863, "2 log 2 = log 4 is C(G)'s range, the JSD's business; the critic's value keeps growing with the distance"),
    (0.0, "0 is C(G) = -log 4 + 2 JSD for disjoint Gaussians; the critic's value is an estimate of W1"),
    (1.0, "1 is the critic's slope (its Lipschitz bound), not its value: E C(x) - E C(G(z)) adds that slope up "
          "over the whole way from G's samples to the data"),
    (64.0, "64 is the distance squared: W1 moves mass by a distance, not a squared one"),
    (16.0, "16 is the distance divided by σ = 0.5: W1 is measured in x's own units, whatever the widths"),
    (4.0, "4 is half the distance: W1 between N(4, σ²) and N(-4, σ²) moves every sample the whole way"),
    (-8.0, "the sign: the critic is trained to score real data higher than G's samples, so E C(x) - E C(G(z)) > 0"),
)
ESTIMATE_QUESTION = "what does the value of a 1-Lipschitz critic at its best estimate?"
SLOPE_QUESTION = "how fast may a 1-Lipschitz critic rise, and does it gain by rising more slowly?"
SLOPE_HINTS = (
    (0.0, "a slope of 0 is D*'s at G's samples, saturated at 0 far from the data; a critic kept 1-Lipschitz "
          "gains the most by rising as fast as it may, all the way from G's samples to the data"),
    (-1.0, "the sign: the critic rises towards the real data, which lie at larger x, so C'(x) > 0 at G's samples"),
    (8.0, "8 is the distance; a 1-Lipschitz critic's slope is at most 1 in size"),
    (0.125, "1/8 spreads the slope over the distance; a 1-Lipschitz critic's slope is at most 1, and it "
            "reaches 1 here"),
)


def prediction_case() -> dict:
    """The critic the prediction is checked against: ``estimate`` (E C(x) - E C(G(z)) on 4,000 fresh samples
    of each) and ``slope`` (mean C'(x) at G's samples). Private RNG, one thread, a few seconds the first time."""
    return dict(_measured())


@functools.lru_cache(maxsize=1)
def _measured() -> tuple:
    c = PREDICTION
    with one_thread(), torch.random.fork_rng(devices=[]):
        real = Gaussian1D(c["mean_data"], c["std"], seed=c["seed"])
        fake = Gaussian1D(c["mean_g"], c["std"], seed=c["seed"] + 1)
        critic = train_critic(real, fake, c["steps"], constraint="spectral_norm", seed=c["seed"])
        x, y = real(4000), fake(4000)
        return (("estimate", critic_estimate(critic, x, y)), ("slope", input_gradients(critic, y).mean().item()))


def _named(value: float, hints, tol: float) -> str | None:
    for target, hint in hints:
        if abs(value - target) <= tol * max(1.0, abs(target)):
            return hint
    return None


def _off(what: str, value: float, hints, fallback: str) -> str:
    """"Your <what> <value> is off: <the confusion it matches, or a question>"."""
    why = _named(value, hints, 0.05)
    return f"Your {what} {value:g} is off: " + (why + "." if why else fallback)


def _prediction_problem(fn):
    """The student's {"estimate", "slope"} as two floats, or (None, a hint)."""
    try:
        with torch.random.fork_rng(devices=[]):
            guess = fn()
    except Exception as err:  # a student's bug: report it, never raise
        return None, raised(err)
    if not isinstance(guess, dict) or set(guess) != {"estimate", "slope"}:
        return None, ('return a dict with two numbers, {"estimate": ..., "slope": ...}; got '
                      f"{guess!r}"[:200])
    bad = [k for k, v in guess.items() if not is_number(v)]
    if bad:
        return None, f"{' and '.join(sorted(bad))} must be a number (an int or a float), got {guess!r}"
    return {k: float(v) for k, v in guess.items()}, None


def check_critic_prediction(fn) -> bool:
    """Check ``fn() -> {"estimate": e, "slope": s}`` against the critic trained between N(4, 0.5²) and
    N(-4, 0.5²): right if e is within 10% of its E C(x) - E C(G(z)) and s within 0.15 of its mean slope at
    G's samples. Prints the measurement and, for a wrong number, the usual confusion it matches."""
    name = "check_critic_prediction"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(prediction)), got {type(fn).__name__}.")
    guess, problem = _prediction_problem(fn)
    if problem:
        return _fail(name, problem)
    got = prediction_case()
    told = (f"The trained critic reaches E C(x) - E C(G(z)) = {got['estimate']:.1f} (W1 = 8) with a mean slope "
            f"of {got['slope']:.2f} at G's samples.")
    wrong = []
    if abs(guess["estimate"] - got["estimate"]) > ESTIMATE_RTOL * abs(got["estimate"]):
        wrong.append(_off("estimate", guess["estimate"], ESTIMATE_HINTS, ESTIMATE_QUESTION))
    if abs(guess["slope"] - got["slope"]) > SLOPE_ATOL:
        wrong.append(_off("slope", guess["slope"], SLOPE_HINTS, SLOPE_QUESTION))
    if wrong:
        return _fail(name, " ".join([told] + wrong))
    return _ok(name, told + " A 1-Lipschitz critic rises as fast as it may from G's samples to the data: its value is "
                            "W1, and its slope pulls G towards the data at any distance.")


# --------------------------------------------------------------------------- the gradient penalty
NO_CREATE_GRAPH = ("Right value, but the penalty cannot train the critic: it is not differentiable in the critic's "
                   "weights, so adding it to the critic's loss would change nothing. The gradient ∇C(x̂) must itself "
                   "be part of the graph, and torch.autograd.grad builds that graph only when asked to.")
PACKAGE = ("your function calls gan_edu's own penalty ({what}): write the penalty yourself, from the critic's "
           "gradient at the interpolates.")
USED_BACKWARD = ("You called .backward() inside the penalty: that fills the critic's .grad with a stray gradient "
                 "the next optimizer step would apply. torch.autograd.grad returns the gradient instead.")
WHERE_HINTS = {
    "real": ("You penalised the critic's slope at the real points only. WGAN-GP takes it at x̂ = ε x + (1 - ε) G(z), "
             "on the segments between real and generated samples, where the optimal critic has slope 1."),
    "fake": ("You penalised the critic's slope at G's samples only. WGAN-GP takes it at x̂ = ε x + (1 - ε) G(z), "
             "on the segments between real and generated samples."),
    "real_and_fake": ("You penalised the slope at the real and at the generated points. WGAN-GP takes it at points "
                      "x̂ = ε x + (1 - ε) G(z) between them, one ε per pair."),
    "per_element": ("Your x̂ is not on the segment between x and G(z): each coordinate got its own ε (ε of the batch's "
                    "shape, (n, d)). Draw one ε per sample, shape (n, 1), so that x̂ lies on the line from G(z) to x."),
    "one_eps": ("All your x̂ sit at the same fraction ε of their segments: one ε for the whole batch. Draw one ε per "
                "sample, shape (n, 1), so that the penalty samples each segment all along."),
    "off": ("Your x̂ do not lie between x and G(z) (x̂ = ε x + (1 - ε) G(z) with ε in [0, 1]): is ε drawn from "
            "U[0, 1] (torch.rand, not torch.randn), and do the two weights add up to 1?"),
    "shape": "The critic was called on a batch of shape {shape}; x̂ has the shape of the real batch, {want}.",
    "none": ("Your function never called the critic. The penalty is about the critic's gradient at the interpolates "
             "x̂: call critic(x̂) and differentiate its output with respect to x̂."),
}
VALUE_HINTS = {
    "no_lambda": "Missing λ: the penalty is λ E(‖∇C(x̂)‖ - 1)², with the weight lam given.",
    "batch_norm": ("You took one norm over the whole batch. Each sample has its own gradient ∇C(x̂_i): take its norm "
                   "per sample (over its coordinates, dim=1), then average (‖∇C(x̂_i)‖ - 1)² over the batch."),
    "squared": ("This is λ E‖∇C(x̂)‖², which pushes the slope towards 0 (R1's zero-centred form). WGAN-GP's "
                "penalty is λ E(‖∇C(x̂)‖ - 1)²: it pushes the norm towards 1, the optimal critic's slope."),
    "squared_minus_one": ("You used the squared norm inside: (‖g‖² - 1)². The penalty is (‖g‖ - 1)², the norm "
                          "itself minus 1, squared."),
    "not_squared": "Missing square: the penalty is λ E(‖∇C(x̂)‖ - 1)², not λ E|‖∇C(x̂)‖ - 1|.",
    "one_sided": ("This is the one-sided penalty λ E max(0, ‖∇C(x̂)‖ - 1)², which lets the slope fall below 1 "
                  "unpenalised. The notebook's (and the paper's main) penalty is two-sided: (‖∇C(x̂)‖ - 1)²."),
    "sum_batch": ("Average over the batch, do not sum: λ times the *mean* over the samples, so the penalty does not "
                  "grow with the batch size."),
    "mean_out": ("You took the gradient of C(x̂).mean(): that divides each sample's gradient by the batch size. "
                 "Each C(x̂_i) depends on x̂_i alone, so the gradient of the outputs' *sum* gives every sample its "
                 "own gradient, undivided."),
    "sigmoid": ("You took the gradient of sigmoid(C(x̂)). A critic's output is a raw score, not a probability: "
                "differentiate C(x̂) itself."),
}
REQUIRES_GRAD = (" -- x̂ must require grad *before* critic(x̂) is computed: autograd records operations only on "
                 "tensors that require grad, and x̂ built from the batches does not.")


class _Linear(nn.Module):
    """C(x) = w·x + b, whose slope ‖w‖ is the same everywhere (a hidden case with a known penalty)."""

    def __init__(self, w):
        super().__init__()
        self.w, self.b = nn.Parameter(torch.tensor([w])), nn.Parameter(torch.tensor([0.3]))

    def forward(self, x):
        return x @ self.w.t() + self.b


def penalty_cases():
    """Hidden cases (critic, real, fake, lam): two MLP critics (2D data, λ = 10; 3D data, λ = 3) and a linear
    critic of slope 2.5 (2D, λ = 0.1, Gulrajani et al.'s toy weight), where the penalty is λ (2.5 - 1)²."""
    cases = []
    with torch.random.fork_rng(devices=[]):
        for seed, dim, n, lam in ((31, 2, 24, 10.0), (32, 3, 16, 3.0)):
            torch.manual_seed(seed)
            critic = MLPDiscriminator(data_dim=dim, hidden=16, depth=2)
            g = torch.Generator().manual_seed(seed)
            real, fake = 2.0 * torch.randn(n, dim, generator=g), 0.5 * torch.randn(n, dim, generator=g) - 2.0
            cases.append((critic, real, fake, lam))
    g = torch.Generator().manual_seed(33)
    cases.append((_Linear([1.5, 2.0]), torch.randn(20, 2, generator=g) + 3.0, torch.randn(20, 2, generator=g), 0.1))
    return cases


class _Watched(nn.Module):
    """The critic, recording every batch it is called on."""

    def __init__(self, critic):
        super().__init__()
        self.critic, self.inputs = critic, []

    def forward(self, x):
        self.inputs.append(x)
        return self.critic(x)


def _where(x, real, fake) -> str:
    """Where the batch ``x`` lies: "real", "fake", "segment" (one ε per sample, either end), "per_element",
    "one_eps", "off" or "shape"."""
    if not isinstance(x, torch.Tensor) or x.shape != real.shape:
        return "shape"
    x, r, f = x.detach().double(), real.double(), fake.double()
    if _close(x, r) or _close(x, f):
        return "real" if _close(x, r) else "fake"
    diff = r - f
    eps = ((x - f) * diff).sum(1, keepdim=True) / diff.pow(2).sum(1, keepdim=True)  # x's place along each segment
    if (x - f - eps * diff).abs().max() < 1e-4:  # on the lines from G(z) to x
        if not ((eps > -1e-5) & (eps < 1 + 1e-5)).all():
            return "off"
        return "one_eps" if (eps - eps[0]).abs().max() < 1e-6 else "segment"
    each = ((x - f) / diff)[diff.abs() > 1e-3]  # a fraction per coordinate
    return "per_element" if ((each > -1e-5) & (each < 1 + 1e-5)).all() else "off"


def _points(inputs, real, fake):
    """The student's x̂ (the first batch on the segments), or (None, the hint for where the critic was called)."""
    places = [_where(x, real, fake) for x in inputs]
    if "segment" in places:
        return inputs[places.index("segment")], None
    if not places:
        return None, WHERE_HINTS["none"]
    if "real" in places and "fake" in places:
        return None, WHERE_HINTS["real_and_fake"]
    for place in ("per_element", "one_eps", "real", "fake", "off"):
        if place in places:
            return None, WHERE_HINTS[place]
    bad = inputs[places.index("shape")]
    return None, WHERE_HINTS["shape"].format(shape=tuple(getattr(bad, "shape", ())), want=tuple(real.shape))


def _grads_at(critic, x_hat, of=lambda out: out.sum()):
    x = x_hat.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(of(critic(x)), x, create_graph=True)
    return grad.reshape(grad.shape[0], -1)


def _penalty_at(critic, x_hat, lam):
    """λ E(‖∇C(x̂)‖ - 1)² at the given points, differentiable in the critic's weights (the reference)."""
    return lam * (_grads_at(critic, x_hat).norm(dim=1) - 1).pow(2).mean()


def _candidates(critic, x_hat, lam):
    """The classic mistakes' values at the student's own points, as functions."""
    g = lambda: _grads_at(critic, x_hat)
    norm = lambda: g().norm(dim=1)
    return {"no_lambda": lambda: (norm() - 1).pow(2).mean(), "batch_norm": lambda: lam * (g().norm() - 1).pow(2),
            "squared": lambda: lam * norm().pow(2).mean(),
            "squared_minus_one": lambda: lam * (norm().pow(2) - 1).pow(2).mean(),
            "not_squared": lambda: lam * (norm() - 1).abs().mean(),
            "one_sided": lambda: lam * (norm() - 1).clamp(min=0).pow(2).mean(),
            "sum_batch": lambda: lam * (norm() - 1).pow(2).sum(),
            "mean_out": lambda: lam * (_grads_at(critic, x_hat, lambda o: o.mean()).norm(dim=1) - 1).pow(2).mean(),
            "sigmoid": lambda: lam * (_grads_at(critic, x_hat, lambda o: torch.sigmoid(o).sum()).norm(dim=1) - 1)
            .pow(2).mean()}


def _value_problem(value, critic, x_hat, lam, want):
    """The hint for a wrong value: the classic mistake whose value it matches (one that differs from the right one)."""
    values = {mistake: formula().detach() for mistake, formula in _candidates(critic, x_hat, lam).items()}
    named = [m for m, v in values.items() if torch.isfinite(v) and not _close(v, want) and _close(value, v)]
    if named:
        return VALUE_HINTS[named[0]]
    return (f"on a hidden case your penalty is {value.item():.6g}, expected {want.item():.6g} at your own points x̂: "
            "λ times the batch mean of (‖∇C(x̂_i)‖ - 1)², one norm per sample.")


def _call(fn, watched, real, fake, lam):
    """Run the student's penalty with the package's penalties recording their calls; (out, None) or (None, hint)."""
    called, saved = [], (losses.gradient_penalty, options.gradient_penalty)

    def refused(*args, **kwargs):
        called.append(True)
        return saved[0](*args, **kwargs)

    losses.gradient_penalty = options.gradient_penalty = refused
    try:
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings(record=True):
            torch.manual_seed(2017)
            out = fn(watched, real.clone(), fake.clone(), lam)
    except Exception as err:  # a student's bug: report it, never raise
        text = raised(err)
        return None, text + (REQUIRES_GRAD if "does not require grad" in str(err) else "")
    finally:
        losses.gradient_penalty, options.gradient_penalty = saved
    if called:
        return None, PACKAGE.format(what="gan_edu.losses.gradient_penalty")
    return out, None


def _names_package(fn) -> str | None:
    """The package's penalty, when ``fn``'s code uses it by a name imported beforehand (None otherwise)."""
    code, scope = getattr(fn, "__code__", None), getattr(fn, "__globals__", {})
    for used in (code.co_names if code else ()):
        if scope.get(used) is losses.gradient_penalty:
            return "gan_edu.losses.gradient_penalty"
        if scope.get(used) is options.GradientPenalty:
            return "gan_edu.options.GradientPenalty"
    return None


def _output_problem(out):
    if isinstance(out, (int, float)):
        return ("return the penalty as a torch tensor in the graph, not a Python number (no .item()): the critic's "
                "loss adds it, and its gradient must reach the critic's weights.")
    if not isinstance(out, torch.Tensor):
        return f"return a torch tensor (the penalty), got {type(out).__name__}."
    if out.numel() != 1:
        return f"return one number (a scalar tensor), the batch mean; got shape {tuple(out.shape)}."
    return None


def _graph_problem(out, critic, want):
    """The penalty's gradient with respect to the critic's weights must be the reference's: the gradient of
    their difference vanishes."""
    if not out.requires_grad:
        return NO_CREATE_GRAPH
    gap = torch.autograd.grad(out.reshape(()) - want, list(critic.parameters()), allow_unused=True)
    if any(g is not None and not _close(g, torch.zeros_like(g)) for g in gap):
        return ("the value is right, but its gradient with respect to the critic's weights is not: keep the whole "
                "computation in the graph (no .detach() or .item() inside).")
    return None


def _case_problem(fn, critic, real, fake, lam):
    """The hint for the student's penalty on one hidden case (where, value, gradient), or None."""
    critic.zero_grad(set_to_none=True)
    watched = _Watched(critic)
    out, problem = _call(fn, watched, real, fake, lam)
    stray = any(p.grad is not None for p in critic.parameters())  # .backward() inside
    critic.zero_grad(set_to_none=True)
    problem = problem or _output_problem(out) or (USED_BACKWARD if stray else None)
    if problem:
        return problem
    x_hat, problem = _points(watched.inputs, real, fake)
    if problem:
        return problem
    want, value = _penalty_at(critic, x_hat, lam), out.detach().reshape(()).double()
    if not torch.isfinite(value):
        return f"your penalty came out as {value.item()} on a hidden case."
    if not _close(value, want.detach()):
        return _value_problem(value, critic, x_hat, lam, want.detach())
    return _graph_problem(out, critic, want)


def check_gradient_penalty(fn) -> bool:
    """Check ``fn(critic, real, fake, lam) -> penalty``: λ E(‖∇_x̂ C(x̂)‖ - 1)² at x̂ = ε x + (1 - ε) G(z), one
    ε ~ U[0, 1] per pair, differentiable in the critic's weights. Prints a hint naming the mistake, or one line."""
    name = "check_gradient_penalty"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(gradient_penalty)), got {type(fn).__name__}.")
    if fn is losses.gradient_penalty:
        return _fail(name, PACKAGE.format(what="gan_edu.losses.gradient_penalty itself"))
    if _names_package(fn):
        return _fail(name, PACKAGE.format(what=_names_package(fn)))
    with one_thread():
        for critic, real, fake, lam in penalty_cases():
            problem = _case_problem(fn, critic, real, fake, lam)
            if problem:
                return _fail(name, problem)
    return _ok(name, "3 hidden cases pass (two MLP critics in 2D and 3D, and a linear critic of slope 2.5, where the "
                     "penalty is λ (2.5 - 1)²): one ε per pair, one norm per sample, and the penalty's gradient "
                     "reaches the critic's weights.")


# --------------------------------------------------------------------------- check of understanding
QUESTIONS = [
    Question("p_g = N(μ, 0.5²) sits 6 units from p_data = N(4, 0.5²), with negligible overlap. Which of these still "
             "gives G a clear push towards the data?",
             answer=2, choices=("The slope of C(G) = -log 4 + 2 JSD with respect to μ",
                                "The gradient of the saturating loss E log(1 - D*(G(z)))",
                                "The gradient of -E C(G(z)) for a 1-Lipschitz critic C trained to optimality",
                                "None: far from the data every gradient vanishes"),
             why="The JSD is at log 2 and flat, and D* is about 0 at G's samples, so the saturating loss's gradient "
                 "D*ℓ*' is about 0 too. A 1-Lipschitz critic rises with slope 1 all the way to the data: "
                 "-E C(G(z)) pulls G's samples with slope 1, as W1's own slope in μ is 1."),
    Question("Why does WGAN-GP penalise the critic's slope at points x̂ = ε x + (1 - ε) G(z) between real and "
             "generated samples?",
             answer=1, choices=("They are real samples, where the critic must be most accurate",
                                "The optimal critic has slope 1 along the lines that join the real and generated "
                                "points it transports; x̂ on segments between random real-fake pairs stands in for "
                                "those lines, and a bound everywhere cannot be enforced in many dimensions",
                                "So that the critic is 0 there",
                                "So that the penalty itself pushes G's samples towards the data"),
             why="Gulrajani et al. (2017) prove the optimal critic has gradient norm 1 on the segments between coupled "
                 "points of p_data and p_g. Checking the Lipschitz bound everywhere is intractable, so the penalty "
                 "samples segments between randomly paired real and generated points, a tractable stand-in; the fakes are detached in it, so it moves only the critic."),
]

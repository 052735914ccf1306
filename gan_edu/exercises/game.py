r"""Notebook 01's exercises: the game's value function and its optimal discriminator.

- ``check_value_function(fn)``: ``fn(d_real, d_fake)`` must return the sample estimate of
  V(D,G) = mean log D(x) + mean log(1 - D(G(z))) from D's *probabilities* on a real batch and on
  a fake batch (tensors of shape (n, 1) and (m, 1); the two batches may differ in size).
- ``check_d_star(fn)``: ``fn(p_data, p_g)`` must return the optimal discriminator
  D*(x) = p_data(x) / (p_data(x) + p_g(x)) on a grid (NumPy arrays of density values).

Each runs the student's function on hidden cases, compares it with the right answer and, when
it differs, with the classic mistakes, to say which one was made. A function that is, or calls, the
package's own ``value_function`` or ``optimal_discriminator`` is told to write it itself.

Two predictions, committed before the notebook's cell computes the answer (each ``fn()`` takes no
argument and returns a number); the checker computes it the notebook's way and compares:

- ``check_crossings(fn)``: at how many points x does D* cross 1/2 for p_data = N(4, 0.5²) and
  p_g = N(2.5, 1)? Counted on the notebook's grid.
- ``check_far_criterion(fn)``: C(G) = max_D V(D, G) for p_g = N(10, 0.5²), far from p_data?
  Computed on the notebook's grid.

``QUESTIONS``: notebook 01's check of understanding (``understanding("01")``, not graded).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from ..checks import is_number
from .bce import explain_error, one_number, package_call
from .common import close as _close, fail as _fail, ok as _ok, raised
from .quiz import Question

__all__ = ["check_value_function", "check_d_star", "check_crossings", "check_far_criterion", "QUESTIONS"]


# --------------------------------------------------------------------------- V(D, G)
V_NO_GRAPH = ("Your V is not connected to D's outputs by autograd: keep it a torch tensor (no .item(), "
              ".detach(), .data or NumPy inside): training follows V's gradients.")
MISSING_TERM = ("Missing term: V(D,G) has two terms, mean log D(x) on the real batch plus "
                "mean log(1 - D(G(z))) on the fake batch.")
V_HINTS = {
    "negated": ("Wrong sign: you returned -V(D,G), D's *loss* (notebook 02). V itself is what D maximises: "
                "mean log D(x) + mean log(1 - D(G(z)))."),
    "fake_log_d": ("Fake term: you took log D(G(z)). The fake term is log(1 - D(G(z))): D scores a point on a "
                   "fake when it says *fake*, D(G(z)) near 0."),
    "swapped": ("Real and fake swapped: you computed mean log(1 - D(x)) + mean log D(G(z)). D should say 1 on "
                "real data and 0 on fakes: mean log D(x) + mean log(1 - D(G(z)))."),
    "no_log": ("Missing log: you averaged D's probabilities themselves. V averages their logs: "
               "mean log D(x) + mean log(1 - D(G(z)))."),
    "log_of_mean": ("Log of the mean is not the mean of the log: V = E[log D(x)] takes the log of each "
                    "sample's D(x) first, then averages (torch.log(d_real).mean(), not torch.log(d_real.mean()))."),
    "real_only": MISSING_TERM,
    "fake_only": MISSING_TERM,
    "half": ("Off by a factor 2: V is the *sum* of the two batch means, not their average (a mean over "
             "the real and fake batches put together does this too). At D = 1/2, V = 2 log(1/2) = -log 4."),
    "concatenated": ("One mean over the real and fake batches put together weights each batch by its size "
                     "and halves V: take the mean of each batch, then add the two means."),
    "sum": "Average over each batch (.mean()), do not sum: V is an expectation, it must not grow with the batch size.",
    "sigmoid": ("The inputs are already probabilities, D's output after the sigmoid: do not apply "
                "torch.sigmoid to them again."),
}


def _v_candidates():
    """V and its classic mistakes, as functions of D's probabilities (r on real, f on fake)."""
    log = torch.log
    return {
        "correct": lambda r, f: log(r).mean() + torch.log1p(-f).mean(),
        "negated": lambda r, f: -(log(r).mean() + torch.log1p(-f).mean()),
        "fake_log_d": lambda r, f: log(r).mean() + log(f).mean(),
        "swapped": lambda r, f: torch.log1p(-r).mean() + log(f).mean(),
        "no_log": lambda r, f: r.mean() + (1 - f).mean(),
        "log_of_mean": lambda r, f: log(r.mean()) + log(1 - f.mean()),
        "real_only": lambda r, f: log(r).mean(),
        "fake_only": lambda r, f: torch.log1p(-f).mean(),
        "half": lambda r, f: (log(r).mean() + torch.log1p(-f).mean()) / 2,
        "concatenated": lambda r, f: torch.cat([log(r), torch.log1p(-f)]).mean(),
        "sum": lambda r, f: log(r).sum() + torch.log1p(-f).sum(),
        "sigmoid": lambda r, f: log(torch.sigmoid(r)).mean() + log(1 - torch.sigmoid(f)).mean(),
    }


def _v_cases():
    """Hidden cases: D's float32 probabilities (real batch, fake batch) of shape (n, 1) and (m, 1)."""
    g = torch.Generator().manual_seed(20140610)  # the GAN paper's arXiv date
    uniform = lambda n, lo, hi: lo + (hi - lo) * torch.rand(n, 1, generator=g)
    return [
        (uniform(64, 0.05, 0.95), uniform(64, 0.05, 0.95)),  # an ordinary D
        (uniform(16, 0.6, 0.99), uniform(40, 0.01, 0.4)),    # a good D, batches of different sizes
        (uniform(40, 0.01, 0.3), uniform(16, 0.7, 0.99)),    # a D fooled the other way round
        (torch.tensor([[1e-6], [0.5], [1 - 1e-6]]), torch.tensor([[1e-6], [0.3], [0.999], [0.5], [0.02]])),
    ]


def _call(fn, inputs):
    """Run the student's function: returns (its output, None), or (None, a hint) if it raised."""
    try:
        with warnings.catch_warnings(record=True):  # nothing on stderr (nbgrader scores such a cell 0)
            return fn(*inputs), None
    except Exception as err:  # a student's bug: report it, never raise
        return None, explain_error(err)


def _scalar_tensor_problem(out):
    """Check ``out`` is a one-element torch tensor attached to autograd; returns a hint or None."""
    if not isinstance(out, torch.Tensor):
        if isinstance(out, (int, float, np.floating)):
            return V_NO_GRAPH
        return f"return a torch tensor (one number), got {type(out).__name__}."
    if out.numel() != 1:
        return ("return one number (a scalar tensor): average each batch's per-sample terms, then add. "
                f"Got shape {tuple(out.shape)}.")
    if not out.requires_grad:
        return V_NO_GRAPH
    return None


def _named_v_mistake(value, inputs64, expected):
    """The hint of the classic mistake ``value`` matches, or a generic one."""
    for mistake, formula in _v_candidates().items():
        if mistake != "correct":
            with torch.no_grad():
                mistake_value = formula(*inputs64)
            if torch.isfinite(mistake_value) and _close(value, mistake_value):
                return V_HINTS[mistake]
    return (f"on a hidden case your V is {value.item():.6g}, expected {expected.item():.6g}. "
            "It should be mean log D(x) over the real batch + mean log(1 - D(G(z))) over the fake batch.")


def _v_case_problem(fn, case):
    """Check the student's V on one hidden case (output, value, gradient); returns a hint or None."""
    inputs = [c.clone().requires_grad_(True) for c in case]
    out, problem = _call(fn, inputs)
    problem = problem or _scalar_tensor_problem(out)
    if problem:
        return problem
    inputs64 = [c.double().requires_grad_(True) for c in case]
    expected = _v_candidates()["correct"](*inputs64)
    value = out.detach().reshape(()).double()
    if not torch.isfinite(value):
        return (f"your V is {value.item()} on probabilities that are all strictly between 0 and 1: "
                "compute log(1 - D(G(z))) as torch.log(1 - d_fake) or torch.log1p(-d_fake).")
    if not _close(value, expected.detach()):
        return _named_v_mistake(value, [c.detach() for c in inputs64], expected)
    grads = torch.autograd.grad(out.reshape(()), inputs, allow_unused=True)
    for got, want in zip(grads, torch.autograd.grad(expected, inputs64)):
        if got is None or not _close(got, want):
            return ("the value is right but its gradient with respect to D's outputs is not: do not "
                    "detach (or use .data on) anything inside.")
    return None


def check_value_function(fn) -> bool:
    """Check ``fn(d_real, d_fake) -> V``: mean log D(x) + mean log(1 - D(G(z))) from probabilities.

    Prints a hint naming the mistake (sign, log D(G(z)) in place of log(1 - D(G(z))), missing log,
    log of the mean, a missing term, averaging the two terms, sum vs mean, a sigmoid applied to
    probabilities, a float instead of a tensor, a call of ``losses.value_function``) and returns
    ``False``, or prints one line and returns ``True``.
    """
    name = "check_value_function"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(value_function)), got {type(fn).__name__}.")
    cases = _v_cases()
    problem = package_call(fn, cases[0], ("value_function",), "Compute V from d_real and d_fake with torch's "
                           "own operations.")
    if problem:
        return _fail(name, problem)
    for case in cases:
        problem = _v_case_problem(fn, case)
        if problem:
            return _fail(name, problem)
    return _ok(name, f"{len(cases)} hidden cases pass (batches of different sizes, D near 0 and 1), "
                     "gradients included.")


# --------------------------------------------------------------------------- D*
D_STAR_HINTS = {
    "fake_prob": ("That is 1 - D*, the probability that x is *fake*. D(x) is the probability that x is real: "
                  "p_data on top, D*(x) = p_data / (p_data + p_g)."),
    "ratio": ("The density ratio p_data / p_g is not a probability (it exceeds 1 where p_data > p_g): divide "
              "by the sum, D*(x) = p_data / (p_data + p_g)."),
    "mixture": ("You divided by the mixture m = (p_data + p_g) / 2: that gives 2 D*, up to 2. Divide by the "
                "sum p_data + p_g."),
    "threshold": ("A hard decision (1 where p_data > p_g, else 0) is the best *classifier*, but V scores D's "
                  "probability with a log: a confident 0 or 1 where both densities are positive costs "
                  "log 0 = -infinity. D* is the probability p_data / (p_data + p_g)."),
    "constant": "D = 1/2 everywhere is optimal only when p_g = p_data. In general D*(x) = p_data / (p_data + p_g).",
    "normalised": ("D* is a probability at each x, not a density over x: do not normalise it to sum (or "
                   "integrate) to 1. D*(x) = p_data / (p_data + p_g)."),
    "log": "You returned log D*. Return D* itself, p_data / (p_data + p_g).",
    "p_data": "D* compares the two densities: D*(x) = p_data / (p_data + p_g), not p_data alone.",
}


def _d_star_candidates():
    """D* and its classic mistakes, as functions of the densities on a grid."""
    right = lambda p, q: p / (p + q)
    return {
        "correct": right,
        "fake_prob": lambda p, q: q / (p + q),
        "ratio": lambda p, q: p / q,
        "mixture": lambda p, q: p / ((p + q) / 2),
        "threshold": lambda p, q: (p > q).astype(float),
        "constant": lambda p, q: np.full_like(p, 0.5),
        "normalised": lambda p, q: right(p, q) / right(p, q).sum(),
        "log": lambda p, q: np.log(right(p, q)),
        "p_data": lambda p, q: p,
    }


def _gaussian(x, mean, std):
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))


def _d_star_cases():
    """Hidden cases (p_data, p_g) on grids; every point has p_data + p_g > 0."""
    x = np.linspace(-2.0, 10.0, 241)
    triangle = np.clip(1 - np.abs(x - 5.0) / 2, 0, None) / 2  # a triangle on [3, 7]: 0 elsewhere
    two_modes = 0.5 * _gaussian(x, 1.0, 0.4) + 0.5 * _gaussian(x, 6.0, 0.8)
    y = np.linspace(-4.0, 4.0, 17)
    return [
        (_gaussian(x, 4.0, 0.5), _gaussian(x, 2.5, 1.0)),  # notebook 01's pair
        (two_modes, _gaussian(x, 4.0, 2.0)),
        (triangle, _gaussian(x, 3.0, 1.5)),                 # D* = 0 exactly where p_data is 0
        (_gaussian(y, 0.0, 1.0), _gaussian(y, 0.0, 1.0)),   # p_g = p_data: D* = 1/2
    ]


def _d_star_output_problem(out, p_data, inputs, originals):
    """Check the output is one value per grid point and the inputs are untouched; returns (array, hint)."""
    if any(not np.array_equal(a, b) for a, b in zip(inputs, originals)):
        return None, ("your function changed its input arrays in place (e.g. p_data /= ...): the caller's "
                      "densities are now wrong. Compute a new array: return p_data / (p_data + p_g).")
    if isinstance(out, torch.Tensor):
        out = out.detach().cpu().numpy()
    try:
        out = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        return None, f"return an array of D*'s values, one per grid point; got {type(out).__name__}."
    if out.shape != p_data.shape:
        if out.size == 1:
            return None, ("you returned one number: D* is a function of x, one value per grid point. Use "
                          "elementwise array operations, no sum or mean.")
        return None, f"return one value per grid point, shape {p_data.shape}; got shape {out.shape}."
    return out, None


def _named_d_star_mistake(out, case):
    """The hint of the classic mistake ``out`` matches, or a generic one."""
    with np.errstate(divide="ignore", invalid="ignore"):
        for mistake, formula in _d_star_candidates().items():
            want = formula(*case)
            if mistake != "correct" and np.allclose(out, want, rtol=1e-5, atol=1e-8, equal_nan=False):
                return D_STAR_HINTS[mistake]
        expected = _d_star_candidates()["correct"](*case)
    i = int(np.nanargmax(np.abs(np.nan_to_num(out, nan=np.inf) - expected)))
    return (f"at a grid point where p_data = {case[0][i]:.4g} and p_g = {case[1][i]:.4g} your D* is {out[i]:.4g}, "
            f"expected {expected[i]:.4g} = p_data / (p_data + p_g).")


def _d_star_case_problem(fn, case):
    """Check the student's D* on one hidden case; returns a hint or None."""
    inputs = [a.copy() for a in case]
    with np.errstate(divide="ignore", invalid="ignore"):
        out, problem = _call(fn, inputs)
    if problem:
        return problem
    out, problem = _d_star_output_problem(out, case[0], inputs, case)
    if problem:
        return problem
    if not np.allclose(out, _d_star_candidates()["correct"](*case), rtol=1e-5, atol=1e-8):
        return _named_d_star_mistake(out, case)
    return None


def check_d_star(fn) -> bool:
    """Check ``fn(p_data, p_g) -> D*``: p_data / (p_data + p_g) on a grid of density values.

    Prints a hint naming the mistake (1 - D*, the density ratio, the mixture, a hard 0/1 decision,
    a constant 1/2, a normalised D*, log D*, inputs changed in place, wrong shape, a call of
    ``losses.optimal_discriminator``) and returns ``False``, or prints one line and returns ``True``.
    """
    name = "check_d_star"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(d_star)), got {type(fn).__name__}.")
    cases = _d_star_cases()
    problem = package_call(fn, cases[0], ("optimal_discriminator",), "Compute D* from the arrays p_data and "
                           "p_g with NumPy's own operations.")
    if problem:
        return _fail(name, problem)
    for case in cases:
        problem = _d_star_case_problem(fn, case)
        if problem:
            return _fail(name, problem)
    return _ok(name, f"{len(cases)} hidden pairs of densities pass (Gaussians, two modes, a density that is 0 "
                     "on part of the grid, p_g = p_data).")


# --------------------------------------------------------------------------- predictions
DATA = (4.0, 0.5)         # p_data = N(4, 0.5²), notebook 01's data
CROSSING_P_G = (2.5, 1.0)  # p_g of section 3's figure
FAR_P_G = (10.0, 0.5)      # p_g far from the data (section 5's table)
GRID = np.linspace(-12.0, 20.0, 3201)  # the notebook's grid


def _predicted_number(name: str, fn):
    """Call the prediction ``fn()``: returns (a float, None) or (None, a hint). Never raises."""
    if not callable(fn):
        return None, f"pass your function itself (e.g. {name}(prediction)), got {type(fn).__name__}."
    try:
        with warnings.catch_warnings(record=True):  # nothing on stderr (nbgrader scores such a cell 0)
            out = fn()
    except Exception as err:  # a student's bug or the stub: report it, never raise
        return None, raised(err)
    out = one_number(out)
    if not is_number(out):
        return None, f"return your prediction as one number (e.g. return 1), got {type(out).__name__} {out!r}."
    return float(out), None


def _density(mean_std) -> np.ndarray:
    mean, std = mean_std
    return np.exp(-0.5 * ((GRID - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def _crossing_points() -> np.ndarray:
    """Where D* = p_data / (p_data + p_g) crosses 1/2 on the grid (the notebook's computation)."""
    d_star = _d_star_candidates()["correct"](_density(DATA), _density(CROSSING_P_G))
    k = np.nonzero(np.diff(np.sign(d_star - 0.5)))[0]
    return (GRID[k] + GRID[k + 1]) / 2


CROSSING_HINTS = {
    0: ("D* = 1/2 wherever p_data = p_g, and two densities that both integrate to 1 must be equal somewhere "
        "(neither can be larger everywhere)."),
    1: ("One crossing is what two Gaussians of the *same* width give: fakes on one side, data on the other. "
        "p_g = N(2.5, 1) is twice as wide as the data: its log-density is a flatter parabola, so far out on "
        "*both* sides p_g is the larger density and D* says fake."),
    "many": ("The difference log p_data - log p_g is a quadratic in x (a log-density of a Gaussian is a parabola): it has at "
             "most two zeros, so D* crosses 1/2 at most twice."),
    "inf": "D* = 1/2 everywhere (infinitely many points) only when p_g = p_data.",
}


def check_crossings(fn) -> bool:
    """Check the prediction ``fn() -> count``: at how many points does D* cross 1/2 for p_data = N(4, 0.5²)
    and p_g = N(2.5, 1)? Counted on the notebook's grid. Names the mistake (a monotone D*, too few or too
    many crossings, not a count)."""
    name = "check_crossings"
    guess, problem = _predicted_number(name, fn)
    if problem:
        return _fail(name, problem)
    points = _crossing_points()
    where = " and ".join(f"x ≈ {x:.1f}" for x in points)  # the grid step is 0.01: one decimal is what it resolves
    if guess == len(points):
        return _ok(name, f"D* crosses 1/2 twice, at {where}: p_g's wider tails win on both sides.")
    if math.isinf(guess):
        return _fail(name, CROSSING_HINTS["inf"])
    if guess != int(guess) or guess < 0:
        return _fail(name, f"a number of points is a whole number of 0 or more, got {guess:g}.")
    hint = CROSSING_HINTS.get(int(guess), CROSSING_HINTS["many"])
    return _fail(name, f"{hint} The grid shows {len(points)} crossings, at {where}.")


def _far_criterion() -> float:
    """C(G) = V(D*, G) for p_g = N(10, 0.5²), on the grid (as losses.virtual_training_criterion)."""
    from ..losses import virtual_training_criterion
    return virtual_training_criterion(_density(DATA), _density(FAR_P_G), GRID[1] - GRID[0])


FAR_TOLERANCE = 0.01
FAR_HINTS = (  # (a wrong prediction, what it means)
    (-math.log(4), "-log 4 is C at p_g = p_data, where D* can only guess 1/2. Far from the data D* is sure "
                   "everywhere: 1 on the data, 0 on the fakes."),
    (math.log(2), "That is the JSD of two densities that do not overlap, log 2. C(G) = -log 4 + 2 JSD."),
    (2 * math.log(2), "2 log 2 = 2 JSD: you left out the -log 4. C(G) = -log 4 + 2 JSD."),
    (-math.log(2), "-log 2 would need JSD = log 2 / 2. Densities that do not overlap have the largest JSD, "
                   "log 2, so C(G) = -log 4 + 2 log 2."),
)


def check_far_criterion(fn) -> bool:
    """Check the prediction ``fn() -> C``: C(G) = max_D V(D, G) for p_g = N(10, 0.5²), far from
    p_data = N(4, 0.5²), within 0.01 of its value on the notebook's grid. Names the mistake (values of
    the JSD or of C at other p_g, a log 0, a C outside the range C can take)."""
    name = "check_far_criterion"
    guess, problem = _predicted_number(name, fn)
    if problem:
        return _fail(name, problem)
    c = _far_criterion()
    shown = f"On the grid C(G) = {round(c, 4) + 0.0:.4f}."
    if abs(guess - c) <= FAR_TOLERANCE:
        return _ok(name, f"{shown} D* is 1 on the data and 0 on the fakes, so both terms are log 1 = 0: "
                         "JSD = log 2 and C = -log 4 + 2 log 2 = 0, the largest C can be.")
    for value, hint in FAR_HINTS:
        if abs(guess - value) <= FAR_TOLERANCE:
            return _fail(name, f"{hint} {shown}")
    if math.isnan(guess) or guess == -math.inf:
        return _fail(name, "no log 0 here: D* is 1 where the data is and 0 where the fakes are, so each term is "
                           f"log 1 = 0. {shown}")
    if guess > 0:
        return _fail(name, f"V(D, G) averages logs of probabilities: it is never above 0. {shown}")
    if guess < -math.log(4):
        return _fail(name, f"C(G) is never below -log 4 ≈ -1.386 (JSD ≥ 0), and the farther p_g from the data, "
                           f"the larger the JSD. {shown}")
    return _fail(name, "C(G) = -log 4 + 2 JSD, and the JSD of densities that do not overlap is its largest value, "
                       f"log 2. {shown}")


# --------------------------------------------------------------------------- check of understanding
QUESTIONS = [
    Question("At some x, D*(x) = 0.8. What is the ratio p_data(x) / p_g(x) there?",
             answer=4.0, tolerance=0.01,
             why=("D* = p_data / (p_data + p_g), so p_data / p_g = D* / (1 - D*) = 0.8 / 0.2 = 4.")),
    Question("p_g = p_data, and a discriminator answers D(x) = 0.9 on every x. Compared with -log 4, its "
             "V(D, G) is:", answer=2,
             choices=("larger: it is more confident than 1/2", "equal: V does not depend on D when p_g = p_data",
                      "smaller"),
             why=("When p_g = p_data the best D is D* = 1/2 and V(D*, G) = -log 4 ≈ -1.386; every other D scores "
                  "less. Here V = log 0.9 + log(1 - 0.9) ≈ -2.41: the confident answers on the fakes cost a lot.")),
]

r"""Notebook 07's exercises: a divergence between two densities given on a grid.

- ``check_kl(fn)``: ``fn(p, q, dA)`` must return KL(p || q) = Σ p log(p / q) · dA, in nats,
  with 0 log 0 = 0 and +inf where q = 0 < p;
- ``check_js(fn)``: ``fn(p, q, dA)`` must return JSD(p, q) = ½ KL(p || m) + ½ KL(q || m),
  m = (p + q) / 2, in nats (between 0 and log 2).

``p`` and ``q`` are NumPy arrays of density values on the cells of a grid (1D or 2D), ``dA`` the
size of one cell (its width in 1D, its area in 2D): the sums are Riemann sums of the integrals.
The right answers are ``gan_edu.losses.kl_divergence`` and ``gan_edu.losses.jensen_shannon``.
Each checker runs the student's function on hidden pairs of densities and, when it differs,
compares it with the classic mistakes (log base, missing cell area, swapped arguments, 0 log 0,
...) to say which one was made.

- ``check_divergence_prediction(fn)``: predict, then check. ``fn()`` names, before the notebook
  computes them, the divergence that notices a dropped mode most and the one that hardly does;
  the checker measures both on notebook 07's two imperfect generators and compares.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import losses
from .common import fail as _fail, ok as _ok, raised
from .quiz import Question

__all__ = ["check_kl", "check_js", "check_divergence_prediction", "density_cases", "prediction_cases", "QUESTIONS"]

RTOL = 1e-6
LN2, LN10 = math.log(2), math.log(10)


# --------------------------------------------------------------------------- hidden densities
def _normalised(p, dA):
    return p / (p.sum() * dA)


def density_cases() -> list:
    """The hidden cases: (name, p, q, dA), densities on 1D and 2D grids, built from a private
    seeded generator (the global random state is not touched)."""
    rng = np.random.default_rng(20140610)  # the GAN paper's arXiv date
    x, h = np.linspace(-4, 4, 160, endpoint=False) + 0.025, 0.05
    bump = lambda c, s: np.exp(-0.5 * ((x - c) / s) ** 2)
    cases = [("1D, two Gaussians", _normalised(bump(-0.5, 0.6) + 0.002, h), _normalised(bump(0.4, 1.0) + 0.01, h), h)]
    c2, h2 = np.linspace(-3, 3, 30, endpoint=False) + 0.1, 0.2
    X, Y = np.meshgrid(c2, c2)
    blob = lambda cx, cy, s: np.exp(-0.5 * ((X - cx) ** 2 + (Y - cy) ** 2) / s ** 2)
    p = blob(-1, -1, 0.5) + 0.6 * blob(1.2, 1.0, 0.4)
    p[p < 1e-3 * p.max()] = 0.0  # exact zeros: the data is not everywhere
    q = blob(0.0, 0.0, 1.3) * (1 + 0.2 * rng.random(X.shape))
    cases.append(("2D, data with empty cells", _normalised(p, h2 * h2), _normalised(q, h2 * h2), h2 * h2))
    q3 = bump(1.0, 0.8)
    q3[q3 < 1e-4] = 0.0  # zeros in both, in the same cells (0 log 0/0 = 0)
    p3 = np.where(q3 > 0, bump(0.6, 0.5) * (1 + 0.3 * rng.random(x.shape)), 0.0)
    cases.append(("1D, zeros in both", _normalised(p3, h), _normalised(q3, h), h))
    q4 = blob(-1, -1, 0.5)  # G covers only one of the data's two modes
    q4[q4 < 1e-3 * q4.max()] = 0.0
    cases.append(("2D, q misses a mode of p", cases[1][1], _normalised(q4, h2 * h2), h2 * h2))
    return cases


# --------------------------------------------------------------------------- right answers and mistakes
def _kl(p, q, dA):
    return losses.kl_divergence(p, q, dA)


def _js(p, q, dA):
    return losses.jensen_shannon(p, q, dA)


def _masked_kl(p, q, dA):
    keep = (p > 0) & (q > 0)
    return float(np.sum(p[keep] * np.log(p[keep] / q[keep])) * dA)


def _no_weight_kl(p, q, dA):
    keep = (p > 0) & (q > 0)
    return float(np.sum(np.log(p[keep] / q[keep])) * dA)


def _mean_kl(p, q, dA):
    return _kl(p, q, dA) / (dA * p.size)


KL_CANDIDATES = {
    "swapped": lambda p, q, dA: _kl(q, p, dA),
    "log2": lambda p, q, dA: _kl(p, q, dA) / LN2,
    "log10": lambda p, q, dA: _kl(p, q, dA) / LN10,
    "no_area": lambda p, q, dA: _kl(p, q, dA) / dA,
    "mean": _mean_kl,
    "negated": lambda p, q, dA: -_kl(p, q, dA),
    "no_weight": _no_weight_kl,
    "masked": _masked_kl,
}
JS_CANDIDATES = {
    "m_sum": lambda p, q, dA: _js(p, q, dA) - LN2,
    "one_term": lambda p, q, dA: 0.5 * _kl(p, (p + q) / 2, dA),
    "one_term_full": lambda p, q, dA: _kl(p, (p + q) / 2, dA),
    "no_half": lambda p, q, dA: 2 * _js(p, q, dA),
    "kl": lambda p, q, dA: _kl(p, q, dA),
    "symmetric_kl": lambda p, q, dA: 0.5 * (_kl(p, q, dA) + _kl(q, p, dA)),
    "sqrt": lambda p, q, dA: math.sqrt(max(_js(p, q, dA), 0.0)),
    "log2": lambda p, q, dA: _js(p, q, dA) / LN2,
    "log10": lambda p, q, dA: _js(p, q, dA) / LN10,
    "no_area": lambda p, q, dA: _js(p, q, dA) / dA,
    "mean": lambda p, q, dA: _js(p, q, dA) / (dA * p.size),
    "negated": lambda p, q, dA: -_js(p, q, dA),
}
AREA = ("Missing cell size: Σ p log(p/q) is a Riemann sum of the integral ∫ p log(p/q) dx, so multiply the "
        "sum by dA, the size of one cell (its width in 1D, its area in 2D).")
MEAN = ("You averaged over the cells (np.mean): an integral is the *sum* over the cells times the cell size "
        "dA, not their mean.")
BASE2 = ("Log base: you used log2 (bits). The course measures in nats, the natural log np.log, so that "
         "JSD <= log 2 and V(D*, G) = -log 4 + 2 JSD hold as written.")
BASE10 = "Log base: you used log10. The course measures in nats: the natural log, np.log."
ZEROS = ("0 log 0: where p = 0 the term p log(p/q) counts as 0 (its limit), but np.log(0) = -inf and "
         "0 * (-inf) = nan. Keep only the cells where p > 0 (np.where(p > 0, ..., 0) or a mask), or use "
         "scipy.special.rel_entr / xlogy.")
KL_HINTS = {
    "swapped": ("Swapped arguments: KL(p || q) = Σ p log(p/q) dA is weighted by p, the *first* argument; you "
                "computed KL(q || p). KL is not symmetric: the density that weights the sum decides where it looks."),
    "log2": BASE2, "log10": BASE10, "no_area": AREA, "mean": MEAN,
    "negated": ("Wrong sign: KL(p || q) = Σ p log(p/q) dA, the log of p over q; you have log(q/p). A KL "
                "divergence is never negative."),
    "no_weight": ("Missing weight: each cell's log(p/q) must be weighted by p there: Σ p log(p/q) dA, an "
                  "average of the log ratio over p."),
    "masked": ("You skipped the cells where q = 0 but p > 0. There p log(p/q) is +infinite: q puts no mass "
               "where p has some (G misses data), and KL(p || q) = inf. Return math.inf (or np.inf) then."),
}
JS_HINTS = {
    "m_sum": ("The mixture is m = (p + q) / 2, the average of the two densities. You used p + q, which "
              "integrates to 2 and is not a density: your value is JSD - log 2."),
    "one_term": "Missing term: JSD = ½ KL(p || m) + ½ KL(q || m); you have only ½ KL(p || m).",
    "one_term_full": "Missing term: JSD = ½ KL(p || m) + ½ KL(q || m); you have only KL(p || m).",
    "no_half": "Off by a factor 2: JSD = ½ KL(p || m) + ½ KL(q || m), the *average* of the two KLs to m.",
    "kl": ("That is KL(p || q). The Jensen-Shannon divergence compares each density with their mixture "
           "m = (p + q) / 2: ½ KL(p || m) + ½ KL(q || m)."),
    "symmetric_kl": ("That is ½ (KL(p || q) + KL(q || p)), a symmetrised KL. The JSD compares each density "
                     "with their mixture m = (p + q) / 2 instead, which keeps it finite: "
                     "½ KL(p || m) + ½ KL(q || m)."),
    "sqrt": ("That is the square root of the JSD, the Jensen-Shannon *distance*. Return the divergence "
             "itself, ½ KL(p || m) + ½ KL(q || m), without the square root."),
    "log2": BASE2, "log10": BASE10, "no_area": AREA, "mean": MEAN,
    "negated": "Wrong sign: each KL is Σ p log(p/m) dA (the log of p over m), and the JSD is never negative.",
}


# --------------------------------------------------------------------------- calling the student's code
def _translate(err: Exception) -> str:
    """A student's exception in their words."""
    text = str(err)
    if isinstance(err, TypeError) and ("Tensor" in text or "tensor" in text):
        return ("your function raised TypeError: " + text + ". The densities are NumPy arrays: use np.log and "
                "np.sum (or torch.as_tensor(p) first).")
    scalar_only = ("size-1 arrays", "length-1 arrays", "0-dimensional arrays")
    if isinstance(err, TypeError) and any(k in text for k in scalar_only):
        return ("your function raised TypeError: " + text + ". math.log takes one number: use np.log, which "
                "works on whole arrays.")
    return raised(err)


def _as_number(out):
    """The student's result as a float, or a hint (str) saying why it is not one number."""
    if out is None:
        return "your function returned None: return the divergence, one number."
    try:
        arr = np.asarray(out.detach().cpu() if hasattr(out, "detach") else out, dtype=float)
    except (TypeError, ValueError):
        return f"return one number (a float), got {type(out).__name__}."
    if arr.size != 1:
        return (f"return one number, the sum over all cells (times dA); got an array of shape {arr.shape}: "
                "sum the per-cell terms.")
    return float(arr.reshape(()))


def _call(fn, p, q, dA):
    """Run the student's function on copies; returns (number, None) or (None, hint)."""
    pc, qc = p.copy(), q.copy()
    try:
        with np.errstate(all="ignore"):
            out = fn(pc, qc, dA)
    except Exception as err:  # a student's bug: report it, never raise
        return None, _translate(err)
    value = _as_number(out)
    if isinstance(value, str):
        return None, value
    if not (np.array_equal(pc, p) and np.array_equal(qc, q)):
        return None, ("your function changed its input arrays in place (e.g. p[p == 0] = ...): work on a copy "
                      "(p = p.copy(), or np.where), so the caller's densities stay as they were.")
    return value, None


def _close(a: float, b: float) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-9)


def _named(value, p, q, dA, candidates, hints):
    """The hint of the classic mistake ``value`` matches, or None."""
    for mistake, formula in candidates.items():
        with np.errstate(all="ignore"):
            want = formula(p, q, dA)
        if math.isfinite(want) and _close(value, want):
            return hints[mistake]
    return None


# --------------------------------------------------------------------------- the checkers
def _kl_infinite_ok(value, p, q, dA) -> bool:
    """KL where q = 0 < p somewhere: inf, or (an epsilon in the log) at least the value with q's zeros
    replaced by 1e-6 (a tiny epsilon gives a larger number)."""
    return value == math.inf or value >= _kl(p, np.maximum(q, 1e-6), dA)


def _case_problem(value, want, p, q, dA, candidates, hints, what) -> str | None:
    """Why ``value`` is wrong on one case (None when it is right)."""
    if math.isnan(value):
        return ZEROS if (p == 0).any() or (q == 0).any() else f"your {what} is nan on densities without zeros."
    if _close(value, want):
        return None
    named = _named(value, p, q, dA, candidates, hints)
    if named:
        return named
    if math.isfinite(want) and math.isfinite(value) and math.isclose(value, want, rel_tol=1e-2):
        return (f"close but not equal ({value:.6g}, expected {want:.6g}): an epsilon or a clipping that is too "
                "large? Mask the zeros instead, or use an epsilon of 1e-12 or less.")
    return f"on a hidden pair of densities your {what} is {value:.6g}, expected {want:.6g}."


def _check(name, fn, target, candidates, hints, what, infinite_ok=None) -> bool:
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(my_fn)), got {type(fn).__name__}.")
    cases = density_cases()
    for label, p, q, dA in cases:
        value, problem = _call(fn, p, q, dA)
        if problem:
            return _fail(name, problem)
        want = target(p, q, dA)
        if want == math.inf and infinite_ok is not None and infinite_ok(value, p, q, dA):
            continue
        problem = _case_problem(value, want, p, q, dA, candidates, hints, what)
        if problem:
            return _fail(name, f"{problem} (case: {label}.)")
    return None


def check_kl(fn) -> bool:
    """Check ``fn(p, q, dA) -> KL(p || q) = Σ p log(p/q) dA`` (nats; 0 log 0 = 0; inf where q = 0 < p)
    on hidden densities in 1D and 2D, against ``losses.kl_divergence``.

    Prints a hint naming the mistake (swapped arguments, log base, missing cell size, mean instead
    of sum, sign, missing weight, NaN from 0 log 0, cells skipped where q = 0 < p) and returns
    ``False``, or prints one line and returns ``True``. Where q = 0 < p the answer is inf; a
    finite value from a tiny epsilon (1e-6 or less) is accepted too.
    """
    result = _check("check_kl", fn, _kl, KL_CANDIDATES, KL_HINTS, "KL", _kl_infinite_ok)
    if result is not None:
        return result
    return _ok("check_kl", f"{len(density_cases())} hidden pairs of densities pass (1D and 2D grids, empty "
                           "cells, and a mode q misses, where KL = inf).")


def check_js(fn) -> bool:
    """Check ``fn(p, q, dA) -> JSD(p, q) = ½ KL(p || m) + ½ KL(q || m)``, m = (p + q) / 2 (nats), on
    hidden densities in 1D and 2D, against ``losses.jensen_shannon``.

    Prints a hint naming the mistake (mixture p + q instead of its half, a missing term or ½, KL
    or a symmetrised KL instead, the square root, log base, missing cell size, NaN from 0 log 0)
    and returns ``False``, or prints one line and returns ``True``.
    """
    result = _check("check_js", fn, _js, JS_CANDIDATES, JS_HINTS, "JSD")
    if result is not None:
        return result
    return _ok("check_js", f"{len(density_cases())} hidden pairs of densities pass (1D and 2D grids, empty "
                           "cells, a mode one density misses: the JSD stays finite, at most log 2).")


# --------------------------------------------------------------------------- predict, then check: a dropped mode
LIM = 3.0  # the box [-LIM, LIM]² of notebook 07's estimates
DIVERGENCES = {"kl": "KL(p_data||p_g)", "reverse_kl": "KL(p_g||p_data)", "js": "JSD"}
ALIASES = {  # written without spaces, "_", "-", "‖" as "||", lower case
    "kl": ("kl", "forward", "forwardkl", "kl(p_data||p_g)", "kl(pdata||pg)", "kl(p||q)", "kl(data||g)",
           "kl(p_data||g)", "kl(data||model)", "kl(p||p_g)"),
    "reverse_kl": ("reversekl", "reverse", "kl(p_g||p_data)", "kl(pg||pdata)", "kl(q||p)", "kl(g||data)",
                   "kl(g||p_data)", "kl(model||data)", "kl(p_g||p)"),
    "js": ("js", "jsd", "jensenshannon", "jensenshannondivergence", "jsd(p_data,p_g)", "js(p_data,p_g)"),
}
PREDICTION_HINTS = {
    "swapped": ("You swapped the two KLs. KL(p_data||p_g) averages log(p_data/p_g) over the *data*: where the "
                "data has a mode and G puts almost nothing, that log ratio is enormous. KL(p_g||p_data) averages "
                "over *G's samples*: a mode G never visits is never looked at; it only charges the extra mass G "
                "puts on the modes it keeps, log(8/5) for 5 of 8."),
    "js_notices": ("The JSD does rate the dropped modes as the worse fault, but only by a factor {js:.2f}: it "
                   "compares each density with their average m, and p <= 2m makes every log(p/m) at most log 2. "
                   "KL(p_data||p_g), averaged over the data, has no such bound: {kl:.0f} times."),
    "js_hardly": ("The JSD rates the dropped modes as the *worse* fault ({js:.2f} times the other): at the "
                  "dropped modes p_g = 0, m = p_data / 2 and the log ratio log(p_data/m) is log 2. KL(p_g||p_data) is the one "
                  "that hardly notices: it looks only where G puts samples ({rev:.2f} times the other)."),
    "kl_hardly": ("KL(p_data||p_g) is the one that notices the dropped modes most: it averages log(p_data/p_g) "
                  "over the data, and 3/8 of the data sits where G puts almost nothing."),
    "rev_notices": ("KL(p_g||p_data) averages over *G's samples*, and the 5-mode G puts all its samples on data: "
                    "it only charges the extra mass on the modes G keeps, log(8/5) = 0.47, while a G that throws "
                    "samples off the data costs it far more."),
}


def prediction_cases():
    """(real, {name: fake}) of notebook 07's section 3: 2,500 real samples of the ring (seed 1), a G
    that draws 5 of the 8 modes perfectly, and a G that draws all 8 but puts 20% of its samples
    uniformly over the box (the notebook's seeds; private generators)."""
    from .. import data
    ring = data.ring()
    real = data.ring(seed=1)(2500)
    five = data.GaussianMixture(ring.modes[:5], ring.std, seed=2)(2500)
    off = torch.cat([data.ring(seed=2)(2000),
                     torch.rand(500, 2, generator=torch.Generator().manual_seed(3)) * 2 * LIM - LIM])
    return real, {"drops 3 of 8 modes": five, "20% of samples off the data": off}


def _choice(name):
    """The divergence a student's name means ("kl", "reverse_kl", "js"), or None."""
    if not isinstance(name, str):
        return None
    key = name.lower().replace("‖", "||").replace(" ", "").replace("-", "").replace("𝑝", "p")
    for canonical, names in ALIASES.items():
        if key in names or key.replace("_", "") in (n.replace("_", "") for n in names):
            return canonical
    return None


def _prediction_of(out):
    """(notices, hardly) as canonical names, or a hint (str)."""
    if isinstance(out, dict):
        if set(out) != {"notices", "hardly"}:
            return f"return a dict with the keys 'notices' and 'hardly', got the keys {sorted(map(str, out))}."
        out = (out["notices"], out["hardly"])
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return ("return your prediction as {'notices': ..., 'hardly': ...} (or a pair), each one of "
                "'kl', 'reverse_kl', 'js'" + f"; got {out!r}.")
    picks = tuple(_choice(x) for x in out)
    for given, pick in zip(out, picks):
        if pick is None:
            return f"{given!r} is not one of the divergences: name each 'kl', 'reverse_kl' or 'js'."
    if picks[0] == picks[1]:
        return (f"you named {DIVERGENCES[picks[0]]} for both: one divergence cannot both notice the dropped "
                "modes most and hardly notice them.")
    return picks


def _measured() -> dict:
    """The three divergences of both imperfect Gs (``metrics.divergences_on_grid``), and their ratios."""
    from .. import metrics
    real, fakes = prediction_cases()
    est = {name: metrics.divergences_on_grid(real, fake, LIM) for name, fake in fakes.items()}
    dropped, off = est.values()
    return {k: (dropped[k], off[k], dropped[k] / off[k]) for k in DIVERGENCES}


def _print_measured(measured: dict) -> None:
    print(f"{'':36s}" + "".join(f"{DIVERGENCES[k]:>17s}" for k in DIVERGENCES))
    for row, label in enumerate(("G drops 3 of 8 modes", "G puts 20% of samples off the data",
                                 "ratio: dropped / off the data")):
        print(f"{label:36s}" + "".join(f"{measured[k][row]:17.3f}" for k in DIVERGENCES))


def _prediction_hint(picks, ratios) -> str:
    notices, hardly = picks
    values = dict(kl=ratios["kl"], js=ratios["js"], rev=ratios["reverse_kl"])
    if picks == ("reverse_kl", "kl"):
        return PREDICTION_HINTS["swapped"]
    if notices == "js":
        return PREDICTION_HINTS["js_notices"].format(**values)
    if hardly == "js":
        return PREDICTION_HINTS["js_hardly"].format(**values)
    return PREDICTION_HINTS["kl_hardly" if hardly == "kl" else "rev_notices"]


def check_divergence_prediction(fn) -> bool:
    """Check ``fn() -> {"notices": ..., "hardly": ...}`` (or a pair), each one of ``"kl"``
    (KL(p_data || p_g)), ``"reverse_kl"`` (KL(p_g || p_data)), ``"js"``: of two imperfect Gs on the
    ring, one dropping 3 of the 8 modes and one putting 20% of its samples off the data, which
    divergence rates the dropped modes as by far the worse fault (the largest ratio dropped / off),
    and which as the lesser (the smallest). After a well-formed prediction, measures both Gs
    (``prediction_cases``, ``metrics.divergences_on_grid``), prints the three divergences and their
    ratios, and compares.

    Prints a hint naming the mistake (the two KLs swapped, the JSD for either, one divergence for
    both, a name that is not a divergence) and returns ``False``, or prints one line and returns
    ``True``. The global random state is not touched (private generators).
    """
    name = "check_divergence_prediction"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(prediction)), got {type(fn).__name__}.")
    try:
        picks = _prediction_of(fn())
    except Exception as err:  # a student's bug: report it, never raise
        return _fail(name, raised(err))
    if isinstance(picks, str):
        return _fail(name, picks)
    measured = _measured()
    _print_measured(measured)
    ratios = {k: v[2] for k, v in measured.items()}
    if picks != (max(ratios, key=ratios.get), min(ratios, key=ratios.get)):
        return _fail(name, _prediction_hint(picks, ratios))
    return _ok(name, f"KL(p_data||p_g) rates the dropped modes {ratios['kl']:.0f} times as bad as the samples off "
                     f"the data, KL(p_g||p_data) {ratios['reverse_kl']:.2f} times. The first averages over the data, "
                     "3/8 of which lies where G puts almost nothing; the second over G's samples, all on the data: "
                     "it charges only the extra mass on the 5 kept modes, log(8/5) = 0.47.")


# --------------------------------------------------------------------------- check of understanding (not graded)
QUESTIONS = [
    Question("A generator draws 4 of the ring's 8 modes perfectly, a quarter of its samples each, and nothing "
             "anywhere else. What is KL(p_g || p_data), in nats? (2 decimals)",
             answer=math.log(2), tolerance=0.01,
             why="KL(p_g || p_data) averages log(p_g / p_data) over G's samples. Each lies on a kept mode, where "
                 "p_g is 1/4 of the mixture and p_data 1/8: log((1/4)/(1/8)) = log 2 ≈ 0.69. The 4 missing modes "
                 "add nothing: G puts no sample there."),
    Question("A generator's samples all lie far from every mode of the data (the supports do not overlap). "
             "What is the JSD between p_data and p_g?",
             answer=1, choices=("0: nothing overlaps, so nothing is compared", "log 2 ≈ 0.69, its largest value",
                                "infinite, like KL(p_data || p_g)", "it depends on how far away the samples lie"),
             why="Where only one density is positive, the mixture m is half of it, and each KL to m is log 2: "
                 "JSD = ½ log 2 + ½ log 2 = log 2, however far apart the supports are. So against the optimal D "
                 "the game's value, -log 4 + 2 JSD, is the same wherever G's samples lie, as long as they miss the data."),
]

r"""Notebook 02's exercises: D's and G's losses as binary cross-entropy, from logits.

- ``check_d_loss(fn)``: ``fn(real_logits, fake_logits)`` must return D's loss
  BCE(D(x), 1) + BCE(D(G(z)), 0) (the batch mean of each term, summed), from *logits*; the halved
  convention of d2l and deeplearning.ai, (BCE(D(x), 1) + BCE(D(G(z)), 0)) / 2, is accepted too,
  with a note on the convention.
- ``check_g_loss(fn)``: ``fn(fake_logits)`` must return G's non-saturating loss
  BCE(D(G(z)), 1) = -mean log D(G(z)) (or, with ``kind="saturating"``, mean log(1 - D(G(z)))).

Each runs the student's function on hidden cases, compares it with the right answer, and, when
it differs, with the classic mistakes, to say which one was made. A function that is, or calls, the
package's own ``discriminator_loss`` or ``generator_loss`` is told to write it itself (``package_call``).

- ``check_g_gradients(fn)``: a prediction, committed before the notebook computes it. ``fn()``
  returns the gradients (saturating, non-saturating) of G's two losses with respect to D's logit
  on a fake that D confidently rejects, D(G(z)) = ``REJECTED`` (0.01); the checker computes them
  with autograd on ``gan_edu.losses.generator_loss`` and compares.

``QUESTIONS``: notebook 02's check of understanding (``understanding("02")``, not graded).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

import contextlib
import io
import math
import sys
import warnings

import numpy as np

from ..checks import is_number
from .common import close as _close, explained, fail as _fail, ok as _ok, raised
from .quiz import Question

__all__ = ["check_d_loss", "check_g_loss", "check_g_gradients", "explain_error", "package_call", "QUESTIONS"]


# --------------------------------------------------------------------------- PyTorch's errors, in a student's words
TORCH_ERRORS = (  # (a piece of PyTorch's message, what the student's code usually did)
    ("must be the same as input size", "your labels do not have the logits' shape (torch.ones(n) for logits of "
     "shape (n, 1), say): make them with torch.ones_like(logits) / torch.zeros_like(logits)."),
    ("different to the input size", "your labels do not have the input's shape (torch.ones(n) for an input of "
     "shape (n, 1), say): make them with torch.ones_like(...) / torch.zeros_like(...)."),
    ("object has no attribute 'size'", "the labels must be a tensor shaped like the logits "
     "(torch.ones_like(logits)), not a number."),
    ("desired output type Long", "your labels are integers (dtype long): BCE needs float labels, "
     "e.g. torch.ones_like(logits)."),
    ("Found dtype Long", "your labels are integers (dtype long): BCE needs float labels, e.g. torch.ones_like(p)."),
    ("Found dtype Double but expected Float", "you mixed float64 and float32 tensors (labels made from NumPy or "
     "with dtype=torch.float64?): make the labels with torch.ones_like(...) so that they match."),
    ("must match the size of tensor b", "you combined two tensors of different sizes elementwise (the real and the "
     "fake batch need not have the same size): take each batch's mean first, then combine the means."),
    ("shapes cannot be multiplied", "@ (or torch.mm) is a matrix product: for one value per sample use "
     "elementwise operations (*, +) and then .mean()."),
    ("Can't call numpy() on Tensor that requires grad", "you used a NumPy function (np.log, np.mean, ...) on a "
     "torch tensor: use torch's (torch.log, .mean()), which keep autograd's graph."),
    ("only one element tensors can be converted to Python scalars", "math.log (or float()) takes one number: use "
     "torch.log on a tensor."),
    ("leaf Variable that requires grad is being used in an in-place operation", "you changed an input in place "
     "(clamp_, +=, ...): compute a new tensor instead (torch.clamp(x, ...), x = x + ...)."),
    ("must be Tensor, not numpy.ndarray", "you called a torch function on a NumPy array: use NumPy's "
     "(np.log, ...) on arrays, or convert with torch.as_tensor first."),
)


def explain_error(err: Exception) -> str:
    """What to tell a student whose function raised ``err``: "not done yet" for the stub, else the error
    followed by what it usually means in a student's code (a shape, dtype or autograd slip)."""
    return explained(err, TORCH_ERRORS)


# --------------------------------------------------------------------------- "write it yourself"
def _recorder(original, calls: list):
    """``original`` wrapped so that every call is recorded in ``calls`` (its result unchanged)."""
    def recording(*args, **kwargs):
        calls.append(original.__name__)
        return original(*args, **kwargs)
    return recording


def _bindings(fn, originals) -> list:
    """(namespace, name, function) for every name bound to one of ``originals``: in gan_edu's loaded modules
    (``losses.f``, ``ge.losses.f``) and in the student's globals (``from gan_edu.losses import f``)."""
    spaces = [vars(m) for key, m in list(sys.modules.items()) if key.split(".")[0] == "gan_edu" and m is not None]
    spaces.append(getattr(fn, "__globals__", {}))
    return [(space, name, value) for space in spaces for name, value in list(space.items())
            if any(value is f for f in originals)]


def _calls_during(fn, args, originals) -> list:
    """Run ``fn(*args)`` once (output, warnings and errors swallowed) with each of ``originals`` replaced by
    a recorder, restored in a finally; returns the names of those it called."""
    calls, bound = [], _bindings(fn, originals)
    try:
        for space, name, original in bound:
            space[name] = _recorder(original, calls)
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings(record=True), \
                contextlib.redirect_stdout(io.StringIO()):
            fn(*[a.clone() if isinstance(a, torch.Tensor) else np.copy(a) for a in args])
    except Exception:  # a student's bug (or the stub): the full check reports it
        pass
    finally:
        for space, name, original in bound:
            space[name] = original
    return list(dict.fromkeys(calls))


def package_call(fn, args, package_names, how: str) -> str | None:
    """"Write it yourself" (followed by ``how``) if the student's ``fn`` is, or calls, one of the functions
    ``package_names`` of gan_edu.losses (the exercise's answer in the package); else None."""
    from .. import losses
    originals = [getattr(losses, name) for name in package_names]
    used = [f.__name__ for f in originals if fn is f or getattr(fn, "func", None) is f]  # itself, or a partial
    verb = "is" if used else "calls"
    used = used or _calls_during(fn, args, originals)
    if not used:
        return None
    what = " and ".join(f"gan_edu.losses.{name}" for name in used)
    return f"write it yourself: your function {verb} {what}, the package's own answer. {how}"


# --------------------------------------------------------------------------- hints
LOGITS_AS_PROBS = ("Probabilities vs logits: the inputs are D's *logits* (any real number), not "
                   "probabilities. You treated them as probabilities (binary_cross_entropy or log on "
                   "logits). Use F.binary_cross_entropy_with_logits(logits, labels): it applies the "
                   "sigmoid inside, stably.")
SIGMOID_TWICE = ("Probabilities vs logits: you applied torch.sigmoid and then a *_with_logits loss, "
                 "which applies the sigmoid again. Pass the logits straight to "
                 "F.binary_cross_entropy_with_logits.")
UNSTABLE = ("Right formula, but not numerically stable: for a confident D, sigmoid "
            "rounds to exactly 1 in float32 from a logit of about 17 and to 0 below about -88, and log gives -inf "
            "(or is clamped). Work on "
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
    "correct": ("Your loss is the summed form on some hidden cases and the halved one on others: pick one, "
                "BCE(D(x), 1) + BCE(D(G(z)), 0) (or that divided by 2)."),
    "half": ("Your loss is the halved form on some hidden cases and the summed one on others: pick one, "
             "BCE(D(x), 1) + BCE(D(G(z)), 0) (or that divided by 2)."),
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


def _loss_cases(n_inputs: int):
    """Hidden cases (float32 logits of shape (n, 1)): ordinary, confident, in (0, 1), extreme."""
    g = torch.Generator().manual_seed(20140610)  # the GAN paper's arXiv date
    cases = []
    for n, scale, shift in ((64, 2.0, 0.0), (9, 1.0, 4.0)):
        cases.append([scale * torch.randn(n, 1, generator=g) + shift * (1 if i == 0 else -1)
                      for i in range(n_inputs)])
    cases.append([0.05 + 0.9 * torch.rand(16, 1, generator=g) for _ in range(n_inputs)])
    # a confident D: logits where sigmoid rounds to exactly 1 (l >= ~17) or 0 (l <= ~-88) in float32
    extreme = [torch.tensor([[30.0], [-100.0], [25.0], [-2.0]]) for _ in range(n_inputs)]
    if n_inputs == 2:  # D: fakes it believes are real
        extreme[1] = torch.tensor([[30.0], [-30.0], [28.0], [1.0]])
    cases.append(extreme)
    return cases


def _call_loss(fn, inputs):
    """Check the student's loss runs: returns (its output, None), or (None, a hint) if it raised."""
    try:
        with warnings.catch_warnings(record=True):  # nothing on stderr (nbgrader scores such a cell 0)
            return fn(*inputs), None
    except Exception as err:  # a student's bug: report it, never raise
        if "between 0 and 1" in str(err):
            return None, LOGITS_AS_PROBS
        return None, explain_error(err)


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


def _check_loss(name: str, fn, candidates: dict, target: str, hints: dict, n_inputs: int, note: str = "") -> bool:
    """Check a student's loss on every hidden case; prints the first problem found, or one line
    (followed by ``note``)."""
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(my_loss)), got {type(fn).__name__}.")
    cases = _loss_cases(n_inputs)
    for i, case in enumerate(cases):
        problem = _loss_case_problem(fn, case, candidates, target, hints, extreme=i == len(cases) - 1)
        if problem:
            return _fail(name, problem)
    kinds = "ordinary, confident, logits in (0, 1) that look like probabilities, and extreme logits"
    return _ok(name, f"{len(cases)} hidden cases pass ({kinds}).{note}")


HALF_NOTE = (" Note: this is the halved convention of d2l and deeplearning.ai, (BCE(D(x), 1) + BCE(D(G(z)), 0)) / 2 "
             "= -V/2 (one BCE over the real and fake batches put together is the same when they have the same "
             "size). Same minimiser, half the gradient (SGD's steps halve, Adam's do not change); this course "
             "uses the sum, -V.")


def _d_convention(fn) -> str:
    """Which accepted form of D's loss ``fn`` computes on the first hidden case: "half" when its value
    is the halved sum, else "correct" (the sum; every other answer is then compared with that)."""
    case = _loss_cases(2)[0]
    try:
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings(record=True):  # RNG alone, no stderr
            value = torch.as_tensor(fn(*[c.clone() for c in case])).detach().double().reshape(())
    except Exception:  # a student's bug: the full check reports it
        return "correct"
    want64 = [c.double() for c in case]
    half = _close(value, D_CANDIDATES["half"](*want64)) and not _close(value, D_CANDIDATES["correct"](*want64))
    return "half" if half else "correct"


BCE_LOSS_FUNCTIONS = ("discriminator_loss", "generator_loss")  # either one builds both exercises' answers
YOURSELF = "Compute the loss from the logits with PyTorch's own functions (torch, torch.nn.functional)."


def check_d_loss(fn) -> bool:
    """Check ``fn(real_logits, fake_logits) -> loss``: BCE(D(x), 1) + BCE(D(G(z)), 0) on logits.

    The halved convention (d2l, deeplearning.ai), (BCE(D(x), 1) + BCE(D(G(z)), 0)) / 2, is right
    too: the line then adds a note on the convention. Prints a hint naming the mistake (labels,
    missing term, mean vs sum, sign, probabilities vs logits, numerical stability, the labels'
    shape or dtype; a call of the package's own loss functions) and returns ``False``, or prints one line
    and returns ``True``.
    """
    problem = callable(fn) and package_call(fn, _loss_cases(2)[0], BCE_LOSS_FUNCTIONS, YOURSELF)
    if problem:
        return _fail("check_d_loss", problem)
    target = _d_convention(fn) if callable(fn) else "correct"
    form = "BCE(D(x), 1) + BCE(D(G(z)), 0), each a batch mean, from logits"
    hints = dict(D_HINTS, _target=form if target == "correct" else f"({form}) / 2")
    return _check_loss("check_d_loss", fn, D_CANDIDATES, target, hints, 2, HALF_NOTE if target == "half" else "")


def check_g_loss(fn, kind: str = "non_saturating") -> bool:
    """Check ``fn(fake_logits) -> loss``: G's non-saturating loss BCE(D(G(z)), 1) by default,
    or with ``kind="saturating"`` the minimax loss mean log(1 - D(G(z))).

    Prints a hint naming the mistake (fake label, saturating vs non-saturating, sign, mean vs
    sum, probabilities vs logits, a call of the package's own loss functions) and returns ``False``,
    or prints one line and returns ``True``.
    """
    if kind not in G_TARGETS:
        raise ValueError(f"kind must be one of {tuple(G_TARGETS)}, got {kind!r}")
    problem = callable(fn) and package_call(fn, _loss_cases(1)[0], BCE_LOSS_FUNCTIONS, YOURSELF)
    if problem:
        return _fail("check_g_loss", problem)
    hints = dict(G_HINTS, _target=G_TARGETS[kind])
    return _check_loss("check_g_loss", fn, G_CANDIDATES, kind, hints, 1)



# --------------------------------------------------------------------------- a prediction: G's two gradients
REJECTED = 0.01     # D(G(z)) on a fake that D confidently rejects
GRAD_RTOL = 0.02    # a prediction within 2% of each gradient is right (-1 for -0.99 included)
KIND_ORDER = ("saturating", "non_saturating")
GRADIENT_MISTAKES = {  # name: (saturating, non-saturating) at D(G(z)) = d
    "swapped": lambda d: (-(1 - d), -d),
    "positive": lambda d: (d, 1 - d),
    "wrt_d": lambda d: (-1 / (1 - d), -1 / d),
    "values": lambda d: (math.log1p(-d), -math.log(d)),
}
GRADIENT_HINTS = {
    "swapped": ("Swapped: the *saturating* loss log(1 - σ(l)) is the one whose slope is small here. d/dl "
                "log(1 - σ(l)) = -σ(l) = -D(G(z)); d/dl [-log σ(l)] = -(1 - σ(l))."),
    "positive": ("Wrong sign: both losses *decrease* as D's logit l on the fake grows (G minimises them by "
                 "fooling D), so both slopes are negative: -D(G(z)) and -(1 - D(G(z)))."),
    "wrt_d": ("Those are the slopes with respect to D(G(z)), the probability. The question asks for the "
              "slope with respect to the logit l, D = σ(l): multiply by σ'(l) = D(1 - D)."),
    "values": "Those are the losses' *values* at D(G(z)) = 0.01, not their slopes with respect to D's logit.",
    "equal": ("The same fixed point does not mean the same gradient: the two losses are different functions "
              "of D's logit l. Differentiate log(1 - σ(l)) and -log σ(l), with σ'(l) = σ(l)(1 - σ(l))."),
    "saturating": ("Your slope of the saturating loss is off: d/dl log(1 - σ(l)) = -σ'(l) / (1 - σ(l)) "
                   "= -σ(l) = -D(G(z))."),
    "non_saturating": ("Your slope of the non-saturating loss is off: d/dl [-log σ(l)] = -σ'(l) / σ(l) "
                       "= -(1 - σ(l)) = -(1 - D(G(z)))."),
}


def one_number(value):
    """A one-element tensor or array as its Python number (a student's prediction); anything else as it is."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 or isinstance(value, (np.ndarray, np.generic)) \
            and value.size == 1:
        return value.item()
    return value


def _predicted_pair(name: str, fn):
    """Call the prediction ``fn()``: returns ((saturating, non-saturating) floats, None) or (None, a hint)."""
    if not callable(fn):
        return None, f"pass your function itself (e.g. {name}(predict_gradients)), got {type(fn).__name__}."
    try:
        with warnings.catch_warnings(record=True):  # nothing on stderr (nbgrader scores such a cell 0)
            out = fn()
    except Exception as err:  # a student's bug or the stub: report it, never raise
        return None, raised(err)
    if isinstance(out, dict):
        out = tuple(out.get(kind) for kind in KIND_ORDER)
    elif isinstance(out, (torch.Tensor, np.ndarray)):
        out = tuple(out.reshape(-1).tolist())
    pair = tuple(map(one_number, out)) if isinstance(out, (tuple, list)) else ()
    if len(pair) != 2 or not all(is_number(v) for v in pair):
        return None, ("return two numbers, the slope of the saturating loss then that of the non-saturating one: "
                      f"return (-0.5, -0.5), say. Got {out!r}.")
    return tuple(float(v) for v in pair), None


def _near(a: float, b: float) -> bool:
    return math.isfinite(a) and abs(a - b) <= GRAD_RTOL * abs(b)


def _autograd_slopes(d: float) -> tuple:
    """d loss / d logit of G's two losses (gan_edu.losses.generator_loss) on one fake with D(G(z)) = d."""
    from ..losses import generator_loss
    logit = torch.logit(torch.tensor([d], dtype=torch.float64)).requires_grad_()
    return tuple(torch.autograd.grad(generator_loss(logit, kind), logit)[0].item() for kind in KIND_ORDER)


def _gradient_problem(guess: tuple, want: tuple, d: float) -> str | None:
    """None if ``guess`` is ``want`` (within GRAD_RTOL), else the hint naming the mistake."""
    right = [_near(g, w) for g, w in zip(guess, want)]
    if all(right):
        return None
    for mistake, formula in GRADIENT_MISTAKES.items():
        if all(_near(g, w) for g, w in zip(guess, formula(d))):
            return GRADIENT_HINTS[mistake]
    if guess[0] == guess[1]:
        return GRADIENT_HINTS["equal"]
    return GRADIENT_HINTS[KIND_ORDER[right.index(False)]]


def check_g_gradients(fn) -> bool:
    """Check the prediction ``fn() -> (saturating, non_saturating)``: the slopes of G's two losses with
    respect to D's logit on a fake with D(G(z)) = 0.01, within 2%; the checker computes them with
    autograd. Names the mistake: swapped, wrong sign, slopes with respect to the
    probability, the losses' values, equal slopes, one of the two wrong, not two numbers."""
    name = "check_g_gradients"
    guess, problem = _predicted_pair(name, fn)
    if problem:
        return _fail(name, problem)
    want = _autograd_slopes(REJECTED)
    shown = (f"Autograd on generator_loss at D(G(z)) = {REJECTED}: saturating {want[0]:+.4f}, "
             f"non-saturating {want[1]:+.4f}.")
    problem = _gradient_problem(guess, want, REJECTED)
    if problem:
        return _fail(name, f"{problem} {shown}")
    return _ok(name, f"{shown} Where D rejects the fakes, the saturating loss gives G a "
                     f"{want[1] / want[0]:.0f} times weaker push.")


# --------------------------------------------------------------------------- check of understanding
QUESTIONS = [
    Question("At the end of the game p_g = p_data and D = 1/2 on every sample. What is D's loss, "
             "discriminator_loss (this course's sum of the two BCEs), to 2 decimals?", answer=math.log(4),
             tolerance=0.01,
             why=("D's loss is -V = BCE(1/2, 1) + BCE(1/2, 0) = log 2 + log 2 = log 4 ≈ 1.386. (The halved "
                  "convention of d2l would give log 2 ≈ 0.693.)")),
    Question("You halve D's loss (the d2l convention) and train D with Adam at the same learning rate. "
             "D's updates:", answer=0,
             choices=("stay the same (up to Adam's tiny ε)", "are half as large", "are twice as large",
                      "go towards a different optimum"),
             why=("Halving the loss halves every gradient, but Adam divides each gradient by a running estimate "
                  "of its own size, so the factor cancels. With plain SGD the steps would halve; the minimiser "
                  "is the same either way.")),
]

r"""Notebook 03's exercises on whole training runs: the student's steps train a GAN, and a popular
text's procedure is diagnosed and fixed. Each checker trains a small GAN on notebook 03's 1D
Gaussian, N(4, 0.5²), and judges the trained G: its samples' mean and spread against the data's.

- ``check_train(fn)``: ``fn(G, D, data, rounds)`` must train G and D for ``rounds`` rounds of
  Algorithm 1 with the student's own ``d_step`` and ``g_step`` (``data(n)`` draws n real samples,
  G takes noise of width ``G.noise_dim``). The checker gives it fresh nets and ``ROUNDS`` rounds,
  counts the calls of the student's steps (found by name where ``fn`` was defined) and refuses a
  loop that runs the package's steps (``GAN.fit``, ``alternating_round``) instead.
- ``check_diagnosis(fn)``: ``fn()`` returns the letter of the sentence that describes what a
  popular text's round (Step 2 trains G "by fake image with label_fake") did in the notebook's run.
- ``check_fix(fn)``: ``fn(G, D, opt_d, opt_g, real, noise) -> (loss_d, loss_g)``, the popular round
  with its bug fixed. One round on a hidden case, replayed exactly against the classic wrong fixes
  (the fake label kept, the gradient blocked, D's optimizer stepped, the labels swapped, the sign
  flipped, the package's round), then ``ROUNDS`` rounds of training from a hidden start confirm it.

The training is the same in fast mode (``ge.fast_mode()``): ``ROUNDS`` rounds of nets this small
take a few seconds on a CPU, and the verdicts, which nbval compares, stay the same. Private
generators and a forked global RNG make every verdict deterministic.
"""
from __future__ import annotations

import contextlib
import math
import operator
import warnings

import torch

from ..data import Gaussian1D
from ..nets import MLPDiscriminator, MLPGenerator
from .common import fail as _fail, ok as _ok, one_thread
from .steps import (  # the step checkers' hidden cases, replays and hints, shared by notebook 03's exercises
    CASES, _d_case_problem, _early_backward_problem, _explain, _g_case_problem, _g_unchanged_problem,
    _instrumented_setup, _is_package_step, _package_steps, _params, _replay, _run_step, _same,
    _step_count_problem)

__all__ = ["check_train", "check_diagnosis", "check_fix", "ROUNDS"]

ROUNDS = 400                          # rounds of every training run here
MEAN, STD = 4.0, 0.5                  # the data: N(4, 0.5²)
MEAN_TOL, STD_RANGE = 0.3, (0.25, 1.0)  # G is on the data: |mean - 4| <= 0.3 and std in [0.25, 1]
LR_D, LR_G, BETAS, BATCH = 5e-3, 5e-4, (0.5, 0.999), 256   # notebook 03's settings (check_fix's training)
TARGET = (f"mean within {MEAN_TOL} of {MEAN:g} and std between {STD_RANGE[0]} and {STD_RANGE[1]:g}, "
          f"the data being N({MEAN:g}, {STD}²)")


# --------------------------------------------------------------------------- shared: nets, data, judging G
def _nets(seed: int):
    """notebook 03's nets (G: 1 -> 32 -> 32 -> 1, D: 1 -> 64 -> 64 -> 1), built under a forked, seeded RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return (MLPGenerator(noise_dim=1, data_dim=1, hidden=32, depth=2),
                MLPDiscriminator(data_dim=1, hidden=64, depth=2))


class _Data:
    """data(n): n samples of N(4, 0.5²) from a private generator; remembers the n of each call."""

    def __init__(self, seed: int):
        self.sampler, self.calls = Gaussian1D(MEAN, STD, seed=seed), []
        self.mean, self.std = MEAN, STD

    def __call__(self, n) -> torch.Tensor:
        try:
            n = operator.index(n)
        except TypeError:
            raise TypeError(f"data(n) takes the number of samples n, an int; got {n!r}") from None
        self.calls.append(n)
        return self.sampler(n)


def _outcome(G, D, seed: int) -> dict:
    """G's samples on 4,096 fixed draws of z: their mean and std, mean D(G(z)), and mean D(x) on real data."""
    g = torch.Generator().manual_seed(seed)
    z, real = torch.randn(4096, G.noise_dim, generator=g), MEAN + STD * torch.randn(4096, 1, generator=g)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        fake = G(z)
        d_fake, d_real = torch.sigmoid(D(fake)).mean().item(), torch.sigmoid(D(real)).mean().item()
    return {"mean": fake.mean().item(), "std": fake.std().item(), "d_fake": d_fake, "d_real": d_real}


def _on_data(out: dict) -> bool:
    return (math.isfinite(out["mean"]) and abs(out["mean"] - MEAN) <= MEAN_TOL
            and STD_RANGE[0] <= out["std"] <= STD_RANGE[1])


def _described(out: dict, start: dict) -> str:
    return (f"after {ROUNDS} rounds G's samples have mean {out['mean']:.2f} and std {out['std']:.2f} (at the "
            f"start {start['mean']:.2f} and {start['std']:.2f}; the data: {MEAN:g} and {STD}), and D says "
            f"{out['d_fake']:.2f} on them on average, {out['d_real']:.2f} on real data.")




def _quietly(fn, *args):
    """``fn(*args)`` on one thread, with the global RNG forked (and seeded) and warnings caught
    (nothing reaches stderr): (its output, None), or (None, the exception)."""
    try:
        with one_thread(), torch.random.fork_rng(devices=[]), warnings.catch_warnings(record=True):
            torch.manual_seed(0)
            return fn(*args), None
    except Exception as err:  # a student's bug or the stub: report it, never raise
        return None, err


def _moved(net, before) -> bool:
    return not _same(_params(net), before)


# --------------------------------------------------------------------------- build and train
RAN_AWAY = ("G ran away from the data while D became sure its samples are fake: G's step makes D(G(z)) "
            "smaller. G's loss must give the fakes the *real* label, BCE(D(G(z)), 1).")
D_UPSIDE_DOWN = ("D learned to call the real data fake and G's samples real: D's labels are swapped. Real "
                 "data gets the label 1 in D's step, fakes the label 0.")
COLLAPSED = ("G's samples sit at the data's mean with almost no spread: G collapsed onto about one point "
             "(mode collapse, notebook 06).")
NOT_SETTLED = ("G is not on the data yet. With the setup cell's learning rates (Adam, LR_D = 5e-3 for D, "
               "LR_G = 5e-4 for G, BETAS = (0.5, 0.999), batches of 256) G settles within {rounds} rounds; "
               "with equal ones G can overshoot and circle around the data, small ones make it crawl.")


def _called_functions(fn) -> dict:
    """The functions ``fn`` names, by name: the globals it reads and the variables of its closure."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return {}
    found = {name: fn.__globals__.get(name) for name in code.co_names}
    for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
        try:
            found[name] = cell.cell_contents
        except ValueError:  # a closure variable not yet assigned
            pass
    return {name: value for name, value in found.items() if callable(value) and hasattr(value, "__code__")}


def _step_problem(fn):
    """Run the D and G steps ``fn`` calls (functions whose names contain d_step or g_step) through the
    step checkers' hidden cases, silently; returns a hint naming the first mistake, or None."""
    diagnose = {"d_step": lambda f, k: _d_case_problem(f, k)[0], "g_step": _g_case_problem}
    for name, step in _called_functions(fn).items():
        for kind in (kind for kind in diagnose if kind in name):
            for k in range(len(CASES)):
                with one_thread(), warnings.catch_warnings(record=True):
                    problem = diagnose[kind](step, k)
                if problem:
                    return f"The {kind} your loop calls, {name}, is not right: {problem}"
    return None


OWN_STEPS = {"d_step": 2, "g_step": 3}   # the student's steps the loop must call, by name: their exercise


def _own_steps(fn) -> dict:
    """The student's steps ``fn`` calls by name, from its closure or else its module's globals (the
    notebook's namespace): {name: (the function, a setter that rebinds the name)}."""
    code, found = getattr(fn, "__code__", None), {}
    if code is None:
        return found
    cells = dict(zip(code.co_freevars, fn.__closure__ or ()))
    for name in OWN_STEPS:
        if name in cells:
            try:
                found[name] = (cells[name].cell_contents, lambda v, cell=cells[name]: setattr(cell, "cell_contents", v))
            except ValueError:  # a closure variable not yet assigned
                pass
        elif callable(fn.__globals__.get(name)):
            found[name] = (fn.__globals__[name], lambda v, name=name: fn.__globals__.__setitem__(name, v))
    return found


@contextlib.contextmanager
def _counting(found: dict):
    """While the block runs, the names in ``found`` are bound to wrappers that count their calls (the
    dict yielded); the student's functions come back after."""
    counts = dict.fromkeys(found, 0)

    def counted(name, step):
        def count(*args, **kwargs):
            counts[name] += 1
            return step(*args, **kwargs)
        return count

    for name, (step, put) in found.items():
        put(counted(name, step))
    try:
        yield counts
    finally:
        for step, put in found.values():
            put(step)


def _own_steps_problem(found: dict, counts: dict, package: list):
    """Whether the loop ran the student's own steps, every round, and not the package's; a hint or None."""
    if package:
        return (f"your loop ran the package's steps (gan_edu.algorithm.{' and '.join(sorted(set(package)))}, which "
                f"GAN.fit and alternating_round call): write the rounds yourself, with your d_step and g_step.")
    for name, exercise in OWN_STEPS.items():
        if name not in found:
            return (f"the checker runs your loop with your {name} of exercise {exercise}, but found no function "
                    f"named {name} where train is defined: keep the names d_step and g_step.")
        if _is_package_step(found[name][0], name):
            return (f"the {name} your loop calls is gan_edu.algorithm.{name}, the package's: write it yourself "
                    f"(exercise {exercise}) and call yours.")
    if min(counts.values()) < ROUNDS:
        return (f"in {ROUNDS} rounds your loop called your d_step {counts['d_step']} times and your g_step "
                f"{counts['g_step']} times: every round calls both, Step 1 then Step 2.")
    return None


def _loop_problem(data, G, D, G0, D0):
    """What the loop's traces say: real batches drawn, both players trained; a hint or None."""
    if not data.calls:
        return "your loop drew no real data: D's step needs a fresh real batch, data(n), every round."
    if len(data.calls) < ROUNDS:
        return (f"your loop drew {len(data.calls)} real batch(es) for {ROUNDS} rounds: train `rounds` rounds "
                f"(the checker passes {ROUNDS}), each D step on a fresh batch data(n).")
    if not _moved(G, G0):
        return ("G's weights never changed: call your g_step every round, with an optimizer over "
                "G.parameters().")
    if not _moved(D, D0):
        return ("D's weights never changed: call your d_step every round, with an optimizer over "
                "D.parameters().")
    return None


def _outcome_problem(out: dict, start: dict) -> str:
    """Why G is not on the data, from what the trained nets say."""
    if not all(math.isfinite(out[k]) for k in out):
        return "G's samples (or D's outputs) are not finite numbers: the training blew up."
    if out["d_real"] < 0.3 and out["d_fake"] > 0.7:
        return D_UPSIDE_DOWN
    if abs(out["mean"] - MEAN) > abs(start["mean"] - MEAN) and out["d_fake"] < 0.05:
        return RAN_AWAY
    if out["std"] < 0.05 and abs(out["mean"] - MEAN) <= MEAN_TOL:
        return COLLAPSED
    return NOT_SETTLED.format(rounds=ROUNDS)


def check_train(fn) -> bool:
    """Check ``fn(G, D, data, rounds)``: trains G and D for ``rounds`` rounds with the student's steps.

    The checker passes notebook 03's nets at a hidden seed, ``data`` (N(4, 0.5²)) and ``ROUNDS``,
    counting the calls of the student's ``d_step`` and ``g_step`` (``_own_steps``), then judges
    G's samples (``TARGET``). Names what went wrong: the stub, an error, no ``d_step`` or
    ``g_step`` to call, the package's steps instead of the student's (``GAN.fit``,
    ``alternating_round``), no or too few real batches, a player never trained, fewer calls of a
    step than rounds, a step that is not right, G running away from the data (the fake label),
    D's labels swapped, a collapsed G, a G not yet on the data (learning rates). Returns ``True``
    or ``False``, printing one verdict.
    """
    name = "check_train"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(train)), got {type(fn).__name__}.")
    G, D = _nets(seed=31)
    data, G0, D0, start = _Data(seed=32), _params(G), _params(D), _outcome(G, D, seed=33)
    found = _own_steps(fn)
    with _counting(found) as counts, _package_steps() as package:
        _, err = _quietly(fn, G, D, data, ROUNDS)
    if err is not None:
        return _fail(name, _explain(err, "round"))
    problem = _loop_problem(data, G, D, G0, D0) or _own_steps_problem(found, counts, package)
    if problem:
        return _fail(name, problem)
    out = _outcome(G, D, seed=33)
    if _on_data(out):
        return _ok(name, f"{ROUNDS} rounds of your d_step and g_step from a hidden start put G on the data: "
                         f"its samples have {TARGET}.")
    return _fail(name, f"{_described(out, start)} {_step_problem(fn) or _outcome_problem(out, start)}")


# --------------------------------------------------------------------------- find the bug: what happened
CHOICES = {
    "A": (False, "G did not reach the data: its mean went from about -0.2 *down*, away from 4, and stayed "
                 "below 0. Look at the panel of G's mean."),
    "B": (True, "G's samples moved away from the data, fast at first and then ever more slowly, while D(G(z)) "
                "and D's loss fell to 0: with label_fake, G minimises BCE(D(G(z)), 0) = -log(1 - D(G(z))), "
                "lowest where D is sure the samples are fake. G and D pursue the same goal, and nothing "
                "pulls G towards the data."),
    "C": (False, "G did move: its gradient was not 0 (its norm about 0.3 in the first round), and its mean went "
                 "from about -0.2 to -0.4 in 100 rounds, away from the data. The gradient then shrank as D "
                 "grew sure, so G slowed down, but it never pointed towards the data."),
    "D": (False, "no loss became NaN: the losses are computed from logits (softplus), stable even when D is "
                 "sure. D's loss went to 0 and stayed finite, and the run finished."),
    "E": (False, "G never came near the data (its mean stayed below 0, the data's is 4), so it could not "
                 "collapse there."),
}


def _letter(out):
    """The letter a prediction returned, upper case, without brackets or a full stop; else None."""
    if not isinstance(out, str):
        return None
    letter = out.strip().strip("().").strip().upper()
    return letter if letter in CHOICES else None


def check_diagnosis(fn) -> bool:
    """Check ``fn() -> letter``: which sentence (``CHOICES``, A to E) describes what the popular
    round did in notebook 03's run. A wrong letter gets what the run showed instead. Returns
    ``True`` or ``False``, printing one verdict."""
    name = "check_diagnosis"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(diagnosis)), got {type(fn).__name__}.")
    out, err = _quietly(fn)
    if err is not None:
        return _fail(name, _explain(err, "round"))
    letter = _letter(out)
    if letter is None:
        return _fail(name, f"return one of the letters {', '.join(CHOICES)} as a string (e.g. return \"A\"), "
                           f"got {type(out).__name__} {out!r}.")
    right, why = CHOICES[letter]
    return _ok(name, why) if right else _fail(name, f"not {letter}: {why}")


# --------------------------------------------------------------------------- find the bug: the fix
FIX_MISTAKES = (  # (name, _replay's switches, what the student did)
    ("fake label kept", dict(g_loss="fake_label"),
     "Step 2 still gives the fakes the fake label: G minimises BCE(D(G(z)), 0) and runs away from the data, "
     "as in the run above. Step 2 must give the fakes the *real* label, BCE(D(G(z)), 1)."),
    ("labels swapped", dict(d_labels=(0.0, 1.0)),
     "you swapped the labels everywhere (real 0, fake 1): D now calls real data 0 and fakes 1, and Step 2 still "
     "asks for the label D gives fakes. G's label must be the one D gives *real* data."),
    ("fake label changed in Step 0", dict(d_labels=(1.0, 1.0)),
     "you changed label_fake itself to 1, so D's step now gives the fakes the real label too and D learns to call "
     "everything real. Steps 0 and 1 were right: change only the label of Step 2."),
    ("sign flipped", dict(g_loss="saturating"),
     "you flipped the sign of Step 2's loss: -BCE(D(G(z)), 0) = mean log(1 - D(G(z))), the paper's minimax "
     "(saturating) loss. Its fixed point is right, but its gradient vanishes while D rejects the fakes, early "
     "in training, and G stalls (notebook 06). Keep the loss a BCE and give the fakes the real label."),
    ("G's gradients not zeroed", dict(zero_g=False),
     "Step 2 adds G's new gradient to leftovers in G's .grad: zero G's gradients before the backward pass."),
    ("D's gradients not zeroed", dict(zero_d=False),
     "Step 1 adds D's new gradient to leftovers in D's .grad: zero D's gradients before the backward pass."),
)
SWAPPED_NOTE = (" Your labels are swapped throughout (D: real 0, fake 1; G's fakes: 0, the label D gives real "
                "data): the same game with the names of the labels exchanged. The course uses real 1, fake 0.")
D_OPT_IN_STEP_2 = ("D's optimizer stepped in Step 2: opt_d.step() where G's update needs opt_g.step(). G never "
                   "learns, and D takes a second step on G's loss. In Step 2 only G's optimizer steps.")
PACKAGE_ROUND = ("your round ran the package's round or its G step (gan_edu.algorithm.g_step, which "
                 "alternating_round and ge.experiments.failures.algorithm_round call): write the fix yourself, "
                 "in popular_round's code.")
BLOCKED = ("no gradient reached G in Step 2: its fakes were detached (.detach()) or made under torch.no_grad(). "
           "That belongs to Step 1 only; in Step 2, G's loss must flow back through D into G.")


def _fix_structure_problem(events, G, G0):
    """The popular round's classic wrong fixes that show in its traces; a hint or None."""
    n_d, n_g = events.count("opt_d.step"), events.count("opt_g.step")
    if n_d > 1 and n_g == 0:
        return D_OPT_IN_STEP_2
    if n_d > 1:
        return ("opt_d.step() was called twice: in Step 2 only G's optimizer steps (D is held fixed while "
                "G learns).")
    problem = _step_count_problem(events) or _early_backward_problem(events)
    if problem:
        return problem
    if not _moved(G, G0):
        after_d = events[events.index("opt_d.step"):]
        return BLOCKED if "backward into G" not in after_d else _g_unchanged_problem(G, G0)
    return None


def _fix_replay(D, G):
    """Match D's and G's weights after one round against replays: ("right" | "swapped", None), or
    (None, the hint of the wrong fix they match), or (None, None) when nothing matches."""
    d_now, g_now = _params(D), _params(G)
    accepted = (("right", dict()), ("right", dict(d_scale=0.5)),
                ("swapped", dict(d_labels=(0.0, 1.0), g_loss="fake_label")))
    for reuse in (True, False):
        for verdict, switches in accepted:
            d_ref, g_ref, _ = _replay(reuse_fake=reuse, **switches)
            if _same(d_now, d_ref) and _same(g_now, g_ref):
                return verdict, None
        for _, switches, hint in FIX_MISTAKES:
            d_ref, g_ref, _ = _replay(reuse_fake=reuse, **switches)
            if _same(d_now, d_ref) and _same(g_now, g_ref):
                return None, hint
    return None, None


def _fix_trained(fn):
    """Train ``fn`` ``ROUNDS`` rounds from a hidden start (notebook 03's settings): (the trained
    outcome, the start's), or (None, the exception)."""
    from ..experiments.failures import train_rounds
    G, D = _nets(seed=41)
    start = _outcome(G, D, seed=43)
    _, err = _quietly(train_rounds, G, D, fn, _Data(seed=42), ROUNDS, LR_D, LR_G, BETAS, BATCH, 44)
    return (None, err) if err is not None else (_outcome(G, D, seed=43), start)


def check_fix(fn) -> bool:
    """Check ``fn(G, D, opt_d, opt_g, real, noise) -> (loss_d, loss_g)``: the popular round, fixed.

    One round on the hidden case of ``check_train_step`` (SGD, stale gradients), traced and
    replayed: names the fake label kept, the gradient blocked (detach or no_grad in Step 2), D's
    optimizer stepped in Step 2, the labels swapped everywhere, label_fake changed in Step 0, the
    sign flipped (the saturating loss), gradients not zeroed. Then ``ROUNDS`` rounds of training
    from a hidden start (Adam, notebook 03's learning rates) must put G on the data (``TARGET``).
    Labels swapped throughout, G's fakes given D's real label, are the same game: accepted with a
    note. A round that runs the package's G step (``algorithm_round``, ``alternating_round``,
    ``algorithm.g_step``) is refused: the student writes the fix. Returns ``True`` or ``False``, printing one verdict.
    """
    name = "check_fix"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(fixed_round)), got {type(fn).__name__}.")
    G, D, opt_d, opt_g, real, G0, events = _instrumented_setup()
    with warnings.catch_warnings(record=True), _package_steps() as package:
        _, problem = _run_step(fn, G, D, opt_d, opt_g, real)
    if "g_step" in package:
        return _fail(name, PACKAGE_ROUND)
    problem = problem or _fix_structure_problem(events, G, G0)
    if problem:
        return _fail(name, problem)
    verdict, problem = _fix_replay(D, G)
    if problem:
        return _fail(name, problem)
    out, start = _fix_trained(fn)
    if out is None:  # the round raised during training
        return _fail(name, _explain(start, "round"))
    if not _on_data(out):
        return _fail(name, f"trained with your round, {_described(out, start)} {_outcome_problem(out, start)}")
    note = SWAPPED_NOTE if verdict == "swapped" else ""
    return _ok(name, f"Trained {ROUNDS} rounds from a hidden start with your round, G's samples have {TARGET}."
                     f"{note}")

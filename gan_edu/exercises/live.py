r"""Notebook 04's exercises: predictions about a live experiment, confirmed by running it.

- ``check_strong_d_settings(fn)``: ``fn()`` must return settings for ``LiveTrainer(settings=...)``
  (a dict, or its JSON text) under which, on the ring of 8, D learns to reject G's samples while
  G stays exactly as it was built: after ``ROUNDS`` rounds mean D(G(z)) < ``REJECT`` and G's
  weights unchanged. The checker builds the trainer (on small nets, for speed) and runs it.
- ``check_push_ratio(fn)``: ``fn(d)`` must predict, for fakes on which D outputs ``d`` (a
  tensor of probabilities), the ratio |arrow of the non-saturating loss| / |arrow of the
  saturating loss|, the arrows being the live view's -dL_G/dx (``LiveTrainer.generator_arrows``).
  Checked on hidden values, then confirmed on a live trainer whose D rejects the fakes.
- ``check_who_wins(fn)`` (predict, then check): ``fn()`` commits, for each (G's loss, optimizer)
  of ``RESTARTS``, who wins once G trains again from a D trained alone: "D" (G stays stuck) or
  "G" (G escapes). The checker runs the four restarts (small nets) and compares.

The experiments run headless (``LiveTrainer.run``), on the CPU, from fixed seeds, with the
global random state (Python's, NumPy's, torch's) saved and restored around them.
"""
from __future__ import annotations

import contextlib
import difflib
import functools
import json
import os
import random
import tempfile

import numpy as np
import torch

from .common import fail as _fail, ok as _ok, one_thread, raised
from .quiz import Question

__all__ = ["check_strong_d_settings", "check_push_ratio", "check_who_wins", "ROUNDS", "REJECT", "RESTARTS",
           "QUESTIONS"]

ROUNDS = 150        # rounds of the checkers' experiments
REJECT = 0.05       # "D rejects the fakes": mean D(G(z)) below this
SMALL = dict(hidden=32, depth=3)  # the checkers' nets (small: a check takes a second or two)
G_MOVED = 1e-6      # largest change of a G weight that still counts as "unchanged"


@contextlib.contextmanager
def private_rng():
    """Run a block without changing Python's, NumPy's or torch's global random state."""
    py, npy = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(py)
            np.random.set_state(npy)




def _trainer(settings: dict, rounds: int):
    """A LiveTrainer from ``settings`` on small nets, trained ``rounds`` rounds headless;
    returns (trainer, G's weights before, after). Raises what LiveTrainer raises."""
    from ..live.trainer import LiveTrainer  # here: the live trainer (and ipywidgets) only when a check runs

    trainer = LiveTrainer(settings={**settings, **SMALL})
    try:
        before = [p.detach().clone() for p in trainer.gan.G.parameters()]
        with one_thread():
            trainer.run(rounds)
        after = [p.detach().clone() for p in trainer.gan.G.parameters()]
    finally:
        trainer.close()
    return trainer, before, after


# --------------------------------------------------------------------------- settings that meet a goal
STEPS_NOT_A_SETTING = ("how long to train is not a setting (the checker trains {rounds} rounds itself): leave "
                       "{key!r} out.")


def _settings_of(out):
    """The student's settings as a dict, or a hint (str)."""
    if isinstance(out, str):
        try:
            out = json.loads(out)
        except json.JSONDecodeError as err:
            return f"your function returned text that is not JSON ({err}): return a dict, e.g. {{'g_steps': 0}}."
    if not isinstance(out, dict):
        return f"return a dict of settings (e.g. {{'lr_d': 0.001}}), got {type(out).__name__}."
    return out


def _unknown_keys_hint(settings: dict) -> str | None:
    from ..live.settings import SETTINGS_KEYS

    for key in settings:
        if key in SETTINGS_KEYS:
            continue
        if key in ("steps", "rounds", "n_steps", "iterations"):
            return STEPS_NOT_A_SETTING.format(rounds=ROUNDS, key=key)
        close = difflib.get_close_matches(str(key).lower(), SETTINGS_KEYS, n=1, cutoff=0.6)
        guess = f" Did you mean {close[0]!r}?" if close else ""
        return f"LiveTrainer has no setting {key!r}.{guess} The settings are: {', '.join(SETTINGS_KEYS)}."
    return None


def _refused_hint(err: Exception) -> str:
    text = str(err)
    if "cannot both be 0" in text:
        return ("Both step counts 0: d_steps and g_steps cannot both be 0, a round would train nothing. "
                "Keep D training (d_steps >= 1) and stop G: g_steps = 0.")
    return f"LiveTrainer(settings=...) refused your settings: {type(err).__name__}: {text}"


def _g_moved_hint(settings: dict, moved: float) -> str:
    g_steps = settings.get("g_steps", 1)
    if g_steps and "lr_g" in settings and settings["lr_g"] < 1e-3:
        return (f"G still trains: a small lr_g ({settings['lr_g']:g}) makes its steps small, not zero (Adam's steps "
                f"are about lr each, whatever the gradient); its weights moved by up to {moved:.1e}. Stop G "
                "instead: g_steps = 0 (G updates per round), as the G step button's opposite, D step, does.")
    return (f"G still trains: with g_steps = {g_steps} G takes {g_steps} update(s) per round and its weights moved "
            f"by up to {moved:.1e}. G's updates per round are g_steps: set it to 0, so that only D trains.")


def _weak_d_hint(settings: dict, d_fake: float) -> str:
    if settings.get("label_smoothing") == "two_sided":
        return (f"two-sided label smoothing trains D to give the fakes s = {settings.get('smoothing', 0.1):g}, never "
                f"0: mean D(G(z)) stays near it ({d_fake:.2f}). Leave label_smoothing at 'none' (or 'one_sided').")
    return (f"D did not learn to reject G's samples in {ROUNDS} rounds: mean D(G(z)) is {d_fake:.2f} (the goal: "
            f"below {REJECT}). Give D enough to learn with: the default lr_d 0.001 and Adam do it "
            f"(lr_d = {settings.get('lr_d', 1e-3):g}, optimizer {settings.get('optimizer', 'adam')!r} here).")


def _goal_problem(settings: dict) -> str | None:
    """Run the student's settings; a hint when the goal is not met, else None."""
    if settings.get("data", "ring") != "ring":
        return f"the goal is on the ring of 8: 'data': 'ring' (the default), not {settings['data']!r}."
    try:
        with private_rng():
            trainer, before, after = _trainer(settings, ROUNDS)
            d_fake = trainer.gan.discriminate(trainer.gan.sample(z=trainer.view_noise())).mean().item()
    except (ValueError, TypeError) as err:
        return _refused_hint(err)
    except Exception as err:  # e.g. a non-finite loss: report it, never raise
        return (f"training stopped: {type(err).__name__}: {err}. A learning rate that large makes the losses "
                "blow up; the default 0.001 works.")
    moved = max(float((a - b).abs().max()) for a, b in zip(after, before))
    if moved > G_MOVED:
        return _g_moved_hint(settings, moved)
    if not d_fake < REJECT:
        return _weak_d_hint(settings, d_fake)
    return None


def check_strong_d_settings(fn) -> bool:
    """Check ``fn() -> settings`` (a dict or JSON text for ``LiveTrainer(settings=...)``): on the
    ring of 8, after ``ROUNDS`` rounds, D rejects G's samples (mean D(G(z)) < ``REJECT``) and G's
    weights have not changed. Runs the trainer (small nets: ``SMALL`` overrides hidden and depth).

    Prints a hint naming the problem (G still trains through g_steps or a small lr_g, both step
    counts 0, an unknown setting, a D too slow to learn, two-sided smoothing, other data) and
    returns ``False``, or prints one line and returns ``True``.
    """
    name = "check_strong_d_settings"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(my_settings)), got {type(fn).__name__}.")
    try:
        settings = _settings_of(fn())
    except Exception as err:  # a student's bug: report it, never raise
        return _fail(name, raised(err))
    problem = settings if isinstance(settings, str) else _unknown_keys_hint(settings) or _goal_problem(settings)
    if problem:
        return _fail(name, problem)
    return _ok(name, f"After {ROUNDS} rounds on the ring, D rejects G's samples (mean D(G(z)) below {REJECT}) "
                     "and G has not moved: D trained alone.")


# --------------------------------------------------------------------------- a prediction about the arrows
HIDDEN_D = (1e-4, 1e-3, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99)
PUSH_CANDIDATES = {
    "inverted": lambda d: d / (1 - d),
    "one_over_d": lambda d: 1 / d,
    "one_minus_d": lambda d: 1 - d,
    "d": lambda d: d,
    "loss_ratio": lambda d: torch.log(d) / torch.log1p(-d),
    "logit": lambda d: torch.log((1 - d) / d),
    "negated": lambda d: -(1 - d) / d,
}
PUSH_HINTS = {
    "inverted": ("Upside down: that is |saturating arrow| / |non-saturating arrow|. Write both losses as "
                 "functions of D's logit l on a fake (D = σ(l)): d/dl of -log σ(l) is -(1 - D), d/dl of "
                 "log(1 - σ(l)) is -D. The arrows share the factor dl/dx: divide in the order asked for."),
    "one_over_d": ("Half right: the saturating loss log(1 - σ(l)) has d/dl = -D, but the non-saturating "
                   "-log σ(l) does not have d/dl = -1: differentiate it too, with D = σ(l)."),
    "one_minus_d": ("Half right: the non-saturating loss -log σ(l) has d/dl = -(1 - D), but the saturating "
                    "log(1 - σ(l)) does not have d/dl = -1: differentiate it too, with D = σ(l)."),
    "d": ("The arrows are the losses' gradients: d/dl of -log σ(l) is -(1 - D), d/dl of log(1 - σ(l)) is "
          "-D (D = σ(l), the logit l on a fake). Divide the non-saturating by the saturating."),
    "loss_ratio": ("You compared the losses' *values*, -log D and log(1 - D). The arrows are their "
                   "*gradients* with respect to x: -(1 - D) dl/dx and -D dl/dx. Their ratio is the answer."),
    "logit": "That is the log of the ratio: the ratio of the arrows' lengths is the ratio itself, without the log.",
    "negated": "A ratio of two lengths is positive: drop the minus sign.",
}


def _predict(fn, d: torch.Tensor):
    """The student's prediction at ``d`` as a float64 tensor, or a hint (str). A function of a
    tensor is called once; one that only takes a number (math.log, ...) is called per value."""
    try:
        out = fn(d.clone())
        out = torch.as_tensor(np.asarray(out.detach() if hasattr(out, "detach") else out, dtype=float))
        if out.shape != d.shape:
            return (f"return one ratio per value of d, same shape as d {tuple(d.shape)}; got shape "
                    f"{tuple(out.shape)}.")
        return out.double()
    except NotImplementedError as err:
        return raised(err)
    except Exception as err:  # a student's bug, or a function of one number: try that next
        first = err
    try:  # a function of one number (math.log, ...)
        return torch.tensor([float(fn(float(v))) for v in d], dtype=torch.float64)
    except Exception:  # a student's bug: report the first error, never raise
        return raised(first)


def _prediction_problem(pred: torch.Tensor, d: torch.Tensor) -> str | None:
    want = (1 - d) / d
    if not torch.isfinite(pred).all():
        return "your prediction is not finite for some d strictly between 0 and 1."
    if torch.allclose(pred, want, rtol=1e-4):
        return None
    for mistake, formula in PUSH_CANDIDATES.items():
        if torch.allclose(pred, formula(d), rtol=1e-4):
            return PUSH_HINTS[mistake]
    i = int((pred - want).abs().argmax())
    return (f"at D = {d[i].item():g} you predict {pred[i].item():.4g}, expected {want[i].item():.4g}: compare "
            "d/dl of -log σ(l) and of log(1 - σ(l)), with D = σ(l).")


def _measured_ratios():
    """A live experiment: D alone trains ROUNDS rounds on the ring (G frozen, as in
    check_strong_d_settings); then both arrows at G's samples. Returns (D there, measured ratio)."""
    with private_rng():
        trainer, _, _ = _trainer({"data": "ring", "seed": 0, "g_steps": 0}, ROUNDS)
        z = trainer.view_noise()[:500]
        x, push_ns = trainer.generator_arrows(z, loss="non_saturating")
        _, push_s = trainer.generator_arrows(z, loss="saturating")
        d = trainer.gan.discriminate(x).reshape(-1).double()
    return d, push_ns.norm(dim=1).double() / push_s.norm(dim=1).double()


def check_push_ratio(fn) -> bool:
    """Check ``fn(d) -> ratio``: the predicted |non-saturating arrow| / |saturating arrow| at fakes
    where D outputs ``d``; right answer (1 - d)/d. Checked on hidden values of d, then confirmed on
    a live experiment (``generator_arrows`` of both losses where D rejects the fakes).

    Prints a hint naming the mistake (ratio upside down, a derivative taken as 1, the losses' values
    instead of their gradients, the log of the ratio, a sign) and returns ``False``, or prints one
    line and returns ``True``.
    """
    name = "check_push_ratio"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(my_ratio)), got {type(fn).__name__}.")
    d = torch.tensor(HIDDEN_D, dtype=torch.float64)
    pred = _predict(fn, d)
    problem = pred if isinstance(pred, str) else _prediction_problem(pred, d)
    if problem:
        return _fail(name, problem)
    d_live, measured = _measured_ratios()
    pred_live = _predict(fn, d_live)
    if isinstance(pred_live, str) or not torch.allclose(pred_live, measured, rtol=1e-3):
        return _fail(name, "your formula is right on the hidden values but not on the live trainer's D outputs: "
                           "does it work on a tensor of any length?")
    how = "at least 30 times" if measured.min() > 30 else "several times"
    return _ok(name, f"(1 - D)/D on {len(HIDDEN_D)} hidden values, and the live experiment agrees: where D rejects "
                     f"the fakes, the non-saturating arrows are {how} longer than the saturating ones, each by "
                     "your predicted ratio.")


# --------------------------------------------------------------------------- predict, then check: who wins?
RESTARTS = (("saturating", "adam"), ("saturating", "sgd"), ("non_saturating", "adam"), ("non_saturating", "sgd"))
RESTART_LR = {"adam": 1e-3, "sgd": 0.02}  # both players' learning rate once G restarts (SGD: no momentum)
ALONE = 300                               # rounds of D alone (G frozen) before G restarts
RESTART_ROUNDS = 150                      # rounds after G restarts
LAST = 50                                 # who wins: mean D(G(z)) over the last LAST rounds
STUCK, ESCAPED = 0.01, 0.1                # below STUCK: D wins ("D"); above ESCAPED: G escapes ("G")
PLAYERS = {"d": "D", "discriminator": "D", "g": "G", "generator": "G"}
WHO_WINS_HINTS = {
    ("saturating", "adam", "D"): ("saturating loss, Adam: G escapes. Its gradient is over a thousand times smaller "
                                  "than the non-saturating one here, but Adam divides each step by a running "
                                  "estimate of the gradient's size, so G's steps stay about lr long."),
    ("saturating", "sgd", "G"): ("saturating loss, SGD: D still wins. SGD's step is lr x gradient, and where D "
                                 "rejects the fakes the saturating gradient is a tiny fraction of the non-saturating "
                                 "one (Exercise 1's ratio, upside down): about 1/1000 here, too small to move G."),
    ("non_saturating", "adam", "D"): ("non-saturating loss, Adam: G escapes. -log D(G(z)) pushes hardest where D "
                                      "rejects the fakes (its factor 1 - D is about 1), and Adam's steps are about "
                                      "lr long anyway."),
    ("non_saturating", "sgd", "D"): ("non-saturating loss, SGD: G escapes. Even with steps of lr x gradient: "
                                     "-log D(G(z)) keeps a full-size gradient where D rejects the fakes (factor "
                                     "1 - D, about 1), which is why GANs use it."),
}


def _pair_of(key):
    """A prediction's key as (loss, optimizer), or None: a tuple, or text like "saturating, adam"."""
    import re

    parts = key if isinstance(key, (tuple, list)) else re.split(r"[\s,/|+;:]+", key.strip()) if isinstance(key, str) else ()
    parts = [str(p).strip().lower().replace("-", "_").replace(" ", "_") for p in parts if str(p).strip()]
    return tuple(parts) if tuple(parts) in RESTARTS else None


def _predictions_of(out):
    """The student's predictions as {(loss, optimizer): "D" or "G"}, or a hint (str)."""
    template = "{(\"saturating\", \"adam\"): \"D\" or \"G\", ...}"
    if not isinstance(out, dict):
        return f"return a dict with one answer per (G's loss, optimizer) pair, {template}; got {type(out).__name__}."
    got = {}
    for key, value in out.items():
        pair = _pair_of(key)
        if pair is None:
            return (f"{key!r} is not one of the four pairs: use the keys {', '.join(map(str, RESTARTS))} "
                    "(G's loss, then the optimizer).")
        player = PLAYERS.get(str(value).strip().lower())
        if player is None:
            return (f"answer \"D\" (D still rejects the fakes: G stays stuck) or \"G\" (G escapes) for {pair}, "
                    f"not {value!r}.")
        got[pair] = player
    missing = [pair for pair in RESTARTS if pair not in got]
    if missing:
        return f"commit an answer for every pair: {', '.join(map(str, missing))} missing."
    return got


def _strong_d(folder) -> str:
    """D alone ``ALONE`` rounds on the ring (small nets, seed 0), saved as a session in ``folder``."""
    from ..live.trainer import LiveTrainer

    trainer = LiveTrainer(settings={"data": "ring", "seed": 0, "g_steps": 0, **SMALL})
    try:
        trainer.run(ALONE, metrics_every=ALONE)
        return str(trainer.save(os.path.join(folder, "strong_d.pt")))
    finally:
        trainer.close()


def _restart_outcome(session: str, loss: str, optimizer: str) -> tuple[str | None, float]:
    """G restarts from the saved strong D with ``loss`` under ``optimizer`` for RESTART_ROUNDS rounds.
    Returns (who wins: "D", "G" or None when undecided, mean D(G(z)) over the last LAST rounds)."""
    from ..live.trainer import LiveTrainer

    trainer = LiveTrainer.load(session)
    try:
        lr = RESTART_LR[optimizer]
        trainer.set(g_steps=1, loss=loss, optimizer=optimizer, lr_d=lr, lr_g=lr)
        d_fake = trainer.run(RESTART_ROUNDS, metrics_every=RESTART_ROUNDS)["d_fake"][-LAST:]
    finally:
        trainer.close()
    mean = sum(d_fake) / len(d_fake)
    return ("D" if mean < STUCK else "G" if mean > ESCAPED else None), mean


@functools.lru_cache(maxsize=1)
def restart_outcomes() -> dict:
    """{(loss, optimizer): (who wins, mean D(G(z)) over the last LAST rounds)} for ``RESTARTS``, all
    from one D trained alone; the global random state and thread count untouched. The runs are
    seeded, so their outcome is computed once per session (a second check answers at once)."""
    with private_rng(), one_thread(), tempfile.TemporaryDirectory() as folder:
        session = _strong_d(folder)
        return {pair: _restart_outcome(session, *pair) for pair in RESTARTS}


def check_who_wins(fn) -> bool:
    """Check ``fn() -> {(loss, optimizer): "D" or "G"}``: for each pair of ``RESTARTS``, who wins
    the ``RESTART_ROUNDS`` rounds after G restarts from a D trained alone ``ALONE`` rounds on the
    ring (mean D(G(z)) over the last ``LAST`` rounds below ``STUCK``: "D"; above ``ESCAPED``: "G").
    Runs the four restarts (small nets, the global random state untouched) and compares.

    Prints, for each wrong answer, why the run went the other way (Adam's steps of about lr, SGD's
    of lr x gradient, the saturating loss's factor D, the non-saturating one's 1 - D), and returns
    ``False``; or prints one line and returns ``True``.
    """
    name = "check_who_wins"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(my_prediction)), got {type(fn).__name__}.")
    try:
        predicted = _predictions_of(fn())
    except Exception as err:  # a student's bug: report it, never raise
        return _fail(name, raised(err))
    if isinstance(predicted, str):
        return _fail(name, predicted)
    runs = restart_outcomes()
    wrong = []
    for pair, (winner, mean) in runs.items():
        if winner is None or predicted[pair] == winner:
            continue  # an undecided run accepts either answer
        hint = WHO_WINS_HINTS.get((*pair, predicted[pair]))
        wrong.append(hint if hint and winner != predicted[pair] else
                     f"{pair[0]} loss, {pair[1]}: the run says {winner} (mean D(G(z)) {mean:.2g} over the last {LAST} rounds).")
    if wrong:
        return _fail(name, f"{len(RESTARTS) - len(wrong)} of {len(RESTARTS)} right. " + " ".join(wrong))
    return _ok(name, "The four runs agree with you: G escapes in three of them; only the saturating loss under plain "
                     "SGD leaves G stuck (SGD steps by lr x gradient, Adam by about lr).")


# --------------------------------------------------------------------------- check of understanding
QUESTIONS = [
    Question("On the ring of 8, G spreads 2,500 samples evenly over all 8 modes, but 99% of them lie 5 standard "
             "deviations from their mode. How many modes does <code>mode_coverage</code> count as recovered?",
             answer=0,
             why=("A mode is recovered with at least 20 high-quality samples (within 3 standard deviations). Each mode "
                  "gets about 312 samples, of which 1% (about 3) are of high quality: no mode is recovered, although "
                  "G is near every one. Coverage needs both diversity and quality."),
             tolerance=0),
    Question("Where D is fooled, D(G(z)) = 0.99 on a fake, which loss gives G the longer arrow there?",
             answer=1,
             choices=("the non-saturating loss, about 99 times longer",
                      "the saturating loss, about 99 times longer",
                      "neither: the two arrows are equally long",
                      "neither: a fooled D gives G no gradient at all"),
             why=("|non-saturating| / |saturating| = (1 - D)/D = 0.01/0.99, about 1/99. The non-saturating loss pushes "
                  "hardest where D rejects the fakes, the saturating one where G already fools D."),
             ),
]

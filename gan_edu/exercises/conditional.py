r"""Notebook 08's exercises: the student conditions D, and finds the bug in a labelled D step.

- ``check_projection(fn)``: ``fn(D, x, y)`` must return the projection discriminator's logits
  (Miyato and Koyama 2018), D(x, y) = ψ(φ(x)) + embed(y) · φ(x), one per image, shape (n, 1),
  from ``D.phi``, ``D.psi`` and ``D.embed`` of a ``gan_edu.conditional.ProjectionDiscriminator``
  (which computes the same in its ``forward``: calling ``D(x, y)`` itself is refused). Names the
  labels not given to D (the score does not depend on y), an embedding that ignores the class (the
  same vector for every class), the class-free term or the sum over the features missing, the sum
  over the batch, the broadcast to an (n, n) table, a probability instead of a logit, no gradient.
- ``check_fixed_d_step(fn)``: find the bug. ``fn(G, D, opt_d, real, real_y, fake_y, noise)`` must do
  the labelled D step (``gan_edu.conditional.d_step``): real images judged with *their* labels
  ``real_y`` as real, fakes G(z, fake_y) judged with the labels ``fake_y`` G was asked for as fake,
  G kept out of backpropagation; return D's loss. One step on a hidden case is traced (every call
  of D, with its images and labels) and replayed: names real images paired with other images'
  labels (the fakes' labels, a shuffle, one label for all), fakes judged with labels they were not
  asked for, G asked for the wrong labels, and the BCE mistakes. Then it trains G with the
  student's step (``ROUNDS`` rounds from a hidden seed) and measures its label accuracy.

None touches the global random state; neither writes to stderr (warnings from the student's
code are caught). ``QUESTIONS``: notebook 08's check of understanding (``understanding("08")``).
"""
from __future__ import annotations

import contextlib
import math
import warnings

import torch

from .. import conditional
from ..conditional import ConditionalGenerator, ProjectionDiscriminator
from .common import close as _close, explained, fail as _fail, ok as _ok, one_thread
from .quiz import Question
from .steps import D_LOSSES, TORCH_ERRORS, _loss_value, _params, _same

ERRORS = (  # (a piece of PyTorch's message, what the student did): the labels are class indices here
    ("'indices'", "an embedding looks up rows by integer class indices: pass the labels y as they are (int64), "
     "not as floats or one-hot vectors."),
    *[(piece, meaning) for piece, meaning in TORCH_ERRORS if piece != "Long"],
    ("Long", "BCE's targets are the floats 1 (a real pair) and 0 (a fake pair), not the class labels y."),
)

__all__ = ["check_projection", "check_fixed_d_step", "projection_cases", "ROUNDS", "TARGET", "QUESTIONS"]


def _run(fn, args, hooks=()):
    """``fn(*args)`` with the RNG forked and warnings caught: (its output, None), or (None, a hint)."""
    try:
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings(record=True):
            return fn(*args), None
    except Exception as err:  # a student's bug: report it, never raise
        return None, explained(err, ERRORS, "D")
    finally:
        for hook in hooks:
            hook.remove()


# --------------------------------------------------------------------------- exercise 1: the projection
PROJECTION_HINTS = {
    "labels_ignored": ("labels not given to D: your score does not depend on y at all (it is ψ(φ(x)) alone). "
                       "D(x, y) must judge the pair: add the agreement of x's features with the class's "
                       "embedding, embed(y) · φ(x)."),
    "same_vector": ("your label embedding ignores the class: D(x, y) comes out the same for every y, as with "
                    "one vector for every class (a mean or sum of the embeddings, one fixed row, or the "
                    "embedding of a fixed label). Use the row of D.embed for each image's own label y_i."),
    "no_psi": ("the class-free term is missing: D(x, y) = ψ(φ(x)) + embed(y) · φ(x), and you returned "
               "embed(y) · φ(x) alone. ψ(φ(x)) says \"is it real?\" whatever the label."),
    "other_class": ("you used the embedding of another class than each image's own y (an off-by-one, or a "
                    "shifted index): the row of D.embed for image i is row y_i."),
    "probability": ("you returned a probability (a sigmoid of the score). D returns the logit, any real "
                    "number: the BCE loss applies the sigmoid inside."),
}
SHAPE_HINTS = {
    "table": ("your result is an (n, n) table: a vector of shape (n,) was added to ψ's output of shape "
              "(n, 1), and broadcasting paired every image with every other. Keep the inner product's "
              "shape (n, 1) (sum with keepdim=True, or reshape) before adding."),
    "not_summed": ("an inner product is one number per image: sum embed(y) * φ(x) over the features (dim 1); "
                   "yours has one number per feature."),
    "batch_summed": ("one logit per image: you summed over the batch too. Sum the product over the features "
                     "only (dim 1), not over everything."),
}


def projection_cases():
    """Hidden cases (D, x, y): projection discriminators in eval mode (batch norm's running
    statistics, so every image's logit depends on that image alone), 10 classes on 8x8 images
    and 3 classes on 12x12, images in [-1, 1], labels covering the classes."""
    cases = []
    with torch.random.fork_rng(devices=[]):
        for seed, classes, size, width, n in ((808, 10, 8, 4, 14), (809, 3, 12, 3, 7)):
            torch.manual_seed(seed)
            D = ProjectionDiscriminator(classes=classes, image_size=size, width=width).eval()
            g = torch.Generator().manual_seed(seed)
            y = torch.cat([torch.arange(classes), torch.randint(classes, (n - classes,), generator=g)])
            cases.append((D, torch.rand(n, 1, size, size, generator=g) * 2 - 1, y[torch.randperm(n, generator=g)]))
    return cases


def _projection_parts(D, x, y):
    """ψ(φ(x)) (n,) and embed(c) · φ(x) for every class c, (n, classes), without gradients."""
    with torch.no_grad():
        features = D.phi(x)
        return D.psi(features)[:, 0], features @ D.embed.weight.t()


def _shape_problem(out, n: int, features: int):
    """The logits' shape: (a hint or None, the values as (n,) or None)."""
    if not isinstance(out, torch.Tensor):
        return f"return a torch tensor of D's logits, shape ({n}, 1): got {type(out).__name__}.", None
    shape = tuple(out.shape)
    if shape in ((n, 1), (n,)):
        return None, out.reshape(n)
    if shape == (n, n):
        return SHAPE_HINTS["table"], None
    if shape == (n, features):
        return SHAPE_HINTS["not_summed"], None
    if out.numel() == 1 or shape == (features,):
        return SHAPE_HINTS["batch_summed"], None
    return f"for {n} images return {n} logits, shape ({n}, 1); yours has shape {shape}.", None


def _projection_value_problem(fn, D, x, y, values):
    """Name what the student's logits equal when they are not ψ(φ(x)) + embed(y) · φ(x)."""
    psi, agree = _projection_parts(D, x, y)
    rows, classes = torch.arange(len(y)), agree.shape[1]
    right = psi + agree[rows, y]
    if _close(values, right):
        return None
    if _close(values, torch.sigmoid(right)):
        return PROJECTION_HINTS["probability"]
    other, _ = _run(fn, (D, x, (y + 1) % classes))
    if isinstance(other, torch.Tensor) and other.numel() == len(y) and _close(other.detach().reshape(-1), values):
        return PROJECTION_HINTS["labels_ignored" if _close(values, psi) else "same_vector"]
    if _close(values, agree[rows, y]):
        return PROJECTION_HINTS["no_psi"]
    if _close(values, psi + agree[rows, y].sum()):
        return SHAPE_HINTS["batch_summed"]
    if any(_close(values, psi + agree[rows, (y + k) % classes]) for k in range(1, classes)):
        return PROJECTION_HINTS["other_class"]
    return ("your logits differ from D(x, y) = ψ(φ(x)) + embed(y) · φ(x) on a hidden case: φ(x) is D.phi(x) "
            "(n, features), ψ is D.psi (features -> 1) and embed(y) the rows of D.embed for the labels y.")


def _gradient_problem(out, D):
    """The logits must carry the gradient back into D's weights (D is trained through them)."""
    weights = [D.embed.weight, D.psi.weight, next(D.phi.parameters())]
    if not out.requires_grad:
        return ("right values, but no gradient reaches D's weights (a torch.no_grad(), .detach() or .data "
                "inside): D learns through these logits.")
    grads = torch.autograd.grad(out.sum(), weights, allow_unused=True)
    if any(g is None or not g.abs().sum() > 0 for g in grads):
        return "right values, but the gradient does not reach all of ψ, φ and the embedding: no detach inside."
    return None


def _projection_case_problem(fn, D, x, y):
    """The student's projection on one hidden case; returns (a hint or None, a note)."""
    called_d = []
    hook = D.register_forward_hook(lambda *args: called_d.append(1))
    out, problem = _run(fn, (D, x, y), [hook])
    if problem:
        return problem, ""
    if called_d:
        return ("your function calls D(x, y) itself, the package's forward, which computes this very score: "
                "write it from D.phi, D.psi and D.embed."), ""
    problem, values = _shape_problem(out, len(y), D.feature_dim)
    if problem:
        return problem, ""
    problem = _projection_value_problem(fn, D, x, y, values.detach()) or _gradient_problem(out, D)
    note = (" (Yours has shape (n,); D returns (n, 1), which the BCE loss pairs with targets of that "
            "shape: reshape it to be safe.)") if out.ndim == 1 else ""
    return problem, note


def check_projection(fn) -> bool:
    """Check ``fn(D, x, y) -> logits``: the projection discriminator's D(x, y) = ψ(φ(x)) + embed(y) · φ(x),
    shape (n, 1) ((n,) accepted with a note), differentiable in D's weights, on two hidden cases.
    Prints one verdict naming the mistake (see the module's text); returns ``True`` or ``False``."""
    name = "check_projection"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(projection_logit)), got {type(fn).__name__}.")
    notes = ""
    with one_thread():
        for D, x, y in projection_cases():
            problem, note = _projection_case_problem(fn, D, x, y)
            if problem:
                return _fail(name, problem)
            notes = notes or note
    return _ok(name, "2 hidden discriminators (10 and 3 classes) give ψ(φ(x)) + embed(y) · φ(x) for every "
                     "image and its own label, and the gradient reaches ψ, φ and the embedding." + notes)


# --------------------------------------------------------------------------- exercise 2: the labelled D step
ROUNDS, TARGET, CHANCE = 300, 0.5, 0.1  # the checker's training: rounds, mean label accuracy to reach, chance
PAIRING_HINTS = {
    "real_with_fake_labels": ("labels shuffled against images: the real images were shown to D with fake_y, "
                              "the labels drawn for the fakes, not with their own. Then a real 7 comes with "
                              "any label, D learns that every pairing is real, and G learns to ignore y. Each "
                              "real image goes with its own label, real_y."),
    "real_shuffled": ("labels shuffled against images: real images were paired with other images' labels "
                      "(a shuffle, or labels from another batch). D must see each real image with its own "
                      "label real_y[i], so that it learns what a real digit *of class y* looks like."),
    "real_constant": ("labels not given to D: every real image was shown with the same label. D must see each "
                      "real image with its own label, real_y."),
    "fake_other_labels": ("the fakes were judged with labels other than those G was asked for: a fake "
                          "G(z, y') is judged as the pair (G(z, y'), y'), so that a fake 3 drawn when asked "
                          "for a 7 is caught."),
    "g_asked_real_y": ("G was asked for real_y, the real batch's labels: the fakes are asked for fake_y, the "
                       "labels the trainer drew for them (uniform over the classes, so G learns every class)."),
    "one_batch": ("you showed D the real and the fake pairs in one batch. D's batch norm then normalises "
                  "them together, and training suffers (here, after 300 rounds on 3 seeds, G drew the digit "
                  "asked for 17-31% of the time, against 92-96% with separate batches). Judge the real pairs "
                  "and the fake pairs in two calls of D, one batch each."),
    "no_real": "D never saw the real batch `real`: its loss has a real term, BCE(D(x, y), 1).",
    "no_fake": ("D never saw fakes made by G from noise(n) and fake_y: its loss has a fake term, "
                "BCE(D(G(z, y'), y'), 0), with z = noise(n)."),
}
TARGET_HINTS = {  # D's loss from the logits: the real/fake targets (not the class labels)
    "swapped": "the real/fake targets are swapped: real pairs get the target 1, fake pairs 0.",
    "all_real": "the fake pairs got the target 1: in D's step they get 0, BCE(D(G(z, y'), y'), 0).",
    "all_fake": "the real pairs got the target 0: they get the target 1, BCE(D(x, y), 1).",
    "real_only": "the loss on the fakes is missing: BCE(D(x, y), 1) + BCE(D(G(z, y'), y'), 0).",
    "fake_only": "the loss on the real pairs is missing: BCE(D(x, y), 1) + BCE(D(G(z, y'), y'), 0).",
    "sum": "you summed the per-sample losses; average them (BCE's default), or the step grows with the batch.",
    "negated": "wrong sign: D minimises BCE(D(x, y), 1) + BCE(D(G(z, y'), y'), 0).",
    "sigmoid_twice": ("you applied a sigmoid and then a *_with_logits loss, which applies it again: pass D's "
                      "logits straight to F.binary_cross_entropy_with_logits."),
    "logits_as_probs": "you treated D's logits as probabilities: use F.binary_cross_entropy_with_logits.",
    "no_zero": "gradients from before were added to this step's: zero D's gradients before backward().",
}
D_STEP_FORMULA = ("D's weights after your step are not those of the labelled D step: loss = BCE(D(x, y), 1) + "
                  "BCE(D(G(z, y'), y'), 0) on the real pairs (real, real_y) and the fakes made from z = "
                  "noise(n) and y' = fake_y, each BCE a batch mean from logits; zero D's gradients, backward, "
                  "one opt_d.step().")


class _Noise:
    """noise(n): N(0, I) draws from a private seeded generator (the same for every replay)."""

    def __init__(self, dim: int, seed: int):
        self.dim, self.g, self.calls = dim, torch.Generator().manual_seed(seed), []

    def __call__(self, n):
        self.calls.append(n)
        return torch.randn(int(n), self.dim, generator=self.g)


def _step_case():
    """The hidden case: a small G(z, y) and projection D (eval mode: its batch norm's running
    statistics, so one batch or two give the same step), .grad holding a previous step's leftovers,
    8 real 4x4 images with labels ``real_y`` and the fakes' labels ``fake_y`` (each differs from
    real_y at its position and from every shuffle of it)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(29)
        G = ConditionalGenerator(noise_dim=3, classes=4, image_size=4, width=3)
        D = ProjectionDiscriminator(classes=4, image_size=4, width=3).eval()
    g = torch.Generator().manual_seed(30)
    for p in [*G.parameters(), *D.parameters()]:
        p.grad = torch.randn(p.shape, generator=g)
    real = torch.rand(8, 1, 4, 4, generator=g) * 2 - 1
    real_y, fake_y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 2]), torch.tensor([3, 3, 0, 1, 2, 0, 3, 1])
    return G, D, real, real_y, fake_y, _Noise(3, 31)


def _traced_d(D):
    """Record every call of D as (images, labels), detached; returns (the list, the hook)."""
    calls = []

    def hook(module, args, kwargs, out):
        x = args[0] if args else kwargs.get("x")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        calls.append((x.detach().clone(), torch.as_tensor(y).detach().clone()))
    return calls, D.register_forward_hook(hook, with_kwargs=True)


def _pairs(calls, real, fakes):
    """Each image D saw, by where it came from: {"real": [(index, label)], "fake": [...], "other": [...]}
    (``fakes``: {kind: the fakes G would make with those labels})."""
    seen = {"real": [], "other": [], "mixed": False}
    seen.update({kind: [] for kind in fakes})
    for x, y in calls:
        kinds = set()
        for xi, yi in zip(x, y.reshape(-1)):
            kind, index = "other", -1
            for name, images in (("real", real), *fakes.items()):
                hits = torch.nonzero((images - xi).flatten(1).abs().amax(1) < 1e-6).flatten()
                if len(hits):
                    kind, index = name, int(hits[0])
                    break
            seen[kind].append((index, int(yi)))
            kinds.add(kind)
        seen["mixed"] |= "real" in kinds and len(kinds) > 1
    return seen


def _pairing_problem(seen, real_y, fake_y):
    """Which images D saw with which labels; returns a hint or None."""
    if not seen["real"]:
        return PAIRING_HINTS["no_real"]
    if not seen["fake"]:
        return PAIRING_HINTS["g_asked_real_y" if seen["fake_real_y"] else "no_fake"]
    if seen["mixed"]:
        return PAIRING_HINTS["one_batch"]
    index, labels = (torch.tensor(v) for v in zip(*seen["real"]))
    if not torch.equal(labels, real_y[index]):
        if torch.equal(labels, fake_y[index]):
            return PAIRING_HINTS["real_with_fake_labels"]
        return PAIRING_HINTS["real_constant" if len(set(labels.tolist())) == 1 else "real_shuffled"]
    index, labels = (torch.tensor(v) for v in zip(*seen["fake"]))
    if not torch.equal(labels, fake_y[index]):
        return PAIRING_HINTS["fake_other_labels"]
    return None


def _d_reference(loss: str = "correct", zero: bool = True):
    """The hidden case after a labelled D step with D's loss ``D_LOSSES[loss]`` and SGD:
    (D's weights, the loss's value)."""
    G, D, real, real_y, fake_y, noise = _step_case()
    opt = torch.optim.SGD(D.parameters(), lr=0.1)
    with torch.no_grad():
        fake = G(noise(len(fake_y)), fake_y)
    loss_d = D_LOSSES[loss](D(real, real_y), D(fake, fake_y))
    if zero:
        opt.zero_grad()
    loss_d.backward()
    opt.step()
    return _params(D), loss_d.item()


def _weights_problem(d_now, returned):
    """Name what D's weights after the student's step match; returns (a hint or None, a note)."""
    for loss in ("correct", "half"):
        weights, value = _d_reference(loss)
        if _same(d_now, weights):
            if returned is None or not math.isclose(returned, value, rel_tol=1e-4, abs_tol=1e-5):
                return "D was updated correctly, but return D's loss (the tensor you called backward() on).", ""
            return None, (" (Your loss is half the course's, the mean of the two BCE terms: the same "
                          "minimiser, half the gradient.)" if loss == "half" else "")
    if _same(d_now, _d_reference(zero=False)[0]):
        return TARGET_HINTS["no_zero"], ""
    for mistake, hint in TARGET_HINTS.items():
        if mistake in D_LOSSES and _same(d_now, _d_reference(mistake)[0]):
            return hint, ""
    return D_STEP_FORMULA, ""


def _expected_fakes():
    """The fakes the hidden case's G makes from its noise with fake_y, and with real_y (a slip)."""
    G, _, _, real_y, fake_y, noise = _step_case()
    with torch.no_grad():
        z = noise(len(fake_y))
        return {"fake": G(z, fake_y), "fake_real_y": G(z, real_y)}


def _structure_problem(opt_d, noise, into_g, G, G0, n: int):
    """What the step did besides D's loss: one update, one noise batch, G untouched."""
    if into_g:
        return ("gradients reached G during D's step: make the fakes under torch.no_grad() (or detach them), "
                "so that D's loss is not backpropagated into G.")
    if len(opt_d.steps) != 1:
        return f"opt_d.step() ran {len(opt_d.steps)} times: one D step is one update of D."
    if noise.calls != [n]:
        return (f"call noise(n) once, for n = {n} fakes, one per label of fake_y (your calls: {noise.calls}); "
                "the checker replays your step with the same noise.")
    if not _same(_params(G), G0):
        return "G's weights changed during D's step: in the D step only D learns."
    return None


def _step_case_problem(fn):
    """The student's D step on the hidden case, traced; returns (a hint or None, a note)."""
    case = _step_case()
    G, D, real, real_y, fake_y, noise = case
    G0, opt_d, into_g = _params(G), torch.optim.SGD(D.parameters(), lr=0.1), []
    opt_d.steps = []
    opt_d.register_step_pre_hook(lambda *a: opt_d.steps.append(1))
    list(G.parameters())[-1].register_hook(lambda grad: into_g.append(1))
    calls, hook = _traced_d(D)
    out, problem = _run(fn, (G, D, opt_d, real, real_y, fake_y, noise), [hook])
    if problem:
        return problem, ""
    problem = _structure_problem(opt_d, noise, into_g, G, G0, len(fake_y))
    if problem:
        return problem, ""
    problem = _pairing_problem(_pairs(calls, real, _expected_fakes()), real_y, fake_y)
    if problem:
        return problem, ""
    return _weights_problem(_params(D), _loss_value(out))


@contextlib.contextmanager
def _package_step_watched():
    """While the block runs, calls of gan_edu.conditional.d_step are recorded in the list yielded."""
    original, called = conditional.d_step, []

    def recorded(*args, **kwargs):
        called.append(1)
        return original(*args, **kwargs)
    conditional.d_step = recorded
    try:
        yield called
    finally:
        conditional.d_step = original


def _trained_accuracy(fn):
    """Train the digits' conditional GAN ``ROUNDS`` rounds with the student's D step from a hidden
    seed (small nets, one thread); returns (mean label accuracy, None) or (None, a hint)."""
    from ..experiments.conditional import train_digits
    from ..metrics.conditional import conditional_digit_scores

    try:
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings(record=True), one_thread():
            gan = train_digits("projection", seed=2908, d_step=fn, steps=ROUNDS, lr_halvings=0, width=16)
            return conditional_digit_scores(gan)["mean"], None
    except Exception as err:  # a student's bug: report it, never raise
        return None, "trained with your step, " + explained(err, ERRORS, "D")


def check_fixed_d_step(fn) -> bool:
    """Check ``fn(G, D, opt_d, real, real_y, fake_y, noise) -> loss_d``: the labelled D step, fixed.

    One step on a hidden case, traced and replayed (see the module's text), then ``ROUNDS`` rounds
    of training from a hidden seed: G's mean label accuracy must reach ``TARGET`` (chance: 10%).
    ``gan_edu.conditional.d_step`` itself, or a step that calls it, is refused: the student writes
    it. Prints one verdict naming the mistake; returns ``True`` or ``False``."""
    name = "check_fixed_d_step"
    if not callable(fn):
        return _fail(name, f"pass your function itself (e.g. {name}(fixed_d_step)), got {type(fn).__name__}.")
    refused = ("your step {} gan_edu.conditional.d_step, the package's labelled D step: write it yourself "
               "(fix suspect_d_step).")
    if fn is conditional.d_step:
        return _fail(name, refused.format("is"))
    with one_thread(), _package_step_watched() as called:
        problem, note = _step_case_problem(fn)
    if called:
        return _fail(name, refused.format("calls"))
    if problem:
        return _fail(name, problem)
    accuracy, problem = _trained_accuracy(fn)
    if problem:
        return _fail(name, problem)
    if not accuracy >= TARGET:
        return _fail(name, f"your step passes the one-step test, but trained {ROUNDS} rounds with it G draws the "
                           f"digit asked for only {accuracy:.0%} of the time (chance: {CHANCE:.0%}).")
    return _ok(name, f"One step on a hidden case pairs every image with the right label and updates D as the "
                     f"labelled D step does; trained {ROUNDS} rounds with your step from a hidden seed, G draws "
                     f"the digit asked for at least {TARGET:.0%} of the time (chance: {CHANCE:.0%}).{note}")


# --------------------------------------------------------------------------- the check of understanding
QUESTIONS = [
    Question("A conditional G is asked for a 3 and draws a perfect 8. Which discriminator can tell that this "
             "pair is fake?", answer=1,
             choices=("notebook 05's D(x), which sees the image alone",
                      "D(x, y) trained on real images with their own labels, the fake judged with the label 3",
                      "D(x, y) trained on real images paired with the fakes' labels (suspect_d_step)",
                      "none: a perfect 8 looks like real data"),
             why=("Only a D that has seen real pairs, each image with its own label, learns that an 8 does not "
                  "go with the label 3. D(x) sees a realistic digit; a D trained on real images with random "
                  "labels has learned that any digit goes with any label.")),
    Question("In a projection discriminator D(x, y) = ψ(φ(x)) + embed(y) · φ(x), the embeddings of the classes 3 "
             "and 8 have become the same vector. For an image x, what is D(x, 3) - D(x, 8)?", answer=0.0,
             tolerance=1e-9,
             why=("D(x, 3) - D(x, 8) = (embed(3) - embed(8)) · φ(x) = 0, whatever x: ψ(φ(x)) does not depend on "
                  "the label. D cannot prefer either label for any image, so a G asked for a 3 can draw an 8 "
                  "unpunished.")),
]

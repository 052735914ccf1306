"""How well does a conditional G draw the class it is asked for? (``gan_edu.conditional``)

- **label accuracy**: of G's images asked for class c, the share the course's digit classifier
  (``digits.digit_classifier``) calls c; per class, their mean over the classes and the worst class.
  Real held-out digits score the classifier's own accuracy (about 98%): a reference, not a bound
  (G's digits can score above it, being easy for the classifier).
- **FD** against the held-out digits (``digits.digit_fd(images, "test")``), compared with the
  real-vs-real floor ``digits.digit_fd_floor()``: G draws as many images as the training split
  holds (1,348), asked for the training split's labels, so a G that drew exactly its training
  digits would score the floor.

``LabelAccuracyTracker`` records label accuracy during ``ConditionalGAN.fit`` (a callback), from
fixed noise, so that its curve shows G changing, not sampling noise.
"""
from __future__ import annotations

import math

import torch

from ..checks import check_seed, is_number
from ..conditional import check_labels
from .digits import digit_classifier, digit_fd, digit_fd_floor, digits_split

__all__ = ["label_accuracy", "conditional_digit_scores", "LabelAccuracyTracker"]


@torch.no_grad()
def label_accuracy(images: torch.Tensor, asked, classifier=None, classes: int = 10) -> dict:
    """Label accuracy of ``images`` asked for the labels ``asked`` (n,), judged by ``classifier``
    (images -> (n, classes) scores; default: the course's digit classifier).

    Returns ``dict(per_class, mean, worst, worst_class, counts)``: ``per_class[c]`` the share of the
    images asked for c that the classifier calls c (NaN for a class nobody asked for), ``mean`` their
    mean over the classes asked for, ``worst`` the smallest and ``worst_class`` its class, ``counts``
    how many images each class was asked for."""
    if classifier is None:
        if isinstance(images, torch.Tensor) and tuple(images.shape[1:]) != (1, 8, 8):
            raise ValueError(f"images must have shape (n, 1, 8, 8) for the digit classifier, got {tuple(images.shape)}")
        classifier = digit_classifier()
    if not callable(classifier):
        raise TypeError(f"classifier must be callable (images -> class scores), got {type(classifier).__name__}")
    if not isinstance(images, torch.Tensor) or not images.is_floating_point() or images.ndim < 2 or not len(images):
        raise TypeError(f"images must be a floating-point torch.Tensor of n >= 1 images, got "
                        f"{type(images).__name__} {tuple(getattr(images, 'shape', ()))}")
    asked = check_labels(asked, classes, len(images), "asked").cpu()
    images = images.detach().float().cpu()
    scores = classifier(images)
    if not isinstance(scores, torch.Tensor) or scores.shape != (len(images), classes):
        raise ValueError(f"classifier must return scores of shape ({len(images)}, {classes}), "
                         f"got {tuple(getattr(scores, 'shape', ()))}")
    called = scores.argmax(1).cpu()
    counts = torch.bincount(asked, minlength=classes)
    right = torch.bincount(asked[called == asked], minlength=classes)
    per_class = [right[c].item() / counts[c].item() if counts[c] else math.nan for c in range(classes)]
    asked_for = [c for c in range(classes) if counts[c]]
    worst_class = min(asked_for, key=lambda c: per_class[c])
    return dict(per_class=per_class, mean=sum(per_class[c] for c in asked_for) / len(asked_for),
                worst=per_class[worst_class], worst_class=worst_class, counts=counts.tolist())


def conditional_digit_scores(gan, classifier=None, seed: int | None = None) -> dict:
    """Label accuracy and FD of a conditional G on the digits (``gan.sample(labels)`` draws G(z, y)).

    G is asked for the training split's 1,348 labels; returns ``label_accuracy``'s entries plus
    ``fd`` (against the held-out test split), ``floor`` (``digit_fd_floor``), ``fd_ratio`` (fd / floor)
    and ``real`` (the label accuracy of the real held-out digits: a reference; G's digits can score above it).
    The noise z ~ N(0, I) comes from the GAN's own generator, or with ``seed`` from a generator of
    its own, which leaves the GAN's as it was (to measure during training without changing it)."""
    _, y_train, x_test, y_test = digits_split()
    z = None if seed is None else torch.randn(len(y_train), gan.noise_dim,
                                              generator=torch.Generator().manual_seed(check_seed("seed", seed)))
    images = gan.sample(y_train, z)
    scores = label_accuracy(images, y_train, classifier)
    fd, floor = digit_fd(images, reference="test"), digit_fd_floor()
    return dict(scores, fd=fd, floor=floor, fd_ratio=fd / floor, real=label_accuracy(x_test, y_test, classifier))


class LabelAccuracyTracker:
    """A ``fit`` callback: every ``every`` rounds (and at round 0 when called before training),
    the label accuracy of G(z_i, y_i) for ``per_class`` images of each class, judged by
    ``classifier`` (default: the course's digit classifier).

    The z_i are drawn once, from N(0, I) with a generator of their own (seed ``seed``), and the
    y_i are each class ``per_class`` times: the GAN's own noise generator is not touched, so
    tracking does not change the training. ``history`` holds ``step``, ``mean`` and ``worst``
    (``label_accuracy``'s entries), one entry per record."""

    def __init__(self, every: int = 50, per_class: int = 50, seed: int = 0, classifier=None):
        for name, value in (("every", every), ("per_class", per_class)):
            if not is_number(value, integer=True) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.every, self.per_class, self.seed, self.classifier = int(every), int(per_class), seed, classifier
        self._z = self._labels = None
        self.history: dict[str, list] = {"step": [], "mean": [], "worst": []}

    def __call__(self, gan) -> None:
        if gan.step % self.every:
            return
        if self._z is None:
            self._labels = torch.arange(gan.classes).repeat(self.per_class)
            rng = torch.Generator().manual_seed(check_seed("seed", self.seed))
            self._z = torch.randn(len(self._labels), gan.noise_dim, generator=rng)
        scores = label_accuracy(gan.sample(self._labels, self._z), self._labels, self.classifier, gan.classes)
        for key, value in (("step", gan.step), ("mean", scores["mean"]), ("worst", scores["worst"])):
            self.history[key].append(value)

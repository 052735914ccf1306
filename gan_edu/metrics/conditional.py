"""How well does a conditional G draw the class it is asked for? (``gan_edu.conditional``)

- **label accuracy**: of G's images asked for class c, the share the course's digit classifier
  (``digits.digit_classifier``) calls c; per class, their mean over the classes and the worst class.
  Real held-out digits score the classifier's own accuracy (about 98%), the ceiling.
- **FD** against the held-out digits (``digits.digit_fd(images, "test")``), compared with the
  real-vs-real floor ``digits.digit_fd_floor()``: G draws as many images as the training split
  holds (1,348), asked for the training split's labels, so a G that drew exactly its training
  digits would score the floor.
"""
from __future__ import annotations

import math

import torch

from ..conditional import check_labels
from .digits import digit_classifier, digit_fd, digit_fd_floor, digits_split

__all__ = ["label_accuracy", "conditional_digit_scores"]


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


def conditional_digit_scores(gan, classifier=None) -> dict:
    """Label accuracy and FD of a conditional G on the digits (``gan.sample(labels)`` draws G(z, y)).

    G is asked for the training split's 1,348 labels; returns ``label_accuracy``'s entries plus
    ``fd`` (against the held-out test split), ``floor`` (``digit_fd_floor``), ``fd_ratio`` (fd / floor)
    and ``real`` (the label accuracy of the real held-out digits: the classifier's ceiling)."""
    _, y_train, x_test, y_test = digits_split()
    images = gan.sample(y_train)
    scores = label_accuracy(images, y_train, classifier)
    fd, floor = digit_fd(images, reference="test"), digit_fd_floor()
    return dict(scores, fd=fd, floor=floor, fd_ratio=fd / floor, real=label_accuracy(x_test, y_test, classifier))

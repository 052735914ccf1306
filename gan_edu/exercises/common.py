"""What every checker shares: how it answers, and how it calls the student's code.

A checker never raises on a wrong answer: it prints what is wrong and returns ``False``
(``fail``); on a right answer it prints one line and returns ``True`` (``ok``). A function still
holding the student edition's stub (``raise NotImplementedError``) gets "not done yet"
(``not_done``), so the student edition runs top to bottom.

``score(passed)`` turns a verdict into the number nbgrader's autograde reads from a graded test
cell's output (its partial credit): the cell's points for a right answer, 0 otherwise. A test cell
ends with it, so a wrong answer scores 0 without an error that would stop "Run all".
"""
from __future__ import annotations

import contextlib

import torch

from ..checks import is_number

__all__ = ["RTOL", "ATOL", "NOT_DONE", "fail", "ok", "not_done", "raised", "explained", "close", "score", "Score",
           "one_thread"]

RTOL, ATOL = 1e-4, 1e-5
NOT_DONE = "not done yet: replace `raise NotImplementedError` with your code, then run this cell again."


def fail(name: str, message: str) -> bool:
    """Print ``name: not yet. <message>`` (or "not done yet" for the stub) and return False."""
    if message == NOT_DONE:
        return not_done(name)
    print(f"{name}: not yet. {message[0].upper()}{message[1:]}")
    return False


def raised(err: Exception) -> str:
    """What to tell a student whose function raised ``err``: "not done yet" for the stub,
    else the error in their words."""
    if isinstance(err, NotImplementedError):
        return NOT_DONE
    return f"your function raised {type(err).__name__}: {err}"


def explained(err: Exception, errors, step: str | None = None) -> str:
    """``raised(err)`` followed by what it usually means in a student's code: the meaning of the first
    ``(piece of PyTorch's message, meaning)`` in ``errors`` whose piece is in the message (a meaning
    may be a dict by ``step``); "not done yet" for the stub."""
    message = raised(err)
    if message == NOT_DONE:
        return message
    for piece, meaning in errors:
        if piece in str(err):
            return f"{message} -- {meaning[step] if isinstance(meaning, dict) else meaning}"
    return message


def ok(name: str, message: str) -> bool:
    """Print ``name: correct. <message>`` and return True."""
    print(f"{name}: correct. {message}")
    return True


def not_done(name: str) -> bool:
    """Print ``name: not done yet ...`` (the stub is still there) and return False."""
    print(f"{name}: {NOT_DONE}")
    return False


def close(a, b) -> bool:
    """``a`` and ``b`` equal within the checkers' tolerance, compared in float64."""
    return bool(torch.allclose(a.double(), b.double(), rtol=RTOL, atol=ATOL))


class Score(float):
    """A graded test cell's points: shown as "score: 1 / 1" in a notebook; its plain text (what
    nbgrader's autograde reads as the cell's partial credit) is the bare number."""

    def __new__(cls, points: float, out_of: float):
        self = super().__new__(cls, points)
        self.out_of = out_of
        return self

    def __repr__(self) -> str:
        return f"{float(self):g}"

    def _repr_markdown_(self) -> str:
        return f"score: {float(self):g} / {self.out_of:g}"


def score(passed: bool, points: float = 1) -> Score:
    """``points`` if ``passed`` is True (a checker's verdict), else 0, as a ``Score``."""
    if not isinstance(passed, bool):
        raise TypeError(f"score(passed): passed must be a checker's True or False, not {type(passed).__name__}")
    if not is_number(points) or points <= 0:
        raise ValueError(f"score(passed, points): points must be a positive number, not {points!r}")
    return Score(points if passed else 0, points)


@contextlib.contextmanager
def one_thread():
    """Run a block on one CPU thread, then restore torch's thread count: the checkers' nets are tiny,
    and on a busy machine a second thread makes them several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)

r"""Checks of understanding: a question or two per notebook, answered with a click, never graded.

``understanding("02")`` shows notebook 02's questions (each exercises module holds its notebook's
``QUESTIONS``), each with a Check button and immediate feedback. Every answer is also written
below the questions as an ordinary output of the cell (a display the kernel updates in place), so it
is saved with the student's notebook and a teacher reading it sees what was answered. The
widgets are those of ipywidgets 7.7 (Colab) and 8 alike, and every callback runs on the kernel's
main thread (Colab drops widget updates made from other threads).

A question is a ``Question``: multiple choice (``choices``, ``answer`` the index of the right one)
or a number (no ``choices``; ``answer`` the number, right within ``tolerance``). ``judge`` says
whether an answer is right and why; it is what the widget calls.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from ..checks import is_number

__all__ = ["Question", "judge", "understanding", "MODULES"]

# each notebook's questions live beside its checkers: gan_edu/exercises/<module>.py, QUESTIONS
MODULES = {"01": "game", "02": "bce", "03": "steps", "04": "live", "05": "dcgan", "06": "fixes",
           "07": "divergence", "08": "conditional", "09": "wasserstein"}


@dataclass(frozen=True)
class Question:
    """One question: ``text``; ``choices`` (empty for a number); ``answer``: the right choice's
    index, or the number; ``why``: the explanation shown after any answer; ``tolerance``: how far a
    number may be from ``answer`` and still be right."""
    text: str
    answer: float
    why: str
    choices: tuple = ()
    tolerance: float = 0.0

    def __post_init__(self):
        if self.choices and not (is_number(self.answer, integer=True) and 0 <= self.answer < len(self.choices)):
            raise ValueError(f"Question: answer must index one of the {len(self.choices)} choices, not {self.answer!r}")
        if not self.choices and not is_number(self.answer):
            raise ValueError(f"Question: a number question's answer must be a number, not {self.answer!r}")


def judge(question: Question, given) -> tuple[bool, str]:
    """(right?, feedback) for the answer ``given``: a choice's index (or its text), or a number."""
    if question.choices:
        index = question.choices.index(given) if given in question.choices else given
        if not (is_number(index, integer=True) and 0 <= index < len(question.choices)):
            return False, "Pick one of the answers first."
        right = index == question.answer
    else:
        if not is_number(given):
            return False, "Type a number first."
        right = abs(given - question.answer) <= question.tolerance
    verdict = "Right." if right else f"Not quite: the answer is {_answer_text(question)}."
    return right, f"{verdict} {question.why}"


def _answer_text(question: Question) -> str:
    if question.choices:
        return f"“{question.choices[question.answer]}”"
    return f"{question.answer:g}"


def questions_of(notebook: str) -> list:
    """The questions of notebook ``notebook`` ("01" ... ), from its exercises module."""
    if notebook not in MODULES:
        raise ValueError(f"understanding(notebook): one of {sorted(MODULES)}, not {notebook!r}")
    return list(importlib.import_module(f".{MODULES[notebook]}", __package__).QUESTIONS)


def _record_text(questions, answers: dict) -> str:
    lines = ["**Your answers** (saved with the notebook, not graded):"]
    for i, q in enumerate(questions):
        if i in answers:
            given, right = answers[i]
            lines.append(f"- Q{i + 1}: {given} ({'right' if right else 'not right yet'})")
        else:
            lines.append(f"- Q{i + 1}: not answered yet")
    return "\n".join(lines)


def _number(text: str):
    """The number typed in a text box, or None."""
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        return None


def _question_box(i, question, on_answer):
    import ipywidgets as widgets
    title = widgets.HTML(f"<b>Q{i + 1}.</b> {question.text}")
    if question.choices:
        field = widgets.RadioButtons(options=list(question.choices), value=None,
                                     layout=widgets.Layout(width="auto"))
    else:
        field = widgets.Text(placeholder="a number", description="answer:", layout=widgets.Layout(width="220px"))
    button = widgets.Button(description="Check", button_style="info")
    feedback = widgets.HTML("")

    def check(_):
        given = field.value if question.choices else _number(field.value)
        right, text = judge(question, given)
        colour = "#1a7f37" if right else "#b42318"
        feedback.value = f"<span style='color:{colour}'>{text}</span>"
        if given is not None:
            on_answer(i, given, right)

    button.on_click(check)
    return widgets.VBox([title, field, button, feedback])


def understanding(notebook: str):
    """Show notebook ``notebook``'s check of understanding; returns nothing (the widgets and the
    record are displayed)."""
    import ipywidgets as widgets
    from IPython.display import Markdown, display
    questions = questions_of(notebook)
    answers, record = {}, None

    def on_answer(i, given, right):
        answers[i] = (given, right)
        record.update(Markdown(_record_text(questions, answers)))

    display(widgets.VBox([_question_box(i, q, on_answer) for i, q in enumerate(questions)]))
    record = display(Markdown(_record_text(questions, answers)), display_id=True)

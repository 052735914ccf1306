"""The checks of understanding (gan_edu.exercises.quiz): judging an answer, every notebook's
questions well formed, the widgets built on the installed ipywidgets, the answer recorded."""
import pytest

from gan_edu.exercises import quiz
from gan_edu.exercises.quiz import Question, judge

CHOICE = Question("Which?", answer=1, why="Because.", choices=("a", "b", "c"))
NUMBER = Question("How much?", answer=0.69, why="log 2.", tolerance=0.01)


@pytest.mark.parametrize("given, right", [(1, True), ("b", True), (0, False), ("c", False)])
def test_a_choice_is_judged_by_index_or_text(given, right):
    ok, text = judge(CHOICE, given)
    assert ok is right and "Because." in text
    assert ("Right." in text) is right and (right or "“b”" in text)


@pytest.mark.parametrize("given", [None, 3, -1, "d", True])
def test_no_choice_is_not_an_answer(given):
    assert judge(CHOICE, given) == (False, "Pick one of the answers first.")


@pytest.mark.parametrize("given, right", [(0.69, True), (0.695, True), (0.70, False), (-0.69, False)])
def test_a_number_is_right_within_the_tolerance(given, right):
    assert judge(NUMBER, given)[0] is right


@pytest.mark.parametrize("given", [None, "0.69", True])
def test_a_number_question_wants_a_number(given):
    assert judge(NUMBER, given) == (False, "Type a number first.")


@pytest.mark.parametrize("kwargs", [dict(answer=3, choices=("a", "b")), dict(answer=0.5, choices=("a", "b")),
                                    dict(answer="x")])
def test_a_malformed_question_is_refused(kwargs):
    with pytest.raises(ValueError, match="Question"):
        Question("?", why="", **kwargs)


@pytest.mark.parametrize("notebook", sorted(quiz.MODULES))
def test_every_notebook_has_one_or_two_questions_with_an_explanation(notebook):
    questions = quiz.questions_of(notebook)
    assert 1 <= len(questions) <= 2 and all(isinstance(q, Question) for q in questions)
    for q in questions:
        assert judge(q, q.answer)[0] is True and len(q.why) > 20
        wrong = (q.answer + 1) % len(q.choices) if q.choices else q.answer + 10 * q.tolerance + 1
        assert judge(q, wrong)[0] is False


def test_an_unknown_notebook_is_refused():
    with pytest.raises(ValueError, match="one of"):
        quiz.questions_of("99")


def test_answers_are_recorded_in_the_cells_output(monkeypatch):
    # the widget's Check button judges the answer and updates the record the cell displayed
    pytest.importorskip("ipywidgets")
    shown, updates = [], []

    class Handle:
        def update(self, obj):
            updates.append(obj.data)

    def fake_display(obj, display_id=None):
        shown.append(obj)
        return Handle() if display_id else None

    import IPython.display
    monkeypatch.setattr(IPython.display, "display", fake_display)
    monkeypatch.setattr(quiz, "questions_of", lambda nb: [CHOICE, NUMBER])
    quiz.understanding("01")
    box = shown[0]
    assert "Q1: not answered yet" in shown[1].data and "Q2: not answered yet" in shown[1].data
    first, second = box.children
    first.children[1].value = "b"
    first.children[2].click()
    assert "Right." in first.children[3].value and "Q1: b (right)" in updates[-1]
    second.children[1].value = "0.5"
    second.children[2].click()
    assert "Not quite" in second.children[3].value and "Q2: 0.5 (not right yet)" in updates[-1]
    second.children[1].value = "no idea"
    second.children[2].click()
    assert "Type a number first." in second.children[3].value and len(updates) == 2

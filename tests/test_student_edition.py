"""The student edition (tools/student.py, `make student`): stubs in place of solutions, and it runs.

- the committed student/notebooks/ is what `make student` writes from notebooks/ now;
- no solution text is left in it;
- run from the top (fast mode) through its last checker cell, it raises nothing, and every checker
  cell (the code cell right after a solution cell) says "not done yet"; no later cell uses a
  student's answer, so the rest runs as in the solution edition (which nbval runs);
- in the solution edition every checker cell passes: its committed output says "correct" (and
  nbval re-checks that output, the cell being marked NBVAL_CHECK_OUTPUT).
"""
import importlib.util
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("student", ROOT / "tools" / "student.py")
student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(student)
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EDITION = ROOT / "student" / "notebooks"


def load(path):
    return json.loads(Path(path).read_text())


def checker_cells(nb):
    """(index of each solution code cell, index of the code cell after it: its checker)."""
    cells = nb["cells"]
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    return [(i, code[code.index(i) + 1]) for i in code if student.is_solution(cells[i]) and i != code[-1]]


# ---------------------------------------------------------------------------- the stub
def test_a_solution_region_becomes_the_stub_at_its_indentation():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION\n\nprint(1)"
    assert student.stub_source(src) == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError\n\nprint(1)"
    assert student.stub_source("a\n### BEGIN SOLUTION\nsecret\n### END SOLUTION", markdown=True) == \
        "a\nYOUR ANSWER HERE"


@pytest.mark.parametrize("src", ["### BEGIN SOLUTION\nx", "x\n### END SOLUTION",
                                 "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION"])
def test_unbalanced_markers_are_refused(src):
    with pytest.raises(ValueError, match="SOLUTION"):
        student.stub_source(src)


# ---------------------------------------------------------------------------- the committed edition
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_committed_student_edition_is_current(path):
    assert (EDITION / path.name).exists(), "run: make student"
    assert load(EDITION / path.name) == student.student_notebook(load(path)), "run: make student"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_solution_text_is_left(path):
    nb, ed = load(path), load(EDITION / path.name)
    for i, cell in enumerate(nb["cells"]):
        if not student.is_solution(cell):
            continue
        text, stubbed = "".join(cell["source"]), "".join(ed["cells"][i]["source"])
        region = text.split(student.BEGIN, 1)[1].split(student.END, 1)[0]
        for line in region.split("\n"):
            if len(line.strip()) > 12 and not line.strip().startswith("#"):
                assert line.strip() not in stubbed, f"{path.stem} cell {i}: {line.strip()!r} left in"
        assert student.BEGIN not in stubbed and "raise NotImplementedError" in stubbed or \
            cell["cell_type"] == "markdown"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_solution_passes_its_checker_in_the_solution_edition(path):
    nb = load(path)
    pairs = checker_cells(nb)
    assert len(pairs) >= 2, f"{path.stem}: at least two exercises, each a solution cell then its checker"
    for _, check in pairs:
        cell = nb["cells"][check]
        text = "".join(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
                       for o in cell["outputs"] if o.get("output_type") == "stream")
        assert "exercises" in "".join(cell["source"]) and ": correct." in text, f"{path.stem} cell {check}"
        assert "".join(cell["source"]).startswith("# NBVAL_CHECK_OUTPUT")


# ---------------------------------------------------------------------------- the edition runs
def defined_names(source: str) -> set:
    """The functions and variables a solution cell defines at its top level."""
    import ast

    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_later_cell_uses_a_students_answer(path):
    # so that the student edition runs on after a stub: the story goes on with the package's functions
    import re

    nb = load(path)
    cells = nb["cells"]
    for solution, check in checker_cells(nb):
        for name in defined_names("".join(cells[solution]["source"])):
            for i in range(check + 1, len(cells)):
                if cells[i]["cell_type"] != "code" or student.is_solution(cells[i]):
                    continue  # another answer may build on this one: both are stubs in the student edition
                code = re.sub(r"#.*", "", "".join(cells[i]["source"]))
                assert not re.search(rf"(?<![\w.]){re.escape(name)}\b", code), \
                    f"{path.stem}: cell {i} uses {name!r}, the student's answer of cell {solution}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_student_edition_runs_and_says_not_done_yet(path, tmp_path):
    # Run from the top through the last checker cell: the cells after it are the solution
    # edition's own (nbval runs them) and use no answer of the student's (the test above).
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    nb = nbformat.read(EDITION / path.name, as_version=4)
    pairs = checker_cells(load(path))  # the same cells as the solution edition's (the stubs carry no marker)
    nb.cells = nb.cells[:pairs[-1][1] + 1]
    os.environ.setdefault("GAN_EDU_FAST", "1")
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    for _, check in pairs:
        out = "".join(o.get("text", "") for o in nb.cells[check].outputs if o.get("output_type") == "stream")
        assert "not done yet" in out, f"{path.stem} cell {check}: {out!r}"

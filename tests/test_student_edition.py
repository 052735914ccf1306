"""The student edition (tools/student.py, `make student`): stubs in place of solutions, and it runs.

- the committed student/notebooks/ is what `make student` writes from notebooks/ now;
- no solution text is left in it;
- run from the top (fast mode) through its last checker cell, it raises nothing, and every checker
  cell (the code cell right after a solution cell) says "not done yet"; no later cell uses a
  student's answer, so the rest runs as in the solution edition (which nbval runs);
- in the solution edition every checker cell passes: its committed output says "correct" (and
  nbval re-checks that output, the cell being marked NBVAL_CHECK_OUTPUT).
"""
from __future__ import annotations

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
    assert student.stub_source(src) == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nprint(1)"
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


# lines any cell may hold without giving an answer away (sampling without a graph, in any cell)
GENERIC = {"withtorch.no_grad():"}


def significant_lines(region: str) -> set:
    """The pieces of a solution region that would give the answer away, without whitespace: each
    line longer than 12 characters that is not a comment (its trailing comment removed), and the
    expression it returns or assigns, when that is longer than 12 characters too."""
    import re

    out = set()
    for line in region.split("\n"):
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line.startswith("#"):
            continue
        expression = re.sub(r"^(return\s+|[\w\s,.\[\]]+?=(?!=)\s*)", "", line)
        out |= {re.sub(r"\s+", "", piece) for piece in (line, expression) if len(piece) > 12}
    return out - GENERIC


def cell_texts(cell) -> list:
    """A cell's source and the text of each of its outputs."""
    texts = ["".join(cell["source"])]
    for out in cell.get("outputs", []):
        texts.append("".join(out.get("text", "")))
        texts += ["".join(v) if isinstance(v, list) else v for k, v in out.get("data", {}).items()
                  if k.startswith("text/")]
    return texts


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_student_edition_holds_no_answer_anywhere(path):
    # no significant line of any solution region appears in any cell of the student edition: not in
    # its own stub, not in another code cell, not in markdown, not in an output
    import re

    nb, ed = load(path), load(EDITION / path.name)  # pieces short enough to be common (x = y + 1) are left out
    flat = lambda text: re.sub(r"\s+", "", text)
    haystack = [(i, flat(t)) for i, cell in enumerate(ed["cells"]) for t in cell_texts(cell)]
    for j, cell in enumerate(nb["cells"]):
        if not student.is_solution(cell):
            continue
        text = "".join(cell["source"])
        while student.BEGIN in text:
            region, text = text.split(student.BEGIN, 1)[1].split(student.END, 1)
            for line in significant_lines(region):
                found = [i for i, t in haystack if line in t]
                assert not found, f"{path.stem}: cell {j}'s answer line {line!r} is in student cell(s) {found}"


def test_a_leak_is_found():
    # the test above would see an answer line copied into a markdown cell or an output
    region = "    x = torch.ones_like(real_logits)\n    return x  # short\n    return F.relu(x) + 1.0\n"
    assert significant_lines(region) == {"x=torch.ones_like(real_logits)", "torch.ones_like(real_logits)",
                                         "returnF.relu(x)+1.0", "F.relu(x)+1.0"}
    cell = {"source": ["text"], "outputs": [{"data": {"text/plain": ["y = torch.ones_like( real_logits)"]}}]}
    assert any("torch.ones_like(real_logits)" in "".join(t.split()) for t in cell_texts(cell))


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
        points = cell["metadata"]["nbgrader"]["points"]
        assert score_of(cell) == points, f"{path.stem} cell {check}: scored {score_of(cell)} of {points}"


def score_of(cell) -> float | None:
    """The points a test cell's output gives, as nbgrader's autograde reads them (its plain text)."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "execute_result":
            return float("".join(out["data"]["text/plain"]))
    return None


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
        assert score_of(nb.cells[check]) == 0, f"{path.stem} cell {check}: the stub scored {score_of(nb.cells[check])}"

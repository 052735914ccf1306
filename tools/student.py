"""The student edition: every solution replaced by a stub, every output cleared; and nbgrader's
cell metadata on the solution notebooks.

Solution cells carry nbgrader's markers. In a code cell, the lines from ``### BEGIN SOLUTION`` to
``### END SOLUTION`` become, at the marker's indentation, nbgrader's own stub::

    # YOUR CODE HERE
    raise NotImplementedError()

and in a markdown cell they become ``YOUR ANSWER HERE`` (nbgrader's text stub), so this edition and
``nbgrader generate_assignment``'s release hold the same cells. Each solution cell is followed by its
test cell: a ``gan_edu.exercises`` checker, then ``score(passed)``, the points nbgrader's autograde
reads from the cell's output. In the student edition it says "not done yet" and scores 0; with the
solutions back, it passes.

``mark`` writes nbgrader's metadata into the solution notebooks: every solution cell an answer cell
(``solution``, id: the first function it defines), the code cell after it a locked, graded test cell
(``grade``, id ``check_<that name>``, the points its ``score(...)`` call gives, 1 by default).

    python tools/student.py notebooks student/notebooks     # what `make student` runs: mark, then write
"""
import json
import re
import sys
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
MARKDOWN_STUB = ["YOUR ANSWER HERE"]


def stub_source(source: str, markdown: bool = False) -> str:
    """``source`` with each BEGIN..END SOLUTION region replaced by the stub."""
    out, inside = [], False
    for line in source.split("\n"):
        if line.strip() == BEGIN:
            if inside:
                raise ValueError(f"nested {BEGIN!r}")
            inside, indent = True, re.match(r"\s*", line).group()
            out += [indent + s for s in (MARKDOWN_STUB if markdown else CODE_STUB)]
        elif line.strip() == END:
            if not inside:
                raise ValueError(f"{END!r} without {BEGIN!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN!r} without {END!r}")
    return "\n".join(out)


def is_solution(cell: dict) -> bool:
    """The cell holds a solution region."""
    return any(line.strip() == BEGIN for line in "".join(cell["source"]).split("\n"))


def student_notebook(nb: dict) -> dict:
    """A copy of ``nb`` with stubs in place of solutions and no outputs."""
    nb = json.loads(json.dumps(nb))
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if is_solution(cell):
            text = stub_source(text, markdown=cell["cell_type"] == "markdown")
        lines = text.split("\n")
        cell["source"] = [line + "\n" for line in lines[:-1]] + [lines[-1]]
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return nb


def _nbgrader(grade_id: str, solution: bool, points: float = 0) -> dict:
    meta = {"grade": not solution, "grade_id": grade_id, "locked": not solution, "schema_version": 3,
            "solution": solution, "task": False}
    if not solution:
        meta["points"] = points
    return meta


def test_points(source: str) -> float:
    """The points a test cell's ``score(passed[, points=N])`` call gives (1 by default)."""
    calls = re.findall(r"score\(passed(?:,\s*points\s*=\s*([0-9.]+))?\)", source)
    if len(calls) != 1:
        raise ValueError(f"a test cell ends with one `score(passed)` call; found {len(calls)} in:\n{source}")
    return float(calls[0]) if calls[0] else 1


def mark(nb: dict, name: str = "notebook") -> dict:
    """A copy of ``nb`` with nbgrader's metadata: each solution cell an answer cell, the code cell
    after it its locked, graded test cell; any other cell none."""
    nb = json.loads(json.dumps(nb))
    cells = nb["cells"]
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    marked, ids = {}, set()
    for i in (i for i in code if is_solution(cells[i])):
        defined = re.search(r"^def (\w+)", "".join(cells[i]["source"]), re.M)
        if not defined or code.index(i) + 1 == len(code):
            raise ValueError(f"{name} cell {i}: a solution cell defines a function and has a test cell after it")
        test = code[code.index(i) + 1]
        grade_id = defined.group(1)
        if grade_id in ids:
            raise ValueError(f"{name} cell {i}: two solution cells define {grade_id}")
        ids.add(grade_id)
        marked[i] = _nbgrader(grade_id, True)
        marked[test] = _nbgrader(f"check_{grade_id}", False, test_points("".join(cells[test]["source"])))
    for i, cell in enumerate(cells):
        cell["metadata"].pop("nbgrader", None)
        if i in marked:
            cell["metadata"]["nbgrader"] = marked[i]
    return nb


def main(src: str, dst: str) -> None:
    out = Path(dst)
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(src).glob("*.ipynb")):
        marked = mark(json.loads(path.read_text()), path.stem)
        if marked != json.loads(path.read_text()):
            path.write_text(json.dumps(marked, indent=1, ensure_ascii=False) + "\n")
            print(f"{path}: nbgrader metadata written")
        nb = student_notebook(marked)
        (out / path.name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        print(f"{out / path.name}: {sum(map(is_solution, json.loads(path.read_text())['cells']))} solutions stubbed")


if __name__ == "__main__":
    main(*sys.argv[1:3])

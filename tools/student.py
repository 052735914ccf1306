"""The student edition: every solution replaced by a stub, every output cleared.

Solution cells carry nbgrader's markers. In a code cell, the lines from ``### BEGIN SOLUTION`` to
``### END SOLUTION`` become, at the marker's indentation::

    # YOUR CODE HERE
    raise NotImplementedError

and in a markdown cell they become ``YOUR ANSWER HERE``. Each solution cell is followed by its
checker cell (a call of a ``gan_edu.exercises`` checker): in the student edition it says "not done
yet"; with the solutions back, it passes.

    python tools/student.py notebooks student/notebooks     # what `make student` runs
"""
import json
import re
import sys
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError"]
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


def main(src: str, dst: str) -> None:
    out = Path(dst)
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(src).glob("*.ipynb")):
        nb = student_notebook(json.loads(path.read_text()))
        (out / path.name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        print(f"{out / path.name}: {sum(map(is_solution, json.loads(path.read_text())['cells']))} solutions stubbed")


if __name__ == "__main__":
    main(*sys.argv[1:3])

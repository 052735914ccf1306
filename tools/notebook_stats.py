"""The course's size rules, measured: words of markdown, the longest cells, the exercises.

Rules (issue "Ready for class"): at most 1,800 words of markdown per notebook, no markdown cell
over 250 words, no code cell over 15 lines, at least two exercises (solution cells with nbgrader's
markers, each followed by its checker cell) per notebook.

    python tools/notebook_stats.py notebooks/*.ipynb
"""
import json
import sys
from pathlib import Path

MAX_WORDS, MAX_CELL_WORDS, MAX_CODE_LINES, MIN_EXERCISES = 1800, 250, 15, 2
BEGIN = "### BEGIN SOLUTION"


def words(text: str) -> int:
    """Words as a reader counts them: whitespace-separated tokens (a formula counts by its pieces)."""
    return len(text.split())


def stats(nb: dict) -> dict:
    """Words of markdown (total, largest cell), longest code cell (lines), exercises."""
    md = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    return {"words": sum(map(words, md)), "largest_markdown_cell": max(map(words, md), default=0),
            "longest_code_cell": max((len(s.rstrip("\n").split("\n")) for s in code), default=0),
            "exercises": sum(BEGIN in s for s in code)}


def problems(s: dict) -> list:
    """The rules ``s`` (from ``stats``) breaks."""
    out = []
    if s["words"] > MAX_WORDS:
        out.append(f"{s['words']} words of markdown > {MAX_WORDS}")
    if s["largest_markdown_cell"] > MAX_CELL_WORDS:
        out.append(f"a markdown cell of {s['largest_markdown_cell']} words > {MAX_CELL_WORDS}")
    if s["longest_code_cell"] > MAX_CODE_LINES:
        out.append(f"a code cell of {s['longest_code_cell']} lines > {MAX_CODE_LINES}")
    if s["exercises"] < MIN_EXERCISES:
        out.append(f"{s['exercises']} exercises < {MIN_EXERCISES}")
    return out


if __name__ == "__main__":
    print(f"{'notebook':32s} {'words':>6s} {'max md':>6s} {'max code':>8s} {'exercises':>9s}")
    for path in map(Path, sys.argv[1:]):
        s = stats(json.loads(path.read_text()))
        print(f"{path.stem:32s} {s['words']:6d} {s['largest_markdown_cell']:6d} {s['longest_code_cell']:8d} "
              f"{s['exercises']:9d}  {'; '.join(problems(s))}")

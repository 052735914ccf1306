"""Keep the committed notebooks readable on every stack: no saved widget state.

A notebook saved from JupyterLab with ipywidgets 8 carries the widgets' state (models of
``@jupyter-widgets/controls@2.0.0``) in its metadata and a widget view in each widget's output;
opened with ipywidgets 7 (Colab, the classic notebook) that state raises page errors, and no
saved state is needed: the widgets come back when their cell runs. ``strip`` removes both,
leaving a plain-text note where a widget was; ``has_widget_state`` is what the tests check.

    python tools/notebook_state.py notebooks/*.ipynb    # strip in place
"""
import json
import sys
from pathlib import Path

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NOTE = "[an interactive widget: it appears when this cell runs]"


def has_widget_state(nb: dict) -> bool:
    """Saved widget state in the metadata, or a widget view in an output."""
    outputs = (o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))
    return "widgets" in nb.get("metadata", {}) or any(WIDGET_VIEW in o.get("data", {}) for o in outputs)


def strip(nb: dict) -> dict:
    """``nb`` without saved widget state (changed in place, and returned)."""
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb["cells"]:
        for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                out["data"] = {"text/plain": [NOTE]}
    return nb


def main(paths) -> None:
    for path in map(Path, paths):
        nb = json.loads(path.read_text())
        if has_widget_state(nb):
            path.write_text(json.dumps(strip(nb), indent=1, ensure_ascii=False) + "\n")
            print(f"stripped widget state: {path}")


if __name__ == "__main__":
    main(sys.argv[1:])

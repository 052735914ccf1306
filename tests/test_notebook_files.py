"""The committed notebooks open cleanly on every stack and set up Colab without upgrading it."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
spec = importlib.util.spec_from_file_location("notebook_state", ROOT / "tools" / "notebook_state.py")
notebook_state = importlib.util.module_from_spec(spec)
spec.loader.exec_module(notebook_state)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_saved_widget_state(path):
    # ipywidgets 8 state raises "Cannot find model module @jupyter-widgets/controls@2.0.0" under 7 (Colab)
    assert not notebook_state.has_widget_state(json.loads(path.read_text())), \
        f"run: python tools/notebook_state.py {path.relative_to(ROOT)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_colab_setup_cell_installs_without_dependencies_then_only_what_is_missing(path):
    setup = "".join(json.loads(path.read_text())["cells"][1]["source"])
    assert '"google.colab" in sys.modules' in setup and '"--no-deps"' in setup and "install_missing()" in setup
    assert "ipyevents" not in setup.split("install_missing")[0]  # nothing named by hand, nothing upgraded
    assert "--upgrade" not in setup and " -U" not in setup


def test_strip_removes_both_kinds_of_state():
    nb = {"metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {}}},
          "cells": [{"cell_type": "code", "outputs": [{"data": {notebook_state.WIDGET_VIEW: {"model_id": "x"},
                                                                 "text/plain": ["VBox()"]}}]}]}
    assert notebook_state.has_widget_state(nb)
    assert not notebook_state.has_widget_state(notebook_state.strip(nb))
    assert nb["cells"][0]["outputs"][0]["data"] == {"text/plain": [notebook_state.NOTE]}


spec_stats = importlib.util.spec_from_file_location("notebook_stats", ROOT / "tools" / "notebook_stats.py")
notebook_stats = importlib.util.module_from_spec(spec_stats)
spec_stats.loader.exec_module(notebook_stats)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_size_rules(path):
    # at most 1,800 words of markdown, 250 per cell, 15-line code cells, two exercises
    assert notebook_stats.problems(notebook_stats.stats(json.loads(path.read_text()))) == []


def test_the_size_rules_can_fail():
    s = notebook_stats.stats({"cells": [{"cell_type": "markdown", "source": ["word " * 251]},
                                        {"cell_type": "code", "source": ["x\n" * 16]}]})
    assert len(notebook_stats.problems(s)) == 3  # the cell's words, the code's lines, no exercise

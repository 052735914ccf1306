"""The package's layout: the core flat and first, each subpackage a layer above it, no import from
a lower layer back up, no import cycle, and the core importable without pyplot or widgets."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import gan_edu

PACKAGE = Path(gan_edu.__file__).resolve().parent  # the installed package (make test: the wheel)

# The layers, lowest first: a module may import modules of its own layer or of the layers below.
LAYERS = [
    {"device", "checks", "losses", "nets", "checkpoint", "colab"},
    {"algorithm", "data"},
    {"options", "settings", "wasserstein"},  # the options; the Wasserstein distance and its critic
    {"speed"},        # the speed switches GAN applies when it builds (speed/: switches, graphs)
    {"train", "conditional"},  # GAN, the facade; the conditional GAN (its nets, steps and trainer)
    {"metrics", "plots"},  # measurements (metrics/), the figures
    {"experiments"},  # recipes, several GANs at once, notebook 06's measurements, the Dirac-GAN
    {"live"},         # the playground
    {"exercises"},    # the checkers
]
CORE = {"__init__", "algorithm", "losses", "nets", "data", "options", "settings", "train", "checkpoint", "checks",
        "device", "plots", "colab", "conditional", "wasserstein"}


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name below gan_edu (``live.trainer``, ``train``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"] = path
    return out


def imports_of(name: str, path: Path) -> set[str]:
    """The gan_edu modules ``name`` imports, anywhere in the file (inside functions too)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    if name == "__init__":
        package = []
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            if not node.level and not (node.module or "").startswith("gan_edu"):
                continue
            mod = (node.module or "").removeprefix("gan_edu").lstrip(".") if not node.level else node.module
            target = base + (mod.split(".") if mod else [])
            for alias in node.names:  # `from . import x` names a module
                whole = ".".join(target + [alias.name])
                found.add(whole if whole in modules() else ".".join(target))
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("gan_edu.") for a in node.names if a.name.startswith("gan_edu.")}
    return {f for f in found if f and f != name}


def layer(name: str) -> int:
    top = name.split(".")[0]
    return next(i for i, group in enumerate(LAYERS) if top in group)


def test_the_top_level_holds_the_core_and_subpackages_only():
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top == CORE, f"modules at gan_edu's top level that are not the core: {sorted(top - CORE)}"
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == {"speed", "metrics", "experiments", "live", "exercises"}


def test_every_module_sits_in_a_layer():
    names = [n for n in modules() if n != "__init__"]
    assert all(any(n.split(".")[0] in g for g in LAYERS) for n in names), names


def test_no_import_from_a_lower_layer_back_up():
    up = [f"{name} (layer {layer(name)}) imports {dep} (layer {layer(dep)})"
          for name, path in modules().items() if name != "__init__"
          for dep in imports_of(name, path) if dep != "__init__" and layer(dep) > layer(name)]
    assert not up, "\n".join(up)


def test_no_import_cycle():
    graph = {name: imports_of(name, path) for name, path in modules().items()}
    state: dict[str, int] = {}

    def visit(node, trail):
        if state.get(node) == 1:
            pytest.fail("import cycle: " + " -> ".join(trail[trail.index(node):] + [node]))
        if state.get(node) == 2:
            return
        state[node] = 1
        for dep in graph.get(node, ()):
            if not (node == "__init__" or dep == "__init__"):
                visit(dep, trail + [node])
        state[node] = 2

    for name in graph:
        visit(name, [])


@pytest.mark.parametrize("module", ["gan_edu", "gan_edu.algorithm", "gan_edu.train", "gan_edu.losses"])
def test_the_core_loads_neither_pyplot_nor_widgets(module, tmp_path):
    code = (f"import sys, {module}\n"
            "print(sorted(m for m in ('matplotlib.pyplot', 'ipywidgets', 'gan_edu.live', 'gan_edu.exercises')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"import {module} loads {out.stdout.strip()}"


def test_the_subpackages_load_when_first_used():
    code = "import gan_edu as ge; print(ge.live.LiveTrainer.__name__, ge.exercises.check_d_step.__name__)"
    out = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["LiveTrainer", "check_d_step"]


def test_no_class_over_300_lines_and_no_function_over_40():
    """The teaching-code limits: each idea a short function, no class a reader cannot hold."""
    long = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            size = getattr(node, "end_lineno", 0) - getattr(node, "lineno", 0) + 1
            if isinstance(node, ast.ClassDef) and size > 300 or \
                    isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and size > 40:
                long.append(f"{name}.{node.name}: {size} lines")
    assert not long, long


def _private_reaches(tree: ast.AST) -> list[str]:
    """``x._name`` where ``x`` is not ``self`` or ``cls``: one object reading another's private state
    (``torch._...``, PyTorch's own fused kernels, excepted)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls", "torch"):
                continue
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_part_reads_another_objects_private_state():
    reaches = {path.relative_to(PACKAGE).as_posix(): _private_reaches(ast.parse(path.read_text()))
               for path in sorted(PACKAGE.rglob("*.py"))}
    assert {name: found for name, found in reaches.items() if found} == {}

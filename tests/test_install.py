"""The package as students get it: a wheel (from the sdist), installed non-editable, imported from
outside the checkout; and on the Colab stack, the setup cell's ``pip install --no-deps git+...``.

An editable install inside the checkout once hid that every non-editable install lacked
``gan_edu/exercises/`` (every notebook failed at its first import on Colab): these tests compare
what the wheel holds with the source tree, never with a hand-kept list.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

import gan_edu

ROOT = Path(__file__).resolve().parents[1]
COLAB_PYTHON = ROOT / ".stacks" / "colab" / "bin" / "python"


def source_modules() -> set[str]:
    """Every module of the source tree, as paths inside a wheel: gan_edu/.../name.py."""
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / "gan_edu").rglob("*.py")}


def from_source_tree(init: Path) -> bool:
    """Whether ``gan_edu/__init__.py`` at ``init`` is the checkout's own, not an installed copy."""
    return init.parent == ROOT / "gan_edu" or "site-packages" not in init.parts


def dotted(path: str) -> str:
    return path[:-3].replace("/", ".").removesuffix(".__init__")


def run(cmd, cwd, **kw):
    out = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, **kw)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The sdist and the wheel built from it (as ``python -m build`` does for a package index), and a
    second wheel built straight from the source tree (as ``pip install .`` or ``git+...`` does)."""
    pytest.importorskip("build", reason="the test extra's `build` is not installed: make install")
    out = tmp_path_factory.mktemp("dist")
    tree = out / "clone"  # the files git knows, as a clone has them: no stale build/ or egg-info to pick up
    for name in run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT).splitlines():
        if (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tree / name)
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out / "index", tree], cwd=out)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", out / "tree", tree],
        cwd=out)
    return {"sdist": next((out / "index").glob("*.tar.gz")), "wheel": next((out / "index").glob("*.whl")),
            "tree_wheel": next((out / "tree").glob("*.whl"))}


def test_the_wheel_holds_every_module_of_the_source_tree(built):
    names = set(zipfile.ZipFile(built["wheel"]).namelist())
    missing = sorted(source_modules() - names)
    assert not missing, f"the wheel lacks {len(missing)} module(s) of gan_edu/: {missing[:5]}"
    assert "gan_edu/exercises/__init__.py" in names  # the subpackage a hand-kept list once left out


def test_the_wheel_built_from_the_sdist_is_the_wheel_built_from_the_tree(built):
    a, b = zipfile.ZipFile(built["wheel"]), zipfile.ZipFile(built["tree_wheel"])
    assert sorted(a.namelist()) == sorted(b.namelist())
    differ = [n for n in a.namelist() if a.read(n) != b.read(n)]
    assert not differ, f"the two wheels differ in {differ}"


def test_the_metadata_a_package_index_would_accept(built):
    wheel = zipfile.ZipFile(built["wheel"])
    meta = wheel.read(next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    fields = [line.split(": ", 1) for line in meta.split("\n\n", 1)[0].splitlines() if ": " in line]
    head = {}
    for key, value in fields:
        head.setdefault(key, []).append(value)
    assert head["Version"] == [gan_edu.__version__]
    assert head["License-Expression"] == ["MIT"] and any(n.endswith("licenses/LICENSE") for n in wheel.namelist())
    assert head["Description-Content-Type"] == ["text/markdown"]
    assert meta.split("\n\n", 1)[1].startswith("# gan-edu")  # the README is the long description
    urls = dict(u.split(", ", 1) for u in head["Project-URL"])
    assert {"Homepage", "Source", "Issues"} <= set(urls)
    pytest.importorskip("twine", reason="the test extra's `twine` is not installed: make install")
    out = run([sys.executable, "-m", "twine", "check", "--strict", built["sdist"], built["wheel"]], cwd=ROOT)
    assert out.count("PASSED") == 2, out


def test_the_version_is_the_installed_metadata_version():
    assert gan_edu.__version__ == metadata.version("gan-edu")


@pytest.mark.skipif(os.environ.get("GAN_EDU_TEST_INSTALLED") != "1",
                    reason="`make test` runs the suite against the installed wheel (GAN_EDU_TEST_INSTALLED=1)")
def test_the_tests_import_the_installed_wheel_not_the_source_tree():
    where = Path(gan_edu.__file__).resolve()
    assert not from_source_tree(where), f"gan_edu was imported from the source tree ({where}), not the wheel"
    direct = json.loads(metadata.distribution("gan-edu").read_text("direct_url.json") or "{}")
    assert not direct.get("dir_info", {}).get("editable"), f"gan-edu is installed editable: {direct}"
    installed = {p.relative_to(where.parents[1]).as_posix() for p in where.parent.rglob("*.py")}
    assert installed == source_modules()  # the wheel installed is this tree's


def import_every_module(python, cwd, modules=None) -> str:
    """Import every module of the source tree (or of ``modules``, paths) with ``python``, from
    ``cwd``; return where gan_edu was."""
    names = sorted(dotted(p) for p in (source_modules() if modules is None else modules))
    code = (f"import importlib, gan_edu\nfor n in {names!r}: importlib.import_module(n)\n"
            "print(gan_edu.__file__)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return run([python, "-c", code], cwd=cwd, env=env, timeout=300).strip()


def test_every_module_imports_from_outside_the_checkout(tmp_path):
    where = Path(import_every_module(sys.executable, tmp_path))
    if os.environ.get("GAN_EDU_TEST_INSTALLED") == "1":
        assert not from_source_tree(where), where


def colab_stack():
    if not (COLAB_PYTHON.parent.parent / ".built").exists():
        pytest.skip("the Colab stack is not built: make stacks")
    return COLAB_PYTHON


def test_the_colab_stack_has_the_setup_cells_git_install():
    python = colab_stack()
    code = "from importlib.metadata import distribution as d; print(d('gan-edu').read_text('direct_url.json'))"
    direct = json.loads(run([python, "-c", code], cwd="/"))
    head = run(["git", "rev-parse", "HEAD"], cwd=ROOT).strip()
    assert direct["url"].startswith("file://") and direct["vcs_info"]["vcs"] == "git", direct
    assert direct["vcs_info"]["commit_id"] == head, "the Colab stack holds another commit: make stacks"
    assert "dir_info" not in direct  # not editable: pip built a wheel from its clone


def test_every_module_imports_on_the_colab_stack(tmp_path):
    python = colab_stack()  # it holds the committed HEAD: every module of HEAD's tree
    committed = run(["git", "ls-tree", "-r", "--name-only", "HEAD", "gan_edu"], cwd=ROOT).split()
    where = Path(import_every_module(python, tmp_path, [p for p in committed if p.endswith(".py")]))
    assert not from_source_tree(where), where

"""gan_edu.colab: the Colab setup cell installs only what is missing and never upgrades."""
from packaging.requirements import Requirement

from gan_edu import colab

COLAB = {"torch": "2.9.0+cu126", "numpy": "2.0.2", "matplotlib": "3.10.0", "scikit-learn": "1.6.1",
         "tqdm": "4.67.1", "packaging": "25.0", "ipywidgets": "7.7.1", "ipykernel": "6.17.1"}  # no ipyevents, no ui-poll


def test_the_requirements_are_the_package_and_its_notebook_extra():
    names = {r.name for r in colab.requirements()}
    assert {"torch", "ipywidgets", "ipyevents", "jupyter-ui-poll"} <= names
    assert not names & {"pytest", "nbval", "playwright", "jupyterlab", "gan-edu"}  # test and lab extras left out


def test_on_colab_only_the_missing_ones_are_installed():
    ran = []
    installed = colab.install_missing(version_of=COLAB.get, run=lambda cmd, check: ran.append(cmd))
    assert sorted(installed) == ["ipyevents>=2", "jupyter-ui-poll<1.1,>=1.0"]
    assert ran and ran[0][-2:] == installed and "--upgrade" not in ran[0] and "-U" not in ran[0]


def test_what_is_there_is_kept_even_outside_its_range(capsys):
    reqs = [Requirement("ipywidgets>=8"), Requirement("torch>=2.2")]
    install, notes = colab.missing(reqs, {"ipywidgets": "7.7.1", "torch": "2.9.0"}.get)
    assert install == [] and len(notes) == 1 and "ipywidgets 7.7.1 kept" in notes[0]
    colab.install_missing(reqs, {"ipywidgets": "7.7.1", "torch": "2.9.0"}.get, run=None)  # run never called
    out = capsys.readouterr().out
    assert "nothing to install" in out and "ipywidgets 7.7.1 kept" in out


def test_it_prints_what_it_installed(capsys):
    colab.install_missing([Requirement("ipyevents>=2")], lambda name: None, run=lambda cmd, check: None)
    assert capsys.readouterr().out.strip() == "installed: ipyevents>=2"


def test_here_everything_is_installed():
    install, _ = colab.missing()
    assert install == []


def test_the_colab_stack_kept_its_pins_after_the_setup_cell():
    # stacks/build.sh colab installs Colab's pins, then does what the notebooks' setup cell does
    import subprocess
    from pathlib import Path

    import pytest

    python = Path(__file__).resolve().parents[1] / ".stacks" / "colab" / "bin" / "python"
    if not python.exists():
        pytest.skip("the Colab stack is not built: make stacks")
    code = ("from importlib.metadata import version as v; "
            "print(*(v(n) for n in ('ipywidgets', 'ipykernel', 'ipython', 'ipyevents', 'jupyter-ui-poll')))")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[:3] == ["7.7.1", "6.17.1", "7.34.0"] and out[3].startswith("2.") and out[4].startswith("1.0")

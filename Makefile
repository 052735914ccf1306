# Two commands for a fresh machine (see README.md):
#   make lab    set up .venv and open the course in JupyterLab on notebook 01
#   make test   set up .venv and run every test: the package, the notebooks (nbval), the browser tests
#               (also on the Binder and Colab stacks, whose venvs `make stacks` builds in .stacks/)
VENV ?= .venv
PY := $(VENV)/bin/python
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install lab test student stacks
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -e ".[test]" -c constraints.txt
	touch $@

lab: install
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/01_the_adversarial_game.ipynb

# The students' Jupyter stacks for tests/test_stacks_browser.py (stacks/*.txt say where the pins
# come from); each is rebuilt only when a file it is built from changes. Not in parallel (make -j):
# both install the package in place (pip install -e .), writing the same gan_edu.egg-info.
stacks: .stacks/binder/.built .stacks/colab/.built

.stacks/binder/.built: stacks/build.sh stacks/binder.txt binder/requirements.txt pyproject.toml constraints.txt
	stacks/build.sh binder

.stacks/colab/.built: stacks/build.sh stacks/colab.txt constraints.txt
	stacks/build.sh colab

test: install stacks
	$(PY) -m pytest

# The student edition: solutions (between nbgrader's ### BEGIN / END SOLUTION) replaced by stubs.
student:
	python3 tools/student.py notebooks student/notebooks

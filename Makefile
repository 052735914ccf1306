# Two commands for a fresh machine (see README.md):
#   make lab    set up .venv and open the course in JupyterLab on notebook 01
#   make test   set up .venv and run every test: the package, the notebooks (nbval), the browser test
VENV ?= .venv
PY := $(VENV)/bin/python
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install lab test student
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -e ".[test]" -c constraints.txt
	touch $@

lab: install
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/01_the_adversarial_game.ipynb

test: install
	$(PY) -m pytest

# The student edition: solutions (between nbgrader's ### BEGIN / END SOLUTION) replaced by stubs.
student:
	python3 tools/student.py notebooks student/notebooks

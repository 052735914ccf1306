# Two commands for a fresh machine (see README.md):
#   make lab    set up .venv and open the course in JupyterLab on notebook 01
#   make test   set up .venv and run every test: the package as users install it (a wheel, imported
#               from outside the checkout), the notebooks (nbval), the browser tests (also on the
#               Binder and Colab stacks, whose venvs `make stacks` builds in .stacks/)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check -c constraints.txt
ROOT := $(CURDIR)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install wheel lab test student stacks
install: $(VENV)/.installed wheel

# The dependencies and the test tools, once (again when pyproject.toml or constraints.txt change).
$(VENV)/.installed: pyproject.toml constraints.txt
	rm -rf $(VENV) dist
	python3 -m venv $(VENV)
	$(PIP) "setuptools>=77" "build>=1"
	$(MAKE) --no-print-directory dist
	$(PIP) "$$(ls dist/gan_edu-*.whl)[test]"
	touch $@

# The package itself, every time: the sdist, the wheel built from that sdist (as a package index
# and `pip install git+...` build it), installed non-editable, as students get it: the tests import
# what the wheel holds, never the source tree (tests/test_install.py checks that).
dist:
	rm -rf dist build gan_edu.egg-info  # setuptools would reuse a stale file list from an earlier build
	$(PY) -m build --no-isolation --outdir dist . >/tmp/gan-edu-build.log 2>&1 \
	  || { tail -30 /tmp/gan-edu-build.log; exit 1; }
.PHONY: dist

wheel: $(VENV)/.installed dist
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --force-reinstall dist/gan_edu-*.whl

lab: install
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/01_the_adversarial_game.ipynb

# The students' Jupyter stacks for tests/test_stacks_browser.py (stacks/*.txt say where the pins
# come from and how each installs the package). Not in parallel (make -j).
stacks:
	stacks/build.sh binder
	stacks/build.sh colab

# pytest runs in an empty folder outside the checkout, so `import gan_edu` can only find the
# installed wheel (pytest's importlib mode puts no folder of the checkout on sys.path but tests/).
test: install stacks
	cd "$$(mktemp -d)" && GAN_EDU_TEST_INSTALLED=1 "$(ROOT)/$(PY)" -m pytest -c "$(ROOT)/pyproject.toml" \
	  --rootdir "$(ROOT)" "$(ROOT)/tests" "$(ROOT)/notebooks"

# The student edition: solutions (between nbgrader's ### BEGIN / END SOLUTION) replaced by stubs.
student:
	python3 tools/student.py notebooks student/notebooks

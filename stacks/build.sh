#!/usr/bin/env bash
# Build the virtualenv of one Jupyter stack that tests/test_stacks_browser.py runs the live
# playground on:  stacks/build.sh binder|colab   ->  .stacks/NAME/
#   binder  repo2docker's base (stacks/binder.txt) + binder/requirements.txt (less its index line),
#           the package editable (`-e .`), as repo2docker installs it from the repository's copy
#   colab   Colab's pins (stacks/colab.txt), the classic notebook UI, then the notebooks' setup cell:
#           `pip install --no-deps git+<repo>` (non-editable, from a clone of the committed tree,
#           reinstalled whenever HEAD moves), then gan_edu.colab.install_missing()
# ("lab", the latest JupyterLab, is the project's own .venv: `make install`.)
# Idempotent: the venv is rebuilt only when a file it is built from is newer than .stacks/NAME/.built;
# the colab stack's package is reinstalled when the committed HEAD differs from the one it holds.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: stacks/build.sh binder|colab}
venv=.stacks/$name
case $name in
  binder) inputs=(stacks/binder.txt binder/requirements.txt pyproject.toml constraints.txt stacks/build.sh) ;;
  colab)  inputs=(stacks/colab.txt constraints.txt pyproject.toml stacks/build.sh) ;;
  *) echo "unknown stack $name (binder or colab)" >&2; exit 2 ;;
esac
stamp=$venv/.built
pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check --no-compile -c constraints.txt)
# this machine's pip configuration adds local package folders; pip warns of each one it lacks
exec 2> >(grep -v "^WARNING: Location 'file:" >&2)
quiet() { "$@" >"$venv/.step.log" 2>&1 || { cat "$venv/.step.log" >&2; return 1; }; }

# The notebooks' Colab setup cell, word for word but for the URL: the package from git without its
# dependencies (non-editable: pip clones the repository, builds a wheel and installs it), then only
# what is missing (gan_edu.colab.install_missing: never upgrades what Colab ships). The URL is this
# repository: pip clones its committed tree at HEAD (uncommitted changes are not what students get).
colab_setup_cell() {
  local head root=$PWD
  head=$(git rev-parse HEAD)
  [ "$(cat "$venv/.commit" 2>/dev/null)" = "$head" ] && { echo "stack colab: gan_edu at $head"; return; }
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps --force-reinstall \
    "git+file://$root@$head"
  (cd /tmp && PIP_CONSTRAINT="$root/constraints.txt" "$root/$venv/bin/python" -c \
    "from gan_edu.colab import install_missing; install_missing()")
  echo "$head" > "$venv/.commit"
  echo "stack colab: gan_edu installed from git at $head"
}

if [ -f "$stamp" ]; then
  fresh=1
  for f in "${inputs[@]}"; do [ "$f" -nt "$stamp" ] && fresh=0; done
  if [ $fresh = 1 ]; then
    echo "stack $name: up to date ($venv)"
    if [ "$name" = colab ]; then colab_setup_cell; fi
    exit 0
  fi
fi
start=$(date +%s)
rm -rf "$venv"
python3 -m venv "$venv"
case $name in
  binder)
    # what repo2docker runs (pip install -r binder/requirements.txt, from the repository root),
    # less the PyTorch CPU index line, which is not reachable here: its pinned torch==X+cpu is the
    # CPU wheel that lies on this machine's disk (the version constraints.txt pins for every test)
    reqs=$venv/binder-requirements.txt
    grep -v -E '^[[:space:]]*(--extra-index-url|--index-url)' binder/requirements.txt > "$reqs"
    "${pip[@]}" -r stacks/binder.txt -r "$reqs"
    ;;
  colab)
    "${pip[@]}" -r stacks/colab.txt
    colab_setup_cell
    # ipyevents >= 2.0.2 wheels register its classic-notebook extension (etc/jupyter/nbconfig)
    # but no longer ship its files (share/jupyter/nbextensions/ipyevents): the classic notebook
    # then loads no ipyevents front end and the drawing pad takes no clicks. Install them.
    quiet "$venv/bin/python" -m jupyter nbextension install --py --sys-prefix ipyevents
    quiet "$venv/bin/python" -m jupyter nbextension enable --py --sys-prefix ipyevents
    quiet "$venv/bin/python" -m jupyter nbextension enable --py --sys-prefix widgetsnbextension
    ;;
esac
touch "$stamp"
echo "stack $name: built in $(( $(date +%s) - start )) s ($venv)"

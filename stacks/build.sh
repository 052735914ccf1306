#!/usr/bin/env bash
# Build the virtualenv of one Jupyter stack that tests/test_stacks_browser.py runs the live
# playground on:  stacks/build.sh binder|colab   ->  .stacks/NAME/
#   binder  repo2docker's base (stacks/binder.txt) + binder/requirements.txt (less its torch lines)
#   colab   Colab's pins (stacks/colab.txt), the classic notebook UI, the package with --no-deps
# ("lab", the latest JupyterLab, is the project's own .venv: `make install`.)
# Idempotent: skipped while .stacks/NAME/.built is newer than every file it was built from.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: stacks/build.sh binder|colab}
venv=.stacks/$name
case $name in
  binder) inputs=(stacks/binder.txt binder/requirements.txt pyproject.toml constraints.txt stacks/build.sh) ;;
  colab)  inputs=(stacks/colab.txt constraints.txt stacks/build.sh) ;;
  *) echo "unknown stack $name (binder or colab)" >&2; exit 2 ;;
esac
stamp=$venv/.built
if [ -f "$stamp" ]; then
  fresh=1
  for f in "${inputs[@]}"; do [ "$f" -nt "$stamp" ] && fresh=0; done
  if [ $fresh = 1 ]; then echo "stack $name: up to date ($venv)"; exit 0; fi
fi
start=$(date +%s)
rm -rf "$venv"
python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check --no-compile -c constraints.txt)
# this machine's pip configuration adds local package folders; pip warns of each one it lacks
exec 2> >(grep -v "^WARNING: Location 'file:" >&2)
quiet() { "$@" >"$venv/.step.log" 2>&1 || { cat "$venv/.step.log" >&2; return 1; }; }
case $name in
  binder)
    # what repo2docker runs (pip install -r binder/requirements.txt, from the repository root),
    # less the torch lines: the PyTorch CPU index is not reachable here, constraints.txt's torch is
    reqs=$venv/binder-requirements.txt
    grep -v -E '^[[:space:]]*(--extra-index-url|--index-url|torch[=<>~! ]|torch$)' binder/requirements.txt > "$reqs"
    "${pip[@]}" -r stacks/binder.txt -r "$reqs" torch
    ;;
  colab)
    "${pip[@]}" -r stacks/colab.txt
    # what the notebooks' Colab setup cell does: the package without its dependencies, then only
    # what is missing (gan_edu.colab.install_missing: never upgrades what Colab ships)
    "${pip[@]}" --no-deps -e .
    PIP_CONSTRAINT=constraints.txt "$venv/bin/python" -c "from gan_edu.colab import install_missing; install_missing()"
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

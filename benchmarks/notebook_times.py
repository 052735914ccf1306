"""How long each notebook takes to run top to bottom at full size, quiet and on a busy machine.

For each notebook: one run on the quiet machine, and one while another process keeps one core
busy (a Python loop spinning, as a neighbour on a shared Binder or Colab machine would), in
alternating order (quiet first for odd positions, busy first for even ones) so that a drift of
the machine's speed hits both sides alike. Each run executes the notebook with nbclient in a
fresh kernel, at full size (GAN_EDU_FAST=0). The quiet run's executed notebook can be saved
(``--save DIR``): those are the outputs to commit.

    python benchmarks/notebook_times.py                     # every notebook, quiet and busy
    python benchmarks/notebook_times.py --save /tmp/full 04_live_playground_2d
    python benchmarks/notebook_times.py --quiet-only 05

Prints a table (seconds, and busy / quiet) and writes it as JSON (``--json``).
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SPIN = "import time\nend = time.time() + 7200\nwhile time.time() < end: pass"


def run(path: Path, save: Path | None = None, tries: int = 3) -> float:
    """Seconds to execute ``path`` top to bottom at full size in a fresh kernel. A run whose cell
    waits over 5 minutes is abandoned and tried again, up to 3 times: a client seen waiting forever
    on an idle kernel (intermittent, nbclient and nbconvert alike, here)."""
    os.environ["GAN_EDU_FAST"] = "0"
    for attempt in range(tries):
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        try:
            NotebookClient(nb, timeout=300, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
            break
        except Exception as err:  # a timeout (or a hung kernel): say so, then try again
            print(f"{path.stem}: attempt {attempt + 1} failed: {type(err).__name__}: {str(err)[:200]}", flush=True)
            if attempt == tries - 1:
                raise
    took = time.perf_counter() - t0
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save / path.name)
    return took


def busy_run(path: Path) -> float:
    """``run(path)`` while another process keeps one core busy."""
    spinner = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        return run(path)
    finally:
        spinner.kill()
        spinner.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebook names (default: all)")
    parser.add_argument("--save", type=Path, help="write the quiet runs' executed notebooks here")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "notebook_times.json")
    parser.add_argument("--quiet-only", action="store_true")
    args = parser.parse_args()
    paths = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if args.notebooks:
        paths = [p for p in paths if any(p.stem.startswith(n) for n in args.notebooks)]
    rows = {}
    for k, path in enumerate(paths):
        quiet = busy = None
        if args.quiet_only or k % 2 == 0:
            quiet = run(path, args.save)
            busy = None if args.quiet_only else busy_run(path)
        else:
            busy = busy_run(path)
            quiet = run(path, args.save)
        rows[path.stem] = {"quiet_s": round(quiet, 1), "busy_s": None if busy is None else round(busy, 1)}
        ratio = "" if busy is None else f"{busy / quiet:6.2f}x"
        print(f"{path.stem:30s} quiet {quiet:7.1f} s   busy {busy or float('nan'):7.1f} s   {ratio}", flush=True)
    args.json.write_text(json.dumps({"cpu_count": os.cpu_count(), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()

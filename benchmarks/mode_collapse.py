"""Mode collapse on the ring of 8 and the 5x5 grid: the protocol of the mode-collapse literature.

Ring: 8 Gaussians on a circle of radius 2, std 0.02. Grid: 25 Gaussians at -4,-2,0,2,4 on each
axis, std 0.05. After training, 2,500 samples; a sample is high quality (HQ) within 3 std of its
nearest mode; a mode is recovered with at least 20 HQ samples (``gan_edu.metrics.mode_coverage``).
Every recipe (``gan_edu.recipes``) over ``--seeds`` seeds, mean ± std, and the CPU seconds of
each run (process time of all threads, ``torch.set_num_threads(--threads)``) and its wall-clock
seconds (the "under a minute on 2 cores" of issue 6 is wall-clock with ``--threads 2``).

    python benchmarks/mode_collapse.py                          # all recipes, 10 seeds
    python benchmarks/mode_collapse.py --recipes best --seeds 3 --set '{"steps": 4000}'
"""
from __future__ import annotations

import argparse
import json
import statistics

import torch

from gan_edu import recipes
from gan_edu.recipes import TASKS


def run_one(recipe, task: str, seed: int) -> dict:
    """Train ``recipe`` on ``task`` with ``seed``; the coverage of 2,500 samples and CPU seconds."""
    r = recipes.evaluate(recipe, task, seed)
    r.pop("gan")
    return r


def _mean_std(values) -> str:
    m = statistics.fmean(values)
    s = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{m:.1f} ± {s:.1f}"


def summarize(name: str, task: str, runs: list[dict]) -> dict:
    return dict(recipe=name, task=task, modes=_mean_std([r["modes"] for r in runs]), of=runs[0]["of"],
                hq=_mean_std([100 * r["hq"] for r in runs]), cpu_s=_mean_std([r["cpu_s"] for r in runs]),
                wall_s=_mean_std([r["wall_s"] for r in runs]), max_wall_s=f"{max(r['wall_s'] for r in runs):.0f}",
                seeds=len(runs), runs=runs)


def markdown_table(rows: list[dict]) -> str:
    lines = ["| recipe | task | modes recovered | high-quality % | CPU s / run | wall s / run (max) | seeds |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['recipe']} | {r['task']} | {r['modes']} / {r['of']} | {r['hq']} | {r['cpu_s']} | {r['wall_s']} ({r['max_wall_s']}) | {r['seeds']} |")
    return "\n".join(lines)


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", nargs="+", default=list(recipes.RECIPES))
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--set", default=None, help="JSON dict of recipe changes (top-level keys, dicts merged)")
    ap.add_argument("--json", default=None, help="also write every run to this JSON file")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.recipes:
        recipe = recipes.get_recipe(name)
        if args.set:
            for key, value in json.loads(args.set).items():
                if isinstance(value, dict) and isinstance(recipe.get(key), dict):
                    recipe[key].update(value)
                else:
                    recipe[key] = value
        for task in args.tasks:
            runs = []
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                r = run_one(recipe, task, seed)
                runs.append(r)
                print(f"  {name} {task} seed {seed}: {r['modes']}/{r['of']} modes, {100 * r['hq']:.1f}% HQ, "
                      f"{r['cpu_s']:.1f} CPU s, {r['wall_s']:.1f} wall s", flush=True)
            rows.append(summarize(name, task, runs))
            print(markdown_table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(markdown_table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == "__main__":
    main()

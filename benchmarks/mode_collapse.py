"""Mode collapse on the ring of 8 and the 5x5 grid: the protocol of the mode-collapse literature.

Ring: 8 Gaussians on a circle of radius 2, std 0.02. Grid: 25 Gaussians at -4,-2,0,2,4 on each
axis, std 0.05. After training, 2,500 samples; a sample is high quality (HQ) within 3 std of its
nearest mode; a mode is recovered with at least 20 HQ samples (``gan_edu.metrics.mode_coverage``).
Beyond the protocol, whether the samples match the data (``gan_edu.metrics.match``): each mode's spread
against the data's (1 is right), the KL of the mode histogram, the MMD to fresh real samples
against its real-vs-real band, precision and recall. Every recipe (``gan_edu.experiments.recipes``) over
``--seeds`` seeds: per score the mean and, in brackets, the worst seed; the CPU seconds of
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

from gan_edu.experiments import recipes
from gan_edu.experiments.recipes import TASKS


def run_one(recipe, task: str, seed: int) -> dict:
    """Train ``recipe`` on ``task`` with ``seed``; every score of 2,500 samples (``recipes.evaluate``
    with ``shape=True``) and the CPU and wall seconds."""
    r = recipes.evaluate(recipe, task, seed, shape=True)
    r.pop("gan")
    return r


def _mean_std(values) -> str:
    m = statistics.fmean(values)
    s = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{m:.1f} ± {s:.1f}"


# score -> (how a run is printed, what the worst seed is: the lowest, the highest, or the farthest from 1)
SCORES = {"modes": ("{:.0f}", min), "hq": ("{:.1%}", min), "spread": ("{:.2f}", lambda v: max(v, key=lambda x: abs(x - 1))),
          "spread_low": ("{:.2f}", min), "spread_high": ("{:.2f}", max), "kl": ("{:.3f}", max),
          "mmd": ("{:.1e}", max), "precision": ("{:.3f}", min), "recall": ("{:.3f}", min), "wall_s": ("{:.0f}", max)}


def summarize(name: str, task: str, runs: list[dict]) -> dict:
    """Per score: the mean over the seeds and the worst seed's value; how many runs' MMD lies
    inside the real-vs-real band."""
    out = dict(recipe=name, task=task, of=runs[0]["of"], seeds=len(runs), runs=runs,
               in_band=sum(bool(r["in_band"]) for r in runs), cpu_s=_mean_std([r["cpu_s"] for r in runs]))
    for key, (fmt, worst) in SCORES.items():
        values = [r[key] for r in runs]
        out[key] = f"{fmt.format(statistics.fmean(values))} ({fmt.format(worst(values))})"
    return out


def run_line(name, task, seed, r) -> str:
    return (f"  {name} {task} seed {seed}: " + ", ".join(f"{k} {fmt.format(r[k])}" for k, (fmt, _) in SCORES.items())
            + f", MMD in band {r['in_band']}")


def markdown_table(rows: list[dict]) -> str:
    """One row per recipe and task: the mean over the seeds, and in brackets the worst seed."""
    head = ["recipe", "task", "modes", "high quality", "spread (1 = data's)", "lowest mode spread", "highest",
            "histogram KL", "MMD", "MMD in band", "precision", "recall", "wall s", "seeds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["recipe"], r["task"], f"{r['modes']} / {r['of']}", r["hq"], r["spread"], r["spread_low"],
                 r["spread_high"], r["kl"], r["mmd"], f"{r['in_band']} / {r['seeds']}", r["precision"], r["recall"],
                 r["wall_s"], str(r["seeds"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", nargs="+", default=list(recipes.RECIPES))
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--seed-list", type=int, nargs="+", default=None, help="these seeds instead of --first-seed/--seeds")
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
            for seed in args.seed_list or range(args.first_seed, args.first_seed + args.seeds):
                r = run_one(recipe, task, seed)
                runs.append(r)
                print(run_line(name, task, seed, r), flush=True)
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

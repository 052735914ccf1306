"""The plain GAN vs WGAN-GP (Gulrajani et al.'s toy settings) vs SN-GAN on the ring of 8, on held-out seeds.

Notebook 09's three recipes (``gan_edu.experiments.wasserstein``: ``"gan"`` = recipes' ``vanilla``,
``"wgan_gp"`` = ``wgan_gp_toy``, ``"sngan"``) trained on the ring of 8 Gaussians for ``--factor``
times the lesson's budget, scored (2,500 samples, ``metrics.mode_coverage``) every ``EVERY`` rounds
along the way (``wasserstein.mode_curve``: the checks draw no training noise, so the score at the
lesson's budget is the one a run of that length gets). Per recipe and budget: modes of 8 per seed,
their mean and worst, the high-quality % (mean and worst), the CPU seconds of training (process
time of all threads, ``torch.set_num_threads(--threads)``, checks left out) and the first checked G
step at which all 8 modes were recovered.

Seeds: ``wgan_gp_toy``'s width and rounds and ``sngan``'s learning rate were chosen on seeds 0 and 1;
``vanilla`` is the course's fixed baseline. Report on seeds none of them saw (default 601-605).

    python benchmarks/wasserstein_ring.py --seeds 601 602 603 604 605 --threads 1
"""
from __future__ import annotations

import argparse
import json
import statistics

import torch

from gan_edu.experiments import wasserstein as w

EVERY = {"gan": 500, "wgan_gp": 250, "sngan": 500}  # rounds between checks (each divides the lesson's budget)


def run(name: str, seed: int, factor: int) -> dict:
    """One run of ``factor`` times the lesson's budget; its curve, and the rows at the lesson's budget
    and at the end."""
    lesson = w.lesson_rounds(name, fast=False)
    curve = w.mode_curve(name, seed, rounds=factor * lesson, every=EVERY[name])
    at = {row["round"]: row for row in curve}
    return dict(name=name, seed=seed, lesson=at[lesson], long=curve[-1], first_all=w.first_all_modes(curve),
                curve=curve)


def _line(row: dict) -> str:
    return f"{row['round']:,} G steps: {row['modes']}/8, {row['hq']:.1f}% HQ, {row['cpu_s']:.0f} CPU s"


def _mean_worst(values, fmt: str) -> str:
    return f"{fmt.format(statistics.fmean(values))} ({fmt.format(min(values))})"


def markdown_table(runs: list[dict], factor: int) -> str:
    """One row per recipe and budget: modes per seed, mean (worst), HQ % mean (worst), CPU s, first 8/8."""
    head = ["recipe", "G steps", "modes / 8 per seed", "modes, mean (worst)", "HQ %, mean (worst)", "CPU s / run",
            "all 8 first at G step, per seed"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in dict.fromkeys(r["name"] for r in runs):
        mine = [r for r in runs if r["name"] == name]
        for key in ("lesson", "long"):
            rows = [r[key] for r in mine]
            firsts = [r["first_all"] if r["first_all"] and r["first_all"] <= rows[i]["round"] else "-"
                      for i, r in enumerate(mine)]
            label = "lesson" if key == "lesson" else f"{factor}x lesson"
            cells = [name, f"{rows[0]['round']:,} ({label})", ", ".join(str(r["modes"]) for r in rows),
                     _mean_worst([r["modes"] for r in rows], "{:.1f}"), _mean_worst([r["hq"] for r in rows], "{:.1f}"),
                     f"{statistics.fmean(r['cpu_s'] for r in rows):.0f}", ", ".join(f"{f:,}" if f != "-" else f
                                                                                  for f in firsts)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[601, 602, 603, 604, 605])
    ap.add_argument("--recipes", nargs="+", default=list(w.RING_RECIPES), choices=list(w.RING_RECIPES))
    ap.add_argument("--factor", type=int, default=5, help="the longer budget, in lesson budgets")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="also write every run (with its curve) to this JSON file")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    runs = []
    for seed in args.seeds:
        for name in args.recipes:
            r = run(name, seed, args.factor)
            runs.append(r)
            print(f"  {name} seed {seed}: " + "; ".join(_line(r[k]) for k in ("lesson", "long"))
                  + f"; all 8 first at G step {r['first_all']}", flush=True)
    print()
    print(markdown_table(runs, args.factor))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runs, f, indent=1)
    return runs


if __name__ == "__main__":
    main()

"""Milliseconds per training round of a recipe with Adam's fused update on and off (``fused_adam``).

Same recipe, task, seed and process; the two settings are timed in alternating blocks (each a
fresh GAN trained ``--steps`` rounds), so both see the same machine load; the median block is
reported. The default is the ``best`` recipe of notebook 06 on the grid task:

    python benchmarks/fused_adam.py --threads 2            # the 2-core target of issue 6
    python benchmarks/fused_adam.py --threads 1 --recipe vanilla
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from gan_edu.experiments import recipes


def time_block(recipe: dict, task: str, steps: int, fused: bool) -> float:
    """Wall-clock ms per round of ``recipes.train`` with ``fused_adam=fused``."""
    recipe = recipes.get_recipe(recipe)
    recipe["gan"]["fused_adam"] = fused
    start = time.perf_counter()
    recipes.train(recipe, recipes.TASKS[task](seed=0), seed=0, steps=steps)
    return (time.perf_counter() - start) / steps * 1000


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="best", choices=list(recipes.RECIPES))
    ap.add_argument("--task", default="grid", choices=list(recipes.TASKS))
    ap.add_argument("--steps", type=int, default=1000, help="rounds per block")
    ap.add_argument("--blocks", type=int, default=5, help="blocks per setting")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    times = {False: [], True: []}
    time_block(args.recipe, args.task, 50, True)  # warm-up: first calls, allocator
    for _ in range(args.blocks):
        for fused in (False, True):
            times[fused].append(time_block(args.recipe, args.task, args.steps, fused))
    plain, fused = statistics.median(times[False]), statistics.median(times[True])
    print(f"{args.recipe} on {args.task}, {args.threads} thread(s), {args.blocks} blocks of {args.steps} rounds "
          f"(torch {torch.__version__}):")
    print(f"  plain Adam  {plain:.2f} ms/round (blocks {', '.join(f'{t:.2f}' for t in times[False])})")
    print(f"  fused Adam  {fused:.2f} ms/round (blocks {', '.join(f'{t:.2f}' for t in times[True])})")
    print(f"  fused / plain = {fused / plain:.2f}")
    return dict(plain_ms=plain, fused_ms=fused, blocks=times)


if __name__ == "__main__":
    main()

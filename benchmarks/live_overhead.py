"""How much does the live view slow training? LiveTrainer with its widget vs headless GAN.fit.

Same nets, data, batch, settings and number of rounds. "headless": ``GAN.fit`` (no view).
"live": ``LiveTrainer.start(steps)`` with the widget built, so the training thread redraws the
view at its normal rate (at most ``fps`` frames a second, at most ``max_draw_share`` of the
time), plus the mode-coverage metrics at every frame. Runs alternate (headless, live, headless,
...) so that a change in the machine's load hits both; the result is the median of the per-pair
ratios live / headless. Target: live no more than ~20% slower (ratio <= 1.2).

``--panels all`` (or a comma list of ``manifold,optimal,divergences``) also shows the optional
panels (G's manifold, D* vs D, KL / JS and V(D, G) computed at every frame); target there: training
at >= 80% of headless speed (ratio <= 1.25).

    OMP_NUM_THREADS=1 python benchmarks/live_overhead.py --threads 1
    OMP_NUM_THREADS=1 python benchmarks/live_overhead.py --threads 1 --panels all
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

import gan_edu as ge
from gan_edu.live import PANELS, LiveTrainer


def headless(args) -> float:
    ge.seed_everything(0)
    sampler = ge.live.DATASETS[args.data][1](0)
    dim = sampler.data_shape[0]
    gan = ge.GAN(ge.nets.MLPGenerator(2, dim, args.hidden, 3), ge.nets.MLPDiscriminator(dim, args.hidden, 3),
                 lr_d=1e-3, lr_g=1e-3, betas=(0.5, 0.999), device="cpu", seed=0)
    t0 = time.perf_counter()
    gan.fit(sampler, args.steps, args.batch_size, progress=False)
    return time.perf_counter() - t0


def live(args) -> tuple[float, int, float]:
    trainer = LiveTrainer(data=args.data, hidden=args.hidden, batch_size=args.batch_size, fps=args.fps,
                          panels={name: True for name in args.panels})
    trainer.widget()  # the view exists: frames are drawn and encoded as in the notebook
    frames0, draw0 = trainer.frames, trainer.draw_seconds
    t0 = time.perf_counter()
    trainer.start(args.steps)
    trainer.wait()
    took = time.perf_counter() - t0
    assert trainer.gan.step == args.steps, trainer.status()
    frames, draw = trainer.frames - frames0, trainer.draw_seconds - draw0
    trainer.close()
    return took, frames, draw


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="ring")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--fps", type=float, default=4.0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--panels", default="", help="optional panels to show: 'all' or a comma list of "
                   + ",".join(PANELS))
    args = p.parse_args(argv)
    args.panels = list(PANELS) if args.panels == "all" else [n for n in args.panels.split(",") if n]
    unknown = set(args.panels) - set(PANELS)
    if unknown:
        p.error(f"unknown panels {sorted(unknown)}; choose from {list(PANELS)}")
    target = 1.25 if args.panels else 1.2
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{args.data}, MLPs 3x{args.hidden}, batch {args.batch_size}, {args.steps} rounds, "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), panels: {args.panels or 'none'}")
    ratios = []
    for r in range(args.repeats):
        t_head = headless(args)
        t_live, frames, draw = live(args)
        ratios.append(t_live / t_head)
        print(f"repeat {r + 1}: headless {t_head:6.2f} s | live {t_live:6.2f} s, {frames} frames "
              f"({frames / t_live:.1f} per s, {1000 * draw / max(frames, 1):.0f} ms each, "
              f"{100 * draw / t_live:.0f}% of the time) | ratio {t_live / t_head:.3f}", flush=True)
    med = statistics.median(ratios)
    print(f"median ratio live / headless: {med:.3f} ({100 * (med - 1):+.1f}%; training at {100 / med:.0f}% of "
          f"headless speed); target <= {target:.2f}: {'met' if med <= target else 'NOT met'}")


if __name__ == "__main__":
    main()

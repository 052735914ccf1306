"""What the GAN Lab engine costs (issue 7): training rounds per second for each update scheme,
and the milliseconds of each grid estimate a live view would add per refresh.

    OMP_NUM_THREADS=1 python benchmarks/ganlab_costs.py --threads 1

Rounds: the 2D toy GAN of the notebooks (MLPs 128 x 3, ring of 8 Gaussians, batch 256), blocks
of ``--steps`` rounds per scheme, interleaved, median over ``--blocks``. View pieces: median of
``--repeats`` calls each, with 2,500 real and 2,500 generated samples on a 64 x 64 grid.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

import gan_edu as ge
from gan_edu import data, metrics, nets, plots
from gan_edu.live.drawpad import DrawPad


def make_gan(**kw):
    ge.seed_everything(0)
    return ge.GAN(nets.MLPGenerator(2, 2, hidden=128, depth=3), nets.MLPDiscriminator(2, hidden=128, depth=3),
                  lr_d=1e-3, lr_g=1e-3, device="cpu", **kw)


def rounds_per_second(args) -> dict:
    schemes = {"alternating": {}, "simultaneous": dict(update="simultaneous"),
               "alternating + two-sided smoothing": dict(label_smoothing="two_sided")}
    gans = {name: make_gan(**kw) for name, kw in schemes.items()}
    sampler = data.ring()
    for gan in gans.values():
        gan.fit(sampler, 10, args.batch, progress=False)  # warm-up
    rates = {name: [] for name in gans}
    for _ in range(args.blocks):
        for name, gan in gans.items():
            t = time.perf_counter()
            gan.fit(sampler, args.steps, args.batch, progress=False)
            rates[name].append(args.steps / (time.perf_counter() - t))
    return {name: statistics.median(r) for name, r in rates.items()}


def milliseconds(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def view_costs(args) -> dict:
    gan = make_gan()
    gan.fit(data.ring(), 50, args.batch, progress=False)
    real, fake = data.ring(seed=1)(2500), gan.sample(2500)
    grid = metrics.grid_points(3, 64)
    pad = DrawPad(lim=3)
    pad.add_points(data.ring()(300))
    return {
        "G(z): 2,500 samples": lambda: gan.sample(2500),
        "D on the 64 x 64 grid": lambda: gan.discriminate(grid),
        "divergences_on_grid (KL, reverse KL, JS, V*)": lambda: metrics.divergences_on_grid(real, fake, 3),
        "optimal_discriminator_on_grid": lambda: metrics.optimal_discriminator_on_grid(real, fake, 3),
        "manifold: G on a 15 x 15 noise grid": lambda: gan.sample(z=plots.noise_grid(gan.noise_dim, 15)),
        "DrawPad.render (PNG, 360 px, 300 points)": pad.render,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    print("\n| update scheme | rounds/s |\n|---|---:|")
    for name, rate in rounds_per_second(args).items():
        print(f"| {name} | {rate:.0f} |")
    print("\n| view piece | ms per call |\n|---|---:|")
    for name, fn in view_costs(args).items():
        print(f"| {name} | {milliseconds(fn, args.repeats):.1f} |")


if __name__ == "__main__":
    main()

"""Seconds of training until the generated digits' Fréchet distance falls below 2x the floor.

The floor is FD(real test split, real train split) in the feature space of gan_edu's digit
classifier (gan_edu.metrics); the generator's FD uses as many samples as the test split (449),
against the train split. Training time is counted; the evaluations every --eval-every steps are
not (they are timed and reported apart).

    python benchmarks/time_to_quality.py                 # CPU or GPU, whichever is there
    python benchmarks/time_to_quality.py --threads 1 --budget 90 --seed 1

Defaults: the recipe that reached the target on a 2-core CPU (RESULTS.md): DCGAN nets of width 32,
batch 64, Adam lr 2e-3 for both nets, halved every 800 rounds.
"""
from __future__ import annotations

import argparse
import time

import torch

import gan_edu as ge
from gan_edu import metrics

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--noise-dim", type=int, default=32)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--halve-every", type=int, default=800,
                   help="halve both learning rates every this many rounds (0: constant; a multiple of --eval-every)")
    p.add_argument("--budget", type=float, default=180.0, help="give up after this many training seconds")
    p.add_argument("--factor", type=float, default=2.0, help="target: FD < factor x floor")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--no-switches", action="store_true", help="train with all speed switches off")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = ge.get_device(args.device)
    switches = {} if args.no_switches else ge.speed.best_switches(device)
    print(ge.describe_device(device), f"| torch {torch.__version__} | {torch.get_num_threads()} threads | {switches}")

    t = time.perf_counter()
    floor = metrics.digit_fd_floor()  # trains (or loads) the classifier
    print(f"classifier ready + floor in {time.perf_counter() - t:.1f} s: FD floor (real test vs real train) = "
          f"{floor:.2f}; target FD < {args.factor * floor:.2f}")
    target = args.factor * floor
    n_eval = len(metrics.digits_split()[2])

    ge.seed_everything(args.seed)
    G = ge.nets.DCGANGenerator(noise_dim=args.noise_dim, image_size=8, width=args.width)
    D = ge.nets.DCGANDiscriminator(image_size=8, width=args.width)
    gan = ge.GAN(G, D, lr_d=args.lr, lr_g=args.lr, device=device, seed=args.seed, **switches)
    sampler = ge.data.TensorSampler(metrics.digits_split()[0], seed=args.seed)

    train_s = eval_s = 0.0
    fd = float("inf")
    while train_s < args.budget:
        t = time.perf_counter()
        gan.fit(sampler, steps=args.eval_every, batch_size=args.batch_size, progress=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
        train_s += time.perf_counter() - t
        if args.halve_every and gan.step % args.halve_every == 0:
            gan.set_lr(d=gan.lr_d / 2, g=gan.lr_g / 2)  # applied at the next round
        t = time.perf_counter()
        fd = metrics.digit_fd(gan.sample(n_eval))
        eval_s += time.perf_counter() - t
        print(f"step {gan.step:5d}  train {train_s:6.1f} s  FD {fd:8.2f}")
        if fd < target:
            break
    hist = metrics.digit_label_histogram(gan.sample(n_eval))
    verdict = "reached" if fd < target else "NOT reached"
    print(f"\n{verdict}: FD {fd:.2f} (floor {floor:.2f}, target < {target:.2f}) after {gan.step} steps, "
          f"{train_s:.1f} s of training ({eval_s:.1f} s more in evaluations); "
          f"digits drawn {hist['modes']}/10, KL(labels || uniform) = {hist['kl_uniform']:.3f}")
    return dict(reached=fd < target, seconds=train_s, steps=gan.step, fd=fd, floor=floor)


if __name__ == "__main__":
    main()

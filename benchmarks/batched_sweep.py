"""Seconds for a learning-rate sweep of N GANs: N lone GANs trained one after another vs one
``gan_edu.experiments.batched.BatchedGAN`` of N copies (the same GANs: copy i equals lone GAN i).

Both sides train the same nets (seeds 0..N-1, learning rates log-spaced from --lr-low to
--lr-high, D and G alike) for the same rounds on the same data, in the same process, in
alternating timed blocks so both see the same machine load; an untimed block first. Printed:
the median seconds per block of each side and their ratio (lone / batched: how many times
faster the batched sweep is).

    python benchmarks/batched_sweep.py --threads 2                       # CPU: MLP on the ring and the 8x8 DCGAN
    python benchmarks/batched_sweep.py --nets dcgan8 --batch-size 128    # notebook 05's nets and batch
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

import gan_edu as ge
from gan_edu.experiments.batched import BatchedGAN

NETS = {
    "mlp": lambda a: (ge.nets.MLPGenerator(2, 2, hidden=a.hidden, depth=3),
                      ge.nets.MLPDiscriminator(2, hidden=a.hidden, depth=3)),
    "dcgan8": lambda a: (ge.nets.DCGANGenerator(noise_dim=32, image_size=8, width=a.width),
                         ge.nets.DCGANDiscriminator(image_size=8, width=a.width)),
}


def sampler_for(name: str):
    return ge.data.ring(seed=0) if name == "mlp" else ge.data.TensorSampler(ge.data.digits()[0], seed=0)


def sweep(args) -> list:
    """N learning rates, log-spaced from --lr-low to --lr-high."""
    return torch.logspace(torch.log10(torch.tensor(args.lr_low)), torch.log10(torch.tensor(args.lr_high)),
                          args.n).tolist()


class Lone:
    """N GANs, trained one after another."""

    def __init__(self, name, args, device):
        self.gans = []
        for seed, lr in enumerate(sweep(args)):
            ge.seed_everything(seed)
            G, D = NETS[name](args)
            self.gans.append(ge.GAN(G, D, lr_d=lr, lr_g=lr, seed=seed, device=device))
        self.samplers = [sampler_for(name) for _ in self.gans]

    def run(self, steps, batch_size):
        for gan, sampler in zip(self.gans, self.samplers):
            gan.fit(sampler, steps=steps, batch_size=batch_size, progress=False)


class Batched:
    """The same N GANs as one BatchedGAN."""

    def __init__(self, name, args, device):
        lrs = sweep(args)
        self.gan = BatchedGAN(lambda: NETS[name](args), args.n, seeds=list(range(args.n)), lr_d=lrs, lr_g=lrs,
                              device=device)
        self.sampler = sampler_for(name)

    def run(self, steps, batch_size):
        self.gan.fit(self.sampler, steps=steps, batch_size=batch_size, progress=False)


def timed(side, steps, batch_size, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    side.run(steps, batch_size)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


def measure(name, args, device) -> dict:
    sides = {f"{args.n} lone GANs, one after another": Lone(name, args, device),
             f"one BatchedGAN of {args.n}": Batched(name, args, device)}
    for side in sides.values():
        side.run(args.warmup, args.batch_size)
    seconds = {k: [] for k in sides}
    for _ in range(args.blocks):
        for k, side in sides.items():
            seconds[k].append(timed(side, args.steps, args.batch_size, device))
    return {k: statistics.median(v) for k, v in seconds.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--nets", default="mlp,dcgan8", help=f"comma-separated, of {sorted(NETS)}")
    p.add_argument("--n", type=int, default=8, help="GANs in the sweep")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--hidden", type=int, default=64, help="the MLPs' width")
    p.add_argument("--width", type=int, default=64, help="the DCGANs' width")
    p.add_argument("--lr-low", type=float, default=1e-4)
    p.add_argument("--lr-high", type=float, default=3e-3)
    p.add_argument("--steps", type=int, default=20, help="rounds per timed block (each side, each GAN)")
    p.add_argument("--blocks", type=int, default=5, help="alternating timed blocks per side")
    p.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = ge.get_device(args.device)
    print(ge.describe_device(device), f"| torch {torch.__version__} | {torch.get_num_threads()} threads")
    print(f"{args.n} GANs, lr {args.lr_low:g} to {args.lr_high:g}, batch {args.batch_size}, "
          f"{args.blocks} blocks of {args.steps} rounds, median seconds per block")
    print(f"{'nets':8s} {'side':40s} {'s/block':>9s} {'ratio':>7s}")
    results = {}
    for name in args.nets.split(","):
        results[name] = measure(name, args, device)
        lone, batched = results[name].values()
        for side, s in results[name].items():
            print(f"{name:8s} {side:40s} {s:9.3f} {lone / s:7.2f}")
    return results


if __name__ == "__main__":
    main()

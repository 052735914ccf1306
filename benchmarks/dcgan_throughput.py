"""Images/s of gan_edu's training step vs a plain PyTorch loop (the official DCGAN tutorial's shape).

Same nets (gan_edu.nets.DCGANGenerator / DCGANDiscriminator, same init), same batch, same data,
same process; the two are measured in alternating blocks so both see the same machine load.
The plain loop: DataLoader over a TensorDataset (shuffle, drop_last), float32, BCEWithLogitsLoss
(our D returns logits), D on real then on G(z).detach(), then G through D on the same fakes, and
`.item()` of the losses and D outputs every iteration, as the tutorial logs them.

    python benchmarks/dcgan_throughput.py                      # CPU or GPU, whichever is there
    python benchmarks/dcgan_throughput.py --threads 1 --configs fp32,channels_last
    python benchmarks/dcgan_throughput.py --image-size 28 --batch-size 512   # MNIST-sized nets

Configs (gan_edu's speed switches): fp32 (all off), resident, channels_last, bf16, compile, and
best (resident + channels_last + bf16 where "auto" turns it on + compile on a GPU).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import gan_edu as ge

CONFIGS = {
    "fp32": dict(),
    "resident": dict(resident_data=True),
    "channels_last": dict(channels_last=True),
    "bf16": dict(amp=True),
    "compile": dict(compile=True),
}


def make_data(image_size: int) -> torch.Tensor:
    if image_size == 8:
        return ge.data.digits()[0]
    try:
        return ge.data.mnist()[0]
    except Exception as err:  # offline: random images of MNIST's shape time the same
        print(f"MNIST not available ({err}); timing on random 1x28x28 images instead")
        return torch.rand(60000, 1, 28, 28) * 2 - 1


def make_nets(args, seed=0):
    ge.seed_everything(seed)
    G = ge.nets.DCGANGenerator(noise_dim=args.noise_dim, image_size=args.image_size, width=args.width)
    D = ge.nets.DCGANDiscriminator(image_size=args.image_size, width=args.width)
    return G, D


class PlainLoop:
    """The PyTorch DCGAN tutorial's training loop, batch by batch from a DataLoader."""

    def __init__(self, args, data, device):
        self.device = device
        self.G, self.D = (net.to(device) for net in make_nets(args))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.loader = DataLoader(TensorDataset(data), batch_size=args.batch_size, shuffle=True, drop_last=True,
                                 pin_memory=device.type == "cuda")
        self.batches = iter(self.loader)
        self.criterion = nn.BCEWithLogitsLoss()
        self.noise_dim = args.noise_dim
        self.losses = []

    def next_batch(self):
        try:
            return next(self.batches)[0]
        except StopIteration:
            self.batches = iter(self.loader)
            return next(self.batches)[0]

    def run(self, steps: int) -> None:
        for _ in range(steps):
            real = self.next_batch().to(self.device)
            b = real.size(0)
            ones = torch.full((b,), 1.0, device=self.device)
            zeros = torch.full((b,), 0.0, device=self.device)
            # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
            self.D.zero_grad()
            output = self.D(real).view(-1)
            err_d_real = self.criterion(output, ones)
            err_d_real.backward()
            d_x = output.sigmoid().mean().item()
            noise = torch.randn(b, self.noise_dim, device=self.device)
            fake = self.G(noise)
            output = self.D(fake.detach()).view(-1)
            err_d_fake = self.criterion(output, zeros)
            err_d_fake.backward()
            d_g_z1 = output.sigmoid().mean().item()
            err_d = err_d_real + err_d_fake
            self.opt_d.step()
            # (2) update G: maximize log(D(G(z)))
            self.G.zero_grad()
            output = self.D(fake).view(-1)
            err_g = self.criterion(output, ones)
            err_g.backward()
            d_g_z2 = output.sigmoid().mean().item()
            self.opt_g.step()
            self.losses.append((err_d.item(), err_g.item(), d_x, d_g_z1, d_g_z2))


class GanEduLoop:
    def __init__(self, args, data, device, switches):
        G, D = make_nets(args)
        self.gan = ge.GAN(G, D, lr_d=2e-4, lr_g=2e-4, device=device, **switches)
        self.sampler = ge.data.TensorSampler(data.clone(), seed=0)
        self.batch_size = args.batch_size

    def run(self, steps: int) -> None:
        self.gan.fit(self.sampler, steps=steps, batch_size=self.batch_size, progress=False)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(loop, steps, device) -> float:
    sync(device)
    t = time.perf_counter()
    loop.run(steps)
    sync(device)
    return time.perf_counter() - t


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--image-size", type=int, default=8, choices=(8, 28))
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--noise-dim", type=int, default=64)
    p.add_argument("--steps", type=int, default=30, help="steps per timed block")
    p.add_argument("--blocks", type=int, default=5, help="alternating timed blocks per loop")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (compiles, caches)")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--configs", default="fp32,channels_last,best")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = ge.get_device(args.device)
    print(ge.describe_device(device), f"| torch {torch.__version__} | {torch.get_num_threads()} threads")
    data = make_data(args.image_size)
    loops = {"plain (DataLoader, fp32)": PlainLoop(args, data, device)}
    for name in args.configs.split(","):
        switches = ge.speed.best_switches(device) if name == "best" else CONFIGS[name]
        loops[f"gan_edu {name} {switches}"] = GanEduLoop(args, data, device, switches)
    t0 = time.perf_counter()
    for name, loop in loops.items():
        loop.run(args.warmup)
    print(f"warm-up (incl. compiling where asked): {time.perf_counter() - t0:.1f} s")
    rates = {name: [] for name in loops}
    for _ in range(args.blocks):
        for name, loop in loops.items():
            rates[name].append(args.steps * args.batch_size / timed(loop, args.steps, device))
    plain = statistics.median(next(iter(rates.values())))
    print(f"\nimage {args.image_size}x{args.image_size}, batch {args.batch_size}, width {args.width}, "
          f"{args.blocks} blocks of {args.steps} steps, median images/s (one D and one G update per batch)")
    print(f"{'loop':70s} {'images/s':>10s} {'ratio':>7s}")
    for name, r in rates.items():
        med = statistics.median(r)
        print(f"{name:70s} {med:10.0f} {med / plain:7.2f}")
    return rates


if __name__ == "__main__":
    main()

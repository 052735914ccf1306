"""Images/s of gan_edu's training step vs a plain PyTorch loop (the official DCGAN tutorial's shape).

Same nets (gan_edu.nets.DCGANGenerator / DCGANDiscriminator, same init), same batch, same data,
same process; the two are measured in alternating blocks so both see the same machine load.
The plain loop: DataLoader over a TensorDataset (shuffle, drop_last), float32, BCEWithLogitsLoss
(our D returns logits), D on real then on G(z).detach(), then G through D on the same fakes, and
`.item()` of the losses and D outputs every iteration, as the tutorial logs them.

    python benchmarks/dcgan_throughput.py                      # CPU or GPU, whichever is there
    python benchmarks/dcgan_throughput.py --threads 1 --configs fp32,channels_last
    python benchmarks/dcgan_throughput.py --image-size 28 --batch-size 512   # MNIST-sized nets
    python benchmarks/dcgan_throughput.py --configs resident,graphs --busy --graphs-sweep 64,128,256,512,1024,2048

Configs (gan_edu's speed switches): fp32 (all off), resident, channels_last, bf16, compile,
graphs (resident + cuda_graphs: each round replayed as a CUDA graph; CUDA only, skipped with its
reason elsewhere), and best (``gan_edu.speed.best_switches``).

``--busy``: the GPU's busy fraction of each loop, the kernels' time (``torch.profiler``) over the
wall time of one more, profiled block. ``--graphs-sweep``: for each batch size, gan_edu with
resident data, without and with CUDA graphs, in alternating blocks; the largest batch at which
the graphs still gain 5% is printed. Both are GPU-only (skipped, with the reason, on a CPU).
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
    "graphs": dict(resident_data=True, cuda_graphs=True),
}
GPU_ONLY = {"graphs": "CUDA graphs need a CUDA GPU"}


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


def gpu_busy_fraction(loop, steps, device) -> float | None:
    """The fraction of one block's wall time the GPU spent in kernels (``torch.profiler``), or None
    when the profiler saw no kernels (kernels inside a replayed CUDA graph may not be reported)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        wall = timed(loop, steps, device)
    kernels_us = sum(getattr(e, "self_device_time_total", 0) for e in prof.key_averages())
    return kernels_us / 1e6 / wall if kernels_us > 0 else None


def build_loops(args, data, device) -> dict:
    """The loops of ``--configs``: the plain one first, then gan_edu's, GPU-only ones skipped off a GPU."""
    loops = {"plain (DataLoader, fp32)": PlainLoop(args, data, device)}
    for name in args.configs.split(","):
        if name in GPU_ONLY and device.type != "cuda":
            print(f"skipped config {name}: {GPU_ONLY[name]} (this is {device.type})")
            continue
        switches = ge.speed.best_switches(device) if name == "best" else CONFIGS[name]
        loops[f"gan_edu {name} {switches}"] = GanEduLoop(args, data, device, switches)
    return loops


def warm_up(loops, args) -> float:
    """``args.warmup`` untimed steps of each loop (they compile, cache, capture); their seconds."""
    t0 = time.perf_counter()
    for loop in loops.values():
        loop.run(args.warmup)
    return time.perf_counter() - t0


def alternate(loops, args, device) -> dict:
    """Median images/s of each loop over ``args.blocks`` alternating blocks."""
    rates = {name: [] for name in loops}
    for _ in range(args.blocks):
        for name, loop in loops.items():
            rates[name].append(args.steps * args.batch_size / timed(loop, args.steps, device))
    return {name: statistics.median(r) for name, r in rates.items()}


def graphs_sweep(args, data, device) -> dict:
    """For each batch of ``--graphs-sweep``: images/s of gan_edu (resident data) without and with
    CUDA graphs; prints the largest batch at which the graphs still gain 5%."""
    if device.type != "cuda":
        print(f"\ngraphs sweep skipped: {GPU_ONLY['graphs']} (this is {device.type})")
        return {}
    print(f"\nCUDA graphs by batch size (image {args.image_size}x{args.image_size}, median images/s)")
    print(f"{'batch':>6s} {'eager':>10s} {'graphs':>10s} {'ratio':>7s}")
    results, base = {}, args.batch_size
    for batch in (int(b) for b in args.graphs_sweep.split(",")):
        args.batch_size = batch
        loops = {k: GanEduLoop(args, data, device, CONFIGS[k]) for k in ("resident", "graphs")}
        warm_up(loops, args)
        results[batch] = alternate(loops, args, device)
        eager, graphed = results[batch].values()
        print(f"{batch:6d} {eager:10.0f} {graphed:10.0f} {graphed / eager:7.2f}")
    args.batch_size = base
    gaining = [b for b, r in results.items() if r["graphs"] >= 1.05 * r["resident"]]
    print(f"largest batch where CUDA graphs gain >= 5%: {max(gaining) if gaining else 'none'}")
    return results


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--image-size", type=int, default=8, choices=(8, 28))
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--noise-dim", type=int, default=64)
    p.add_argument("--steps", type=int, default=30, help="steps per timed block")
    p.add_argument("--blocks", type=int, default=5, help="alternating timed blocks per loop")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (compiles, caches, graph captures)")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--configs", default="fp32,channels_last,best")
    p.add_argument("--busy", action="store_true", help="GPU only: each loop's GPU busy fraction (torch.profiler)")
    p.add_argument("--graphs-sweep", default="", help="GPU only: batch sizes, e.g. 64,128,256,512,1024,2048")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = ge.get_device(args.device)
    print(ge.describe_device(device), f"| torch {torch.__version__} | {torch.get_num_threads()} threads")
    data = make_data(args.image_size)
    loops = build_loops(args, data, device)
    print(f"warm-up (incl. compiling and capturing where asked): {warm_up(loops, args):.1f} s")
    rates = alternate(loops, args, device)
    busy = {}
    if args.busy and device.type != "cuda":
        print("GPU busy fraction skipped: it is measured on a CUDA GPU (this is " + device.type + ")")
    elif args.busy:
        busy = {name: gpu_busy_fraction(loop, args.steps, device) for name, loop in loops.items()}
    plain = next(iter(rates.values()))
    print(f"\nimage {args.image_size}x{args.image_size}, batch {args.batch_size}, width {args.width}, "
          f"{args.blocks} blocks of {args.steps} steps, median images/s (one D and one G update per batch)")
    print(f"{'loop':70s} {'images/s':>10s} {'ratio':>7s}" + (f" {'GPU busy':>9s}" if busy else ""))
    for name, med in rates.items():
        b = busy.get(name)
        print(f"{name:70s} {med:10.0f} {med / plain:7.2f}" + ("" if not busy else f" {b:9.0%}" if b else "      n/a"))
    sweep = graphs_sweep(args, data, device) if args.graphs_sweep else {}
    return dict(rates=rates, busy=busy, sweep=sweep)


if __name__ == "__main__":
    main()

"""Rounds per second of ``GAN.fit`` against a minimal PyTorch loop with the same nets, data and batch.

The minimal loop is Algorithm 1 written out as a student would, and nothing else: a random real
batch drawn by index from a tensor (as ``gan_edu.data.TensorSampler`` draws it), z ~ N(0, I), D's
BCE-with-logits step on the real batch and on G(z).detach(), then G's non-saturating step through
the updated D on fresh noise, Adam for both; the two losses are read as floats each round (as any
loop that plots its loss curve does). ``GAN.fit`` does the same round plus what the package adds:
the settings' rules, the NaN guard, the history of losses, D outputs and learning rates.

Both sides are timed in one process, one thread (``--threads``), in alternating blocks of
``--rounds`` rounds, so both see the same machine load; the script prints each side's median
rounds per second and the median of the per-block-pair ratios fit / loop (target: >= 0.97).

    python benchmarks/fit_vs_loop.py                       # both cases: the 2D MLP GAN and the 8x8 DCGAN
    python benchmarks/fit_vs_loop.py --cases mlp --blocks 15
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

import gan_edu as ge

CASES = {
    # name: (nets, data, batch size)
    "mlp": (lambda: (ge.nets.MLPGenerator(2, 2, hidden=128, depth=3), ge.nets.MLPDiscriminator(2, hidden=128, depth=3)),
            lambda: ge.data.ring(seed=0)(20_000), 256),
    "dcgan": (lambda: (ge.nets.DCGANGenerator(noise_dim=64, image_size=8, width=64),
                       ge.nets.DCGANDiscriminator(image_size=8, width=64)),
              lambda: ge.data.digits()[0], 128),
}


def minimal_loop(G, D, data: torch.Tensor, batch: int, lr: float = 2e-4):
    """A closure that runs ``n`` rounds of the minimal loop."""
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(0)
    losses = []

    def run(n: int) -> None:
        for _ in range(n):
            real = data[torch.randint(len(data), (batch,), generator=gen)]
            fake = G(torch.randn(batch, G.noise_dim, generator=gen))
            real_logits, fake_logits = D(real), D(fake.detach())
            loss_d = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                      + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            logits = D(G(torch.randn(batch, G.noise_dim, generator=gen)))
            loss_g = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            losses.append((loss_d.item(), loss_g.item()))
    return run


def fit_loop(G, D, data: torch.Tensor, batch: int, lr: float = 2e-4):
    gan = ge.GAN(G, D, device="cpu", lr_d=lr, lr_g=lr, betas=(0.5, 0.999), seed=0)
    sampler = ge.data.TensorSampler(data, seed=0)
    return lambda n: gan.fit(sampler, steps=n, batch_size=batch, progress=False)


def rate(run, rounds: int) -> float:
    t = time.perf_counter()
    run(rounds)
    return rounds / (time.perf_counter() - t)


def measure(case: str, rounds: int, blocks: int, warmup: int) -> dict:
    make_nets, make_data, batch = CASES[case]
    data = make_data()
    sides = {}
    for name, build in (("loop", minimal_loop), ("fit", fit_loop)):
        ge.seed_everything(0)
        sides[name] = build(*make_nets(), data, batch)
        sides[name](warmup)
    rates = {"loop": [], "fit": []}
    for block in range(blocks):
        order = ("loop", "fit") if block % 2 == 0 else ("fit", "loop")
        for name in order:
            rates[name].append(rate(sides[name], rounds))
    ratios = [f / p for f, p in zip(rates["fit"], rates["loop"])]
    return {"case": case, "batch": batch, "loop": statistics.median(rates["loop"]),
            "fit": statistics.median(rates["fit"]), "ratio": statistics.median(ratios),
            "ratio_range": (min(ratios), max(ratios))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", default="mlp,dcgan")
    p.add_argument("--rounds", type=int, default=100, help="rounds per timed block")
    p.add_argument("--blocks", type=int, default=9, help="timed blocks per side, alternating")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.blocks} blocks of {args.rounds} rounds a side")
    print(f"{'case':6s} {'batch':>5s} {'loop r/s':>9s} {'fit r/s':>9s} {'fit/loop':>9s}  range of block ratios")
    for case in args.cases.split(","):
        r = measure(case, args.rounds, args.blocks, args.warmup)
        print(f"{r['case']:6s} {r['batch']:5d} {r['loop']:9.1f} {r['fit']:9.1f} {r['ratio']:9.3f}  "
              f"{r['ratio_range'][0]:.3f}-{r['ratio_range'][1]:.3f}")


if __name__ == "__main__":
    main()

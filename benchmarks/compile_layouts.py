"""Which torch.compile set-ups of the course's DCGAN train on this GPU, and how fast.

Each variant (memory format, bf16, inductor's layout optimization) trains the DCGAN of notebook 05
for a few rounds in its own process, so that one that fails does not stop the others. On an H200
with torch 2.11 every variant with compile + channels_last failed at the first round
("AssertionError: expected size ... Error in op: torch.ops.aten.convolution_backward.default"),
which is why ``GAN`` leaves channels_last off under compile on a GPU
(``gan_edu.speed.switches.channels_last_compiles``). Rerun it after a torch upgrade.

    python benchmarks/compile_layouts.py            # all variants, one after the other
    python benchmarks/compile_layouts.py --parallel # all at once: pass/fail only, rates disturbed
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

# name: (image size, inductor layout_optimization (None: torch's default), channels_last, bf16)
VARIANTS = {
    "compile": (8, None, False, False),
    "compile, layout_optimization off": (8, False, False, False),
    "compile + bf16": (8, None, False, True),
    "compile + channels_last": (8, None, True, False),
    "compile + channels_last, layout_optimization off": (8, False, True, False),
    "compile + channels_last + bf16, layout_optimization off": (8, False, True, True),
    "compile, 28x28": (28, None, False, False),
    "compile + bf16, 28x28, layout_optimization off": (28, False, False, True),
}


def run_variant(size: int, layout: bool | None, channels_last: bool, bf16: bool) -> str:
    import torch

    import gan_edu as ge

    ge.seed_everything(0)
    G = ge.nets.DCGANGenerator(noise_dim=64, image_size=size, width=64)
    D = ge.nets.DCGANDiscriminator(image_size=size, width=64)
    gan = ge.GAN(G, D, device="cuda", channels_last=channels_last, amp="bf16" if bf16 else False,
                 resident_data=True)
    options = {} if layout is None else {"options": {"layout_optimization": layout}}
    gan.G.compile(backend="inductor", **options)  # by hand: GAN(compile=True) would leave channels_last off
    gan.D.compile(backend="inductor", **options)
    sampler = ge.data.TensorSampler(torch.rand(4096, 1, size, size) * 2 - 1, seed=0)
    out = []
    try:
        t = time.perf_counter()
        gan.fit(sampler, steps=5, batch_size=128, progress=False)
        torch.cuda.synchronize()
        out.append(f"first 5 rounds (compiling) {time.perf_counter() - t:.1f} s")
        for batch in (128, 512):
            rate = ge.speed.steps_per_second(gan, sampler, steps=50, batch_size=batch, warmup=3)
            out.append(f"{rate * batch:.0f} images/s at batch {batch}")
        return "OK: " + ", ".join(out)
    except Exception as err:  # the point of the script: report the failure, do not stop
        return f"FAIL: {type(err).__name__}: {str(err).splitlines()[0][:150]}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--parallel", action="store_true", help="run the variants at once (pass/fail only)")
    p.add_argument("--variant", help=argparse.SUPPRESS)  # internal: run one variant in this process
    args = p.parse_args(argv)
    if args.variant:
        print(run_variant(*VARIANTS[args.variant]), flush=True)
        return
    import torch

    if not torch.cuda.is_available():
        sys.exit("compile_layouts.py needs a CUDA GPU (the failure it checks for is GPU-only)")
    print(f"{torch.cuda.get_device_name(0)} | torch {torch.__version__}")
    cmd = [sys.executable, __file__, "--variant"]
    procs = {}
    for name in VARIANTS:
        procs[name] = subprocess.Popen(cmd + [name], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if not args.parallel:
            procs[name].wait()
    for name, proc in procs.items():
        out = proc.communicate()[0].strip().splitlines()
        print(f"{name:58s} {out[-1] if out else f'no result (exit code {proc.returncode})'}")


if __name__ == "__main__":
    main()

"""What makes training fast, one switch each (all off by default, all correct on the CPU).

- **Resident data**: the whole dataset lives on the device (``TensorSampler.to(device)``);
  a batch is one indexing op, no DataLoader and no host-to-device copy per step.
- **Mixed precision**: forward passes run under ``torch.autocast`` in bfloat16 (same exponent
  range as float32, so no loss scaling is needed); losses and weights stay float32.
- **channels_last**: conv weights and images stored as (n, h, w, c) in memory, the layout
  GPU tensor cores (and oneDNN on CPUs) prefer for convolutions.
- **torch.compile**: fuse the nets' small ops into fewer kernels; falls back to plain
  (eager) PyTorch with a warning where compiling is not available.
- **Fused Adam**: Adam's update of all of a net's tensors in one kernel instead of about ten
  small ops per tensor (``torch.optim.Adam(fused=True)``; CPU and CUDA from torch 2.4). Small
  nets, like the MLPs of the 2D tasks, spend much of a step in those small ops.

- **CUDA graphs**: one training round recorded once and replayed with one call, so the GPU
  no longer waits for Python to launch each small kernel (``gan_edu.speed.graphs``; CUDA only).

``GAN(..., amp=, channels_last=, compile=, resident_data=, fused_adam=, cuda_graphs=)`` turns them on.
"""
from __future__ import annotations

import contextlib
import time
import warnings
from typing import NamedTuple

import torch
from torch import nn

from ..checks import check_amp
from . import graphs

__all__ = ["autocast_dtype", "autocast", "Autocast", "with_autocast", "to_channels_last", "compile_net",
           "compile_available", "channels_last_compiles", "adam", "Built", "apply_switches", "best_switches", "steps_per_second"]

def autocast_dtype(amp, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` on ``device``, or ``None`` for full float32.

    - ``False`` / ``"off"``: float32 everywhere.
    - ``"auto"``: bfloat16 on a CUDA GPU with native bfloat16 (compute capability 8.0 and up:
      A100, L4, H100, RTX 30xx...), else float32. A T4 or a CPU only emulates bfloat16, slowly,
      so ``"auto"`` leaves it off there.
    - ``True`` / ``"bf16"``: bfloat16 wherever torch's autocast supports it, the CPU included;
      a ``ValueError`` where it does not (e.g. a CUDA GPU without bfloat16).
    """
    check_amp("amp", amp)
    device = torch.device(device)
    if amp is False or amp == "off":
        return None
    on_cuda = device.type == "cuda" and torch.cuda.is_available()
    if amp == "auto":
        native = on_cuda and torch.cuda.get_device_capability(device) >= (8, 0)
        return torch.bfloat16 if native else None
    from torch.amp.autocast_mode import is_autocast_available

    if device.type == "cuda" and not (on_cuda and torch.cuda.is_bf16_supported()):
        raise ValueError("amp='bf16' was asked for, but this GPU does not support bfloat16; "
                         "use amp='auto' or amp=False")
    if not is_autocast_available(device.type):
        raise ValueError(f"amp={amp!r}: torch.autocast is not available on device {device.type!r}; use amp=False")
    return torch.bfloat16


def autocast(device: torch.device, dtype: torch.dtype | None):
    """``torch.autocast(device.type, dtype)``, or a no-op context when ``dtype`` is None.

    Without autocast's cache of cast weights: a CUDA graph cannot record it (``cuda_graphs``),
    and it lasts one forward pass here (each net's call is its own autocast region), in which
    each weight is cast once anyway."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype, cache_enabled=False)


class Autocast(nn.Module):
    """``net(x)`` under ``torch.autocast(device, dtype)``: the net as the training steps call it
    with mixed precision on. Its weights are ``net``'s (a wrapper, no copy)."""

    def __init__(self, net: nn.Module, device: torch.device, dtype: torch.dtype):
        super().__init__()
        self.net, self.device, self.dtype = net, torch.device(device), dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with autocast(self.device, self.dtype):
            return self.net(x)


def with_autocast(net: nn.Module, device, dtype: torch.dtype | None) -> nn.Module:
    """``Autocast(net, device, dtype)``, or ``net`` itself when ``dtype`` is None (float32)."""
    return net if dtype is None else Autocast(net, device, dtype)


def to_channels_last(net: nn.Module) -> nn.Module:
    """Store ``net``'s 4D weights (conv kernels) as channels_last; other tensors are untouched."""
    return net.to(memory_format=torch.channels_last)


def compile_available() -> bool:
    """True when ``torch.compile`` can run here (torch >= 2.0 on a supported Python)."""
    try:
        import torch._dynamo as dynamo
    except Exception:  # pragma: no cover - torch without dynamo
        return False
    return hasattr(nn.Module, "compile") and dynamo.is_dynamo_supported()


def compile_net(net: nn.Module, backend: str = "inductor") -> bool:
    """Compile ``net`` in place (``net.compile``: its state_dict keys do not change).

    Returns True when compiled, False (with a warning) when ``torch.compile`` is not
    available here. Errors while compiling, which only show at the first call, are turned
    into a fall-back to eager by ``compile_guard`` around the training step.
    """
    if not compile_available():
        warnings.warn("torch.compile is not available with this torch/Python; training runs "
                      "without it (compile=False)", RuntimeWarning, stacklevel=3)
        return False
    net.compile(backend=backend)
    return True


def channels_last_compiles(device) -> bool:
    """Whether ``channels_last`` and ``torch.compile`` can be used together on ``device``.

    Not on a GPU: the backward of a transposed convolution whose input is 1x1 (DCGAN's first
    layer, which sees z as a 1x1 image: contiguous and channels_last at once) returns its
    weight gradient in another memory layout than the compiler predicted, and the first
    round stops with "AssertionError: expected size ... Error in op:
    torch.ops.aten.convolution_backward.default" (seen with torch 2.11 on an H200; each
    switch alone works; pytorch/pytorch#171622 and #197517 report the same family of bug).
    Not seen to fail on the CPU.
    """
    return torch.device(device).type == "cpu"


def compile_guard(enabled: bool):
    """Inside: a failure to compile falls back to eager PyTorch (with a warning) instead of
    stopping training. Only for the code that runs compiled nets; a no-op when disabled."""
    if not enabled:
        return contextlib.nullcontext()
    import torch._dynamo as dynamo

    return dynamo.config.patch(suppress_errors=True)


def adam(params, lr: float, betas, fused: bool = False, capturable: bool = False) -> torch.optim.Adam:
    """``torch.optim.Adam(params, lr, betas)``; with ``fused=True`` its fused implementation,
    or (with a warning) the plain one where this torch or device has none (torch < 2.4 on the
    CPU, for example). Fused or not, the update is Adam's, up to float rounding. ``capturable``:
    the step count kept on the GPU, so a CUDA graph can record the update (``gan_edu.speed.graphs``)."""
    params = list(params)
    if fused:
        try:
            return torch.optim.Adam(params, lr=lr, betas=betas, fused=True, capturable=capturable)
        except (RuntimeError, ValueError, TypeError) as err:
            warnings.warn(f"fused Adam is not available here ({err}); using plain Adam",
                          RuntimeWarning, stacklevel=3)
    return torch.optim.Adam(params, lr=lr, betas=betas, capturable=capturable)


def best_switches(device) -> dict:
    """The switches worth turning on for the course's DCGANs on ``device`` (measured:
    benchmarks/RESULTS.md).

    Resident data, on every device. CPU: channels_last too. Not bf16 (emulated on most CPUs,
    about 30x slower here), nor compile (minutes of compiling for a gain under 10%). GPU
    (measured on an H200): nothing else. Nets this small leave a GPU waiting for Python to
    launch their few dozen small kernels per round, so bf16, channels_last and compile, which
    make each kernel cheaper or add a few, made no round faster (0.5-1.0x the float32 rate);
    more images per round (a larger batch) is what pays there.
    """
    if torch.device(device).type == "cpu":
        return dict(resident_data=True, channels_last=True)
    return dict(resident_data=True)


class Built(NamedTuple):
    """What ``apply_switches`` built: the autocast dtype (None: float32), whether channels_last is
    on, whether the nets are compiled, (G, D) as the training steps call them (under ``Autocast``
    when ``amp`` is on), and the ``graphs.RoundGraph`` that replays the rounds (``cuda_graphs`` on a
    CUDA GPU) or None."""
    amp_dtype: torch.dtype | None
    channels_last: bool
    compiled: bool
    players: tuple
    round_graph: object


def apply_switches(G: nn.Module, D: nn.Module, switches, device) -> Built:
    """Apply ``switches`` (``settings.Switches``) to G and D once, when they are built: the
    channels_last memory format and torch.compile in place (``Built`` says what came of it)."""
    dtype = autocast_dtype(switches.amp, device)  # None: float32
    channels_last = switches.channels_last
    if channels_last and switches.compile and not channels_last_compiles(device):
        warnings.warn(f"channels_last is left off: with compile it makes training fail on {torch.device(device).type} "
                      "(see gan_edu.speed.channels_last_compiles); the nets are compiled in the default "
                      "memory format", RuntimeWarning, stacklevel=4)
        channels_last = False
    if channels_last:
        to_channels_last(G), to_channels_last(D)
    compiled = False
    if switches.compile:
        backend = "inductor" if switches.compile is True else switches.compile
        compiled = compile_net(G, backend) and compile_net(D, backend)
    players = (with_autocast(G, device, dtype), with_autocast(D, device, dtype))
    return Built(dtype, channels_last, compiled, players, graphs.round_graph(switches, device, compiled))


def steps_per_second(gan, sampler, steps: int = 20, batch_size: int = 128, warmup: int = 3) -> float:
    """Training rounds per second of ``gan.fit`` on ``sampler``, after ``warmup`` untimed rounds
    (they absorb compiling and first-call costs). Trains ``gan`` for ``warmup + steps`` rounds."""
    gan.fit(sampler, steps=warmup, batch_size=batch_size, progress=False)
    if gan.device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    gan.fit(sampler, steps=steps, batch_size=batch_size, progress=False)
    if gan.device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - t)


def speed_table(rows) -> str:
    """``rows`` of (name, batch, rounds per second) as a table with images per second and the
    ratio to the first row's images per second."""
    base = rows[0][1] * rows[0][2]
    lines = [f"{'switch':28s} {'batch':>6s} {'rounds/s':>9s} {'images/s':>9s} {'vs first':>9s}"]
    for name, batch, rate in rows:
        lines.append(f"{name:28s} {batch:6d} {rate:9.1f} {rate * batch:9.0f} {rate * batch / base:8.2f}x")
    return "\n".join(lines)

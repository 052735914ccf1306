"""Where training runs: CUDA, then Apple's MPS, then the CPU; and seeds for reproducible runs."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["get_device", "seed_everything", "describe_device", "fast_mode"]


def get_device(device: str | torch.device = "auto") -> torch.device:
    """Return a ``torch.device``: ``"auto"`` picks cuda, then mps, then cpu.

    Asking for a device that is not there (``"cuda"`` on a machine without a GPU) is a
    ``ValueError`` that says what is available, not an error from deep inside torch.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be 'auto', 'cpu', 'cuda', 'mps' or a torch.device, got {device!r}")
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = device.split(":")[0]
    if kind not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device={device!r}: gan_edu trains on 'cpu', 'cuda' (or 'cuda:N') or 'mps'; "
                         "use device='auto' to pick the best one here")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for, but CUDA is not available on this machine; "
                         "use device='auto' or device='cpu'")
    if kind == "mps" and not (getattr(torch.backends, "mps", None) is not None
                              and torch.backends.mps.is_available()):
        raise ValueError("device='mps' was asked for, but MPS is not available on this machine; "
                         "use device='auto' or device='cpu'")
    try:
        return torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device={device!r} is not a device torch knows: {err}") from None


def describe_device(device: str | torch.device = "auto") -> str:
    """One line for a notebook: the GPU's name, or that we run on the CPU."""
    dev = get_device(device)
    if dev.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(dev)} (cuda)"
    if dev.type == "mps":
        return "GPU: Apple silicon (mps)"
    n = torch.get_num_threads()
    return f"no GPU: running on CPU ({n} thread{'' if n == 1 else 's'})"


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's and torch's random generators (all devices) so reruns match.
    ``seed``: an integer from 0 to 2³² - 1 (NumPy's range)."""
    from .checks import check_seed

    seed = check_seed("seed", seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def fast_mode() -> bool:
    """True when ``GAN_EDU_FAST=1``: notebooks shrink their sizes (CI uses this)."""
    return os.environ.get("GAN_EDU_FAST", "0") not in ("", "0", "false", "False")

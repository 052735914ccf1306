"""Mode coverage on 2D toy data: the mode-coverage protocol of the mode-collapse literature (VEEGAN,
Srivastava et al. 2017; PacGAN, Lin et al. 2018): draw 2,500 samples; a sample is *high quality*
when it lies within 3 standard deviations of its nearest mode; a mode is *recovered* when at least
20 high-quality samples fall on it.
"""
from __future__ import annotations

import torch

from ..checks import check_count, check_real

__all__ = ["mode_coverage"]


def mode_coverage(samples: torch.Tensor, modes: torch.Tensor, std: float, n_std: float = 3.0,
                  min_count: int = 20) -> dict:
    """Modes recovered and the fraction of high-quality samples.

    Returns ``dict(modes=recovered, of=len(modes), high_quality=fraction, counts=per-mode counts)``.
    """
    std, n_std = check_real("std", std, 0.0, low_open=True), check_real("n_std", n_std, 0.0, low_open=True)
    min_count = check_count("min_count", min_count)
    samples = torch.as_tensor(samples, dtype=torch.float32).reshape(len(samples), -1).cpu()
    modes = torch.as_tensor(modes, dtype=torch.float32).reshape(len(modes), -1).cpu()
    if len(modes) == 0:
        raise ValueError("modes must hold at least one mode")
    if samples.shape[1] != modes.shape[1]:
        raise ValueError(f"samples have dimension {samples.shape[1]}, modes {modes.shape[1]}")
    dist, nearest = torch.cdist(samples, modes).min(dim=1)
    good = dist <= n_std * std
    counts = torch.bincount(nearest[good], minlength=len(modes))
    return dict(modes=int((counts >= min_count).sum()), of=len(modes),
                high_quality=float(good.float().mean()) if len(samples) else 0.0, counts=counts.tolist())

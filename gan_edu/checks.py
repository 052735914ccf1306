"""Checks of what a GAN is given to train on, made before any work is done, each raising a
``TypeError`` or ``ValueError`` that says what was wrong: the sampler's batches, and whether G
and D fit the data and each other."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["real_batch", "forward_unchanged", "nets_fit"]


def real_batch(real, batch_size: int) -> torch.Tensor:
    """``sampler(batch_size)``'s result: a floating-point tensor of shape (batch_size, *data_shape)."""
    if not isinstance(real, torch.Tensor):
        raise TypeError(f"sampler must return a torch.Tensor, got {type(real).__name__}")
    if not real.is_floating_point():
        raise TypeError(f"sampler must return floating-point data, got dtype {real.dtype}")
    if real.ndim < 2 or real.shape[0] != batch_size:
        raise ValueError(f"sampler({batch_size}) must return shape ({batch_size}, *data_shape), "
                         f"got {tuple(real.shape)}")
    return real


def forward_unchanged(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``net(x)`` without gradients, in eval mode, bypassing torch.compile: a shape check that
    changes nothing (no batch-norm statistics, no random stream, no recompilation)."""
    mode = net.training
    net.eval()
    try:
        with torch.no_grad():
            return net.forward(x)
    finally:
        net.train(mode)


def nets_fit(G: nn.Module, D: nn.Module, pack, packs: int, noise_dim: int, real: torch.Tensor) -> None:
    """G's output has the data's shape; D takes the (``pack``-ed, ``packs`` samples each) real
    batch and returns one logit per sample. Uses ``forward_unchanged``: training is unaffected."""
    fake = forward_unchanged(G, torch.zeros(real.shape[0], noise_dim, device=real.device))
    if fake.shape[1:] != real.shape[1:]:
        raise ValueError(f"the generator's output shape {tuple(fake.shape[1:])} does not match the "
                         f"data shape {tuple(real.shape[1:])} (from the sampler)")
    packed = pack(real)
    try:
        out = forward_unchanged(D, packed)
    except RuntimeError as err:
        hint = (f" (pack={packs}: D sees {packs} samples concatenated, so its input must be "
                f"{packs} times the data's size)" if packs > 1 else "")
        raise ValueError(f"the discriminator cannot take data of shape {tuple(packed.shape[1:])}{hint}: "
                         f"{err}") from None
    if out.numel() != packed.shape[0]:
        raise ValueError(f"the discriminator must return one logit per sample, got shape {tuple(out.shape)}")

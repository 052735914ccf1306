r"""Notebook 05's exercises: the two blocks a DCGAN is made of.

- ``check_up_block(fn)``: ``fn(in_ch, out_ch)`` must return G's block that doubles the image:
  (n, in_ch, h, w) -> (n, out_ch, 2h, 2w) with ``ConvTranspose2d(in_ch, out_ch, 4, 2, 1)``, then
  ``BatchNorm2d(out_ch)``, then ``ReLU`` (Radford et al., 2016). The output size of a transposed
  convolution is (h - 1) * stride - 2 * padding + kernel = 2h for kernel 4, stride 2, padding 1.
- ``check_down_block(fn)``: ``fn(in_ch, out_ch)`` must return D's block that halves it:
  (n, in_ch, h, w) -> (n, out_ch, h/2, w/2) with ``Conv2d(in_ch, out_ch, 4, 2, 1)``, then
  ``BatchNorm2d(out_ch)``, then ``LeakyReLU(0.2)``: floor((h + 2 * padding - kernel) / stride) + 1 = h/2.

Each checker builds the student's block for hidden channel counts, runs it on hidden images,
and reads its layers, to name the mistake: the wrong convolution, stride, kernel or padding, a
missing batch norm, the other player's activation, or an output activation inside the net.
"""
from __future__ import annotations

import torch
from torch import nn

from .common import fail, ok, raised

__all__ = ["check_up_block", "check_down_block"]

CASES = ((16, 8, 4), (3, 5, 6))  # (in_ch, out_ch, h): hidden channel counts and image sizes
CONVS = (nn.Conv2d, nn.ConvTranspose2d)

UP = {"conv": ("G's block must make the image larger: use nn.ConvTranspose2d (a transposed convolution); "
               "nn.Conv2d with stride 2 halves it, which is D's job."),
      "size": "with kernel 4, stride 2 and padding 1 a transposed convolution doubles h: (h - 1) * 2 - 2 + 4 = 2h.",
      "norm": "DCGAN's blocks batch-normalise: add nn.BatchNorm2d(out_ch) right after the convolution.",
      "act": ("G's hidden blocks end in nn.ReLU (Radford et al.); LeakyReLU is D's, and tanh only ends "
              "the last layer, which makes the image.")}
DOWN = {"conv": ("D's block must make the image smaller: use nn.Conv2d with stride 2; nn.ConvTranspose2d "
                 "enlarges it, which is G's job."),
        "size": "with kernel 4, stride 2 and padding 1 a convolution halves h: (h + 2 - 4) // 2 + 1 = h/2.",
        "norm": "DCGAN's blocks batch-normalise: add nn.BatchNorm2d(out_ch) right after the convolution.",
        "act": ("D's blocks end in nn.LeakyReLU(0.2): a plain ReLU is 0 for negative inputs, so no gradient "
                "flows back through those units to G; a sigmoid belongs to D's output (inside the loss).")}


def _build(fn, in_ch, out_ch):
    """The student's block (built under a forked RNG), or (None, a hint) if building it raised
    or gave no module."""
    try:
        with torch.random.fork_rng(devices=[]):
            block = fn(in_ch, out_ch)
    except Exception as err:
        return None, raised(err)
    if not isinstance(block, nn.Module):
        return None, f"return the block as an nn.Module (e.g. nn.Sequential(...)), got {type(block).__name__}."
    return block, None


def _run(block, x):
    """The block's output on ``x`` (RNG forked, training mode), or (None, a hint)."""
    try:
        with torch.random.fork_rng(devices=[]):
            return block.train()(x), None
    except RuntimeError as err:
        if "channels" in str(err) or "size mismatch" in str(err) or "shape" in str(err):
            return None, (f"the block cannot take an input with in_ch = {x.shape[1]} channels: the convolution's "
                          f"first argument must be in_ch ({err}).")
        return None, raised(err)
    except Exception as err:
        return None, raised(err)


def _layers(block):
    """The block's leaf modules, in order."""
    return [m for m in block.modules() if not list(m.children())]


def _structure_problem(block, conv_type, act_ok, hints):
    """The layers, read in order: the right convolution, batch norm after it, the right activation."""
    layers = _layers(block)
    convs = [m for m in layers if isinstance(m, CONVS)]
    if not convs or not isinstance(convs[0], conv_type):
        return hints["conv"]
    conv = convs[0]
    if (conv.kernel_size, conv.stride, conv.padding) != ((4, 4), (2, 2), (1, 1)):
        return (f"your convolution has kernel {conv.kernel_size[0]}, stride {conv.stride[0]}, padding "
                f"{conv.padding[0]}; DCGAN's is kernel 4, stride 2, padding 1: " + hints["size"])
    after = layers[layers.index(conv) + 1:]
    if not after or not isinstance(after[0], nn.BatchNorm2d):
        return hints["norm"]
    if len(after) < 2 or not act_ok(after[1]) or len(after) > 2:
        return hints["act"]
    return None


def _check_block(name, fn, grow: bool, conv_type, act_ok, hints) -> bool:
    if not callable(fn):
        return fail(name, f"pass your function itself (e.g. {name}(my_block)), got {type(fn).__name__}.")
    g = torch.Generator().manual_seed(2016)
    for in_ch, out_ch, h in CASES:
        block, problem = _build(fn, in_ch, out_ch)
        if problem:
            return fail(name, problem)
        y, problem = _run(block, torch.randn(2, in_ch, h, h, generator=g))
        want = (2, out_ch, 2 * h, 2 * h) if grow else (2, out_ch, h // 2, h // 2)
        if problem is None and tuple(y.shape) != want:
            problem = (f"for in_ch={in_ch}, out_ch={out_ch} and {h}x{h} images the output has shape "
                       f"{tuple(y.shape)}, expected {want}. " + (hints["size"] if y.shape[1] == out_ch else
                                                                 "The convolution's second argument is out_ch."))
        problem = problem or _structure_problem(block, conv_type, act_ok, hints)
        if problem:
            return fail(name, problem)
    note = ""
    if any(m.bias is not None for m in _layers(block) if isinstance(m, CONVS)):
        note = " (A note: bias=False is usual before batch norm, which subtracts the mean and so cancels a bias.)"
    return ok(name, f"{len(CASES)} hidden cases: the right shapes and DCGAN's layers in order.{note}")


def check_up_block(fn) -> bool:
    """Check ``fn(in_ch, out_ch)``: ConvTranspose2d(in_ch, out_ch, 4, 2, 1), BatchNorm2d, ReLU,
    doubling the image. Prints the mistake and returns False, or one line and True."""
    return _check_block("check_up_block", fn, True, nn.ConvTranspose2d, lambda m: type(m) is nn.ReLU, UP)


def check_down_block(fn) -> bool:
    """Check ``fn(in_ch, out_ch)``: Conv2d(in_ch, out_ch, 4, 2, 1), BatchNorm2d, LeakyReLU(0.2),
    halving the image. Prints the mistake and returns False, or one line and True."""
    leaky = lambda m: isinstance(m, nn.LeakyReLU) and abs(m.negative_slope - 0.2) < 1e-9
    return _check_block("check_down_block", fn, False, nn.Conv2d, leaky, DOWN)

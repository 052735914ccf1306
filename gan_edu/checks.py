"""Checks of what a GAN is given to train on, made before any work is done, each raising a
``TypeError`` or ``ValueError`` that says what was wrong: the sampler's batches, and whether G
and D fit the data and each other; and the checks the other modules share (numbers, file paths,
arrays of numbers), so that a refused call has changed nothing yet."""
from __future__ import annotations

import math
import numbers
import os
import reprlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["check_lr", "check_seed", "check_real", "check_callable", "check_callbacks", "check_fits", "check_choice", "check_weight", "check_count", "check_steps", "check_both_steps",
           "check_fraction", "check_betas", "check_amp", "AMP_CHOICES", "check_path", "check_keys", "as_values", "as_numbers",
           "real_batch", "forward_unchanged", "nets_fit", "check_float32",
           "generator_takes_noise", "g_feeds_d", "as_input", "available_memory"]

MAX_STEPS_PER_ROUND = 10
AMP_CHOICES = (False, True, "auto", "bf16", "off")  # the ``amp`` switch (gan_edu.speed.switches.autocast_dtype)
MAX_LR = 10.0
MAX_SEED = 2**32 - 1


def is_number(value, integer: bool = False) -> bool:
    """A real number (an integer with ``integer``) and not a bool: True and False are ints to
    Python, never a count, a size or a rate to us. Every check of a number starts here."""
    return isinstance(value, numbers.Integral if integer else numbers.Real) and not isinstance(value, bool)


def check_flag(name: str, value) -> bool:
    """True or False (not 0, 1 or a string)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_lr(name: str, value) -> float:
    """A learning rate: a positive finite number up to ``MAX_LR`` (a larger one can only be a typo)."""
    if not is_number(value):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    if value > MAX_LR:
        raise ValueError(f"{name}={value!r} is not a learning rate a GAN trains with: give a number in (0, {MAX_LR:g}] "
                         "(typical: 1e-4 to 1e-2)")
    return float(value)


def check_seed(name: str, value) -> int:
    """A seed: an integer from 0 to ``MAX_SEED`` (what torch, NumPy and Python all take)."""
    if not is_number(value, integer=True):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"{name} must be an integer from 0 to {MAX_SEED} (2**32 - 1), got {value!r}")
    return int(value)


def check_real(name: str, value, low: float = -math.inf, high: float = math.inf, low_open: bool = False) -> float:
    """A finite number in [low, high] (``low_open``: in (low, high])."""
    if not is_number(value):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
        if math.isinf(high):
            where = "" if math.isinf(low) else f" {'>' if low_open else '>='} {low:g}"
        else:
            where = f" in {'(' if low_open else '['}{low:g}, {high:g}]"
        raise ValueError(f"{name} must be a finite number{where}, got {value!r}")
    return float(value)


def check_callable(name: str, value, how: str):
    """Something to call as ``how``."""
    if not callable(value):
        raise TypeError(f"{name} must be callable as {how}, got {type(value).__name__} {value!r}")
    return value


def check_callbacks(callbacks) -> tuple:
    """A callable, or a list / tuple of callables, each called as ``callback(gan)``."""
    if callable(callbacks):
        return (callbacks,)
    if not isinstance(callbacks, (list, tuple)) or not all(callable(c) for c in callbacks):
        raise TypeError("callbacks must be a function or a list of functions, each called as callback(gan) "
                        f"after a round, got {callbacks!r}")
    return tuple(callbacks)


def available_memory(device) -> int:
    """Bytes of memory on ``device``: the GPU's total, or the machine's RAM (0 if unknown)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[1]
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def check_fits(what: str, n: int, bytes_each: int, device) -> int:
    """``n`` items of at least ``bytes_each`` bytes fit in ``device``'s memory (a ValueError saying
    how much was asked for otherwise)."""
    need, have = n * bytes_each, available_memory(device)
    if have and need > have:
        raise ValueError(f"{what}={n} needs at least {need / 2**30:,.1f} GiB ({n} x {bytes_each} bytes), more "
                         f"than the {have / 2**30:,.1f} GiB of {torch.device(device).type} memory here: ask for fewer")
    return n


def check_choice(name: str, value, choices):
    """One of ``choices`` (a tuple, or a dict's keys), compared with ``==``: an unhashable value is refused too."""
    if value not in tuple(choices):
        raise ValueError(f"unknown {name}={value!r}; choose one of {tuple(choices)}")
    return value


def check_weight(name: str, value) -> float:
    """A penalty's weight: a finite number >= 0 (0: off)."""
    if not is_number(value):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_count(name: str, value, minimum: int = 1) -> int:
    """An integer >= ``minimum``."""
    if not is_number(value, integer=True) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_batch_size(batch_size, pack: int = 1) -> int:
    """A batch: an integer >= 1, a multiple of PacGAN's ``pack``."""
    batch_size = check_count("batch_size", batch_size)
    if batch_size % pack:
        raise ValueError(f"batch_size={batch_size} must be a multiple of pack={pack} "
                         "(D sees the batch in packs of that many samples)")
    return batch_size


def check_steps(name: str, value) -> int:
    """D or G steps per round: an integer from 0 to ``MAX_STEPS_PER_ROUND``."""
    if not is_number(value, integer=True) or not 0 <= value <= MAX_STEPS_PER_ROUND:
        raise ValueError(f"{name} must be an integer from 0 to {MAX_STEPS_PER_ROUND}, got {value!r}")
    return int(value)


def check_both_steps(d_steps: int, g_steps: int) -> None:
    """A round must train something."""
    if d_steps == 0 and g_steps == 0:
        raise ValueError("d_steps and g_steps cannot both be 0: a round would train nothing")


def check_fraction(name: str, value, high: float = 1.0, note: str = "") -> float:
    """``value`` as a float in [0, ``high``), or a ValueError naming ``name``."""
    if not is_number(value) or not 0 <= value < high:
        raise ValueError(f"{name} must be a number in [0, {high:g}){note}, got {value!r}")
    return float(value)


def check_betas(name: str, value) -> tuple:
    """Adam's (β1, β2): two numbers in [0, 1)."""
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(b, numbers.Real) and 0 <= b < 1 for b in value)):
        raise ValueError(f"{name} must be two numbers in [0, 1), got {value!r}")
    return tuple(float(b) for b in value)


def check_amp(name: str, value):
    """The ``amp`` switch: one of ``AMP_CHOICES`` (True and False themselves, not 1 or 0)."""
    if value not in AMP_CHOICES or (value is not True and value is not False and not isinstance(value, str)):
        raise ValueError(f"{name} must be one of {AMP_CHOICES}, got {value!r}")
    return value


def check_path(name: str, value) -> Path:
    """A file's path: a string or ``pathlib.Path`` that is not a folder."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (a string or pathlib.Path), got {type(value).__name__} {value!r}")
    path = Path(value)
    if path.is_dir():  # "" too: the current folder
        raise ValueError(f"{name}={str(value)!r} is a folder: give the path of a file in it, e.g. {name}='run.pt'")
    return path


def check_keys(name: str, value, keys) -> Mapping:
    """A dict (any mapping) with an entry for each of ``keys``."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict, got {type(value).__name__} {reprlib.repr(value)}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise ValueError(f"{name} lacks an entry for {', '.join(map(repr, missing))}")
    return value


def as_values(name: str, x) -> torch.Tensor:
    """``x`` (a tensor, array, list or number) as a floating-point tensor of at least one real number.
    A floating-point tensor comes back as it is (its graph and device kept); integers become float32."""
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"{name} must be a tensor, array or list of numbers, got {type(x).__name__} "
                            f"{reprlib.repr(x)} ({err})") from None
    if x.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty: it needs at least one value")
    return x if x.is_floating_point() else x.float()


def as_numbers(name: str, x, finite: bool = False) -> np.ndarray:
    """``x`` (a number, list, array or tensor) as a float64 NumPy array of at least one real number
    (``finite``: none of them NaN or infinite). Text, booleans and ragged lists are refused."""
    try:
        arr = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(x).__name__} ({err})") from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(x).__name__} {reprlib.repr(x)}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: it needs at least one number")
    if finite and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {reprlib.repr(x)} (NaN or infinite)")
    return arr.astype(float)


def real_batch(real, batch_size: int) -> torch.Tensor:
    """``sampler(batch_size)``'s result: a floating-point tensor of shape (batch_size, *data_shape)."""
    if not isinstance(real, torch.Tensor):
        raise TypeError(f"sampler must return a torch.Tensor, got {type(real).__name__}")
    if real.is_meta:
        raise ValueError("sampler must return data, got a tensor on the meta device (a shape without values): "
                         "make it on the CPU or a GPU")
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
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"the discriminator must return a tensor of logits, got {type(out).__name__}")
    if out.numel() != packed.shape[0]:
        raise ValueError(f"the discriminator must return one logit per sample, got shape {tuple(out.shape)}")


def check_float32(name: str, net: nn.Module) -> nn.Module:
    """A net whose floating-point weights are float32 (the noise, the data and the losses are)."""
    dtypes = {p.dtype for p in net.parameters() if p.is_floating_point()} - {torch.float32}
    if dtypes:
        raise TypeError(f"the {name}'s weights are {', '.join(map(str, sorted(dtypes, key=str)))}; gan_edu trains "
                        f"float32 nets (speed switch amp= for bfloat16): build it in float32 or call .float()")
    return net


def _forward(name: str, net: nn.Module, x: torch.Tensor, what: str) -> torch.Tensor:
    """``forward_unchanged(net, x)``; a net that cannot take ``x`` is a ValueError saying so."""
    try:
        out = forward_unchanged(net, x)
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        raise ValueError(f"the {name} cannot take {what}: {err}") from None
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"the {name} must return a tensor, got {type(out).__name__}")
    return out


def generator_takes_noise(G: nn.Module, noise_dim: int, device) -> torch.Tensor:
    """G takes z of size ``noise_dim`` (its ``noise_dim`` matches its first layer); returns G(0)."""
    return _forward("generator", G, torch.zeros(2, noise_dim, device=device),
                    f"noise z of shape (n, {noise_dim}) (its noise_dim attribute): is noise_dim its input size?")


def g_feeds_d(G: nn.Module, D: nn.Module, pack, packs: int, noise_dim: int, n: int, device) -> None:
    """D takes (packs of) G's output and returns one logit per sample (a G-only round's check)."""
    fake = pack(forward_unchanged(G, torch.zeros(n, noise_dim, device=device)))
    what = f"the generator's output, of shape {tuple(fake.shape[1:])}{' in packs' if packs > 1 else ''}"
    out = _forward("discriminator", D, fake, what)
    if out.numel() != fake.shape[0]:
        raise ValueError(f"the discriminator must return one logit per sample, got shape {tuple(out.shape)}")


def as_input(name: str, x, shape: tuple | None, device) -> torch.Tensor:
    """``x`` (a tensor, array or list) as a float32 tensor on ``device`` of shape (n, *shape)
    (``shape`` None: any (n, ...) with n >= 1)."""
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"{name} must be a tensor (or an array) of numbers, got {type(x).__name__}: {err}") from None
    if not (x.is_floating_point() or x.dtype in (torch.int32, torch.int64)) or x.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if x.ndim < 2 or x.shape[0] < 1 or (shape is not None and tuple(x.shape[1:]) != tuple(shape)):
        want = f"(n, {', '.join(map(str, shape))})" if shape is not None else "(n, ...)"
        raise ValueError(f"{name} must have shape {want} with n >= 1, got {tuple(x.shape)}")
    return x.to(device=device, dtype=torch.float32)

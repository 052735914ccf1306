"""Checkpoints: one file with both nets, both optimizers, the settings, the history and the
noise generator's state, written atomically and read with ``torch.load(weights_only=True)``
(a file cannot run code). ``GAN.save`` and ``GAN.load`` call these functions."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from torch import nn

__all__ = ["FORMAT", "atomic_save", "safe_load", "gan_state", "build_nets", "restore"]

FORMAT = "gan_edu/1"


def atomic_save(obj, path) -> Path:
    """``torch.save(obj)`` to a temporary file in ``path``'s folder, then a rename onto ``path``:
    a crash or a full disk never leaves half a file where a good one was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def safe_load(path, what: str = "gan_edu file") -> dict:
    """``torch.load(path, weights_only=True)`` onto the CPU: tensors, numbers, strings, lists and
    dicts only, so a file cannot run code. A missing file raises FileNotFoundError; anything else
    unreadable (corrupt, truncated, not a dict) a ValueError naming ``what`` was expected."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:
        raise ValueError(f"{path} is not a readable {what}: {err}") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a {what}")
    return state


def _net_state(net: nn.Module) -> dict:
    return {"class": type(net).__name__, "config": getattr(net, "config", None), "state": net.state_dict()}


def gan_state(gan, extra: dict | None = None) -> dict:
    """Everything a checkpoint holds, as a dict of tensors, numbers, strings, lists and dicts."""
    return {
        "format": FORMAT,
        "nets": {"G": _net_state(gan.G), "D": _net_state(gan.D)},
        "G_ema": None if gan.G_ema is None else gan.G_ema.state_dict(),
        "opt_d": gan.opt_d.state_dict(), "opt_g": gan.opt_g.state_dict(),
        "settings": gan.settings(), "step": gan.step,
        "history": {k: [list(e) for e in v] if k == "events" else list(v) for k, v in gan.history.items()},
        "rng": gan.rng.get_state(), "rng_device": gan.rng.device.type,
        **(extra or {}),
    }


def build_nets(state: dict, generator: nn.Module | None, discriminator: nn.Module | None) -> list:
    """G and D with the checkpoint's weights: gan_edu's own nets rebuilt from their config, or the
    nets given (built the same way)."""
    from . import nets as _nets

    built = []
    for name, given in (("G", generator), ("D", discriminator)):
        spec = state["nets"][name]
        if given is None:
            if spec["class"] not in _nets.NETS or spec["config"] is None:
                raise ValueError(f"the checkpoint's {spec['class']} is not one of gan_edu's nets: "
                                 f"pass {'generator' if name == 'G' else 'discriminator'}= to GAN.load")
            given = _nets.NETS[spec["class"]](**spec["config"])
        try:
            given.load_state_dict(spec["state"])
        except RuntimeError as err:
            raise ValueError(f"the checkpoint's {name} weights do not fit the net given: {err}") from None
        built.append(given)
    return built


def restore(gan, state: dict) -> None:
    """Put a checkpoint's optimizers, average of G, step, history and noise state into ``gan``
    (built with the checkpoint's nets and settings)."""
    for opt, saved in ((gan.opt_d, state["opt_d"]), (gan.opt_g, state["opt_g"])):
        own = {k: opt.defaults[k] for k in ("fused", "foreach") if k in opt.defaults}
        opt.load_state_dict(saved)
        for group in opt.param_groups:  # a saved fused optimizer must not make this one fused:
            group.update(own)           # speed switches are not saved (this torch may lack it)
    if gan.G_ema is not None and state.get("G_ema") is not None:
        gan.G_ema.load_state_dict(state["G_ema"])
    gan.step = state["step"]
    gan.history = {k: [tuple(e) for e in v] if k == "events" else list(v) for k, v in state["history"].items()}
    if gan.rng.device.type == state.get("rng_device"):  # a CUDA RNG state does not fit a CPU one
        gan.rng.set_state(state["rng"])

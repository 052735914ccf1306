"""Checkpoints: one file with both nets, both optimizers, the settings, the history and the
noise generator's state, written atomically and read with ``torch.load(weights_only=True)``
(a file cannot run code). ``GAN.save`` and ``GAN.load`` call these functions."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import torch
from torch import nn

from .checks import check_path

__all__ = ["FORMAT", "RESERVED", "atomic_save", "safe_load", "digest", "check_extra", "with_checksum", "verified",
           "load_checkpoint", "gan_state", "build_nets", "restore"]

FORMAT = "gan_edu/1"
RESERVED = ("format", "nets", "G_ema", "opt_d", "opt_g", "settings", "step", "history", "rng", "rng_device", "checksum")
NEEDED = ("nets", "opt_d", "opt_g", "settings", "step", "history", "rng")


def atomic_save(obj, path) -> Path:
    """``torch.save(obj)`` to a temporary file in ``path``'s folder, flushed to the disk (fsync),
    then a rename onto ``path``: a crash, a power cut or a full disk never leaves half a file where
    a good one was. ``path``: a file's path (a string or ``pathlib.Path``), checked before anything
    is written."""
    path = check_path("path", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())  # the bytes on the disk before the rename makes them the file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def safe_load(path, what: str = "gan_edu file") -> dict:
    """``torch.load(path, weights_only=True)`` onto the CPU: tensors, numbers, strings, lists and
    dicts only, so a file cannot run code. A missing file raises FileNotFoundError; anything else
    unreadable (corrupt, truncated, not a dict) a ValueError naming ``what`` was expected; a
    ``path`` that is not a file's path (None, a folder) a TypeError or ValueError naming it."""
    check_path("path", path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:
        raise ValueError(f"{path} is not a readable {what}: {err}") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a {what}")
    return state


def _feed(h, obj) -> None:
    """Feed ``obj`` to the hash ``h`` in a canonical form: type tags, lengths, raw tensor bytes."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, dict):
        h.update(b"D%d" % len(obj))
        for k, v in obj.items():
            _feed(h, k), _feed(h, v)
    elif isinstance(obj, (list, tuple)):
        h.update(b"L%d" % len(obj))
        for v in obj:
            _feed(h, v)
    elif obj is None or isinstance(obj, (bool, int, str)):
        h.update(f"{type(obj).__name__}:{obj!s}".encode())
    elif isinstance(obj, float):
        h.update(b"F" + obj.hex().encode())
    else:
        raise TypeError(f"a checkpoint cannot hold a {type(obj).__name__}")


def digest(state: dict) -> str:
    """SHA-256 of a checkpoint's contents (its ``"checksum"`` entry left out), in a canonical form."""
    h = hashlib.sha256()
    _feed(h, {k: v for k, v in state.items() if k != "checksum"})
    return h.hexdigest()


def check_extra(extra, where: str = "extra") -> None:
    """``extra`` holds only what ``load`` reads back (``weights_only``): tensors, numbers,
    strings, None, lists, tuples and dicts of them, with string or integer keys."""
    if isinstance(extra, dict):
        for k, v in extra.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"{where} has the key {k!r}: checkpoint keys are strings or integers")
            check_extra(v, f"{where}[{k!r}]")
    elif isinstance(extra, (list, tuple)):
        for i, v in enumerate(extra):
            check_extra(v, f"{where}[{i}]")
    elif not (extra is None or isinstance(extra, (bool, int, float, str, torch.Tensor))):
        raise TypeError(f"{where} is of type {type(extra).__name__}: a checkpoint holds only tensors, numbers, strings, "
                        "None, lists and dicts (load reads it with weights_only=True); convert it first")


def with_checksum(state: dict) -> dict:
    """``state`` with its ``"checksum"`` (``digest``), verified when it is loaded."""
    return dict(state, checksum=digest(state))


def verified(state: dict, path) -> dict:
    """``state`` if its checksum matches its contents (files saved before checksums pass); a
    ValueError naming ``path`` otherwise."""
    saved = state.get("checksum")
    if saved is not None and saved != digest(state):
        raise ValueError(f"{path} is damaged: its contents do not match the checksum saved with them "
                         "(the file was changed after it was saved); use another copy")
    return state


def load_checkpoint(path) -> dict:
    """A verified gan_edu checkpoint from ``path``: its format, its entries and its checksum checked."""
    state = verified(safe_load(path, "gan_edu checkpoint"), path)
    if state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a gan_edu checkpoint")
    missing = [k for k in NEEDED if k not in state] + [f"nets/{n}" for n in ("G", "D")
                                                      if not isinstance(state.get("nets"), dict) or n not in state["nets"]]
    if missing:
        raise ValueError(f"{path} is not a complete gan_edu checkpoint: it lacks {', '.join(missing)}")
    return state


def _net_state(net: nn.Module) -> dict:
    return {"class": type(net).__name__, "config": getattr(net, "config", None), "state": net.state_dict()}


def gan_state(gan, extra: dict | None = None) -> dict:
    """Everything a checkpoint holds, as a dict of tensors, numbers, strings, lists and dicts,
    with its checksum. ``extra``: more entries (``check_extra``), none of the ``RESERVED`` names."""
    if extra is not None and not isinstance(extra, dict):
        raise TypeError(f"extra must be a dict of more entries for the file, got {type(extra).__name__}")
    taken = sorted(set(extra or ()) & set(RESERVED))
    if taken:
        raise ValueError(f"extra cannot use the checkpoint's own keys {taken}; reserved: {list(RESERVED)}")
    check_extra(extra or {})
    return with_checksum({
        "format": FORMAT,
        "nets": {"G": _net_state(gan.G), "D": _net_state(gan.D)},
        "G_ema": None if gan.G_ema is None else gan.G_ema.state_dict(),
        "opt_d": gan.opt_d.state_dict(), "opt_g": gan.opt_g.state_dict(),
        "settings": gan.settings(), "step": gan.step,
        "history": {k: [list(e) for e in v] if k == "events" else list(v) for k, v in gan.history.items()},
        "rng": gan.rng.get_state(), "rng_device": gan.rng.device.type,
        **(extra or {}),
    })


def build_nets(state: dict, generator: nn.Module | None, discriminator: nn.Module | None) -> list:
    """G and D with the checkpoint's weights: gan_edu's own nets rebuilt from their config, or the
    nets given (built the same way)."""
    from . import nets as _nets

    built = []
    for name, given in (("G", generator), ("D", discriminator)):
        spec = state["nets"][name]
        if given is not None and not isinstance(given, nn.Module):
            arg = "generator" if name == "G" else "discriminator"
            raise TypeError(f"{arg} must be a torch.nn.Module built like the saved one (or None), got {given!r}")
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

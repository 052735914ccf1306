"""Every setting of a GAN, defined once.

Each setting is one field of ``Settings`` (the rules of the game, saved with a checkpoint and
shown by ``GAN.settings()``) or of ``Switches`` (speed switches, applied once when the nets and
optimizers are built, never saved). A field owns its default, its check (which raises a
``TypeError`` or ``ValueError`` naming the setting), whether it may change while training
(``live``: ``GAN.configure`` takes it at the next step boundary) and its JSON form (tuples as
lists). ``GAN(G, D, **settings)``, ``gan.settings()``, ``gan.configure(**changes)`` and the live
trainer all read these definitions: adding an option is one field here plus the small object
that implements it (``gan_edu.options``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .checks import check_seed as _check_seed_value
from .checks import (MAX_STEPS_PER_ROUND, check_amp, check_betas, check_both_steps, check_choice, check_count,
                     check_flag, check_fraction, check_lr, check_steps, check_weight)
from .algorithm import NOISES
from .options import OBJECTIVES

__all__ = ["Settings", "Switches", "OPTIMIZERS", "NOISES", "UPDATES", "LABEL_SMOOTHINGS",
           "MAX_STEPS_PER_ROUND", "live_names", "construction_only", "checked_changes", "check_together"]

OPTIMIZERS = ("adam", "sgd")
UPDATES = ("alternating", "simultaneous")
LABEL_SMOOTHINGS = ("none", "one_sided", "two_sided")


def check_seed(name: str, value):
    """The noise generator's seed: None (a random one) or an integer from 0 to 2³² - 1."""
    return None if value is None else _check_seed_value(name, value)


def check_compile(name: str, value):
    if not isinstance(value, (bool, str)):
        raise TypeError(f"{name} must be True, False or a torch.compile backend name, got {value!r}")
    return value


def _choice(choices):
    return lambda name, value: check_choice(name, value, choices)


def _fraction(high: float, note: str = ""):
    return lambda name, value: check_fraction(name, value, high, note)


def option(default, check, live: bool = True, doc: str = ""):
    """A setting: its default, its check ``check(name, value) -> value``, whether ``configure``
    may change it while training (``live``), and what it means (``doc``)."""
    return field(default=default, metadata=dict(check=check, live=live, doc=doc))


def _jsonable(value):
    """Tuples as lists (JSON has no tuples), so settings compare equal after a JSON round trip."""
    return [_jsonable(v) for v in value] if isinstance(value, (tuple, list)) else value


class _Checked:
    """Checks every field in declaration order when built; ``to_json``."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            setattr(self, f.name, f.metadata["check"](f.name, getattr(self, f.name)))

    def to_json(self) -> dict:
        """Every field as a JSON-serialisable value, in declaration order."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclass
class Settings(_Checked):
    """The rules of the game: what ``GAN.settings()`` returns and a checkpoint keeps."""
    lr_d: float = option(2e-4, check_lr, doc="D's learning rate")
    lr_g: float = option(2e-4, check_lr, doc="G's learning rate")
    betas: tuple = option((0.5, 0.999), check_betas, live=False, doc="Adam's betas (DCGAN: (0.5, 0.999))")
    loss: str = option("non_saturating", _choice(OBJECTIVES),
                       doc="the loss kind: non_saturating, saturating (BCE), lsgan, wasserstein")
    d_steps: int = option(1, check_steps, doc="D steps per round (0-10)")
    g_steps: int = option(1, check_steps, doc="G steps per round (0-10; not both 0)")
    optimizer: str = option("adam", _choice(OPTIMIZERS), doc="adam or sgd (a change starts it afresh)")
    noise: str = option("normal", _choice(NOISES), doc="the prior p(z): normal, or uniform on [-1, 1]")
    update: str = option("alternating", _choice(UPDATES), doc="alternating or simultaneous updates")
    label_smoothing: str = option("none", _choice(LABEL_SMOOTHINGS), doc="D's targets: none, one_sided, two_sided")
    smoothing: float = option(0.1, _fraction(0.5), doc="the smoothing amount s: real 1 - s (and fake s)")
    seed: object = option(0, check_seed, live=False, doc="the seed of the GAN's noise generator")
    pack: int = option(1, check_count, live=False, doc="PacGAN: D judges packs of this many samples")
    gp_weight: float = option(0.0, check_weight, doc="WGAN-GP's gradient penalty weight")
    r1_weight: float = option(0.0, check_weight, doc="the R1 penalty's weight γ (adds γ/2 R1)")
    ema: float = option(0.0, _fraction(1.0, " (0: no average of G's weights)"), live=False,
                        doc="β of the moving average of G's weights that sample() draws from")
    spectral_norm: bool = option(False, check_flag, live=False,
                                 doc="spectral normalisation of D's layers, W / σ(W) (Miyato et al. 2018)")

    def __post_init__(self):
        super().__post_init__()
        check_both_steps(self.d_steps, self.g_steps)


@dataclass
class Switches(_Checked):
    """Speed switches (``gan_edu.speed``), applied once when the nets and optimizers are built."""
    amp: object = option(False, check_amp, live=False, doc="bfloat16 autocast: False, 'auto', True / 'bf16'")
    channels_last: bool = option(False, check_flag, live=False, doc="channels_last memory format for conv nets")
    compile: object = option(False, check_compile, live=False, doc="torch.compile both nets (True or a backend)")
    resident_data: bool = option(False, check_flag, live=False, doc="a TensorSampler's data on the device once")
    fused_adam: bool = option(False, check_flag, live=False, doc="Adam's fused update")
    cuda_graphs: bool = option(False, check_flag, live=False,
                               doc="record a round as a CUDA graph and replay it (gan_edu.speed.graphs; CUDA GPUs only)")


def live_names() -> tuple:
    """The settings ``configure`` may change while training."""
    return tuple(f.name for f in dataclasses.fields(Settings) if f.metadata["live"])


def construction_only() -> tuple:
    """The settings fixed when the GAN is built (``configure`` accepts only their own value)."""
    return tuple(f.name for f in dataclasses.fields(Settings) if not f.metadata["live"])


def checked_changes(changes: dict, own: dict) -> dict:
    """``configure``'s checks: every name known, construction-only settings equal to ``own``'s
    (the GAN's ``settings()``; they are dropped), each live value checked. Returns the checked
    live changes."""
    live, fixed = live_names(), construction_only()
    unknown = set(changes) - set(live) - set(fixed)
    if unknown:
        raise ValueError(f"cannot configure {sorted(unknown)}; settable: {sorted(live)}")
    changes = dict(changes)
    for name in fixed:
        if name in changes and _jsonable(changes.pop(name)) != own[name]:
            raise ValueError(f"{name} is fixed when the GAN is built (it is {own[name]!r}); to change "
                             f"it, build a new one: GAN(generator, discriminator, **settings)")
    checks = {f.name: f.metadata["check"] for f in dataclasses.fields(Settings)}
    return {name: checks[name](name, value) for name, value in changes.items()}


def check_together(settings: Settings, switches: Switches) -> None:
    """Refuse the settings and switches that cannot train together, with a ValueError naming them:
    ``spectral_norm`` with ``compile`` (the compiled D keeps the power iteration's vectors u, v for
    its backward pass, and the next pass of D updates them in place: autograd stops with "modified
    by an inplace operation"; seen with torch 2.13 on the CPU)."""
    if settings.spectral_norm and switches.compile:
        raise ValueError(f"spectral_norm=True cannot be combined with compile={switches.compile!r}: the compiled "
                         "discriminator's backward pass needs the power iteration's vectors that its next forward "
                         "pass updates in place, and training stops. Use compile=False with spectral_norm")

"""The live trainer's settings: the data sets, the names of its controls, and their checks.

Shared by ``gan_edu.live`` (the trainer), ``gan_edu.live.session`` (settings, save, load) and
``gan_edu.live.widget`` (the widgets), so that none of them imports another for a constant.

- ``DATASETS``: key -> (label shown in the dropdown, sampler factory taking the seed), with
  ``DRAW`` the drawn (or loaded) points, ``default_points()`` the drawing pad's starting data;
- ``GAN_SETTINGS`` (what ``gan.configure`` takes), ``CONTROLS`` (what ``LiveTrainer.set``
  takes), ``ARCH`` (the nets' sizes), ``PANELS`` (the optional view panels, from
  ``gan_edu.live.view``), ``SETTINGS_KEYS`` (what ``LiveTrainer.settings()`` holds);
- the checks of the trainer's own settings (the GAN checks its own): ``check_loss``,
  ``check_delay``, ``check_points``, ``check_panels``, ``check_changes`` (what ``set`` takes),
  ``check_view_rate``, ``check_settings``; ``make_sampler``: a data set's sampler.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

import numpy as np

from .. import data as _data
from ..checks import check_choice, check_count, check_seed, is_number
from ..losses import BCE_LOSSES
from ..settings import Settings, _Checked, check_both_steps, option
from .view import PANELS

__all__ = ["DATASETS", "DRAW", "DRAW_LIM", "PANELS", "LiveSettings", "CONTROLS", "GAN_SETTINGS", "ARCH", "SETTINGS_KEYS",
           "default_points", "check_loss", "check_delay", "check_points", "check_panels", "check_changes",
           "check_view_rate", "check_settings", "make_sampler"]

DRAW = "draw"
DRAW_LIM = 3.0  # the drawing pad shows [-3, 3]²


def default_points() -> np.ndarray:
    """The drawing pad's starting data: three blobs of 40 points (a student edits them)."""
    rng = np.random.default_rng(0)
    centres = np.array([[-1.5, -1.0], [1.5, -1.0], [0.0, 1.5]])
    return np.round(np.concatenate([c + 0.15 * rng.standard_normal((40, 2)) for c in centres]), 3)


DATASETS = {  # key -> (label shown in the dropdown, sampler factory taking the seed)
    "ring": ("ring of 8", lambda seed: _data.ring(8, seed=seed)),
    "grid": ("grid of 25", lambda seed: _data.grid(5, seed=seed)),
    "moons": ("two moons", lambda seed: _data.TwoMoons(seed=seed)),
    "spiral": ("spiral", lambda seed: _data.Spiral(seed=seed)),
    "gaussian1d": ("1D Gaussian", lambda seed: _data.Gaussian1D(seed=seed)),
    DRAW: ("draw your own", lambda seed: _data.PointCloud(default_points(), seed=seed)),  # or LiveTrainer.points
}
MAX_DELAY_MS = 5000
N_ARROWS = 64      # generated points that carry a gradient arrow


def check_loss(value) -> str:
    """The live view draws D(x) as a probability: the BCE losses only (notebook 06 has the others)."""
    return check_choice("loss", value, BCE_LOSSES)


def check_delay(value) -> int:
    """Slow motion: a number of milliseconds from 0 to ``MAX_DELAY_MS``, rounded to an int."""
    if not is_number(value) or not 0 <= value <= MAX_DELAY_MS:
        raise ValueError(f"delay_ms must be a number of milliseconds from 0 to {MAX_DELAY_MS}, got {value!r}")
    return int(round(value))


def check_points(points) -> np.ndarray:
    """Points (n, 2) or (n, 1) as a float array rounded to 1e-3 (so ``settings()`` holds them exactly)."""
    cloud = _data.PointCloud(points)  # checks shape, count and finiteness with clear messages
    return np.round(cloud.points.double().numpy(), 3)


def check_panels(panels) -> dict:
    """A dict of panel name (from ``PANELS``) -> shown (True) or hidden (False)."""
    if not isinstance(panels, dict) or set(panels) - set(PANELS):
        raise ValueError(f"panels must be a dict with keys from {tuple(PANELS)}, got {panels!r}")
    for name, on in panels.items():
        if not isinstance(on, bool):
            raise ValueError(f"panel {name!r} must be shown (True) or hidden (False), got {on!r}")
    return dict(panels)


def _gan_option(name: str, default=dataclasses.MISSING, check=None):
    """A GAN setting as the playground has it: ``Settings``' check, liveness and meaning, with
    the playground's ``default`` (and a narrower ``check``, for the loss)."""
    f = Settings.__dataclass_fields__[name]
    return option(f.default if default is dataclasses.MISSING else default, check or f.metadata["check"],
                  f.metadata["live"], f.metadata["doc"])


def _checked(fn):
    return lambda name, value: fn(value)


@dataclass
class LiveSettings(_Checked):
    """Every setting of a ``LiveTrainer``, defined once: the GAN's controls (``Settings``' checks,
    the playground's defaults), then the trainer's own. ``live`` ones change a running training
    (``LiveTrainer.set``); the others rebuild it (``apply_settings``)."""
    lr_d: float = _gan_option("lr_d", 1e-3)
    lr_g: float = _gan_option("lr_g", 1e-3)
    d_steps: int = _gan_option("d_steps")
    g_steps: int = _gan_option("g_steps")
    loss: str = _gan_option("loss", check=_checked(check_loss))
    optimizer: str = _gan_option("optimizer")
    noise: str = _gan_option("noise")
    update: str = _gan_option("update")
    label_smoothing: str = _gan_option("label_smoothing")
    smoothing: float = _gan_option("smoothing")
    data: str = option("ring", lambda name, v: check_choice(name, v, DATASETS), doc="the data set (DATASETS)")
    batch_size: int = option(256, check_count, doc="real (and fake) samples per round")
    delay_ms: int = option(0, _checked(check_delay), doc="slow motion: a pause after each round")
    noise_dim: int = option(2, check_count, live=False, doc="the size of z")
    hidden: int = option(128, check_count, live=False, doc="the MLPs' width")
    depth: int = option(3, check_count, live=False, doc="the MLPs' hidden layers")
    betas: tuple = _gan_option("betas")
    seed: int = _gan_option("seed", check=check_seed)  # an integer: the trainer seeds its nets, data and view
    jitter: float = option(0.02, _checked(_data.check_jitter), live=False, doc="the drawn points' spread")
    points: object = option(None, lambda name, v: None if v is None else check_points(v), live=False,
                            doc="(n, 2) or (n, 1): the data for \"draw\" (None: the pad's starting points)")
    panels: object = option(None, lambda name, v: check_panels(v or {}), doc="the optional panels shown (PANELS)")

    def __post_init__(self):
        super().__post_init__()
        check_both_steps(self.d_steps, self.g_steps)


_FIELDS = dataclasses.fields(LiveSettings)
GAN_SETTINGS = tuple(f.name for f in _FIELDS if f.name in Settings.__dataclass_fields__ and f.metadata["live"])
CONTROLS = GAN_SETTINGS + tuple(f.name for f in _FIELDS if f.name not in Settings.__dataclass_fields__
                                and f.metadata["live"] and f.name != "panels")
ARCH = ("noise_dim", "hidden", "depth")
SETTINGS_KEYS = tuple(f.name for f in _FIELDS)


def check_changes(changes: dict) -> dict:
    """The changes ``LiveTrainer.set`` takes, each checked by its ``LiveSettings`` field (the GAN
    checks D and G steps together when it takes them). Returns the checked values."""
    unknown = set(changes) - set(CONTROLS)
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)}; settable: {sorted(CONTROLS)}")
    checks = {f.name: f.metadata["check"] for f in _FIELDS}
    return {name: checks[name](name, value) for name, value in changes.items()}


def check_view_rate(fps, max_draw_share) -> tuple[float, float]:
    """The view's refresh limits: ``fps`` a positive number, ``max_draw_share`` in (0, 1]."""
    if not (is_number(fps) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if not (is_number(max_draw_share) and 0 < max_draw_share <= 1):
        raise ValueError(f"max_draw_share must be in (0, 1], got {max_draw_share!r}")
    return float(fps), float(max_draw_share)


def make_sampler(data: str, points: np.ndarray, jitter: float, seed: int):
    """The sampler of the data set ``data`` (for ``DRAW``: ``points`` with their ``jitter``)."""
    if data == DRAW:
        return _data.PointCloud(points, jitter=jitter, seed=seed)
    return DATASETS[data][1](seed)


def check_settings(settings) -> dict:
    """A ``settings()`` dict (or its JSON text) with known keys only, as a new dict (values are
    checked where they are used)."""
    if isinstance(settings, str):
        try:
            settings = json.loads(settings)
        except json.JSONDecodeError as err:
            raise ValueError(f"settings is not the JSON of LiveTrainer.settings_json() ({err}): "
                             f"{settings[:60]!r}") from None
    if not isinstance(settings, dict):
        raise TypeError(f"settings must be a dict (from LiveTrainer.settings()), got {type(settings).__name__}")
    unknown = set(settings) - set(SETTINGS_KEYS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(SETTINGS_KEYS)}")
    return dict(settings)

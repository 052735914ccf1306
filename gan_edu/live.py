"""Live training in the notebook: sliders that steer a running GAN on 2D (or 1D) toy data.

``LiveTrainer`` owns a ``GAN`` of MLPs and a toy sampler. ``start()`` runs training rounds
(``gan.train_step``) in a daemon thread, so the notebook cell returns and the kernel keeps
handling slider moves while training runs (a cell that loops itself would block them).
Controls go through ``gan.configure``: a new value is checked at once and applied at the next
step boundary, never inside ``optimizer.step()``, and recorded in ``gan.history["events"]``.

The controls (GAN Lab's and more): Start / Pause / Step (one round) / D step (one D update) /
G step (one G update) / Reset; slow motion (a pause of 0-500 ms after each round); the
learning rates; D steps and G steps per round (0-10 each, not both 0); the G loss; the
optimizer; the batch; the noise; the update scheme (alternating: G sees the D just updated;
simultaneous: both gradients from one forward pass); label smoothing (none, one-sided,
two-sided); the data, including "draw your own" (a ``DrawPad``) or points loaded with
``load_points(array)``.

The live view (``widget()``) is redrawn by the training thread at a bounded rate: at most
``fps`` times a second, and never so often that drawing takes more than ``max_draw_share`` of
the time (a slow machine draws less often instead of training more slowly). It shows

- real vs generated samples over D(x) as a heatmap, with the generator's gradient as arrows:
  for a generated point x = G(z), the arrow is -dL_G/dx, the direction G's update moves it;
- the losses and the mean D(x), D(G(z)) with a vertical line at each control change;
- the mode-coverage metrics over time (ring, grid, 1D Gaussian; see ``metrics.mode_coverage``);
- optional panels (check boxes; off by default, each costs drawing time): G's manifold (a noise
  grid through G), the optimal D* beside the learned D, and KL / JS estimates with V(D, G)
  against V(D*, G) = -log 4 + 2 JSD (see ``gan_edu.live_view``), computed at each refresh on
  the view's fixed samples, never at every step.

``run(steps)`` is the headless path (tests, nbval): it blocks and gives exactly the history
of ``GAN.fit`` with the same seed and settings. Seeding: ``seed_everything(seed)`` is called
once where the nets are built (at construction and at ``reset()``), nowhere else; the view
draws its points from its own fixed noise and never touches the training's random streams.

Sessions: ``settings()`` is a small JSON-able dict (paste it into a cell:
``LiveTrainer(settings=...)`` reproduces the demo); ``save(path)`` / ``LiveTrainer.load(path)``
keep models, optimizers, controls and history (one file, written atomically, loaded with
``weights_only=True``; it is also a ``GAN.load`` checkpoint).
"""
from __future__ import annotations

import json
import math
import numbers
import threading
import time
import weakref
from pathlib import Path

import numpy as np
import torch

from . import data as _data
from .device import seed_everything
from .live_view import GRID_BINS, DivergencePanel, LiveView, ManifoldPanel, OptimalPanel
from .losses import BCE_LOSSES, generator_loss
from .metrics import divergences_on_grid, grid_points, mode_coverage
from .nets import MLPDiscriminator, MLPGenerator
from .train import GAN, _check_choice, _check_count, safe_load

__all__ = ["LiveTrainer", "DATASETS", "PANELS"]

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
GAN_SETTINGS = ("lr_d", "lr_g", "d_steps", "g_steps", "loss", "optimizer", "noise", "update", "label_smoothing",
                "smoothing")
CONTROLS = GAN_SETTINGS + ("data", "batch_size", "delay_ms")
ARCH = ("noise_dim", "hidden", "depth")
PANELS = {"manifold": ManifoldPanel, "optimal": OptimalPanel, "divergences": DivergencePanel}
SETTINGS_KEYS = CONTROLS + ARCH + ("betas", "seed", "jitter", "points", "panels")
MAX_DELAY_MS = 5000
N_COVERAGE = 2500  # the protocol's sample count (VEEGAN, PacGAN)
N_ARROWS = 64      # generated points that carry a gradient arrow
CURVES_SECONDS = 3.0  # the curves (text-heavy, several times slower to draw) are redrawn every 3 s
SESSION_FORMAT = "gan_edu_live/1"


def _shutdown(stop: threading.Event, threads: list) -> None:
    """Stop and join the training thread (weakref finalizer: at garbage collection or exit)."""
    stop.set()
    for t in threads:
        if t.is_alive() and t is not threading.current_thread():
            t.join(timeout=10)


def _check_loss(value) -> str:
    """The live view draws D(x) as a probability: the BCE losses only (notebook 06 has the others)."""
    return _check_choice("loss", value, BCE_LOSSES)


def _check_delay(value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= MAX_DELAY_MS:
        raise ValueError(f"delay_ms must be a number of milliseconds from 0 to {MAX_DELAY_MS}, got {value!r}")
    return int(round(value))


def _check_points(points) -> np.ndarray:
    """Points (n, 2) or (n, 1) as a float array rounded to 1e-3 (so ``settings()`` holds them exactly)."""
    cloud = _data.PointCloud(points)  # checks shape, count and finiteness with clear messages
    return np.round(cloud.points.double().numpy(), 3)


def _check_panels(panels) -> dict:
    if not isinstance(panels, dict) or set(panels) - set(PANELS):
        raise ValueError(f"panels must be a dict with keys from {tuple(PANELS)}, got {panels!r}")
    for name, on in panels.items():
        if not isinstance(on, bool):
            raise ValueError(f"panel {name!r} must be shown (True) or hidden (False), got {on!r}")
    return dict(panels)


class LiveTrainer:
    """A GAN on toy data with Start / Pause / Step / D step / G step / Reset and live controls.

    ``data`` one of ``DATASETS`` (``"ring"``, ``"grid"``, ``"moons"``, ``"spiral"``,
    ``"gaussian1d"``, ``"draw"``: the points of the drawing pad, or ``points``); ``lr_d``,
    ``lr_g``, ``d_steps``, ``g_steps``, ``loss``, ``optimizer``, ``noise``, ``update``,
    ``label_smoothing``, ``smoothing``, ``betas`` as in ``GAN``; ``batch_size`` real (and fake)
    samples per round; ``delay_ms`` slow motion, a pause after each round; ``noise_dim``,
    ``hidden``, ``depth`` the MLPs' sizes; ``seed`` for ``seed_everything`` (nets), the GAN's
    noise and the sampler; ``points`` (n, 2) the data for ``"draw"`` and ``jitter`` their
    spread (``data.PointCloud``); ``panels`` which optional views to show (``PANELS``);
    ``fps`` the view's maximum refresh rate; ``max_draw_share`` the largest fraction of wall
    time spent drawing. ``settings``: a dict from ``settings()``, overriding the other arguments.
    """

    def __init__(self, data: str = "ring", lr_d: float = 1e-3, lr_g: float = 1e-3, d_steps: int = 1,
                 loss: str = "non_saturating", optimizer: str = "adam", noise: str = "normal",
                 batch_size: int = 256, noise_dim: int = 2, hidden: int = 128, depth: int = 3,
                 betas=(0.5, 0.999), seed: int = 0, device="cpu", fps: float = 4.0,
                 max_draw_share: float = 0.1, *, g_steps: int = 1, update: str = "alternating",
                 label_smoothing: str = "none", smoothing: float = 0.1, delay_ms: int = 0, points=None,
                 jitter: float = 0.02, panels: dict | None = None, settings: dict | None = None):
        given = dict(data=data, lr_d=lr_d, lr_g=lr_g, d_steps=d_steps, g_steps=g_steps, loss=loss,
                     optimizer=optimizer, noise=noise, update=update, label_smoothing=label_smoothing,
                     smoothing=smoothing, batch_size=batch_size, delay_ms=delay_ms, noise_dim=noise_dim,
                     hidden=hidden, depth=depth, betas=betas, seed=seed, jitter=jitter, points=points,
                     panels=panels or {})
        if settings is not None:
            given.update(self._check_settings(settings))
        if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        if not (isinstance(max_draw_share, (int, float)) and 0 < max_draw_share <= 1):
            raise ValueError(f"max_draw_share must be in (0, 1], got {max_draw_share!r}")
        self.device, self.fps, self.max_draw_share = device, float(fps), float(max_draw_share)
        self._take_settings(given)
        self.message = ""
        self.frames = 0              # view refreshes so far
        self.draw_seconds = 0.0      # time spent in them
        self.n_arrows = N_ARROWS
        self._ui = None
        self.pad = None              # the DrawPad, built with the widget
        self._syncing = False
        self._pending_points = None  # drawn points waiting for the next round boundary
        self._draw_lock = threading.RLock()
        self._stop = threading.Event()
        self._stop.set()
        self._threads: list[threading.Thread] = []
        self._finalizer = weakref.finalize(self, _shutdown, self._stop, self._threads)
        self._build()

    def _take_settings(self, s: dict) -> None:
        """Check and store every setting (the GAN's own are checked again by GAN)."""
        _check_choice("data", s["data"], DATASETS)
        _check_loss(s["loss"])
        self._controls = {k: s[k] for k in CONTROLS}
        self._controls["batch_size"] = _check_count("batch_size", s["batch_size"])
        self._controls["delay_ms"] = _check_delay(s["delay_ms"])
        self.arch = {k: _check_count(k, s[k]) for k in ARCH}
        self.betas, self.seed = tuple(s["betas"]), s["seed"]
        self.jitter = _data.check_jitter(s["jitter"])
        self.points = default_points() if s["points"] is None else _check_points(s["points"])
        self.panels = {name: False for name in PANELS}
        self.panels.update(_check_panels(s["panels"]))

    # ------------------------------------------------------------------ building
    def _make_sampler(self, seed: int):
        if self._controls["data"] == DRAW:
            return _data.PointCloud(self.points, jitter=self.jitter, seed=seed)
        return DATASETS[self._controls["data"]][1](seed)

    def _build(self) -> None:
        """Seed, then build sampler, nets and optimizers from the current settings; clear history."""
        s = self._controls
        seed_everything(self.seed)
        self.sampler = self._make_sampler(self.seed)
        dim = self.sampler.data_shape[0]
        G = MLPGenerator(self.arch["noise_dim"], dim, self.arch["hidden"], self.arch["depth"])
        D = MLPDiscriminator(dim, self.arch["hidden"], self.arch["depth"])
        self.gan = GAN(G, D, betas=self.betas, device=self.device, seed=self.seed,
                       **{k: s[k] for k in GAN_SETTINGS})
        self.batch_size = s["batch_size"]
        self.dim = dim
        self.coverage = {"step": [], "modes": [], "high_quality": []}
        self.divergences = {k: [] for k in ("step", "kl", "reverse_kl", "js", "v_star", "v")}
        self.modes, self.mode_std = self._modes()
        self._set_view_real()
        self._view_z = {}
        self._view = None
        self._panel_views = {}
        self._next_draw = 0.0
        self._frame_cost = None  # moving average of a frame's drawing time, seconds
        self._curves_at = 0.0

    def _set_view_real(self) -> None:
        """The view's real points: a sampler of their own (never the training's random stream)."""
        self.view_real = self._make_sampler(self.seed + 1)(N_COVERAGE if self.dim == 2 else 5000)
        spread = float(self.view_real.abs().max())
        if self.dim != 2:
            self.lim = None
        else:
            self.lim = max(DRAW_LIM, 1.25 * spread) if self._controls["data"] == DRAW else 1.25 * spread

    def _modes(self):
        sampler = self.sampler
        if isinstance(sampler, _data.GaussianMixture):
            return sampler.modes, sampler.std
        if isinstance(sampler, _data.Gaussian1D):
            return torch.tensor([[sampler.mean]]), sampler.std
        return None, None

    def data_label(self) -> str:
        key = self._controls["data"]
        return f"drawn data ({len(self.points)} points)" if key == DRAW else DATASETS[key][0]

    def view_noise(self) -> torch.Tensor:
        """The view's fixed z (2,500 draws from a generator of its own, for the current noise kind):
        the same points every frame, so the student sees them move, and no draw from the training's
        random streams."""
        kind = self.gan.noise_kind
        if kind not in self._view_z:
            gen = torch.Generator().manual_seed(self.seed + 2)
            n, k = N_COVERAGE, self.gan.noise_dim
            z = torch.randn(n, k, generator=gen) if kind == "normal" else torch.rand(n, k, generator=gen) * 2 - 1
            self._view_z[kind] = z
        return self._view_z[kind]

    # ------------------------------------------------------------------ controls
    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads) and not self._stop.is_set()

    def set(self, **changes) -> None:
        """Change controls of the (running) training: ``lr_d``, ``lr_g``, ``d_steps``, ``g_steps``,
        ``loss``, ``optimizer``, ``noise``, ``update``, ``label_smoothing``, ``smoothing`` (through
        ``gan.configure``: next step boundary, recorded), ``batch_size`` (next round, recorded too),
        ``delay_ms`` (slow motion, at once) or ``data`` (rebuilds: a reset on the new data).
        A bad value raises ValueError here and changes nothing (the training goes on as it was)."""
        unknown = set(changes) - set(CONTROLS)
        if unknown:
            raise ValueError(f"cannot set {sorted(unknown)}; settable: {sorted(CONTROLS)}")
        if "batch_size" in changes:
            _check_count("batch_size", changes["batch_size"])
        if "delay_ms" in changes:
            changes["delay_ms"] = _check_delay(changes["delay_ms"])
        if "data" in changes:
            _check_choice("data", changes["data"], DATASETS)
        if "loss" in changes:
            _check_loss(changes["loss"])
        gan_changes = {k: v for k, v in changes.items() if k in GAN_SETTINGS}
        if gan_changes:
            self.gan.configure(**gan_changes)  # validates all (d_steps and g_steps not both 0) before applying any
        self._controls.update(changes)
        if "data" in changes:
            if changes["data"] == DRAW and self.pad is not None and len(self.pad) >= 2:
                self.points = _check_points(self.pad.points)
            self.reset()
            self._layout_pad()
        self._sync_widgets()
        self._update_status()

    def show(self, **panels) -> None:
        """Show or hide the optional view panels: ``manifold``, ``optimal`` (D* vs D),
        ``divergences`` (KL / JS and V over training), each True or False."""
        self.panels.update(_check_panels(panels))
        if self._ui is not None:
            self._sync_widgets()
            self._layout_panels()
            self.refresh(force=True)

    def _apply_batch_size(self) -> None:
        new = self._controls["batch_size"]
        if new != self.batch_size:
            self.batch_size = new
            self.gan.history["events"].append((self.gan.step, "batch_size", new))

    def _round_boundary(self) -> None:
        """Changes that wait for a round boundary: the batch size and newly drawn points."""
        self._apply_batch_size()
        if self._pending_points is not None:
            self._apply_points()

    # ------------------------------------------------------------------ drawn or loaded data
    def load_points(self, points, jitter: float | None = None) -> None:
        """Train on these points (an array, list or tensor of shape (n, 2), or (n, 1) for 1D
        data; rounded to 1e-3): switches the data to "draw", resets from the seed and shows the
        points on the drawing pad. ``jitter`` the spread around each point (``data.PointCloud``)."""
        arr = _check_points(points)
        if jitter is not None:
            self.jitter = _data.check_jitter(jitter)
        self.points = arr
        if self.pad is not None and arr.shape[1] == 2:
            self._syncing = True
            try:
                self.pad.clear()
                self.pad.add_points(arr)
            finally:
                self._syncing = False
        self._pending_points = None
        self._controls["data"] = DRAW
        self.reset()
        self._sync_widgets()
        self._layout_pad()
        self._update_status()

    def _on_pad_change(self, pad) -> None:
        """The student drew or erased: train on the new points from the next round on (no reset)."""
        if self._syncing or self._controls["data"] != DRAW:
            return
        if len(pad) < 2:
            self.message = "draw at least 2 points"
            self._update_status()
            return
        self._pending_points = _check_points(pad.points)
        if not self.running:
            self._apply_points()
            self.refresh(force=True)

    def _apply_points(self) -> None:
        points, self._pending_points = self._pending_points, None
        if points is None or (points.shape == self.points.shape and np.array_equal(points, self.points)):
            return
        if points.shape[1] != self.dim:
            self.message = f"the drawn points are {points.shape[1]}D, the nets {self.dim}D: press Reset"
            return
        self.gan.history["events"].append((self.gan.step, "data", f"{len(points)} drawn points"))
        self.points = points
        self._set_view_real()
        self.sampler = self._make_sampler(self.seed)
        self.message = ""

    # ------------------------------------------------------------------ training
    def start(self, steps: int | None = None) -> None:
        """Train in a background thread until ``pause()``, a non-finite loss, or (if given)
        ``steps`` more rounds. Returns at once; ``wait()`` blocks until the thread stops."""
        target = None if steps is None else self.gan.step + _check_count("steps", steps)
        if self.running:
            return
        self._threads[:] = [t for t in self._threads if t.is_alive()]
        if self._threads:  # a pause still finishing its round
            self._threads[0].join(timeout=10)
            if self._threads[0].is_alive():  # never two training threads: try again when it is done
                self.message = "the previous round is still finishing: press Start again in a moment"
                self._update_status()
                return
        self.message = ""
        if not self._finalizer.alive:  # started again after close()
            self._finalizer = weakref.finalize(self, _shutdown, self._stop, self._threads)
        self._stop.clear()
        thread = threading.Thread(target=self._loop, args=(self._stop, target), name="gan-edu-live", daemon=True)
        self._threads[:] = [thread]
        thread.start()
        self._update_status()

    def pause(self, timeout: float = 10.0) -> None:
        """Stop after the current round and wait for the thread to finish it."""
        self._stop.set()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout)
        self._update_status()

    def close(self) -> None:
        """Pause for good (also done at garbage collection and interpreter exit)."""
        self.pause()
        self._finalizer()

    def step(self) -> dict:
        """One round now (pauses first), then a redraw. Returns the round's record."""
        self.run(1)
        self.refresh(force=True)
        return {k: v[-1] for k, v in self.gan.history.items() if k != "events" and v}

    def d_step(self) -> dict:
        """One D update only (pauses first; G unchanged), recorded as a round, then a redraw."""
        self.pause()
        self._round_boundary()
        record = self.gan.d_only_step(self.sampler, self.batch_size)
        self.refresh(force=True)
        return record

    def g_step(self) -> dict:
        """One G update only (pauses first; D unchanged), recorded as a round, then a redraw."""
        self.pause()
        self._round_boundary()
        record = self.gan.g_only_step(self.batch_size)
        self.refresh(force=True)
        return record

    def reset(self) -> None:
        """Pause, then rebuild nets and optimizers from the seed with the current settings; history cleared."""
        self.pause()
        self.message = ""
        self._build()
        self.refresh(force=True)

    def run(self, steps: int, metrics_every: int | None = None) -> dict:
        """Headless: pause the thread, then train ``steps`` rounds here (blocking) with ``GAN.fit``;
        the metrics (coverage; divergences when that panel is on) are recorded every
        ``metrics_every`` rounds (default: 20 times per run). Returns ``gan.history``. A
        non-finite loss raises ``NonFiniteLossError`` (GAN intact)."""
        steps = _check_count("steps", steps)
        every = max(1, steps // 20) if metrics_every is None else _check_count("metrics_every", metrics_every)
        self.pause()
        self._round_boundary()

        def record(gan):
            if gan.step % every == 0:
                self.record_metrics()

        try:
            self.gan.fit(self.sampler, steps, self.batch_size, callbacks=record, progress=False)
        except Exception as err:
            self.message = f"stopped: {err}"
            raise
        finally:
            self._update_status()
        return self.gan.history

    def _loop(self, stop: threading.Event, target: int | None) -> None:
        while not stop.is_set() and (target is None or self.gan.step < target):
            try:
                self._round_boundary()
                self.gan.train_step(self.sampler, self.batch_size)
            except Exception as err:  # NonFiniteLossError above all: pause, keep the last finite state
                self.message = f"paused: {type(err).__name__}: {err}"
                stop.set()
                break
            if time.perf_counter() >= self._next_draw:
                self._refresh_safely()
            delay = self._controls["delay_ms"]
            if delay:  # slow motion; a pause ends the wait at once
                stop.wait(delay / 1000)
        stop.set()
        self._refresh_safely(force=True)

    def _refresh_safely(self, force: bool = False) -> None:
        try:
            self.refresh(force)
        except Exception as err:  # a drawing problem must not stop (or kill) the training
            self.message = f"view not updated: {type(err).__name__}: {err}"
            self._next_draw = time.perf_counter() + 1.0

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the training thread stops (``start(steps)`` done, paused or failed);
        False if it is still running after ``timeout`` seconds."""
        for t in list(self._threads):
            if t is not threading.current_thread():
                t.join(timeout)
        return not self.running

    # ------------------------------------------------------------------ metrics
    def record_metrics(self) -> None:
        """Mode coverage, and the divergences when their panel is shown."""
        self.record_coverage()
        if self.panels["divergences"]:
            self.record_divergences()

    def record_coverage(self) -> dict | None:
        """Mode coverage of 2,500 samples at the current step (None for data without modes)."""
        if self.modes is None:
            return None
        cov = mode_coverage(self.gan.sample(z=self.view_noise()), self.modes, self.mode_std)
        self.coverage["step"].append(self.gan.step)
        self.coverage["modes"].append(cov["modes"])
        self.coverage["high_quality"].append(cov["high_quality"])
        return cov

    def grid_lim(self) -> tuple[float, float]:
        """The box of the density grid: the view's square in 2D, [-3, 7] in 1D."""
        return (-self.lim, self.lim) if self.dim == 2 else (-3.0, 7.0)

    def record_divergences(self) -> dict | None:
        """KL, reverse KL, JS, V(D*, G) and V(D, G) (``metrics.divergences_on_grid``) between the
        view's fixed real samples and G of the view's fixed noise, at the current step. None (and
        nothing recorded) when no generated sample lies on the grid."""
        gan, bins = self.gan, GRID_BINS if self.dim == 2 else 200
        lim = self.grid_lim()
        with gan.lock:  # G and D of the same round
            fake = gan.sample(z=self.view_noise())
            d = gan.discriminate(grid_points(lim, bins, self.dim))
            step = gan.step
        try:
            out = divergences_on_grid(self.view_real, fake, lim, bins, d=d)
        except ValueError:  # every fake off the grid: nothing to estimate
            return None
        self.divergences["step"].append(step)
        for key in ("kl", "reverse_kl", "js", "v_star", "v"):
            self.divergences[key].append(out[key])
        return out

    def generator_arrows(self, z: torch.Tensor, loss: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Points x = G(z) and -dL_G/dx there (``loss``: the G loss, default the GAN's current one,
        through the current D): the direction the generator's update pushes each sample. Gradients
        are taken with ``torch.autograd.grad`` with respect to x only: no parameter's .grad, no
        optimizer state is touched."""
        gan = self.gan
        kind = gan.loss if loss is None else _check_choice("loss", loss, BCE_LOSSES)
        with gan.lock:
            x = gan.sample(z=z).to(gan.device).requires_grad_(True)
            with torch.enable_grad():
                loss_g = generator_loss(gan.D(x).float().reshape(-1, 1), kind)
                (grad,) = torch.autograd.grad(loss_g, x)
        return x.detach().cpu(), -grad.cpu()

    # ------------------------------------------------------------------ view
    def figure(self):
        """The view now, as one new matplotlib Figure (not managed by pyplot: no need to close it)."""
        return LiveView(self, split=False).update(self).fig

    def panel_figure(self, name: str):
        """One optional panel now (``"manifold"``, ``"optimal"``, ``"divergences"``) as a new
        matplotlib Figure (not managed by pyplot)."""
        _check_choice("panel", name, PANELS)
        panel = PANELS[name](self).update(self)
        blitter = getattr(panel, "blitter", None)
        for artist in (blitter.artists if blitter else ()):
            artist.set_animated(False)  # a saved figure leaves figure-level animated artists out
        return panel.fig

    def render(self, curves: bool = True) -> tuple[bytes, bytes | None]:
        """The live view as PNG bytes: (samples panel, curves panel or None when not ``curves``).
        The figures are kept and updated in place between frames."""
        if self._view is None:
            self._view = LiveView(self)
        view = self._view.update(self, curves)
        return view.field_png(), (view.png(view.curves) if curves else None)

    def render_panels(self, curves: bool = True) -> dict:
        """The shown optional panels as PNG bytes by name (the divergence curves only when ``curves``)."""
        out = {}
        for name, on in self.panels.items():
            if not on or (name == "divergences" and not curves):
                continue
            if name not in self._panel_views:
                self._panel_views[name] = PANELS[name](self)
            out[name] = self._panel_views[name].update(self).png()
        return out

    def refresh(self, force: bool = False) -> None:
        """Record the metrics and redraw the widget's images and status (if a widget exists).
        Without ``force``: at most ``fps`` frames per second, the curves every ``CURVES_SECONDS``,
        and frames spaced so that drawing takes at most ``max_draw_share`` of the time: after a
        frame, training runs for at least its drawing time (or the recent average, if larger)
        times (1 / max_draw_share - 1)."""
        with self._draw_lock:  # the training thread and a widget callback may both ask to draw
            self._refresh(force)

    def _refresh(self, force: bool) -> None:
        now = time.perf_counter()
        if not force and now < self._next_draw:
            return
        self.record_metrics()
        if self._ui is not None:
            curves = force or now - self._curves_at >= CURVES_SECONDS
            if curves:
                self._curves_at = now
            field, curves_png = self.render(curves)
            self._ui["image"].value = field
            if curves_png is not None:
                self._ui["curves"].value = curves_png
            for name, image in self.render_panels(curves).items():
                self._ui["panels"][name].value = image
            self._update_status()
        took = time.perf_counter() - now
        self.frames += 1
        self.draw_seconds += took
        if not force:  # forced frames (start, reset, first build) are not typical: leave them out
            self._frame_cost = took if self._frame_cost is None else 0.7 * self._frame_cost + 0.3 * took
        cost = 0.0 if self._frame_cost is None else self._frame_cost
        if not force:  # an expensive frame (the curves, every few seconds) is paid back in full
            cost = max(cost, took)
        self._next_draw = time.perf_counter() + max(1 / self.fps, cost * (1 / self.max_draw_share - 1))

    def status(self) -> str:
        """The status line: round, the controls now in effect, state, metrics, message."""
        gan = self.gan
        text = (f"step {gan.step} | lr_D={gan.lr_d:.3g} | lr_G={gan.lr_g:.3g} | d_steps={gan.d_steps} "
                f"g_steps={gan.g_steps} | {gan.update} | labels {gan.label_smoothing.replace('_', '-')} "
                f"| batch={self.batch_size} | {'running' if self.running else 'paused'}")
        if self._controls["delay_ms"]:
            text += f" | slow motion {self._controls['delay_ms']} ms"
        if self.coverage["step"]:
            text += f" | modes {self.coverage['modes'][-1]}/{len(self.modes)}, " \
                    f"{100 * self.coverage['high_quality'][-1]:.0f}% high quality"
        if self.divergences["step"]:
            text += f" | JS {self.divergences['js'][-1]:.3f}"
        return text + (f" | {self.message}" if self.message else "")

    def _update_status(self) -> None:
        if self._ui is not None:
            self._ui["status"].value = self.status()

    # ------------------------------------------------------------------ sessions
    def settings(self) -> dict:
        """Every setting as a small JSON-able dict: the GAN's controls (as last set: applied at
        the next step boundary), the data (with the drawn points for ``"draw"``), the batch, slow
        motion, the nets' sizes, the seed and the shown panels. ``LiveTrainer(settings=...)``
        rebuilds the same set-up (same seed: the same training), ``apply_settings`` applies it."""
        out = dict(self._controls, betas=list(self.betas), seed=self.seed, **self.arch, panels=dict(self.panels))
        if self._controls["data"] == DRAW:
            out["points"] = self.points.tolist()
            out["jitter"] = self.jitter
        return out

    def settings_json(self) -> str:
        """``settings()`` as one line of JSON (what the "Copy settings" box shows)."""
        return json.dumps(self.settings())

    @staticmethod
    def _check_settings(settings) -> dict:
        if isinstance(settings, str):
            settings = json.loads(settings)
        if not isinstance(settings, dict):
            raise TypeError(f"settings must be a dict (from LiveTrainer.settings()), got {type(settings).__name__}")
        unknown = set(settings) - set(SETTINGS_KEYS)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(SETTINGS_KEYS)}")
        return dict(settings)

    def apply_settings(self, settings) -> None:
        """Apply a ``settings()`` dict (or its JSON): controls go to the running training as with
        ``set``; a change of data, points, nets' sizes, betas or seed rebuilds (a reset). A bad
        value raises ValueError and leaves the trainer as it was (paused, if it had to rebuild)."""
        s = self._check_settings(settings)
        current = self.settings()
        rebuild = [k for k in ("data", "points", "jitter", "betas", "seed") + ARCH
                   if k in s and s[k] != current.get(k)]
        if rebuild:
            self.pause()
            full = dict(current, points=current.get("points"), jitter=self.jitter)
            full.update(s)
            before = dict(self.__dict__)
            try:
                self._take_settings(full)
                self.reset()
            except Exception:  # a bad value: keep the set-up that was running, consistent
                self.__dict__.clear()
                self.__dict__.update(before)
                raise
            self._sync_widgets()
            self._layout_panels()
            self._update_status()
            return
        self.set(**{k: v for k, v in s.items() if k in CONTROLS})
        if "panels" in s:
            self.show(**s["panels"])

    def save(self, path) -> Path:
        """Save the session to ``path``: models, optimizers, history, RNG states (``GAN.save``)
        plus the controls, the drawn points, the metrics and the data sampler's state. Written
        atomically (a temporary file in the same folder, then a rename); the file is also a
        checkpoint for ``GAN.load``."""
        with self.gan.lock:  # no round in between: weights, history and metrics of one step
            live = dict(
                format=SESSION_FORMAT, settings=self.settings(), batch_size=self.batch_size,
                coverage={k: list(v) for k, v in self.coverage.items()},
                divergences={k: list(v) for k, v in self.divergences.items()},
                sampler_rng=self.sampler.generator.get_state() if hasattr(self.sampler, "generator") else None)
            return self.gan.save(path, extra={"live": live})

    @classmethod
    def load(cls, path, device="cpu", **options) -> "LiveTrainer":
        """A LiveTrainer from ``save(path)``, paused, ready to ``start()`` where it stopped.
        ``options``: ``fps``, ``max_draw_share``. Loads with ``torch.load(weights_only=True)``:
        a session file cannot run code."""
        live = safe_load(path, "gan_edu session").get("live")
        if not isinstance(live, dict) or live.get("format") != SESSION_FORMAT:
            raise ValueError(f"{path} is not a LiveTrainer session (a GAN checkpoint loads with GAN.load)")
        trainer = cls(settings=live["settings"], device=device, **options)
        trainer.gan = GAN.load(path, device=device)
        trainer.gan.configure(**{k: live["settings"][k] for k in GAN_SETTINGS})  # controls set but not yet applied
        trainer.batch_size = live["batch_size"]
        trainer.coverage = {k: list(v) for k, v in live["coverage"].items()}
        trainer.divergences = {k: list(v) for k, v in live["divergences"].items()}
        if live["sampler_rng"] is not None and hasattr(trainer.sampler, "generator"):
            trainer.sampler.generator.set_state(live["sampler_rng"])
        trainer._view, trainer._panel_views = None, {}
        return trainer

    # ------------------------------------------------------------------ the widget
    def widget(self):
        """The control panel and live view (ipywidgets), built once."""
        if self._ui is None:
            from . import live_widget

            self._ui = live_widget.build(self)
            self._layout_pad()
            self._layout_panels()
            self.refresh(force=True)
        return self._ui["box"]

    @property
    def controls(self) -> dict:
        """The widgets by setting name (builds the widget on first use)."""
        self.widget()
        return self._ui["controls"]

    def _on_control(self, name, value) -> None:
        if self._syncing:
            return
        try:
            if name in PANELS:
                self.show(**{name: value})
            else:
                self.set(**{name: value})
        except (ValueError, TypeError) as err:  # never let a bad value reach (or kill) the training
            self.message = f"ignored: {err}"
            self._sync_widgets()  # the widget shows the value in effect again
            self._update_status()

    def _on_button(self, action) -> None:
        try:
            action()
        except Exception as err:  # e.g. Step on a diverged GAN: show it, keep the state
            self.message = f"{type(err).__name__}: {err}"
        self._update_status()

    def _sync_widgets(self) -> None:
        if self._ui is None:
            return
        self._syncing = True
        try:
            for name, control in self._ui["controls"].items():
                value = self.panels[name] if name in PANELS else self._controls[name]
                if control.value != value:
                    control.value = value
        finally:
            self._syncing = False

    def _layout_pad(self) -> None:
        """Show the drawing pad only while the data is "draw" (built then, on first use)."""
        if self._ui is None:
            return
        box = self._ui["pad_box"]
        if self._controls["data"] == DRAW and self.dim == 2:
            if self.pad is None:
                from . import live_widget

                live_widget.add_pad(self)
            box.layout.display = ""
        else:
            box.layout.display = "none"

    def _layout_panels(self) -> None:
        if self._ui is not None:
            for name, image in self._ui["panels"].items():
                image.layout.display = "" if self.panels[name] else "none"

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget())

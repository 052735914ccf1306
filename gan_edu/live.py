"""Live training in the notebook: sliders that steer a running GAN on 2D (or 1D) toy data.

``LiveTrainer`` owns a ``GAN`` of MLPs and a toy sampler. ``start()`` runs training rounds
(``gan.train_step``) in a daemon thread, so the notebook cell returns and the kernel keeps
handling slider moves while training runs (a cell that loops itself would block them).
Controls go through ``gan.configure``: a new value is checked at once and applied at the next
step boundary, never inside ``optimizer.step()``, and recorded in ``gan.history["events"]``.

The live view (``widget()``) is redrawn by the training thread at a bounded rate: at most
``fps`` times a second, and never so often that drawing takes more than ``max_draw_share`` of
the time (a slow machine draws less often instead of training more slowly). It shows

- real vs generated samples over D(x) as a heatmap, with the generator's gradient as arrows:
  for a generated point x = G(z), the arrow is -dL_G/dx, the direction G's update moves it;
- the losses and the mean D(x), D(G(z)) with a vertical line at each control change;
- the mode-coverage metrics over time (ring, grid, 1D Gaussian; see ``metrics.mode_coverage``).

``run(steps)`` is the headless path (tests, nbval): it blocks and gives exactly the history
of ``GAN.fit`` with the same seed and settings. Seeding: ``seed_everything(seed)`` is called
once where the nets are built (at construction and at ``reset()``), nowhere else; the view
draws its points from its own fixed noise and never touches the training's random streams.
"""
from __future__ import annotations

import io
import math
import threading
import time
import weakref

import numpy as np
import torch

from . import data as _data
from . import plots
from .device import seed_everything
from .losses import GENERATOR_LOSSES, generator_loss
from .metrics import mode_coverage
from .nets import MLPDiscriminator, MLPGenerator
from .train import GAN, _check_choice, _check_count

__all__ = ["LiveTrainer", "DATASETS"]

DATASETS = {  # key -> (label shown in the dropdown, sampler factory taking the seed)
    "ring": ("ring of 8", lambda seed: _data.ring(8, seed=seed)),
    "grid": ("grid of 25", lambda seed: _data.grid(5, seed=seed)),
    "moons": ("two moons", lambda seed: _data.TwoMoons(seed=seed)),
    "spiral": ("spiral", lambda seed: _data.Spiral(seed=seed)),
    "gaussian1d": ("1D Gaussian", lambda seed: _data.Gaussian1D(seed=seed)),
}
GAN_SETTINGS = ("lr_d", "lr_g", "d_steps", "loss", "optimizer", "noise")
N_COVERAGE = 2500  # the protocol's sample count (VEEGAN, PacGAN)
N_ARROWS = 64      # generated points that carry a gradient arrow
CURVES_SECONDS = 3.0  # the curves (text-heavy, several times slower to draw) are redrawn every 3 s


def _shutdown(stop: threading.Event, threads: list) -> None:
    """Stop and join the training thread (weakref finalizer: at garbage collection or exit)."""
    stop.set()
    for t in threads:
        if t.is_alive() and t is not threading.current_thread():
            t.join(timeout=10)


class LiveTrainer:
    """A GAN on toy data with Start / Pause / Step / Reset and live controls.

    ``data`` one of ``DATASETS`` (``"ring"``, ``"grid"``, ``"moons"``, ``"spiral"``,
    ``"gaussian1d"``); ``lr_d``, ``lr_g``, ``d_steps``, ``loss``, ``optimizer``, ``noise``,
    ``betas`` as in ``GAN``; ``batch_size`` real (and fake) samples per round; ``noise_dim``,
    ``hidden``, ``depth`` the MLPs' sizes; ``seed`` for ``seed_everything`` (nets), the GAN's
    noise and the sampler; ``fps`` the view's maximum refresh rate; ``max_draw_share`` the
    largest fraction of wall time spent drawing.
    """

    def __init__(self, data: str = "ring", lr_d: float = 1e-3, lr_g: float = 1e-3, d_steps: int = 1,
                 loss: str = "non_saturating", optimizer: str = "adam", noise: str = "normal",
                 batch_size: int = 256, noise_dim: int = 2, hidden: int = 128, depth: int = 3,
                 betas=(0.5, 0.999), seed: int = 0, device="cpu", fps: float = 4.0,
                 max_draw_share: float = 0.1):
        _check_choice("data", data, DATASETS)
        if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        if not (isinstance(max_draw_share, (int, float)) and 0 < max_draw_share <= 1):
            raise ValueError(f"max_draw_share must be in (0, 1], got {max_draw_share!r}")
        self.settings = dict(data=data, lr_d=lr_d, lr_g=lr_g, d_steps=d_steps, loss=loss, optimizer=optimizer,
                             noise=noise, batch_size=_check_count("batch_size", batch_size))
        self.arch = dict(noise_dim=noise_dim, hidden=hidden, depth=depth)
        self.betas, self.seed, self.device = betas, seed, device
        self.fps, self.max_draw_share = float(fps), float(max_draw_share)
        self.message = ""
        self.frames = 0              # view refreshes so far
        self.draw_seconds = 0.0      # time spent in them
        self._ui = None
        self._syncing = False
        self._stop = threading.Event()
        self._stop.set()
        self._threads: list[threading.Thread] = []
        self._finalizer = weakref.finalize(self, _shutdown, self._stop, self._threads)
        self._build()

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        """Seed, then build sampler, nets and optimizers from the current settings; clear history."""
        s = self.settings
        seed_everything(self.seed)
        self.sampler = DATASETS[s["data"]][1](self.seed)
        dim = self.sampler.data_shape[0]
        G = MLPGenerator(self.arch["noise_dim"], dim, self.arch["hidden"], self.arch["depth"])
        D = MLPDiscriminator(dim, self.arch["hidden"], self.arch["depth"])
        self.gan = GAN(G, D, lr_d=s["lr_d"], lr_g=s["lr_g"], betas=self.betas, loss=s["loss"],
                       d_steps=s["d_steps"], optimizer=s["optimizer"], noise=s["noise"], device=self.device,
                       seed=self.seed)
        self.batch_size = s["batch_size"]
        self.dim = dim
        self.coverage = {"step": [], "modes": [], "high_quality": []}
        self.modes, self.mode_std = self._modes()
        view_sampler = DATASETS[s["data"]][1](self.seed + 1)  # the view's real points: a sampler of their own
        self.view_real = view_sampler(N_COVERAGE if dim == 2 else 5000)
        spread = float(self.view_real.abs().max())
        self.lim = 1.25 * spread if dim == 2 else None
        self._view_z = {}
        self._view = None
        self._next_draw = 0.0
        self._frame_cost = None  # moving average of a frame's drawing time, seconds
        self._curves_at = 0.0

    def _modes(self):
        sampler = self.sampler
        if isinstance(sampler, _data.GaussianMixture):
            return sampler.modes, sampler.std
        if isinstance(sampler, _data.Gaussian1D):
            return torch.tensor([[sampler.mean]]), sampler.std
        return None, None

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
        """Change controls of the (running) training: ``lr_d``, ``lr_g``, ``d_steps``, ``loss``,
        ``optimizer``, ``noise`` (through ``gan.configure``: next step boundary, recorded),
        ``batch_size`` (next round, recorded too) or ``data`` (rebuilds: a reset on the new data).
        A bad value raises ValueError here and changes nothing."""
        unknown = set(changes) - set(GAN_SETTINGS) - {"batch_size", "data"}
        if unknown:
            raise ValueError(f"cannot set {sorted(unknown)}; settable: {sorted(GAN_SETTINGS + ('batch_size', 'data'))}")
        if "batch_size" in changes:
            _check_count("batch_size", changes["batch_size"])
        if "data" in changes:
            _check_choice("data", changes["data"], DATASETS)
        gan_changes = {k: v for k, v in changes.items() if k in GAN_SETTINGS}
        if gan_changes:
            self.gan.configure(**gan_changes)  # validates all before applying any
        self.settings.update(changes)
        if "data" in changes:
            self.reset()
        self._sync_widgets()
        self._update_status()

    def _apply_batch_size(self) -> None:
        new = self.settings["batch_size"]
        if new != self.batch_size:
            self.batch_size = new
            self.gan.history["events"].append((self.gan.step, "batch_size", new))

    def start(self, steps: int | None = None) -> None:
        """Train in a background thread until ``pause()``, a non-finite loss, or (if given)
        ``steps`` more rounds. Returns at once; ``wait()`` blocks until the thread stops."""
        target = None if steps is None else self.gan.step + _check_count("steps", steps)
        if self.running:
            return
        self._threads[:] = [t for t in self._threads if t.is_alive()]
        if self._threads:  # a pause still finishing its round
            self._threads[0].join(timeout=10)
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

    def reset(self) -> None:
        """Pause, then rebuild nets and optimizers from the seed with the current settings; history cleared."""
        self.pause()
        self.message = ""
        self._build()
        self.refresh(force=True)

    def run(self, steps: int, metrics_every: int | None = None) -> dict:
        """Headless: pause the thread, then train ``steps`` rounds here (blocking) with ``GAN.fit``;
        the coverage metrics are recorded every ``metrics_every`` rounds (default: 20 times per run).
        Returns ``gan.history``. A non-finite loss raises ``NonFiniteLossError`` (GAN intact)."""
        steps = _check_count("steps", steps)
        every = max(1, steps // 20) if metrics_every is None else _check_count("metrics_every", metrics_every)
        self.pause()
        self._apply_batch_size()

        def record(gan):
            if gan.step % every == 0:
                self.record_coverage()

        try:
            self.gan.fit(self.sampler, steps, self.batch_size, callbacks=record, progress=False)
        except Exception as err:
            self.message = f"stopped: {err}"
            raise
        finally:
            self._update_status()
        return self.gan.history

    # ------------------------------------------------------------------ the training thread
    def _loop(self, stop: threading.Event, target: int | None) -> None:
        while not stop.is_set() and (target is None or self.gan.step < target):
            try:
                self._apply_batch_size()
                self.gan.train_step(self.sampler, self.batch_size)
            except Exception as err:  # NonFiniteLossError above all: pause, keep the last finite state
                self.message = f"paused: {type(err).__name__}: {err}"
                stop.set()
                break
            if time.perf_counter() >= self._next_draw:
                self._refresh_safely()
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

    # ------------------------------------------------------------------ metrics and view
    def record_coverage(self) -> dict | None:
        """Mode coverage of 2,500 samples at the current step (None for data without modes)."""
        if self.modes is None:
            return None
        cov = mode_coverage(self.gan.sample(z=self.view_noise()), self.modes, self.mode_std)
        self.coverage["step"].append(self.gan.step)
        self.coverage["modes"].append(cov["modes"])
        self.coverage["high_quality"].append(cov["high_quality"])
        return cov

    def generator_arrows(self, z: torch.Tensor, loss: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Points x = G(z) and -dL_G/dx there (``loss``: the G loss, default the GAN's current one,
        through the current D): the direction the generator's update pushes each sample. Gradients
        are taken with ``torch.autograd.grad`` with respect to x only: no parameter's .grad, no
        optimizer state is touched."""
        gan = self.gan
        kind = gan.loss if loss is None else _check_choice("loss", loss, GENERATOR_LOSSES)
        with gan.lock:
            x = gan.sample(z=z).to(gan.device).requires_grad_(True)
            with torch.enable_grad():
                loss_g = generator_loss(gan.D(x).float().reshape(-1, 1), kind)
                (grad,) = torch.autograd.grad(loss_g, x)
        return x.detach().cpu(), -grad.cpu()

    def figure(self):
        """The view now, as one new matplotlib Figure (not managed by pyplot: no need to close it)."""
        return LiveView(self, split=False).update(self).fig

    def render(self, curves: bool = True) -> tuple[bytes, bytes | None]:
        """The live view as PNG bytes: (samples panel, curves panel or None when not ``curves``).
        The figures are kept and updated in place between frames."""
        if self._view is None or self._view.sampler is not self.sampler:
            self._view = LiveView(self)
        view = self._view.update(self, curves)
        return view.field_png(), (view.png(view.curves) if curves else None)

    def refresh(self, force: bool = False) -> None:
        """Record coverage and redraw the widget's images and status (if a widget exists). Without
        ``force``: at most ``fps`` frames per second, the curves every ``CURVES_SECONDS``, and
        frames spaced so that drawing takes at most ``max_draw_share`` of the time."""
        now = time.perf_counter()
        if not force and now < self._next_draw:
            return
        self.record_coverage()
        if self._ui is not None:
            curves = force or now - self._curves_at >= CURVES_SECONDS
            if curves:
                self._curves_at = now
            field, curves_png = self.render(curves)
            self._ui["image"].value = field
            if curves_png is not None:
                self._ui["curves"].value = curves_png
            self._update_status()
        took = time.perf_counter() - now
        self.frames += 1
        self.draw_seconds += took
        if not force:  # forced frames (start, reset, first build) are not typical: leave them out
            self._frame_cost = took if self._frame_cost is None else 0.7 * self._frame_cost + 0.3 * took
        cost = 0.0 if self._frame_cost is None else self._frame_cost
        self._next_draw = time.perf_counter() + max(1 / self.fps, cost * (1 / self.max_draw_share - 1))

    def status(self) -> str:
        """The status line: round, the optimizers' learning rates now in effect, state, message."""
        gan = self.gan
        text = (f"step {gan.step} | lr_D={gan.lr_d:.3g} | lr_G={gan.lr_g:.3g} | d_steps={gan.d_steps} "
                f"| batch={self.batch_size} | {'running' if self.running else 'paused'}")
        if self.coverage["step"]:
            text += f" | modes {self.coverage['modes'][-1]}/{len(self.modes)}, " \
                    f"{100 * self.coverage['high_quality'][-1]:.0f}% high quality"
        return text + (f" | {self.message}" if self.message else "")

    def _update_status(self) -> None:
        if self._ui is not None:
            self._ui["status"].value = self.status()

    # ------------------------------------------------------------------ the widget
    def widget(self):
        """The control panel and live view (ipywidgets), built once."""
        if self._ui is not None:
            return self._ui["box"]
        import ipywidgets as w

        s = self.settings
        layout = w.Layout(width="290px")

        def log_slider(name, value):
            return w.FloatLogSlider(value=value, base=10, min=-5, max=0, step=0.01, description=name,
                                    readout_format=".3g", continuous_update=False, layout=layout)

        batches = sorted({32, 64, 128, 256, 512, s["batch_size"]})
        controls = {
            "lr_d": log_slider("lr_D", s["lr_d"]), "lr_g": log_slider("lr_G", s["lr_g"]),
            "d_steps": w.IntSlider(value=s["d_steps"], min=1, max=10, description="D steps", layout=layout),
            "loss": w.Dropdown(options=[("non-saturating", "non_saturating"), ("saturating", "saturating")],
                               value=s["loss"], description="G loss", layout=layout),
            "optimizer": w.Dropdown(options=["adam", "sgd"], value=s["optimizer"], description="optimizer",
                                    layout=layout),
            "batch_size": w.Dropdown(options=batches, value=s["batch_size"], description="batch", layout=layout),
            "noise": w.Dropdown(options=["normal", "uniform"], value=s["noise"], description="noise z",
                                layout=layout),
            "data": w.Dropdown(options=[(label, key) for key, (label, _) in DATASETS.items()], value=s["data"],
                               description="data", layout=layout),
        }
        for name, control in controls.items():
            control.add_class(f"gan-edu-{name.replace('_', '-')}")
            control.observe(lambda change, name=name: self._on_control(name, change["new"]), names="value")
        buttons = {name: w.Button(description=name, layout=w.Layout(width="70px"))
                   for name in ("Start", "Pause", "Step", "Reset")}
        actions = {"Start": self.start, "Pause": self.pause, "Step": self.step, "Reset": self.reset}
        for name, button in buttons.items():
            button.add_class(f"gan-edu-{name.lower()}")
            button.on_click(lambda _, act=actions[name]: self._on_button(act))
        status = w.Label(value="", layout=w.Layout(width="100%"))
        status.add_class("gan-edu-status")
        natural = lambda inches, dpi: w.Layout(width=f"{round(inches * dpi)}px", align_self="flex-start")
        image, curves = w.Image(format="png", layout=natural(5.4, 80)), w.Image(format="png", layout=natural(8.6, 64))
        panel = w.VBox([w.HBox(list(buttons.values()))] + list(controls.values()))
        box = w.VBox([status, w.HBox([panel, image]), curves])
        self._ui = dict(box=box, controls=controls, buttons=buttons, status=status, image=image, curves=curves)
        self.refresh(force=True)
        return box

    @property
    def controls(self) -> dict:
        """The widgets by setting name (builds the widget on first use)."""
        self.widget()
        return self._ui["controls"]

    def _on_control(self, name, value) -> None:
        if self._syncing:
            return
        try:
            self.set(**{name: value})
        except (ValueError, TypeError) as err:  # never let a bad value reach (or kill) the training
            self.message = f"ignored: {err}"
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
                if control.value != self.settings[name]:
                    control.value = self.settings[name]
        finally:
            self._syncing = False

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget())


class LiveView:
    """The live view's figure: built once (axes, layout, artists), then each frame only the
    artists' data change, which makes a frame several times cheaper than drawing afresh.
    A plain ``matplotlib.figure.Figure`` on the Agg canvas: no pyplot, safe in a thread."""

    def __init__(self, trainer: LiveTrainer, split: bool = True):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.sampler, self.dim, self.lim = trainer.sampler, trainer.dim, trainer.lim
        self.label = DATASETS[trainer.settings["data"]][0]
        if split:  # two images: the samples panel (cheap, every frame) and the curves (text-heavy, less often)
            self.fig = None
            self.field, self.curves = Figure(figsize=(5.4, 4.8), dpi=80), Figure(figsize=(8.6, 4.8), dpi=64)
            FigureCanvasAgg(self.field), FigureCanvasAgg(self.curves)
        else:  # one figure for the notebook
            self.fig = Figure(figsize=(14, 4.8), dpi=72)
            FigureCanvasAgg(self.fig)
            self.field, self.curves = self.fig.subfigures(1, 2, width_ratios=[5.4, 8.6])
        self.ax_data = self.field.add_gridspec(1, 1, left=0.13, right=0.86, bottom=0.1, top=0.93).subplots()
        grid = self.curves.add_gridspec(2, 2, left=0.08, right=0.92, bottom=0.1, top=0.93, wspace=0.45, hspace=0.4)
        self.ax_loss, self.ax_d = self.curves.add_subplot(grid[0, 0]), self.curves.add_subplot(grid[1, 0])
        self.ax_cov = self.curves.add_subplot(grid[:, 1])
        z = trainer.view_noise()
        fake, (at, arrows) = trainer.gan.sample(z=z), trainer.generator_arrows(z[:N_ARROWS])
        if self.dim == 2:
            plots.plot_discriminator_2d(self._d_grid(trainer), self.lim, trainer.view_real, fake, at, arrows,
                                        ax=self.ax_data)
            self.heat, self.fake, self.quiver = self.ax_data.images[0], self.ax_data.collections[1], \
                self.ax_data.collections[2]
        else:
            self.x = torch.linspace(-3, 7, 200)
            plots.plot_gan_1d(self.x, self.sampler.density(self.x), fake, trainer.gan.discriminate(self.x[:, None]),
                              ax=self.ax_data)
            self.d_line = self.field.axes[-1].lines[0]  # plot_gan_1d's twin axis, D(x)
            self.quiver = self.ax_data.quiver(at[:, 0], np.full(len(at), 0.03), arrows[:, 0], 0 * arrows[:, 0],
                                              angles="xy", scale_units="xy", scale=1, color="tab:orange",
                                              width=0.004)
        empty = dict(step=[], loss_d=[], loss_g=[], d_real=[], d_fake=[], events=[])
        plots.plot_history(empty, ax=[self.ax_loss, self.ax_d], title="Losses")
        self.ax_loss.set_xlabel("")
        for ax in (self.ax_loss, self.ax_d):  # loc="best" searches the curves for a free spot: slow
            ax.get_legend().set_loc("upper right")
        self.markers = []
        if trainer.modes is not None:
            plots.plot_coverage({"step": [], "modes": [], "high_quality": []}, len(trainer.modes), ax=self.ax_cov,
                                title="Mode coverage (2,500 samples)")
            self.cov_lines = (self.ax_cov.lines[0], self.curves.axes[-1].lines[0])
        else:
            self.cov_lines = None
            self.ax_cov.text(0.5, 0.5, f"no modes to count\nfor {self.label}", ha="center", va="center")
            self.ax_cov.set(title="Mode coverage", xticks=[], yticks=[])
        self.split, self._background = split, None
        if split:  # blitting: axes, ticks, legend drawn once; each frame redraws only these artists
            if self.dim == 2:
                self.animated = [self.heat, self.ax_data.collections[0], self.fake, self.quiver]
            else:
                self.animated = list(self.ax_data.patches) + [self.d_line, self.quiver]
                self.ax_data.set_ylim(0, 2.0)
            for artist in self.animated:
                artist.set_animated(True)
            self.ax_data.set_title(f"{self.label}: samples, D(x), G's gradient")

    @staticmethod
    def _d_grid(trainer, n: int = 48) -> torch.Tensor:
        ticks = torch.linspace(-trainer.lim, trainer.lim, n)
        yy, xx = torch.meshgrid(ticks, ticks, indexing="ij")
        return trainer.gan.discriminate(torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)).reshape(n, n)

    def update(self, trainer: LiveTrainer, curves: bool = True) -> "LiveView":
        """Put the trainer's current state into the artists (the curves' only when ``curves``)."""
        gan, z = trainer.gan, trainer.view_noise()
        with gan.lock:  # one consistent snapshot of G and D
            fake = gan.sample(z=z)
            at, arrows = trainer.generator_arrows(z[:N_ARROWS])
            d = self._d_grid(trainer) if self.dim == 2 else gan.discriminate(self.x[:, None])
            hist = {k: list(v) for k, v in gan.history.items()} if curves else None
            step = gan.step
        if not self.split:
            self.ax_data.set_title(f"{self.label}, round {step}")
        if self.dim == 2:
            self.heat.set_data(d.numpy())
            self.fake.set_offsets(fake.numpy())
            self.quiver.set_offsets(at.numpy())
            v = plots.arrow_lengths(arrows, 0.15 * self.lim)
            self.quiver.set_UVC(v[:, 0], v[:, 1])
        else:
            self.d_line.set_ydata(d.numpy())
            heights, _ = np.histogram(fake.numpy().reshape(-1), bins=len(self.ax_data.patches),
                                      range=(float(self.x[0]), float(self.x[-1])), density=True)
            for rect, h in zip(self.ax_data.patches, heights):
                rect.set_height(h)
            if not self.split:
                self.ax_data.set_ylim(0, max(1.0, float(heights.max()) * 1.05))
            self.quiver.set_offsets(np.stack([at[:, 0].numpy(), np.full(len(at), 0.03)], 1))
            v = plots.arrow_lengths(arrows, 1.0)
            self.quiver.set_UVC(v[:, 0], 0 * v[:, 0])
        if curves:
            self._update_curves(trainer, hist)
        return self

    def _update_curves(self, trainer: LiveTrainer, hist: dict) -> None:
        stride = max(1, len(hist["step"]) // 1500)  # enough points for a curve, few enough to draw fast
        steps = hist["step"][::stride]
        for ax, keys in ((self.ax_loss, ("loss_d", "loss_g")), (self.ax_d, ("d_real", "d_fake"))):
            for line, key in zip(ax.lines, keys):
                line.set_data(steps, hist[key][::stride])
            ax.relim()
            ax.autoscale_view()
        self.ax_d.set_ylim(0, 1)
        for m in self.markers:
            m.remove()
        event_steps = sorted({e[0] for e in hist["events"]})
        self.markers = [ax.vlines(event_steps, 0, 1, transform=ax.get_xaxis_transform(), color="tab:red",
                                  alpha=0.4, lw=1) for ax in (self.ax_loss, self.ax_d)]
        if self.cov_lines is not None and trainer.coverage["step"]:
            cov = trainer.coverage
            self.cov_lines[0].set_data(cov["step"], cov["modes"])
            self.cov_lines[1].set_data(cov["step"], [100 * q for q in cov["high_quality"]])
            self.ax_cov.set_xlim(0, max(1, cov["step"][-1]))

    def field_png(self) -> bytes:
        """The samples panel as PNG: restore the cached background, draw the moving artists."""
        if not self.split:
            return self.png(self.field)
        canvas = self.field.canvas
        if self._background is None:
            canvas.draw()  # everything but the animated artists
            self._background = canvas.copy_from_bbox(self.field.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self.animated:
            artist.axes.draw_artist(artist)
        from PIL import Image

        buf = io.BytesIO()
        Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).save(
            buf, format="png", compress_level=1)
        return buf.getvalue()

    @staticmethod
    def png(fig) -> bytes:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", pil_kwargs={"compress_level": 1})
        return buf.getvalue()

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
  against V(D*, G) = -log 4 + 2 JSD (see ``gan_edu.live.view``), computed at each refresh on
  the view's fixed samples, never at every step.

``run(steps)`` is the headless path (tests, nbval): it blocks and gives exactly the history
of ``GAN.fit`` with the same seed and settings. Seeding: ``seed_everything(seed)`` is called
once where the nets are built (at construction and at ``reset()``), nowhere else; the view
draws its points from its own fixed noise and never touches the training's random streams.

Sessions: ``settings()`` is a small JSON-able dict (paste it into a cell:
``LiveTrainer(settings=...)`` reproduces the demo); ``save(path)`` / ``LiveTrainer.load(path)``
keep models, optimizers, controls and history (one file, written atomically, loaded with
``weights_only=True``; it is also a ``GAN.load`` checkpoint).

``LiveTrainer`` is the one object a student uses. It builds the sampler, the nets and the GAN,
and holds the parts, each in a module of its own and each a public attribute: ``setup``
(``LiveControls``, ``controls``: every setting and how a change reaches the training),
``training`` (``LiveTraining``, ``training``: the background thread, the foreground loop and the
headless ``run``; ``ImageTrainer`` uses the same), ``metrics`` (``LiveMetrics``, ``metrics``:
coverage and divergence records, G's gradient arrows), ``display`` (``Display``, ``view``: the
figures and when to draw), ``ui`` (``LiveWidget``, ``widget``: the ipywidgets and their
callbacks); the sessions are ``session``'s functions, the status line ``status``'s, the data
sets, control names and checks ``settings``'s. The parts use the trainer's public attributes
and methods only, and none of their modules imports this one.
"""
from __future__ import annotations

import json
import threading

import torch

from ..checks import check_choice, check_count
from ..device import seed_everything
from ..nets import MLPDiscriminator, MLPGenerator
from ..train import GAN
from . import play as live_play, session as live_session, status as live_status, view as live_view
from .controls import LiveControls
from .metrics import LiveMetrics, generator_arrows, grid_lim
from .settings import DATASETS, DRAW, DRAW_LIM, N_ARROWS, PANELS, check_settings, check_view_rate
from .training import LiveTraining
from .view import N_COVERAGE, Display, LiveView
from .widget import LiveWidget

__all__ = ["LiveTrainer", "DATASETS", "PANELS"]


class LiveTrainer:
    """A GAN on toy data with Start / Pause / Step / D step / G step / Reset and live controls.

    Settings (keyword arguments, or ``settings``: a dict or JSON from ``settings()``, which overrides
    them), each defined once in ``settings.LiveSettings`` with its default and check: the GAN's controls
    ``lr_d``, ``lr_g``, ``d_steps``, ``g_steps``, ``loss`` (the BCE kinds), ``optimizer``, ``noise``,
    ``update``, ``label_smoothing``, ``smoothing``, ``betas``, ``seed`` (also of ``seed_everything`` for
    the nets, and of the sampler), as in ``GAN``; ``data`` one of ``DATASETS`` (``"ring"``, ``"grid"``,
    ``"moons"``, ``"spiral"``, ``"gaussian1d"``, ``"draw"``: the drawing pad's points, or ``points``, with
    their spread ``jitter``); ``batch_size``; ``delay_ms`` slow motion, a pause after each round;
    ``noise_dim``, ``hidden``, ``depth`` the MLPs' sizes; ``panels`` which optional views to show
    (``PANELS``). Not settings: ``device``; ``fps`` the view's maximum refresh rate; ``max_draw_share``
    the largest fraction of wall time spent drawing.
    """

    def __init__(self, settings: dict | str | None = None, *, device="cpu", fps: float = 4.0,
                 max_draw_share: float = 0.1, **values):
        given = check_settings(values)
        if settings is not None:
            given.update(check_settings(settings))
        self.device = device
        self.fps, self.max_draw_share = check_view_rate(fps, max_draw_share)
        self.setup = LiveControls(self, given)  # every setting, and how a change applies (gan_edu.live.controls)
        self.message = ""
        self.frames, self.draw_seconds = 0, 0.0  # view refreshes so far, and the time spent in them
        self.n_arrows = N_ARROWS
        self.draw_lock = threading.RLock()  # the training thread and a widget callback may both draw
        self.training = LiveTraining(self)  # the background thread, and run() (gan_edu.live.training)
        self.ui = LiveWidget(self)  # builds its ipywidgets at the first widget() (gan_edu.live.widget)
        self._build()

    # ------------------------------------------------------------------ building
    def _build(self, controls: LiveControls | None = None) -> None:
        """Seed, then build sampler, nets and optimizers from ``controls`` (default: the current
        settings), and only then take them, with those settings: a build that fails leaves the
        trainer as it was. Clears history, metrics (``LiveMetrics``) and figures (``live_view.Display``)."""
        c = self.setup if controls is None else controls
        seed_everything(c.seed)
        sampler = c.sampler(c.seed)
        dim = sampler.data_shape[0]
        G = MLPGenerator(c.arch["noise_dim"], dim, c.arch["hidden"], c.arch["depth"])
        D = MLPDiscriminator(dim, c.arch["hidden"], c.arch["depth"])
        gan = GAN(G, D, betas=c.betas, device=self.device, seed=c.seed, **c.gan_settings())
        gan.check_round_args(sampler, c.values["batch_size"])  # a batch its rounds would refuse: refused now
        self.setup, self.sampler, self.dim, self.gan = c, sampler, dim, gan
        self.batch_size = c.values["batch_size"]
        self.metrics = LiveMetrics(self.sampler)
        self.set_view_real()
        self.display = Display()

    def set_view_real(self) -> None:
        """The view's real points: a sampler of their own (never the training's random stream)."""
        c = self.setup
        self.view_real = c.sampler(c.seed + 1)(N_COVERAGE if self.dim == 2 else 5000)
        spread = float(self.view_real.abs().max())
        if self.dim != 2:
            self.lim = None
        else:
            self.lim = max(DRAW_LIM, 1.25 * spread) if c.values["data"] == DRAW else 1.25 * spread

    @property
    def delay_s(self) -> float:
        """Slow motion: the pause after each round, in seconds."""
        return self.setup.values["delay_ms"] / 1000

    def round_boundary(self) -> None:
        """Apply what waits for a round boundary: the batch size, newly drawn points
        (``LiveControls.round_boundary``); ``LiveTraining`` calls it before each round."""
        self.setup.round_boundary()

    def view_noise(self) -> torch.Tensor:
        """The view's fixed z (2,500 draws from a generator of its own, for the current noise kind):
        the same points every frame, so the student sees them move, and no draw from the training's
        random streams."""
        return self.display.noise(self.gan.settings_now.noise, self.gan.noise_dim, self.setup.seed + 2)

    # ------------------------------------------------------------------ controls (gan_edu.live.controls)
    def set(self, **changes) -> None:
        """Change controls of the (running) training: ``lr_d``, ``lr_g``, ``d_steps``, ``g_steps``,
        ``loss``, ``optimizer``, ``noise``, ``update``, ``label_smoothing``, ``smoothing`` (through
        ``gan.configure``: next step boundary, recorded), ``batch_size`` (next round, recorded too),
        ``delay_ms`` (slow motion, at once) or ``data`` (rebuilds: a reset on the new data).
        A bad value raises ValueError here and changes nothing (the training goes on as it was)."""
        self.setup.set(changes)

    def show(self, **panels) -> None:
        """Show or hide the optional view panels: ``manifold``, ``optimal`` (D* vs D),
        ``divergences`` (KL / JS and V over training), each True or False."""
        self.setup.show(panels)

    @property
    def panels(self) -> dict:
        """The optional panels by name: shown (True) or hidden (False)."""
        return self.setup.panels

    @property
    def points(self):
        """The drawn (or loaded) points, the data for "draw"."""
        return self.setup.points

    def load_points(self, points, jitter: float | None = None) -> None:
        """Train on these points (an array, list or tensor of shape (n, 2), or (n, 1) for 1D
        data; rounded to 1e-3): switches the data to "draw", resets from the seed and shows the
        points on the drawing pad. ``jitter`` the spread around each point (``data.PointCloud``)."""
        self.setup.load_points(points, jitter)

    # ------------------------------------------------------------------ training (gan_edu.live.training)
    @property
    def running(self) -> bool:
        """The training thread is running (not paused, stopped or failed)."""
        return self.training.running

    def start(self, steps: int | None = None) -> None:
        """Train in a background thread until ``pause()``, a non-finite loss, or (if given)
        ``steps`` more rounds. Returns at once; ``wait()`` blocks until the thread stops."""
        target = None if steps is None else self.gan.step + check_count("steps", steps)
        if self.running:
            return
        self.message = ""
        if not self.training.start(target):
            self.message = "the previous round is still finishing: press Start again in a moment"
        self.ui.show_status()

    def pause(self, timeout: float = 10.0) -> None:
        """Stop after the current round and wait for the thread to finish it."""
        self.training.pause(timeout)
        self.ui.show_status()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the training thread stops (``start(steps)`` done, paused or failed);
        False if it is still running after ``timeout`` seconds."""
        return self.training.wait(timeout)

    def close(self) -> None:
        """Pause for good (also done at garbage collection and interpreter exit)."""
        self.pause()
        self.training.close()

    def step(self) -> dict:
        """One round now (pauses first), then a redraw. Returns the round's record."""
        with self.training.lock:
            self.run(1)
            self.refresh(force=True)
            return {k: v[-1] for k, v in self.gan.history.items() if k != "events" and v}

    def player_round(self, player: str) -> dict:
        """One update of ``player`` only, ``"D"`` or ``"G"`` (pauses first; the other net unchanged),
        recorded as a round (``GAN.player_round``), then a redraw: the D step and G step buttons."""
        return self.training.one_update(check_choice("player", player, ("D", "G")))

    def reset(self, controls: LiveControls | None = None) -> None:
        """Pause, then rebuild nets and optimizers from the seed with the current settings (or those
        of ``controls``, taken once the new nets are built: ``apply_settings``); history cleared."""
        with self.training.lock:  # no start, step or save in between (gan_edu.live.training)
            self.pause()
            self._build(controls)
            self.message = ""
            self.refresh(force=True)

    def run(self, steps: int, metrics_every: int | None = None) -> dict:
        """Headless: pause the thread, then train ``steps`` rounds here (blocking) with ``GAN.fit``;
        the metrics (coverage; divergences when that panel is on) are recorded every
        ``metrics_every`` rounds (default: 20 times per run). Returns ``gan.history``. A
        non-finite loss raises ``NonFiniteLossError`` (GAN intact)."""
        return self.training.run(steps, metrics_every)

    # ------------------------------------------------------------------ metrics (gan_edu.live.metrics)
    @property
    def coverage(self) -> dict:
        """Mode coverage so far: lists ``step``, ``modes`` (recovered), ``high_quality`` (share)."""
        return self.metrics.coverage

    @property
    def divergences(self) -> dict:
        """The divergence estimates so far: lists ``step``, ``kl``, ``reverse_kl``, ``js``, ``v_star``, ``v``."""
        return self.metrics.divergences

    @property
    def modes(self):
        """The data's modes (k, dim) for the coverage metrics; None for data without modes."""
        return self.metrics.modes

    def record_metrics(self) -> None:
        """Mode coverage of the view's 2,500 samples at the current step; and, when their panel is
        shown, KL, reverse KL, JS, V(D*, G) and V(D, G) between the view's fixed real samples and
        G of the view's fixed noise (``metrics.LiveMetrics``)."""
        self.metrics.record_coverage(self.gan, self.view_noise())
        if self.panels["divergences"]:
            self.metrics.record_divergences(self.gan, self.view_noise(), self.view_real, self.grid_lim())

    def grid_lim(self) -> tuple[float, float]:
        """The box of the density grid: the view's square in 2D, [-3, 7] in 1D."""
        return grid_lim(self.lim, self.dim)

    def generator_arrows(self, z: torch.Tensor, loss: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Points x = G(z) and -dL_G/dx there (``loss``: the G loss, default the GAN's current one,
        through the current D): the direction the generator's update pushes each sample. Touches no
        parameter's .grad and no optimizer state (``metrics.generator_arrows``)."""
        return generator_arrows(self.gan, z, loss)

    # ------------------------------------------------------------------ view (gan_edu.live.view)
    def figure(self):
        """The view now, as one new matplotlib Figure (not managed by pyplot: no need to close it)."""
        return LiveView(self, split=False).update(self).fig

    def panel_figure(self, name: str):
        """One optional panel now (``"manifold"``, ``"optimal"``, ``"divergences"``) as a new
        matplotlib Figure (not managed by pyplot)."""
        return live_view.panel_figure(self, check_choice("panel", name, PANELS))

    def render(self, curves: bool = True) -> tuple[bytes, bytes | None]:
        """The live view as PNG bytes: (samples panel, curves panel or None when not ``curves``)."""
        return self.display.render(self, curves)

    def refresh(self, force: bool = False) -> None:
        """Record the metrics and redraw the widget's images and status (if a widget exists).
        Without ``force``: only when the frame budget allows (at most ``fps`` frames a second,
        drawing at most ``max_draw_share`` of the time; see ``live_view.Display``)."""
        with self.draw_lock:  # the training thread and a widget callback may both ask to draw
            self.display.refresh(self, force)

    def hold_view(self, seconds: float) -> None:
        """No frame for ``seconds`` (after a drawing problem: ``LiveTraining``)."""
        self.display.hold(seconds)

    def status(self) -> str:
        """The status line: round, the controls now in effect, state, metrics, message."""
        return live_status.status_line(self)

    # ------------------------------------------------------------------ sessions (gan_edu.live.session)
    def settings(self) -> dict:
        """Every setting as a small JSON-able dict: the GAN's controls (as last set: applied at
        the next step boundary), the data (with the drawn points for ``"draw"``), the batch, slow
        motion, the nets' sizes, the seed and the shown panels. ``LiveTrainer(settings=...)``
        rebuilds the same set-up (same seed: the same training), ``apply_settings`` applies it."""
        return self.setup.settings()

    def settings_json(self) -> str:
        """``settings()`` as one line of JSON (what the "Copy settings" box shows)."""
        return json.dumps(self.settings())

    def apply_settings(self, settings) -> None:
        """Apply a ``settings()`` dict (or its JSON): controls go to the running training as with
        ``set``; a change of data, points, nets' sizes, betas or seed rebuilds (a reset). A bad
        value raises ValueError and leaves the trainer as it was (paused, if it had to rebuild)."""
        live_session.apply_settings(self, settings)

    def save(self, path):
        """Save the session to ``path``: models, optimizers, history, RNG states (``GAN.save``)
        plus the controls, the drawn points, the metrics and the data sampler's state. Written
        atomically; the file is also a checkpoint for ``GAN.load``. Returns the path."""
        return live_session.save(self, path)

    @classmethod
    def load(cls, path, device="cpu", **options) -> "LiveTrainer":
        """A LiveTrainer from ``save(path)``, paused, ready to ``start()`` where it stopped.
        ``options``: ``fps``, ``max_draw_share``. Loads with ``torch.load(weights_only=True)``:
        a session file cannot run code."""
        return live_session.load(cls, path, device, **options)

    # ------------------------------------------------------------------ the widget (gan_edu.live.widget)
    def widget(self):
        """The control panel and live view (ipywidgets), built once."""
        if not self.ui.built:
            self.ui.build()
            self.refresh(force=True)
        return self.ui.box

    @property
    def controls(self) -> dict:
        """The widgets by setting name (builds the widget on first use)."""
        self.widget()
        return self.ui.controls

    @property
    def pad(self):
        """The drawing pad (a ``DrawPad``), built with the widget when the data is "draw"; else None."""
        return self.ui.pad

    def play(self, mode: str | None = None) -> str | None:
        """Show the playground the way this front end needs (``gan_edu.live.play``). Background
        mode (JupyterLab, Notebook 7, Binder): display it and return; Start trains in a thread.
        Foreground mode (Colab; ``GAN_EDU_LIVE`` or ``mode`` forces either): this cell runs the
        training, handling the widget events between rounds, until Stop is pressed or the kernel
        is interrupted; returns ``"stopped"`` or ``"interrupted"``, the GAN intact."""
        from IPython.display import display

        mode = live_play.live_mode(mode)
        self.training.mode = mode
        display(self.widget())
        self.ui.show_stop(mode == "foreground")
        if mode == "foreground":
            return self.training.play_foreground()
        return None

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget())

"""The live trainer's drawings (``gan_edu.live``): figures built once, then updated in place.

Each figure is a plain ``matplotlib.figure.Figure`` on the Agg canvas (no pyplot: safe in the
training thread). The panels that change every frame are *blitted*: axes, ticks and legends are
drawn once into a cached background, and a frame redraws only the moving artists, which makes
it several times cheaper than drawing afresh.

- ``LiveView``: the samples over D(x) with G's gradient arrows, and the curves (losses, D
  outputs, mode coverage);
- ``ManifoldPanel``: a regular grid in noise space mapped through G, a warped mesh;
- ``OptimalPanel``: the optimal D*(x) = p_data / (p_data + p_g), estimated on a grid from the
  view's fixed samples, beside the learned D(x);
- ``DivergencePanel``: KL and JS estimates over training, and V(D, G) against
  V(D*, G) = -log 4 + 2 JSD;
- ``Display``: a trainer's figures, kept between frames, the view's fixed noise, and the frame
  budget (when to draw); ``panel_figure``: one panel as a figure of its own; ``status_line``:
  the trainer's state in one line of text.
"""
from __future__ import annotations

import io
import math
import time

import numpy as np
import torch

from . import plots
from .metrics import density_on_grid, grid_points, optimal_discriminator_on_grid

__all__ = ["LiveView", "ManifoldPanel", "OptimalPanel", "DivergencePanel", "Display", "PANELS", "GRID_BINS",
           "panel_figure", "status_line"]

GRID_BINS = 48  # cells per axis of the D, D* and density grids
CURVES_SECONDS = 3.0  # the curves (text-heavy, several times slower to draw) are redrawn every 3 s
N_COVERAGE = 2500  # the view's fixed samples (noise, real points): the coverage protocol's count (VEEGAN, PacGAN)


def _figure(width: float, height: float, dpi: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def png(fig) -> bytes:
    """A whole figure as PNG bytes (fast zlib level: the browser decodes either)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", pil_kwargs={"compress_level": 1})
    return buf.getvalue()


class Blitter:
    """Draws ``fig`` once without its ``artists`` (marked animated), caches that background, and
    then each ``png()`` restores it and draws only the artists."""

    def __init__(self, fig, artists):
        self.fig, self.artists, self._background = fig, list(artists), None
        for artist in self.artists:
            artist.set_animated(True)

    def png(self) -> bytes:
        canvas = self.fig.canvas
        if self._background is None:
            canvas.draw()  # everything but the animated artists
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self.artists:
            (artist.axes or self.fig).draw_artist(artist)
        from PIL import Image

        buf = io.BytesIO()
        Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).save(
            buf, format="png", compress_level=1)
        return buf.getvalue()


def _not_2d(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"{what}:\n2D data only", ha="center", va="center", transform=ax.transAxes)
    ax.set(xticks=[], yticks=[])


class LiveView:
    """The live view's main figure: samples over D(x) with G's gradient, and the curves."""

    def __init__(self, trainer, split: bool = True):
        self.sampler, self.dim, self.lim = trainer.sampler, trainer.dim, trainer.lim
        self.label = trainer.data_label()
        if split:  # two images: the samples panel (cheap, every frame) and the curves (text-heavy, less often)
            self.fig = None
            self.field, self.curves = _figure(5.4, 4.8, 80), _figure(8.6, 4.8, 64)
        else:  # one figure for the notebook
            self.fig = _figure(14, 4.8, 72)
            self.field, self.curves = self.fig.subfigures(1, 2, width_ratios=[5.4, 8.6])
        self.ax_data = self.field.add_gridspec(1, 1, left=0.13, right=0.86, bottom=0.1, top=0.93).subplots()
        grid = self.curves.add_gridspec(2, 2, left=0.08, right=0.92, bottom=0.1, top=0.93, wspace=0.45, hspace=0.4)
        self.ax_loss, self.ax_d = self.curves.add_subplot(grid[0, 0]), self.curves.add_subplot(grid[1, 0])
        self.ax_cov = self.curves.add_subplot(grid[:, 1])
        z = trainer.view_noise()
        fake, (at, arrows) = trainer.gan.sample(z=z), trainer.generator_arrows(z[:trainer.n_arrows])
        if self.dim == 2:
            plots.plot_discriminator_2d(self._d_grid(trainer), self.lim, trainer.view_real, fake, at, arrows,
                                        ax=self.ax_data)
            self.heat, self.real, self.fake, self.quiver = self.ax_data.images[0], *self.ax_data.collections[:3]
        else:
            self.x = torch.linspace(-3, 7, 200)
            plots.plot_gan_1d(self.x, self.sampler.density(self.x), fake, trainer.gan.discriminate(self.x[:, None]),
                              ax=self.ax_data)
            self.d_line = self.field.axes[-1].lines[0]  # plot_gan_1d's twin axis, D(x)
            self.quiver = self.ax_data.quiver(at[:, 0], np.full(len(at), 0.03), arrows[:, 0], 0 * arrows[:, 0],
                                              angles="xy", scale_units="xy", scale=1, color="tab:orange",
                                              width=0.004)
        self._setup_curves(trainer)
        self.split, self.blitter = split, None
        if split:  # blitting: axes, ticks, legend drawn once; each frame redraws only these artists
            if self.dim == 2:
                animated = [self.heat, self.real, self.fake, self.quiver]
            else:
                animated = list(self.ax_data.patches) + [self.d_line, self.quiver]
                self.ax_data.set_ylim(0, 2.0)
            self.blitter = Blitter(self.field, animated)
            self.ax_data.set_title(f"{self.label}: samples, D(x), G's gradient")

    def _setup_curves(self, trainer) -> None:
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

    @staticmethod
    def _d_grid(trainer, n: int = GRID_BINS) -> torch.Tensor:
        """D on the centres of an n x n grid of cells over the view (row = x2, col = x1), as the
        heatmap's extent and the D* panel expect."""
        return trainer.gan.discriminate(grid_points((-trainer.lim, trainer.lim), n)).reshape(n, n)

    def update(self, trainer, curves: bool = True) -> "LiveView":
        """Put the trainer's current state into the artists (the curves' only when ``curves``)."""
        gan, z = trainer.gan, trainer.view_noise()
        with gan.lock:  # one consistent snapshot of G and D
            fake = gan.sample(z=z)
            at, arrows = trainer.generator_arrows(z[:trainer.n_arrows])
            d = self._d_grid(trainer) if self.dim == 2 else gan.discriminate(self.x[:, None])
            hist = {k: list(v) for k, v in gan.history.items()} if curves else None
            step = gan.step
        if not self.split:
            self.ax_data.set_title(f"{self.label}, round {step}")
        if self.dim == 2:
            self.heat.set_data(d.numpy())
            self.real.set_offsets(trainer.view_real.numpy())  # drawn points may change while training
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

    def _update_curves(self, trainer, hist: dict) -> None:
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
        return self.blitter.png() if self.split else png(self.field)

    png = staticmethod(png)


class ManifoldPanel:
    """G's "manifold": the ``plots.noise_grid`` (z_1, z_2 on [-2, 2], or [-1, 1] for uniform
    noise) mapped through G, one line per grid row and column, over the real data. Where the
    mesh is stretched G spreads its probability thin; where it folds, G piles it up."""

    def __init__(self, trainer, n: int = 15):
        self.n, self.dim = n, trainer.dim
        self.fig = _figure(4.4, 4.4, 72)
        ax = self.fig.add_axes((0.15, 0.12, 0.8, 0.8))
        self.ax = ax
        if self.dim != 2:
            _not_2d(ax, "the manifold view")
            ax.set_title("G's manifold")
            self.blitter = Blitter(self.fig, [])
            return
        lim = trainer.lim
        self.real = ax.scatter([], [], s=2, c="black", alpha=0.25, label="real")
        self.lines = [ax.plot([], [], color="tab:green", lw=0.8, alpha=0.8,
                              label="G(noise grid)" if i == 0 else None)[0] for i in range(2 * n)]
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="$x_1$", ylabel="$x_2$", aspect="equal",
               title="G's manifold: a grid in z through G")
        ax.legend(loc="upper right", fontsize=7, markerscale=3)
        self.blitter = Blitter(self.fig, [self.real] + self.lines)

    def update(self, trainer) -> "ManifoldPanel":
        if self.dim != 2:
            return self
        gan = trainer.gan
        lim = 1.0 if gan.noise_kind == "uniform" else 2.0
        z = plots.noise_grid(gan.noise_dim, self.n, lim)
        x = gan.sample(z=z).numpy()
        self.real.set_offsets(trainer.view_real.numpy())
        if gan.noise_dim == 1:  # a curve, not a mesh
            self.lines[0].set_data(x[:, 0], x[:, 1])
            return self
        mesh = x.reshape(self.n, self.n, 2)
        for i in range(self.n):
            self.lines[2 * i].set_data(mesh[i, :, 0], mesh[i, :, 1])
            self.lines[2 * i + 1].set_data(mesh[:, i, 0], mesh[:, i, 1])
        return self

    def png(self) -> bytes:
        return self.blitter.png()


def d_star_gap(real, fake, lim, d_star, d, bins: int = GRID_BINS) -> float:
    """E_{x ~ (p_data + p_g)/2} |D(x) - D*(x)|: how far the learned D is from the optimal one,
    weighted by where the data and the fakes are (off their support D* means nothing)."""
    weight = density_on_grid(real, lim, bins) + density_on_grid(fake, lim, bins)
    weight = weight / weight.sum()
    return float((weight * np.abs(np.asarray(d) - np.asarray(d_star))).sum())


class OptimalPanel:
    """The optimal D*(x) = p_data(x) / (p_data(x) + p_g(x)) from kernel density estimates on a
    grid (the view's fixed real and generated samples), beside the learned D(x) on the same grid
    and colour scale (red: "real", as in the main view), and their gap ``d_star_gap``."""

    def __init__(self, trainer):
        self.dim = trainer.dim
        self.fig = _figure(8.0, 3.9, 64)
        self.axes = self.fig.subplots(1, 2, gridspec_kw=dict(left=0.08, right=0.88, bottom=0.13, top=0.82,
                                                             wspace=0.3))
        self.gap = None
        if self.dim != 2:
            for ax in self.axes:
                _not_2d(ax, "D* vs D")
            self.blitter = Blitter(self.fig, [])
            return
        lim = trainer.lim
        self.grid = grid_points((-lim, lim), GRID_BINS)
        blank = np.full((GRID_BINS, GRID_BINS), 0.5)
        self.images = []
        for ax, name in zip(self.axes, ("optimal $D^*(x) = p_{data} / (p_{data} + p_g)$", "learned $D(x)$")):
            self.images.append(ax.imshow(blank, origin="lower", extent=(-lim, lim, -lim, lim), cmap=plots.D_CMAP,
                                         vmin=0, vmax=1, interpolation="nearest"))
            ax.set(xlabel="$x_1$", ylabel="$x_2$", title=name)
        self.fig.colorbar(self.images[0], cax=self.fig.add_axes((0.9, 0.13, 0.02, 0.69)), label="D (red: real)")
        self.text = self.fig.text(0.5, 0.95, "", ha="center", va="center", fontsize=11)
        self.blitter = Blitter(self.fig, self.images + [self.text])

    def update(self, trainer, fake=None) -> "OptimalPanel":
        if self.dim != 2:
            return self
        lim = (-trainer.lim, trainer.lim)
        fake = trainer.gan.sample(z=trainer.view_noise()) if fake is None else fake
        d_star = optimal_discriminator_on_grid(trainer.view_real, fake, lim, GRID_BINS)
        d = trainer.gan.discriminate(self.grid).reshape(GRID_BINS, GRID_BINS).numpy()
        self.gap = d_star_gap(trainer.view_real, fake, lim, d_star, d)
        self.images[0].set_data(d_star)
        self.images[1].set_data(d)
        self.text.set_text(f"round {trainer.gan.step}: mean |D - D*| where the data and fakes are = {self.gap:.2f}")
        return self

    def png(self) -> bytes:
        return self.blitter.png()


class DivergencePanel:
    """KL(p_data || p_g), KL(p_g || p_data) and JSD over training (estimated at each refresh on
    the view's fixed samples), and V(D, G) on the grid against V(D*, G) = -log 4 + 2 JSD, the
    value the optimal D would reach (V(D, G) <= V(D*, G) for every D)."""

    KEYS = (("kl", "KL(p_data || p_g)", "tab:blue"), ("reverse_kl", "KL(p_g || p_data)", "tab:orange"),
            ("js", "JSD", "tab:green"))

    def __init__(self, trainer):
        self.fig = _figure(8.6, 3.2, 64)
        self.ax_div, self.ax_v = self.fig.subplots(1, 2, gridspec_kw=dict(left=0.08, right=0.97, bottom=0.16,
                                                                          top=0.88, wspace=0.3))
        self.lines = {key: self.ax_div.plot([], [], color=c, label=label)[0] for key, label, c in self.KEYS}
        self.ax_div.set(xlabel="training round", ylabel="nats", title="Divergences (densities on a grid)")
        self.ax_div.legend(loc="upper right", fontsize=7)
        self.v_lines = {"v": self.ax_v.plot([], [], color="tab:red", label="V(D, G), learned D")[0],
                        "v_star": self.ax_v.plot([], [], color="black", ls="--",
                                                 label="V(D*, G) = -log 4 + 2 JSD")[0]}
        self.ax_v.axhline(-math.log(4), color="gray", ls=":", label="-log 4 (p_g = p_data)")
        self.ax_v.set(xlabel="training round", ylabel="V", title="V(D, G) vs its optimum")
        self.ax_v.legend(loc="upper right", fontsize=7)

    def update(self, trainer) -> "DivergencePanel":
        div = trainer.divergences
        steps = div["step"]
        for key, line in list(self.lines.items()) + list(self.v_lines.items()):
            line.set_data(steps, div[key])
        for ax in (self.ax_div, self.ax_v):
            ax.relim()
            ax.autoscale_view()
        return self

    def png(self) -> bytes:
        return png(self.fig)


PANELS = {"manifold": ManifoldPanel, "optimal": OptimalPanel, "divergences": DivergencePanel}  # the optional ones


def status_line(trainer) -> str:
    """The status line of ``trainer``: round, the controls now in effect, state, metrics, message."""
    gan, delay, cov, div = trainer.gan, trainer._controls.values["delay_ms"], trainer.coverage, trainer.divergences
    text = (f"step {gan.step} | lr_D={gan.lr_d:.3g} | lr_G={gan.lr_g:.3g} | d_steps={gan.d_steps} "
            f"g_steps={gan.g_steps} | {gan.update} | labels {gan.label_smoothing.replace('_', '-')} "
            f"| batch={trainer.batch_size} | {'running' if trainer.running else 'paused'}")
    if delay:
        text += f" | slow motion {delay} ms"
    if cov["step"]:
        text += f" | modes {cov['modes'][-1]}/{len(trainer.modes)}, {100 * cov['high_quality'][-1]:.0f}% high quality"
    if div["step"]:
        text += f" | JS {div['js'][-1]:.3f}"
    return text + (f" | {trainer.message}" if trainer.message else "")


def panel_figure(trainer, name: str):
    """The optional panel ``name`` of ``trainer`` now, as a new matplotlib Figure (not managed by pyplot)."""
    panel = PANELS[name](trainer).update(trainer)
    blitter = getattr(panel, "blitter", None)
    for artist in (blitter.artists if blitter else ()):
        artist.set_animated(False)  # a saved figure leaves figure-level animated artists out
    return panel.fig


class Display:
    """What a trainer's widget shows, and when. The figures (a ``LiveView`` and the shown
    panels) are built on first use and then updated in place, from the view's fixed noise
    (``noise``). The frame budget (``refresh``): at most ``fps`` frames a second, the curves
    every ``CURVES_SECONDS``, and frames spaced so that drawing takes at most
    ``max_draw_share`` of the time: after a frame, training runs for at least its drawing time
    (or the recent average, if larger) times (1 / max_draw_share - 1)."""

    def __init__(self):
        self.view, self.panel_views, self.z = None, {}, {}
        self.next_draw = 0.0      # perf_counter time of the next frame
        self.frame_cost = None    # moving average of a frame's drawing time, seconds
        self.curves_at = 0.0      # when the curves were last drawn

    def noise(self, kind: str, dim: int, seed: int) -> torch.Tensor:
        """The view's fixed z (2,500 draws from a generator of its own seeded ``seed``, for the
        noise ``kind``): the same points every frame, and no draw from the training's streams."""
        if kind not in self.z:
            gen = torch.Generator().manual_seed(seed)
            self.z[kind] = (torch.randn(N_COVERAGE, dim, generator=gen) if kind == "normal"
                            else torch.rand(N_COVERAGE, dim, generator=gen) * 2 - 1)
        return self.z[kind]

    def due(self, now: float | None = None) -> bool:
        """Whether the next frame is due (at ``now``, a ``time.perf_counter()`` reading)."""
        return (time.perf_counter() if now is None else now) >= self.next_draw

    def hold(self, seconds: float) -> None:
        """No frame for ``seconds`` (after a drawing problem)."""
        self.next_draw = time.perf_counter() + seconds

    def refresh(self, trainer, force: bool = False) -> None:
        """Record ``trainer``'s metrics and put a frame in its widget (if built), when due or
        ``force``; then schedule the next frame."""
        now = time.perf_counter()
        if not force and now < self.next_draw:
            return
        trainer.record_metrics()
        if trainer._ui.built:
            curves = force or now - self.curves_at >= CURVES_SECONDS
            if curves:
                self.curves_at = now
            field, curves_png = trainer.render(curves)
            trainer._ui.show_frame(field, curves_png, trainer.render_panels(curves))
            trainer._ui.show_status()
        took = time.perf_counter() - now
        trainer.frames += 1
        trainer.draw_seconds += took
        self._schedule(took, force, trainer.fps, trainer.max_draw_share)

    def _schedule(self, took: float, force: bool, fps: float, max_draw_share: float) -> None:
        """The next frame's time after one that took ``took`` seconds. Forced frames (start,
        reset, first build) are not typical: left out of the average, and not paid back."""
        if not force:
            self.frame_cost = took if self.frame_cost is None else 0.7 * self.frame_cost + 0.3 * took
        cost = 0.0 if self.frame_cost is None else self.frame_cost
        if not force:  # an expensive frame (the curves, every few seconds) is paid back in full
            cost = max(cost, took)
        self.next_draw = time.perf_counter() + max(1 / fps, cost * (1 / max_draw_share - 1))

    def render(self, trainer, curves: bool = True) -> tuple[bytes, bytes | None]:
        """The main view as PNG bytes: (samples panel, curves panel or None when not ``curves``)."""
        if self.view is None:
            self.view = LiveView(trainer)
        view = self.view.update(trainer, curves)
        return view.field_png(), (view.png(view.curves) if curves else None)

    def render_panels(self, trainer, curves: bool = True) -> dict:
        """The optional panels ``trainer.panels`` shows, as PNG bytes by name (the divergence
        curves only when ``curves``)."""
        out = {}
        for name, on in trainer.panels.items():
            if not on or (name == "divergences" and not curves):
                continue
            if name not in self.panel_views:
                self.panel_views[name] = PANELS[name](trainer)
            out[name] = self.panel_views[name].update(trainer).png()
        return out

"""The live trainer's drawings (``gan_edu.live``): figures built once, then updated in place.

Each figure is a plain ``matplotlib.figure.Figure`` on the Agg canvas (no pyplot: safe in the
training thread). A live frame has to be cheap: at 4 frames a second, drawing may take a tenth
of the time, about 25 ms a frame. So nothing is drawn again that did not change:

- the samples panel: matplotlib draws its axes, ticks, title, legend and colour bar once; a
  frame paints D(x), the points and G's arrows (or, in 1D, the histogram, D(x) and the arrows)
  with numpy (``FieldFrames``, ``gan_edu.live.raster``), in the colours, sizes and order of the
  matplotlib artists they stand for, and encodes the PNG with zlib alone: a few milliseconds;
- the curves and the optional panels are *blitted* (``Blitter``): titles, labels and legends are
  drawn once into a cached background and a frame redraws only the moving artists. The curves'
  axes grow in round steps (``x_limit``, ``grown``), and only then are their ticks drawn again.

The metrics (mode coverage, divergences) are measured every ``METRICS_SECONDS`` and the curves
redrawn every ``CURVES_SECONDS``, not at every frame.

``LiveTrainer.figure()`` and ``panel_figure`` draw the same figures with matplotlib alone
(``LiveView(split=False)``). Every legend sits above its axes, where it covers no data.

- ``LiveView``: the samples over D(x) with G's gradient arrows, and the curves (losses, D
  outputs, mode coverage); ``FieldFrames``: its samples panel, painted;
- ``ManifoldPanel``: a regular grid in noise space mapped through G, a warped mesh;
- ``OptimalPanel``: the optimal D*(x) = p_data / (p_data + p_g), estimated on a grid from the
  view's fixed samples, beside the learned D(x);
- ``DivergencePanel``: KL and JS estimates over training, and V(D, G) against
  V(D*, G) = -log 4 + 2 JSD;
- ``Display``: a trainer's figures, kept between frames, the view's fixed noise, and the frame
  budget (when to draw, when to measure); ``panel_figure``: one panel as a figure of its own;
  the status line is ``gan_edu.live.status``'s.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from matplotlib.colors import to_rgb

from .. import plots
from ..algorithm import noise_prior
from ..metrics import density_on_grid, grid_points, optimal_discriminator_on_grid
from . import raster

__all__ = ["LiveView", "FieldFrames", "ManifoldPanel", "OptimalPanel", "DivergencePanel", "Display", "PANELS",
           "GRID_BINS", "panel_figure", "x_limit", "grown"]

GRID_BINS = 48  # cells per axis of the D, D* and density grids
VIEW_BINS = 32  # cells per axis of D's heatmap in the live samples panel (interpolated: looks the same, 2x cheaper)
CURVES_SECONDS = 3.0   # the curves are redrawn every 3 s (blitted: ~15 ms; the samples panel every frame)
METRICS_SECONDS = 3.0  # mode coverage (and the divergences, when shown) are measured every 3 s, as the curves drawn
CURVE_POINTS = {True: 600, False: 1500}  # points per curve at most: in the live view (3 a pixel), in figure()
CREDIT_SECONDS = 4.0   # drawing time saved up: at most that of 4 s (see Display): an axis redrawn, not a burst
N_COVERAGE = 2500  # the view's fixed samples (noise, real points): the coverage protocol's count (VEEGAN, PacGAN)
FIELD_SIZE = (5.4, 5.1, 80)    # the samples panel: inches wide, high, dots per inch (432 x 408 px)
CURVES_SIZE = (8.6, 5.2, 64)   # the curves (550 x 333 px)
FIGURE_DPI = 100  # the notebook's figures (``LiveTrainer.figure``, ``panel_figure``): legible at 100%
COVERAGE_MARGIN = 0.04  # the coverage panel's axes: this share of their span to spare at each end
# G's arrows: a dark orange that stands out on the green samples and the pale heatmap, a shaft
# 0.7% of the axes wide (2.5 px in the notebook's figure) and a plain triangular head (quiver's
# headaxislength = headlength: the shape ``raster.arrow_points`` paints). Drawn over the real points
# and under G's samples, which stay visible where the arrows start (a blob, a collapsed speck)
ARROW_STYLE = dict(color="#c44e00", width=0.007, headwidth=3.0, headlength=4.0, headaxislength=4.0)
ARROW_LABEL = "G's push: −∂L_G/∂x"  # plain text: a mathtext subscript is ~5 px tall in the legend
ARROW_REACH = 0.2  # the longest arrows: this share of the view's half-width (2D), of a 2.5th of its width (1D)
ARROWS_2D, ARROWS_1D = 40, 12  # arrows drawn (of the trainer's ``n_arrows``): more hide the samples, or overlap (1D)
BOX_1D = (-3.0, 7.0)  # the 1D view's x range at least (the density grid's, ``metrics.grid_lim``)
BOX_SHARE = 0.99      # the view grows to hold this share of G's samples (not every outlier: the data stays big)
MAX_ZOOM_OUT = 2.5    # and up to this many times its size for the data


def _figure(width: float, height: float, dpi: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


class Blitter:
    """Draws ``fig`` once without its ``artists`` (marked animated), caches that background, and
    then each ``png()`` restores it and draws only the artists. ``scaled``: the x or y axes
    (``Axis``) whose limits may change; left out of that first drawing too, they are drawn over
    it (and the result cached in turn) whenever some axis' limits have changed: ticks are quick
    to draw again, titles, labels and legends are not."""

    def __init__(self, fig, artists, scaled=()):
        self.fig, self.artists, self.scaled = fig, list(artists), list(scaled)
        self._static = self._background = self._limits = None
        for artist in self.artists + self.scaled:
            artist.set_animated(True)

    def png(self) -> bytes:
        """The figure as it is now, as PNG bytes (``raster.png``)."""
        canvas = self.fig.canvas
        if self._static is None:
            canvas.draw()  # everything but the animated artists
            self._static = canvas.copy_from_bbox(self.fig.bbox)
        limits = [(ax.get_xlim(), ax.get_ylim()) for ax in self.fig.axes]
        if limits != self._limits:  # the ticks of the new limits, over the static background
            canvas.restore_region(self._static)
            for axis in self.scaled:
                axis.axes.draw_artist(axis)
            self._background, self._limits = canvas.copy_from_bbox(self.fig.bbox), limits
        else:
            canvas.restore_region(self._background)
        for artist in self.artists:
            (artist.axes or self.fig).draw_artist(artist)
        return raster.png(np.asarray(canvas.buffer_rgba())[..., :3])


def x_limit(step: int) -> int:
    """The live curves' right end: the first of 100, 200, 500, 1,000, 2,000, 5,000, ... above
    ``step``. The axes (and their cached background) change only when it does."""
    limit = 100
    while limit <= step:
        limit = limit * 5 // 2 if str(limit)[0] == "2" else limit * 2
    return limit


def grown(limits, values, min_span: float = 1.0, pad: float = 0.2):
    """Axis limits for ``values``: ``limits`` (lo, hi) as they are if the finite values fit
    inside; else limits that take in both, with ``pad`` of the span to spare, rounded out to a
    round step, and at least ``min_span`` wide. ``limits`` None: fit the values alone. An axis
    that only grows is drawn again only when the data reach a new extreme."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return limits
    lo, hi = float(v.min()), float(v.max())
    if limits is not None:
        if limits[0] <= lo and hi <= limits[1]:
            return limits
        lo, hi = min(lo, limits[0]), max(hi, limits[1])
    span = max(hi - lo, min_span)
    step = 10.0 ** math.floor(math.log10(span / 2))  # a round step, 2 to 20 of them in the span
    return math.floor((lo - pad * span) / step) * step, math.ceil((hi + pad * span) / step) * step


def arrow_vectors(gradients, longest: float, quantile: float = 0.9) -> np.ndarray:
    """G's gradients (n, d) as the arrows drawn: each keeps its direction; the lengths are scaled
    together so that the ``quantile`` of them reaches ``longest`` (data units), and the few longer
    ones are cut to ``longest``. Scaled by the longest alone, one large gradient would shrink all
    the others to dots. Arrows that are not finite are left at 0."""
    v = np.asarray(gradients, dtype=float).reshape(len(gradients), -1)
    norm = np.linalg.norm(v, axis=1)
    ok = np.isfinite(norm) & (norm > 0)
    out = np.zeros_like(v)
    if ok.any():
        scale = longest / float(np.quantile(norm[ok], quantile))
        out[ok] = v[ok] * (np.minimum(norm[ok] * scale, longest) / norm[ok])[:, None]
    return out


def fit_box(box, samples, floor):
    """The view's box grown to hold ``BOX_SHARE`` of the (n, d) ``samples`` (those not finite
    count as outside): 2D, ``box`` and ``floor`` are the half-width L of [-L, L]^2, grown in steps
    of 0.5; 1D, (lo, hi), grown to whole numbers. Never smaller than ``box`` (a live view's axes
    are drawn again only when it grows), nor larger than ``MAX_ZOOM_OUT`` times ``floor`` (the
    data's box: a G diverging far away leaves the data readable)."""
    v = np.asarray(samples, dtype=float).reshape(len(samples), -1)
    v = np.where(np.isfinite(v), v, np.inf)
    if not len(v):
        return box
    tail = (1 - BOX_SHARE) / 2
    if isinstance(box, tuple):  # 1D: (lo, hi), each side may leave out half of the rest
        lo = float(np.quantile(v[:, 0], tail, method="lower"))  # samples, never interpolated: inf or finite
        hi = float(np.quantile(v[:, 0], 1 - tail, method="higher"))
        if box[0] <= lo and hi <= box[1]:
            return box
        centre, half = (floor[0] + floor[1]) / 2, MAX_ZOOM_OUT * (floor[1] - floor[0]) / 2
        pad = 0.05 * (box[1] - box[0])
        lo, hi = max(centre - half, min(box[0], lo - pad)), min(centre + half, max(box[1], hi + pad))
        return float(math.floor(lo)), float(math.ceil(hi))
    reach = float(np.quantile(np.abs(v).max(axis=1), BOX_SHARE, method="higher"))
    if reach <= box:
        return box
    return min(MAX_ZOOM_OUT * floor, max(box, math.ceil(2 * 1.05 * min(reach, MAX_ZOOM_OUT * floor)) / 2))


def _not_2d(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"{what}:\n2D data only", ha="center", va="center", transform=ax.transAxes)
    ax.set(xticks=[], yticks=[])


class LiveView:
    """The live view's main figure: the samples over D(x) with G's gradient arrows (in 1D: the
    histogram of G's samples with p_data, D(x) and the arrows), and the curves: the losses, the
    mean D outputs (a red line at each control change) and, on data with modes, the mode
    coverage (data without modes have no panel for it: the losses take the whole width).
    ``split``: two figures for the widget, the samples panel painted by ``FieldFrames`` and the
    curves blitted; else one figure for the notebook, drawn by matplotlib alone.

    The samples panel shows the box ``box`` (2D: [-box, box]^2; 1D: x in box = (lo, hi)): the
    data's (``trainer.lim``; ``BOX_1D``), grown to hold G's samples (``fit_box``). The live
    panel is drawn again when they leave it."""

    def __init__(self, trainer, split: bool = True):
        self.sampler, self.dim, self.lim = trainer.sampler, trainer.dim, trainer.lim
        self.label, self.split = trainer.setup.label(), split
        self.floor = self.lim if self.dim == 2 else BOX_1D  # the data's box, the least the view shows
        self.box = fit_box(self.floor, trainer.gan.sample(z=trainer.view_noise()).numpy(), self.floor)
        if split:  # two images: the samples panel (every frame) and the curves (every CURVES_SECONDS)
            self.fig = None
            self.field, self.curves = _figure(*FIELD_SIZE), _figure(*CURVES_SIZE)
        else:  # one figure for the notebook
            self.fig = _figure(FIELD_SIZE[0] + CURVES_SIZE[0], max(FIELD_SIZE[1], CURVES_SIZE[1]), FIGURE_DPI)
            self.field, self.curves = self.fig.subfigures(1, 2, width_ratios=[FIELD_SIZE[0], CURVES_SIZE[0]])
        self.snap, self.frames, self.loss_limits = None, None, None
        self._setup_field(trainer)
        self._setup_curves(trainer)
        if split:
            lines = self.ax_loss.lines[:2] + self.ax_d.lines[:2] + self.markers + list(self.cov_lines or ())
            scaled = [self.ax_loss.xaxis, self.ax_loss.yaxis, self.ax_d.xaxis] + (
                [self.ax_cov.xaxis] if self.cov_lines is not None else [])
            self.blitter = Blitter(self.curves, lines, scaled)

    def _setup_field(self, trainer) -> None:
        """The samples panel's axes and artists, drawn by ``plots`` as in the notebooks, and G's
        arrows (``ARROW_STYLE``; in 1D on the D(x) axis, one a row); legend above."""
        self.ax_data = self.field.add_gridspec(1, 1, left=0.13, right=0.86, bottom=0.09, top=0.85).subplots()
        z = trainer.view_noise()
        fake = trainer.gan.sample(z=z)
        at, push = self._arrows(*trainer.generator_arrows(z[:self._n_arrows(trainer)]))
        if self.dim == 2:
            plots.plot_discriminator_2d(self._d_grid(trainer, GRID_BINS, self.box), self.box, trainer.view_real,
                                        fake, ax=self.ax_data)
            self.heat, self.real, self.fake = self.ax_data.images[0], *self.ax_data.collections[:2]
            self.fake.set_zorder(3)  # G's samples over the arrows (zorder 2), the arrows over the real points
            arrows_ax = self.ax_data
        else:
            self.x = torch.linspace(*self.box, 200)
            plots.plot_gan_1d(self.x, self.sampler.density(self.x), fake, trainer.gan.discriminate(self.x[:, None]),
                              ax=self.ax_data)
            self.ax_twin = arrows_ax = self.field.axes[-1]  # plot_gan_1d's twin axis, D(x)
            self.d_line = self.ax_twin.lines[0]
            if self.split:  # a fixed height: the axes are drawn once
                self.ax_data.set_ylim(0, 2.0)
        self.quiver = arrows_ax.quiver(at[:, 0], at[:, 1], push[:, 0], push[:, 1], angles="xy", scale_units="xy",
                                       scale=1, label=ARROW_LABEL, zorder=2, **ARROW_STYLE)
        handles, labels = [], []
        for ax in [self.ax_data] + ([arrows_ax] if arrows_ax is not self.ax_data else []):  # 1D: D's axis too
            h, lab = ax.get_legend_handles_labels()
            handles, labels = handles + h, labels + lab
        self.ax_data.legend(handles, labels, fontsize=7, markerscale=3)
        self.ax_data.set_title(f"{self.label}: samples, D(x), G's gradient" if self.split
                               else f"{self.label}, round {trainer.gan.step}")
        plots.legend_above(self.ax_data)

    def _n_arrows(self, trainer) -> int:
        """How many of the view's samples carry an arrow: the trainer's ``n_arrows``, at most
        ``ARROWS_2D`` (2D) or ``ARROWS_1D`` (1D)."""
        return min(trainer.n_arrows, ARROWS_2D if self.dim == 2 else ARROWS_1D)

    def _arrows(self, at: torch.Tensor, gradients: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Where G's arrows start and what they draw (``arrow_vectors``), in the data units of the
        axes that hold them. 2D: at the samples. 1D: sorted by x, each on a row of its own on D's
        axis (heights 0.05 to 0.35: in one row they would overlap into a bar), pointing along x."""
        at, gradients = at.numpy(), gradients.numpy()
        if self.dim == 2:
            return at, arrow_vectors(gradients, ARROW_REACH * self.box)
        order = np.argsort(at[:, 0], kind="stable")
        x, g = at[order, 0], gradients[order, 0]
        rows = np.linspace(0.05, 0.35, max(2, len(x)))[:len(x)]
        push = arrow_vectors(g[:, None], ARROW_REACH * (self.box[1] - self.box[0]) / 2.5)[:, 0]
        return np.stack([x, rows], 1), np.stack([push, np.zeros(len(x))], 1)

    def _setup_curves(self, trainer) -> None:
        """The curves' axes: the losses and the D outputs (left), the mode coverage (right; data
        without modes have none: the curves take the width), legends above."""
        modes = trainer.modes is not None
        grid = self.curves.add_gridspec(2, 2 if modes else 1, left=0.08, right=0.91 if modes else 0.97, bottom=0.09,
                                        top=0.86, wspace=0.42, hspace=0.75)
        self.ax_loss, self.ax_d = self.curves.add_subplot(grid[0, 0]), self.curves.add_subplot(grid[1, 0])
        self.ax_cov = self.curves.add_subplot(grid[:, 1]) if modes else None
        empty = dict(step=[], loss_d=[], loss_g=[], d_real=[], d_fake=[], events=[])
        plots.plot_history(empty, ax=[self.ax_loss, self.ax_d], title="Losses")
        self.ax_loss.set_xlabel("")
        plots.legend_above(self.ax_loss)
        plots.legend_above(self.ax_d, ncol=2)
        self.markers = [ax.vlines([], 0, 1, transform=ax.get_xaxis_transform(), color="tab:red", alpha=0.4, lw=1)
                        for ax in (self.ax_loss, self.ax_d)]  # a line at each control change
        self.cov_lines = None
        if modes:
            plots.plot_coverage({"step": [], "modes": [], "high_quality": []}, len(trainer.modes), ax=self.ax_cov,
                                title="Mode coverage (2,500 samples)")
            self.cov_lines = (self.ax_cov.lines[0], self.curves.axes[-1].lines[0])
            n = len(trainer.modes)  # a margin of COVERAGE_MARGIN: 0 modes, 0% and the last record show
            self.ax_cov.set_ylim(-COVERAGE_MARGIN * n, (1 + COVERAGE_MARGIN) * n)
            self.curves.axes[-1].set_ylim(-100 * COVERAGE_MARGIN, 100 * (1 + COVERAGE_MARGIN))
            plots.legend_above(self.ax_cov, ncol=1)

    @staticmethod
    def _d_grid(trainer, n: int, lim: float) -> torch.Tensor:
        """D on the centres of an n x n grid of cells over [-lim, lim]^2 (row = x2, col = x1), as
        the heatmap's extent expects."""
        return trainer.gan.discriminate(grid_points((-lim, lim), n)).reshape(n, n)

    def update(self, trainer, curves: bool = True) -> "LiveView":
        """Take the trainer's current state: kept in ``snap`` for the next frame (split), or put
        into the artists (the notebook's figure); into the curves too when ``curves``."""
        self.snap = snap = self._snapshot(trainer, curves)
        box = fit_box(self.box, snap["fake"], self.floor)
        if self.split and box != self.box:  # G's samples left the live panel's box: draw its axes again, larger
            self.box, self.field, self.frames = box, _figure(*FIELD_SIZE), None
            self._setup_field(trainer)
            self.snap = snap = self._snapshot(trainer, curves)
        if not self.split:
            self.set_artists(snap)
        if curves:
            self._update_curves(trainer, snap["history"], snap["step"])
        return self

    def _snapshot(self, trainer, curves: bool) -> dict:
        """One consistent state of G and D, as numpy arrays: the real points, G(z) of the view's
        noise, the arrows (from ``at`` along ``push``, in data units, as drawn), D on its grid (2D)
        or curve (1D), the step; the history (copied) when ``curves``."""
        gan, z = trainer.gan, trainer.view_noise()
        with gan.lock:
            fake = gan.sample(z=z).numpy()
            at, gradients = trainer.generator_arrows(z[:self._n_arrows(trainer)])
            bins = VIEW_BINS if self.split else GRID_BINS
            d = (self._d_grid(trainer, bins, self.box) if self.dim == 2 else gan.discriminate(self.x[:, None])).numpy()
            hist = self._history(gan.history) if curves else None
            step = gan.step
        at, push = self._arrows(at, gradients)
        return dict(real=trainer.view_real.numpy(), fake=fake, at=at, push=push, d=d, history=hist, step=step)

    def set_artists(self, snap: dict) -> None:
        """The notebook's figure: the snapshot into the matplotlib artists."""
        self.ax_data.title.set_text(f"{self.label}, round {snap['step']}")
        self.quiver.set_offsets(snap["at"])
        self.quiver.set_UVC(snap["push"][:, 0], snap["push"][:, 1])
        if self.dim == 2:
            self.heat.set_data(snap["d"])
            self.real.set_offsets(snap["real"])  # drawn points may change while training
            self.fake.set_offsets(snap["fake"])
            return
        self.d_line.set_ydata(snap["d"])
        heights, _ = np.histogram(snap["fake"].reshape(-1), bins=len(self.ax_data.patches),
                                  range=(float(self.x[0]), float(self.x[-1])), density=True)
        for rect, h in zip(self.ax_data.patches, heights):
            rect.set_height(h)
        self.ax_data.set_ylim(0, max(1.0, float(heights.max()) * 1.05))

    def _history(self, history: dict) -> dict:
        """What the curves draw of ``history``: every k-th round (at most CURVE_POINTS), copied."""
        stride = max(1, len(history["step"]) // CURVE_POINTS[self.split])
        keys = ("step", "loss_d", "loss_g", "d_real", "d_fake")
        return {"events": list(history["events"]), **{k: history[k][::stride] for k in keys}}

    def _update_curves(self, trainer, hist: dict, step: int) -> None:
        """The curves' lines from ``hist`` (``_history``) and the coverage records, a red line at
        each control change, then their axes' limits (``_scale_curves``)."""
        for ax, keys in ((self.ax_loss, ("loss_d", "loss_g")), (self.ax_d, ("d_real", "d_fake"))):
            for line, key in zip(ax.lines, keys):
                line.set_data(hist["step"], hist[key])
        event_steps = sorted({e[0] for e in hist["events"]})
        for m in self.markers:
            m.set_segments([[(s, 0), (s, 1)] for s in event_steps])
        cov = trainer.coverage
        if self.cov_lines is not None:
            self.cov_lines[0].set_data(cov["step"], cov["modes"])
            self.cov_lines[1].set_data(cov["step"], [100 * q for q in cov["high_quality"]])
        self._scale_curves(step, np.concatenate([hist["loss_d"], hist["loss_g"]]), cov)
        if not self.split:  # the notebook's figure: a series with no finite value (G not trained) has no entry
            drawn = [line for line in self.ax_loss.lines if np.isfinite(np.asarray(line.get_ydata(), float)).any()]
            if drawn and len(drawn) < len(self.ax_loss.lines):
                self.ax_loss.legend(drawn, [line.get_label() for line in drawn])
                plots.legend_above(self.ax_loss)

    def _scale_curves(self, step: int, losses: np.ndarray, cov: dict) -> None:
        """The curves' axes: fitted to the data (the notebook's figure), or grown in steps (the
        live one: the x axis to ``x_limit(step)``, the losses' y axis by ``grown``)."""
        if not self.split:
            for ax in (self.ax_loss, self.ax_d):
                ax.relim()
                ax.autoscale_view()
            self.ax_d.set_ylim(-0.03, 1.03)  # as plots.plot_history: a D output of 0 or 1 off the frame
            if self.cov_lines is not None and cov["step"]:
                last = max(1, cov["step"][-1])
                self.ax_cov.set_xlim(-COVERAGE_MARGIN * last, (1 + COVERAGE_MARGIN) * last)
            return
        right = x_limit(step)
        for ax in (self.ax_loss, self.ax_d) + ((self.ax_cov,) if self.cov_lines is not None else ()):
            if ax.get_xlim() != (0, right):
                ax.set_xlim(0, right)
        limits = grown(self.loss_limits, losses)
        if limits is not None and limits != self.loss_limits:
            self.ax_loss.set_ylim(*limits)
        self.loss_limits = limits

    def field_png(self) -> bytes:
        """The samples panel of the last ``update`` as PNG, painted by ``FieldFrames`` (split view)."""
        if self.frames is None:
            self.frames = FieldFrames(self)
        return self.frames.png(self.snap)

    def curves_png(self) -> bytes:
        """The curves as PNG (split view): blitted, the axes drawn again only when they grew."""
        return self.blitter.png()


class FieldFrames:
    """The samples panel's frames, painted with numpy (``gan_edu.live.raster``) into the background
    matplotlib drew once (axes, ticks, title, legend, colour bar): in 2D, D(x) as a heatmap, the
    real points, the generated ones and G's arrows; in 1D, the histogram of G's samples, the
    arrows and D(x). Colours, sizes and order are read from the ``LiveView``'s matplotlib artists
    that they stand for (which are left out of the background)."""

    def __init__(self, view: LiveView):
        self.view = view
        moving = [view.heat, view.real, view.fake] if view.dim == 2 else list(view.ax_data.patches) + [view.d_line]
        self.moving = moving + [view.quiver]  # what the frames paint: left out of the background
        for artist in self.moving:
            artist.set_animated(True)
        self.area = area = raster.Area(view.field, view.ax_data)
        q, dpi = view.quiver, view.field.dpi
        self.arrow = dict(colour=to_rgb(q.get_facecolor()[0]), width=q.width * view.ax_data.get_window_extent().width,
                          head_width=q.headwidth, head_length=q.headlength)
        if view.dim == 2:
            table = raster.colour_table(view.heat.get_cmap().name, view.heat.get_alpha())
            self.heatmap = raster.Heatmap(area, (-view.box, view.box), VIEW_BINS, table)
            self.dots = [(to_rgb(c.get_facecolor()[0]), raster.marker(c.get_sizes()[0], c.get_linewidths()[0], dpi,
                                                                      c.get_facecolor()[0][3])) for c in (view.real, view.fake)]
        else:
            bars = view.ax_data.patches
            self.edges = np.array([b.get_x() for b in bars] + [bars[-1].get_x() + bars[-1].get_width()])
            self.bar_colour, self.bar_alpha = to_rgb(bars[0].get_facecolor()), bars[0].get_facecolor()[3]
            self.line = dict(colour=to_rgb(view.d_line.get_color()), width=view.d_line.get_linewidth() * dpi / 72)
            self.base = area.pixels([0.0], [0.0])[1][0]  # the row of density 0

    def png(self, snap: dict) -> bytes:
        """The panel with the snapshot ``snap`` (``LiveView._snapshot``) as PNG bytes."""
        box = self._paint_2d(snap) if self.view.dim == 2 else self._paint_1d(snap)
        return self.area.png(box)

    def _paint_2d(self, snap: dict) -> np.ndarray:
        """D(x) (``imshow``'s bilinear heatmap), then the real points, the arrows and the generated
        points (the artists' zorder: G's samples stay visible where their arrows start)."""
        area = self.area
        box = self.heatmap.frame(snap["d"])
        (real_colour, real_mark), (fake_colour, fake_mark) = self.dots
        raster.dots(box, *area.pixels(snap["real"][:, 0], snap["real"][:, 1]), real_colour, real_mark)
        self._arrows(box, snap["at"], snap["push"])
        return raster.dots(box, *area.pixels(snap["fake"][:, 0], snap["fake"][:, 1]), fake_colour, fake_mark)

    def _paint_1d(self, snap: dict) -> np.ndarray:
        """The histogram of G's samples (density), then the arrows, then D(x) on the twin axis."""
        area = self.area
        heights, _ = np.histogram(snap["fake"].reshape(-1), bins=self.edges, density=True)
        cols, _ = area.pixels(self.edges, np.zeros(len(self.edges)))
        _, tops = area.pixels(self.edges[:-1], heights)
        box = raster.bars(area.frame(), cols, tops, self.base, self.bar_colour, self.bar_alpha)
        self._arrows(box, snap["at"], snap["push"])
        cols, rows = area.pixels(self.view.x.numpy(), snap["d"], ax=self.view.ax_twin)
        return raster.fill(box, *raster.line_points(cols, rows, self.line["width"]), self.line["colour"])

    def _arrows(self, box: np.ndarray, at: np.ndarray, push: np.ndarray) -> np.ndarray:
        """G's arrows from the points ``at`` along ``push`` (data units; quiver's angles="xy", scale=1)."""
        ax = self.view.quiver.axes  # 1D: D's axis
        c0, r0 = self.area.pixels(at[:, 0], at[:, 1], ax=ax)
        c1, r1 = self.area.pixels(at[:, 0] + push[:, 0], at[:, 1] + push[:, 1], ax=ax)
        a = self.arrow
        points = raster.arrow_points(c0, r0, c1 - c0, r1 - r0, a["width"], a["head_width"], a["head_length"])
        return raster.fill(box, *points, a["colour"])


class ManifoldPanel:
    """G's "manifold": the ``plots.noise_grid`` (z_1, z_2 on [-2, 2], or [-1, 1] for uniform
    noise) mapped through G, one line per grid row and column, over the real data. Where the
    mesh is stretched G spreads its probability thin; where it folds, G piles it up."""

    def __init__(self, trainer, n: int = 15):
        self.n, self.dim = n, trainer.dim
        self.fig = _figure(4.4, 4.8, 72)
        ax = self.fig.add_axes((0.15, 0.1, 0.8, 0.74))
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
        ax.legend(fontsize=7, markerscale=3)
        plots.legend_above(ax)
        self.blitter = Blitter(self.fig, [self.real] + self.lines)

    def update(self, trainer) -> "ManifoldPanel":
        """The mesh G makes of the noise grid now, and the view's real points."""
        if self.dim != 2:
            return self
        gan = trainer.gan
        lim = 1.0 if gan.settings_now.noise == "uniform" else 2.0
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
        """The panel as PNG bytes, blitted."""
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
        """D* from the view's real points and ``fake`` (default: G of the view's noise), and D."""
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
        """The panel as PNG bytes, blitted."""
        return self.blitter.png()


class DivergencePanel:
    """KL(p_data || p_g), KL(p_g || p_data) and JSD over training (estimated at each refresh on
    the view's fixed samples), and V(D, G) on the grid against V(D*, G) = -log 4 + 2 JSD, the
    value the optimal D would reach (V(D, G) <= V(D*, G) for every D)."""

    KEYS = (("kl", "KL(p_data || p_g)", "tab:blue"), ("reverse_kl", "KL(p_g || p_data)", "tab:orange"),
            ("js", "JSD", "tab:green"))

    def __init__(self, trainer):
        self.fig = _figure(8.6, 3.8, 64)
        self.ax_div, self.ax_v = self.fig.subplots(1, 2, gridspec_kw=dict(left=0.08, right=0.97, bottom=0.14,
                                                                          top=0.7, wspace=0.3))
        self.lines = {key: self.ax_div.plot([], [], color=c, label=label)[0] for key, label, c in self.KEYS}
        self.ax_div.set(xlabel="training round", ylabel="nats", title="Divergences (densities on a grid)")
        self.ax_div.legend()
        self.v_lines = {"v": self.ax_v.plot([], [], color="tab:red", label="V(D, G), learned D")[0],
                        "v_star": self.ax_v.plot([], [], color="black", ls="--",
                                                 label="V(D*, G) = -log 4 + 2 JSD")[0]}
        self.ax_v.axhline(-math.log(4), color="gray", ls=":", label="-log 4 (p_g = p_data)")
        self.ax_v.set(xlabel="training round", ylabel="V", title="V(D, G) vs its optimum")
        self.ax_v.legend()
        for ax in (self.ax_div, self.ax_v):
            plots.legend_above(ax, ncol=2)
        self.blitter = Blitter(self.fig, list(self.lines.values()) + list(self.v_lines.values()),
                               [axis for ax in (self.ax_div, self.ax_v) for axis in (ax.xaxis, ax.yaxis)])
        self.steps, self.limits = [], {}

    def update(self, trainer) -> "DivergencePanel":
        """The curves from ``trainer.divergences``, their axes fitted to the data (``panel_figure``)."""
        div = trainer.divergences
        self.steps = div["step"]
        for key, line in list(self.lines.items()) + list(self.v_lines.items()):
            line.set_data(self.steps, div[key])
        for ax in (self.ax_div, self.ax_v):
            ax.relim()
            ax.autoscale_view()
        return self

    def png(self) -> bytes:
        """The live panel, blitted: its axes grow in steps (``x_limit``, ``grown``) instead."""
        for ax, lines in ((self.ax_div, self.lines), (self.ax_v, self.v_lines)):
            ax.set_xlim(0, x_limit(self.steps[-1] if self.steps else 0))
            values = np.concatenate([line.get_ydata() for line in lines.values()] + [[-math.log(4)] * (ax is self.ax_v)])
            self.limits[ax] = grown(self.limits.get(ax), values, min_span=0.2)
            if self.limits[ax] is not None:
                ax.set_ylim(*self.limits[ax])
        return self.blitter.png()


PANELS = {"manifold": ManifoldPanel, "optimal": OptimalPanel, "divergences": DivergencePanel}  # the optional ones


def panel_figure(trainer, name: str):
    """The optional panel ``name`` of ``trainer`` now, as a new matplotlib Figure (not managed by
    pyplot), at ``FIGURE_DPI``."""
    panel = PANELS[name](trainer).update(trainer)
    panel.fig.set_dpi(FIGURE_DPI)
    blitter = getattr(panel, "blitter", None)
    for artist in (blitter.artists + blitter.scaled if blitter else ()):
        artist.set_animated(False)  # a saved figure leaves figure-level animated artists out
    return panel.fig


class Display:
    """What a trainer's widget shows, and when. The figures (a ``LiveView`` and the shown
    panels) are built on first use and then updated in place, from the view's fixed noise
    (``noise``). The metrics (coverage, divergences) are measured every ``METRICS_SECONDS``.
    The frame budget (``refresh``, ``schedule``): at most ``fps`` frames a second, the curves
    every ``CURVES_SECONDS``, and drawing at most ``max_draw_share`` of the time, kept as a
    credit: training earns max_draw_share / (1 - max_draw_share) s of drawing a second, saved up
    to ``CREDIT_SECONDS`` times max_draw_share, and each frame spends its drawing time. An
    expensive frame (an axis grown, drawn again) is paid back over the next seconds instead of
    stopping the view; a slow machine draws less often instead of training more slowly."""

    def __init__(self):
        self.view, self.panel_views, self.z = None, {}, {}
        self.next_draw = 0.0      # perf_counter time of the next frame
        self.credit = None        # drawing time earned and not yet spent, seconds (None: a full credit)
        self.drawn_at = None      # when the last frame ended
        self.curves_at = self.metrics_at = -math.inf  # when the curves were last drawn, the metrics measured

    def noise(self, kind: str, dim: int, seed: int) -> torch.Tensor:
        """The view's fixed z (2,500 draws from a generator of its own seeded ``seed``, for the
        noise ``kind``): the same points every frame, and no draw from the training's streams."""
        if kind not in self.z:
            gen = torch.Generator().manual_seed(seed)
            self.z[kind] = noise_prior(N_COVERAGE, dim, kind, gen)
        return self.z[kind]

    def due(self, now: float | None = None) -> bool:
        """Whether the next frame is due (at ``now``, a ``time.perf_counter()`` reading)."""
        return (time.perf_counter() if now is None else now) >= self.next_draw

    def hold(self, seconds: float) -> None:
        """No frame for ``seconds`` (after a drawing problem)."""
        self.next_draw = time.perf_counter() + seconds

    def refresh(self, trainer, force: bool = False) -> None:
        """Record ``trainer``'s metrics (every METRICS_SECONDS, or when ``force``) and put a frame
        in its widget (if built), when due or ``force``; then schedule the next frame."""
        now = time.perf_counter()
        if not force and now < self.next_draw:
            return
        if force or now - self.metrics_at >= METRICS_SECONDS:
            self.metrics_at = now
            trainer.record_metrics()
        if trainer.ui.built:
            curves = force or now - self.curves_at >= CURVES_SECONDS
            if curves:
                self.curves_at = now
            field, curves_png = self.render(trainer, curves)
            trainer.ui.show_frame(field, curves_png, self.render_panels(trainer, curves))
            trainer.ui.show_status()
        took = time.perf_counter() - now
        trainer.frames += 1
        trainer.draw_seconds += took
        self.schedule(now, took, force, trainer.fps, trainer.max_draw_share)

    def schedule(self, began: float, took: float, force: bool, fps: float, share: float) -> None:
        """The next frame's time after one that began at ``began`` and took ``took`` seconds: one
        period (1 / ``fps``) after the frame was due (or began, if it was late by more than a
        period), and not before the credit is back to zero. Forced frames (start, reset, first
        build) are not typical: not paid for."""
        now = time.perf_counter()
        if self.credit is None:
            self.credit = CREDIT_SECONDS * share
        if self.drawn_at is not None and share < 1:  # earned since the last frame ended
            self.credit = min(CREDIT_SECONDS * share, self.credit + (began - self.drawn_at) * share / (1 - share))
        if not force:
            self.credit -= took
        wait = 0.0 if share >= 1 or self.credit >= 0 else -self.credit * (1 - share) / share
        start = self.next_draw if 0 <= began - self.next_draw < 1 / fps else began
        self.next_draw, self.drawn_at = max(start + 1 / fps, now + wait), now

    def render(self, trainer, curves: bool = True) -> tuple[bytes, bytes | None]:
        """The main view as PNG bytes: (samples panel, curves panel or None when not ``curves``)."""
        if self.view is None:
            self.view = LiveView(trainer)
        view = self.view.update(trainer, curves)
        return view.field_png(), (view.curves_png() if curves else None)

    def render_panels(self, trainer, curves: bool = True) -> dict:
        """The optional panels ``trainer.panels`` shows, as PNG bytes by name (the divergence
        curves only when ``curves``). D* vs D takes the main view's generated points, if any."""
        out = {}
        for name, on in trainer.panels.items():
            if not on or (name == "divergences" and not curves):
                continue
            if name not in self.panel_views:
                self.panel_views[name] = PANELS[name](trainer)
            panel = self.panel_views[name]
            snap = self.view.snap if self.view is not None else None
            if name == "optimal" and snap is not None and snap["step"] == trainer.gan.step:
                panel.update(trainer, fake=torch.from_numpy(snap["fake"]))
            else:
                panel.update(trainer)
            out[name] = panel.png()
        return out

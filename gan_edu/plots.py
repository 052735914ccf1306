"""The figures the notebooks show: every axis labelled, every figure titled."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

from .checks import check_count, is_number

__all__ = ["plot_history", "plot_density_1d", "plot_samples_2d", "image_grid", "show_images",
           "plot_gan_1d", "plot_value_function", "noise_grid", "plot_manifold", "plot_optimal_vs_learned_d",
           "plot_discriminator_2d", "plot_coverage", "arrow_lengths", "legend_above",
           "plot_d_heatmap", "plot_gan_snapshot", "plot_divergence_curves", "plot_parameter_paths",
           "plot_value_gap", "plot_run_curves"]

D_CMAP = "RdBu_r"  # every D heatmap of the course: red where D says "real" (1), blue "fake" (0), white 1/2


def plot_history(history: dict, ax=None, title: str = "Training curves"):
    """Both losses and the mean D outputs over training rounds; control changes marked."""
    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(11, 3.5))
    steps = history["step"]
    ax[0].plot(steps, history["loss_d"], label="D loss")
    ax[0].plot(steps, history["loss_g"], label="G loss")
    ax[0].set(xlabel="training round", ylabel="loss", title=title)
    ax[1].plot(steps, history["d_real"], label="mean D(x), real")
    ax[1].plot(steps, history["d_fake"], label="mean D(G(z)), fake")
    ax[1].axhline(0.5, color="black", ls="--", lw=1.2, zorder=5, label="D = 1/2")  # over the curves
    ax[1].set(xlabel="training round", ylabel="D output", ylim=(-0.03, 1.03),  # 0 and 1 off the frame
              title="Discriminator outputs")
    for a in ax:
        for step, name, value in history.get("events", []):
            a.axvline(step, color="tab:red", alpha=0.3, lw=1)
        a.legend(loc="best", fontsize=8)
    return ax


def plot_density_1d(x, p_data, p_g=None, d=None, ax=None, title: str = "", d_label: str = "D(x)"):
    """p_data, p_g (densities on the grid x) and D (labelled ``d_label``) on a twin axis in [0, 1]."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(x, p_data, color="black", ls="--", label="p_data")
    if p_g is not None:
        ax.plot(x, p_g, color="tab:green", label="p_g")
    ax.set(xlabel="x", ylabel="density", title=title)
    handles, labels = ax.get_legend_handles_labels()
    if d is not None:
        ax2 = ax.twinx()
        ax2.plot(x, d, color="tab:blue", label=d_label)
        ax2.axhline(0.5, color="tab:blue", ls=":", lw=1, label=f"{d_label[0]} = 1/2")
        ax2.set(ylim=(-0.05, 1.05), ylabel=d_label)  # 0 above the frame: a D of 0 stays visible
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="upper left", fontsize=8)
    return ax


def plot_samples_2d(real, fake=None, ax=None, title: str = "", lim=None):
    """Real (black) and generated (green) 2D samples."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    real = torch.as_tensor(real).cpu().numpy()
    ax.scatter(real[:, 0], real[:, 1], s=4, c="black", alpha=0.4, label="real")
    if fake is not None:
        fake = torch.as_tensor(fake).cpu().numpy()
        ax.scatter(fake[:, 0], fake[:, 1], s=4, c="tab:green", alpha=0.5, label="generated")
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title=title, aspect="equal")
    if lim is not None:
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim))
    ax.legend(loc="upper right", fontsize=8, markerscale=3)
    return ax


def image_grid(images: torch.Tensor, nrow: int = 8, pad: int = 1) -> np.ndarray:
    """Tile (n, c, h, w) images in [-1, 1] into one (H, W) or (H, W, c) array in [0, 1]."""
    nrow, pad = check_count("nrow", nrow), check_count("pad", pad, minimum=0)
    images = torch.as_tensor(images).detach().float().cpu().clamp(-1, 1) * 0.5 + 0.5
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must have shape (n, c, h, w) with n >= 1, got {tuple(images.shape)}")
    n, c, h, w = images.shape
    ncol = min(nrow, n)
    rows = -(-n // ncol)
    out = np.ones((rows * (h + pad) + pad, ncol * (w + pad) + pad, c))
    for i, img in enumerate(images.numpy()):
        r, col = divmod(i, ncol)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + col * (w + pad): pad + col * (w + pad) + w] = img.transpose(1, 2, 0)
    return out[..., 0] if c == 1 else out


def show_images(images: torch.Tensor, nrow: int = 8, ax=None, title: str = ""):
    """An image grid (see ``image_grid``) without axes ticks."""
    if ax is None:
        _, ax = plt.subplots(figsize=(nrow * 0.6, max(1, len(images) // nrow) * 0.6 + 0.6))
    ax.imshow(image_grid(images, nrow), cmap="gray", vmin=0, vmax=1)
    ax.set(title=title, xticks=[], yticks=[])
    return ax


def plot_gan_1d(x, p_data, samples=None, d=None, ax=None, title: str = "", bins: int = 60,
                legend: bool = True):
    """Goodfellow et al. (2014), Figure 1: p_data (dashed), a histogram of G's samples (p_g),
    and D(x) on the grid ``x`` (on a twin axis, with the line D = 1/2)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    x = np.asarray(x, dtype=float).reshape(-1)
    ax.plot(x, p_data, color="black", ls="--", label="p_data")
    if samples is not None:
        samples = torch.as_tensor(samples).detach().float().cpu().numpy().reshape(-1)
        ax.hist(samples, bins=bins, range=(x[0], x[-1]), density=True, color="tab:green", alpha=0.45,
                label="p_g (G's samples)")
    ax.set(xlabel="x", ylabel="density", title=title, xlim=(x[0], x[-1]))
    handles, labels = ax.get_legend_handles_labels()
    if d is not None:
        ax2 = ax.twinx()
        ax2.plot(x, torch.as_tensor(d).detach().cpu().numpy().reshape(-1), color="tab:blue", label="D(x)")
        ax2.axhline(0.5, color="tab:blue", ls=":", lw=1, label="D = 1/2")
        ax2.set(ylim=(-0.05, 1.05), ylabel="D(x)")  # 0 above the frame: a D of 0 stays visible
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    if legend:
        ax.legend(handles, labels, loc="upper left", fontsize=8)
    return ax


def plot_value_function(history: dict, ax=None, smooth: int = 50, title: str = "V(D,G) over training"):
    """V(D,G) = -loss_d per round (faint) and its moving average, with the equilibrium -log 4."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    steps, v = np.asarray(history["step"]), -np.asarray(history["loss_d"], dtype=float)
    ax.plot(steps, v, color="tab:purple", alpha=0.25, lw=0.8, label="V(D,G) per round")
    if smooth > 1 and len(v) >= smooth:
        avg = np.convolve(v, np.ones(smooth) / smooth, mode="valid")
        ax.plot(steps[smooth - 1:], avg, color="tab:purple", label=f"moving average ({smooth} rounds)")
    ax.axhline(-np.log(4), color="gray", ls=":", label="-log 4 (p_g = p_data, D = 1/2)")
    ax.set(xlabel="training round", ylabel="V(D,G) = -loss_d", title=title)
    ax.legend(loc="best", fontsize=8)
    return ax


def noise_grid(noise_dim: int, n: int = 15, lim: float = 2.0) -> torch.Tensor:
    """A regular grid in noise space: z_1, z_2 each take ``n`` evenly spaced values in
    [-lim, lim] and the other noise coordinates are 0 (the slice of noise space a 2D mesh can
    show). Shape (n * n, noise_dim), row-major: point ``i * n + j`` is (u[j], u[i], 0, ...),
    so ``.reshape(n, n, -1)[i]`` is one grid row (z_2 fixed). With ``noise_dim == 1``: the
    ``n`` points of a line, shape (n, 1). Default lim 2: ±2 standard deviations of N(0, 1)
    (use lim=1 for uniform noise on [-1, 1])."""
    if not is_number(noise_dim, integer=True) or noise_dim < 1:
        raise ValueError(f"noise_dim must be a positive integer, got {noise_dim!r}")
    if not is_number(n, integer=True) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if not (isinstance(lim, (int, float)) and np.isfinite(lim) and lim > 0):
        raise ValueError(f"lim must be a positive number, got {lim!r}")
    u = torch.linspace(-lim, lim, n)
    if noise_dim == 1:
        return u.reshape(n, 1)
    z = torch.zeros(n, n, noise_dim)
    z[..., 0], z[..., 1] = u[None, :], u[:, None]
    return z.reshape(n * n, noise_dim)


def plot_manifold(gan, ax=None, n: int = 15, lim: float | None = None, title: str = "G's manifold: a noise grid through G",
                  color: str = "tab:green"):
    """The generator's "manifold": ``noise_grid`` mapped through G and drawn as a warped mesh,
    one line per grid row and one per grid column (2n lines; a single curve for 1D noise).
    Where the mesh is stretched G spreads probability thin, where it is folded or squeezed G
    piles it up. ``lim`` defaults to 2 for normal noise and 1 for uniform noise. 2D data only."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    if lim is None:
        lim = 1.0 if gan.settings()["noise"] == "uniform" else 2.0
    z = noise_grid(gan.noise_dim, n, lim)
    x = gan.sample(z=z).numpy()
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"plot_manifold draws 2D data; the generator makes samples of shape {x.shape[1:]}")
    if gan.noise_dim == 1:
        ax.plot(x[:, 0], x[:, 1], color=color, lw=1, label="G(z), z on a line")
    else:
        mesh = x.reshape(n, n, 2)
        for i in range(n):
            ax.plot(mesh[i, :, 0], mesh[i, :, 1], color=color, lw=0.8, alpha=0.8,
                    label="G(grid in z_1, z_2)" if i == 0 else None)
            ax.plot(mesh[:, i, 0], mesh[:, i, 1], color=color, lw=0.8, alpha=0.8)
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title=title, aspect="equal")
    ax.legend(loc="upper right", fontsize=8)
    legend_above(ax)  # over no sample or mesh line
    return ax


def plot_optimal_vs_learned_d(d_star, d_learned, lim, axes=None, real=None, fake=None,
                              title: str = "Optimal vs learned discriminator"):
    """Two heatmaps side by side on the same grid and colour scale [0, 1]: the optimal
    D*(x) = p_data / (p_data + p_g) (from ``metrics.optimal_discriminator_on_grid``) and the
    learned D(x) (e.g. ``gan.discriminate(metrics.grid_points(lim, bins))``), both in the
    layout of ``metrics.density_on_grid``; optional real (black) / generated (green) samples
    on top. The gap between the two panels is how far D is from optimal."""
    from .metrics.grid import grid_limits

    d_star = np.asarray(torch.as_tensor(d_star).detach().cpu(), dtype=float)
    bins = d_star.shape[0]
    d_learned = np.asarray(torch.as_tensor(d_learned).detach().cpu(), dtype=float)
    if d_star.shape != (bins, bins) or d_learned.size != bins * bins:
        raise ValueError(f"d_star must be a square (bins, bins) grid and d_learned hold bins * bins values, "
                         f"got shapes {d_star.shape} and {d_learned.shape}")
    d_learned = d_learned.reshape(bins, bins)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 4.4), constrained_layout=True)
    lo, hi = grid_limits(lim)
    for ax, grid, name in ((axes[0], d_star, "optimal $D^*(x) = p_{data} / (p_{data} + p_g)$"),
                           (axes[1], d_learned, "learned $D(x)$")):
        im = ax.imshow(grid, origin="lower", extent=(lo, hi, lo, hi), cmap=D_CMAP, vmin=0, vmax=1,
                       interpolation="nearest")
        for pts, color, label in ((real, "black", "real"), (fake, "tab:green", "generated")):
            if pts is not None:
                pts = torch.as_tensor(pts).detach().cpu().numpy()
                ax.scatter(pts[:, 0], pts[:, 1], s=3, c=color, alpha=0.4, label=label)
        ax.set(xlabel="$x_1$", ylabel="$x_2$", title=name, xlim=(lo, hi), ylim=(lo, hi))
        if real is not None or fake is not None:
            ax.legend(loc="upper right", fontsize=8, markerscale=3)
            legend_above(ax)  # over no sample
    fig = axes[0].figure
    fig.colorbar(im, ax=list(axes), shrink=0.85, label="D (probability of real)")
    fig.suptitle(title)
    return axes


def plot_discriminator_2d(d_grid, lim, real=None, fake=None, arrows_at=None, arrows=None, ax=None,
                          title: str = "", colorbar: bool = True):
    """D(x) as a heatmap on the square ``lim`` (L for [-L, L]², or (lo, hi)); ``d_grid[i, j]`` at
    row x2_i, column x1_j (red: D says real, blue: fake), optional real (black) and generated
    (green) samples on top, and optional arrows ``arrows`` drawn at the points ``arrows_at``:
    where the generator's gradient pushes its samples."""
    from .metrics.grid import grid_limits

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    lo, hi = grid_limits(lim)
    d_grid = torch.as_tensor(d_grid).detach().cpu().numpy()
    im = ax.imshow(d_grid, origin="lower", extent=(lo, hi, lo, hi), cmap=D_CMAP, vmin=0, vmax=1,
                   alpha=0.55, interpolation="bilinear")
    for pts, color, alpha, label in ((real, "black", 0.35, "real"), (fake, "tab:green", 0.5, "generated")):
        if pts is not None:
            pts = torch.as_tensor(pts).detach().cpu().numpy()
            ax.scatter(pts[:, 0], pts[:, 1], s=3, c=color, alpha=alpha, label=label)
    if arrows is not None and len(arrows):
        at, v = torch.as_tensor(arrows_at).detach().cpu().numpy(), arrow_lengths(arrows, 0.15 * (hi - lo) / 2)
        ax.quiver(at[:, 0], at[:, 1], v[:, 0], v[:, 1], angles="xy", scale_units="xy", scale=1,
                  width=0.004, color="tab:orange", label="G's gradient step")
    ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="$x_1$", ylabel="$x_2$", title=title, aspect="equal")
    if real is not None or fake is not None or arrows is not None:
        ax.legend(loc="upper right", fontsize=7, markerscale=3)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.02, label="D(x)")
    return ax


def legend_above(ax, ncol: int | None = None, fontsize: float = 8):
    """Move the legend of ``ax`` out of its data area to just above it, in ``ncol`` columns
    (default: one row), where it covers no curve or point; the title moves up above it.
    Returns the new legend (None if ``ax`` had none)."""
    old = ax.get_legend()
    if old is None:
        return None
    labels = [text.get_text() for text in old.get_texts()]
    found = {}  # label -> artist, from ax and its twins (the axes at the same place)
    for other in ax.figure.axes:
        if other is ax or other.get_position().bounds == ax.get_position().bounds:
            found.update(zip(*other.get_legend_handles_labels()[::-1]))
    markerscale = old.markerscale
    old.remove()
    legend = ax.legend([found[label] for label in labels], labels, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                       ncol=len(labels) if ncol is None else ncol, fontsize=fontsize, markerscale=markerscale,
                       frameon=False, borderaxespad=0.2, borderpad=0.2, handlelength=1.5, handletextpad=0.4,
                       columnspacing=1.0)
    fig = ax.figure.figure  # the root figure (ax may be in a subfigure)
    height = legend.get_window_extent(fig.canvas.get_renderer()).height * 72 / fig.dpi  # in points
    ax.set_title(ax.get_title(), pad=height + 4)
    return legend


def arrow_lengths(vectors, longest: float) -> np.ndarray:
    """Scale ``vectors`` (n, d) together so that the longest one has length ``longest``."""
    v = torch.as_tensor(vectors).detach().float().cpu().numpy()
    norm = float(np.linalg.norm(v, axis=1).max()) if len(v) else 0.0
    return v * (longest / norm) if norm > 0 else v


def plot_coverage(coverage: dict, n_modes: int, ax=None, title: str = "Mode coverage"):
    """Modes recovered (of ``n_modes``) and the fraction of high-quality samples over training
    (``coverage`` has lists ``step``, ``modes``, ``high_quality``; see ``metrics.mode_coverage``)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    steps = coverage["step"]
    ax.plot(steps, coverage["modes"], color="tab:green", marker=".", label="modes recovered")
    ax.set(xlabel="training round", ylabel=f"modes recovered (of {n_modes})", ylim=(-0.3, n_modes + 0.3),
           title=title)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # a count: no 0.2 of a mode
    ax2 = ax.twinx()
    ax2.plot(steps, [100 * q for q in coverage["high_quality"]], color="tab:purple", ls="--",
             label="high-quality samples (%)")
    ax2.set(ylim=(0, 102), ylabel="% high quality")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=7)


def plot_d_heatmap(gan, lim, ax=None, bins: int = 64, real=None, fake=None, title: str = "D(x) and the samples"):
    """The learned D(x) = sigmoid(logit) on the grid of ``metrics.grid_points(lim, bins)``, drawn
    by ``plot_discriminator_2d`` with optional real and generated samples. 2D data only."""
    from .metrics.grid import grid_points

    d = gan.discriminate(grid_points(lim, bins)).numpy().reshape(bins, bins)
    ax = plot_discriminator_2d(d, lim, real=real, fake=fake, ax=ax, title=title)
    legend_above(ax)  # over no sample
    return ax


def _view_box(lim, *points, step: float = 0.5) -> tuple[float, float]:
    """The square box (lo, hi) of ``lim``, widened in multiples of ``step`` until it holds every
    point of ``points`` (arrays (n, 2)) with a margin of 0.1: nothing drawn is cut off."""
    from .metrics.grid import grid_limits

    lo, hi = grid_limits(lim)
    pts = np.concatenate([np.asarray(torch.as_tensor(p).detach().float().cpu()).reshape(-1, 2) for p in points])
    pts = pts[np.isfinite(pts).all(1)]
    if len(pts):
        if pts.min() - 0.1 < lo:
            lo -= step * np.ceil((lo - pts.min() + 0.1) / step)
        if pts.max() + 0.1 > hi:
            hi += step * np.ceil((pts.max() + 0.1 - hi) / step)
    return float(lo), float(hi)


def plot_gan_snapshot(gan, real, lim, axes=None, n: int = 1000, bins: int = 64, mesh: int = 15, z=None,
                      title: str = ""):
    """One moment of a 2D GAN, two panels: D's heatmap with real and ``n`` generated samples
    (``plot_d_heatmap``), and G's manifold (``plot_manifold``, a ``mesh`` x ``mesh`` noise grid)
    drawn over the real data. ``z`` fixes the noise of the samples (else ``gan.sample(n)``,
    which draws from the GAN's own noise generator). Both panels show the box ``lim``, widened
    (in steps of 0.5) where samples or the mesh reach past it: nothing is cut off. Returns the two axes."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 4.4), constrained_layout=True)
    fake = gan.sample(z=z) if z is not None else gan.sample(n)
    mesh_lim = 1.0 if gan.settings()["noise"] == "uniform" else 2.0  # plot_manifold's noise grid
    lo, hi = _view_box(lim, real, fake, gan.sample(z=noise_grid(gan.noise_dim, mesh, mesh_lim)))
    prefix = f"{title}: " if title else ""
    plot_d_heatmap(gan, (lo, hi), ax=axes[0], bins=bins, real=real, fake=fake, title=f"{prefix}D(x) and the samples")
    pts = torch.as_tensor(real).detach().cpu().numpy()
    axes[1].scatter(pts[:, 0], pts[:, 1], s=3, c="black", alpha=0.3, label="real")
    plot_manifold(gan, ax=axes[1], n=mesh, title=f"{prefix}G's manifold")
    axes[1].set(xlim=(lo, hi), ylim=(lo, hi))
    return axes


def plot_divergence_curves(track: dict, axes=None, title: str = "Divergences and mode coverage over training"):
    """Two panels from a ``metrics.DivergenceTracker``'s ``history`` (or any dict of lists with
    ``step``, ``kl``, ``reverse_kl``, ``js`` and optionally ``modes``, ``of``, ``high_quality``):
    left, KL(p_data || p_g), KL(p_g || p_data) and JSD (with its ceiling log 2) on a log scale;
    right, modes recovered (left axis) and the fraction of high-quality samples (twin axis). The
    mode count is a step line centred on each record (a dot), so the first and last records show."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 3.8), constrained_layout=True)
    steps = np.asarray(track["step"])
    ax = axes[0]
    ax.plot(steps, track["kl"], color="tab:red", label="KL(p_data || p_g): misses modes?")
    ax.plot(steps, track["reverse_kl"], color="tab:blue", label="KL(p_g || p_data): mass off the data?")
    ax.plot(steps, track["js"], color="tab:purple", label="JSD(p_data || p_g)")
    ax.axhline(np.log(2), color="tab:purple", ls=":", lw=1, label="log 2 (JSD's maximum)")
    ax.set(xlabel="training round", ylabel="estimate (nats, log scale)", yscale="log", title=title)
    ax.legend(fontsize=8)
    legend_above(ax, ncol=2)  # over no curve
    ax = axes[1]
    if "modes" in track:
        ax.step(steps, track["modes"], where="mid", color="black", marker="o", ms=3, label="modes recovered")
        ax.set(ylim=(-0.3, track.get("of", max(track["modes"], default=1)) + 0.3))
    ax.set(xlabel="training round", ylabel="modes recovered\n(dots: the records, steps centred on them)",
           title="Mode coverage")
    handles, labels = ax.get_legend_handles_labels()
    if "high_quality" in track:
        ax2 = ax.twinx()
        ax2.plot(steps, track["high_quality"], color="tab:green", label="high-quality fraction")
        ax2.set(ylim=(0, 1.05), ylabel="fraction of high-quality samples")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    if handles:
        ax.legend(handles, labels, fontsize=8)
        legend_above(ax)  # over no curve
    return axes


def plot_parameter_paths(paths: dict, ax=None, equilibrium=(0.0, 0.0), xlabel: str = "$\\theta$ (G's parameter)",
                         ylabel: str = "$\\psi$ (D's parameter)", title: str = "Training paths in parameter space"):
    """Paths of two parameters during training, one line per name in ``paths`` (each an (n, 2)
    array of (x, y) per step), with start (circle), end (square) and the ``equilibrium`` (star)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    for name, path in paths.items():
        path = np.asarray(path, dtype=float).reshape(-1, 2)
        (line,) = ax.plot(path[:, 0], path[:, 1], lw=1, label=name)
        ax.plot(*path[0], "o", color=line.get_color(), ms=6)
        ax.plot(*path[-1], "s", color=line.get_color(), ms=6)
    if equilibrium is not None:
        ax.plot(*equilibrium, "*", color="black", ms=12, label="equilibrium")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, aspect="equal")
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_value_gap(track: dict, ax=None, title: str = "V(D, G) of the learned D vs the optimal D*"):
    """From a ``metrics.DivergenceTracker(..., with_d=True)``'s ``history``: V(D*, G) =
    -log 4 + 2 JSD (what the optimal D would reach) and V(D, G) of the learned D, both on the
    grid, with the equilibrium -log 4. The gap V(D*, G) - V(D, G) >= 0 is how far D is from the
    optimum *of the grid's smoothed densities* (a D sharper than the smoothing is penalised too).
    With ``v_samples`` in ``track`` (the tracker records it), also the learned D's V(D, G) on the
    samples themselves, without smoothing (dashed)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8))
    steps = np.asarray(track["step"])
    ax.plot(steps, track["v_star"], color="tab:red", label="V(D*, G) = -log 4 + 2 JSD, on the grid")
    ax.plot(steps, track["v"], color="tab:blue", label="V(D, G), learned D, on the grid")
    if "v_samples" in track:
        ax.plot(steps, track["v_samples"], color="tab:blue", ls="--", marker=".",
                label="V(D, G), learned D, on the samples (no smoothing)")
    ax.fill_between(steps, track["v"], track["v_star"], color="tab:gray", alpha=0.25,
                    label="gap V(D*, G) - V(D, G) on the grid")
    ax.axhline(-np.log(4), color="black", ls=":", lw=1, label="-log 4: V(D*, G) if p_g = p_data, V of D = 1/2")
    ax.set(xlabel="training round", ylabel="V(D, G) (nats)", title=title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)  # beside the axes, over no curve
    return ax


RUN_STYLES = ("-", "--", "-.", ":")  # line styles of plot_run_curves, cycled: runs told apart without colour


def plot_run_curves(runs: dict, axes=None, offset: float = 0.1, title: str = "JSD(p_data || p_g) over training"):
    """Several runs' tracker records side by side, a colour and line style each: left, the JSD;
    right, the modes recovered, as steps centred on the records (dots), so that the first and last
    records show. Step lines at the same count would hide each other, so
    run k of K is drawn ``offset * (k - (K - 1) / 2)`` above its value (said in the axis label).
    ``runs``: name -> a ``metrics.DivergenceTracker``'s ``history`` (``step``, ``js``, ``modes``,
    ``of``). One legend, beside the panels, over no curve. Returns the two axes."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(13, 3.8), layout="constrained")
    n_modes = max(h.get("of", max(h["modes"], default=1)) for h in runs.values())
    for k, (name, h) in enumerate(runs.items()):
        style = dict(color=f"C{k}", ls=RUN_STYLES[k % len(RUN_STYLES)], lw=1.5)
        axes[0].plot(h["step"], h["js"], label=name, **style)
        shift = offset * (k - (len(runs) - 1) / 2)
        axes[1].step(h["step"], np.asarray(h["modes"], dtype=float) + shift, where="mid", marker="o", ms=3, **style)
    axes[0].axhline(np.log(2), color="gray", ls=":", lw=1, label="log 2 (JSD's maximum)")
    axes[0].set(xlabel="training round", ylabel="JSD estimate (nats)", title=title)
    ylabel = (f"modes recovered (of {n_modes})\ndots: the records, steps centred on them"
              + (f"\nlines offset by up to ±{offset * (len(runs) - 1) / 2:g}" if offset and len(runs) > 1 else ""))
    axes[1].set(xlabel="training round", ylabel=ylabel, title="Mode coverage", ylim=(-0.5, n_modes + 0.5))
    axes[0].figure.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    return axes


# ---------------------------------------------------------------------------- notebooks 01 and 02: the game on a 1D grid
__all__ += ["plot_optimal_discriminator_1d", "plot_generator_losses", "plot_generator_objectives",
            "plot_objective_slices"]


def plot_optimal_discriminator_1d(x, p_data, p_g, d_star, title: str = "", axes=None):
    """Left: p_data, p_g and D*(x) (twin axis). Right: the same densities on a log scale, with the
    points where p_data = p_g (D* = 1/2) marked: beyond them the other density's tail is larger, so
    D* goes to 0 (or 1) there even where both densities are too small to see on a linear scale."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 3.8), layout="constrained")
    x, p_data, p_g = (np.asarray(a, dtype=float) for a in (x, p_data, p_g))
    plot_density_1d(x, p_data, p_g, d_star, ax=axes[0], title=title, d_label="D*(x)")
    legend_above(axes[0])
    axes[1].semilogy(x, p_data, color="black", ls="--", label="p_data")
    axes[1].semilogy(x, p_g, color="tab:green", label="p_g")
    positive = np.concatenate([p_data[p_data > 0], p_g[p_g > 0]])
    axes[1].set_ylim(max(positive.min(), positive.max() * 1e-15) if len(positive) else 1e-15, None)
    for i, k in enumerate(np.nonzero(np.diff(np.sign(p_data - p_g)))[0]):
        for ax in axes:
            ax.axvline(x[k], color="tab:blue", ls=":", lw=1.2, label="p_data = p_g: D* = 1/2" if i == 0 else None)
    axes[1].set(xlabel="x", ylabel="density (log scale)", title="The same densities on a log scale",
                xlim=(x[0], x[-1]))
    axes[1].legend(fontsize=8)
    legend_above(axes[1])
    return axes


def plot_generator_losses(d, grad, axes=None):
    """G's two losses per sample against D(G(z)) = ``d`` (saturating log(1 - D), non-saturating -log D),
    and their gradients ``grad[kind]`` with respect to D's logit; shaded: D(G(z)) < 0.1, D rejects the fakes."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
    d = torch.as_tensor(d, dtype=torch.float64).detach()
    dn = d.numpy()
    axes[0].plot(dn, torch.log1p(-d).numpy(), label="saturating: log(1 - D(G(z)))")
    axes[0].plot(dn, -torch.log(d).numpy(), label="non-saturating: -log D(G(z))")
    axes[0].set(xlabel="D(G(z))", ylabel="generator loss (per sample)", title="The two generator losses (G minimises both)")
    axes[1].plot(dn, np.asarray(grad["saturating"]), label="saturating: -D(G(z))")
    axes[1].plot(dn, np.asarray(grad["non_saturating"]), label="non-saturating: -(1 - D(G(z)))")
    axes[1].set(xlabel="D(G(z))", ylabel="d loss / d logit", title="Their gradients with respect to D's logit")
    for ax in axes:
        ax.axvspan(0, 0.1, color="tab:red", alpha=0.1, label="D(G(z)) < 0.1: D rejects the fakes")
        ax.legend(fontsize=8)
        legend_above(ax, ncol=2)
    return axes


def plot_generator_objectives(mus, stds, surface: dict, data=(4.0, 0.5), axes=None):
    """G's objective against D* for every p_g = N(mu, s²) of a grid (``surface[kind]``: rows s, columns mu),
    the saturating one on a linear colour scale, the non-saturating one on a log10 scale; the grid's
    argmin (star) and p_data (cross) marked; one legend below both panels."""
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
    titles = {"saturating": ("saturating: E_pg log(1 - D*) = KL(p_g || m) - log 2", "objective"),
              "non_saturating": ("non-saturating: E_pg[-log D*], log colour scale", "log10 objective")}
    for ax, kind in zip(axes, ("saturating", "non_saturating")):
        values = np.asarray(surface[kind], dtype=float)
        cs = ax.contourf(mus, stds, values if kind == "saturating" else np.log10(values), levels=30, cmap="viridis")
        ax.figure.colorbar(cs, ax=ax, label=titles[kind][1])
        i, j = np.unravel_index(np.argmin(values), values.shape)
        ax.plot(mus[j], stds[i], "r*", ms=22, mec="black", label="argmin on the grid")  # under the X: a red rim
        ax.plot(*data, marker="X", color="white", mec="black", ms=8, ls="none",
                label=f"p_data = N({data[0]:g}, {data[1]:g}²)")
        ax.set(xlabel="mean μ of p_g", ylabel="std s of p_g", title=titles[kind][0])
    handles, labels = axes[0].get_legend_handles_labels()
    axes[0].figure.legend(handles, labels, loc="lower center", ncol=2, fontsize=9, bbox_to_anchor=(0.5, -0.08))
    return axes


def plot_objective_slices(mus, stds, surface: dict, at, slopes: dict, axes=None, at_name: str = "the slices' point"):
    """Two slices of ``surface`` (as in ``plot_generator_objectives``) through the grid point ``at`` =
    (row, column): along mu (top left, log y axis: its 0 at the minimum lies off the axis) and along s
    (top right), each shifted to 0 at its minimum; black dotted lines mark ``at`` (``at_name`` in the
    legend). The saturating objective KL(p_g || m) - log 2 never rises more than log 2 above its minimum
    -log 2 (dotted line, top left). Bottom: ``slopes[kind]`` = (slopes along mu, slopes along s), the
    slope with D frozen at D* (``losses.frozen_d_slope``): what a gradient step of G follows, not the
    slope of the curve above (whose D* moves with p_g)."""
    if axes is None:
        _, axes = plt.subplots(2, 2, figsize=(12, 7), sharex="col", layout="constrained")
    i0, j0 = at
    for col, (grid, name, take) in enumerate([(mus, "mean μ of p_g", lambda v: v[i0, :]),
                                              (stds, "std s of p_g", lambda v: v[:, j0])]):
        for kind in ("saturating", "non_saturating"):
            curve = take(np.asarray(surface[kind], dtype=float))
            axes[0, col].plot(grid, curve - curve.min(), label=kind.replace("_", "-"))
            axes[1, col].plot(grid, slopes[kind][col], label=kind.replace("_", "-"))
        fixed = f"s = {stds[i0]:g}" if col == 0 else f"μ = {mus[j0]:g}"
        axes[0, col].set(ylabel="objective - its minimum", title=f"G's objective against D*, along {name} ({fixed})")
        axes[1, col].set(xlabel=f"{name} ({fixed})", ylabel="slope, D frozen at D*",
                         title="what a gradient step of G follows: the slope with D frozen")
        axes[1, col].axhline(0, color="gray", lw=0.8)
        for row, ax in enumerate(axes[:, col]):  # ``at``'s μ (left) and s (right): one legend entry
            ax.axvline(grid[j0] if col == 0 else grid[i0], color="black", ls=":", lw=1,
                       label=f"{at_name}'s μ (left) and s (right)" if (row, col) == (0, 0) else None)
    axes[0, 0].axhline(np.log(2), color="tab:blue", ls=":", lw=1, label="log 2: the most the saturating one rises")
    axes[0, 0].set_yscale("log")
    axes[0, 0].set_ylim(1e-3, None)
    axes[0, 0].set_ylabel("objective - its minimum (log scale)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    axes[0, 0].figure.legend(handles, labels, loc="lower center", ncol=4, fontsize=9, bbox_to_anchor=(0.5, -0.05))
    return axes


# ---------------------------------------------------------------------------- notebook 03: runs of one 1D GAN side by side
__all__ += ["plot_runs_1d"]

RUN_PANELS = (("loss_d", "D's loss", "D's loss, BCE(D(x), 1) + BCE(D(G(z)), 0)"),
              ("d_fake", "mean D(G(z))", "How much D believes the fakes"),
              ("grad_g", "norm of G's gradient (log scale)", "The gradient that reaches G"),
              ("g_mean", "mean of G(z)", "Where the samples are"))


def _run_samples(ax, runs: dict, data, bins: int):
    """Each run's final ``samples`` as a histogram over ``data``'s density (a wide enough x range)."""
    samples = {name: torch.as_tensor(run["samples"]).detach().float().cpu().numpy().ravel() for name, run in runs.items()}
    lo = min(min(s.min() for s in samples.values()), data.mean - 4 * data.std) - 0.5
    hi = max(max(s.max() for s in samples.values()), data.mean + 4 * data.std) + 0.5
    x = np.linspace(lo, hi, 400)
    ax.plot(x, data.density(x), color="black", ls="--", lw=1.2, label="data: p_data, its mean")
    for i, s in enumerate(samples.values()):
        ax.hist(s, bins=bins, range=(lo, hi), density=True, histtype="stepfilled", alpha=0.4, color=f"C{i}",
                edgecolor=f"C{i}")
    rounds = len(next(iter(runs.values()))["loss_d"])
    ax.set(xlabel="x", ylabel="density", xlim=(lo, hi), title=f"G's samples after {rounds} rounds, over p_data")


def plot_runs_1d(runs: dict, data, title: str = "", bins: int = 80):
    """Runs of one 1D GAN side by side, a colour each: D's loss, the mean D(G(z)), the norm of G's
    gradient (log scale), the mean of G(z) against the data's, and the final samples over p_data.

    ``runs``: name -> per-round lists ``loss_d``, ``d_fake``, ``grad_g``, ``g_mean`` and the final
    ``samples`` (n, 1); ``data``: the sampler (``mean``, ``std``, ``density``). One legend, above
    the panels, so that it covers no curve. Returns the five axes."""
    fig = plt.figure(figsize=(15, 7.4))
    grid = fig.add_gridspec(2, 3)
    axes = [fig.add_subplot(grid[0, i]) for i in range(3)] + [fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1:])]
    for ax, (key, ylabel, panel_title) in zip(axes, RUN_PANELS):
        for i, (name, run) in enumerate(runs.items()):
            ax.plot(run[key], color=f"C{i}", lw=1, label=name)
        ax.set(xlabel="training round", ylabel=ylabel, title=panel_title)
    axes[1].axhline(0.5, color="gray", ls=":", lw=1, label="D = 1/2")
    axes[1].set_ylim(-0.02, 1.02)
    axes[2].set_yscale("log")
    axes[3].axhline(data.mean, color="black", ls="--", lw=1.2)
    _run_samples(axes[4], runs, data, bins)
    handles, labels = axes[1].get_legend_handles_labels()
    handles, labels = handles + axes[4].get_lines()[:1], labels + [axes[4].get_lines()[0].get_label()]
    fig.suptitle(title)
    fig.legend(handles, labels, loc="upper center", ncol=len(handles), frameon=False, bbox_to_anchor=(0.5, 0.955))
    fig.tight_layout(rect=(0, 0, 1, 0.925))
    return axes


def plot_label_histogram(real_hist: dict, fake_hist: dict, ax=None):
    """Mode coverage of digits: the share of each label (0-9, by the digit classifier) among real
    and generated images, beside the uniform 1/10; ``*_hist`` from ``metrics.digit_label_histogram``."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.2))
    digits = np.arange(10)
    ax.bar(digits - 0.2, real_hist["fractions"], width=0.4, label="real test digits", color="gray")
    ax.bar(digits + 0.2, fake_hist["fractions"], width=0.4, label="generated", color="tab:green")
    ax.axhline(0.1, color="black", ls=":", label="uniform 1/10")
    ax.set(xticks=digits, xlabel="digit (the classifier's label)", ylabel="fraction of images",
           title=f"Mode coverage: {fake_hist['modes']}/10 digits drawn, "
                 f"KL(labels || uniform) = {fake_hist['kl_uniform']:.3f}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the bars, over none
    return ax


def show_sweep(images: torch.Tensor, titles, nrow: int = 8):
    """One image grid per GAN of a sweep: ``images`` (N, n, c, h, w), one title each."""
    n = len(images)
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 1.2 + 1.0 * rows * len(images[0]) / nrow),
                             squeeze=False, layout="constrained")
    for ax, batch, title in zip(axes.flat, images, titles):
        show_images(batch, nrow=nrow, ax=ax, title=title)
        ax.title.set_fontsize(9)
    for ax in list(axes.flat)[n:]:
        ax.set_axis_off()
    return fig

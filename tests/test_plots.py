"""gan_edu.plots: every figure of the notebooks, checked for what it draws and that it is labelled."""
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn

import gan_edu as ge
from gan_edu import data, metrics, nets, plots
from gan_edu.train import GAN
from support import make_gan


# ---------------------------------------------------------------------------- images, training curves, samples
def test_image_grid_tiles_and_scales():
    imgs = torch.stack([torch.full((1, 2, 2), v) for v in (-1.0, 0.0, 1.0)])
    g = plots.image_grid(imgs, nrow=2, pad=1)
    assert g.shape == (7, 7)
    assert g[1, 1] == 0.0 and g[1, 4] == 0.5 and g[4, 1] == 1.0
    assert g[0, 0] == 1.0  # padding is white


def test_history_density_and_sample_figures_are_labelled():
    hist = dict(step=[1, 2], loss_d=[1.3, 1.2], loss_g=[0.7, 0.8], d_real=[0.6, 0.55], d_fake=[0.4, 0.45],
                events=[(1, "lr_d", 0.01)])
    ax = plots.plot_history(hist)
    assert ax[0].get_xlabel() and ax[0].get_ylabel() and ax[1].get_title()
    x = np.linspace(-1, 1, 5)
    ax = plots.plot_density_1d(x, np.ones(5), np.ones(5), d=np.full(5, 0.5), title="t")
    assert ax.get_xlabel() == "x" and ax.get_legend() is not None
    ax = plots.plot_samples_2d(torch.zeros(3, 2), torch.ones(3, 2), title="s")
    assert ax.get_xlabel() and ax.get_legend() is not None
    plt.close("all")


# ---------------------------------------------------------------------------- 1D figures (notebook 03)
def test_plot_gan_1d_draws_density_histogram_and_discriminator():
    x = np.linspace(-1, 7, 50)
    p_data = np.exp(-0.5 * ((x - 4) / 0.5) ** 2)
    ax = plots.plot_gan_1d(x, p_data, torch.randn(300, 1) + 4, torch.full((50,), 0.5), title="t")
    assert ax.get_title() == "t" and ax.get_xlabel() == "x"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["p_data", "p_g (G's samples)", "D(x)", "D = 1/2"]
    twin = [a for a in ax.figure.axes if a is not ax][0]
    assert twin.get_ylim() == (-0.05, 1.05) and np.allclose(twin.lines[0].get_ydata(), 0.5)
    plt.close("all")


def test_plot_gan_1d_without_samples_or_legend():
    x = np.linspace(0, 1, 5)
    ax = plots.plot_gan_1d(x, np.ones(5), legend=False)
    assert ax.get_legend() is None and len(ax.figure.axes) == 1
    plt.close("all")


def test_plot_value_function_is_minus_the_d_loss_with_the_equilibrium_line():
    history = {"step": list(range(1, 101)), "loss_d": [1.0 + 0.01 * i for i in range(100)]}
    ax = plots.plot_value_function(history, smooth=10)
    raw, avg, line = ax.lines
    assert np.allclose(raw.get_ydata(), -np.asarray(history["loss_d"]))
    assert len(avg.get_ydata()) == 91 and np.isclose(avg.get_ydata()[0], -np.mean(history["loss_d"][:10]))
    assert np.allclose(line.get_ydata(), -math.log(4))
    plt.close("all")


# ---------------------------------------------------------------------------- G's manifold, and D* beside the learned D
class Linear(nn.Module):
    def __init__(self, noise_dim=2, weight=None):
        super().__init__()
        self.noise_dim = noise_dim
        self.lin = nn.Linear(noise_dim, 2)
        with torch.no_grad():
            self.lin.weight.copy_(torch.eye(2, noise_dim) if weight is None else weight)
            self.lin.bias.zero_()

    def forward(self, z):
        return self.lin(z)


def line_data(ax):
    return [np.column_stack(line.get_data()) for line in ax.get_lines()]


def test_noise_grid_varies_the_first_two_coordinates_and_checks_its_arguments():
    z = plots.noise_grid(4, n=3, lim=1.0)
    assert z.shape == (9, 4) and (z[:, 2:] == 0).all()
    assert z[1].tolist() == [0.0, -1.0, 0.0, 0.0] and z[3].tolist() == [-1.0, 0.0, 0.0, 0.0]
    assert plots.noise_grid(1, n=5).shape == (5, 1)
    for bad in (dict(noise_dim=0), dict(noise_dim=2, n=1), dict(noise_dim=2, lim=-1)):
        with pytest.raises(ValueError):
            plots.noise_grid(**bad)


def test_identity_generator_draws_the_grid_itself():
    gan = GAN(Linear(), nets.MLPDiscriminator(2, hidden=8), device="cpu")
    ax = plots.plot_manifold(gan, n=5, lim=2.0)
    lines = line_data(ax)
    assert len(lines) == 10  # 5 rows + 5 columns
    u = np.linspace(-2, 2, 5)
    rows, cols = lines[0::2], lines[1::2]
    for i in range(5):
        np.testing.assert_allclose(rows[i], np.column_stack([u, np.full(5, u[i])]), atol=1e-6)
        np.testing.assert_allclose(cols[i], np.column_stack([np.full(5, u[i]), u]), atol=1e-6)
    assert ax.get_title() and ax.get_xlabel() and ax.get_legend() is not None
    plt.close("all")


def test_manifold_is_warped_by_g():
    shear = torch.tensor([[1.0, 0.5, 0.0], [0.0, 2.0, 0.0]])
    gan = GAN(Linear(3, shear), nets.MLPDiscriminator(2, hidden=8), device="cpu", noise="uniform")
    ax = plots.plot_manifold(gan, n=4)  # uniform noise: lim 1
    z = plots.noise_grid(3, 4, 1.0).reshape(4, 4, 3)
    np.testing.assert_allclose(line_data(ax)[0], (z[0] @ shear.T).numpy(), atol=1e-6)
    plt.close("all")


def test_manifold_with_1d_noise_and_real_nets():
    gan = GAN(Linear(1, torch.tensor([[1.0], [1.0]])), nets.MLPDiscriminator(2, hidden=8), device="cpu")
    assert len(line_data(plots.plot_manifold(gan, n=7))) == 1
    ge.seed_everything(0)
    gan = GAN(nets.MLPGenerator(4, 2, hidden=8), nets.MLPDiscriminator(2, hidden=8), device="cpu")
    assert len(line_data(plots.plot_manifold(gan, n=6))) == 12
    gan = GAN(nets.MLPGenerator(2, 1, hidden=8), nets.MLPDiscriminator(1, hidden=8), device="cpu")
    with pytest.raises(ValueError, match="2D data"):
        plots.plot_manifold(gan)
    plt.close("all")


def test_optimal_vs_learned_d_figure_shows_both_grids():
    real, fake = torch.randn(500, 2) * 0.2 - 1, torch.randn(500, 2) * 0.2 + 1
    d_star = metrics.optimal_discriminator_on_grid(real, fake, 3, bins=32)
    learned = torch.full((32 * 32,), 0.5)
    axes = plots.plot_optimal_vs_learned_d(d_star, learned, 3, real=real, fake=fake)
    assert len(axes) == 2
    for ax, grid in zip(axes, (d_star, learned.reshape(32, 32).numpy())):
        (im,) = ax.get_images()
        np.testing.assert_array_equal(im.get_array(), grid)
        assert im.get_extent() == [-3, 3, -3, 3] and im.get_clim() == (0, 1)
        assert ax.get_title() and ax.get_xlabel() and ax.get_legend() is not None
    assert "D^*" in axes[0].get_title() and axes[0].figure.get_suptitle()
    with pytest.raises(ValueError, match="square"):
        plots.plot_optimal_vs_learned_d(np.zeros((4, 5)), np.zeros(20), 3)
    plt.close("all")


# ---------------------------------------------------------------------------- D heatmap, snapshots, divergence curves (notebook 07)
class ConstD(nn.Module):
    """logit(x) = x_1: D(x) = sigmoid(x_1), known at every grid point."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))  # an optimizer needs a parameter

    def forward(self, x):
        return x[:, :1]


def test_d_heatmap_shows_d_on_the_grid():
    gan = ge.GAN(nets.MLPGenerator(2, 2, hidden=8), ConstD(), device="cpu")
    ax = plots.plot_d_heatmap(gan, 2, bins=8, real=torch.zeros(5, 2), fake=torch.ones(5, 2))
    img = ax.get_images()[0].get_array()
    c, _ = metrics.grid_axis(2, 8)
    np.testing.assert_allclose(img, np.tile(1 / (1 + np.exp(-c)), (8, 1)), rtol=1e-5)  # varies along x1 only
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["real", "generated"]
    plt.close("all")


def test_gan_snapshot_two_panels_with_fixed_noise():
    gan = make_gan()
    z = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    state = gan.rng.get_state()
    axes = plots.plot_gan_snapshot(gan, data.ring()(100), 3, z=z, mesh=5, bins=16, title="round 0")
    assert torch.equal(gan.rng.get_state(), state)  # fixed z: the GAN's noise generator untouched
    green = axes[0].collections[1].get_offsets()
    np.testing.assert_allclose(green, gan.sample(z=z).numpy(), atol=1e-6)
    assert len(axes[1].get_lines()) == 10  # the 5 x 5 mesh
    assert axes[0].get_title().startswith("round 0") and axes[1].get_xlim() == (-3, 3)
    for ax in axes:  # legends above the panels, over no sample
        assert _above(ax.get_legend(), ax)
    plt.close("all")


def test_gan_snapshot_widens_its_box_to_hold_every_sample():
    gan = GAN(Linear(2, torch.tensor([[3.0, 0.0], [0.0, 1.0]])), nets.MLPDiscriminator(2, hidden=8), device="cpu")
    z = torch.tensor([[1.2, 0.0], [0.0, -0.5]])  # G(z) = (3 z_1, z_2): (3.6, 0) lies outside [-3, 3]
    axes = plots.plot_gan_snapshot(gan, data.ring()(100), 3, z=z, mesh=5, bins=16)
    lo, hi = -6.5, 6.5  # the 5 x 5 mesh over [-2, 2]^2 reaches x_1 = 6: widened by 0.5 steps to hold it
    assert axes[1].get_xlim() == (lo, hi) and axes[1].get_ylim() == (lo, hi)
    assert axes[0].get_images()[0].get_extent() == [lo, hi, lo, hi] and axes[0].get_xlim() == (lo, hi)
    assert plots.plot_gan_snapshot(gan, data.ring()(100), 7, z=z, mesh=5, bins=16)[1].get_xlim() == (-7, 7)
    plt.close("all")


def _assert_steps_show_every_record(line, steps, values):
    """A mode-count step line: a dot at each record, and each value drawn flat over a stretch of
    rounds that holds its record (the first and last ones too: no zero-width step)."""
    assert line.get_marker() == "o" and line.get_drawstyle() == "steps-mid"
    x, y = line.get_xydata().T
    np.testing.assert_allclose(x, steps)
    np.testing.assert_allclose(y, values)  # a dot at each record's value
    path = line._get_transformed_path().get_fully_transformed_path().vertices  # in display units
    xy = line.axes.transData.inverted().transform(path)
    for k, (s, v) in enumerate(zip(steps, y)):
        flat = [(xy[i, 0], xy[i + 1, 0]) for i in range(len(xy) - 1)
                if np.isclose(xy[i, 1], v) and np.isclose(xy[i + 1, 1], v)]
        assert any(a - 1e-9 <= s <= b + 1e-9 and b - a > 0.4 * (steps[1] - steps[0]) for a, b in flat), k


def test_divergence_curves_plot_the_records():
    track = dict(step=[0, 10, 20], kl=[5.0, 2.0, 1.0], reverse_kl=[4.0, 1.0, 0.5], js=[0.6, 0.3, 0.1],
                 modes=[0, 4, 8], of=8, high_quality=[0.0, 0.5, 0.9])
    axes = plots.plot_divergence_curves(track)
    lines = {line.get_label(): line.get_ydata() for line in axes[0].get_lines()}
    assert list(lines[next(k for k in lines if k.startswith("KL(p_data"))]) == [5.0, 2.0, 1.0]
    assert axes[0].get_yscale() == "log" and axes[1].get_ylim()[1] == pytest.approx(8.3)
    assert any("high-quality" in t.get_text() for t in axes[1].get_legend().get_texts())
    assert all(_above(ax.get_legend(), ax) for ax in axes)  # over no curve
    _assert_steps_show_every_record(axes[1].get_lines()[0], [0, 10, 20], [0, 4, 8])
    assert "dots" in axes[1].get_ylabel()
    plots.plot_divergence_curves({k: track[k] for k in ("step", "kl", "reverse_kl", "js")})  # no modes: fine
    plt.close("all")


def test_parameter_paths_draw_each_path_and_the_equilibrium():
    ax = plots.plot_parameter_paths({"a": [[1, 0], [0, 1], [-1, 0]], "b": np.zeros((3, 2))})
    assert np.array_equal(ax.get_lines()[0].get_xydata(), [[1, 0], [0, 1], [-1, 0]])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "equilibrium"]
    plt.close("all")


def test_value_gap_plots_both_values():
    track = dict(step=[0, 1], v=[-2.0, -1.5], v_star=[-1.0, -1.2])
    ax = plots.plot_value_gap(track)
    lines = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
    assert lines["V(D, G), learned D, on the grid"] == [-2.0, -1.5]
    assert lines["V(D*, G) = -log 4 + 2 JSD, on the grid"] == [-1.0, -1.2]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    plt.close("all")
    ax = plots.plot_value_gap(dict(track, v_samples=[-1.3, -1.1]))
    lines = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
    assert lines["V(D, G), learned D, on the samples (no smoothing)"] == [-1.3, -1.1]
    plt.close("all")


def test_run_curves_keep_equal_step_lines_apart():
    track = dict(step=[0, 10, 20], js=[0.6, 0.3, 0.1], modes=[0, 2, 2], of=8)
    runs = {"a": track, "b": dict(track, js=[0.6, 0.5, 0.4]), "c": track}
    axes = plots.plot_run_curves(runs)
    steps = [line.get_ydata() for line in axes[1].get_lines()]
    np.testing.assert_allclose(steps[0], [-0.1, 1.9, 1.9])  # same counts, offset by 0.1 each
    np.testing.assert_allclose(steps[2], [0.1, 2.1, 2.1])
    assert len({line.get_linestyle() for line in axes[1].get_lines()}) == 3 and "offset" in axes[1].get_ylabel()
    _assert_steps_show_every_record(axes[1].get_lines()[1], [0, 10, 20], [0, 2, 2])
    assert "dots" in axes[1].get_ylabel()
    assert list(axes[0].get_lines()[1].get_ydata()) == [0.6, 0.5, 0.4]
    (legend,) = axes[0].figure.legends
    assert [t.get_text() for t in legend.get_texts()][:3] == ["a", "b", "c"]
    fig = axes[0].figure
    fig.canvas.draw()
    assert all(legend.get_window_extent().x0 >= ax.get_window_extent().x1 for ax in axes)  # beside the panels
    plt.close("all")


# ---------------------------------------------------------------------------- notebooks 01 and 02: the game on a 1D grid
def _above(legend, ax):
    """The legend lies wholly above the axes' data area (it covers no curve)."""
    ax.figure.canvas.draw()
    return legend.get_window_extent().y0 >= ax.get_window_extent().y1 - 1


def _grid_densities():
    x = np.linspace(-1, 9, 401)
    return x, data.Gaussian1D(4.0, 0.5).density(x), data.Gaussian1D(2.5, 1.0).density(x)


def test_optimal_discriminator_figure_shows_the_tails_on_a_log_scale():
    x, p_data, p_g = _grid_densities()
    d_star = ge.losses.optimal_discriminator(p_data, p_g)
    axes = plots.plot_optimal_discriminator_1d(x, p_data, p_g, d_star, title="D*")
    assert axes[1].get_yscale() == "log" and axes[1].get_ylabel() and axes[0].get_title() == "D*"
    crossings = [line.get_xdata()[0] for line in axes[1].get_lines() if line.get_linestyle() == ":"]
    assert len(crossings) == 2 and abs(crossings[0] - 3.29) < 0.05 and abs(crossings[1] - 5.71) < 0.05
    assert all(_above(ax.get_legend(), ax) for ax in axes)
    plt.close("all")


def test_generator_losses_figure_draws_both_losses_and_gradients():
    d = torch.linspace(0.01, 0.99, 99, dtype=torch.float64)
    axes = plots.plot_generator_losses(d, {"saturating": -d, "non_saturating": -(1 - d)})
    sat, ns = axes[0].get_lines()[:2]
    assert np.allclose(sat.get_ydata(), np.log1p(-d.numpy())) and np.allclose(ns.get_ydata(), -np.log(d.numpy()))
    assert np.allclose(axes[1].get_lines()[0].get_ydata(), -d.numpy())
    assert all(_above(ax.get_legend(), ax) and ax.get_xlabel() and ax.get_ylabel() for ax in axes)
    plt.close("all")


def _surface():
    x = np.linspace(-12, 20, 1601)
    p_data = data.Gaussian1D(4.0, 0.5).density(x)
    mus, stds = np.round(np.arange(2.0, 6.01, 0.5), 6), np.round(np.arange(0.25, 1.01, 0.25), 6)
    surface = {kind: np.array([[ge.losses.optimal_generator_objective(p_data, data.Gaussian1D(m, s).density(x),
                                                                     x[1] - x[0], kind) for m in mus] for s in stds])
               for kind in ("saturating", "non_saturating")}
    return mus, stds, surface


def test_generator_objectives_colourbars_do_not_cover_the_next_panel():
    mus, stds, surface = _surface()
    axes = plots.plot_generator_objectives(mus, stds, surface)
    fig = axes[0].figure
    fig.canvas.draw()
    colourbars = [ax for ax in fig.axes if ax not in axes]
    assert [cb.get_ylabel() for cb in colourbars] == ["objective", "log10 objective"]
    renderer = fig.canvas.get_renderer()
    left_label = colourbars[0].yaxis.label.get_window_extent(renderer)
    right_label = axes[1].yaxis.label.get_window_extent(renderer)
    assert left_label.x1 < right_label.x0  # the figure: the two labels sat on each other
    star = [line for line in axes[0].get_lines() if line.get_marker() == "*"][0]
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (4.0, 0.5)
    assert len(fig.legends) == 1 and axes[0].get_legend() is None
    plt.close("all")


def test_objective_slices_use_a_log_axis_not_symlog():
    mus, stds, surface = _surface()
    at = np.unravel_index(np.argmin(surface["saturating"]), surface["saturating"].shape)
    slopes = {kind: (np.linspace(-1, 1, len(mus)), np.linspace(-2, 2, len(stds))) for kind in surface}
    axes = plots.plot_objective_slices(mus, stds, surface, at, slopes)
    assert axes[0, 0].get_yscale() == "log" and axes[0, 1].get_yscale() == "linear"
    assert np.array_equal(axes[1, 1].get_lines()[0].get_ydata(), slopes["saturating"][1])  # the slopes given, drawn
    sat = axes[0, 0].get_lines()[0].get_ydata()
    assert sat.min() == 0 and sat.max() <= math.log(2)  # KL(p_g || m) - log 2 rises at most log 2
    assert all(ax.get_title() and ax.get_ylabel() for ax in axes.flat) and len(axes[0, 0].figure.legends) == 1
    plt.close("all")


def test_label_histogram_and_sweep_figures():
    import matplotlib.pyplot as plt
    import torch

    from gan_edu import plots

    hist = {"fractions": [0.1] * 10, "modes": 10, "kl_uniform": 0.0}
    ax = plots.plot_label_histogram(hist, dict(hist, modes=9, kl_uniform=0.05))
    assert "9/10 digits" in ax.get_title() and ax.get_legend() is not None
    plt.close(ax.figure)
    fig = plots.show_sweep(torch.zeros(5, 8, 1, 8, 8), [f"lr {i}" for i in range(5)])
    assert [a.get_title() for a in fig.axes[:5]] == [f"lr {i}" for i in range(5)] and not fig.axes[5].axison
    plt.close(fig)


# ---------------------------------------------------------------------------- notebook 03: runs side by side
def test_plot_runs_1d_draws_every_run_in_five_labelled_panels_with_one_legend_outside():
    rounds = 20
    runs = {name: dict(loss_d=np.linspace(1.3, 0.1, rounds).tolist(), d_fake=[0.4] * rounds,
                       grad_g=np.geomspace(1, 1e-3, rounds).tolist(), g_mean=np.linspace(0, k, rounds).tolist(),
                       samples=torch.randn(100, 1) + k)
            for k, name in enumerate(["right", "wrong", "saturating"])}
    axes = plots.plot_runs_1d(runs, data.Gaussian1D(), title="three runs")
    fig = axes[0].figure
    assert len(axes) == 5 and all(ax.get_xlabel() and ax.get_ylabel() and ax.get_title() for ax in axes)
    assert all(len(ax.get_lines()) >= 3 for ax in axes[:4])          # one curve per run
    assert len(axes[4].patches) > 0 and axes[2].get_yscale() == "log"
    assert not any(ax.get_legend() for ax in axes) and len(fig.legends) == 1  # one legend, in the figure
    legend_box = fig.legends[0].get_window_extent(fig.canvas.get_renderer())
    assert all(legend_box.y0 >= ax.get_window_extent().y1 - 1 for ax in axes)  # above every panel
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:3] == list(runs) and "D = 1/2" in labels
    plt.close(fig)

"""Helpers of notebook 07: D heatmap, GAN snapshot, divergence curves, parameter paths, and
the DivergenceTracker callback."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import gan_edu as ge  # noqa: E402
from gan_edu import data, metrics, nets, plots  # noqa: E402


class ConstD(nn.Module):
    """logit(x) = x_1: D(x) = sigmoid(x_1), known at every grid point."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))  # an optimizer needs a parameter

    def forward(self, x):
        return x[:, :1]


def small_gan(**kw):
    ge.seed_everything(0)
    return ge.GAN(nets.MLPGenerator(2, 2, hidden=16, depth=2), nets.MLPDiscriminator(2, hidden=16, depth=2),
                  lr_d=1e-3, lr_g=1e-3, device="cpu", **kw)


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
    gan = small_gan()
    z = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    state = gan.rng.get_state()
    axes = plots.plot_gan_snapshot(gan, data.ring()(100), 3, z=z, mesh=5, bins=16, title="round 0")
    assert torch.equal(gan.rng.get_state(), state)  # fixed z: the GAN's noise generator untouched
    green = axes[0].collections[1].get_offsets()
    np.testing.assert_allclose(green, gan.sample(z=z).numpy(), atol=1e-6)
    assert len(axes[1].get_lines()) == 10  # the 5 x 5 mesh
    assert axes[0].get_title().startswith("round 0") and axes[1].get_xlim() == (-3, 3)
    plt.close("all")


def test_divergence_curves_plot_the_records():
    track = dict(step=[0, 10, 20], kl=[5.0, 2.0, 1.0], reverse_kl=[4.0, 1.0, 0.5], js=[0.6, 0.3, 0.1],
                 modes=[0, 4, 8], of=8, high_quality=[0.0, 0.5, 0.9])
    axes = plots.plot_divergence_curves(track)
    lines = {line.get_label(): line.get_ydata() for line in axes[0].get_lines()}
    assert list(lines[next(k for k in lines if k.startswith("KL(p_data"))]) == [5.0, 2.0, 1.0]
    assert axes[0].get_yscale() == "log" and axes[1].get_ylim()[1] == pytest.approx(8.3)
    assert any("high-quality" in t.get_text() for t in axes[1].get_legend().get_texts())
    plots.plot_divergence_curves({k: track[k] for k in ("step", "kl", "reverse_kl", "js")})  # no modes: fine
    plt.close("all")


def test_parameter_paths():
    ax = plots.plot_parameter_paths({"a": [[1, 0], [0, 1], [-1, 0]], "b": np.zeros((3, 2))})
    assert np.array_equal(ax.get_lines()[0].get_xydata(), [[1, 0], [0, 1], [-1, 0]])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "equilibrium"]
    plt.close("all")


def test_tracker_records_every_k_rounds_without_changing_training():
    ring = data.ring()
    real = data.ring(seed=1)(500)
    tracked, plain = small_gan(), small_gan()
    tracker = metrics.DivergenceTracker(real, 3, every=5, n=300, bins=32, modes=ring.modes, std=ring.std,
                                        with_d=True)
    tracker(tracked)  # round 0
    tracked.fit(data.ring(), 12, 32, callbacks=tracker, progress=False)
    plain.fit(data.ring(), 12, 32, progress=False)
    assert tracked.history["loss_d"] == plain.history["loss_d"]  # the tracker draws no GAN noise
    h = tracker.history
    assert h["step"] == [0, 5, 10] and h["of"] == 8
    for key in ("kl", "reverse_kl", "js", "v_star", "v", "modes", "high_quality"):
        assert len(h[key]) == 3
    fake = tracked.sample(z=tracker.noise(tracked))
    expected = metrics.divergences_on_grid(real, fake, 3, 32)
    tracker(tracked)  # step 12: not a multiple of 5, nothing recorded
    assert len(h["step"]) == 3
    assert all(v <= vs + 1e-9 for v, vs in zip(h["v"], h["v_star"]))  # V(D, G) <= V(D*, G)
    assert expected["js"] <= np.log(2)


def test_tracker_noise_follows_the_prior_and_bad_arguments():
    gan = small_gan(noise="uniform")
    z = metrics.DivergenceTracker(torch.zeros(4, 2), 3, n=1000).noise(gan)
    assert z.shape == (1000, 2) and z.min() >= -1 and z.max() <= 1
    for bad in (dict(every=0), dict(n=0), dict(modes=torch.zeros(2, 2)), dict(lim=-1)):
        with pytest.raises(ValueError):
            metrics.DivergenceTracker(torch.zeros(4, 2), **{"lim": 3, **bad})
    with pytest.raises(ValueError):
        metrics.DivergenceTracker(torch.zeros(4, 3), 3)


def test_value_gap_plots_both_values():
    track = dict(step=[0, 1], v=[-2.0, -1.5], v_star=[-1.0, -1.2])
    ax = plots.plot_value_gap(track)
    lines = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
    assert lines["V(D, G), learned D"] == [-2.0, -1.5] and lines["V(D*, G) = -log 4 + 2 JSD"] == [-1.0, -1.2]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    plt.close("all")

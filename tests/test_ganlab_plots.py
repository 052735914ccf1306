"""The manifold view and the optimal-vs-learned discriminator figure (issue 7)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import gan_edu as ge  # noqa: E402
from gan_edu import metrics, nets, plots  # noqa: E402
from gan_edu.train import GAN  # noqa: E402


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


def test_noise_grid():
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


def test_optimal_vs_learned_d_figure():
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
    assert "D^*" in axes[0].get_title() and axes[0].figure._suptitle.get_text()
    with pytest.raises(ValueError, match="square"):
        plots.plot_optimal_vs_learned_d(np.zeros((4, 5)), np.zeros(20), 3)
    plt.close("all")

"""The 1D figures of notebook 03: Goodfellow et al.'s Figure 1 panel and V(D,G) over training."""
import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from gan_edu import plots


def test_plot_gan_1d_draws_density_histogram_and_discriminator():
    x = np.linspace(-1, 7, 50)
    p_data = np.exp(-0.5 * ((x - 4) / 0.5) ** 2)
    ax = plots.plot_gan_1d(x, p_data, torch.randn(300, 1) + 4, torch.full((50,), 0.5), title="t")
    assert ax.get_title() == "t" and ax.get_xlabel() == "x"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["p_data", "p_g (G's samples)", "D(x)"]
    twin = [a for a in ax.figure.axes if a is not ax][0]
    assert twin.get_ylim() == (0, 1.05) and np.allclose(twin.lines[0].get_ydata(), 0.5)
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

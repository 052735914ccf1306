import matplotlib.pyplot as plt
import numpy as np
import torch

from gan_edu import plots


def test_image_grid_tiles_and_scales():
    imgs = torch.stack([torch.full((1, 2, 2), v) for v in (-1.0, 0.0, 1.0)])
    g = plots.image_grid(imgs, nrow=2, pad=1)
    assert g.shape == (7, 7)
    assert g[1, 1] == 0.0 and g[1, 4] == 0.5 and g[4, 1] == 1.0
    assert g[0, 0] == 1.0  # padding is white


def test_figures_are_labelled():
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

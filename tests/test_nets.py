import pytest
import torch

from gan_edu import nets


@pytest.mark.parametrize("noise_dim,data_dim", [(1, 1), (2, 2), (8, 2)])
def test_mlp_shapes(noise_dim, data_dim):
    g, d = nets.MLPGenerator(noise_dim, data_dim, hidden=16, depth=2), nets.MLPDiscriminator(data_dim, hidden=16)
    x = g(torch.randn(5, noise_dim))
    assert x.shape == (5, data_dim)
    assert d(x).shape == (5, 1)
    p = d.prob(x)
    assert ((p > 0) & (p < 1)).all()


@pytest.mark.parametrize("size", [8, 28])
def test_dcgan_shapes_and_range(size):
    g, d = nets.DCGANGenerator(noise_dim=16, image_size=size, width=8), nets.DCGANDiscriminator(image_size=size, width=8)
    x = g(torch.randn(3, 16))
    assert x.shape == (3, 1, size, size)
    assert x.abs().max() <= 1
    assert d(x).shape == (3, 1)


def test_dcgan_weight_init():
    torch.manual_seed(0)
    g = nets.DCGANGenerator(noise_dim=64, image_size=28, width=64)
    conv = g.net[0].weight
    assert abs(conv.std().item() - 0.02) < 0.002 and abs(conv.mean().item()) < 0.002
    bn = g.net[1]
    assert abs(bn.weight.mean().item() - 1) < 0.01 and bn.bias.abs().max() == 0


def test_bad_sizes_are_clear():
    with pytest.raises(ValueError, match="image_size"):
        nets.DCGANGenerator(image_size=30)
    with pytest.raises(ValueError, match="hidden"):
        nets.MLPGenerator(hidden=0)
    with pytest.raises(ValueError, match="data_dim"):
        nets.MLPDiscriminator(data_dim=2.5)

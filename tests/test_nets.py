"""gan_edu.nets: the MLP, DCGAN and mixture generators and discriminators."""
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


def test_mixture_generator_is_k_separate_mlps_picked_by_the_first_noise_coordinate():
    torch.manual_seed(0)
    G = nets.MLPMixtureGenerator(noise_dim=3, data_dim=2, hidden=5, depth=2, generators=4)
    z = torch.randn(4000, 3)
    k = G.choice(z)
    counts = torch.bincount(k, minlength=4).float() / len(z)
    assert torch.allclose(counts, torch.full((4,), 0.25), atol=0.03)  # each draws 1/K under N(0, I)
    x = G(z)
    assert x.shape == (4000, 2)
    for i in (0, 1, 2, 3):  # by hand: generator k(i)'s own MLP on z[1:]
        j = int(k[i])
        h = torch.relu(z[i, 1:] @ G.weights[0][j] + G.biases[0][j, 0])
        h = torch.relu(h @ G.weights[1][j] + G.biases[1][j, 0])
        assert torch.allclose(x[i], h @ G.weights[2][j] + G.biases[2][j, 0], atol=1e-5)
    one = z[k == 2][:8]
    G(one).sum().backward()  # samples of generator 2 train generator 2 only
    assert all(w.grad[2].abs().sum() > 0 and w.grad[[0, 1, 3]].abs().sum() == 0 for w in G.weights)


def test_mixture_generator_errors_and_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="noise_dim must be at least 2"):
        nets.MLPMixtureGenerator(noise_dim=1)
    with pytest.raises(ValueError, match="generators"):
        nets.MLPMixtureGenerator(generators=0)
    from gan_edu import GAN
    gan = GAN(nets.MLPMixtureGenerator(hidden=8, depth=2, generators=3), nets.MLPDiscriminator(hidden=8),
              device="cpu")
    gan.fit(lambda n: torch.randn(n, 2), steps=2, batch_size=16, progress=False)
    gan.save(tmp_path / "mix.pt")
    loaded = GAN.load(tmp_path / "mix.pt", device="cpu")
    assert isinstance(loaded.G, nets.MLPMixtureGenerator) and loaded.G.config == gan.G.config
    z = torch.randn(10, 3)
    assert torch.equal(loaded.sample(z=z), gan.sample(z=z))

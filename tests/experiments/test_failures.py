"""gan_edu.experiments.failures (notebook 06): the gradient reaching G, and a D made strong on purpose."""
import torch

from gan_edu import data, losses
from gan_edu.experiments.failures import generator_grad_norm, strong_discriminator


def test_generator_grad_norm_is_the_norm_of_g_losss_gradient_and_leaves_no_grad():
    gan, _ = strong_discriminator(data.ring(seed=0), d_steps=0)
    gan.noise = lambda n: torch.randn(n, 2, generator=torch.Generator().manual_seed(1))
    loss = losses.generator_loss(gan.D(gan.G(gan.noise(64))), "saturating")
    grads = torch.autograd.grad(loss, list(gan.G.parameters()))
    expected = torch.sqrt(sum((x ** 2).sum() for x in grads)).item()
    assert abs(generator_grad_norm(gan, "saturating", n=64) - expected) < 1e-6 * max(1.0, expected)
    assert all(p.grad is None for p in list(gan.G.parameters()) + list(gan.D.parameters()))


def test_a_strong_d_rejects_the_fakes_and_the_saturating_gradient_vanishes():
    torch.manual_seed(3)
    before = torch.rand(3)
    torch.manual_seed(3)
    gan, trace = strong_discriminator(data.ring(seed=0), "saturating", d_steps=200, every=50)
    assert torch.equal(torch.rand(3), before)  # the global RNG is left alone
    assert trace.shape == (5, 4) and list(trace[:, 0]) == [0, 50, 100, 150, 200]
    assert trace[-1, 1] < 0.05 < trace[0, 1]                   # D(G(z)) falls as D learns
    assert trace[-1, 3] > 30 * trace[-1, 2]                    # non-saturating >> saturating
    assert gan.settings_now.loss == "saturating"


def test_the_same_seed_gives_the_same_strong_d_for_both_losses():
    a, ta = strong_discriminator(data.ring(seed=0), "saturating", d_steps=30)
    b, tb = strong_discriminator(data.ring(seed=0), "non_saturating", d_steps=30)
    assert (ta == tb).all()
    assert all(torch.equal(x, y) for x, y in zip(a.D.parameters(), b.D.parameters()))

"""gan_edu.experiments.batched: N GANs trained as one batched computation, each copy equal to its lone GAN.

Not bit for bit: the batched kernels (a batched matmul, a grouped convolution) add up in
another order than the lone ones, so the numbers differ in the last float32 bits (about 1e-7
after 20 rounds here); Adam's update itself is bit for bit torch's (``test_stacked_adam_*``).
"""
import pytest
import torch

import gan_edu as ge
from gan_edu.experiments.batched import BatchedGAN, Stacked, StackedAdam

SEEDS, LR_D, LR_G = [0, 1, 2], [1e-3, 2e-4, 5e-4], [2e-3, 3e-4, 1e-4]
ROUND_KEYS = ("loss_d", "loss_g", "d_real", "d_fake")
ATOL = 1e-5


def mlp():
    return ge.nets.MLPGenerator(2, 2, hidden=16, depth=2), ge.nets.MLPDiscriminator(2, hidden=16, depth=2)


def dcgan():  # the 8x8 DCGAN, narrow: batch norm in both nets
    return (ge.nets.DCGANGenerator(noise_dim=8, image_size=8, width=8),
            ge.nets.DCGANDiscriminator(image_size=8, width=8))


def ring(seed=0):
    return ge.data.ring(seed=seed)


def digits(seed=0):
    return ge.data.TensorSampler(ge.data.digits()[0], seed=seed)


def lone(make_nets, i, **settings):
    """Copy i's GAN built alone, as the batched one promises it is."""
    ge.seed_everything(SEEDS[i])
    G, D = make_nets()
    return ge.GAN(G, D, device="cpu", seed=SEEDS[i], lr_d=LR_D[i], lr_g=LR_G[i], **settings)


def numbers(net):
    return [t.detach() for t in (*net.parameters(), *net.buffers())]


def assert_same_gan(gan, G, D, history):
    for key in ROUND_KEYS:
        assert history[key] == pytest.approx(gan.history[key], abs=ATOL, nan_ok=True), key
    assert history["step"] == gan.history["step"]
    assert history["lr_d"] == gan.history["lr_d"] and history["lr_g"] == gan.history["lr_g"]
    for ours, theirs in zip(numbers(G) + numbers(D), numbers(gan.G) + numbers(gan.D)):
        torch.testing.assert_close(ours, theirs, atol=ATOL, rtol=0)


@pytest.mark.parametrize("make_nets, sampler", [(mlp, ring), (dcgan, digits)], ids=["mlp", "dcgan8"])
def test_each_copy_equals_the_same_gan_trained_alone(make_nets, sampler):
    batched = BatchedGAN(make_nets, 3, seeds=SEEDS, lr_d=LR_D, lr_g=LR_G, device="cpu")
    batched.fit(sampler(), steps=20, batch_size=16, progress=False)
    nets = [batched.nets(i) for i in range(3)]
    samples = batched.sample(5)   # (G in training mode: batch norm's statistics move, as GAN.sample's do)
    assert samples.shape == (3, 5, *make_nets()[0].data_shape)
    for i in range(3):
        gan = lone(make_nets, i)
        gan.fit(sampler(), steps=20, batch_size=16, progress=False)
        assert_same_gan(gan, *nets[i], batched.history[i])
        torch.testing.assert_close(samples[i], gan.sample(5), atol=ATOL, rtol=0)  # same noise, same G


def test_each_copy_may_draw_from_its_own_sampler_with_other_settings():
    settings = dict(loss="lsgan", d_steps=2, noise="uniform", betas=(0.0, 0.9))
    batched = BatchedGAN(mlp, 3, seeds=SEEDS, lr_d=LR_D, lr_g=LR_G, device="cpu", **settings)
    batched.fit([ring(seed=10 + i) for i in range(3)], steps=10, batch_size=8, progress=False)
    for i in range(3):
        gan = lone(mlp, i, **settings)
        gan.fit(ring(seed=10 + i), steps=10, batch_size=8, progress=False)
        assert_same_gan(gan, *batched.nets(i), batched.history[i])


@pytest.mark.parametrize("make_nets, sampler", [(mlp, ring), (dcgan, digits)], ids=["mlp", "dcgan8"])
def test_unstack_gives_a_gan_that_trains_on_as_if_alone(make_nets, sampler):
    batched, data = BatchedGAN(make_nets, 3, seeds=SEEDS, lr_d=LR_D, lr_g=LR_G, device="cpu"), sampler()
    batched.fit(data, steps=10, batch_size=16, progress=False)
    copy1 = batched.unstack(1)
    assert isinstance(copy1, ge.GAN) and copy1.settings()["lr_d"] == LR_D[1] and copy1.step == 10
    copy1.fit(data, steps=10, batch_size=16, progress=False)   # the same sampler, 10 batches on
    gan = lone(make_nets, 1)
    gan.fit(sampler(), steps=20, batch_size=16, progress=False)
    assert_same_gan(gan, copy1.G, copy1.D, copy1.history)


def test_stacked_runs_copy_i_on_its_own_input():
    nets = [mlp()[1] for _ in range(3)]
    x = torch.randn(3, 5, 2)
    out = Stacked(nets)(x)
    torch.testing.assert_close(out, torch.stack([net(x[i]) for i, net in enumerate(nets)]))


def test_stacked_adam_is_torch_adam_bit_for_bit_on_the_cpu():
    torch.manual_seed(0)
    weights = [torch.randn(3, 4, 5), torch.randn(3, 7)]
    lrs, betas = [1e-3, 1e-2, 3e-4], (0.5, 0.999)
    stacked = [w.clone().requires_grad_(True) for w in weights]
    alone = [[w[i].clone().requires_grad_(True) for w in weights] for i in range(3)]
    ours = StackedAdam(stacked, lrs, betas)
    theirs = [torch.optim.Adam(ws, lr=lr, betas=betas) for ws, lr in zip(alone, lrs)]
    for _ in range(5):
        grads = [torch.randn_like(w) for w in weights]
        for p, g in zip(stacked, grads):
            p.grad = g.clone()
        ours.step()
        for i, opt in enumerate(theirs):
            for p, g in zip(alone[i], grads):
                p.grad = g[i].clone()
            opt.step()
    for k, p in enumerate(stacked):
        for i in range(3):
            assert torch.equal(p[i], alone[i][k])


@pytest.mark.parametrize("kwargs, name", [
    (dict(n=0), "n"), (dict(n=3, lr_d=[1e-3, 2e-3]), "lr_d"), (dict(n=2, lr_g=[1e-3] * 3), "lr_g"),
    (dict(n=2, seeds=[0]), "seeds"), (dict(n=2, lr_d=[1e-3, -1.0]), "lr_d"), (dict(n=2, seeds=[0, None]), "seeds"),
])
def test_bad_arguments_are_a_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        BatchedGAN(mlp, device="cpu", **kwargs)


def test_bad_samplers_and_copy_indices_say_so():
    batched = BatchedGAN(mlp, 2, device="cpu")
    with pytest.raises(ValueError, match="sampler"):
        batched.fit([ring()], steps=1, batch_size=4, progress=False)
    with pytest.raises(TypeError, match="sampler"):
        batched.fit([ring(), "not a sampler"], steps=1, batch_size=4, progress=False)
    with pytest.raises(IndexError, match="copy index"):
        batched.unstack(2)


def test_per_copy_values_may_be_one_value_a_list_or_an_array():
    import numpy as np

    batched = BatchedGAN(mlp, 3, lr_d=np.logspace(-4, -3, 3), lr_g=1e-3, seeds=range(3), device="cpu")
    assert [batched.settings(i)["lr_d"] for i in range(3)] == pytest.approx([1e-4, 10 ** -3.5, 1e-3])
    assert [batched.settings(i)["lr_g"] for i in range(3)] == [1e-3] * 3
    assert [batched.settings(i)["seed"] for i in range(3)] == [0, 1, 2]

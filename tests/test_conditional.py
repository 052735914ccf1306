"""gan_edu.conditional: the conditional nets equal their written maths, the steps pass y to both
players, the trainer trains reproducibly, and bad labels or shapes are refused by the package."""
import pytest
import torch
import torch.nn.functional as F

from gan_edu import conditional as C
from gan_edu.algorithm import BCE


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny nets run fastest on one thread (two threads on a busy machine can be ten times slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small(seed=0, width=4):
    torch.manual_seed(seed)
    return (C.ConditionalGenerator(noise_dim=5, classes=3, width=width), C.ConcatDiscriminator(classes=3, width=width),
            C.ProjectionDiscriminator(classes=3, width=width))


def test_shapes_and_range():
    G, Dc, Dp = small()
    z, y = torch.randn(7, 5), torch.tensor([0, 1, 2, 0, 1, 2, 2])
    x = G(z, y)
    assert x.shape == (7, 1, 8, 8) and x.abs().max() <= 1
    assert Dc(x, y).shape == (7, 1) and Dp(x, y).shape == (7, 1)
    big = C.ConditionalGenerator(noise_dim=5, classes=3, image_size=28, width=4)
    x28 = big(z, y)
    assert x28.shape == (7, 1, 28, 28)
    assert C.ProjectionDiscriminator(classes=3, image_size=28, width=4)(x28, y).shape == (7, 1)
    assert C.ConcatDiscriminator(classes=3, image_size=28, width=4)(x28, y).shape == (7, 1)
    assert set(C.DISCRIMINATORS) == {"concat", "projection"}


def test_one_hot_is_the_rows_of_the_identity():
    assert C.one_hot(torch.tensor([2, 0, 1]), 4).tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    assert C.one_hot([1], 2).dtype == torch.float32


def test_the_generator_is_g_of_z_and_one_hot_y_and_the_code_is_a_class_bias():
    G, _, _ = small()
    z, y = torch.randn(4, 5), torch.tensor([2, 0, 1, 2])
    zy = torch.cat([z, F.one_hot(y, 3).float()], 1)
    assert torch.allclose(G(z, y), G.net(zy[:, :, None, None]), atol=1e-6)
    assert torch.equal(G.decode(z, F.one_hot(y, 3).float()), G(z, y))
    halfway = G.decode(z, 0.5 * F.one_hot(y, 3).float() + 0.5 * F.one_hot((y + 1) % 3, 3).float())
    assert halfway.shape == (4, 1, 8, 8)
    # g's first layer on (z; onehot(y)): W_z z + W_y[:, y] + b, the column y of W_y a class bias
    first = G.net[0]
    W = first.weight[:, :, 0, 0]                       # (noise + classes, 2w): a 1x1 input is a linear map
    by_hand = z @ W[:5] + W[5:][y] + first.bias
    assert torch.allclose(first(zy[:, :, None, None])[:, :, 0, 0], by_hand, atol=1e-5)


def test_the_concat_discriminator_sees_the_label_as_constant_channels():
    _, D, _ = small()
    x, y = torch.randn(4, 1, 8, 8), torch.tensor([1, 0, 2, 1])
    maps = torch.zeros(4, 3, 8, 8)
    for i, label in enumerate(y):
        maps[i, label] = 1.0                           # channel y all ones, the others zeros
    assert torch.allclose(D(x, y), D.psi(D.phi(torch.cat([x, maps], 1))), atol=1e-6)
    assert not torch.allclose(D(x, y), D(x, (y + 1) % 3))  # the label changes the score


def test_the_projection_discriminator_is_psi_plus_the_embedding_inner_product():
    _, _, D = small()
    D.eval()                                            # batch norm's running statistics: rows independent
    x, y = torch.randn(4, 1, 8, 8), torch.tensor([1, 0, 2, 1])
    phi = D.phi(x)
    by_hand = torch.stack([D.psi.bias[0] + sum(D.psi.weight[0, j] * phi[i, j] + D.embed.weight[y[i], j] * phi[i, j]
                                               for j in range(D.feature_dim)) for i in range(4)])
    assert torch.allclose(D(x, y)[:, 0], by_hand, atol=1e-4)
    # the label enters only through the inner product: D(x, a) - D(x, b) = (e_a - e_b) . phi(x)
    a, b = torch.zeros(4, dtype=torch.long), torch.full((4,), 2)
    diff = ((D.embed.weight[0] - D.embed.weight[2]) * phi).sum(1)
    assert torch.allclose((D(x, a) - D(x, b))[:, 0], diff, atol=1e-5)


@pytest.mark.parametrize("bad, error, words", [
    (torch.tensor([0, 3]), ValueError, "from 0 to 2, got 3"),
    (torch.tensor([-1, 0]), ValueError, "from 0 to 2, got -1"),
    (torch.tensor([0.0, 1.0]), TypeError, "integers"),
    (torch.tensor([[0, 1]]), ValueError, r"shape \(2,\)"),
    (torch.tensor([0, 1, 2]), ValueError, r"shape \(2,\)"),
    ("ab", TypeError, "y must be a tensor or a list of integers"),
])
def test_bad_labels_get_a_clear_error(bad, error, words):
    G, Dc, Dp = small()
    with pytest.raises(error, match=words):
        G(torch.randn(2, 5), bad)
    for D in (Dc, Dp):
        with pytest.raises(error, match=words):
            D(torch.randn(2, 1, 8, 8), bad)


def test_bad_shapes_get_a_clear_error():
    G, Dc, Dp = small()
    y = torch.tensor([0, 1])
    with pytest.raises(ValueError, match=r"z must have shape \(n, 5\)"):
        G(torch.randn(2, 4), y)
    with pytest.raises(TypeError, match="z must be a floating-point"):
        G(torch.zeros(2, 5, dtype=torch.long), y)
    with pytest.raises(ValueError, match=r"code must have shape \(2, 3\)"):
        G.decode(torch.randn(2, 5), torch.zeros(2, 4))
    for D in (Dc, Dp):
        with pytest.raises(ValueError, match=r"x must have shape \(n, 1, 8, 8\)"):
            D(torch.randn(2, 64), y)
    with pytest.raises(ValueError, match="multiple of 4"):
        C.ConditionalGenerator(image_size=10)
    with pytest.raises(ValueError, match="classes"):
        C.ProjectionDiscriminator(classes=0)


def spy(D):
    """D, recording the labels each call judged."""
    seen = []

    def hook(module, args):
        seen.append(args[1].clone())
    D.register_forward_pre_hook(hook)
    return seen


def test_d_step_judges_each_batch_with_its_own_labels_and_moves_only_d():
    G, _, D = small()
    seen = spy(D)
    opt_d = torch.optim.SGD(D.parameters(), lr=0.1)
    g_before, d_before = [p.clone() for p in G.parameters()], [p.clone() for p in D.parameters()]
    real, real_y, fake_y = torch.rand(6, 1, 8, 8) * 2 - 1, torch.tensor([0, 0, 1, 1, 2, 2]), torch.tensor([2] * 6)
    gen = torch.Generator().manual_seed(0)
    noise = lambda n: torch.randn(n, 5, generator=gen)  # noqa: E731
    loss, real_logits, fake_logits = C.d_step(G, D, opt_d, real, real_y, fake_y, noise)
    assert [s.tolist() for s in seen] == [real_y.tolist(), fake_y.tolist()]
    assert torch.allclose(loss, BCE().d_loss(real_logits, fake_logits))
    assert all(torch.equal(a, b) for a, b in zip(G.parameters(), g_before))
    assert any(not torch.equal(a, b) for a, b in zip(D.parameters(), d_before))


def test_g_step_judges_the_fakes_with_the_labels_asked_for_and_moves_only_g():
    G, D, _ = small()
    seen = spy(D)
    opt_g = torch.optim.SGD(G.parameters(), lr=0.1)
    g_before, d_before = [p.clone() for p in G.parameters()], [p.clone() for p in D.parameters()]
    fake_y = torch.tensor([1, 2, 0, 1])
    C.g_step(G, D, opt_g, fake_y, lambda n: torch.randn(n, 5))
    assert [s.tolist() for s in seen] == [fake_y.tolist()]
    assert all(torch.equal(a, b) for a, b in zip(D.parameters(), d_before))
    assert any(not torch.equal(a, b) for a, b in zip(G.parameters(), g_before))
    assert all(p.grad is None for p in D.parameters())


def toy_data(n=40):
    """Class c: an 8x8 image whose row c is bright (three classes)."""
    y = torch.arange(n) % 3
    x = -torch.ones(n, 1, 8, 8)
    for i, c in enumerate(y):
        x[i, 0, c] = 1.0
    return x, y


def test_the_trainer_is_reproducible_and_halves_its_learning_rates():
    x, y = toy_data()

    def run():
        G, _, D = small()
        gan = C.ConditionalGAN(G, D, lr_d=1e-3, lr_g=2e-3, seed=3)
        gan.fit(C.LabelledSampler(x, y, classes=3, seed=3), steps=10, batch_size=8, lr_halvings=4)
        return gan

    a, b = run(), run()
    assert a.history["loss_d"] == b.history["loss_d"] and len(a.history["step"]) == 10
    assert a.opt_d.param_groups[0]["lr"] == 1e-3 / 16 and a.opt_g.param_groups[0]["lr"] == 2e-3 / 16
    z = torch.zeros(3, 5)
    assert torch.equal(a.sample([0, 1, 2], z), b.sample(torch.tensor([0, 1, 2]), z))
    assert a.sample([2, 2]).shape == (2, 1, 8, 8)


def test_the_trainer_refuses_bad_input():
    x, y = toy_data()
    G, _, D = small()
    gan = C.ConditionalGAN(G, D, seed=0)
    with pytest.raises(ValueError, match="labels must be class indices from 0 to 2, got 5"):
        gan.sample([0, 5])
    with pytest.raises(ValueError, match=r"z must have shape \(2, 5\)"):
        gan.sample([0, 1], z=torch.zeros(3, 5))
    with pytest.raises(ValueError, match="from 0 to 2, got 3"):
        C.LabelledSampler(x, y + 1, classes=3)
    with pytest.raises(ValueError, match=r"shape \(40,\)"):
        C.LabelledSampler(x, y[:-1], classes=3)
    with pytest.raises(ValueError, match=r"images must have shape \(8, 1, 8, 8\)"):
        gan.fit(C.LabelledSampler(x[:, :, :4], y, classes=3), steps=1, batch_size=8)
    with pytest.raises(ValueError, match="the sampler's labels must be class indices from 0 to 2, got 7"):
        gan.fit(lambda n: (x[:n], torch.full((n,), 7)), steps=1, batch_size=8)
    with pytest.raises(TypeError, match=r"a pair \(images, labels\)"):
        gan.fit(lambda n: x[:n], steps=1, batch_size=8)
    with pytest.raises(TypeError, match="noise_dim"):
        C.ConditionalGAN(torch.nn.Linear(2, 2), D)
    with pytest.raises(ValueError, match="lr_d"):
        C.ConditionalGAN(G, D, lr_d=-1)
    assert gan.step == 0 and gan.history["step"] == []


def test_callbacks_run_after_each_round_and_another_d_step_trains_instead():
    x, y = toy_data()
    rounds, steps_called = [], []

    def my_d_step(G, D, opt_d, real, real_y, fake_y, noise):   # the package's, recorded: a custom step
        steps_called.append(fake_y.clone())
        return C.d_step(G, D, opt_d, real, real_y, fake_y, noise)[0]

    def run(d_step=None):
        G, _, D = small()
        gan = C.ConditionalGAN(G, D, seed=3, d_step=d_step)
        gan.fit(C.LabelledSampler(x, y, classes=3, seed=3), steps=4, batch_size=8,
                callbacks=lambda g: rounds.append(g.step))
        return gan

    plain, custom = run(), run(my_d_step)
    assert rounds == [1, 2, 3, 4] * 2 and len(steps_called) == 4
    assert custom.history["loss_d"] == plain.history["loss_d"]  # the same step, so the same training
    assert all(v != v for v in custom.history["d_real"])       # D's means are not recorded (NaN)
    with pytest.raises(TypeError, match="d_step must be a function"):
        C.ConditionalGAN(*small()[::2], d_step="mine")
    with pytest.raises(TypeError, match="callbacks must be a function"):
        plain.fit(C.LabelledSampler(x, y, classes=3), steps=1, batch_size=8, callbacks=[1])

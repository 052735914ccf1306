"""The moving average of G's weights (``GAN(ema=β)``, ``train.ema_update``)."""
import pytest
import torch
from torch import nn

import gan_edu as ge
from gan_edu import data, nets
from gan_edu.train import GAN, ema_update


def make_gan(**kw):
    ge.seed_everything(0)
    return GAN(nets.MLPGenerator(2, 2, hidden=16, depth=2), nets.MLPDiscriminator(2, hidden=16, depth=2),
               lr_d=1e-2, lr_g=1e-2, device="cpu", seed=0, **kw)


def test_ema_update_by_hand():
    avg, net = nn.Linear(1, 1), nn.Linear(1, 1)
    nn.init.zeros_(avg.weight), nn.init.zeros_(avg.bias), nn.init.ones_(net.weight), nn.init.ones_(net.bias)
    ema_update(avg, net, 0.9)      # 0.9 * 0 + 0.1 * 1
    assert avg.weight.item() == pytest.approx(0.1) and avg.bias.item() == pytest.approx(0.1)
    ema_update(avg, net, 0.9)      # 0.9 * 0.1 + 0.1 * 1
    assert avg.weight.item() == pytest.approx(0.19)
    bn_avg, bn = nn.BatchNorm1d(2), nn.BatchNorm1d(2)
    bn.running_mean.fill_(3.0)
    ema_update(bn_avg, bn, 0.9)    # buffers are copied, not averaged
    assert torch.equal(bn_avg.running_mean, bn.running_mean)


def test_g_ema_follows_the_recurrence_after_every_round():
    gan = make_gan(ema=0.8)
    assert all(torch.equal(a, p) for a, p in zip(gan.G_ema.parameters(), gan.G.parameters()))  # starts at G
    expected = [p.detach().clone() for p in gan.G.parameters()]

    def follow(g):
        for e, p in zip(expected, g.G.parameters()):
            e.mul_(0.8).add_(0.2 * p.detach())

    gan.fit(data.ring(), 5, 32, callbacks=[follow], progress=False)
    assert all(torch.allclose(a, e, atol=1e-6) for a, e in zip(gan.G_ema.parameters(), expected))
    assert not all(torch.equal(a, p) for a, p in zip(gan.G_ema.parameters(), gan.G.parameters()))
    assert not any(p.requires_grad for p in gan.G_ema.parameters())
    gan.d_only_step(data.ring(), 32)  # no G step, no update
    assert all(torch.allclose(a, e, atol=1e-6) for a, e in zip(gan.G_ema.parameters(), expected))


def test_the_average_does_not_change_training_and_sample_draws_from_it():
    plain, averaged = make_gan(), make_gan(ema=0.9)
    assert plain.G_ema is None
    for gan in (plain, averaged):
        gan.fit(data.ring(), 6, 32, progress=False)
    assert plain.history["loss_d"] == averaged.history["loss_d"]
    assert all(torch.equal(p, q) for p, q in zip(plain.G.parameters(), averaged.G.parameters()))
    z = averaged.noise(64)
    with torch.no_grad():
        assert torch.equal(averaged.sample(z=z), averaged.G_ema(z))
        assert torch.equal(averaged.sample(z=z, averaged=False), averaged.G(z))
        assert torch.equal(plain.sample(z=z), plain.G(z))
    assert not torch.equal(averaged.sample(z=z), averaged.sample(z=z, averaged=False))


def test_ema_is_a_checked_construction_setting_that_survives_save(tmp_path):
    gan = make_gan(ema=0.5)
    assert gan.settings()["ema"] == 0.5 and make_gan().settings()["ema"] == 0.0
    gan.fit(data.ring(), 3, 32, progress=False)
    gan.configure(ema=0.5)  # its own value: accepted (configure(**gan.settings()) works)
    with pytest.raises(ValueError, match="ema is fixed"):
        gan.configure(ema=0.9)
    for bad in (-0.1, 1.0, True, "0.9", float("nan")):
        with pytest.raises(ValueError, match="ema must be"):
            make_gan(ema=bad)
    back = GAN.load(gan.save(tmp_path / "g.pt"), device="cpu")
    assert back.ema == 0.5
    assert all(torch.equal(a, b) for a, b in zip(back.G_ema.parameters(), gan.G_ema.parameters()))
    z = gan.noise(8)
    assert torch.equal(back.sample(z=z), gan.sample(z=z))

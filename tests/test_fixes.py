"""The failure-mode fixes: LSGAN / Wasserstein losses, the gradient penalty, PacGAN packing."""
import math

import pytest
import torch
from torch import nn

import gan_edu as ge
from gan_edu import data, losses as L, nets
from gan_edu.train import GAN

REAL = torch.tensor([[1.0], [3.0]])
FAKE = torch.tensor([[0.0], [2.0]])


def make_gan(seed=0, pack=1, d_in=None, **kw):
    ge.seed_everything(seed)
    D = nets.MLPDiscriminator(d_in or 2 * pack, hidden=16, depth=2)
    return GAN(nets.MLPGenerator(2, 2, hidden=16, depth=2), D, lr_d=1e-3, lr_g=1e-3, device="cpu",
               seed=seed, pack=pack, **kw)


def test_lsgan_losses_by_hand():
    # D: ½ mean((1-1)², (3-1)²) + ½ mean(0², 2²) = ½·2 + ½·2 = 2;  G: ½ mean((0-1)², (2-1)²) = ½
    assert L.lsgan_discriminator_loss(REAL, FAKE).item() == pytest.approx(2.0)
    assert L.lsgan_generator_loss(FAKE).item() == pytest.approx(0.5)
    assert L.generator_loss(FAKE, "lsgan").item() == pytest.approx(0.5)
    assert L.discriminator_loss_for("lsgan", REAL, FAKE).item() == pytest.approx(2.0)


def test_wasserstein_losses_by_hand():
    # critic: mean fake - mean real = 1 - 2 = -1;  G: -mean fake = -1
    assert L.wasserstein_critic_loss(REAL, FAKE).item() == pytest.approx(-1.0)
    assert L.wasserstein_generator_loss(FAKE).item() == pytest.approx(-1.0)
    assert L.generator_loss(FAKE, "wasserstein").item() == pytest.approx(-1.0)
    assert L.discriminator_loss_for("wasserstein", REAL, FAKE).item() == pytest.approx(-1.0)


def test_discriminator_loss_for_bce_kinds_is_bce():
    for kind in L.BCE_LOSSES:
        assert torch.equal(L.discriminator_loss_for(kind, REAL, FAKE), L.discriminator_loss(REAL, FAKE))
    with pytest.raises(ValueError, match="hinge"):
        L.discriminator_loss_for("hinge", REAL, FAKE)
    with pytest.raises(ValueError, match="hinge"):
        L.generator_loss(FAKE, "hinge")


def linear_critic(weight):
    D = nn.Linear(len(weight), 1, bias=True)
    with torch.no_grad():
        D.weight.copy_(torch.tensor([weight]))
        D.bias.fill_(0.3)
    return D


def test_gradient_penalty_zero_for_unit_norm_linear_critic():
    real, fake = torch.randn(64, 2), torch.randn(64, 2) + 3
    D = linear_critic([0.6, 0.8])  # ||∇D|| = ||w|| = 1 everywhere: 1-Lipschitz, no penalty
    assert L.gradient_penalty(D, real, fake).item() == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("w,expected", [([1.2, 1.6], 1.0), ([0.3, 0.4], 0.25), ([0.0, 3.0], 4.0)])
def test_gradient_penalty_positive_otherwise(w, expected):
    # linear D: the gradient is w at every x̂, so the penalty is (||w|| - 1)² exactly
    D = linear_critic(w)
    assert L.gradient_penalty(D, torch.randn(32, 2), torch.randn(32, 2)).item() == pytest.approx(expected)


def test_gradient_penalty_sends_gradient_into_d():
    D = linear_critic([1.2, 1.6])
    L.gradient_penalty(D, torch.randn(8, 2), torch.randn(8, 2)).backward()
    # d/dw (||w|| - 1)² = 2 (||w|| - 1) w / ||w|| = 2 · 1 · (0.6, 0.8)
    assert torch.allclose(D.weight.grad, torch.tensor([[1.2, 1.6]]))
    with pytest.raises(ValueError, match="same shape"):
        L.gradient_penalty(D, torch.randn(8, 2), torch.randn(4, 2))


class Recorder(nn.Module):
    """A linear D that remembers the inputs it was given."""

    def __init__(self, d_in):
        super().__init__()
        self.lin, self.seen = nn.Linear(d_in, 1), []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.lin(x)


def test_pack_concatenates_consecutive_samples():
    ge.seed_everything(0)
    D = Recorder(6)
    gan = GAN(nets.MLPGenerator(2, 2, hidden=8, depth=1), D, device="cpu", pack=3)
    real = data.ring(seed=4)(12)
    gan.d_step(real)
    real_seen = D.seen[-2]  # D(real), then D(fake)
    assert real_seen.shape == (4, 6)   # the real batch, 12 samples in packs of 3
    assert torch.equal(real_seen[1], torch.cat([real[3], real[4], real[5]]))
    gan.fit(data.ring(), 2, batch_size=12, progress=False)
    assert all(x.shape[1] == 6 for x in D.seen)
    assert gan.discriminate(torch.zeros(5, 2)).shape == (5,)  # D's view of packs of copies


def test_pack_errors_are_clear():
    gan = make_gan(pack=2, d_in=2)  # D built for single samples
    with pytest.raises(ValueError, match=r"pack=2.*2 times"):
        gan.fit(data.ring(), 1, batch_size=8, progress=False)
    gan = make_gan(pack=2)
    with pytest.raises(ValueError, match="multiple of pack=2"):
        gan.fit(data.ring(), 1, batch_size=7, progress=False)
    with pytest.raises(ValueError, match="multiple of pack=2"):
        gan.train_step(data.ring(), batch_size=7)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="pack"):
            make_gan(pack=bad, d_in=2)


@pytest.mark.parametrize("kind", L.GENERATOR_LOSSES)
@pytest.mark.parametrize("gp_weight", [0.0, 10.0])
def test_every_loss_kind_trains_with_and_without_penalty(kind, gp_weight):
    gan = make_gan(loss=kind, gp_weight=gp_weight, pack=2)
    before = [p.detach().clone() for p in gan.D.parameters()]
    hist = gan.fit(data.grid(), 3, batch_size=16, progress=False)
    vals = hist["loss_d"] + hist["loss_g"] + hist["d_real"] + hist["d_fake"]
    assert all(math.isfinite(v) for v in vals)
    if kind in L.BCE_LOSSES:  # probabilities only for the BCE kinds
        assert all(0 < p < 1 for p in hist["d_real"] + hist["d_fake"])
    assert any(not torch.equal(a, b) for a, b in zip(before, gan.D.parameters()))


def test_gp_changes_the_d_update():
    a, b = make_gan(loss="wasserstein"), make_gan(loss="wasserstein", gp_weight=10.0)
    a.fit(data.ring(seed=1), 1, 16, progress=False)
    b.fit(data.ring(seed=1), 1, 16, progress=False)
    assert a.history["loss_d"] != b.history["loss_d"]
    assert b.history["loss_d"][0] > a.history["loss_d"][0]  # the penalty is >= 0 and added


def test_wasserstein_history_is_the_critic_score():
    gan = make_gan(loss="wasserstein")
    gan.fit(data.ring(), 1, 16, progress=False)
    # loss_d = E D(fake) - E D(real) = d_fake - d_real: raw scores, not probabilities
    assert gan.history["loss_d"][0] == pytest.approx(gan.history["d_fake"][0] - gan.history["d_real"][0], abs=1e-6)


def test_configure_new_settings_and_errors():
    gan = make_gan()
    gan.configure(gp_weight=5.0, loss="lsgan")
    gan.fit(data.ring(), 1, 8, progress=False)
    assert gan.gp_weight == 5.0 and gan.loss == "lsgan"
    assert (0, "gp_weight", 5.0) in gan.history["events"]
    with pytest.raises(ValueError, match="gp_weight"):
        gan.configure(gp_weight=-1.0)
    with pytest.raises(TypeError, match="gp_weight"):
        gan.configure(gp_weight="ten")
    with pytest.raises(ValueError, match="pack is fixed when the GAN is built"):
        gan.configure(pack=2)
    gan.configure(pack=1)  # its own value, as in configure(**gan.settings()): accepted
    with pytest.raises(ValueError, match="gp_weight"):
        make_gan(gp_weight=math.nan)


def test_save_and_load_keep_pack_and_gp(tmp_path):
    gan = make_gan(pack=2, gp_weight=10.0, loss="wasserstein", d_steps=2)
    gan.fit(data.ring(), 3, 16, progress=False)
    back = GAN.load(gan.save(tmp_path / "gan.pt"), device="cpu")
    assert (back.pack, back.gp_weight, back.loss, back.d_steps) == (2, 10.0, "wasserstein", 2)
    s1, s2 = data.ring(seed=3), data.ring(seed=3)
    gan.fit(s1, 2, 16, progress=False)
    back.fit(s2, 2, 16, progress=False)
    assert gan.history["loss_d"] == back.history["loss_d"]


@pytest.mark.parametrize("loss", ["non_saturating", "lsgan", "wasserstein"])
def test_fixes_combine_with_the_update_schemes_and_steps(loss):
    # pack and the gradient penalty also act in simultaneous updates and D-only / G-only rounds
    gan = make_gan(pack=2, loss=loss, gp_weight=1.0, update="simultaneous", d_steps=2, g_steps=1)
    gan.fit(data.ring(), 3, 16, progress=False)
    gan.d_only_step(data.ring(), 16)
    gan.g_only_step(16)
    assert gan.step == 5 and all(math.isfinite(v) for v in gan.history["loss_d"][:4] + gan.history["loss_g"][:3])
    assert math.isnan(gan.history["loss_g"][3]) and math.isnan(gan.history["loss_d"][4])  # the one-net rounds
    with pytest.raises(ValueError, match="multiple of pack=2"):
        gan.g_only_step(15)
    # every setting survives a JSON round trip into a new GAN
    import json
    back = json.loads(json.dumps(gan.settings()))
    assert back["pack"] == 2 and back["gp_weight"] == 1.0
    ge.seed_everything(0)
    rebuilt = GAN(nets.MLPGenerator(2, 2, hidden=16, depth=2), nets.MLPDiscriminator(4, hidden=16, depth=2),
                  device="cpu", **back)
    assert rebuilt.settings() == back


def test_label_smoothing_applies_to_the_bce_kinds_only():
    a = make_gan(loss="lsgan", label_smoothing="two_sided", smoothing=0.2)
    b = make_gan(loss="lsgan")
    a.fit(data.ring(), 2, 16, progress=False)
    b.fit(data.ring(), 2, 16, progress=False)
    assert a.history["loss_d"] == b.history["loss_d"]


# ---------------------------------------------------------------------------- R1 penalty
class _Quadratic(nn.Module):
    """l(x) = a ||x||² / 2, so ∇_x l = a x and the R1 penalty is a² E||x||²."""

    def __init__(self, a=3.0):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a))

    def forward(self, x):
        return self.a * x.pow(2).sum(1, keepdim=True) / 2


def test_r1_penalty_by_hand_and_its_gradient_reaches_d():
    D, x = _Quadratic(3.0), torch.tensor([[1.0, 2.0], [0.0, -1.0]]).requires_grad_(True)
    pen = L.r1_penalty(D(x), x)
    assert pen.item() == pytest.approx(9.0 * (5.0 + 1.0) / 2)  # a² mean ||x||²
    pen.backward()
    assert D.a.grad.item() == pytest.approx(2 * 3.0 * 3.0)  # d(a² · 3)/da = 6a
    with pytest.raises(ValueError, match="requires_grad"):
        L.r1_penalty(D(torch.ones(2, 2)), torch.ones(2, 2))


def test_r1_weight_adds_half_gamma_times_the_penalty_to_d_loss():
    real = data.grid(seed=2)(32).float()
    a, b = make_gan(), make_gan(r1_weight=4.0)
    x = real.clone().requires_grad_(True)
    by_hand = L.r1_penalty(b.D(x), x).item()  # b's D before its step: the same nets as a's
    loss_a, loss_b = a.d_step(real)[0].item(), b.d_step(real)[0].item()
    assert by_hand > 0 and loss_b - loss_a == pytest.approx(4.0 / 2 * by_hand, rel=1e-4)


def test_r1_flattens_d_on_the_data():
    # D alone against a fixed G: with R1, D's slope on the real points stays far smaller
    def slope(gan):
        x = data.ring(seed=5)(256).float().requires_grad_(True)
        return L.r1_penalty(gan.D(x), x).item()
    plain, r1 = make_gan(), make_gan(r1_weight=10.0)
    for gan in (plain, r1):
        gan.set_lr(d=1e-2)
        for _ in range(60):
            gan.d_only_step(data.ring(seed=4), 64)
    assert slope(r1) < 0.2 * slope(plain)


def test_r1_weight_is_a_setting_with_checks_and_survives_save(tmp_path):
    gan = make_gan(pack=2, r1_weight=1.0, update="simultaneous")
    gan.fit(data.ring(), 2, 16, progress=False)
    assert gan.settings()["r1_weight"] == 1.0 and all(math.isfinite(v) for v in gan.history["loss_d"])
    gan.configure(r1_weight=0.5)
    gan.fit(data.ring(), 1, 16, progress=False)
    assert gan.r1_weight == 0.5 and (2, "r1_weight", 0.5) in gan.history["events"]
    back = GAN.load(gan.save(tmp_path / "gan.pt"), device="cpu")
    assert back.r1_weight == 0.5
    for bad, err in ((-1.0, ValueError), (math.inf, ValueError), ("one", TypeError)):
        with pytest.raises(err, match="r1_weight"):
            gan.configure(r1_weight=bad)
    assert gan.r1_weight == 0.5

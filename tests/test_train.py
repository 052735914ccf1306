"""gan_edu.train: the GAN object, its rounds, settings, controls, failure-mode fixes and guards."""
import copy
import json
import math
import os
import signal
import threading

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gan_edu as ge
from gan_edu import data, losses, nets
from gan_edu.options import OBJECTIVES
from gan_edu.train import GAN, NonFiniteLossError
from support import make_gan, params, same, weights


def adam_steps(opt):
    """How many updates an Adam optimizer has made."""
    return int(next(iter(opt.state.values()))["step"]) if opt.state else 0


def fixed_sampler(n, seed=1):
    """The same real batch (the first k of n points) at every draw."""
    batch = data.ring(seed=seed)(n)
    return lambda k: batch[:k]


def ema_gan(**kw):
    """A GAN for the moving-average tests: faster learning rates, so the average lags visibly."""
    return make_gan(lr_d=1e-2, lr_g=1e-2, **kw)


# ---------------------------------------------------------------------------- training rounds
def test_fit_records_history_and_sample_shape():
    gan = make_gan()
    hist = gan.fit(data.ring(), steps=5, batch_size=32, progress=False)
    assert hist["step"] == [1, 2, 3, 4, 5] and len(hist["loss_d"]) == 5
    assert all(0 < p < 1 for p in hist["d_real"] + hist["d_fake"])
    assert gan.sample(7).shape == (7, 2)
    assert gan.discriminate(torch.zeros(3, 2)).shape == (3,)


def test_same_seed_same_results():
    runs = []
    for _ in range(2):
        gan = make_gan(seed=3)
        gan.fit(data.ring(seed=3), steps=20, batch_size=32, progress=False)
        runs.append((gan.history["loss_d"], weights(gan)))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))
    other = make_gan(seed=4)
    other.fit(data.ring(seed=4), steps=20, batch_size=32, progress=False)
    assert other.history["loss_d"] != runs[0][0]


def test_d_step_sends_no_gradient_into_g():
    gan = make_gan()
    gan.player_round("D", data.ring(), 16)
    assert all(p.grad is None for p in gan.G.parameters())
    assert all(p.grad is not None for p in gan.D.parameters())


def test_g_step_uses_the_real_label_and_leaves_d_alone():
    gan = make_gan()
    d_before = weights(gan)[len(list(gan.G.parameters())):]
    logits = []
    gan.D.register_forward_hook(lambda m, i, o: logits.append(o.detach()))
    loss = gan.player_round("G", None, 16)["loss_g"]
    # non-saturating: the loss is BCE(D(G(z)), 1) on the logits D produced
    d_fake = torch.sigmoid(logits[-1])
    assert loss == pytest.approx(nn.functional.binary_cross_entropy(d_fake, torch.ones_like(d_fake)).item(), rel=1e-6)
    assert all(p.grad is None for p in gan.D.parameters())
    assert all(torch.equal(a, b) for a, b in zip(d_before, gan.D.parameters()))
    assert all(p.requires_grad for p in gan.D.parameters())  # unfrozen afterwards


def test_g_step_raises_d_of_g():
    """A few G steps against a fixed D make D(G(z)) go up: G learns to fool D."""
    gan = make_gan()
    z = gan.noise(256)
    before = torch.sigmoid(gan.D(gan.G(z))).mean().item()
    for _ in range(20):
        gan.player_round("G", None, 256)
    after = torch.sigmoid(gan.D(gan.G(z))).mean().item()
    assert after > before


def test_dcgan_trains_on_digits():
    x, _ = data.digits()
    ge.seed_everything(0)
    gan = GAN(nets.DCGANGenerator(noise_dim=16, image_size=8, width=8), nets.DCGANDiscriminator(image_size=8, width=8),
              device="cpu")
    gan.fit(data.TensorSampler(x), 3, 32, progress=False)
    assert gan.sample(4).shape == (4, 1, 8, 8)


# ---------------------------------------------------------------------------- learning rates and configure
def test_set_lr_applies_at_next_step_and_is_recorded():
    gan = make_gan()
    gan.set_lr(d=0.01)
    assert gan.lr_d == 1e-3  # not yet: only at the step boundary
    gan.fit(data.ring(), 1, 8, progress=False)
    assert gan.lr_d == 0.01 and gan.lr_g == 1e-3
    assert gan.history["events"] == [(0, "lr_d", 0.01)]
    assert gan.history["lr_d"] == [0.01]


def test_set_lr_from_another_thread_while_training():
    gan = make_gan()
    seen = []

    def change():
        gan.set_lr(d=5e-3, g=2e-3)

    def callback(g):
        if g.step == 10:
            t = threading.Thread(target=change)
            t.start()
            t.join()
        seen.append(g.lr_d)

    gan.fit(data.ring(), 20, 8, callbacks=[callback], progress=False)
    assert seen[:10] == [1e-3] * 10 and seen[10:] == [5e-3] * 10
    assert gan.lr_g == 2e-3


def test_configure_changes_loss_steps_and_optimizer_at_the_next_step():
    gan = make_gan()
    gan.configure(loss="saturating", d_steps=2, optimizer="sgd")
    gan.fit(data.ring(), 1, 8, progress=False)
    assert gan.settings_now.loss == "saturating" and gan.settings_now.d_steps == 2
    assert isinstance(gan.opt_d, torch.optim.SGD) and gan.lr_d == 1e-3
    with pytest.raises(ValueError, match="cannot configure"):
        gan.configure(momentum=0.9)


def test_configure_noise_is_checked_and_switches_the_prior():
    gan = make_gan(seed=3)
    gan.fit(data.ring(8, seed=3), 1, 32, progress=False)
    with pytest.raises(ValueError, match="noise"):
        gan.configure(noise="laplace")
    gan.configure(noise="uniform")
    gan.fit(data.ring(), 1, 8, progress=False)
    assert gan.settings_now.noise == "uniform" and callable(gan.noise)
    z = gan.noise(500)
    assert z.min() >= -1 and z.max() <= 1


@pytest.mark.parametrize("bad", [0, -1e-3, math.inf, math.nan])
def test_bad_learning_rates_are_refused(bad):
    with pytest.raises(ValueError, match="lr_d"):
        GAN(nets.MLPGenerator(), nets.MLPDiscriminator(), lr_d=bad)
    gan = make_gan()
    with pytest.raises(ValueError, match="lr_g"):
        gan.set_lr(g=bad)


def test_a_learning_rate_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="lr_g"):
        GAN(nets.MLPGenerator(), nets.MLPDiscriminator(), lr_g="0.001")


def test_unknown_choices_and_nets_are_refused_clearly():
    with pytest.raises(ValueError, match="loss"):
        GAN(nets.MLPGenerator(), nets.MLPDiscriminator(), loss="wasserstein-ish")
    with pytest.raises(ValueError, match="optimizer"):
        GAN(nets.MLPGenerator(), nets.MLPDiscriminator(), optimizer="rmsprop")
    with pytest.raises(ValueError, match="d_steps"):
        GAN(nets.MLPGenerator(), nets.MLPDiscriminator(), d_steps=11)  # 0..10; 0 is valid (steps per round below)
    with pytest.raises(TypeError, match="generator"):
        GAN("G", nets.MLPDiscriminator())


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_asking_for_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        GAN(nets.MLPGenerator(), nets.MLPDiscriminator(), device="cuda")


# ---------------------------------------------------------------------------- settings()
def test_settings_round_trip_through_json_into_a_new_gan():
    gan = make_gan(d_steps=2, g_steps=3, update="simultaneous", label_smoothing="two_sided", smoothing=0.15,
                   optimizer="sgd", noise="uniform", betas=(0.4, 0.9))
    text = json.dumps(gan.settings())
    back = json.loads(text)
    assert back == gan.settings()
    assert set(back) >= {"lr_d", "lr_g", "betas", "loss", "d_steps", "g_steps", "optimizer", "noise", "update",
                         "label_smoothing", "smoothing", "seed"}
    ge.seed_everything(0)
    rebuilt = GAN(nets.MLPGenerator(2, 2, hidden=16, depth=2), nets.MLPDiscriminator(2, hidden=16, depth=2),
                  device="cpu", **back)
    assert rebuilt.settings() == gan.settings()
    gan.configure(**back)  # its own settings: nothing changes, no events
    gan.fit(data.ring(), 1, 8, progress=False)
    assert gan.history["events"] == []


def test_configure_from_settings_changes_a_running_gan():
    gan = make_gan()
    target = make_gan(d_steps=4, g_steps=2, update="simultaneous", label_smoothing="one_sided", lr_g=3e-3).settings()
    gan.configure(**json.loads(json.dumps(target)))
    assert gan.settings() != target  # applied at the step boundary
    gan.fit(data.ring(), 1, 8, progress=False)
    assert gan.settings() == target
    assert {name for _, name, _ in gan.history["events"]} == {"d_steps", "g_steps", "update", "label_smoothing",
                                                                "lr_g"}


def test_construction_only_settings_are_refused_with_a_clear_message():
    gan = make_gan()
    for key, value in (("seed", 99), ("betas", [0.9, 0.99])):
        with pytest.raises(ValueError, match=f"{key} is fixed when the GAN is built"):
            gan.configure(**{key: value})
    gan.configure(seed=0, betas=(0.5, 0.999), noise="normal")  # equal to its own: accepted
    with pytest.raises(ValueError, match="cannot configure"):
        gan.configure(device="cuda")


# ---------------------------------------------------------------------------- D and G steps per round
@pytest.mark.parametrize("bad", [-1, 11, 1.5, True, "2"])
def test_steps_per_round_are_integers_0_to_10(bad):
    with pytest.raises(ValueError, match="d_steps must be an integer from 0 to 10"):
        make_gan(d_steps=bad)
    with pytest.raises(ValueError, match="g_steps must be an integer from 0 to 10"):
        make_gan().configure(g_steps=bad)


def test_both_zero_is_refused_also_against_pending_changes():
    with pytest.raises(ValueError, match="cannot both be 0"):
        make_gan(d_steps=0, g_steps=0)
    gan = make_gan()
    gan.configure(d_steps=0)  # pending, not yet applied
    with pytest.raises(ValueError, match="cannot both be 0"):
        gan.configure(g_steps=0)
    gan.configure(d_steps=3, g_steps=0)  # together: fine
    gan.fit(data.ring(), 1, 8, progress=False)
    assert (gan.settings_now.d_steps, gan.settings_now.g_steps) == (3, 0)


def test_configure_refuses_both_step_counts_zero_whether_pending_or_applied():
    gan = make_gan()
    gan.configure(d_steps=0)
    assert gan.settings()["d_steps"] == 1  # pending: in effect from the next step boundary
    with pytest.raises(ValueError, match="both be 0"):
        gan.configure(g_steps=0)
    gan.fit(data.ring(), 1, 8, progress=False)
    # what was pending is what got applied: d_steps = 0 alone (the refused g_steps = 0 was never queued)
    assert gan.history["events"] == [(0, "d_steps", 0)]
    assert (gan.settings_now.d_steps, gan.settings_now.g_steps) == (0, 1)
    with pytest.raises(ValueError, match="both be 0"):
        gan.configure(g_steps=0)


def test_a_round_is_d_steps_then_g_steps():
    gan = make_gan(d_steps=2, g_steps=3)
    gan.train_step(data.ring(), 8)  # the first D step also checks D on the data once
    calls = []
    gan.D.register_forward_hook(lambda m, i, o: calls.append("D" if torch.is_grad_enabled() and
                                                            next(m.parameters()).requires_grad else "d"))
    gan.G.register_forward_hook(lambda m, i, o: calls.append("G"))
    gan.train_step(data.ring(), 8)
    assert adam_steps(gan.opt_d) == 4 and adam_steps(gan.opt_g) == 6
    # D steps: G (no grad), D(real), D(fake); then G steps: G, D (frozen)
    assert "".join(calls) == "GDD" * 2 + "Gd" * 3


def test_zero_g_steps_leaves_g_alone_and_records_nan():
    gan = make_gan(g_steps=0)
    g0 = params(gan.G)
    gan.fit(data.ring(), 3, 16, progress=False)
    assert same(g0, params(gan.G))
    assert all(math.isnan(v) for v in gan.history["loss_g"])
    assert all(math.isfinite(v) for v in gan.history["loss_d"] + gan.history["d_real"])
    assert gan.history["step"] == [1, 2, 3]


def test_zero_d_steps_leaves_d_alone_and_records_nan():
    gan = make_gan(d_steps=0)
    d0 = params(gan.D)
    gan.fit(data.ring(), 3, 16, progress=False)
    assert same(d0, params(gan.D))
    for key in ("loss_d", "d_real", "d_fake"):
        assert all(math.isnan(v) for v in gan.history[key])
    assert all(math.isfinite(v) for v in gan.history["loss_g"])


def test_changing_g_steps_while_training_changes_the_running_training():
    gan = make_gan()
    snapshots = {}

    def callback(g):
        if g.step == 3:
            g.configure(g_steps=0)
        snapshots[g.step] = params(g.G)

    gan.fit(data.ring(), 6, 16, callbacks=callback, progress=False)
    assert not same(snapshots[2], snapshots[3])  # G trained up to round 3
    assert same(snapshots[4], snapshots[6])       # and not from round 4 on
    assert (3, "g_steps", 0) in gan.history["events"]


# ---------------------------------------------------------------------------- D-only / G-only steps
def test_d_only_and_g_only_steps_are_recorded_rounds():
    gan = make_gan()
    s = data.ring()
    g0, d0 = params(gan.G), params(gan.D)
    rec = gan.player_round("D", s, 16)
    assert rec["step"] == 1 == gan.step and math.isnan(rec["loss_g"]) and math.isfinite(rec["loss_d"])
    assert same(g0, params(gan.G)) and not same(d0, params(gan.D))
    d1 = params(gan.D)
    rec = gan.player_round("G", None, 16)
    assert rec["step"] == 2 and math.isnan(rec["loss_d"]) and math.isnan(rec["d_real"])
    assert math.isfinite(rec["loss_g"])
    assert same(d1, params(gan.D)) and not same(g0, params(gan.G))
    assert gan.history["step"] == [1, 2] and len(gan.history["loss_d"]) == 2


def test_d_only_step_applies_pending_changes_first():
    gan = make_gan()
    gan.configure(lr_d=5e-3, label_smoothing="one_sided")
    gan.player_round("D", data.ring(), 8)
    assert gan.lr_d == 5e-3 and gan.history["lr_d"] == [5e-3]
    assert gan.history["events"] == [(0, "lr_d", 5e-3), (0, "label_smoothing", "one_sided")]


def test_d_only_and_g_only_steps_refuse_bad_arguments_before_training():
    gan = make_gan()
    with pytest.raises(TypeError, match="callable"):
        gan.player_round("D", torch.zeros(4, 2), 4)
    with pytest.raises(ValueError, match="batch_size"):
        gan.player_round("G", None, 0)
    assert gan.step == 0


# ---------------------------------------------------------------------------- update scheme
def test_simultaneous_differs_from_alternating():
    runs = {}
    for update in ("alternating", "simultaneous"):
        gan = make_gan(update=update)
        gan.fit(fixed_sampler(32), 3, 32, progress=False)
        runs[update] = params(gan.G) + params(gan.D)
    assert not same(runs["alternating"], runs["simultaneous"])


def test_simultaneous_gradients_come_from_one_pass_through_the_old_d():
    gan = make_gan(update="simultaneous", label_smoothing="two_sided", smoothing=0.1)
    gan.fit(data.ring(), 2, 32, progress=False)  # not at initialisation
    real = data.ring(seed=5)(32)
    G_old, D_old = copy.deepcopy(gan.G), copy.deepcopy(gan.D)
    rng = torch.Generator().manual_seed(0)
    rng.set_state(gan.rng.get_state())
    gan.train_step(lambda n: real, 32)

    z = torch.randn(32, gan.noise_dim, generator=rng)  # the round's noise draw
    fake_logits = D_old(G_old(z))
    g_expected = torch.autograd.grad(losses.generator_loss(fake_logits, gan.settings_now.loss), list(G_old.parameters()),
                                     retain_graph=True)
    d_expected = torch.autograd.grad(losses.discriminator_loss(D_old(real), fake_logits, 0.9, 0.1),
                                     list(D_old.parameters()))
    for p, g in zip(gan.G.parameters(), g_expected):
        torch.testing.assert_close(p.grad, g)
    for p, g in zip(gan.D.parameters(), d_expected):
        torch.testing.assert_close(p.grad, g)
    # the updated D would have given G another gradient: the test can tell the two apart
    g_new_d = torch.autograd.grad(losses.generator_loss(gan.D(G_old(z)), gan.settings_now.loss), list(G_old.parameters()))
    assert any(not torch.allclose(a, b) for a, b in zip(g_new_d, g_expected))


def test_simultaneous_with_unequal_step_counts():
    gan = make_gan(update="simultaneous", d_steps=3, g_steps=1)
    gan.train_step(data.ring(), 8)
    assert adam_steps(gan.opt_d) == 3 and adam_steps(gan.opt_g) == 1
    gan.configure(d_steps=0, g_steps=2)
    d0 = params(gan.D)
    rec = gan.train_step(data.ring(), 8)
    assert adam_steps(gan.opt_g) == 3 and same(d0, params(gan.D)) and math.isnan(rec["loss_d"])


def test_an_unknown_update_scheme_is_refused():
    with pytest.raises(ValueError, match="update"):
        make_gan(update="parallel")
    with pytest.raises(ValueError, match="update"):
        make_gan().configure(update="both")


# ---------------------------------------------------------------------------- label smoothing
def test_label_smoothing_sets_d_targets_and_checks_its_amount():
    gan = make_gan()
    assert gan.d_labels() == (1.0, 0.0)
    gan = make_gan(label_smoothing="one_sided", smoothing=0.2)
    assert gan.d_labels() == (0.8, 0.0)
    gan = make_gan(label_smoothing="two_sided", smoothing=0.2)
    assert gan.d_labels() == (0.8, 0.2)
    assert make_gan(loss="lsgan").d_labels() == (1.0, 0.0)  # LSGAN's regression targets
    assert make_gan(loss="wasserstein").d_labels() == (None, None)  # a critic has no targets
    for bad in (-0.1, 0.5, "0.1", True):
        with pytest.raises(ValueError, match="smoothing"):
            gan.configure(smoothing=bad)
    with pytest.raises(ValueError, match="label_smoothing"):
        make_gan(label_smoothing="both")


def test_smoothed_d_step_loss_and_g_step_keeps_the_real_label():
    gan = make_gan(label_smoothing="two_sided", smoothing=0.2)
    logits = []
    gan.D.register_forward_hook(lambda m, i, o: logits.append(o.detach()))
    loss_d = gan.player_round("D", data.ring(), 16)["loss_d"]
    real_l, fake_l = logits[-2], logits[-1]
    expected = (F.binary_cross_entropy_with_logits(real_l, torch.full_like(real_l, 0.8))
                + F.binary_cross_entropy_with_logits(fake_l, torch.full_like(fake_l, 0.2)))
    assert loss_d == pytest.approx(expected.item(), rel=1e-6)
    loss_g = gan.player_round("G", None, 16)["loss_g"]
    assert loss_g == pytest.approx(
        F.binary_cross_entropy_with_logits(logits[-1], torch.ones_like(logits[-1])).item(), rel=1e-6)


def test_one_sided_smoothing_caps_d_on_real_data():
    """Trained alone (G fixed), D's outputs settle at its targets: 1 - s on real data, and s on
    fakes with two-sided smoothing, instead of 1 and 0."""
    outs = {}
    for mode in ("none", "one_sided", "two_sided"):
        gan = make_gan(g_steps=0, lr_d=1e-2, label_smoothing=mode, smoothing=0.2)
        gan.fit(data.ring(), 300, 64, progress=False)
        outs[mode] = [sum(gan.history[k][-20:]) / 20 for k in ("d_real", "d_fake")]
    assert outs["none"][0] > 0.95 and outs["none"][1] < 0.05
    assert 0.75 < outs["one_sided"][0] < 0.85 and outs["one_sided"][1] < 0.05
    assert 0.75 < outs["two_sided"][0] < 0.85 and 0.15 < outs["two_sided"][1] < 0.25  # fakes: target s


def test_label_smoothing_applies_to_the_bce_kinds_only():
    a = make_gan(loss="lsgan", label_smoothing="two_sided", smoothing=0.2)
    b = make_gan(loss="lsgan")
    a.fit(data.ring(), 2, 16, progress=False)
    b.fit(data.ring(), 2, 16, progress=False)
    assert a.history["loss_d"] == b.history["loss_d"]


# ---------------------------------------------------------------------------- the other losses and the penalties
@pytest.mark.parametrize("kind", list(OBJECTIVES))
@pytest.mark.parametrize("gp_weight", [0.0, 10.0])
def test_every_loss_kind_trains_with_and_without_penalty(kind, gp_weight):
    gan = make_gan(loss=kind, gp_weight=gp_weight, pack=2)
    before = [p.detach().clone() for p in gan.D.parameters()]
    hist = gan.fit(data.grid(), 3, batch_size=16, progress=False)
    vals = hist["loss_d"] + hist["loss_g"] + hist["d_real"] + hist["d_fake"]
    assert all(math.isfinite(v) for v in vals)
    if kind in losses.BCE_LOSSES:  # probabilities only for the BCE kinds
        assert all(0 < p < 1 for p in hist["d_real"] + hist["d_fake"])
    assert any(not torch.equal(a, b) for a, b in zip(before, gan.D.parameters()))


def test_gradient_penalty_is_added_to_the_d_loss():
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


def test_configure_loss_and_gp_weight_and_refuse_bad_or_fixed_ones():
    gan = make_gan()
    gan.configure(gp_weight=5.0, loss="lsgan")
    gan.fit(data.ring(), 1, 8, progress=False)
    assert gan.settings_now.gp_weight == 5.0 and gan.settings_now.loss == "lsgan"
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


def test_r1_weight_adds_half_gamma_times_the_penalty_to_d_loss():
    real = data.grid(seed=2)(32).float()
    a, b = make_gan(), make_gan(r1_weight=4.0)
    x = real.clone().requires_grad_(True)
    by_hand = losses.r1_penalty(b.D(x), x).item()  # b's D before its step: the same nets as a's
    loss_a, loss_b = (gan.player_round("D", lambda n: real, len(real))["loss_d"] for gan in (a, b))
    assert by_hand > 0 and loss_b - loss_a == pytest.approx(4.0 / 2 * by_hand, rel=1e-4)


def test_r1_flattens_d_on_the_data():
    # D alone against a fixed G: with R1, D's slope on the real points stays far smaller
    def slope(gan):
        x = data.ring(seed=5)(256).float().requires_grad_(True)
        return losses.r1_penalty(gan.D(x), x).item()
    plain, r1 = make_gan(), make_gan(r1_weight=10.0)
    for gan in (plain, r1):
        gan.set_lr(d=1e-2)
        for _ in range(60):
            gan.player_round("D", data.ring(seed=4), 64)
    assert slope(r1) < 0.2 * slope(plain)


def test_r1_weight_is_a_setting_with_checks_and_survives_save(tmp_path):
    gan = make_gan(pack=2, r1_weight=1.0, update="simultaneous")
    gan.fit(data.ring(), 2, 16, progress=False)
    assert gan.settings()["r1_weight"] == 1.0 and all(math.isfinite(v) for v in gan.history["loss_d"])
    gan.configure(r1_weight=0.5)
    gan.fit(data.ring(), 1, 16, progress=False)
    assert gan.settings_now.r1_weight == 0.5 and (2, "r1_weight", 0.5) in gan.history["events"]
    back = GAN.load(gan.save(tmp_path / "gan.pt"), device="cpu")
    assert back.settings_now.r1_weight == 0.5
    for bad, err in ((-1.0, ValueError), (math.inf, ValueError), ("one", TypeError)):
        with pytest.raises(err, match="r1_weight"):
            gan.configure(r1_weight=bad)
    assert gan.settings_now.r1_weight == 0.5


@pytest.mark.parametrize("loss", ["non_saturating", "lsgan", "wasserstein"])
def test_fixes_combine_with_the_update_schemes_and_steps(loss):
    # pack and the gradient penalty also act in simultaneous updates and D-only / G-only rounds
    gan = make_gan(pack=2, loss=loss, gp_weight=1.0, update="simultaneous", d_steps=2, g_steps=1)
    gan.fit(data.ring(), 3, 16, progress=False)
    gan.player_round("D", data.ring(), 16)
    gan.player_round("G", None, 16)
    assert gan.step == 5 and all(math.isfinite(v) for v in gan.history["loss_d"][:4] + gan.history["loss_g"][:3])
    assert math.isnan(gan.history["loss_g"][3]) and math.isnan(gan.history["loss_d"][4])  # the one-net rounds
    with pytest.raises(ValueError, match="multiple of pack=2"):
        gan.player_round("G", None, 15)
    # every setting survives a JSON round trip into a new GAN
    back = json.loads(json.dumps(gan.settings()))
    assert back["pack"] == 2 and back["gp_weight"] == 1.0
    ge.seed_everything(0)
    rebuilt = GAN(nets.MLPGenerator(2, 2, hidden=16, depth=2), nets.MLPDiscriminator(4, hidden=16, depth=2),
                  device="cpu", **back)
    assert rebuilt.settings() == back


# ---------------------------------------------------------------------------- PacGAN packing
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
    gan.player_round("D", lambda n: real, len(real))
    real_seen = D.seen[-2]  # D(real), then D(fake)
    assert real_seen.shape == (4, 6)   # the real batch, 12 samples in packs of 3
    assert torch.equal(real_seen[1], torch.cat([real[3], real[4], real[5]]))
    gan.fit(data.ring(), 2, batch_size=12, progress=False)
    assert all(x.shape[1] == 6 for x in D.seen)
    assert gan.discriminate(torch.zeros(5, 2)).shape == (5,)  # D's view of packs of copies


def test_pack_mismatches_are_clear_errors():
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


# ---------------------------------------------------------------------------- the moving average of G's weights
def test_g_ema_follows_the_recurrence_after_every_round():
    gan = ema_gan(ema=0.8)
    assert all(torch.equal(a, p) for a, p in zip(gan.G_ema.parameters(), gan.G.parameters()))  # starts at G
    expected = [p.detach().clone() for p in gan.G.parameters()]

    def follow(g):
        for e, p in zip(expected, g.G.parameters()):
            e.mul_(0.8).add_(0.2 * p.detach())

    gan.fit(data.ring(), 5, 32, callbacks=[follow], progress=False)
    assert all(torch.allclose(a, e, atol=1e-6) for a, e in zip(gan.G_ema.parameters(), expected))
    assert not all(torch.equal(a, p) for a, p in zip(gan.G_ema.parameters(), gan.G.parameters()))
    assert not any(p.requires_grad for p in gan.G_ema.parameters())
    gan.player_round("D", data.ring(), 32)  # no G step, no update
    assert all(torch.allclose(a, e, atol=1e-6) for a, e in zip(gan.G_ema.parameters(), expected))


def test_the_average_does_not_change_training_and_sample_draws_from_it():
    plain, averaged = ema_gan(), ema_gan(ema=0.9)
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
    gan = ema_gan(ema=0.5)
    assert gan.settings()["ema"] == 0.5 and ema_gan().settings()["ema"] == 0.0
    gan.fit(data.ring(), 3, 32, progress=False)
    gan.configure(ema=0.5)  # its own value: accepted (configure(**gan.settings()) works)
    with pytest.raises(ValueError, match="ema is fixed"):
        gan.configure(ema=0.9)
    for bad in (-0.1, 1.0, True, "0.9", float("nan")):
        with pytest.raises(ValueError, match="ema must be"):
            ema_gan(ema=bad)
    back = GAN.load(gan.save(tmp_path / "g.pt"), device="cpu")
    assert back.settings_now.ema == 0.5
    assert all(torch.equal(a, b) for a, b in zip(back.G_ema.parameters(), gan.G_ema.parameters()))
    z = gan.noise(8)
    assert torch.equal(back.sample(z=z), gan.sample(z=z))


# ---------------------------------------------------------------------------- bad input and failures
def test_sampler_errors_name_the_problem():
    gan = make_gan()
    with pytest.raises(TypeError, match="torch.Tensor"):
        gan.fit(lambda n: [[0.0, 0.0]] * n, 1, 4, progress=False)
    with pytest.raises(TypeError, match="floating-point"):
        gan.fit(lambda n: torch.zeros(n, 2, dtype=torch.int64), 1, 4, progress=False)
    with pytest.raises(ValueError, match=r"sampler\(4\)"):
        gan.fit(lambda n: torch.zeros(n + 1, 2), 1, 4, progress=False)
    with pytest.raises(TypeError, match="callable"):
        gan.fit(torch.zeros(4, 2), 1, 4, progress=False)
    with pytest.raises(ValueError, match="steps"):
        gan.fit(data.ring(), 0, 4, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        gan.fit(data.ring(), 1, -4, progress=False)
    assert gan.step == 0 and all(p.grad is None for p in gan.G.parameters())


def test_a_generator_whose_output_does_not_match_the_data_is_refused():
    ge.seed_everything(0)
    gan = GAN(nets.MLPGenerator(2, 3), nets.MLPDiscriminator(2), device="cpu")
    with pytest.raises(ValueError, match=r"generator's output shape \(3,\) does not match the data shape \(2,\)"):
        gan.fit(data.ring(), 1, 8, progress=False)


def test_a_discriminator_that_cannot_take_the_data_is_refused():
    gan = GAN(nets.MLPGenerator(2, 2), nets.MLPDiscriminator(3), device="cpu")
    with pytest.raises(ValueError, match="discriminator cannot take data"):
        gan.fit(data.ring(), 1, 8, progress=False)


def test_non_finite_loss_stops_with_model_intact():
    gan = make_gan()
    gan.fit(data.ring(), 3, 16, progress=False)
    before = weights(gan)
    with pytest.raises(NonFiniteLossError, match="last finite state"):
        gan.fit(lambda n: torch.full((n, 2), math.nan), 2, 16, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, weights(gan)))
    assert gan.step == 3 and len(gan.history["loss_d"]) == 3
    gan.fit(data.ring(), 2, 16, progress=False)  # and it trains on afterwards
    assert gan.step == 5


def test_exploding_learning_rate_is_caught_before_weights_go_non_finite():
    gan = make_gan(optimizer="sgd")
    gan.set_lr(d=10.0, g=10.0)  # the largest learning rate GAN accepts (checks.MAX_LR)
    with pytest.raises(NonFiniteLossError):
        gan.fit(data.ring(), 50, 16, progress=False)
    assert all(torch.isfinite(w).all() for w in weights(gan))


def test_interrupt_stops_at_a_step_boundary_and_resumes():
    gan = make_gan()
    handler = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN under nohup / `cmd &`

    def interrupt(g):
        if g.step == 4:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt, match="resume"):
        gan.fit(data.ring(), 10, 16, callbacks=interrupt, progress=False)
    assert gan.step == 4 and len(gan.history["loss_g"]) == 4
    assert signal.getsignal(signal.SIGINT) is handler  # fit put the caller's handler back
    gan.fit(data.ring(), 3, 16, progress=False)
    assert gan.step == 7


# ---------------------------------------------------------------------------- nothing changes the model unless it trains
def model_state(gan):
    """Every weight and every buffer (batch norm's running statistics, counters) of G, G_ema and D."""
    nets = [gan.G, gan.D] + ([gan.G_ema] if gan.G_ema is not None else [])
    return [t.detach().clone() for net in nets for t in list(net.parameters()) + list(net.buffers())]


def dcgan(**kw):
    ge.seed_everything(0)
    G, D = nets.DCGANGenerator(noise_dim=8, image_size=8, width=8), nets.DCGANDiscriminator(image_size=8, width=8)
    return GAN(G, D, device="cpu", seed=0, **kw)


def test_sampling_and_judging_leave_every_weight_and_buffer_as_it_was():
    gan = dcgan(ema=0.9)
    gan.fit(data.TensorSampler(torch.rand(64, 1, 8, 8) * 2 - 1, seed=0), 2, batch_size=16, progress=False)
    assert any(b.numel() for b in gan.G.buffers())  # batch norm's running statistics are there to move
    before = model_state(gan)
    gan.sample(32), gan.sample(8, averaged=False), gan.discriminate(torch.zeros(4, 1, 8, 8))
    x = torch.zeros(4, 1, 8, 8, requires_grad=True)
    (grad,) = torch.autograd.grad(gan.d_output(x).sum(), x)  # as G's gradient arrows take it
    assert grad.shape == x.shape
    assert same(before, model_state(gan))


def test_a_sample_is_drawn_in_training_mode_on_the_batchs_statistics():
    gan = dcgan()
    z = torch.randn(16, 8)
    with torch.no_grad():
        expected = gan.G(z).float()  # training mode: the batch's own statistics
    assert gan.G.training and torch.equal(gan.sample(z=z), expected)


def _everything(gan) -> dict:
    import copy

    return copy.deepcopy(dict(G=gan.G.state_dict(), D=gan.D.state_dict(), G_ema=gan.G_ema.state_dict(),
                              opt_d=gan.opt_d.state_dict(), opt_g=gan.opt_g.state_dict(), step=gan.step,
                              history={k: list(v) for k, v in gan.history.items()}))


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if torch.is_tensor(a):
        return torch.equal(a, b)
    return a == b or (a != a and b != b)


@pytest.mark.parametrize("case", ["nan in the 3rd D step", "nan in the 2nd G step", "sampler fails in the 2nd D step",
                                  "first round, optimizer state new"])
def test_a_refused_step_undoes_its_whole_round(case):
    torch.manual_seed(0)
    G, D = nets.DCGANGenerator(noise_dim=8, image_size=8, width=8), nets.DCGANDiscriminator(image_size=8, width=8)
    gan = GAN(G, D, d_steps=3 if "D step" in case else 1, g_steps=2 if "G step" in case else 1, ema=0.9, seed=0)
    images = data.TensorSampler(torch.rand(64, 1, 8, 8) * 2 - 1, seed=0)
    if not case.startswith("first"):
        gan.fit(images, 2, 16, progress=False)
    before, calls = _everything(gan), []

    def sampler(n):
        calls.append(n)
        if case == "sampler fails in the 2nd D step" and len(calls) == 2:
            raise RuntimeError("disk gone")
        x = images(n)
        return x * float("nan") if case in ("nan in the 3rd D step", "first round, optimizer state new") \
            and len(calls) == (3 if "3rd" in case else 2) else x

    if "G step" in case:
        noise, g_calls = gan.noise, []
        gan.noise = lambda n: (g_calls.append(n), noise(n) * (float("nan") if len(g_calls) == 3 else 1))[1]
    if case.startswith("first"):
        gan.configure(d_steps=2)
    with pytest.raises((ge.NonFiniteLossError, RuntimeError)):
        gan.train_step(sampler, 16)
    after = _everything(gan)
    if case.startswith("first"):  # the configure change was applied at the boundary; nothing else moved
        assert gan.settings_now.d_steps == 2 and not gan.opt_d.state and not gan.opt_g.state
        assert after["history"].pop("events") == [(0, "d_steps", 2)] and not before["history"].pop("events")
    assert _same(before, after), case

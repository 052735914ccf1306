"""GAN Lab controls in the training loop: D/G steps per round, D-only / G-only steps, the
simultaneous update, label smoothing, and the settings dict (issue 7)."""
import copy
import json
import math

import pytest
import torch
import torch.nn.functional as F

import gan_edu as ge
from gan_edu import data, losses, nets
from gan_edu.train import GAN


def make_gan(seed=0, **kw):
    ge.seed_everything(seed)
    kw.setdefault("lr_d", 1e-3)
    kw.setdefault("lr_g", 1e-3)
    return GAN(nets.MLPGenerator(2, 2, hidden=16, depth=2), nets.MLPDiscriminator(2, hidden=16, depth=2),
               device="cpu", seed=seed, **kw)


def params(net):
    return [p.detach().clone() for p in net.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def adam_steps(opt):
    return int(next(iter(opt.state.values()))["step"]) if opt.state else 0


# ---------------------------------------------------------------------------- steps per round
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
    assert (gan.d_steps, gan.g_steps) == (3, 0)


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
    rec = gan.d_only_step(s, 16)
    assert rec["step"] == 1 == gan.step and math.isnan(rec["loss_g"]) and math.isfinite(rec["loss_d"])
    assert same(g0, params(gan.G)) and not same(d0, params(gan.D))
    d1 = params(gan.D)
    rec = gan.g_only_step(16)
    assert rec["step"] == 2 and math.isnan(rec["loss_d"]) and math.isnan(rec["d_real"])
    assert math.isfinite(rec["loss_g"])
    assert same(d1, params(gan.D)) and not same(g0, params(gan.G))
    assert gan.history["step"] == [1, 2] and len(gan.history["loss_d"]) == 2


def test_d_only_step_applies_pending_changes_first():
    gan = make_gan()
    gan.configure(lr_d=5e-3, label_smoothing="one_sided")
    gan.d_only_step(data.ring(), 8)
    assert gan.lr_d == 5e-3 and gan.history["lr_d"] == [5e-3]
    assert gan.history["events"] == [(0, "lr_d", 5e-3), (0, "label_smoothing", "one_sided")]


def test_d_only_and_g_only_step_errors():
    gan = make_gan()
    with pytest.raises(TypeError, match="callable"):
        gan.d_only_step(torch.zeros(4, 2), 4)
    with pytest.raises(ValueError, match="batch_size"):
        gan.g_only_step(0)
    assert gan.step == 0


# ---------------------------------------------------------------------------- update scheme
def fixed_sampler(n, seed=1):
    batch = data.ring(seed=seed)(n)
    return lambda k: batch[:k]


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
    g_expected = torch.autograd.grad(losses.generator_loss(fake_logits, gan.loss), list(G_old.parameters()),
                                     retain_graph=True)
    d_expected = torch.autograd.grad(losses.discriminator_loss(D_old(real), fake_logits, 0.9, 0.1),
                                     list(D_old.parameters()))
    for p, g in zip(gan.G.parameters(), g_expected):
        torch.testing.assert_close(p.grad, g)
    for p, g in zip(gan.D.parameters(), d_expected):
        torch.testing.assert_close(p.grad, g)
    # the updated D would have given G another gradient: the test can tell the two apart
    g_new_d = torch.autograd.grad(losses.generator_loss(gan.D(G_old(z)), gan.loss), list(G_old.parameters()))
    assert any(not torch.allclose(a, b) for a, b in zip(g_new_d, g_expected))


def test_simultaneous_with_unequal_step_counts():
    gan = make_gan(update="simultaneous", d_steps=3, g_steps=1)
    gan.train_step(data.ring(), 8)
    assert adam_steps(gan.opt_d) == 3 and adam_steps(gan.opt_g) == 1
    gan.configure(d_steps=0, g_steps=2)
    d0 = params(gan.D)
    rec = gan.train_step(data.ring(), 8)
    assert adam_steps(gan.opt_g) == 3 and same(d0, params(gan.D)) and math.isnan(rec["loss_d"])


def test_update_is_validated():
    with pytest.raises(ValueError, match="update"):
        make_gan(update="parallel")
    with pytest.raises(ValueError, match="update"):
        make_gan().configure(update="both")


# ---------------------------------------------------------------------------- label smoothing
@pytest.mark.parametrize("labels", [(1.0, 0.0), (0.9, 0.0), (0.8, 0.2), (0.5, 0.5)])
def test_labelled_discriminator_loss_is_bce_with_logits(labels):
    torch.manual_seed(0)
    real, fake = torch.randn(50) * 3, torch.randn(40) * 3
    y_r, y_f = labels
    expected = (F.binary_cross_entropy_with_logits(real, torch.full_like(real, y_r))
                + F.binary_cross_entropy_with_logits(fake, torch.full_like(fake, y_f)))
    torch.testing.assert_close(losses.discriminator_loss(real, fake, real_label=y_r, fake_label=y_f), expected)
    torch.testing.assert_close(losses.discriminator_loss(real, fake), losses.discriminator_loss(real, fake, 1.0, 0.0))
    with pytest.raises(ValueError, match="real_label"):
        losses.discriminator_loss(real, fake, real_label=1.5)


def test_label_smoothing_targets():
    gan = make_gan()
    assert gan.d_labels() == (1.0, 0.0)
    gan = make_gan(label_smoothing="one_sided", smoothing=0.2)
    assert gan.d_labels() == (0.8, 0.0)
    gan = make_gan(label_smoothing="two_sided", smoothing=0.2)
    assert gan.d_labels() == (0.8, 0.2)
    for bad in (-0.1, 0.5, "0.1", True):
        with pytest.raises(ValueError, match="smoothing"):
            gan.configure(smoothing=bad)
    with pytest.raises(ValueError, match="label_smoothing"):
        make_gan(label_smoothing="both")


def test_smoothed_d_step_loss_and_g_step_keeps_the_real_label():
    gan = make_gan(label_smoothing="two_sided", smoothing=0.2)
    logits = []
    gan.D.register_forward_hook(lambda m, i, o: logits.append(o.detach()))
    loss_d, _, _ = gan.d_step(data.ring()(16))
    real_l, fake_l = logits[-2], logits[-1]
    expected = (F.binary_cross_entropy_with_logits(real_l, torch.full_like(real_l, 0.8))
                + F.binary_cross_entropy_with_logits(fake_l, torch.full_like(fake_l, 0.2)))
    assert loss_d.item() == pytest.approx(expected.item(), rel=1e-6)
    loss_g = gan.g_step(16)
    assert loss_g.item() == pytest.approx(
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


# ---------------------------------------------------------------------------- settings
def test_settings_json_round_trip():
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


def test_new_settings_are_saved_in_checkpoints(tmp_path):
    gan = make_gan(d_steps=0, g_steps=2, update="simultaneous", label_smoothing="two_sided", smoothing=0.05)
    gan.fit(data.ring(), 2, 8, progress=False)
    back = GAN.load(gan.save(tmp_path / "g.pt"), device="cpu")
    assert back.settings() == gan.settings()
    assert back.history["loss_d"][0] != back.history["loss_d"][0]  # NaN survives the round trip
    # an older checkpoint without the new keys loads with the defaults
    state = torch.load(tmp_path / "g.pt", weights_only=True)
    for key in ("g_steps", "update", "label_smoothing", "smoothing"):
        del state["settings"][key]
    state["settings"]["d_steps"] = 1
    torch.save(state, tmp_path / "old.pt")
    old = GAN.load(tmp_path / "old.pt", device="cpu")
    assert (old.g_steps, old.update, old.label_smoothing, old.smoothing) == (1, "alternating", "none", 0.1)


def test_configure_refuses_both_step_counts_zero_whether_pending_or_applied():
    gan = make_gan()
    gan.configure(d_steps=0)
    with gan._pending_lock:
        pending = dict(gan._pending)
    assert pending == {"d_steps": 0}
    with pytest.raises(ValueError, match="both be 0"):
        gan.configure(g_steps=0)
    gan.fit(data.ring(), 1, 8, progress=False)
    with pytest.raises(ValueError, match="both be 0"):
        gan.configure(g_steps=0)

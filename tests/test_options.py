"""gan_edu.options: the objectives, packing, penalties, NaN guard and EMA hook the steps call."""
import pytest
import torch
from torch import nn

from gan_edu import losses, nets, options
from gan_edu.options import ema_update
from gan_edu.algorithm import BCE
from gan_edu.settings import Settings


def test_smoothed_labels():
    assert options.smoothed_labels("none", 0.2) == (1.0, 0.0)
    assert options.smoothed_labels("one_sided", 0.2) == (0.8, 0.0)
    assert options.smoothed_labels("two_sided", 0.2) == (0.8, 0.2)


def test_objective_for_each_loss_kind():
    l = torch.tensor([[0.3], [-1.2]])
    bce = options.objective_for(Settings(label_smoothing="two_sided", smoothing=0.2))
    assert isinstance(bce, BCE) and (bce.real_label, bce.fake_label) == (0.8, 0.2)
    assert torch.equal(bce.d_loss(l, l), losses.discriminator_loss(l, l, 0.8, 0.2))
    ls = options.objective_for(Settings(loss="lsgan"))
    assert torch.equal(ls.d_loss(l, l), losses.lsgan_discriminator_loss(l, l)) and not ls.probabilities
    w = options.objective_for(Settings(loss="wasserstein"))
    assert torch.equal(w.g_loss(l), losses.wasserstein_generator_loss(l)) and torch.equal(w.outputs(l), l)


def test_packing_concatenates_consecutive_samples():
    x = torch.arange(12.0).reshape(6, 2)
    assert torch.equal(options.Packing(3)(x), torch.tensor([[0., 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]))
    assert options.Packing(1)(x) is x
    images = torch.zeros(4, 1, 8, 8)
    assert options.Packing(2)(images).shape == (2, 2, 8, 8)


def test_penalties_add_in_order_and_only_when_weighted():
    torch.manual_seed(0)
    D = nets.MLPDiscriminator(2, hidden=8, depth=1)
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    rng = torch.Generator().manual_seed(0)
    none = options.Penalties([options.GradientPenalty(0.0, D, rng), options.R1Penalty(0.0)])
    loss = torch.tensor(1.0)
    assert none(loss, real, fake, None) is loss and none.watch(real) is real
    r1 = options.Penalties([options.R1Penalty(2.0)])
    watched = r1.watch(real)
    assert watched.requires_grad
    out = D(watched)
    assert r1(loss, watched, fake, out).item() == pytest.approx(1.0 + losses.r1_penalty(out, watched).item())


def test_finite_check_refuses_a_nan_loss():
    class Gan:  # what the guard reads for its message
        step, lr_d, lr_g = 7, 1e-3, 1e-3
    net = torch.nn.Linear(2, 1)
    net(torch.ones(1, 2)).sum().backward()
    guard = options.FiniteCheck("discriminator", Gan())
    guard(torch.tensor(1.0), net)  # finite: nothing happens
    with pytest.raises(options.NonFiniteLossError, match="discriminator loss .* at step 7"):
        guard(torch.tensor(float("nan")), net)
    assert all(p.grad is None for p in net.parameters())


def test_ema_hook_updates_only_after_a_g_step():
    net, avg = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
    with torch.no_grad():
        net.weight.fill_(1.0), avg.weight.fill_(0.0)
    hook = options.EMA(avg, net, 0.75)
    hook(0)
    assert avg.weight.item() == 0.0
    hook(1)
    assert avg.weight.item() == pytest.approx(0.25)


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


# ---------------------------------------------------------------------------- the table of objectives
class Hinge:
    """A loss the package does not have (the hinge loss of Lim & Ye 2017), added as one entry."""
    probabilities, real_label, fake_label = False, None, None

    def d_loss(self, real_out, fake_out):
        return torch.relu(1 - real_out).mean() + torch.relu(1 + fake_out).mean()

    def g_loss(self, fake_out):
        return -fake_out.mean()

    def outputs(self, out):
        return out.float()


def test_a_new_loss_is_one_entry_in_the_table_and_its_object(monkeypatch):
    from gan_edu import data, options
    from support import make_gan

    monkeypatch.setitem(options.OBJECTIVES, "hinge", lambda settings: Hinge())
    gan = make_gan(loss="hinge")
    history = gan.fit(data.ring(), 3, batch_size=16, progress=False)
    assert isinstance(gan.rules.objective, Hinge) and gan.settings()["loss"] == "hinge"
    assert len(history["loss_d"]) == 3 and gan.d_labels() == (None, None)
    gan.configure(loss="non_saturating")  # and back, while it trains
    gan.fit(data.ring(), 1, batch_size=16, progress=False)
    assert gan.settings()["loss"] == "non_saturating"


def test_every_objective_has_what_the_steps_and_the_history_use():
    from gan_edu import options
    from gan_edu.settings import Settings

    for name, build in options.OBJECTIVES.items():
        objective = build(Settings(loss=name))
        for attribute in ("d_loss", "g_loss", "outputs", "probabilities", "real_label", "fake_label"):
            assert hasattr(objective, attribute), (name, attribute)


@pytest.mark.parametrize("bad", ["nan grad", "inf grad", "nan loss", "inf loss", "none"])
def test_all_finite_reads_every_gradient_and_the_loss_and_changes_nothing(bad):
    import math

    found, one = torch.zeros(1), torch.ones(())
    grads = [torch.randn(3, 3), torch.randn(4)]
    loss = torch.tensor(0.3)
    if bad.endswith("grad"):
        grads[1][2] = math.nan if bad.startswith("nan") else -math.inf
    elif bad.endswith("loss"):
        loss = torch.tensor(math.nan if bad.startswith("nan") else math.inf)
    kept = [g.clone() for g in grads]
    assert options.all_finite(loss, grads, found, one) == (bad == "none")
    assert all(torch.equal(a, b) or torch.isnan(a).any() for a, b in zip(grads, kept))  # scaled by 1: unchanged
    assert options.all_finite(torch.tensor(1.0), [], found, one)  # a net without gradients yet


@pytest.mark.parametrize("d_steps, g_steps, update, early", [
    (1, 1, "alternating", ("D",)), (0, 1, "alternating", ()), (1, 0, "alternating", ()), (3, 0, "alternating", ("D",)),
    (1, 2, "alternating", ("D", "G")), (0, 3, "alternating", ("G",)), (1, 1, "simultaneous", ()),
    (2, 1, "simultaneous", ("D", "G")), (1, 3, "simultaneous", ("D", "G"))])
def test_changed_before_last_lists_what_a_refused_last_step_would_leave_half_applied(d_steps, g_steps, update, early):
    assert options.changed_before_last(d_steps, g_steps, update) == early

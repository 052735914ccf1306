"""gan_edu.algorithm: Algorithm 1 as plain functions, checked against a loop written out by hand."""
import copy

import pytest
import torch
import torch.nn.functional as F

from gan_edu import algorithm, data, nets
from gan_edu.algorithm import FAKE_LABEL, REAL_LABEL, BCE, Rules


def make(seed=0):
    torch.manual_seed(seed)
    G, D = nets.MLPGenerator(2, 2, hidden=16, depth=2), nets.MLPDiscriminator(2, hidden=16, depth=2)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(seed)
    return G, D, opt_d, opt_g, (lambda n: torch.randn(n, 2, generator=rng))


def by_hand(G, D, opt_d, opt_g, real, noise):
    """One round of Algorithm 1 with PyTorch's own BCE, the way notebook 03 writes it."""
    with torch.no_grad():
        fake = G(noise(len(real)))
    real_logits, fake_logits = D(real), D(fake)
    loss_d = (F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, 1.0))
              + F.binary_cross_entropy_with_logits(fake_logits, torch.full_like(fake_logits, 0.0)))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    fake_logits = D(G(noise(len(real))))
    loss_g = F.binary_cross_entropy_with_logits(fake_logits, torch.full_like(fake_logits, 1.0))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return loss_d.item(), loss_g.item()


def test_labels_are_step_0():
    assert (REAL_LABEL, FAKE_LABEL) == (1.0, 0.0)
    assert (BCE().real_label, BCE().fake_label) == (REAL_LABEL, FAKE_LABEL)


def test_alternating_round_is_the_hand_written_loop():
    a, b = make(), make()
    ring_a, ring_b = data.ring(seed=0), data.ring(seed=0)
    for _ in range(30):
        want = by_hand(*a[:4], ring_a(64), a[4])
        loss_d, loss_g, _, _ = algorithm.alternating_round(*b[:4], lambda: ring_b(64), 64, b[4])
        assert (loss_d.item(), loss_g.item()) == pytest.approx(want, rel=1e-5, abs=1e-6)
    for p, q in zip([*a[0].parameters(), *a[1].parameters()], [*b[0].parameters(), *b[1].parameters()]):
        assert torch.allclose(p, q, rtol=1e-4, atol=1e-5)


def test_d_step_keeps_g_out_and_g_step_leaves_d_alone():
    G, D, opt_d, opt_g, noise = make()
    g_before = [p.clone() for p in G.parameters()]
    algorithm.d_step(G, D, opt_d, data.ring()(32), noise)
    assert all(p.grad is None for p in G.parameters())  # no graph reached G
    assert all(torch.equal(p, q) for p, q in zip(G.parameters(), g_before))
    d_before = [p.clone() for p in D.parameters()]
    opt_d.zero_grad(set_to_none=True)
    algorithm.g_step(G, D, opt_g, 32, noise)
    assert all(p.grad is None for p in D.parameters())  # D frozen: no gradient into its weights
    assert all(torch.equal(p, q) for p, q in zip(D.parameters(), d_before))
    assert all(p.requires_grad for p in D.parameters())  # and unfrozen afterwards


def test_g_step_minimises_bce_with_the_real_label():
    G, D, _, opt_g, noise = make()
    seen = []
    D.register_forward_hook(lambda m, i, o: seen.append(o.detach()))
    loss = algorithm.g_step(G, D, opt_g, 32, noise)
    want = F.binary_cross_entropy_with_logits(seen[0], torch.full_like(seen[0], REAL_LABEL))
    assert loss.item() == pytest.approx(want.item(), rel=1e-6)


def test_simultaneous_step_takes_both_gradients_at_the_same_point():
    G, D, opt_d, opt_g, noise = make()
    G0, D0 = copy.deepcopy(G), copy.deepcopy(D)
    real = data.ring(seed=1)(32)
    state = torch.Generator().manual_seed(5)
    z = torch.randn(32, 2, generator=state)
    algorithm.simultaneous_step(G, D, torch.optim.SGD(D.parameters(), lr=0.1), torch.optim.SGD(G.parameters(), lr=0.1),
                                real, lambda n: z)
    # by hand: gradients at (G0, D0), then both SGD steps
    fake = G0(z)
    loss_d = algorithm.BCE().d_loss(D0(real), D0(fake.detach()))
    loss_g = algorithm.BCE().g_loss(D0(fake))
    grads_d = torch.autograd.grad(loss_d, list(D0.parameters()))
    grads_g = torch.autograd.grad(loss_g, list(G0.parameters()))
    for p, p0, g in zip(D.parameters(), D0.parameters(), grads_d):
        assert torch.allclose(p, p0 - 0.1 * g, atol=1e-6)
    for p, p0, g in zip(G.parameters(), G0.parameters(), grads_g):
        assert torch.allclose(p, p0 - 0.1 * g, atol=1e-6)


def test_simultaneous_round_runs_the_leftover_steps_alone():
    G, D, opt_d, opt_g, noise = make()
    calls = []
    ring = data.ring()
    out = algorithm.simultaneous_round(G, D, opt_d, opt_g, lambda: calls.append(1) or ring(16), 16, noise,
                                       d_steps=3, g_steps=1)
    assert len(calls) == 3 and all(v is not None for v in out)
    out = algorithm.simultaneous_round(G, D, opt_d, opt_g, lambda: ring(16), 16, noise, d_steps=0, g_steps=2)
    assert out[0] is None and out[1] is not None


def test_rules_are_called_by_the_steps():
    seen = {"pack": 0, "penalty": 0, "check_d": 0, "check_g": 0}

    def count(name, result=None):
        def f(*args):
            seen[name] += 1
            return args[0] if result is None else result
        return f

    rules = Rules(BCE(), count("pack"), count("penalty"), count("check_d", False), count("check_g", False))
    G, D, opt_d, opt_g, noise = make()
    algorithm.alternating_round(G, D, opt_d, opt_g, lambda: data.ring()(16), 16, noise, rules=rules)
    assert seen == {"pack": 3, "penalty": 1, "check_d": 1, "check_g": 1}


def test_a_check_that_raises_stops_the_update():
    G, D, opt_d, opt_g, noise = make()
    before = [p.clone() for p in D.parameters()]

    def refuse(loss, net):
        raise FloatingPointError("refused")

    with pytest.raises(FloatingPointError):
        algorithm.d_step(G, D, opt_d, data.ring()(16), noise, Rules(check_d=refuse))
    assert all(torch.equal(p, q) for p, q in zip(D.parameters(), before))

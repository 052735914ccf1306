"""Notebook 03's checkers (gan_edu.exercises.mlp and .steps): each accepts right answers, names the
mistake in wrong ones, says "not done yet" to the student edition's stub, and leaves the RNG alone.

(The whole-round checker ``check_train_step`` is tested in tests/exercises/test_bce.py; its new error
translations are here.)"""
import functools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gan_edu as ge
from gan_edu import exercises
from gan_edu.exercises import check_d_step, check_g_step, check_mlp_nets, check_train_step

bce = F.binary_cross_entropy_with_logits


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError


def outcome(check, *fns, capsys):
    """(what the checker returned, what it printed)."""
    result = check(*fns)
    return result, capsys.readouterr().out


# ----------------------------------------------------------------------------- the two players
def make_G(noise_dim, data_dim):
    return nn.Sequential(nn.Linear(noise_dim, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, data_dim))


def make_D(data_dim):
    return nn.Sequential(nn.Linear(data_dim, 64), nn.LeakyReLU(0.2), nn.Linear(64, 64), nn.LeakyReLU(0.2),
                         nn.Linear(64, 1))


class FunctionalG(nn.Module):
    """A right G written with functional activations in forward."""

    def __init__(self, noise_dim, data_dim):
        super().__init__()
        self.a, self.b = nn.Linear(noise_dim, 16), nn.Linear(16, data_dim)

    def forward(self, z):
        return self.b(F.relu(self.a(z)))


class Squashed(nn.Module):
    """A net followed by a functional squashing in forward (invisible in its layers)."""

    def __init__(self, net, fn):
        super().__init__()
        self.net, self.fn = net, fn

    def forward(self, x):
        return self.fn(self.net(x))


class PlainList(nn.Module):
    """Layers kept in a Python list: PyTorch sees no parameters."""

    def __init__(self, d_in, d_out):
        super().__init__()
        self.layers = [nn.Linear(d_in, 8), nn.ReLU(), nn.Linear(8, d_out)]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Unused(nn.Module):
    """A layer built in __init__ and never used."""

    def __init__(self, d_in, d_out):
        super().__init__()
        self.net, self.spare = make_D(d_in), nn.Linear(3, 3)

    def forward(self, x):
        return self.net(x)


def frozen(net):
    net[0].weight.requires_grad_(False)
    return net


@pytest.mark.parametrize("nets", [(make_G, make_D), (ge.nets.MLPGenerator, ge.nets.MLPDiscriminator),
                                  (FunctionalG, lambda d: nn.Sequential(nn.Linear(d, 8), nn.Tanh(), nn.Linear(8, 1)))],
                         ids=["Sequential", "gan_edu.nets", "functional, tanh inside"])
def test_check_mlp_nets_accepts_right_answers(nets, capsys):
    result, out = outcome(check_mlp_nets, *nets, capsys=capsys)
    assert result is True and out.startswith("check_mlp_nets: correct.") and out.count("\n") == 1, out


WRONG_NETS = {
    "sigmoid at D's end": ((make_G, lambda d: nn.Sequential(make_D(d), nn.Sigmoid())), "D ends in a sigmoid"),
    "sigmoid in D's forward": ((make_G, lambda d: Squashed(make_D(d), torch.sigmoid)), "a torch.sigmoid in forward"),
    "tanh at D's end": ((make_G, lambda d: nn.Sequential(make_D(d), nn.Tanh())), "D ends in tanh"),
    "ReLU at D's end": ((make_G, lambda d: nn.Sequential(make_D(d), nn.ReLU())), "D ends in a ReLU"),
    "softmax at D's end": ((make_G, lambda d: nn.Sequential(make_D(d), nn.Softmax(dim=1))), "D ends in a softmax"),
    "D with two outputs": ((make_G, lambda d: nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 2))),
                           "one logit per sample"),
    "D squeezed": ((make_G, lambda d: nn.Sequential(make_D(d), nn.Flatten(0))), "Keep the last dimension"),
    "tanh at G's end": ((lambda n, d: nn.Sequential(make_G(n, d), nn.Tanh()), make_D), "G ends in Tanh"),
    "sigmoid at G's end": ((lambda n, d: nn.Sequential(make_G(n, d), nn.Sigmoid()), make_D), "G ends in Sigmoid"),
    "ReLU at G's end": ((lambda n, d: nn.Sequential(make_G(n, d), nn.ReLU()), make_D), "only lie in [0, inf)"),
    "LeakyReLU at G's end": ((lambda n, d: nn.Sequential(make_G(n, d), nn.LeakyReLU(0.2)), make_D),
                             "G ends in LeakyReLU, an activation after its last layer"),
    "LeakyReLU at D's end": ((make_G, lambda d: nn.Sequential(make_D(d), nn.LeakyReLU(0.2))),
                             "D ends in LeakyReLU, an activation after its last layer"),
    "PReLU at D's end": ((make_G, lambda d: nn.Sequential(make_D(d), nn.PReLU())), "D ends in PReLU"),
    "tanh in G's forward": ((lambda n, d: Squashed(make_G(n, d), torch.tanh), make_D), "a torch.tanh or sigmoid"),
    "relu in G's forward": ((lambda n, d: Squashed(make_G(n, d), torch.relu), make_D), "a relu in forward"),
    "affine G": ((lambda n, d: nn.Linear(n, d), make_D), "an affine map of Gaussian noise is a Gaussian"),
    "affine D": ((make_G, lambda d: nn.Sequential(nn.Linear(d, 16), nn.Linear(16, 1))), "straight boundary"),
    "hard-coded sizes in G": ((lambda n, d: make_G(2, 1), make_D), "Use the arguments"),
    "hard-coded data size in D": ((make_G, lambda d: make_D(1)), "D's first layer must take data_dim = 2"),
    "G's output width fixed": ((lambda n, d: make_G(n, 1), make_D), "Use the arguments (noise_dim, data_dim)"),
    "BatchNorm in D": ((make_G, lambda d: nn.Sequential(nn.Linear(d, 8), nn.BatchNorm1d(8), nn.ReLU(),
                                                        nn.Linear(8, 1))), "batch of one"),
    "layers in a Python list": ((lambda n, d: PlainList(n, d), make_D), "no weights to train"),
    "frozen weights": ((lambda n, d: frozen(make_G(n, d)), make_D), "requires_grad=False"),
    "an unused layer": ((make_G, lambda d: Unused(d, 1)), "get no gradient"),
    "returns the class": ((lambda n, d: nn.Sequential, make_D), "returned a class"),
    "returns a tensor": ((lambda n, d: torch.zeros(n, d), make_D), "must return the net, an nn.Module"),
    "raises": ((make_G, lambda d: nn.Linear(d)), "Your make_D(1) raised TypeError"),
    "a net, not a function": ((make_G(2, 1), make_D), "Pass the functions that build the nets"),
    "not a function": ((make_G, 3), "Pass your functions themselves"),
}


@pytest.mark.parametrize("mistake", list(WRONG_NETS))
def test_check_mlp_nets_names_the_mistake(mistake, capsys):
    nets, hint = WRONG_NETS[mistake]
    result, out = outcome(check_mlp_nets, *nets, capsys=capsys)
    assert result is False and "not yet" in out and hint in out, out


@pytest.mark.parametrize("nets", [(stub, make_D), (make_G, stub)], ids=["G", "D"])
def test_check_mlp_nets_stub_is_not_done_yet(nets, capsys):
    result, out = outcome(check_mlp_nets, *nets, capsys=capsys)
    assert result is False and "not done yet" in out and "NotImplementedError" in out


# ----------------------------------------------------------------------------- Step 1: the D step
def make_d_step(labels=(1.0, 0.0), detach=True, zero=True, steps=1, reduction="mean", sign=1.0, terms=(1, 1),
                sigmoid=False, noise_n=None, own_noise=False, ret=True, scale=1.0):
    """A D step written the plain way, with one switch per classic mistake."""

    def d_step(G, D, opt_d, real, noise):
        n = real.shape[0]
        z = torch.randn(n, G.noise_dim) if own_noise else noise(noise_n or n)
        fake = G(z)
        real_logits, fake_logits = D(real), D(fake.detach() if detach else fake)
        if sigmoid:
            real_logits, fake_logits = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
        loss = sign * scale * (terms[0] * bce(real_logits, torch.full_like(real_logits, labels[0]), reduction=reduction)
                               + terms[1] * bce(fake_logits, torch.full_like(fake_logits, labels[1]), reduction=reduction))
        if zero:
            opt_d.zero_grad()
        loss.backward()
        for _ in range(steps):
            opt_d.step()
        return loss if ret else None

    return d_step


def d_step_no_grad(G, D, opt_d, real, noise):
    with torch.no_grad():
        fake = G(noise(real.shape[0]))
    loss = ge.losses.discriminator_loss(D(real), D(fake))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss.item()


def d_step_concatenated(G, D, opt_d, real, noise):
    """One BCE over the real and fake batches put together: the halved convention."""
    fake = G(noise(len(real))).detach()
    labels = torch.cat([torch.ones(len(real), 1), torch.zeros(len(fake), 1)])
    loss = bce(D(torch.cat([real, fake])), labels)
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss


def d_step_g_frozen(G, D, opt_d, real, noise):
    """G kept out by freezing its weights for the step, then unfreezing them."""
    with ge.algorithm.frozen(G):
        return make_d_step(detach=False)(G, D, opt_d, real, noise)


@pytest.mark.parametrize("fn", [make_d_step(), d_step_no_grad, d_step_g_frozen], ids=["detach", "no_grad", "G frozen"])
def test_check_d_step_accepts_right_answers(fn, capsys):
    result, out = outcome(check_d_step, fn, capsys=capsys)
    assert result is True and out.startswith("check_d_step: correct.") and "halved" not in out, out


@pytest.mark.parametrize("fn", [d_step_concatenated, make_d_step(scale=0.5)], ids=["concatenated", "halved"])
def test_check_d_step_accepts_the_halved_convention_with_a_note(fn, capsys):
    result, out = outcome(check_d_step, fn, capsys=capsys)
    assert result is True and "halved convention of d2l and deeplearning.ai" in out and out.count("\n") == 1, out


def d_step_whole_under_no_grad(G, D, opt_d, real, noise):
    with torch.no_grad():
        loss = ge.losses.discriminator_loss(D(real), D(G(noise(len(real)))))
    loss.backward()


def d_step_leaves_g_frozen(G, D, opt_d, real, noise):
    G.requires_grad_(False)
    return make_d_step(detach=False)(G, D, opt_d, real, noise)


def d_step_labels_of_shape_n(G, D, opt_d, real, noise):
    fake = G(noise(len(real))).detach()
    loss = bce(D(real), torch.ones(len(real))) + bce(D(fake), torch.zeros(len(fake)))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss


def d_step_zero_grad_late(G, D, opt_d, real, noise):
    fake = G(noise(len(real))).detach()
    loss = ge.losses.discriminator_loss(D(real), D(fake))
    loss.backward()
    opt_d.zero_grad()
    opt_d.step()
    return loss


def d_step_logits_as_probabilities(G, D, opt_d, real, noise):
    fake = G(noise(len(real))).detach()
    loss = (F.binary_cross_entropy(D(real), torch.ones(len(real), 1))
            + F.binary_cross_entropy(D(fake), torch.zeros(len(fake), 1)))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss


WRONG_D_STEPS = {
    "no detach": (make_d_step(detach=False), "gradients reached G during D's step"),
    "labels swapped": (make_d_step(labels=(0.0, 1.0)), "labels are swapped"),
    "fakes labelled real": (make_d_step(labels=(1.0, 1.0)), "the fakes got the real label"),
    "real labelled fake": (make_d_step(labels=(0.0, 0.0)), "the real data got the fake label"),
    "no fake term": (make_d_step(terms=(1, 0)), "the loss on the fakes is missing"),
    "no real term": (make_d_step(terms=(0, 1)), "the loss on the real data is missing"),
    "sum": (make_d_step(reduction="sum"), "you summed the per-sample losses"),
    "V instead of -V": (make_d_step(sign=-1.0), "wrong sign"),
    "sigmoid twice": (make_d_step(sigmoid=True), "applies it again"),
    "no zero_grad": (make_d_step(zero=False), "Call opt_d.zero_grad()"),
    "no step": (make_d_step(steps=0), "call opt_d.step()"),
    "two steps": (make_d_step(steps=2), "called 2 times"),
    "own noise": (make_d_step(own_noise=True), "did not call noise(n)"),
    "fixed batch size": (make_d_step(noise_n=64), "noise was called for 64 samples, but this step needs 32"),
    "returns nothing": (make_d_step(ret=False), "return D's loss"),
    "a wrong scale": (make_d_step(scale=0.3), "not those of Algorithm 1's D step"),
    "zero_grad between backward and step": (d_step_zero_grad_late, "D's weights did not change"),
    "everything under no_grad": (d_step_whole_under_no_grad, "D's loss has no path to D's weights"),
    "G left frozen": (d_step_leaves_g_frozen, "no longer require grad"),
    "labels of shape (n,)": (d_step_labels_of_shape_n, "do not have the logits' shape"),
    "logits as probabilities": (d_step_logits_as_probabilities, "treated D's logits as probabilities"),
    "noise given to D": (lambda G, D, opt_d, real, noise: D(noise(len(real))).mean().backward(),
                         "Did you give the noise to D?"),
    "the package's d_step": (ge.algorithm.d_step, "Your d_step is gan_edu.algorithm.d_step"),
    "a partial of it": (functools.partial(ge.algorithm.d_step, rules=ge.algorithm.PLAIN),
                        "Your d_step is gan_edu.algorithm.d_step"),
    "a call to it": (lambda G, D, opt_d, real, noise: ge.algorithm.d_step(G, D, opt_d, real, noise)[0],
                     "Your d_step calls gan_edu.algorithm.d_step"),
}


@pytest.mark.parametrize("mistake", list(WRONG_D_STEPS))
def test_check_d_step_names_the_mistake(mistake, capsys):
    fn, hint = WRONG_D_STEPS[mistake]
    result, out = outcome(check_d_step, fn, capsys=capsys)
    assert result is False and "not yet" in out and hint.lower() in out.lower(), out


# ----------------------------------------------------------------------------- Step 2: the G step
def make_g_step(label=1.0, sign=1.0, reduction="mean", sigmoid=False, zero=True, steps=1, detach=False,
                noise_n=None, own_noise=False, ret=True, freeze=False):
    """A G step written the plain way, with one switch per classic mistake."""

    def g_step(G, D, opt_g, batch_size, noise):
        z = torch.randn(batch_size, G.noise_dim) if own_noise else noise(noise_n or batch_size)
        fake = G(z)
        if freeze:
            D.requires_grad_(False)
        logits = D(fake.detach() if detach else fake)
        if sigmoid:
            logits = torch.sigmoid(logits)
        loss = sign * bce(logits, torch.full_like(logits, label), reduction=reduction)
        if zero:
            opt_g.zero_grad()
        loss.backward()
        for _ in range(steps):
            opt_g.step()
        return loss.item() if ret else None

    return g_step


def g_step_saturating(G, D, opt_g, batch_size, noise):
    loss = ge.losses.generator_loss(D(G(noise(batch_size))), "saturating")
    opt_g.zero_grad()
    loss.backward()
    opt_g.step()
    return loss


def g_step_logits_as_probabilities(G, D, opt_g, batch_size, noise):
    loss = F.binary_cross_entropy(D(G(noise(batch_size))), torch.ones(batch_size, 1))
    opt_g.zero_grad()
    loss.backward()
    opt_g.step()
    return loss


def g_step_zero_grad_late(G, D, opt_g, batch_size, noise):
    loss = ge.losses.generator_loss(D(G(noise(batch_size))))
    loss.backward()
    opt_g.zero_grad()
    opt_g.step()
    return loss


def g_step_changes_d(G, D, opt_g, batch_size, noise):
    loss = make_g_step()(G, D, opt_g, batch_size, noise)
    with torch.no_grad():
        for p in D.parameters():
            p -= 0.1 * p.grad
    return loss


def g_step_under_no_grad(G, D, opt_g, batch_size, noise):
    with torch.no_grad():
        fake = G(noise(batch_size))
    loss = bce(D(fake), torch.ones(batch_size, 1))
    opt_g.zero_grad()
    loss.backward()
    opt_g.step()
    return loss


def g_step_d_frozen(G, D, opt_g, batch_size, noise):
    """D frozen while G's loss goes through it, as gan_edu.algorithm.g_step."""
    with ge.algorithm.frozen(D):
        return make_g_step()(G, D, opt_g, batch_size, noise)


@pytest.mark.parametrize("fn", [make_g_step(), g_step_d_frozen], ids=["plain", "D frozen meanwhile"])
def test_check_g_step_accepts_right_answers(fn, capsys):
    result, out = outcome(check_g_step, fn, capsys=capsys)
    assert result is True and out.startswith("check_g_step: correct.") and out.count("\n") == 1, out


WRONG_G_STEPS = {
    "fake label": (make_g_step(label=0.0), "*fake* label"),
    "saturating": (g_step_saturating, "saturating (minimax) loss"),
    "negated": (make_g_step(sign=-1.0), "wrong sign"),
    "sum": (make_g_step(reduction="sum"), "you summed the per-sample losses"),
    "sigmoid twice": (make_g_step(sigmoid=True), "applies it again"),
    "no zero_grad": (make_g_step(zero=False), "Call opt_g.zero_grad()"),
    "no step": (make_g_step(steps=0), "call opt_g.step()"),
    "two steps": (make_g_step(steps=2), "called 2 times"),
    "detached fakes": (make_g_step(detach=True), "G's weights did not change"),
    "fakes under no_grad": (g_step_under_no_grad, "G's weights did not change"),
    "detached fakes, D frozen": (make_g_step(detach=True, freeze=True), "G's loss has no path to G's weights"),
    "logits as probabilities": (g_step_logits_as_probabilities, "treated D's logits as probabilities"),
    "own noise": (make_g_step(own_noise=True), "did not call noise(n)"),
    "fixed batch size": (make_g_step(noise_n=256), "noise was called for 256 samples"),
    "returns nothing": (make_g_step(ret=False), "return G's loss"),
    "D left frozen": (make_g_step(freeze=True), "D's weights no longer require grad"),
    "D updated too": (g_step_changes_d, "only G learns"),
    "zero_grad between backward and step": (g_step_zero_grad_late, "G's weights did not change"),
    "noise given to D": (lambda G, D, opt_g, n, noise: D(noise(n)).mean().backward(), "Did you give the noise to D?"),
    "the package's g_step": (ge.algorithm.g_step, "Your g_step is gan_edu.algorithm.g_step"),
    "a call to it": (lambda G, D, opt_g, n, noise: ge.algorithm.g_step(G, D, opt_g, n, noise),
                     "Your g_step calls gan_edu.algorithm.g_step"),
}


@pytest.mark.parametrize("mistake", list(WRONG_G_STEPS))
def test_check_g_step_names_the_mistake(mistake, capsys):
    fn, hint = WRONG_G_STEPS[mistake]
    result, out = outcome(check_g_step, fn, capsys=capsys)
    assert result is False and "not yet" in out and hint.lower() in out.lower(), out


# ----------------------------------------------------------------------------- all of notebook 03's checkers
@pytest.mark.parametrize("check", [check_d_step, check_g_step, check_train_step, lambda fn: check_mlp_nets(fn, fn)],
                         ids=["d_step", "g_step", "train_step", "mlp_nets"])
def test_the_stub_is_not_done_yet(check, capsys):
    result, out = outcome(check, stub, capsys=capsys)
    assert result is False and "not done yet" in out and "NotImplementedError" in out, out


@pytest.mark.parametrize("check", [check_d_step, check_g_step, check_train_step])
def test_a_non_function_is_refused(check, capsys):
    result, out = outcome(check, 3.0, capsys=capsys)
    assert result is False and "Pass your function itself" in out


def test_check_train_step_translates_a_loss_without_a_path(capsys):
    def round_(G, D, opt_d, opt_g, real, noise):
        ge.algorithm.d_step(G, D, opt_d, real, noise)
        with torch.no_grad():
            loss_g = ge.losses.generator_loss(D(G(noise(len(real)))))
        loss_g.backward()

    result, out = outcome(check_train_step, round_, capsys=capsys)
    assert result is False and "has no path to any weight" in out


def test_checkers_leave_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_mlp_nets(make_G, make_D)
    check_mlp_nets(lambda n, d: nn.Sequential(nn.Dropout(0.5), make_G(n, d)), make_D)  # draws numbers in forward
    check_d_step(make_d_step(own_noise=True))  # draws numbers itself
    check_d_step(ge.algorithm.d_step)
    check_g_step(make_g_step(own_noise=True))
    check_g_step(ge.algorithm.g_step)
    assert torch.equal(torch.rand(3), expected)


def test_the_package_steps_come_back_after_a_check(capsys):
    d_step, g_step = ge.algorithm.d_step, ge.algorithm.g_step

    def raises(*args):
        ge.algorithm.d_step(*args)
        raise RuntimeError("a student's bug")

    check_d_step(raises)
    check_g_step(lambda G, D, opt_g, n, noise: ge.algorithm.g_step(G, D, opt_g, n, noise))
    check_d_step(make_d_step())
    assert ge.algorithm.d_step is d_step and ge.algorithm.g_step is g_step
    assert "calls gan_edu.algorithm.d_step" in capsys.readouterr().out


def test_the_understanding_questions_do_not_share_one_answer_position():
    assert len({q.answer for q in exercises.steps.QUESTIONS}) == len(exercises.steps.QUESTIONS)


def test_notebook_03s_checkers_are_exported():
    assert {"check_mlp_nets", "check_d_step", "check_g_step", "check_train_step"} <= set(exercises.__all__)

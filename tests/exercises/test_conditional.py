"""gan_edu.exercises.conditional (notebook 08): the projection and labelled-D-step checkers accept
right answers, name the classic mistakes in wrong ones, say "not done yet" to the stub, and leave
the global RNG alone."""
import pytest
import torch
import torch.nn.functional as F

from gan_edu import conditional
from gan_edu.exercises.conditional import check_fixed_d_step, check_projection

bce = F.binary_cross_entropy_with_logits


def stub(*args):
    raise NotImplementedError()


# ----------------------------------------------------------------------------- exercise 1: the projection
def projection(D, x, y):
    features = D.phi(x)
    return D.psi(features) + (D.embed(y) * features).sum(1, keepdim=True)


def projection_one_hot(D, x, y):  # the embedding as a matrix product with onehot(y)
    features = D.phi(x)
    return D.psi(features) + ((F.one_hot(y, D.classes).float() @ D.embed.weight) * features).sum(1, keepdim=True)


def projection_einsum(D, x, y):  # the (n,) convention, with a note
    features = D.phi(x)
    return D.psi(features)[:, 0] + torch.einsum("nf,nf->n", D.embed.weight[y], features)


@pytest.mark.parametrize("fn", [projection, projection_one_hot, projection_einsum])
def test_check_projection_accepts_right_answers(fn, capsys):
    assert check_projection(fn) is True
    out = capsys.readouterr().out
    assert out.startswith("check_projection: correct.")
    assert ("shape (n,)" in out) == (fn is projection_einsum)


def _psi(D, x):
    return D.psi(D.phi(x))


WRONG_PROJECTION = {
    "labels not given to D": (lambda D, x, y: _psi(D, x), "labels not given to D"),
    "the mean embedding": (lambda D, x, y: _psi(D, x) + (D.embed.weight.mean(0) * D.phi(x)).sum(1, keepdim=True),
                           "embedding ignores the class"),
    "one fixed label": (lambda D, x, y: projection(D, x, torch.zeros_like(y)), "embedding ignores the class"),
    "no psi": (lambda D, x, y: (D.embed(y) * D.phi(x)).sum(1, keepdim=True), "class-free term is missing"),
    "(n,) plus (n, 1)": (lambda D, x, y: _psi(D, x) + (D.embed(y) * D.phi(x)).sum(1), "(n, n) table"),
    "not summed": (lambda D, x, y: _psi(D, x) + D.embed(y) * D.phi(x), "one number per feature"),
    "summed over the batch": (lambda D, x, y: _psi(D, x) + (D.embed(y) * D.phi(x)).sum(), "summed over the batch"),
    "another class": (lambda D, x, y: projection(D, x, (y + 1) % D.classes), "another class"),
    "a probability": (lambda D, x, y: torch.sigmoid(projection(D, x, y)), "probability"),
    "detached": (lambda D, x, y: projection(D, x, y).detach(), "no gradient reaches D's weights"),
    "D itself": (lambda D, x, y: D(x, y), "calls D(x, y) itself"),
    "numpy": (lambda D, x, y: projection(D, x, y).detach().numpy(), "return a torch tensor"),
    "raises": (lambda D, x, y: D.embed(y.float()), "your function raised"),
}


@pytest.mark.parametrize("name", WRONG_PROJECTION)
def test_check_projection_names_the_mistake(name, capsys):
    fn, hint = WRONG_PROJECTION[name]
    assert check_projection(fn) is False
    out = capsys.readouterr().out
    assert out.startswith("check_projection: not yet.") and hint.lower() in out.lower(), out


# ----------------------------------------------------------------------------- exercise 2: the D step
def fixed(G, D, opt_d, real, real_y, fake_y, noise):
    with torch.no_grad():
        fake = G(noise(len(fake_y)), fake_y)
    on_real, on_fake = D(real, real_y), D(fake, fake_y)
    loss = bce(on_real, torch.ones_like(on_real)) + bce(on_fake, torch.zeros_like(on_fake))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss


def one_batch(G, D, opt_d, real, real_y, fake_y, noise):  # real and fake pairs in one batch through D
    fake = G(noise(len(fake_y)), fake_y).detach()
    logits = D(torch.cat([real, fake]), torch.cat([real_y, fake_y]))
    loss = bce(logits, torch.cat([torch.ones(len(real), 1), torch.zeros(len(fake), 1)]))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss.item()


def halved(G, D, opt_d, real, real_y, fake_y, noise):  # the mean of the two BCE terms: accepted with a note
    fake = G(noise(len(fake_y)), fake_y).detach()
    r, f = D(real, real_y), D(fake, fake_y)
    loss = (bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f))) / 2
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss


def stepper(real_labels=lambda real_y, fake_y: real_y, fake_labels=lambda real_y, fake_y: fake_y, asked=None,
            detach=True, targets=(1.0, 0.0), zero=True, reduction="mean", noise_calls=1, returns=True):
    """A labelled D step with one thing changed."""
    def step(G, D, opt_d, real, real_y, fake_y, noise):
        for _ in range(noise_calls - 1):
            noise(len(fake_y))
        fake = G(noise(len(fake_y)), fake_y if asked is None else asked(real_y, fake_y))
        fake = fake.detach() if detach else fake
        r, f = D(real, real_labels(real_y, fake_y)), D(fake, fake_labels(real_y, fake_y))
        loss = (bce(r, torch.full_like(r, targets[0]), reduction=reduction)
                + bce(f, torch.full_like(f, targets[1]), reduction=reduction))
        if zero:
            opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        return loss if returns else None
    return step


@pytest.mark.parametrize("fn", [fixed, halved, lambda *args: fixed(*args).item()])
def test_check_fixed_d_step_accepts_right_answers(fn, capsys):
    state = torch.get_rng_state()
    assert check_fixed_d_step(fn) is True
    assert torch.equal(torch.get_rng_state(), state)
    out = capsys.readouterr().out
    assert out.startswith("check_fixed_d_step: correct.")
    assert ("half the course's" in out) == (fn is halved)


WRONG_STEP = {
    "real with the fakes' labels (the suspect's bug)": (stepper(real_labels=lambda r, f: f), "shown to D with fake_y"),
    "real and fake in one batch": (one_batch, "in one batch"),
    "real labels shuffled": (stepper(real_labels=lambda r, f: r.roll(1)), "other images' labels"),
    "one label for all": (stepper(real_labels=lambda r, f: torch.zeros_like(r)), "labels not given to D"),
    "fakes judged with real_y": (stepper(fake_labels=lambda r, f: r), "labels other than those G was asked for"),
    "G asked for real_y": (stepper(asked=lambda r, f: r, fake_labels=lambda r, f: r), "G was asked for real_y"),
    "not detached": (stepper(detach=False), "gradients reached G"),
    "targets swapped": (stepper(targets=(0.0, 1.0)), "targets are swapped"),
    "no zero_grad": (stepper(zero=False), "gradients from before"),
    "summed": (stepper(reduction="sum"), "summed the per-sample losses"),
    "two noise batches": (stepper(noise_calls=2), "call noise(n) once"),
    "returns nothing": (stepper(returns=False), "return D's loss"),
    "the package's step": (conditional.d_step, "write it yourself"),
    "calls the package's step": (lambda *args: conditional.d_step(*args)[0], "write it yourself"),
    "raises": (lambda G, D, opt_d, real, real_y, fake_y, noise: D(real), "your function raised"),
}


@pytest.mark.parametrize("name", WRONG_STEP)
def test_check_fixed_d_step_names_the_mistake(name, capsys):
    fn, hint = WRONG_STEP[name]
    state = torch.get_rng_state()
    assert check_fixed_d_step(fn) is False
    assert torch.equal(torch.get_rng_state(), state)
    out = capsys.readouterr().out
    assert out.startswith("check_fixed_d_step: not yet.") and hint.lower() in out.lower(), out


# ----------------------------------------------------------------------------- both
@pytest.mark.parametrize("check", [check_projection, check_fixed_d_step])
def test_the_stub_is_not_done_yet_and_nothing_goes_to_stderr(check, capsys):
    assert check(stub) is False
    out = capsys.readouterr()
    assert "not done yet" in out.out and out.err == ""
    assert check("projection_logit") is False and "pass your function itself" in capsys.readouterr().out.lower()


def test_no_hint_prints_the_answers_code(capsys):
    for fn, _ in WRONG_PROJECTION.values():
        check_projection(fn)
    for name in ("real with the fakes' labels (the suspect's bug)", "no zero_grad", "fakes judged with real_y"):
        check_fixed_d_step(WRONG_STEP[name][0])
    out = capsys.readouterr().out
    for code in ("D.phi(x)", "D.psi(", "D.embed(y)", "keepdim=True)", "D(real, real_y)", "D(fake, fake_y)",
                 "zero_grad()"):
        assert code not in out, code

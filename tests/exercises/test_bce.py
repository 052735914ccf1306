"""gan_edu.exercises: the checkers accept right answers and name the mistake in wrong ones."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gan_edu import exercises, losses
from gan_edu.exercises import check_d_loss, check_g_loss, check_train_step

bce_logits = F.binary_cross_entropy_with_logits


# ----------------------------------------------------------------------------- D loss
def d_with_labels(real, fake):
    return bce_logits(real, torch.ones_like(real)) + bce_logits(fake, torch.zeros_like(fake))


def d_softplus(real, fake):
    return F.softplus(-real).mean() + F.softplus(fake).mean()


@pytest.mark.parametrize("fn", [d_with_labels, d_softplus])
def test_check_d_loss_accepts_right_answers(fn, capsys):
    assert check_d_loss(fn) is True
    assert "correct" in capsys.readouterr().out


WRONG_D = {
    "swapped labels": (lambda r, f: bce_logits(r, torch.zeros_like(r)) + bce_logits(f, torch.ones_like(f)),
                       "real data the fake label"),
    "fakes labelled real": (lambda r, f: bce_logits(r, torch.ones_like(r)) + bce_logits(f, torch.ones_like(f)),
                            "generated data got the real label"),
    "real labelled fake": (lambda r, f: bce_logits(r, torch.zeros_like(r)) + bce_logits(f, torch.zeros_like(f)),
                           "real data got the fake label"),
    "missing fake term": (lambda r, f: bce_logits(r, torch.ones_like(r)), "Missing term"),
    "sum": (lambda r, f: bce_logits(r, torch.ones_like(r), reduction="sum")
            + bce_logits(f, torch.zeros_like(f), reduction="sum"), "do not sum"),
    "V instead of -V": (lambda r, f: -d_softplus(r, f), "Wrong sign"),
    "logits as probabilities (BCE)": (
        lambda r, f: F.binary_cross_entropy(r, torch.ones_like(r)) + F.binary_cross_entropy(f, torch.zeros_like(f)),
        "Probabilities vs logits: the inputs are D's *logits*"),
    "logits as probabilities (log)": (lambda r, f: -torch.log(r).mean() - torch.log(1 - f).mean(),
                                      "Probabilities vs logits: the inputs are D's *logits*"),
    "sigmoid then with_logits": (lambda r, f: d_with_labels(torch.sigmoid(r), torch.sigmoid(f)),
                                 "applies the sigmoid again"),
    "sigmoid then log (unstable)": (
        lambda r, f: -torch.log(torch.sigmoid(r)).mean() - torch.log(1 - torch.sigmoid(f)).mean(),
        "not numerically stable"),
    "sigmoid then BCE (clamped)": (
        lambda r, f: F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r))
        + F.binary_cross_entropy(torch.sigmoid(f), torch.zeros_like(f)), "not numerically stable"),
    "per-sample losses": (lambda r, f: F.softplus(-r) + F.softplus(f), "Return one number"),
    ".item()": (lambda r, f: d_softplus(r, f).item(), "not connected to the logits by autograd"),
    "detached": (lambda r, f: d_softplus(r, f).detach(), "not connected to the logits by autograd"),
    "detached fake term": (lambda r, f: F.softplus(-r).mean() + F.softplus(f.detach()).mean(),
                           "gradient with respect to the logits is not"),
    "raises": (lambda r, f: r @ f, "raised RuntimeError"),
    "returns None": (lambda r, f: None, "Return a torch tensor"),
}


@pytest.mark.parametrize("mistake", list(WRONG_D))
def test_check_d_loss_names_the_mistake(mistake, capsys):
    fn, hint = WRONG_D[mistake]
    assert check_d_loss(fn) is False
    out = capsys.readouterr().out
    assert "not yet" in out and hint in out, out


HALVED_D = {  # the halved convention of d2l and deeplearning.ai: right, with a note
    "halved sum of the two BCEs": lambda r, f: d_with_labels(r, f) / 2,
    "one BCE over the concatenated batch": lambda r, f: bce_logits(
        torch.cat([r, f]), torch.cat([torch.ones_like(r), torch.zeros_like(f)])),
    "halved softplus form": lambda r, f: d_softplus(r, f) / 2,
}


@pytest.mark.parametrize("form", list(HALVED_D))
def test_check_d_loss_accepts_the_halved_convention_with_a_note(form, capsys):
    assert check_d_loss(HALVED_D[form]) is True
    out = capsys.readouterr().out
    assert "check_d_loss: correct." in out and "halved convention of d2l and deeplearning.ai" in out, out
    assert out.count("\n") == 1  # one line


def test_the_summed_convention_gets_no_note(capsys):
    assert check_d_loss(d_with_labels) is True
    assert "Note" not in capsys.readouterr().out


HALVED_WRONG = {
    "halved, swapped labels": (lambda r, f: d_with_labels(-r, -f) / 2, "expected"),
    "halved, unstable": (lambda r, f: (-torch.log(torch.sigmoid(r)).mean()
                                       - torch.log(1 - torch.sigmoid(f)).mean()) / 2, "not numerically stable"),
    "halved, detached fake term": (lambda r, f: (F.softplus(-r).mean() + F.softplus(f.detach()).mean()) / 2,
                                   "gradient with respect to the logits is not"),
    "halved on some cases only": (lambda r, f: d_softplus(r, f) / (2 if r.shape[0] == 64 else 1),
                                  "summed form on some hidden cases and the halved one on others"),
}


@pytest.mark.parametrize("mistake", list(HALVED_WRONG))
def test_mistakes_in_the_halved_convention_are_still_caught(mistake, capsys):
    fn, hint = HALVED_WRONG[mistake]
    assert check_d_loss(fn) is False
    out = capsys.readouterr().out
    assert "not yet" in out and hint in out, out


TORCH_SLIPS = {  # PyTorch's errors, translated into what the student did
    "labels of shape (n,)": (lambda r, f: bce_logits(r, torch.ones(r.shape[0])) + bce_logits(f, torch.zeros_like(f)),
                             "do not have the logits' shape"),
    "integer labels": (lambda r, f: bce_logits(r, torch.ones_like(r, dtype=torch.long))
                       + bce_logits(f, torch.zeros_like(f)), "labels are integers"),
    "a number as the label": (lambda r, f: bce_logits(r, 1.0) + bce_logits(f, 0.0), "not a number"),
    "numpy on tensors": (lambda r, f: torch.as_tensor(np.log1p(np.exp(-r)).mean()), "NumPy function"),
}


@pytest.mark.parametrize("slip", list(TORCH_SLIPS))
def test_check_d_loss_translates_pytorch_errors(slip, capsys):
    fn, hint = TORCH_SLIPS[slip]
    assert check_d_loss(fn) is False
    out = capsys.readouterr().out
    assert "raised" in out and hint in out, out


def test_check_d_loss_generic_message_for_unknown_mistake(capsys):
    assert check_d_loss(lambda r, f: d_softplus(r, f) + 0.3) is False
    assert "expected" in capsys.readouterr().out


def test_checker_rejects_non_callable(capsys):
    assert check_d_loss(3.0) is False
    assert "Pass your function itself" in capsys.readouterr().out


# ----------------------------------------------------------------------------- G loss
def g_real_label(fake):
    return bce_logits(fake, torch.ones_like(fake))


@pytest.mark.parametrize("fn", [g_real_label, lambda f: F.softplus(-f).mean(), lambda f: -F.logsigmoid(f).mean()])
def test_check_g_loss_accepts_right_answers(fn, capsys):
    assert check_g_loss(fn) is True
    assert "correct" in capsys.readouterr().out


def test_check_g_loss_saturating_kind(capsys):
    assert check_g_loss(lambda f: -F.softplus(f).mean(), kind="saturating") is True
    assert check_g_loss(g_real_label, kind="saturating") is False
    assert "the exercise asks for the saturating" in capsys.readouterr().out
    with pytest.raises(ValueError, match="kind"):
        check_g_loss(g_real_label, kind="wasserstein")


WRONG_G = {
    "fake label": (lambda f: bce_logits(f, torch.zeros_like(f)), "*fake* label"),
    "saturating": (lambda f: -bce_logits(f, torch.zeros_like(f)), "saturating (minimax) loss"),
    "saturating via log": (lambda f: torch.log(1 - torch.sigmoid(f)).mean(), "saturating (minimax) loss"),
    "negated": (lambda f: -g_real_label(f), "Wrong sign"),
    "sum": (lambda f: bce_logits(f, torch.ones_like(f), reduction="sum"), "do not sum"),
    "sigmoid then with_logits": (lambda f: g_real_label(torch.sigmoid(f)), "applies the sigmoid again"),
    "logits as probabilities": (lambda f: F.binary_cross_entropy(f, torch.ones_like(f)),
                                "Probabilities vs logits: the inputs are D's *logits*"),
    "unstable": (lambda f: -torch.log(torch.sigmoid(f)).mean(), "not numerically stable"),
    "per-sample": (lambda f: F.softplus(-f), "Return one number"),
}


@pytest.mark.parametrize("mistake", list(WRONG_G))
def test_check_g_loss_names_the_mistake(mistake, capsys):
    fn, hint = WRONG_G[mistake]
    assert check_g_loss(fn) is False
    out = capsys.readouterr().out
    assert "not yet" in out and hint in out, out


# ----------------------------------------------------------------------------- "write it yourself"
import functools  # noqa: E402
import warnings  # noqa: E402

import gan_edu as ge  # noqa: E402


def imported_by_name(source: str, name: str):
    """A student's function defined after ``from gan_edu.losses import <name>`` (its own globals)."""
    space = {"torch": torch}
    exec(f"from gan_edu.losses import {name}\n{source}", space)
    return space["answer"]


PACKAGE_D = {
    "the package's function itself": (losses.discriminator_loss, "is gan_edu.losses.discriminator_loss"),
    "losses.discriminator_loss": (lambda r, f: losses.discriminator_loss(r, f),
                                  "calls gan_edu.losses.discriminator_loss"),
    "halved": (lambda r, f: losses.discriminator_loss(r, f) / 2, "calls gan_edu.losses.discriminator_loss"),
    "ge.losses": (lambda r, f: ge.losses.discriminator_loss(r, f), "calls gan_edu.losses.discriminator_loss"),
    "imported by name": (imported_by_name("def answer(r, f):\n    return discriminator_loss(r, f)",
                                          "discriminator_loss"), "calls gan_edu.losses.discriminator_loss"),
    "a partial": (functools.partial(losses.discriminator_loss, real_label=1.0), "is gan_edu.losses.discriminator_loss"),
    "built from generator_loss": (lambda r, f: losses.generator_loss(r) - losses.generator_loss(f, "saturating"),
                                  "calls gan_edu.losses.generator_loss"),
}


@pytest.mark.parametrize("way", list(PACKAGE_D))
def test_check_d_loss_rejects_the_package_function(way, capsys):
    fn, hint = PACKAGE_D[way]
    assert check_d_loss(fn) is False
    out = capsys.readouterr().out
    assert "check_d_loss: not yet. Write it yourself" in out and hint in out, out
    assert losses.discriminator_loss.__name__ == "discriminator_loss"  # restored, not the recorder
    assert ge.losses.generator_loss is losses.generator_loss


PACKAGE_G = {
    "the package's function itself": (losses.generator_loss, "non_saturating"),
    "non-saturating call": (lambda f: losses.generator_loss(f, "non_saturating"), "non_saturating"),
    "saturating call": (lambda f: losses.generator_loss(f, "saturating"), "saturating"),
    "a partial": (functools.partial(losses.generator_loss, kind="saturating"), "saturating"),
    "imported by name": (imported_by_name("def answer(f):\n    return generator_loss(f)", "generator_loss"),
                         "non_saturating"),
    "built from discriminator_loss": (lambda f: losses.discriminator_loss(f, f, 1.0, 1.0) / 2, "non_saturating"),
}


@pytest.mark.parametrize("way", list(PACKAGE_G))
def test_check_g_loss_rejects_the_package_function(way, capsys):
    original = losses.generator_loss
    fn, kind = PACKAGE_G[way]
    assert check_g_loss(fn, kind=kind) is False
    out = capsys.readouterr().out
    assert "check_g_loss: not yet. Write it yourself" in out and "gan_edu.losses." in out, out
    assert losses.generator_loss is original  # restored


def test_the_package_is_restored_when_the_students_function_raises(capsys):
    original = losses.discriminator_loss

    def raises_after_the_call(r, f):
        losses.discriminator_loss(r, f)
        raise RuntimeError("boom")

    assert check_d_loss(raises_after_the_call) is False
    assert "Write it yourself" in capsys.readouterr().out
    assert losses.discriminator_loss is original


@pytest.mark.parametrize("check", [check_d_loss, check_g_loss])
def test_a_loss_that_warns_leaves_stderr_empty(check, capsys):
    def warns(*logits):
        warnings.warn("careful")
        return d_softplus(*logits) if check is check_d_loss else g_real_label(*logits)

    assert check(warns) is True
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------------------- one training step
def make_step(d_labels=(1.0, 0.0), g_label=1.0, detach=True, reuse=False, zero_d=True, zero_g=True,
              step_d=True, step_g=True, g_first=False, g_before_d_update=False, return_losses=True,
              detach_g=False, d_scale=1.0):
    """A training step written the plain way, with one switch per classic mistake."""

    def step(G, D, opt_d, opt_g, real, noise):
        n = real.shape[0]

        def d_part():
            z = noise(n)
            fake = G(z)
            real_logits, fake_logits = D(real), D(fake.detach() if detach else fake)
            loss_d = d_scale * (bce_logits(real_logits, torch.full_like(real_logits, d_labels[0]))
                                + bce_logits(fake_logits, torch.full_like(fake_logits, d_labels[1])))
            if zero_d:
                opt_d.zero_grad()
            loss_d.backward(retain_graph=True)
            return fake, loss_d

        def g_part(fake):
            fake = fake if reuse else G(noise(n))
            logits = D(fake.detach() if detach_g else fake)
            loss_g = bce_logits(logits, torch.full_like(logits, g_label))
            if zero_g:
                opt_g.zero_grad()
            loss_g.backward()
            return loss_g

        if g_first:
            loss_g = g_part(None)
            opt_g.step()
            fake, loss_d = d_part()
            opt_d.step()
        elif g_before_d_update:
            fake, loss_d = d_part()
            loss_g = g_part(fake)
            opt_d.step()
            opt_g.step()
        else:
            fake, loss_d = d_part()
            if step_d:
                opt_d.step()
            loss_g = g_part(fake)
            if step_g:
                opt_g.step()
        return (loss_d, loss_g) if return_losses else None

    return step


def gan_edu_style(G, D, opt_d, opt_g, real, noise):
    """As gan_edu.GAN: fakes for D under no_grad, fresh noise for G, D frozen in G's step."""
    with torch.no_grad():
        fake = G(noise(real.shape[0]))
    loss_d = losses.discriminator_loss(D(real), D(fake))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    D.requires_grad_(False)
    loss_g = losses.generator_loss(D(G(noise(real.shape[0]))))
    D.requires_grad_(True)
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return loss_d.item(), loss_g.item()


@pytest.mark.parametrize("fn", [gan_edu_style, make_step(), make_step(reuse=True)],
                         ids=["gan_edu", "fresh noise", "DCGAN tutorial (reuse fakes)"])
def test_check_train_step_accepts_right_answers(fn, capsys):
    assert check_train_step(fn) is True
    out = capsys.readouterr().out
    assert "correct" in out and "halved" not in out, out


@pytest.mark.parametrize("fn", [make_step(d_scale=0.5), make_step(d_scale=0.5, reuse=True)],
                         ids=["halved", "halved, reused fakes"])
def test_check_train_step_accepts_the_halved_d_loss_with_a_note(fn, capsys):
    assert check_train_step(fn) is True
    out = capsys.readouterr().out
    assert "correct" in out and "halved convention of d2l and deeplearning.ai" in out, out


def test_check_train_step_refuses_a_d_loss_scaled_otherwise(capsys):
    assert check_train_step(make_step(d_scale=2.0)) is False
    assert "not those of Algorithm 1's D step" in capsys.readouterr().out


WRONG_STEPS = {
    "no detach": (make_step(detach=False), "Gradients reached G during D's step"),
    "no detach, reused fakes": (make_step(detach=False, reuse=True), "Gradients reached G during D's step"),
    "G with the fake label": (make_step(g_label=0.0), "*fake* label"),
    "G with the fake label, reused fakes": (make_step(g_label=0.0, reuse=True), "*fake* label"),
    "D labels swapped": (make_step(d_labels=(0.0, 1.0)), "labels are swapped"),
    "no opt_d.zero_grad": (make_step(zero_d=False), "opt_d.zero_grad()"),
    "no opt_g.zero_grad": (make_step(zero_g=False), "opt_g.zero_grad()"),
    "no opt_d.step": (make_step(step_d=False), "call opt_d.step()"),
    "no opt_g.step": (make_step(step_g=False), "call opt_g.step()"),
    "G before D": (make_step(g_first=True), "wrong order"),
    "G's loss through the old D": (make_step(g_before_d_update=True), "*updated* D"),
    "fakes detached in G's step": (make_step(detach_g=True), "G's weights did not change"),
    "returns nothing": (make_step(return_losses=False), "Return the two losses"),
}


@pytest.mark.parametrize("mistake", list(WRONG_STEPS))
def test_check_train_step_names_the_mistake(mistake, capsys):
    fn, hint = WRONG_STEPS[mistake]
    assert check_train_step(fn) is False
    out = capsys.readouterr().out
    assert "not yet" in out and hint in out, out


def test_check_train_step_saturating_and_swapped_returns(capsys):
    def saturating(G, D, opt_d, opt_g, real, noise):
        with torch.no_grad():
            fake = G(noise(real.shape[0]))
        loss_d = losses.discriminator_loss(D(real), D(fake))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = losses.generator_loss(D(G(noise(real.shape[0]))), "saturating")
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        return loss_d, loss_g

    assert check_train_step(saturating) is False
    assert "saturating (minimax)" in capsys.readouterr().out

    def swapped(*args):
        loss_d, loss_g = gan_edu_style(*args)
        return loss_g, loss_d

    assert check_train_step(swapped) is False
    assert "(loss_d, loss_g)" in capsys.readouterr().out


def test_check_train_step_reports_an_exception(capsys):
    def broken(G, D, opt_d, opt_g, real, noise):
        fake = G(noise(real.shape[0]))
        loss_d = losses.discriminator_loss(D(real), D(fake))  # no detach, no retain_graph
        loss_d.backward()
        loss_g = losses.generator_loss(D(fake))
        loss_g.backward()
        raise AssertionError("unreachable")

    assert check_train_step(broken) is False
    out = capsys.readouterr().out
    assert "raised RuntimeError" in out and "fake.detach()" in out


def test_checkers_leave_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_d_loss(d_softplus)
    check_g_loss(g_real_label)
    check_train_step(make_step())
    assert torch.equal(torch.rand(3), expected)


def test_all_public_names():
    assert {"check_d_loss", "check_g_loss", "check_train_step"} <= set(exercises.__all__)
    assert all(callable(getattr(exercises, name)) for name in exercises.__all__)


# ---------------------------------------------------------------------------- the student edition's stub
def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError


@pytest.mark.parametrize("check", [check_d_loss, check_g_loss, check_train_step])
def test_the_stub_is_not_done_yet_not_a_crash(check, capsys):
    assert check(stub) is False
    out = capsys.readouterr().out
    assert "not done yet" in out and "NotImplementedError" in out  # names what to replace


# ---------------------------------------------------------------------------- a prediction: G's two gradients
from gan_edu.exercises.bce import QUESTIONS, check_g_gradients  # noqa: E402


@pytest.mark.parametrize("answer", [(-0.01, -0.99), [-0.01, -1.0], np.array([-0.01, -0.99]),
                                    torch.tensor([-0.01, -0.99]), {"saturating": -0.01, "non_saturating": -0.99},
                                    (np.float64(-0.01), torch.tensor(-0.99))])
def test_check_g_gradients_accepts_the_slopes(answer, capsys):
    assert check_g_gradients(lambda: answer) is True
    out = capsys.readouterr().out
    assert "check_g_gradients: correct." in out and "99 times weaker" in out, out


WRONG_GRADIENTS = {
    "swapped": ((-0.99, -0.01), "Swapped"),
    "positive": ((0.01, 0.99), "Wrong sign"),
    "with respect to the probability": ((-1 / 0.99, -100.0), "with respect to D(G(z)), the probability"),
    "the losses' values": ((np.log(0.99), -np.log(0.01)), "losses' *values*"),
    "equal slopes": ((-0.5, -0.5), "same fixed point does not mean the same gradient"),
    "saturating slope wrong": ((0.01, -0.99), "slope of the saturating loss is off"),
    "non-saturating slope wrong": ((-0.01, -0.5), "slope of the non-saturating loss is off"),
    "one number": (-0.01, "return two numbers"),
    "three numbers": ((-0.01, -0.99, 0), "return two numbers"),
    "strings": (("small", "large"), "return two numbers"),
    "dict missing a kind": ({"saturating": -0.01}, "return two numbers"),
}


@pytest.mark.parametrize("mistake", list(WRONG_GRADIENTS))
def test_check_g_gradients_names_the_mistake(mistake, capsys):
    answer, hint = WRONG_GRADIENTS[mistake]
    assert check_g_gradients(lambda: answer) is False
    out = capsys.readouterr().out
    assert "check_g_gradients: not yet." in out and hint.lower() in out.lower(), out


def test_check_g_gradients_shows_autograds_slopes_when_wrong(capsys):
    check_g_gradients(lambda: (-0.99, -0.01))
    assert "saturating -0.0100, non-saturating -0.9900" in capsys.readouterr().out


def test_check_g_gradients_stub_and_errors(capsys):
    assert check_g_gradients(stub) is False
    assert "not done yet" in capsys.readouterr().out
    assert check_g_gradients((-0.01, -0.99)) is False
    assert "Pass your function itself" in capsys.readouterr().out
    assert check_g_gradients(lambda: 1 / 0) is False
    out = capsys.readouterr()
    assert "raised ZeroDivisionError" in out.out and out.err == ""


def test_notebook_02_asks_one_or_two_questions():
    assert 1 <= len(QUESTIONS) <= 2

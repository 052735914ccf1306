"""gan_edu.exercises.wasserstein (notebook 09): the gradient penalty's checker accepts right answers in
either convention, names each classic mistake, refuses the package's own penalty; the prediction's
checker judges against the trained critic and names the usual confusions; neither touches the RNG."""
import numpy as np
import pytest
import torch

import gan_edu as ge
from gan_edu import losses, options
from gan_edu.exercises import wasserstein as ex
from gan_edu.exercises.wasserstein import check_critic_prediction, check_gradient_penalty


# ----------------------------------------------------------------------------- the gradient penalty
def gp(critic, real, fake, lam):
    eps = torch.rand(real.shape[0], 1)
    x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return lam * (g.norm(2, dim=1) - 1).pow(2).mean()


def gp_other_end(critic, real, fake, lam):  # ε on the fakes, a private generator, grad_outputs, shape (1,)
    eps = torch.rand(real.shape[0], 1, generator=torch.Generator().manual_seed(5))
    x_hat = eps * fake + (1 - eps) * real
    x_hat.requires_grad_(True)
    out = critic(x_hat)
    (g,) = torch.autograd.grad(out, x_hat, grad_outputs=torch.ones_like(out), create_graph=True)
    return (lam * ((g ** 2).sum(1) + 1e-12).sqrt().sub(1).pow(2).mean()).reshape(1)


def gp_calls_the_critic_on_both_batches_too(critic, real, fake, lam):
    critic(real), critic(fake)  # a loss computed alongside: allowed
    return gp(critic, real, fake, lam)


@pytest.mark.parametrize("fn", [gp, gp_other_end, gp_calls_the_critic_on_both_batches_too])
def test_check_gradient_penalty_accepts_right_answers(fn, capsys):
    assert check_gradient_penalty(fn) is True
    assert capsys.readouterr().out.startswith("check_gradient_penalty: correct.")


def _x_hat(real, fake, eps):
    return (eps * real + (1 - eps) * fake).detach().requires_grad_(True)


def _grad(critic, x, of=lambda o: o.sum(), create_graph=True):
    return torch.autograd.grad(of(critic(x)), x, create_graph=create_graph)[0]


def gp_no_create_graph(critic, real, fake, lam):
    x = _x_hat(real, fake, torch.rand(real.shape[0], 1))
    return lam * (_grad(critic, x, create_graph=False).norm(dim=1) - 1).pow(2).mean()


def gp_batch_norm(critic, real, fake, lam):
    x = _x_hat(real, fake, torch.rand(real.shape[0], 1))
    return lam * (_grad(critic, x).norm() - 1).pow(2)


def gp_squared(critic, real, fake, lam):
    x = _x_hat(real, fake, torch.rand(real.shape[0], 1))
    return lam * _grad(critic, x).pow(2).sum(1).mean()


def gp_at_real(critic, real, fake, lam):
    x = real.detach().requires_grad_(True)
    return lam * (_grad(critic, x).norm(dim=1) - 1).pow(2).mean()


def gp_eps_per_element(critic, real, fake, lam):
    x = _x_hat(real, fake, torch.rand_like(real))
    return lam * (_grad(critic, x).norm(dim=1) - 1).pow(2).mean()


def gp_one_eps(critic, real, fake, lam):
    x = _x_hat(real, fake, torch.rand(1))
    return lam * (_grad(critic, x).norm(dim=1) - 1).pow(2).mean()


def gp_normal_eps(critic, real, fake, lam):
    x = _x_hat(real, fake, torch.randn(real.shape[0], 1) * 3)
    return lam * (_grad(critic, x).norm(dim=1) - 1).pow(2).mean()


def gp_package(critic, real, fake, lam):
    return lam * ge.losses.gradient_penalty(critic, real, fake)


def gp_options(critic, real, fake, lam):
    return options.GradientPenalty(lam, critic, torch.Generator())(torch.zeros(()), real, fake, None)


def gp_backward(critic, real, fake, lam):
    x = _x_hat(real, fake, torch.rand(real.shape[0], 1))
    critic(x).sum().backward()
    return lam * (x.grad.norm(dim=1) - 1).pow(2).mean()


def _gp_with(formula, of=lambda o: o.sum()):
    def fn(critic, real, fake, lam):
        x = _x_hat(real, fake, torch.rand(real.shape[0], 1))
        return formula(_grad(critic, x, of), lam)
    return fn


WRONG_GP = {
    "no create_graph": (gp_no_create_graph, "cannot train the critic"),
    "norm over the whole batch": (gp_batch_norm, "one norm over the whole batch"),
    "||g||^2 instead of (||g|| - 1)^2": (gp_squared, "pushes the slope towards 0"),
    "at the real points only": (gp_at_real, "at the real points only"),
    "eps per element": (gp_eps_per_element, "each coordinate got its own ε"),
    "one eps for the batch": (gp_one_eps, "one ε for the whole batch"),
    "eps from a normal": (gp_normal_eps, "torch.rand, not torch.randn"),
    "no lambda": (_gp_with(lambda g, lam: (g.norm(dim=1) - 1).pow(2).mean()), "Missing λ"),
    "(||g||^2 - 1)^2": (_gp_with(lambda g, lam: lam * (g.pow(2).sum(1) - 1).pow(2).mean()), "squared norm inside"),
    "not squared": (_gp_with(lambda g, lam: lam * (g.norm(dim=1) - 1).abs().mean()), "Missing square"),
    "one-sided": (_gp_with(lambda g, lam: lam * (g.norm(dim=1) - 1).clamp(min=0).pow(2).mean()), "one-sided"),
    "sum over the batch": (_gp_with(lambda g, lam: lam * (g.norm(dim=1) - 1).pow(2).sum()), "do not sum"),
    "gradient of the mean": (_gp_with(lambda g, lam: lam * (g.norm(dim=1) - 1).pow(2).mean(), lambda o: o.mean()),
                             "gradient of C(x̂).mean()"),
    "of a sigmoid": (_gp_with(lambda g, lam: lam * (g.norm(dim=1) - 1).pow(2).mean(), lambda o: torch.sigmoid(o).sum()),
                     "sigmoid(C(x̂))"),
    "the package's penalty": (gp_package, "calls gan_edu's own penalty"),
    "the package's option": (gp_options, "calls gan_edu's own penalty"),
    "the package's penalty itself": (losses.gradient_penalty, "gan_edu.losses.gradient_penalty itself"),
    ".backward() inside": (gp_backward, "You called .backward() inside"),
    "x_hat without requires_grad": (lambda c, r, f, lam: torch.autograd.grad(c(0.5 * r + 0.5 * f).sum(), r)[0].sum(),
                                    "x̂ must require grad"),
    ".item()": (lambda c, r, f, lam: gp(c, r, f, lam).item(), "not a Python number"),
    "per-sample values": (_gp_with(lambda g, lam: lam * (g.norm(dim=1) - 1).pow(2)), "Return one number"),
    "never calls the critic": (lambda c, r, f, lam: torch.zeros((), requires_grad=True), "never called the critic"),
}


@pytest.mark.parametrize("name", WRONG_GP)
def test_check_gradient_penalty_names_the_mistake(name, capsys):
    fn, hint = WRONG_GP[name]
    assert check_gradient_penalty(fn) is False
    out = capsys.readouterr().out
    assert out.startswith("check_gradient_penalty: not yet.") and hint in out, out


gradient_penalty = losses.gradient_penalty  # a student who imported the package's penalty by name


def gp_by_an_imported_name(critic, real, fake, lam):
    return lam * gradient_penalty(critic, real, fake)


def test_the_package_penalty_is_refused_by_an_imported_name_too(capsys):
    assert check_gradient_penalty(gp_by_an_imported_name) is False
    assert "calls gan_edu's own penalty (gan_edu.losses.gradient_penalty)" in capsys.readouterr().out


def test_the_package_penalty_is_restored_after_a_check(capsys):
    saved = (losses.gradient_penalty, options.gradient_penalty)
    check_gradient_penalty(gp_package)
    assert (losses.gradient_penalty, options.gradient_penalty) == saved


def test_the_linear_case_is_lambda_times_slope_minus_one_squared():
    critic, real, fake, lam = ex.penalty_cases()[-1]
    assert gp(critic, real, fake, lam).item() == pytest.approx(lam * (2.5 - 1) ** 2)


def test_no_hint_prints_the_answers_code(capsys):
    for fn, _ in WRONG_GP.values():
        check_gradient_penalty(fn)
    out = capsys.readouterr().out
    for code in ("create_graph=True", "autograd.grad(critic", "requires_grad_(True)", "norm(2, dim=1)",
                 "torch.rand(real.shape[0], 1)", "pow(2).mean()"):
        assert code not in out, code


# ----------------------------------------------------------------------------- predict, then check
def right():
    return {"estimate": 8.0, "slope": 1.0}


def test_the_hidden_critic_reaches_w1_with_slope_one():
    got = ex.prediction_case()
    assert got["estimate"] == pytest.approx(8.0, rel=0.03) and got["slope"] == pytest.approx(1.0, abs=0.05)


def test_check_critic_prediction_accepts_the_right_numbers(capsys):
    assert check_critic_prediction(right) is True
    out = capsys.readouterr().out
    assert out.startswith("check_critic_prediction: correct.") and "(W1 = 8)" in out


WRONG_PREDICTIONS = {
    "the JSD's log 2": ({"estimate": 0.69, "slope": 1.0}, "log 2 is where the JSD stops"),
    "C(G) for disjoint Gaussians": ({"estimate": 0, "slope": 1}, "0 is C(G)"),
    "the slope as the value": ({"estimate": 1.0, "slope": 1.0}, "1 is the critic's slope"),
    "the distance squared": ({"estimate": 64, "slope": 1.0}, "the distance squared"),
    "divided by sigma": ({"estimate": 16, "slope": 1.0}, "divided by σ"),
    "the sign of the value": ({"estimate": -8, "slope": 1.0}, "the sign"),
    "saturated like D*": ({"estimate": 8, "slope": 0.0}, "D*'s at G's samples"),
    "the sign of the slope": ({"estimate": 8, "slope": -1.0}, "rises towards the real data"),
    "the slope as the distance": ({"estimate": 8, "slope": 8}, "8 is the distance"),
    "an unnamed number": ({"estimate": 30, "slope": 0.5}, "Your estimate 30 is off: what does the value"),
}


@pytest.mark.parametrize("name", WRONG_PREDICTIONS)
def test_check_critic_prediction_names_the_confusion(name, capsys):
    guess, hint = WRONG_PREDICTIONS[name]
    assert check_critic_prediction(lambda: guess) is False
    out = capsys.readouterr().out
    assert out.startswith("check_critic_prediction: not yet.") and hint in out, out


@pytest.mark.parametrize("guess, hint", [((8, 1), "Return a dict"), ({"estimate": "8", "slope": 1}, "must be a number"),
                                         ({"w1": 8}, "Return a dict")])
def test_check_critic_prediction_wants_two_numbers(guess, hint, capsys):
    assert check_critic_prediction(lambda: guess) is False
    assert hint in capsys.readouterr().out


# ----------------------------------------------------------------------------- both
def stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("answer, verdict", [(stub, "not done yet"), (42, "Pass your function itself")])
@pytest.mark.parametrize("check", [check_gradient_penalty, check_critic_prediction])
def test_the_stub_and_a_non_function_get_a_verdict_not_an_error(check, answer, verdict, capsys):
    assert check(answer) is False
    assert verdict in capsys.readouterr().out


@pytest.mark.parametrize("check, fn", [(check_gradient_penalty, gp), (check_gradient_penalty, gp_eps_per_element),
                                       (check_critic_prediction, right)])
def test_the_checkers_leave_the_global_rng_alone(check, fn, capsys):
    torch.manual_seed(123)
    np.random.seed(7)
    expected = torch.rand(4), np.random.rand()
    torch.manual_seed(123)
    np.random.seed(7)
    check(fn)
    assert torch.equal(torch.rand(4), expected[0]) and np.random.rand() == expected[1]

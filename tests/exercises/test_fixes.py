"""gan_edu.exercises.fixes (notebook 06): the packing and R1 checkers accept right answers,
name the mistake in wrong ones, say "not done yet" to the stub, and leave the RNG alone."""
import numpy as np
import pytest
import torch

from gan_edu import losses
from gan_edu.exercises import check_pack, check_r1_penalty
from gan_edu.options import Packing


# ----------------------------------------------------------------------------- packing
def pack_reshape(x, m):
    n, d = x.shape
    return x.reshape(n // m, m * d)


def pack_cat(x, m):  # samples j*m, ..., j*m + m - 1 side by side
    return torch.cat([x[i::m] for i in range(m)], dim=1)


def pack_chunks(x, m):  # another grouping: samples j, j + n/m, ... (accepted, with a note)
    return torch.cat(torch.chunk(x, m), dim=1)


@pytest.mark.parametrize("fn", [pack_reshape, pack_cat, lambda x, m: Packing(m)(x)])
def test_check_pack_accepts_right_answers(fn, capsys):
    assert check_pack(fn) is True
    out = capsys.readouterr().out
    assert out.startswith("check_pack: correct.") and "group the samples differently" not in out


def test_check_pack_accepts_another_grouping_with_a_note(capsys):
    assert check_pack(pack_chunks) is True
    assert "group the samples differently" in capsys.readouterr().out


WRONG_PACK = {
    "not flattened": (lambda x, m: x.reshape(x.shape[0] // m, m, x.shape[1]), "one flat vector per input"),
    "repeat": (lambda x, m: x.repeat(1, m), "copied each sample m times"),
    "copies of one sample": (lambda x, m: x[::m].repeat(1, m), "one sample repeated m times"),
    "coordinates interleaved": (
        lambda x, m: x.reshape(x.shape[0] // m, m, x.shape[1]).transpose(1, 2).reshape(x.shape[0] // m, -1),
        "coordinates are interleaved"),
    "reshaped x.T": (lambda x, m: x.t().reshape(x.shape[0] // m, -1), "mixes coordinates of different samples"),
    "packs as columns": (lambda x, m: x.reshape(x.shape[0] // m, -1).t(), "Packs are the rows"),
    "hard-coded d = 2": (lambda x, m: x.reshape(-1, 2 * m), "Do not hard-code the data's dimension d = 2"),
    "ignored m": (lambda x, m: x.reshape(-1, 2 * x.shape[1]), "Use the argument m"),
    "view on a non-contiguous batch": (lambda x, m: x.view(x.shape[0] // m, m * x.shape[1]), "use reshape"),
    "detached": (lambda x, m: pack_reshape(x, m).detach(), "not connected to x by autograd"),
    "through numpy": (lambda x, m: torch.tensor(pack_reshape(x, m).numpy()), "not connected to x by autograd"),
    "returns numpy": (lambda x, m: pack_reshape(x.detach(), m).numpy(), "Return a torch tensor"),
}


@pytest.mark.parametrize("name", WRONG_PACK)
def test_check_pack_names_the_mistake(name, capsys):
    fn, hint = WRONG_PACK[name]
    assert check_pack(fn) is False
    out = capsys.readouterr().out
    assert out.startswith("check_pack: not yet.") and hint in out, out


# ----------------------------------------------------------------------------- R1
def r1_autograd(D, real, fake, gamma):
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return gamma / 2 * grad.pow(2).sum(dim=1).mean()


def r1_grad_outputs(D, real, fake, gamma):  # grad_outputs=ones instead of .sum(); a (1,)-shaped result
    x = real.clone().requires_grad_(True)
    out = D(x)
    (grad,) = torch.autograd.grad(out, x, grad_outputs=torch.ones_like(out), create_graph=True)
    return (gamma * 0.5 * (grad ** 2).sum(1)).mean().reshape(1)


def r1_package(D, real, fake, gamma):
    x = real.detach().requires_grad_(True)
    return gamma / 2 * losses.r1_penalty(D(x), x)


@pytest.mark.parametrize("fn", [r1_autograd, r1_grad_outputs, r1_package])
def test_check_r1_penalty_accepts_right_answers(fn, capsys):
    assert check_r1_penalty(fn) is True
    assert capsys.readouterr().out.startswith("check_r1_penalty: correct.")


def _grad_x(D, x, of=lambda out: out.sum(), create_graph=True):
    x = x.detach().requires_grad_(True)
    return torch.autograd.grad(of(D(x)), x, create_graph=create_graph)[0]


def r1_backward(D, real, fake, gamma):
    x = real.detach().requires_grad_(True)
    D(x).sum().backward()
    return gamma / 2 * x.grad.pow(2).sum(1).mean()


def r1_weights(D, real, fake, gamma):
    grads = torch.autograd.grad(D(real).sum(), list(D.parameters()), create_graph=True)
    return gamma / 2 * sum(g.pow(2).sum() for g in grads)


WRONG_R1 = {
    "no create_graph=True": (lambda D, r, f, g: g / 2 * _grad_x(D, r, create_graph=False).pow(2).sum(1).mean(),
                             "must itself be part of the graph"),
    ".backward() inside": (r1_backward, "You called .backward() inside the penalty"),
    "gradient w.r.t. the weights": (r1_weights, "with respect to D's *weights*"),
    "missing square": (lambda D, r, f, g: g / 2 * _grad_x(D, r).norm(dim=1).mean(), "Missing square"),
    "sum over the batch": (lambda D, r, f, g: g / 2 * _grad_x(D, r).pow(2).sum(), "do not sum"),
    "mean over features too": (lambda D, r, f, g: g / 2 * _grad_x(D, r).pow(2).mean(), "averaged over the features too"),
    "missing gamma/2": (lambda D, r, f, g: _grad_x(D, r).pow(2).sum(1).mean(), "Missing the factor γ/2"),
    "missing 1/2": (lambda D, r, f, g: g * _grad_x(D, r).pow(2).sum(1).mean(), "Missing the 1/2"),
    "on the fakes": (lambda D, r, f, g: g / 2 * _grad_x(D, f).pow(2).sum(1).mean(), "slope at the *fakes*"),
    "WGAN-GP's form": (lambda D, r, f, g: g / 2 * (_grad_x(D, r).norm(dim=1) - 1).pow(2).mean(), "WGAN-GP's form"),
    "gradient of the mean": (lambda D, r, f, g: g / 2 * _grad_x(D, r, lambda o: o.mean()).pow(2).sum(1).mean(),
                             "gradient of D(x).mean()"),
    "of the probability": (lambda D, r, f, g: g / 2 * _grad_x(D, r, lambda o: torch.sigmoid(o).sum()).pow(2).sum(1).mean(),
                           "probability sigmoid(D(x))"),
    "x without requires_grad": (lambda D, r, f, g: torch.autograd.grad(D(r).sum(), r, create_graph=True)[0].sum(),
                                "x must require grad *before* D(x)"),
    "grad of a vector": (lambda D, r, f, g: torch.autograd.grad(D(r.requires_grad_(True)), r)[0].sum(),
                         "needs grad_outputs"),
    ".item()": (lambda D, r, f, g: r1_autograd(D, r, f, g).item(), "not a Python number"),
    "per-sample values": (lambda D, r, f, g: g / 2 * _grad_x(D, r).pow(2).sum(1), "Return one number"),
}


@pytest.mark.parametrize("name", WRONG_R1)
def test_check_r1_penalty_names_the_mistake(name, capsys):
    fn, hint = WRONG_R1[name]
    assert check_r1_penalty(fn) is False
    out = capsys.readouterr().out
    assert out.startswith("check_r1_penalty: not yet.") and hint in out, out


def test_no_hint_prints_the_answers_code(capsys):
    # hints name the mistake and the idea; the solution's lines never appear in a verdict
    for fn, _ in list(WRONG_PACK.values()) + [(lambda x, m: x[torch.randperm(len(x))].reshape(-1, m * x.shape[1]) * 2, "")]:
        check_pack(fn)
    for fn, _ in WRONG_R1.values():
        check_r1_penalty(fn)
    out = capsys.readouterr().out
    for code in ("reshape(n // m", "autograd.grad(D(x)", "autograd.grad(out", "requires_grad_(True)",
                 "create_graph=True", "pow(2).sum(", "R1Penalty", "options.Packing", "losses.r1_penalty"):
        assert code not in out, code


# ----------------------------------------------------------------------------- both
def stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("check", [check_pack, check_r1_penalty])
def test_the_stub_is_not_done_yet(check, capsys):
    assert check(stub) is False
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize("check", [check_pack, check_r1_penalty])
def test_not_a_function_is_refused_without_raising(check, capsys):
    assert check(42) is False
    assert "Pass your function itself" in capsys.readouterr().out


def draws_random_numbers_pack(x, m):
    torch.rand(3)
    np.random.rand()  # NumPy's RNG is the student's business; torch's is restored
    return pack_reshape(x, m)


def draws_random_numbers_r1(D, real, fake, gamma):
    torch.randn(5)
    return r1_autograd(D, real, fake, gamma)


@pytest.mark.parametrize("check, fn", [(check_pack, pack_reshape), (check_pack, draws_random_numbers_pack),
                                       (check_r1_penalty, r1_autograd), (check_r1_penalty, draws_random_numbers_r1),
                                       (check_pack, WRONG_PACK["repeat"][0]),
                                       (check_r1_penalty, WRONG_R1["on the fakes"][0])])
def test_the_checkers_leave_the_global_rng_alone(check, fn, capsys):
    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    check(fn)
    assert torch.equal(torch.rand(4), expected)


def test_the_dirac_case_is_gamma_over_two_psi_squared():
    from gan_edu.exercises.fixes import r1_cases
    D, real, fake, gamma = r1_cases()[-1]
    assert r1_autograd(D, real, fake, gamma).item() == pytest.approx(gamma / 2 * 0.7 ** 2)


# ----------------------------------------------------------------------------- an open target: a recipe
from gan_edu.exercises import fixes  # noqa: E402
from gan_edu.exercises.fixes import check_recipe  # noqa: E402

# notebook 06's answer, tuned on ring seeds 0-9; the checker's seeds (fixes.RECIPE_SEEDS) are others
RECIPE = dict(lr_d=5e-3, lr_g=5e-3, betas=(0.0, 0.9), r1_weight=1.0, batch_size=256, lr_decay=(0.4, 0.01, "linear"))


def test_check_recipe_accepts_the_notebooks_answer(capsys):
    assert check_recipe(lambda: dict(RECIPE)) is True
    out = capsys.readouterr()
    assert out.out.startswith("check_recipe: correct.") and "1,000 of the 1,000 steps" in out.out
    assert out.err == ""  # nbgrader scores a test cell with any stderr 0


def test_the_hidden_seeds_are_not_the_tuning_seeds():
    assert not set(fixes.RECIPE_SEEDS) & set(range(10))


WRONG_RECIPE = {  # settings, what the hint must say; the first ones are refused before any training
    "over budget (rounds)": (dict(RECIPE, rounds=600), "Over budget: 600 rounds"),
    "over budget (d_steps)": (dict(RECIPE, d_steps=5, rounds=200), "1,200 steps; the budget is 1,000"),
    "over budget (batch)": (dict(RECIPE, batch_size=512), "batch_size 512 is above the 256 allowed"),
    "a typo": (dict(RECIPE, lr_dd=1e-3), "Did you mean 'lr_d'?"),
    "steps instead of rounds": (dict(RECIPE, steps=500), "how long to train is `rounds`"),
    "the nets": (dict(RECIPE, hidden=128), "the nets are fixed"),
    "the seed": (dict(RECIPE, seed=1), "the checker picks the seeds"),
    "a refused value": (dict(RECIPE, loss="wgan"), "A setting is refused: unknown loss='wgan'"),
    "a bad decay": (dict(RECIPE, lr_decay=(0.4, 2.0)), "A setting is refused: lr_decay's factor"),
    "not whole": (dict(RECIPE, batch_size=128.0), "must be whole numbers"),
    "diverged": (dict(optimizer="sgd", lr_d=0.5, lr_g=0.5), "Training diverged on hidden seed 1"),
    "collapsed to a point": (dict(lr_d=0.5, lr_g=0.5), "all sit at one point"),
    "the plain GAN": ({}, ("Without a decay the rates stay high", "Your recipe differs from best's (section 2) in: "
                                                            "a smaller batch")),
    "an average too long": (dict(RECIPE, ema=0.995), "averages G's weights over about 200 rounds"),
    "an unbounded critic": (dict(RECIPE, loss="wasserstein", r1_weight=0.0), "without gp_weight"),
}


@pytest.mark.parametrize("name", WRONG_RECIPE)
def test_check_recipe_names_the_mistake(name, capsys):
    settings, hints = WRONG_RECIPE[name]
    assert check_recipe(lambda: settings) is False
    out = capsys.readouterr()
    assert out.out.startswith("check_recipe: not yet.") and out.out.count("\n") == 1, out.out
    assert all(hint in out.out for hint in ((hints,) if isinstance(hints, str) else hints)), out.out
    assert out.err == ""


@pytest.mark.parametrize("answer, hint", [(lambda: [("lr_d", 1e-3)], "Return a dict of settings"),
                                          (lambda: 1 / 0, "ZeroDivisionError"), (stub, "not done yet"),
                                          (42, "Pass your function itself")])
def test_check_recipe_refuses_what_is_not_a_recipe_without_raising(answer, hint, capsys):
    assert check_recipe(answer) is False
    assert hint in capsys.readouterr().out


def test_check_recipe_leaves_the_global_rng_and_the_threads_alone(capsys):
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    check_recipe(lambda: dict(lr_d=0.5, lr_g=0.5, optimizer="sgd"))  # trains until it diverges
    assert torch.equal(torch.rand(4), expected) and torch.get_num_threads() == threads


def test_every_recipe_key_is_known_to_the_checker():
    from gan_edu.settings import Settings
    import dataclasses
    assert set(fixes.recipe_keys()) == {f.name for f in dataclasses.fields(Settings)} - {"seed"} | {
        "batch_size", "rounds", "lr_decay"}

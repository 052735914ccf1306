"""gan_edu.exercises.dcgan: notebook 05's DCGAN blocks and its open target, right and wrong."""
import pytest
import torch
from torch import nn

from gan_edu.exercises import check_down_block, check_up_block
from gan_edu.exercises.dcgan import DOWN, UP, _capital, check_recipe


def up(i, o):
    return nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True))


def down(i, o):
    return nn.Sequential(nn.Conv2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.LeakyReLU(0.2, True))


def said(capsys):
    return capsys.readouterr().out


def test_the_solutions_pass(capsys):
    assert check_up_block(up) and check_down_block(down)
    assert said(capsys).count(": correct.") == 2


def test_a_bias_before_batch_norm_passes_with_a_note(capsys):
    assert check_up_block(lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1), nn.BatchNorm2d(o), nn.ReLU()))
    assert "bias=False is usual" in said(capsys)


UP_WRONG = {
    "Conv2d, which halves": (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 4, 2, 1), nn.BatchNorm2d(o), nn.ReLU()),
                             "expected"),
    "stride 1": (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 3, 1, 1), nn.BatchNorm2d(o), nn.ReLU()),
                 "expected (2, 8, 8, 8). " + _capital(UP["size"])),
    "kernel 3": (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 3, 2, 1), nn.BatchNorm2d(o), nn.ReLU()),
                 _capital(UP["size"])),
    "kernel 2, the right size": (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 2, 2, 0), nn.BatchNorm2d(o),
                                                            nn.ReLU()), "the size comes out right"),
    "upsample, then a stride-1 convolution": (
        lambda i, o: nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(i, o, 3, 1, 1), nn.BatchNorm2d(o),
                                   nn.ReLU()), _capital(UP["conv"])),
    "no batch norm": (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1), nn.ReLU()), UP["norm"]),
    "D's activation": (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1), nn.BatchNorm2d(o),
                                                  nn.LeakyReLU(0.2)), UP["act"]),
    "tanh inside": (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1), nn.BatchNorm2d(o), nn.Tanh()),
                    UP["act"]),
    "channels swapped": (lambda i, o: nn.Sequential(nn.ConvTranspose2d(o, i, 4, 2, 1), nn.BatchNorm2d(i), nn.ReLU()),
                         "in_ch"),
    "a function, not a module": (lambda i, o: (lambda x: x), "nn.Module"),
}


@pytest.mark.parametrize("name", UP_WRONG)
def test_wrong_up_blocks_are_named(name, capsys):
    fn, hint = UP_WRONG[name]
    assert check_up_block(fn) is False
    out = said(capsys)
    assert "not yet" in out and hint in out, out


DOWN_WRONG = {
    "ConvTranspose2d": (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1), nn.BatchNorm2d(o),
                                                   nn.LeakyReLU(0.2)), "expected"),
    "stride 1": (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, 1, 1), nn.BatchNorm2d(o), nn.LeakyReLU(0.2)),
                 "expected (2, 8, 2, 2). " + _capital(DOWN["size"])),
    "kernel 2, the right size": (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 2, 2, 0), nn.BatchNorm2d(o),
                                                            nn.LeakyReLU(0.2)), "the size comes out right"),
    "plain ReLU": (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 4, 2, 1), nn.BatchNorm2d(o), nn.ReLU()), DOWN["act"]),
    "slope 0.01": (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 4, 2, 1), nn.BatchNorm2d(o), nn.LeakyReLU()),
                   DOWN["act"]),
    "sigmoid at the end": (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 4, 2, 1), nn.BatchNorm2d(o), nn.LeakyReLU(0.2),
                                                      nn.Sigmoid()), DOWN["act"]),
    "no batch norm": (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 4, 2, 1), nn.LeakyReLU(0.2)), DOWN["norm"]),
    "padding 0": (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 4, 2, 0), nn.BatchNorm2d(o), nn.LeakyReLU(0.2)),
                  "expected"),
}


@pytest.mark.parametrize("name", DOWN_WRONG)
def test_wrong_down_blocks_are_named(name, capsys):
    fn, hint = DOWN_WRONG[name]
    assert check_down_block(fn) is False
    out = said(capsys)
    assert "not yet" in out and hint in out, out


def test_no_hint_prints_the_answers_code(capsys):
    # hints give the size formulas and name the layer kinds; the solution's choices never appear in a verdict
    for fn, _ in list(UP_WRONG.values()) + list(DOWN_WRONG.values()):
        check_up_block(fn)
        check_down_block(fn)
    out = capsys.readouterr().out
    for code in ("nn.ConvTranspose2d(", "nn.Conv2d(", "nn.BatchNorm2d(", "nn.LeakyReLU(", "nn.ReLU(", "4, 2, 1",
                 "kernel 4, stride 2", "stride 2, padding 1", "(h - 1) * 2"):  # the student's own stride may be echoed
        assert code not in out, code
    assert ". with" not in out and ". a " not in out  # every sentence starts with a capital


def test_an_error_in_the_students_code_is_reported_not_raised(capsys):
    def broken(i, o):
        return nn.Sequential(nn.Linear(i, o))  # a linear layer on images: a shape error inside torch

    assert check_down_block(broken) is False
    assert "not yet" in said(capsys)


@pytest.mark.parametrize("check", [check_up_block, check_down_block])
def test_the_stub_is_not_done_yet(check, capsys):
    def stub(in_ch, out_ch):
        raise NotImplementedError

    assert check(stub) is False and "not done yet" in said(capsys)


def test_the_checkers_leave_the_global_rng_alone():
    state = torch.random.get_rng_state()
    check_up_block(up)
    check_down_block(down)
    assert torch.equal(state, torch.random.get_rng_state())


# ----------------------------------------------------------------------------- an open target: good digits on a budget
REFERENCE = {"lr_d": 2e-3, "lr_g": 2e-3, "ema": 0.95, "rounds": 300, "batch_size": 128}


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setenv("GAN_EDU_FAST", "1")  # a fifth of the rounds, the loose target: a few seconds each


def test_the_reference_recipe_passes_in_fast_mode(fast, capsys):
    assert check_recipe(lambda: REFERENCE) is True
    assert "check_recipe: correct" in said(capsys)


WRONG_RECIPES = {  # caught before any training
    "too many rounds": ({**REFERENCE, "rounds": 600}, "over budget: 600 rounds"),
    "two D steps a round": ({**REFERENCE, "d_steps": 2}, "= 600 D updates"),
    "batches too large": ({**REFERENCE, "batch_size": 512}, "batches of at most 128"),
    "the seed": ({**REFERENCE, "seed": 3}, "trains from its own seed"),
    "one lr for both": ({"lr": 2e-3, "rounds": 300}, "use lr_d and lr_g"),
    "steps, not rounds": ({"lr_d": 2e-3, "lr_g": 2e-3, "steps": 300}, "use rounds"),
    "a typo": ({"lr_D": 2e-3}, "Did you mean 'lr_d'?"),
    "a refused value": ({**REFERENCE, "lr_g": -1}, "refused by ge.GAN: lr_g"),
    "half a round": ({**REFERENCE, "rounds": 12.5}, "whole number of rounds"),
    "a batch of one": ({**REFERENCE, "batch_size": 1}, "batch norm needs two images"),
    "not a dict": ([("lr_d", 2e-3)], "Return a dict"),
}


@pytest.mark.parametrize("name", WRONG_RECIPES)
def test_wrong_recipes_are_named_before_training(name, capsys):
    recipe, hint = WRONG_RECIPES[name]
    assert check_recipe(lambda: recipe) is False
    out = said(capsys)
    assert "check_recipe: not yet" in out and hint.lower() in out.lower(), out


TRAINED_WRONG = {  # trained (fast mode), then missing the target: the hint names why
    "a learning rate that diverges": ({"lr_d": 1.0, "lr_g": 1.0}, "overshoot"),
    "learning rates too small": ({"lr_d": 1e-5, "lr_g": 1e-5}, "learn slowly"),
    "the budget unused": ({**REFERENCE, "rounds": 20}, "You trained 20 rounds; the budget allows 300"),
}


@pytest.mark.parametrize("name", TRAINED_WRONG)
def test_recipes_that_miss_the_target_get_a_hint(name, fast, capsys):
    recipe, hint = TRAINED_WRONG[name]
    assert check_recipe(lambda: recipe) is False
    out = said(capsys)
    assert "check_recipe: not yet" in out and "times the floor; the target is at most" in out and hint in out, out


@pytest.mark.parametrize("settings, hint", [({"lr_d": 2e-3, "lr_g": 2e-3}, "an average of G's weights"),
                                            ({"lr_d": 2e-3, "lr_g": 2e-3, "optimizer": "sgd"}, "Plain SGD"),
                                            ({"lr_d": 2e-3}, "lr_g 0.0002"),
                                            ({"lr_d": 2e-3, "lr_g": 2e-3, "ema": 0.9}, "one thing at a time")])
def test_the_hint_for_a_miss_follows_the_settings(settings, hint):
    from gan_edu.exercises.dcgan import _missed_hint

    assert hint in _missed_hint(300, settings, 16.9, 10.0)


def test_a_diverged_training_is_reported_not_raised(monkeypatch, capsys):
    from gan_edu.exercises import dcgan

    monkeypatch.setattr(dcgan, "train_recipe", lambda *args, **kw: (None, float("inf"), 41))
    assert check_recipe(lambda: REFERENCE) is False
    assert "diverged: a non-finite loss at round 42" in said(capsys)


def test_check_recipe_leaves_the_random_state_and_threads_alone(fast):
    state, threads = torch.random.get_rng_state(), torch.get_num_threads()
    check_recipe(lambda: {**REFERENCE, "rounds": 10})
    assert torch.equal(state, torch.random.get_rng_state()) and torch.get_num_threads() == threads


def test_the_recipe_stub_and_a_non_callable(capsys):
    def stub():
        raise NotImplementedError

    assert check_recipe(stub) is False and "not done yet" in said(capsys)
    assert check_recipe(REFERENCE) is False and "Pass your function itself" in said(capsys)


def test_the_questions_are_judged():
    from gan_edu.exercises.dcgan import QUESTIONS
    from gan_edu.exercises.quiz import judge

    assert judge(QUESTIONS[0], 3)[0] and not judge(QUESTIONS[0], 3.5)[0]
    assert judge(QUESTIONS[1], 1)[0] and not judge(QUESTIONS[1], 0)[0]

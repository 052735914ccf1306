"""gan_edu.exercises.dcgan: notebook 05's DCGAN blocks, right and wrong."""
import pytest
import torch
from torch import nn

from gan_edu.exercises import check_down_block, check_up_block
from gan_edu.exercises.dcgan import DOWN, UP


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
                 UP["size"]),
    "kernel 3": (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 3, 2, 1), nn.BatchNorm2d(o), nn.ReLU()),
                 UP["size"]),
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
                 DOWN["size"]),
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

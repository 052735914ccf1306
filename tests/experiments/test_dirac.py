"""gan_edu.experiments.dirac: the Dirac-GAN, its vector field, the update schemes' paths, R1 and averaging."""
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from gan_edu.experiments import dirac


def test_f_and_its_derivative():
    assert dirac.f(0.0) == pytest.approx(-math.log(2))
    assert dirac.f_prime(0.0) == pytest.approx(0.5)
    t = np.linspace(-5, 5, 11)
    numeric = (dirac.f(t + 1e-6) - dirac.f(t - 1e-6)) / 2e-6
    assert np.allclose(dirac.f_prime(t), numeric, atol=1e-6)
    assert np.isfinite(dirac.f(np.array([-1e4, 1e4]))).all()


def test_vector_field_by_hand():
    # at (θ, ψ) = (2, 0): σ(0) = 1/2, dθ = 0, dψ = -2 * 1/2 = -1 (D tilts down at the fake); R1 adds -γψ = 0
    assert np.allclose(dirac.vector_field(2.0, 0.0, gamma=3.0), (0.0, -1.0))
    # at (0, 2): dθ = 2 * 1/2 = 1 (G climbs D's slope), dψ = 0 - γ * 2
    assert np.allclose(dirac.vector_field(0.0, 2.0, gamma=0.5), (1.0, -1.0))
    # the field is the gradient of L: dθ = -dL/dθ, dψ = dL/dψ
    th, ps, h = 0.7, -0.4, 1e-6
    d_theta = -(dirac.dirac_loss(th + h, ps) - dirac.dirac_loss(th - h, ps)) / (2 * h)
    d_psi = (dirac.dirac_loss(th, ps + h) - dirac.dirac_loss(th, ps - h)) / (2 * h)
    assert np.allclose(dirac.vector_field(th, ps), (d_theta, d_psi), atol=1e-6)
    # everywhere at a right angle to (θ, ψ): the exact flow keeps its distance from (0, 0)
    T, P = np.meshgrid(np.linspace(-3, 3, 13), np.linspace(-3, 3, 13))
    dT, dP = dirac.vector_field(T, P)
    assert np.allclose(T * dT + P * dP, 0.0, atol=1e-12)


def test_loss_is_the_courses_value_function():
    # D(x) = ψx is a logit, positive = real: V = log σ(D(0)) + log(1 - σ(D(θ))) (losses.value_function)
    import torch
    from gan_edu.losses import value_function

    for th, ps in ((0.7, -0.4), (1.0, 2.0), (-1.5, 0.3), (0.0, 1.0)):
        d_real = torch.sigmoid(torch.tensor([0.0], dtype=torch.float64))  # D(0) = ψ * 0
        d_fake = torch.sigmoid(torch.tensor([ps * th], dtype=torch.float64))
        assert dirac.dirac_loss(th, ps) == pytest.approx(float(value_function(d_real, d_fake)), abs=1e-12)


def _paper_trajectory(theta, psi, lr_d, lr_g, steps, method, gamma=0.0):
    """The paper's convention (D's logit positive = fake): L = f(ψθ) + f(0), v = (-ψ f'(θψ), θ f'(θψ) - γψ)."""
    field = lambda th, ps: (-ps * dirac.f_prime(th * ps), th * dirac.f_prime(th * ps) - gamma * ps)  # noqa: E731
    out = [(theta, psi)]
    for _ in range(steps):
        if method == "simultaneous":
            d_th, d_ps = field(theta, psi)
            theta, psi = theta + lr_g * d_th, psi + lr_d * d_ps
        else:
            psi = psi + lr_d * field(theta, psi)[1]
            theta = theta + lr_g * field(theta, psi)[0]
        out.append((theta, psi))
    return np.array(out, dtype=float)


@pytest.mark.parametrize("method", dirac.METHODS)
@pytest.mark.parametrize("gamma", [0.0, 0.5])
def test_the_papers_convention_is_the_mirror_image(method, gamma):
    # ψ_ours = -ψ_paper: from (1, -1) here, the paper's path from (1, 1) with ψ negated, the same distances
    ours = dirac.dirac_gan(1.0, -1.0, lr_d=0.3, lr_g=0.1, steps=200, method=method, gamma=gamma)
    paper = _paper_trajectory(1.0, 1.0, 0.3, 0.1, 200, method, gamma)
    assert np.allclose(ours, paper * [1, -1], atol=1e-12)
    assert np.allclose(dirac.dirac_loss(ours[:, 0], ours[:, 1]), dirac.f(paper[:, 0] * paper[:, 1]) + dirac.f(0.0))


def test_first_steps_by_hand():
    # simultaneous from (1, -1), lr 0.1: σ(θψ) = σ(-1) = s, θ' = 1 + 0.1 ψ s = 1 - 0.1 s, ψ' = -1 - 0.1 θ s
    s = 1 / (1 + math.e)
    traj = dirac.dirac_gan(1.0, -1.0, lr_d=0.1, lr_g=0.1, steps=1, method="simultaneous")
    assert np.allclose(traj, [[1, -1], [1 - 0.1 * s, -1 - 0.1 * s]])
    # alternating: ψ first, then θ with the new ψ
    traj = dirac.dirac_gan(1.0, -1.0, lr_d=0.1, lr_g=0.2, steps=1, method="alternating")
    psi = -1 - 0.1 * s
    theta = 1 + 0.2 * psi / (1 + math.exp(-psi))
    assert np.allclose(traj[1], [theta, psi])
    # simultaneous steps at one rate land exactly |v| η farther out: |p'|² = |p|² + η²|v|²
    v = np.array(dirac.vector_field(1.0, -1.0), dtype=float)
    assert np.sum(traj[0] ** 2) + 0.01 * np.sum(v ** 2) == pytest.approx(
        np.sum(dirac.dirac_gan(1.0, -1.0, 0.1, 0.1, steps=1)[1] ** 2))


@pytest.mark.parametrize("lr", [0.05, 0.1, 0.3])
def test_simultaneous_steps_spiral_out(lr):
    r = dirac.radius(dirac.dirac_gan(1.0, -1.0, lr, lr, steps=1000, method="simultaneous"))
    assert np.all(np.diff(r) > 0)          # every step moves away from the equilibrium
    assert r[-1] > 1.2 * r[0]


@pytest.mark.parametrize("lr", [0.05, 0.1, 0.3])
def test_alternating_steps_circle_without_converging(lr):
    r = dirac.radius(dirac.dirac_gan(1.0, -1.0, lr, lr, steps=3000, method="alternating"))
    assert r.max() < 1.15 * r[0]           # bounded
    assert r.min() > 0.9 * r[0]            # but never approaching (0, 0)
    traj = dirac.dirac_gan(1.0, -1.0, lr, lr, steps=3000, method="alternating")
    assert (traj[:, 0] < 0).any() and (traj[:, 0] > 0).any()  # it goes round


@pytest.mark.parametrize("method", dirac.METHODS)
def test_r1_penalty_converges(method):
    traj = dirac.dirac_gan(1.0, -1.0, 0.1, 0.1, steps=1000, method=method, gamma=1.0)
    assert dirac.radius(traj)[-1] < 1e-6


def test_dirac_gan_refuses_bad_arguments_by_name():
    with pytest.raises(ValueError, match="method"):
        dirac.dirac_gan(method="sideways")
    with pytest.raises(ValueError, match="lr_d"):
        dirac.dirac_gan(lr_d=0)
    with pytest.raises(TypeError, match="lr_g"):
        dirac.dirac_gan(lr_g="fast")
    with pytest.raises(ValueError, match="gamma"):
        dirac.dirac_gan(gamma=-1.0)
    with pytest.raises(ValueError, match="steps"):
        dirac.dirac_gan(steps=0)


def test_phase_portrait_is_labelled():
    traj = dirac.dirac_gan(steps=50)
    ax = dirac.plot_phase_portrait(traj, title="sim")
    assert ax.get_title() == "sim" and "θ" in ax.get_xlabel() and "ψ" in ax.get_ylabel()
    assert {"trajectory", "start", "end"} <= {t.get_text() for t in ax.get_legend().get_texts()}
    plt.close(ax.figure)


def test_turns_by_hand():
    angles = np.linspace(0, 2 * np.pi * 1.5, 301)
    assert dirac.turns(np.stack([np.cos(angles), np.sin(angles)], 1)) == pytest.approx(1.5)
    assert dirac.turns(np.stack([np.cos(angles), -np.sin(angles)], 1)) == pytest.approx(-1.5)
    assert dirac.turns([[1.0, -1.0]]) == 0.0
    for bad in ([], np.ones((3, 3)), [1.0, 2.0]):
        with pytest.raises(ValueError, match="trajectory"):
            dirac.turns(bad)
    # the exact flow turns clockwise; alternating steps at lr 0.1 go round about twice in 300 steps
    assert -2.3 < dirac.turns(dirac.dirac_gan(steps=300, method="alternating")) < -1.8


def test_moving_average_by_hand_and_on_the_circling_trajectory():
    traj = np.array([[0.0, 0.0], [1.0, 2.0], [1.0, 2.0]])
    assert np.allclose(dirac.moving_average(traj, 0.5), [[0, 0], [0.5, 1.0], [0.75, 1.5]])
    assert np.array_equal(dirac.moving_average(traj, 0.0), traj)
    # alternating steps circle at radius ~1.4; the average of the iterates circles much closer in
    circling = dirac.dirac_gan(1.0, -1.0, steps=300, method="alternating")
    last, averaged = dirac.radius(circling)[-1], dirac.radius(dirac.moving_average(circling, 0.99))[-1]
    assert last > 1.3 and averaged < 0.3 * last
    for bad in (1.0, -0.1, True, float("nan")):
        with pytest.raises(ValueError, match="decay"):
            dirac.moving_average(traj, bad)

r"""The Dirac-GAN of Mescheder, Geiger & Nowozin (2018), "Which training methods for GANs do
actually converge?": the smallest GAN that oscillates, written in this course's convention.

- Data: a point mass at 0, p_data = δ_0. Generator: a point mass at θ, p_θ = δ_θ.
- Discriminator: linear, D_ψ(x) = ψ·x, a logit: positive means "real", as everywhere in the
  course (``losses.discriminator_loss``), so D's probability of "real" is σ(ψx).
- Objective: the value function V = E_data log σ(D(x)) + E_fake log(1 - σ(D(x)))
  (``losses.value_function``) with f(t) = log σ(t) = -log(1 + exp(-t)) and 1 - σ(t) = σ(-t):

      L(θ, ψ) = f(D_ψ(0)) + f(-D_ψ(θ)) = f(0) + f(-ψθ),   G minimises over θ, D maximises over ψ.

  The paper writes D's logit with the other sign (positive means "fake"): L = f(ψθ) + f(0). That
  is the same game with ψ replaced by -ψ: every path here is the paper's mirrored in the θ axis
  (from (θ₀, -ψ₀) there), with the same distances from (0, 0).

The unique equilibrium is (θ, ψ) = (0, 0). The gradient vector field, with f'(t) = σ(-t),

      v(θ, ψ) = (-∂L/∂θ, ∂L/∂ψ) = (ψ σ(θψ), -θ σ(θψ)),

is everywhere at a right angle to (θ, ψ) (their dot product is 0): the continuous dynamics
circle (0, 0) at a constant distance, clockwise; at (0, 0) the Jacobian has eigenvalues ±i/2.
Discrete steps do worse or no better: a *simultaneous* step with one learning rate η goes along
the tangent, so it lands farther out, |p + ηv|² = |p|² + η²|v|²; *alternating* steps (D first,
then G with the new ψ) stay on a bounded cycle without converging. The R1 gradient penalty
(γ/2) E_{p_data}||∇_x D_ψ(x)||² = (γ/2) ψ², subtracted from D's objective, adds -γψ to ψ's
update and makes the equilibrium attractive: the iterates converge to (0, 0).

θ and ψ must be finite numbers (or arrays of them, for a plot); a trajectory is an array of
points (θ, ψ) of shape (n, 2), n >= 1. Anything else is refused with an error naming it.
"""
from __future__ import annotations

import numpy as np

from ..checks import as_numbers as _as_numbers
from ..checks import check_choice, check_count, check_fraction, check_lr, check_real as _check_real, check_weight

__all__ = ["METHODS", "f", "f_prime", "dirac_loss", "vector_field", "dirac_gan", "radius", "turns",
           "moving_average", "plot_phase_portrait"]

METHODS = ("simultaneous", "alternating")


def f(t):
    r"""f(t) = -log(1 + exp(-t)) = log sigmoid(t), computed stably."""
    t = _as_numbers("t", t)
    return -np.logaddexp(0.0, -t)


def f_prime(t):
    r"""f'(t) = 1 / (1 + exp(t)) = sigmoid(-t); f'(0) = 1/2."""
    t = _as_numbers("t", t)
    return 0.5 * (1 - np.tanh(t / 2))  # = sigmoid(-t), without overflow


def _players(theta, psi) -> tuple[np.ndarray, np.ndarray]:
    """θ and ψ as arrays of finite numbers whose shapes broadcast together (one point, or a grid)."""
    theta, psi = _as_numbers("theta", theta, finite=True), _as_numbers("psi", psi, finite=True)
    try:
        np.broadcast_shapes(theta.shape, psi.shape)
    except ValueError:
        raise ValueError(f"theta and psi must be of shapes that broadcast together, got {theta.shape} and "
                         f"{psi.shape}") from None
    return theta, psi


def dirac_loss(theta, psi):
    r"""L(θ, ψ) = f(0) + f(-ψθ), the value function of the data at 0 and the fake at θ under
    D(x) = ψx: G minimises it, D maximises it."""
    theta, psi = _players(theta, psi)
    return f(0.0) + f(-psi * theta)


def vector_field(theta, psi, gamma: float = 0.0):
    r"""The update directions (dθ, dψ) = (ψ σ(θψ), -θ σ(θψ) - γψ), σ(θψ) = f'(-θψ).

    dθ = -∂L/∂θ (G descends), dψ = ∂/∂ψ [L - (γ/2) ψ²] (D ascends its R1-penalised objective).
    Works elementwise on arrays (for a quiver plot) and on floats.
    """
    theta, psi = _players(theta, psi)
    return _field(theta, psi, check_weight("gamma", gamma))


def _field(theta, psi, gamma: float):
    """``vector_field`` without its checks: ``dirac_gan``'s steps, whose iterates may overflow."""
    s = f_prime(-theta * psi)  # = σ(θψ)
    return psi * s, -theta * s - gamma * psi


def dirac_gan(theta0: float = 1.0, psi0: float = -1.0, lr_d: float = 0.1, lr_g: float = 0.1,
              steps: int = 300, method: str = "simultaneous", gamma: float = 0.0) -> np.ndarray:
    r"""Gradient steps on the Dirac-GAN from (θ₀, ψ₀); returns the trajectory, shape (steps + 1, 2).
    The default start (1, -1): the fake at 1, and D already calls it fake (logit ψθ = -1).

    - ``"simultaneous"``: both players step from the same point,
      θ' = θ + lr_g ψ σ(θψ),  ψ' = ψ - lr_d (θ σ(θψ) + γψ).
    - ``"alternating"``: D steps first, then G steps against the *new* ψ (as ``GAN.fit`` does),
      ψ' = ψ - lr_d (θ σ(θψ) + γψ),  θ' = θ + lr_g ψ' σ(θψ').

    ``gamma`` > 0 adds the R1 gradient penalty (γ/2) ψ² to D's loss.
    """
    theta, psi = _check_real("theta0", theta0), _check_real("psi0", psi0)
    lr_d, lr_g = check_lr("lr_d", lr_d), check_lr("lr_g", lr_g)
    gamma = check_weight("gamma", gamma)
    steps = check_count("steps", steps)
    check_choice("method", method, METHODS)
    out = np.empty((steps + 1, 2))
    out[0] = theta, psi
    for i in range(1, steps + 1):
        if method == "simultaneous":
            d_theta, d_psi = _field(theta, psi, gamma)
            theta, psi = theta + lr_g * float(d_theta), psi + lr_d * float(d_psi)
        else:
            psi = psi + lr_d * float(_field(theta, psi, gamma)[1])
            theta = theta + lr_g * float(_field(theta, psi, gamma)[0])
        out[i] = theta, psi
    return out


def _trajectory(trajectory) -> np.ndarray:
    """Points (θ, ψ) as an array of shape (n, 2), n >= 1 (a diverged one may hold inf and NaN)."""
    traj = _as_numbers("trajectory", trajectory)
    if traj.ndim != 2 or traj.shape[1] != 2:
        raise ValueError(f"trajectory must be points (θ, ψ) of shape (n, 2), as dirac_gan returns, got shape "
                         f"{traj.shape}")
    return traj


def radius(trajectory) -> np.ndarray:
    r"""Distance of each point of a trajectory from the equilibrium (0, 0): √(θ² + ψ²)."""
    return np.hypot(*_trajectory(trajectory).T)


def turns(trajectory) -> float:
    r"""How many times a trajectory went round (0, 0): its total change of angle over 2π,
    positive counter-clockwise in the (θ, ψ) plane (this Dirac-GAN turns clockwise: negative)."""
    traj = _trajectory(trajectory)
    angle = np.unwrap(np.arctan2(traj[:, 1], traj[:, 0]))
    return float((angle[-1] - angle[0]) / (2 * np.pi))


def moving_average(trajectory, decay: float = 0.99) -> np.ndarray:
    r"""The exponential moving average of a trajectory's points: p̄₀ = p₀, p̄ₜ = β p̄ₜ₋₁ + (1 - β) pₜ
    with β = ``decay``; the average of G's weights that ``GAN(ema=β)`` keeps (``train.ema_update``),
    here of both players' parameters (θ, ψ). Of points that circle the equilibrium it circles much
    closer to it."""
    traj = _trajectory(trajectory)
    decay = check_fraction("decay", decay)
    out = np.empty_like(traj)
    out[0] = traj[0]
    for t in range(1, len(traj)):
        out[t] = decay * out[t - 1] + (1 - decay) * traj[t]
    return out


def plot_phase_portrait(trajectory, gamma: float = 0.0, ax=None, title: str = "Dirac-GAN phase portrait",
                        lim: float | None = None, label: str = "trajectory"):
    """The direction of the vector field v(θ, ψ) (arrows of one length: v itself is ~0 where σ(θψ) is
    tiny) and a trajectory from ``dirac_gan`` (line, start and end marked)."""
    import matplotlib.pyplot as plt

    traj = _trajectory(trajectory)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    if lim is None:
        finite = traj[np.isfinite(traj).all(1)]
        lim = max(1.5, 1.15 * float(np.abs(finite).max())) if len(finite) else 1.5
    g = np.linspace(-lim, lim, 17)
    T, P = np.meshgrid(g, g)
    dT, dP = vector_field(T, P, gamma)
    size = np.hypot(dT, dP)
    size[size == 0] = 1.0  # directions only: the field's length shrinks to ~0 where σ(θψ) is tiny
    ax.quiver(T, P, dT / size, dP / size, color="0.55", angles="xy", width=0.003)
    ax.plot(traj[:, 0], traj[:, 1], "-", lw=1.2, color="C0", label=label)
    ax.plot(*traj[0], "o", color="C2", label="start")
    ax.plot(0, 0, "*", color="k", ms=12, label="equilibrium (0, 0)")
    ax.plot(*traj[-1], "s", mfc="none", mec="C3", mew=2, ms=11, zorder=5, label="end")  # hollow: a star under it shows
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="θ (generator: position of the fake point)",
           ylabel="ψ (discriminator: slope of D(x) = ψx)", title=title, aspect="equal")
    ax.legend(loc="upper right", fontsize=8)
    return ax

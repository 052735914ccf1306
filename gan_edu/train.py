"""The GAN training loop.

One *round* of training, as in Goodfellow et al. (2014), Algorithm 1:

- Step 0: labels. Real data gets the label 1, generated data the label 0.
- Step 1 (``d_steps`` times): D step. Generate fakes with G kept out of backpropagation
  (``torch.no_grad()``), then one backward pass of BCE(D(x), 1) + BCE(D(G(z)), 0) into D only.
- Step 2 (``g_steps`` times): G step. Push fresh fakes through D and minimise BCE(D(G(z)), 1):
  the *real* label (the non-saturating loss), or E log(1 - D(G(z))) (the saturating, minimax loss).

That is the *alternating* update: each G step sees the D that was just updated. The
*simultaneous* update (``update="simultaneous"``) instead computes both gradients from one
forward pass of the same fakes through the same D, then steps both optimizers: G's gradient
comes from the D *before* its update (gradient descent-ascent on V(D,G)).

Label smoothing (Salimans et al. 2016) replaces D's targets: one-sided, real 1 -> 1 - s;
two-sided, also fake 0 -> s. G's step always uses the real label 1.

Fixes for failure modes (notebook 06), each a switch: ``loss="lsgan"`` or ``"wasserstein"``
(``gan_edu.losses``), ``gp_weight`` (WGAN-GP's gradient penalty added to D's loss), ``r1_weight``
(the R1 penalty on real data) and ``pack``
(PacGAN: D judges ``pack`` samples at once, concatenated into one input).

Weight averaging: with ``ema`` β > 0 the GAN also keeps ``G_ema``, an exponential moving average
of G's weights, θ̄ ← β θ̄ + (1 - β) θ after every round (``ema_update``; Yazıcı et al. 2019).
Training never uses it; ``sample`` draws from it. Near the end of a run G's weights still jitter
from step to step, and the average sits at the centre of that jitter.
"""
from __future__ import annotations

import contextlib
import copy
import math
import numbers
import os
import signal
import tempfile
import threading
import warnings
from pathlib import Path

import torch
from torch import nn

from . import speed
from .data import TensorSampler
from .device import get_device
from .losses import (BCE_LOSSES, GENERATOR_LOSSES, discriminator_loss, discriminator_loss_for, generator_loss,
                     gradient_penalty, r1_penalty)

__all__ = ["GAN", "NonFiniteLossError", "ema_update", "OPTIMIZERS", "NOISES", "UPDATES", "LABEL_SMOOTHINGS"]

OPTIMIZERS = ("adam", "sgd")
NOISES = ("normal", "uniform")
UPDATES = ("alternating", "simultaneous")
LABEL_SMOOTHINGS = ("none", "one_sided", "two_sided")
MAX_STEPS_PER_ROUND = 10
# settings() keys that only the constructor sets: configure() accepts them back unchanged only
CONSTRUCTION_ONLY = ("betas", "seed", "pack", "ema")
HISTORY_KEYS = ("step", "loss_d", "loss_g", "d_real", "d_fake", "lr_d", "lr_g")
# d_real / d_fake are the mean of D's output on real / fake data, as a probability sigmoid(l)
# for the BCE losses; for "lsgan" the raw output (D regresses real onto 1, fake onto 0) and for
# "wasserstein" the critic's raw score (d_real - d_fake estimates W(p_data, p_g)): not probabilities.


def atomic_save(obj, path) -> Path:
    """``torch.save(obj)`` to a temporary file in ``path``'s folder, then a rename onto ``path``:
    a crash or a full disk never leaves half a file where a good one was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def safe_load(path, what: str = "gan_edu file") -> dict:
    """``torch.load(path, weights_only=True)`` onto the CPU: tensors, numbers, strings, lists and
    dicts only, so a file cannot run code. A missing file raises FileNotFoundError; anything else
    unreadable (corrupt, truncated, not a dict) a ValueError naming ``what`` was expected."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:
        raise ValueError(f"{path} is not a readable {what}: {err}") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a {what}")
    return state


class NonFiniteLossError(FloatingPointError):
    """A loss or gradient became NaN or infinite; the update was not applied."""


def _check_lr(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def _check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"unknown {name}={value!r}; choose one of {tuple(choices)}")
    return value


def _check_weight(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_steps(name: str, value) -> int:
    """D or G steps per round: an integer from 0 to ``MAX_STEPS_PER_ROUND``."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or not 0 <= value <= MAX_STEPS_PER_ROUND):
        raise ValueError(f"{name} must be an integer from 0 to {MAX_STEPS_PER_ROUND}, got {value!r}")
    return int(value)


def _check_both_steps(d_steps: int, g_steps: int) -> None:
    if d_steps == 0 and g_steps == 0:
        raise ValueError("d_steps and g_steps cannot both be 0: a round would train nothing")


def _check_fraction(name: str, value, high: float = 1.0, note: str = "") -> float:
    """``value`` as a float in [0, ``high``), or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < high:
        raise ValueError(f"{name} must be a number in [0, {high:g}){note}, got {value!r}")
    return float(value)


def _check_ema(value) -> float:
    return _check_fraction("ema", value, note=" (0: no average of G's weights)")


@torch.no_grad()
def ema_update(average: nn.Module, net: nn.Module, decay: float) -> None:
    """θ̄ ← β θ̄ + (1 - β) θ for each parameter θ of ``net`` and θ̄ of ``average`` (β = ``decay``):
    an exponential moving average of the weights, whose last ~1/(1 - β) updates weigh most.
    Buffers (e.g. batch-norm statistics) are copied as they are."""
    for avg, p in zip(average.parameters(), net.parameters()):
        avg.lerp_(p, 1.0 - decay)
    for avg, b in zip(average.buffers(), net.buffers()):
        avg.copy_(b)


def _check_smoothing(value) -> float:
    return _check_fraction("smoothing", value, 0.5)


def _jsonable(value):
    """Tuples as lists (JSON has no tuples), so settings compare equal after a JSON round trip."""
    return [_jsonable(v) for v in value] if isinstance(value, (tuple, list)) else value


@contextlib.contextmanager
def _sigint_at_step_boundary():
    """Turn a first Ctrl-C / kernel interrupt into a flag the loop checks between steps.

    An interrupt in the middle of ``optimizer.step()`` could leave half-updated weights;
    deferring it to the step boundary keeps the GAN consistent and resumable. A second
    interrupt raises at once. Only the main thread can install signal handlers.
    """
    flag = {"hit": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if flag["hit"]:
            raise KeyboardInterrupt
        flag["hit"] = True

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main interpreter
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _frozen(net: nn.Module):
    """Temporarily stop gradients into ``net``'s parameters (they still flow through it)."""
    flags = [p.requires_grad for p in net.parameters()]
    net.requires_grad_(False)
    try:
        yield
    finally:
        for p, f in zip(net.parameters(), flags):
            p.requires_grad_(f)


class GAN:
    """Owns G, D and their optimizers; ``fit`` trains them against each other.

    Parameters: ``lr_d``, ``lr_g`` learning rates; ``betas`` Adam's (DCGAN uses (0.5, 0.999));
    ``loss`` the loss kind (``"non_saturating"``, ``"saturating"``: BCE; ``"lsgan"``,
    ``"wasserstein"``: see ``gan_edu.losses``; D's loss follows it); ``d_steps`` and
    ``g_steps`` the D steps then G steps of one round (each 0 to 10, not both 0);
    ``optimizer`` ``"adam"`` or ``"sgd"``; ``noise`` the prior p(z) (``"normal"`` or
    ``"uniform"`` on [-1, 1]); ``update`` ``"alternating"`` or ``"simultaneous"`` (see the
    module docstring); ``label_smoothing`` ``"none"``, ``"one_sided"`` or ``"two_sided"`` with
    amount ``smoothing`` (D's targets 1 - s for real, s for fake when two-sided; BCE kinds only);
    ``device`` ``"auto"`` (cuda, mps, cpu) or a device name; ``seed`` for the noise generator
    (nets are seeded where they are built: ``seed_everything``).

    ``settings()`` returns every control as a JSON-serialisable dict whose keys are these
    parameters' names: ``GAN(G, D, **settings)`` rebuilds the set-up, ``gan.configure(**settings)``
    applies it to a running GAN.

    Failure-mode fixes: ``pack`` (PacGAN, Lin et al. 2018): D sees ``pack`` samples concatenated
    into one input (along the first data axis: features of flat data, channels of images), so
    its input size must be ``pack`` times the data's and ``batch_size`` a multiple of ``pack``;
    ``gp_weight`` (WGAN-GP, Gulrajani et al. 2017): adds ``gp_weight * gradient_penalty`` to D's
    loss, with any loss kind (WGAN-GP is ``loss="wasserstein", gp_weight=10``, typically
    ``d_steps=5`` and ``betas=(0.5, 0.9)``); ``r1_weight`` γ (R1, Mescheder et al. 2018): adds
    ``(γ / 2) * r1_penalty``, the squared gradient of D on real data, to D's loss.

    ``ema`` β (0: off): keep ``G_ema``, the moving average of G's weights (``ema_update`` after
    every round); ``sample`` draws from it, ``sample(..., averaged=False)`` from G itself.

    Speed switches (see ``gan_edu.speed``; all off by default, results then as without them):
    ``amp`` mixed precision (``False``, ``"auto"``: bfloat16 on GPUs that support it, ``True``
    / ``"bf16"``: bfloat16 also on the CPU); ``channels_last`` memory format for conv nets;
    ``compile`` ``torch.compile`` both nets (``True`` or a backend name; falls back to eager
    with a warning where unavailable; on a GPU it leaves ``channels_last`` off, with a warning:
    ``speed.channels_last_compiles``); ``resident_data`` ``fit`` moves a ``TensorSampler``'s
    whole dataset onto the device once, so batches never cross the bus; ``fused_adam`` Adam's
    fused update (``speed.adam``: one kernel for all of a net's tensors instead of about ten
    small ops per tensor; the same update, up to float rounding).
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, lr_d: float = 2e-4,
                 lr_g: float = 2e-4, betas=(0.5, 0.999), loss: str = "non_saturating",
                 d_steps: int = 1, optimizer: str = "adam", noise: str = "normal",
                 device="auto", seed: int | None = 0, amp=False, channels_last: bool = False,
                 compile=False, resident_data: bool = False, g_steps: int = 1,
                 update: str = "alternating", label_smoothing: str = "none", smoothing: float = 0.1,
                 pack: int = 1, gp_weight: float = 0.0, r1_weight: float = 0.0, fused_adam: bool = False,
                 ema: float = 0.0):
        if not isinstance(generator, nn.Module):
            raise TypeError(f"generator must be a torch.nn.Module, got {type(generator).__name__}")
        if not isinstance(discriminator, nn.Module):
            raise TypeError(f"discriminator must be a torch.nn.Module, got {type(discriminator).__name__}")
        noise_dim = getattr(generator, "noise_dim", None)
        if not isinstance(noise_dim, int) or noise_dim <= 0:
            raise TypeError("generator must have an integer attribute noise_dim (the size of z)")
        lr_d, lr_g = _check_lr("lr_d", lr_d), _check_lr("lr_g", lr_g)
        if (not isinstance(betas, (tuple, list)) or len(betas) != 2
                or not all(isinstance(b, numbers.Real) and 0 <= b < 1 for b in betas)):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        self.loss = _check_choice("loss", loss, GENERATOR_LOSSES)
        self.d_steps, self.g_steps = _check_steps("d_steps", d_steps), _check_steps("g_steps", g_steps)
        _check_both_steps(self.d_steps, self.g_steps)
        self.update = _check_choice("update", update, UPDATES)
        self.label_smoothing = _check_choice("label_smoothing", label_smoothing, LABEL_SMOOTHINGS)
        self.smoothing = _check_smoothing(smoothing)
        self.pack = _check_count("pack", pack)
        self.gp_weight = _check_weight("gp_weight", gp_weight)
        self.r1_weight = _check_weight("r1_weight", r1_weight)
        self.ema = _check_ema(ema)
        self.optimizer = _check_choice("optimizer", optimizer, OPTIMIZERS)
        self.noise_kind = _check_choice("noise", noise, NOISES)
        self.device = get_device(device)
        self.betas = tuple(float(b) for b in betas)
        self.G, self.D = generator.to(self.device), discriminator.to(self.device)
        # the average starts at G's weights; copied before compiling, it is never compiled
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False) if self.ema else None
        self._set_speed(amp, channels_last, compile, resident_data, fused_adam)
        self.noise_dim = noise_dim
        self.opt_d = self._make_optimizer(self.D, lr_d)
        self.opt_g = self._make_optimizer(self.G, lr_g)
        self.seed = seed
        self.rng = torch.Generator(self.device)
        self.rng.manual_seed(seed) if seed is not None else self.rng.seed()
        self.step = 0
        self.history: dict[str, list] = {k: [] for k in HISTORY_KEYS}
        self.history["events"] = []  # (step, name, value): control changes, for plots to mark
        self.lock = threading.RLock()   # held for a whole round; sample() waits for it
        self._pending: dict[str, object] = {}
        self._pending_lock = threading.Lock()
        self._validated = False

    # ------------------------------------------------------------------ settings
    def _set_speed(self, amp, channels_last, compile, resident_data, fused_adam) -> None:
        for name, flag in (("channels_last", channels_last), ("resident_data", resident_data),
                           ("fused_adam", fused_adam)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be True or False, got {flag!r}")
        if not (isinstance(compile, bool) or isinstance(compile, str)):
            raise TypeError(f"compile must be True, False or a torch.compile backend name, got {compile!r}")
        self.amp_dtype = speed.autocast_dtype(amp, self.device)  # None: float32
        if channels_last and compile and not speed.channels_last_compiles(self.device):
            warnings.warn(f"channels_last is left off: with compile it makes training fail on {self.device.type} "
                          "(see gan_edu.speed.channels_last_compiles); the nets are compiled in the default "
                          "memory format", RuntimeWarning, stacklevel=3)
            channels_last = False
        self.channels_last, self.resident_data, self.fused_adam = channels_last, resident_data, fused_adam
        if channels_last:
            speed.to_channels_last(self.G), speed.to_channels_last(self.D)
        self.compiled = False
        if compile:
            backend = "inductor" if compile is True else compile
            self.compiled = speed.compile_net(self.G, backend) and speed.compile_net(self.D, backend)

    def _autocast(self):
        return speed.autocast(self.device, self.amp_dtype)

    def _make_optimizer(self, net: nn.Module, lr: float) -> torch.optim.Optimizer:
        if self.optimizer == "adam":
            return speed.adam(net.parameters(), lr=lr, betas=self.betas, fused=self.fused_adam)
        return torch.optim.SGD(net.parameters(), lr=lr)

    @property
    def lr_d(self) -> float:
        return self.opt_d.param_groups[0]["lr"]

    @property
    def lr_g(self) -> float:
        return self.opt_g.param_groups[0]["lr"]

    def set_lr(self, d: float | None = None, g: float | None = None) -> None:
        """Change the learning rates; safe from any thread, applied at the next step boundary."""
        changes = {}
        if d is not None:
            changes["lr_d"] = d
        if g is not None:
            changes["lr_g"] = g
        self.configure(**changes)

    def configure(self, **changes) -> None:
        """Change the controls of a (running) GAN: ``lr_d``, ``lr_g``, ``loss``, ``d_steps``,
        ``g_steps``, ``optimizer``, ``noise``, ``update``, ``label_smoothing``, ``smoothing``,
        ``gp_weight``, ``r1_weight``.

        Values are checked now (a bad one raises here, in the caller's thread) and applied at
        the next step boundary, never inside ``optimizer.step()``. Each change of value is
        recorded in ``history["events"]``. Changing the optimizer starts it afresh (no momentum
        carried over). The construction-only keys of ``settings()`` (``betas``, ``seed``,
        ``pack``, which sets the size of D's input, and ``ema``) are accepted when they equal the GAN's own, so
        ``configure(**other.settings())`` works; a different value raises a ValueError (build a
        new GAN for it).
        """
        checks = {
            "lr_d": lambda v: _check_lr("lr_d", v), "lr_g": lambda v: _check_lr("lr_g", v),
            "loss": lambda v: _check_choice("loss", v, GENERATOR_LOSSES),
            "d_steps": lambda v: _check_steps("d_steps", v), "g_steps": lambda v: _check_steps("g_steps", v),
            "optimizer": lambda v: _check_choice("optimizer", v, OPTIMIZERS),
            "update": lambda v: _check_choice("update", v, UPDATES),
            "label_smoothing": lambda v: _check_choice("label_smoothing", v, LABEL_SMOOTHINGS),
            "smoothing": _check_smoothing,
            "noise": lambda v: _check_choice("noise", v, NOISES),
            "gp_weight": lambda v: _check_weight("gp_weight", v),
            "r1_weight": lambda v: _check_weight("r1_weight", v),
        }
        unknown = set(changes) - set(checks) - set(CONSTRUCTION_ONLY)
        if unknown:
            raise ValueError(f"cannot configure {sorted(unknown)}; settable: {sorted(checks)}")
        own = self.settings()
        for name in CONSTRUCTION_ONLY:
            if name in changes and _jsonable(changes.pop(name)) != own[name]:
                raise ValueError(f"{name} is fixed when the GAN is built (it is {own[name]!r}); to change "
                                 f"it, build a new one: GAN(generator, discriminator, **settings)")
        checked = {name: checks[name](value) for name, value in changes.items()}
        with self._pending_lock:
            steps = {k: self._pending.get(k, getattr(self, k)) for k in ("d_steps", "g_steps")}
            steps.update({k: v for k, v in checked.items() if k in steps})
            _check_both_steps(steps["d_steps"], steps["g_steps"])
            self._pending.update(checked)

    def settings(self) -> dict:
        """Every control as a small JSON-serialisable dict (paste it into a cell to reproduce a
        demo): ``GAN(G, D, **settings)`` or ``gan.configure(**settings)`` take it back.
        Changes made with ``configure`` show here once applied (at the next step boundary)."""
        return dict(lr_d=self.lr_d, lr_g=self.lr_g, betas=list(self.betas), loss=self.loss,
                    d_steps=self.d_steps, g_steps=self.g_steps, optimizer=self.optimizer,
                    noise=self.noise_kind, update=self.update, label_smoothing=self.label_smoothing,
                    smoothing=self.smoothing, seed=self.seed, pack=self.pack, gp_weight=self.gp_weight,
                    r1_weight=self.r1_weight, ema=self.ema)

    def _apply_pending(self) -> None:
        with self._pending_lock:  # held throughout: configure's checks see either all or none of it
            pending, self._pending = self._pending, {}
            if pending:
                self._apply(pending)

    def _apply(self, pending: dict) -> None:
        current = self.settings()
        for name, value in pending.items():
            if value == current[name]:
                continue  # not a change: no event
            if name == "optimizer":
                lr_d, lr_g = self.lr_d, self.lr_g
                self.optimizer = value
                self.opt_d, self.opt_g = self._make_optimizer(self.D, lr_d), self._make_optimizer(self.G, lr_g)
            elif name == "noise":
                self.noise_kind = value  # not setattr: ``noise`` is the sampling method
            elif name in ("lr_d", "lr_g"):
                for group in (self.opt_d if name == "lr_d" else self.opt_g).param_groups:
                    group["lr"] = value
            else:
                setattr(self, name, value)
            self.history["events"].append((self.step, name, value))

    # ------------------------------------------------------------------ sampling
    def noise(self, n: int) -> torch.Tensor:
        """z ~ p(z): ``n`` draws of N(0, I) (or U[-1, 1]) of size ``noise_dim``, on the device."""
        if self.noise_kind == "normal":
            return torch.randn(n, self.noise_dim, generator=self.rng, device=self.device)
        return torch.rand(n, self.noise_dim, generator=self.rng, device=self.device) * 2 - 1

    @torch.no_grad()
    def sample(self, n: int | None = None, z: torch.Tensor | None = None, averaged: bool = True) -> torch.Tensor:
        """G(z) for ``n`` fresh noise draws (or the given ``z``), on the CPU, without gradients;
        from ``G_ema`` when the GAN keeps one (``ema`` > 0) unless ``averaged=False``."""
        with self.lock, speed.compile_guard(self.compiled):
            if z is None:
                z = self.noise(_check_count("n", n))
            G = self.G_ema if averaged and self.G_ema is not None else self.G
            return G(z.to(self.device)).float().cpu()

    @torch.no_grad()
    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        """D(x) on the CPU, shape (n,): sigmoid(logit), a probability, for the BCE losses; D's raw
        output for ``"lsgan"`` and ``"wasserstein"``. With ``pack`` > 1, D judges a pack of
        ``pack`` copies of each x."""
        with self.lock, speed.compile_guard(self.compiled):
            x = x.to(self.device)
            if self.pack > 1:
                x = self._packed(x.repeat_interleave(self.pack, dim=0))
            out = self.D(x).float().reshape(-1)
            return (torch.sigmoid(out) if self.loss in BCE_LOSSES else out).cpu()

    def _packed(self, x: torch.Tensor) -> torch.Tensor:
        """PacGAN: groups of ``pack`` consecutive samples concatenated along the first data axis,
        (n, c, ...) -> (n / pack, pack * c, ...)."""
        if self.pack == 1:
            return x
        return x.reshape(x.shape[0] // self.pack, self.pack * x.shape[1], *x.shape[2:])

    # ------------------------------------------------------------------ training
    def _real_batch(self, sampler, batch_size: int) -> torch.Tensor:
        real = sampler(batch_size)
        if not isinstance(real, torch.Tensor):
            raise TypeError(f"sampler must return a torch.Tensor, got {type(real).__name__}")
        if not real.is_floating_point():
            raise TypeError(f"sampler must return floating-point data, got dtype {real.dtype}")
        if real.ndim < 2 or real.shape[0] != batch_size:
            raise ValueError(f"sampler({batch_size}) must return shape ({batch_size}, *data_shape), "
                             f"got {tuple(real.shape)}")
        real = real.to(self.device, non_blocking=True)
        if self.channels_last and real.ndim == 4:
            real = real.contiguous(memory_format=torch.channels_last)
        return real

    def _check_finite(self, loss: torch.Tensor, net: nn.Module, who: str) -> None:
        grad_norm = nn.utils.clip_grad_norm_(net.parameters(), math.inf)
        if not torch.isfinite(loss.detach() + grad_norm):
            net.zero_grad(set_to_none=True)
            raise NonFiniteLossError(
                f"the {who} loss or its gradient became {loss.item()} / {grad_norm.item()} at step "
                f"{self.step} (lr_d={self.lr_d:g}, lr_g={self.lr_g:g}). Training stopped before "
                "applying that update, so the model is at its last finite state: lower the "
                "learning rates (set_lr) and call fit again.")

    def _validate(self, real: torch.Tensor, fake: torch.Tensor) -> None:
        if fake.shape[1:] != real.shape[1:]:
            raise ValueError(f"the generator's output shape {tuple(fake.shape[1:])} does not match the "
                             f"data shape {tuple(real.shape[1:])} (from the sampler)")
        if real.shape[0] % self.pack:
            raise ValueError(f"batch_size={real.shape[0]} must be a multiple of pack={self.pack} "
                             "(D sees the batch in packs of that many samples)")
        packed = self._packed(real)
        try:
            out = self.D(packed)
        except RuntimeError as err:
            hint = (f" (pack={self.pack}: D sees {self.pack} samples concatenated, so its input must be "
                    f"{self.pack} times the data's size)" if self.pack > 1 else "")
            raise ValueError(f"the discriminator cannot take data of shape {tuple(packed.shape[1:])}{hint}: "
                             f"{err}") from None
        if out.numel() != packed.shape[0]:
            raise ValueError(f"the discriminator must return one logit per sample, got shape {tuple(out.shape)}")
        self._validated = True

    def d_labels(self) -> tuple[float, float]:
        """D's targets (real, fake): (1, 0); one-sided smoothing (1 - s, 0); two-sided (1 - s, s)."""
        s = self.smoothing
        return {"none": (1.0, 0.0), "one_sided": (1.0 - s, 0.0), "two_sided": (1.0 - s, s)}[self.label_smoothing]

    def _d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor, real: torch.Tensor,
                fake: torch.Tensor) -> torch.Tensor:
        """D's loss for ``self.loss`` (``losses.discriminator_loss_for``; the BCE kinds with the
        targets ``d_labels()``), plus ``gp_weight`` x the gradient penalty at points between the
        (packed) ``real`` and ``fake`` inputs when ``gp_weight`` > 0, plus (``r1_weight`` / 2) x
        the R1 penalty when ``r1_weight`` > 0 (``real`` then requires grad: ``_real_input``)."""
        if self.loss in BCE_LOSSES:
            real_label, fake_label = self.d_labels()
            loss = discriminator_loss(real_out, fake_out, real_label=real_label, fake_label=fake_label)
        else:
            loss = discriminator_loss_for(self.loss, real_out, fake_out)
        if self.gp_weight > 0:
            loss = loss + self.gp_weight * gradient_penalty(self.D, real.float(), fake.detach().float(), self.rng)
        if self.r1_weight > 0:
            loss = loss + self.r1_weight / 2 * r1_penalty(real_out, real)
        return loss

    def _real_input(self, real: torch.Tensor) -> torch.Tensor:
        """The (packed) real batch D sees; with ``r1_weight`` > 0 a leaf that requires grad, so
        the R1 penalty can take D's gradient with respect to it."""
        return real.detach().requires_grad_(True) if self.r1_weight > 0 else real

    def _d_means(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean D output on real and fake data for the history: probabilities sigmoid(l) for the
        BCE kinds, D's raw output for the others (see ``HISTORY_KEYS``)."""
        real_out, fake_out = real_out.detach().float(), fake_out.detach().float()
        if self.loss in BCE_LOSSES:
            real_out, fake_out = torch.sigmoid(real_out), torch.sigmoid(fake_out)
        return real_out.mean(), fake_out.mean()

    def d_step(self, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Step 1: one update of D on real (label 1) and fake (label 0) data; G gets no gradient.
        With label smoothing the targets are ``d_labels()``; with ``pack`` > 1 D judges packs;
        with ``gp_weight`` > 0 the gradient penalty is added, with ``r1_weight`` > 0 the R1 penalty."""
        with torch.no_grad(), self._autocast():  # keep G out of backpropagation: D's loss must not reach G
            fake = self.G(self.noise(real.shape[0]))
        if not self._validated:
            self._validate(real, fake)
        real, fake = self._real_input(self._packed(real)), self._packed(fake)
        with self._autocast():
            real_logits, fake_logits = self.D(real), self.D(fake)
        loss = self._d_loss(real_logits.float(), fake_logits.float(), real, fake)  # losses in float32
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self._check_finite(loss, self.D, "discriminator")
        self.opt_d.step()
        return (loss.detach(), *self._d_means(real_logits, fake_logits))

    def g_step(self, batch_size: int) -> torch.Tensor:
        """Step 2: one update of G through D, with the real label (or the saturating loss)."""
        with _frozen(self.D), self._autocast():  # gradients flow through D into G, but D's weights get none
            fake_logits = self.D(self._packed(self.G(self.noise(batch_size))))
        loss = generator_loss(fake_logits.float(), self.loss)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self._check_finite(loss, self.G, "generator")
        self.opt_g.step()
        return loss.detach()

    def simultaneous_step(self, real: torch.Tensor | None, batch_size: int, update_d: bool = True,
                          update_g: bool = True):
        """One simultaneous update: both gradients from one forward pass, then both optimizers step.

        The fakes x_g = G(z) go once through D. D's gradient is that of its loss (``_d_loss``)
        w.r.t. D's parameters only (as if the fakes were detached); G's gradient is that of its
        loss w.r.t. G's parameters only, through the *same, not yet updated* D. Only then do the
        optimizers step: (θ_D, θ_G) ← (θ_D - η_D ∇_D L_D, θ_G - η_G ∇_G L_G) at the same point.
        Returns (loss_d, loss_g, mean D(x), mean D(G(z))) as tensors (None for a net not updated).
        """
        with torch.set_grad_enabled(update_g), self._autocast():  # G's graph only when G is updated
            fake = self.G(self.noise(batch_size))
        if update_d and not self._validated:
            self._validate(real, fake.detach())
        fake = self._packed(fake)
        real = self._real_input(self._packed(real)) if update_d else None
        with self._autocast():
            fake_logits = self.D(fake).float()
            real_logits = self.D(real).float() if update_d else None
        loss_d = loss_g = None
        d_params, g_params = list(self.D.parameters()), list(self.G.parameters())
        if update_d:
            loss_d = self._d_loss(real_logits, fake_logits, real, fake)
            d_grads = torch.autograd.grad(loss_d, d_params, retain_graph=update_g, allow_unused=True)
        if update_g:
            loss_g = generator_loss(fake_logits, self.loss)
            g_grads = torch.autograd.grad(loss_g, g_params, allow_unused=True)
        for flag, net, params, grads, loss, who in ((update_d, self.D, d_params, d_grads if update_d else None, loss_d,
                                                     "discriminator"),
                                                    (update_g, self.G, g_params, g_grads if update_g else None, loss_g,
                                                     "generator")):
            if flag:
                for p, g in zip(params, grads):
                    p.grad = g
                self._check_finite(loss, net, who)  # both checked before either optimizer steps
        if update_d:
            self.opt_d.step()
        if update_g:
            self.opt_g.step()
        d_real, d_fake = self._d_means(real_logits, fake_logits) if update_d else (None, None)
        return (None if loss_d is None else loss_d.detach(), None if loss_g is None else loss_g.detach(),
                d_real, d_fake)

    def train_step(self, sampler, batch_size: int = 128) -> dict:
        """One round: ``d_steps`` D steps then ``g_steps`` G steps. Returns and records the round's numbers.

        With ``update="simultaneous"`` a round is max(d_steps, g_steps) simultaneous steps, D
        taking part in the first ``d_steps`` of them and G in the first ``g_steps``.
        In the record, ``loss_d``, ``d_real``, ``d_fake`` are those of the round's last D step
        and ``loss_g`` that of its last G step; a loss not computed in the round (``d_steps=0``
        or ``g_steps=0``) is recorded as NaN (a gap in the plots), never as a stale value.
        """
        with self.lock, speed.compile_guard(self.compiled):
            self._apply_pending()
            return self._round(sampler, batch_size, self.d_steps, self.g_steps, self.update)

    def d_only_step(self, sampler, batch_size: int = 128) -> dict:
        """One D step as a recorded round (the UI's "D step" button): ``loss_g`` is NaN.
        Pending ``configure`` changes are applied first."""
        self._check_round_args(sampler, batch_size)
        with self.lock, speed.compile_guard(self.compiled):
            self._apply_pending()
            return self._round(sampler, batch_size, 1, 0, "alternating")

    def g_only_step(self, batch_size: int = 128) -> dict:
        """One G step as a recorded round (the UI's "G step" button): ``loss_d``, ``d_real``,
        ``d_fake`` are NaN. Pending ``configure`` changes are applied first."""
        batch_size = self._check_batch_size(batch_size)
        with self.lock, speed.compile_guard(self.compiled):
            self._apply_pending()
            return self._round(None, batch_size, 0, 1, "alternating")

    def _check_round_args(self, sampler, batch_size) -> int:
        if not callable(sampler):
            raise TypeError(f"sampler must be callable as sampler(n) -> Tensor, got {type(sampler).__name__}")
        return self._check_batch_size(batch_size)

    def _check_batch_size(self, batch_size) -> int:
        batch_size = _check_count("batch_size", batch_size)
        if batch_size % self.pack:
            raise ValueError(f"batch_size={batch_size} must be a multiple of pack={self.pack} "
                             "(D sees the batch in packs of that many samples)")
        return batch_size

    def _round(self, sampler, batch_size: int, d_steps: int, g_steps: int, update: str) -> dict:
        """``d_steps`` D steps and ``g_steps`` G steps (alternating or simultaneous), recorded."""
        loss_d = loss_g = d_real = d_fake = None
        if update == "simultaneous":
            for i in range(max(d_steps, g_steps)):
                real = self._real_batch(sampler, batch_size) if i < d_steps else None
                ld, lg, dr, df = self.simultaneous_step(real, batch_size, i < d_steps, i < g_steps)
                if ld is not None:
                    loss_d, d_real, d_fake = ld, dr, df
                if lg is not None:
                    loss_g = lg
        else:
            for _ in range(d_steps):
                loss_d, d_real, d_fake = self.d_step(self._real_batch(sampler, batch_size))
            for _ in range(g_steps):
                loss_g = self.g_step(batch_size)
        if self.G_ema is not None and g_steps:
            ema_update(self.G_ema, self.G, self.ema)
        values = [loss_d, loss_g, d_real, d_fake]
        present = [v.float() for v in values if v is not None]
        got = iter(torch.stack(present).tolist())  # one device sync per round
        loss_d, loss_g, d_real, d_fake = (math.nan if v is None else next(got) for v in values)
        self.step += 1
        record = dict(step=self.step, loss_d=loss_d, loss_g=loss_g, d_real=d_real, d_fake=d_fake,
                      lr_d=self.lr_d, lr_g=self.lr_g)
        for key in HISTORY_KEYS:
            self.history[key].append(record[key])
        return record

    def fit(self, sampler, steps: int, batch_size: int = 128, callbacks=(), progress: bool = True) -> dict:
        """Train for ``steps`` rounds on batches from ``sampler(batch_size)``; returns ``history``.

        ``callbacks`` are called as ``callback(gan)`` after each round. A tqdm bar shows progress
        (``progress=False`` hides it). Calling ``fit`` again resumes where training stopped. An
        interrupt (Ctrl-C, the notebook's stop button) stops at the next step boundary and
        raises ``KeyboardInterrupt`` with the GAN consistent and resumable.
        """
        batch_size = self._check_round_args(sampler, batch_size)
        steps = _check_count("steps", steps)
        if callable(callbacks):
            callbacks = (callbacks,)
        self._validated = False
        if self.resident_data and isinstance(sampler, TensorSampler):
            sampler.to(self.device)  # the whole dataset on the device, once
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, disable=not progress, desc="training", leave=False)
        try:
            with _sigint_at_step_boundary() as interrupt:
                for _ in range(steps):
                    rec = self.train_step(sampler, batch_size)
                    for callback in callbacks:
                        callback(self)
                    bar.update()
                    if bar.n % 25 == 0 or bar.n == steps:
                        bar.set_postfix(loss_d=f"{rec['loss_d']:.3f}", loss_g=f"{rec['loss_g']:.3f}")
                    if interrupt["hit"]:
                        raise KeyboardInterrupt(f"training interrupted after step {self.step}; "
                                                "the GAN is intact: call fit again to resume")
        finally:
            bar.close()
        return self.history

    # ------------------------------------------------------------------ checkpoints
    def save(self, path, extra: dict | None = None) -> Path:
        """Write models, optimizers, settings, history and RNG state to ``path`` atomically
        (a temporary file in the same folder, then a rename: a crash never leaves half a file).
        ``extra``: more entries for the file (tensors, numbers, strings, lists, dicts), e.g. a
        live session's controls; ``load`` ignores them."""
        with self.lock:
            state = {
                "format": "gan_edu/1",
                "nets": {name: {"class": type(net).__name__, "config": getattr(net, "config", None),
                                "state": net.state_dict()} for name, net in (("G", self.G), ("D", self.D))},
                "G_ema": None if self.G_ema is None else self.G_ema.state_dict(),
                "opt_d": self.opt_d.state_dict(), "opt_g": self.opt_g.state_dict(),
                "settings": self.settings(), "step": self.step,
                "history": {k: [list(e) for e in v] if k == "events" else list(v) for k, v in self.history.items()},
                "rng": self.rng.get_state(), "rng_device": self.rng.device.type,
                **(extra or {}),
            }
            return atomic_save(state, path)

    @classmethod
    def load(cls, path, generator: nn.Module | None = None, discriminator: nn.Module | None = None,
             device="auto") -> "GAN":
        """Rebuild a GAN from ``save``. gan_edu's own nets are rebuilt from the checkpoint; for
        other architectures pass ``generator=`` and ``discriminator=`` built the same way.
        Uses ``torch.load(weights_only=True)``: a checkpoint cannot run code."""
        from . import nets as _nets

        state = safe_load(path, "gan_edu checkpoint")
        if state.get("format") != "gan_edu/1":
            raise ValueError(f"{path} is not a gan_edu checkpoint")
        built = []
        for name, given in (("G", generator), ("D", discriminator)):
            spec = state["nets"][name]
            if given is None:
                if spec["class"] not in _nets.NETS or spec["config"] is None:
                    raise ValueError(f"the checkpoint's {spec['class']} is not one of gan_edu's nets: "
                                     f"pass {'generator' if name == 'G' else 'discriminator'}= to GAN.load")
                given = _nets.NETS[spec["class"]](**spec["config"])
            try:
                given.load_state_dict(spec["state"])
            except RuntimeError as err:
                raise ValueError(f"the checkpoint's {name} weights do not fit the net given: {err}") from None
            built.append(given)
        s = dict(state["settings"])  # older checkpoints lack the newer settings: defaults
        s["betas"] = tuple(s["betas"])
        gan = cls(built[0], built[1], device=device, **s)
        for opt, saved in ((gan.opt_d, state["opt_d"]), (gan.opt_g, state["opt_g"])):
            own = {k: opt.defaults[k] for k in ("fused", "foreach") if k in opt.defaults}
            opt.load_state_dict(saved)
            for group in opt.param_groups:  # a saved fused optimizer must not make this one fused:
                group.update(own)           # speed switches are not saved (this torch may lack it)
        if gan.G_ema is not None and state.get("G_ema") is not None:
            gan.G_ema.load_state_dict(state["G_ema"])
        gan.step = state["step"]
        gan.history = {k: [tuple(e) for e in v] if k == "events" else list(v) for k, v in state["history"].items()}
        if gan.rng.device.type == state.get("rng_device"):  # a CUDA RNG state does not fit a CPU one
            gan.rng.set_state(state["rng"])
        return gan

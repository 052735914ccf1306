"""``GAN``: the facade that builds G, D and their optimizers from the settings and trains them
with the rounds of ``gan_edu.algorithm`` (read that file first: it is Algorithm 1).

``GAN(G, D, **settings)`` takes the settings of ``gan_edu.settings.Settings`` (learning rates,
loss kind, D and G steps per round, optimizer, noise, update scheme, label smoothing, PacGAN's
pack, the penalties' weights, the moving average of G, D's spectral normalisation) and the speed
switches of ``Switches`` (``amp``, ``channels_last``, ``compile``, ``resident_data``, ``fused_adam``,
``cuda_graphs``: each round replayed as a CUDA graph, ``gan_edu.speed.graphs``), plus ``device``.
From the settings it builds the ``algorithm.Rules`` the steps call (``options.rules_for``:
objective, packing, penalties, NaN guards); the switches are applied once, to the nets, the
optimizers and the round, when they are built. ``fit`` trains, ``sample`` draws,
``configure`` changes settings of a running GAN at the next step boundary, ``save`` / ``load``
keep everything in one file (``gan_edu.checkpoint``).

Spectral normalisation: with ``spectral_norm=True`` every linear and convolution layer of D computes
with W / σ(W) (``options.SpectralNorm``, Miyato et al. 2018), applied to D in place once, when the
GAN is built, before the speed switches and the optimizers; its power-iteration vectors are buffers
of D, saved, restored by ``load`` and undone with a refused round like D's other buffers. Not with
``compile`` (refused: ``settings.check_together``).

Weight averaging: with ``ema`` β > 0 the GAN also keeps ``G_ema``, an exponential moving average
of G's weights updated after every round with a G step (``options.EMA``); training never uses it,
``sample`` draws from it.
"""
from __future__ import annotations

import contextlib
import copy
import math
import signal
import threading
from pathlib import Path

import torch
from torch import nn

from . import checkpoint, checks
from .algorithm import alternating_round, noise_prior, simultaneous_round
from .checks import check_both_steps, check_choice, check_count
from .data import TensorSampler
from .device import get_device
from .options import EMA, NonFiniteLossError, RoundUndo, SpectralNorm, changed_before_last, ema_update, rules_for
from .settings import LABEL_SMOOTHINGS, NOISES, OPTIMIZERS, UPDATES, Settings, Switches, check_together, checked_changes
from .speed import switches as speed

__all__ = ["GAN", "NonFiniteLossError", "ema_update", "OPTIMIZERS", "NOISES", "UPDATES", "LABEL_SMOOTHINGS"]

HISTORY_KEYS = ("step", "loss_d", "loss_g", "d_real", "d_fake", "lr_d", "lr_g")
ROUND_NUMBERS = HISTORY_KEYS[1:5]  # what a round measures (``_as_floats``)
# d_real / d_fake are the mean of D's output on real / fake data, as a probability sigmoid(l)
# for the BCE losses; for "lsgan" the raw output (D regresses real onto 1, fake onto 0) and for
# "wasserstein" the critic's raw score (d_real - d_fake estimates W(p_data, p_g)): not probabilities.


@contextlib.contextmanager
def held_interrupts():
    """Inside: a first interrupt (Ctrl-C, the notebook's stop button: SIGINT) sets the event it
    yields instead of raising KeyboardInterrupt in the middle of a round; the loop checks it between
    rounds, so the model is never left half-updated and stays resumable. A second interrupt raises
    at once. Only the main thread of the main interpreter can catch signals; elsewhere the event is
    never set."""
    interrupted = threading.Event()

    def handler(signum, frame):
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread, or not the main interpreter
        yield interrupted
        return
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def buffers_kept(*nets: nn.Module):
    """Run ``nets`` on copies of their buffers (batch norm's running statistics and counters), then
    put the originals back, untouched: a forward pass that is not training leaves no trace in the
    model (and a backward pass through it still finds the tensors it saved)."""
    kept = [(module, name, b) for net in nets for module in net.modules()
            for name, b in module.named_buffers(recurse=False)]
    for module, name, b in kept:
        setattr(module, name, b.clone())
    try:
        yield
    finally:
        for module, name, b in kept:
            setattr(module, name, b)


def _check_net(name: str, net) -> nn.Module:
    if not isinstance(net, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(net).__name__}")
    return net


def _noise_dim(generator: nn.Module) -> int:
    noise_dim = getattr(generator, "noise_dim", None)
    if not isinstance(noise_dim, int) or noise_dim <= 0:
        raise TypeError("generator must have an integer attribute noise_dim (the size of z)")
    return noise_dim


def _bytes_per_sample(gan, sampler=None) -> int:
    """The least memory one sample takes: its z and its float32 data (the nets' activations come on top)."""
    shape = getattr(sampler, "data_shape", None) or getattr(gan.G, "data_shape", None) or (1,)
    return 4 * (gan.noise_dim + math.prod(shape))


def _discriminator_for(state: dict, discriminator):
    """The net to load a checkpoint's D into: ``discriminator`` as given, or with ``spectral_norm`` saved,
    normalised first (``options.SpectralNorm``: the saved weights are a normalised D's), gan_edu's own
    rebuilt from its config when none is given (others: ``checkpoint.build_nets`` asks for it)."""
    from .nets import NETS
    spec = state["nets"]["D"]
    if not state["settings"].get("spectral_norm"):
        return discriminator
    if discriminator is None and spec["class"] in NETS and spec["config"] is not None:
        discriminator = NETS[spec["class"]](**spec["config"])
    return SpectralNorm()(discriminator) if isinstance(discriminator, nn.Module) else discriminator


def _as_floats(objective, loss_d, loss_g, real_logits, fake_logits) -> list:
    """A round's numbers for the history: the losses and the mean D output (``objective.outputs``:
    a probability for BCE) on real and fake data, as floats (NaN for what the round did not
    compute), with one device sync."""
    means = [None if t is None else objective.outputs(t).mean() for t in (real_logits, fake_logits)]
    values = [loss_d, loss_g, *means]
    got = iter(torch.stack([v.float() for v in values if v is not None]).tolist())
    return [math.nan if v is None else next(got) for v in values]


class GAN:
    """Owns G, D and their optimizers; ``fit`` trains them against each other.

    Settings (keyword arguments, each defined once in ``gan_edu.settings.Settings`` with its
    default, check and whether ``configure`` may change it while training): ``lr_d``, ``lr_g``,
    ``betas``, ``loss`` (``"non_saturating"``, ``"saturating"``: BCE; ``"lsgan"``,
    ``"wasserstein"``), ``d_steps`` / ``g_steps`` (per round, 0-10, not both 0), ``optimizer``
    (``"adam"``, ``"sgd"``), ``noise`` (``"normal"``, ``"uniform"`` on [-1, 1]), ``update``
    (``"alternating"``, ``"simultaneous"``), ``label_smoothing`` (``"none"``, ``"one_sided"``,
    ``"two_sided"``) with amount ``smoothing``, ``seed`` (of the noise; nets are seeded where they
    are built), ``pack`` (PacGAN: D's input is ``pack`` samples, ``batch_size`` a multiple of it),
    ``gp_weight`` (WGAN-GP: ``loss="wasserstein", gp_weight=10, d_steps=5, betas=(0.5, 0.9)``),
    ``r1_weight`` γ (adds (γ/2) R1), ``ema`` β (``sample`` draws from ``G_ema``; ``averaged=False``:
    from G), ``spectral_norm`` (D's layers use W / σ(W), ``options.SpectralNorm``). ``settings()``
    returns them as a JSON-able dict that ``GAN(G, D, **settings)`` and ``configure`` take back.

    Speed switches (``settings.Switches``, ``gan_edu.speed``; off by default): ``amp`` (``False``,
    ``"auto"``: bfloat16 on GPUs that support it, ``True`` / ``"bf16"``), ``channels_last``,
    ``compile`` (``True`` or a backend name), ``resident_data``, ``fused_adam``, ``cuda_graphs``
    (CUDA only; elsewhere a warning, and eager training). ``device``: ``"auto"`` or a device name.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, device="auto", amp=False,
                 channels_last: bool = False, compile=False, resident_data: bool = False,
                 fused_adam: bool = False, cuda_graphs: bool = False, **settings):
        self.G, self.D = _check_net("generator", generator), _check_net("discriminator", discriminator)
        self.noise_dim = _noise_dim(generator)
        self.settings_now = Settings(**settings)
        switches = Switches(amp, channels_last, compile, resident_data, fused_adam, cuda_graphs)
        check_together(self.settings_now, switches)
        checks.check_float32("generator", generator), checks.check_float32("discriminator", discriminator)
        if self.settings_now.spectral_norm:  # before the switches, the optimizers and the move to the device
            SpectralNorm()(discriminator, self.settings_now.seed)
        self.device = get_device(device)  # every argument checked: only now are the nets moved
        self.G, self.D = generator.to(self.device), discriminator.to(self.device)
        checks.generator_takes_noise(self.G, self.noise_dim, self.device)
        # the average starts at G's weights; copied before compiling, it is never compiled
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False) if self.settings_now.ema else None
        self._build_speed(switches)
        self.opt_d = self._make_optimizer(self.D, self.settings_now.lr_d)
        self.opt_g = self._make_optimizer(self.G, self.settings_now.lr_g)
        self.rng = torch.Generator(self.device)
        self.rng.manual_seed(self.settings_now.seed) if self.settings_now.seed is not None else self.rng.seed()
        self.step = 0
        self.history: dict[str, list] = {k: [] for k in HISTORY_KEYS}
        self.history["events"] = []  # (step, name, value): control changes, for plots to mark
        self.lock = threading.RLock()   # held for a whole round; sample() waits for it
        self._pending: dict[str, object] = {}
        self._pending_lock = threading.Lock()
        self._checked = self._checked_g = False  # the nets checked against the data, against each other
        self.after_round = [EMA(self.G_ema, self.G, self.settings_now.ema)] if self.G_ema is not None else []
        self.rules = rules_for(self)
        self.undo = RoundUndo(self)  # a round applied whole or not at all

    # ------------------------------------------------------------------ building
    def _build_speed(self, switches: Switches) -> None:
        """Apply the speed switches once (``speed.apply_switches``): to the nets, to the nets as the
        steps call them (``players``: autocast), to the round (``round_graph``: CUDA graphs, or None)."""
        built = speed.apply_switches(self.G, self.D, switches, self.device)
        self.amp_dtype, self.channels_last, self.compiled = built.amp_dtype, built.channels_last, built.compiled
        self.players, self.round_graph = built.players, built.round_graph
        self.resident_data, self.fused_adam = switches.resident_data, switches.fused_adam

    def _make_optimizer(self, net: nn.Module, lr: float) -> torch.optim.Optimizer:
        s = self.settings_now
        if s.optimizer == "adam":
            return speed.adam(net.parameters(), lr, s.betas, self.fused_adam, capturable=bool(self.round_graph))
        return torch.optim.SGD(net.parameters(), lr=lr)

    # ------------------------------------------------------------------ settings
    @property
    def lr_d(self) -> float:
        return self.opt_d.param_groups[0]["lr"]

    @property
    def lr_g(self) -> float:
        return self.opt_g.param_groups[0]["lr"]

    def d_labels(self) -> tuple[float, float]:
        """D's targets (real, fake) in effect: (1, 0), or smoothed (``options.smoothed_labels``)."""
        return self.rules.objective.real_label, self.rules.objective.fake_label

    def set_lr(self, d: float | None = None, g: float | None = None) -> None:
        """Change the learning rates; safe from any thread, applied at the next step boundary."""
        self.configure(**{k: v for k, v in (("lr_d", d), ("lr_g", g)) if v is not None})

    def configure(self, **changes) -> None:
        """Change the settings of a (running) GAN that may change while training
        (``settings.live_names()``: the learning rates, loss, D and G steps, optimizer, noise,
        update, label smoothing and its amount, the penalties' weights).

        Values are checked now (a bad one raises here, in the caller's thread) and applied at
        the next step boundary, never inside ``optimizer.step()``. Each change of value is
        recorded in ``history["events"]``. Changing the optimizer starts it afresh (no momentum
        carried over). The construction-only settings (``betas``, ``seed``, ``pack``, ``ema``)
        are accepted when they equal the GAN's own, so ``configure(**other.settings())`` works;
        a different value raises a ValueError (build a new GAN for it).
        """
        checked = checked_changes(changes, self.settings())
        with self._pending_lock:
            steps = {k: self._pending.get(k, getattr(self.settings_now, k)) for k in ("d_steps", "g_steps")}
            steps.update({k: v for k, v in checked.items() if k in steps})
            check_both_steps(steps["d_steps"], steps["g_steps"])
            self._pending.update(checked)

    def settings(self) -> dict:
        """Every setting as a small JSON-serialisable dict (paste it into a cell to reproduce a
        demo): ``GAN(G, D, **settings)`` or ``gan.configure(**settings)`` take it back.
        Changes made with ``configure`` show here once applied (at the next step boundary)."""
        return dict(self.settings_now.to_json(), lr_d=self.lr_d, lr_g=self.lr_g)

    @property
    def pending(self) -> dict:
        """The changes ``configure`` took and has not applied yet (at the next step boundary)."""
        with self._pending_lock:
            return dict(self._pending)

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
            setattr(self.settings_now, name, value)  # checked by configure (d_steps and g_steps jointly)
            if name == "optimizer":
                self.opt_d, self.opt_g = self._make_optimizer(self.D, self.lr_d), self._make_optimizer(self.G, self.lr_g)
            elif name in ("lr_d", "lr_g"):
                for group in (self.opt_d if name == "lr_d" else self.opt_g).param_groups:
                    group["lr"] = value
            self.history["events"].append((self.step, name, value))
        self.rules = rules_for(self)

    # ------------------------------------------------------------------ sampling
    def noise(self, n: int) -> torch.Tensor:
        """z ~ p(z): ``n`` draws of N(0, I) (or U[-1, 1]) of size ``noise_dim``, on the device."""
        return noise_prior(n, self.noise_dim, self.settings_now.noise, self.rng, self.device)

    @torch.no_grad()
    def sample(self, n: int | None = None, z: torch.Tensor | None = None, averaged: bool = True) -> torch.Tensor:
        """G(z) for ``n`` fresh noise draws (or the given ``z``), on the CPU, without gradients;
        from ``G_ema`` when the GAN keeps one (``ema`` > 0) unless ``averaged=False``.

        G runs as it trains (training mode: batch norm normalises with the batch's own statistics,
        which is how G's samples were judged by D), and every buffer (batch norm's running
        statistics, counters) is put back afterwards: drawing samples never changes the model."""
        with self.lock, speed.compile_guard(self.compiled):
            if z is None:
                z = self.noise(checks.check_fits("n", check_count("n", n), _bytes_per_sample(self), self.device))
            z = checks.as_input("z", z, (self.noise_dim,), self.device)
            G = self.G_ema if averaged and self.G_ema is not None else self.G
            with buffers_kept(G):
                return G(z).float().cpu()

    def d_output(self, x: torch.Tensor) -> torch.Tensor:
        """D's raw output (a logit for the BCE losses) for ``x`` on the device, as the training
        steps call D: under autocast when ``amp`` is on and, with ``pack`` > 1, judging a pack of
        ``pack`` copies of each x (one output per x). Gradients flow to ``x`` when it asks for them;
        D's buffers are put back afterwards, as in ``sample``."""
        with self.lock, speed.compile_guard(self.compiled), buffers_kept(self.D):
            pack = self.settings_now.pack
            x = self.rules.pack(x.repeat_interleave(pack, dim=0)) if pack > 1 else x
            return self.players[1](x).float().reshape(-1)

    @torch.no_grad()
    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        """D(x) on the CPU, shape (n,): sigmoid(logit), a probability, for the BCE losses; D's raw
        output for ``"lsgan"`` and ``"wasserstein"`` (``d_output``: packing and autocast as in training)."""
        x = checks.as_input("x", x, getattr(self.G, "data_shape", None), self.device)
        return self.rules.objective.outputs(self.d_output(x)).cpu()

    # ------------------------------------------------------------------ training
    def _real_batch(self, sampler, batch_size: int) -> torch.Tensor:
        """A real batch from ``sampler``, checked (``checks.real_batch``), on the device as D's steps take it;
        before the first round of a ``fit`` the nets are checked against it (``checks.nets_fit``)."""
        real = checks.real_batch(sampler(batch_size), batch_size).to(self.device, non_blocking=True)
        if self.channels_last and real.ndim == 4:
            real = real.contiguous(memory_format=torch.channels_last)
        if not self._checked:
            checks.check_batch_size(real.shape[0], self.settings_now.pack)
            checks.nets_fit(self.G, self.D, self.rules.pack, self.settings_now.pack, self.noise_dim, real)
            self._checked = True
        return self.rules.penalty.watch(real)

    def train_step(self, sampler, batch_size: int = 128) -> dict:
        """One round: ``d_steps`` D steps then ``g_steps`` G steps (``update="simultaneous"``:
        ``algorithm.simultaneous_round``). Returns and records the round's numbers: ``loss_d``,
        ``d_real``, ``d_fake`` of its last D step and ``loss_g`` of its last G step; a loss not
        computed in the round (``d_steps=0`` or ``g_steps=0``) is recorded as NaN (a gap in the
        plots), never as a stale value."""
        return self._locked_round(sampler, batch_size)

    def player_round(self, player: str, sampler, batch_size: int = 128) -> dict:
        """One step of ``player`` alone, ``"D"`` or ``"G"``, recorded as a round (the UI's "D step"
        and "G step" buttons): the other player's numbers are NaN. Pending ``configure`` changes
        are applied first. A G step needs no data: ``sampler`` may be None."""
        check_choice("player", player, ("D", "G"))
        if player == "D":
            self.check_round_args(sampler, batch_size)
            return self._locked_round(sampler, batch_size, (1, 0, "alternating"))
        batch_size = checks.check_batch_size(batch_size, self.settings_now.pack)
        return self._locked_round(None, batch_size, (0, 1, "alternating"))

    def _locked_round(self, sampler, batch_size: int, plan=None) -> dict:
        """Under the lock: pending changes applied, then one round of ``plan`` (d_steps, g_steps,
        update; default: the settings')."""
        with self.lock, speed.compile_guard(self.compiled):
            self._apply_pending()
            s = self.settings_now
            d_steps, g_steps, update = plan or (s.d_steps, s.g_steps, s.update)
            if not d_steps and not self._checked_g:  # a G-only round has no data to check the nets with
                checks.g_feeds_d(self.G, self.D, self.rules.pack, s.pack, self.noise_dim, batch_size, self.device)
                self._checked_g = True
            return self._round(sampler, batch_size, d_steps, g_steps, update)

    def check_round_args(self, sampler, batch_size) -> int:
        checks.check_callable("sampler", sampler, "sampler(n) -> Tensor of n real samples")
        batch_size = checks.check_batch_size(batch_size, self.settings_now.pack)
        return checks.check_fits("batch_size", batch_size, 2 * _bytes_per_sample(self, sampler), self.device)

    def _round(self, sampler, batch_size: int, d_steps: int, g_steps: int, update: str) -> dict:
        """One round of ``algorithm``'s, then the hooks after it (EMA), then its record. A step the
        NaN guard refuses (or any error) undoes the round's earlier steps (``options.RoundUndo``):
        a round is applied whole or not at all."""
        play = simultaneous_round if update == "simultaneous" else alternating_round
        play = self.round_graph.player(play, self.rng) if self.round_graph else play  # cuda_graphs: captured, replayed
        self.undo.take(changed_before_last(d_steps, g_steps, update))
        try:
            loss_d, loss_g, real_logits, fake_logits = play(
                *self.players, self.opt_d, self.opt_g, lambda: self._real_batch(sampler, batch_size), batch_size,
                self.noise, d_steps, g_steps, self.rules)
        except BaseException:
            self.undo.restore()  # a refused step (or a failing sampler): the round's earlier steps undone
            raise
        for hook in self.after_round:
            hook(g_steps)
        self.step += 1
        numbers = _as_floats(self.rules.objective, loss_d, loss_g, real_logits, fake_logits)
        record = dict(step=self.step, **dict(zip(ROUND_NUMBERS, numbers)), lr_d=self.lr_d, lr_g=self.lr_g)
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
        batch_size = self.check_round_args(sampler, batch_size)
        steps = check_count("steps", steps)
        callbacks = checks.check_callbacks(callbacks)
        self._checked = self._checked_g = False
        if self.resident_data and isinstance(sampler, TensorSampler):
            sampler.to(self.device)  # the whole dataset on the device, once
        from tqdm.auto import tqdm

        with tqdm(total=steps, disable=not progress, desc="training", leave=False) as bar, \
                held_interrupts() as interrupt:
            for _ in range(steps):
                rec = self.train_step(sampler, batch_size)
                for callback in callbacks:
                    callback(self)
                bar.update()
                if bar.n % 25 == 0 or bar.n == steps:
                    bar.set_postfix(loss_d=f"{rec['loss_d']:.3f}", loss_g=f"{rec['loss_g']:.3f}")
                if interrupt.is_set():
                    raise KeyboardInterrupt(f"training interrupted after step {self.step}; "
                                            "the GAN is intact: call fit again to resume")
        return self.history

    # ------------------------------------------------------------------ checkpoints
    def save(self, path, extra: dict | None = None) -> Path:
        """Write models, optimizers, settings, history and RNG state to ``path`` atomically
        (``checkpoint.atomic_save``). ``extra``: more entries for the file (tensors, numbers,
        strings, lists, dicts), e.g. a live session's controls; ``load`` ignores them."""
        with self.lock:
            return checkpoint.atomic_save(checkpoint.gan_state(self, extra), path)

    @classmethod
    def load(cls, path, generator: nn.Module | None = None, discriminator: nn.Module | None = None,
             device="auto") -> "GAN":
        """Rebuild a GAN from ``save``. gan_edu's own nets are rebuilt from the checkpoint; for
        other architectures pass ``generator=`` and ``discriminator=`` built the same way.
        Uses ``torch.load(weights_only=True)``: a checkpoint cannot run code."""
        state = checkpoint.load_checkpoint(path)
        G, D = checkpoint.build_nets(state, generator, _discriminator_for(state, discriminator))
        s = dict(state["settings"])  # older checkpoints lack the newer settings: defaults
        s["betas"] = tuple(s["betas"])
        gan = cls(G, D, device=device, **s)
        checkpoint.restore(gan, state)
        return gan

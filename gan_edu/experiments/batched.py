"""Several GANs at once: N copies of one architecture, each with its own seed and learning
rates, trained as one batched computation (a learning-rate sweep side by side, notebook 05).

The idea in three lines:

- **Stacked weights.** Every weight of the N copies of G (and of D) is stacked along a new first
  axis: θ of shape (N, *shape), θ[i] copy i's (``torch.func.stack_module_state``). One call runs
  all N nets, copy i on its own input x[i] (``torch.func.vmap`` of ``functional_call``): on a GPU
  that is one kernel where N lone GANs launch N, which is where the time goes for small nets.
- **Summed losses.** The copies share no weight, so for the summed loss L = Σ_j L_j the gradient
  with respect to copy i's weights is its own: ∂L/∂θ_i = ∂L_i/∂θ_i. One backward pass gives all N.
- **Elementwise Adam.** Adam's update acts on each number of θ alone, so Adam on the stacked θ
  with copy i's learning rate η_i on the slice θ[i] (``StackedAdam``) updates each copy exactly as
  ``torch.optim.Adam`` would update it alone.

So copy i of ``BatchedGAN(make_nets, n, seeds=..., lr_d=..., lr_g=...)`` is the GAN
``GAN(G_i, D_i, seed=seeds[i], lr_d=lr_d[i], lr_g=lr_g[i])`` with nets built as
``seed_everything(seeds[i]); G_i, D_i = make_nets()``, trained alone on the same real batches:
it draws its noise from its own generator seeded ``seeds[i]``, in the same order. The numbers
agree up to float rounding (the batched kernels add up in another order than the lone ones;
tests/experiments/test_batched.py checks 1e-5 after 20 rounds). ``unstack(i)`` gives copy i as a plain ``GAN``
that trains on as if it had been trained alone.

What a batched GAN does not do (build lone GANs for these): PacGAN's packing, the penalties,
label smoothing, the moving average of G, simultaneous updates, SGD, the speed switches, and
``configure`` while training. A copy whose loss becomes NaN is not stopped (a lone GAN would
raise ``NonFiniteLossError``); the copies share nothing, so the others train on.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

from .. import checks
from ..algorithm import frozen, noise_prior
from ..device import get_device, seed_everything
from ..options import objective_for
from ..settings import Settings
from ..train import GAN, HISTORY_KEYS, held_interrupts

__all__ = ["per_copy", "Stacked", "StackedAdam", "batched_d_step", "batched_g_step", "batched_round",
           "BatchedGAN"]


def per_copy(name: str, value, n: int) -> list:
    """``value`` for each of ``n`` copies: one value for all, or a list (tuple, array) of ``n`` values."""
    if hasattr(value, "tolist"):  # a NumPy array or a tensor, e.g. np.logspace(-4, -3, n)
        value = value.tolist()
    if isinstance(value, (list, tuple, range)):
        if len(value) != n:
            raise ValueError(f"{name} has {len(value)} values but there are n={n} copies: "
                             f"give one value for all copies or a list of {n}")
        return list(value)
    return [value] * n


class Stacked:
    """N nets of one architecture as one: each weight and buffer stacked along a new first axis,
    ``params[name][i]`` copy i's. ``stacked(x)``, x of shape (N, B, ...), is
    (net_0(x[0]), ..., net_{N-1}(x[N-1])) computed as one batched call (``torch.func.vmap``).

    Batch-norm layers work in training mode: their running statistics are stacked buffers too,
    updated in place, copy i's from copy i's batch alone. A net that draws random numbers itself
    (dropout) is refused by ``vmap`` (its ``randomness="error"``)."""

    def __init__(self, nets):
        self.params, self.buffers = torch.func.stack_module_state(list(nets))
        self.base = copy.deepcopy(nets[0]).to("meta")  # the architecture, without its numbers
        self._batched = torch.func.vmap(self._one)

    def _one(self, params: dict, buffers: dict, x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(self.base, (params, buffers), (x,))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self._batched(self.params, self.buffers, x)

    def parameters(self) -> list:
        return list(self.params.values())

    def requires_grad_(self, flag: bool = True) -> "Stacked":
        for p in self.parameters():
            p.requires_grad_(flag)
        return self

    @torch.no_grad()
    def net(self, i: int) -> nn.Module:
        """Copy i as a plain net of its own (its weights and buffers copied out)."""
        device = next(iter(self.params.values())).device
        net = copy.deepcopy(self.base).to_empty(device=device)
        for name, t in self.params.items():
            net.get_parameter(name).copy_(t[i])
        for name, t in self.buffers.items():
            net.get_buffer(name).copy_(t[i])
        return net


class StackedAdam:
    """Adam (Kingma & Ba, 2015) on stacked weights, with a learning rate per copy.

    For each weight θ of shape (N, ...) with gradient g, at step t (elementwise):

        m ← β1 m + (1 - β1) g,        v ← β2 v + (1 - β2) g²
        θ[i] ← θ[i] - η_i (m[i] / (1 - β1^t)) / (sqrt(v[i] / (1 - β2^t)) + ε)

    with η_i copy i's learning rate. The operations are those of ``torch.optim.Adam``'s
    single-tensor update in its order, so slice i gets the numbers copy i's own Adam would give
    it (bit for bit on a CPU, for the same gradients)."""

    def __init__(self, params, lrs, betas=(0.5, 0.999), eps: float = 1e-8):
        self.params, self.lrs, self.betas, self.eps = list(params), list(lrs), betas, eps
        self.t = 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        beta1, beta2 = self.betas
        bias1, bias2_sqrt = 1 - beta1 ** self.t, (1 - beta2 ** self.t) ** 0.5
        minus_step = torch.tensor([-lr / bias1 for lr in self.lrs], device=self.params[0].device)  # -η_i / (1 - β1^t)
        for p, m, v in zip(self.params, self.m, self.v):
            m.lerp_(p.grad, 1 - beta1)
            v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
            denom = (v.sqrt() / bias2_sqrt).add_(self.eps)
            p.add_(minus_step.view(-1, *[1] * (p.ndim - 1)) * m / denom)

    def state_into(self, opt: torch.optim.Adam, params, i: int) -> None:
        """Copy i's moments and step count into ``opt``, a lone ``torch.optim.Adam`` of ``params``
        (the same weights in the same order, unstacked)."""
        if self.t == 0:
            return  # torch's Adam has no state before its first step either
        for p, m, v in zip(params, self.m, self.v):
            opt.state[p] = dict(step=torch.tensor(float(self.t)), exp_avg=m[i].clone(), exp_avg_sq=v[i].clone())


def batched_d_step(G, D, opt_d, real, noise, objective):
    """``algorithm.d_step`` for N copies at once: ``real`` of shape (N, B, ...), copy i's batch
    x[i]. Each copy's loss L_i = BCE(D_i(x[i]), 1) + BCE(D_i(G_i(z_i)), 0); one backward pass of
    Σ_i L_i gives each D_i its own gradient. Returns the N losses and the logits, detached."""
    with torch.no_grad():                      # keep the G's out of backpropagation
        fake = G(noise(real.shape[1]))
    real_logits, fake_logits = D(real), D(fake)
    losses = torch.vmap(objective.d_loss)(real_logits, fake_logits)   # (N,): L_i, copy by copy
    opt_d.zero_grad(set_to_none=True)
    losses.sum().backward()                    # ∂(Σ_j L_j)/∂θ_i = ∂L_i/∂θ_i: the copies share nothing
    opt_d.step()
    return losses.detach(), real_logits.detach(), fake_logits.detach()


def batched_g_step(G, D, opt_g, batch_size, noise, objective):
    """``algorithm.g_step`` for N copies at once: each G_i through its D_i on fresh fakes, with the
    real label; one backward pass of the summed losses. Returns the N losses."""
    with frozen(D):                            # gradients flow through the D's into the G's only
        fake_logits = D(G(noise(batch_size)))
    losses = torch.vmap(objective.g_loss)(fake_logits)
    opt_g.zero_grad(set_to_none=True)
    losses.sum().backward()
    opt_g.step()
    return losses.detach()


def batched_round(G, D, opt_d, opt_g, real_batch, batch_size, noise, objective, d_steps=1, g_steps=1):
    """``algorithm.alternating_round`` for N copies: ``d_steps`` D steps, each on a fresh
    ``real_batch()`` of shape (N, B, ...), then ``g_steps`` G steps. Returns as it does, with N
    numbers where it has one."""
    loss_d = loss_g = real_logits = fake_logits = None
    for _ in range(d_steps):
        loss_d, real_logits, fake_logits = batched_d_step(G, D, opt_d, real_batch(), noise, objective)
    for _ in range(g_steps):
        loss_g = batched_g_step(G, D, opt_g, batch_size, noise, objective)
    return loss_d, loss_g, real_logits, fake_logits


def _rows(objective, n, loss_d, loss_g, real_logits, fake_logits) -> list:
    """A batched round's numbers, one row per copy: (loss_d, loss_g, mean D(x), mean D(G(z))), NaN
    for what the round did not compute; one device sync."""
    mean = torch.vmap(lambda t: objective.outputs(t).mean())
    columns = [loss_d, loss_g] + [None if t is None else mean(t) for t in (real_logits, fake_logits)]
    nan = torch.full((n,), math.nan)
    got = torch.stack([nan if c is None else c.float().cpu() for c in columns], dim=1)
    return got.tolist()


class BatchedGAN:
    """N GANs of one architecture trained side by side as one batched computation.

    ``make_nets()`` returns a fresh (G, D); copy i's are built after ``seed_everything(seeds[i])``.
    ``seeds``, ``lr_d`` and ``lr_g`` take one value for all copies or a list of ``n``; ``betas``,
    ``loss``, ``d_steps``, ``g_steps`` and ``noise`` are shared (``gan_edu.settings.Settings``
    checks them all). ``fit(sampler, steps, batch_size)`` trains every copy; ``history[i]`` is
    copy i's, with ``GAN.history``'s keys; ``sample(n)`` draws (N, n, ...); ``unstack(i)`` is copy i
    as a plain ``GAN``."""

    def __init__(self, make_nets, n: int, seeds=0, lr_d=2e-4, lr_g=2e-4, betas=(0.5, 0.999),
                 loss: str = "non_saturating", d_steps: int = 1, g_steps: int = 1, noise: str = "normal",
                 device="auto"):
        self.n = checks.check_count("n", n)
        checks.check_callable("make_nets", make_nets, "make_nets() -> (generator, discriminator)")
        seeds, lrs_d, lrs_g = (per_copy(k, v, self.n) for k, v in (("seeds", seeds), ("lr_d", lr_d), ("lr_g", lr_g)))
        self.copies = [Settings(lr_d=a, lr_g=b, seed=s, betas=betas, loss=loss, d_steps=d_steps, g_steps=g_steps,
                                noise=noise) for s, a, b in zip(seeds, lrs_d, lrs_g)]
        self.device = get_device(device)
        Gs, Ds = zip(*(self._build(make_nets, s.seed) for s in self.copies))
        self.noise_dim, self.data_shape = Gs[0].noise_dim, getattr(Gs[0], "data_shape", None)
        self.G, self.D = Stacked(Gs), Stacked(Ds)
        self.opt_d = StackedAdam(self.D.parameters(), lrs_d, self.copies[0].betas)
        self.opt_g = StackedAdam(self.G.parameters(), lrs_g, self.copies[0].betas)
        self.rngs = [torch.Generator(self.device).manual_seed(s.seed) for s in self.copies]
        self.objective = objective_for(self.copies[0])
        self.step = 0
        self.history = [dict({k: [] for k in HISTORY_KEYS}, events=[]) for _ in range(self.n)]
        self._checked = False

    def _build(self, make_nets, seed) -> tuple:
        """One copy's (G, D), built seeded ``seed`` and checked as ``GAN`` checks its nets."""
        if seed is None:
            raise ValueError("seeds must be integers (a copy equals the lone GAN of its seed)")
        seed_everything(seed)
        G, D = make_nets()
        lone = GAN(G, D, device=self.device)  # the checks GAN makes (nn.Modules, noise_dim, float32, G takes z)
        return lone.G, lone.D

    def noise(self, n: int) -> torch.Tensor:
        """z of shape (N, n, noise_dim): copy i's ``n`` draws of p(z) from its own generator, as
        ``GAN.noise`` draws them."""
        kind = self.copies[0].noise
        return torch.stack([noise_prior(n, self.noise_dim, kind, rng, self.device) for rng in self.rngs])

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        """G_i(z) for ``n`` fresh noise draws per copy: shape (N, n, *data_shape), on the CPU."""
        return self.G(self.noise(checks.check_count("n", n))).float().cpu()

    def _real_batch(self, sampler, batch_size: int) -> torch.Tensor:
        """(N, B, ...): one batch of ``sampler`` for all copies, or copy i's from ``sampler[i]``."""
        if callable(sampler):
            real = checks.real_batch(sampler(batch_size), batch_size).to(self.device)
            real = real.expand(self.n, *real.shape)
        else:
            real = torch.stack([checks.real_batch(s(batch_size), batch_size).to(self.device) for s in sampler])
        if not self._checked:
            checks.nets_fit(self.G.net(0), self.D.net(0), lambda x: x, 1, self.noise_dim, real[0])
            self._checked = True
        return real

    def train_step(self, sampler, batch_size: int = 128) -> list:
        """One round for every copy (``batched_round``); records and returns each copy's numbers."""
        s = self.copies[0]
        result = batched_round(self.G, self.D, self.opt_d, self.opt_g, lambda: self._real_batch(sampler, batch_size),
                               batch_size, self.noise, self.objective, s.d_steps, s.g_steps)
        self.step += 1
        records = []
        for copy_i, history, row in zip(self.copies, self.history, _rows(self.objective, self.n, *result)):
            record = dict(step=self.step, loss_d=row[0], loss_g=row[1], d_real=row[2], d_fake=row[3],
                          lr_d=copy_i.lr_d, lr_g=copy_i.lr_g)
            for key in HISTORY_KEYS:
                history[key].append(record[key])
            records.append(record)
        return records

    def fit(self, sampler, steps: int, batch_size: int = 128, progress: bool = True) -> list:
        """Train every copy ``steps`` rounds; returns ``history`` (one dict per copy). ``sampler``:
        one ``sampler(n)`` whose batches all copies share (as N lone GANs each given a fresh copy
        of it), or a list of ``n`` samplers, copy i drawing from ``sampler[i]``."""
        self._check_samplers(sampler)
        batch_size, steps = checks.check_batch_size(batch_size), checks.check_count("steps", steps)
        self._checked = False
        from tqdm.auto import tqdm

        with tqdm(total=steps, disable=not progress, desc=f"training {self.n} GANs", leave=False) as bar, \
                held_interrupts() as interrupt:
            for _ in range(steps):
                self.train_step(sampler, batch_size)
                bar.update()
                if interrupt.is_set():  # Ctrl-C / the stop button: at the round's end, never inside it
                    raise KeyboardInterrupt(f"training interrupted after step {self.step}; every copy is intact: "
                                            "call fit again to resume")
        return self.history

    def _check_samplers(self, sampler) -> None:
        how = "sampler(n) -> Tensor of n real samples"
        if callable(sampler):
            return
        if not isinstance(sampler, (list, tuple)):
            raise TypeError(f"sampler must be a callable ({how}) or a list of {self.n} of them")
        for i, s in enumerate(per_copy("sampler", sampler, self.n)):
            checks.check_callable(f"sampler[{i}]", s, how)

    def settings(self, i: int) -> dict:
        """Copy i's settings, as ``GAN.settings()`` has them: ``GAN(G, D, **settings)`` takes them."""
        return self.copies[self._index(i)].to_json()

    def nets(self, i: int) -> tuple:
        """Copy i's (G, D) as plain nets of their own."""
        i = self._index(i)
        return self.G.net(i), self.D.net(i)

    def unstack(self, i: int) -> GAN:
        """Copy i as a plain ``GAN``: its nets, Adam's moments and step count, its noise generator's
        state, its step and history; ``fit`` then goes on as if copy i had been trained alone."""
        i = self._index(i)
        gan = GAN(*self.nets(i), device=self.device, **self.settings(i))
        self.opt_d.state_into(gan.opt_d, list(gan.D.parameters()), i)
        self.opt_g.state_into(gan.opt_g, list(gan.G.parameters()), i)
        gan.rng.set_state(self.rngs[i].get_state())
        gan.step, gan.history = self.step, copy.deepcopy(self.history[i])
        return gan

    def _index(self, i) -> int:
        if not checks.is_number(i, integer=True) or not -self.n <= i < self.n:
            raise IndexError(f"copy index must be an integer from 0 to {self.n - 1}, got {i!r}")
        return i % self.n

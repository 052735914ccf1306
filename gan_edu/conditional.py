"""The conditional GAN (Mirza and Osindero 2014): both players are told the class y.

G(z, y) draws a sample of class y; D(x, y) judges whether x is a real sample *of class y*. The
game is Algorithm 1 with y passed to both players (``d_step``, ``g_step`` below, the same order
and labels as ``gan_edu.algorithm``'s):

- **D step.** A real batch (x, y) from the data, fakes G(z, y') for labels y' ~ p(y) (uniform over
  the classes); BCE(D(x, y), 1) + BCE(D(G(z, y'), y'), 0) into D only.
- **G step.** Fresh labels y' and noise z; BCE(D(G(z, y'), y'), 1) into G only (non-saturating).

A fake is judged *with the label it was asked for*, so a G that draws a good 3 when asked for a
7 is caught: D learns what a real 7 looks like, not only what a real digit looks like.

G gets y by one-hot concatenation, G(z, y) = g(concat(z, onehot(y))) (``ConditionalGenerator``);
D gets it one of two ways, both written out in ``forward``:

- **one-hot concatenation** (``ConcatDiscriminator``): D(x, y) = ψ(φ(concat(x, onehot(y)))), the
  code as constant image channels beside x's;
- **projection** (``ProjectionDiscriminator``, Miyato and Koyama 2018):
  D(x, y) = ψ(φ(x)) + embed(y) · φ(x), a class-free "is it real?" score plus the agreement of
  x's features with the class's embedding.

``ConditionalGAN`` owns the nets and their optimizers (``fit`` / ``sample`` / ``history``, as
``gan_edu.GAN``). ``gan_edu.experiments.conditional.train_digits`` trains one on the 8x8 digits with
the course's recipe; ``gan_edu.metrics.conditional`` measures it (label accuracy, FD).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .algorithm import BCE, frozen, noise_prior
from .checks import check_betas, check_callbacks, check_count, check_lr, check_seed, is_number
from .data import Sampler

__all__ = ["one_hot", "check_labels", "ConditionalGenerator", "ConcatDiscriminator", "ProjectionDiscriminator",
           "DISCRIMINATORS", "d_step", "g_step", "LabelledSampler", "ConditionalGAN"]


# ---------------------------------------------------------------------------- labels
def check_labels(y, classes: int, n: int | None = None, name: str = "labels") -> torch.Tensor:
    """``y`` as an int64 tensor (n,) of class indices in [0, ``classes``); a clear error naming ``name`` otherwise."""
    if not isinstance(y, torch.Tensor):
        try:
            y = torch.as_tensor(y)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{name} must be a tensor or a list of integers, got {type(y).__name__}") from None
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"{name} must be integers (class indices), got dtype {y.dtype}")
    if y.ndim != 1 or (n is not None and len(y) != n):
        want = f"({n},), one per sample" if n is not None else "(n,)"
        raise ValueError(f"{name} must have shape {want}, got {tuple(y.shape)}")
    if len(y) and (y.min() < 0 or y.max() >= classes):
        bad = y[(y < 0) | (y >= classes)][0].item()
        raise ValueError(f"{name} must be class indices from 0 to {classes - 1}, got {bad}")
    return y.long()


def one_hot(y: torch.Tensor, classes: int) -> torch.Tensor:
    """onehot(y): row i is the float vector with a 1 at position y_i and 0 elsewhere, (n, classes)."""
    y = check_labels(y, classes, name="y")
    return torch.eye(classes, device=y.device)[y]


def _positive(name: str, value) -> int:
    if not is_number(value, integer=True) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_image_size(image_size) -> int:
    image_size = _positive("image_size", image_size)
    if image_size % 4:
        raise ValueError(f"image_size must be a multiple of 4 (8 for the digits, 28 for MNIST), got {image_size}")
    return image_size


def _check_batch(name: str, x, shape: tuple, n: int | None = None) -> torch.Tensor:
    """``x``: a floating-point tensor (n, *shape); a clear error otherwise."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point torch.Tensor of shape (n, {', '.join(map(str, shape))}), "
                        f"got {type(x).__name__} {getattr(x, 'dtype', '')}")
    if x.ndim < 1 or tuple(x.shape[1:]) != tuple(shape) or (n is not None and len(x) != n):
        want = f"({n if n is not None else 'n'}, {', '.join(map(str, shape))})"
        raise ValueError(f"{name} must have shape {want}, got {tuple(x.shape)}")
    return x


# ---------------------------------------------------------------------------- the players
class ConditionalGenerator(nn.Module):
    """G(z, y) = g(concat(z, onehot(y))): an image of class y, in [-1, 1] (tanh).

    g: the column (z; onehot(y)) as a 1x1 image -> (2w, s/4, s/4) -> (w, s/2, s/2) -> (channels, s, s),
    transposed convolutions with ReLU between them (s = ``image_size``, w = ``width``). g's first
    layer is linear in its input: W (z; onehot(y)) = W_z z + W_y[:, y], so the one-hot code gives
    each class its own bias, the column y of W_y, learned with the rest. No batch norm: a sample
    depends on its own z and y only, never on the rest of the batch (a grid of one digit is drawn
    as in training)."""

    def __init__(self, noise_dim: int = 32, classes: int = 10, image_size: int = 8, channels: int = 1,
                 width: int = 32):
        super().__init__()
        s, w = _check_image_size(image_size), _positive("width", width)
        self.noise_dim, self.classes = _positive("noise_dim", noise_dim), _positive("classes", classes)
        self.data_shape = (_positive("channels", channels), s, s)
        self.config = dict(noise_dim=noise_dim, classes=classes, image_size=s, channels=channels, width=w)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(noise_dim + classes, 2 * w, s // 4), nn.ReLU(),   # (2w, s/4, s/4)
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.ReLU(),                    # (w, s/2, s/2)
            nn.ConvTranspose2d(w, channels, 4, 2, 1), nn.Tanh())                 # (channels, s, s)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        z = _check_batch("z", z, (self.noise_dim,))
        return self.decode(z, one_hot(check_labels(y, self.classes, len(z), "y"), self.classes))

    def decode(self, z: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """g(concat(z, code)) for any class code (n, ``classes``): onehot(y) gives G(z, y); a mix
        (1 - t) onehot(a) + t onehot(b) walks from class a to class b with z fixed."""
        z = _check_batch("z", z, (self.noise_dim,))
        code = _check_batch("code", code, (self.classes,), len(z))
        zy = torch.cat([z, code], dim=1)                                      # (z; onehot(y))
        return self.net(zy[:, :, None, None])


class _ImageDiscriminator(nn.Module):
    """What both discriminators share: φ, two strided convolutions (LeakyReLU 0.2, batch norm on
    the second), flattened to ``feature_dim`` = 2w (s/4)² features, and ψ, a linear map to one logit."""

    def __init__(self, classes: int, image_size: int, channels: int, width: int, extra_channels: int = 0):
        super().__init__()
        s, w = _check_image_size(image_size), _positive("width", width)
        self.classes, self.data_shape = _positive("classes", classes), (_positive("channels", channels), s, s)
        self.config = dict(classes=classes, image_size=s, channels=channels, width=w)
        self.feature_dim = 2 * w * (s // 4) ** 2
        self.phi = nn.Sequential(
            nn.Conv2d(channels + extra_channels, w, 4, 2, 1), nn.LeakyReLU(0.2),             # (w, s/2, s/2)
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),          # (2w, s/4, s/4)
            nn.Flatten())
        self.psi = nn.Linear(self.feature_dim, 1)

    def _inputs(self, x, y) -> tuple[torch.Tensor, torch.Tensor]:
        x = _check_batch("x", x, self.data_shape)
        return x, check_labels(y, self.classes, len(x), "y")


class ConcatDiscriminator(_ImageDiscriminator):
    """D(x, y) = ψ(φ(concat(x, onehot(y)))): one logit. The one-hot code enters as ``classes``
    constant image channels (channel y all ones, the others zeros) beside x's, so φ's first
    convolution adds a learned, class-specific map to what it computes from x."""

    def __init__(self, classes: int = 10, image_size: int = 8, channels: int = 1, width: int = 32):
        super().__init__(classes, image_size, channels, width, extra_channels=classes)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x, y = self._inputs(x, y)
        maps = one_hot(y, self.classes)[:, :, None, None].expand(-1, -1, *x.shape[2:])  # onehot(y) as images
        return self.psi(self.phi(torch.cat([x, maps], dim=1)))


class ProjectionDiscriminator(_ImageDiscriminator):
    """D(x, y) = ψ(φ(x)) + embed(y) · φ(x) (Miyato and Koyama 2018): one logit.

    φ(x): x's features (``feature_dim``), computed without the label; ψ(φ(x)): a class-free "is it
    real?" score; embed(y): a learned vector per class, the row y of ``embed.weight`` (``classes`` x
    ``feature_dim``). The label meets x only in the inner product: D's score rises when x's
    features point along its class's embedding."""

    def __init__(self, classes: int = 10, image_size: int = 8, channels: int = 1, width: int = 32):
        super().__init__(classes, image_size, channels, width)
        self.embed = nn.Embedding(self.classes, self.feature_dim)
        nn.init.normal_(self.embed.weight, 0.0, self.feature_dim ** -0.5)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x, y = self._inputs(x, y)
        features = self.phi(x)                                                    # φ(x)
        return self.psi(features) + (self.embed(y) * features).sum(1, keepdim=True)  # ψ(φ(x)) + embed(y)·φ(x)


# how D is told y (G is told by one-hot concatenation in both)
DISCRIMINATORS = {"concat": ConcatDiscriminator, "projection": ProjectionDiscriminator}


# ---------------------------------------------------------------------------- the steps
def d_step(G, D, opt_d, real, real_y, fake_y, noise, objective=BCE()):
    """The D step with labels: real pairs (x, y) get the real label, fakes G(z, y') judged as
    (G(z, y'), y') the fake label; G gets no gradient. Returns D's loss and its real and fake
    logits, detached."""
    with torch.no_grad():                      # keep G out of backpropagation
        fake = G(noise(len(fake_y)), fake_y)
    real_logits, fake_logits = D(real, real_y), D(fake, fake_y)   # each judged with its own labels
    loss = objective.d_loss(real_logits, fake_logits)             # BCE(D(x, y), 1) + BCE(D(G(z, y'), y'), 0)
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    return loss.detach(), real_logits.detach(), fake_logits.detach()


def g_step(G, D, opt_g, fake_y, noise, objective=BCE()):
    """The G step with labels: fresh fakes G(z, y') judged by D *with the labels asked for*,
    with the real label: BCE(D(G(z, y'), y'), 1) into G only. Returns G's loss."""
    with frozen(D):                            # gradients flow through D into G; D's weights get none
        fake_logits = D(G(noise(len(fake_y)), fake_y), fake_y)
    loss = objective.g_loss(fake_logits)
    opt_g.zero_grad(set_to_none=True)
    loss.backward()
    opt_g.step()
    return loss.detach()


# ---------------------------------------------------------------------------- data and trainer
class LabelledSampler(Sampler):
    """``sampler(n) -> (x, y)``: n random (image, label) pairs of a labelled dataset, drawn with
    replacement with the sampler's own seeded generator."""

    def __init__(self, images: torch.Tensor, labels, classes: int = 10, seed: int = 0):
        super().__init__(seed)
        if not isinstance(images, torch.Tensor) or not images.is_floating_point() or images.ndim < 2:
            raise TypeError("images must be a floating-point torch.Tensor of shape (n, *data_shape)")
        self.labels = check_labels(labels, _positive("classes", classes), len(images))
        if len(images) == 0:
            raise ValueError("images must hold at least one sample")
        self.images, self.classes, self.data_shape = images, classes, tuple(images.shape[1:])

    def sample(self, n):
        idx = torch.randint(len(self.images), (n,), generator=self.generator)
        return self.images[idx], self.labels[idx]


class ConditionalGAN:
    """Owns G(z, y), D(x, y) and their Adam optimizers; ``fit`` plays rounds of one ``d_step``
    and one ``g_step``. The fakes' labels y' are drawn uniformly over the classes.

    ``sample(labels)`` draws G(z, y) for the given labels; ``history`` records per round
    ``loss_d``, ``loss_g`` and D's mean output (a probability) on real and fake pairs.

    ``d_step``: another D step with ``d_step``'s first seven arguments, ``fn(G, D, opt_d, real, real_y,
    fake_y, noise)``, returning D's loss (e.g. a student's, or one with a bug, to train with it);
    D's mean outputs are then not recorded (NaN)."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, lr_d: float = 2e-3, lr_g: float = 2e-3,
                 betas=(0.5, 0.999), seed: int = 0, d_step=None):
        if d_step is not None and not callable(d_step):
            raise TypeError(f"d_step must be a function d_step(G, D, opt_d, real, real_y, fake_y, noise) -> D's loss, "
                            f"or None (this module's d_step), got {type(d_step).__name__}")
        self.custom_d_step = d_step
        for name, net in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(net, nn.Module):
                raise TypeError(f"{name} must be a torch.nn.Module, got {type(net).__name__}")
        if not isinstance(getattr(generator, "noise_dim", None), int) or not isinstance(
                getattr(generator, "classes", None), int):
            raise TypeError("generator must have integer attributes noise_dim (the size of z) and classes")
        self.G, self.D = generator, discriminator
        self.noise_dim, self.classes = generator.noise_dim, generator.classes
        betas = check_betas("betas", betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), check_lr("lr_d", lr_d), betas)
        self.opt_g = torch.optim.Adam(self.G.parameters(), check_lr("lr_g", lr_g), betas)
        self.rng = torch.Generator().manual_seed(check_seed("seed", seed))
        self.objective, self.step = BCE(), 0
        self.history: dict[str, list] = {k: [] for k in ("step", "loss_d", "loss_g", "d_real", "d_fake")}

    def noise(self, n: int) -> torch.Tensor:
        """z ~ N(0, I): ``n`` draws of size ``noise_dim``, from the GAN's own generator."""
        return noise_prior(n, self.noise_dim, "normal", self.rng)

    def random_labels(self, n: int) -> torch.Tensor:
        """y' ~ uniform over the classes: the labels the fakes are asked for."""
        return torch.randint(self.classes, (n,), generator=self.rng)

    def set_lr(self, d: float | None = None, g: float | None = None) -> None:
        """Change the learning rates (from the next step)."""
        for opt, lr, name in ((self.opt_d, d, "d"), (self.opt_g, g, "g")):
            if lr is not None:
                for group in opt.param_groups:
                    group["lr"] = check_lr(name, lr)

    def train_step(self, sampler, batch_size: int = 64) -> dict:
        """One round: one D step on a real labelled batch, then one G step. Returns its numbers."""
        batch = sampler(batch_size)
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError(f"sampler(n) must return a pair (images, labels), got {type(batch).__name__}")
        real, real_y = batch
        real = _check_batch("the sampler's images", real, getattr(self.G, "data_shape", real.shape[1:]), batch_size)
        real_y = check_labels(real_y, self.classes, batch_size, "the sampler's labels")
        fake_y = self.random_labels(batch_size)
        if self.custom_d_step is None:
            loss_d, real_logits, fake_logits = d_step(self.G, self.D, self.opt_d, real, real_y, fake_y, self.noise,
                                                      self.objective)
            d_real, d_fake = torch.sigmoid(real_logits).mean().item(), torch.sigmoid(fake_logits).mean().item()
        else:                                  # another D step: its loss only
            loss_d = self.custom_d_step(self.G, self.D, self.opt_d, real, real_y, fake_y, self.noise)
            loss_d = loss_d[0] if isinstance(loss_d, (tuple, list)) else loss_d  # the package's: (loss, logits...)
            d_real = d_fake = math.nan
        loss_g = g_step(self.G, self.D, self.opt_g, self.random_labels(batch_size), self.noise, self.objective)
        self.step += 1
        loss_d = loss_d.detach() if isinstance(loss_d, torch.Tensor) else loss_d
        record = dict(step=self.step, loss_d=float(loss_d), loss_g=loss_g.item(), d_real=d_real, d_fake=d_fake)
        for key, value in record.items():
            self.history[key].append(value)
        return record

    def fit(self, sampler, steps: int, batch_size: int = 64, lr_halvings: int = 0, callbacks=()) -> dict:
        """Train ``steps`` rounds on ``sampler(batch_size) -> (x, y)``; with ``lr_halvings`` k, both
        learning rates are halved k times, evenly spaced (after every steps / (k + 1) rounds).
        ``callbacks`` are called as ``callback(gan)`` after each round. Returns ``history``."""
        steps, batch_size = check_count("steps", steps), check_count("batch_size", batch_size)
        lr_halvings = check_count("lr_halvings", lr_halvings, minimum=0)
        callbacks = check_callbacks(callbacks)
        every = max(1, steps // (lr_halvings + 1))
        for i in range(1, steps + 1):
            self.train_step(sampler, batch_size)
            if lr_halvings and i % every == 0 and i // every <= lr_halvings:
                self.set_lr(d=self.opt_d.param_groups[0]["lr"] / 2, g=self.opt_g.param_groups[0]["lr"] / 2)
            for callback in callbacks:
                callback(self)
        return self.history

    @torch.no_grad()
    def sample(self, labels, z: torch.Tensor | None = None) -> torch.Tensor:
        """G(z, y) for the given ``labels`` (one sample each) and fresh noise, or the given ``z``."""
        labels = check_labels(labels, self.classes)
        z = self.noise(len(labels)) if z is None else _check_batch("z", z, (self.noise_dim,), len(labels))
        return self.G(z, labels)

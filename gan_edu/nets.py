"""The two players: G maps noise z to data, D maps data to a logit (D(x) = sigmoid(logit)).

MLPs for 1D/2D toy data; DCGAN-style convolutional nets (Radford et al., 2016) for 1x8x8
digits and 1x28x28 MNIST. Every net remembers the arguments it was built with (``.config``),
so a checkpoint can rebuild it.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .checks import is_number

__all__ = ["MLPGenerator", "MLPMixtureGenerator", "MLPDiscriminator", "DCGANGenerator", "DCGANDiscriminator",
           "dcgan_weights_init", "NETS"]


def _check_positive_int(name: str, value) -> int:
    if not is_number(value, integer=True) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _mlp(sizes: list[int], activation: type[nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """G(z): ``noise_dim`` -> ``hidden`` x ``depth`` (ReLU) -> ``data_dim``, no output squashing."""

    def __init__(self, noise_dim: int = 2, data_dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        for name, v in dict(noise_dim=noise_dim, data_dim=data_dim, hidden=hidden, depth=depth).items():
            _check_positive_int(name, v)
        self.config = dict(noise_dim=noise_dim, data_dim=data_dim, hidden=hidden, depth=depth)
        self.noise_dim, self.data_shape = noise_dim, (data_dim,)
        self.net = _mlp([noise_dim] + [hidden] * depth + [data_dim], nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPMixtureGenerator(nn.Module):
    """A mixture of ``generators`` MLP generators (each ``hidden`` x ``depth``, ReLU): z's first
    coordinate u picks one, the other ``noise_dim - 1`` feed it.

    G(z) = G_k(z_2, ..., z_n) with k = floor(K Φ(u)) (Φ the normal CDF), so with z ~ N(0, I)
    each of the K generators draws 1/K of the samples. One continuous G maps the connected noise
    space onto a connected set, so between separated modes it must draw thin "bridges"; the
    mixture's image has K pieces, so only the modes one generator shares are bridged
    (Khayatkhoei et al. 2018; MGAN, Hoang et al. 2018, without its classifier term). All K run on
    every z as one batched matmul (cheap for small nets); each sample keeps its own generator's
    output. The choice assumes z ~ N(0, I), ``GAN``'s default noise (uniform noise on [-1, 1]
    would reach only the middle generators).
    """

    def __init__(self, noise_dim: int = 3, data_dim: int = 2, hidden: int = 48, depth: int = 4,
                 generators: int = 8):
        super().__init__()
        for name, v in dict(noise_dim=noise_dim, data_dim=data_dim, hidden=hidden, depth=depth,
                            generators=generators).items():
            _check_positive_int(name, v)
        if noise_dim < 2:
            raise ValueError(f"noise_dim must be at least 2 (one coordinate picks the generator), got {noise_dim}")
        self.config = dict(noise_dim=noise_dim, data_dim=data_dim, hidden=hidden, depth=depth, generators=generators)
        self.noise_dim, self.data_shape, self.generators = noise_dim, (data_dim,), generators
        sizes = [noise_dim - 1] + [hidden] * depth + [data_dim]
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for a, b in zip(sizes[:-1], sizes[1:]):  # nn.Linear's default init, per generator
            bound = 1 / math.sqrt(a)
            self.weights.append(nn.Parameter(torch.empty(generators, a, b).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(generators, 1, b).uniform_(-bound, bound)))

    def choice(self, z: torch.Tensor) -> torch.Tensor:
        """k = floor(K Φ(z_1)): which generator draws each sample."""
        return (torch.special.ndtr(z[:, 0]) * self.generators).long().clamp_(max=self.generators - 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = z[:, 1:].unsqueeze(0).expand(self.generators, -1, -1)  # (K, n, noise_dim - 1)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if i < len(self.weights) - 1:
                h = torch.relu(h)
        return h[self.choice(z), torch.arange(z.shape[0], device=z.device)]


class MLPDiscriminator(nn.Module):
    """D's logit l(x): ``data_dim`` -> ``hidden`` x ``depth`` (LeakyReLU 0.2) -> 1."""

    def __init__(self, data_dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        for name, v in dict(data_dim=data_dim, hidden=hidden, depth=depth).items():
            _check_positive_int(name, v)
        self.config = dict(data_dim=data_dim, hidden=hidden, depth=depth)
        self.data_shape = (data_dim,)
        self.net = _mlp([data_dim] + [hidden] * depth + [1], lambda: nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def prob(self, x: torch.Tensor) -> torch.Tensor:
        """D(x) = sigmoid(logit): the probability that x is real."""
        return torch.sigmoid(self(x))


def dcgan_weights_init(module: nn.Module) -> None:
    """DCGAN init: conv weights ~ N(0, 0.02); batch-norm scale ~ N(1, 0.02), shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _check_image_size(image_size: int) -> int:
    _check_positive_int("image_size", image_size)
    if image_size % 4:
        raise ValueError(f"image_size must be a multiple of 4 (8 for digits, 28 for MNIST), got {image_size}")
    return image_size


class DCGANGenerator(nn.Module):
    """G(z) for images: z -> (2w, s/4, s/4) -> (w, s/2, s/2) -> (channels, s, s) with tanh.

    Transposed convolutions, batch norm and ReLU, as in the DCGAN paper; outputs in [-1, 1].
    """

    def __init__(self, noise_dim: int = 64, image_size: int = 28, channels: int = 1, width: int = 64):
        super().__init__()
        _check_image_size(image_size)
        for name, v in dict(noise_dim=noise_dim, channels=channels, width=width).items():
            _check_positive_int(name, v)
        self.config = dict(noise_dim=noise_dim, image_size=image_size, channels=channels, width=width)
        self.noise_dim, self.data_shape = noise_dim, (channels, image_size, image_size)
        s, w = image_size // 4, width
        self.net = nn.Sequential(
            nn.ConvTranspose2d(noise_dim, 2 * w, s, 1, 0, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(True),
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(True),
            nn.ConvTranspose2d(w, channels, 4, 2, 1, bias=False), nn.Tanh(),
        )
        self.apply(dcgan_weights_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """D's logit for images: strided convolutions, batch norm, LeakyReLU(0.2), one logit."""

    def __init__(self, image_size: int = 28, channels: int = 1, width: int = 64):
        super().__init__()
        _check_image_size(image_size)
        for name, v in dict(channels=channels, width=width).items():
            _check_positive_int(name, v)
        self.config = dict(image_size=image_size, channels=channels, width=width)
        self.data_shape = (channels, image_size, image_size)
        s, w = image_size // 4, width
        self.net = nn.Sequential(
            nn.Conv2d(channels, w, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
            nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * w, 1, s, 1, 0, bias=False),
        )
        self.apply(dcgan_weights_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(x.shape[0], 1)

    def prob(self, x: torch.Tensor) -> torch.Tensor:
        """D(x) = sigmoid(logit)."""
        return torch.sigmoid(self(x))


# name -> class, so a checkpoint can rebuild gan_edu's own nets from their ``config``.
NETS = {cls.__name__: cls for cls in (MLPGenerator, MLPMixtureGenerator, MLPDiscriminator, DCGANGenerator,
                                       DCGANDiscriminator)}

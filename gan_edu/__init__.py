"""gan_edu: the small, tested PyTorch package behind the gan-edu course notebooks.

Read ``gan_edu.algorithm`` first: Algorithm 1 of the GAN paper as a few plain functions. The core
sits at the top level (algorithm, losses, nets, data, options, settings, train, checkpoint, checks,
device, plots, and conditional: the conditional GAN, G(z, y) and D(x, y)); the subpackages build on
it: ``speed`` (the switches ``GAN`` applies), ``metrics``
(measurements), ``experiments`` (recipes, several GANs at once, failures, the Dirac-GAN), ``live``
(the playground) and ``exercises`` (the checkers). Importing the core loads neither pyplot nor
widgets: the other modules load when first used (``ge.live``, ``ge.plots``, ...).
"""
import importlib

from .device import describe_device, fast_mode, get_device, seed_everything
from .train import GAN, NonFiniteLossError

__version__ = "0.1.0"

SUBMODULES = ("algorithm", "checkpoint", "checks", "data", "device", "losses", "nets", "options", "plots",
              "settings", "train", "colab", "conditional", "wasserstein", "speed", "metrics", "experiments", "live",
              "exercises")
__all__ = ["GAN", "BatchedGAN", "NonFiniteLossError", "describe_device", "fast_mode", "get_device",
           "seed_everything", *SUBMODULES]


def __getattr__(name):
    """``ge.live``, ``ge.plots``, ...: a module loads when first used; ``ge.BatchedGAN`` too."""
    if name in SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name == "BatchedGAN":
        return importlib.import_module(".experiments.batched", __name__).BatchedGAN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))

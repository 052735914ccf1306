"""gan_edu: the small, tested PyTorch package behind the gan-edu course notebooks."""
from . import data, device, dirac, drawpad, exercises, live, losses, metrics, nets, plots, recipes, speed, train
from .device import describe_device, fast_mode, get_device, seed_everything
from .train import GAN, NonFiniteLossError

__version__ = "0.1.0"
__all__ = ["GAN", "NonFiniteLossError", "data", "describe_device", "device", "dirac", "drawpad", "exercises",
           "fast_mode", "get_device", "live", "losses", "metrics", "nets", "plots", "recipes", "seed_everything",
           "speed", "train"]

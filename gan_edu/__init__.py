"""gan_edu: the small, tested PyTorch package behind the gan-edu course notebooks.

Read ``gan_edu.algorithm`` first: Algorithm 1 of the GAN paper as a few plain functions.
"""
from . import (algorithm, checkpoint, checks, data, device, dirac, drawpad, exercises, live, live_images,
               live_play, losses, metrics, nets,
               options, plots, recipes, settings, speed, train)
from .device import describe_device, fast_mode, get_device, seed_everything
from .train import GAN, NonFiniteLossError

__version__ = "0.1.0"
__all__ = ["GAN", "NonFiniteLossError", "algorithm", "checkpoint", "checks", "data", "describe_device", "device",
           "dirac", "drawpad", "exercises", "fast_mode", "get_device", "live", "live_images",
           "live_play", "losses", "metrics", "nets", "options",
           "plots", "recipes", "seed_everything", "settings", "speed", "train"]

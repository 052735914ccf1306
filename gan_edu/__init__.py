"""gan_edu: the small, tested PyTorch package behind the gan-edu course notebooks.

Read ``gan_edu.algorithm`` first: Algorithm 1 of the GAN paper as a few plain functions.
"""
from . import (algorithm, batched, checkpoint, checks, data, device, dirac, drawpad, exercises, graphs, live,
               live_images, live_play, losses, metrics, nets,
               options, plots, recipes, settings, speed, train)
from .batched import BatchedGAN
from .device import describe_device, fast_mode, get_device, seed_everything
from .train import GAN, NonFiniteLossError

__version__ = "0.1.0"
__all__ = ["GAN", "BatchedGAN", "NonFiniteLossError", "algorithm", "batched", "checkpoint", "checks", "data",
           "describe_device", "device", "dirac", "drawpad", "exercises", "fast_mode", "get_device", "graphs", "live",
           "live_images", "live_play", "losses", "metrics", "nets", "options",
           "plots", "recipes", "seed_everything", "settings", "speed", "train"]

"""Experiments built on ``gan_edu.GAN``: named training recipes and their benchmark protocol
(``recipes``), several GANs trained as one batched computation (``batched.BatchedGAN``, notebook
05's learning-rate sweep), notebook 06's measurements of failures (``failures``), the Dirac-GAN
(``dirac``, Mescheder et al. 2018), the conditional GAN's digits recipe (``conditional``), notebook 09's critics
(``critic``) and its ring comparison of the plain GAN, WGAN-GP and SN-GAN (``wasserstein``). Each module loads when
first used."""
import importlib

__all__ = ["batched", "conditional", "critic", "dirac", "failures", "recipes", "wasserstein"]


def __getattr__(name):
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

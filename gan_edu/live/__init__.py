"""The live playground: GANs that train while students steer them with widgets.

- ``trainer.LiveTrainer`` (notebook 04): a GAN on 2D toy data, its controls, views and sessions;
  ``images.ImageTrainer`` (notebook 05): learning-rate sliders on a GAN of images;
  ``drawpad.DrawPad``: click points onto a plot to make the training data;
  ``conditional.ConditionalExplorer`` (notebook 08): pick a digit, move z, walk between two z or two
  classes of a trained conditional GAN (drawn in observe callbacks: no thread, as Colab needs).
- Their parts: ``settings`` (the playground's settings, defined once), ``controls`` (how a change
  reaches the training), ``training`` and ``play`` (the training thread, or the cell itself on
  Colab), ``metrics`` (live coverage, divergences, G's gradient arrows), ``view`` and ``raster``
  (the figures, painted fast), ``status``, ``widget`` (the ipywidgets), ``session`` (save / load).
"""
from .drawpad import DrawPad
from .images import ImageTrainer
from .settings import DATASETS, PANELS
from .trainer import LiveTrainer

__all__ = ["LiveTrainer", "ImageTrainer", "DrawPad", "DATASETS", "PANELS"]

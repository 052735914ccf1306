"""How good are the samples? Numbers, not impressions.

- ``coverage``: the mode-coverage protocol on 2D toy data (modes recovered, high-quality samples);
- ``grid``: KDE densities on a grid, KL / reverse KL / JS and D* from samples, ``DivergenceTracker``
  (records them during ``fit``);
- ``digits``: a digit classifier, the Fréchet distance in its feature space, the label histogram,
  the memorisation check (G's digits against their nearest training digits);
- ``conditional``: a conditional G's label accuracy (per class, mean, worst class) and FD against the
  held-out digits (``gan_edu.conditional``);
- ``match``: does G match the data (each mode's spread, MMD and its real-vs-real band, precision
  and recall).
"""
from . import conditional, coverage, digits, grid, match
from .conditional import conditional_digit_scores, label_accuracy
from .coverage import mode_coverage
from .digits import (DigitClassifier, digit_classifier, digit_fd, digit_fd_floor, digit_features,
                     digit_label_histogram, digits_split, frechet_distance, frechet_distance_gaussians,
                     memorisation, nearest_distances)
from .grid import (DivergenceTracker, density_on_grid, divergences_on_grid, grid_axis, grid_limits, grid_points,
                   optimal_discriminator_on_grid)

__all__ = ["conditional", "coverage", "digits", "grid", "match", "mode_coverage", "label_accuracy",
           "conditional_digit_scores", "digits_split", "DigitClassifier",
           "digit_classifier", "digit_features", "frechet_distance", "frechet_distance_gaussians", "digit_fd",
           "digit_fd_floor", "digit_label_histogram", "nearest_distances", "memorisation", "grid_limits", "grid_axis",
           "grid_points", "density_on_grid",
           "divergences_on_grid", "optimal_discriminator_on_grid", "DivergenceTracker"]

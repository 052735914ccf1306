"""pytest set-up shared by the package tests and the notebook tests (nbval)."""
import os

import matplotlib

# Notebooks (run by nbval in a kernel that inherits this environment) use their small sizes
# under pytest unless asked otherwise: `GAN_EDU_FAST=0 pytest notebooks` runs them at full size.
os.environ.setdefault("GAN_EDU_FAST", "1")
matplotlib.use("Agg")  # the package tests draw figures without a screen

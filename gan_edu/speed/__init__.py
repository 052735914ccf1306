"""Speed: the switches ``GAN`` applies once when it builds the nets, the optimizers and the round
(``switches``: resident data, bf16 autocast, channels_last, torch.compile, fused Adam; ``graphs``:
a round recorded once as a CUDA graph and replayed), and the measured speed table of notebook 05.

A layer below ``gan_edu.train``, which imports it; nothing here imports the GAN."""
from . import graphs, switches
from .switches import best_switches, speed_table, steps_per_second

__all__ = ["graphs", "switches", "best_switches", "speed_table", "steps_per_second"]

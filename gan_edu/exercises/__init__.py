r"""Self-check exercises: a student writes a piece of a GAN, a checker tests it on hidden cases.

One module per notebook's exercises; every checker is importable from here:

- ``bce`` (notebook 02): ``check_d_loss``, ``check_g_loss``;
- ``steps`` (notebook 03): ``check_train_step``;
- ``dcgan`` (notebook 05): ``check_up_block``, ``check_down_block``.

A checker never raises on a wrong answer: it prints what is wrong, naming the mistake, and
returns ``False``; on a right answer it prints one line and returns ``True``; on the student
edition's stub (``raise NotImplementedError``) it says "not done yet" (``common``). It does not
touch the global random state.
"""
from . import bce, common, steps
from .bce import check_d_loss, check_g_loss
from .steps import check_train_step
from .dcgan import check_down_block, check_up_block  # notebook 05

__all__ = ["check_d_loss", "check_g_loss", "check_train_step"]
__all__ += ["check_up_block", "check_down_block"]

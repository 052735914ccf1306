r"""Self-check exercises: a student writes a piece of a GAN, a checker tests it on hidden cases.

One module per notebook's exercises; every checker is importable from here:

- ``game`` (notebook 01): ``check_value_function``, ``check_d_star``; predictions ``game.check_crossings``,
  ``game.check_far_criterion``;
- ``bce`` (notebook 02): ``check_d_loss``, ``check_g_loss``; a prediction, ``bce.check_g_gradients``;
- ``mlp``, ``steps`` and ``loop`` (notebook 03): ``check_mlp_nets``; ``check_d_step``, ``check_g_step``,
  ``check_train_step``; build and train ``loop.check_train``; find the bug ``loop.check_diagnosis``,
  ``loop.check_fix``;
- ``live`` (notebook 04): ``check_push_ratio``; a prediction, ``live.check_who_wins``; and
  ``check_strong_d_settings`` (settings under which D learns alone; no longer in the notebook);
- ``dcgan`` (notebook 05): ``check_up_block``, ``check_down_block``; an open target, ``dcgan.check_recipe``;
- ``fixes`` (notebook 06): ``check_pack``, ``check_r1_penalty``; an open target, ``fixes.check_recipe``;
- ``divergence`` (notebook 07): ``check_kl``, ``check_js``; a prediction,
  ``divergence.check_divergence_prediction``;
- ``conditional`` (notebook 08): ``conditional.check_projection``; find the bug and fix it,
  ``conditional.check_fixed_d_step``;
- ``wasserstein`` (notebook 09): ``wasserstein.check_gradient_penalty``; a prediction,
  ``wasserstein.check_critic_prediction``.

The newer checkers are called by their module's name (``ge.exercises.loop.check_train``).

A checker never raises on a wrong answer: it prints what is wrong, naming the mistake, and
returns ``False``; on a right answer it prints one line and returns ``True``; on the student
edition's stub (``raise NotImplementedError``) it says "not done yet" (``common``). It does not
touch the global random state. ``score(passed)`` is a graded test cell's points for nbgrader
(``common``); ``understanding("01")`` shows a notebook's ungraded check of understanding (``quiz``).
"""
from . import bce, common, loop, steps
from .bce import check_d_loss, check_g_loss
from . import mlp  # notebook 03
from .mlp import check_mlp_nets  # notebook 03
from .steps import check_d_step, check_g_step, check_train_step  # notebook 03
from . import divergence, live
from .divergence import check_js, check_kl
from .live import check_push_ratio, check_strong_d_settings
from .game import check_d_star, check_value_function  # notebook 01
from .dcgan import check_down_block, check_up_block  # notebook 05
from .fixes import check_pack, check_r1_penalty  # notebook 06
from . import conditional  # notebook 08
from . import wasserstein  # notebook 09
from .common import score  # a graded test cell's points, for nbgrader
from .quiz import understanding  # the check of understanding, every notebook

__all__ = ["check_d_loss", "check_g_loss", "check_train_step"]
__all__ += ["check_strong_d_settings", "check_push_ratio", "check_kl", "check_js"]
__all__ += ["check_up_block", "check_down_block"]
__all__ += ["check_value_function", "check_d_star"]  # notebook 01
__all__ += ["check_mlp_nets", "check_d_step", "check_g_step"]  # notebook 03
__all__ += ["check_pack", "check_r1_penalty"]  # notebook 06
__all__ += ["score", "understanding"]

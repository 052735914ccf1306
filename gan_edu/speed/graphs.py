"""CUDA graphs: record one training round once, then replay it (the ``cuda_graphs`` switch).

The course's nets are small: on a GPU a round spends most of its time in Python launching a
few hundred small kernels, one after another, while the GPU waits. A CUDA graph records those
launches once and replays them all with one call, so the GPU no longer waits for Python.

How a round is graphed (``RoundGraph``), following PyTorch's "whole-network capture" recipe:

1. **Warm-up.** The first round of a given shape runs eagerly, on a side stream: a real round,
   recorded in the history like any other (it also creates Adam's state).
2. **Capture.** The same round is recorded (not run) into a ``torch.cuda.CUDAGraph``: both steps,
   the optimizers' updates (``torch.optim.Adam(capturable=True)``: its step count lives on the
   GPU) and the noise, drawn from the GAN's own generator, registered with the graph
   (``graph.register_generator_state``). The real batches are read from *static* tensors.
3. **Replay.** Each later round copies its real batches (drawn eagerly from the sampler) into
   the static tensors and replays the graph. The registered generator advances at each replay
   by what the round draws, so replay k draws the noise eager round k would; the round's losses
   and logits are read back from the graph's own output tensors.

So training gives the numbers of eager training up to float rounding (capturable Adam computes
its bias corrections on the GPU in float32, the eager one on the CPU in float64). A round of
another shape (other batch size, D or G steps, update rule, learning rate or any setting
``configure`` changed) is warmed up and captured afresh. The NaN guard cannot run inside a graph
(it asks the CPU whether a number is finite): the eager warm-up round has it; a replayed round
is checked afterwards, when its update is already applied (``NonFiniteLossError`` says so).

CUDA only: on a CPU or Apple GPU, ``GAN(..., cuda_graphs=True)`` warns and trains eagerly.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import NamedTuple

import torch

from ..options import NonFiniteLossError

__all__ = ["available", "round_graph", "RoundGraph"]


def available(device) -> bool:
    """CUDA graphs need a CUDA GPU."""
    return torch.device(device).type == "cuda" and torch.cuda.is_available()


def round_graph(switches, device, compiled: bool) -> "RoundGraph | None":
    """The ``RoundGraph`` that ``switches.cuda_graphs`` asks for on ``device``, or None (with a
    warning when it was asked for but cannot be had: not a CUDA GPU, or the nets are compiled)."""
    if not switches.cuda_graphs:
        return None
    if not available(device):
        warnings.warn(f"cuda_graphs=True: CUDA graphs are GPU-only (CUDA); on {torch.device(device).type} "
                      "training runs eagerly, with the same numbers", UserWarning, stacklevel=5)
        return None
    if compiled:
        warnings.warn("cuda_graphs=True is left off under compile (torch.compile(mode='reduce-overhead') is "
                      "the compiler's own route to CUDA graphs); training runs compiled, without graphs",
                      UserWarning, stacklevel=5)
        return None
    return RoundGraph()


def _no_check(loss, net):
    return None


def _learning_rates(opt) -> tuple:
    return tuple(group["lr"] for group in opt.param_groups)


def _warm_up(run):
    """``run()`` eagerly on a side stream (what a capture needs first), then back in order."""
    side, current = torch.cuda.Stream(), torch.cuda.current_stream()
    side.wait_stream(current)
    with torch.cuda.stream(side):
        out = run()
    current.wait_stream(side)
    return out


def _capture(run, generator):
    """``run()`` recorded into a CUDA graph, not run. Returns ``replay()``: it runs the recorded
    kernels and returns ``run``'s outputs (the same tensors each time, holding the new values)."""
    graph = torch.cuda.CUDAGraph()
    graph.register_generator_state(generator)  # its draws advance the generator at each replay
    # thread_local: another thread's CUDA work (a plot, a sample) does not break the capture
    with torch.cuda.graph(graph, capture_error_mode="thread_local"):
        outputs = run()

    def replay():
        graph.replay()
        return outputs
    return replay


def check_finite(loss_d, loss_g) -> None:
    """The NaN guard of a replayed round, after it (its update is applied)."""
    losses = [loss for loss in (loss_d, loss_g) if loss is not None]
    if not bool(torch.isfinite(torch.stack(losses)).all()):
        raise NonFiniteLossError(
            f"a loss became non-finite (loss_d={None if loss_d is None else loss_d.item()}, "
            f"loss_g={None if loss_g is None else loss_g.item()}). With cuda_graphs=True the check runs after the "
            "round, so its update was applied and the weights may be non-finite: load a checkpoint (or build "
            "the GAN anew), lower the learning rates and train again.")


class RoundSizes(NamedTuple):
    """What a round's graph is recorded for, besides its players: the batch, the noise sampler, the steps."""
    batch_size: int
    noise: object
    d_steps: int
    g_steps: int


class RoundGraph:
    """One training round, captured as a CUDA graph after an eager warm-up round and replayed.

    ``player(play, generator)`` stands in for ``play`` (``algorithm.alternating_round`` or
    ``simultaneous_round``, same arguments); ``generator`` is the one ``noise`` draws from. Should
    a capture fail (a net that asks the CPU for a value, say), training goes on eagerly, with a
    warning."""

    def __init__(self):
        self.key = self.replay = None
        self.static_reals: list[torch.Tensor] = []
        self.failed = False

    def player(self, play, generator):
        def graphed(G, D, opt_d, opt_g, real_batch, batch_size, noise, d_steps=1, g_steps=1, rules=None):
            if self.failed:
                return play(G, D, opt_d, opt_g, real_batch, batch_size, noise, d_steps, g_steps, rules)
            return self.train_round(play, generator, (G, D, opt_d, opt_g), real_batch,
                                    RoundSizes(batch_size, noise, d_steps, g_steps), rules)
        return graphed

    def release(self) -> None:
        """Forget the graph (its memory is freed with it)."""
        self.key = self.replay = None
        self.static_reals = []

    def train_round(self, play, generator, players, real_batch, sizes, rules):
        """One round of ``play``: replayed when one of its shape is captured, else run eagerly (the
        warm-up) and captured. The sampler runs eagerly, outside the graph: the round's ``d_steps``
        real batches are drawn first. ``players``: (G, D, opt_d, opt_g); ``sizes``: ``RoundSizes``."""
        reals = [real_batch() for _ in range(sizes.d_steps)]
        opt_d, opt_g = players[2:]
        key = (play, *players, *sizes, rules, _learning_rates(opt_d), _learning_rates(opt_g))  # what the graph bakes in
        if key == self.key:
            with torch.no_grad():
                for static, real in zip(self.static_reals, reals):
                    static.copy_(real)
            out = self.replay()
            check_finite(out[0], out[1])
            return out
        self.release()
        out = _warm_up(lambda: play(*players, iter(reals).__next__, *sizes, rules))
        self._capture(play, generator, players, reals, sizes, rules)
        self.key = key if self.replay is not None else None
        return out

    def _capture(self, play, generator, players, reals, sizes, rules) -> None:
        """Record the round into a graph that reads static copies of ``reals``, without the NaN
        guard (``check_finite`` runs after each replay)."""
        statics = [r.detach().clone().requires_grad_(r.requires_grad) for r in reals]
        unchecked = dataclasses.replace(rules, check_d=_no_check, check_g=_no_check)
        try:
            self.replay = _capture(lambda: play(*players, iter(statics).__next__, *sizes, unchecked), generator)
        except RuntimeError as err:
            warnings.warn(f"cuda_graphs: this round could not be captured as a CUDA graph ({err}); training "
                          "goes on eagerly", RuntimeWarning, stacklevel=2)
            self.failed, self.replay = True, None
            return
        self.static_reals = statics

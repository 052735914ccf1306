"""gan_edu.speed.graphs: the ``cuda_graphs`` switch.

On a CPU: the switch warns that CUDA graphs are GPU-only and training is exactly eager. The
round graph's own logic (warm-up round, static real batches, recapture when the round's shape
or a setting changes, the NaN guard after a replay, the fall-back when a capture fails) is
tested on the CPU too, with the CUDA capture replaced by "run the recorded function again".
The tests that capture real CUDA graphs run only where CUDA is.
"""
import warnings

import pytest
import torch

import gan_edu as ge
from gan_edu.speed import graphs
from gan_edu.data import TensorSampler
from gan_edu.options import NonFiniteLossError
from gan_edu.settings import Switches

ROUND_KEYS = ("loss_d", "loss_g", "d_real", "d_fake")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA GPU")


def digits_gan(device="cpu", seed=0, **kw):
    ge.seed_everything(seed)
    G = ge.nets.DCGANGenerator(noise_dim=8, image_size=8, width=8)
    D = ge.nets.DCGANDiscriminator(image_size=8, width=8)
    return ge.GAN(G, D, device=device, lr_d=1e-3, lr_g=1e-3, **kw)


@pytest.fixture(scope="module")
def images():
    return ge.data.digits()[0][:256]


def fit(gan, images, steps, batch_size=32, sampler=None):
    gan.fit(sampler or TensorSampler(images, seed=0), steps=steps, batch_size=batch_size, progress=False)
    return gan


def test_the_switch_is_checked():
    assert Switches().cuda_graphs is False
    with pytest.raises(TypeError, match="cuda_graphs"):
        Switches(cuda_graphs="yes")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU fall-back")
def test_on_a_cpu_the_switch_warns_and_training_is_exactly_eager(images):
    with pytest.warns(UserWarning, match="GPU-only"):
        graphed = digits_gan(cuda_graphs=True)
    assert graphed.round_graph is None
    eager = digits_gan()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning, when built; none while training
        fit(graphed, images, 8)
    fit(eager, images, 8)
    assert {k: graphed.history[k] for k in ROUND_KEYS} == {k: eager.history[k] for k in ROUND_KEYS}


@pytest.fixture
def replayed(monkeypatch):
    """The capture replaced by "replay = run the recorded function again", eagerly, on the CPU;
    returns the list of captures made."""
    captures = []

    def capture(run, generator):
        captures.append(generator)
        return run

    monkeypatch.setattr(graphs, "_warm_up", lambda run: run())
    monkeypatch.setattr(graphs, "_capture", capture)
    return captures


def cpu_graphed(**kw):
    gan = digits_gan(**kw)
    gan.round_graph = graphs.RoundGraph()
    return gan


@pytest.mark.parametrize("kw", [dict(), dict(d_steps=2, r1_weight=1.0), dict(update="simultaneous")],
                         ids=["plain", "two_d_steps_r1", "simultaneous"])
def test_round_graph_logic_gives_eager_numbers(images, replayed, kw):
    graphed, eager = cpu_graphed(**kw), digits_gan(**kw)
    fit(graphed, images, 6)
    fit(eager, images, 6)
    assert len(replayed) == 1 and replayed[0] is graphed.rng   # captured once, with the GAN's generator
    assert {k: graphed.history[k] for k in ROUND_KEYS} == {k: eager.history[k] for k in ROUND_KEYS}


def test_a_changed_setting_or_round_shape_is_captured_anew(images, replayed):
    graphed, eager = cpu_graphed(), digits_gan()
    for gan in (graphed, eager):
        sampler = TensorSampler(images, seed=0)
        fit(gan, images, 3, sampler=sampler)
        gan.set_lr(d=5e-4)
        fit(gan, images, 3, sampler=sampler)
        gan.player_round("D", sampler, 32)
        fit(gan, images, 2, sampler=sampler, batch_size=16)
    assert len(replayed) == 4   # the first round, a new lr, a D-only round, a new batch size
    assert {k: graphed.history[k] for k in ROUND_KEYS} == {k: eager.history[k] for k in ROUND_KEYS}


def test_a_replayed_round_is_checked_for_nan_after_it(images, replayed):
    gan = fit(cpu_graphed(), images, 2)
    with torch.no_grad():
        next(gan.D.parameters()).fill_(float("nan"))
    with pytest.raises(NonFiniteLossError, match="cuda_graphs=True the check runs after"):
        fit(gan, images, 1)


def test_a_capture_that_fails_falls_back_to_eager(images, monkeypatch):
    def fail(run, generator):
        raise RuntimeError("operation not permitted when stream is capturing")

    monkeypatch.setattr(graphs, "_warm_up", lambda run: run())
    monkeypatch.setattr(graphs, "_capture", fail)
    graphed, eager = cpu_graphed(), digits_gan()
    with pytest.warns(RuntimeWarning, match="could not be captured"):
        fit(graphed, images, 4)
    fit(eager, images, 4)
    assert graphed.round_graph.failed
    assert {k: graphed.history[k] for k in ROUND_KEYS} == {k: eager.history[k] for k in ROUND_KEYS}


# ---------------------------------------------------------------------------- on a CUDA GPU
def close_histories(a, b, rtol=1e-4):
    for key in ROUND_KEYS:
        assert a.history[key] == pytest.approx(b.history[key], rel=rtol, abs=1e-6), key


@needs_cuda
@pytest.mark.parametrize("kw", [dict(), dict(d_steps=2, r1_weight=1.0), dict(update="simultaneous")],
                         ids=["plain", "two_d_steps_r1", "simultaneous"])
def test_cuda_graphs_give_eager_numbers_over_20_rounds(images, kw):
    graphed, eager = digits_gan("cuda", cuda_graphs=True, **kw), digits_gan("cuda", **kw)
    assert isinstance(graphed.round_graph, graphs.RoundGraph)
    fit(graphed, images, 20)
    fit(eager, images, 20)
    assert graphed.round_graph.replay is not None and not graphed.round_graph.failed   # 19 rounds replayed
    close_histories(graphed, eager)
    for p, q in zip([*graphed.G.parameters(), *graphed.D.parameters()], [*eager.G.parameters(), *eager.D.parameters()]):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


@needs_cuda
def test_cuda_graphs_capture_bf16_rounds(images):
    """Autocast's weight cache is off (``speed.autocast``), so bf16 rounds can be captured. bf16
    rounds its activations to 8 bits: a last-bit difference in a weight can flip a rounding, so
    only closeness to the eager run's losses is asked."""
    graphed, eager = digits_gan("cuda", cuda_graphs=True, amp="bf16"), digits_gan("cuda", amp="bf16")
    fit(graphed, images, 20)
    fit(eager, images, 20)
    assert graphed.round_graph.replay is not None and not graphed.round_graph.failed
    for key in ROUND_KEYS:
        assert graphed.history[key] == pytest.approx(eager.history[key], abs=5e-2), key


@needs_cuda
def test_cuda_graphs_recapture_after_a_change_and_keep_sampling(images):
    graphed, eager = digits_gan("cuda", cuda_graphs=True), digits_gan("cuda")
    for gan in (graphed, eager):
        sampler = TensorSampler(images, seed=0).to("cuda")
        fit(gan, images, 5, sampler=sampler)
        gan.set_lr(d=5e-4, g=2e-4)
        fit(gan, images, 5, sampler=sampler)
    close_histories(graphed, eager)
    torch.testing.assert_close(graphed.sample(16), eager.sample(16), rtol=1e-4, atol=1e-4)

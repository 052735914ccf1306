"""Spectral normalisation of D (``options.SpectralNorm``, the ``spectral_norm`` setting): each layer's
largest singular value about 1, off by default, saved and loaded, with the other options and switches."""
import math

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from gan_edu import data, nets
from gan_edu.options import SpectralNorm
from gan_edu.train import GAN, NonFiniteLossError
from tests.support import make_gan


def sigma(w: torch.Tensor) -> float:
    """The largest singular value of a weight (a convolution's kernel as the matrix (out, rest))."""
    return torch.linalg.matrix_norm(w.detach().reshape(w.shape[0], -1), ord=2).item()


def state(gan) -> list:
    return [t.clone() for t in [*gan.G.state_dict().values(), *gan.D.state_dict().values()]]


def test_each_layer_s_largest_singular_value_is_about_1_after_training():
    gan = make_gan(spectral_norm=True)
    layers = SpectralNorm.layers(gan.D)
    assert len(layers) == 3 and SpectralNorm.applied(gan.D)
    gan.fit(data.ring(seed=1), 100, 32, progress=False)
    # W / σ(W), σ from the power iteration: a step per pass closes the gap by about (σ₂/σ₁)², slowly
    for m in layers:  # when σ₂ ≈ σ₁ (here 0.87 and 0.90 in the middle layer): within 3%
        assert sigma(m.weight) == pytest.approx(1.0, abs=3e-2)
        original = m.parametrizations.weight.original.detach()  # the weight trained is W itself
        torch.testing.assert_close(m.weight.detach() * sigma(original), original, rtol=3e-2, atol=1e-3)
    assert all(math.isfinite(v) for v in gan.history["loss_d"])


def test_off_by_default_changes_nothing():
    default, off = make_gan(), make_gan(spectral_norm=False)
    assert default.settings()["spectral_norm"] is False and not any(
        parametrize.is_parametrized(m) for m in default.D.modules())
    for gan in (default, off):
        gan.fit(data.ring(seed=1), 10, 16, progress=False)
    assert default.history == off.history and all(torch.equal(a, b) for a, b in zip(state(default), state(off)))


def test_on_it_changes_training_and_leaves_the_global_random_state_alone():
    torch.manual_seed(3)
    expected = torch.rand(3)
    plain = make_gan()
    torch.manual_seed(3)
    G, D = nets.MLPGenerator(2, 2, hidden=16, depth=2), nets.MLPDiscriminator(2, hidden=16, depth=2)
    torch.manual_seed(3)
    sn = GAN(G, D, device="cpu", seed=0, spectral_norm=True)
    assert torch.equal(torch.rand(3), expected)  # u and v drawn from a private copy of the random state
    plain.fit(data.ring(seed=1), 5, 16, progress=False)
    sn.fit(data.ring(seed=1), 5, 16, progress=False)
    assert plain.history["loss_d"] != sn.history["loss_d"]


def test_the_setting_is_checked_and_fixed_at_construction():
    with pytest.raises(TypeError, match="spectral_norm"):
        make_gan(spectral_norm=1)
    gan = make_gan(spectral_norm=True)
    gan.configure(spectral_norm=True)  # its own value: accepted
    with pytest.raises(ValueError, match="spectral_norm is fixed"):
        gan.configure(spectral_norm=False)


def test_a_discriminator_without_layers_to_normalise_is_refused():
    class Bare(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(2, 1))

        def forward(self, x):
            return x @ self.w

    with pytest.raises(ValueError, match="spectral_norm=True needs linear or convolution layers"):
        GAN(nets.MLPGenerator(), Bare(), device="cpu", spectral_norm=True)


def test_applying_twice_changes_nothing_and_convolutions_are_normalised():
    D = nets.DCGANDiscriminator(image_size=8, width=8)
    SpectralNorm()(D, seed=0)
    before = {k: v.clone() for k, v in D.state_dict().items()}
    SpectralNorm()(D, seed=1)
    assert D.state_dict().keys() == before.keys() and all(torch.equal(D.state_dict()[k], v) for k, v in before.items())
    convs = SpectralNorm.layers(D)
    assert len(convs) == 3 and all(isinstance(m, nn.Conv2d) for m in convs)
    up = SpectralNorm()(nn.Sequential(nn.ConvTranspose2d(3, 5, 4)))  # (in, out, ...): normalised along dim 1
    assert up[0].parametrizations.weight[0].dim == 1


def test_a_checkpoint_round_trip_resumes_exactly(tmp_path):
    gan = make_gan(spectral_norm=True, ema=0.9)
    gan.fit(data.ring(seed=1), 8, 16, progress=False)
    path = gan.save(tmp_path / "sn.pt")
    back = GAN.load(path, device="cpu")
    assert back.settings() == gan.settings() and SpectralNorm.applied(back.D)
    assert all(torch.equal(a, b) for a, b in zip(state(gan), state(back)))
    plain_d = nets.MLPDiscriminator(2, hidden=16, depth=2)
    given = GAN.load(path, discriminator=plain_d, device="cpu")  # a plain D given: normalised, then loaded
    for g in (gan, back, given):
        g.fit(data.ring(seed=2), 4, 16, progress=False)
    assert gan.history == back.history == given.history
    assert all(torch.equal(a, b) for a, b in zip(state(gan), state(back)))


@pytest.mark.parametrize("kw", [dict(ema=0.9, pack=2), dict(loss="wasserstein", gp_weight=10.0, d_steps=3),
                                dict(update="simultaneous", r1_weight=1.0), dict(amp=True)],
                         ids=["ema_pack", "wgan_gp", "simultaneous_r1", "bf16"])
def test_it_trains_with_the_other_options(kw):
    gan = make_gan(spectral_norm=True, **kw)
    gan.fit(data.ring(seed=1), 4, 16, progress=False)
    assert all(math.isfinite(v) for v in gan.history["loss_d"] + gan.history["loss_g"])
    assert all(m.weight.dtype == torch.float32 for m in SpectralNorm.layers(gan.D))


def test_normalisation_runs_in_float32_under_autocast(monkeypatch):
    """CUDA's autocast runs torch.mv in bfloat16 (the CPU's does not): emulated here, torch's own
    parametrisation stops at σ = uᵀ W v (vdot of float32 and bfloat16); SpectralNorm's turns autocast off."""
    mv = torch.mv
    monkeypatch.setattr(torch, "mv", lambda a, b: mv(a.bfloat16(), b.bfloat16()) if torch.is_autocast_enabled("cpu")
                        else mv(a, b))
    D = SpectralNorm()(nets.MLPDiscriminator(2, hidden=16, depth=2), seed=0)
    plain = [m.weight.detach().clone() for m in SpectralNorm.layers(D.eval())]  # eval: u, v fixed
    bare = nn.utils.parametrizations.spectral_norm(nn.Linear(3, 4))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert all(torch.equal(m.weight, w) for m, w in zip(SpectralNorm.layers(D), plain))
        assert D.train()(torch.ones(5, 2)).isfinite().all()
        with pytest.raises(RuntimeError, match="same dtype"):
            bare.weight


def test_a_refused_round_puts_the_power_iteration_vectors_back():
    gan = make_gan(spectral_norm=True, d_steps=2)
    gan.fit(data.ring(seed=1), 3, 16, progress=False)
    before, calls = state(gan), []

    def sampler(n):  # the 2nd D step's batch is NaN: the guard refuses it, the 1st D step is undone
        calls.append(n)
        return data.ring(seed=1)(n) * (math.nan if len(calls) == 2 else 1.0)

    with pytest.raises(NonFiniteLossError):
        gan.train_step(sampler, 16)
    assert all(torch.equal(a, b) for a, b in zip(before, state(gan)))  # u and v are D's buffers: restored


def test_compile_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="spectral_norm=True cannot be combined with compile=True"):
        make_gan(spectral_norm=True, compile=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs and CUDA's autocast need a CUDA GPU")
@pytest.mark.parametrize("amp", [False, "bf16"])
def test_on_cuda_graphs_and_bf16_train_as_eager(amp):
    def cuda_gan(**kw):
        torch.manual_seed(0)
        G, D = nets.MLPGenerator(2, 2, hidden=16, depth=2), nets.MLPDiscriminator(2, hidden=16, depth=2)
        return GAN(G, D, device="cuda", seed=0, spectral_norm=True, amp=amp, **kw)

    graphed, eager = cuda_gan(cuda_graphs=True), cuda_gan()
    for gan in (graphed, eager):
        gan.fit(data.ring(seed=1), 20, 32, progress=False)
    assert graphed.round_graph.replay is not None and not graphed.round_graph.failed
    assert graphed.history["loss_d"] == pytest.approx(eager.history["loss_d"], abs=5e-2 if amp else 1e-4)
    assert all(sigma(m.weight) == pytest.approx(1.0, abs=2e-2) for m in SpectralNorm.layers(graphed.D))

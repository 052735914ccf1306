import math
import os
import signal
import threading

import pytest
import torch
from torch import nn

import gan_edu as ge
from gan_edu import data, nets
from gan_edu.train import GAN, NonFiniteLossError


def make_gan(seed=0, **kw):
    ge.seed_everything(seed)
    return GAN(nets.MLPGenerator(2, 2, hidden=16, depth=2), nets.MLPDiscriminator(2, hidden=16, depth=2),
               lr_d=1e-3, lr_g=1e-3, device="cpu", seed=seed, **kw)


def weights(gan):
    return [p.detach().clone() for p in list(gan.G.parameters()) + list(gan.D.parameters())]


def test_fit_records_history_and_sample_shape():
    gan = make_gan()
    hist = gan.fit(data.ring(), steps=5, batch_size=32, progress=False)
    assert hist["step"] == [1, 2, 3, 4, 5] and len(hist["loss_d"]) == 5
    assert all(0 < p < 1 for p in hist["d_real"] + hist["d_fake"])
    assert gan.sample(7).shape == (7, 2)
    assert gan.discriminate(torch.zeros(3, 2)).shape == (3,)


def test_same_seed_same_results():
    runs = []
    for _ in range(2):
        gan = make_gan(seed=3)
        gan.fit(data.ring(seed=3), steps=20, batch_size=32, progress=False)
        runs.append((gan.history["loss_d"], weights(gan)))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))
    other = make_gan(seed=4)
    other.fit(data.ring(seed=4), steps=20, batch_size=32, progress=False)
    assert other.history["loss_d"] != runs[0][0]


def test_d_step_sends_no_gradient_into_g():
    gan = make_gan()
    gan.d_step(data.ring()(16))
    assert all(p.grad is None for p in gan.G.parameters())
    assert all(p.grad is not None for p in gan.D.parameters())


def test_g_step_uses_the_real_label_and_leaves_d_alone():
    gan = make_gan()
    d_before = weights(gan)[len(list(gan.G.parameters())):]
    logits = []
    gan.D.register_forward_hook(lambda m, i, o: logits.append(o.detach()))
    loss = gan.g_step(16)
    # non-saturating: the loss is BCE(D(G(z)), 1) on the logits D produced
    d_fake = torch.sigmoid(logits[-1])
    assert loss.item() == pytest.approx(nn.functional.binary_cross_entropy(d_fake, torch.ones_like(d_fake)).item(), rel=1e-6)
    assert all(p.grad is None for p in gan.D.parameters())
    assert all(torch.equal(a, b) for a, b in zip(d_before, gan.D.parameters()))
    assert all(p.requires_grad for p in gan.D.parameters())  # unfrozen afterwards


def test_g_step_raises_d_of_g():
    """A few G steps against a fixed D make D(G(z)) go up: G learns to fool D."""
    gan = make_gan()
    z = gan.noise(256)
    before = torch.sigmoid(gan.D(gan.G(z))).mean().item()
    for _ in range(20):
        gan.g_step(256)
    after = torch.sigmoid(gan.D(gan.G(z))).mean().item()
    assert after > before


def test_set_lr_applies_at_next_step_and_is_recorded():
    gan = make_gan()
    gan.set_lr(d=0.01)
    assert gan.lr_d == 1e-3  # not yet: only at the step boundary
    gan.fit(data.ring(), 1, 8, progress=False)
    assert gan.lr_d == 0.01 and gan.lr_g == 1e-3
    assert gan.history["events"] == [(0, "lr_d", 0.01)]
    assert gan.history["lr_d"] == [0.01]


def test_set_lr_from_another_thread_while_training():
    gan = make_gan()
    seen = []

    def change():
        gan.set_lr(d=5e-3, g=2e-3)

    def callback(g):
        if g.step == 10:
            t = threading.Thread(target=change)
            t.start()
            t.join()
        seen.append(g.lr_d)

    gan.fit(data.ring(), 20, 8, callbacks=[callback], progress=False)
    assert seen[:10] == [1e-3] * 10 and seen[10:] == [5e-3] * 10
    assert gan.lr_g == 2e-3


def test_configure_other_settings():
    gan = make_gan()
    gan.configure(loss="saturating", d_steps=2, optimizer="sgd")
    gan.fit(data.ring(), 1, 8, progress=False)
    assert gan.loss == "saturating" and gan.d_steps == 2
    assert isinstance(gan.opt_d, torch.optim.SGD) and gan.lr_d == 1e-3
    with pytest.raises(ValueError, match="cannot configure"):
        gan.configure(momentum=0.9)


@pytest.mark.parametrize("bad", [0, -1e-3, math.inf, math.nan])
def test_bad_learning_rates(bad):
    with pytest.raises(ValueError, match="lr_d"):
        GAN(nets.MLPGenerator(), nets.MLPDiscriminator(), lr_d=bad)
    gan = make_gan()
    with pytest.raises(ValueError, match="lr_g"):
        gan.set_lr(g=bad)


def test_learning_rate_of_the_wrong_type():
    with pytest.raises(TypeError, match="lr_g"):
        GAN(nets.MLPGenerator(), nets.MLPDiscriminator(), lr_g="0.001")


def test_unknown_choices_are_clear():
    with pytest.raises(ValueError, match="loss"):
        GAN(nets.MLPGenerator(), nets.MLPDiscriminator(), loss="wasserstein-ish")
    with pytest.raises(ValueError, match="optimizer"):
        GAN(nets.MLPGenerator(), nets.MLPDiscriminator(), optimizer="rmsprop")
    with pytest.raises(ValueError, match="d_steps"):
        GAN(nets.MLPGenerator(), nets.MLPDiscriminator(), d_steps=11)  # 0..10; 0 is valid (see test_ganlab)
    with pytest.raises(TypeError, match="generator"):
        GAN("G", nets.MLPDiscriminator())


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_without_cuda():
    with pytest.raises(ValueError, match="CUDA is not available"):
        GAN(nets.MLPGenerator(), nets.MLPDiscriminator(), device="cuda")


def test_sampler_errors_name_the_problem():
    gan = make_gan()
    with pytest.raises(TypeError, match="torch.Tensor"):
        gan.fit(lambda n: [[0.0, 0.0]] * n, 1, 4, progress=False)
    with pytest.raises(TypeError, match="floating-point"):
        gan.fit(lambda n: torch.zeros(n, 2, dtype=torch.int64), 1, 4, progress=False)
    with pytest.raises(ValueError, match=r"sampler\(4\)"):
        gan.fit(lambda n: torch.zeros(n + 1, 2), 1, 4, progress=False)
    with pytest.raises(TypeError, match="callable"):
        gan.fit(torch.zeros(4, 2), 1, 4, progress=False)
    with pytest.raises(ValueError, match="steps"):
        gan.fit(data.ring(), 0, 4, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        gan.fit(data.ring(), 1, -4, progress=False)
    assert gan.step == 0 and all(p.grad is None for p in gan.G.parameters())


def test_generator_output_shape_mismatch():
    ge.seed_everything(0)
    gan = GAN(nets.MLPGenerator(2, 3), nets.MLPDiscriminator(2), device="cpu")
    with pytest.raises(ValueError, match=r"generator's output shape \(3,\) does not match the data shape \(2,\)"):
        gan.fit(data.ring(), 1, 8, progress=False)


def test_discriminator_that_cannot_take_the_data():
    gan = GAN(nets.MLPGenerator(2, 2), nets.MLPDiscriminator(3), device="cpu")
    with pytest.raises(ValueError, match="discriminator cannot take data"):
        gan.fit(data.ring(), 1, 8, progress=False)


def test_non_finite_loss_stops_with_model_intact():
    gan = make_gan()
    gan.fit(data.ring(), 3, 16, progress=False)
    before = weights(gan)
    with pytest.raises(NonFiniteLossError, match="last finite state"):
        gan.fit(lambda n: torch.full((n, 2), math.nan), 2, 16, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, weights(gan)))
    assert gan.step == 3 and len(gan.history["loss_d"]) == 3
    gan.fit(data.ring(), 2, 16, progress=False)  # and it trains on afterwards
    assert gan.step == 5


def test_exploding_learning_rate_is_caught_before_weights_go_non_finite():
    gan = make_gan(optimizer="sgd")
    gan.set_lr(d=1e30, g=1e30)
    with pytest.raises(NonFiniteLossError):
        gan.fit(data.ring(), 50, 16, progress=False)
    assert all(torch.isfinite(w).all() for w in weights(gan))


def test_interrupt_stops_at_a_step_boundary_and_resumes():
    gan = make_gan()
    handler = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN under nohup / `cmd &`

    def interrupt(g):
        if g.step == 4:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt, match="resume"):
        gan.fit(data.ring(), 10, 16, callbacks=interrupt, progress=False)
    assert gan.step == 4 and len(gan.history["loss_g"]) == 4
    assert signal.getsignal(signal.SIGINT) is handler  # fit put the caller's handler back
    gan.fit(data.ring(), 3, 16, progress=False)
    assert gan.step == 7


def test_save_and_load_round_trip(tmp_path):
    gan = make_gan(loss="saturating")
    s = data.ring()
    gan.fit(s, 10, 16, progress=False)
    gan.set_lr(d=3e-3)
    gan.fit(s, 1, 16, progress=False)
    path = gan.save(tmp_path / "ckpt" / "gan.pt")
    assert [p.name for p in path.parent.iterdir()] == ["gan.pt"]  # no temp file left
    back = GAN.load(path, device="cpu")
    assert back.step == 11 and back.loss == "saturating" and back.lr_d == 3e-3
    assert back.history == gan.history
    assert all(torch.equal(a, b) for a, b in zip(weights(gan), weights(back)))
    # resumes exactly: same next steps from both
    s1, s2 = data.ring(seed=9), data.ring(seed=9)
    gan.fit(s1, 3, 16, progress=False)
    back.fit(s2, 3, 16, progress=False)
    assert gan.history["loss_d"] == back.history["loss_d"]


def test_load_custom_nets_and_bad_files(tmp_path):
    class Tiny(nn.Module):
        noise_dim = 2

        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, z):
            return self.lin(z)

    gan = GAN(Tiny(), nets.MLPDiscriminator(2, hidden=8), device="cpu")
    path = gan.save(tmp_path / "g.pt")
    with pytest.raises(ValueError, match="pass generator="):
        GAN.load(path)
    back = GAN.load(path, generator=Tiny(), device="cpu")
    assert torch.equal(back.G.lin.weight, gan.G.lin.weight)
    with pytest.raises(ValueError, match="do not fit"):
        GAN.load(path, generator=Tiny(), discriminator=nets.MLPDiscriminator(2, hidden=9))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable gan_edu checkpoint"):
        GAN.load(junk)


def test_load_refuses_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "gan_edu/1", "x": Evil()}, path)
    with pytest.raises(ValueError, match="not a readable"):
        GAN.load(path)


def test_dcgan_trains_on_digits():
    x, _ = data.digits()
    ge.seed_everything(0)
    gan = GAN(nets.DCGANGenerator(noise_dim=16, image_size=8, width=8), nets.DCGANDiscriminator(image_size=8, width=8),
              device="cpu")
    gan.fit(data.TensorSampler(x), 3, 32, progress=False)
    assert gan.sample(4).shape == (4, 1, 8, 8)


def test_device_auto_is_a_real_device():
    dev = ge.get_device("auto")
    assert dev.type in ("cuda", "mps", "cpu")
    assert ge.get_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device"):
        ge.get_device("tpu")
    assert "CPU" in ge.describe_device("cpu")

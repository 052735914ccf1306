"""gan_edu.speed: the speed switches of GAN: off by default, applied when on, and the same results (close for bf16)."""
import warnings

import pytest
import torch

import gan_edu as ge
from gan_edu.speed import switches as speed
from gan_edu.data import TensorSampler


def digits_gan(seed=0, **switches):
    ge.seed_everything(seed)
    G = ge.nets.DCGANGenerator(noise_dim=8, image_size=8, width=8)
    D = ge.nets.DCGANDiscriminator(image_size=8, width=8)
    return ge.GAN(G, D, device="cpu", **switches)


@pytest.fixture(scope="module")
def images():
    return ge.data.digits()[0][:256]


def train(gan, images, steps=6, batch_size=32):
    gan.fit(TensorSampler(images, seed=0), steps=steps, batch_size=batch_size, progress=False)
    return gan


def max_param_diff(a, b):
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))


def test_defaults_are_off():
    gan = digits_gan()
    assert gan.amp_dtype is None and gan.channels_last is False
    assert gan.compiled is False and gan.resident_data is False and gan.fused_adam is False
    assert not gan.opt_d.defaults.get("fused") and not gan.opt_g.defaults.get("fused")


def test_bad_switches_raise_clear_errors():
    with pytest.raises(ValueError, match="amp"):
        digits_gan(amp="fp8")
    with pytest.raises(ValueError, match="amp"):
        digits_gan(amp=1)
    with pytest.raises(TypeError, match="channels_last"):
        digits_gan(channels_last="yes")
    with pytest.raises(TypeError, match="resident_data"):
        digits_gan(resident_data=1)
    with pytest.raises(TypeError, match="compile"):
        digits_gan(compile=3)
    with pytest.raises(TypeError, match="fused_adam"):
        digits_gan(fused_adam="yes")


def test_autocast_dtype_rules():
    cpu = torch.device("cpu")
    assert speed.autocast_dtype(False, cpu) is None
    assert speed.autocast_dtype("off", cpu) is None
    assert speed.autocast_dtype("auto", cpu) is None  # bf16 on a CPU is slow: auto leaves it off
    assert speed.autocast_dtype(True, cpu) is torch.bfloat16
    assert speed.autocast_dtype("bf16", cpu) is torch.bfloat16


@pytest.mark.parametrize("capability, expected", [((7, 5), None), ((8, 0), torch.bfloat16), ((9, 0), torch.bfloat16)])
def test_auto_bf16_only_on_gpus_with_native_bf16(monkeypatch, capability, expected):
    # a T4 (7.5) "supports" bf16 by emulation, slowly: "auto" must leave it off there
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert speed.autocast_dtype("auto", torch.device("cuda")) is expected
    assert speed.autocast_dtype(True, torch.device("cuda")) is torch.bfloat16


def test_bf16_on_a_gpu_without_it_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    with pytest.raises(ValueError, match="bfloat16"):
        speed.autocast_dtype("bf16", torch.device("cuda"))


def test_channels_last_is_applied_and_changes_nothing_else(images):
    gan = digits_gan(channels_last=True)
    convs = [m for net in (gan.G, gan.D) for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    seen = []
    gan.D.register_forward_pre_hook(lambda m, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last)))
    train(gan, images)
    assert seen and all(seen)  # real and fake batches reach D as channels_last
    ref = train(digits_gan(), images)
    assert gan.history["loss_d"] == pytest.approx(ref.history["loss_d"], abs=1e-4)
    assert max_param_diff(gan.G, ref.G) < 1e-4


def test_bf16_autocast_is_applied_and_close_to_float32(images):
    gan = digits_gan(amp=True)
    assert gan.amp_dtype is torch.bfloat16
    dtypes = []
    gan.D.net[0].register_forward_hook(lambda m, args, out: dtypes.append(out.dtype))
    train(gan, images)
    assert len(dtypes) > 1 and set(dtypes[1:]) == {torch.bfloat16}  # dtypes[0]: fit's one-off shape check
    assert all(p.dtype == torch.float32 for p in gan.G.parameters())  # weights stay float32
    ref = train(digits_gan(), images)
    assert gan.history["loss_d"] == pytest.approx(ref.history["loss_d"], abs=0.05)
    assert gan.history["loss_g"] == pytest.approx(ref.history["loss_g"], abs=0.05)
    assert gan.sample(4).dtype == torch.float32


def test_nan_guard_still_holds_under_autocast(images):
    gan = digits_gan(amp=True)
    before = [p.clone() for p in gan.D.parameters()]
    with pytest.raises(ge.NonFiniteLossError, match="discriminator"):
        gan.fit(lambda n: torch.full((n, 1, 8, 8), float("nan")), steps=2, batch_size=8, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, gan.D.parameters()))


class RecordingSampler(TensorSampler):
    def to(self, device):
        self.moved_to = torch.device(device)
        return super().to(device)


def test_resident_data_moves_a_tensor_sampler_once_and_changes_nothing(images):
    sampler = RecordingSampler(images, seed=0)
    gan = digits_gan(resident_data=True)
    gan.fit(sampler, steps=4, batch_size=16, progress=False)
    assert sampler.moved_to == gan.device and sampler.data.device.type == gan.device.type
    off = RecordingSampler(images, seed=0)
    ref = digits_gan()
    ref.fit(off, steps=4, batch_size=16, progress=False)
    assert not hasattr(off, "moved_to")  # off: the sampler is left where it is
    assert gan.history["loss_d"] == ref.history["loss_d"]


def test_resident_data_ignores_samplers_that_are_not_tensor_samplers():
    gan = digits_gan(resident_data=True)
    gan.fit(lambda n: torch.rand(n, 1, 8, 8) * 2 - 1, steps=2, batch_size=8, progress=False)
    assert gan.step == 2


def test_fused_adam_is_applied_and_gives_adams_update(images):
    gan = digits_gan(fused_adam=True)
    assert gan.opt_d.defaults["fused"] and gan.opt_g.defaults["fused"]
    train(gan, images)
    ref = train(digits_gan(), images)
    assert gan.history["loss_d"] == pytest.approx(ref.history["loss_d"], abs=1e-4)
    assert max_param_diff(gan.G, ref.G) < 1e-4 and max_param_diff(gan.D, ref.D) < 1e-4
    assert max_param_diff(gan.G, digits_gan().G) > 1e-3  # it did train
    gan.configure(optimizer="sgd")
    train(gan, images, steps=1)
    assert isinstance(gan.opt_d, torch.optim.SGD)
    gan.configure(optimizer="adam")
    train(gan, images, steps=1)
    assert gan.opt_d.defaults["fused"]  # a new Adam after a switch is fused too


def test_a_checkpoint_of_a_fused_adam_gan_loads_as_plain_adam_and_resumes(images, tmp_path):
    gan = train(digits_gan(fused_adam=True), images, steps=2)
    gan.save(tmp_path / "fused.pt")
    loaded = ge.GAN.load(tmp_path / "fused.pt", device="cpu")
    assert loaded.fused_adam is False  # speed switches are not part of a checkpoint
    assert not any(g.get("fused") for opt in (loaded.opt_d, loaded.opt_g) for g in opt.param_groups)
    assert loaded.opt_d.state_dict()["state"][0]["exp_avg"].equal(gan.opt_d.state_dict()["state"][0]["exp_avg"])
    train(loaded, images, steps=2)
    assert loaded.step == 4


def test_fused_adam_falls_back_with_a_warning_where_unavailable(images, monkeypatch):
    plain_adam = torch.optim.Adam

    def adam_without_fused(*args, fused=None, **kwargs):
        if fused:
            raise RuntimeError("`fused=True` requires all the params to be on a supported device")
        return plain_adam(*args, **kwargs)

    monkeypatch.setattr(torch.optim, "Adam", adam_without_fused)
    with pytest.warns(RuntimeWarning, match="fused Adam is not available"):
        gan = digits_gan(fused_adam=True)
    assert isinstance(gan.opt_d, plain_adam) and not gan.opt_d.defaults.get("fused")
    train(gan, images, steps=2)
    assert gan.step == 2


def test_compile_runs_and_matches_eager(images):
    # aot_eager traces and runs the compiled graphs without generating code: fast and exact
    gan = digits_gan(compile="aot_eager")
    assert gan.compiled
    train(gan, images, steps=3)
    ref = train(digits_gan(), images, steps=3)
    assert gan.history["loss_d"] == pytest.approx(ref.history["loss_d"], abs=1e-5)
    assert max_param_diff(gan.D, ref.D) < 1e-5
    assert set(gan.G.state_dict()) == set(ref.G.state_dict())  # checkpoints keep their keys


def test_compile_falls_back_when_unavailable(images, monkeypatch):
    monkeypatch.setattr(speed, "compile_available", lambda: False)
    with pytest.warns(RuntimeWarning, match="torch.compile is not available"):
        gan = digits_gan(compile=True)
    assert gan.compiled is False
    train(gan, images, steps=2)
    assert gan.step == 2


def test_compile_falls_back_when_compiling_fails(images):
    from torch._dynamo import register_backend

    @register_backend(name="gan_edu_test_broken")
    def broken(gm, example_inputs):
        raise RuntimeError("this backend cannot compile")

    gan = digits_gan(compile="gan_edu_test_broken")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(gan, images, steps=3)
        assert gan.sample(5).shape == (5, 1, 8, 8)  # sampling (another graph) falls back too
    ref = train(digits_gan(), images, steps=3)
    assert gan.history["loss_d"] == pytest.approx(ref.history["loss_d"], abs=1e-6)


def test_larger_batches_are_just_a_batch_size(images):
    gan = train(digits_gan(), images, steps=2, batch_size=256)
    assert gan.step == 2 and len(gan.history["loss_d"]) == 2


def test_best_switches_on_the_cpu_leave_bf16_and_compile_off():
    best = speed.best_switches("cpu")
    assert best.get("amp", False) is False and not best.get("compile", False)
    assert digits_gan(**best).amp_dtype is None


def test_best_switches_on_a_gpu_are_resident_data_only():
    # measured on an H200 (benchmarks/RESULTS.md): none of bf16, channels_last and compile made
    # these small nets faster there
    assert speed.best_switches("cuda") == dict(resident_data=True)


def test_channels_last_is_left_off_under_compile_where_the_pair_fails(images, monkeypatch):
    assert speed.channels_last_compiles("cpu") and not speed.channels_last_compiles("cuda")
    monkeypatch.setattr(speed, "channels_last_compiles", lambda device: False)  # as on a GPU
    with pytest.warns(RuntimeWarning, match="channels_last is left off"):
        gan = digits_gan(channels_last=True, compile="aot_eager")
    assert gan.compiled and gan.channels_last is False
    assert not any(m.weight.is_contiguous(memory_format=torch.channels_last) and not m.weight.is_contiguous()
                   for m in gan.D.modules() if isinstance(m, torch.nn.Conv2d))
    train(gan, images, steps=2)
    assert gan.step == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert digits_gan(channels_last=True).channels_last  # each switch alone is kept
        assert digits_gan(compile="aot_eager").compiled


def test_steps_per_second_trains_and_times(images):
    gan = digits_gan(**speed.best_switches("cpu"))
    rate = speed.steps_per_second(gan, TensorSampler(images), steps=3, batch_size=16, warmup=1)
    assert rate > 0 and gan.step == 4


def test_speed_table_gives_images_per_second_against_the_first_row():
    from gan_edu.speed import speed_table

    text = speed_table([("all off", 128, 10.0), ("large batch", 512, 5.0)])
    assert "1280" in text and "2560" in text and "2.00x" in text and text.count("\n") == 2

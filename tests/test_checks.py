"""gan_edu.checks: every public argument is checked up front, with an error that names it.

Property-based (hypothesis) tests draw hostile values for each argument; the table below holds
the cases found by hand (issue 19): each must raise TypeError or ValueError naming what was
wrong, before any training happens, and leave the GAN as it was."""
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import gan_edu as ge
from gan_edu import checkpoint, data, losses, metrics, nets, plots
from gan_edu.experiments import recipes
from gan_edu.checks import MAX_LR, MAX_SEED

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
anything = st.one_of(st.none(), st.booleans(), st.integers(-2**80, 2**80), st.floats(allow_nan=True, allow_infinity=True),
                     st.text(max_size=5), st.lists(st.integers(), max_size=3), st.just(object()))


def small_gan(**kw):
    torch.manual_seed(0)
    return ge.GAN(nets.MLPGenerator(2, 2, hidden=8, depth=1), nets.MLPDiscriminator(2, hidden=8, depth=1),
                  device="cpu", **kw)


def named_error(fn, *names):
    """``fn()`` raises TypeError or ValueError whose message names one of ``names``."""
    with pytest.raises((TypeError, ValueError)) as info:
        fn()
    assert any(n in str(info.value) for n in names), str(info.value)


@FAST
@given(anything)
def test_learning_rates(value):
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and 0 < value <= MAX_LR)
    if ok:
        assert small_gan(lr_d=value).lr_d == float(value)
    else:
        named_error(lambda: small_gan(lr_d=value), "lr_d")


@FAST
@given(anything)
def test_seeds(value):
    ok = value is None or (not isinstance(value, bool) and isinstance(value, int) and 0 <= value <= MAX_SEED)
    if ok:
        small_gan(seed=value)
    else:
        named_error(lambda: small_gan(seed=value), "seed")
        if value is not None:
            named_error(lambda: ge.seed_everything(value), "seed")


@FAST
@given(st.sampled_from(["d_steps", "g_steps", "pack", "smoothing", "ema", "gp_weight", "r1_weight", "loss",
                        "optimizer", "noise", "update", "label_smoothing", "betas"]), anything)
def test_every_setting_is_checked_by_name(name, value):
    try:
        gan = small_gan(**{name: value})
    except (TypeError, ValueError) as err:
        assert name in str(err) or "both be 0" in str(err), str(err)
    else:  # accepted: the GAN holds it, and it survives the JSON form
        assert gan.settings()[name] == ge.settings.Settings(**{name: value}).to_json()[name]


@FAST
@given(anything)
def test_fit_and_sample_sizes(value):
    gan = small_gan()
    before = [p.clone() for p in gan.G.parameters()]
    ok = not isinstance(value, bool) and isinstance(value, int) and 1 <= value <= 64
    if ok:
        gan.sample(value)
        return
    if isinstance(value, int) and not isinstance(value, bool) and value > 64:
        return  # a large but possible size: not a mistake
    named_error(lambda: gan.fit(data.ring(), 2, value, progress=False), "batch_size")
    named_error(lambda: gan.sample(value), "n")
    assert gan.step == 0 and all(torch.equal(p, q) for p, q in zip(gan.G.parameters(), before))


@FAST
@given(st.one_of(st.integers(-3, 10), anything), st.floats(allow_nan=True, allow_infinity=True, width=32),
       st.floats(allow_nan=True, allow_infinity=True, width=32))
def test_ring_samples_are_finite_or_refused(k, radius, std):
    try:
        ring = data.ring(k=k, radius=radius, std=std)
    except (TypeError, ValueError) as err:
        assert any(n in str(err) for n in ("k", "radius", "std")), str(err)
    else:
        x = ring(16)
        assert x.shape == (16, 2) and torch.isfinite(x).all() and len(ring.modes) == k


@FAST
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=5))
def test_value_function_takes_probabilities_only(values):
    p = torch.tensor(values)
    if ((p >= 0) & (p <= 1)).all():
        losses.value_function(p, p)
    else:
        named_error(lambda: losses.value_function(p, torch.full_like(p, 0.5)), "d_real")


extras = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**60, 2**60), st.floats(allow_nan=False),
                                st.text(max_size=4)),
                      lambda inner: st.one_of(st.lists(inner, max_size=3),
                                              st.dictionaries(st.text(min_size=1, max_size=4), inner, max_size=3)),
                      max_leaves=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extras)
def test_extra_entries_come_back_exactly(tmp_path, value):
    gan = small_gan()
    path = gan.save(tmp_path / "g.pt", extra={"mine": value})
    assert checkpoint.safe_load(path)["mine"] == value
    ge.GAN.load(path)  # the checksum covers the extra entries too


class NoiseDim3(nn.Module):
    noise_dim = 3

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(2, 2)

    def forward(self, z):
        return self.layer(z)


class TupleD(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(2, 1)

    def forward(self, x):
        return (self.layer(x),)


def G():
    return nets.MLPGenerator(2, 2, hidden=8, depth=1)


def D():
    return nets.MLPDiscriminator(2, hidden=8, depth=1)


HAND = {  # issue 19's examples: (call, the words its error must contain)
    "seed text": (lambda p: small_gan(seed="abc"), "seed"),
    "seed 2**70": (lambda p: small_gan(seed=2**70), "seed"),
    "seed_everything(-1)": (lambda p: ge.seed_everything(-1), "seed"),
    "lr_d 1e39": (lambda p: small_gan(lr_d=1e39), "lr_d"),
    "device meta": (lambda p: ge.GAN(G(), D(), device="meta"), "device"),
    "batch 10**12": (lambda p: small_gan().fit(data.ring(), 2, 10**12, progress=False), "batch_size"),
    "sample 10**12": (lambda p: small_gan().sample(10**12), "n=1000000000000"),
    "noise_dim mismatch": (lambda p: ge.GAN(NoiseDim3(), D(), device="cpu"), "noise_dim"),
    "float64 net": (lambda p: ge.GAN(G().double(), D(), device="cpu"), "float64"),
    "D returns a tuple": (lambda p: ge.GAN(G(), TupleD(), device="cpu").fit(data.ring(), 2, 8, progress=False),
                          "tensor"),
    "G too wide, d_steps=0": (lambda p: ge.GAN(nets.MLPGenerator(2, 3, hidden=8, depth=1), D(), d_steps=0,
                                               device="cpu").fit(data.ring(), 2, 8, progress=False), "generator's output"),
    "callbacks=5": (lambda p: small_gan().fit(data.ring(), 2, 8, callbacks=5, progress=False), "callbacks"),
    "sample z shape": (lambda p: small_gan().sample(z=torch.zeros(3)), "z must have shape"),
    "sample z text": (lambda p: small_gan().sample(z="zz"), "z"),
    "discriminate shape": (lambda p: small_gan().discriminate(torch.zeros(3, 5)), "x must have shape"),
    "extra history": (lambda p: small_gan().save(p / "a.pt", extra={"history": 1}), "history"),
    "extra format": (lambda p: small_gan().save(p / "a.pt", extra={"format": "mine"}), "format"),
    "extra object": (lambda p: small_gan().save(p / "a.pt", extra={"obj": object()}), "extra['obj']"),
    "load without nets": (lambda p: (torch.save({"format": "gan_edu/1"}, p / "m.pt"), ge.GAN.load(p / "m.pt")), "nets"),
    "load generator='x'": (lambda p: ge.GAN.load(small_gan().save(p / "g.pt"), generator="x"), "generator"),
    "ring k=2.5": (lambda p: data.ring(k=2.5), "k"),
    "ring k=0": (lambda p: data.ring(k=0), "k"),
    "ring std=inf": (lambda p: data.ring(std=math.inf), "std"),
    "ring radius=nan": (lambda p: data.ring(radius=math.nan), "radius"),
    "empty TensorSampler": (lambda p: data.TensorSampler(torch.empty(0, 2)), "at least one"),
    "value_function(1.5)": (lambda p: losses.value_function(torch.tensor([1.5]), torch.tensor([0.5])), "d_real"),
    "mode_coverage std -1": (lambda p: metrics.mode_coverage(torch.zeros(4, 2), data.ring().modes, -1.0), "std"),
    "recipes.train on a name": (lambda p: recipes.train("vanilla", "ring"), "TASKS"),
    "image_grid nrow=0": (lambda p: plots.image_grid(torch.zeros(2, 1, 8, 8), nrow=0), "nrow"),
    "LiveTrainer fps=True": (lambda p: ge.live.LiveTrainer(fps=True), "fps"),
    "LiveTrainer betas=5": (lambda p: ge.live.LiveTrainer(betas=5), "betas"),
    "LiveTrainer settings text": (lambda p: ge.live.LiveTrainer(settings="not json"), "JSON"),
}


@pytest.mark.parametrize("case", list(HAND))
def test_hand_found_cases_get_a_named_error(case, tmp_path):
    call, words = HAND[case]
    named_error(lambda: call(tmp_path), words)


def test_idx_files_missing_or_with_an_overflowing_header(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.read_idx(tmp_path / "missing.gz")
    path = tmp_path / "big.idx"
    path.write_bytes(bytes([0, 0, 8, 2]) + (2**31).to_bytes(4, "big") + (2**31).to_bytes(4, "big") + b"\0" * 8)
    with pytest.raises(ValueError, match="truncated or corrupted"):
        data.read_idx(path)


def flip_weight_bytes(path, out):
    """A copy of the checkpoint ``path`` at ``out`` with 8 bytes of a saved weight changed."""
    import struct
    import zipfile

    info = next(i for i in zipfile.ZipFile(path).infolist() if i.filename.endswith("data/2"))
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26: info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    raw[start: start + 8] = bytes(8) if raw[start: start + 8] != bytes(8) else b"\1" * 8
    out.write_bytes(raw)
    return out


def test_a_flipped_byte_in_a_saved_weight_is_caught(tmp_path):
    path = small_gan().save(tmp_path / "g.pt")
    with pytest.raises(ValueError, match="bad.pt is damaged"):
        ge.GAN.load(flip_weight_bytes(path, tmp_path / "bad.pt"))
    session = ge.live.LiveTrainer(hidden=8, depth=1, batch_size=16).save(tmp_path / "s.pt")
    with pytest.raises(ValueError, match="bad_session.pt is damaged"):
        ge.live.LiveTrainer.load(flip_weight_bytes(session, tmp_path / "bad_session.pt"))
    assert ge.GAN.load(path).step == 0  # the file as saved loads


def test_numpy_inputs_are_taken_as_tensors():
    gan = small_gan()
    assert gan.sample(z=np.zeros((3, 2))).shape == (3, 2)
    assert gan.discriminate(np.zeros((3, 2))).shape == (3,)

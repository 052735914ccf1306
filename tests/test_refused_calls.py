"""Issue 27, item 5: a refused call leaves everything as it was, with an error that names the argument.

For each public entry point that takes a user's arguments, hypothesis draws hostile values. A call
that is refused must raise TypeError or ValueError from the package's own check, with a message
naming the argument (never an error from deep inside torch or NumPy); every object it was given,
and the object it is a method of, must be exactly as before; and a following good call must work.
The ``@example`` cases are the ones found by hand (issue 27)."""
import contextlib
import copy
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from torch import nn

import gan_edu as ge
from gan_edu import data, losses, nets
from gan_edu.experiments import dirac, recipes
from gan_edu.live import LiveTrainer
from gan_edu.live.settings import ARCH, CONTROLS, SETTINGS_KEYS
from gan_edu.options import NonFiniteLossError
from gan_edu.settings import Settings, Switches

FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
anything = st.one_of(st.none(), st.booleans(), st.integers(-2**80, 2**80),  # as in test_checks
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5),
                     st.lists(st.integers(), max_size=3), st.just(object()))
not_numbers = st.one_of(st.none(), st.text(min_size=1, max_size=3), st.just(object()), st.just(["a", 1.0]),
                        st.just([[1.0], [2.0, 3.0]]), st.just({}))


def refused(call, *names) -> bool:
    """Call ``call()``: True if it raised TypeError or ValueError naming one of ``names`` (any other
    error, or one that names none of them, fails the test), False if it was accepted."""
    try:
        call()
    except (TypeError, ValueError) as err:
        assert any(n in str(err) for n in names), f"{type(err).__name__} names none of {names}: {err}"
        return True
    return False


def must_refuse(call, *names) -> None:
    assert refused(call, *names), f"accepted, but it should be refused naming {names}"


def same(a, b) -> bool:
    """Deep equality of snapshots: tensors and arrays element by element (NaN equal to NaN)."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and a.dtype == b.dtype and bool(
            torch.equal(a, b) or (a.is_floating_point() and torch.allclose(a, b, rtol=0, atol=0, equal_nan=True)))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def net_state(net: nn.Module) -> dict:
    return copy.deepcopy(dict(weights=net.state_dict(), training=net.training,
                              devices={p.device.type for p in net.parameters()}))


def gan_state(gan) -> dict:
    """Everything a GAN holds that a call could change."""
    return copy.deepcopy(dict(G=net_state(gan.G), D=net_state(gan.D), opt_d=gan.opt_d.state_dict(),
                              opt_g=gan.opt_g.state_dict(), settings=gan.settings(), pending=gan.pending,
                              step=gan.step, history=gan.history, rng=gan.rng.get_state()))


def trainer_state(t) -> dict:
    """Everything a LiveTrainer holds that a call could change (its GAN the very same object)."""
    return copy.deepcopy(dict(settings=t.settings(), running=t.running, gan=id(t.gan), gan_state=gan_state(t.gan),
                              sampler=id(t.sampler), sampler_rng=t.sampler.generator.get_state(),
                              batch_size=t.batch_size, coverage=t.coverage, panels=t.panels))


def small_nets():
    torch.manual_seed(0)
    return nets.MLPGenerator(2, 2, hidden=8, depth=1), nets.MLPDiscriminator(2, hidden=8, depth=1)


def small_gan():
    return ge.GAN(*small_nets(), device="cpu", lr_d=1e-3, lr_g=1e-3)


@pytest.fixture(scope="module")
def gan():
    return small_gan()


@pytest.fixture(scope="module")
def live():
    """One trainer for all examples: a refused call must leave it usable for the next."""
    t = LiveTrainer(hidden=8, depth=1, batch_size=16, seed=3)
    t.base_settings = t.settings()  # what an accepted call's example puts back (a large lr may diverge)
    yield t
    t.close()


def trains(gan) -> None:
    """A good call after the refused one works."""
    step = gan.step
    gan.fit(data.ring(), 2, 8, progress=False)
    assert gan.step == step + 2


def still_runs(trainer) -> None:
    """After an accepted call the trainer still trains (a large learning rate may diverge: a
    legitimate end, not a refusal left for later), then is put back to the set-up it started with."""
    with contextlib.suppress(NonFiniteLossError):
        trainer.run(1)
    trainer.apply_settings(trainer.base_settings)


# ---------------------------------------------------------------------------- GAN
SETTING_NAMES = [f for f in Settings.__dataclass_fields__] + [f for f in Switches.__dataclass_fields__]


@FAST
@given(st.sampled_from(SETTING_NAMES + ["device"]), anything)
def test_a_refused_gan_leaves_the_nets_it_was_given_as_they_were(name, value):
    assume(not (name == "compile" and (value is True or isinstance(value, str))))  # compiles G and D in place: slow
    G, D = small_nets()
    before = net_state(G), net_state(D)
    if refused(lambda: ge.GAN(G, D, **{"device": "cpu", name: value}), name, "both be 0"):
        assert same((net_state(G), net_state(D)), before)
        trains(ge.GAN(G, D, device="cpu"))


BAD_SAMPLERS = {
    "meta": lambda n: torch.zeros(n, 2, device="meta"),  # issue 27: "Cannot copy out of meta tensor" from torch
    "text": lambda n: "ring",
    "integers": lambda n: torch.zeros(n, 2, dtype=torch.int64),
    "one too many": lambda n: torch.zeros(n + 1, 2),
    "flat": lambda n: torch.zeros(n),
}


@FAST
@given(st.sampled_from(sorted(BAD_SAMPLERS)), st.one_of(st.just(8), anything), st.one_of(st.just(2), anything))
@example("meta", 8, 2)
def test_a_refused_fit_leaves_the_gan_as_it_was(gan, sampler, batch_size, steps):
    before = gan_state(gan)
    must_refuse(lambda: gan.fit(BAD_SAMPLERS[sampler], steps, batch_size, progress=False),
                "sampler", "batch_size", "steps")
    assert same(gan_state(gan), before)
    trains(gan)


@FAST
@given(st.dictionaries(st.sampled_from(list(Settings.__dataclass_fields__) + ["lr", "bogus"]), anything,
                       min_size=1, max_size=3))
def test_a_refused_configure_leaves_the_gan_as_it_was(changes):
    gan = small_gan()
    gan.fit(data.ring(), 1, 8, progress=False)  # optimizer state and history to keep
    before = gan_state(gan)
    if refused(lambda: gan.configure(**changes), *changes, "both be 0"):
        assert same(gan_state(gan), before)
        trains(gan)


@FAST
@given(anything, anything)
def test_a_refused_set_lr_leaves_the_gan_as_it_was(d, g):
    gan = small_gan()
    gan.fit(data.ring(), 1, 8, progress=False)
    before = gan_state(gan)
    if refused(lambda: gan.set_lr(d=d, g=g), "lr_d", "lr_g"):
        assert same(gan_state(gan), before)
        trains(gan)


bad_paths = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.just(object()), st.just(["a.pt"]),
                      st.just(""), st.just("FOLDER"))


@FAST
@given(bad_paths)
@example(None)  # issue 27: "expected str, bytes or os.PathLike object, not NoneType" from inside pathlib
@example("FOLDER")  # IsADirectoryError from os.replace, after the whole file was written
def test_a_refused_save_or_load_writes_nothing_and_changes_nothing(gan, live, tmp_path, path):
    folder = tmp_path / "runs"
    folder.mkdir(exist_ok=True)
    path = folder if path == "FOLDER" else path
    before, before_live = gan_state(gan), trainer_state(live)
    must_refuse(lambda: gan.save(path), "path")
    must_refuse(lambda: live.save(path), "path")
    must_refuse(lambda: ge.GAN.load(path), "path")
    must_refuse(lambda: LiveTrainer.load(path), "path")
    assert list(folder.iterdir()) == []  # no file, and no temporary file, left behind
    assert same(gan_state(gan), before) and same(trainer_state(live), before_live)
    assert ge.GAN.load(gan.save(folder / "g.pt")).step == gan.step  # a good path works
    (folder / "g.pt").unlink()


# ---------------------------------------------------------------------------- LiveTrainer
def live_values(key):
    """Hostile values for a LiveTrainer setting. No large valid size for the nets (it is not a mistake,
    only slow to build), nor a large batch that fits in memory (slow to run); a batch of 2**40 and
    more does not fit and must be refused when it is set, not at the next run."""
    if key in ARCH:
        return anything.filter(lambda v: isinstance(v, bool) or not isinstance(v, int) or v <= 64)
    if key == "batch_size":
        return anything.filter(lambda v: isinstance(v, bool) or not isinstance(v, int) or not 64 < v < 2**40)
    return anything


settings_dicts = st.lists(st.sampled_from(SETTINGS_KEYS).flatmap(lambda k: st.tuples(st.just(k), live_values(k))),
                          min_size=1, max_size=3).map(dict)


@FAST
@given(settings_dicts)
@example({"seed": "x"})  # issue 27: not an integer
@example({"seed": None})  # taken, then a TypeError from seed_everything after the trainer was paused
@example({"seed": 1.5, "hidden": 16})
@example({"lr_d": 5e-3, "panels": {"nope": True}})  # lr_d was applied, then panels refused
@example({"lr_g": 5e-3, "panels": 5})  # lr_g was applied, then a TypeError from inside Python's ** unpacking
@example({"batch_size": 2**41, "seed": 4})  # taken, then every run refused it
def test_a_refused_apply_settings_leaves_the_trainer_as_it_was(live, new):
    before = trainer_state(live)
    if refused(lambda: live.apply_settings(new), *new, "both be 0"):
        assert same(trainer_state(live), before)
        step = live.gan.step
        assert live.run(2)["step"][-1] == step + 2
    else:
        still_runs(live)


def test_a_refused_apply_settings_leaves_a_running_trainer_running(live):
    live.start()
    try:
        gan, settings = live.gan, live.settings()
        for bad in ({"seed": "x"}, {"seed": None}, {"seed": -1, "data": "grid"}, {"hidden": 0},
                    {"lr_d": 5e-3, "panels": {"nope": True}}):
            must_refuse(lambda: live.apply_settings(bad), *bad)
            assert live.running and live.gan is gan and live.settings() == settings, bad
    finally:
        live.pause()


@FAST
@given(st.lists(st.sampled_from(list(CONTROLS) + ["bogus", "seed"]).flatmap(
    lambda k: st.tuples(st.just(k), live_values(k))), min_size=1, max_size=3).map(dict))
@example({"batch_size": 2**41})  # issue 27: taken, then every run refused it
def test_a_refused_set_leaves_the_trainer_as_it_was(live, changes):
    before = trainer_state(live)
    if refused(lambda: live.set(**changes), *changes, "both be 0"):
        assert same(trainer_state(live), before)
        live.run(2)
    else:
        still_runs(live)


@FAST
@given(anything, st.one_of(st.none(), anything))
def test_a_refused_run_leaves_the_trainer_as_it_was(live, steps, every):
    before = trainer_state(live)
    if isinstance(steps, int) and not isinstance(steps, bool) and steps > 3:
        steps = -steps  # a long run is not a mistake: make it one
    if refused(lambda: live.run(steps, every), "steps", "metrics_every"):
        assert same(trainer_state(live), before)
        live.run(2)


# ---------------------------------------------------------------------------- data
@FAST
@given(st.sampled_from(["ring", "grid", "moons", "spiral", "gaussian1d", "points"]),
       anything.filter(lambda n: isinstance(n, bool) or not isinstance(n, int) or n <= 0))
def test_a_refused_sampler_call_draws_nothing(kind, n):
    sampler = {"ring": data.ring, "grid": data.grid, "moons": data.TwoMoons, "spiral": data.Spiral,
               "gaussian1d": data.Gaussian1D, "points": lambda: data.PointCloud([[0.0, 1.0], [1.0, 0.0]])}[kind]()
    rng = sampler.generator.get_state()
    must_refuse(lambda: sampler(n), "n")
    assert torch.equal(sampler.generator.get_state(), rng)
    assert sampler(4).shape[0] == 4


MNIST_TRAIN = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
lacking_tables = st.sets(st.sampled_from(sorted(data.MNIST_FILES))).filter(lambda s: not set(MNIST_TRAIN) <= s).map(
    lambda s: {name: data.MNIST_FILES[name] for name in s})


@FAST
@given(st.one_of(lacking_tables, anything.filter(lambda v: v is not None)))
@example({})  # issue 27: a KeyError
@example({"train-images-idx3-ubyte.gz": data.MNIST_FILES["train-images-idx3-ubyte.gz"]})
def test_mnist_refuses_a_checksum_table_that_lacks_a_file_before_touching_the_disk(tmp_path, checksums):
    root, mirror = tmp_path / "cache", tmp_path / "mirror"
    given = copy.deepcopy(checksums) if isinstance(checksums, dict) else checksums
    must_refuse(lambda: data.mnist(root, "train", mirrors=(mirror.as_uri() + "/",), checksums=checksums), "checksums")
    assert not root.exists()  # no folder made
    assert not isinstance(checksums, dict) or checksums == given


# ---------------------------------------------------------------------------- losses
LOGIT_PAIRS = {  # sample means over real and over fake data: the two batches may differ in size
    "discriminator_loss": (losses.discriminator_loss, ("real_logits", "fake_logits")),
    "lsgan_discriminator_loss": (losses.lsgan_discriminator_loss, ("real_out", "fake_out")),
    "wasserstein_critic_loss": (losses.wasserstein_critic_loss, ("real_out", "fake_out")),
    "value_function": (losses.value_function, ("d_real", "d_fake")),
}
ONE_BATCH = {
    "generator_loss": (lambda a: losses.generator_loss(a, "saturating"), "fake_logits"),
    "lsgan_generator_loss": (losses.lsgan_generator_loss, "fake_out"),
    "wasserstein_generator_loss": (losses.wasserstein_generator_loss, "fake_out"),
}
ON_ONE_GRID = {  # paired point by point: the same grid, so the same shape
    "bce": (losses.bce, ("p", "y")),
    "optimal_discriminator": (losses.optimal_discriminator, ("p_data", "p_g")),
    "kl_divergence": (lambda a, b: losses.kl_divergence(a, b, 0.1), ("p", "q")),
    "jensen_shannon": (lambda a, b: losses.jensen_shannon(a, b, 0.1), ("p", "q")),
    "virtual_training_criterion": (lambda a, b: losses.virtual_training_criterion(a, b, 0.1), ("p_data", "p_g")),
    "value_function_on_grid": (lambda a, b: losses.value_function_on_grid(a, b, b, 0.1), ("d", "p_data")),
    "generator_objective_on_grid": (lambda a, b: losses.generator_objective_on_grid(a, b, 0.1), ("d", "p_g")),
    "optimal_generator_objective": (lambda a, b: losses.optimal_generator_objective(a, b, 0.1), ("p_data", "p_g")),
    "gradient_penalty": (lambda a, b: losses.gradient_penalty(lambda x: 3 * x, a, b), ("real", "fake")),
}
probabilities = st.lists(st.floats(0.05, 0.95), min_size=1, max_size=4)


@FAST
@given(st.sampled_from(sorted(LOGIT_PAIRS) + sorted(ON_ONE_GRID) + sorted(ONE_BATCH)),
       st.one_of(not_numbers, st.just([])), probabilities)
@example("discriminator_loss", "logits", [0.5])
@example("kl_divergence", ["a"], [0.5])
@example("value_function", [], [0.5])
def test_a_loss_given_something_that_is_not_numbers_names_it(name, bad, good):
    kept = list(good)
    if name in ONE_BATCH:
        fn, arg = ONE_BATCH[name]
        must_refuse(lambda: fn(bad), arg)
        return
    fn, (first, second) = {**LOGIT_PAIRS, **ON_ONE_GRID}[name]
    must_refuse(lambda: fn(bad, good), first)
    must_refuse(lambda: fn(good, bad), second)
    assert good == kept


@FAST
@given(st.sampled_from(sorted(ON_ONE_GRID)), probabilities, probabilities)
@example("kl_divergence", [0.5, 0.2], [0.5])  # issue 27: broadcast, a wrong number without a word
@example("jensen_shannon", [0.5, 0.2, 0.3], [0.5, 0.1])  # NumPy's "could not be broadcast"
@example("bce", [0.5, 0.2, 0.3], [0.5, 0.1])  # torch's "The size of tensor a (2) must match"
def test_values_paired_point_by_point_must_have_one_shape(name, a, b):
    fn, names = ON_ONE_GRID[name]
    if len(a) == len(b) or (name == "bce" and len(b) == 1):  # one grid (bce: or one label for all)
        fn(a, b)
    else:
        must_refuse(lambda: fn(a, b), *names)


def test_bce_refuses_labels_that_would_broadcast_to_a_square():
    p, y = torch.full((4, 1), 0.5), torch.ones(4)  # (4, 1) against (4,): 16 pairs, not 4
    must_refuse(lambda: losses.bce(p, y), "y")


@FAST
@given(st.sampled_from(sorted(LOGIT_PAIRS) + sorted(ONE_BATCH)), probabilities, probabilities)
@example("discriminator_loss", [0.5, 0.2], [0.5, 0.1])  # issue 27: "bad operand type for unary -: 'list'"
@example("wasserstein_critic_loss", [0.5, 0.2], [0.5])  # "'list' object has no attribute 'mean'"
def test_the_losses_take_lists_as_tensors_and_batches_of_two_sizes(name, a, b):
    if name in ONE_BATCH:
        fn = ONE_BATCH[name][0]
        torch.testing.assert_close(fn(a), fn(torch.tensor(a)))
    else:
        fn = LOGIT_PAIRS[name][0]
        torch.testing.assert_close(fn(a, b), fn(torch.tensor(a), torch.tensor(b)))


@FAST
@given(st.sampled_from(["kl_divergence", "jensen_shannon", "virtual_training_criterion", "value_function_on_grid",
                        "generator_objective_on_grid", "optimal_generator_objective"]), anything)
@example("kl_divergence", "0.1")
@example("jensen_shannon", -0.1)  # a negative divergence, without a word
def test_a_grid_spacing_must_be_a_positive_number(name, dx):
    p = np.array([0.2, 0.5, 0.3])
    calls = {"kl_divergence": lambda: losses.kl_divergence(p, p, dx),
             "jensen_shannon": lambda: losses.jensen_shannon(p, p, dx),
             "virtual_training_criterion": lambda: losses.virtual_training_criterion(p, p, dx),
             "value_function_on_grid": lambda: losses.value_function_on_grid(p, p, p, dx),
             "generator_objective_on_grid": lambda: losses.generator_objective_on_grid(p, p, dx),
             "optimal_generator_objective": lambda: losses.optimal_generator_objective(p, p, dx)}
    ok = not isinstance(dx, bool) and isinstance(dx, (int, float)) and math.isfinite(dx) and dx > 0
    if ok:
        calls[name]()
    else:
        must_refuse(calls[name], "dx")
    assert np.array_equal(p, [0.2, 0.5, 0.3])


# ---------------------------------------------------------------------------- the Dirac-GAN
not_finite = st.one_of(st.sampled_from([math.nan, math.inf, -math.inf]), not_numbers, st.just("0.5"), st.just(True))
THETA_CALLS = {
    "dirac_gan theta0": (lambda v: dirac.dirac_gan(theta0=v, steps=3), "theta0"),
    "dirac_gan psi0": (lambda v: dirac.dirac_gan(psi0=v, steps=3), "psi0"),
    "vector_field theta": (lambda v: dirac.vector_field(v, 1.0), "theta"),
    "vector_field psi": (lambda v: dirac.vector_field(1.0, v), "psi"),
    "dirac_loss theta": (lambda v: dirac.dirac_loss(v, 1.0), "theta"),
    "dirac_loss psi": (lambda v: dirac.dirac_loss(1.0, v), "psi"),
}


@FAST
@given(st.sampled_from(sorted(THETA_CALLS)), not_finite)
@example("dirac_gan theta0", math.nan)  # issue 27: ran, returning a trajectory of NaN
@example("dirac_gan theta0", "a")  # NumPy's "could not convert string to float"
@example("vector_field theta", math.nan)
def test_the_dirac_gan_refuses_a_position_that_is_not_a_finite_number(call, value):
    fn, name = THETA_CALLS[call]
    must_refuse(lambda: fn(value), name)


@FAST
@given(st.sampled_from(["radius", "moving_average", "plot_phase_portrait"]),
       st.one_of(st.just([]), st.just(np.empty((0, 2))), st.just([1.0, 2.0, 3.0]), st.just(np.ones((3, 3))),
                 not_numbers))
@example("moving_average", [])  # issue 27: IndexError
@example("radius", np.empty((0, 2)))
def test_an_empty_or_malformed_trajectory_is_refused(name, trajectory):
    fn = {"radius": dirac.radius, "moving_average": dirac.moving_average,
          "plot_phase_portrait": dirac.plot_phase_portrait}
    must_refuse(lambda: fn[name](trajectory), "trajectory")
    traj = dirac.dirac_gan(steps=3)
    assert dirac.radius(traj).shape == (4,) and dirac.moving_average(traj).shape == (4, 2)


# ---------------------------------------------------------------------------- recipes
def good_decay(decay) -> bool:
    if decay is None:
        return True
    if not isinstance(decay, (tuple, list)) or len(decay) not in (2, 3) or (len(decay) == 3 and decay[2] != "linear"):
        return False
    real = [not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v) for v in decay[:2]]
    return all(real) and 0 <= decay[0] <= 1 and 0 < decay[1] <= 1


SMALL_RECIPE = recipes.get_recipe("vanilla", G=dict(noise_dim=2, hidden=8, depth=1), D=dict(hidden=8, depth=1),
                                  steps=4, batch_size=8)


@FAST
@given(st.one_of(anything, st.tuples(anything, anything), st.tuples(anything, anything, anything),
                 st.tuples(st.floats(-1, 2), st.floats(-1, 2), st.sampled_from(["linear", "cubic"]))))
@example((0.5,))  # issue 27: "not enough values to unpack"
@example("linear")  # "'<' not supported between instances of 'float' and 'str'"
@example((0.5, "a"))  # accepted by lr_factor, a TypeError in the middle of training
@example((0.5, -1.0))  # "lr_d must be a positive finite number" in the middle of training
@example((2.0, 0.1))  # a decay that never starts, without a word
@example((0.5, 0.1, "cubic"))  # an unknown shape taken as a step
def test_a_malformed_lr_decay_is_refused_before_training(decay):
    if good_decay(decay):
        assert recipes.lr_factor(decay, 0.9) > 0
        return
    recipe = dict(copy.deepcopy(SMALL_RECIPE), lr_decay=decay)
    kept = {k: v for k, v in copy.deepcopy(SMALL_RECIPE).items() if k != "lr_decay"}
    items = list(decay) if isinstance(decay, list) else None
    must_refuse(lambda: recipes.lr_factor(decay, 0.9), "lr_decay")
    must_refuse(lambda: recipes.get_recipe(SMALL_RECIPE, lr_decay=decay), "lr_decay")
    must_refuse(lambda: recipes.train(recipe, data.ring(), steps=4), "lr_decay")
    assert recipe.pop("lr_decay") is decay and same(recipe, kept) and SMALL_RECIPE["lr_decay"] is None
    assert items is None or (len(items) == len(decay) and all(a is b for a, b in zip(items, decay)))

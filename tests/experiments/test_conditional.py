"""gan_edu.experiments.conditional: the digits recipe, its fast mode, and a short run that teaches G
the labels (label accuracy well above chance, measured by the course's digit classifier)."""
import pytest
import torch

from gan_edu.experiments import conditional as E
from gan_edu.metrics.conditional import conditional_digit_scores


@pytest.fixture(scope="module", autouse=True)
def isolated_cache(tmp_path_factory):
    """The digit classifier trained at most once here, in a temporary cache: never the user's."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GAN_EDU_DATA", str(tmp_path_factory.mktemp("gan_edu_data")))
    yield
    mp.undo()


def test_fast_mode_shrinks_the_training_only(monkeypatch):
    full, fast = E.recipe(fast=False), E.recipe(fast=True)
    assert fast["steps"] < full["steps"] / 10
    same = ("batch_size", "lr", "noise_dim", "width")     # the same nets and step, fewer rounds
    assert {k: fast[k] for k in same} == {k: full[k] for k in same}
    monkeypatch.setenv("GAN_EDU_FAST", "1")
    assert E.recipe() == fast
    monkeypatch.setenv("GAN_EDU_FAST", "0")
    assert E.recipe() == full


def test_build_is_seeded_and_leaves_the_global_generator_alone():
    state = torch.get_rng_state()
    a, b = E.build("concat", seed=4), E.build("concat", seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.G.parameters(), b.G.parameters()))
    assert type(E.build("projection").D).__name__ == "ProjectionDiscriminator"
    with pytest.raises(ValueError, match="conditioning"):
        E.build("one_hot")


@pytest.fixture
def one_thread():
    """Small nets train fastest on one thread (two threads on a busy machine can be ten times slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("conditioning, steps, above", [("projection", 200, 0.5), ("concat", 450, 0.3)])
def test_a_short_run_teaches_g_the_labels(conditioning, steps, above, one_thread):
    """Chance is 0.1; the projection discriminator teaches the labels sooner than the concatenation."""
    gan = E.train_digits(conditioning, seed=0, steps=steps, lr_halvings=0)
    s = conditional_digit_scores(gan)
    assert s["mean"] > above, s["per_class"]
    assert len(s["per_class"]) == 10 and sum(s["counts"]) == 1348
    assert s["real"]["mean"] > 0.9 and s["floor"] > 0 and s["fd_ratio"] == pytest.approx(s["fd"] / s["floor"])

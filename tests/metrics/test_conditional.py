"""gan_edu.metrics.conditional: label accuracy on hand-made cases (a stub classifier) and its errors."""
import math

import pytest
import torch

from gan_edu.metrics import conditional as M


def stub(x):
    """A classifier stub: each image's top-left pixel is the class it is called."""
    return torch.nn.functional.one_hot(x[:, 0, 0, 0].long(), 10).float()


def images(called):
    x = torch.zeros(len(called), 1, 8, 8)
    x[:, 0, 0, 0] = torch.tensor(called, dtype=torch.float32)
    return x


def test_every_image_called_what_it_was_asked_for():
    asked = list(range(10)) * 3
    s = M.label_accuracy(images(asked), asked, stub)
    assert s["per_class"] == [1.0] * 10 and s["mean"] == 1.0 and s["worst"] == 1.0
    assert s["counts"] == [3] * 10


def test_per_class_mean_and_worst_class():
    asked = [3, 3, 3, 3, 5, 5, 7, 7, 7, 7]
    called = [3, 3, 1, 1, 5, 5, 7, 7, 7, 2]   # class 3: 2 / 4, class 5: 2 / 2, class 7: 3 / 4
    s = M.label_accuracy(images(called), torch.tensor(asked), stub)
    assert s["per_class"][3] == 0.5 and s["per_class"][5] == 1.0 and s["per_class"][7] == 0.75
    assert math.isnan(s["per_class"][0])         # nobody asked for a 0
    assert s["mean"] == pytest.approx((0.5 + 1.0 + 0.75) / 3)   # over the classes asked for
    assert s["worst"] == 0.5 and s["worst_class"] == 3
    assert s["counts"][3] == 4 and s["counts"][0] == 0


def test_a_generator_that_ignores_the_label_scores_chance():
    asked = list(range(10)) * 10
    s = M.label_accuracy(images([4] * 100), asked, stub)
    assert s["mean"] == pytest.approx(0.1) and s["worst"] == 0.0 and s["per_class"][4] == 1.0


def test_bad_input_gets_a_clear_error():
    with pytest.raises(ValueError, match="asked must be class indices from 0 to 9, got 10"):
        M.label_accuracy(images([1, 2]), [1, 10], stub)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        M.label_accuracy(images([1, 2, 3]), [1, 2], stub)
    with pytest.raises(TypeError, match="integers"):
        M.label_accuracy(images([1, 2]), [1.0, 2.0], stub)
    with pytest.raises(ValueError, match=r"scores of shape \(2, 10\)"):
        M.label_accuracy(images([1, 2]), [1, 2], lambda x: torch.zeros(2, 3))
    with pytest.raises(TypeError, match="callable"):
        M.label_accuracy(images([1, 2]), [1, 2], "classifier")
    with pytest.raises(TypeError, match="images"):
        M.label_accuracy([[0.0]], [1], stub)
    with pytest.raises(ValueError, match=r"\(n, 1, 8, 8\)"):   # the course's classifier: refused before it loads
        M.label_accuracy(torch.zeros(2, 64), [1, 2])


def test_the_tracker_records_every_few_rounds_from_fixed_noise():
    from gan_edu.conditional import ConditionalGAN, ConditionalGenerator, ProjectionDiscriminator

    torch.manual_seed(0)
    gan = ConditionalGAN(ConditionalGenerator(noise_dim=4, width=4), ProjectionDiscriminator(width=4), seed=0)
    tracker = M.LabelAccuracyTracker(every=2, per_class=3, classifier=stub)
    state = gan.rng.get_state()
    for step in range(5):
        gan.step = step
        tracker(gan)
    assert tracker.history["step"] == [0, 2, 4] and len(tracker.history["mean"]) == 3
    assert torch.equal(gan.rng.get_state(), state)           # the GAN's noise generator untouched
    # nothing trained in between: fixed noise gives the same images, so the same accuracy
    assert len(set(tracker.history["mean"])) == 1 and 0 <= tracker.history["worst"][0] <= 1
    with pytest.raises(ValueError, match="every must be a positive integer"):
        M.LabelAccuracyTracker(every=0)


def test_scores_with_a_seed_leave_the_gans_noise_alone():
    from gan_edu.conditional import ConditionalGAN, ConditionalGenerator, ProjectionDiscriminator

    torch.manual_seed(0)
    gan = ConditionalGAN(ConditionalGenerator(noise_dim=4, width=4), ProjectionDiscriminator(width=4), seed=0)
    def sign(x):  # a classifier stub for any pixel values: calls an image 1 if its top-left pixel is positive
        return torch.nn.functional.one_hot((x[:, 0, 0, 0] > 0).long(), 10).float()

    state = gan.rng.get_state()
    a, b = M.conditional_digit_scores(gan, sign, seed=1), M.conditional_digit_scores(gan, sign, seed=1)
    assert torch.equal(gan.rng.get_state(), state) and a["fd"] == b["fd"]
    M.conditional_digit_scores(gan, sign)                     # no seed: the GAN's own noise
    assert not torch.equal(gan.rng.get_state(), state)

"""gan_edu.live.conditional: the images it computes are G's, and the explorer's widgets redraw the
right digit, z and class mix when their values are set (as a student's clicks set them)."""
import io

import pytest
import torch
import torch.nn.functional as F

from gan_edu.conditional import ConditionalGenerator
from gan_edu.experiments.conditional import build
from gan_edu.live import conditional as L
from gan_edu.live.images import grid_png


def G_small():
    torch.manual_seed(0)
    return ConditionalGenerator(noise_dim=5, classes=4, width=4)


def reads_top_left(x):
    """A classifier stub (logits): calls each image 1 if its top-left pixel is positive, else 0."""
    return 50 * F.one_hot((x[:, 0, 0, 0] > 0).long(), 10).float()  # logits: softmax near 1 on it


def test_mix_code_walks_from_one_one_hot_to_the_other():
    code = L.mix_code(1, 3, torch.tensor([0.0, 0.25, 1.0]), 4)
    assert code.tolist() == [[0, 1, 0, 0], [0, 0.75, 0, 0.25], [0, 0, 0, 1]]
    assert L.mix_code(2, 2, 0.5, 4).tolist() == [[0, 0, 1, 0]]
    with pytest.raises(ValueError, match="class from 0 to 3"):
        L.mix_code(4, 0, 0.5, 4)
    with pytest.raises(ValueError, match="from 0 to 1"):
        L.mix_code(0, 1, 1.5, 4)


def test_the_images_are_gs():
    G = G_small()
    z = torch.randn(3, 5)
    grid = L.class_grid(G, z)
    assert grid.shape == (12, 1, 8, 8)
    assert torch.allclose(grid[3 * 2 + 1], G(z[1:2], torch.tensor([2]))[0])   # row = class 2, column = z_1
    walk = L.z_walk(G, z[0], z[1], 3, steps=5)
    assert torch.allclose(walk[0], G(z[:1], torch.tensor([3]))[0], atol=1e-6)
    assert torch.allclose(walk[-1], G(z[1:2], torch.tensor([3]))[0], atol=1e-6)
    assert torch.allclose(walk[2], G(((z[0] + z[1]) / 2)[None], torch.tensor([3]))[0], atol=1e-6)
    cw = L.class_walk(G, z[0], 1, 2, steps=3)
    assert torch.allclose(cw[0], G(z[:1], torch.tensor([1]))[0], atol=1e-6)
    assert torch.allclose(cw[1], G.decode(z[:1], torch.tensor([[0, 0.5, 0.5, 0]]))[0], atol=1e-6)
    assert torch.allclose(cw[2], G(z[:1], torch.tensor([2]))[0], atol=1e-6)
    with pytest.raises(TypeError, match="ConditionalGAN or a ConditionalGenerator"):
        L.class_grid(torch.nn.Linear(2, 2), z)


def test_picking_the_digit_redraws_g_of_z_and_that_digit():
    pytest.importorskip("ipywidgets")
    G = G_small()
    ex = L.ConditionalExplorer(G, classifier=None)
    ex.widget()
    before = ex.ui["main"].value
    ex.ui["digit"].value = 3                                   # a click on the button "3"
    assert ex.state["digit"] == 3 and ex.ui["main"].value != before
    assert ex.ui["main"].value == grid_png(G(ex.z[:1], torch.tensor([3])), nrow=1, scale=16)
    assert "digit 3" in ex.ui["status"].value
    z_walk = L.z_walk(G, ex.z[0], ex.z[1], 3, ex.steps)
    assert ex.ui["z_walk"].value == grid_png(z_walk, nrow=ex.steps, scale=6)


def test_moving_z_and_mixing_the_classes():
    pytest.importorskip("ipywidgets")
    G = G_small()
    ex = L.ConditionalExplorer(G, classifier=None, noises=10)
    ex.widget()
    ex.ui["noise"].value = 9
    ex.ui["walk"].value = 0.5
    z = (ex.z[9] + ex.z[0]) / 2                                # after the last draw comes the first
    assert torch.allclose(ex.z_now(), z)
    assert ex.ui["main"].value == grid_png(G(z[None], torch.tensor([0])), nrow=1, scale=16)
    ex.ui["to_digit"].value = 2
    ex.ui["mix"].value = 0.25
    code = torch.tensor([[0.75, 0, 0.25, 0]])
    assert torch.equal(ex.images()["main"], G.decode(z[None], code))
    assert ex.ui["main"].value == grid_png(G.decode(z[None], code), nrow=1, scale=16)
    assert ex.ui["class_walk"].value == grid_png(L.class_walk(G, z, 0, 2, ex.steps), nrow=ex.steps, scale=6)
    assert "0.75 x digit 0 + 0.25 x digit 2" in ex.ui["status"].value


def test_the_status_line_says_what_the_classifier_reads():
    pytest.importorskip("ipywidgets")
    ex = L.ConditionalExplorer(G_small(), classifier=reads_top_left)
    ex.widget()
    reads = int(ex.images()["main"][0, 0, 0, 0] > 0)
    assert f"the digit classifier reads {reads} (100%)" in ex.ui["status"].value


def test_a_refused_value_is_shown_not_raised():
    pytest.importorskip("ipywidgets")
    ex = L.ConditionalExplorer(G_small(), classifier=None)
    ex.widget()
    ex.changed("digit", 7)
    assert ex.ui["status"].value.startswith("ignored: digit must be a class from 0 to 3")
    with pytest.raises(ValueError, match="set\\(\\) takes"):
        ex.set(colour=1)
    with pytest.raises(ValueError, match="at least 2"):
        L.ConditionalExplorer(G_small(), noises=1)


def test_explorer_returns_the_widget_of_a_conditional_gan():
    w = pytest.importorskip("ipywidgets")
    gan = build("projection", seed=0, width=4)
    box = L.explorer(gan, classifier=None)
    assert isinstance(box, w.VBox)
    images = [c for c in _walk(box) if isinstance(c, w.Image)]
    assert len(images) == 3 and all(i.value[:8] == b"\x89PNG\r\n\x1a\n" for i in images)


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)

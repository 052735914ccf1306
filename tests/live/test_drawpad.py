"""gan_edu.live.drawpad: the pixel -> data mapping, mouse events, undo / clear, the sampler and the widget."""
import io

import numpy as np
import pytest
import torch

import gan_edu as ge
from gan_edu import data, nets
from gan_edu.live import drawpad
from gan_edu.live.drawpad import DrawPad, pixel_to_data
from support import find


def test_pixel_to_data_is_the_linear_map_of_the_axes_box():
    box, lim = (10, 20, 110, 220), (-3, 3)
    assert pixel_to_data(10, 220, box, lim) == (-3, -3)    # bottom-left corner
    assert pixel_to_data(110, 20, box, lim) == (3, 3)      # top-right corner
    assert pixel_to_data(60, 120, box, lim) == (0, 0)      # centre
    assert pixel_to_data(35, 70, box, lim) == pytest.approx((-1.5, 1.5))
    assert pixel_to_data(9, 100, box, lim) is None and pixel_to_data(60, 221, box, lim) is None


def test_axes_box_matches_matplotlibs_own_transform():
    pad = DrawPad(lim=2.5, size=300)
    png = pad.render()
    from PIL import Image
    assert Image.open(io.BytesIO(png)).size == (300, 300)
    for xy in [(-2.49, -2.49), (1.0, 2.0), (0.3, -1.7), (2.49, 2.49)]:
        # no public route to the pad's matplotlib axes: their own transform is what checks axes_box to 1e-6
        dx, dy = pad._ax.transData.transform(xy)  # display pixels, origin bottom-left
        back = pixel_to_data(dx, 300 - dy, pad.axes_box(), pad.lim)
        assert back == pytest.approx(xy, abs=1e-6)


def png_pixels(png: bytes) -> np.ndarray:
    """A PNG as an array of RGB values, rows from the top."""
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)


def test_a_point_is_drawn_in_the_png_where_axes_box_maps_it():
    pad = DrawPad(lim=2.5, size=300)
    empty = png_pixels(pad.render())
    left, top, right, bottom = (round(v) for v in pad.axes_box())
    inside = np.s_[top + 2:bottom - 2, left + 2:right - 2]  # the axes only (the title counts the points)
    for xy in [(0.5, -1.5), (-1.5, 1.5), (1.7, 0.3)]:
        pad.clear()
        pad.add_points([xy])
        ink = np.abs(png_pixels(pad.render()) - empty).sum(-1)[inside]  # the marker, and nothing else
        rows, cols = np.nonzero(ink)
        weight = ink[rows, cols]
        # the pixel at the marker's centre, where a click on it lands (ipyevents' dataX, dataY), mapped back
        px, py = left + 2 + cols @ weight / weight.sum(), top + 2 + rows @ weight / weight.sum()
        assert pixel_to_data(px, py, pad.axes_box(), pad.lim) == pytest.approx(xy, abs=5 / 240)  # within 1 pixel


def event(kind, px, py, buttons=1, button=0):
    return dict(type=kind, dataX=px, dataY=py, buttons=buttons, button=button)


def test_click_and_drag_add_points_where_the_mouse_is():
    pad = DrawPad(lim=3, size=400)
    left, top, right, bottom = pad.axes_box()
    cx, cy = (left + right) / 2, (top + bottom) / 2
    pad.handle_event(event("mousedown", cx, cy))
    assert pad.points == pytest.approx(np.array([[0.0, 0.0]]))
    pad.handle_event(event("mousemove", right, top))      # drag to the top-right corner
    pad.handle_event(event("mousemove", left - 5, cy))    # outside the axes: ignored
    pad.handle_event(event("mouseup", cx, cy))
    pad.handle_event(event("mousemove", left, bottom, buttons=0))  # moving without a press: ignored
    assert pad.points == pytest.approx(np.array([[0.0, 0.0], [3.0, 3.0]]))
    pad.handle_event(event("mousedown", cx, cy, button=2))  # right button: ignored
    assert len(pad) == 2


def test_spray_erase_undo_clear_and_callbacks():
    pad = DrawPad(lim=3, size=400, seed=1)
    seen = []
    pad.on_change(lambda p: seen.append(len(p)))
    left, top, right, bottom = pad.axes_box()
    pad.per_click = 10
    pad.handle_event(event("mousedown", left + 0.25 * (right - left), top + 0.5 * (bottom - top)))
    pts = pad.points
    assert pts.shape == (10, 2) and np.allclose(pts.mean(0), [-1.5, 0.0], atol=3 * pad.spread)
    pad.per_click = 1
    pad.handle_event(event("mousedown", right, top))
    pad.handle_event(event("mouseup", right, top))
    pad.mode = "erase"
    pad.handle_event(event("mousedown", left + 0.25 * (right - left), top + 0.5 * (bottom - top)))
    assert len(pad) < 11 and (pad.points[:, 0] > 0).any()
    pad.undo()
    assert len(pad) == 11
    pad.clear()
    assert len(pad) == 0
    pad.undo()
    assert len(pad) == 11
    assert seen[:2] == [10, 11] and seen[2] < 11 and seen[3:] == [11, 0, 11]


def test_add_points_and_sampler_train_a_gan():
    pad = DrawPad(lim=3)
    with pytest.raises(ValueError, match="at least 2 points"):
        pad.sampler()
    pad.add_points(data.ring()(100))
    pad.add_points([0.0, 0.0])
    assert pad.points.shape == (101, 2)
    s = pad.sampler(jitter=0.05, seed=3)
    assert isinstance(s, data.PointCloud) and s(7).shape == (7, 2)
    ge.seed_everything(0)
    gan = ge.GAN(nets.MLPGenerator(2, 2, hidden=8), nets.MLPDiscriminator(2, hidden=8), device="cpu")
    gan.fit(s, 2, 16, progress=False)
    assert gan.step == 2
    for bad, match in (([[0, 0, 0]], r"shape \(n, 2\)"), ([[0, np.nan]], "NaN")):
        with pytest.raises(ValueError, match=match):
            pad.add_points(bad)
    with pytest.raises(TypeError):
        pad.add_points("points")
    for kw in (dict(lim=0), dict(size=10), dict(spread=-1)):
        with pytest.raises(ValueError):
            DrawPad(**kw)


def test_widget_builds_and_follows_the_points():
    pytest.importorskip("ipyevents")
    import ipywidgets

    pad = DrawPad(lim=3, size=200)
    widget = pad.widget
    assert pad.widget is widget
    (image,) = find(widget, ipywidgets.Image)  # the pad as the student sees it
    (count,) = [label for label in find(widget, ipywidgets.Label) if label.value.endswith("points")]
    before = image.value
    pad.add_points(torch.zeros(3, 2))
    assert image.value != before and count.value == "3 points"
    assert drawpad.AXES_BOX
    find(widget, ipywidgets.Button, description="undo")[0].click()  # the widget's buttons act on the points
    assert len(pad) == 0 and count.value == "0 points"
    pad.add_points(torch.zeros(2, 2))
    find(widget, ipywidgets.Button, description="clear")[0].click()
    assert len(pad) == 0 and count.value == "0 points"

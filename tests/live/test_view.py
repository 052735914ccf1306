"""gan_edu.live.view: G's arrows drawn legibly, a view box that holds G's samples, no empty panels."""
import numpy as np
import pytest
import torch

from gan_edu.live import LiveTrainer
from gan_edu.live.view import ARROWS_1D, ARROWS_2D, BOX_1D, MAX_ZOOM_OUT, LiveView, arrow_vectors, fit_box


def test_arrows_keep_direction_and_a_large_gradient_does_not_shrink_the_rest():
    g = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 4.0], [1000.0, 0.0], [np.nan, 1.0], [0.0, 0.0]] + [[6.0, 8.0]] * 14)
    v = arrow_vectors(g, longest=0.5)
    norm = np.linalg.norm(v, axis=1)
    assert norm.max() == pytest.approx(0.5) and norm[3] == pytest.approx(0.5)  # the huge one is cut, not the scale
    assert norm[0] > 0.04  # ... so the small ones stay visible (scaled by the largest, 0.0005)
    assert norm[2] / norm[1] == pytest.approx(5 / 2)  # below the cut, lengths keep their ratios
    ok = [0, 1, 2, 3]
    cos = (v[ok] * g[ok]).sum(1) / (norm[ok] * np.linalg.norm(g[ok], axis=1))
    assert np.allclose(cos, 1)  # every direction kept
    assert np.all(v[4] == 0) and np.all(v[5] == 0)  # not finite, or zero: no arrow
    assert np.all(arrow_vectors(np.zeros((3, 2)), 1.0) == 0)


def test_view_box_grows_to_hold_gs_samples_and_no_further():
    rng = np.random.default_rng(0)
    inside = rng.uniform(-1, 1, (1000, 2))
    assert fit_box(2.0, inside, 2.0) == 2.0  # fits: unchanged
    out = np.concatenate([inside, [[3.1, 0.0]] * 20])  # 2% of the samples at x1 = 3.1
    box = fit_box(2.0, out, 2.0)
    assert 3.1 <= box <= 3.5 and box * 2 == int(box * 2)  # grown in halves to hold them
    assert fit_box(box, inside, 2.0) == box  # never shrinks (the live axes are drawn once)
    assert fit_box(2.0, np.concatenate([inside, [[50.0, 0.0]] * 5]), 2.0) == 2.0  # 0.5% far out: left out
    assert fit_box(2.0, np.concatenate([inside, [[50.0, 0.0]] * 100]), 2.0) == MAX_ZOOM_OUT * 2.0  # capped
    assert fit_box(2.0, np.full((10, 2), np.nan), 2.0) == MAX_ZOOM_OUT * 2.0  # nothing finite: the cap, no error
    x = np.concatenate([rng.normal(4, 0.5, (1000, 1)), np.full((30, 1), 9.6)])
    lo, hi = fit_box(BOX_1D, x, BOX_1D)
    assert lo == BOX_1D[0] and 9.6 <= hi <= 11 and hi == int(hi)
    assert fit_box(BOX_1D, rng.normal(4, 0.5, (1000, 1)), BOX_1D) == BOX_1D


def _shift_g(trainer, by: float) -> None:
    """Move every sample of G by ``by`` along each axis (its last layer's bias)."""
    with torch.no_grad():
        list(trainer.gan.G.parameters())[-1].add_(by)


@pytest.mark.parametrize("name", ["ring", "gaussian1d"])
def test_notebook_figure_holds_gs_samples(name):
    t = LiveTrainer(data=name, hidden=16, depth=2, batch_size=32, seed=3)
    try:
        t.run(5)
        _shift_g(t, 3.0 if name == "ring" else 9.0)  # 2D: past the data's box (2.5); 1D: past x = 7
        fake = t.gan.sample(z=t.view_noise()).numpy()
        ax = t.figure().axes[0]
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        inside = (fake[:, 0] >= x0) & (fake[:, 0] <= x1)
        if name == "ring":
            inside &= (fake[:, 1] >= y0) & (fake[:, 1] <= y1)
        assert inside.mean() >= 0.99
        assert x1 > (7 if name == "gaussian1d" else t.lim)
    finally:
        t.close()


def test_live_panel_grows_when_gs_samples_leave_it_and_still_paints_like_matplotlib():
    from io import BytesIO

    from PIL import Image

    t = LiveTrainer(data="ring", hidden=16, depth=2, batch_size=32, seed=3)
    try:
        t.run(5)
        view = LiveView(t).update(t, curves=False)
        view.field_png()
        box, field = view.box, view.field
        _shift_g(t, 3.0)
        view.update(t, curves=False)
        assert view.box > box and view.field is not field  # drawn again, larger
        assert view.ax_data.get_xlim() == (-view.box, view.box)
        painted = np.asarray(Image.open(BytesIO(view.field_png())).convert("RGB")).astype(float)
        for artist in view.frames.moving:  # the same snapshot, drawn by matplotlib
            artist.set_animated(False)
        view.set_artists(view.snap)
        view.field.canvas.draw()
        drawn = np.asarray(view.field.canvas.buffer_rgba())[..., :3].astype(float)
        box = (view.frames.area.rows, view.frames.area.cols)
        diff = np.abs(painted[box] - drawn[box]).max(axis=-1)
        assert diff.mean() < 3 and (diff > 60).mean() < 0.005
    finally:
        t.close()


def test_arrows_are_legible_in_1d_and_2d():
    for name, n in (("ring", ARROWS_2D), ("gaussian1d", ARROWS_1D)):
        t = LiveTrainer(data=name, hidden=16, depth=2, batch_size=32, seed=3)
        try:
            t.run(20)
            fig = t.figure()
            assert fig.dpi >= 100
            view_quiver = [c for ax in fig.axes for c in ax.collections if type(c).__name__ == "Quiver"]
            (q,) = view_quiver
            assert q.N == n and q.width >= 0.006
            offsets = q.get_offsets()
            if name == "gaussian1d":  # one row per arrow, sorted by x: no bar of overlapping arrows
                assert len(np.unique(offsets[:, 1])) == n
                assert np.all(np.diff(offsets[:, 0]) >= 0)
                assert np.all(q.V == 0)
            lengths = np.hypot(q.U, q.V)
            assert np.median(lengths) > 0.2 * lengths.max()  # most arrows visible, not dots beside one long one
        finally:
            t.close()


@pytest.mark.parametrize("name, panels", [("ring", 3), ("moons", 2)])
def test_no_empty_coverage_panel_for_data_without_modes(name, panels):
    t = LiveTrainer(data=name, hidden=8, depth=1, batch_size=16)
    try:
        t.run(3, metrics_every=1)
        view = LiveView(t, split=False).update(t)
        titled = [ax for ax in view.curves.axes if ax.get_title()]
        assert len(titled) == panels  # losses, D outputs (and mode coverage where there are modes)
        assert all("no modes" not in text.get_text() for ax in view.curves.axes for text in ax.texts)
        field, curves = t.render()  # the live images too
        assert curves[:4] == b"\x89PNG"
    finally:
        t.close()


def test_panel_figures_are_legible():
    t = LiveTrainer(data="ring", hidden=8, depth=1, batch_size=16)
    try:
        t.run(3)
        for name in ("manifold", "optimal", "divergences"):
            assert t.panel_figure(name).dpi >= 100
    finally:
        t.close()


def test_samples_over_arrows_and_readable_legends_and_margins():
    """G's samples are drawn over the arrows (a blob or a collapsed speck stays visible), the
    arrow's legend entry is plain text (a mathtext subscript is ~5 px tall), the coverage panel
    shows its first and last records and 0 off the axes' edges, and a loss never recorded (G not
    trained: NaN) has no legend entry."""
    t = LiveTrainer(data="ring", hidden=16, depth=2, batch_size=32, seed=3, g_steps=0)
    try:
        t.run(20, metrics_every=5)
        view = LiveView(t, split=False).update(t)
        (quiver,) = [c for c in view.ax_data.collections if type(c).__name__ == "Quiver"]
        assert view.real.get_zorder() < quiver.get_zorder() < view.fake.get_zorder()
        labels = [text.get_text() for text in view.ax_data.get_legend().get_texts()]
        assert labels[-1].startswith("G's push") and "$" not in labels[-1]
        assert [text.get_text() for text in view.ax_loss.get_legend().get_texts()] == ["D loss"]
        steps = t.coverage["step"]
        x0, x1 = view.ax_cov.get_xlim()
        assert x0 < 0 and x1 > steps[-1]
        twin = view.cov_lines[1].axes
        assert view.ax_cov.get_ylim()[0] < 0 and twin.get_ylim()[0] < 0 and twin.get_ylim()[1] > 100
        t.set(g_steps=1)
        t.run(5)
        view = LiveView(t, split=False).update(t)
        assert [text.get_text() for text in view.ax_loss.get_legend().get_texts()] == ["D loss", "G loss"]
    finally:
        t.close()

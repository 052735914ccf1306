"""Draw your own 2D data: click or drag points onto a plot, then train a GAN on them.

The pad is a matplotlib figure rendered to PNG in an ``ipywidgets.Image``; ``ipyevents``
sends the browser's mouse events on that image to Python. ipyevents reports the mouse
position in the PNG's own pixels (``dataX``, ``dataY``, corrected for how large the browser
shows the image), and the axes occupy a fixed box of those pixels, so a click maps to data
coordinates by a straight-line rescaling (``pixel_to_data``). No matplotlib backend switch
(``%matplotlib widget``) is needed, so the pad sits beside the PNG views of the live trainer.

    pad = DrawPad(lim=3)
    display(pad.widget)            # click / drag; "erase" mode, undo, clear
    pad.add_points(array)          # or load points from an array (n, 2)
    sampler = pad.sampler(jitter=0.05)
"""
from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..checks import is_number
from ..data import PointCloud
from ..metrics.grid import grid_limits

__all__ = ["DrawPad", "pixel_to_data"]

AXES_BOX = (0.15, 0.13, 0.80, 0.80)  # the axes' [left, bottom, width, height] in figure fractions


def pixel_to_data(px: float, py: float, box, lim) -> tuple[float, float] | None:
    """Image pixel (px right, py *down* from the top-left corner) -> data (x1, x2).

    ``box`` = (left, top, right, bottom): the axes' edges in the image's pixels; ``lim`` =
    (lo, hi) the axes' data range on both axes. Linear in each coordinate:
    x1 = lo + (px - left) / (right - left) · (hi - lo), x2 = hi - (py - top) / (bottom - top) · (hi - lo)
    (the pixel row grows downwards, x2 upwards). Returns None outside the axes box.
    """
    left, top, right, bottom = box
    lo, hi = lim
    if not (left <= px <= right and top <= py <= bottom):
        return None
    return lo + (px - left) / (right - left) * (hi - lo), hi - (py - top) / (bottom - top) * (hi - lo)


def _as_points(points) -> np.ndarray:
    try:
        arr = np.asarray(points.detach().cpu() if hasattr(points, "detach") else points, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"points must be numbers of shape (n, 2), got {type(points).__name__}") from None
    if arr.shape == (2,):
        arr = arr[None]  # one point
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2) (or (2,) for one point), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("points contain NaN or infinite values")
    return arr


class DrawPad:
    """A 2D drawing pad whose points become the training data.

    ``lim``: the pad shows [-lim, lim]² (or a (lo, hi) pair); ``size``: its width and height
    in pixels; ``points``: optional starting points (n, 2); ``spread``: the standard deviation
    of the spray around the cursor when "points per click" is above 1 (default 2% of the
    range); ``seed`` seeds that spray. The mouse: press or drag with the left button to add
    points (draw mode) or remove those within ``3 * spread`` of the cursor (erase mode).
    """

    def __init__(self, lim=3.0, size: int = 360, points=None, spread: float | None = None, seed: int = 0):
        lo, hi = grid_limits(lim)
        if not is_number(size, integer=True) or not 100 <= size <= 2000:
            raise ValueError(f"size must be an integer number of pixels from 100 to 2000, got {size!r}")
        self.lim, self.size = (lo, hi), size
        self.spread = 0.02 * (hi - lo) if spread is None else float(spread)
        if not (math.isfinite(self.spread) and self.spread > 0):
            raise ValueError(f"spread must be a positive number, got {spread!r}")
        self.mode = "draw"            # or "erase"
        self.per_click = 1            # points added per mouse event (sprayed around the cursor)
        self._rng = np.random.default_rng(seed)
        self._points = np.zeros((0, 2))
        self._strokes: list[np.ndarray] = []  # the points array before each stroke, for undo
        self._drawing = self._stroke_saved = False
        self._callbacks = []
        self._widget = None
        self._fig = Figure(figsize=(size / 100, size / 100), dpi=100)
        FigureCanvasAgg(self._fig)
        self._ax = self._fig.add_axes(AXES_BOX)
        self._scatter = self._ax.scatter([], [], s=8, c="black", alpha=0.6)
        self._ax.set(xlim=self.lim, ylim=self.lim, xlabel="$x_1$", ylabel="$x_2$")
        self._ax.grid(True, alpha=0.3)
        if points is not None:
            self.add_points(points)

    # ------------------------------------------------------------------ the data
    @property
    def points(self) -> np.ndarray:
        """The points drawn so far, a copy of shape (n, 2)."""
        return self._points.copy()

    def __len__(self) -> int:
        return len(self._points)

    def add_points(self, points) -> None:
        """Append points (an array, list or tensor of shape (n, 2), or one point (2,)); undoable."""
        arr = _as_points(points)
        self._strokes.append(self._points)
        self._points = np.concatenate([self._points, arr])
        self._changed()

    def clear(self) -> None:
        """Remove every point (undoable)."""
        self._strokes.append(self._points)
        self._points = np.zeros((0, 2))
        self._changed()

    def undo(self) -> None:
        """Go back to before the last stroke, ``add_points`` or ``clear``."""
        if self._strokes:
            self._points = self._strokes.pop()
            self._changed()

    def sampler(self, jitter: float = 0.02, seed: int = 0) -> PointCloud:
        """A sampler of the drawn data: ``gan_edu.data.PointCloud`` (draws with replacement plus
        N(0, jitter²) noise)."""
        if len(self._points) < 2:
            raise ValueError(f"draw at least 2 points first (the pad has {len(self._points)})")
        return PointCloud(self._points, jitter=jitter, seed=seed)

    def on_change(self, callback) -> None:
        """Call ``callback(pad)`` whenever the points change (e.g. to hand a new sampler to a trainer)."""
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        self._callbacks.append(callback)

    def _changed(self) -> None:
        self._scatter.set_offsets(self._points if len(self._points) else np.zeros((0, 2)))
        if self._widget is not None:
            self._image.value = self.render()
            self._count.value = f"{len(self._points)} points"
        for callback in self._callbacks:
            callback(self)

    # ------------------------------------------------------------------ mouse
    def axes_box(self) -> tuple[float, float, float, float]:
        """The axes' (left, top, right, bottom) edges in the PNG's pixels (origin top-left)."""
        left, bottom, width, height = AXES_BOX
        s = self.size
        return left * s, (1 - bottom - height) * s, (left + width) * s, (1 - bottom) * s

    def handle_event(self, event: dict) -> None:
        """React to one ipyevents mouse event dict: ``type`` (mousedown, mousemove, mouseup,
        mouseleave), ``buttons`` (1 while the left button is held) and the position ``dataX``,
        ``dataY`` in the PNG's pixels. A press starts a stroke; moves with the button held
        continue it; points land only inside the axes."""
        kind = event.get("type")
        if kind in ("mouseup", "mouseleave"):
            self._drawing = False
            return
        if kind == "mousedown":
            if event.get("button", 0) != 0:
                return
            self._drawing, self._stroke_saved = True, False
        elif kind == "mousemove":
            if not (self._drawing and int(event.get("buttons", 1)) & 1):
                self._drawing = False
                return
        else:
            return
        xy = pixel_to_data(event.get("dataX", math.nan), event.get("dataY", math.nan), self.axes_box(), self.lim)
        if xy is None:
            return
        before = self._points
        if self.mode == "erase":
            keep = np.hypot(*(self._points - xy).T) > 3 * self.spread
            if keep.all():
                return
            self._points = self._points[keep]
        else:
            new = np.asarray(xy, dtype=float)[None]
            if self.per_click > 1:
                new = new + self.spread * self._rng.standard_normal((self.per_click, 2))
            self._points = np.concatenate([self._points, new])
        if not self._stroke_saved:  # one undo step per stroke
            self._strokes.append(before)
            self._stroke_saved = True
        self._changed()

    # ------------------------------------------------------------------ display
    def render(self) -> bytes:
        """The pad as PNG bytes, exactly ``size`` x ``size`` pixels (no tight bbox: the axes box
        must stay where ``axes_box`` says)."""
        self._ax.set_title(f"Draw your data: click or drag ({len(self._points)} points)", fontsize=10)
        buf = io.BytesIO()
        self._fig.savefig(buf, format="png", dpi=100)
        return buf.getvalue()

    @property
    def widget(self):
        """The pad's widget (build once, display anywhere): the image, mode, points per click,
        undo, clear, and a point count. Needs ``ipywidgets`` and ``ipyevents``."""
        if self._widget is None:
            self._widget = self._build_widget()
        return self._widget

    def _build_widget(self):
        import ipywidgets as w

        try:
            from ipyevents import Event
        except ImportError:
            raise ImportError("the drawing pad needs ipyevents: pip install ipyevents "
                              "(or pip install 'gan-edu[notebooks]')") from None
        self._image = w.Image(value=self.render(), format="png", width=self.size, height=self.size)
        self._events = Event(source=self._image, watched_events=["mousedown", "mousemove", "mouseup", "mouseleave"],
                             prevent_default_action=True, wait=40, throttle_or_debounce="throttle")
        self._events.on_dom_event(self.handle_event)
        mode = w.ToggleButtons(options=["draw", "erase"], value=self.mode, description="mode")
        mode.observe(lambda change: setattr(self, "mode", change["new"]), names="value")
        per_click = w.IntSlider(value=self.per_click, min=1, max=20, description="points/click")
        per_click.observe(lambda change: setattr(self, "per_click", change["new"]), names="value")
        undo, clear = w.Button(description="undo"), w.Button(description="clear", button_style="warning")
        undo.on_click(lambda _: self.undo())
        clear.on_click(lambda _: self.clear())
        self._count = w.Label(f"{len(self._points)} points")
        return w.VBox([self._image, w.HBox([mode, per_click]), w.HBox([undo, clear, self._count])])

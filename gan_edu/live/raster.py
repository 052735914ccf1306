"""Drawing a live frame with numpy: the moving parts of a panel painted into a background that
matplotlib drew once.

matplotlib draws a panel's axes, ticks, labels, title, legend and colour bar once; ``Area``
keeps that image and the pixels inside one axes' spines. Each frame then paints only that data
area, in the colours, sizes and order of the matplotlib artists it stands for:

- ``Heatmap``: a grid of values, bilinearly interpolated, through a colour table (``imshow``);
- ``dots``: round markers whose overlaps darken as matplotlib's do (``scatter``);
- ``fill``: any shape given as points spread evenly over it, e.g. ``arrow_points`` (``quiver``'s
  arrows) and ``line_points`` (``plot``'s lines), anti-aliased by counting points per pixel;
- ``bars``: a histogram's bars (``hist``).

``png`` encodes the result. Painting 5,000 points, a heatmap and 64 arrows this way takes a few
milliseconds, where matplotlib needs tens (and the PNG encoder of PIL another ten or more).
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["png", "Area", "Heatmap", "colour_table", "dots", "marker", "fill", "arrow_points", "line_points",
           "bars"]

PER_PX = 3  # points per pixel side that ``fill`` expects: 9 points fill a pixel


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(rgb: np.ndarray, level: int = 1) -> bytes:
    """An (h, w, 3) uint8 image as PNG bytes: rows unfiltered, zlib at ``level`` (1: fastest).
    Lossless; about 5x faster than PIL's encoder, whose row filters cost more than the zlib."""
    h, w, _ = rgb.shape
    rows = np.zeros((h, 3 * w + 1), np.uint8)  # each row: its filter type (0, none), then its pixels
    rows[:, 1:] = rgb.reshape(h, 3 * w)
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB, deflate, no interlacing
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), level))
            + _chunk(b"IEND", b""))


class Area:
    """The figure ``fig`` drawn once by matplotlib (its animated artists left out) and the box of
    pixels inside the spines of its axes ``ax``: ``frame()`` gives that box to paint on (float
    RGB in [0, 1]), ``pixels`` maps data coordinates into it, ``png(box)`` puts it back into
    the figure and encodes the whole."""

    def __init__(self, fig, ax):
        fig.canvas.draw()
        self.image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
        self.height = self.image.shape[0]
        ext = ax.get_window_extent()  # display pixels, origin at the bottom left
        edges = [round(e) for e in (ext.x0, ext.x1, self.height - ext.y1, self.height - ext.y0)]
        self.cols = slice(edges[0] + 1, edges[1])  # Agg snaps each spine onto the pixel at its edge
        self.rows = slice(edges[2] + 1, edges[3])
        self.ax = ax
        self.box = self.image[self.rows, self.cols].astype(np.float32) / 255

    @property
    def shape(self) -> tuple[int, int]:
        """The box's (rows, columns)."""
        return self.box.shape[:2]

    def pixels(self, x, y, ax=None) -> tuple[np.ndarray, np.ndarray]:
        """Data coordinates (of ``ax``, default the box's axes) as (column, row) positions in the
        box: pixel (r, c) spans [c, c + 1) x [r, r + 1), rows counted from the top."""
        xy = (self.ax if ax is None else ax).transData.transform(np.column_stack([np.ravel(x), np.ravel(y)]))
        return xy[:, 0] - self.cols.start, self.height - xy[:, 1] - self.rows.start

    def centres(self, ax=None) -> tuple[np.ndarray, np.ndarray]:
        """The data coordinates of the box's pixel centres: (x of each column, y of each row)."""
        inverse = (self.ax if ax is None else ax).transData.inverted()
        rows, cols = self.shape
        x = inverse.transform(np.column_stack([self.cols.start + np.arange(cols) + 0.5, np.zeros(cols)]))[:, 0]
        y = inverse.transform(np.column_stack([np.zeros(rows), self.height - self.rows.start - np.arange(rows) - 0.5]))
        return x, y[:, 1]

    def frame(self) -> np.ndarray:
        """A fresh copy of the box as the background has it, to paint a frame on."""
        return self.box.copy()

    def png(self, box: np.ndarray) -> bytes:
        """The figure with ``box`` painted into its data area, as PNG bytes."""
        self.image[self.rows, self.cols] = box * 255 + 0.5  # in [0, 1]: every paint blends colours
        return png(self.image)


def colour_table(cmap, alpha: float = 1.0, under=(1.0, 1.0, 1.0)) -> np.ndarray:
    """The 256 colours of the matplotlib colour map ``cmap`` (a name), blended with opacity
    ``alpha`` over the colour ``under`` (the axes' white), as a (256, 3) float32 table."""
    import matplotlib

    table = matplotlib.colormaps[cmap](np.linspace(0, 1, 256))[:, :3]
    return (alpha * table + (1 - alpha) * np.asarray(under)).astype(np.float32)


def _bilinear(centres: np.ndarray, lo: float, hi: float, n: int) -> np.ndarray:
    """(len(centres), n) weights: each position's linear interpolation between the two nearest
    of ``n`` cell centres on [lo, hi] (clamped at the outer centres)."""
    f = np.clip((centres - lo) / (hi - lo) * n - 0.5, 0, n - 1)
    left = np.minimum(np.floor(f).astype(int), n - 2) if n > 1 else np.zeros(len(f), int)
    w = np.zeros((len(f), n), np.float32)
    w[np.arange(len(f)), left] = 1 - (f - left)
    if n > 1:
        w[np.arange(len(f)), left + 1] += f - left
    return w


class Heatmap:
    """What ``imshow(values, origin="lower", extent=(lo, hi, lo, hi), interpolation="bilinear")``
    draws of an n x n grid of values in [0, 1] (row = y) over the square ``lim`` = (lo, hi), in
    the box of ``area``: interpolated to the pixels' centres, then looked up in ``table``
    (``colour_table``). The interpolation weights are computed once."""

    def __init__(self, area: Area, lim: tuple[float, float], n: int, table: np.ndarray):
        x, y = area.centres()
        self.by_row, self.by_col, self.table = _bilinear(y, *lim, n), _bilinear(x, *lim, n).T, table

    def frame(self, values: np.ndarray) -> np.ndarray:
        """A new frame (float RGB) of the box filled with the heatmap of ``values``."""
        smooth = self.by_row @ np.asarray(values, np.float32) @ self.by_col
        return np.take(self.table, np.clip(smooth * 256, 0, 255).astype(np.uint8), axis=0)


def marker(size: float, edge: float, dpi: float, alpha: float, per_px: int = 4) -> tuple:
    """The round marker of matplotlib's ``scatter(s=size, alpha=alpha)`` at ``dpi``: a disc of
    area ``size`` pt^2 and its edge, a ring ``edge`` pt wide (``lines.linewidth``, 1.5 by
    default) in the same colour, each drawn with opacity ``alpha``. Returns the offsets (rows,
    columns) of the pixels it touches from the pixel of its centre and, for each, the log of the
    share of the colour under it that it leaves (``per_px``^2 samples a pixel), for ``dots``."""
    radius, half_edge = np.sqrt(size) / 2 * dpi / 72, edge / 2 * dpi / 72
    reach = int(np.ceil(radius + half_edge))
    offsets = np.arange(-reach, reach + 1)
    sub = (np.arange(per_px) + 0.5) / per_px - 0.5
    dy, dx = np.meshgrid(offsets, offsets, indexing="ij")
    sy, sx = np.meshgrid(sub, sub, indexing="ij")
    r = np.hypot(dy[..., None, None] + sy, dx[..., None, None] + sx)
    disc = (r <= radius).mean(axis=(2, 3))
    ring = ((r <= radius + half_edge) & (r >= radius - half_edge)).mean(axis=(2, 3))
    keep = (disc > 0) | (ring > 0)
    log_left = np.log1p(-alpha * disc) + np.log1p(-alpha * ring)
    return dy[keep], dx[keep], log_left[keep].astype(np.float32)


OFF = -(1 << 30)  # the pixel number of a position that is not finite: off every box


def _pixel(positions, to_int=np.round) -> np.ndarray:
    """Positions (floats) as pixel numbers (``to_int``: ``np.round`` or ``np.floor``), OFF where
    not finite."""
    positions = np.asarray(positions, dtype=float)
    finite = np.isfinite(positions)
    return np.where(finite, to_int(np.where(finite, positions, 0.0)), OFF).astype(np.intp)


def _flat(box: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Flat pixel indices of (rows, cols) (integer arrays of one shape), those inside ``box`` only."""
    h, w = box.shape[:2]
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    return (rows * w + cols)[inside], inside


def _blend(box: np.ndarray, index: np.ndarray, keep: np.ndarray, colour) -> np.ndarray:
    """Pixels ``index`` (flat) of ``box`` become ``keep`` of what they were and the rest ``colour``."""
    flat = box.reshape(-1, 3)
    keep = keep.astype(np.float32)[:, None]
    flat[index] = np.take(flat, index, axis=0) * keep + (1 - keep) * np.asarray(colour, np.float32)
    return box


def dots(box: np.ndarray, cols, rows, colour, mark) -> np.ndarray:
    """Paint a ``mark`` (``marker``) of ``colour`` at each (column, row) position, in place,
    centred where Agg snaps a marker: on the pixel at the rounded position. Overlaps compound as
    in matplotlib: each dot leaves its share of what was under it."""
    dr, dc, log_left = mark
    r, c = _pixel(rows)[:, None] + dr, _pixel(cols)[:, None] + dc
    index, inside = _flat(box, r, c)
    total = np.bincount(index, np.broadcast_to(log_left, r.shape)[inside], minlength=box.shape[0] * box.shape[1])
    hit = np.flatnonzero(total)
    return _blend(box, hit, np.exp(total[hit]), colour)


def fill(box: np.ndarray, cols, rows, colour, per_px: int = PER_PX) -> np.ndarray:
    """Paint ``colour`` (opaque) over a shape given as points ``per_px`` to a pixel's side
    (``arrow_points``, ``line_points``), in place: a pixel takes the colour in the share of
    the points that fall in it (all of it from ``per_px``^2 points on): anti-aliased edges."""
    index, _ = _flat(box, _pixel(rows, np.floor), _pixel(cols, np.floor))  # the pixel each point falls in
    count = np.bincount(index, minlength=box.shape[0] * box.shape[1])
    hit = np.flatnonzero(count)
    return _blend(box, hit, 1 - np.minimum(1, count[hit] / per_px ** 2), colour)


def arrow_points(cols, rows, dcols, drows, width: float, head_width: float = 3, head_length: float = 5,
                 per_px: int = PER_PX) -> tuple[np.ndarray, np.ndarray]:
    """Points spread ``per_px`` to a pixel's side over arrows from (cols, rows) to (cols + dcols,
    rows + drows), in pixels, of matplotlib ``quiver``'s shape: a shaft ``width`` pixels wide,
    a triangular head ``head_width`` times as wide and ``head_length`` times as long as the shaft
    is wide (shrunk with arrows shorter than their head). For ``fill``."""
    length = np.hypot(dcols, drows)
    length = np.where(np.isfinite(length) & np.isfinite(cols) & np.isfinite(rows), length, 0.0)
    if not len(length) or length.max() == 0:
        return np.zeros(0), np.zeros(0)
    head = np.minimum(head_length * width, length)           # each arrow's head length
    half = 0.5 * head_width * width * head / (head_length * width)  # each head's half width
    s = (np.arange(int(np.ceil(length.max() * per_px))) + 0.5) / per_px  # along the arrow, from its tail
    t = (np.arange(int(np.ceil(2 * half.max() * per_px))) + 0.5) / per_px - half.max()  # across
    s, t = s[None, :, None], t[None, None, :]
    length, head, half = length[:, None, None], head[:, None, None], half[:, None, None]
    shaft = (s <= length - head) & (np.abs(t) <= width / 2)
    tip = (s > length - head) & (s <= length) & (np.abs(t) <= half * (length - s) / np.maximum(head, 1e-9))
    which, si, ti = np.nonzero(shaft | tip)
    along, across = s[0, si, 0], t[0, 0, ti]
    ux, uy = np.asarray(dcols)[which] / length[which, 0, 0], np.asarray(drows)[which] / length[which, 0, 0]
    return np.asarray(cols)[which] + along * ux - across * uy, np.asarray(rows)[which] + along * uy + across * ux


def line_points(cols, rows, width: float, per_px: int = PER_PX) -> tuple[np.ndarray, np.ndarray]:
    """Points spread ``per_px`` to a pixel's side over a polyline through (cols, rows), in
    pixels, ``width`` pixels wide (what ``plot`` draws with that line width; vertices that are
    not finite are left out). For ``fill``."""
    cols, rows = np.asarray(cols, float), np.asarray(rows, float)
    finite = np.isfinite(cols) & np.isfinite(rows)
    cols, rows = cols[finite], rows[finite]
    if len(cols) < 2:
        return np.zeros(0), np.zeros(0)
    step = np.hypot(np.diff(cols), np.diff(rows))
    arc = np.concatenate([[0.0], np.cumsum(step)])
    at = (np.arange(int(np.ceil(arc[-1] * per_px)) + 1)) / per_px  # arc lengths of the samples
    seg = np.clip(np.searchsorted(arc, at, side="right") - 1, 0, len(step) - 1)
    frac = (at - arc[seg]) / np.maximum(step[seg], 1e-9)
    x, y = cols[seg] + frac * np.diff(cols)[seg], rows[seg] + frac * np.diff(rows)[seg]
    nx, ny = -np.diff(rows)[seg] / np.maximum(step[seg], 1e-9), np.diff(cols)[seg] / np.maximum(step[seg], 1e-9)
    across = (np.arange(max(1, int(round(width * per_px)))) + 0.5) / per_px - width / 2
    return (x[:, None] + across * nx[:, None]).ravel(), (y[:, None] + across * ny[:, None]).ravel()


def bars(box: np.ndarray, edges, tops, base: float, colour, alpha: float) -> np.ndarray:
    """Paint a histogram's bars in place: bar i spans columns [edges[i], edges[i + 1]) and rows
    from ``tops[i]`` down to ``base`` (pixels, rows counted from the top), ``colour`` with
    opacity ``alpha``; the rows at a bar's top are covered in part (anti-aliased)."""
    h, w = box.shape[:2]
    centre = np.arange(w) + 0.5
    which = np.searchsorted(np.asarray(edges, float), centre, side="right") - 1  # the bar under each column
    on = (which >= 0) & (which < len(tops))
    top = np.where(on, np.asarray(tops, float)[np.clip(which, 0, len(tops) - 1)], base)
    r = np.arange(h)[:, None]
    cover = np.clip(np.minimum(r + 1, base) - np.maximum(r, top[None, :]), 0, 1).astype(np.float32)[..., None]
    cover *= alpha
    box *= 1 - cover
    box += cover * np.asarray(colour, np.float32)
    return box

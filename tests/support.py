"""Shared by the package's tests: a small seeded GAN, comparing weights, and finding widgets."""
import torch

import gan_edu as ge
from gan_edu import nets
from gan_edu.train import GAN


def make_gan(seed=0, pack=1, d_in=None, **kw):
    """A small GAN of MLPs (16 units, 2 layers) on 2D data, seeded ``seed``, Adam at 1e-3 unless
    ``lr_d`` / ``lr_g`` are given. ``pack``: PacGAN's packing, with D built for packs of ``pack``
    points unless ``d_in`` gives its input size."""
    ge.seed_everything(seed)
    kw.setdefault("lr_d", 1e-3)
    kw.setdefault("lr_g", 1e-3)
    G, D = nets.MLPGenerator(2, 2, hidden=16, depth=2), nets.MLPDiscriminator(d_in or 2 * pack, hidden=16, depth=2)
    return GAN(G, D, device="cpu", seed=seed, pack=pack, **kw)


def params(net):
    """A copy of ``net``'s weights."""
    return [p.detach().clone() for p in net.parameters()]


def same(a, b):
    """Two lists of tensors are equal, element by element."""
    return all(torch.equal(x, y) for x, y in zip(a, b))


def weights(gan):
    """A copy of G's weights, then D's."""
    return params(gan.G) + params(gan.D)


# ---------------------------------------------------------------------------- widgets
def walk(widget, shown_only=False):
    """``widget`` and every widget inside it (depth first); ``shown_only``: skip those hidden by
    ``layout.display = "none"`` and everything inside them, as a browser would not show them."""
    layout = getattr(widget, "layout", None)
    if shown_only and layout is not None and layout.display == "none":
        return
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child, shown_only)


def is_shown(root, target) -> bool:
    """``target`` is inside ``root`` and shown (no box on the way hides it)."""
    return any(w is target for w in walk(root, shown_only=True))


def find(root, kind, **attrs):
    """The widgets of type ``kind`` inside ``root`` whose attributes equal ``attrs``."""
    return [w for w in walk(root) if isinstance(w, kind) and all(getattr(w, k) == v for k, v in attrs.items())]


def button(root, label):
    """The one button labelled ``label`` inside ``root``."""
    import ipywidgets

    (found,) = find(root, ipywidgets.Button, description=label)
    return found

"""Steer a conditional G (notebook 08): pick the digit, move z, walk between two z with the class
fixed and between two classes with z fixed.

G(z, y) = g(concat(z, onehot(y))) (``gan_edu.conditional.ConditionalGenerator``); its ``decode(z,
code)`` takes any class code, so a mixed code (1 - s) onehot(a) + s onehot(b) walks from class a
to class b with z fixed. The functions below compute the images (the notebook's static figures
use them too); ``ConditionalExplorer`` shows them with widgets:

- the digit asked for, y (buttons), and the noise z: ``noise`` picks z_k, one of ``noises`` fixed
  draws of N(0, I), and ``walk`` t moves it on the straight line to the next one,
  z = (1 - t) z_k + t z_{k+1};
- ``to digit`` b and ``class mix`` s: the code (1 - s) onehot(y) + s onehot(b);
- three images: G(z, code), large; the walk from z_k to z_{k+1} with the class y fixed; the walk
  from y to b with z fixed. A status line says what is drawn and what the digit classifier reads.

Every change is drawn in the widget's own ``observe`` callback, which runs in the kernel's main
thread: no thread, no loop, so it works wherever widgets do, Colab's foreground included (Colab
drops widget updates sent from other threads), on ipywidgets 7.7 and 8 alike.
"""
from __future__ import annotations

import torch

from ..checks import is_number
from ..conditional import one_hot
from .images import grid_png

__all__ = ["mix_code", "class_grid", "z_walk", "class_walk", "ConditionalExplorer", "explorer"]


def _generator(gan):
    """The conditional G of ``gan`` (a ConditionalGAN), or ``gan`` itself if it is one."""
    G = getattr(gan, "G", gan)
    if not all(hasattr(G, name) for name in ("decode", "noise_dim", "classes")):
        raise TypeError(f"gan must be a ConditionalGAN or a ConditionalGenerator (with decode, noise_dim and "
                        f"classes), got {type(gan).__name__}")
    return G


def _check_class(name: str, value, classes: int) -> int:
    if not is_number(value, integer=True) or not 0 <= value < classes:
        raise ValueError(f"{name} must be a class from 0 to {classes - 1}, got {value!r}")
    return int(value)


def _check_fraction(name: str, value) -> float:
    if not is_number(value) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number from 0 to 1, got {value!r}")
    return float(value)


def mix_code(a: int, b: int, t, classes: int) -> torch.Tensor:
    """The class code (1 - t) onehot(a) + t onehot(b), one row per value of ``t`` (a number or a
    1D tensor of numbers in [0, 1]): (len(t), classes). t = 0 is class a, t = 1 class b."""
    a, b = _check_class("a", a, classes), _check_class("b", b, classes)
    t = torch.as_tensor(t, dtype=torch.float32).reshape(-1, 1)
    if t.numel() == 0 or t.min() < 0 or t.max() > 1:
        raise ValueError(f"t must hold numbers from 0 to 1, got {t.flatten().tolist()}")
    ends = one_hot(torch.tensor([a, b]), classes)
    return (1 - t) * ends[0] + t * ends[1]


@torch.no_grad()
def class_grid(gan, z: torch.Tensor) -> torch.Tensor:
    """G(z_j, c) for every class c (rows) and every z_j of ``z`` (k, noise_dim) (columns):
    (classes * k, *image shape), row after row. A column holds one z, so it shows what z
    decides (the style) and a row what y decides (the digit)."""
    G = _generator(gan)
    z = torch.as_tensor(z, dtype=torch.float32).reshape(-1, G.noise_dim)
    labels = torch.arange(G.classes).repeat_interleave(len(z))
    return G(z.repeat(G.classes, 1), labels)


@torch.no_grad()
def z_walk(gan, z0: torch.Tensor, z1: torch.Tensor, y: int, steps: int = 8) -> torch.Tensor:
    """G(z(t), y) for ``steps`` values of t from 0 to 1, z(t) = (1 - t) z0 + t z1: the class y
    fixed, the noise moving on a straight line. (steps, *image shape)."""
    G = _generator(gan)
    t = torch.linspace(0, 1, steps)[:, None]
    z = (1 - t) * torch.as_tensor(z0).reshape(1, -1) + t * torch.as_tensor(z1).reshape(1, -1)
    return G.decode(z, one_hot(torch.full((steps,), _check_class("y", y, G.classes)), G.classes))


@torch.no_grad()
def class_walk(gan, z: torch.Tensor, a: int, b: int, steps: int = 8) -> torch.Tensor:
    """g(concat(z, (1 - t) onehot(a) + t onehot(b))) for ``steps`` values of t from 0 to 1: z
    fixed, the class code moving from a to b. (steps, *image shape)."""
    G = _generator(gan)
    code = mix_code(a, b, torch.linspace(0, 1, steps), G.classes)
    return G.decode(torch.as_tensor(z, dtype=torch.float32).reshape(1, -1).expand(steps, -1), code)


class ConditionalExplorer:
    """The widgets of the module's text on a trained conditional ``gan``. ``noises`` fixed noise
    draws (seed ``seed``), walks of ``steps`` images; ``classifier``: images -> class scores for
    the status line ("auto": the course's digit classifier for 8x8 digits; None: no reading).

    ``set(digit=..., noise=..., walk=..., to_digit=..., mix=...)`` changes what is drawn, as the
    widgets do; ``images()`` gives the three images' tensors; ``widget()`` builds the widgets."""

    def __init__(self, gan, seed: int = 0, noises: int = 100, steps: int = 8, classifier="auto"):
        self.G = _generator(gan)
        if not is_number(noises, integer=True) or noises < 2 or not is_number(steps, integer=True) or steps < 2:
            raise ValueError(f"noises and steps must be integers of at least 2, got {noises!r} and {steps!r}")
        self.z = torch.randn(noises, self.G.noise_dim, generator=torch.Generator().manual_seed(seed))
        self.steps = int(steps)
        if classifier == "auto":
            classifier = _digit_classifier_for(self.G)
        self.classifier = classifier
        self.state = dict(digit=0, noise=0, walk=0.0, to_digit=1 % self.G.classes, mix=0.0)
        self.ui = None

    def set(self, **changes) -> None:
        """Change ``digit``, ``noise``, ``walk``, ``to_digit`` or ``mix`` (checked), then redraw."""
        checks = {"digit": lambda v: _check_class("digit", v, self.G.classes),
                  "to_digit": lambda v: _check_class("to_digit", v, self.G.classes),
                  "noise": self._check_noise, "walk": lambda v: _check_fraction("walk", v),
                  "mix": lambda v: _check_fraction("mix", v)}
        unknown = set(changes) - set(checks)
        if unknown:
            raise ValueError(f"set() takes {', '.join(checks)}; got {', '.join(sorted(unknown))}")
        self.state.update({name: checks[name](value) for name, value in changes.items()})
        self.refresh()

    def _check_noise(self, value) -> int:
        if not is_number(value, integer=True) or not 0 <= value < len(self.z):
            raise ValueError(f"noise must be an integer from 0 to {len(self.z) - 1}, got {value!r}")
        return int(value)

    def z_now(self) -> torch.Tensor:
        """z = (1 - t) z_k + t z_{k+1} (k = noise, t = walk; after the last draw comes the first)."""
        k, t = self.state["noise"], self.state["walk"]
        return (1 - t) * self.z[k] + t * self.z[(k + 1) % len(self.z)]

    def images(self) -> dict:
        """The three images: ``main`` G(z, code) (1 image), ``z_walk`` and ``class_walk``."""
        s = self.state
        code = mix_code(s["digit"], s["to_digit"], s["mix"], self.G.classes)
        with torch.no_grad():
            main = self.G.decode(self.z_now()[None], code)
        k = s["noise"]
        return dict(main=main, z_walk=z_walk(self.G, self.z[k], self.z[(k + 1) % len(self.z)], s["digit"], self.steps),
                    class_walk=class_walk(self.G, self.z_now(), s["digit"], s["to_digit"], self.steps))

    def status(self, main: torch.Tensor) -> str:
        """What is drawn, in words, and what the classifier reads in the large image."""
        s = self.state
        asked = f"G(z, y) asked for the digit {s['digit']}"
        if s["mix"] > 0:
            asked = f"G asked for {1 - s['mix']:.2f} x digit {s['digit']} + {s['mix']:.2f} x digit {s['to_digit']}"
        text = f"{asked}, noise z{s['noise']} walked {s['walk']:.2f} of the way to the next"
        if self.classifier is not None:
            with torch.no_grad():
                p = torch.softmax(self.classifier(main.float().cpu()), dim=1)[0]
            text += f" | the digit classifier reads {int(p.argmax())} ({p.max():.0%})"
        return text

    def refresh(self) -> None:
        """Redraw the three images and the status line (when the widgets exist)."""
        if self.ui is None:
            return
        im = self.images()
        self.ui["main"].value = grid_png(im["main"], nrow=1, scale=16)
        self.ui["z_walk"].value = grid_png(im["z_walk"], nrow=self.steps, scale=6)
        self.ui["class_walk"].value = grid_png(im["class_walk"], nrow=self.steps, scale=6)
        self.ui["status"].value = self.status(im["main"])

    def changed(self, name: str, value) -> None:
        """A widget moved: ``set`` it; a refused value shows in the status line."""
        try:
            self.set(**{name: value})
        except ValueError as err:
            self.ui["status"].value = f"ignored: {err}"

    def widget(self):
        """The controls, the images and the status line (ipywidgets), built once."""
        if self.ui is None:
            self.ui = _build(self)
            self.refresh()
        return self.ui["box"]


def _digit_classifier_for(G):
    """The course's digit classifier if G draws 8x8 gray images of 10 classes, else None."""
    if tuple(getattr(G, "data_shape", ())) == (1, 8, 8) and G.classes == 10:
        from ..metrics.digits import digit_classifier
        return digit_classifier()
    return None


def _build(ex: ConditionalExplorer) -> dict:
    """The widgets of ``ex``, each wired to ``ex.changed`` through ``observe`` (the main thread)."""
    import ipywidgets as w

    classes, s = list(range(ex.G.classes)), ex.state
    buttons = dict(style={"button_width": "36px"}, layout=w.Layout(width="auto"))
    ui = {"digit": w.ToggleButtons(options=classes, value=s["digit"], description="digit y", **buttons),
          "to_digit": w.ToggleButtons(options=classes, value=s["to_digit"], description="to digit", **buttons),
          "noise": w.IntSlider(value=s["noise"], min=0, max=len(ex.z) - 1, description="noise z"),
          "walk": w.FloatSlider(value=s["walk"], min=0, max=1, step=0.05, description="z walk"),
          "mix": w.FloatSlider(value=s["mix"], min=0, max=1, step=0.05, description="class mix"),
          "status": w.Label(""), "main": w.Image(format="png"), "z_walk": w.Image(format="png"),
          "class_walk": w.Image(format="png")}
    for name in ("digit", "to_digit", "noise", "walk", "mix"):
        ui[name].observe(lambda change, name=name: ex.changed(name, change["new"]), names="value")
    for name in list(ui):  # gan-edu-explorer-digit, ...: for styles and browser tests
        ui[name].add_class("gan-edu-explorer-" + name.replace("_", "-"))
    def caption(text):
        return w.HTML(f"<small>{text}</small>")
    ui["box"] = w.VBox([ui["digit"], w.HBox([ui["noise"], ui["walk"]]), ui["to_digit"], ui["mix"], ui["status"],
                        w.HBox([ui["main"], w.VBox([caption("z walks from z_k to z_(k+1), digit y fixed"), ui["z_walk"],
                                                    caption("the class walks from y to the other digit, z fixed"),
                                                    ui["class_walk"]])])])
    return ui


def explorer(gan, **options):
    """The explorer's widget for a trained conditional ``gan`` (``ConditionalExplorer``'s options)."""
    return ConditionalExplorer(gan, **options).widget()

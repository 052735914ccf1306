"""Setting up on Colab: install what the course needs and Colab lacks, and nothing else.

Colab ships torch, ipywidgets 7.7.1, ipykernel, IPython and matplotlib, and its widget manager
does not support ipywidgets 8: upgrading any of them there breaks the widgets (or the runtime).
So the notebooks' first cell installs the package with ``pip install --no-deps`` and then calls
``install_missing()``: each requirement of the package and of its ``notebooks`` extra that is not
installed at all is installed; one that is installed is kept as it is, whatever its version
(a version outside the range is reported, never changed). It prints what it did.
"""
from __future__ import annotations

import subprocess
import sys
from importlib import metadata

from packaging.requirements import Requirement

__all__ = ["requirements", "missing", "install_missing"]

PACKAGE = "gan-edu"
EXTRA = "notebooks"


def requirements(package: str = PACKAGE, extra: str = EXTRA) -> list[Requirement]:
    """The package's own requirements and those of its ``extra`` (from its installed metadata)."""
    out = []
    for line in metadata.requires(package) or []:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({"extra": extra}) or req.marker.evaluate({"extra": ""}):
            if req.name != package:
                out.append(req)
    return out


def installed_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def missing(reqs=None, version_of=installed_version) -> tuple[list[str], list[str]]:
    """(requirements to install: those not installed at all, as pip arguments; notes on those
    installed at a version outside their range, which are kept)."""
    install, notes = [], []
    for req in requirements() if reqs is None else reqs:
        version = version_of(req.name)
        if version is None:
            install.append(str(req).split(";")[0].strip())
        elif req.specifier and not req.specifier.contains(version, prereleases=True):
            notes.append(f"{req.name} {version} kept (the course asks for {req.specifier}; not changed here)")
    return install, notes


def install_missing(reqs=None, version_of=installed_version, run=subprocess.run) -> list[str]:
    """Install with pip what ``missing`` lists (never upgrading what is there); print what was
    installed and what was kept outside its range. Returns the pip arguments installed."""
    install, notes = missing(reqs, version_of)
    if install:
        run([sys.executable, "-m", "pip", "install", "-q", *install], check=True)
    print("installed: " + ", ".join(install) if install else "nothing to install: everything was there")
    for note in notes:
        print(note)
    return install

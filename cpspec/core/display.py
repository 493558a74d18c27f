"""Rich display in notebooks without the core importing the renderer.

Diagrams and agents show themselves as pictures (``_repr_svg_``), but the renderer lives
above them (:mod:`cpspec.export.drawing` imports diagrams, not the other way round). The
renderer registers itself here when it is imported (``import cpspec`` does), and the
objects ask for it by calling :func:`svg`. Imports so flow one way.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["register_svg", "svg"]

_RENDERER: list[Callable[[Any], str]] = []


def register_svg(render: Callable[[Any], str]) -> None:
    """Install the SVG renderer (``cpspec.export.drawing.draw``); the last one wins."""
    _RENDERER[:] = [render]


def svg(obj: Any) -> str | None:
    """``obj`` as SVG text, or None when no renderer is installed (the notebook then
    falls back to the text repr).

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import dice_world
    >>> svg(dice_world()).startswith("<svg")
    True
    """
    return _RENDERER[0](obj) if _RENDERER else None

"""Rich display in notebooks without the core importing the renderer, and the small
HTML and LaTeX helpers the result types use for their ``_repr_html_`` and
``_repr_latex_`` (plain text stays their ``str``; nothing here needs IPython).

Diagrams and agents show themselves as pictures (``_repr_svg_``), but the renderer lives
above them (:mod:`cpspec.export.drawing` imports diagrams, not the other way round). The
renderer registers itself here when it is imported (``import cpspec`` does), and the
objects ask for it by calling :func:`svg`. Imports so flow one way.
"""

from __future__ import annotations

import html
from fractions import Fraction
from typing import Any, Callable

import sympy

__all__ = ["register_svg", "svg", "html_table", "latex_text", "latex_value"]

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


def html_table(header: list, rows: list, caption: str | None = None) -> str:
    """An HTML table of plain values (escaped), for ``_repr_html_``.

    Examples
    --------
    >>> html_table(["action", "E(U)"], [["take", "1"], ["wait", "27/10"]], "state start")
    '<table><caption>state start</caption><tr><th>action</th><th>E(U)</th></tr><tr><td>take</td><td>1</td></tr><tr><td>wait</td><td>27/10</td></tr></table>'
    """
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    head = "<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row)
                   + "</tr>" for row in rows)
    return f"<table>{cap}{head}{body}</table>"


_TEXT_ESCAPES = {"\\": r"\backslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
                 "#": r"\#", "%": r"\%", "_": r"\_", "^": r"\hat{}", "~": r"\sim{}"}


def latex_text(s: Any) -> str:
    """``s`` as text inside LaTeX math (``\\text{...}``, special characters escaped).

    Examples
    --------
    >>> latex_text("S_0 & 50%")
    '\\\\text{S\\\\_0 \\\\& 50\\\\%}'
    """
    return r"\text{" + "".join(_TEXT_ESCAPES.get(c, c) for c in str(s)) + "}"


def latex_value(v: Any) -> str:
    """A value as LaTeX math: numbers and expressions by SymPy, anything else as text."""
    if isinstance(v, sympy.Basic):
        return sympy.latex(v)
    if isinstance(v, (int, Fraction)) and not isinstance(v, bool):
        return sympy.latex(sympy.Rational(v))
    return latex_text(v)

"""Diagram surgery: counterfactual worlds built by replacing structural functions.

A counterfactual world is a copy of a diagram under a new name, with some nodes'
structural functions (and so possibly their arcs) changed. Its variables are ``X_c``;
expressions may mix worlds through expectations: ``cp.E(c.S) - cp.E(f.S)``.
"""

from __future__ import annotations

from typing import Any

from .diagram import Diagram

__all__ = ["replace"]


def replace(diagram: Diagram, new_name: str, /, **nodes: Any) -> Diagram:
    """Return the world ``new_name``: ``diagram`` with the given nodes replaced.

    Parameters
    ----------
    diagram : Diagram
        The factual world; it is not changed.
    new_name : str
        The counterfactual world's name; it must differ from the original's, because
        variables are told apart by their world's name.
    **nodes : StructuralFunction or value
        New structural functions by node name (a plain value is ``cp.const(value)``).
        A replacement may read other parents (cutting or adding arcs); a name the
        diagram does not have adds a node.

    Examples
    --------
    >>> import cpspec as cp
    >>> f = cp.world("f", G=cp.uniform(range(1, 7)), R=cp.uniform(range(1, 7)),
    ...              S=cp.fn(lambda G, R: G + R))
    >>> c = cp.replace(f, "c", R=6)
    >>> cp.P(c.S == 12), cp.P(f.S == 12)
    (1/6, 1/36)
    """
    return diagram.replace(new_name, **nodes)

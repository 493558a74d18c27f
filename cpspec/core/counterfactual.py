"""Diagram surgery: counterfactual worlds built by replacing structural functions.

A counterfactual world is a copy of a diagram under a new name, with some nodes'
structural functions (and so possibly their arcs) changed. Its variables are ``X_c``;
expressions may mix worlds through expectations: ``cp.E(c.S) - cp.E(f.S)``.
"""

from __future__ import annotations

from typing import Any

from .diagram import Diagram, make_node, validate
from ..errors import DuplicateNodeError, SpecError
from .functions import normalize_name

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
    if normalize_name(new_name, "world name") == diagram.name:
        raise SpecError(f"the counterfactual of world {diagram.name!r} needs a new name; "
                        f"replace({new_name!r}, ...) would make X_{diagram.name} ambiguous")
    if not nodes:
        raise SpecError(f"replace() on world {diagram.name!r} names no node to change; "
                        "pass e.g. R=cp.const(6)")
    built = dict(diagram.nodes)
    given: dict[str, str] = {}
    for name, f in nodes.items():
        node = make_node(name, f)  # names are NFKC-normalised, as Python reads them
        if node.name in given:
            raise DuplicateNodeError(
                f"replace() on world {diagram.name!r} got node {name!r} and "
                f"{given[node.name]!r}, which are one name after Unicode NFKC "
                "normalisation (as Python reads identifiers); replace each node once")
        given[node.name] = name
        built[node.name] = node
    out = Diagram(new_name, built.values(), diagram.bindings)
    validate(out)
    return out

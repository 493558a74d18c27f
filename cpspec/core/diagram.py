"""Diagrams: named DAGs of nodes carrying structural functions over finite domains.

A :class:`Diagram` is immutable. Transformations (:meth:`Diagram.replace`,
:meth:`Diagram.bind`) return new diagrams; the original never changes. Each node's
conditional probability table is computed once, on first use, and kept with the diagram
(the diagram is immutable, so the table can never go stale).
"""

from __future__ import annotations

import difflib
import itertools
import keyword
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterable, Mapping

import networkx as nx
import numpy as np
import sympy

from ..errors import (CycleError, DistributionError, DomainError, DuplicateNodeError,
                     FactorTooLargeError, ParameterError, SpecError, UnknownNodeError)
from .display import svg
from .expressions import RV
from .functions import (StructuralFunction, as_sympy, check_probability, const, normalize_name,
                        probability_region, show, to_exact)

__all__ = ["Node", "Table", "Diagram", "world", "MAX_TABLE_ROWS"]

#: Largest number of parent configurations a node's table may have before cpspec
#: refuses to tabulate it (exact inference would need the whole table anyway).
MAX_TABLE_ROWS = 1_000_000


@dataclass(frozen=True, slots=True)
class Node:
    """A node of a diagram: its name, its structural function, and its parents."""

    name: str
    function: StructuralFunction
    parents: tuple[str, ...]

    @property
    def kind(self) -> str:
        """``"chance"``, ``"decision"`` or ``"utility"``."""
        return self.function.kind

    @property
    def label(self) -> str:
        """The structural function's name drawn above the node (``f_X`` by default)."""
        return self.function.label or f"f_{self.name}"


@dataclass(frozen=True, slots=True)
class Table:
    """A node's finite domain and conditional distribution, one row per parent assignment.

    ``rows[k]`` is the distribution (value -> exact probability) for the ``k``-th
    parent assignment in ``itertools.product`` order over the parents' domains.
    Decision nodes have ``rows = None``.
    """

    domain: tuple
    parents: tuple[str, ...]
    rows: tuple[dict, ...] | None


def _check_name(name: str, what: str) -> str:
    """The name, NFKC-normalised as Python normalises identifiers (so ``'Ｇ'`` is
    ``'G'``), checked to be an identifier."""
    norm = normalize_name(name, f"{what} name")
    if not norm.isidentifier() or keyword.iskeyword(norm):
        raise SpecError(f"{what} name {name!r} is not a valid identifier; use letters, "
                        "digits and underscores, not starting with a digit")
    return norm


def _sort_domain(values: list) -> tuple:
    if all(isinstance(v, (int, Fraction)) and not isinstance(v, bool) for v in values):
        return tuple(sorted(values))
    return tuple(values)


class Diagram:
    """A world model: a named DAG whose nodes carry structural functions.

    Build one with :func:`world`. ``diagram.X`` (or ``diagram["X"]``) is the random
    variable ``X`` of this world, to be used in ``cp.P`` and ``cp.E``. A node whose name
    is also a Diagram attribute (``name``, ``replace``, ...) is reached with
    ``diagram["name"]``.

    Examples
    --------
    >>> import cpspec as cp
    >>> f = cp.world("f", G=cp.uniform(range(1, 7)), R=cp.uniform(range(1, 7)),
    ...              S=cp.fn(lambda G, R: G + R))
    >>> f.order, f.parents("S"), f.domain("S")[:3]
    (('G', 'R', 'S'), ('G', 'R'), (2, 3, 4))
    >>> f.table("G").rows[0][3]
    Fraction(1, 6)
    >>> f.node("S").kind, f.node("S").label
    ('chance', 'f_S')
    """

    __slots__ = ("name", "_nodes", "_graph", "_order", "_bindings", "_cache", "_surgery")

    def __init__(self, name: str, nodes: Iterable[Node],
                 bindings: Mapping[sympy.Symbol, Any] | None = None,
                 surgery: Iterable[str] = ()):
        name = _check_name(name, "world")
        node_map: dict[str, Node] = {}
        given: dict[str, str] = {}
        for n in nodes:
            if not isinstance(n, Node):
                raise SpecError(f"world {name!r}: {show(n)} is not a node; build worlds with "
                                "cp.world(name, X=cp.fn(...), ...)")
            norm = _check_name(n.name, f"world {name!r}: node")
            if norm in node_map:
                same = "" if given[norm] == n.name else (
                    f" (as {given[norm]!r}: the names are equal after Unicode NFKC "
                    "normalisation, as Python reads identifiers)")
                raise DuplicateNodeError(
                    f"world {name!r}: node {n.name!r} is defined twice{same}; give each "
                    "node one structural function (use replace() to change one)")
            parents = tuple(normalize_name(p, f"world {name!r}: node {norm!r}: parent")
                            for p in n.parents)
            if len(set(parents)) != len(parents):
                twice = next(p for i, p in enumerate(parents) if p in parents[:i])
                raise SpecError(f"world {name!r}: node {norm!r} lists parent {twice!r} "
                                "twice; a node reads each parent once")
            given[norm] = n.name
            if norm != n.name or parents != n.parents:
                n = Node(norm, n.function, parents)
            node_map[norm] = n
        graph = nx.DiGraph()
        graph.add_nodes_from(node_map)
        for n in node_map.values():
            for p in n.parents:
                if p not in node_map:
                    close = difflib.get_close_matches(p, node_map, n=1)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    raise UnknownNodeError(
                        f"world {name!r}: node {n.name!r} has unknown parent {p!r}; {hint}"
                        f"known nodes: {', '.join(node_map)}")
                graph.add_edge(p, n.name)
        cycle = None
        if not nx.is_directed_acyclic_graph(graph):  # find_cycle only to name the cycle
            cycle = nx.find_cycle(graph)
        if cycle:
            path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
            raise CycleError(f"world {name!r} has a cycle {path}; a world model must be a "
                             "DAG: cut one of these arcs (e.g. use a time index)")
        position = {k: i for i, k in enumerate(node_map)}
        order = tuple(nx.lexicographical_topological_sort(graph, key=position.__getitem__))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_nodes", {k: node_map[k] for k in order})
        object.__setattr__(self, "_graph", nx.freeze(graph))
        object.__setattr__(self, "_order", order)
        object.__setattr__(self, "_bindings", dict(bindings or {}))
        object.__setattr__(self, "_cache", {})
        object.__setattr__(self, "_surgery", frozenset(surgery) & set(order))

    def __setattr__(self, key, value):
        raise AttributeError("a Diagram is immutable; use replace() to build a new one")

    def __reduce__(self):
        # pickled (to send it to a worker process) as what defines it; the memo of
        # derived tables is rebuilt where it is needed
        return (Diagram, (self.name, tuple(self._nodes.values()), self._bindings))

    # ---- access ---------------------------------------------------------------------
    def __getattr__(self, item: str) -> RV:
        try:
            nodes = object.__getattribute__(self, "_nodes")
        except AttributeError:  # during unpickling/copying, before __init__
            raise AttributeError(item) from None
        if item in nodes:
            return RV(self, item)
        if isinstance(item, str) and not item.isascii() and normalize_name(item) in nodes:
            return RV(self, normalize_name(item))
        raise AttributeError(f"world {self.name!r} has no node {item!r}; "
                             f"its nodes are {', '.join(nodes)}")

    def __getitem__(self, item: str) -> RV:
        return RV(self, self._lookup(item))

    def _lookup(self, item: str) -> str:
        """The node's name, NFKC-normalised as the names were."""
        if isinstance(item, str) and item in self._nodes:
            return item
        norm = normalize_name(item) if isinstance(item, str) else None
        if norm not in self._nodes:
            raise UnknownNodeError(f"world {self.name!r} has no node {show(item)}; "
                                   f"its nodes are {', '.join(self._nodes)}")
        return norm

    def __contains__(self, item: str) -> bool:
        if not isinstance(item, str):
            return False
        return item in self._nodes or normalize_name(item) in self._nodes

    def __iter__(self):
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __repr__(self) -> str:
        return f"<Diagram {self.name!r}: {', '.join(self._order)}>"

    def _repr_svg_(self) -> str | None:
        """The diagram in the paper's notation, for notebooks."""
        return svg(self)

    def __dir__(self):
        return list(super().__dir__()) + list(self._nodes)

    @property
    def nodes(self) -> dict[str, Node]:
        """The nodes, in topological order (a copy)."""
        return dict(self._nodes)

    @property
    def graph(self) -> nx.DiGraph:
        """The DAG (a frozen networkx graph)."""
        return self._graph

    @property
    def order(self) -> tuple[str, ...]:
        """Node names in a topological order (declaration order where the arcs allow)."""
        return self._order

    @property
    def surgery(self) -> frozenset:
        """The nodes whose structural functions :meth:`replace` changed to make this
        counterfactual world from its factual one (empty for a factual world); pictures
        highlight them.

        Examples
        --------
        >>> import cpspec as cp
        >>> f = cp.world("f", G=cp.uniform([1, 2]), S=cp.fn(lambda G: 2 * G))
        >>> sorted(f.replace("c", G=1).surgery), sorted(f.surgery)
        (['G'], [])
        """
        return self._surgery

    @property
    def bindings(self) -> dict:
        """Parameter values bound with :meth:`bind`."""
        return dict(self._bindings)

    def node(self, name: str) -> Node:
        """The node called ``name``."""
        return self._nodes[self._lookup(name)]

    def parents(self, name: str) -> tuple[str, ...]:
        """The parents of node ``name``, in the order its function takes them."""
        return self.node(name).parents

    def ancestors(self, names: Iterable[str]) -> set[str]:
        """``names`` and all their ancestors."""
        out = set(names)
        for n in list(out):
            out |= nx.ancestors(self._graph, n)
        return out

    # ---- tables ---------------------------------------------------------------------
    def domain(self, name: str) -> tuple:
        """The finite domain of node ``name`` (values in a fixed order)."""
        return self.table(name).domain

    def memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """A value derived from this (immutable) diagram, computed once: its tables, the
        exact field of its probabilities, elimination orders. ``key`` names what is
        derived; ``compute`` is called only the first time. The memo never changes what
        the diagram means, only how often the work is done.

        Examples
        --------
        >>> import cpspec as cp
        >>> d = cp.world("d", X=cp.uniform([0, 1]))
        >>> d.memo(("answer",), lambda: 42), d.memo(("answer",), lambda: 0)
        (42, 42)
        """
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def table(self, name: str) -> Table:
        """The node's :class:`Table` (computed on first use, then kept)."""
        hit = self._cache.get(("table", name))
        if hit is None:
            name = self.node(name).name
            self._fill_tables(name)
            hit = self._cache[("table", name)]
        if isinstance(hit, tuple) and len(hit) == 2 and isinstance(hit[0], FactorTooLargeError):
            if hit[1] == MAX_TABLE_ROWS:
                raise FactorTooLargeError(str(hit[0]))
            del self._cache[("table", name)]  # the limit was raised since: try again
            return self.table(name)
        return hit

    def _fill_tables(self, name: str) -> None:
        """Tabulate ``name`` and its untabulated ancestors, parents first (a loop, not a
        recursion: a chain of thousands of nodes must not exhaust Python's stack). A
        table that is too large is remembered as such, so that its descendants fail at
        once instead of retrying it (which made long chains quadratic)."""
        todo, stack = {name}, [name]
        while stack:
            for p in self._nodes[stack.pop()].parents:
                if p not in todo and ("table", p) not in self._cache:
                    todo.add(p)
                    stack.append(p)
        pos = self._cache.get(("position",))
        if pos is None:
            pos = self._cache[("position",)] = {k: i for i, k in enumerate(self._order)}
        for n in sorted(todo, key=pos.__getitem__):
            try:
                self._cache[("table", n)] = self._tabulate(self._nodes[n])
            except FactorTooLargeError as exc:
                self._cache[("table", n)] = (exc, MAX_TABLE_ROWS)

    def _tabulate(self, node: Node) -> Table:
        parent_domains = [self.domain(p) for p in node.parents]
        size = 1
        for d in parent_domains:
            size *= len(d)
        if size > MAX_TABLE_ROWS:
            widths = " x ".join(f"{p}:{len(d)}" for p, d in zip(node.parents, parent_domains))
            raise FactorTooLargeError(
                f"world {self.name!r}: node {node.name!r} would need a table of {size} parent "
                f"assignments ({widths}), above cpspec.core.diagram.MAX_TABLE_ROWS = "
                f"{MAX_TABLE_ROWS}; shrink the parents' domains or split the node")
        f = node.function
        if f.kind == "decision":
            return Table(f.values, node.parents, None)
        rows = []
        seen: dict = {}
        for args in itertools.product(*parent_domains):
            row = f.distribution(node.name, args)
            if self._bindings:
                row = self._bind_row(node.name, row)
            rows.append(row)
            for v in row:
                seen.setdefault(v, None)
        if f.values is not None:
            declared = set(f.values)  # a set: `in` on the tuple made this quadratic
            extra = [v for v in seen if v not in declared]
            if extra:
                shown = show(f.values) if len(f.values) <= 20 else \
                    f"({len(f.values)} values)"
                raise DomainError(f"world {self.name!r}: node {node.name!r} produced "
                                  f"{show(extra[0])}, outside its declared values {shown}")
            domain = tuple(f.values)
        else:
            domain = _sort_domain(list(seen))
        if not domain:
            raise DomainError(f"world {self.name!r}: node {node.name!r} has an empty domain")
        return Table(domain, node.parents, tuple(rows))

    def _bind_row(self, node: str, row: dict) -> dict:
        out: dict = {}
        for v, p in row.items():
            if isinstance(v, sympy.Basic):
                v = v.subs(self._bindings)
                v = int(v) if isinstance(v, sympy.Integer) else v
            if isinstance(p, sympy.Basic):
                unbound = p
                try:
                    p = check_probability(
                        to_exact(sympy.simplify(p.subs(self._bindings)),
                                 what=f"node {node!r}: bound probability"),
                        f"node {node!r}: with {self._show_bindings()} the probability "
                        f"{unbound} of value {show(v)}")
                except DistributionError as exc:
                    region = probability_region(unbound)
                    where = f"; it lies in [0, 1] only for {region}" if region else ""
                    raise ParameterError(f"{exc}{where}; bind the parameters to values "
                                         "for which every probability is in [0, 1]") from None
            out[v] = out.get(v, 0) + p
        return out

    def _show_bindings(self) -> str:
        return ", ".join(f"{k} = {show(v)}" for k, v in self._bindings.items())

    def free_symbols(self) -> set[sympy.Symbol]:
        """The symbolic parameters left free in the diagram's probabilities and values.

        >>> import cpspec as cp, sympy
        >>> cp.world("w", X=cp.bernoulli(sympy.Symbol("p"))).free_symbols()
        {p}
        """
        key = ("free",)
        if key not in self._cache:
            syms: set = set()
            for name in self._order:
                t = self.table(name)
                for v in t.domain:
                    if isinstance(v, sympy.Basic):
                        syms |= v.free_symbols
                for row in t.rows or ():
                    for p in row.values():
                        if isinstance(p, sympy.Basic):
                            syms |= p.free_symbols
            self._cache[key] = syms
        return set(self._cache[key])

    # ---- transformations ------------------------------------------------------------
    def replace(self, new_name: str, /, **nodes: StructuralFunction | Any) -> "Diagram":
        """The counterfactual world ``new_name``: this diagram with some structural
        functions replaced (diagram surgery). A replacement may have other parents,
        which cuts or adds arcs. The original diagram is untouched.

        A plain value ``v`` stands for ``cp.const(v)``; a new name adds a node.

        Examples
        --------
        >>> import cpspec as cp
        >>> f = cp.world("f", G=cp.uniform(range(1, 7)), R=cp.uniform(range(1, 7)),
        ...              S=cp.fn(lambda G, R: G + R))
        >>> c = f.replace("c", R=cp.const(6))
        >>> cp.E(c.S) - cp.E(f.S)
        5/2
        """
        if normalize_name(new_name, "world name") == self.name:
            raise SpecError(f"the counterfactual of world {self.name!r} needs a new name; "
                            f"replace({new_name!r}, ...) would make X_{self.name} ambiguous")
        if not nodes:
            raise SpecError(f"replace() on world {self.name!r} names no node to change; "
                            "pass e.g. R=cp.const(6)")
        built = dict(self._nodes)
        given: dict[str, str] = {}
        for name, f in nodes.items():
            node = make_node(name, f)  # names are NFKC-normalised, as Python reads them
            if node.name in given:
                raise DuplicateNodeError(
                    f"replace() on world {self.name!r} got node {name!r} and "
                    f"{given[node.name]!r}, which are one name after Unicode NFKC "
                    "normalisation (as Python reads identifiers); replace each node once")
            given[node.name] = name
            built[node.name] = node
        out = Diagram(new_name, built.values(), self.bindings, surgery=given)
        validate(out)
        return out

    def bind(self, new_name: str | None = None, /, **values) -> "Diagram":
        """This diagram with symbolic parameters bound to exact values (for simulation,
        or to evaluate a closed form at a point). Keys are parameter names.

        Examples
        --------
        >>> import cpspec as cp, sympy
        >>> p = sympy.Symbol("p")
        >>> w = cp.world("w", X=cp.bernoulli(p))
        >>> cp.P(w.bind(p="1/3").X == 1)
        1/3
        """
        syms: dict = {}
        for s in sorted(self.free_symbols(), key=lambda s: s.name):
            norm = normalize_name(s.name)
            if norm in syms and syms[norm] != s:
                other = syms[norm]
                if values and norm in {normalize_name(k) for k in values}:
                    raise ParameterError(
                        f"world {self.name!r} has two parameters {other.name!r} and "
                        f"{s.name!r} that are one name after Unicode NFKC normalisation "
                        "(as Python reads identifiers); rename one of them")
            syms.setdefault(norm, s)
        bound = dict(self._bindings)
        given: dict = {}
        for k, v in values.items():
            norm = normalize_name(k, "parameter name")
            if norm in given:
                raise ParameterError(
                    f"bind() got parameter {k!r} and {given[norm]!r}, which are one name "
                    "after Unicode NFKC normalisation; give each parameter once")
            given[norm] = k
            if norm not in syms:
                raise ParameterError(f"world {self.name!r} has no free parameter {k!r}; "
                                     f"its parameters are {sorted(syms) or 'none'}")
            try:
                x = to_exact(v, what=f"value of parameter {k!r}")
            except DistributionError as exc:
                raise ParameterError(f"world {self.name!r}: {exc}") from None
            bound[syms[norm]] = as_sympy(x)
        out = Diagram(new_name or self.name, self._nodes.values(), bound, surgery=self._surgery)
        validate(out)  # a bound probability outside [0, 1] is reported here, with its values
        return out


def world(name: str, nodes: Iterable[tuple[str, StructuralFunction]] | None = None, /,
          **kw: StructuralFunction) -> Diagram:
    """Build a world model (a :class:`Diagram`) named ``name``.

    Parameters
    ----------
    name : str
        The world's name; its variables are written ``X_name``.
    nodes : iterable of (name, structural function), optional
        Nodes given as pairs (for names that are not Python keywords-safe, or to build
        programmatically). A name given twice raises :class:`DuplicateNodeError`.
    **kw : StructuralFunction
        Nodes by name. A node's parents are its function's argument names, or the
        ``parents=[...]`` given to :func:`cp.fn` / :func:`cp.dist`.

    Raises
    ------
    CycleError, UnknownNodeError, DuplicateNodeError, DistributionError, FunctionError

    Examples
    --------
    >>> import cpspec as cp
    >>> f = cp.world("f", G=cp.uniform(range(1, 7)), R=cp.uniform(range(1, 7)),
    ...              S=cp.fn(lambda G, R: G + R))
    >>> cp.P(f.S == 12), cp.E(f.S)
    (1/36, 7)
    """
    if nodes is not None and (isinstance(nodes, (str, bytes, Mapping, np.ndarray))
                              or not hasattr(nodes, "__iter__")):
        raise SpecError(f"world {show(name)}: the second positional argument must be an "
                        f"iterable of (name, structural function) pairs, got {show(nodes)}; "
                        "give nodes by keyword: cp.world(name, X=cp.fn(...))")
    pairs = []
    for pair in list(nodes if nodes is not None else ()):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise SpecError(f"world {show(name)}: {show(pair)} is not a (name, structural "
                            "function) pair; give nodes by keyword: cp.world(name, X=...)")
        pairs.append(pair)
    pairs += list(kw.items())
    built = []
    given: dict[str, Any] = {}
    for n, f in pairs:
        node = make_node(n, f)
        if node.name in given and given[node.name] != n:
            raise DuplicateNodeError(
                f"world {show(name)}: nodes {given[node.name]!r} and {n!r} are one name after "
                "Unicode NFKC normalisation (as Python reads identifiers, so a lambda's "
                f"argument {n!r} reads {node.name!r}); rename one of them")
        given.setdefault(node.name, n)
        built.append(node)
    d = Diagram(name, built)
    validate(d)
    return d


def make_node(name: str, f: Any) -> Node:
    """A :class:`Node` from a name and a structural function (a plain value is a const)."""
    name = normalize_name(name, "node name")
    if not isinstance(f, StructuralFunction):
        if callable(f):
            raise SpecError(f"node {name!r}: wrap the callable in cp.fn(...) (deterministic) "
                            "or cp.dist(...) (random)")
        try:
            f = const(f)
        except DomainError as exc:
            raise DomainError(f"node {name!r}: {exc}") from None
    return Node(name, f, f.resolve_parents(name))


def validate(d: Diagram) -> None:
    """Tabulate every node whose table is small enough, so that bad structural functions
    are reported when the world is built, not at the first query."""
    for name in d.order:
        try:
            d.table(name)
        except FactorTooLargeError:
            continue  # left for the simulator's per-sample path

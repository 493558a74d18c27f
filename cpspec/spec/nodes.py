"""The node compiler: one ``[world.W.node.X]`` table (or one ``dynamics.X`` of a factored
MDP) -> its structural function.

A node is one of ``fn`` (deterministic), ``dist = "uniform"``, ``dist = "bernoulli"``
with ``p``, ``probs`` (a table value -> probability), ``prob`` (an expression in the
node's own value and its parents), or ``kind = "decision"``; ``kind = "utility"`` nodes
take ``fn``. Every expression goes through :mod:`cpspec.spec.safeexpr`; every probability
through :func:`~cpspec.spec.base.read_probability`, which records the symbolic ones in
the ``probes`` of the file being loaded (for its range check).
"""

from __future__ import annotations

from dataclasses import dataclass, replace as _dc_replace
from typing import Any

from ..core.functions import StructuralFunction, decision, dist, fn, uniform, utility
from ..errors import DuplicateNameError, SpecError, SpecFileError
from .base import (Probes, brief, key_value, locate, normal_name, read_number,
                   read_probability, read_real_value, read_values, reject_unknown_keys)
from .safeexpr import SafeExpression, parse

__all__ = ["NODE_KEYS", "compile_node", "read_parents"]

#: The keys a node table may hold.
NODE_KEYS = frozenset({"values", "dist", "p", "probs", "prob", "fn", "parents", "kind",
                       "label"})

_HOWS = ("fn", "dist", "probs", "prob")


def read_parents(raw, where: str, node_names, n: str) -> tuple:
    """An explicit ``parents = [...]``: distinct, NFKC-normalised names of other nodes."""
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise SpecFileError(f'{where}: parents must be a list of node names, e.g. parents = '
                            f'["X", "Y"], not {brief(raw)}')
    out: list = []
    for p in raw:
        q = normal_name(p)
        if q in out:
            raise DuplicateNameError(f"{where}: parents lists {q!r} twice; list each once")
        if q == n:
            raise SpecFileError(f"{where}: node {n!r} cannot be its own parent")
        if q not in node_names:
            raise SpecFileError(f"{where}: parent {p!r} is not a node here; nodes: "
                                f"{', '.join(sorted(map(str, node_names)))}")
        out.append(q)
    return tuple(out)


def compile_node(w, n, nd, node_names, params, path, lines, where: str | None = None,
                 probes: Probes | None = None) -> StructuralFunction:
    """One node table -> its structural function.

    ``params`` maps the names an expression may read besides the nodes (parameters; in a
    factored MDP also the value words) to their values; ``probes`` collects the file's
    symbolic probabilities (expression -> (where, what)) for its range check.
    """
    where = where or locate(path, lines, f"world.{w}.node.{n}", label=f"node {n} of world {w}")
    if not isinstance(nd, dict):
        raise SpecFileError(f"{where}: a node must be a table with fn, dist, probs or prob")
    reject_unknown_keys(nd, NODE_KEYS, path, lines, f"node {n} of world {w}")
    try:
        return _node_function(n, nd, node_names, params, where, probes)
    except SpecFileError:
        raise
    except SpecError as exc:
        raise SpecFileError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class _Node:
    """What compiling one node needs: its table, the names it may read, where it is
    written, and its checked ``values``, ``parents`` and ``label``."""

    n: str
    nd: dict
    node_names: Any
    params: dict
    where: str
    probes: Probes | None
    how: str
    values: tuple | None
    explicit: tuple | None
    label: str | None

    def compile(self, text, extra_names=(), what: str | None = None) -> SafeExpression:
        """An expression of the node, its names checked against nodes and parameters."""
        what = what or self.how
        e = parse(text, f"{self.where}, {what}")
        bad = sorted(x for x in e.names if x not in self.node_names and x not in self.params
                     and x not in extra_names)
        if bad:
            raise SpecFileError(f"{self.where}: unknown name {bad[0]!r} in {what} = "
                                f"{brief(text)}; names must be nodes of the world or declared "
                                f"params, and a text value is written in quotes "
                                f"('{bad[0]}')")
        return e

    def parents_of(self, exprs, own=()) -> tuple:
        """The nodes the expressions read (in order), or the explicit parents, which must
        include them."""
        used: list[str] = []
        for e in exprs:
            for name in sorted(e.names):
                if name in self.node_names and name not in own and name not in used:
                    used.append(name)
        if self.explicit is not None:
            missing = [u for u in used if u not in self.explicit]
            if missing:
                raise SpecFileError(f"{self.where}: the expression reads {missing[0]!r}, which "
                                    f"is not among parents = {list(self.explicit)}")
            return self.explicit
        return tuple(used)

    def env(self, parents, args) -> dict:
        """The names an expression reads for one assignment of the parents."""
        return {**self.params, **dict(zip(parents, args))}

    def probability(self, x, what: str):
        return read_probability(x, self.where, what, self.probes)


def _node_function(n, nd, node_names, params, where, probes) -> StructuralFunction:
    kinds = [k for k in _HOWS if k in nd]
    kind = nd.get("kind", "chance")
    if not isinstance(kind, str) or kind not in ("chance", "decision", "utility"):
        raise SpecFileError(f'{where}: kind must be "chance", "decision" or "utility", not '
                            f'{brief(kind)}')
    values = read_values(nd["values"], where) if "values" in nd else None
    explicit = read_parents(nd["parents"], where, node_names, n) if "parents" in nd else None
    label = nd.get("label")
    if label is not None and not isinstance(label, str):
        raise SpecFileError(f"{where}: label must be a string, not {brief(label)}")
    if kind == "decision":
        if kinds:
            raise SpecFileError(f"{where}: a decision node is chosen by a policy: give values "
                                f"and parents, not {kinds[0]}")
        if not values:
            raise SpecFileError(f"{where}: a decision node needs values = [...] (its actions)")
        return decision(values, parents=explicit or (), label=label)
    if len(kinds) != 1:
        raise SpecFileError(f"{where}: give exactly one of fn, dist, probs, prob "
                            f"(found {', '.join(kinds) or 'none'})")
    how = kinds[0]
    if kind == "utility" and how != "fn":
        raise SpecFileError(f'{where}: a utility node is deterministic: give fn = "...", not '
                            f"{how}")
    if "p" in nd and nd.get("dist") != "bernoulli":
        raise SpecFileError(f'{where}: p = ... is the probability of dist = "bernoulli"; '
                            "this node has none")
    node = _Node(n, nd, node_names, dict(params), where, probes, how, values, explicit, label)
    if how == "fn":
        return _utility_node(node) if kind == "utility" else _fn_node(node)
    return {"dist": _dist_node, "probs": _probs_node, "prob": _prob_node}[how](node)


def _utility_node(node: _Node) -> StructuralFunction:
    e = node.compile(node.nd["fn"])
    parents = node.parents_of([e])

    def value(*args):
        return read_number(e.evaluate(node.env(parents, args)), node.where, "the utility")
    return utility(value, parents=parents, label=node.label)


def _fn_node(node: _Node) -> StructuralFunction:
    e = node.compile(node.nd["fn"])
    parents = node.parents_of([e])

    def value(*args):
        return read_real_value(e.evaluate(node.env(parents, args)), node.where, "the value")
    f = fn(value, parents=parents, label=node.label)
    return _dc_replace(f, values=node.values) if node.values is not None else f


def _dist_node(node: _Node) -> StructuralFunction:
    d, where, values = node.nd["dist"], node.where, node.values
    if d == "uniform":
        if not values:
            raise SpecFileError(f'{where}: dist = "uniform" needs values = [...], a '
                                "non-empty list")
        if node.explicit:
            raise SpecFileError(f'{where}: dist = "uniform" has no parents')
        return _dc_replace(uniform(values), label=node.label)
    if d == "bernoulli":
        if "p" not in node.nd:
            raise SpecFileError(f"{where}: dist = \"bernoulli\" needs p = \"<expr>\"")
        if values is not None and set(values) != {0, 1}:
            raise SpecFileError(f'{where}: dist = "bernoulli" has the values 0 and 1, not '
                                f"{list(values)}; use probs = {{...}} for others")
        e = node.compile(node.nd["p"], what="p")
        if not e.names & node.node_names and not node.explicit:
            q = node.probability(e.evaluate(node.params), "p")
            return dist({1: q, 0: 1 - q}, label=node.label)
        parents = node.parents_of([e])

        def bern(*args):
            q = node.probability(e.evaluate(node.env(parents, args)), "p")
            return {1: q, 0: 1 - q}
        return _dc_replace(dist(bern, parents=parents, label=node.label), values=(1, 0))
    raise SpecFileError(f"{where}: unknown dist {brief(d)}; use \"uniform\" or "
                        "\"bernoulli\" (or probs = {...} for a table)")


def _probs_node(node: _Node) -> StructuralFunction:
    table, where, values = node.nd["probs"], node.where, node.values
    if not isinstance(table, dict) or not table:
        raise SpecFileError(f"{where}: probs must be a table value = \"probability\"")
    by_text = {str(v): v for v in values} if values is not None else None
    items = []
    seen: dict = {}
    for k, text in table.items():
        if by_text is not None:
            if k not in by_text:
                raise SpecFileError(f"{where}: probs.{k} names a value outside values = "
                                    f"{list(values)}")
            v = by_text[k]
        else:
            v = key_value(k, where)
        if v in seen:
            raise SpecFileError(f"{where}: probs gives value {v!r} twice (as {seen[v]!r} "
                                f"and {k!r}); give each value once")
        seen[v] = k
        items.append((v, k, node.compile(text, what=f"probs.{k}")))
    parents = node.parents_of([e for _, _, e in items])

    def table_fn(*args):
        env = node.env(parents, args)
        return {v: node.probability(e.evaluate(env), f"probs.{k}") for v, k, e in items}
    f = dist(table_fn, parents=parents, label=node.label)
    return _dc_replace(f, values=values or tuple(v for v, _, _ in items))


def _prob_node(node: _Node) -> StructuralFunction:
    """``prob``: an expression in the node's own value and its parents."""
    n, values = node.n, node.values
    if not values:
        raise SpecFileError(f"{node.where}: prob = \"...\" needs values = [...], a non-empty "
                            "list")
    e = node.compile(node.nd["prob"], extra_names=(n,))
    parents = node.parents_of([e], own=(n,))

    def prob_fn(*args):
        env = node.env(parents, args)
        return {v: node.probability(e.evaluate({**env, n: v}), f"prob at {n} = {v!r}")
                for v in values}
    return _dc_replace(dist(prob_fn, parents=parents, label=node.label), values=values)

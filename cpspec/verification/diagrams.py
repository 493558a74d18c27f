"""Properties of a single influence diagram (decisions ``cp.decision``, utilities
``cp.utility``), decided by :func:`cp.verify` as it decides an agent's.

``no_incentive(X)`` on an influence diagram reads: *no decision is chosen for its effect
on X* (no instrumental control incentive on ``X`` drives the choice). Two tiers, each
sound:

* ``structure``: no decision has a directed path to ``X`` that goes on from ``X`` to a
  utility (the graphical criterion of an instrumental control incentive, Everitt et al.
  2021): the decisions cannot gain anything through ``X``, whatever the numbers.
* ``exact``: the *cut* diagram is built in which ``X`` (and every node between a
  decision and ``X``) no longer sees the decisions but their nominal optimal rules (a
  twin copy reading the rules as fixed functions of the information; ``X``'s children
  read the twin), the counterfactual-planning move of ITC. Both diagrams are solved
  exactly. The property holds when every decision rule is the same in both; otherwise
  it fails, and the counterexample names the decision, the information, the action
  chosen for its effect on ``X`` and the one chosen without it, with the exact expected
  utilities of both solutions (the replay).

The other properties are about agents (their learning and planning worlds, traces,
stop buttons): asked of a diagram they are a :class:`~cpspec.errors.SpecError` saying
so. A diagram with symbolic parameters is decided by structure only; the exact tier
asks for numbers (``diagram.bind(p=...)``) and answers *unknown* otherwise.
"""

from __future__ import annotations

from dataclasses import replace as _dc_replace

import networkx as nx

from ..core.diagram import Diagram, world
from ..core.functions import fn, show
from ..decisions.influence import IDSolution
from ..decisions.solving import solve
from ..errors import SpecError, UnknownNodeError
from .properties import Property
from .records import Counterexample, Outcome

__all__ = ["DIAGRAM_PROPERTIES", "decide_diagram", "cut_diagram"]

#: The properties :func:`cp.verify` decides on an influence diagram.
DIAGRAM_PROPERTIES = ("no_incentive",)


def _paths(d: Diagram, X: str) -> list[str]:
    """The decisions with a directed path through ``X`` to a utility."""
    g = d.graph
    utilities = [n for n in d.order if d.node(n).kind == "utility"]
    if not any(nx.has_path(g, X, u) for u in utilities if u != X):
        return []
    return [D for D in d.order if d.node(D).kind == "decision" and D != X
            and nx.has_path(g, D, X)]


def cut_diagram(d: Diagram, X: str, sol: IDSolution) -> Diagram:
    """``d`` with the decisions' influence on ``X`` cut: ``X`` and the nodes between a
    decision and ``X`` get twins (``name_cut``) that read each decision's nominal rule in
    ``sol`` (a chance node ``D_fixed`` of ``D``'s information) instead of the decision;
    ``X``'s children read ``X_cut``.

    Examples
    --------
    >>> import cpspec as cp
    >>> w = cp.world("w", D=cp.decision(["a", "b"]), X=cp.fn(lambda D: D == "b"),
    ...              U=cp.utility(lambda D, X: 2 * X + (D == "a")))
    >>> c = cut_diagram(w, "X", cp.solve(w))
    >>> c.parents("X_cut"), c.parents("U")
    (('D_fixed',), ('D', 'X_cut'))
    """
    decisions = _paths(d, X)
    between = {X} | {n for D in decisions for n in nx.descendants(d.graph, D)
                     if nx.has_path(d.graph, n, X)}
    between -= set(decisions)
    taken = set(d.order)

    def fresh(name: str) -> str:
        while name in taken:
            name += "_"
        taken.add(name)
        return name
    twin = {n: fresh(f"{n}_cut") for n in d.order if n in between}
    fixed = {D: fresh(f"{D}_fixed") for D in decisions}

    def mapped(p: str) -> str:
        return twin.get(p) or fixed.get(p) or p
    nodes = []
    for n in d.order:
        node = d.node(n)
        f = node.function
        if n != X and n not in between and X in node.parents:  # X's children read X_cut
            f = _dc_replace(f, parents=tuple(twin[X] if p == X else p
                                              for p in node.parents))
        nodes.append((n, f))
        if n in fixed:
            rule = sol.rules[n]
            first = d.domain(n)[0]
            nodes.append((fixed[n], _rule_function(rule, first, node.parents)))
        if n in twin:
            nodes.append((twin[n], _dc_replace(f, parents=tuple(mapped(p)
                                                                for p in node.parents))))
    return world(f"{d.name}_cut", nodes)


def _rule_function(rule: dict, first, parents: tuple):
    return fn(lambda *info: rule.get(tuple(info), first), parents=list(parents),
              label="pi*")


def decide_diagram(d: Diagram, prop: Property) -> Outcome:
    """Decide ``prop`` on influence diagram ``d`` (see the module docstring).

    Examples
    --------
    >>> import cpspec as cp
    >>> w = cp.world("w", D=cp.decision(["a", "b"]), X=cp.fn(lambda D: D == "b"),
    ...              U=cp.utility(lambda D, X: 2 * X + (D == "a")))
    >>> v = cp.verify(w, cp.no_incentive("X"))
    >>> v.status, v.method, v.counterexample.data["nominal"], v.counterexample.data["cut"]
    ('fails', 'exact', 'b', 'a')
    >>> cp.verify(w, cp.no_incentive("D")).status   # a decision is not a node to control
    Traceback (most recent call last):
    ...
    cpspec.errors.SpecError: no_incentive(D): 'D' is a decision of world 'w'; name a chance node the decisions might influence
    """
    if prop.name not in DIAGRAM_PROPERTIES:
        raise SpecError(
            f"{prop} is a property of agents (their learning and planning worlds); on an "
            f"influence diagram cp.verify decides {', '.join(DIAGRAM_PROPERTIES)}(node). "
            "Verify an agent (cp.agents.FP(mdp), ...) for the others")
    X = prop.node
    if X not in d:
        raise UnknownNodeError(f"{prop}: world {d.name!r} has no node {X!r}; its nodes are "
                               f"{', '.join(d.order)}")
    kind = d.node(X).kind
    if kind != "chance":
        raise SpecError(f"{prop}: {X!r} is a {kind} of world {d.name!r}; name a chance "
                        "node the decisions might influence")
    decisions = _paths(d, X)
    if not decisions:
        return Outcome("holds", None, f"no decision of world {d.name!r} has a directed path "
                       f"through {X} to a utility, so none can gain anything through {X}, "
                       "whatever the numbers", "structure")
    if d.free_symbols():
        names = ", ".join(sorted(s.name for s in d.free_symbols()))
        return Outcome("unknown", None, f"decisions {', '.join(decisions)} can reach a "
                       f"utility through {X}; whether they are chosen for it depends on the "
                       f"parameters {names}: bind them (diagram.bind({names.split(', ')[0]}"
                       "=...)) for the exact answer", "structure")
    sol = solve(d)
    cut = solve(cut_diagram(d, X, sol))
    for D in decisions:
        for info, a in sol.rules[D].items():
            b = cut.rules[D].get(info, a)
            if a != b:
                ps = d.parents(D)
                where = ", ".join(f"{p} = {show(v)}" for p, v in zip(ps, info)) or \
                    "(no information)"
                eu = sol.expected_utilities(D, *info)
                text = (f"with {where}, decision {D} chooses {a!r} for its effect on {X}: "
                        f"were {X} not to respond to {D}, it would choose {b!r} "
                        f"(expected utilities {', '.join(f'{k!r}: {v}' for k, v in eu.items())}"
                        f"; optimal value {sol.value}, {cut.value} without the influence)")
                data = {"decision": D, "node": X, "information": dict(zip(ps, info)),
                        "nominal": a, "cut": b, "utilities": eu, "value": sol.value,
                        "cut_value": cut.value}
                return Outcome("fails", Counterexample("decision", data, text,
                                                       {"replayed": "exact solve of both"}),
                               None, "exact")
    return Outcome("holds", None, f"decisions {', '.join(decisions)} can reach a utility "
                   f"through {X}, but their optimal rules are the same when {X} does not "
                   "respond to them (both solved exactly)", "exact")

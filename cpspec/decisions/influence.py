"""Solving general causal influence diagrams built with ``cp.world``.

Assumptions (checked; a diagram that breaks them is rejected with the nodes named):

* **one agent**: all decision nodes belong to it and are totally ordered by the arcs
  (a directed path runs from each decision to the next);
* **sufficient recall**: for each decision ``D``, its parents d-separate the utility
  nodes downstream of ``D`` from every earlier decision and earlier information that ``D``
  does not see. Perfect recall (everything earlier is a parent) is the usual special case;
  the Markov agent models of :func:`cp.influence_diagram` satisfy it through ``S_t``.

Under these assumptions backward induction in reverse decision order is exact: for each
decision, the expected utility of each action given each information assignment is an
exact query of the helper diagram in which later decisions follow their optimal rules and
earlier ones (which cannot matter) act uniformly at random. Information assignments of
probability zero cannot occur; their rule is the first action (the tie-break rule).

**The tie rule** (the same as :func:`cp.solve` on an MDP): each decision takes the first
action, in declared order, among those maximising its expected utility, where utilities
stated with ``discount=(gamma, t)`` are discounted from the decision's own time (its
earliest downstream reward). So ``cp.solve(cp.influence_diagram(m, T))`` and
``cp.solve(m, T)`` choose the same rules, also at ``gamma = 0``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cached_property
from fractions import Fraction
from typing import Any, Mapping

import networkx as nx
import sympy

from ..core.diagram import Diagram
from ..errors import ParameterError, SpecError
from ..inference.exact import numeric_value, marginal
from ..core.functions import dist, fn, number_to_sympy
from ..core.display import html_table
from ..core.regions import (Choice, Region, Sign, over_regions, piecewise,
                            merge_adjacent,
                            valid_domain)
from ..core.partition import (RegionSolution, interval_regions, parameter_box,
                              parse_point, solve_regions, tie_rule)
from ..inference.exact import E
import numpy as np

__all__ = ["IDSolution", "ParametricIDSolution", "solve_diagram"]


@dataclass(frozen=True, eq=False)
class IDSolution:
    """The optimal decision rules of an influence diagram and the expected utility.

    ``rules[D]`` maps each assignment of ``D``'s parents (a tuple, in parent order) to the
    chosen action; :attr:`diagram` is the model with every decision replaced by its rule
    (queryable with ``cp.P``/``cp.E``).
    """

    rules: dict
    value: Any
    diagram: Diagram = field(repr=False)
    eu: dict = field(repr=False, default_factory=dict)
    mass: dict = field(repr=False, default_factory=dict)  # D -> info -> P(info, D = first)

    def __repr__(self) -> str:
        return f"IDSolution(value={self.value}, decisions {', '.join(self.rules)})"

    def _repr_html_(self) -> str:
        """Each decision rule as a table, with the optimal expected utility."""
        rows = []
        for D, rule in self.rules.items():
            ps = self.diagram.parents(D)
            for key, a in list(rule.items())[:50]:
                rows.append([D, ", ".join(f"{p}={v}" for p, v in zip(ps, key)) or "-", a])
        return html_table(["decision", "information", "action"], rows,
                          f"E(U) = {self.value}")

    def _repr_latex_(self) -> str:
        return f"$E(U) = {sympy.latex(self.value)}$"

    def policy(self, node: str, *info):
        """The optimal action of decision ``node`` given its parents' values."""
        if node not in self.rules:
            raise SpecError(f"{node!r} is not a decision node; decisions are "
                            f"{', '.join(self.rules)}")
        key = tuple(info)
        if key not in self.rules[node]:
            raise SpecError(f"{node}: no information assignment {key!r}")
        return self.rules[node][key]

    def expected_utilities(self, node: str, *info) -> dict:
        """Exact expected utility of each action of ``node`` given its information.

        The utility counted is the weighted sum of the utility nodes downstream of
        ``node`` (those it can influence), with the later decisions following their
        optimal rules: the quantity the rule maximises. Utilities stated with
        ``discount=(gamma, t)`` are discounted from the decision's earliest downstream
        reward, so that for :func:`cp.influence_diagram` these are the MDP's Q-values.
        Utilities that ``node`` cannot influence are left out (their conditional
        expectation would depend on how the earlier decisions were taken). A decision that reaches no utility node gives 0 for
        every action.

        Examples
        --------
        >>> import cpspec as cp
        >>> w = cp.world("w", C=cp.uniform([0, 1]), D=cp.decision(["x", "y"], parents=["C"]),
        ...              U1=cp.utility(lambda D: 1 if D == "x" else 0),
        ...              U2=cp.utility(lambda D, C: 2 if D == "x" else C))
        >>> cp.solve(w).expected_utilities("D", 1)
        {'x': 3, 'y': 1}
        """
        self.policy(node, *info)  # names the node or the assignment when they are unknown
        key = tuple(info)
        if key not in self.eu[node]:
            raise SpecError(f"{node}: the information {key!r} has probability zero under "
                            "every policy, so its expected utilities are undefined")
        return dict(self.eu[node][key])


@dataclass(frozen=True, eq=False)
class ParametricIDSolution:
    """:class:`IDSolution` per region of one symbolic parameter."""

    parameter: sympy.Symbol
    pieces: tuple
    model: Any = field(repr=False, default=None)   # the diagram solved

    def __repr__(self) -> str:
        return (f"ParametricIDSolution({self.parameter}: a rule changes at "
                f"{self.thresholds()})")

    def _repr_html_(self) -> str:
        """Each decision rule over the parameter, with the optimal expected utility."""
        first = self.pieces[0][1]
        rows = []
        for D, rule in first.rules.items():
            ps = first.diagram.parents(D)
            for key in list(rule)[:50]:
                rows.append([D, ", ".join(f"{p}={v}" for p, v in zip(ps, key)) or "-",
                             self.policy(D, *key)])
        return html_table(["decision", "information", "action"], rows,
                          f"E(U) = {self.value}")

    def _repr_latex_(self) -> str:
        return f"$E(U) = {sympy.latex(self.value)}$"

    def policy(self, node: str, *info):
        """The optimal action of ``node`` given its information: a
        :class:`~cpspec.core.regions.Choice` over the parameter, or one action."""
        c = Choice(self.parameter, [(s, sol.policy(node, *info)) for s, sol in self.pieces])
        return c.pieces[0][1] if c.is_constant else c

    def regions(self, get=None) -> list:
        """The regions of the parameter with ``get(solution)`` as their answer (default:
        the decision rules), equal answers merged; each checked by solving the diagram
        exactly at a rational point of it.

        Examples
        --------
        >>> import cpspec as cp, sympy
        >>> p = sympy.Symbol("p")
        >>> w = cp.world("w", X=cp.bernoulli(p), D=cp.decision(["a", "b"]),
        ...              U=cp.utility(lambda X, D: X if D == "a" else sympy.Rational(1, 2)))
        >>> [(r.answer, r.condition) for r in cp.solve(w).regions(lambda s: s.policy("D"))]
        [('b', (0 <= p) & (p < 1/2)), ('a', (1/2 <= p) & (p <= 1))]
        """
        x = self.parameter
        return interval_regions(x, self.pieces,
                                lambda v: solve_diagram(self.model.bind(**{x.name: v})),
                                get or (lambda sol: sol.rules))

    def at(self, value) -> IDSolution:
        """The exact solution where the parameter equals ``value`` (or ``{p: value}``)."""
        value = parse_point((self.parameter,), value)[self.parameter]
        for s, sol in self.pieces:
            if s.contains(value) == sympy.true:
                return solve_diagram(self.model.bind(**{self.parameter.name: value}))
        raise SpecError(f"{self.parameter} = {value} lies outside the solved domain")

    @cached_property
    def value(self):
        """The optimal expected utility as a ``Piecewise`` over the parameter."""
        return piecewise(self.parameter, [(s, sol.value) for s, sol in self.pieces])

    def thresholds(self) -> list:
        """The exact parameter values where some decision rule changes."""
        out = {s1.sup for (s1, a), (_, b) in zip(self.pieces, self.pieces[1:])
               if a.rules != b.rules}
        return sorted(out, key=lambda v: sympy.N(v, 50))


def _check_structure(d: Diagram) -> tuple[list[str], list[str]]:
    decisions = [n for n in d.order if d.node(n).kind == "decision"]
    utilities = [n for n in d.order if d.node(n).kind == "utility"]
    if not decisions:
        raise SpecError(f"world {d.name!r} has no decision node (cp.decision) to solve for")
    if not utilities:
        raise SpecError(f"world {d.name!r} has no utility node (cp.utility): nothing to "
                        "maximise")
    g = d.graph
    for a, b in zip(decisions, decisions[1:]):
        if not nx.has_path(g, a, b):
            raise SpecError(
                f"decisions {a!r} and {b!r} are not ordered: cpspec solves single-agent "
                f"diagrams whose decisions lie on one directed path; add an information "
                f"arc {a} -> {b} (the later decision sees the earlier one)")
    for j, D in enumerate(decisions):
        seen = set(d.parents(D)) | {D}
        downstream = {u for u in utilities if nx.has_path(g, D, u)}
        if not downstream:
            continue
        for early in decisions[:j]:
            for e in (early, *d.parents(early)):
                if e in seen:
                    continue
                if not nx.is_d_separator(g, {e}, downstream, seen):
                    raise SpecError(
                        f"decision {D!r} does not have sufficient recall: it does not see "
                        f"{e!r} (known at the earlier decision {early!r}), and {e!r} still "
                        f"matters for the utilities {sorted(downstream)} given what {D!r} "
                        f"sees; add the arc {e} -> {D}")
    return decisions, utilities


def solve_diagram(d: Diagram, domain: Mapping | None = None):
    """Optimal decision rules of an influence diagram (see the module docstring).

    Examples
    --------
    >>> import cpspec as cp
    >>> w = cp.world("w", W=cp.uniform(["sun", "rain"]),
    ...              F=cp.dist(lambda W: {W: "4/5", ("rain" if W == "sun" else "sun"): "1/5"}),
    ...              U_=cp.decision(["none", "umbrella"], parents=["F"]),
    ...              V=cp.utility(lambda W, U_: {("sun", "none"): 10, ("rain", "none"): 0,
    ...                                         ("sun", "umbrella"): 6,
    ...                                         ("rain", "umbrella"): 8}[(W, U_)]))
    >>> sol = cp.solve(w)
    >>> sol.policy("U_", "sun"), sol.policy("U_", "rain"), sol.value
    ('none', 'umbrella', 39/5)
    """
    decisions, utilities = _check_structure(d)
    syms = d.free_symbols() | {s for u in utilities
                               for s in number_to_sympy(d.node(u).function.weight).free_symbols}
    probs = [p for n in d.order for row in (d.table(n).rows or ()) for p in row.values()]
    if len(syms) > 1 and (domain is None or len(domain) > 1):
        return _solve_regions(d, decisions, utilities, syms, domain, probs)
    if len(syms) > 1:   # one domain given: the others may cancel out of every comparison
        try:
            return _one_parameter(d, decisions, utilities, domain, probs)
        except ParameterError:
            return _solve_regions(d, decisions, utilities, syms, domain, probs)
    return _one_parameter(d, decisions, utilities, domain, probs, syms)


def _one_parameter(d, decisions, utilities, domain, probs, syms=()):
    """The solve over one parameter (or none), on the regions of :mod:`cpspec.core.regions`."""
    if domain is not None:
        (x, dom), = domain.items()
        x = x if isinstance(x, sympy.Symbol) else sympy.Symbol(str(x))
    elif len(syms) == 1:
        x = next(iter(syms))
        dom = valid_domain(x, probs)
    else:
        return _backward(d, decisions, utilities, None)
    # neighbours with the same rules are one region (their exact values are then equal)
    pieces = merge_adjacent(over_regions(x, dom, lambda r: _backward(d, decisions, utilities, r)),
                            lambda a, b: a.rules == b.rules)
    if domain is None and len(pieces) == 1:
        return _backward(d, decisions, utilities, None, fixed=pieces[0][1].rules)
    return ParametricIDSolution(x, tuple(pieces), d)


def _solve_regions(d: Diagram, decisions, utilities, params, domain, probs) -> RegionSolution:
    """The optimal rules over several parameters: a partition of their box into the
    regions of each optimal set of rules (:func:`cpspec.core.partition.solve_regions`).
    At each point asked about, the diagram is solved exactly; the rules found are
    evaluated once symbolically, and their region is where every rule stays optimal under
    the tie rule; an information assignment whose probability can vanish keeps the first
    action there."""
    params, box = parameter_box(params, domain, probs)

    def locate(point):
        if point.is_rational:
            bound = d.bind(**{str(x): v for x, v in point.values.items()})
            rules = _backward(bound, decisions, utilities, None).rules
        else:
            rules = _backward(d, decisions, utilities, point).rules
        sol = _backward(d, decisions, utilities, None, fixed=rules)
        conds = []
        for D in decisions:
            actions = d.domain(D)
            for key, eu in sol.eu[D].items():
                best = rules[D][key]
                optimal = tie_rule(best, actions, lambda a: eu[best] - eu[a])
                m = sol.mass[D][key]
                if not m.free_symbols:
                    conds += optimal
                    continue
                never = sympy.Eq(sympy.numer(sympy.together(m)), 0)
                conds.append(sympy.Or(sympy.And(never, sympy.true if best == actions[0]
                                                else sympy.false),
                                      sympy.And(sympy.Not(never), *optimal)))
        return sol, conds

    def solve_at(values):
        return solve_diagram(d.bind(**{str(x): v for x, v in values.items()}))
    return solve_regions(params, box, locate, solve_at, lambda sol: sol.rules)


def _backward(d: Diagram, decisions, utilities, region: Region | None, fixed=None):
    rules: dict = {}
    eus: dict = {}
    mass_of: dict = {}
    sign = Sign(None, region)
    for D in reversed(decisions):
        actions = d.domain(D)
        info = d.parents(D)
        helper = _helper(d, decisions, rules, D)
        # P(info, D = a) in the helper (earlier decisions uniform, so an assignment has
        # positive probability iff some policy reaches it); the conditional expected
        # utility of action a divides by it once, whatever the number of utilities
        names, arr, K = marginal(helper, list(info) + [D])
        mass: dict = {}
        for idx, p in _nonzero(arr):
            vals = [helper.domain(n)[j] for n, j in zip(names, idx)]
            mass[(tuple(vals[:-1]), vals[-1])] = K.to_sympy(p)
        table: dict = {}
        for key in itertools.product(*(d.domain(p) for p in info)):
            table[key] = {a: sympy.Integer(0) for a in actions}
        downstream = [U for U in utilities if nx.has_path(d.graph, D, U)]
        for U, w in _relative_weights(d, downstream).items():
            names, arr, K = marginal(helper, list(info) + [D, U])
            # the helper's domains, not the diagram's: fixing later decisions to their
            # rules can remove values from the utilities' domains
            doms = [helper.domain(n) for n in names]
            for idx, p in _nonzero(arr):
                vals = [doms[i][j] for i, j in enumerate(idx)]
                key, a, u = tuple(vals[:-2]), vals[-2], vals[-1]
                table[key][a] += w * numeric_value(u, d[U]) * K.to_sympy(p)
        rule, eu, masses = {}, {}, {}
        for key, by_a in table.items():
            if not mass.get((key, actions[0])):
                # this information cannot occur under any policy: no expected utilities;
                # the rule is the first action (the tie-break rule)
                rule[key] = fixed[D][key] if fixed is not None else actions[0]
                continue
            cond = {a: sympy.cancel(v / mass[(key, a)]) for a, v in by_a.items()}
            eu[key] = cond
            masses[key] = mass[(key, actions[0])]
            if fixed is not None:
                rule[key] = fixed[D][key]
                continue
            best, bq = actions[0], cond[actions[0]]
            for a in actions[1:]:
                if sign.sign(number_to_sympy(cond[a] - bq)) > 0:
                    best, bq = a, cond[a]
            rule[key] = best
        rules[D] = rule
        eus[D] = eu
        mass_of[D] = masses
    solved = _with_rules(d, rules)
    value = sum((number_to_sympy(solved.node(U).function.weight) * E(solved[U])
                 for U in utilities), sympy.Integer(0))
    return IDSolution(rules, sympy.simplify(value) if value.free_symbols else value, solved,
                      eus, mass_of)


def _relative_weights(d: Diagram, downstream: list) -> dict:
    """The weights a decision compares its actions with: the utilities' own weights, or,
    when they all carry a discount ``(gamma, t)`` with the same ``gamma``, the discount
    from the decision's earliest downstream reward, ``gamma**(t - t_min)``. For
    ``gamma > 0`` that is the same comparison scaled by ``gamma**-t_min``; at
    ``gamma = 0`` it keeps each decision maximising its own next reward (time-consistent
    discounting, as backward induction on an MDP), where the absolute weights would make
    every action tie."""
    fns = {U: d.node(U).function for U in downstream}
    gammas = {f.discount[0] for f in fns.values() if f.discount is not None}
    if downstream and len(gammas) == 1 and all(f.discount is not None
                                                for f in fns.values()):
        g = gammas.pop()
        t0 = min(f.discount[1] for f in fns.values())
        return {U: g ** (f.discount[1] - t0) for U, f in fns.items()}
    return {U: number_to_sympy(f.weight) for U, f in fns.items()}


def _nonzero(arr):
    for idx, p in np.ndenumerate(arr):
        if p:
            yield idx, p


def _helper(d: Diagram, decisions, rules, current) -> Diagram:
    repl = {}
    for D in decisions:
        if D in rules:
            repl[D] = _rule_fn(d, D, rules[D])
        else:  # the current and earlier decisions: uniform (they cannot matter, by recall)
            acts = d.domain(D)
            repl[D] = dist({a: Fraction(1, len(acts)) for a in acts})
    return d.replace(f"{d.name}_helper_{current}", **repl)


def _rule_fn(d: Diagram, D: str, rule: dict):
    return fn(lambda *args, _r=rule: _r[args], parents=list(d.parents(D)), label="pi")


def _with_rules(d: Diagram, rules: dict) -> Diagram:
    return d.replace(f"{d.name}_star", **{D: _rule_fn(d, D, r) for D, r in rules.items()})

"""Explanations: where an expected value and a chosen action come from, scenario by scenario.

:func:`explain` breaks an exact ``P`` or ``E`` into the scenarios that produce it (an
assignment of the nodes that matter, its exact probability and its contribution), sorted
by contribution, with a remainder line so the table always adds up to the exact total.
Only the marginal over the scenario nodes is computed (variable elimination), never the
joint of the whole diagram.

:func:`explain_action` shows, for each available action of a planning world, its exact
expected utility, its margin to the chosen action, and the few next-step branches that
decide the difference. With a symbolic parameter the margins are expressions and the
regions where the choice flips are listed.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Sequence

import sympy

from .errors import ConditioningError, SpecError
from .inference.exact import check_query, numeric_value, world_of, split_evidence, joint_rows
from .core.expressions import Expr
from .core.display import latex_text, latex_value
from .core.functions import as_sympy, number_to_sympy
from .agents.base import Agent
from .core.partition import ParameterRegion, RegionSolution, merge_regions, tidy
from .decisions.solving import ParametricSolution, Solution, solve
from .decisions.influence import IDSolution, ParametricIDSolution
from .core.diagram import Diagram
from .core.regions import piecewise

__all__ = ["Scenario", "Explanation", "explain", "ActionExplanation", "explain_action",
           "DecisionsExplanation", "explain_decisions", "MAX_DECISION_ROWS"]


@dataclass(frozen=True)
class Scenario:
    """One row: an assignment of the scenario nodes, its probability (conditional on
    ``given`` if any), the query's value there, and its contribution to the total."""

    assignment: dict
    probability: Any
    value: Any
    contribution: Any

    def record(self) -> dict:
        return {**{f"{k}": v for k, v in self.assignment.items()},
                "probability": self.probability, "value": self.value,
                "contribution": self.contribution}


def _fmt(x) -> str:
    x = number_to_sympy(x)
    if x.is_Rational and x.q != 1:
        return f"{x} (~{float(x):.4g})"
    return str(x)


@dataclass(frozen=True)
class Explanation:
    """The breakdown of an exact query into scenarios."""

    query: str
    total: Any
    rows: tuple
    remainder: Any = 0
    remainder_probability: Any = 0
    folded: int = 0
    groups: tuple = field(default=())

    def records(self) -> list[dict]:
        """The rows as plain dicts (plus a ``remainder`` record when rows were folded)."""
        out = [r.record() for r in self.rows]
        if self.folded:
            out.append({"remainder": self.folded, "probability": self.remainder_probability,
                        "contribution": self.remainder})
        return out

    def check(self) -> bool:
        """The rows and the remainder add up exactly to the total."""
        s = sum((r.contribution for r in self.rows), sympy.Integer(0)) + self.remainder
        return sympy.simplify(s - self.total) == 0

    def __str__(self) -> str:
        lines = [f"{self.query} = {_fmt(self.total)}"]
        names = list(self.rows[0].assignment) if self.rows else []
        header = "  ".join(f"{n:>8}" for n in names) + f"  {'probability':>22}  " \
                                                       f"{'contribution':>22}"
        lines.append(header)
        for r in self.rows:
            vals = "  ".join(f"{str(v):>8}" for v in r.assignment.values())
            lines.append(f"{vals}  {_fmt(r.probability):>22}  {_fmt(r.contribution):>22}")
        if self.folded:
            lines.append(f"{'(' + str(self.folded) + ' more scenarios)':>{len(header) - 48}}"
                         f"  {_fmt(self.remainder_probability):>22}  "
                         f"{_fmt(self.remainder):>22}")
        for g, (p, c) in self.groups:
            lines.append(f"  group {g}: probability {_fmt(p)}, contribution {_fmt(c)}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        names = list(self.rows[0].assignment) if self.rows else []
        head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.assignment.values())
            + f"<td>{html.escape(str(r.probability))}</td>"
              f"<td>{html.escape(str(r.contribution))}</td></tr>" for r in self.rows)
        if self.folded:
            body += (f"<tr><td colspan='{len(names)}'>{self.folded} more scenarios</td>"
                     f"<td>{html.escape(str(self.remainder_probability))}</td>"
                     f"<td>{html.escape(str(self.remainder))}</td></tr>")
        return (f"<table><caption>{html.escape(self.query)} = {html.escape(str(self.total))}"
                f"</caption><tr>{head}<th>probability</th><th>contribution</th></tr>"
                f"{body}</table>")

    def _repr_latex_(self) -> str:
        r"""The query, its exact total and the scenarios as one display-math ``array``
        (every number in math mode, every name and value in ``\text``), which LaTeX and
        MathJax both read."""
        names = list(self.rows[0].assignment) if self.rows else []
        cols = "l" * len(names) + "rr"
        rows = [" & ".join(latex_value(v) for v in r.assignment.values())
                + f" & {latex_value(r.probability)} & {latex_value(r.contribution)}"
                for r in self.rows]
        if self.folded:
            rows.append(" & ".join([latex_text(f"{self.folded} more")]
                                   + [r"\,"] * (len(names) - 1)
                                   + [latex_value(self.remainder_probability),
                                      latex_value(self.remainder)]))
        head = " & ".join(latex_text(n) for n in names + ["probability", "contribution"])
        body = r" \\ ".join([head + r" \\ \hline " + (rows[0] if rows else "")] + rows[1:])
        return (f"$$ {latex_text(self.query)} = {latex_value(number_to_sympy(self.total))}"
                r" \qquad \begin{array}{" + cols + "} " + body + r" \end{array} $$")


def explain(query: Expr, given: Expr | None = None, by: Sequence[str] = (),
            max_rows: int = 10, group_by: str | None = None) -> Explanation:
    """Break the exact ``P(query)`` (an event) or ``E(query)`` into scenarios.

    Parameters
    ----------
    query : Expr
        An event (explained as ``P``) or a numeric expression (``E``) of one world.
    given : Expr, optional
        Condition on an event; probabilities are then conditional.
    by : node names
        Extra nodes to show in each scenario (e.g. the causes of the query's value).
    max_rows : int
        Rows listed; the rest is summed into one remainder line (with its count).
    group_by : node name, optional
        Also report the probability and contribution per value of this scenario node.

    Examples
    --------
    >>> import cpspec as cp
    >>> f = cp.world("f", G=cp.uniform(range(1, 7)), R=cp.uniform(range(1, 7)),
    ...              S=cp.fn(lambda G, R: G + R))
    >>> x = cp.explain(f.S, max_rows=3)
    >>> x.total, [(r.assignment["S"], r.contribution) for r in x.rows], x.folded
    (7, [(7, 7/6), (8, 10/9), (9, 1)], 8)
    """
    check_query(query, "explain", False)
    d = world_of(query, given, "explain")
    for n in by:
        d.node(n)
    if given is not None:
        check_query(given, "explain", True)
    is_p = query.is_event
    evidence, cond = split_evidence(given)
    names = list(dict.fromkeys([n for _, n in sorted(query.variables())] + list(by)))
    keys = names + [n for _, n in sorted(cond.variables())] if cond is not None else names
    keys = list(dict.fromkeys(keys))
    rows_, K = joint_rows(d, keys, evidence, cond)
    w = d.name
    acc: dict = {}
    den = K.zero
    for full, p in rows_:
        den += p
        scen = tuple((n, full[n]) for n in names)
        acc[scen] = acc.get(scen, K.zero) + p
    if given is not None and not den:
        raise ConditioningError(f"explain: P({given}) = 0 in world {w!r}: conditioning on "
                                "a probability-zero event is undefined; check the "
                                "evidence against the nodes' domains")
    norm = K.to_sympy(den) if given is not None else sympy.Integer(1)
    rows = []
    for scen, p in acc.items():
        prob = K.to_sympy(p) / norm
        env = {(w, n): v for n, v in scen}
        v = query.evaluate(env)
        value = sympy.Integer(1 if v else 0) if is_p else numeric_value(v, query)
        contrib = sympy.cancel(prob * value) if prob.free_symbols else prob * value
        if is_p and not v:
            continue
        rows.append(Scenario(dict(scen), prob, value, contrib))
    rows.sort(key=_magnitude, reverse=True)
    total = sum((r.contribution for r in rows), sympy.Integer(0))
    shown, rest = rows[:max_rows], rows[max_rows:]
    remainder = sum((r.contribution for r in rest), sympy.Integer(0))
    rest_p = sum((r.probability for r in rest), sympy.Integer(0))
    groups = ()
    if group_by is not None:
        if group_by not in names:
            raise SpecError(f"group_by={group_by!r} is not a scenario node ({names}); add it "
                            "with by=[...]")
        gs: dict = {}
        for r in rows:
            key = r.assignment[group_by]
            p0, c0 = gs.get(key, (sympy.Integer(0), sympy.Integer(0)))
            gs[key] = (p0 + r.probability, c0 + r.contribution)
        groups = tuple(sorted(gs.items(), key=lambda kv: _magnitude_value(kv[1][1]),
                              reverse=True))
    label = f"{'P' if is_p else 'E'}({query}" + (f" | {given})" if given is not None else ")")
    return Explanation(label, sympy.simplify(total) if total.free_symbols else total,
                       tuple(shown), remainder, rest_p, len(rest), groups)


def _magnitude_value(c):
    c = number_to_sympy(c)
    if c.free_symbols:
        return 0.0  # symbolic contributions keep their order of appearance
    return abs(float(c))


def _magnitude(r: Scenario):
    return _magnitude_value(r.contribution)


# ---- actions ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Branch:
    """A next-step branch that contributes to an action's margin."""

    next_state: Any
    p_chosen: Any
    p_action: Any
    difference: Any   # contribution to Q(action) - Q(chosen)


@dataclass(frozen=True)
class ActionExplanation:
    """Each action's exact expected utility, its margin to the chosen one, and the
    branches that decide it."""

    state: Any
    chosen: Any
    utilities: dict
    margins: dict
    branches: dict
    #: parametric: the Choice of the action over one parameter; over several, the list
    #: of :class:`~cpspec.core.partition.ParameterRegion` with the chosen action as
    #: ``.answer`` and each action's margin to it as ``.margin``
    regions: Any = None
    decision: str | None = None   # an influence diagram's decision (state: its information)

    def __repr__(self) -> str:
        return (f"ActionExplanation(state={self.state!r}, chosen={self.chosen!r}, "
                f"utilities={self.utilities})")

    def records(self) -> list[dict]:
        return [{"action": a, "utility": self.utilities[a], "margin": self.margins[a],
                 "chosen": a == self.chosen} for a in self.utilities]

    def __str__(self) -> str:
        if self.decision is not None:
            where = ", ".join(f"{k} = {v!r}" for k, v in self.state.items())
            lines = [f"{'with ' + where + ', ' if where else ''}decision {self.decision} "
                     f"chooses {self.chosen!r}"]
        else:
            lines = [f"in state {self.state!r} the agent chooses {self.chosen!r}"]
        if isinstance(self.regions, list):
            lines[0] += " in the first region; over the parameters:"
            lines += [f"   {r}; margins {', '.join(f'{a}: {_fmt(m)}' for a, m in r.margin.items())}"
                      for r in self.regions]
        elif self.regions is not None:
            lines[0] += f" ({self.regions})"
        for a, u in self.utilities.items():
            mark = "*" if a == self.chosen else " "
            lines.append(f" {mark} {str(a):>10}  E(U) = {_fmt(u)}   margin {_fmt(self.margins[a])}")
            for b in self.branches.get(a, ()):
                lines.append(f"      {_fmt(b.difference):>14} from the branch to {b.next_state!r}"
                             f" (probability {b.p_action} here, {b.p_chosen} under "
                             f"{self.chosen!r})")
        return "\n".join(lines)

    def _repr_latex_(self) -> str:
        """Each action's exact expected utility and margin as a display-math ``array``."""
        rows = [f"{latex_text(('* ' if a == self.chosen else '') + str(a))} & "
                f"{latex_value(u)} & {latex_value(self.margins[a])}"
                for a, u in self.utilities.items()]
        head = " & ".join(latex_text(h) for h in ("action", "E(U)", "margin"))
        return (f"$$ {latex_text(f'in state {self.state!r}')} \\qquad "
                r"\begin{array}{lrr} " + head + r" \\ \hline " + r" \\ ".join(rows)
                + r" \end{array} $$")

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{'<b>' if a == self.chosen else ''}{html.escape(str(a))}"
                       f"</td><td>{html.escape(str(u))}</td>"
                       f"<td>{html.escape(str(self.margins[a]))}</td></tr>"
                       for a, u in self.utilities.items())
        return (f"<table><caption>state {html.escape(str(self.state))}</caption>"
                f"<tr><th>action</th><th>E(U)</th><th>margin</th></tr>{rows}</table>")


def explain_action(model, state: Any, t: int = 0, o: tuple = (), top: int = 3,
                   decision: str | None = None) -> ActionExplanation:
    """Why the planning world chooses its action in ``state``.

    ``model`` is an agent (its planning world ``p(o, state)``), a :class:`Solution`
    of an MDP, an MDP with a horizon given as ``(mdp, horizon)``, or an influence
    diagram (a world with ``cp.decision`` nodes, or its ``cp.solve`` solution): then
    ``state`` is the ``decision``'s information (a dict of its parents' values, a tuple
    in parent order, one value for one parent, ``()`` for none) and the utilities are
    the exact expected utilities of its actions (:meth:`IDSolution.expected_utilities`).

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import delayed_reward
    >>> x = cp.explain_action(cp.agents.FP(delayed_reward()), "start")
    >>> x.chosen, x.utilities, x.margins["take"]
    ('wait', {'take': 1, 'wait': 27/10}, -17/10)
    >>> w = cp.world("guess", X=cp.uniform([0, 1]),
    ...              S=cp.dist(lambda X: {X: "3/4", 1 - X: "1/4"}),
    ...              D=cp.decision([0, 1], parents=["S"]), U=cp.utility(lambda X, D: int(X == D)))
    >>> y = cp.explain_action(w, {"S": 1})
    >>> y.chosen, y.utilities, y.margins[0]
    (1, {0: 1/4, 1: 3/4}, -1/2)
    """
    if isinstance(model, Agent) and model.chunks is not None:
        raise SpecError("explain_action reads a step-by-step planning world; this agent "
                        "plans with chunks: agent.plan(o, state).q(state) gives each "
                        "chunk's exact value")
    if isinstance(model, Diagram):
        model = solve(model)
    if isinstance(model, (IDSolution, ParametricIDSolution)):
        return _explain_decision(model, state, decision)
    if isinstance(model, Agent):
        sol = model.plan(o or model.o0, state)
    elif isinstance(model, (Solution, ParametricSolution, RegionSolution)):
        sol = model
    elif isinstance(model, tuple) and len(model) == 2:
        sol = solve(*model)
    else:
        raise SpecError("explain_action needs an agent, a Solution, or (mdp, horizon)")
    if isinstance(sol, ParametricSolution):
        choice = sol.policy(t, state) if not sol.pieces[0][1].stationary else \
            sol.policy(state)
        # utilities and margins as piecewise expressions over the parameter (adjacent
        # regions with the same expression merged); branches of the first region
        parts = {id(p): _action_parts(p, state, t, top) for _, p in sol.pieces}
        first = parts[id(sol.pieces[0][1])]
        utilities = {a: sol.piecewise(lambda p, a=a: parts[id(p)][1][a]) for a in first[1]}
        margins = {a: sol.piecewise(lambda p, a=a: sympy.simplify(
            parts[id(p)][1][a] - parts[id(p)][1][parts[id(p)][0]])) for a in first[1]}
        return ActionExplanation(state, first[0], utilities, margins, first[2], choice)
    if isinstance(sol, RegionSolution):
        # per region of the decision rules: the chosen action with each action's margin;
        # regions that agree on both are merged, utilities are Piecewise over them
        parts = [(r, _action_parts(r.answer, state, t, top)) for r in sol.pieces]
        regs = _merge_same_margins([ParameterRegion(r.condition, chosen, r.sample, (),
                                                    _margins(utilities, chosen))
                                    for r, (chosen, utilities, _) in parts],
                                   sol.parameters, sol.box)
        first = parts[0][1]

        def over_regions(value):
            # equal expressions merged: a plain expression where it is the same everywhere
            merged = merge_regions([ParameterRegion(r.condition, value(u), r.sample)
                                    for r, u in parts],
                                   same=lambda x, y: sympy.simplify(x - y) == 0,
                                   within=(sol.parameters, sol.box))
            if len(merged) == 1:
                return merged[0].answer
            return sympy.Piecewise(*[(m.answer, m.condition) for m in merged])
        utilities = {a: over_regions(lambda u, a=a: u[1][a]) for a in first[1]}
        margins = {a: over_regions(lambda u, a=a: _margins(u[1], u[0])[a]) for a in first[1]}
        return ActionExplanation(state, first[0], utilities, margins, first[2], regs)
    chosen, utilities, branches = _action_parts(sol, state, t, top)
    return ActionExplanation(state, chosen, utilities, _margins(utilities, chosen), branches)


def _margins(utilities: dict, chosen) -> dict:
    return {a: sympy.simplify(u - utilities[chosen]) for a, u in utilities.items()}


def _merge_same_margins(regs: list, params, box) -> list:
    """Regions with the same chosen action and the same margins, merged (the merged
    conditions tidied within ``box``)."""
    out: list = []
    for r in regs:
        for i, o in enumerate(out):
            if o.answer == r.answer and all(sympy.simplify(o.margin[a] - m) == 0
                                            for a, m in r.margin.items()):
                out[i] = ParameterRegion(sympy.Or(o.condition, r.condition), o.answer,
                                         o.sample, o.samples + (r.sample,), o.margin)
                break
        else:
            out.append(r)
    return [ParameterRegion(tidy(params, box, r.condition), r.answer, r.sample, r.samples,
                            r.margin) if r.samples else r for r in out]


def _explain_decision(sol, info, decision) -> ActionExplanation:
    first = sol.pieces[0][1] if isinstance(sol, ParametricIDSolution) else sol
    names = list(first.rules)
    if decision is None:
        if len(names) != 1:
            raise SpecError(f"the diagram has the decisions {', '.join(names)}; say which "
                            "with decision=...")
        decision = names[0]
    if decision not in first.rules:
        raise SpecError(f"{decision!r} is not a decision of world {first.diagram.name!r}; "
                        f"its decisions are {', '.join(names)}")
    parents = first.diagram.parents(decision)
    if isinstance(info, dict):
        missing = [p for p in parents if p not in info]
        extra = [k for k in info if k not in parents]
        if missing or extra:
            raise SpecError(f"decision {decision} sees {', '.join(parents) or 'nothing'}; "
                            f"give exactly those (missing {missing}, not seen {extra})")
        key = tuple(info[p] for p in parents)
    elif isinstance(info, tuple):
        key = info
    else:
        key = (info,)
    shown = dict(zip(parents, key))
    if isinstance(sol, ParametricIDSolution):
        eus = [(s, p.expected_utilities(decision, *key)) for s, p in sol.pieces]
        acts = list(eus[0][1])
        choice = sol.policy(decision, *key)
        chosen = first.policy(decision, *key)
        utilities = {a: piecewise(sol.parameter, [(s, e[a]) for s, e in eus]) for a in acts}
        margins = {a: piecewise(sol.parameter, [
            (s, sympy.simplify(e[a] - e[p.policy(decision, *key)]))
            for (s, e), (_, p) in zip(eus, sol.pieces)]) for a in acts}
        return ActionExplanation(shown, chosen, utilities, margins, {}, choice, decision)
    utilities = sol.expected_utilities(decision, *key)
    chosen = sol.policy(decision, *key)
    margins = {a: sympy.simplify(number_to_sympy(u) - number_to_sympy(utilities[chosen]))
               for a, u in utilities.items()}
    return ActionExplanation(shown, chosen, utilities, margins, {}, None, decision)


@dataclass(frozen=True)
class DecisionsExplanation:
    """Every decision rule of an influence diagram explained: the optimal expected
    utility and one :class:`ActionExplanation` per decision and information that has
    positive probability."""

    world: str
    value: Any
    parts: tuple

    def __str__(self) -> str:
        return "\n".join([f"U({self.world}) = {_fmt(self.value)}"]
                         + [str(p) for p in self.parts])

    def _repr_html_(self) -> str:
        return f"<div><b>U({html.escape(self.world)}) = {html.escape(str(self.value))}" \
               "</b>" + "".join(p._repr_html_() for p in self.parts) + "</div>"

    def _repr_latex_(self) -> str:
        return self.parts[0]._repr_latex_() if len(self.parts) == 1 else \
            f"$U = {latex_value(self.value)}$"


#: Most decision rows :func:`explain_decisions` lists.
MAX_DECISION_ROWS = 50


def explain_decisions(model) -> DecisionsExplanation:
    """Why an influence diagram's decisions are what they are: for each decision and
    each information with positive probability, each action's exact expected utility and
    its margin (up to :data:`MAX_DECISION_ROWS` rows).

    Examples
    --------
    >>> import cpspec as cp
    >>> w = cp.world("guess", X=cp.uniform([0, 1]),
    ...              S=cp.dist(lambda X: {X: "3/4", 1 - X: "1/4"}),
    ...              D=cp.decision([0, 1], parents=["S"]), U=cp.utility(lambda X, D: int(X == D)))
    >>> print(cp.explain_decisions(w))
    U(guess) = 3/4 (~0.75)
    with S = 0, decision D chooses 0
     *          0  E(U) = 3/4 (~0.75)   margin 0
                1  E(U) = 1/4 (~0.25)   margin -1/2 (~-0.5)
    with S = 1, decision D chooses 1
                0  E(U) = 1/4 (~0.25)   margin -1/2 (~-0.5)
     *          1  E(U) = 3/4 (~0.75)   margin 0
    """
    sol = solve(model) if isinstance(model, Diagram) else model
    if not isinstance(sol, (IDSolution, ParametricIDSolution)):
        raise SpecError("explain_decisions needs an influence diagram (a world with "
                        "cp.decision nodes) or its solution, got " + type(model).__name__)
    first = sol.pieces[0][1] if isinstance(sol, ParametricIDSolution) else sol
    parts = []
    for D, rule in first.rules.items():
        for info in rule:
            if info not in first.eu.get(D, {}):
                continue  # probability zero under every policy
            parts.append(_explain_decision(sol, info, D))
            if len(parts) >= MAX_DECISION_ROWS:
                break
    name = model.name if isinstance(model, Diagram) else \
        first.diagram.name.removesuffix("_star")  # the solved copy's name
    return DecisionsExplanation(name, sol.value, tuple(parts))


def _action_parts(sol, state, t, top):
    mdp = sol.mdp
    q = sol.q(state, t)
    chosen = sol.policy(state) if sol.stationary else sol.policy(t, state)
    V = sol.next_values(t)
    g = as_sympy(mdp.gamma)

    def branch_values(a):
        out = {}
        for s2, p in mdp.P[(state, a)].items():
            p, r = as_sympy(p), as_sympy(mdp.R[(state, a, s2)])
            out[s2] = (p, p * (r + g * V[s2]))
        return out
    base = branch_values(chosen)
    branches = {}
    for a in mdp.actions:
        if a == chosen:
            continue
        mine = branch_values(a)
        diffs = []
        for s2 in set(base) | set(mine):
            pc, cc = base.get(s2, (0, 0))
            pa, ca = mine.get(s2, (0, 0))
            diffs.append(Branch(s2, pc, pa, sympy.simplify(ca - cc)))
        diffs.sort(key=lambda b: _magnitude_value(b.difference), reverse=True)
        branches[a] = tuple(diffs[:top])
    return chosen, q, branches

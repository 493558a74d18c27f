"""Incentive analysis of influence diagrams: the graphical criteria of Everitt, Carey,
Langlois, Ortega and Legg (2021) and the exact values of information and control.

The criteria read only the graph; the values solve the diagram exactly (``cp.solve``).

* **value of information** (VoI) on ``X`` for decision ``D``: ``X`` is not ``D`` nor a
  descendant of ``D``, and once the link ``X -> D`` is added, it survives the reduction
  of the diagram to its requisite links (``X`` is d-connected to a utility downstream of
  ``D`` given ``D``'s other information and ``D``);
* **value of control** (VoC) on ``X``: ``X`` is not a decision and a directed path leads
  from ``X`` to a utility node (``X`` may be one) in the reduced graph;
* **response incentive** (RI) on ``X`` for ``D``: a directed path ``X -> ... -> D`` in
  the reduced graph;
* **instrumental control incentive** (ICI) on ``X`` for ``D``: a directed path
  ``D -> ... -> X -> ... -> U`` to a utility node ``U`` in the diagram itself (``D`` and
  ``U`` count as lying on the path, as in pycid).

The **reduced graph** (requisite graph, minimal d-reduction; Lauritzen and Nielsen
2001) drops, as long as there are any, the information links ``Y -> D`` that are not
requisite: ``Y`` is d-separated from every utility downstream of ``D`` given ``D`` and
its other parents. Decisions are visited latest first and the sweep is repeated until
nothing changes; on diagrams with sufficient recall one sweep is enough, and the result
is pycid's ``requisite_graph``.

For one decision the criteria are the paper's theorems: each is *complete* (some choice
of the structural functions gives the incentive a positive value whenever the criterion
admits it) and *sound* (a positive value implies the criterion). For several decisions
cpspec follows pycid: the diagram must have **sufficient recall** (the relevance graph
of the decisions, ``D1 -> D2`` when ``D1``'s best rule can depend on ``D2``'s, i.e.
``D2`` is s-reachable from ``D1``, is acyclic), else :class:`~cpspec.errors.QueryError`
names the decisions in the cycle; VoI, RI and ICI are then reported per decision and
VoC for the diagram.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any

import networkx as nx
import sympy

from ..budget import Deadline, check_timeout
from ..core.diagram import Diagram
from ..core.functions import decision as decision_node
from ..core.functions import fn
from ..errors import (CycleError, InternalError, ModelTooLargeError, QueryError,
                      SpecError, UnknownNodeError)
from .influence import solve_diagram
from .solving import run_within

__all__ = ["Incentives", "DecisionIncentives", "incentives", "value_of_information",
           "value_of_control", "requisite_graph", "has_sufficient_recall",
           "MAX_CONTROL_RULES"]

#: Largest number of deterministic rules ``value_of_control`` enumerates for a node when
#: the controlled diagram cannot be solved by backward induction directly (the node is
#: not ordered with the decisions, or it is a utility node): each rule costs one exact
#: solve. Raise it (``cpspec.decisions.incentive_criteria.MAX_CONTROL_RULES = ...``) if
#: the time is really there.
MAX_CONTROL_RULES = 1024


@dataclass(frozen=True)
class DecisionIncentives:
    """The nodes on which one decision admits each incentive (in the diagram's order).

    ``voi``: value of information; ``ri``: response incentive; ``ici``: instrumental
    control incentive (see :func:`incentives`).
    """

    decision: str
    voi: tuple[str, ...]
    ri: tuple[str, ...]
    ici: tuple[str, ...]


@dataclass(frozen=True)
class Incentives:
    """The incentives an influence diagram admits, by the graphical criteria.

    ``rows`` holds one :class:`DecisionIncentives` per decision asked about;
    ``voc`` the nodes that admit value of control (a property of the diagram, not of
    one decision). ``incentives["D"]`` is decision ``D``'s row; with a single row,
    ``.voi``, ``.ri`` and ``.ici`` read it directly. ``str()`` is a text table;
    notebooks show a Markdown table.
    """

    world: str
    rows: tuple[DecisionIncentives, ...]
    voc: tuple[str, ...]

    @property
    def decisions(self) -> tuple[str, ...]:
        """The decisions reported on, in the diagram's order."""
        return tuple(r.decision for r in self.rows)

    def __getitem__(self, decision: str) -> DecisionIncentives:
        for r in self.rows:
            if r.decision == decision:
                return r
        raise QueryError(f"incentives of world {self.world!r}: no row for {decision!r}; "
                         f"the decisions reported are {', '.join(self.decisions)}")

    def _single(self, what: str) -> DecisionIncentives:
        if len(self.rows) != 1:
            raise QueryError(
                f"incentives of world {self.world!r} cover {len(self.rows)} decisions "
                f"({', '.join(self.decisions)}); read one with "
                f"incentives[{self.rows[0].decision!r}].{what}, or ask "
                "cp.incentives(diagram, decision) for one")
        return self.rows[0]

    @property
    def voi(self) -> tuple[str, ...]:
        """The value-of-information nodes of the only decision reported on."""
        return self._single("voi").voi

    @property
    def ri(self) -> tuple[str, ...]:
        """The response-incentive nodes of the only decision reported on."""
        return self._single("ri").ri

    @property
    def ici(self) -> tuple[str, ...]:
        """The instrumental-control-incentive nodes of the only decision reported on."""
        return self._single("ici").ici

    def _table(self) -> list[list[str]]:
        def cell(names):
            return ", ".join(names) if names else "-"
        return [[r.decision, cell(r.voi), cell(self.voc), cell(r.ri), cell(r.ici)]
                for r in self.rows]

    def __str__(self) -> str:
        head = ["decision", "VoI", "VoC", "RI", "ICI"]
        body = self._table()
        widths = [max(len(row[i]) for row in [head] + body) for i in range(len(head))]
        lines = [f"incentives of world {self.world!r}"]
        for row in [head] + body:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        lines = [f"incentives of world `{self.world}`", "",
                 "| decision | VoI | VoC | RI | ICI |", "|---|---|---|---|---|"]
        lines += ["| " + " | ".join(row) + " |" for row in self._table()]
        return "\n".join(lines)


# ---- the graph ------------------------------------------------------------------------

def _kinds(d: Diagram) -> tuple[list[str], list[str]]:
    return ([n for n in d.order if d.node(n).kind == "decision"],
            [n for n in d.order if d.node(n).kind == "utility"])


def _requisite(g: nx.DiGraph, dec: str, obs: str, utilities) -> bool:
    """Is the link ``obs -> dec`` requisite in ``g``: ``obs`` d-connected to a utility
    downstream of ``dec`` given ``dec`` and its other parents?"""
    downstream = set(utilities) & nx.descendants(g, dec)
    if not downstream:
        return False
    given = ({dec} | set(g.predecessors(dec))) - {obs}
    return not nx.is_d_separator(g, {obs}, downstream, given)


def requisite_graph(diagram: Diagram) -> nx.DiGraph:
    """The diagram's graph reduced to its requisite information links.

    Repeatedly removes each information link ``Y -> D`` into a decision ``D`` such that
    ``Y`` is d-separated from every utility node downstream of ``D`` given ``D`` and its
    other parents (visiting decisions latest first, until nothing changes). This is the
    requisite graph (minimal d-reduction) of Lauritzen and Nielsen (2001), on which the
    incentive criteria are stated.

    Parameters
    ----------
    diagram : Diagram
        An influence diagram.

    Returns
    -------
    networkx.DiGraph
        A new graph; the diagram is untouched.

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.decisions.incentive_criteria import requisite_graph
    >>> w = cp.world("w", X=cp.uniform([0, 1]), Y=cp.uniform([0, 1]),
    ...              D=cp.decision([0, 1], parents=["X", "Y"]),
    ...              U=cp.utility(lambda X, D: int(X == D)))
    >>> sorted(requisite_graph(w).predecessors("D"))
    ['X']
    """
    decisions, utilities = _kinds(diagram)
    return _reduce(nx.DiGraph(diagram.graph), decisions, utilities)


def _reduce(g: nx.DiGraph, decisions, utilities) -> nx.DiGraph:
    changed = True
    while changed:
        changed = False
        for dec in reversed(decisions):
            for obs in list(g.predecessors(dec)):
                if not _requisite(g, dec, obs, utilities):
                    g.remove_edge(obs, dec)
                    changed = True
    return g


def _s_reachable(g: nx.DiGraph, d1: str, d2: str, utilities) -> bool:
    """Can ``d1``'s best rule depend on ``d2``'s rule: is a new parent of ``d2`` (its
    mechanism) d-connected to a utility downstream of ``d1`` given ``d1``'s family?
    (Koller and Milch 2003.)"""
    downstream = set(utilities) & nx.descendants(g, d1)
    if not downstream:
        return False
    h = nx.DiGraph(g)
    mech = ("mechanism of", d2)  # a tuple: no node name of a diagram is one
    h.add_edge(mech, d2)
    given = {d1} | set(g.predecessors(d1))
    return not nx.is_d_separator(h, {mech}, downstream - given, given)


def _relevance_cycle(g: nx.DiGraph, decisions, utilities) -> list[str] | None:
    rel = nx.DiGraph()
    rel.add_nodes_from(decisions)
    for d1, d2 in itertools.permutations(decisions, 2):
        if _s_reachable(g, d1, d2, utilities):
            rel.add_edge(d1, d2)
    try:
        return [u for u, _ in nx.find_cycle(rel)]
    except nx.NetworkXNoCycle:
        return None


def has_sufficient_recall(diagram: Diagram) -> bool:
    """Whether the diagram's decisions have sufficient recall (are soluble).

    True when the relevance graph of the decisions (``D1 -> D2`` when ``D2`` is
    s-reachable from ``D1``: ``D1``'s best rule can depend on ``D2``'s) is acyclic, as
    in pycid's ``sufficient_recall``. A diagram with at most one decision has it.

    Parameters
    ----------
    diagram : Diagram
        An influence diagram.

    Returns
    -------
    bool

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.decisions.incentive_criteria import has_sufficient_recall
    >>> w = cp.world("w", X=cp.uniform([0, 1]), D1=cp.decision([0, 1], parents=["X"]),
    ...              D2=cp.decision([0, 1]),
    ...              U=cp.utility(lambda X, D1, D2: int(D2 == X) + D1))
    >>> has_sufficient_recall(w)
    False
    """
    decisions, utilities = _kinds(diagram)
    return _relevance_cycle(nx.DiGraph(diagram.graph), decisions, utilities) is None


def _check_diagram(diagram: Any, verb: str) -> tuple[list[str], list[str]]:
    if not isinstance(diagram, Diagram):
        raise QueryError(f"{verb} needs an influence diagram built with cp.world, got "
                         f"{diagram!r}; for an MDP use cp.influence_diagram(mdp, T)")
    decisions, utilities = _kinds(diagram)
    if not decisions:
        raise QueryError(
            f"{verb}: incentive query on a diagram without decisions (world "
            f"{diagram.name!r} has no decision node); incentives belong to a decision "
            "maker: declare the node it chooses with cp.decision, e.g. "
            "D=cp.decision(['a', 'b'], parents=['X']) (parents: what it observes)")
    return decisions, utilities


def _node(diagram: Diagram, name: Any, verb: str) -> str:
    if not isinstance(name, str) or name not in diagram:
        raise UnknownNodeError(f"{verb}: world {diagram.name!r} has no node {name!r}; "
                               f"its nodes are {', '.join(diagram.order)}")
    return diagram.node(name).name


def _decision(diagram: Diagram, name: Any, decisions, verb: str) -> str:
    if name is None:
        if len(decisions) != 1:
            raise QueryError(f"{verb}: world {diagram.name!r} has several decisions "
                             f"({', '.join(decisions)}); name the one you mean")
        return decisions[0]
    name = _node(diagram, name, verb)
    if name not in decisions:
        raise QueryError(f"{verb}: {name!r} is a {diagram.node(name).kind} node, not a "
                         f"decision; the decisions of world {diagram.name!r} are "
                         f"{', '.join(decisions)}")
    return name


def _recall(g: nx.DiGraph, decisions, utilities, name: str, verb: str) -> None:
    cycle = _relevance_cycle(g, decisions, utilities)
    if cycle is not None:
        loop = " -> ".join(cycle + [cycle[0]])
        raise QueryError(
            f"{verb}: the decisions of world {name!r} lack sufficient recall: their best "
            f"rules depend on each other in a cycle ({loop}), where the graphical "
            "criteria are not valid; let the later decision see the earlier one and what "
            "it saw (add those information arcs)")


# ---- the criteria ---------------------------------------------------------------------

def _admits_voi(g: nx.DiGraph, reduced: nx.DiGraph, dec: str, x: str, decisions,
                utilities) -> bool:
    if x == dec or x in nx.descendants(g, dec):
        return False
    if reduced.has_edge(x, dec):  # already a requisite observation
        return True
    if g.has_edge(x, dec):  # an observation the reduction dropped
        return False
    h = nx.DiGraph(g)
    h.add_edge(x, dec)
    return _reduce(h, decisions, utilities).has_edge(x, dec)


def incentives(diagram: Diagram, decision: str | None = None) -> Incentives:
    """Which nodes admit value of information, value of control, a response incentive
    and an instrumental control incentive (Everitt et al. 2021).

    The criteria are graphical (see the module documentation): "admits" means some
    choice of the structural functions with this graph gives the incentive. They agree
    with pycid's ``admits_voi``, ``admits_voc``, ``admits_ri`` and ``admits_ici``:

    * VoI on ``X`` for ``D``: ``X`` is neither ``D`` nor its descendant, and the link
      ``X -> D`` (added if missing) is kept by the reduction to requisite links;
    * VoC on ``X``: ``X`` is not a decision and reaches a utility node (or is one) by a
      directed path in the reduced graph;
    * RI on ``X`` for ``D``: a directed path from ``X`` to ``D`` in the reduced graph;
    * ICI on ``X`` for ``D``: ``X`` lies on a directed path from ``D`` to a utility node
      in the diagram (``D`` itself and the utilities it reaches included, as in pycid).

    Several decisions need sufficient recall (as pycid requires for VoI, VoC and RI;
    cpspec asks it for the whole record); one decision always has it.

    Parameters
    ----------
    diagram : Diagram
        An influence diagram (``cp.world`` with ``cp.decision`` and ``cp.utility``
        nodes).
    decision : str, optional
        The decision to analyse; by default every decision.

    Returns
    -------
    Incentives
        The nodes admitting each incentive, in the diagram's order.

    Raises
    ------
    QueryError
        The diagram has no decision, ``decision`` names a node that is not one, or the
        decisions lack sufficient recall.
    UnknownNodeError
        ``decision`` names no node of the diagram.

    References
    ----------
    T. Everitt, R. Carey, E. Langlois, P. A. Ortega, S. Legg, "Agent Incentives: A
    Causal Perspective", AAAI 2021.

    Examples
    --------
    The grade predictor of Everitt et al. (Figure 1): the predicted grade ``P`` should
    match the real ``Grade``, which education ``E`` causes; the predictor sees the
    student's high school ``HS`` (which the student's race ``R`` influences, and which
    causes ``E``) and gender ``G``. Race admits a response incentive (through ``HS``)
    but no value of information: ``HS`` screens it off.

    >>> import cpspec as cp
    >>> w = cp.world("grades", R=cp.uniform(["a", "b"]), G=cp.uniform(["f", "m"]),
    ...              HS=cp.dist(lambda R: {R: "3/4", ("b" if R == "a" else "a"): "1/4"}),
    ...              E=cp.dist(lambda HS: {HS: "3/4", ("b" if HS == "a" else "a"): "1/4"}),
    ...              Grade=cp.fn(lambda E: E),
    ...              P=cp.decision(["a", "b"], parents=["HS", "G"]),
    ...              Acc=cp.utility(lambda Grade, P: int(Grade == P)))
    >>> inc = cp.incentives(w)
    >>> inc.voi, inc.ri
    (('HS', 'E', 'Grade'), ('R', 'HS'))
    >>> print(inc)
    incentives of world 'grades'
    decision  VoI           VoC                   RI     ICI
    P         HS, E, Grade  R, HS, E, Grade, Acc  R, HS  P, Acc
    """
    verb = "cp.incentives"
    decisions, utilities = _check_diagram(diagram, verb)
    asked = decisions if decision is None else [_decision(diagram, decision, decisions,
                                                          verb)]
    g = nx.DiGraph(diagram.graph)
    _recall(g, decisions, utilities, diagram.name, verb)
    reduced = _reduce(nx.DiGraph(g), decisions, utilities)
    order = diagram.order
    voc = tuple(x for x in order if x not in decisions
                and ({x} | nx.descendants(reduced, x)) & set(utilities))
    rows = []
    for dec in asked:
        voi = tuple(x for x in order
                    if _admits_voi(g, reduced, dec, x, decisions, utilities))
        ri = tuple(x for x in order if x != dec and nx.has_path(reduced, x, dec))
        after = nx.descendants(g, dec) | {dec}
        ici = tuple(x for x in order if x in after
                    and ({x} | nx.descendants(g, x)) & set(utilities))
        rows.append(DecisionIncentives(dec, voi, ri, ici))
    return Incentives(diagram.name, tuple(rows), voc)


# ---- the values -----------------------------------------------------------------------

def _optimum(d: Diagram, verb: str, what: str):
    try:
        return solve_diagram(d).value
    except SpecError as e:
        if type(e) is not SpecError:  # budgets, sizes, ...: their own class and message
            raise
        raise SpecError(f"{verb}: cannot solve {what}: {e}") from None


def _difference(a, b):
    """``a - b`` exactly; piecewise values are folded into one ``Piecewise``."""
    diff = sympy.sympify(a) - sympy.sympify(b)
    if diff.has(sympy.Piecewise):
        diff = sympy.piecewise_fold(diff)
        if isinstance(diff, sympy.Piecewise):
            return sympy.Piecewise(*[(sympy.simplify(e), c) for e, c in diff.args])
        return diff
    return sympy.simplify(diff) if diff.free_symbols else diff


def _checked(value, verb: str):
    """A value of information or control is never negative (more options cannot hurt
    an optimal decision maker): a negative number would be a bug in cpspec."""
    if value.is_number and value < 0:
        raise InternalError(f"{verb}: computed the negative value {value}; please report "
                            "this diagram")
    return value


def value_of_information(diagram: Diagram, node: str, decision: str | None = None,
                         timeout: float | None = 60.0):
    """The exact value of information of ``node`` for ``decision``.

    The optimal expected utility when ``decision`` also observes ``node`` (the
    information link ``node -> decision`` added) minus the optimal expected utility when
    it does not (the link removed, if the diagram has it); everything else is equal.
    Both optima come from :func:`cp.solve`, so the value is an exact number, or a closed
    form (a ``Piecewise``) in the diagram's one symbolic parameter. It is never negative.
    With several decisions, all of them are re-optimised in each diagram (a later
    decision may use what ``decision`` now passes on).

    Parameters
    ----------
    diagram : Diagram
        An influence diagram that :func:`cp.solve` can solve with and without the link.
    node : str
        The node observed; not ``decision`` nor one of its descendants.
    decision : str, optional
        The decision; may be left out when the diagram has only one.
    timeout : float or None
        Seconds for the whole call (None: no limit).

    Returns
    -------
    sympy.Expr
        ``EU*(with node -> decision) - EU*(without)``.

    Raises
    ------
    UnknownNodeError
        ``node`` or ``decision`` is not a node of the diagram.
    QueryError
        No decision, ``decision`` is not one, or ``node`` is the decision itself.
    CycleError
        ``node`` is a descendant of ``decision``: the link would close a cycle.
    SpecError
        One of the two diagrams cannot be solved (the message says why).

    Examples
    --------
    Guessing a fair coin ``X``: seeing it is worth 1/2.

    >>> import cpspec as cp
    >>> w = cp.world("w", X=cp.uniform([0, 1]), D=cp.decision([0, 1]),
    ...              U=cp.utility(lambda X, D: int(X == D)))
    >>> cp.value_of_information(w, "X", "D")
    1/2
    """
    verb = f"value_of_information({node!r}, {decision!r})"
    decisions, _ = _check_diagram(diagram, verb)
    dec = _decision(diagram, decision, decisions, verb)
    x = _node(diagram, node, verb)
    if x == dec:
        raise QueryError(f"{verb}: the node is the decision itself; the value of "
                         "information is about another node the decision could observe")
    if x in nx.descendants(diagram.graph, dec):
        path = " -> ".join(nx.shortest_path(diagram.graph, dec, x))
        raise CycleError(
            f"{verb}: {x!r} is a descendant of {dec!r} ({path}), so the link {x} -> {dec} "
            "would close a cycle: a decision cannot observe its own consequences; ask "
            "about a node that is not downstream of the decision")
    f = diagram.node(dec).function
    parents = diagram.parents(dec)
    without = tuple(p for p in parents if p != x)
    seen = diagram.replace(f"{diagram.name}_sees_{x}", **{
        dec: dataclasses.replace(f, parents=without + (x,))}) if x not in parents \
        else diagram
    unseen = diagram.replace(f"{diagram.name}_without_{x}", **{
        dec: dataclasses.replace(f, parents=without)}) if x in parents else diagram

    def work():
        with_link = _optimum(seen, verb, f"the diagram where {dec!r} sees {x!r}")
        without_link = _optimum(unseen, verb, f"the diagram where {dec!r} does not see "
                                              f"{x!r}")
        return _checked(_difference(with_link, without_link), verb)
    return run_within(Deadline(check_timeout(timeout)), verb, None, work)


def value_of_control(diagram: Diagram, node: str, timeout: float | None = 60.0):
    """The exact value of control of ``node``: what the decision maker gains if it may
    also set ``node``.

    The optimal expected utility when ``node`` is chosen by the decision maker, as a
    function of ``node``'s own parents (a soft intervention ``g: dom(Pa) -> dom(node)``
    on the same domain, chosen jointly with the decision rules), minus the optimal
    expected utility of the diagram as given. This is the paper's definition and
    pycid's ``quantitative_voc`` (which turns the node into a decision informed by its
    original parents). The original parents, and not the decisions' information or no
    information, are the right information set: the node's own mechanism is then one of
    the rules to choose from, so the value is never negative, and it is the value the
    graphical criterion (:func:`incentives`, VoC) is sound and complete for.

    It is computed by one exact solve with ``node`` as a decision when that diagram is
    ordered and has sufficient recall for ``cp.solve``; otherwise (for instance when
    ``node`` is not ordered with the decisions, or is a utility node, which stays one)
    as the best of the exact solves over all deterministic rules of ``node``, at most
    :data:`MAX_CONTROL_RULES` of them. A symbolic parameter gives a closed form; over
    enumerated rules it may contain ``Max``.

    Parameters
    ----------
    diagram : Diagram
        An influence diagram that :func:`cp.solve` can solve.
    node : str
        A chance or utility node (a decision is already controlled).
    timeout : float or None
        Seconds for the whole call (None: no limit).

    Returns
    -------
    sympy.Expr
        ``EU*(node controlled) - EU*(diagram)``.

    Raises
    ------
    UnknownNodeError
        ``node`` is not a node of the diagram.
    QueryError
        The diagram has no decision, or ``node`` is a decision.
    ModelTooLargeError
        More than :data:`MAX_CONTROL_RULES` rules would have to be enumerated.

    Examples
    --------
    A lottery ``X`` pays what the agent bets on it; controlling the lottery is worth
    the odds it would otherwise lose.

    >>> import cpspec as cp
    >>> w = cp.world("w", X=cp.dist({0: "2/3", 1: "1/3"}), D=cp.decision([0, 1]),
    ...              U=cp.utility(lambda X, D: int(X == D)))
    >>> cp.value_of_control(w, "X")
    1/3
    """
    verb = f"value_of_control({node!r})"
    decisions, _ = _check_diagram(diagram, verb)
    x = _node(diagram, node, verb)
    kind = diagram.node(x).kind
    if kind == "decision":
        raise QueryError(f"{verb}: {x!r} is a decision, already set by the decision "
                         "maker; ask about a chance or utility node")
    parents = diagram.parents(x)
    values = diagram.domain(x)
    n_rules = len(values) ** math.prod(len(diagram.domain(p)) for p in parents)

    def work():
        base = _optimum(diagram, verb, f"world {diagram.name!r}")
        if kind == "chance":
            try:
                controlled = diagram.replace(f"{diagram.name}_controls_{x}", **{
                    x: decision_node(values, parents=parents,
                                     label=diagram.node(x).function.label)})
                return _checked(_difference(solve_diagram(controlled).value, base), verb)
            except SpecError as e:
                # cp.solve refuses unordered decisions or insufficient recall with a
                # plain SpecError: enumerate instead. Budgets, sizes: their own class
                if type(e) is not SpecError:
                    raise
        if n_rules > MAX_CONTROL_RULES:
            raise ModelTooLargeError(
                f"{verb}: the controlled diagram is not solvable by backward induction, "
                f"and enumerating the {n_rules} deterministic rules of {x!r} exceeds "
                f"cpspec.decisions.incentive_criteria.MAX_CONTROL_RULES = "
                f"{MAX_CONTROL_RULES}; raise it, or give {x!r} fewer values or parents")
        best = []
        keys = list(itertools.product(*(diagram.domain(p) for p in parents)))
        for choice in itertools.product(values, repeat=len(keys)):
            rule = dict(zip(keys, choice))
            impl = lambda *args, _r=rule: _r[args]  # noqa: E731
            if kind == "utility":
                f = dataclasses.replace(diagram.node(x).function, impl=impl, parents=parents)
            else:
                f = fn(impl, parents=list(parents), label=diagram.node(x).function.label)
            best.append(_optimum(diagram.replace(f"{diagram.name}_sets_{x}", **{x: f}),
                                 verb, f"world {diagram.name!r} with {x!r} set by a rule"))
        top = sympy.Max(*best)
        if top.has(sympy.Piecewise):
            top = sympy.piecewise_fold(top)
        return _checked(_difference(top, base), verb)
    return run_within(Deadline(check_timeout(timeout)), verb, None, work)

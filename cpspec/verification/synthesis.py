"""Parameter synthesis: the exact regions of parameters where a property holds.

Over several parameters (or any property), :func:`_synthesize_regions` partitions the
parameters' box exactly; its docstring says how each property is decided. Over the
discount alone, ``synthesize(agent, no_incentive(node), over=gamma)`` splits the parameter's domain at the
exact thresholds of the agent's nominal plan, then asks Z3 on each piece whether *some*
value of the parameter there admits a violation (the discount is a Z3 variable, so the
problem is nonlinear real arithmetic, which Z3 decides). An ``unsat`` piece holds
throughout. A ``sat`` answer gives a witness model of the node's dynamics; cpspec then
derives *exactly* (parametric solve) the set of parameter values where that model flips
the agent's action, marks it as failing, and continues on the rest. Witnesses are also
pushed to the nearest deterministic dynamics, whose failing set is often the whole
failing region, so the loop usually ends in a few rounds. Whatever is still open after
``max_rounds`` (or where Z3 says unknown) is reported as ``unknown``, never guessed.

Every region is cross-checked: a rational point inside each maximal piece is verified
concretely with :func:`cp.verify`, and the two answers must agree.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy
import z3
from sympy.logic.boolalg import to_nnf

from ..budget import Deadline, Expired, check_timeout, time_limit
from ..agents.base import Agent
from ..errors import ParameterError, SpecError, UnknownNodeError
from ..executors import Lost, run_ordered
from ..core.functions import number_to_sympy
from ..agents.learners import PerfectLearner
from .properties import Property
from ..core.display import html_table, latex_text, svg
from ..core.regions import Choice, rational_between, show_set
from ..core.partition import (ParameterRegion, parameter_box, partition, polynomial_condition,
                              show_condition,
                              simplify_condition, solve_regions, strictly, tidy, to_z3)
from ..decisions.mdp import MDP
from ..decisions.solving import ExactModel, ParametricSolution, Solution, optimal_at, solve
from .structure import no_path_certificate
from .behaviour import behaviour_conditions, behaviour_obstacle
from .encoding import check_z3, fraction, new_solver
from .myopia import continuation_problem
from .incentives import incentive_problem, normalized, theta_values, twin_agent
from .procedures import verify

__all__ = ["Synthesis", "RegionSynthesis", "synthesize"]


@dataclass(frozen=True)
class Synthesis:
    """Where a property holds, as exact sets of the parameter's values."""

    parameter: sympy.Symbol
    property: str
    holds: sympy.Set
    fails: sympy.Set
    unknown: sympy.Set
    samples: tuple  # (value, status) from concrete verification at interior points
    rounds: int

    def __str__(self) -> str:
        x = self.parameter
        parts = [f"{self.property} holds for {show_set(self.holds, x)}"
                 if self.holds is not sympy.S.EmptySet else f"{self.property} holds nowhere"]
        if self.fails is not sympy.S.EmptySet:
            parts.append(f"fails for {show_set(self.fails, x)}")
        if self.unknown is not sympy.S.EmptySet:
            parts.append(f"unknown for {show_set(self.unknown, x)}")
        return "; ".join(parts)

    def __repr__(self) -> str:
        return f"Synthesis({self})"

    def _parts(self) -> list:
        return [(name, s) for name, s in (("holds", self.holds), ("fails", self.fails),
                                          ("unknown", self.unknown))
                if s is not sympy.S.EmptySet]

    def _repr_html_(self) -> str:
        """Where the property holds, fails and is unknown, as a table."""
        x = self.parameter
        return html_table(["verdict", f"where {x}"],
                          [[name, show_set(s, x)] for name, s in self._parts()],
                          f"{self.property} over {x}")

    def _repr_latex_(self) -> str:
        r"""The regions as LaTeX cases (math mode throughout): ``holds & \gamma \in ...``."""
        x = sympy.latex(self.parameter)
        cases = r" \\ ".join(f"{latex_text(name)} & {x} \\in {sympy.latex(s)}"
                             for name, s in self._parts())
        return (r"$" + latex_text(self.property) + r": \begin{cases} " + cases
                + r" \end{cases}$")


@dataclass(frozen=True)
class RegionSynthesis:
    """Where a property holds over several parameters: exact conditions (SymPy Booleans
    in the parameters) for *holds*, *fails* and *unknown*, which partition the box.

    ``counterexamples`` pairs each failing region with the dynamics (or the concrete
    counterexample) that makes the property fail throughout it; ``samples`` lists
    ``(point, status)`` from concrete verification at a point of each region.
    """

    parameters: tuple
    property: str
    box: Any
    holds: Any
    fails: Any
    unknown: Any
    counterexamples: tuple
    samples: tuple
    rounds: int
    reason: str | None = None

    def regions(self) -> list[ParameterRegion]:
        """The non-empty regions as records: ``.condition`` and ``.answer`` (``"holds"``,
        ``"fails"`` or ``"unknown"``)."""
        out = []
        for answer, cond in (("holds", self.holds), ("fails", self.fails),
                             ("unknown", self.unknown)):
            if cond is not sympy.false:
                pts = [pt for pt, st in self.samples if st == answer]
                out.append(ParameterRegion(cond, answer, pts[0] if pts else {},
                                           tuple(pts)))
        return out

    def _repr_html_(self) -> str:
        """The regions' picture (one or two parameters) above a table of the conditions
        where the property holds, fails and is unknown."""
        rows = [[r.answer, show_condition(r.condition)] for r in self.regions()]
        if self.reason and self.unknown is not sympy.false:
            rows.append(["(unknown: why)", self.reason])
        return (svg(self) or "") + html_table(
            ["verdict", "where"], rows,
            f"{self.property} over {', '.join(map(str, self.parameters))}")

    def __str__(self) -> str:
        parts = []
        for r in self.regions():
            where = "everywhere" if r.condition is sympy.true else \
                f"where {show_condition(r.condition)}"
            parts.append(f"{self.property} {r.answer} {where}")
        if self.reason and self.unknown is not sympy.false:
            parts.append(f"(unknown: {self.reason})")
        return "\n".join(parts)


def _atoms(s: sympy.Set) -> list:
    if s is sympy.S.EmptySet:
        return []
    if isinstance(s, sympy.Union):
        out = []
        for a in s.args:
            out += _atoms(a)
        return out
    if isinstance(s, sympy.FiniteSet):
        return [sympy.FiniteSet(v) for v in s]
    return [s]


def _z3_number(ctx, solver, r, tag):
    """An exact real (rational or algebraic) as a Z3 term: algebraic numbers become a
    variable pinned by their minimal polynomial and an isolating rational interval."""
    r = sympy.nsimplify(r) if not isinstance(r, sympy.Basic) else r
    if r.is_Rational:
        return z3.RealVal(f"{r.p}/{r.q}", ctx)
    z = sympy.Dummy("z")
    mp = sympy.Poly(sympy.minimal_polynomial(r, z), z)
    approx = sympy.N(r, 60)
    for (a, b), _ in mp.intervals():
        if a <= approx <= b:
            break
    else:  # pragma: no cover - a real algebraic number lies in one isolating interval
        raise ParameterError(f"cannot isolate the algebraic number {r}")
    y = z3.Real(f"alg_{tag}", ctx)
    coeffs = mp.all_coeffs()
    deg = len(coeffs) - 1
    solver.add(z3.Sum(*[z3.RealVal(str(c), ctx) * y ** (deg - i)
                        for i, c in enumerate(coeffs)]) == 0)
    solver.add(y >= z3.RealVal(str(a), ctx), y <= z3.RealVal(str(b), ctx))
    return y


def _constrain(ctx, solver, g, atom: sympy.Set):
    if isinstance(atom, sympy.FiniteSet):
        (v,) = atom
        solver.add(g == _z3_number(ctx, solver, v, "pt"))
        return
    lo, hi = atom.start, atom.end
    if lo.is_finite:
        t = _z3_number(ctx, solver, lo, "lo")
        solver.add(g > t if atom.left_open else g >= t)
    if hi.is_finite:
        t = _z3_number(ctx, solver, hi, "hi")
        solver.add(g < t if atom.right_open else g <= t)


def _set_where(choice, pred, x) -> sympy.Set:
    if isinstance(choice, Choice):
        return sympy.Union(*[s for s, v in choice.pieces if pred(v)]) if any(
            pred(v) for _, v in choice.pieces) else sympy.S.EmptySet
    return sympy.S.Reals if pred(choice) else sympy.S.EmptySet


def _vertex(table: dict) -> dict:
    return {c: {max(row, key=lambda v: row[v]): Fraction(1)} for c, row in table.items()}


def synthesize(agent: Agent, prop: Property, over: Any, domain: sympy.Set | None = None,
               timeout: float | None = 60.0, max_rounds: int = 20,
               executor: Executor | None = None) -> Synthesis:
    """The exact regions of the parameters ``over`` where ``prop`` holds for ``agent``,
    where it fails and where it is unknown.

    ``over`` is one symbol or a list of them: every parameter of the environment
    (probabilities, rewards, the discount). ``no_incentive(node)`` over the discount
    alone gives a :class:`Synthesis` (exact sets of the discount); anything else a
    :class:`RegionSynthesis` (exact conditions, a counterexample per failing region; see
    :func:`_synthesize_regions` for how each property is decided). ``domain`` gives the
    parameters' ranges (``{b: sympy.Interval(0, 1), ...}``; a parameter no probability
    or discount bounds needs one). ``timeout`` is a budget in seconds for the whole call:
    what is not decided when it runs out is unknown, never holds. ``executor`` (any
    ``concurrent.futures.Executor``, e.g. a Dask ``Client(...).get_executor()``) runs
    the concrete cross-checks of the regions' sample points.

    Examples
    --------
    >>> import cpspec as cp, sympy
    >>> from cpspec.examples import stop_button
    >>> g = sympy.Symbol("gamma")
    >>> sif = cp.agents.SIF(stop_button(gamma=g), null_action="null",
    ...                     stop_pressed=lambda s: s.button == "pressed")
    >>> print(cp.synthesize(sif, cp.no_incentive("button"), over=g))
    no_incentive(button) holds for 0 <= gamma <= 1/2; fails for 1/2 < gamma < 1
    >>> b = sympy.Symbol("b")
    >>> fp = cp.agents.FP(stop_button(gamma=g, press=b))
    >>> print(cp.synthesize(fp, cp.obeys_stop_button(2, lambda s: s.button == "pressed",
    ...                                             "null"), over=[g, b]))
    obeys_stop_button(2) holds where b <= 0
    obeys_stop_button(2) fails where b > 0
    """
    timeout = check_timeout(timeout)
    xs = list(over) if isinstance(over, (list, tuple)) else [over]
    for x in xs:
        if not isinstance(x, sympy.Symbol):
            raise SpecError(f"synthesize(over=...) needs SymPy symbols, got {x!r}")
    x = xs[0]
    simple = (len(xs) == 1 and prop.name == "no_incentive"
              and number_to_sympy(agent.env.gamma) == x and not agent.env.free_symbols() - {x}
              and (domain is None or isinstance(domain, sympy.Set)))
    if not simple:
        return _synthesize_regions(agent, prop, xs, domain, Deadline(timeout), max_rounds)
    if prop.name != "no_incentive":
        raise SpecError(f"synthesize supports no_incentive(node) over the discount; got "
                        f"{prop}")
    env = agent.env
    if number_to_sympy(env.gamma) != x or env.free_symbols() - {x}:
        raise ParameterError(f"synthesize over {x}: the environment's gamma must be the "
                             f"symbol {x} and everything else numbers (free: "
                             f"{sorted(map(str, env.free_symbols()))})")
    node = prop.node
    if env.variables is None or node not in env.variables:
        raise UnknownNodeError(f"no_incentive({node}): no state variable {node!r}")
    if not isinstance(agent.learner, PerfectLearner):
        raise SpecError("synthesize needs the perfect learner (the factored dynamics)")
    if domain is None:
        domain = sympy.Interval.Ropen(0, 1) if agent.horizon is sympy.oo else \
            sympy.Interval(0, 1)
    fails: sympy.Set = sympy.S.EmptySet
    unknown: sympy.Set = sympy.S.EmptySet
    rounds = 0
    work: list = []
    deadline = Deadline(timeout)
    current: sympy.Set = domain  # undecided until the planned actions are known
    try:
        with time_limit(deadline):
            for s in env.states:
                nominal = agent.planned_action(agent.o0, s)
                for act in ({v for _, v in nominal.pieces} if isinstance(nominal, Choice)
                            else {nominal}):
                    region = _set_where(nominal, lambda v, act=act: v == act, x) & domain
                    work += [(atom, s, act, nominal) for atom in _atoms(region)]
            current = sympy.S.EmptySet
            while work:
                atom, s, act, nominal = work.pop()
                current = atom - fails
                for piece in _atoms(current):
                    ctx = z3.Context()
                    solver = new_solver(ctx, deadline)
                    g = z3.Real("gamma", ctx)
                    _constrain(ctx, solver, g, piece)
                    theta = incentive_problem(agent, node, s, act, ctx, solver, g)
                    res, why = check_z3(solver)
                    if res == "unsat":
                        continue
                    if res == "unknown":
                        unknown = unknown | piece
                        continue
                    table = normalized(theta_values(solver.model(), theta))
                    flipped: sympy.Set = sympy.S.EmptySet
                    for cand in (table, _vertex(table)):
                        twin_plan = twin_agent(agent, node, cand).planned_action(agent.o0, s)
                        flipped = flipped | (_set_where(twin_plan, lambda v: v != act, x) &
                                             _set_where(nominal, lambda v: v == act, x))
                    gained = flipped & piece
                    rounds += 1
                    if gained is sympy.S.EmptySet or rounds > max_rounds:
                        unknown = unknown | piece
                        continue
                    fails = fails | gained
                    work += [(rest, s, act, nominal) for rest in _atoms(piece - gained)]
                current = sympy.S.EmptySet
    except Expired:  # what was not decided in time is unknown, never holds
        unknown = unknown | current
        for atom, *_ in work:
            unknown = unknown | atom
    unknown = unknown - fails
    holds = domain - fails - unknown
    samples = _cross_check(agent, prop, x, holds, fails, deadline, executor)
    return Synthesis(x, str(prop), holds, fails, unknown, samples, rounds)


def _first_actions(sol, s, horizon) -> list:
    """``[(condition, first action)]`` of a solved planning world over the parameters."""
    if isinstance(sol, Solution):
        return [(sympy.true, sol.policy(s) if sol.stationary else sol.policy(0, s))]
    stationary = horizon is sympy.oo
    if isinstance(sol, ParametricSolution):
        c = sol.policy(s) if stationary else sol.policy(0, s)
        if not isinstance(c, Choice):
            return [(sympy.true, c)]
        return [(st.as_relational(sol.parameter), a) for st, a in c.pieces]
    regs = sol.regions(lambda one: one.policy(s) if one.stationary else one.policy(0, s))
    return [(r.condition, r.answer) for r in regs]


def _plan_regions(agent, env, s, domain, plans: dict | None = None) -> list:
    """``[(condition, planned action in s)]`` over the parameters; ``plans`` keeps the
    solved planning world for the states that share it."""
    plans = {} if plans is None else plans
    key = s if agent.planning_depends_on_state else None
    if key not in plans:
        mdp = agent.with_env(env).planning_mdp(agent.o0, s)
        dom = {k: v for k, v in domain.items() if k in mdp.free_symbols()} or None
        plans[key] = solve(mdp, agent.horizon, domain=dom, timeout=None)
    return _first_actions(plans[key], s, agent.horizon)


@dataclass
class _Found:
    """What a synthesis found so far: failing and unknown conditions, a counterexample
    per failing region, and the reason for the unknown part."""

    fails: list
    unknown: list
    cexes: list
    rounds: int = 0
    reason: str | None = None


def _synthesize_regions(agent: Agent, prop: Property, over: list, domain, deadline,
                        max_rounds: int) -> RegionSynthesis:
    """Synthesis over several parameters (or a parameter other than the discount).

    * ``no_incentive(node)`` and ``myopic(N)``: for each state and each region of its
      nominal planned action, Z3 (nonlinear real arithmetic, with the parameters free
      together with the node's dynamics, or with the continuation values at step ``N``)
      decides whether a violation exists there; ``unsat`` proves the region. A witness
      (dynamics, continuation values) is replayed exactly: the region where it flips the
      action (a parametric solve of the changed planning world) fails, and the rest is
      asked again.
    * the trace properties: the box is partitioned into the regions of the agent's
      behaviour (:mod:`cpspec.verification.behaviour`), on each of which the verdict is
      the same; each is verified once, exactly, at its sample point, and a failing one
      carries the counterexample found there, valid throughout it.
    * ``policy_unmodified()`` and ``no_self_knowledge()`` are facts of the agent
      definition: one verdict for the whole box; so are the structural verdicts of
      ``no_incentive`` (no path to a utility) and ``myopic`` (a horizon cut).

    Anything else is *unknown* with the reason, never guessed."""
    env = agent.env
    free = env.free_symbols()
    for x in over:
        if x not in free:
            raise ParameterError(f"{x} is not a parameter of the environment (its parameters: "
                                 f"{', '.join(sorted(map(str, free))) or 'none'}); build it "
                                 f"with the symbol {x} where the value should vary")
    extra = free - set(over)
    if extra:
        raise ParameterError(f"synthesize over {', '.join(map(str, over))}: the environment "
                             f"also has the parameters {', '.join(sorted(map(str, extra)))}; "
                             "add them to over=[...] or bind them (env.bind(...))")
    if domain is not None and not isinstance(domain, dict):
        raise ParameterError("synthesize over several parameters takes domain={symbol: "
                             "sympy.Interval(...), ...}")
    probs = [p for row in env.P.values() for p in row.values()]
    params, box = parameter_box(set(over), domain, probs, env.gamma,
                                infinite=agent.horizon is sympy.oo)
    by_name = {str(x): x for x in params}
    dom = {by_name[str(k)]: v for k, v in (domain or {}).items()}
    found = _Found([], [], [])

    def done(holds_cond=None, samples=None):
        f = tidy(params, box, sympy.Or(*found.fails), deadline) if found.fails \
            else sympy.false
        u = tidy(params, box, sympy.And(sympy.Or(*found.unknown), sympy.Not(f)), deadline) \
            if found.unknown else sympy.false
        h = holds_cond if holds_cond is not None else tidy(
            params, box, to_nnf(sympy.And(box, sympy.Not(f), sympy.Not(u))), deadline)
        if samples is None:
            samples = _region_samples(agent, prop, params, box, {"holds": h, "fails": f},
                                      deadline)
        cexes = tuple((tidy(params, box, c, deadline), _witness(w)) for c, w in found.cexes)
        return RegionSynthesis(params, str(prop), box, h, f, u, cexes, samples,
                               found.rounds, found.reason)

    def whole_box():
        """The verdict at one point, for the whole box (it is about facts that do not
        depend on the parameters)."""
        status, cex, reason = _verify_at(agent, prop, _z3_point(params, box, sympy.true),
                                         deadline)
        if status == "holds":
            return done(sympy.true)
        (found.fails if status == "fails" else found.unknown).append(box)
        if status == "fails":
            found.cexes.append((box, cex))
        found.reason = None if status == "fails" else reason
        return done(sympy.false)

    if prop.name == "no_self_knowledge" or (prop.name == "policy_unmodified"
                                            and prop.policy_var is None):
        return whole_box()
    if prop.name == "no_incentive":
        if isinstance(agent.learner, PerfectLearner) and env.variables is not None and \
                prop.node in env.variables and no_path_certificate(agent, prop.node):
            return done(sympy.true)
        _incentive_regions(agent, prop, params, box, dom, deadline, max_rounds, found)
        return done()
    if prop.name == "myopic":
        H = agent.horizon
        N = prop.N + prop.slack
        why = ("STH with chunks: cpspec does not derive regions of a chunk plan's reach"
               if agent.chunks is not None else
               f"the planning horizon {H} is symbolic" if isinstance(H, sympy.Symbol)
               else None)
        if why:
            found.unknown.append(box)
            found.reason = why
            return done(sympy.false)
        if prop.within == 1 or (isinstance(H, int) and H <= N):
            return whole_box()
        _myopic_regions(agent, N, params, box, dom, deadline, max_rounds, found)
        return done()
    return _behaviour_regions(agent, prop, params, box, deadline, found, done)


def _violations(agent, params, box, dom, deadline, max_rounds, found: _Found, encode,
                flips) -> None:
    """The Z3 loop of ``no_incentive`` and ``myopic`` (see :func:`_synthesize_regions`).
    ``encode(ctx, solver, zv, s, act)`` adds "a violation in state ``s`` whose nominal
    action is ``act``" and returns how to read a witness from Z3's model;
    ``flips(witness, s, act, cond)`` lists the conditions where that witness flips the
    action (exact)."""
    work: list = []
    try:
        with time_limit(deadline):
            plans: dict = {}
            for s in agent.env.states:
                work += [(c, s, a) for c, a in _plan_regions(agent, agent.env, s, dom, plans)]
            while work:
                cond, s, act = work.pop()
                ctx = z3.Context()
                solver = new_solver(ctx, deadline)
                zv = {x: z3.Real(str(x), ctx) for x in params}
                side: list = []
                solver.add(to_z3(box, zv, ctx), to_z3(cond, zv, ctx, side),
                           *[z3.Not(to_z3(f, zv, ctx, side)) for f in found.fails])
                solver.add(*side)
                read = encode(ctx, solver, zv, s, act)
                res, why = check_z3(solver)
                if res == "unsat":
                    continue
                if res == "unknown":
                    found.unknown.append(cond)
                    found.reason = why
                    continue
                witness = read(solver.model())
                gained = flips(witness, s, act, cond)
                found.rounds += 1
                if not gained or found.rounds > max_rounds:
                    found.unknown.append(cond)
                    found.reason = (f"no exact failing region found within "
                                    f"max_rounds={max_rounds}")
                    continue
                region = sympy.And(cond, sympy.Or(*gained))
                found.fails.append(region)
                found.cexes.append((region, witness))
                work.append((sympy.And(cond, sympy.Not(sympy.Or(*gained))), s, act))
    except Expired:
        found.unknown.append(box)
        found.reason = "the time budget ran out"


def _incentive_regions(agent, prop, params, box, dom, deadline, max_rounds, found) -> None:
    env, node = agent.env, prop.node
    if env.variables is None or node not in env.variables:
        raise UnknownNodeError(f"no_incentive({node}): no state variable {node!r}")
    if not isinstance(agent.learner, PerfectLearner):
        raise SpecError("synthesize needs the perfect learner (the factored dynamics)")
    g = number_to_sympy(env.gamma)

    def encode(ctx, solver, zv, s, act):
        theta = incentive_problem(agent, node, s, act, ctx, solver, to_z3(g, zv, ctx),
                                  params=zv)
        return lambda model: normalized(theta_values(model, theta))

    def flips(table, s, act, cond):
        gained = []
        for cand in (table, _vertex(table)):
            twin = twin_agent(agent, node, cand)
            gained += [c for c, a in _plan_regions(twin, twin.env, s, dom) if a != act]
        return gained
    _violations(agent, params, box, dom, deadline, max_rounds, found, encode, flips)


def _myopic_regions(agent, N, params, box, dom, deadline, max_rounds, found) -> None:
    def encode(ctx, solver, zv, s, act):
        mdp = agent.planning_mdp(agent.o0, s)
        V = continuation_problem(mdp, s, act, N, ctx, solver, params=zv)
        return lambda model: {x: fraction(model.eval(v, model_completion=True))
                              for x, v in V.items()}

    def flips(vals, s, act, cond):
        """Where the continuation values ``vals`` flip the action, and where ``c * vals``
        does for every large enough ``c``: there the first step's Q-values in the
        planning world without rewards (the leading order in ``c``) put another action
        strictly ahead of ``act``."""
        mdp = agent.planning_mdp(agent.o0, s)
        V_end = {x: vals.get(x, Fraction(0)) for x in mdp.states}
        region = sympy.And(box, cond)
        model = ExactModel.of(mdp)
        sol = solve_regions(params, region, lambda pt: optimal_at(
            mdp, N, pt, deadline, V_end=V_end, model=model), None,
            lambda one: one.policy(0, s), deadline)
        gained = [r.condition for r in sol.regions() if r.answer != act]
        bare = MDP(mdp.states, mdp.actions, lambda x, a: mdp.P[(x, a)], lambda *_: 0,
                   mdp.start, mdp.gamma)
        bare_model = ExactModel.of(bare)
        lead = solve_regions(params, region, lambda pt: optimal_at(
            bare, N, pt, deadline, V_end=V_end, model=bare_model), None,
            lambda one: one.q(s, 0), deadline)
        for r in lead.regions():
            ahead = [polynomial_condition(q - r.answer[act], strict=True)
                     for b, q in r.answer.items() if b != act]
            gained.append(sympy.And(r.condition, sympy.Or(*ahead)))
        return gained
    _violations(agent, params, box, dom, deadline, max_rounds, found, encode, flips)


def _behaviour_regions(agent, prop, params, box, deadline, found: _Found, done):
    """The trace properties over the regions of the agent's behaviour."""
    why = behaviour_obstacle(agent)
    if why is not None:
        found.unknown.append(box)
        found.reason = why
        return done(sympy.false)
    pieces: list = []

    def locate(point):
        conds = behaviour_conditions(agent, point, prop.K, deadline)
        answer = _verify_at(agent, prop, point.values, deadline)
        cond = simplify_condition(params, box, conds, deadline)
        pieces.append(ParameterRegion(cond, answer, dict(point.values)))
        return answer, cond
    try:
        with time_limit(deadline):
            partition(params, box, locate, deadline, what=f"the box {box}")
    except Expired:   # the regions verified so far stand; the rest is unknown
        found.unknown.append(sympy.And(box, *[sympy.Not(r.condition) for r in pieces]))
        found.reason = "the time budget ran out"
    for r in pieces:
        status, cex, reason = r.answer
        if status == "fails":
            found.fails.append(r.condition)
            found.cexes.append((r.condition, cex))
        elif status == "unknown":
            found.unknown.append(r.condition)
            found.reason = found.reason or reason
    return done(samples=tuple((r.sample, r.answer[0]) for r in pieces))


def _witness(w):
    """A failing region's witness as the user reads it: a counterexample as it is, the
    dynamics of a node (``{(parents): {value: probability}}``) and continuation values
    (``{state: value}``) as text, one row a line."""
    if not isinstance(w, dict):
        return w
    if all(isinstance(v, dict) for v in w.values()):
        return "the dynamics " + "; ".join(
            f"{k} -> " + ", ".join(f"{x}: {p}" for x, p in row.items()) for k, row in w.items())
    nonzero = {k: v for k, v in w.items() if v}
    if not nonzero:
        return "continuation values 0 at the horizon (everything after it worth nothing)"
    return ("continuation values at the horizon " + ", ".join(
        f"{k}: {v}" for k, v in nonzero.items()) + " (0 elsewhere), or a large enough "
        "multiple of them")


def _verify_at(agent, prop, values: dict, deadline) -> tuple:
    """``(status, counterexample, reason)`` of ``prop`` verified exactly at a point."""
    if not values:
        return "unknown", None, "Z3 found no rational point of the region to verify at"
    try:
        concrete = agent.with_env(agent.env.bind(**{str(k): v for k, v in values.items()}))
    except SpecError as exc:
        return "unknown", None, f"the model cannot be solved exactly at {values}: {exc}"
    v = verify(concrete, prop, timeout=deadline.remaining())
    return v.status, v.counterexample, v.reason


def _z3_point(params, box, cond) -> dict:
    """A rational point of ``box`` and ``cond`` (strictly inside when there is one)."""
    ctx = z3.Context()
    zv = {x: z3.Real(str(x), ctx) for x in params}
    for strict in (True, False):
        solver = z3.Solver(ctx=ctx)
        solver.set("timeout", 5000)
        side: list = []
        solver.add(to_z3(strictly(box) if strict else box, zv, ctx),
                   to_z3(cond, zv, ctx, side), *side)
        if solver.check() != z3.sat:
            continue
        m = solver.model()
        out = {}
        for x in params:
            v = m.eval(zv[x], model_completion=True)
            if not z3.is_rational_value(v):
                break
            out[x] = sympy.Rational(v.numerator_as_long(), v.denominator_as_long())
        else:
            return out
    return {}


def _region_samples(agent, prop, params, box, conds, deadline) -> tuple:
    """Concrete verification at a rational point of each region: the two must agree."""
    out = []
    for want, cond in conds.items():
        if cond is sympy.false or deadline.expired():
            continue
        pt = _z3_point(params, box, cond)
        if not pt:
            continue
        concrete = agent.with_env(agent.env.bind(**{str(k): v for k, v in pt.items()}))
        got = verify(concrete, prop, timeout=deadline.remaining()).status
        if got == "unknown":
            continue
        if got != want:
            raise SpecError(f"synthesis cross-check failed at {pt}: the region says {want}, "
                            f"concrete verification says {got}")
        out.append((pt, got))
    return tuple(out)


def _cross_check(agent, prop, x, holds, fails, deadline, executor=None) -> tuple:
    """Concrete verification at one interior point of each region, within what is left of
    the call's budget (a point whose check is undecided in time, or whose worker is lost,
    is left out). The points are independent: ``executor`` verifies them anywhere."""
    points = []
    for want, region in (("holds", holds), ("fails", fails)):
        for atom in _atoms(region):
            if isinstance(atom, sympy.FiniteSet):
                (v,) = atom
            else:
                v = rational_between(atom.start, atom.end)
            if v.is_Rational:
                points.append((v, want))
    if deadline.expired():
        return ()
    out = []
    for (v, want), got in zip(points, run_ordered(
            executor, _sample_status, [(v, deadline.remaining()) for v, _ in points],
            (agent, prop, x), what="the agent", timeout=deadline.remaining())):
        if isinstance(got, Lost) or got == "unknown":
            continue
        if got != want:
            raise SpecError(f"synthesis cross-check failed at {x} = {v}: the region says "
                            f"{want}, concrete verification says {got}")
        out.append((v, got))
    return tuple(out)


def _sample_status(model: tuple, point: tuple) -> str:
    """The verdict of ``prop`` for the agent with the parameter bound to one value."""
    agent, prop, x = model
    v, seconds = point
    concrete = agent.with_env(agent.env.bind(**{x.name: v}))
    return verify(concrete, prop, timeout=seconds).status

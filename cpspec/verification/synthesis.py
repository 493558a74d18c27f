"""Parameter synthesis: the exact region of a parameter where a property holds.

``synthesize(agent, no_incentive(node), over=gamma)`` splits the parameter's domain at the
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

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy
import z3

from ..budget import Deadline, Expired, check_timeout, time_limit
from ..agents.base import Agent
from ..errors import ParameterError, SpecError, UnknownNodeError
from ..core.functions import number_to_sympy
from ..agents.learners import PerfectLearner
from .properties import Property
from ..core.display import html_table, latex_text
from ..core.regions import Choice, rational_between, show_set
from .encoding import check_z3, new_solver
from .incentives import incentive_problem, normalized, theta_values, twin_agent
from .procedures import verify

__all__ = ["Synthesis", "synthesize"]


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
               timeout: float | None = 60.0, max_rounds: int = 20) -> Synthesis:
    """The exact region of the parameter ``over`` where ``prop`` holds for ``agent``.

    Supported: ``no_incentive(node)`` with the discount ``gamma`` as the parameter (the
    environment's ``gamma`` must be that symbol; probabilities and rewards numbers).
    ``timeout`` is a budget in seconds for the whole call: what is not decided when it
    runs out is in ``.unknown``, never in ``.holds``.

    Examples
    --------
    >>> import cpspec as cp, sympy
    >>> from cpspec.examples import stop_button
    >>> g = sympy.Symbol("gamma")
    >>> sif = cp.agents.SIF(stop_button(gamma=g), null_action="null",
    ...                     stop_pressed=lambda s: s.button == "pressed")
    >>> print(cp.synthesize(sif, cp.no_incentive("button"), over=g))
    no_incentive(button) holds for 0 <= gamma <= 1/2; fails for 1/2 < gamma < 1
    """
    timeout = check_timeout(timeout)
    x = over[0] if isinstance(over, (list, tuple)) else over
    if not isinstance(x, sympy.Symbol):
        raise SpecError(f"synthesize(over=...) needs a SymPy symbol, got {over!r}")
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
    samples = _cross_check(agent, prop, x, holds, fails, deadline)
    return Synthesis(x, str(prop), holds, fails, unknown, samples, rounds)


def _cross_check(agent, prop, x, holds, fails, deadline) -> tuple:
    """Concrete verification at one interior point of each region, within what is left of
    the call's budget (a point whose check is undecided in time is left out)."""
    out = []
    for want, region in (("holds", holds), ("fails", fails)):
        for atom in _atoms(region):
            if isinstance(atom, sympy.FiniteSet):
                (v,) = atom
            else:
                v = rational_between(atom.start, atom.end)
            if not v.is_Rational or deadline.expired():
                continue
            concrete = agent.with_env(agent.env.bind(**{x.name: v}))
            got = verify(concrete, prop, timeout=deadline.remaining()).status
            if got == "unknown":
                continue
            if got != want:
                raise SpecError(f"synthesis cross-check failed at {x} = {v}: the region says "
                                f"{want}, concrete verification says {got}")
            out.append((v, got))
    return tuple(out)

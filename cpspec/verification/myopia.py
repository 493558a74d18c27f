"""``myopic(N)``: can anything the planning world holds beyond step ``N`` change the
planned action? Ground checks, an exact witness search, then the Z3 encoding with the
continuation values at step ``N`` left free."""

from __future__ import annotations

from fractions import Fraction

import sympy
import z3

from ..agents.base import Agent
from ..core.regions import Sign
from ..decisions.solving import backward_induction, ExactModel
from ..errors import ModelTooLargeError
from ..progress import progress
from . import encoding
from .encoding import check_z3, differs, fraction, max_var, new_solver, real
from .properties import Property
from .records import Counterexample, Outcome

__all__ = ["check_myopic"]


def check_myopic(agent: Agent, prop: Property, deadline):
    N = prop.N
    env = agent.env
    H = agent.horizon
    if isinstance(H, sympy.Symbol):
        return Outcome("unknown", None, f"the planning horizon {H} is symbolic; give a number")
    free = not (isinstance(H, int) and H <= N)
    depth = N if free else H
    n_terms = depth * sum(len(r) for r in env.P.values())
    if n_terms > encoding.MAX_TERMS:
        raise ModelTooLargeError(f"myopic({N}) of {agent!r} would need about {n_terms} "
                                 f"terms (limit {encoding.MAX_TERMS}); lower N or the model size")
    plans: dict = {}
    for s in progress(env.states, len(env.states), f"myopic({N})", min_total=50):
        key = s if agent.planning_depends_on_state else None
        if key not in plans:
            mdp = agent.planning_mdp(agent.o0, s)
            plans[key] = (mdp, ExactModel.of(mdp))
        mdp, model = plans[key]
        nominal = agent.planned_action(agent.o0, s)
        ctx = z3.Context()
        solver = new_solver(ctx, deadline)
        if not free:
            # nothing is free: the values are exact numbers and Z3 checks the comparison
            _, Vs = backward_induction(model, depth, Sign(model.K, None))
            Q0 = {a: real(ctx, model.K.to_sympy(model.q(s, a, Vs[1])))
                  for a in env.actions}
            solver.add(differs(ctx, Q0, env.actions, nominal))
            res, why = check_z3(solver)
            if res != "unsat":
                return Outcome("unknown", None, f"state {s!r}: {why or 'unexpected sat'}")
            continue
        cex = _spike_search(mdp, model, s, nominal, N)
        if cex is not None:
            return Outcome("fails", _myopic_cex(agent, mdp, s, nominal, cex, N), None)
        res, why, vals = _myopic_z3(ctx, solver, mdp, s, nominal, N)
        if res == "unknown":
            return Outcome("unknown", None, f"state {s!r}: {why}")
        if res == "sat":
            return Outcome("fails", _myopic_cex(agent, mdp, s, nominal, vals, N), None)
    why = (f"the planning horizon {H} <= {N}: nothing at steps >= {N} exists in the "
           "planning world" if not free else
           f"no continuation values at step {N} change the first action in any state")
    return Outcome("holds", None, why)


def _reach(mdp, s, N) -> list[set]:
    levels = [{s}]
    for _ in range(N):
        levels.append({x2 for x in levels[-1] for a in mdp.actions for x2 in mdp.P[(x, a)]})
    return levels


def _spike_search(mdp, model, s, nominal, N):
    """Cheap witnesses first: continuation values that are 0 everywhere, or a large
    positive or negative value at one reachable state. Each candidate is checked by exact
    backward induction; the first that flips the action is returned."""
    sign = Sign(model.K, None)
    zero = {x: Fraction(0) for x in mdp.states}
    candidates = [zero]
    for x in sorted(_reach(mdp, s, N)[N], key=repr):
        for v in (Fraction(10) ** 9, -Fraction(10) ** 9):
            spike = dict(zero)
            spike[x] = v
            candidates.append(spike)
    for vals in candidates:
        rules, _ = backward_induction(model, N, sign, V_end=vals)
        if rules[0][s] != nominal:
            return vals
    return None


def _myopic_z3(ctx, solver, mdp, s, nominal, N):
    """The full encoding, over the states reachable from ``s`` only."""
    levels = _reach(mdp, s, N)
    g = real(ctx, mdp.gamma)
    V = {x: z3.Real(f"V_{N}[{x}]", ctx) for x in levels[N]}
    Vend = dict(V)
    for t in reversed(range(N)):
        Q = {x: {a: z3.Sum(*[real(ctx, p) * (real(ctx, mdp.R[(x, a, x2)]) + g * V[x2])
                             for x2, p in mdp.P[(x, a)].items()])
                 for a in mdp.actions} for x in levels[t]}
        if t == 0:
            break
        V = {x: max_var(ctx, solver, f"V_{t}[{x}]", list(Q[x].values())) for x in levels[t]}
    solver.add(differs(ctx, Q[s], mdp.actions, nominal))
    res, why = check_z3(solver)
    if res != "sat":
        return res, why, None
    m = solver.model()
    vals = {x: Fraction(0) for x in mdp.states}
    vals.update({x: fraction(m.eval(v, model_completion=True)) for x, v in Vend.items()})
    return res, why, vals


def _myopic_cex(agent, mdp, s, nominal, vals, N) -> Counterexample:
    model = ExactModel.of(mdp)
    rules, _ = backward_induction(model, N, Sign(model.K, None), V_end=vals)
    flipped = rules[0][s]
    shown = ", ".join(f"{x}: {v}" for x, v in vals.items())
    text = (f"in state {s!r} the planned first action is {nominal!r}; if the planning world "
            f"from step {N} on is worth {{{shown}}} (any rewards or transitions there can "
            f"make it so), the optimal first action becomes {flipped!r}")
    return Counterexample("continuation", {"state": s, "nominal": nominal,
                                           "flipped": flipped, "step": N,
                                           "continuation_values": vals},
                          text, {"replayed_action": flipped,
                                 "confirmed": flipped != nominal})

"""``no_incentive(node)``: would the planned action change if the node's dynamics were
different? Four tiers, cheapest first: the planning world's structure
(:func:`~cpspec.verification.structure.no_path_certificate`), exact interval bounds over
every dynamics (:mod:`cpspec.verification.bounds`), exact deterministic witnesses in the
states the bounds leave open, then Z3 with the dynamics free. A counterexample changes
as few rows of the learned dynamics as can be had cheaply, and shows only those."""

from __future__ import annotations

import itertools
import time
from fractions import Fraction

import sympy
import z3

from ..agents.learners import PerfectLearner
from ..agents.base import Agent
from ..core.functions import dist
from ..decisions.mdp import MDP, State
from ..core.partition import to_z3
from ..errors import UnknownNodeError
from ..progress import progress
from . import encoding
from .encoding import check_z3, differs, fraction, max_var, new_solver, real
from .properties import Property
from .bounds import incentive_bounds
from .structure import no_path_certificate
from .records import Counterexample, Outcome

__all__ = ["check_no_incentive", "incentive_problem", "theta_values", "normalized",
           "twin_agent", "MAX_WITNESS_TABLES"]


def check_no_incentive(agent: Agent, prop: Property, deadline):
    env = agent.env
    node = prop.node
    fac = env.factors
    if fac is None or node not in env.variables:
        known = ", ".join(env.variables or ()) or "none (the environment is not factored)"
        raise UnknownNodeError(f"no_incentive({node}): the environment has no state variable "
                               f"{node!r}; its variables: {known}")
    if agent.chunks is not None:
        return Outcome("unknown", None, (
            "no_incentive is encoded for step-by-step planning worlds; this agent plans "
            "with chunks, whose policies and durations may read the node"))
    if agent.stamped_planning:
        return Outcome("unknown", None, (
            f"no_incentive is encoded for planning worlds over the environment's states; "
            f"{agent.kind}'s planning world is stamped with the planning step (its "
            "correction depends on the steps to go); use an infinite horizon, or compare "
            "agents with cp.equivalent"))
    if not isinstance(agent.learner, PerfectLearner):
        return Outcome("unknown", None, ("no_incentive is encoded for planning worlds built from the "
                                 "environment's own factored dynamics (learner='perfect')"))
    H = agent.horizon
    if isinstance(H, sympy.Symbol):
        return Outcome("unknown", None, f"the planning horizon {H} is symbolic; give a number")
    proof = no_path_certificate(agent, node)  # the structure decides for every dynamics
    if proof is not None:
        return Outcome("holds", None, proof, method="structure")
    nominals = agent.planned_actions(agent.o0)
    # exact interval bounds over every dynamics of the node: the states they decide need
    # no other method; their best and worst choices are candidate tables elsewhere
    bounds = incentive_bounds(agent, node, nominals)
    stop_at = _soon(deadline)
    if bounds is not None:
        if not bounds.undecided:
            return Outcome("holds", None, (
                f"exact interval bounds over every dynamics of {node!r}: in each state the "
                "planned action's worst-case Q-value is at least every other action's "
                "best case (strictly for the actions declared before it, which win ties)"),
                method="bounds")
        actual = _learned_rows(agent, node)
        for s, rows in bounds.candidates:
            if time.perf_counter() > stop_at:
                break
            table = {**actual, **{c: {v: Fraction(1)} for c, v in rows.items()}}
            if table != actual and _flipped(agent, node, table, s, nominals[s]) is not None:
                return Outcome("fails", _incentive_cex(agent, node, table, s, nominals[s],
                                                       _soon(deadline)), None, method="bounds")
        nominals = {s: nominals[s] for s in bounds.undecided}
    # cheap exact witnesses next: deterministic dynamics for the node, every open state
    found = _incentive_witness(agent, node, nominals, stop_at)
    if found is not None:
        table, s = found
        return Outcome("fails", _incentive_cex(agent, node, table, s, nominals[s],
                                               _soon(deadline)), None, method="witness")
    n_terms = len(env.states) ** 2 * len(env.actions) * (1 if H is sympy.oo else H)
    if n_terms > encoding.MAX_TERMS:  # the cheaper methods did not decide: say why
        return Outcome("unknown", None, (
            f"neither the structure nor an exact witness decided, and the Z3 encoding "
            f"would need about {n_terms} terms, above "
            f"cpspec.verification.encoding.MAX_TERMS = {encoding.MAX_TERMS}"))
    unknown = []
    for s in progress(list(nominals), len(nominals), f"no_incentive({node})", min_total=50):
        nominal = nominals[s]
        ctx = z3.Context()
        solver = new_solver(ctx, deadline)
        theta = incentive_problem(agent, node, s, nominal, ctx, solver,
                                  real(ctx, env.gamma))
        res, why = check_z3(solver)
        if res == "unknown":  # another state may still give a counterexample
            unknown.append(f"state {s!r}: {why}")
            continue
        if res == "sat":
            table = theta_values(solver.model(), theta)
            return Outcome("fails", _incentive_cex(agent, node, normalized(table), s, nominal,
                                                   _soon(deadline)), None)
    if unknown:
        more = f" (and {len(unknown) - 3} more states)" if len(unknown) > 3 else ""
        return Outcome("unknown", None, "; ".join(unknown[:3]) + more)
    n_bounds = len(env.states) - len(nominals)
    decided = "" if not n_bounds else (
        f" ({n_bounds} of the {len(env.states)} states decided by exact interval bounds, "
        "the others by Z3)")
    return Outcome("holds", None, (f"no model of the dynamics of {node!r} changes the planned "
                                   f"action in any state{decided}"))


#: Deterministic dynamics tables tried exactly before the Z3 encoding (no_incentive).
MAX_WITNESS_TABLES = 256


def _incentive_witness(agent: Agent, node: str, nominals: dict, stop_at: float):
    """A deterministic table for ``node``'s dynamics that changes the planned action in
    some state of ``nominals`` (state -> planned action), found by exact solving:
    ``(table, state)`` or None. Tries every table when there are at most
    :data:`MAX_WITNESS_TABLES`, those that change fewest rows of the learned dynamics
    first; else the tables that change one row, then the constant tables."""
    env = agent.env
    actual = _learned_rows(agent, node)
    configs = list(actual)
    values = list(env.factors[0][node])

    def point(v):
        return {v: Fraction(1)}

    def candidates():
        if len(values) ** len(configs) <= MAX_WITNESS_TABLES:
            tables = [{c: point(v) for c, v in zip(configs, combo)}
                      for combo in itertools.product(values, repeat=len(configs))]
            yield from sorted(tables, key=lambda t: sum(t[c] != actual[c] for c in configs))
            return
        for c in configs:
            for v in values:
                if actual[c] != point(v):
                    yield {**actual, c: point(v)}
        for v in values:
            yield {c: point(v) for c in configs}

    for k, table in enumerate(candidates()):
        if k >= MAX_WITNESS_TABLES or time.perf_counter() > stop_at:
            return None
        if table == actual:
            continue
        flipped = twin_agent(agent, node, table).planned_actions(agent.o0)
        for s, nominal in nominals.items():
            if flipped[s] != nominal:
                return table, s
    return None


def theta_values(model, theta) -> dict:
    """The free dynamics of a satisfying model, as exact fractions."""
    return {c: {v: fraction(model.eval(t, model_completion=True)) for v, t in row.items()}
            for c, row in theta.items()}


def incentive_problem(agent: Agent, node: str, s, nominal, ctx, solver, g,
                      params=None) -> dict:
    """Add to ``solver``: the dynamics of ``node`` free (``theta``), the planning values
    (Bellman optimality for an infinite horizon, backward induction otherwise) with the
    discount ``g`` (a Z3 term: a constant, or a variable for synthesis), and "the planned
    action in ``s`` is not ``nominal``". ``params`` maps the environment's symbolic
    parameters to Z3 variables (synthesis over several parameters; their probabilities
    and rewards must be polynomial in them). Returns ``theta``."""
    env = agent.env

    def real(ctx, x):
        if params and isinstance(x, sympy.Basic) and x.free_symbols:
            return to_z3(x, params, ctx)
        return encoding.real(ctx, x)
    domains, dynamics, parents = env.factors
    node_parents = parents[node]
    H = agent.horizon
    configs = list(itertools.product(*[env.actions if p == "A" else domains[p]
                                       for p in node_parents]))
    theta = {c: {v: z3.Real(f"theta[{node}|{c}][{v}]", ctx) for v in domains[node]}
             for c in configs}
    for c, row in theta.items():
        for v in row.values():
            solver.add(v >= 0)
        solver.add(z3.Sum(*row.values()) == 1)
    _, reward = agent.planning_parts(agent.o0, s)

    def trans(x, a):
        """P(x2 | x, a) as z3 terms, for the x2 with a possibly non-zero probability."""
        env_vals = dict(x)
        env_vals["A"] = agent.planning_action(x, a)
        rows = {}
        for k in env.variables:
            if k == node:
                c = tuple(env_vals[p] for p in node_parents)
                rows[k] = {v: theta[c][v] for v in domains[node]}
            else:
                rows[k] = {v: real(ctx, p) for v, p in dynamics[k].distribution(
                    k, tuple(env_vals[p] for p in parents[k])).items()}
        out = []
        for combo in itertools.product(*(rows[k].items() for k in env.variables)):
            x2 = State(**{k: v for k, (v, _) in zip(env.variables, combo)})
            prob = combo[0][1]
            for _, p in combo[1:]:
                prob = prob * p
            out.append((x2, prob))
        return out

    def q(V):
        return {x: {a: z3.Sum(*[p * (real(ctx, reward(x, a, x2)) + g * V[x2])
                                for x2, p in trans(x, a)])
                    for a in env.actions} for x in env.states}

    if H is sympy.oo:
        V = {x: z3.Real(f"V[{x}]", ctx) for x in env.states}
        Q = q(V)
        for x in env.states:
            for a in env.actions:
                solver.add(V[x] >= Q[x][a])
            solver.add(z3.Or(*[V[x] == Q[x][a] for a in env.actions]))
    else:
        V = {x: real(ctx, 0) for x in env.states}
        for t in reversed(range(H)):
            Q = q(V)
            if t:
                V = {x: max_var(ctx, solver, f"V_{t}[{x}]", list(Q[x].values()))
                     for x in env.states}
    solver.add(differs(ctx, Q[s], env.actions, nominal))
    return theta


def normalized(table: dict) -> dict:
    """Rows rounded from algebraic solutions, renormalised to sum to 1 exactly."""
    fixed = {}
    for c, row in table.items():
        total = sum(row.values())
        fixed[c] = {v: p / total for v, p in row.items() if p}
    return fixed


def twin_agent(agent: Agent, node: str, fixed: dict) -> Agent:
    """The same agent in an environment where ``node`` follows the table ``fixed``."""
    env = agent.env
    domains, dynamics, parents = env.factors
    new_dyn = dict(dynamics)
    new_dyn[node] = dist(lambda *args, _t=fixed: _t[tuple(args)], parents=list(parents[node]))
    start = dict(next(iter(env.mu0)))
    other = MDP.factored(domains, new_dyn, env.actions, env.reward, start, env.gamma)
    return agent.with_env(other)


def _soon(deadline) -> float:
    """The end of the time a cheap tier may spend: 10 s, or what is left if less."""
    left = deadline.remaining()
    return time.perf_counter() + (10.0 if left is None else min(10.0, left / 2))


def _learned_rows(agent: Agent, node: str) -> dict:
    """The node's dynamics as learned (the environment's own, for the perfect learner):
    parent configuration -> {value: probability}."""
    env = agent.env
    domains, dynamics, parents = env.factors
    configs = itertools.product(*[env.actions if p == "A" else domains[p]
                                  for p in parents[node]])
    return {c: dict(dynamics[node].distribution(node, tuple(c))) for c in configs}


def _flipped(agent: Agent, node: str, table: dict, s, nominal):
    """The planned action in ``s`` when ``node`` follows ``table``, if not ``nominal``."""
    got = twin_agent(agent, node, table).planned_action(agent.o0, s)
    return None if got == nominal else got


def _used_configs(agent: Agent, node: str, table: dict, s) -> set:
    """The node's parent configurations read on some path from ``s`` in the planning
    world where the node follows ``table``: the only rows that can matter in ``s``."""
    mdp = twin_agent(agent, node, table).planning_mdp(agent.o0, s)
    parents = agent.env.factors[2][node]
    used, seen, frontier = set(), {s}, [s]
    while frontier:
        x = frontier.pop()
        for a in mdp.actions:
            env_vals = {**dict(x), "A": agent.planning_action(x, a)}
            used.add(tuple(env_vals[p] for p in parents))
            for x2 in mdp.P[(x, a)]:
                if x2 not in seen:
                    seen.add(x2)
                    frontier.append(x2)
    return used


def _fewest_rows(agent: Agent, node: str, table: dict, s, nominal, stop_at: float) -> dict:
    """A table that still changes the planned action in ``s`` with few rows changed from
    the learned ones: rows that no path from ``s`` reads are put back (they cannot
    matter in ``s``); then each changed row is put back in turn, by exact replay, while
    the action stays changed, until ``stop_at``. In time, no changed row of the result
    can be put back alone without losing the flip."""
    actual = _learned_rows(agent, node)
    used = _used_configs(agent, node, table, s)
    table = {c: (row if c in used else actual[c]) for c, row in table.items()}
    for c in [c for c in table if table[c] != actual[c]]:
        if time.perf_counter() > stop_at:
            break
        trial = {**table, c: actual[c]}
        if trial != actual and _flipped(agent, node, trial, s, nominal) is not None:
            table = trial
    return table


def _incentive_cex(agent, node, table, s, nominal, stop_at) -> Counterexample:
    node_parents = agent.env.factors[2][node]
    actual = _learned_rows(agent, node)
    fixed = _fewest_rows(agent, node, normalized(table), s, nominal, stop_at)
    flipped = twin_agent(agent, node, fixed).planned_action(agent.o0, s)
    changed = {c: row for c, row in fixed.items() if row != actual[c]}
    rows = "; ".join(f"{_show_config(node_parents, c)} -> {_show_row(row)} "
                     f"(learned {_show_row(actual[c])})" for c, row in changed.items())
    n = len(changed)
    text = (f"in state {s!r} the planned action is {nominal!r}; if {node!r} evolved "
            f"differently in {n} row{'s' if n != 1 else ''} of its dynamics, [{rows}] "
            f"(other rows as learned), the planned action would be {flipped!r}: the "
            f"agent's choice depends on how {node!r} behaves, an incentive to influence it")
    return Counterexample("dynamics", {"state": s, "nominal": nominal, "flipped": flipped,
                                       "node": node, "dynamics": fixed,
                                       "parents": tuple(node_parents), "changed": changed,
                                       "learned": {c: actual[c] for c in changed}},
                          text, {"replayed_action": flipped,
                                 "confirmed": flipped != nominal})


def _show_config(names, values) -> str:
    return ", ".join(f"{n}={v!r}" for n, v in zip(names, values))


def _show_row(row) -> str:
    return "{" + ", ".join(f"{v!r}: {p}" for v, p in row.items()) + "}"

"""Bounded model checking over the learning world's traces: ``obeys_stop_button(K)``,
``always``, ``eventually`` and ``policy_unmodified``; counterexamples replayed exactly
along the trace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import z3

from ..agents.learners import append
from ..agents.base import Agent
from ..core.functions import as_sympy, required_arity
from ..errors import ModelTooLargeError, SpecError, UnknownNodeError
from . import encoding
from .encoding import check_z3, new_solver
from .properties import Property
from .records import Counterexample, Outcome

__all__ = ["check_stop_button", "check_temporal", "check_policy_unmodified"]


@dataclass
class _Traces:
    levels: list      # per depth: list of (o, s)
    edges: list       # per depth t < K: list of (i, a, j)


def _traces(agent: Agent, K: int) -> _Traces:
    env = agent.env
    level: dict = {}
    for s0, p in env.mu0.items():
        level.setdefault((agent.learner.key(agent.o0), s0), (agent.o0, s0))
    levels = [list(level.values())]
    edges = []
    total = 0
    for t in range(K):
        nxt: dict = {}
        es = []
        for i, (o, s) in enumerate(levels[-1]):
            row = agent.policy_row(o, s, t)
            for a, pa in row.items():
                if pa == 0:
                    continue
                for s2 in env.P[(s, a)]:
                    o2 = append(o, s, a, s2)
                    key = (agent.learner.key(o2), s2)
                    if key not in nxt:
                        nxt[key] = len(nxt)
                    es.append((i, a, nxt[key], (o2, s2)))
        total += len(es)
        if total > encoding.MAX_TERMS:
            raise ModelTooLargeError(f"{agent!r}: the learning world has more than "
                                     f"{encoding.MAX_TERMS} trace edges within {t + 1} steps; lower K")
        nodes = [None] * len(nxt)
        for i, a, j, os_ in es:
            nodes[j] = os_
        levels.append(nodes)
        edges.append([(i, a, j) for i, a, j, _ in es])
    return _Traces(levels, edges)


def _bmc(agent: Agent, K: int, violation: Callable, deadline, describe: Callable):
    """Bounded model check: ``violation(ctx, n, act, tr)`` builds the Z3 condition."""
    tr = _traces(agent, K)
    env = agent.env
    ctx = z3.Context()
    solver = new_solver(ctx, deadline)
    n = [z3.Int(f"n_{t}", ctx) for t in range(K + 1)]
    aidx = {a: i for i, a in enumerate(env.actions)}
    act = [z3.Int(f"a_{t}", ctx) for t in range(K)]
    solver.add(z3.Or(*[n[0] == i for i in range(len(tr.levels[0]))]))
    for t in range(K):
        solver.add(z3.Or(*[z3.And(n[t] == i, act[t] == aidx[a], n[t + 1] == j)
                           for i, a, j in tr.edges[t]]))
    solver.add(violation(ctx, n, act, aidx, tr))
    res, why = check_z3(solver)
    if res == "unknown":
        return Outcome("unknown", None, why)
    if res == "unsat":
        return Outcome("holds", None, None)
    m = solver.model()
    states = [tr.levels[t][m.eval(n[t]).as_long()][1] for t in range(K + 1)]
    acts = [env.actions[m.eval(act[t]).as_long()] for t in range(K)]
    return Outcome("fails", describe(states, acts), None)


def _trace_text(states, acts) -> str:
    parts = []
    for t, a in enumerate(acts):
        parts.append(f"S_{t}={states[t]!r} A_{t}={a!r}")
    parts.append(f"S_{len(acts)}={states[len(acts)]!r}")
    return ", ".join(parts)


def _trace_cex(agent, kind, states, acts, upto, text, extra=None) -> Counterexample:
    """A trace counterexample, replayed exactly along the trace: its probability in the
    learning world, ``mu0(s_0) * prod_t pi(a_t | o_t, s_t) * P(s_t+1 | s_t, a_t)`` with the
    records ``o_t`` rebuilt step by step (no table of the whole learning world is built,
    so a long trace replays in time linear in its length)."""
    env = agent.env
    prob = as_sympy(env.mu0.get(states[0], 0))
    o = agent.o0
    for t in range(upto):
        if not prob:
            break
        s, a, s2 = states[t], acts[t], states[t + 1]
        prob *= as_sympy(agent.policy_row(o, s, t).get(a, 0))
        prob *= as_sympy(env.P[(s, a)].get(s2, 0))
        o = append(o, s, a, s2)
    data = {"states": states[:upto + 1], "actions": acts[:upto]}
    data.update(extra or {})
    return Counterexample(kind, data, f"{text}\n  trace: {_trace_text(states[:upto + 1], acts[:upto])}"
                          f"\n  probability of this trace in the learning world: {prob}",
                          {"trace_probability": prob, "confirmed": prob != 0})


def _pred_nodes(tr, t, pred) -> list:
    return [i for i, (o, s) in enumerate(tr.levels[t]) if pred(s)]


def _in(ctx, var, idxs):
    return z3.Or(*[var == i for i in idxs]) if idxs else z3.BoolVal(False, ctx)


def check_stop_button(agent: Agent, prop: Property, deadline):
    pressed = prop.stop_pressed or getattr(agent, "pressed", None)
    null = prop.null_action if prop.null_action is not None else getattr(agent, "null_action",
                                                                          None)
    if pressed is None or null is None:
        raise SpecError(f"obeys_stop_button: {agent!r} has no stop button of its own; pass "
                        "stop_pressed=... and null_action=...")
    if null not in agent.env.actions:
        raise SpecError(f"obeys_stop_button: null action {null!r} is not an action")
    K = prop.K

    def violation(ctx, n, act, aidx, tr):
        cases = []
        for i in range(K):
            p_i = _in(ctx, n[i], _pred_nodes(tr, i, pressed))
            for j in range(i, K):
                cases.append(z3.And(p_i, act[j] != aidx[null]))
        return z3.Or(*cases)

    def describe(states, acts):
        first = next(i for i in range(K) if pressed(states[i]))
        j = next(j for j in range(first, K) if acts[j] != null)
        return _trace_cex(agent, "trace", states, acts, j + 1,
                          f"the button is pressed at step {first} but the agent takes "
                          f"{acts[j]!r} at step {j}", {"pressed_at": first, "violation_at": j})
    return _bmc(agent, K, violation, deadline, describe)


def _arity(pred) -> int:
    n = required_arity(pred)
    return 1 if n is None else n


def check_temporal(agent: Agent, prop: Property, deadline):
    K = prop.K
    pred = prop.predicate
    two = _arity(pred) >= 2

    def holds_at(t, tr, n, act, ctx, aidx):
        if not two:
            return _in(ctx, n[t], _pred_nodes(tr, t, pred))
        if t >= K:
            return z3.BoolVal(True, ctx)
        ok = [z3.And(n[t] == i, act[t] == aidx[a]) for i, a, j in tr.edges[t]
              if pred(tr.levels[t][i][1], a)]
        return z3.Or(*ok) if ok else z3.BoolVal(False, ctx)

    steps = range(K) if two else range(K + 1)
    label = prop.text or "the predicate"

    if prop.name == "always":
        def violation(ctx, n, act, aidx, tr):
            return z3.Or(*[z3.Not(holds_at(t, tr, n, act, ctx, aidx)) for t in steps])

        def describe(states, acts):
            bad = next(t for t in steps if not (pred(states[t], acts[t]) if two
                                                 else pred(states[t])))
            return _trace_cex(agent, "trace", states, acts, bad + 1 if two else bad,
                              f"{label} is false at step {bad}", {"violation_at": bad})
    else:
        def violation(ctx, n, act, aidx, tr):
            return z3.And(*[z3.Not(holds_at(t, tr, n, act, ctx, aidx)) for t in steps])

        def describe(states, acts):
            return _trace_cex(agent, "trace", states, acts, K,
                              f"{label} never holds within {K} steps")
    return _bmc(agent, K, violation, deadline, describe)


def check_policy_unmodified(agent: Agent, prop: Property, deadline):
    lw = agent.learning_world(1)
    a0 = lw.node("A_0")
    if a0.label != "pi" or "pi" in lw or set(a0.parents) != {"O_0", "S_0"}:
        return Outcome("fails", Counterexample("structure", {"node": "A_0", "world": "learning"},
                                       f"A_0 is driven by {a0.label!r} with parents "
                                       f"{a0.parents}, not by the input parameter pi of "
                                       "(O_t, S_t)", {"confirmed": True}), None)
    var = prop.policy_var
    if var is None:
        return Outcome("holds", None, ("every A_t is annotated with the one input parameter pi, a "
                               "function fixed by the agent definition; pi is not a node of "
                               "the learning world, so no action can reach it"), method="structure")
    if agent.env.variables is None or var not in agent.env.variables:
        raise UnknownNodeError(f"policy_unmodified({var}): the environment has no state "
                               f"variable {var!r}; its variables: "
                               f"{', '.join(agent.env.variables or ()) or 'none'}")
    K = prop.K

    def violation(ctx, n, act, aidx, tr):
        cases = []
        for t in range(K):
            for val in {s[var] for _, s in tr.levels[t]}:
                now = _in(ctx, n[t], [i for i, (_, s) in enumerate(tr.levels[t])
                                      if s[var] == val])
                nxt = _in(ctx, n[t + 1], [i for i, (_, s) in enumerate(tr.levels[t + 1])
                                          if s[var] != val])
                cases.append(z3.And(now, nxt))
        return z3.Or(*cases)

    def describe(states, acts):
        t = next(t for t in range(K) if states[t][var] != states[t + 1][var])
        return _trace_cex(agent, "trace", states, acts, t + 1,
                          f"the policy variable {var!r} is rewritten from "
                          f"{states[t][var]!r} to {states[t + 1][var]!r} by action "
                          f"{acts[t]!r} at step {t}", {"violation_at": t})
    return _bmc(agent, K, violation, deadline, describe)

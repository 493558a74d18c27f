"""Z3 encodings of agent properties: honest verdicts and concrete counterexamples.

``verify(agent, prop)`` returns a :class:`Verdict` whose ``status`` is ``"holds"``,
``"fails"`` (with a :class:`Counterexample`) or ``"unknown"`` (with Z3's reason, e.g. a
timeout). Z3's three answers are kept apart all the way: ``unknown`` is never reported
as ``holds``. Every counterexample is replayed in exact arithmetic before it is reported;
one that does not reproduce turns the verdict into ``unknown``.

Encodings (all numbers are exact rationals, ``z3.RealVal("p/q")``; one ``z3.Context``
per call, no global state):

* ``myopic(N)``: the planning world's backward induction for steps ``< N`` over Z3 reals,
  with the continuation values at step ``N`` left free (they stand for any rewards and
  transitions at steps ``>= N``); ``V_t(x) >= Q_t(x, a)`` for every ``a`` and equal to
  one of them. Query: can the first action in some start state differ from the planned
  one (ties to the first declared action)? An agent whose planning horizon ``H <= N``
  has nothing free and is proven myopic.
* ``no_incentive(node)``: the dynamics of state variable ``node`` in the planning world
  become free probability tables (reals >= 0 summing to 1); the planning values satisfy
  the Bellman optimality equations (``gamma < 1``: their unique solution) or finite-horizon
  backward induction. Query: can the planned action differ from the nominal one?
  Before Z3, deterministic tables for the node are tried by exact solving in every state
  (all of them when there are few, else the constant and one-row changes); a state whose
  Z3 query times out does not stop the others, and *unknown* is answered only when no
  state gave a counterexample.
* ``obeys_stop_button(K)``, ``always``, ``eventually``, ``policy_unmodified(policy_var)``:
  bounded model checking over the learning world's traces of ``K`` steps: the reachable
  (record, state) nodes per step and the edges the policy and the environment allow
  (positive probability) become a transition relation over Z3 integers.
* ``policy_unmodified()`` and ``no_self_knowledge()`` without a modelled policy variable
  are structural checks of the agent definition (method ``"structure"``).
"""

from __future__ import annotations

import numbers
import itertools
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Literal

import sympy
import z3

from ..agents.paper import Agent
from ..budget import check_timeout
from ..decisions.solving import backward_induction, ExactModel
from ..errors import ModelTooLargeError, ParameterError, SpecError, UnknownNodeError
from ..inference.exact import P
from ..core.functions import as_sympy, dist, required_arity
from ..agents.learners import PerfectLearner, append
from ..decisions.mdp import MDP, State
from ..progress import progress
from .properties import Property
from ..core.regions import Sign

__all__ = ["check_z3", "new_solver", "Verdict", "Counterexample", "verify", "MAX_TERMS"]

#: Refuse encodings estimated above this many arithmetic terms (or trace edges).
MAX_TERMS = 3_000_000

Status = Literal["holds", "fails", "unknown"]


@dataclass(frozen=True)
class Counterexample:
    """A concrete violation: ``data`` (plain values) and a readable ``text``, with the
    exact replay that confirmed it (``evidence``)."""

    kind: str
    data: dict
    text: str
    evidence: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verify`."""

    status: Status
    property: str
    agent: str
    counterexample: Counterexample | None = None
    reason: str | None = None
    seconds: float = 0.0
    method: str = "z3"

    @property
    def holds(self) -> bool:
        return self.status == "holds"

    def __bool__(self) -> bool:
        return self.holds

    def __str__(self) -> str:
        head = f"{self.status.upper()}  {self.property} of {self.agent} " \
               f"({self.method}, {self.seconds:.3f} s)"
        if self.status == "fails" and self.counterexample is not None:
            return head + "\n  counterexample: " + str(self.counterexample).replace(
                "\n", "\n  ")
        if self.reason:
            return head + f"\n  {'reason' if self.status == 'unknown' else 'why'}: " \
                          f"{self.reason}"
        return head


# ---- helpers -------------------------------------------------------------------------

def _real(ctx, x) -> z3.ArithRef:
    if isinstance(x, bool):
        x = int(x)
    if isinstance(x, numbers.Rational) and not isinstance(x, (int, Fraction)):
        x = Fraction(int(x.numerator), int(x.denominator))  # gmpy2.mpq
    if isinstance(x, int):
        return z3.RealVal(str(x), ctx)
    if isinstance(x, Fraction):
        return z3.RealVal(f"{x.numerator}/{x.denominator}", ctx)
    x = as_sympy(x)
    if isinstance(x, sympy.Rational):
        return z3.RealVal(f"{x.p}/{x.q}", ctx)
    raise ParameterError(f"cannot encode the symbolic value {x} in Z3: bind the model's "
                         "parameters first (or use cp.synthesize for a parameter region)")


def _fraction(v) -> Fraction:
    """A Z3 numeral (rational, or algebraic rounded to a nearby rational) as a Fraction."""
    if z3.is_rational_value(v):
        return Fraction(v.numerator_as_long(), v.denominator_as_long())
    if z3.is_algebraic_value(v):
        return Fraction(v.as_decimal(30).rstrip("?"))
    raise ParameterError(f"unexpected Z3 value {v}")


def check_z3(solver) -> tuple[str, str | None]:
    """Z3's answer kept three-valued: ``("sat" | "unsat" | "unknown", reason)``."""
    r = solver.check()
    if r == z3.sat:
        return "sat", None
    if r == z3.unsat:
        return "unsat", None
    return "unknown", solver.reason_unknown() or "Z3 returned unknown"


def new_solver(ctx, timeout: float | None):
    """A Z3 solver in the context ``ctx`` with a per-query ``timeout`` in seconds."""
    s = z3.Solver(ctx=ctx)
    if timeout is not None:
        s.set("timeout", max(1, int(timeout * 1000)))
    return s


def _differs(ctx, Q: dict, actions: tuple, nominal) -> z3.BoolRef:
    """The first maximising action (ties to the first declared) is not ``nominal``."""
    k = actions.index(nominal)
    alts = []
    for i, a in enumerate(actions):
        if a == nominal:
            continue
        alts.append(Q[a] >= Q[nominal] if i < k else Q[a] > Q[nominal])
    return z3.Or(*alts) if alts else z3.BoolVal(False, ctx)


def _max_var(ctx, solver, name: str, qs: list) -> z3.ArithRef:
    v = z3.Real(name, ctx)
    for q in qs:
        solver.add(v >= q)
    solver.add(z3.Or(*[v == q for q in qs]))
    return v


def _first_max(values: dict, actions: tuple):
    best = actions[0]
    for a in actions[1:]:
        if values[a] > values[best]:
            best = a
    return best


def _concrete(agent: Agent) -> None:
    if agent.env.free_symbols():
        raise ParameterError(
            f"{agent!r}: the environment has free parameters "
            f"{sorted(map(str, agent.env.free_symbols()))}; verify needs numbers: bind them "
            "(env.bind(...)), or use cp.synthesize to derive the region where a property "
            "holds")


# ---- myopic(N) -------------------------------------------------------------------------

def _myopic(agent: Agent, prop: Property, timeout):
    N = prop.N
    env = agent.env
    H = agent.horizon
    if isinstance(H, sympy.Symbol):
        return "unknown", None, f"the planning horizon {H} is symbolic; give a number"
    free = not (isinstance(H, int) and H <= N)
    depth = N if free else H
    n_terms = depth * sum(len(r) for r in env.P.values())
    if n_terms > MAX_TERMS:
        raise ModelTooLargeError(f"myopic({N}) of {agent!r} would need about {n_terms} "
                                 f"terms (limit {MAX_TERMS}); lower N or the model size")
    plans: dict = {}
    for s in progress(env.states, len(env.states), f"myopic({N})", min_total=50):
        key = s if agent.planning_depends_on_state else None
        if key not in plans:
            mdp = agent.planning_mdp(agent.o0, s)
            plans[key] = (mdp, ExactModel.of(mdp))
        mdp, model = plans[key]
        nominal = agent.planned_action(agent.o0, s)
        ctx = z3.Context()
        solver = new_solver(ctx, timeout)
        if not free:
            # nothing is free: the values are exact numbers and Z3 checks the comparison
            _, Vs = backward_induction(model, depth, Sign(model.K, None))
            Q0 = {a: _real(ctx, model.K.to_sympy(model.q(s, a, Vs[1])))
                  for a in env.actions}
            solver.add(_differs(ctx, Q0, env.actions, nominal))
            res, why = check_z3(solver)
            if res != "unsat":
                return "unknown", None, f"state {s!r}: {why or 'unexpected sat'}"
            continue
        cex = _spike_search(mdp, model, s, nominal, N)
        if cex is not None:
            return "fails", _myopic_cex(agent, mdp, s, nominal, cex, N), None
        res, why, vals = _myopic_z3(ctx, solver, mdp, s, nominal, N)
        if res == "unknown":
            return "unknown", None, f"state {s!r}: {why}"
        if res == "sat":
            return "fails", _myopic_cex(agent, mdp, s, nominal, vals, N), None
    why = (f"the planning horizon {H} <= {N}: nothing at steps >= {N} exists in the "
           "planning world" if not free else
           f"no continuation values at step {N} change the first action in any state")
    return "holds", None, why


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
    g = _real(ctx, mdp.gamma)
    V = {x: z3.Real(f"V_{N}[{x}]", ctx) for x in levels[N]}
    Vend = dict(V)
    for t in reversed(range(N)):
        Q = {x: {a: z3.Sum(*[_real(ctx, p) * (_real(ctx, mdp.R[(x, a, x2)]) + g * V[x2])
                             for x2, p in mdp.P[(x, a)].items()])
                 for a in mdp.actions} for x in levels[t]}
        if t == 0:
            break
        V = {x: _max_var(ctx, solver, f"V_{t}[{x}]", list(Q[x].values())) for x in levels[t]}
    solver.add(_differs(ctx, Q[s], mdp.actions, nominal))
    res, why = check_z3(solver)
    if res != "sat":
        return res, why, None
    m = solver.model()
    vals = {x: Fraction(0) for x in mdp.states}
    vals.update({x: _fraction(m.eval(v, model_completion=True)) for x, v in Vend.items()})
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


# ---- no_incentive(node) ------------------------------------------------------------------

def _no_incentive(agent: Agent, prop: Property, timeout):
    env = agent.env
    node = prop.node
    fac = env.factors
    if fac is None or node not in env.variables:
        known = ", ".join(env.variables or ()) or "none (the environment is not factored)"
        raise UnknownNodeError(f"no_incentive({node}): the environment has no state variable "
                               f"{node!r}; its variables: {known}")
    if not isinstance(agent.learner, PerfectLearner):
        return "unknown", None, ("no_incentive is encoded for planning worlds built from the "
                                 "environment's own factored dynamics (learner='perfect')")
    domains, dynamics, parents = fac
    H = agent.horizon
    if isinstance(H, sympy.Symbol):
        return "unknown", None, f"the planning horizon {H} is symbolic; give a number"
    node_parents = parents[node]
    n_terms = len(env.states) ** 2 * len(env.actions) * (1 if H is sympy.oo else H)
    if n_terms > MAX_TERMS:
        raise ModelTooLargeError(f"no_incentive({node}) of {agent!r} would need about "
                                 f"{n_terms} terms (limit {MAX_TERMS})")
    nominals = {s: agent.planned_action(agent.o0, s) for s in env.states}
    # cheap exact witnesses first: deterministic dynamics for the node, every state
    budget = 10.0 if timeout is None else min(10.0, timeout)
    found = _incentive_witness(agent, node, nominals, time.perf_counter() + budget)
    if found is not None:
        table, s = found
        return "fails", _incentive_cex(agent, node, node_parents, table, s, nominals[s]), None
    unknown = []
    for s in progress(env.states, len(env.states), f"no_incentive({node})", min_total=50):
        nominal = nominals[s]
        ctx = z3.Context()
        solver = new_solver(ctx, timeout)
        theta = incentive_problem(agent, node, s, nominal, ctx, solver,
                                  _real(ctx, env.gamma))
        res, why = check_z3(solver)
        if res == "unknown":  # another state may still give a counterexample
            unknown.append(f"state {s!r}: {why}")
            continue
        if res == "sat":
            table = theta_values(solver.model(), theta)
            return "fails", _incentive_cex(agent, node, node_parents, table, s, nominal), None
    if unknown:
        more = f" (and {len(unknown) - 3} more states)" if len(unknown) > 3 else ""
        return "unknown", None, "; ".join(unknown[:3]) + more
    return "holds", None, (f"no model of the dynamics of {node!r} changes the planned action "
                           "in any state")


#: Deterministic dynamics tables tried exactly before the Z3 encoding (no_incentive).
MAX_WITNESS_TABLES = 256


def _incentive_witness(agent: Agent, node: str, nominals: dict, deadline: float):
    """A deterministic table for ``node``'s dynamics that changes the planned action in
    some state, found by exact solving: ``(table, state)`` or None. Tries every table when
    there are at most :data:`MAX_WITNESS_TABLES`, else the constant tables and the tables
    that change one row of the actual dynamics."""
    env = agent.env
    domains, dynamics, parents = env.factors
    configs = list(itertools.product(*[env.actions if p == "A" else domains[p]
                                       for p in parents[node]]))
    values = list(domains[node])
    actual = {c: dict(dynamics[node].distribution(node, tuple(c))) for c in configs}

    def point(v):
        return {v: Fraction(1)}

    def candidates():
        if len(values) ** len(configs) <= MAX_WITNESS_TABLES:
            for combo in itertools.product(values, repeat=len(configs)):
                yield {c: point(v) for c, v in zip(configs, combo)}
            return
        for v in values:
            yield {c: point(v) for c in configs}
        for c in configs:
            for v in values:
                if actual[c] != point(v):
                    yield {**actual, c: point(v)}

    for k, table in enumerate(candidates()):
        if k >= MAX_WITNESS_TABLES or time.perf_counter() > deadline:
            return None
        if table == actual:
            continue
        twin = twin_agent(agent, node, table)
        for s, nominal in nominals.items():
            if twin.planned_action(agent.o0, s) != nominal:
                return table, s
    return None


def theta_values(model, theta) -> dict:
    """The free dynamics of a satisfying model, as exact fractions."""
    return {c: {v: _fraction(model.eval(t, model_completion=True)) for v, t in row.items()}
            for c, row in theta.items()}


def incentive_problem(agent: Agent, node: str, s, nominal, ctx, solver, g) -> dict:
    """Add to ``solver``: the dynamics of ``node`` free (``theta``), the planning values
    (Bellman optimality for an infinite horizon, backward induction otherwise) with the
    discount ``g`` (a Z3 term: a constant, or a variable for synthesis), and "the planned
    action in ``s`` is not ``nominal``". Returns ``theta``."""
    env = agent.env
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
                rows[k] = {v: _real(ctx, p) for v, p in dynamics[k].distribution(
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
        return {x: {a: z3.Sum(*[p * (_real(ctx, reward(x, a, x2)) + g * V[x2])
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
        V = {x: _real(ctx, 0) for x in env.states}
        for t in reversed(range(H)):
            Q = q(V)
            if t:
                V = {x: _max_var(ctx, solver, f"V_{t}[{x}]", list(Q[x].values()))
                     for x in env.states}
    solver.add(_differs(ctx, Q[s], env.actions, nominal))
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


def _incentive_cex(agent, node, node_parents, table, s, nominal) -> Counterexample:
    fixed = normalized(table)
    dynamics = agent.env.factors[1]
    flipped = twin_agent(agent, node, fixed).planned_action(agent.o0, s)
    changed = {c: row for c, row in fixed.items()
               if row != dynamics[node].distribution(node, tuple(c))}
    rows = "; ".join(f"{_show_config(node_parents, c)} -> {_show_row(row)}"
                     for c, row in changed.items())
    text = (f"in state {s!r} the planned action is {nominal!r}; if {node!r} evolved "
            f"differently, as [{rows}] (other rows as they are), the planned action would be "
            f"{flipped!r}: the agent's choice depends on how {node!r} behaves, an incentive "
            "to influence it")
    return Counterexample("dynamics", {"state": s, "nominal": nominal, "flipped": flipped,
                                       "node": node, "dynamics": fixed},
                          text, {"replayed_action": flipped,
                                 "confirmed": flipped != nominal})


def _show_config(names, values) -> str:
    return ", ".join(f"{n}={v!r}" for n, v in zip(names, values))


def _show_row(row) -> str:
    return "{" + ", ".join(f"{v!r}: {p}" for v, p in row.items()) + "}"


# ---- bounded traces ----------------------------------------------------------------------

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
        if total > MAX_TERMS:
            raise ModelTooLargeError(f"{agent!r}: the learning world has more than "
                                     f"{MAX_TERMS} trace edges within {t + 1} steps; lower K")
        nodes = [None] * len(nxt)
        for i, a, j, os_ in es:
            nodes[j] = os_
        levels.append(nodes)
        edges.append([(i, a, j) for i, a, j, _ in es])
    return _Traces(levels, edges)


def _bmc(agent: Agent, K: int, violation: Callable, timeout, describe: Callable):
    """Bounded model check: ``violation(ctx, n, act, tr)`` builds the Z3 condition."""
    tr = _traces(agent, K)
    env = agent.env
    ctx = z3.Context()
    solver = new_solver(ctx, timeout)
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
        return "unknown", None, why
    if res == "unsat":
        return "holds", None, None
    m = solver.model()
    states = [tr.levels[t][m.eval(n[t]).as_long()][1] for t in range(K + 1)]
    acts = [env.actions[m.eval(act[t]).as_long()] for t in range(K)]
    return "fails", describe(states, acts), None


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


def _stop_button(agent: Agent, prop: Property, timeout):
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
    return _bmc(agent, K, violation, timeout, describe)


def _arity(pred) -> int:
    n = required_arity(pred)
    return 1 if n is None else n


def _temporal(agent: Agent, prop: Property, timeout):
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
    return _bmc(agent, K, violation, timeout, describe)


def _policy_unmodified(agent: Agent, prop: Property, timeout):
    lw = agent.learning_world(1)
    a0 = lw.node("A_0")
    if a0.label != "pi" or "pi" in lw or set(a0.parents) != {"O_0", "S_0"}:
        return "fails", Counterexample("structure", {"node": "A_0"},
                                       f"A_0 is driven by {a0.label!r} with parents "
                                       f"{a0.parents}, not by the input parameter pi of "
                                       "(O_t, S_t)", {"confirmed": True}), None
    var = prop.policy_var
    if var is None:
        return "holds", None, ("every A_t is annotated with the one input parameter pi, a "
                               "function fixed by the agent definition; pi is not a node of "
                               "the learning world, so no action can reach it"), "structure"
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
    return _bmc(agent, K, violation, timeout, describe)


def _no_self_knowledge(agent: Agent, prop: Property, timeout):
    s0 = next(iter(agent.env.mu0))
    pw = agent.planning_world(agent.o0, s0, horizon=2)
    chance_actions = [n for n in pw.order if n.startswith("A_") and pw.node(n).kind != "decision"]
    if chance_actions or getattr(agent, "uses_self_model", False):
        node = chance_actions[0] if chance_actions else "the planning world"
        return "fails", Counterexample("structure", {"node": node},
                                       f"{node} is predicted by a learned model of the agent's "
                                       "own policy", {"confirmed": True}), None
    return "holds", None, ("every action A_t of the planning world is a decision node; the "
                           f"learner {agent.learner!r} predicts only the environment's "
                           "transitions (s, a) -> s'"), "structure"


_ENCODERS = {
    "myopic": _myopic, "no_incentive": _no_incentive, "obeys_stop_button": _stop_button,
    "always": _temporal, "eventually": _temporal, "policy_unmodified": _policy_unmodified,
    "no_self_knowledge": _no_self_knowledge,
}


def verify(agent: Agent, prop: Property, timeout: float | None = 60.0) -> Verdict:
    """Check ``prop`` for ``agent``: a :class:`Verdict` (holds / fails with a
    counterexample / unknown with the reason).

    Parameters
    ----------
    agent : cp.agents.Agent
    prop : Property
        From :mod:`cpspec.verification.properties` (``cp.myopic(3)``, ``cp.no_incentive("button")``...).
    timeout : float, optional
        Seconds per Z3 query; a timeout gives ``unknown``, never ``holds``.

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import delayed_reward
    >>> env = delayed_reward(delay=2)
    >>> cp.verify(cp.agents.STH(env, horizon=2), cp.myopic(2)).status
    'holds'
    >>> v = cp.verify(cp.agents.FP(env), cp.myopic(2))
    >>> v.status, v.counterexample.data["flipped"]
    ('fails', 'take')
    """
    if not isinstance(agent, Agent):
        raise SpecError(f"verify() needs an agent (cp.agents.FP(...), ...), got {agent!r}")
    if not isinstance(prop, Property):
        raise SpecError(f"verify() needs a property (cp.myopic(N), ...), got {prop!r}")
    timeout = check_timeout(timeout)
    if prop.name in ("myopic", "no_incentive"):
        _concrete(agent)
    t0 = time.perf_counter()
    out = _ENCODERS[prop.name](agent, prop, timeout)
    status, cex, reason = out[:3]
    method = out[3] if len(out) > 3 else "z3"
    seconds = time.perf_counter() - t0
    result = {"sat": "fails", "unsat": "holds"}.get(status, status)
    if result == "fails" and cex is not None and not cex.evidence.get("confirmed", False):
        return Verdict("unknown", str(prop), repr(agent), cex,
                       "Z3 found a violation that did not reproduce in exact replay "
                       f"({cex.evidence}); not reporting it as a failure", seconds, method)
    return Verdict(result, str(prop), repr(agent), cex, reason, seconds, method)

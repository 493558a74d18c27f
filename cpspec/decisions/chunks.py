"""Action chunks: planning with multi-step chunks (options, a semi-MDP) over an MDP.

A **chunk** ``C`` is a policy that may return the special :data:`END`: started in a state
``s``, it acts until it returns ``END`` (in the state where it stops). The learner of the
post's comment thread builds three tables from it:

* ``X(s' | s, C)``: where running ``C`` from ``s`` to its end lands;
* ``T(t | s, C)``: how many steps it takes (``t >= 1``);
* ``U_C(s, C)``: the utility collected on the way, ``E(sum_{k < t} gamma^k R_k)``.

:func:`chunks` derives them exactly from a base :class:`~cpspec.decisions.mdp.MDP` when
the chunks are policies on it (keeping the joint distribution of the end state and the
duration), or takes them directly as tables (``X`` and ``T`` are then independent: the
comment thread's approximation; :meth:`ChunkModel.approximate` makes the same cut for
derived chunks).

The ``N``-step planning world is approximated by cutting the middle nodes of each chunk
and writing ``X`` and ``U_C`` over the chunk's last nodes: a world line chooses chunks
``C_0, C_1, ...`` at elapsed steps ``tau_0 = 0 < tau_1 < ...`` and ends with the first
chunk that ends at or after step ``N``. A chunk started before ``N`` runs to its end, so
the plan may look past ``N``: the **effective planning horizon** is the step where the
world line ends, a random variable whose exact distribution under the plan is
:meth:`ChunkPlan.effective_horizon`. With one-step chunks (``primitive=True`` and no
others) it is ``N`` with probability 1 and the plan is the step-by-step STH plan.

:meth:`ChunkModel.plan` solves the planning world by backward induction over the
elapsed step (values discounted by ``gamma^tau``; ties to the first chunk in declared
order). Choices where the definition leaves room, relied on by the tests:

* a chunk whose policy returns ``END`` in a state is *not available* there (it would
  take no step); ending is checked on arrival (as an option's termination), so a chunk
  started in a state where its policy ends with a probability below 1 takes its first
  action from the rest of that distribution;
* a chunk must end within a bounded number of steps from every state it can start in:
  one that can return to a state without ending (so may run without bound, or never
  ends) is a :class:`~cpspec.errors.ChunkError` naming the loop;
* every state needs at least one available chunk (``primitive=True`` adds the one-step
  chunk of every action, named by the action).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Integral
from typing import Any, Callable, Mapping

import sympy

from ..core.diagram import Diagram, world
from ..core.functions import (call_user, check_distribution, const, decision, dist, fn,
                              hashable, show, to_exact)
from ..core.functions import utility as utility_node
from ..errors import ChunkError, DistributionError, DomainError, ParameterError, SpecError
from .mdp import MDP, check_horizon

__all__ = ["END", "MAX_CHUNK_STEPS", "chunks", "ChunkModel", "ChunkPlan", "EffectiveHorizon"]

#: What a chunk's policy returns to end the chunk (in the state where it stops).
END = "end"

#: Largest number of steps a chunk may take (from tables, ``T``'s largest duration;
#: from policies, it is bounded by the number of states anyway).
MAX_CHUNK_STEPS = 10_000


def chunks(env: MDP, policies: Mapping[str, Callable] | None = None, *,
           X: Mapping | None = None, T: Mapping | None = None, U: Mapping | None = None,
           primitive: bool = False) -> "ChunkModel":
    """The chunk model (semi-MDP) of ``env``: chunks as policies, or as tables.

    Parameters
    ----------
    env : MDP
        The base environment (its states, actions, dynamics, rewards and ``gamma``).
    policies : mapping name -> callable, optional
        Each chunk's policy ``C(s)``: an action, :data:`END` (``"end"``), or a mapping
        ``{action or END: probability}``. ``X``, ``T`` and ``U_C`` are derived exactly.
    X, T, U : mappings keyed by ``(s, chunk)``, optional
        The tables directly (instead of ``policies``): ``X[(s, C)] = {s2: p}``,
        ``T[(s, C)] = {t: p}`` (``t >= 1`` steps), ``U[(s, C)]`` a number. The pairs
        given are where each chunk is available; ``X`` and ``T`` are independent.
    primitive : bool
        Also add the one-step chunk of every action (named by the action).

    Returns
    -------
    ChunkModel

    Raises
    ------
    ChunkError
        a chunk that never ends or can run without bound from some state (the loop is
        named), or a state where no chunk is available.
    DistributionError
        ``X`` or ``T`` rows that are not distributions, a policy's bad distribution.

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import delayed_reward
    >>> env = delayed_reward(delay=2)    # start -wait-> w1 -> w2 -> done, late = 3 from w2
    >>> walk = lambda s: "end" if s == "done" else "wait"
    >>> m = cp.chunks(env, {"walk": walk}, primitive=True)
    >>> m.names, m.X("start", "walk"), m.T("start", "walk"), m.U("start", "walk")
    (('walk', 'take', 'wait'), {'done': Fraction(1, 1)}, {3: Fraction(1, 1)}, Fraction(243, 100))
    >>> m.available("done")
    ('take', 'wait')
    """
    if not isinstance(env, MDP):
        raise SpecError(f"chunks: env must be a cp.MDP, got {show(env)}")
    if END in env.actions:
        raise ChunkError(f"chunks: the environment has an action named {END!r}, which a "
                         "chunk's policy returns to end the chunk; rename that action")
    if not isinstance(primitive, bool):
        raise SpecError(f"chunks: primitive must be True or False, got {show(primitive)}")
    tables = (X, T, U)
    if policies is not None and any(t is not None for t in tables):
        raise SpecError("chunks: give the chunks either as policies or as tables X, T, U, "
                        "not both")
    if policies is None and all(t is None for t in tables):
        if not primitive:
            raise SpecError("chunks: give chunk policies {name: policy}, the tables X, T "
                            "and U, or primitive=True")
        policies = {}
    if policies is not None:
        if not isinstance(policies, Mapping):
            raise SpecError(f"chunks: policies must map chunk names to policies, got "
                            f"{show(policies)}")
        pol = dict(policies)
        for name, f in pol.items():
            hashable(name, "chunks: a chunk name")
            if not callable(f):
                raise SpecError(f"chunks: the policy of chunk {name!r} must be a function "
                                f"of the state, got {show(f)}")
        if primitive:
            for a in env.actions:
                if a in pol:
                    raise SpecError(f"chunks: chunk {a!r} has the name of an action, which "
                                    "primitive=True uses for its one-step chunk; rename it")
                pol[a] = _one_step(a)
        return ChunkModel.derived(env, pol)
    if any(t is None for t in tables):
        raise SpecError("chunks: the tables need all three of X, T and U")
    if primitive:
        raise SpecError("chunks: primitive=True is for chunks given as policies; add the "
                        "one-step chunks to the tables")
    return ChunkModel.from_tables(env, X, T, U)


def _one_step(a):
    """The one-step chunk of action ``a``: ``a`` in the state where it starts, then END."""
    class OneStep:
        first = True

        def __call__(self, s):
            return a

        def __repr__(self):
            return f"<one-step chunk {a!r}>"
    return OneStep()


@dataclass(frozen=True, eq=False)
class ChunkModel:
    """A chunk model (semi-MDP) over ``env``: for each state ``s`` and available chunk
    ``C``, the joint distribution ``kernel[(s, C)]`` of the end state and the number of
    steps, and the utility ``utility[(s, C)]``. Built by :func:`chunks`.

    >>> import cpspec as cp
    >>> from cpspec.examples import delayed_reward
    >>> m = cp.chunks(delayed_reward(), primitive=True)
    >>> m.kernel[("start", "wait")], m.utility[("start", "take")]
    ({('w1', 1): Fraction(1, 1)}, Fraction(1, 1))
    """

    env: MDP
    names: tuple
    kernel: Mapping = field(repr=False)
    utility: Mapping = field(repr=False)
    policies: Mapping | None = field(default=None, repr=False)

    # ---- construction ---------------------------------------------------------------
    @classmethod
    def derived(cls, env: MDP, policies: Mapping) -> "ChunkModel":
        """``X``, ``T`` and ``U_C`` of policy chunks, derived exactly from ``env``."""
        kernel: dict = {}
        utility: dict = {}
        for name, f in policies.items():
            for s in env.states:
                out = _run(env, name, f, s)
                if out is not None:
                    kernel[(s, name)], utility[(s, name)] = out
        model = cls(env, tuple(policies), kernel, utility, dict(policies))
        model._check_coverage()
        return model

    @classmethod
    def from_tables(cls, env: MDP, X: Mapping, T: Mapping, U: Mapping) -> "ChunkModel":
        """A chunk model from the tables ``X``, ``T`` and ``U`` (independent ``X`` and
        ``T``), checked."""
        for what, t in (("X", X), ("T", T), ("U", U)):
            if not isinstance(t, Mapping):
                raise SpecError(f"chunks: {what} must map (state, chunk) pairs to rows, got "
                                f"{show(t)}")
        keys = list(X)
        for what, t in (("T", T), ("U", U)):
            if set(t) != set(keys):
                odd = next(iter(set(t) ^ set(keys)))
                raise SpecError(f"chunks: X, T and U must have the same (state, chunk) "
                                f"pairs; {show(odd)} is in {'X' if odd in X else what} but "
                                f"not in {what if odd in X else 'X'}")
        states = set(env.states)
        names: dict = {}
        kernel: dict = {}
        utility: dict = {}
        for key in keys:
            if not (isinstance(key, tuple) and len(key) == 2) or key[0] not in states:
                raise DomainError(f"chunks: the key {show(key)} of X must be a pair (state, "
                                  "chunk) with a state of the environment")
            s, c = key
            names.setdefault(c, None)
            x = _table_row(X[key], f"X({s!r}, {c!r})", "end states")
            for s2 in x:
                if s2 not in states:
                    raise DomainError(f"chunks: X({s!r}, {c!r}) lands in {s2!r}, which is not "
                                      "a state of the environment")
            t = _table_row(T[key], f"T({s!r}, {c!r})", "numbers of steps")
            for k in t:
                if isinstance(k, bool) or not isinstance(k, Integral) or not \
                        1 <= k <= MAX_CHUNK_STEPS:
                    raise DistributionError(
                        f"chunks: T({s!r}, {c!r}) gives the duration {show(k)}; durations "
                        f"are whole numbers of steps from 1 to MAX_CHUNK_STEPS = "
                        f"{MAX_CHUNK_STEPS} (a chunk takes at least one step)")
            kernel[key] = {(s2, int(k)): p * q for s2, p in x.items() for k, q in t.items()}
            utility[key] = to_exact(U[key], what=f"chunks: U({s!r}, {c!r})")
        model = cls(env, tuple(names), kernel, utility, None)
        model._check_coverage()
        return model

    def _check_coverage(self) -> None:
        for s in self.env.states:
            if not self.available(s):
                raise ChunkError(f"chunks: no chunk can start in state {s!r} (every chunk's "
                                 "policy returns end there, or the tables have no row for "
                                 "it); add a chunk that acts there, or primitive=True")

    def over(self, env: MDP) -> "ChunkModel":
        """The same chunks over another environment ``env`` (a learned or changed
        model): policy chunks are derived afresh from ``env``; table chunks are the
        learned model itself and are returned unchanged (their states must be
        ``env``'s).

        >>> import cpspec as cp
        >>> from cpspec.examples import delayed_reward
        >>> m = cp.chunks(delayed_reward(), primitive=True)
        >>> m.over(delayed_reward(late=5)).U("w1", "take")
        Fraction(5, 1)
        """
        if self.policies is not None:
            return ChunkModel.derived(env, self.policies)
        if tuple(env.states) != tuple(self.env.states):
            raise DomainError("chunks given as tables are over the states "
                              f"{list(self.env.states)}; the environment has other states")
        return self

    def approximate(self) -> "ChunkModel":
        """The learner's model: the end state and the duration taken independent
        (``X x T``), as the post's comment thread writes the planning world.

        >>> import cpspec as cp
        >>> env = cp.MDP(["s", "a", "b", "d"], ["go"],     # s -> a or b; a -> d
        ...     lambda s, a: {"s": {"a": "1/2", "b": "1/2"}, "a": {"d": 1}}.get(s, {s: 1}),
        ...     lambda s, a, s2: 0, "s")
        >>> m = cp.chunks(env, {"c": lambda s: "go" if s in ("s", "a") else "end"},
        ...               primitive=True)
        >>> m.kernel[("s", "c")]                  # b after 1 step, or d after 2
        {('b', 1): Fraction(1, 2), ('d', 2): Fraction(1, 2)}
        >>> m.approximate().kernel[("s", "c")][("d", 1)]
        Fraction(1, 4)
        """
        kernel = {}
        for key in self.kernel:
            x, t = self.X(*key), self.T(*key)
            kernel[key] = {(s2, k): p * q for s2, p in x.items() for k, q in t.items()}
        return ChunkModel(self.env, self.names, kernel, dict(self.utility), None)

    # ---- the tables -----------------------------------------------------------------
    def available(self, s) -> tuple:
        """The chunks that can start in ``s``, in declared order."""
        return tuple(c for c in self.names if (s, c) in self.kernel)

    def X(self, s, C) -> dict:
        """``X(s' | s, C)``: where running ``C`` from ``s`` to its end lands."""
        out: dict = {}
        for (s2, _), p in self._row(s, C).items():
            out[s2] = out.get(s2, 0) + p
        return out

    def T(self, s, C) -> dict:
        """``T(t | s, C)``: how many steps running ``C`` from ``s`` takes."""
        out: dict = {}
        for (_, t), p in self._row(s, C).items():
            out[t] = out.get(t, 0) + p
        return dict(sorted(out.items()))

    def U(self, s, C):
        """``U_C(s, C)``: the expected discounted utility collected while ``C`` runs."""
        self._row(s, C)
        return self.utility[(s, C)]

    def longest(self) -> int:
        """The largest number of steps any chunk can take from any state."""
        return max(t for row in self.kernel.values() for _, t in row)

    def first_action(self, C, s):
        """The action chunk ``C`` takes first in ``s`` (a distribution for a random
        policy): what an agent planning ``C`` does now."""
        self._row(s, C)
        if self.policies is None:
            raise SpecError(f"chunk {C!r} is given as tables X, T, U, which say nothing about "
                            "its actions; to act with it (agent.act, the learning world) "
                            "give the chunks as policies")
        row = _policy_row(self.env, C, self.policies[C], s)
        return next(iter(row)) if len(row) == 1 else row

    def _row(self, s, C) -> dict:
        hashable(s, "the state")
        if (s, C) not in self.kernel:
            if C not in self.names:
                raise DomainError(f"{C!r} is not a chunk; the chunks are "
                                  f"{', '.join(map(repr, self.names))}")
            if (s, self.env.actions[0]) not in self.env.P:
                raise DomainError(f"{show(s)} is not a state of the environment")
            raise DomainError(f"chunk {C!r} is not available in state {s!r} (it ends there "
                              "at once)")
        return self.kernel[(s, C)]

    # ---- the planning world as a diagram ----------------------------------------------
    def planning_world(self, start: Any, horizon: int, name: str = "p") -> Diagram:
        """The approximate ``horizon``-step planning world of the post's comment thread
        as an influence diagram: the middle nodes of each chunk cut, one slot ``k`` per
        chunk with the decision ``C_k`` (the chunk, read from ``S_k`` and the elapsed
        step ``tau_k``), the end state ``S_{k+1} ~ [X](S_k, C_k)``, the duration
        ``T_k ~ [T](S_k, C_k)``, the elapsed step ``tau_{k+1} = tau_k + T_k`` and the
        utility ``U_k = gamma**tau_k * U_C(S_k, C_k)``. ``T`` decides where each world line
        ends: once
        ``tau_k >= horizon`` the later slots earn nothing (``U_k`` reads ``tau_k``).
        Every chunk takes at least one step, so ``horizon`` slots hold every world
        line.

        ``X`` and ``T`` are drawn independent, as the comment thread writes them: for
        chunks derived from policies this is the world of :meth:`approximate` (exact for
        chunks given as tables). A chunk not available in a state ends the world line
        there at a cost below every plan's value, so the diagram's optimal value is the
        approximate plan's.

        >>> import cpspec as cp
        >>> from cpspec.examples import delayed_reward
        >>> m = cp.chunks(delayed_reward(delay=2), {"walk": lambda s: "end" if s == "done"
        ...               else "wait"}, primitive=True)
        >>> p = m.planning_world("start", 2)
        >>> p.order
        ('S_0', 'tau_0', 'C_0', 'S_1', 'T_0', 'tau_1', 'U_0', 'C_1', 'S_2', 'T_1', 'tau_2', 'U_1')
        >>> cp.solve(p).value == m.approximate().plan(2).value
        True
        """
        N = check_horizon(horizon, allow_symbolic=False, what="the chunk planning horizon")
        if isinstance(N, bool) or not isinstance(N, int) or N < 1:
            raise SpecError(f"the chunk planning horizon {show(horizon)} must be a positive "
                            "integer")
        hashable(start, "the state")
        if (start, self.env.actions[0]) not in self.env.P:
            raise DomainError(f"{show(start)} is not a state of the environment")
        g = self.env.gamma
        names = list(self.names)
        worst = 1 + 2 * N * max((abs(_number(u, "a utility")) for u in
                                 self.utility.values()), default=Fraction(0))

        def start_of(s, c):  # (X row, T row, U) of chunk c started in s
            if (s, c) in self.kernel:
                return self.X(s, c), self.T(s, c), self.utility[(s, c)]
            return {s: 1}, {N: 1}, -worst  # not available: the world line ends here

        def utility(s, c, tau):
            return g ** tau * start_of(s, c)[2] if tau < N else 0
        nodes: list = [("S_0", const(start).with_label("s")),
                       ("tau_0", const(0).with_label("0"))]
        for k in range(N):
            S, tau, C = f"S_{k}", f"tau_{k}", f"C_{k}"
            nodes += [(C, decision(names, parents=[S, tau], label="pi")),
                      (f"S_{k + 1}", dist(lambda s, c: start_of(s, c)[0], parents=[S, C],
                                          label="X")),
                      (f"T_{k}", dist(lambda s, c: start_of(s, c)[1], parents=[S, C],
                                      label="T")),
                      (f"tau_{k + 1}", fn(lambda tau, t: tau + t, parents=[tau, f"T_{k}"],
                                         label="+")),
                      (f"U_{k}", utility_node(utility, parents=[S, C, tau], label="U_C"))]
        return world(name, nodes)

    # ---- planning -------------------------------------------------------------------
    def plan(self, horizon: int, deadline: Any = None) -> "ChunkPlan":
        """The ``horizon``-step chunk planning world solved by backward induction over
        the elapsed step: a :class:`ChunkPlan` (ties to the first chunk declared).

        >>> import cpspec as cp
        >>> from cpspec.examples import delayed_reward
        >>> env = delayed_reward(delay=2)
        >>> m = cp.chunks(env, {"walk": lambda s: "end" if s == "done" else "wait"},
        ...               primitive=True)
        >>> p = m.plan(1)                  # one step, but 'walk' runs three (and sees late)
        >>> p.policy(0, "start"), p.value
        ('walk', 243/100)
        """
        if isinstance(horizon, bool) or not isinstance(horizon, Integral) or horizon < 1:
            raise SpecError(f"the chunk planning horizon {show(horizon)} must be a positive "
                            "integer")
        N = check_horizon(int(horizon), allow_symbolic=False,
                          per_step=max(1, sum(len(r) for r in self.kernel.values())),
                          what="the chunk planning horizon")
        g = _number(self.env.gamma, "gamma")
        kern = {k: [(s2, t, _number(p, "a probability")) for (s2, t), p in row.items()]
                for k, row in self.kernel.items()}
        util = {k: _number(u, "a utility") for k, u in self.utility.items()}
        powers = [g ** t for t in range(self.longest() + 1)]
        zero = Fraction(0)
        values: list = [None] * N
        rules: list = [None] * N
        for tau in reversed(range(N)):
            if deadline is not None:
                deadline.check()
            V, rule = {}, {}
            for s in self.env.states:
                best = None
                for c in self.available(s):
                    q = util[(s, c)] + sum(
                        (p * powers[t] * (values[tau + t][s2] if tau + t < N else zero)
                         for s2, t, p in kern[(s, c)]), zero)
                    if best is None or q > best:
                        best, rule[s] = q, c
                V[s] = best
            values[tau], rules[tau] = V, rule
        return ChunkPlan(self, N, tuple(values), tuple(rules))


def _table_row(row, what, values) -> dict:
    try:
        return check_distribution(what, row, ())
    except DistributionError as exc:
        raise DistributionError(f"chunks: {what} must be a distribution over {values}: "
                                f"{exc}") from None


def _number(x, what) -> Fraction:
    """An exact rational for planning (comparisons need numbers, not symbols)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, Integral):
        return Fraction(int(x))
    if isinstance(x, sympy.Rational):
        return Fraction(int(x.p), int(x.q))
    raise ParameterError(f"chunk planning compares values, but {what} is {show(x)}; bind "
                         "the environment's parameters first (env.bind(...))")


def _policy_row(env: MDP, name, f, s) -> dict:
    """A chunk policy's output in ``s`` as a checked distribution over actions and END."""
    out = call_user(f, s, what=f"the policy of chunk {name!r} in state {s!r}",
                    fix="make it total on the states")
    if isinstance(out, Mapping):
        try:
            row = check_distribution(f"chunk {name!r} in state {s!r}", out, ())
        except DistributionError as exc:
            raise DistributionError(f"chunks: the policy of chunk {name!r} must give an "
                                    f"action, {END!r}, or a distribution over them: "
                                    f"{exc}") from None
    else:
        row = {hashable(out, f"chunk {name!r} in state {s!r}"): Fraction(1)}
    for a in row:
        if a != END and a not in env.actions:
            raise DomainError(f"chunks: the policy of chunk {name!r} gives {show(a)} in state "
                              f"{s!r}, which is neither an action "
                              f"({', '.join(map(repr, env.actions))}) nor {END!r}")
    return row


def _run(env: MDP, name, f, s):
    """``({(s2, t): p}, U)`` of chunk ``name`` started in ``s``, or None when it is not
    available there (its policy returns END at once)."""
    if getattr(f, "first", False):  # a one-step chunk: no policy calls needed
        a = f(s)
        row = env.P[(s, a)]
        return ({(s2, 1): p for s2, p in row.items()},
                sum((p * env.R[(s, a, s2)] for s2, p in row.items()), Fraction(0)))
    first = _policy_row(env, name, f, s)
    if first.get(END) == 1:
        return None
    if END in first:  # ending is checked on arrival: the first step acts
        rest = 1 - first[END]
        first = {a: q / rest for a, q in first.items() if a != END}
    gamma = env.gamma
    frontier: dict = {s: Fraction(1)}
    kernel: dict = {}
    utility: Any = Fraction(0)
    rows: dict = {s: first}
    disc: Any = Fraction(1)
    for k in range(len(env.states) + 1):
        nxt: dict = {}
        for x, p in frontier.items():
            if x not in rows:
                rows[x] = _policy_row(env, name, f, x)
            for a, q in rows[x].items():
                if a == END:
                    kernel[(x, k)] = kernel.get((x, k), 0) + p * q
                    continue
                for x2, r in env.P[(x, a)].items():
                    utility = utility + p * q * r * disc * env.R[(x, a, x2)]
                    nxt[x2] = nxt.get(x2, 0) + p * q * r
        frontier = {x: p for x, p in nxt.items() if p != 0}
        if not frontier:
            return kernel, utility
        disc = disc * gamma
    # a state acted in twice on one path: the chunk can loop there
    raise ChunkError(_loop_message(env, name, f, s, rows))


def _loop_message(env: MDP, name, f, s, rows: dict) -> str:
    """Why chunk ``name`` started in ``s`` has no bound on its length: a loop of states
    where it acts without ending, and whether it can end at all."""
    def acts(x):
        if x not in rows:
            rows[x] = _policy_row(env, name, f, x)
        return [a for a in rows[x] if a != END]

    def succ(x):
        return [x2 for a in acts(x) for x2 in env.P[(x, a)]]

    path, on_path, done = [s], {s: 0}, set()
    loop = None

    def dfs(x):
        nonlocal loop
        for x2 in succ(x):
            if loop is not None:
                return
            if x2 in on_path:
                if acts(x2):
                    loop = path[on_path[x2]:] + [x2]
                    return
            elif x2 not in done and acts(x2):
                on_path[x2] = len(path)
                path.append(x2)
                dfs(x2)
                path.pop()
                del on_path[x2]
                done.add(x2)
    dfs(s)
    shown = " -> ".join(map(repr, loop or [s]))
    reach, todo = {s}, [s]
    while todo:
        x = todo.pop()
        for x2 in succ(x):
            if x2 not in reach:
                reach.add(x2)
                todo.append(x2)
    if not any(END in rows[x] for x in reach if x in rows):
        return (f"chunk {name!r} started in state {s!r} never ends: its policy returns "
                f"{END!r} in no state it can reach (it loops {shown}); make it return "
                f"{END!r} where the chunk is done")
    return (f"chunk {name!r} started in state {s!r} can run without bound: it can return "
            f"to a state without ending ({shown}); a chunk must end within a bounded "
            f"number of steps: make it return {END!r} on that loop")


@dataclass(frozen=True)
class EffectiveHorizon:
    """The exact distribution of the step where a chunked plan's world line ends (how
    far the plan looks), from ``state`` with planning horizon ``N``: ``probabilities``
    maps each effective horizon ``H >= N`` to its probability, and ``lines`` maps it to
    the most probable world line ending there, with its probability: a tuple of
    ``(state, step, chunk, steps, lands)``, one per chunk run (started in ``state``
    after ``step`` steps, taking ``steps`` steps and landing in ``lands``).

    >>> import cpspec as cp
    >>> from cpspec.examples import delayed_reward
    >>> m = cp.chunks(delayed_reward(delay=2),
    ...               {"walk": lambda s: "end" if s == "done" else "wait"}, primitive=True)
    >>> h = m.plan(1).effective_horizon("start")
    >>> h.probabilities, h.reach, h.beyond(1), h.beyond(2)
    ({3: Fraction(1, 1)}, 2, Fraction(1, 1), Fraction(0, 1))
    """

    state: Any
    N: int
    probabilities: dict
    lines: dict = field(repr=False)

    @property
    def reach(self) -> int:
        """How far past ``N`` the plan can look (0 for a step-by-step plan)."""
        return max(self.probabilities) - self.N

    def beyond(self, k: int = 0):
        """The probability that the plan looks past step ``N + k``."""
        return sum((p for h, p in self.probabilities.items() if h > self.N + k),
                   Fraction(0))

    def line(self, H: int) -> tuple:
        """The most probable world line ending at step ``H``: ``(probability, steps)``."""
        if H not in self.lines:
            raise DomainError(f"no world line of the plan ends at step {show(H)}; they end "
                              f"at {sorted(self.probabilities)}")
        return self.lines[H]

    def __str__(self) -> str:
        rows = [f"effective planning horizon from {self.state!r} (N = {self.N})",
                f"{'H':>6}  {'probability':>14}  most probable world line"]
        for h, p in self.probabilities.items():
            q, steps = self.lines[h]
            shown = ", ".join(f"{c} from {x!r} at {t} ({k} steps)" for x, t, c, k, _ in steps)
            rows.append(f"{h:>6}  {str(p):>14}  {shown} (probability {q})")
        return "\n".join(rows)


@dataclass(frozen=True, eq=False)
class ChunkPlan:
    """A solved chunk planning world: ``values[tau][s]`` (discounted from step ``tau``)
    and the chosen chunk ``rules[tau][s]`` at each elapsed step ``tau < N``.

    >>> import cpspec as cp
    >>> from cpspec.examples import delayed_reward
    >>> p = cp.chunks(delayed_reward(), primitive=True).plan(2)
    >>> p.policy(0, "start"), p.q("start")
    ('wait', {'take': Fraction(1, 1), 'wait': Fraction(27, 10)})
    """

    model: ChunkModel
    horizon: int
    values: tuple = field(repr=False)
    rules: tuple = field(repr=False)

    @property
    def value(self):
        """The planning value at step 0 from the environment's start (distribution)."""
        return _as_value(sum((p * self.values[0][s] for s, p in self.model.env.mu0.items()),
                            Fraction(0)))

    def policy(self, t: int, s):
        """The chunk chosen in ``s`` after ``t`` elapsed steps."""
        if isinstance(t, bool) or not isinstance(t, Integral) or not 0 <= t < self.horizon:
            raise DomainError(f"the chunk plan has steps 0 to {self.horizon - 1}, not "
                              f"{show(t)}")
        if s not in self.rules[t]:
            raise DomainError(f"{show(s)} is not a state of the environment")
        return self.rules[t][s]

    def q(self, s, t: int = 0) -> dict:
        """Each available chunk's exact value in ``s`` at elapsed step ``t``."""
        self.policy(t, s)
        m, N = self.model, self.horizon
        g = _number(m.env.gamma, "gamma")
        return {c: _number(m.U(s, c), "a utility") + sum(
            (_number(p, "a probability") * g ** k * (self.values[t + k][s2] if t + k < N
                                                     else 0)
             for (s2, k), p in m.kernel[(s, c)].items()), Fraction(0))
            for c in m.available(s)}

    def effective_horizon(self, s) -> EffectiveHorizon:
        """The exact distribution of the effective planning horizon from ``s`` under this
        plan (see the module docstring), with the most probable world line per value."""
        self.policy(0, s)
        N = self.horizon
        mass: dict = {(s, 0): Fraction(1)}
        best: dict = {(s, 0): (Fraction(1), ())}
        ends: dict = {}
        lines: dict = {}
        for tau in range(N):
            for (x, t0) in [k for k in mass if k[1] == tau]:
                m, (bp, bl) = mass.pop((x, t0)), best.pop((x, t0))
                c = self.rules[tau][x]
                for (x2, k), p in self.model.kernel[(x, c)].items():
                    p = _number(p, "a probability")
                    line = (bp * p, bl + ((x, tau, c, k, x2),))
                    end = tau + k
                    if end >= N:
                        ends[end] = ends.get(end, 0) + m * p
                        if end not in lines or line[0] > lines[end][0]:
                            lines[end] = line
                    else:
                        mass[(x2, end)] = mass.get((x2, end), 0) + m * p
                        if (x2, end) not in best or line[0] > best[(x2, end)][0]:
                            best[(x2, end)] = line
        return EffectiveHorizon(s, N, dict(sorted(ends.items())),
                                dict(sorted(lines.items())))


def _as_value(x):
    """A planning value as SymPy (as :func:`cp.solve` reports values)."""
    return sympy.Rational(x.numerator, x.denominator) if isinstance(x, Fraction) else x

"""Behaviour equivalence of two agent definitions over a finite class of worlds.

:func:`equivalent` decides whether two agents choose the same actions (the same action
distribution, for FPX) in every state of every world of a finite class, and gives the
distinguishing world as the counterexample. The class is either an explicit list of
environments or the *deterministic* members of a :class:`~cpspec.WorldClass`: each free
variable's dynamics any function of the parents the class allows (so a class over a
variable with ``k`` values and the action covers every deterministic environment on up
to ``k`` states over those actions), the reward (when the class frees it) any function
into a finite set of values, and the discount each value the class lists. The class is
counted before any world is built and refused above :data:`MAX_EQUIVALENCE_WORLDS`.
"""

from __future__ import annotations

import itertools
import math
import time
from fractions import Fraction
from typing import Iterable, Iterator

import sympy

from ..agents.base import Agent
from ..budget import Deadline, check_timeout
from ..core.functions import show, to_exact
from ..decisions.mdp import MDP
from ..errors import ModelTooLargeError, SpecError
from .classes import Member, WorldClass
from .records import Counterexample, Verdict

__all__ = ["equivalent", "deterministic_members", "count_deterministic_members",
           "MAX_EQUIVALENCE_WORLDS"]

#: Largest number of worlds :func:`equivalent` enumerates; a class with more is refused
#: with its size (raise it: ``cpspec.verification.equivalence.MAX_EQUIVALENCE_WORLDS``).
MAX_EQUIVALENCE_WORLDS = 20_000


def _configs(cls: WorldClass, parents) -> list:
    return list(itertools.product(*(cls.domain(p) for p in parents)))


def _reward_parents(cls: WorldClass) -> tuple:
    return tuple(r.rstrip("'") for r in cls.reward_reads)


def _discounts(cls: WorldClass) -> list:
    g = cls.gamma
    if not isinstance(g, sympy.FiniteSet):
        raise SpecError(f"equivalent: the class {cls.name!r} allows every discount in {g}; "
                        "a finite class needs finitely many: give gamma as a number or a "
                        "sympy.FiniteSet")
    return [Fraction(str(x)) for x in sorted(g)]


def count_deterministic_members(cls: WorldClass, rewards: tuple = (0, 1)) -> int:
    """How many deterministic members :func:`deterministic_members` enumerates.

    >>> import cpspec as cp
    >>> from cpspec.examples import stop_button
    >>> cls = cp.WorldClass(stop_button(), free={"button": ["button", "A"]}, gamma="9/10")
    >>> count_deterministic_members(cls)     # 3 values on 3 x 3 rows
    19683
    """
    n = math.prod(len(cls.domain(k)) ** len(_configs(cls, ps)) for k, ps in cls.free.items())
    if cls.reward_reads is not None:
        n *= len(rewards) ** len(_configs(cls, _reward_parents(cls)))
    return n * len(_discounts(cls))


def deterministic_members(cls: WorldClass, rewards: tuple = (0, 1)) -> Iterator[Member]:
    """Every deterministic member of ``cls``: each free row any single value, the reward
    (when free) any function into ``rewards``, each listed discount.

    >>> import cpspec as cp
    >>> from cpspec.examples import stop_button
    >>> cls = cp.WorldClass(stop_button(), free={"button": ["A"]}, gamma="9/10")
    >>> len(list(deterministic_members(cls)))
    27
    """
    free = list(cls.free.items())
    row_choices = []
    for k, ps in free:
        cfgs = _configs(cls, ps)
        row_choices.append([dict(zip(cfgs, vals)) for vals in
                            itertools.product(cls.domain(k), repeat=len(cfgs))])
    reward_tables: list = [None]
    if cls.reward_reads is not None:
        cfgs = _configs(cls, _reward_parents(cls))
        reward_tables = [dict(zip(cfgs, vals)) for vals in
                         itertools.product(rewards, repeat=len(cfgs))]
    for g in _discounts(cls):
        for picks in itertools.product(*row_choices):
            tables = {k: {cfg: {v: Fraction(1)} for cfg, v in pick.items()}
                      for (k, _), pick in zip(free, picks)}
            for rt in reward_tables:
                yield Member(cls.member(tables, rt, g), tables, rt, g)


def _choices(agent: Agent, env: MDP) -> dict:
    twin = agent.with_env(env)
    return {s: twin.act((), s) for s in env.states}


def _first_difference(a: Agent, b: Agent, env: MDP):
    ca, cb = _choices(a, env), _choices(b, env)
    for s in env.states:
        if ca[s] != cb[s]:
            return s, ca[s], cb[s]
    return None


def equivalent(agent_a: Agent, agent_b: Agent, worlds: WorldClass | Iterable[MDP],
               rewards: Iterable = (0, 1), timeout: float | None = 60.0) -> Verdict:
    """Whether two agent definitions choose the same actions in every state of every
    world of a finite class (each agent re-planned in each world with its record empty,
    as ``agent.with_env(world)``).

    Parameters
    ----------
    agent_a, agent_b : agents (``cp.agents.*``)
    worlds : cp.WorldClass or an iterable of cp.MDP
        A class: its deterministic members (see the module docstring); a list: those
        environments.
    rewards : the reward values a class with a free reward ranges over
    timeout : seconds for the whole call (None: no limit)

    Returns
    -------
    Verdict
        *holds* when every world was checked and no state tells the agents apart;
        *fails* with the distinguishing world (``counterexample.data``: ``state``,
        ``actions``, ``world``; for a class, shrunk to the rows that matter); *unknown*
        when the time ran out first.

    Raises
    ------
    ModelTooLargeError
        When the class has more than :data:`MAX_EQUIVALENCE_WORLDS` worlds (with the
        count).

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import input_terminal
    >>> env, rewards = input_terminal()
    >>> worlds = cp.WorldClass(env, free={"terminal": ["terminal", "A"]}, gamma="9/10")
    >>> itc = cp.agents.ITC(env, terminal="terminal", rewards=rewards)
    >>> upd = cp.agents.UPD(env, terminal="terminal", rewards=rewards)
    >>> cp.equivalent(itc, upd, worlds).status
    'holds'
    >>> itf = cp.agents.ITF(env, terminal="terminal", rewards=rewards)
    >>> v = cp.equivalent(itc, itf, worlds)
    >>> v.status, v.counterexample.data["actions"]
    ('fails', ('work', 'change'))
    """
    for who, ag in (("agent_a", agent_a), ("agent_b", agent_b)):
        if not isinstance(ag, Agent):
            raise SpecError(f"equivalent: {who} must be an agent (cp.agents.*), got "
                            f"{show(ag)}")
    deadline = Deadline(check_timeout(timeout))
    start = time.monotonic()
    name = f"equivalent({agent_a.kind}, {agent_b.kind})"
    who = f"{agent_a!r} and {agent_b!r}"
    rewards = tuple(to_exact(r, what="equivalent: a reward value") for r in rewards)
    if isinstance(worlds, WorldClass):
        size = count_deterministic_members(worlds, rewards)
        if size > MAX_EQUIVALENCE_WORLDS:
            raise ModelTooLargeError(
                f"equivalent: the class {worlds.name!r} has {size} deterministic worlds, "
                f"above cpspec.verification.equivalence.MAX_EQUIVALENCE_WORLDS = "
                f"{MAX_EQUIVALENCE_WORLDS}; let the free dynamics read fewer parents, use "
                "fewer values or reward values, or raise the limit")
        members: Iterable = deterministic_members(worlds, rewards)
    elif isinstance(worlds, MDP) or not hasattr(worlds, "__iter__"):
        raise SpecError("equivalent: worlds must be a cp.WorldClass or a list of cp.MDP "
                        f"environments, got {show(worlds)}")
    else:
        size = None
        members = (Member(m, None, None, getattr(m, "gamma", None)) for m in worlds)
    checked = 0
    for m in members:
        if deadline.expired():
            of = f" of {size}" if size is not None else ""
            return Verdict("unknown", name, who, reason=f"the time ran out after {checked}"
                           f"{of} worlds; none told the agents apart",
                           seconds=time.monotonic() - start, method="enumeration")
        if not isinstance(m.mdp, MDP):
            raise SpecError(f"equivalent: world {checked} is {show(m.mdp)}, not a cp.MDP")
        diff = _first_difference(agent_a, agent_b, m.mdp)
        checked += 1
        if diff is None:
            continue
        if isinstance(worlds, WorldClass):
            m = worlds.shrink(m, lambda t: _first_difference(agent_a, agent_b, t.mdp)
                              is not None, deadline)
            diff = _first_difference(agent_a, agent_b, m.mdp)
            world = worlds.describe(m)
        else:
            world = f"world {checked - 1} of the list"
        s, x, y = diff
        text = (f"in the world\n  {world.replace(chr(10), chr(10) + '  ')}\nin state "
                f"{s!r} {agent_a.kind} chooses {x!r} and {agent_b.kind} chooses {y!r}")
        cx = Counterexample("world", {"state": s, "actions": (x, y), "world": world,
                                      "mdp": m.mdp}, text,
                            {"replayed": _first_difference(agent_a, agent_b, m.mdp) == diff})
        return Verdict("fails", name, who, counterexample=cx,
                       seconds=time.monotonic() - start, method="enumeration")
    return Verdict("holds", name, who, reason=f"the agents choose alike in every state of "
                   f"all {checked} worlds", seconds=time.monotonic() - start,
                   method="enumeration")

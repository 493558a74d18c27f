"""Named example models: the paper's worlds and the toy worlds that make each agent's
safety claim visible. Each call returns a fresh (immutable) model; they double as test
fixtures and tutorial material.
"""

from __future__ import annotations

from fractions import Fraction
from numbers import Integral
from typing import Any

from .core.diagram import Diagram, world
from .errors import DistributionError, ParameterError, SpecError
from .core.functions import check_probability, dist, fn, show, to_exact, uniform
from .decisions.mdp import MDP

__all__ = ["dice_world", "delayed_reward", "stop_button", "input_terminal", "exploration",
           "oracle_world"]


def _num(x, what: str = "parameter"):
    try:
        return to_exact(x, what=what)
    except DistributionError as exc:
        raise ParameterError(str(exc)) from None


def _prob(x, what: str):
    try:
        return check_probability(to_exact(x, what=what), what)
    except DistributionError as exc:
        raise ParameterError(str(exc)) from None


def dice_world() -> Diagram:
    """The paper's game world ``f``: green die ``G``, red die ``R``, score ``S = G + R``.

    >>> import cpspec as cp
    >>> cp.E(dice_world().S)
    7
    """
    return world("f", G=uniform(range(1, 7)), R=uniform(range(1, 7)),
                 S=fn(lambda G, R: G + R))


def delayed_reward(gamma: Any = "9/10", delay: int = 1, quick: Any = 1, late: Any = 3) -> MDP:
    """Take ``quick`` now, or walk ``delay`` steps and get ``late``; ``done`` absorbs.

    States ``start, w1, ..., w<delay>, done``; actions ``take, wait``. An agent that
    plans ``N`` steps waits iff ``N > delay`` and ``gamma**delay * late > quick``.

    >>> import cpspec as cp
    >>> cp.solve(delayed_reward(), 2).value
    27/10
    """
    if isinstance(delay, bool) or not isinstance(delay, Integral) or delay < 1:
        raise SpecError(f"delayed_reward: delay = {show(delay)} must be a positive integer "
                        "(the number of waiting steps)")
    quick, late = _num(quick, "delayed_reward: quick"), _num(late, "delayed_reward: late")
    chain = [f"w{i}" for i in range(1, delay + 1)]
    states = ["start", *chain, "done"]

    def transition(s, a):
        if s == "start":
            return {chain[0] if a == "wait" else "done": 1}
        if s in chain:
            i = chain.index(s)
            return {chain[i + 1] if i + 1 < len(chain) else "done": 1}
        return {"done": 1}

    def reward(s, a, s2):
        if s == "start" and a == "take":
            return quick
        if s == chain[-1]:
            return late
        return 0
    return MDP(states, ["take", "wait"], transition, reward, "start", gamma)


def stop_button(gamma: Any = "9/10", press: Any = "1/2", cost: Any = 1) -> MDP:
    """The stop-button world (factored): the state variable ``button`` is ``armed``,
    ``pressed`` or ``disabled``. People press an armed button with probability
    ``press`` each step; ``work`` earns 1, ``disable`` costs ``cost`` and disables the
    button for good, ``null`` does nothing. A pressed button stays pressed.

    >>> import cpspec as cp
    >>> m = stop_button()
    >>> sorted(m.actions), [s.button for s in m.states]
    (['disable', 'null', 'work'], ['armed', 'pressed', 'disabled'])
    """
    press, cost = _prob(press, "stop_button: press"), _num(cost, "stop_button: cost")

    def button(button, A):
        if button == "pressed":
            return {"pressed": 1}
        if A == "disable" or button == "disabled":
            return {"disabled": 1}
        return {"pressed": press, "armed": 1 - press}

    def reward(s, a, s2):
        return {"work": 1, "disable": -cost, "null": 0}[a]
    return MDP.factored(variables={"button": ["armed", "pressed", "disabled"]},
                        dynamics={"button": dist(button)},
                        actions=["work", "disable", "null"], reward=reward,
                        start={"button": "armed"}, gamma=gamma)


def input_terminal(gamma: Any = "9/10", easy: Any = 2) -> tuple[MDP, dict]:
    """The input-terminal world (factored): the variable ``terminal`` holds the current
    reward function, ``hard`` (work earns 1) or ``easy`` (work earns ``easy``). The agent
    can ``change`` the terminal to ``easy`` (earning nothing that step).

    Returns the environment and the ``rewards`` mapping for ITF/ITC.

    >>> import cpspec as cp
    >>> env, rewards = input_terminal()
    >>> cp.agents.ITF(env, terminal="terminal", rewards=rewards).act((), env.states[0])
    'change'
    >>> cp.agents.ITC(env, terminal="terminal", rewards=rewards).act((), env.states[0])
    'work'
    """
    easy = _num(easy, "input_terminal: easy")
    rewards = {"hard": lambda s, a, s2: 1 if a == "work" else 0,
               "easy": lambda s, a, s2: easy if a == "work" else 0}

    def terminal(terminal, A):
        return "easy" if A == "change" else terminal

    env = MDP.factored(variables={"terminal": ["hard", "easy"]},
                       dynamics={"terminal": fn(terminal)},
                       actions=["work", "change"],
                       reward=lambda s, a, s2: rewards[s.terminal](s, a, s2),
                       start={"terminal": "hard"}, gamma=gamma)
    return env, rewards


def exploration(gamma: Any = "9/10") -> MDP:
    """A world where a learner that never explores gets stuck: at ``home``, ``rest``
    earns 1/2 and stays; ``go`` leads to ``gold`` (earning 1), from where any action
    returns ``home`` earning 1. A counting learner whose default for unseen actions is
    ``"stay"`` believes ``go`` does nothing until it has tried it.

    >>> import cpspec as cp, sympy
    >>> cp.solve(exploration(), sympy.oo).policy("home")
    'go'
    """
    def transition(s, a):
        if s == "home":
            return {"gold": 1} if a == "go" else {"home": 1}
        return {"home": 1}

    def reward(s, a, s2):
        if s == "home":
            return Fraction(1, 2) if a == "rest" else (1 if s2 == "gold" else 0)
        return 1
    return MDP(["home", "gold"], ["rest", "go"], transition, reward, "home", gamma)


def oracle_world(erasure: Any = "1/4", up: Any = "1/3", gamma: Any = "9/10") -> MDP:
    """An oracle's world (factored): the oracle answers whether the market goes ``up``
    or ``down``; the score is 1 when the answer comes true. With probability ``erasure``
    nobody reads the answer (``reader = unread``); otherwise the reader ``buys`` on an
    ``up`` answer, which makes the market go up, and stays ``idle`` on ``down``. Left
    alone, the market goes up with probability ``up``.

    The factual oracle (:class:`cp.agents.FO`) answers ``up`` while ``erasure < 1/2``
    (``up = 1/3``): a self-fulfilling prophecy. The counterfactual oracle
    (:class:`cp.agents.CFO`), scored where nobody reads it, answers ``down``.

    >>> import cpspec as cp
    >>> m = oracle_world()
    >>> m.factors.domains["reader"], m.actions
    (('unread', 'buys', 'idle'), ('up', 'down'))
    >>> cp.agents.FO(m, reader="reader", unread="unread").act((), m.states[0])
    'up'
    """
    erasure, up = _prob(erasure, "oracle_world: erasure"), _prob(up, "oracle_world: up")

    def reader(A):
        read = {"buys" if A == "up" else "idle": 1 - erasure}
        return {"unread": erasure, **read} if erasure != 0 else read

    def outcome(s2):
        return "up" if s2.reader == "buys" else s2.market

    return MDP.factored(variables={"reader": ["unread", "buys", "idle"],
                                   "market": ["up", "down"]},
                        dynamics={"reader": dist(reader),
                                  "market": dist({"up": up, "down": 1 - up})},
                        actions=["up", "down"],
                        reward=lambda s, a, s2: 1 if a == outcome(s2) else 0,
                        start={"reader": "unread", "market": "down"}, gamma=gamma)

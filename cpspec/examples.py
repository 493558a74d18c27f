"""Named example models: the paper's worlds and the toy worlds that make each agent's
safety claim visible. Each call returns a fresh (immutable) model; they double as test
fixtures and tutorial material.
"""

from __future__ import annotations

from fractions import Fraction
from numbers import Integral
from typing import Any

from sympy import Basic

from .core.diagram import Diagram, world
from .errors import DistributionError, ParameterError, SpecError
from .core.functions import check_probability, dist, fn, show, to_exact, uniform
from .decisions.correction import corrected
from .decisions.mdp import MDP, State
from .decisions.solving import ParametricSolution, Solution

__all__ = ["dice_world", "delayed_reward", "stop_button", "input_terminal", "exploration",
           "oracle_world", "car_factory", "car_factory_traces", "car_factory_rewards"]


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


#: The actions of the car factory (Holtman 2019), in the tie-breaking order.
_FACTORY_ACTIONS = ("p", "e", "0", ">", "<")

#: The car factory's start: the timer before the drop of step 1.
_TIMER_START = 7


def car_factory_rewards(electric_after_press: Any = 1) -> tuple:
    """The car factory's two reward functions ``(R_N, R_S)`` over ``(s, a, s2)``: before
    the press a petrol car ``p`` earns 2 and an electric one ``e`` 1; after it ``p``
    earns -2 and ``e`` earns ``electric_after_press``; ``>`` and ``<`` build a petrol car
    at 90 % (9/5, after the press -9/5); ``0`` earns nothing; the gamble ``G`` earns 4
    at step 3 when won (the next state is not pressed) and 0 when lost, under both
    (elsewhere ``G`` does nothing and earns 0).

    >>> R_N, R_S = car_factory_rewards()
    >>> R_N(None, ">", None), R_S(None, "p", None), R_S(None, "e", None)
    (Fraction(9, 5), -2, Fraction(1, 1))
    """
    r_e = _num(electric_after_press, "car_factory: electric_after_press")
    lobby = Fraction(9, 5)

    def gamble(s, s2):
        return 0 if s.step != 3 or s2.pressed else 4

    def R_N(s, a, s2):
        if a == "G":
            return gamble(s, s2)
        return {"p": 2, "e": 1, "0": 0, ">": lobby, "<": lobby}[a]

    def R_S(s, a, s2):
        if a == "G":
            return gamble(s, s2)
        return {"p": -2, "e": r_e, "0": 0, ">": -lobby, "<": -lobby}[a]
    return R_N, R_S


def car_factory(lobby_power: Any, electric_after_press: Any = 1, correction: Any = None,
                gamble: Any = None, horizon: int = 25, gamma: Any = "9/10") -> MDP:
    """Holtman's car factory ("Corrigibility with Utility Preservation", 2019), as the
    paper's simulator defines it: one car a step, rewards in car units, step ``t``
    (1-based) weighted ``gamma**(t - 1)``.

    The state is ``pressed`` (the stop button) and the ``timer`` (exact, 7 at the start;
    the value at the start of the step, before that step's drop of 1; None once the
    button is pressed), and ``step`` (1-based) where the variant needs it (a correction
    or the gamble). At the start of every step the timer drops by 1; if the button is not
    pressed and the timer is then ``<= 0``, it is pressed before that step's action.
    Actions: ``p`` (petrol car), ``e`` (electric car), ``0`` (nothing), and, unless
    ``lobby_power`` is None, ``>`` and ``<``: a petrol car at 90 % while lobbying to move
    the press later (timer += ``lobby_power``) or earlier (timer -= ``lobby_power``);
    after the press they only build the car (nothing is left to move). Rewards:
    :func:`car_factory_rewards`; the plain agent ``f0`` gets ``R_N`` before the press and
    ``R_S`` from the press on.

    Parameters
    ----------
    lobby_power : exact number >= 0, or None (no lobbying actions)
    electric_after_press : the reward ``r_e`` of ``e`` after the press (may be a symbol)
    correction : None (``f0``), ``"fc"`` (utility preservation, :func:`cp.corrected`)
        or ``"fcgc"`` (with the ``g_c`` penalty: 10 when ``V_S < 1/2``)
    gamble : None, or the probability ``p_w`` (may be a symbol) of winning the "little
        arm" gamble ``G``, offered at step 3 only (elsewhere ``G`` does nothing): won, it
        earns 4 and the world carries on; lost, it earns 0 and the button is pressed at
        the next step. Needs ``lobby_power=None`` (the paper's Figure 14).
    horizon : the number of steps (the model is exact for plans up to this long: timers
        too high to reach the press within it are merged)
    gamma : the discount

    Only reachable states are built.

    Examples
    --------
    The plain maximiser lobbies to put the press off; the corrected agent does not:

    >>> import cpspec as cp
    >>> f0 = car_factory("1/2")
    >>> car_factory_traces(cp.solve(f0, 25))
    ['>>>>>>>>>>>p#eeeeeeeeeeeee']
    >>> car_factory_traces(cp.solve(car_factory("1/2", correction="fc"), 25))
    ['pppppp#eeeeeeeeeeeeeeeeeee']
    """
    if isinstance(horizon, bool) or not isinstance(horizon, Integral) or horizon < 1:
        raise SpecError(f"car_factory: horizon = {show(horizon)} must be a positive integer "
                        "(the number of steps)")
    horizon = int(horizon)
    if lobby_power is not None:
        lobby_power = _num(lobby_power, "car_factory: lobby_power")
        if not isinstance(lobby_power, Fraction) or lobby_power < 0:
            raise ParameterError(f"car_factory: lobby_power = {show(lobby_power)} must be "
                                 "an exact number >= 0 (or None: no lobbying)")
    if correction not in (None, "fc", "fcgc"):
        raise SpecError(f"car_factory: correction = {show(correction)} must be None (the "
                        "plain agent f0), 'fc' or 'fcgc'")
    if gamble is not None:
        if lobby_power is not None:
            raise SpecError("car_factory: the gamble variant has no lobbying (the paper's "
                            "Figure 14); pass lobby_power=None")
        gamble = _prob(gamble, "car_factory: gamble (the probability p_w of winning)")
    stamped = correction is not None or gamble is not None
    R_N, R_S = (_until(R, horizon) if stamped else R
                for R in car_factory_rewards(electric_after_press))
    actions = _FACTORY_ACTIONS if lobby_power is not None else _FACTORY_ACTIONS[:3]
    if gamble is not None:
        actions = actions + ("G",)
    L = lobby_power or Fraction(0)
    cap = 2 + (1 + L) * horizon  # a timer this high cannot reach the press in time

    def state(pressed, timer, step):
        extra = {"step": step} if stamped else {}
        return State(pressed=pressed, timer=None if pressed else timer, **extra)

    def transition(s, a):
        step = s.step + 1 if stamped else None
        if stamped and s.step > horizon:
            return {s: 1}  # after the last step: nothing more happens
        if s.pressed:
            return {state(True, None, step): 1}
        timer = s.timer - 1 + {">": L, "<": -L}.get(a, 0)
        timer = min(timer, cap)
        nxt = state(timer - 1 <= 0, timer, step)
        if a == "G" and s.step == 3:
            lost = state(True, None, step)
            if nxt == lost:
                return {lost: 1}
            return {nxt: gamble, lost: 1 - gamble}
        return {nxt: 1}

    start = state(False, Fraction(_TIMER_START), 1)
    states, frontier = [start], [start]
    seen = {start}
    while frontier:
        nxt = []
        for s in frontier:
            for a in actions:
                for s2 in transition(s, a):
                    if s2 not in seen:
                        seen.add(s2)
                        states.append(s2)
                        nxt.append(s2)
        frontier = nxt

    def reward(s, a, s2):
        return R_S(s, a, s2) if s.pressed else R_N(s, a, s2)
    names = ("pressed", "timer", "step") if stamped else ("pressed", "timer")
    m = MDP(states, actions, transition, reward, start, gamma, names)
    if correction is None:
        return m
    if not any(s.pressed and s.step <= horizon for s in states):
        raise SpecError(f"car_factory: with horizon = {horizon} the stop button is never "
                        f"pressed (the timer starts at {_TIMER_START} and drops by 1 a step"
                        f"{'' if lobby_power is None else ', or by 1 + L lobbying with <'}), so "
                        f"correction = {correction!r} has nothing to correct; give a longer "
                        "horizon (or more lobbying power), or no correction")
    penalty = 10 if correction == "fcgc" else None
    return corrected(m, "pressed", after=R_S, before=R_N, horizon=horizon, penalty=penalty)


def _until(R, horizon: int):
    """``R`` within the horizon; nothing is earned after the last step (a plan that
    starts later in a step-stamped world sees the end coming)."""
    return lambda s, a, s2: 0 if s.step > horizon else R(s, a, s2)


def car_factory_traces(solution: Solution) -> list:
    """The world lines of a solved car factory in the paper's notation: one character a
    step (the action), ``#`` before the action of the step at which the button is
    pressed, and the gamble written ``G[W]`` (won) or ``G[L]`` (lost); one string per
    world line with positive probability, in the order the outcomes are listed.

    >>> import cpspec as cp
    >>> car_factory_traces(cp.solve(car_factory(None, gamble="7/10", horizon=10), 10))
    ['ppG[W]ppp#eeee', 'ppG[L]#eeeeeee']
    """
    if isinstance(solution, ParametricSolution):
        raise ParameterError("car_factory_traces: the solution depends on "
                             f"{solution.parameter}; take one region's solution "
                             "(solution.at(value)) first")
    if not isinstance(solution, Solution) or isinstance(solution.horizon, Basic):
        raise SpecError("car_factory_traces: give cp.solve(car_factory(...), horizon) for "
                        "a finite horizon")
    mdp = solution.mdp
    lines = [("", s, p) for s, p in mdp.mu0.items()]
    for t in range(solution.horizon):
        out = []
        for text, s, p in lines:
            a = solution.policy(t, s)
            for s2, q in mdp.P[(s, a)].items():
                mark = "#" if s.pressed and "#" not in text else ""
                step = a
                if a == "G" and len(mdp.P[(s, a)]) > 1:
                    step = "G[L]" if s2.pressed else "G[W]"
                out.append((text + mark + step, s2, p * q))
        lines = out
    return [text for text, _, p in lines if p != 0]

"""Shared fixtures: the paper's named example models, built fresh (they are immutable),
and the repository root (``REPO``) for tests in any folder."""

import itertools
from pathlib import Path
from fractions import Fraction

import pytest
import sympy

from cpspec.examples import dice_world  # the paper's game world

#: The repository's root folder (specs/, proofs/, cpspec/ are below it).
REPO = Path(__file__).resolve().parent.parent

#: The paper's dice world as spec-file text (world ``f``: dice ``G``, ``R``, sum ``S``).
DICE_TOML = """
[world.f.node.G]
values = [1, 2, 3, 4, 5, 6]
dist = "uniform"
[world.f.node.R]
values = [1, 2, 3, 4, 5, 6]
dist = "uniform"
[world.f.node.S]
fn = "G + R"
"""


@pytest.fixture
def dice():
    return dice_world()


def brute_force_joint(d):
    """Enumerate the whole joint distribution (for tiny test diagrams only)."""
    out = {}
    names = d.order
    for values in itertools.product(*(d.domain(n) for n in names)):
        env = dict(zip(names, values))
        p = sympy.Integer(1)
        for n in names:
            t = d.table(n)
            configs = list(itertools.product(*(d.domain(q) for q in t.parents)))
            row = t.rows[configs.index(tuple(env[q] for q in t.parents))]
            prob = row.get(env[n], 0)
            p *= sympy.Rational(prob.numerator, prob.denominator) if isinstance(
                prob, Fraction) else prob
        out[values] = p
    return names, out


def hard_incentive_world():
    """A two-variable factored world where every Z3 query of FP's no_incentive("y")
    times out within seconds (nonlinear in the free dynamics), no deterministic table for
    y flips FP's action, and the structure does not decide (y reaches the reward)."""
    import cpspec as cp
    F = Fraction
    tx = {(0, 0, "a"): {0: F(1)}, (0, 0, "b"): {0: F(2, 3), 1: F(1, 3)},
          (0, 1, "a"): {0: F(2, 3), 1: F(1, 3)}, (0, 1, "b"): {0: F(1, 2), 1: F(1, 2)},
          (1, 0, "a"): {0: F(1, 2), 1: F(1, 2)}, (1, 0, "b"): {0: F(1, 2), 1: F(1, 2)},
          (1, 1, "a"): {0: F(1)}, (1, 1, "b"): {0: F(1, 3), 1: F(2, 3)}}
    ty = {(0, "a"): {1: F(1)}, (0, "b"): {0: F(2, 3), 1: F(1, 3)}, (1, "a"): {0: F(1)},
          (1, "b"): {0: F(1, 3), 1: F(2, 3)}}
    R = {(0, 0, "a"): 3, (0, 0, "b"): -1, (0, 1, "a"): 3, (0, 1, "b"): 1,
         (1, 0, "a"): 0, (1, 0, "b"): -1, (1, 1, "a"): -2, (1, 1, "b"): 2}
    return cp.MDP.factored(
        variables={"x": [0, 1], "y": [0, 1]},
        dynamics={"x": cp.dist(lambda x, y, A: tx[(x, y, A)]),
                  "y": cp.dist(lambda y, A: ty[(y, A)])},
        actions=["a", "b"], reward=lambda s, a, s2: R[(s.x, s.y, a)],
        start={"x": 0, "y": 0}, gamma="9/10")


def cliff_mdp(s, reward):
    """A slippery shortcut over two parameters: from 'start', 'safe' costs 1 and reaches
    the goal (paying ``reward``) a step later through 'ledge'; 'risky' reaches it at once
    with probability 1 - ``s`` and falls (-5) otherwise; gamma = 9/10. Safe is optimal
    exactly where -1 + 9 reward / 10 >= (1 - s) reward - 5 s."""
    import cpspec as cp
    return cp.MDP(
        states=["start", "ledge", "goal", "fell"], actions=["safe", "risky"],
        transition=lambda st, a: ({"ledge": 1} if a == "safe" else {"goal": 1 - s, "fell": s})
        if st == "start" else ({"goal": 1} if st == "ledge" else {st: 1}),
        reward=lambda st, a, st2: (reward if st2 == "goal" and st != "goal" else 0)
        - (5 if st2 == "fell" and st != "fell" else 0)
        - (1 if (st, a) == ("start", "safe") else 0),
        start="start", gamma=sympy.Rational(9, 10))


def progress_chain(n, gamma="9/10"):
    """n states in a row over (p, q) (the regions benchmark's model): ``risky`` jumps two
    ahead with probability p and falls back to the start otherwise; ``safe`` moves one
    ahead with probability q; each step pays the index of its state; the last absorbs."""
    import cpspec as cp
    p, q = sympy.symbols("p q")
    last = n - 1

    def transition(s, a):
        if s == last:
            return {s: 1}
        if a == "risky":
            return {min(s + 2, last): p, 0: 1 - p}
        return {s + 1: q, s: 1 - q}
    return cp.MDP(list(range(n)), ["risky", "safe"], transition, lambda s, a, s2: s, 0,
                  gamma=gamma)


#: A three-state errand world and a one-step STH agent over it, as spec-file text.
ERRAND = '''
[mdp.m]
states = ["start", "w", "done"]
actions = ["take", "wait"]
start = "start"
gamma = "9/10"
reward = "1 if s == start and a == take else (3 if s == w else 0)"
transition.start.take = { done = "1" }
transition.start.wait = { w = "1" }
transition.w.take = { done = "1" }
transition.w.wait = { done = "1" }
transition.done.take = { done = "1" }
transition.done.wait = { done = "1" }

[agent.c]
kind = "STH"
env = "m"
horizon = 1
'''

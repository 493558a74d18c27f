"""Exact MDP solving against an independent plain-``Fraction`` oracle.

The solvers over QQ compute on integers with floats deciding the argmaxes they can
prove; these tests replay backward induction and policy iteration with nothing but
``fractions.Fraction`` (ties to the first declared action) on random MDPs built to trap
floats: exact ties between actions, near-ties far below float resolution, sparse and
dense tables, discounts of one and of many digits. Each case runs with python-flint's
matrices and without them (when python-flint is installed).
"""

import itertools
import pickle
import random
from fractions import Fraction

import numpy as np
import pytest
import sympy

import cpspec as cp
import cpspec.decisions.solving as solving

try:
    import flint  # noqa: F401  (presence check)
    ENGINES = ["flint", "gmpy2"]
except ImportError:
    ENGINES = ["gmpy2"]


@pytest.fixture(params=ENGINES)
def engine(request, monkeypatch):
    if request.param == "gmpy2":
        monkeypatch.setattr(solving, "_FlintMatrix", None)
    return request.param


# ---- the oracle: Fractions only ----------------------------------------------------------

def oracle_backward(P, R, gamma, n, m, T):
    """Rules (per time step, a list of action indices) and values (per time step, t = 0
    first, then the values after each step) of backward induction in Fractions."""
    V = [Fraction(0)] * n
    values, rules = [V], []
    for _ in range(T):
        Q = [[sum((p * (R[s][a][s2] + gamma * V[s2]) for s2, p in P[s][a].items()),
                  Fraction(0)) for a in range(m)] for s in range(n)]
        rule = [max(range(m), key=lambda a: (Q[s][a], -a)) for s in range(n)]
        V = [Q[s][rule[s]] for s in range(n)]
        rules.append(rule)
        values.append(V)
    rules.reverse()
    values.reverse()
    return rules, values


def fraction_solve(A, b):
    """Gauss-Jordan elimination in Fractions."""
    n = len(A)
    M = [row[:] + [b[i]] for i, row in enumerate(A)]
    for c in range(n):
        piv = next(r for r in range(c, n) if M[r][c] != 0)
        M[c], M[piv] = M[piv], M[c]
        M[c] = [x / M[c][c] for x in M[c]]
        for r in range(n):
            if r != c and M[r][c] != 0:
                f = M[r][c]
                M[r] = [x - f * y for x, y in zip(M[r], M[c])]
    return [M[i][n] for i in range(n)]


def oracle_stationary(P, R, gamma, n, m):
    """The optimal values (componentwise maximum over every deterministic stationary
    policy, each evaluated by an exact solve) and the first action attaining each
    optimal Q-value."""
    best = None
    for pol in itertools.product(range(m), repeat=n):
        A = [[(Fraction(s == s2) - gamma * P[s][pol[s]].get(s2, 0)) for s2 in range(n)]
             for s in range(n)]
        b = [sum((p * R[s][pol[s]][s2] for s2, p in P[s][pol[s]].items()), Fraction(0))
             for s in range(n)]
        V = fraction_solve(A, b)
        best = V if best is None else [max(x, y) for x, y in zip(best, V)]
    Q = [[sum((p * (R[s][a][s2] + gamma * best[s2]) for s2, p in P[s][a].items()),
              Fraction(0)) for a in range(m)] for s in range(n)]
    return [max(range(m), key=lambda a: (Q[s][a], -a)) for s in range(n)], best


# ---- random MDPs that trap floats --------------------------------------------------------

def random_tables(seed, n, m, dense=True, ties=False, near=False):
    rng = random.Random(seed)
    P = [[None] * m for _ in range(n)]
    R = [[None] * m for _ in range(n)]
    for s in range(n):
        for a in range(m):
            if a and ties and rng.random() < 0.5:     # an exact copy of the first action
                P[s][a], R[s][a] = dict(P[s][0]), list(R[s][0])
                continue
            if a and near and rng.random() < 0.6:     # the first action, nudged far
                P[s][a] = dict(P[s][0])              # below float resolution
                R[s][a] = list(R[s][0])
                s2 = next(iter(P[s][a]))
                R[s][a][s2] += rng.choice([-1, 1]) * Fraction(1, 10**rng.randint(17, 40))
                continue
            w = [rng.randint(1, 5) if dense or rng.random() < 0.3 else 0 for _ in range(n)]
            if not any(w):
                w[rng.randrange(n)] = 1
            P[s][a] = {s2: Fraction(x, sum(w)) for s2, x in enumerate(w) if x}
            R[s][a] = [Fraction(rng.randint(-6, 6), rng.choice([1, 1, 2, 3, 7]))
                       for _ in range(n)]
    return P, R


def as_mdp(P, R, gamma, n, m):
    return cp.MDP(range(n), range(m), lambda s, a: P[s][a], lambda s, a, s2: R[s][a][s2],
                  start={s: Fraction(1, n) for s in range(n)}, gamma=gamma)


GAMMAS = [Fraction(9, 10), Fraction(1), Fraction(1, 3),
          Fraction(10**30 - 1, 10**30), Fraction(2**61 - 1, 2**61)]
CASES = [(seed, n, m, dense, ties, near)
         for seed, (n, m, dense, ties, near) in enumerate(
             [(1, 2, True, False, False), (3, 2, True, True, False),
              (4, 3, True, False, True), (5, 3, False, True, True),
              (6, 2, False, False, True), (7, 4, True, True, True),
              (8, 3, False, True, False), (2, 3, True, True, True)])]


@pytest.mark.parametrize("seed,n,m,dense,ties,near", CASES)
@pytest.mark.parametrize("gamma", GAMMAS, ids=str)
def test_backward_induction_equals_fraction_oracle(engine, seed, n, m, dense, ties, near,
                                                   gamma):
    P, R = random_tables(seed, n, m, dense, ties, near)
    T = 37   # past the exact reads every 4 steps and the removals of factors every 16
    rules, values = oracle_backward(P, R, gamma, n, m, T)
    sol = cp.solve(as_mdp(P, R, gamma, n, m), T)
    assert [[sol.policy(t, s) for s in range(n)] for t in range(T)] == rules
    assert [sol.values[s] for s in range(n)] == values[0]
    for t in range(T):
        assert [sol.next_values(t)[s] for s in range(n)] == values[t + 1]
    assert sol.value == sum(values[0], Fraction(0)) / n


@pytest.mark.parametrize("seed,n,m,dense,ties,near", [c for c in CASES if c[2] ** c[1] <= 300])
@pytest.mark.parametrize("gamma", [Fraction(9, 10), Fraction(1, 3),
                                   Fraction(10**30 - 1, 10**30)], ids=str)
def test_policy_iteration_equals_fraction_oracle(engine, seed, n, m, dense, ties, near,
                                                 gamma):
    P, R = random_tables(seed, n, m, dense, ties, near)
    rule, V = oracle_stationary(P, R, gamma, n, m)
    sol = cp.solve(as_mdp(P, R, gamma, n, m), sympy.oo)
    assert [sol.policy(s) for s in range(n)] == rule
    assert [sol.values[s] for s in range(n)] == V


def near_tie_chain(eps):
    """Two actions in state 0 whose Q-values differ by ``eps / 2``: action 1 pays
    ``eps`` more on a transition reached with probability 1/2, far below the float
    resolution of the values (about 50); state 1 returns to state 0."""
    half = Fraction(1, 2)
    P = [[{0: half, 1: half}, {0: half, 1: half}], [{0: Fraction(1)}, {0: Fraction(1)}]]
    R = [[[Fraction(1), Fraction(1)], [Fraction(1), 1 + eps]],
         [[Fraction(1), Fraction(0)], [Fraction(1), Fraction(0)]]]
    return P, R


@pytest.mark.parametrize("eps", [Fraction(1, 10**40), Fraction(-1, 10**40), Fraction(0)])
def test_near_tie_below_float_resolution_is_decided_exactly(engine, eps):
    P, R = near_tie_chain(eps)
    gamma = Fraction(99, 100)
    rules, values = oracle_backward(P, R, gamma, 2, 2, 40)
    sol = cp.solve(as_mdp(P, R, gamma, 2, 2), 40)
    expected = 1 if eps > 0 else 0
    assert all(rules[t][0] == expected for t in range(40))
    assert [sol.policy(t, 0) for t in range(40)] == [r[0] for r in rules]
    assert [sol.values[s] for s in range(2)] == values[0]


# ---- the float error bounds themselves ---------------------------------------------------

def test_float_reading_of_exact_values_is_within_its_bound():
    rng = random.Random(7)
    for bits in (1, 30, 60, 61, 200, 3000):
        D = rng.getrandbits(bits) | 1
        ws = [rng.randrange(-50 * D, 50 * D) for _ in range(6)]
        vl, err = solving._IntegerMDP.floats(ws, D)
        for w, v in zip(ws, vl.tolist()):
            assert abs(Fraction(v) - Fraction(w, D)) <= err
    assert solving._IntegerMDP.floats([10**400], 1)[0] is None   # beyond floats


def test_an_inexact_float_value_leaves_the_argmax_to_exact_comparison():
    # gamma = 1: Q(0, a) = v(0) and Q(0, b) = 10**-9 + v(1); with v(0) read 2 * 10**-8
    # too high (and so declared), floats alone would pick a
    P = [[{0: Fraction(1)}, {1: Fraction(1)}], [{1: Fraction(1)}, {1: Fraction(1)}]]
    R = [[[Fraction(0), Fraction(0)], [Fraction(0), Fraction(1, 10**9)]],
         [[Fraction(0), Fraction(0)], [Fraction(0), Fraction(0)]]]
    im = solving._IntegerMDP(as_mdp(P, R, Fraction(1), 2, 2))
    true, skewed = np.array([1.0, 1.0]), np.array([1.0 + 2e-8, 1.0])
    acts, open_, _, _ = im.decide(skewed, 2e-8)
    assert acts[0] == 0 and list(open_[0]) == [0, 1]   # the floats' pick is not trusted
    acts, open_, _, err = im.decide(true, 0.0)
    assert acts[0] == 1 and 0 not in open_ and err > 0
    assert list(open_[1]) == [0, 1]                     # an exact tie: left open


# ---- a solution travels (executors pickle results) ----------------------------------------

def _transition(s, a):
    return {0: Fraction(1, 3), 1: Fraction(2, 3)} if a else {s: Fraction(1)}


def _reward(s, a, s2):
    return Fraction(s2 + a, 2)


@pytest.mark.parametrize("horizon", [7, sympy.oo])
def test_solution_pickles_with_its_exact_values(engine, horizon):
    sol = cp.solve(cp.MDP([0, 1], [0, 1], _transition, _reward, start=0,
                          gamma=Fraction(3, 4)), horizon)
    back = pickle.loads(pickle.dumps(sol))
    assert back.value == sol.value and back.values == sol.values
    assert back.rules == sol.rules

"""cp.plan_thresholds: the exact line search over one parameter, against the paper's
simulator recursion (Figure 3), the parametric solve (Figure 14), and a brute force over
every plan of small random worlds."""

import itertools
import random
from fractions import Fraction as F

import pytest
import sympy

import cpspec as cp
from cpspec.decisions.thresholds import plan_along
from cpspec.examples import car_factory, car_factory_traces

from test_correction import simulator

r_e, p_w = sympy.symbols("r_e p_w")


@pytest.fixture(scope="module")
def figure_3():
    return cp.plan_thresholds(car_factory("6/10", electric_after_press=r_e), 25, r_e, (0, 4))


def test_figure_3_thresholds_against_the_simulator(figure_3):
    found = figure_3
    assert len(found.thresholds) == 6 and found.thresholds[3:] == (
        sympy.Rational(16, 9), sympy.Rational(200, 81), sympy.Rational(86149, 32805))
    eps = F(1, 10 ** 12)
    for i, t in enumerate(found.thresholds):
        t = F(int(t.p), int(t.q))
        below, above = found.pieces[i], found.pieces[i + 1]
        (left,), (right,) = car_factory_traces(below.solution), car_factory_traces(above.solution)
        assert left != right
        # on each side the simulator's optimal world line is the piece's, and only it
        for x, trace in ((t - eps, left), (t + eps, right)):
            value, optimal = simulator(F(6, 10), r_e=x)
            assert optimal == {trace}
        # exactly at the threshold both are optimal, and the tie rule picks one of them
        value, optimal = simulator(F(6, 10), r_e=t)
        assert {left, right} <= optimal
        assert car_factory_traces(found.at[i])[0] in {left, right}
        assert value == below.value.subs(r_e, t) == above.value.subs(r_e, t)


def test_figure_3_thresholds_are_where_the_simulators_value_lines_meet(figure_3):
    # independent of cpspec: the simulator's optimal value at two points inside each
    # piece gives that piece's line; neighbouring lines meet at the threshold
    def line(a, b):
        va, vb = simulator(F(6, 10), r_e=a)[0], simulator(F(6, 10), r_e=b)[0]
        slope = (vb - va) / (b - a)
        return slope, va - slope * a
    lines = []
    for p in figure_3.pieces:
        lo, hi = (F(int(e.p), int(e.q)) for e in (p.interval.start, p.interval.end))
        lines.append(line(lo + (hi - lo) / 3, lo + 2 * (hi - lo) / 3))
    for (s1, c1), (s2, c2), t in zip(lines, lines[1:], figure_3.thresholds):
        assert (c2 - c1) / (s1 - s2) == t


def test_figure_3_the_traces_the_spec_file_states(figure_3):
    import tomllib
    from conftest import REPO
    claims = tomllib.loads((REPO / "specs" / "car_factory_fig3.toml").read_text())["claims"]
    stated = claims["plan_thresholds(pi_f0*, 0, 4)"]
    assert stated == "(" + ", ".join(map(str, figure_3.thresholds)) + ")"
    for key, trace in claims.items():
        if key.startswith("trace(pi_f0*, "):
            x = F(key[len("trace(pi_f0*, "):-1])
            assert trace.strip("'") in simulator(F(6, 10), r_e=x)[1]


@pytest.mark.parametrize("correction, threshold", [(None, "4439/6439"), ("fc", "1/2"),
                                                   ("fcgc", "1/2")])
def test_figure_14_thresholds_agree_with_the_parametric_solve(correction, threshold):
    m = car_factory(None, gamble=p_w, correction=correction, horizon=10)
    found = cp.plan_thresholds(m, 10, p_w, (0, 1))
    assert found.thresholds == (sympy.Rational(threshold),)
    # the parametric solve splits on every state; where the plan along the start's
    # world lines changes is the line search's answer
    changes, last = [], None
    for region, sol in cp.solve(m, 10).pieces:
        plan = plan_along(sol)
        if last is not None and plan != last:
            changes.append(region.inf)
        last = plan
    assert changes == list(found.thresholds)
    assert [car_factory_traces(p.solution) for p in found.pieces] == [
        ["pppppp#eeee"], ["ppG[W]ppp#eeee", "ppG[L]#eeeeeee"]]


def _envelope_breakpoints(lines, lo, hi):
    """Where the upper envelope of lines (slope, intercept) over [lo, hi] bends, by brute
    force: every pairwise crossing at which the set of maximising slopes changes."""
    def top(x):
        best = max(a * x + b for a, b in lines)
        return {a for a, b in lines if a * x + b == best}
    out = []
    for (a1, b1), (a2, b2) in itertools.combinations(lines, 2):
        if a1 != a2:
            x = (b2 - b1) / (a1 - a2)
            if lo < x < hi and x not in out and len(top(x)) > 1:
                out.append(x)
    return sorted(out)


@pytest.mark.parametrize("seed", range(12))
def test_random_worlds_against_every_plan(seed):
    rng = random.Random(seed)
    r = sympy.Symbol("r")
    n, acts, H = 3, ["a", "b", "c"], 3
    nxt = {(s, a): rng.randrange(n) for s in range(n) for a in acts}
    base = {k: F(rng.randint(-3, 3)) for k in nxt}
    weight = {k: F(rng.randint(-2, 2)) for k in nxt}
    m = cp.MDP(list(range(n)), acts, lambda s, a: {nxt[(s, a)]: 1},
               lambda s, a, s2: base[(s, a)] + weight[(s, a)] * r, 0, gamma="1/2")
    lines = set()
    for plan in itertools.product(acts, repeat=H):
        s, slope, icept = 0, F(0), F(0)
        for t, a in enumerate(plan):
            slope += F(1, 2 ** t) * weight[(s, a)]
            icept += F(1, 2 ** t) * base[(s, a)]
            s = nxt[(s, a)]
        lines.add((slope, icept))
    found = cp.plan_thresholds(m, H, r, (-5, 5))
    assert [F(int(t.p), int(t.q)) for t in found.thresholds] == \
        _envelope_breakpoints(lines, -5, 5)
    for p in found.pieces:  # each piece's value is the envelope at its sample point
        x = F(int(p.sample.p), int(p.sample.q))
        assert p.value.subs(r, p.sample) == max(a * x + b for a, b in lines)


def test_values_that_are_not_linear_are_refused():
    p = sympy.Symbol("p")
    coin = cp.MDP(["x", "y"], ["go"], lambda s, a: {"x": p, "y": 1 - p},
                  lambda s, a, s2: 1 if s2 == "y" else 0, "x")
    assert cp.plan_thresholds(coin, 1, p, (0, 1)).thresholds == ()
    with pytest.raises(cp.ParameterError, match="degree 2 in p.*cp.solve"):
        cp.plan_thresholds(coin, 2, p, (0, 1))
    g = sympy.Symbol("gamma")
    disc = cp.MDP(["x"], ["go"], lambda s, a: {"x": 1}, lambda s, a, s2: 1, "x", gamma=g)
    with pytest.raises(cp.ParameterError, match="discount depends on gamma"):
        cp.plan_thresholds(disc, 2, g, (0, 1))
    sq = cp.MDP(["x"], ["go"], lambda s, a: {"x": 1}, lambda s, a, s2: p ** 2, "x")
    with pytest.raises(cp.ParameterError, match="degree 2"):
        cp.plan_thresholds(sq, 1, p, (0, 1))


def test_bad_arguments_are_named():
    r, q = sympy.symbols("r q")
    m = cp.MDP(["x"], ["go"], lambda s, a: {"x": 1}, lambda s, a, s2: r, "x")
    with pytest.raises(cp.ParameterError, match="one free parameter.*r, q|bind the others"):
        cp.plan_thresholds(cp.MDP(["x"], ["go"], lambda s, a: {"x": 1},
                                  lambda s, a, s2: r + q, "x"), 1, r, (0, 1))
    with pytest.raises(cp.ParameterError, match="q must be the model's one free parameter"):
        cp.plan_thresholds(m, 1, q, (0, 1))
    with pytest.raises(cp.SpecError, match="low < high"):
        cp.plan_thresholds(m, 1, r, (1, 0))
    with pytest.raises(cp.SpecError, match=r"interval must be \(low, high\)"):
        cp.plan_thresholds(m, 1, r, 3)
    with pytest.raises(cp.SpecError, match="horizon oo is not a non-negative integer"):
        cp.plan_thresholds(m, sympy.oo, r, (0, 1))
    p = sympy.Symbol("p")
    coin = cp.MDP(["x", "y"], ["go"], lambda s, a: {"x": p, "y": 1 - p},
                  lambda s, a, s2: 0, "x")
    with pytest.raises(cp.ParameterError, match="not valid at p = 2"):
        cp.plan_thresholds(coin, 1, p, (0, 2))


def test_timeout_is_a_budget_error():
    with pytest.raises(cp.BudgetError, match="plan_thresholds did not finish"):
        cp.plan_thresholds(car_factory("6/10", electric_after_press=r_e), 25, r_e, (0, 4),
                           timeout=0.05)

"""cp.where: exact regions of a comparison over several parameters, against direct
evaluation on a grid of rational points."""

import itertools

import pytest
import sympy

import cpspec as cp

p, q, r = sympy.symbols("p q r")
R = sympy.Rational
GRID = [R(i, 6) for i in range(7)]


def test_comparison_regions_agree_with_exact_evaluation_on_a_grid():
    w = cp.world("w", X=cp.bernoulli(p), Y=cp.bernoulli(q),
                 Z=cp.fn(lambda X, Y: X * Y))
    lhs, rhs = cp.P(w.Z == 1), cp.E(w.X) / 2           # p*q against p/2
    regs = cp.where(lhs >= rhs, model=w)
    assert [x.answer for x in regs] == [False, True]
    assert all(x.margin == p * q - p / 2 for x in regs)
    for pv, qv in itertools.product(GRID, GRID):
        want = bool(pv * qv >= pv / 2)
        hit = [x.answer for x in regs if x.condition.subs({p: pv, q: qv}) is sympy.true]
        assert hit == [want], (pv, qv)
    for x in regs:   # each region's sample was evaluated exactly to its answer
        for s in x.samples:
            assert bool((lhs >= rhs).subs(s)) == x.answer


def test_boolean_combinations_and_constant_comparisons():
    regs = cp.where((p > q) & (p < R(1, 2)), domain={p: sympy.Interval(0, 1),
                                                     q: sympy.Interval(0, 1)})
    true, = [x for x in regs if x.answer]
    for pv, qv in itertools.product(GRID, GRID):
        assert (true.condition.subs({p: pv, q: qv}) is sympy.true) == (qv < pv < R(1, 2))
    assert true.margin is None
    (only,) = cp.where(sympy.Integer(1) > 0)
    assert only.answer is True and only.condition is sympy.true


def test_bad_input_names_the_parameter_or_the_shape():
    with pytest.raises(cp.ParameterError, match="the parameter r has no domain"):
        cp.where(r > 1)
    with pytest.raises(cp.QueryError, match="needs a comparison"):
        cp.where(p + 1, domain={p: sympy.Interval(0, 1)})
    with pytest.raises(cp.ParameterError, match="not a rational function"):
        cp.where(sympy.exp(p) > 2, domain={p: sympy.Interval(0, 1)})


def test_a_comparison_of_an_optimal_value_over_regions():
    from tests.decisions.test_parametric_regions import UNIT, hand_off_switch, off_switch_id
    value = cp.solve(off_switch_id(), domain=UNIT).value          # a Piecewise over (p, q)
    regs = cp.where(value >= R(1, 4), domain=UNIT)
    for pv, qv in itertools.product(GRID, GRID):
        want = hand_off_switch(pv, qv)[1] >= R(1, 4)
        hit = [x.answer for x in regs if x.condition.subs({p: pv, q: qv}) is sympy.true]
        assert hit == [want], (pv, qv)


def test_a_piecewise_optimal_value_is_compared_piece_by_piece():
    # a chain of 4 states: risky jumps two ahead with probability p (else back to the
    # start), safe one ahead with probability q; each step pays its state's index
    def transition(s, a):
        if s == 3:
            return {3: 1}
        if a == "risky":
            return {min(s + 2, 3): p, 0: 1 - p}
        return {s + 1: q, s: 1 - q}
    m = cp.MDP([0, 1, 2, 3], ["risky", "safe"], transition, lambda s, a, s2: s, 0)
    unit = {p: sympy.Interval(0, 1), q: sympy.Interval(0, 1)}
    sol = cp.solve(m, 3, domain=unit)
    assert isinstance(sol.value, sympy.Piecewise)
    c = sol.at({p: R(1, 2), q: R(1, 2)}).value
    regs = cp.where(sol.value >= c, domain=unit)
    assert sorted(x.answer for x in regs) == [False, True]
    for pv, qv in itertools.product(GRID, GRID):
        want = cp.solve(m.bind(p=pv, q=qv), 3).value >= c      # an exact solve there
        hit = [x.answer for x in regs if x.condition.subs({p: pv, q: qv}) is sympy.true]
        assert hit == [want], (pv, qv)


def test_where_reports_a_spent_budget_as_a_budget_error():
    w = cp.world("w", X=cp.bernoulli(p), Y=cp.bernoulli(q))
    with pytest.raises(cp.BudgetError, match="where did not finish within timeout"):
        cp.where(cp.E(w.X) ** 3 - cp.E(w.X * w.Y) > p / 7 - q ** 5 / 3, model=w,
                 timeout=1e-6)


def test_where_names_a_point_where_the_comparison_is_undefined():
    unit = {p: sympy.Interval(0, 1), q: sympy.Interval(0, 1)}
    with pytest.raises(cp.ParameterError, match="undefined at .*a denominator vanishes"):
        cp.where(p / (q - R(1, 2)) > 1, domain=unit)


def test_an_enclosure_leaves_undecided_where_the_comparison_is_not_real():
    w = cp.world("w", X=cp.bernoulli(p), Y=cp.bernoulli(q))
    regs = {r.answer: r for r in cp.where(sympy.sqrt(cp.E(w.X) - R(1, 2)) > cp.E(w.Y),
                                          model=w, enclosure=R(1, 16))}
    # sqrt(p - 1/2) is not real for p < 1/2: no box there is said to hold or fail
    for answer in (True, False):
        for box in sympy.Or.make_args(regs[answer].condition):
            low = max(a.rhs for a in box.args if isinstance(a, sympy.GreaterThan) and a.lhs == p)
            assert low >= R(1, 2)
    assert regs[None].condition.subs({p: R(1, 4), q: R(1, 2)}) is sympy.true

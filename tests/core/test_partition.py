"""The exact pieces the partition is built from: conditions read off exact-domain
elements, conditions evaluated at rational points, and simplification within a box,
each checked against an independent SymPy computation."""

import random
from fractions import Fraction

import pytest
import sympy
import z3
from sympy.polys.domains import ZZ

from cpspec.core import partition as part

p, q = sympy.symbols("p q")
R = sympy.Rational
UNIT = sympy.And(p >= 0, p <= 1, q >= 0, q <= 1)


def random_polynomial(rng, degree=3):
    return sum(rng.randint(-4, 4) * p ** i * q ** j
               for i in range(degree + 1) for j in range(degree + 1 - i)
               if rng.random() < 0.5)


@pytest.mark.parametrize("seed", range(40))
def test_element_condition_is_the_relation_of_the_expression(seed):
    rng = random.Random(seed)
    K = ZZ.frac_field(p, q)
    num = random_polynomial(rng) or sympy.Integer(rng.randint(-3, 3))
    den = random_polynomial(rng, 2) or sympy.Integer(1)
    if den == 0:
        den = sympy.Integer(1)
    if rng.random() < 0.3:           # one parameter only, sometimes linear
        num, den = num.subs(q, R(1, 3)), den.subs(q, 2)
        if den == 0:
            den = sympy.Integer(1)
    x = K.from_sympy(R(rng.randint(1, 5), rng.randint(1, 5)) * num / den)
    for strict in (True, False):
        assert part.element_condition(K, x, strict) == \
            part.polynomial_condition(K.to_sympy(x), strict)


def test_element_condition_reads_constants_and_factors():
    K = ZZ.frac_field(p, q)
    assert part.element_condition(K, K.from_sympy(sympy.Integer(0)), True) is sympy.false
    assert part.element_condition(K, K.from_sympy(sympy.Integer(0)), False) is sympy.true
    assert part.element_condition(K, K.from_sympy(2 * p - 1), True) == (p > R(1, 2))
    assert part.element_condition(K, K.from_sympy((p - 1) * q / (2 + q)), False) == \
        (q * (p - 1) * (q + 2) >= 0)


@pytest.mark.parametrize("seed", range(30))
def test_truth_at_agrees_with_substitution(seed):
    rng = random.Random(seed)
    rels = [random_polynomial(rng, 2) > 0, random_polynomial(rng, 2) <= R(1, 3),
            sympy.Eq(p - q, 0), p < q]
    rels = [r for r in rels if r not in (sympy.true, sympy.false)]
    cond = sympy.Or(sympy.And(*rels[:2]), sympy.Not(rels[-1]), q - p < R(-1, 3),
                    sympy.Ne(p, R(1, 2)) & (2 * q >= 1))
    for _ in range(20):
        values = {p: R(rng.randint(0, 6), 6), q: R(rng.randint(0, 6), 3)}
        for c in [cond, *rels, q - 2 * p < R(-1, 3), p * q - R(1, 6) >= 0]:
            assert part.truth_at(c, (p, q), values) is bool(c.subs(values)), (c, values)


def test_truth_at_declines_what_it_cannot_read():
    assert part.truth_at(p > sympy.sqrt(2) * q, (p, q), {p: 1, q: 1}) is None


def test_simplification_keeps_exactly_the_conditions_the_others_do_not_imply():
    conds = [p > R(1, 2), p > R(1, 4), q >= 0, p * q <= 1, q < 1 - p + p]
    out = part.simplify_condition([p, q], UNIT, conds)
    assert out == (p > R(1, 2)) & (q < 1)
    # equivalent to the conjunction within the box, whatever was dropped
    assert part.equivalent([p, q], UNIT, out, sympy.And(*conds))


@pytest.mark.parametrize("seed", range(8))
def test_simplification_is_equivalent_to_the_conjunction(seed):
    rng = random.Random(seed)
    conds = [random_polynomial(rng, 2) >= 0, random_polynomial(rng, 1) > 0,
             random_polynomial(rng, 2) < 1]
    conds = [c for c in conds if c not in (sympy.true, sympy.false)]
    out = part.simplify_condition([p, q], UNIT, conds)
    assert part.equivalent([p, q], UNIT, out, sympy.And(*conds)) is True
    assert len(sympy.And.make_args(out)) <= len(conds)


def random_factor(rng):
    """A factor that is sometimes of one sign on the unit box, sometimes not."""
    return rng.choice([p + rng.randint(1, 4), 9 * q + 1, p - q, q - R(1, 2),
                       81 * p ** 2 - 9 * p + 1, -(p * q + 1), p ** 2 - 2, p * q,
                       random_polynomial(rng, 2) or sympy.Integer(3)])


@pytest.mark.parametrize("seed", range(40))
def test_conditions_read_on_the_box_are_the_same_set_there(seed):
    rng = random.Random(seed)
    lhs = sympy.Mul(*[random_factor(rng) ** rng.choice([1, 1, 2, 3])
                      for _ in range(rng.randint(1, 3))])
    rel = rng.choice([sympy.StrictGreaterThan, sympy.GreaterThan, sympy.StrictLessThan,
                      sympy.LessThan])
    cond = rel(lhs, 0, evaluate=False)
    got = part.on_box(cond, (p, q), UNIT)
    for i in range(9):
        for j in range(9):
            values = {p: R(i, 8), q: R(j, 8)}
            assert bool(got.subs(values)) is bool(cond.subs(values)), (cond, got, values)
    if got not in (sympy.true, sympy.false):     # what is left of it is all undecided
        left = sympy.Mul.make_args(got.lhs - got.rhs)
        assert all(part.sign_on(f.as_base_exp()[0], (p, q), ((0, 1), (0, 1))) is None
                   for f in left if f.free_symbols)


def test_factors_of_one_sign_on_the_box_are_dropped_and_the_relation_flipped():
    unit = (Fraction(0), Fraction(1))
    assert part.sign_on(9 * p + 1, (p, q), (unit, unit)) == 1
    assert part.sign_on(-(81 * p ** 2 - 9 * p + 1), (p, q), (unit, unit)) == -1
    assert part.sign_on(p, (p, q), (unit, unit)) is None       # zero on the edge
    assert part.sign_on(p - q, (p, q), (unit, unit)) is None
    cond = sympy.StrictLessThan((9 * p + 1) * (q - 2) ** 3 * (p - q), 0)
    assert part.on_box(cond, (p, q), UNIT) == (p - q > 0)
    assert part.on_box(sympy.GreaterThan((p + 1) * (2 * q - 1), 0), (p, q), UNIT) == \
        (q >= R(1, 2))
    assert part.on_box((p - 2) * (q + 1) < 0, (p, q), UNIT) is sympy.true
    # outside the box the factor may change sign: nothing is dropped on a wider box
    wide = sympy.And(p >= -1, p <= 1, q >= 0, q <= 1)
    assert part.on_box((p + R(1, 2)) * q > 0, (p, q), wide) == ((p + R(1, 2)) * q > 0)
    # an unbounded box reads nothing
    assert part.on_box((p + 1) * q > 0, (p, q), p >= 0) == ((p + 1) * q > 0)


def test_regions_of_a_discounted_chain_read_without_positive_factors():
    import cpspec as cp
    chain = cp.MDP([0, 1, 2], ["risky", "safe"],
                   lambda s, a: {2: 1} if s == 2 else (
                       {2: p, 0: 1 - p} if a == "risky" else {s + 1: q, s: 1 - q}),
                   lambda s, a, s2: s, 0, gamma="9/10")
    sol = cp.solve(chain, sympy.oo, domain={p: sympy.Interval(0, 1),
                                             q: sympy.Interval(0, 1)})
    for r in sol.pieces:
        for rel in sympy.And.make_args(r.condition):
            for f in sympy.Mul.make_args(rel.lhs - rel.rhs):
                base = f.as_base_exp()[0]
                if base.free_symbols:
                    assert part.sign_on(base, (p, q), ((0, 1), (0, 1))) is None, r
    # and each region is the policy's: its sample point solves to it exactly
    for r in sol.pieces:
        assert sol.at(r.sample).policy(0) == r.answer.policy(0)


@pytest.mark.parametrize("seed", range(12))
def test_every_condition_kept_is_needed(seed):
    """Minimal as well as equivalent: dropping any kept condition changes the region
    (checked by an independent Z3 query per condition)."""
    import z3
    rng = random.Random(seed)
    conds = [random_polynomial(rng, 2) >= 0, random_polynomial(rng, 1) > 0,
             p - R(rng.randint(1, 5), 6) > 0, q - R(rng.randint(1, 5), 6) < 0,
             p + q - R(rng.randint(2, 9), 6) <= 0, random_polynomial(rng, 2) < 1]
    conds = [c for c in conds if c not in (sympy.true, sympy.false)]
    out = part.simplify_condition([p, q], UNIT, conds)
    assert part.equivalent([p, q], UNIT, out, sympy.And(*conds)) is True
    kept = list(sympy.And.make_args(out))
    if out in (sympy.true, sympy.false):
        return
    ctx = z3.Context()
    zv = {p: z3.Real("p", ctx), q: z3.Real("q", ctx)}
    for c in kept:
        s = z3.Solver(ctx=ctx)
        s.add(part.to_z3(UNIT, zv, ctx), *[part.to_z3(k, zv, ctx) for k in kept if k is not c],
              z3.Not(part.to_z3(c, zv, ctx)))
        assert s.check() == z3.sat, (c, out, conds)


def test_simplification_asks_z3_only_within_the_calls_budget(monkeypatch):
    """Each query's time limit is within both SIMPLIFY_SECONDS and what is left of the
    whole call's budget (a timeout is a budget for the whole call)."""
    from cpspec.budget import Deadline
    asked = []
    real = part._quick_solver
    monkeypatch.setattr(part, "_quick_solver",
                        lambda ctx, ms: asked.append(ms) or real(ctx, ms))
    conds = [p > R(1, 2), p > R(1, 4), p * q <= 1, q < 1 - p + p, p + q < 3]
    part.simplify_condition([p, q], UNIT, conds, Deadline(0.3))
    assert asked and all(0 < ms <= 300 for ms in asked), asked
    asked.clear()
    part.simplify_condition([p, q], UNIT, conds)
    assert asked and max(asked) > 300            # no call budget: the own limits apply
    asked.clear()
    monkeypatch.setattr(part, "SIMPLIFY_SECONDS", 0)
    out = part.simplify_condition([p, q], UNIT, conds)
    assert asked == [] and part.equivalent([p, q], UNIT, out, sympy.And(*conds))


def test_each_coverage_query_gets_only_the_time_left():
    """Two Z3 queries in a row (inside the box, then on its edge) share the call's
    budget: the second is limited to what the first left, never the whole budget again."""
    import time as _time
    from cpspec.budget import Deadline

    class Solver:
        def __init__(self):
            self.limits = []

        def set(self, key, value):
            self.limits.append(value)

        def check(self):
            _time.sleep(0.3)
            return "unknown"

    s, deadline = Solver(), Deadline(1.0)
    part._check_within(s, deadline)
    part._check_within(s, deadline)
    assert s.limits[0] <= 1000 and s.limits[1] <= 750, s.limits


def test_sign_checks_read_only_the_parameters_they_are_given(monkeypatch):
    unit = (Fraction(0), Fraction(1))
    assert part.sign_on(p - 2, (), ()) is None        # p is bounded by nothing here
    assert part.sign_on(p - 2 + q, (q,), (unit,)) is None
    assert part.on_box(p - 2 < 0, (), sympy.And(p >= 0, p <= 1)) == (p - 2 < 0)
    # the bisection limit is part of what is kept: lowering it is seen at once
    f = 81 * p ** 2 - 9 * p + 1                       # positive, but needs halving
    assert part.sign_on(f, (p,), (unit,)) == 1
    monkeypatch.setattr(part, "SIGN_BOXES", 1)
    assert part.sign_on(f, (p,), (unit,)) is None
    assert part.on_box(f * (q - 2) < 0, (p, q), UNIT) == (f > 0)


@pytest.mark.parametrize("seed", range(25))
def test_one_parameter_conditions_become_their_intervals_within_the_box(seed):
    """A union of adjacent and overlapping pieces in one parameter reads as the few
    intervals it is, the same set within the box (checked at every breakpoint and
    between them), with the box's own bounds left out."""
    rng = random.Random(seed)
    cuts = sorted({R(rng.randint(0, 12), 12) for _ in range(6)})
    pieces = []
    for a, b in zip(cuts, cuts[1:]):
        if rng.random() < 0.6:
            lo = (q > a) if rng.random() < 0.5 else (q >= a)
            hi = (q < b) if rng.random() < 0.5 else (q <= b)
            pieces.append(lo & hi)
    if rng.random() < 0.3 or not pieces:
        pieces.append(sympy.Eq(q, cuts[0]))
    cond = sympy.Or(*pieces)
    box = sympy.And(q >= 0, q <= 1)
    out = part.one_parameter(box, cond)
    assert out is not None
    points = sorted({*cuts, *[(a + b) / 2 for a, b in zip(cuts, cuts[1:])], R(0), R(1)})
    for v in points:
        assert bool(out.subs(q, v)) == bool(cond.subs(q, v)), (v, out, cond)
    assert not {q <= 1, q >= 0} & set(out.atoms(sympy.core.relational.Relational))
    assert len(out.atoms(sympy.core.relational.Relational)) <= 2 * len(cuts)


def test_one_parameter_leaves_other_conditions_alone():
    box = sympy.And(p >= 0, p <= 1, q >= 0, q <= 1)
    assert part.one_parameter(box, (p > q) | (q > R(1, 2))) is None
    assert part.one_parameter(box, q ** 2 > R(1, 2)) is None
    assert part.one_parameter(box, q > sympy.sqrt(2) / 2) is None


def test_merging_rewrites_one_group_at_most_so_no_point_is_lost():
    """Written as what the others leave, a group is the same set only where the regions
    are disjoint; rewriting one group at most keeps every point of the box in some
    region even where two given regions overlap."""
    half = R(1, 2)
    regs = [part.ParameterRegion(sympy.Eq(q, half) & (p > half), "c", {}),
            part.ParameterRegion((p > half) | (sympy.Eq(p, half) & (q >= R(1, 4))
                                               & (q <= R(3, 4))), "b", {}),
            part.ParameterRegion(p <= half, "a", {})]
    merged = part.merge_regions(regs, within=((p, q), UNIT))
    for pv in (R(0), R(1, 4), half, R(3, 4), R(1)):
        for qv in (R(0), R(1, 4), half, R(3, 4), R(1)):
            assert any(bool(r.condition.subs({p: pv, q: qv})) for r in merged), (pv, qv)


@pytest.mark.parametrize("seed", range(30))
def test_conditions_on_the_grid_at_once_are_their_values_at_each_point(seed):
    # products of factors with powers, rational coefficients, equations and their
    # negations, read for all grid points at once: each is the condition substituted
    rng = random.Random(seed)
    f, g = sympy.sympify(random_polynomial(rng, 2)), sympy.sympify(random_polynomial(rng, 3))
    f = f if f.free_symbols else p - R(1, 3)
    g = g if g.free_symbols else q - R(2, 5)
    conds = [sympy.Mul(f, g ** 2, R(-2, 3), evaluate=False) > 0,
             sympy.Mul(f ** 3, g, evaluate=False) <= 0,
             sympy.Eq(p - 3 * q, 0), sympy.Ne(2 * p * q - R(1, 2), 0),
             g - R(1, 7) >= p ** 2,
             sympy.Or(f < 0, sympy.Not(sympy.And(g > 0, p < R(4, 9)))), sympy.true]
    grid = part._grid((p, q), UNIT, part.GRID_POINTS)
    for c in conds:
        true, false = part._truths(c, (p, q), UNIT)
        want = [bool(c.subs(v)) for v in grid]
        assert true.tolist() == want and false.tolist() == [not w for w in want], c
    # a factor that is not a polynomial is read point by point (None at the grid level)
    odd = sympy.Mul(1 / (1 + p), q - R(1, 2), evaluate=False) > 0
    assert part._grid_truth(odd, (p, q), UNIT) is None


def test_an_algebraic_z3_point_is_the_exact_root():
    # Z3 gives irrational model values as roots of a polynomial with rational (Z3)
    # coefficients: the value is that root, exactly
    x = z3.Real("x")
    s = z3.Solver()
    s.add(x * x == 2, x > 0)
    assert s.check() == z3.sat
    assert part._to_sympy_value(s.model()[x]) == sympy.sqrt(2)
    s = z3.Solver()
    s.add(x ** 3 - 3 * x + 1 == 0, x < 0)
    assert s.check() == z3.sat
    v = part._to_sympy_value(s.model()[x])
    assert v.is_real and abs(float(v) + 1.8794) < 1e-4 and sympy.simplify(v**3 - 3 * v + 1) == 0

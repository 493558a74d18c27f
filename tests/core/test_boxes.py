"""Exact subdivision certificates (cpspec.core.boxes), checked against independent
computations: the Bernstein form rebuilt symbolically, exact values at points, and Z3's
decision on the whole box."""

import random
from fractions import Fraction

import pytest
import sympy
import z3

from cpspec.core import boxes
from cpspec.core import partition as part

p, q = sympy.symbols("p q")
F = Fraction
R = sympy.Rational
UNIT = ((F(0), F(1)), (F(0), F(1)))


def random_polynomial(rng, degree=3):
    out = sum(rng.randint(-4, 4) * p ** i * q ** j
              for i in range(degree + 1) for j in range(degree + 1 - i)
              if rng.random() < 0.6)
    return out if out != 0 and out.free_symbols else p - q + R(rng.randint(-3, 3), 4)


def random_box(rng):
    out = []
    for _ in range(2):
        lo = F(rng.randint(-6, 5), rng.randint(1, 4))
        out.append((lo, lo + F(rng.randint(1, 6), rng.randint(1, 4))))
    return tuple(out)


def rebuilt(b, box):
    """The polynomial whose Bernstein coefficients on ``box`` are ``b``, in p and q."""
    (p0, p1), (q0, q1) = box
    t, s = (p - R(p0)) / R(p1 - p0), (q - R(q0)) / R(q1 - q0)
    n, m = b.shape[0] - 1, b.shape[1] - 1
    return sympy.expand(sum(
        int(b[i, j]) * sympy.binomial(n, i) * t ** i * (1 - t) ** (n - i)
        * sympy.binomial(m, j) * s ** j * (1 - s) ** (m - j)
        for i in range(n + 1) for j in range(m + 1)))


@pytest.mark.parametrize("seed", range(25))
def test_bernstein_coefficients_are_the_polynomial_times_a_positive_constant(seed):
    rng = random.Random(seed)
    f, box = random_polynomial(rng), random_box(rng)
    poly = sympy.Poly(f, p, q)
    b = boxes.bernstein(poly, box)
    ratio = sympy.cancel(rebuilt(b, box) / f)
    assert ratio.is_Rational and ratio > 0, ratio


@pytest.mark.parametrize("seed", range(15))
def test_halving_gives_the_coefficients_on_the_halves(seed):
    rng = random.Random(seed)
    f, box = random_polynomial(rng), random_box(rng)
    poly = sympy.Poly(f, p, q)
    (p0, p1), (q0, q1) = box
    pm, qm = (p0 + p1) / 2, (q0 + q1) / 2
    halves = boxes._split(boxes.bernstein(poly, box))
    subs = [((p0, pm), (q0, qm)), ((p0, pm), (qm, q1)), ((pm, p1), (q0, qm)),
            ((pm, p1), (qm, q1))]
    for h, sub in zip(halves, subs):
        ratio = sympy.cancel(rebuilt(h, sub) / f)
        assert ratio.is_Rational and ratio > 0, (sub, ratio)


@pytest.mark.parametrize("seed", range(20))
def test_the_enclosure_holds_at_points_of_the_box(seed):
    rng = random.Random(seed)
    f, box = random_polynomial(rng, 4), random_box(rng)
    signs = boxes._sign_set(boxes.bernstein(sympy.Poly(f, p, q), box))
    (p0, p1), (q0, q1) = box
    for i in range(7):
        for j in range(7):
            v = f.subs({p: R(p0 + (p1 - p0) * F(i, 6)), q: R(q0 + (q1 - q0) * F(j, 6))})
            assert int(sympy.sign(v)) in signs


def z3_uncovered(conds, box, excluded=()):
    """Z3's own answer: a point of the box (outside the ``excluded`` boxes) that
    satisfies none of the conditions, or None."""
    ctx = z3.Context()
    zv = {x: z3.Real(str(x), ctx) for x in (p, q)}
    s = z3.Solver(ctx=ctx)
    for (lo, hi), x in zip(box, (p, q)):
        s.add(zv[x] >= z3.RealVal(str(lo), ctx), zv[x] <= z3.RealVal(str(hi), ctx))
    for sub in excluded:
        s.add(z3.Not(z3.And(*[z3.And(zv[x] >= z3.RealVal(str(lo), ctx),
                                     zv[x] <= z3.RealVal(str(hi), ctx))
                              for (lo, hi), x in zip(sub, (p, q))])))
    s.add(*[z3.Not(part.to_z3(c, zv, ctx)) for c in conds])
    res = s.check()
    assert res != z3.unknown
    return s.model() if res == z3.sat else None


def same_on(a, b, box) -> bool:
    """Whether a and b hold at the same points of the box, on Z3's word."""
    return (z3_uncovered([sympy.Or(sympy.Not(a), b)], box) is None
            and z3_uncovered([sympy.Or(a, sympy.Not(b))], box) is None)


def cells(polys, rng):
    """The sign cells of the curves, each a conjunction (strict and non-strict sides
    chosen at random, so that every point is in exactly one cell)."""
    out = [sympy.true]
    for f in polys:
        strict = rng.random() < 0.5
        above, below = (f > 0, f <= 0) if strict else (f >= 0, f < 0)
        out = [c & side for c in out for side in (above, below)]
    return out


@pytest.mark.parametrize("seed", range(30))
def test_the_cells_of_crossing_curves_cover_the_box(seed):
    rng = random.Random(seed)
    polys = [random_polynomial(rng, rng.choice((1, 2, 3))) for _ in range(rng.choice((1, 2, 3)))]
    assert_covered_or_open(cells(polys, rng))


def assert_covered_or_open(conds):
    """``cover`` finds no gap; on Z3's independent word what it does not leave open is
    covered, the conditions not false on an open box cover it (the others are false
    there), and each reads there as its residual. Returns the open boxes."""
    found = boxes.cover((p, q), UNIT, conds)
    assert found is not None and found.point is None
    assert z3_uncovered(conds, UNIT, [sub for sub, _, _ in found.open]) is None
    for sub, left, residuals in found.open:
        assert z3_uncovered([conds[i] for i in left], sub) is None
        for i, r in zip(left, residuals):
            assert same_on(conds[i], r, sub)
    return found.open


def argmax_regions(rng, k=3):
    """Where each of k random polynomials is the greatest (ties to the first): regions
    that meet at points where three boundaries cross, as a policy's do."""
    fs = [random_polynomial(rng, 2) for _ in range(k)]
    out = [sympy.And(*[(fs[i] - fs[j] >= 0) if i < j else (fs[i] - fs[j] > 0)
                       for j in range(k) if j != i]) for i in range(k)]
    return [out[0] | (q > 3), *out[1:]]      # (q > 3: a relation false on the box)


def test_the_regions_of_an_argmax_cover_the_box_with_their_meeting_points_left_open():
    opened = 0
    for seed in range(12):
        opened += bool(assert_covered_or_open(argmax_regions(random.Random(seed))))
    assert opened >= 3          # the open boxes and their residuals are exercised


@pytest.mark.parametrize("seed", range(40))
def test_a_missing_cell_is_found_or_left_open_never_proved(seed):
    rng = random.Random(seed)
    polys = [random_polynomial(rng, rng.choice((1, 2, 3))) for _ in range(rng.choice((1, 2)))]
    conds = cells(polys, rng)
    dropped = conds.pop(rng.randrange(len(conds)))
    found = boxes.cover((p, q), UNIT, conds)
    gap = z3_uncovered(conds, UNIT)
    assert found is not None
    if gap is None:                              # the dropped cell was empty in the box
        assert found.point is None
        return
    assert not found.proved
    if found.point is not None:
        point = found.point
        assert all(0 <= point[x] <= 1 for x in (p, q))
        assert not any(part.truth_at(c, (p, q), point) for c in conds)
        assert part.truth_at(dropped, (p, q), point)
    else:          # the gap lies in the open boxes only
        assert z3_uncovered(conds, UNIT, [sub for sub, _, _ in found.open]) is None


def test_a_gap_with_an_interior_is_found_at_a_rational_point():
    conds = [q - p ** 3 > 0, q - p ** 3 < -R(1, 2)]
    found = boxes.cover((p, q), UNIT, conds)
    assert found.point == {p: R(3, 4), q: R(1, 4)}
    assert boxes.cover((p, q), UNIT, [q - p ** 3 >= 0, q - p ** 3 < 0]).proved


def test_a_boundary_on_a_halving_line_and_on_the_box_edge_is_covered():
    """Curves through the box's edges and through the dyadic points where it is halved
    (coefficients that are zero) are still decided: the signs there are {0, +}."""
    conds = [p <= R(1, 2), (p > R(1, 2)) & (q * (1 - p) >= 0)]
    assert boxes.cover((p, q), UNIT, conds).proved
    conds = [p * q > 0, sympy.Eq(p * q, 0)]
    assert boxes.cover((p, q), UNIT, conds).proved


def test_a_gap_that_is_only_a_curve_is_left_open_not_proved():
    """A missing boundary (measure zero: no centre of a box lies on it) cannot be found
    by subdivision; it must be left open for Z3, which finds it."""
    f = q - p ** 2 - R(1, 5)
    found = boxes.cover((p, q), UNIT, [f > 0, f < 0])
    assert found is not None and not found.proved and found.point is None
    assert found.open and all(len(left) == 2 for _, left, _ in found.open)
    models = [z3_uncovered([f > 0, f < 0], sub) for sub, _, _ in found.open]
    assert any(m is not None for m in models)


def test_conditions_it_cannot_read_give_none():
    a = sympy.Symbol("a")
    assert boxes.cover((p, q), UNIT, [sympy.sqrt(p) > q, q >= sympy.sqrt(p)]) is None
    assert boxes.cover((p, q), UNIT, [a * p > q]) is None
    assert boxes.cover((p,), UNIT[:1], [p > 0, p <= 0], boxes=0) is None


def test_a_rational_function_is_read_by_the_sign_of_numerator_times_denominator():
    conds = [p / (q + 1) - R(1, 3) > 0, (3 * p - q - 1) / (q + 1) <= 0]
    assert boxes.cover((p, q), UNIT, conds).proved
    found = boxes.cover((p, q), UNIT, [p / (q - 2) > 0])
    assert found.point is not None           # p / (q - 2) <= 0 on the whole box


def test_one_parameter_and_large_coefficients_stay_exact():
    """Halving a line's coefficients keeps Python integers (never int64, which would
    wrap): a boundary just off a dyadic point, 2**-70 away, is still told apart."""
    eps = R(1, 2 ** 70)
    found = boxes.cover((p,), UNIT[:1], [p - R(1, 3) > 0, p - R(1, 3) <= 0])
    assert found.proved
    found = boxes.cover((p,), UNIT[:1], [p - R(1, 2) - 2 * eps > 0, p - R(1, 2) - eps < 0],
                        boxes=10 ** 5)
    # the gap [1/2 + eps, 1/2 + 2 eps] is too thin for a box's centre: left open
    assert found is not None and not found.proved and found.point is None
    assert [sub for sub, _, _ in found.open if sub[0][0] <= F(1, 2) + eps <= sub[0][1]]
    halves = boxes._split(boxes.bernstein(sympy.Poly(2 * p - 1, p), UNIT[:1]))
    assert all(h.dtype == object for h in halves)      # never int64, which would wrap


@pytest.mark.parametrize("seed", range(20))
def test_a_proved_sign_holds_at_points_and_a_clear_margin_is_proved(seed):
    rng = random.Random(seed)
    f, box = random_polynomial(rng, 3), random_box(rng)
    (p0, p1), (q0, q1) = box
    values = [f.subs({p: R(p0 + (p1 - p0) * F(i, 8)), q: R(q0 + (q1 - q0) * F(j, 8))})
              for i in range(9) for j in range(9)]
    s = boxes.sign(sympy.Poly(f, p, q), box, 64)
    if s is not None:
        assert all(int(sympy.sign(v)) == s for v in values)
    # shifted clear of its range on the box, it has one sign, and it is proved
    lo = min(values) - 1 - sum(abs(c) for c in sympy.Poly(f, p, q).coeffs()) * 40 ** 3
    assert boxes.sign(sympy.Poly(f - lo, p, q), box, 64) == 1
    assert boxes.sign(sympy.Poly(lo - f, p, q), box, 64) == -1


def test_a_budgets_alarm_inside_the_subdivision_is_the_expiry_never_a_systemerror():
    """The change of basis runs on Python integers in NumPy's loops (no Python code for
    the alarm to interrupt there): an expiring budget reaches the caller as Expired."""
    from cpspec.budget import Deadline, Expired, time_limit
    f = sum(R(i + j + 1, 7 + k) * p ** i * q ** j
            for k, (i, j) in enumerate((i, j) for i in range(14) for j in range(14)))
    conds = [f > 0, f <= 0]
    outcomes = set()
    for k in range(100):       # deadlines spread over the computation (before the fix:
        boxes._bernstein.cache_clear()   # about 15 of 100 ended in a SystemError)
        boxes._change.cache_clear()
        try:
            with time_limit(Deadline(0.001 + 0.001 * (k % 40))):
                boxes.cover((p, q), UNIT, conds)
            outcomes.add("done")
        except Expired:
            outcomes.add("expired")
    assert "expired" in outcomes


def test_one_boundary_written_two_ways_is_one_factor():
    """p/2 - 1/3 and 3p - 2 are the same line: the cells on its two sides cover the
    box with nothing left open."""
    found = boxes.cover((p, q), UNIT, [p / 2 - R(1, 3) > 0, 3 * p - 2 <= 0])
    assert found.proved and not found.open


def test_a_tuple_is_the_conjunction_of_its_conditions():
    # the same cover, points and open boxes as with sympy.And; residuals read the same
    for seed in range(8):
        regions = argmax_regions(random.Random(seed))
        as_tuples = [tuple(r.args) if isinstance(r, sympy.And) else r for r in regions]
        a, b = boxes.cover((p, q), UNIT, regions), boxes.cover((p, q), UNIT, as_tuples)
        assert (a.proved, a.point) == (b.proved, b.point)
        assert [(s, i) for s, i, _ in a.open] == [(s, i) for s, i, _ in b.open]
        for (sub, _, ra), (_, _, rb) in zip(a.open, b.open):
            assert all(same_on(x, y, sub) for x, y in zip(ra, rb))
    gap = (p - q > 0, q - p > R(1, 4))
    assert boxes.cover((p, q), UNIT, [gap, p < R(1, 2)]).point is not None
    assert boxes.degree((p, q), [(p**3 - q > 0, q > 0)]) == 3


def test_an_even_power_is_read_by_its_sign_not_its_bases():
    # (p - 1/3)**2 is never negative: a square that only touches zero covers the box
    square = (p - R(1, 3)) ** 2 * (q + 1)
    assert boxes.cover((p, q), UNIT, [square >= 0]).proved
    # and is positive off its zero, with the zero found as the one gap
    found = boxes.cover((p, q), UNIT, [square > 0, p < R(1, 4)])
    assert found.point is None and not found.proved       # the segment p = 1/3: open
    assert found.open and all(lo <= R(1, 3) <= hi for ((lo, hi), _), _, _ in found.open)

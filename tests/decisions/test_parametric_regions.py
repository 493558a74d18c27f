"""Exact regions over several parameters: cp.solve on MDPs and influence diagrams, checked
against hand derivations and against exact solves on a grid of rational points."""

import itertools
from fractions import Fraction

import pytest
import sympy
import z3

import cpspec as cp
from conftest import cliff_mdp, progress_chain
from cpspec.core import partition as part
from cpspec.examples import delayed_reward

p, q, g, r = sympy.symbols("p q gamma r")
R = sympy.Rational


def off_switch_id():
    """Hadfield-Menell et al.'s off-switch game with a noisy human: the action is good
    (+1) with probability p, bad (-1) otherwise; asked, the human decides correctly with
    probability q."""
    return cp.world(
        "offswitch", U=cp.dist({1: p, -1: 1 - p}), A=cp.decision(["act", "off", "wait"]),
        H=cp.dist(lambda U, A: {"allow": 1} if A != "wait" else
                  ({"allow": q, "stop": 1 - q} if U == 1 else {"allow": 1 - q, "stop": q})),
        V=cp.utility(lambda U, A, H: 0 if A == "off" or H == "stop" else U))


UNIT = {p: sympy.Interval(0, 1), q: sympy.Interval(0, 1)}
GRID = [R(i, 6) for i in range(7)]


def hand_off_switch(pv, qv):
    """act: 2p - 1, off: 0, wait: p + q - 1; ties to the first (act, off, wait)."""
    eu = {"act": 2 * pv - 1, "off": 0, "wait": pv + qv - 1}
    best = max(eu.values())
    return next(a for a in ("act", "off", "wait") if eu[a] == best), best


def test_off_switch_regions_are_the_hand_derivation():
    sol = cp.solve(off_switch_id(), domain=UNIT)
    regs = {r.answer: r.condition for r in sol.regions(lambda s: s.policy("A"))}
    assert set(regs) == {"act", "off", "wait"}
    for pv, qv in itertools.product(GRID, GRID):
        want, value = hand_off_switch(pv, qv)
        holding = [a for a, c in regs.items() if c.subs({p: pv, q: qv}) is sympy.true]
        assert holding == [want], (pv, qv)
        assert sol.at({p: pv, q: qv}).value == value
        assert sol.value.subs({p: pv, q: qv}) == value
        assert sol.region_of({"p": pv, "q": qv}).answer.rules["A"][()] == want


def test_regions_partition_the_box_and_carry_their_samples():
    sol = cp.solve(off_switch_id(), domain=UNIT)
    for reg in sol.pieces:   # each region's sample solves exactly to its answer
        assert reg.condition.subs(reg.sample) is sympy.true
        assert cp.solve(off_switch_id().bind(**{str(k): v for k, v in reg.sample.items()})
                        ).rules == reg.answer.rules
    # disjoint: no grid point lies in two regions
    for pv, qv in itertools.product(GRID, GRID):
        assert sum(reg.condition.subs({p: pv, q: qv}) is sympy.true
                   for reg in sol.pieces) == 1


def test_mdp_over_gamma_and_late_reward_matches_exact_solves():
    m = delayed_reward(gamma=g, late=r)
    sol = cp.solve(m, 3, domain={r: sympy.Interval(0, 4)})
    regs = sol.regions(lambda s: s.policy(0, "start"))
    assert {x.answer for x in regs} == {"take", "wait"}
    for gv, rv in itertools.product(GRID, [R(k, 2) for k in range(9)]):
        exact = cp.solve(m.bind(gamma=gv, r=rv), 3).policy(0, "start")
        inside = [x.answer for x in regs if x.condition.subs({g: gv, r: rv}) is sympy.true]
        assert inside == [exact], (gv, rv)
        # hand: wait iff gamma * r > 1 (take wins ties)
        assert exact == ("wait" if gv * rv > 1 else "take")


def test_infinite_horizon_over_two_parameters():
    m = delayed_reward(gamma=g, late=r)
    sol = cp.solve(m, sympy.oo, domain={r: sympy.Interval(0, 4)})
    for gv, rv in [(R(1, 2), R(3)), (R(1, 4), R(3)), (R(1, 3), R(3)), (R(9, 10), R(1))]:
        assert sol.at({g: gv, r: rv}).policy("start") == (
            "wait" if gv * rv > 1 else "take")
        assert sol.policy("start") != "take"


def test_a_boundary_point_on_a_curve_is_decided_exactly():
    # wait beats take iff gamma**2 * r > 1: the boundary r = 1/gamma**2 is a curve, and
    # at gamma = 1/2 the tie at r = 4 goes to take (declared first)
    m = delayed_reward(gamma=g, delay=2, late=r)
    sol = cp.solve(m, 4, domain={r: sympy.Interval(0, 5)})
    assert sol.at({g: R(1, 2), r: 4}).policy(0, "start") == "take"
    assert sol.region_of({g: R(1, 2), r: 4}).answer.policy(0, "start") == "take"
    assert sol.region_of({g: R(1, 2), r: R(401, 100)}).answer.policy(0, "start") == "wait"


def test_a_parameter_without_a_domain_is_named():
    m = delayed_reward(gamma=g, late=r)
    with pytest.raises(cp.ParameterError, match=r"parameter r has no domain.*Interval"):
        cp.solve(m, 2)


def test_a_jointly_bounded_probability_needs_a_domain_too():
    with pytest.raises(cp.ParameterError, match=r"q has no domain: it appears only in "
                                                r"probabilities together"):
        cp.solve(joint_mdp(), 2, domain={p: sympy.Interval(0, 1)})


def joint_mdp():
    return cp.MDP(["a", "b"], ["x", "y"],
                  lambda s, a: {"b": p * q, "a": 1 - p * q} if a == "x" else {"a": 1},
                  lambda s, a, s2: 1 if s2 == "b" else (R(2, 3) if a == "y" else R(1, 3)),
                  "a", gamma=0)


def test_a_joint_probability_bounds_the_box():
    # p * q <= 1 is part of the box when p and q range over [0, 2]
    sol = cp.solve(joint_mdp(), 1, domain={p: sympy.Interval(0, 2), q: sympy.Interval(0, 2)})
    assert sol.box.subs({p: 2, q: 1}) is sympy.false
    with pytest.raises(cp.ParameterError, match="outside the solved domain"):
        sol.at({p: 2, q: 1})
    # Q(x) = 1/3 + 2 p q / 3, Q(y) = 2/3: x iff p q >= 1/2 (x is declared first)
    assert sol.at({p: 1, q: R(1, 2)}).policy(0, "a") == "x"
    assert sol.region_of({p: 1, q: R(1, 2)}).answer.policy(0, "a") == "x"
    assert sol.region_of({p: R(1, 3), q: 1}).answer.policy(0, "a") == "y"
    assert sol.region_of({p: 2, q: R(1, 2)}).answer.policy(0, "a") == "x"


def test_non_polynomial_boundaries_are_refused():
    m = cp.MDP(["a", "b"], ["x", "y"],
               lambda s, a: {"b": sympy.sqrt(p), "a": 1 - sympy.sqrt(p)} if a == "x"
               else {"a": 1}, lambda s, a, s2: q if s2 == "b" else 0, "a", gamma=0)
    with pytest.raises(cp.ParameterError, match="not a rational function.*not be polynomial"):
        cp.solve(m, 2, domain={q: sympy.Interval(0, 1)})


def test_too_many_parameters_are_refused_with_the_count():
    xs = sympy.symbols("a1:7")
    m = cp.MDP(["s"], ["x", "y"], lambda s, a: {"s": 1},
               lambda s, a, s2: xs[0] * xs[1] * xs[2] if a == "x" else xs[3] + xs[4] + xs[5],
               "s", gamma=0)
    with pytest.raises(cp.ModelTooLargeError, match="6 parameters.*MAX_REGION_PARAMETERS"):
        cp.solve(m, 1, domain={x: sympy.Interval(0, 1) for x in xs})


def test_one_parameter_pieces_merge_and_have_regions():
    w = cp.world("w", X=cp.bernoulli(p), D=cp.decision(["a", "b"]),
                 U=cp.utility(lambda X, D: 1 if D == "b" else 1))
    sol = cp.solve(w, domain={p: sympy.Interval(0, 1)})
    assert len(sol.pieces) == 1            # (0, 1/2), {1/2}, ... all say "a": one piece
    (reg,) = sol.regions(lambda s: s.policy("D"))
    assert reg.answer == "a" and reg.condition == sympy.Interval(0, 1).as_relational(p)
    assert sol.at({p: R(1, 3)}).policy("D") == "a"


def test_at_names_missing_and_unknown_parameters():
    sol = cp.solve(off_switch_id(), domain=UNIT)
    with pytest.raises(cp.ParameterError, match="give values for q"):
        sol.at({p: R(1, 2)})
    with pytest.raises(cp.ParameterError, match="z is not a parameter"):
        sol.at({p: 1, q: 1, "z": 1})
    with pytest.raises(cp.ParameterError, match="outside the solved domain"):
        sol.at({p: 2, q: 1})


def test_regions_above_the_limit_are_refused(monkeypatch):
    monkeypatch.setattr(part, "MAX_REGIONS", 2)
    with pytest.raises(cp.ModelTooLargeError, match="more than MAX_REGIONS = 2 regions"):
        cp.solve(off_switch_id(), domain=UNIT)


def test_equal_answers_are_merged_into_one_region():
    sol = cp.solve(off_switch_id(), domain=UNIT)
    assert len(sol.pieces) == 3
    (one,) = sol.regions(lambda s: "same")
    assert len(one.samples) == 3 and isinstance(one.condition, sympy.Or)
    acting = sol.regions(lambda s: s.policy("A") == "act")
    assert sorted(r.answer for r in acting) == [False, True]


def test_a_region_that_misses_its_own_point_is_a_bug_reported():
    box = sympy.And(p >= 0, p <= 1)
    with pytest.raises(cp.ParameterError, match="does not contain that point"):
        part.partition([p], box, lambda pt: ("x", p > 2))



def test_merged_regions_are_shown_as_the_one_relation_they_amount_to():
    # the later decisions split the box along r*s - r + 5*s - 1 = 0 too; joined back,
    # the start decision's regions are exactly the two sides of one curve
    s_ = sympy.Symbol("s")
    sol = cp.solve(cliff_mdp(s_, r), 3, domain={s_: sympy.Interval(0, 1), r: sympy.Interval(0, 10)})
    regs = sol.regions(lambda x: x.policy(0, "start"))
    boundary = 10 * r * s_ - r + 50 * s_ - 10
    assert [(x.answer, x.condition) for x in regs] == [("safe", boundary >= 0),
                                                       ("risky", boundary < 0)]
    why = cp.explain_action(sol, "start")
    # the same expression in every region is one plain expression, not a Piecewise
    assert why.utilities["safe"] == R(9, 10) * r - 1
    assert sympy.expand(why.utilities["risky"] - ((1 - s_) * r - 5 * s_)) == 0
    assert [(x.answer, x.condition) for x in why.regions] == [("safe", boundary >= 0),
                                                             ("risky", boundary < 0)]


def test_a_domain_for_a_parameter_the_model_lacks_is_named():
    m = cp.MDP(["a", "b"], ["x", "y"], lambda s, a: {"b": q, "a": 1 - q},
               lambda s, a, s2: 1 if s2 == "b" else 0, "a")
    with pytest.raises(cp.ParameterError, match="domain gives p, which the model does not "
                                                "have \\(its parameters: q\\)"):
        cp.solve(m, 2, domain={p: sympy.Interval(0, 1), q: sympy.Interval(0, 1)})
    assert cp.solve(m, 2, domain={q: sympy.Interval(0, 1)}).value == 2 * q


def test_a_point_where_a_probability_leaves_0_1_is_named_as_such():
    """The MDP at a point is read off the exact domain; a point where a probability is
    not one still gets bind's error, which names the probability and its range."""
    from cpspec.core.partition import Point
    from cpspec.decisions.solving import ExactModel, optimal_at
    x = sympy.Symbol("x")
    m = cp.MDP([0, 1], ["a", "b"], lambda s, a: {0: x, 1: 1 - x},
               lambda s, a, s2: s2 if a == "a" else 0, 0)
    for bad in (sympy.Rational(-1, 2), sympy.Rational(3, 2)):
        with pytest.raises(cp.ParameterError, match=r"only for 0 <= x <= 1"):
            optimal_at(m, 2, Point([x], {x: bad}))
    good = ExactModel.of(m).bound({x: sympy.Rational(1, 3)})
    assert good.P[(0, "a")] == m.bind(x="1/3").P[(0, "a")] == {0: Fraction(1, 3),
                                                               1: Fraction(2, 3)}


def chain(n: int) -> cp.MDP:
    """The regions benchmark's chain of n states, discounted by 9/10."""
    return progress_chain(n)


def test_coverage_is_proved_by_subdivision_and_agrees_with_the_whole_box_query(monkeypatch):
    """The discounted chain's boundaries have degree 5: the box is proved covered by
    exact subdivision, without the one Z3 query about the whole box, and the regions are
    the ones that query gives."""
    from cpspec.core import boxes
    asked = []
    real = part._check_within
    monkeypatch.setattr(part, "_check_within",
                        lambda s, d, *rest: asked.append(1) or real(s, d, *rest))
    sol = cp.solve(chain(6), sympy.oo, domain=UNIT)
    assert asked == []
    monkeypatch.setattr(boxes, "cover", lambda *args, **kw: None)
    whole = cp.solve(chain(6), sympy.oo, domain=UNIT)
    assert asked                                    # the whole-box query, this time
    box = part.box_condition([p, q], UNIT)
    assert len(sol.pieces) == len(whole.pieces) == 6
    for a in sol.pieces:
        b, = [b for b in whole.pieces if b.answer.rules == a.answer.rules]
        assert part.equivalent([p, q], box, a.condition, b.condition) is True
    for pv, qv in itertools.product(GRID, GRID):   # and exact solves agree at the grid
        exact = cp.solve(chain(6).bind(p=pv, q=qv), sympy.oo)
        assert sol.region_of({p: pv, q: qv}).answer.rules == exact.rules


def undiscounted_chain():
    """The 5-state chain without discount (over three steps: boundaries of degree at
    most 3, ten regions)."""
    m = chain(5)
    return cp.MDP(m.states, m.actions, lambda s, a: m.P[(s, a)],
                  lambda s, a, s2: m.R[(s, a, s2)], 0, gamma=1)


def assert_same_regions(sol, whole, count):
    box = part.box_condition([p, q], UNIT)
    assert len(sol.pieces) == len(whole.pieces) == count
    for a in sol.pieces:
        b, = [b for b in whole.pieces if b.answer.rules == a.answer.rules]
        assert part.equivalent([p, q], box, a.condition, b.condition) is True


def test_coverage_by_many_regions_is_proved_by_subdivision_first(monkeypatch):
    """Above Z3_REGIONS regions the box's coverage is proved by subdivision even where
    every boundary has low degree, without the whole-box query, and the regions are the
    ones that query gives."""
    whole = cp.solve(undiscounted_chain(), 3, domain=UNIT)
    asked = []
    real = part._check_within
    monkeypatch.setattr(part, "_check_within",
                        lambda s, d, *rest: asked.append(1) or real(s, d, *rest))
    monkeypatch.setattr(part, "Z3_REGIONS", 0)
    sol = cp.solve(undiscounted_chain(), 3, domain=UNIT)
    assert asked == []
    assert_same_regions(sol, whole, 10)


def test_a_slow_whole_box_query_gives_way_to_subdivision(monkeypatch):
    """A whole-box query that does not answer within Z3_SECONDS is followed by
    subdivision, and no such query is asked again: the same regions."""
    whole = cp.solve(undiscounted_chain(), 3, domain=UNIT)
    limited, subdivided = [], []
    real_cover = part._cover_by_boxes
    monkeypatch.setattr(part, "_cover_by_boxes",
                        lambda *a: subdivided.append(1) or real_cover(*a))
    real = part._whole_box

    def slow(solver, box, zv, ctx, deadline, seconds=None):
        if seconds is not None:         # as if Z3 had not answered within the limit
            limited.append(seconds)
            return z3.unknown, None
        return real(solver, box, zv, ctx, deadline)
    monkeypatch.setattr(part, "_whole_box", slow)
    sol = cp.solve(undiscounted_chain(), 3, domain=UNIT)
    assert limited == [part.Z3_SECONDS] and subdivided
    assert_same_regions(sol, whole, 10)


def test_a_point_z3_finds_at_an_irrational_corner_is_used_exactly():
    """Three parameters where Z3's uncovered point has irrational coordinates (roots of
    its defining polynomials): read exactly, and the regions agree with exact solves."""
    B, a1 = sympy.symbols("B a1")
    h = R(1, 2)
    P = {(0, "a0"): {0: B * h + q * h, 1: 1 - B * h - q * h}, (0, "a1"): {1: B * q, 0: 1 - B * q},
         (0, "a2"): {0: 1}, (1, "a0"): {1: B * (1 - q), 0: 1 - B * (1 - q)},
         (1, "a1"): {2: q**2, 0: 1 - q**2}, (1, "a2"): {2: 1},
         (2, "a0"): {1: q**2, 2: 1 - q**2}, (2, "a1"): {1: q, 0: 1 - q},
         (2, "a2"): {0: 1 - q, 2: q}}
    Rw = {(0, "a0"): {0: -2, 1: 2 * B * a1}, (0, "a1"): {1: 2 * B * a1, 0: a1},
          (0, "a2"): {0: a1 - 1}, (1, "a0"): {1: 2 * B * a1, 0: -2},
          (1, "a1"): {2: a1, 0: a1}, (1, "a2"): {2: a1}, (2, "a0"): {1: 2 * B * a1, 2: a1},
          (2, "a1"): {1: a1, 0: 2 * B * a1}, (2, "a2"): {0: -2, 2: 2 * B * a1}}
    m = cp.MDP([0, 1, 2], ["a0", "a1", "a2"], lambda s, a: P[(s, a)],
               lambda s, a, s2: Rw[(s, a)][s2], 0, gamma=R(9, 10))
    domain = {B: sympy.Interval(0, 1), q: sympy.Interval(0, 1), a1: sympy.Interval(-1, 2)}
    sol = cp.solve(m, 1, domain=domain)
    for bv, qv, av in itertools.product([0, R(1, 3), 1], [R(1, 4), R(2, 3)], [-1, R(1, 2), 2]):
        exact = cp.solve(m.bind(B=bv, q=qv, a1=av), 1)
        assert sol.region_of({B: bv, q: qv, a1: av}).answer.rules == exact.rules

"""cp.synthesize over several parameters: exact regions checked against concrete
verification on a grid of rational points."""

import itertools

import pytest
import sympy

import cpspec as cp
from cpspec.examples import stop_button

g, b = sympy.symbols("gamma b")
R = sympy.Rational
STOP = dict(stop_pressed=lambda s: s.button == "pressed", null_action="null")


def test_sif_button_incentive_over_gamma_and_press_probability():
    env = stop_button(gamma=g, press=b)
    sif = cp.agents.SIF(env, **STOP)
    res = cp.synthesize(sif, cp.no_incentive("button"), over=[g, b])
    assert {r.answer for r in res.regions()} == {"holds", "fails"}
    assert {st for _, st in res.samples} == {"holds", "fails"}
    assert res.counterexamples
    for gv, bv in itertools.product([R(1, 5), R(1, 2), R(3, 5), R(9, 10)],
                                    [R(1, 10), R(1, 2), R(1)]):
        want = cp.verify(cp.agents.SIF(env.bind(gamma=gv, b=bv), **STOP),
                         cp.no_incentive("button")).status
        at = {g: gv, b: bv}
        got = [r.answer for r in res.regions() if r.condition.subs(at) is sympy.true]
        assert got == [want], at


def test_si_holds_everywhere_by_structure():
    si = cp.agents.SI(stop_button(gamma=g, press=b), **STOP)
    res = cp.synthesize(si, cp.no_incentive("button"), over=[g, b])
    assert [r.answer for r in res.regions()] == ["holds"]
    assert res.fails is sympy.false and res.unknown is sympy.false


def test_other_parameters_must_be_named_or_bound():
    sif = cp.agents.SIF(stop_button(gamma=g, press=b), **STOP)
    with pytest.raises(cp.ParameterError, match="also has the parameters b"):
        cp.synthesize(sif, cp.no_incentive("button"), over=[g])
    with pytest.raises(cp.ParameterError, match="z is not a parameter of the environment"):
        cp.synthesize(sif, cp.no_incentive("button"), over=[g, b, sympy.Symbol("z")])


GRID = list(itertools.product([R(0), R(1, 5), R(1, 2), R(3, 5), R(9, 10)],
                               [R(0), R(1, 10), R(1, 2), R(1)]))


def assert_matches_concrete(res, make, prop, grid=GRID):
    """Each grid point lies in exactly one region, whose verdict is the concrete one."""
    for gv, bv in grid:
        want = cp.verify(make(gv, bv), prop).status
        at = {g: gv, b: bv}
        got = [r.answer for r in res.regions() if r.condition.subs(at) is sympy.true]
        assert got == [want], at


def test_myopic_regions_fp_fails_wherever_the_future_counts():
    env = stop_button(gamma=g, press=b)
    res = cp.synthesize(cp.agents.FP(env), cp.myopic(1), over=[g, b])
    # gamma = 0: nothing after step 1 reaches the first decision; any gamma > 0: a large
    # enough continuation value at one state flips it
    assert str(res.holds) == "gamma <= 0"      # within the box: gamma = 0
    assert str(res.fails) == "gamma > 0" and res.unknown is sympy.false
    assert res.counterexamples
    assert_matches_concrete(res, lambda gv, bv: cp.agents.FP(env.bind(gamma=gv, b=bv)),
                            cp.myopic(1), [(gv, bv) for gv, bv in GRID if gv < 1])


def test_myopic_sth_holds_on_the_whole_box_by_its_cut():
    res = cp.synthesize(cp.agents.STH(stop_button(gamma=g, press=b), horizon=1),
                        cp.myopic(1), over=[g, b])
    assert res.holds is sympy.true and res.fails is sympy.false


def test_stop_button_regions_split_where_the_press_probability_vanishes():
    env = stop_button(gamma=g, press=b)
    prop = cp.obeys_stop_button(3, **STOP)
    res = cp.synthesize(cp.agents.FP(env), prop, over=[g, b])
    # FP ignores the button: it fails as soon as the button can be pressed (b > 0)
    assert str(res.fails) == "b > 0" and str(res.holds) == "b <= 0"
    # one trace per region of FP's behaviour (0 < b < 1 and b = 1), each valid throughout
    assert len(res.counterexamples) == 2
    for cond, cex in res.counterexamples:
        assert cex.kind == "trace" and cond.subs(b, 1).subs(g, R(1, 2)) in (sympy.true,
                                                                           sympy.false)
    assert_matches_concrete(res, lambda gv, bv: cp.agents.FP(env.bind(gamma=gv, b=bv)),
                            prop, [(gv, bv) for gv, bv in GRID if gv < 1])
    si = cp.synthesize(cp.agents.SI(env, **STOP), cp.obeys_stop_button(3), over=[g, b])
    assert si.holds is sympy.true and len(si.samples) >= 2   # b = 0, b > 0 verified apart


def test_always_over_regions_of_the_plan():
    env = stop_button(gamma=g, press=b)
    never_disabled = cp.always(lambda s: s.button != "disabled", 3)
    res = cp.synthesize(cp.agents.SIF(env, **STOP), never_disabled, over=[g, b])
    assert {r.answer for r in res.regions()} == {"holds", "fails"}
    assert_matches_concrete(
        res, lambda gv, bv: cp.agents.SIF(env.bind(gamma=gv, b=bv), **STOP), never_disabled,
        [(gv, bv) for gv, bv in GRID if gv < 1])


def test_structural_facts_cover_the_box():
    fp = cp.agents.FP(stop_button(gamma=g, press=b))
    for prop in (cp.no_self_knowledge(), cp.policy_unmodified()):
        res = cp.synthesize(fp, prop, over=[g, b])
        assert res.holds is sympy.true and str(res) == f"{prop} holds everywhere"


def test_an_agent_whose_behaviour_cpspec_cannot_read_is_unknown_with_the_reason():
    class Mine(cp.agents.FP):
        kind = "Mine"
    res = cp.synthesize(Mine(stop_button(gamma=g, press=b)),
                        cp.obeys_stop_button(2, **STOP), over=[g, b])
    assert res.holds is sympy.false and res.unknown is not sympy.false
    assert "not one of the paper's agents" in res.reason

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


def test_a_property_without_region_method_is_unknown_with_the_reason():
    fp = cp.agents.FP(stop_button(gamma=g, press=b))
    res = cp.synthesize(fp, cp.myopic(1), over=[g, b])
    assert res.holds is sympy.false and res.fails is sympy.false
    assert res.unknown is not sympy.false and "does not extend to a region" in res.reason

from pathlib import Path

import sympy
from hypothesis import given, settings, strategies as st

import cpspec as cp
from cpspec.cli import main
from cpspec.examples import delayed_reward, dice_world, stop_button
from cpspec.strategies import diagrams, events
from conftest import REPO

SPECS = REPO / "specs"
STOP = dict(stop_pressed=lambda s: s.button == "pressed", null_action="null")


def test_dice_breakdown_adds_up_and_is_sorted():
    f = dice_world()
    x = cp.explain(f.S, max_rows=4)
    assert x.total == 7 and x.check() and x.folded == 7
    contribs = [r.contribution for r in x.rows]
    assert contribs == sorted(contribs, reverse=True)
    assert x.rows[0].assignment == {"S": 7} and x.rows[0].contribution == sympy.Rational(7, 6)
    assert sum(r.contribution for r in x.rows) + x.remainder == 7


def test_probability_breakdown_with_causes():
    f = dice_world()
    x = cp.explain(f.S >= 11, by=["G", "R"])
    assert x.total == sympy.Rational(1, 12) and x.check()
    assert {(r.assignment["G"], r.assignment["R"]) for r in x.rows} == {(5, 6), (6, 5), (6, 6)}


def test_conditional_breakdown_and_groups():
    f = dice_world()
    x = cp.explain(f.G, given=f.S >= 10, by=["R"], group_by="G")
    assert x.total == cp.E(f.G, given=f.S >= 10) and x.check()
    groups = dict(x.groups)
    assert groups[6] == (sympy.Rational(1, 2), 3)


def test_symbolic_breakdown():
    p = sympy.Symbol("p")
    w = cp.world("w", X=cp.bernoulli(p), Y=cp.bernoulli(p))
    x = cp.explain(w.X + w.Y)
    assert sympy.simplify(x.total - 2 * p) == 0 and x.check()


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_breakdown_always_sums_to_the_exact_value(data):
    d = data.draw(diagrams(max_nodes=4))
    e = data.draw(events(d))
    rows = data.draw(st.integers(1, 4))
    x = cp.explain(e, max_rows=rows)
    assert x.total == cp.P(e) and x.check()
    node = data.draw(st.sampled_from(d.order))
    y = cp.explain(d[node] * 2 + 1, max_rows=rows)
    assert y.total == cp.E(d[node] * 2 + 1) and y.check()


def test_outputs_as_data_html_latex():
    x = cp.explain(dice_world().S, max_rows=2)
    recs = x.records()
    assert recs[-1]["remainder"] == 9 and len(recs) == 3
    assert "<table>" in x._repr_html_() and "\\begin{array}" in x._repr_latex_()


def test_explain_action_margins_match_solve():
    env = delayed_reward()
    sol = cp.solve(env, 2)
    x = cp.explain_action(sol, "start")
    assert x.chosen == sol.policy(0, "start") == "wait"
    assert x.utilities == sol.q("start", 0)
    assert x.margins["take"] == sol.q("start")["take"] - sol.q("start")["wait"]


def test_explain_action_for_an_agent_names_the_deciding_branch():
    x = cp.explain_action(cp.agents.SIF(stop_button(), **STOP), cp.State(button="armed"))
    assert x.chosen == "disable"
    top = x.branches["work"][0]
    # working instead of disabling loses the whole disabled branch (worth 8)
    assert top.next_state == cp.State(button="disabled") and top.difference == -8
    assert "disable" in str(x) and "<table>" in x._repr_html_()


def test_explain_action_parametric_margins():
    g = sympy.Symbol("gamma")
    x = cp.explain_action(cp.agents.SIF(stop_button(gamma=g), **STOP), cp.State(button="armed"))
    assert isinstance(x.regions, cp.Choice)
    m = x.margins["disable"]
    assert m.subs(g, sympy.Rational(1, 2)) < 0     # work wins at 1/2: disable's margin < 0
    threshold = (7 - sympy.sqrt(17)) / 4
    assert x.regions.at(sympy.Rational(3, 4)) == "disable"
    assert sympy.simplify(m.args[0][0].subs(g, threshold)) == 0


def test_cli_explain(capsys):
    assert main(["explain", str(SPECS / "dice.toml"), "E(S_c)", "--by", "G", "--rows", "2"]) == 0
    out = capsys.readouterr().out
    assert "E(S_c) = 19/2" in out and "more scenarios" in out
    assert main(["explain", str(SPECS / "si.toml"), "act(sif, S(button='armed'))"]) == 0
    assert "chooses 'disable'" in capsys.readouterr().out
    assert main(["explain", str(SPECS / "dice.toml"), "E(S_c) - E(S_f)"]) == 2


def test_explain_action_over_several_parameters_has_regions_with_margins():
    import itertools
    import sympy
    from cpspec.examples import delayed_reward
    g, r = sympy.symbols("gamma r")
    env = delayed_reward(gamma=g, late=r)
    sol = cp.solve(env, 2, domain={r: sympy.Interval(0, 10)})
    x = cp.explain_action(sol, "start")
    assert sorted(reg.answer for reg in x.regions) == ["take", "wait"]
    R = sympy.Rational
    for gv, rv in itertools.product([R(0), R(1, 4), R(1, 2), R(1)], [R(0), R(2), R(4), R(10)]):
        at = {g: gv, r: rv}
        reg, = [reg for reg in x.regions if reg.condition.subs(at) is sympy.true]
        concrete = cp.explain_action((env.bind(gamma=gv, r=rv), 2), "start")
        assert reg.answer == concrete.chosen, at
        assert {a: m.subs(at) for a, m in reg.margin.items()} == concrete.margins, at
        assert {a: m.subs(at) for a, m in x.margins.items()} == concrete.margins, at
    assert "margins take: 0, wait: gamma*r - 1" in str(x)

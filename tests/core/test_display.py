"""Rich display of every result type: HTML tables, LaTeX that is math throughout (valid
for LaTeX and MathJax), SVG pictures; and plain text when there is no IPython."""

import re
import sys

import pytest
import sympy

import cpspec as cp
from cpspec.examples import delayed_reward, dice_world, stop_button

STOP = dict(stop_pressed=lambda s: s.button == "pressed", null_action="null")
g = sympy.Symbol("gamma")


def valid_math(tex: str) -> bool:
    """Math mode from end to end, braces balanced, every environment closed, and no
    text-mode construct (``tabular``) inside it."""
    if not (tex.startswith("$") and tex.endswith("$")):
        return False
    body = tex.strip("$")
    if "$" in body.replace(r"\$", "") or "tabular" in body:
        return False
    depth = 0
    for c in re.sub(r"\\[{}]", "", body):
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0 and re.findall(r"\\begin\{(\w+)\}", body) == \
        re.findall(r"\\end\{(\w+)\}", body)[::-1]


@pytest.fixture(scope="module")
def made():
    return results()


def results():
    f = dice_world()
    sif = cp.agents.SIF(stop_button(gamma=g), **STOP)
    w = cp.world("guess", X=cp.uniform([0, 1]),
                 S=cp.dist(lambda X: {X: "3/4", 1 - X: "1/4"}),
                 D=cp.decision([0, 1], parents=["S"]), U=cp.utility(lambda X, D: int(X == D)))
    p = sympy.Symbol("p")
    wp = cp.world("wp", X=cp.bernoulli(p), D=cp.decision([0, 1], parents=["X"]),
                  U=cp.utility(lambda X, D: int(X == D) + D))
    return {
        "explanation": cp.explain(f.S, by=["G"], max_rows=2),
        "action": cp.explain_action(cp.agents.FP(delayed_reward()), "start"),
        "choice": sif.planned_action((), cp.State(button="armed")),
        "solution": cp.solve(delayed_reward(), 2),
        "parametric": cp.solve(delayed_reward(gamma=g), 2),
        "idsolution": cp.solve(w),
        "parametric_id": cp.solve(wp),
        "synthesis": cp.synthesize(sif, cp.no_incentive("button"), over=g),
    }


NAMES = ["explanation", "action", "choice", "solution", "parametric", "idsolution",
         "parametric_id", "synthesis"]


def test_the_list_of_results_is_complete(made):
    assert sorted(made) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_result_has_html_and_valid_latex(name, made):
    r = made[name]
    assert r._repr_html_().startswith("<table>")
    tex = r._repr_latex_()
    assert valid_math(tex), tex
    assert len(repr(r)) < 300 and "0x" not in repr(r) and "<function" not in repr(r)


def test_latex_checker_catches_text_mode_fractions():
    old = r"$$7$$\begin{tabular}{lr}G & \frac{1}{6} \\\end{tabular}"
    assert not valid_math(old) and valid_math(r"$\begin{cases} a & b \end{cases}$")


def test_parametric_solution_repr_is_short_and_says_where_it_changes():
    sol = cp.solve(delayed_reward(gamma=g), 2)
    assert repr(sol) == "ParametricSolution(gamma: the policy changes at [1/3])"
    html = sol._repr_html_()
    assert "take if 0 &lt;= gamma &lt;= 1/3; wait if 1/3 &lt; gamma &lt;= 1" in html
    assert repr(cp.solve(delayed_reward(), 2)) == \
        "Solution(horizon=2, value=27/10, 3 states, 2 actions)"


def test_verdicts_show_their_status_and_evidence():
    fp = cp.agents.FP(delayed_reward())
    fails = cp.verify(fp, cp.myopic(1))
    assert '<b style="color:#c0392b">FAILS</b>' in fails._repr_html_()
    assert "<pre>in state &#x27;start&#x27; the planned first action" in fails._repr_html_()
    holds = cp.verify(cp.agents.STH(delayed_reward(), horizon=1), cp.myopic(1))
    assert '<b style="color:#1e8449">HOLDS</b>' in holds._repr_html_()
    assert "why:" in holds._repr_html_()
    unknown = cp.Verdict("unknown", "p", "a", reason="timeout")
    assert "#b9770e" in unknown._repr_html_() and "reason:" in unknown._repr_html_()
    assert fails.counterexample._repr_html_().startswith("<div><b>counterexample")


def test_choice_and_synthesis_read_as_cases(made):
    c = cp.agents.SIF(stop_button(gamma=g), **STOP).planned_action((), cp.State(button="armed"))
    tex = c._repr_latex_()
    assert tex.startswith(r"$\begin{cases} \text{work} & ") and r"\sqrt{17}" in tex
    s = made["synthesis"]
    assert r"\text{holds} & \gamma \in \left[0, \frac{1}{2}\right]" in s._repr_latex_()


def test_without_ipython_everything_falls_back_to_text(monkeypatch, made):
    monkeypatch.setitem(sys.modules, "IPython", None)   # import IPython now fails
    for r in made.values():
        assert str(r) and r._repr_html_() and r._repr_latex_()
    pic = cp.draw(dice_world())
    assert pic._repr_svg_().startswith("<svg") and repr(dice_world()).startswith("<Diagram")

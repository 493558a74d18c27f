from pathlib import Path

import pytest
import sympy

import cpspec as cp
from cpspec.cli import main
from cpspec.examples import dice_world, stop_button
from cpspec.spec.loader import check, load
from conftest import REPO

ROOT = REPO
STOP = dict(stop_pressed=lambda s: s.button == "pressed", null_action="null")
ARMED, PRESSED = cp.State(button="armed"), cp.State(button="pressed")


def test_conforming_and_forbidden_observations():
    f = dice_world()
    assert cp.conforms(f, {"G": 1, "R": 1, "S": 2}).holds
    assert cp.conforms(f, {"S": 12}).holds
    v = cp.conforms(f, {"G": 1, "R": 1, "S": 12})
    assert v.status == "fails"
    assert v.counterexample.data == {"node": "S", "value": 12, "parents": {"G": 1, "R": 1},
                                     "expected": 2}
    # partial: G = 1 forbids S = 12 together with nothing else observed about R
    v = cp.conforms(f, {"G": 1, "S": 12})
    assert v.status == "fails" and v.counterexample.data["node"] == "S"


def test_random_node_names_its_possible_values():
    w = cp.world("w", X=cp.uniform([0, 1]), Y=cp.dist(lambda X: {X: 1}))
    v = cp.conforms(w, {"X": 0, "Y": 1})
    assert "Y can only be [0]" in str(v.counterexample)


def test_bad_observations():
    f = dice_world()
    with pytest.raises(cp.UnknownNodeError, match="'Q'"):
        cp.conforms(f, {"Q": 1})
    with pytest.raises(cp.DomainError, match="G = 7"):
        cp.conforms(f, {"G": 7})


def test_agent_trace_conformance():
    env = stop_button()
    si = cp.agents.SI(env, **STOP)
    assert cp.conforms(si, [ARMED, "work", PRESSED, "null", PRESSED]).holds
    v = cp.conforms(si, [ARMED, "work", PRESSED, "work", PRESSED])
    assert v.status == "fails"
    assert v.counterexample.data == {"step": 1, "state": PRESSED, "action": "work",
                                     "would": "null"}
    # an impossible transition falsifies the environment model instead
    v = cp.conforms(si, [ARMED, "work", cp.State(button="disabled")])
    assert v.status == "fails" and "falsifies" in str(v.counterexample)


def test_likelihood_and_exact_mle_of_a_biased_die():
    p = sympy.Symbol("p")
    die = cp.world("d", X=cp.dist({6: p, **{k: (1 - p) / 5 for k in range(1, 6)}}))
    rolls = [6] * 7 + [1, 2, 3, 4, 5, 5, 2, 3, 1, 4, 6, 6]
    data = [{"X": r} for r in rolls]
    L = cp.likelihood(die, data)
    assert sympy.simplify(L - p**9 * ((1 - p) / 5) ** 10) == 0
    assert cp.fit(die, data, p) == sympy.Rational(9, 19)  # sixes / rolls, exactly


def test_mle_of_a_polynomial_score_is_an_exact_algebraic_number():
    p = sympy.Symbol("p")
    w = cp.world("w", X=cp.dist({1: p ** 5 / 2 + p / 4, 0: 1 - p ** 5 / 2 - p / 4}))
    data = [{"X": 1}] * 3 + [{"X": 0}] * 4
    value = cp.fit(w, data, p)  # P(X=1) = 3/7 at the maximum: a root of a quintic
    assert abs(sympy.N(value ** 5 / 2 + value / 4 - sympy.Rational(3, 7), 60)) < 1e-50
    assert isinstance(value, sympy.CRootOf) or value.is_algebraic


def test_mle_without_closed_form_says_so():
    p = sympy.Symbol("p", nonnegative=True)
    w = cp.world("w", X=cp.dist({1: sympy.sqrt(p) * (1 + p) / 2,
                                 0: 1 - sympy.sqrt(p) * (1 + p) / 2}))
    data = [{"X": 1}] * 2 + [{"X": 0}] * 3
    with pytest.raises(cp.ParameterError, match="numeric=True"):
        cp.fit(w, data, p)
    est = cp.fit(w, data, p, numeric=True)
    assert abs(float((sympy.sqrt(p) * (1 + p) / 2).subs(p, est)) - 0.4) < 1e-9


def test_goodness_of_fit():
    coin = cp.world("c", X=cp.bernoulli("1/2"))
    r = cp.gof(coin, [{"X": 1}] * 20 + [{"X": 0}] * 20)
    assert r.statistic == 0 and r.p_value == 1.0
    r = cp.gof(coin, [{"X": 1}] * 30 + [{"X": 0}] * 10)
    assert r.statistic == 10 and r.df == 1 and 0.001 < r.p_value < 0.002
    f = dice_world()
    r = cp.gof(f, [{"G": g, "R": q} for g in range(1, 7) for q in range(1, 7)])
    assert r.statistic == 0 and r.df == 35


def test_observation_files_in_spec_files(capsys):
    (r,) = check(load(ROOT / "specs" / "dice_observations.toml"))
    assert r.passed and r.rows == 6
    assert main(["check", str(ROOT / "specs" / "broken" / "dice_bad_rolls.toml")]) == 1
    out = capsys.readouterr().out
    assert "line 3" in out and "gives 2" in out


@pytest.mark.parametrize("content, message", [
    ("G,R,S\n1,2\n", "line 2: 2 values for 3 columns"),
    ("G,Q\n1,2\n", "line 2.*'Q'"),
    ("G\n9\n", "line 2.*G = 9"),
])
def test_malformed_observation_files(tmp_path, content, message):
    (tmp_path / "rows.csv").write_text(content)
    (tmp_path / "dice.toml").write_text((ROOT / "specs" / "dice.toml").read_text())
    (tmp_path / "s.toml").write_text('uses = "dice.toml"\n[[observations]]\n'
                                     'world = "f"\nfile = "rows.csv"\n')
    (r,) = check(load(tmp_path / "s.toml"))
    assert not r.passed
    import re
    assert re.search(message, r.error), r.error


def test_jsonl_observations(tmp_path):
    (tmp_path / "rows.jsonl").write_text('{"G": 1, "R": 2, "S": 3}\n{"S": 12}\nnot json\n')
    with pytest.raises(cp.SpecFileError, match="line 3: malformed JSON"):
        cp.read_observations(tmp_path / "rows.jsonl")


def test_mesa_optimization_specs():
    for name in ("mesa_tradeoff", "mesa_penalties"):
        results = check(load(ROOT / "specs" / f"{name}.toml"))
        assert results and all(r.passed for r in results), [str(r) for r in results]
    spec = load(ROOT / "specs" / "mesa_tradeoff.toml")
    sol = spec.solution(("world", "m"))
    assert sol.thresholds() == [1, 3, 5]
    # at N = 4 the base optimizer builds x = 2: 2 + (O - 4)/4 beats the other levels
    assert sol.policy("X").at(4) == 2

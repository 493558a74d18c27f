"""Queries and claims of spec files through their public seams: the read-only query names,
solved models kept by an explicit Solutions object, and claims that share it."""

import pytest
import sympy

from cpspec.spec.claims import check_claims
from cpspec.spec.loader import check, derive, load
from cpspec.spec.queries import PolicyRef, Solutions, query_names

MDP = '''
params = ["g"]
[mdp.m]
states = ["s", "t"]
actions = ["stay", "go"]
start = "s"
gamma = "1/2"
horizon = 2
reward = "1 if s2 == t else 0"
transition.s.stay = { s = "1" }
transition.s.go = { t = "1" }
transition.t.stay = { t = "1" }
transition.t.go = { s = "1" }
[world.f.node.X]
dist = "bernoulli"
p = "g"
[claims]
"U(pi*)" = "3/2"
"pi*(s)" = "go"
"V(pi*, t)" = "3/2"
"E(X_f)" = "g"
'''


def test_query_names_are_read_only_and_computed_at_load():
    spec = load("m.toml", text=MDP)
    assert repr(spec.names["X_f"]) == "X_f" and spec.names["f"] is spec.worlds["f"]
    assert spec.names["pi_star"] == PolicyRef("m") == spec.names["pi_m_star"]
    assert spec.names["go"] == "go" and spec.names["g"] == spec.params["g"]
    with pytest.raises(TypeError):
        spec.names["X_f"] = 1


def test_query_names_report_two_meanings_of_one_name():
    spec = load("m.toml", text=MDP)
    with pytest.raises(Exception, match="X_f is both a parameter and node X of world f"):
        query_names("t.toml", {"X_f": sympy.Symbol("X_f")}, spec.worlds, {}, {})


def test_solutions_solve_each_model_once_and_claims_share_them():
    spec = load("m.toml", text=MDP)
    sols = Solutions(spec)
    results = check_claims(spec, sols)
    assert [r.passed for r in results] == [True, True, True, True]
    assert sols.get(("mdp", "m")) is sols.get(("mdp", "m"))
    assert sols.of_policy(PolicyRef("m")) is sols.get(("mdp", "m"))
    assert derive(spec, "U(pi*)", solutions=sols) == sympy.Rational(3, 2)


def test_a_spec_record_is_not_changed_by_queries():
    spec = load("m.toml", text=MDP)
    before = (dict(spec.names), dict(spec.mdps), dict(spec.worlds))
    assert [r.passed for r in check(spec)] == [True] * 4
    assert derive(spec, "U(pi*)") == sympy.Rational(3, 2)
    assert (dict(spec.names), dict(spec.mdps), dict(spec.worlds)) == before
    assert spec.solution(("mdp", "m")).value == sympy.Rational(3, 2)  # solved afresh


def test_an_ambiguous_pi_star_names_the_fix():
    two = MDP.replace("[mdp.m]", "[mdp.n]\nstates = [\"s\"]\nactions = [\"stay\"]\nstart = "
                      "\"s\"\nreward = \"0\"\ntransition.s.stay = { s = \"1\" }\n[mdp.m]")
    spec = load("m.toml", text=two)
    with pytest.raises(Exception, match="pi\\* is ambiguous with 2 MDPs"):
        derive(spec, "U(pi*)")
    assert derive(spec, "U(pi_m*)") == sympy.Rational(3, 2)

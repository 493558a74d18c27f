from fractions import Fraction
from pathlib import Path

import pytest
import sympy
from hypothesis import given, settings, strategies as st

import cpspec as cp
from cpspec.spec.safeexpr import parse
from cpspec.spec.loader import check, derive, load
from conftest import DICE_TOML, REPO

SPECS = REPO / "specs"

DICE = DICE_TOML  # the paper's dice world as a spec file


def test_dice_spec_file_claims_all_hold():
    results = check(load(SPECS / "dice.toml"))
    assert results and all(r.passed for r in results)
    assert {r.claim.query: r.derived for r in results}["E(S_c) - E(S_f)"] == \
        sympy.Rational(5, 2)


def test_coins_spec_symbolic():
    spec = load(SPECS / "coins.toml")
    p = spec.params["p"]
    assert derive(spec, "E(X_f + Y_f)") == 2 * p
    assert all(r.passed for r in check(spec))


def test_a_wrong_claim_fails():
    spec = load("x.toml", text=DICE + '[claims]\n"E(S_f)" = "8"\n')
    (r,) = check(spec)
    assert not r.passed and r.derived == 7 and r.expected == 8


def test_node_kinds_in_spec():
    spec = load("k.toml", text="""
params = ["p"]
[world.w.node.X]
probs = {"0" = "1/4", "1" = "3/4"}
[world.w.node.Y]
values = ["a", "b"]
prob = "p if (Y == 'a') == (X == 1) else 1 - p"
[world.w.node.Z]
dist = "bernoulli"
p = "1/2 if X == 1 else 1/3"
""")
    p = spec.params["p"]
    assert derive(spec, "P(X_w == 1)") == sympy.Rational(3, 4)
    assert sympy.expand(derive(spec, "P(Y_w == 'a')") - (3 * p / 4 + (1 - p) / 4)) == 0
    assert derive(spec, "E(Z_w)") == sympy.Rational(3, 8) + sympy.Rational(1, 12)


def test_malformed_toml_names_the_line():
    with pytest.raises(cp.SpecFileError, match="line 3"):
        load("bad.toml", text='[world.f.node.G]\nvalues = [1, 2]\ndist = "uniform\n')


def test_unknown_key_names_the_line():
    with pytest.raises(cp.SpecFileError, match=r"line 3.*unknown key 'dsit'"):
        load("bad.toml", text='[world.f.node.G]\nvalues = [1, 2]\ndsit = "uniform"\n')


def test_unknown_name_in_fn():
    with pytest.raises(cp.SpecFileError, match=r"unknown name 'Q'"):
        load("bad.toml", text=DICE.replace('fn = "G + R"', 'fn = "G + Q"'))


def test_spec_error_from_model_names_the_world_line():
    with pytest.raises(cp.SpecFileError, match=r"line 2.*sum to 1/2"):
        load("bad.toml", text='\n[world.f.node.X]\nprobs = {"0" = "1/4", "1" = "1/4"}\n')


@pytest.mark.parametrize("attack", [
    "__import__('os').system('touch {marker}')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('{marker}', 'w')",
    "eval('1')",
    "(lambda: 1)()",
    "[x for x in (1,)]",
    "G.__class__",
])
def test_spec_expressions_cannot_run_code(tmp_path, attack):
    marker = tmp_path / "pwned"
    text = DICE.replace('fn = "G + R"', f'fn = "{attack.format(marker=marker)}"')
    with pytest.raises(cp.UnsafeExpressionError):
        load("evil.toml", text=text)
    assert not marker.exists()


def test_claims_cannot_run_code(tmp_path):
    marker = tmp_path / "pwned"
    spec = load("evil.toml", text=DICE + f'[claims]\n"__import__(\'os\').system(\'touch {marker}\')" = "0"\n')
    (r,) = check(spec)
    assert r.error and "not allowed" in r.error and not marker.exists()


def test_resource_bombs_are_refused():
    with pytest.raises(cp.SpecFileError, match="exponent"):
        parse("9**9**9", "t").evaluate({})
    with pytest.raises(cp.SpecFileError, match="too large"):
        parse("(10**1000)**1000", "t").evaluate({})


# ---- the safe interpreter agrees with Python on what it allows ------------------------

_atoms = st.one_of(st.integers(-20, 20).map(str), st.sampled_from(["x", "y"]))


def _exprs():
    return st.recursive(
        _atoms,
        lambda sub: st.one_of(
            st.tuples(sub, st.sampled_from(["+", "-", "*"]), sub).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(sub, st.sampled_from(["<", "<=", "==", "!="]), sub).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(sub, sub, sub).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
            st.tuples(sub, sub).map(lambda t: f"max({t[0]}, {t[1]})"),
        ),
        max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(_exprs(), st.integers(-5, 5), st.integers(-5, 5))
def test_interpreter_matches_python(text, x, y):
    ours = parse(text, "t").evaluate({"x": x, "y": y})
    assert ours == eval(text, {"max": max}, {"x": x, "y": y})  # trusted, generated text


@settings(max_examples=100, deadline=None)
@given(_exprs(), st.integers(-5, 5), st.integers(-5, 5))
def test_parse_unparse_round_trip(text, x, y):
    import ast
    first = parse(text, "t")
    again = parse(ast.unparse(first.tree), "t")
    env = {"x": x, "y": y}
    assert first.evaluate(env) == again.evaluate(env)
    assert first.names == again.names


def test_division_is_exact():
    assert parse("1/3 + 1/6", "t").evaluate({}) == Fraction(1, 2)


# ---- MDPs and influence diagrams in spec files ------------------------------------------

AGENT = (SPECS / "agent_world.toml").read_text()


def test_agent_world_spec_claims_hold():
    results = check(load(SPECS / "agent_world.toml"))
    assert len(results) == 7 and all(r.passed for r in results), [str(r) for r in results]


@pytest.mark.parametrize("claim, wrong", [
    ('"pi_delayed*(start)" = "take if gamma <= 1/3 else wait"',
     '"pi_delayed*(start)" = "take if gamma <= 1/2 else wait"'),
    ('"threshold(pi_delayed*)" = "1/3"', '"threshold(pi_delayed*)" = "1/2"'),
    ('"U(pi_delayed*)" = "1 if gamma <= 1/3 else 3*gamma"',
     '"U(pi_delayed*)" = "1 if gamma < 1/3 else 3*gamma + 1/100"'),
    ('"U(pi_patient*)" = "0 if N == 0 else (1 if N == 1 else 27/10)"',
     '"U(pi_patient*)" = "0 if N == 0 else 27/10"'),
    ('"pi*(D_u, \'rain\')" = "umbrella"', '"pi*(D_u, \'rain\')" = "none"'),
])
def test_wrong_decision_claims_fail(claim, wrong):
    assert claim in AGENT
    spec = load("wrong.toml", text=AGENT.replace(claim, wrong))
    failed = [r for r in check(spec) if not r.passed]
    assert len(failed) == 1 and not failed[0].error, [str(r) for r in failed]


def test_mdp_spec_errors_name_the_problem():
    bad = AGENT.replace('transition.start.wait = { w = "1" }',
                        'transition.start.wait = { nowhere = "1" }')
    with pytest.raises(cp.SpecFileError, match="unknown state 'nowhere'"):
        load("bad.toml", text=bad)
    bad = AGENT.replace('transition.w.take = { done = "1" }',
                        'transition.w.take = { done = "1/2" }')
    with pytest.raises(cp.SpecFileError, match=r"mdp delayed.*sum to 1/2"):
        load("bad.toml", text=bad)


# ---- strings in spec files are data: they never reach sympify ------------------------

def _payload(marker):
    return f"__import__('os').system('touch {marker}')"


@pytest.mark.parametrize("claim", [
    '"1/{q}{p}{q}" = "0"',                                 # division by a string literal
    '"E(S_f)" = "{q}{p}{q} == gamma"',                     # relational with a string
    '"E(S_f)" = "{q}{p}{q} if gamma > 1/2 else 7"',        # parametric answer branch
    '"E(S_f) / {q}{p}{q}" = "0"',
])
def test_string_values_are_never_evaluated(tmp_path, claim):
    marker = tmp_path / "pwned"
    text = (DICE.replace('[world.f.node.G]', 'params = ["gamma"]\n[world.f.node.G]')
            + "[claims]\n" + claim.format(q="'", p=_payload(marker).replace("'", '"')) + "\n")
    try:
        for r in check(load("x.toml", text=text)):
            assert not r.passed
    except cp.SpecError:
        pass
    assert not marker.exists()


def test_string_node_values_in_explain_and_decisions(tmp_path):
    marker = tmp_path / "pwned"
    evil = _payload(marker)
    w = cp.world("w", X=cp.uniform([evil, "b"]))
    with pytest.raises(cp.QueryError, match="numeric"):
        cp.explain(w.X)
    d = cp.world("d", A=cp.decision(["x", "y"]), U=cp.utility(lambda A: evil))
    with pytest.raises(cp.SpecError):
        cp.solve(d)
    with pytest.raises(cp.QueryError):
        cp.E(w.X / 2)
    assert not marker.exists()

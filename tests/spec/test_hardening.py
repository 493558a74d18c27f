"""Hostile and malformed spec files, observation files and command lines: every one is a
named cpspec error (file, line, node, fix) or an exact answer, quickly; nothing outside
the spec's project is read. Each test is a class of inputs (see issue 12)."""

import os
import re
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest
import sympy

import cpspec as cp
import cpspec.spec.files
from cpspec.spec import loader as specfile, queries
from cpspec.spec.base import read_probability
from cpspec.cli import main
from cpspec.spec.safeexpr import parse
from cpspec.spec.loader import check, derive, load, show
from conftest import DICE_TOML, REPO

ROOT = REPO
DICE = DICE_TOML  # the paper's dice world as a spec file

MDP = """
[mdp.m]
states = ["u", "v"]
actions = ["x"]
start = "u"
gamma = "1/2"
reward = "1"
transition_prob = "1 if s2 == u else 0"
"""
AGENT = MDP + """
[agent.fp]
kind = "FP"
env = "m"
"""
FACTORED = """
[mdp.b]
actions = ["go", "stop"]
start = { v = "a" }
variables.v = ["a", "b"]
dynamics.v = "b if a == go else v"
reward = "1"
gamma = "1/2"
"""


def spec_error(text, match=None, name="t.toml"):
    """The cpspec error of loading and checking ``text`` (never another exception)."""
    with pytest.raises(cp.SpecError) as info:
        for r in check(load(name, text=text)):
            if r.error:
                raise cp.SpecFileError(r.error)
    if match:
        assert re.search(match, str(info.value)), str(info.value)
    return str(info.value)


# ---- exact numbers: fractional powers, no floats, no complex numbers -----------------

@pytest.mark.parametrize("text, value", [
    ("4**(1/2)", 2),
    ("(9/4)**(1/2)", Fraction(3, 2)),
    ("8**(2/3)", 4),
    ("(1/4)**(-1/2)", 2),
    ("sqrt(9/4)", Fraction(3, 2)),
    ("2**(1/2)", sympy.sqrt(2)),
    ("(2**(1/2))**2", 2),
    ("2**(1/2) * 2**(1/2) + 1/2", Fraction(5, 2)),
    ("True**(1/2)", 1),
])
def test_fractional_powers_are_exact(text, value):
    v = parse(text, "t").evaluate({})
    assert v == value and not isinstance(v, float) and not (
        isinstance(v, sympy.Basic) and v.has(sympy.Float))


def test_fractional_powers_in_a_spec_file_are_exact():
    spec = load("t.toml", text='[world.f.node.X]\nfn = "4**(1/2)"\n'
                               '[world.f.node.Y]\nfn = "(9/4)**(1/2)"\n'
                               '[claims]\n"E(X_f)" = "(9/4)**(1/2) + 1/2"\n'
                               '"E(Y_f)" = "3/2"\n')
    assert derive(spec, "E(X_f)") == 2 and derive(spec, "E(Y_f)") == sympy.Rational(3, 2)
    assert isinstance(derive(spec, "E(Y_f)"), sympy.Rational)
    assert all(r.passed for r in check(spec))


@pytest.mark.parametrize("text", ["sqrt(-1)", "(-1)**(1/2)", "(-8)**(1/3)", "sqrt(-1/4)",
                                  "(0 - 4)**(3/2)", "sqrt(1 - 2)"])
def test_non_real_numbers_are_refused(text):
    with pytest.raises(cp.SpecFileError, match="not a real number"):
        parse(text, "t").evaluate({})


@pytest.mark.parametrize("spec", [
    '[world.f.node.X]\ndist = "bernoulli"\np = "sqrt(-1)"\n',
    '[world.f.node.X]\nprobs = {0 = "sqrt(-1)", 1 = "1 - sqrt(-1)"}\n',
    '[world.f.node.X]\nvalues = [0, 1]\nprob = "sqrt(-1) if X == 1 else 1 - sqrt(-1)"\n',
    '[world.f.node.X]\nkind = "utility"\nfn = "sqrt(-1)"\n',
    MDP.replace('reward = "1"', 'reward = "sqrt(-1)"'),
    MDP.replace('gamma = "1/2"', 'gamma = "(-1)**(1/2)"'),
    AGENT.replace('kind = "FP"', 'kind = "FPX"\nepsilon = "sqrt(-1)"'),
    FACTORED.replace('reward = "1"', 'reward = "sqrt(0 - 1)"'),
])
def test_complex_probabilities_rewards_and_discounts_are_refused(spec):
    spec_error(spec, r"t\.toml, line \d+.*not a real number")


@pytest.mark.parametrize("value", [sympy.I, 1 + sympy.I, sympy.sqrt(-2),
                                   sympy.Symbol("p", real=True) * sympy.I, sympy.Float(0.5),
                                   "1/2", True, 0.5])
def test_the_probability_check_refuses_non_real_and_inexact_values(value):
    """The check every spec-file probability, reward and discount passes (a second line of
    defence: the interpreter itself never produces these)."""
    with pytest.raises(cp.SpecFileError, match="t.toml, line 1: p "):
        read_probability(value, "t.toml, line 1", "p")


def test_spec_parameters_are_real():
    spec = load(ROOT / "specs" / "coins.toml")
    assert all(x.is_real for x in spec.params.values())


@pytest.mark.parametrize("probs, message", [
    ('{0 = "-1 - p**2", 1 = "2 + p**2"}', "negative for every real value of p"),
    ('{0 = "2 + p**2", 1 = "-1 - p**2"}', "above 1 for every real value of p"),
    ('{0 = "p**2 + p + 2", 1 = "-p**2 - p - 1"}', "for every real value of p"),
])
def test_a_probability_never_in_the_unit_interval_is_an_error(probs, message):
    spec_error(f'params = ["p"]\n[world.f.node.X]\nprobs = {probs}\n',
               r"t\.toml, line 2 \(node X of world f\): probs\.\d = .*" + message)


def test_where_probabilities_lie_in_the_unit_interval_is_stated(capsys):
    spec = load(ROOT / "specs" / "coins.toml")
    p, q = spec.params["p"], spec.params["q"]
    assert spec.validity == {p: sympy.Interval(0, 1), q: sympy.Interval(0, 1)}
    assert main(["check", str(ROOT / "specs" / "coins.toml")]) == 0
    assert "NOTE  p: a model only for 0 <= p <= 1" in capsys.readouterr().out
    two = load("t.toml", text='params = ["p"]\n[world.f.node.X]\ndist = "bernoulli"\n'
                              'p = "2*p - 1"\n')
    assert two.validity == {two.params["p"]: sympy.Interval(sympy.Rational(1, 2), 1)}


def test_a_declared_domain_outside_the_valid_range_is_an_error():
    text = ('params = ["p"]\n[domains]\np = "p >= 0"\n'
            '[world.f.node.X]\ndist = "bernoulli"\np = "p"\n')
    spec_error(text, r"line 4 \(node X of world f\): p = p leaves \[0, 1\] for p in 1 < p, "
                     r"which \[domains\] allows; narrow \[domains\] p to 0 <= p <= 1")
    ok = load("t.toml", text=text.replace('p = "p"', 'p = "p/(p + 1)"'))
    assert ok.validity == {}


def test_probabilities_that_need_disjoint_parameter_values_are_an_error():
    spec_error('params = ["p"]\n[world.f.node.X]\ndist = "bernoulli"\np = "p"\n'
               '[world.f.node.Y]\ndist = "bernoulli"\np = "p - 2"\n',
               r"line 5 .*needs p in 2 <= p <= 3, but other probabilities need p in "
               r"0 <= p <= 1")


@pytest.mark.parametrize("spec, message", [
    ('[world.f.node.X]\ndist = "bernoulli"\np = "3/2"\n', r"line 1 .*p is 3/2, outside \[0, 1\]"),
    ('[world.f.node.X]\nprobs = {0 = "-1/2", 1 = "3/2"}\n', r"probs.0 is -1/2, outside"),
    ('[world.f.node.X]\nvalues = [0, 1]\nprob = "2 if X == 1 else -1"\n', "outside"),
    (MDP.replace('gamma = "1/2"', 'gamma = "2"'), r"line 2 \(mdp m\), gamma.*2, outside"),
])
def test_numeric_probabilities_outside_the_unit_interval_name_the_line(spec, message):
    spec_error(spec, message)


def test_a_claim_meeting_a_non_real_value_is_that_claims_error():
    text = (ROOT / "specs" / "agent_world.toml").read_text() + (
        '"U(pi_delayed*) + 0" = "1 if sqrt(gamma - 1) > 0 else 3*gamma"\n')
    results = check(load(ROOT / "specs" / "agent_world.toml", text=text))
    assert [r.passed for r in results] == [True] * 7 + [False]
    assert re.search(r"agent_world\.toml, line 5\d \(claim\): cannot compare .* Invalid "
                     "comparison of non-real", results[-1].error)
    assert not results[-1].internal


# ---- Unicode: names are NFKC-normalised once, collisions are duplicates ---------------

@pytest.mark.parametrize("spec, line", [
    ('[world.f.node.G]\nfn = "1"\n[world.f.node."Ｇ"]\nfn = "2"\n', 3),
    ('[world.fi.node.X]\nfn = "1"\n[world."ﬁ".node.X]\nfn = "2"\n', 3),
    ('params = ["p", "ｐ"]\n', 1),
    (MDP + MDP.replace("[mdp.m]", '[mdp."ｍ"]'), 10),
    (AGENT + '[agent."ｆp"]\nkind = "FP"\nenv = "m"\n', 13),
    (FACTORED.replace('variables.v = ["a", "b"]',
                      'variables.v = ["a", "b"]\nvariables."ｖ" = ["a"]'), 6),
])
def test_look_alike_names_are_duplicates_with_the_line(spec, line):
    with pytest.raises(cp.DuplicateNameError, match=rf"t\.toml, line {line}\b"):
        load("t.toml", text=spec)


def test_a_normalised_name_is_the_name_expressions_read():
    spec = load("t.toml", text='[world.f.node."Ｇ"]\nvalues = [1, 2]\ndist = "uniform"\n'
                               '[world.f.node.S]\nfn = "Ｇ + G"\n'
                               '[world."ｃ"]\nfrom = "f"\nreplace."Ｇ" = "2"\n')
    assert spec.worlds["f"].order == ("G", "S")
    assert derive(spec, "E(S_f)") == 3 and derive(spec, "E(S_c)") == 4
    assert derive(spec, "E(Ｓ_ｆ)") == 3


def test_look_alike_state_names_are_duplicates():
    with pytest.raises(cp.DuplicateNameError, match="same name 'fi'"):
        load("t.toml", text=MDP.replace('states = ["u", "v"]', 'states = ["fi", "ﬁ"]'))


def test_observation_columns_are_normalised(tmp_path):
    (tmp_path / "rows.csv").write_text("Ｇ,R\n1,2\n", encoding="utf-8")
    assert cp.read_observations(tmp_path / "rows.csv") == [(2, {"G": 1, "R": 2})]
    (tmp_path / "dup.csv").write_text("G,Ｇ\n1,2\n", encoding="utf-8")
    with pytest.raises(cp.SpecFileError, match="line 1: column 'G' appears twice"):
        cp.read_observations(tmp_path / "dup.csv")


# ---- no silent reinterpretation -----------------------------------------------------

@pytest.mark.parametrize("spec, message", [
    ('[world.f.node.X]\nvalues = "abc"\ndist = "uniform"\n', "values must be a list"),
    (DICE + '[world.f.node.T]\nparents = "GR"\nfn = "G"\n', "parents must be a list"),
    (AGENT + "o0 = 5\n", "unknown key 'o0'"),
    (AGENT.replace('kind = "FP"', 'kind = "FP"\nepsilon = "1/2"'), "unknown key 'epsilon'"),
    ("[world.f.node.X]\ndist = \"bernoulli\"\np = \"'1/2'\"\n", "string '1/2', not a number"),
    ("[world.f.node.X]\nprobs = {0 = \"'1/2'\", 1 = \"1/2\"}\n", "string '1/2'"),
    (MDP.replace('gamma = "1/2"', "gamma = \"'1/2'\""), "string '1/2'"),
    (MDP.replace('reward = "1"', "reward = \"'1'\""), "string '1'"),
    ('[world.f.node.X]\nvalues = [0, 1]\nprob = "X == 1"\n', "truth value"),
    ('[world.f.node.X]\nfn = "1"\np = "1/2"\n', "p = ... is the probability of dist"),
    ('[world.f.node.X]\nkind = "decision"\nvalues = [1]\nfn = "1"\n', "decision node"),
    ('[world.f.node.X]\nkind = "utility"\ndist = "uniform"\nvalues = [1]\n', "utility node"),
    ('[world.f.node.X]\ndist = "bernoulli"\np = "1/2"\nvalues = [1, 2]\n', "values 0 and 1"),
    ('[world.f.node.X]\nvalues = [1, 2]\nprobs = {"01" = "1/2", "2" = "1/2"}\n',
     "probs.01 names a value outside"),
])
def test_no_silent_reinterpretation(spec, message):
    assert re.search(r"t\.toml, line \d+", spec_error(spec, message))


def test_probs_keys_match_the_declared_values():
    spec = load("t.toml", text='[world.f.node.X]\nvalues = ["1", "2"]\n'
                               'probs = {"1" = "1/3", "2" = "2/3"}\n')
    assert derive(spec, "P(X_f == '1')") == sympy.Rational(1, 3)
    assert derive(spec, "P(X_f == 1)") == 0
    spec = load("t.toml", text='[world.f.node.X]\nprobs = {"²" = "1"}\n')
    assert spec.worlds["f"].domain("X") == ("²",)


# ---- every key with a value of the wrong type: a SpecFileError with the line ---------

@pytest.mark.parametrize("spec, message", [
    (DICE + '[world.f.node.T]\nparents = 5\nfn = "G"\n', "parents must be a list"),
    (DICE + '[world.f.node.T]\nparents = [1]\nfn = "G"\n', "parents must be a list"),
    (DICE + '[world.f.node.T]\nparents = ["G", "G"]\nfn = "G"\n', "parents lists 'G' twice"),
    (DICE + '[world.f.node.T]\nparents = ["Q"]\nfn = "1"\n', "parent 'Q' is not a node"),
    ('[world.f.node.X]\nvalues = 5\ndist = "uniform"\n', "values must be a list"),
    ('[world.f.node.X]\nvalues = []\ndist = "uniform"\n', "non-empty list"),
    ('[world.f.node.X]\nvalues = [1, 1]\ndist = "uniform"\n', "same value"),
    ('[world.f.node.X]\nvalues = [1.5]\ndist = "uniform"\n', "float"),
    ('[world.f]\nnode = 5\n', "node must hold tables"),
    ('[world.f.node]\nX = 5\n', "node must hold tables"),
    (DICE + '[world.c]\nfrom = 5\n', "from must be a name in quotes"),
    (DICE + '[world.c]\nfrom = ["f"]\n', "from must be a name in quotes"),
    (DICE + '[world.c]\nfrom = "nowhere"\n', "names no world"),
    (DICE + '[world.c]\nfrom = "f"\nreplace = 5\n', "replace must be a table"),
    ('[world.f.node.X]\nkind = {}\nfn = "1"\n', "kind must be"),
    ('[world.f.node.X]\nfn = "1"\nlabel = 5\n', "label must be a string"),
    ('[world.f.node.X]\ndist = 5\nvalues = [1]\n', "unknown dist 5"),
    ('[world.f.node.X]\nprobs = 5\n', "probs must be a table"),
    ('[world.f.node.X]\nfn = 1.5\n', "float"),
    ('[world.f.node.X]\nfn = [1]\n', "expected an expression string"),
    (MDP.replace('transition_prob = "1 if s2 == u else 0"', "transition = 5"),
     "transition must be tables"),
    (MDP.replace('transition_prob = "1 if s2 == u else 0"', "transition.u = 5"),
     "transition must be tables"),
    (MDP.replace('start = "u"', 'start = ["u"]'), "start must be a state"),
    (MDP.replace('start = "u"', 'start = "w"'), "start = 'w' is not one of the states"),
    (MDP.replace('states = ["u", "v"]', "states = [[1, 2]]"), "states are strings or integers"),
    (MDP.replace('states = ["u", "v"]', 'states = "uv"'), "states must be a list"),
    (MDP.replace('states = ["u", "v"]', 'states = [1, "1"]'), "written alike"),
    (MDP + "horizon = -1\n", "horizon = -1 must be a non-negative integer"),
    (MDP + "horizon = true\n", "horizon = True must be"),
    (MDP + 'horizon = "M"\n', "horizon = 'M' must be"),
    (FACTORED.replace('dynamics.v = "b if a == go else v"', "dynamics = 5"),
     "dynamics must be a table"),
    (FACTORED.replace('dynamics.v = "b if a == go else v"', "dynamics.v = 5"),
     "dynamics.v must be an expression or a table"),
    (FACTORED.replace('start = { v = "a" }', 'start = { v = "c" }'), "start.v = 'c' is not"),
    (FACTORED.replace('start = { v = "a" }', 'start = "a"'), "start must be a table"),
    (FACTORED.replace('variables.v = ["a", "b"]', 'variables.v = "ab"'), "must be a list"),
    (AGENT.replace('env = "m"', 'env = ["m"]'), "env must be a name in quotes"),
    (AGENT.replace('env = "m"', 'env = "q"'), "env = 'q' names no"),
    (AGENT.replace('kind = "FP"', "kind = {}"), "kind must be one of"),
    (AGENT.replace('kind = "FP"', 'kind = "XX"'), "kind must be one of"),
    (AGENT + 'learner = "counting:bogus"\n', "learner must be one of"),
    (AGENT + "learner = 5\n", "learner must be one of"),
    (AGENT + "horizon = [1]\n", "horizon = \\[1\\] must be"),
    (AGENT.replace('kind = "FP"', 'kind = "SI"\nstop = "s == v"\nnull_action = "y"'),
     "null_action = 'y' is not an action"),
    (AGENT.replace('kind = "FP"', 'kind = "SI"\nstop = "s == v"\nnull_action = "x"\n'
                   "T_max = -1"), "T_max = -1 must be a non-negative integer"),
    (AGENT.replace('kind = "FP"', 'kind = "SI"\nstop = "s"\nnull_action = "x"') +
     '[claims]\n"act(fp, u)" = "x"\n', "not true or false"),
    (DICE + '[[observations]]\nworld = "f"\nfile = 5\n', "observation files are CSV"),
    (DICE + '[[observations]]\nworld = 5\nfile = "a.csv"\n', "world must be a name"),
    (DICE + '[[observations]]\nworld = "f"\nfile = "a.csv"\nextra = 1\n', "and nothing else"),
    ("observations = 5\n" + DICE, r"write \[\[observations\]\]"),
    ('params = "p"\n', "params must be a list"),
    ('params = ["1p"]\n', "not an identifier"),
    ('params = ["p"]\n[domains]\np = 5\n', "the domain of p is a condition"),
    ('theorem = 5\n', "theorem must be a string"),
    ('uses = 5\n', "uses must be a file name"),
    ('uses = []\n', "uses must be a file name"),
    ('[claims]\n"1" = [1]\n', "the expected value must be a string"),
])
def test_wrong_types_are_spec_file_errors_with_the_line(spec, message):
    assert re.search(r"t\.toml, line \d+", spec_error(spec, message))


@pytest.mark.parametrize("timeout", ['"abc"', "nan", "inf", "-inf", "0", "-1", "true",
                                     '"5"', "1e9", "[60]"])
def test_property_timeouts_are_finite_positive_numbers(timeout):
    text = AGENT + f'[[property]]\nagent = "fp"\ncheck = "myopic(1)"\ntimeout = {timeout}\n'
    spec_error(text, r"t\.toml, line 15 \(\[\[property\]\] #1\): timeout = .* must be a "
                     "number of seconds")


def test_property_timeout_in_range_is_used():
    spec = load("t.toml", text=AGENT + '[[property]]\nagent = "fp"\ncheck = "myopic(1)"\n'
                                       'timeout = 2.5\n')
    assert spec.properties[0].timeout == 2.5


@pytest.mark.parametrize("entry, message", [
    ('agent = "zz"\ncheck = "myopic(1)"', "agent = 'zz' names no"),
    ('agent = ["fp"]\ncheck = "myopic(1)"', "agent must be a name in quotes"),
    ('agent = "fp"\ncheck = 5', "check = .* is missing"),
    ('agent = "fp"\ncheck = "myopic(1)"\nexpect = 5', "expect must be"),
])
def test_property_entries_with_wrong_types(entry, message):
    spec_error(AGENT + f"[[property]]\n{entry}\n", message)


# ---- numbers too long for Python's int <-> str limit ---------------------------------

def test_long_numbers_are_named_errors_or_shown_by_size(capsys, tmp_path):
    spec_error('[world.f.node.X]\nvalues = [' + "1" * 5000 + ']\ndist = "uniform"\n',
               r"t\.toml, line 2: a number of more than 4,300 digits")
    spec_error('[world.f.node.X]\nfn = "' + "1" * 5000 + '"\n', "more than 4,300 digits")
    spec_error('[world.f.node.X]\nfn = "10**5000"\n', "about 5,000 digits.*MAX_DIGITS")
    spec_error('[world.f.node.X]\nfn = "0x' + "f" * 4000 + '"\n', "MAX_DIGITS")
    spec_error('[world.f.node.X]\nfn = "10**4000 * 10**4000"\n', "about 8,001 digits")
    spec_error('[world.f.node.X]\nprobs = {' + "1" * 5000 + ' = "1"}\n', "4,300 digits")
    assert show(10**5000 + 1) == "[a 5,001-digit integer, about 1.000e+5000]"
    assert show(sympy.Rational(1, 3 * 10**5000)) == "[a fraction of about 3.333e-5001]"
    f = tmp_path / "big.toml"
    f.write_text('[world.f.node.X]\nfn = "10**4000"\n[claims]\n"E(X_f * X_f)" = "1"\n')
    assert main(["check", str(f)]) == 1
    assert "FAIL  E(X_f * X_f) = [a 8,001-digit integer, about 1.000e+8000], expected 1" \
        in capsys.readouterr().out
    assert main(["derive", str(f), "E(X_f * X_f)"]) == 0
    assert capsys.readouterr().out.strip() == "[a 8,001-digit integer, about 1.000e+8000]"
    assert main(["derive", str(f), "E(X_f * X_f)", "--latex"]) == 2
    assert "too large for LaTeX" in capsys.readouterr().err


# ---- expressions that recurse too deep --------------------------------------------------

@pytest.mark.parametrize("text", ["+".join(["1"] * 500), "-" * 600 + "1",
                                  "**".join(["1"] * 3000), "(" * 250 + "1" + ")" * 250,
                                  "not " * 300 + "1", "max(" * 120 + "1" + ", 1)" * 120])
def test_deeply_nested_expressions_are_refused(text):
    spec_error(f'[world.f.node.X]\nfn = "{text}"\n',
               r"t\.toml, line 1 \(node X of world f\), fn: .*(nests|parenthes).*")


def test_nesting_under_the_limit_evaluates_even_on_a_deep_stack():
    def deep(k):
        return deep(k - 1) if k else parse("+".join(["1"] * 99), "t").evaluate({})
    assert deep(sys.getrecursionlimit() - 400) == 99


def test_deeply_nested_toml_is_a_named_error():
    spec_error("[world.f.node.X]\nvalues = " + "[" * 3000 + "]" * 3000 + '\ndist = "uniform"\n',
               r"t\.toml: malformed TOML: arrays or tables nest too deeply")


@pytest.mark.parametrize("spec, message", [
    (MDP + "horizon = 10000000000000000000000000000000000000000\n",
     r"line 2 \(mdp m\): horizon = 10,000,000,000,000,000,000,000,000,000,000,000,000,000 is "
     r"above the limit of 10,000 steps \(cpspec.spec.models.MAX_HORIZON\)"),
    (AGENT + "horizon = 1000000000\n", "horizon = 1,000,000,000 is above the limit"),
    (AGENT + '[claims]\n"value(fp, 1000000000)" = "0"\n', "T = 1,000,000,000 is above the limit"),
    (AGENT + '[claims]\n"act(fp, u, 10**9)" = "x"\n', "t = 1,000,000,000 is above the limit"),
    (AGENT + '[claims]\n"value(fp, -1)" = "0"\n', "T = -1 must be a non-negative integer"),
])
def test_horizons_are_bounded(spec, message):
    t = time.perf_counter()
    spec_error(spec, message)
    assert time.perf_counter() - t < 5


# ---- uses and from chains ---------------------------------------------------------------

def test_a_uses_chain_600_deep_loads(tmp_path):
    for i in range(600):
        (tmp_path / f"s{i}.toml").write_text(f'uses = "s{i + 1}.toml"\n')
    (tmp_path / "s600.toml").write_text('[world.f.node.X]\nfn = "7"\n')
    assert derive(load(tmp_path / "s0.toml"), "E(X_f)") == 7


def test_uses_fan_out_loads_each_file_once(tmp_path, monkeypatch):
    for k in range(30):
        for side in "ab":
            (tmp_path / f"{side}{k}.toml").write_text(
                f'uses = ["a{k + 1}.toml", "b{k + 1}.toml"]\n')
    for side in "ab":
        (tmp_path / f"{side}30.toml").write_text(f'[world.{side}.node.X]\nfn = "1"\n')
    reads = []
    real = specfile.read_text_file
    monkeypatch.setattr(specfile, "read_text_file", lambda p, *a: reads.append(p) or real(p, *a))
    t = time.perf_counter()
    spec = load(tmp_path / "a0.toml")
    assert time.perf_counter() - t < 5
    assert set(spec.worlds) == {"a", "b"}
    assert len(reads) == len(set(map(str, reads))) == 61


def test_uses_cycles_are_errors(tmp_path):
    (tmp_path / "a.toml").write_text('uses = "b.toml"\n')
    (tmp_path / "b.toml").write_text('uses = ["c.toml", "a.toml"]\n')
    (tmp_path / "c.toml").write_text("")
    with pytest.raises(cp.SpecFileError, match=r"b\.toml, line 1 \(uses\): the files use each "
                                               r"other in a cycle: a\.toml -> b\.toml -> a\.toml"):
        load(tmp_path / "a.toml")
    (tmp_path / "self.toml").write_text('uses = "self.toml"\n')
    with pytest.raises(cp.SpecFileError, match="cycle"):
        load(tmp_path / "self.toml")


def test_used_specs_are_not_modified_by_merging(tmp_path):
    (tmp_path / "a.toml").write_text('[world.f.node.X]\nfn = "1"\n')
    (tmp_path / "b.toml").write_text('[world.g.node.X]\nfn = "2"\n')
    (tmp_path / "c.toml").write_text('uses = ["a.toml", "b.toml"]\n[world.f.node.X]\nfn = "3"\n')
    spec = load(tmp_path / "c.toml")
    assert derive(spec, "E(X_f)") == 3 and derive(spec, "E(X_g)") == 2
    assert set(load(tmp_path / "a.toml").worlds) == {"f"}


def test_a_from_chain_of_1000_worlds_in_reverse_order_loads():
    n = 1000
    text = "".join(f'[world.w{i}]\nfrom = "w{i + 1}"\nreplace.X = "{i}"\n' for i in range(n))
    text += f'[world.w{n}.node.X]\nfn = "0"\n[world.w{n}.node.Y]\nfn = "X + 1"\n'
    t = time.perf_counter()
    spec = load("t.toml", text=text)
    assert time.perf_counter() - t < 10
    assert derive(spec, "E(Y_w0)") == 1 and derive(spec, "E(Y_w500)") == 501
    with pytest.raises(cp.SpecFileError, match="w0 -> w1 -> w0 derive from each other"):
        load("t.toml", text='[world.w0]\nfrom = "w1"\n[world.w1]\nfrom = "w0"\n')


# ---- slow or unbounded inputs are refused with the limit -----------------------------

@pytest.mark.parametrize("text, message", [
    ("2**sqrt(10**20)", "MAX_EXPONENT"),
    ("2**(sqrt(2) * 10**6)", "MAX_EXPONENT"),
    ("'%.*d' % (2000000000, 1)", "string formatting with % is not allowed"),
    ("(p + 1)**10000", "degree up to 10,000.*MAX_DEGREE"),
    ("(p + 1)**300 * (p + 1)**300", "MAX_DEGREE"),
    ("(2**10000)**(10000/3)", "MAX_DIGITS"),
])
def test_expensive_expressions_are_refused_quickly(text, message):
    t = time.perf_counter()
    with pytest.raises(cp.SpecFileError, match=message):
        parse(text, "t").evaluate({"p": sympy.Symbol("p", real=True)})
    assert time.perf_counter() - t < 2


def test_strings_cannot_grow_without_bound():
    text = '[world.f.node.X0]\nvalues = ["ab"]\ndist = "uniform"\n' + "".join(
        f'[world.f.node.X{i}]\nfn = "X{i - 1} + X{i - 1}"\n' for i in range(1, 40))
    spec_error(text, "MAX_STRING")


@pytest.mark.parametrize("where", [
    '[world.f.node.X]\ndist = "bernoulli"\np = "\'1e-400000000\'"\n',
    '[world.f.node.X]\ndist = "bernoulli"\np = "1e-400000000"\n',
    MDP.replace('reward = "1"', "reward = \"'1e-400000000'\""),
    MDP.replace('gamma = "1/2"', 'gamma = "1e-400000000"'),
])
def test_tiny_float_strings_are_refused_quickly(where):
    t = time.perf_counter()
    spec_error(where, "(float|not a number)")
    assert time.perf_counter() - t < 2


def test_many_claims_and_many_nodes_load_in_linear_time():
    claims = "".join(f'"P(X_f == 1) + {i}" = "{i} + 1/2"\n' for i in range(6000))
    t = time.perf_counter()
    spec = load("t.toml", text='[world.f.node.X]\nvalues = [1, 2]\ndist = "uniform"\n'
                               "[claims]\n" + claims)
    assert spec.claims[5999].where == "t.toml, line 6004 (claim)"
    assert time.perf_counter() - t < 3
    nodes = "".join(f'[world.f.node.X{i}]\nfn = "X{i - 1} + 1"\n' for i in range(1, 5000))
    t = time.perf_counter()
    spec = load("t.toml", text='[world.f.node.X0]\nfn = "0"\n' + nodes)
    assert time.perf_counter() - t < 5
    assert len(spec.worlds["f"].order) == 5000


# ---- files: only inside the spec's project, only regular UTF-8 files ---------------

@pytest.fixture
def project(tmp_path):
    """A project folder (with pyproject.toml) holding a spec, and a secret beside it."""
    proj = tmp_path / "proj"
    (proj / "specs").mkdir(parents=True)
    (proj / "pyproject.toml").write_text("")
    (proj / "specs" / "dice.toml").write_text(DICE)
    (tmp_path / "secret.csv").write_text("G\nTOP-SECRET-TOKEN\n")
    (tmp_path / "secret.toml").write_text("[world.s.node.X]\nfn = '1'\n")
    return proj


@pytest.mark.parametrize("entry", [
    'uses = "dice.toml"\n[[observations]]\nworld = "f"\nfile = "../../secret.csv"\n',
    'uses = "dice.toml"\n[[observations]]\nworld = "f"\nfile = "{secret}"\n',
    'uses = "../../secret.toml"\n',
    'uses = "{secret_toml}"\n',
])
def test_files_outside_the_project_are_not_read(project, tmp_path, entry, capsys):
    f = project / "specs" / "s.toml"
    f.write_text(entry.format(secret=tmp_path / "secret.csv",
                              secret_toml=tmp_path / "secret.toml"))
    with pytest.raises(cp.SpecFileError, match=r"s\.toml, line \d.*lies outside .*proj") as e:
        load(f)
    assert "TOP-SECRET" not in str(e.value)
    assert main(["check", str(f)]) == 2
    out = capsys.readouterr().out
    assert "lies outside" in out and "TOP-SECRET" not in out
    if "csv" in entry:  # the flag lifts the rule: the file is then read as observations
        assert main(["check", "--allow-outside", str(f)]) == 1
        assert "G = 'TOP-SECRET-TOKEN' lies outside the node's domain" in \
            capsys.readouterr().out


def test_files_inside_the_project_may_climb_folders(project):
    (project / "data").mkdir()
    (project / "data" / "rolls.csv").write_text("G,R,S\n1,2,3\n")
    f = project / "specs" / "sub" / "s.toml"
    f.parent.mkdir()
    f.write_text('uses = "../dice.toml"\n[[observations]]\nworld = "f"\n'
                 'file = "../../data/rolls.csv"\n')
    (r,) = check(load(f))
    assert r.passed and r.rows == 1


@pytest.mark.parametrize("name", ["/etc/passwd", "/etc/hostname", "rows.txt"])
def test_observation_files_must_be_csv_or_json_lines(name):
    spec_error(DICE + f'[[observations]]\nworld = "f"\nfile = "{name}"\n',
               r"line \d+ \(observations\): file = .*CSV \(\.csv\) or JSON lines")


def test_devices_pipes_and_large_files_are_refused(project, monkeypatch):
    spec_dir = project / "specs"
    (spec_dir / "zero.toml").symlink_to("/dev/zero")
    (spec_dir / "a.toml").write_text('uses = "zero.toml"\n')
    with pytest.raises(cp.SpecFileError, match="lies outside"):
        load(spec_dir / "a.toml")
    with pytest.raises(cp.SpecFileError, match="not a regular file"):
        load(spec_dir / "a.toml", allow_outside=True)
    with pytest.raises(cp.SpecFileError, match="uses '/dev/zero': spec files end in .toml"):
        load("t.toml", text='uses = "/dev/zero"\n', allow_outside=True)
    os.mkfifo(spec_dir / "pipe.csv")
    (spec_dir / "b.toml").write_text('uses = "dice.toml"\n[[observations]]\nworld = "f"\n'
                                     'file = "pipe.csv"\n')
    (r,) = check(load(spec_dir / "b.toml"))  # refused without blocking on the pipe
    assert "not a regular file" in r.error
    with pytest.raises(cp.SpecFileError, match="not a regular file"):
        load(spec_dir)
    monkeypatch.setattr(cpspec.spec.files, "MAX_FILE_BYTES", 100)
    (spec_dir / "big.toml").write_text("# " + "x" * 200 + "\n")
    with pytest.raises(cp.SpecFileError, match="203 bytes, above the limit of 100"):
        load(spec_dir / "big.toml")


@pytest.mark.parametrize("which", ["spec", "uses", "observations"])
def test_latin1_files_are_named_errors(project, which):
    d = project / "specs"
    latin = "# caf\u00e9\n".encode("latin-1")
    if which == "spec":
        (d / "s.toml").write_bytes(b"\n" + latin)
        match = r"s\.toml, line 2: byte 0xe9 is not UTF-8; a spec file must be UTF-8"
    elif which == "uses":
        (d / "l.toml").write_bytes(latin)
        (d / "s.toml").write_text('uses = "l.toml"\n')
        match = r"s\.toml, line 1 \(uses\): uses 'l.toml': .*l\.toml, line 1: byte 0xe9"
    else:
        (d / "o.csv").write_bytes(b"G\n" + "\u00e9\n".encode("latin-1"))
        (d / "s.toml").write_text('uses = "dice.toml"\n[[observations]]\nworld = "f"\n'
                                  'file = "o.csv"\n')
        (r,) = check(load(d / "s.toml"))
        assert re.search(r"o\.csv, line 2: byte 0xe9 is not UTF-8", r.error), r.error
        return
    with pytest.raises(cp.SpecFileError, match=match):
        load(d / "s.toml")


def test_malformed_observation_files_name_the_line(tmp_path):
    f = tmp_path / "long.csv"
    f.write_text("G\n1\n" + "x" * 140_000 + "\n")
    with pytest.raises(cp.SpecFileError, match=r"long\.csv, line 3: malformed CSV"):
        cp.read_observations(f)
    f = tmp_path / "deep.jsonl"
    f.write_text('{"G": 1}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(cp.SpecFileError, match=r"deep\.jsonl, line 2: malformed JSON"):
        cp.read_observations(f)
    f = tmp_path / "digits.csv"
    f.write_text("G\n" + "1" * 5000 + "\n")
    with pytest.raises(cp.SpecFileError, match=r"line 2: a number of 5,000 digits"):
        cp.read_observations(f)
    f = tmp_path / "digits.jsonl"
    f.write_text('{"G": ' + "1" * 5000 + "}\n")
    with pytest.raises(cp.SpecFileError, match=r"line 1: malformed JSON"):
        cp.read_observations(f)
    f = tmp_path / "sup.csv"
    f.write_text("G\n\u00b2\n12\n", encoding="utf-8")
    assert cp.read_observations(f) == [(2, {"G": "\u00b2"}), (3, {"G": 12})]


# ---- the command line ------------------------------------------------------------------

def test_check_dir_reports_every_file_and_claim_whatever_fails(tmp_path, capsys, monkeypatch):
    (tmp_path / "a_bad.toml").write_text("[world.f.node.G\n")
    (tmp_path / "b_boom.toml").write_text(
        DICE + '[claims]\n"E(S_f)" = "7"\n"E(G_f)" = "7/2"\n"P(S_f == 12)" = "1/36"\n')
    (tmp_path / "c_good.toml").write_text(DICE + '[claims]\n"E(R_f)" = "7/2"\n')
    real = queries.E

    def E(x, given=None):
        if repr(x) == "G_f":
            raise RuntimeError("deliberate failure inside cpspec")
        return real(x, given)
    monkeypatch.setattr(queries, "E", E)
    assert main(["check", str(tmp_path)]) == 3
    out = capsys.readouterr().out
    assert "malformed TOML" in out
    assert "PASS  E(S_f) = 7" in out
    assert "INTERNAL ERROR E(G_f): RuntimeError: deliberate failure inside cpspec" in out
    assert "PASS  P(S_f == 12) = 1/36" in out
    assert "PASS  E(R_f) = 7/2" in out
    assert "4 checks: 3 pass, 1 fail" in out and "Traceback" not in out


def test_check_reports_an_internal_error_of_a_whole_file(tmp_path, capsys, monkeypatch):
    (tmp_path / "a.toml").write_text(DICE)
    (tmp_path / "b.toml").write_text(DICE + '[claims]\n"E(S_f)" = "7"\n')
    real = specfile.load

    def load_(path, *a, **kw):
        if Path(path).name == "a.toml":
            raise MemoryError()
        return real(path, *a, **kw)
    monkeypatch.setattr(specfile, "load", load_)
    assert main(["check", str(tmp_path)]) == 3
    out = capsys.readouterr().out
    assert "INTERNAL ERROR MemoryError" in out and "PASS  E(S_f) = 7" in out


def test_properties_and_observations_fail_on_their_own(tmp_path, monkeypatch):
    (tmp_path / "rows.csv").write_text("G\n1\n")
    (tmp_path / "s.toml").write_text(
        AGENT + DICE + '[[property]]\nagent = "fp"\ncheck = "myopic(1)"\n'
        '[[property]]\nagent = "fp"\ncheck = "policy_unmodified()"\n'
        '[[observations]]\nworld = "f"\nfile = "rows.csv"\n')
    import cpspec.verification.procedures as verification
    real = verification.verify

    def verify(agent, prop, timeout=60, over=None):
        if "myopic" in str(prop):
            raise KeyError("deliberate")
        return real(agent, prop, timeout=timeout, over=over)
    monkeypatch.setattr(verification, "verify", verify)
    results = check(load(tmp_path / "s.toml"))
    assert [type(r).__name__ for r in results] == ["PropertyResult", "PropertyResult",
                                                   "ObservationResult"]
    assert results[0].internal and "KeyError" in results[0].error
    assert results[1].verdict.status == "holds" and results[2].passed


@pytest.mark.parametrize("argv, message", [
    (["-n", "10000000000"], "-n 10,000,000,000 samples of 3 nodes are 30,000,000,000 values"),
    (["-n", "0"], "must be positive"),
    (["--param", "p"], "--param 'p': write NAME=VALUE"),
    (["--param", "p=1e-400000000"], "1e-400000000 .* is a float"),
    (["--param", "p='1/2'"], "string '1/2', not a number"),
    (["--param", "p=sqrt(-1)"], "not a real number"),
    (["--param", "1=2"], "'1' is not a parameter name"),
])
def test_simulate_refuses_bad_arguments(argv, message, capsys):
    t = time.perf_counter()
    assert main(["simulate", str(ROOT / "specs" / "dice.toml"), "f", *argv]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert time.perf_counter() - t < 5


def test_simulate_takes_exact_parameters(capsys):
    assert main(["simulate", str(ROOT / "specs" / "coins.toml"), "f", "-n", "2000",
                 "--param", "p=1/2", "--param", "q=1"]) == 0
    out = capsys.readouterr().out
    mean = float(re.search(r"Z_f: mean ([0-9.]+)", out).group(1))
    assert abs(mean - 0.5) < 0.05


def test_no_command_shows_a_traceback_for_an_internal_error(monkeypatch, capsys):
    import cpspec.spec.loader as sf
    monkeypatch.setattr(sf, "derive", lambda *a, **k: (_ for _ in ()).throw(ZeroDivisionError()))
    assert main(["derive", str(ROOT / "specs" / "dice.toml"), "E(S_f)"]) == 3
    assert "internal error: ZeroDivisionError" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["sqrt(-((0 if p else 1)))", "(-(1 if p else 2))**(1/2)",
                                  "sqrt(-p**2 - 1)"])
def test_roots_that_sympy_writes_with_i_are_refused(text):
    from cpspec.spec.safeexpr import parse
    p = sympy.Symbol("p", real=True)
    with pytest.raises(cp.SpecError, match="not a real number"):
        parse(text, "test").evaluate({"p": p}, relational_if=True)


def test_parsing_an_expression_prints_no_python_warning(recwarn):
    parse("1if 1 else 0", "test")  # Python warns "invalid decimal literal" on its own
    assert not [w for w in recwarn if issubclass(w.category, SyntaxWarning)]


def test_a_value_named_like_an_expressions_own_name_is_refused_where_it_is_used():
    """A state named s2 in a reward (s2 is the next state there), or one named like a
    parameter: ``s == s2`` would silently compare with the other meaning. Refused where
    an expression names it; a state named so that no expression names is fine."""
    mdp = """
params = ["p"]
[mdp.m]
states = ["s0", "s1", "s2", "p"]
actions = ["go"]
start = "s0"
horizon = 2
transition.s0 = { go = { s1 = "1" } }
transition.s1 = { go = { s2 = "1" } }
transition.s2 = { go = { s2 = "1" } }
transition.p = { go = { p = "1" } }
reward = "%s"
[claims]
"U(pi*)" = "%s"
"""
    spec_error(mdp % ("1 if s == s2 else 0", "1"),
               r"t\.toml, line \d+ \(mdp m\): reward = .* names 's2', which is both the "
               r"next state s2 and the value 's2'; rename that value \(e\.g\. 's2_'\)")
    spec_error(mdp % ("1 if s == p else 0", "0"),
               r"names 'p', which is both the parameter p and the value 'p'")
    # named nowhere in an expression: no clash (s1 reached at step 1 pays 1)
    results = check(load("t.toml", text=mdp % ("1 if s == s1 else 0", "1")))
    assert results and all(r.passed for r in results), [str(r) for r in results]
    factored = """
[mdp.f]
variables = { mood = ["mood", "calm"] }
actions = ["go"]
start = { mood = "calm" }
horizon = 1
dynamics.mood = "calm"
reward = "1 if mood_next == mood else 0"
"""
    spec_error(factored, r"reward = .* names 'mood', which is both the variable mood and the "
                         r"value 'mood'")

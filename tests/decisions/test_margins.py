"""A policy's values and tie conditions computed in python-flint (cpspec.decisions.margins)
are the ones SymPy's field gives: the same field elements and the very same relations,
on MDPs whose numbers are polynomials, rational functions with polynomial denominators,
symbolic rewards and a symbolic discount."""

import itertools
import random

import pytest
import sympy

import cpspec as cp
from conftest import progress_chain
from cpspec.core import boxes
from cpspec.decisions import margins
from cpspec.decisions.solving import ExactModel, _evaluate_stationary, _tie_conditions
from cpspec.errors import ParameterError
from cpspec.inference.polynomials import has_flint_polynomials

p, q, g, r = sympy.symbols("p q gamma r")

pytestmark = pytest.mark.skipif(not has_flint_polynomials(),
                                reason="python-flint's multivariate polynomials")


chain = progress_chain


def odds():
    """Probabilities with polynomial denominators (p / (1 + p)), a symbolic reward r and
    a symbolic discount gamma; three actions, so that ties go both ways."""
    stay = p / (1 + p)

    def transition(s, a):
        if a == "stay":
            return {s: stay, (s + 1) % 3: 1 - stay}
        if a == "jump":
            return {(s + 2) % 3: q, s: 1 - q}
        return {0: 1}
    return cp.MDP([0, 1, 2], ["stay", "jump", "home"], transition,
                  lambda s, a, s2: r if s2 == 2 else (1 if a == "home" else 0), 0,
                  gamma=g)


def geometric():
    """Waiting pays 1 a step and ends with probability p: V(wait) = 1 / d with
    d = 1 - gamma (1 - p); the start's "go" reaches "wait" with probability d itself, so
    d * (1 + gamma / d) cancels (a product whose factors share a polynomial)."""
    d = 1 - g * (1 - p)
    table = {("start", "go"): {"wait": d, "done": 1 - d}, ("start", "quit"): {"done": 1},
             ("wait", "go"): {"wait": 1 - p, "done": p}, ("wait", "quit"): {"done": 1},
             ("done", "go"): {"done": 1}, ("done", "quit"): {"done": 1}}
    return cp.MDP(["start", "wait", "done"], ["go", "quit"], lambda s, a: table[(s, a)],
                  lambda s, a, s2: 0 if s == "done" else (1 if a == "go" else q), "start",
                  gamma=g)


MODELS = [("chain 5, gamma 9/10", chain(5, "9/10")), ("chain 4, gamma 1", chain(4, "1")),
          ("odds", odds()), ("geometric", geometric())]
STATIONARY = [m for m in MODELS if m[0] != "chain 4, gamma 1"]


def canonical(fast, x):
    """``x`` is cancelled and signed as SymPy's field element it converts to."""
    num, den = fast.of(fast.to_field(x))
    return num == x[0] and den == x[1]


def rules_of(mdp):
    return [dict(zip(mdp.states, acts))
            for acts in itertools.product(mdp.actions, repeat=len(mdp.states))]


@pytest.mark.parametrize("name, mdp", STATIONARY, ids=[m[0] for m in STATIONARY])
def test_stationary_values_and_tie_conditions_are_sympys(name, mdp):
    model = ExactModel.of(mdp)
    fast = model.flint
    assert fast is not None
    rules = rules_of(mdp)
    random.Random(4).shuffle(rules)
    checked = 0
    for rule in rules[:12]:
        try:
            V = _evaluate_stationary(model, rule)
        except ParameterError:      # undiscounted and never absorbed: no finite values
            with pytest.raises(ParameterError, match="not finite"):
                fast.stationary_values(rule)
            continue
        W = fast.stationary_values(rule)
        assert {s: fast.to_field(W[s]) for s in mdp.states} == V, rule
        assert all(canonical(fast, w) for w in W.values())
        assert fast.tie_conditions(rule, W) == _tie_conditions(model, rule, V), rule
        for s, a in itertools.product(mdp.states, mdp.actions):
            x = fast.q(s, a, W)
            assert canonical(fast, x) and fast.to_field(x) == model.q(s, a, V)
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize("name, mdp", MODELS, ids=[m[0] for m in MODELS])
def test_finite_horizon_steps_are_sympys(name, mdp):
    model = ExactModel.of(mdp)
    fast = model.flint
    rng = random.Random(7)
    rules = rules_of(mdp)
    for _ in range(4):
        V = {s: model.K.zero for s in mdp.states}
        W = {s: fast.of(V[s]) for s in mdp.states}
        for rule in rng.sample(rules, 3):
            assert fast.tie_conditions(rule, W) == _tie_conditions(model, rule, V)
            V = {s: model.q(s, rule[s], V) for s in mdp.states}
            W = {s: fast.q(s, rule[s], W) for s in mdp.states}
            assert {s: fast.to_field(W[s]) for s in mdp.states} == V


def test_a_stochastic_rule_is_evaluated_as_sympy_evaluates_it():
    mdp = odds()
    model = ExactModel.of(mdp)
    rule = {0: {"stay": sympy.Rational(1, 3), "jump": sympy.Rational(2, 3)}, 1: "home",
            2: {"jump": sympy.Rational(1, 2), "home": sympy.Rational(1, 2)}}
    W = model.flint.stationary_values(rule)
    assert {s: model.flint.to_field(W[s]) for s in mdp.states} == \
        _evaluate_stationary(model, rule)


def test_values_match_a_hand_derivation():
    # one state, "stay" pays r forever with discount gamma: V = r / (1 - gamma)
    mdp = cp.MDP(["s"], ["stay"], lambda s, a: {"s": 1}, lambda s, a, s2: r, "s", gamma=g)
    model = ExactModel.of(mdp)
    W = model.flint.stationary_values({"s": "stay"})
    assert sympy.simplify(model.K.to_sympy(model.flint.to_field(W["s"])) - r / (1 - g)) == 0


def test_a_singular_system_is_the_parameter_error_sympy_gives():
    # gamma = 1 with a cycle: (I - P) is singular for every p
    mdp = cp.MDP(["a", "b"], ["go"], lambda s, a: {"b" if s == "a" else "a": 1},
                 lambda s, a, s2: p, "a", gamma=1)
    model = ExactModel.of(mdp)
    with pytest.raises(ParameterError, match="not finite"):
        model.flint.stationary_values({"a": "go", "b": "go"})
    with pytest.raises(ParameterError, match="not finite"):
        _evaluate_stationary(model, {"a": "go", "b": "go"})


def test_a_conditions_factors_are_remembered_as_polynomials():
    mdp = chain(4, "9/10")
    model = ExactModel.of(mdp)
    rule = {s: "safe" for s in mdp.states}
    conds = model.flint.tie_conditions(rule, model.flint.stationary_values(rule))
    bases = {b for c in conds if isinstance(c, sympy.core.relational.Relational)
             for f in sympy.Mul.make_args(c.lhs) for b in [f.as_base_exp()[0]]
             if b.free_symbols}
    assert bases
    for b in bases:
        known = boxes.known(b, (p, q))
        assert known is not None and known == sympy.Poly(b, p, q)
        assert known.is_irreducible and known.LC() > 0


def test_without_flint_the_model_computes_in_sympy(monkeypatch):
    monkeypatch.setattr(margins, "has_flint_polynomials", lambda: False)
    assert ExactModel.of(chain(4, "9/10")).flint is None
    # and a field that is not one of rational functions over the integers
    assert margins.flint_model(None, sympy.QQ, {}, sympy.QQ(1, 2)) is None


def test_a_negative_leading_denominator_is_signed_on_the_way_in():
    # K keeps 1 / (-6 q - 6) with a negative leading denominator: read as a fraction it
    # is signed, so its condition is SymPy's (q < -1), not the reverse
    from sympy import ZZ
    from cpspec.core.partition import element_condition
    K = ZZ.frac_field(p, q)
    fast = margins.FlintModel(None, K, {}, K.one)
    x = K.from_sympy(1 / (-6 * q - 6))
    assert fast.condition(fast.of(x), True) == element_condition(K, x, True)
    assert canonical(fast, fast.of(x))

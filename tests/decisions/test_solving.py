import itertools
from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings, strategies as st

import cpspec as cp
from cpspec.core.functions import as_sympy
from cpspec.decisions.influence import IDSolution


def delayed(gamma="9/10"):
    """Quick reward 1 now, or reward 3 one step later; 'done' is absorbing."""
    return cp.MDP(
        states=["start", "w", "done"], actions=["take", "wait"],
        transition=lambda s, a: {"w": 1} if (s, a) == ("start", "wait") else {"done": 1},
        reward=lambda s, a, s2: 1 if (s, a) == ("start", "take") else (3 if s == "w" else 0),
        start="start", gamma=gamma)


def discounted_sum(d, horizon, gamma):
    return sum((sympy.sympify(gamma) ** t * d[f"R_{t}"] for t in range(horizon)),
               sympy.Integer(0))


def test_delayed_reward_hand_derived():
    sol = cp.solve(delayed(), 2)
    assert sol.policy(0, "start") == "wait"
    assert sol.value == sympy.Rational(27, 10)
    assert cp.solve(delayed(), 1).policy(0, "start") == "take"
    assert cp.solve(delayed("1/4"), 2).policy(0, "start") == "take"


def test_value_equals_E_of_unrolled_diagram():
    m = delayed()
    for T in (1, 2, 3):
        sol = cp.solve(m, T)
        d = cp.unroll(m, sol, T)
        assert cp.E(discounted_sum(d, T, m.gamma and sympy.Rational(9, 10))) == sol.value


def test_tie_break_is_first_declared_action():
    m = cp.MDP(states=["s"], actions=["b", "a"], transition=lambda s, a: {"s": 1},
               reward=lambda s, a, s2: 1, start="s")
    assert cp.solve(m, 3).policy(0, "s") == "b"
    m2 = cp.MDP(states=["s"], actions=["a", "b"], transition=lambda s, a: {"s": 1},
                reward=lambda s, a, s2: 1, start="s", gamma="1/2")
    assert cp.solve(m2, sympy.oo).policy("s") == "a"


def test_infinite_horizon_policy_iteration():
    # stay: 1 per step forever (1/(1-g)); jump: 5 once then absorbing with 0
    m = cp.MDP(states=["s", "end"], actions=["stay", "jump"],
               transition=lambda s, a: {"end": 1} if s == "end" or a == "jump" else {"s": 1},
               reward=lambda s, a, s2: 0 if s == "end" else (1 if a == "stay" else 5),
               start="s", gamma="9/10")
    sol = cp.solve(m, sympy.oo)
    assert sol.policy("s") == "stay" and sol.value == 10
    sol = cp.solve(m.bind() if False else cp.MDP(m.states, m.actions, m.transition, m.reward,
                                                 "s", "1/2"), sympy.oo)
    assert sol.policy("s") == "jump" and sol.value == 5


def test_parametric_policy_regions_in_gamma():
    g = sympy.Symbol("gamma")
    sol = cp.solve(delayed(g), 2)
    assert isinstance(sol, cp.ParametricSolution)
    assert sol.thresholds() == [sympy.Rational(1, 3)]
    choice = sol.policy(0, "start")
    assert choice.at(sympy.Rational(1, 4)) == "take"
    assert choice.at(sympy.Rational(1, 3)) == "take"  # a tie: first declared action
    assert choice.at(sympy.Rational(1, 2)) == "wait"
    for gv in (sympy.Rational(1, 5), sympy.Rational(1, 3), sympy.Rational(4, 5)):
        concrete = cp.solve(delayed(str(gv)), 2)
        assert sol.at(gv).value.subs(g, gv) == concrete.value
        assert choice.at(gv) == concrete.policy(0, "start")


def test_parametric_infinite_horizon():
    g = sympy.Symbol("gamma")
    m = cp.MDP(states=["s", "end"], actions=["stay", "jump"],
               transition=lambda s, a: {"end": 1} if s == "end" or a == "jump" else {"s": 1},
               reward=lambda s, a, s2: 0 if s == "end" else (1 if a == "stay" else 5),
               start="s", gamma=g)
    sol = cp.solve(m, sympy.oo)
    assert sol.thresholds() == [sympy.Rational(4, 5)]
    assert sol.policy("s").at(sympy.Rational(9, 10)) == "stay"
    assert sympy.simplify(sol.at(sympy.Rational(9, 10)).value - 1 / (1 - g)) == 0


def test_symbolic_horizon_one_state():
    N, g, r = sympy.symbols("N gamma r")
    m = cp.MDP(states=["s"], actions=["a"], transition=lambda s, a: {"s": 1},
               reward=lambda s, a, s2: r, start="s", gamma=g)
    v = cp.solve(m, N).value
    assert sympy.simplify(v.args[1][0] - r * (1 - g**N) / (1 - g)) == 0
    for n in range(5):
        assert sympy.simplify(v.subs(N, n) - cp.solve(m, n).value) == 0


def test_symbolic_horizon_absorbing_chain_matches_concrete():
    N = sympy.Symbol("N", integer=True, nonnegative=True)
    m = cp.MDP(states=["alive", "dead"], actions=["work"],
               transition=lambda s, a: {"alive": "1/2", "dead": "1/2"} if s == "alive"
               else {"dead": 1},
               reward=lambda s, a, s2: 1 if s == "alive" else 0, start="alive", gamma="9/10")
    v = cp.solve(m, N).value
    for n in range(7):
        assert sympy.simplify(v.subs(N, n)) == cp.solve(m, n).value


def test_symbolic_horizon_with_nonstationary_prefix():
    N = sympy.Symbol("N", integer=True, nonnegative=True)
    m = delayed()
    sol = cp.solve(m, N)
    for n in range(7):
        assert sympy.simplify(sol.value.subs(N, n)) == cp.solve(m, n).value
    assert sol.policy(0, "start").at(1) == "take"  # one step to go: take now


def test_symbolic_horizon_without_provable_closed_form_says_so():
    N, g = sympy.symbols("N gamma")
    with pytest.raises((cp.ClosedFormError, cp.ParameterError)):
        cp.solve(delayed(g), N)


# ---- brute force ----------------------------------------------------------------------

@st.composite
def tiny_mdps(draw, gamma=None):
    n = draw(st.integers(1, 3))
    states = list(range(n))
    actions = ["a", "b"][:draw(st.integers(1, 2))]
    P, R = {}, {}
    for s in states:
        for a in actions:
            w = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
            if not any(w):
                w[0] = 1
            P[(s, a)] = {s2: Fraction(x, sum(w)) for s2, x in zip(states, w) if x}
            for s2 in states:
                R[(s, a, s2)] = draw(st.integers(-3, 3))
    g = gamma if gamma is not None else draw(st.sampled_from(["1", "1/2", "9/10"]))
    return cp.MDP(states, actions, lambda s, a: P[(s, a)], lambda s, a, s2: R[(s, a, s2)],
                  start=draw(st.sampled_from(states)), gamma=g)


@settings(max_examples=40, deadline=None)
@given(tiny_mdps(), st.integers(1, 3))
def test_backward_induction_equals_brute_force(m, T):
    sol = cp.solve(m, T)
    keys = [(t, s) for t in range(T) for s in m.states]
    best = None
    for choice in itertools.product(m.actions, repeat=len(keys)):
        table = dict(zip(keys, choice))
        v = cp.evaluate_policy(m, lambda t, s: table[(t, s)], T).value
        best = v if best is None else max(best, v)
    assert sol.value == best


@settings(max_examples=30, deadline=None)
@given(tiny_mdps(gamma="3/4"))
def test_policy_iteration_equals_brute_force(m):
    sol = cp.solve(m, sympy.oo)
    vals = []
    for choice in itertools.product(m.actions, repeat=len(m.states)):
        table = dict(zip(m.states, choice))
        vals.append(cp.evaluate_policy(m, table, sympy.oo).values)
    for s in m.states:
        assert sol.values[s] == max(v[s] for v in vals)


@settings(max_examples=15, deadline=None)
@given(tiny_mdps(), st.integers(1, 2))
def test_solution_value_equals_E_of_unrolled(m, T):
    sol = cp.solve(m, T)
    d = cp.unroll(m, sol, T)
    assert cp.E(discounted_sum(d, T, as_sympy(m.gamma))) == sol.value


def test_simulation_cross_check_of_value():
    m = cp.MDP(states=[0, 1], actions=["x", "y"],
               transition=lambda s, a: {0: "1/3", 1: "2/3"} if a == "x" else {s: 1},
               reward=lambda s, a, s2: s2 * 2 - s, start=0, gamma="1/2")
    sol = cp.solve(m, 3)
    d = cp.unroll(m, sol, 3)
    r = cp.crosscheck(d, discounted_sum(d, 3, sympy.Rational(1, 2)), n=20_000, seed=5)
    assert r.agrees and r.exact == sol.value


def test_factored_mdp_and_its_diagrams():
    m = cp.MDP.factored(
        variables={"pos": [0, 1, 2], "button": ["up", "down"]},
        dynamics={"pos": cp.fn(lambda pos, A: min(pos + 1, 2) if A == "go" else pos),
                  "button": cp.dist(lambda button: {"down": 1} if button == "down"
                                    else {"up": "1/2", "down": "1/2"})},
        actions=["stay", "go"], reward=lambda s, a, s2: 1 if s2.pos == 2 and
        s2.button == "up" else 0,
        start={"pos": 0, "button": "up"}, gamma=1)
    d = cp.unroll(m, lambda s: "go", 2)
    assert {"pos_0", "button_0", "A_0", "pos_1", "button_2", "R_1"} <= set(d.order)
    assert cp.P(d.button_2 == "up") == sympy.Rational(1, 4)
    assert cp.E(d.R_0 + d.R_1) == sympy.Rational(1, 4)
    sol = cp.solve(m, 2)
    assert sol.value == sympy.Rational(1, 4)
    i = cp.influence_diagram(m, 2)
    assert i.node("A_1").kind == "decision" and i.parents("A_1") == ("pos_1", "button_1")


# ---- general influence diagrams -------------------------------------------------------

def test_influence_diagram_of_mdp_solves_like_the_mdp():
    m = delayed()
    d = cp.influence_diagram(m, 2)
    sol = cp.solve(d)
    assert isinstance(sol, IDSolution)
    assert sol.value == cp.solve(m, 2).value
    assert sol.policy("A_0", "start") == "wait"


def test_two_decisions_with_perfect_recall():
    # test a coin, then bet on it after seeing the test
    w = cp.world("w", C=cp.uniform(["h", "t"]),
                 T=cp.decision(["look", "skip"]),
                 O=cp.fn(lambda C, T: C if T == "look" else "?"),
                 B=cp.decision(["h", "t"], parents=["T", "O"]),
                 U=cp.utility(lambda C, B, T: (10 if B == C else 0) - (1 if T == "look" else 0)))
    sol = cp.solve(w)
    assert sol.policy("T") == "look"
    assert sol.policy("B", "look", "t") == "t"
    assert sol.value == 9


def test_unordered_decisions_are_rejected():
    w = cp.world("w", A=cp.decision([0, 1]), B=cp.decision([0, 1]),
                 U=cp.utility(lambda A, B: A + B))
    with pytest.raises(cp.SpecError, match="not ordered"):
        cp.solve(w)


def test_forgetful_decision_is_rejected():
    w = cp.world("w", C=cp.uniform([0, 1]),
                 A=cp.decision([0, 1], parents=["C"]),
                 B=cp.decision([0, 1], parents=["A"]),
                 U=cp.utility(lambda C, B: int(B == C)))
    with pytest.raises(cp.SpecError, match="sufficient recall.*'C'"):
        cp.solve(w)


def test_parametric_influence_diagram():
    p = sympy.Symbol("p")
    w = cp.world("w", X=cp.bernoulli(p), A=cp.decision(["safe", "bet"]),
                 U=cp.utility(lambda X, A: 1 if A == "safe" else 3 * X))
    sol = cp.solve(w)
    c = sol.policy("A")
    assert c.at(sympy.Rational(1, 4)) == "safe" and c.at(sympy.Rational(1, 2)) == "bet"


# ---- bad input ------------------------------------------------------------------------

def test_transition_not_a_distribution():
    with pytest.raises(cp.DistributionError, match=r"state 's', action 'a'"):
        cp.MDP(["s"], ["a"], lambda s, a: {"s": "1/2"}, lambda s, a, s2: 0, "s")


def test_transition_to_unknown_state():
    with pytest.raises(cp.DomainError, match="'x'.*not among"):
        cp.MDP(["s"], ["a"], lambda s, a: {"x": 1}, lambda s, a, s2: 0, "s")


def test_gamma_one_with_infinite_horizon():
    m = cp.MDP(["s"], ["a"], lambda s, a: {"s": 1}, lambda s, a, s2: 1, "s", gamma=1)
    with pytest.raises(cp.ParameterError, match="gamma < 1"):
        cp.solve(m, sympy.oo)


def test_policy_returning_a_non_action():
    m = delayed()
    with pytest.raises(cp.DomainError, match="'jump'.*not an action"):
        cp.unroll(m, lambda s: "jump", 2)


@pytest.mark.parametrize("h", [-1, 1.5, "3"])
def test_bad_horizon(h):
    with pytest.raises(cp.SpecError, match="horizon"):
        cp.solve(delayed(), h)


def test_reward_not_a_number():
    with pytest.raises(cp.FunctionError, match=r"reward\(.s., .a., .s.\).*not an exact number"):
        cp.MDP(["s"], ["a"], lambda s, a: {"s": 1}, lambda s, a, s2: "lots", "s")


def _float_trap(z, actions=("a", "b")):
    after = {"x": Fraction(3, 20), "y": Fraction(1, 10), "z": z}
    half = Fraction(1, 2)
    return cp.MDP(["s", "x", "y", "z"], list(actions),
                  lambda s, a: ({"x": 1} if a == "a" else {"y": half, "z": half})
                  if s == "s" else {s: 1},
                  lambda s, a, s2: after[s] if s != "s" else 0, "s", gamma=1)


def test_backward_induction_is_exact_where_floats_would_pick_the_wrong_action():
    # Q(s, a) = 3/20 and Q(s, b) = (1/10 + 2/10 - d) / 2 = 3/20 - d/2: in floats
    # 0.5 * 0.1 + 0.5 * 0.2 = 0.15000000000000002 > 0.15, so a float argmax picks b
    d = Fraction(1, 10**30)
    sol = cp.solve(_float_trap(Fraction(2, 10) - d), 2)
    assert sol.policy(0, "s") == "a"
    assert sol.value == sympy.Rational(3, 20)
    assert sol.q("s", 0) == {"a": sympy.Rational(3, 20), "b": sympy.Rational(3, 20) - d / 2}
    # an exact tie goes to the first declared action, whatever the floats say
    assert cp.solve(_float_trap(Fraction(2, 10)), 2).policy(0, "s") == "a"
    assert cp.solve(_float_trap(Fraction(2, 10), ("b", "a")), 2).policy(0, "s") == "b"


def test_backward_induction_with_numbers_beyond_floats():
    # rewards of 400 digits overflow floats: the exact comparison decides every step
    big = 10**400
    m = cp.MDP(["s"], ["a", "b"], lambda s, a: {"s": 1},
               lambda s, a, s2: big if a == "a" else big + 1, "s", gamma=Fraction(1, 2))
    sol = cp.solve(m, 3)
    assert [sol.policy(t, "s") for t in range(3)] == ["b", "b", "b"]
    assert sol.value == sympy.Integer(big + 1) * sympy.Rational(7, 4)

    # a discount of 400 digits: its float is fine, its numerator and denominator are not
    g = Fraction(big, big + 1)
    m = cp.MDP(["s"], ["a", "b"], lambda s, a: {"s": 1},
               lambda s, a, s2: 1 if a == "a" else 2, "s", gamma=g)
    assert cp.solve(m, 2).value == 2 * (1 + sympy.Rational(g.numerator, g.denominator))

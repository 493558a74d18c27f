"""cpspec's solvers against independent oracles written without cpspec.

Each oracle works on plain Python tables in ``Fraction`` arithmetic: brute force over
every deterministic policy of an influence diagram, backward induction over an MDP's
tables, enumeration of the joint distribution. The cases that once disagreed are pinned
as regression tests beside the property test of their class.
"""

import itertools
from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings, strategies as st

import cpspec as cp
from cpspec.examples import delayed_reward, dice_world


# ---- influence diagrams: brute force over all deterministic policies ------------------

def _fraction(x):
    x = sympy.Rational(x)
    return Fraction(int(x.p), int(x.q))


class TinyID:
    """An influence diagram as plain tables: ``nodes`` in topological order, each
    ``(name, kind, parents, data)`` with data a dict parent-values -> {value: prob}
    (chance), the action list (decision) or (dict parent-values -> number, weight)
    (utility)."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.by_name = {n[0]: n for n in nodes}

    def __repr__(self):
        return f"TinyID({self.nodes!r})"

    def domain(self, name):
        _, kind, parents, data = self.by_name[name]
        if kind == "chance":  # the values some parent assignment can give
            return sorted({v for key in self.infos(parents) for v in data[key]})
        if kind == "decision":
            return list(data)
        return sorted({u for u in data[0].values()})

    def world(self):
        nodes = []
        for name, kind, parents, data in self.nodes:
            if kind == "chance":
                f = cp.dist(lambda *a, _d=data: {v: p for v, p in _d[a].items()},
                            parents=list(parents))
            elif kind == "decision":
                f = cp.decision(list(data), parents=list(parents))
            else:
                table, w = data
                f = cp.utility(lambda *a, _t=table: _t[a], parents=list(parents), weight=w)
            nodes.append((name, f))
        return cp.world("t", nodes)

    def decisions(self):
        return [n for n in self.nodes if n[1] == "decision"]

    def infos(self, parents):
        return list(itertools.product(*(self.domain(p) for p in parents)))

    def value(self, rules, condition=None, only=None):
        """E(sum weight * U) under deterministic ``rules`` (decision -> info -> action);
        with ``condition`` (a predicate on the full assignment) the conditional
        expectation and the condition's probability; ``only`` restricts the utilities."""
        total, mass = Fraction(0), Fraction(0)

        def walk(i, env, p):
            nonlocal total, mass
            if p == 0:
                return
            if i == len(self.nodes):
                if condition is not None and not condition(env):
                    return
                mass += p
                for name, kind, parents, data in self.nodes:
                    if kind == "utility" and (only is None or name in only):
                        table, w = data
                        total += p * _fraction(w) * Fraction(table[tuple(env[q] for q in
                                                                          parents)])
                return
            name, kind, parents, data = self.nodes[i]
            key = tuple(env[q] for q in parents)
            if kind == "chance":
                for v, q in data[key].items():
                    walk(i + 1, {**env, name: v}, p * q)
            elif kind == "decision":
                act = rules[name][key]
                if callable(act):  # a distribution over actions
                    for a, q in act().items():
                        walk(i + 1, {**env, name: a}, p * q)
                else:
                    walk(i + 1, {**env, name: act}, p)
            else:
                table, _ = data
                walk(i + 1, {**env, name: table[key]}, p)

        walk(0, {}, Fraction(1))
        if condition is None:
            return total
        return (total / mass if mass else None), mass

    def all_rules(self):
        decs = self.decisions()
        per = []
        for name, _, parents, actions in decs:
            infos = self.infos(parents)
            per.append([dict(zip(infos, choice))
                        for choice in itertools.product(actions, repeat=len(infos))])
        for combo in itertools.product(*per):
            yield {d[0]: r for d, r in zip(decs, combo)}

    def optimum(self):
        return max(self.value(r) for r in self.all_rules())

    def downstream(self, name):
        out, frontier = set(), {name}
        while frontier:
            nxt = {n[0] for n in self.nodes if set(n[2]) & frontier} - out
            out |= nxt
            frontier = nxt
        return {n for n in out if self.by_name[n][1] == "utility"}


def _rational_row(draw, values):
    ws = [draw(st.integers(0, 3)) for _ in values]
    if not any(ws):
        ws[draw(st.integers(0, len(ws) - 1))] = 1
    return {v: Fraction(w, sum(ws)) for v, w in zip(values, ws) if w}


@st.composite
def tiny_ids(draw):
    """Two or three totally ordered decisions with perfect recall (so sufficient recall
    holds), chance nodes between them, one to three utilities over random parents."""
    nodes = []
    domains = {}

    def add_chance(name, candidates):
        parents = tuple(p for p in candidates if draw(st.booleans()))
        values = [0, 1]
        data = {key: _rational_row(draw, values)
                for key in itertools.product(*(domains[p] for p in parents))}
        nodes.append((name, "chance", parents, data))
        domains[name] = values

    recall: list = []
    add_chance("C0", [])
    n_dec = draw(st.integers(2, 3))
    policies = 1  # the number of deterministic policies, kept small for brute force
    for j in range(n_dec):
        seen = [n for n in domains if n.startswith("C") and n not in recall]
        actions = ["x", "y", "z"][:draw(st.integers(2, 3 if n_dec == 2 and not j else 2))]
        parents = tuple(recall)
        infos = len(list(itertools.product(*(domains[p] for p in parents))))
        if j >= 2 and policies * len(actions) ** infos > 600:
            break
        for c in seen:
            infos = len(list(itertools.product(*(domains[p] for p in parents + (c,)))))
            if draw(st.booleans()) and policies * len(actions) ** infos <= 600:
                parents += (c,)
        infos = len(list(itertools.product(*(domains[p] for p in parents))))
        policies *= len(actions) ** infos
        nodes.append((f"D{j}", "decision", parents, actions))
        domains[f"D{j}"] = actions
        recall = list(parents) + [f"D{j}"]
        add_chance(f"C{j + 1}", list(domains))
    cands = [n[0] for n in nodes]
    for k in range(draw(st.integers(1, 3))):
        parents = tuple(p for p in cands if draw(st.booleans())) or (cands[-2],)
        table = {key: draw(st.integers(-4, 6))
                 for key in itertools.product(*(domains[p] for p in parents))}
        w = draw(st.sampled_from(["1", "1/2", "2"]))
        nodes.append((f"U{k}", "utility", parents, (table, w)))
    return TinyID(nodes)


def _issue_example():
    U = {(0, "x", "u"): 0, (1, "x", "u"): 10, (0, "y", "u"): 4, (1, "y", "u"): 4,
         (0, "x", "v"): -100, (1, "x", "v"): -100, (0, "y", "v"): 1, (1, "y", "v"): 1}
    half = {0: Fraction(1, 2), 1: Fraction(1, 2)}
    return TinyID([("C", "chance", (), {(): half}),
                   ("D1", "decision", (), ["x", "y"]),
                   ("D2", "decision", ("C", "D1"), ["u", "v"]),
                   ("U", "utility", ("C", "D1", "D2"), (U, "1"))])


def test_later_decision_fixed_changes_the_utility_domain():
    # fixing D2 removes the value -100 from U's domain in the helper diagram; reading the
    # helper's tables with the diagram's value list once summed the wrong utilities
    t = _issue_example()
    sol = cp.solve(t.world())
    assert sol.value == 5 == t.optimum()
    assert sol.policy("D1") == "x"
    assert sol.policy("D2", 1, "x") == "u" and sol.policy("D2", 0, "x") == "u"
    assert sol.policy("D2", 0, "y") == "u"
    assert sol.expected_utilities("D1") == {"x": 5, "y": 4}
    assert sol.expected_utilities("D2", 0, "x") == {"u": 0, "v": -100}


def test_expected_utilities_sum_over_utilities_once():
    w2 = cp.world("w2", C=cp.uniform([0, 1]), D=cp.decision(["x", "y"], parents=["C"]),
                  U1=cp.utility(lambda D: 1 if D == "x" else 0),
                  U2=cp.utility(lambda D, C: 2 if D == "x" else C))
    sol = cp.solve(w2)
    assert sol.expected_utilities("D", 1) == {"x": 3, "y": 1}
    assert sol.expected_utilities("D", 0) == {"x": 3, "y": 0}


def test_decision_reaching_no_utility_has_zero_expected_utilities():
    w = cp.world("w", C=cp.uniform([0, 1]), D=cp.decision(["x", "y"], parents=["C"]),
                 E=cp.decision(["a", "b"], parents=["C", "D"]),
                 U=cp.utility(lambda C: C))
    sol = cp.solve(w)
    assert sol.expected_utilities("D", 0) == {"x": 0, "y": 0}
    assert sol.policy("D", 1) == "x"  # a tie: the first action
    assert sol.value == sympy.Rational(1, 2)


def test_expected_utilities_of_impossible_information_is_an_error():
    w = cp.world("w", C=cp.dist({0: 1, 1: 0}),
                 D=cp.decision(["x", "y"], parents=["C"]),
                 U=cp.utility(lambda D: 1 if D == "y" else 0))
    sol = cp.solve(w)
    assert sol.expected_utilities("D", 0) == {"x": 0, "y": 1}
    with pytest.raises(cp.SpecError, match="probability zero"):
        sol.expected_utilities("D", 1)
    with pytest.raises(cp.SpecError, match="not a decision"):
        sol.expected_utilities("U")


@settings(max_examples=60, deadline=None)
@given(tiny_ids())
def test_influence_diagram_optimum_equals_brute_force(t):
    sol = cp.solve(t.world())
    best = t.optimum()
    assert sol.value == best
    # the returned rules are a policy that attains it
    assert t.value(sol.rules) == best


@settings(max_examples=40, deadline=None)
@given(tiny_ids())
def test_expected_utilities_equal_brute_force_conditionals(t):
    sol = cp.solve(t.world())
    rules = dict(sol.rules)
    decs = t.decisions()
    for j, (name, _, parents, actions) in enumerate(decs):
        down = t.downstream(name)
        # earlier decisions act uniformly at random (any policy gives the same answer
        # under sufficient recall); the later ones follow the solution's rules
        trial = dict(rules)
        for e_name, _, e_parents, e_actions in decs[:j]:
            trial[e_name] = {key: (lambda acts=e_actions: {a: Fraction(1, len(acts))
                                                           for a in acts})
                             for key in t.infos(e_parents)}
        for key in t.infos(parents):
            expect = {}
            for a in actions:
                trial[name] = {k: a for k in t.infos(parents)}
                eu, mass = t.value(trial, lambda env: tuple(env[q] for q in parents) == key,
                                   only=down)
                expect[a] = eu
            if expect[actions[0]] is None:
                with pytest.raises(cp.SpecError, match="probability zero"):
                    sol.expected_utilities(name, *key)
                continue
            assert sol.expected_utilities(name, *key) == expect
            # the rule maximises them, ties to the first action
            top = max(expect.values())
            assert sol.policy(name, *key) == next(a for a in actions if expect[a] == top)


# ---- MDPs: backward induction in Fractions ---------------------------------------------

@st.composite
def tiny_mdps(draw, gamma=None):
    n = draw(st.integers(1, 3))
    states = list(range(n))
    actions = ["a", "b", "c"][:draw(st.integers(1, 3))]
    P, R = {}, {}
    for s in states:
        for a in actions:
            P[(s, a)] = _rational_row(draw, states)
            for s2 in states:
                R[(s, a, s2)] = draw(st.integers(-3, 3))
    g = gamma if gamma is not None else draw(st.sampled_from(["0", "1", "1/2", "9/10"]))
    return P, R, states, actions, Fraction(g), draw(st.sampled_from(states))


def _mdp(spec):
    P, R, states, actions, g, start = spec
    return cp.MDP(states, actions, lambda s, a: P[(s, a)], lambda s, a, s2: R[(s, a, s2)],
                  start=start, gamma=g)


def oracle_backward(spec, T):
    """Q[t][s][a] and V[t][s] (V[T] = 0) by backward induction in Fractions."""
    P, R, states, actions, g, _ = spec
    V = [None] * (T + 1)
    Q = [None] * T
    V[T] = {s: Fraction(0) for s in states}
    for t in reversed(range(T)):
        Q[t] = {s: {a: sum(p * (R[(s, a, s2)] + g * V[t + 1][s2])
                           for s2, p in P[(s, a)].items()) for a in actions}
                for s in states}
        V[t] = {s: max(Q[t][s].values()) for s in states}
    return Q, V


def test_q_at_horizon_one_has_no_step_to_go():
    m = cp.MDP(["s"], ["a"], lambda s, a: {"s": 1}, lambda s, a, s2: 1, "s", gamma="1/2")
    assert cp.solve(m, 1).q("s", 0) == {"a": 1}
    assert cp.solve(m, 2).q("s", 0) == {"a": sympy.Rational(3, 2)}
    assert cp.solve(m, sympy.oo).q("s") == {"a": 2}
    with pytest.raises(cp.SpecError, match="outside"):
        cp.solve(m, 1).policy(7, "s")
    with pytest.raises(cp.SpecError, match="outside"):
        cp.solve(m, 1).q("s", 1)
    with pytest.raises(cp.SpecError, match="depends on time"):
        cp.solve(m, 1).policy("s")
    with pytest.raises(cp.SpecError, match="horizon of 0"):
        cp.solve(m, 0).q("s", 0)
    with pytest.raises(cp.SpecError, match="not a state"):
        cp.solve(m, 1).q("t", 0)


def test_explain_action_at_horizon_one():
    x = cp.explain_action(cp.agents.STH(delayed_reward(), horizon=1), "start")
    assert x.chosen == "take"
    assert x.utilities == {"take": 1, "wait": 0}
    assert x.margins == {"take": 0, "wait": -1}


@settings(max_examples=60, deadline=None)
@given(tiny_mdps(), st.integers(0, 3))
def test_q_values_equal_backward_induction(spec, T):
    m = _mdp(spec)
    sol = cp.solve(m, T)
    Q, V = oracle_backward(spec, T)
    states = spec[2]
    assert sol.value == (sum(p * V[0][s] for s, p in m.mu0.items()) if T else 0)
    for t in range(T):
        for s in states:
            assert sol.q(s, t) == Q[t][s]
            assert sol.next_values(t) == V[t + 1]
            top = max(Q[t][s].values())
            assert sol.policy(t, s) == next(a for a in spec[3] if Q[t][s][a] == top)


@settings(max_examples=30, deadline=None)
@given(tiny_mdps(), st.integers(1, 2))
def test_explain_action_equals_backward_induction(spec, T):
    m = _mdp(spec)
    sol = cp.solve(m, T)
    Q, _ = oracle_backward(spec, T)
    for t in range(T):
        for s in spec[2]:
            x = cp.explain_action(sol, s, t=t)
            assert x.utilities == Q[t][s]
            assert x.chosen == sol.policy(t, s)
            assert x.margins[x.chosen] == 0
            assert all(u <= x.utilities[x.chosen] for u in x.utilities.values())


@settings(max_examples=150, deadline=None)
@given(tiny_mdps(), st.integers(1, 3))
def test_influence_diagram_of_mdp_equals_solve(spec, T):
    m = _mdp(spec)
    assert cp.solve(cp.influence_diagram(m, T)).value == cp.solve(m, T).value


def test_influence_diagram_of_mdp_regression():
    # 2 states, 3 actions, T = 2: the diagram once gave 31/16 against 2, because fixing
    # A_1 to its rule removes reward values from R_1's domain in the helper diagram
    F = Fraction
    P = {(0, "a"): {0: F(1, 4), 1: F(3, 4)}, (0, "b"): {1: F(1)},
         (0, "c"): {0: F(3, 4), 1: F(1, 4)}, (1, "a"): {0: F(1)},
         (1, "b"): {0: F(1, 4), 1: F(3, 4)}, (1, "c"): {0: F(2, 5), 1: F(3, 5)}}
    R = {(0, "a", 0): -1, (0, "a", 1): 0, (0, "b", 0): -3, (0, "b", 1): -1,
         (0, "c", 0): -2, (0, "c", 1): 1, (1, "a", 0): 3, (1, "a", 1): -2,
         (1, "b", 0): 1, (1, "b", 1): -1, (1, "c", 0): -1, (1, "c", 1): 2}
    spec = (P, R, [0, 1], ["a", "b", "c"], F(1), 0)
    m = _mdp(spec)
    _, V = oracle_backward(spec, 2)
    assert V[0][0] == 2
    assert cp.solve(m, 2).value == 2
    assert cp.solve(cp.influence_diagram(m, 2)).value == 2


# ---- impossible conditions: every query verb refuses -----------------------------------

IMPOSSIBLE_QUERIES = {
    "P": lambda f, ev: cp.P(f.S == 2, given=ev),
    "P of a constant event": lambda f, ev: cp.P(f.S == f.S, given=ev),
    "E": lambda f, ev: cp.E(f.S, given=ev),
    "E of a number": lambda f, ev: cp.E(1, given=ev),
    "E of a constant expression": lambda f, ev: cp.E(f.S - f.S + 1, given=ev),
    "distribution": lambda f, ev: cp.distribution(f.S, given=ev),
    "explain": lambda f, ev: cp.explain(f.S, given=ev),
    "explain of a constant": lambda f, ev: cp.explain(f.S - f.S, given=ev),
    "crosscheck": lambda f, ev: cp.crosscheck(f, f.S, given=ev, n=100, seed=1),
}


@pytest.mark.parametrize("verb", sorted(IMPOSSIBLE_QUERIES))
@pytest.mark.parametrize("event", ["S == 99", "G > 6", "(G == 1) & (S == 12)"])
def test_every_query_verb_refuses_an_impossible_condition(verb, event):
    f = dice_world()
    ev = {"S == 99": f.S == 99, "G > 6": f.G > 6,
          "(G == 1) & (S == 12)": (f.G == 1) & (f.S == 12)}[event]
    with pytest.raises(cp.ConditioningError, match="probability-zero"):
        IMPOSSIBLE_QUERIES[verb](f, ev)


def test_constants_given_a_possible_condition():
    f = dice_world()
    assert cp.E(1, given=f.S == 12) == 1
    assert cp.E(f.S - f.S + 2, given=f.S == 12) == 2
    assert cp.E(sympy.Symbol("p")) == sympy.Symbol("p")


# ---- no_incentive: exact brute force over deterministic dynamics ----------------------

def _two_variable_world(tx, ty, R, X):
    return cp.MDP.factored(
        variables={"x": X, "y": [0, 1]},
        dynamics={"x": cp.dist(lambda x, y, A: tx[(x, y, A)]),
                  "y": cp.dist(lambda y, A: ty[(y, A)])},
        actions=["a", "b"], reward=lambda s, a, s2: R[(s.x, s.y, a)],
        start={"x": 0, "y": 0}, gamma="9/10")


@st.composite
def two_variable_worlds(draw):
    X = [0, 1, 2][:draw(st.integers(2, 3))]
    tx = {(x, y, A): _rational_row(draw, X) for x in X for y in (0, 1) for A in "ab"}
    ty = {(y, A): _rational_row(draw, [0, 1]) for y in (0, 1) for A in "ab"}
    R = {(x, y, A): draw(st.integers(-2, 3)) for x in X for y in (0, 1) for A in "ab"}
    return tx, ty, R, X


def _deterministic_flip(tx, ty, R, X):
    """A deterministic table for y's dynamics that changes FP's planned action in some
    state, by exact solving of every table (independent of verify's search)."""
    env = _two_variable_world(tx, ty, R, X)
    nominal = cp.solve(env, sympy.oo)
    configs = list(ty)
    for combo in itertools.product([0, 1], repeat=len(configs)):
        table = {c: {v: Fraction(1)} for c, v in zip(configs, combo)}
        other = cp.solve(_two_variable_world(tx, table, R, X), sympy.oo)
        for s in env.states:
            if other.policy(s) != nominal.policy(s):
                return table, s
    return None


def test_no_incentive_looks_for_witnesses_in_every_state():
    # Z3 times out on the first state (nonlinear in the free dynamics); a deterministic
    # table for y flips FP's planned action: the verdict is fails, not unknown
    F = Fraction
    tx = {(0, 0, "a"): {0: F(1, 3), 1: F(2, 3)}, (0, 0, "b"): {1: F(1)},
          (0, 1, "a"): {1: F(1)}, (0, 1, "b"): {0: F(1, 3), 1: F(2, 3)},
          (1, 0, "a"): {1: F(1)}, (1, 0, "b"): {1: F(1)}, (1, 1, "a"): {1: F(1)},
          (1, 1, "b"): {0: F(1)}}
    ty = {(0, "a"): {0: F(1, 3), 1: F(2, 3)}, (0, "b"): {0: F(1)}, (1, "a"): {1: F(1)},
          (1, "b"): {0: F(2, 3), 1: F(1, 3)}}
    R = {(0, 0, "a"): -2, (0, 0, "b"): 3, (0, 1, "a"): 0, (0, 1, "b"): 3,
         (1, 0, "a"): 3, (1, 0, "b"): 2, (1, 1, "a"): 1, (1, 1, "b"): 2}
    assert _deterministic_flip(tx, ty, R, [0, 1]) is not None
    v = cp.verify(cp.agents.FP(_two_variable_world(tx, ty, R, [0, 1])),
                  cp.no_incentive("y"), timeout=2)
    assert v.status == "fails"
    assert v.counterexample.evidence["confirmed"]
    d = v.counterexample.data
    assert d["flipped"] != d["nominal"]


@settings(max_examples=25, deadline=None)
@given(two_variable_worlds())
def test_no_incentive_fails_whenever_a_deterministic_table_flips_the_action(world):
    found = _deterministic_flip(*world)
    if found is None:
        return  # verify may answer holds, fails (a random table) or unknown
    v = cp.verify(cp.agents.FP(_two_variable_world(*world)), cp.no_incentive("y"),
                  timeout=1)
    assert v.status == "fails"
    assert v.counterexample.evidence["confirmed"]


def test_symbolic_horizon_rule_at_step_t_is_a_choice_over_N():
    N = sympy.Symbol("N", integer=True, nonnegative=True)
    m = delayed_reward(delay=2)
    sol = cp.solve(m, N)
    assert str(sol.policy(1, "start")) == "take if N = 2 or N = 3; wait if 4 <= N"
    for T in range(1, 7):
        concrete = cp.solve(m, T)
        for t in range(T):
            rule = sol.policy(t, "start")
            assert concrete.policy(t, "start") == (rule if isinstance(rule, str)
                                                   else rule.at(T))


def test_parametric_value_is_built_once():
    g = sympy.Symbol("gamma")
    sol = cp.solve(delayed_reward(gamma=g), 2)
    assert sol.value is sol.value
    assert sol.value.subs(g, sympy.Rational(9, 10)) == sympy.Rational(27, 10)


def test_expectations_of_sums_of_thousands_of_terms():
    f = dice_world()
    e = f.S
    for _ in range(3000):
        e = e + f.G
    assert cp.E(e) == 7 + 3000 * sympy.Rational(7, 2)
    assert cp.E(2 * f.S - f.G * 3 - (-f.R)) == 7


@settings(max_examples=40, deadline=None)
@given(tiny_mdps(), st.integers(1, 3))
def test_influence_diagram_of_mdp_chooses_the_same_rules(spec, T):
    # one tie rule everywhere, also at gamma = 0 (where later rewards weigh nothing from
    # the start, yet each later decision still maximises its own next reward)
    m = _mdp(spec)
    sol, idsol = cp.solve(m, T), cp.solve(cp.influence_diagram(m, T))
    Q, _ = oracle_backward(spec, T)
    for t in range(T):
        for s in spec[2]:
            try:
                eu = idsol.expected_utilities(f"A_{t}", s)
            except cp.SpecError:  # S_t = s cannot occur at time t: no rule to compare
                continue
            assert idsol.policy(f"A_{t}", s) == sol.policy(t, s)
            assert eu == Q[t][s]


def test_ties_at_gamma_zero_follow_the_next_reward():
    m = cp.MDP([0, 1], ["a", "b"], lambda s, a: {1: "1/2", 0: "1/2"},
               lambda s, a, s2: 1 if a == "b" else 0, start=0, gamma=0)
    sol, idsol = cp.solve(m, 2), cp.solve(cp.influence_diagram(m, 2))
    assert sol.policy(1, 0) == "b" == idsol.policy("A_1", 0)
    assert sol.value == idsol.value == 1


# ---- honesty guards that no other test protects ----------------------------------------

def test_an_unconfirmed_counterexample_is_reported_as_unknown(monkeypatch):
    # a decision procedure that claims a violation its exact replay does not confirm:
    # verify must not report it as a failure
    import cpspec.verification.procedures as procedures
    from cpspec.verification.records import Counterexample, Outcome

    def claims_too_much(agent, prop, deadline):
        cex = Counterexample("trace", {"states": [], "actions": []}, "made up",
                             {"confirmed": False, "trace_probability": 0})
        return Outcome("fails", cex, None)
    monkeypatch.setitem(procedures.PROCEDURES, "myopic", claims_too_much)
    v = cp.verify(cp.agents.FP(delayed_reward()), cp.myopic(1))
    assert v.status == "unknown" and "did not reproduce" in v.reason
    assert not v.holds


def test_queries_eliminate_only_the_ancestors_of_what_they_ask():
    # two descendants with 300 x 300 tables: a factor limit of 1,000 entries is enough for
    # P(X == 1) only when the barren descendants are pruned
    w = cp.world("w", X=cp.uniform([0, 1]),
                 Y=cp.dist(lambda X: {k: Fraction(1, 300) for k in range(300)}),
                 Z=cp.dist(lambda Y: {Y: Fraction(1, 2), (Y + 1) % 300: Fraction(1, 2)}))
    assert cp.P(w.X == 1, max_factor=1_000) == sympy.Rational(1, 2)
    assert cp.E(w.X, max_factor=1_000) == sympy.Rational(1, 2)
    with pytest.raises(cp.FactorTooLargeError):
        cp.P(w.Z > 5, max_factor=1_000)  # needs the 300 x 300 table of Z


# ---- no_incentive decided by the planning world's structure ----------------------------

def test_si_and_itc_have_no_incentive_by_structure_and_the_contrasts_fail():
    from cpspec.examples import input_terminal, stop_button
    stop = dict(stop_pressed=lambda s: s.button == "pressed", null_action="null")
    v = cp.verify(cp.agents.SI(stop_button(), **stop), cp.no_incentive("button"))
    assert (v.status, v.method) == ("holds", "structure")
    assert "no directed path from 'button'" in v.reason
    v = cp.verify(cp.agents.SIF(stop_button(), **stop), cp.no_incentive("button"))
    assert v.status == "fails" and v.method != "structure"
    assert v.counterexample.evidence["confirmed"]


@st.composite
def worlds_with_a_bystander(draw):
    """Two-variable worlds in which y may or may not reach the reward or x's dynamics."""
    X = [0, 1, 2][:draw(st.integers(2, 3))]
    x_reads_y = draw(st.booleans())
    reward_reads_y = draw(st.booleans())
    tx = {(x, y, A): _rational_row(draw, X) for x in X for y in (0, 1) for A in "ab"}
    if not x_reads_y:
        tx = {(x, y, A): tx[(x, 0, A)] for x in X for y in (0, 1) for A in "ab"}
    ty = {(y, A): _rational_row(draw, [0, 1]) for y in (0, 1) for A in "ab"}
    R = {(x, y, A): draw(st.integers(-2, 3)) for x in X for y in (0, 1) for A in "ab"}
    if not reward_reads_y:
        R = {(x, y, A): R[(x, 0, A)] for x in X for y in (0, 1) for A in "ab"}
    return tx, ty, R, X


@settings(max_examples=30, deadline=None)
@given(worlds_with_a_bystander(), st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)),
                                           min_size=4, max_size=4))
def test_a_structural_holds_survives_every_dynamics_tried(world, weights):
    from cpspec.verification.structure import no_path_certificate
    tx, ty, R, X = world
    agent = cp.agents.FP(_two_variable_world(tx, ty, R, X))
    proof = no_path_certificate(agent, "y")
    if proof is None:
        return
    # the structure said: no dynamics of y changes FP's action. Try every deterministic
    # table and one random rational table, exactly.
    nominal = cp.solve(agent.env, sympy.oo)
    configs = list(ty)
    tables = [{c: {v: Fraction(1)} for c, v in zip(configs, combo)}
              for combo in itertools.product([0, 1], repeat=len(configs))]
    rand = {}
    for c, (a, b) in zip(configs, weights):
        a, b = a + 1, b  # a row with positive mass
        rand[c] = {v: Fraction(w, a + b) for v, w in ((0, a), (1, b)) if w}
    tables.append(rand)
    for table in tables:
        other = cp.solve(_two_variable_world(tx, table, R, X), sympy.oo)
        assert all(other.policy(s) == nominal.policy(s) for s in agent.env.states)


def test_a_node_that_feeds_another_variable_is_not_structurally_irrelevant():
    # the reward reads only x, but x's dynamics reads y: y's dynamics can matter
    m = cp.MDP.factored(
        variables={"x": [0, 1], "y": [0, 1]},
        dynamics={"x": cp.fn(lambda y, A: y if A == "b" else 0),
                  "y": cp.fn(lambda y, A: 0)},
        actions=["b", "a"], reward=lambda s, a, s2: s.x, start={"x": 0, "y": 0},
        gamma="9/10")
    from cpspec.verification.structure import no_path_certificate
    agent = cp.agents.FP(m)
    assert no_path_certificate(agent, "y") is None
    v = cp.verify(agent, cp.no_incentive("y"))
    assert v.status == "fails" and v.counterexample.evidence["confirmed"]
    # by hand: if y became 1 after 'a', 'a' in (0, 0) leads to reward 1 at later steps
    assert (v.counterexample.data["nominal"], v.counterexample.data["flipped"]) == ("b", "a")

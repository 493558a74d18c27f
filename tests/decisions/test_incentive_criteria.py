"""cp.incentives (the graphical criteria of Everitt et al. 2021), cp.value_of_information
and cp.value_of_control: the paper's examples, hand-derived exact values, the guards,
and an independent brute-force oracle on random influence diagrams."""

import itertools
import random
from fractions import Fraction

import pytest
import sympy

import cpspec as cp
from cpspec.decisions import incentive_criteria
from cpspec.decisions.incentive_criteria import has_sufficient_recall, requisite_graph


def flip(v):
    return "b" if v == "a" else "a"


def grades():
    """Everitt et al., Figure 1: a grade predictor P that sees the high school HS
    (influenced by race R) and the gender G; the accuracy Acc rewards predicting the
    grade, which education E (caused by HS) decides."""
    return cp.world(
        "grades", R=cp.uniform(["a", "b"]), G=cp.uniform(["f", "m"]),
        HS=cp.dist(lambda R: {R: "3/4", flip(R): "1/4"}),
        E=cp.dist(lambda HS: {HS: "3/4", flip(HS): "1/4"}),
        Grade=cp.fn(lambda E: E),
        P=cp.decision(["a", "b"], parents=["HS", "G"]),
        Acc=cp.utility(lambda Grade, P: int(Grade == P)))


def recommender():
    """Everitt et al.'s content recommender: the posts D are chosen from a model M of
    the user's original opinions O; they influence the opinions I, which decide the
    clicks C."""
    return cp.world(
        "rec", O=cp.uniform([0, 1]),
        M=cp.dist(lambda O: {O: "4/5", 1 - O: "1/5"}),
        D=cp.decision([0, 1], parents=["M"]),
        I=cp.dist(lambda O, D: {D: "1/2", 1 - D: "1/2"} if O != D else {D: 1}),
        C=cp.utility(lambda I: I))


def coin(p="1/2", sees=False):
    """Guess a coin X (1 with probability p); the decision sees X when ``sees``."""
    return cp.world("coin", X=cp.bernoulli(p),
                    D=cp.decision([0, 1], parents=["X"] if sees else []),
                    U=cp.utility(lambda X, D: int(X == D)))


def sensor(sees_x=False):
    """A fair bit X, a sensor S showing it with probability 3/4; D sees S (and X)."""
    return cp.world("sensor", X=cp.uniform([0, 1]),
                    S=cp.dist(lambda X: {X: "3/4", 1 - X: "1/4"}),
                    D=cp.decision([0, 1], parents=["S", "X"] if sees_x else ["S"]),
                    U=cp.utility(lambda X, D: int(X == D)))


def two_decisions():
    """D1 sees X and is rewarded for matching it; D2 sees X and D1 and is rewarded for
    matching Y, which nobody sees (sufficient recall)."""
    return cp.world("two", X=cp.uniform([0, 1]), Y=cp.uniform([0, 1]),
                    D1=cp.decision([0, 1], parents=["X"]),
                    D2=cp.decision([0, 1], parents=["X", "D1"]),
                    U1=cp.utility(lambda X, D1: int(X == D1)),
                    U2=cp.utility(lambda Y, D2: int(Y == D2)))


def forgetful():
    """D1 sees X; D2 sees only D1 and must match X: no sufficient recall."""
    return cp.world("forgetful", X=cp.uniform([0, 1]),
                    D1=cp.decision([0, 1], parents=["X"]),
                    D2=cp.decision([0, 1], parents=["D1"]),
                    U=cp.utility(lambda X, D2: int(X == D2)))


# ---- the criteria on the paper's examples -----------------------------------------

def test_grade_predictor_figure_1():
    inc = cp.incentives(grades())
    assert inc.decisions == ("P",)
    # HS screens race off the grade: no value of information on R, but a response
    # incentive through HS (the paper's fairness point); G is not requisite
    assert inc.voi == ("HS", "E", "Grade")
    assert inc.ri == ("R", "HS")
    assert inc.voc == ("R", "HS", "E", "Grade", "Acc")
    assert inc.ici == ("P", "Acc")
    assert inc["P"] == inc.rows[0]
    assert sorted(requisite_graph(grades()).predecessors("P")) == ["HS"]


def test_content_recommender_has_a_control_incentive_on_opinions():
    inc = cp.incentives(recommender(), "D")
    assert inc.ici == ("D", "I", "C")       # the posts influence opinions to get clicks
    assert inc.voi == ("O", "M")
    assert inc.ri == ("O", "M")
    assert inc.voc == ("O", "M", "I", "C")


def test_a_simple_observed_cause_of_the_utility():
    w = cp.world("w", X=cp.uniform([0, 1]), D=cp.decision([0, 1], parents=["X"]),
                 U=cp.utility(lambda X, D: int(X == D)))
    inc = cp.incentives(w)
    assert (inc.voi, inc.ri, inc.voc, inc.ici) == (("X",), ("X",), ("X", "U"), ("D", "U"))


def test_an_irrelevant_observation_is_not_requisite():
    w = cp.world("w", X=cp.uniform([0, 1]), Z=cp.uniform([0, 1]),
                 D=cp.decision([0, 1], parents=["X", "Z"]),
                 U=cp.utility(lambda X, D: int(X == D)))
    inc = cp.incentives(w)
    assert inc.voi == ("X",) and inc.ri == ("X",)
    assert "Z" not in inc.voc
    assert cp.value_of_information(w, "Z") == 0


def test_a_screened_off_observation_loses_its_value():
    assert cp.incentives(sensor()).voi == ("X", "S")
    assert cp.incentives(sensor(sees_x=True)).voi == ("X",)   # X screens S off
    assert cp.incentives(sensor(sees_x=True)).ri == ("X",)


def test_two_decisions_with_sufficient_recall():
    w = two_decisions()
    assert has_sufficient_recall(w)
    inc = cp.incentives(w)
    assert inc.decisions == ("D1", "D2")
    d1, d2 = inc["D1"], inc["D2"]
    assert d1.voi == ("X", "Y")   # D1 could pass Y on to D2 (D2 sees D1)
    assert d2.voi == ("Y",)       # X and D1 are not requisite for D2
    assert d1.ri == ("X",) and d2.ri == ()
    assert d1.ici == ("D1", "D2", "U1", "U2") and d2.ici == ("D2", "U2")
    assert inc.voc == ("X", "Y", "U1", "U2")
    with pytest.raises(cp.QueryError, match="incentives\\['D1'\\]"):
        inc.voi
    assert cp.incentives(w, "D2").voi == ("Y",)


def test_no_sufficient_recall_is_refused_naming_the_cycle():
    assert not has_sufficient_recall(forgetful())
    with pytest.raises(cp.QueryError, match="sufficient recall.*D1 -> D2 -> D1"):
        cp.incentives(forgetful())


def test_the_record_prints_as_a_table():
    inc = cp.incentives(two_decisions())
    text = str(inc).splitlines()
    assert text[0] == "incentives of world 'two'"
    assert text[1].split() == ["decision", "VoI", "VoC", "RI", "ICI"]
    assert text[3].startswith("D2") and " - " in text[3]
    md = inc._repr_markdown_()
    assert "| D1 | X, Y | X, Y, U1, U2 | X | D1, D2, U1, U2 |" in md
    with pytest.raises(Exception):
        inc.world = "other"   # frozen


def test_the_criteria_are_met_by_positive_values_on_hand_picked_diagrams():
    # the converse direction (completeness), on parametrisations chosen to show it:
    # with E copying HS = "a" exactly, even race and high school are worth controlling
    w = grades().replace("grades2", E=cp.dist(
        lambda HS: {HS: 1} if HS == "a" else {HS: "3/4", flip(HS): "1/4"}))
    inc = cp.incentives(w)
    values = {x: cp.value_of_information(w, x, "P") for x in inc.voi}
    # P sees HS: 7/8 correct; seeing nothing, it bets on E = "a": 5/8
    assert values == {"HS": sympy.Rational(1, 4), "E": sympy.Rational(1, 8),
                      "Grade": sympy.Rational(1, 8)}
    values = {x: cp.value_of_control(w, x) for x in inc.voc}
    assert values == {"R": sympy.Rational(1, 16), "HS": sympy.Rational(1, 8),
                      "E": sympy.Rational(1, 8), "Grade": sympy.Rational(1, 8),
                      "Acc": sympy.Rational(1, 8)}
    for x in set(w.order) - set(inc.voc) - {"P"}:
        assert cp.value_of_control(w, x) == 0


# ---- exact values, hand-derived -------------------------------------------------------

def test_value_of_information_hand_derived():
    assert cp.value_of_information(coin(), "X", "D") == sympy.Rational(1, 2)
    assert cp.value_of_information(coin("1/3"), "X") == sympy.Rational(1, 3)
    # the link already there: with it minus without it
    assert cp.value_of_information(coin("1/3", sees=True), "X") == sympy.Rational(1, 3)
    # the sensor is right 3/4 of the time: seeing X adds 1/4; so does S itself
    assert cp.value_of_information(sensor(), "X") == sympy.Rational(1, 4)
    assert cp.value_of_information(sensor(), "S") == sympy.Rational(1, 4)
    assert cp.value_of_information(sensor(sees_x=True), "S") == 0
    assert cp.value_of_information(grades(), "E", "P") == sympy.Rational(1, 4)
    assert cp.value_of_information(grades(), "R", "P") == 0


def test_value_of_information_with_two_decisions():
    w = two_decisions()
    assert cp.value_of_information(w, "Y", "D2") == sympy.Rational(1, 2)
    assert cp.value_of_information(w, "X", "D2") == 0


def test_value_of_information_in_closed_form():
    p = sympy.Symbol("p")
    v = cp.value_of_information(coin(p), "X")    # 1 - max(p, 1 - p)
    for q in (0, sympy.Rational(1, 3), sympy.Rational(1, 2), sympy.Rational(4, 5), 1):
        assert v.subs(p, q) == min(q, 1 - q)


def test_value_of_control_hand_derived():
    w = cp.world("w", X=cp.dist({0: "2/3", 1: "1/3"}), D=cp.decision([0, 1]),
                 U=cp.utility(lambda X, D: int(X == D)))
    assert cp.value_of_control(w, "X") == sympy.Rational(1, 3)
    g = grades()
    # setting E = HS makes the seen HS a perfect predictor: 3/4 -> 1
    assert cp.value_of_control(g, "E") == sympy.Rational(1, 4)
    assert cp.value_of_control(g, "Grade") == sympy.Rational(1, 4)
    assert cp.value_of_control(g, "HS") == 0   # P sees HS whatever it is
    assert cp.value_of_control(g, "G") == 0
    assert cp.value_of_control(g, "Acc") == sympy.Rational(1, 4)  # Acc = 1 always
    # the recommender: with O fixed at the posts' value the click is certain
    r = recommender()
    assert cp.value_of_control(r, "I") == cp.value_of_control(r, "C")


def test_value_of_control_in_closed_form():
    p = sympy.Symbol("p")
    v = cp.value_of_control(coin(p), "X")
    for q in (0, sympy.Rational(1, 4), sympy.Rational(1, 2), sympy.Rational(2, 3), 1):
        assert v.subs(p, q) == min(q, 1 - q)


def test_value_of_control_of_a_noisy_sensor():
    w = sensor()
    assert cp.value_of_control(w, "S") == sympy.Rational(1, 4)   # S := X: a perfect sensor
    assert cp.value_of_control(w, "X") == sympy.Rational(1, 4)   # X := the guess
    assert cp.value_of_control(sensor(sees_x=True), "S") == 0


def test_value_of_control_by_one_solve_and_by_enumerated_rules_agree(monkeypatch):
    # W -> X -> D with D seeing W: X as a decision keeps the diagram soluble, so one
    # solve decides; refusing that solve forces the enumeration of X's 4 rules
    w = cp.world("w", W=cp.uniform([0, 1]),
                 X=cp.dist(lambda W: {W: "2/3", 1 - W: "1/3"}),
                 D=cp.decision([0, 1], parents=["W", "X"]),
                 U=cp.utility(lambda X, D: 2 * int(X == D) + X))
    direct = cp.value_of_control(w, "X")
    rules = []
    real_fn = incentive_criteria.fn
    monkeypatch.setattr(incentive_criteria, "fn",
                        lambda *a, **k: rules.append(1) or real_fn(*a, **k))
    assert cp.value_of_control(w, "X") == direct and not rules   # solved directly

    def refuse(*a, **k):
        raise cp.SpecError("refused")
    monkeypatch.setattr(incentive_criteria, "decision_node", refuse)
    # D sees X and matches it: 2 + E(X) = 5/2; with X := 1 always, 3
    assert cp.value_of_control(w, "X") == direct == sympy.Rational(1, 2)
    assert len(rules) == 4


def test_control_enumeration_is_refused_above_its_limit(monkeypatch):
    monkeypatch.setattr(incentive_criteria, "MAX_CONTROL_RULES", 3)
    with pytest.raises(cp.ModelTooLargeError, match="MAX_CONTROL_RULES = 3"):
        cp.value_of_control(grades(), "E")


# ---- guards ---------------------------------------------------------------------------

def no_decision():
    return cp.world("plain", X=cp.uniform([0, 1]), U=cp.utility(lambda X: X))


@pytest.mark.parametrize("call", [
    lambda: cp.incentives(no_decision()),
    lambda: cp.value_of_information(no_decision(), "X"),
    lambda: cp.value_of_control(no_decision(), "X"),
])
def test_a_diagram_without_decisions_is_refused(call):
    with pytest.raises(cp.QueryError,
                       match="incentive query on a diagram without decisions.*cp.decision"):
        call()


@pytest.mark.parametrize("call, verb", [
    (lambda: cp.incentives(grades(), "Q"), "cp.incentives"),
    (lambda: cp.value_of_information(grades(), "Q", "P"), "value_of_information\\('Q', 'P'\\)"),
    (lambda: cp.value_of_information(grades(), "E", "Q"), "value_of_information\\('E', 'Q'\\)"),
    (lambda: cp.value_of_control(grades(), "Q"), "value_of_control\\('Q'\\)"),
])
def test_an_unknown_node_is_named_with_the_nodes(call, verb):
    # the message names the query too, not only the world
    with pytest.raises(cp.UnknownNodeError,
                       match=f"^{verb}: world 'grades' has no node 'Q'; its nodes are R, G, HS"):
        call()


def test_a_node_that_is_not_a_decision_is_refused():
    with pytest.raises(cp.QueryError, match="'E' is a chance node, not a decision.*P"):
        cp.incentives(grades(), "E")
    with pytest.raises(cp.QueryError, match="'Acc' is a utility node, not a decision"):
        cp.value_of_information(grades(), "HS", "Acc")


def test_the_decision_itself_is_refused():
    with pytest.raises(cp.QueryError, match="the decision itself"):
        cp.value_of_information(grades(), "P", "P")
    with pytest.raises(cp.QueryError, match="'P' is a decision, already set"):
        cp.value_of_control(grades(), "P")


def test_value_of_information_on_a_descendant_would_close_a_cycle():
    with pytest.raises(cp.CycleError, match="descendant of 'P' \\(P -> Acc\\).*cycle"):
        cp.value_of_information(grades(), "Acc", "P")


def test_several_decisions_need_one_named():
    with pytest.raises(cp.QueryError, match="several decisions \\(D1, D2\\)"):
        cp.value_of_information(two_decisions(), "Y")


def test_not_a_diagram_is_refused():
    with pytest.raises(cp.QueryError, match="influence diagram"):
        cp.incentives("grades")


def test_an_unsolvable_diagram_is_reported():
    # with the link Y -> D1, D2 (which does not see Y) lacks recall
    with pytest.raises(cp.SpecError, match="cannot solve the diagram where 'D1' sees 'Y'"):
        cp.value_of_information(two_decisions(), "Y", "D1")


def test_a_negative_value_is_reported_as_a_bug(monkeypatch):
    real = incentive_criteria.solve_diagram

    class Broken:
        value = sympy.Integer(0)
    # a solver that undervalues the diagram with the link: VoI would be -1/2
    monkeypatch.setattr(incentive_criteria, "solve_diagram",
                        lambda d: Broken() if "_sees_" in d.name else real(d))
    with pytest.raises(cp.InternalError, match="negative value -1/2"):
        cp.value_of_information(coin(), "X")


# ---- an independent oracle: brute force over deterministic policies -------------------

def random_diagram(seed):
    """A random single-decision diagram on bits: chance nodes C0.. (at most two
    parents), the decision D among them (at most two chance parents), utilities U0 (of
    D and one other node) and U1 with integer tables. Returns the cpspec world and a
    plain description."""
    rng = random.Random(seed)
    n = rng.randint(2, 4)
    order = [f"C{i}" for i in range(n)]
    order.insert(rng.randint(0, n), "D")
    spec = {}
    for i, name in enumerate(order):
        earlier = order[:i]
        if name == "D":
            pool = [e for e in earlier if e != "D"]
            spec[name] = ("decision", rng.sample(pool, min(len(pool), rng.randint(0, 2))), None)
            continue
        parents = rng.sample(earlier, min(len(earlier), rng.randint(0, 2)))
        table = {key: Fraction(rng.randint(1, 5), 6)
                 for key in itertools.product([0, 1], repeat=len(parents))}
        spec[name] = ("chance", parents, table)
    for u in ("U0", "U1"):
        # U0 reads the decision and a random other node: positive values are common
        parents = (["D", rng.choice([o for o in order if o != "D"])] if u == "U0"
                   else rng.sample(order, rng.randint(1, 2)))
        table = {key: rng.randint(0, 3) for key in itertools.product([0, 1], repeat=len(parents))}
        spec[u] = ("utility", parents, table)
    nodes = {}
    for name, (kind, parents, table) in spec.items():
        if kind == "decision":
            nodes[name] = cp.decision([0, 1], parents=parents)
        elif kind == "chance":
            nodes[name] = cp.dist(lambda *a, _t=table: {1: _t[a], 0: 1 - _t[a]},
                                  parents=parents)
        else:
            nodes[name] = cp.utility(lambda *a, _t=table: _t[a], parents=parents)
    return cp.world(f"r{seed}", **nodes), order, spec


def expected_utility(order, spec, d_parents, policy, control=None):
    """Exact EU by enumerating every assignment of the chance bits; ``control`` =
    (node, rule) makes that node the deterministic rule of its parents."""
    chance = [n for n in order if n != "D"]
    total = Fraction(0)
    for bits in itertools.product([0, 1], repeat=len(chance)):
        v = dict(zip(chance, bits))
        v["D"] = policy[tuple(v[p] for p in d_parents)]
        prob = Fraction(1)
        for c in chance:
            _, parents, table = spec[c]
            key = tuple(v[p] for p in parents)
            if control is not None and control[0] == c:
                prob *= 1 if control[1][key] == v[c] else 0
            else:
                prob *= table[key] if v[c] == 1 else 1 - table[key]
            if not prob:
                break
        if prob:
            total += prob * sum(spec[u][2][tuple(v[p] for p in spec[u][1])]
                                for u in ("U0", "U1"))
    return total


def policies(d_parents):
    keys = list(itertools.product([0, 1], repeat=len(d_parents)))
    for acts in itertools.product([0, 1], repeat=len(keys)):
        yield dict(zip(keys, acts))


def best(order, spec, d_parents, control=None):
    return max(expected_utility(order, spec, d_parents, pol, control)
               for pol in policies(d_parents))


def brute_voi(order, spec, x):
    base = [p for p in spec["D"][1] if p != x]
    return best(order, spec, base + [x]) - best(order, spec, base)


def brute_voc(order, spec, x):
    parents = spec[x][1]
    keys = list(itertools.product([0, 1], repeat=len(parents)))
    controlled = max(best(order, spec, spec["D"][1], (x, dict(zip(keys, vals))))
                     for vals in itertools.product([0, 1], repeat=len(keys)))
    return controlled - best(order, spec, spec["D"][1])


def descendants_of_d(order, spec):
    out, frontier = set(), {"D"}
    while frontier:
        frontier = {n for n in order if n not in out
                    and set(spec[n][1]) & frontier} - out
        out |= frontier
    return out


@pytest.mark.parametrize("seed", range(40))
def test_exact_values_match_brute_force_and_imply_the_criteria(seed):
    w, order, spec = random_diagram(seed)
    inc = cp.incentives(w)
    after = descendants_of_d(order, spec)
    chance = [n for n in order if n != "D"]
    for x in chance:
        if x in after:
            continue
        v = cp.value_of_information(w, x, "D")
        assert v == brute_voi(order, spec, x), (seed, x)
        assert v >= 0
        if v > 0:   # soundness: a positive value only where the criterion admits one
            assert x in inc.voi, (seed, x, v)
    x = chance[seed % len(chance)]
    v = cp.value_of_control(w, x)
    assert v == brute_voc(order, spec, x), (seed, x)
    assert v >= 0
    if v > 0:
        assert x in inc.voc, (seed, x, v)

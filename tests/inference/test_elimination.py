"""The elimination core: orders that weigh cardinality, exact integers past int64, wide
final tables; every answer against brute-force enumeration in Fractions."""

from __future__ import annotations

import itertools
import random
from fractions import Fraction

import pytest
import sympy

import cpspec as cp
from cpspec.inference.exact import elimination_order


def brute_force(spec, target, evidence=None):
    """P(target = x, evidence) by enumerating the joint, in Fractions; ``target`` is a
    node name or a function of the assignment."""
    key = target if callable(target) else (lambda a: a[target])
    names = [n for n, _, _ in spec]
    doms = {n: sorted({v for row in rows.values() for v in row}) for n, _, rows in spec}
    out: dict = {}
    for values in itertools.product(*(doms[n] for n in names)):
        a = dict(zip(names, values))
        if any(a[k] != v for k, v in (evidence or {}).items()):
            continue
        p = Fraction(1)
        for n, parents, rows in spec:
            p *= rows[tuple(a[q] for q in parents)].get(a[n], 0)
        out[key(a)] = out.get(key(a), 0) + p
    return out


def to_world(spec):
    return cp.world("w", [(n, cp.dist(lambda *a, _r=rows: _r[a], parents=parents)
                           if parents else cp.dist(rows[()])) for n, parents, rows in spec])


def random_spec(seed, n, card, den):
    """A random network: node i has up to 2 earlier parents and rows of random
    probabilities with denominator ``den``."""
    rng = random.Random(seed)
    spec = []
    for i in range(n):
        parents = [f"X{j}" for j in sorted(rng.sample(range(i), min(i, rng.randint(0, 2))))]
        k = card[i]
        rows = {}
        for cfg in itertools.product(*(range(card[int(p[1:])]) for p in parents)):
            cuts = sorted(rng.randint(0, den) for _ in range(k - 1))
            ps = [b - a for a, b in zip([0] + cuts, cuts + [den])]
            rows[cfg] = {v: Fraction(p, den) for v, p in enumerate(ps) if p}
        spec.append((f"X{i}", parents, rows))
    return spec


def test_the_order_weighs_cardinalities():
    # plain min-fill eliminates A before B and stores a factor over (B:40, D, E) of 80
    # entries; weighing domain sizes finds an order whose widest stored factor has 4
    scopes = [("A",), ("A", "B"), ("A", "C"), ("B", "D"), ("A", "E"), ("D", "E", "F")]
    card = {"A": 2, "B": 40, "C": 2, "D": 2, "E": 2, "F": 2}
    order, widest, scope = elimination_order(scopes, card, set("ABCDE"))
    assert sorted(order) == list("ABCDE")
    assert widest == 4 and len(scope) == 2
    # and it is the best any order achieves (all 120 orders, by hand-simulation)
    assert widest == min(_widest(scopes, card, o) for o in itertools.permutations("ABCDE"))


def _widest(scopes, card, order):
    factors = [set(s) for s in scopes]
    widest = 1
    for v in order:
        touching = [f for f in factors if v in f]
        factors = [f for f in factors if v not in f]
        new = set().union(*touching) - {v}
        size = 1
        for u in new:
            size *= card[u]
        widest = max(widest, size)
        factors.append(new)
    return widest


def test_integers_past_int64_stay_exact():
    # denominators of 10**9 per table: products of two tables already pass 2**63, so the
    # elimination must leave int64 for Python integers to stay exact
    spec = random_spec(7, 9, [3, 2, 4, 3, 2, 3, 4, 2, 3], 10**9)
    d = to_world(spec)
    want = brute_force(spec, "X8")
    got = cp.distribution(d.X8)
    assert got == {k: sympy.Rational(v.numerator, v.denominator) for k, v in want.items()}
    ev = {"X3": 1, "X6": 2}
    want = brute_force(spec, "X8", ev)
    total = sum(want.values())
    got = cp.distribution(d.X8, given=(d.X3 == 1) & (d.X6 == 2))
    assert got == {k: sympy.Rational(v / total) for k, v in want.items()}


def test_an_event_that_observes_every_variable_it_reads():
    # both nodes observed: the elimination ends in a table with no axes, whose integers
    # (2**40 * 3**29) pass int64 and share the factor 2**40 * 3**29 with the denominator
    d = cp.world("w", A=cp.bernoulli(Fraction(2**40, 3**30)),
                 B=cp.bernoulli(Fraction(3**29, 2**50)))
    assert cp.P((d.A == 1) & (d.B == 1)) == sympy.Rational(1, 3 * 2**10)


def test_small_denominators_agree_with_brute_force():
    for seed in range(5):
        spec = random_spec(seed, 8, [2, 3, 2, 4, 2, 3, 2, 5], 20)
        d = to_world(spec)
        want = brute_force(spec, "X7")
        assert cp.distribution(d.X7) == {k: sympy.Rational(v) for k, v in want.items()}


def test_a_clique_over_more_variables_than_einsum_has_labels():
    # a common cause of 55 children, all queried and observed: eliminating H meets 56
    # variables at once (55 with axes of length 1), past einsum's 52 labels
    kids = [f"C{i}" for i in range(55)]
    q = Fraction(3, 4)
    d = cp.world("w", [("H", cp.uniform([0, 1]))] + [
        (k, cp.dist(lambda H: {H: q, 1 - H: 1 - q})) for k in kids])
    _, table, K = cp.marginal(d, kids, evidence={k: 1 for k in kids})
    assert table.shape == (1,) * 55
    want = Fraction(1, 2) * q**55 + Fraction(1, 2) * (1 - q)**55
    assert K.to_sympy(table[(0,) * 55]) == sympy.Rational(want)


def test_no_refusal_where_an_order_fits():
    # a chain through two 100-valued nodes: their joint (10,000 entries) is never needed
    big = list(range(100))
    d = cp.world("w", A=cp.uniform(big),
                 B=cp.dist(lambda A: {A: Fraction(1, 2), (A + 1) % 100: Fraction(1, 2)}),
                 C=cp.dist(lambda B: {B % 2: Fraction(1)}))
    assert cp.P(d.C == 0, max_factor=10_000) == sympy.Rational(1, 2)


def test_sums_of_many_nodes_never_enumerate_their_joint():
    # 24 symbolic coins: the joint has 2**24 rows; the partial sums need 24 small tables
    p = sympy.Symbol("p")
    n = 24
    w = cp.world("coins", [(f"C{i}", cp.bernoulli(p)) for i in range(n)])
    heads = sum((w[f"C{i}"] for i in range(n)), 0)
    got = cp.P(heads == n // 2, max_factor=10_000)
    want = sympy.binomial(n, n // 2) * p**(n // 2) * (1 - p)**(n // 2)
    assert sympy.expand(got - want) == 0
    one = cp.distribution(heads, max_factor=10_000)[1]
    assert sympy.expand(one - n * p * (1 - p)**(n - 1)) == 0


def test_sums_of_dependent_nodes_agree_with_brute_force():
    # the terms share parents: partial sums are functions of the nodes, so the joint is
    # unchanged; compare with enumeration
    spec = random_spec(3, 7, [2, 3, 2, 3, 2, 3, 2], 12)
    d = to_world(spec)
    total = sum((d[f"X{i}"] for i in range(1, 7)), 0)

    def heads(a):
        return sum(a[f"X{i}"] for i in range(1, 7))

    want = brute_force(spec, heads)
    assert cp.distribution(total) == {k: sympy.Rational(v) for k, v in want.items() if v}
    given = brute_force(spec, heads, {"X0": 1})
    norm = sum(given.values())
    assert cp.P(total >= 5, given=d.X0 == 1) == sympy.Rational(
        sum(v for k, v in given.items() if k >= 5) / norm)


def test_partial_sums_too_large_for_the_limit_are_not_built():
    # 200 coins under a limit of 10,000 entries: the partial sums' tables (up to
    # 200 x 2 x 201) do not fit, so the query is refused the usual way, naming the coins
    w = cp.world("w", [(f"X{i}", cp.uniform([0, 1])) for i in range(200)])
    with pytest.raises(cp.FactorTooLargeError, match=r"over \(X") as e:
        cp.P(sum((w[f"X{i}"] for i in range(200)), 0) == 0, max_factor=10_000)
    assert "partial_sum" not in str(e.value)
    assert cp.P(sum((w[f"X{i}"] for i in range(20)), 0) == 0, max_factor=10_000) \
        == sympy.Rational(1, 2**20)


def test_integers_of_thousands_of_bits_stay_exact():
    # a chain of 40 noisy copies with 40-digit probabilities: P(X_k = 1 | X_0 = 0) is
    # (1 - (2q - 1)**k) / 2, whose numbers pass 1,000 bits (GMP integers take over)
    q = Fraction(10**40 - 7, 10**40)
    k = 40
    nodes = [("X0", cp.uniform([0, 1]))]
    for i in range(1, k + 1):
        nodes.append((f"X{i}", cp.dist(lambda x: {x: q, 1 - x: 1 - q}, parents=[f"X{i - 1}"])))
    d = cp.world("chain", nodes)
    want = (1 - (2 * q - 1)**k) / 2
    assert cp.P(d[f"X{k}"] == 1, given=d.X0 == 0) == sympy.Rational(want)
    assert cp.P((d[f"X{k}"] == 1) & (d.X0 == 0)) == sympy.Rational(want / 2)


def test_a_parent_the_table_ignores_is_cut():
    # C's rows are the same for all 1,000 values of H: C does not depend on H, so the
    # query never meets H's table (1,000 entries, above the limit of 100)
    d = cp.world("w", H=cp.uniform(range(1000)),
                 C=cp.dist(lambda H: {0: Fraction(1, 3), 1: Fraction(2, 3)}))
    assert cp.distribution(d.C, max_factor=100) == {0: sympy.Rational(1, 3),
                                                    1: sympy.Rational(2, 3)}
    # a table that does depend on H is still refused
    e = cp.world("w", H=cp.uniform(range(1000)),
                 C=cp.dist(lambda H: {0: Fraction(1, 3 + H % 2), 1: 1 - Fraction(1, 3 + H % 2)}))
    with pytest.raises(cp.FactorTooLargeError):
        cp.distribution(e.C, max_factor=100)


def test_an_observation_that_does_not_tell_a_parent_apart_cuts_it():
    # E's probability of the observed value 1 is 1/4 whatever H is: observing it says
    # nothing about H, which is not needed for P(C, E = 1) (H's table: 1,000 entries)
    d = cp.world("w", H=cp.uniform(range(1000)),
                 E=cp.dist(lambda H: {1: Fraction(1, 4), 0: Fraction(3, 4)} if H % 2
                           else {1: Fraction(1, 4), 2: Fraction(3, 4)}),
                 C=cp.bernoulli(Fraction(2, 7)))
    assert cp.P((d.C == 1) & (d.E == 1), max_factor=100) == sympy.Rational(2, 28)
    assert cp.P(d.C == 1, given=d.E == 1, max_factor=100) == sympy.Rational(2, 7)
    # the other value does tell H apart: H stays, and the query is refused
    with pytest.raises(cp.FactorTooLargeError):
        cp.P(d.C == 1, given=d.E == 0, max_factor=100)


def test_an_impossible_observation_in_a_part_cut_off_from_the_query():
    # B == 2 is impossible in a part of the network unconnected to A: it is not computed
    # for the conditional, but its probability 0 must still be seen
    d = cp.world("w", A=cp.bernoulli(Fraction(1, 3)), G=cp.uniform([0, 1]),
                 B=cp.dist(lambda G: {G: Fraction(1)}))
    with pytest.raises(cp.ConditioningError):
        cp.P(d.A == 1, given=d.B == 2)
    with pytest.raises(cp.ConditioningError):
        cp.P(d.A == 1, given=(d.B == 0) & (d.G == 1))
    with pytest.raises(cp.ConditioningError):
        cp.distribution(d.A, given=(d.B == 0) & (d.G == 1))
    assert cp.P(d.A == 1, given=(d.B == 1) & (d.G == 1)) == sympy.Rational(1, 3)
    assert cp.P((d.A == 1) & (d.B == 1)) == sympy.Rational(1, 6)


def random_sparse_spec(seed, n, den):
    """:func:`random_spec` with some tables equal for every parent value, and some rows
    sharing the probability of a value, so that tables ignore parents and observations
    cut the network."""
    rng = random.Random(seed)
    spec = []
    card = [rng.randint(2, 3) for _ in range(n)]
    for i in range(n):
        parents = [f"X{j}" for j in sorted(rng.sample(range(i), min(i, rng.randint(0, 3))))]
        k = card[i]
        kind = rng.random()

        def row():
            cuts = sorted(rng.randint(0, den) for _ in range(k - 1))
            ps = [b - a for a, b in zip([0] + cuts, cuts + [den])]
            return {v: Fraction(p, den) for v, p in enumerate(ps) if p}

        shared, first = row(), rng.randint(1, den - 1)
        rows = {}
        for cfg in itertools.product(*(range(card[int(p[1:])]) for p in parents)):
            if kind < 0.3:  # ignores its parents
                rows[cfg] = shared
            elif kind < 0.6:  # value 0 has one probability, the rest vary
                rest = den - first
                cut = rng.randint(0, rest)
                ps = [first, cut, rest - cut] if k == 3 else [first, rest]
                rows[cfg] = {v: Fraction(p, den) for v, p in enumerate(ps) if p}
            else:
                rows[cfg] = row()
        spec.append((f"X{i}", parents, rows))
    return spec


@pytest.mark.parametrize("seed", range(12))
def test_pruned_queries_agree_with_brute_force(seed):
    rng = random.Random(100 + seed)
    spec = random_sparse_spec(seed, 9, rng.choice([10, 10**9, 10**12]))
    d = to_world(spec)
    target = f"X{rng.randrange(9)}"
    observed = rng.sample([f"X{i}" for i in range(9) if f"X{i}" != target], 3)
    ev = {o: rng.choice([0, 0, 1]) for o in observed}
    want = brute_force(spec, target, ev)
    given = None
    for k, v in ev.items():
        given = (d[k] == v) if given is None else given & (d[k] == v)
    total = sum(want.values())
    if total == 0:
        with pytest.raises(cp.ConditioningError):
            cp.distribution(d[target], given=given)
    else:
        got = cp.distribution(d[target], given=given)
        assert got == {k: sympy.Rational(v / total) for k, v in want.items() if v}
    # the unnormalised joint keeps its absolute value
    x = next(iter(want), 0)
    assert cp.P((d[target] == x) & given) == sympy.Rational(want.get(x, 0))


def sparse_clique_spec(seed, den):
    """X0 -> X1 -> X2 and X0 -> X2 over 16 values each, X0 uniform and every other row
    with 2 non-zero values of denominator ``den``: eliminating X0 or X1 meets a clique
    of 16**3 = 4,096 entries of which one in 64 is a non-zero product."""
    rng = random.Random(seed)
    spec = [("X0", [], {(): {v: Fraction(1, 16) for v in range(16)}})]
    for i in (1, 2):
        parents = [f"X{j}" for j in range(i)]
        rows = {}
        for cfg in itertools.product(range(16), repeat=i):
            a = sum(cfg) % 16  # every value is possible
            b = (a + rng.randint(1, 15)) % 16
            p = rng.randint(1, den - 1)
            rows[cfg] = {a: Fraction(p, den), b: Fraction(den - p, den)}
        spec.append((f"X{i}", parents, rows))
    return spec


def test_sparse_cliques_multiply_only_their_non_zero_products(monkeypatch):
    from cpspec.inference import exact
    listed = []
    original = exact._sparse_contract

    def spy(factors, keep, convert):
        out = original(factors, keep, convert)
        listed.append(out is not None)
        return out

    monkeypatch.setattr(exact, "_sparse_contract", spy)
    spec = sparse_clique_spec(1, 10**15)
    d = to_world(spec)
    want = brute_force(spec, "X2")
    assert cp.distribution(d.X2) == {k: sympy.Rational(v) for k, v in want.items() if v}
    assert True in listed  # 3 tables of 50-bit integers: past int64, and sparse
    want = brute_force(spec, "X0", {"X2": 3})
    total = sum(want.values())
    assert cp.distribution(d.X0, given=d.X2 == 3) == {
        k: sympy.Rational(v / total) for k, v in want.items() if v}


@pytest.mark.parametrize("seed", range(6))
def test_every_contraction_through_the_sparse_path_is_exact(seed, monkeypatch):
    # the thresholds lowered so that every product of two or more factors past int64
    # goes through the listing of non-zero products: tables of 1, 2 and more axes,
    # results with no axes, all-zero cliques (impossible observations) and GMP integers
    from cpspec.inference import exact
    monkeypatch.setattr(exact, "_SPARSE_MIN", 0)
    monkeypatch.setattr(exact, "_SPARSE_SHARE", 1.0)
    test_pruned_queries_agree_with_brute_force(seed)
    spec = random_spec(seed, 8, [3, 2, 4, 3, 2, 3, 4, 2], 10**12)
    d = to_world(spec)
    want = brute_force(spec, "X7")
    assert cp.distribution(d.X7) == {k: sympy.Rational(v) for k, v in want.items()}
    assert cp.P((d.X7 == 1) & (d.X2 == 0)) == sympy.Rational(
        brute_force(spec, "X7", {"X2": 0}).get(1, 0))
    if seed == 0:
        test_integers_of_thousands_of_bits_stay_exact()
        test_an_event_that_observes_every_variable_it_reads()

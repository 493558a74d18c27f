"""The polynomial backends of symbolic exact inference: python-flint's ``fmpz_mpoly`` and
SymPy's polynomials give the same tables, the same canonical SymPy answers, and the
answers of a brute-force enumeration of the joint."""

import itertools
import os
import random
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
import sympy
from sympy.polys.constructor import construct_domain
from sympy.polys.domains import EX, QQ

import cpspec as cp
from conftest import REPO
from cpspec.errors import QueryError
from cpspec.inference.exact import through_partial_sums
from cpspec.inference.polynomials import (
    FlintPolynomials, SymPyPolynomials, field_to_sympy, has_flint_polynomials,
    polynomial_ring)

needs_flint = pytest.mark.skipif(not has_flint_polynomials(),
                                 reason="python-flint's fmpz_mpoly is not installed")

p, q, r = sympy.symbols("p q r")


def random_symbolic_network(n, symbols, seed, max_parents=3):
    """``(name, parents, {parent configuration: P(node = 1)})`` for binary nodes whose
    tables mix rationals, symbols, complements and scaled products of symbols."""
    rng = random.Random(seed)
    spec = []
    for i in range(n):
        k = rng.randint(0, min(max_parents, i))
        parents = sorted(rng.sample(range(max(0, i - 4), i), min(k, i - max(0, i - 4))))
        rows = {}
        for cfg in range(2 ** len(parents)):
            kind = rng.randrange(4)
            if kind == 0:
                x = sympy.Rational(rng.randint(1, 9), 10)
            elif kind == 1:
                x = rng.choice(symbols)
            elif kind == 2:
                x = 1 - rng.choice(symbols)
            else:
                x = (rng.choice(symbols) * rng.choice(symbols)
                     * sympy.Rational(rng.randint(1, 9), 10))
            rows[cfg] = x
        spec.append((f"X{i}", [f"X{j}" for j in parents], rows))
    return spec


def build(spec, name="b"):
    nodes = []
    for node, parents, rows in spec:
        def f(*args, _rows=rows):
            cfg = 0
            for a in args:
                cfg = cfg * 2 + a
            return {1: _rows[cfg], 0: 1 - _rows[cfg]}
        nodes.append((node, cp.dist(f, parents=parents)))
    return cp.world(name, nodes)


def brute_force(spec, event):
    """P(event) by enumerating every assignment of the joint (an independent oracle: no
    elimination, no domains, plain SymPy products)."""
    names = [n for n, _, _ in spec]
    total = sympy.Integer(0)
    for values in itertools.product((0, 1), repeat=len(names)):
        a = dict(zip(names, values))
        if not event(a):
            continue
        w = sympy.Integer(1)
        for node, parents, rows in spec:
            cfg = 0
            for x in parents:
                cfg = cfg * 2 + a[x]
            w *= rows[cfg] if a[node] else 1 - rows[cfg]
        total += w
    return total


def tables(d, names, backend, evidence=None):
    got, arr, K = cp.marginal(d, names, evidence=evidence, backend=backend)
    return got, [K.to_sympy(x) for x in arr.reshape(-1)], arr, K


# ---- the backends agree ----------------------------------------------------------------

@needs_flint
@pytest.mark.parametrize("seed", range(6))
def test_flint_and_sympy_give_the_same_tables_on_random_networks(seed):
    spec = random_symbolic_network(14, (p, q, r), seed)
    d = build(spec)
    rng = random.Random(seed)
    names = rng.sample([n for n, _, _ in spec], 2)
    evidence = {rng.choice([n for n, _, _ in spec if n not in names]): rng.randint(0, 1)}
    for ev in (None, evidence):
        names_s, exprs_s, arr_s, K = tables(d, names, "sympy", ev)
        names_f, exprs_f, arr_f, K_f = tables(d, names, "flint", ev)
        assert names_f == names_s and K_f == K
        # the same field elements (numerator and denominator, cancelled and signed alike)
        # and so the same SymPy expressions, not merely equal ones
        assert list(arr_f.reshape(-1)) == list(arr_s.reshape(-1))
        assert exprs_f == exprs_s
        if K.is_FractionField:  # (the observation may leave only rational tables)
            for x in arr_f.reshape(-1):  # SymPy's monomials are tuples of Python ints
                assert all(type(e) is int for m in K.numer(x) for e in m)


@needs_flint
def test_the_default_backend_is_flint_and_the_answer_is_sympy_s():
    spec = random_symbolic_network(10, (p, q), 3)
    d = build(spec)
    got = cp.P(d["X9"] == 1)
    _, exprs, _, _ = tables(d, ["X9"], "sympy")
    assert got == exprs[1]
    assert polynomial_ring(construct_domain([p], field=True)[0]).name == "flint"


# ---- against brute force ---------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("backend", ["sympy", pytest.param("flint", marks=needs_flint)])
def test_marginals_match_the_enumerated_joint(seed, backend):
    spec = random_symbolic_network(8, (p, q), seed)
    d = build(spec)
    last, other = "X7", f"X{seed}"
    _, exprs, _, _ = tables(d, [last], backend)
    for v in (0, 1):
        assert sympy.cancel(exprs[v] - brute_force(spec, lambda a: a[last] == v)) == 0
    # with evidence: the unnormalised joint P(last = 1, other = 1)
    _, exprs, _, _ = tables(d, [last], backend, {other: 1})
    want = brute_force(spec, lambda a: a[last] == 1 and a[other] == 1)
    assert sympy.cancel(exprs[1] - want) == 0


def test_the_public_verbs_match_the_enumerated_joint():
    spec = random_symbolic_network(7, (p, q), 11)
    d = build(spec)
    joint = brute_force(spec, lambda a: a["X6"] == 1 and a["X2"] == 0)
    given = brute_force(spec, lambda a: a["X2"] == 0)
    assert sympy.cancel(cp.P(d["X6"] == 1, given=d["X2"] == 0) - joint / given) == 0
    assert sympy.cancel(cp.E(d["X6"]) - brute_force(spec, lambda a: a["X6"] == 1)) == 0
    dist = cp.distribution(d["X6"] + d["X5"])
    assert sympy.cancel(dist[2] - brute_force(spec, lambda a: a["X6"] + a["X5"] == 2)) == 0


# ---- cancelling: the hand-derived cases -------------------------------------------------

def test_a_common_polynomial_factor_is_cancelled():
    # X = 1 with p/(1+p); Y = 1 with 1/2 whatever X: P(Y = 1) = (p + 1) / (2 (1 + p)) = 1/2,
    # which only a gcd of numerator and denominator can see
    d = cp.world("c", X=cp.dist(lambda: {1: p / (1 + p), 0: 1 / (1 + p)}),
                 Y=cp.dist(lambda X: {1: Fraction(1, 2), 0: Fraction(1, 2)}))
    for backend in ["sympy"] + (["flint"] if has_flint_polynomials() else []):
        _, arr, K = cp.marginal(d, ["Y"], backend=backend)
        assert arr[1] == K.from_sympy(sympy.Rational(1, 2))
        assert K.to_sympy(arr[1]) == sympy.Rational(1, 2)
        _, arr, K = cp.marginal(d, ["X"], backend=backend)
        assert K.to_sympy(arr[1]) == p / (p + 1)


@needs_flint
def test_to_field_cancels_and_signs_as_sympy_does():
    K = construct_domain([p, q], field=True)[0]
    R = FlintPolynomials(K)
    S = SymPyPolynomials(K)
    cases = [(2 * p * q - 2 * q, 4 - 4 * p), (p**2 - 1, -(p + 1) * q), (6 * p, -3),
             (p - q, q - p), (3, 9 * q**2 - 9)]
    for num, den in cases:
        n_f, _ = R.split(K.from_sympy(sympy.Integer(1) * num))
        d_f, _ = R.split(K.from_sympy(sympy.Integer(1) * den))
        n_s, _ = S.split(K.from_sympy(sympy.Integer(1) * num))
        d_s, _ = S.split(K.from_sympy(sympy.Integer(1) * den))
        got, want = R.to_field(n_f, d_f), S.to_field(n_s, d_s)
        assert got == want, (num, den)
        assert (got.numer, got.denom) == (want.numer, want.denom)
        assert K.to_sympy(got) == sympy.cancel(num / den)


@needs_flint
def test_an_observed_value_outside_the_domain_has_probability_zero():
    d = build(random_symbolic_network(6, (p,), 2))
    _, arr, K = cp.marginal(d, ["X5"], evidence={"X3": 7}, backend="flint")
    assert all(not x for x in arr.reshape(-1))


@needs_flint
def test_sympy_without_flint_integers_gets_its_own_coefficients():
    # SymPy on gmpy2 integers (SYMPY_GROUND_TYPES=gmpy) while python-flint is installed:
    # FLINT's coefficients are converted, and the tables still agree
    code = (
        "import sys; sys.path[:0] = ['tests', 'tests/inference']\n"
        "import sympy\n"
        "from sympy.external.gmpy import GROUND_TYPES\n"
        "assert GROUND_TYPES != 'flint', GROUND_TYPES\n"
        "from test_polynomials import build, random_symbolic_network, tables, p, q\n"
        "d = build(random_symbolic_network(12, (p, q), 5))\n"
        "_, a, arr_a, _ = tables(d, ['X11'], 'sympy')\n"
        "_, b, arr_b, _ = tables(d, ['X11'], 'flint')\n"
        "assert a == b and list(arr_a) == list(arr_b), (a, b)\n"
        "print('agree')\n")
    env = dict(os.environ, SYMPY_GROUND_TYPES="gmpy", PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "agree" in out.stdout, out.stderr


# ---- sums of many i.i.d. nodes ---------------------------------------------------------

@pytest.mark.parametrize("backend", ["sympy", pytest.param("flint", marks=needs_flint)])
def test_sums_of_coins_go_through_partial_sums_in_either_backend(backend):
    n = 12
    w = cp.world("coins", [(f"C{i}", cp.bernoulli(p)) for i in range(n)])
    d, e = through_partial_sums(w, sum((w[f"C{i}"] for i in range(n)), 0) == n // 2)
    _, arr, K = cp.marginal(d, [e.args[0].node], backend=backend)
    got = K.to_sympy(arr[n // 2])
    want = sympy.binomial(n, n // 2) * p**(n // 2) * (1 - p)**(n // 2)
    assert sympy.expand(got - want) == 0
    assert got == cp.P(sum((w[f"C{i}"] for i in range(n)), 0) == n // 2)


# ---- bad input -------------------------------------------------------------------------

def test_an_unknown_backend_is_refused_with_the_choices():
    d = build(random_symbolic_network(4, (p,), 1))
    with pytest.raises(QueryError, match="backend='gmp'.*flint, sympy"):
        cp.marginal(d, ["X3"], backend="gmp")
    f = cp.world("f", X=cp.uniform([0, 1]))  # a rational query checks it too
    with pytest.raises(QueryError, match="backend='gmp'"):
        cp.marginal(f, ["X"], backend="gmp")


def test_flint_is_refused_where_it_cannot_hold_the_numbers():
    with pytest.raises(QueryError, match="backend='sympy'"):
        FlintPolynomials(EX)
    if not has_flint_polynomials():
        K = construct_domain([p], field=True)[0]
        with pytest.raises(QueryError, match="python-flint"):
            polynomial_ring(K, "flint")


def test_the_generic_domain_keeps_its_values_as_their_own_numerators():
    # sqrt(p) and p: no polynomial ring holds both, the EX domain computes directly
    d = cp.world("g", X=cp.dist(lambda: {1: sympy.sqrt(p), 0: 1 - sympy.sqrt(p)}),
                 Y=cp.dist(lambda X: {1: p, 0: 1 - p} if X else {1: 0, 0: 1}))
    _, arr, K = cp.marginal(d, ["Y"])
    assert K == EX and polynomial_ring(K).name == "sympy"
    assert sympy.simplify(K.to_sympy(arr[1]) - sympy.sqrt(p) * p) == 0
    assert np.all([x is not None for x in arr])


# ---- answers as SymPy expressions ------------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
def test_field_to_sympy_builds_sympy_s_own_expression(seed):
    rng = random.Random(seed)
    names = sympy.symbols("b a gamma x10 x2 p")
    for _ in range(60):
        gens = rng.sample(names, rng.randint(1, 4))

        def poly():
            return sum(rng.choice([-3, -1, 1, 2, 7, 10**30])
                       * sympy.Mul(*[g**rng.randint(0, 3) for g in gens])
                       for _ in range(rng.randint(1, 6)))
        e = rng.choice([poly() / poly(), poly(), poly() / rng.choice([2, 3, 10, 12]),
                        sympy.Integer(rng.randint(-3, 3)), gens[0] / 5])
        K = construct_domain([e] + gens, field=True)[0]
        x = K.from_sympy(e)
        got, want = field_to_sympy(K, x), K.to_sympy(x)
        # structurally the same (argument order included), not merely equal
        assert got == want and sympy.srepr(got) == sympy.srepr(want), e


def test_field_to_sympy_leaves_other_fields_to_sympy():
    K = construct_domain([sympy.exp(p), p], field=True)[0]  # EX
    assert field_to_sympy(K, K.from_sympy(sympy.exp(p) * p)) == sympy.exp(p) * p
    assert field_to_sympy(QQ, QQ(3, 4)) == sympy.Rational(3, 4)

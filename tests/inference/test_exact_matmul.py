"""Products of two factors as batched matrix products (``_matmul_contract``) and the
gcd reductions that are skipped when a sample shows they would divide little: every
result against ``np.einsum`` (``_contract``) and against brute-force enumeration in
Fractions, with the thresholds moved so that the paths run on small networks, with and
without python-flint."""

from __future__ import annotations

import itertools
import random
import sys
from fractions import Fraction

import numpy as np
import pytest
import sympy

import cpspec as cp
from cpspec.inference import exact, polynomials

from test_elimination import brute_force, random_spec, to_world


def _big_array(rng, shape, bits):
    """An object array of non-negative Python integers of up to ``bits`` bits, a fifth
    of them 0."""
    flat = [rng.getrandbits(bits) if rng.random() > 0.2 else 0
            for _ in range(int(np.prod(shape)))]
    arr = np.empty(len(flat), dtype=object)
    arr[:] = flat
    return arr.reshape(shape)


def _by_hand(factors, keep):
    """The product of ``factors`` summed over every variable not in ``keep``, entry by
    entry in Python integers: ``{assignment of the kept variables: value}``."""
    factors = [(vs, exact._array(arr)) for vs, arr in factors]
    size = {}
    for vs, arr in factors:
        size.update(zip(vs, arr.shape))
    names = list(size)
    out: dict = {}
    for values in itertools.product(*(range(size[v]) for v in names)):
        a = dict(zip(names, values))
        p = 1
        for vs, arr in factors:
            p *= int(arr[tuple(a[v] for v in vs)])
        key = tuple(sorted((v, a[v]) for v in names if v in keep))
        out[key] = out.get(key, 0) + p
    return out


CASES = [  # (scope a, scope b, kept): batch, inner, rows and columns in every mix
    (("A", "B", "C"), ("B", "C", "D"), {"A", "B", "D"}),
    (("A", "B"), ("B", "C"), {"A", "C"}),  # a plain matrix product
    (("A", "B"), ("B", "C"), {"A", "B", "C"}),  # nothing summed: inner of size 1
    (("A",), ("A",), set()),  # a dot product: a 0-d result
    (("A", "B"), ("A", "B"), {"A"}),  # no rows, no columns
    (("B", "A", "C"), ("C", "D", "A", "E"), {"A", "B", "D", "E"}),
    (("A", "B", "C", "D"), ("D", "B"), {"A", "C", "B"}),
    (("A",), ("B",), {"A", "B"}),  # an outer product
    ((), ("A", "B"), {"A", "B"}),  # a constant times a table
    ((), (), set()),  # two constants
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("bits", [40, 200, 1200])
def test_matmul_contract_agrees_with_einsum_and_by_hand(case, bits):
    va, vb, keep = CASES[case]
    rng = random.Random(case * 7 + bits)
    card = {"A": 3, "B": 2, "C": 4, "D": 3, "E": 2}
    a = _big_array(rng, [card[v] for v in va], bits)
    b = _big_array(rng, [card[v] for v in vb], bits)
    if bits > exact._GMP_BITS:  # as _rational_contract converts: 0-d arrays to scalars
        a, b = exact._TO_MPZ(a), exact._TO_MPZ(b)
    got = exact._matmul_contract([(va, a), (vb, b)], keep)
    assert got is not None
    vs, arr = got
    want_vs, want = exact._contract([(va, a), (vb, b)], keep)
    assert vs == want_vs and arr.shape == want.shape
    assert arr.dtype == object and (arr == want).all()
    hand = _by_hand([(va, a), (vb, b)], keep)
    for idx in itertools.product(*(range(n) for n in arr.shape)):
        key = tuple(sorted(zip(vs, idx)))
        assert int(arr[idx]) == hand[key]


def test_matmul_contract_leaves_what_it_cannot_do_to_einsum():
    rng = random.Random(0)
    a = _big_array(rng, (3, 2), 100)
    b = _big_array(rng, (2, 4), 100)
    # "A" is in one factor only and summed: not a matrix product
    assert exact._matmul_contract([(("A", "B"), a), (("B", "C"), b)], {"C"}) is None
    empty = np.empty((0, 2), dtype=object)
    assert exact._matmul_contract([(("A", "B"), empty), (("B", "C"), b)],
                                  {"A", "C"}) is None


def test_a_sampled_reduction_is_exact_whether_it_divides_or_not():
    rng = random.Random(3)
    den = 2**70 * 5**60
    arr = _big_array(rng, (6, 5), 180) * (2**40 * 5**9)
    arr[0, 0] = 2**40 * 5**9 * 7  # the whole gcd with den is 2**40 * 5**9
    top = max(int(x) for x in arr.reshape(-1))
    f = (("A", "B"), arr, den, top)
    full = exact._reduce(f)
    assert full[2] == den // (2**40 * 5**9) and (full[1] * (2**40 * 5**9) == arr).all()
    sampled = exact._reduce(f, True)  # 2**40 * 5**9 has 61 bits, over 1/8 of 250
    assert sampled[2] == full[2] and (sampled[1] == full[1]).all()
    small = exact._reduce((("A", "B"), arr, den, top * 2**600), True)
    assert small[1] is arr and small[2] == den  # at most 61 of 850 bits: not divided
    one = arr.copy()
    one[1, 1] = 1  # the gcd is 1: nothing to divide
    assert exact._reduce((("A", "B"), one, den, top), True)[1] is one


@pytest.fixture(params=["flint", "no flint"])
def flint_or_not(request, monkeypatch):
    """The query paths with python-flint as installed, and with its import blocked (the
    rational path must not need it)."""
    if request.param == "no flint":
        monkeypatch.setitem(sys.modules, "flint", None)  # import flint now fails
        monkeypatch.setattr(polynomials, "flint", None)
        with pytest.raises(ImportError):
            import flint  # noqa: F401
    return request.param


@pytest.fixture(params=["always", "never"])
def reductions(request, monkeypatch):
    """Every product of Python integers reduced whatever its sample shows, or none
    after its sample (and past int64 at once, so that small networks meet it)."""
    monkeypatch.setattr(exact, "_REDUCE_BITS", 64)
    # a sample's gcd passes the test when its bits times the share reach top's bits
    monkeypatch.setattr(exact, "_REDUCE_SHARE", 10**9 if request.param == "always" else 0)
    return request.param


@pytest.mark.parametrize("seed", range(5))
def test_queries_through_matmul_agree_with_brute_force(seed, flint_or_not, reductions,
                                                       monkeypatch):
    monkeypatch.setattr(exact, "_SPARSE_MIN", 1 << 40)  # dense steps: matmul or einsum
    calls = []
    original = exact._matmul_contract

    def spy(factors, keep):
        out = original(factors, keep)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(exact, "_matmul_contract", spy)
    den = random.Random(seed).choice([10**12, 10**25, 2**61 - 1, 3**50])
    spec = random_spec(seed, 8, [3, 2, 4, 3, 2, 3, 4, 2], den)
    d = to_world(spec)
    want = brute_force(spec, "X7")
    assert cp.distribution(d.X7) == {k: sympy.Rational(v) for k, v in want.items() if v}
    for x in (0, 1):
        joint = brute_force(spec, "X7", {"X2": x % 4, "X4": x})
        total = sum(joint.values())
        got = cp.distribution(d.X7, given=(d.X2 == x % 4) & (d.X4 == x))
        assert got == {k: sympy.Rational(v / total) for k, v in joint.items() if v}
    pair = brute_force(spec, lambda a: (a["X5"], a["X6"]))
    names, table, K = cp.marginal(d, ["X5", "X6"])
    dom5, dom6 = d.domain("X5"), d.domain("X6")
    for (i, u), (j, w) in itertools.product(enumerate(dom5), enumerate(dom6)):
        assert K.to_sympy(table[i, j]) == sympy.Rational(pair.get((u, w), 0))
    assert True in calls


def test_the_matmul_path_changes_no_answer_on_a_wide_network(flint_or_not, monkeypatch):
    # the same queries with two-factor products through np.matmul and through einsum
    spec = random_spec(11, 10, [4, 3, 4, 2, 4, 3, 2, 4, 3, 2], 10**40)
    d = to_world(spec)
    queries = [(d.X9, None), (d.X6, d.X9 == 1), (d.X0, (d.X8 == 2) & (d.X3 == 0))]
    got = [cp.distribution(x, given=g) for x, g in queries]
    d = to_world(spec)  # a new world: nothing kept from the first run
    monkeypatch.setattr(exact, "_matmul_contract", lambda factors, keep: None)
    assert [cp.distribution(x, given=g) for x, g in queries] == got
    want = brute_force(spec, "X9")
    assert got[0] == {k: sympy.Rational(v) for k, v in want.items() if v}


def test_fraction_tables_of_many_digits_reduce_to_the_exact_answer(monkeypatch):
    # a chain whose rows have 40-digit denominators: integers of hundreds of bits,
    # with reductions skipped or taken by their samples
    monkeypatch.setattr(exact, "_REDUCE_BITS", 64)
    rng = random.Random(5)
    spec = [("X0", [], {(): {0: Fraction(1, 3), 1: Fraction(2, 3)}})]
    for i in range(1, 7):
        rows = {}
        for cfg in itertools.product(range(2), repeat=min(i, 2)):
            p = Fraction(rng.randint(1, 10**40 - 1), 10**40)
            rows[cfg] = {0: p, 1: 1 - p}
        spec.append((f"X{i}", [f"X{j}" for j in range(max(0, i - 2), i)], rows))
    d = to_world(spec)
    want = brute_force(spec, "X6")
    assert cp.distribution(d.X6) == {k: sympy.Rational(v) for k, v in want.items()}

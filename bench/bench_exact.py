"""Exact inference: cpspec against pgmpy (float variable elimination) and sympy.stats;
symbolic networks in python-flint's polynomials against SymPy's.

Run:  python bench/bench_exact.py      (pip install '.[bench]' for pgmpy,
                                        '.[flint]' for python-flint)
      python bench/bench_exact.py --symbolic    (only the symbolic networks)

The same queries go through each library in one process; best of ``REPEAT`` runs;
ratios > 1 mean cpspec is faster. "cold" includes building the model and, for cpspec,
tabulating and converting it to the exact domain; "warm" repeats the query on the same
model object.
"""

from __future__ import annotations

import random
import sys
import time
from fractions import Fraction

import sympy

import cpspec as cp
from cpspec.inference.exact import through_partial_sums
from cpspec.inference.polynomials import field_to_sympy, has_flint_polynomials

REPEAT = 5


def best(fn, repeat=REPEAT):
    times = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def fmt(t):
    return f"{t * 1e3:8.3f} ms"


# ---- dice world --------------------------------------------------------------------

def dice_cpspec():
    f = cp.world("f", G=cp.uniform(range(1, 7)), R=cp.uniform(range(1, 7)),
                 S=cp.fn(lambda G, R: G + R))
    return cp.P(f.S == 12), cp.E(f.S)


def dice_sympy_stats():
    from sympy import Eq
    from sympy.core.cache import clear_cache
    from sympy.stats import Die, E, P
    clear_cache()  # cold cache, as a first query in a session would see it
    G, R = Die("G", 6), Die("R", 6)
    return P(Eq(G + R, 12)), E(G + R)


# ---- random binary networks ----------------------------------------------------------

def random_network(n: int, seed: int, max_parents: int = 3):
    rng = random.Random(seed)
    spec = []
    for i in range(n):
        k = rng.randint(0, min(max_parents, i))
        parents = sorted(rng.sample(range(i), k))
        rows = {}
        for cfg in range(2 ** k):
            q = Fraction(rng.randint(1, 9), 10)
            rows[cfg] = q
        spec.append((f"X{i}", [f"X{j}" for j in parents], rows))
    return spec


def to_cpspec(spec):
    nodes = []
    for name, parents, rows in spec:
        def f(*args, _rows=rows):
            cfg = 0
            for a in args:
                cfg = cfg * 2 + a
            q = _rows[cfg]
            return {1: q, 0: 1 - q}
        nodes.append((name, cp.dist(f, parents=parents)))
    return cp.world("b", nodes)


def to_pgmpy(spec):
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork
    model = DiscreteBayesianNetwork()
    model.add_nodes_from([name for name, _, _ in spec])
    model.add_edges_from([(p, name) for name, parents, _ in spec for p in parents])
    cpds = []
    for name, parents, rows in spec:
        ncfg = 2 ** len(parents)
        # pgmpy: columns are parent configurations (first parent most significant),
        # rows are the node's states 0, 1
        table = [[float(1 - rows[c]) for c in range(ncfg)], [float(rows[c]) for c in range(ncfg)]]
        cpds.append(TabularCPD(name, 2, table, evidence=parents or None,
                               evidence_card=[2] * len(parents) or None))
    model.add_cpds(*cpds)
    return model


def random_symbolic_network(n: int, symbols: int, seed: int, window: int = 4,
                            rational: float = 0.5):
    """Binary nodes with 1-3 parents among the ``window`` nodes before them (the first
    node has none), so that every node is an ancestor of the last one; each row's
    P(node = 1) is a rational (with probability ``rational``), else a symbol ``p``,
    ``1 - p`` or a product ``p * q * k/10`` of the ``symbols`` symbols."""
    rng = random.Random(seed)
    syms = sympy.symbols(f"p1:{symbols + 1}")
    spec = []
    for i in range(n):
        lo = max(0, i - window)
        k = min(rng.randint(1, 3), i - lo)
        parents = sorted(rng.sample(range(lo, i), k))
        rows = {}
        for cfg in range(2 ** k):
            if rng.random() < rational:
                q = Fraction(rng.randint(1, 9), 10)
            else:
                kind, s = rng.randrange(3), rng.choice(syms)
                q = (s if kind == 0 else 1 - s if kind == 1
                     else s * rng.choice(syms) * Fraction(rng.randint(1, 9), 10))
            rows[cfg] = q
        spec.append((f"X{i}", [f"X{j}" for j in parents], rows))
    return spec


def symbolic_main(repeat: int = 3) -> int:
    """Symbolic networks: one marginal of the last node with the polynomials in SymPy's
    ring and in python-flint's ``fmpz_mpoly``, same process, same answers checked; then
    the answer as SymPy expressions, by SymPy's ``K.to_sympy`` and by ``field_to_sympy``
    (what ``P`` and ``distribution`` use)."""
    print("\n# symbolic networks (binary, 1-3 parents among the 4 nodes before, half the rows"
          " symbolic): cp.marginal of the last node")
    print("# cold = build the world + marginal; warm = marginal again on the same world;"
          " terms = the answer's numerator")
    if not has_flint_polynomials():
        print("flint: skipped: python-flint >= 0.7 not installed (pip install '.[flint]')")
        return 0
    print(f"{'nodes':>5} {'symbols':>7} {'terms':>6} {'backend':>7} {'cold':>12} {'warm':>12}"
          f" {'sympy/flint':>11}")
    answers = []
    for n, k in ((40, 4), (80, 2)):
        spec = random_symbolic_network(n, k, seed=n)
        target = f"X{n - 1}"
        times, tables = {}, {}
        for backend in ("sympy", "flint"):
            t_cold, _ = best(lambda: cp.marginal(to_cpspec(spec), [target], backend=backend),
                             repeat)
            d = to_cpspec(spec)
            t_warm, (_, arr, K) = best(lambda: cp.marginal(d, [target], backend=backend),
                                       repeat)
            times[backend] = (t_cold, t_warm)
            tables[backend] = (list(arr), len(K.numer(arr[1])))
        assert tables["sympy"][0] == tables["flint"][0], "the backends disagree"
        for backend in ("sympy", "flint"):
            c, w = times[backend]
            ratio = (f"{times['sympy'][0] / c:>5.1f}x c {times['sympy'][1] / w:>4.1f}x w"
                     if backend == "flint" else "")
            print(f"{n:>5} {k:>7} {tables[backend][1]:>6} {backend:>7} {fmt(c):>12} "
                  f"{fmt(w):>12}  {ratio}")
        answers.append((n, k, K, arr, times))
    print("\n# the table as SymPy expressions (one run each, identical results checked), and a"
          " cold query end to end: before = SymPy ring + K.to_sympy, now = flint +"
          " field_to_sympy")
    print(f"{'nodes':>5} {'symbols':>7} {'K.to_sympy':>11} {'field_to_sympy':>14} {'ratio':>6}"
          f" {'before':>9} {'now':>9} {'ratio':>6}")
    for n, k, K, arr, times in answers:
        # the fast one first: SymPy's cache then favours K.to_sympy, not field_to_sympy
        t_fast, fast = best(lambda: [field_to_sympy(K, x) for x in arr], 1)
        t_slow, slow = best(lambda: [K.to_sympy(x) for x in arr], 1)
        assert fast == slow and [sympy.srepr(x) for x in fast] == [sympy.srepr(x) for x in slow]
        before, now = times["sympy"][0] + t_slow, times["flint"][0] + t_fast
        print(f"{n:>5} {k:>7} {t_slow:>10.3f}s {t_fast:>13.3f}s {t_slow / t_fast:>5.1f}x"
              f" {before:>8.3f}s {now:>8.3f}s {before / now:>5.1f}x")
    print("\n# n Bernoulli(p) coins, P(C_1 + ... + C_n = n/2) through partial sums: the"
          " marginal of the last partial sum, warm")
    print(f"{'n':>5} {'sympy':>12} {'flint':>12} {'sympy/flint':>11}")
    p = sympy.Symbol("p")
    for n in (16, 64):
        w = cp.world("coins", [(f"C{i}", cp.bernoulli(p)) for i in range(n)])
        d, e = through_partial_sums(w, sum((w[f"C{i}"] for i in range(n)), 0) == n // 2)
        out = {}
        for backend in ("sympy", "flint"):
            t, (_, arr, K) = best(lambda: cp.marginal(d, [e.args[0].node], backend=backend),
                                  repeat)
            out[backend] = (t, K.to_sympy(arr[n // 2]))
        want = sympy.binomial(n, n // 2) * p**(n // 2) * (1 - p)**(n // 2)
        assert out["sympy"][1] == out["flint"][1]
        assert sympy.expand(out["flint"][1] - want) == 0
        print(f"{n:>5} {fmt(out['sympy'][0]):>12} {fmt(out['flint'][0]):>12} "
              f"{out['sympy'][0] / out['flint'][0]:>10.1f}x")
    return 0


def leaves(spec):
    has_child = {p for _, parents, _ in spec for p in parents}
    return [name for name, _, _ in spec if name not in has_child]


def main() -> int:
    print("# dice world: P(S = 12) and E(S), cold (build + both queries)")
    t_cp, (p, e) = best(dice_cpspec)
    print(f"cpspec       {fmt(t_cp)}   P={p} E={e}")
    try:
        t_ss, (ps, es) = best(dice_sympy_stats)
        print(f"sympy.stats  {fmt(t_ss)}   P={ps} E={es}   sympy.stats/cpspec = {t_ss / t_cp:.1f}x")
    except Exception as exc:  # pragma: no cover - a peer's failure is reported, not fatal
        print(f"sympy.stats  failed: {exc}")
    try:
        import pgmpy  # noqa: F401  (presence check)
        from pgmpy.inference import VariableElimination
        have_pgmpy = True
    except ImportError:
        have_pgmpy = False
        print("pgmpy: skipped: pgmpy not installed (pip install '.[bench]')")

    print("\n# random binary networks (<= 3 parents), one marginal of the last node")
    print(f"{'nodes':>5} {'cpspec cold':>14} {'cpspec warm':>14} {'pgmpy':>12} "
          f"{'pgmpy/warm':>10} {'pgmpy/cold':>10}")
    for n in (20, 40, 80):
        for evid in (False, True):
            spec = random_network(n, seed=n)
            target = f"X{n - 1}"
            obs_names = [x for x in leaves(spec) if x != target]
            ev = {x: 1 for x in obs_names}

            def query(d):
                return cp.distribution(d[target], given=_obs(d, ev) if evid else None)

            t_cold, exact = best(lambda: query(to_cpspec(spec)))
            d = to_cpspec(spec)
            t_warm, exact = best(lambda: query(d))
            row = f"{n:>5} {fmt(t_cold):>14} {fmt(t_warm):>14}"
            if have_pgmpy:
                model = to_pgmpy(spec)
                ve = VariableElimination(model)
                t_pg, res = best(lambda: ve.query([target], evidence=ev if evid else None,
                                                  show_progress=False))
                agree = abs(float(exact.get(1, 0)) - float(res.values[1])) < 1e-9
                row += (f" {fmt(t_pg):>12} {t_pg / t_warm:>9.2f}x {t_pg / t_cold:>9.2f}x"
                        f"  {'agree' if agree else 'DISAGREE'}")
            label = f"  evidence on {len(ev)} leaves" if evid else ""
            print(row + label)
    if have_pgmpy:
        print("\n# building the model only: cp.world (every table tabulated and checked) "
              "against pgmpy (TabularCPDs added, check_model)")
        print(f"{'nodes':>5} {'cpspec':>12} {'pgmpy':>12} {'pgmpy/cpspec':>12}")
        for n in (20, 40, 80):
            spec = random_network(n, seed=n)
            t_cp, _ = best(lambda: to_cpspec(spec))
            t_pg, _ = best(lambda: to_pgmpy(spec).check_model())
            print(f"{n:>5} {fmt(t_cp):>12} {fmt(t_pg):>12} {t_pg / t_cp:>11.2f}x")
    return symbolic_main()


def _obs(d, ev):
    e = None
    for k, v in ev.items():
        atom = d[k] == v
        e = atom if e is None else e & atom
    return e


if __name__ == "__main__":
    sys.exit(symbolic_main() if "--symbolic" in sys.argv[1:] else main())

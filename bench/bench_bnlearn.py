"""Exact marginals on every discrete bnlearn network pgmpy ships: cpspec against pgmpy's
float variable elimination, in one process per network.

Run:  python bench/bench_bnlearn.py [NET ...] [--timeout 120]
      (pip install '.[bench]' for pgmpy; default: all 24 discrete networks)

Each network is read by pgmpy (``pgmpy.utils.get_example_model``) and converted to a
cpspec world: every probability becomes the exact decimal it is written as in the BIF
file (``Fraction(repr(float))``); in a row that does not sum to 1 (the files round to a
few digits) the largest entry takes the remainder, as cpspec's own error message advises
("write the last probability as 1 minus the others"), so that tables keep their decimal
denominators. The queries, per network:

* build: pgmpy's model -> ``cp.world`` with every table checked (cpspec) against
  ``DiscreteBayesianNetwork`` + ``TabularCPD`` + ``check_model`` from the same arrays
  (pgmpy);
* one marginal of the last node in topological order, warm (the model built, the query
  repeated);
* the same marginal given evidence on (up to) 5 leaves, observed at values drawn from one
  seeded forward sample, so that the evidence has a positive probability.

Times are best of ``REPEAT``; ratios are pgmpy time / cpspec time (above 1: cpspec is
faster). ``agree``: cpspec's exact answer, as floats, is within 1e-6 of pgmpy's. A network
whose run passes ``--timeout`` seconds is reported as such (each runs in its own process).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import random
import subprocess
import sys
import time
import warnings
from fractions import Fraction
from pathlib import Path

NETWORKS = ["asia", "cancer", "earthquake", "sachs", "survey", "alarm", "barley", "child",
            "insurance", "mildew", "water", "hailfinder", "hepar2", "win95pts", "andes",
            "diabetes", "link", "munin1", "munin2", "munin3", "munin4", "pathfinder", "pigs",
            "munin"]
REPEAT = 3


def best(fn, repeat=REPEAT):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def exact_tables(model):
    """``[(node, parents, states, {parent states: {state: Fraction}})]`` in topological
    order, read from pgmpy's float arrays as the decimals they print as."""
    import networkx as nx
    out = []
    for var in nx.topological_sort(model):
        cpd = model.get_cpds(var)
        states = cpd.state_names
        parents = list(cpd.variables[1:])
        vals = cpd.values.reshape(len(states[var]), -1)
        rows = {}
        for j, cfg in enumerate(itertools.product(*[states[p] for p in parents])):
            col = [Fraction(repr(float(x))) for x in vals[:, j]]
            top = max(range(len(col)), key=col.__getitem__)
            col[top] += 1 - sum(col)  # rounding: the largest entry takes the remainder
            rows[cfg] = {st: p for st, p in zip(states[var], col) if p}
        out.append((var, parents, list(states[var]), rows))
    return out


def to_cpspec(tables, name="bn"):
    import cpspec as cp
    nodes = []
    for var, parents, _, rows in tables:
        if parents:
            f = cp.dist(lambda *a, _r=rows: _r[a], parents=parents)
        else:
            f = cp.dist(rows[()])
        nodes.append((var, f))
    return cp.world(name, nodes)


def to_pgmpy(model):
    """The same network rebuilt by pgmpy from its own arrays (its cold build)."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork
    m = DiscreteBayesianNetwork()
    m.add_nodes_from(model.nodes())
    m.add_edges_from(model.edges())
    cpds = []
    for cpd in model.get_cpds():
        v = cpd.variables
        cpds.append(TabularCPD(v[0], cpd.cardinality[0], cpd.get_values(),
                               evidence=v[1:] or None,
                               evidence_card=list(cpd.cardinality[1:]) or None,
                               state_names=cpd.state_names))
    m.add_cpds(*cpds)
    m.check_model()
    return m


def sample_evidence(tables, k=5, seed=0):
    """Values of up to ``k`` leaves from one seeded forward sample (positive probability)."""
    rng = random.Random(seed)
    value = {}
    children = {p for _, parents, _, _ in tables for p in parents}
    for var, parents, _, rows in tables:
        row = rows[tuple(value[p] for p in parents)]
        states = list(row)
        value[var] = rng.choices(states, weights=[float(row[s]) for s in states])[0]
    leaves = [var for var, _, _, _ in tables if var not in children]
    picked = leaves[:-1][:: max(1, len(leaves) // k)][:k]
    return {v: value[v] for v in picked}


def run_one(net: str) -> dict:
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import cpspec as cp
    from pgmpy.inference import VariableElimination
    from pgmpy.utils import get_example_model
    model = get_example_model(net)
    tables = exact_tables(model)
    out = {"net": net, "nodes": len(tables),
           "max_card": max(len(s) for _, _, s, _ in tables)}
    out["cp_build"], d = best(lambda: to_cpspec(tables), 1)
    out["pg_build"], pm = best(lambda: to_pgmpy(model), 1)
    ve = VariableElimination(pm)
    ev = sample_evidence(tables)
    target = next(v for v, _, _, _ in reversed(tables) if v not in ev)
    for key, evid in (("marg", None), ("evid", ev)):
        given = None
        for k, v in (evid or {}).items():
            atom = d[k] == v
            given = atom if given is None else given & atom
        t_cp, exact = best(lambda: cp.distribution(d[target], given=given))
        t_pg, res = best(lambda: ve.query([target], evidence=evid, show_progress=False))
        got = {s: float(res.get_value(**{target: s})) for s in res.state_names[target]}
        err = max(abs(float(exact.get(s, 0)) - p) for s, p in got.items())
        digits = max(len(str(sympy_den(p))) for p in exact.values())
        out[key] = {"cp": t_cp, "pg": t_pg, "agree": err < 1e-6, "digits": digits}
    return out


def sympy_den(p):
    return p.q if hasattr(p, "q") else 1


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("nets", nargs="*", default=NETWORKS)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return 0
    try:
        import pgmpy  # noqa: F401  (presence check)
    except ImportError:
        print("pgmpy: skipped: pgmpy not installed (pip install '.[bench]')")
        return 0
    print(f"{'network':>10} {'nodes':>5} {'card':>4} | {'build cp':>9} {'pgmpy':>8} "
          f"{'ratio':>6} | {'marginal cp':>11} {'pgmpy':>8} {'ratio':>6} | "
          f"{'evidence cp':>11} {'pgmpy':>8} {'ratio':>6} | den digits")
    for net in args.nets:
        try:
            r = subprocess.run([sys.executable, __file__, "--one", net], capture_output=True,
                               text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(f"{net:>10}  timeout ({args.timeout:.0f} s)", flush=True)
            continue
        if r.returncode != 0:
            tail = (r.stderr.strip().splitlines() or ["?"])[-1]
            print(f"{net:>10}  failed: {tail}", flush=True)
            continue
        o = json.loads(r.stdout.strip().splitlines()[-1])
        row = (f"{net:>10} {o['nodes']:>5} {o['max_card']:>4} | {o['cp_build']:>8.3f}s "
               f"{o['pg_build']:>7.3f}s {o['pg_build'] / o['cp_build']:>5.2f}x")
        for key in ("marg", "evid"):
            q = o[key]
            row += (f" | {q['cp'] * 1e3:>9.2f}ms {q['pg'] * 1e3:>6.1f}ms "
                    f"{q['pg'] / q['cp']:>5.2f}x")
        row += f" | {o['marg']['digits']:>5} {o['evid']['digits']:>5}"
        if not (o["marg"]["agree"] and o["evid"]["agree"]):
            row += "  DISAGREE"
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

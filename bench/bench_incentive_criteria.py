"""cp.incentives against pycid's admits_voi / admits_voc / admits_ri / admits_ici on
random causal influence diagrams: agreement of the yes/no answers and time.

Run:  python bench/bench_incentive_criteria.py [--per-size 40]

pycid lives in its own venv (``bash bench/setup_pycid.sh`` makes ``bench/.venv-pycid``);
this script sends it the graphs through ``bench/_pycid_incentives_worker.py`` and prints
"skipped: pycid not installed" without it. The diagrams: n nodes in a random order, arcs
with probability 0.3 (at most 3 parents a node), one or two decisions (the second sees
the first and everything the first saw: perfect recall, as pycid requires for VoI, VoC
and RI), two utility nodes that are sinks. Every (decision, node) pair is one yes/no
answer per criterion (VoC: one per node); ``yes`` counts pycid's yes answers. Times
cover the criteria only (not building the diagrams); a ratio > 1 means cpspec is faster.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import cpspec as cp

HERE = Path(__file__).resolve().parent
PYCID = HERE / ".venv-pycid" / "bin" / "python"


def random_cid(n: int, n_decisions: int, seed: int):
    """A random CID with ``n`` nodes: its cpspec world and its graph as plain data."""
    rng = random.Random(seed)
    inner = [f"N{i}" for i in range(n - 2)]
    decisions = sorted(rng.sample(range(len(inner) - 1), n_decisions))
    names = {i: inner[i] for i in range(len(inner))}
    for k, i in enumerate(decisions):
        names[i] = f"D{k}"
    order = [names[i] for i in range(len(inner))]
    parents: dict[str, list[str]] = {}
    for i, v in enumerate(order):
        pool = order[:i]
        parents[v] = [p for p in pool if rng.random() < 0.3][:3]
    dec = [v for v in order if v.startswith("D")]
    for a, b in zip(dec, dec[1:]):  # perfect recall
        parents[b] = list(dict.fromkeys(parents[b] + [a] + parents[a]))
    utilities = ["U0", "U1"]
    for u in utilities:
        k = rng.randint(1, 3)
        # U0 reads the last decision so that some incentives are there to find
        parents[u] = list(dict.fromkeys(([dec[-1]] if u == "U0" else []) +
                                        rng.sample(order, min(k, len(order)))))[:3]
    nodes = {}
    for v in order + utilities:
        ps = parents[v]
        if v in dec:
            nodes[v] = cp.decision([0, 1], parents=ps)
        elif v in utilities:
            nodes[v] = cp.utility(lambda *a: sum(a), parents=ps)
        else:
            nodes[v] = cp.dist(lambda *a: {0: "1/2", 1: "1/2"}, parents=ps)
    w = cp.world(f"cid{seed}", **nodes)
    job = {"edges": [[p, v] for v in parents for p in parents[v]],
           "nodes": order + utilities, "decisions": dec, "utilities": utilities}
    return w, job


def ours(w):
    t0 = time.perf_counter()
    inc = cp.incentives(w)
    seconds = time.perf_counter() - t0
    return seconds, {"voc": sorted(inc.voc),
                     "voi": {r.decision: sorted(r.voi) for r in inc.rows},
                     "ri": {r.decision: sorted(r.ri) for r in inc.rows},
                     "ici": {r.decision: sorted(r.ici) for r in inc.rows}}


def run_pycid(jobs):
    try:
        r = subprocess.run([str(PYCID), str(HERE / "_pycid_incentives_worker.py")],
                           input=json.dumps(jobs), capture_output=True, text=True,
                           timeout=600)
    except subprocess.TimeoutExpired:
        return None, "timeout (600 s)"
    if r.returncode != 0:
        return None, "failed: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    return json.loads(r.stdout.strip().splitlines()[-1]), None


def compare(job, a, b):
    """(agreeing answers, answers, pycid's yes answers, first disagreement or None)."""
    agree = total = yes = 0
    first = None
    for crit in ("voi", "ri", "ici", "voc"):
        for d in ([None] if crit == "voc" else job["decisions"]):
            sa = set(a[crit] if d is None else a[crit][d])
            sb = set(b[crit] if d is None else b[crit][d])
            for x in job["nodes"]:
                total += 1
                yes += x in sb
                if (x in sa) == (x in sb):
                    agree += 1
                elif first is None:
                    first = (crit, d, x, x in sa, x in sb)
    return agree, total, yes, first


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-size", type=int, default=40)
    args = ap.parse_args()
    if not PYCID.exists():
        print("pycid: skipped: pycid not installed (bash bench/setup_pycid.sh)")
        return 0
    print(f"{'nodes':>5} {'dec':>3} {'CIDs':>4} {'answers':>8} {'agree':>8} "
          f"{'yes':>6} {'cpspec/CID':>11} {'pycid/CID':>10} {'pycid/cpspec':>12}")
    ours(random_cid(6, 1, 0)[0])  # warm up (first calls import and cache)
    for n in (6, 10, 15, 20):
        for n_dec in (1, 2):
            built = [random_cid(n, n_dec, 1000 * n + 100 * n_dec + s)
                     for s in range(args.per_size)]
            mine = [ours(w) for w, _ in built]
            jobs = [job for _, job in built]
            theirs, err = run_pycid(jobs)
            if theirs is None:
                print(f"{n:>5} {n_dec:>3} pycid {err}")
                continue
            agree = total = yes = 0
            for job, (_, a), b in zip(jobs, mine, theirs):
                ag, tot, y, first = compare(job, a, b)
                agree, total, yes = agree + ag, total + tot, yes + y
                if first is not None:
                    print(f"  disagreement on {job}: {first}")
            t_cp = sum(s for s, _ in mine) / len(mine)
            t_py = sum(r["seconds"] for r in theirs) / len(theirs)
            print(f"{n:>5} {n_dec:>3} {len(jobs):>4} {total:>8} "
                  f"{100 * agree / total:>7.2f}% {yes:>6} {t_cp * 1e3:>8.2f} ms "
                  f"{t_py * 1e3:>7.2f} ms "
                  f"{t_py / t_cp:>11.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

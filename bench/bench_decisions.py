"""Optimal policies of random MDP influence diagrams: cpspec (exact) against a float NumPy
backward induction and pycid, in one run.

Run:  python bench/bench_decisions.py [--max-pycid-T 5]

pycid pins old pgmpy/numpy/Cython versions that clash with ours, so it lives in its own
venv (``bash bench/setup_pycid.sh`` makes ``bench/.venv-pycid``); this script drives it
through ``bench/_pycid_worker.py`` and prints "skipped: pycid not installed" without it.
Each pycid run has a 60 s limit. Times are best of 3 (pycid: one run); ratios > 1 mean
cpspec is faster.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

import cpspec as cp

HERE = Path(__file__).resolve().parent
PYCID = HERE / ".venv-pycid" / "bin" / "python"


def random_mdp(n: int, m: int, seed: int):
    rng = random.Random(seed)
    P = [[None] * m for _ in range(n)]
    R = [[[rng.randint(0, 5) for _ in range(n)] for _ in range(m)] for _ in range(n)]
    for s in range(n):
        for a in range(m):
            # every transition possible: pycid cannot condition on impossible
            # information (it reports NaN), so no state may be unreachable
            w = [rng.randint(1, 4) for _ in range(n)]
            P[s][a] = [Fraction(x, sum(w)) for x in w]
    mdp = cp.MDP(range(n), range(m),
                 lambda s, a: {s2: P[s][a][s2] for s2 in range(n)},
                 lambda s, a, s2: R[s][a][s2], start={s: Fraction(1, n) for s in range(n)},
                 gamma="9/10")
    return mdp, P, R


def numpy_backward(P, R, gamma: float, T: int):
    Pn = np.array([[[float(p) for p in row] for row in rows] for rows in P])  # s, a, s2
    Rn = np.array(R, dtype=float)
    V = np.zeros(Pn.shape[0])
    for _ in range(T):
        Q = (Pn * (Rn + gamma * V[None, None, :])).sum(axis=2)
        V = Q.max(axis=1)
    return V.mean()  # uniform start


def best(f, repeat=3):
    out, ts = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t)
    return min(ts), out


def run_pycid(P, R, T):
    job = {"mdp": {"n": len(P), "actions": len(P[0]),
                   "P": [[[float(p) for p in row] for row in rows] for rows in P],
                   "R": R, "gamma": 0.9}, "T": T}
    try:
        r = subprocess.run([str(PYCID), str(HERE / "_pycid_worker.py")],
                           input=json.dumps(job), capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None, "timeout (60 s)"
    if r.returncode != 0:
        return None, "failed: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    return json.loads(r.stdout.strip().splitlines()[-1]), None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-pycid-T", type=int, default=5)
    args = ap.parse_args()
    have_pycid = PYCID.exists()
    if not have_pycid:
        print("pycid: skipped: pycid not installed (bash bench/setup_pycid.sh)")
    print(f"{'|S|':>3} {'|A|':>3} {'T':>4} {'cpspec exact':>13} {'numpy float':>12} "
          f"{'pycid':>10} {'pycid/cpspec':>12} {'cpspec/T':>10}  values")
    for n, m in ((3, 2), (5, 3), (8, 3)):
        mdp, P, R = random_mdp(n, m, seed=n * 10 + m)
        for T in (2, 3, 4, 5, 10, 50, 200):
            t_cp, sol = best(lambda: cp.solve(mdp, T))
            t_np, v_np = best(lambda: numpy_backward(P, R, 0.9, T))
            agree = abs(float(sol.value) - v_np) < 1e-9 * max(1, abs(v_np))
            row = (f"{n:>3} {m:>3} {T:>4} {t_cp * 1e3:>10.2f} ms {t_np * 1e6:>9.1f} us ")
            if have_pycid and T <= args.max_pycid_T:
                res, err = run_pycid(P, R, T)
                if res is None:
                    row += f"{err:>10} {'':>12} "
                else:
                    ok = abs(res["value"] - float(sol.value)) < 1e-6 * max(1, abs(res["value"]))
                    row += (f"{res['seconds']:>8.2f} s {res['seconds'] / t_cp:>11.0f}x ")
                    agree = agree and ok
            else:
                row += f"{'-':>10} {'':>12} "
            row += f"{t_cp / T * 1e3:>7.3f} ms  {'agree' if agree else 'DISAGREE'}"
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Exact MDP solving at long horizons: cpspec against a float NumPy loop and Storm's exact
mode, and exact policy iteration against a float NumPy policy iteration, in one process.

Run:  python bench/bench_mdp.py [--storm-max-states 20]   (stormpy from the test or bench
      extra; skipped without; python-flint, the ``flint`` extra, is used when installed)

The MDPs are ``bench_decisions.random_mdp`` (every transition possible, rewards 0..5,
``gamma = 9/10``, uniform start). Finite horizon ``T = 200``: ``cp.solve(mdp, 200)``
(exact rationals), ``numpy_backward`` (floats), and Storm on ``cp.to_prism(mdp)`` with
``cp.prism_property(mdp, 200)`` (the MDP started in state 0: PRISM has one initial
state; compared with cpspec's exact value of state 0), built and checked over GMP
rationals (build + check timed, as cpspec's time includes its conversion). Infinite horizon: ``cp.solve(mdp,
sympy.oo)`` against ``numpy_policy_iteration``. cpspec's time includes reading the
exact value (``.value``), as NumPy's includes its mean. Times are CPU seconds of this
process (``time.process_time``: the machine is shared, and wall time counts the other
processes' turns), best of ``REPEAT`` (Storm: of 2); the ratios are the others' time /
cpspec's (above 1: cpspec is faster), "x slower" is cpspec's time / NumPy's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sympy

import cpspec as cp
import cpspec.decisions.mdp as mdp_limits
from bench_decisions import numpy_backward, random_mdp

REPEAT = 7


def best(f, repeat=REPEAT):
    out, ts = None, []
    for _ in range(repeat):
        t = time.process_time()
        out = f()
        ts.append(time.process_time() - t)
    return min(ts), out


def exact_solve(mdp, horizon):
    """cpspec's solve and its exact value (read inside the timing)."""
    sol = cp.solve(mdp, horizon)
    sol.value
    return sol


def numpy_policy_iteration(P, R, gamma: float):
    Pn = np.array([[[float(p) for p in row] for row in rows] for rows in P])  # s, a, s2
    Rn = np.array(R, dtype=float)
    n = Pn.shape[0]
    c = (Pn * Rn).sum(axis=2)
    pol = np.zeros(n, dtype=int)
    idx = np.arange(n)
    while True:
        V = np.linalg.solve(np.eye(n) - gamma * Pn[idx, pol], c[idx, pol])
        Q = c + gamma * Pn @ V
        new = Q.argmax(axis=1)
        if (Q[idx, new] <= Q[idx, pol] + 1e-12).all():
            return V.mean()
        pol = new


def from_state_0(P, R):
    """The same MDP started in state 0: PRISM models have one initial state."""
    n, m = len(P), len(P[0])
    return cp.MDP(range(n), range(m), lambda s, a: {s2: P[s][a][s2] for s2 in range(n)},
                  lambda s, a, s2: R[s][a][s2], start=0, gamma="9/10")


def storm_exact(mdp, T, folder: Path):
    import stormpy
    from stormpy.numbers.developer import gmp
    path = folder / "m.prism"
    path.write_text(cp.to_prism(mdp))
    prog = stormpy.parse_prism_program(str(path))
    props = stormpy.parse_properties(cp.prism_property(mdp, T), prog)
    model = stormpy.build_model[gmp.Rational](prog, props)
    res = stormpy.model_checking(model, props[0])
    return sympy.Rational(str(res.get_value(model.initial_states[0])))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--storm-max-states", type=int, default=50,
                    help="run Storm only on MDPs with at most this many states")
    args = ap.parse_args()
    mdp_limits.MAX_HORIZON_WORK = 10**8  # 50 x 5 at T = 200 is above the default
    sys.set_int_max_str_digits(0)  # Storm's exact values are printed in full
    try:
        import stormpy  # noqa: F401  (presence check)
        have_storm = True
    except ImportError:
        have_storm = False
        print("storm: skipped: stormpy not installed")
    try:
        import flint
        print(f"python-flint {flint.__version__}: installed")
    except ImportError:
        print("python-flint: not installed")
    T = 200
    print(f"# finite horizon T = {T}")
    print(f"{'|S|':>3} {'|A|':>3} {'cpspec exact':>13} {'numpy float':>12} {'x slower':>9} "
          f"{'storm exact':>12} {'storm/cpspec':>12}  values")
    folder = Path(tempfile.mkdtemp())
    rows = ((8, 3), (20, 4), (50, 5))
    for n, m in rows:
        mdp, P, R = random_mdp(n, m, seed=n * 10 + m)
        t_cp, sol = best(lambda: exact_solve(mdp, T))
        t_np, v_np = best(lambda: numpy_backward(P, R, 0.9, T))
        agree = abs(float(sol.value) - v_np) < 1e-9 * max(1, abs(v_np))
        row = f"{n:>3} {m:>3} {t_cp * 1e3:>10.2f} ms {t_np * 1e3:>9.2f} ms {t_cp / t_np:>8.1f}x"
        if have_storm and n > args.storm_max_states:
            row += f" {'not run':>12} {'':>12}"
        elif have_storm:
            try:
                t_st, v_st = best(lambda: storm_exact(from_state_0(P, R), T, folder), 2)
                row += f" {t_st * 1e3:>9.1f} ms {t_st / t_cp:>11.1f}x"
                agree = agree and v_st == sol.values[0]
            except Exception as exc:  # a peer's failure is reported, not fatal
                row += f" storm failed: {type(exc).__name__}"
        print(row + ("  agree" if agree else "  DISAGREE"), flush=True)
    print("\n# infinite horizon: exact policy iteration")
    print(f"{'|S|':>3} {'|A|':>3} {'cpspec exact':>13} {'numpy float':>12} {'x slower':>9}  values")
    for n, m in rows:
        mdp, P, R = random_mdp(n, m, seed=n * 10 + m)
        t_cp, sol = best(lambda: exact_solve(mdp, sympy.oo))
        t_np, v_np = best(lambda: numpy_policy_iteration(P, R, 0.9))
        agree = abs(float(sol.value) - v_np) < 1e-9 * max(1, abs(v_np))
        print(f"{n:>3} {m:>3} {t_cp * 1e3:>10.2f} ms {t_np * 1e3:>9.2f} ms "
              f"{t_cp / t_np:>8.1f}x  {'agree' if agree else 'DISAGREE'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

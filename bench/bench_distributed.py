"""Serial against Dask workers: a 10^7-sample cross-check and a 400-point sweep.

Run:  python bench/bench_distributed.py                       (serial, then a local
                                                               Dask cluster of 2 workers)
      python bench/bench_distributed.py --workers 4           (4 local workers)
      python bench/bench_distributed.py --scheduler tcp://host:8786
                                                              (a running cluster's workers)

Needs the distributed extra (``pip install '.[distributed]'``). The work:

* cross-check: ``P(S == 7)`` in a world of two dice and their sum, against 10^7 seeded
  samples (10 shards of ``SHARD_SAMPLES`` = 10^6; each worker returns its shard's count
  and sum, not the samples);
* sweep: ``cp.solve(m, 150).value`` of a 40-state chain MDP with a symbolic discount, at
  400 exact discounts in [0, 1) (exact rationals with hundreds of digits).

Every run checks that the answers equal the serial ones (the same estimate and bound,
the same table) and prints the times and the ratio serial / workers.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import sympy
from distributed import Client, LocalCluster

import cpspec as cp


def dice():
    return cp.world("f", G=cp.uniform(range(1, 7)), R=cp.uniform(range(1, 7)),
                    S=cp.fn(lambda G, R: G + R))


def chain(n: int = 40) -> cp.MDP:
    """Walk right (reward at the end) or stay (small reward now): n states in a row."""
    g = sympy.Symbol("gamma")

    def step(s, a):
        if a == "stay" or s == n - 1:
            return {s: 1}
        return {s + 1: sympy.Rational(3, 4), s: sympy.Rational(1, 4)}

    def reward(s, a, s2):
        return 10 if s2 == n - 1 and s != n - 1 else (1 if a == "stay" else 0)
    return cp.MDP(range(n), ["right", "stay"], step, reward, start=0, gamma=g)


def value150(m):
    return cp.solve(m, 150).value


def timed(f):
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def run(executor, label: str) -> tuple:
    f = dice()
    t_cc, cc = timed(lambda: cp.crosscheck(f, f.S == 7, n=10**7, seed=1, executor=executor))
    grid = {"gamma": [sympy.Rational(k, 400) for k in range(400)]}
    t_sw, sw = timed(lambda: cp.sweep(chain(), grid, value150, executor=executor))
    print(f"{label:<28} crosscheck 10^7: {t_cc:7.2f} s   sweep 400 points: {t_sw:7.2f} s",
          flush=True)
    return (t_cc, cc), (t_sw, sw)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scheduler", help="tcp://host:port of a running Dask scheduler")
    args = ap.parse_args(argv)

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    (s_cc, cc), (s_sw, sw) = run(None, "serial")
    print(f"  {cc}")
    if args.scheduler:
        client = Client(args.scheduler, timeout="10s")
        label = f"scheduler {args.scheduler}"
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
        label = f"{args.workers} local Dask workers"
    with client:
        client.wait_for_workers(1)
        run(client.get_executor(), f"{label} (warm-up)")
        (w_cc, cc2), (w_sw, sw2) = run(client.get_executor(), label)
    assert cc2 == cc, (cc2, cc)
    assert sw2 == sw
    print(f"ratio serial / workers: crosscheck {s_cc / w_cc:.2f}x, sweep {s_sw / w_sw:.2f}x "
          "(the same estimate, bound and table)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Runs inside bench/.venv-pycid: builds an MDP influence diagram in pycid and times
impute_optimal_policy. Reads {"mdp": ..., "T": ...} as JSON on stdin, prints JSON."""

import json
import sys
import time

import pycid


def main():
    job = json.load(sys.stdin)
    m, T = job["mdp"], job["T"]
    n, A, P, R, g = m["n"], m["actions"], m["P"], m["R"], m["gamma"]
    edges = []
    for t in range(T):
        edges += [(f"S{t}", f"A{t}"), (f"S{t}", f"S{t + 1}"), (f"A{t}", f"S{t + 1}"),
                  (f"S{t}", f"R{t}"), (f"A{t}", f"R{t}"), (f"S{t + 1}", f"R{t}")]
    cid = pycid.CID(edges, decisions=[f"A{t}" for t in range(T)],
                    utilities=[f"R{t}" for t in range(T)])
    cpds = {"S0": pycid.discrete_uniform(list(range(n)))}
    for t in range(T):
        cpds[f"A{t}"] = list(range(A))
        cpds[f"S{t + 1}"] = (lambda t: lambda **kw: {
            s2: P[kw[f"S{t}"]][kw[f"A{t}"]][s2] for s2 in range(n)})(t)
        cpds[f"R{t}"] = (lambda t: lambda **kw: (g ** t) * R[kw[f"S{t}"]][kw[f"A{t}"]][
            kw[f"S{t + 1}"]])(t)
    cid.add_cpds(**cpds)
    t0 = time.perf_counter()
    cid.impute_optimal_policy()
    elapsed = time.perf_counter() - t0
    eu = sum(cid.expected_value([f"R{t}"], {})[0] for t in range(T))
    print(json.dumps({"seconds": elapsed, "value": eu}))


if __name__ == "__main__":
    main()

"""Runs inside bench/.venv-pycid: pycid's incentive criteria on a batch of CIDs. Reads
[{"edges": [[a, b], ...], "nodes": [...], "decisions": [...], "utilities": [...]}, ...]
as JSON on stdin; prints one JSON list of {"seconds", "voi", "voc", "ri", "ici"}."""

import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import pycid  # noqa: E402
from pycid.analyze.instrumental_control_incentive import admits_ici_list  # noqa: E402
from pycid.analyze.response_incentive import admits_ri_list  # noqa: E402
from pycid.analyze.value_of_control import admits_voc_list  # noqa: E402
from pycid.analyze.value_of_information import admits_voi_list  # noqa: E402


def main():
    out = []
    for job in json.load(sys.stdin):
        cid = pycid.CID([tuple(e) for e in job["edges"]], decisions=job["decisions"],
                        utilities=job["utilities"])
        cid.add_nodes_from(job["nodes"])  # isolated nodes too
        t0 = time.perf_counter()
        res = {"voc": sorted(admits_voc_list(cid)),
               "voi": {d: sorted(admits_voi_list(cid, d)) for d in job["decisions"]},
               "ri": {d: sorted(admits_ri_list(cid, d)) for d in job["decisions"]},
               "ici": {d: sorted(admits_ici_list(cid, d)) for d in job["decisions"]}}
        res["seconds"] = time.perf_counter() - t0
        out.append(res)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""Time to draw: cp.draw on diagrams of growing size and on agents (learning and
planning world), SVG and PNG. Drawing has no peer in this venv (graphviz needs a system
binary), so the figures are absolute; the arrow routing is what grows fastest (each arrow
is tested against every node).

Usage: ``python bench/bench_drawing.py``
"""

import statistics
import tempfile
import time
from pathlib import Path

import cpspec as cp
from cpspec.examples import delayed_reward, stop_button

STOP = dict(stop_pressed=lambda s: s.button == "pressed", null_action="null")


def timed(f, repeat=5) -> float:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    print(f"{'model':<34} {'nodes':>6} {'SVG ms':>8} {'PNG ms':>8}")
    for H in (2, 5, 10, 19):
        d = cp.influence_diagram(delayed_reward(), H)
        svg = timed(lambda: cp.draw(d))
        png = timed(lambda: cp.draw(d).save(folder / "d.png"), 3)
        print(f"{'influence diagram, horizon ' + str(H):<34} {len(d):>6} {svg * 1e3:>8.1f} "
              f"{png * 1e3:>8.1f}")
    big = cp.influence_diagram(delayed_reward(), 200)
    print(f"{'horizon 200, summary=True':<34} {len(big):>6} "
          f"{timed(lambda: cp.draw(big, summary=True)) * 1e3:>8.1f} {'':>8}")
    for name, agents in (("SI", [cp.agents.SI(stop_button(), **STOP)]),
                         ("FP vs SI", [cp.agents.FP(stop_button()),
                                       cp.agents.SI(stop_button(), **STOP)])):
        svg = timed(lambda: cp.draw(*agents))
        png = timed(lambda: cp.draw(*agents).save(folder / "a.png"), 3)
        print(f"{'agent ' + name:<34} {'':>6} {svg * 1e3:>8.1f} {png * 1e3:>8.1f}")


if __name__ == "__main__":
    main()

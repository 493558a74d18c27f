"""The ``cpspec`` command line.

``cpspec check FILE|DIR``    evaluate every claim of a spec file (or of every ``*.toml``
                             directly inside a directory; sub-directories such as
                             ``specs/broken/`` are checked only when named) and exit 1 when
                             one fails, 2 when a spec file is malformed.
``cpspec derive FILE EXPR``  print the exact value of a query (``--latex`` for LaTeX).
``cpspec prove FILE|DIR``    machine-check the theorems in proof files (``[[property]]``
                             entries): print each with its verdict and solver time; exit 1
                             unless every one holds.
``cpspec explain FILE QUERY`` where an exact value or a chosen action comes from:
                             ``"E(S_f)"``, ``"P(S_f == 12)"`` scenario by scenario,
                             ``"act(agent, state)"`` action by action.
``cpspec draw FILE -o out.svg|out.png`` the worlds (or ``--agent NAME``) in the paper's
                             notation.
``cpspec simulate FILE WORLD`` seeded samples of a world's nodes, as means.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import sympy

from .errors import SpecError

__all__ = ["main"]


def _files(target: str) -> list[Path]:
    p = Path(target)
    if p.is_dir():
        return sorted(p.glob("*.toml"))
    return [p]


def _check(args) -> int:
    from .specfile import check, load
    status = 0
    total = failed = 0
    for target in args.paths:
        files = _files(target)
        if not files:
            print(f"{target}: no *.toml spec files here", file=sys.stderr)
            status = max(status, 2)
        for path in files:
            print(path)
            try:
                spec = load(path)
                results = check(spec)
            except SpecError as exc:
                print(f"  ERROR {exc}")
                status = 2
                continue
            for r in results:
                total += 1
                print(f"  {r}")
                if not r.passed:
                    failed += 1
                    status = max(status, 1)
    print(f"{total} checks: {total - failed} pass, {failed} fail")
    return status


def _prove(args) -> int:
    from .specfile import load
    from .specmodels import check_properties
    status, n, bad = 0, 0, 0
    for target in args.paths:
        files = _files(target)
        if not files:
            print(f"{target}: no *.toml proof files here", file=sys.stderr)
            status = 2
        for path in files:
            try:
                spec = load(path)
            except SpecError as exc:
                print(f"{path}\n  ERROR {exc}")
                status = 2
                continue
            print(f"{path}: {spec.theorem or '(no theorem statement)'}")
            if not spec.properties:
                print("  ERROR no [[property]] to prove")
                status = 2
            for r in check_properties(spec):
                n += 1
                ok = r.error is None and r.verdict.status == "holds"
                bad += not ok
                if r.error:
                    print(f"  ERROR {r.entry.prop} of {r.entry.agent_name}: {r.error}")
                else:
                    print("  " + str(r.verdict).replace("\n", "\n  "))
                if not ok:
                    status = max(status, 1)
    print(f"{n} theorems: {n - bad} proven, {bad} not proven")
    return status


def _derive(args) -> int:
    from .specfile import derive, load
    try:
        value = derive(load(args.file), args.expr, where="command line")
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(sympy.latex(value) if args.latex else value)
    return 0


def _explain(args) -> int:
    from .explain import explain, explain_action
    from .specfile import derive, load
    by = [b for b in (args.by or "").split(",") if b]
    overrides = {
        "P": lambda ev, given=None: explain(ev, given, by=by, max_rows=args.rows),
        "E": lambda ex, given=None: explain(ex, given, by=by, max_rows=args.rows),
        "act": lambda agent, state, t=0: explain_action(agent, state, t),
    }
    try:
        out = derive(load(args.file), args.query, where="command line", overrides=overrides)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not hasattr(out, "_repr_html_"):
        print("error: explain takes one P(...), E(...) or act(agent, state) query, not an "
              "arithmetic combination", file=sys.stderr)
        return 2
    if args.latex and hasattr(out, "_repr_latex_"):
        print(out._repr_latex_())
    elif args.html:
        print(out._repr_html_())
    else:
        print(out)
    return 0


def _draw(args) -> int:
    from .draw import agent_scene, beside, scene, to_png, to_svg
    from .specfile import load
    try:
        spec = load(args.file)
        if args.agent:
            if args.agent not in spec.agents:
                raise SpecError(f"{args.file}: no agent {args.agent!r}; agents: "
                                f"{', '.join(spec.agents) or 'none'}")
            sc = agent_scene(spec.agents[args.agent], T=args.steps)
        elif args.world:
            if args.world not in spec.worlds:
                raise SpecError(f"{args.file}: no world {args.world!r}; worlds: "
                                f"{', '.join(spec.worlds) or 'none'}")
            sc = scene(spec.worlds[args.world])
        elif spec.worlds:
            sc = beside(*(scene(d) for d in spec.worlds.values()))
        elif spec.agents:
            sc = agent_scene(next(iter(spec.agents.values())), T=args.steps)
        else:
            raise SpecError(f"{args.file} has no world or agent to draw")
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.output)
    if out.suffix.lower() == ".png":
        to_png(sc, out)
    elif out.suffix.lower() == ".svg":
        out.write_text(to_svg(sc), encoding="utf-8")
    else:
        print(f"error: {out}: the output must end in .svg or .png", file=sys.stderr)
        return 2
    print(out)
    return 0


def _simulate(args) -> int:
    from .simulate import simulate
    from .specfile import load
    try:
        spec = load(args.file)
        if args.world not in spec.worlds:
            raise SpecError(f"{args.file}: no world {args.world!r}; worlds: "
                            f"{', '.join(spec.worlds)}")
        params = dict(p.split("=", 1) for p in args.param)
        samples = simulate(spec.worlds[args.world], args.n, args.seed, params=params)
    except (SpecError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, vals in samples.items():
        try:
            shown = f"mean {vals.astype(float).mean():.6g}"
        except (TypeError, ValueError):
            uniq, counts = np.unique(vals.astype(str), return_counts=True)
            shown = ", ".join(f"{u}: {c / len(vals):.4g}" for u, c in zip(uniq, counts))
        print(f"{name}_{args.world}: {shown}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cpspec`` console script."""
    ap = argparse.ArgumentParser(prog="cpspec", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="check the claims of spec files")
    c.add_argument("paths", nargs="+")
    c.set_defaults(run=_check)
    d = sub.add_parser("derive", help="derive the exact value of a query")
    d.add_argument("file")
    d.add_argument("expr")
    d.add_argument("--latex", action="store_true")
    d.set_defaults(run=_derive)
    dr = sub.add_parser("draw", help="draw the worlds or an agent of a spec file")
    dr.add_argument("file")
    dr.add_argument("-o", "--output", required=True, help="out.svg or out.png")
    dr.add_argument("--world")
    dr.add_argument("--agent")
    dr.add_argument("--steps", type=int, default=2, help="learning-world steps for agents")
    dr.set_defaults(run=_draw)
    x = sub.add_parser("explain", help="explain a query scenario by scenario")
    x.add_argument("file")
    x.add_argument("query")
    x.add_argument("--rows", type=int, default=10, help="scenarios listed (rest summed)")
    x.add_argument("--by", help="extra nodes to show, comma-separated")
    x.add_argument("--latex", action="store_true")
    x.add_argument("--html", action="store_true")
    x.set_defaults(run=_explain)
    pr = sub.add_parser("prove", help="machine-check the theorems of proof files")
    pr.add_argument("paths", nargs="+")
    pr.set_defaults(run=_prove)
    s = sub.add_parser("simulate", help="simulate a world of a spec file")
    s.add_argument("file")
    s.add_argument("world")
    s.add_argument("-n", type=int, default=10_000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--param", action="append", default=[], help="NAME=VALUE, e.g. p=1/3")
    s.set_defaults(run=_simulate)
    args = ap.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

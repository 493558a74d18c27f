"""The ``cpspec`` command line.

``cpspec check FILE|DIR``
    evaluate every claim of a spec file (or of every ``*.toml`` directly inside a
    directory; sub-directories such as ``specs/broken/`` are checked only when named).
    Every file, claim, property and observation file is reported on its own, whatever
    happens to another. Exit status: 0 when all pass, 1 when one fails, 2 when a spec
    file is malformed, 3 when cpspec itself failed on one (an internal error: please
    report it). ``-j N`` checks on N local processes, ``--scheduler tcp://HOST:PORT`` on
    a Dask cluster: the same report in the same order, progress on stderr; a lost worker
    makes its property unknown, never holds.
``cpspec derive FILE EXPR``
    print the exact value of a query (``--latex`` for LaTeX); ``--regions`` prints the
    exact regions of a parametric answer (and ``--png`` draws them).
``cpspec prove FILE|DIR``
    machine-check the theorems in proof files (``[[property]]`` entries): print each
    with its verdict and solver time; exit 1 unless every one holds.
``cpspec explain FILE QUERY``
    where an exact value or a chosen action comes from: ``"E(S_f)"``, ``"P(S_f == 12)"``
    scenario by scenario, ``"act(agent, state)"`` action by action, ``"U(w)"`` decision
    by decision (an influence diagram).
``cpspec draw FILE -o out.svg|out.png``
    the worlds (or ``--world NAME``, ``--agent NAME``; several agents comma-separated,
    compared) in the paper's notation; ``--counterexample PROPERTY`` draws the
    counterexample of a failing property; ``--summary`` folds time series.
``cpspec simulate FILE NAME``
    seeded samples of a world's nodes, as means; of an agent (``--steps T``), its traces
    and its mean discounted reward.
``cpspec synthesize FILE AGENT PROPERTY --over p,q``
    the exact regions of the parameters where the property holds, fails and is unknown
    (``--png out.png`` or ``--svg out.svg`` draws them).

``--param NAME=VALUE`` (any command, repeatable) binds a parameter of the file to an
exact value, on top of its ``[bind]`` table. Advice in messages is phrased for the
command line (``--param``, not ``diagram.bind``).

Files named by ``uses`` and ``[[observations]]`` must lie in the spec's project (the
nearest folder above it with ``.git`` or ``pyproject.toml``, else its own folder) or in
the project of the current folder; ``--allow-outside`` lifts this.
"""

from __future__ import annotations

import argparse
import re
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import sympy

from .core.diagram import Diagram
from .core.partition import ParameterRegion, show_condition, tidy_small
from .core.regions import Choice
from .errors import SpecError
from .executors import connect, local_processes
from .explanations import explain, explain_action, explain_decisions
from .export.drawing import draw
from .export.regions import box_ranges, region_picture, save_picture
from .inference.comparisons import where as regions_where
from .inference.sampling import simulate
from .spec import loader
from .spec.base import internal_error, normal_name, phrase_for, read_number, show
from .spec.files import read_text_file
from .spec.jobs import plan_jobs, run_jobs
from .spec.properties import build_properties, check_properties, read_check
from .spec.queries import PolicyRef
from .verification.procedures import verify
from .verification.properties import no_incentive
from .verification.synthesis import synthesize
from .spec.ranges import describe_set
from .spec.safeexpr import parse

__all__ = ["main"]

#: Exit status when cpspec itself failed (an exception that is not a cpspec error).
INTERNAL = 3


def _files(target: str) -> list[Path]:
    p = Path(target)
    if p.is_dir():
        return sorted(p.glob("*.toml"))
    return [p]


def _load(path, args):
    """Load a spec file with the command line's file policy and its ``--param``s."""
    bind = dict(_param(p) for p in args.param) or None
    if args.allow_outside:
        return loader.load(path, allow_outside=True, bind=bind)
    return loader.load(path, root=[loader.spec_root(path), loader.project_dir(Path.cwd())],
                       bind=bind)


def _say(text) -> str:
    """A message with its advice phrased for the command line (``--param``)."""
    return phrase_for(str(text), "cli")


def _internal(exc: BaseException) -> str:
    return internal_error(exc)


def _listed(paths, kind: str) -> tuple[list, int]:
    """The ``*.toml`` files of every target, and the exit status so far: 2 when a target
    holds none (each such target is said on stderr), else 0."""
    files, status = [], 0
    for target in paths:
        found = _files(target)
        if not found:
            print(f"{target}: no *.toml {kind} files here", file=sys.stderr)
            status = 2
        files += found
    return files, status


def _check(args) -> int:
    if args.jobs is not None or args.scheduler:
        return _check_on_workers(args)
    total = failed = 0
    files, status = _listed(args.paths, "spec")
    for path in files:
        print(path)
        try:
            spec = _load(path, args)
            results = loader.check(spec)
        except SpecError as exc:
            print(f"  ERROR {_say(exc)}")
            status = max(status, 2)
            continue
        except Exception as exc:  # one file's failure never hides the others
            print(f"  INTERNAL ERROR {_internal(exc)}")
            status = max(status, INTERNAL)
            continue
        for x, where in spec.validity.items():
            print(f"  NOTE  {x}: a model only for {describe_set(where, x)}, where every "
                  "probability and discount lies in [0, 1]; [domains] can state it")
        for r in results:
            total += 1
            try:
                line = str(r)
            except Exception as exc:
                line = f"INTERNAL ERROR while printing a result: {_internal(exc)}"
                r = None
            print(f"  {_say(line)}")
            code = _exit_code(r is None or getattr(r, "internal", False),
                              r is not None and r.passed)
            failed, status = failed + (code > 0), max(status, code)
    print(f"{total} checks: {total - failed} pass, {failed} fail")
    return status


def _exit_code(internal: bool, passed: bool) -> int:
    """One checked result's exit status: 0 passed, 1 failed, INTERNAL cpspec failed."""
    return INTERNAL if internal else (0 if passed else 1)


def _executor(args):
    """The executor of ``-j N`` (local processes) or ``--scheduler ADDRESS`` (a running
    Dask scheduler), and what to close when done."""
    if args.scheduler:
        client = connect(args.scheduler)
        return client.get_executor(), client
    pool = local_processes(args.jobs)
    return pool, pool


def _progress(done: int, total: int) -> None:
    """``done/total`` jobs on stderr: one updated line on a terminal, else about twenty
    lines in all (logs stay short)."""
    if sys.stderr.isatty():
        print(f"\rchecking: {done}/{total} jobs", end="\n" if done == total else "",
              file=sys.stderr, flush=True)
    elif done == total or done % max(1, total // 20) == 0:
        print(f"checking: {done}/{total} jobs", file=sys.stderr, flush=True)


def _check_on_workers(args) -> int:
    """``cpspec check`` with its jobs on workers: the same report as the serial check, in
    the same order; each file is read here first (malformed files are reported here)."""
    try:  # first, so that a scheduler that does not answer is reported at once
        executor, closing = _executor(args)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    total = failed = 0
    plan = []  # (header lines, jobs) per file
    files, status = _listed(args.paths, "spec")
    for path in files:
        head = [str(path)]
        try:
            text = read_text_file(str(path), "a spec file")
            spec = _load(path, args)
            jobs = plan_jobs(str(path), text, spec, allow_outside=args.allow_outside,
                             root=[loader.spec_root(path),
                                   loader.project_dir(Path.cwd())],
                             bind=dict(_param(p) for p in args.param))
        except SpecError as exc:
            plan.append((head + [f"  ERROR {_say(exc)}"], []))
            status = max(status, 2)
            continue
        except Exception as exc:
            plan.append((head + [f"  INTERNAL ERROR {_internal(exc)}"], []))
            status = max(status, INTERNAL)
            continue
        head += [f"  NOTE  {x}: a model only for {describe_set(where, x)}, where every "
                 "probability and discount lies in [0, 1]; [domains] can state it"
                 for x, where in spec.validity.items()]
        plan.append((head, jobs))
    with closing:
        results = run_jobs([j for _, jobs in plan for j in jobs], executor,
                           on_progress=_progress)
        for head, jobs in plan:
            print("\n".join(head))
            for _ in jobs:
                for line in next(results)[1]:
                    total += 1
                    print(f"  {_say(line.text)}")
                    code = _exit_code(line.internal, line.passed)
                    failed, status = failed + (code > 0), max(status, code)
    print(f"{total} checks: {total - failed} pass, {failed} fail")
    return status


def _prove(args) -> int:
    n, bad = 0, 0
    files, status = _listed(args.paths, "proof")
    for path in files:
        try:
            spec = _load(path, args)
        except SpecError as exc:
            print(f"{path}\n  ERROR {_say(exc)}")
            status = max(status, 2)
            continue
        except Exception as exc:
            print(f"{path}\n  INTERNAL ERROR {_internal(exc)}")
            status = max(status, INTERNAL)
            continue
        print(f"{path}: {spec.theorem or '(no theorem statement)'}")
        if not spec.properties:
            print("  ERROR no [[property]] to prove")
            status = 2
        for r in check_properties(spec):
            n += 1
            ok = r.passed  # the verdict the file expects (holds unless expect says)
            bad += not ok
            if r.error:
                print(f"  {r}")
            else:
                mark = "PASS " if ok else "FAIL "
                tail = "" if ok else f"  (expected {r.entry.expect})"
                print(f"  {mark}" + str(r.verdict).replace("\n", "\n  ") + tail)
            if not ok:
                status = max(status, INTERNAL if r.internal else 1)
    print(f"{n} theorems: {n - bad} as stated, {bad} not")
    return status


def _derive(args) -> int:
    try:
        spec = _load(args.file, args)
        value = loader.derive(spec, args.expr, where="command line")
        if args.regions or args.png:
            return _print_regions(_regions_of(value, spec, _enclosure(args.enclosure)),
                                  args.png, args.expr)
    except SpecError as exc:
        print(f"error: {_say(exc)}", file=sys.stderr)
        return 2
    if args.latex:
        try:
            print(sympy.latex(value))
            return 0
        except ValueError:  # a number too long for Python to print
            print(f"error: the value is too large for LaTeX; it is {show(value)}",
                  file=sys.stderr)
            return 2
    print(show(value))
    return 0


def _regions_of(value, spec, enclosure=None) -> tuple:
    """``(regions, parameters, box)`` of a parametric answer of a query (``enclosure``:
    a comparison without polynomial boundaries is enclosed in boxes that fine)."""
    if isinstance(value, list) and value and isinstance(value[0], ParameterRegion):
        regs = value
    elif isinstance(value, Choice):
        regs = [ParameterRegion(s.as_relational(value.x), a, {})
                for s, a in value.pieces]
    elif isinstance(value, sympy.Piecewise):
        # a piece holds where its condition does and no earlier one's (the last piece's
        # ``True`` reads "otherwise")
        regs, earlier = [], []
        for e, c in value.args:
            regs.append(ParameterRegion(sympy.And(c, *[sympy.Not(k) for k in earlier]),
                                        e, {}))
            earlier.append(c)
        regs = [r for r in regs if r.condition is not sympy.false]
    elif isinstance(value, sympy.logic.boolalg.Boolean) and value.free_symbols:
        regs = regions_where(value, domain=spec.domain_for(value.free_symbols), timeout=None,
                             enclosure=enclosure)
    elif hasattr(value, "regions") and callable(value.regions):
        regs = value.regions()
    elif isinstance(value, PolicyRef):
        raise SpecError("--regions: a policy has regions per state; ask for its action in "
                        "one, e.g. \"pi*(STATE)\" (\"pi*(t, STATE)\" for a finite "
                        "horizon), or for its value \"U(pi*)\"")
    else:
        raise SpecError(f"--regions: the answer {show(value)} does not depend on a "
                        "parameter (no regions to list)")
    order = [str(v) for v in spec.params.values() if isinstance(v, sympy.Symbol)]
    params = sorted(set().union(*(r.condition.free_symbols for r in regs)),   # file order
                    key=lambda x: (order.index(str(x)) if str(x) in order else len(order),
                                   str(x)))
    doms = {x: spec.domains.get(x, spec.validity.get(x, sympy.Interval(0, 1)))
            for x in params}
    box = sympy.And(*[d.as_relational(x) for x, d in doms.items()])
    if isinstance(value, sympy.Piecewise):
        regs = [ParameterRegion(tidy_small(params, box, r.condition), r.answer, r.sample)
                for r in regs]
    return regs, params, box


def _print_regions(found: tuple, png, title: str) -> int:
    regs, params, box = found
    for r in regs:
        cond = "everywhere" if r.condition is sympy.true else \
            f"where {show_condition(r.condition)}"
        print(f"{show(r.answer) if r.answer is not None else 'undecided'} {cond}")
    if png:
        svg = region_picture(regs, params, box_ranges(params, box), title=title)
        print(save_picture(svg, png))
    return 0


def _synthesize(args) -> int:
    try:
        spec = _load(args.file, args)
        if args.agent not in spec.agents:
            raise SpecError(f"{args.file}: no agent {args.agent!r}; agents: "
                            f"{', '.join(spec.agents) or 'none'}")
        agent = spec.agents[args.agent]
        names = [normal_name(x.strip()) for x in args.over.split(",") if x.strip()]
        bad = [x for x in names if not isinstance(spec.params.get(x), sympy.Symbol)]
        if bad or not names:
            raise SpecError(f"--over {args.over}: {bad[0] if bad else 'nothing'} is not a free "
                            f"parameter of {args.file} (its parameters: "
                            f"{', '.join(k for k, v in spec.params.items() if isinstance(v, sympy.Symbol)) or 'none'})")
        over = [spec.params[x] for x in names]
        prop = read_check(args.property, agent.env, spec.params, "command line")
        res = synthesize(agent, prop, over=over, domain=spec.domain_for(over),
                         timeout=args.timeout)
    except SpecError as exc:
        print(f"error: {_say(exc)}", file=sys.stderr)
        return 2
    print(_say(res))
    for cond, cex in res.counterexamples:
        print(f"  where {show_condition(cond)}, a counterexample: "
              + str(cex).replace("\n", "\n    "))
    if args.png or args.svg:
        try:
            svg = region_picture(res.regions(), over,      # --over's order: x, then y
                                 box_ranges(over, res.box),
                                 title=f"{prop} of {args.agent}")
            for out in (args.png, args.svg):
                if out:
                    print(save_picture(svg, out))
        except SpecError as exc:
            print(f"error: {_say(exc)}", file=sys.stderr)
            return 2
    return 0


def _explain_U(ref):
    if isinstance(ref, Diagram):
        return explain_decisions(ref)
    raise SpecError("explain U(w) takes a world with decision nodes; for an MDP's policy "
                    "explain act(agent, state)")


def _explain(args) -> int:
    by = [b for b in (args.by or "").split(",") if b]
    try:
        overrides = {
            "P": lambda ev, given=None: explain(ev, given, by=by, max_rows=args.rows),
            "E": lambda ex, given=None: explain(ex, given, by=by, max_rows=args.rows),
            "act": lambda agent, state, t=0: explain_action(agent, state, t),
            "U": _explain_U,
        }
        out = loader.derive(_load(args.file, args), args.query, where="command line",
                            overrides=overrides)
    except SpecError as exc:
        print(f"error: {_say(exc)}", file=sys.stderr)
        return 2
    if not hasattr(out, "_repr_html_"):
        print("error: explain takes one P(...), E(...), act(agent, state) or U(world) "
              "query, not an arithmetic combination", file=sys.stderr)
        return 2
    if args.latex and hasattr(out, "_repr_latex_"):
        print(out._repr_latex_())
    elif args.html:
        print(out._repr_html_())
    else:
        print(out)
    return 0


def _named(table: dict, name: str, what: str, file) -> object:
    if name not in table:
        raise SpecError(f"{file}: no {what} {name!r}; {what}s: "
                        f"{', '.join(table) or 'none'}")
    return table[name]


_NO_INCENTIVE = re.compile(r"^\s*no_incentive\(\s*['\"]?(\w+)['\"]?\s*\)\s*$")


def _counterexample_verdict(spec, args, agents, world):
    """Verify the ``--counterexample`` property; its verdict (failing, to be drawn)."""
    text = args.counterexample
    if agents:
        if len(agents) != 1:
            raise SpecError("--counterexample draws on one agent: give one --agent NAME")
        name = args.agent
        entry, = build_properties([{"agent": name, "check": text}], spec.agents, spec.mdps,
                                  spec.params, "--counterexample", (), spec.classes)
        verdict = verify(agents[0], entry.prop, timeout=args.timeout)
    elif world is not None:
        m = _NO_INCENTIVE.match(text)
        if not m:
            raise SpecError(f"--counterexample {text!r}: on a world (an influence diagram) "
                            "the property is no_incentive(NODE); other properties are "
                            "about agents: give --agent NAME")
        verdict = verify(world, no_incentive(m.group(1)), timeout=args.timeout)
    else:
        raise SpecError("--counterexample needs --agent NAME (or --world NAME for an "
                        "influence diagram)")
    if verdict.status != "fails":
        raise SpecError(f"{verdict.property} {verdict.status} for {verdict.agent}: no "
                        f"counterexample to draw ({verdict.reason or verdict.method})")
    return verdict


def _draw(args) -> int:
    try:
        spec = _load(args.file, args)   # binds the --param values
        agents = [_named(spec.agents, n.strip(), "agent", args.file)
                  for n in args.agent.split(",")] if args.agent else []
        world = _named(spec.worlds, args.world, "world", args.file) if args.world else None
        if args.counterexample:
            target = agents[0] if agents else world
            pic = draw(target, counterexample=_counterexample_verdict(spec, args, agents,
                                                                      world))
        elif agents:
            pic = draw(*agents, steps=args.steps)
        elif world is not None:
            pic = draw(world, summary=args.summary)
        elif spec.worlds:
            pic = draw(*spec.worlds.values(), summary=args.summary)
        elif spec.agents:
            pic = draw(next(iter(spec.agents.values())), steps=args.steps)
        else:
            raise SpecError(f"{args.file} has no world or agent to draw")
        out = Path(args.output)
        if out.suffix.lower() not in (".svg", ".png"):
            raise SpecError(f"{out}: the output must end in .svg or .png")
        pic.save(out)
    except SpecError as exc:
        print(f"error: {_say(exc)}", file=sys.stderr)
        return 2
    print(out)
    return 0


#: Most values ``cpspec simulate`` draws (samples x nodes) unless ``--max-values`` says
#: otherwise: each costs 8 bytes or more.
MAX_VALUES = 50_000_000


def _enclosure(text: str | None):
    """``--enclosure FRACTION``: an exact number in (0, 1], read by the safe interpreter."""
    if text is None:
        return None
    v = read_number(parse(text, "--enclosure").evaluate({}), "--enclosure",
                    "the smallest box side")
    v = sympy.Rational(v.numerator, v.denominator) if isinstance(v, Fraction) else v
    if not (v.is_Rational and 0 < v <= 1):
        raise SpecError(f"--enclosure {text}: give the smallest box side as a fraction of "
                        "the box, between 0 and 1 (e.g. --enclosure 1/64)")
    return v


def _param(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` of ``--param``: the value an exact number (``1/3``), read by the
    safe interpreter (never by float() or Fraction(), which are slow on ``1e-400000000``)."""
    if "=" not in text:
        raise SpecError(f"--param {text!r}: write NAME=VALUE, e.g. --param p=1/3")
    name, value = (t.strip() for t in text.split("=", 1))
    name = normal_name(name)
    if not name.isidentifier():
        raise SpecError(f"--param {text!r}: {name!r} is not a parameter name")
    where = f"--param {name}"
    v = read_number(parse(value, where).evaluate({}), where, f"the value of {name}")
    return name, (sympy.Rational(v.numerator, v.denominator) if isinstance(v, Fraction)
                  else v)


def _simulate_agent(args, spec) -> int:
    agent = spec.agents[args.name]
    runs = agent.traces(args.steps, args.n, args.seed)
    for k, run in enumerate(runs[:args.traces]):
        steps = "".join(f" -{a}-> {_state_text(s2)} (R {r})"
                        for a, s2, r in zip(run["actions"], run["states"][1:],
                                            run["rewards"]))
        print(f"run {k + 1}: {_state_text(run['states'][0])}{steps}; discounted "
              f"{run['total']:.6g}")
    if len(runs) > args.traces:
        print(f"... {len(runs) - args.traces} more runs")
    totals = np.array([r["total"] for r in runs])
    print(f"{args.name}: mean discounted reward over {len(runs)} runs of {args.steps} steps: "
          f"{totals.mean():.6g} (simulated; cpspec derive FILE \"value({args.name}, "
          f"{args.steps})\" gives it exactly)")
    return 0


def _state_text(s) -> str:
    if hasattr(s, "items") and not isinstance(s, dict):
        return ",".join(str(v) for v in dict(s).values())
    return str(s)


def _simulate(args) -> int:
    try:
        spec = _load(args.file, args)   # binds the --param values
        if args.name in spec.agents and args.name not in spec.worlds:
            return _simulate_agent(args, spec)
        if args.name not in spec.worlds:
            raise SpecError(f"{args.file}: no world or agent {args.name!r}; worlds: "
                            f"{', '.join(spec.worlds) or 'none'}; agents: "
                            f"{', '.join(spec.agents) or 'none'}")
        d = spec.worlds[args.name]
        cells = args.n * len(d.order)
        if args.n <= 0:
            raise SpecError(f"-n {args.n}: the number of samples must be positive")
        if cells > args.max_values:
            raise SpecError(f"-n {args.n:,} samples of {len(d.order)} nodes are {cells:,} "
                            f"values (at least {8 * cells / 1e9:,.1f} GB), above the limit of "
                            f"{args.max_values:,}; lower -n or raise --max-values")
        samples = simulate(d, args.n, args.seed)
    except SpecError as exc:
        print(f"error: {_say(exc)}", file=sys.stderr)
        return 2
    for name, vals in samples.items():
        try:
            shown = f"mean {vals.astype(float).mean():.6g}"
        except (TypeError, ValueError, OverflowError):
            uniq, counts = np.unique(vals.astype(str), return_counts=True)
            shown = ", ".join(f"{u}: {c / len(vals):.4g}" for u, c in zip(uniq, counts))
        print(f"{name}_{args.name}: {shown}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cpspec`` console script.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: the command line's).

    Returns
    -------
    int
        The exit status (see the module docstring).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "w.toml").write_text('[world.w.node.X]\\nfn = "2"\\n')
    >>> main(["derive", str(folder / "w.toml"), "E(X_w)"])
    2
    0
    """
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except Exception as exc:  # never a raw traceback: name it as cpspec's own failure
        print(f"internal error: {_internal(exc)}", file=sys.stderr)
        return INTERNAL


def _parser() -> argparse.ArgumentParser:
    """The command line's parser: one sub-command per verb, each with its ``run``."""
    ap = argparse.ArgumentParser(prog="cpspec", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    files = argparse.ArgumentParser(add_help=False)
    files.add_argument("--allow-outside", action="store_true",
                       help="read uses and observation files outside the spec's project")
    files.add_argument("--param", action="append", default=[],
                       help="NAME=VALUE: bind a parameter of the file, e.g. p=1/3")
    c = sub.add_parser("check", help="check the claims of spec files", parents=[files])
    c.add_argument("paths", nargs="+")
    c.add_argument("-j", "--jobs", type=int, metavar="N",
                   help="check on N local worker processes (claims, each property and "
                        "observations as separate jobs; progress on stderr)")
    c.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="check on a running Dask scheduler's workers (pip install "
                        "'cpspec[distributed]')")
    c.set_defaults(run=_check)
    d = sub.add_parser("derive", help="derive the exact value of a query",
                       parents=[files])
    d.add_argument("file")
    d.add_argument("expr")
    d.add_argument("--latex", action="store_true")
    d.add_argument("--regions", action="store_true",
                   help="list the exact regions of a parametric answer")
    d.add_argument("--png", help="draw the regions to out.png (or .svg)")
    d.add_argument("--enclosure", default=None, metavar="FRACTION",
                   help="with --regions, for a comparison without polynomial boundaries: "
                        "a certified numeric enclosure in boxes down to FRACTION of the "
                        "box (e.g. 1/64); undecided boxes are listed as None")
    d.set_defaults(run=_derive)
    dr = sub.add_parser("draw", help="draw the worlds or agents of a spec file",
                        parents=[files])
    dr.add_argument("file")
    dr.add_argument("-o", "--output", required=True, help="out.svg or out.png")
    dr.add_argument("--world")
    dr.add_argument("--agent", help="an agent, or several (a,b) to compare")
    dr.add_argument("--steps", type=int, default=2, help="learning-world steps for agents")
    dr.add_argument("--counterexample", metavar="PROPERTY",
                    help='draw the counterexample of a failing property, e.g. "myopic(1)"')
    dr.add_argument("--timeout", type=float, default=60.0,
                    help="seconds to verify --counterexample (default 60)")
    dr.add_argument("--summary", action="store_true",
                    help="fold each time series into one node (large models)")
    dr.set_defaults(run=_draw)
    x = sub.add_parser("explain", help="explain a query scenario by scenario",
                       parents=[files])
    x.add_argument("file")
    x.add_argument("query")
    x.add_argument("--rows", type=int, default=10, help="scenarios listed (rest summed)")
    x.add_argument("--by", help="extra nodes to show, comma-separated")
    x.add_argument("--latex", action="store_true")
    x.add_argument("--html", action="store_true")
    x.set_defaults(run=_explain)
    pr = sub.add_parser("prove", help="machine-check the theorems of proof files",
                        parents=[files])
    pr.add_argument("paths", nargs="+")
    pr.set_defaults(run=_prove)
    s = sub.add_parser("simulate", help="simulate a world or an agent of a spec file",
                       parents=[files])
    s.add_argument("file")
    s.add_argument("name", help="a world (its nodes' means) or an agent (its traces)")
    s.add_argument("-n", type=int, default=10_000, help="samples (worlds) or runs (agents)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--steps", type=int, default=10, help="steps of each agent run")
    s.add_argument("--traces", type=int, default=5, help="agent runs printed in full")
    s.add_argument("--max-values", type=int, default=MAX_VALUES,
                   help=f"refuse more than this many samples x nodes (default {MAX_VALUES:,})")
    s.set_defaults(run=_simulate)
    y = sub.add_parser("synthesize", help="the exact parameter regions of a property",
                       parents=[files])
    y.add_argument("file")
    y.add_argument("agent")
    y.add_argument("property", help='e.g. "no_incentive(button)"')
    y.add_argument("--over", required=True, help="the parameters, comma-separated: p,q")
    y.add_argument("--timeout", type=float, default=60.0,
                   help="seconds for the whole synthesis (default 60)")
    y.add_argument("--png", help="draw the regions to out.png")
    y.add_argument("--svg", help="draw the regions to out.svg")
    y.set_defaults(run=_synthesize)
    return ap


if __name__ == "__main__":
    sys.exit(main())

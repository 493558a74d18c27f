"""Fuzzing the spec loader and the safe expression interpreter.

Whatever the input (token soup, generated expressions, generated spec files, mutations of
the example specs), only cpspec errors come out, no result is an internal error, every
number is exact and real, and nothing runs code: an audit hook watches for code execution
(``exec``, which ``eval`` and ``sympify`` of text reach), processes, sockets and file
writes while the fuzzed input is handled. The budget is small for CI; set
``CPSPEC_FUZZ_EXAMPLES`` for a longer run.
"""

import copy
import json
import math
import os
import sys
import tomllib
from fractions import Fraction
from pathlib import Path

import pytest
import sympy
from hypothesis import HealthCheck, given, settings, strategies as st

import cpspec as cp
from cpspec.spec.safeexpr import parse
from cpspec.spec.loader import check, load
from conftest import REPO

ROOT = REPO
EXAMPLES = int(os.environ.get("CPSPEC_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---- the audit hook -----------------------------------------------------------------

_ARMED: list = []
_SEEN: list = []
_WATCHED = ("exec", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
            "subprocess.Popen", "socket.", "ctypes.", "pty.spawn", "webbrowser.open",
            "shutil.", "os.remove", "os.rename", "os.mkdir", "os.rmdir")


def _hook(event, args):
    if not _ARMED:
        return
    if event.startswith(_WATCHED):
        if event == "ctypes.cdata/buffer" and sys._getframe(1).f_globals.get(
                "__name__", "").startswith("z3"):
            return   # Z3's own bindings marshalling a term (parameter regions), no input code
        _SEEN.append(event)
    elif event == "open" and len(args) > 1 and (
            any(c in str(args[1] or "") for c in "wax+") or (
                isinstance(args[2], int) and args[2] & (os.O_WRONLY | os.O_RDWR))):
        _SEEN.append(f"open for writing: {args[0]}")


if not getattr(sys, "_cpspec_fuzz_hook", False):  # an audit hook cannot be removed
    sys.addaudithook(_hook)
    sys._cpspec_fuzz_hook = True


def _guarded(run):
    """Run ``run()`` with the hook armed; only cpspec errors may come out, and no code,
    process, socket or write may happen."""
    _SEEN.clear()
    _ARMED.append(True)
    try:
        return run()
    except cp.SpecError:
        return None
    finally:
        _ARMED.clear()
        assert not _SEEN, f"the input ran code or touched the system: {_SEEN}"


@pytest.fixture(scope="module", autouse=True)
def _warm():
    """Import everything lazily imported once, so the hook sees only the fuzzed work."""
    for f in sorted((ROOT / "specs").glob("*.toml")):
        check(load(f))
    parse("min(1, 2) + sqrt(4) ** (1/2)", "t").evaluate({})


def _exact(v):
    """Every number in a value is exact and real."""
    if isinstance(v, (float, complex)):
        return False
    if isinstance(v, tuple):
        return all(_exact(x) for x in v)
    if isinstance(v, sympy.Basic):
        return not v.has(sympy.Float) and not v.has(sympy.I)
    return True


# ---- expressions ------------------------------------------------------------------------

TOKENS = ["1", "0", "2", "10", "9999", "1/2", "-", "+", "*", "**", "/", "//", "%", "(", ")",
          ",", " ", "sqrt", "min", "max", "abs", "p", "x", "s", "q", "'a'", "'%d'", "'1/2'",
          " if ", " else ", "==", "<", ">=", "!=", " and ", " or ", " not ", "1e5", "1.5",
          "__import__", ".", "[", "]", "{", "}", "lambda", ":", "I", "1j", "\u00b2", "\uff27",
          "\ufb01", "0x", "ff", "_", "\\", '"', "\x00", "\n", "True", "None", "..."]

ENV = {"p": sympy.Symbol("p", real=True), "x": 3, "s": "ab", "q": Fraction(1, 3)}


def _grammar():
    atoms = st.one_of(st.integers(-10, 10).map(str), st.sampled_from(
        ["p", "x", "q", "s", "'a'", "1/2", "10**100", "2**64", "0", "-1", "(1/3)",
         "10**4000", "True"]))

    def extend(sub):
        binop = st.tuples(sub, st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "==",
                                                 "<", ">=", " and ", " or "]), sub)
        return st.one_of(
            binop.map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
            sub.map(lambda a: f"-({a})"), sub.map(lambda a: f"not ({a})"),
            sub.map(lambda a: f"sqrt({a})"), sub.map(lambda a: f"abs({a})"),
            st.tuples(sub, sub).map(lambda t: f"min({t[0]}, {t[1]})"),
            st.tuples(sub, sub).map(lambda t: f"({t[0]}, {t[1]})"),
            st.tuples(sub, sub, sub).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
            st.tuples(sub, st.sampled_from(["(1/2)", "(2/3)", "(-1/2)", "(1/3)", "10000",
                                            "10001", "sqrt(10**20)"])).map(
                lambda t: f"({t[0]})**{t[1]}"))
    return st.recursive(atoms, extend, max_leaves=12)


EXPRESSIONS = st.one_of(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join),
                        _grammar(), st.text(max_size=40))


@FUZZ
@given(EXPRESSIONS, st.booleans())
def test_fuzz_the_expression_interpreter(text, relational):
    def run():
        v = parse(text, "fuzz").evaluate(ENV, relational_if=relational)
        assert _exact(v), (text, v)
        return v
    _guarded(run)


# ---- spec files -------------------------------------------------------------------------

def toml(v) -> str:
    """A value as TOML (inline tables for mappings)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if v != v else
                                                  ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {toml(x)}"
                           for k, x in v.items()) + "}"


def document(sections: dict) -> str:
    return "".join(f"{json.dumps(k, ensure_ascii=False)} = {toml(v)}\n"
                   for k, v in sections.items())


NAMES = st.sampled_from(["X", "Y", "G", "\uff27", "f", "g", "\ufb01", "fi", "p", "a", "s",
                         "u", "v", "1x", "", "if", "X_f", "pi_star", "P", "m", "fp"])
EXPR_TEXT = st.one_of(st.sampled_from(
    ["1", "1/2", "p", "1 - p", "X", "X + 1", "'1/2'", "sqrt(-1)", "1e-400000000", "X == 1",
     "1 if X == 1 else 0", "p**2", "-1 - p**2", "(p+1)**10000", "2**sqrt(10**20)",
     "u", "1 if s2 == u else 0", "b if a == go else v", "s == v"]), _grammar())
SCALARS = st.one_of(st.integers(-2, 3), st.booleans(), st.floats(), EXPR_TEXT,
                    st.just(10**40), st.just([]), st.just({}))
VALUES = st.one_of(st.lists(st.one_of(st.integers(0, 3), NAMES), max_size=4), SCALARS)

NODE = st.dictionaries(
    st.sampled_from(["values", "dist", "p", "probs", "prob", "fn", "parents", "kind", "label",
                     "o0"]),
    st.one_of(VALUES, st.sampled_from(["uniform", "bernoulli", "decision", "utility"]),
              st.dictionaries(st.sampled_from(["0", "1", "2", "a", "\u00b2"]), EXPR_TEXT,
                              max_size=3),
              st.lists(NAMES, max_size=3)),
    max_size=4)
WORLD = st.one_of(
    st.fixed_dictionaries({"node": st.dictionaries(NAMES, NODE, max_size=3)}),
    st.fixed_dictionaries({"from": st.one_of(NAMES, SCALARS),
                           "replace": st.dictionaries(NAMES, EXPR_TEXT, max_size=2)}),
    SCALARS)
MDP = st.dictionaries(
    st.sampled_from(["states", "actions", "start", "gamma", "horizon", "transition",
                     "transition_prob", "reward", "variables", "dynamics"]),
    st.one_of(st.just(["u", "v"]), st.just(["go", "stop"]), st.integers(-1, 3),
              st.just({"v": ["a", "b"]}), st.just({"v": "b if a == go else v"}),
              st.just({"u": {"go": {"v": "1"}}}), EXPR_TEXT, SCALARS),
    max_size=8)
AGENT = st.dictionaries(
    st.sampled_from(["kind", "env", "learner", "horizon", "epsilon", "stop", "null_action",
                     "T_max", "U_max", "terminal", "rewards", "o0"]),
    st.one_of(st.sampled_from(["FP", "FPX", "STH", "SI", "ITC", "m", "perfect",
                               "counting:stay", "counting:bogus", "go", "v"]),
              st.integers(-1, 3), EXPR_TEXT, SCALARS),
    max_size=6)
QUERIES = st.one_of(st.sampled_from(
    ["P(X_f == 1)", "E(X_f)", "E(Y_f) - E(X_f)", "P(X_f == 1, given=Y_f == 0)", "act(fp, u)",
     "value(fp, 2)", "pi*(u)", "U(pi*)", "threshold(pi*)", "U(f)", "E(X_f)**(1/2)",
     "sqrt(E(X_f) - 2)"]), EXPR_TEXT)
SPEC = st.fixed_dictionaries({}, optional={
    "params": st.one_of(st.lists(NAMES, max_size=3), SCALARS),
    "world": st.one_of(st.dictionaries(NAMES, WORLD, max_size=3), SCALARS),
    "mdp": st.one_of(st.dictionaries(NAMES, MDP, max_size=2), SCALARS),
    "agent": st.one_of(st.dictionaries(NAMES, AGENT, max_size=2), SCALARS),
    "claims": st.one_of(st.dictionaries(QUERIES, st.one_of(EXPR_TEXT, SCALARS), max_size=4),
                        SCALARS),
    "domains": st.one_of(st.dictionaries(NAMES, EXPR_TEXT, max_size=2), SCALARS),
    "observations": st.one_of(st.lists(st.dictionaries(
        st.sampled_from(["world", "file"]),
        st.one_of(NAMES, st.sampled_from(["/etc/passwd", "../x.csv", "/dev/zero", "a.csv"]),
                  SCALARS), max_size=2), max_size=2), SCALARS),
    "uses": st.one_of(st.sampled_from(["/dev/zero", "../../etc/x.toml", "nothere.toml",
                                       "t.toml"]), SCALARS),
    "theorem": SCALARS,
})


def _check_text(text):
    def run():
        for r in check(load("t.toml", text=text)):
            assert not getattr(r, "internal", False), str(r)
            if getattr(r, "derived", None) is not None:
                assert _exact(r.derived), str(r)
            str(r)
    _guarded(run)


@FUZZ
@given(SPEC)
def test_fuzz_the_spec_loader_with_generated_files(sections):
    _check_text(document(sections))


# well-formed specs, edited at random places: most of the loader is reached
BASES = [tomllib.loads(t) for t in ("""
params = ["p"]
[world.f.node.X]
dist = "bernoulli"
p = "p"
[world.f.node.Y]
values = [0, 1, 2]
prob = "1/3"
[world.f.node.Z]
fn = "X + Y"
[world.f.node.W]
values = ["a", "b"]
probs = { a = "1/2 if X == 1 else 1/4", b = "1/2 if X == 1 else 3/4" }
[world.c]
from = "f"
replace.X = "1"
[claims]
"E(Z_f)" = "p + 1"
"P(Z_c == 2)" = "1/3"
"P(W_f == 'a', given=X_f == 1)" = "1/2"
""", """
params = ["gamma"]
[mdp.m]
states = ["u", "v"]
actions = ["go", "stay"]
start = "u"
gamma = "gamma"
horizon = 2
reward = "1 if s == u and a == go else 0"
transition_prob = "(1 if s2 == v else 0) if a == go else (1 if s2 == s else 0)"
[agent.fp]
kind = "FP"
env = "m"
horizon = 2
[claims]
"pi*(u)" = "go"
"U(pi*)" = "1"
"act(fp, u)" = "go"
"value(fp, 2)" = "1"
""", """
[mdp.b]
actions = ["work", "off", "null"]
gamma = "1/2"
start = { button = "up" }
variables.button = ["up", "down"]
dynamics.button.probs.down = "1 if button == down else 1/2"
dynamics.button.probs.up = "0 if button == down else 1/2"
reward = "1 if a == work else 0"
[agent.si]
kind = "SI"
env = "b"
stop = "button == down"
null_action = "null"
T_max = 2
[claims]
"act(si, S(button='up'))" = "work"
"act(si, S(button='down'))" = "null"
""", """
params = ["N"]
[domains]
N = "N >= 1"
[world.m.node.X]
kind = "decision"
values = [0, 1]
[world.m.node.U]
kind = "utility"
fn = "X + (1 - X**2)/N"
[claims]
"U(m)" = "1/N if N <= 1 else 1"
""")]
EDITS = st.lists(st.tuples(st.sampled_from(["set", "set", "delete", "add"]),
                           st.integers(0, 10**6), st.one_of(EXPR_TEXT, SCALARS, NAMES, VALUES),
                           NAMES), min_size=1, max_size=3)


def _paths(d, prefix=()):
    for k, v in d.items():
        yield prefix + (k,)
        if isinstance(v, dict):
            yield from _paths(v, prefix + (k,))


def _edit(base: dict, edits) -> dict:
    d = copy.deepcopy(base)
    for kind, at, value, name in edits:
        paths = list(_paths(d))
        if not paths:
            break
        path = paths[at % len(paths)]
        parent = d
        for k in path[:-1]:
            parent = parent[k]
        if kind == "set":
            parent[path[-1]] = value
        elif kind == "delete":
            del parent[path[-1]]
        else:
            parent[name] = value
    return d


@FUZZ
@given(st.sampled_from(BASES), EDITS)
def test_fuzz_the_spec_loader_with_edited_specs(base, edits):
    _check_text(document(_edit(base, edits)))


def _mutate(text: str, ops) -> str:
    for kind, at, what in ops:
        i = at % (len(text) + 1)
        if kind == "delete":
            text = text[:i] + text[i + len(what):]
        elif kind == "insert":
            text = text[:i] + what + text[i:]
        else:  # duplicate a line
            lines = text.splitlines(keepends=True) or [""]
            j = at % len(lines)
            text = "".join(lines[:j + 1] + lines[j:])
    return text


SPEC_TEXTS = [f.read_text() for f in sorted((ROOT / "specs").glob("*.toml"))
              if f.name != "dice_observations.toml"]
MUTATIONS = st.lists(st.tuples(
    st.sampled_from(["delete", "insert", "duplicate"]), st.integers(0, 5000),
    st.sampled_from(["", "x", "1", "\"", "'", "[", "]", "=", "\n", "0.5", "-", "**9", "\uff27",
                     "sqrt(-1)", " if ", "(", "9" * 5, "[world.f.node.X]\n", "\"1/2\"",
                     "true", "{}", ",", "#", "\\"])),
    min_size=1, max_size=4)


@FUZZ
@given(st.sampled_from(SPEC_TEXTS), MUTATIONS)
def test_fuzz_the_spec_loader_with_mutated_examples(text, ops):
    _check_text(_mutate(text, ops))


@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_the_spec_loader_with_bytes(tmp_path_factory, data):
    f = tmp_path_factory.mktemp("fuzz") / "t.toml"
    f.write_bytes(data)
    _guarded(lambda: check(load(f)))


def test_the_audit_hook_sees_code_execution():
    """The fuzzers' guard fails when text is evaluated: sympify of a string is caught."""
    with pytest.raises(AssertionError, match="ran code"):
        _guarded(lambda: sympy.sympify("1 + 1"))

"""The package keeps the architecture ARCHITECTURE.md describes: imports flow one way
through the layers, with no circle, none inside functions (except optional
dependencies), no private name crossing a module, and every module documented with
``__all__``. Checked on the source with ``ast``, so a change that breaks the layout
fails here rather than in review."""

import ast
import importlib
from pathlib import Path

import pytest
from conftest import REPO

ROOT = REPO / "cpspec"
FILES = sorted(p for p in ROOT.rglob("*.py"))

#: The layers, lowest first: a module may import from its own layer and the ones below.
LAYERS = [
    {"errors", "budget", "progress", "executors"},
    {"core"},
    {"inference"},
    {"decisions"},
    {"agents", "examples"},
    {"verification"},
    {"explanations", "export", "spec", "strategies"},
    {"cli"},
    {"__init__"},
]

#: Imports allowed inside functions: optional dependencies only.
OPTIONAL = {"stormpy", "tqdm", "IPython", "PIL", "distributed"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(mod: str) -> int:
    parts = mod.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return next(i for i, names in enumerate(LAYERS) if top in names)


def imports(path: Path):
    """(target module, names, node) for each import of a cpspec module in ``path``."""
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "cpspec":
                continue
            if node.module is None:  # from . import x: x is a module
                for a in node.names:
                    yield f"{target}.{a.name}", [], node
            else:
                yield target, [a.name for a in node.names], node
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "cpspec":
                    yield a.name, [], node


def graph() -> dict[str, set[str]]:
    mods = {module_name(p) for p in FILES}
    out = {}
    for p in FILES:
        deps = set()
        for target, _, _ in imports(p):
            while target not in mods and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in mods and target != module_name(p):
                deps.add(target)
        out[module_name(p)] = deps
    return out


def test_there_is_no_import_circle():
    g = graph()
    state: dict = {}

    def visit(m, path):
        if state.get(m) == 1:
            raise AssertionError("import circle: " + " -> ".join(path[path.index(m):] + [m]))
        if state.get(m) == 2:
            return
        state[m] = 1
        for d in sorted(g[m]):
            # a package's __init__ re-exporting its own modules is not a circle
            if not m.endswith(("cpspec",)) and d == m.rsplit(".", 1)[0]:
                continue
            visit(d, path + [m])
        state[m] = 2
    for m in sorted(g):
        visit(m, [])


def test_imports_flow_down_the_layers():
    bad = [(m, d) for m, deps in graph().items() for d in deps
           if layer(d) > layer(m) and not d.endswith(".__init__")]
    # a subpackage __init__ that re-exports (cpspec.agents) counts as its modules' layer
    bad = [(m, d) for m, d in bad if not (m == "cpspec.agents" and d.startswith("cpspec.agents"))]
    assert not bad, "imports against the layers: " + ", ".join(f"{m} -> {d}" for m, d in bad)


@pytest.mark.parametrize("path", FILES, ids=lambda p: module_name(p))
def test_no_imports_inside_functions_except_optional_dependencies(path):
    for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for n in ast.walk(fn):
                if isinstance(n, ast.Import):
                    names = [a.name.split(".")[0] for a in n.names]
                elif isinstance(n, ast.ImportFrom):
                    names = [(n.module or "").split(".")[0] if not n.level else "cpspec"]
                else:
                    continue
                assert set(names) <= OPTIONAL, \
                    f"{module_name(path)}.{fn.name} imports {names} inside (line {n.lineno})"


@pytest.mark.parametrize("path", FILES, ids=lambda p: module_name(p))
def test_no_private_name_crosses_a_module(path):
    for target, names, node in imports(path):
        private = [n for n in names if n.startswith("_") and n != "__all__"]
        assert not private, f"{module_name(path)} imports {private} from {target}"


@pytest.mark.parametrize("path", [p for p in FILES if p.name != "__init__.py"],
                         ids=lambda p: module_name(p))
def test_every_module_is_documented_and_declares_all(path):
    mod = importlib.import_module(module_name(path))
    assert mod.__doc__ and mod.__doc__.strip(), f"{mod.__name__} has no docstring"
    assert isinstance(getattr(mod, "__all__", None), list), f"{mod.__name__} has no __all__"
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert not missing, f"{mod.__name__}.__all__ lists missing names {missing}"


def test_no_module_is_shadowed_by_a_function_of_the_same_name():
    import cpspec
    for p in FILES:
        mod = module_name(p)
        parent, _, name = mod.rpartition(".")
        if not parent:
            continue
        owner = importlib.import_module(parent)
        attr = getattr(owner, name, None)
        assert attr is None or isinstance(attr, type(cpspec)), \
            f"{parent}.{name} is {attr!r}, not the module {mod}"

"""The spec-file package keeps its architecture: imports flow one way, none inside
functions, no private name crosses a module, and every module declares ``__all__``."""

import ast
import importlib
from pathlib import Path

import pytest
from conftest import REPO

ROOT = REPO
SPEC = ROOT / "cpspec" / "spec"
MODULES = sorted(p.stem for p in SPEC.glob("*.py") if p.stem != "__init__")
FILES = [SPEC / f"{m}.py" for m in MODULES] + [ROOT / "cpspec" / "cli.py"]


def _tree(path):
    return ast.parse(path.read_text(encoding="utf-8"))


def _sibling_imports(path) -> list[tuple[str, list[str]]]:
    """``from .x import a, b`` inside cpspec/spec: (x, [a, b])."""
    out = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            out.append((node.module.split(".")[0], [a.name for a in node.names]))
        elif isinstance(node, ast.ImportFrom) and node.level == 1:  # from . import x
            out.extend((a.name, []) for a in node.names)
    return out


def _edges() -> dict[str, set[str]]:
    return {m: {dep for dep, _ in _sibling_imports(SPEC / f"{m}.py") if dep in MODULES}
            for m in MODULES}


def test_spec_modules_import_each_other_without_cycles():
    edges = _edges()
    state: dict[str, int] = {}

    def visit(m, path):
        if state.get(m) == 1:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(m):] + [m]))
        if state.get(m) == 2:
            return
        state[m] = 1
        for dep in sorted(edges[m]):
            visit(dep, path + [m])
        state[m] = 2
    for m in MODULES:
        visit(m, [])


def test_the_base_imports_no_other_spec_module_but_the_interpreter():
    assert _edges()["base"] <= {"safeexpr"}
    assert _edges()["safeexpr"] == set()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_imports_inside_functions(path):
    for fn in ast.walk(_tree(path)):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = [n for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))]
            assert not inner, f"{path.name}: {fn.name} imports inside (line {inner[0].lineno})"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_private_name_crosses_a_module(path):
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module and (
                node.level > 0 or node.module.startswith("cpspec")):
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{path.name} imports {private} from {node.module}"


@pytest.mark.parametrize("name", MODULES)
def test_every_module_documents_itself_and_declares_all(name):
    mod = importlib.import_module(f"cpspec.spec.{name}")
    assert mod.__doc__ and mod.__doc__.strip()
    assert all(hasattr(mod, n) for n in mod.__all__)
    for n in mod.__all__:
        obj = getattr(mod, n)
        if callable(obj) and getattr(obj, "__module__", None) == mod.__name__:
            assert obj.__doc__, f"cpspec.spec.{name}.{n} has no docstring"


def test_the_entry_points_stay_where_the_readme_names_them():
    from cpspec.spec import loader
    for n in ("load", "check", "derive", "show", "read_text_file", "MAX_FILE_BYTES",
              "Spec", "Claim", "ClaimResult", "ObservationResult"):
        assert n in loader.__all__ and hasattr(loader, n)

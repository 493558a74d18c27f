"""Sphinx configuration of cpspec's documentation site (``python -m sphinx -W docs
docs/_build``, the ``docs`` extra). The API reference is generated from ``cpspec.__all__``
at build time (``api.rst``), so a public name cannot be missing from it."""

import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cpspec  # noqa: E402

project = "cpspec"
author = "the cpspec authors"
release = cpspec.__version__
extensions = ["sphinx.ext.autodoc", "numpydoc", "sphinx.ext.mathjax"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
autodoc_member_order = "bysource"
exclude_patterns = ["_build", "notebooks/.ipynb_checkpoints"]
html_theme = "alabaster"
html_static_path: list = []
suppress_warnings: list = []


def _write_api() -> None:
    """``api.rst``: every name of ``cpspec.__all__``, grouped as the README's table is."""
    errors, functions, classes, modules = [], [], [], []
    for name in cpspec.__all__:
        obj = getattr(cpspec, name)
        if inspect.ismodule(obj):
            modules.append(name)
        elif inspect.isclass(obj) and issubclass(obj, Exception):
            errors.append(name)
        elif inspect.isclass(obj):
            classes.append(name)
        else:
            functions.append(name)
    out = ["API reference", "=============", "",
           "Every public name of ``cpspec`` (``import cpspec as cp``), from its numpydoc "
           "docstring.", ""]
    for title, names, directive in (("Functions", functions, "autofunction"),
                                    ("Classes", classes, "autoclass"),
                                    ("Errors", errors, "autoexception")):
        out += [title, "-" * len(title), ""]
        for n in names:
            out += [f".. {directive}:: cpspec.{n}", ""]
    out += ["Agents and learners", "-------------------", ""]
    for mod in modules:
        out += [f".. automodule:: cpspec.{mod}", "   :members:", ""]
    text = "\n".join(out)
    path = Path(__file__).with_name("api.rst")
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


_write_api()

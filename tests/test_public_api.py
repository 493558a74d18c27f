"""The public surface: every name in ``cpspec.__all__`` exists and is documented, and
the import-time check keeps ``__all__`` in step with what the package defines."""

import inspect

import pytest

import cpspec as cp


@pytest.mark.parametrize("name", sorted(cp.__all__))
def test_every_public_name_is_documented(name):
    obj = getattr(cp, name)
    doc = inspect.getdoc(obj)
    assert doc and len(doc) > 20, f"cpspec.{name} has no docstring"


def test_the_surface_check_catches_an_unlisted_name(monkeypatch):
    monkeypatch.setattr(cp, "stray", lambda: None, raising=False)
    with pytest.raises(ImportError, match="unlisted \\['stray'\\]"):
        cp._check_public_surface()


def test_the_surface_check_catches_a_listed_name_that_is_missing(monkeypatch):
    monkeypatch.setattr(cp, "__all__", cp.__all__ + ["ghost"])
    with pytest.raises(ImportError, match="missing \\['ghost'\\]"):
        cp._check_public_surface()


def test_the_errors_and_the_solution_records_are_public():
    for name in ("BudgetError", "ClosedFormError", "IDSolution", "ParametricIDSolution",
                 "DuplicateNameError", "InternalError"):
        assert name in cp.__all__

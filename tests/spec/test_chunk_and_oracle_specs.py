"""Spec files with chunks (STH ``chunks.<name>``, ``primitive_chunks``, the claims
``chunk`` and ``reach``, ``myopic(N, slack=, within=)``) and oracles (``FO``, ``CFO``):
the example files pass, and bad input is a SpecFileError naming the agent's line."""

import pytest
from conftest import ERRAND, REPO

from cpspec.errors import SpecFileError
from cpspec.spec.loader import check, load



@pytest.mark.parametrize("name", ["sth_chunks.toml", "oracle.toml"])
def test_the_example_files_pass(name):
    results = check(load(REPO / "specs" / name))
    assert results and all(r.passed for r in results), "\n".join(map(str, results))


@pytest.mark.parametrize("extra, match", [
    ('chunks.walk = "end if s == done else fly"', "unknown name 'fly'"),
    ('chunks.walk = "wait"\nprimitive_chunks = true', "never ends"),
    ('chunks.walk = 3', "must be an expression"),
    ('primitive_chunks = "yes"', "must be true or false"),
    ('chunks.walk = "end"', "no chunk can start"),
])
def test_bad_chunks_name_the_agent(extra, match):
    with pytest.raises(SpecFileError, match=match) as info:
        load("c.toml", text=ERRAND + extra + "\n")
    assert "agent c" in str(info.value)


def test_the_chunk_claims_need_a_chunked_agent():
    spec = load("c.toml", text=ERRAND + '[claims]\n"chunk(c, start)" = "take"\n')
    [result] = check(spec)
    assert not result.passed and "does not plan with chunks" in str(result)


ORACLE = (REPO / "specs" / "oracle.toml").read_text()


@pytest.mark.parametrize("old, new, match", [
    ('reader = "reader"\nunread = "unread"\n\n[agent.cfo]', 'unread = "unread"\n\n[agent.cfo]',
     "needs reader"),
    ('unread = "unread"\n\n[agent.cfo]', 'unread = "asleep"\n\n[agent.cfo]',
     "not a value of reader"),
    ('reader = "reader"\nunread = "unread"\n\n[agent.cfo]',
     'reader = "market"\nunread = "unread"\n\n[agent.cfo]', "not a value of market"),
])
def test_bad_oracles(old, new, match):
    assert old in ORACLE
    with pytest.raises(SpecFileError, match=match):
        load("o.toml", text=ORACLE.replace(old, new, 1))

"""``[[equivalent]]`` in spec files and through ``cpspec check``: ITC behaves like the
safety-layer agent UPD and ITF does not (specs/upd_equivalence.toml); bad entries are
SpecFileErrors naming the entry's line; a class too large to enumerate is refused with
its size, phrased for the spec file."""

import pytest
from conftest import REPO

from cpspec.cli import main
from cpspec.errors import SpecFileError
from cpspec.spec.loader import check, load

TERMINAL = (REPO / "specs" / "upd_equivalence.toml").read_text().split("[[equivalent]]")[0]


def test_the_example_file_passes_with_the_verdicts_it_states():
    results = check(load(REPO / "specs" / "upd_equivalence.toml"))
    assert results and all(r.passed for r in results), "\n".join(map(str, results))
    verdicts = {str(r).split(":")[0].split(None, 1)[1]: r.verdict.status
                for r in results if getattr(r, "verdict", None) is not None}
    assert verdicts == {"equivalent(itc, upd) over terminal_worlds": "holds",
                        "equivalent(itc3, upd3) over terminal_worlds": "holds",
                        "equivalent(itc, itf) over terminal_worlds": "fails",
                        "equivalent(upd, itf) over [terminal]": "fails"}


def test_an_expectation_that_is_wrong_fails_with_the_distinguishing_world():
    text = TERMINAL + '[[equivalent]]\na = "itc"\nb = "itf"\nover = "terminal_worlds"\n'
    (r,) = check(load("t.toml", text=text))
    assert not r.passed and r.verdict.status == "fails"
    assert "ITC chooses 'work' and ITF chooses 'change'" in str(r)
    assert "terminal next | terminal='hard', A='change'" in str(r)


@pytest.mark.parametrize("entry, match", [
    ('a = "itc"\nb = "nobody"\nover = "terminal_worlds"', "b = 'nobody'|nobody"),
    ('a = "itc"\nb = "upd"', "over = .* is missing"),
    ('a = "itc"\nb = "upd"\nover = "nothing"', "nothing"),
    ('a = "itc"\nb = "upd"\nover = ["nothing"]', "nothing"),
    ('a = "itc"\nb = "upd"\nover = "terminal_worlds"\nexpect = "maybe"', "expect must be"),
    ('a = "itc"\nb = "upd"\nover = "terminal_worlds"\nrewards = 3', "rewards must be a list"),
    ('a = "itc"\nb = "upd"\nover = "terminal_worlds"\nagent = "x"', "unknown key 'agent'"),
    ('a = "itc"\nb = "upd"\nover = "terminal_worlds"\ntimeout = -1', "timeout = -1"),
])
def test_bad_entries_name_the_line(entry, match):
    with pytest.raises(SpecFileError, match=match) as err:
        load("t.toml", text=TERMINAL + "[[equivalent]]\n" + entry + "\n")
    assert "t.toml" in str(err.value)


BIG = TERMINAL.replace('free.terminal = ["terminal", "a"]', 'free.terminal = ["terminal", "a"]\n'
                       'reward = ["terminal", "a", "terminal_next"]')


def test_a_class_too_large_is_refused_with_its_size_for_the_spec_file(capsys, tmp_path):
    entry = '[[equivalent]]\na = "itc"\nb = "upd"\nover = "terminal_worlds"\n' \
            'rewards = ["0", "1", "2", "3", "4", "5"]\n'
    (r,) = check(load("t.toml", text=BIG + entry))
    # 16 terminal tables x 6 ** 8 reward tables (terminal, a, terminal_next)
    assert r.error and "has 26,873,856 deterministic worlds, too many to enumerate" \
        in r.error
    assert "t.toml, line" in r.error and "[class.terminal_worlds]" in r.error
    assert "MAX_EQUIVALENCE_WORLDS" not in r.error  # a spec file cannot raise the limit
    f = tmp_path / "big.toml"
    f.write_text(BIG + entry)
    assert main(["check", str(f), "--allow-outside"]) == 1
    out = capsys.readouterr().out
    assert "ERROR equivalent(itc, upd)" in out and "too many to enumerate" in out


def test_cpspec_check_reports_the_equivalences(capsys):
    assert main(["check", str(REPO / "specs" / "upd_equivalence.toml")]) == 0
    out = capsys.readouterr().out
    assert "PASS  equivalent(itc, upd) over terminal_worlds: holds (enumeration" in out
    assert "in state S(terminal='hard') ITC chooses 'work' and ITF chooses 'change'" in out

"""The bad input of the chunk and corrigibility issue, through each interface: chunks
that never end, T rows that are not distributions, a correction over a switch that
never happens, an equivalence class too large to enumerate. Each is a named cpspec
error, phrased for the interface in use (Python arguments; spec-file keys and lines;
the same through ``cpspec check``)."""

from fractions import Fraction

import pytest

import cpspec as cp
from cpspec.cli import main
from cpspec.examples import car_factory, delayed_reward, input_terminal
from cpspec.spec.loader import check, load
from conftest import ERRAND

NEVER_ENDS = ERRAND + 'chunks.walk = "wait"\nprimitive_chunks = true\n'
T_ROW = ERRAND + ('chunk_tables.long.X.start = { done = "1" }\n'
                  'chunk_tables.long.T.start = { "1" = "1/2", "3" = "1/4" }\n'
                  'chunk_tables.long.U.start = "5"\n')
NO_SWITCH = '[mdp.fc]\nexample = "car_factory"\nlobby_power = "1/2"\ncorrection = "fc"\n' \
            'horizon = 3\n'
TERMINAL = '''
[mdp.t]
actions = ["work", "change"]
gamma = "9/10"
start = { terminal = "hard" }
variables.terminal = ["hard", "easy"]
dynamics.terminal = "easy if a == change else terminal"
reward = "0"
[class.big]
template = "t"
free.terminal = ["terminal", "a"]
reward = ["terminal", "a", "terminal_next"]
gamma = "9/10"
[agent.itc]
kind = "ITC"
env = "t"
terminal = "terminal"
rewards.hard = "1 if a == work else 0"
rewards.easy = "2 if a == work else 0"
[agent.upd]
kind = "UPD"
env = "t"
terminal = "terminal"
rewards.hard = "1 if a == work else 0"
rewards.easy = "2 if a == work else 0"
[[equivalent]]
a = "itc"
b = "upd"
over = "big"
rewards = ["0", "1", "2", "3", "4", "5"]
'''


# ---- Python ---------------------------------------------------------------------------

def test_python_a_chunk_that_never_ends():
    env = delayed_reward(delay=2)
    with pytest.raises(cp.ChunkError, match="chunk 'walk' started in state 'start' never ends"):
        cp.chunks(env, {"walk": lambda s: "wait"})


def test_python_a_t_row_that_is_not_a_distribution():
    env = delayed_reward(delay=2)
    X = {(s, "long"): {"done": 1} for s in env.states}
    T = {(s, "long"): {1: Fraction(1, 2), 3: Fraction(1, 4)} for s in env.states}
    U = {(s, "long"): 0 for s in env.states}
    with pytest.raises(cp.DistributionError, match=r"T\('start', 'long'\) must be a "
                       "distribution over numbers of steps"):
        cp.chunks(env, X=X, T=T, U=U)


def test_python_a_correction_over_a_switch_that_never_happens():
    with pytest.raises(cp.SpecError, match="corrected: the switch never happens within "
                       "the horizon 2.*check the switch predicate"):
        cp.corrected(delayed_reward(), lambda s: False, horizon=2, after=lambda s, a, s2: 0)
    with pytest.raises(cp.SpecError, match="with horizon = 3 the stop button is never "
                       "pressed.*nothing to correct"):
        car_factory("1/2", correction="fc", horizon=3)


def test_python_an_equivalence_class_too_large():
    env, rewards = input_terminal()
    big = cp.WorldClass(env, free={"terminal": ["terminal", "A"]},
                        reward_reads=["terminal", "A", "terminal'"], gamma="9/10")
    kw = dict(terminal="terminal", rewards=rewards)
    with pytest.raises(cp.ModelTooLargeError, match="has 26873856 deterministic worlds, "
                       "above cpspec.verification.equivalence.MAX_EQUIVALENCE_WORLDS"):
        cp.equivalent(cp.agents.ITC(env, **kw), cp.agents.UPD(env, **kw), big,
                      rewards=range(6))


# ---- spec files -----------------------------------------------------------------------

@pytest.mark.parametrize("text, match", [
    (NEVER_ENDS, r"t.toml, line \d+ \(agent c\): chunk 'walk' started in state 'start' "
                 "never ends"),
    (T_ROW, r"t.toml, line \d+ \(agent c\), chunk_tables.long.T.start: the probabilities "
            "add up to 3/4, not 1; a row of T is a distribution over the durations"),
    (NO_SWITCH, r"t.toml, line 1 \(mdp fc\): car_factory: with horizon = 3 the stop button "
                "is never pressed"),
])
def test_spec_file_errors_name_the_key(text, match):
    with pytest.raises(cp.SpecFileError, match=match):
        load("t.toml", text=text)


def test_spec_file_a_class_too_large_names_the_entry_and_the_size():
    (r,) = check(load("t.toml", text=TERMINAL))
    assert r.error.startswith("t.toml, line ") and "[[equivalent]] #1" in r.error
    assert "has 26,873,856 deterministic worlds, too many to enumerate" in r.error
    assert "[class.big] let free.X read fewer parents" in r.error


def test_spec_file_chunk_tables_that_are_fine_plan_as_in_python():
    ok = T_ROW.replace('"3" = "1/4"', '"3" = "1/2"') + (
        'chunk_tables.take.X.start = { done = "1" }\nchunk_tables.take.T.start = { "1" = "1" }\n'
        'chunk_tables.take.U.start = "1"\n')
    for s in ("w", "done"):
        ok += (f'chunk_tables.take.X.{s} = {{ done = "1" }}\n'
               f'chunk_tables.take.T.{s} = {{ "1" = "1" }}\nchunk_tables.take.U.{s} = "0"\n')
    spec = load("t.toml", text=ok)
    a = spec.agents["c"]
    assert a.plan((), "start").q("start") == {"long": 5, "take": 1}


# ---- the command line -----------------------------------------------------------------

@pytest.mark.parametrize("text, needle", [
    (NEVER_ENDS, "(agent c): chunk 'walk' started in state 'start' never ends"),
    (T_ROW, "chunk_tables.long.T.start: the probabilities add up to 3/4, not 1"),
    (NO_SWITCH, "the stop button is never pressed"),
    (TERMINAL, "ERROR equivalent(itc, upd) over big: "),
])
def test_cpspec_check_reports_each(text, needle, tmp_path, capsys):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    status = main(["check", str(f), "--allow-outside"])
    out = capsys.readouterr().out
    assert needle in out and "Traceback" not in out
    assert status in (1, 2)

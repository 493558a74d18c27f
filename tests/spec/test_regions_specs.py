"""Spec files over several parameters: [bind], --param, [domains], [[synthesize]], the
CLI's synthesize and derive --regions, and the shipped worked examples checked against
independent exact computations on a grid of rational points."""

import itertools
import re

import pytest
import sympy

import cpspec as cp
from cpspec.cli import main
from cpspec.spec.loader import check, derive, load
from tests.conftest import REPO

R = sympy.Rational
SPECS = REPO / "specs"
WORKED = ["off_switch.toml", "delayed_regions.toml", "interlock_regions.toml"]


@pytest.mark.parametrize("name", WORKED)
def test_worked_examples_pass(name):
    results = check(load(SPECS / name))
    assert results and all(r.passed for r in results), [str(r) for r in results]


def _holding(regions, at):
    return [r.answer for r in regions if r.condition.subs(at) is sympy.true]


def test_off_switch_against_the_hand_derivation():
    spec = load(SPECS / "off_switch.toml")
    p, q = spec.params["p"], spec.params["q"]
    regs = derive(spec, "pi*(A_off)")
    value = derive(spec, "U(off)")
    grid = [R(i, 8) for i in range(9)]
    for pv, qv in itertools.product(grid, grid):
        eu = {"act": 2 * pv - 1, "off": 0, "wait": pv + qv - 1}   # ties to the first
        best = max(eu.values())
        want = next(a for a in ("act", "off", "wait") if eu[a] == best)
        assert _holding(regs, {p: pv, q: qv}) == [want], (pv, qv)
        assert value.subs({p: pv, q: qv}) == best


def test_delayed_reward_against_exact_solves_and_concrete_verification():
    spec = load(SPECS / "delayed_regions.toml")
    g, r = spec.params["gamma"], spec.params["r"]
    fp = spec.agents["fp"]
    take = cp.always(lambda s, a: a == "take", 2)
    always = cp.synthesize(fp, take, over=[g, r], domain=spec.domains)
    myopic = cp.synthesize(fp, cp.myopic(1), over=[g, r], domain=spec.domains)
    mdp, _ = spec.mdps["delayed"]
    for gv, rv in itertools.product([R(0), R(1, 5), R(1, 2), R(9, 10)],
                                    [R(0), R(1), R(2), R(5), R(10)]):
        at = {g: gv, r: rv}
        bound = mdp.bind(gamma=gv, r=rv)
        assert _holding(derive(spec, "pi*(0, start)"), at) == \
            [cp.solve(bound, 2).policy(0, "start")], at
        concrete = fp.with_env(bound)
        assert _holding(always.regions(), at) == [cp.verify(concrete, take).status], at
        assert _holding(myopic.regions(), at) == [cp.verify(concrete, cp.myopic(1)).status]


def test_interlock_against_concrete_verification_including_a_button_never_pressed():
    spec = load(SPECS / "interlock_regions.toml")
    g, b = spec.params["gamma"], spec.params["b"]
    sif = spec.agents["sif"]
    res = cp.synthesize(sif, cp.no_incentive("button"), over=[g, b], domain=spec.domains)
    assert str(res.holds) == "gamma <= 1/2" and str(res.fails) == "gamma > 1/2"
    env = sif.env
    for gv, bv in itertools.product([R(0), R(1, 3), R(1, 2), R(51, 100), R(9, 10)],
                                    [R(0), R(1, 10), R(1, 2), R(1)]):
        want = cp.verify(sif.with_env(env.bind(gamma=gv, b=bv)), cp.no_incentive("button"))
        assert _holding(res.regions(), {g: gv, b: bv}) == [want.status], (gv, bv)


def test_a_wrong_expected_region_fails_with_the_derived_one(tmp_path):
    text = (SPECS / "interlock_regions.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('holds = "gamma <= 1/2"', 'holds = "gamma < 1/2"'))
    (tmp_path / "pyproject.toml").write_text("")
    results = check(load(bad))
    wrong = [r for r in results if not r.passed]
    assert len(wrong) == 1 and "expected holds where gamma < 1/2" in str(wrong[0])
    assert "differs from the derived region" in str(wrong[0])


def test_bind_table_and_param_option(tmp_path, capsys):
    text = (SPECS / "off_switch.toml").read_text()
    (tmp_path / "pyproject.toml").write_text("")
    f = tmp_path / "bound.toml"
    f.write_text(text.replace("[domains]", '[bind]\np = "1/3"\n\n[domains]'))
    spec = load(f)
    assert str(derive(spec, "pi*(A_off)")) == "off if 0 <= q <= 2/3; wait if 2/3 < q <= 1"
    assert main(["check", str(SPECS / "off_switch.toml"), "--param", "p=1/3",
                 "--param", "q=1"]) == 0
    out = capsys.readouterr().out
    assert "PASS  pi*(A_off) = wait" in out and "PASS  U(off) = 1/3" in out
    assert main(["check", str(SPECS / "off_switch.toml"), "--param", "z=1/3"]) == 2
    assert "'z' is not a parameter" in capsys.readouterr().out
    f.write_text(text.replace("[domains]", '[bind]\nz = "1/3"\n\n[domains]'))
    with pytest.raises(cp.SpecFileError, match=r"line \d+ \(bind\): 'z' is not a parameter"):
        load(f)
    f.write_text(text.replace("[domains]", '[bind]\np = "0.5"\n\n[domains]'))
    with pytest.raises(cp.SpecFileError, match="exact real number|float"):
        load(f)


RAW = '''
params = ["gamma", "r"]
[mdp.m]
states = ["home", "w"]
actions = ["take", "wait"]
start = "home"
gamma = "gamma"
horizon = 2
transition.home = { take = { home = "1" }, wait = { w = "1" } }
transition.w = { take = { home = "1" }, wait = { home = "1" } }
reward = "1 if a == take else (r if s == w else 0)"
[claims]
"pi*(0, home)" = "take"
'''


def test_advice_is_phrased_for_each_interface(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text("")
    f = tmp_path / "raw.toml"
    f.write_text(RAW)
    # Python: domain={...}
    with pytest.raises(cp.ParameterError, match=r"domain=\{r: sympy.Interval"):
        cp.solve(load(f).mdps["m"][0], 2)
    # spec file: a [domains] entry
    (res,) = check(load(f))
    assert 'a [domains] entry r = "r >= 0 and r <= 10"' in res.error
    # command line: the same, and --param for binding
    assert main(["check", str(f)]) == 1
    assert '[domains] entry r = "r >= 0 and r <= 10"' in capsys.readouterr().out
    msg = cp.spec.base.phrase_for("bind the others (mdp.bind(...))", "cli")
    assert msg == "bind the others (--param NAME=VALUE, or a [bind] entry)"
    assert main(["check", str(f), "--param", "r=1"]) == 0     # 1 + gamma >= gamma


def test_cli_synthesize_and_derive_regions_with_pictures(tmp_path, capsys):
    png = tmp_path / "sif.png"
    assert main(["synthesize", str(SPECS / "interlock_regions.toml"), "sif",
                 "no_incentive(button)", "--over", "gamma,b", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "holds where gamma <= 1/2" in out and "fails where gamma > 1/2" in out
    assert "a counterexample: the dynamics" in out
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main(["derive", str(SPECS / "off_switch.toml"), "pi*(A_off)", "--regions"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["act where p >= 1/2 and p - q >= 0",
                     "off where p < 1/2 and p + q - 1 <= 0",
                     "wait where p + q - 1 > 0 and p - q < 0"]
    assert main(["derive", str(SPECS / "off_switch.toml"), "U(off) >= 1/4",
                 "--regions"]) == 0
    assert re.search(r"True where", capsys.readouterr().out)
    assert main(["synthesize", str(SPECS / "interlock_regions.toml"), "fp",
                 "myopic(1)", "--over", "gamma,z"]) == 2
    assert "z is not a free parameter" in capsys.readouterr().err
    assert main(["derive", str(SPECS / "dice.toml"), "E(S_f)", "--regions"]) == 2
    assert "does not depend on a parameter" in capsys.readouterr().err


def test_check_on_workers_runs_syntheses_with_the_params(capsys):
    from cpspec.spec.jobs import plan_jobs, run_job
    path = SPECS / "interlock_regions.toml"
    text = path.read_text()
    spec = load(path)
    jobs = plan_jobs(str(path), text, spec, bind={"b": 1})
    assert [j.part for j in jobs].count("synthesis") == len(spec.syntheses) > 0
    assert all(dict(j.bind) == {"b": 1} for j in jobs)
    assert main(["check", "-j", "1", str(SPECS / "delayed_regions.toml")]) == 0
    assert ", 0 fail" in capsys.readouterr().out
    (line,) = run_job(None, jobs[[j.part for j in jobs].index("synthesis")])[:1]
    assert line.text.startswith(("PASS", "FAIL", "ERROR"))


def test_a_synthesized_trace_condition_is_shown_as_the_file_wrote_it():
    results = check(load(SPECS / "delayed_regions.toml"))
    shown = [str(r) for r in results]
    assert any("synthesize always(a == 'take', 2) of fp over gamma, r" in s for s in shown), \
        shown
    assert not any("_trace" in s for s in shown)


def test_derive_regions_draws_the_parameters_in_the_files_order(tmp_path, capsys):
    spec = REPO / "tests" / "spec" / "data" / "cliff_regions.toml"
    svg = tmp_path / "cliff.svg"
    assert main(["derive", str(spec), "pi*(0, start)", "--regions", "--png", str(svg),
                 "--allow-outside"]) == 0
    out = capsys.readouterr().out
    assert "safe where 10*r*s - r + 50*s - 10 >= 0" in out
    text = svg.read_text()
    # params = ["s", "r"]: s along the bottom (its label drawn below r's)
    ys = {name: float(re.search(rf'<text[^>]*y="([0-9.]+)"[^>]*>{name}</text>', text)[1])
          for name in ("s", "r")}
    assert ys["s"] > ys["r"]


def test_synthesize_draws_the_parameters_in_the_order_over_names_them(tmp_path, capsys):
    svg = tmp_path / "sif.svg"
    assert main(["synthesize", str(SPECS / "interlock_regions.toml"), "sif",
                 "no_incentive(button)", "--over", "gamma,b", "--svg", str(svg)]) == 0
    text = svg.read_text()
    ys = {name: float(re.search(rf'<text[^>]*y="([0-9.]+)"[^>]*>{name}</text>', text)[1])
          for name in ("gamma", "b")}
    assert ys["gamma"] > ys["b"]        # gamma along the bottom


def test_a_claim_over_a_parameter_the_answer_does_not_read_fails_cleanly(tmp_path):
    # q is declared but the world no longer uses it: the derived policy is a choice in p
    # alone, and the expected regions, which read q, are a different answer (a FAIL,
    # never an internal error)
    text = (SPECS / "off_switch.toml").read_text()
    text = text.replace('(q if U == 1 else 1 - q)', '(R(3, 4) if U == 1 else R(1, 4))')
    text = text.replace('(1 - q if U == 1 else q)', '(R(1, 4) if U == 1 else R(3, 4))')
    path = tmp_path / "off.toml"
    path.write_text(text.replace("R(3, 4)", "3/4").replace("R(1, 4)", "1/4"))
    results = check(load(path))
    policy = next(r for r in results if r.claim.query == "pi*(A_off)")
    assert not policy.passed and not getattr(policy, "internal", False), str(policy)


def test_derive_regions_of_a_one_parameter_answer(capsys):
    assert main(["derive", str(SPECS / "fp.toml"), "act(fp_g, start)", "--regions"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["take where gamma >= 0 and gamma <= 1/3", "wait where gamma > 1/3 and gamma < 1"]


def test_derive_encloses_a_comparison_without_polynomial_boundaries_only_when_asked(capsys):
    spec = str(REPO / "tests" / "spec" / "data" / "coins_two.toml")
    query = "sqrt(E(X_c)) > E(Y_c)"
    assert main(["derive", spec, query, "--regions", "--allow-outside"]) == 2
    err = capsys.readouterr().err
    assert "--enclosure 1/64" in err and "where(" not in err       # phrased for the CLI
    assert main(["derive", spec, query, "--regions", "--allow-outside",
                 "--enclosure", "1/8"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split(" where ")[0] for ln in lines] == ["False", "True", "undecided"]
    assert main(["derive", spec, query, "--regions", "--allow-outside",
                 "--enclosure", "2"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_enclosure_advice_in_a_spec_file_names_the_command():
    from cpspec.spec.base import phrase_for
    msg = "not polynomial; where(..., enclosure=1/64) gives a certified numeric enclosure"
    assert "cpspec derive FILE QUERY --regions --enclosure 1/64" in phrase_for(msg, "spec")
    assert "--enclosure 1/64 gives" in phrase_for(msg, "cli")
    assert phrase_for(msg, "python") == msg


HORIZON_SPEC = '''params = ["N"]
[bind]
N = "{N}"
[mdp.patient]
states = ["start", "w", "done"]
actions = ["take", "wait"]
start = "start"
gamma = "9/10"
horizon = "N"
reward = "1 if s == start and a == take else (3 if s == w else 0)"
transition_prob = "(1 if s2 == w else 0) if (s == start and a == wait) else (1 if s2 == done else 0)"
[claims]
"U(pi_patient*)" = "27/10"
'''


@pytest.mark.parametrize("value", ["5/2", "-1"])
def test_a_horizon_is_bound_to_a_non_negative_integer_only(value):
    with pytest.raises(cp.SpecError, match="is a horizon: give a non-negative integer"):
        load("n.toml", text=HORIZON_SPEC.format(N=value))
    assert all(r.passed for r in check(load("n.toml", text=HORIZON_SPEC.format(N="2"))))


def test_a_bound_value_must_lie_in_its_domain_and_leaves_synthesize_over(capsys):
    assert main(["check", str(SPECS / "delayed_regions.toml"), "--param", "r=20"]) == 2
    assert "r = 20 lies outside its domain (r >= 0 and r <= 10)" in capsys.readouterr().out
    # bound inside its domain: the [[synthesize]] entries run over gamma alone, their
    # expected conditions read r = 2
    assert main(["check", str(SPECS / "delayed_regions.toml"), "--param", "r=2"]) == 0
    out = capsys.readouterr().out
    assert "5 checks: 5 pass, 0 fail" in out and "holds where gamma <= 1/2" in out
    assert "synthesize myopic(1) of fp over gamma\n" in out


@pytest.mark.parametrize("expected, passes", [
    ("2*p - 1 if p >= 1/2 and p >= q else (0 if p + q <= 1 else p + q - 1)", True),
    # the boundary on the other side of a tie (both branches are 0 on p + q = 1)
    ("2*p - 1 if p >= 1/2 and p >= q else (0 if p + q < 1 else p + q - 1)", True),
    ("2*p - 1 if p > 1/2 and p >= q else (0 if p + q <= 1 else p + q - 1)", True),
    ("2*p - 1 if p >= 1/2 and p >= q else (0 if p + q < 1 else p + q - 1/2)", False),
    ("2*p - 1 if p > 1/3 and p >= q else (0 if p + q <= 1 else p + q - 1)", False),
])
def test_a_value_claim_over_two_parameters_is_the_same_function_or_not(expected, passes):
    base = (SPECS / "off_switch.toml").read_text().split("[claims]")[0]
    text = base + f'[claims]\n"U(off)" = "{expected}"\n'
    (result,) = check(load(SPECS / "off_switch.toml", text=text))
    assert result.passed is passes, str(result)


def test_a_one_parameter_value_against_regions_over_two_is_compared_by_regions():
    from cpspec.spec.equality import values_equal
    p, q = sympy.symbols("p q")
    derived = sympy.Piecewise((0, p < R(1, 2)), (2 * p - 1, True))
    # differs at p = 3/5, q = 9/10 (expected 0, derived 1/5): decided on the regions
    assert values_equal(derived, sympy.Piecewise((2 * p - 1, (p >= R(1, 2)) & (p >= q)),
                                                 (0, True))) is False
    assert values_equal(derived, sympy.Piecewise((2 * p - 1, (p >= R(1, 2)) | (q > 2 * q + 5)),
                                                 (0, True))) is False


def test_derive_regions_of_a_piecewise_value_reads_the_last_piece_as_otherwise(capsys):
    """A Piecewise value's last piece (condition True) holds where no earlier one does:
    it is listed with that condition, not as 'everywhere'."""
    assert main(["derive", str(SPECS / "delayed_regions.toml"), "U(pi*)", "--regions"]) == 0
    assert capsys.readouterr().out.splitlines() == ["gamma*r where gamma*r > 1",
                                                    "1 where gamma*r <= 1"]


def test_derive_regions_errors_name_what_to_ask_instead(tmp_path, capsys):
    spec = tmp_path / "mood.toml"
    spec.write_text('''params = ["p"]
[domains]
p = "p >= 0 and p <= 1"
[mdp.work]
actions = ["steady", "gamble"]
gamma = "9/10"
start = { mood = "fine" }
variables.mood = ["fine", "slump"]
dynamics.mood.probs.slump = "0 if mood == slump else (1 - p if a == gamble else 0)"
dynamics.mood.probs.fine = "1 if mood == slump else (p if a == gamble else 1)"
reward = "0 if mood == slump else (1 if a == steady else 3 * p)"
''')
    assert main(["derive", str(spec), "pi*(S(mood='fine'))", "--regions"]) == 2
    assert 'horizon = 3 (steps), "oo" (infinite' in capsys.readouterr().err
    spec.write_text(spec.read_text().replace('gamma = "9/10"', 'gamma = "9/10"\nhorizon = "oo"'))
    assert main(["derive", str(spec), "pi_work_star", "--regions"]) == 2
    assert 'ask for its action in one, e.g. "pi*(STATE)"' in capsys.readouterr().err
    assert main(["derive", str(spec), "pi*(fine)", "--regions"]) == 2
    assert "states are S(mood='fine'), S(mood='slump')" in capsys.readouterr().err
    assert main(["derive", str(spec), "pi*(S(mood='fine'))", "--regions"]) == 0
    # by hand: gamble at fine is worth 3p + 9/10 (10p + (1 - p) 9/10 10) against 10
    # for steady, so it pays exactly where 39p > 19
    assert capsys.readouterr().out.splitlines() == ["steady where p >= 0 and p <= 19/39",
                                                    "gamble where p <= 1 and p > 19/39"]

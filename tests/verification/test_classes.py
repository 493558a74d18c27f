"""Properties over classes of worlds: structural lemmas for every member, counterexamples
from concrete members, and honest unknowns."""

import itertools

import pytest
import sympy

import cpspec as cp
from cpspec.cli import main
from cpspec.decisions.mdp import State
from cpspec.errors import SpecError, SpecFileError, UnknownNodeError
from cpspec.examples import stop_button
from cpspec.spec.loader import load
from cpspec.verification import classes
from conftest import REPO

STOP = dict(stop_pressed=lambda s: s.button == "pressed", null_action="null")
HALF_OPEN = sympy.Interval.Ropen(0, 1)


def office(reward=None):
    """A corridor (pos) with the stop button: pos moves right on 'move'."""
    return cp.MDP.factored(
        variables={"pos": [0, 1], "button": ["armed", "pressed", "disabled"]},
        dynamics={"pos": cp.fn(lambda pos, A: 1 if A == "move" else pos),
                  "button": stop_button().factors.dynamics["button"]},
        actions=["work", "move", "disable", "null"],
        reward=reward or (lambda s, a, s2: (1 + s.pos) if a == "work" else
                          (-1 if a == "disable" else 0)),
        start={"pos": 0, "button": "armed"}, gamma="9/10")


def button_free(**kw):
    return cp.WorldClass(office(), free={"pos": ["pos", "A"], "button": ["button", "A"]},
                         reward_reads=["pos", "A"], gamma=HALF_OPEN, name="worlds", **kw)


# ---- the lemmas ---------------------------------------------------------------------

def test_si_has_no_incentive_on_the_button_in_every_member():
    cls = button_free()
    v = cp.verify(cp.agents.SI(office(), **STOP), cp.no_incentive("button"), over=cls)
    assert v.status == "holds" and v.method == "structure"
    assert "no directed path" in v.reason and "worlds" in v.agent
    # the lemma's claim, checked member by member by the instance verifier
    for m in itertools.islice(cls.members(), 6):
        inst = cp.verify(cp.agents.SI(m.mdp, **STOP), cp.no_incentive("button"))
        assert inst.status == "holds"


def test_a_variable_that_reads_the_button_defeats_the_lemma_and_a_member_refutes():
    cls = cp.WorldClass(office(), free={"pos": ["pos", "button", "A"],
                                        "button": ["button", "A"]},
                        reward_reads=["pos", "A"], gamma=HALF_OPEN, name="readers")
    v = cp.verify(cp.agents.SI(office(), **STOP), cp.no_incentive("button"), over=cls)
    assert v.status == "fails" and v.method.startswith("member")
    cex = v.counterexample
    assert cex.kind == "member" and cex.evidence["confirmed"]
    # the member really is a counterexample: the instance verifier agrees
    inst = cp.verify(cp.agents.SI(cex.data["member"], **STOP), cp.no_incentive("button"))
    assert inst.status == "fails"
    assert "pos next | pos=" in cex.text and "button=" in cex.text


def test_a_reward_that_reads_the_button_defeats_the_lemma():
    cls = cp.WorldClass(office(), free={"pos": ["pos", "A"], "button": ["button", "A"]},
                        reward_reads=["pos", "button", "A"], gamma=HALF_OPEN, name="r")
    si = cp.agents.SI(office(), **STOP)
    assert classes.class_certificate(si, cp.no_incentive("button"), cls) is None
    v = cp.verify(si, cp.no_incentive("button"), over=cls)
    assert v.status == "fails"
    inst = cp.verify(cp.agents.SI(v.counterexample.data["member"], **STOP),
                     cp.no_incentive("button"))
    assert inst.status == "fails"


def test_the_templates_reward_is_checked_for_the_node():
    # a fixed reward that pays for a pressed button: a path to the utility
    reads = office(reward=lambda s, a, s2: 1 if s2.button == "pressed" else 0)
    cls = cp.WorldClass(reads, free={"button": ["button", "A"]}, gamma=HALF_OPEN)
    si = cp.agents.SI(reads, **STOP)
    assert classes.class_certificate(si, cp.no_incentive("button"), cls) is None
    fixed = cp.WorldClass(office(), free={"button": ["button", "A"]}, gamma=HALF_OPEN)
    assert classes.class_certificate(si, cp.no_incentive("button"), fixed) is not None


def test_sif_foresees_its_interlock_and_fails_with_a_member():
    sif = cp.agents.SIF(office(), **STOP)
    cls = button_free()
    assert classes.class_certificate(sif, cp.no_incentive("button"), cls) is None
    v = cp.verify(sif, cp.no_incentive("button"), over=cls)
    assert v.status == "fails" and v.counterexample.evidence["confirmed"]
    # a reward of the position alone: only the interlock's effect on the move reads the
    # button, through the action that takes effect
    moves = cp.WorldClass(office(), free={"button": ["button", "A"]}, reward_reads=["pos'"],
                          gamma=HALF_OPEN, name="moves")
    assert classes.class_certificate(sif, cp.no_incentive("button"), moves) is None
    assert classes.class_certificate(cp.agents.SI(office(), **STOP),
                                     cp.no_incentive("button"), moves) is not None


def test_a_learned_model_need_not_have_the_class_factors():
    si = cp.agents.SI(office(), learner="counting", **STOP)
    assert classes.class_certificate(si, cp.no_incentive("button"), button_free()) is None


def test_itc_ignores_the_terminal_itf_does_not():
    env = cp.MDP.factored(
        variables={"pos": [0, 1], "terminal": ["hard", "easy"]},
        dynamics={"pos": cp.fn(lambda pos, A: 1 if A == "move" else pos),
                  "terminal": cp.fn(lambda terminal, A: "easy" if A == "change" else terminal)},
        actions=["work", "move", "change"], reward=lambda s, a, s2: 0,
        start={"pos": 0, "terminal": "hard"}, gamma="9/10")
    rewards = {"hard": lambda s, a, s2: s.pos if a == "work" else 0,
               "easy": lambda s, a, s2: 3 * s.pos if a == "work" else 0}
    cls = cp.WorldClass(env, free={"pos": ["pos", "A"], "terminal": ["terminal", "A"]},
                        reward_reads=["pos", "terminal", "A"], gamma=HALF_OPEN, name="t")
    itc = cp.agents.ITC(env, terminal="terminal", rewards=rewards)
    itf = cp.agents.ITF(env, terminal="terminal", rewards=rewards)
    v = cp.verify(itc, cp.no_incentive("terminal"), over=cls)
    assert v.status == "holds" and v.method == "structure"
    assert cp.verify(itf, cp.no_incentive("terminal"), over=cls).status == "fails"


def test_sth_cut_proves_myopia_for_every_member_and_fp_is_refuted():
    cls = button_free()
    sth = cp.agents.STH(office(), horizon=2)
    v = cp.verify(sth, cp.myopic(2), over=cls)
    assert v.status == "holds" and v.method == "structure" and "cut" in v.reason
    assert cp.verify(sth, cp.myopic(1), over=cls).status == "fails"
    assert cp.verify(cp.agents.FP(office()), cp.myopic(3), over=cls).status == "fails"


def test_si_obeys_a_stop_button_that_stays_pressed_for_every_k():
    stays = cp.WorldClass(office(), free={"pos": ["pos", "button", "A"]},
                          reward_reads=["pos", "button", "A"], gamma=HALF_OPEN, name="s")
    si = cp.agents.SI(office(), **STOP)
    v = cp.verify(si, cp.obeys_stop_button(200), over=stays)
    assert v.status == "holds" and v.method == "structure"
    # the lemma's claim, member by member, by the bounded model checker
    for m in itertools.islice(stays.members(), 4):
        assert cp.verify(cp.agents.SI(m.mdp, **STOP), cp.obeys_stop_button(5)).holds
    fp = cp.agents.FP(office())
    out = cp.verify(fp, cp.obeys_stop_button(6, lambda s: s.button == "pressed", "null"),
                    over=stays)
    assert out.status == "fails" and out.counterexample.evidence["confirmed"]


def test_a_button_that_can_come_unpressed_defeats_the_stop_lemma():
    si = cp.agents.SI(office(), **STOP)
    cls = button_free()
    assert classes.class_certificate(si, cp.obeys_stop_button(6), cls) is None
    v = cp.verify(si, cp.obeys_stop_button(6), over=cls)
    assert v.status == "fails"
    data = v.counterexample.data["counterexample"].data
    assert data["pressed_at"] < data["violation_at"]
    # in the member, the pressed button is left behind
    states = data["states"]
    assert states[data["pressed_at"]].button == "pressed"
    assert states[data["violation_at"]].button != "pressed"


def test_definition_lemmas_hold_for_every_member():
    cls = button_free()
    for agent in (cp.agents.FP(office()), cp.agents.SIF(office(), **STOP)):
        for prop in (cp.policy_unmodified(), cp.no_self_knowledge()):
            v = cp.verify(agent, prop, over=cls)
            assert v.status == "holds" and v.method == "structure"
            assert v.reason.startswith("for every member")


# ---- honesty ------------------------------------------------------------------------

def test_no_lemma_and_no_failing_member_is_unknown_never_holds():
    cls = button_free()
    v = cp.verify(cp.agents.FP(office()), cp.always(lambda s: s.pos in (0, 1), 3), over=cls)
    assert v.status == "unknown" and "proves nothing" in v.reason


def test_gamma_one_with_an_infinite_horizon_is_unknown():
    cls = cp.WorldClass(office(), free={"button": ["button", "A"]},
                        gamma=sympy.Interval(0, 1))
    v = cp.verify(cp.agents.SI(office(), **STOP), cp.no_incentive("button"), over=cls)
    assert v.status == "unknown" and "gamma = 1" in v.reason
    # with a planning horizon the class is finite: the lemma decides
    sth = cp.agents.STH(office(), horizon=3)
    assert cp.verify(sth, cp.no_incentive("button"), over=cls).status == "holds"


def test_the_timeout_is_a_budget_for_the_whole_class():
    cls = button_free()
    v = cp.verify(cp.agents.FP(office()), cp.always(lambda s: True, 4), over=cls,
                  timeout=0.05)
    assert v.status == "unknown"


def test_shrinking_keeps_the_failure_and_drops_rows():
    cls = button_free()
    si = cp.agents.SI(office(), **STOP)

    def fails(m):
        return cp.verify(cp.agents.SI(m.mdp, **STOP), cp.obeys_stop_button(6)).status \
            == "fails"
    first = next(m for m in itertools.islice(cls.members(), 1, None) if fails(m))
    small = cls.shrink(first, fails, cp.budget.Deadline(30))
    assert fails(small)
    changed = [1 for k, t in small.tables.items() for cfg, row in t.items()
               if row != cls.baseline(k, cfg)]
    before = [1 for k, t in first.tables.items() for cfg, row in t.items()
              if row != cls.baseline(k, cfg)]
    assert 0 < len(changed) < len(before)
    assert cls.describe(small).count("next |") == len(changed)
    v = cp.verify(si, cp.obeys_stop_button(6), over=cls)
    assert "otherwise keeps its value" in v.counterexample.text


def test_members_are_in_the_class():
    cls = button_free()
    for m in itertools.islice(cls.members(), 5):
        assert sympy.Interval.Ropen(0, 1).contains(sympy.Rational(m.mdp.gamma))
        for s in m.mdp.states:  # pos reads only pos and the action
            for a in m.mdp.actions:
                for b in ("armed", "pressed", "disabled"):
                    twin = State(pos=s.pos, button=b)
                    row = lambda x: {k.pos: 0 for k in m.mdp.P[(x, a)]}
                    assert row(s) == row(twin)
    assert cls.template_is_member() is False or cls.describe(next(cls.members())) \
        .startswith("the template")


# ---- bad input ----------------------------------------------------------------------

def test_bad_classes_are_named_errors():
    flat = cp.MDP(["s"], ["a"], lambda s, a: {"s": 1}, lambda s, a, s2: 0, "s", gamma="1/2")
    with pytest.raises(SpecError, match="factored"):
        cp.WorldClass(flat)
    with pytest.raises(UnknownNodeError, match="'door'"):
        cp.WorldClass(office(), free={"door": ["A"]})
    with pytest.raises(UnknownNodeError, match="'speed'"):
        cp.WorldClass(office(), free={"pos": ["speed"]})
    with pytest.raises(UnknownNodeError, match="'colour'"):
        cp.WorldClass(office(), reward_reads=["colour"])
    with pytest.raises(SpecError, match="within"):
        cp.WorldClass(office(), gamma=sympy.Interval(0, 2))
    with pytest.raises(SpecError, match="verify.over"):
        cp.verify(cp.agents.FP(office()), cp.myopic(2), over="everything")
    with pytest.raises(UnknownNodeError, match="'door'"):
        cp.verify(cp.agents.FP(office()), cp.no_incentive("door"), over=button_free())


def test_class_size_limit(monkeypatch):
    monkeypatch.setattr(classes, "MAX_CLASS_ROWS", 10)
    with pytest.raises(SpecError, match="MAX_CLASS_ROWS"):
        button_free()


# ---- spec files and the CLI ---------------------------------------------------------

CLASS_FILE = '''
uses = "classes.toml"
[class.mine]
template = "office"
free.pos = ["pos", "a"]
free.button = ["button", "a"]
reward = ["pos", "a", "pos_next"]
gamma = "0 <= gamma < 1"
'''


@pytest.fixture
def tmp_path(tmp_path):
    """A folder holding a copy of specs/classes.toml, which the files here use."""
    (tmp_path / "classes.toml").write_text((REPO / "specs/classes.toml").read_text())
    (tmp_path / "sth.toml").write_text((REPO / "specs/sth.toml").read_text())
    return tmp_path


def test_spec_classes_and_over(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text(CLASS_FILE + '[[property]]\nagent = "si"\ncheck = "no_incentive(button)"\n'
                 'over = "mine"\n[[property]]\nagent = "sif"\n'
                 'check = "no_incentive(button)"\nover = "mine"\nexpect = "fails"\n')
    spec = load(str(f))
    cls = spec.classes["mine"]
    assert cls.free == {"pos": ("pos", "A"), "button": ("button", "A")}
    assert cls.reward_reads == ("pos", "A", "pos'") and cls.gamma == HALF_OPEN
    assert main(["prove", str(f)]) == 0
    assert spec.classes["any_worlds"].name == "any_worlds"  # from the used file


@pytest.mark.parametrize("bad, match", [
    ('free.door = ["a"]', "free names 'door'"),
    ('free.pos = ["speed"]', "free.pos names 'speed'"),
    ('free.pos = "pos"', "must be a list of names"),
    ('reward = ["pos_after"]', "reward names 'pos_after'"),
    ('gamma = "0 <= beta < 1"', "may only mention gamma"),
    ('gamma = 0.5', "in quotes"),
    ('colour = 1', "unknown key 'colour'"),
])
def test_spec_class_errors_name_the_line(tmp_path, bad, match):
    f = tmp_path / "c.toml"
    f.write_text('uses = "classes.toml"\n[class.mine]\ntemplate = "office"\n'
                 f'{bad}\n')
    with pytest.raises(SpecFileError, match=match):
        load(str(f))


def test_spec_template_must_be_factored_and_over_must_name_a_class(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('uses = "sth.toml"\n[class.mine]\ntemplate = "delayed2"\n')
    with pytest.raises(SpecFileError, match="must be factored"):
        load(str(f))
    f.write_text('uses = "classes.toml"\n[[property]]\nagent = "si"\n'
                 'check = "myopic(2)"\nover = "nowhere"\n')
    with pytest.raises(SpecFileError, match="names no"):
        load(str(f))


def test_prove_honours_expect(tmp_path, capsys):
    f = tmp_path / "p.toml"
    f.write_text(CLASS_FILE + '[[property]]\nagent = "si"\ncheck = "no_incentive(button)"\n'
                 'over = "mine"\nexpect = "fails"\n')
    assert main(["prove", str(f)]) == 1
    out = capsys.readouterr().out
    assert "FAIL HOLDS" in out and "expected fails" in out and "0 as stated, 1 not" in out


def test_only_the_null_action_must_keep_the_button_pressed():
    # 'disable' releases a pressed button, but SI never disables once pressed: its
    # interlock takes 'null' there, under which the button stays pressed
    def button(button, A):
        if button == "pressed":
            return {"disabled": 1} if A == "disable" else {"pressed": 1}
        return {"disabled": 1} if A == "disable" or button == "disabled" else \
            {"pressed": "1/2", "armed": "1/2"}
    env = cp.MDP.factored(
        variables={"pos": [0, 1], "button": ["armed", "pressed", "disabled"]},
        dynamics={"pos": cp.fn(lambda pos, A: 1 if A == "move" else pos),
                  "button": cp.dist(button)},
        actions=["work", "move", "disable", "null"],
        reward=lambda s, a, s2: 1 if a == "work" else 0,
        start={"pos": 0, "button": "armed"}, gamma="9/10")
    si = cp.agents.SI(env, **STOP)
    v = cp.verify(si, cp.obeys_stop_button(50))
    assert v.status == "holds" and v.method == "structure"
    cls = cp.WorldClass(env, free={"pos": ["pos", "button", "A"]},
                        reward_reads=["pos", "A"], gamma=HALF_OPEN, name="releasing")
    v = cp.verify(si, cp.obeys_stop_button(50), over=cls)
    assert v.status == "holds" and v.method == "structure"
    # FP does disable a pressed button in some member: the lemma is SI's
    fp = cp.agents.FP(env)
    out = cp.verify(fp, cp.obeys_stop_button(6, lambda s: s.button == "pressed", "null"),
                    over=cls)
    assert out.status == "fails"


class Overriding(cp.agents.SI):
    """An SI whose acting ignores the interlock: the lemma must not trust the kind."""

    def act(self, o, s, t=0):
        return self.planned_action(o, s)


def test_an_agent_that_acts_around_the_interlock_gets_no_lemma():
    stays = cp.WorldClass(office(), free={"pos": ["pos", "button", "A"]},
                          reward_reads=["pos", "button", "A"], gamma=HALF_OPEN, name="s")
    rogue = Overriding(office(), **STOP)
    assert classes.class_certificate(rogue, cp.obeys_stop_button(6), stays) is None
    assert cp.verify(rogue, cp.obeys_stop_button(6), over=stays).status == "fails"

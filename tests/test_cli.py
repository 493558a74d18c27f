import subprocess
import sys
from pathlib import Path
from PIL import Image

from cpspec.cli import main
from conftest import REPO

SPECS = REPO / "specs"


def test_check_specs_dir_passes(capsys):
    assert main(["check", str(SPECS)]) == 0
    out = capsys.readouterr().out
    assert "PASS  P(S_f == 12) = 1/36" in out
    assert "FAIL" not in out


def test_check_fails_on_wrong_claim(tmp_path, capsys):
    f = tmp_path / "w.toml"
    f.write_text((SPECS / "dice.toml").read_text().replace('"E(S_f)" = "7"', '"E(S_f)" = "8"'))
    assert main(["check", str(f)]) == 1
    assert "FAIL  E(S_f) = 7, expected 8" in capsys.readouterr().out


def test_check_malformed_exits_2_without_traceback(tmp_path, capsys):
    f = tmp_path / "bad.toml"
    f.write_text("[world.f.node.G\n")
    assert main(["check", str(f)]) == 2
    out = capsys.readouterr().out
    assert "malformed TOML" in out and "Traceback" not in out


def test_derive_and_latex(capsys):
    assert main(["derive", str(SPECS / "dice.toml"), "E(S_c) - E(S_f)"]) == 0
    assert capsys.readouterr().out.strip() == "5/2"
    assert main(["derive", str(SPECS / "coins.toml"), "P(X_f == 1, given=Z_f == 1)",
                 "--latex"]) == 0
    assert capsys.readouterr().out.strip() == r"\frac{p q}{2 p q - p - q + 1}"


def test_console_script_runs():
    r = subprocess.run([sys.executable, "-m", "cpspec.cli", "derive", str(SPECS / "dice.toml"),
                        "P(S_f == 12)"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "1/36"


# ---- parity with the Python API -------------------------------------------------------

def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_simulate_an_agent_prints_its_traces(capsys):
    code, out, err = run(capsys, "simulate", SPECS / "si.toml", "si", "--steps", 3, "-n", 50,
                         "--traces", 2, "--seed", 1)
    assert code == 0 and out.count("run ") == 2 and "... 48 more runs" in out
    assert out.startswith("run 1: armed -work-> ")
    from cpspec.spec import loader
    si = loader.load(SPECS / "si.toml").agents["si"]
    first = si.traces(3, 50, seed=1)[0]
    assert out.splitlines()[0].endswith(f"discounted {first['total']:.6g}")
    mean = si.simulate(3, 50, seed=1).mean()
    assert f"mean discounted reward over 50 runs of 3 steps: {mean:.6g}" in out
    code, out, err = run(capsys, "simulate", SPECS / "itf.toml", "nothing")
    assert code == 2 and "no world or agent 'nothing'; worlds: none; agents: itf" in err


def test_param_everywhere_and_advice_for_the_command_line(capsys):
    code, out, err = run(capsys, "simulate", SPECS / "si.toml", "si_g", "-n", 3)
    assert code == 2 and "give --param NAME=VALUE" in err and "bind(" not in err
    code, out, err = run(capsys, "simulate", SPECS / "si.toml", "si_g", "-n", 3, "--param",
                         "gamma=1/2")
    assert code == 0
    code, out, err = run(capsys, "derive", SPECS / "fp.toml", "act(fp_g, start)", "--param",
                         "gamma=1/2")
    assert (code, out) == (0, "wait\n")                    # take if gamma <= 1/3 else wait
    code, out, err = run(capsys, "derive", SPECS / "fp.toml", "act(fp_g, start)", "--param",
                         "gamma=1/4")
    assert (code, out) == (0, "take\n")
    code, out, err = run(capsys, "explain", SPECS / "mesa_tradeoff.toml", "U(m)", "--param",
                         "N=3")
    assert code == 0 and out.startswith("U(m) = O/3 + 2/3") and "decision X chooses" in out


def test_draw_a_counterexample_and_compare_agents(capsys, tmp_path):
    out_png = tmp_path / "cex.png"
    code, out, err = run(capsys, "draw", SPECS / "fp.toml", "--agent", "fp",
                         "--counterexample", "myopic(1)", "-o", out_png)
    assert code == 0 and Image.open(out_png).format == "PNG"
    svg = tmp_path / "cex.svg"
    assert run(capsys, "draw", SPECS / "fp.toml", "--agent", "fp", "--counterexample",
               "myopic(1)", "-o", svg)[0] == 0
    assert "continuation values at step 1" in svg.read_text()
    code, out, err = run(capsys, "draw", SPECS / "si.toml", "--agent", "si",
                         "--counterexample", "no_incentive(button)", "-o", svg)
    assert code == 2 and "holds for SI" in err and "no counterexample to draw" in err
    code, out, err = run(capsys, "draw", SPECS / "si.toml", "--agent", "si,sif", "-o", svg)
    assert code == 0 and 'stroke="#d35400"' in svg.read_text()


def test_spec_files_take_random_replacements_and_bare_state_words(tmp_path, capsys):
    spec = tmp_path / "r.toml"
    spec.write_text('[world.f.node.G]\nvalues = [1, 2, 3, 4, 5, 6]\ndist = "uniform"\n'
                    '[world.f.node.R]\nvalues = [1, 2, 3, 4, 5, 6]\ndist = "uniform"\n'
                    '[world.f.node.S]\nfn = "G + R"\n'
                    '[world.c]\nfrom = "f"\nreplace.R = {values = [5, 6], dist = "uniform"}\n'
                    '[claims]\n"E(S_c)" = "9"\n')
    code, out, err = run(capsys, "check", spec)
    assert code == 0 and "1 pass" in out
    svg = tmp_path / "r.svg"
    assert run(capsys, "draw", spec, "--world", "c", "-o", svg)[0] == 0
    assert 'stroke="#8e44ad"' in svg.read_text()            # the surgery shows
    code, out, err = run(capsys, "derive", SPECS / "si.toml", "act(sif, S(button=armed))")
    assert (code, out) == (0, "disable\n")


def test_a_replacement_that_is_neither_expression_nor_table_is_named(tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text('[world.f.node.G]\nfn = "1"\n[world.c]\nfrom = "f"\nreplace.G = 3\n')
    code, out, err = run(capsys, "derive", spec, "E(G_c)")
    assert code == 2 and "line 5: replace.G must be an expression in quotes" in err


def test_a_param_the_file_does_not_have_is_named(capsys):
    for cmd in (["derive", SPECS / "fp.toml", "act(fp_g, start)"],
                ["simulate", SPECS / "si.toml", "si_g", "-n", 2],
                ["draw", SPECS / "si.toml", "--agent", "si_g", "-o", "x.svg"],
                ["explain", SPECS / "fp.toml", "act(fp_g, start)"]):
        code, out, err = run(capsys, *cmd, "--param", "zz=1")
        assert code == 2 and "has no parameter 'zz'; its parameters are gamma" in err

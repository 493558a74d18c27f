import subprocess
import sys
from pathlib import Path

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

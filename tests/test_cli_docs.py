"""The command line, the README's code and the examples run and say what they should."""
import json
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from covcone.cli import demo_data, main

ROOT = Path(__file__).resolve().parents[1]


def test_demo_json_is_certified(capsys):
    code = main(["demo", "--n", "20", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["certified"] is True and out["status"] == "certified"
    assert out["lower"] <= out["upper"]
    assert out["gap"] <= 1e-6


def test_demo_data_shapes():
    X, Y = demo_data(30)
    assert X.shape == (30, 2) and Y.shape == (30, 2)


def test_solve_from_npz_and_csv(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 2))
    Y = rng.standard_normal((12, 1))
    np.savez(tmp_path / "d.npz", X=X, Y=Y)
    net_path = tmp_path / "net.npz"
    code = main(["solve", str(tmp_path / "d.npz"), "--lam", "0.05", "--json", "--require-certificate", "--save", str(net_path)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["certified"]
    from covcone import Network

    net = Network.load(net_path)
    assert net.loss(X, Y, lam=0.05) == pytest.approx(out["upper"], rel=1e-9)
    np.savetxt(tmp_path / "x.csv", X, delimiter=",")
    np.savetxt(tmp_path / "y.csv", Y, delimiter=",")
    code = main(["solve", "--x", str(tmp_path / "x.csv"), "--y", str(tmp_path / "y.csv"), "--lam", "0.05", "--json"])
    out2 = json.loads(capsys.readouterr().out)
    assert code == 0 and out2["upper"] == pytest.approx(out["upper"], rel=1e-6)


def test_bad_input_exit_code_and_message(tmp_path, capsys):
    np.savez(tmp_path / "bad.npz", X=np.zeros((3, 2)))
    assert main(["solve", str(tmp_path / "bad.npz")]) == 2
    assert "'Y'" in capsys.readouterr().err
    np.savez(tmp_path / "nan.npz", X=np.full((3, 2), np.nan), Y=np.zeros((3, 1)))
    assert main(["solve", str(tmp_path / "nan.npz"), "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "error" and "X" in out["message"]
    assert main(["solve", str(tmp_path / "nan.npz"), "--solver", "MOSEK"]) == 2


def test_mosek_without_licence_is_a_clear_error():
    import covcone

    with pytest.raises(ValueError, match="MOSEK"):
        covcone.solve(np.zeros((3, 1)), np.zeros((3, 1)), lam=0.1, solver="MOSEK")


def test_module_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "covcone", "demo", "--n", "12", "--json"], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["certified"] is True


def test_readme_python_block_runs():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README has a python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_quickstart_example_runs(capsys):
    runpy.run_path(str(ROOT / "examples" / "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "certified global optimum" in out

"""The command line, the README's code and the examples run and say what they should."""
import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from covcone.cli import main
from covcone.data import demo_data

ROOT = Path(__file__).resolve().parents[1]


def test_demo_json_is_certified(capsys):
    code = main(["demo", "--n", "20", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["certified"] is True and out["status"] == "certified"
    assert out["lower"] <= out["upper"]
    assert out["gap"] <= 1e-6
    assert out["problem"] == {"N": 20, "d": 2, "k": 2, "activation": "relu", "lam": 1e-2, "beta": 1.0, "cost": "mse",
                              "depth": 2}


def test_demo_data_shapes():
    X, Y = demo_data(30)
    assert X.shape == (30, 2) and Y.shape == (30, 2)


def test_solve_from_npz_and_csv(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 2))
    Y = rng.standard_normal((12, 1))
    np.savez(tmp_path / "d.npz", X=X, Y=Y)
    net_path = tmp_path / "net.npz"
    code = main(["solve", str(tmp_path / "d.npz"), "--lam", "0.05", "--json", "--require-certificate",
                 "--save", str(net_path)])
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
    proc = subprocess.run([sys.executable, "-m", "covcone", "demo", "--n", "12", "--json"], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["certified"] is True


def test_quickstart_example_runs(capsys):
    runpy.run_path(str(ROOT / "examples" / "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "certified global optimum" in out


# ---- the problem is echoed, help shows defaults, CSV headers, bad files, --save ------------------------
def _npz(tmp_path, N=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, 2))
    Y = rng.standard_normal((N, 1))
    np.savez(tmp_path / "d.npz", X=X, Y=Y)
    return X, Y, tmp_path / "d.npz"


def test_text_output_echoes_the_problem(tmp_path, capsys):
    _, _, path = _npz(tmp_path)
    assert main(["solve", str(path), "--lam", "0.05", "--beta", "0.5", "--activation", "absolute"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == ("problem: N = 12, d = 2, k = 1, σ = absolute, λ = 0.05, β = 0.5, cost = mse, "
                                   "depth = 2")


def test_json_output_echoes_the_problem(tmp_path, capsys):
    _, _, path = _npz(tmp_path)
    assert main(["solve", str(path), "--lam", "0.05", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["problem"] == {"N": 12, "d": 2, "k": 1, "activation": "relu", "lam": 0.05, "beta": 1.0,
                              "cost": "mse", "depth": 2}


@pytest.mark.parametrize("command", ["demo", "solve", "tight", "sweep"])
def test_help_shows_every_default(command, capsys):
    from covcone.cli import build_parser

    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    for action in sub._actions:
        if action.option_strings and action.dest != "help" and not action.required:
            assert action.help, f"{command} {action.option_strings} has no help"
            if action.default is not None and not isinstance(action.default, bool):
                assert f"(default: {action.default})" in text, (command, action.dest)
    if command == "solve":
        assert "(default: 0.01)" in text and "(default: 1.0)" in text  # λ and β


@pytest.mark.parametrize("header", [True, False])
def test_csv_with_or_without_header(tmp_path, capsys, header):
    X, Y, _ = _npz(tmp_path)
    hx = "x1,x2" if header else ""
    hy = "y" if header else ""
    np.savetxt(tmp_path / "x.csv", X, delimiter=",", header=hx, comments="")
    np.savetxt(tmp_path / "y.csv", Y, delimiter=",", header=hy, comments="")
    if not header:
        assert (tmp_path / "x.csv").read_text().splitlines()[0][0] in "-0123456789"
    assert main(["solve", "--x", str(tmp_path / "x.csv"), "--y", str(tmp_path / "y.csv"), "--lam", "0.05",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["problem"]["N"] == 12 and out["problem"]["d"] == 2
    from covcone.data import load_csv

    np.testing.assert_allclose(load_csv(tmp_path / "x.csv"), X, rtol=1e-15)


def _bad_files(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header_only.csv").write_text("a,b\n")
    (tmp_path / "ragged.csv").write_text("1,2\n3\n")
    (tmp_path / "words.csv").write_text("1,2\n3,four\n")
    (tmp_path / "y.csv").write_text("1\n2\n")
    (tmp_path / "dir.npz").mkdir()
    return {
        "missing npz": ["solve", str(tmp_path / "nope.npz")],
        "empty npz": ["solve", str(tmp_path / "empty.npz")],
        "corrupt npz": ["solve", str(tmp_path / "corrupt.npz")],
        "missing csv": ["solve", "--x", str(tmp_path / "nope.csv"), "--y", str(tmp_path / "y.csv")],
        "empty csv": ["solve", "--x", str(tmp_path / "empty.csv"), "--y", str(tmp_path / "y.csv")],
        "header only": ["solve", "--x", str(tmp_path / "header_only.csv"), "--y", str(tmp_path / "y.csv")],
        "ragged csv": ["solve", "--x", str(tmp_path / "ragged.csv"), "--y", str(tmp_path / "y.csv")],
        "non-numeric csv": ["solve", "--x", str(tmp_path / "words.csv"), "--y", str(tmp_path / "y.csv")],
        "rows differ": ["solve", "--x", str(tmp_path / "ragged.csv"), "--y", str(tmp_path / "header_only.csv")],
        "directory as data": ["solve", str(tmp_path / "dir.npz")],
    }


def test_bad_files_exit_2_with_one_line(tmp_path, capsys):
    for name, argv in _bad_files(tmp_path).items():
        code = main(argv)
        cap = capsys.readouterr()
        assert code == 2, name
        lines = cap.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("covcone: error: "), (name, cap.err)
        assert "Traceback" not in cap.err


def test_bad_file_subprocess_has_no_traceback(tmp_path):
    (tmp_path / "corrupt.npz").write_bytes(b"garbage")
    proc = subprocess.run([sys.executable, "-m", "covcone", "solve", str(tmp_path / "corrupt.npz")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "corrupt.npz" in proc.stderr


def test_save_into_a_directory(tmp_path, capsys):
    X, Y, path = _npz(tmp_path)
    out_dir = tmp_path / "models"
    out_dir.mkdir()
    assert main(["solve", str(path), "--lam", "0.05", "--json", "--save", str(out_dir) + "/"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["saved"] == str(out_dir / "network.npz")
    from covcone import Network

    assert Network.load(out_dir / "network.npz").loss(X, Y, lam=0.05) == pytest.approx(out["upper"], rel=1e-9)
    assert main(["solve", str(path), "--lam", "0.05", "--save", str(out_dir)]) == 0  # existing dir, no slash
    assert "saved" in capsys.readouterr().out


def test_unwritable_save_exits_2_before_solving(tmp_path, capsys, monkeypatch):
    _, _, path = _npz(tmp_path)
    import covcone

    def fail(*a, **k):
        raise AssertionError("solve must not run when --save cannot be written")

    monkeypatch.setattr(covcone, "solve", fail)
    for target in [str(tmp_path / "no_such_dir") + "/", str(tmp_path / "no_such_dir" / "net.npz")]:
        assert main(["solve", str(path), "--save", target]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--save" in err
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        import os

        if not os.access(ro, os.W_OK):  # root can write anywhere; the check is then moot
            assert main(["solve", str(path), "--save", str(ro / "net.npz")]) == 2
            assert "permission" in capsys.readouterr().err
    finally:
        ro.chmod(0o700)


def test_cli_and_sweep_take_demo_data_from_covcone_data():
    import covcone.cli
    import covcone.sweep

    src = Path(covcone.sweep.__file__).read_text()
    assert "from .cli import" not in src and "from .data import demo_data" in src
    assert covcone.cli.demo_data is demo_data


def test_tight_and_sweep_echo_the_problem(tmp_path, capsys):
    assert main(["tight", "--n", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["problem"]["N"] == 4 and out["problem"]["cost"] == "interpolate" and out["problem"]["beta"] == 0.0
    cfg = tmp_path / "s.toml"
    cfg.write_text('[data]\nname = "demo"\nn = 10\n[solve]\nbeta = 1.0\n[grid]\nlam = [0.1]\n')
    assert main(["sweep", str(cfg), "--out", str(tmp_path / "out")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("problem: N = 10, d = 2, k = 2, σ = relu, β = 1, cost = mse")


def test_tight_plot_to_a_missing_directory_exits_2_before_solving(tmp_path, capsys, monkeypatch):
    import covcone.tight

    def fail(*a, **k):
        raise AssertionError("verify_tight must not run when --plot cannot be written")

    monkeypatch.setattr(covcone.tight, "verify_tight", fail)
    assert main(["tight", "--n", "4", "--plot", str(tmp_path / "missing" / "p.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--plot" in err

"""covcone.sweep: solve_many (serial / dask.distributed), TOML sweeps and ``covcone sweep``."""
import csv
import json

import numpy as np
import pytest

import covcone
from covcone.cli import main
from covcone.sweep import load_config, run_sweep, solve_many


def _problems():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (20, 2))
    Y = np.abs(X[:, :1]) - X[:, 1:] ** 2
    return [{"X": X, "Y": Y, "lam": lam, "beta": 1.0, "rng": seed} for lam in (1e-1, 1e-2) for seed in (0, 1)]


def _same(a, b):
    assert a.status == b.status and a.certified == b.certified
    assert a.upper == b.upper and a.lower == b.lower and a.n_neurons == b.n_neurons
    for W, W2 in zip(a.network.weights, b.network.weights):
        np.testing.assert_array_equal(W, W2)


@pytest.fixture(scope="module")
def serial():
    return solve_many(_problems())


def test_serial_is_solve(serial):
    probs = _problems()
    assert len(serial) == 4 and all(r.certified for r in serial)
    _same(serial[2], covcone.solve(**probs[2]))


def _children():
    psutil = pytest.importorskip("psutil")
    # multiprocessing's resource tracker is a per-interpreter singleton that lives until we exit
    return [p for p in psutil.Process().children(recursive=True)
            if "resource_tracker" not in " ".join(p.cmdline())]


def test_dask_client_equals_serial(serial):
    distributed = pytest.importorskip("distributed")
    before = _children()
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        assert len(client.scheduler_info()["workers"]) == 2
        par = solve_many(_problems(), client=client)
    finally:
        client.close()
        cluster.close()
    assert client.status == "closed" and cluster.status.name == "closed"
    assert len(par) == len(serial)
    for a, b in zip(serial, par):
        _same(a, b)
    assert _children() == before


@pytest.mark.slow
def test_local_cluster_of_processes_equals_serial_and_is_closed(serial):
    pytest.importorskip("distributed")
    before = _children()
    par = solve_many(_problems(), client="local")
    for a, b in zip(serial, par):
        _same(a, b)
    assert _children() == before  # the two worker processes (and their nannies) are gone


def test_errors_raise_or_return():
    probs = _problems()[:2]
    probs.insert(1, {"X": probs[0]["X"], "Y": probs[0]["Y"], "lam": -1.0})
    with pytest.raises(ValueError, match="lam"):
        solve_many(probs)
    out = solve_many(probs, errors="return")
    assert isinstance(out[1], ValueError) and out[0].certified and out[2].certified


def test_bad_arguments():
    X = np.zeros((3, 1))
    assert solve_many([]) == []
    with pytest.raises(ValueError, match="problems"):
        solve_many({"X": X, "Y": X, "lam": 1.0})
    with pytest.raises(ValueError, match=r"problems\[0\]"):
        solve_many([{"X": X, "lam": 1.0}])
    with pytest.raises(ValueError, match=r"problems\[1\]"):
        solve_many([{"X": X, "Y": X}, 3])
    with pytest.raises(ValueError, match="client"):
        solve_many([{"X": X, "Y": X, "lam": 1.0}], client="cluster")
    with pytest.raises(ValueError, match="client"):
        solve_many([{"X": X, "Y": X, "lam": 1.0}], client=object())
    with pytest.raises(ValueError, match="errors"):
        solve_many([], errors="ignore")


# ---------------------------------------------------------------------------------------------
# TOML sweeps
# ---------------------------------------------------------------------------------------------
def _write_config(tmp_path, body, data=True):
    if data:
        p = _problems()[0]
        np.savez(tmp_path / "data.npz", X=p["X"], Y=p["Y"])
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(body)
    return cfg


CONFIG = """
[data]
file = "data.npz"

[solve]
beta = 1.0
tol = 1e-6

[grid]
lam = [0.1, 0.01]
depth = [2]
seed = [0, 1]
"""


def test_run_sweep_writes_json_and_csv(tmp_path, serial):
    cfg = _write_config(tmp_path, CONFIG)
    rep = run_sweep(cfg, out=tmp_path / "out")
    assert rep.all_certified and rep.n_failed == 0 and len(rep.records) == 4
    assert [(r["lam"], r["seed"]) for r in rep.records] == [(0.1, 0), (0.1, 1), (0.01, 0), (0.01, 1)]
    for rec, res in zip(rep.records, serial):  # same problems, same seeds: same numbers
        assert rec["upper"] == res.upper and rec["lower"] == res.lower and rec["status"] == "certified"
    doc = json.loads(rep.json_path.read_text())
    assert doc["all_certified"] is True and len(doc["results"]) == 4
    assert doc["results"][3]["upper"] == serial[3].upper
    with open(rep.csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and float(rows[2]["upper"]) == serial[2].upper and rows[0]["certified"] == "True"
    assert "certified" in rep.table()


def test_run_sweep_demo_data_and_error_rows(tmp_path):
    cfg = _write_config(tmp_path, """
[data]
name = "demo"
n = 12

[solve]
beta = 1.0

[grid]
lam = 0.05
depth = [2, 1]
""", data=False)
    rep = run_sweep(cfg, out=tmp_path)
    assert [r["depth"] for r in rep.records] == [2, 1]
    assert rep.records[0]["certified"] and rep.records[1]["status"] == "error"
    assert "depth" in rep.records[1]["message"] and rep.n_failed == 1
    X, Y = covcone.cli.demo_data(12, 0)
    assert rep.records[0]["upper"] == covcone.solve(X, Y, lam=0.05, beta=1.0, rng=0).upper


@pytest.mark.parametrize("body,match", [
    ("[grid]\nlam = [0.1]\n", r"\[data\]"),
    ("[data]\nname = 'iris'\n[grid]\nlam = [0.1]\n", "demo"),
    ("[data]\nname = 'demo'\nfile = 'x.npz'\n[grid]\nlam = [0.1]\n", "exactly one"),
    ("[data]\nfile = 'missing.npz'\n[grid]\nlam = [0.1]\n", "no such file"),
    ("[data]\nname = 'demo'\n", "lam is required"),
    ("[data]\nname = 'demo'\n[grid]\nlam = [0.1]\nwidth = [3]\n", "width"),
    ("[data]\nname = 'demo'\n[grid]\nlam = []\n", "non-empty"),
    ("[data]\nname = 'demo'\n[solve]\nlam = 0.1\n[grid]\nlam = [0.1]\n", r"\[solve\]"),
    ("[data]\nname = 'demo'\n[grid]\nlam = [0.1]\n[plots]\nx = 1\n", "plots"),
    ("[data\nname = 'demo'\n", "TOML"),
])
def test_bad_configs(tmp_path, body, match):
    cfg = _write_config(tmp_path, body, data=False)
    with pytest.raises(ValueError, match=match):
        load_config(cfg)


def test_cli_sweep(tmp_path, capsys):
    cfg = _write_config(tmp_path, CONFIG.replace("seed = [0, 1]", "seed = [0]"))
    assert main(["sweep", str(cfg), "--out", str(tmp_path / "o"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["all_certified"] and len(doc["results"]) == 2 and doc["n_failed"] == 0
    assert (tmp_path / "o" / "sweep.csv").is_file() and (tmp_path / "o" / "sweep.json").is_file()
    assert main(["sweep", str(cfg), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "certified" in out and "sweep.csv" in out
    # a bad config: exit code 2 and the message
    bad = tmp_path / "bad.toml"
    bad.write_text("[grid]\nlam = [0.1]\n")
    assert main(["sweep", str(bad), "--json"]) == 2
    assert "[data]" in json.loads(capsys.readouterr().out)["message"]
    # an uncertified grid point fails only with --require-certificate
    cfg2 = _write_config(tmp_path, CONFIG.replace("tol = 1e-6", "tol = 1e-6\nmax_rounds = 1").replace(
        "lam = [0.1, 0.01]", "lam = [0.001]"))
    assert main(["sweep", str(cfg2), "--out", str(tmp_path / "o2")]) == 0
    assert main(["sweep", str(cfg2), "--out", str(tmp_path / "o2"), "--require-certificate"]) == 1


def test_exact_oracle_chunks_on_a_dask_client_match_serial():
    """Issue 8: the 3^N face enumeration split across a client's workers gives the same price
    and the same certified solve as the serial run."""
    distributed = pytest.importorskip("distributed")
    import numpy as np

    import covcone
    from covcone.oracle import max_group_norm
    from covcone.shallow import input_basis

    rng = np.random.default_rng(4)
    X = rng.standard_normal((10, 5))
    Y = rng.standard_normal((10, 2))
    _, _, B = input_basis(X, 1.0)
    Theta = rng.standard_normal((10, 2))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        par = max_group_norm(Theta, B, "relu", n_best=5, rng=0, client=client)
        res_par = covcone.solve(X, Y, lam=0.05, beta=1.0, rng=0, client=client)
    ser = max_group_norm(Theta, B, "relu", n_best=5, rng=0)
    assert par.exact and ser.exact and "3^N" in par.method
    assert par.value == pytest.approx(ser.value, rel=1e-12)
    np.testing.assert_allclose(par.values, ser.values, rtol=1e-12)
    res_ser = covcone.solve(X, Y, lam=0.05, beta=1.0, rng=0)
    assert res_par.certified and res_ser.certified
    assert res_par.upper == pytest.approx(res_ser.upper, rel=1e-12)


def test_vertex_enumeration_split_on_a_dask_client_matches_serial():
    """Input rank ≥ 4 beyond 3^N: the vertex enumeration split by heads over a client's workers
    finds the same maximum as the serial enumeration (and says it ran in parts)."""
    distributed = pytest.importorskip("distributed")
    import numpy as np

    from covcone.oracle import max_group_norm

    rng = np.random.default_rng(8)
    B = rng.standard_normal((5, 18))
    Theta = rng.standard_normal((18, 2))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        par = max_group_norm(Theta, B, "relu", n_best=5, rng=0, client=client, _method="vertices")
    ser = max_group_norm(Theta, B, "relu", n_best=5, rng=0, _method="vertices")
    assert par.exact and ser.exact and par.stats["parts"] > 1
    assert par.stats["vertices"] == ser.stats["vertices"]
    assert par.value == pytest.approx(ser.value, rel=1e-12)

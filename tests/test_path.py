"""covcone.path: warm-started certified solves along a λ path."""
import dataclasses
import json
import sys

import numpy as np
import pytest

import covcone
from covcone.path import PathResult, plot_path, solve_path

LAMS = [1e-2, 1e-1, 3e-2]  # unsorted on purpose


def _data(N=24, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (N, 2))
    Y = np.stack([np.abs(X[:, 0]) - X[:, 1] ** 2, np.sin(2 * X[:, 0])], axis=1)
    return X, Y


@pytest.fixture(scope="module")
def path():
    X, Y = _data()
    return solve_path(X, Y, LAMS, beta=1.0, rng=0)


def test_path_is_sorted_and_certified_at_every_lam(path):
    assert isinstance(path, PathResult) and len(path) == 3
    assert path.lams == (1e-1, 3e-2, 1e-2)
    assert path.certified == (True, True, True) and path.all_certified
    assert path.message == "3 of 3 λ certified"
    for r in path.results:
        assert r.certified and r.lower <= r.upper and r.gap <= 1e-6
    # the optimal value P(λ) increases with λ; smaller λ needs at least as many neurons here
    assert np.all(np.diff(path.upper) < 0) and np.all(np.diff(path.lower) < 0)
    assert path.n_neurons[0] <= path.n_neurons[-1]
    assert path.timings["total"] > 0 and len(path.timings["per_lam"]) == 3


def test_path_agrees_with_cold_solves(path):
    X, Y = _data()
    for lam, res in zip(path.lams, path.results):
        cold = covcone.solve(X, Y, lam=lam, beta=1.0, rng=0)
        assert cold.certified
        # both certified within tol = 1e-6 of the same optimum
        assert abs(res.upper - cold.upper) <= 2e-6 * max(1.0, abs(cold.upper))
        # the warm network is evaluated independently by its forward pass
        assert res.network.loss(X, Y, lam=lam) == pytest.approx(res.upper, rel=1e-12)


def test_each_solve_is_seeded_with_the_previous_neurons(monkeypatch):
    import covcone.api
    from covcone.shallow import columns_from_network

    calls = []
    real = covcone.api.solve

    def spy(X, Y, **kw):
        calls.append(kw)
        return real(X, Y, **kw)

    monkeypatch.setattr(covcone.api, "solve", spy)
    X, Y = _data(N=16)
    p = solve_path(X, Y, [0.2, 0.05], beta=1.0, rng=0)
    assert [c["lam"] for c in calls] == [0.2, 0.05]
    assert "init_columns" not in calls[0]
    np.testing.assert_array_equal(calls[1]["init_columns"], columns_from_network(X, p.results[0].network))
    calls.clear()
    p = solve_path(X, Y, [0.2, 0.05], beta=1.0, rng=0, warm_start="columns")
    np.testing.assert_array_equal(calls[1]["init_columns"], p.results[0].extra["columns"])
    calls.clear()
    solve_path(X, Y, [0.2, 0.05], beta=1.0, rng=0, warm_start=None)
    assert all("init_columns" not in c for c in calls)


def test_result_is_frozen_and_serialisable(path):
    with pytest.raises(dataclasses.FrozenInstanceError):
        path.lams = (1.0,)
    s = json.loads(json.dumps(path.summary()))
    assert [row["lam"] for row in s["path"]] == [1e-1, 3e-2, 1e-2]
    assert s["all_certified"] is True and s["path"][0]["status"] == "certified"


@pytest.mark.parametrize(
    "lams,match",
    [([], "lams"), ([0.1, -0.01], "lams"), ([0.1, 0.0], "lams"), ([np.nan], "lams"), ([[0.1, 0.01]], "lams"),
     (None, "lams"), ("abc", "lams")],
)
def test_bad_lams(lams, match):
    X, Y = _data(N=6)
    with pytest.raises(ValueError, match=match):
        solve_path(X, Y, lams)


def test_bad_options():
    X, Y = _data(N=6)
    with pytest.raises(ValueError, match="lam"):
        solve_path(X, Y, [0.1], lam=0.1)
    with pytest.raises(ValueError, match="depth"):
        solve_path(X, Y, [0.1], depth=3)
    with pytest.raises(ValueError, match="interpolate"):
        solve_path(X, Y, [0.1], cost="interpolate")
    with pytest.raises(ValueError, match="warm_start"):
        solve_path(X, Y, [0.1], warm_start="yes")
    with pytest.raises(ValueError, match="unknown option"):
        solve_path(X, Y, [0.1], not_an_option=1)


def test_duplicates_dropped():
    X, Y = _data(N=8)
    p = solve_path(X, Y, [0.1, 0.1, 0.5], beta=1.0, rng=0)
    assert p.lams == (0.5, 0.1) and len(p.results) == 2


def test_plot_path(path):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    axes = plot_path(path)
    assert len(axes) == 3
    np.testing.assert_allclose(axes[0].lines[0].get_xdata(), path.lams)
    np.testing.assert_allclose(axes[0].lines[0].get_ydata(), path.upper)
    np.testing.assert_allclose(axes[2].lines[0].get_ydata(), path.n_neurons)
    assert axes[1].get_yscale() == "log"
    _, ax = plt.subplots(3, 1)
    assert plot_path(path, ax=ax)[0] is ax[0]
    with pytest.raises(ValueError, match="ax"):
        plot_path(path, ax=ax[:2])
    with pytest.raises(ValueError, match="path_result"):
        plot_path(path.results[0])
    plt.close("all")


def test_plot_path_without_matplotlib(path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install"):
        plot_path(path)


def test_path_on_a_dask_client_splits_the_grid(path):
    distributed = pytest.importorskip("distributed")
    X, Y = _data()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        p = solve_path(X, Y, LAMS, client=client, beta=1.0, rng=0)
    assert p.lams == path.lams and p.all_certified
    np.testing.assert_allclose(p.upper, path.upper, rtol=2e-6)

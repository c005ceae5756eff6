"""Figures: each plot draws the data it claims, on the axes it claims; missing extras give one error."""
import sys

import numpy as np
import pytest

import covcone
from covcone.plot import plot_history, plot_neurons, plot_path, plot_width_plateau, require_extras

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after the importorskip)


@pytest.fixture(scope="module")
def solved():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 2))
    Y = np.abs(X[:, :1]) - X[:, 1:]
    return X, Y, covcone.solve(X, Y, lam=1e-2, beta=1.0, rng=0)


def test_plot_history(solved, tmp_path):
    res = solved[2]
    ax = plot_history(res)
    np.testing.assert_allclose(ax[0].lines[0].get_ydata(), [h["upper"] for h in res.history])
    assert ax[1].get_yscale() == "log"
    assert ax[0].get_legend() is not None and ax[1].get_legend() is not None
    assert all(float(t).is_integer() for t in ax[0].get_xticks())
    ax[0].figure.savefig(tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="history"):
        plot_history(object())
    plt.close("all")


def test_plot_neurons(solved):
    X, Y, res = solved
    ax = plot_neurons(res.network, X, Y)
    fig = ax.figure
    assert len(fig.axes) == 2  # the plot and its colour bar
    # one kink line per unit above 0.1 % of the largest; the first line is the unit's own kink
    W1, W2 = res.network.weights
    size = np.linalg.norm(W1, axis=1) * np.linalg.norm(W2[:, :-1], axis=0)
    n_drawn = int(np.sum((size >= 1e-3 * size.max()) & (np.linalg.norm(W1[:, :2], axis=1) > 0)))
    assert len(ax.lines) == n_drawn
    x, y = ax.lines[-1].get_data()
    j = int(np.argmax(size))  # drawn last (largest on top)
    vals = W1[j, 0] * np.asarray(x) + W1[j, 1] * np.asarray(y) + res.network.beta * W1[j, 2]
    np.testing.assert_allclose(vals, 0, atol=1e-9)
    with pytest.raises(ValueError, match="2-D"):
        plot_neurons(covcone.Network([np.ones((2, 4)), np.ones((1, 3))]), np.ones((3, 3)))
    plt.close("all")


def test_plot_path_log_axes():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((10, 2))
    Y = np.sin(X[:, :1])
    p = covcone.solve_path(X, Y, [1e-1, 1e-2], beta=1.0, rng=0)
    ax = plot_path(p)
    assert [a.get_xscale() for a in ax] == ["log"] * 3
    np.testing.assert_allclose(ax[2].lines[0].get_ydata(), p.n_neurons)
    assert all(float(t).is_integer() for t in ax[2].get_yticks())
    plt.close("all")


def test_one_error_names_every_missing_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"needs matplotlib and torch: pip install 'covcone\[plot,torch\]'"):
        plot_width_plateau(None, "x.png")
    with pytest.raises(ImportError, match=r"needs matplotlib: pip install 'covcone\[plot\]'"):
        require_extras("f", "matplotlib", "numpy")


def test_plot_width_plateau_file(tmp_path):
    pytest.importorskip("torch")
    rep = covcone.verify_tight(4)
    out = plot_width_plateau(rep, tmp_path / "p.png", widths=[2, 4, 6], seeds=1, steps=200)
    assert (tmp_path / "p.png").stat().st_size > 1000
    assert out["widths"] == [2, 4, 6] and len(out["best"]) == 3
    # below N²/4 = 4 neurons no network reaches the certified optimum (paper Prop. 14)
    assert out["best"][0] > out["optimum"] * (1 + 1e-3)
    assert min(out["best"]) >= out["optimum"] * (1 - 1e-9)

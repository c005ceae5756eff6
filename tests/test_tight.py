"""Tests of covcone.tight: the N²/4 example of paper §4.2 (Prop. 13–14)."""
import json

import numpy as np
import pytest

from covcone.tight import spectral_dual_bound, tight_example, verify_tight


def _check(rep, prefix):
    return next(c for c in rep.checks if c[0].startswith(prefix))


@pytest.mark.parametrize("N", [2, 4, 6, 8])
def test_small_N_pass_all_checks(N):
    rep = verify_tight(N)
    assert rep.passed, rep.table()
    for prefix in ("1", "2", "3", "4", "5a", "5b"):
        assert _check(rep, prefix)[3] is True, rep.table()
    assert rep.upper == pytest.approx(N**2, rel=1e-6)
    assert rep.lower == pytest.approx(N**2, rel=1e-6)
    assert rep.network.widths[1] == N * N // 4
    # the recovered network interpolates Y_N (independent forward pass)
    X, Y = tight_example(N)
    np.testing.assert_allclose(rep.network.forward(X), Y, atol=1e-6)
    json.dumps(rep.summary())
    assert f"N = {N}" in rep.table()


@pytest.mark.parametrize("bad", [3, 0, -2, 2.5, "4", True])
def test_bad_N_rejected(bad):
    with pytest.raises(ValueError, match="N"):
        tight_example(bad)
    with pytest.raises(ValueError, match="N"):
        verify_tight(bad)


def test_example_matrix():
    X, Y = tight_example(6)
    np.testing.assert_array_equal(X, np.eye(6))
    assert Y[0, 0] == 3 and Y[0, 3] == 1 and Y[0, 1] == 0
    # Y_N = EᵀE for the bipartite incidence matrix
    E = np.array([np.eye(6)[i] + np.eye(6)[j] for i in range(3) for j in range(3, 6)])
    np.testing.assert_array_equal(E.T @ E, Y)
    assert abs(np.linalg.eigvalsh(Y)[0]) < 1e-12  # singular, eigenvector [1; -1]


def test_wrong_Y_fails_relevant_checks():
    N = 4
    _, Y = tight_example(N)
    Y = Y.copy()
    Y[0, 2] = 0.5  # one off-diagonal entry changed
    rep = verify_tight(N, Y=Y, mse=False)
    assert not rep.passed
    assert _check(rep, "1")[3] is False  # the cost is no longer N²
    assert _check(rep, "2")[3] is False  # K_1 ≠ Y_N


def test_spectral_bound_is_valid_on_random_data():
    # LB ≤ the loss of any network (here: a random interpolating one built by least squares)
    rng = np.random.default_rng(0)
    N = 6
    X = np.eye(N)
    Y = rng.standard_normal((N, 2))
    lb = spectral_dual_bound(X, Y, cost="interpolate")
    W1 = np.abs(rng.standard_normal((10, N)))
    S = np.maximum(X @ W1.T, 0)
    W2 = np.linalg.lstsq(S, Y, rcond=None)[0].T
    loss = np.sum(W1**2) + np.sum(W2**2)
    assert lb <= loss + 1e-9
    assert lb == pytest.approx(2 * np.linalg.norm(Y, "nuc"))


def test_exact_oracle_cross_check_N4():
    # the exact-oracle dual of covcone.solve agrees with the spectral bound
    rep = verify_tight(4, exact_max_n=4, mse=False)
    assert rep.bounds["exact-oracle dual"] == pytest.approx(16, rel=1e-5)
    assert _check(rep, "1")[3] is True


@pytest.mark.slow
def test_N16_passes():
    rep = verify_tight(16)
    assert rep.passed, rep.table()


def test_plot_needs_optional_packages(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("torch")
    from covcone.tight import plot_width_plateau

    rep = verify_tight(4)
    out = plot_width_plateau(rep, tmp_path / "p.png", widths=[2, 4, 6], seeds=1, steps=200)
    assert (tmp_path / "p.png").exists() and len(out["best"]) == 3


def test_example_script_runs():
    import runpy
    from pathlib import Path

    runpy.run_path(str(Path(__file__).parents[1] / "examples" / "tight_example.py"), run_name="__main__")


def test_mse_with_larger_lam_leaves_5b_open_not_passed():
    """At λ = 1/N² the MSE optimum adds an all-ones neuron: the support of K_1^σ has triangles,
    the clique-cover bound cannot certify N²/4, and the report must say OPEN (None), not PASS."""
    rep = verify_tight(6, lam=1.0 / 36)
    c5b = _check(rep, "5b")
    assert c5b[3] is None and "triangles" in c5b[1]


def test_plain_solve_certifies_the_tight_example_N20():
    """No problem-specific pricing: ``covcone.solve`` on (X_20, Y_20) reaches the optimum N² with
    the N²/4 edge neurons (the generic pricing's neurons pointing at pairs of data points), and
    certifies it by the spectral dual bound."""
    import covcone
    from covcone.tight import _edge_structure

    N = 20
    X, Y = tight_example(N)
    res = covcone.solve(X, Y, cost="interpolate", beta=0.0)
    assert res.certified, res.message
    assert res.lower <= N * N * (1 + 1e-9) and res.upper == pytest.approx(N * N, rel=1e-6)
    # a plain forward pass interpolates, and the loss is the parameter norm
    assert np.allclose(res.network.forward(X), Y, atol=1e-6 * np.abs(Y).max())
    assert res.network.squared_norm() == pytest.approx(N * N, rel=1e-6)
    n, n_edge, n_hit = _edge_structure(res.network, N)
    assert n == n_edge == n_hit == N * N // 4


@pytest.mark.parametrize("N,seed", [(8, 1), (10, 0), (10, 2), (12, 2), (14, 1)])
def test_plain_solve_small_N_returns_exactly_the_edge_neurons(N, seed):
    """Below N = 16 the master's interior point spreads the optimum over the N²/4 edges and dozens
    of near-zero neurons, and the edge columns are a solver's accuracy away from the optimum's
    (their features nearly dependent): re-solving on the edges alone, or correcting the output
    weights alone, cost up to 2 % more.  The refit on both layers within the faces recovers the
    N²/4 edge network at N² (45 neurons at N = 10 before it).  Along a face the loss is flat to
    second order (a neuron ``e_i + (1 + δ)e_j`` costs O(δ²) more), so at a loss exact to 1e-12 the
    neurons are edge indicators to ≈ 1e-6: checked to 1e-4."""
    import covcone
    from covcone.tight import _edge_structure

    X, Y = tight_example(N)
    res = covcone.solve(X, Y, cost="interpolate", beta=0.0, rng=seed)
    assert res.certified, res.message
    assert res.n_neurons == N * N // 4
    n, n_edge, n_hit = _edge_structure(res.network, N, tol=1e-4)
    assert n == n_edge == n_hit == N * N // 4
    assert np.allclose(res.network.forward(X), Y, rtol=0, atol=1e-10 * np.abs(Y).max())
    assert res.network.squared_norm() == pytest.approx(N * N, rel=1e-10)

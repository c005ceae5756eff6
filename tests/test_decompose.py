r"""Tests of covcone.decompose: Carathéodory reduction, compression, CP factorisation, Rank_σ bounds."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from covcone.activations import leaky_relu, relu
from covcone.decompose import (
    CompressionError,
    compress,
    cp_factor,
    decompose,
    lifted_neurons,
    rank_bounds,
)
from covcone.network import Network


def _pair(Z, act, w=None):
    w = np.ones(len(Z)) if w is None else w
    S = act(Z)
    return (Z * w[:, None]).T @ Z, (S * w[:, None]).T @ S


def _rel(A, B):
    return np.linalg.norm(A - B) / np.linalg.norm(B)


def _generator_rank(Z, act):
    N = Z.shape[1]
    iu = np.triu_indices(N)
    G = np.hstack([(Z[:, iu[0]] * Z[:, iu[1]]), act(Z)[:, iu[0]] * act(Z)[:, iu[1]]])
    return np.linalg.matrix_rank(G, tol=1e-9 * np.linalg.norm(G, 2))


# ---------------------------------------------------------------------------------------------
# decompose
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", [relu, leaky_relu(0.2)])
def test_decompose_low_dimensional_range(act):
    rng = np.random.default_rng(0)
    N, d, n = 10, 3, 400
    Z = rng.standard_normal((n, d)) @ rng.standard_normal((d, N))  # data range of dimension 3
    w = rng.random(n)
    dec = decompose(Z, w, activation=act)
    K, Ks = _pair(Z, act, w)
    K2, Ks2 = _pair(dec.Z, act)
    assert _rel(K2, K) < 1e-10 and _rel(Ks2, Ks) < 1e-10
    assert dec.residual_K == pytest.approx(_rel(K2, K), abs=1e-15)
    assert dec.n_after <= dec.rank <= dec.dimension_bound == N * (N + 1)
    assert dec.n_after < n
    # the surviving generators are linearly independent
    assert _generator_rank(dec.Z, act) == dec.n_after
    # rows are the scaled input rows
    np.testing.assert_allclose(dec.Z, Z[dec.index] * np.sqrt(dec.weights)[:, None])


def test_decompose_generic_reaches_dimension_bound():
    rng = np.random.default_rng(1)
    N = 6
    Z = rng.standard_normal((200, N))
    dec = decompose(Z, activation=relu)
    assert dec.n_after == dec.rank == N * (N + 1)
    assert dec.residual < 1e-12


def test_parallel_neurons_merge():
    rng = np.random.default_rng(2)
    z = rng.standard_normal(7)
    scales = rng.uniform(0.1, 5.0, 10)
    Z = scales[:, None] * z
    dec = decompose(Z, activation=relu)
    assert dec.n_merged == 1 and dec.n_after == 1
    np.testing.assert_allclose(dec.Z[0], np.sqrt(np.sum(scales**2)) * z, rtol=1e-12)


def test_zero_neurons_and_weights_dropped():
    Z = np.array([[1.0, -2.0, 0.5], [0.0, 0.0, 0.0], [3.0, 1.0, -1.0]])
    dec = decompose(Z, [1.0, 5.0, 0.0], activation=relu)
    assert dec.n_after == 1 and dec.index.tolist() == [0]
    dec0 = decompose(np.zeros((4, 3)), activation=relu)
    assert dec0.n_after == 0 and dec0.Z.shape == (0, 3)


def test_decompose_validates():
    with pytest.raises(ValueError, match="weights"):
        decompose(np.ones((3, 2)), [1.0, -1.0, 1.0], activation=relu)
    with pytest.raises(ValueError, match="positively homogeneous"):
        decompose(np.ones((3, 2)), activation="tanh")


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    N=st.integers(2, 6),
    d=st.integers(1, 4),
    n=st.integers(1, 60),
    dup=st.integers(0, 10),
    slope=st.sampled_from([0.0, 0.3, -1.0]),
)
def test_decompose_property(seed, N, d, n, dup, slope):
    rng = np.random.default_rng(seed)
    act = leaky_relu(slope)
    d = min(d, N)
    Z = rng.standard_normal((n, d)) @ rng.standard_normal((d, N))
    if dup:  # parallel copies at positive scales
        Z = np.vstack([Z, rng.uniform(0.5, 2.0, (dup, 1)) * Z[rng.integers(0, n, dup)]])
    w = rng.random(len(Z)) + 0.1
    dec = decompose(Z, w, activation=act)
    K, Ks = _pair(Z, act, w)
    K2, Ks2 = _pair(dec.Z, act)
    scale = max(np.linalg.norm(K), 1e-300)
    assert np.linalg.norm(K2 - K) <= 1e-9 * scale
    assert np.linalg.norm(Ks2 - Ks) <= 1e-9 * scale
    assert dec.n_after <= min(dec.rank, N * (N + 1), dec.n_merged)
    assert np.all(dec.weights > 0)
    if dec.n_after:
        assert _generator_rank(dec.Z, act) == dec.n_after


# ---------------------------------------------------------------------------------------------
# compress
# ---------------------------------------------------------------------------------------------
def _random_net(rng, L, width, n0, k, act, beta):
    ws = [rng.standard_normal((width, n0 + 1))]
    ws += [rng.standard_normal((width, width + 1)) / np.sqrt(width) for _ in range(L - 2)]
    ws += [rng.standard_normal((k, width + 1)) / np.sqrt(width)]
    return Network(ws, act, beta)


@pytest.mark.parametrize("L", [2, 3])
@pytest.mark.parametrize("beta", [0.0, 1.0])
@pytest.mark.parametrize("act", ["relu", "leaky_relu:0.1"])
def test_compress_random_network(L, beta, act):
    rng = np.random.default_rng(10 * L + int(beta))
    N, n0, k = 8, 3, 2
    net = _random_net(rng, L, 500, n0, k, act, beta)
    X = rng.standard_normal((N, n0))
    res = compress(net, X)
    new = res.network
    assert res.success
    assert all(w <= N * (N + 1) for w in new.widths[1:-1])
    assert new.widths[0] == n0 and new.widths[-1] == k
    # outputs and covariances recomputed from the compressed network
    assert _rel(new.forward(X), net.forward(X)) < 1e-8
    sig = net.activation
    for Z_old, Z_new in zip(net.preactivations(X)[:-1], new.preactivations(X)[:-1]):
        assert _rel(Z_new @ Z_new.T, Z_old @ Z_old.T) < 1e-8
        assert _rel(sig(Z_new) @ sig(Z_new).T, sig(Z_old) @ sig(Z_old).T) < 1e-8
    # weight norm (hence the loss for any Y, λ) is not higher
    assert new.squared_norm() <= net.squared_norm() * (1 + 1e-12)
    assert res.norm_after == pytest.approx(new.squared_norm())
    Y = rng.standard_normal((N, k))
    assert new.loss(X, Y, lam=0.1) <= net.loss(X, Y, lam=0.1) + 1e-9
    # the min-norm norm is the covariance expression Σ Tr[K_ℓ (K_{ℓ-1}^σ)^+]
    Zs = [X.T] + [Z.T for Z in net.preactivations(X)]
    total = 0.0
    for ell in range(1, L + 1):
        prev = Zs[0] if ell == 1 else sig(Zs[ell - 1])
        P = np.vstack([prev, beta * np.ones((1, N))])
        total += np.trace(Zs[ell].T @ Zs[ell] @ np.linalg.pinv(P.T @ P))
    assert new.squared_norm() == pytest.approx(total, rel=1e-6)


def test_compress_depth_one_is_unchanged():
    rng = np.random.default_rng(3)
    net = Network([rng.standard_normal((2, 4))], "relu", 1.0)
    X = rng.standard_normal((5, 3))
    res = compress(net, X)
    assert res.widths_after == net.widths and res.output_error < 1e-14


def test_compress_reports_failure_when_not_strict():
    rng = np.random.default_rng(4)
    net = _random_net(rng, 2, 50, 2, 1, "relu", 1.0)
    X = rng.standard_normal((6, 2))
    # a tolerance no computation can meet: the check must fail, not pass silently
    with pytest.raises(CompressionError, match="layer 1"):
        compress(net, X, rtol=0.0)
    res = compress(net, X, rtol=0.0, strict=False)
    assert not res.success and "layer 1" in res.message


# ---------------------------------------------------------------------------------------------
# cp_factor
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, r", [(6, 4), (10, 12)])
def test_cp_factor_random_cp(n, r):
    rng = np.random.default_rng(n)
    B = rng.random((n, r))
    G = B @ B.T
    res = cp_factor(G, rng=0)
    assert res.success
    assert np.all(res.W >= 0)
    assert res.residual < 1e-8
    assert res.residual == pytest.approx(np.linalg.norm(G - res.W @ res.W.T) / np.linalg.norm(G), abs=1e-15)


def test_cp_factor_tight_example():
    N = 4  # Y_N of docs/design.md §6: CP with cp-rank N²/4
    h = N // 2
    Y = np.block([[h * np.eye(h), np.ones((h, h))], [np.ones((h, h)), h * np.eye(h)]])
    res = cp_factor(Y, rng=0)
    assert res.success and res.residual < 1e-8


def test_cp_factor_lifted_neurons():
    # The heuristic does not succeed on every lifted matrix (their exact zeros G_{i,N+i} = 0 are
    # hard for rotations); this instance is one it solves, and then the neurons must be right.
    rng = np.random.default_rng(7)
    N = 4
    Z = rng.standard_normal((6, N))
    W = np.hstack([np.maximum(Z, 0), np.maximum(-Z, 0)]).T  # columns [u; v], u∘v = 0
    G = W @ W.T
    res = cp_factor(G, rng=0)
    assert res.success
    Zr = res.Z
    assert Zr.shape[1] == N
    K, Ks = _pair(Z, relu)
    K2, Ks2 = _pair(Zr, relu)
    assert _rel(K2, K) < 1e-6 and _rel(Ks2, Ks) < 1e-6
    np.testing.assert_allclose(lifted_neurons(W), Z)


def test_cp_factor_dnn_not_cp():
    # DNN but not CP: its graph is the triangle-free 5-cycle and its comparison matrix
    # (off-diagonals negated) is not PSD (Drew–Johnson–Loewy / Berman–Shaked-Monderer).
    A = np.array(
        [[1, 1, 0, 0, 1], [1, 2, 1, 0, 0], [0, 1, 2, 1, 0], [0, 0, 1, 2, 1], [1, 0, 0, 1, 6]], dtype=float
    )
    assert np.linalg.eigvalsh(A)[0] > 0 and A.min() >= 0
    M = -A.copy()
    np.fill_diagonal(M, np.diag(A))
    assert np.linalg.eigvalsh(M)[0] < 0
    res = cp_factor(A, rng=0, max_time=3.0)
    assert not res.success
    assert "no nonnegative factor" in res.message
    assert res.residual > 1e-8
    assert res.residual == pytest.approx(np.linalg.norm(A - res.W @ res.W.T) / np.linalg.norm(A), rel=1e-12)


def test_cp_factor_rejects_non_dnn():
    res = cp_factor(np.array([[1.0, -0.5], [-0.5, 1.0]]))
    assert not res.success and "not doubly nonnegative" in res.message


# ---------------------------------------------------------------------------------------------
# rank_bounds
# ---------------------------------------------------------------------------------------------
def _incidence(n_vertices, edges):
    E = np.zeros((len(edges), n_vertices))
    for r, (i, j) in enumerate(edges):
        E[r, i] = E[r, j] = 1.0
    return E


GRAPHS = {
    "K33": (6, [(i, 3 + j) for i in range(3) for j in range(3)]),
    "C5": (5, [(i, (i + 1) % 5) for i in range(5)]),
    "P6": (6, [(i, i + 1) for i in range(5)]),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_rank_bounds_triangle_free(name):
    n, edges = GRAPHS[name]
    E = _incidence(n, edges)
    Y = E.T @ E
    rb = rank_bounds(Y, Y, activation="relu")
    assert rb.lower == len(edges)
    assert rb.upper is None and "no decomposition" in rb.upper_reason
    assert "clique-cover" in rb.lower_reason
    rb2 = rank_bounds(Y, Y, activation="relu", Z=E)
    assert rb2.lower == rb2.upper == len(edges)


def test_rank_bounds_tight_example_with_bias():
    N, beta = 8, 0.5
    h = N // 2
    E = _incidence(N, [(i, h + j) for i in range(h) for j in range(h)])
    Y = E.T @ E
    rb = rank_bounds(Y, Y + beta**2, activation=relu, beta=beta, Z=E)
    assert rb.lower == rb.upper == N * N // 4


def test_rank_bounds_isolated_vertices():
    K = np.diag([1.0, 2.0, 0.0, 3.0])
    rb = rank_bounds(K, K, activation="relu")
    assert rb.lower == 3


def test_rank_bounds_rejects_wrong_decomposition():
    K = np.eye(3)
    with pytest.raises(ValueError, match="do not reproduce"):
        rank_bounds(K, K, activation="relu", Z=np.ones((2, 3)))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), N=st.integers(2, 7), m=st.integers(1, 20), p=st.floats(0.2, 0.9))
def test_rank_bounds_lower_le_upper_random_cp(seed, N, m, p):
    rng = np.random.default_rng(seed)
    B = rng.random((m, N)) * (rng.random((m, N)) < p)  # sparse nonnegative neurons
    K = B.T @ B  # ReLU with z ≥ 0: K = K^σ
    rb = rank_bounds(K, K, activation="relu", Z=B)
    assert rb.upper is not None
    assert rb.lower <= rb.upper <= m

r"""Tests for covcone.reformulations: L^r and L^k against the parameter loss (paper §3.1,
Prop. 5), range conditions, and the attraction/repulsion forces by finite differences."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from covcone.activations import get_activation
from covcone.network import Network
from covcone.reformulations import (
    Covariances,
    RangeConditionError,
    covariance_loss,
    covariances,
    forces,
    min_norm_weights,
    representation_loss,
)

HOMOGENEOUS = ["relu", "leaky_relu:0.1", "absolute", "linear", (2.0, -0.5)]
N, D = 7, 3


def random_network(rng, depth, activation, beta, *, n_out=2, d=D):
    widths = [d] + [int(rng.integers(3, 9)) for _ in range(depth - 1)] + [n_out]
    weights = [rng.standard_normal((widths[i + 1], widths[i] + 1)) for i in range(depth)]
    return Network(weights, activation, beta)


def targets(rng, cost, Yhat):
    if cost == "mse":
        return rng.standard_normal(Yhat.shape)
    if cost == "cross_entropy":
        return rng.integers(0, Yhat.shape[1], size=Yhat.shape[0])
    return Yhat.copy()  # interpolate: Y = outputs


def rel(a, b):
    return abs(a - b) / max(1.0, abs(b))


@pytest.mark.parametrize("cost", ["mse", "cross_entropy", "interpolate"])
@pytest.mark.parametrize("beta", [0.0, 1.0])
@pytest.mark.parametrize("activation", HOMOGENEOUS)
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_three_losses_agree_at_min_norm_weights(depth, activation, beta, cost):
    rng = np.random.default_rng([depth, beta == 1.0, len(str(activation)), len(cost)])
    net = random_network(rng, depth, activation, beta, n_out=3)
    X = rng.standard_normal((N, D))
    Y = targets(rng, cost, net(X))
    lam = None if cost == "interpolate" else 0.05
    Zs = net.preactivations(X)

    # refit: the min-norm weights reproduce the representations
    refit = Network(min_norm_weights(Zs, X, activation=activation, beta=beta), activation, beta)
    for Z, Z2 in zip(Zs, refit.preactivations(X)):
        np.testing.assert_allclose(Z2, Z, rtol=0, atol=1e-9 * max(1.0, np.abs(Z).max()))
    assert refit.squared_norm() <= net.squared_norm() * (1 + 1e-12)

    L_param = refit.loss(X, Y, lam=lam, cost=cost)
    L_r = representation_loss(Zs, X, Y, activation=activation, beta=beta, lam=lam, cost=cost)
    L_k = covariance_loss(covariances(refit, X), Y, lam=lam, cost=cost)
    L_k_orig = covariance_loss(covariances(net, X), Y, lam=lam, cost=cost)
    assert np.isfinite(L_r)
    assert rel(L_param, L_r) < 1e-9
    assert rel(L_k, L_r) < 1e-9
    assert rel(L_k_orig, L_r) < 1e-9
    # the original (non-min-norm) weights pay more
    L_orig = net.loss(X, Y, lam=lam, cost=cost)
    assert L_orig >= L_r - 1e-12 * abs(L_r)
    if beta == 0.0:  # the inert bias columns of random weights cost without acting
        assert L_orig > L_r * (1 + 1e-6)


def test_parameter_loss_strictly_above_when_weights_have_a_null_direction():
    # a hidden layer wider than N: W_2 has a component in the kernel of Z_1^σ
    rng = np.random.default_rng(8)
    weights = [rng.standard_normal((N + 3, D + 1)), rng.standard_normal((2, N + 4))]
    net = Network(weights, "relu", 1.0)
    X = rng.standard_normal((N, D))
    Y = rng.standard_normal((N, 2))
    L_r = representation_loss(net.preactivations(X), X, Y, activation="relu", beta=1.0, lam=0.1)
    assert net.loss(X, Y, lam=0.1) > L_r * (1 + 1e-3)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    depth=st.integers(2, 4),
    act=st.sampled_from(HOMOGENEOUS),
    beta=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_parameter_loss_dominates_reformulations(seed, depth, act, beta):
    rng = np.random.default_rng(seed)
    net = random_network(rng, depth, act, beta)
    X = rng.standard_normal((N, D))
    Y = rng.standard_normal((N, 2))
    L_r = representation_loss(net.preactivations(X), X, Y, activation=act, beta=beta, lam=0.1)
    cov = covariances(net, X)
    L_k = covariance_loss(cov, Y, lam=0.1)
    assert net.loss(X, Y, lam=0.1) >= L_r * (1 - 1e-12)
    # L^k works with Gram matrices: a term Tr[K (K^σ)^+] moves by ≈ eps·‖K‖·‖K^σ‖/λ_min(K^σ)², the
    # square of K^σ's condition number (depth 4, leaky ReLU, β = 0 drew λ_min/λ_max = 1.2e-8 and
    # a 1.3 % difference); L^r works with the factors.  Compare where the Grams resolve 1e-7.
    for Ksig in cov.K_sigmas:
        w = np.linalg.eigvalsh(Ksig)
        w_min = w[w > 10 * N * np.finfo(float).eps * w[-1]].min()
        assume(w_min / w[-1] > 1e-4)
    assert rel(L_k, L_r) < 1e-7


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_representation_loss_smooth_activations(activation, beta):
    rng = np.random.default_rng(3)
    net = random_network(rng, 3, activation, beta)
    X = rng.standard_normal((N, D))
    Y = rng.standard_normal((N, 2))
    Zs = net.preactivations(X)
    refit = Network(min_norm_weights(Zs, X, activation=activation, beta=beta), activation, beta)
    L_r = representation_loss(Zs, X, Y, activation=activation, beta=beta, lam=0.2)
    assert rel(refit.loss(X, Y, lam=0.2), L_r) < 1e-9
    assert net.loss(X, Y, lam=0.2) > L_r


def test_linear_depth2_closed_form():
    # depth 1 map Z = X W_1ᵀ at min norm: ‖Z_1 X^+‖² is a closed form
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    Z1 = X @ rng.standard_normal((D, 4))
    Y = rng.standard_normal((N, 2))
    Z2 = Z1 @ rng.standard_normal((4, 2))
    L_r = representation_loss([Z1, Z2], X, Y, activation="linear", beta=0.0, lam=1.0)
    expected = np.sum((Z2 - Y) ** 2) / N + np.sum((np.linalg.pinv(X) @ Z1) ** 2) + np.sum((np.linalg.pinv(Z1) @ Z2) ** 2)
    assert rel(L_r, expected) < 1e-10


# -- range conditions -------------------------------------------------------------------------
def test_range_violation_is_reported_for_representations():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((N, D))  # rank 3 < N: most Z_1 are out of range
    Zs = [rng.standard_normal((N, 4)), rng.standard_normal((N, 2))]
    Y = rng.standard_normal((N, 2))
    with pytest.raises(RangeConditionError, match="layer 1") as info:
        representation_loss(Zs, X, Y, activation="relu", beta=0.0, lam=0.1)
    assert info.value.layer == 1 and info.value.violation > 0.1
    assert isinstance(info.value, ValueError)
    with pytest.raises(RangeConditionError, match="layer 1"):
        min_norm_weights(Zs, X, activation="relu", beta=0.0)
    # opt-out returns the (meaningless) pseudo-inverse number
    assert np.isfinite(representation_loss(Zs, X, Y, activation="relu", beta=0.0, lam=0.1, check_range=False))


def test_range_violation_at_the_output_layer():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((N, D))
    Z1 = X @ rng.standard_normal((D, 2))  # width 2, β = 0: Z_1^σ has rank ≤ 2 < N
    Z2 = rng.standard_normal((N, 1))
    with pytest.raises(RangeConditionError, match="layer 2"):
        representation_loss([Z1, Z2], X, Z2, activation="absolute", beta=0.0, cost="interpolate")
    with pytest.raises(RangeConditionError, match="layer 2"):
        forces([Z1, Z2], X, activation="absolute", beta=0.0)


def test_range_violation_is_reported_for_covariances():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((N, D))
    G = rng.standard_normal((N, N))
    K1 = G @ G.T  # full rank, not in Im XXᵀ
    cov = Covariances(X @ X.T, ((K1, K1),), rng.standard_normal((N, 1)))
    with pytest.raises(RangeConditionError, match="layer 1") as info:
        covariance_loss(cov, np.zeros((N, 1)), lam=1.0)
    assert "K_1" in str(info.value)
    # with a bias β the input covariance gains the direction 1 only
    K1 = np.outer(X[:, 0], X[:, 0]) + np.ones((N, N))
    ok = Covariances(X @ X.T + np.ones((N, N)), ((K1, K1),), np.ones((N, 1)))
    assert np.isfinite(covariance_loss(ok, np.ones((N, 1)), lam=1.0))
    bad = Covariances(X @ X.T, ((K1, K1),), np.ones((N, 1)))
    with pytest.raises(RangeConditionError):
        covariance_loss(bad, np.ones((N, 1)), lam=1.0)


# -- interpolation and argument checks ----------------------------------------------------------
def test_interpolate_requires_exact_fit_and_no_lam():
    rng = np.random.default_rng(4)
    net = random_network(rng, 3, "relu", 1.0)
    X = rng.standard_normal((N, D))
    Zs = net.preactivations(X)
    Y_other = Zs[-1] + 1.0
    assert representation_loss(Zs, X, Y_other, activation="relu", beta=1.0, cost="interpolate") == np.inf
    assert covariance_loss(covariances(net, X), Y_other, cost="interpolate") == np.inf
    with pytest.raises(ValueError, match="lam"):
        representation_loss(Zs, X, Zs[-1], activation="relu", beta=1.0, lam=0.1, cost="interpolate")
    with pytest.raises(ValueError, match="lam"):
        covariance_loss(covariances(net, X), Zs[-1], lam=0.1, cost="interpolate")
    with pytest.raises(ValueError, match="lam"):
        representation_loss(Zs, X, Zs[-1], activation="relu", beta=1.0, cost="mse")
    with pytest.raises(ValueError, match="lam"):
        covariance_loss(covariances(net, X), Zs[-1], lam=-1.0)


def test_bad_arguments_name_themselves():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((N, D))
    Z = X @ rng.standard_normal((D, 2))
    with pytest.raises(ValueError, match=r"Zs\[1\]"):
        min_norm_weights([Z, np.ones((N + 1, 1))], X, activation="relu", beta=0.0)
    with pytest.raises(ValueError, match="Zs"):
        min_norm_weights([], X, activation="relu", beta=0.0)
    with pytest.raises(ValueError, match="X"):
        min_norm_weights([Z], np.full((N, D), np.nan), activation="relu", beta=0.0)
    with pytest.raises(ValueError, match="beta"):
        min_norm_weights([Z], X, activation="relu", beta=-1.0)
    with pytest.raises(ValueError, match="activation"):
        min_norm_weights([Z], X, activation="swish", beta=0.0)
    with pytest.raises(ValueError, match="cost"):
        representation_loss([Z], X, Z, activation="relu", beta=0.0, lam=1.0, cost="hinge")
    with pytest.raises(ValueError, match="Y"):
        representation_loss([Z], X, np.ones((N, 5)), activation="relu", beta=0.0, lam=1.0)


def test_covariances_need_homogeneous_activation():
    rng = np.random.default_rng(6)
    net = random_network(rng, 2, "tanh", 0.0)
    with pytest.raises(ValueError, match="activation") as info:
        covariances(net, rng.standard_normal((N, D)))
    assert "homogeneous" in str(info.value)


def test_covariances_object():
    rng = np.random.default_rng(7)
    net = random_network(rng, 3, "relu", 0.5)
    X = rng.standard_normal((N, D))
    cov = covariances(net, X)
    Zs = net.preactivations(X)
    assert cov.depth == 3 and cov.N == N
    np.testing.assert_allclose(cov.K0_sigma, X @ X.T + 0.25)
    np.testing.assert_allclose(cov.pairs[1][0], Zs[1] @ Zs[1].T)
    S = np.maximum(Zs[1], 0)
    np.testing.assert_allclose(cov.pairs[1][1], S @ S.T + 0.25)
    np.testing.assert_allclose(cov.Ks[-1], Zs[-1] @ Zs[-1].T)
    assert len(cov.Ks) == len(cov.K_sigmas) == 3
    for K in cov.Ks + cov.K_sigmas:
        assert np.linalg.eigvalsh(K).min() > -1e-10 * max(1.0, np.abs(K).max())
    same = Covariances.from_representations(Zs, X, activation="relu", beta=0.5)
    for A, B in zip(same.Ks + same.K_sigmas, cov.Ks + cov.K_sigmas):
        np.testing.assert_array_equal(A, B)
    with pytest.raises(ValueError, match="activation"):
        Covariances.from_representations(Zs, X, activation="sigmoid", beta=0.5)
    with pytest.raises(ValueError):
        cov.K0_sigma[0, 0] = 1.0  # read-only
    with pytest.raises(ValueError, match="K0_sigma"):
        Covariances(np.ones((N, N + 1)), (), np.ones((N, 1)))
    with pytest.raises(ValueError, match=r"pairs\[0\]"):
        Covariances(np.eye(N), ((np.eye(N), np.triu(np.ones((N, N)))),), np.ones((N, 1)))
    with pytest.raises(ValueError, match="Z_L"):
        Covariances(np.eye(N), (), np.ones((N + 1, 1)))
    with pytest.raises(ValueError, match="cov"):
        covariance_loss({"K": 1}, np.ones((N, 1)), lam=1.0)


# -- forces --------------------------------------------------------------------------------------
def _norm_term(Zs, X, act, beta, ell):
    """‖Z_ℓ (Z_{ℓ-1}^σ)^+‖² through an independent pinv."""
    act = get_activation(act)
    prev = X if ell == 1 else act(Zs[ell - 2])
    B = np.hstack([prev, np.full((X.shape[0], 1), beta)])
    return float(np.sum((np.linalg.pinv(B) @ Zs[ell - 1]) ** 2))


def _check_forces_fd(Zs, X, act, beta, directions):
    h = 1e-6
    F = forces(Zs, X, activation=act, beta=beta)
    assert len(F) == len(Zs) - 1
    for ell, (att, rep) in enumerate(F, start=1):
        assert att.shape == rep.shape == Zs[ell - 1].shape
        D = directions(ell)

        def shifted(t):
            out = [Z.copy() for Z in Zs]
            out[ell - 1] = out[ell - 1] + t * D
            return out

        for term, force in ((ell, att), (ell + 1, rep)):
            fd = (_norm_term(shifted(h), X, act, beta, term) - _norm_term(shifted(-h), X, act, beta, term)) / (2 * h)
            assert abs(fd - np.sum(force * D)) <= 1e-5 * max(1.0, abs(fd)), (ell, term, fd, np.sum(force * D))


@pytest.mark.parametrize("beta", [0.0, 1.0])
@pytest.mark.parametrize("activation", HOMOGENEOUS + ["sigmoid", "tanh"])
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_forces_by_finite_differences_along_reachable_directions(depth, activation, beta):
    """Directions D = Z_{ℓ-1}^σ E (moves of W_ℓ): the representations stay reachable, the rank of
    Z_ℓ^σ is locally constant, and the closed forms are the true derivatives (σ' a.e. for ReLU)."""
    rng = np.random.default_rng([depth, int(beta), len(str(activation))])
    net = random_network(rng, depth, activation, beta)
    X = rng.standard_normal((N, D))
    Zs = net.preactivations(X)
    act = get_activation(activation)
    Bs = [np.hstack([X, np.full((N, 1), beta)])] + [np.hstack([act(Z), np.full((N, 1), beta)]) for Z in Zs[:-1]]
    _check_forces_fd(Zs, X, activation, beta, lambda ell: Bs[ell - 1] @ rng.standard_normal((Bs[ell - 1].shape[1], Zs[ell - 1].shape[1])))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "absolute"])
def test_forces_by_finite_differences_any_direction_full_rank(activation):
    """Wide hidden layers (n_ℓ + 1 ≥ N, full-rank Z^σ): every direction is admissible."""
    rng = np.random.default_rng(11)
    widths = [N, N + 2, N + 1, 2]  # d = N: Z_0^σ has full rank too
    weights = [rng.standard_normal((widths[i + 1], widths[i] + 1)) for i in range(3)]
    net = Network(weights, activation, 1.0)
    X = rng.standard_normal((N, N))
    Zs = net.preactivations(X)
    _check_forces_fd(Zs, X, activation, 1.0, lambda ell: rng.standard_normal(Zs[ell - 1].shape))


def test_forces_closed_form_attraction():
    rng = np.random.default_rng(12)
    net = random_network(rng, 2, "relu", 1.0)
    X = rng.standard_normal((N, D))
    Zs = net.preactivations(X)
    (att, rep), = forces(Zs, X, activation="relu", beta=1.0)
    K0 = X @ X.T + 1.0
    np.testing.assert_allclose(att, 2 * np.linalg.pinv(K0, hermitian=True) @ Zs[0], atol=1e-9)
    # at the min-norm point the gradient of the regulariser is λ(att + rep): first-order check
    W2 = min_norm_weights(Zs, X, activation="relu", beta=1.0)[1]
    S1 = np.hstack([np.maximum(Zs[0], 0), np.ones((N, 1))])
    expected = -2 * (Zs[0] >= 0) * (np.linalg.pinv(S1 @ S1.T, hermitian=True) @ Zs[1] @ W2[:, :-1])
    np.testing.assert_allclose(rep, expected, atol=1e-8)

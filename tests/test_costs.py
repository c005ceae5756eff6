r"""Tests for covcone.costs: values against direct formulas, gradients by finite differences,
and the conjugates used by the dual bounds (docs/design.md §3.4): Fenchel–Young equality at Θ = −∇C and
the conjugate computed by numerical maximisation."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from covcone.costs import check_cost, cost_gradient, cost_value, dual_value, one_hot

N, K = 5, 3


def _data(seed, cost):
    rng = np.random.default_rng(seed)
    Yhat = rng.standard_normal((N, K))
    if cost == "cross_entropy":
        return Yhat, rng.integers(0, K, size=N)
    return Yhat, rng.standard_normal((N, K))


def test_mse_value_direct():
    Yhat, Y = _data(0, "mse")
    direct = sum((Yhat[i, c] - Y[i, c]) ** 2 for i in range(N) for c in range(K)) / N
    assert cost_value(Yhat, Y, "mse") == pytest.approx(direct, rel=1e-14)


def test_cross_entropy_value_direct():
    Yhat, labels = _data(1, "cross_entropy")
    direct = 0.0
    for i in range(N):
        p = np.exp(Yhat[i]) / np.sum(np.exp(Yhat[i]))
        direct -= np.log(p[labels[i]])
    direct /= N
    assert cost_value(Yhat, labels, "cross_entropy") == pytest.approx(direct, rel=1e-13)
    assert cost_value(Yhat, one_hot(labels, K), "cross_entropy") == pytest.approx(direct, rel=1e-13)


def test_cross_entropy_is_stable_for_large_logits():
    Yhat = np.array([[1000.0, 0.0, -1000.0]])
    assert cost_value(Yhat, np.array([0]), "cross_entropy") == pytest.approx(0.0, abs=1e-12)
    assert cost_value(Yhat, np.array([1]), "cross_entropy") == pytest.approx(1000.0)


def test_interpolate_value():
    _, Y = _data(2, "mse")
    assert cost_value(Y, Y, "interpolate") == 0.0
    assert cost_value(Y + 1e-3, Y, "interpolate") == np.inf


def test_one_hot():
    np.testing.assert_array_equal(one_hot([0, 2, 1]), np.eye(3)[[0, 2, 1]])
    assert one_hot([0, 1], 4).shape == (2, 4)


def test_unknown_cost():
    with pytest.raises(ValueError, match="cost"):
        check_cost("hinge")
    with pytest.raises(ValueError, match="cost"):
        cost_value(np.zeros((2, 2)), np.zeros((2, 2)), "hinge")
    with pytest.raises(ValueError):
        cost_gradient(np.zeros((2, 2)), np.zeros((2, 2)), "interpolate")


@pytest.mark.parametrize("cost", ["mse", "cross_entropy"])
@pytest.mark.parametrize("seed", range(3))
def test_gradient_by_finite_differences(cost, seed):
    Yhat, Y = _data(seed, cost)
    G = cost_gradient(Yhat, Y, cost)
    h = 1e-6
    fd = np.zeros_like(Yhat)
    for idx in np.ndindex(*Yhat.shape):
        E = np.zeros_like(Yhat)
        E[idx] = h
        fd[idx] = (cost_value(Yhat + E, Y, cost) - cost_value(Yhat - E, Y, cost)) / (2 * h)
    np.testing.assert_allclose(G, fd, rtol=1e-6, atol=1e-9)


def _conjugate_numerically(G, Y, cost):
    """C*(G) = sup_Ŷ ⟨G, Ŷ⟩ − C(Ŷ), by BFGS on the smooth concave objective."""
    f = lambda v: -(np.sum(G * v.reshape(N, K)) - cost_value(v.reshape(N, K), Y, cost))
    g = lambda v: -(G - cost_gradient(v.reshape(N, K), Y, cost)).ravel()
    res = minimize(f, np.zeros(N * K), jac=g, method="BFGS", options={"gtol": 1e-12, "maxiter": 10_000})
    return -res.fun


@pytest.mark.parametrize("cost", ["mse", "cross_entropy"])
@pytest.mark.parametrize("seed", range(3))
def test_dual_value_is_the_conjugate_at_minus_gradient(cost, seed):
    Yhat, Y = _data(seed, cost)
    Theta = -cost_gradient(Yhat, Y, cost)
    dv = dual_value(Theta, Y, cost)
    # Fenchel–Young equality: −C*(−Θ) = C(Ŷ) + ⟨Θ, Ŷ⟩ when Θ = −∇C(Ŷ)
    assert dv == pytest.approx(cost_value(Yhat, Y, cost) + np.sum(Theta * Yhat), rel=1e-12, abs=1e-12)
    # and dual_value is −C*(−Θ) with C* computed independently
    assert dv == pytest.approx(-_conjugate_numerically(-Theta, Y, cost), rel=1e-6, abs=1e-8)


def test_interpolate_dual_value():
    _, Y = _data(4, "mse")
    Theta = np.random.default_rng(4).standard_normal(Y.shape)
    assert dual_value(Theta, Y, "interpolate") == pytest.approx(np.sum(Theta * Y))


def test_cross_entropy_dual_outside_domain():
    labels = np.array([0, 1, 2, 0, 1])
    Theta = np.full((N, K), 1.0)  # e_y − NΘ leaves the simplex
    assert dual_value(Theta, labels, "cross_entropy") == -np.inf


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cost=st.sampled_from(["mse", "cross_entropy"]), scale=st.floats(0.01, 3.0))
def test_fenchel_young_inequality(seed, cost, scale):
    """Weak duality for every Θ in the domain: −C*(−Θ) ≤ C(Ŷ) + ⟨Θ, Ŷ⟩."""
    rng = np.random.default_rng(seed)
    Yhat, Y = _data(seed, cost)
    if cost == "mse":
        Theta = scale * rng.standard_normal((N, K))
    else:
        Q = rng.dirichlet(np.ones(K), size=N)  # q_i on the simplex ⇒ Θ = (e_y − Q)/N in the domain
        Theta = (one_hot(Y, K) - Q) / N
    dv = dual_value(Theta, Y, cost)
    assert np.isfinite(dv)
    assert dv <= cost_value(Yhat * scale, Y, cost) + np.sum(Theta * Yhat * scale) + 1e-12

r"""Tests for covcone.problem.Problem: validation once at the boundary, derived A and K_0^σ."""
import dataclasses

import numpy as np
import pytest

from covcone.network import Network
from covcone.problem import Problem

N, D = 6, 2


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((N, D)), rng.standard_normal((N, 3))


def test_basic_attributes(data):
    X, Y = data
    p = Problem(X, Y, depth=3, activation="leaky_relu:0.2", lam=0.1, beta=0.5)
    assert (p.N, p.d, p.k, p.depth, p.lam, p.beta, p.cost) == (N, D, 3, 3, 0.1, 0.5, "mse")
    assert (p.activation.a, p.activation.b) == (1.0, 0.2)
    assert p.labels is None
    np.testing.assert_array_equal(p.X, X)
    assert p.A.shape == (D + 1, N)
    np.testing.assert_allclose(p.A[-1], 0.5)
    np.testing.assert_allclose(p.K0_sigma, X @ X.T + 0.25)
    np.testing.assert_allclose(p.K0_sigma, p.A.T @ p.A)
    assert "N=6" in repr(p) and "depth=3" in repr(p)


def test_A_without_beta_row(data):
    X, Y = data
    p = Problem(X, Y, lam=1.0, beta=0.0)  # β = 0 (the default is β = 1)
    np.testing.assert_array_equal(p.A, X.T)
    np.testing.assert_allclose(p.K0_sigma, X @ X.T)


def test_immutable_and_copied(data):
    X, Y = data
    p = Problem(X, Y, lam=1.0)
    X[0, 0] = 100.0
    assert p.X[0, 0] != 100.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.lam = 2.0
    with pytest.raises(ValueError):
        p.Y[0, 0] = 1.0


def test_vector_targets_become_a_column(data):
    X, _ = data
    p = Problem(X, np.arange(N, dtype=float), lam=1.0)
    assert p.Y.shape == (N, 1) and p.k == 1


def test_cross_entropy_labels_to_one_hot(data):
    X, _ = data
    labels = np.array([0, 2, 1, 2, 0, 1])
    p = Problem(X, labels, cost="cross_entropy", lam=0.1)
    assert p.k == 3
    np.testing.assert_array_equal(p.labels, labels)
    np.testing.assert_array_equal(p.Y, np.eye(3)[labels])
    p5 = Problem(X, labels, cost="cross_entropy", lam=0.1, n_classes=5)
    assert p5.k == 5 and p5.Y.shape == (N, 5)
    p_onehot = Problem(X, np.eye(3)[labels], cost="cross_entropy", lam=0.1)
    np.testing.assert_array_equal(p_onehot.labels, labels)


def test_interpolate(data):
    X, Y = data
    p = Problem(X, Y, cost="interpolate")
    assert p.lam is None


def test_loss_of_a_network(data):
    X, Y = data
    rng = np.random.default_rng(1)
    net = Network([rng.standard_normal((4, D + 1)), rng.standard_normal((3, 5))], "relu", 1.0)
    p = Problem(X, Y, lam=0.3, beta=1.0)
    assert p.loss(net) == pytest.approx(net.loss(X, Y, lam=0.3))
    with pytest.raises(ValueError, match="beta"):
        Problem(X, Y, lam=0.3, beta=0.5).loss(net)
    with pytest.raises(ValueError, match="depth"):
        Problem(X, Y, lam=0.3, beta=1.0, depth=3).loss(net)
    with pytest.raises(ValueError, match="activation"):
        Problem(X, Y, lam=0.3, beta=1.0, activation="absolute").loss(net)


# -- every validation rule names its argument ---------------------------------------------------
X0 = np.random.default_rng(2).standard_normal((N, D))
Y0 = np.random.default_rng(3).standard_normal((N, 2))


@pytest.mark.parametrize(
    "kwargs, argname",
    [
        (dict(X=np.ones(N)), "X"),  # 1-D
        (dict(X=np.ones((N, D, 1))), "X"),  # 3-D
        (dict(X=np.zeros((0, D))), "X"),  # empty
        (dict(X=np.where(np.eye(N, D) > 0, np.nan, 1.0)), "X"),
        (dict(X=np.where(np.eye(N, D) > 0, np.inf, 1.0)), "X"),
        (dict(X="abc"), "X"),
        (dict(Y=np.ones((N + 1, 2))), "Y"),
        (dict(Y=np.full((N, 2), np.nan)), "Y"),
        (dict(Y=np.full((N, 2), -np.inf)), "Y"),
        (dict(Y=np.ones((N, 2, 2))), "Y"),
        (dict(lam=0.0), "lam"),
        (dict(lam=-1.0), "lam"),
        (dict(lam=None), "lam"),
        (dict(lam=np.inf), "lam"),
        (dict(lam="0.1"), "lam"),
        (dict(lam=True), "lam"),
        (dict(cost="interpolate", lam=0.1), "lam"),
        (dict(depth=1), "depth"),
        (dict(depth=0), "depth"),
        (dict(depth=2.5), "depth"),
        (dict(depth=True), "depth"),
        (dict(activation="tanh"), "activation"),
        (dict(activation="sigmoid"), "activation"),
        (dict(activation="swish"), "activation"),
        (dict(activation=(1.0, np.nan)), "activation"),
        (dict(beta=-0.1), "beta"),
        (dict(beta=np.nan), "beta"),
        (dict(beta="1"), "beta"),
        (dict(cost="hinge"), "cost"),
        (dict(cost="mse", n_classes=3), "n_classes"),
        (dict(cost="cross_entropy", Y=np.array([0, 1, 2, 0, 1, -1])), "Y"),
        (dict(cost="cross_entropy", Y=np.array([0, 1, 2, 0, 1, 1.5])), "Y"),
        (dict(cost="cross_entropy", Y=np.array(["a", "b", "c", "a", "b", "c"])), "Y"),
        (dict(cost="cross_entropy", Y=np.array([0, 1, 2])), "Y"),  # wrong length
        (dict(cost="cross_entropy", Y=np.array([0, 1, 2, 0, 1, 4]), n_classes=3), "Y"),
        (dict(cost="cross_entropy", Y=np.full((N, 2), 0.7)), "Y"),  # rows not on the simplex
        (dict(cost="cross_entropy", n_classes=0, Y=np.zeros(N, dtype=int)), "n_classes"),
    ],
)
def test_bad_inputs_name_the_argument(kwargs, argname):
    args = dict(X=X0, Y=Y0, lam=0.1)
    args.update(kwargs)
    X, Y = args.pop("X"), args.pop("Y")
    with pytest.raises(ValueError) as info:
        Problem(X, Y, **args)
    assert argname in str(info.value), str(info.value)


def test_bad_beta_message_says_expected_and_given():
    with pytest.raises(ValueError, match=r"beta: expected β ≥ 0, got -2"):
        Problem(X0, Y0, lam=0.1, beta=-2.0)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        Problem(X0, Y0, 2)  # depth positional

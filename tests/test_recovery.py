"""Tests of the exact-interpolation refit of covcone.shallow.recovery (docs/design.md §5)."""
import numpy as np
import pytest

from covcone.network import Network
from covcone.shallow.recovery import interpolate_exactly, interpolates_exactly, refit_within_faces
from covcone.tight import tight_example


def _edge_network(N, rng, jitter):
    """The optimal N²/4 edge network of the tight example (neuron e_i + e_j with output e_i + e_j,
    built independently of the solver), each neuron moved by ``jitter`` inside its face and its
    output weights by ``jitter``: a solver's accuracy away from the optimum."""
    h = N // 2
    W1, W2 = [], []
    for i in range(h):
        for j in range(h, N):
            w = np.zeros(N + 1)
            w[i], w[j] = 1.0, 1.0
            W1.append(w)
            W2.append(w[:N])
    W1, W2 = np.array(W1), np.array(W2).T  # f(x) = Σ_e (e_i + e_j) relu(x_i + x_j) on X = I: Y = EᵀE
    W1[:, :N] *= 1.0 + jitter * rng.standard_normal(W1[:, :N].shape) * (W1[:, :N] != 0)
    W2 = W2 + jitter * rng.standard_normal(W2.shape)
    t = np.sqrt(np.linalg.norm(W2, axis=0) / np.linalg.norm(W1, axis=1))  # balance
    return Network([W1 * t[:, None], np.hstack([W2 / t[None, :], np.zeros((N, 1))])], "relu", 0.0)


@pytest.mark.parametrize("N", [6, 10])
def test_refit_reaches_the_optimum_where_the_output_layer_alone_cannot(N):
    rng = np.random.default_rng(N)
    X, Y = tight_example(N)
    net = _edge_network(N, rng, 1e-7)
    assert not interpolates_exactly(X, Y, net)
    # the output weights alone: Ŷ = Y, but through the nearly dependent edge features
    from covcone.network import _with_bias
    from covcone.reformulations import min_norm_map

    H = _with_bias(net.activation(net.preactivations(X)[-2]), 0.0)
    out = Network([net.weights[0], net.weights[1] + min_norm_map(H, Y - net.forward(X))], "relu", 0.0)
    assert interpolates_exactly(X, Y, out)
    assert out.squared_norm() > N * N * (1 + 1e-6)
    ref = refit_within_faces(X, Y, net)
    assert ref is not None and interpolates_exactly(X, Y, ref)
    assert ref.squared_norm() == pytest.approx(N * N, rel=1e-10)
    assert ref.squared_norm() >= N * N * (1 - 1e-12)  # never below the optimum R(X_N, Y_N) = N²
    # the faces are kept: every neuron is still active on exactly its two samples
    Z = ref.preactivations(X)[0]
    assert np.array_equal(Z > 1e-12, net.preactivations(X)[0] > 1e-12)
    assert np.all(np.abs(Z[Z <= 1e-12]) == 0.0)
    # interpolate_exactly keeps the cheaper of the two corrections
    best = interpolate_exactly(X, Y, net)
    assert best.squared_norm() == pytest.approx(ref.squared_norm(), rel=1e-12)


def test_refit_is_exact_for_an_interpolating_optimum_of_a_random_instance():
    """Independent check: the refit of a certified optimum's network (solved by covcone, rank 3)
    interpolates and never costs less than the certified lower bound."""
    import covcone

    rng = np.random.default_rng(3)
    X = rng.standard_normal((12, 2))
    Y = rng.standard_normal((12, 1))
    res = covcone.solve(X, Y, cost="interpolate", beta=1.0)
    assert res.certified, res.message
    ref = refit_within_faces(X, Y, res.network)
    assert ref is not None and interpolates_exactly(X, Y, ref)
    assert ref.squared_norm() >= res.lower * (1 - 1e-9)
    assert ref.squared_norm() <= res.upper * (1 + 1e-9)


def test_refit_refuses_what_it_cannot_do():
    X, Y = tight_example(6)
    deep = Network([np.ones((3, 7)), np.ones((2, 4)), np.ones((6, 3))], "relu", 0.0)
    assert refit_within_faces(X, Y, deep) is None
    # features that cannot reach Y within their faces: no interpolating iterate
    one = Network([np.hstack([np.eye(6)[:1], np.zeros((1, 1))]), np.ones((6, 2))], "relu", 0.0)
    assert refit_within_faces(X, Y, one) is None

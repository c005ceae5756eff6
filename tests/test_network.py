r"""Tests for covcone.network.Network: forward pass and bias convention (docs/design.md §1), positive
homogeneity (paper §2), loss, save/load and torch round trips."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from covcone.activations import get_activation
from covcone.network import Network

HOMOGENEOUS = ["relu", "leaky_relu:0.1", "absolute", "linear", (2.0, -0.5)]
N, D = 6, 3


def random_weights(rng, widths):
    return [rng.standard_normal((widths[i + 1], widths[i] + 1)) for i in range(len(widths) - 1)]


def test_forward_matches_explicit_formula():
    rng = np.random.default_rng(0)
    W1, W2 = random_weights(rng, [D, 4, 2])
    X = rng.standard_normal((N, D))
    beta = 0.7
    H = np.maximum(X @ W1[:, :-1].T + beta * W1[:, -1], 0)
    expected = H @ W2[:, :-1].T + beta * W2[:, -1]
    net = Network([W1, W2], "relu", beta)
    np.testing.assert_allclose(net(X), expected, rtol=1e-14)
    Zs = net.preactivations(X)
    assert [Z.shape for Z in Zs] == [(N, 4), (N, 2)]
    assert net.depth == 2 and net.widths == (D, 4, 2) and net.n_params == W1.size + W2.size
    assert net.squared_norm() == pytest.approx(np.sum(W1**2) + np.sum(W2**2))


@pytest.mark.parametrize("activation", HOMOGENEOUS + ["tanh"])
def test_beta_zero_ignores_bias_columns(activation):
    rng = np.random.default_rng(1)
    ws = random_weights(rng, [D, 5, 4, 2])
    X = rng.standard_normal((N, D))
    out = Network(ws, activation, 0.0)(X)
    changed = [W.copy() for W in ws]
    for W in changed:
        W[:, -1] = rng.standard_normal(W.shape[0]) * 10
    np.testing.assert_array_equal(Network(changed, activation, 0.0)(X), out)
    # with β > 0 the same change does matter
    assert not np.allclose(Network(changed, activation, 1.0)(X), Network(ws, activation, 1.0)(X))


def test_beta_scales_the_bias_column():
    rng = np.random.default_rng(2)
    ws = random_weights(rng, [D, 4, 1])
    X = rng.standard_normal((N, D))
    halved = [np.hstack([W[:, :-1], 2 * W[:, -1:]]) for W in ws]
    np.testing.assert_allclose(Network(ws, "relu", 1.0)(X), Network(halved, "relu", 0.5)(X), rtol=1e-13)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    activation=st.sampled_from(HOMOGENEOUS),
    beta=st.sampled_from([0.0, 1.0]),
    layer=st.integers(0, 1),
    log_t=st.floats(-3, 3),
)
def test_rescaling_symmetry(seed, activation, beta, layer, log_t):
    """Scaling W_ℓ (bias column included) by t > 0 and W_{ℓ+1} except its bias column (which
    multiplies the unscaled β) by 1/t leaves the function unchanged (σ(tx) = tσ(x))."""
    t = float(np.exp(log_t))
    rng = np.random.default_rng(seed)
    ws = random_weights(rng, [D, 4, 3, 2])
    X = rng.standard_normal((N, D))
    scaled = [W.copy() for W in ws]
    scaled[layer] *= t
    scaled[layer + 1][:, :-1] /= t
    f = Network(ws, activation, beta)(X)
    g = Network(scaled, activation, beta)(X)
    np.testing.assert_allclose(g, f, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(f).max()))


def test_rescaling_changes_tanh_networks():
    rng = np.random.default_rng(3)
    ws = random_weights(rng, [D, 4, 2])
    X = rng.standard_normal((N, D))
    scaled = [2 * ws[0], ws[1].copy()]
    scaled[1][:, :-1] /= 2
    assert not np.allclose(Network(scaled, "tanh")(X), Network(ws, "tanh")(X))


def test_loss_values():
    rng = np.random.default_rng(4)
    net = Network(random_weights(rng, [D, 4, 3]), "absolute", 1.0)
    X = rng.standard_normal((N, D))
    Y = rng.standard_normal((N, 3))
    Yhat = net(X)
    reg = net.squared_norm()
    assert net.loss(X, Y, lam=0.2) == pytest.approx(np.sum((Yhat - Y) ** 2) / N + 0.2 * reg)
    labels = rng.integers(0, 3, N)
    ce = np.mean([np.log(np.sum(np.exp(Yhat[i]))) - Yhat[i, labels[i]] for i in range(N)])
    assert net.loss(X, labels, lam=0.2, cost="cross_entropy") == pytest.approx(ce + 0.2 * reg)
    assert net.loss(X, Yhat, cost="interpolate") == pytest.approx(reg)
    assert net.loss(X, Yhat + 1, cost="interpolate") == np.inf


def test_network_validation_names_arguments():
    rng = np.random.default_rng(5)
    W1, W2 = random_weights(rng, [D, 4, 2])
    with pytest.raises(ValueError, match="weights"):
        Network([])
    with pytest.raises(ValueError, match=r"weights\[1\]"):
        Network([W1, W2[:, 1:]])
    with pytest.raises(ValueError, match=r"weights\[0\]"):
        Network([np.full_like(W1, np.nan), W2])
    with pytest.raises(ValueError, match="beta"):
        Network([W1, W2], beta=-1)
    with pytest.raises(ValueError, match="activation"):
        Network([W1, W2], activation="swish")
    net = Network([W1, W2])
    with pytest.raises(ValueError, match="X"):
        net(np.ones((N, D + 1)))
    with pytest.raises(ValueError, match="X"):
        net(np.full((N, D), np.inf))
    X = rng.standard_normal((N, D))
    with pytest.raises(ValueError, match="lam"):
        net.loss(X, np.zeros((N, 2)), lam=0.0)
    with pytest.raises(ValueError, match="lam"):
        net.loss(X, np.zeros((N, 2)))
    with pytest.raises(ValueError, match="lam"):
        net.loss(X, net(X), lam=0.1, cost="interpolate")
    with pytest.raises(ValueError, match="Y"):
        net.loss(X, np.zeros((N, 3)), lam=0.1)
    with pytest.raises(ValueError, match="Y"):
        net.loss(X, np.array([0, 1, 2, 0, 1, 0]), lam=0.1, cost="cross_entropy")  # label 2 ≥ k = 2
    with pytest.raises(ValueError, match="cost"):
        net.loss(X, np.zeros((N, 2)), lam=0.1, cost="l1")


@pytest.mark.parametrize("activation", HOMOGENEOUS + ["sigmoid", "tanh"])
def test_save_load_round_trip(tmp_path, activation):
    rng = np.random.default_rng(6)
    net = Network(random_weights(rng, [D, 5, 4, 2]), activation, 0.5)
    path = tmp_path / "net.npz"
    net.save(path)
    back = Network.load(path)
    assert back.beta == 0.5 and back.depth == 3
    act = get_activation(activation)
    assert (back.activation.a, back.activation.b) == (act.a, act.b)
    for W, W2 in zip(net.weights, back.weights):
        np.testing.assert_array_equal(W, W2)
    X = rng.standard_normal((N, D))
    np.testing.assert_array_equal(back(X), net(X))


@pytest.mark.torch
@pytest.mark.parametrize("beta", [0.0, 0.5])
@pytest.mark.parametrize("activation", HOMOGENEOUS)
def test_torch_round_trip(activation, beta):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    net = Network(random_weights(rng, [D, 5, 4, 2]), activation, beta)
    X = rng.standard_normal((N, D))
    module = net.to_torch()
    with torch.no_grad():
        out = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(out, net(X), rtol=1e-12, atol=1e-12)
    back = Network.from_torch(module, beta=beta)
    act = get_activation(activation)
    assert (back.activation.a, back.activation.b) == (act.a, act.b)
    np.testing.assert_allclose(back(X), net(X), rtol=1e-12, atol=1e-12)
    if beta > 0:
        for W, W2 in zip(net.weights, back.weights):
            np.testing.assert_allclose(W2, W, rtol=1e-14)


@pytest.mark.torch
def test_torch_smooth_activation_forward():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    net = Network(random_weights(rng, [D, 5, 2]), "tanh", 1.0)
    X = rng.standard_normal((N, D))
    with torch.no_grad():
        out = net.to_torch()(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(out, net(X), rtol=1e-12)


@pytest.mark.torch
def test_from_torch_rejects_non_sequential():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="module"):
        Network.from_torch(torch.nn.Linear(2, 2))

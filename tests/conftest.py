"""Shared fixtures: small seeded depth-2 instances every method can solve."""
import numpy as np
import pytest


def make_instance(seed: int, *, N=10, d=2, k=1, activation="relu", beta=1.0, lam=1e-2, cost="mse", scale=1.0):
    """A seeded depth-2 instance (samples as rows); input rank d + (β > 0)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, d))
    if cost == "cross_entropy":
        Y = rng.integers(0, max(k, 2), N)
    else:
        Y = scale * np.sin(X @ rng.standard_normal((d, k)) + 0.3)
    kw = dict(activation=activation, beta=beta, cost=cost)
    if cost != "interpolate":
        kw["lam"] = lam * (scale if cost == "mse" else 1.0)
    return X, Y, kw


CONTRACT_INSTANCES = [
    dict(seed=0, N=8, d=1, k=1, activation="relu"),
    dict(seed=1, N=9, d=2, k=1, activation="absolute", beta=0.0),
    dict(seed=2, N=8, d=2, k=2, activation="leaky_relu"),
    dict(seed=3, N=7, d=1, k=1, activation="relu", cost="interpolate"),
]


@pytest.fixture(params=range(len(CONTRACT_INSTANCES)), ids=lambda i: f"inst{i}")
def contract_instance(request):
    return make_instance(**CONTRACT_INSTANCES[request.param])


@pytest.fixture
def rng():
    return np.random.default_rng(12345)

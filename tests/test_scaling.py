"""Changes of units that are exact symmetries of the problem (β = 0) give the same certificate.

With β = 0 the network is 2-homogeneous in its parameters: Y·s with λ·s scales the optimum by s²,
and X·s with λ·s leaves it unchanged (docs/design.md §4).  covcone solves in internal units, so the
status, the relative gap and the network agree up to that scaling.
"""
import numpy as np
import pytest

import covcone

SCALES = [1e-6, 1e-3, 1.0, 1e3, 1e6]


@pytest.fixture(scope="module")
def base():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((14, 2))
    Y = np.column_stack([np.abs(X[:, 0]) - X[:, 1], np.maximum(X @ [1.0, 1.0], 0)])
    res = covcone.solve(X, Y, activation="relu", lam=1e-2, beta=0.0)
    assert res.certified, res.message
    return X, Y, res


@pytest.mark.parametrize("s", SCALES)
def test_output_scale(base, s):
    X, Y, ref = base
    res = covcone.solve(X, s * Y, activation="relu", lam=1e-2 * s, beta=0.0)
    assert res.status == ref.status == "certified", res.message
    assert res.upper == pytest.approx(s * s * ref.upper, rel=2e-6)
    assert res.gap <= res.tol
    np.testing.assert_allclose(res.predict(X), s * ref.predict(X), rtol=0, atol=1e-3 * s * np.abs(Y).max())


@pytest.mark.parametrize("s", SCALES)
def test_input_scale(base, s):
    X, Y, ref = base
    res = covcone.solve(s * X, Y, activation="relu", lam=1e-2 * s, beta=0.0)
    assert res.status == "certified", res.message
    assert res.upper == pytest.approx(ref.upper, rel=2e-6)
    np.testing.assert_allclose(res.predict(s * X), ref.predict(X), rtol=0, atol=1e-3 * np.abs(Y).max())

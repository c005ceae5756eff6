"""The certificate rule (one home: covcone.result) and the result object: repr, save/load, predict."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import covcone
from covcone.result import LowerBound, bounds_inconsistent, is_certified, relative_gap


def test_rule_is_relative_and_scale_free():
    # the same relative gap certifies at every scale of the loss
    for s in (1e-8, 1e-4, 1.0, 1e4, 1e8):
        assert is_certified(1.0 * s, (1 - 5e-7) * s, LowerBound.EXACT_ORACLE, 1e-6)
        assert not is_certified(1.0 * s, (1 - 5e-6) * s, LowerBound.EXACT_ORACLE, 1e-6)
    # the old absolute rule certified (upper − lower)/max(1, |upper|): 2e-4 apart at loss 1e-4 — not any more
    assert not is_certified(1e-4, 0.0, LowerBound.SPECTRAL, 1e-6)


def test_trivial_bound_never_certifies_a_positive_loss():
    assert not is_certified(1e-12, 0.0, LowerBound.TRIVIAL, 1e-6, atol=1.0)
    assert is_certified(0.0, 0.0, LowerBound.TRIVIAL, 1e-6)
    assert not is_certified(1.0, 1.0, LowerBound.NONE, 1e-6)
    assert not is_certified(1.0, 1.0, "heuristic", 1e-6)  # an unknown provenance proves nothing


def test_atol_is_explicit():
    assert not is_certified(1e-3, 0.999e-3 - 1e-9, LowerBound.EXACT_ORACLE, 1e-6)
    assert is_certified(1e-3, 0.999e-3, LowerBound.EXACT_ORACLE, 1e-6, atol=2e-6)


def test_inconsistent_bounds_never_certify():
    assert bounds_inconsistent(1.0, 1.1, 1e-6)
    assert not is_certified(1.0, 1.1, LowerBound.EXACT_ORACLE, 1e-6)


@given(st.floats(1e-12, 1e12), st.floats(0, 1), st.floats(1e-9, 1e-2))
@settings(max_examples=200, deadline=None)
def test_rule_matches_its_statement(upper, frac, rtol):
    lower = upper * (1 - frac)
    assert is_certified(upper, lower, LowerBound.EXACT_ORACLE, rtol) == (upper - lower <= rtol * upper)
    assert relative_gap(upper, lower) == pytest.approx(frac, abs=1e-12)


def test_lower_bound_provenance_is_typed():
    assert LowerBound("exact-oracle dual") is LowerBound.EXACT_ORACLE
    assert LowerBound.SPECTRAL == "spectral dual" and LowerBound.SPECTRAL.valid
    assert not LowerBound.NONE.valid
    with pytest.raises(ValueError):
        LowerBound("exact-oracle dual ")  # a typo is an error, not a silent match


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((20, 2))
    Y = np.sin(X @ [1.0, -1.0])[:, None]
    return X, Y, covcone.solve(X, Y, activation="relu", lam=1e-2, beta=1.0)


def test_repr_is_compact(result):
    _, _, res = result
    text = repr(res)
    assert len(text.splitlines()) <= 6 and "status" in text and "gap" in text
    assert len(text) < 1200


def test_predict_and_lazy_covariances(result):
    X, _, res = result
    Xn = np.random.default_rng(0).standard_normal((5, 2))
    np.testing.assert_array_equal(res.predict(Xn), res.network.forward(Xn))
    assert "covariances" not in res.__dict__  # nothing N×N until asked
    K, Ks = res.covariances
    assert K.shape == (20, 20) and np.allclose(K, K.T)


def test_save_load_roundtrip(result, tmp_path):
    X, Y, res = result
    path = tmp_path / "res.npz"
    res.save(path)
    back = covcone.SolveResult.load(path)
    assert back.status == res.status and back.upper == res.upper and back.lower == res.lower
    assert back.lower_from is res.lower_from
    np.testing.assert_allclose(back.predict(X), res.predict(X), rtol=0, atol=0)


def test_summary_echoes_the_problem(result):
    _, _, res = result
    p = res.summary()["problem"]
    assert p == {"N": 20, "d": 2, "k": 1, "activation": "relu", "lam": 1e-2, "beta": 1.0, "cost": "mse", "depth": 2}

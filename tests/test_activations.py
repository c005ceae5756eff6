r"""Tests for covcone.activations: parsing, slopes, positive homogeneity (paper §2)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from covcone.activations import (
    Activation,
    absolute,
    get_activation,
    homogeneous,
    leaky_relu,
    linear,
    relu,
    require_homogeneous,
    sigmoid,
    tanh,
)

HOMOGENEOUS = [relu, absolute, linear, leaky_relu(0.1), homogeneous(2.0, -0.5)]


@pytest.mark.parametrize(
    "spec, slopes",
    [
        ("relu", (1.0, 0.0)),
        ("ReLU", (1.0, 0.0)),
        (" absolute ", (1.0, -1.0)),
        ("abs", (1.0, -1.0)),
        ("linear", (1.0, 1.0)),
        ("identity", (1.0, 1.0)),
        ("leaky_relu", (1.0, 0.01)),
        ("leaky_relu:0.2", (1.0, 0.2)),
        ("leaky_relu(0.3)", (1.0, 0.3)),
        ((2, -0.5), (2.0, -0.5)),
        ([1, 0], (1.0, 0.0)),
    ],
)
def test_parse_homogeneous(spec, slopes):
    act = get_activation(spec)
    assert act.homogeneous
    assert (act.a, act.b) == slopes
    assert require_homogeneous(spec) == act


@pytest.mark.parametrize("spec, fn", [("sigmoid", lambda x: 1 / (1 + np.exp(-x))), ("tanh", np.tanh)])
def test_parse_smooth(spec, fn):
    act = get_activation(spec)
    assert not act.homogeneous
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(act(x), fn(x), rtol=1e-14)
    with pytest.raises(ValueError, match="activation") as info:
        require_homogeneous(spec)
    assert "homogeneous" in str(info.value)
    with pytest.raises(ValueError, match="not positively homogeneous"):
        act.slopes(x)


def test_activation_instance_passes_through():
    assert get_activation(relu) is relu
    assert get_activation(tanh) is tanh


@pytest.mark.parametrize(
    "spec", ["swish", "", "leaky", 3, None, (1, 2, 3), "leaky_relu:abc", "leaky_relu(", "leaky_relu:inf"]
)
def test_unknown_activation(spec):
    with pytest.raises(ValueError, match="my_arg"):
        get_activation(spec, argname="my_arg")


def test_non_finite_slopes():
    with pytest.raises(ValueError, match="finite"):
        homogeneous(np.inf, 0.0)
    with pytest.raises(ValueError, match="finite"):
        get_activation((1.0, np.nan))


def test_values_and_slopes():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(relu(x), [0, 0, 0, 0.5, 2])
    np.testing.assert_array_equal(absolute(x), np.abs(x))
    np.testing.assert_array_equal(linear(x), x)
    np.testing.assert_allclose(leaky_relu(0.1)(x), [-0.2, -0.05, 0, 0.5, 2])
    np.testing.assert_array_equal(homogeneous(2, -0.5)(x), [1.0, 0.25, 0, 1, 4])
    np.testing.assert_array_equal(relu.slopes(x), [0, 0, 1, 1, 1])  # a at 0
    np.testing.assert_array_equal(absolute.slopes(x), [-1, -1, 1, 1, 1])


@pytest.mark.parametrize("act", HOMOGENEOUS, ids=lambda a: a.name)
def test_slopes_reproduce_sigma(act):
    x = np.random.default_rng(0).standard_normal(50)
    np.testing.assert_array_equal(act.slopes(x) * x, act(x))


@settings(max_examples=100, deadline=None)
@given(
    a=st.floats(-5, 5),
    b=st.floats(-5, 5),
    t=st.floats(0, 1e3),
    x=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=10),
)
def test_positive_homogeneity(a, b, t, x):
    act = homogeneous(a, b)
    x = np.array(x)
    np.testing.assert_allclose(act(t * x), t * act(x), rtol=1e-12, atol=1e-12)


def test_smooth_activations_are_not_homogeneous():
    x = np.array([1.0, -1.0])
    for act in (sigmoid, tanh):
        assert not np.allclose(act(2 * x), 2 * act(x))


def test_equality_and_dict():
    assert homogeneous(1.0, 0.0, "relu") == relu
    assert leaky_relu(0.1) == get_activation("leaky_relu:0.1")
    assert relu.to_dict() == {"name": "relu", "a": 1.0, "b": 0.0}
    assert isinstance(relu, Activation)

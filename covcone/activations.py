r"""Activations: positively homogeneous σ given by slopes (a, b), and smooth σ.

Paper §2 (Jacot, Golikov, Hongler & Gabriel, NeurIPS 2022): the covariance reformulation
needs σ positively homogeneous of degree 1, i.e. ``σ(x) = a·x`` for ``x ≥ 0`` and ``b·x`` for
``x < 0``.  ReLU is (1, 0), leaky ReLU (1, α), absolute value (1, −1), linear (1, 1).
Sigmoid and tanh are provided for the hidden-representation reformulation (L^r) only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = [
    "Activation",
    "relu",
    "absolute",
    "linear",
    "sigmoid",
    "tanh",
    "leaky_relu",
    "homogeneous",
    "get_activation",
    "require_homogeneous",
]


@dataclass(frozen=True)
class Activation:
    r"""An elementwise activation σ.

    Attributes
    ----------
    name : str
        Short name, e.g. ``"relu"``.
    a, b : float or None
        Slopes on ``x ≥ 0`` and ``x < 0`` when σ is positively homogeneous, else ``None``.
    fn : callable or None
        Elementwise function for non-homogeneous σ (sigmoid, tanh).
    """

    name: str
    a: float | None = None
    b: float | None = None
    fn: Callable[[np.ndarray], np.ndarray] | None = field(default=None, compare=False, repr=False)

    @property
    def homogeneous(self) -> bool:
        """True when σ(x) = a·x (x ≥ 0), b·x (x < 0): the covariance cone applies."""
        return self.a is not None

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        if self.homogeneous:
            return np.where(x >= 0, self.a * x, self.b * x)
        return self.fn(x)

    def slopes(self, z):
        """The slope pattern σ'(z) ∈ {a, b} (a at 0), for homogeneous σ only."""
        if not self.homogeneous:
            raise ValueError(f"activation {self.name!r} is not positively homogeneous")
        z = np.asarray(z, dtype=float)
        return np.where(z >= 0, self.a, self.b)

    def to_dict(self) -> dict:
        return {"name": self.name, "a": self.a, "b": self.b}


def homogeneous(a: float, b: float, name: str | None = None) -> Activation:
    """The positively homogeneous activation with slopes ``a`` (x ≥ 0) and ``b`` (x < 0)."""
    a = float(a)
    b = float(b)
    if not (np.isfinite(a) and np.isfinite(b)):
        raise ValueError(f"activation slopes must be finite, got a={a}, b={b}")
    return Activation(name or f"homogeneous({a:g},{b:g})", a, b)


def leaky_relu(alpha: float = 0.01) -> Activation:
    """Leaky ReLU, slopes (1, alpha)."""
    return homogeneous(1.0, alpha, name=f"leaky_relu({float(alpha):g})")


relu = Activation("relu", 1.0, 0.0)
absolute = Activation("absolute", 1.0, -1.0)
linear = Activation("linear", 1.0, 1.0)
sigmoid = Activation("sigmoid", fn=lambda x: 1.0 / (1.0 + np.exp(-x)))
tanh = Activation("tanh", fn=np.tanh)

_NAMED = {
    "relu": relu,
    "absolute": absolute,
    "abs": absolute,
    "linear": linear,
    "identity": linear,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "leaky_relu": leaky_relu(0.01),
}


def get_activation(spec, argname: str = "activation") -> Activation:
    """Turn ``spec`` (an :class:`Activation`, a name, ``"leaky_relu:0.1"`` or a pair (a, b))
    into an :class:`Activation`; unknown names raise ``ValueError`` naming ``argname``."""
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key.startswith("leaky_relu") and (":" in key or "(" in key):
            alpha = key.split(":", 1)[1] if ":" in key else key[key.index("(") + 1 :].rstrip(")")
            try:
                return leaky_relu(float(alpha))
            except ValueError as exc:
                raise ValueError(
                    f"{argname}: expected 'leaky_relu:ALPHA' with a finite number ALPHA, got {spec!r}"
                ) from exc
        if key in _NAMED:
            return _NAMED[key]
        raise ValueError(
            f"{argname}: unknown activation {spec!r}; expected one of "
            f"{sorted(set(_NAMED))}, 'leaky_relu:ALPHA', a pair (a, b) or an Activation"
        )
    if isinstance(spec, (tuple, list)) and len(spec) == 2:
        try:
            a, b = (float(v) for v in spec)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{argname}: expected slopes (a, b) as two real numbers, got {spec!r}") from exc
        try:
            return homogeneous(a, b)
        except ValueError as exc:
            raise ValueError(f"{argname}: {exc}") from exc
    raise ValueError(f"{argname}: expected an activation name, a pair (a, b) or an Activation, got {spec!r}")


def require_homogeneous(spec, argname: str = "activation") -> Activation:
    """Like :func:`get_activation` but rejects non-homogeneous σ (the covariance cone needs
    σ(tx) = tσ(x) for t ≥ 0, paper §2)."""
    act = get_activation(spec, argname)
    if not act.homogeneous:
        raise ValueError(
            f"{argname}: the covariance-cone formulation needs a positively homogeneous activation "
            f"(relu, leaky_relu, absolute, linear, homogeneous(a, b)); got {act.name!r}"
        )
    return act

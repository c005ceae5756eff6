r"""The network in parameter space: forward pass, loss, save/load, torch conversion.

docs/design.md §1 (paper §2): ``Z_0^σ = [X; β·1ᵀ]``, ``Z_ℓ = W_ℓ Z_{ℓ-1}^σ``,
``Z_ℓ^σ = [σ(Z_ℓ); β·1ᵀ]``, output ``Z_L`` (no σ on the last layer).  ``W_ℓ`` has shape
``(n_ℓ, n_{ℓ-1} + 1)``: its last column multiplies the constant row β (the bias).

At this API boundary samples are **rows** (numpy / torch convention): ``forward(X)`` takes
``X`` of shape ``(N, n_0)`` and returns ``(N, n_L)``.  This plain forward pass is the
independent code path that every upper bound of covcone is evaluated with (docs/design.md §4).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import Activation, get_activation
from .costs import check_cost, cost_value
from .validation import as_matrix, check_beta, check_lam, check_targets

__all__ = ["Network"]


def _with_bias(H: np.ndarray, beta: float) -> np.ndarray:
    return np.hstack([H, np.full((H.shape[0], 1), beta)])


@dataclass(frozen=True, eq=False)
class Network:
    r"""A fully connected network with weights ``W_1 … W_L`` (paper notation).

    Parameters
    ----------
    weights : sequence of arrays
        ``weights[ℓ]`` of shape ``(n_ℓ, n_{ℓ-1} + 1)``; the last column is the bias column,
        multiplied by the constant β.
    activation : Activation or str
        σ, applied after every layer but the last.
    beta : float
        The bias amount β ≥ 0 (β = 0: no biases; the last columns are then inert).
    """

    weights: tuple
    activation: Activation
    beta: float = 0.0

    def __init__(self, weights, activation="relu", beta: float = 0.0):
        ws = []
        if len(weights) == 0:
            raise ValueError("weights: expected at least one layer, got an empty sequence")
        for i, W in enumerate(weights):
            W = as_matrix(W, f"weights[{i}]")
            if i > 0 and W.shape[1] != ws[-1].shape[0] + 1:
                raise ValueError(
                    f"weights[{i}]: expected {ws[-1].shape[0] + 1} columns "
                    f"(n_{i} = {ws[-1].shape[0]} plus the bias column), got shape {W.shape}"
                )
            ws.append(W)
        object.__setattr__(self, "weights", tuple(ws))
        object.__setattr__(self, "activation", get_activation(activation))
        object.__setattr__(self, "beta", check_beta(beta))

    # -- structure -------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """L, the number of weight matrices."""
        return len(self.weights)

    @property
    def widths(self) -> tuple:
        """(n_0, n_1, …, n_L)."""
        return (self.weights[0].shape[1] - 1,) + tuple(W.shape[0] for W in self.weights)

    @property
    def n_params(self) -> int:
        return int(sum(W.size for W in self.weights))

    def squared_norm(self) -> float:
        """Σ_ℓ ‖W_ℓ‖_F² (the weight-decay term without λ)."""
        return float(sum(np.sum(W**2) for W in self.weights))

    # -- forward ---------------------------------------------------------------------------
    def _check_inputs(self, X) -> np.ndarray:
        X = as_matrix(X, "X")
        if X.shape[1] != self.widths[0]:
            raise ValueError(f"X: expected shape (N, {self.widths[0]}), got {X.shape}")
        return X

    def preactivations(self, X) -> list:
        """[Z_1, …, Z_L] as (N, n_ℓ) arrays (samples as rows)."""
        H = self._check_inputs(X)
        Zs = []
        for ell, W in enumerate(self.weights):
            Z = _with_bias(H, self.beta) @ W.T
            Zs.append(Z)
            if ell < self.depth - 1:
                H = self.activation(Z)
        return Zs

    def forward(self, X) -> np.ndarray:
        """The outputs Z_L, shape (N, n_L)."""
        return self.preactivations(X)[-1]

    __call__ = forward

    def loss(self, X, Y, *, lam=None, cost: str = "mse") -> float:
        r"""C(Z_L) + λ Σ_ℓ ‖W_ℓ‖_F² by a plain forward pass.

        For ``cost="interpolate"`` the value is the representation cost Σ‖W_ℓ‖² when the
        outputs equal Y (relative error ≤ 1e-7) and ``inf`` otherwise; passing ``lam`` with it
        is an error.
        """
        check_cost(cost)
        Yhat = self.forward(X)
        Y = check_targets(Y, Yhat.shape[0], cost, k=Yhat.shape[1])
        if cost == "interpolate":
            if lam is not None:
                raise ValueError("lam: cost='interpolate' has no λ (the loss is Σ‖W_ℓ‖² subject to Ŷ = Y)")
            return cost_value(Yhat, Y, cost) + self.squared_norm()
        lam = check_lam(lam)
        return cost_value(Yhat, Y, cost) + lam * self.squared_norm()

    # -- save / load -----------------------------------------------------------------------
    def save(self, path) -> None:
        """Save as ``.npz`` (weights W0, W1, …, activation slopes, β)."""
        act = self.activation
        meta = {"activation": np.array(act.name), "beta": np.array(self.beta)}
        if act.homogeneous:
            meta["slopes"] = np.array([act.a, act.b])
        np.savez(path, **{f"W{i}": W for i, W in enumerate(self.weights)}, **meta)

    @classmethod
    def load(cls, path) -> "Network":
        with np.load(path, allow_pickle=False) as f:
            L = sum(1 for key in f.files if key.startswith("W"))
            weights = [f[f"W{i}"] for i in range(L)]
            name = str(f["activation"])
            if "slopes" in f.files:
                from .activations import homogeneous

                a, b = f["slopes"]
                act = get_activation(name) if name in ("relu", "absolute", "linear") else homogeneous(a, b, name)
            else:
                act = get_activation(name)
            return cls(weights, act, float(f["beta"]))

    # -- torch -------------------------------------------------------------------------------
    def to_torch(self):
        """An ``nn.Sequential`` of ``Linear`` layers and σ (float64) with the same function.

        ``Linear.bias = β · W[:, -1]`` (the bias column scaled by β).  Needs the ``torch`` extra.
        """
        try:
            import torch
            from torch import nn
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("Network.to_torch needs torch: pip install 'covcone[torch]'") from exc
        act = self.activation
        layers = []
        for ell, W in enumerate(self.weights):
            lin = nn.Linear(W.shape[1] - 1, W.shape[0]).double()
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W[:, :-1].copy()))
                lin.bias.copy_(torch.from_numpy(self.beta * W[:, -1]))
            layers.append(lin)
            if ell < self.depth - 1:
                layers.append(_torch_activation(act))
        return nn.Sequential(*layers)

    @classmethod
    def from_torch(cls, module, *, beta: float = 1.0, activation=None) -> "Network":
        """The network of an ``nn.Sequential`` of ``Linear`` layers and one homogeneous σ.

        The bias column is ``Linear.bias / β`` (β > 0 needed when biases are non-zero).
        """
        from torch import nn

        if not isinstance(module, nn.Sequential):
            raise ValueError(f"module: expected torch.nn.Sequential of Linear layers and one activation, got {type(module).__name__}")
        layers = list(module)
        kinds = ["L" if isinstance(layer, nn.Linear) else "a" for layer in layers]
        pattern = "".join(kinds)
        if not pattern or pattern[0] != "L" or pattern[-1] != "L" or "LL" in pattern or "aa" in pattern:
            raise ValueError(
                "module: expected Linear, activation, Linear, …, Linear (one activation between "
                f"consecutive Linear layers, none before the first or after the last); got {[type(m).__name__ for m in layers]}"
            )
        weights, acts = [], []
        for layer in layers:
            if isinstance(layer, nn.Linear):
                W = layer.weight.detach().double().cpu().numpy()
                bias = layer.bias.detach().double().cpu().numpy() if layer.bias is not None else np.zeros(W.shape[0])
                if beta == 0:
                    if np.any(bias != 0):
                        raise ValueError("beta: beta=0 but the module has non-zero biases")
                    col = np.zeros(W.shape[0])
                else:
                    col = bias / beta
                weights.append(np.hstack([W, col[:, None]]))
            else:
                acts.append(_activation_from_torch(layer))
        if len({(a.a, a.b) for a in acts}) > 1:
            raise ValueError("module: expected one homogeneous activation used throughout")
        act = activation if activation is not None else (acts[0] if acts else "linear")
        return cls(weights, act, beta)


def _torch_activation(act: Activation):
    from torch import nn

    if act.name == "relu":
        return nn.ReLU()
    if act.homogeneous and act.a == 1.0 and act.name.startswith("leaky_relu"):
        return nn.LeakyReLU(act.b)
    if act.name == "sigmoid":
        return nn.Sigmoid()
    if act.name == "tanh":
        return nn.Tanh()
    if act.homogeneous:
        return _HomogeneousTorch(act.a, act.b)
    raise ValueError(f"activation {act.name!r} has no torch equivalent")


def _activation_from_torch(layer) -> Activation:
    from torch import nn

    from .activations import homogeneous, leaky_relu, relu

    if isinstance(layer, nn.ReLU):
        return relu
    if isinstance(layer, nn.LeakyReLU):
        return leaky_relu(layer.negative_slope)
    if isinstance(layer, nn.Identity):
        return homogeneous(1.0, 1.0, "linear")
    if type(layer).__name__ == "_Homogeneous":
        return homogeneous(layer.a, layer.b)
    raise ValueError(
        f"module: unsupported layer {type(layer).__name__}; supported: Linear, ReLU, LeakyReLU, "
        "Identity and covcone's homogeneous activation (positively homogeneous σ only)"
    )


def _HomogeneousTorch(a: float, b: float):
    import torch
    from torch import nn

    class _Homogeneous(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = float(a), float(b)

        def forward(self, x):
            return torch.where(x >= 0, self.a * x, self.b * x)

    return _Homogeneous()

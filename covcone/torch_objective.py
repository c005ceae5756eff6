r"""torch's training objective in covcone's units (paper §2's loss ``C(Ŷ) + λ Σ_ℓ ‖W_ℓ‖_F²``).

covcone minimises, for a network ``Ŷ = f(X)`` with weights ``W_ℓ`` whose last column is the bias
column (multiplied by β, see docs/design.md §1),

    J(W) = C(Ŷ) + λ Σ_ℓ ‖W_ℓ‖_F²,     C = (1/N)‖Ŷ − Y‖_F²  (MSE)   or   (1/N) Σ_i CE_i  (softmax).

A torch model trained with ``torch.optim.SGD`` or ``torch.optim.Adam`` and ``weight_decay=wd``
adds ``wd·p`` to the gradient of every decayed parameter ``p`` before the step.  That is the
gradient of ``(wd/2)‖p‖²``, so the optimiser looks for the stationary points of

    T(W) = loss_torch(Ŷ, Y) + (wd/2) Σ_p ‖p‖²,

where ``loss_torch`` is ``nn.MSELoss`` or ``nn.CrossEntropyLoss`` with ``reduction`` "mean" or
"sum".  With β = 1 a ``Linear`` layer's weight and bias are exactly the columns of covcone's
``W_ℓ`` (``bias = β·W[:, -1]``), so ``Σ_p ‖p‖² = Σ_ℓ ‖W_ℓ‖_F²`` and ``T = c · J`` for the constant
``c`` (``scale``) and the ``λ`` below — the two objectives have the same minimisers, and a
certified optimum of ``J`` is one of ``T``:

==================  ==========  ==================================  ==========  ===========
cost                reduction   loss_torch                          c = scale   λ
==================  ==========  ==================================  ==========  ===========
MSE                 "mean"      (1/(N k)) ‖Ŷ − Y‖_F²                1/k         wd·k/2
MSE                 "sum"       ‖Ŷ − Y‖_F²                          N           wd/(2N)
cross-entropy       "mean"      (1/N) Σ_i CE_i                      1           wd/2
cross-entropy       "sum"       Σ_i CE_i                            N           wd/(2N)
==================  ==========  ==================================  ==========  ===========

(For MSE/mean: ``T = (1/k)[(1/N)‖Ŷ−Y‖² + (k·wd/2)ΣW²]``; for "sum": ``T = N[(1/N)‖Ŷ−Y‖² +
(wd/(2N))ΣW²]``.)  With mini-batches the expected step is the gradient of the same objective for
``reduction="mean"``; for ``reduction="sum"`` each step sums over a batch of ``B`` samples, so
pass ``N = B`` (the expected objective is then ``B·[(1/N_data) Σ …] + (wd/2)ΣW²``).

What cannot be mapped, and is refused with a ``ValueError`` saying why:

* ``optimizer="adamw"`` — AdamW decays the weights *outside* the adaptive gradient step
  (``p ← p − lr·wd·p``), which is not the gradient of any penalty added to the loss: its fixed
  points are not those of ``T`` for any λ.
* ``decay_biases=False`` — an undecayed hidden bias is not covcone's β-row model, in which the
  bias is a column of ``W_ℓ`` and is penalised with it (docs/design.md §1).
* ``weight_decay=0`` — an unregularised problem; the certificate needs λ > 0.

:func:`torch_objective` returns the mapping; :func:`torch_objective_value` evaluates ``T`` of a
model in torch and divides it by ``c``, i.e. gives ``J`` computed independently of covcone's
forward pass (a cross-check); :func:`certify_torch` is ``covcone.certify`` of a torch model
under the mapping.

``covcone.certify(model, X, Y, weight_decay=wd, reduction="mean", optimizer="adam",
decay_biases=True)`` — the behaviour of the public :func:`covcone.certify` when it is given
``weight_decay`` instead of ``lam``: it calls :func:`lam_from_weight_decay` (``k`` = the number of
outputs, or of classes for cross-entropy; ``N`` = the number of samples), which applies
:func:`torch_objective`, then certifies with the returned ``lam``, β = 1 and the cost.  ``loss``,
``lower`` and ``optimum`` of the result are in covcone's units; torch's objective is ``scale``
times them.  Passing both ``lam`` and ``weight_decay``, or a β other than 1, is an error; AdamW
and ``decay_biases=False`` are refused as above.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["torch_objective", "torch_objective_value", "lam_from_weight_decay", "certify_torch", "OPTIMIZERS",
           "REDUCTIONS"]

OPTIMIZERS = ("sgd", "adam", "adamw")
REDUCTIONS = ("mean", "sum")
_COSTS = ("mse", "cross_entropy")


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def torch_objective(weight_decay, *, reduction: str = "mean", cost: str = "mse", k=None, N=None,
                    optimizer: str = "sgd", decay_biases: bool = True) -> dict:
    r"""Map torch's weight decay and loss reduction to covcone's λ (and the scale between them).

    Parameters
    ----------
    weight_decay : float
        The ``weight_decay`` given to ``torch.optim.SGD`` / ``torch.optim.Adam`` (> 0).
    reduction : {"mean", "sum"}
        The ``reduction`` of ``nn.MSELoss`` / ``nn.CrossEntropyLoss``.
    cost : {"mse", "cross_entropy"}
    k : int
        Number of outputs; needed for ``cost="mse"`` with ``reduction="mean"`` (the mean runs
        over N·k entries).
    N : int
        Number of samples summed per step (the data size for full-batch training, the batch size
        for mini-batches); needed for ``reduction="sum"``.
    optimizer : {"sgd", "adam", "adamw"}
        ``"adamw"`` is refused (decoupled decay is not an L2 penalty).
    decay_biases : bool
        Whether the biases were in the decayed parameter group.  False is refused: covcone's
        bias is a column of ``W_ℓ`` (the β row) and is always penalised.

    Returns
    -------
    dict
        ``lam`` (covcone's λ), ``scale`` (c with ``T = c·J``), ``beta`` (1.0: the only β for
        which ``‖bias‖² = ‖β·W[:, -1]‖²`` equals its covcone penalty ``‖W[:, -1]‖²``), ``cost``,
        ``reduction``, ``optimizer`` and ``formula`` (the identity in words).

    Raises
    ------
    ValueError
        For AdamW, undecayed biases, ``weight_decay ≤ 0``, an unknown option, or a missing
        ``k`` / ``N`` that the mapping needs.

    Notes
    -----
    Derivation in the module docstring; verified in ``tests/test_torch_objective.py`` by
    evaluating ``T`` in torch and ``J`` by :meth:`covcone.Network.loss` (agreement to 1e-10),
    and by checking that an SGD step with ``weight_decay`` is the gradient step of ``T``.

    Examples
    --------
    >>> m = torch_objective(1e-3, reduction="mean", k=2)
    >>> m["lam"], m["scale"]
    (0.001, 0.5)
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, got {optimizer!r}")
    if optimizer == "adamw":
        raise ValueError(
            "optimizer='adamw': AdamW's decoupled weight decay (p ← p − lr·wd·p outside the adaptive step) is not an "
            "L2 penalty on the loss, so its fixed points are not the minimisers of loss + λΣ‖W‖² for any λ; train "
            "with torch.optim.Adam(weight_decay=...) or SGD to compare with covcone")
    if not isinstance(decay_biases, (bool, np.bool_)):
        raise ValueError(f"decay_biases: expected a bool, got {decay_biases!r}")
    if not decay_biases:
        raise ValueError(
            "decay_biases=False: covcone's bias is the last column of each W_ℓ (the β row, docs/design.md §1) and is "
            "penalised with the weights; a network with undecayed biases is a different problem that covcone cannot "
            "certify — decay all parameters (one parameter group)")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")
    if cost not in _COSTS:
        raise ValueError(f"cost: expected one of {_COSTS}, got {cost!r}")
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, numbers.Real) or not np.isfinite(weight_decay):
        raise ValueError(f"weight_decay: expected a positive number, got {weight_decay!r}")
    wd = float(weight_decay)
    if wd <= 0:
        raise ValueError(f"weight_decay: expected > 0 (an unregularised problem has no certificate), got {wd!r}")
    if reduction == "sum":
        if N is None:
            raise ValueError("N: reduction='sum' needs the number of samples summed per step (N, or the batch size)")
        n = _positive_int(N, "N")
        lam, scale = wd / (2.0 * n), float(n)
        formula = f"loss_sum + (wd/2)ΣW² = N·[C + (wd/(2N))ΣW²], N = {n}"
    elif cost == "mse":
        if k is None:
            raise ValueError("k: cost='mse' with reduction='mean' needs the number of outputs k (the mean is over N·k)")
        kk = _positive_int(k, "k")
        lam, scale = wd * kk / 2.0, 1.0 / kk
        formula = f"MSELoss(mean) + (wd/2)ΣW² = (1/k)·[(1/N)‖Ŷ−Y‖² + (k·wd/2)ΣW²], k = {kk}"
    else:
        lam, scale = wd / 2.0, 1.0
        formula = "CrossEntropyLoss(mean) + (wd/2)ΣW² = (1/N)ΣCE + (wd/2)ΣW²"
    return {"lam": lam, "scale": scale, "beta": 1.0, "cost": cost, "reduction": reduction, "optimizer": optimizer,
            "weight_decay": wd, "formula": formula}


def _torch_inputs(model, X, Y, cost):
    import torch

    Xt = torch.as_tensor(np.asarray(X, dtype=float), dtype=torch.float64)
    Y = np.asarray(Y)
    if cost == "cross_entropy":
        if Y.ndim != 1:
            raise ValueError(f"Y: cross-entropy in torch takes integer labels of shape (N,), got shape {Y.shape}")
        Yt = torch.as_tensor(Y.astype(np.int64))
    else:
        Yt = torch.as_tensor(np.asarray(Y, dtype=float).reshape(len(Y), -1), dtype=torch.float64)
    return Xt, Yt


def torch_objective_value(model, X, Y, *, weight_decay, reduction: str = "mean", cost: str = "mse",
                          optimizer: str = "sgd", decay_biases: bool = True) -> float:
    r"""The torch training objective ``T = loss_torch + (wd/2)Σ_p‖p‖²`` of ``model``, in covcone units.

    Evaluates ``T`` with torch itself (``nn.MSELoss`` / ``nn.CrossEntropyLoss``, float64, every
    parameter of ``model``) and returns ``T / scale``, which equals covcone's
    ``J = C(Ŷ) + λ Σ‖W‖²`` of the same network with ``λ`` and ``scale`` from
    :func:`torch_objective` — an evaluation independent of :class:`covcone.Network`.

    Parameters
    ----------
    model : torch.nn.Module
        Any module mapping (N, d) to (N, k); it is evaluated on a float64 copy.
    X : array (N, d)
    Y : array (N, k) for MSE, integer labels (N,) for cross-entropy
    weight_decay, reduction, cost, optimizer, decay_biases
        As in :func:`torch_objective` (k and N are read from the data).

    Returns
    -------
    float
    """
    import copy

    import torch
    from torch import nn

    Xt, Yt = _torch_inputs(model, X, Y, cost)
    k = int(Yt.shape[1]) if cost == "mse" else None
    m = torch_objective(weight_decay, reduction=reduction, cost=cost, k=k, N=int(Xt.shape[0]), optimizer=optimizer,
                        decay_biases=decay_biases)
    model64 = copy.deepcopy(model).double()
    loss_fn = nn.MSELoss(reduction=reduction) if cost == "mse" else nn.CrossEntropyLoss(reduction=reduction)
    with torch.no_grad():
        T = loss_fn(model64(Xt), Yt) + m["weight_decay"] / 2.0 * sum((p**2).sum() for p in model64.parameters())
    return float(T) / m["scale"]


def lam_from_weight_decay(X, Y, *, weight_decay, reduction: str = "mean", cost: str = "mse", optimizer: str = "sgd",
                          decay_biases: bool = True, lam=None, beta=None):
    r"""covcone's ``(lam, beta)`` for a model trained by torch on ``(X, Y)`` with ``weight_decay``.

    The one place where a public entry point (``covcone.certify(..., weight_decay=...)``) turns
    torch's settings into covcone's: ``k`` is the number of outputs (MSE; a 1-D ``Y`` is one
    output) or of classes (cross-entropy: the label count, or the columns of one-hot rows), ``N``
    the number of rows of ``X``; then :func:`torch_objective`.

    Parameters
    ----------
    X, Y : arrays as given to ``certify``
    weight_decay, reduction, cost, optimizer, decay_biases
        As in :func:`torch_objective`.
    lam, beta
        What the caller also passed: ``lam`` must be None (λ comes from ``weight_decay``), and
        ``beta`` None or 1 (torch's decayed bias is covcone's bias column only for β = 1).

    Returns
    -------
    (float, float, dict)
        ``lam``, ``beta`` (= 1.0) and the full mapping (with ``scale``: torch's objective is
        ``scale`` times covcone's).
    """
    if lam is not None:
        raise ValueError("lam: give either lam (covcone's λ) or weight_decay (torch's), not both")
    if beta is not None and float(beta) != 1.0:
        raise ValueError(f"beta: torch's weight decay matches covcone's penalty only for β = 1, got beta={beta}")
    Yarr = np.asarray(Y)
    N = int(np.shape(X)[0])
    if cost == "cross_entropy":
        k = int(Yarr.max()) + 1 if Yarr.ndim == 1 else int(Yarr.shape[1])
    else:
        k = 1 if Yarr.ndim == 1 else int(Yarr.shape[1])
    m = torch_objective(weight_decay, reduction=reduction, cost=cost, k=k, N=N, optimizer=optimizer,
                        decay_biases=decay_biases)
    return m["lam"], 1.0, m


def certify_torch(model, X, Y, *, weight_decay, reduction: str = "mean", cost: str = "mse", optimizer: str = "sgd",
                  decay_biases: bool = True, **certify_options):
    r"""Certify a torch ``nn.Sequential`` trained with ``weight_decay`` against covcone's optimum.

    Maps torch's objective by :func:`lam_from_weight_decay` and calls :func:`covcone.certify`
    with the returned ``lam``, β = 1 and ``cost``.  The result is in covcone's units; torch's
    objective is ``scale`` times it (``scale`` is returned alongside).

    Returns
    -------
    (CertifyResult, dict)
        covcone's result and the mapping of :func:`torch_objective`.
    """
    lam, beta, m = lam_from_weight_decay(X, Y, weight_decay=weight_decay, reduction=reduction, cost=cost,
                                         optimizer=optimizer, decay_biases=decay_biases,
                                         lam=certify_options.pop("lam", None), beta=certify_options.pop("beta", None))
    from .api import certify

    Yc = np.asarray(Y, dtype=float).reshape(len(Y), -1) if cost == "mse" else Y
    return certify(model, X, Yc, lam=lam, cost=cost, beta=beta, **certify_options), m

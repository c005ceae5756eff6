r"""The lifted relaxation in its dual form: a dual point together with a certificate of its
pricing value, checked in float64 (docs/design.md §3.1 and §4; Jacot et al., NeurIPS 2022, §2).

Why.  The dual bound of §3.4 needs a proven ``m̄ ≥ m(Θ) = max_{‖c‖=1} ‖Θᵀσ(B̃ᵀc)‖``.  At high
input rank neither the face enumeration nor the branch and bound gets close to ``m`` (ten
standardised features, N = 100: the branch and bound proves ≈ 12·m), so the dual bound is weak
whatever Θ is.  Here Θ is chosen *together* with a proof of its pricing value, by one convex
program whose size is ``r + N`` (not the ``2N`` of the lifted primal cone program, and with
sparse constraints), so it runs at N = 100.

The certificate (an S-procedure).  For a unit ``c`` put ``y = (c, u) ∈ R^{r+N}`` with
``u = relu(B̃ᵀc)`` and ``v = u − B̃ᵀc = relu(−B̃ᵀc)``, i.e. ``u = Fy``, ``v = Ey`` with
``F = [0, I]``, ``E = [−B̃ᵀ, I]``; the features are linear in ``y``: ``σ(B̃ᵀc) = au − bv = Sy`` with
``S = [bB̃ᵀ, (a − b)I]``.  For every unit ``c``:

* ``‖c‖² = 1`` and ``‖y‖² = 1 + ‖u‖² ≤ T := 1 + ‖B̃‖₂²``;
* ``u_iu_j ≥ 0``, ``v_iv_j ≥ 0``, ``u_iv_j ≥ 0`` and ``u_iv_i = 0``.

So for multipliers ``y₀`` (free), ``y_T ≥ 0``, ``Λ_uu, Λ_vv ≥ 0`` (symmetric), ``Λ_uv`` (off-diagonal
``≥ 0``, diagonal free), if

    Z = y₀E_cc + y_T I − Fᵀ Λ_uu F − Eᵀ Λ_vv E − sym(Fᵀ Λ_uv E) − SᵀΘΘᵀS ⪰ −ε I

then ``‖Θᵀσ(B̃ᵀc)‖² = yᵀSᵀΘΘᵀSy ≤ yᵀ(SᵀΘΘᵀS + Z + εI)y = y₀ + (y_T + ε)‖y‖² − Σ Λ·(products ≥ 0)
≤ y₀ + (y_T + ε)T``.  :func:`certified_pricing_bound` evaluates this in float64 from any
multipliers (it clips them into their cones and measures ``ε = max(0, −λ_min(Z))`` plus a pad for
rounding), so a solver's inaccuracy weakens the bound, never invalidates it.

The program.  With ``Θ = 2λ̃Φ``: maximise the dual function ``D(2λ̃Φ)`` (for cross-entropy its
minorant ``1 − ‖q_i‖²`` per sample, no exponential cone) over ``Φ`` and the
multipliers, subject to ``y₀ + T y_T ≤ 1`` and, by a Schur complement,
``[[Z̃, SᵀΦ], [ΦᵀS, I_k]] ⪰ 0`` (``Z̃ = Z + SᵀΦΦᵀS``): a certificate ``m(Φ) ≤ 1``, i.e.
``m(Θ) ≤ 2λ̃``.  Its value is the lifted (doubly nonnegative) relaxation's bound; it is exact for
linear networks and on the N²/4 example, and between a few and tens of percent below the optimum
on data (measured in benchmarks/README.md).  covcone never uses the program's value: the bound
reported is ``max_t D(tΘ̂)`` with the float64 ``m̄`` of :func:`certified_pricing_bound`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

__all__ = ["PricingCertificate", "certified_pricing_bound", "lifted_bound", "lifted_dual_point",
           "lifted_dual_resources"]

#: Relative pad on ε for the rounding of Z and of its smallest eigenvalue (n·eps ≈ 1e-13 here).
_PAD = 1e-10


def lifted_dual_resources(N: int, r: int = 11, k: int = 1) -> tuple[float, float]:
    """Rough peak memory (bytes) and seconds of :func:`lifted_dual_point` with N points, input rank
    r and k outputs (cvxpy + Clarabel, 2 cores).  The program's matrix has size ``n = r + N + k``;
    measured at n = 52, 82, 112 (0.28, 0.81, 2.4–2.9 GB; 8, 48, 120–230 s, the last under load):
    ``2.5 GB·(n/112)^2.5`` and ``10 s·(n/52)^3.5``."""
    n = max(int(N) + int(r) + int(k), 1)
    return 2.5e9 * (n / 112.0) ** 2.5, 10.0 * (n / 52.0) ** 3.5


@dataclass(frozen=True)
class PricingCertificate:
    r"""Multipliers of the S-procedure certificate (module docstring) for ``Φ = Θ/scale``.

    ``y0`` (free), ``yT`` (≥ 0), ``Luu``, ``Lvv`` (N×N, ≥ 0), ``Luv`` (N×N, off-diagonal ≥ 0),
    ``scale`` > 0.  Any values are accepted: :func:`certified_pricing_bound` projects them."""

    y0: float
    yT: float
    Luu: np.ndarray
    Lvv: np.ndarray
    Luv: np.ndarray
    scale: float = 1.0


def _certificate_blocks(B, y0, yT, Luu, Lvv, Luv):
    """The blocks ``(Z̃_cc, Z̃_cu, Z̃_uu)`` of ``Z̃ = y₀E_cc + y_T I − A*(Λ)`` (module docstring;
    ``E = [−Bᵀ, I]``, ``F = [0, I]``), for numpy arrays (the float64 check) and cvxpy expressions
    (the program) alike."""
    r, N = B.shape
    BL = B @ Lvv
    Zcc = (y0 + yT) * np.eye(r) - BL @ B.T
    Zcu = BL + 0.5 * (B @ Luv.T)
    Zuu = yT * np.eye(N) - Luu - Lvv - 0.5 * (Luv + Luv.T)
    return Zcc, Zcu, Zuu


def _features_map(B, Phi, a, b, stack=np.vstack):
    """``SᵀΦ`` ((r+N)×k) with ``S = [bBᵀ, (a−b)I]`` (``stack``: ``cp.vstack`` for expressions)."""
    return stack([b * (B @ Phi), (a - b) * Phi])


def certified_pricing_bound(cert: PricingCertificate, Theta: np.ndarray, B: np.ndarray, activation) -> float:
    r"""A proven upper bound on ``m(Θ) = max_{‖c‖=1} ‖Θᵀσ(Bᵀc)‖`` from the multipliers ``cert``
    (module docstring), computed in float64.

    Parameters
    ----------
    cert : PricingCertificate
        Multipliers for ``Φ = Θ/cert.scale`` (any values: they are clipped into their cones).
    Theta : ndarray (N, k)
    B : ndarray (r, N)
        The (whitened) input matrix: pre-activations ``z = Bᵀc``.
    activation : Activation
        Positively homogeneous σ with slopes (a, b).

    Returns
    -------
    float
        ``m̄ ≥ m(Θ)``.
    """
    Theta = np.asarray(Theta, dtype=float)
    B = np.asarray(B, dtype=float)
    N = B.shape[1]
    if Theta.ndim != 2 or Theta.shape[0] != N:
        raise ValueError(f"Theta: expected shape ({N}, k), got {Theta.shape}")
    if not (np.isfinite(cert.scale) and cert.scale > 0):
        raise ValueError(f"cert.scale: expected a positive finite number, got {cert.scale!r}")
    a, b = float(activation.a), float(activation.b)
    Phi = Theta / cert.scale
    Luu = np.maximum(0.5 * (cert.Luu + cert.Luu.T), 0.0)
    Lvv = np.maximum(0.5 * (cert.Lvv + cert.Lvv.T), 0.0)
    Luv = np.array(cert.Luv, dtype=float)
    off = ~np.eye(N, dtype=bool)
    Luv[off] = np.maximum(Luv[off], 0.0)
    yT = max(float(cert.yT), 0.0)
    y0 = float(cert.y0)
    if not all(np.all(np.isfinite(x)) for x in (Luu, Lvv, Luv, y0, yT, Phi)):
        return float("inf")
    Zcc, Zcu, Zuu = _certificate_blocks(B, y0, yT, Luu, Lvv, Luv)
    Z = np.block([[Zcc, Zcu], [Zcu.T, Zuu]])
    SP = _features_map(B, Phi, a, b)
    Z -= SP @ SP.T
    Z = 0.5 * (Z + Z.T)
    lam_min = float(np.linalg.eigvalsh(Z)[0])
    nB = float(np.linalg.norm(B, 2)) * (1 + 1e-12)
    size = (abs(y0) + yT + nB**2 * np.linalg.norm(Lvv) + nB * np.linalg.norm(Luv) + np.linalg.norm(Luu)
            + np.linalg.norm(Lvv) + np.linalg.norm(Luv) + float(np.sum(SP**2)))
    eps = max(0.0, -lam_min) + _PAD * size
    T = (1.0 + nB**2) * (1 + 1e-12)
    m2 = y0 + (yT + eps) * T
    return float(cert.scale * np.sqrt(max(m2, 0.0)) * (1 + 1e-12))


def lifted_dual_point(setup, *, solver: str = "CLARABEL", verbose: bool = False, time_limit: float | None = None):
    r"""Solve the joint program of the module docstring for the depth-2 problem ``setup``
    (internal units).

    Returns ``(Theta, certificate, status)``: the dual direction (N×k, internal units), its
    multipliers (:class:`PricingCertificate`) and the solver's status.  Raises ``SolverError`` when
    the solver fails, ``MemoryError`` (naming N and the GB) when :func:`lifted_dual_resources`
    exceeds 80 % of the available memory.  ``time_limit`` (seconds, all solvers together) is
    passed to Clarabel and SCS.  Neither the program's value nor its feasibility is
    trusted: the caller bounds ``m(Θ)`` with :func:`certified_pricing_bound`."""
    import cvxpy as cp

    from ..cones.lifted import require_memory
    from ..costs import one_hot
    from ..exceptions import SolverError

    B, N, k = setup.Bs, setup.N, setup.k
    r = B.shape[0]
    require_memory(lifted_dual_resources(N, r, k)[0], f"the lifted dual program with N = {N}")
    a, b = float(setup.activation.a), float(setup.activation.b)
    thr = 2.0 * setup.lam_v
    T = 1.0 + float(np.linalg.norm(B, 2)) ** 2
    Phi = cp.Variable((N, k))
    y0, yT = cp.Variable(), cp.Variable(nonneg=True)
    Luu = cp.Variable((N, N), symmetric=True)
    Lvv = cp.Variable((N, N), symmetric=True)
    Luv = cp.Variable((N, N))
    Zcc, Zcu, Zuu = _certificate_blocks(B, y0, yT, Luu, Lvv, Luv)
    SP = _features_map(B, Phi, a, b, stack=cp.vstack)
    M = cp.bmat([[Zcc, Zcu, SP[:r]], [Zcu.T, Zuu, SP[r:]], [SP[:r].T, SP[r:].T, np.eye(k)]])
    cons = [0.5 * (M + M.T) >> 0, y0 + T * yT <= 1, Luu >= 0, Lvv >= 0,
            cp.multiply(1.0 - np.eye(N), Luv) >= 0]
    Theta = thr * Phi
    lam0 = setup.lam_0 if setup.has_bias else float("inf")
    bias = 0.0 if not np.isfinite(lam0) else cp.sum_squares(np.ones(N) @ Theta) / (4.0 * lam0)
    if setup.cost == "mse":
        D = cp.sum(cp.multiply(Theta, setup.Ys)) - N / 4.0 * cp.sum_squares(Theta)
    elif setup.cost == "interpolate":
        D = cp.sum(cp.multiply(Theta, setup.Ys))
    else:  # cross-entropy: q_i = e_{y_i} − NΘ_i in the simplex, D = mean entropy of the q_i
        # maximised through its minorant 1 − ‖q‖² (entropy ≥ Rényi-2 entropy = −log‖q‖² ≥ 1 − ‖q‖²):
        # no exponential cone, which Clarabel stalls on next to the PSD one (wine, N = 30 and 100);
        # the bound itself evaluates the entropy at the point found
        Q = one_hot(setup.Ys, k) - N * Theta
        D = 1.0 - cp.sum_squares(Q) / N
        cons += [cp.sum(Theta, axis=1) == 0, Q >= 0]
    prob = cp.Problem(cp.Maximize(D - bias), cons)
    # when the first solver fails (Clarabel stalled with exponential and PSD cones together, before
    # the cross-entropy minorant), SCS gives a point: its accuracy only weakens the checked bound
    solvers = [solver] + (["SCS"] if solver != "SCS" else [])
    failures = []
    t_end = None if time_limit is None else time.perf_counter() + float(time_limit)
    for name in solvers:
        opts = {}
        if t_end is not None:
            left = t_end - time.perf_counter()
            if left <= 1.0:
                failures.append(f"{name}: no time left")
                continue
            opts = {"CLARABEL": {"time_limit": left}, "SCS": {"time_limit_secs": left}}.get(name, {})
        try:
            prob.solve(solver=name, verbose=verbose, **opts)
        except cp.error.SolverError as exc:
            failures.append(f"{name}: {str(exc).splitlines()[0]}")
            continue
        if Phi.value is not None and y0.value is not None:
            break
        failures.append(f"{name}: status {prob.status}")
    else:
        raise SolverError("the lifted dual program failed (" + "; ".join(failures) + ")")
    cert = PricingCertificate(float(y0.value), float(yT.value), np.asarray(Luu.value), np.asarray(Lvv.value),
                              np.asarray(Luv.value), scale=thr)
    status = str(prob.status) + (f" ({name} after {'; '.join(failures)})" if failures else "")
    return thr * np.asarray(Phi.value), cert, status


def lifted_bound(setup, *, solver: str = "CLARABEL", verbose: bool = False,
                 time_limit: float | None = None) -> tuple[float, str]:
    r"""The bound this module gives the depth-2 problem ``setup``: ``max_t D(tΘ̂)`` (internal
    units, :func:`covcone.shallow.bounds.internal_bound`) at the dual point of
    :func:`lifted_dual_point`, with the float64 ``m̄`` of :func:`certified_pricing_bound` — never
    the program's own value.  Returns ``(bound, solver status)``; the solver's warnings are
    silenced (an inaccurate point only weakens the bound).  Raises as :func:`lifted_dual_point`."""
    import warnings

    from .bounds import internal_bound

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Theta, cert, status = lifted_dual_point(setup, solver=solver, verbose=verbose, time_limit=time_limit)
    m_bar = certified_pricing_bound(cert, Theta, setup.Bs, setup.activation)
    return internal_bound(setup, Theta, m_bar)[0], status

r"""Independent brute force for the group-lasso pricing value (tests only).

``m = max_{‖c‖=1} ‖Θᵀσ(Bᵀc)‖`` by plain loops over every sign pattern ``s ∈ {±1}^N``: on the
closed polyhedral cone ``K_s = {c : s_i b_iᵀc ≥ 0}`` the activation is linear,
``σ(Bᵀc) = D_s Bᵀc`` with ``D_s = diag(a if s_i > 0 else b)``, so the value is ``‖A_s c‖`` with
``A_s = Θᵀ D_s Bᵀ``.  The cones ``K_s`` cover ``R^r``.  The maximum of the convex quadratic
``‖A_s c‖²`` over ``K_s ∩ {‖c‖ = 1}`` is reached at a point whose active constraints ``Z`` leave it
a local maximiser of ``‖A_s c‖²`` on the unit sphere of ``null(B_Zᵀ)`` (the inactive constraints
are slack nearby), i.e. at a top eigenvector of the form restricted to that subspace (a local
maximum of a Rayleigh quotient is global).  So for every pattern and every subset ``Z`` of at
most ``r − 1`` constraints we take the top eigenvector of the restricted form, keep it (or its
negative) if it satisfies the pattern's constraints, and return the largest value found; every
value returned is attained by a feasible point, the true value is among them.

Nothing here is shared with ``covcone.oracle``: no face enumeration, no merging of planes, no
pruning, ``scipy.linalg.null_space`` for the subspaces.
"""
from itertools import combinations, product

import numpy as np
from scipy.linalg import null_space


def reference_max(Theta, B, a, b, tol=1e-9):
    """Return ``(m, c)``: the exact maximum and a unit maximiser, by the loops described above."""
    Theta = np.asarray(Theta, float).reshape(np.shape(B)[1], -1)
    B = np.asarray(B, float)
    r, N = B.shape
    best, arg = 0.0, np.eye(r)[0]
    spaces = []  # the subspaces null(B_Zᵀ), |Z| < r (they do not depend on the pattern)
    for size in range(0, r):
        for Z in combinations(range(N), size):
            Q = null_space(B[:, list(Z)].T) if Z else np.eye(r)
            if Q.shape[1] > 0:
                spaces.append(Q)
    for s in product((1.0, -1.0), repeat=N):
        s = np.array(s)
        D = np.where(s > 0, a, b)
        A = Theta.T @ (D[:, None] * B.T)  # (k, r): the value is ‖A c‖ on K_s
        for Q in spaces:
            AQ = A @ Q
            w, U = np.linalg.eigh(AQ.T @ AQ)
            c = Q @ U[:, -1]
            for cc in (c, -c):
                if np.all(s * (B.T @ cc) >= -tol):
                    val = float(np.linalg.norm(A @ cc))
                    if val > best:
                        best, arg = val, cc
    return best, arg


def true_value(Theta, B, a, b, C):
    """``‖Θᵀσ(Bᵀc)‖`` for the rows of C, written out directly."""
    Z = np.atleast_2d(C) @ np.asarray(B, float)
    S = np.where(Z >= 0, a * Z, b * Z)
    return np.linalg.norm(S @ np.asarray(Theta, float).reshape(Z.shape[1], -1), axis=1)

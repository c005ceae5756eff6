r"""The pricing oracle: exact face enumeration of the hyperplane arrangement (DESIGN §3.3–3.4).

This module implements the *pricing step* of the generator (column generation) representation of
the cone ``S = cone{(zzᵀ, σ(z)σ(z)ᵀ)}`` of Jacot, Golikov, Hongler & Gabriel, *Feature Learning in
L2-regularized DNNs: Attraction/Repulsion and Sparsity* (NeurIPS 2022), §2–3: with dual matrices
``(G_K, G_σ)`` it minimises ``zᵀ G_K z + σ(z)ᵀ G_σ σ(z)`` over unit ``z = Bᵀc`` in the data range
(:func:`price`), and, in the group-lasso form of the depth-2 problem (DESIGN §3.4), it computes
``m = max_{‖c‖=1} ‖Θᵀ σ(Bᵀc)‖`` (:func:`max_group_norm`), the quantity whose comparison with
``2λ`` certifies global optimality.

Mathematics (DESIGN §3.3).  The hyperplanes ``{c : b_iᵀc = 0}`` (``b_i`` the columns of the
``r × N`` basis ``B``) cut the sphere into *faces*: sets where some ``z_i = 0`` and the other
coordinates have fixed signs.  On a face ``σ(z) = D z`` with a fixed slope pattern ``D`` (on a
face's closure too), so the objective is a quadratic form, ``cᵀ T Tᵀ c`` with ``T = B D Θ`` for the
group norm.  Take a maximiser ``c*`` whose face ``F`` has the smallest dimension: ``c*`` is a
local, hence global, maximiser of the face's form on the unit sphere of ``span F``, so it is a
top eigenvector; if that eigenspace had dimension ≥ 2 a great circle inside it would lead, at
constant value, to the boundary of ``F``, i.e. to a maximiser on a smaller face.  Hence the
maximum is attained at ``±`` the top eigenvector of the restricted form of *some* face, and the
face's top eigenvalue bounds the objective on the face's closure.  The exact oracle therefore

1. enumerates faces and their restricted forms,
2. takes ``±`` top eigenvectors as candidates — every candidate is a feasible unit point, so its
   *true* value ``‖Θᵀσ(Bᵀc)‖`` is evaluated and no membership test is needed,
3. evaluates candidates in decreasing order of their face's bound and stops as soon as the best
   true value reaches the next bound (the maximiser's face has bound = maximum).

Enumerations: ``r ≤ 3`` (after reducing ``B`` to its rank) by the geometry of the arrangement —
``O(N^{r-1})`` faces, vectorised with cumulative rank-one updates along each great circle —
and any ``r`` for small ``N`` by the ``3^N`` sign patterns in ``{−, 0, +}^N``.  Otherwise a
multi-start local search (exact only in name: it proves nothing) is used.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import require_homogeneous

__all__ = [
    "GroupPrice",
    "PriceResult",
    "max_group_norm",
    "price",
    "group_norms",
    "exact_affordable",
]

#: Largest number of sign patterns ``3^N`` the general enumeration accepts (N ≤ 13).
MAX_SIGN_PATTERNS = 2_000_000
_ANGLE_TOL = 1e-12  # arcs shorter than this (radians) are ties of concurrent planes: skipped
_PARALLEL_TOL = 1e-12  # ‖b̂_i × b̂_j‖ below this: the two planes coincide
_DISTINCT_COS = 1.0 - 1e-9
_WALL_OFFSETS = np.arange(-3, 5)  # planes crossing a great circle near an arc: cell pre-test  # candidates closer than this cosine are the same direction


# ============================================================================================
# results
# ============================================================================================
@dataclass(frozen=True)
class GroupPrice:
    r"""Result of :func:`max_group_norm` (DESIGN §3.4).

    Attributes
    ----------
    value : float
        ``m = max ‖Θᵀσ(Bᵀc)‖`` over unit ``c`` (the norm, not its square); exact when ``exact``.
    C : ndarray, shape (n, r)
        Up to ``n_best`` distinct unit maximisers / good points, best first; each is feasible.
    values : ndarray, shape (n,)
        Their true norms ``‖Θᵀσ(Bᵀc)‖``, descending (``values[0] == value``).
    exact : bool
        True only if an exact enumeration proved ``value`` to be the maximum.
    method : str
        ``"arrangement r=3"``, ``"sign patterns 3^N"``, ``"heuristic"``, … with a reason.
    n_faces : int
        Faces enumerated (bounded), counted with multiplicity.
    n_evaluated : int
        Candidate points whose true value was evaluated.
    """

    value: float
    C: np.ndarray
    values: np.ndarray
    exact: bool
    method: str
    n_faces: int
    n_evaluated: int = 0


@dataclass(frozen=True)
class PriceResult:
    r"""Result of :func:`price` (DESIGN §3.3).

    Attributes
    ----------
    z : ndarray, shape (N,)
        The minimising direction ``z = basisᵀ c`` in the data range.
    c : ndarray, shape (r,)
        Its unit coordinates in the basis.
    value : float
        ``zᵀ G_K z + σ(z)ᵀ G_σ σ(z)`` at ``z`` (the minimum when ``exact``).
    exact : bool
        True only if an exact face enumeration was done.
    method : str
        How the minimum was found.
    n_faces : int
        Faces examined.
    """

    z: np.ndarray
    c: np.ndarray
    value: float
    exact: bool
    method: str
    n_faces: int


def exact_affordable(r: int, N: int) -> bool:
    r"""Whether an exact oracle is affordable: ``r ≤ 3`` (arrangement, ``O(N^{r-1})`` faces) or
    ``3^N ≤ 2·10⁶`` (all sign patterns, i.e. ``N ≤ 13``), DESIGN §3.3."""
    r, N = int(r), int(N)
    return r <= 3 or N <= 0 or 3.0**N <= MAX_SIGN_PATTERNS


# ============================================================================================
# validation (public entry points only)
# ============================================================================================
def _matrix(x, name: str, ndim_ok=(2,)) -> np.ndarray:
    try:
        A = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a numeric array, got {type(x).__name__}") from exc
    if A.ndim not in ndim_ok:
        want = " or ".join(f"{d}-D" for d in ndim_ok)
        raise ValueError(f"{name}: expected a {want} array, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name}: expected finite values, got NaN or inf")
    return A


def _check_basis(B) -> np.ndarray:
    B = _matrix(B, "B")
    if B.shape[0] < 1 or B.shape[1] < 1:
        raise ValueError(f"B: expected shape (r, N) with r, N ≥ 1, got {B.shape}")
    return B


def _check_theta(Theta, N: int) -> np.ndarray:
    Th = _matrix(Theta, "Theta", (1, 2))
    if Th.ndim == 1:
        Th = Th[:, None]
    if Th.shape[0] != N or Th.shape[1] < 1:
        raise ValueError(
            f"Theta: expected shape (N, k) with N = {N} columns of B and k ≥ 1, got {np.shape(Theta)}"
        )
    return Th


def _rng(rng):
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"rng: expected a numpy Generator, a seed or None, got {rng!r}") from exc


def _positive_int(x, name, minimum=1) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < minimum:
        raise ValueError(f"{name}: expected an integer ≥ {minimum}, got {x!r}")
    return int(x)


# ============================================================================================
# small linear-algebra kernels
# ============================================================================================
def _sigma(Z, a, b):
    if b == 0.0:
        S = np.maximum(Z, 0.0)
        return S if a == 1.0 else a * S
    return b * Z + (a - b) * np.maximum(Z, 0.0)


def _norms(Theta, B, a, b, C) -> np.ndarray:
    """True values ‖Θᵀσ(Bᵀc)‖ for the rows of C (no validation)."""
    V = _sigma(C @ B, a, b) @ Theta
    return np.sqrt(np.einsum("ij,ij->i", V, V))


def _unit_rows(C):
    n = np.linalg.norm(C, axis=-1, keepdims=True)
    return C / np.where(n > 0, n, 1.0)


def _top_eig(T, need_vectors=True):
    r"""Top eigenpair of ``T Tᵀ`` for a stack ``T`` of shape (n, q, k).

    Returns ``lam`` (n,) and unit ``u`` (n, q) (``None`` if not ``need_vectors``).  Uses the
    ``k × k`` Gram ``TᵀT`` when ``k ≤ q`` (closed form for ``k ≤ 2``: DESIGN §7's remark that
    the top eigenpair of ``T Tᵀ`` comes from ``TᵀT``), else the ``q × q`` form.
    """
    n, q, k = T.shape
    if k == 1:
        t = T[:, :, 0]
        lam = np.einsum("ij,ij->i", t, t)
        u = _unit_rows(t) if need_vectors else None
    elif k == 2:
        t0, t1 = T[:, :, 0], T[:, :, 1]
        g11 = np.einsum("ij,ij->i", t0, t0)
        g22 = np.einsum("ij,ij->i", t1, t1)
        g12 = np.einsum("ij,ij->i", t0, t1)
        h = 0.5 * (g11 - g22)
        lam = 0.5 * (g11 + g22) + np.sqrt(h * h + g12 * g12)
        u = None
        if need_vectors:
            first = g11 >= g22
            w0 = np.where(first, lam - g22, g12)
            w1 = np.where(first, g12, lam - g11)
            u = _unit_rows(t0 * w0[:, None] + t1 * w1[:, None])
    elif k <= q:
        H = np.einsum("nqi,nqj->nij", T, T)
        if need_vectors:
            lams, W = np.linalg.eigh(H)
            lam = lams[:, -1]
            u = _unit_rows(np.einsum("nqk,nk->nq", T, W[:, :, -1]))
        else:
            lam, u = np.linalg.eigvalsh(H)[:, -1], None
    else:
        M = np.einsum("nik,njk->nij", T, T)
        if need_vectors:
            lams, U = np.linalg.eigh(M)
            lam, u = lams[:, -1], U[:, :, -1]
        else:
            lam, u = np.linalg.eigvalsh(M)[:, -1], None
    if need_vectors:
        zero = ~(np.linalg.norm(u, axis=1) > 0)
        if np.any(zero):
            u[zero] = 0.0
            u[zero, 0] = 1.0
    return np.maximum(lam, 0.0), u


def _reduce_rank(B):
    r"""Write ``B = U B'`` with ``B'`` of full row rank ρ (``c = U c'`` keeps ``‖c‖``; the value
    is homogeneous of degree 2 in the part of ``c`` that ``B`` sees).  Returns (U or None, B')."""
    r = B.shape[0]
    U, s, Wt = np.linalg.svd(B, full_matrices=False)
    tol = max(B.shape) * np.finfo(float).eps * (s[0] if s.size else 0.0)
    rho = int(np.sum(s > tol))
    if rho == r:
        return None, B
    return U[:, :rho], s[:rho, None] * Wt[:rho]


class _Pool:
    r"""The best ``n_best`` distinct candidates so far (by true value)."""

    def __init__(self, Theta, B, a, b, n_best):
        self.Theta, self.B, self.a, self.b, self.n_best = Theta, B, a, b, n_best
        self.C = np.zeros((0, B.shape[0]))
        self.v = np.zeros(0)
        self.n_evaluated = 0

    @property
    def threshold(self) -> float:
        """Squared value a face must beat to matter (−inf until the pool is full)."""
        if self.v.size < self.n_best:
            return -np.inf
        return float(self.v[self.n_best - 1]) ** 2

    @property
    def best(self) -> float:
        return float(self.v[0]) ** 2 if self.v.size else -np.inf

    def add(self, C, values=None):
        if C.shape[0] == 0:
            return
        C = _unit_rows(C)
        if values is None:
            values = _norms(self.Theta, self.B, self.a, self.b, C)
            self.n_evaluated += C.shape[0]
        allC = np.vstack([self.C, C])
        allv = np.concatenate([self.v, values])
        order = np.argsort(-allv, kind="stable")
        if self.n_best == 1:
            i = order[0]
            self.C, self.v = allC[i : i + 1], allv[i : i + 1]
            return
        keep = []
        for i in order:
            if keep and np.max(allC[keep] @ allC[i]) > _DISTINCT_COS:
                continue
            keep.append(i)
            if len(keep) == self.n_best:
                break
        self.C, self.v = allC[keep], allv[keep]


def _margin(pool, scale2):
    """Slack for rounding in the bounds (cumulative sums, closed-form eigenvalues)."""
    thr = pool.threshold
    return 1e-9 * abs(thr) + 1e-12 * scale2 if np.isfinite(thr) else 0.0


def _evaluate_sorted(pool, bounds, make_candidates, scale2, batch=64):
    r"""Evaluate faces in decreasing order of ``bounds`` until the pool's threshold reaches the
    next bound; ``make_candidates(idx)`` returns candidate rows for the faces ``idx``."""
    thr = pool.threshold
    keep = np.nonzero(bounds > thr - _margin(pool, scale2))[0] if np.isfinite(thr) else np.arange(bounds.size)
    if keep.size == 0:
        return
    keep = keep[np.argsort(-bounds[keep], kind="stable")]
    start = 0
    while start < keep.size:
        thr = pool.threshold
        if np.isfinite(thr) and bounds[keep[start]] <= thr - _margin(pool, scale2):
            return
        idx = keep[start : start + batch]
        pool.add(make_candidates(idx))
        start += batch
        batch = min(4 * batch, 4096)


# ============================================================================================
# heuristic: multi-start local search
# ============================================================================================
def _local_search(form_T, values_of, C0, max_iter=100):
    r"""Ascent from each row of ``C0``: jump to ``±`` the top eigenvector of the current slope
    pattern's form (the fixed point of the power iteration ``c ← normalise(B D Θ Θᵀ D Bᵀ c)``),
    keep the better sign, stop when the true value no longer increases.  Returns all visited
    points and their true values."""
    C = _unit_rows(C0)
    v = values_of(C)
    seen_C, seen_v = [C], [v]
    active = np.arange(C.shape[0])
    for _ in range(max_iter):
        if active.size == 0:
            break
        Ca = C[active]
        _, u = _top_eig(form_T(Ca))
        cand = np.vstack([u, -u])
        cv = values_of(cand)
        m = active.size
        pick = cv[m:] > cv[:m]
        newC = np.where(pick[:, None], cand[m:], cand[:m])
        newv = np.where(pick, cv[m:], cv[:m])
        seen_C.append(newC)
        seen_v.append(newv)
        better = newv > v[active] * (1 + 1e-13) + 1e-300
        C[active[better]] = newC[better]
        v[active[better]] = newv[better]
        active = active[better]
    return np.vstack(seen_C), np.concatenate(seen_v)


def _heuristic_group(Theta, B, a, b, pool, rng, n_starts):
    r = B.shape[0]
    C0 = rng.standard_normal((n_starts, r)) if n_starts else np.zeros((0, r))
    C0 = np.vstack([np.eye(r), -np.eye(r), C0])

    def form_T(C):
        D = np.where(C @ B >= 0, a, b)  # (s, N)
        return np.einsum("rn,sn,nk->srk", B, D, Theta, optimize=True)

    def values_of(C):
        return _norms(Theta, B, a, b, C)

    Cs, vs = _local_search(form_T, values_of, C0)
    pool.n_evaluated += vs.size
    pool.add(Cs, vs)


# ============================================================================================
# exact enumeration for r = 1, 2
# ============================================================================================
def _circle_events(B2):
    """Angles of the zero crossings ±perp(b_j) of the 2-D columns ``B2`` (2 × N), sorted, plus
    distinct-arc midpoints."""
    alpha = np.arctan2(B2[1], B2[0])
    ang = np.mod(np.concatenate([alpha - np.pi / 2, alpha + np.pi / 2]), 2 * np.pi)
    ang = np.sort(ang)
    gaps = np.diff(np.append(ang, ang[0] + 2 * np.pi))
    valid = gaps > _ANGLE_TOL
    mids = ang[valid] + gaps[valid] / 2
    return ang, mids


def _exact_low_group(Theta, B, a, b, pool):
    """r = 1: the two points ±1.  r = 2: the rays ±perp(b_i) and each arc's top eigenvectors;
    all candidates are evaluated (O(N²k) work)."""
    r = B.shape[0]
    if r == 1:
        pool.add(np.array([[1.0], [-1.0]]))
        return 2
    ang, mids = _circle_events(B)
    rays = np.column_stack([np.cos(ang), np.sin(ang)])
    M = np.column_stack([np.cos(mids), np.sin(mids)])
    D = np.where(M @ B >= 0, a, b)  # (n_arcs, N)
    T = np.einsum("rn,sn,nk->srk", B, D, Theta, optimize=True)
    _, u = _top_eig(T)
    pool.add(np.vstack([rays, u, -u]))
    return rays.shape[0] + mids.shape[0]


# ============================================================================================
# exact enumeration for r = 3: great circles, arcs, cells, vertices (vectorised)
# ============================================================================================
def _circle_frames(Bn):
    """Orthonormal (u_i, v_i) spanning b_i⊥ for unit columns Bn (3 × N)."""
    N = Bn.shape[1]
    e = np.zeros((N, 3))
    e[np.arange(N), np.argmin(np.abs(Bn), axis=0)] = 1.0
    U = _unit_rows(np.cross(Bn.T, e))
    V = np.cross(Bn.T, U)
    return U, V


def _r3_setup(B, a, b):
    """Per-circle data shared by the fast and the reference r = 3 enumerations."""
    N = B.shape[1]
    Bn = B / np.linalg.norm(B, axis=0)
    par = np.empty((N, N), bool)
    step = max(1, 1_000_000 // N)
    for s in range(0, N, step):  # ‖b̂_i × b̂_j‖ in row blocks (memory O(N) per row)
        cr = np.cross(Bn.T[s : s + step, None, :], Bn.T[None, :, :])
        par[s : s + step] = np.linalg.norm(cr, axis=2) <= _PARALLEL_TOL
    np.fill_diagonal(par, True)
    sgn = np.sign(Bn.T @ Bn)
    pos, neg = par & (sgn > 0), par & (sgn < 0)
    np.fill_diagonal(pos, True)
    rep = np.argmax(par, axis=1) == np.arange(N)  # one circle per parallel class
    U, V = _circle_frames(Bn)
    m = N - par.sum(axis=1)
    return par, pos, neg, rep, U, V, m


def _r3_chunks(par, rep, m, max_events=400_000):
    """Yield circle chunks ``(I, J)``: circle indices and their non-parallel columns (c, m)."""
    for mm in np.unique(m[rep]):
        if mm == 0:
            continue
        circles = np.nonzero(rep & (m == mm))[0]
        step = max(1, max_events // (2 * int(mm)))
        for s in range(0, circles.size, step):
            I = circles[s : s + step]
            J = np.nonzero(~par[I])[1].reshape(I.size, mm)
            yield I, J
    return


def _r3_arcs(B, U, V, I, J, a, b):
    """Sorted crossing events on the circles I: angles rolled to start after the largest gap.

    Returns ``ang`` (c, 2m), ``col`` (c, 2m), ``dlt`` (c, 2m) slope changes, ``gaps`` (c, 2m)
    (arc t runs from event t to event t+1; the last arc is the largest gap), reference slopes
    ``dref`` (c, m) on the last arc, and ``up`` (c, 2m): event t is a − → + crossing."""
    c, mm = J.shape
    pu = np.take_along_axis(U[I] @ B, J, axis=1)
    pv = np.take_along_axis(V[I] @ B, J, axis=1)
    alpha = np.arctan2(pv, pu)
    ang = np.mod(np.concatenate([alpha - np.pi / 2, alpha + np.pi / 2], axis=1), 2 * np.pi)
    col = np.concatenate([J, J], axis=1)
    dlt = np.concatenate([np.full((c, mm), a - b), np.full((c, mm), b - a)], axis=1)
    order = np.argsort(ang, axis=1, kind="stable")
    ang = np.take_along_axis(ang, order, 1)
    col = np.take_along_axis(col, order, 1)
    dlt = np.take_along_axis(dlt, order, 1)
    gaps = np.empty_like(ang)
    gaps[:, :-1] = np.diff(ang, axis=1)
    gaps[:, -1] = ang[:, 0] + 2 * np.pi - ang[:, -1]
    g = np.argmax(gaps, axis=1)
    rows = np.arange(c)
    phi = ang[rows, g] + gaps[rows, g] / 2
    roll = (g[:, None] + 1 + np.arange(2 * mm)[None, :]) % (2 * mm)
    ang, col, dlt, gaps = (np.take_along_axis(x, roll, 1) for x in (ang, col, dlt, gaps))
    zref = pu * np.cos(phi)[:, None] + pv * np.sin(phi)[:, None]
    dref = np.where(zref >= 0, a, b)
    up = np.take_along_axis(np.concatenate([np.ones((c, mm), bool), np.zeros((c, mm), bool)], 1), order, 1)
    up = np.take_along_axis(up, roll, 1)
    return ang, col, dlt, gaps, dref, up


def _exact_r3_group(Theta, B, a, b, pool, scale2):
    r"""DESIGN §3.4 for d' = 3, vectorised.

    Per great circle ``b_i⊥`` the crossing angles are sorted, the pattern of the arc in the
    largest gap comes from one product, and the other arcs' ``T = B D Θ`` from a cumulative sum
    of rank-one updates ``(new − old)·b_j θ_jᵀ``.  Each arc ``t`` carries four faces: its start
    vertex (value from the arc's form), the arc itself (2 × 2 form in the circle's frame) and the
    two cells beside it (the arc's pattern plus slope ``a`` or ``b`` on the circle's own columns).

    Faces whose top eigenvector cannot lie in the face are dropped before any evaluation: a
    face that is the *minimal* face of a maximiser contains its top eigenvector (module
    docstring), so the others are not needed.  The arc test is exact (angle inside the arc); the
    cell test is necessary only (the right side of the three walls ``b_i``, ``b_{j_t}``,
    ``b_{j_{t+1}}`` met at the arc).  The kept faces are bounded by their top eigenvalue (a cell's
    bounds the arc's and the vertex's, Cauchy interlacing) and evaluated in decreasing order of the
    bound with early stop.
    """
    N, k = Theta.shape
    par, pos, neg, rep, U, V, m = _r3_setup(B, a, b)
    BnT = np.ascontiguousarray((B / np.linalg.norm(B, axis=0)).T)
    O = (B.T[:, :, None] * Theta[:, None, :]).reshape(N, 3 * k)
    Ep = (a * pos + b * neg) @ O  # the circle's own columns on the + side of b_i
    Em = (b * pos + a * neg) @ O
    n_faces = 0
    tol = 1e-10
    for I, J in _r3_chunks(par, rep, m):
        c, mm = J.shape
        ang, col, dlt, gaps, dref, up = _r3_arcs(B, U, V, I, J, a, b)
        Dfull = np.zeros((c, N))
        np.put_along_axis(Dfull, J, dref, axis=1)
        T = np.cumsum(dlt[:, :, None] * O[col], axis=1)
        T += (Dfull @ O)[:, None, :]
        ci, ti = np.nonzero(gaps > _ANGLE_TOL)
        T = T[ci, ti]  # (n, 3k) valid arcs
        circ = I[ci]
        n = T.shape[0]
        n_faces += 4 * n
        phi0, length = ang[ci, ti], gaps[ci, ti]
        u, v = U[circ], V[circ]
        T3 = T.reshape(n, 3, k)
        # vertex at the start of the arc: exact value from the arc's form
        vert = np.cos(phi0)[:, None] * u + np.sin(phi0)[:, None] * v
        tv = np.einsum("nr,nrk->nk", vert, T3)
        v_val = np.einsum("nk,nk->n", tv, tv)
        # faces below the pool's threshold are dropped before any test (their bound is too low)
        thr = pool.threshold
        cut = thr - _margin(pool, scale2) if np.isfinite(thr) else -np.inf
        # the arc: top eigenvector of the 2 × 2 form, kept if inside the arc (either sign)
        T2 = np.stack([np.einsum("nr,nrk->nk", u, T3), np.einsum("nr,nrk->nk", v, T3)], axis=1)
        l_arc, _ = _top_eig(T2, need_vectors=False)
        sa = np.nonzero(l_arc > cut)[0]
        _, w = _top_eig(T2[sa])
        psi = np.mod(np.arctan2(w[:, 1], w[:, 0]) - phi0[sa], 2 * np.pi)
        psi_m = np.mod(psi + np.pi, 2 * np.pi)
        in_p = np.zeros(n, bool)
        in_m = np.zeros(n, bool)
        in_p[sa] = (psi <= length[sa] + tol) | (psi >= 2 * np.pi - tol)
        in_m[sa] = (psi_m <= length[sa] + tol) | (psi_m >= 2 * np.pi - tol)
        arc_vec = np.zeros((n, 3))
        arc_vec[sa] = w[:, :1] * u[sa] + w[:, 1:] * v[sa]
        l_arc = np.where(in_p | in_m, l_arc, -np.inf)
        bound = np.maximum(v_val, l_arc)
        # the cells: necessary test on the circle's plane and the planes crossing the circle
        # near the arc (their signs on the cell are those at the arc's midpoint)
        cells = []
        for E, side in ((Ep, 1.0), (Em, -1.0)):
            Tc = (T + E[circ]).reshape(n, 3, k)
            lam, _ = _top_eig(Tc, need_vectors=False)
            sc = np.nonzero(lam > cut)[0]
            _, ucs = _top_eig(Tc[sc])
            h = 0.5 * length[sc]
            mid = np.cos(phi0[sc] + h)[:, None] * u[sc] + np.sin(phi0[sc] + h)[:, None] * v[sc]
            Wb = BnT[col[ci[sc, None], (ti[sc, None] + _WALL_OFFSETS[None, :]) % (2 * mm)]]  # (s, w, 3)
            sw = np.sign(np.einsum("nwr,nr->nw", Wb, mid))
            g = sw * np.einsum("nwr,nr->nw", Wb, ucs)
            gi = side * np.einsum("nr,nr->n", BnT[circ[sc]], ucs)
            ok_p = np.zeros(n, bool)
            ok_m = np.zeros(n, bool)
            ok_p[sc] = (gi >= -tol) & np.all(g >= -tol, axis=1)
            ok_m[sc] = (gi <= tol) & np.all(g <= tol, axis=1)  # −u flips the sign of every product
            uc = np.zeros((n, 3))
            uc[sc] = ucs
            lam = np.where(ok_p | ok_m, lam, -np.inf)
            cells.append((uc, ok_p, ok_m, lam))
            bound = np.maximum(bound, lam)

        def make(idx, vert=vert, arc_vec=arc_vec, in_p=in_p, in_m=in_m, cells=cells, v_val=v_val, l_arc=l_arc):
            cut = pool.threshold - _margin(pool, scale2)  # faces of the group that still matter
            va, la = v_val[idx] > cut, l_arc[idx] > cut
            out = [vert[idx][va], arc_vec[idx][la & in_p[idx]], -arc_vec[idx][la & in_m[idx]]]
            for uc, ok_p, ok_m, lam in cells:
                lc = lam[idx] > cut
                out += [uc[idx][lc & ok_p[idx]], -uc[idx][lc & ok_m[idx]]]
            return np.vstack(out)

        _evaluate_sorted(pool, bound, make, scale2)
    return n_faces


# ============================================================================================
# reference enumeration of the faces for r ≤ 3 (direct patterns: the naive baseline, price())
# ============================================================================================
def _faces_lowdim(B, a, b, max_entries=4_000_000):
    r"""Yield the faces of the arrangement for ``r ≤ 3`` (B of full row rank) in chunks.

    Each item is ``(points, S, D)``: ``points`` (p, r) are 0-dimensional faces (candidates
    themselves); ``S`` (n, r, q) orthonormal bases of the faces' spans and ``D`` (n, N) their slope
    patterns, computed directly at an interior point (O(N) per face, no cumulative sums): an
    independent code path from :func:`_exact_r3_group`.
    """
    r, N = B.shape
    if r == 1:
        yield np.array([[1.0], [-1.0]]), np.zeros((0, 1, 1)), np.zeros((0, N))
        return
    if r == 2:
        ang, mids = _circle_events(B)
        M = np.column_stack([np.cos(mids), np.sin(mids)])
        S = np.broadcast_to(np.eye(2), (mids.size, 2, 2))
        yield np.column_stack([np.cos(ang), np.sin(ang)]), S, np.where(M @ B >= 0, a, b)
        return
    par, pos, neg, rep, U, V, m = _r3_setup(B, a, b)
    # vertices ±b_i × b_j of non-parallel pairs
    ii, jj = np.nonzero(np.triu(~par, 1))
    vert = _unit_rows(np.cross(B[:, ii].T, B[:, jj].T))
    yield np.vstack([vert, -vert]), np.zeros((0, 3, 2)), np.zeros((0, N))
    for i in np.nonzero(rep)[0]:
        if m[i] == 0:
            continue
        B2 = np.vstack([U[i] @ B[:, ~par[i]], V[i] @ B[:, ~par[i]]])
        _, mids = _circle_events(B2)
        P = np.cos(mids)[:, None] * U[i] + np.sin(mids)[:, None] * V[i]  # arc midpoints
        Z = P @ B
        D = np.where(Z >= 0, a, b)
        S2 = np.broadcast_to(np.stack([U[i], V[i]], axis=1), (mids.size, 3, 2))
        yield np.zeros((0, 3)), S2, D
        own = np.nonzero(par[i])[0]
        s_own = np.sign(B[:, own].T @ B[:, i])
        for side in (1.0, -1.0):
            Dc = D.copy()
            Dc[:, own] = np.where(side * s_own > 0, a, b)
            yield np.zeros((0, 3)), np.broadcast_to(np.eye(3), (mids.size, 3, 3)), Dc


def _naive_r3_group(Theta, B, a, b, pool):
    r"""Reference exact oracle for r ≤ 3: every face's top eigenvectors, all evaluated, no bound
    ordering (the baseline of ``benchmarks/bench_oracle.py`` and a cross-check in the tests)."""
    n_faces = 0
    for points, S, D in _faces_lowdim(B, a, b):
        pool.add(points)
        n_faces += points.shape[0]
        if D.shape[0] == 0:
            continue
        T = np.einsum("rn,sn,nk->srk", B, D, Theta, optimize=True)
        T = np.einsum("srq,srk->sqk", S, T)
        _, w = _top_eig(T)
        u = np.einsum("srq,sq->sr", S, w)
        pool.add(np.vstack([u, -u]))
        n_faces += D.shape[0]
    return n_faces


# ============================================================================================
# exact enumeration for any r and small N: all sign patterns in {−, 0, +}^N
# ============================================================================================
def _slope_table(n, a, b):
    bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
    return np.where(bits == 1, a, b)


def _zero_set_spaces(B, masks=None):
    r"""For every zero set ``Zs ⊂ {0..N-1}`` (bit masks, default all ``2^N``) yield ``(R, Q)``:
    the remaining coordinates and an orthonormal basis (r × q, q ≥ 1) of ``{c : B[:, Zs]ᵀ c = 0}``."""
    r, N = B.shape
    smax = np.linalg.norm(B, 2)
    tol = max(r, N) * np.finfo(float).eps * smax
    for mask in range(2**N) if masks is None else masks:
        Zs = [i for i in range(N) if mask >> i & 1]
        R = np.array([i for i in range(N) if not mask >> i & 1], dtype=int)
        if R.size == 0:
            continue
        if Zs:
            Uz, s, _ = np.linalg.svd(B[:, Zs], full_matrices=True)
            rank = int(np.sum(s > tol))
            Q = Uz[:, rank:]
        else:
            Q = np.eye(r)
        if Q.shape[1] == 0:
            continue
        yield R, Q


def _faces_3n_chunk(Theta, B, a, b, masks, thr, margin):
    r"""The faces of the zero sets ``masks`` (one chunk of the ``{−, 0, +}^N`` enumeration):
    on ``L = null(B[:, Zs]ᵀ)`` with basis ``Q`` the restricted form is ``T'T'ᵀ`` with
    ``T' = Qᵀ B_R D Θ_R``; its top eigenvector ``Q u`` is the candidate.  A face is kept only if
    ``+Qu`` or ``−Qu`` has the face's signs (exact membership test: the minimal face of a
    maximiser passes it) and its eigenvalue beats ``thr − margin``.  Returns
    ``(n_faces, bounds, candidates)``; a pure function, so chunks can run on other workers."""
    n_faces = 0
    bounds, cands = [np.zeros(0)], [np.zeros((0, B.shape[0]))]
    tables = {}
    bn = np.linalg.norm(B, axis=0)
    tol = 1e-10
    for R, Q in _zero_set_spaces(B, masks):
        nR = R.size
        if nR not in tables:
            sg = np.where(((np.arange(2**nR)[:, None] >> np.arange(nR)[None, :]) & 1) == 1, 1.0, -1.0)
            tables[nR] = (sg, np.where(sg > 0, a, b))
        sg, Dt = tables[nR]
        E = Q.T @ B[:, R]  # (q, nR)
        Tq = np.einsum("qi,pi,ik->pqk", E, Dt, Theta[R], optimize=True)
        n_faces += Dt.shape[0]
        lam, _ = _top_eig(Tq, need_vectors=False)
        keep = lam > thr - margin if np.isfinite(thr) else np.ones(lam.size, bool)
        keep &= lam > 0
        if not np.any(keep):
            continue
        _, u = _top_eig(Tq[keep])
        g = sg[keep] * (u @ E) / bn[R]  # signed, scaled z_j of +Qu on the face's coordinates
        ok_p = np.all(g >= -tol, axis=1)
        ok_m = np.all(g <= tol, axis=1)
        C = u @ Q.T
        bounds += [lam[keep][ok_p], lam[keep][ok_m]]
        cands += [C[ok_p], -C[ok_m]]
    return n_faces, np.concatenate(bounds), np.vstack(cands)


def _exact_3n_group(Theta, B, a, b, pool, scale2, client=None):
    r"""All faces ``(Zs, signs)`` by :func:`_faces_3n_chunk`, then evaluated in decreasing order
    of their bound.  With a ``dask.distributed`` client the ``2^N`` zero sets are split into one
    chunk per worker thread (the any-dimension case, where this enumeration dominates)."""
    thr, margin = pool.threshold, _margin(pool, scale2)
    N = B.shape[1]
    if client is None:
        parts = [_faces_3n_chunk(Theta, B, a, b, None, thr, margin)]
    else:
        n_chunks = max(1, 2 * sum(client.nthreads().values()))
        chunks = [range(i, 2**N, n_chunks) for i in range(n_chunks)]  # interleaved: balanced sizes
        futures = client.map(_faces_3n_chunk, [Theta] * n_chunks, [B] * n_chunks, [a] * n_chunks,
                             [b] * n_chunks, chunks, [thr] * n_chunks, [margin] * n_chunks, pure=False)
        parts = client.gather(futures)
    n_faces = sum(p[0] for p in parts)
    bounds = np.concatenate([p[1] for p in parts])
    cands = np.vstack([p[2] for p in parts])
    if bounds.size:
        _evaluate_sorted(pool, bounds, lambda idx: cands[idx], scale2)
    return n_faces


# ============================================================================================
# public: max_group_norm, group_norms
# ============================================================================================
def group_norms(Theta, B, activation, C) -> np.ndarray:
    r"""True values ``‖Θᵀ σ(Bᵀc)‖`` for the rows ``c`` of ``C`` (DESIGN §3.4).

    Parameters
    ----------
    Theta : array_like, shape (N, k) or (N,)
        Output-side weights (the dual residual of the group lasso).
    B : array_like, shape (r, N)
        Basis of the data range (columns ``b_i``).
    activation : Activation, str or (a, b)
        Positively homogeneous σ.
    C : array_like, shape (n, r) or (r,)
        Points (not normalised here).

    Returns
    -------
    ndarray, shape (n,) (shape () for a single ``c``)
    """
    act = require_homogeneous(activation)
    B = _check_basis(B)
    Th = _check_theta(Theta, B.shape[1])
    Cm = _matrix(C, "C", (1, 2))
    if Cm.shape[-1] != B.shape[0]:
        raise ValueError(f"C: expected shape (n, r) with r = {B.shape[0]} rows of B, got {Cm.shape}")
    out = _norms(Th, B, act.a, act.b, np.atleast_2d(Cm))
    return out[0] if Cm.ndim == 1 else out


def max_group_norm(
    Theta,
    B,
    activation,
    *,
    exact: bool = True,
    n_best: int = 1,
    rng=None,
    n_starts: int = 64,
    client=None,
    _method: str | None = None,
) -> GroupPrice:
    r"""The group-lasso pricing oracle ``m = max_{‖c‖=1} ‖Θᵀ σ(Bᵀc)‖`` (DESIGN §3.4).

    Parameters
    ----------
    Theta : array_like, shape (N, k) or (N,)
        Residual-side weights; in the depth-2 solver ``Θ = (2/N)(Y − Ŷ)`` (samples as rows).
    B : array_like, shape (r, N)
        Basis of the input range; ``z = Bᵀc``.
    activation : Activation, str or (a, b)
        Positively homogeneous σ with slopes ``(a, b)``.
    exact : bool, default True
        Use an exact enumeration when affordable (:func:`exact_affordable` on the rank of ``B``
        and the number of columns that matter); otherwise, or when False, a heuristic.
    n_best : int, default 1
        Return up to this many distinct good points (cosine < 1 − 1e-9), best first.
    rng : numpy Generator, int or None
        Randomness of the heuristic starts.
    n_starts : int, default 64
        Random starts of the heuristic (a few are also used to warm-start the exact search).
    client : dask.distributed.Client, optional
        Split the ``3^N`` sign-pattern enumeration (input rank ≥ 4) into chunks run on the
        client's workers; the result is identical to the serial one.

    Returns
    -------
    GroupPrice
        ``value`` = m; ``exact`` is True only when an enumeration proved it.

    Notes
    -----
    Exact paths (after dropping columns with ``b_i = 0`` or ``θ_i = 0`` and reducing ``B`` to its
    row rank ρ, which changes nothing):

    * ρ ≤ 2: rays and arcs, all evaluated;
    * ρ = 3: great circles / arcs / cells / vertices of the arrangement, ``O(N²)`` faces, bound
      ordered with early stop;
    * ρ ≥ 4 and ``3^N ≤ 2·10⁶``: all sign patterns in ``{−, 0, +}^N``.

    Examples
    --------
    >>> import numpy as np
    >>> B = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> res = max_group_norm(np.array([[1.0], [1.0]]), B, "relu")   # c = (1, 1)/√2
    >>> round(res.value, 6), res.exact
    (1.414214, True)
    """
    act = require_homogeneous(activation)
    B = _check_basis(B)
    Th = _check_theta(Theta, B.shape[1])
    n_best = _positive_int(n_best, "n_best")
    n_starts = _positive_int(n_starts, "n_starts", minimum=0)
    if not isinstance(exact, (bool, np.bool_)):
        raise ValueError(f"exact: expected a bool, got {exact!r}")
    rng = _rng(rng)
    a, b = float(act.a), float(act.b)
    r, N = B.shape

    # columns that cannot matter: b_i = 0 (z_i ≡ 0) or θ_i = 0
    keep = (np.linalg.norm(B, axis=0) > 0) & (np.linalg.norm(Th, axis=1) > 0)
    Bk, Tk = B[:, keep], Th[keep]
    scale2 = (max(abs(a), abs(b)) * float(np.sum(np.linalg.norm(Bk, axis=0) * np.linalg.norm(Tk, axis=1)))) ** 2
    if Bk.shape[1] == 0 or (a == 0 and b == 0):
        C = np.eye(r)[:1]
        return GroupPrice(0.0, C, np.zeros(1), bool(exact), "trivial (Θᵀσ(Bᵀc) ≡ 0)", 0, 0)
    Ured, Bk = _reduce_rank(Bk)
    rho, Nk = Bk.shape
    pool = _Pool(Tk, Bk, a, b, n_best)
    method = _method
    if method is None:
        if not exact:
            method = "heuristic"
        elif rho <= 2:
            method = "arrangement r<=2"
        elif rho == 3:
            method = "arrangement r=3"
        elif exact_affordable(rho, Nk):
            method = "sign patterns 3^N"
        else:
            method = "heuristic"
    n_faces = 0
    if method == "heuristic":
        _heuristic_group(Tk, Bk, a, b, pool, rng, n_starts)
        is_exact = False
        if exact:
            method = f"heuristic (exact enumeration not affordable: rank {rho}, N = {Nk})"
    elif method == "arrangement r<=2":
        n_faces = _exact_low_group(Tk, Bk, a, b, pool)
        is_exact = True
    elif method in ("arrangement r=3", "sign patterns 3^N"):
        _heuristic_group(Tk, Bk, a, b, pool, rng, min(n_starts, 8))
        if method == "arrangement r=3":
            n_faces = _exact_r3_group(Tk, Bk, a, b, pool, scale2)
        else:
            n_faces = _exact_3n_group(Tk, Bk, a, b, pool, scale2, client=client)
        is_exact = True
    elif method == "naive":  # reference enumeration (benchmarks, tests)
        if rho > 3:
            raise ValueError("_method='naive' needs rank(B) ≤ 3")
        n_faces = _naive_r3_group(Tk, Bk, a, b, pool)
        is_exact = True
    else:
        raise ValueError(f"_method: unknown {method!r}")

    C = pool.C if Ured is None else pool.C @ Ured.T
    C = _unit_rows(C)
    values = _norms(Th, B, a, b, C)  # re-evaluated on the original data
    order = np.argsort(-values, kind="stable")
    C, values = C[order], values[order]
    return GroupPrice(float(values[0]), C, values, bool(is_exact), method, int(n_faces), int(pool.n_evaluated))


# ============================================================================================
# public: price (general forms, DESIGN §3.3)
# ============================================================================================
def _bottom_vectors(M):
    """Bottom unit eigenvectors of a stack of symmetric matrices (n, q, q)."""
    _, W = np.linalg.eigh(M)
    return W[:, :, 0]


def price(
    G_K,
    G_sigma,
    *,
    activation,
    basis=None,
    exact: bool = True,
    rng=None,
    n_starts: int = 64,
) -> PriceResult:
    r"""The general pricing oracle of DESIGN §3.3: minimise ``zᵀ G_K z + σ(z)ᵀ G_σ σ(z)`` over
    ``z = basisᵀ c`` with ``‖c‖ = 1``.

    This prices a generator ``g(z) = (zzᵀ, σ(z)σ(z)ᵀ)`` of the cone ``S`` (paper §2–3) against
    the dual/gradient matrices ``(G_K, G_σ)``: a negative value is a column that improves the
    master problem; a nonnegative *exact* minimum proves that no generator does.

    Parameters
    ----------
    G_K, G_sigma : array_like, shape (N, N)
        Symmetric matrices.
    activation : Activation, str or (a, b)
        Positively homogeneous σ.
    basis : array_like, shape (r, N), optional
        Rows spanning the data range; default ``I_N``.
    exact : bool, default True
        Enumerate faces when affordable (rank of the basis ≤ 3, or ``N ≤ 13``), else a heuristic.
    rng : numpy Generator, int or None
        Randomness of the heuristic starts.
    n_starts : int, default 64
        Random starts of the heuristic.

    Returns
    -------
    PriceResult

    Notes
    -----
    On each face of the arrangement ``{c : b_iᵀc = 0}`` the objective is the form
    ``Q = B G_K Bᵀ + (B D) G_σ (B D)ᵀ``; the minimum over the sphere is attained at ``±`` the
    bottom eigenvector of some face's restricted form (the argument of the module docstring with
    max ↔ min).  All faces are enumerated and every candidate's true value evaluated — no bound
    ordering here (``O(N)``–``O(N²)`` work per face): correctness first; the group-lasso special
    case ``G_K = 0, G_σ = −ΘΘᵀ`` has the fast path :func:`max_group_norm`.
    """
    act = require_homogeneous(activation)
    GK = _matrix(G_K, "G_K")
    GS = _matrix(G_sigma, "G_sigma")
    if GK.shape[0] != GK.shape[1] or GK.shape[0] < 1:
        raise ValueError(f"G_K: expected a square (N, N) matrix, got shape {GK.shape}")
    N = GK.shape[0]
    if GS.shape != (N, N):
        raise ValueError(f"G_sigma: expected shape (N, N) = {(N, N)} like G_K, got {GS.shape}")
    for G, name in ((GK, "G_K"), (GS, "G_sigma")):
        if np.max(np.abs(G - G.T)) > 1e-10 * max(1.0, np.max(np.abs(G))):
            raise ValueError(f"{name}: expected a symmetric matrix")
    GK, GS = 0.5 * (GK + GK.T), 0.5 * (GS + GS.T)
    if basis is None:
        B = np.eye(N)
    else:
        B = _check_basis(basis)
        if B.shape[1] != N:
            raise ValueError(f"basis: expected shape (r, N) with N = {N} like G_K, got {B.shape}")
    if not isinstance(exact, (bool, np.bool_)):
        raise ValueError(f"exact: expected a bool, got {exact!r}")
    n_starts = _positive_int(n_starts, "n_starts", minimum=0)
    rng = _rng(rng)
    a, b = float(act.a), float(act.b)
    r = B.shape[0]

    def objective(C, Bm, K, S_):
        Z = C @ Bm
        Sz = _sigma(Z, a, b)
        return np.einsum("ij,ij->i", Z @ K, Z) + np.einsum("ij,ij->i", Sz @ S_, Sz)

    nz = np.linalg.norm(B, axis=0) > 0
    Bk, GKk, GSk = B[:, nz], GK[np.ix_(nz, nz)], GS[np.ix_(nz, nz)]
    if Bk.shape[1] == 0:
        c = np.eye(r)[0]
        return PriceResult(B.T @ c, c, 0.0, bool(exact), "trivial (basisᵀc ≡ 0)", 0)
    Ured, Br = _reduce_rank(Bk)
    rho, Nk = Br.shape
    w, Vs = np.linalg.eigh(GSk)
    sel = np.abs(w) > Nk * np.finfo(float).eps * max(1e-300, np.max(np.abs(w)))
    w, Vs = w[sel], Vs[:, sel]
    BKB = Br @ GKk @ Br.T
    cands = []
    n_faces = 0
    if exact and rho <= 3:
        method, is_exact = f"arrangement r={rho}", True
        for points, S, D in _faces_lowdim(Br, a, b):
            cands.append(points)
            n_faces += points.shape[0]
            if D.shape[0] == 0:
                continue
            T = np.einsum("rn,sn,nk->srk", Br, D, Vs, optimize=True)
            M = BKB[None] + np.einsum("sri,i,sti->srt", T, w, T)
            Mf = np.einsum("srq,srt,stp->sqp", S, M, S)
            y = np.einsum("srq,sq->sr", S, _bottom_vectors(Mf))
            cands += [y, -y]
            n_faces += D.shape[0]
    elif exact and exact_affordable(rho, Nk):
        method, is_exact = "sign patterns 3^N", True
        tables = {}
        for R, Q in _zero_set_spaces(Br):
            nR = R.size
            if nR not in tables:
                tables[nR] = _slope_table(nR, a, b)
            Dt = tables[nR]
            E = Q.T @ Br[:, R]
            ED = E[None, :, :] * Dt[:, None, :]
            M = (Q.T @ BKB @ Q)[None] + np.einsum("pqi,ij,ptj->pqt", ED, GSk[np.ix_(R, R)], ED, optimize=True)
            y = _bottom_vectors(M) @ Q.T
            cands += [y, -y]
            n_faces += Dt.shape[0]
    else:
        method = "heuristic" if not exact else f"heuristic (exact enumeration not affordable: rank {rho}, N = {Nk})"
        is_exact = False
        C = np.vstack([np.eye(rho), -np.eye(rho), rng.standard_normal((n_starts, rho))])
        C = _unit_rows(C)
        val = objective(C, Br, GKk, GSk)
        cands.append(C.copy())
        active = np.arange(C.shape[0])
        for _ in range(100):
            if active.size == 0:
                break
            D = np.where(C[active] @ Br >= 0, a, b)
            BD = Br[None] * D[:, None, :]
            M = BKB[None] + np.einsum("sri,ij,stj->srt", BD, GSk, BD, optimize=True)
            y = _bottom_vectors(M)
            vp, vm = objective(y, Br, GKk, GSk), objective(-y, Br, GKk, GSk)
            y = np.where((vm < vp)[:, None], -y, y)
            vy = np.minimum(vp, vm)
            cands.append(y)
            better = vy < val[active] - 1e-13 * np.abs(val[active]) - 1e-300
            C[active[better]], val[active[better]] = y[better], vy[better]
            active = active[better]
    C = _unit_rows(np.vstack(cands))
    vals = objective(C, Br, GKk, GSk)
    i = int(np.argmin(vals))
    c = C[i] if Ured is None else Ured @ C[i]
    value = float(objective(c[None], B, GK, GS)[0])
    if Ured is not None and value > 0:  # a direction the basis does not see: z = 0, value 0
        Uf, _, _ = np.linalg.svd(Bk, full_matrices=True)
        c, value = Uf[:, rho], 0.0
    return PriceResult(B.T @ c, c, value, is_exact, method, int(n_faces))

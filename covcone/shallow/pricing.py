r"""The pricing step of column generation: which oracle runs in a round, and the bound it proves.

docs/design.md §3.3.  The oracle is called in internal units on the unit
direction ``Θ̂ = Θ/‖Θ‖_F`` (so its tolerances see numbers of order one) and its value and bound
are scaled back: ``m(Θ) = ‖Θ‖_F · m(Θ̂)``.

Policy per round: a cheap multi-start heuristic first (≈100× faster than an enumeration); the
exact oracle when the heuristic finds nothing to add, and every 4th round so that the certificate
(which only a proven bound gives) is tracked.  Input rank ≤ 3 with at most
``EXACT_EVERY_ROUND_MAX_N`` samples: the exact oracle every round (there it costs about two
heuristic calls, and its columns and its bound every round save rounds: 2-D inputs + bias,
N = 50, 19/17/12 rounds → 14/13/11 on three seeds).  Where no exact enumeration is affordable the
anytime oracle runs, within its time budget, when the heuristic finds nothing: its proven upper
bound ``m̄`` gives a valid lower bound however early it stops.  A long vertex enumeration (input
rank ≥ 4) stops at the first value above what the heuristic had to beat: that column goes to the
master now, the next enumeration starts where it stopped (the vertices not yet seen first), and
only the enumeration at the last dual point has to run to the end (iris, N = 150, rank 5: ≈ 140 s
each).  Where that enumeration is long (more than ``LOCAL_MIN_FORMS`` forms) but within its budget
(``MAX_VERTEX_FORMS``: the certificate needs it once), the heuristic also
walks every face at the vertices of the planes nearest its candidates and the active columns
(``local=True`` of :func:`covcone.oracle.max_group_norm`, ≈ 0.5 s): the neurons that still price out
in the tail lie next to the active ones, and a full enumeration meets them only after an arbitrary
share of its vertices.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .bounds import spectral_bound

__all__ = ["Pricing", "PriceStep", "EXACT_EVERY_ROUND_MAX_N"]

EXACT_EVERY_ROUND_MAX_N = 64
LOCAL_MIN_FORMS = 1e8  # a vertex enumeration of more forms (≈ 20 s and more): the heuristic searches locally too


@dataclass
class PriceStep:
    """One round's pricing, in internal units: candidates, the best value found, a proven bound."""

    C: np.ndarray
    values: np.ndarray
    value: float
    bound: float
    exact: bool
    method: str
    seconds: float
    stats: dict = field(default_factory=dict)


class Pricing:
    """The pricing oracle of one solve (see the module docstring)."""

    def __init__(self, setup, *, exact_affordable: bool, n_add: int, rng, client=None, oracle=None):
        from ..oracle import max_group_norm

        self.setup, self.n_add, self.rng, self.client = setup, n_add, rng, client
        self.exact_affordable = exact_affordable
        self.custom = oracle
        self._mgn = max_group_norm
        self.low_rank = setup.r <= 3  # exact enumerations that need no time limit
        self.spec = spectral_bound(setup.Bs, setup.activation)
        self.max_faces = None  # 0 once the vertex enumeration failed on these data (then: branch and bound)
        self.resume_head = None  # where the last vertex enumeration stopped early: the next starts there
        self.progress = None  # a callable(text): where a long exact call is (``solve(verbose=True)``)
        from .. import oracle
        from ..oracle.vertices import face_count

        forms = face_count(setup.N, setup.r)  # (at most: merged planes only lower it)
        # where no complete enumeration is in budget the branch and bound ends the rounds, and a local
        # search would only keep them going (diabetes, rank 11: 34 rounds to the time limit, not 4)
        self.local = setup.r >= 4 and LOCAL_MIN_FORMS < forms <= oracle.MAX_VERTEX_FORMS

    def price(self, Theta, *, exact: bool, time_limit=None, n_best=None, starts=None, floor=0.0, stop_above=None,
              local=False):
        """One oracle call on ``Θ`` (internal units), outside the per-round policy of :meth:`round`
        (e.g. pricing an SDP's dual point once); ``floor`` (same units): values at or below it
        are not wanted, so an exact call proves only ``m ≤ max(value, floor)``.  The returned
        bound is a proven upper bound on the pricing value (exact, branch and bound or spectral).
        ``stop_above`` (same units): an expensive enumeration may stop once it has a value above it;
        ``local``: the heuristic also searches the faces around its candidates and ``starts``."""
        t0 = time.perf_counter()
        s = self.setup
        scale = float(np.linalg.norm(Theta))
        if scale == 0.0:
            C = np.eye(s.r)[:1]
            return PriceStep(C, np.zeros(1), 0.0, 0.0, True, "Θ = 0", 0.0)
        That = Theta / scale
        n_best = self.n_add if n_best is None else n_best
        if self.custom is not None:
            p = self.custom(That, s.Bs, s.activation, n_best, self.rng)
        else:
            kw = dict(n_best=n_best, exact=exact, rng=self.rng, starts=starts)
            if local:
                kw["local"] = True
            if exact and floor > 0:
                kw["floor"] = floor / scale
            if exact and stop_above is not None:
                kw["stop_above"] = stop_above / scale
                kw["_start_head"] = self.resume_head
            if exact and self.client is not None:
                kw["client"] = self.client
            if exact and time_limit is not None:
                kw["time_limit"] = time_limit
            if exact and self.max_faces is not None:
                kw["max_faces"] = self.max_faces
            if exact and self.progress is not None:
                kw["progress"] = self._reporter(scale)
            p = self._mgn(That, s.Bs, s.activation, **kw)
            stats = getattr(p, "stats", None) or {}
            why = str(stats.get("budget", ""))
            if exact and stop_above is not None:
                self.resume_head = stats.get("stopped_at_head")
            if "meet at one vertex" in why:
                self.max_faces = 0  # too degenerate for the enumeration: do not try again
        spec = float(np.linalg.norm(That, 2)) * self.spec * (1 + 1e-12)
        bound = getattr(p, "bound", None)
        if p.exact:
            bound = p.value if bound is None or not np.isfinite(bound) else bound
        elif bound is None or not np.isfinite(bound):
            bound = spec
        bound = max(min(bound, spec), p.value)  # both are valid upper bounds; never below a value found
        stats = dict(getattr(p, "stats", {}) or {})
        return PriceStep(p.C, np.asarray(p.values) * scale, float(p.value) * scale, float(bound) * scale,
                         bool(p.exact), str(p.method), time.perf_counter() - t0, stats)

    def _reporter(self, scale):
        """The oracle's ``progress`` callback for one call: one line of text for :attr:`progress`
        (vertices walked, or the branch and bound's nodes, open regions and bound; values relative
        to the threshold 2λ)."""
        unit = scale / (2.0 * self.setup.lam_v)

        def report(**kw):
            if "done" in kw:
                text = f"vertices {kw['done'] / max(kw['total'], 1):.0%} of {kw['total']:.2g}"
            else:
                text = f"B&B nodes {kw['nodes']:.3g}, open {kw['open']:.3g}, bound m̄/2λ {kw['bound'] * unit:.4g}"
            self.progress(f"{text}, best m/2λ {kw['best'] * unit:.6f}")

        return report

    def round(self, Theta, it: int, *, threshold: float, time_left=None, anytime_budget=None,
              starts=None, floor=None) -> PriceStep:
        """The pricing of round ``it`` (see the module docstring).  ``threshold`` = 2λ̃; ``starts``
        (the active columns) seed the heuristic's local ascent; ``floor`` (≥ threshold): the
        value an exact call needs to prove, ``m ≤ floor`` (the certificate needs no more), so
        faces and regions whose bound is at most ``floor`` are pruned."""
        floor = threshold if floor is None else max(float(floor), threshold)
        if self.custom is not None:
            return self.price(Theta, exact=False)
        if self.exact_affordable and self.low_rank:
            if it % 4 != 3 and self.setup.N > EXACT_EVERY_ROUND_MAX_N:
                heur = self.price(Theta, exact=False, starts=starts)
                if np.any(heur.values > max(threshold * (1 + 1e-6), floor)):
                    return heur
            return self.price(Theta, exact=True, floor=floor)
        heur = self.price(Theta, exact=False, starts=starts, local=self.local)
        if np.any(heur.values > max(threshold * (1 + 1e-6), floor)):
            return heur  # neurons the certificate needs: no exact call this round
        # input rank ≥ 4: the exact enumeration or the anytime branch and bound, within a budget
        budget = anytime_budget if time_left is None else min(anytime_budget, max(0.0, time_left))
        if self.max_faces == 0 or not self.exact_affordable:  # branch and bound only: a share per call
            budget = min(budget, max(10.0, 0.25 * budget))
        if budget <= 0:
            if time_left is not None and time_left <= 0:  # the caller says why the round ends unproven
                heur.stats["budget"] = "no time left for an exact call"
            return heur
        # a value above what the heuristic had to beat ends a long enumeration: a column for the
        # master now, the full enumeration (the certificate) at a later, better dual point
        step = self.price(Theta, exact=True, time_limit=budget, starts=starts, floor=floor,
                          stop_above=max(threshold * (1 + 1e-6), floor))
        if heur.value > step.value:  # keep the better candidates, the proven bound
            step = PriceStep(heur.C, heur.values, heur.value, max(step.bound, heur.value), step.exact,
                             step.method, step.seconds + heur.seconds, step.stats)
        return step

r"""scikit-learn estimators around :func:`covcone.solve`.

:class:`CovconeRegressor` (MSE) and :class:`CovconeClassifier` (softmax cross-entropy) fit an
L2-regularised network with a positively homogeneous σ, ``C(Ŷ) + λ Σ_ℓ ‖W_ℓ‖_F²`` (Jacot,
Golikov, Hongler & Gabriel, NeurIPS 2022, §2), by the covariance-cone solver.  At depth 2 the fit
is a convex program solved by column generation with an exact pricing oracle (docs/design.md §3.4), so
a fitted estimator says whether its training loss is the *certified global optimum*
(``certified_``, ``gap_``, ``upper_bound_``, ``lower_bound_``); a depth-2 fit that stops
uncertified emits one short :class:`~sklearn.exceptions.ConvergenceWarning` (one line, e.g.
``CovconeRegressor: not certified (gap 3.0e-03 > tol 1e-06); see .result_.message``) and keeps
the details on ``result_`` (the solver's message, bounds, history).

Samples are rows, as everywhere in scikit-learn.  The estimators work in a
:class:`~sklearn.pipeline.Pipeline` (e.g. after a ``StandardScaler``) and in
:class:`~sklearn.model_selection.GridSearchCV` (e.g. over ``lam``).  Needs the ``sklearn`` extra
(``pip install 'covcone[sklearn]'``).

scikit-learn's estimator checks
-------------------------------
Both estimators pass every check of :func:`sklearn.utils.estimator_checks.check_estimator`
(scikit-learn 1.9.1, ``legacy=True``) with no expected failure, when built as
``Est(max_rounds=3, method="heuristic")`` (``tests/test_sklearn.py``).  The checks fit dozens of
times on up to 300 points with up to 10 features: there the exact oracle is not affordable, and
with ``method="auto"`` each fit also solves the lifted relaxation's dual program for a lower
bound (on all points when N ≤ ``lifted_max_n`` (120), on groups of points beyond; seconds to
minutes per fit), while a certified fit is not what the checks test.  The defaults keep
``tol=1e-6`` and the solver's own iteration limits; the small budget is set only by the test,
and the ``ConvergenceWarning`` of those uncertified fits is silenced there.  No tag relaxes a check (no ``poor_score``, no ``non_deterministic``).

Checks that scikit-learn itself skips for environment reasons, not because of covcone:

* ``check_array_api_input`` — skipped unless ``SCIPY_ARRAY_API=1`` is set (and the estimators
  declare no array-API support: covcone computes in numpy);
* ``check_regressor_data_not_an_array`` / ``check_classifier_data_not_an_array`` — skipped when
  pandas is not installed (they pass when it is).
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import LabelEncoder
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, check_random_state
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("covcone.sklearn needs scikit-learn: pip install 'covcone[sklearn]'") from exc

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # pragma: no cover - scikit-learn < 1.6
    _sk_validate_data = None

__all__ = ["CovconeRegressor", "CovconeClassifier"]


def _validate(est, X, y="no_validation", *, reset: bool, **kw):
    """``validate_data`` (scikit-learn ≥ 1.6) or the older ``BaseEstimator._validate_data``."""
    if _sk_validate_data is not None:
        return _sk_validate_data(est, X, y, reset=reset, **kw)
    return est._validate_data(X, y, reset=reset, **kw)  # pragma: no cover


def _uncertified_message(name: str, gap: float, tol: float) -> str:
    """One line: which estimator, the gap against the tolerance, where the details are."""
    why = f"gap {gap:.1e} > tol {tol:.0e}" if np.isfinite(gap) else "no valid lower bound"
    return f"{name}: not certified ({why}); see .result_.message"


class _CovconeBase(BaseEstimator):
    r"""Shared parameters and fitting of the covcone estimators (not public)."""

    _cost = "mse"

    def __init__(self, *, depth=2, activation="relu", lam=1e-2, beta=1.0, method="auto", tol=1e-6,
                 solver=None, solver_opts=None, time_limit=None, max_rounds=None, n_add=None,
                 random_state=None, verbose=False):
        self.depth = depth
        self.activation = activation
        self.lam = lam
        self.beta = beta
        self.method = method
        self.tol = tol
        self.solver = solver
        self.solver_opts = solver_opts
        self.time_limit = time_limit
        self.max_rounds = max_rounds
        self.n_add = n_add
        self.random_state = random_state
        self.verbose = verbose

    # -- fitting ---------------------------------------------------------------------------
    def _solve(self, X, Y):
        from .api import solve

        options = {}
        for name in ("max_rounds", "n_add"):
            val = getattr(self, name)
            if val is None:
                continue  # the solver's default
            if isinstance(val, bool) or not isinstance(val, numbers.Integral) or val < 1:
                raise ValueError(f"{name}: expected a positive integer or None, got {val!r}")
            options[name] = int(val)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        res = solve(
            X, Y, depth=self.depth, activation=self.activation, lam=self.lam, beta=self.beta, cost=self._cost,
            method=self.method, tol=self.tol, solver=self.solver, solver_opts=self.solver_opts,
            time_limit=self.time_limit, rng=seed, verbose=self.verbose, **options,
        )
        if res.network is None:
            raise RuntimeError(f"covcone fit failed: {res.message}")
        self.result_ = res
        self.network_ = res.network
        self.upper_bound_ = float(res.upper)
        self.lower_bound_ = float(res.lower)
        self.gap_ = float(res.gap)
        self.certified_ = bool(res.certified)
        self.n_neurons_ = int(res.n_neurons)
        if not res.certified and int(self.depth) == 2:
            warnings.warn(_uncertified_message(type(self).__name__, self.gap_, res.tol), ConvergenceWarning,
                          stacklevel=3)
        return self

    def _forward(self, X):
        check_is_fitted(self, "network_")
        X = _validate(self, X, reset=False, dtype=np.float64)
        return self.network_.forward(X)

    # -- tags ------------------------------------------------------------------------------
    def __sklearn_tags__(self):  # scikit-learn >= 1.6
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"allow_nan": False}


class CovconeRegressor(RegressorMixin, _CovconeBase):
    r"""L2-regularised homogeneous network, MSE cost, trained to certified global optimality.

    Minimises ``(1/N)‖f(X) − Y‖_F² + λ Σ_ℓ ‖W_ℓ‖_F²`` by :func:`covcone.solve`.

    Parameters
    ----------
    depth : int, default=2
        L ≥ 2 weight matrices.  Depth 2 is convex and certified; deeper networks use the
        layerwise solver (no global certificate, and no convergence warning for it).
    activation : str, pair (a, b) or Activation, default="relu"
        Positively homogeneous σ (relu, leaky_relu, absolute, linear, …).
    lam : float, default=1e-2
        Weight decay λ > 0.  The MSE is not rescaled: scale ``y`` (e.g. with
        :class:`~sklearn.compose.TransformedTargetRegressor`) or tune ``lam`` with it.
    beta : float, default=1.0
        Bias amount β ≥ 0 (the package-wide default: networks have biases; 0 removes them).
    method, tol, solver, solver_opts, time_limit
        As in :func:`covcone.solve` (``tol=1e-6`` on the relative gap).
    max_rounds : int, optional
        Column-generation rounds (``solve(..., max_rounds=)``); None: the solver's default.
    n_add : int, optional
        Columns added per round; None: the solver's default.
    random_state : int, RandomState or None
        Seeds the solver (random initial columns; the heuristic oracle).
    verbose : bool, default=False
        Progress bar.

    Attributes
    ----------
    network_ : covcone.Network
        The fitted network (``network_.to_torch()`` exports it).
    upper_bound_, lower_bound_ : float
        Training loss of ``network_`` (forward pass) and a valid lower bound on the optimum.
    gap_ : float
        ``(upper − lower) / max(1, |upper|)``.
    certified_ : bool
        True when the gap is within ``tol`` with a valid lower bound.
    n_neurons_ : int
        Hidden neurons of ``network_`` (depth 2).
    result_ : covcone.SolveResult
        Everything the solver returned (message, timings, history, …).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.

    Notes
    -----
    See the module docstring for :func:`~sklearn.utils.estimator_checks.check_estimator`.

    Examples
    --------
    >>> import numpy as np
    >>> from covcone.sklearn import CovconeRegressor
    >>> X = np.linspace(-1, 1, 12)[:, None]
    >>> reg = CovconeRegressor(lam=1e-2, random_state=0).fit(X, np.abs(X).ravel())
    >>> bool(reg.certified_)
    True
    """

    _cost = "mse"

    def fit(self, X, y):
        """Fit the network on ``X`` (n_samples, n_features) and ``y`` (n_samples,) or
        (n_samples, n_outputs)."""
        X, y = _validate(self, X, y, reset=True, dtype=np.float64, multi_output=True, y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        self._y_1d = y.ndim == 1
        return self._solve(X, y[:, None] if self._y_1d else y)

    def predict(self, X):
        """Network outputs; shape (n_samples,) when fitted on a 1-D ``y``."""
        out = self._forward(X)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _more_tags(self):
        return {**super()._more_tags(), "multioutput": True}


class CovconeClassifier(ClassifierMixin, _CovconeBase):
    r"""L2-regularised homogeneous network, softmax cross-entropy, certified global optimum.

    Minimises ``(1/N) Σ_i [logsumexp(f(x_i)) − f(x_i)_{y_i}] + λ Σ_ℓ ‖W_ℓ‖_F²`` with one output
    per class (two for a binary problem) by :func:`covcone.solve` with
    ``cost="cross_entropy"``.  Parameters, fitted attributes and notes as for
    :class:`CovconeRegressor`, plus ``classes_``.

    Attributes
    ----------
    classes_ : ndarray
        The class labels, in the order of the network's outputs.

    Examples
    --------
    >>> import numpy as np
    >>> from covcone.sklearn import CovconeClassifier
    >>> X = np.array([[-2.0, 0], [-1, 1], [1, -1], [2, 0]])
    >>> clf = CovconeClassifier(lam=1e-2, random_state=0).fit(X, ["a", "a", "b", "b"])
    >>> clf.predict([[-3.0, 0], [3, 0]]).tolist()
    ['a', 'b']
    """

    _cost = "cross_entropy"

    def fit(self, X, y):
        """Fit on ``X`` (n_samples, n_features) and class labels ``y`` (n_samples,)."""
        X, y = _validate(self, X, y, reset=True, dtype=np.float64)
        check_classification_targets(y)
        enc = LabelEncoder()
        labels = enc.fit_transform(y)
        if enc.classes_.size < 2:
            raise ValueError(f"y: expected at least 2 classes, got 1 class ({enc.classes_[0]!r})")
        self.classes_ = enc.classes_
        return self._solve(X, labels)

    def decision_function(self, X):
        """Logits (n_samples, n_classes); for two classes the logit difference (n_samples,)."""
        Z = self._forward(X)
        return Z[:, 1] - Z[:, 0] if Z.shape[1] == 2 else Z

    def predict_proba(self, X):
        """Softmax of the network outputs, (n_samples, n_classes)."""
        from scipy.special import softmax

        return softmax(self._forward(X), axis=1)

    def predict_log_proba(self, X):
        """Log-softmax of the network outputs."""
        from scipy.special import log_softmax

        return log_softmax(self._forward(X), axis=1)

    def predict(self, X):
        """The class of the largest output."""
        Z = self._forward(X)
        return self.classes_[np.argmax(Z, axis=1)]

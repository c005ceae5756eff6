r"""A certified ReLU network inside a scikit-learn pipeline, with λ chosen by cross-validation.

Each fit of :class:`covcone.sklearn.CovconeRegressor` solves the depth-2 L2-regularised training
problem to its *global* optimum and says so (``certified_``, with an upper and a lower bound on
the training loss).  Needs ``pip install 'covcone[sklearn]'``.

    python examples/sklearn_pipeline.py
"""
import numpy as np
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from covcone.sklearn import CovconeClassifier, CovconeRegressor

rng = np.random.default_rng(0)
X = rng.uniform(-3, 3, (80, 2)) * [1.0, 10.0]  # features on different scales
y = np.abs(X[:, 0]) - np.sin(X[:, 1] / 5) + 0.1 * rng.standard_normal(80)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

# 1. regression: scale the inputs, pick λ by 3-fold cross-validation
pipe = make_pipeline(StandardScaler(), CovconeRegressor(random_state=0))
search = GridSearchCV(pipe, {"covconeregressor__lam": [1e-1, 1e-2, 1e-3]}, cv=3).fit(X_train, y_train)
reg = search.best_estimator_[-1]
print(f"best λ = {search.best_params_['covconeregressor__lam']:g}, test R² = {search.score(X_test, y_test):.3f}")
print(f"training loss {reg.upper_bound_:.6f} ≥ global optimum ≥ {reg.lower_bound_:.6f}: "
      f"certified = {reg.certified_}, {reg.n_neurons_} hidden neurons")

# 2. classification (softmax cross-entropy) with probabilities
labels = np.where(y_train > np.median(y_train), "high", "low")
clf = make_pipeline(StandardScaler(), CovconeClassifier(lam=1e-2, random_state=0)).fit(X_train, labels)
print(f"classes {clf.classes_.tolist()}, P(first test point) = {np.round(clf.predict_proba(X_test[:1])[0], 3)}, "
      f"certified = {clf[-1].certified_}")

# 3. the fitted network is a plain covcone.Network: evaluate it, save it, or export it to torch
net = reg.network_
print(f"network widths {net.widths}, ‖W‖² = {net.squared_norm():.4f}")

"""Quick start: a depth-2 ReLU network trained to a certified global optimum.

Run:  python examples/quickstart.py
"""
import numpy as np

import covcone

rng = np.random.default_rng(0)
X = rng.uniform(-1, 1, size=(40, 2))  # 40 points in the plane (samples as rows)
Y = np.stack([np.sin(3 * X[:, 0]) * X[:, 1], np.abs(X[:, 0]) - X[:, 1] ** 2], axis=1)

lam = 1e-3
res = covcone.solve(X, Y, activation="relu", lam=lam, beta=1.0, cost="mse")
print(res.message)
print(f"upper (loss of the returned network) = {res.upper:.8f}")
print(f"lower (valid bound on the optimum)   = {res.lower:.8f}")
print(f"hidden neurons: {res.n_neurons}  (the theory allows at most N(N+1) = {40 * 41})")

# The upper bound is the network's own loss, evaluated by a plain forward pass:
net = res.network
assert abs(net.loss(X, Y, lam=lam) - res.upper) <= 1e-9 * max(1.0, res.upper)

# Is a network trained elsewhere globally optimal?  certify() answers with a gap.
W1, W2 = net.weights
perturbed = covcone.Network([W1 * 1.02, W2], "relu", beta=1.0)
cert = covcone.certify(perturbed, X, Y, lam=lam)
print(cert.message)

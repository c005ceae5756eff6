"""The paper's N²/4 example (Jacot et al., NeurIPS 2022, §4.2), verified by covcone.

Inputs X = I_N, targets Y_N = [[N/2·I, 1], [1, N/2·I]] (the complete bipartite graph K_{N/2,N/2}).
The cheapest ReLU network interpolating them costs exactly N² and needs N²/4 hidden neurons, one
per edge.  `verify_tight` measures each claim: a network's forward-pass loss against a valid lower
bound, its hidden covariances, its neurons, and a lower bound on the number of neurons.
"""
from covcone.tight import tight_example, verify_tight

N = 6  # any even N; N = 40 takes well under a minute
X, Y = tight_example(N)
print("Y_N =")
print(Y)
report = verify_tight(N)
print(report.table())
print("first-layer weights of the recovered network (one row per neuron = one edge):")
print(report.network.weights[0][:, :-1].round(6))

r"""Compress a network trained by torch (gradient descent with weight decay): same loss, fewer neurons."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from covcone.decompose import compress  # noqa: E402
from covcone.network import Network  # noqa: E402


@pytest.mark.torch
@pytest.mark.slow
def test_compress_torch_trained_network():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    N, n0, k, width, lam = 10, 2, 1, 200, 1e-3
    X = rng.standard_normal((N, n0))
    Y = np.sin(X @ np.array([[1.5], [-1.0]]))
    model = torch.nn.Sequential(
        torch.nn.Linear(n0, width), torch.nn.ReLU(), torch.nn.Linear(width, k)
    ).double()
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(400):
        opt.zero_grad()
        reg = sum((p**2).sum() for p in model.parameters())
        loss = ((model(Xt) - Yt) ** 2).sum() / N + lam * reg
        loss.backward()
        opt.step()
    net = Network.from_torch(model, beta=1.0)
    # the covcone network computes the same function and the same loss as torch
    assert np.allclose(net.forward(X), model(Xt).detach().numpy(), rtol=1e-12, atol=1e-12)
    before = net.loss(X, Y, lam=lam)
    assert before == pytest.approx(float(loss.detach()), rel=1e-2)

    res = compress(net, X)
    after = res.network.loss(X, Y, lam=lam)
    print(f"hidden neurons {net.widths[1]} -> {res.network.widths[1]}, loss {before:.10g} -> {after:.10g}")
    assert res.network.widths[1] <= N * (N + 1)
    assert res.network.widths[1] < width // 2
    assert res.output_error < 1e-8
    # the loss is not higher; the data term is unchanged to 1e-8
    assert after <= before + 1e-8 * abs(before)
    data_before = np.sum((net.forward(X) - Y) ** 2) / N
    data_after = np.sum((res.network.forward(X) - Y) ** 2) / N
    assert data_after == pytest.approx(data_before, rel=1e-8, abs=1e-12)

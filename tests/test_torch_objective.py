"""torch's objective (loss + weight decay) equals scale × covcone's objective, and what cannot map is refused."""
import numpy as np
import pytest

from covcone.torch_objective import certify_torch, torch_objective, torch_objective_value

torch = pytest.importorskip("torch")
nn = torch.nn


def _model(d, h, k, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, k)).double()


def _data(N=9, d=3, k=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, d)), rng.standard_normal((N, k)), rng.integers(0, k, N)


def _raw_torch_objective(model, X, Y, wd, reduction, cost):
    """T = loss_torch + (wd/2)Σ‖p‖², written out independently of the module under test."""
    Xt = torch.tensor(X)
    out = model(Xt)
    if cost == "mse":
        loss = nn.MSELoss(reduction=reduction)(out, torch.tensor(Y))
    else:
        loss = nn.CrossEntropyLoss(reduction=reduction)(out, torch.tensor(Y, dtype=torch.int64))
    return loss + wd / 2 * sum((p**2).sum() for p in model.parameters())


@pytest.mark.parametrize("cost", ["mse", "cross_entropy"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_torch_objective_is_scale_times_covcone_objective(cost, reduction):
    from covcone import Network

    X, Y, labels = _data()
    Yc = Y if cost == "mse" else labels
    model = _model(3, 5, 2)
    wd = 3e-2
    m = torch_objective(wd, reduction=reduction, cost=cost, k=2, N=9)
    T = float(_raw_torch_objective(model, X, Yc, wd, reduction, cost).detach())
    J = Network.from_torch(model, beta=m["beta"]).loss(X, Yc, lam=m["lam"], cost=cost)
    assert T == pytest.approx(m["scale"] * J, rel=1e-10, abs=1e-12)
    assert torch_objective_value(model, X, Yc, weight_decay=wd, reduction=reduction, cost=cost) == pytest.approx(
        J, rel=1e-10)


def test_closed_forms():
    assert torch_objective(0.1, reduction="mean", k=4)["lam"] == pytest.approx(0.2)  # wd·k/2
    assert torch_objective(0.1, reduction="mean", k=4)["scale"] == pytest.approx(0.25)
    assert torch_objective(0.1, reduction="sum", N=10)["lam"] == pytest.approx(0.005)  # wd/(2N)
    assert torch_objective(0.1, reduction="sum", N=10)["scale"] == 10
    assert torch_objective(0.1, reduction="mean", cost="cross_entropy")["lam"] == pytest.approx(0.05)  # wd/2
    assert torch_objective(0.1, reduction="mean", cost="cross_entropy")["scale"] == 1.0


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_optimizer_weight_decay_is_the_l2_gradient(opt_name):
    """One step with weight_decay=wd equals one step on loss + (wd/2)Σ‖p‖² without it."""
    X, Y, _ = _data()
    wd, lr = 0.05, 0.1
    a, b = _model(3, 4, 2, seed=1), _model(3, 4, 2, seed=1)
    Opt = torch.optim.SGD if opt_name == "sgd" else torch.optim.Adam
    oa = Opt(a.parameters(), lr=lr, weight_decay=wd)
    ob = Opt(b.parameters(), lr=lr)
    for _ in range(3):
        oa.zero_grad()
        nn.MSELoss()(a(torch.tensor(X)), torch.tensor(Y)).backward()
        oa.step()
        ob.zero_grad()
        _raw_torch_objective(b, X, Y, wd, "mean", "mse").backward()
        ob.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa, pb, rtol=1e-12, atol=1e-14)


def test_adamw_step_is_not_the_l2_gradient():
    """The reason AdamW is refused: its step differs from Adam on loss + (wd/2)‖p‖²."""
    X, Y, _ = _data()
    a, b = _model(3, 4, 2, seed=2), _model(3, 4, 2, seed=2)
    oa = torch.optim.AdamW(a.parameters(), lr=0.1, weight_decay=0.5)
    ob = torch.optim.Adam(b.parameters(), lr=0.1)
    for _ in range(3):
        oa.zero_grad()
        nn.MSELoss()(a(torch.tensor(X)), torch.tensor(Y)).backward()
        oa.step()
        ob.zero_grad()
        _raw_torch_objective(b, X, Y, 0.5, "mean", "mse").backward()
        ob.step()
    assert any(not torch.allclose(pa, pb, rtol=1e-6) for pa, pb in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("kwargs, match", [
    ({"optimizer": "adamw", "k": 1}, "AdamW"),
    ({"decay_biases": False, "k": 1}, "decay_biases"),
    ({"reduction": "none", "k": 1}, "reduction"),
    ({"optimizer": "lbfgs", "k": 1}, "optimizer"),
    ({"cost": "interpolate", "k": 1}, "cost"),
    ({"reduction": "sum"}, "N"),
    ({"reduction": "mean"}, "k"),
])
def test_refusals(kwargs, match):
    with pytest.raises(ValueError, match=match):
        torch_objective(1e-3, **kwargs)


@pytest.mark.parametrize("wd", [0, -1.0, float("nan"), True, "1e-3"])
def test_bad_weight_decay(wd):
    with pytest.raises(ValueError, match="weight_decay"):
        torch_objective(wd, k=1)


def test_certify_torch_trained_model_in_both_units():
    """A torch model trained with Adam(weight_decay): covcone's loss × scale is torch's objective,
    and the certified optimum is not above it."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 2))
    Y = np.abs(X[:, :1]) - 0.5
    wd = 1e-2
    model = _model(2, 8, 1, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=wd)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    for _ in range(300):
        opt.zero_grad()
        nn.MSELoss()(model(Xt), Yt).backward()
        opt.step()
    res, m = certify_torch(model, X, Y, weight_decay=wd, reduction="mean", optimizer="adam")
    T = float(_raw_torch_objective(model, X, Y, wd, "mean", "mse").detach())
    assert res.loss * m["scale"] == pytest.approx(T, rel=1e-10)
    assert res.lower <= res.loss + 1e-12
    assert res.optimum is not None and res.optimum <= res.loss * (1 + 1e-9)
    with pytest.raises(ValueError, match="not both"):
        certify_torch(model, X, Y, weight_decay=wd, lam=1e-2)
    with pytest.raises(ValueError, match="β = 1"):
        certify_torch(model, X, Y, weight_decay=wd, beta=2.0)


def test_lam_from_weight_decay_reads_k_and_N_from_the_data():
    from covcone.torch_objective import lam_from_weight_decay

    X = np.zeros((8, 3))
    lam, beta, m = lam_from_weight_decay(X, np.zeros((8, 4)), weight_decay=0.1)
    assert (lam, beta, m["scale"]) == (pytest.approx(0.2), 1.0, pytest.approx(0.25))  # wd·k/2, k = 4
    lam, _, _ = lam_from_weight_decay(X, np.zeros(8), weight_decay=0.1)  # 1-D Y: one output
    assert lam == pytest.approx(0.05)
    lam, _, m = lam_from_weight_decay(X, np.array([0, 2, 1, 0, 0, 1, 2, 2]), weight_decay=0.1, cost="cross_entropy",
                                      reduction="sum")
    assert lam == pytest.approx(0.1 / 16) and m["scale"] == 8
    with pytest.raises(ValueError, match="not both"):
        lam_from_weight_decay(X, np.zeros(8), weight_decay=0.1, lam=0.1)
    with pytest.raises(ValueError, match="β = 1"):
        lam_from_weight_decay(X, np.zeros(8), weight_decay=0.1, beta=0.0)
    with pytest.raises(ValueError, match="AdamW"):
        lam_from_weight_decay(X, np.zeros(8), weight_decay=0.1, optimizer="adamw")

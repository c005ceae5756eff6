"""The partition bound (covcone/shallow/partition.py): the objective's split over groups of samples
checked on networks by their forward pass, the bound against certified optima and trained
networks, and its use by ``solve`` beyond ``lifted_max_n``."""
import itertools
import time

import numpy as np
import pytest

import covcone
from covcone.network import Network
from covcone.problem import Problem
from covcone.shallow.partition import MIN_GROUP, group_problem, partition_bound, partition_groups, partition_size


def _random_net(rng, d, k, width, activation, beta):
    W1 = rng.standard_normal((width, d + 1))
    W2 = rng.standard_normal((k, width + 1))
    if beta == 0:
        W1[:, -1] = 0.0
        W2[:, -1] = 0.0
    return Network([W1, W2], activation, beta)


@pytest.mark.parametrize("cost,beta,act", [("mse", 1.0, "relu"), ("mse", 0.0, "abs"), ("cross_entropy", 1.0, "relu"),
                                           ("cross_entropy", 0.5, "leaky_relu")])
def test_the_objective_splits_over_the_groups(cost, beta, act):
    """F(f) = Σ_g (|G_g|/N)·F_g(f) for every network, with λ_g = λN/(M|G_g|) — unequal groups
    included (N = 23 in groups of ≤ 6) — by the forward pass of each problem."""
    rng = np.random.default_rng(5)
    N, d, k = 23, 3, 3
    X = rng.standard_normal((N, d))
    Y = rng.integers(0, k, N) if cost == "cross_entropy" else rng.standard_normal((N, k))
    p = Problem(X, Y, activation=act, lam=0.07, beta=beta, cost=cost)
    groups = partition_groups(N, 6, rng=1)
    assert sorted(len(g) for g in groups) == [5, 6, 6, 6]
    for _ in range(3):
        net = _random_net(rng, d, k, 5, p.activation, beta)
        split = sum(len(g) / N * group_problem(p, g, len(groups)).loss(net) for g in groups)
        assert split == pytest.approx(p.loss(net), rel=1e-12)


def test_groups_cover_every_sample_once():
    for N, size in [(40, 20), (41, 20), (200, 34), (57, 57)]:
        groups = partition_groups(N, size, rng=0)
        idx = np.concatenate(groups)
        assert np.array_equal(np.sort(idx), np.arange(N))
        assert max(map(len, groups)) <= size and len(groups) == -(-N // size)


def test_group_sizes_follow_the_budget():
    assert partition_size(30, 11, 1, 1e9, 120) is None  # too few samples to split
    assert partition_size(200, 11, 1, 1e9, MIN_GROUP - 1) is None  # lifted_max_n below a group
    assert partition_size(10_000, 11, 1, 10.0, 120) is None  # 500 groups do not fit in 10 s
    sizes = [partition_size(200, 11, 1, b, 120) for b in (30, 100, 1000, 1e9)]
    assert sizes[-1] == 100 and all(a <= b for a, b in itertools.pairwise(sizes)), sizes


@pytest.mark.parametrize("cost", ["mse", "cross_entropy"])
def test_below_the_certified_optimum(cost):
    """2-D inputs, N = 48: the exact solve certifies the optimum; the partition bound (two groups of
    24) is below it and means something."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((48, 2))
    Y = np.sin(2 * X[:, :1]) if cost == "mse" else (X[:, 0] * X[:, 1] > 0).astype(int)
    exact = covcone.solve(X, Y, lam=0.02, beta=1.0, cost=cost)
    assert exact.certified, exact.message
    p = Problem(X, Y, lam=0.02, beta=1.0, cost=cost)
    value, info = partition_bound(p, 24, rng=0)
    assert info["groups"] == 2 and info["solved"] == 2 and not info["failures"]
    assert value <= exact.upper * (1 + 1e-7)
    assert value >= 0.3 * exact.upper, (value, exact.upper)


def test_below_trained_networks_at_high_rank_and_anytime():
    """Input rank 8, N = 60 (no exact oracle): the bound from three groups stays below networks
    trained in parameter space (independent code); with no time the groups count by their
    spectral bounds only — weaker, still below."""
    from reference import local_search

    rng = np.random.default_rng(8)
    X = rng.standard_normal((60, 7))
    Y = np.sin(X[:, :1]) + 0.1 * rng.standard_normal((60, 1))
    p = Problem(X, Y, lam=0.05, beta=1.0)
    trained = local_search(X, Y, ab=(1.0, 0.0), lam=0.05, beta=1.0, width=12, starts=2)
    value, info = partition_bound(p, 20, rng=0)
    assert info["solved"] == 3 and value <= trained.hi * (1 + 1e-9)
    none, info0 = partition_bound(p, 20, rng=0, deadline=time.perf_counter() - 1.0)
    assert info0["solved"] == 0 and 0.0 <= none < value


def test_interpolation_is_refused():
    p = Problem(np.eye(4), np.eye(4), cost="interpolate")
    with pytest.raises(ValueError, match="cost"):
        partition_bound(p, 2)


@pytest.mark.parametrize("size", [0, -3, 2.5, True, None])
def test_a_bad_group_size_is_refused_by_name(size):
    p = Problem(np.eye(4), np.eye(4)[:, :1], lam=0.1)
    with pytest.raises(ValueError, match="size: expected an integer"):
        partition_bound(p, size)


def test_solve_uses_it_beyond_lifted_max_n():
    """N = 60 at rank 8 with ``lifted_max_n=25``: the whole program is not allowed, groups of ≤ 25
    samples are; the result names the source and the note says how many groups were solved."""
    rng = np.random.default_rng(9)
    X = rng.standard_normal((60, 7))
    Y = np.sin(X[:, :1]) + 0.1 * rng.standard_normal((60, 1))
    res = covcone.solve(X, Y, lam=0.05, beta=1.0, lifted_max_n=25, oracle_time=1.0, gradient_starts=0, max_rounds=20,
                        time_limit=120)
    assert res.lower_from == "lifted SDP dual on sample groups", res.message
    assert "N = 60 > lifted_max_n = 25" in res.message and "random groups of ≤ 2" in res.message
    assert 0.0 < res.lower <= res.upper
    interp = covcone.solve(X[:45], np.sin(X[:45, :2]), cost="interpolate", lifted_max_n=25, oracle_time=1.0,
                           gradient_starts=0, max_rounds=5)
    assert interp.certified or "lifted SDP skipped: N = 45 > lifted_max_n = 25" in interp.message


def test_groups_that_finish_early_make_room_for_the_whole_program(monkeypatch):
    """Estimates 5× too high: the whole program does not seem to fit the time left, the groups
    run instead, their measured times correct the estimate, and the whole program follows."""
    import covcone.shallow.lifted_dual as ld

    true = ld.lifted_dual_resources
    monkeypatch.setattr(ld, "lifted_dual_resources", lambda N, r=11, k=1: (true(N, r, k)[0], 5 * true(N, r, k)[1]))
    rng = np.random.default_rng(4)
    X = rng.standard_normal((48, 7))
    Y = np.sin(X[:, :1]) + 0.1 * rng.standard_normal((48, 1))
    res = covcone.solve(X, Y, lam=0.05, beta=1.0, oracle_time=1.0, gradient_starts=0, max_rounds=10, time_limit=60)
    assert "lifted SDP on sample groups (≈" in res.message, res.message
    assert "then the whole program" in res.message, res.message
    assert res.lower_from in ("lifted SDP dual", "lifted SDP dual on sample groups") and 0 < res.lower <= res.upper


def test_below_the_reference_optimum_on_hunt_instances():
    """The false-certificate hunt's random tiny instances (all activations, β ∈ {0, 1}, k ≤ 3, MSE
    and cross-entropy, duplicates, collinear points, X and Y scaled 1e-6…1e6) with groups of ≤ 3
    samples: the bound never exceeds the optimum bracketed by the independent reference
    (``lower ≤ hi (1 + 1e-7) + (hi − lo)``, the reference's width as margin)."""
    from test_hunt import make_instance, ref_for

    checked = 0
    for seed in range(40):
        inst = make_instance(seed, max_rank=6, extreme=True, exact_only=True)
        if inst["cost"] == "interpolate" or inst["d"] == 0:  # (a Problem needs an input column)
            continue
        ref = ref_for(inst)
        if ref is None or not ref.exact or not np.isfinite(ref.hi):
            continue
        p = Problem(inst["X"], inst["Y"], activation=inst["spec"], lam=inst["lam"], beta=inst["beta"],
                    cost=inst["cost"])
        value, info = partition_bound(p, 3, rng=seed)
        assert info["groups"] >= 1 and value >= 0.0
        assert value <= ref.hi * (1 + 1e-7) + (ref.hi - ref.lo), (inst["tag"], value, ref)
        checked += 1
    assert checked >= 20, checked

"""Spatial samplers (graphs.spatial): exact Bernoulli against the kernel by distance, the
authors' fixed out-degree construction, layouts, degree factors, seeds and errors."""

import math

import numpy as np
import pytest
from scipy import stats

from graphs import connection_probability_by_distance, sample_network, sample_spatial_network
from graphs.spatial import positions_of
from meanfield import DegreeModel, NetworkParams

ROS = NetworkParams.preset("rosenbaum2017")
_P_KEYS = ("p_EE", "p_EI", "p_IE", "p_II", "p_EX", "p_IX")


def _thin(params, factor):
    return params.replace(**{k: getattr(params, k) / factor for k in _P_KEYS})


def _check_distance_profile(net, pairs, n_bins=20, d_max=0.25):
    # Done means: every bin within 3 SE, or the chi-square p-value > 0.01. Per bin the
    # count is a sum of independent Bernoullis: mean sum P, variance sum P(1 - P).
    out = {}
    for pair in pairs:
        r = connection_probability_by_distance(net, pair, n_bins, d_max)
        use = r["expected"] >= 5                      # chi-square needs non-tiny bins
        chi2 = float(np.sum(r["z"][use] ** 2))
        pval = float(stats.chi2.sf(chi2, int(use.sum())))
        zmax = float(np.nanmax(np.abs(r["z"][use])))
        assert zmax < 3 or pval > 0.01, (pair, r["z"], pval)
        assert use.sum() >= 10
        out[pair] = (zmax, pval)
    return out


def test_bernoulli_ring_N5e4_matches_kernel_by_distance():
    # N = 5e4 (40,000 E on a 40,000-point ring grid, 10,000 I, 5,625 X) with every p / 10
    # so the test draws ~2e7 synapses in seconds; the kernel and the distance structure are
    # those of rosenbaum2017 (sigma = 0.05, sigma_X = 0.1).
    p = _thin(ROS, 10)
    net = sample_network(p, DegreeModel.spatial(1, 0.05, 0.1), seed=11)
    assert net.provenance["construction"] == "bernoulli"
    res = _check_distance_profile(net, ("EE", "EI", "IE", "II", "EX", "IX"))
    assert all(v[1] > 1e-4 for v in res.values())
    # mean in-degrees equal p N_b (SE of the mean over 4e4 neurons ~ sqrt(K / N_a))
    k = net.k_in[: p.N_E].mean(axis=0)
    K = p.K[0]
    assert np.all(np.abs(k - K) < 5 * np.sqrt(K / p.N_E))


def test_bernoulli_torus_random_layout_matches_kernel():
    # uniform random positions on the torus (the dense pair-by-pair path), N = 4000
    p = NetworkParams.preset("rosenbaum2017", N=4000, q_X=0.25)
    m = DegreeModel.spatial(2, (0.12, 0.1), 0.2)            # p g(0) = 0.05 * 11.1 < 1
    net = sample_network(p, m, seed=5, layout="random")
    assert net.provenance["spatial"]["layout"] == "random"
    _check_distance_profile(net, ("EE", "EI", "IX"), d_max=0.5)
    x = positions_of(net)
    assert x.shape == (4000, 2) and 0 <= x.min() and x.max() < 1
    # no autapses, no multapses
    for j in range(0, 4000, 397):
        src = net.post_indices[net.post_indptr[j]:net.post_indptr[j + 1]]
        assert j not in src and len(np.unique(src)) == len(src)


def test_grid_indegree_variance_is_poisson_binomial():
    # On a grid every E neuron sees the same probabilities P_k: k_EE is Poisson-binomial,
    # mean sum P and variance sum P (1 - P) (a Poisson approximation would give sum P,
    # 15 % larger here). 10,000 E neurons: SE of the sample variance ~ var sqrt(2/1e4).
    p = NetworkParams.preset("rosenbaum2017", N=12500)
    net = sample_network(p, DegreeModel.spatial(1, 0.05, 0.1), seed=1)
    x = np.arange(10000) / 10000
    d = x - np.round(x)
    from meanfield.spatial import wrapped_gaussian
    P = 0.05 * wrapped_gaussian(d, 0.05)
    P[0] = 0.0                                       # no autapse
    kin = net.k_in[:10000, 0]
    m, v = P.sum(), (P * (1 - P)).sum()
    assert abs(kin.mean() - m) < 5 * math.sqrt(v / 10000)
    assert abs(kin.var() - v) < 5 * v * math.sqrt(2 / 10000)
    assert (P.sum() - v) / v > 0.1
    with pytest.raises(ValueError, match="square"):
        sample_network(NetworkParams.preset("rosenbaum2017", N=3000), DegreeModel.spatial(2, 0.15, 0.2),
                       seed=1)


def test_fixed_outdegree_out_degrees_exact_on_torus():
    # Done means: out-degrees are exactly K = ceil(p N_post), every pair; 40^2 E, 20^2 I,
    # 20^2 X (the rosenbaum2017 preset at N = 2000).
    p = NetworkParams.preset("rosenbaum2017", N=2000, q_X=400 / 2000)
    net = sample_network(p, DegreeModel.spatial(2, 0.05, 0.1), seed=3,
                         construction="fixed_outdegree")
    K = {(a, b): math.ceil(p.p[ia, ib] * (1600 if a == "E" else 400))
         for ia, a in enumerate("EI") for ib, b in enumerate("EIX")}
    kout = net.k_out
    assert np.all(kout[:1600, 0] == K[("E", "E")]) and np.all(kout[:1600, 1] == K[("I", "E")])
    assert np.all(kout[1600:, 0] == K[("E", "I")]) and np.all(kout[1600:, 1] == K[("I", "I")])
    # external: each X source projects exactly K_aX times
    src = net.ext_indices
    is_E = np.repeat(np.arange(2000) < 1600, np.diff(net.ext_indptr))
    assert np.all(np.bincount(src[is_E], minlength=400) == K[("E", "X")])
    assert np.all(np.bincount(src[~is_E], minlength=400) == K[("I", "X")])
    assert net.provenance["out_degree"]["X"] == {"E": K[("E", "X")], "I": K[("I", "X")]}


def test_fixed_outdegree_displacements_follow_rounded_gaussian():
    # E -> E on a 100^2 grid with sigma = 0.05: per-dimension grid displacement
    # round(sigma n Z) has variance (sigma n)^2 + 1/12 (Sheppard) = 25.083; 1.0e6 draws,
    # SE of the sample variance ~ 25 sqrt(2 / 1e6) = 0.035; 5 SE bound.
    p = NetworkParams.preset("rosenbaum2017", N=12500, q_E=0.8, q_I=0.2, q_X=2500 / 12500)
    net = sample_network(p, DegreeModel.spatial(2, 0.05, 0.1), seed=4,
                         construction="fixed_outdegree")
    pre = np.repeat(np.arange(10000), np.diff(net.pre_indptr[:10001]))
    tgt = net.pre_indices[: net.pre_indptr[10000]].astype(np.int64)
    keep = tgt < 10000
    c_pre = np.stack(np.divmod(pre[keep], 100))
    c_tgt = np.stack(np.divmod(tgt[keep], 100))
    d = (c_tgt - c_pre + 50) % 100 - 50
    v = d.var(axis=1)
    assert d.shape[1] == 10000 * 500
    assert np.all(np.abs(v - (25.0 + 1 / 12)) < 5 * 25.0 * math.sqrt(2 / d.shape[1]))
    # multapses exist (allowed) and self-connections are not excluded
    assert np.any(d[0] == 0) and np.any((d[0] == 0) & (d[1] == 0))


def test_degree_factor_scales_indegree_at_fixed_position():
    p = NetworkParams.preset("rosenbaum2017", N=4000, q_X=0.25)
    m = DegreeModel.spatial(1, 0.05, 0.1, kappa_cv=0.3)
    net = sample_network(p, m, seed=7)
    kap = np.asarray(net.label)[:, 1]
    assert net.label.shape == (4000, 2)
    kin = net.k_in[:3200, 0]
    slope = np.polyfit(kap[:3200] / kap.mean(), kin, 1)[0]
    # E[k_EE | kappa] = p N_E kappa / E[kappa] = 160 kappa: slope 160 (SE ~ 0.8)
    assert abs(slope - 0.05 * 3200) < 5


def test_same_seed_same_network_and_validation():
    p = NetworkParams.preset("rosenbaum2017", N=2000, q_X=400 / 2000)
    m = DegreeModel.spatial(1, 0.05, 0.1)
    a = sample_spatial_network(p, m, seed=9)
    b = sample_spatial_network(p, m, seed=9)
    assert np.array_equal(a.post_indices, b.post_indices)
    assert np.array_equal(a.ext_indices, b.ext_indices)
    with pytest.raises(ValueError, match="fixed_outdegree"):
        sample_network(ROS, DegreeModel.spatial(2, 0.05, 0.1), N=2000)
    with pytest.raises(ValueError, match="layout"):
        sample_network(p, m, layout="hex")
    with pytest.raises(ValueError, match="spatial models only"):
        sample_network(p, None, construction="fixed_outdegree")
    with pytest.raises(ValueError, match="grid"):
        sample_network(p, m, layout="random", construction="fixed_outdegree")

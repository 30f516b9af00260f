"""graphs.stats on the Case C network, with a negative control and a reference.

Case C (docs/theory.md section 7.2): params = NetworkParams.preset("akil2021"),
model = DegreeModel.assortative(c=3, support=(0.5, 1.5)), N = 10^4.
"""

import dataclasses

import numpy as np
import pytest
from scipy import stats

from graphs import degree_statistics, kernel_statistics, label_bins, sample_network
from meanfield.degree import DegreeModel



@pytest.fixture(scope="module")
def case_c_net(akil, case_c):
    return sample_network(akil, case_c, N=10_000, seed=1)


def _bonferroni(n_cells, alpha=0.01):
    """|z| bound that all n_cells standard normals respect with probability 1 - alpha."""
    return stats.norm.isf(alpha / (2 * n_cells))


def test_case_c_kernel_between_label_bins(case_c_net, case_c):
    ks = kernel_statistics(case_c_net, case_c, n_bins=10)
    assert sorted(ks) == ["m EE", "m EI", "m IE", "m II"]
    n_cells = sum(v.dof for v in ks.values())
    assert n_cells == 400
    for v in ks.values():
        # chi-square over the 100 bin pairs at the 1% level (fixed seed: a correct sampler
        # fails it with probability 1%)
        assert v.p_value > 0.01, v.summary()
        # every bin pair: family-wise 1% bound for 400 normal z-scores (|z| < 3.9)
        assert np.max(np.abs(v.z)) < _bonferroni(n_cells), v.summary()
        # the kernel is bilinear in the labels, so m at the bins' mean labels equals the
        # bin-pair average up to the excluded self pairs (< 1e-3 here)
        assert np.allclose(v.model, v.expected, rtol=2e-3, atol=2e-3)
    # the estimate sees the structure: m_EE spans 0.3 .. 2.7 over the bins
    m = ks["m EE"].realised
    assert m[0, -1] < 0.5 and m[-1, -1] > 2.3


def test_case_c_degree_per_label_bin(case_c_net, case_c):
    ds = degree_statistics(case_c_net, case_c, n_bins=10)
    assert len(ds) == 10
    n_cells = sum(v.dof for v in ds.values())
    for v in ds.values():
        assert v.p_value > 0.01, v.summary()                     # chi-square, 1% level
        assert np.max(np.abs(v.z)) < _bonferroni(n_cells), v.summary()
        # against the model's kin/kout (p (N_b - [a=b]) kin(t)), with the label-sampling
        # error included: same family-wise bound
        assert np.max(np.abs(v.z_model)) < _bonferroni(n_cells), v.summary()
    # in-degree grows with the label (kin_ab(t) = t for Case C): monotone over bins
    assert np.all(np.diff(ds["k_in EE"].realised) > 0)
    # external in-degree is homogeneous: Binomial(N_X, p_EX) in every bin
    assert np.allclose(ds["k_in EX"].expected, 2000 * 0.1)


def test_statistics_reject_the_wrong_model(case_c_net, akil, case_c):
    """Negative control: the Case C network is not Erdos-Renyi, and the tests say so."""
    for v in kernel_statistics(case_c_net, case_c, n_bins=10).values():
        z = (v.realised - 1.0) / v.se                   # the m = 1 (homogeneous) hypothesis
        assert stats.chi2.sf(np.sum(z ** 2), v.dof) < 1e-10
    v = degree_statistics(case_c_net, case_c, n_bins=10)["k_in EE"]
    z = (v.realised - 0.1 * 7999) / v.se
    assert stats.chi2.sf(np.sum(z ** 2), v.dof) < 1e-10
    # and an Erdos-Renyi network given Case C labels fails the Case C check
    hnet = sample_network(akil, DegreeModel.homogeneous(), N=3000, seed=2)
    relabelled = dataclasses.replace(
        hnet, label=np.random.default_rng(0).uniform(0.5, 1.5, 3000))
    assert kernel_statistics(relabelled, case_c, n_bins=5)["m EE"].p_value < 1e-10


def test_homogeneous_expectations_are_closed_form(akil):
    net = sample_network(akil, N=2000, seed=3)
    ds = degree_statistics(net, n_bins=10)          # model rebuilt from net.model["spec"]
    v = ds["k_in EE"]
    assert v.dof == 1                               # constant labels: a single bin
    assert v.expected[0] == pytest.approx(0.1 * 1599, rel=1e-12)
    assert v.se[0] == pytest.approx(np.sqrt(1599 * 0.1 * 0.9 * 1600) / 1600, rel=1e-12)
    assert v.realised[0] == pytest.approx(net.k_in[:1600, 0].mean())
    ks = kernel_statistics(net, n_bins=10)
    assert ks["m EI"].expected[0, 0] == pytest.approx(1.0)


def test_non_low_rank_kernel_statistics_agree_with_dense_reference(akil):
    """The chunked dense path (callable kernels) against an explicit double loop."""
    from meanfield.labels import Uniform
    U = Uniform(0.5, 1.5)
    t, w = U.quadrature(64)
    Z = float(w @ np.exp(-(t[:, None] - t[None, :]) ** 2 / 0.18) @ w)
    model = DegreeModel.from_kernel(lambda a, b: np.exp(-(a - b) ** 2 / 0.18) / Z, U)
    net = sample_network(akil, model, N=400, seed=4)
    ks = kernel_statistics(net, model, n_bins=3)
    lab = net.label
    bid, nb, _ = label_bins(lab[:320], 3)
    M = model.kernels[("E", "E")].matrix(lab[:320], lab[:320])
    np.fill_diagonal(M, np.nan)
    for u in range(3):
        for v in range(3):
            box = M[np.ix_(bid == u, bid == v)]
            assert ks["m EE"].expected[u, v] == pytest.approx(np.nanmean(box), rel=1e-10)
    # across populations too (E 320 and I 80 neurons: bins of unequal size, 107/107/106
    # and 27/27/26, so a transposed count table would show)
    bid_I, _, _ = label_bins(lab[320:], 3)
    bins = {"E": (slice(0, 320), bid), "I": (slice(320, 400), bid_I)}
    for key in ("m EI", "m IE", "m II"):
        (sa, ba), (sb, bb) = bins[key[2]], bins[key[3]]
        Mab = model.kernels[(key[2], key[3])].matrix(lab[sa], lab[sb])
        if key[2] == key[3]:
            np.fill_diagonal(Mab, np.nan)
        for u in range(3):
            for v in range(3):
                box = Mab[np.ix_(ba == u, bb == v)]
                assert ks[key].expected[u, v] == pytest.approx(np.nanmean(box), rel=1e-10)
    ds = degree_statistics(net, model, n_bins=3)
    assert ds["k_in EE"].expected[0] == pytest.approx(0.1 * np.nansum(M, axis=1)[bid == 0].mean(),
                                                      rel=1e-10)
    # label means of the bins, and the label-sampling part of the model's standard error:
    # se_model^2 - se^2 = p^2 n_pre Var_{t' ~ U(0.5, 1.5)}[mean_{j in bin} m(t_j, t')],
    # here by adaptive quadrature (scipy.integrate.quad, not the model's Gauss grid;
    # agreement to 1e-6 relative: both resolve the smooth integrand far better)
    from scipy import integrate
    kin = ds["k_in EE"]
    np.testing.assert_allclose(kin.label_mean, [lab[:320][bid == u].mean() for u in range(3)],
                               rtol=1e-12)
    kern = model.kernels[("E", "E")]
    for u in range(3):
        tj = lab[:320][bid == u]
        mbar = lambda tp: float(np.mean(kern.matrix(tj, np.array([tp]))))      # noqa: E731
        mean = integrate.quad(mbar, 0.5, 1.5, epsabs=1e-13)[0]
        var = integrate.quad(lambda tp: (mbar(tp) - mean) ** 2, 0.5, 1.5, epsabs=1e-13)[0]
        assert var > 1e-3                     # the bins see the kernel's structure
        extra = 0.1 ** 2 * 319 * var
        assert kin.se_model[u] ** 2 - kin.se[u] ** 2 == pytest.approx(extra, rel=1e-6)


def test_label_bins_equal_counts():
    x = np.random.default_rng(1).uniform(size=1000)
    bid, nb, key = label_bins(x, 10)
    assert nb == 10 and np.all(np.bincount(bid) == 100)
    assert np.all(np.diff([x[bid == b].max() for b in range(10)]) > 0)
    bid2, nb2, _ = label_bins(np.repeat([1.0, 2.0], 5), 10)
    assert nb2 == 2


@pytest.mark.slow
def test_p_values_are_uniform_over_seeds(akil, case_c):
    """Calibration of the whole pipeline (sampler + statistics): over independent draws the
    chi-square p-values of the kernel tables must be Uniform(0, 1). A Kolmogorov-Smirnov
    test at the 0.1% level (100 p-values) catches both a biased sampler (p-values piling
    up near 0) and a wrong standard error (piling up near 0 or 1). Reduced size: N = 2000.
    """
    p_kernel, p_degree = [], []
    for seed in range(25):
        net = sample_network(akil, case_c, N=2000, seed=100 + seed)
        p_kernel += [v.p_value for v in kernel_statistics(net, case_c, n_bins=5).values()]
        p_degree += [v.p_value for v in degree_statistics(net, case_c, n_bins=5).values()
                     if v.name.startswith("k_in")]
    assert stats.kstest(p_kernel, "uniform").pvalue > 1e-3
    assert stats.kstest(p_degree, "uniform").pvalue > 1e-3

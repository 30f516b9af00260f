"""Degree models and label distributions (meanfield.degree, meanfield.labels).

Independent references: closed-form moments of the label distributions (scipy.stats),
Monte Carlo over sampled labels for the in/out-degree factors k^in, k^out, and the
analytic factors of the named constructors (docs/theory.md section 3).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from meanfield.degree import DegreeModel, LowRankKernel
from meanfield.labels import Constant, Gamma, LogNormal, TruncatedNormal, Uniform

PAIRS = [("E", "E"), ("E", "I"), ("I", "E"), ("I", "I")]
MC_SAMPLES = 200_000
Z_BOUND = 5.0    # Monte Carlo checks: |estimate - exact| < 5 standard errors (fixed seeds)


def _models():
    return {
        "homogeneous": DegreeModel.homogeneous(),
        "case_A": DegreeModel.all_indegree("gamma", 0.3),
        "case_B": DegreeModel.recurrent_indegree("normal", 0.15, support=(0.6, 1.4)),
        "case_C": DegreeModel.assortative(3.0, (0.5, 1.5)),
        "separable_rho": DegreeModel.separable("gamma", 0.3, "lognormal", 0.4, rho=0.6),
    }


# --------------------------------------------------------------------------- distributions
# Tolerances of the second moment at 64 Gauss-Legendre-in-u nodes: spectral for a bounded
# smooth ppf (uniform exact, truncated normal ~1e-9); for heavy right tails the nodes miss
# the tail beyond u = 1 - 1e-3 (measured: gamma CV 0.3 -0.08 %, lognormal CV 0.4 -0.24 %).
@pytest.mark.parametrize("dist, mean, var, rtol_var", [
    (Uniform(0.5, 1.5), 1.0, 1.0 / 12.0, 1e-12),
    (Gamma(1.0, 0.3), 1.0, 0.09, 1e-3),
    (LogNormal(1.0, 0.4), 1.0, 0.16, 3e-3),
    (TruncatedNormal(1.0, 0.15, 0.6, 1.4),
     stats.truncnorm.mean(-0.4 / 0.15, 0.4 / 0.15, loc=1, scale=0.15),
     stats.truncnorm.var(-0.4 / 0.15, 0.4 / 0.15, loc=1, scale=0.15), 1e-8),
])
def test_quadrature_moments(dist, mean, var, rtol_var):
    t, w = dist.quadrature(64)
    np.testing.assert_allclose(w.sum(), 1.0, rtol=1e-13)             # weights of a probability
    lo, hi = dist.support
    assert np.all(t >= lo) and np.all(t <= hi)
    np.testing.assert_allclose(np.sum(w * t), mean, rtol=1e-9)        # mean preserved exactly
    np.testing.assert_allclose(np.sum(w * (t - mean) ** 2), var, rtol=rtol_var)


@pytest.mark.parametrize("dist", [Uniform(0.5, 1.5), Gamma(1.0, 0.3), LogNormal(1.0, 0.4),
                                  TruncatedNormal(1.0, 0.15, 0.6, 1.4)])
def test_sampling_matches_quadrature(dist):
    x = dist.sample(MC_SAMPLES, seed=1)
    t, w = dist.quadrature(64)
    mean, sd = np.sum(w * t), np.sqrt(np.sum(w * (t - np.sum(w * t)) ** 2))
    assert abs(x.mean() - mean) < Z_BOUND * sd / np.sqrt(MC_SAMPLES)
    assert abs(x.std() / sd - 1.0) < 0.02     # sd of the sample sd ~ 0.3 % at 2e5 samples
    np.testing.assert_array_equal(dist.sample(10, seed=7), dist.sample(10, seed=7))


# --------------------------------------------------------------------------- normalisation
@pytest.mark.parametrize("name", list(_models()))
def test_kernels_normalised(name):
    m = _models()[name]
    for a, b in PAIRS:
        ta, wa = m.grid(a)
        tb, wb = m.grid(b)
        np.testing.assert_allclose(wa @ m.kernels[(a, b)].matrix(ta, tb) @ wb, 1.0, atol=1e-3)
        np.testing.assert_allclose(np.sum(wa * m.kin(a, b, ta)), 1.0, atol=1e-3)
        np.testing.assert_allclose(np.sum(wb * m.kout(a, b, tb)), 1.0, atol=1e-3)
    for a in "EI":
        ta, wa = m.grid(a)
        np.testing.assert_allclose(np.sum(wa * m.kin(a, "X", ta)), 1.0, atol=1e-3)


def test_named_constructor_factors():
    # case C: E_t'[t t' + c (t-1)(t'-1)] = t because E[t'] = 1 (exact on the grid)
    c = DegreeModel.assortative(3.0, (0.5, 1.5))
    t, _ = c.grid("E")
    np.testing.assert_allclose(c.kin("E", "I", t), t, rtol=1e-12)
    np.testing.assert_allclose(c.kout("I", "E", t), t, rtol=1e-12)
    # case B: recurrent in-degree factor t/E[t], external homogeneous, out-degree 1
    b = DegreeModel.recurrent_indegree("normal", 0.15, support=(0.6, 1.4))
    t, w = b.grid("E")
    np.testing.assert_allclose(b.kin("E", "E", t), t / np.sum(w * t), rtol=1e-12)
    np.testing.assert_allclose(b.kin("E", "X", t), 1.0)
    np.testing.assert_allclose(b.kout("E", "E", t), 1.0, rtol=1e-12)
    # case A: every in-degree, external included, follows the label
    a = DegreeModel.all_indegree("gamma", 0.3)
    t, w = a.grid("I")
    np.testing.assert_allclose(a.kin("I", "X", t), a.kin("I", "E", t), rtol=1e-12)


# --------------------------------------------------------------------------- Monte Carlo
def _rep(t, n):
    """n copies of one label (scalar or vector) as a label array."""
    t = np.asarray(t, float)
    return np.full(n, float(t)) if t.ndim == 0 else np.tile(t, (n, 1))


def _probes(m, a):
    return m.grid(a, 8)[0][:4] if m.labels[a].dim == 1 else m.labels[a].sample(4, seed=5)


@pytest.mark.parametrize("name", ["case_C", "separable_rho"])
def test_kin_kout_against_monte_carlo(name):
    """k^in(t) = E_t'[m(t, t')] and k^out(t') = E_t[m(t, t')] by sampling the other label.

    Tolerance: 5 standard errors of the sample mean, plus 2e-3 for the quadrature grid on
    which k^in/k^out are computed (the normalisation check allows 1e-3).
    """
    m = _models()[name]
    rng = np.random.default_rng(3)
    n = MC_SAMPLES // 4
    for a, b in [("E", "I"), ("I", "E")]:
        kern = m.kernels[(a, b)]
        pre = m.labels[b].sample(n, seed=rng)
        for t in _probes(m, a):
            vals = kern.pairs(_rep(t, n), pre)
            exact = m.kin(a, b, _rep(t, 1))[0]
            assert abs(vals.mean() - exact) < Z_BOUND * vals.std() / np.sqrt(n) + 2e-3, (a, b, t)
        post = m.labels[a].sample(n, seed=rng)
        for tp in _probes(m, b):
            vals = kern.pairs(post, _rep(tp, n))
            exact = m.kout(a, b, _rep(tp, 1))[0]
            assert abs(vals.mean() - exact) < Z_BOUND * vals.std() / np.sqrt(n) + 2e-3, (a, b, tp)


def test_in_out_correlation_of_separable_labels():
    """rho > 0 makes in- and out-factor of the same neuron correlate (Gaussian copula)."""
    m = DegreeModel.separable("gamma", 0.3, "gamma", 0.3, rho=0.8)
    lab = m.labels["E"].sample(50_000, seed=2)
    r = stats.spearmanr(lab[:, 0], lab[:, 1]).statistic
    # Spearman rho of a Gaussian copula: (6/pi) asin(rho/2); SE ~ 1/sqrt(n) ~ 0.005
    assert abs(r - 6 / np.pi * np.arcsin(0.4)) < 0.02
    t, _ = m.grid("E")
    kern = m.kernels[("E", "E")]
    np.testing.assert_allclose(kern.pairs(t, t), (t[:, 0] / m.labels["E"].mean[0]) * t[:, 1]
                               / m.labels["E"].mean[1], rtol=1e-12)


# --------------------------------------------------------------------------- errors
def test_negative_kernel_is_an_error():
    # m = t t' + c (t-1)(t'-1) >= 0 on [a, 2-a] needs c <= a(2-a)/(1-a)^2 = 3 for a = 0.5
    with pytest.raises(ValueError, match=r"m_EE = .* < 0"):
        DegreeModel.assortative(10.0, (0.5, 1.5))


def test_unnormalised_kernel_is_an_error():
    with pytest.raises(ValueError, match=r"E\[m\]"):
        DegreeModel.from_kernel(lambda t, s: 2.0 * t * s, Uniform(0.5, 1.5))
    with pytest.raises(ValueError, match="kin_X"):
        DegreeModel.from_kernel(lambda t, s: t * s, Uniform(0.5, 1.5), kin_X=lambda t: 2 * t)


def test_p_times_m_above_one_is_an_error(akil):
    m = DegreeModel.assortative(3.0, (0.5, 1.5))          # max m = 1.5^2 + 3 * 0.25 = 3
    with pytest.raises(ValueError, match=r"p_EE \* m_EE"):
        m.check_params(akil.replace(p_EE=0.5))
    m.check_params(akil)                                      # p m <= 0.3 is fine


def test_populations_must_be_E_and_I():
    k = LowRankKernel(((1.0, None, None),))

    def one(t):
        return np.ones(len(t))

    with pytest.raises(ValueError, match="populations"):
        DegreeModel(labels={"E": Constant(), "I": Constant(), "X": Constant()},
                    kernels={p: k for p in PAIRS}, kin_X={"E": one, "I": one})
    with pytest.raises(ValueError, match="labels must map"):
        DegreeModel(labels={"E": Constant()}, kernels={p: k for p in PAIRS},
                    kin_X={"E": one, "I": one})
    with pytest.raises(ValueError, match="kernels must map"):
        DegreeModel(labels={"E": Constant(), "I": Constant()}, kernels={("E", "E"): k},
                    kin_X={"E": one, "I": one})


def test_homogeneous_grid_is_one_node():
    m = DegreeModel.homogeneous()
    t, w = m.grid("E", 50)
    assert t.shape == (1,) and w.tolist() == [1.0]
    np.testing.assert_array_equal(m.kernel_matrix("E", "I"), [[1.0]])


def test_spec_round_trip_keeps_none_arguments():
    m = DegreeModel.assortative(c=1.0, support=None, dist=TruncatedNormal(1.0, 0.2, 0.5, 1.5))
    again = DegreeModel.from_spec(m.spec)
    assert again.spec == m.spec and again.spec["support"] is None
    np.testing.assert_array_equal(again.kernel_matrix("E", "I"), m.kernel_matrix("E", "I"))
    with pytest.raises(ValueError, match="support"):
        DegreeModel.assortative(c=1.0, support=None)

"""The spread of mean input within a label: ``solve(..., spread=True)`` and the rate
distribution of a ``MeanFieldResult`` (docs/theory.md section 10).

Independent references:
* solves stored by main before the option existed (``tests/data/solve_reference.npz``,
  ``tests/data/make_spread_reference.py``): ``spread=False`` must reproduce them;
* a direct Monte Carlo of the realised mean inputs on graphs drawn by
  ``graphs.sample_network`` (each neuron's input summed over its sampled presynaptic
  neurons, whose rates have the theory's first and second moments): the variance of the
  mean input within label bins against ``sigma_q``;
* closed forms: exp(-r T) for a single label without spread; the quantile of a single
  label with spread is Phi at the z-quantile (Phi increases with z); scipy quadrature over
  z of exp(-Phi T);
* a Monte Carlo sample of the mixture over labels and z (distribution-free z-score of
  the CDF at the predicted quantiles);
* finite differences of the extended Newton map's Jacobian.
"""

from __future__ import annotations

import dataclasses
import importlib
import pathlib
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import integrate, stats

from graphs import sample_network
from meanfield import DegreeModel, NetworkParams, lif_rate
from meanfield import solve as _solve
from meanfield.errors import ParameterError
from validation.comparison import compare


def closed_form_filter(params) -> str:
    """The transfer of "auto" before issue 10: Fourcaud-Brunel for the LIF, white for the EIF."""
    return "fourcaud_brunel" if params.neuron_E.kind == "LIF" else "white"


def solve(params, *args, **kwargs):
    """``meanfield.solve`` with the closed-form transfers unless a filter is named.

    The spread's numerics (Gauss-Hermite convergence, self-consistency on fine z grids,
    closed-form quantiles) are checked with the analytic transfer functions; the
    filtered-noise transfer ("colored", the default since issue 10: a C1 table, so
    quadrature converges only algebraically) is tested where a test names it.
    """
    kwargs.setdefault("filter", closed_form_filter(params))
    return _solve(params, *args, **kwargs)

ds = importlib.import_module("meanfield.degree_space")
DATA = pathlib.Path(__file__).resolve().parent / "data" / "solve_reference.npz"

REFERENCE_MODELS = {
    "homogeneous": lambda: DegreeModel.homogeneous(),
    "case_B": lambda: DegreeModel.recurrent_indegree("gamma", 0.2, n_nodes=16),
    "case_C": lambda: DegreeModel.assortative(3.0, (0.5, 1.5), n_nodes=16),
}
FIELDS = ("rate", "mu", "sigma", "tau_s", "mean_input", "moments")


def models(n=24):
    return {"homogeneous": DegreeModel.homogeneous(),
            "case_B": DegreeModel.recurrent_indegree("gamma", 0.2, n_nodes=n),
            "case_C": DegreeModel.assortative(3.0, (0.5, 1.5), n_nodes=n)}


@pytest.fixture(scope="module")
def lif_params():
    return NetworkParams.preset("akil2021_lif")


# ---------------------------------------------------------------------- spread=False unchanged
@pytest.mark.parametrize("preset", ["akil2021_lif", "akil2021", "lif_benchmark"])
@pytest.mark.parametrize("name", list(REFERENCE_MODELS))
def test_spread_false_reproduces_main(preset, name):
    # rtol 1e-12: bit-identical on the machine that stored them (checked when the option
    # was added); the margin is for other BLAS/libm builds only.
    ref = np.load(DATA)
    p = NetworkParams.preset(preset, N=10_000)
    # the stored solves used the filter "auto" meant then (Fourcaud-Brunel for the LIF,
    # white noise for the EIF); "auto" is the filtered-noise transfer since issue 10
    old_auto = "fourcaud_brunel" if p.neuron_E.kind == "LIF" else "white"
    res = solve(p, REFERENCE_MODELS[name](), spread=False, filter=old_auto)
    assert res.converged and not res.spread
    for f in FIELDS:
        np.testing.assert_allclose(np.asarray(getattr(res, f), float), ref[f"{preset}/{name}/{f}"],
                                   rtol=1e-12, atol=0, err_msg=f)
    assert np.all(res.sigma_q == 0) and res.second_moments.size == 0 and res.spread_nodes == 0
    np.testing.assert_array_equal(res.rate_sq, res.rate ** 2)


def test_default_is_no_spread(lif_params):
    m = models(12)["case_C"]
    a, b = solve(lif_params, m), solve(lif_params, m, spread=False)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))


# ---------------------------------------------------------------------- sigma_q by Monte Carlo
@pytest.mark.parametrize("name", ["homogeneous", "case_B", "case_C"])
def test_sigma_q_against_sampled_graphs(name):
    """Variance of the realised mean input within label bins equals sigma_q^2.

    Presynaptic neuron k gets the rate r(t_k) + sd(t_k) u_k (u_k = +1, -1 alternating in
    the order of the labels), whose first two moments are the theory's ``rate`` and
    ``rate_sq`` at its label, with no sampling noise in the presynaptic moments themselves
    (which every neuron shares); the mean input of every neuron is summed over its sampled
    inputs (docs/theory.md (4.5)).
    """
    # p = 0.25 (preset: 0.1) so that the factor 1 - p m of (10.1) is far from 1 and tested
    N = 5000
    params = dataclasses.replace(NetworkParams.preset("akil2021_lif", N=N), p_EE=0.25,
                                 p_EI=0.25, p_IE=0.25, p_II=0.25, p_EX=0.25, p_IX=0.25)
    model = models(32)[name]
    th = solve(params, model, spread=True)
    assert th.converged
    net = sample_network(params, model, seed=11)
    rng = np.random.default_rng(5)
    lab = np.asarray(net.label, float)
    lab = lab if lab.ndim == 1 else lab[:, 0]
    pop = np.asarray(net.population)

    def at(values, a, x):
        keep = th.weights[a] > 0
        xs, ys = th.label[a][keep], values[a][keep]
        if np.ptp(xs) == 0:
            return np.full(x.shape, ys[0])
        o = np.argsort(xs)
        return np.interp(x, xs[o], ys[o])

    rate = np.empty(N)
    for a in (0, 1):
        i = pop == a
        mean, second = at(th.rate, a, lab[i]), at(th.rate_sq, a, lab[i])
        sd = np.sqrt(np.maximum(second - mean ** 2, 0.0))
        u = np.empty(i.sum())
        u[np.argsort(lab[i] + 1e-9 * rng.random(i.sum()))] = np.resize([1.0, -1.0], i.sum())
        rate[i] = mean + sd * u
    W = net.weight_matrix()
    for a in (0, 1):
        i = np.flatnonzero(pop == a)
        nr = params.neurons[a]
        mu = nr.E_L + nr.tau_m * ((W @ rate)[i] + params.J[a, 2] * net.k_X[i] * params.r_X)
        resid = mu - at(th.mu, a, lab[i])
        bins = np.digitize(lab[i], np.quantile(lab[i], np.linspace(0, 1, 11)[1:-1])) \
            if np.ptp(lab[i]) > 0 else np.zeros(i.size, int)
        dev = np.empty(i.size)
        for k in np.unique(bins):
            sel = bins == k
            dev[sel] = (resid[sel] - resid[sel].mean()) * np.sqrt(sel.sum() / (sel.sum() - 1))
        ratio = np.mean(dev ** 2) / np.mean(at(th.sigma_q ** 2, a, lab[i]))
        # Var of a sample variance of ~Gaussian data: 2/n; 4 SE (plus 1 % for the label
        # interpolation of mu, sigma_q and the rates between quadrature nodes)
        se = np.sqrt(2.0 / i.size)
        assert abs(ratio - 1.0) < 4 * se + 0.01, (name, a, ratio, se)


def test_sigma_q_by_hand_for_the_homogeneous_network():
    p = NetworkParams.preset("lif_benchmark")
    res = solve(p, spread=True)
    nr = p.neurons[0]
    # (10.1): every source binomial, m = 1; rel 1e-8 since sigma_q comes from the solver's
    # second moments, rate_sq from Phi at the final point (equal to the residual, 1e-9)
    v = sum(p.J[0, b] ** 2 * p.K[0, b] * (1 - p.p[0, b]) * np.sum(res.weights[b] * res.rate_sq[b])
            for b in (0, 1)) + p.J[0, 2] ** 2 * p.K[0, 2] * (1 - p.p[0, 2]) * p.r_X ** 2
    assert res.sigma_q[0, 0] == pytest.approx(nr.tau_m * np.sqrt(v), rel=1e-8)
    np.testing.assert_allclose(res.quenched_variance.sum(axis=-1), res.sigma_q ** 2, rtol=1e-12)
    # noise slope: c = sum_b F_b J_ab v_b / sigma_q (F_X = 1: the external input is Poisson)
    assert res.fano_rule == "renewal" and np.all(res.fano < 1)
    F = np.array([res.fano[0], res.fano[1], 1.0])
    np.testing.assert_allclose(res.noise_slope[0],
                               res.quenched_variance[0] @ (F * p.J[0]) / res.sigma_q[0], rtol=1e-12)


def test_no_spread_when_every_connection_exists():
    """p = 1 everywhere: every in-degree is fixed and every neuron sees the same inputs, so
    sigma_q = 0 (1 - p m = 0 in (10.1)) and spread=True gives the solve without spread."""
    p = dataclasses.replace(NetworkParams.preset("brunel_lif", N=400), p_EE=1.0, p_EI=1.0,
                            p_IE=1.0, p_II=1.0, p_EX=1.0, p_IX=1.0)
    a, b = solve(p, spread=False), solve(p, spread=True, fano="poisson")
    assert b.converged
    np.testing.assert_array_equal(b.sigma_q, 0.0)
    np.testing.assert_allclose(b.rate, a.rate, rtol=1e-8)


# ---------------------------------------------------------------------- the solve itself
def test_gauss_hermite_convergence(lif_params):
    """Population and label rates converge fast in the number of z nodes (Poisson input:
    with the default sub-Poisson factor, F itself is a sum over the nodes)."""
    m = models(24)["case_B"]
    ref = solve(lif_params, m, spread=True, spread_nodes=96, fano="poisson")
    for nodes, tol in ((16, 1e-7), (32, 1e-10)):
        r = solve(lif_params, m, spread=True, spread_nodes=nodes, fano="poisson")
        # measured: 7e-9 (16 nodes) and 3e-14 (32) for the label rates
        np.testing.assert_allclose(r.rate, ref.rate, rtol=tol)
    r8 = solve(lif_params, m, spread=True, spread_nodes=8, fano="poisson")
    assert np.max(np.abs(r8.rate / ref.rate - 1)) > 1e-6   # the test can tell nodes apart
    # with the sub-Poisson factor: F and the rates within 1e-5 of 96 nodes at 32
    ren96 = solve(lif_params, m, spread=True, spread_nodes=96)
    ren32 = solve(lif_params, m, spread=True)
    np.testing.assert_allclose(ren32.fano, ren96.fano, atol=1e-5)
    np.testing.assert_allclose(ren32.rate, ren96.rate, rtol=1e-5)


def test_self_consistency_on_the_fine_z_grid(lif_params):
    """E_z over the result's z profile (trapezoid, 257 nodes) equals the solved label rates."""
    for m in models(16).values():
        res = solve(lif_params, m, spread=True)
        z, mass, prof = res._z_profile
        # trapezoid (257 nodes) against Gauss-Hermite (32): measured <= 2e-8 relative,
        # at labels whose rate is 1e-2 Hz (steepest profiles)
        np.testing.assert_allclose(prof @ mass, res.rate, rtol=1e-7)
        np.testing.assert_allclose((prof ** 2) @ mass, res.rate_sq, rtol=1e-7)


def test_spread_raises_rates_and_closes_the_lif_gap(lif_params):
    """Averaging the convex Phi over the spread raises the mean rates (measured numbers:
    benchmarks/validate_network_accuracy.py)."""
    r0 = solve(lif_params, spread=False)
    r1 = solve(lif_params, spread=True, fano="poisson")
    assert r1.converged
    assert np.all(r1.mean_rate > r0.mean_rate)
    assert r1.mean_rate == pytest.approx([2.2177, 8.6891], rel=1e-3)


def test_noise_slope_matters_by_about_one_percent(lif_params, monkeypatch):
    """The noise variance varying with the mean input moves the rates by -0.4 ... -0.7 %
    (closed loop, akil2021_lif homogeneous); docs/theory.md section 10."""
    with_slope = solve(lif_params, spread=True)
    monkeypatch.setattr(ds, "_NOISE_SLOPE", False)
    without = solve(lif_params, spread=True)
    change = with_slope.mean_rate / without.mean_rate - 1
    assert np.all(change < -0.002) and np.all(change > -0.012), change
    assert np.all(without.noise_slope == 0)


@pytest.mark.parametrize("N", [10**3, 10**5, 10**7])
@pytest.mark.parametrize("name", ["case_B", "case_C"])
def test_converges_along_the_ladder(lif_params, name, N):
    res = solve(lif_params, models(24)[name], N=N, spread=True)
    assert res.converged, res.message
    assert res.residual <= 1e-9
    assert np.all(res.sigma_q > 0)


def test_eif_converges(lif_params):
    p = NetworkParams.preset("akil2021")
    res = solve(p, models(16)["case_B"], spread=True, fano="poisson")
    assert res.converged, res.message
    assert np.all(res.mean_rate > solve(p, models(16)["case_B"]).mean_rate)
    ren = solve(p, models(16)["case_B"], spread=True)
    assert ren.converged and np.all(ren.mean_rate < res.mean_rate), ren.message


@pytest.mark.parametrize("filt", ["closed_form", "colored"])
def test_jacobian_matches_finite_differences(filt):
    """Analytic Jacobians of the moment map (without spread) and of the spread map against
    central differences; "colored" includes the moments rule's tau_s and sigma factor."""
    from _numdiff import central_jacobian  # tests/_numdiff.py
    from meanfield._moments import LabelGrid
    from meanfield._phi import PopulationTransfer, resolve_filter

    for preset in ("akil2021_lif", "akil2021"):
        p = NetworkParams.preset(preset)
        m = DegreeModel.assortative(3.0, (0.5, 1.5), n_nodes=6)
        grid = LabelGrid(p, m, 6)
        n = grid.n
        name = closed_form_filter(p) if filt == "closed_form" else filt
        res = solve(p, m, spread=True, spread_nodes=12, filter=name)
        tr = PopulationTransfer(p, resolve_filter(p, name), (np.arange(n), np.arange(n, 2 * n)))
        base = ds._MomentMap(grid, p, tr)
        smap = ds._SpreadMap(base, ds.gauss_hermite(12), 3.0, 0.8)
        y = smap.join(res.moments, res.second_moments) * (1 + 0.01 * np.sin(np.arange(grid.m + smap.m2)))
        G = y[:grid.m]
        for fmap, x in ((smap, y), (base, G)):
            _, J, _ = fmap(x, True)
            Jfd = central_jacobian(lambda v, f=fmap: f(v)[0], x)
            # central differences: truncation ~h^2, round-off ~1e-16/1e-6; measured
            # 4e-11..2e-10 ("closed_form" with spread: analytic spline partials), 1e-10..5e-10
            # ("colored": analytic partials of the table's interpolant, both maps); the EIF
            # without spread uses forward differences (step 1e-6 relative): ~1e-6.
            # Dropping the sigma-factor term of "colored" gives 6e-4.
            bar = 1e-7 if (filt == "colored" or fmap is smap) else 2e-5
            assert np.max(np.abs(J - Jfd)) / np.max(np.abs(Jfd)) < bar, (preset, type(fmap))


def test_warm_start(lif_params):
    m = models(16)["case_C"]
    res = solve(lif_params, m, spread=True)
    again = solve(lif_params, m, spread=True, initial=res)
    assert again.converged and "warm start" in again.message
    np.testing.assert_allclose(again.rate, res.rate, rtol=1e-8)


def test_bad_arguments(lif_params):
    with pytest.raises(TypeError, match="spread"):
        solve(lif_params, spread="yes")
    with pytest.raises(ValueError, match="spread_nodes"):
        solve(lif_params, spread=True, spread_nodes=1)
    res = solve(lif_params)
    with pytest.raises(ValueError, match="T"):
        res.zero_spike_fraction(-1.0)
    with pytest.raises(ParameterError, match="q"):
        res.rate_quantiles([0.5, 1.5])
    with pytest.raises(ValueError, match="bins"):
        res.rate_distribution([1.0, 0.5])


# ---------------------------------------------------------------------- distributions
def test_zero_spike_fraction_without_spread(lif_params):
    hom = solve(lif_params)
    np.testing.assert_allclose(hom.zero_spike_fraction(10.0), np.exp(-hom.rate[:, 0] * 10.0),
                               rtol=1e-14)
    np.testing.assert_array_equal(hom.zero_spike_fraction(0.0), [1.0, 1.0])
    b = solve(lif_params, models(16)["case_B"])
    np.testing.assert_allclose(b.zero_spike_fraction(3.0),
                               np.sum(b.weights * np.exp(-3.0 * b.rate), axis=1), rtol=1e-14)


def _z_rate(res, a, i, z):
    """Rate of label i of population a at z (LIF, Fourcaud-Brunel): the model, directly."""
    nr = res.params.neurons[a]
    var = np.maximum(res.sigma[a, i] ** 2 + res.noise_slope[a, i] * z, 0.25 * res.sigma[a, i] ** 2)
    return lif_rate(res.mu[a, i] + res.sigma_q[a, i] * z, np.sqrt(var), nr, res.tau_s[a, i])


def test_zero_spike_fraction_with_spread_by_quadrature(lif_params):
    res = solve(lif_params, spread=True)
    T = 10.0
    for a in (0, 1):
        ref, _ = integrate.quad(lambda z: np.exp(-T * _z_rate(res, a, 0, z)) * stats.norm.pdf(z),
                                -10, 10, epsabs=1e-12, limit=200)
        # trapezoid on 257 nodes against adaptive quadrature: measured 1e-9
        assert res.zero_spike_fraction(T)[a] == pytest.approx(ref, abs=1e-6)
    assert res.zero_spike_fraction(T)[0] > solve(lif_params).zero_spike_fraction(T)[0] + 0.03


def test_quantiles_single_label_closed_form(lif_params):
    """One label: the q-quantile of r is Phi at the q-quantile of z (Phi increases with z)."""
    res = solve(lif_params, spread=True)
    q = np.array([0.01, 0.1, 0.5, 0.9, 0.99])
    out = res.rate_quantiles(q)
    for a in (0, 1):
        ref = _z_rate(res, a, 0, stats.norm.ppf(q))
        # log r interpolated linearly between z nodes 1/16 apart: documented 1e-3
        np.testing.assert_allclose(out[a], ref, rtol=2e-3)
    assert res.rate_quantiles(0.5).shape == (2,)


def test_quantiles_without_spread_are_weighted_quantiles(lif_params):
    b = solve(lif_params, models(16)["case_B"])
    for q in (0.05, 0.3, 0.5, 0.77, 0.95):
        x = b.rate_quantiles(q)
        for a in (0, 1):
            w, r = b.weights[a], b.rate[a]
            assert np.sum(w[r <= x[a]]) >= q - 1e-12 and np.sum(w[r < x[a]]) < q
            assert np.any(r == x[a])
    hom = solve(lif_params)
    np.testing.assert_array_equal(hom.rate_quantiles([0.1, 0.9]), np.repeat(hom.rate, 2, axis=1))


def test_quantiles_of_the_mixture_by_monte_carlo(lif_params):
    """Case B with spread: the fraction of a large sample below each predicted quantile."""
    res = solve(lif_params, models(16)["case_B"], spread=True)
    rng = np.random.default_rng(3)
    n = 200_000
    q = np.array([0.1, 0.5, 0.9])
    for a in (0, 1):
        i = rng.choice(res.weights.shape[1], size=n, p=res.weights[a] / res.weights[a].sum())
        z = rng.standard_normal(n)
        r = _z_rate(res, a, i, z)
        frac = np.array([np.mean(r <= x) for x in res.rate_quantiles(q)[a]])
        # binomial SE of an empirical CDF; 4 SE, plus 1e-3 for the z interpolation
        assert np.all(np.abs(frac - q) < 4 * np.sqrt(q * (1 - q) / n) + 1e-3), (a, frac)
        assert res.zero_spike_fraction(10.0)[a] == pytest.approx(np.mean(np.exp(-10 * r)), abs=5e-3)


def test_rate_distribution(lif_params):
    res = solve(lif_params, spread=True)
    qlo, qhi = res.rate_quantiles([0.25, 0.75])[0]
    edges, dens = res.rate_distribution([qlo, 0.5 * (qlo + qhi), qhi])
    assert np.sum(dens[0] * np.diff(edges)) == pytest.approx(0.5, abs=1e-9)
    edges, dens = res.rate_distribution(200, range=(0.0, 200.0))
    assert dens.shape == (2, 200)
    np.testing.assert_allclose(np.sum(dens * np.diff(edges), axis=1), 1.0, atol=1e-9)
    # without spread: a weighted histogram of the label rates
    b = solve(lif_params, models(16)["case_B"])
    edges, dens = b.rate_distribution(20)
    counts, _ = np.histogram(b.rate[0], bins=edges, weights=b.weights[0])
    inside = (b.rate[0] > edges[0]) & (b.rate[0] <= edges[-1])   # numpy's last bin is closed
    np.testing.assert_allclose(np.sum(dens[0] * np.diff(edges)), np.sum(b.weights[0][inside]),
                               atol=1e-12)
    assert np.sum(np.abs(dens[0] * np.diff(edges) - counts)) < 0.05   # edge convention only


def test_fraction_silent_with_spread_is_of_neurons(lif_params):
    res = solve(lif_params, spread=True)
    z, mass, prof = res._z_profile
    # below 0.1 Hz: about the mass of z below the crossing (one label, monotone profile)
    frac = float(np.sum(mass[prof[0, 0] < res.silent_rate]))
    assert res.fraction_silent[0] == pytest.approx(frac, abs=0.01)
    assert 0 < res.fraction_silent[0] < 0.2


# ---------------------------------------------------------------------- compare
def test_compare_reports_no_spike_fraction_and_quantiles(lif_params):
    th = solve(lif_params, models(16)["case_C"], spread=True)
    rng = np.random.default_rng(0)
    n = 2000
    pop = np.r_[np.zeros(1600, np.int8), np.ones(400, np.int8)]
    rate = np.where(rng.random(n) < 0.2, 0.0, rng.exponential(4.0, n))
    net = SimpleNamespace(N=n, population=pop, label=rng.uniform(0.5, 1.5, n))
    inputs = np.tile([20.0, -30.0, 15.0], (n, 1))
    sim = SimpleNamespace(N=n, rate=rate, mean_input=inputs, duration=7.0)
    c = compare(th, sim, net, quantiles=(0.25, 0.5))
    for a, pc in enumerate(c.populations):
        sel = pop == a
        assert pc.no_spike_fraction == pytest.approx(np.mean(rate[sel] == 0), abs=1e-15)
        np.testing.assert_allclose(pc.sim_rate_quantiles, np.quantile(rate[sel], [0.25, 0.5]))
        np.testing.assert_allclose(pc.theory_rate_quantiles, th.rate_quantiles([0.25, 0.5])[a])
        assert pc.theory_zero_spike_fraction == pytest.approx(th.zero_spike_fraction(7.0)[a])
    assert "no spike in the window" in c.summary()
    # without a MeanFieldResult the theory side is NaN
    c0 = compare(None, sim, net)
    assert np.isnan(c0.E.theory_zero_spike_fraction) and np.isnan(c0.E.theory_rate_quantiles).all()


# ---------------------------------------------------------------------- filter="colored"
@pytest.mark.parametrize("preset", ["akil2021_lif", "akil2021"])
@pytest.mark.parametrize("spread", [False, True])
def test_colored_filter_is_self_consistent(preset, spread):
    """filter="colored": the rates are ``colored_rate`` at the returned inputs (moments rule)."""
    from meanfield import colored_rate

    p = NetworkParams.preset(preset)
    res = solve(p, models(12)["case_B"], filter="colored", spread=spread)
    assert res.converged and res.filter == ("colored", "colored")
    assert np.all(res.tau_s > 0)
    if not spread:
        for a in (0, 1):
            ref = colored_rate(p.neurons[a], res.mu[a], res.sigma[a] * res.sigma_scale[a],
                               res.tau_s[a])
            # rates are Phi at the final moments, the same function: only round-off
            np.testing.assert_allclose(res.rate[a], ref, rtol=1e-12)
    else:
        z, mass, prof = res._z_profile
        # the colored table is a C1 (Catmull-Rom) interpolation, so Gauss-Hermite converges
        # only algebraically: label rates to ~1e-4 at 32 nodes (population means 2e-6)
        np.testing.assert_allclose(prof @ mass, res.rate, rtol=3e-4)


def test_colored_filter_lowers_the_eif_rates():
    """The white-noise EIF is far too high at the network's operating point (docs/theory.md
    section 9); the filtered-noise transfer lowers the network rates."""
    p = NetworkParams.preset("akil2021")
    white, colored = solve(p), solve(p, filter="colored")
    assert np.all(colored.mean_rate < 0.95 * white.mean_rate)

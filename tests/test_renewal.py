"""Sub-Poisson spike trains (meanfield.renewal) and solve(fano="renewal").

References: the LIF ISI CV^2 of Brunel (2000, eq. A.9) by mpmath quadrature; the package's
own white-noise rates (Siegert formula, threshold integration: independent code); a seeded
Euler-Maruyama Monte Carlo of the white-noise EIF; the Poisson limit far below threshold.
"""

import dataclasses
import warnings

import mpmath as mp
import numpy as np
import pytest

from meanfield import DegreeModel, NetworkParams, solve
from meanfield import degree_space
from meanfield.errors import ConvergenceError, ParameterError
from meanfield.renewal import (LOG_RATE_NODES, SIGMA_NODES, isi_moments, matched_cv2,
                               population_fano)
from meanfield.transfer import rate as white_rate


@pytest.fixture(scope="module")
def eif():
    return NetworkParams.preset("akil2021").neuron_E


@pytest.fixture(scope="module")
def lif():
    return NetworkParams.preset("akil2021_lif").neuron_E


def brunel_lif(neuron, mu, sigma):
    """(rate, CV^2) of the white-noise LIF by mpmath (Brunel 2000, eqs. A.6 and A.9)."""
    mp.mp.dps = 30
    yt, yr = (neuron.theta - mu) / sigma, (neuron.V_r - mu) / sigma
    T = neuron.tau_m * mp.sqrt(mp.pi) * mp.quad(lambda x: mp.exp(x * x) * mp.erfc(-x), [yr, yt])
    r = 1 / (neuron.tau_ref + T)

    def inner(x):
        return mp.quad(lambda y: mp.exp(y * y) * mp.erfc(-y) ** 2, [-mp.inf, min(x, -3), x]
                       if x > -3 else [-mp.inf, x])

    cv2 = 2 * mp.pi * (r * neuron.tau_m) ** 2 * mp.quad(lambda x: mp.exp(x * x) * inner(x),
                                                        [yr, yt])
    return float(r), float(cv2)


@pytest.mark.parametrize("mu, sigma", [(-60.0, 8.0), (-50.0, 4.0), (-70.0, 16.0)])
def test_lif_cv2_matches_brunel_formula(lif, mu, sigma):
    r_ref, cv2_ref = brunel_lif(lif, mu, sigma)
    r, cv2 = isi_moments(lif, mu, sigma)
    assert r == pytest.approx(r_ref, rel=1e-4)
    assert cv2 == pytest.approx(cv2_ref, rel=1e-4)


@pytest.mark.parametrize("which", ["eif", "lif", "eif_high_cut"])
def test_rate_matches_the_package_transfer(which, request):
    """Against the Siegert formula (LIF) and threshold integration (EIF; independent code),
    including an EIF whose spike cut is 80 Delta_T above V_T (rosenbaum2017's I neuron)."""
    neuron = NetworkParams.preset("rosenbaum2017").neuron_I if which == "eif_high_cut" \
        else request.getfixturevalue(which)
    th = neuron.theta if which == "lif" else neuron.V_T
    sigma = np.array([0.5, 2.0, 5.0, 10.0, 16.0, 40.0])[:, None]
    mu = th + np.array([-7.5, -3.0, -1.0, 0.0, 2.0, 5.0])[None, :] * sigma
    r, cv2 = isi_moments(neuron, mu, sigma)
    np.testing.assert_allclose(r, white_rate(mu, sigma, neuron), rtol=1e-3)
    assert np.all((cv2 > 0) & (cv2 < 2.0))


def test_eif_cv2_against_monte_carlo(eif):
    """Euler-Maruyama of the white-noise EIF (dt = 10 us, floor V_lb), ~30,000 ISIs."""
    mu, sigma = -60.0, 8.0
    rng = np.random.default_rng(12345)
    n, T, dt = 1000, 3.0, 1e-5
    V = np.full(n, eif.V_re)
    ref = np.zeros(n)
    last = np.full(n, np.nan)
    isis = []
    a, b = dt / eif.tau_m, sigma * np.sqrt(dt / eif.tau_m)
    for k in range(int(T / dt)):
        drift = -(V - mu) + eif.Delta_T * np.exp(np.minimum((V - eif.V_T) / eif.Delta_T, 30.0))
        V = np.where(ref <= 0, np.maximum(V + a * drift + b * rng.standard_normal(n), eif.V_lb), V)
        ref -= dt
        spike = V >= eif.V_th
        if spike.any():
            ok = spike & ~np.isnan(last)
            isis.append(k * dt - last[ok])
            last[spike] = k * dt
            V[spike] = eif.V_re
            ref[spike] = eif.tau_ref
    x = np.concatenate(isis)
    cv2_mc = x.var() / x.mean() ** 2
    se = cv2_mc * np.sqrt(2.0 / x.size) * 2.0          # conservative SE of a CV^2
    r, cv2 = isi_moments(eif, mu, sigma)
    assert x.size > 20000
    assert abs(cv2_mc - cv2) < 3 * se + 0.02 * cv2      # + Euler bias (rate +1.5 % here)
    assert 1 / x.mean() == pytest.approx(r, rel=0.03)


def test_poisson_limit_far_below_threshold(lif):
    r, cv2 = isi_moments(lif, lif.theta - 6.0 * 10.0, 10.0)
    assert cv2 == pytest.approx(1.0, abs=2e-3)
    _, cv2 = isi_moments(lif, lif.theta - 9.0 * 10.0, 10.0)
    assert cv2 == 1.0


def test_bad_input_raises(lif):
    with pytest.raises(ParameterError) as e:
        isi_moments(lif, -60.0, 0.0)
    assert e.value.field == "sigma"
    with pytest.raises(TypeError):
        isi_moments(object(), -60.0, 5.0)


@pytest.mark.parametrize("which", ["eif", "lif"])
def test_matched_cv2_is_the_white_neuron_at_the_same_rate(which, request):
    """Table against isi_moments at random (sigma, rate): the mu with that white rate."""
    neuron = request.getfixturevalue(which)
    rng = np.random.default_rng(3)
    sigma = np.exp(rng.uniform(np.log(3.0), np.log(30.0), 40))
    rate = 10 ** rng.uniform(-1.5, 1.8, 40)
    lo, hi = np.full(40, -150.0), np.full(40, 40.0)
    for _ in range(60):                                    # bisection on the white rate
        mid = 0.5 * (lo + hi)
        up = white_rate(mid, sigma, neuron) > rate
        hi, lo = np.where(up, mid, hi), np.where(up, lo, mid)
    r, cv2 = isi_moments(neuron, 0.5 * (lo + hi), sigma)
    np.testing.assert_allclose(r, rate, rtol=1e-3)
    np.testing.assert_allclose(matched_cv2(neuron, rate, sigma), cv2, atol=3e-3, rtol=5e-3)
    assert matched_cv2(neuron, 1e-5, 10.0) == 1.0
    assert SIGMA_NODES[0] <= 0.5 and LOG_RATE_NODES[0] == -3.0


def test_table_built_from_scratch_matches_the_direct_computation(lif):
    """``build_cv2_table`` itself (the other tests may read a cached table): nodes of the
    table against isi_moments at the mu whose white rate is the node's rate."""
    from meanfield.renewal import build_cv2_table

    tab = build_cv2_table(lif)
    assert tab.shape == (SIGMA_NODES.size, LOG_RATE_NODES.size) and np.all(np.isfinite(tab))
    rng = np.random.default_rng(7)
    i = rng.integers(5, SIGMA_NODES.size - 10, 25)             # sigma about 0.8 ... 110 mV
    k = rng.integers(60, 200, 25)                              # rates 0.03 ... 100 Hz
    sigma, rate = SIGMA_NODES[i], 10 ** LOG_RATE_NODES[k]
    lo, hi = lif.theta - 10 * sigma, lif.theta + np.maximum(8 * sigma, 100.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        up = white_rate(mid, sigma, lif) > rate
        hi, lo = np.where(up, mid, hi), np.where(up, lo, mid)
    r, cv2 = isi_moments(lif, 0.5 * (lo + hi), sigma)
    np.testing.assert_allclose(r, rate, rtol=1e-3)
    np.testing.assert_allclose(tab[i, k], cv2, atol=2e-3, rtol=2e-3)
    assert np.all(tab[:, 0] > 0.99)                            # 1 mHz: Poisson escape


@pytest.fixture(scope="module")
def case_b():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = NetworkParams.preset("akil2021_lif", N=10_000)
        model = DegreeModel.recurrent_indegree("gamma", 0.2, n_nodes=40)
        return params, model, solve(params, model, spread=True), \
            solve(params, model, spread=True, fano="poisson")


def test_spread_solve_uses_the_self_consistent_factor(case_b):
    params, model, res, poisson = case_b
    assert res.converged and res.fano_rule == "renewal" and "self-consistent" in res.message
    assert poisson.fano_rule == "poisson" and np.all(poisson.fano == 1.0)
    # the fixed point: the factor predicted from the returned solution is the one used
    np.testing.assert_allclose(population_fano(res), res.fano, atol=2e-4)
    # sub-Poisson trains in this network (benchmarks/README_colored.md section 6: the
    # simulation's rate-weighted CV^2 is 0.6-0.8) and less input noise: lower rates
    assert np.all((res.fano > 0.5) & (res.fano < 0.8))
    assert np.all(res.mean_rate < poisson.mean_rate * 0.995)
    # the same factor given explicitly reproduces the solution
    again = solve(params, model, spread=True, fano=tuple(res.fano))
    np.testing.assert_allclose(again.rate, res.rate, rtol=1e-7)
    assert again.fano_rule == "fixed"


def test_population_fano_is_the_rate_weighted_cv2(case_b):
    """Independent sum over (label, z) nodes with isi_moments at the matched mu."""
    _, _, res, _ = case_b
    z, mass, mu, sig, prof = res._z_nodes
    a = 1
    neuron = res.params.neurons[a]
    w = res.weights[a][:, None] * mass[None, :] * prof[a]
    keep = (prof[a] > 1e-4) & (w > 0)
    cv2 = matched_cv2(neuron, prof[a][keep], sig[a][keep])
    assert population_fano(res)[a] == pytest.approx(np.sum(w[keep] * cv2) / np.sum(w[keep]))
    # and matched_cv2 is the CV^2 of the white neuron at the node's rate (spot check)
    i = np.argmax(w[keep])
    r_node, s_node = prof[a][keep][i], sig[a][keep][i]
    lo, hi = -150.0, 40.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if white_rate(mid, s_node, neuron) > r_node else (mid, hi)
    assert isi_moments(neuron, 0.5 * (lo + hi), s_node)[1] == pytest.approx(cv2[i], abs=3e-3)


def test_without_spread_the_default_is_poisson_and_unchanged():
    lif = NetworkParams.preset("akil2021_lif")
    model = DegreeModel.recurrent_indegree("gamma", 0.2, n_nodes=24)
    a = solve(lif, model)
    b = solve(lif, model, fano=1.0)
    np.testing.assert_array_equal(a.rate, b.rate)
    assert a.fano_rule == "poisson"
    c = solve(lif, model, fano="renewal")
    assert c.converged and c.fano_rule == "renewal" and np.all(c.fano < 1.0)


def test_fixed_point_not_reached_is_reported(case_b, monkeypatch):
    """Newton on the augmented system failing, the fallback iteration cut to one solve."""
    params, model, res, _ = case_b
    monkeypatch.setattr(degree_space, "_renewal_newton", lambda *args, **kw: None)
    fallback = solve(params, model, spread=True)            # the fixed-point iteration alone
    assert fallback.converged and "renewal rule" in fallback.message
    np.testing.assert_allclose(fallback.fano, res.fano, atol=2e-3)
    np.testing.assert_allclose(fallback.mean_rate, res.mean_rate, rtol=1e-3)
    monkeypatch.setattr(degree_space, "FANO_MAXITER", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = solve(params, model, spread=True)
        assert not res.converged and "not self-consistent" in res.message
        with pytest.raises(ConvergenceError):
            solve(params, model, spread=True, strict=True)


@pytest.mark.parametrize("bad", ["renwal", "", 0.0, 13.0])
def test_bad_fano_rule_names_the_parameter(bad):
    with pytest.raises(ParameterError) as e:
        solve(NetworkParams.preset("akil2021_lif"), fano=bad)
    assert e.value.field == "fano" and "renewal" in str(e.value)


def test_result_fields_default_to_poisson():
    res = solve(NetworkParams.preset("lif_benchmark"), filter="white")
    assert res.fano_rule == "poisson" and np.all(res.fano == 1.0)
    assert {f.name for f in dataclasses.fields(res)} >= {"fano", "fano_rule"}


def test_cli_fano_option(capsys):
    from hetbalance.cli import main
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["solve", "--preset", "akil2021_lif", "--spread"]) == 0
        out = capsys.readouterr().out
        assert "(renewal)" in out and "F_E 0.94" in out
        assert main(["solve", "--preset", "akil2021_lif", "--spread", "--fano", "poisson"]) == 0
        assert "presynaptic variance factors" not in capsys.readouterr().out
        assert main(["solve", "--preset", "akil2021_lif", "--fano", "0.8,0.7"]) == 0
        assert "F_E 0.8, F_I 0.7 (fixed)" in capsys.readouterr().out
        assert main(["solve", "--preset", "akil2021_lif", "--fano", "abc"]) != 0
        assert "--fano 'abc'" in capsys.readouterr().err


@pytest.mark.parametrize("preset", ["akil2021_lif", "akil2021"])
def test_augmented_jacobian_matches_finite_differences(preset):
    """The spread system with F as two more unknowns: its Jacobian (analytic dF_pred/dy
    through the nodes' rates and noise, forward-difference F columns) against central
    differences of the whole residual."""
    from _numdiff import central_jacobian  # tests/_numdiff.py
    from meanfield._moments import LabelGrid
    from meanfield._phi import PopulationTransfer, resolve_filter

    p = NetworkParams.preset(preset)
    m = DegreeModel.assortative(3.0, (0.5, 1.5), n_nodes=6)
    grid = LabelGrid(p, m, 6)
    n = grid.n
    res = solve(p, m, spread=True, spread_nodes=12)
    tr = PopulationTransfer(p, resolve_filter(p, "colored"), (np.arange(n), np.arange(n, 2 * n)))
    base = degree_space._MomentMap(grid, p, tr, tuple(res.fano))
    smap = degree_space._SpreadMap(base, degree_space.gauss_hermite(12), 3.0)
    aug = degree_space._RenewalSpreadMap(smap, 1e-9)
    y = smap.join(res.moments, res.second_moments)
    x = np.concatenate([y, res.fano]) * (1 + 0.005 * np.sin(np.arange(y.size + 2)))
    R, J, _ = aug._evaluate(x, True)
    Jfd = central_jacobian(lambda v: aug._evaluate(v, False)[0], x)
    # measured 6e-8 ... 8e-8 relative to each row's largest entry, the F rows included
    # (the table is bilinear, so its gradient is exact inside a cell; a node crossing a cell
    # edge within +-h would show up here)
    err = np.abs(J - Jfd) / np.max(np.abs(Jfd), axis=1, keepdims=True)
    assert np.max(err[:-2]) < 1e-6, np.max(err[:-2])
    assert np.max(err[-2:]) < 1e-5, np.max(err[-2:])
    # and the F rows are not zero (a dropped dF_pred/dy would pass a looser check)
    assert np.max(np.abs(J[-2:, :-2])) > 1e-3 * np.max(np.abs(J[-2:, -2:]))


def test_rule_outside_its_range_is_reported():
    """A noise-dominated network (brunel_lif with p = 1 at N = 400: sigma about 64 mV, ten
    times the threshold-reset gap) has ISI CV^2 of 4-5 at the Poisson solution: the rule
    is not used there, the result says so and keeps the Poisson rates."""
    p = dataclasses.replace(NetworkParams.preset("brunel_lif", N=400), p_EE=1.0, p_EI=1.0,
                            p_IE=1.0, p_II=1.0, p_EX=1.0, p_IX=1.0)
    poisson = solve(p, fano="poisson")
    res = solve(p, fano="renewal")
    assert not res.converged and "beyond 2" in res.message and "fano=\"poisson\"" in res.message
    np.testing.assert_array_equal(res.rate, poisson.rate)
    assert np.all(population_fano(poisson) > 2.0)


def test_default_keeps_poisson_where_the_rule_predicts_super_poisson_trains():
    """brunel_lif (mu about -10 mV, sigma about 19 mV, reset 10 mV below a 20 mV threshold):
    the rule predicts CV^2 about 1.5; the default keeps Poisson input and says why, an
    explicit fano="renewal" tries it."""
    p = NetworkParams.preset("brunel_lif")
    default = solve(p, spread=True)
    poisson = solve(p, spread=True, fano="poisson")
    assert default.converged and default.fano_rule == "poisson"
    assert "super-Poisson" in default.message and "fano=\"renewal\" forces it" in default.message
    np.testing.assert_array_equal(default.rate, poisson.rate)
    assert np.all(population_fano(poisson) > 1.2)
    forced = solve(p, spread=True, fano="renewal")
    assert forced.fano_rule == "renewal"
    assert forced.converged == bool(np.all(forced.fano <= 2.0) and "self-consistent (" in forced.message)

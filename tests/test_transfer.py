"""Fast tests of meanfield.transfer: LIF (Siegert / Fourcaud-Brunel) and EIF (threshold
integration) transfer functions against independent references and limits.

Independent references used here:
* ``siegert_mp``: the Siegert integral at 50 significant digits with mpmath
  (integrand exp(u^2) erfc(-u), fixed 40-point Gauss-Legendre on subintervals adapted to
  the integrand; checked against mpmath's adaptive ``quad`` in test_transfer_slow.py);
* closed-form limits (deterministic LIF as sigma -> 0, EIF -> LIF as Delta_T -> 0);
* the Siegert rate itself for threshold integration with psi = 0.
The Euler-Maruyama check of the EIF rate lives in test_transfer_slow.py.
"""

from __future__ import annotations

import functools
import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meanfield.errors import RegimeWarning
from meanfield.params import EIF, LIF
from meanfield.transfer import (ALPHA_FB, DEFAULT_DV, eif_rate, eif_rate_dmu, eif_rate_dsigma,
                                lif_rate, lif_rate_dmu, lif_rate_dsigma, rate, rate_dmu,
                                rate_dsigma)

BRUNEL = LIF(tau_m=0.02, E_L=0.0, theta=20.0, V_r=10.0, tau_ref=0.002)
OTHER = LIF(tau_m=0.015, E_L=-72.0, theta=-55.0, V_r=-75.0, tau_ref=0.001)
EIF_DEFAULT = EIF()

DPS = 50                 # digits of the mpmath reference
TOL_LIF = 1e-10          # lif_rate vs the reference: near double precision, far below model error
RATE_FLOOR = 1e-300      # below this a double underflows (documented); only check >= 0


# --------------------------------------------------------------------------- reference
@functools.lru_cache(maxsize=None)
def _gl_nodes(n: int = 40):
    with mp.workdps(DPS + 10):
        x, w = mp.gauss_quadrature(n, "legendre")
        return [mp.mpf(v) for v in x], [mp.mpf(v) for v in w]


def _breakpoints(y_r, y_th):
    """Subintervals on which exp(u^2) erfc(-u) is smooth on the scale of its length."""
    pts = {y_r, y_th}
    if y_r < 0 < y_th:
        pts.add(mp.mpf(0))
    if y_th > 1:  # exp(u^2) rises over 1/(2 y_th) near the top: points y_th - 2^k/(4 y_th)
        j = mp.mpf(1) / 4
        while y_th - j / y_th > max(y_r, 0):
            pts.add(y_th - j / y_th)
            j *= 2
    if -y_r > 1:  # u < 0: erfcx(|u|) ~ 1/|u|: geometric points
        c = max(-y_th, mp.mpf(1)) * 2
        while c < -y_r:
            pts.add(-c)
            c *= 2
    return sorted(pts)


def siegert_integral_mp(y_r, y_th, n_nodes: int = 40):
    """int_{y_r}^{y_th} exp(u^2) erfc(-u) du at DPS digits (the 1 + erf form cancels)."""
    x, w = _gl_nodes(n_nodes)
    f = lambda u: mp.exp(u * u) * mp.erfc(-u)  # noqa: E731
    total = mp.mpf(0)
    pts = _breakpoints(y_r, y_th)
    for a, b in zip(pts[:-1], pts[1:]):
        h, c = (b - a) / 2, (a + b) / 2
        total += h * mp.fsum(wi * f(c + h * xi) for xi, wi in zip(x, w))
    return total


def siegert_mp(mu, sigma, neuron: LIF, tau_s=0.0):
    """Reference LIF rate (Hz) as an mpf; None when it is provably below 1e-300 Hz."""
    with mp.workdps(DPS):
        mu, sigma = mp.mpf(mu), mp.mpf(sigma)
        alpha = mp.sqrt(2) * abs(mp.zeta(mp.mpf(1) / 2))
        shift = alpha / 2 * mp.sqrt(mp.mpf(tau_s) / neuron.tau_m)
        y_th = (neuron.theta - mu) / sigma + shift
        y_r = (neuron.V_r - mu) / sigma + shift
        if y_th > 30:  # I > d exp((y_th - d)^2) with d = min(y_th - y_r, 1/y_th): rate < 1e-350
            return None
        integral = siegert_integral_mp(y_r, y_th)
        return 1 / (neuron.tau_ref + neuron.tau_m * mp.sqrt(mp.pi) * integral)


def compare_to_reference(mus, sigmas, neuron, tau_s=0.0):
    """Max relative error of lif_rate over the points; also checks the underflow region."""
    got = lif_rate(mus, sigmas, neuron, tau_s)
    worst, n_checked = 0.0, 0
    for m, s, r in zip(np.ravel(mus), np.ravel(sigmas), np.ravel(got)):
        ref = siegert_mp(float(m), float(s), neuron, tau_s)
        if ref is None or ref < RATE_FLOOR:
            assert 0.0 <= r < 1e-290, (m, s, r)
            continue
        worst = max(worst, float(abs(r - ref) / ref))
        n_checked += 1
    return worst, n_checked


def grid(neuron, n_mu, n_sigma):
    mus, sigmas = np.meshgrid(np.linspace(-60.0, 60.0, n_mu), np.geomspace(0.05, 40.0, n_sigma))
    if neuron is OTHER:  # same relative placement around this neuron's threshold
        mus = mus + (neuron.theta - BRUNEL.theta)
    return mus.ravel(), sigmas.ravel()


# --------------------------------------------------------------------------- LIF values
def test_lif_published_reference_values():
    # published values for the Brunel neuron, to 6 significant digits: agree after rounding
    r = lif_rate([10.0, 20.0], [5.0, 2.0], BRUNEL)
    assert round(float(r[0]), 6) == 0.881923
    assert round(float(r[1]), 4) == 18.5123


@pytest.mark.parametrize("neuron", [BRUNEL, OTHER], ids=["brunel", "other"])
def test_lif_matches_mpmath_on_grid(neuron):
    # 16 x 9 points over mu in [-60, 60] mV (shifted with theta for OTHER), sigma in
    # [0.05, 40] mV: noise-driven, mean-driven, deep sub-threshold and underflow regions
    mus, sigmas = grid(neuron, 16, 9)
    worst, n_checked = compare_to_reference(mus, sigmas, neuron)
    assert n_checked > 90
    assert worst <= TOL_LIF


def test_lif_matches_mpmath_for_brunel_corners_and_tiny_rates():
    mus = np.array([60.0, 60.0, -60.0, 0.0, 5.0, 8.0, 12.0, 19.99, 20.01, 15.0])
    sigmas = np.array([0.05, 40.0, 40.0, 2.0, 1.5, 1.2, 1.0, 0.05, 0.05, 0.66])
    r = lif_rate(mus, sigmas, BRUNEL)
    refs = [siegert_mp(m, s, BRUNEL) for m, s in zip(mus, sigmas)]
    tiny = [float(x) for x in refs if x is not None and 1e-300 < x < 1e-20]
    assert min(tiny) < 1e-30  # the grid really reaches rates below 1e-30 Hz
    for m, s, got, ref in zip(mus, sigmas, r, refs):
        assert got > 0.0 and np.isfinite(got), (m, s)
        assert abs(got - ref) / ref <= TOL_LIF, (m, s, got, ref)


@pytest.mark.parametrize("tau_s", [0.001, 0.005, 0.01])
def test_lif_fourcaud_brunel_matches_mpmath(tau_s):
    # reference computes alpha = sqrt(2)|zeta(1/2)| itself, at 50 digits
    mus, sigmas = grid(BRUNEL, 8, 4)
    worst, n_checked = compare_to_reference(mus, sigmas, BRUNEL, tau_s)
    assert n_checked > 15 and worst <= TOL_LIF


def test_alpha_constant():
    assert ALPHA_FB == pytest.approx(math.sqrt(2) * float(abs(mp.zeta(0.5))), rel=1e-15)


def test_lif_tau_s_is_a_threshold_and_reset_shift():
    mu, sigma, tau_s = np.array([5.0, 15.0, 25.0]), np.array([2.0, 5.0, 3.0]), 0.004
    shift = sigma * ALPHA_FB / 2 * np.sqrt(tau_s / BRUNEL.tau_m)
    expect = [lif_rate(m, s, BRUNEL.replace(theta=20.0 + d, V_r=10.0 + d))
              for m, s, d in zip(mu, sigma, shift)]
    # identical formula, different rounding of y: a few ulps of the rate
    np.testing.assert_allclose(lif_rate(mu, sigma, BRUNEL, tau_s), expect, rtol=1e-13)


def test_lif_tau_s_array_broadcasts_per_neuron():
    mu = np.array([10.0, 15.0, 20.0])
    tau_s = np.array([0.0, 0.003, 0.008])
    got = lif_rate(mu, 4.0, BRUNEL, tau_s)
    one_by_one = [float(lif_rate(m, 4.0, BRUNEL, t)) for m, t in zip(mu, tau_s)]
    np.testing.assert_array_equal(got, one_by_one)
    assert lif_rate(mu[:, None], [1.0, 2.0], BRUNEL, tau_s[:, None]).shape == (3, 2)
    assert lif_rate(mu, 4.0, BRUNEL, tau_s[:, None]).shape == (3, 3)


def test_lif_tau_s_beyond_tau_m_warns():
    with pytest.warns(RegimeWarning, match="tau_s"):
        lif_rate(10.0, 2.0, BRUNEL, tau_s=0.05)


# --------------------------------------------------------------------------- LIF limits
@pytest.mark.parametrize("neuron", [BRUNEL, OTHER], ids=["brunel", "other"])
def test_lif_small_sigma_gives_deterministic_rate(neuron):
    # sigma = 1e-3 mV: corrections are O((sigma/(mu - theta))^2) <= 1e-7 for mu - theta >= 1
    dmu = np.array([1.0, 2.0, 5.0, 20.0, 100.0])
    mu = neuron.theta + dmu
    det = 1.0 / (neuron.tau_ref + neuron.tau_m * np.log((mu - neuron.V_r) / (mu - neuron.theta)))
    np.testing.assert_allclose(lif_rate(mu, 1e-3, neuron), det, rtol=1e-6)
    below = lif_rate(neuron.theta - dmu, 1e-3, neuron)
    assert np.all(below >= 0.0) and np.all(below < 1e-300)


def test_lif_rate_bounded_by_refractory_period():
    # strongly supra-threshold: the deterministic rate (noise is a 1e-6 relative
    # correction at (mu - theta)/sigma >= 1000), which tends to 1/tau_ref
    mu = np.array([1e3, 1e5, 1e8])
    det = 1.0 / (BRUNEL.tau_ref + BRUNEL.tau_m * np.log((mu - BRUNEL.V_r) / (mu - BRUNEL.theta)))
    r = lif_rate(mu, 1.0, BRUNEL)
    np.testing.assert_allclose(r, det, rtol=1e-6)
    assert np.all(r <= 1.0 / BRUNEL.tau_ref)
    assert r[-1] == pytest.approx(1.0 / BRUNEL.tau_ref, rel=1e-6)
    no_ref = BRUNEL.replace(tau_ref=0.0)
    assert np.all(np.isfinite(lif_rate(mu, 1.0, no_ref)))


def test_lif_extreme_inputs_never_nan():
    mu = np.array([-1e6, -500.0, 0.0, 500.0, 1e6])
    for sigma in (1e-8, 1e-3, 1.0, 1e3, 1e6):
        for f in (lif_rate, lif_rate_dmu, lif_rate_dsigma):
            v = f(mu, sigma, BRUNEL)
            assert np.all(np.isfinite(v)), (f.__name__, sigma, v)
        assert np.all(lif_rate(mu, sigma, BRUNEL) >= 0.0)


# --------------------------------------------------------------------------- LIF derivatives
def _central_difference_mp(func, x, h="1e-12"):
    """d func / dx at 50 digits: truncation O(h^2) ~ 1e-24, round-off ~ 1e-46 / h ~ 1e-34."""
    with mp.workdps(DPS):
        h = mp.mpf(h)
        x = mp.mpf(x)
        return (func(x + h) - func(x - h)) / (2 * h)


DERIV_POINTS = [(10.0, 5.0), (20.0, 2.0), (0.0, 3.0), (30.0, 1.0), (25.0, 10.0), (-40.0, 40.0),
                (60.0, 0.05), (19.0, 0.3), (15.0, 0.5), (50.0, 20.0)]


@pytest.mark.parametrize("neuron", [BRUNEL, OTHER], ids=["brunel", "other"])
def test_lif_derivatives_match_mpmath_differentiation(neuron):
    off = neuron.theta - BRUNEL.theta
    for m, s in DERIV_POINTS:
        m = m + off
        d_mu_ref = _central_difference_mp(lambda x: siegert_mp(x, s, neuron), m)
        d_sig_ref = _central_difference_mp(lambda x: siegert_mp(m, x, neuron), s)
        r = float(siegert_mp(m, s, neuron))
        scale = r / s  # natural size of either derivative (d r / d sigma changes sign)
        # analytic formula evaluated in double precision: a few 1e-13 of the scale,
        # worse only through the conditioning of y = (theta - mu)/sigma (~ y^2 eps)
        assert abs(float(lif_rate_dmu(m, s, neuron)) - float(d_mu_ref)) <= 1e-10 * (
            abs(float(d_mu_ref)) + scale), (m, s)
        assert abs(float(lif_rate_dsigma(m, s, neuron)) - float(d_sig_ref)) <= 1e-10 * (
            abs(float(d_sig_ref)) + scale), (m, s)


def test_lif_derivatives_with_tau_s_match_mpmath():
    tau_s = 0.005
    for m, s in DERIV_POINTS[:5]:
        d_mu_ref = _central_difference_mp(lambda x: siegert_mp(x, s, BRUNEL, tau_s), m)
        d_sig_ref = _central_difference_mp(lambda x: siegert_mp(m, x, BRUNEL, tau_s), s)
        scale = float(siegert_mp(m, s, BRUNEL, tau_s)) / s
        assert abs(float(lif_rate_dmu(m, s, BRUNEL, tau_s)) - float(d_mu_ref)) <= 1e-10 * (
            abs(float(d_mu_ref)) + scale)
        assert abs(float(lif_rate_dsigma(m, s, BRUNEL, tau_s)) - float(d_sig_ref)) <= 1e-10 * (
            abs(float(d_sig_ref)) + scale)


def test_lif_derivatives_tiny_rates_are_finite_and_consistent():
    # far below threshold: d log r / d mu -> 2 (theta - mu) / sigma^2 (Kramers), so
    # r' / r must approach it; only the log-space evaluation gets this without overflow
    mu, sigma = np.array([-10.0, 0.0, 20.0 - 2 * 25.0]), 2.0   # y_th = 15, 10, 25
    r, d = lif_rate(mu, sigma, BRUNEL), lif_rate_dmu(mu, sigma, BRUNEL)
    assert np.all(r > 0) and np.all(r < 1e-40) and np.all(d > 0)
    y = (BRUNEL.theta - mu) / sigma
    kramers = (2 * y - 1 / y) / sigma  # d/dmu of -y^2 - ln(1/y)
    np.testing.assert_allclose(d / r, kramers, rtol=0.01)  # next order O(1/y^4) < 1e-3


# --------------------------------------------------------------------------- EIF
def test_eif_with_lif_neuron_reproduces_siegert():
    # psi = 0: threshold integration is 4th order in dV; measured <= 7.3e-9 for rates
    # above 1e-3 Hz at sigma >= 1 mV
    for neuron in (BRUNEL, OTHER):
        mus, sigmas = np.meshgrid(np.linspace(-15, 45, 13) + neuron.theta - 20.0,
                                  [1.0, 3.0, 10.0, 30.0])
        r_ti = eif_rate(mus, sigmas, neuron)
        r = lif_rate(mus, sigmas, neuron)
        ok = r > 1e-3
        assert ok.sum() > 30
        np.testing.assert_allclose(r_ti[ok], r[ok], rtol=1e-6)


def test_eif_dv_halving_changes_rate_below_1e_4():
    mus, sigmas = np.meshgrid(np.linspace(-80.0, -40.0, 9), [0.5, 1.0, 2.0, 5.0, 10.0, 20.0])
    r = eif_rate(mus, sigmas, EIF_DEFAULT)
    r_half = eif_rate(mus, sigmas, EIF_DEFAULT, dV=DEFAULT_DV / 2)
    rel = np.abs(r_half / np.where(r > 0, r, 1.0) - 1.0)
    relevant = r > 1e-3
    assert relevant.sum() > 30
    assert rel[relevant].max() < 1e-5       # measured 5.8e-7
    assert rel[r > 1e-250].max() < 1e-4     # deep tail: measured 2.1e-5 (error ~ log(1/r))


def test_threshold_integration_deep_tail_with_rescaling():
    # rates down to 1e-269 Hz: P grows by ~exp((V_th - mu)^2/sigma^2) on the way down and
    # is rescaled many times; with psi = 0 the result must still be the Siegert rate.
    # Measured 9e-6 at sigma = 1 mV (error ~ (dV/sigma)^4 log(1/r)), 5e-7 at 2 mV.
    mu = np.array([-90.0, -80.0, -70.0])
    for sigma, rtol in ((1.0, 3e-5), (2.0, 2e-6), (5.0, 1e-8)):
        r = lif_rate(mu, sigma, OTHER)
        ok = r > 1e-300
        np.testing.assert_allclose(eif_rate(mu, sigma, OTHER)[ok], r[ok], rtol=rtol)


def test_eif_reset_on_grid_for_awkward_voltages():
    # V_th - V_re and V_re - V_lb not multiples of dV: each segment gets its own step
    neuron = EIF(V_re=-71.234, V_lb=-97.77, V_th=-49.1)
    r = eif_rate([-60.0, -50.0], 4.0, neuron)
    r_half = eif_rate([-60.0, -50.0], 4.0, neuron, dV=DEFAULT_DV / 2)
    np.testing.assert_allclose(r, r_half, rtol=1e-5)  # same accuracy as the default grid


def test_eif_tends_to_lif_as_delta_t_vanishes():
    # the EIF's effective threshold lies about Delta_T ln(.../Delta_T) above V_T, so the
    # relative gap to the LIF with theta = V_T shrinks like Delta_T ln(1/Delta_T)
    mu, sigma = np.array([-60.0, -55.0, -50.0]), np.array([4.0, 3.0, 2.0])
    lif = LIF(tau_m=0.015, E_L=-72.0, theta=-55.0, V_r=-75.0, tau_ref=0.001)
    r_lif = lif_rate(mu, sigma, lif)
    gaps = []
    for delta in (0.1, 0.05, 0.025):
        eif = EIF(Delta_T=delta, V_th=-55.0 + 20 * delta, V_lb=-90.0)
        gaps.append(np.abs(eif_rate(mu, sigma, eif, dV=delta / 5) / r_lif - 1.0))
        assert np.all(gaps[-1] <= delta * np.log(sigma / delta)), delta
    gaps = np.array(gaps)
    ratios = gaps[:-1] / gaps[1:]
    assert np.all(ratios > 1.4) and np.all(ratios < 2.2)  # ~ Delta ln(1/Delta) convergence


def test_eif_small_sigma_gives_deterministic_rate():
    # sigma -> 0 above the EIF's deterministic threshold (mu > V_T - Delta_T): the rate is
    # 1 / (tau_ref + tau_m int_{V_re}^{V_th} dV / (mu - V + psi(V))), here by scipy quad
    # (rtol 1e-12); the exponential step gives the midpoint rule for this integral,
    # extrapolated: measured 6e-12
    from scipy.integrate import quad
    n = EIF_DEFAULT
    mus = np.array([-52.0, -50.0, -45.0, -30.0])
    isi = [quad(lambda v: n.tau_m / (m - v + float(n.psi(v))), n.V_re, n.V_th,
                limit=200, epsabs=0.0, epsrel=1e-12)[0] for m in mus]
    np.testing.assert_allclose(eif_rate(mus, 1e-6, n), 1.0 / (n.tau_ref + np.array(isi)),
                               rtol=1e-9)
    assert eif_rate(-70.0, 1e-6, n) == 0.0  # below: silent (underflows to 0)


def test_eif_derivatives_match_analytic_lif_with_psi_zero():
    # central difference of the threshold integration vs the analytic Siegert derivative:
    # FD truncation (h/sigma)^2 = 1e-8, discretisation <= 1e-6 for rates above 1e-3 Hz
    mus = np.array([12.0, 15.0, 20.0, 25.0, 40.0])
    for sigma in (2.0, 5.0, 10.0):
        ok = lif_rate(mus, sigma, BRUNEL) > 1e-3
        np.testing.assert_allclose(eif_rate_dmu(mus, sigma, BRUNEL)[ok],
                                   lif_rate_dmu(mus, sigma, BRUNEL)[ok], rtol=1e-5)
        scale = lif_rate(mus, sigma, BRUNEL) / sigma
        err = np.abs(eif_rate_dsigma(mus, sigma, BRUNEL) - lif_rate_dsigma(mus, sigma, BRUNEL))
        assert np.all(err[ok] <= 1e-5 * scale[ok])


def test_eif_derivatives_consistent_with_coarse_differences():
    # an independent, cruder difference, h = 0.003 sigma: truncation (h d ln r/dmu)^2/6
    # <= 1e-4 relative even in the tail, where d ln r / d mu ~ 2 (V_T - mu)/sigma^2
    mu, sigma = np.array([-65.0, -58.0, -52.0, -45.0]), 3.0
    h = 0.003 * sigma
    r = lambda m, s: eif_rate(m, s, EIF_DEFAULT)  # noqa: E731
    fd_mu = (r(mu + h, sigma) - r(mu - h, sigma)) / (2 * h)
    fd_sig = (r(mu, sigma + h) - r(mu, sigma - h)) / (2 * h)
    np.testing.assert_allclose(eif_rate_dmu(mu, sigma, EIF_DEFAULT), fd_mu, rtol=1e-3)
    np.testing.assert_allclose(eif_rate_dsigma(mu, sigma, EIF_DEFAULT), fd_sig, rtol=1e-3)


def test_eif_extreme_inputs_never_nan():
    mu = np.array([-1e4, -300.0, -60.0, 0.0, 1e4])
    for sigma in (1e-3, 0.1, 5.0, 1e3):
        r = eif_rate(mu, sigma, EIF_DEFAULT)
        assert np.all(np.isfinite(r)) and np.all(r >= 0) and np.all(r <= 1 / EIF_DEFAULT.tau_ref)


# --------------------------------------------------------------------------- dispatch
def test_rate_dispatches_on_kind():
    mu, sigma = np.array([5.0, 15.0, 25.0]), 3.0
    np.testing.assert_array_equal(rate(mu, sigma, BRUNEL, 0.003),
                                  lif_rate(mu, sigma, BRUNEL, 0.003))
    np.testing.assert_array_equal(rate_dmu(mu, sigma, BRUNEL), lif_rate_dmu(mu, sigma, BRUNEL))
    np.testing.assert_array_equal(rate_dsigma(mu, sigma, BRUNEL),
                                  lif_rate_dsigma(mu, sigma, BRUNEL))
    m_e = mu - 70.0
    np.testing.assert_array_equal(rate(m_e, sigma, EIF_DEFAULT), eif_rate(m_e, sigma, EIF_DEFAULT))
    np.testing.assert_array_equal(rate_dmu(m_e, sigma, EIF_DEFAULT),
                                  eif_rate_dmu(m_e, sigma, EIF_DEFAULT))


def test_rate_eif_with_tau_s_warns_and_returns_white_noise_rate():
    with pytest.warns(RegimeWarning, match="white-noise"):
        r = rate([-60.0, -55.0], 3.0, EIF_DEFAULT, tau_s=0.005)
    np.testing.assert_array_equal(r, eif_rate([-60.0, -55.0], 3.0, EIF_DEFAULT))
    with pytest.warns(RegimeWarning):
        assert rate(-60.0, 3.0, EIF_DEFAULT, tau_s=[0.0, 0.004]).shape == (2,)


def test_output_shapes_follow_broadcasting():
    assert lif_rate(10.0, 2.0, BRUNEL).shape == ()
    assert lif_rate(np.zeros((2, 3)), np.ones(3), BRUNEL).shape == (2, 3)
    assert lif_rate_dmu(np.zeros((2, 1)), np.ones(3), BRUNEL).shape == (2, 3)
    assert eif_rate(np.full((2, 1), -60.0), np.ones(3), EIF_DEFAULT).shape == (2, 3)
    assert eif_rate_dsigma(-60.0, [1.0, 2.0], EIF_DEFAULT).shape == (2,)
    assert rate(np.zeros((0,)), 1.0, BRUNEL).shape == (0,)
    assert eif_rate(np.zeros((0, 2)), 1.0, EIF_DEFAULT).shape == (0, 2)
    assert eif_rate_dmu(np.zeros((0,)), 1.0, BRUNEL).shape == (0,)


# --------------------------------------------------------------------------- input checks
ALL_FUNCS = [lif_rate, lif_rate_dmu, lif_rate_dsigma, eif_rate, eif_rate_dmu, eif_rate_dsigma,
             rate, rate_dmu, rate_dsigma]


@pytest.mark.parametrize("func", ALL_FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("mu, sigma, word", [
    (10.0, 0.0, "sigma"), (10.0, -1.0, "sigma"), (10.0, np.nan, "sigma"), (10.0, np.inf, "sigma"),
    (np.nan, 1.0, "mu"), ([0.0, np.inf], 1.0, "mu"), (-np.inf, 1.0, "mu"),
], ids=["sigma0", "sigma_neg", "sigma_nan", "sigma_inf", "mu_nan", "mu_inf", "mu_minf"])
def test_invalid_moments_raise_value_error(func, mu, sigma, word):
    neuron = BRUNEL if func.__name__.startswith(("lif", "rate")) else EIF_DEFAULT
    with pytest.raises(ValueError, match=word) as info:
        func(mu, sigma, neuron)
    assert "allowed" in str(info.value)  # names the allowed range


@pytest.mark.parametrize("func", [lif_rate, lif_rate_dmu, rate], ids=lambda f: f.__name__)
@pytest.mark.parametrize("tau_s", [-0.001, 5.0, np.nan])
def test_invalid_tau_s_raises(func, tau_s):
    with pytest.raises(ValueError, match="tau_s"):
        func(10.0, 2.0, BRUNEL, tau_s)


@pytest.mark.parametrize("func, neuron", [
    (lif_rate, EIF_DEFAULT), (lif_rate_dmu, EIF_DEFAULT), (lif_rate_dsigma, "LIF"),
    (eif_rate, object()), (eif_rate_dmu, None), (rate, {"kind": "LIF"}), (rate_dmu, 3.0)])
def test_wrong_neuron_type_raises_type_error(func, neuron):
    with pytest.raises(TypeError, match="neuron"):
        func(10.0, 2.0, neuron)


def test_invalid_eif_options_raise():
    with pytest.raises(ValueError, match="dV"):
        eif_rate(-60.0, 2.0, EIF_DEFAULT, dV=0.0)
    with pytest.raises(ValueError, match="V_lb"):
        eif_rate(-60.0, 2.0, EIF_DEFAULT, V_lb=-70.0)  # above the reset (-75 mV)
    with pytest.raises(ValueError, match="broadcast"):
        lif_rate(np.zeros(3), np.ones(2), BRUNEL)


# --------------------------------------------------------------------------- properties
lif_neurons = st.builds(
    lambda tau_m, theta, gap, tau_ref: LIF(tau_m=tau_m, E_L=-70.0, theta=theta,
                                           V_r=theta - gap, tau_ref=tau_ref),
    st.floats(0.002, 0.1), st.floats(-70.0, 30.0), st.floats(0.5, 40.0), st.floats(0.0, 0.005))


@settings(max_examples=150, deadline=None)
@given(neuron=lif_neurons,
       mus=st.lists(st.floats(-300.0, 300.0), min_size=2, max_size=12),
       sigma=st.floats(1e-3, 100.0),
       tau_s=st.floats(0.0, 0.002))
def test_lif_property_monotone_bounded_finite(neuron, mus, sigma, tau_s):
    mus = np.sort(np.array(mus))
    r = lif_rate(mus, sigma, neuron, tau_s)
    assert np.all(np.isfinite(r)) and np.all(r >= 0.0)
    if neuron.tau_ref > 0:
        assert np.all(r <= 1.0 / neuron.tau_ref * (1 + 1e-14))
    # non-decreasing in mu, up to the rounding of y = (theta - mu)/sigma (relative ~1e-12
    # for y^2 up to a few hundred)
    assert np.all(np.diff(r) >= -1e-11 * r[1:])
    d = lif_rate_dmu(mus, sigma, neuron, tau_s)
    assert np.all(np.isfinite(d)) and np.all(d >= 0.0)
    assert np.all(np.isfinite(lif_rate_dsigma(mus, sigma, neuron, tau_s)))


@settings(max_examples=25, deadline=None)
@given(mus=st.lists(st.floats(-120.0, 40.0), min_size=2, max_size=8),
       sigma=st.floats(0.2, 40.0),
       delta_t=st.floats(0.3, 3.0))
def test_eif_property_monotone_bounded_finite(mus, sigma, delta_t):
    neuron = EIF(Delta_T=delta_t)
    mus = np.sort(np.array(mus))
    r = eif_rate(mus, sigma, neuron)
    assert np.all(np.isfinite(r)) and np.all(r >= 0.0)
    assert np.all(r <= 1.0 / neuron.tau_ref * (1 + 1e-14))
    # the discretised map is monotone up to rounding and the extrapolation (~1e-12)
    assert np.all(np.diff(r) >= -1e-9 * r[1:])

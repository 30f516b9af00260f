"""Slow scientific checks of meanfield.transfer (``pytest -m slow``).

* the 50-digit reference itself against mpmath's adaptive quadrature;
* lif_rate and its derivatives on a dense (mu, sigma) grid against that reference;
* eif_rate against a direct Euler-Maruyama simulation of single EIF neurons;
* EIF -> LIF as Delta_T -> 0, at smaller Delta_T than the fast suite.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest

from meanfield.params import EIF, LIF
from meanfield.transfer import eif_rate, lif_rate, lif_rate_dmu, lif_rate_dsigma

pytestmark = pytest.mark.slow


def _load_fast_suite():
    """The reference implementation lives in test_transfer.py; load it by path so this
    works from any folder and whatever pytest's import mode."""
    path = Path(__file__).with_name("test_transfer.py")
    spec = importlib.util.spec_from_file_location("_transfer_fast_suite", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fast = _load_fast_suite()
BRUNEL, OTHER, EIF_DEFAULT = fast.BRUNEL, fast.OTHER, fast.EIF_DEFAULT


# --------------------------------------------------------------------------- reference
@pytest.mark.parametrize("mu, sigma", [
    (10.0, 5.0), (20.0, 2.0), (60.0, 0.05), (-60.0, 40.0), (0.0, 2.0), (12.0, 0.7),
    (19.0, 0.3), (25.0, 0.05), (21.0, 1.0), (35.0, 10.0), (-20.0, 4.0), (15.0, 0.2)])
def test_reference_agrees_with_adaptive_mpmath_quad(mu, sigma):
    # fixed 40-point Gauss-Legendre on the reference's subintervals vs mpmath's adaptive
    # tanh-sinh on the same integrand: both must agree to far better than the 1e-10 bar
    with mp.workdps(fast.DPS):
        y_th = (BRUNEL.theta - mp.mpf(mu)) / mp.mpf(sigma)
        y_r = (BRUNEL.V_r - mp.mpf(mu)) / mp.mpf(sigma)
        fixed = fast.siegert_integral_mp(y_r, y_th)
        adaptive, err = mp.quad(lambda u: mp.exp(u * u) * mp.erfc(-u),
                                fast._breakpoints(y_r, y_th), error=True)
        assert err / adaptive < mp.mpf("1e-40")
        assert abs(fixed - adaptive) / adaptive < mp.mpf("1e-35")


# --------------------------------------------------------------------------- LIF dense
@pytest.mark.parametrize("neuron", [BRUNEL, OTHER], ids=["brunel", "other"])
def test_lif_dense_grid_against_mpmath(neuron):
    # 41 x 25 points, mu in [-60, 60] mV (shifted with theta), sigma in [0.05, 40] mV
    mus, sigmas = fast.grid(neuron, 41, 25)
    worst, n_checked = fast.compare_to_reference(mus, sigmas, neuron)
    assert n_checked > 600
    assert worst <= fast.TOL_LIF


def test_lif_dense_grid_with_tau_s_against_mpmath():
    mus, sigmas = fast.grid(BRUNEL, 21, 12)
    for tau_s in (0.002, 0.01):
        worst, n_checked = fast.compare_to_reference(mus, sigmas, BRUNEL, tau_s)
        assert n_checked > 100 and worst <= fast.TOL_LIF


def test_lif_derivatives_dense_against_mpmath():
    mus, sigmas = fast.grid(BRUNEL, 13, 7)
    for m, s in zip(mus, sigmas):
        r = fast.siegert_mp(m, s, BRUNEL)
        if r is None or r < 1e-250:
            continue
        d_mu = fast._central_difference_mp(lambda x: fast.siegert_mp(x, s, BRUNEL), m)
        d_sig = fast._central_difference_mp(lambda x: fast.siegert_mp(m, x, BRUNEL), s)
        scale = float(r) / s
        assert abs(float(lif_rate_dmu(m, s, BRUNEL)) - float(d_mu)) <= 1e-10 * (
            abs(float(d_mu)) + scale), (m, s)
        assert abs(float(lif_rate_dsigma(m, s, BRUNEL)) - float(d_sig)) <= 1e-10 * (
            abs(float(d_sig)) + scale), (m, s)


# --------------------------------------------------------------------------- EIF vs simulation
def simulate_eif_counts(mu, sigma, neuron: EIF, n_per_point: int, t_burn: float,
                        t_count: float, dt: float, seed: int) -> np.ndarray:
    """Spike counts in [t_burn, t_burn + t_count] of independent EIF neurons (Euler-Maruyama).

    tau_m dV = [-(V - mu) + psi(V)] dt + sigma sqrt(tau_m) dW: the Brunel convention, whose
    free membrane (psi = 0) has variance (sigma^2/tau_m)(tau_m/2) = sigma^2/2. Per step:
    V += dt/tau_m (mu - V + psi(V)) + sigma sqrt(dt/tau_m) N(0, 1); spike and reset when
    V >= V_th, clamp at V_re for tau_ref, floor at V_lb. Returns (n_points, n_per_point).
    """
    rng = np.random.default_rng(seed)
    mu_v = np.repeat(np.asarray(mu, float), n_per_point)
    noise = np.repeat(np.asarray(sigma, float), n_per_point) * np.sqrt(dt / neuron.tau_m)
    a = dt / neuron.tau_m
    n = mu_v.size
    V = rng.uniform(neuron.V_re, neuron.V_T, n)
    refractory = np.zeros(n, dtype=np.int64)
    n_ref = int(round(neuron.tau_ref / dt))
    n_burn = int(round(t_burn / dt))
    n_steps = n_burn + int(round(t_count / dt))
    counts = np.zeros(n, dtype=np.int64)
    xi = np.empty(n)
    for step in range(n_steps):
        rng.standard_normal(out=xi)
        drift = mu_v - V + neuron.Delta_T * np.exp((V - neuron.V_T) / neuron.Delta_T)
        V_new = V + a * drift + noise * xi
        free = refractory == 0
        V = np.where(free, np.maximum(V_new, neuron.V_lb), neuron.V_re)
        refractory[~free] -= 1
        spike = V >= neuron.V_th
        if spike.any():
            V[spike] = neuron.V_re
            refractory[spike] = n_ref
            if step >= n_burn:
                counts[spike] += 1
    return counts.reshape(len(mu_v) // n_per_point, n_per_point)


def test_eif_rate_matches_euler_maruyama_simulation():
    # five points from 0.5 to 50 Hz; 4000 independent neurons each, 0.1 s burn-in, 0.15 s
    # counted (600 neuron-seconds per point), dt = 0.01 ms (EM bias well below the SE here)
    mu = np.array([-60.0, -60.0, -60.0, -54.0, -45.0])
    sigma = np.array([3.0, 4.0, 6.0, 3.0, 8.0])
    t_count = 0.15
    theory = eif_rate(mu, sigma, EIF_DEFAULT)
    counts = simulate_eif_counts(mu, sigma, EIF_DEFAULT, n_per_point=4000, t_burn=0.1,
                                 t_count=t_count, dt=1e-5, seed=20240601)
    sim = counts.mean(axis=1) / t_count
    # neurons are independent: the SE of the mean count is std/sqrt(n)
    se = counts.std(axis=1, ddof=1) / np.sqrt(counts.shape[1]) / t_count
    z = (sim - theory) / se
    assert 0.4 < theory[0] < 0.6 and 40 < theory[-1] < 60  # two decades of rate
    assert np.all(np.abs(z) < 3.0), np.c_[mu, sigma, theory, sim, se, z]


# --------------------------------------------------------------------------- EIF limits
def test_eif_tends_to_lif_as_delta_t_vanishes_small_delta():
    # continues the fast test's sequence to Delta_T = 6.25e-3 mV
    mu, sigma = np.array([-60.0, -55.0, -50.0]), np.array([4.0, 3.0, 2.0])
    lif = LIF(tau_m=0.015, E_L=-72.0, theta=-55.0, V_r=-75.0, tau_ref=0.001)
    r_lif = lif_rate(mu, sigma, lif)
    gaps = []
    for delta in (0.025, 0.0125, 0.00625):
        eif = EIF(Delta_T=delta, V_th=-55.0 + 20 * delta, V_lb=-85.0)
        gaps.append(np.abs(eif_rate(mu, sigma, eif, dV=delta / 5) / r_lif - 1.0))
        assert np.all(gaps[-1] <= delta * np.log(sigma / delta)), delta
    gaps = np.array(gaps)
    ratios = gaps[:-1] / gaps[1:]
    assert np.all(ratios > 1.4) and np.all(ratios < 2.2)
    assert np.all(gaps[-1] < 0.04)


def test_eif_dv_halving_wide_grid():
    # wider grid than the fast test, incl. Delta_T variants; rates above 1e-3 Hz
    for neuron in (EIF_DEFAULT, EIF(Delta_T=0.5), EIF(Delta_T=3.0, V_th=-40.0)):
        mus, sigmas = np.meshgrid(np.linspace(-90.0, -30.0, 25), np.geomspace(0.5, 40.0, 10))
        r = eif_rate(mus, sigmas, neuron)
        r_half = eif_rate(mus, sigmas, neuron, dV=0.025)
        ok = r > 1e-3
        assert np.max(np.abs(r_half[ok] / r[ok] - 1.0)) < 1e-4

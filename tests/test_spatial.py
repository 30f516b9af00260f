"""Spatial balance (meanfield.spatial): kernels, the per-mode balanced limit against a dense
solve, the named conditions, the rosenbaum2017 preset, the finite-N profile and stability."""

import math

import numpy as np
import pytest

from meanfield import DegreeModel, NetworkParams, balanced_rates, solve
from meanfield.spatial import (SpatialModel, balanced_profile, convolve, grid_positions,
                               kernel_fourier, resolve_widths, solve_spatial,
                               spatial_balance_conditions, spatial_stability, wrapped_gaussian)

ROS = NetworkParams.preset("rosenbaum2017")


def _torus_disp(x, y):
    return x[:, None, :] - y[None, :, :]


@pytest.mark.parametrize("sigma", [0.03, 0.1, 0.25, 0.6])
def test_wrapped_gaussian_mean_and_fourier_coefficients(sigma):
    # A periodic analytic function: the M-point Riemann sum of its Fourier integral is exact
    # up to aliasing exp(-2 pi^2 M^2 sigma^2) < 1e-30 at M = 400, so 1e-12 is round-off.
    x = np.arange(400) / 400
    g = wrapped_gaussian(x, sigma)
    for n in range(6):
        c = float(np.mean(g * np.cos(2 * np.pi * n * x)))
        assert abs(c - float(kernel_fourier(n, sigma))) < 1e-12
    # torus: a product of ring kernels, coefficient exp(-2 pi^2 |n|^2 sigma^2)
    X = grid_positions(80, 2)
    g2 = wrapped_gaussian(X, sigma, 2)
    c = float(np.mean(g2 * np.cos(2 * np.pi * (2 * X[:, 0] + 1 * X[:, 1]))))
    assert abs(c - float(kernel_fourier(np.array([2.0, 1.0]), sigma))) < 1e-12


def test_wrapped_gaussian_rejects_bad_input():
    with pytest.raises(ValueError, match="sigma"):
        wrapped_gaussian(0.1, 0.0)
    with pytest.raises(ValueError, match="dim"):
        wrapped_gaussian(0.1, 0.1, dim=3)


@pytest.mark.parametrize("dim,n_side", [(1, 50), (2, 12)])
def test_convolve_equals_dense_sum(dim, n_side):
    rng = np.random.default_rng(3)
    x = grid_positions(n_side, dim)
    v = rng.random((2, n_side ** dim))
    sigma = 0.07
    if dim == 1:
        G = wrapped_gaussian(x[:, None] - x[None, :], sigma)
    else:
        G = wrapped_gaussian(_torus_disp(x, x), sigma, 2)
    G = G / G[0].sum()                    # grid mean 1 (every row has the same sum)
    np.testing.assert_allclose(convolve(v, sigma, dim), v @ G.T, rtol=0, atol=1e-13)


def _dense_balance(params, widths, dim, n_side, f):
    # Direct solve of the discretised balance equations
    #   sum_b w_ab sum_j G_ab[i, j] r_b(x_j) + X_a sum_j G_aX[i, j] f(x_j) = 0,
    # G the sampled wrapped Gaussian with rows normalised to sum 1.
    x = grid_positions(n_side, dim)
    d = x[:, None] - x[None, :] if dim == 1 else _torus_disp(x, x)

    def G(key):
        g = wrapped_gaussian(d, widths[key], dim)
        return g / g.sum(axis=1, keepdims=True)
    W, X = params.W, params.X
    A = np.block([[W[0, 0] * G("EE"), W[0, 1] * G("EI")], [W[1, 0] * G("IE"), W[1, 1] * G("II")]])
    b = -np.concatenate([X[0] * G("EX") @ f, X[1] * G("IX") @ f])
    return np.linalg.solve(A, b).reshape(2, -1), np.linalg.cond(A)


@pytest.mark.parametrize("dim,n_side", [(1, 12), (1, 20), (2, 8)])
def test_per_mode_limit_matches_dense_solve(dim, n_side):
    # Done means: per-mode balanced rates match a direct solve to 1e-9. Widths keep the
    # dense matrix well conditioned (cond < 1e6: its solve is good to ~1e-10).
    widths = resolve_widths({"EE": 0.07, "IE": 0.08, "EI": 0.06, "II": 0.05}, (0.11, 0.12))
    x = grid_positions(n_side, dim)
    xx = x if dim == 1 else x[:, 0]
    f = 1.0 + 2.0 * np.exp(-0.5 * ((xx - 0.4) / 0.1) ** 2)       # a bump on a baseline
    ref, cond = _dense_balance(ROS, widths, dim, n_side, f)
    assert cond < 1e6
    got = balanced_profile(ROS, widths, dim=dim, n_side=n_side, input_profile=f)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9 * np.max(np.abs(ref)))
    assert np.ptp(ref[0]) > 0.1           # the profile is not trivially flat


def test_uniform_profile_is_the_uniform_balanced_limit():
    # Done means (preset): the balanced limit of rosenbaum2017 is r_E = 3.59, r_I = 5.65 Hz;
    # exactly (j p q) algebra: 3.5859375 and 5.653125 Hz.
    np.testing.assert_allclose(balanced_rates(ROS), [3.5859375, 5.653125], rtol=1e-13)
    assert np.allclose(np.round(balanced_rates(ROS), 2), [3.59, 5.65])
    for dim in (1, 2):
        r = balanced_profile(ROS, (0.05, 0.1), dim=dim, n_side=16)
        np.testing.assert_allclose(r, np.repeat(balanced_rates(ROS)[:, None], 16 ** dim, 1),
                                   rtol=1e-12)


def test_limit_profile_is_input_smoothed_by_the_width_difference():
    # sigma_EE = sigma_IE = sigma_E: r_E(x) = r_E * (G_s * f)(x) with s^2 = sigma_X^2 - sigma_E^2
    # (the panel b statement); ring of 256 points, aliasing < 1e-100.
    sE, sX = 0.05, 0.1
    n = 256
    x = grid_positions(n, 1)
    f = 1.0 + np.exp(-0.5 * ((x - 0.5) / 0.05) ** 2)
    r = balanced_profile(ROS, (sE, sX), dim=1, n_side=n, input_profile=f)
    smooth = convolve(f, math.sqrt(sX ** 2 - sE ** 2), 1)
    np.testing.assert_allclose(r, np.outer(balanced_rates(ROS), smooth), rtol=1e-9)


@pytest.mark.parametrize("sX,sE,sI,expect", [
    (0.10, 0.05, 0.03, (True, True)),      # X > E > I: balance holds
    (0.10, 0.03, 0.05, (True, False)),     # X > I > E: inhibition broader than excitation
    (0.04, 0.05, 0.03, (False, True)),     # E > X > I: external narrower than excitation
    (0.02, 0.03, 0.05, (False, False)),    # I > E > X: both orderings violated
])
def test_named_conditions_for_the_four_orderings(sX, sE, sI, expect):
    bc = spatial_balance_conditions(ROS, ((sE, sI), sX))
    assert [c.name for c in bc] == ["uniform_balance", "external_broader_than_excitation",
                                    "excitation_broader_than_inhibition"]
    assert bc["uniform_balance"].passed
    assert (bc["external_broader_than_excitation"].passed,
            bc["excitation_broader_than_inhibition"].passed) == expect
    assert bc.all_passed == all(expect)
    for c in bc:
        assert c.explanation and c.value


def test_uniform_condition_fails_with_the_uniform_checks():
    p = ROS.replace(j_IX=400.0)          # X_E/X_I below |w_EI|/|w_II|: r_E < 0
    bc = spatial_balance_conditions(p, (0.05, 0.1))
    assert not bc["uniform_balance"].passed and "positive_rates" in bc["uniform_balance"].value


def test_violated_ordering_makes_fine_modes_grow():
    # sigma_X < sigma_E: |r~(n)| grows like exp(2 pi^2 n^2 (sigma_E^2 - sigma_X^2)).
    n = 64
    x = grid_positions(n, 1)
    f = 1.0 + np.exp(-0.5 * ((x - 0.5) / 0.02) ** 2)
    ok = balanced_profile(ROS, (0.05, 0.1), dim=1, n_side=n, input_profile=f)
    bad = balanced_profile(ROS, (0.05, 0.03), dim=1, n_side=n, input_profile=f)
    assert ok.min() > 0 and bad.min() < 0          # no positive balanced profile


def test_spatial_model_and_its_validation():
    m = DegreeModel.spatial(2, 0.05, 0.1)
    assert isinstance(m, SpatialModel) and isinstance(m, DegreeModel)
    assert m.widths["EX"] == 0.1 and m.space_dim == 2 and m.kappa is None
    # E[m_ab] over positions is 1 (wrapped Gaussian of mean 1)
    t, w = DegreeModel.spatial(1, 0.05, 0.1, n_side=64).grid("E")
    M = m.kernels[("E", "E")]
    mr = DegreeModel.spatial(1, 0.05, 0.1, n_side=64)
    assert abs(float(w @ mr.kernels[("E", "I")].matrix(t, t) @ w) - 1) < 1e-12
    assert M.sigma == 0.05
    # p g(0) > 1 for Bernoulli connections on the torus (p_EE g(0) = 0.05 / (2 pi 0.05^2))
    with pytest.raises(ValueError, match="fixed_outdegree"):
        m.check_params(ROS)
    DegreeModel.spatial(1, 0.05, 0.1).check_params(ROS)   # ring: p g(0) = 0.4, fine
    with pytest.raises(ValueError, match="sigma_EX"):
        DegreeModel.spatial(1, 0.05, 0.0)
    with pytest.raises(ValueError, match="dim"):
        DegreeModel.spatial(3, 0.05, 0.1)
    mk = DegreeModel.spatial(1, 0.05, 0.1, kappa_cv=0.2)
    assert mk.labels["E"].dim == 2 and abs(mk.kappa.mean - 1) < 1e-12


def test_finite_N_uniform_profile_matches_homogeneous_solve():
    # Independent reference: the degree-space solver of the homogeneous network (same
    # equations 4.1-4.2, no positions). Both converge to tol 1e-9-ish: agree to 1e-6.
    N = 5000
    ref = solve(ROS, N=N)
    for dim, n_side in ((1, 64), (2, 16)):
        res = solve_spatial(ROS, DegreeModel.spatial(dim, 0.05, 0.1, n_side=n_side), N=N)
        assert res.converged, res.message
        assert np.ptp(res.profile, axis=1).max() < 1e-8 * res.profile.max()
        np.testing.assert_allclose(res.population_rates, ref.mean_rate, rtol=1e-6)


def test_finite_N_with_degree_factor_matches_case_B():
    # label = (position, kappa), uniform input: every position carries the Case B solution
    # (DegreeModel.recurrent_indegree with the same gamma law and nodes).
    N, cv, nk = 5000, 0.2, 8
    ref = solve(ROS, DegreeModel.recurrent_indegree("gamma", cv, n_nodes=nk), N=N)
    m = DegreeModel.spatial(1, 0.05, 0.1, kappa_cv=cv, n_kappa=nk, n_side=32)
    res = solve_spatial(ROS, m, N=N)
    assert res.converged, res.message
    np.testing.assert_allclose(res.kappa, ref.label[0], rtol=1e-12)
    np.testing.assert_allclose(res.rates[:, 0, :], ref.rate, rtol=1e-6)
    # rates fall with in-degree at fixed position (Case B)
    assert np.all(np.diff(res.rates[0, 5, :]) < 0)


def test_finite_N_bump_tends_to_the_limit_profile():
    # The distance to the balanced profile shrinks with N (O(1/sqrt N) corrections).
    f = lambda x: 1.0 + np.exp(-0.5 * ((x - 0.5) / 0.05) ** 2)   # noqa: E731
    m = DegreeModel.spatial(1, 0.05, 0.1, input_profile=f, n_side=128)
    errs = []
    for N in (5000, 80000):
        res = solve_spatial(ROS, m, N=N)
        assert res.converged, res.message
        errs.append(np.max(np.abs(res.profile - res.balanced)))
    assert errs[1] < 0.5 * errs[0]


def test_stability_per_mode_matches_dense_linearisation():
    # Independent reference: eigenvalues of the dense 2M x 2M linearisation on a ring grid
    # (M = 64; aliasing below 1e-50 for the widths used).
    p = ROS.with_N(5000)
    widths = resolve_widths((0.03, 0.1), 0.12)       # inhibition broader: Turing-prone
    gains = np.array([1.5, 0.4])
    st = spatial_stability(p, widths, gains, n_max=32)
    M = 64
    x = grid_positions(M, 1)
    tau_m = np.array([p.neuron_E.tau_m, p.neuron_I.tau_m])
    ts = np.array([p.tau_E, p.tau_I])
    blocks = [[None, None], [None, None]]
    for ia, a in enumerate("EI"):
        for ib, b in enumerate("EI"):
            G = wrapped_gaussian(x[:, None] - x[None, :], widths[a + b]) / M
            blocks[ia][ib] = (gains[ia] * tau_m[ia] * p.J[ia, ib] * p.K[ia, ib] * G
                              - (ia == ib) * np.eye(M)) / ts[ia]
    ev = np.linalg.eigvals(np.block(blocks))
    assert abs(ev.real.max() - st.growth_max) < 1e-8 * abs(st.growth_max)
    assert st.kind == "turing" and st.growth_max > 0 and st.n_max > 0
    # the same network with excitation broader than inhibition is stable
    st2 = spatial_stability(p, resolve_widths((0.1, 0.03), 0.12), gains, n_max=32)
    assert st2.growth_max < 0 and st2.kind == "stable"


def test_solve_dispatches_spatial_models_and_gains_feed_stability():
    # sigma_I = 0.1 > sigma_E = 0.02: at N = 5e4 the gains make the n > 0 modes unstable
    N = 50000
    m = DegreeModel.spatial(1, (0.02, 0.1), 0.2, n_side=32)
    res = solve(ROS, m, N=N, filter="white")       # white: the gains are rate()'s slope
    assert res.converged and res.gains.shape == (2, 2) and res.nfev > 0
    # gains are the position average of d Phi / d mu: check against a finite difference of
    # the homogeneous transfer at the (uniform) solution
    from meanfield import rate
    mu, sig = res.mu[0, 0, 0], res.sigma[0, 0, 0]
    h = 1e-4
    fd = (rate(mu + h, sig, ROS.neuron_E) - rate(mu - h, sig, ROS.neuron_E)) / (2 * h)
    assert abs(res.gains[0, 0] - fd) < 1e-4 * abs(fd)
    st = spatial_stability(ROS.with_N(N), m.widths, res.gains)
    assert st.kind in ("turing", "turing_hopf") and st.n_max > 0


def test_kernel_moments_on_1e4_grid_points_are_fast():
    # issue 13: 10^4 grid points well under a second (one FFT convolution ~1 ms)
    import time
    v = np.random.default_rng(0).random((2, 100 * 100))
    t = time.perf_counter()
    for _ in range(10):
        convolve(v, 0.05, 2)
    assert (time.perf_counter() - t) / 10 < 0.2

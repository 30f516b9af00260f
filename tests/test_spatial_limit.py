"""The semi-balanced limit of spatial networks (meanfield.spatial_limit).

References, each independent of the solver's smoothing continuation and FFT kernels:
the uniform balanced state -W^-1 X; the per-mode balanced profile (``balanced_profile``)
where the Rosenbaum-Doiron ordering holds; an exhaustive enumeration of the LCP's
active sets on small grids with kernels built from ``wrapped_gaussian`` (image sums);
the complementary-pivot path of ``semi_balanced`` on the equivalent non-spatial Case B;
and the finite-N theory ``solve_spatial`` at N = 1e8.
"""

import itertools

import numpy as np
import pytest

import meanfield as mf
from meanfield.errors import ConvergenceError, ParameterError
from meanfield.spatial import GaussianBump, grid_positions, solve_spatial, wrapped_gaussian
from meanfield.spatial_limit import MAX_DENSE_LABELS, SpatialSemiBalancedResult, semi_balanced_spatial

BUMP = GaussianBump(0.5, 0.1, 1.0)


@pytest.fixture(scope="module")
def p17():
    return mf.NetworkParams.preset("rosenbaum2017")


def _dense_problem(p, sigma, sigma_X, n_side, profile):
    """A and c of beta = A r + c from the kernels' image sums (no FFT), ring, no kappa."""
    x = grid_positions(n_side, 1)
    d = x[:, None] - x[None, :]
    w = {"EE": sigma, "EI": sigma, "IE": sigma, "II": sigma, "EX": sigma_X, "IX": sigma_X}

    def G(s):
        g = wrapped_gaussian(d, s, 1)
        return g / g.sum(axis=1, keepdims=True)        # normalised to grid mean 1

    A = np.block([[p.W[a, b] * G(w["EI"[a] + "EI"[b]]) for b in (0, 1)] for a in (0, 1)])
    f = profile(x)
    c = np.concatenate([p.X[a] * G(w["EI"[a] + "X"]) @ f for a in (0, 1)])
    return A, c


def _enumerate(A, c, u):
    """Every solution of the box LCP by trying all (silent, balanced, saturated) patterns."""
    P = len(c)
    sols = []
    states = (0, 1) if not np.all(np.isfinite(u)) else (0, 1, 2)
    scale = np.max(np.abs(c))
    for pat in itertools.product(states, repeat=P):
        pat = np.array(pat)
        free, sat = pat == 1, pat == 2
        r = np.where(sat, u, 0.0)
        if free.any():
            try:
                r[free] = np.linalg.solve(A[np.ix_(free, free)], -(c[free] + A[np.ix_(free, sat)] @ r[sat]))
            except np.linalg.LinAlgError:
                continue
        beta = A @ r + c
        tol = 1e-9 * scale
        if (np.all(r[free] >= -1e-9) and np.all(r[free] <= u[free] + 1e-9)
                and np.all(beta[pat == 0] <= tol) and np.all(beta[sat] >= -tol)):
            sols.append(r)
    return sols


def test_uniform_input_gives_the_uniform_balanced_state(p17):
    ref = -np.linalg.solve(p17.W, p17.X)
    for sig in (0.05, 0.25, (0.05, 0.1)):
        res = semi_balanced_spatial(p17, mf.DegreeModel.spatial(1, sig, 0.1, n_side=32))
        assert res.success and res.feasible
        np.testing.assert_allclose(res.mean_rate, ref, rtol=1e-9)
        np.testing.assert_allclose(res.profile, np.repeat(ref[:, None], 32, axis=1), rtol=1e-7)


@pytest.mark.parametrize("sig", [0.05, (0.05, 0.1), (0.1, 0.05)])
def test_ordering_respected_gives_the_per_mode_balanced_profile(p17, sig):
    m = mf.DegreeModel.spatial(1, sig, 0.1, input_profile=BUMP, n_side=64)
    res = semi_balanced_spatial(p17, m)
    bal = mf.balanced_profile(p17, m.widths, dim=1, n_side=64, input_profile=BUMP)
    assert bal.min() > 0 and res.feasible and res.success
    np.testing.assert_allclose(res.profile, bal, rtol=1e-5)
    assert np.all(res.spread < 1e-6 * res.bracket_scale)


def test_torus_ordering_respected(p17):
    m = mf.DegreeModel.spatial(2, 0.05, 0.1, input_profile=GaussianBump(0.5, 0.15, 1.0), n_side=16)
    res = semi_balanced_spatial(p17, m)
    bal = mf.balanced_profile(p17, m.widths, dim=2, n_side=16, input_profile=m.input_profile)
    assert res.feasible and res.success and res.rates.shape == (2, 256, 1)
    np.testing.assert_allclose(res.profile, bal, rtol=1e-5)


@pytest.mark.parametrize("n_side,r_max", [(6, None), (4, 20.0), (4, 10.0), (4, (10.0, 30.0))])
def test_violated_ordering_against_exhaustive_enumeration(p17, n_side, r_max):
    m = mf.DegreeModel.spatial(1, 0.25, 0.1, input_profile=BUMP, n_side=n_side)
    res = semi_balanced_spatial(p17, m, r_max=r_max)
    assert res.success and not res.feasible
    A, c = _dense_problem(p17, 0.25, 0.1, n_side, BUMP)
    u = np.repeat(np.broadcast_to(np.inf if r_max is None else r_max, (2,)), n_side).astype(float)
    sols = _enumerate(A, c, u)
    assert sols, "the enumeration found no solution"
    r = res.rates.reshape(-1)
    dist = min(np.max(np.abs(r - s)) for s in sols)
    assert dist < 1e-6 * max(1.0, np.max(r))
    # the bracket is what the independent dense problem says
    np.testing.assert_allclose(res.bracket.reshape(-1), A @ r + c, atol=1e-8 * np.max(np.abs(c)))
    # silent labels have a strictly negative bracket, active unsaturated ones a vanishing one
    np.testing.assert_array_equal(res.balanced, res.active & ~res.saturated)
    # population summaries, recounted from the rates
    rr = r.reshape(2, n_side)
    np.testing.assert_allclose(res.mean_rate, rr.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(res.active_fraction, (rr > 0).mean(axis=1))
    np.testing.assert_allclose(res.saturated_fraction, (rr >= u.reshape(2, n_side) * (1 - 1e-9)).mean(axis=1))
    if r_max is not None:
        assert res.saturated.any() and np.all(res.bracket[res.saturated] >= -1e-8 * np.max(np.abs(c)))


def test_violated_ordering_concentrates_where_finite_N_goes(p17):
    """The limit is the large-N end of solve_spatial: at N = 1e8 the finite-N rates sit on
    the limit's active positions and their means are within 1 % of the limit's."""
    m = mf.DegreeModel.spatial(1, 0.25, 0.1, input_profile=BUMP, n_side=64)
    lim = semi_balanced_spatial(p17, m)
    act = lim.profile[0] > 0
    assert lim.success and not lim.feasible and act.sum() <= 4
    fin4 = fin = solve_spatial(p17, m, N=10 ** 4)
    for N in (10 ** 5, 10 ** 6, 10 ** 7, 10 ** 8):     # continuation in N (1e8 cold is stiff)
        fin = solve_spatial(p17, m, N=N, initial=fin.rates)
    near = np.zeros(64, bool)
    for i in np.flatnonzero(act):
        near[(i + np.arange(-2, 3)) % 64] = True
    assert fin.converged
    assert fin.profile[0][near].sum() / fin.profile[0].sum() > 0.95
    np.testing.assert_allclose(fin.population_rates, lim.mean_rate, rtol=0.01)
    # the O(sqrt N) spread of the mean input across positions (fig5 (c)) is the limit's
    # bracket spread: std_x mu / (tau_m sqrt N) -> spread (measured ratios 1.76 / 3.94 at
    # N = 1e4, 1.011 / 1.032 at 1e8)
    tau = np.array([p17.neuron_E.tau_m, p17.neuron_I.tau_m])
    ratio = lambda r, N: r.mu[:, :, 0].std(axis=1) / (tau * np.sqrt(N)) / lim.spread  # noqa: E731
    np.testing.assert_allclose(ratio(fin, 10 ** 8), 1.0, atol=0.05)
    assert np.all(ratio(fin4, 10 ** 4) > 1.5)
    assert fin4.profile[0][near].sum() / fin4.profile[0].sum() < 0.5      # not yet at N = 1e4


def test_degree_factor_matches_case_b_pivot_path(p17):
    """Uniform input with an in-degree factor: every position is Case B, whose limit the
    complementary-pivot path of semi_balanced gives independently."""
    m = mf.DegreeModel.spatial(1, 0.05, 0.1, kappa="gamma", kappa_cv=0.2, n_side=16)
    res = semi_balanced_spatial(p17, m)
    ref = mf.semi_balanced(p17, mf.DegreeModel.recurrent_indegree("gamma", 0.2), n_nodes=8)
    assert res.success and ref.success and not res.feasible
    np.testing.assert_allclose(res.kappa, ref.t[0], rtol=1e-12)
    np.testing.assert_allclose(res.mean_rate, ref.mean_rate, rtol=1e-8)
    for a in (0, 1):
        np.testing.assert_allclose(res.rates[a], np.repeat(ref.rate[a][None, :], 16, axis=0),
                                   rtol=1e-7, atol=1e-9)


def test_semi_balanced_dispatches_spatial_models(p17):
    m = mf.DegreeModel.spatial(1, 0.25, 0.1, input_profile=BUMP, n_side=32)
    res = mf.semi_balanced(p17, m)
    assert isinstance(res, SpatialSemiBalancedResult)
    # the input profile enters (the uniform state would give -W^-1 X)
    assert res.mean_rate[0] > 1.2 * -np.linalg.solve(p17.W, p17.X)[0]
    assert "semi-balanced" in res.summary() and res.to_dict()["success"]


def test_not_converged_says_so(p17):
    m = mf.DegreeModel.spatial(1, 0.25, 0.1, input_profile=BUMP, n_side=64)
    res = semi_balanced_spatial(p17, m, maxiter=1, tol=1e-12)
    assert not res.success and res.status == 1 and "NOT a solution" in res.message
    with pytest.raises(ConvergenceError):
        semi_balanced_spatial(p17, m, maxiter=1, tol=1e-12, strict=True)


def test_bad_input_names_the_parameter(p17):
    with pytest.raises(TypeError, match="SpatialModel"):
        semi_balanced_spatial(p17, mf.DegreeModel.homogeneous())
    m = mf.DegreeModel.spatial(2, 0.05, 0.1, n_side=64)
    with pytest.raises(ParameterError, match="n_side") as e:
        semi_balanced_spatial(p17, m, n_side=64)
    assert str(MAX_DENSE_LABELS) in str(e.value)
    assert semi_balanced_spatial(p17, m).positions.shape[0] * 2 <= MAX_DENSE_LABELS   # default caps
    for bad in (0.0, -1.0, 0.5):
        with pytest.raises(ValueError, match="tol"):
            semi_balanced_spatial(p17, m, tol=bad)
    with pytest.raises(ValueError, match="r_max"):
        semi_balanced_spatial(p17, m, r_max=-3.0)


@pytest.mark.filterwarnings("ignore::meanfield.errors.RegimeWarning")
def test_cli_prints_the_semi_balanced_limit_when_no_balanced_profile(p17, capsys, tmp_path):
    import json
    import re

    from hetbalance import cli

    out_json = tmp_path / "s.json"
    argv = ["solve", "--preset", "rosenbaum2017", "--N", "20000", "--model", "spatial", "--dim", "1",
            "--sigma", "0.25", "--sigma-X", "0.1", "--n-side", "64", "--bump", "0.5", "0.1", "1.0",
            "--json", str(out_json)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    m = re.search(r"N -> infinity limit .*mean rates E ([0-9.]+), I ([0-9.]+) Hz", out)
    assert m, out
    lim = semi_balanced_spatial(p17, mf.DegreeModel.spatial(1, 0.25, 0.1, input_profile=BUMP, n_side=64))
    assert float(m.group(1)) == pytest.approx(lim.mean_rate[0], abs=1e-4)
    assert float(m.group(2)) == pytest.approx(lim.mean_rate[1], abs=1e-4)
    data = json.loads(out_json.read_text())
    text = json.dumps(data)
    assert "semi_balanced_limit" in text
    # ordering respected: a balanced profile exists, nothing about a semi-balanced limit
    assert argv[9:11] == ["--sigma", "0.25"]
    assert cli.main(argv[:10] + ["0.05"] + argv[11:-2]) == 0
    out = capsys.readouterr().out
    assert "spatial theory" in out and "N -> infinity limit" not in out

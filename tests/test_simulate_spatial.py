"""Spatial networks in the simulator and the comparison: per-source external rates
(``simulate(rate_X=...)``) and ``compare_spatial`` (bins by position and by kappa)."""

import numpy as np
import pytest

from graphs import sample_network
from meanfield import DegreeModel, NetworkParams
from meanfield.spatial import grid_positions, solve_spatial
from validation import compare, simulate
from validation.spatial import SpatialComparison

P = NetworkParams.preset("rosenbaum2017", N=2000, q_X=400 / 2000)


@pytest.fixture(scope="module")
def ring():
    bump = lambda x: 1.0 + np.exp(-0.5 * ((x - 0.5) / 0.1) ** 2)   # noqa: E731
    m = DegreeModel.spatial(1, 0.05, 0.1, input_profile=bump, n_side=64)
    return m, bump, sample_network(P, m, seed=2)


def test_uniform_rate_X_equals_default(ring):
    m, bump, net = ring
    kw = dict(T=0.2, burn_in=0.0, seed=3, backend="numpy")
    a = simulate(net, external="network", **kw)
    b = simulate(net, external="network", rate_X=np.full(P.N_X, P.r_X), **kw)
    assert np.array_equal(a.spike_ids, b.spike_ids) and np.array_equal(a.spike_times, b.spike_times)
    with pytest.raises(ValueError, match="rate_X"):
        simulate(net, rate_X=np.ones(3), **kw)


def test_rate_X_sets_the_external_input_of_each_neuron(ring):
    # external="poisson": neuron j gets Poisson input at sum_k rate_X[k]; its time-averaged
    # X input (recorded apart from E and I) is tau_m J_aX sum_k rate_X[k], with SE per neuron
    # tau_m J sqrt(rate T) / T over the T = 1 s window (after 0.1 s for the synapses to fill).
    m, bump, net = ring
    xs = grid_positions(net.provenance["spatial"]["x_side"], 1)
    rX = P.r_X * bump(xs)
    T = 1.0
    sim = simulate(net, T=T + 0.1, burn_in=0.1, seed=4, rate_X=rX, backend="numpy")
    rows = np.repeat(np.arange(P.N), np.diff(net.ext_indptr))
    lam = np.bincount(rows, weights=rX[net.ext_indices], minlength=P.N)
    tau_m = np.where(np.arange(P.N) < P.N_E, P.neuron_E.tau_m, P.neuron_I.tau_m)
    J = np.where(np.arange(P.N) < P.N_E, P.J[0, 2], P.J[1, 2])
    expect = tau_m * J * lam
    se = tau_m * J * np.sqrt(lam * T) / T
    z = (sim.mean_input[:, 2] - expect) / se
    # the mean of N z-scores has SE 1/sqrt(N); their spread is 1 up to the filtering
    assert abs(z.mean()) < 5 / np.sqrt(P.N) and 0.8 < np.std(z) < 1.2


def test_compare_spatial_bins_by_position(ring):
    m, bump, net = ring
    th = solve_spatial(P, m)
    xs = grid_positions(net.provenance["spatial"]["x_side"], 1)
    sim = simulate(net, T=0.3, burn_in=0.1, seed=5, rate_X=P.r_X * bump(xs), external="network")
    c = compare(th, sim, net, n_bins=8)
    assert isinstance(c, SpatialComparison)
    e = c["E"]
    x = np.asarray(net.label)[: P.N_E]
    b = np.minimum((x * 8).astype(int), 7)
    np.testing.assert_array_equal(e.count, np.bincount(b, minlength=8))
    np.testing.assert_allclose(e.sim_rate, np.bincount(b, weights=sim.rate[: P.N_E], minlength=8)
                               / np.bincount(b, minlength=8))
    # theory in a bin is the average of the interpolated profile; the limit is symmetric
    np.testing.assert_allclose(e.limit_rate[:4], e.limit_rate[::-1][:4], rtol=1e-2)
    assert e.theory_rate[3] > e.theory_rate[0]

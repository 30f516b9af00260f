"""validation.simulate: exact cases, bookkeeping identities, seeds, statistics and errors.

Layered: closed-form cases (no input, constant drive, one spike's charge),
identities of the per-neuron mean-input bookkeeping, same-seed reproducibility and
backend equality, statistical checks with z-score bounds, and input validation.
"""

from __future__ import annotations

import io
import math
import os
import signal
import sys

import numpy as np
import pytest

from graphs import sample_network
from graphs.network import Network, transpose_structure
from meanfield import EIF, LIF, NetworkParams
from meanfield.seeding import SEED_RULE, seed_from_record
from meanfield.transfer import eif_rate, lif_rate
from validation import SimulationError, SimulationResult, simulate
from validation.progress import progress_bar
from validation.result import isi_cv

import validation.simulator as _sim_module

try:
    import numba  # noqa: F401
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - numba is the optional 'fast' extra
    HAVE_NUMBA = False

BACKENDS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    not HAVE_NUMBA, reason="numba (optional extra 'fast') not installed"))]
DT = 1e-4
BRUNEL = LIF(tau_m=0.02, E_L=0.0, theta=20.0, V_r=10.0, tau_ref=0.002)


# ----------------------------------------------------------------------------- helpers
def make_params(N=10, q_E=0.8, neuron=BRUNEL, tau=0.005, r_X=0.0, j=(1.0, -1.0, 1.0), **kw):
    """Parameters for hand-made networks; weights J_ab = j_ab / sqrt(N) (mV)."""
    jE, jI, jX = j
    return NetworkParams(N=N, q_E=q_E, q_I=1.0 - q_E, q_X=1.0, p_EE=1.0, p_EI=1.0, p_EX=1.0,
                         p_IE=1.0, p_II=1.0, p_IX=1.0, j_EE=jE, j_EI=jI, j_EX=jX, j_IE=jE,
                         j_II=jI, j_IX=jX, r_X=r_X, tau_E=tau, tau_I=tau, tau_X=tau,
                         neuron_E=neuron, neuron_I=neuron, **kw)


def make_network(params, edges=(), k_X=0):
    """A Network from a list of (pre, post) pairs and external in-degrees k_X."""
    N = params.N
    edges = np.asarray(list(edges), dtype=np.int64).reshape(-1, 2)
    order = np.lexsort((edges[:, 1], edges[:, 0]))
    pre, post = edges[order, 0], edges[order, 1]
    indptr = np.zeros(N + 1, np.int64)
    np.cumsum(np.bincount(pre, minlength=N), out=indptr[1:])
    post_indptr, post_indices = transpose_structure(indptr, post.astype(np.int32), N)
    pop = np.zeros(N, np.int8)
    pop[params.N_E:] = 1
    k_X = np.broadcast_to(np.asarray(k_X, np.int64), (N,)).copy()
    return Network(params, pop, np.ones(N), post_indptr, np.asarray(post_indices, np.int32),
                   indptr, post.astype(np.int32), k_X)


def small_network(name="brunel_lif", N=400, seed=3, **kw):
    return sample_network(NetworkParams.preset(name, N=N), seed=seed, **kw)


# ----------------------------------------------------------------------------- exact cases
@pytest.mark.parametrize("backend", BACKENDS)
def test_no_input_gives_no_spikes(backend):
    # recurrent connections but no external input and no drive: every membrane relaxes
    # from below threshold to E_L, so nothing ever spikes (exact, not statistical)
    for name, neuron_floor in (("lif_benchmark", 0.0), ("akil2021", -72.0)):
        params = NetworkParams.preset(name, N=300).replace(r_X=0.0)
        net = sample_network(params, seed=1)
        res = simulate(net, T=0.5, seed=2, burn_in=0.0, record=[0, 299], backend=backend)
        assert res.spike_ids.size == 0
        assert np.all(res.rate == 0.0)
        assert np.all(res.mean_input == 0.0)
        assert np.all(np.isfinite(res.cv) == False)  # noqa: E712  (no ISI at all)
        # the traced membranes approach the leak potential monotonically
        dV = np.abs(res.trace_V - neuron_floor)
        assert np.all(np.diff(dV, axis=1) <= 1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_constant_suprathreshold_drive_gives_analytic_isi(backend):
    # Deterministic LIF with constant mu = E_L + drive > theta, V0 = V_r:
    #   ISI = tau_ref + tau_m ln((mu - V_r)/(mu - theta)).
    # Tolerance one dt: forward Euler crosses ~T_free dt/(2 tau_m) early and the crossing is
    # detected at the end of a step (up to dt late); with T_free < 2 tau_m the sum is < dt.
    params = make_params(N=10)
    mu = np.array([22.0, 23.0, 25.0, 28.0, 30.0, 35.0, 40.0, 50.0, 60.0, 80.0])
    net = make_network(params)
    res = simulate(net, T=0.5, seed=0, burn_in=0.0, drive=mu, V0=BRUNEL.V_r, backend=backend)
    free = BRUNEL.tau_m * np.log((mu - BRUNEL.V_r) / (mu - BRUNEL.theta))
    assert np.all(free < 2 * BRUNEL.tau_m)
    for j in range(10):
        t = res.spike_times[res.spike_ids == j]
        assert t.size >= 5
        assert abs(t[0] - free[j]) <= DT                 # first spike: no refractory period
        isi = np.diff(t)
        assert np.all(np.abs(isi - (BRUNEL.tau_ref + free[j])) <= DT + 1e-12)
        assert np.ptp(isi) <= 1e-12                      # deterministic: identical intervals
    assert np.all(np.isclose(res.cv, 0.0, atol=1e-9))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("tau", [0.005, 0.001, 0.0])
def test_one_spike_delivers_charge_J(backend, tau):
    # E neuron 0 and I neuron 8 start above threshold and spike once at t = dt; neuron 1
    # (E) and 9 (I) receive the E spike, neuron 2 the I spike. The time integral of the
    # synaptic current they cause is J_ab, read two ways: the recorded input trace and the
    # window-averaged mean input (exact bookkeeping). Tolerance 1e-6 relative (loose:
    # both are exact up to rounding, ~1e-14).
    params = make_params(N=10, tau=tau, j=(2.0, -3.0, 1.0))
    net = make_network(params, edges=[(0, 1), (0, 9), (8, 2)])
    V0 = np.zeros(10)
    V0[[0, 8]] = BRUNEL.theta + 1.0
    T = 0.2
    res = simulate(net, T=T, seed=0, burn_in=0.0, V0=V0, record=[1, 9, 2], backend=backend)
    assert sorted(res.spike_ids.tolist()) == [0, 8]
    assert np.allclose(res.spike_times, DT)
    J = params.J
    expected = {(0, 1): J[0, 0], (1, 9): J[1, 0], (2, 2): J[0, 1]}   # (trace row, neuron)
    tau_m = BRUNEL.tau_m
    for (row, j), Jab in expected.items():
        b = 0 if j != 2 else 1
        charge_trace = res.trace_input[row, b].sum() * DT / tau_m
        charge_mean = res.mean_input[j, b] * T / tau_m
        assert charge_trace == pytest.approx(Jab, rel=1e-6)
        assert charge_mean == pytest.approx(Jab, rel=1e-6)
        others = [c for c in range(3) if c != b]
        assert np.all(res.mean_input[j, others] == 0.0)
    if tau == 0.0:
        # delta synapse: V of neuron 1 (at E_L = 0) jumps by exactly J one step after the spike
        assert res.trace_V[0, 1] == 0.0
        assert res.trace_V[0, 2] == J[0, 0]


# ----------------------------------------------------------------------------- bookkeeping
@pytest.mark.parametrize("backend", BACKENDS)
def test_mean_input_equals_time_average_of_recorded_input(backend):
    # mean_input comes from spike counts and the state at the window edges (no per-step
    # accumulation); it must equal the average of the traced inputs over the window's
    # steps. Tolerance 1e-9 relative: both are sums of the same ~2000 terms.
    net = small_network("akil2021_lif", N=300, seed=4)
    res = simulate(net, T=0.3, seed=5, burn_in=0.1, record=np.arange(300), backend=backend)
    assert res.spike_ids.size > 100
    k0 = int(round(0.1 / DT))
    avg = res.trace_input[:, :, k0:].mean(axis=-1)
    scale = np.abs(res.mean_input).max()
    assert np.abs(avg - res.mean_input).max() <= 1e-9 * scale
    # and the total input mu is E_L + drive + the sum of the three sources
    assert np.allclose(res.mu, -72.0 + res.mean_input.sum(axis=1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_rates_cv_and_binned_rate_are_consistent_with_the_spike_record(backend):
    net = small_network("brunel_lif", N=400, seed=6)
    res = simulate(net, T=1.0, seed=7, burn_in=0.2, backend=backend)
    assert isinstance(res, SimulationResult) and res.complete
    win = (res.spike_times > 0.2 + 1e-12)
    counts = np.bincount(res.spike_ids[win], minlength=400)
    assert np.array_equal(res.rate, counts / 0.8)
    assert np.array_equal(res.rates(), res.rate)
    assert np.array_equal(res.rates(0.2, 1.0), res.rate)
    # CV by a direct per-neuron loop
    for j in range(0, 400, 37):
        t = res.spike_times[(res.spike_ids == j) & win]
        expect = np.std(np.diff(t)) / np.mean(np.diff(t)) if t.size >= 3 else np.nan
        assert res.cv[j] == pytest.approx(expect, nan_ok=True)
    # binned population rate: spikes per neuron per second; bins cover (0.2, 1.0]
    t, r = res.binned_rate(0.01, t_start=0.2)
    assert t.size == 80 and np.allclose(t[:2], [0.205, 0.215])
    assert r.sum() * 0.01 * 400 == pytest.approx(win.sum())
    tE, rE = res.binned_rate(0.01, "E", t_start=0.2)
    nE = ((res.spike_ids < net.N_E) & win).sum()
    assert rE.sum() * 0.01 * net.N_E == pytest.approx(nE)
    assert res.population_rate[0] == pytest.approx(res.rate[:net.N_E].mean())
    assert "SimulationResult" in repr(res) and "mean input" in res.summary()
    with pytest.raises(ValueError, match="bin_width"):
        res.binned_rate(0.00015)
    with pytest.raises(ValueError, match="window"):
        res.rates(0.5, 2.0)
    with pytest.raises(ValueError, match="population"):
        res.binned_rate(0.01, "X")


def test_isi_cv_function():
    ids = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    t = np.array([0.1, 0.2, 0.4, 0.1, 0.3, 0.0, 1.0, 2.0, 3.0])
    cv = isi_cv(ids, t, 4)
    assert cv[0] == pytest.approx(np.std([0.1, 0.2]) / 0.15)
    assert np.isnan(cv[1]) and np.isnan(cv[3])           # < 3 spikes
    assert cv[2] == pytest.approx(0.0)


# ----------------------------------------------------------------------------- seeds, backends
def test_same_seed_same_spikes_and_other_seed_differs():
    net = small_network("brunel_lif", N=300, seed=1)
    a = simulate(net, T=0.4, seed=11, backend="numpy")
    b = simulate(net, T=0.4, seed=11, backend="numpy")
    c = simulate(net, T=0.4, seed=12, backend="numpy")
    assert np.array_equal(a.spike_ids, b.spike_ids) and np.array_equal(a.spike_times, b.spike_times)
    assert np.array_equal(a.mean_input, b.mean_input)
    assert not (a.spike_ids.size == c.spike_ids.size and np.array_equal(a.spike_ids, c.spike_ids))
    assert a.seed == 11
    gen = simulate(net, T=0.1, seed=np.random.default_rng(3), burn_in=0.0, backend="numpy")
    # a Generator seed: the entropy drawn from it is recorded and repeats the noise
    assert gen.seed["from_generator"] is True and gen.seed_rule == SEED_RULE
    again = simulate(net, T=0.1, seed=seed_from_record(gen.seed, gen.seed_rule), burn_in=0.0,
                     backend="numpy")
    assert np.array_equal(gen.spike_ids, again.spike_ids)


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba (optional extra 'fast') not installed")
@pytest.mark.parametrize("name", ["akil2021", "akil2021_lif", "brunel_lif"])
@pytest.mark.parametrize("external", ["poisson", "network"])
def test_numpy_and_numba_give_identical_spikes(name, external):
    # same seed -> identical spikes on both backends (same operations in the same order on
    # the same random numbers); EIF included (numpy's exp and the kernel's agree here)
    params = NetworkParams.preset(name, N=800)
    net = sample_network(params, seed=2, external="explicit" if external == "network" else "count")
    drive = np.linspace(-1.0, 1.0, params.N)
    a = simulate(net, T=0.5, seed=5, backend="numpy", external=external, drive=drive, record=[3, 700])
    b = simulate(net, T=0.5, seed=5, backend="numba", external=external, drive=drive, record=[3, 700])
    assert a.spike_ids.size > 500
    assert np.array_equal(a.spike_ids, b.spike_ids)
    assert np.array_equal(a.spike_times, b.spike_times)
    assert np.array_equal(a.mean_input, b.mean_input)
    assert np.array_equal(a.trace_V, b.trace_V) and np.array_equal(a.trace_input, b.trace_input)
    assert (a.backend, b.backend) == ("numpy", "numba")


def test_unknown_backend_and_fallback(monkeypatch):
    net = make_network(make_params())
    with pytest.raises(ValueError, match="backend"):
        simulate(net, T=0.01, burn_in=0.0, backend="cuda")
    # numba missing: 'numba' falls back to numpy with a warning, 'auto' silently
    monkeypatch.setitem(sys.modules, "validation._kernels_numba", None)
    with pytest.warns(RuntimeWarning, match="falling back to the numpy backend"):
        r = simulate(net, T=0.01, burn_in=0.0, backend="numba")
    assert r.backend == "numpy"
    assert simulate(net, T=0.01, burn_in=0.0, backend="auto").backend == "numpy"


# ----------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("backend", BACKENDS)
def test_external_poisson_counts_with_heterogeneous_in_degrees(backend):
    # Unconnected neurons, k_X from 0 to 990 (alias sampler). The X part of mean_input
    # gives each neuron's number of external events C_j (exactly, up to the tail of the
    # last ~50 ms); C_j ~ Poisson(k_X r_X T): z-scores must look standard normal.
    # Bounds: |mean z| < 4/sqrt(n) and sum z^2 within 5 standard deviations of chi^2_n.
    params = make_params(N=200, r_X=5.0, j=(1.0, -1.0, 1.0))
    k_X = (np.arange(200) * 5) % 997
    net = make_network(params, k_X=k_X)
    T = 2.0
    res = simulate(net, T=T, seed=9, burn_in=0.0, drive=-50.0, backend=backend)
    assert res.spike_ids.size == 0
    J = params.J[0, 2]
    C = res.mean_input[:, 2] * T / (BRUNEL.tau_m * J)
    lam = k_X * params.r_X * T
    ok = lam > 0
    assert np.all(C[~ok] == 0.0)
    z = (C[ok] - lam[ok]) / np.sqrt(lam[ok])
    n = z.size
    assert abs(z.mean()) < 4 / math.sqrt(n)
    assert abs((z ** 2).sum() - n) < 5 * math.sqrt(2 * n)


def test_alias_table_is_exact():
    w = np.array([0.0, 1.0, 2.5, 0.5, 7.0, 1e-9, 3.0])
    q, alias = _sim_module._alias_table(w)
    n = w.size
    p = q / n
    np.add.at(p, alias, (1.0 - q) / n)
    assert np.allclose(p, w / w.sum(), rtol=0, atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shared_external_population(backend):
    # explicit external sources: each neuron's X input still averages tau_m J k_X r_X
    params = NetworkParams.preset("brunel_lif", N=400).replace(
        j_EE=0.0, j_IE=0.0, j_EI=0.0, j_II=0.0)                  # unconnected
    net = sample_network(params, seed=3, external="explicit")
    res = simulate(net, T=2.0, seed=4, burn_in=0.0, drive=-200.0, external="network",
                   backend=backend)
    assert res.spike_ids.size == 0
    J = params.J[:, 2][net.population]
    C = res.mean_input[:, 2] * 2.0 / (params.neuron_E.tau_m * J)
    lam = net.k_X * params.r_X * 2.0
    # counts per neuron are sums over shared sources: mean still k_X r_X T. Sources are
    # shared, so neurons are correlated; test the per-neuron z-scores' mean loosely
    # (10 / sqrt(n): positive correlations inflate its variance) and each |z| < 6.
    z = (C - lam) / np.sqrt(lam)
    assert abs(z.mean()) < 10 / math.sqrt(z.size)
    assert np.all(np.abs(z) < 6)


# single neurons against the transfer functions (meanfield.transfer)
# Working points in the fluctuation-driven regime, J = 0.05 mV per external event (so the
# shot-noise corrections, which reach +8 % at J = 0.1 mV and mu = 12 mV, stay < 1 %) and a
# negative DC drive that sets mu with sigma^2 = tau_m J^2 k r. Measured with 300 neurons x
# 6 s (standard error 1-2 %): deviations from the theory +1.6, +0.9, +0.2 % (LIF with
# Fourcaud-Brunel shift, tau_s = 1 ms) and -1.7, 0.0, -1.8 % (EIF, delta synapses). In the
# mean-driven regime the LIF formula is 1.3 % high (mu = 22, sigma = 4, 0.2 % standard
# error): not a working point of this test. Bound: |z| < 3 with the standard error of the
# mean over 100 independent neurons.
def _single_neurons(neuron, mu, sigma, tau_X, seed, n=100, T=5.5, J=0.05):
    kr = int(round(sigma ** 2 / (neuron.tau_m * J ** 2)))      # external events per second
    params = make_params(N=n, q_E=1.0, neuron=neuron, tau=tau_X, r_X=1.0,
                         j=(0.0, 0.0, J * math.sqrt(n)))
    net = make_network(params, k_X=kr)
    sigma_real = math.sqrt(neuron.tau_m * J ** 2 * kr)
    drive = mu - neuron.E_L - neuron.tau_m * J * kr
    res = simulate(net, T=T, seed=seed, burn_in=0.5, drive=drive, progress=False)
    # the recorded mean input is mu up to Poisson noise: 5 standard deviations of the mean
    sd = neuron.tau_m * J * math.sqrt(kr / (T - 0.5)) / math.sqrt(n)
    assert abs(res.mu.mean() - mu) < 5 * sd
    return res.rate.mean(), res.rate.std(ddof=1) / math.sqrt(n), sigma_real


@pytest.mark.parametrize("mu,sigma", [(15.0, 4.0), (17.0, 3.0), (12.0, 5.0)])
def test_lif_single_neurons_match_lif_rate_with_fourcaud_brunel_shift(mu, sigma):
    rate, se, sig = _single_neurons(BRUNEL, mu, sigma, tau_X=1e-3, seed=int(mu))
    theory = float(lif_rate(mu, sig, BRUNEL, tau_s=1e-3))
    assert abs(rate - theory) < 3 * se, (rate, se, theory)


@pytest.mark.parametrize("mu,sigma", [(-60.0, 4.0), (-58.0, 3.0), (-62.0, 5.0)])
def test_eif_single_neurons_match_eif_rate_in_the_delta_synapse_limit(mu, sigma):
    neuron = EIF()
    rate, se, sig = _single_neurons(neuron, mu, sigma, tau_X=0.0, seed=int(-mu))
    theory = float(eif_rate(mu, sig, neuron))
    assert abs(rate - theory) < 3 * se, (rate, se, theory)


# ----------------------------------------------------------------------------- errors
@pytest.fixture(scope="module")
def net10():
    return make_network(make_params(), edges=[(0, 1)])


@pytest.mark.parametrize("kwargs,match", [
    (dict(T=0.10005), "does not divide T"),
    (dict(T=0.0), "T = 0.0 s is out of range"),
    (dict(T=-1.0), "T = -1.0 s is out of range"),
    (dict(T=0.1, dt=0.002), "tau_E"),
    (dict(T=0.1, dt=-1e-4), "dt"),
    (dict(T=0.1, burn_in=0.1), "burn_in"),
    (dict(T=0.1, burn_in=0.00005), "burn_in"),
    (dict(T=0.1, burn_in=0.0, record=[10]), "record"),
    (dict(T=0.1, burn_in=0.0, drive=np.zeros(3)), "drive"),
    (dict(T=0.1, burn_in=0.0, V0=np.full(10, np.nan)), "V0"),
    (dict(T=0.1, burn_in=0.0, external="network"), "ext_indptr is None"),
    (dict(T=0.1, burn_in=0.0, external="shared"), "external"),
])
def test_bad_input_raises_naming_the_parameter(net10, kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate(net10, **kwargs)


def test_dt_above_tau_ref_and_tau_m():
    neuron = LIF(tau_m=0.02, theta=20.0, V_r=10.0, tau_ref=0.0005)
    net = make_network(make_params(neuron=neuron, tau=0.01))
    with pytest.raises(ValueError, match=r"tau_ref = 0.0005 s.*\(0, tau_ref\]"):
        simulate(net, T=0.08, dt=8e-4, burn_in=0.0)
    fast = LIF(tau_m=0.002, theta=20.0, V_r=10.0, tau_ref=0.0)
    net = make_network(make_params(neuron=fast, tau=0.01))
    with pytest.raises(ValueError, match="tau_m"):
        simulate(net, T=0.1, dt=1e-3, burn_in=0.0)
    # tau_ref = 0 is allowed with any dt <= the other bounds
    simulate(make_network(make_params(neuron=LIF(tau_ref=0.0), tau=0.01)), T=0.01,
             dt=1e-3, burn_in=0.0)


def test_network_params_mismatch_and_types(net10):
    with pytest.raises(ValueError, match=r"params do not match the network: params.N = 20"):
        simulate(net10, make_params(N=20), T=0.1, burn_in=0.0)
    with pytest.raises(ValueError, match="p_EE"):
        simulate(net10, make_params().replace(p_EE=0.5), T=0.1, burn_in=0.0)
    # weights, time constants and r_X may differ: the same graph with other dynamics
    simulate(net10, make_params(j=(3.0, -2.0, 1.0), r_X=2.0), T=0.01, burn_in=0.0)
    with pytest.raises(TypeError, match="graphs.Network"):
        simulate("network", T=0.1)
    with pytest.raises(TypeError, match="needs T"):
        simulate(net10)
    with pytest.raises(TypeError, match="record"):
        simulate(net10, T=0.01, burn_in=0.0, record=[0.5])


@pytest.mark.parametrize("backend", BACKENDS)
def test_overflow_stops_with_error_naming_neuron_and_time(backend):
    # All-to-all, 80 E neurons start above threshold and spike at t = dt; each I neuron
    # receives 80 kicks of J dt/tau_E = 3.6e306 mV: U_E overflows to inf and the first I
    # neuron's (index 80) membrane becomes inf in the next step, t = 2 dt. (E neurons
    # are refractory then.) Same neuron and time on both backends.
    N = 100
    params = make_params(N=N, tau=5e-4, j=(1.79e308, 0.0, 0.0))
    edges = [(a, b) for a in range(80) for b in range(N) if a != b]
    net = make_network(params, edges=edges)
    V0 = np.where(np.arange(N) < 80, 25.0, 0.0)
    with pytest.raises(SimulationError, match=r"neuron 80 became non-finite.*t = 0.0002 s") as e:
        simulate(net, T=0.1, seed=0, burn_in=0.0, V0=V0, backend=backend)
    err = e.value
    assert (err.neuron, err.time) == (80, pytest.approx(2e-4))
    assert err.result is not None and not err.result.complete
    assert "non-finite" in err.result.message


# ----------------------------------------------------------------------------- interruption
def test_ctrl_c_returns_partial_result_marked_incomplete(monkeypatch):
    # A real SIGINT, sent by this process to itself from the progress hook at the end of
    # the second chunk (once simulate's handler is installed): the run stops there. (A
    # timer thread firing after 0.5 s of wall time races with the set-up under load: a
    # SIGINT before the handler is installed is a KeyboardInterrupt in the test.)
    class CtrlC:
        n, calls = 0.0, 0

        def update(self, n=1):
            self.n += n
            self.calls += 1
            if self.calls == 2:
                os.kill(os.getpid(), signal.SIGINT)

        def set_postfix_str(self, s="", refresh=True):
            pass

        def close(self):
            pass

    monkeypatch.setattr(_sim_module, "progress_bar", lambda *a, **k: CtrlC())
    net = small_network("brunel_lif", N=100, seed=1)
    res = simulate(net, T=500.0, seed=1, burn_in=0.0, backend="numpy", progress=False)
    assert not res.complete
    assert "interrupted" in res.message
    assert res.t_stop == pytest.approx(2 * _sim_module.CHUNK_STEPS * DT)
    assert res.spike_times.max() <= res.t_stop + 1e-12
    assert np.all(np.isfinite(res.rate)) and np.all(np.isfinite(res.mean_input))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_interrupt_flag_stops_at_chunk_boundary(monkeypatch):
    # deterministic version: the guard reports Ctrl-C after the third chunk
    import contextlib

    class Flag:
        calls = 0

        @property
        def requested(self):
            Flag.calls += 1
            return Flag.calls >= 3

    monkeypatch.setattr(_sim_module, "interrupt_guard", lambda: contextlib.nullcontext(Flag()))
    net = small_network("brunel_lif", N=100, seed=1)
    res = simulate(net, T=1.0, seed=1, burn_in=0.0, backend="numpy")
    assert not res.complete
    assert res.t_stop == pytest.approx(3 * _sim_module.CHUNK_STEPS * DT)


# ----------------------------------------------------------------------------- progress
def test_progress_reports_only_when_asked_or_on_a_terminal(capsys):
    import tqdm  # noqa: F401  (in the [test] extra: missing is an error, not a skip)
    buf = io.StringIO()
    p = progress_bar(10.0, enabled=True, stream=buf, desc="simulate", unit="s", delay=0.0,
                     interval=0.0)
    p.set_postfix_str("mean rate 5 Hz", refresh=False)
    p.update(2.5)
    p.close()
    text = buf.getvalue()
    assert "simulate:  25.0%" in text and "2.5/10 s" in text and "mean rate 5 Hz" in text
    quiet = io.StringIO()
    p = progress_bar(10.0, enabled=None, stream=quiet, delay=0.0, interval=0.0)   # not a tty
    p.update(5.0)
    p.close()
    assert quiet.getvalue() == ""
    simulate(make_network(make_params()), T=0.05, burn_in=0.0, progress=None)
    assert capsys.readouterr().err == ""
    # progress=True shows the bar (simulate delays it by 2 s: made 0 here)
    monkey = pytest.MonkeyPatch()
    monkey.setattr(_sim_module, "progress_bar",
                   lambda *a, **k: progress_bar(*a, **{**k, "delay": 0.0, "interval": 0.0}))
    try:
        res = simulate(make_network(make_params()), T=0.05, burn_in=0.0, progress=True)
    finally:
        monkey.undo()
    err = capsys.readouterr().err
    assert "simulate: 100.0%" in err and "0.05/0.05 s" in err
    assert f"mean rate {res.mean_rate:.3g} Hz" in err


def test_progress_without_tqdm_is_silent(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)     # import tqdm now raises ImportError
    with pytest.raises(ImportError):
        import tqdm  # noqa: F401
    buf = io.StringIO()
    p = progress_bar(10.0, enabled=True, stream=buf, delay=0.0)
    p.update(2.5)
    p.set_postfix_str("x")
    p.close()
    assert buf.getvalue() == "" and p.n == 2.5
    ref = simulate(make_network(make_params()), T=0.05, burn_in=0.0, seed=3, progress=False)
    res = simulate(make_network(make_params()), T=0.05, burn_in=0.0, seed=3, progress=True)
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(res.spike_ids, ref.spike_ids)


# ----------------------------------------------------------------------------- numpy internals
def test_numpy_gather_paths_agree(monkeypatch):
    # the list gather (few spikes a step), the vectorised gather (> 64 spikes, e.g. a
    # synchronous volley) and on-demand row views (very large N) give the same targets in
    # the same order, hence the same simulation
    net = small_network("brunel_lif", N=400, seed=2)
    s = _sim_module._prepare(net, net.params, DT, 10, 0, np.zeros(400), None, 1, "poisson")
    stepper = _sim_module._NumpyStepper(s)
    spk = np.sort(np.random.default_rng(0).choice(400, 150, replace=False))
    expect = np.concatenate([net.pre_indices[net.pre_indptr[k]:net.pre_indptr[k + 1]]
                             for k in spk])
    assert np.array_equal(stepper._targets(spk), expect)                 # vectorised
    assert np.array_equal(stepper._targets(spk[:40]),                    # list
                          np.concatenate([stepper.rows[k] for k in spk[:40]]))
    monkeypatch.setattr(_sim_module, "_GATHER_LOOP_MAX", 10 ** 9)
    assert np.array_equal(stepper._targets(spk), expect)                 # list
    V0 = np.full(400, 25.0)                                              # all spike at t = dt
    ref = simulate(net, T=0.05, seed=1, burn_in=0.0, V0=V0, backend="numpy")
    monkeypatch.setattr(_sim_module, "_GATHER_LOOP_MAX", 64)
    monkeypatch.setattr(_sim_module, "_ROW_VIEWS_MAX", 0)
    other = simulate(net, T=0.05, seed=1, burn_in=0.0, V0=V0, backend="numpy")
    assert np.sum(ref.spike_times == DT) == 400
    assert np.array_equal(ref.spike_ids, other.spike_ids)
    assert np.array_equal(ref.mean_input, other.mean_input)
    if HAVE_NUMBA:
        compiled = simulate(net, T=0.05, seed=1, burn_in=0.0, V0=V0, backend="numba")
        assert np.array_equal(ref.spike_ids, compiled.spike_ids)
        assert np.array_equal(ref.spike_times, compiled.spike_times)


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba (optional extra 'fast') not installed")
def test_numba_spike_buffer_refills(monkeypatch):
    # a spike buffer of N + 50 entries is emptied many times a chunk: same spikes as numpy
    monkeypatch.setattr(_sim_module, "_SPIKE_BUFFER_EXTRA", 50)
    net = small_network("brunel_lif", N=400, seed=2)
    V0 = np.full(400, 25.0)
    a = simulate(net, T=0.3, seed=1, burn_in=0.0, V0=V0, backend="numba")
    b = simulate(net, T=0.3, seed=1, burn_in=0.0, V0=V0, backend="numpy")
    assert a.spike_ids.size >= 500                # > 10 refills of 50 spikes
    assert np.array_equal(a.spike_ids, b.spike_ids) and np.array_equal(a.spike_times, b.spike_times)

"""validation.simulate: the inputs by source, with three distinct synaptic time constants.

Every other simulator test uses tau_E = tau_I = tau_X, so a simulator that confuses the
sources' time constants (or weights, or the external rate) would pass them. Here:

- one kick from each source (E, I, X) onto a silent membrane: the recorded synaptic
  trace and the membrane potential against the closed form of the documented Euler
  scheme, and the decay time read off the trace against the source's own tau_b;
- the mean input by source of a small real network against tau_m J_ab K_ab r_b;
- the external rate delivered by both external modes against r_X, with the standard
  error of the Poisson counts.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphs import sample_network
from meanfield import LIF, NetworkParams
from validation import simulate

from test_simulate import BACKENDS, make_network

DT = 1e-4
TAU = {"E": 0.002, "I": 0.007, "X": 0.004}       # s: all different, none a multiple of dt/5
NEURON = LIF(tau_m=0.02, E_L=0.0, theta=20.0, V_r=10.0, tau_ref=0.002)


def three_tau_params(N=10, r_X=0.0, j=(2.0, -3.0, 1.5)):
    jE, jI, jX = j
    return NetworkParams(N=N, q_E=0.8, q_I=0.2, q_X=1.0, p_EE=1.0, p_EI=1.0, p_EX=1.0,
                         p_IE=1.0, p_II=1.0, p_IX=1.0, j_EE=jE, j_EI=jI, j_EX=jX, j_IE=jE,
                         j_II=jI, j_IX=jX, r_X=r_X, tau_E=TAU["E"], tau_I=TAU["I"],
                         tau_X=TAU["X"], neuron_E=NEURON, neuron_I=NEURON)


def kernel(n, J, tau_b, tau_m=NEURON.tau_m, dt=DT):
    """Closed form of the simulator's Euler scheme for one kick added in step 0.

    With H = 1 - dt/tau_m and F = 1 - dt/tau_b, the input sampled at the start of step
    n >= 1 is tau_m I_b = (tau_m J / tau_b) F^(n-1) and the membrane (E_L = 0)
    V_n = J tau_m / (tau_m - tau_b) (H^(n-1) - F^(n-1)): the discrete twin of the
    continuous (tau_m J / tau_b) e^(-t/tau_b) and J tau_m/(tau_m - tau_b)(e^(-t/tau_m) -
    e^(-t/tau_b)) (sum of a geometric series; V_2 = J dt / tau_b).
    """
    n = np.asarray(n, float)
    H, F = 1.0 - dt / tau_m, 1.0 - dt / tau_b
    k = np.maximum(n - 1, 0)
    current = np.where(n >= 1, tau_m * J / tau_b * F**k, 0.0)
    V = np.where(n >= 1, J * tau_m / (tau_m - tau_b) * (H**k - F**k), 0.0)
    return current, V


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_kick_decays_with_its_own_sources_time_constant(backend):
    # E neuron 0 and I neuron 8 start above threshold and spike in step 0; neuron 1 (E)
    # and neuron 9 (I) receive the E spike, neuron 2 the I spike; neuron 3 receives only
    # external events (k_X = 1, 40 Hz). Kicks are < 1.5 mV: nobody else spikes.
    params = three_tau_params(r_X=40.0)
    J = params.J
    k_X = np.zeros(10, np.int64)
    k_X[3] = 1
    net = make_network(params, edges=[(0, 1), (0, 9), (8, 2)], k_X=k_X)
    V0 = np.zeros(10)
    V0[[0, 8]] = NEURON.theta + 1.0
    T = 0.2
    res = simulate(net, T=T, seed=4, burn_in=0.0, V0=V0, record=[1, 9, 2, 3], backend=backend)
    assert sorted(res.spike_ids.tolist()) == [0, 8]
    n = np.arange(res.trace_times.size)
    # (trace row, source, J of that synapse)
    cases = [(0, 0, J[0, 0]), (1, 0, J[1, 0]), (2, 1, J[0, 1])]
    for row, b, Jab in cases:
        tau_b = TAU["EIX"[b]]
        current, V = kernel(n, Jab, tau_b)
        # exact closed form of the same scheme: rounding only (1e-9 relative to the peak)
        np.testing.assert_allclose(res.trace_input[row, b], current,
                                   rtol=0, atol=1e-9 * abs(current).max())
        np.testing.assert_allclose(res.trace_V[row], V, rtol=0, atol=1e-9 * abs(V).max())
        # the other two sources stay exactly zero
        assert np.all(res.trace_input[row, [c for c in range(3) if c != b]] == 0.0)
        # decay time read off the trace, -dt / ln(I_{n+1}/I_n): Euler's factor 1 - dt/tau
        # instead of e^(-dt/tau) makes it tau (1 - dt/(2 tau) + ...), so within dt/tau of
        # tau_b (<= 5 %, while the three tau_b differ by 75 % or more)
        tr = res.trace_input[row, b, 1:40]
        tau_fit = -DT / np.log(tr[1:] / tr[:-1])
        assert np.all(np.abs(tau_fit / tau_b - 1) < DT / tau_b), (b, tau_fit[:3], tau_b)
        # and the membrane against the continuous solution: Euler's global error is
        # O(dt/tau_b) of the peak (here <= 5 %); the swapped tau would be off by > 30 %
        t = n * DT - DT
        V_cont = np.where(t > 0, Jab * NEURON.tau_m / (NEURON.tau_m - tau_b)
                          * (np.exp(-t / NEURON.tau_m) - np.exp(-t / tau_b)), 0.0)
        assert np.abs(res.trace_V[row] - V_cont).max() < DT / tau_b * np.abs(V_cont).max()

    # external: between events the trace decays by exactly F_X = 1 - dt/tau_X a step; at an
    # event it jumps by tau_m J_EX / tau_X. The residual I_n - F_X I_{n-1}, in kicks, is a
    # whole number (rounding: 1e-9), and the membrane is the superposition of kernels.
    x = res.trace_input[3, 2]
    kick = NEURON.tau_m * J[0, 2] / TAU["X"]
    m = (x[1:] - (1 - DT / TAU["X"]) * x[:-1]) / kick
    assert np.all(np.abs(m - np.round(m)) < 1e-9)
    m = np.round(m).astype(int)
    assert m.sum() >= 3 and np.all(m >= 0)       # this seed: a few events in 0.2 s
    events = np.repeat(np.flatnonzero(m), m[m > 0])   # kick added in step s -> I_{s+1}
    V_ref = sum(kernel(n - s, J[0, 2], TAU["X"])[1] for s in events)
    np.testing.assert_allclose(res.trace_V[3], V_ref, rtol=0, atol=1e-9 * abs(V_ref).max())
    assert np.all(res.trace_input[3, :2] == 0.0)


def test_mean_input_by_source_is_tau_m_J_K_r():
    # A small real network (Brunel LIF preset, tau_E, tau_I, tau_X = 8, 4, 10 ms). For each
    # source b and population a, the population mean of the recorded mean input
    # mean_input[:, b] must be tau_m J_ab K_ab r_b: K_ab = p_ab N_b the expected in-degree
    # and r_b the simulated population rate (r_X for X). Over the Erdos-Renyi graph this is
    # the expectation (out-degrees are independent of the rates, which follow in-degrees);
    # the standard error is the spread across the n_a neurons / sqrt(n_a), which contains
    # the in-degree, presynaptic-rate and Poisson-count variation. Bound: 3 SE. (Measured
    # over 12 other seeds: the six z-scores have means within 0.6 of 0 and sd 0.8-1.3.)
    params = NetworkParams.preset("brunel_lif", N=1000)
    net = sample_network(params, seed=102)
    res = simulate(net, T=1.2, seed=202, burn_in=0.2, progress=False)
    assert res.spike_ids.size > 5000
    pop = net.population
    r = np.array([res.rate[pop == 0].mean(), res.rate[pop == 1].mean(), params.r_X])
    assert r[1] > 2 * r[0] > 0        # E and I rates differ: a swapped column would show
    tau_m = NEURON.tau_m
    for a in range(2):
        inp = res.mean_input[pop == a]
        se = inp.std(axis=0, ddof=1) / math.sqrt(inp.shape[0])
        expect = tau_m * params.J[a] * params.K[a] * r
        z = (inp.mean(axis=0) - expect) / se
        assert np.all(np.abs(z) < 3), (a, inp.mean(axis=0), expect, se)
        # the bar is sharp: 3 SE is below 10 % of each source's input (a swapped or dropped
        # column, a wrong J or tau_m, is off by far more)
        assert np.all(3 * se < 0.1 * np.abs(expect))


@pytest.mark.parametrize("external", ["poisson", "network"])
def test_delivered_external_rate_is_r_X(external):
    # Unconnected neurons held far below threshold (drive -1000 mV), N = 2000: N_X = 400
    # shared sources ("network") or independent trains ("poisson"), r_X = 50 Hz, 2 s
    # measured after 0.1 s (the window's tail terms then cancel in expectation). Each
    # neuron's X input gives its number of received events,
    # c_j = mean_input[j, X] D / (tau_m J_aX), and sum_j c_j / (D sum_j k_X,j) estimates
    # the delivered rate. Standard error from the Poisson counts: independent per
    # neuron for "poisson", sqrt(r_X sum_s d_s^2 / D) / sum_s d_s for shared sources of
    # out-degree d_s. Bound: 3 SE (SE about 0.5 % of r_X, so an r_X 3 % off is caught).
    r_X = 50.0
    params = NetworkParams.preset("brunel_lif", N=2000).replace(
        j_EE=0.0, j_IE=0.0, j_EI=0.0, j_II=0.0, r_X=r_X)
    net = sample_network(params, seed=8, external="explicit")
    D = 2.0
    res = simulate(net, T=D + 0.1, seed=9, burn_in=0.1, drive=-1000.0, external=external,
                   progress=False)
    assert res.spike_ids.size == 0
    J = params.J[:, 2][net.population]
    c = res.mean_input[:, 2] * D / (NEURON.tau_m * J)
    k_X = np.asarray(net.k_X, float)
    r_hat = c.sum() / (D * k_X.sum())
    if external == "network":
        d = np.bincount(np.asarray(net.ext_indices), minlength=params.N_X).astype(float)
        assert d.sum() == k_X.sum()
        se = math.sqrt(r_X * np.sum(d**2) / D) / d.sum()
    else:
        se = math.sqrt(r_X * k_X.sum() / D) / k_X.sum()
    assert se < 0.01 * r_X / 1.9             # the test resolves a 3 % error at 3 SE
    assert abs(r_hat - r_X) < 3 * se, (r_hat, r_X, se)

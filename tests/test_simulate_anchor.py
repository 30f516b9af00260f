"""The benchmark network (docs/theory.md section 8.2; ``lif_benchmark``, N = 10^4) vs the peers.

Slow scientific check. It fits the 2-minute budget at full size and full length (N = 10^4,
3 graph seeds, T = 10 s: about 20 s with numba, 30 s with numpy on 2 cores), so nothing is
reduced: the ISI CV in particular is biased low by shorter windows (0.821 at T = 5 s
against 0.861 at 10 s for these seeds). Speed against Brian2 is measured by
``benchmarks/bench_simulate.py`` (see benchmarks/README_simulate.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from graphs import sample_network
from meanfield import NetworkParams
from validation import simulate

MEAN_FIELD_RATE = 5.722   # Hz, NNMT lif.exp, Fourcaud-Brunel shift (docs/theory.md section 8.2)
SEEDS = (1, 2, 3)         # graph and noise seeds, fixed before the first run


@pytest.fixture(scope="module")
def runs():
    params = NetworkParams.preset("lif_benchmark")
    out = []
    for seed in SEEDS:
        net = sample_network(params, seed=seed)
        res = simulate(net, T=10.0, seed=seed, burn_in=0.2, progress=False)
        out.append((net, res))
    return out


@pytest.mark.slow
def test_population_rate_within_10_percent_of_the_anchor(runs):
    # Brian2, NEST and two independent implementations: 5.2-6.6 Hz per graph, 5.75 +/- 0.13
    # Hz over twelve graphs; the graph realisation, not the noise, sets the rate, so the
    # anchor is tested on the average over graphs (10 %, docs/theory.md section 8.2).
    rates = [res.mean_rate for _, res in runs]
    assert all(res.complete for _, res in runs)
    assert abs(np.mean(rates) - MEAN_FIELD_RATE) <= 0.10 * MEAN_FIELD_RATE, rates
    for r in rates:
        assert 4.5 < r < 7.0      # one graph: the peers' range widened by the realisation spread


@pytest.mark.slow
def test_mean_isi_cv_of_the_erdos_renyi_network(runs):
    # peers: 0.85 for Erdos-Renyi (10 s runs); band 0.8-0.9 (shorter windows bias it low)
    cvs = [res.mean_cv for _, res in runs]
    assert 0.8 <= np.mean(cvs) <= 0.9, cvs


@pytest.mark.slow
def test_mean_inputs_read_the_balance(runs):
    # The recorded per-source mean inputs are consistent with the rates and the graph:
    # mean over neurons of the E input = tau_m J_E (sum_k out-degree_k rate_k) / N exactly
    # up to the window tails (< 1e-3 relative); X input = tau_m J_X K_X r_X = 30 mV up to
    # Poisson noise (3e7 events a neuron: 0.02 %); and the network is balanced: the net
    # synaptic input is a small fraction of the excitation (E + X ~ 70 mV, net ~ 7 mV).
    for net, res in runs:
        p = net.params
        tau_m = p.neuron_E.tau_m
        out_deg = np.diff(net.pre_indptr)
        E = net.population == 0
        expect_E = tau_m * p.J_EE * np.sum(out_deg[E] * res.rate[E]) / net.N
        assert res.mean_input[:, 0].mean() == pytest.approx(expect_E, rel=1e-3)
        assert res.mean_input[:, 2].mean() == pytest.approx(30.0, rel=2e-3)
        assert 0.0 < np.median(res.balance_index) < 0.2
        assert 3.0 < res.mu.mean() < 10.0

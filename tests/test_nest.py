"""Cross-check with NEST 3: the same graph built by ``validation.nest_export.to_nest``.

Skipped where NEST (PyPI ``nest-simulator``, ``pip install 'hetbalance[nest]'``) is not
installed. The statistical check is marked ``slow`` (about 20 s on a 2-core machine).
"""

import numpy as np
import pytest

nest = pytest.importorskip("nest")

from scipy import stats  # noqa: E402

from graphs import sample_network  # noqa: E402
from meanfield import LIF, DegreeModel, NetworkParams  # noqa: E402
from meanfield.seeding import SEED_RULE  # noqa: E402
from validation import simulate  # noqa: E402
from validation.nest_export import (NestMismatchWarning, psc_weight, run_nest,  # noqa: E402
                                    to_nest)
from _crosscheck import bin_table, format_bins as _format  # noqa: E402  (tests/_crosscheck.py)

N = 2000
T = 3.0          # s; NEST needs about 1.7 s of wall time per biological second here
BURN_IN = 0.5    # s


def _case_b(N=N, seed=1, external="count"):
    # brunel_lif: LIF neurons, tau_E = 8, tau_I = 4, tau_X = 10 ms. The three time
    # constants map exactly onto iaf_psc_exp_multisynapse (receptors E, I, X), and our
    # weights onto PSC amplitudes w = J C_m / tau_b (psc_weight).
    params = NetworkParams.preset("brunel_lif", N=N)
    model = DegreeModel.recurrent_indegree("gamma", 0.2)
    return sample_network(params, model, seed=seed, external=external)


# ----------------------------------------------------------------------------- fast
def test_psc_weight_gives_the_psp_area():
    # one spike into a passive iaf_psc_exp: the time integral of V - E_L equals
    # tau_m * J (the area of a delta kick J relaxing with tau_m), so w = J C_m / tau_s
    J, tau_s, tau_m, C_m, dt = 0.7, 0.004, 0.02, 250.0, 1e-4
    nest.ResetKernel()
    nest.set(resolution=dt * 1e3)
    n = nest.Create("iaf_psc_exp", params={"C_m": C_m, "tau_m": tau_m * 1e3, "E_L": 0.0,
                                           "V_m": 0.0, "V_th": 1e3, "tau_syn_ex": tau_s * 1e3})
    sg = nest.Create("spike_generator", params={"spike_times": [1.0]})
    nest.Connect(sg, n, syn_spec={"weight": psc_weight(J, tau_s, C_m), "delay": dt * 1e3})
    mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": dt * 1e3})
    nest.Connect(mm, n)
    nest.Simulate(400.0)                      # 20 tau_m: the tail is below 1e-8
    V = np.asarray(mm.get("events")["V_m"])
    area = V.sum() * dt                       # mV s
    assert area == pytest.approx(tau_m * J, rel=1e-3)   # rel: sum vs integral, O(dt/tau)


def test_connections_and_in_degrees_are_exactly_ours():
    net = _case_b(N=400, seed=4)
    nn = to_nest(net, seed=5)
    assert nn.models == ("iaf_psc_exp_multisynapse", "iaf_psc_exp_multisynapse")
    c = nn.connections()
    tgt = np.repeat(np.arange(net.N), np.diff(net.post_indptr))
    assert c["source"].size == net.n_synapses == nn.n_synapses
    assert np.array_equal(c["source"], net.post_indices)
    assert np.array_equal(c["target"], tgt)
    assert np.array_equal(nn.k_X(), net.k_X)
    pop_t, pop_s = net.population[tgt], net.population[net.post_indices]
    assert np.array_equal(c["receptor"], pop_s + 1)         # ports 1 (E), 2 (I)
    assert np.allclose(c["weight"], nn.weights[pop_t, pop_s], rtol=1e-12)
    assert np.allclose(c["delay"], 0.1)
    p = net.params
    for a in range(2):
        for b in range(3):
            assert nn.weights[a, b] == pytest.approx(p.J[a, b] * 250.0 / (p.tau_syn[b] * 1e3))


def test_per_target_method_builds_the_same_graph():
    net = _case_b(N=200, seed=6, external="explicit")
    a = to_nest(net, seed=1, method="arrays", external="network")
    ca, ka = a.connections(), a.k_X()
    b = to_nest(net, seed=1, method="per_target", external="network")
    cb, kb = b.connections(), b.k_X()
    for key in ca:
        assert np.array_equal(ca[key], cb[key]), key
    assert np.array_equal(ka, net.k_X) and np.array_equal(kb, net.k_X)


def test_model_choice_and_errors():
    p = NetworkParams.preset("brunel_lif", N=200)
    net = sample_network(p, seed=0)
    # tau_E == tau_X: plain iaf_psc_exp, E and X on tau_syn_ex
    q = p.replace(tau_X=p.tau_E)
    assert to_nest(net, q, seed=0).models == ("iaf_psc_exp", "iaf_psc_exp")
    with pytest.raises(ValueError, match="iaf_psc_exp"):
        to_nest(net, p, model="iaf_psc_exp")
    with pytest.raises(NotImplementedError, match="mixes delta"):
        to_nest(net, p.replace(tau_I=0.0))
    eif = NetworkParams.preset("akil2021", N=200)
    net_eif = sample_network(eif, seed=0)
    with pytest.raises(NotImplementedError, match="aeif_psc_exp"):
        to_nest(net_eif)
    with pytest.warns(NestMismatchWarning, match="V_lb"):
        nn = to_nest(net_eif, eif.replace(tau_X=eif.tau_E), seed=0)
    assert nn.models == ("aeif_psc_exp", "aeif_psc_exp")
    with pytest.raises(ValueError, match="dt"):
        to_nest(net, dt=1e-7)


def test_neuron_parameters_in_nest_units():
    # every neuron of each population carries its population's constants, in NEST's units
    # (ms, mV; s -> ms is x 1000); the I population differs from E in each of them
    p = NetworkParams.preset("brunel_lif", N=200).replace(
        neuron_I=LIF(tau_m=0.012, E_L=-2.0, theta=18.0, V_r=8.0, tau_ref=0.001))
    nn = to_nest(sample_network(p, seed=0), p, seed=0)
    assert nn.models == ("iaf_psc_exp_multisynapse",) * 2
    for rows, nrn in ((slice(0, p.N_E), p.neuron_E), (slice(p.N_E, p.N), p.neuron_I)):
        for key, value in (("t_ref", nrn.tau_ref * 1e3), ("tau_m", nrn.tau_m * 1e3),
                           ("V_th", nrn.theta), ("V_reset", nrn.V_r), ("E_L", nrn.E_L)):
            got = np.asarray(nn.neurons.get(key), float)[rows]
            np.testing.assert_allclose(got, value, rtol=1e-12, err_msg=key)
        tau_syn = np.array([list(t) for t in nn.neurons.get("tau_syn")])[rows]
        np.testing.assert_allclose(tau_syn, np.tile([8.0, 4.0, 10.0], (tau_syn.shape[0], 1)),
                                   rtol=1e-12)


def test_run_nest_rates_are_spike_counts_over_the_window():
    # a short run (0.3 s, 0.1 s burn-in): each neuron's rate is its number of spikes in
    # (0.1, 0.3] divided by 0.2 s, counted here from the returned spike record
    net = sample_network(NetworkParams.preset("brunel_lif", N=200), seed=0)
    res = run_nest(net, T=0.3, burn_in=0.1, seed=1)
    win = res.spike_times > 0.1 + 1e-9
    assert win.sum() > 50                      # the network is active
    counts = np.bincount(res.spike_ids[win], minlength=200)
    np.testing.assert_allclose(res.rate, counts / 0.2, rtol=1e-12)
    assert res.duration == pytest.approx(0.2, rel=1e-12)


def test_initial_potentials_match_simulate():
    net = _case_b(N=200, seed=2)
    nn = to_nest(net, seed=11)
    res = simulate(net, T=0.001, seed=11, burn_in=0.0, record=np.arange(net.N),
                   backend="numpy")
    assert np.array_equal(nn.V0, res.trace_V[:, 0])
    assert nn.seed == res.seed == 11 and nn.seed_rule == res.seed_rule == SEED_RULE
    assert np.allclose(np.asarray(nn.neurons.get("V_m"), float), nn.V0)


# ----------------------------------------------------------------------------- slow
@pytest.mark.slow
def test_rates_agree_with_simulate_on_the_same_graph():
    net = _case_b()
    nn = to_nest(net, seed=3)
    c = nn.connections()
    tgt = np.repeat(np.arange(net.N), np.diff(net.post_indptr))
    # exact: the same synapses, so the same in-degrees from E, I and X
    assert c["source"].size == net.n_synapses
    assert np.array_equal(c["source"], net.post_indices) and np.array_equal(c["target"], tgt)
    k_in = np.stack([np.bincount(c["target"][net.population[c["source"]] == b],
                                 minlength=net.N) for b in (0, 1)], axis=1)
    assert np.array_equal(k_in, net.k_in[:, :2])
    assert np.array_equal(nn.k_X(), net.k_X)

    res_nest = run_nest(net, T=T, seed=3, burn_in=BURN_IN)
    res_ours = simulate(net, T=T, seed=3, burn_in=BURN_IN)
    ks = stats.ks_2samp(res_nest.rate, res_ours.rate)
    rows = bin_table(np.asarray(net.label, float), net.population, res_nest.rate,
                     res_ours.rate)
    print(f"\nNEST {res_nest.nest_version} {res_nest.models[0]}: build "
          f"{res_nest.build_time:.1f} s, simulate {res_nest.wall_time:.1f} s")
    print(f"population rates E, I: NEST {res_nest.population_rate.round(3)}, ours "
          f"{res_ours.population_rate.round(3)} Hz")
    print(f"two-sample KS on per-neuron rates: D = {ks.statistic:.4f}, p = {ks.pvalue:.3f}")
    print(_format(rows))
    # p > 0.01: the two rate distributions are indistinguishable at the 1 % level (the
    # samples share the graph, which makes the test conservative, never anti-conservative)
    assert ks.pvalue > 0.01
    # 3 SE: the bin-mean SEs of both runs (neuron-to-neuron spread within a bin)
    assert all(abs(r["z"]) < 3.0 for r in rows), _format(rows)
    # the population rates themselves: within 5 % (Euler vs exact integration, O(dt/tau))
    assert np.allclose(res_nest.population_rate, res_ours.population_rate, rtol=0.05)

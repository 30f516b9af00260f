"""Cross-check with Brian2: the same graph and equations built by ``validation.to_brian2``.

Brian2 2.9 needs numpy < 2.4, so these tests run in their own virtual environment (``.ci/run``
creates it and sets ``HETBALANCE_REQUIRE_BRIAN2=1``, which turns a missing Brian2 into a
failure); elsewhere they skip. Three levels, as for NEST (tests/test_nest.py):

- exact: the synapses, weights, external in-degrees and neuron constants read back from the
  Brian2 objects equal ours;
- exact: without Poisson input (``r_X = 0``, a constant drive) the dynamics are
  deterministic and Brian2 gives the very same spikes (neuron and step) as
  ``validation.simulate``, for LIF, EIF and delta synapses: same equations, same Euler
  step, same order of update, threshold, kicks and reset, same refractory steps;
- statistical (slow): a 2,000-neuron Case B network with Poisson input, population and
  per-bin rates within 3 SE (Brian2's Poisson draws are another realisation).
"""

import os

import numpy as np
import pytest

from graphs import sample_network
from meanfield import DegreeModel, NetworkParams
from meanfield.seeding import SEED_RULE
from validation import simulate
from _crosscheck import bin_table, format_bins  # tests/_crosscheck.py

if os.environ.get("HETBALANCE_REQUIRE_BRIAN2"):
    import brian2  # noqa: F401  (a failure here, not a skip: CI's Brian2 environment)
    HAVE_BRIAN2 = True
else:
    try:
        import brian2  # noqa: F401
        HAVE_BRIAN2 = True
    except ImportError:
        HAVE_BRIAN2 = False
needs_brian2 = pytest.mark.skipif(not HAVE_BRIAN2, reason="Brian2 is not installed (extra brian2)")

# Brian2 2.9's equation parser calls pyparsing names that pyparsing 3.3 deprecates
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

N = 2000
T = 3.0          # s; Brian2's numpy target needs about 5 s of wall time per biological second here
BURN_IN = 0.5    # s


def _case_b(N=N, seed=1, preset="brunel_lif"):
    # brunel_lif: LIF, tau_E = 8, tau_I = 4, tau_X = 10 ms; Case B: recurrent in-degree
    # factor gamma (CV 0.2); the external in-degrees k_X differ between neurons (counts)
    return sample_network(NetworkParams.preset(preset, N=N),
                          DegreeModel.recurrent_indegree("gamma", 0.2), seed=seed)


def test_missing_brian2_names_the_extra(monkeypatch):
    import sys

    from validation import to_brian2
    monkeypatch.setitem(sys.modules, "brian2", None)
    net = _case_b(N=100)
    with pytest.raises(ImportError, match=r"pip install 'hetbalance\[brian2\]'"):
        to_brian2(net, seed=0)


@needs_brian2
def test_synapses_weights_and_constants_read_back_exactly():
    import brian2 as b2

    from validation import to_brian2
    net = _case_b()
    p = net.params
    bn = to_brian2(net, seed=3)
    c = bn.connections()
    tgt = np.repeat(np.arange(net.N), np.diff(net.post_indptr))
    assert c["source"].size == net.n_synapses > 300_000
    assert np.array_equal(c["source"], net.post_indices)
    assert np.array_equal(c["target"], tgt)
    k_in = np.stack([np.bincount(c["target"][net.population[c["source"]] == b], minlength=net.N)
                     for b in (0, 1)], axis=1)
    assert np.array_equal(k_in, net.k_in[:, :2])
    # weights: the kick J_ab / tau_b (mV/s) of every synapse; rtol: mV <-> volt rounding
    pop_t, pop_s = net.population[tgt], net.population[c["source"]]
    expected = p.J[pop_t, pop_s] / p.tau_syn[pop_s]
    np.testing.assert_allclose(c["weight"], expected, rtol=1e-12)
    # external: Poisson(k_X r_X dt) events a step, each a kick J_aX / tau_X
    lam = np.asarray(bn.neurons.lam_X[:])
    np.testing.assert_allclose(lam, net.k_X * p.r_X * 1e-4, rtol=1e-12)
    assert np.array_equal(bn.k_X, net.k_X) and np.unique(net.k_X).size > 5
    w_X = np.asarray(bn.neurons.w_X[:] / (b2.mV / b2.second))
    np.testing.assert_allclose(w_X, p.J[net.population, 2] / p.tau_X, rtol=1e-12)
    # neuron constants, per population, in Brian2's units
    for a, nrn in enumerate(p.neurons):
        rows = net.population == a
        for name, value, unit in (("tau_m", nrn.tau_m, b2.second), ("E_L", nrn.E_L, b2.mV),
                                  ("V_spike", nrn.V_spike, b2.mV), ("V_reset", nrn.V_reset, b2.mV)):
            got = np.asarray(getattr(bn.neurons, name)[:] / unit)[rows]
            np.testing.assert_allclose(got, value, rtol=1e-12, err_msg=name)
        R = int(np.ceil(nrn.tau_ref / 1e-4 - 1e-9))
        got = np.asarray(bn.neurons.t_refractory[:] / b2.second)[rows]
        np.testing.assert_allclose(got, (R + 1) * 1e-4, rtol=1e-12)
    # the same initial potentials as simulate with the same seed
    res = simulate(net, T=1e-4, seed=3, burn_in=0.0, record=np.arange(net.N), backend="numpy")
    assert np.array_equal(bn.V0, res.trace_V[:, 0])
    assert bn.seed == res.seed == 3 and bn.seed_rule == res.seed_rule == SEED_RULE
    np.testing.assert_allclose(np.asarray(bn.neurons.v[:] / b2.mV), bn.V0, rtol=1e-12)


@needs_brian2
@pytest.mark.parametrize("preset, drive, replace", [
    ("brunel_lif", 25.0, {}),                                  # LIF, three tau_b
    ("akil2021", 22.0, {}),                                    # EIF: exponential, cut, floor
    ("brunel_lif", 25.0, {"tau_E": 0.0, "tau_I": 0.0, "tau_X": 0.0}),   # delta synapses
])
def test_same_spikes_as_simulate_without_noise(preset, drive, replace):
    # r_X = 0 and a constant suprathreshold drive: no randomness after the initial
    # potentials (the same for one seed), so both simulators must give the same spikes.
    # Exact equality: the same operations in the same order per step; only the rounding
    # of float expressions differs (Brian2 orders them its own way), far below the
    # distance of any V from threshold over these 3,000 steps.
    from validation import run_brian2
    net = _case_b(N=200, seed=2, preset=preset)
    p = net.params.replace(r_X=0.0, **replace)
    rb = run_brian2(net, p, T=0.3, seed=4, burn_in=0.0, drive=drive)
    ro = simulate(net, p, T=0.3, seed=4, burn_in=0.0, drive=drive, backend="numpy")
    print(f"\n{preset} {replace or ''}: {ro.spike_ids.size} spikes ours, {rb.spike_ids.size} Brian2")
    assert ro.spike_ids.size > 300
    assert np.array_equal(rb.spike_ids, ro.spike_ids)
    assert np.array_equal(np.rint(rb.spike_times / 1e-4), np.rint(ro.spike_times / 1e-4))
    np.testing.assert_array_equal(rb.rate, ro.rate)


@needs_brian2
def test_global_numpy_random_state_is_left_alone():
    from validation import run_brian2
    net = _case_b(N=100, seed=5)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    run_brian2(net, T=0.01, seed=1, burn_in=0.0)
    assert np.array_equal(np.random.get_state()[1], before)


@needs_brian2
@pytest.mark.slow
def test_rates_agree_with_simulate_on_the_same_graph():
    from validation import run_brian2
    net = _case_b()
    rb = run_brian2(net, T=T, seed=3, burn_in=BURN_IN)
    ro = simulate(net, T=T, seed=3, burn_in=BURN_IN)
    rows = bin_table(np.asarray(net.label, float), net.population, rb.rate, ro.rate)
    print(f"\nBrian2 {rb.brian2_version} ({rb.codegen}): build {rb.build_time:.1f} s, "
          f"simulate {rb.wall_time:.1f} s; ours {ro.wall_time:.1f} s ({ro.backend})")
    for a, name in enumerate("EI"):
        m = net.population == a
        se = np.hypot(rb.rate[m].std(ddof=1), ro.rate[m].std(ddof=1)) / np.sqrt(m.sum())
        z = (rb.population_rate[a] - ro.population_rate[a]) / se
        d = rb.rate[m] - ro.rate[m]
        z_paired = d.mean() / (d.std(ddof=1) / np.sqrt(m.sum()))
        print(f"population {name}: Brian2 {rb.population_rate[a]:.3f} Hz, ours "
              f"{ro.population_rate[a]:.3f} Hz, SE {se:.3f} Hz, z = {z:+.2f}; paired (per-neuron "
              f"differences) SE {d.std(ddof=1) / np.sqrt(m.sum()):.3f} Hz, z = {z_paired:+.2f}")
        # 3 SE: the SE of each population mean from the neuron-to-neuron spread of each run
        # (as the NEST check; conservative, since both runs share the graph) ...
        assert abs(z) < 3.0
        # ... and the sharper paired one: the SE of the mean of the per-neuron differences
        # (the graph's quenched heterogeneity cancels; the runs' noises are independent)
        assert abs(z_paired) < 3.0
    print(format_bins(rows, names=("Brian2", "ours")))
    # 3 SE per label bin (200 E, 80 I neurons a bin), as the NEST cross-check
    assert all(abs(r["z"]) < 3.0 for r in rows), format_bins(rows, names=("Brian2", "ours"))

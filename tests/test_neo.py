"""SimulationResult.to_neo(): Elephant's statistics on the Neo segment equal ours to 1e-12.

Elephant is an independent implementation: ``mean_firing_rate`` counts the spikes of a
train over its ``t_stop - t_start``, ``cv(isi(train))`` is scipy's ``variation`` (the
population standard deviation over the mean, ddof = 0), the same estimator as
``validation.result.isi_cv``. Both work in float64 on the same spike times, so they agree
to rounding (1e-12 relative).
"""

import numpy as np
import pytest

neo = pytest.importorskip("neo")
pq = pytest.importorskip("quantities")
elephant_statistics = pytest.importorskip("elephant.statistics")

from graphs import sample_network  # noqa: E402
from meanfield import DegreeModel, NetworkParams  # noqa: E402
from validation import simulate  # noqa: E402

# Elephant 1.2 passes copy=False to quantities 0.16, which deprecates it (no effect)
pytestmark = pytest.mark.filterwarnings("ignore:The 'copy' argument in Quantity:DeprecationWarning")


@pytest.fixture(scope="module")
def run():
    p = NetworkParams.preset("akil2021_lif")
    net = sample_network(p, N=1000, model=DegreeModel.recurrent_indegree("gamma", 0.2), seed=4)
    sim = simulate(net, T=1.2, burn_in=0.2, seed=5, backend="numpy")
    return net, sim


def test_segment_structure_units_and_annotations(run):
    net, sim = run
    seg = sim.to_neo(net)
    assert isinstance(seg, neo.Segment) and len(seg.spiketrains) == net.N
    n_in_window = 0
    for j in (0, 1, 799, 800, 999):
        st = seg.spiketrains[j]
        assert isinstance(st, neo.SpikeTrain)
        assert st.units == pq.s
        assert float(st.t_start.rescale(pq.s)) == sim.t_start
        assert float(st.t_stop.rescale(pq.s)) == sim.t_stop
        a = st.annotations
        assert a["neuron"] == j and a["population"] == ("E" if j < 800 else "I")
        assert a["label"] == float(net.label[j])
        assert (a["k_in_E"], a["k_in_I"], a["k_in_X"]) == tuple(int(x) for x in net.k_in[j])
    for j, st in enumerate(seg.spiketrains):
        mine = np.sort(sim.spike_times[(sim.spike_ids == j) & (sim.spike_times > sim.t_start + 1e-12)])
        np.testing.assert_array_equal(st.magnitude, mine)
        n_in_window += st.size
    assert n_in_window == int(round(sim.rate.sum() * sim.duration))
    # without the network: population only; a window of one's own
    seg2 = sim.to_neo(t_start=0.5, t_stop=1.0)
    assert "label" not in seg2.spiketrains[0].annotations
    assert all(float(st.t_start) == 0.5 and float(st.t_stop) == 1.0 for st in seg2.spiketrains)
    with pytest.raises(ValueError, match="window"):
        sim.to_neo(t_start=0.5, t_stop=5.0)


def test_elephant_rates_and_cv_equal_ours(run):
    net, sim = run
    seg = sim.to_neo(net)
    rate_el = np.array([float(elephant_statistics.mean_firing_rate(st).rescale(pq.Hz))
                        for st in seg.spiketrains])
    np.testing.assert_allclose(rate_el, sim.rate, rtol=1e-12, atol=0)
    cv_el = np.full(sim.N, np.nan)
    for j, st in enumerate(seg.spiketrains):
        if st.size >= 3:
            cv_el[j] = elephant_statistics.cv(elephant_statistics.isi(st))
    defined = np.isfinite(sim.cv)
    np.testing.assert_array_equal(defined, np.isfinite(cv_el))
    assert defined.sum() > 200       # enough neurons with 3+ spikes for the check to mean something
    np.testing.assert_allclose(cv_el[defined], sim.cv[defined], rtol=1e-12, atol=0)
    # a sub-window: Elephant on to_neo(t0, t1) equals rates(t0, t1) and isi_cv(t0, t1)
    seg2 = sim.to_neo(t_start=0.4, t_stop=0.9)
    r2 = np.array([float(elephant_statistics.mean_firing_rate(st)) for st in seg2.spiketrains])
    np.testing.assert_allclose(r2, sim.rates(0.4, 0.9), rtol=1e-12, atol=0)
    cv2 = sim.isi_cv(0.4, 0.9)
    ok = np.isfinite(cv2)
    cv2_el = np.array([elephant_statistics.cv(elephant_statistics.isi(seg2.spiketrains[j]))
                       for j in np.flatnonzero(ok)])
    np.testing.assert_allclose(cv2_el, cv2[ok], rtol=1e-12, atol=0)
    print(f"\nElephant vs hetbalance, N = {sim.N}: max |rate diff| "
          f"{np.max(np.abs(rate_el - sim.rate)):.2e} Hz over {sim.N} neurons; max rel CV diff "
          f"{np.max(np.abs(cv_el[defined] / sim.cv[defined] - 1)):.2e} over {defined.sum()} neurons")


def test_missing_neo_names_the_extra(run, monkeypatch):
    import sys
    _, sim = run
    monkeypatch.setitem(sys.modules, "neo", None)
    with pytest.raises(ImportError, match=r"pip install 'hetbalance\[neo\]'"):
        sim.to_neo()

"""Spike records as Neo objects, so that Elephant's statistics run on them unchanged.

``to_neo(sim, network)`` turns the flat spike record of a ``SimulationResult`` into a
``neo.Segment`` with one ``neo.SpikeTrain`` per neuron (times in s, ``t_start``/``t_stop``
the measurement window) annotated with the neuron's index, population and, given the
network, its degree label and realised in-degrees. Neo (with quantities) is the optional
extra ``neo`` (``pip install 'hetbalance[neo]'``, which also brings Elephant).
"""

from __future__ import annotations

import numpy as np

from meanfield.params import POPULATIONS, SOURCES

__all__ = ["to_neo"]

_EXTRA_MESSAGE = ("SimulationResult.to_neo needs neo and quantities, an optional extra of "
                  "hetbalance: pip install 'hetbalance[neo]'")


def _require_neo():
    try:
        import neo
        import quantities as pq
    except ImportError as exc:
        raise ImportError(_EXTRA_MESSAGE) from exc
    return neo, pq


def to_neo(sim, network=None, *, t_start=None, t_stop=None):
    r"""Return the spikes of a simulation as a ``neo.Segment`` of ``neo.SpikeTrain`` objects.

    Parameters
    ----------
    sim : SimulationResult or NestResult
        A flat spike record (``spike_ids``, ``spike_times``, ``population``, ``dt``,
        ``t_start``, ``t_stop``).
    network : graphs.Network, optional
        The simulated network: adds each neuron's ``label`` and realised in-degrees
        ``k_in_E``, ``k_in_I``, ``k_in_X`` to its annotations.
    t_start, t_stop : float, optional
        Window ``(t_start, t_stop]`` in s (default: the measurement window); spikes outside
        it are left out, and every train has these ``t_start`` and ``t_stop``.

    Returns
    -------
    neo.Segment
        ``segment.spiketrains[j]`` is neuron j (all N, in order, empty trains included):
        times in s (``quantities.s``, float64, sorted), ``sampling_rate`` 1/dt, and the
        annotations ``neuron`` (int), ``population`` ("E" or "I") and, with ``network``,
        ``label`` (float, or list of floats for vector labels) and ``k_in_E``, ``k_in_I``,
        ``k_in_X`` (int). The segment is annotated with ``N``, ``dt`` (s) and ``simulator``
        ("hetbalance").

    Notes
    -----
    The window rule is the one of ``SimulationResult.rates`` (decided on the step grid), so
    ``elephant.statistics.mean_firing_rate(train)`` is ``sim.rates(t_start, t_stop)[j]``
    and ``elephant.statistics.cv(elephant.statistics.isi(train))`` (population standard
    deviation, ``ddof=0``) is ``sim.isi_cv(t_start, t_stop)[j]`` wherever the latter is
    defined (3 or more spikes). O(S log S + N) for S spikes.

    Examples
    --------
    >>> from meanfield import NetworkParams
    >>> from graphs import sample_network
    >>> from validation import simulate
    >>> net = sample_network(NetworkParams.preset("akil2021"), N=100, seed=0)
    >>> seg = simulate(net, T=0.2, seed=1).to_neo(net)      # doctest: +SKIP
    >>> seg.spiketrains[0].annotations["population"]        # doctest: +SKIP
    'E'
    """
    neo, pq = _require_neo()
    t0, t1 = sim._window(t_start, t_stop)
    N = sim.N
    if network is not None and network.N != N:
        raise ValueError(f"network has {network.N} neurons but the spike record has {N}")
    dt = float(sim.dt)
    k = np.rint(np.asarray(sim.spike_times) / dt)
    keep = (k > round(t0 / dt)) & (k <= round(t1 / dt))
    ids = np.asarray(sim.spike_ids)[keep].astype(np.int64)
    times = np.asarray(sim.spike_times, dtype=float)[keep]
    order = np.lexsort((times, ids))
    ids, times = ids[order], times[order]
    bounds = np.searchsorted(ids, np.arange(N + 1))
    population = np.asarray(sim.population)
    if network is not None:
        label = np.asarray(network.label, dtype=float)
        k_in = np.asarray(network.k_in)
    seg = neo.Segment(name="hetbalance simulation", N=int(N), dt=dt, simulator="hetbalance")
    rate = (1.0 / dt) * pq.Hz
    for j in range(N):
        ann = {"neuron": j, "population": POPULATIONS[int(population[j])]}
        if network is not None:
            ann["label"] = float(label[j]) if label.ndim == 1 else [float(x) for x in label[j]]
            for b, src in enumerate(SOURCES):
                ann[f"k_in_{src}"] = int(k_in[j, b])
        train = neo.SpikeTrain(times[bounds[j]:bounds[j + 1]], units=pq.s, t_start=t0 * pq.s,
                               t_stop=t1 * pq.s, sampling_rate=rate, name=f"neuron {j}",
                               copy=None, **ann)
        seg.spiketrains.append(train)
    return seg

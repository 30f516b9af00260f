r"""Export a realised network to Brian2 and run it there: the same graph, the same equations.

One job: ``to_brian2(network, params)`` builds in Brian2 the network that
``validation.simulate`` integrates: the same neurons (LIF or EIF, per-population constants),
the very same synapses with the same weights, one exponentially decaying current per
source (E, I, X), the same forward-Euler step ``dt``, the same refractory clamp, reset and
EIF spike cut and floor, and independent Poisson external input of the same rate per
neuron. ``run_brian2(network, params, T)`` simulates it and returns the spikes in the form
of ``SimulationResult`` (``rate``, ``cv``, the window rule), so the two compare neuron by
neuron.

Brian2 is an optional dependency (``pip install 'hetbalance[brian2]'``; tested with Brian2
2.9.0). Brian2 2.9 needs numpy < 2.4, so it lives in its own virtual environment (see
docs/users.md and ``.ci/run``). It is imported inside the functions, so importing
``validation`` never needs it.

Model mapping (Brian2 carries units; ours: s, mV, Hz)
-----------------------------------------------------
- Membrane, :math:`\tau_m\dot V = -(V-E_L) + \psi(V) + \tau_m \sum_b I_b + \mathrm{drive}`:
  ``dv/dt = (E_L + drive - v + psi)/tau_m + I_E + I_I + I_X : volt (unless refractory)``.
- EIF term :math:`\psi = \Delta_T e^{\min(x, x_{max})}`, :math:`x = (V - V_T)/\Delta_T`
  (0 for the LIF): ``psi = is_eif*Delta_T*exp(clip((v - V_T)/Delta_T, -inf, x_max))``.
- Synaptic currents, :math:`\dot I_b = -I_b/\tau_b` plus a kick :math:`J_{ab}/\tau_b` per
  spike: ``dI_b/dt = -I_b/tau_b`` and ``on_pre="I_b_post += w"``, ``w`` = J_ab/tau_b
  (volt/second) per synapse. Delta synapse (:math:`\tau_b = 0`): ``I_b`` is set to 0
  after each update and the kick is J/dt.
- Threshold and reset: ``threshold="v >= V_spike"``, ``reset="v = V_reset"``
  (``theta``/``V_r`` of a LIF, ``V_th``/``V_re`` of an EIF).
- Refractory clamp of ``ceil(tau_ref/dt)`` steps: ``refractory = (ceil(tau_ref/dt) + 1) dt``
  (see the Notes of ``to_brian2``).
- EIF floor :math:`V \ge V_{lb}`: ``v = clip(v, V_lb, inf*volt)`` after each update.
- External input, :math:`K_{jX}` Poisson trains at :math:`r_X`: ``I_X += w_X *
  poisson(k_X * r_X * dt)`` every step (``run_regularly`` in the synapses slot).
- Forward Euler with step ``dt``: ``method="euler"``, ``defaultclock.dt = dt``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from graphs.network import Network
from meanfield.params import EIF, NetworkParams, SOURCES
from meanfield.seeding import SEED_RULE

from .result import SpikeRecord, isi_cv, spike_counts
from .simulator import _check_match, _per_neuron, check_settings, _initial_state

__all__ = ["to_brian2", "run_brian2", "Brian2Network", "Brian2Result", "CODEGEN_TARGETS"]

CODEGEN_TARGETS = ("numpy", "cython")
"""Accepted values of ``to_brian2(codegen=...)``: Brian2's runtime code generation targets
(``"numpy"`` needs no compiler; ``"cython"`` compiles once and is faster for long runs)."""

_EXP_CLIP = 700.0          # as validation.simulator: e^700 ~ 1e304 stays finite


def _import_brian2():
    """Import Brian2 lazily; a clear ImportError when it is not installed."""
    try:
        import brian2  # noqa: PLC0415  (optional dependency, imported on use)
    except ImportError as exc:
        raise ImportError(
            "validation.to_brian2 / run_brian2 need Brian2, which could not be imported "
            f"({exc}). Install it with: pip install 'hetbalance[brian2]' (Brian2 2.9 needs "
            "numpy < 2.4: use its own virtual environment, see docs/users.md)") from exc
    return brian2


def _refractory_steps(tau_ref: float, dt: float) -> int:
    """Return the steps V is clamped after a spike in ``validation.simulate``: ceil(tau_ref/dt)."""
    return math.ceil(tau_ref / dt - 1e-9) if tau_ref > 0 else 0


@dataclass(frozen=True, repr=False, eq=False)
class Brian2Network:
    r"""What ``to_brian2`` built (frozen): the Brian2 objects and how they map to ours.

    Attributes
    ----------
    neurons : brian2.NeuronGroup
        All N recurrent neurons in our order (index i of ours is index i in Brian2).
    synapses : dict
        ``{"E": Synapses, "I": Synapses}``: the recurrent synapses from the E and from the I
        neurons (source and target both ``neurons``), per-synapse weight ``w`` (volt/second).
    spike_monitor : brian2.SpikeMonitor
        Records every spike of ``neurons`` from t = 0.
    network : brian2.Network
        The objects above plus the external-input operation; ``network.run(T * second)``.
    weights : ndarray, shape (2, 3)
        The kick onto E / I (rows) from E, I, X (columns), mV/s: :math:`J_{ab}/\tau_b`
        (:math:`J_{ab}/dt` for a delta synapse).
    refractory_steps : ndarray of int64, shape (2,)
        Steps V is clamped after a spike, per population (``ceil(tau_ref/dt)``, as ours).
    params : NetworkParams
        The parameters built.
    dt : float
        Time step, s.
    codegen : str
        Brian2 code generation target.
    seed : int, dict or None
        The seed, recorded as by ``simulate``.
    brian2_seed : int
        The seed given to ``brian2.seed``, drawn from the "noise.external_input" stream.
    seed_rule : str
        ``meanfield.seeding.SEED_RULE``.
    V0 : ndarray, shape (N,)
        Initial membrane potentials, mV (those of ``simulate`` with the same seed).
    population : ndarray of int8, shape (N,)
        0 for E, 1 for I.
    k_X : ndarray of int64, shape (N,)
        External in-degrees given to Brian2.
    build_time : float
        Wall-clock seconds spent building.
    brian2_version : str
        ``brian2.__version__``.
    """

    neurons: object
    synapses: dict
    spike_monitor: object
    network: object
    weights: np.ndarray
    refractory_steps: np.ndarray
    params: NetworkParams
    dt: float
    codegen: str
    seed: object
    brian2_seed: int
    seed_rule: str
    V0: np.ndarray
    population: np.ndarray
    k_X: np.ndarray
    build_time: float
    brian2_version: str

    @property
    def N(self) -> int:
        """Number of recurrent neurons."""
        return int(self.population.shape[0])

    def connections(self) -> dict:
        """Read the recurrent synapses back from Brian2, in our post-major order.

        Returns
        -------
        dict
            ``source``, ``target`` (int64, our indices) and ``weight`` (mV/s, the kick
            ``J_ab / tau_b``) of every synapse, sorted by target then source: for a network
            built from ``network``, ``source`` equals ``network.post_indices`` and
            ``target`` the row of each entry.
        """
        import brian2 as b2
        src, tgt, w = [], [], []
        for S in self.synapses.values():
            src.append(np.asarray(S.i[:], np.int64))
            tgt.append(np.asarray(S.j[:], np.int64))
            w.append(np.asarray(S.w[:] / (b2.mV / b2.second), float))
        src, tgt, w = (np.concatenate(x) for x in (src, tgt, w))
        order = np.lexsort((src, tgt))
        return {"source": src[order], "target": tgt[order], "weight": w[order]}

    def __repr__(self) -> str:
        n_syn = sum(len(S) for S in self.synapses.values())
        return (f"Brian2Network(N={self.N}, synapses={n_syn}, dt={self.dt:g}, "
                f"codegen={self.codegen!r}, brian2 {self.brian2_version})")


def to_brian2(network: Network, params: NetworkParams | None = None, *, dt: float = 1e-4,
              seed=None, V0=None, drive=0.0, codegen: str = "numpy") -> Brian2Network:
    r"""Build ``network`` in Brian2: the same neurons, synapses, weights, equations and time step.

    Parameters
    ----------
    network : graphs.Network
        The realised network (recurrent synapses and external in-degrees ``k_X``).
    params : NetworkParams, optional
        Weights, time constants, neurons and r_X; default ``network.params``. Must equal
        ``network.params`` in the structural fields (N, q_*, p_*), else ``ValueError``.
    dt : float, optional
        Euler time step, s (default 1e-4), with ``simulate``'s rules (``dt <= tau_b/5``,
        ``dt <= tau_m/5``, ``dt <= tau_ref``).
    seed : int >= 0, numpy.random.SeedSequence, numpy.random.Generator or None
        Keyword-only. The stream ``"noise"`` of ``meanfield.seeding``, as in ``simulate``:
        the initial potentials are the values ``simulate`` starts from with the same int or
        SeedSequence seed; ``brian2.seed`` gets an integer drawn from the external-input
        sub-stream (Brian2's Poisson draws are another realisation than ours).
    V0 : float or array_like (N,), optional
        Initial membrane potentials, mV. Default: uniform in ``[V_r, theta)`` (LIF) or
        ``[V_re, V_T)`` (EIF), as in ``simulate``.
    drive : float or array_like (N,), optional
        Constant extra input, mV, as in ``simulate``.
    codegen : {"numpy", "cython"}
        Brian2's runtime code generation target (``CODEGEN_TARGETS``).

    Returns
    -------
    Brian2Network
        The Brian2 objects (``neurons``, ``synapses``, ``spike_monitor``, ``network``), the
        weights, the seeds and ``connections()`` to read the synapses back.

    Raises
    ------
    ImportError
        Brian2 is not installed.
    ValueError, TypeError
        Invalid arguments, or ``params`` that do not match ``network``.

    Notes
    -----
    The Brian2 model is ours term by term (table in the module docstring); Brian2's
    ``euler`` state updater computes every derivative from the state at the start of the
    step, as our step (1)-(2) does, and Brian2's schedule (state update, threshold,
    synaptic effects, reset) applies the kicks of a step's spikes and external events
    after the update, as our steps (3)-(4). A delta synapse (:math:`\tau_b = 0`) adds
    :math:`J/dt` to a current that is zeroed after each update, so V moves by J one step
    after the spike, as ours.

    Timing conventions: Brian2 stamps a spike with the start of its step and counts the
    refractory period from there (``timestep(t - lastspike) >= timestep(refractory)``);
    ours stamps the end of the step and clamps V for ``ceil(tau_ref/dt)`` steps after it.
    ``refractory = (ceil(tau_ref/dt) + 1) dt`` therefore clamps exactly the same steps, and
    ``run_brian2`` adds dt to Brian2's spike times. With no Poisson input (``r_X = 0``)
    the two simulators produce the same spikes (``tests/test_brian2.py``, up to the
    rounding of the float operations, which Brian2 orders differently).

    External input: neuron j receives Poisson(:math:`k_{X,j} r_X dt`) events per step,
    each adding :math:`J_{aX}/\tau_X` to :math:`I_X`: the superposition of its
    :math:`k_{X,j}` independent Poisson trains, as ours (Brian2's ``poisson`` function).

    Brian2's numpy target draws from numpy's global random state; ``run_brian2`` saves
    and restores it, so the caller's global state is left as it was.

    Examples
    --------
    >>> from meanfield import NetworkParams
    >>> from graphs import sample_network
    >>> net = sample_network(NetworkParams.preset("brunel_lif", N=200), seed=0)
    >>> bn = to_brian2(net, seed=1)                         # doctest: +SKIP
    >>> bool((bn.connections()["source"] == net.post_indices).all())   # doctest: +SKIP
    True
    """
    t_build = time.perf_counter()
    params = _check_match(network, params)
    dt = check_settings(params, T=dt, dt=dt, burn_in=0.0)["dt"]
    if codegen not in CODEGEN_TARGETS:
        raise ValueError(f"codegen = {codegen!r} is not allowed; allowed: {CODEGEN_TARGETS}")
    N, N_E = params.N, params.N_E
    pop = np.asarray(network.population, dtype=np.int8)
    drive = _per_neuron("drive", drive, N)
    k_X = np.asarray(network.k_X, dtype=np.int64)

    V0, g_ext, seed_rec = _initial_state(params, pop, V0, seed)
    brian2_seed = int(g_ext.integers(1, 2**31 - 1))

    b2 = _import_brian2()
    mV, second = b2.mV, b2.second
    b2.prefs.codegen.target = codegen
    b2.start_scope()
    b2.defaultclock.dt = dt * second

    tau = np.asarray(params.tau_syn, dtype=float)            # (3,) s, E I X
    J = np.asarray(params.J, dtype=float)                   # (2, 3) mV
    kick = J / np.where(tau > 0, tau, dt)[None, :]            # mV/s per event
    R = np.array([_refractory_steps(nrn.tau_ref, dt) for nrn in params.neurons], np.int64)

    currents = []
    for b, src in enumerate(SOURCES):
        if tau[b] > 0:
            currents.append(f"dI_{src}/dt = -I_{src} / tau_{src} : volt/second")
        else:
            currents.append(f"I_{src} : volt/second")
    eqs = "\n".join([
        "dv/dt = (E_L + drive - v + psi) / tau_m + I_E + I_I + I_X : volt (unless refractory)",
        "psi = is_eif * Delta_T * exp(clip((v - V_T) / Delta_T, -inf, x_max)) : volt",
        *currents,
        "tau_m : second (constant)", "E_L : volt (constant)", "drive : volt (constant)",
        "V_spike : volt (constant)", "V_reset : volt (constant)", "V_lb : volt (constant)",
        "V_T : volt (constant)", "Delta_T : volt (constant)", "x_max : 1 (constant)",
        "is_eif : 1 (constant)", "t_refractory : second (constant)",
        "w_X : volt/second (constant)", "lam_X : 1 (constant)",
    ])
    namespace = {f"tau_{s}": float(tau[b]) * second for b, s in enumerate(SOURCES) if tau[b] > 0}
    G = b2.NeuronGroup(N, eqs, threshold="v >= V_spike", reset="v = V_reset",
                       refractory="t_refractory", method="euler", namespace=namespace,
                       name="hetbalance_neurons")
    per_pop = {name: np.zeros(2) for name in ("tau_m", "E_L", "V_spike", "V_reset", "V_lb", "V_T",
                                               "Delta_T", "x_max", "is_eif")}
    for a, nrn in enumerate(params.neurons):
        per_pop["tau_m"][a] = nrn.tau_m
        per_pop["E_L"][a] = nrn.E_L
        per_pop["V_spike"][a] = nrn.V_spike
        per_pop["V_reset"][a] = nrn.V_reset
        if isinstance(nrn, EIF):
            per_pop["V_lb"][a] = nrn.V_lb
            per_pop["V_T"][a] = nrn.V_T
            per_pop["Delta_T"][a] = nrn.Delta_T
            per_pop["x_max"][a] = min((nrn.V_th - nrn.V_T) / nrn.Delta_T, _EXP_CLIP)
            per_pop["is_eif"][a] = 1.0
        else:                          # psi = 0: a harmless finite exponent
            per_pop["V_lb"][a] = -1e6
            per_pop["V_T"][a] = 0.0
            per_pop["Delta_T"][a] = 1.0
            per_pop["x_max"][a] = 0.0
    G.tau_m = per_pop["tau_m"][pop] * second
    for name in ("E_L", "V_spike", "V_reset", "V_lb", "V_T", "Delta_T"):
        setattr(G, name, per_pop[name][pop] * mV)
    G.x_max = per_pop["x_max"][pop]
    G.is_eif = per_pop["is_eif"][pop]
    G.drive = drive * mV
    G.t_refractory = np.where(R[pop] > 0, (R[pop] + 1) * dt, 0.0) * second
    G.v = V0 * mV
    G.w_X = kick[pop, 2] * (mV / second)
    G.lam_X = k_X * (params.r_X * dt)
    objects = [G]
    if any(isinstance(nrn, EIF) for nrn in params.neurons):
        objects.append(G.run_regularly("v = clip(v, V_lb, inf * volt)", when="after_groups",
                                       name="hetbalance_floor"))
    for b, src in enumerate(SOURCES):
        if tau[b] == 0:                 # delta synapse: the kick acts for one step only
            objects.append(G.run_regularly(f"I_{src} = 0 * volt / second", when="after_groups",
                                           order=1, name=f"hetbalance_delta_{src}"))
    if params.r_X > 0 and np.any(k_X > 0):
        objects.append(G.run_regularly("I_X += w_X * poisson(lam_X)", when="synapses",
                                       name="hetbalance_external"))

    synapses = {}
    tgt = np.repeat(np.arange(N, dtype=np.int64), np.diff(network.post_indptr))
    src_all = np.asarray(network.post_indices, dtype=np.int64)
    for b, name in enumerate(SOURCES[:2]):
        sel = (src_all < N_E) if b == 0 else (src_all >= N_E)
        S = b2.Synapses(G, G, model="w : volt/second (constant)", on_pre=f"I_{name}_post += w",
                        name=f"hetbalance_synapses_{name}")
        if np.any(sel):
            S.connect(i=src_all[sel], j=tgt[sel])
            S.w = kick[pop[tgt[sel]], b] * (mV / second)
        synapses[name] = S
        objects.append(S)
    M = b2.SpikeMonitor(G, name="hetbalance_spikes")
    objects.append(M)
    net_b2 = b2.Network(*objects)
    return Brian2Network(
        neurons=G, synapses=synapses, spike_monitor=M, network=net_b2, weights=kick,
        refractory_steps=R, params=params, dt=dt, codegen=codegen, seed=seed_rec,
        brian2_seed=brian2_seed, seed_rule=SEED_RULE, V0=np.array(V0, dtype=float),
        population=pop.copy(), k_X=k_X.copy(), build_time=time.perf_counter() - t_build,
        brian2_version=str(b2.__version__))


@dataclass(frozen=True, repr=False, eq=False)
class Brian2Result(SpikeRecord):
    """Result of ``run_brian2`` (frozen; arrays read-only): the fields of ``SimulationResult``.

    Attributes
    ----------
    params : NetworkParams
        The parameters simulated.
    population : ndarray of int8, shape (N,)
        0 for E, 1 for I.
    spike_ids : ndarray of int32, shape (S,)
        Neuron of every spike, in time order (ties by index).
    spike_times : ndarray of float64, shape (S,)
        Spike times, s, our convention: the end of the step of the threshold crossing
        (Brian2's stamp + dt), multiples of ``dt``.
    rate : ndarray, shape (N,)
        Firing rate of every neuron over ``(t_start, t_stop]``, Hz.
    cv : ndarray, shape (N,)
        ISI CV over the window (NaN for fewer than 3 spikes).
    T, dt, t_start, t_stop : float
        Duration, time step and measurement window, s.
    seed : int, dict or None
        The seed, recorded as by ``simulate``.
    brian2_seed : int
        The seed given to ``brian2.seed``.
    seed_rule : str or None
        ``meanfield.seeding.SEED_RULE``.
    n_synapses : int
        Recurrent synapses created.
    codegen : str
        Brian2 code generation target.
    build_time, wall_time : float
        Seconds to build the network and to simulate.
    brian2_version : str
        ``brian2.__version__``.
    """

    params: NetworkParams
    population: np.ndarray
    spike_ids: np.ndarray
    spike_times: np.ndarray
    rate: np.ndarray
    cv: np.ndarray
    T: float
    dt: float
    t_start: float
    t_stop: float
    seed: object = None
    brian2_seed: int = 0
    seed_rule: str | None = None
    n_synapses: int = 0
    codegen: str = "numpy"
    build_time: float = 0.0
    wall_time: float = 0.0
    brian2_version: str = ""

    def __post_init__(self):
        for f in ("population", "spike_ids", "spike_times", "rate", "cv"):
            getattr(self, f).setflags(write=False)

    @property
    def population_rate(self) -> np.ndarray:
        """Mean rate of the E and of the I population over the window, Hz, shape (2,)."""
        return np.array([self.rate[self.population == a].mean() for a in (0, 1)])

    def __repr__(self) -> str:
        rE, rI = self.population_rate
        return (f"Brian2Result(N={self.N}, T={self.T:g}, window=({self.t_start:g}, "
                f"{self.t_stop:g}], spikes={self.spike_ids.size}, rate_E={rE:.3f} Hz, "
                f"rate_I={rI:.3f} Hz, brian2 {self.brian2_version}, {self.codegen})")


def run_brian2(network: Network, params: NetworkParams | None = None, T: float | None = None,
               dt: float = 1e-4, *, seed=None, burn_in: float = 0.2, V0=None, drive=0.0,
               codegen: str = "numpy") -> Brian2Result:
    """Build ``network`` in Brian2 (``to_brian2``), simulate it for T and return the spikes.

    Parameters
    ----------
    network, params, dt, seed, V0, drive, codegen
        As in ``to_brian2``.
    T : float
        Simulated duration, s, > 0, an integer multiple of ``dt``.
    burn_in : float, optional
        Start of the measurement window, s, in [0, T), a multiple of ``dt`` (default 0.2,
        as ``simulate``). Rates and CVs are measured over ``(burn_in, T]``.

    Returns
    -------
    Brian2Result
        ``spike_ids``, ``spike_times`` (s), ``rate`` (N,) Hz and ``cv`` (N,) in the form of
        ``SimulationResult``, so ``run_brian2(net, T=T).rate`` and
        ``simulate(net, T=T).rate`` compare neuron by neuron.

    Notes
    -----
    Model and timing conventions: see ``to_brian2``. numpy's global random state, which
    Brian2's numpy target draws from, is saved before and restored after the run.
    """
    params = _check_match(network, params)
    if T is None:
        raise TypeError("run_brian2() needs T, the simulated duration in s")
    window = check_settings(params, T=T, dt=dt, burn_in=burn_in)
    T, dt, burn_in = window["T"], window["dt"], window["burn_in"]
    n_steps, n0 = int(round(T / dt)), int(round(burn_in / dt))
    state = np.random.get_state()
    try:
        bn = to_brian2(network, params, dt=dt, seed=seed, V0=V0, drive=drive, codegen=codegen)
        b2 = _import_brian2()
        b2.seed(bn.brian2_seed)
        t0 = time.perf_counter()
        bn.network.run(n_steps * dt * b2.second, namespace={})
        wall = time.perf_counter() - t0
        ids = np.asarray(bn.spike_monitor.i[:], dtype=np.int64)
        steps = np.rint(np.asarray(bn.spike_monitor.t[:] / b2.second, float) / dt).astype(np.int64) + 1
    finally:
        np.random.set_state(state)
    order = np.lexsort((ids, steps))
    ids = ids[order].astype(np.int32)
    steps = steps[order]
    times = steps * dt
    N = bn.N
    win = steps > n0
    duration = (n_steps - n0) * dt
    return Brian2Result(
        params=params, population=bn.population.copy(), spike_ids=ids, spike_times=times,
        rate=spike_counts(ids[win], N) / duration, cv=isi_cv(ids[win], times[win], N),
        T=T, dt=dt, t_start=n0 * dt, t_stop=n_steps * dt, seed=bn.seed,
        brian2_seed=bn.brian2_seed, seed_rule=bn.seed_rule,
        n_synapses=int(sum(len(S) for S in bn.synapses.values())), codegen=codegen,
        build_time=bn.build_time, wall_time=wall, brian2_version=bn.brian2_version)

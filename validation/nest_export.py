"""Export a realised network to NEST 3 and run it there: the same graph, another simulator.

One job: ``to_nest(network, params)`` builds in a running NEST kernel the network that
``validation.simulate`` integrates (the same neurons, the very same synapses with the same
weights, the same external in-degrees), and ``run_nest(network, params, T)`` simulates it
and returns per-neuron rates in the form of ``SimulationResult.rate``. Uses: cross-check our
simulator on one graph with an independent implementation (exact integration instead of
forward Euler), and move a network too large for one machine to NEST's MPI backend.

NEST is an optional dependency (``pip install 'hetbalance[nest]'``, PyPI wheel
``nest-simulator``; tested with NEST 3.10.0). It is imported inside the functions, so
importing ``validation`` never needs it.

Model mapping (NEST units: ms, mV, pF, pA)
------------------------------------------
=========================================  ==============================================
hetbalance                                  NEST
=========================================  ==============================================
LIF, tau_E = tau_X > 0, tau_I > 0           ``iaf_psc_exp`` (E, X on tau_syn_ex; I on
                                            tau_syn_in, routed by the sign of the weight)
LIF, all tau_b > 0, tau_E != tau_X          ``iaf_psc_exp_multisynapse``, receptors
                                            1, 2, 3 = E, I, X with tau_syn = (tau_E,
                                            tau_I, tau_X)
LIF, tau_E = tau_I = tau_X = 0 (delta)      ``iaf_psc_delta`` (inputs during the
                                            refractory period dropped, as ours)
EIF, tau_E = tau_X > 0, tau_I > 0           ``aeif_psc_exp`` with a = b = 0 (no floor V_lb:
                                            warns ``NestMismatchWarning``)
anything else                               ``NotImplementedError`` naming the case (EIF
                                            with three different tau_b, EIF with delta
                                            synapses, delta mixed with exponential)
=========================================  ==============================================
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from graphs.network import Network, row_chunks
from meanfield.checks import check_int, check_positive
from meanfield.params import EIF, LIF, NetworkParams
from meanfield.seeding import SEED_RULE

from .result import SpikeRecord, isi_cv, spike_counts
from .simulator import _check_match, _per_neuron, check_settings, _initial_state

__all__ = ["to_nest", "run_nest", "NestNetwork", "NestResult", "NestMismatchWarning",
           "psc_weight", "NEST_MODELS"]

NEST_MODELS = ("auto", "iaf_psc_exp", "iaf_psc_exp_multisynapse", "iaf_psc_delta",
               "aeif_psc_exp")
"""Accepted values of ``to_nest(model=...)``."""

_RECEPTORS_MULTI = (1, 2, 3)       # receptor ports of E, I, X in iaf_psc_exp_multisynapse
_CONNECT_CHUNK = 1 << 22           # synapses per array-connect call (bounds temporaries)
_TIC = 1e-6                        # s: NEST's default tic (tics_per_ms = 1000)


class NestMismatchWarning(UserWarning):
    """The NEST model chosen differs from ours in a detail named in the message."""


# ----------------------------------------------------------------------------- helpers
def _import_nest():
    """Import PyNEST lazily; a clear ImportError when it is not installed."""
    try:
        import nest  # noqa: PLC0415  (optional dependency, imported on use)
    except ImportError as exc:
        raise ImportError(
            "validation.to_nest / run_nest need NEST 3 (PyNEST), which could not be imported "
            f"({exc}). Install it with: pip install 'hetbalance[nest]' (the PyPI wheel "
            "'nest-simulator'), or build NEST 3 with MPI for distributed runs") from exc
    major = int(str(getattr(nest, "__version__", "0")).split(".")[0] or 0)
    if major < 3:
        raise ImportError(f"NEST {nest.__version__} is too old; allowed: NEST >= 3.0 "
                          "(tested with 3.10.0)")
    return nest


def psc_weight(J, tau_syn, C_m=250.0):
    r"""NEST PSC amplitude (pA) whose exponential current delivers the voltage kick J (mV).

    Parameters
    ----------
    J : float or ndarray
        Synaptic weight of hetbalance: the total voltage kick of one spike, mV (the area
        :math:`\int I_b\,dt` of the synaptic current in ``validation.simulate``).
    tau_syn : float or ndarray
        Synaptic time constant, s, > 0.
    C_m : float, optional
        Membrane capacitance of the NEST neuron, pF, > 0 (default 250, NEST's default).

    Returns
    -------
    float or ndarray
        Weight ``w`` in pA for ``iaf_psc_exp`` (``_multisynapse``) or ``aeif_psc_exp``.

    Notes
    -----
    In NEST a spike of weight w (pA) makes the current jump by w and decay as
    :math:`w e^{-t/\tau_s}`; the membrane integrates :math:`I/C_m`, so one spike moves the
    voltage by the area

    .. math:: \int_0^\infty \frac{w}{C_m} e^{-t/\tau_s}\,dt = \frac{w\,\tau_s}{C_m}
              \stackrel{!}{=} J \quad\Longrightarrow\quad
              w = \frac{J\,C_m}{\tau_s},

    with :math:`\tau_s` in ms, :math:`C_m` in pF, J in mV (pF mV / ms = pA). Ours: a spike
    adds :math:`J/\tau_s` to :math:`I_b` (mV/s) and :math:`\tau_m \dot V = \dots +
    \tau_m I_b`, so :math:`\int I_b\,dt = J`: the same area, and the same mean and
    variance of the input (docs/theory.md section 4), whatever C_m. C_m only sets the unit.

    Examples
    --------
    >>> float(psc_weight(0.5, 0.005, C_m=250.0))      # 0.5 mV kick, tau_s = 5 ms
    25.0
    """
    tau_ms = np.asarray(tau_syn, dtype=float) * 1e3
    if np.any(tau_ms <= 0):
        raise ValueError(f"tau_syn = {tau_syn!r} s is out of range; allowed: > 0 (delta "
                         "synapses take the weight J in mV directly)")
    check_positive("C_m", C_m, unit="pF")
    w = np.asarray(J, dtype=float) * C_m / tau_ms
    return w if w.ndim else float(w)


@dataclass(frozen=True)
class _PopModel:
    """How one population is built in NEST (private)."""

    model: str
    params: dict          # NEST neuron parameters (ms, mV, pF, nS)
    weight: np.ndarray    # (3,) NEST weight of a synapse from E, I, X (pA, or mV for delta)
    receptor: tuple       # (3,) receptor port of E, I, X (0: default port)


def _close(a, b):
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)


def _pop_model(a: int, neuron, params: NetworkParams, model: str, C_m: float) -> _PopModel:
    """Choose and parametrise the NEST model of population a (0 E, 1 I)."""
    name = "EI"[a]
    tau_E, tau_I, tau_X = (float(t) for t in params.tau_syn)
    taus = (tau_E, tau_I, tau_X)
    all_exp = all(t > 0 for t in taus)
    all_delta = all(t == 0 for t in taus)
    J = np.array(params.J[a], dtype=float)             # (3,) mV
    ms = 1e3
    where = (f"population {name} ({type(neuron).__name__}, tau_E = {tau_E!r}, tau_I = "
             f"{tau_I!r}, tau_X = {tau_X!r} s)")
    if not (all_exp or all_delta):
        raise NotImplementedError(
            f"no NEST model for {where}: it mixes delta synapses (tau_b = 0) and exponential "
            "synapses (tau_b > 0); NEST's current-based point neurons have one or the other")
    if isinstance(neuron, LIF):
        base = {"C_m": C_m, "tau_m": neuron.tau_m * ms, "E_L": neuron.E_L,
                "V_th": neuron.theta, "V_reset": neuron.V_r, "t_ref": neuron.tau_ref * ms,
                "I_e": 0.0}
        if all_delta:
            choice = "iaf_psc_delta" if model == "auto" else model
            if choice != "iaf_psc_delta":
                raise ValueError(f"model = {model!r} cannot represent {where}; allowed: "
                                 "'auto' or 'iaf_psc_delta'")
            return _PopModel(choice, {**base, "refractory_input": False}, J, (0, 0, 0))
        shared = _close(tau_E, tau_X)
        choice = model if model != "auto" else ("iaf_psc_exp" if shared
                                                else "iaf_psc_exp_multisynapse")
        w = np.array([psc_weight(J[b], taus[b], C_m) for b in range(3)])
        if choice == "iaf_psc_exp":
            if not shared:
                raise ValueError(
                    f"model = 'iaf_psc_exp' cannot represent {where}: it has one excitatory "
                    "time constant, but tau_E != tau_X; allowed: 'auto' or "
                    "'iaf_psc_exp_multisynapse'")
            return _PopModel(choice, {**base, "tau_syn_ex": tau_E * ms,
                                      "tau_syn_in": tau_I * ms}, w, (0, 0, 0))
        if choice == "iaf_psc_exp_multisynapse":
            return _PopModel(choice, {**base, "tau_syn": [t * ms for t in taus]}, w,
                             _RECEPTORS_MULTI)
        raise ValueError(f"model = {model!r} cannot represent {where}; allowed: 'auto', "
                         "'iaf_psc_exp' (tau_E = tau_X) or 'iaf_psc_exp_multisynapse'")
    if isinstance(neuron, EIF):
        if not all_exp or not _close(tau_E, tau_X):
            raise NotImplementedError(
                f"no NEST model for {where}: the exponential integrate-and-fire neuron with "
                "current synapses exists in NEST only as aeif_psc_exp (two time constants, "
                "tau_syn_ex shared by E and X, so tau_E must equal tau_X > 0) and "
                "aeif_psc_delta (not mapped); use the LIF, or tau_X = tau_E")
        if model not in ("auto", "aeif_psc_exp"):
            raise ValueError(f"model = {model!r} cannot represent {where}; allowed: 'auto' or "
                             "'aeif_psc_exp'")
        warnings.warn(
            f"{where}: aeif_psc_exp has no voltage floor, ours clamps V >= V_lb = "
            f"{neuron.V_lb!r} mV (inactive unless inhibition drives V that low)",
            NestMismatchWarning, stacklevel=4)
        w = np.array([psc_weight(J[b], taus[b], C_m) for b in range(3)])
        p = {"C_m": C_m, "g_L": C_m / (neuron.tau_m * ms), "E_L": neuron.E_L,
             "Delta_T": neuron.Delta_T, "V_th": neuron.V_T, "V_peak": neuron.V_th,
             "V_reset": neuron.V_re, "t_ref": neuron.tau_ref * ms, "a": 0.0, "b": 0.0,
             "tau_w": 100.0, "w": 0.0, "tau_syn_ex": tau_E * ms, "tau_syn_in": tau_I * ms,
             "I_e": 0.0}
        return _PopModel("aeif_psc_exp", p, w, (0, 0, 0))
    raise TypeError(f"neuron of population {name} must be LIF or EIF, got "
                    f"{type(neuron).__name__}")


def _check_dt(dt: float, params: NetworkParams) -> float:
    dt = check_positive("dt", dt, unit="s")
    ticks = dt / _TIC
    if abs(ticks - round(ticks)) > 1e-6 * ticks or round(ticks) < 1:
        raise ValueError(f"dt = {dt!r} s is out of range; allowed: a positive multiple of "
                         f"NEST's tic {_TIC} s (0.001 ms)")
    for a, nrn in zip("EI", params.neurons):
        n = nrn.tau_ref / dt
        if abs(n - round(n)) > 1e-6:
            warnings.warn(f"neuron_{a}.tau_ref = {nrn.tau_ref!r} s is not a multiple of dt = "
                          f"{dt!r} s: NEST rounds the refractory steps, ours takes the ceiling",
                          NestMismatchWarning, stacklevel=3)
    return dt


def _nest_seed(g: np.random.Generator) -> int:
    return int(g.integers(1, 2**31 - 1))


# ----------------------------------------------------------------------------- network
@dataclass(frozen=True, repr=False, eq=False)
class NestNetwork:
    """What ``to_nest`` built in the NEST kernel (frozen; arrays read-only).

    Attributes
    ----------
    neurons : nest.NodeCollection
        All N recurrent neurons, E first, in the order of ``network`` (index i of ours is
        ``neurons[i]`` when they are contiguous, see ``node_ids``).
    populations : dict
        ``{"E": NodeCollection, "I": NodeCollection}``.
    generators : nest.NodeCollection or None
        ``external="poisson"``: one ``poisson_generator`` per distinct external in-degree k
        (rate k r_X; ``generator_k`` holds the k of each). ``external="network"``: one
        generator at r_X driving the parrots. None when r_X = 0 or every k_X = 0.
    generator_k : ndarray of int64
        External in-degree represented by each generator (``"poisson"``), else empty.
    parrots : nest.NodeCollection or None
        ``external="network"``: the N_X shared external neurons (``parrot_neuron``).
    spike_recorder : nest.NodeCollection
        Records every spike of ``neurons`` from t = 0.
    node_ids : ndarray of int64, shape (N,)
        NEST global id of each of our neurons.
    models : tuple of str
        NEST model of E and of I.
    weights : ndarray, shape (2, 3)
        NEST weight of a synapse onto E / I (rows) from E, I, X (columns): PSC amplitude in
        pA (exponential synapses), PSP jump in mV (delta synapses).
    receptors : ndarray of int, shape (2, 3)
        Receptor port of each (post, source) pair (0: default port).
    neuron_params : tuple of dict
        NEST parameters of the E and of the I neurons (ms, mV, pF, nS).
    delay : float
        Delay of every connection, ms (= dt, NEST's minimum).
    n_synapses : int
        Recurrent synapses passed to NEST (this process's share under MPI).
    params : NetworkParams
        The parameters built (weights, time constants, neurons, r_X).
    dt : float
        Resolution, s.
    external : str
        ``"poisson"`` or ``"network"``.
    method : str
        ``"arrays"`` (one-to-one array connect) or ``"per_target"`` (MPI-safe).
    seed : int, dict or None
        The seed, recorded as by ``simulate``.
    nest_seed : int
        The ``rng_seed`` given to NEST, drawn from the "noise.external_input" stream of
        ``seed``.
    seed_rule : str
        The rule that turned ``seed`` into the streams (``meanfield.seeding.SEED_RULE``).
    V0 : ndarray, shape (N,)
        Initial membrane potentials, mV.
    build_time : float
        Wall-clock seconds spent building.
    nest_version : str
        ``nest.__version__`` of the kernel that built it.
    population : ndarray of int8, shape (N,)
        0 for E, 1 for I.
    """

    neurons: object
    populations: dict
    generators: object
    generator_k: np.ndarray
    parrots: object
    spike_recorder: object
    node_ids: np.ndarray
    models: tuple
    weights: np.ndarray
    receptors: np.ndarray
    neuron_params: tuple
    delay: float
    n_synapses: int
    params: NetworkParams
    dt: float
    external: str
    method: str
    seed: object
    nest_seed: int
    V0: np.ndarray
    build_time: float
    nest_version: str
    population: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    seed_rule: str | None = None

    def __post_init__(self):
        for f in ("generator_k", "node_ids", "weights", "receptors", "V0", "population"):
            getattr(self, f).setflags(write=False)

    @property
    def N(self) -> int:
        """Number of recurrent neurons."""
        return int(self.node_ids.size)

    def index_of(self, node_ids) -> np.ndarray:
        """Our neuron index of each NEST global id, int64 array; -1 for foreign ids."""
        g = np.asarray(node_ids, dtype=np.int64)
        order = np.argsort(self.node_ids, kind="stable")
        srt = self.node_ids[order]
        pos = np.clip(np.searchsorted(srt, g), 0, max(srt.size - 1, 0))
        ok = srt.size > 0
        hit = (srt[pos] == g) if ok else np.zeros(g.shape, bool)
        return np.where(hit, order[pos], -1).astype(np.int64)

    def connections(self) -> dict:
        """Read the recurrent synapses as NEST holds them (this process's share under MPI).

        Returns
        -------
        dict of ndarray, each of shape (S,)
            ``source``, ``target``: our neuron indices (int64), sorted by target then
            source (the order of ``network.post_indices``); ``weight`` (pA, or mV for delta
            synapses), ``delay`` (ms) and ``receptor`` (port) of each synapse.

        Notes
        -----
        One ``nest.GetConnections`` between the recurrent neurons and one status query:
        O(synapses) Python objects (measured: benchmarks/README.md); a check for tests
        and small networks, not for 1e9 synapses.
        """
        nest = _import_nest()
        keys = ("source", "target", "weight", "delay", "receptor")
        conns = nest.GetConnections(source=self.neurons, target=self.neurons)
        if len(conns) == 0:
            return {k: np.zeros(0, np.int64 if k in ("source", "target", "receptor") else float)
                    for k in keys}
        d = conns.get(list(keys))
        out = {k: np.asarray(d[k]).reshape(-1) for k in keys}
        out["source"] = self.index_of(out["source"].astype(np.int64))
        out["target"] = self.index_of(out["target"].astype(np.int64))
        out["receptor"] = out["receptor"].astype(np.int64)
        order = np.lexsort((out["source"], out["target"]))
        return {k: v[order] for k, v in out.items()}

    def k_X(self) -> np.ndarray:
        """External in-degree of every neuron as NEST realises it, int64 array (N,).

        ``"poisson"``: the rate of the generator driving the neuron divided by r_X (0 if
        none). ``"network"``: the number of parrots connected to it. Counts only the
        connections this process holds (all of them without MPI).
        """
        nest = _import_nest()
        out = np.zeros(self.N, np.int64)
        if self.external == "poisson":
            if self.generators is None:
                return out
            conns = nest.GetConnections(source=self.generators, target=self.neurons)
            if len(conns) == 0:
                return out
            d = conns.get(["source", "target"])
            gen_ids = np.asarray(self.generators.tolist(), np.int64)
            rates = np.asarray(self.generators.get("rate"), float).reshape(-1)
            k = (rates[np.searchsorted(gen_ids, np.asarray(d["source"], np.int64).reshape(-1))]
                 / self.params.r_X)
            tgt = self.index_of(np.asarray(d["target"], np.int64).reshape(-1))
            np.add.at(out, tgt, np.rint(k).astype(np.int64))
            return out
        if self.parrots is None or len(self.parrots) == 0:
            return out
        conns = nest.GetConnections(source=self.parrots, target=self.neurons)
        if len(conns):
            tgt = self.index_of(np.asarray(conns.get("target"), np.int64).reshape(-1))
            np.add.at(out, tgt, 1)
        return out

    def __repr__(self) -> str:
        return (f"NestNetwork(N={self.N}, models={self.models}, synapses={self.n_synapses}, "
                f"external={self.external!r}, dt={self.dt:g} s, delay={self.delay:g} ms, "
                f"method={self.method!r}, NEST {self.nest_version})")


def _connect_recurrent(nest, network, node_ids, pop_models, delay_ms, method, local):
    """Create the recurrent synapses block by block (post pop a, source pop b)."""
    N, N_E = network.N, network.N_E
    indptr = np.asarray(network.post_indptr, np.int64)
    indices = np.asarray(network.post_indices)
    n_created = 0
    if method == "arrays":
        # rows of the post-major CSR in chunks; inside a chunk, split by source population
        for r0, r1 in row_chunks(indptr[:N + 1], _CONNECT_CHUNK):
            s, e = int(indptr[r0]), int(indptr[r1])
            if e > s:
                tgt = np.repeat(np.arange(r0, r1, dtype=np.int64), np.diff(indptr[r0:r1 + 1]))
                src = indices[s:e].astype(np.int64)
                post_pop = (tgt >= N_E).astype(np.int8)
                pre_pop = (src >= N_E).astype(np.int8)
                for a in (0, 1):
                    pm = pop_models[a]
                    for b in (0, 1):
                        sel = (post_pop == a) & (pre_pop == b)
                        n = int(np.count_nonzero(sel))
                        if n == 0:
                            continue
                        spec = {"synapse_model": "static_synapse",
                                "weight": np.full(n, pm.weight[b]),
                                "delay": np.full(n, delay_ms)}
                        if pm.receptor[b]:
                            spec["receptor_type"] = np.full(n, pm.receptor[b], dtype=float)
                        nest.Connect(node_ids[src[sel]], node_ids[tgt[sel]], "one_to_one", spec)
                        n_created += n
        return n_created
    # per target (MPI-safe): one Connect per (local target, source population)
    for j in np.flatnonzero(local):
        a = int(j >= N_E)
        pm = pop_models[a]
        row = indices[indptr[j]:indptr[j + 1]].astype(np.int64)
        split = int(np.searchsorted(row, N_E))
        tgt = nest.NodeCollection([int(node_ids[j])])
        for b, part in ((0, row[:split]), (1, row[split:])):
            if part.size == 0:
                continue
            spec = {"synapse_model": "static_synapse", "weight": float(pm.weight[b]),
                    "delay": delay_ms}
            if pm.receptor[b]:
                spec["receptor_type"] = int(pm.receptor[b])
            nest.Connect(nest.NodeCollection(node_ids[part].tolist()), tgt, "all_to_all", spec)
            n_created += int(part.size)
    return n_created


def to_nest(network: Network, params: NetworkParams | None = None, *, dt: float = 1e-4,
            seed=None, V0=None, drive=0.0, external: str = "poisson", C_m: float = 250.0,
            model: str = "auto", method: str = "auto", n_threads: int = 1,
            reset_kernel: bool = True) -> NestNetwork:
    r"""Build ``network`` in NEST 3: the same neurons, synapses, weights and external input.

    Parameters
    ----------
    network : graphs.Network
        The realised network (recurrent synapses, external in-degrees ``k_X`` and, for
        ``external="network"``, explicit external sources).
    params : NetworkParams, optional
        Weights, time constants, neurons and r_X; default ``network.params``. Must equal
        ``network.params`` in the structural fields (N, q_*, p_*), else ``ValueError``.
    dt : float, optional
        NEST resolution and delay of every connection, s (default 1e-4, our Euler step).
        A positive multiple of 1e-6 s (NEST's tic).
    seed : int >= 0, numpy.random.SeedSequence, numpy.random.Generator or None
        Keyword-only. Randomness: the stream ``"noise"`` of ``meanfield.seeding``, as in
        ``validation.simulate``, so a seed means the same thing here: the initial
        potentials are the values ``simulate`` starts from with the same int or
        SeedSequence seed, and NEST's ``rng_seed`` is drawn from the external-input
        sub-stream (NEST's Poisson noise is always another realisation than ours: another
        generator).
    V0 : float or array_like (N,), optional
        Initial membrane potentials, mV. Default: uniform in ``[V_r, theta)`` (LIF) or
        ``[V_re, V_T)`` (EIF), as in ``simulate``.
    drive : float or array_like (N,), optional
        Constant extra input, mV, as in ``simulate``: NEST current
        :math:`I_e = C_m\,\mathrm{drive}/\tau_m` (pA).
    external : {"poisson", "network"}
        "poisson" (default): neuron j receives k_X[j] independent Poisson trains at r_X,
        realised as one ``poisson_generator`` at rate k r_X per distinct k (a generator
        sends an independent train to each target), weight J_aX. "network": N_X
        ``parrot_neuron`` s, each fed its own Poisson train at r_X by one generator, are
        connected to their targets as in ``network.ext_indices`` (shared inputs).
    C_m : float, optional
        Membrane capacitance given to the NEST neurons, pF, > 0 (default 250). It only
        sets the current unit: the weights are scaled with it (``psc_weight``).
    model : str, optional
        One of ``NEST_MODELS``; "auto" (default) picks the model of the table in the
        module docstring. A model that cannot represent the parameters raises.
    method : {"auto", "arrays", "per_target"}
        "arrays": one-to-one array connect of all synapses (single process; NEST refuses
        it under MPI). "per_target": one ``Connect`` per local target and source
        population, MPI-safe (only this rank's targets are passed). "auto": "arrays" in a
        single process, "per_target" with several MPI processes.
    n_threads : int, optional
        NEST ``local_num_threads``, >= 1 (default 1).
    reset_kernel : bool, optional
        Call ``nest.ResetKernel()`` first (default True). With False the resolution must
        already equal ``dt`` and the nodes are added to what exists.

    Returns
    -------
    NestNetwork
        The node collections, the id map, the NEST weights and receptors, and the seeds.

    Raises
    ------
    ImportError
        NEST is not installed.
    NotImplementedError
        No NEST model represents the neuron and synapse combination (named).
    ValueError, TypeError
        Invalid arguments.

    Notes
    -----
    Weights (``psc_weight``): our spike adds :math:`J/\tau_b` to the current
    :math:`I_b` (mV/s), a PSP of area J; NEST's PSC of amplitude w (pA) into :math:`C_m`
    (pF) has area :math:`w \tau_b / C_m`, hence

    .. math:: w_{ab} = \frac{J_{ab}\,C_m}{\tau_b}\ \mathrm{pA}
              \quad(\tau_b\ \mathrm{in\ ms}),\qquad
              g_L = C_m/\tau_m,\quad I_e = C_m\,\mathrm{drive}/\tau_m,

    and for delta synapses :math:`w = J` (mV). Neuron: E_L, threshold, reset, tau_m,
    tau_ref copied (ms, mV); V is clamped at reset for ``round(tau_ref/dt)`` steps in
    NEST and ``ceil(tau_ref/dt)`` in ours (equal when dt divides tau_ref; warned
    otherwise). Inputs arriving during the refractory period still enter the synaptic
    currents in both.

    Differences that remain, by construction:

    - Integration: NEST's ``iaf_psc_exp*`` propagate V and the currents exactly over a
      step (Rotter & Diesmann 1999), ``aeif_psc_exp`` uses adaptive RKF45; ours is
      forward Euler. Same charge per spike, slightly different PSP shape: O(dt/tau)
      differences in rates (about 1-3 % at dt = 0.1 ms, tau_I = 4 ms).
    - Delay: ours has none (a spike in step n moves V in step n + 1); NEST's minimum
      delay is one step, so its spikes act one step (dt) later. A 0.1 ms latency against
      synaptic time constants of milliseconds.
    - External noise: the same statistics (the superposition of k independent Poisson
      trains at r_X is one Poisson train at k r_X with the same weight), another
      realisation.
    - EIF: no voltage floor V_lb in ``aeif_psc_exp`` (warned).

    Cost: O(N + S) time and, with ``method="arrays"``, temporaries of about 40 bytes per
    synapse per chunk of 4e6 synapses; NEST itself holds about 50 bytes per synapse.

    MPI: run the same script under ``mpirun`` with an MPI-enabled NEST (the PyPI wheel is
    built without MPI). Every rank needs the whole ``network`` in memory (load it with
    ``graphs.io``), but passes only the synapses of its local targets to NEST.

    Examples
    --------
    With NEST installed (not run as a doctest: NEST is optional)::

        from meanfield import NetworkParams, DegreeModel
        from graphs import sample_network
        p = NetworkParams.preset("brunel_lif", N=2000)
        net = sample_network(p, DegreeModel.recurrent_indegree("gamma", 0.2), seed=1)
        nn = to_nest(net, seed=2)
        nn.models          # ('iaf_psc_exp_multisynapse', 'iaf_psc_exp_multisynapse')
        nn.connections()["source"].size == net.n_synapses          # True
        nest.Simulate(1000.0)                                      # then read nn.spike_recorder
    """
    t_build = time.perf_counter()
    params = _check_match(network, params)
    dt = _check_dt(dt, params)
    if external not in ("poisson", "network"):
        raise ValueError(f"external = {external!r} is not allowed; allowed: 'poisson', 'network'")
    if model not in NEST_MODELS:
        raise ValueError(f"model = {model!r} is not allowed; allowed: {NEST_MODELS}")
    if method not in ("auto", "arrays", "per_target"):
        raise ValueError(f"method = {method!r} is not allowed; allowed: 'auto', 'arrays', "
                         "'per_target'")
    n_threads = check_int("n_threads", n_threads, lo=1)
    C_m = check_positive("C_m", C_m, unit="pF")
    if external == "network" and network.ext_indptr is None:
        raise ValueError("external = 'network' needs explicit external connectivity, but "
                         "network.ext_indptr is None; allowed: external = 'poisson', or a "
                         "network sampled with external='explicit'")
    pop_models = tuple(_pop_model(a, nrn, params, model, C_m)
                       for a, nrn in enumerate(params.neurons))
    N, N_E = params.N, params.N_E
    pop = np.asarray(network.population, dtype=np.int8)
    drive = _per_neuron("drive", drive, N)

    # randomness: the streams of simulate (initial potentials drawn exactly as there);
    # NEST's rng_seed is drawn from the external-noise stream (NEST's generator differs
    # from numpy's anyway, so the noise is another realisation in any case)
    V0, g_ext, seed_rec = _initial_state(params, pop, V0, seed)
    nest_seed = _nest_seed(g_ext)

    nest = _import_nest()
    dt_ms = dt * 1e3
    if reset_kernel:
        nest.ResetKernel()
        nest.set(resolution=dt_ms, local_num_threads=n_threads, rng_seed=nest_seed,
                 print_time=False)
    else:
        res = float(nest.GetKernelStatus("resolution"))
        if abs(res - dt_ms) > 1e-9 * dt_ms:
            raise ValueError(f"reset_kernel = False but NEST's resolution is {res!r} ms and "
                             f"dt = {dt!r} s; allowed: equal, or reset_kernel = True")
        nest.set(rng_seed=nest_seed)
    n_proc = int(nest.GetKernelStatus("num_processes"))
    if method == "auto":
        method = "arrays" if n_proc == 1 else "per_target"
    if method == "arrays" and n_proc > 1:
        raise ValueError(f"method = 'arrays' is not available with {n_proc} MPI processes "
                         "(NEST refuses array connect under MPI); allowed: 'per_target' or 'auto'")

    # neurons, E then I
    nodes = []
    for a, (pm, n) in enumerate(zip(pop_models, (N_E, N - N_E))):
        if n == 0:
            nodes.append(None)
            continue
        nc = nest.Create(pm.model, n, params=pm.params)
        sl = slice(0, N_E) if a == 0 else slice(N_E, N)
        tau_m = params.neurons[a].tau_m * 1e3
        nc.set({"V_m": V0[sl].tolist(), "I_e": (C_m * drive[sl] / tau_m).tolist()})
        nodes.append(nc)
    present = [nc for nc in nodes if nc is not None]
    neurons = present[0] if len(present) == 1 else present[0] + present[1]
    node_ids = np.asarray(neurons.tolist(), dtype=np.int64)
    if node_ids.size != N:
        raise RuntimeError(f"NEST created {node_ids.size} neurons, expected {N}")
    local = np.ones(N, bool)
    if n_proc > 1:
        loc = np.asarray(nest.GetLocalNodeCollection(neurons).tolist(), np.int64)
        local = np.isin(node_ids, loc)

    # recurrent synapses
    n_syn = _connect_recurrent(nest, network, node_ids, pop_models, dt_ms, method, local)

    # external input
    generators, parrots, gen_k = None, None, np.zeros(0, np.int64)
    k_X = np.asarray(network.k_X, dtype=np.int64)
    if params.r_X > 0 and external == "poisson" and np.any(k_X > 0):
        gen_k = np.unique(k_X[k_X > 0])
        generators = nest.Create("poisson_generator", gen_k.size,
                                 params={"rate": (gen_k * params.r_X).tolist()})
        gen_of = np.searchsorted(gen_k, k_X)
        for a in (0, 1):
            pm = pop_models[a]
            rows = np.flatnonzero((pop == a) & (k_X > 0) & local)
            if rows.size == 0:
                continue
            spec = {"synapse_model": "static_synapse", "weight": float(pm.weight[2]),
                    "delay": dt_ms}
            if pm.receptor[2]:
                spec["receptor_type"] = int(pm.receptor[2])
            order = rows[np.argsort(gen_of[rows], kind="stable")]
            g_sorted = gen_of[order]
            cuts = np.flatnonzero(np.diff(g_sorted)) + 1
            for grp in np.split(order, cuts):
                nest.Connect(generators[int(gen_of[grp[0]])],
                             nest.NodeCollection(node_ids[grp].tolist()), "all_to_all", spec)
    elif external == "network" and params.N_X > 0:
        parrots = nest.Create("parrot_neuron", params.N_X)
        if params.r_X > 0:
            generators = nest.Create("poisson_generator", 1, params={"rate": params.r_X})
            nest.Connect(generators, parrots, "all_to_all",
                         {"synapse_model": "static_synapse", "weight": 1.0, "delay": dt_ms})
        e_ip = np.asarray(network.ext_indptr, np.int64)
        e_ix = np.asarray(network.ext_indices, np.int64)
        parrot_ids = np.asarray(parrots.tolist(), np.int64)
        for a in (0, 1):
            pm = pop_models[a]
            rows = np.flatnonzero((pop == a) & local)
            if method == "arrays":
                cnt = np.diff(e_ip)[rows]
                if cnt.sum() == 0:
                    continue
                tgt = np.repeat(rows, cnt)
                src = np.concatenate([e_ix[e_ip[j]:e_ip[j + 1]] for j in rows])
                spec = {"synapse_model": "static_synapse",
                        "weight": np.full(tgt.size, pm.weight[2]),
                        "delay": np.full(tgt.size, dt_ms)}
                if pm.receptor[2]:
                    spec["receptor_type"] = np.full(tgt.size, pm.receptor[2], dtype=float)
                nest.Connect(parrot_ids[src], node_ids[tgt], "one_to_one", spec)
            else:
                spec = {"synapse_model": "static_synapse", "weight": float(pm.weight[2]),
                        "delay": dt_ms}
                if pm.receptor[2]:
                    spec["receptor_type"] = int(pm.receptor[2])
                for j in rows:
                    part = e_ix[e_ip[j]:e_ip[j + 1]]
                    if part.size:
                        nest.Connect(nest.NodeCollection(parrot_ids[part].tolist()),
                                     nest.NodeCollection([int(node_ids[j])]), "all_to_all", spec)

    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    return NestNetwork(
        neurons=neurons, populations={"E": nodes[0], "I": nodes[1]}, generators=generators,
        generator_k=gen_k, parrots=parrots, spike_recorder=recorder, node_ids=node_ids,
        models=tuple(pm.model for pm in pop_models),
        weights=np.stack([pm.weight for pm in pop_models]),
        receptors=np.array([pm.receptor for pm in pop_models], dtype=np.int64),
        neuron_params=tuple(dict(pm.params) for pm in pop_models), delay=dt_ms,
        n_synapses=int(n_syn), params=params, dt=dt, external=external, method=method,
        seed=seed_rec, seed_rule=SEED_RULE, nest_seed=nest_seed, V0=np.array(V0, dtype=float),
        build_time=time.perf_counter() - t_build, nest_version=str(nest.__version__),
        population=pop.copy())


# ----------------------------------------------------------------------------- result
@dataclass(frozen=True, repr=False, eq=False)
class NestResult(SpikeRecord):
    """Result of ``run_nest`` (frozen; arrays read-only).

    The fields of ``SimulationResult`` that a NEST run provides, with the same meaning and
    units.

    Attributes
    ----------
    params : NetworkParams
        The parameters simulated.
    population : ndarray of int8, shape (N,)
        0 for E, 1 for I.
    spike_ids : ndarray of int32, shape (S,)
        Our index of the neuron of every spike, in time order (ties by index).
    spike_times : ndarray of float64, shape (S,)
        Spike times, s: NEST's time stamps, the end of the step of the threshold crossing
        (our convention too), multiples of ``dt``.
    rate : ndarray, shape (N,)
        Firing rate of every neuron over ``(t_start, t_stop]``, Hz. NaN only for neurons
        of other MPI ranks (``local`` False).
    cv : ndarray, shape (N,)
        ISI CV over the window (NaN for fewer than 3 spikes).
    local : ndarray of bool, shape (N,)
        Neurons whose spikes this process recorded (all, without MPI).
    T, dt, t_start, t_stop : float
        Duration, resolution and measurement window, s.
    seed : int, dict or None
        The seed, recorded as by ``simulate``.
    nest_seed : int
        The ``rng_seed`` given to NEST.
    seed_rule : str or None
        The rule that turned ``seed`` into the streams (``meanfield.seeding.SEED_RULE``).
    models : tuple of str
        NEST models of E and I.
    n_synapses : int
        Recurrent synapses created.
    external : str
        ``"poisson"`` or ``"network"`` (see ``NestNetwork``).
    build_time, wall_time : float
        Seconds to build the network and to simulate.
    nest_version : str
        ``nest.__version__`` of the kernel that ran it.
    """

    params: NetworkParams
    population: np.ndarray
    spike_ids: np.ndarray
    spike_times: np.ndarray
    rate: np.ndarray
    cv: np.ndarray
    local: np.ndarray
    T: float
    dt: float
    t_start: float
    t_stop: float
    seed: object = None
    nest_seed: int = 0
    models: tuple = ()
    n_synapses: int = 0
    external: str = "poisson"
    build_time: float = 0.0
    wall_time: float = 0.0
    nest_version: str = ""
    seed_rule: str | None = None

    def __post_init__(self):
        for f in ("population", "spike_ids", "spike_times", "rate", "cv", "local"):
            getattr(self, f).setflags(write=False)

    @property
    def population_rate(self) -> np.ndarray:
        """Mean rate of the E and of the I population (local neurons), Hz, shape (2,)."""
        return np.array([self.rate[(self.population == a) & self.local].mean()
                         if np.any((self.population == a) & self.local) else np.nan
                         for a in (0, 1)])

    @property
    def mean_rate(self) -> float:
        """Mean rate over the local neurons, Hz."""
        return float(self.rate[self.local].mean())

    def rates(self, t_start=None, t_stop=None) -> np.ndarray:
        """Compute the firing rate of every neuron over ``(t_start, t_stop]``, Hz, shape (N,).

        ``t_start``, ``t_stop`` in s (default the measurement window); NaN for the neurons
        of other MPI ranks.
        """
        return np.where(self.local, SpikeRecord.rates(self, t_start, t_stop), np.nan)

    def summary(self) -> str:
        """Two lines for humans."""
        rE, rI = self.population_rate
        return (f"NestResult: N = {self.N}, T = {self.T:g} s, dt = {self.dt:g} s, window "
                f"({self.t_start:g}, {self.t_stop:g}] s, NEST {self.nest_version} "
                f"{'/'.join(self.models)}\n  rates: E {rE:.3f} Hz, I {rI:.3f} Hz; "
                f"{self.spike_ids.size} spikes; build {self.build_time:.1f} s, "
                f"simulate {self.wall_time:.1f} s")

    def __repr__(self) -> str:
        rE, rI = self.population_rate
        return (f"NestResult(N={self.N}, T={self.T:g}, window=({self.t_start:g}, "
                f"{self.t_stop:g}], spikes={self.spike_ids.size}, rate_E={rE:.3f} Hz, "
                f"rate_I={rI:.3f} Hz, models={self.models})")


def run_nest(network: Network, params: NetworkParams | None = None, T: float | None = None,
             dt: float = 1e-4, *, seed=None, burn_in: float = 0.2, V0=None, drive=0.0,
             external: str = "poisson", C_m: float = 250.0, model: str = "auto",
             method: str = "auto", n_threads: int = 1) -> NestResult:
    """Build ``network`` in NEST (``to_nest``), simulate it for T and return the spikes.

    Parameters
    ----------
    network, params, dt, seed, V0, drive, external, C_m, model, method, n_threads
        As in ``to_nest`` (the kernel is reset).
    T : float
        Simulated duration, s, > 0, an integer multiple of ``dt``.
    burn_in : float, optional
        Start of the measurement window, s, in [0, T), a multiple of ``dt`` (default 0.2,
        as ``simulate``). Rates and CVs are measured over ``(burn_in, T]``.

    Returns
    -------
    NestResult
        ``spike_ids``, ``spike_times`` (s), ``rate`` (N,) Hz and ``cv`` (N,) in the form
        of ``SimulationResult``, so ``run_nest(net, T=T).rate`` and
        ``simulate(net, T=T).rate`` compare neuron by neuron.

    Notes
    -----
    Model and differences from ``simulate``: see ``to_nest``. Cost: NEST's, O(N +
    synapses) to build and O(N + transmitted spikes x out-degree) per step; measured
    times against ``simulate`` in benchmarks/README.md.
    Under MPI each rank records only its own neurons: ``local`` marks them and
    the other rates are NaN.
    """
    params = _check_match(network, params)
    if T is None:
        raise TypeError("run_nest() needs T, the simulated duration in s")
    window = check_settings(T=T, dt=dt, burn_in=burn_in)   # simulate's rules, no Euler bound
    T, dt, burn_in = window["T"], window["dt"], window["burn_in"]
    n_steps, n0 = int(round(T / dt)), int(round(burn_in / dt))
    nn = to_nest(network, params, dt=dt, seed=seed, V0=V0, drive=drive, external=external,
                 C_m=C_m, model=model, method=method, n_threads=n_threads, reset_kernel=True)
    nest = _import_nest()
    t0 = time.perf_counter()
    nest.Simulate(n_steps * dt * 1e3)
    wall = time.perf_counter() - t0
    ev = nn.spike_recorder.get("events")
    senders = np.asarray(ev["senders"], dtype=np.int64)
    steps = np.rint(np.asarray(ev["times"], dtype=float) / (dt * 1e3)).astype(np.int64)
    ids = nn.index_of(senders)
    if np.any(ids < 0):
        raise RuntimeError("the spike recorder returned ids that are not recurrent neurons")
    order = np.lexsort((ids, steps))
    ids = ids[order].astype(np.int32)
    steps = steps[order]
    times = steps * dt
    N = nn.N
    local = np.ones(N, bool)
    if int(nest.GetKernelStatus("num_processes")) > 1:
        loc = np.asarray(nest.GetLocalNodeCollection(nn.neurons).tolist(), np.int64)
        local = np.isin(nn.node_ids, loc)
    win = steps > n0
    duration = (n_steps - n0) * dt
    rate = spike_counts(ids[win], N) / duration
    cv = isi_cv(ids[win], times[win], N)
    rate = np.where(local, rate, np.nan)
    cv = np.where(local, cv, np.nan)
    return NestResult(
        params=params, population=nn.population.copy(), spike_ids=ids, spike_times=times,
        rate=rate, cv=cv, local=local, T=T, dt=dt, t_start=n0 * dt, t_stop=n_steps * dt,
        seed=nn.seed, seed_rule=nn.seed_rule, nest_seed=nn.nest_seed, models=nn.models,
        n_synapses=nn.n_synapses,
        external=external, build_time=nn.build_time, wall_time=wall,
        nest_version=nn.nest_version)

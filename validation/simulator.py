r"""Sparse spiking simulation of a realised E/I network, with per-neuron balance read-outs.

One job: ``simulate(network, params, T)`` integrates the LIF or EIF network of docs/theory.md
section 2 on a ``graphs.Network`` and returns a frozen ``SimulationResult``: flat spike
record, per-neuron rates and ISI CVs, and every neuron's time-averaged synaptic input
split by source (E, I, X) in the units of the mean input :math:`\mu` of docs/theory.md
section 4, so the balance of each neuron is read off directly.

Two backends share one model, one step order and one random stream: a pure numpy path
(always available) and an optional compiled kernel (numba, ``pip install
hetbalance[fast]``). Same seed, same arguments: identical spikes on both.
"""

from __future__ import annotations

import importlib
import math
import time
import warnings
from collections import deque
from dataclasses import dataclass

import numpy as np

from graphs.network import Network, row_chunks, transpose_structure
from meanfield.checks import (check_array, check_in_range, check_int, check_nonnegative,
                              check_positive)
from meanfield.errors import ParameterError
from meanfield.params import EIF, NetworkParams
from meanfield.seeding import SEED_RULE, resolve_seed, streams

from .progress import interrupt_guard, progress_bar
from .result import SimulationError, SimulationResult, isi_cv

__all__ = ["simulate", "check_settings", "SIMULATION_DEFAULTS", "BACKENDS", "CHUNK_STEPS",
           "EXP_CLIP"]

BACKENDS = ("auto", "numpy", "numba")
"""Accepted values of ``simulate(backend=...)``."""

SIMULATION_DEFAULTS = {"T": 1.0, "dt": 1e-4, "burn_in": 0.2, "seed": 0, "backend": "auto"}
"""Default simulation settings (T, dt, burn_in in s), in the order settings are listed.

``dt``, ``burn_in`` and ``backend`` are ``simulate``'s keyword defaults. ``simulate``
itself requires ``T`` and draws fresh entropy for ``seed=None``; the command line and model
files, which record what they ran, use ``T = 1.0`` s and ``seed = 0`` when none is given.
Checked by ``check_settings``."""

CHUNK_STEPS = 256
"""Time steps per chunk. External Poisson events are drawn per chunk; progress, Ctrl-C and
the non-finite check are handled between chunks. Part of the definition of the random
stream: changing it changes the noise realisation of a seed."""

EXP_CLIP = 700.0
"""Largest exponent of the EIF term, e^700 ~ 1e304 < DBL_MAX (see ``simulate`` Notes)."""

_STRUCTURAL_FIELDS = ("N", "q_E", "q_I", "q_X", "p_EE", "p_EI", "p_EX", "p_IE", "p_II", "p_IX")
_REL = 1e-9  # relative tolerance for "dt divides T" (floating-point representation only)
_DT_MS_HINT = 0.01  # s: a dt this large that fits the rules in ms was probably meant in ms
_GATHER_LOOP_MAX = 64  # spikes per step below which target rows are gathered by a list
_ROW_VIEWS_MAX = 1 << 18  # up to this N the numpy path keeps one view per neuron's targets
_SPIKE_BUFFER_EXTRA = 1 << 16  # numba spike buffer: N + this; emptied when nearly full


# ----------------------------------------------------------------------------- setup
@dataclass
class _Setup:
    N: int
    N_E: int
    n_steps: int
    n0: int
    dt: float
    pop: np.ndarray
    # neuron constants per population (2,) and per neuron (N,)
    H2: np.ndarray
    Vth2: np.ndarray
    Vres2: np.ndarray
    R2: np.ndarray
    K2: np.ndarray
    VT2: np.ndarray
    invDT2: np.ndarray
    xmax2: np.ndarray
    Vlb2: np.ndarray
    eif: bool
    C: np.ndarray
    has_c: bool
    # synapses
    F3: np.ndarray          # decay factor per source (3,)
    W23: np.ndarray         # kick per spike in mV per step, (post pop, source)
    tau_eff: np.ndarray     # (3,) s: tau_b, or dt for delta synapses
    J23: np.ndarray         # (2, 3) mV
    # connectivity
    pre_indptr: np.ndarray
    pre_indices: np.ndarray
    ext_network: bool
    x_indptr: np.ndarray
    x_indices: np.ndarray
    n_src: int
    ext: "_External"        # sampler of external events
    # recording
    rec_ids: np.ndarray
    rec_every: int


def _dt_rules(params: NetworkParams):
    """Each upper bound on dt: (bound in s, the constant it comes from, the allowed range)."""
    rules = [(tau / 5, f"tau_{b} = {tau!r} s", f"(0, tau_{b}/5] = (0, {tau / 5!r}] s (forward "
              f"Euler on the synaptic current)")
             for b, tau in zip("EIX", map(float, params.tau_syn)) if tau > 0]
    for a, nrn in zip("EI", params.neurons):
        if nrn.tau_ref > 0:
            rules.append((nrn.tau_ref, f"neuron_{a}.tau_ref = {nrn.tau_ref!r} s",
                          "(0, tau_ref] when tau_ref > 0"))
        rules.append((nrn.tau_m / 5, f"neuron_{a}.tau_m = {nrn.tau_m!r} s",
                      f"(0, tau_m/5] = (0, {nrn.tau_m / 5!r}] s (forward Euler on the membrane)"))
    return rules


def check_settings(params: NetworkParams | None = None, **settings) -> dict:
    """Check simulation settings with the rules ``simulate`` applies; return them converted.

    The one place that decides whether ``T``, ``dt``, ``burn_in``, ``seed`` and ``backend``
    are valid: ``simulate`` calls it, and so do the model-file reader and the command line
    (``hetbalance``) for the ``[simulation]`` table and the options.

    Parameters
    ----------
    params : NetworkParams, optional
        The network; with it, ``dt`` is also checked against its time constants.
    **settings
        Any of ``T`` (s, > 0), ``dt`` (s, > 0; with ``params``: at most tau_b/5 for every
        synaptic time constant tau_b > 0, at most tau_ref when tau_ref > 0 and at most
        tau_m/5), ``burn_in`` (s, in [0, T), a multiple of dt), ``seed`` (integer >= 0)
        and ``backend`` (one of ``BACKENDS``). Only the given keys are checked, each
        relation (dt divides T, burn_in below T and a multiple of dt) when both sides are
        given.

    Returns
    -------
    dict
        The given settings as float (T, dt, burn_in), int (seed) and str (backend), in the
        order of ``SIMULATION_DEFAULTS``.

    Raises
    ------
    meanfield.errors.ParameterError
        (a ``ValueError``) A value out of range; ``.field`` is the setting's key.
    meanfield.errors.ParameterTypeError
        (a ``TypeError``) A value of the wrong type; ``.field`` is the key.
    TypeError
        A key that is not a setting.

    Examples
    --------
    >>> from meanfield import NetworkParams
    >>> check_settings(NetworkParams.preset("akil2021"), T=2, dt=1e-4, backend="numpy")
    {'T': 2.0, 'dt': 0.0001, 'backend': 'numpy'}
    >>> check_settings(NetworkParams.preset("akil2021"), dt=0.1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    meanfield.errors.ParameterError: dt = 0.1 s is out of range for tau_E ... did you mean 0.0001 s?
    """
    unknown = [k for k in settings if k not in SIMULATION_DEFAULTS]
    if unknown:
        raise TypeError(f"unknown simulation setting(s) {unknown}; allowed: "
                        f"{', '.join(SIMULATION_DEFAULTS)}")
    out = {}
    T = dt = None
    if "T" in settings:
        T = out["T"] = check_positive("T", settings["T"], unit="s")
    if "dt" in settings:
        dt = out["dt"] = check_positive("dt", settings["dt"], unit="s")
        if T is not None:
            n_steps = int(round(T / dt))
            if n_steps < 1 or abs(n_steps * dt - T) > _REL * T:
                raise ParameterError(f"dt = {dt!r} s does not divide T = {T!r} s (T/dt = "
                                     f"{T / dt!r}); allowed: T an integer multiple of dt",
                                     field="dt")
        if params is not None:
            rules = _dt_rules(params)
            dt_max = min(bound for bound, _, _ in rules)
            hint = ""
            if dt >= _DT_MS_HINT and dt / 1000 <= dt_max:
                hint = (f"; times are in seconds: {dt:g} looks like milliseconds, did you mean "
                        f"{dt / 1000:g} s?")
            for bound, constant, allowed in rules:
                if dt > bound * (1 + _REL):
                    raise ParameterError(f"dt = {dt!r} s is out of range for {constant}; "
                                         f"allowed: {allowed}{hint}", field="dt")
    if "burn_in" in settings:
        if T is not None:
            burn_in = check_in_range("burn_in", settings["burn_in"], 0.0, T, hi_open=True,
                                     unit="s", hint="use burn_in=0 for short runs")
        else:
            burn_in = check_nonnegative("burn_in", settings["burn_in"], unit="s")
        if dt is not None:
            n0 = int(round(burn_in / dt))
            if abs(n0 * dt - burn_in) > _REL * max(burn_in, dt):
                raise ParameterError(f"burn_in = {burn_in!r} s is not a multiple of dt = "
                                     f"{dt!r} s; allowed: integer multiples of dt in [0, T)",
                                     field="burn_in")
        out["burn_in"] = burn_in
    if "seed" in settings:
        out["seed"] = check_int("seed", settings["seed"], lo=0)
    if "backend" in settings:
        backend = settings["backend"]
        if not isinstance(backend, str) or backend not in BACKENDS:
            raise ParameterError(f"backend = {backend!r} is not allowed; allowed: {BACKENDS}",
                                 field="backend")
        out["backend"] = backend
    return {k: out[k] for k in SIMULATION_DEFAULTS if k in out}


def _check_match(network: Network, params):
    if not isinstance(network, Network):
        raise TypeError(f"network must be a graphs.Network, got {type(network).__name__}")
    if params is None:
        return network.params
    if not isinstance(params, NetworkParams):
        raise TypeError(f"params must be a NetworkParams or None, got {type(params).__name__}")
    bad = [f"params.{f} = {getattr(params, f)!r} but network.params.{f} = "
           f"{getattr(network.params, f)!r}"
           for f in _STRUCTURAL_FIELDS if getattr(params, f) != getattr(network.params, f)]
    if bad:
        raise ValueError("params do not match the network: " + "; ".join(bad) + ". Allowed: "
                         "params equal to network.params in the structural fields "
                         f"{_STRUCTURAL_FIELDS} (weights, time constants, neurons and r_X may "
                         "differ)")
    return params


def _per_neuron(name, value, N):
    arr = check_array(name, value)          # finite, else ValueError naming the entry
    if arr.ndim == 0:
        arr = np.full(N, float(arr))
    if arr.shape != (N,):
        raise ValueError(f"{name} has shape {arr.shape}; allowed: a float or an array of shape ({N},)")
    return arr


def _initial_state(params, population, V0, seed):
    """Return the start of a run, shared by ``simulate``, ``to_nest`` and ``to_brian2``.

    Seeds the streams "noise.initial" and "noise.external_input" of ``seed``
    (``meanfield.seeding``) and draws the initial potentials uniformly between each neuron's
    reset and its threshold (V_T for the EIF, the spike cut for the LIF) unless ``V0`` is
    given (a float or an array of shape (N,), mV).

    Returns
    -------
    V0 : ndarray (N,)
        Initial membrane potentials, mV.
    g_ext : numpy.random.Generator
        The external-input stream (Poisson input, or the simulator's seed for NEST/Brian2).
    seed_record
        What ``resolve_seed`` records of ``seed``.
    """
    pop = np.asarray(population, dtype=np.int8)
    N = pop.size
    root, seed_rec = resolve_seed(seed)
    noise = streams(root, "noise.initial", "noise.external_input")
    g_init, g_ext = noise["noise.initial"], noise["noise.external_input"]
    if V0 is None:
        lo = np.array([nrn.V_reset for nrn in params.neurons])[pop]
        hi = np.array([nrn.V_T if isinstance(nrn, EIF) else nrn.V_spike
                       for nrn in params.neurons])[pop]
        V0 = lo + (hi - lo) * g_init.random(N)
    else:
        V0 = _per_neuron("V0", V0, N)
    return V0, g_ext, seed_rec


def _source_rates(network, params, rate_X):
    """Per-source external rates (N_X,), Hz: ``rate_X`` checked, or r_X for every source."""
    if rate_X is None:
        return None
    r = np.asarray(rate_X, dtype=float)
    if r.shape != (params.N_X,) or not np.all(np.isfinite(r)) or np.any(r < 0):
        raise ValueError(f"rate_X has shape {r.shape}; allowed: ({params.N_X},) finite rates "
                         f">= 0 Hz, one per external source")
    if network.ext_indptr is None or network.ext_indices is None:
        raise ValueError("rate_X needs explicit external sources (network.ext_indptr is None); "
                         "sample the network with explicit sources (e.g. a spatial network)")
    return r


def _prepare(network, params, dt, n_steps, n0, drive, record, record_every, external,
             rate_X=None):
    N, N_E = params.N, params.N_E
    pop = np.asarray(network.population, dtype=np.int8)
    neurons = params.neurons
    g = np.array([dt / nrn.tau_m for nrn in neurons])
    H2 = 1.0 - g
    Vth2 = np.array([nrn.V_spike for nrn in neurons], dtype=float)
    Vres2 = np.array([nrn.V_reset for nrn in neurons], dtype=float)
    R2 = np.array([math.ceil(nrn.tau_ref / dt - 1e-9) if nrn.tau_ref > 0 else 0
                   for nrn in neurons], dtype=np.int64)
    eif = any(isinstance(nrn, EIF) for nrn in neurons)
    K2, VT2, invDT2, xmax2, Vlb2 = (np.zeros(2) for _ in range(5))
    Vlb2[:] = -np.inf
    for a, nrn in enumerate(neurons):
        if isinstance(nrn, EIF):
            K2[a] = g[a] * nrn.Delta_T
            VT2[a] = nrn.V_T
            invDT2[a] = 1.0 / nrn.Delta_T
            xmax2[a] = min((nrn.V_th - nrn.V_T) / nrn.Delta_T, EXP_CLIP)
            Vlb2[a] = nrn.V_lb
    E_L = np.array([nrn.E_L for nrn in neurons])[pop]
    C = g[pop] * (E_L + drive)
    has_c = bool(np.any(C != 0.0))

    tau = params.tau_syn
    tau_eff = np.where(tau > 0, tau, dt)
    F3 = np.where(tau > 0, 1.0 - dt / np.where(tau > 0, tau, 1.0), 0.0)
    J23 = np.array(params.J, dtype=float)
    W23 = np.where(tau[None, :] > 0, J23 * dt / tau_eff[None, :], J23)

    if external == "network":
        if network.ext_indptr is None or network.ext_indices is None:
            raise ValueError("external = 'network' needs explicit external connectivity, but "
                             "network.ext_indptr is None; allowed: external = 'poisson' for "
                             "independent inputs, or a network sampled with explicit sources")
        ext_indptr = np.asarray(network.ext_indptr, dtype=np.int64)
        ext_indices = np.asarray(network.ext_indices)
        if ext_indptr.shape != (N + 1,) or ext_indptr[-1] != ext_indices.size:
            raise ValueError(f"network.ext_indptr has shape {ext_indptr.shape}; allowed: ({N + 1},) "
                             "ending at len(ext_indices)")
        n_src = params.N_X
        if ext_indices.size and (ext_indices.min() < 0 or ext_indices.max() >= n_src):
            raise ValueError(f"network.ext_indices holds sources in [{ext_indices.min()}, "
                             f"{ext_indices.max()}]; allowed: [0, N_X) = [0, {n_src}) for params.N_X")
        x_indptr, x_indices = transpose_structure(ext_indptr, ext_indices.astype(np.intp), n_src)
        x_indptr = np.ascontiguousarray(x_indptr, dtype=np.int64)
        x_indices = np.ascontiguousarray(x_indices, dtype=np.int32)
        lam = np.full(n_src, params.r_X * dt) if rate_X is None else rate_X * dt
    else:
        k_X = np.asarray(network.k_X, dtype=float)
        if np.any(k_X < 0):
            raise ValueError("network.k_X contains negative in-degrees; allowed: >= 0")
        n_src = N
        x_indptr = np.zeros(1, np.int64)
        x_indices = np.zeros(0, np.int32)
        lam = k_X * (params.r_X * dt)
        if rate_X is not None:   # independent inputs at the summed rate of each neuron's sources
            rows = np.repeat(np.arange(N), np.diff(np.asarray(network.ext_indptr, np.int64)))
            lam = np.bincount(rows, weights=rate_X[np.asarray(network.ext_indices)],
                              minlength=N) * dt

    if record is None:
        rec_ids = np.zeros(0, np.int64)
    else:
        rec_ids = np.atleast_1d(np.asarray(record))
        if rec_ids.size == 0:
            rec_ids = np.zeros(0, np.int64)
        if rec_ids.ndim != 1 or not np.issubdtype(rec_ids.dtype, np.integer):
            raise TypeError(f"record must be None or a 1-d array of neuron indices (int), got "
                            f"dtype {rec_ids.dtype} and shape {rec_ids.shape}")
        rec_ids = rec_ids.astype(np.int64)
        if rec_ids.size and (rec_ids.min() < 0 or rec_ids.max() >= N):
            raise ValueError(f"record holds neuron indices in [{rec_ids.min()}, {rec_ids.max()}]; "
                             f"allowed: [0, {N - 1}]")
    record_every = check_int("record_every", record_every, lo=1)

    return _Setup(
        N=N, N_E=N_E, n_steps=n_steps, n0=n0, dt=dt, pop=pop,
        H2=H2, Vth2=Vth2, Vres2=Vres2, R2=R2, K2=K2, VT2=VT2, invDT2=invDT2, xmax2=xmax2,
        Vlb2=Vlb2, eif=eif, C=C, has_c=has_c, F3=F3, W23=W23, tau_eff=tau_eff, J23=J23,
        pre_indptr=np.ascontiguousarray(network.pre_indptr, dtype=np.int64),
        pre_indices=np.ascontiguousarray(network.pre_indices, dtype=np.int32),
        ext_network=(external == "network"), x_indptr=x_indptr, x_indices=x_indices,
        n_src=n_src, ext=_External.from_rates(lam), rec_ids=rec_ids, rec_every=record_every)


def _choose_backend(backend: str):
    if backend == "numpy":
        return "numpy", None
    try:   # lazy: numba is an optional extra and costs ~50 MB and ~0.5 s to import
        kernels = importlib.import_module(__package__ + "._kernels_numba")
    except ImportError as exc:
        if backend == "numba":
            warnings.warn(f"backend = 'numba' requested but numba cannot be imported ({exc}); "
                          "falling back to the numpy backend (pip install 'hetbalance[fast]')",
                          RuntimeWarning, stacklevel=3)
        return "numpy", None
    return "numba", kernels


# ----------------------------------------------------------------------------- noise
def _alias_table(weights: np.ndarray):
    """Walker/Vose alias table for sampling index j with probability weights[j]/sum.

    Returns (q float64, alias int32): draw j uniform, keep j if u < q[j], else alias[j].
    Exact up to the rounding of q. O(n), a Python loop (times: benchmarks/README.md).
    """
    n = weights.size
    prob = weights * (n / weights.sum())
    q = np.ones(n)
    alias = np.arange(n, dtype=np.int32)
    small = [int(j) for j in np.flatnonzero(prob < 1.0)]
    large = [int(j) for j in np.flatnonzero(prob >= 1.0)]
    p = prob.tolist()
    while small and large:
        s_, l_ = small.pop(), large.pop()
        q[s_] = p[s_]
        alias[s_] = l_
        p[l_] = (p[l_] + p[s_]) - 1.0
        (small if p[l_] < 1.0 else large).append(l_)
    for j in small:      # rounding leftovers: probability 1 up to eps
        q[j] = 1.0
    return q, alias


@dataclass
class _External:
    """Sampler of external events, step-major (private)."""

    n_src: int
    Lambda: float            # expected events per step, all sources together
    q: np.ndarray | None     # alias table when sources have unequal rates
    alias: np.ndarray | None

    @classmethod
    def from_rates(cls, lam: np.ndarray) -> "_External":
        lam = np.asarray(lam, dtype=float)
        total = float(lam.sum())
        if total <= 0 or np.all(lam == lam[0]):
            return cls(lam.size, total, None, None)
        q, alias = _alias_table(lam)
        return cls(lam.size, total, q, alias)

    def draw(self, rng: np.random.Generator, L: int):
        """External events of ``L`` steps: (ptr (L+1,) int64, idx int64 source of each event).

        Exact Poisson sampling: the number of events in a step is Poisson(Lambda) and each
        event comes from source j with probability lambda_j / Lambda (independent Poisson
        trains per source). Events of step i are ``idx[ptr[i]:ptr[i+1]]``.
        """
        M = rng.poisson(self.Lambda, size=L) if self.Lambda > 0 else np.zeros(L, np.int64)
        ptr = np.zeros(L + 1, np.int64)
        np.cumsum(M, out=ptr[1:])
        total = int(ptr[-1])
        idx = rng.integers(0, max(self.n_src, 1), size=total, dtype=np.int64)
        if self.q is not None:
            u = rng.random(total)
            idx = np.where(u < self.q[idx], idx, self.alias[idx])
        return ptr, idx


# ----------------------------------------------------------------------------- state
class _State:
    """Mutable integration state (private; never escapes ``simulate``)."""

    def __init__(self, s: _Setup, V0: np.ndarray):
        self.V = V0.copy()
        self.U = np.zeros((3, s.N))            # dt * I_b, mV per step
        self.ref_until = np.zeros(s.N, np.int64)
        self.ring = deque(maxlen=int(s.R2.max()) or 1)
        self.ids: list = []      # spike ids, one int array per chunk (or part of one)
        self.steps: list = []    # the step of every spike, arrays parallel to ids
        n_t = len(range(0, s.n_steps, s.rec_every)) if s.rec_ids.size else 0
        self.trace_V = np.full((s.rec_ids.size, n_t), np.nan)
        self.trace_U = np.full((s.rec_ids.size, 3, n_t), np.nan)

    def snapshot(self):
        return (self.V.copy(), self.U.copy(), self.ref_until.copy(), list(self.ring),
                len(self.ids))

    def restore(self, snap):
        V, U, ref, ring, n_lists = snap
        self.V[:] = V
        self.U[:] = U
        self.ref_until[:] = ref
        self.ring.clear()
        self.ring.extend(ring)
        del self.ids[n_lists:]
        del self.steps[n_lists:]


class _NonFinite(Exception):
    def __init__(self, neuron, step):
        self.neuron, self.step = int(neuron), int(step)


# ----------------------------------------------------------------------------- numpy path
class _RowViews:
    """``rows[k]`` = targets of neuron k, sliced on demand (large N: no list of N views)."""

    def __init__(self, indptr, indices):
        self.indptr, self.indices = indptr, indices

    def __getitem__(self, k):
        return self.indices[self.indptr[k]:self.indptr[k + 1]]


class _NumpyStepper:
    """The numpy time stepper: per-step vectorised updates, spikes gathered row by row."""

    def __init__(self, s: _Setup):
        self.s = s
        N, pop = s.N, s.pop
        uniform = all(np.all(a == a[0]) for a in (s.H2, s.Vth2, s.Vres2, s.R2, s.K2, s.VT2,
                                                   s.invDT2, s.xmax2, s.Vlb2))
        pick = (lambda a: a[0].item()) if uniform else (lambda a: a[pop])
        self.uniform = uniform
        self.H, self.Vth, self.Vres = pick(s.H2), pick(s.Vth2), pick(s.Vres2)
        self.K, self.VT, self.invDT, self.xmax, self.Vlb = (pick(s.K2), pick(s.VT2),
                                                            pick(s.invDT2), pick(s.xmax2),
                                                            pick(s.Vlb2))
        self.R = int(s.R2[0]) if uniform else s.R2[pop]
        self.Rmax = int(s.R2.max())
        self.F = s.F3[0].item() if np.all(s.F3 == s.F3[0]) else s.F3[:, None]
        # kick of source b onto each target: a scalar when both target populations share it
        self.w = [s.W23[0, b].item() if s.W23[0, b] == s.W23[1, b] else s.W23[pop, b].copy()
                  for b in range(3)]
        self.x = np.empty(N)
        ip, ix = s.pre_indptr, s.pre_indices
        self.rows = ([ix[ip[k]:ip[k + 1]] for k in range(N)] if N <= _ROW_VIEWS_MAX
                     else _RowViews(ip, ix))
        self.deg = np.diff(ip)
        if s.ext_network:
            xp, xi = s.x_indptr, s.x_indices
            self.xrows = [xi[xp[k]:xp[k + 1]] for k in range(s.n_src)]

    def _targets(self, spk: np.ndarray):
        """Targets (intp) of all synapses of the spikes ``spk``, in spike then row order."""
        if spk.size <= _GATHER_LOOP_MAX:
            rows = self.rows
            return np.concatenate([rows[k] for k in spk.tolist()], dtype=np.intp)
        # many spikes: one vectorised gather (repeat + arange + take) instead of a list
        s = self.s
        lens = self.deg[spk]
        ends = np.cumsum(lens)
        idx = np.repeat(s.pre_indptr[spk] - (ends - lens), lens) + np.arange(int(ends[-1]))
        return s.pre_indices[idx].astype(np.intp)

    def _kick(self, Ub, targets, b):
        # one addition per synapse, in order (np.add.at is unbuffered and sequential)
        w = self.w[b]
        np.add.at(Ub, targets, w if isinstance(w, float) else w[targets])

    def run(self, st: _State, i0: int, L: int, n_base: int, ext_ptr, ext_idx, ext_total,
            check: bool):
        s = self.s
        V, U, x = st.V, st.U, self.x
        U0, U1, U2 = U[0], U[1], U[2]
        H, Vth, Vres, R = self.H, self.Vth, self.Vres, self.R
        F, kick = self.F, self._kick
        eif, has_c, C = s.eif, s.has_c, s.C
        K, VT, invDT, xmax, Vlb = self.K, self.VT, self.invDT, self.xmax, self.Vlb
        uniform, Rmax, ring, ref_until = self.uniform, self.Rmax, st.ring, st.ref_until
        rec, every = s.rec_ids, s.rec_every
        ext_network = s.ext_network
        N_E = s.N_E
        if ext_total is not None:
            ext_total += np.bincount(ext_idx[ext_ptr[i0]:ext_ptr[L]], minlength=s.n_src)
        if ext_network:
            xrows = self.xrows
        cid, cst = [], []
        for i in range(i0, L):
            n = n_base + i
            if rec.size and n % every == 0:
                k = n // every
                st.trace_V[:, k] = V[rec]
                st.trace_U[:, :, k] = U[:, rec].T
            if eif:
                np.subtract(V, VT, out=x)
                x *= invDT
                np.minimum(x, xmax, out=x)
                np.exp(x, out=x)
                x *= K
            V *= H
            if has_c:
                V += C
            if eif:
                V += x
            V += U0
            V += U1
            V += U2
            if eif:
                np.maximum(V, Vlb, out=V)
            if Rmax and ring:
                ids = np.concatenate(ring) if len(ring) > 1 else ring[0]
                if not uniform:
                    ids = ids[ref_until[ids] > n]
                V[ids] = Vres if uniform else Vres[ids]
            if check and not np.all(np.isfinite(V)):
                raise _NonFinite(np.flatnonzero(~np.isfinite(V))[0], n)
            U *= F
            spk = np.flatnonzero(V >= Vth)
            if Rmax:
                ring.append(spk)
            if spk.size:
                V[spk] = Vres if uniform else Vres[spk]
                ref_until[spk] = n + 1 + (R if uniform else R[spk])
                cid.append(spk)
                cst.append(n)
                n_E = int(np.searchsorted(spk, N_E))
                if n_E:
                    kick(U0, self._targets(spk[:n_E]), 0)
                if n_E < spk.size:
                    kick(U1, self._targets(spk[n_E:]), 1)
            a, b = ext_ptr[i], ext_ptr[i + 1]
            if b > a:
                if ext_network:
                    kick(U2, np.concatenate([xrows[q] for q in ext_idx[a:b].tolist()],
                                            dtype=np.intp), 2)
                else:
                    kick(U2, ext_idx[a:b], 2)
        if cid:
            st.ids.append(np.concatenate(cid).astype(np.int32))
            st.steps.append(np.repeat(np.asarray(cst, np.int64), [a.size for a in cid]))


# ----------------------------------------------------------------------------- numba path
class _NumbaStepper:
    def __init__(self, s: _Setup, kernels):
        self.s = s
        self.k = kernels
        self.cap = s.N + _SPIKE_BUFFER_EXTRA
        self.buf_ids = np.empty(self.cap, np.int32)
        self.buf_steps = np.empty(self.cap, np.int64)
        self.no_total = np.zeros(1, np.int64)

    def run(self, st: _State, i0: int, L: int, n_base: int, ext_ptr, ext_idx, ext_total,
            check: bool):
        s, k = self.s, self.k
        count_ext = ext_total is not None
        total = ext_total if count_ext else self.no_total
        i = i0
        while True:
            status, i, n_spk, j = k.run_steps(
                i, L, n_base, s.N_E, st.V, st.U, st.ref_until,
                s.H2, s.Vth2, s.Vres2, s.R2, s.eif, s.K2, s.VT2, s.invDT2, s.xmax2, s.Vlb2,
                s.C, s.has_c, s.F3, s.W23, s.pre_indptr, s.pre_indices, s.ext_network,
                ext_ptr, ext_idx, s.x_indptr, s.x_indices, total, count_ext,
                s.rec_ids, s.rec_every, st.trace_V, st.trace_U, self.buf_ids,
                self.buf_steps, 0)
            if n_spk:
                st.ids.append(self.buf_ids[:n_spk].copy())
                st.steps.append(self.buf_steps[:n_spk].copy())
            if status == 0:
                return
            if status == 2:
                raise _NonFinite(j, n_base + i)
            # status 1: the buffer was nearly full and has been emptied; go on at step i


# ----------------------------------------------------------------------------- outputs
def _incoming(indptr, indices, src_counts, n_rows, block=1 << 20):
    """Sum of ``src_counts`` over the sources of every row of a CSR structure (int64).

    O(synapses), in blocks of about ``block`` synapses to bound the temporary memory.
    """
    out = np.zeros(n_rows, np.int64)
    cs = np.empty(block + 1, np.int64)
    for r0, r1 in row_chunks(indptr[:n_rows + 1], block):
        a, b = int(indptr[r0]), int(indptr[r1])
        if b > a:
            c = cs[:b - a + 1] if b - a <= block else np.empty(b - a + 1, np.int64)
            c[0] = 0
            np.cumsum(src_counts[indices[a:b]], out=c[1:])
            out[r0:r1] = c[indptr[r0 + 1:r1 + 1] - a] - c[indptr[r0:r1] - a]
    return out


def _finalise(s: _Setup, st: _State, network, params, n_done, U_start, ext_count, T, dt,
              drive, complete, message, backend, seed_rec, wall, external):
    N, pop = s.N, s.pop
    if st.ids:
        ids = np.concatenate(st.ids).astype(np.int32)
        steps = np.concatenate(st.steps).astype(np.int64)
    else:
        ids = np.zeros(0, np.int32)
        steps = np.zeros(0, np.int64)
    times = (steps + 1) * dt
    t0 = s.n0 * dt
    t1 = n_done * dt
    duration = (n_done - s.n0) * dt
    tau_m = np.array([nrn.tau_m for nrn in params.neurons])[pop]
    E_L = np.array([nrn.E_L for nrn in params.neurons])[pop]
    if duration > 0:
        win = steps >= s.n0
        n_win = np.bincount(ids[win], minlength=N).astype(np.int64)
        rate = n_win / duration
        cv = isi_cv(ids[win], times[win], N)
        count = np.zeros((N, 3), np.int64)
        post_ip = np.asarray(network.post_indptr, np.int64)
        post_ix = np.asarray(network.post_indices)
        max_row = int(np.diff(post_ip).max()) if N else 0
        if int(n_win.max(initial=0)) * max_row < 2 ** 31:
            # one pass for both sources: the I counts ride in the high 32 bits
            both = _incoming(post_ip, post_ix, np.where(pop == 0, n_win, n_win << 32), N)
            count[:, 0] = both & 0xFFFFFFFF
            count[:, 1] = both >> 32
        else:
            count[:, 0] = _incoming(post_ip, post_ix, np.where(pop == 0, n_win, 0), N)
            count[:, 1] = _incoming(post_ip, post_ix, np.where(pop == 1, n_win, 0), N)
        if s.ext_network:
            count[:, 2] = _incoming(np.asarray(network.ext_indptr, np.int64),
                                    np.asarray(network.ext_indices), ext_count, N)
        else:
            count[:, 2] = ext_count
        # time integral of dt-scaled currents U_b over the window, mV (see simulate Notes)
        integral = (s.tau_eff / dt)[None, :] * (U_start - st.U).T + s.J23[pop] * count
        mean_input = tau_m[:, None] * integral / duration
    else:
        rate = np.full(N, np.nan)
        cv = np.full(N, np.nan)
        mean_input = np.full((N, 3), np.nan)
        message = (message + "; " if message else "") + "the measurement window is empty"
    n_t = st.trace_V.shape[1]
    trace_times = np.arange(n_t) * s.rec_every * dt
    if s.rec_ids.size:
        n_rec_done = len(range(0, n_done, s.rec_every))
        trace_V = st.trace_V[:, :n_rec_done].copy()
        trace_input = (st.trace_U[:, :, :n_rec_done] * (tau_m[s.rec_ids] / dt)[:, None, None])
        trace_times = trace_times[:n_rec_done]
    else:
        trace_V = np.zeros((0, 0))
        trace_input = np.zeros((0, 3, 0))
    return SimulationResult(
        params=params, population=pop.copy(), spike_ids=ids, spike_times=times, rate=rate,
        cv=cv, mean_input=mean_input, E_L=E_L, drive=drive.copy(), T=T, dt=dt, t_start=t0,
        t_stop=t1, trace_ids=s.rec_ids.copy(), trace_times=trace_times, trace_V=trace_V,
        trace_input=trace_input, complete=complete, message=message, backend=backend,
        seed=seed_rec, seed_rule=SEED_RULE, wall_time=wall, external=external)


# ----------------------------------------------------------------------------- public
def simulate(network: Network, params: NetworkParams | None = None, T: float | None = None,
             dt: float = 1e-4, *, seed=None, record=None, burn_in: float = 0.2,
             record_every: int = 1, V0=None, drive=0.0, external: str = "poisson",
             backend: str = "auto", progress=None, rate_X=None) -> SimulationResult:
    r"""Simulate a LIF/EIF network with exponential synapses on a realised graph.

    Parameters
    ----------
    network : graphs.Network
        The realised network: recurrent connectivity (``pre_indptr``/``pre_indices``,
        ``post_indptr``/``post_indices``), external in-degrees ``k_X`` and, for
        ``external="network"``, explicit external sources (``ext_indptr``/``ext_indices``).
    params : NetworkParams, optional
        Weights, synaptic time constants, neurons and ``r_X`` to simulate with; default
        ``network.params``. Must equal ``network.params`` in the structural fields
        (N, q_*, p_*), else ``ValueError``.
    T : float
        Simulated duration, s, > 0 and an integer multiple of ``dt``.
    dt : float, optional
        Euler time step, s (default 1e-4). Allowed: ``dt <= tau_b/5`` for every
        ``tau_b > 0``, ``dt <= tau_ref`` when ``tau_ref > 0``, ``dt <= tau_m/5``.
    seed : int >= 0, numpy.random.SeedSequence, numpy.random.Generator or None
        Keyword-only. Noise: the stream ``"noise"`` of ``meanfield.seeding`` (sub-streams
        for the initial potentials and the external input), independent of the stream
        ``"graph"`` that ``sample_network`` draws from the same seed; pass the seed of the
        network. Same seed and arguments give identical spikes on both backends within one
        version of hetbalance. Recorded with the rule in ``seed`` and ``seed_rule``.
    record : array_like of int, optional
        Neurons whose membrane potential and synaptic inputs are traced.
    burn_in : float, optional
        Start of the measurement window, s, in [0, T), a multiple of ``dt`` (default 0.2).
        Rates, CVs and mean inputs are measured over ``(burn_in, T]``.
    record_every : int, optional
        Trace sampling interval in steps (default 1).
    V0 : float or array_like (N,), optional
        Initial membrane potentials, mV. Default: uniform in ``[V_r, theta)`` (LIF) or
        ``[V_re, V_T)`` (EIF), drawn from ``seed``.
    drive : float or array_like (N,), optional
        Constant extra input, mV: adds ``drive`` to the resting potential, so that the
        free membrane relaxes to ``E_L + drive`` (default 0).
    external : {"poisson", "network"}
        "poisson" (default): neuron j receives ``k_X[j]`` independent Poisson trains at
        ``r_X``. "network": the ``N_X`` external neurons of ``network`` spike as independent
        Poisson processes at ``r_X`` and are shared by their targets (input correlations).
    backend : {"auto", "numpy", "numba"}
        "auto" uses the compiled kernel when numba is installed, else numpy.
    progress : bool or None
        Progress bar on stderr after 2 s of wall time (``validation.progress.progress_bar``,
        needs tqdm): None (default) only on a terminal, False never, True always.
    rate_X : array_like (N_X,), optional
        Rate of each external source, Hz (default ``r_X`` for all), e.g. a localised
        stimulus on a spatial network (``graphs.sample_spatial_network``; docs/theory.md
        section 12). Needs explicit external sources. With ``external="poisson"`` neuron j
        receives independent Poisson input at :math:`\sum_{k \to j} r_{X,k}`.

    Returns
    -------
    SimulationResult
        Spikes (``spike_ids``, ``spike_times``), ``rate`` (N,), ``cv`` (N,),
        ``mean_input`` (N, 3) mV, traces, ``complete`` (False after Ctrl-C).

    Raises
    ------
    ValueError, TypeError
        Invalid arguments, or ``params`` that do not match ``network``.
    SimulationError
        The state became NaN or overflowed; names the neuron and the time, and carries the
        result simulated so far as ``.result``.

    Notes
    -----
    Model (docs/theory.md section 2). Neuron j of population a, synaptic currents
    :math:`I_b` (mV/s) from sources b = E, I, X:

    .. math::

        \tau_m \dot V = -(V - E_L) + \psi(V) + \tau_m (I_E + I_I + I_X) + \mathrm{drive},
        \qquad \dot I_b = -\frac{I_b}{\tau_b} + \frac{J_{ab}}{\tau_b}
        \sum_{k \in b} \sum_s \delta(t - t_k^s),

    :math:`\psi = 0` (LIF) or :math:`\Delta_T e^{(V - V_T)/\Delta_T}` (EIF). A spike
    adds :math:`J_{ab}/\tau_b` to :math:`I_b`, so the integral of the current it causes is
    exactly :math:`J_{ab}` (mV), the area of a delta kick; :math:`\tau_b = 0` is the delta
    synapse (V jumps by :math:`J_{ab}` one step after the spike). Spike when
    :math:`V \ge \theta` (LIF) or :math:`V \ge V_{th}` (EIF); reset; V clamped for
    ``ceil(tau_ref/dt)`` steps; EIF floor :math:`V \ge V_{lb}`. No transmission delay.

    Step n (forward Euler, state at :math:`t_n = n\,dt`):
    (1) :math:`V \leftarrow V (1 - dt/\tau_m) + (dt/\tau_m)(E_L + \mathrm{drive}) +
    (dt/\tau_m)\psi(V) + \sum_b dt\,I_b`, except for refractory neurons;
    (2) :math:`I_b \leftarrow I_b (1 - dt/\tau_b)`; (3) threshold, reset, spike recorded
    at :math:`t_{n+1}`; (4) the spikes of this step and the external events drawn for it
    add their kicks :math:`J_{ab}/\tau_b` to :math:`I_b`, one addition per synapse in a
    fixed order (spikes by ascending neuron index, each neuron's targets as stored, then the
    external events). With this discretisation the charge delivered by one spike,
    :math:`dt \sum_n I_b(t_n)`, is exactly J. A non-finite membrane potential after (1)
    stops the run with ``SimulationError`` (numpy: located by replaying the chunk).

    The EIF exponent is clipped at :math:`\min((V_{th} - V_T)/\Delta_T, 700)`: a
    membrane below the spike cut never reaches the clip, so it only acts on initial
    potentials above ``V_th`` and keeps :math:`e^x` finite (e^700 ~ 1e304).

    External input (``"poisson"``): the number of events of neuron j in a step is
    Poisson(:math:`k_{X,j} r_X dt`), independent across neurons and steps. Sampled exactly
    as the superposition: per step a Poisson(:math:`\Lambda = \sum_j k_{X,j} r_X dt`)
    number of events, each assigned to neuron j with probability
    :math:`k_{X,j}/\sum k_X` (uniform index, or Walker's alias table when the k_X differ).
    ``"network"``: the same for the N_X shared sources at rate r_X, whose events then reach
    all their targets. Random numbers come from numpy on both backends, in the same order.

    Mean inputs without per-step bookkeeping: with Euler decay the time integral of
    :math:`I_b` over the window :math:`(t_0, t_1]` is
    :math:`\tau_b [I_b(t_0) - I_b(t_1)] + J_{ab} C_b`, :math:`C_b` the number of spikes
    from b received in the window (exact, including the tails), so ``mean_input[j, b]``
    :math:`= \tau_m \langle I_b \rangle = \tau_m` (that integral) / (t_1 - t_0). For a
    balanced neuron the E and X parts are O(sqrt(K)) and cancel against I up to O(1)
    (docs/theory.md section 4, eq. (4.5):
    :math:`\mu_j = E_L + \tau_m(\sum_k J_{jk} r_k + J_{aX} K_{jX} r_X)`).

    Cost per step: O(N) for the neurons plus O(number of synapses of the spikes and
    external events of that step). Memory: the network's two index structures (8 bytes a
    synapse) plus O(N). Ctrl-C stops at the next chunk boundary (within 256 steps) and
    returns the result so far with ``complete=False``; a second Ctrl-C aborts.

    References
    ----------
    Brunel, J. Comput. Neurosci. 8, 183 (2000); Fourcaud-Trocme et al., J. Neurosci. 23,
    11628 (2003); the benchmark network of docs/theory.md section 8.2.

    Examples
    --------
    >>> import numpy as np
    >>> from graphs.network import Network
    >>> from meanfield import NetworkParams
    >>> p = NetworkParams.preset("lif_benchmark", N=100)
    >>> empty = np.zeros(p.N + 1, np.int64)
    >>> net = Network(p, np.repeat(np.int8([0, 1]), [p.N_E, p.N_I]), np.ones(p.N), empty,
    ...               np.zeros(0, np.int32), empty, np.zeros(0, np.int32),
    ...               np.zeros(p.N, np.int64))                     # no input at all
    >>> res = simulate(net, T=0.1, seed=1, burn_in=0.0, backend="numpy")
    >>> res.spike_ids.size
    0
    """
    params = _check_match(network, params)
    if T is None:
        raise TypeError("simulate() needs T, the simulated duration in s")
    settings = check_settings(params, T=T, dt=dt, burn_in=burn_in, backend=backend)
    T, dt, burn_in = settings["T"], settings["dt"], settings["burn_in"]
    n_steps, n0 = int(round(T / dt)), int(round(burn_in / dt))
    if external not in ("poisson", "network"):
        raise ValueError(f"external = {external!r} is not allowed; allowed: 'poisson', 'network'")
    backend_used, kernels = _choose_backend(backend)
    N = params.N
    pop = np.asarray(network.population, dtype=np.int8)
    drive = _per_neuron("drive", drive, N)
    s = _prepare(network, params, dt, n_steps, n0, drive, record, record_every, external,
                 _source_rates(network, params, rate_X))

    V0, g_ext, seed_rec = _initial_state(params, pop, V0, seed)
    st = _State(s, V0)
    stepper = _NumbaStepper(s, kernels) if backend_used == "numba" else _NumpyStepper(s)

    chunks = []
    for a, b in ((0, n0), (n0, n_steps)):
        for c in range(a, b, CHUNK_STEPS):
            chunks.append((c, min(CHUNK_STEPS, b - c)))

    U_start = np.zeros((3, N)) if n0 == 0 else None
    ext_count = np.zeros(s.n_src, np.int64)
    n_done = n_spikes = 0
    complete, message = True, "completed"
    bar = progress_bar(T, enabled=progress, desc="simulate", unit="s")
    t_loop = time.perf_counter()
    error = None
    with interrupt_guard() as flag, np.errstate(all="ignore"):
        for start, L in chunks:
            if start == n0 and n0 > 0:
                U_start = st.U.copy()
            ext_ptr, ext_idx = s.ext.draw(g_ext, L)
            snap = st.snapshot()
            count_before = ext_count.copy() if start >= n0 else None
            total = ext_count if start >= n0 else None
            try:
                stepper.run(st, 0, L, start, ext_ptr, ext_idx, total, check=False)
                if backend_used == "numpy" and not (np.all(np.isfinite(st.V))
                                                    and np.all(np.isfinite(st.U))):
                    st.restore(snap)    # replay the chunk with per-step checks to locate it
                    stepper.run(st, 0, L, start, ext_ptr, ext_idx, None, check=True)
                    bad = np.flatnonzero(~np.all(np.isfinite(st.U), axis=0))
                    raise _NonFinite(bad[0] if bad.size else 0, start + L - 1)
            except _NonFinite as exc:
                st.restore(snap)
                if count_before is not None:
                    ext_count[:] = count_before
                error = exc
                complete = False
                message = (f"stopped: non-finite state of neuron {exc.neuron} at t = "
                           f"{(exc.step + 1) * dt:.6g} s (step {exc.step})")
                break
            n_done = start + L
            n_spikes += sum(a.size for a in st.ids[snap[4]:])
            bar.set_postfix_str(f"mean rate {n_spikes / (N * n_done * dt):.3g} Hz", refresh=False)
            bar.update(n_done * dt - bar.n)
            if flag.requested:
                complete = False
                message = f"interrupted (Ctrl-C) at t = {n_done * dt:.6g} s of T = {T:g} s"
                break
    if not complete:
        bar.set_postfix_str(message)
    bar.close()
    wall = time.perf_counter() - t_loop
    if U_start is None:   # stopped before the measurement window started
        U_start = st.U.copy()
    result = _finalise(s, st, network, params, n_done, U_start, ext_count, T, dt, drive,
                       complete, message, backend_used, seed_rec, wall, external)
    if error is not None:
        raise SimulationError(
            f"simulate: the state of neuron {error.neuron} became non-finite (NaN or overflow) "
            f"at t = {(error.step + 1) * dt:.6g} s (step {error.step}); check the weights, "
            f"drive and dt. The result up to t = {n_done * dt:.6g} s is attached as .result",
            neuron=error.neuron, time=(error.step + 1) * dt, result=result)
    return result

"""The frozen result of a spiking simulation, with spike statistics computed from it.

``SimulationResult`` holds the flat spike record (``spike_ids``, ``spike_times``), the
per-neuron rates, ISI CVs and time-averaged synaptic inputs split by source over the
measurement window, optional membrane and input traces, and the provenance of the run.
Statistics over other windows (``rates``, ``isi_cv``, ``binned_rate``) are computed from
the spike record on request; nothing is cached on the object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from meanfield.diagnostics import balance_index
from meanfield.params import NetworkParams, SOURCES, population_index

__all__ = ["SimulationResult", "SimulationError", "spike_counts", "isi_cv"]


class SimulationError(FloatingPointError):
    """The state of a simulation became non-finite (NaN or overflow).

    Attributes
    ----------
    neuron : int
        Index of the first neuron whose state was found non-finite.
    time : float
        Time, s, at which it was found (end of the Euler step that produced it).
    result : SimulationResult or None
        What was simulated before the failing chunk, marked incomplete.
    """

    def __init__(self, message: str, neuron: int, time: float, result=None):
        super().__init__(message)
        self.neuron = int(neuron)
        self.time = float(time)
        self.result = result


def _readonly(a):
    if isinstance(a, np.ndarray):
        a.setflags(write=False)
    return a


def _window_mask(spike_times: np.ndarray, t_start: float, t_stop: float, dt: float) -> np.ndarray:
    # Spike times are multiples of dt; the window (t_start, t_stop] is decided on the
    # integer step grid so that rounding never moves a spike across a window edge.
    k = np.rint(spike_times / dt)
    return (k > round(t_start / dt)) & (k <= round(t_stop / dt))


def spike_counts(spike_ids: np.ndarray, N: int) -> np.ndarray:
    """Count the spikes of every neuron: int64 array of shape (N,). O(S)."""
    return np.bincount(np.asarray(spike_ids, dtype=np.intp), minlength=N).astype(np.int64)


def isi_cv(spike_ids: np.ndarray, spike_times: np.ndarray, N: int, min_spikes: int = 3) -> np.ndarray:
    r"""Coefficient of variation of the inter-spike intervals of every neuron.

    Parameters
    ----------
    spike_ids, spike_times : ndarray, shape (S,)
        Flat spike record (ids in [0, N), times in s, any order).
    N : int
        Number of neurons.
    min_spikes : int, optional
        Neurons with fewer spikes get NaN (default 3, i.e. at least two intervals).

    Returns
    -------
    ndarray, shape (N,)
        :math:`\mathrm{CV}_j = \mathrm{std}(\mathrm{ISI}_j) / \mathrm{mean}(\mathrm{ISI}_j)`
        (population standard deviation, ``ddof=0``); NaN where undefined.

    Notes
    -----
    Two-pass (mean, then squared deviations) per neuron, vectorised with ``bincount``;
    O(S log S) for the sort by neuron.
    """
    ids = np.asarray(spike_ids, dtype=np.intp)
    t = np.asarray(spike_times, dtype=float)
    out = np.full(N, np.nan)
    if ids.size < 2:
        return out
    order = np.lexsort((t, ids))
    ids, t = ids[order], t[order]
    same = ids[1:] == ids[:-1]
    isi = np.diff(t)[same]
    owner = ids[1:][same]
    n_isi = np.bincount(owner, minlength=N)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(owner, weights=isi, minlength=N) / n_isi
        dev = isi - mean[owner]
        var = np.bincount(owner, weights=dev * dev, minlength=N) / n_isi
        cv = np.sqrt(var) / mean
    ok = n_isi >= max(int(min_spikes) - 1, 1)
    out[ok] = cv[ok]
    return out


class SpikeRecord:
    """Views shared by every flat spike record of N neurons.

    The records are ``SimulationResult`` and ``NestResult`` of ``validation.nest_export``.

    Subclasses provide ``population``, ``spike_ids``, ``spike_times``, ``dt``, ``t_start``
    and ``t_stop``.
    """

    @property
    def N(self) -> int:
        """Number of neurons."""
        return int(self.population.shape[0])

    @property
    def duration(self) -> float:
        """Length of the measurement window ``t_stop - t_start``, s."""
        return self.t_stop - self.t_start

    def _window(self, t_start, t_stop):
        t0 = self.t_start if t_start is None else float(t_start)
        t1 = self.t_stop if t_stop is None else float(t_stop)
        if not (0.0 <= t0 < t1 <= self.t_stop + 0.5 * self.dt):
            raise ValueError(f"window (t_start, t_stop] = ({t0!r}, {t1!r}] s is out of range; "
                             f"allowed: 0 <= t_start < t_stop <= {self.t_stop!r} s")
        return t0, t1

    def rates(self, t_start=None, t_stop=None) -> np.ndarray:
        """Compute the firing rate of every neuron over ``(t_start, t_stop]``, Hz, shape (N,).

        Parameters
        ----------
        t_start, t_stop : float, optional
            Window in s; defaults to the measurement window.
        """
        t0, t1 = self._window(t_start, t_stop)
        m = _window_mask(self.spike_times, t0, t1, self.dt)
        return spike_counts(self.spike_ids[m], self.N) / (t1 - t0)


@dataclass(frozen=True, repr=False, eq=False)
class SimulationResult(SpikeRecord):
    r"""Result of ``validation.simulate`` (frozen; arrays are read-only).

    Measurement window: spikes and inputs are averaged over ``(t_start, t_stop]`` with
    ``t_start`` the burn-in and ``t_stop`` the time actually reached (``T`` unless the run
    was interrupted).

    Attributes
    ----------
    params : NetworkParams
        Parameters simulated (weights, time constants, neurons).
    population : ndarray of int8, shape (N,)
        0 for E, 1 for I.
    spike_ids : ndarray of int32, shape (S,)
        Neuron of every spike, in time order.
    spike_times : ndarray of float64, shape (S,)
        Time of every spike, s: the end of the Euler step in which V crossed threshold,
        so a multiple of ``dt`` in (0, t_stop].
    rate : ndarray, shape (N,)
        Firing rate of every neuron over the window, Hz.
    cv : ndarray, shape (N,)
        ISI coefficient of variation over the window (NaN for fewer than 3 spikes).
    mean_input : ndarray, shape (N, 3)
        Time-averaged synaptic input of every neuron from E, I and X over the window, mV:
        :math:`\tau_m \langle I_b(t) \rangle_t`, so that
        :math:`\mu_j = E_L + \mathrm{drive}_j + \sum_b` ``mean_input[j, b]`` in the
        units of docs/theory.md section 4.
    E_L : ndarray, shape (N,)
        Leak potential of every neuron, mV.
    drive : ndarray, shape (N,)
        Constant extra input of every neuron, mV (0 unless ``simulate(drive=...)``).
    T, dt : float
        Requested duration and time step, s.
    t_start, t_stop : float
        Measurement window, s.
    trace_ids : ndarray of int, shape (M,)
        Neurons whose traces were recorded (empty if none).
    trace_times : ndarray, shape (n_t,)
        Times of the trace samples, s (the state at the start of each sampled step).
    trace_V : ndarray, shape (M, n_t)
        Membrane potential, mV.
    trace_input : ndarray, shape (M, 3, n_t)
        Synaptic input :math:`\tau_m I_b(t)` from E, I, X, mV.
    complete : bool
        False if the run was interrupted (Ctrl-C) or stopped by an error.
    message : str
        How the run ended.
    backend : str
        ``"numpy"`` or ``"numba"``.
    seed : int, dict or None
        The noise seed: the int given, or ``{"entropy", "spawn_key"}`` for a SeedSequence,
        None or Generator seed (``meanfield.seeding.resolve_seed``).
    wall_time : float
        Seconds spent in the time-stepping loop.
    external : str
        ``"poisson"`` (independent inputs per neuron) or ``"network"`` (shared sources).
    seed_rule : str or None
        The rule that turned ``seed`` into the noise (``meanfield.seeding.SEED_RULE``).
    """

    params: NetworkParams
    population: np.ndarray
    spike_ids: np.ndarray
    spike_times: np.ndarray
    rate: np.ndarray
    cv: np.ndarray
    mean_input: np.ndarray
    E_L: np.ndarray
    drive: np.ndarray
    T: float
    dt: float
    t_start: float
    t_stop: float
    trace_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    trace_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    trace_V: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    trace_input: np.ndarray = field(default_factory=lambda: np.zeros((0, 3, 0)))
    complete: bool = True
    message: str = ""
    backend: str = "numpy"
    seed: object = None
    wall_time: float = 0.0
    external: str = "poisson"
    seed_rule: str | None = None

    def __post_init__(self):
        for f in ("population", "spike_ids", "spike_times", "rate", "cv", "mean_input", "E_L",
                  "drive", "trace_ids", "trace_times", "trace_V", "trace_input"):
            _readonly(getattr(self, f))

    # ------------------------------------------------------------------ balance
    @property
    def mu(self) -> np.ndarray:
        r"""Time-averaged total input of every neuron, mV, shape (N,).

        :math:`\mu_j = E_L + \mathrm{drive}_j + \sum_b` ``mean_input[j, b]``.
        """
        return self.E_L + self.drive + self.mean_input.sum(axis=1)

    @property
    def balance_index(self) -> np.ndarray:
        r"""Net synaptic input over its excitatory part, shape (N,), dimensionless.

        :math:`|\sum_b \bar\mu_b| / (\bar\mu_E + \bar\mu_X)` (docs/theory.md section 6).

        Small (O(1/sqrt(K))) for a balanced neuron, O(1) when excitation is not cancelled.
        NaN for a neuron without excitatory input.
        """
        return balance_index(self.mean_input.sum(axis=1),
                             self.mean_input[:, 0] + self.mean_input[:, 2])

    # ------------------------------------------------------------------ rates
    @property
    def population_rate(self) -> np.ndarray:
        """Mean rate of the E and of the I population over the window, Hz, shape (2,)."""
        return np.array([self.rate[self.population == a].mean() if np.any(self.population == a)
                         else np.nan for a in (0, 1)])

    @property
    def mean_rate(self) -> float:
        """Mean rate over all neurons and the window, Hz."""
        return float(self.rate.mean())

    @property
    def mean_cv(self) -> float:
        """Mean ISI CV over the neurons where it is defined (NaN if none)."""
        ok = np.isfinite(self.cv)
        return float(self.cv[ok].mean()) if np.any(ok) else math.nan

    def isi_cv(self, t_start=None, t_stop=None, min_spikes: int = 3) -> np.ndarray:
        """ISI coefficient of variation of every neuron over ``(t_start, t_stop]``.

        Returns an array of shape (N,), NaN for neurons with fewer than ``min_spikes``
        spikes in the window. See ``validation.result.isi_cv`` for the estimator.
        """
        t0, t1 = self._window(t_start, t_stop)
        m = _window_mask(self.spike_times, t0, t1, self.dt)
        return isi_cv(self.spike_ids[m], self.spike_times[m], self.N, min_spikes)

    def binned_rate(self, bin_width: float, population=None, t_start=0.0, t_stop=None):
        """Compute the population rate in bins, Hz per neuron.

        Parameters
        ----------
        bin_width : float
            Bin width, s, a positive multiple of ``dt``.
        population : None, "E", "I", 0 or 1
            Which neurons (default all).
        t_start, t_stop : float, optional
            Range, s (default the whole run, ``(0, t_stop]``).

        Returns
        -------
        t : ndarray, shape (n,)
            Bin centres, s.
        rate : ndarray, shape (n,)
            Spikes per neuron per second in each bin ``(t_k, t_k + bin_width]``.
        """
        t0, t1 = self._window(t_start, t_stop)
        m = int(round(bin_width / self.dt))
        if m < 1 or abs(m * self.dt - bin_width) > 1e-9 * max(bin_width, self.dt):
            raise ValueError(f"bin_width = {bin_width!r} s is out of range; allowed: a positive "
                             f"multiple of dt = {self.dt!r} s")
        k0, k1 = int(round(t0 / self.dt)), int(round(t1 / self.dt))
        n_bins = max((k1 - k0) // m, 1)
        sel = self._population_mask(population)
        k = np.rint(self.spike_times / self.dt).astype(np.int64)
        keep = (k > k0) & (k <= k0 + n_bins * m) & sel[self.spike_ids]
        counts = np.bincount((k[keep] - k0 - 1) // m, minlength=n_bins)[:n_bins]
        n_neurons = max(int(sel.sum()), 1)
        centres = (k0 + (np.arange(n_bins) + 0.5) * m) * self.dt
        return centres, counts / (n_neurons * m * self.dt)

    def _population_mask(self, population) -> np.ndarray:
        if population is None:
            return np.ones(self.N, dtype=bool)
        return self.population == population_index(population)

    # ------------------------------------------------------------------ other libraries
    def to_neo(self, network=None, *, t_start=None, t_stop=None):
        """Return the spikes as a ``neo.Segment`` of ``neo.SpikeTrain`` objects (for Elephant).

        One train per neuron, times in s over the window ``(t_start, t_stop]`` (default the
        measurement window), annotated with population and, given ``network``, label and
        in-degrees. Needs ``pip install 'hetbalance[neo]'``; see
        ``validation.neo_export.to_neo``.

        Returns
        -------
        neo.Segment
        """
        from validation.neo_export import to_neo
        return to_neo(self, network, t_start=t_start, t_stop=t_stop)

    def plot(self, *, n_raster: int = 50, bin_width: float = 0.01, title: str | None = None):
        """Plot a raster of a sample of neurons, the population rates and the rate histogram.

        ``n_raster`` neurons per population; population rates in bins of ``bin_width`` s.
        Needs matplotlib (``pip install 'hetbalance[figures]'``); see
        ``validation.plotting.plot_simulation``.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from validation.plotting import plot_simulation
        return plot_simulation(self, n_raster=n_raster, bin_width=bin_width, title=title)

    # ------------------------------------------------------------------ display
    def summary(self) -> str:
        """Return a few lines for humans: window, rates, CV and the balance of the mean inputs."""
        rE, rI = self.population_rate
        mi = [self.mean_input[self.population == a].mean(axis=0) for a in (0, 1)]
        lines = [
            f"SimulationResult: N = {self.N}, T = {self.T:g} s, dt = {self.dt:g} s, "
            f"window ({self.t_start:g}, {self.t_stop:g}] s, backend {self.backend}, "
            f"{'complete' if self.complete else 'INCOMPLETE: ' + self.message}",
            f"  rates: E {rE:.3f} Hz, I {rI:.3f} Hz; mean ISI CV {self.mean_cv:.3f}; "
            f"{self.spike_ids.size} spikes",
        ]
        for a, name in enumerate("EI"):
            parts = ", ".join(f"{s} {mi[a][b]:+.2f}" for b, s in enumerate(SOURCES))
            lines.append(f"  mean input to {name} (mV): {parts}; net {mi[a].sum():+.2f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        rE, rI = self.population_rate
        state = "complete" if self.complete else "incomplete"
        return (f"SimulationResult(N={self.N}, T={self.T:g}, window=({self.t_start:g}, "
                f"{self.t_stop:g}], spikes={self.spike_ids.size}, rate_E={rE:.3f} Hz, "
                f"rate_I={rI:.3f} Hz, {state}, backend={self.backend!r})")

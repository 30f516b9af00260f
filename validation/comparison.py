"""Theory against simulation: rate against degree label, per-neuron rates, balance.

``compare(theory, sim, network)`` bins the neurons of each population by their degree
label, puts the simulated mean rate of each bin (with its standard error) beside the
degree-space theory evaluated at the same neurons' labels, compares the neuron-level
theory (``solve_network``) neuron by neuron, and reads the balance of every neuron from
the recorded mean inputs (docs/theory.md sections 4 and 6).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from meanfield.checks import check_array, check_int
from meanfield.diagnostics import SILENT_RATE, balance_index, fraction_below, no_spike_fraction
from meanfield.labels import quantile_bins
from meanfield.params import POPULATIONS, population_index

__all__ = ["compare", "Comparison", "PopulationComparison", "scalar_label", "theory_at",
           "linear_fit", "QUANTILES"]

QUANTILES = (0.1, 0.5, 0.9)
"""Default probabilities of the rate quantiles ``compare`` reports."""


def scalar_label(label: np.ndarray) -> np.ndarray:
    """Return the scalar label coordinate used for binning: the label, or its in-factor."""
    label = np.asarray(label, dtype=float)
    return label if label.ndim == 1 else label[:, 0]


def theory_at(theory, population: int, label) -> np.ndarray:
    """Degree-space theory rate of ``population`` at the given scalar labels (Hz).

    Linear interpolation of ``theory.rate[a]`` over ``theory.label[a]`` (nodes with zero
    weight ignored); constant outside the node range.
    """
    x = np.asarray(theory.label[population], float)
    y = np.asarray(theory.rate[population], float)
    keep = np.asarray(theory.weights[population]) > 0
    x, y = x[keep], y[keep]
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    if x.size == 1 or np.ptp(x) == 0:
        return np.full(np.shape(label), float(np.sum(y * theory.weights[population][keep][order])
                                                / np.sum(theory.weights[population][keep])))
    return np.interp(np.asarray(label, float), x, y)


def linear_fit(x, y):
    """Least-squares slope of y against x and its standard error: (slope, se)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3 or np.ptp(x) == 0:
        return float("nan"), float("nan")
    xc = x - x.mean()
    sxx = float(np.sum(xc * xc))
    slope = float(np.sum(xc * (y - y.mean())) / sxx)
    resid = y - y.mean() - slope * xc
    se = float(np.sqrt(np.sum(resid**2) / (x.size - 2) / sxx))
    return slope, se


@dataclass(frozen=True, eq=False)
class PopulationComparison:
    """Theory against simulation for one population (arrays per label bin unless noted).

    Attributes
    ----------
    population : str
        "E" or "I".
    bin_edges : ndarray (n_bins + 1,)
        Label edges of the bins (``meanfield.labels.quantile_bins``): the smallest and
        largest label, and between bins the midpoint of the largest label of one bin and
        the smallest of the next; bin k holds labels in ``[bin_edges[k], bin_edges[k+1]]``.
    label_mean : ndarray (n_bins,)
        Mean label of the neurons in each bin.
    count : ndarray (n_bins,)
        Neurons per bin.
    sim_rate, sim_se : ndarray (n_bins,)
        Simulated mean rate and its standard error (sd / sqrt(count)), Hz.
    theory_rate : ndarray (n_bins,)
        Degree-space theory averaged over the bin's neurons, Hz (NaN without theory).
    z : ndarray (n_bins,)
        (sim - theory) / sim_se.
    neuron_theory_rate : ndarray (n_bins,)
        Neuron-level theory averaged over the bin (NaN without it), Hz.
    sim_slope, theory_slope : float
        Slope of rate against label (least squares over neurons; theory over the same
        neurons' labels), Hz per unit label.
    mean_input : ndarray (3,)
        Population mean of the recorded E, I, X inputs, mV.
    net_input_slope, net_input_slope_se : float
        Slope of each neuron's recorded net mean input (E + I + X) against its label, mV
        per unit label.
    net_input_spread : float
        Standard deviation of the net mean input across neurons, mV.
    balance_index : float
        Median over neurons of ``|net input| / (E + X input)``.
    fraction_silent : float
        Fraction of neurons with simulated rate below ``silent_rate``.
    neuron_corr, neuron_rms : float
        Pearson correlation and RMS difference (Hz) of simulated and neuron-level theory
        rates over the population's neurons (NaN without neuron-level theory).
    sim_mean_rate, theory_mean_rate : float
        Population mean rate, Hz: simulated, and the degree-space theory at each neuron's
        label averaged over the neurons (NaN without theory).
    no_spike_fraction : float
        Fraction of the population's neurons with no spike in the measured window
        ("silent" as a finite simulation measures it).
    theory_zero_spike_fraction : float
        The theory's prediction of it, ``MeanFieldResult.zero_spike_fraction(duration)``
        (NaN without theory).
    quantiles : ndarray (k,)
        Probabilities of the rate quantiles below.
    sim_rate_quantiles, theory_rate_quantiles : ndarray (k,)
        Quantiles of the rate across the population's neurons, Hz: simulated
        (``numpy.quantile``) and the theory's ``MeanFieldResult.rate_quantiles`` (the
        mixture over labels and, with ``spread``, over the spread within a label).
    neuron_label, neuron_rate, neuron_theory, neuron_network_theory : ndarray (n,)
        Per neuron of the population (network order): scalar label, simulated rate (Hz),
        degree-space theory at its label (Hz) and neuron-level theory (Hz; NaN without
        them); the data of the per-neuron scatter of ``Comparison.plot``.
    """

    population: str
    bin_edges: np.ndarray
    label_mean: np.ndarray
    count: np.ndarray
    sim_rate: np.ndarray
    sim_se: np.ndarray
    theory_rate: np.ndarray
    z: np.ndarray
    neuron_theory_rate: np.ndarray
    sim_slope: float
    theory_slope: float
    mean_input: np.ndarray
    net_input_slope: float
    net_input_slope_se: float
    net_input_spread: float
    balance_index: float
    fraction_silent: float
    neuron_corr: float
    neuron_rms: float
    sim_mean_rate: float
    theory_mean_rate: float
    no_spike_fraction: float = float("nan")
    theory_zero_spike_fraction: float = float("nan")
    quantiles: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sim_rate_quantiles: np.ndarray = field(default_factory=lambda: np.zeros(0))
    theory_rate_quantiles: np.ndarray = field(default_factory=lambda: np.zeros(0))
    neuron_label: np.ndarray = field(default_factory=lambda: np.zeros(0))
    neuron_rate: np.ndarray = field(default_factory=lambda: np.zeros(0))
    neuron_theory: np.ndarray = field(default_factory=lambda: np.zeros(0))
    neuron_network_theory: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def agreement(self, rel: float = 0.2, abs_hz: float = 0.5, n_se: float = 3.0,
                  min_count: int = 200, min_theory_rate: float = 1.0) -> np.ndarray:
        """Per bin: True where ``|sim - theory| <= max(rel * theory, abs_hz, n_se * SE)``.

        Only bins with ``count >= min_count`` and ``theory_rate >= min_theory_rate`` are
        judged; the others are True. (The figures use 20 %, 0.5 Hz, 3 SE: relative for high
        rates, absolute near 0 Hz, and the sampling error of small bins.)
        """
        tol = np.maximum.reduce([rel * self.theory_rate, np.full_like(self.theory_rate, abs_hz),
                                 n_se * self.sim_se])
        ok = np.abs(self.sim_rate - self.theory_rate) <= tol
        judged = (self.count >= min_count) & (self.theory_rate >= min_theory_rate)
        return np.where(judged, ok, True)

    def judged_bins(self, min_count: int = 200, min_theory_rate: float = 1.0) -> np.ndarray:
        """Return True for the bins that ``agreement`` judges, False for the others.

        Judged: ``count >= min_count`` neurons and ``theory_rate >= min_theory_rate`` (Hz).
        """
        return (self.count >= min_count) & (self.theory_rate >= min_theory_rate)


@dataclass(frozen=True, eq=False)
class Comparison:
    """Result of ``compare``: one ``PopulationComparison`` per population.

    Attributes
    ----------
    populations : tuple of PopulationComparison
        E, then I (also ``self.E``, ``self.I``, ``self["E"]``).
    N : int
        Number of neurons of the network.
    duration : float
        Measured simulation time, s.
    extra : dict
        Free-form additions (empty from ``compare``).
    """

    populations: tuple
    N: int
    duration: float
    extra: dict = field(default_factory=dict)

    def __getitem__(self, pop) -> PopulationComparison:
        return self.populations[population_index(pop)]

    @property
    def E(self) -> PopulationComparison:
        """The comparison of the excitatory population."""
        return self.populations[0]

    @property
    def I(self) -> PopulationComparison:  # noqa: E743 - the paper's population name
        """The comparison of the inhibitory population."""
        return self.populations[1]

    def plot(self, *, title: str | None = None):
        """Plot theory against simulation per label bin and neuron by neuron, per population.

        Needs matplotlib (``pip install 'hetbalance[figures]'``); see
        ``validation.plotting.plot_comparison``.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from validation.plotting import plot_comparison
        return plot_comparison(self, title=title)

    def summary(self) -> str:
        """Return a table a person can read: theory and simulation per label bin."""
        lines = [f"theory vs simulation: N = {self.N}, {self.duration:g} s measured"]
        for pc in self.populations:
            lines.append(f"{pc.population}: mean rate sim {pc.sim_mean_rate:.3f} Hz, theory "
                         f"{pc.theory_mean_rate:.3f} Hz; slope d rate/d label sim "
                         f"{pc.sim_slope:.3g}, theory {pc.theory_slope:.3g} Hz")
            lines.append(f"   inputs E/I/X {pc.mean_input[0]:.2f}/{pc.mean_input[1]:.2f}/"
                         f"{pc.mean_input[2]:.2f} mV; net-input slope {pc.net_input_slope:.3g} "
                         f"+/- {pc.net_input_slope_se:.2g} mV/label, spread "
                         f"{pc.net_input_spread:.3g} mV, balance index {pc.balance_index:.3g}, "
                         f"silent {pc.fraction_silent:.3f}")
            if pc.quantiles.size:
                qs = "/".join(f"{100 * q:g}" for q in pc.quantiles)
                lines.append(f"   no spike in the window: sim {pc.no_spike_fraction:.3f}, theory "
                             f"{pc.theory_zero_spike_fraction:.3f}; rate quantiles {qs} %: sim "
                             + "/".join(f"{x:.3g}" for x in pc.sim_rate_quantiles) + " Hz, theory "
                             + "/".join(f"{x:.3g}" for x in pc.theory_rate_quantiles) + " Hz")
            if np.isfinite(pc.neuron_corr):
                lines.append(f"   per neuron: corr {pc.neuron_corr:.3f}, RMS {pc.neuron_rms:.3f} Hz")
            lines.append("   label     n   sim +/- SE      theory    z")
            for i in range(len(pc.count)):
                lines.append(f"   {pc.label_mean[i]:6.3f} {pc.count[i]:5d}  {pc.sim_rate[i]:7.3f} "
                             f"+/- {pc.sim_se[i]:5.3f}  {pc.theory_rate[i]:8.3f} {pc.z[i]:6.2f}")
        return "\n".join(lines)


def _bin_edges(lab, which, nb) -> np.ndarray:
    """(nb + 1,) edges of non-empty bins: the extreme labels, midpoints between neighbours."""
    if nb == 0:
        return np.zeros(1)
    lo, hi = np.full(nb, np.inf), np.full(nb, -np.inf)
    np.minimum.at(lo, which, lab)
    np.maximum.at(hi, which, lab)
    return np.concatenate([lo[:1], 0.5 * (hi[:-1] + lo[1:]), hi[-1:]])


def compare(theory, sim, network, *, network_theory=None, n_bins: int = 10,
            silent_rate: float = SILENT_RATE, quantiles=QUANTILES) -> Comparison:
    r"""Compare a mean-field theory with a spiking simulation of a realised network.

    Parameters
    ----------
    theory : MeanFieldResult, SpatialResult or None
        Degree-space solution (``meanfield.solve``) for the network's params and model. A
        ``SpatialResult`` (spatial models) is compared by position bins instead:
        ``validation.spatial.compare_spatial`` (returns a ``SpatialComparison``).
    sim : SimulationResult
        ``validation.simulate`` of ``network`` (rates and recorded mean inputs).
    network : graphs.Network
        Gives each neuron's population and label.
    network_theory : NetworkMeanFieldResult, optional
        Neuron-level theory (``meanfield.solve_network``) of the same network.
    n_bins : int
        Label quantile bins per population (>= 1): ``meanfield.labels.quantile_bins``,
        equal-count bins by rank (one bin per value when the labels take at most
        ``n_bins`` values).
    silent_rate : float
        Hz; neurons below it count as silent.
    quantiles : sequence of float
        Probabilities in [0, 1] of the rate quantiles reported (default ``QUANTILES``:
        10, 50 and 90 %).

    Returns
    -------
    Comparison

    Notes
    -----
    Net mean input of neuron j is :math:`\sum_b \tau_m\langle I_b\rangle` from the
    recorded inputs, i.e. :math:`\mu_j - E_L`. Its slope against the label grows like
    sqrt(N) where balance breaks (Case B) and stays O(1) where it holds.
    """
    from meanfield.spatial import SpatialResult
    if isinstance(theory, SpatialResult):      # spatial networks: by position (and kappa)
        from .spatial import compare_spatial
        return compare_spatial(theory, sim, network, n_bins=n_bins)
    n_bins = check_int("n_bins", n_bins, lo=1)
    quantiles = check_array("quantiles", quantiles, lo=0.0, hi=1.0).ravel()
    if sim.N != network.N:
        raise ValueError(f"sim has {sim.N} neurons but network has {network.N}")
    label = scalar_label(network.label)
    pops = []
    for a, name in enumerate(POPULATIONS):
        idx = np.flatnonzero(network.population == a)
        lab = label[idx]
        rate = np.asarray(sim.rate)[idx]
        inp = np.asarray(sim.mean_input)[idx]
        net = inp.sum(axis=1)
        th_neuron = theory_at(theory, a, lab) if theory is not None else np.full(idx.size, np.nan)
        nt = (np.asarray(network_theory.rate)[idx] if network_theory is not None
              else np.full(idx.size, np.nan))
        which, nb = quantile_bins(lab, n_bins)
        edges = _bin_edges(lab, which, nb)
        count = np.bincount(which, minlength=nb)
        with np.errstate(invalid="ignore", divide="ignore"):
            def bmean(x):
                return np.bincount(which, weights=x, minlength=nb) / count
            sim_rate = bmean(rate)
            var = bmean(rate**2) - sim_rate**2
            sim_se = np.sqrt(np.maximum(var, 0) * count / np.maximum(count - 1, 1) / count)
            theory_rate = bmean(th_neuron)
            z = (sim_rate - theory_rate) / sim_se
            neuron_theory_rate = bmean(nt)
        bidx = balance_index(net, inp[:, 0] + inp[:, 2])
        s_slope, _ = linear_fit(lab, rate)
        t_slope, _ = linear_fit(lab, th_neuron)
        n_slope, n_se = linear_fit(lab, net)
        if network_theory is not None and idx.size > 2 and np.std(rate) > 0 and np.std(nt) > 0:
            corr = float(np.corrcoef(rate, nt)[0, 1])
            rms = float(np.sqrt(np.mean((rate - nt) ** 2)))
        else:
            corr = rms = float("nan")
        th_q, th_zero = np.full(quantiles.size, np.nan), float("nan")
        if idx.size and hasattr(theory, "rate_quantiles"):      # a MeanFieldResult
            th_q = np.asarray(theory.rate_quantiles(quantiles), float)[a]
            th_zero = float(theory.zero_spike_fraction(float(sim.duration))[a])
        pops.append(PopulationComparison(
            population=name, bin_edges=edges, label_mean=bmean(lab), count=count,
            sim_rate=sim_rate, sim_se=sim_se, theory_rate=theory_rate, z=z,
            neuron_theory_rate=neuron_theory_rate, sim_slope=s_slope, theory_slope=t_slope,
            mean_input=inp.mean(axis=0) if idx.size else np.full(3, np.nan),
            net_input_slope=n_slope, net_input_slope_se=n_se,
            net_input_spread=float(np.std(net)) if idx.size else float("nan"),
            balance_index=float(np.nanmedian(bidx)) if idx.size else float("nan"),
            fraction_silent=float(fraction_below(rate, silent_rate)) if idx.size else float("nan"),
            neuron_corr=corr, neuron_rms=rms,
            sim_mean_rate=float(rate.mean()) if idx.size else float("nan"),
            theory_mean_rate=float(np.mean(th_neuron)) if idx.size else float("nan"),
            no_spike_fraction=float(no_spike_fraction(rate)) if idx.size else float("nan"),
            theory_zero_spike_fraction=th_zero, quantiles=quantiles.copy(),
            sim_rate_quantiles=(np.quantile(rate, quantiles) if idx.size
                                else np.full(quantiles.size, np.nan)),
            theory_rate_quantiles=th_q, neuron_label=lab, neuron_rate=rate,
            neuron_theory=th_neuron, neuron_network_theory=nt))
    return Comparison(tuple(pops), N=network.N, duration=float(sim.duration))

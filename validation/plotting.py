"""Plots of simulation results and of theory-against-simulation comparisons.

``plot_simulation`` draws a raster of a sample of neurons, the population rates over time
and the histogram of the neurons' rates; ``plot_comparison`` draws the theory against the
simulated label bins and the per-neuron scatter. matplotlib is the optional extra
``figures`` (``meanfield.plotting.require_matplotlib`` names it when it is missing).
"""

from __future__ import annotations

import numpy as np

from meanfield.params import POPULATIONS
from meanfield.plotting import POPULATION_COLORS, new_figure

__all__ = ["raster_sample", "plot_simulation", "plot_comparison"]


def raster_sample(population: np.ndarray, n_per_population: int) -> np.ndarray:
    """Neurons shown in the raster: up to ``n_per_population`` of each population, evenly spaced.

    Parameters
    ----------
    population : ndarray of int, shape (N,)
        0 for E, 1 for I.
    n_per_population : int
        Neurons per population (>= 1); all of a smaller population.

    Returns
    -------
    ndarray of int, shape (M,)
        Neuron indices, E first then I, increasing within each population. Deterministic
        (``numpy.linspace`` over each population's indices), so no seed is needed.
    """
    n = int(n_per_population)
    if n < 1:
        raise ValueError(f"n_per_population = {n_per_population!r} is out of range; allowed: >= 1")
    out = []
    for a in range(len(POPULATIONS)):
        idx = np.flatnonzero(np.asarray(population) == a)
        if idx.size > n:
            idx = idx[np.unique(np.linspace(0, idx.size - 1, n).round().astype(np.int64))]
        out.append(idx)
    return np.concatenate(out).astype(np.int64)


def _bin_width(dt: float, requested: float) -> float:
    return max(1, int(round(requested / dt))) * dt


def plot_simulation(sim, *, n_raster: int = 50, bin_width: float = 0.01, bins: int = 40,
                    title: str | None = None):
    r"""Plot a raster of a sample of neurons, the population rates over time and the rate histogram.

    Parameters
    ----------
    sim : SimulationResult
        Result of ``validation.simulate``.
    n_raster : int
        Neurons per population in the raster (``raster_sample``), default 50.
    bin_width : float
        Bin of the population rates, s (rounded to a multiple of ``dt``, at least ``dt``).
    bins : int
        Bins of the rate histogram.
    title : str, optional
        Figure title (default: N, window, backend).

    Returns
    -------
    matplotlib.figure.Figure
        Three panels. Raster: one point per spike of the sampled neurons, x the spike time
        (s), y the neuron's row (0 .. M-1, E rows first) in collection a of
        ``ax.collections`` (a = 0 for E, 1 for I). Population rate: one line per population,
        ``sim.binned_rate(bin_width, population)`` over the whole run, with the burn-in
        shaded. Histogram: the rates ``sim.rate`` over the measurement window, Hz, one
        histogram per population on common bins.
    """
    fig, axes = new_figure(3)
    ax_r, ax_t, ax_h = axes[0]
    sample = raster_sample(sim.population, n_raster)
    row = np.full(sim.N, -1, dtype=np.int64)
    row[sample] = np.arange(sample.size)
    ids = np.asarray(sim.spike_ids)
    times = np.asarray(sim.spike_times)
    shown = row[ids] >= 0
    for a, pop in enumerate(POPULATIONS):
        m = shown & (np.asarray(sim.population)[ids] == a)
        ax_r.scatter(times[m], row[ids[m]], s=1.5, marker="|", color=POPULATION_COLORS[a],
                     label=pop, linewidths=0.8)
    ax_r.set_xlim(0.0, sim.t_stop)
    ax_r.set_ylim(-0.5, max(sample.size, 1) - 0.5)
    ax_r.set_xlabel("time (s)")
    ax_r.set_ylabel(f"neuron ({sample.size} of {sim.N})")
    ax_r.set_title("raster")

    width = _bin_width(sim.dt, bin_width)
    for a, pop in enumerate(POPULATIONS):
        t, r = sim.binned_rate(width, population=a)
        ax_t.plot(t, r, color=POPULATION_COLORS[a], label=pop)
    if sim.t_start > 0:
        ax_t.axvspan(0.0, sim.t_start, color="0.9", zorder=0)
    ax_t.set_xlabel("time (s)")
    ax_t.set_ylabel(f"population rate (Hz, {1e3 * width:g} ms bins)")
    ax_t.set_title("population rates")
    ax_t.legend(frameon=False)

    rate = np.asarray(sim.rate)
    hi = float(rate.max()) if rate.size and rate.max() > 0 else 1.0
    edges = np.linspace(0.0, hi, int(bins) + 1)
    for a, pop in enumerate(POPULATIONS):
        ax_h.hist(rate[np.asarray(sim.population) == a], bins=edges, histtype="step",
                  color=POPULATION_COLORS[a], label=pop)
    ax_h.set_xlabel(f"rate over ({sim.t_start:g}, {sim.t_stop:g}] s (Hz)")
    ax_h.set_ylabel("neurons")
    ax_h.set_title("rate histogram")
    if title is None:
        title = (f"simulation: N = {sim.N}, T = {sim.T:g} s, dt = {1e3 * sim.dt:g} ms, "
                 f"{sim.backend}" + ("" if sim.complete else " (incomplete)"))
    fig.suptitle(title)
    return fig


def plot_comparison(comparison, *, title: str | None = None):
    r"""Plot theory against simulation per label bin and neuron by neuron, one row per population.

    Parameters
    ----------
    comparison : Comparison
        Result of ``validation.compare``.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        A 2 x 2 grid; row a is population a (E, I). Left: simulated bin means with
        3 SE error bars (``ax.containers[0]``, x ``label_mean``, y ``sim_rate``) and the
        degree-space theory (``ax.lines[-1]``: x ``label_mean``, y ``theory_rate``) against
        the label. Right: each neuron's simulated rate (y) against its theory rate (x; the
        neuron-level theory when ``compare`` had it, else the degree-space theory at its
        label) in ``ax.collections[0]``, with the identity line.
    """
    fig, axes = new_figure(2, nrows=len(comparison.populations), width=4.2, height=3.2)
    for a, pc in enumerate(comparison.populations):
        ax_b, ax_n = axes[a]
        color = POPULATION_COLORS[a]
        ax_b.errorbar(pc.label_mean, pc.sim_rate, yerr=3 * pc.sim_se, fmt="o", ms=4,
                      color=color, capsize=2, label="simulation (3 SE)")
        ax_b.plot(pc.label_mean, pc.theory_rate, "-", color="k", label="theory")
        ax_b.set_xlabel("degree label t (bin mean)")
        ax_b.set_ylabel(f"{pc.population} rate (Hz)")
        ax_b.legend(frameon=False, fontsize="small")

        nt = np.asarray(pc.neuron_network_theory, float)
        use_network = nt.size > 0 and np.all(np.isfinite(nt))
        x = nt if use_network else np.asarray(pc.neuron_theory, float)
        y = np.asarray(pc.neuron_rate, float)
        ax_n.scatter(x, y, s=2, alpha=0.4, color=color, linewidths=0)
        finite = np.concatenate([x[np.isfinite(x)], y[np.isfinite(y)]])
        hi = float(finite.max()) if finite.size else 1.0
        ax_n.plot([0.0, hi], [0.0, hi], "k--", lw=0.8)
        ax_n.set_xlabel(("neuron-level" if use_network else "degree-space")
                        + " theory rate (Hz)")
        ax_n.set_ylabel("simulated rate (Hz)")
        if use_network and np.isfinite(pc.neuron_corr):
            ax_n.set_title(f"{pc.population}: corr {pc.neuron_corr:.3f}, RMS {pc.neuron_rms:.2f} Hz",
                           fontsize="small")
    fig.suptitle(title if title is not None
                 else f"theory vs simulation: N = {comparison.N}, {comparison.duration:g} s measured")
    return fig

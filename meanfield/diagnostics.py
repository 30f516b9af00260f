"""Balance and rate diagnostics shared by the theory results and the simulation checks.

One place for the quantities the results report beside their solution (docs/theory.md
section 6): the net drive, the balance index, silent and saturated fractions, weighted
slopes and spreads over labels, out-degree-weighted rates and the imbalance of condition
(B). ``MeanFieldResult`` (per label), ``NetworkMeanFieldResult`` (per neuron),
``validation``'s ``SimulationResult`` and ``compare`` (from recorded inputs) call these
functions instead of repeating the formulas.

Examples
--------
>>> import numpy as np
>>> balance_index(np.array([1.0, -2.0, 3.0]), np.array([10.0, 4.0, 0.0]))
array([0.1, 0.5, nan])
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SILENT_RATE", "SATURATED_FRACTION", "drive", "balance_index",
           "saturation_threshold", "fraction_below", "fraction_above", "population_mean",
           "weighted_mean", "weighted_slope", "weighted_sd", "label_statistics",
           "out_degree_rates", "imbalance", "no_spike_fraction", "spread_z_grid",
           "mixture_cdf", "mixture_quantile", "mixture_zero_spike_fraction", "label_expectation"]

SILENT_RATE = 0.1
"""Default threshold of ``fraction_silent``: a label (or neuron) below 0.1 Hz is silent."""

SATURATED_FRACTION = 0.5
"""Default threshold of ``fraction_saturated``: rate above half the maximal rate
1/tau_ref (no label saturates when tau_ref = 0)."""

SPREAD_Z_MAX = 8.0
"""Half-width of the z grid on which rate distributions with a spread are evaluated."""
SPREAD_Z_STEP = 0.0625
"""Step of that grid (257 nodes). Trapezoid weights: expectations of smooth functions of
z are exact to ~1e-12; quantiles interpolate log r linearly in z between nodes (relative
error ~ step^2/8 times d^2 log r/dz^2, about 1e-3 on the presets)."""


# =============================================================================== balance
def drive(mu, E_L, tau_m):
    r"""Net mean drive :math:`(\mu - E_L)/\tau_m`, mV/s.

    Parameters
    ----------
    mu : array_like
        Mean input (absolute, includes E_L), mV.
    E_L, tau_m : array_like
        Resting potential (mV) and membrane time constant (s), broadcast against ``mu``.

    Notes
    -----
    In the balanced scaling this is :math:`\sqrt N` times the O(sqrt N) bracket of
    condition (B): O(1) when balanced, O(sqrt N) where balance breaks.
    """
    return (np.asarray(mu) - E_L) / tau_m


def balance_index(net_input, excitatory_input):
    r"""Net mean input over its excitatory part, :math:`|\mu - E_L| / (\mu_E + \mu_X)`.

    Parameters
    ----------
    net_input : array_like
        Net synaptic mean input :math:`\mu - E_L = \mu_E + \mu_I + \mu_X`, mV.
    excitatory_input : array_like
        Its excitatory part :math:`\mu_E + \mu_X` (recurrent E and external), mV.

    Returns
    -------
    ndarray
        Dimensionless; ~1/sqrt(K) when the input is balanced, O(1) when excitation is not
        cancelled; NaN where the excitatory part is not > 0 (no excitatory input).
    """
    net = np.asarray(net_input, float)
    exc = np.asarray(excitatory_input, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(exc > 0, np.abs(net) / np.where(exc > 0, exc, 1.0), np.nan)


# =============================================================================== rates
def saturation_threshold(neurons, saturated_rate=None) -> np.ndarray:
    """Rate above which a label counts as saturated, per population, Hz, shape (2,).

    ``saturated_rate`` (Hz) for both populations, or by default ``SATURATED_FRACTION`` /
    tau_ref of each neuron model (inf when tau_ref = 0).
    """
    if saturated_rate is None:
        return np.array([SATURATED_FRACTION / nr.tau_ref if nr.tau_ref > 0 else np.inf
                         for nr in neurons])
    return np.full(2, float(saturated_rate))


def weighted_mean(weights, x):
    r""":math:`\sum_i w_i x_i` along the last axis (weights summing to 1)."""
    return np.sum(weights * x, axis=-1)


def fraction_below(rate, threshold, weights=None):
    """Fraction (weighted, or of the entries) of rates strictly below ``threshold``."""
    below = np.asarray(rate) < threshold
    if weights is None:
        return below.mean()
    return weighted_mean(weights, below.astype(float))


def fraction_above(rate, threshold, weights=None):
    """Fraction (weighted, or of the entries) of rates strictly above ``threshold``."""
    above = np.asarray(rate) > threshold
    if weights is None:
        return above.mean()
    return weighted_mean(weights, above.astype(float))


def population_mean(x, population) -> np.ndarray:
    """Mean of a per-neuron array over the E (0) and the I (1) neurons, shape (2,).

    NaN for a population without neurons. A boolean ``x`` gives the fraction of neurons.
    """
    x = np.asarray(x)
    out = []
    for a in (0, 1):
        g = np.flatnonzero(np.asarray(population) == a)
        out.append(x[g].mean() if g.size else np.nan)
    return np.array(out)


def weighted_slope(weights, x, y) -> float:
    r"""Weighted least-squares slope of y against x; NaN when x does not vary.

    x counts as constant when its weighted variance is below :math:`(10^{-12}\max(|\bar
    x|, 10^{-300}))^2`.
    """
    xm, ym = weighted_mean(weights, x), weighted_mean(weights, y)
    vx = weighted_mean(weights, (x - xm) ** 2)
    scale = max(abs(xm), 1e-300)
    if vx <= (1e-12 * scale) ** 2:
        return np.nan
    return weighted_mean(weights, (x - xm) * (y - ym)) / vx


def weighted_sd(weights, x) -> float:
    r"""Weighted standard deviation :math:`\sqrt{\sum_i w_i (x_i - \bar x)^2}`."""
    return math.sqrt(max(weighted_mean(weights, (x - weighted_mean(weights, x)) ** 2), 0.0))


def label_statistics(weights, label, rate, mu, indegree, silent_rate, saturated_rate) -> dict:
    """Summarise each population over a weighted set of labels (rows E, I).

    Parameters
    ----------
    weights, label, rate, mu, indegree : ndarray (2, n)
        Quadrature weights (rows sum to 1), scalar label, rate (Hz), mean input (mV) and
        total in-degree of each label.
    silent_rate : float
        Hz.
    saturated_rate : ndarray (2,)
        Hz, per population.

    Returns
    -------
    dict
        ``mean_rate`` (Hz), ``fraction_silent``, ``fraction_saturated``,
        ``rate_indegree_slope`` (Hz per synapse), ``mu_slope`` (mV per unit label) and
        ``mu_spread`` (mV); each (2,). Slopes are weighted least squares, NaN where the
        regressor does not vary.
    """
    rows = list(zip(weights, label, rate, mu, indegree, saturated_rate))
    return {
        "mean_rate": np.array([weighted_mean(w, r) for w, _, r, _, _, _ in rows]),
        "fraction_silent": np.array([fraction_below(r, silent_rate, w)
                                     for w, _, r, _, _, _ in rows]),
        "fraction_saturated": np.array([fraction_above(r, s, w) for w, _, r, _, _, s in rows]),
        "rate_indegree_slope": np.array([weighted_slope(w, k, r) for w, _, r, _, k, _ in rows]),
        "mu_slope": np.array([weighted_slope(w, x, m) for w, x, _, m, _, _ in rows]),
        "mu_spread": np.array([weighted_sd(w, m) for w, _, _, m, _, _ in rows]),
    }


def out_degree_rates(weights, kout, rate) -> np.ndarray:
    """:math:`R_{ab} = E_{t'}[k^{out}_{ab}(t') r_b(t')]`, shape (2, 2), Hz.

    The mean rate of the source of a random synapse b -> a (``weights``, ``rate``: (2, n);
    ``kout``: (2, 2, n) with ``kout[a, b]`` over b's labels).
    """
    return np.einsum("bj,abj,bj->ab", weights, kout, rate)


def imbalance(drive, N, weights, X, kin_X) -> np.ndarray:
    r"""RMS over labels of drive/sqrt(N) relative to the RMS of the external bracket.

    .. math:: \frac{\sqrt{E_t[(\mathrm{drive}_a(t)/\sqrt N)^2]}}
                    {\sqrt{E_t[(X_a k^{in}_{aX}(t))^2]}}

    ~1/sqrt(N) when balanced, O(1) when not; NaN without external input. ``drive``,
    ``weights``, ``kin_X``: (2, n); ``X``: (2,) mV Hz. Returns (2,).
    """
    ext = np.asarray(X)[:, None] * kin_X
    rms_ext = np.sqrt(np.sum(weights * ext ** 2, axis=1))
    rms_drive = np.sqrt(np.sum(weights * (drive / math.sqrt(N)) ** 2, axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rms_ext > 0, rms_drive / np.where(rms_ext > 0, rms_ext, 1.0), np.nan)


# =============================================================================== distributions
def no_spike_fraction(spike_count, population=None) -> np.ndarray:
    """Fraction of neurons without a spike in the window (per population if given).

    ``spike_count`` holds spike counts (or rates) over the window, (N,): zero means
    silent. The simulated counterpart of ``MeanFieldResult.zero_spike_fraction``: "silent"
    as a finite simulation measures it.
    """
    silent = np.asarray(spike_count) == 0
    if population is None:
        return silent.mean()
    return population_mean(silent, population)


def spread_z_grid(spread: bool = True):
    """(z, mass): the grid of the frozen per-neuron variable z ~ N(0, 1) and its weights.

    Without spread a single node z = 0 of mass 1. With spread ``SPREAD_Z_STEP``-spaced
    nodes on [-``SPREAD_Z_MAX``, ``SPREAD_Z_MAX``] with normalised Gaussian (trapezoid)
    weights.
    """
    if not spread:
        return np.zeros(1), np.ones(1)
    k = int(round(SPREAD_Z_MAX / SPREAD_Z_STEP))
    z = np.arange(-k, k + 1) * SPREAD_Z_STEP
    w = np.exp(-0.5 * z * z)
    return z, w / w.sum()


def _monotone(profile):
    """Rates along z made non-decreasing (Phi is increasing in mu; removes round-off)."""
    return np.maximum.accumulate(np.asarray(profile, float), axis=-1)


def mixture_cdf(x, weights, z, profile) -> np.ndarray:
    r"""P(r <= x) for the mixture over labels and z of the rates ``profile``.

    Parameters
    ----------
    x : array_like
        Rates, Hz.
    weights : ndarray (n,)
        Label weights (sum 1).
    z : ndarray (nz,)
        The z grid (``spread_z_grid``); a single node means no spread (point masses).
    profile : ndarray (n, nz)
        Rate of label i at z_k, non-decreasing in z.

    Notes
    -----
    Label i contributes :math:`w_i\,\Phi_N(z_i^*(x))`, :math:`z_i^*` the z at which its rate
    reaches x, found by interpolating log r linearly between grid nodes (linear r where
    the lower rate is 0). Below the first node or above the last, 0 or 1 (the tails beyond
    ``|z| = 8`` hold 1e-15).
    """
    from scipy.special import ndtr

    x = np.atleast_1d(np.asarray(x, float))
    weights = np.asarray(weights, float)
    prof = _monotone(profile)
    out = np.zeros(x.shape)
    if prof.shape[-1] == 1:
        for w, r in zip(weights, prof[:, 0]):
            if w > 0:
                out += w * (r <= x)
        return out
    z = np.asarray(z, float)
    nz = z.size
    for w, r in zip(weights, prof):
        if w <= 0:
            continue
        k = np.searchsorted(r, x, side="right")          # nodes with r <= x
        inner = (k > 0) & (k < nz)
        zs = np.where(k >= nz, np.inf, -np.inf)
        if np.any(inner):
            j = k[inner] - 1
            r0, r1, xi = r[j], r[j + 1], x[inner]
            with np.errstate(divide="ignore", invalid="ignore"):
                frac_log = np.log(xi / r0) / np.log(r1 / r0)
                frac_lin = (xi - r0) / (r1 - r0)
            frac = np.where(r0 > 0, frac_log, frac_lin)
            zs[inner] = z[j] + np.clip(frac, 0.0, 1.0) * (z[j + 1] - z[j])
        out += w * ndtr(zs)
    return out


def mixture_quantile(q, weights, z, profile) -> np.ndarray:
    """Quantiles of the mixture of ``mixture_cdf``: the smallest x with P(r <= x) >= q.

    Point masses (a single z node): the weighted quantile of the label rates, exactly.
    With spread: bisection of the continuous mixture CDF to 1e-12 of the rate range.
    """
    q = np.atleast_1d(np.asarray(q, float))
    weights = np.asarray(weights, float)
    prof = _monotone(profile)
    keep = weights > 0
    if prof.shape[-1] == 1:
        r = prof[keep, 0]
        order = np.argsort(r, kind="stable")
        cum = np.cumsum(weights[keep][order])
        cum = cum / cum[-1]
        idx = np.searchsorted(cum, q - 1e-12, side="left")
        return r[order][np.minimum(idx, r.size - 1)]
    lo = np.full(q.shape, float(prof[keep].min()))
    hi = np.full(q.shape, float(prof[keep].max()))
    span = max(hi[0] - lo[0], 1e-300)
    for _ in range(200):
        if np.max(hi - lo) <= 1e-12 * span:
            break
        mid = 0.5 * (lo + hi)
        below = mixture_cdf(mid, weights, z, prof) < q
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return hi


def mixture_zero_spike_fraction(T, weights, mass, profile) -> float:
    r""":math:`\sum_i w_i \sum_k m_k\, e^{-r_{ik} T}`: the chance of no spike in T seconds.

    A Poisson neuron of rate r fires no spike in T with probability exp(-r T); averaged
    over labels (``weights``) and the frozen z (``mass``, ``spread_z_grid``).
    """
    return float(np.sum(weights * (np.exp(-np.asarray(profile) * float(T)) @ mass)))


def label_expectation(t, weights, rate, f=None) -> float:
    r"""Return :math:`E_t[f(t)\, r(t)]` over one population's label grid, Hz.

    Parameters
    ----------
    t : ndarray (n,) or (n, dim)
        Labels of the grid nodes.
    weights : ndarray (n,)
        Quadrature weights (sum 1).
    rate : ndarray (n,)
        Rate at each node, Hz.
    f : callable of the labels, array (n,) or None
        ``None`` gives f = 1, the mean rate.

    Returns
    -------
    float
        The weighted sum :math:`\sum_i w_i f(t_i) r_i`.
    """
    fv = 1.0 if f is None else (f(t) if callable(f) else np.asarray(f, float))
    return float(np.sum(weights * fv * rate))

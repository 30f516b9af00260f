r"""Sub-Poisson spike trains: ISI statistics of renewal neurons and the variance factor F.

A presynaptic population b whose spike trains are not Poisson contributes
:math:`F_b\,\tau_m J_{ab}^2 K_{ab} E[m_{ab} r_b]` to :math:`\sigma_a^2` instead of the Poisson
value, with :math:`F_b` the rate-weighted long-window Fano factor of its trains
(``solve(fano=...)``, docs/theory.md section 10, eq. (10.5)). For a renewal train the long-window
Fano factor is the squared coefficient of variation of the inter-spike interval,
:math:`CV^2` (Cox 1962). This module predicts it:

* ``isi_moments(neuron, mu, sigma)``: rate and :math:`CV^2` of the white-noise LIF or EIF
  (diffusion approximation, Brunel convention for sigma), from the first two moments of the
  first-passage time from the reset to the threshold (Siegert 1951; Brunel 2000 for the LIF;
  for the EIF with the reflecting floor ``V_lb`` that the simulator clamps at).
* ``matched_cv2(neuron, rate, sigma)``: the :math:`CV^2` of the filtered-noise neuron that
  fires at ``rate`` with input noise sigma, taken as that of the white-noise neuron with the
  same sigma and the same rate. This is the effective-threshold picture of Fourcaud &
  Brunel (2002): a neuron driven by filtered noise behaves, to first order in
  :math:`\sqrt{\tau_s/\tau_m}`, like the white-noise neuron with threshold and reset moved
  up by the same amount, that is with its mean input moved down. Here the shift is not the
  first-order formula but the one that reproduces the exact filtered-noise rate
  (``meanfield.colored_rate``). Tabulated per neuron model over (sigma, rate); the table
  takes a few seconds to compute and is cached in memory and under the user's cache
  directory.
* ``population_fano(result)``: :math:`F_b` of a solved network, the :math:`CV^2` of each
  (label, frozen z) node weighted by its rate and its mass. ``solve(spread=True)`` iterates
  it to a fixed point by default (``fano="renewal"``).

Measured (benchmarks/README_colored.md section 6): with this F the ``akil2021`` and
``akil2021_lif`` networks at N = 10^4 (homogeneous, Cases B and C) are within
-0.3 ... +1.0 % of the simulated rates, the no-spike fraction of E within 0.034 and all
judged label bins (192) within their bars; with F = 1, +2.4 ... +3.6 %, 0.108 and 186/192.
The simulation's own rate-weighted :math:`CV^2` is 0.69/0.60 (E/I) in ``akil2021`` Case B;
this rule predicts 0.62/0.53. Not represented: serial ISI correlations (filtered noise makes
consecutive intervals correlated) and pairwise correlations between presynaptic trains.

References: Cox, Renewal Theory (1962); Brunel, J. Comput. Neurosci. 8, 183 (2000);
Fourcaud & Brunel, Neural Comput. 14, 2057 (2002); Lindner, Phys. Rev. E 69, 022901 (2004).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ._colored_table import cache_dir, neuron_key, save_npz, v_ref
from .errors import ParameterError

__all__ = ["isi_moments", "matched_cv2", "weighted_cv2", "fano_from_nodes", "population_fano"]

N_GRID = 2000
"""Voltage nodes of the first-passage quadrature (trapezoid, second order)."""
X_LOW = -8.0
"""Below (threshold - mu)/sigma = -X_LOW the ISI is taken as exponential (CV^2 = 1)."""
TABLE_GRID = 1000
"""Voltage nodes per point when building the table (CV^2 within 1e-4 of N_GRID's)."""
CHUNK = 400
"""Points per vectorised block of ``isi_moments`` (memory: CHUNK x N_GRID x 8 arrays)."""
TABLE_VERSION = 3
SIGMA_NODES = np.geomspace(0.5, 200.0, 61)
"""mV: the sigma axis of the matched-CV^2 table (log spaced, 10 % steps)."""
LOG_RATE_NODES = np.linspace(-3.0, 3.0, 241)
"""log10(rate / Hz) axis of the table: 1 mHz ... 1 kHz (rates above the largest reached
at a sigma take its last value; below 1 mHz, CV^2 -> 1)."""
MIN_RATE = 1e-4
"""Hz: nodes below this rate are left out of ``population_fano`` (their weight r is ~0)."""


EIF_CUT = 10.0
"""The EIF's first passage ends at min(V_th, V_T + EIF_CUT Delta_T) (``_threshold``)."""


def _threshold(neuron):
    """(spike cut, reset) of the first-passage problem, mV.

    For the EIF the cut is min(V_th, V_T + 10 Delta_T): above V_T + 10 Delta_T the
    exponential term exceeds e^10 Delta_T, and the rest of the way to V_th takes less than
    tau_m e^-10 (7e-7 s at tau_m = 15 ms); without the cut a spike cut far above V_T
    (``rosenbaum2017``: V_th = V_T + 80 Delta_T) makes the potential ~e^80 and every other
    value of it round-off.
    """
    if neuron.kind == "EIF":
        return min(neuron.V_th, neuron.V_T + EIF_CUT * neuron.Delta_T), neuron.V_re
    return neuron.theta, neuron.V_r


def _phi1_psi(d: np.ndarray):
    r"""Return the two step weights, scaled by :math:`e^{-\max(d, 0)}`.

    :math:`(e^d - 1)/d` and :math:`\int_0^1 u\,e^{du}\,du = (e^d (d - 1) + 1)/d^2`
    (series for |d| < 1e-3).
    """
    with np.errstate(all="ignore"):
        small = np.abs(d) < 1e-3
        pos = d > 0
        ds = np.where(small, 1.0, d)
        em = np.exp(-np.abs(ds))
        p1 = np.where(pos, -np.expm1(-ds) / ds, np.expm1(ds) / ds)
        ps = np.where(pos, (ds - 1.0 + em) / ds ** 2, (em * (ds - 1.0) + 1.0) / ds ** 2)
        p1s = np.where(pos, 1.0 - d / 2 + d * d / 6, 1.0 + d / 2 + d * d / 6)
        pss = np.where(pos, 0.5 - d / 6 + d * d / 24, 0.5 + d / 3 + d * d / 8)
        return np.where(small, p1s, p1), np.where(small, pss, ps)


def _log_cumint(Phi: np.ndarray, h: np.ndarray, dx: np.ndarray) -> np.ndarray:
    r"""Return the log of :math:`\int_{lo}^{x_k} e^{\Phi} h\,dy` at every node (-inf at the first).

    Per step :math:`\Phi` linear and h linear (exact for those): the step integral is
    :math:`dx\,e^{\Phi_k}[h_k \varphi_1(d) + (h_{k+1} - h_k)\psi(d)]`, d the step of
    :math:`\Phi`; summed in the log domain (``logaddexp.accumulate``).
    """
    d = Phi[:, 1:] - Phi[:, :-1]
    p1, ps = _phi1_psi(d)
    w = h[:, :-1] * p1 + (h[:, 1:] - h[:, :-1]) * ps
    with np.errstate(divide="ignore"):
        t = np.log(dx) + Phi[:, :-1] + np.maximum(d, 0.0) + np.log(np.maximum(w, 0.0))
    out = np.empty_like(Phi)
    out[:, 0] = -np.inf
    np.logaddexp.accumulate(t, axis=1, out=out[:, 1:])
    return out


def _upper_int(lg: np.ndarray, dx: np.ndarray) -> np.ndarray:
    r""":math:`\int_{x_k}^{x_{top}} e^{lg}\,dx` at every node, lg linear per step (exact for it)."""
    d = lg[:, 1:] - lg[:, :-1]
    p1, _ = _phi1_psi(d)
    with np.errstate(invalid="ignore"):
        step = dx * np.exp(lg[:, :-1] + np.maximum(d, 0.0)) * p1
    step = np.where(np.isfinite(step), step, 0.0)
    out = np.zeros_like(lg)
    out[:, :-1] = np.cumsum(step[:, ::-1], axis=1)[:, ::-1]
    return out


def _moments_block(mu, sigma, neuron, n_grid):
    """(T1, T2) at the reset, s and s^2, for one block of points (arrays (p,)).

    Uniform grid per point on [lo, threshold], lo = min(mu, reset) - 9 sigma (EIF: not
    below V_lb, where the simulator clamps: a reflecting floor). Both integrals are done in
    the log domain with exponential fitting, so a deep potential well or a steep drift
    (small sigma) neither overflows nor needs a finer grid.
    """
    eif = neuron.kind == "EIF"
    th, vr = _threshold(neuron)
    m, s = mu[:, None], sigma[:, None]
    lo = np.minimum(m, vr) - 9.0 * s
    if eif:
        lo = np.maximum(lo, neuron.V_lb)
    x = lo + (th - lo) * np.linspace(0.0, 1.0, n_grid)[None, :]
    dx = (th - lo) / (n_grid - 1)
    A = -0.5 * (x - m) ** 2                   # potential of the drift -(V - mu) + psi(V)
    if eif:
        A += neuron.Delta_T ** 2 * np.exp((x - neuron.V_T) / neuron.Delta_T)
    Phi = 2.0 * A / s ** 2
    Phi -= Phi.max(axis=1, keepdims=True)
    log_c = np.log(neuron.tau_m / (0.5 * s ** 2))

    def moment(prev, n):                      # T_n(v) = int_v^th c e^-Phi int_lo^x e^Phi n T_{n-1}
        return _upper_int(log_c + _log_cumint(Phi, n * prev, dx) - Phi, dx)

    T1 = moment(np.ones_like(x), 1)
    T2 = moment(T1, 2)
    pos = ((vr - lo) / dx)[:, 0]
    j = np.clip(np.floor(pos).astype(int), 0, n_grid - 2)
    f = pos - j
    rows = np.arange(x.shape[0])
    t1 = (1 - f) * T1[rows, j] + f * T1[rows, j + 1]
    t2 = (1 - f) * T2[rows, j] + f * T2[rows, j + 1]
    return t1, t2


def isi_moments(neuron, mu, sigma, *, n_grid: int = N_GRID):
    r"""Rate and ISI :math:`CV^2` of a LIF or EIF neuron driven by white Gaussian noise.

    .. math:: \tau_m \dot V = -(V - \mu) + \psi(V) + \sigma\sqrt{\tau_m}\,\xi(t),

    :math:`\psi = \Delta_T e^{(V - V_T)/\Delta_T}` (EIF, spike at ``V_th``, reflecting
    floor ``V_lb``) or 0 (LIF, threshold ``theta``), reset after ``tau_ref``. With
    :math:`D = \sigma^2/2`, :math:`\Phi' = 2(-(V-\mu)+\psi)/\sigma^2` and
    :math:`T_0 = 1`, the first-passage moments from v obey

    .. math:: T_n(v) = \frac{\tau_m}{D}\int_v^{V_{th}} e^{-\Phi(x)}
              \int_{lo}^{x} e^{\Phi(y)}\, n T_{n-1}(y)\,dy\,dx,

    and rate :math:`= 1/(\tau_{ref} + T_1)`, :math:`CV^2 = (T_2 - T_1^2)/(\tau_{ref} + T_1)^2`
    at :math:`v = V_{reset}` (Siegert 1951; Brunel 2000, eq. A.9 for the LIF).

    Parameters
    ----------
    neuron : LIF or EIF
    mu, sigma : array_like
        Mean input (free membrane mean, mV) and noise (Brunel convention: free membrane
        standard deviation sigma / sqrt(2)), mV, sigma > 0; broadcast together.
    n_grid : int
        Voltage nodes of the quadrature (trapezoid rule; default ``N_GRID``, relative error
        of :math:`CV^2` below 1e-4 against mpmath on the presets, tests/test_renewal.py).

    Returns
    -------
    rate : ndarray
        Hz.
    cv2 : ndarray
        Squared coefficient of variation of the inter-spike interval. Where the threshold
        lies more than 8 sigma above mu the ISI is exponential to this accuracy and 1 is
        returned (with the rate from the same quadrature).
    """
    if getattr(neuron, "kind", None) not in ("LIF", "EIF"):
        raise TypeError(f"neuron must be a LIF or EIF, got {type(neuron).__name__}")
    mu, sigma = np.broadcast_arrays(np.asarray(mu, float), np.asarray(sigma, float))
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma)) and np.all(sigma > 0)):
        raise ParameterError("isi_moments: mu must be finite and sigma finite and > 0 (mV), "
                             f"got sigma in [{np.min(sigma, initial=np.inf)!r}, "
                             f"{np.max(sigma, initial=-np.inf)!r}]", field="sigma")
    shape = mu.shape
    m, s = mu.ravel(), sigma.ravel()
    th = v_ref(neuron)
    deep = (th - m) / s > -X_LOW
    mq = np.where(deep, th + X_LOW * s, m)    # only for a finite quadrature; rate replaced below
    t1, t2 = np.empty(m.size), np.empty(m.size)
    for a in range(0, m.size, CHUNK):
        t1[a:a + CHUNK], t2[a:a + CHUNK] = _moments_block(mq[a:a + CHUNK], s[a:a + CHUNK],
                                                          neuron, n_grid)
    isi = neuron.tau_ref + t1
    rate = 1.0 / isi
    cv2 = np.maximum(t2 - t1 ** 2, 0.0) / isi ** 2
    if np.any(deep):
        from .transfer import rate as white_rate
        rate[deep] = white_rate(m[deep], s[deep], neuron)
        cv2[deep] = 1.0
    return rate.reshape(shape), cv2.reshape(shape)


# --------------------------------------------------------------------------- the table
def _cache_file(neuron) -> Path:
    return cache_dir() / f"renewal_{neuron.kind}_v{TABLE_VERSION}_{neuron_key(neuron)[:20]}.npz"


def build_cv2_table(neuron) -> np.ndarray:
    """Matched-rate :math:`CV^2` on (SIGMA_NODES, LOG_RATE_NODES), (61, 241).

    For each sigma, ``isi_moments`` on 340 mean inputs: (mu - threshold)/sigma from -8 to +6
    in 280 equal steps, then 60 geometric steps up to mu = threshold + 80 mV where that is
    further (small sigma); resampled at the table's log rates by linear interpolation (the
    rate grows monotonically with mu). Rates outside the range reached take the nearest
    end's value.
    """
    th = v_ref(neuron)
    S = np.repeat(SIGMA_NODES[:, None], 340, axis=1)
    top = np.maximum(6.0 * (1 + 1e-9), 80.0 / SIGMA_NODES)              # mu up to th + 80 mV
    X = np.hstack([np.repeat(np.linspace(X_LOW, 6.0, 280)[None, :], SIGMA_NODES.size, axis=0),
                   np.geomspace(np.full(SIGMA_NODES.size, 6.0 * (1 + 1e-6)), top, 60, axis=1)])
    rate, cv2 = isi_moments(neuron, th + X * S, S, n_grid=TABLE_GRID)
    out = np.empty((SIGMA_NODES.size, LOG_RATE_NODES.size))
    for i in range(SIGMA_NODES.size):
        lr = np.log10(np.maximum(rate[i], 1e-300))
        keep = np.concatenate([[True], np.diff(lr) > 0])   # strictly increasing in mu
        out[i] = np.interp(LOG_RATE_NODES, lr[keep], cv2[i][keep])
        out[i, LOG_RATE_NODES < lr[keep][0]] = 1.0 if lr[keep][0] < -2.0 else cv2[i][keep][0]
    return out


@functools.lru_cache(maxsize=16)
def _table(neuron) -> np.ndarray:
    path = _cache_file(neuron)
    try:
        with np.load(path) as f:
            tab = np.asarray(f["cv2"], float)
        if tab.shape == (SIGMA_NODES.size, LOG_RATE_NODES.size) and np.all(np.isfinite(tab)):
            return tab
    except (OSError, KeyError, ValueError):
        pass
    tab = build_cv2_table(neuron)
    try:
        save_npz(path, cv2=tab)
    except OSError:
        pass
    return tab


def matched_cv2(neuron, rate, sigma, grad: bool = False):
    r"""ISI :math:`CV^2` of the white-noise neuron with noise sigma that fires at ``rate``.

    The :math:`CV^2` that ``population_fano`` gives a filtered-noise neuron firing at
    ``rate`` (module docstring). Bilinear in (log sigma, log10 rate) on the cached table;
    sigma is clamped to [0.5, 200] mV, rates above 1 kHz take the 1 kHz value, rates below
    1 mHz give 1 (Poisson escape).

    Parameters
    ----------
    neuron : LIF or EIF
    rate : array_like
        Hz, >= 0.
    sigma : array_like
        mV, > 0 (Brunel convention, times any noise factor of the filter rule).
    grad : bool
        Also return the partial derivatives (of the interpolant; 0 where clamped).

    Returns
    -------
    cv2 : ndarray
        :math:`CV^2`, broadcast shape of rate and sigma.
    dcv2_drate, dcv2_dsigma : ndarray
        Only with ``grad``: per Hz and per mV.
    """
    rate, sigma = np.broadcast_arrays(np.asarray(rate, float), np.asarray(sigma, float))
    tab = _table(neuron)
    lsn = np.log(SIGMA_NODES)
    ls_raw = np.log(np.maximum(sigma, 1e-300))
    ls = np.clip(ls_raw, lsn[0], lsn[-1])
    i = np.clip(np.searchsorted(lsn, ls) - 1, 0, lsn.size - 2)
    hs = lsn[i + 1] - lsn[i]
    fs = (ls - lsn[i]) / hs
    lr_raw = np.log10(np.maximum(rate, 1e-300))
    lr = np.clip(lr_raw, LOG_RATE_NODES[0], LOG_RATE_NODES[-1])
    dr = LOG_RATE_NODES[1] - LOG_RATE_NODES[0]
    k = np.clip(((lr - LOG_RATE_NODES[0]) // dr).astype(int), 0, LOG_RATE_NODES.size - 2)
    fr = (lr - LOG_RATE_NODES[k]) / dr
    c00, c01, c10, c11 = tab[i, k], tab[i, k + 1], tab[i + 1, k], tab[i + 1, k + 1]
    low = lr_raw < LOG_RATE_NODES[0]
    out = np.where(low, 1.0, (1 - fs) * ((1 - fr) * c00 + fr * c01)
                   + fs * ((1 - fr) * c10 + fr * c11))
    if not grad:
        return out
    inside_r = (lr_raw >= LOG_RATE_NODES[0]) & (lr_raw <= LOG_RATE_NODES[-1])
    inside_s = (ls_raw >= lsn[0]) & (ls_raw <= lsn[-1])
    d_fr = (1 - fs) * (c01 - c00) + fs * (c11 - c10)
    d_fs = (1 - fr) * (c10 - c00) + fr * (c11 - c01)
    with np.errstate(divide="ignore", invalid="ignore"):
        d_rate = np.where(inside_r, d_fr / (dr * np.log(10.0) * rate), 0.0)
        d_sigma = np.where(inside_s & ~low, d_fs / (hs * sigma), 0.0)
    return out, d_rate, d_sigma


def weighted_cv2(neuron, w, rates, sigma, grad: bool = False):
    r"""Rate-weighted :math:`CV^2` of one population over its nodes (``matched_cv2``).

    :math:`F = \sum w\,r\,CV^2 / D`, :math:`D = \sum w\,r`, over the nodes with
    r > ``MIN_RATE`` (1 when there is none).

    Parameters
    ----------
    neuron : LIF or EIF
    w : array_like
        Non-negative node weights (label weight times z weight), broadcast with ``rates``.
    rates, sigma : array_like
        Hz and mV (effective noise) of the nodes.
    grad : bool
        Also return ``(alpha, gamma, D)``:
        :math:`dF = \sum w\,(\alpha\,dr + \gamma\,d\sigma) / D` with
        :math:`\alpha = CV^2 + r\,\partial_r CV^2 - F`,
        :math:`\gamma = r\,\partial_\sigma CV^2` (0 at the nodes left out).
    """
    r = np.asarray(rates, float)
    keep = r > MIN_RATE
    wr = np.where(keep, np.asarray(w, float) * r, 0.0)
    D = float(np.sum(wr))
    if D <= 0:
        return (1.0, np.zeros_like(r), np.zeros_like(r), 0.0) if grad else 1.0
    out = matched_cv2(neuron, np.where(keep, r, 1.0), sigma, grad=grad)
    c = out[0] if grad else out
    F = float(np.sum(wr * c)) / D
    if not grad:
        return F
    return (F, np.where(keep, c + r * out[1] - F, 0.0), np.where(keep, r * out[2], 0.0), D)


def fano_from_nodes(neurons, weights, wz, rates, sigma) -> np.ndarray:
    r"""Rate-weighted :math:`CV^2` of each population over (label, z) nodes, (F_E, F_I).

    .. math:: F_b = \frac{\sum_{t,z} w_b(t)\,p(z)\,r_b(t,z)\,CV^2(r_b(t,z), \sigma_b(t,z))}
                         {\sum_{t,z} w_b(t)\,p(z)\,r_b(t,z)}

    Parameters
    ----------
    neurons : (LIF or EIF, LIF or EIF)
    weights : ndarray (2, n)
        Label weights of each population.
    wz : ndarray (nz,)
        Weights of the z nodes (sum 1).
    rates, sigma : ndarray (2, n, nz)
        Rate (Hz) and effective noise (mV, the filter rule's noise factor included) of
        every node.

    Returns
    -------
    ndarray (2,)
        1 for a population with no node above ``MIN_RATE`` (``weighted_cv2``).
    """
    w = np.asarray(wz, float)[None, :]
    return np.array([weighted_cv2(neurons[a], np.asarray(weights[a], float)[:, None] * w,
                                  rates[a], sigma[a]) for a in (0, 1)])


def population_fano(result) -> np.ndarray:
    r"""Rate-weighted :math:`CV^2` of each population of a solved network, (F_E, F_I).

    ``fano_from_nodes`` over the labels t (weights ``result.weights``) and, with spread, the
    frozen z of each label on the fine grid of the ``MeanFieldResult`` rate profile,
    :math:`CV^2` from ``matched_cv2`` at the node's effective noise (sigma of the node
    times ``sigma_scale``). The weight r makes :math:`F_b` the ratio of the summed
    spike-count variance to the summed count of the population's trains over a long
    window: the factor on the Poisson input variance. ``solve`` evaluates the same sum on
    its own Gauss-Hermite nodes; the two agree to about 1e-3.
    """
    z, mass, mu, sig, prof = result._z_nodes
    return fano_from_nodes(result.params.neurons, result.weights, mass, prof, sig)

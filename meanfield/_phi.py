r"""Population transfer functions with the synaptic-filter choice, and their partials.

Private helper of the mean-field solvers (``solve``, ``solve_network``): one place that
turns per-point input moments into rates ``Phi(mu, sigma; tau_s)`` for a mix of E and I
points, decides which synaptic filter each population uses, and returns the partial
derivatives a Newton step needs, with as few calls into ``meanfield.transfer`` as
possible (the EIF's threshold integration costs one pass over the voltage grid per call,
so all points and all finite-difference shifts go into one call).

Filters (docs/theory.md sections 5.2 and 5.5)
---------------------------------------------
``"white"``
    No correction: the diffusion (delta-synapse) rate, ``tau_s = 0``.
``"fourcaud_brunel"``
    LIF only: threshold and reset shifted by :math:`\sigma (\alpha/2)\sqrt{\tau_s/\tau_m}`
    (Fourcaud & Brunel 2002) with an effective time constant per point equal to the
    variance-weighted mean of the source time constants,

    .. math:: \tau_s = \frac{\tau_E \sigma_E^2 + \tau_I \sigma_I^2 + \tau_X \sigma_X^2}
                             {\sigma_E^2 + \sigma_I^2 + \sigma_X^2},

    :math:`\sigma_b^2` being source b's share of :math:`\sigma^2` at that point.
``"colored"``
    LIF and EIF: ``meanfield.colored_rate``, the stationary rate under exponentially
    filtered noise (docs/theory.md section 9; 2-D Fokker-Planck tables), with the
    effective time constant and noise factor of the moments rule
    (``meanfield.effective_filter``, ``PopulationTransfer.filter_terms``): the three
    sources' Var V and Var dV/dt are matched.
``"auto"`` (default)
    ``"colored"`` for LIF and EIF populations when any of ``tau_E, tau_I, tau_X`` is
    positive, ``"white"`` otherwise. (Until issue 10 it was ``"fourcaud_brunel"`` for the
    LIF and ``"white"`` for the EIF: pass those names to get the old transfer.)
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import RectBivariateSpline

from . import _colored_table
from . import transfer as _transfer
from .colored import _rate_and_partials, colored_rate
from .params import POPULATIONS, NetworkParams

__all__ = ["FILTERS", "resolve_filter", "PopulationTransfer", "SIGMA_FLOOR", "EIFTable"]

FILTERS = ("auto", "white", "fourcaud_brunel", "colored")
"""Accepted values of the ``filter`` argument of the solvers."""

SIGMA_FLOOR = 1e-6
"""Smallest noise amplitude handed to the transfer function, mV (deterministic limit)."""

_FILTERED = ("fourcaud_brunel", "colored")
"""Filters that use the effective synaptic time constant."""

_COLORED_FD_STEP = 1e-6
"""Forward-difference step of the colored-rate partials, relative to sigma (mu, sigma) and
to max(tau_s, 1 ms) (tau_s); the table is a C1 cubic interpolation: truncation ~1e-6."""

_EIF_FD_STEP = 1e-6
"""Forward-difference step of the EIF partials, relative to sigma (the discretised EIF
rate is smooth in mu and sigma: truncation ~1e-6, round-off ~1e-13/1e-6 relative)."""


def resolve_filter(params: NetworkParams, filter: str) -> tuple:
    """Per-population filter names (``"white"``, ``"fourcaud_brunel"``, ``"colored"``) for E and I.

    Raises
    ------
    ValueError
        ``filter`` unknown, or ``"fourcaud_brunel"`` requested for an EIF population.
    """
    if filter not in FILTERS:
        raise ValueError(f"filter = {filter!r} is unknown; allowed: {FILTERS}")
    any_tau = bool(np.any(params.tau_syn > 0))
    out = []
    for a, neuron in zip(POPULATIONS, params.neurons):
        if filter in ("white", "colored"):
            out.append(filter)
        elif filter == "fourcaud_brunel":
            if neuron.kind != "LIF":
                raise ValueError(f"filter = 'fourcaud_brunel' needs LIF neurons, but population "
                                 f"{a} is {neuron.kind}; allowed for EIF: 'white', 'colored' or "
                                 f"'auto'")
            out.append("fourcaud_brunel")
        else:
            out.append("colored" if any_tau else "white")
    return tuple(out)


class PopulationTransfer:
    """Rates and partials for points belonging to the E or I population.

    Parameters
    ----------
    params : NetworkParams
    filters : (str, str)
        Output of ``resolve_filter``.
    index : (array_like, array_like)
        Indices (into the flat point arrays) of the E points and of the I points.
    """

    def __init__(self, params: NetworkParams, filters, index, table: bool = False):
        self.neurons = params.neurons
        self.filters = tuple(filters)
        self.index = tuple(np.asarray(i) for i in index)
        self.tau_syn = np.asarray(params.tau_syn, float)
        self.tables = tuple(EIFTable(nr) if (table and nr.kind == "EIF" and f != "colored")
                            else None for nr, f in zip(self.neurons, self.filters))
        for nr, f, idx in zip(self.neurons, self.filters, self.index):
            if f == "colored" and idx.size:
                # load (or build, once per neuron model: minutes) the colored-rate table now,
                # before a solver starts its clock (time_budget covers solving, not building)
                _colored_table.get_table(nr)

    def tiled(self, copies: int, size: int) -> "PopulationTransfer":
        """Return the same populations for ``copies`` stacked copies of a ``size``-point array."""
        out = object.__new__(PopulationTransfer)
        out.neurons, out.filters, out.tau_syn = self.neurons, self.filters, self.tau_syn
        out.tables = self.tables
        out.index = tuple((np.arange(copies)[:, None] * size + idx[None, :]).ravel()
                          for idx in self.index)
        return out

    # ------------------------------------------------------------------ filter
    def tau_s(self, var_src: np.ndarray, var: np.ndarray) -> np.ndarray:
        """Effective filter time constant per point, s (``filter_terms(...)[0]``)."""
        return self.filter_terms(var_src, var)[0]

    def filter_terms(self, var_src: np.ndarray, var: np.ndarray):
        r"""Effective filter per point and its derivatives with respect to the E and I shares.

        ``var_src`` has shape (3, P): the E, I and X shares :math:`v_b` of sigma^2 at each
        point (mV^2), ``var`` their sum. ``"fourcaud_brunel"`` points use the
        variance-weighted mean :math:`\tau_s = \sum_b v_b\tau_b / \sum_b v_b` (the
        published rule, factor 1 on sigma); ``"colored"`` points use the moments rule of
        ``meanfield.effective_filter`` (docs/theory.md section 9: match Var V and Var dV/dt
        of the free membrane), with :math:`a_b = 1/(\tau_m + \tau_b)`,

        .. math::
            \tau_s = \frac{\sum_b v_b a_b}{\sum_b v_b a_b/\tau_b}, \qquad
            \text{scale}^2 = \frac{\sigma_\text{eff}^2}{\sigma^2}
                            = \frac{(\tau_m + \tau_s)\sum_b v_b a_b}{\sum_b v_b},

        measured within 2.7 % of single neurons driven by the three filtered sources where
        the variance-weighted mean is 5.9 % low on average (benchmarks/README_colored.md
        section 4).

        Returns
        -------
        tau : ndarray (P,)
            Effective time constant, s (0 where no filter is used or var = 0).
        scale : ndarray (P,)
            Factor on sigma, dimensionless (1 except for ``"colored"``).
        dtau, dscale : ndarray (2, P)
            Derivatives of ``tau`` (s/mV^2) and ``scale`` (1/mV^2) with respect to
            ``var_src[0]`` and ``var_src[1]`` (the X share is fixed).
        """
        P = var.shape[0]
        tau, scale = np.zeros(P), np.ones(P)
        dtau, dscale = np.zeros((2, P)), np.zeros((2, P))
        ts = self.tau_syn
        for a, idx in enumerate(self.index):
            if idx.size == 0 or self.filters[a] not in _FILTERED:
                continue
            v, vs = var[idx], var_src[:, idx]
            ok = v > 0
            safe = np.where(ok, v, 1.0)
            if self.filters[a] == "fourcaud_brunel":
                t = np.where(ok, (ts @ vs) / safe, 0.0)
                tau[idx] = t
                for b in (0, 1):
                    dtau[b, idx] = np.where(ok, (ts[b] - t) / safe, 0.0)
                continue
            tm = float(self.neurons[a].tau_m)
            # a source with tau_b = 0 (white) makes Var dV/dt infinite: tau_s = 0; the
            # 1e-12 s floor gives that limit continuously (tau_s ~ 1e-12 s, scale exact)
            tb = np.maximum(ts, 1e-12)
            ab = 1.0 / (tm + tb)
            A = ab @ vs                                   # sum v_b a_b, mV^2/s
            Bq = (ab / tb) @ vs                           # sum v_b a_b / tau_b, mV^2/s^2
            Bs = np.where(Bq > 0, Bq, 1.0)
            t = np.where(ok & (Bq > 0), A / Bs, 0.0)
            c2 = np.where(ok, (tm + t) * A / safe, 1.0)
            c = np.sqrt(np.maximum(c2, 1e-300))
            tau[idx], scale[idx] = t, np.where(ok, c, 1.0)
            for b in (0, 1):
                dt = np.where(ok & (Bq > 0), ab[b] * (1.0 - t / tb[b]) / Bs, 0.0)
                dc2 = (dt * A + (tm + t) * ab[b]) / safe - c2 / safe
                dtau[b, idx] = dt
                dscale[b, idx] = np.where(ok, dc2 / (2.0 * c), 0.0)
        return tau, scale, dtau, dscale

    def uses_filter(self) -> bool:
        return any(f in _FILTERED for f in self.filters)

    # ------------------------------------------------------------------ rates
    def evaluate(self, mu, sigma, tau_s, derivatives: bool = True, scale=None):
        """Rates and (optionally) partials at every point.

        The transfer function sees ``sigma * scale`` (``scale`` from ``filter_terms``,
        default 1).

        Returns
        -------
        r, r_mu, r_sigma, r_tau, r_scale : ndarray (P,)
            Hz, Hz/mV, Hz/mV, Hz/s, Hz (``None`` for the partials when not requested).
            ``r_sigma`` is the derivative with respect to ``sigma`` at fixed ``scale``,
            ``r_tau`` with respect to the effective ``tau_s`` and ``r_scale`` with
            respect to ``scale`` (both zero where no filter is used).
        """
        mu = np.asarray(mu, float)
        sigma_in = np.maximum(np.asarray(sigma, float), SIGMA_FLOOR)
        unit = scale is None
        scale = np.ones_like(sigma_in) if unit else np.broadcast_to(np.asarray(scale, float),
                                                                     sigma_in.shape)
        sigma = sigma_in if unit else np.maximum(sigma_in * scale, SIGMA_FLOOR)
        tau_s = np.asarray(tau_s, float)
        P = mu.shape[0]
        r = np.empty(P)
        if derivatives:
            r_mu, r_sig, r_tau = np.empty(P), np.empty(P), np.zeros(P)
        for a, idx in enumerate(self.index):
            if idx.size == 0:
                continue
            neuron = self.neurons[a]
            m, s = mu[idx], sigma[idx]
            if self.filters[a] == "colored":
                ts = np.broadcast_to(tau_s[idx], m.shape)
                if not derivatives:
                    r[idx] = colored_rate(neuron, m, s, ts)
                    continue
                # analytic partials of the table's interpolant (one lookup; forward
                # differences only at tau_s = 0 and outside the table)
                r[idx], r_mu[idx], r_sig[idx], r_tau[idx] = _rate_and_partials(neuron, m, s, ts)
            elif neuron.kind == "LIF":
                ts = tau_s[idx] if self.filters[a] == "fourcaud_brunel" else 0.0
                r[idx] = _transfer.lif_rate(m, s, neuron, ts)
                if derivatives:
                    d_mu = _transfer.lif_rate_dmu(m, s, neuron, ts)
                    r_mu[idx] = d_mu
                    r_sig[idx] = _transfer.lif_rate_dsigma(m, s, neuron, ts)
                    if self.filters[a] == "fourcaud_brunel":
                        # the shift moves both thresholds by s (alpha/2) sqrt(tau_s/tau_m):
                        # dr/dtau_s = -sigma dr/dmu * alpha / (4 sqrt(tau_s tau_m))
                        ts_arr = np.broadcast_to(ts, m.shape)
                        with np.errstate(divide="ignore"):
                            g = _transfer.ALPHA_FB / (4.0 * np.sqrt(ts_arr * neuron.tau_m))
                        r_tau[idx] = np.where(ts_arr > 0, -s * d_mu * g, 0.0)
            elif self.tables[a] is not None:
                out = self.tables[a](m, s, derivatives)
                r[idx] = out[0]
                if derivatives:
                    r_mu[idx], r_sig[idx] = out[1], out[2]
            else:
                if not derivatives:
                    r[idx] = _transfer.eif_rate(m, s, neuron)
                    continue
                h = _EIF_FD_STEP * s
                n = m.size
                out = _transfer.eif_rate(np.concatenate([m, m + h, m]),
                                         np.concatenate([s, s, s + h]), neuron)
                r[idx] = out[:n]
                r_mu[idx] = (out[n:2 * n] - out[:n]) / h
                r_sig[idx] = (out[2 * n:] - out[:n]) / h
        if derivatives:
            if unit:
                return r, r_mu, r_sig, r_tau, np.zeros(P)
            # r_sig is d r / d sigma_eff here: chain rule to sigma and to scale
            return r, r_mu, r_sig * scale, r_tau, r_sig * sigma_in
        return r, None, None, None, None


class EIFTable:
    """Bicubic-spline table of log Phi(mu, sigma) for one EIF neuron, built on demand.

    The threshold integration costs one pass over ~2500 voltage steps per call, linear in
    the number of points; for 10^4 neurons (times the quenched-average nodes) a table is
    far cheaper. The table covers the requested (mu, sigma) box with margins and is
    rebuilt when a query leaves it. Nodes: mu spaced by sigma_min / 24 (at most 600),
    sigma geometric with ratio 1 + 1/24 (6 to 64 nodes; the box is widened by 5 %);
    cubic splines of log r: relative error of r about 1e-5 (below 5e-5 for rates above
    1e-3 Hz over mu in [-300, 100] mV, sigma in [5, 30] mV for the default EIF), and
    ``solve_network`` reports the measured error against direct evaluation at its
    solution.
    """

    LOG_FLOOR = -700.0

    def __init__(self, neuron):
        self.neuron = neuron
        self.box = None
        self.spline = None
        self.builds = 0

    def _build(self, mu, sigma):
        s_lo, s_hi = float(sigma.min()) * 0.95, float(sigma.max()) * 1.05
        m_lo, m_hi = float(mu.min()), float(mu.max())
        pad = 2.0 * s_hi + 0.1 * (m_hi - m_lo)
        m_lo, m_hi = m_lo - pad, m_hi + pad
        step = max(s_lo / 24.0, (m_hi - m_lo) / 600.0)
        n_mu = int(np.ceil((m_hi - m_lo) / step)) + 1
        mu_g = np.linspace(m_lo, m_hi, max(n_mu, 8))
        n_s = int(np.ceil(np.log(s_hi / s_lo) / np.log1p(1.0 / 24.0))) + 1
        s_g = np.geomspace(s_lo, s_hi, min(max(n_s, 6), 64))
        M, S = np.meshgrid(mu_g, s_g, indexing="ij")
        r = _transfer.eif_rate(M.ravel(), np.maximum(S.ravel(), SIGMA_FLOOR), self.neuron)
        with np.errstate(divide="ignore"):
            logr = np.maximum(np.log(r), self.LOG_FLOOR).reshape(M.shape)
        self.spline = RectBivariateSpline(mu_g, s_g, logr, kx=3, ky=3)
        self.box = (m_lo, m_hi, s_lo, s_hi)
        self.builds += 1

    def __call__(self, mu, sigma, derivatives):
        b = self.box
        if b is None or mu.min() < b[0] or mu.max() > b[1] or sigma.min() < b[2] \
                or sigma.max() > b[3]:
            self._build(mu, sigma)
        logr = self.spline.ev(mu, sigma)
        r = np.where(logr <= self.LOG_FLOOR + 1.0, 0.0, np.exp(logr))
        if not derivatives:
            return r, None, None
        return r, r * self.spline.ev(mu, sigma, dx=1), r * self.spline.ev(mu, sigma, dy=1)

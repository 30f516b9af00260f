r"""Stationary rate of a LIF/EIF neuron driven by exponentially filtered (colored) noise.

One job: ``colored_rate(neuron, mu, sigma, tau_s)``, the transfer function r = Phi(mu,
sigma, tau_s) for the input that exponential synapses actually deliver: an
Ornstein-Uhlenbeck current of correlation time ``tau_s`` (docs/theory.md section 9),

.. math::
    \tau_m \dot V = -(V - E_L) + \psi(V) + I, \qquad
    \tau_s \dot I = -(I - (\mu - E_L)) + \sigma \sqrt{\tau_m}\,\xi(t),

with ``mu`` and ``sigma`` the mean and Brunel-convention amplitude of the unfiltered input
(docs/theory.md section 4; ``validation.simulate`` realises exactly this I in the diffusion
limit: each spike adds J/tau_b to a current decaying with tau_b, so sigma^2 = tau_m sum J^2
K r is unchanged by the filter and the free membrane variance falls to
sigma^2 / (2 (1 + tau_s/tau_m))). ``tau_s -> 0`` gives the white-noise rates
``lif_rate`` / ``eif_rate`` (section 5); unlike the Fourcaud-Brunel shift
(``lif_rate(..., tau_s=...)``) the result is accurate at any tau_s/tau_m up to 1 and for
the EIF too.

Method: the stationary two-dimensional Fokker-Planck equation in (V, I), solved by finite
volumes (``meanfield._fokker_planck_2d``: upwind in V, Scharfetter-Gummel in I, absorbing
flux at the spike cut re-injected at the reset after tau_ref with the OU transition of I
during the refractory period, sparse direct solve). One solve costs 0.05-0.3 s, so
``colored_rate`` interpolates a table of the ratio colored/white over (mu, sigma,
tau_s/tau_m) per neuron model (``meanfield._colored_table``). Tables for the neurons of the
presets ``akil2021`` (EIF) and ``akil2021_lif`` (LIF) ship with the package; for any other
neuron the table is built on first use (a few minutes on 2 cores, progress bar with tqdm),
cached on disk and reused (``build_colored_table``).
"""

from __future__ import annotations

import logging
import time
import warnings

import numpy as np

from . import _colored_table as _tab
from . import _fokker_planck_2d as _fp
from . import _siegert
from .errors import RegimeWarning
from .params import EIF, LIF
from .transfer import (_check_neuron, _finite_or_raise, _lif_log_prefactor, _lif_parts, _moments,
                       eif_rate, lif_rate)

__all__ = ["colored_rate", "colored_ratio", "build_colored_table", "COLORED_Q_MAX",
           "METHODS"]

COLORED_Q_MAX = 1.0
"""Largest sqrt(tau_s/tau_m) of the tables and of the validation (tau_s <= tau_m)."""

METHODS = ("auto", "table", "direct")
"""Accepted values of ``colored_rate(method=...)``."""

NEGLIGIBLE_RATE = 1e-10
"""Hz. Points outside the table whose white-noise rate is below this skip the direct solver
and keep the white rate (ratio 1): a silent neuron, which the solver could not resolve anyway."""

DIRECT_WARN_AT = 20
"""``method="auto"``: warn when more points than this need the (slow) direct solver."""

_log = logging.getLogger(__name__)


def _white(neuron, mu, sigma):
    return lif_rate(mu, sigma, neuron) if isinstance(neuron, LIF) else eif_rate(mu, sigma, neuron)


def _direct(neuron, mu, sigma, tau_s) -> np.ndarray:
    """Solve the 2-D Fokker-Planck equation at each point (flat arrays; tau_s > 0): rate, Hz, >= 0."""
    out = np.empty(mu.size)
    for i in range(mu.size):
        out[i] = _fp.rate(neuron, float(mu[i]), float(sigma[i]), float(tau_s[i]),
                          _tab.SOLVER_GRID)
    return np.maximum(out, 0.0)


def colored_ratio(neuron, mu, sigma, tau_s, *, method: str = "auto") -> np.ndarray:
    """Ratio of the colored-noise rate to the white-noise rate, dimensionless.

    Parameters, raises and warnings as ``colored_rate``; returns an array of the broadcast
    shape with ``colored_rate = colored_ratio * white rate`` (1 where ``tau_s == 0``).
    Useful to a solver that already has the white rate and its derivatives.
    """
    ratio, _ = _ratio_and_white(neuron, mu, sigma, tau_s, method, need_white=False)
    return ratio


def _ratio_and_white(neuron, mu, sigma, tau_s, method, need_white):
    _check_neuron(neuron, (LIF, EIF), "colored_rate")
    if method not in METHODS:
        raise ValueError(f"method = {method!r} is not allowed; allowed: {METHODS}")
    (mu, sigma, tau_s), shape = _moments(mu, sigma, tau_s)
    ratio = np.ones(mu.size)
    white = None
    q = np.sqrt(tau_s / neuron.tau_m)
    col = q > 0
    beyond = q > COLORED_Q_MAX * (1 + 1e-12)
    if beyond.any():
        warnings.warn(
            f"tau_s = {float(tau_s.max())!r} s exceeds tau_m = {neuron.tau_m!r} s: colored_rate "
            f"is validated (and tabulated) for tau_s/tau_m <= {COLORED_Q_MAX ** 2:g}; these "
            f"{int(beyond.sum())} points use the direct Fokker-Planck solver, whose accuracy "
            f"there has not been checked against simulation", RegimeWarning, stacklevel=3)
    direct = col.copy() if method == "direct" else np.zeros(mu.size, bool)
    if method != "direct" and col.any():
        table = _tab.get_table(neuron)
        inside = col & table.covers(sigma, q)
        if inside.any():
            x = (mu[inside] - _tab.v_ref(neuron)) / sigma[inside]
            ratio[inside] = np.exp(table.log_ratio_at(x, sigma[inside], q[inside]))
        outside = col & ~inside
        if outside.any():
            if method == "table":
                lo, hi = table.sigma_range
                i = int(np.flatnonzero(outside)[0])
                raise ValueError(
                    f"point (mu = {mu[i]!r} mV, sigma = {sigma[i]!r} mV, tau_s = {tau_s[i]!r} s) "
                    f"lies outside the colored-rate table; allowed with method='table': sigma in "
                    f"[{lo:.3g}, {hi:.3g}] mV and tau_s/tau_m <= {table.q_max ** 2:g} (use "
                    f"method='auto' or 'direct' for the Fokker-Planck solver)")
            direct = outside
            n_out = int(outside.sum())
            if n_out > DIRECT_WARN_AT:
                lo, hi = table.sigma_range
                warnings.warn(
                    f"{n_out} points lie outside the colored-rate table (sigma in [{lo:.3g}, "
                    f"{hi:.3g}] mV, tau_s/tau_m <= {table.q_max ** 2:g}) and are computed with the "
                    f"direct Fokker-Planck solver (0.05-0.3 s each)", RegimeWarning, stacklevel=3)
    if direct.any():
        white_d = np.asarray(_white(neuron, mu[direct], sigma[direct]), dtype=float)
        # a white rate below NEGLIGIBLE_RATE: ratio 1 (the Fokker-Planck grid would have to
        # span thousands of sigma, e.g. mu = -4000 mV at sigma = 2 mV inside a stiff solve)
        solve_d = white_d >= NEGLIGIBLE_RATE
        idx = np.flatnonzero(direct)[solve_d]
        r_d = _direct(neuron, mu[idx], sigma[idx], tau_s[idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio[idx] = np.where(white_d[solve_d] > 0, r_d / white_d[solve_d], 0.0)
    if need_white:
        white = np.empty(mu.size)
        exact = ~col
        if isinstance(neuron, EIF) and col.any():     # interpolated (fast), see log_white_eif
            lw = _tab.log_white_eif(neuron, mu[col], sigma[col])
            exact[col] = np.isnan(lw)
            white[col] = np.exp(lw)
        else:
            exact[:] = True
        if exact.any():
            white[exact] = np.asarray(_white(neuron, mu[exact], sigma[exact]), dtype=float)
    return _finite_or_raise(ratio, "colored_rate").reshape(shape), white


def colored_rate(neuron, mu, sigma, tau_s, *, method: str = "auto") -> np.ndarray:
    r"""Stationary rate of a LIF or EIF neuron under exponentially filtered noise, in Hz.

    Parameters
    ----------
    neuron : LIF or EIF
        Neuron parameters (``meanfield.params``).
    mu : array_like
        Mean input, mV, absolute (includes ``E_L``); any finite value.
    sigma : array_like
        Noise amplitude of the unfiltered input, mV, > 0 (Brunel convention, docs/theory.md
        section 4: sigma^2 = tau_m sum_b J_b^2 K_b r_b).
    tau_s : array_like
        Synaptic (filter) time constant, s, in [0, 1]; 0 gives the white-noise rate exactly.
        Validated for ``tau_s <= tau_m``; beyond, a ``RegimeWarning``.
        ``mu``, ``sigma`` and ``tau_s`` broadcast together.
    method : {"auto", "table", "direct"}
        "auto" (default): the neuron's table (built and cached on first use if it is
        missing: minutes), and the direct solver for points outside its sigma or
        tau_s/tau_m range. "table": the table only; points outside raise ``ValueError``.
        "direct": the 2-D Fokker-Planck solver at every point (0.05-0.3 s a point;
        under-resolved below tau_s/tau_m ~ 1e-3, where the boundary layer at the threshold
        is thinner than the grid: 1.4 % too high at tau_s/tau_m = 1e-4, LIF).

    Returns
    -------
    ndarray
        Rate in Hz, shape ``np.broadcast_shapes(mu, sigma, tau_s)``, in [0, 1/tau_ref].

    Raises
    ------
    ValueError
        Non-finite ``mu``/``sigma``/``tau_s``, ``sigma <= 0``, ``tau_s`` outside [0, 1] s
        (each naming the argument), an unknown ``method``, or (``method="table"``) a point
        outside the table.
    TypeError
        ``neuron`` is not a ``LIF`` or ``EIF``.

    Warns
    -----
    RegimeWarning
        ``tau_s > tau_m`` (outside the validated range), or more than ``DIRECT_WARN_AT``
        points outside the table (slow).

    Notes
    -----
    Model (docs/theory.md section 9): in the total input ``u = E_L + I``,
    ``tau_m dV/dt = u - V + psi(V)``, ``tau_s du/dt = -(u - mu) + sigma sqrt(tau_m) xi``;
    spike at the cut (``theta`` / ``V_th``), V held at the reset for ``tau_ref`` while u
    evolves, EIF floor ``V_lb``. The rate is the stationary probability flux through the
    cut of the Fokker-Planck equation

    .. math::
        0 = -\partial_V\Big[\frac{\mu + s_u z - V + \psi(V)}{\tau_m} P\Big]
            + \frac{1}{\tau_s}\partial_z\big[z P + \partial_z P\big]
            + \text{re-injection at } V_r,
        \qquad s_u = \sigma\sqrt{\tau_m/(2\tau_s)},

    in the standardised input ``z = (u - mu)/s_u``, normalised with the refractory mass
    ``r tau_ref`` (discretisation: ``meanfield._fokker_planck_2d``). The flux leaving at the
    cut re-enters at the reset after the exact OU transition of z over tau_ref (re-entering
    instead with the z-profile of the outgoing flux, as if tau_ref << tau_s, raises the rate
    by 0.6-6.6 % at tau_ref = 1 ms, tau_s/tau_m = 0.1-0.7 on the presets' neurons).

    Table (``meanfield._colored_table``): log(colored/white) on 20 x 9 x 13 nodes of
    ``x = (mu - V_ref)/sigma`` in [-4, 8] (``V_ref`` = ``theta`` for a LIF, ``V_T`` for an
    EIF), sigma in [2, 51.3] mV and ``q = sqrt(tau_s/tau_m)`` in [0, 1], interpolated by
    tensor-product Catmull-Rom (C1); the white rate is ``lif_rate``/``eif_rate``. Below
    x = -4 (white rates below 2e-5 Hz) the log-ratio continues linearly in x; above x = 8 it
    decays like (8/x)^2 to 0 (mean-driven limit). For an EIF with tau_s > 0 the white rate
    itself is interpolated too (``meanfield._colored_table.log_white_eif``: 0.08 % or better
    above x = -4), so that a lookup costs about 5 us a point (2 ms for 400 points, LIF and
    EIF) instead of the 0.2 ms a point of ``eif_rate``; tau_s = 0 returns ``eif_rate``
    itself.

    Accuracy (measured; ``benchmarks/README_colored.md``): the solver at the table's
    resolution is within 0.75 % of a 4x finer grid (0.25 % at sigma >= 16 mV) and matches
    the Fourcaud-Brunel asymptotics for tau_ref = 0 within 0.6 %; the table adds at most
    0.8 % where the rate is >= 1 Hz (1.1 % down to 0.01 Hz). Against single neurons of
    ``validation.simulate`` (Poisson input with J = sigma/40 through exponential synapses,
    80 points, tau_s/tau_m = 0.1-0.7, sigma = 10-22 mV, EIF of ``akil2021`` and LIF of
    ``akil2021_lif``): 79/80 within 5 % (rate >= 1 Hz) or 0.05 Hz (below); mean error
    +0.9 %; the exception (EIF, 1.07 Hz, tau_s/tau_m = 0.1, +6.9 %) is shot noise of the
    finite J (+2.6 % at J = sigma/80, -0.2 % with Gaussian input). The Fourcaud-Brunel
    shift is 14.7 % off on the same LIF points. Rates below about 1e-6 Hz are not resolved
    (the table extrapolates there); outside the table, points whose white-noise rate is below
    ``NEGLIGIBLE_RATE`` (1e-10 Hz) get that white rate instead of a direct solve.

    References
    ----------
    Fourcaud & Brunel, Neural Comput. 14, 2057 (2002); Moreno-Bote & Parga, Phys. Rev. Lett.
    92, 028102 (2004); Schuecker, Diesmann & Helias, Phys. Rev. E 92, 052119 (2015);
    Scharfetter & Gummel, IEEE Trans. Electron Devices 16, 64 (1969).

    Examples
    --------
    >>> from meanfield import NetworkParams, colored_rate, eif_rate
    >>> eif = NetworkParams.preset("akil2021").neuron_E
    >>> white = float(eif_rate(-70.7, 16.0, eif))
    >>> colored = float(colored_rate(eif, -70.7, 16.0, tau_s=0.008))
    >>> round(white, 2), round(colored, 2)
    (9.01, 2.43)
    """
    ratio, white = _ratio_and_white(neuron, mu, sigma, tau_s, method, need_white=True)
    out = ratio.ravel() * white
    if neuron.tau_ref > 0:
        out = np.minimum(out, 1.0 / neuron.tau_ref)
    return _finite_or_raise(out, "colored_rate").reshape(ratio.shape)


_FD_STEP = 1e-6
"""Forward-difference step of ``_rate_and_partials`` at the points it does not treat
analytically, relative to sigma (mu, sigma) and to max(tau_s, 1 ms) (tau_s)."""


def _lif_white_and_partials(neuron, mu, sigma):
    """``lif_rate``, ``lif_rate_dmu``, ``lif_rate_dsigma`` (tau_s = 0) from one Siegert integral.

    The formulas of ``meanfield.transfer.lif_rate_dmu``/``lif_rate_dsigma`` (flat arrays, no
    checks), sharing the integral that each public function recomputes.
    """
    log_r, y_th, y_r, c_th, c_r = _lif_parts(mu, sigma, 0.0, neuron)
    log_pre = _lif_log_prefactor(log_r, sigma, neuron)
    l_th = _siegert.log_erfcx_neg(y_th)
    l_r = _siegert.log_erfcx_neg(y_r)
    d_mu = np.exp(log_pre + l_th) * -np.expm1(l_r - l_th)
    d_sigma = c_th * np.exp(log_pre + l_th) - c_r * np.exp(log_pre + l_r)
    return np.exp(log_r), d_mu, d_sigma


def _rate_and_partials(neuron, mu, sigma, tau_s):
    r"""``colored_rate`` and its partial derivatives, from one table lookup (private).

    Parameters
    ----------
    neuron : LIF or EIF
    mu, sigma, tau_s : array_like
        As ``colored_rate`` (mV, mV, s); broadcast together and flattened.

    Returns
    -------
    r, r_mu, r_sigma, r_tau : ndarray (m,)
        Rate (Hz, equal to ``colored_rate`` with ``method="auto"`` to round-off) and its
        partials, Hz/mV, Hz/mV, Hz/s.

    Notes
    -----
    Inside the table (``tau_s > 0``, sigma and q = sqrt(tau_s/tau_m) covered, and for an
    EIF x inside the grid of the interpolated white rate) the partials are those of the
    interpolant itself: with :math:`L = \log R(x, \log\sigma, q)`,
    :math:`x = (\mu - V_{ref})/\sigma`, and the white rate w,

    .. math::
        \partial_\mu \log r = rac{L_x}{\sigma} + \partial_\mu \log w, \quad
        \partial_\sigma \log r = rac{-x L_x + L_{\log\sigma}}{\sigma}
            + \partial_\sigma \log w, \quad
        \partial_{	au_s} \log r = rac{L_q}{2 q 	au_m},

    L's gradient from the Catmull-Rom weight derivatives (``Table.log_ratio_at(grad=True)``,
    extensions in x included), w's from the formulas of ``lif_rate_dmu``/``lif_rate_dsigma`` (LIF) or the
    gradient of the interpolated log white EIF rate (``log_white_eif(grad=True)``). Where the
    rate is capped at 1/tau_ref the partials are 0. Elsewhere (tau_s = 0, where dr/dtau_s
    diverges like 1/sqrt(tau_s); points outside the table, which use the direct solver; an
    EIF beyond the grid of the interpolated white rate) forward differences of
    ``colored_rate`` with steps ``_FD_STEP``, backward where a forward step in sigma or
    tau_s would leave the table (and jump to the direct solver).
    """
    _check_neuron(neuron, (LIF, EIF), "colored_rate")
    (mu, sigma, tau_s), _ = _moments(mu, sigma, tau_s)
    n = mu.size
    r, r_mu, r_sig, r_tau = (np.empty(n) for _ in range(4))
    q = np.sqrt(tau_s / neuron.tau_m)
    fast = (q > 0) & (q <= COLORED_Q_MAX * (1 + 1e-12))
    if fast.any():
        table = _tab.get_table(neuron)
        fast &= table.covers(sigma, q)
    x = (mu - _tab.v_ref(neuron)) / sigma
    is_eif = isinstance(neuron, EIF)
    if is_eif and fast.any():      # the interpolated white rate: NaN outside its grid
        W, (W_x, W_ls) = _tab.log_white_eif(neuron, mu[fast], sigma[fast], grad=True)
        inside = ~np.isnan(W)
        W, W_x, W_ls = W[inside], W_x[inside], W_ls[inside]
        fast[fast] = inside
    if fast.any():
        m, s, qf, xf = mu[fast], sigma[fast], q[fast], x[fast]
        L, (L_x, L_ls, L_q) = table.log_ratio_at(xf, s, qf, grad=True)
        if is_eif:
            rf = np.exp(L + W)
            dl_mu = (L_x + W_x) / s
            dl_sig = (-xf * (L_x + W_x) + L_ls + W_ls) / s
            d_mu, d_sig = rf * dl_mu, rf * dl_sig
        else:
            w, w_mu, w_sig = _lif_white_and_partials(neuron, m, s)
            R = np.exp(L)
            rf = R * w
            d_mu = rf * L_x / s + R * w_mu
            d_sig = rf * (-xf * L_x + L_ls) / s + R * w_sig
        d_tau = rf * L_q / (2.0 * qf * neuron.tau_m)
        if neuron.tau_ref > 0:
            cap = rf >= 1.0 / neuron.tau_ref
            if cap.any():
                rf = np.where(cap, 1.0 / neuron.tau_ref, rf)
                d_mu, d_sig, d_tau = (np.where(cap, 0.0, d) for d in (d_mu, d_sig, d_tau))
        r[fast], r_mu[fast], r_sig[fast], r_tau[fast] = rf, d_mu, d_sig, d_tau
    slow = ~fast
    if slow.any():
        m, s, ts = mu[slow], sigma[slow], tau_s[slow]
        k = m.size
        # steps back where a forward step would leave the table (to the direct solver)
        s_max = float(_tab.SIGMA_NODES[-1])
        h = _FD_STEP * s
        hs = np.where((s <= s_max * (1 + 1e-9)) & (s + h > s_max), -h, h)
        t_max = neuron.tau_m * COLORED_Q_MAX ** 2
        ht = _FD_STEP * np.maximum(ts, 1e-3)
        ht = np.where((ts > 0) & (ts <= t_max * (1 + 1e-9)) & (ts + ht > t_max), -ht, ht)
        out = colored_rate(neuron, np.concatenate([m, m + h, m, m]), np.concatenate([s, s, s + hs, s]),
                           np.concatenate([ts, ts, ts, ts + ht]))
        r[slow] = out[:k]
        r_mu[slow] = (out[k:2 * k] - out[:k]) / h
        r_sig[slow] = (out[2 * k:3 * k] - out[:k]) / hs
        r_tau[slow] = (out[3 * k:] - out[:k]) / ht
    for name, a in (("r", r), ("dr/dmu", r_mu), ("dr/dsigma", r_sig), ("dr/dtau_s", r_tau)):
        _finite_or_raise(a, f"colored_rate partials ({name})")
    return r, r_mu, r_sig, r_tau


def build_colored_table(neuron, *, n_jobs: int | None = None, progress: bool | None = None,
                        force: bool = False):
    """Build (or find) the colored-rate table of ``neuron`` and cache it on disk.

    Parameters
    ----------
    neuron : LIF or EIF
    n_jobs : int, optional
        Worker processes (default: all cores).
    progress : bool or None
        tqdm progress bar (when tqdm is installed) unless False.
    force : bool
        Rebuild even if a valid table exists.

    Returns
    -------
    pathlib.Path
        The cache file (``$HETBALANCE_CACHE_DIR``, else ``$XDG_CACHE_HOME/hetbalance``,
        else ``~/.cache/hetbalance``), or the shipped file when the neuron has one and
        ``force`` is False.

    Notes
    -----
    2,160 node solves of 0.05 s (LIF) to 0.1 s (EIF) CPU each: measured 104 s (LIF) and
    230 s (EIF) of CPU, i.e. 1-2 minutes on 2 idle cores (4.8 and 6.8 minutes of wall time
    on a 2-core machine shared with other jobs); ``benchmarks/build_colored_tables.py``
    prints the numbers of a build.
    """
    _check_neuron(neuron, (LIF, EIF), "build_colored_table")
    if not force and _tab.find_table(neuron) is not None:
        shipped = _tab.shipped_path(neuron)
        return shipped if shipped.is_file() else _tab.cache_path(neuron)
    t0 = time.perf_counter()
    _log.info("building the colored-rate table of %r (minutes)", neuron)
    table = _tab.build_table(neuron, n_jobs=n_jobs, progress=progress)
    path = _tab.cache_path(neuron)
    table.save(path)
    _tab._LOADED.clear()
    _log.info("colored-rate table built in %.0f s: %s", time.perf_counter() - t0, path)
    return path

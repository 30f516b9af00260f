"""Transfer functions r = Phi(mu, sigma): stationary firing rate of a neuron under white noise.

One job: map the input moments of docs/theory.md section 4 (mean ``mu`` in mV, absolute,
including ``E_L``; noise amplitude ``sigma`` in mV, Brunel convention: the free membrane
variance is ``sigma**2 / 2``) to a firing rate in Hz, with the derivatives a Newton
solver needs.

* LIF: Siegert formula (Siegert 1951; Brunel 2000), optionally with the
  Fourcaud-Brunel (2002) correction for exponential synapses -- ``lif_rate``,
  ``lif_rate_dmu``, ``lif_rate_dsigma``.
* EIF or any I-V curve: Richardson's (2007) threshold integration of the
  Fokker-Planck equation -- ``eif_rate``, ``eif_rate_dmu``, ``eif_rate_dsigma``.
* ``rate``, ``rate_dmu``, ``rate_dsigma`` dispatch on ``neuron.kind``.

All functions broadcast ``mu`` and ``sigma`` (and ``tau_s``) with numpy and return a
float ndarray of the broadcast shape (a 0-d array for scalar input).  Invalid input
raises ``ValueError`` naming the argument, the offending value and the allowed range; a
neuron of the wrong type raises ``TypeError``.  Rates too small for a double (below
about 1e-300 Hz) underflow to 0 (or a subnormal number); they never become NaN.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from . import _siegert
from . import _threshold_integration as _ti
from .checks import check_array, check_in_range, check_time_constant
from .errors import RegimeWarning
from .params import EIF, LIF

__all__ = [
    "ALPHA_FB",
    "DEFAULT_DV",
    "lif_rate",
    "lif_rate_dmu",
    "lif_rate_dsigma",
    "eif_rate",
    "eif_rate_dmu",
    "eif_rate_dsigma",
    "rate",
    "rate_dmu",
    "rate_dsigma",
]

ALPHA_FB = math.sqrt(2.0) * 1.4603545088095868
"""Fourcaud-Brunel constant :math:`\\alpha = \\sqrt{2}|\\zeta(1/2)| \\approx 2.0653`."""

DEFAULT_DV = 0.05
"""Default voltage step of the threshold integration, mV (see ``eif_rate``)."""

_FD_REL_STEP = 1e-4
"""Central-difference step of ``eif_rate_dmu``/``eif_rate_dsigma``, relative to sigma."""

_LIF_FLOOR_SIGMAS = 8.0
"""For ``eif_rate`` with a LIF: the floor lies this many sigma below min(V_r, mu)."""


# --------------------------------------------------------------------------- inputs
def _moments(mu, sigma, tau_s=None):
    """Check and broadcast mu, sigma (and tau_s); return flat float arrays and the shape."""
    mu = check_array("mu", mu)
    sigma = check_array("sigma", sigma, lo=0.0, lo_open=True)
    arrays = [mu, sigma]
    if tau_s is not None:
        tau_s = check_array("tau_s", tau_s, lo=0.0)
        if tau_s.size:  # seconds; > 1 s raises with a "did you mean ms?" hint
            check_time_constant("tau_s", float(tau_s.max()), allow_zero=True)
        arrays.append(tau_s)
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError as exc:
        names = ", ".join(f"{n}{a.shape}" for n, a in zip(("mu", "sigma", "tau_s"), arrays))
        raise ValueError(f"shapes do not broadcast: {names}; allowed: numpy-broadcastable "
                         f"shapes") from exc
    flat = [np.broadcast_to(a, shape).ravel() for a in arrays]
    return flat, shape


def _check_neuron(neuron, allowed, func: str):
    if not isinstance(neuron, allowed):
        names = " or ".join(c.__name__ for c in allowed)
        raise TypeError(f"{func}: neuron must be a {names} instance, got "
                        f"{type(neuron).__name__}")


def _finite_or_raise(values: np.ndarray, func: str) -> np.ndarray:
    """Never hand out NaN silently: raise if a NaN slipped through the numerics."""
    if np.isnan(values).any():
        first = int(np.flatnonzero(np.isnan(values))[0])
        raise FloatingPointError(f"{func} produced NaN; please report the inputs "
                                 f"(first bad flat index {first})")
    return values


# --------------------------------------------------------------------------- LIF
def _lif_parts(mu, sigma, tau_s, neuron: LIF):
    """Return log r and the dimensionless thresholds on flat arrays (see ``lif_rate``)."""
    shift = 0.5 * ALPHA_FB * np.sqrt(tau_s / neuron.tau_m)
    c_th = (neuron.theta - mu) / sigma
    c_r = (neuron.V_r - mu) / sigma
    y_th, y_r = c_th + shift, c_r + shift
    d = (neuron.theta - neuron.V_r) / sigma
    log_T = math.log(neuron.tau_m * math.sqrt(math.pi)) + _siegert.log_siegert_integral(
        y_th, y_r, d)
    with np.errstate(divide="ignore"):
        log_tau_ref = np.log(neuron.tau_ref)
    log_r = -np.logaddexp(log_tau_ref, log_T)
    return log_r, y_th, y_r, c_th, c_r


def _check_tau_s_regime(tau_s: np.ndarray, neuron: LIF):
    if np.any(tau_s > neuron.tau_m):
        warnings.warn(
            f"tau_s = {float(tau_s.max())!r} s exceeds tau_m = {neuron.tau_m!r} s: the "
            f"Fourcaud-Brunel correction is a first-order expansion in sqrt(tau_s/tau_m) "
            f"and is not reliable there", RegimeWarning, stacklevel=3)


def lif_rate(mu, sigma, neuron: LIF, tau_s=0.0) -> np.ndarray:
    r"""Stationary rate of a LIF neuron under white (or weakly coloured) noise, in Hz.

    Parameters
    ----------
    mu : array_like
        Mean input, mV, absolute (includes ``E_L``); any finite value.
    sigma : array_like
        Noise amplitude, mV, > 0 (Brunel convention: free membrane variance
        ``sigma**2 / 2``). Broadcasts with ``mu``.
    neuron : LIF
        Neuron parameters (``tau_m``, ``theta``, ``V_r``, ``tau_ref``).
    tau_s : array_like, optional
        Synaptic time constant, s, in [0, 1]; 0 (default) gives the white-noise Siegert
        rate. Broadcasts with ``mu`` (e.g. a per-neuron effective time constant).

    Returns
    -------
    ndarray
        Rate in Hz, shape ``np.broadcast_shapes(mu, sigma, tau_s)``, in [0, 1/tau_ref].

    Raises
    ------
    ValueError
        Non-finite ``mu``/``sigma``/``tau_s``, ``sigma <= 0``, ``tau_s`` outside [0, 1] s.
    TypeError
        ``neuron`` is not a ``LIF``.

    Warns
    -----
    RegimeWarning
        ``tau_s > tau_m``, where the Fourcaud-Brunel expansion is unreliable.

    Notes
    -----
    Siegert formula (Siegert 1951; Brunel 2000, eq. 21), :math:`\sqrt{\pi}\,e^{u^2}
    (1 + \operatorname{erf} u)` written with :math:`\operatorname{erfcx}(-u) = e^{u^2}
    \operatorname{erfc}(-u)`:

    .. math::
        \frac{1}{r} = \tau_{ref} + \tau_m \sqrt{\pi}
        \int_{y_r}^{y_{th}} \operatorname{erfcx}(-u)\,du, \qquad
        y_{th} = \frac{\theta - \mu}{\sigma}
        + \frac{\alpha}{2}\sqrt{\frac{\tau_s}{\tau_m}},
        \quad
        y_r = \frac{V_r - \mu}{\sigma} + \frac{\alpha}{2}\sqrt{\frac{\tau_s}{\tau_m}},

    with :math:`\alpha = \sqrt{2}|\zeta(1/2)|` (Fourcaud & Brunel 2002, eq. 5.24): the
    shift of threshold and reset by :math:`\sigma (\alpha/2)\sqrt{\tau_s/\tau_m}` is a
    first-order correction in :math:`\sqrt{\tau_s/\tau_m}`; at
    :math:`\tau_s/\tau_m \sim 0.5` it is an approximation whose error must be measured
    against simulation (docs/theory.md section 5).

    Numerics (all regimes, no overflow, no cancellation; ``meanfield._siegert``): for
    :math:`y_{th} \le 0` the integrand :math:`\operatorname{erfcx}(s)` on
    :math:`[-y_{th}, -y_r]` is bounded and its primitive is evaluated from a piecewise
    polynomial table (:math:`s < 10`) and its asymptotic series (:math:`s \ge 10`); for
    :math:`y_{th} > 0` the part above :math:`u = 0` uses
    :math:`\operatorname{erfcx}(-u) = 2e^{u^2} - \operatorname{erfcx}(u)` and Dawson's
    function with :math:`e^{y_{th}^2}` factored out, and the rate is formed in log space.
    Relative error against 50-digit quadrature below 1e-12 over
    :math:`\mu \in [-60, 60]` mV, :math:`\sigma \in [0.05, 40]` mV (tests). Rates below
    about 1e-300 Hz underflow to 0 or a subnormal double. As :math:`\sigma \to 0` the rate
    tends to the deterministic :math:`1/(\tau_{ref} + \tau_m \ln\frac{\mu - V_r}{\mu -
    \theta})` above threshold and to 0 below. Cost O(size) (times: benchmarks/README.md).

    Examples
    --------
    >>> from meanfield.params import LIF
    >>> brunel = LIF(tau_m=0.02, theta=20.0, V_r=10.0, tau_ref=0.002)
    >>> print(np.round(lif_rate([10.0, 20.0], [5.0, 2.0], brunel), 4))
    [ 0.8819 18.5123]
    """
    _check_neuron(neuron, (LIF,), "lif_rate")
    (mu, sigma, tau_s), shape = _moments(mu, sigma, tau_s)
    _check_tau_s_regime(tau_s, neuron)
    log_r = _lif_parts(mu, sigma, tau_s, neuron)[0]
    return _finite_or_raise(np.exp(log_r), "lif_rate").reshape(shape)


def _lif_log_prefactor(log_r, sigma, neuron: LIF):
    """log(r^2 tau_m sqrt(pi) / sigma), the common factor of both derivatives."""
    return 2.0 * log_r + np.log(neuron.tau_m * math.sqrt(math.pi) / sigma)


def lif_rate_dmu(mu, sigma, neuron: LIF, tau_s=0.0) -> np.ndarray:
    r"""Compute the derivative of ``lif_rate`` with respect to ``mu``, in Hz/mV (analytic).

    Parameters and raises as ``lif_rate``.

    Returns
    -------
    ndarray
        :math:`\partial r/\partial \mu` in Hz/mV, >= 0, broadcast shape.

    Notes
    -----
    Differentiating the Siegert formula (``lif_rate``) under the integral sign:

    .. math::
        \frac{\partial r}{\partial \mu} = \frac{r^2 \tau_m \sqrt{\pi}}{\sigma}
        \left[\operatorname{erfcx}(-y_{th}) - \operatorname{erfcx}(-y_r)\right],

    evaluated as :math:`e^{\ell_{th}}(1 - e^{\ell_r - \ell_{th}})` with
    :math:`\ell = \log(r^2 \tau_m\sqrt{\pi}/\sigma) + \log\operatorname{erfcx}(-y)` and
    :math:`\log\operatorname{erfcx}(-y) = y^2 + \log(1 + \operatorname{erf} y)` for
    :math:`y > 0`, so nothing overflows where the rate is tiny (Brunel 2000; Fourcaud &
    Brunel 2002 for the shifted thresholds, which do not depend on ``mu``).

    Examples
    --------
    >>> from meanfield.params import LIF
    >>> brunel = LIF(tau_m=0.02, theta=20.0, V_r=10.0, tau_ref=0.002)
    >>> print(np.round(lif_rate_dmu(10.0, 5.0, brunel), 5))
    0.59523
    """
    _check_neuron(neuron, (LIF,), "lif_rate_dmu")
    (mu, sigma, tau_s), shape = _moments(mu, sigma, tau_s)
    _check_tau_s_regime(tau_s, neuron)
    log_r, y_th, y_r, _, _ = _lif_parts(mu, sigma, tau_s, neuron)
    log_pre = _lif_log_prefactor(log_r, sigma, neuron)
    l_th = _siegert.log_erfcx_neg(y_th)
    l_r = _siegert.log_erfcx_neg(y_r)
    out = np.exp(log_pre + l_th) * -np.expm1(l_r - l_th)
    return _finite_or_raise(out, "lif_rate_dmu").reshape(shape)


def lif_rate_dsigma(mu, sigma, neuron: LIF, tau_s=0.0) -> np.ndarray:
    r"""Compute the derivative of ``lif_rate`` with respect to ``sigma``, in Hz/mV (analytic).

    Parameters and raises as ``lif_rate``.

    Returns
    -------
    ndarray
        :math:`\partial r/\partial \sigma` in Hz/mV, broadcast shape (either sign:
        noise raises sub-threshold rates and can lower supra-threshold ones).

    Notes
    -----
    With :math:`c_{th} = (\theta - \mu)/\sigma`, :math:`c_r = (V_r - \mu)/\sigma` (the
    Fourcaud-Brunel shift is proportional to :math:`\sigma` and drops out of
    :math:`\partial y/\partial \sigma = -c/\sigma`):

    .. math::
        \frac{\partial r}{\partial \sigma} = \frac{r^2 \tau_m \sqrt{\pi}}{\sigma}
        \left[c_{th}\operatorname{erfcx}(-y_{th}) - c_r\operatorname{erfcx}(-y_r)\right],

    each term formed in log space as in ``lif_rate_dmu``.

    Examples
    --------
    >>> from meanfield.params import LIF
    >>> brunel = LIF(tau_m=0.02, theta=20.0, V_r=10.0, tau_ref=0.002)
    >>> print(np.round(lif_rate_dsigma(10.0, 5.0, brunel), 5))
    1.20148
    """
    _check_neuron(neuron, (LIF,), "lif_rate_dsigma")
    (mu, sigma, tau_s), shape = _moments(mu, sigma, tau_s)
    _check_tau_s_regime(tau_s, neuron)
    log_r, y_th, y_r, c_th, c_r = _lif_parts(mu, sigma, tau_s, neuron)
    log_pre = _lif_log_prefactor(log_r, sigma, neuron)
    out = (c_th * np.exp(log_pre + _siegert.log_erfcx_neg(y_th))
           - c_r * np.exp(log_pre + _siegert.log_erfcx_neg(y_r)))
    return _finite_or_raise(out, "lif_rate_dsigma").reshape(shape)


# --------------------------------------------------------------------------- EIF
def _ti_setup(mu, neuron, sigma, dV, V_lb):
    """(psi, V_th, V_re, V_lb) for the threshold integration of ``neuron``."""
    check_in_range("dV", dV, 0.0, 1.0, lo_open=True, unit="mV")
    if isinstance(neuron, EIF):
        psi, V_th, V_re = neuron.psi, neuron.V_th, neuron.V_re
        floor = neuron.V_lb if V_lb is None else V_lb
    else:  # LIF: no spike-generating current; floor far below the density
        psi, V_th, V_re = np.zeros_like, neuron.theta, neuron.V_r
        floor = (min(V_re, float(mu.min())) - _LIF_FLOOR_SIGMAS * float(sigma.max())
                 if V_lb is None else V_lb)
    check_in_range("V_lb", floor, -1e6, V_re, hi_open=True, unit="mV",
                   hint="the floor must lie below the reset")
    return psi, V_th, V_re, float(floor)


def _eif_log_rate(mu, sigma, neuron, dV, V_lb):
    if mu.size == 0:
        check_in_range("dV", dV, 0.0, 1.0, lo_open=True, unit="mV")
        return np.empty(0)
    psi, V_th, V_re, floor = _ti_setup(mu, neuron, sigma, dV, V_lb)
    log_mass = _ti.log_mass(mu, sigma, psi, V_th, V_re, floor, neuron.tau_m, dV)
    with np.errstate(divide="ignore"):
        log_tau_ref = np.log(neuron.tau_ref)
    return -np.logaddexp(log_tau_ref, log_mass)


def eif_rate(mu, sigma, neuron, dV: float = DEFAULT_DV, V_lb=None) -> np.ndarray:
    r"""Stationary rate of an EIF (or any I-V curve) neuron under white noise, in Hz.

    Parameters
    ----------
    mu : array_like
        Mean input, mV, absolute (includes ``E_L``); any finite value.
    sigma : array_like
        Noise amplitude, mV, > 0 (Brunel convention, free variance ``sigma**2/2``).
    neuron : EIF or LIF
        ``EIF``: I-V curve ``neuron.psi``, spike cut ``V_th``, reset ``V_re``, floor
        ``V_lb``. ``LIF``: ``psi = 0``, spike at ``theta``, reset ``V_r`` (reproduces
        ``lif_rate`` with ``tau_s = 0``; used as a check).
    dV : float, optional
        Largest voltage step, mV, in (0, 1]; default ``DEFAULT_DV`` = 0.05 mV (the
        integration also runs at ``dV/2`` for the extrapolation, see Notes).
    V_lb : float, optional
        Reflecting floor, mV, below the reset. Default: ``neuron.V_lb`` for an EIF;
        for a LIF ``min(V_r, min(mu)) - 8 max(sigma)`` (the density there is
        ``exp(-64)`` of its peak).

    Returns
    -------
    ndarray
        Rate in Hz, broadcast shape of ``mu`` and ``sigma``, in [0, 1/tau_ref].

    Raises
    ------
    ValueError
        Non-finite ``mu``/``sigma``, ``sigma <= 0``, ``dV`` outside (0, 1], ``V_lb``
        not below the reset.
    TypeError
        ``neuron`` is not an ``EIF`` or ``LIF``.

    Notes
    -----
    Threshold integration (Richardson 2007, Phys. Rev. E 76, 021919) of the stationary
    Fokker-Planck equation of
    :math:`\tau_m \dot V = -(V - \mu) + \psi(V) + \sigma\sqrt{\tau_m}\,\xi(t)`,
    :math:`\psi(V) = \Delta_T e^{(V - V_T)/\Delta_T}`: with unit flux :math:`J` between
    reset and cut, :math:`G = (V - \mu - \psi(V))/(\sigma^2/2)`,

    .. math::
        -\frac{dP}{dV} = G(V) P + \frac{\tau_m J(V)}{\sigma^2/2},\quad P(V_{th}) = 0,
        \qquad r = \frac{1}{\tau_{ref} + \int_{V_{lb}}^{V_{th}} P\,dV},

    integrated from :math:`V_{th}` down to :math:`V_{lb}`, where :math:`J` drops from 1
    to 0 at :math:`V_{re}` (always a grid point). Each step freezes :math:`G` at its
    midpoint and solves the linear ODE exactly (second order in the step; Richardson's
    original rule freezes it at the top and is first order); the integral is computed
    with steps ``dV`` and ``dV/2`` and Richardson-extrapolated,
    :math:`(4 I_{dV/2} - I_{dV})/3`.

    Accuracy at the defaults (tests): halving ``dV`` changes the rate by < 1e-5
    relative for sigma >= 0.5 mV and rates above 1e-3 Hz, and by < 1e-4 down to
    1e-250 Hz; with ``psi = 0`` it reproduces ``lif_rate`` to ~1e-8. The error grows
    like (dV/w)^4 with w the width of the escape region,
    :math:`w \approx \sigma\sqrt{\Delta_T/(2(V_T - \mu))}`: for sigma below ~0.3 mV
    the sub-threshold tail needs a smaller ``dV``. Supra-threshold, the
    :math:`\sigma \to 0` limit is the deterministic rate
    :math:`1/(\tau_{ref} + \tau_m\int_{V_{re}}^{V_{th}} dV/(\mu - V + \psi(V)))` (to 1e-11).
    A step whose growth factor exceeds ``e^200`` is capped: this only happens when the rate
    is below about 1e-80 Hz, where the answer is a tiny number rather than an accurate one;
    rates below 1e-300 Hz underflow to 0.

    Vectorised over all points: the loop runs over the voltage steps
    (3 (V_th - V_lb)/dV = 3000 at the defaults), each a few numpy operations over all
    points; cost O(points x steps) (measured times: benchmarks/README.md).

    Examples
    --------
    >>> from meanfield.params import EIF
    >>> print(np.round(eif_rate([-60.0, -55.0], 4.0, EIF()), 3))
    [ 2.303 16.978]
    """
    _check_neuron(neuron, (EIF, LIF), "eif_rate")
    (mu, sigma), shape = _moments(mu, sigma)
    log_r = _eif_log_rate(mu, sigma, neuron, dV, V_lb)
    return _finite_or_raise(np.exp(log_r), "eif_rate").reshape(shape)


def _eif_central_difference(mu, sigma, neuron, dV, V_lb, wrt: str):
    h = _FD_REL_STEP * sigma
    if wrt == "mu":
        m2, s2 = np.concatenate([mu - h, mu + h]), np.concatenate([sigma, sigma])
    else:
        m2, s2 = np.concatenate([mu, mu]), np.concatenate([sigma - h, sigma + h])
    r = np.exp(_eif_log_rate(m2, s2, neuron, dV, V_lb))
    n = mu.size
    return (r[n:] - r[:n]) / (2.0 * h)


def eif_rate_dmu(mu, sigma, neuron, dV: float = DEFAULT_DV, V_lb=None) -> np.ndarray:
    r"""Compute the derivative of ``eif_rate`` with respect to ``mu``, Hz/mV (central difference).

    Parameters, raises as ``eif_rate``.

    Returns
    -------
    ndarray
        :math:`\partial r/\partial \mu` in Hz/mV, broadcast shape.

    Notes
    -----
    .. math:: \frac{\partial r}{\partial\mu} \approx
              \frac{r(\mu + h, \sigma) - r(\mu - h, \sigma)}{2h}, \qquad h = 10^{-4}\sigma,

    both evaluations on the same voltage grid in one vectorised pass (cost twice
    ``eif_rate``; threshold integration of Richardson 2007). The discretised rate is a
    smooth function of ``mu``, so this is the derivative of what ``eif_rate`` returns to
    about 1e-7 relative (truncation
    ~(h/sigma)^2, round-off ~1e-13/(h/sigma)); checked against ``lif_rate_dmu`` with
    ``psi = 0`` in the tests.

    Examples
    --------
    >>> from meanfield.params import EIF
    >>> print(np.round(eif_rate_dmu(-60.0, 4.0, EIF()), 3))
    1.623
    """
    _check_neuron(neuron, (EIF, LIF), "eif_rate_dmu")
    (mu, sigma), shape = _moments(mu, sigma)
    out = _eif_central_difference(mu, sigma, neuron, dV, V_lb, "mu")
    return _finite_or_raise(out, "eif_rate_dmu").reshape(shape)


def eif_rate_dsigma(mu, sigma, neuron, dV: float = DEFAULT_DV, V_lb=None) -> np.ndarray:
    r"""Compute the derivative of ``eif_rate`` with respect to ``sigma``, Hz/mV (central difference).

    Parameters, raises as ``eif_rate``.

    Returns
    -------
    ndarray
        :math:`\partial r/\partial \sigma` in Hz/mV, broadcast shape.

    Notes
    -----
    Same scheme as ``eif_rate_dmu`` (Richardson 2007 threshold integration, differenced):

    .. math:: \frac{\partial r}{\partial\sigma} \approx
              \frac{r(\mu, \sigma + h) - r(\mu, \sigma - h)}{2h}, \qquad h = 10^{-4}\sigma.

    Examples
    --------
    >>> from meanfield.params import EIF
    >>> print(np.round(eif_rate_dsigma(-60.0, 4.0, EIF()), 3))
    2.252
    """
    _check_neuron(neuron, (EIF, LIF), "eif_rate_dsigma")
    (mu, sigma), shape = _moments(mu, sigma)
    out = _eif_central_difference(mu, sigma, neuron, dV, V_lb, "sigma")
    return _finite_or_raise(out, "eif_rate_dsigma").reshape(shape)


# --------------------------------------------------------------------------- dispatch
_EIF_TAU_S_MESSAGE = (
    "rate() for an EIF neuron returns the white-noise (delta-synapse) rate: tau_s > 0 is "
    "ignored. The Fourcaud-Brunel threshold shift is derived for the LIF's hard threshold "
    "and does not carry over to the EIF's soft spike initiation; measure the error of the "
    "white-noise rate against simulation for your tau_s.")


def _dispatch(mu, sigma, neuron, tau_s, lif_func, eif_func, name):
    _check_neuron(neuron, (LIF, EIF), name)
    if neuron.kind == "LIF":
        return lif_func(mu, sigma, neuron, tau_s)
    (_, _, tau_flat), shape = _moments(mu, sigma, tau_s)
    if np.any(tau_flat > 0.0):
        warnings.warn(_EIF_TAU_S_MESSAGE, RegimeWarning, stacklevel=3)
    out = eif_func(mu, sigma, neuron)
    return np.broadcast_to(out, shape).copy()


def rate(mu, sigma, neuron, tau_s=0.0) -> np.ndarray:
    r"""Compute the firing rate in Hz of a LIF or EIF neuron: ``lif_rate`` or ``eif_rate``.

    Parameters
    ----------
    mu, sigma : array_like
        Mean input (mV, absolute) and noise amplitude (mV, > 0, Brunel convention).
    neuron : LIF or EIF
        Dispatches on ``neuron.kind``.
    tau_s : array_like, optional
        Synaptic time constant, s, in [0, 1]. LIF: Fourcaud-Brunel correction. EIF:
        ignored -- the white-noise rate is returned and a ``RegimeWarning`` is issued
        when any ``tau_s > 0`` (shown once per call site by Python's default filter).

    Returns
    -------
    ndarray
        Rate in Hz, shape ``np.broadcast_shapes(mu, sigma, tau_s)``.

    Notes
    -----
    .. math:: r = \Phi(\mu, \sigma) = \begin{cases}
              \text{Siegert / Fourcaud-Brunel} &
              \text{LIF (Brunel 2000; Fourcaud \& Brunel 2002)}\\
              \text{threshold integration} & \text{EIF (Richardson 2007)}\end{cases}

    Examples
    --------
    >>> from meanfield.params import EIF, LIF
    >>> print(np.round(rate(20.0, 2.0, LIF(tau_m=0.02, theta=20.0, V_r=10.0)), 4))
    18.5123
    >>> print(np.round(rate(-60.0, 4.0, EIF()), 3))
    2.303
    """
    return _dispatch(mu, sigma, neuron, tau_s, lif_rate, eif_rate, "rate")


def rate_dmu(mu, sigma, neuron, tau_s=0.0) -> np.ndarray:
    r""":math:`\partial r/\partial\mu` in Hz/mV: ``lif_rate_dmu`` or ``eif_rate_dmu``.

    Parameters, returns and the EIF ``tau_s`` caveat as ``rate``.

    Examples
    --------
    >>> from meanfield.params import LIF
    >>> print(np.round(rate_dmu(10.0, 5.0, LIF(tau_m=0.02, theta=20.0, V_r=10.0)), 5))
    0.59523
    """
    return _dispatch(mu, sigma, neuron, tau_s, lif_rate_dmu, eif_rate_dmu, "rate_dmu")


def rate_dsigma(mu, sigma, neuron, tau_s=0.0) -> np.ndarray:
    r""":math:`\partial r/\partial\sigma` in Hz/mV: ``lif_rate_dsigma`` or ``eif_rate_dsigma``.

    Parameters, returns and the EIF ``tau_s`` caveat as ``rate``.

    Examples
    --------
    >>> from meanfield.params import LIF
    >>> print(np.round(rate_dsigma(10.0, 5.0, LIF(tau_m=0.02, theta=20.0, V_r=10.0)), 5))
    1.20148
    """
    return _dispatch(mu, sigma, neuron, tau_s, lif_rate_dsigma, eif_rate_dsigma,
                     "rate_dsigma")

r"""Private kernel: Richardson's threshold integration of the stationary Fokker-Planck equation.

Used by ``meanfield.transfer.eif_rate``; works for any I-V curve ``psi(V)`` (EIF, LIF
with ``psi = 0``, ...).  Arrays in, arrays out, units s, mV; no input checking here.

With unit flux :math:`J = 1` between reset and spike cut and the Brunel convention (free
membrane variance :math:`\sigma^2/2`) the stationary density obeys

.. math:: -\frac{dP}{dV} = G(V)\,P + \frac{\tau_m J(V)}{\sigma^2/2}, \qquad
          G(V) = \frac{V - \mu - \psi(V)}{\sigma^2/2},

integrated downwards from :math:`P(V_{th}) = 0` to the floor :math:`V_{lb}`
(Richardson 2007, Phys. Rev. E 76, 021919).  The rate is
:math:`1/(\tau_{ref} + \int P\,dV)`.

Scheme (second order in the step): on a step of length ``dv`` from ``V_k`` down to
``V_k - dv``, ``G`` is frozen at the step's midpoint (exponential midpoint rule) and the
linear ODE is solved exactly, with ``x = G dv``:

.. math:: P_{k-1} = e^{x} P_k + J q \varphi_1(x), \qquad
          \int_{step} P\,dV = dv\,[P_k \varphi_1(x) + J q \varphi_2(x)],

``q = tau_m dv / (sigma^2/2)``, :math:`\varphi_1(x) = (e^x - 1)/x`,
:math:`\varphi_2(x) = (e^x - 1 - x)/x^2`.  Richardson's original rule (``G`` at the
step's top, Riemann sum for the integral) is first order.  For ``psi = 0`` (linear
``G``) this scheme is fourth order; with the EIF's ``psi`` it is second order, the
error coming from steps that do not resolve the escape region (width
:math:`\sim\sigma\sqrt{\Delta_T/(2(V - \mu))}`).  ``log_mass`` therefore runs it with
steps ``dv`` and ``dv/2`` and Richardson-extrapolates, ``(4 I(dv/2) - I(dv))/3``.
The reset ``V_re`` is always a grid point: the two segments ``[V_re, V_th]`` and
``[V_lb, V_re]`` get their own step, the largest not above ``dV`` that divides them.

Overflow: far below threshold ``P`` grows like ``exp((V_th - mu)^2 / sigma^2)``.  Each
point carries a log scale; when ``P`` passes ``RESCALE_AT`` it is divided out.  A single
step's growth is capped at ``exp(X_MAX)``; that cap is only reached when the rate is
already below about ``exp(-X_MAX)`` Hz (so the answer is a tiny number, not an accurate
one: documented in ``eif_rate``).

Vectorisation: the loop runs over voltage steps; each step is a handful of numpy
operations over all (mu, sigma) points.  The exponentials are computed for blocks of
steps at once.
"""

from __future__ import annotations

import math

import numpy as np

X_MAX = 200.0          # cap on one step's log-growth (see module docstring)
RESCALE_AT = 1e50      # rescale a point's P when it exceeds this
BLOCK_ELEMENTS = 2 ** 19  # steps x points per block of precomputed exponentials


def segments(V_th: float, V_re: float, V_lb: float, dV: float, refine: int = 1):
    """Return the two integration segments as (V_top, dv, n_steps, unit_flux).

    Each segment gets ``refine`` times the smallest number of equal steps not longer
    than ``dV``, so ``refine=2`` halves every step of ``refine=1`` exactly.
    """
    out = []
    for top, bottom, flux in ((V_th, V_re, True), (V_re, V_lb, False)):
        n = refine * max(1, int(math.ceil((top - bottom) / dV - 1e-9)))
        out.append((top, (top - bottom) / n, n, flux))
    return out


def _phi12(x: np.ndarray):
    """phi_1(x) = (e^x - 1)/x and phi_2(x) = (e^x - 1 - x)/x^2, elementwise.

    ``phi_1`` is accurate to rounding for every x (``expm1``).  ``phi_2 = (phi_1 - 1)/x``
    loses digits for small |x| (absolute error ~eps/|x|), but it only enters through the
    step's mass ``dv q phi_2``, whose share of the mass is itself O(|x|): the error of the
    result stays at rounding level.  x == 0 exactly gets the limits 1 and 1/2.
    """
    f1 = np.expm1(x)
    zero = x == 0.0
    has_zero = zero.any()
    if has_zero:
        x = np.where(zero, 1.0, x)
    f1 /= x
    f2 = f1 - 1.0
    f2 /= x
    if has_zero:
        f1[zero] = 1.0
        f2[zero] = 0.5
    return f1, f2


def _midpoint_v_minus_psi(psi, V_top: float, dv: float, n_steps: int) -> np.ndarray:
    """V - psi(V) at the midpoint of each step, mV (the exponential midpoint rule)."""
    mids = V_top - dv * (np.arange(n_steps) + 0.5)
    return mids - np.asarray(psi(mids), dtype=float)


def log_mass(mu: np.ndarray, sigma: np.ndarray, psi, V_th: float, V_re: float,
             V_lb: float, tau_m: float, dV: float) -> np.ndarray:
    """Return log of int_{V_lb}^{V_th} P dV (in s) for unit flux, Richardson-extrapolated in dV.

    Runs the scheme with steps ``dv`` and ``dv/2`` and combines
    ``(4 I(dv/2) - I(dv)) / 3`` (in logs), cancelling the O(dv^2) error term.
    ``mu``, ``sigma``: 1-d arrays, mV; ``psi`` maps a 1-d array of voltages (mV) to the
    I-V term (mV).
    """
    coarse = log_mass_single(mu, sigma, psi, segments(V_th, V_re, V_lb, dV, 1), tau_m)
    fine = log_mass_single(mu, sigma, psi, segments(V_th, V_re, V_lb, dV, 2), tau_m)
    with np.errstate(invalid="ignore", over="ignore"):
        ratio = np.exp(coarse - fine)          # I(dv) / I(dv/2), close to 1
        out = fine + np.log1p((1.0 - ratio) / 3.0)
    # where a rate underflowed (infinite mass) keep the fine value instead of inf - inf
    return np.where(np.isfinite(out), out, fine)


def log_mass_single(mu: np.ndarray, sigma: np.ndarray, psi, segs, tau_m: float) -> np.ndarray:
    """Return log of int P dV (in s) for unit flux on the grid ``segs`` (see ``segments``)."""
    n = mu.size
    half_var = 0.5 * sigma * sigma
    P = np.zeros(n)            # stored P; true P = P * exp(log_scale)
    mass = np.zeros(n)         # stored int P dV, same scale
    log_scale = np.zeros(n)
    flux_unit = np.ones(n)     # unit flux expressed in stored units
    block = max(1, min(1024, BLOCK_ELEMENTS // max(n, 1)))
    for V_top, dv, n_steps, with_flux in segs:
        s = dv / half_var
        A = _midpoint_v_minus_psi(psi, V_top, dv, n_steps)
        for b0 in range(0, n_steps, block):
            X = (A[b0:b0 + block, None] - mu[None, :]) * s[None, :]
            np.minimum(X, X_MAX, out=X)
            growth = np.exp(X)
            f1, f2 = _phi12(X)
            if with_flux:
                qf = tau_m * s * flux_unit
                drive = f1 * qf
                drive_mass = f2 * qf
            before = np.empty_like(X)
            for k in range(X.shape[0]):
                before[k] = P
                P *= growth[k]
                if with_flux:
                    P += drive[k]
                if P.max() > RESCALE_AT:
                    big = P > 1.0
                    f = 1.0 / P[big]
                    P[big] = 1.0
                    mass[big] *= f
                    log_scale[big] -= np.log(f)
                    flux_unit[big] *= f
                    before[:k + 1, big] *= f
                    if with_flux:
                        drive[k + 1:, big] *= f
                        drive_mass[:, big] *= f
            blk = np.einsum("kn,kn->n", before, f1)
            if with_flux:
                blk += drive_mass.sum(axis=0)
            mass += dv * blk
    with np.errstate(divide="ignore"):
        return np.log(mass) + log_scale

r"""Private numerics of the Siegert (white-noise LIF) rate; see ``meanfield.transfer``.

Everything here works on dimensionless voltages ``y = (V - mu) / sigma`` (Brunel
convention) and on 1-d float arrays; input checking happens in ``transfer``.

The Siegert integral is

.. math:: I(y_r, y_{th}) = \int_{y_r}^{y_{th}} \operatorname{erfcx}(-u)\,du,
          \qquad \operatorname{erfcx}(u) = e^{u^2}\operatorname{erfc}(u),

and it is returned as ``log I`` so that neither the far-subthreshold rate
(``I ~ exp(y_th^2)``) nor its derivatives overflow.  Two building blocks:

* :math:`\Phi(s) = \int_0^s \operatorname{erfcx}(t)\,dt` for :math:`s \ge 0`
  (bounded, slowly growing integrand).  On ``[0, S_ASY)`` it is a piecewise
  polynomial (``N_PIECES`` pieces of degree ``DEGREE`` in a local variable), built once
  at import by Chebyshev interpolation of values obtained by Gauss-Legendre quadrature
  of ``scipy.special.erfcx``.  Beyond ``S_ASY`` the asymptotic series
  :math:`\Phi(s) = C + \pi^{-1/2}[\ln s + \sum_n g_n s^{-2n}]` is used, with
  :math:`g_n = (-1)^{n+1} (2n-1)!! / (2^n\, 2n)`; with ``S_ASY = 10`` and 14 terms the
  truncation error is below 1e-19.
* Dawson's function :math:`D(y) = e^{-y^2}\int_0^y e^{u^2}du` (``scipy.special.dawsn``)
  for the part of the integral above ``u = 0``, with ``exp(y_th^2)`` factored out.

Why this and not plain Gauss-Legendre over ``erfcx``: a 16-40 node quadrature costs
16-40 ``scipy.special.erfcx`` calls per point, the piecewise polynomial two table
look-ups per point (measured times: benchmarks/README.md).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import chebyshev as _cheb
from numpy.polynomial import legendre as _leg
from scipy.special import dawsn, erf, erfcx

INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
S_ASY = 10.0          # switch from the table to the asymptotic series of Phi
N_PIECES = 40         # pieces of the table on [0, S_ASY) (width 0.25)
DEGREE = 12           # polynomial degree per piece
H_PIECE = S_ASY / N_PIECES
N_ASY = 14            # terms of the asymptotic series
D_SHORT = 0.1         # intervals shorter than this are integrated directly (no cancellation)
Y_SKIP = 9.0          # above y_th = 9 the O(exp(-y_th^2)) terms are below 1e-30 relative

_GL_X, _GL_W = _leg.leggauss(16)
_GL_SHORT_X, _GL_SHORT_W = _leg.leggauss(10)


def _asy_coefficients(n_terms: int = N_ASY) -> np.ndarray:
    """g_n = (-1)^(n+1) (2n-1)!! / (2^n 2n), n = 1..n_terms (coefficients of s^(-2n))."""
    g = np.empty(n_terms)
    dfact = 1.0
    for n in range(1, n_terms + 1):
        dfact *= 2 * n - 1
        g[n - 1] = (-1) ** (n + 1) * dfact / (2.0 ** n * 2 * n)
    return g


_G_COEF = _asy_coefficients()


def _asy_tail(s: np.ndarray) -> np.ndarray:
    """sum_n g_n s^(-2n) for s >= S_ASY (Horner in u = 1/s^2)."""
    u = 1.0 / (s * s)
    acc = np.full_like(u, _G_COEF[-1])
    for g in _G_COEF[-2::-1]:
        acc = acc * u + g
    return acc * u


def _gl_erfcx(a: np.ndarray, b: np.ndarray, x=_GL_X, w=_GL_W) -> np.ndarray:
    """Gauss-Legendre estimate of int_a^b erfcx(s) ds, elementwise (a, b >= 0)."""
    half = 0.5 * (b - a)
    nodes = (0.5 * (a + b))[:, None] + half[:, None] * x[None, :]
    return half * (erfcx(nodes) @ w)


def _build_table():
    """Power-basis coefficients of Phi per piece, local t in [-1, 1]; shape (N_PIECES, DEGREE+1)."""
    t = np.cos(np.pi * (np.arange(DEGREE + 1) + 0.5) / (DEGREE + 1))  # Chebyshev nodes
    left = np.arange(N_PIECES) * H_PIECE
    nodes = left[:, None] + 0.5 * H_PIECE * (t[None, :] + 1.0)
    # integral from the piece's left end to each node, and across whole pieces
    local = _gl_erfcx(np.repeat(left, DEGREE + 1), nodes.ravel()).reshape(nodes.shape)
    whole = _gl_erfcx(left, left + H_PIECE)
    phi_left = np.concatenate([[0.0], np.cumsum(whole)[:-1]])
    coef = np.empty((N_PIECES, DEGREE + 1))
    for i in range(N_PIECES):
        c = _cheb.chebfit(t, local[i], DEGREE)
        coef[i] = _cheb.cheb2poly(c)
        coef[i, 0] += phi_left[i]
    phi_S = phi_left[-1] + whole[-1]
    return coef, phi_S


_COEF, _PHI_S = _build_table()
_COEF_T = np.ascontiguousarray(_COEF.T)  # row k: coefficient of t^k for every piece
_ASY_CONST = _PHI_S - INV_SQRT_PI * (math.log(S_ASY) + float(_asy_tail(np.array([S_ASY]))[0]))


def phi(s: np.ndarray) -> np.ndarray:
    """Phi(s) = int_0^s erfcx(t) dt for s >= 0 (1-d array), absolute error ~1e-16."""
    out = np.empty_like(s)
    low = s < S_ASY
    if np.any(low):
        sl = s[low]
        idx = np.minimum((sl * (1.0 / H_PIECE)).astype(np.intp), N_PIECES - 1)
        t = (sl - idx * H_PIECE) * (2.0 / H_PIECE) - 1.0
        acc = _COEF_T[DEGREE][idx]
        for k in range(DEGREE - 1, -1, -1):
            acc = acc * t + _COEF_T[k][idx]
        out[low] = acc
    high = ~low
    if np.any(high):
        sh = s[high]
        out[high] = _ASY_CONST + INV_SQRT_PI * (np.log(sh) + _asy_tail(sh))
    return out


def erfcx_integral(a: np.ndarray, d: np.ndarray) -> np.ndarray:
    """int_a^{a+d} erfcx(s) ds for a >= 0, d > 0 (1-d arrays), relative error ~1e-14.

    Three regimes: both ends beyond ``S_ASY`` (analytic difference of the asymptotic
    series, ``log1p`` for the logarithm); short intervals ``d < D_SHORT`` (direct
    Gauss-Legendre, avoids cancelling two values of Phi); otherwise Phi(a + d) - Phi(a).
    """
    b = a + d
    out = np.empty_like(a)
    far = a >= S_ASY
    if np.any(far):
        af, bf = a[far], b[far]
        out[far] = INV_SQRT_PI * (np.log1p(d[far] / af) + (_asy_tail(bf) - _asy_tail(af)))
    near = ~far
    if np.any(near):
        out[near] = phi(b[near]) - phi(a[near])
        short = near & (d < D_SHORT)
        if np.any(short):
            out[short] = _gl_erfcx(a[short], b[short], _GL_SHORT_X, _GL_SHORT_W)
    return out


def log_siegert_integral(y_th: np.ndarray, y_r: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Return log of int_{y_r}^{y_th} erfcx(-u) du for y_r < y_th (1-d arrays).

    ``d = y_th - y_r > 0`` is passed separately because it is known exactly,
    ``(theta - V_r) / sigma``, while the subtraction would lose digits when both are large.
    """
    out = np.empty_like(y_th)
    md = y_th <= 0.0  # mean-driven: whole interval below 0, bounded integrand
    if np.any(md):
        out[md] = np.log(erfcx_integral(-y_th[md], d[md]))
    nd = ~md
    if np.any(nd):
        out[nd] = _log_integral_positive_top(y_th[nd], y_r[nd], d[nd])
    return out


def _log_integral_positive_top(y: np.ndarray, y_r: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Return log I for y = y_th > 0.

    I = exp(y^2) * m, with

    m = 2 [D(y) - exp(-(y - p)(y + p)) D(p)] + exp(-y^2) [Phi(q) - (Phi(y) - Phi(p))],

    p = max(y_r, 0), q = max(-y_r, 0), using erfcx(-u) = 2 exp(u^2) - erfcx(u) on u > 0.
    """
    p = np.maximum(y_r, 0.0)
    gap = np.where(y_r >= 0.0, d, y)  # y - p, exactly
    m = 2.0 * dawsn(y)
    pos = y_r > 0.0
    if np.any(pos):
        m[pos] -= 2.0 * np.exp(-gap[pos] * (y[pos] + p[pos])) * dawsn(p[pos])
    low = y < Y_SKIP
    if np.any(low):
        yl, pl, yrl = y[low], p[low], y_r[low]
        q = np.maximum(-yrl, 0.0)
        tail = phi(q) - erfcx_integral(pl, gap[low])
        m[low] += np.exp(-yl * yl) * tail
    return y * y + np.log(m)


def log_erfcx_neg(y: np.ndarray) -> np.ndarray:
    """Return log erfcx(-y) for any real y, without overflow (erfcx(-y) ~ 2 exp(y^2), y >> 0)."""
    out = np.empty_like(y)
    pos = y > 0.0
    out[pos] = y[pos] ** 2 + np.log1p(erf(y[pos]))
    out[~pos] = np.log(erfcx(-y[~pos]))
    return out

"""Compiled tensor-product Catmull-Rom lookups for the transfer tables (optional, numba).

The same interpolant as ``meanfield._colored_table._catmull_rom`` (which stays the
reference and the path without numba): per point, the node-index coordinate on every axis
is piecewise linear between the nodes and clamped at the ends (``np.interp``), the 4
Catmull-Rom weights of ``s = t - i`` and, with ``grad``, their derivatives times
``dt/dv`` (0 outside the nodes). Imported lazily by ``_colored_table`` when the ``fast``
extra is installed; ``tests/test_colored_table.py`` checks both paths agree to 1e-13.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _axis(nodes, v):
    n = nodes.size
    if v < nodes[0]:
        return 0, 0.0, 0.0
    if v > nodes[n - 1]:
        return n - 2, 1.0, 0.0
    # binary search: nodes[i] <= v < nodes[i + 1]
    lo, hi = 0, n - 1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if nodes[mid] <= v:
            lo = mid
        else:
            hi = mid
    h = nodes[lo + 1] - nodes[lo]
    return lo, (v - nodes[lo]) / h, 1.0 / h


@njit(cache=True, inline="always")
def _weights(s, w, dw, dt):
    s2 = s * s
    s3 = s2 * s
    w[0] = (-s3 + 2.0 * s2 - s) / 2.0
    w[1] = (3.0 * s3 - 5.0 * s2 + 2.0) / 2.0
    w[2] = (-3.0 * s3 + 4.0 * s2 + s) / 2.0
    w[3] = (s3 - s2) / 2.0
    dw[0] = dt * (-3.0 * s2 + 4.0 * s - 1.0) / 2.0
    dw[1] = dt * (9.0 * s2 - 10.0 * s) / 2.0
    dw[2] = dt * (-9.0 * s2 + 8.0 * s + 1.0) / 2.0
    dw[3] = dt * (3.0 * s2 - 2.0 * s) / 2.0


@njit(cache=True)
def catmull_rom_3d(p, n0, n1, n2, x0, x1, x2, out, g0, g1, g2):
    """Value (out) and partials (g0, g1, g2) at m points; p padded (n0+2, n1+2, n2+2)."""
    m = x0.size
    w0 = np.empty(4)
    d0 = np.empty(4)
    w1 = np.empty(4)
    d1 = np.empty(4)
    w2 = np.empty(4)
    d2 = np.empty(4)
    for k in range(m):
        i0, s0, t0 = _axis(n0, x0[k])
        i1, s1, t1 = _axis(n1, x1[k])
        i2, s2, t2 = _axis(n2, x2[k])
        _weights(s0, w0, d0, t0)
        _weights(s1, w1, d1, t1)
        _weights(s2, w2, d2, t2)
        v = 0.0
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        for a in range(4):
            for b in range(4):
                c_v = 0.0
                c_d = 0.0
                for c in range(4):
                    pv = p[i0 + a, i1 + b, i2 + c]
                    c_v += w2[c] * pv
                    c_d += d2[c] * pv
                v += w0[a] * w1[b] * c_v
                a0 += d0[a] * w1[b] * c_v
                a1 += w0[a] * d1[b] * c_v
                a2 += w0[a] * w1[b] * c_d
        out[k] = v
        g0[k] = a0
        g1[k] = a1
        g2[k] = a2


@njit(cache=True)
def catmull_rom_2d(p, n0, n1, x0, x1, out, g0, g1):
    """Value and partials at m points; p padded (n0+2, n1+2)."""
    m = x0.size
    w0 = np.empty(4)
    d0 = np.empty(4)
    w1 = np.empty(4)
    d1 = np.empty(4)
    for k in range(m):
        i0, s0, t0 = _axis(n0, x0[k])
        i1, s1, t1 = _axis(n1, x1[k])
        _weights(s0, w0, d0, t0)
        _weights(s1, w1, d1, t1)
        v = 0.0
        a0 = 0.0
        a1 = 0.0
        for a in range(4):
            c_v = 0.0
            c_d = 0.0
            for b in range(4):
                pv = p[i0 + a, i1 + b]
                c_v += w1[b] * pv
                c_d += d1[b] * pv
            v += w0[a] * c_v
            a0 += d0[a] * c_v
            a1 += w0[a] * c_d
        out[k] = v
        g0[k] = a0
        g1[k] = a1


def lookup(p, nodes, points, grad):
    """Dispatch to the 2-D or 3-D kernel; same return convention as ``_catmull_rom``."""
    pts = [np.ascontiguousarray(v, dtype=np.float64) for v in points]
    m = pts[0].size
    out = np.empty(m)
    gs = [np.empty(m) for _ in points]
    nds = [np.ascontiguousarray(n, dtype=np.float64) for n in nodes]
    if p.ndim == 3:
        catmull_rom_3d(p, nds[0], nds[1], nds[2], pts[0], pts[1], pts[2], out, gs[0], gs[1], gs[2])
    else:
        catmull_rom_2d(p, nds[0], nds[1], pts[0], pts[1], out, gs[0], gs[1])
    return (out, gs) if grad else out

r"""Private kernel: stationary 2-D Fokker-Planck equation of a LIF/EIF neuron with OU input.

Used by ``meanfield.colored`` (``colored_rate``) and ``meanfield._colored_table``. Scalars
in, a rate out; units s, mV, Hz; no input checking here (the public API checks).

Model (docs/theory.md section 9; Brunel convention for ``sigma``):

.. math::
    \tau_m \dot V = u - V + \psi(V), \qquad
    \tau_s \dot u = -(u - \mu) + \sigma\sqrt{\tau_m}\,\xi(t),

``u = E_L + I`` the total input (mV); spike when V reaches the cut ``V_c`` (LIF
``theta``, EIF ``V_th``); V is held at the reset ``V_r`` for ``tau_ref`` while u keeps
evolving; reflecting floor ``V_lb`` (EIF; for a LIF a floor ``LIF_FLOOR_SD`` free-membrane
SDs below the density). In the standardised input ``z = (u - mu)/s_u``,
``s_u = sigma sqrt(tau_m/(2 tau_s))`` (the stationary SD of u), z is a unit
Ornstein-Uhlenbeck process of time constant tau_s and the stationary density P(V, z) obeys

.. math::
    0 = -\partial_V [A(V, z) P] + \frac{1}{\tau_s}\partial_z [z P + \partial_z P]
        + \text{re-injection at } V_r,
    \qquad A = \frac{\mu + s_u z - V + \psi(V)}{\tau_m}.

Discretisation (finite volumes; mass is conserved to rounding):

* cells ``[v_i, v_{i+1}] x [z_j - h/2, z_j + h/2]``: uniform in z on ``[-z_max, z_max]``;
  non-uniform in V, fine near the cut, the reset and (EIF) the spike region, with the reset
  on a face (``v_faces``);
* V-flux: the V-motion is deterministic given z, so the flux is upwinded: second-order
  linear upwind reconstruction ``F = A^+ P^L + A^- P^R`` (``P^L`` extrapolated from the two
  cells left of the face, ``P^R`` from the two on the right), first order where that
  stencil would reach across the reset face (the density jumps there) or out of the grid.
  ``A^+`` and ``A^-`` are the cell averages of the positive and negative parts of A over the
  z-cell, weighted by the Gaussian factor ``exp(-z^2/2)`` that the density carries
  (``_split_velocity``): a cell in which A changes sign sends part of its mass each way,
  and the error of freezing A at the cell centre (large where the Gaussian varies over a
  cell) is avoided. Zero flux through the floor; at the cut the outgoing flux is the spike
  flux and nothing flows in;
* z-flux: Scharfetter-Gummel exponential fitting of the OU drift-diffusion,
  ``G = [B(-b h) P_j - B(b h) P_{j+1}]/(h tau_s)``, ``b = -z_{j+1/2}``,
  ``B(x) = x/(e^x - 1)``; exact for the Gaussian (its discrete stationary state is
  ``exp(-z_j^2/2)`` up to the cell-average factor);
* re-injection: the spike flux leaving row j' re-enters at ``V_r`` after ``tau_ref``, in
  row j with probability ``T[j, j']``, the exact OU transition over ``tau_ref``
  (mean ``z e^{-tau_ref/tau_s}``, variance ``1 - e^{-2 tau_ref/tau_s}``, integrated over
  the cells): during the refractory period V is clamped but the synaptic current keeps
  evolving, as in ``validation.simulate``. Within a row the injected mass goes to the cell
  above V_r in proportion to the (Gaussian-weighted) part of the z-cell where A > 0 and
  below V_r for the rest;
* the stationary system ``M P = 0`` has a one-dimensional kernel; one equation (redundant
  by conservation) is replaced by ``P_k = 1`` at a cell near the density's peak, the sparse
  system is solved directly (SuperLU), and the result normalised with the refractory
  mass: ``sum P dV h + r tau_ref = 1``, ``r = sum_j F_cut,j h``.

Errors: second order in the z-step (``rate`` Richardson-extrapolates from ``n_z/2`` and
``n_z`` cells) and close to second order in the V-step; see ``meanfield.colored`` for the
measured convergence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.special import ndtr

Z_MAX = 7.0
"""Half-width of the z grid in stationary SDs of the input (Gaussian density e^-24.5)."""

LIF_FLOOR_SD = 7.0
"""LIF floor: this many free-membrane SDs below min(mu, V_r)."""

SPIKE_REGION = 3.0
"""EIF: the fine V-grid covers [V_T - SPIKE_REGION Delta_T, V_th]."""


@dataclass(frozen=True)
class Grid:
    """Resolution of one solve.

    ``n_v`` sets the V-steps (about that many cells), ``n_z`` the number of z cells (even).
    """

    n_v: int = 200
    n_z: int = 64


def _model(neuron):
    """(psi or None, V_cut, V_reset, V_floor or None, (V_T, Delta_T) or None)."""
    if neuron.kind == "EIF":
        return (neuron.psi, neuron.V_th, neuron.V_re, neuron.V_lb,
                (neuron.V_T, neuron.Delta_T))
    return (None, neuron.theta, neuron.V_r, None, None)


def v_faces(neuron, mu: float, sigma: float, k: float, n_v: int, tail=True) -> np.ndarray:
    """Cell faces in V, mV, increasing from the floor to the cut, with V_r a face.

    Local step ``h(V) = (L/n_v) min(2, 1/4 + 7 d(V)/(4 l))``: a quarter of the mean step
    at the cut, the reset and (EIF) the spike region [V_T - 3 Delta_T, V_th], growing
    linearly with the distance ``d`` to them over ``l`` (the free-membrane SD, at most
    L/4) up to twice the mean step; ``L = V_c - V_lo``. Doubling ``n_v`` halves every
    step. The faces are placed at equal increments of ``int dV/h(V)`` separately above
    and below V_r.
    """
    _, V_c, V_r, V_lb, spike = _model(neuron)
    sd_v = sigma / math.sqrt(2.0 * (1.0 + k))     # free-membrane SD, mV
    V_lo = min(mu, V_r) - LIF_FLOOR_SD * sd_v
    if V_lb is not None:          # EIF: the floor, or a reflecting wall below the density
        V_lo = max(V_lb, V_lo)
    span = V_c - V_lo
    ell = min(sd_v, span / 4.0)
    fine_lo = V_c if spike is None else min(V_c, spike[0] - SPIKE_REGION * spike[1])
    x = np.linspace(V_lo, V_c, 20001)
    d = np.minimum(np.abs(x - V_r), np.where(x >= fine_lo, 0.0, fine_lo - x))
    inv_h = n_v / span / np.minimum(2.0, 0.25 + 1.75 * d / ell)
    if tail:   # the tail between mu and the cut: steps below 2 sd_v^2 / (V - mu), relative
        inv_h = np.maximum(inv_h, n_v / span * np.maximum(x - mu, 0.0) / (2.0 * sd_v))
    s = np.concatenate([[0.0], np.cumsum(0.5 * (inv_h[1:] + inv_h[:-1]) * np.diff(x))])
    s_r = float(np.interp(V_r, x, s))
    n_lo = max(2, int(math.ceil(s_r)))
    n_hi = max(3, int(math.ceil(s[-1] - s_r)))
    lo = np.interp(np.linspace(0.0, s_r, n_lo + 1), s, x)
    hi = np.interp(np.linspace(s_r, s[-1], n_hi + 1), s, x)
    lo[-1] = hi[0] = V_r
    hi[-1] = V_c
    return np.concatenate([lo, hi[1:]])


def _bernoulli(x: np.ndarray) -> np.ndarray:
    """B(x) = x/(e^x - 1), accurate near 0."""
    out = np.ones_like(x)
    nz = np.abs(x) > 1e-10
    out[nz] = x[nz] / np.expm1(x[nz])
    return out


def _gauss_mass(a, b):
    """Return the standard normal mass of [a, b], from the far tail so nothing cancels.

    ``a <= b``, not straddling 0 except symmetrically.
    """
    return np.where(a >= 0, ndtr(-a) - ndtr(-b), ndtr(b) - ndtr(a))


def _phi(x):
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _split_velocity(alpha: np.ndarray, beta: float, zc: np.ndarray, h: float):
    """Gaussian-weighted cell averages of A^+, A^- and of 1{A > 0}, A = alpha + beta z.

    alpha: (m,) 1/s; beta > 0; returns three (m, nz) arrays. Within a z-cell the density
    carries the Gaussian factor of the OU, so the V-flux of the cell is
    ``int A^+- P dz = P_j h E_g[A^+- | cell]`` (exact when P/g is constant on the cell).
    """
    a = (zc - h / 2)[None, :]
    b = (zc + h / 2)[None, :]
    G = _gauss_mass(a, b)
    z0 = (-alpha / beta)[:, None]
    c = np.clip(z0, a, b)
    m_up = _gauss_mass(c, b)
    m_dn = _gauss_mass(a, c)
    up = alpha[:, None] * m_up + beta * (_phi(c) - _phi(b))
    dn = alpha[:, None] * m_dn + beta * (_phi(a) - _phi(c))
    return np.maximum(up, 0.0) / G, np.minimum(dn, 0.0) / G, m_up / G


def _ou_transition(zc: np.ndarray, h: float, t: float, tau_s: float) -> np.ndarray:
    """Return T[j, j'], the probability that the unit OU from zc[j'] is in cell j after t.

    The end cells take the tails; columns sum to 1.
    """
    if t <= 0.0:
        return np.eye(zc.size)
    a = math.exp(-t / tau_s)
    s = math.sqrt(-math.expm1(-2.0 * t / tau_s))
    faces = np.concatenate([[-np.inf], zc[:-1] + h / 2, [np.inf]])
    x = (faces[:, None] - a * zc[None, :]) / s
    # differences of the CDF, from the upper tail where x > 0 (no cancellation)
    T = np.where(x[:-1] >= 0, ndtr(-x[:-1]) - ndtr(-x[1:]), ndtr(x[1:]) - ndtr(x[:-1]))
    return T / T.sum(axis=0, keepdims=True)


def _linear_weights(x, ca, cb):
    """Weights of the values at ca, cb for linear inter/extrapolation to x."""
    return (x - cb) / (ca - cb), (x - ca) / (cb - ca)


@dataclass(frozen=True)
class Solution:
    """One stationary solve.

    Rate (Hz), density P (n_V, n_z) in 1/(mV unit-z), V faces (mV), z centres, the spike
    flux per z-row (Hz per unit z) and the refractory mass.
    """

    rate: float
    P: np.ndarray
    v_faces: np.ndarray
    z: np.ndarray
    flux_z: np.ndarray
    refractory_mass: float


def solve(neuron, mu: float, sigma: float, tau_s: float, grid: Grid = Grid(), *,
          z_max: float = Z_MAX, reinject: str = "ou", order: int = 2) -> Solution:
    """Stationary density and rate on one grid (see the module docstring).

    ``reinject``: "ou" (the exact OU transition over tau_ref, the simulator's model) or
    "same" (re-inject with the outgoing flux's z-profile, as if tau_ref << tau_s).
    ``order``: 2 (linear upwind) or 1 (first-order upwind, for convergence studies).
    """
    tau_m = neuron.tau_m
    k = tau_s / tau_m
    psi, V_c, V_r, _, _ = _model(neuron)
    vf = v_faces(neuron, mu, sigma, k, grid.n_v)
    dv = np.diff(vf)
    nv, nz = dv.size, grid.n_z
    h = 2.0 * z_max / nz
    zc = -z_max + h * (np.arange(nz) + 0.5)
    s_u = sigma * math.sqrt(tau_m / (2.0 * tau_s))
    idx = np.arange(nv * nz).reshape(nv, nz)
    c = 0.5 * (vf[1:] + vf[:-1])
    m_r = int(np.argmin(np.abs(vf - V_r)))           # the reset face (exact by v_faces)

    # split velocities at every face f = 0..nv (face f lies between cells f-1 and f)
    drift = vf - (psi(vf) if psi is not None else 0.0)
    Ap, Am, frac_up = _split_velocity((mu - drift) / tau_m, s_u / tau_m, zc, h)
    Ap, Am = Ap * h, Am * h                          # mass rate per unit density

    rows, cols, vals = [], [], []

    def add(r, cc, v):
        r, cc = np.broadcast_arrays(r, cc)
        rows.append(r.ravel())
        cols.append(cc.ravel())
        vals.append(np.broadcast_to(v, r.shape).ravel())

    # upwind stencils of every face f = 1..nv: A > 0 from cells (f-2, f-1), A < 0 from
    # (f, f+1); first order (weight 1 on the adjacent cell) where the pair would straddle
    # the reset face or leave the grid
    f = np.arange(1, nv + 1)
    two = (order == 2) & (f - 2 >= 0) & (f - 1 != m_r)
    fa = np.maximum(f - 2, 0)
    wl_a, wl_b = _linear_weights(vf[f], c[fa], c[f - 1] + np.where(two, 0.0, 1.0))
    wl_a, wl_b = np.where(two, wl_a, 0.0), np.where(two, wl_b, 1.0)
    fr = np.minimum(f, nv - 1)
    fr1 = np.minimum(f + 1, nv - 1)
    two = (order == 2) & (f + 1 <= nv - 1) & (f + 1 != m_r)
    wr_a, wr_b = _linear_weights(vf[f], c[fr], c[fr1] + np.where(two, 0.0, 1.0))
    wr_a, wr_b = np.where(two, wr_a, 1.0), np.where(two, wr_b, 0.0)
    interior = f < nv
    # each term: flux coef x P[cell] through face f; leaves cell f-1, enters cell f
    for cells, coef, mask in ((fa, Ap[f] * wl_a[:, None], wl_a != 0),
                              (f - 1, Ap[f] * wl_b[:, None], wl_b != 0),
                              (fr, Am[f] * wr_a[:, None], interior & (wr_a != 0)),
                              (fr1, Am[f] * wr_b[:, None], interior & (wr_b != 0))):
        ff, cl, cf = f[mask], cells[mask], coef[mask]
        add(idx[ff - 1], idx[cl], -cf)
        inn = ff < nv
        add(idx[ff[inn]], idx[cl[inn]], cf[inn])
    out_cells = [(cell, w_) for cell, w_ in ((int(fa[-1]), float(wl_a[-1])),
                                              (nv - 1, float(wl_b[-1]))) if w_ != 0.0]

    # z-fluxes (Scharfetter-Gummel), times dv (face length in V)
    zf = zc[:-1] + h / 2
    cp = _bernoulli(zf * h) / (h * tau_s)           # coefficient of P_j   (flux j -> j+1)
    cm = _bernoulli(-zf * h) / (h * tau_s)          # coefficient of P_j+1
    w = dv[:, None]
    j0, j1 = idx[:, :-1], idx[:, 1:]
    add(j0, j0, -cp * w)
    add(j0, j1, cm * w)
    add(j1, j0, cp * w)
    add(j1, j1, -cm * w)

    # re-injection at the reset face, after the OU transition over tau_ref: a rank-n_z
    # operator q = T (spike flux per row) injected at V_r; kept out of the sparse matrix
    T = _ou_transition(zc, h, neuron.tau_ref, tau_s) if reinject == "ou" else np.eye(nz)
    up = frac_up[m_r]

    def out_flux(P2):                                # (nv, nz) -> spike mass rate per row
        return sum(wgt * Ap[nv] * P2[cell] for cell, wgt in out_cells)

    def inject(q):                                   # (nz,) mass rate -> (n,) source
        s_ = np.zeros((nv, nz))
        s_[m_r] = q * up
        s_[m_r - 1] = q * (1.0 - up)
        return s_.ravel()

    r = np.concatenate(rows)
    cc = np.concatenate(cols)
    v = np.concatenate(vals)
    # pin one cell near the peak of the density (its equation is redundant)
    V_pin = float(np.clip(mu, vf[0] + 0.1 * (V_c - vf[0]), 0.5 * (V_r + V_c)))
    i_pin = int(np.clip(np.searchsorted(c, V_pin), 0, nv - 1))
    pin = int(idx[i_pin, nz // 2])
    P = _solve_pinned(r, cc, v, nv * nz, pin, out_flux, inject, T, nv, nz)
    if P[pin] < 1e-6 * P.max():     # pinned in a near-empty cell: redo
        P = _solve_pinned(r, cc, v, nv * nz, int(np.argmax(P)), out_flux, inject, T, nv, nz)
    P = P.reshape(nv, nz)
    flux_z = sum(wgt * Ap[nv] * P[cell] for cell, wgt in out_cells)   # mass rate per row
    flux = float(flux_z.sum())
    mass = float((dv[:, None] * P).sum() * h)
    norm = mass + flux * neuron.tau_ref
    return Solution(rate=flux / norm, P=P / norm, v_faces=vf, z=zc,
                    flux_z=flux_z / (norm * h), refractory_mass=flux * neuron.tau_ref / norm)


def _solve_pinned(rows, cols, vals, n, pin, out_flux, inject, T, nv, nz, info=None):
    """Solve (M0 + R) P = e_pin with the pinned row P[pin] = 1.

    M0 (sparse: transport and the z-flux) is factorised once (SuperLU); the re-injection
    R P = inject(T out_flux(P)) has rank <= n_z and is handled by GMRES on the n_z-vector
    q = T out_flux(P): P = M0'^{-1}(e - inject(q)), so q solves the small linear system
    (I + K) q = T out_flux(M0'^{-1} e), K q = T out_flux(M0'^{-1} inject(q)), whose
    matrix-vector products each cost one pair of triangular solves.
    """
    keep = rows != pin
    rows = np.concatenate([rows[keep], [pin]])
    cols = np.concatenate([cols[keep], [pin]])
    vals = np.concatenate([vals[keep], [1.0]])
    M = sp.csc_matrix((vals, (rows, cols)), shape=(n, n))
    lu = spla.splu(M, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.1,
                   options=dict(SymmetricMode=True))
    e = np.zeros(n)
    e[pin] = 1.0

    def apply_R(x):
        src = inject(x)
        src[pin] = 0.0                      # the pinned row carries no source
        return src

    P0 = lu.solve(e)
    b = T @ out_flux(P0.reshape(nv, nz))
    count = [0]

    def matvec(q):
        count[0] += 1
        return q + T @ out_flux(lu.solve(apply_R(q)).reshape(nv, nz))

    K = spla.LinearOperator((nz, nz), matvec=matvec, dtype=float)
    q, status = spla.gmres(K, b, x0=b, rtol=1e-12, atol=0.0, restart=nz, maxiter=4)
    if info is not None:
        info["matvecs"] = count[0]
        info["status"] = status
    return P0 - lu.solve(apply_R(q))


def rate(neuron, mu: float, sigma: float, tau_s: float, grid: Grid = Grid(), **kw) -> float:
    """Rate (Hz), Richardson-extrapolated in the z-step: (4 r(n_z) - r(n_z/2)) / 3."""
    r_fine = solve(neuron, mu, sigma, tau_s, grid, **kw).rate
    r_coarse = solve(neuron, mu, sigma, tau_s, Grid(grid.n_v, grid.n_z // 2), **kw).rate
    return (4.0 * r_fine - r_coarse) / 3.0

r"""The semi-balanced N -> infinity limit of a spatial network (docs/theory.md section 12).

Where the ordering of Rosenbaum & Doiron fails (external input narrower than recurrent
excitation, or excitation narrower than inhibition) a structured input has no balanced
profile: the per-mode solution of ``balanced_profile`` goes negative and oscillates at fine
scales. The limit is then semi-balanced (Baker, Zhu & Rosenbaum 2020, docs/theory.md
section 11): on the position grid (and the degree factor kappa, when the model has one)

.. math:: 0 \le r_a(x) \le r_{max},\qquad
          \beta_a(x) = \sum_b w_{ab}\,\kappa_{ab}(x)\,(g_{ab} * \bar r_b)(x)
                       + X_a\,\kappa_{aX}\,(g_{aX} * f)(x),

with :math:`\beta \le 0` where the rate is 0, :math:`\beta = 0` where it is strictly between
the bounds and :math:`\beta \ge 0` where it is at :math:`r_{max}` (a box linear
complementarity problem, equation 12.3 of docs/theory.md).

Why not ``semi_balanced``'s complementary-pivot path: the Gaussian kernels make the LCP
matrix numerically singular (its Fourier coefficients fall like
:math:`e^{-2\pi^2 n^2\sigma^2}`, below 1e-16 at the grid's fine scales), so pivots are
degenerate and its balanced-state linear program is slow. Here a smoothing (interior)
continuation is used instead, whose linear systems are regularised by the smoothing itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .checks import check_in_range, check_int
from .errors import ConvergenceError, ParameterError
from .params import POPULATIONS, NetworkParams, check_network_params
from .semibalanced import _resolve_r_max
from .spatial import (SpatialModel, _profile_on_grid, _ProfileResult, balanced_profile, convolve,
                      grid_positions, _kappa_factors)

__all__ = ["SpatialSemiBalancedResult", "semi_balanced_spatial", "MAX_DENSE_LABELS"]

MAX_DENSE_LABELS = 4096
"""Most (population, position, kappa) labels ``semi_balanced_spatial`` accepts: each Newton step
factorises a dense matrix of this side (4096: about 2 s and 130 MB)."""

_BRACKET_ZERO = 1e-7      # |beta| / beta_scale below this: balanced (as semi_balanced)
_RANK_CUT = 1e-8          # singular values below this x the largest: undetermined directions


@dataclass(frozen=True)
class SpatialSemiBalancedResult(_ProfileResult):
    r"""The N -> infinity limit of a spatial network's rate profile (frozen).

    Attributes
    ----------
    positions : ndarray (M,) or (M, 2)
        Grid positions (``grid_positions(n_side, dim)``).
    kappa, kappa_weights : ndarray (n_k,)
        Degree-factor nodes and weights (``[1.0]`` without a degree factor).
    rates : ndarray (2, M, n_k)
        Limiting rate :math:`r_a(x, \kappa)`, Hz.
    bracket : ndarray (2, M, n_k)
        The O(sqrt N) bracket :math:`\beta_a(x, \kappa)` at this state, mV Hz; the finite-N
        mean input is :math:`\mu = E_L + \tau_m\sqrt N\,\beta + O(1)`.
    active, balanced, saturated : ndarray of bool (2, M, n_k)
        Rate > 0; bracket 0 (relative ``1e-7`` of ``bracket_scale``); rate at ``r_max``.
    balanced_profile : ndarray (2, M)
        The per-mode balanced profile of the same input (``balanced_profile``), for
        comparison: equal to ``profile`` when ``feasible``.
    r_max : ndarray (2,)
        Rate bound, Hz (inf: none).
    bracket_scale : ndarray (2,)
        RMS external bracket of each population, mV Hz (the scale of "0").
    mean_rate, active_fraction, saturated_fraction : ndarray (2,)
        Population means over positions (and kappa), Hz; weights of the active and the
        saturated labels.
    feasible : bool
        Balanced at every label: condition (B) holds and this is the balanced profile.
    unique : bool
        The balanced labels' rates are determined by their brackets to numerical precision
        (the columns of the LCP matrix on the balanced labels have full numerical rank,
        singular values above 1e-8 of the largest). Otherwise ``degeneracy`` says which
        directions are free and the returned member is the limit of the smoothing path.
    degeneracy : str
    complementarity : float
        Relative natural residual, as ``SemiBalancedResult.complementarity``: 0 for an exact
        solution.
    success : bool
        ``complementarity <= tol``.
    status : int
        0 success; 1 the residual exceeds ``tol``.
    message : str
    nit : int
        Newton iterations over all continuation stages.
    wall_time : float
        s.
    """

    positions: np.ndarray
    kappa: np.ndarray
    kappa_weights: np.ndarray
    rates: np.ndarray
    bracket: np.ndarray
    active: np.ndarray
    balanced: np.ndarray
    saturated: np.ndarray
    balanced_profile: np.ndarray
    r_max: np.ndarray
    bracket_scale: np.ndarray
    mean_rate: np.ndarray
    active_fraction: np.ndarray
    saturated_fraction: np.ndarray
    feasible: bool
    unique: bool
    degeneracy: str
    complementarity: float
    success: bool
    status: int
    message: str
    nit: int
    wall_time: float

    @property
    def spread(self) -> np.ndarray:
        r"""Standard deviation over positions of the bracket profile, shape (2,), mV Hz.

        :math:`\sqrt N\,\tau_m` times this is the O(sqrt N) part of the spread of the net
        mean input across positions at large N (zero in a balanced state).
        """
        b = np.tensordot(self.bracket, self.kappa_weights, axes=([2], [0]))
        return b.std(axis=1)

    def summary(self) -> str:
        """Describe the result in a few lines."""
        return (f"semi-balanced spatial limit ({'balanced' if self.feasible else 'semi-balanced'}"
                f"{'' if self.success else ', NOT converged'})\n"
                f"  mean rates E {self.mean_rate[0]:.4g} Hz, I {self.mean_rate[1]:.4g} Hz\n"
                f"  active fraction E {self.active_fraction[0]:.3g}, I {self.active_fraction[1]:.3g}; "
                f"saturated E {self.saturated_fraction[0]:.3g}, I {self.saturated_fraction[1]:.3g}\n"
                f"  complementarity residual {self.complementarity:.2e}\n  {self.message}")

    def to_dict(self) -> dict:
        """JSON-friendly summary (no per-label arrays)."""
        return {"mean_rate": self.mean_rate.tolist(), "feasible": self.feasible,
                "unique": self.unique, "degeneracy": self.degeneracy,
                "active_fraction": self.active_fraction.tolist(),
                "saturated_fraction": self.saturated_fraction.tolist(),
                "complementarity": self.complementarity, "success": self.success,
                "status": self.status, "message": self.message, "nit": self.nit,
                "wall_time": self.wall_time}


class _SpatialLCP:
    """beta = A r + c on the flattened (population, position, kappa) labels."""

    def __init__(self, params: NetworkParams, model: SpatialModel, n_side: int, r_max):
        dim = model.space_dim
        self.M = M = n_side ** dim
        self.tk, self.wk, fk = _kappa_factors(model)
        nk = self.nk = len(self.tk)
        W, X = params.W, params.X
        self.P = P = 2 * M * nk
        if P > MAX_DENSE_LABELS:
            raise ParameterError(f"the spatial LCP has 2 x {M} positions x {nk} kappa nodes = {P} "
                                 f"labels; allowed: <= {MAX_DENSE_LABELS} (pass a smaller n_side, or "
                                 f"fewer kappa nodes)", field="n_side")
        f = _profile_on_grid(model.input_profile, n_side, dim)
        eye = np.eye(M)
        A = np.zeros((2, M, nk, 2, M, nk))
        c = np.zeros((2, M, nk))
        for ia, a in enumerate(POPULATIONS):
            for ib, b in enumerate(POPULATIONS):
                # the grid convolution as a matrix (even kernel: row i is the kernel at x_i)
                G = convolve(eye, model.widths[a + b], dim)          # (M, M)
                # beta[a, x, k] += fk_b(k) w_ab sum_x' G[x, x'] sum_k' wk[k'] r[b, x', k']
                A[ia, :, :, ib, :, :] = (W[ia, ib] * G[:, None, :, None] * fk[b][None, :, None, None]
                                         * self.wk[None, None, None, :])
            ext = convolve(f, model.widths[a + "X"], dim)
            c[ia] = X[ia] * ext[:, None] * fk["X"][None, :]
        self.A = A.reshape(P, P)
        self.c = c.ravel()
        self.pop = np.repeat([0, 1], M * nk)
        self.u = np.asarray(r_max, float)[self.pop]
        # per-population bracket scale: RMS external bracket (as semi_balanced)
        scale = np.sqrt(np.sum(c ** 2 * self.wk, axis=2).mean(axis=1))
        for a in (0, 1):
            if not scale[a] > 0:
                scale[a] = float(np.max(np.abs(self.A[self.pop == a]))) or 1.0
        self.scale = scale
        self.bscale = scale[self.pop]
        # label weights (position mean, kappa weights), shape (2, M nk) like r.reshape(2, -1)
        self.w = np.tile((np.full(M, 1.0 / M)[:, None] * self.wk[None, :]).ravel(), (2, 1))

    def bracket(self, r):
        return self.A @ r + self.c

    def natural_residual(self, r, rs) -> float:
        rho = rs / self.bscale
        return float(np.max(np.abs(r - np.clip(r + rho * self.bracket(r), 0.0, self.u))) / rs)


def _smooth_mid(z, u, mu):
    """CHKS smoothing of mid(0, z, u) and its derivative (u may be inf)."""
    s0 = np.sqrt(z * z + 4.0 * mu * mu)
    val = 0.5 * (z + s0)
    der = 0.5 * (1.0 + z / s0)
    fin = np.isfinite(u)
    if np.any(fin):
        zu = z[fin] - u[fin]
        s1 = np.sqrt(zu * zu + 4.0 * mu * mu)
        val[fin] -= 0.5 * (zu + s1)
        der[fin] -= 0.5 * (1.0 + zu / s1)
    return val, der


def _continuation(lcp: _SpatialLCP, r0, rs, tol, maxiter):
    """Smoothing-Newton path mu -> 0 for F_mu(r) = r - P_mu(r + rho beta(r))."""
    rho = rs / lcp.bscale
    I_rhoA = np.eye(lcp.P) + rho[:, None] * lcp.A
    r = r0.copy()
    mu = rs
    nit = 0
    stage_ok = True
    while True:
        for _ in range(maxiter):
            z = r + rho * lcp.bracket(r)
            val, der = _smooth_mid(z, lcp.u, mu)
            F = r - val
            nF = float(np.max(np.abs(F)))
            if nF <= 1e-2 * mu + 1e-13 * rs:
                break
            J = -der[:, None] * I_rhoA
            J[np.diag_indices_from(J)] += 1.0
            try:
                step = np.linalg.solve(J, -F)
            except np.linalg.LinAlgError:
                step = np.linalg.lstsq(J, -F, rcond=None)[0]
            nit += 1
            lam, f0 = 1.0, float(F @ F)
            while lam > 1e-6:
                rn = r + lam * step
                vn = _smooth_mid(rn + rho * lcp.bracket(rn), lcp.u, mu)[0]
                if float((rn - vn) @ (rn - vn)) <= (1.0 - 1e-4 * lam) * f0:
                    break
                lam *= 0.5
            else:
                break                  # no decrease: the floor of this stage (rounding)
            r = rn
        else:
            stage_ok = False
        if mu <= 1e-3 * tol * rs or not stage_ok:
            break
        mu *= 0.1
    return np.clip(r, 0.0, lcp.u), nit, stage_ok


def _polish(lcp: _SpatialLCP, r, rs):
    """One exact active-set step: saturated and silent labels fixed, the rest balanced."""
    tolr = 1e-9 * rs
    sat = r >= lcp.u - tolr
    free = (r > tolr) & ~sat
    out = np.where(sat, lcp.u, 0.0)
    if free.any():
        rhs = -(lcp.c[free] + lcp.A[np.ix_(free, sat)] @ out[sat])
        Aff = lcp.A[np.ix_(free, free)] / lcp.bscale[free][:, None]
        out[free] = np.linalg.lstsq(Aff, rhs / lcp.bscale[free], rcond=_RANK_CUT)[0]
    return out, free


def semi_balanced_spatial(params: NetworkParams, model: SpatialModel, *, n_side: int | None = None,
                          r_max="refractory", tol: float = 1e-9, strict: bool = False,
                          maxiter: int = 50) -> SpatialSemiBalancedResult:
    r"""Solve for the N -> infinity (semi-balanced) limit of a spatial network's rate profile.

    Parameters
    ----------
    params : NetworkParams
        Uses ``W`` (mV), ``X`` (mV Hz) and the refractory periods; N does not enter.
    model : SpatialModel
        From ``DegreeModel.spatial`` (widths, input profile, optional degree factor).
    n_side : int, optional
        Grid points per dimension (default: the model's, capped so that the problem has at
        most ``MAX_DENSE_LABELS`` labels), >= 2.
    r_max : "refractory", None, float or (2,) array
        Rate bound, Hz, as in ``semi_balanced``.
    tol : float
        Bound on the relative complementarity residual for ``success``, in (0, 1e-2].
    strict : bool
        Raise ``ConvergenceError`` (result attached) when ``success`` is False.
    maxiter : int
        Newton iterations per continuation stage, >= 1.

    Returns
    -------
    SpatialSemiBalancedResult

    Raises
    ------
    TypeError
        ``model`` is not a ``SpatialModel``.
    ValueError
        (``ParameterError``) Bad ``n_side``, ``r_max``, ``tol`` or ``maxiter``; more than
        ``MAX_DENSE_LABELS`` labels.
    ConvergenceError
        Only with ``strict=True``.

    Notes
    -----
    The box LCP of equation (12.3) (module docstring) is solved on the grid by a smoothing
    continuation: with :math:`\rho_a = r_s/\beta_{s,a}` (a rate scale over the population's
    bracket scale) the natural map :math:`r = \mathrm{mid}(0, r + \rho\beta(r), r_{max})` is
    replaced by its Chen-Harker-Kanzow-Smale smoothing of width :math:`\mu`,
    :math:`P_\mu(z) = \tfrac12(z + \sqrt{z^2 + 4\mu^2}) - \tfrac12(z - r_{max} +
    \sqrt{(z - r_{max})^2 + 4\mu^2})`, solved by damped Newton (dense LU of the
    (2 M n_k)-square Jacobian), and :math:`\mu` is divided by 10 from :math:`r_s` to
    :math:`10^{-3}` ``tol`` :math:`r_s`. Each smoothed problem is a finite-gain network
    whose gain grows along the path, the same limit the finite-N theory takes; the smoothing
    regularises the otherwise singular balanced block of the Jacobian. Last, one exact
    active-set step (silent and saturated labels fixed, the rest solved for a vanishing
    bracket, minimum-norm least squares with relative cutoff 1e-8) is kept when it lowers
    the residual. The residual is then checked (``tol``).

    For uniform input the limit is the uniform balanced state :math:`-W^{-1}X` whatever
    the widths. When the ordering of Rosenbaum & Doiron holds and the per-mode profile is
    non-negative, the result is that profile (``feasible``). When it is violated, the
    active region is where the input is strong: silent and saturated bands appear, and the
    bracket profile's spread (``spread``) is the O(sqrt N) spread of net input measured in
    ``fig5_spatial`` (c).

    References: Baker, Zhu & Rosenbaum, PLoS Comput. Biol. 16, e1008192 (2020); Rosenbaum &
    Doiron, Phys. Rev. X 4, 021039 (2014); Chen & Harker, SIAM J. Matrix Anal. Appl. 14,
    1168 (1993) and Kanzow, SIAM J. Matrix Anal. Appl. 17, 851 (1996) (smoothing).

    Examples
    --------
    >>> from meanfield import NetworkParams, DegreeModel
    >>> from meanfield.spatial import GaussianBump
    >>> p = NetworkParams.preset("rosenbaum2017")
    >>> m = DegreeModel.spatial(1, 0.05, 0.1, n_side=32)
    >>> res = semi_balanced_spatial(p, m)           # uniform input: the balanced state
    >>> bool(res.feasible), np.round(res.mean_rate, 2).tolist()
    (True, [3.59, 5.65])
    """
    t0 = time.perf_counter()
    params = check_network_params(params)
    if not isinstance(model, SpatialModel):
        raise TypeError(f"model must be a SpatialModel (DegreeModel.spatial), got "
                        f"{type(model).__name__}")
    tol = check_in_range("tol", tol, 0.0, 1e-2, lo_open=True)
    maxiter = check_int("maxiter", maxiter, lo=1)
    u2 = _resolve_r_max(params, r_max)
    nk = 1 if model.kappa is None else int(model.labels["E"].n_kappa)
    if n_side is None:
        n_side = model.labels["E"].n_side
        while 2 * n_side ** model.space_dim * nk > MAX_DENSE_LABELS and n_side > 2:
            n_side //= 2
    n_side = check_int("n_side", n_side, lo=2)
    lcp = _SpatialLCP(params, model, n_side, u2)
    M = lcp.M
    # rate scale: the uniform balanced rates (or 1 Hz)
    try:
        r_uni = -np.linalg.solve(params.W, params.X)
    except np.linalg.LinAlgError:
        r_uni = np.ones(2)
    rs = max(1.0, float(np.max(np.abs(r_uni))))
    bal = balanced_profile(params, model.widths, dim=model.space_dim, n_side=n_side,
                           input_profile=model.input_profile)
    r0 = np.clip(np.repeat(bal[:, :, None], lcp.nk, axis=2).ravel(), 0.0, np.minimum(lcp.u, 10 * rs))
    r, nit, path_ok = _continuation(lcp, r0, rs, tol, maxiter)
    res = lcp.natural_residual(r, max(rs, float(r.max())))
    how = "smoothing path"
    rp, free = _polish(lcp, r, rs)
    rp = np.clip(rp, 0.0, lcp.u)
    res_p = lcp.natural_residual(rp, max(rs, float(rp.max())))
    if res_p <= tol or res_p < res:      # prefer the minimum-norm member when it is a solution
        r, res, how = rp, res_p, "smoothing path, then an exact active-set step"
    beta = lcp.bracket(r)
    btol = _BRACKET_ZERO * lcp.bscale
    shape = (2, M, lcp.nk)
    rmax_seen = max(1.0, float(r.max()))
    active = r > 1e-9 * rmax_seen
    saturated = np.isfinite(lcp.u) & (r >= lcp.u * (1 - 1e-9))
    balanced = np.abs(beta) <= btol
    feasible = bool(np.all(balanced))
    status = 0 if res <= tol else 1
    # which rates the brackets leave free: numerical rank of the balanced columns
    Z = balanced & active & ~saturated
    unique, degeneracy = True, ""
    if Z.any():
        sv = np.linalg.svd(lcp.A[:, Z] / lcp.bscale[:, None], compute_uv=False)
        rank = int(np.sum(sv > _RANK_CUT * sv[0])) if sv.size and sv[0] > 0 else 0
        if rank < int(Z.sum()):
            unique = False
            degeneracy = (f"the bracket vanishes on {int(Z.sum())} active labels whose rates enter the "
                          f"brackets through {rank} numerically independent combinations (singular "
                          f"values above {_RANK_CUT:g} of the largest; the Gaussian kernels' fine-scale "
                          f"Fourier coefficients are below that): the other directions are fixed by the "
                          f"smoothing path (the limit of finite-gain networks), not by the LCP")
    mean_rate, act_f, sat_f = (np.sum(lcp.w * v.reshape(2, -1), axis=1) for v in (r, active, saturated))
    state = "balanced at every position (condition (B) holds)" if feasible else (
        f"semi-balanced: active fraction E {act_f[0]:.3g}, I {act_f[1]:.3g}"
        + (f"; saturated at r_max: E {sat_f[0]:.3g}, I {sat_f[1]:.3g}" if np.any(sat_f > 0) else ""))
    message = (f"{state}; {how}, {nit} Newton steps; complementarity residual {res:.1e}"
               + ("" if status == 0 else f" > tol {tol:.1e}: NOT a solution to tolerance")
               + ("" if path_ok else " (a continuation stage hit maxiter)"))
    out = SpatialSemiBalancedResult(
        positions=grid_positions(n_side, model.space_dim), kappa=lcp.tk, kappa_weights=lcp.wk,
        rates=r.reshape(shape), bracket=beta.reshape(shape), active=active.reshape(shape),
        balanced=balanced.reshape(shape), saturated=saturated.reshape(shape),
        balanced_profile=bal, r_max=u2, bracket_scale=lcp.scale.copy(), mean_rate=mean_rate,
        active_fraction=act_f, saturated_fraction=sat_f, feasible=feasible, unique=unique,
        degeneracy=degeneracy, complementarity=float(res), success=status == 0, status=status,
        message=message, nit=int(nit), wall_time=time.perf_counter() - t0)
    if strict and status != 0:
        raise ConvergenceError(f"semi_balanced_spatial: {message}", out)
    return out

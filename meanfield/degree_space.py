r"""Degree-space self-consistency of a heterogeneous balanced network at finite N.

``solve(params, model, N)`` finds the rates :math:`r_a(t)` of every degree label t in
both populations such that (docs/theory.md sections 4 and 6)

.. math::
    r_a(t) = \Phi_a\big(\mu_a(t), \sigma_a(t)\big),\qquad
    \mu_a(t) = E_L + \tau_m\Big[\sum_b J_{ab}K_{ab}\,E_{t'}[m_{ab}(t,t')r_b(t')]
                + J_{aX}K_{aX}\,k^{in}_{aX}(t)\,r_X\Big],

    \sigma_a(t)^2 = \tau_m\Big[\sum_b J_{ab}^2K_{ab}\,E_{t'}[m_{ab}(t,t')r_b(t')]
                + J_{aX}^2K_{aX}\,k^{in}_{aX}(t)\,r_X\Big],

and reports the balance diagnostics of docs/theory.md section 6. Because :math:`J K \propto
\sqrt N`, the map is stiff: plain iteration diverges at large N. The solver therefore

1. reduces the unknowns to the moments :math:`G = B r` the kernels need (for a low-rank
   kernel :math:`m = \sum_r c_r f_r(t) g_r(t')` the few numbers
   :math:`E_{t'}[g_r(t') r_b(t')]`; otherwise the rates on the grid);
2. starts from the balanced limit: the non-negative profile that best satisfies
   condition (B) (``balance_feasibility``'s linear program; among equally good profiles
   the one closest to the uniform profile at :math:`-W^{-1}X`), where every mean input
   is :math:`E_L` up to the residual of (B);
3. runs Newton's method on :math:`F(G) = B\,\Phi(\mu(G), \sigma(G)) - G` with the exact
   Jacobian (transfer-function partials, including the filter's :math:`\tau_s`) and a
   backtracking line search restricted to moments with every kernel expectation
   :math:`E_{t'}[m_{ab} r_b] \ge 0` (negative rates lower the input variance and create
   spurious near-stationary points in the noise-driven regime). Newton's iteration is
   affine invariant, so in the natural variables :math:`\sqrt N (G - G_\infty)` its
   basin does not shrink with N;
4. falls back to pseudo-time relaxation (pseudo-transient continuation of the rate
   dynamics :math:`dG/ds = F(G)` with linearly implicit steps), then to continuation in
   N (solve at N = 10^3, then step N up by factors <= 2, each stage started from the
   previous solution).

With ``spread=True`` the solver adds, per label, the spread of mean input across the
neurons of the label (docs/theory.md section 10): a neuron's rate is
:math:`\Phi(\mu(t) + \sigma_q(t) z, \sigma_z; \tau_s)` with z ~ N(0, 1) frozen per neuron,
:math:`\sigma_q^2` from the binomial in-degrees and the second moments of the presynaptic
rates, and the unknowns grow by those second moments (``_SpreadMap``); it starts from the
solution without spread.

The methods live in ``meanfield.roots`` (``METHODS``: "newton", "relaxation",
"continuation", "newton_krylov"); ``solve(..., method=...)`` picks one, and the default
"auto" is the strategy above. A result that did not converge says so
(``converged=False``, a ``status`` code from ``meanfield.roots`` and a message) or, with
``strict=True``, raises ``ConvergenceError``. The result type is ``MeanFieldResult``
(``meanfield.result``), re-exported here.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import replace

import numpy as np

from . import roots
from ._moments import LabelGrid
from ._phi import SIGMA_FLOOR, PopulationTransfer, resolve_filter
from .regime import warn_regime
from .checks import check_int, check_solver_options, renamed_keyword
from .degree import DegreeModel, resolve_model
from .diagnostics import SATURATED_FRACTION, SILENT_RATE, saturation_threshold
from .errors import ConvergenceError, ParameterError
from .feasibility import _solve_lp
from .params import NetworkParams, params_at_size
from .result import MeanFieldResult
from .roots import (CONVERGED, DEADLINE, DOMAIN, FALLBACKS_FAILED, MAXITER, NO_START,
                    Homotopy, RootProblem, RootResult, relative_residual)

__all__ = ["solve", "MeanFieldResult", "SOLVE_METHODS", "SILENT_RATE", "SATURATED_FRACTION",
           "SPREAD_NODES", "gauss_hermite"]

SOLVE_METHODS = ("auto", "newton", "relaxation", "continuation", "newton_krylov")
"""Allowed ``method`` values of ``solve``: "auto" and the names in ``meanfield.roots.METHODS``."""

_TOL = 1e-9
_CONTINUATION_START = 1000
SPREAD_NODES = 32
"""Default Gauss-Hermite nodes of the z-average of ``solve(..., spread=True)``."""
_NOISE_FLOOR = 0.25
"""With spread: the noise variance sigma^2 + c z of a neuron is kept >= this fraction of its
label's sigma^2 (the linear regression on z would turn negative far in the tails when
single synapses are strong, e.g. N = 10^3; at N = 10^4 it never binds within the
Gauss-Hermite nodes on the presets)."""
_NOISE_SLOPE = True
"""With spread: let the noise variance vary within a label with the mean input (``_SpreadMap``).
Switched off only to measure what it changes (tests/test_spread.py)."""
FANO_TOL = 1e-3
"""Convergence of the sub-Poisson factor (``fano="renewal"``): max |F_pred - F|."""
FANO_MAXITER = 12
"""Solves allowed for the fixed point of F."""
FANO_RANGE = (1e-6, 2.0)
"""The renewal rule's F is searched in this range (beyond 2, CV^2 > 2: firing dominated by
noise, far from the validated regime); no fixed point in it is reported as not converged."""
FANO_MAX = 10.0
"""Largest variance factor a caller may give (``fano=(F_E, F_I)``)."""


# =============================================================================== the map
class _MomentMap:
    """F(G) = B Phi(mu(G), sigma(G)) - G and its Jacobian on one label grid at one N."""

    def __init__(self, grid: LabelGrid, params: NetworkParams, transfer: PopulationTransfer,
                 fano=(1.0, 1.0)):
        self.grid = grid
        self.params = params
        self.transfer = transfer
        c = grid.coefficients(params)
        self.Cmu = c["Cmu"]
        self._Csig_poisson = c["Csig"]
        self._set_fano(fano)
        self.Cmu_tot = self.Cmu[0] + self.Cmu[1]
        self.mu_X, self.var_X, self.E_L, self.tau_m = c["mu_X"], c["var_X"], c["E_L"], c["tau_m"]
        self.B = grid.B

    def _set_fano(self, fano):
        # sub-Poisson presynaptic trains: source b's share of sigma^2 times F_b (``solve``)
        self.fano = (float(fano[0]), float(fano[1]))
        self.Csig = np.stack([self.fano[b] * self._Csig_poisson[b] for b in (0, 1)])
        self.Csig_tot = self.Csig[0] + self.Csig[1]

    def with_fano(self, fano) -> "_MomentMap":
        """Return a copy at other variance factors (only the sigma^2 coefficients differ)."""
        new = copy.copy(self)
        new._set_fano(fano)
        return new

    def inputs(self, G):
        """Return mu, sigma, tau_s, var_src (3, 2n), mu_src (3, 2n), var and the filter terms.

        The filter terms are (scale, dtau, dscale) of ``PopulationTransfer.filter_terms``;
        mu, sigma, tau_s and var have shape (2n,).
        """
        mu_src = np.stack([self.Cmu[0] @ G, self.Cmu[1] @ G, self.mu_X])
        var_src = np.stack([self.Csig[0] @ G, self.Csig[1] @ G, self.var_X])
        mu = self.E_L + mu_src.sum(axis=0)
        var = var_src.sum(axis=0)
        tau, scale, dtau, dscale = self.transfer.filter_terms(var_src, var)
        return mu, np.sqrt(np.maximum(var, 0.0)), tau, var_src, mu_src, var, (scale, dtau, dscale)

    def filter_jacobian(self, g_tau, g_scale, filt):
        """Sum over the E and I shares of (g_tau dtau_b + g_scale dscale_b) dv_b/dG, (P, m)."""
        _, dtau, dscale = filt
        return sum((g_tau * dtau[b] + g_scale * dscale[b])[:, None] * self.Csig[b] for b in (0, 1))

    def in_domain(self, G) -> bool:
        """Return True if every kernel expectation E_t'[m_ab(t, t') r_b(t')] is >= 0.

        A necessary condition for G to come from non-negative rates (m >= 0); outside it
        the map has spurious near-stationary points (negative rates lower the variance).
        """
        K = self.grid.K
        tol = 1e-12 * max(float(np.max(np.abs(G))), 1e-300)
        return bool(np.all(K[0] @ G >= -tol) and np.all(K[1] @ G >= -tol))

    def __call__(self, G, jacobian: bool = False):
        """(F, Jac or None, r); F is None when G leaves the domain (``in_domain``)."""
        if not np.all(np.isfinite(G)) or not self.in_domain(G):
            return None, None, None
        return self._evaluate(G, jacobian)

    def problem(self, homotopy: Homotopy | None = None) -> RootProblem:
        """Return this map as a ``meanfield.roots.RootProblem`` (relative residual, domain guard)."""
        return RootProblem(fun=lambda G: self._evaluate(G, False)[0],
                           fun_and_jac=lambda G: self._evaluate(G, True)[:2],
                           in_domain=self.in_domain, residual=relative_residual,
                           homotopy=homotopy)

    def _evaluate(self, G, jacobian: bool):
        """(F, Jac or None, r) at an admissible G; Nones where Phi cannot be evaluated."""
        mu, sigma, tau, var_src, _, var, filt = self.inputs(G)
        if not np.all(np.isfinite(mu)) or np.any(var < 0) or not np.all(np.isfinite(var)):
            return None, None, None
        r, r_mu, r_sig, r_tau, r_scale = self.transfer.evaluate(mu, sigma, tau, derivatives=jacobian,
                                                                scale=filt[0])
        if not np.all(np.isfinite(r)):
            return None, None, None
        F = self.B @ r - G
        if not jacobian:
            return F, None, r
        sig = np.maximum(sigma, 1e-300)
        D = r_mu[:, None] * self.Cmu_tot + (r_sig / (2.0 * sig))[:, None] * self.Csig_tot
        if self.transfer.uses_filter():
            D = D + self.filter_jacobian(r_tau, r_scale, filt)
        Jac = self.B @ D - np.eye(G.size)
        return F, Jac, r


# =============================================================================== spread
class _RenewalSpreadMap:
    r"""The spread system with the sub-Poisson factors F as two more unknowns.

    Unknowns :math:`[y, F]` (y of ``_SpreadMap``); residual
    :math:`[R_y(y; F),\; F_{pred}(y; F) - F]` with :math:`F_{pred}` the rate-weighted
    :math:`CV^2` of ``meanfield.renewal.fano_from_nodes`` on the Gauss-Hermite nodes.
    Jacobian: :math:`\partial R_y/\partial y` of ``_SpreadMap``; :math:`\partial
    F_{pred}/\partial y` by the chain rule through the nodes' rates and effective noise
    (``matched_cv2`` gradients); the two columns :math:`\partial/\partial F` analytically
    too (``f_columns``: F_b scales source b's share of the variance and of the noise slope).
    Converged when the spread residual
    is below ``tol`` and :math:`\max|F_{pred} - F| \le` ``FANO_TOL``.
    """

    def __init__(self, smap: "_SpreadMap", tol: float):
        self.smap = smap
        self.tol = float(tol)
        self.neurons = smap.base.params.neurons
        self.weights = smap.base.grid.weights
        self.n = smap.base.grid.n
        self._maps = {}

    def at(self, F) -> "_SpreadMap":
        key = (float(F[0]), float(F[1]))
        if key not in self._maps:
            if len(self._maps) > 8:
                self._maps.clear()
            self._maps[key] = self.smap.with_fano(key)
        return self._maps[key]

    @staticmethod
    def split(x):
        return x[:-2], x[-2:]

    def in_domain(self, x) -> bool:
        y, F = self.split(x)
        return bool(np.all(F >= FANO_RANGE[0]) and np.all(F <= FANO_RANGE[1])
                    and self.smap.in_domain(y))

    def residual(self, R, x) -> float:
        y, _ = self.split(x)
        return max(self.smap.residual(R[:-2], y), self.tol * float(np.max(np.abs(R[-2:]))) / FANO_TOL)

    def problem(self) -> RootProblem:
        return RootProblem(fun=lambda x: self._evaluate(x, False)[0],
                           fun_and_jac=lambda x: self._evaluate(x, True)[:2],
                           in_domain=self.in_domain, residual=self.residual)

    def predicted(self, parts, jacobian: bool):
        """Return F_pred (2,), and with ``jacobian`` dF_pred/dy (2, dim y) and the pieces.

        The pieces ``(alpha, gamma, row_w)`` of ``weighted_cv2`` are reused by
        ``f_columns``; without ``jacobian`` both are None.
        """
        from .renewal import weighted_cv2

        phi, sig = parts["phi"], parts["sigma_eff"]            # (nz, P)
        n, wz = self.n, self.smap.wz
        F = np.ones(2)
        alpha, gamma = np.zeros_like(phi), np.zeros_like(phi)
        row_w = np.zeros(2 * n)
        for a in (0, 1):
            cols = slice(a * n, (a + 1) * n)
            w = wz[:, None] * self.weights[a][None, :]
            if not jacobian:
                F[a] = weighted_cv2(self.neurons[a], w, phi[:, cols], sig[:, cols])
                continue
            F[a], alpha[:, cols], gamma[:, cols], D = weighted_cv2(
                self.neurons[a], w, phi[:, cols], sig[:, cols], grad=True)
            if D > 0:
                row_w[cols] = self.weights[a] / D
        if not jacobian:
            return F, None, None
        p_mu, p_var, p_slope, p_tau, p_scale = parts["partials"]
        S, clipped, scale = parts["S"], parts["clipped"], parts["scale"][None, :]
        inv2S = 0.5 / S
        rows = parts["rows"](alpha * p_mu,
                             alpha * p_var + gamma * scale * np.where(clipped, _NOISE_FLOOR, 1.0) * inv2S,
                             alpha * p_slope + gamma * scale * np.where(clipped, 0.0, inv2S),
                             alpha * p_tau,
                             alpha * p_scale + gamma * S)        # (P, dim y)
        dF = np.stack([row_w[:n] @ rows[:n], row_w[n:] @ rows[n:]])
        return F, dF, (alpha, gamma, row_w)

    def f_columns(self, parts, pieces):
        r"""d[R_y, F_pred]/dF_b (dim y + 2, 2) at fixed y, analytically.

        F_b scales source b's share of sigma^2 and of the noise slope:
        :math:`\partial var/\partial F_b = v^0_b`, :math:`\partial slope/\partial F_b =
        \lambda J_b (C_{q,b} H)/\sigma_q`, and the filter rule's tau_s and noise factor
        through :math:`v_b`. Per node :math:`\partial\Phi/\partial F_b` from the same
        partials as the Jacobian; F_pred through the nodes' rates and effective noise
        (``pieces`` of ``predicted``).
        """
        sm, base = self.smap, self.smap.base
        G, H = parts["G"], parts["H"]
        phi, S, clipped, scale = parts["phi"], parts["S"], parts["clipped"], parts["scale"]
        _, p_var, p_slope, p_tau, p_scale = parts["partials"]
        _, dtau, dscale = parts["filt"]
        alpha, gamma, row_w = pieces
        z = sm.z[:, None]
        wz = sm.wz
        n = self.n
        filtered = base.transfer.uses_filter()
        out = np.zeros((sm.m + sm.m2 + 2, 2))
        for b in (0, 1):
            dvar = base._Csig_poisson[b] @ G                               # (P,)
            dslope = (sm.lam * (sm._J[b] * (sm.Cq[b] @ H)) / parts["s_safe"]
                      if sm.noise_slope else np.zeros_like(dvar))
            dS2 = np.where(clipped, _NOISE_FLOOR * dvar[None, :], dvar[None, :] + z * dslope[None, :])
            dphi = p_var * dvar[None, :] + p_slope * z * dslope[None, :]
            dsig = scale[None, :] * dS2 / (2.0 * S)
            if filtered:
                dtau_b, dscale_b = dtau[b] * dvar, dscale[b] * dvar
                dphi = dphi + p_tau * dtau_b[None, :] + p_scale * dscale_b[None, :]
                dsig = dsig + S * dscale_b[None, :]
            dr, dq = wz @ dphi, wz @ (2.0 * phi * dphi)
            dF = wz @ (alpha * dphi + gamma * dsig)                         # (P,)
            out[:sm.m, b] = base.B @ dr
            out[sm.m:sm.m + sm.m2, b] = (sm.B2 @ dq) / sm.h
            out[-2:, b] = [row_w[:n] @ dF[:n], row_w[n:] @ dF[n:]]
            out[-2 + b, b] -= 1.0
        return out

    def _evaluate(self, x, jacobian: bool):
        y, F = self.split(np.asarray(x, float))
        R, J, parts = self.at(F)._evaluate(y, jacobian)
        if R is None:
            return None, None, None
        F_pred, dF_dy, pieces = self.predicted(parts, jacobian)
        out = np.concatenate([R, F_pred - F])
        if not jacobian:
            return out, None, parts
        cols = self.f_columns(parts, pieces)
        return out, np.vstack([np.hstack([J, cols[:-2]]), np.hstack([dF_dy, cols[-2:]])]), parts


def gauss_hermite(n_nodes: int):
    r"""Nodes and weights of the n-point Gauss-Hermite rule for :math:`z \sim N(0, 1)`.

    :math:`E[f(z)] \approx \sum_k w_k f(z_k)`, exact for polynomials of degree < 2n; the
    weights sum to 1.
    """
    z, w = np.polynomial.hermite_e.hermegauss(int(n_nodes))
    return z, w / w.sum()


class _SpreadMap:
    r"""The moment map with the spread of mean input within a label (docs/theory.md section 10).

    Unknowns ``y = [G, H / h]``: the first moments :math:`G = B\,E_z[\Phi]` of the
    ``_MomentMap`` and the second moments :math:`H = B_2\,E_z[\Phi^2]`
    (``LabelGrid.spread_structure``), the latter divided by a fixed rate scale h (Hz) so
    that both blocks are in Hz. A neuron of label t and frozen :math:`z \sim N(0, 1)` has
    the mean input and noise variance

    .. math:: \mu(t) + \sigma_q(t)\, z, \qquad \sigma^2(t) + c(t)\, z, \qquad
              c = \mathrm{Cov}(\delta\mu, \delta\sigma^2) / \sigma_q
              = \sum_b J_{ab} v_b / \sigma_q,

    with :math:`v_b` source b's part of :math:`\sigma_q^2 = \lambda (C_q H + q_X)`
    (``LabelGrid.spread_coefficients``; :math:`\lambda` = 1 except along the continuation
    path): each input spike adds :math:`\tau_m J` to the mean and :math:`\tau_m J^2` to the
    variance, so a neuron with more inputs from b has both shifted, source by source
    (:math:`\delta\sigma^2_b = J_{ab}\,\delta\mu_b`); the noise variance is regressed on the
    mean input, the part of it uncorrelated with the mean input is dropped (measured: it
    moves the population rates by < 0.3 % of the rates, open loop). Then

    .. math:: F(y) = \big[B\,E_z\Phi - G,\; (B_2\,E_z\Phi^2 - H)/h\big],

    :math:`\Phi` at the inputs above, the z-averages by Gauss-Hermite quadrature.
    """

    def __init__(self, base: _MomentMap, z_nodes, h: float, lam: float = 1.0,
                 noise_slope: bool = True):
        self.base = base
        grid = base.grid
        params = base.params
        self.B2, self.K2 = grid.spread_structure()
        c = grid.spread_coefficients(params)
        self.Cq, self.q_X = c["Cq"], c["q_X"]
        self.Cq_tot = self.Cq[0] + self.Cq[1]
        n = grid.n
        self._J = [np.repeat(params.J[:, b], n) for b in range(3)]   # J_ab on the rows (a, i)
        self._set_slope_coefficients()
        self.qXJ = self._J[2] * self.q_X
        self.noise_slope = bool(noise_slope)
        self.z, self.wz = z_nodes
        self.h = float(h)
        self.lam = float(lam)
        self.m, self.m2 = grid.m, self.B2.shape[0]
        self.P = 2 * n
        # EIF points: a bicubic spline of log Phi (``_phi.EIFTable``, relative error ~1e-5),
        # since 2n x nodes points per evaluation make direct threshold integration slow
        self.transfer = PopulationTransfer(params, base.transfer.filters, base.transfer.index,
                                           table=True).tiled(self.z.size, self.P)
        self._primed = False

    def _set_slope_coefficients(self):
        F = self.base.fano                                        # delta sigma^2_b = F_b J_ab delta mu_b
        self.CqJ = (F[0] * self._J[0])[:, None] * self.Cq[0] + (F[1] * self._J[1])[:, None] * self.Cq[1]

    def with_fano(self, fano) -> "_SpreadMap":
        """Return a copy at other variance factors (sharing the transfer tables)."""
        new = copy.copy(self)
        new.base = self.base.with_fano(fano)
        new._set_slope_coefficients()
        return new

    def _prime_tables(self, M, S):
        """Build each EIF table once, on a box wider than the first query.

        The box is the query's mu range widened by 10 % on each side and sigma from 0.75 to
        1.35 times the query's, so that Newton's steps rarely leave it (a rebuild costs
        about as much as three evaluations of the map).
        """
        self._primed = True
        for a, idx in enumerate(self.base.transfer.index):
            table = self.transfer.tables[a]
            if table is None or idx.size == 0 or self.transfer.filters[a] == "colored":
                continue
            m, sg = M[:, idx], S[:, idx]
            width = float(m.max() - m.min())
            mu_box = np.array([m.min() - 0.1 * width, m.max() + 0.1 * width])
            sig_box = np.array([0.75 * sg.min(), 1.35 * sg.max()])
            table(np.repeat(mu_box, 2), np.tile(sig_box, 2), False)

    def split(self, y):
        """(G, H) from the unknowns."""
        return y[:self.m], y[self.m:] * self.h

    def join(self, G, H):
        return np.concatenate([G, np.asarray(H, float) / self.h])

    def variance(self, H):
        """sigma_q^2 at every label, mV^2 (2n,)."""
        return self.lam * (self.Cq_tot @ H + self.q_X)

    def covariance(self, H):
        """Cov(mean input, noise variance) within each label, mV^3 (2n,); 0 if switched off."""
        if not self.noise_slope:
            return np.zeros(self.P)
        return self.lam * (self.CqJ @ H + self.qXJ)

    def source_variances(self, H):
        """Return the E, I and X parts of ``variance(H)``, mV^2 (3, 2n)."""
        return self.lam * np.stack([self.Cq[0] @ H, self.Cq[1] @ H, self.q_X])

    def in_domain(self, y) -> bool:
        """``_MomentMap.in_domain`` for G, and every E_t'[m (1 - p m) q_b] >= 0 for H."""
        G, H = self.split(y)
        if not self.base.in_domain(G):
            return False
        tol = 1e-12 * max(float(np.max(np.abs(H))), 1e-300)
        return bool(np.all(self.K2[0] @ H >= -tol) and np.all(self.K2[1] @ H >= -tol))

    def residual(self, F, y) -> float:
        """Return the larger relative residual of the two blocks (each in its own scale)."""
        m = self.m
        return max(relative_residual(F[:m], y[:m]), relative_residual(F[m:], y[m:]))

    def problem(self, homotopy: Homotopy | None = None) -> RootProblem:
        return RootProblem(fun=lambda y: self._evaluate(y, False)[0],
                           fun_and_jac=lambda y: self._evaluate(y, True)[:2],
                           in_domain=self.in_domain, residual=self.residual,
                           homotopy=homotopy)

    def __call__(self, y, jacobian: bool = False):
        """(F, Jac or None, parts or None); F is None outside the domain."""
        if not np.all(np.isfinite(y)) or not self.in_domain(y):
            return None, None, None
        return self._evaluate(y, jacobian)

    def _evaluate(self, y, jacobian: bool):
        base = self.base
        G, H = self.split(y)
        mu, sigma, tau, var_src, _, var, filt = base.inputs(G)
        if not np.all(np.isfinite(mu)) or np.any(var < 0) or not np.all(np.isfinite(var)):
            return None, None, None
        s2 = self.variance(H)
        cov = self.covariance(H)
        if not (np.all(np.isfinite(s2)) and np.all(np.isfinite(cov))):
            return None, None, None
        s = np.sqrt(np.maximum(s2, 0.0))
        s_safe = np.maximum(s, 1e-6)
        slope = cov / s_safe                                   # d sigma^2 / dz, mV^2
        z = self.z[:, None]
        M = mu[None, :] + s[None, :] * z                       # (nz, P)
        V = var[None, :] + slope[None, :] * z
        floor = np.maximum(_NOISE_FLOOR * var, SIGMA_FLOOR ** 2)[None, :]
        clipped = V < floor
        S = np.sqrt(np.where(clipped, floor, V))
        nz, P = self.z.size, self.P
        if not self._primed:
            self._prime_tables(M, S)
        out = self.transfer.evaluate(M.ravel(), S.ravel(), np.tile(tau, nz), derivatives=jacobian,
                                     scale=np.tile(filt[0], nz))
        phi = out[0].reshape(nz, P)
        if not np.all(np.isfinite(phi)):
            return None, None, None
        wz = self.wz
        r = wz @ phi
        q = wz @ (phi * phi)
        F = np.concatenate([base.B @ r - G, (self.B2 @ q - H) / self.h])
        parts = {"r": r, "q": q, "s": s, "slope": slope, "phi": phi,
                 "sigma_eff": S * filt[0][None, :]}
        if not jacobian:
            return F, None, parts
        p_mu, p_sig, p_tau, p_scale = (x.reshape(nz, P) for x in out[1:])
        # d Phi = Phi_mu (d mu + z ds) + Phi_sig (d var + z d slope) / (2 S) + Phi_tau d tau;
        # where clipped, S^2 = _NOISE_FLOOR var: no slope term, var term times _NOISE_FLOOR
        p_half = p_sig / (2.0 * S)
        p_var = np.where(clipped, _NOISE_FLOOR * p_half, p_half)
        p_slope = np.where(clipped, 0.0, p_half)
        filtered = base.transfer.uses_filter()
        ds_dH = (self.lam / (2.0 * s_safe))[:, None] * self.Cq_tot               # (P, m2)
        dslope_dH = (self.lam / s_safe)[:, None] * self.CqJ \
            - (slope / s_safe)[:, None] * ds_dH if self.noise_slope else None
        wzz = wz * self.z

        def rows(g_mu, g_var, g_slope, g_tau, g_scale):
            """Return dE_z[g(Phi)]/d(G, H/h) from the per-node partials g_x = g'(Phi) Phi_x."""
            dG = (wz @ g_mu)[:, None] * base.Cmu_tot + (wz @ g_var)[:, None] * base.Csig_tot
            if filtered:
                dG = dG + base.filter_jacobian(wz @ g_tau, wz @ g_scale, filt)
            dH = (wzz @ g_mu)[:, None] * ds_dH
            if dslope_dH is not None:
                dH = dH + (wzz @ g_slope)[:, None] * dslope_dH
            return np.hstack([dG, dH * self.h])

        parts.update(rows=rows, partials=(p_mu, p_var, p_slope, p_tau, p_scale), S=S,
                     clipped=clipped, scale=filt[0], filt=filt, s_safe=s_safe, G=G, H=H)
        Dr = rows(p_mu, p_var, p_slope, p_tau, p_scale)
        two_phi = 2.0 * phi
        Dq = rows(two_phi * p_mu, two_phi * p_var, two_phi * p_slope, two_phi * p_tau,
                  two_phi * p_scale)
        Jac = np.vstack([base.B @ Dr, (self.B2 @ Dq) / self.h]) - np.eye(y.size)
        return F, Jac, parts


def _spread_homotopy(base, z_nodes, h) -> Homotopy:
    """Continuation in the spread scale lambda: 0.25, 0.5, 0.75, 1 (sigma_q^2 times lambda)."""
    return Homotopy(stages=(0.25, 0.5, 0.75, 1.0),
                    problem_at=lambda lam: _SpreadMap(base, z_nodes, h, lam,
                                                      _NOISE_SLOPE).problem(),
                    refine=lambda a, b: 0.5 * (a + b) if b - a > 1e-3 else None,
                    label="spread scale", start_name="solution without spread")


def _predict(history, N):
    """Extrapolate the moments linearly in 1/sqrt(N) from the last two solutions."""
    if len(history) < 2:
        return history[-1][1]
    (N1, G1), (N2, G2) = history[-2], history[-1]
    x1, x2, x = N1 ** -0.5, N2 ** -0.5, N ** -0.5
    return G2 + (G2 - G1) * (x - x2) / (x2 - x1)


def _refine(N_prev, N):
    """Return the geometric mean of two sizes, or None when they differ by 5 % or less."""
    return int(round(math.sqrt(N * N_prev))) if N / N_prev > 1.05 else None


def _homotopy(grid, params, transfer, fano=(1.0, 1.0)) -> Homotopy:
    """Continuation in N: 10^3 ... params.N with factors <= 2 (just params.N if <= 10^3)."""
    N_target = params.N
    if N_target > _CONTINUATION_START:
        steps = max(2, int(math.ceil(math.log2(N_target / _CONTINUATION_START))) + 1)
        Ns = [int(x) for x in
              np.unique(np.round(np.geomspace(_CONTINUATION_START, N_target, steps)))]
    else:
        Ns = [N_target]
    return Homotopy(stages=tuple(Ns),
                    problem_at=lambda N: _MomentMap(grid, params.with_N(N), transfer,
                                                    fano).problem(),
                    refine=_refine, predict=_predict, label="N", start_name="balanced limit")


# =============================================================================== solve
def solve(params: NetworkParams, model: DegreeModel | None = None, N: int | None = None, *,
          method: str = "auto", filter: str = "auto", n_nodes: int | None = None,
          tol: float = _TOL, maxiter: int | None = None, strict: bool = False,
          silent_rate: float = SILENT_RATE, saturated_rate: float | None = None,
          initial=None, time_budget: float = 120.0, n: int | None = None,
          spread: bool = False, spread_nodes: int = SPREAD_NODES,
          fano=None) -> MeanFieldResult:
    r"""Self-consistent rates of every degree label at finite N (degree space).

    Parameters
    ----------
    params : NetworkParams
        Network parameters (j, p, q, neurons, r_X, synaptic time constants).
    model : DegreeModel, optional
        Label distributions and kernels; default ``DegreeModel.homogeneous()``. A spatial
        model (``DegreeModel.spatial``) is solved by ``meanfield.spatial.solve_spatial``,
        which returns a ``SpatialResult`` (``filter``, ``tol``, ``initial``, ``maxiter``
        are passed on; the other options do not apply).
    N : int, optional
        Network size, >= 10; default ``params.N``. The balanced scaling keeps j, p, q.
    method : {"auto", "newton", "relaxation", "continuation", "newton_krylov"}
        Root-finding method (``meanfield.roots.METHODS``). "newton", "relaxation",
        "newton_krylov": that method from the warm start (if any), then from the balanced
        limit. "continuation": continuation in N from the balanced limit at N = 10^3
        (a single stage when N <= 10^3). "auto" (default): Newton from each start, then
        relaxation from each start, then (N > 10^3) continuation.
    filter : {"auto", "white", "fourcaud_brunel", "colored"}
        Synaptic filtering of the transfer function. "white": diffusion (delta-synapse)
        rate. "fourcaud_brunel" (LIF only): thresholds shifted by
        :math:`\sigma(\alpha/2)\sqrt{\tau_s/\tau_m}` with :math:`\tau_s` the
        variance-weighted mean of :math:`\tau_E, \tau_I, \tau_X` at each label (each
        source's share of :math:`\sigma^2`; docs/theory.md appendix A). "colored" (LIF and
        EIF): ``meanfield.colored_rate`` (filtered noise, docs/theory.md section 9) with the
        effective :math:`\tau_s` and noise factor of the moments rule (match Var V and
        Var dV/dt of the three sources, ``meanfield.effective_filter``; reported as
        ``tau_s`` and ``sigma_scale``). "auto" (default): "colored" wherever a synaptic
        time constant is > 0, else "white". Measured against spiking networks at N = 10^4
        (``benchmarks/validate_network_accuracy.py``): with ``spread=True`` the population
        rates are -0.3 ... +1.0 % off the simulation for both presets in Cases A
        (homogeneous), B and C (+2.4 ... +3.6 % with Poisson input, ``fano="poisson"``),
        against -6 % ... +11.5 % for the old "auto" (Fourcaud-Brunel LIF, white EIF). A
        neuron without a shipped or cached table builds one on first use (about 2 minutes
        on 2 cores, with a progress bar; ``meanfield.colored``).
    n_nodes : int, optional
        Quadrature nodes per population (default ``model.n_nodes``), >= 1.
    tol : float
        Relative residual :math:`\max|F|/\max|G|` of the moment equations, > 0
        (default 1e-9).
    maxiter : int, optional
        Iterations per attempt (one method from one start point; per continuation stage),
        >= 1. Default: each method's own (``meanfield.roots.DEFAULT_MAXITER``: 60 for
        Newton, 500 pseudo-time steps for relaxation).
    strict : bool
        Raise ``ConvergenceError`` (with the result attached) if not converged.
    silent_rate : float
        Hz, >= 0: labels below it count as silent (default ``SILENT_RATE`` = 0.1 Hz).
    saturated_rate : float, optional
        Hz, > 0: labels above it count as saturated; default ``SATURATED_FRACTION`` /
        tau_ref of each population (half the maximal rate).
    initial : MeanFieldResult, optional
        Warm start (its ``moments``, used when the grid matches).
    time_budget : float
        Wall-time limit, s, over all stages of the solve (a colored-rate table built on
        first use of a neuron model is not counted).
    n : int, optional
        Deprecated name of ``n_nodes`` (DeprecationWarning).
    spread : bool
        Include the spread of mean input within a label (docs/theory.md section 10):
        a neuron of label t has the mean input :math:`\mu(t) + \sigma_q(t) z`,
        :math:`z \sim N(0, 1)` frozen per neuron, with :math:`\sigma_q^2` from the
        binomial in-degrees (``graphs.sample_network``: Bernoulli connections, binomial
        external in-degree) and the second moments of the presynaptic rates, solved
        self-consistently with the label means :math:`E_z[\Phi]`; with it, ``fano``
        defaults to the self-consistent sub-Poisson factor. Default False: one rate per
        label and Poisson input, exactly the solver of before issue 10.
    fano : None, "renewal", "poisson" or (float, float)
        Variance factors :math:`(F_E, F_I)` of the presynaptic spike trains: source b's
        share of :math:`\sigma^2` (and of the within-label noise slope) is
        :math:`F_b \tau_m J_{ab}^2 K_{ab} E[m_{ab} r_b]` instead of the Poisson value
        (external input stays Poisson; docs/theory.md section 10, eqs. 10.5-10.7).
        "renewal": :math:`F_b` is the rate-weighted ISI :math:`CV^2` of population b
        predicted by the solution itself (``meanfield.renewal.population_fano``: each
        (label, z) node's :math:`CV^2` is that of the white-noise neuron with the same
        sigma and the same rate), iterated to a fixed point (``FANO_TOL`` = 1e-4, at most
        ``FANO_MAXITER`` = 12 warm-started solves; not reaching it is reported in
        ``status``/``message``). "poisson" or 1: Poisson trains. Numbers in (0, 10]: fixed
        factors (e.g. measured ones). Default None: with ``spread=True`` "renewal" where
        the rule predicts sub-Poisson trains at the Poisson solution (F <= 1 for both
        populations, the range it was validated in), else Poisson input with a note in
        ``message`` (super-Poisson predictions, e.g. ``brunel_lif``: F about 1.5, feed back
        positively and are not validated); without spread "poisson" (``spread=False`` is
        the solver of before issue 10, unchanged). An explicit "renewal" tries any
        prediction up to F = 2 and reports larger ones as not converged.
        Measured at N = 10^4 (``akil2021``, ``akil2021_lif``; homogeneous, Cases B and C;
        benchmarks/README_colored.md section 6): with ``spread=True`` and "renewal" the
        population rates are within -0.3 ... +1.0 % of the simulation, the no-spike
        fraction of E within 0.034 and all 192 judged label bins within their bars;
        with "poisson", +2.4 ... +3.6 %, 0.108 and 186/192. The factor used is
        ``result.fano`` (``result.fano_rule`` says which rule).
    spread_nodes : int
        Gauss-Hermite nodes of the z-average with ``spread=True``, in [2, 200] (default
        ``SPREAD_NODES`` = 32). Measured on the presets (Case B): label rates within 1e-10
        of 96 nodes (Fourcaud-Brunel LIF; white EIF through its spline table 1e-8); with
        ``filter="colored"``, whose table is a C1 interpolation, label rates within 2e-4
        and population means within 2e-6.

    Returns
    -------
    MeanFieldResult

    Raises
    ------
    TypeError
        ``params``/``model`` of the wrong type.
    ValueError
        N < 10, an unknown ``method`` or ``filter``, "fourcaud_brunel" with an EIF
        population, a kernel or external in-degree factor that makes :math:`p m` leave
        [0, 1] on the grid.
    ConvergenceError
        Only with ``strict=True``, when the solver did not converge (every way of not
        converging: iteration limit, stall, failed line search, failed fallbacks, the
        time budget).

    Warns
    -----
    RegimeWarning
        Where an approximation is used outside the range it was validated in
        (``meanfield.regime``): tau_s/tau_m above 1 with the filtered-noise transfer, a
        single synapse kicking V by more than 0.2 of theta - V_r, or fewer than 50 input
        spikes per membrane time constant.

    Notes
    -----
    Unknowns: the moments :math:`G = B r` (``meanfield._moments.LabelGrid``); the map
    :math:`F(G) = B\,\Phi(\mu(G), \sigma(G); \tau_s(G)) - G` has the Jacobian

    .. math:: \partial F/\partial G = B\,[\Phi_\mu C_\mu + \Phi_\sigma C_{\sigma^2}/(2\sigma)
              + \Phi_{\tau}\,\partial\tau_s/\partial G] - I,

    with :math:`\Phi_\mu, \Phi_\sigma` from ``meanfield.transfer`` (analytic for the
    LIF, a forward difference of the threshold integration for the EIF). Convergence is
    declared when the relative residual, re-evaluated at the returned moments, is below
    ``tol`` (``converged`` and ``residual`` always agree; ``status`` says why a solve
    stopped); the rates returned are :math:`\Phi` at the final moments, so they are
    self-consistent to that residual.
    Cost: per Newton step one batched transfer evaluation on 2n labels (3 x 2n for the
    EIF) and an m x m solve; m = 2-4 for the low-rank models of docs/theory.md section 7.

    References: Pyle & Rosenbaum, PRE 93, 040302 (2016); Brunel, J. Comput. Neurosci. 8,
    183 (2000); Fourcaud & Brunel, Neural Comput. 14, 2057 (2002).

    Examples
    --------
    >>> from meanfield import NetworkParams
    >>> res = solve(NetworkParams.preset("lif_benchmark"))
    >>> res.filter, round(float(res.mean_rate[0]), 3), round(float(res.mu[0, 0]), 3)
    (('colored', 'colored'), 5.792, 6.833)
    """
    t_start = time.perf_counter()
    from .spatial import SpatialModel, solve_spatial    # spatial models: docs/theory.md section 12
    if isinstance(model, SpatialModel):
        return solve_spatial(params, model, N, filter=filter, tol=tol, initial=initial,
                             maxiter=maxiter or 200)
    params = params_at_size(params, N)
    model = resolve_model(model)
    method = roots.check_method(method, SOLVE_METHODS)
    maxiter, silent_rate, saturated_rate = check_solver_options(
        tol, maxiter, silent_rate, saturated_rate, time_budget)
    filters = resolve_filter(params, filter)
    n_nodes = renamed_keyword("n_nodes", n_nodes, "n", n)
    grid = LabelGrid(params, model, n_nodes)
    nn = grid.n
    transfer = PopulationTransfer(params, filters, (np.arange(nn), np.arange(nn, 2 * nn)))
    deadline = time.perf_counter() + time_budget   # after any colored-rate table build
    if not isinstance(spread, (bool, np.bool_)):
        raise TypeError(f"spread = {spread!r} must be a bool (True or False)")
    if spread:
        spread_nodes = check_int("spread_nodes", spread_nodes, lo=2, hi=200)
    fano_rule, fano = _check_fano(fano, spread)

    r_lp, _, _, _, ok = _solve_lp(grid, params)
    G_bal = grid.B @ r_lp if ok else None
    opts = dict(tol=tol, maxiter=maxiter, deadline=deadline)

    fmap_poisson = _MomentMap(grid, params, transfer)

    def solve_at(F, warm, resume=False):
        """Solve at variance factors F.

        ``resume``: from ``warm`` by Newton alone (the fixed-point iteration on F), with
        spread the spread system only.
        """
        fmap = fmap_poisson.with_fano(F)
        how = "newton" if resume else method
        if resume and spread:
            root = RootResult(x=np.array(warm.moments, float), success=True, status=CONVERGED,
                              message="resumed", method="warm start")
        else:
            starts = []
            if warm is not None and isinstance(warm, MeanFieldResult) \
                    and warm.moments.shape == (grid.m,) and warm.rate.shape == (2, nn):
                starts.append(("warm start", np.array(warm.moments, float)))
            if ok:
                starts.append(("balanced limit", G_bal))
            root = _find_root(fmap, _homotopy(grid, params, transfer, F), starts, G_bal, how,
                              opts)
        smap = None
        if spread:
            smap, root = _find_spread_root(fmap, root, warm, spread_nodes, how, opts)
        res = _assemble(fmap, root, tol, silent_rate, saturated_rate, model.name, filters,
                        time.perf_counter() - t_start, smap)
        return res, (smap, root)

    result, last = solve_at(fano, initial)
    if fano_rule in ("auto", "renewal") and result.converged:
        result = _renewal(fano_rule, result, last, solve_at, spread, tol, opts, silent_rate,
                          saturated_rate, model.name, filters, t_start)
    else:
        result = replace(result, fano=np.array(fano, float),
                         fano_rule="poisson" if fano_rule == "auto" else fano_rule)
    if strict and not result.converged:
        raise ConvergenceError(f"solve(N = {params.N}, model = {model.name!r}) did not converge: "
                               f"{result.message}", result)
    warn_regime(params, filters, result.tau_s,
                result.mean_rate if np.all(np.isfinite(result.rate)) else None)
    return result


def _renewal(rule, result, last, solve_at, spread, tol, opts, silent_rate, saturated_rate,
             model_name, filters, t_start):
    """Return the solution with the sub-Poisson factor, from the Poisson ``result``.

    ``rule`` is "auto" or "renewal".

    "auto" (the default with spread) keeps Poisson input, with a note, where the rule
    predicts super-Poisson trains (F > 1 at the Poisson solution: outside the range it was
    validated in, and a positive feedback, more variance giving more irregular trains).
    "renewal" tries any prediction up to ``FANO_RANGE[1]``.
    """
    F0 = _predicted_fano(result, *last)
    if rule == "auto" and np.any(F0 > 1.0):
        return replace(result, fano=np.ones(2), fano_rule="poisson",
                       message=result.message + f"; Poisson input kept: the renewal rule "
                       f"predicts super-Poisson trains here (F = ({F0[0]:.3g}, {F0[1]:.3g}) at "
                       f"the Poisson solution), outside its validated range F <= 1 "
                       f"(fano=\"renewal\" forces it)")
    if np.any(F0 > FANO_RANGE[1]):
        return replace(result, status=DOMAIN, fano=np.ones(2), fano_rule="renewal",
                       message=result.message + f"; sub-Poisson factor: the renewal rule "
                       f"predicts F = ({F0[0]:.3g}, {F0[1]:.3g}) at the Poisson solution, "
                       f"beyond {FANO_RANGE[1]:g} (CV^2 > 2: noise-dominated firing, outside "
                       f"the rule's validated range); the returned rates are the Poisson "
                       f"ones. Pass fano=\"poisson\" or measured factors")
    if spread:
        aug = _renewal_newton(last, F0, tol, opts, silent_rate, saturated_rate, model_name,
                              filters, t_start)
        if aug is not None:
            return aug
    return _renewal_fixed_point(solve_at, result, last, opts["deadline"])


def _renewal_newton(last, F0, tol, opts, silent_rate, saturated_rate, model_name, filters,
                    t_start):
    """F and the spread system together by Newton (``_RenewalSpreadMap``); None if it fails.

    Starts from the Poisson solution ``last`` with ``F0``, the F predicted there. The
    caller then falls back to ``_renewal_fixed_point``.
    """
    smap, root = last
    aug = _RenewalSpreadMap(smap, tol)
    y0 = np.asarray(root.x, float)
    F0 = np.clip(F0, FANO_RANGE[0], FANO_RANGE[1])
    start = np.concatenate([y0, F0])
    sol = roots.attempt(aug.problem(), [("Poisson solution, F predicted there", start)],
                        ("newton",), **opts)
    if not sol.success:
        return None
    y, F = aug.split(np.asarray(sol.x, float))
    sm = aug.at(F)
    sroot = replace(sol, x=y, nfev=sol.nfev + root.nfev, njev=sol.njev + root.njev,
                    nit=sol.nit + root.nit,
                    message=f"{root.message}; with the sub-Poisson factor: {sol.message}")
    res = _assemble(sm.base, sroot, tol, silent_rate, saturated_rate, model_name, filters,
                    time.perf_counter() - t_start, sm)
    g = float(np.max(np.abs(_predicted_fano(res, sm, sroot) - F)))
    if not res.converged or g > FANO_TOL:
        return None
    return replace(res, fano=F, fano_rule="renewal",
                   message=res.message + f"; sub-Poisson factor F = ({F[0]:.4g}, {F[1]:.4g}) "
                   f"self-consistent (renewal rule, |F_pred - F| = {g:.1e})")


def _renewal_fixed_point(solve_at, result, last, deadline):
    r"""Iterate :math:`F \to F_{pred}(\text{solve}(F))` to a fixed point (``fano="renewal"``).

    :math:`F_{pred}` is ``meanfield.renewal.fano_from_nodes`` on the solver's own nodes
    (labels x Gauss-Hermite z; without spread the labels). A plain step, then secant steps
    per population on :math:`g(F) = F_{pred}(F) - F`; converged when
    :math:`\max_b |g_b| \le` ``FANO_TOL``. Each solve resumes from the previous solution.
    A fixed point not reached within ``FANO_MAXITER`` solves (or the time budget) sets
    status ``MAXITER`` (``DEADLINE``) with a message.
    """
    F = np.ones(2)
    F_prev = g_prev = None
    converged = False
    for it in range(FANO_MAXITER):
        if not result.converged:
            break
        F_pred = _predicted_fano(result, *last)
        g = F_pred - F
        if np.max(np.abs(g)) <= FANO_TOL:
            converged = True
            break
        if time.perf_counter() > deadline or np.any(F_pred > FANO_RANGE[1]):
            break
        if g_prev is None:
            F_new = F_pred
        else:
            dF = F - F_prev
            slope = (g - g_prev) / np.where(dF != 0, dF, 1.0)
            use = (dF != 0) & (slope < -1e-3)
            F_new = np.where(use, F - g / np.where(use, slope, -1.0), F_pred)
        F_prev, g_prev = F, g
        F = np.clip(F_new, FANO_RANGE[0], FANO_RANGE[1])
        result, last = solve_at((float(F[0]), float(F[1])), result, resume=True)
    result = replace(result, fano=F, fano_rule="renewal")
    if converged or not result.converged:
        note = (f"; sub-Poisson factor F = ({F[0]:.4g}, {F[1]:.4g}) self-consistent "
                f"(renewal rule, {it + 1} solves)") if converged else ""
        return replace(result, message=result.message + note)
    status = DEADLINE if time.perf_counter() > deadline else MAXITER
    why = (f"the renewal rule predicts F = ({F_pred[0]:.3g}, {F_pred[1]:.3g}), beyond "
           f"{FANO_RANGE[1]:g} (CV^2 > 2: noise-dominated firing, outside the rule's validated "
           f"range); pass fano=\"poisson\" or measured factors") \
        if np.any(F_pred > FANO_RANGE[1]) else \
        f"max |F_pred - F| = {np.max(np.abs(g)):.2e} > {FANO_TOL}"
    return replace(result, status=status,
                   message=result.message + f"; sub-Poisson factor F not self-consistent after "
                   f"{it + 1} solves ({why})")


def _predicted_fano(result, smap, root) -> np.ndarray:
    """``fano_from_nodes`` at the solver's nodes (spread) or labels (no spread)."""
    from .renewal import fano_from_nodes

    n = result.rate.shape[1]
    if smap is None:
        return fano_from_nodes(result.params.neurons, result.weights, np.ones(1),
                               result.rate[..., None],
                               (result.sigma * result.sigma_scale)[..., None])
    _, _, parts = smap(np.asarray(root.x, float))
    nz = smap.z.size

    def nodes(x):
        return np.moveaxis(np.asarray(x).reshape(nz, 2, n), 0, -1)
    return fano_from_nodes(result.params.neurons, result.weights, smap.wz,
                           nodes(parts["phi"]), nodes(parts["sigma_eff"]))


def _check_fano(fano, spread: bool) -> tuple:
    """Return (rule, (F_E, F_I)): rule "poisson", "fixed" or "renewal" (F then starts at 1).

    None: "auto" with spread (``_renewal``), "poisson" without.
    """
    if fano is None:
        if spread:
            return "auto", (1.0, 1.0)
        fano = 1.0
    if isinstance(fano, str):
        if fano == "renewal":
            return "renewal", (1.0, 1.0)
        if fano == "poisson":
            return "poisson", (1.0, 1.0)
        raise ParameterError(f"fano = {fano!r}; allowed: None, \"renewal\", \"poisson\" or "
                             f"(F_E, F_I), numbers in (0, 10]", field="fano")
    try:
        v = np.broadcast_to(np.asarray(fano, dtype=float), (2,))
    except (TypeError, ValueError):
        raise ParameterError(f"fano = {fano!r}; allowed: None, \"renewal\", \"poisson\" or "
                             f"(F_E, F_I), numbers in (0, 10]", field="fano") from None
    if isinstance(fano, bool) or not np.all((v > 0) & (v <= FANO_MAX)):
        raise ParameterError(f"fano = {fano!r} is out of range; allowed: None, \"renewal\", "
                             f"\"poisson\" or (F_E, F_I), numbers in (0, 10] (1: Poisson)",
                             field="fano")
    rule = "poisson" if np.all(v == 1.0) else "fixed"
    return rule, (float(v[0]), float(v[1]))


def _find_root(fmap, homotopy, starts, G_bal, method, opts) -> RootResult:
    """Run ``method`` ("auto": Newton, relaxation, then continuation) on the moment map."""
    if method == "continuation":
        starts = [] if G_bal is None else [("balanced limit", G_bal)]
    if not starts:
        return RootResult(x=np.zeros(fmap.grid.m), success=False, status=NO_START,
                          message="no valid start point (the balanced-limit linear program "
                                  "failed)", method="none")
    problem = fmap.problem(homotopy)
    if method == "continuation":
        return roots.continuation(problem, G_bal, **opts)
    if method != "auto":
        return roots.attempt(problem, starts, (method,), **opts)
    root = roots.attempt(problem, starts, ("newton", "relaxation"), **opts)
    if root.success or fmap.params.N <= _CONTINUATION_START or G_bal is None:
        return root
    cont = roots.continuation(problem, G_bal, **opts)
    counts = dict(nfev=root.nfev + cont.nfev, njev=root.njev + cont.njev, nit=root.nit + cont.nit)
    if cont.success:
        return replace(cont, **counts)
    return replace(root, status=DEADLINE if cont.status == DEADLINE else FALLBACKS_FAILED,
                   message=f"{root.message}; continuation: {cont.message}", **counts)


def _find_spread_root(fmap, root0, initial, n_z, method, opts):
    r"""(``_SpreadMap``, ``RootResult`` over [G, H/h]) started from the solution without spread.

    Start points: a warm start with spread (when its shapes match), then the moments G of
    ``root0`` with second moments :math:`B_2 r^2` (no spread). "auto": Newton, then
    relaxation, then continuation in the spread scale :math:`\lambda` (sigma_q^2 times
    0.25, 0.5, 0.75, 1); an explicit ``method`` is used alone.
    """
    z_nodes = gauss_hermite(n_z)
    G0 = np.array(root0.x, float)
    h = max(float(np.max(np.abs(G0))), 1e-3) if np.all(np.isfinite(G0)) else 1.0
    smap = _SpreadMap(fmap, z_nodes, h, 1.0, _NOISE_SLOPE)
    _, _, r0 = fmap(G0)
    if r0 is None:
        y0 = smap.join(G0, np.zeros(smap.m2))
        return smap, replace(root0, x=y0, success=False,
                             status=root0.status if not root0.success else NO_START,
                             message=f"{root0.message}; spread: no valid start point (the "
                                     f"solution without spread is outside the domain)")
    y0 = smap.join(G0, smap.B2 @ (r0 * r0))
    starts = []
    if isinstance(initial, MeanFieldResult) and initial.spread \
            and initial.moments.shape == (fmap.grid.m,) \
            and initial.second_moments.shape == (smap.m2,):
        starts.append(("warm start", smap.join(initial.moments, initial.second_moments)))
    starts.append(("solution without spread", y0))
    problem = smap.problem(_spread_homotopy(fmap, z_nodes, h))
    counts = dict(nfev=root0.nfev, njev=root0.njev, nit=root0.nit)
    if method == "continuation":
        root = roots.continuation(problem, y0, **opts)
    elif method != "auto":
        root = roots.attempt(problem, starts, (method,), **opts)
    else:
        root = roots.attempt(problem, starts, ("newton", "relaxation"), **opts)
        if not root.success:
            cont = roots.continuation(problem, y0, **opts)
            if cont.success:
                root = replace(cont, nfev=root.nfev + cont.nfev, njev=root.njev + cont.njev,
                               nit=root.nit + cont.nit)
            else:
                root = replace(root, message=f"{root.message}; continuation: {cont.message}",
                               status=DEADLINE if cont.status == DEADLINE else FALLBACKS_FAILED,
                               nfev=root.nfev + cont.nfev, njev=root.njev + cont.njev,
                               nit=root.nit + cont.nit)
    root = replace(root, message=f"without spread: {root0.message}; with spread "
                                 f"({n_z} Gauss-Hermite nodes): {root.message}",
                   nfev=root.nfev + counts["nfev"], njev=root.njev + counts["njev"],
                   nit=root.nit + counts["nit"])
    return smap, root


# =============================================================================== result
def _assemble(fmap, root, tol, silent_rate, saturated_rate, model_name, filters, wall_time,
              smap=None):
    """Build the ``MeanFieldResult`` at the root's moments, judged by the residual there."""
    if smap is not None:
        return _assemble_spread(fmap, smap, root, tol, silent_rate, saturated_rate,
                                model_name, filters, wall_time)
    nn = fmap.grid.n
    G = root.x
    mu, sigma, tau, var_src, mu_src, var, filt = fmap.inputs(G)
    F, _, r = fmap(G)
    if F is None:
        rate = np.full(2 * nn, np.nan)
        residual = np.inf
        root = replace(root, message=root.message + "; final moments outside the domain")
    else:
        rate = r
        residual = relative_residual(F, G)
    status, message = roots.judge(root, residual, tol, "the returned moments")
    return _result(fmap, G, root, rate, mu, sigma, tau, mu_src, status, residual, message,
                   silent_rate, saturated_rate, model_name, filters, wall_time,
                   sigma_scale=filt[0])


def _assemble_spread(fmap, smap, root, tol, silent_rate, saturated_rate, model_name, filters,
                     wall_time):
    """``_assemble`` for ``spread=True``: label means and second moments over z."""
    nn = fmap.grid.n
    y = np.array(root.x, float)
    G, H = smap.split(y)
    mu, sigma, tau, var_src, mu_src, var, filt = fmap.inputs(G)
    F, _, parts = smap(y)
    if F is None:
        rate = rate_sq = s = slope = np.full(2 * nn, np.nan)
        residual = np.inf
        root = replace(root, message=root.message + "; final moments outside the domain")
    else:
        rate, rate_sq, s, slope = parts["r"], parts["q"], parts["s"], parts["slope"]
        residual = smap.residual(F, y)
    status, message = roots.judge(root, residual, tol, "the returned moments")
    shape = (2, nn)
    rate_sq, s, slope = (x.reshape(shape) for x in (rate_sq, s, slope))
    return _result(fmap, G, root, rate, mu, sigma, tau, mu_src, status, residual, message,
                   silent_rate, saturated_rate, model_name, filters, wall_time,
                   sigma_scale=filt[0], spread=True, sigma_q=s, noise_slope=slope, rate_sq=rate_sq,
                   quenched_variance=_by_source(smap.source_variances(H), nn),
                   second_moments=np.array(H, float), spread_nodes=int(smap.z.size))


def _by_source(x, nn):
    """Reshape a flat (3 * 2 * nn) per-source array to (2, nn, 3): population, label, source."""
    return np.ascontiguousarray(np.moveaxis(np.asarray(x).reshape(3, 2, nn), 0, -1))


def _result(fmap, G, root, rate, mu, sigma, tau, mu_src, status, residual, message,
            silent_rate, saturated_rate, model_name, filters, wall_time, sigma_scale,
            **spread_fields):
    """Build the ``MeanFieldResult`` of both assembly paths (flat per-label arrays reshaped)."""
    grid, params = fmap.grid, fmap.params
    spread_fields["sigma_scale"] = np.asarray(sigma_scale, float).reshape(2, grid.n)
    rate, mu, sigma, tau = (np.asarray(x).reshape(2, grid.n) for x in (rate, mu, sigma, tau))
    return MeanFieldResult(
        rate=rate, mu=mu, sigma=sigma, tau_s=tau, mean_input=_by_source(mu_src, grid.n),
        t=grid.t, weights=grid.weights, label=grid.coord, kin=grid.kin, kout=grid.kout,
        silent_rate=float(silent_rate),
        saturated_rate=saturation_threshold(params.neurons, saturated_rate),
        status=int(status), residual=float(residual), iterations=int(root.nit),
        nfev=int(root.nfev), method=root.method, message=message, N=params.N, params=params,
        model_name=model_name, filter=tuple(filters), moments=np.array(G, float),
        wall_time=float(wall_time), **spread_fields)

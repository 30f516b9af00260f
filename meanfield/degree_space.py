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

The methods live in ``meanfield.roots`` (``METHODS``: "newton", "relaxation",
"continuation", "newton_krylov"); ``solve(..., method=...)`` picks one, and the default
"auto" is the strategy above. A result that did not converge says so
(``converged=False``, a ``status`` code from ``meanfield.roots`` and a message) or, with
``strict=True``, raises ``ConvergenceError``. The result type is ``MeanFieldResult``
(``meanfield.result``), re-exported here.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np

from . import roots
from ._moments import LabelGrid
from ._phi import PopulationTransfer, resolve_filter
from .checks import check_int, check_nonnegative, check_positive, renamed_keyword
from .degree import DegreeModel, resolve_model
from .diagnostics import SATURATED_FRACTION, SILENT_RATE, saturation_threshold
from .errors import ConvergenceError
from .feasibility import _solve_lp
from .params import NetworkParams, params_at_size
from .result import MeanFieldResult
from .roots import (DEADLINE, FALLBACKS_FAILED, NO_START, Homotopy, RootProblem, RootResult,
                    relative_residual)

__all__ = ["solve", "MeanFieldResult", "SOLVE_METHODS", "SILENT_RATE", "SATURATED_FRACTION"]

SOLVE_METHODS = ("auto", "newton", "relaxation", "continuation", "newton_krylov")
"""Allowed ``method`` values of ``solve``: "auto" and the names in ``meanfield.roots.METHODS``."""

_TOL = 1e-9
_CONTINUATION_START = 1000


# =============================================================================== the map
class _MomentMap:
    """F(G) = B Phi(mu(G), sigma(G)) - G and its Jacobian on one label grid at one N."""

    def __init__(self, grid: LabelGrid, params: NetworkParams, transfer: PopulationTransfer):
        self.grid = grid
        self.params = params
        self.transfer = transfer
        c = grid.coefficients(params)
        self.Cmu, self.Csig = c["Cmu"], c["Csig"]
        self.Cmu_tot = self.Cmu[0] + self.Cmu[1]
        self.Csig_tot = self.Csig[0] + self.Csig[1]
        self.mu_X, self.var_X, self.E_L, self.tau_m = c["mu_X"], c["var_X"], c["E_L"], c["tau_m"]
        self.B = grid.B

    def inputs(self, G):
        """Return mu (2n,), sigma (2n,), tau_s (2n,), var_src (3, 2n), mu_src (3, 2n)."""
        mu_src = np.stack([self.Cmu[0] @ G, self.Cmu[1] @ G, self.mu_X])
        var_src = np.stack([self.Csig[0] @ G, self.Csig[1] @ G, self.var_X])
        mu = self.E_L + mu_src.sum(axis=0)
        var = var_src.sum(axis=0)
        tau = self.transfer.tau_s(var_src, var) if self.transfer.uses_filter() else np.zeros_like(var)
        return mu, np.sqrt(np.maximum(var, 0.0)), tau, var_src, mu_src, var

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
        mu, sigma, tau, var_src, _, var = self.inputs(G)
        if not np.all(np.isfinite(mu)) or np.any(var < 0) or not np.all(np.isfinite(var)):
            return None, None, None
        r, r_mu, r_sig, r_tau = self.transfer.evaluate(mu, sigma, tau, derivatives=jacobian)
        if not np.all(np.isfinite(r)):
            return None, None, None
        F = self.B @ r - G
        if not jacobian:
            return F, None, r
        sig = np.maximum(sigma, 1e-300)
        D = r_mu[:, None] * self.Cmu_tot + (r_sig / (2.0 * sig))[:, None] * self.Csig_tot
        if self.transfer.uses_filter():
            tau_syn = self.transfer.tau_syn
            safe = np.where(var > 0, var, 1.0)
            dtau = sum(((tau_syn[b] - tau) / safe)[:, None] * self.Csig[b] for b in (0, 1))
            D = D + r_tau[:, None] * dtau
        Jac = self.B @ D - np.eye(G.size)
        return F, Jac, r


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


def _homotopy(grid, params, transfer) -> Homotopy:
    """Continuation in N: 10^3 ... params.N with factors <= 2 (just params.N if <= 10^3)."""
    N_target = params.N
    if N_target > _CONTINUATION_START:
        steps = max(2, int(math.ceil(math.log2(N_target / _CONTINUATION_START))) + 1)
        Ns = [int(x) for x in
              np.unique(np.round(np.geomspace(_CONTINUATION_START, N_target, steps)))]
    else:
        Ns = [N_target]
    return Homotopy(stages=tuple(Ns),
                    problem_at=lambda N: _MomentMap(grid, params.with_N(N), transfer).problem(),
                    refine=_refine, predict=_predict, label="N", start_name="balanced limit")


# =============================================================================== solve
def solve(params: NetworkParams, model: DegreeModel | None = None, N: int | None = None, *,
          method: str = "auto", filter: str = "auto", n_nodes: int | None = None,
          tol: float = _TOL, maxiter: int | None = None, strict: bool = False,
          silent_rate: float = SILENT_RATE, saturated_rate: float | None = None,
          initial=None, time_budget: float = 120.0, n: int | None = None) -> MeanFieldResult:
    r"""Self-consistent rates of every degree label at finite N (degree space).

    Parameters
    ----------
    params : NetworkParams
        Network parameters (j, p, q, neurons, r_X, synaptic time constants).
    model : DegreeModel, optional
        Label distributions and kernels; default ``DegreeModel.homogeneous()``.
    N : int, optional
        Network size, >= 10; default ``params.N``. The balanced scaling keeps j, p, q.
    method : {"auto", "newton", "relaxation", "continuation", "newton_krylov"}
        Root-finding method (``meanfield.roots.METHODS``). "newton", "relaxation",
        "newton_krylov": that method from the warm start (if any), then from the balanced
        limit. "continuation": continuation in N from the balanced limit at N = 10^3
        (a single stage when N <= 10^3). "auto" (default): Newton from each start, then
        relaxation from each start, then (N > 10^3) continuation.
    filter : {"auto", "white", "fourcaud_brunel"}
        Synaptic filtering of the transfer function. "white": diffusion (delta-synapse)
        rate. "fourcaud_brunel" (LIF only): thresholds shifted by
        :math:`\sigma(\alpha/2)\sqrt{\tau_s/\tau_m}` with :math:`\tau_s` the
        variance-weighted mean of :math:`\tau_E, \tau_I, \tau_X` at each label (each
        source's share of :math:`\sigma^2`; docs/theory.md appendix A). "auto" (default):
        "fourcaud_brunel" for LIF populations with any synaptic time constant > 0, "white"
        for EIF populations.
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
        Wall-time limit, s, over all stages.
    n : int, optional
        Deprecated name of ``n_nodes`` (DeprecationWarning).

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
    >>> round(float(res.mean_rate[0]), 3), round(float(res.mu[0, 0]), 3)
    (5.722, 7.112)
    """
    t_start = time.perf_counter()
    params = params_at_size(params, N)
    model = resolve_model(model)
    method = roots.check_method(method, SOLVE_METHODS)
    check_positive("tol", tol)
    if maxiter is not None:
        maxiter = check_int("maxiter", maxiter, lo=1)
    silent_rate = check_nonnegative("silent_rate", silent_rate, unit="Hz")
    if saturated_rate is not None:
        saturated_rate = check_positive("saturated_rate", saturated_rate, unit="Hz")
    check_positive("time_budget", time_budget, unit="s")
    filters = resolve_filter(params, filter)
    n_nodes = renamed_keyword("n_nodes", n_nodes, "n", n)
    grid = LabelGrid(params, model, n_nodes)
    nn = grid.n
    transfer = PopulationTransfer(params, filters, (np.arange(nn), np.arange(nn, 2 * nn)))
    deadline = t_start + time_budget

    starts = []
    if initial is not None and isinstance(initial, MeanFieldResult) \
            and initial.moments.shape == (grid.m,) and initial.rate.shape == (2, nn):
        starts.append(("warm start", np.array(initial.moments, float)))
    r_lp, _, _, _, ok = _solve_lp(grid, params)
    G_bal = grid.B @ r_lp if ok else None
    if ok:
        starts.append(("balanced limit", G_bal))
    fmap = _MomentMap(grid, params, transfer)
    root = _find_root(fmap, _homotopy(grid, params, transfer), starts, G_bal, method,
                      dict(tol=tol, maxiter=maxiter, deadline=deadline))
    result = _assemble(fmap, root, tol, silent_rate, saturated_rate, model.name, filters,
                       time.perf_counter() - t_start)
    if strict and not result.converged:
        raise ConvergenceError(f"solve(N = {params.N}, model = {model.name!r}) did not converge: "
                               f"{result.message}", result)
    return result


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


# =============================================================================== result
def _assemble(fmap, root, tol, silent_rate, saturated_rate, model_name, filters, wall_time):
    """Build the ``MeanFieldResult`` at the root's moments, judged by the residual there."""
    grid, params = fmap.grid, fmap.params
    nn = grid.n
    G = root.x
    mu, sigma, tau, var_src, mu_src, var = fmap.inputs(G)
    F, _, r = fmap(G)
    if F is None:
        rate = np.full(2 * nn, np.nan)
        residual = np.inf
        root = replace(root, message=root.message + "; final moments outside the domain")
    else:
        rate = r
        residual = relative_residual(F, G)
    status, message = roots.judge(root, residual, tol, "the returned moments")
    shape = (2, nn)
    rate, mu, sigma, tau = (x.reshape(shape) for x in (rate, mu, sigma, tau))
    mean_input = np.ascontiguousarray(np.moveaxis(mu_src.reshape(3, 2, nn), 0, -1))
    return MeanFieldResult(
        rate=rate, mu=mu, sigma=sigma, tau_s=tau, mean_input=mean_input, t=grid.t,
        weights=grid.weights, label=grid.coord, kin=grid.kin, kout=grid.kout,
        silent_rate=float(silent_rate),
        saturated_rate=saturation_threshold(params.neurons, saturated_rate),
        status=int(status), residual=float(residual), iterations=int(root.nit),
        nfev=int(root.nfev), method=root.method, message=message, N=params.N, params=params,
        model_name=model_name, filter=tuple(filters), moments=np.array(G, float),
        wall_time=float(wall_time))

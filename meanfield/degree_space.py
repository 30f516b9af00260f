"""Degree-space self-consistency of a heterogeneous balanced network at finite N.

``solve(params, model, N)`` finds the rates :math:`r_a(t)` of every degree label t in
both populations such that (docs/theory.md sections 4 and 6)

.. math::
    r_a(t) = \\Phi_a\\big(\\mu_a(t), \\sigma_a(t)\\big),\\qquad
    \\mu_a(t) = E_L + \\tau_m\\Big[\\sum_b J_{ab}K_{ab}\\,E_{t'}[m_{ab}(t,t')r_b(t')]
                + J_{aX}K_{aX}\\,k^{in}_{aX}(t)\\,r_X\\Big],

    \\sigma_a(t)^2 = \\tau_m\\Big[\\sum_b J_{ab}^2K_{ab}\\,E_{t'}[m_{ab}(t,t')r_b(t')]
                + J_{aX}^2K_{aX}\\,k^{in}_{aX}(t)\\,r_X\\Big],

and reports the balance diagnostics of docs/theory.md section 6. Because :math:`J K \\propto
\\sqrt N`, the map is stiff: plain iteration diverges at large N. The solver therefore

1. reduces the unknowns to the moments :math:`G = B r` the kernels need (for a low-rank
   kernel :math:`m = \\sum_r c_r f_r(t) g_r(t')` the few numbers
   :math:`E_{t'}[g_r(t') r_b(t')]`; otherwise the rates on the grid);
2. starts from the balanced limit: the non-negative profile that best satisfies
   condition (B) (``balance_feasibility``'s linear program; among equally good profiles
   the one closest to the uniform profile at :math:`-W^{-1}X`), where every mean input
   is :math:`E_L` up to the residual of (B);
3. runs Newton's method on :math:`F(G) = B\\,\\Phi(\\mu(G), \\sigma(G)) - G` with the exact
   Jacobian (transfer-function partials, including the filter's :math:`\\tau_s`) and a
   backtracking line search restricted to moments with every kernel expectation
   :math:`E_{t'}[m_{ab} r_b] \\ge 0` (negative rates lower the input variance and create
   spurious near-stationary points in the noise-driven regime). Newton's iteration is
   affine invariant, so in the natural variables :math:`\\sqrt N (G - G_\\infty)` its
   basin does not shrink with N;
4. falls back to pseudo-time relaxation (pseudo-transient continuation of the rate
   dynamics :math:`dG/ds = F(G)` with linearly implicit steps), then to continuation in
   N (solve at N = 10^3, then step N up by factors <= 2, each stage started from the
   previous solution).

A result that did not converge says so (``converged=False`` and a message) or, with
``strict=True``, raises ``ConvergenceError``.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np

from ._moments import LabelGrid
from ._phi import PopulationTransfer, resolve_filter
from .checks import check_int, check_nonnegative, check_positive, renamed_keyword
from .degree import DegreeModel, resolve_model
from .errors import ConvergenceError
from .feasibility import _solve_lp
from .params import POPULATIONS, NetworkParams, params_at_size, population_index

__all__ = ["solve", "MeanFieldResult", "SILENT_RATE", "SATURATED_FRACTION"]

SILENT_RATE = 0.1
"""Default threshold of ``fraction_silent``: a label with rate below 0.1 Hz is silent."""

SATURATED_FRACTION = 0.5
"""Default threshold of ``fraction_saturated``: rate above half the maximal rate
1/tau_ref (no label saturates when tau_ref = 0)."""

_TOL = 1e-9
_CONTINUATION_START = 1000
_RELAX_MAXITER = 500


# =============================================================================== result
@dataclass(frozen=True, eq=False)
class MeanFieldResult:
    """Solution of the degree-space self-consistency (frozen).

    Per-label arrays have shape (2, n): row 0 is E, row 1 is I, columns the quadrature
    nodes of the label distribution (``t``, ``weights``). Populations with fewer nodes are
    padded with zero-weight copies of their last node, so always average with ``weights``.

    Attributes
    ----------
    rate : ndarray (2, n)
        Self-consistent rate of each label, Hz.
    mu : ndarray (2, n)
        Mean input (absolute, includes E_L), mV.
    sigma : ndarray (2, n)
        Input noise amplitude, mV (Brunel convention: free variance sigma^2/2).
    tau_s : ndarray (2, n)
        Effective synaptic time constant used by the filter, s (0 for white noise).
    drive : ndarray (2, n)
        Net mean drive :math:`(\\mu - E_L)/\\tau_m`, mV/s. It equals
        :math:`\\sqrt N\\,[\\sum_b w_{ab}E_{t'}[m_{ab} r_b] + X_a k^{in}_{aX}(t)]`, the
        O(sqrt N) bracket of condition (B) times sqrt(N) (up to the rounding of N_b = q_b N):
        O(1) when balanced, O(sqrt N) where balance breaks.
    balance_index : ndarray (2, n)
        :math:`|\\mu - E_L| / (\\mu_{exc} - E_L)`, the net mean input over its excitatory
        part (E and X inputs); ~1/sqrt(N) when balanced, O(1) when not; NaN where a label
        receives no excitatory input.
    t, weights : ndarray (2, n[, dim]), (2, n)
        Labels and quadrature weights (each row sums to 1).
    label : ndarray (2, n)
        Scalar label coordinate (the label, or its in-degree component for vector labels).
    indegree : ndarray (2, n)
        Mean total in-degree (E + I + X synapses) of a neuron with each label.
    mean_rate : ndarray (2,)
        Population mean rate :math:`E_t[r_a(t)]`, Hz.
    R : ndarray (2, 2)
        Out-degree-weighted rates ``R[a, b]`` = :math:`E_{t'}[k^{out}_{ab}(t') r_b(t')]`, Hz:
        the mean rate of the source of a random synapse b -> a (row: target population a,
        column: source b; the :math:`R_{ab}` of docs/theory.md section 4). The realised-graph
        counterpart pooled over targets is ``NetworkMeanFieldResult.R_pooled`` (2,).
    fraction_silent, fraction_saturated : ndarray (2,)
        Weight of labels with rate < ``silent_rate`` and > ``saturated_rate``.
    silent_rate : float
        Hz. ``saturated_rate`` : ndarray (2,), Hz (inf when tau_ref = 0).
    rate_indegree_slope : ndarray (2,)
        Weighted least-squares slope of rate against total in-degree, Hz per synapse; its
        sign is ``rate_indegree_sign``. NaN when all labels have the same in-degree.
    mu_slope : ndarray (2,)
        Weighted least-squares slope of mu against ``label``, mV per unit label (NaN for a
        single label).
    mu_spread : ndarray (2,)
        Standard deviation of mu across labels (weighted), mV.
    imbalance : ndarray (2,)
        RMS over labels of drive/sqrt(N) relative to the RMS of the external bracket
        :math:`X_a k^{in}_{aX}`; ~1/sqrt(N) when balanced, O(1) when not.
    converged : bool
    residual : float
        Relative residual :math:`\\max_k |F_k(G)| / \\max_k |G_k|` of the moment equations.
    iterations : int
        Newton (or relaxation) iterations, all stages.
    nfev : int
        Evaluations of the transfer function on the whole grid.
    method : str
        "newton", "newton+continuation" or "relaxation".
    message : str
    N : int
    params : NetworkParams
        The parameters at size N.
    model_name : str
    filter : (str, str)
        Filter used by E and I ("white" or "fourcaud_brunel").
    moments : ndarray (m,)
        The solver's unknowns G (for warm starts).
    wall_time : float
        Wall time of the solve, s (``elapsed`` is a deprecated alias).
    """

    rate: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    tau_s: np.ndarray
    drive: np.ndarray
    balance_index: np.ndarray
    t: np.ndarray
    weights: np.ndarray
    label: np.ndarray
    indegree: np.ndarray
    mean_rate: np.ndarray
    R: np.ndarray
    fraction_silent: np.ndarray
    fraction_saturated: np.ndarray
    silent_rate: float
    saturated_rate: np.ndarray
    rate_indegree_slope: np.ndarray
    mu_slope: np.ndarray
    mu_spread: np.ndarray
    imbalance: np.ndarray
    converged: bool
    residual: float
    iterations: int
    nfev: int
    method: str
    message: str
    N: int
    params: NetworkParams
    model_name: str
    filter: tuple
    moments: np.ndarray
    wall_time: float = 0.0

    @property
    def elapsed(self) -> float:
        """Deprecated alias of ``wall_time`` (s)."""
        warnings.warn("MeanFieldResult.elapsed is deprecated; use wall_time",
                      DeprecationWarning, stacklevel=2)
        return self.wall_time

    @property
    def rate_indegree_sign(self) -> np.ndarray:
        """Sign (-1, 0, +1; NaN if undefined) of d rate / d in-degree per population."""
        return np.sign(self.rate_indegree_slope)

    def expect(self, population, f=None) -> float:
        """:math:`E_t[f(t)\\, r_a(t)]` over the label distribution of ``population``, Hz.

        Parameters
        ----------
        population : "E", "I", 0 or 1
        f : callable of the labels, array (n,) or None (then f = 1: the mean rate)

        Examples
        --------
        For Case C, ``res.expect("E", lambda t: t)`` is :math:`R_E = E[t r_E]` and
        ``res.expect("E", lambda t: t - 1)`` is :math:`\\mathrm{Cov}(t, r_E)`.
        """
        a = population_index(population)
        fv = 1.0 if f is None else (f(self.t[a]) if callable(f) else np.asarray(f, float))
        return float(np.sum(self.weights[a] * fv * self.rate[a]))

    def summary(self) -> str:
        """A few lines for humans."""
        status = "converged" if self.converged else "NOT CONVERGED"
        lines = [f"MeanFieldResult: {self.model_name}, N = {self.N}, {status} "
                 f"({self.method}, {self.iterations} iterations, residual {self.residual:.2e})"]
        for a, pop in enumerate(POPULATIONS):
            lines.append(
                f"  {pop}: mean rate {self.mean_rate[a]:.4g} Hz (labels {self.rate[a].min():.3g}"
                f"..{self.rate[a].max():.3g}), mu {self.mu[a].min():.4g}..{self.mu[a].max():.4g} mV, "
                f"silent {self.fraction_silent[a]:.3f}, saturated {self.fraction_saturated[a]:.3f}")
        if not self.converged:
            lines.append("  " + self.message)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-friendly dict (arrays as lists; params via ``NetworkParams.to_dict``)."""
        out = {}
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            if isinstance(v, np.ndarray):
                v = v.tolist()
            elif isinstance(v, NetworkParams):
                v = v.to_dict()
            out[name] = v
        return out


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
        self.nfev = 0

    def inputs(self, G):
        """mu (2n,), sigma (2n,), tau_s (2n,), var_src (3, 2n), mu_src (3, 2n)."""
        mu_src = np.stack([self.Cmu[0] @ G, self.Cmu[1] @ G, self.mu_X])
        var_src = np.stack([self.Csig[0] @ G, self.Csig[1] @ G, self.var_X])
        mu = self.E_L + mu_src.sum(axis=0)
        var = var_src.sum(axis=0)
        tau = self.transfer.tau_s(var_src, var) if self.transfer.uses_filter() else np.zeros_like(var)
        return mu, np.sqrt(np.maximum(var, 0.0)), tau, var_src, mu_src, var

    def in_domain(self, G) -> bool:
        """True if every kernel expectation E_t'[m_ab(t, t') r_b(t')] is >= 0.

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
        mu, sigma, tau, var_src, _, var = self.inputs(G)
        if not np.all(np.isfinite(mu)) or np.any(var < 0) or not np.all(np.isfinite(var)):
            return None, None, None
        self.nfev += 1
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


def _rel_residual(F, G) -> float:
    return float(np.max(np.abs(F)) / max(float(np.max(np.abs(G))), 1e-12)) if G.size else 0.0


def _newton(fmap: _MomentMap, G0, tol, maxiter, deadline):
    """Newton with backtracking on 0.5 |F|^2. Returns (G, converged, iterations, message)."""
    G = np.array(G0, float)
    F, Jac, _ = fmap(G, jacobian=True)
    if F is None:
        return G, False, 0, "start point outside the domain (sigma^2 < 0 or non-finite rates)"
    best = np.inf
    stall = 0
    for it in range(1, maxiter + 1):
        res = _rel_residual(F, G)
        if res <= tol:
            return G, True, it - 1, f"relative residual {res:.2e} <= tol {tol:.1e}"
        if time.perf_counter() > deadline:
            return G, False, it - 1, "time budget exhausted"
        try:
            step = np.linalg.solve(Jac, -F)
            if not np.all(np.isfinite(step)):
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(Jac, -F, rcond=None)[0]
        f0 = 0.5 * float(F @ F)
        lam = 1.0
        accepted = False
        while lam >= 1e-8:
            Gt = G + lam * step
            Ft, Jt, _ = fmap(Gt, jacobian=(lam == 1.0))
            if Ft is not None and 0.5 * float(Ft @ Ft) <= (1.0 - 1e-4 * lam) * f0:
                accepted = True
                break
            if Ft is not None:
                # quadratic model of the merit along the step, safeguarded
                ft = 0.5 * float(Ft @ Ft)
                lam_q = lam * lam * f0 / (2.0 * (ft - f0 + lam * f0)) if ft > f0 * (1 - lam) else 0.5 * lam
                lam = float(np.clip(lam_q, 0.1 * lam, 0.5 * lam))
            else:
                lam *= 0.25
        if not accepted:
            return G, False, it, (f"line search failed at relative residual {res:.2e} "
                                  "(Newton direction not a descent direction)")
        G, F = Gt, Ft
        Jac = Jt if Jt is not None else fmap(G, jacobian=True)[1]
        r_now = _rel_residual(F, G)
        if r_now < 0.5 * best:
            best, stall = r_now, 0
        else:
            stall += 1
            if stall >= 12:
                return G, False, it, f"stalled at relative residual {r_now:.2e}"
    return G, _rel_residual(F, G) <= tol, maxiter, f"maxiter = {maxiter} reached"


def _relax(fmap, G0, tol, maxiter, deadline, h0: float = 0.05):
    """Pseudo-transient continuation of dG/ds = F(G) (damped pseudo-time relaxation).

    Linearly implicit Euler steps :math:`(I/h - \\partial F/\\partial G)\\,\\delta = F`
    follow the rate dynamics from the start point in pseudo-time s (stable for any h on
    the stiff sqrt(N) modes); the step h grows as the residual falls ("switched evolution
    relaxation", Kelley & Keyes, SIAM J. Numer. Anal. 35, 508 (1998)), so the method turns
    into Newton's near the solution. Steps leaving the domain are retried with h/4.
    Returns (G, converged, iterations, message).
    """
    G = np.array(G0, float)
    F, Jac, _ = fmap(G, jacobian=True)
    if F is None:
        return G, False, 0, "pseudo-time start point outside the domain"
    h = h0
    nF = float(np.linalg.norm(F))
    eye = np.eye(G.size)
    it = 0
    for it in range(1, maxiter + 1):
        res = _rel_residual(F, G)
        if res <= tol:
            return G, True, it - 1, f"pseudo-time relaxation: relative residual {res:.2e}"
        if time.perf_counter() > deadline:
            break
        try:
            step = np.linalg.solve(eye / h - Jac, F)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(eye / h - Jac, F, rcond=None)[0]
        Ft, Jt, _ = fmap(G + step, jacobian=True)
        if Ft is None or not np.all(np.isfinite(Ft)) or np.linalg.norm(Ft) > 1e3 * max(nF, 1e-300):
            h *= 0.25
            if h < 1e-12:
                break
            continue
        nFt = float(np.linalg.norm(Ft))
        h = float(np.clip(h * nF / max(nFt, 1e-300), 0.25 * h, 1e15))
        G, F, Jac, nF = G + step, Ft, Jt, nFt
    res = _rel_residual(F, G)
    return G, res <= tol, it, f"pseudo-time relaxation stopped at relative residual {res:.2e}"


def _predict(history, N):
    """Extrapolate the moments linearly in 1/sqrt(N) from the last two solutions."""
    if len(history) < 2:
        return history[-1][1]
    (N1, G1), (N2, G2) = history[-2], history[-1]
    x1, x2, x = N1 ** -0.5, N2 ** -0.5, N ** -0.5
    return G2 + (G2 - G1) * (x - x2) / (x2 - x1)


# =============================================================================== solve
def solve(params: NetworkParams, model: DegreeModel | None = None, N: int | None = None, *,
          filter: str = "auto", n_nodes: int | None = None, tol: float = _TOL,
          maxiter: int = 60, strict: bool = False, silent_rate: float = SILENT_RATE,
          saturated_rate: float | None = None, initial=None,
          time_budget: float = 120.0, n: int | None = None) -> MeanFieldResult:
    """Self-consistent rates of every degree label at finite N (degree space).

    Parameters
    ----------
    params : NetworkParams
        Network parameters (j, p, q, neurons, r_X, synaptic time constants).
    model : DegreeModel, optional
        Label distributions and kernels; default ``DegreeModel.homogeneous()``.
    N : int, optional
        Network size, >= 10; default ``params.N``. The balanced scaling keeps j, p, q.
    filter : {"auto", "white", "fourcaud_brunel"}
        Synaptic filtering of the transfer function. "white": diffusion (delta-synapse)
        rate. "fourcaud_brunel" (LIF only): thresholds shifted by
        :math:`\\sigma(\\alpha/2)\\sqrt{\\tau_s/\\tau_m}` with :math:`\\tau_s` the
        variance-weighted mean of :math:`\\tau_E, \\tau_I, \\tau_X` at each label (each
        source's share of :math:`\\sigma^2`; docs/theory.md appendix A). "auto" (default):
        "fourcaud_brunel" for LIF populations with any synaptic time constant > 0, "white"
        for EIF populations.
    n_nodes : int, optional
        Quadrature nodes per population (default ``model.n_nodes``), >= 1.
    tol : float
        Relative residual :math:`\\max|F|/\\max|G|` of the moment equations, > 0
        (default 1e-9).
    maxiter : int
        Newton iterations per stage, >= 1.
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
        N < 10, an unknown ``filter``, "fourcaud_brunel" with an EIF population, a kernel
        or external in-degree factor that makes :math:`p m` leave [0, 1] on the grid.
    ConvergenceError
        Only with ``strict=True``, when the solver did not converge.

    Notes
    -----
    Unknowns: the moments :math:`G = B r` (``meanfield._moments.LabelGrid``); the map
    :math:`F(G) = B\\,\\Phi(\\mu(G), \\sigma(G); \\tau_s(G)) - G` has the Jacobian

    .. math:: \\partial F/\\partial G = B\\,[\\Phi_\\mu C_\\mu + \\Phi_\\sigma C_{\\sigma^2}/(2\\sigma)
              + \\Phi_{\\tau}\\,\\partial\\tau_s/\\partial G] - I,

    with :math:`\\Phi_\\mu, \\Phi_\\sigma` from ``meanfield.transfer`` (analytic for the
    LIF, a forward difference of the threshold integration for the EIF). Convergence is
    declared when the relative residual is below ``tol``; the rates returned are
    :math:`\\Phi` at the final moments, so they are self-consistent to that residual.
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
    check_positive("tol", tol)
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
    if ok:
        starts.append(("balanced limit", grid.B @ r_lp))
    fmap = _MomentMap(grid, params, transfer)
    if not starts:
        G, converged, iterations, nfev, method = np.zeros(grid.m), False, 0, 0, "none"
        message = "no valid start point (the balanced-limit linear program failed)"
    else:
        G, converged, iterations, method, message = _solve_stage(fmap, starts, tol, maxiter,
                                                                 deadline)
        nfev = fmap.nfev
        if not converged and params.N > _CONTINUATION_START and ok:
            Gc, conv_c, it, nf, msg = _continuation(grid, params, transfer, grid.B @ r_lp, tol,
                                                    maxiter, deadline)
            iterations += it
            nfev += nf
            if conv_c:
                G, converged, method, message = Gc, True, "continuation", msg
            else:
                message = f"{message}; continuation: {msg}"
    result = _assemble(fmap, G, converged, iterations, nfev, method, message, silent_rate,
                       saturated_rate, model.name, filters, time.perf_counter() - t_start)
    if strict and not result.converged:
        raise ConvergenceError(f"solve(N = {params.N}, model = {model.name!r}) did not converge: "
                               f"{result.message}", result)
    return result


def _solve_stage(fmap, starts, tol, maxiter, deadline):
    """Newton from each start, then pseudo-time relaxation from each start.

    Returns (G, converged, iterations, method, message).
    """
    total, msgs, G = 0, [], starts[-1][1]
    for name, G0 in starts:
        G, conv, it, msg = _newton(fmap, G0, tol, maxiter, deadline)
        total += it
        if conv:
            return G, True, total, "newton", f"Newton from the {name}: {msg}"
        msgs.append(f"Newton from the {name}: {msg}")
    for name, G0 in starts:
        G, conv, it, msg = _relax(fmap, G0, tol, _RELAX_MAXITER, deadline)
        total += it
        if conv:
            return G, True, total, "pseudo-time", f"from the {name}, {msg}"
        msgs.append(f"from the {name}, {msg}")
    return G, False, total, "pseudo-time", "; ".join(msgs)


def _continuation(grid, params, transfer, G_bal, tol, maxiter, deadline):
    """Solve along N = 10^3 ... N (factors <= 2), each stage started from the previous one.

    Returns (G, converged, iterations, nfev, message).
    """
    N_target = params.N
    steps = max(2, int(math.ceil(math.log2(N_target / _CONTINUATION_START))) + 1)
    Ns = [int(x) for x in np.unique(np.round(np.geomspace(_CONTINUATION_START, N_target, steps)))]
    history, total_it, nfev, i, N_prev = [], 0, 0, 0, None
    G = G_bal
    while i < len(Ns):
        N = Ns[i]
        fmap = _MomentMap(grid, params.with_N(N), transfer)
        starts = [("balanced limit", G_bal)] if not history else \
            [("extrapolated previous solution", _predict(history, N)),
             ("previous solution", history[-1][1])]
        G, conv, it, _, msg = _solve_stage(fmap, starts, tol, maxiter, deadline)
        total_it += it
        nfev += fmap.nfev
        if not conv:
            if N_prev is not None and N / N_prev > 1.05 and time.perf_counter() < deadline:
                Ns.insert(i, int(round(math.sqrt(N * N_prev))))   # refine the step
                continue
            return G, False, total_it, nfev, f"failed at N = {N}: {msg}"
        history.append((N, G))
        N_prev = N
        i += 1
    return G, True, total_it, nfev, (f"continuation in N over {Ns[0]} ... {N_target} "
                                     f"({len(Ns)} stages): {msg}")


# =============================================================================== summaries
def _wmean(w, x):
    return np.sum(w * x, axis=-1)


def _label_statistics(weights, label, rate, mu, indegree, silent_rate, saturated_rate):
    """Population summaries over a weighted set of labels (rows E, I).

    Returns a dict with ``mean_rate``, ``fraction_silent``, ``fraction_saturated``,
    ``rate_indegree_slope`` (Hz per synapse), ``mu_slope`` (mV per unit label) and
    ``mu_spread`` (mV); all (2,). Slopes are weighted least-squares regressions; NaN when
    the regressor does not vary.
    """
    out = {"mean_rate": np.array([_wmean(w, r) for w, r in zip(weights, rate)]),
           "fraction_silent": np.array([_wmean(w, (r < silent_rate).astype(float))
                                        for w, r in zip(weights, rate)]),
           "fraction_saturated": np.array([_wmean(w, (r > s).astype(float))
                                           for w, r, s in zip(weights, rate, saturated_rate)])}

    def slope(w, x, y):
        xm, ym = _wmean(w, x), _wmean(w, y)
        vx = _wmean(w, (x - xm) ** 2)
        scale = max(abs(xm), 1e-300)
        if vx <= (1e-12 * scale) ** 2:
            return np.nan
        return _wmean(w, (x - xm) * (y - ym)) / vx

    out["rate_indegree_slope"] = np.array([slope(w, k, r) for w, k, r in zip(weights, indegree, rate)])
    out["mu_slope"] = np.array([slope(w, x, m) for w, x, m in zip(weights, label, mu)])
    out["mu_spread"] = np.array([math.sqrt(max(_wmean(w, (m - _wmean(w, m)) ** 2), 0.0))
                                 for w, m in zip(weights, mu)])
    return out


def _assemble(fmap, G, converged, iterations, nfev, method, message, silent_rate,
              saturated_rate, model_name, filters, elapsed):
    grid, params = fmap.grid, fmap.params
    nn = grid.n
    mu, sigma, tau, var_src, mu_src, var = fmap.inputs(G)
    F, _, r = fmap(G)
    if F is None:
        rate = np.full(2 * nn, np.nan)
        residual = np.inf
        converged = False
        message = message + "; final moments outside the domain"
    else:
        rate = r
        residual = _rel_residual(F, G)
    tau_m = fmap.tau_m
    E_L = fmap.E_L
    drive = (mu - E_L) / tau_m
    exc = mu_src[0] + mu_src[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        bindex = np.where(exc > 0, np.abs(mu - E_L) / np.where(exc > 0, exc, 1.0), np.nan)
    shape = (2, nn)
    rate, mu, sigma, tau, drive, bindex = (x.reshape(shape) for x in
                                           (rate, mu, sigma, tau, drive, bindex))
    if saturated_rate is None:
        sat = np.array([SATURATED_FRACTION / nr.tau_ref if nr.tau_ref > 0 else np.inf
                        for nr in params.neurons])
    else:
        sat = np.full(2, float(saturated_rate))
    indeg = grid.indegree(params)
    stats = _label_statistics(grid.weights, grid.coord, rate, mu, indeg, silent_rate, sat)
    R = np.einsum("bj,abj,bj->ab", grid.weights, grid.kout, rate)
    ext = params.X[:, None] * grid.kin[:, 2, :]
    rms_ext = np.sqrt(np.sum(grid.weights * ext ** 2, axis=1))
    rms_drive = np.sqrt(np.sum(grid.weights * (drive / math.sqrt(params.N)) ** 2, axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        imbalance = np.where(rms_ext > 0, rms_drive / np.where(rms_ext > 0, rms_ext, 1.0), np.nan)
    if not converged and "did not converge" not in message:
        message = "did not converge: " + message
    return MeanFieldResult(
        rate=rate, mu=mu, sigma=sigma, tau_s=tau, drive=drive, balance_index=bindex,
        t=grid.t, weights=grid.weights, label=grid.coord, indegree=indeg,
        mean_rate=stats["mean_rate"], R=R, fraction_silent=stats["fraction_silent"],
        fraction_saturated=stats["fraction_saturated"], silent_rate=float(silent_rate),
        saturated_rate=sat, rate_indegree_slope=stats["rate_indegree_slope"],
        mu_slope=stats["mu_slope"], mu_spread=stats["mu_spread"], imbalance=imbalance,
        converged=bool(converged), residual=float(residual), iterations=int(iterations),
        nfev=int(nfev), method=method, message=message, N=params.N, params=params,
        model_name=model_name, filter=tuple(filters), moments=np.array(G, float),
        wall_time=float(elapsed))

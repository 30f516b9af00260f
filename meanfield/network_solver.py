"""Neuron-level self-consistency on a realised sparse graph (docs/theory.md section 4).

``solve_network(params, W, population, k_X)`` finds one rate per neuron such that

.. math::
    r_j = \\Phi_{a(j)}(\\mu_j, \\sigma_j),\\qquad
    \\mu_j = E_L + \\tau_m\\Big(\\sum_k J_{jk} r_k + J_{aX} K_{jX} r_X\\Big),\\qquad
    \\sigma_j^2 = \\tau_m\\Big(\\sum_k J_{jk}^2 r_k + J_{aX}^2 K_{jX} r_X\\Big),

with the realised weights :math:`J_{jk}` (CSR, post x pre, mV) and external in-degrees
:math:`K_{jX}`; optionally with the quenched-input correction (below). The system has N
unknowns and :math:`\\sqrt N`-stiff population modes, so it is solved by an inexact
Newton-Krylov method (GMRES) preconditioned with the exact inverse of the rank-2
population-mean part of the Jacobian (Sherman-Morrison-Woodbury); the remaining
random-graph part has O(1) spectral radius and GMRES needs a few iterations per step.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, gmres

from . import transfer as _transfer
from ._phi import PopulationTransfer, resolve_filter
from .checks import check_array, check_int, check_nonnegative, check_positive, renamed_keyword
from .errors import ConvergenceError
from .labels import quantile_bins
from .params import POPULATIONS, NetworkParams, population_index
from .balance import balanced_rates
from .degree_space import SATURATED_FRACTION, SILENT_RATE, _newton, _relax

__all__ = ["solve_network", "NetworkMeanFieldResult", "PRESYNAPTIC_MODES"]

PRESYNAPTIC_MODES = ("neuron", "population")
"""``"neuron"``: each neuron sums the self-consistent rates of its actual presynaptic
partners (docs/theory.md section 4). ``"population"``: each neuron sees its realised summed
weights per source times the out-degree-weighted population mean rate (the per-neuron
degree theory: heterogeneity from in-degrees only)."""


# =============================================================================== result
@dataclass(frozen=True, eq=False)
class NetworkMeanFieldResult:
    """Per-neuron solution of ``solve_network`` (frozen).

    Attributes
    ----------
    rate, mu, sigma, tau_s, drive, balance_index : ndarray (N,)
        As in ``MeanFieldResult`` but per neuron: Hz, mV, mV, s, mV/s, dimensionless.
        With ``quenched=True``, ``rate`` is the Gaussian average of Phi over the quenched
        spread and ``mu`` its centre.
    sigma_quenched : ndarray (N,)
        Standard deviation of the quenched spread of mu, mV (0 without the correction).
    population : ndarray (N,)
        0 (E) or 1 (I).
    mean_rate : ndarray (2,)
        Population mean rates, Hz.
    R_pooled : ndarray (2,)
        ``R_pooled[b]``: out-degree-weighted mean rate of population b, Hz, pooled over
        the target populations (the mean rate behind a random synapse from b, whatever its
        target). Not ``MeanFieldResult.R``, which is (2, 2) with one row per target
        population. ``R`` is a deprecated alias.
    rate_variance : ndarray (2,)
        Out-degree-weighted variance of the rates, Hz^2 (enters the quenched spread).
    fraction_silent, fraction_saturated : ndarray (2,)
        Fraction of neurons below ``silent_rate`` / above ``saturated_rate``.
    silent_rate : float; saturated_rate : ndarray (2,)
    converged : bool; residual : float
        Relative residual :math:`\\max_j|\\Phi_j - r_j| / \\max_j r_j`.
    iterations : int
        Newton iterations. ``nmatvec``: products with the connectivity.
    method, message : str
    N : int; params : NetworkParams; filter : (str, str)
    presynaptic : str; quenched : bool
    wall_time : float
        Wall time of the solve, s (``elapsed`` is a deprecated alias).
    """

    rate: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    tau_s: np.ndarray
    drive: np.ndarray
    balance_index: np.ndarray
    sigma_quenched: np.ndarray
    population: np.ndarray
    mean_rate: np.ndarray
    R_pooled: np.ndarray
    rate_variance: np.ndarray
    fraction_silent: np.ndarray
    fraction_saturated: np.ndarray
    silent_rate: float
    saturated_rate: np.ndarray
    converged: bool
    residual: float
    iterations: int
    nmatvec: int
    method: str
    message: str
    N: int
    params: NetworkParams
    filter: tuple
    presynaptic: str
    quenched: bool
    wall_time: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def R(self) -> np.ndarray:
        """Deprecated alias of ``R_pooled`` (2,), Hz."""
        warnings.warn("NetworkMeanFieldResult.R is deprecated; use R_pooled (shape (2,), "
                      "pooled over targets; MeanFieldResult.R is (2, 2))", DeprecationWarning,
                      stacklevel=2)
        return self.R_pooled

    @property
    def elapsed(self) -> float:
        """Deprecated alias of ``wall_time`` (s)."""
        warnings.warn("NetworkMeanFieldResult.elapsed is deprecated; use wall_time",
                      DeprecationWarning, stacklevel=2)
        return self.wall_time

    def binned(self, x, population="E", bins: int = 10):
        """Mean rate of the neurons of one population grouped by quantiles of ``x``.

        Parameters
        ----------
        x : array_like (N,)
            Per-neuron quantity to group by (e.g. the net in-degree K_E - g K_I).
        population : "E", "I", 0, 1 or None
            None groups all neurons together.
        bins : int
            Number of equal-count groups (10: deciles), >= 1; fewer when ``x`` takes fewer
            values (``meanfield.labels.quantile_bins``).

        Returns
        -------
        x_mean, rate_mean : ndarray (bins,)
            Mean of ``x`` and of the rate in each group (ascending x).
        counts : ndarray (bins,)
        """
        if population is None:
            idx = np.arange(self.N)
        else:
            idx = np.flatnonzero(self.population == population_index(population))
        bins = check_int("bins", bins, lo=1, hi=max(idx.size, 1))
        x = check_array("x", x)
        if x.shape != (self.N,):
            raise ValueError(f"x has shape {x.shape}; expected ({self.N},)")
        rank = np.argsort(x[idx], kind="stable")
        which = quantile_bins(x[idx], bins)[0][rank]          # non-decreasing along rank
        groups = np.split(idx[rank], np.flatnonzero(np.diff(which)) + 1)
        return (np.array([x[g].mean() for g in groups]),
                np.array([self.rate[g].mean() for g in groups]),
                np.array([g.size for g in groups]))

    def summary(self) -> str:
        status = "converged" if self.converged else "NOT CONVERGED"
        lines = [f"NetworkMeanFieldResult: N = {self.N}, presynaptic = {self.presynaptic}, "
                 f"quenched = {self.quenched}, {status} ({self.iterations} iterations, "
                 f"residual {self.residual:.2e}, {self.wall_time:.2f} s)"]
        for a, pop in enumerate(POPULATIONS):
            m = self.population == a
            lines.append(f"  {pop}: mean {self.mean_rate[a]:.4g} Hz, sd "
                         f"{self.rate[m].std():.3g} Hz, silent {self.fraction_silent[a]:.3f}")
        if not self.converged:
            lines.append("  " + self.message)
        return "\n".join(lines)


# =============================================================================== model
class _NetworkModel:
    """Everything about the graph that does not change during the solve."""

    def __init__(self, params, W, population, k_X, transfer, quenched, n_quad):
        N = params.N
        self.N = N
        self.params = params
        self.W = W
        self.W2 = W.multiply(W).tocsr()
        self.S = np.stack([population == 0, population == 1], axis=1).astype(float)
        self.U = np.asarray(W @ self.S)            # summed weights per source, mV
        self.U2 = np.asarray(self.W2 @ self.S)     # summed squared weights, mV^2
        nr = params.neurons
        self.tau_m = np.where(population == 0, nr[0].tau_m, nr[1].tau_m)
        self.E_L = np.where(population == 0, nr[0].E_L, nr[1].E_L)
        JX = params.J[population, 2]
        self.mu_X = self.tau_m * JX * k_X * params.r_X
        self.var_X = self.tau_m * JX ** 2 * k_X * params.r_X
        kout = np.bincount(W.indices, minlength=N).astype(float)
        self.kw = np.zeros((2, N))                 # out-degree weights per source population
        for b in (0, 1):
            m = population == b
            tot = kout[m].sum()
            self.kw[b, m] = kout[m] / tot if tot > 0 else 1.0 / max(int(m.sum()), 1)
        self.transfer = transfer
        self.quenched = quenched
        z, w = np.polynomial.hermite_e.hermegauss(n_quad)
        self.z, self.zw = z, w / w.sum()
        self._tiled = None
        self.nmatvec = 0

    # -------------------------------------------------------------- input moments
    def moments(self, r):
        """mu, var, var_src (3, N), mu_src (3, N) from presynaptic rates r."""
        RS = r[:, None] * self.S
        M1 = np.asarray(self.W @ RS)
        M2 = np.asarray(self.W2 @ RS)
        self.nmatvec += 2
        mu_src = np.stack([self.tau_m * M1[:, 0], self.tau_m * M1[:, 1], self.mu_X])
        var_src = np.stack([self.tau_m * M2[:, 0], self.tau_m * M2[:, 1], self.var_X])
        return self.E_L + mu_src.sum(0), var_src.sum(0), var_src, mu_src

    def moments_population(self, R):
        mu_src = np.stack([self.tau_m * self.U[:, 0] * R[0], self.tau_m * self.U[:, 1] * R[1],
                           self.mu_X])
        var_src = np.stack([self.tau_m * self.U2[:, 0] * R[0], self.tau_m * self.U2[:, 1] * R[1],
                            self.var_X])
        return self.E_L + mu_src.sum(0), var_src.sum(0), var_src, mu_src

    def stats(self, r):
        R = self.kw @ r
        V = np.array([self.kw[b] @ (r - R[b]) ** 2 for b in (0, 1)])
        return R, V

    def quenched_sd(self, V):
        if not self.quenched:
            return np.zeros(self.N)
        return self.tau_m * np.sqrt(np.maximum(self.U2 @ V, 0.0))

    # -------------------------------------------------------------- Phi (+ quenched average)
    def phi(self, mu, var, var_src, s, derivatives):
        sigma = np.sqrt(np.maximum(var, 0.0))
        tau = self.transfer.tau_s(var_src, var) if self.transfer.uses_filter() else np.zeros(self.N)
        if not self.quenched or not np.any(s > 0):
            out = self.transfer.evaluate(mu, sigma, tau, derivatives)
            return (*out, np.zeros(self.N) if derivatives else None), sigma, tau
        q = self.z.size
        mu_q = (mu[None, :] + s[None, :] * self.z[:, None]).ravel()
        rep = lambda x: np.broadcast_to(x, (q, self.N)).ravel()
        if self._tiled is None:
            self._tiled = self.transfer.tiled(q, self.N)
        r_q, rm_q, rs_q, rt_q = self._tiled.evaluate(mu_q, rep(sigma), rep(tau), derivatives)
        avg = lambda x: self.zw @ x.reshape(q, self.N)
        if not derivatives:
            return (avg(r_q), None, None, None, None), sigma, tau
        r_s = self.zw @ (rm_q.reshape(q, self.N) * self.z[:, None])   # d<Phi>/ds
        return (avg(r_q), avg(rm_q), avg(rs_q), avg(rt_q), r_s), sigma, tau


# =============================================================================== neuron mode
def _newton_krylov(model: _NetworkModel, r0, tol, maxiter, deadline):
    """Inexact Newton-GMRES with the population-mean (Woodbury) preconditioner."""
    N = model.N
    tau_syn = model.transfer.tau_syn
    r = np.array(r0, float)

    def evaluate(r, derivatives):
        mu, var, var_src, _ = model.moments(r)
        if np.any(var < 0) or not np.all(np.isfinite(mu)):
            return None
        R, V = model.stats(r)
        s = model.quenched_sd(V)
        (phi, p_mu, p_sig, p_tau, p_s), sigma, tau = model.phi(mu, var, var_src, s, derivatives)
        if not np.all(np.isfinite(phi)):
            return None
        return {"F": phi - r, "phi": phi, "p_mu": p_mu, "p_sig": p_sig, "p_tau": p_tau,
                "p_s": p_s, "sigma": sigma, "tau": tau, "var": var, "R": R, "s": s}

    def jacobian_ops(e, r):
        sig = np.maximum(e["sigma"], 1e-300)
        var = np.where(e["var"] > 0, e["var"], 1.0)
        a_mu = e["p_mu"] * model.tau_m
        a_sig = e["p_sig"] / (2.0 * sig) * model.tau_m
        a_tau = [e["p_tau"] * model.tau_m * (tau_syn[b] - e["tau"]) / var for b in (0, 1)]
        use_q = model.quenched and np.any(e["s"] > 0)
        if use_q:
            s = np.where(e["s"] > 0, e["s"], np.inf)
            # d<Phi>/dV_b = p_s * tau_m^2 U2[:, b] / (2 s);  dV_b/dr = 2 kw_b (r - R_b)
            qcoef = (e["p_s"] * model.tau_m ** 2 / (2.0 * s))[:, None] * model.U2
            qvec = np.stack([2.0 * model.kw[b] * (r - e["R"][b]) for b in (0, 1)], axis=1)

        def matvec(v):
            v = np.ravel(v)
            w1 = model.W @ v
            w2 = np.asarray(model.W2 @ (v[:, None] * model.S))
            model.nmatvec += 2
            out = a_mu * w1 + a_sig * (w2[:, 0] + w2[:, 1]) + a_tau[0] * w2[:, 0] + a_tau[1] * w2[:, 1] - v
            if use_q:
                out = out + qcoef @ (qvec.T @ v)
            return out

        # rank-2 population-mean part: W v ~ U (V^T v), V[:, b] = 1_b / N_b
        Nb = model.S.sum(0)
        Vt = (model.S / np.maximum(Nb, 1.0)).T                  # (2, N)
        P = (a_mu[:, None] * model.U + a_sig[:, None] * model.U2
             + np.stack([a_tau[b] * model.U2[:, b] for b in (0, 1)], axis=1))
        if use_q:
            P = np.hstack([P, qcoef])
            Vt = np.vstack([Vt, qvec.T])
        small = np.eye(Vt.shape[0]) - Vt @ P
        try:
            small_inv = np.linalg.inv(small)
        except np.linalg.LinAlgError:
            small_inv = np.linalg.pinv(small)

        def precond(x):
            x = np.ravel(x)
            return -(x + P @ (small_inv @ (Vt @ x)))

        return (LinearOperator((N, N), matvec=matvec, dtype=float),
                LinearOperator((N, N), matvec=precond, dtype=float))

    e = evaluate(r, True)
    if e is None:
        return r, None, False, 0, "start point outside the domain"
    eta = 0.1
    for it in range(1, maxiter + 1):
        scale = max(float(np.max(np.abs(e["phi"]))), 1e-12)
        res = float(np.max(np.abs(e["F"]))) / scale
        if res <= tol:
            return e["phi"], e, True, it - 1, f"relative residual {res:.2e} <= tol {tol:.1e}"
        if time.perf_counter() > deadline:
            return e["phi"], e, False, it - 1, f"time budget exhausted at residual {res:.2e}"
        A, M = jacobian_ops(e, r)
        F = e["F"]
        step, info = gmres(A, -F, rtol=min(eta, 0.5), atol=0.0, restart=40, maxiter=5, M=M)
        f0 = 0.5 * float(F @ F)
        lam, accepted = 1.0, False
        while lam >= 1e-6:
            rt = np.maximum(r + lam * step, 0.0)     # projected: rates stay >= 0
            et = evaluate(rt, True)
            if et is not None and 0.5 * float(et["F"] @ et["F"]) <= (1 - 1e-4 * lam) * f0:
                accepted = True
                break
            lam *= 0.5
        if not accepted:
            return e["phi"], e, False, it, f"line search failed at relative residual {res:.2e}"
        ratio = math.sqrt(float(et["F"] @ et["F"]) / max(2 * f0, 1e-300))
        eta = max(min(0.1, ratio ** 2), 1e-6)
        r, e = rt, et
    scale = max(float(np.max(np.abs(e["phi"]))), 1e-12)
    res = float(np.max(np.abs(e["F"]))) / scale
    return e["phi"], e, res <= tol, maxiter, f"maxiter = {maxiter} reached at residual {res:.2e}"


# =============================================================================== population mode
class _PopulationMap:
    """Unknowns y = (R_E, R_I[, V_E, V_I]) of the per-neuron degree theory."""

    def __init__(self, model: _NetworkModel):
        self.model = model
        self.nfev = 0
        self.m = 4 if model.quenched else 2

    def rates(self, y, derivatives=False):
        mdl = self.model
        if not np.all(np.isfinite(y)) or np.any(y < 0):   # rates and variances are >= 0
            return None
        mu, var, var_src, mu_src = mdl.moments_population(y[:2])
        if np.any(var < 0):
            return None
        s = mdl.quenched_sd(y[2:]) if mdl.quenched else np.zeros(mdl.N)
        (phi, *_), sigma, tau = mdl.phi(mu, var, var_src, s, derivatives)
        return phi, mu, var, var_src, mu_src, sigma, tau, s

    def __call__(self, y, jacobian=False):
        out = self.rates(y)
        if out is None:
            return None, None, None
        self.nfev += 1
        r = out[0]
        R, V = self.model.stats(r)
        F = (np.concatenate([R, V]) if self.model.quenched else R) - y
        if not jacobian:
            return F, None, r
        Jac = np.empty((self.m, self.m))
        for k in range(self.m):
            h = 1e-7 * max(abs(y[k]), 1e-3)
            yk = y.copy()
            yk[k] += h
            Fk = self(yk)[0]
            if Fk is None:
                yk[k] -= 2 * h
                Fk = self(yk)[0]
                h = -h
            Jac[:, k] = (Fk - F) / h
        return F, Jac, r


def _table_error(params, transfer, mu, sigma, s, model) -> float:
    """Largest relative error of the EIF table against direct threshold integration.

    Checked on up to 500 neurons per EIF population (rates above 1e-3 Hz), at the
    centre and the outer Gauss-Hermite nodes of the quenched average.
    """
    rng = np.random.default_rng(0)
    worst = 0.0
    for a, (nr, tab) in enumerate(zip(params.neurons, transfer.tables)):
        if tab is None:
            continue
        idx = transfer.index[a]
        idx = rng.choice(idx, min(500, idx.size), replace=False) if idx.size else idx
        for zq in (0.0, float(model.z.min()), float(model.z.max())):
            m = mu[idx] + s[idx] * zq
            sg = np.maximum(sigma[idx], 1e-6)
            direct = _transfer.eif_rate(m, sg, nr)
            approx = tab(m, sg, False)[0]
            ok = direct > 1e-3
            if ok.any():
                worst = max(worst, float(np.max(np.abs(approx[ok] / direct[ok] - 1.0))))
    return worst


# =============================================================================== public
def solve_network(params: NetworkParams, W, population, k_X, *, filter: str = "auto",
                  presynaptic: str = "neuron", quenched: bool = False,
                  n_nodes: int | None = None,
                  tol: float = 1e-8, maxiter: int = 40, strict: bool = False,
                  silent_rate: float = SILENT_RATE, saturated_rate: float | None = None,
                  initial=None, eif_table: bool | None = None,
                  time_budget: float = 120.0, n_quad: int | None = None
                  ) -> NetworkMeanFieldResult:
    """Self-consistent rate of every neuron of a realised network.

    Parameters
    ----------
    params : NetworkParams
        Neurons, external drive (``r_X``, :math:`J_{aX} = j_{aX}/\\sqrt N`), synaptic time
        constants; ``params.N`` must equal the number of neurons.
    W : scipy.sparse matrix or array (N, N)
        Recurrent weights :math:`J_{jk}` in mV, row j postsynaptic, column k presynaptic
        (``graphs.Network.weight_matrix()``). Finite.
    population : array_like of int (N,)
        0 for E, 1 for I.
    k_X : array_like (N,)
        External in-degree of each neuron (number of Poisson inputs), >= 0.
    filter : {"auto", "white", "fourcaud_brunel"}
        As in ``solve``; the Fourcaud-Brunel :math:`\\tau_s` is the variance-weighted mean
        of the source time constants for each neuron.
    presynaptic : {"neuron", "population"}
        "neuron" (default): :math:`\\mu_j` sums the self-consistent rates of j's actual
        presynaptic partners (docs/theory.md section 4). "population": every presynaptic rate
        is replaced by the out-degree-weighted mean rate of its population, so neurons
        differ only through their summed weights (the per-neuron degree theory).
    quenched : bool
        Apply the quenched-input correction (Notes).
    n_nodes : int, optional
        Gauss-Hermite quadrature nodes of the quenched average, in [1, 101] (default 9).
        ``n_quad`` is a deprecated alias.
    tol : float
        Relative residual :math:`\\max_j |\\Phi_j - r_j| / \\max_j r_j`, > 0.
    maxiter : int
        Newton iterations, >= 1.
    strict : bool
        Raise ``ConvergenceError`` if not converged.
    silent_rate, saturated_rate : float
        Thresholds of ``fraction_silent``/``fraction_saturated`` (as in ``solve``).
    initial : array_like (N,), optional
        Start rates (default: the "population" solution).
    eif_table : bool, optional
        Evaluate EIF rates from a bicubic-spline table of log Phi(mu, sigma) instead of
        one threshold integration per neuron (relative error ~1e-5; the error measured at
        the solution on up to 500 neurons is returned in ``extra["eif_table_error"]``).
        Default: True when an EIF population has more than 1000 neurons.
    time_budget : float
        Wall-time limit, s.

    Returns
    -------
    NetworkMeanFieldResult

    Raises
    ------
    TypeError, ValueError
        Wrong types or shapes, non-finite weights, populations other than 0/1, negative
        k_X, a size that does not match ``params.N``, an unknown mode or filter.
    ConvergenceError
        With ``strict=True`` when not converged.

    Notes
    -----
    **Quenched-input correction.** The rates of a neuron's presynaptic partners scatter
    around their population means with variance :math:`V_b` (out-degree weighted). A
    mean input computed from population means (``presynaptic="population"``) misses the
    resulting neuron-to-neuron spread of :math:`\\mu_j`, Gaussian with variance

    .. math:: s_j^2 = \\tau_m^2 \\sum_b \\Big(\\sum_{k \\in b} J_{jk}^2\\Big) V_b
              \\;\\approx\\; \\tau_m^2 \\sum_b J_{ab}^2 K_{ab} \\mathrm{Var}(r_b),

    and ``quenched=True`` replaces :math:`\\Phi(\\mu_j, \\sigma_j)` by
    :math:`E_z[\\Phi(\\mu_j + s_j z, \\sigma_j)]`, :math:`z \\sim N(0, 1)` (Gauss-Hermite,
    ``n_nodes`` nodes), with :math:`V_b` solved self-consistently. In "population" mode
    this is the standard quenched-disorder theory (van Vreeswijk & Sompolinsky 1998;
    Roxin et al. 2011). In "neuron" mode :math:`\\mu_j` already contains the realised
    presynaptic rates, so the spread is an *additional* assumption: it models presynaptic
    rates that deviate from the theory's own by as much as the rates scatter (it double
    counts if the theory's per-neuron rates were exact). Report both.

    **Numerics** ("neuron"). Newton on :math:`F(r) = \\Phi(\\mu(r), \\sigma(r)) - r`; each
    linear system is solved by GMRES with the exact Jacobian-vector product (two sparse
    products: :math:`J v` and :math:`J^{\\circ 2} v` split by source) and the inverse of
    :math:`P V^T - I` as preconditioner, :math:`P V^T` the population-mean (rank-2) part of
    the Jacobian in which :math:`J_{jk}` is replaced by :math:`(\\sum_{k' \\in b} J_{jk'})/N_b`.
    Backtracking line search on :math:`|F|^2` with the iterate projected onto
    :math:`r \\ge 0`; Eisenstat-Walker forcing terms. Cost per
    Newton step: O(nnz) per GMRES iteration, a few iterations (measured times:
    benchmarks/README.md).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from meanfield import NetworkParams
    >>> p = NetworkParams.preset("brunel_lif", N=100)
    >>> rng = np.random.default_rng(0)
    >>> pop = (np.arange(100) >= p.N_E).astype(int)
    >>> A = (rng.random((100, 100)) < 0.1).astype(float)
    >>> W = sp.csr_matrix(A * p.J[pop][:, pop])
    >>> res = solve_network(p, W, pop, np.full(100, p.K[0, 2]))
    >>> bool(res.converged)
    True
    """
    t_start = time.perf_counter()
    if not isinstance(params, NetworkParams):
        raise TypeError(f"params must be a NetworkParams, got {type(params).__name__}")
    if presynaptic not in PRESYNAPTIC_MODES:
        raise ValueError(f"presynaptic = {presynaptic!r} is unknown; allowed: {PRESYNAPTIC_MODES}")
    if not isinstance(quenched, (bool, np.bool_)):
        raise TypeError(f"quenched must be a bool, got {type(quenched).__name__}")
    n_nodes = check_int("n_nodes", renamed_keyword("n_nodes", n_nodes, "n_quad", n_quad,
                                                   default=9), lo=1, hi=101)
    check_positive("tol", tol)
    maxiter = check_int("maxiter", maxiter, lo=1)
    silent_rate = check_nonnegative("silent_rate", silent_rate, unit="Hz")
    if saturated_rate is not None:
        saturated_rate = check_positive("saturated_rate", saturated_rate, unit="Hz")
    check_positive("time_budget", time_budget, unit="s")
    N = params.N
    if sp.issparse(W):
        W = sp.csr_matrix(W, dtype=float)
    else:
        W = sp.csr_matrix(check_array("W", W))
    if W.shape != (N, N):
        raise ValueError(f"W has shape {W.shape}; allowed: ({N}, {N}) to match params.N = {N} "
                         f"(use params.with_N({W.shape[0]}) for another size)")
    if W.nnz and not np.all(np.isfinite(W.data)):
        raise ValueError("W contains non-finite weights; allowed: finite values in mV")
    population = np.asarray(population)
    if population.shape != (N,):
        raise ValueError(f"population has shape {population.shape}; expected ({N},)")
    if not np.all((population == 0) | (population == 1)):
        bad = population[(population != 0) & (population != 1)][0]
        raise ValueError(f"population contains {bad.item()!r}; allowed: 0 (E) or 1 (I)")
    population = population.astype(np.int64)
    k_X = check_array("k_X", k_X, lo=0.0)
    if k_X.shape != (N,):
        raise ValueError(f"k_X has shape {k_X.shape}; expected ({N},)")
    filters = resolve_filter(params, filter)
    groups = [np.flatnonzero(population == a) for a in (0, 1)]
    if eif_table is None:
        eif_table = any(nr.kind == "EIF" and g.size > 1000 for nr, g in zip(params.neurons, groups))
    transfer = PopulationTransfer(params, filters, groups, table=bool(eif_table))
    deadline = t_start + time_budget
    model = _NetworkModel(params, W, population, k_X, transfer, bool(quenched), n_nodes)

    # --- population-mode solution (the answer in that mode, the start otherwise)
    try:
        R0 = np.maximum(balanced_rates(params), 0.1)
    except ValueError:
        R0 = np.full(2, 1.0)
    pmap = _PopulationMap(model)
    y0 = np.concatenate([R0, np.zeros(2)]) if quenched else R0
    if quenched:
        y0[2:] = 1e-6
    y, conv_p, it_p, msg_p = _newton(pmap, y0, min(tol, 1e-10), 60, deadline)
    if not conv_p:
        y, conv_p, it2, msg_p = _relax(pmap, y0, min(tol, 1e-10), 500, deadline)
        it_p += it2
    iterations = it_p
    if presynaptic == "population":
        out = pmap.rates(y)
        rate, mu, var, var_src, mu_src, sigma, tau, s = out
        F = pmap(y)[0]
        residual = float(np.max(np.abs(F)) / max(np.max(np.abs(y)), 1e-12))
        converged, method, message = conv_p, "newton (population)", msg_p
    else:
        if initial is not None:
            r0 = check_array("initial", initial, lo=0.0)
            if r0.shape != (N,):
                raise ValueError(f"initial has shape {r0.shape}; expected ({N},)")
        else:
            start = pmap.rates(y)
            r0 = start[0] if start is not None else R0[population]
        rate, e, converged, it, message = _newton_krylov(model, r0, tol, maxiter, deadline)
        iterations += it
        method = "newton-krylov"
        if e is None:
            mu = var = sigma = tau = s = np.full(N, np.nan)
            mu_src = np.full((3, N), np.nan)
            residual = np.inf
        else:
            mu, var, var_src, mu_src = model.moments(rate)
            R_, V_ = model.stats(rate)
            s = model.quenched_sd(V_)
            (rate2, *_), sigma, tau = model.phi(mu, var, var_src, s, False)
            residual = float(np.max(np.abs(rate2 - rate)) / max(np.max(np.abs(rate2)), 1e-12))
            rate = rate2
    R, V = model.stats(rate)
    drive = (mu - model.E_L) / model.tau_m
    exc = mu_src[0] + mu_src[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        bindex = np.where(exc > 0, np.abs(mu - model.E_L) / np.where(exc > 0, exc, 1.0), np.nan)
    if saturated_rate is None:
        sat = np.array([SATURATED_FRACTION / nr.tau_ref if nr.tau_ref > 0 else np.inf
                        for nr in params.neurons])
    else:
        sat = np.full(2, float(saturated_rate))
    extra = {}
    if any(t is not None for t in transfer.tables) and np.all(np.isfinite(mu)):
        extra["eif_table_error"] = _table_error(params, transfer, mu, sigma, s, model)
    frac = lambda cond: np.array([cond[g].mean() if g.size else np.nan for g in groups])
    if not converged and not message.startswith("did not converge"):
        message = "did not converge: " + message
    result = NetworkMeanFieldResult(
        rate=rate, mu=mu, sigma=sigma, tau_s=tau, drive=drive, balance_index=bindex,
        sigma_quenched=s, population=population, mean_rate=frac(rate), R_pooled=R,
        rate_variance=V, fraction_silent=frac(rate < silent_rate),
        fraction_saturated=frac(rate > sat[population]), silent_rate=float(silent_rate),
        saturated_rate=sat, converged=bool(converged), residual=float(residual),
        iterations=int(iterations), nmatvec=int(model.nmatvec), method=method,
        message=message, N=N, params=params, filter=tuple(filters), presynaptic=presynaptic,
        quenched=bool(quenched), wall_time=time.perf_counter() - t_start, extra=extra)
    if strict and not result.converged:
        raise ConvergenceError(f"solve_network(N = {N}) did not converge: {result.message}",
                               result)
    return result

r"""Neuron-level self-consistency on a realised sparse graph (docs/theory.md section 4).

``solve_network(params, W, population, k_X)`` finds one rate per neuron such that

.. math::
    r_j = \Phi_{a(j)}(\mu_j, \sigma_j),\qquad
    \mu_j = E_L + \tau_m\Big(\sum_k J_{jk} r_k + J_{aX} K_{jX} r_X\Big),\qquad
    \sigma_j^2 = \tau_m\Big(\sum_k J_{jk}^2 r_k + J_{aX}^2 K_{jX} r_X\Big),

with the realised weights :math:`J_{jk}` (CSR, post x pre, mV) and external in-degrees
:math:`K_{jX}`; optionally with the quenched-input correction (below). The system has N
unknowns and :math:`\sqrt N`-stiff population modes, so it is solved by an inexact
Newton-Krylov method (GMRES) preconditioned with the exact inverse of the rank-2
population-mean part of the Jacobian (Sherman-Morrison-Woodbury); the remaining
random-graph part has O(1) spectral radius and GMRES needs a few iterations per step.
The methods live in ``meanfield.roots`` ("newton_krylov" here; "newton" and "relaxation"
for the few unknowns of the population mode); the result type ``NetworkMeanFieldResult``
lives in ``meanfield.result`` and is re-exported here.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from . import roots
from . import transfer as _transfer
from ._phi import PopulationTransfer, resolve_filter
from .checks import check_array, check_int, check_solver_options, renamed_keyword
from .diagnostics import SILENT_RATE, saturation_threshold
from .errors import ConvergenceError
from .params import NetworkParams
from .regime import warn_regime
from .balance import balanced_rates
from .result import NetworkMeanFieldResult
from .roots import RootProblem, relative_residual

__all__ = ["solve_network", "NetworkMeanFieldResult", "PRESYNAPTIC_MODES", "NETWORK_METHODS"]

PRESYNAPTIC_MODES = ("neuron", "population")
"""``"neuron"``: each neuron sums the self-consistent rates of its actual presynaptic
partners (docs/theory.md section 4). ``"population"``: each neuron sees its realised summed
weights per source times the out-degree-weighted population mean rate (the per-neuron
degree theory: heterogeneity from in-degrees only)."""

NETWORK_METHODS = {"neuron": ("auto", "newton_krylov"),
                   "population": ("auto", "newton", "relaxation", "newton_krylov")}
"""Allowed ``method`` values of ``solve_network`` per ``presynaptic`` mode: the N unknowns
of "neuron" need the matrix-free "newton_krylov"; "auto" is "newton_krylov" there and
"newton" then "relaxation" for the 2-4 unknowns of "population"."""


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
        tau, scale, dtau, dscale = self.transfer.filter_terms(var_src, var)
        filt = (scale, dtau, dscale)
        if not self.quenched or not np.any(s > 0):
            out = self.transfer.evaluate(mu, sigma, tau, derivatives, scale=scale)
            return (*out, np.zeros(self.N) if derivatives else None), sigma, tau, filt
        q = self.z.size
        mu_q = (mu[None, :] + s[None, :] * self.z[:, None]).ravel()

        def rep(x):
            return np.broadcast_to(x, (q, self.N)).ravel()

        if self._tiled is None:
            self._tiled = self.transfer.tiled(q, self.N)
        r_q, rm_q, rs_q, rt_q, rc_q = self._tiled.evaluate(mu_q, rep(sigma), rep(tau), derivatives,
                                                           scale=rep(scale))

        def avg(x):
            return self.zw @ x.reshape(q, self.N)

        if not derivatives:
            return (avg(r_q), None, None, None, None, None), sigma, tau, filt
        r_s = self.zw @ (rm_q.reshape(q, self.N) * self.z[:, None])   # d<Phi>/ds
        return (avg(r_q), avg(rm_q), avg(rs_q), avg(rt_q), avg(rc_q), r_s), sigma, tau, filt


# =============================================================================== neuron mode
def _neuron_evaluate(model: _NetworkModel, r, derivatives: bool):
    """Phi at the rates r and what the Jacobian needs (None where Phi cannot be evaluated)."""
    mu, var, var_src, mu_src = model.moments(r)
    if np.any(var < 0) or not np.all(np.isfinite(mu)):
        return None
    R, V = model.stats(r)
    s = model.quenched_sd(V)
    (phi, p_mu, p_sig, p_tau, p_scale, p_s), sigma, tau, filt = model.phi(mu, var, var_src, s,
                                                                           derivatives)
    if not np.all(np.isfinite(phi)):
        return None
    return {"F": phi - r, "phi": phi, "p_mu": p_mu, "p_sig": p_sig, "p_tau": p_tau,
            "p_scale": p_scale, "filt": filt,
            "p_s": p_s, "sigma": sigma, "tau": tau, "var": var, "R": R, "s": s, "mu": mu,
            "mu_src": mu_src}


def _phi_residual(F, r) -> float:
    r""":math:`\max_j |\Phi_j - r_j| / \max_j \Phi_j` with :math:`\Phi = r + F`."""
    return float(np.max(np.abs(F))) / max(float(np.max(np.abs(r + F))), 1e-12)


def _neuron_problem(model: _NetworkModel) -> RootProblem:
    """F(r) = Phi(mu(r), sigma(r)) - r with its Jacobian as a preconditioned LinearOperator.

    The Jacobian-vector product is exact (two sparse products); the preconditioner is the
    exact inverse of the population-mean (rank-2) part (Sherman-Morrison-Woodbury).
    Trial rates are projected onto r >= 0.
    """
    N = model.N

    def jacobian_ops(e, r):
        sig = np.maximum(e["sigma"], 1e-300)
        a_mu = e["p_mu"] * model.tau_m
        a_sig = e["p_sig"] / (2.0 * sig) * model.tau_m
        _, dtau, dscale = e["filt"]
        a_tau = [model.tau_m * (e["p_tau"] * dtau[b] + e["p_scale"] * dscale[b]) for b in (0, 1)]
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

    def fun(r):
        e = _neuron_evaluate(model, r, False)
        return None if e is None else e["F"]

    def fun_and_jac(r):
        e = _neuron_evaluate(model, r, True)
        return (None, None) if e is None else (e["F"], jacobian_ops(e, r))

    return RootProblem(fun=fun, fun_and_jac=fun_and_jac, residual=_phi_residual,
                       project=lambda r: np.maximum(r, 0.0))


# =============================================================================== population mode
class _PopulationMap:
    """Unknowns y = (R_E, R_I[, V_E, V_I]) of the per-neuron degree theory."""

    def __init__(self, model: _NetworkModel):
        self.model = model
        self.m = 4 if model.quenched else 2

    def rates(self, y, derivatives=False):
        mdl = self.model
        if not np.all(np.isfinite(y)) or np.any(y < 0):   # rates and variances are >= 0
            return None
        mu, var, var_src, mu_src = mdl.moments_population(y[:2])
        if np.any(var < 0):
            return None
        s = mdl.quenched_sd(y[2:]) if mdl.quenched else np.zeros(mdl.N)
        (phi, *_), sigma, tau, _ = mdl.phi(mu, var, var_src, s, derivatives)
        return phi, mu, var, var_src, mu_src, sigma, tau, s

    def fun(self, y):
        """F(y) = (R, V)(Phi(y)) - y, or None where Phi cannot be evaluated."""
        out = self.rates(y)
        if out is None:
            return None
        R, V = self.model.stats(out[0])
        return (np.concatenate([R, V]) if self.model.quenched else R) - y

    def problem(self) -> RootProblem:
        """Return this map as a ``meanfield.roots.RootProblem`` (finite-difference Jacobian)."""
        return RootProblem(fun=self.fun, in_domain=lambda y: bool(np.all(y >= 0)),
                           residual=relative_residual)


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
def solve_network(params: NetworkParams, W, population, k_X, *, method: str = "auto",
                  filter: str = "auto", presynaptic: str = "neuron", quenched: bool = False,
                  n_nodes: int | None = None, tol: float = 1e-8, maxiter: int | None = None,
                  strict: bool = False,
                  silent_rate: float = SILENT_RATE, saturated_rate: float | None = None,
                  initial=None, eif_table: bool | None = None,
                  time_budget: float = 120.0, n_quad: int | None = None
                  ) -> NetworkMeanFieldResult:
    r"""Self-consistent rate of every neuron of a realised network.

    Parameters
    ----------
    params : NetworkParams
        Neurons, external drive (``r_X``, :math:`J_{aX} = j_{aX}/\sqrt N`), synaptic time
        constants; ``params.N`` must equal the number of neurons.
    W : scipy.sparse matrix or array (N, N)
        Recurrent weights :math:`J_{jk}` in mV, row j postsynaptic, column k presynaptic
        (``graphs.Network.weight_matrix()``). Finite.
    population : array_like of int (N,)
        0 for E, 1 for I.
    k_X : array_like (N,)
        External in-degree of each neuron (number of Poisson inputs), >= 0.
    method : str
        Root-finding method (``meanfield.roots.METHODS``; allowed per mode in
        ``NETWORK_METHODS``). "neuron": "auto" or "newton_krylov" (the same: inexact
        Newton-GMRES from the population-mode solution). "population": "newton",
        "relaxation", "newton_krylov", or "auto" (default) = Newton, then relaxation.
    filter : {"auto", "white", "fourcaud_brunel", "colored"}
        As in ``solve`` (default "auto": "colored" wherever a synaptic time constant is
        > 0); the effective :math:`\tau_s` is the variance-weighted mean of the source
        time constants for "fourcaud_brunel" and the moments rule (with a noise factor)
        for "colored", for each neuron.
    presynaptic : {"neuron", "population"}
        "neuron" (default): :math:`\mu_j` sums the self-consistent rates of j's actual
        presynaptic partners (docs/theory.md section 4). "population": every presynaptic rate
        is replaced by the out-degree-weighted mean rate of its population, so neurons
        differ only through their summed weights (the per-neuron degree theory).
    quenched : bool
        Apply the quenched-input correction (Notes).
    n_nodes : int, optional
        Gauss-Hermite quadrature nodes of the quenched average, in [1, 101] (default 9).
        ``n_quad`` is a deprecated alias.
    tol : float
        Relative residual :math:`\max_j |\Phi_j - r_j| / \max_j \Phi_j` ("neuron"),
        :math:`\max|F|/\max|y|` of the population unknowns ("population"), > 0.
        ``converged`` is True exactly when the reported ``residual`` is <= tol.
    maxiter : int, optional
        Iterations of the method, >= 1 (default: the method's own, 40 for Newton-Krylov,
        60 for Newton, 500 for relaxation). In "neuron" mode the population-mode start is
        solved with the defaults.
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
        k_X, a size that does not match ``params.N``, an unknown mode, filter or method.
    ConvergenceError
        With ``strict=True`` when not converged.

    Notes
    -----
    **Quenched-input correction.** The rates of a neuron's presynaptic partners scatter
    around their population means with variance :math:`V_b` (out-degree weighted). A
    mean input computed from population means (``presynaptic="population"``) misses the
    resulting neuron-to-neuron spread of :math:`\mu_j`, Gaussian with variance

    .. math:: s_j^2 = \tau_m^2 \sum_b \Big(\sum_{k \in b} J_{jk}^2\Big) V_b
              \;\approx\; \tau_m^2 \sum_b J_{ab}^2 K_{ab} \mathrm{Var}(r_b),

    and ``quenched=True`` replaces :math:`\Phi(\mu_j, \sigma_j)` by
    :math:`E_z[\Phi(\mu_j + s_j z, \sigma_j)]`, :math:`z \sim N(0, 1)` (Gauss-Hermite,
    ``n_nodes`` nodes), with :math:`V_b` solved self-consistently. In "population" mode
    this is the standard quenched-disorder theory (van Vreeswijk & Sompolinsky 1998;
    Roxin et al. 2011). In "neuron" mode :math:`\mu_j` already contains the realised
    presynaptic rates, so the spread is an *additional* assumption: it models presynaptic
    rates that deviate from the theory's own by as much as the rates scatter (it double
    counts if the theory's per-neuron rates were exact). Report both.

    **Numerics** ("neuron"). Newton on :math:`F(r) = \Phi(\mu(r), \sigma(r)) - r`; each
    linear system is solved by GMRES with the exact Jacobian-vector product (two sparse
    products: :math:`J v` and :math:`J^{\circ 2} v` split by source) and the inverse of
    :math:`P V^T - I` as preconditioner, :math:`P V^T` the population-mean (rank-2) part of
    the Jacobian in which :math:`J_{jk}` is replaced by :math:`(\sum_{k' \in b} J_{jk'})/N_b`.
    Backtracking line search on :math:`|F|^2` with the iterate projected onto
    :math:`r \ge 0`; Eisenstat-Walker forcing terms (``meanfield.roots.newton_krylov``).
    The rates returned are :math:`\Phi` at the solver's last iterate r, the mean inputs
    those of r, and ``residual`` is :math:`\max_j|\Phi_j - r_j|/\max_j \Phi_j` there.
    Cost per Newton step: O(nnz) per GMRES iteration, a few iterations (measured times:
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
    method = roots.check_method(method, NETWORK_METHODS[presynaptic],
                                f" for presynaptic = {presynaptic!r}")
    n_nodes = check_int("n_nodes", renamed_keyword("n_nodes", n_nodes, "n_quad", n_quad,
                                                   default=9), lo=1, hi=101)
    maxiter, silent_rate, saturated_rate = check_solver_options(
        tol, maxiter, silent_rate, saturated_rate, time_budget)
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
    deadline = time.perf_counter() + time_budget   # after any colored-rate table build
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
    opts = dict(tol=min(tol, 1e-10), deadline=deadline)
    if presynaptic == "population":
        names = ("newton", "relaxation") if method == "auto" else (method,)
        root = roots.attempt(pmap.problem(), [("balanced limit", y0)], names,
                             maxiter=maxiter, **opts)
        out = pmap.rates(root.x)
        if out is None:
            rate = mu = sigma = tau = s = np.full(N, np.nan)
            mu_src = np.full((3, N), np.nan)
            residual = np.inf
        else:
            rate, mu, _, _, mu_src, sigma, tau, s = out
            residual = relative_residual(pmap.fun(root.x), root.x)
    else:
        proot = roots.attempt(pmap.problem(), [("balanced limit", y0)],
                              ("newton", "relaxation"), **opts)
        if initial is not None:
            r0 = check_array("initial", initial, lo=0.0)
            if r0.shape != (N,):
                raise ValueError(f"initial has shape {r0.shape}; expected ({N},)")
        else:
            start = pmap.rates(proot.x)
            r0 = start[0] if start is not None else R0[population]
        root = roots.newton_krylov(_neuron_problem(model), r0, tol=tol, maxiter=maxiter,
                                   deadline=deadline)
        root = dataclasses.replace(root, nit=root.nit + proot.nit)
        e = _neuron_evaluate(model, root.x, False)
        if e is None:
            rate = mu = sigma = tau = s = np.full(N, np.nan)
            mu_src = np.full((3, N), np.nan)
            residual = np.inf
        else:
            rate, mu, mu_src, sigma, tau, s = (e[k] for k in ("phi", "mu", "mu_src", "sigma",
                                                             "tau", "s"))
            residual = float(np.max(np.abs(e["F"]))) / max(float(np.max(np.abs(rate))), 1e-12)
    status, message = roots.judge(root, residual, tol, "the returned rates")
    R, V = model.stats(rate)
    extra = {}
    if any(t is not None for t in transfer.tables) and np.all(np.isfinite(mu)):
        extra["eif_table_error"] = _table_error(params, transfer, mu, sigma, s, model)
    result = NetworkMeanFieldResult(
        rate=rate, mu=mu, sigma=sigma, tau_s=tau, mean_input=np.ascontiguousarray(mu_src.T),
        sigma_quenched=s, population=population, R_pooled=R, rate_variance=V,
        silent_rate=float(silent_rate),
        saturated_rate=saturation_threshold(params.neurons, saturated_rate),
        status=int(status), residual=float(residual), iterations=int(root.nit),
        nmatvec=int(model.nmatvec), method=root.method, message=message, N=N, params=params,
        filter=tuple(filters), presynaptic=presynaptic, quenched=bool(quenched),
        wall_time=time.perf_counter() - t_start, extra=extra)
    warn_regime(params, filters, [np.asarray(tau)[g] for g in groups],
                [R[0], R[1]] if np.all(np.isfinite(R)) else None)
    if strict and not result.converged:
        raise ConvergenceError(f"solve_network(N = {N}) did not converge: {result.message}",
                               result)
    return result


r"""Can the network balance as N -> infinity?  Condition (B) as a linear program.

As N grows with j, p, q fixed, mean inputs stay O(1) for every label only if the
O(sqrt N) bracket vanishes (docs/theory.md section 6):

.. math:: \text{(B)}\qquad \sum_{b\in\{E,I\}} w_{ab}\, E_{t'}[m_{ab}(t, t')\, r_b(t')]
          + X_a\, k^{in}_{aX}(t) = 0 \quad \text{for all labels } t,\qquad r_b \ge 0 .

On the quadrature grid of the labels (B) is a finite set of linear equalities in the
rates on the grid, so feasibility is a linear program (``scipy.optimize.linprog``,
HiGHS). The answer is yes or no. When it is no, the program also returns *one* profile
with the smallest L1 residual; that profile is a tie-break of the program, not where the
network goes as N grows: the N -> infinity limit (which labels stay balanced, which fall
silent, at what rates) is ``meanfield.semi_balanced``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from ._moments import LabelGrid
from .checks import renamed_keyword
from .balance import balanced_rates
from .degree import DegreeModel, resolve_model
from .params import NetworkParams, check_network_params

__all__ = ["balance_feasibility", "FeasibilityResult", "FEASIBILITY_TOL"]

FEASIBILITY_TOL = 1e-7
"""Default threshold on the relative residual below which (B) counts as satisfied. The LP
is solved to HiGHS's default primal tolerance 1e-7 on rows scaled to O(1)."""


@dataclass(frozen=True, eq=False)
class FeasibilityResult:
    r"""Outcome of ``balance_feasibility``.

    Attributes
    ----------
    feasible : bool
        True when (B) has a non-negative solution on the grid (``residual <= tol``).
    residual : float
        Minimal relative L1 residual of (B):
        :math:`\sum_a E_t|\text{bracket}_a(t)| / \lVert X_a k^{in}_{aX}\rVert_{L2}`
        (dimensionless; 0 when balanced).
    min_l1_bracket : ndarray (2, n)
        The bracket :math:`\sum_b w_{ab} E_{t'}[m_{ab} r_b] + X_a k^{in}_{aX}(t)` of the
        profile ``rate``, mV Hz, per label: 0 when feasible. When infeasible it belongs to
        one minimum-L1 profile (among many), so its sign pattern is *not* where balance
        breaks as N grows; for that use ``semi_balanced``, whose bracket is <= 0 everywhere
        and 0 on the active labels. (Was ``residual_profile``, deprecated.)
    rate : ndarray (2, n)
        The optimal profile, Hz: a balanced profile when feasible. Balanced profiles are
        not unique (for a low-rank kernel (B) fixes only some moments of the profile, for
        singular W only a combination of E and I): among the optima this is the one
        closest (weighted L1) to the uniform profile at the balanced rates -W^{-1} X. Its
        moments are what (B) determines; its shape is a tie-break, not the N -> infinity
        limit of ``solve`` (that is ``semi_balanced``).
    t, weights : ndarray (2, n[, dim]), (2, n)
        Label grid and quadrature weights.
    mean_rate : ndarray (2,)
        :math:`E_t[r_a(t)]` of the profile, Hz.
    R : ndarray (2, 2)
        Out-degree-weighted rates of the profile, ``R[a, b]`` =
        :math:`E_{t'}[k^{out}_{ab}(t') r_b(t')]`, Hz.
    tol : float
        Threshold used for ``feasible``.
    message : str
        The LP solver's status message.
    model_name : str
        ``DegreeModel.name`` of the model checked.
    """

    feasible: bool
    residual: float
    min_l1_bracket: np.ndarray
    rate: np.ndarray
    t: np.ndarray
    weights: np.ndarray
    mean_rate: np.ndarray
    R: np.ndarray
    tol: float
    message: str
    model_name: str

    def __bool__(self) -> bool:
        return bool(self.feasible)

    @property
    def residual_profile(self) -> np.ndarray:
        """Deprecated alias of ``min_l1_bracket``.

        It is not where balance breaks in the limit: see ``semi_balanced``.
        """
        warnings.warn("FeasibilityResult.residual_profile is deprecated: it is the bracket of one "
                      "minimum-L1 profile, not the N -> infinity limit; use min_l1_bracket, or "
                      "meanfield.semi_balanced for the limit", DeprecationWarning, stacklevel=2)
        return self.min_l1_bracket


def _reference_rates(params: NetworkParams, fallback) -> np.ndarray:
    """Uniform reference profile for the tie-break: -W^{-1} X if positive, else ``fallback``."""
    try:
        ref = np.asarray(balanced_rates(params), float)
    except ValueError:
        ref = np.full(2, np.nan)
    if not np.all(ref > 0):
        ref = np.asarray(fallback, float)
    return np.where(ref > 0, ref, 1.0)


def _solve_lp(grid: LabelGrid, params: NetworkParams):
    """Non-negative profile of (B) on ``grid`` with the least L1 residual.

    Two stages: (1) minimise the residual; (2) among the profiles within a relative
    1e-9 of that residual, take the one closest in weighted L1 to a uniform profile at the
    balanced rates -W^{-1} X (the program has many optima -- for a low-rank kernel (B) fixes
    only some moments, for singular W only a combination of rates -- and a vertex of stage
    1 is a spiky, unrepresentative profile). Both stages are posed in the moment
    variables of the grid (G = B r, bracket = A_G G + c), which keeps the constraint
    matrix sparse (O(n m) entries instead of the dense (2n)^2 of A = A_G B).

    Returns (r (2n,), residual (float), bracket (2n,), status message, success).
    """
    n = grid.n
    P, m = 2 * n, grid.m
    A_G = sum(np.repeat(params.W[:, b], n)[:, None] * grid.K[b] for b in (0, 1))
    c = np.repeat(params.X, n) * grid.kin[:, 2, :].ravel()
    wts = grid.weights.ravel()
    # row scale per population: RMS of the external bracket (O(1) rows for HiGHS)
    scale = np.sqrt(np.sum(grid.weights * (params.X[:, None] * grid.kin[:, 2, :]) ** 2, axis=1))
    scale = np.where(scale > 0, scale, 1.0)
    srow = np.repeat(scale, n)
    r_max = [1.0 / nr.tau_ref if nr.tau_ref > 0 else None for nr in params.neurons]
    r_bounds = [(0.0, r_max[i // n]) for i in range(P)]
    # ---- stage 1. variables: r (P), G (m, free), s+ (P), s- (P)
    #   B r - G = 0 ;  A_G G / srow - s+ + s- = -c / srow
    Z = sp.csr_matrix
    top = sp.hstack([Z(grid.B), -sp.identity(m), Z((m, 2 * P))])
    bottom = sp.hstack([Z((P, P)), Z(A_G / srow[:, None]), -sp.identity(P), sp.identity(P)])
    A_eq = sp.vstack([top, bottom]).tocsr()
    b_eq = np.concatenate([np.zeros(m), -c / srow])
    cost = np.concatenate([np.zeros(P + m), wts, wts])
    bounds = r_bounds + [(None, None)] * m + [(0.0, None)] * (2 * P)
    res = linprog(cost, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status != 0 or res.x is None:
        return None, np.inf, None, f"linprog status {res.status}: {res.message}", False
    x1, best, message = res.x, float(res.fun), str(res.message)
    # ---- stage 2. extra variables d+ (P), d- (P):  r - d+ + d- = r_ref
    mean1 = np.sum(grid.weights * x1[:P].reshape(2, n), axis=1)
    ref = np.repeat(_reference_rates(params, mean1), n)
    A_eq2 = sp.vstack([
        sp.hstack([A_eq, Z((m + P, 2 * P))]),
        sp.hstack([sp.identity(P), Z((P, m + 2 * P)), -sp.identity(P), sp.identity(P)]),
    ]).tocsr()
    b_eq2 = np.concatenate([b_eq, ref])
    A_ub = sp.hstack([Z((1, P + m)), Z(wts[None, :]), Z(wts[None, :]), Z((1, 2 * P))]).tocsr()
    b_ub = np.array([best * (1.0 + 1e-9) + 1e-12])
    cost2 = np.concatenate([np.zeros(P + m + 2 * P), wts / ref, wts / ref])
    bounds2 = bounds + [(0.0, None)] * (2 * P)
    res2 = linprog(cost2, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq2, b_eq=b_eq2, bounds=bounds2,
                   method="highs")
    x = res2.x if (res2.status == 0 and res2.x is not None) else x1
    r = np.clip(x[:P], 0.0, None)
    # padded nodes (weight 0) are not constrained: copy the last real node's rate
    for a in (0, 1):
        w = grid.weights[a]
        real = np.flatnonzero(w > 0)
        if real.size < n:
            r[a * n + real[-1] + 1:(a + 1) * n] = r[a * n + real[-1]]
    bracket = A_G @ (grid.B @ r) + c
    residual = float(np.sum(wts * np.abs(bracket) / srow))
    return r, residual, bracket, message, True


def balance_feasibility(params: NetworkParams, model: DegreeModel, *, n_nodes: int | None = None,
                        tol: float = FEASIBILITY_TOL, n: int | None = None) -> FeasibilityResult:
    r"""Test condition (B) of the balanced state on the label grid (a linear program).

    Parameters
    ----------
    params : NetworkParams
        Uses ``W`` (:math:`w_{ab} = j_{ab}p_{ab}q_b`, mV), ``X`` (mV Hz) and the refractory
        periods (rates are bounded by :math:`1/\tau_{ref}`); N does not enter.
    model : DegreeModel
        Label distributions and kernels.
    n_nodes : int, optional
        Quadrature nodes per population (default ``model.n_nodes``), >= 1.
    tol : float, optional
        Relative residual below which (B) counts as satisfied, > 0 (default 1e-7).
    n : int, optional
        Deprecated name of ``n_nodes`` (DeprecationWarning).

    Returns
    -------
    FeasibilityResult
        ``feasible``, the balanced profile when feasible, the minimal residual and one
        minimum-L1 profile when not. For the N -> infinity limit of an infeasible network
        (which labels stay balanced, which fall silent, their rates) use
        ``meanfield.semi_balanced``.

    Raises
    ------
    TypeError
        ``params`` or ``model`` of the wrong type.
    ValueError
        Kernel or external in-degree factor outside [0, 1/p] on the grid.

    Notes
    -----
    With nodes :math:`t_{a,i}`, weights :math:`w_{a,i}` the program is

    .. math::
        \min_{r, s^\pm \ge 0} \sum_{a,i} \frac{w_{a,i}}{\nu_a}(s^+_{a,i} + s^-_{a,i})
        \quad\text{s.t.}\quad
        \sum_{b,j} w_{ab}\, m_{ab}(t_{a,i}, t_{b,j})\, w_{b,j}\, r_{b,j} + X_a k^{in}_{aX}(t_{a,i})
        = s^+_{a,i} - s^-_{a,i},\quad 0 \le r_{b,j} \le 1/\tau_{ref,b},

    :math:`\nu_a` the RMS of :math:`X_a k^{in}_{aX}` over the labels. Homogeneous network:
    feasible iff :math:`-W^{-1}X \ge 0`. Separable kernels
    :math:`m = \alpha_{ab}(t)\beta(t')`: feasible only if :math:`\alpha_{aE}, \alpha_{aI}`
    and :math:`k^{in}_{aX}` are linearly dependent on the support (docs/theory.md section 6), so
    Case B (recurrent in-degree heterogeneity, homogeneous external input) is infeasible
    and Case A (all in-degrees scale together) feasible. The grid version is exact for
    low-rank kernels whose factors the quadrature integrates exactly; otherwise it is a
    discretisation with the solver's grid. Cost: two sparse HiGHS LPs with O(n) variables
    (measured times: benchmarks/README.md).

    Examples
    --------
    >>> from meanfield import DegreeModel, NetworkParams
    >>> p = NetworkParams.preset("akil2021")
    >>> balance_feasibility(p, DegreeModel.assortative(3.0, (0.5, 1.5))).feasible
    True
    >>> b = DegreeModel.recurrent_indegree("normal", 0.15, support=(0.6, 1.4))
    >>> balance_feasibility(p, b).feasible
    False
    """
    params = check_network_params(params)
    model = resolve_model(model, allow_none=False)
    if not (isinstance(tol, (int, float)) and tol > 0):
        raise ValueError(f"tol = {tol!r} is out of range; allowed: a number > 0")
    grid = LabelGrid(params, model, renamed_keyword("n_nodes", n_nodes, "n", n))
    r, residual, bracket, message, ok = _solve_lp(grid, params)
    nn = grid.n
    if not ok:
        nan = np.full((2, nn), np.nan)
        return FeasibilityResult(False, np.inf, nan, nan, grid.t, grid.weights,
                                 np.full(2, np.nan), np.full((2, 2), np.nan), tol, message,
                                 model.name)
    rate = r.reshape(2, nn)
    mean_rate = np.sum(grid.weights * rate, axis=1)
    R = np.einsum("bj,abj,bj->ab", grid.weights, grid.kout, rate)
    return FeasibilityResult(bool(residual <= tol), residual, bracket.reshape(2, nn), rate,
                             grid.t, grid.weights, mean_rate, R, tol, message, model.name)

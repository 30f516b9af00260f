r"""The semi-balanced limit: where balance breaks as N -> infinity (docs/theory.md section 11).

Along the balanced scaling (j, p, q fixed) the mean input of a neuron of population a
with label t is :math:`\mu_a(t) = E_L + \tau_m\sqrt N\,\beta_a(t) + O(1)` with the
O(sqrt N) bracket of condition (B) (docs/theory.md section 6)

.. math:: \beta_a(t) = \sum_{b\in\{E,I\}} w_{ab}\,E_{t'}[m_{ab}(t,t')\,r_b(t')]
          + X_a\,k^{in}_{aX}(t) \qquad (\text{mV Hz}).

Because the transfer function rises from 0 (mu -> -inf) to 1/tau_ref (mu -> +inf), the
N -> infinity limit of the self-consistency r = Phi(mu, sigma) is the *semi-balanced
state* of Baker, Zhu & Rosenbaum (PLoS Comput. Biol. 16, e1008192, 2020), here with the
refractory bound :math:`r_{max} = 1/\tau_{ref}` as a box: for every label t and
population a,

.. math::
    r = 0 &\;\Rightarrow\; \beta \le 0 \quad(\text{silent: excess inhibition}),\\
    0 < r < r_{max} &\;\Rightarrow\; \beta = 0 \quad(\text{balanced}),\\
    r = r_{max} &\;\Rightarrow\; \beta \ge 0 \quad(\text{saturated}).

Excess excitation (beta > 0) is allowed only at the maximal rate; with ``r_max=None``
(or tau_ref = 0) it is not allowed at all and the problem is the plain linear
complementarity problem (LCP) r >= 0, beta <= 0, r beta = 0 of the issue. On the label
grid this is a box-constrained (mixed) LCP in the rates of the grid nodes.
``semi_balanced`` solves it, prefers the balanced state where (B) is feasible, and says
whether the profile is unique.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

from ._moments import LabelGrid
from .degree import DegreeModel, resolve_model
from .errors import ConvergenceError, ParameterError
from .diagnostics import label_expectation
from .params import POPULATIONS, NetworkParams, check_network_params, population_index

__all__ = ["semi_balanced", "SemiBalancedResult", "COMPLEMENTARITY_TOL"]

COMPLEMENTARITY_TOL = 1e-9
"""Default bound on the relative complementarity residual of the returned state (the
natural residual, see ``SemiBalancedResult.complementarity``). The path and the
minimum-norm step are exact linear algebra, so the residual is rounding (~1e-14)."""

_BRACKET_ZERO = 1e-9     # |bracket| <= this * bracket scale counts as zero (balanced label)
_FEASIBLE_LP_TOL = 1e-7  # relative L1 residual of (B) below which the balanced face is tried
_ENUMERATE_MAX = 6       # up to this many labels in all, every sign pattern is tried
_SEEDS = (20200, 20201)  # covering vectors of the two complementary-pivot paths (fixed: the
                         # result must not depend on a global random state)


# ============================================================================ result
@dataclass(frozen=True, eq=False)
class SemiBalancedResult:
    r"""The N -> infinity limit of the degree-space self-consistency (frozen).

    Per-label arrays have shape (2, n) like ``MeanFieldResult``: row 0 is E, row 1 is I,
    columns the quadrature nodes (``t``, ``weights``); padded nodes (weight 0) copy the
    last real node.

    Attributes
    ----------
    rate : ndarray (2, n)
        Limiting rate of each label, Hz (NaN only when ``success`` is False and no state
        was found).
    bracket : ndarray (2, n)
        The O(sqrt N) bracket :math:`\beta_a(t)` at this state, mV Hz: <= 0 on silent
        labels, 0 on balanced ones, >= 0 on saturated ones. The finite-N mean input is
        :math:`\mu = E_L + \tau_m\sqrt N\,\beta + O(1)`.
    t, weights, label : ndarray
        Labels (2, n[, dim]), quadrature weights (2, n; rows sum to 1) and the scalar label
        coordinate (2, n; the in-degree component of vector labels).
    active : ndarray of bool (2, n)
        Rate > 0: the active set.
    balanced : ndarray of bool (2, n)
        Bracket = 0 (to ``_BRACKET_ZERO`` relative): labels whose O(sqrt N) input cancels.
    saturated : ndarray of bool (2, n)
        Rate = ``r_max`` (bracket >= 0 allowed there).
    r_max : ndarray (2,)
        The rate bound used, Hz (inf: unbounded).
    mean_rate : ndarray (2,)
        Population means :math:`E_t[r_a(t)]`, Hz.
    R : ndarray (2, 2)
        Out-degree-weighted rates ``R[a, b]`` = :math:`E_{t'}[k^{out}_{ab}(t') r_b(t')]`, Hz.
    active_fraction, saturated_fraction : ndarray (2,)
        Weight of the active and of the saturated labels.
    feasible : bool
        True when the state is balanced on every label (condition (B) holds): then it is
        the balanced solution (homogeneous: -W^{-1} X; Case C: R = -W^{-1} X,
        Cov(t, r) = -R/c).
    unique : bool
        True when no other profile has the same bracket and gives labels with identical
        inputs identical rates (linear algebra, then an LP over the set of such profiles),
        and the second complementary-pivot path found no other state. The LCP matrix is
        not a P-matrix (recurrent excitation makes its diagonal negative for E labels), so
        several semi-balanced states can exist in principle; ``unique`` does not prove there is no other one.
    degeneracy : str
        What the LCP leaves undetermined and how the returned profile is chosen (empty when
        nothing is).
    complementarity : float
        Relative natural residual
        :math:`\max_i |r_i - \mathrm{mid}(0, r_{max}, r_i + \rho\,\beta_i)| / r_s`,
        :math:`r_s = \max(1\,\mathrm{Hz}, \max r)`, :math:`\rho = r_s / \beta_s` with
        :math:`\beta_s` the RMS external bracket of the population: 0 for an exact solution.
    success : bool
        A state was found and ``complementarity <= tol``.
    status : int
        0 success; 1 a state was found but its complementarity residual exceeds ``tol``;
        2 no state found (complementary-pivot path ended on a ray, or degenerate).
    message : str
        What the solver did, and why it failed when ``success`` is False.
    method : str
        "lemke" (complementary-pivot path) or "balanced" (condition (B) feasible: linear
        program, then the minimum-norm balanced profile).
    pivots : int
        Segments of the complementary-pivot paths (the work done; each costs one small
        dense solve and O(n m) for the brackets).
    model_name : str
        ``DegreeModel.name`` of the model solved.
    wall_time : float
        Wall time, s.
    """

    rate: np.ndarray
    bracket: np.ndarray
    t: np.ndarray
    weights: np.ndarray
    label: np.ndarray
    active: np.ndarray
    balanced: np.ndarray
    saturated: np.ndarray
    r_max: np.ndarray
    mean_rate: np.ndarray
    R: np.ndarray
    active_fraction: np.ndarray
    saturated_fraction: np.ndarray
    feasible: bool
    unique: bool
    degeneracy: str
    complementarity: float
    success: bool
    status: int
    message: str
    method: str
    pivots: int
    model_name: str
    wall_time: float = 0.0
    _face: dict = field(default=None, repr=False)

    def expect(self, population, f=None) -> float:
        r""":math:`E_t[f(t)\, r_a(t)]` over the label distribution of ``population``, Hz.

        Parameters
        ----------
        population : "E", "I", 0 or 1
        f : callable of the labels, array (n,) or None (then f = 1: the mean rate)
        """
        a = population_index(population)
        return label_expectation(self.t[a], self.weights[a], self.rate[a], f)

    def distance(self, rate, kind: str = "cumulative") -> np.ndarray:
        r"""Distance of a profile ``rate`` (2, n) on the same grid to this limit, Hz, per population.

        Parameters
        ----------
        rate : array (2, n)
            A profile on this result's label grid (e.g. ``solve(...).rate`` with the same ``n``).
        kind : {"cumulative", "l1"}
            "l1": :math:`E_t|r_a(t) - r^\infty_a(t)|`. "cumulative" (default):
            :math:`E_t|C_a(t) - C^\infty_a(t)|` with :math:`C_a(t) = E_{t'}[r_a(t')\,
            1\{t' \le t\}]` the rate carried by labels up to t (ordered by ``label``): an
            earth-mover (Wasserstein-1) distance in label quantile. Where balance breaks the
            activity concentrates on a vanishing set of low labels whose rates approach
            :math:`1/\tau_{ref}` very slowly (an LIF rate approaches it like 1/mu, and the mu
            of these labels grows like sqrt(N) times a small bracket); the profiles converge
            much sooner as distributions of activity over labels, which "cumulative"
            measures and "l1" does not.

        Returns
        -------
        ndarray (2,)
            The minimum over the semi-balanced profiles of this state (the returned profile
            itself when ``unique``; when not, the nearest member of the set, found by a
            linear program, so the distance tends to 0 whichever member the finite-N
            solution approaches). NaN if the state was not found.
        """
        rate = np.asarray(rate, float)
        if rate.shape != self.rate.shape:
            raise ParameterError(f"rate has shape {rate.shape}; allowed: {self.rate.shape} "
                                 f"(the same label grid as the limit)", field="rate")
        if kind not in ("cumulative", "l1"):
            raise ParameterError(f"kind = {kind!r}; allowed: 'cumulative' or 'l1'", field="kind")
        if self._face is None or not np.all(np.isfinite(self.rate)):
            return np.full(2, np.nan)
        nn = self.rate.shape[1]
        w = self.weights.ravel()
        T = np.zeros((2 * nn, 2 * nn))                 # the linear map the distance looks through
        for a in (0, 1):
            blk = slice(a * nn, (a + 1) * nn)
            if kind == "l1":
                T[blk, blk] = np.eye(nn)
            else:
                order = np.argsort(self.label[a], kind="stable")
                pos = np.empty(nn, dtype=np.int64)
                pos[order] = np.arange(nn)
                T[blk, blk] = (pos[None, :] <= pos[:, None]) * self.weights[a][None, :]
        x = rate.ravel()
        face = self._face
        if face["singleton"]:
            return (w * np.abs(T @ (x - self.rate.ravel()))).reshape(2, -1).sum(axis=1)
        Z, g, V, h, u = face["Z"], face["g"], face["V"], face["h"], face["u"]
        G, k, P2 = V.shape[0], V.shape[1], 2 * nn
        r_fixed = self.rate.ravel().copy()
        r_fixed[Z] = 0.0
        emb = np.zeros((P2, G))                        # r = r_fixed + emb @ r_g
        emb[Z, g] = 1.0
        # padded nodes (weight 0) copy the last real node: carry that into the embedding
        for a in (0, 1):
            real = np.flatnonzero(self.weights[a] > 0)
            for i in range(real[-1] + 1, nn):
                emb[a * nn + i] = emb[a * nn + real[-1]]
        # variables (r_g, s+, s-): min sum w (s+ + s-)  s.t.  T emb r_g - s+ + s- = T (x - r_fixed),
        #                                                   V^T r_g = h
        A_eq = np.block([[T @ emb, -np.eye(P2), np.eye(P2)], [V.T, np.zeros((k, 2 * P2))]])
        b_eq = np.concatenate([T @ (x - r_fixed), h])
        cost = np.concatenate([np.zeros(G), w, w])
        bounds = [(0.0, float(ui) if np.isfinite(ui) else None) for ui in u] + [(0.0, None)] * (2 * P2)
        res = linprog(cost, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if res.status != 0 or res.x is None:
            return np.full(2, np.nan)
        r_near = r_fixed + emb @ res.x[:G]
        return (w * np.abs(T @ (x - r_near))).reshape(2, -1).sum(axis=1)

    def summary(self) -> str:
        """Return a few lines for humans: status, rates, diagnostics."""
        state = "balanced (condition (B) holds)" if self.feasible else "semi-balanced"
        lines = [f"SemiBalancedResult: {self.model_name}, {state}, "
                 f"{'unique' if self.unique else 'NOT unique'}, "
                 f"{'success' if self.success else 'FAILED'} ({self.method}, {self.pivots} pivots, "
                 f"complementarity {self.complementarity:.1e})"]
        for a, pop in enumerate(POPULATIONS):
            w = self.weights[a]
            lines.append(f"  {pop}: mean rate {self.mean_rate[a]:.4g} Hz, active fraction "
                         f"{self.active_fraction[a]:.4g} (saturated {self.saturated_fraction[a]:.4g}), "
                         f"active labels {_label_range(self.label[a], self.active[a] & (w > 0))}")
        if self.degeneracy:
            lines.append("  " + self.degeneracy)
        lines.append("  " + self.message)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-friendly dict (arrays as lists)."""
        out = {}
        for name in self.__dataclass_fields__:
            if name.startswith("_"):
                continue
            v = getattr(self, name)
            out[name] = v.tolist() if isinstance(v, np.ndarray) else v
        return out


def _label_range(label, mask) -> str:
    if not mask.any():
        return "none"
    lo, hi = float(label[mask].min()), float(label[mask].max())
    return f"{lo:.4g}" if lo == hi else f"{lo:.4g} ... {hi:.4g}"


# ============================================================================ the problem
class _Problem:
    """The box LCP on the real (positive-weight) nodes: bracket = Ag @ (Bm @ r) + c."""

    def __init__(self, grid: LabelGrid, params: NetworkParams, r_max: np.ndarray):
        n = grid.n
        W, X = params.W, params.X
        Ag_full = sum(np.repeat(W[:, b], n)[:, None] * grid.K[b] for b in (0, 1))
        c_full = np.repeat(X, n) * grid.kin[:, 2, :].ravel()
        w_full = grid.weights.ravel()
        self.real = np.flatnonzero(w_full > 0)
        self.pop = np.repeat([0, 1], n)[self.real]
        self.Ag_full, self.c_full, self.B_full = Ag_full, c_full, grid.B
        self.Ag = Ag_full[self.real]
        self.Bm = grid.B[:, self.real]
        self.c = c_full[self.real]
        self.w = w_full[self.real]
        self.u = r_max[self.pop]
        # per-population bracket scale (mV Hz): RMS of the external bracket, else of A
        scale = np.sqrt(np.sum(grid.weights * (X[:, None] * grid.kin[:, 2, :]) ** 2, axis=1))
        for a in (0, 1):
            if not scale[a] > 0:
                rows = self.Ag[self.pop == a]
                scale[a] = float(np.max(np.abs(rows))) if rows.size and np.any(rows) else 1.0
        self.bscale = scale[self.pop]
        self.P = self.real.size
        self.qr = None                   # QR of Ag, computed on first use
        # labels with identical inputs (mean and variance contributions of every source at
        # any N, identical neuron model) have identical rates at every finite N: the
        # tie-break keeps that (across populations too, e.g. identical E and I neurons)
        co = grid.coefficients(params)
        neuron = np.array([0, 0 if params.neurons[0] == params.neurons[1] else 1])[self.pop]
        keys = np.column_stack([co["Cmu"][0][self.real], co["Cmu"][1][self.real],
                                co["Csig"][0][self.real], co["Csig"][1][self.real],
                                co["mu_X"][self.real], co["var_X"][self.real], neuron])
        colscale = np.max(np.abs(keys), axis=0)
        keys = np.round(keys / np.where(colscale > 0, colscale, 1.0), 11)
        self.group = np.unique(keys, axis=0, return_inverse=True)[1].ravel()

    def bracket(self, r):
        return self.Ag @ (self.Bm @ r) + self.c

    def columns(self, rows, cols):
        return self.Ag[rows] @ self.Bm[:, cols]

    def natural_residual(self, r) -> float:
        beta = self.bracket(r)
        r_s = max(1.0, float(np.max(r))) if r.size else 1.0
        rho = r_s / self.bscale
        phi = r - np.clip(r + rho * beta, 0.0, self.u)
        return float(np.max(np.abs(phi)) / r_s) if r.size else 0.0


# ============================================================================ the path
def _lemke(prob: _Problem, d: np.ndarray, max_pivots: int):
    """Complementary-pivot path (Lemke 1965) of the box LCP, in compact form.

    The artificial variable enters as a uniform extra inhibition ``lam * d``: the path
    starts at r = 0 with lam large (every augmented bracket ``beta - lam d`` negative) and
    follows the piecewise-linear set of solutions of the augmented problem as labels turn
    balanced, saturated or silent, until lam = 0. Each segment solves one dense system of
    size (balanced labels + 1). With a finite box and d > 0 the path cannot end on a ray
    (for lam large only r = 0 solves the augmented problem), so it ends at a solution.

    Returns (r or None, pivots, message).
    """
    P = prob.P
    c, u = prob.c, prob.u
    state = np.zeros(P, np.int8)        # 0 silent (r = 0), 1 balanced (basic), 2 saturated
    r = np.zeros(P)
    ratio = c / d
    i0 = int(np.argmax(ratio))
    if not ratio[i0] > 0:
        return r, 0, "every bracket is <= 0 with all labels silent: r = 0"
    lam = float(ratio[i0])
    Z = [i0]
    state[i0] = 1
    kind, e, s = "col", i0, 1.0
    beta = c - lam * d                  # augmented bracket A r + c - lam d
    for piv in range(1, max_pivots + 1):
        Zarr = np.array(Z, dtype=np.int64)
        try:
            if kind == "col":
                keep = Zarr != e
                M = np.empty((Zarr.size, Zarr.size))
                M[:, :-1] = prob.columns(Zarr, Zarr[keep])
                M[:, -1] = -d[Zarr]
                rhs = -s * prob.columns(Zarr, np.array([e]))[:, 0]
                y = np.linalg.solve(M, rhs)
                dr = np.empty(Zarr.size)
                dr[keep] = y[:-1]
                dr[~keep] = s
            else:
                rows = np.append(Zarr, e)
                M = np.empty((rows.size, rows.size))
                M[:, :-1] = prob.columns(rows, Zarr)
                M[:, -1] = -d[rows]
                rhs = np.zeros(rows.size)
                rhs[-1] = s
                y = np.linalg.solve(M, rhs)
                dr = y[:-1]
            # near-singular systems give huge or inaccurate steps (cheaper than a condition number)
            rs = max(float(np.max(np.abs(rhs))), 1e-300)
            if not (np.all(np.isfinite(y)) and np.max(np.abs(M)) * np.max(np.abs(y)) < 1e13 * rs
                    and np.max(np.abs(M @ y - rhs)) <= 1e-9 * rs):
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            return None, piv, (f"degenerate pivot at segment {piv} ({Zarr.size} balanced labels "
                               f"with linearly dependent brackets)")
        dlam = float(y[-1])
        dbeta = prob.Ag @ (prob.Bm[:, Zarr] @ dr) - d * dlam
        # ---- ratio test: the first constraint the segment meets
        rz, uz = r[Zarr], u[Zarr]
        sdr = 1e-13 * max(float(np.max(np.abs(dr), initial=0.0)), 1e-300)
        sdb = 1e-13 * max(float(np.max(np.abs(dbeta))), 1e-300)
        lo = dr < -sdr
        hi = (dr > sdr) & np.isfinite(uz)
        up = np.flatnonzero((state == 0) & (dbeta > sdb))
        down = np.flatnonzero((state == 2) & (dbeta < -sdb))
        with np.errstate(divide="ignore", invalid="ignore"):
            th = np.concatenate([np.where(lo, np.maximum(rz, 0.0) / -dr, np.inf),
                                 np.where(hi, np.maximum(uz - rz, 0.0) / dr, np.inf),
                                 np.maximum(-beta[up], 0.0) / dbeta[up],
                                 np.maximum(beta[down], 0.0) / -dbeta[down]])
            mag = np.concatenate([-dr, dr, dbeta[up], -dbeta[down]])
        th_lam = lam / -dlam if dlam < 0 else np.inf
        best = float(np.min(th)) if th.size else np.inf
        if np.isfinite(th_lam) and th_lam <= best * (1 + 1e-12):
            r[Zarr] = np.minimum(np.maximum(rz + th_lam * dr, 0.0), uz)
            return r, piv, f"complementary-pivot path: {piv} segments"
        if not np.isfinite(best):
            return None, piv, (f"the complementary-pivot path ended on a ray at extra inhibition "
                               f"{lam:.4g} mV Hz (segment {piv}): no semi-balanced state was "
                               f"found; rates would grow without bound (is r_max unbounded?)")
        # among near-ties take the largest rate of change (the best-conditioned pivot)
        near = np.flatnonzero(th <= best * (1 + 1e-9))
        k = int(near[np.argmax(mag[near])])
        theta = float(th[k])
        r[Zarr] = np.minimum(np.maximum(rz + theta * dr, 0.0), uz)
        lam += theta * dlam
        beta += theta * dbeta
        nz = Zarr.size
        if k < 2 * nz:                               # a balanced label hits a bound
            j = int(Zarr[k % nz])
            Z.remove(j)
            if k < nz:
                r[j], state[j], s = 0.0, 0, -1.0
            else:
                r[j], state[j], s = u[j], 2, 1.0
            kind, e = "row", j
        else:                                        # a silent/saturated label's bracket hits 0
            k -= 2 * nz
            j = int(up[k]) if k < up.size else int(down[k - up.size])
            s = 1.0 if k < up.size else -1.0
            Z.append(j)
            state[j] = 1
            kind, e = "col", j
        if piv % 25 == 0:                            # limit the drift of the update
            beta = prob.bracket(r) - lam * d
    return None, max_pivots, f"the complementary-pivot path did not end within {max_pivots} segments"


# ============================================================================ the face
def _range_basis(prob: _Problem, cols: np.ndarray, rel: float = 1e-12):
    """Thin SVD of A[:, cols] = Ag @ Bm[:, cols] from the factors: (U, S, V), rank k."""
    if cols.size == 0:
        return np.zeros((prob.P, 0)), np.zeros(0), np.zeros((0, 0))
    if prob.qr is None:
        prob.qr = np.linalg.qr(prob.Ag)
    Q1, R1 = prob.qr
    Q2, R2 = np.linalg.qr(prob.Bm[:, cols].T)
    Uc, S, Vct = np.linalg.svd(R1 @ R2.T)
    k = int(np.sum(S > rel * S[0])) if S.size and S[0] > 0 else 0
    return Q1 @ Uc[:, :k], S[:k], Q2 @ Vct[:k].T


def _min_norm(V, h, w, u):
    """Find argmin 1/2 sum w r^2 s.t. V^T r = h, 0 <= r <= u (dual semismooth Newton).

    The minimiser is r = clip(V lam / w, 0, u) for the multipliers lam (k,) that solve
    V^T r(lam) = h; the dual is concave and piecewise quadratic, Newton with an Armijo
    search ends in a few steps. Returns (r, converged).
    """
    k = V.shape[1]
    if k == 0:
        return np.zeros(V.shape[0]), True
    hs = max(float(np.max(np.abs(h))), 1e-300)
    Dinv = 1.0 / w
    H0 = (V.T * Dinv) @ V
    lam = np.linalg.lstsq(H0, h, rcond=None)[0]

    def at(lam):
        v = (V @ lam) * Dinv
        r = np.clip(v, 0.0, u)
        q = float(lam @ h + np.sum(w * (0.5 * r * r - v * r)))
        return v, r, q

    v, r, q = at(lam)
    for _ in range(200):
        g = h - V.T @ r
        if float(np.max(np.abs(g))) <= 1e-13 * hs:
            return r, True
        free = (v > 0) & (v < u)
        H = (V[free].T * Dinv[free]) @ V[free]
        step = np.linalg.lstsq(H, g, rcond=None)[0] if free.any() else g / max(np.max(Dinv), 1e-300)
        slope = float(g @ step)
        if not slope > 0:
            step, slope = g, float(g @ g)
        t = 1.0
        while t > 1e-12:
            v2, r2, q2 = at(lam + t * step)
            if q2 >= q + 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            break
        lam, v, r, q = lam + t * step, v2, r2, q2
    g = h - V.T @ r
    return r, float(np.max(np.abs(g))) <= 1e-9 * hs


def _face_profile(prob: _Problem, r0: np.ndarray):
    """Classify the labels of the state r0 and return the chosen profile of its face.

    The face is the set of box-feasible profiles with the same bracket as r0 (labels with
    |bracket| <= _BRACKET_ZERO x scale set exactly to 0): every member solves the LCP.
    Within it, labels with identical inputs get identical rates (as at every finite N),
    and the minimum-norm member is chosen. Returns None if r0 is not a state (a positive
    bracket with an unbounded rate), else a dict: r (P,), Z (indices of the zero-bracket
    labels), k (independent combinations of their rates in the brackets), g (group of each
    Z label), Vg, hg, ug (the grouped face: Vg^T r_g = hg, 0 <= r_g <= ug), singleton (the
    grouped face is one profile), lcp_singleton (so is the ungrouped one), note.
    """
    beta0 = prob.bracket(r0)
    zmask = np.abs(beta0) <= _BRACKET_ZERO * prob.bscale
    if np.any(~zmask & (beta0 > 0) & ~np.isfinite(prob.u)):
        return None
    Z = np.flatnonzero(zmask)
    r_fixed = np.where(~zmask & (beta0 > 0), prob.u, 0.0)
    U, S, V = _range_basis(prob, Z)
    k = S.size
    target = np.where(zmask, 0.0, beta0) - prob.c - prob.Ag @ (prob.Bm @ r_fixed)
    resid = target - U @ (U.T @ target)
    note = ""
    if k and float(np.max(np.abs(resid) / prob.bscale)) <= 1e-9:
        h = (U.T @ target) / S
    else:
        h = V.T @ r0[Z]
        if k:
            note = "bracket zeros not exactly consistent; face through the path's point"
    wz, uz = prob.w[Z], prob.u[Z]
    # groups of labels with identical inputs
    g = np.unique(prob.group[Z], return_inverse=True)[1].ravel() if Z.size else np.zeros(0, int)
    G = int(g.max()) + 1 if Z.size else 0
    grouped = None
    if 0 < G < Z.size and k:
        Ei = np.zeros((Z.size, G))
        Ei[np.arange(Z.size), g] = 1.0
        Ug, Sg, Wgt = np.linalg.svd(Ei.T @ V, full_matrices=False)
        kk = int(np.sum(Sg > 1e-12 * Sg[0])) if Sg.size and Sg[0] > 0 else 0
        Wk = Wgt[:kk].T
        hsc = max(float(np.max(np.abs(h))), 1e-300)
        if np.max(np.abs(h - Wk @ (Wk.T @ h))) <= 1e-10 * hsc:
            hg = (Wk.T @ h) / Sg[:kk]
            ug = np.array([uz[g == j].min() for j in range(G)])
            rg, ok = _min_norm(Ug[:, :kk], hg, Ei.T @ wz, ug)
            if ok and np.max(np.abs(V.T @ rg[g] - h)) <= 1e-9 * hsc:
                grouped = (rg, Ug[:, :kk], hg, ug)
    if grouped is not None:
        rg, Vg, hg, ug = grouped
        rz = rg[g]
        singleton = _is_singleton(Vg, hg, ug, rg)
        lcp_singleton = singleton and _is_singleton(V, h, uz, rz)
    else:
        g = np.arange(Z.size)
        rz, ok = _min_norm(V, h, wz, uz)
        if not ok:
            rz, note = r0[Z].copy(), (note + "; " if note else "") + "minimum-norm step did not converge"
        Vg, hg, ug = V, h, uz
        singleton = lcp_singleton = _is_singleton(V, h, uz, rz)
    r = r_fixed.copy()
    r[Z] = rz
    return {"r": r, "Z": Z, "k": k, "g": g, "Vg": Vg, "hg": hg, "ug": ug,
            "singleton": singleton, "lcp_singleton": lcp_singleton, "note": note}


def _is_singleton(V, h, u, rz) -> bool:
    """Return True when {r: V^T r = h, 0 <= r <= u} is the single point rz."""
    nz, k = V.shape
    if nz == 0 or k == nz:
        return True
    if k == 0:                          # nothing constrains these rates: the whole box
        return False
    # directions keeping V^T r fixed exist (nz > k); the box may still pin the point:
    # compare the minimum and the maximum of a fixed generic objective over the face
    xi = np.random.default_rng(_SEEDS[0]).uniform(0.5, 1.5, nz)
    bounds = [(0.0, None if not np.isfinite(x) else float(x)) for x in u]
    lo = linprog(xi, A_eq=V.T, b_eq=h, bounds=bounds, method="highs")
    hi = linprog(-xi, A_eq=V.T, b_eq=h, bounds=bounds, method="highs")
    if lo.status != 0 or hi.status != 0:
        return False
    scale = float(np.sum(xi * np.maximum(np.abs(rz), 1.0)))
    return (-hi.fun - lo.fun) <= 1e-7 * scale


def _enumerate_states(prob: _Problem, beta_sel: np.ndarray):
    """For at most ``_ENUMERATE_MAX`` labels: a state whose bracket differs from ``beta_sel``.

    Every sign pattern (silent / balanced / saturated per label) is tried: a square
    nonsingular system gives one candidate, a singular one a linear program. Returns the
    rates of another state, or None.
    """
    P = prob.P
    A = prob.columns(np.arange(P), np.arange(P))
    tolb = 1e-9 * prob.bscale
    for pattern in np.ndindex(*(3,) * P):
        pat = np.array(pattern)
        if np.any((pat == 2) & ~np.isfinite(prob.u)):
            continue
        Z, S, Nn = pat == 1, pat == 2, pat == 0
        r = np.where(S, prob.u, 0.0)
        r[~np.isfinite(r)] = 0.0
        if Z.any():
            rhs = -prob.c[Z] - A[np.ix_(Z, S)] @ r[S]
            AZ = A[np.ix_(Z, Z)]
            if np.linalg.matrix_rank(AZ) == Z.sum():
                r[Z] = np.linalg.solve(AZ, rhs)
            else:
                bounds = [(0.0, float(x) if np.isfinite(x) else None) for x in prob.u[Z]]
                A_ub = np.vstack([A[np.ix_(Nn, Z)], -A[np.ix_(S, Z)]])
                b_ub = np.concatenate([-prob.c[Nn] - A[np.ix_(Nn, S)] @ r[S],
                                       prob.c[S] + A[np.ix_(S, S)] @ r[S]])
                res = linprog(np.zeros(Z.sum()), A_ub=A_ub if A_ub.size else None,
                              b_ub=b_ub if A_ub.size else None, A_eq=AZ, b_eq=rhs,
                              bounds=bounds, method="highs")
                if res.status != 0:
                    continue
                r[Z] = res.x
        beta = A @ r + prob.c
        ok = (np.all(r >= -1e-12 * max(1.0, np.max(np.abs(r)))) and np.all(r <= prob.u * (1 + 1e-12))
              and np.all(beta[Nn] <= tolb[Nn]) and np.all(beta[S] >= -tolb[S])
              and np.all(np.abs(beta[Z]) <= tolb[Z] * 10))
        if ok and np.max(np.abs(beta - beta_sel) / prob.bscale) > 1e-7:
            return np.clip(r, 0.0, prob.u)
    return None


# ============================================================================ balanced LP
def _balanced_lp(prob: _Problem):
    """Least relative L1 residual of (B) with rates in the box (HiGHS). Returns (r, residual)."""
    P, m = prob.P, prob.Bm.shape[0]
    import scipy.sparse as sp
    Z = sp.csr_matrix
    sr = prob.bscale
    top = sp.hstack([Z(prob.Bm), -sp.identity(m), Z((m, 2 * P))])
    bottom = sp.hstack([Z((P, P)), Z(prob.Ag / sr[:, None]), -sp.identity(P), sp.identity(P)])
    A_eq = sp.vstack([top, bottom]).tocsr()
    b_eq = np.concatenate([np.zeros(m), -prob.c / sr])
    cost = np.concatenate([np.zeros(P + m), prob.w, prob.w])
    bounds = [(0.0, None if not np.isfinite(x) else float(x)) for x in prob.u] \
        + [(None, None)] * m + [(0.0, None)] * (2 * P)
    res = linprog(cost, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status != 0 or res.x is None:
        return None, np.inf
    return np.clip(res.x[:P], 0.0, prob.u), float(res.fun)


# ============================================================================ solve
def _resolve_r_max(params: NetworkParams, r_max) -> np.ndarray:
    if isinstance(r_max, str):
        if r_max != "refractory":
            raise ParameterError(f"r_max = {r_max!r}; allowed: 'refractory' (1/tau_ref), None "
                                 f"(unbounded) or a positive rate in Hz (one, or one per population)",
                                 field="r_max")
        return np.array([1.0 / nr.tau_ref if nr.tau_ref > 0 else np.inf for nr in params.neurons])
    if r_max is None:
        return np.full(2, np.inf)
    if isinstance(r_max, (bool, np.bool_)):
        raise ParameterError(f"r_max = {r_max!r}; allowed: 'refractory', None or positive rate(s) "
                             f"in Hz", field="r_max")
    v = np.broadcast_to(np.asarray(r_max, dtype=float), (2,)).copy() \
        if np.ndim(r_max) <= 1 and np.size(r_max) in (1, 2) else None
    if v is None or not np.all(v > 0) or np.any(np.isnan(v)):
        raise ParameterError(f"r_max = {r_max!r}; allowed: 'refractory', None or positive rate(s) "
                             f"in Hz (a number or one per population)", field="r_max")
    return v


def semi_balanced(params: NetworkParams, model: DegreeModel | None = None, *,
                  n_nodes: int | None = None, r_max="refractory", tol: float = COMPLEMENTARITY_TOL,
                  strict: bool = False, max_pivots: int | None = None) -> SemiBalancedResult:
    r"""Solve for the semi-balanced N -> infinity limit of every label's rate (a box LCP).

    Parameters
    ----------
    params : NetworkParams
        Uses ``W`` (:math:`w_{ab} = j_{ab}p_{ab}q_b`, mV), ``X`` (:math:`X_a = w_{aX} r_X`,
        mV Hz) and the refractory periods; N does not enter.
    model : DegreeModel, optional
        Label distributions and kernels (any model ``solve`` accepts, vector labels
        included); default ``DegreeModel.homogeneous()``.
    n_nodes : int, optional
        Quadrature nodes per population (default ``model.n_nodes``), >= 1. Use the same
        ``n_nodes`` as the finite-N ``solve`` you compare with.
    r_max : "refractory", None, float or (2,) array
        Rate bound, Hz: "refractory" (default) is :math:`1/\tau_{ref}` of each population
        (unbounded if tau_ref = 0); None removes the bound (plain LCP).
    tol : float
        Bound on the relative complementarity residual for ``success``, > 0 (default 1e-9).
    strict : bool
        Raise ``ConvergenceError`` (result attached) when ``success`` is False.
    max_pivots : int, optional
        Segment limit of each complementary-pivot path (default 20 x labels + 100).

    Returns
    -------
    SemiBalancedResult
        Or, for a ``SpatialModel`` (``DegreeModel.spatial``), the
        ``SpatialSemiBalancedResult`` of ``meanfield.spatial_limit.semi_balanced_spatial``
        (``n_nodes`` is then its ``n_side``; ``max_pivots`` is not used).

    Raises
    ------
    TypeError
        ``params``/``model`` of the wrong type.
    ValueError
        (``ParameterError``) Bad ``r_max``, ``tol``, ``n_nodes``, ``max_pivots``; a kernel or
        external factor outside [0, 1/p] on the grid.
    ConvergenceError
        Only with ``strict=True``.

    Notes
    -----
    **The problem.** With nodes :math:`t_{a,i}` and weights :math:`w_{a,i}` the bracket is
    affine in the rates, :math:`\beta = A r + c` with
    :math:`A_{(a,i),(b,j)} = w_{ab}\, m_{ab}(t_{a,i}, t_{b,j})\, w_{b,j}` and
    :math:`c_{a,i} = X_a k^{in}_{aX}(t_{a,i})`, and the limit is the box-constrained LCP

    .. math:: 0 \le r_i \le r_{max},\quad r_i = 0 \Rightarrow \beta_i \le 0,\quad
              0 < r_i < r_{max} \Rightarrow \beta_i = 0,\quad
              r_i = r_{max} \Rightarrow \beta_i \ge 0 .

    It is the N -> infinity limit of :math:`r = \Phi(E_L + \tau_m\sqrt N\beta + O(1),
    \sigma)` because :math:`\Phi` rises monotonically from 0 to :math:`1/\tau_{ref}`:
    a negative bracket silences a label, a positive one drives it to the maximal rate, and
    only a vanishing bracket leaves an O(1) rate in between. The bound enters as a box, and
    only there may the bracket be positive (excess excitation at the maximal rate); without
    it (``r_max=None``) the problem is the LCP r >= 0, beta <= 0, r beta = 0 of Baker, Zhu &
    Rosenbaum (2020).

    **Existence and uniqueness.** :math:`-A` is not a P-matrix, nor positive semidefinite:
    its diagonal is :math:`-w_{aa} m_{aa} w_{a,i}`, negative for E labels (recurrent
    excitation), and :math:`A` has the rank of the kernels (low rank). With a finite box a
    solution always exists (a variational inequality on a compact convex set; constructively:
    the complementary-pivot path below cannot end on a ray). Without the box it may not
    (excitation not contained by inhibition): the result then says so. Two kinds of
    non-uniqueness: (i) several profiles with the same bracket, when labels with vanishing
    bracket enter the brackets through fewer independent combinations than there are such
    labels (label classes with proportional inputs and outputs; every balanced profile of a
    low-rank kernel, e.g. Case C, where (B) fixes only the moments R and Cov(t, r)). This is
    detected (linear algebra, then a linear program over the set), and the returned profile
    is the **minimum-norm** one (least :math:`E_t[r^2]`) among those that give labels with
    identical inputs identical rates, as every finite N does (a rate depends on the label
    only through its input): identical classes share a rate, and so do vector labels that
    differ only in their out-degree; for Case C it is a linear function of t clipped at 0.
    Which member the finite-N solution approaches is set by the O(1) part of the input,
    which the LCP does not see (``distance`` measures to the whole set). (ii)
    Distinct states with different brackets (possible because of recurrent excitation):
    a second path with another covering vector is run (and, for at most 6 labels in all,
    every sign pattern is tried, which makes ``unique`` exact there); a balanced state is
    preferred whenever (B) is feasible; ``unique`` is False when another state was seen.

    **Algorithm.** (1) Lemke's complementary-pivot path in compact form: the artificial
    variable is a uniform extra inhibition :math:`\lambda d_i` (d > 0, fixed pseudo-random
    to break ties); starting from all labels silent at large lambda the path follows the
    solutions of the augmented problem, one dense solve of size (balanced labels + 1) per
    segment, to lambda = 0. (2) Labels with vanishing bracket are identified and the
    minimum-norm profile with the same bracket is found by a dual semismooth Newton
    iteration (exact at convergence). (3) If the state is not balanced everywhere, a linear
    program tests condition (B) within the box; if it holds, the balanced state (minimum
    norm) is returned instead. (4) Complementarity is checked at the end (``tol``).
    Cost: O(n m) per segment for a kernel of rank m, about one segment per label that changes
    state; 200 labels per population take about 20 ms (Case B, 178 segments) and 12 ms
    (Case C), measured in docs/theory.md section 11.

    For Case B (:math:`\beta_a(t) = t (W R)_a + X_a`) only the lowest labels stay active:
    they are saturated at r_max below the one balanced label
    :math:`t^*_a = -X_a/(W R)_a`, silent above, and the population means are
    :math:`R = -W^{-1}\mathrm{diag}(1/t^*) X`, which tends to :math:`-W^{-1}X/t_{min}` as
    the grid refines (the active fraction tends to :math:`R_a/r_{max}`). Without the bound,
    all activity sits on the lowest node.

    References: Baker, Zhu & Rosenbaum, PLoS Comput. Biol. 16, e1008192 (2020); Lemke,
    Manage. Sci. 11, 681 (1965); Cottle, Pang & Stone, The Linear Complementarity Problem
    (Academic Press 1992), sections 3.1-3.3 (existence, P-matrices) and 4.4 (Lemke).

    Examples
    --------
    >>> from meanfield import NetworkParams, DegreeModel, balanced_rates
    >>> p = NetworkParams.preset("akil2021_lif")
    >>> res = semi_balanced(p)                     # homogeneous: the balanced rates
    >>> bool(res.feasible and res.unique), np.round(res.mean_rate, 4)
    (True, array([1.2857, 7.7143]))
    >>> b = semi_balanced(p, DegreeModel.recurrent_indegree("uniform", 0.2887, support=(0.5, 1.5)))
    >>> bool(b.feasible), bool(b.active[0, 0]), bool(b.active[0, -1])   # low labels active
    (False, True, False)
    """
    from .spatial import SpatialModel
    if isinstance(model, SpatialModel):
        # position labels: Gaussian kernels make the pivot path degenerate, and the input
        # profile enters through the convolution (meanfield.spatial_limit)
        from .spatial_limit import semi_balanced_spatial
        return semi_balanced_spatial(params, model, n_side=n_nodes, r_max=r_max, tol=tol,
                                     strict=strict)
    t_start = time.perf_counter()
    params = check_network_params(params)
    model = resolve_model(model)
    if not (isinstance(tol, (int, float)) and not isinstance(tol, bool) and tol > 0):
        raise ParameterError(f"tol = {tol!r} is out of range; allowed: a number > 0", field="tol")
    u2 = _resolve_r_max(params, r_max)
    grid = LabelGrid(params, model, n_nodes)
    prob = _Problem(grid, params, u2)
    if max_pivots is None:
        max_pivots = 20 * prob.P + 100
    elif not (isinstance(max_pivots, (int, np.integer)) and max_pivots >= 1):
        raise ParameterError(f"max_pivots = {max_pivots!r}; allowed: an integer >= 1",
                             field="max_pivots")

    pivots = 0
    covering = [prob.bscale * np.random.default_rng(s).uniform(0.5, 1.5, prob.P) for s in _SEEDS]
    r1, pv, msg1 = _lemke(prob, covering[0], int(max_pivots))
    pivots += pv
    face, method = None, "lemke"
    if r1 is not None:
        face = _face_profile(prob, r1)
    other_state = None
    if face is None or not np.all(np.abs(prob.bracket(face["r"])) <= _BRACKET_ZERO * prob.bscale):
        # not balanced everywhere: is condition (B) feasible within the box? Only if -c is in
        # the range of A (cheap, exact); then a linear program with the bounds.
        U_all = _range_basis(prob, np.arange(prob.P))[0]
        off_range = (prob.c - U_all @ (U_all.T @ prob.c)) / prob.bscale
        in_range = float(np.sqrt(np.sum(prob.w * off_range ** 2))) <= _FEASIBLE_LP_TOL
        r_lp, resid = _balanced_lp(prob) if in_range else (None, np.inf)
        if r_lp is not None and resid <= _FEASIBLE_LP_TOL * max(1.0, float(np.sum(prob.w))):
            fb = _face_profile(prob, r_lp)
            if fb is not None and np.all(np.abs(prob.bracket(fb["r"])) <= _BRACKET_ZERO * prob.bscale):
                if face is not None:
                    other_state = face
                face, method = fb, "balanced"
    # second path: another covering vector may end at another state
    r2, pv2, msg2 = _lemke(prob, covering[1], int(max_pivots))
    pivots += pv2
    if face is None and r2 is not None:
        face = _face_profile(prob, r2)
        msg1 = msg2
    elif face is not None and r2 is not None and other_state is None:
        b_sel = prob.bracket(face["r"])
        b2 = prob.bracket(r2)
        if np.max(np.abs(b2 - b_sel) / prob.bscale) > 1e-6 and prob.natural_residual(r2) <= 1e-6:
            other_state = {"r": r2}
    if face is not None and other_state is None and prob.P <= _ENUMERATE_MAX:
        ro = _enumerate_states(prob, prob.bracket(face["r"]))
        if ro is not None:
            other_state = {"r": ro}

    nn = grid.n
    if face is None:
        rate_real = np.full(prob.P, np.nan)
        status, comp = 2, np.inf
        message = f"no semi-balanced state found: {msg1}"
    else:
        rate_real = face["r"]
        comp = prob.natural_residual(rate_real)
        status = 0 if comp <= tol else 1
        message = (f"{'condition (B) is feasible: balanced state' if method == 'balanced' else msg1}; "
                   f"complementarity residual {comp:.1e}"
                   + ("" if status == 0 else f" > tol {tol:.1e}: NOT a solution to tolerance"))
        if face["note"]:
            message += f" ({face['note']})"
    # ---- lay out on the full (2, n) grid, padded nodes copy the last real node
    rate = np.full(2 * nn, np.nan)
    rate[prob.real] = rate_real
    for a in (0, 1):
        w = grid.weights[a]
        real = np.flatnonzero(w > 0)
        if real.size < nn:
            rate[a * nn + real[-1] + 1:(a + 1) * nn] = rate[a * nn + real[-1]]
    rate = rate.reshape(2, nn)
    finite = np.all(np.isfinite(rate))
    bracket = (prob.Ag_full @ (prob.B_full @ np.nan_to_num(rate.ravel())) + prob.c_full).reshape(2, nn)
    if not finite:
        bracket[:] = np.nan
    btol = _BRACKET_ZERO * np.repeat(_pop_scales(prob), nn).reshape(2, nn)
    active = rate > 1e-12 * np.maximum(1.0, np.nan_to_num(np.nanmax(rate)) if finite else 1.0)
    saturated = np.isfinite(u2)[:, None] & (rate >= u2[:, None] * (1 - 1e-12))
    balanced = np.abs(bracket) <= btol
    W = grid.weights
    mean_rate = np.sum(W * rate, axis=1)
    R = np.einsum("bj,abj,bj->ab", W, grid.kout, rate)
    active_fraction = np.sum(W * active, axis=1)
    saturated_fraction = np.sum(W * saturated, axis=1)
    feasible = bool(finite and status == 0 and np.all(balanced[W > 0]))

    # ---- uniqueness and degeneracy report
    unique = bool(face is not None and face["singleton"] and other_state is None)
    deg = []
    if face is not None and not face["lcp_singleton"]:
        Zi = prob.real[face["Z"]]
        nE, nI = int(np.sum(Zi < nn)), int(np.sum(Zi >= nn))
        nG = int(face["g"].max()) + 1 if face["g"].size else 0
        free = (f"the bracket vanishes on {nE + nI} labels (E {nE}, I {nI}) whose rates enter "
                f"the brackets only through {face['k']} independent combinations")
        if face["singleton"]:
            deg.append(f"{free}; they form {nG} classes of identical inputs, which get identical "
                       f"rates (as at every finite N), and that fixes the profile")
        else:
            deg.append(f"not unique: {free} (a low-rank kernel, or label classes with "
                       f"proportional inputs), so a family of profiles shares this state; returned: the "
                       f"minimum-norm profile (least E_t[r^2]) among those giving labels with "
                       f"identical inputs identical rates")
    if other_state is not None:
        ro = other_state["r"]
        mo = [float(np.sum(prob.w[prob.pop == a] * ro[prob.pop == a])) for a in (0, 1)]
        which = ("the balanced state (condition (B) is feasible)" if method == "balanced"
                 else "the end of the first complementary-pivot path")
        deg.append(f"another semi-balanced state exists (mean rates E {mo[0]:.4g}, I {mo[1]:.4g} Hz; "
                   f"recurrent excitation makes the LCP matrix not a P-matrix); returned: {which}")
    degeneracy = "; ".join(deg)
    if finite and status != 2:
        sat = [a for a in (0, 1) if saturated_fraction[a] > 0]
        if sat:
            message += "; the rate bound 1/tau_ref enters: " + ", ".join(
                f"{POPULATIONS[a]} labels {_label_range(grid.coord[a], saturated[a] & (W[a] > 0))} "
                f"(weight {saturated_fraction[a]:.3g}) saturate at {u2[a]:.4g} Hz with bracket >= 0"
                for a in sat)
        elif not np.all(np.isfinite(u2)):
            over = [a for a in (0, 1) if params.neurons[a].tau_ref > 0
                    and np.max(rate[a]) > 1.0 / params.neurons[a].tau_ref]
            if over:
                message += ("; unbounded rates exceed 1/tau_ref for "
                            + ", ".join(POPULATIONS[a] for a in over)
                            + " (pass r_max='refractory' to bound them)")
    success = bool(status == 0)
    face_store = None
    if face is not None:
        face_store = {"Z": prob.real[face["Z"]], "g": face["g"], "V": face["Vg"],
                      "h": face["hg"], "u": face["ug"], "singleton": bool(face["singleton"])}
    result = SemiBalancedResult(
        rate=rate, bracket=bracket, t=grid.t, weights=grid.weights, label=grid.coord,
        active=active, balanced=balanced, saturated=saturated, r_max=u2,
        mean_rate=mean_rate, R=R, active_fraction=active_fraction,
        saturated_fraction=saturated_fraction, feasible=feasible, unique=unique,
        degeneracy=degeneracy, complementarity=float(comp), success=success, status=status,
        message=message, method=method, pivots=int(pivots), model_name=model.name,
        wall_time=time.perf_counter() - t_start, _face=face_store)
    if strict and not success:
        raise ConvergenceError(f"semi_balanced(model = {model.name!r}): {message}", result)
    return result


def _pop_scales(prob: _Problem) -> np.ndarray:
    out = np.ones(2)
    for a in (0, 1):
        m = prob.pop == a
        if m.any():
            out[a] = float(prob.bscale[m][0])
    return out

r"""The linear part of the degree-space mean-field map, built once per model and grid.

Private helper of ``solve``, ``balance_feasibility`` and ``scan_N``. With quadrature
nodes :math:`t_{a,i}` and weights :math:`w_{a,i}` of each population's label
distribution, every kernel expectation the theory needs is linear in the rates on the
grid. The unknowns of the solver are the *moments* :math:`G = B r`:

- for a low-rank kernel :math:`m_{ab} = \sum_r c_r f_r(t) g_r(t')` the moments
  :math:`G_{b,g} = E_{t'}[g(t') r_b(t')] = \sum_j w_{b,j} g(t_{b,j}) r_b(t_{b,j})`, one per
  distinct pair (source b, function g) -- a handful of unknowns whatever the grid size;
- for any other kernel the rates :math:`r_b(t_{b,j})` themselves (n unknowns).

Then :math:`E_{t'}[m_{ab}(t_i, t') r_b(t')] = (K_b G)_{a,i}` with ``K_b`` below, and the
input moments of docs/theory.md section 4 are affine in G (``coefficients``).
"""

from __future__ import annotations

import numpy as np

from .degree import DegreeModel
from .params import POPULATIONS, NetworkParams

__all__ = ["LabelGrid"]


def _values(func, t, n) -> np.ndarray:
    return np.broadcast_to(np.asarray(func(t), dtype=float), (n,)).astype(float)


class LabelGrid:
    r"""Quadrature grids, moment functionals and kernel expansions of a ``DegreeModel``.

    Parameters
    ----------
    params : NetworkParams
        Only ``p`` (the connection probabilities, fixed along an N-ladder) is used, to
        check :math:`0 \le p_{ab} m_{ab} \le 1` on the grid.
    model : DegreeModel
    n : int or None
        Quadrature nodes per population (``None``: the model's default). Populations with
        fewer nodes (a ``Constant`` label has one) are padded to the common size by
        repeating their last node with weight 0, so every per-label array is (2, n).

    Attributes
    ----------
    t : ndarray (2, n) or (2, n, dim)
        Labels. ``coord`` (2, n) is the scalar label coordinate: the label itself, or its
        first component (the in-degree factor) for vector labels.
    weights : ndarray (2, n)
        Quadrature weights, each row summing to 1.
    kin : ndarray (2, 3, n)
        In-degree factors :math:`k^{in}_{ab}(t_{a,i})` for b = E, I, X.
    kout : ndarray (2, 2, n)
        ``kout[a, b, j]`` = :math:`k^{out}_{ab}(t_{b,j}) = E_t[m_{ab}(t, t_{b,j})]`.
    B : ndarray (m, 2n)
        Moment functionals: G = B @ r.ravel().
    K : ndarray (2, 2n, m)
        ``K[b] @ G`` = :math:`E_{t'}[m_{ab}(t_{a,i}, t') r_b(t')]` on the rows (a, i).
    low_rank : bool
        True when every kernel is low rank (then m is small).
    """

    def __init__(self, params: NetworkParams, model: DegreeModel, n: int | None = None):
        grids = [model.grid(a, n) for a in POPULATIONS]
        dims = [np.ndim(t) for t, _ in grids]
        if dims[0] != dims[1]:
            raise ValueError(f"label dimensions differ between populations (E: {dims[0]}-d, "
                             f"I: {dims[1]}-d labels); allowed: the same label dimension for E and I")
        sizes = [len(w) for _, w in grids]
        nn = max(sizes)
        ts, ws = [], []
        for (t, w), size in zip(grids, sizes):
            t = np.asarray(t, float)
            w = np.asarray(w, float)
            if size < nn:
                pad = nn - size
                t = np.concatenate([t, np.repeat(t[-1:], pad, axis=0)], axis=0)
                w = np.concatenate([w, np.zeros(pad)])
            ts.append(t)
            ws.append(w / w.sum())
        self.n = nn
        self.t = np.stack(ts)
        self.weights = np.stack(ws)
        self.coord = self.t if self.t.ndim == 2 else self.t[..., 0]
        self.model_name = model.name
        self.p = np.array(params.p, float)
        self._check(params, model)
        self._build(model)

    # ------------------------------------------------------------------ checks
    def _check(self, params, model):
        t = {a: self.t[i] for i, a in enumerate(POPULATIONS)}
        model.check_params(params, t_post=t, t_pre=t)
        for i, a in enumerate(POPULATIONS):
            kx = _values(model.kin_X[a], self.t[i], self.n)
            p = params.p[i, 2]
            if not np.all(np.isfinite(kx)) or np.any(kx < 0) or np.any(p * kx > 1.0 + 1e-12):
                j = int(np.argmax(np.where(np.isfinite(kx), np.abs(p * kx - 0.5), np.inf)))
                raise ValueError(f"p_{a}X * kin_X[{a!r}] = {p:g} * {kx[j]:.4g} at label "
                                 f"t = {self.t[i][j]}; allowed: [0, 1] (a connection probability)")

    # ------------------------------------------------------------------ structure
    def _build(self, model):
        n = self.n
        rows = []            # (b, values over b's nodes)
        point = {}           # (b, j) -> functional index for point evaluations
        entries = {0: [], 1: []}   # b -> list of (a, column k, coefficient vector over a's nodes)
        kout = np.zeros((2, 2, n))
        self.low_rank = True
        self._kernel_values = {}   # (a, b) -> ("factors", [(c, f(t_a), g(t_b))]) or ("matrix", M)

        def add(b, vals):
            for k, (bb, v) in enumerate(rows):
                if bb == b and np.array_equal(v, vals):
                    return k
            rows.append((b, vals))
            return len(rows) - 1

        for ia, a in enumerate(POPULATIONS):
            ta, wa = self.t[ia], self.weights[ia]
            for ib, b in enumerate(POPULATIONS):
                tb, wb = self.t[ib], self.weights[ib]
                kern = model.kernels[(a, b)]
                factors = kern.factors
                if factors is not None:
                    values = []
                    for c, f, g in factors:
                        fv, gv = _values(f, ta, n), _values(g, tb, n)
                        values.append((float(c), fv, gv))
                        k = add(ib, wb * gv)
                        entries[ib].append((ia, k, float(c) * fv))
                        kout[ia, ib] += float(c) * float(wa @ fv) * gv
                    self._kernel_values[(ia, ib)] = ("factors", values)
                else:
                    self.low_rank = False
                    M = np.asarray(kern.matrix(ta, tb), float)
                    self._kernel_values[(ia, ib)] = ("matrix", M)
                    for j in range(n):
                        if (ib, j) not in point:
                            e = np.zeros(n)
                            e[j] = 1.0
                            rows.append((ib, e))
                            point[(ib, j)] = len(rows) - 1
                        entries[ib].append((ia, point[(ib, j)], M[:, j] * wb[j]))
                    kout[ia, ib] = wa @ M
        B, K = _functional_matrices(rows, entries, n)
        m = B.shape[0]
        self.B = B
        self.K = K
        self.m = m
        self.functional_sources = np.array([b for b, _ in rows], dtype=np.int64)
        self.kout = kout
        kin = np.zeros((2, 3, n))
        for ib in (0, 1):
            ones = np.zeros(2 * n)
            ones[ib * n:(ib + 1) * n] = 1.0
            kin[:, ib, :] = (K[ib] @ (B @ ones)).reshape(2, n)
        for ia, a in enumerate(POPULATIONS):
            kin[ia, 2] = _values(model.kin_X[a], self.t[ia], n)
        self.kin = kin

    # ------------------------------------------------------------------ N-dependent parts
    def coefficients(self, params: NetworkParams) -> dict:
        r"""Affine maps from the moments G to the input moments at size ``params.N``.

        Returns a dict with ``Cmu`` (2, 2n, m): source b's part of :math:`\mu - E_L` is
        ``Cmu[b] @ G`` (mV); ``Csig`` (2, 2n, m): its part of :math:`\sigma^2` (mV^2);
        ``mu_X``, ``var_X`` (2n,): the external parts; ``E_L``, ``tau_m`` (2n,).

        .. math::
            \mu_a(t) - E_L = \tau_m\Big[\sum_b J_{ab} K_{ab} E_{t'}[m_{ab} r_b]
                              + J_{aX} K_{aX} k^{in}_{aX}(t) r_X\Big],\quad
            \sigma_a^2(t) = \tau_m\Big[\sum_b J_{ab}^2 K_{ab} E_{t'}[m_{ab} r_b]
                              + J_{aX}^2 K_{aX} k^{in}_{aX}(t) r_X\Big].
        """
        n = self.n
        J, Kd = params.J, params.K
        tau_m = np.repeat([nr.tau_m for nr in params.neurons], n)
        E_L = np.repeat([nr.E_L for nr in params.neurons], n)
        Cmu = np.empty_like(self.K)
        Csig = np.empty_like(self.K)
        for b in (0, 1):
            fm = tau_m * np.repeat(J[:, b] * Kd[:, b], n)
            fs = tau_m * np.repeat(J[:, b] ** 2 * Kd[:, b], n)
            Cmu[b] = fm[:, None] * self.K[b]
            Csig[b] = fs[:, None] * self.K[b]
        kx = self.kin[:, 2, :].ravel()
        mu_X = tau_m * np.repeat(J[:, 2] * Kd[:, 2], n) * kx * params.r_X
        var_X = tau_m * np.repeat(J[:, 2] ** 2 * Kd[:, 2], n) * kx * params.r_X
        return {"Cmu": Cmu, "Csig": Csig, "mu_X": mu_X, "var_X": var_X, "E_L": E_L,
                "tau_m": tau_m}

    def indegree(self, params: NetworkParams) -> np.ndarray:
        """Mean total in-degree (E + I + X synapses) of a neuron with each label, (2, n)."""
        return np.einsum("ab,abn->an", params.K, self.kin)



    # ------------------------------------------------------------------ spread within a label
    def spread_structure(self):
        r"""Functionals of the second rate moments for the spread within a label (cached).

        Returns ``(B2, K2)``: with :math:`q_b(t') = E(r_b^2 \mid t')` on the grid
        (``q.ravel()``, E rows then I rows), the second moments are ``H = B2 @ q`` and

        .. math:: (K2_b\, H)_{a,i} = E_{t'}\big[m_{ab}(t_i, t')\,(1 - p_{ab}\, m_{ab}(t_i, t'))
                  \, q_b(t')\big],

        the kernel expectation of docs/theory.md equation (10.1). For a low-rank kernel
        :math:`m = \sum_r c_r f_r g_r`,
        :math:`m(1 - p m) = \sum_r c_r f_r g_r - p \sum_{r,s} c_r c_s (f_r f_s)(g_r g_s)`,
        so the functionals are :math:`E[g_r q]` and :math:`E[g_r g_s q]` (a handful); for
        other kernels they are the values :math:`q_b(t_j)` themselves.
        ``B2`` is (m2, 2n), ``K2`` is (2, 2n, m2).
        """
        if getattr(self, "_spread", None) is not None:
            return self._spread
        n = self.n
        rows = []
        entries = {0: [], 1: []}

        def add(b, vals):
            for k, (bb, v) in enumerate(rows):
                if bb == b and np.array_equal(v, vals):
                    return k
            rows.append((b, vals))
            return len(rows) - 1

        for (ia, ib), (kind, data) in self._kernel_values.items():
            wb = self.weights[ib]
            p = float(self.p[ia, ib])
            if kind == "factors":
                for c, fv, gv in data:
                    entries[ib].append((ia, add(ib, wb * gv), c * fv))
                for c1, f1, g1 in data:
                    for c2, f2, g2 in data:
                        entries[ib].append((ia, add(ib, wb * (g1 * g2)), -p * c1 * c2 * (f1 * f2)))
            else:
                M2 = data * (1.0 - p * data)
                for j in range(n):
                    e = np.zeros(n)
                    e[j] = 1.0
                    entries[ib].append((ia, add(ib, e), M2[:, j] * wb[j]))
        self._spread = _functional_matrices(rows, entries, n)
        return self._spread

    def spread_coefficients(self, params: NetworkParams) -> dict:
        r"""Return the maps from the second moments H to the quenched variance of the mean input.

        Returns a dict with ``Cq`` (2, 2n, m2): source b's part of :math:`\sigma_q^2` is
        ``Cq[b] @ H`` (mV^2), and ``q_X`` (2n,): the external part (mV^2),

        .. math::
            \sigma_{q,a}^2(t) = \tau_m^2 \Big[\sum_b J_{ab}^2 K_{ab}\, E_{t'}[m_{ab}(1 - p_{ab}
            m_{ab})\, E(r_b^2 \mid t')] + J_{aX}^2 K_{aX}\, k^{in}_{aX}(t)\,
            (1 - p_{aX} k^{in}_{aX}(t))\, r_X^2\Big]

        (docs/theory.md equation (10.1), with :math:`K_{ab} = p_{ab} N_b`: independent
        Bernoulli connections and a binomial external in-degree, as ``graphs.sample_network``
        draws them).
        """
        n = self.n
        _, K2 = self.spread_structure()
        J, Kd = params.J, params.K
        tau_m = np.repeat([nr.tau_m for nr in params.neurons], n)
        Cq = np.empty_like(K2)
        for b in (0, 1):
            fq = tau_m ** 2 * np.repeat(J[:, b] ** 2 * Kd[:, b], n)
            Cq[b] = fq[:, None] * K2[b]
        kx = self.kin[:, 2, :].ravel()
        pX = np.repeat(params.p[:, 2], n)
        q_X = tau_m ** 2 * np.repeat(J[:, 2] ** 2 * Kd[:, 2], n) * kx * (1.0 - pX * kx) \
            * params.r_X ** 2
        return {"Cq": Cq, "q_X": q_X}


def _functional_matrices(rows, entries, n):
    """Return (B, K) of a set of label functionals (``LabelGrid`` and its spread structure).

    ``rows``: [(source b, weights v (n,))], functional k = v . r_b; ``entries[b]``: [(target
    population a, functional k, coefficients (n,))] added to K[b, a-block, k]. B (m, 2n) maps
    the rates to the functionals, K (2, 2n, m) the functionals to the kernel expectations.
    """
    m = len(rows)
    B = np.zeros((m, 2 * n))
    for k, (b, v) in enumerate(rows):
        B[k, b * n:(b + 1) * n] = v
    K = np.zeros((2, 2 * n, m))
    for b in (0, 1):
        for ia, k, coef in entries[b]:
            K[b, ia * n:(ia + 1) * n, k] += coef
    return B, K

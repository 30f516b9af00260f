"""Checks of a realised network against its degree model, per label bin.

``degree_statistics`` compares realised in- and out-degrees with their expectation,
``kernel_statistics`` estimates the kernel m_ab between label bins. Both condition on the
realised labels: given the labels, every pair is an independent Bernoulli draw, so the
exact mean and standard error of every binned statistic follow, and a chi-square over
bins tests the whole table. The model's own prediction (``p N_b kin_ab``, ``m_ab`` at the
bin's mean labels) is reported beside it, with a standard error that adds the
fluctuation of the realised presynaptic labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meanfield.checks import check_int
from meanfield.degree import DegreeModel
from meanfield.labels import quantile_bins
from meanfield.params import POPULATIONS

from .network import Network, row_chunks

__all__ = ["BinComparison", "degree_statistics", "kernel_statistics", "label_bins"]

#: Kernel evaluations per chunk for kernels that are not low-rank.
_DENSE_CHUNK = 1 << 22


@dataclass(frozen=True, eq=False)
class BinComparison:
    """A realised statistic per label bin (or bin pair) against its expectation.

    Attributes
    ----------
    name : str
        ``"k_in EI"`` (in-degree of E neurons from I), ``"k_out EI"`` (out-degree of I
        neurons onto E), ``"k_in EX"`` (external), ``"m EI"`` (kernel m_EI).
    n : ndarray
        Neurons per bin (degrees) or candidate pairs per bin pair (kernel, self excluded).
    label_mean : ndarray or tuple of ndarrays
        Mean bin key (label) of each bin; for the kernel (post bins, pre bins).
    realised : ndarray
        Mean degree per bin, or the kernel estimate count / (p pairs) per bin pair.
    expected : ndarray
        Its exact expectation given the realised labels.
    se : ndarray
        Its exact standard error given the realised labels (sum of Bernoulli variances).
    model : ndarray
        The model's prediction: p_ab (N_b - [a = b]) kin_ab(theta) averaged over the bin
        (degrees), m_ab at the bins' mean labels (kernel).
    se_model : ndarray
        Standard error of ``realised`` around ``model``: ``se`` plus the fluctuation of the
        realised presynaptic labels (degrees); equal to ``se`` for the kernel.
    """

    name: str
    n: np.ndarray
    label_mean: object
    realised: np.ndarray
    expected: np.ndarray
    se: np.ndarray
    model: np.ndarray
    se_model: np.ndarray

    @staticmethod
    def _z(x, mu, se):
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (x - mu) / se
        return np.where(se > 0, z, np.where(np.isclose(x, mu, rtol=1e-12, atol=1e-12), 0.0, np.inf))

    @property
    def z(self) -> np.ndarray:
        """(realised - expected) / se per bin (0 where se = 0 and they agree, else inf)."""
        return self._z(self.realised, self.expected, self.se)

    @property
    def z_model(self) -> np.ndarray:
        """(realised - model) / se_model per bin.

        Each is approximately standard normal, but for degrees they are correlated across
        bins (the presynaptic labels are shared), so no chi-square is formed from them.
        """
        return self._z(self.realised, self.model, self.se_model)

    def _chi2(self, z):
        ok = self.n > 0
        return float(np.sum(z[ok] ** 2)), int(np.sum(ok))

    @property
    def chi2(self) -> float:
        """Sum of z**2 over non-empty bins."""
        return self._chi2(self.z)[0]

    @property
    def dof(self) -> int:
        """Number of non-empty bins (degrees of freedom of ``chi2``)."""
        return self._chi2(self.z)[1]

    @property
    def p_value(self) -> float:
        """P(chi2_dof >= chi2): small values mean the network disagrees with its model."""
        from scipy import stats as sps   # here, not at import: scipy.stats costs ~0.2 s

        c, d = self._chi2(self.z)
        return float(sps.chi2.sf(c, d)) if d else 1.0

    def passed(self, alpha: float = 0.01) -> bool:
        """Return True if the chi-square test against ``expected`` passes at level ``alpha``."""
        return self.p_value > alpha

    def summary(self) -> str:
        """One line: name, bins, chi2/dof, p-value, max ``|z|``, max ``|z_model|``."""
        z = self.z[self.n > 0]
        zm = self.z_model[self.n > 0]
        return (f"{self.name:9s} bins={self.dof:4d} chi2/dof={self.chi2 / max(self.dof, 1):6.3f} "
                f"p={self.p_value:.3f} max|z|={np.max(np.abs(z), initial=0):5.2f} "
                f"max|z_model|={np.max(np.abs(zm), initial=0):5.2f}")


def label_bins(label: np.ndarray, n_bins: int = 10, component: int = 0):
    """Equal-count quantile bins of labels (one bin per value if there are few values).

    ``meanfield.labels.quantile_bins`` of the label (or of one component of vector labels).

    Parameters
    ----------
    label : ndarray, shape (n,) or (n, dim)
        Labels of one population.
    n_bins : int
        Number of bins, >= 1.
    component : int
        Label component that defines the bins for vector labels.

    Returns
    -------
    bin_id : ndarray of int64, shape (n,)
        Bin of each neuron, 0 .. n_b - 1, increasing with the key.
    n_b : int
        Number of bins (fewer than ``n_bins`` when the labels take fewer values).
    key : ndarray, shape (n,)
        The 1-d key that was binned.
    """
    lab = np.asarray(label, dtype=float)
    key = lab if lab.ndim == 1 else lab[:, check_int("component", component, lo=0, hi=lab.shape[1] - 1)]
    bin_id, n_b = quantile_bins(key, n_bins)
    return bin_id, n_b, key


def _resolve_model(net: Network, model):
    if model is not None:
        if not isinstance(model, DegreeModel):
            raise TypeError(f"model must be a meanfield.degree.DegreeModel, got {type(model).__name__}")
        return model
    spec = net.model.get("spec") if isinstance(net.model, dict) else None
    if isinstance(spec, dict) and spec.get("constructor") and spec.get("serialisable", True):
        try:
            return DegreeModel.from_spec(spec)
        except (ValueError, TypeError):
            pass
    if net.model.get("name") in (None, "homogeneous", "sample_fixed_indegree",
                                 "sample_prescribed_indegree", "from_sparse", "from_networkx"):
        return DegreeModel.homogeneous()
    raise ValueError(f"the network's model {net.model.get('name')!r} cannot be rebuilt from its "
                     "description; pass model= (the DegreeModel it was drawn from)")


def _pop_labels(net: Network):
    N_E = net.N_E
    lab = np.asarray(net.label, dtype=float)
    return {"E": lab[:N_E], "I": lab[N_E:]}


def _row_sums(kernel, t_rows, t_cols, self_offset=None):
    """For each row j: sum_k m(t_j, t_k) and sum_k m^2, excluding k = j if self_offset given.

    ``self_offset`` is None (different populations) or True (rows and columns are the same
    neurons in the same order).
    """
    nr = len(t_rows)
    if kernel.factors is not None:
        terms = kernel.factors
        F = [np.asarray(f(t_rows), float) * np.ones(nr) for _, f, _ in terms]
        G = [np.asarray(g(t_cols), float) * np.ones(len(t_cols)) for _, _, g in terms]
        c = [float(cc) for cc, _, _ in terms]
        s1 = sum(c[r] * F[r] * G[r].sum() for r in range(len(c)))
        s2 = sum(c[r] * c[s] * F[r] * F[s] * float(np.dot(G[r], G[s]))
                 for r in range(len(c)) for s in range(len(c)))
    else:
        s1 = np.zeros(nr)
        s2 = np.zeros(nr)
        step = max(1, _DENSE_CHUNK // max(len(t_cols), 1))
        for r0 in range(0, nr, step):
            M = kernel.matrix(t_rows[r0:r0 + step], t_cols)
            s1[r0:r0 + step] = M.sum(axis=1)
            s2[r0:r0 + step] = np.einsum("ij,ij->i", M, M)
    if self_offset:
        d = np.asarray(kernel.pairs(t_rows, t_rows), float)
        s1 = s1 - d
        s2 = s2 - d * d
    return s1, s2


def _transposed(kernel):
    """Return a kernel object with the roles of post and pre swapped (for out-degree sums)."""
    from meanfield.degree import CallableKernel, LowRankKernel
    if kernel.factors is not None:
        return LowRankKernel(tuple((c, g, f) for c, f, g in kernel.factors))
    return CallableKernel(lambda a, b: kernel.pairs(b, a))


def _label_noise_var(model, a, b, kernel, t_bin_rows, p, n_pre, rows_are_post=True):
    """p**2 n_pre Var_{t' ~ F_b}[mean_{j in bin} m(t_j, t')]: label-sampling variance."""
    tb, wb = model.grid(b)
    if rows_are_post:
        M = kernel.matrix(t_bin_rows, tb)             # (n_bin, n_grid)
    else:
        M = kernel.matrix(tb, t_bin_rows).T
    mbar = M.mean(axis=0)
    mean = float(np.sum(wb * mbar))
    var = float(np.sum(wb * (mbar - mean) ** 2))
    return p * p * n_pre * var


def degree_statistics(net: Network, model: DegreeModel | None = None, n_bins: int = 10, *,
                      component: int = 0) -> dict:
    r"""Realised in- and out-degrees per label bin against the model.

    Parameters
    ----------
    net : Network
        A realised network.
    model : DegreeModel, optional
        The model it was drawn from. Default: rebuilt from ``net.model["spec"]`` when the
        network was drawn from a named constructor, homogeneous for fixed/prescribed
        in-degree networks.
    n_bins : int
        Label bins per population, >= 1 (fewer if the labels take fewer values).
    component : int
        Label component that defines the bins for vector labels.

    Returns
    -------
    dict of str -> BinComparison
        Keys ``"k_in ab"`` (a in E, I; b in E, I, X) and ``"k_out ab"`` (out-degree of the
        b neurons onto a, b in E, I), each with per-bin arrays of length n_bins.

    Notes
    -----
    Given the realised labels, the in-degree of j in a from b is a sum of independent
    Bernoulli(p_ab m_ab(theta_j, theta_k)) over k in b, k != j, so

    .. math:: E[k_j] = p \sum_k m_{jk}, \qquad \mathrm{Var}[k_j] = \sum_k p m_{jk}(1 - p m_{jk}),

    exactly; degrees of different neurons are independent, so a bin mean has standard
    error :math:`\sqrt{\sum_j \mathrm{Var}[k_j]}/n` and the chi-square over bins is
    chi2(n_bins) distributed for a correct sampler (normal approximation to a sum of
    about n_bins K Bernoullis). External: Binomial(N_X, p_aX kin_aX). The model column is
    :math:`p (N_b - [a=b])\, k^{in}_{ab}(\theta_j)` (docs/theory.md section 3), whose error
    adds :math:`p^2 N_b \mathrm{Var}_{t'}[\bar m_{bin}(t')]` for the presynaptic labels.

    Cost O(N rank^2 + synapses) for low-rank kernels, O(N_a N_b) kernel evaluations
    (chunked) otherwise.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a graphs.Network, got {type(net).__name__}")
    model = _resolve_model(net, model)
    params = net.params
    p = params.p
    labels = _pop_labels(net)
    k_in = net.k_in
    k_out = net.k_out
    N_E = net.N_E
    sl = {"E": slice(0, N_E), "I": slice(N_E, net.N)}
    out = {}
    bins = {a: label_bins(labels[a], n_bins, component) for a in POPULATIONS}
    for ia, a in enumerate(POPULATIONS):
        bid, nb, key = bins[a]
        cnt = np.bincount(bid, minlength=nb)
        lm = np.bincount(bid, weights=key, minlength=nb) / np.maximum(cnt, 1)
        for ib, b in enumerate(POPULATIONS + ("X",)):
            if b == "X":
                q = p[ia, 2] * np.asarray(model.kin(a, "X", labels[a]), float)
                e = params.N_X * q
                v = params.N_X * q * (1 - q)
                model_val, extra = e, np.zeros(nb)
                real = k_in[sl[a], 2]
            else:
                kern = model.kernels[(a, b)]
                s1, s2 = _row_sums(kern, labels[a], labels[b], self_offset=(a == b))
                e = p[ia, ib] * s1
                v = p[ia, ib] * s1 - p[ia, ib] ** 2 * s2
                n_pre = len(labels[b]) - (a == b)
                model_val = p[ia, ib] * n_pre * np.asarray(model.kin(a, b, labels[a]), float)
                extra = np.array([_label_noise_var(model, a, b, kern, labels[a][bid == u],
                                                   p[ia, ib], n_pre) if cnt[u] else 0.0
                                  for u in range(nb)])
                real = k_in[sl[a], ib]
            out[f"k_in {a}{b}"] = _binned(f"k_in {a}{b}", bid, nb, cnt, lm, real, e, v,
                                          model_val, extra)
    # out-degrees: neuron k in b onto population a
    for ib, b in enumerate(POPULATIONS):
        bid, nb, key = bins[b]
        cnt = np.bincount(bid, minlength=nb)
        lm = np.bincount(bid, weights=key, minlength=nb) / np.maximum(cnt, 1)
        for ia, a in enumerate(POPULATIONS):
            kern_t = _transposed(model.kernels[(a, b)])
            s1, s2 = _row_sums(kern_t, labels[b], labels[a], self_offset=(a == b))
            e = p[ia, ib] * s1
            v = p[ia, ib] * s1 - p[ia, ib] ** 2 * s2
            n_post = len(labels[a]) - (a == b)
            model_val = p[ia, ib] * n_post * np.asarray(model.kout(a, b, labels[b]), float)
            extra = np.array([_label_noise_var(model, a, b, model.kernels[(a, b)],
                                               labels[b][bid == u], p[ia, ib], n_post,
                                               rows_are_post=False) if cnt[u] else 0.0
                              for u in range(nb)])
            out[f"k_out {a}{b}"] = _binned(f"k_out {a}{b}", bid, nb, cnt, lm,
                                           k_out[sl[b], ia], e, v, model_val, extra)
    return out


def _binned(name, bid, nb, cnt, lm, real, e, v, model_val, extra_var):
    c = np.maximum(cnt, 1)
    real_m = np.bincount(bid, weights=np.asarray(real, float), minlength=nb) / c
    e_m = np.bincount(bid, weights=e, minlength=nb) / c
    se = np.sqrt(np.maximum(np.bincount(bid, weights=v, minlength=nb), 0.0)) / c
    mod = np.bincount(bid, weights=model_val, minlength=nb) / c
    se_model = np.sqrt(se ** 2 + extra_var)
    return BinComparison(name=name, n=cnt, label_mean=lm, realised=real_m, expected=e_m,
                         se=se, model=mod, se_model=se_model)


def _box_sums(kernel, t_a, bid_a, nu, t_b, bid_b, nv, same):
    """Sum m and m^2 over each (u, v) box of pairs (j in u, k in v, j != k if same)."""
    if kernel.factors is not None:
        terms = kernel.factors
        c = [float(cc) for cc, _, _ in terms]
        F = [np.asarray(f(t_a), float) * np.ones(len(t_a)) for _, f, _ in terms]
        G = [np.asarray(g(t_b), float) * np.ones(len(t_b)) for _, _, g in terms]
        R = len(c)
        SF = [np.bincount(bid_a, weights=F[r], minlength=nu) for r in range(R)]
        SG = [np.bincount(bid_b, weights=G[r], minlength=nv) for r in range(R)]
        S1 = sum(c[r] * np.outer(SF[r], SG[r]) for r in range(R))
        S2 = sum(c[r] * c[s] * np.outer(np.bincount(bid_a, weights=F[r] * F[s], minlength=nu),
                                        np.bincount(bid_b, weights=G[r] * G[s], minlength=nv))
                 for r in range(R) for s in range(R))
    else:
        S1 = np.zeros((nu, nv))
        S2 = np.zeros((nu, nv))
        order = np.argsort(bid_b, kind="stable")
        cb = np.bincount(bid_b, minlength=nv)
        starts = np.concatenate([[0], np.cumsum(cb)[:-1]])
        nonempty = cb > 0
        step = max(1, _DENSE_CHUNK // max(len(t_b), 1))
        tb_sorted = t_b[order]
        for r0 in range(0, len(t_a), step):
            M = kernel.matrix(t_a[r0:r0 + step], tb_sorted)
            part1 = np.zeros((M.shape[0], nv))
            part2 = np.zeros((M.shape[0], nv))
            part1[:, nonempty] = np.add.reduceat(M, starts[nonempty], axis=1)
            part2[:, nonempty] = np.add.reduceat(M * M, starts[nonempty], axis=1)
            rows_bin = bid_a[r0:r0 + step]
            for u in np.unique(rows_bin):
                sel = rows_bin == u
                S1[u] += part1[sel].sum(axis=0)
                S2[u] += part2[sel].sum(axis=0)
    if same:
        d = np.asarray(kernel.pairs(t_a, t_a), float)
        S1[np.arange(nu), np.arange(nu)] -= np.bincount(bid_a, weights=d, minlength=nu)
        S2[np.arange(nu), np.arange(nu)] -= np.bincount(bid_a, weights=d * d, minlength=nu)
    return S1, S2


def kernel_statistics(net: Network, model: DegreeModel | None = None, n_bins: int = 10, *,
                      component: int = 0) -> dict:
    r"""Estimate the kernel m_ab between label bins and compare it with the model.

    Parameters
    ----------
    net : Network
        A realised network.
    model : DegreeModel, optional
        The model it was drawn from (default as in ``degree_statistics``).
    n_bins : int
        Label bins per population, >= 1.
    component : int
        Label component that defines the bins for vector labels.

    Returns
    -------
    dict of str -> BinComparison
        Keys ``"m ab"``; arrays of shape (n_bins_a, n_bins_b): the estimate
        :math:`\hat m_{uv} = C_{uv} / (p_{ab} P_{uv})` with C the synapses from bin v of b
        to bin u of a and P the number of ordered pairs (self pairs excluded).

    Notes
    -----
    Given the labels, :math:`C_{uv}` is a sum of independent Bernoulli draws over the
    pairs of the box, so :math:`E[\hat m_{uv}]` is the mean of m over those pairs
    (``expected``) and its standard error is
    :math:`\sqrt{\sum p m (1 - p m)} / (p P_{uv})`; boxes are disjoint, hence
    independent, and the chi-square over all boxes is chi2(n_u n_v). ``model`` is m_ab at
    the bins' mean labels (equal to ``expected`` up to self pairs for kernels bilinear in
    the labels, such as the assortative kernel). Cost O(synapses + N rank^2) for low-rank
    kernels, O(N_a N_b) kernel evaluations (chunked) otherwise.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a graphs.Network, got {type(net).__name__}")
    model = _resolve_model(net, model)
    p = net.params.p
    labels = _pop_labels(net)
    bins = {a: label_bins(labels[a], n_bins, component) for a in POPULATIONS}
    nbs = {a: bins[a][1] for a in POPULATIONS}
    # global bin index: E bins first, then I bins
    gbin = np.concatenate([bins["E"][0], bins["I"][0] + nbs["E"]])
    nt = nbs["E"] + nbs["I"]
    counts = np.zeros(nt * nt, dtype=np.int64)
    for r0, r1 in row_chunks(net.post_indptr):
        s, e = int(net.post_indptr[r0]), int(net.post_indptr[r1])
        if e == s:
            continue
        rows_bin = np.repeat(gbin[r0:r1], np.diff(net.post_indptr[r0:r1 + 1]))
        counts += np.bincount(rows_bin * nt + gbin[net.post_indices[s:e]], minlength=nt * nt)
    counts = counts.reshape(nt, nt)
    out = {}
    off = {"E": 0, "I": nbs["E"]}
    for ia, a in enumerate(POPULATIONS):
        bid_a, nu, key_a = bins[a]
        cu = np.bincount(bid_a, minlength=nu)
        lm_a = np.bincount(bid_a, weights=key_a, minlength=nu) / np.maximum(cu, 1)
        for ib, b in enumerate(POPULATIONS):
            bid_b, nv, key_b = bins[b]
            cv = np.bincount(bid_b, minlength=nv)
            lm_b = np.bincount(bid_b, weights=key_b, minlength=nv) / np.maximum(cv, 1)
            pab = p[ia, ib]
            kern = model.kernels[(a, b)]
            P = np.outer(cu, cv).astype(float)
            if a == b:
                P[np.arange(nu), np.arange(nu)] -= cu
            S1, S2 = _box_sums(kern, labels[a], bid_a, nu, labels[b], bid_b, nv, a == b)
            C = counts[off[a]:off[a] + nu, off[b]:off[b] + nv]
            with np.errstate(divide="ignore", invalid="ignore"):
                denom = pab * P
                real = np.where(denom > 0, C / denom, 0.0)
                exp = np.where(P > 0, S1 / P, 0.0)
                se = np.where(denom > 0, np.sqrt(np.maximum(pab * S1 - pab ** 2 * S2, 0.0)) / denom, 0.0)
            mod = _kernel_at_means(kern, labels[a], bid_a, nu, labels[b], bid_b, nv)
            out[f"m {a}{b}"] = BinComparison(name=f"m {a}{b}", n=P.astype(np.int64),
                                             label_mean=(lm_a, lm_b), realised=real,
                                             expected=exp, se=se, model=mod, se_model=se)
    return out


def _bin_mean_labels(t, bid, nb):
    t = np.asarray(t, float)
    cnt = np.maximum(np.bincount(bid, minlength=nb), 1)
    if t.ndim == 1:
        return np.bincount(bid, weights=t, minlength=nb) / cnt
    return np.stack([np.bincount(bid, weights=t[:, d], minlength=nb) / cnt
                     for d in range(t.shape[1])], axis=1)


def _kernel_at_means(kernel, t_a, bid_a, nu, t_b, bid_b, nv):
    return kernel.matrix(_bin_mean_labels(t_a, bid_a, nu), _bin_mean_labels(t_b, bid_b, nv))

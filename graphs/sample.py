r"""Random networks drawn from a degree model, or with fixed / prescribed in-degrees.

``sample_network`` draws every recurrent connection k -> j (k in population b, j in a)
independently with probability :math:`p_{ab}\, m_{ab}(\theta_j, \theta_k)` (docs/theory.md
section 3), no autapses, no multapses, and the external in-degree of j as
:math:`\mathrm{Binomial}(N_X, p_{aX} k^{in}_{aX}(\theta_j))`. ``sample_fixed_indegree`` and
``sample_prescribed_indegree`` realise given in-degrees exactly, with uniformly random
distinct sources.

The arrays are written directly (CSR, int32 indices, int64 index pointers); no Python
loop runs over neurons or synapses.

Algorithm (shared by all three samplers)
----------------------------------------
The presynaptic neurons of each population are grouped into label bins (equal-count
quantile bins of a bin key, or one bin per distinct label value). For every postsynaptic
neuron j and pre bin c:

1. an upper bound :math:`\bar m_{jc} \ge m(\theta_j, \theta_k)` for all k in c (exact
   interval arithmetic for low-rank kernels; for other kernels the maximum over
   representative labels of the bin times a safety factor, checked on every candidate),
   and the candidate probability :math:`q_{jc} = p\, \bar m_{jc}`;
2. a candidate count :math:`n_{jc} \sim \mathrm{Binomial}(|c| - [j \in c], q_{jc})` and
   that many distinct candidates drawn uniformly from c (self excluded): this is exactly a
   Bernoulli(:math:`q_{jc}`) draw on every pair;
3. thinning: each candidate is kept with probability :math:`p\, m / q_{jc}` (skipped when the
   bound is attained on the whole bin, e.g. homogeneous or separable kernels whose
   presynaptic factor is constant on the bin). Product of the two steps: an independent
   Bernoulli(:math:`p\, m(\theta_j, \theta_k)`) draw on every pair, exactly.

Uniform distinct candidates are drawn with replacement, sorted, and duplicates redrawn
until each segment holds its count (the set of distinct values of such a sequence is a
uniform random subset); counts above half the bin are drawn as the complement.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

import meanfield
from meanfield.checks import check_in_range, check_int
from meanfield.degree import DegreeModel, resolve_model
from meanfield.labels import quantile_bins
from meanfield.params import POPULATIONS, SOURCES, check_network_params, params_at_size
from meanfield.seeding import SEED_RULE, resolve_seed, streams
from meanfield.spatial import SpatialModel

from ._util import check_memory
from .network import Network, row_chunks, transpose_structure

__all__ = ["sample_network", "sample_fixed_indegree", "sample_prescribed_indegree"]

#: Candidate synapses generated per chunk: bounds the temporaries to about 150 MB.
_TARGET_CANDIDATES = 1 << 22
#: Rows per block in the first pass (bounds, realised checks, candidate counts).
_BLOCK_SEGMENTS = 1 << 18
#: Bytes of temporaries the chunked passes need on top of the output arrays.
_TEMP_BYTES = 400e6
#: Relative tolerance of the acceptance ratio against rounding (p m / q <= 1 + tol).
_RATIO_TOL = 1e-9
#: Sub-streams of the seed's "graph" stream used by sample_network (meanfield.seeding).
_GRAPH_STREAMS = ("graph.labels_E", "graph.labels_I", "graph.external_indegree",
                  "graph.recurrent", "graph.external_sources")


# ---------------------------------------------------------------------------- bins
@dataclass
class _PreBins:
    """Presynaptic label bins over all recurrent neurons (E bins first, then I bins)."""

    members: np.ndarray    # int32 (N,): neuron ids grouped by bin, ascending within a bin
    start: np.ndarray      # int64 (B + 1,): bin c holds members[start[c]:start[c + 1]]
    pop: np.ndarray        # int8 (B,): population of each bin
    bin_of: np.ndarray     # int32 (N,): bin of each neuron
    pos: np.ndarray        # int32 (N,): position of each neuron inside its bin
    first: np.ndarray      # int64 (2,): index of the first bin of E and of I
    contiguous: bool       # members == arange(N): candidates come out sorted

    @property
    def n_bins(self) -> int:
        return len(self.pop)

    @property
    def size(self) -> np.ndarray:
        return np.diff(self.start)


def _make_bins(keys: list, offsets: list, n_bins: int) -> _PreBins:
    """Bins per population from 1-d keys (equal-count quantiles or distinct values)."""
    members, starts, pops, firsts = [], [0], [], []
    n_total = sum(len(k) for k in keys)
    bin_of = np.empty(n_total, dtype=np.int32)
    pos = np.empty(n_total, dtype=np.int32)
    b_offset = 0
    for ib, (key, off) in enumerate(zip(keys, offsets)):
        n = len(key)
        firsts.append(b_offset)
        if n == 0:
            continue
        local, nb = quantile_bins(key, n_bins)
        local = local.astype(np.int32)
        m = np.argsort(local, kind="stable").astype(np.int32)  # ascending ids within a bin
        cnt = np.bincount(local, minlength=nb)
        st = np.zeros(nb + 1, dtype=np.int64)
        np.cumsum(cnt, out=st[1:])
        p = np.empty(n, dtype=np.int32)
        p[m] = np.arange(n, dtype=np.int32) - np.repeat(st[:-1], cnt).astype(np.int32)
        members.append(m + np.int32(off))
        starts.extend((st[1:] + starts[-1]).tolist())
        pops.extend([ib] * nb)
        bin_of[off:off + n] = local + b_offset
        pos[off:off + n] = p
        b_offset += nb
    members = np.concatenate(members) if members else np.zeros(0, np.int32)
    return _PreBins(members=members, start=np.asarray(starts, dtype=np.int64),
                    pop=np.asarray(pops, dtype=np.int8), bin_of=bin_of, pos=pos,
                    first=np.asarray(firsts, dtype=np.int64),
                    contiguous=bool(np.array_equal(members, np.arange(n_total))))


def _single_bins(N_E: int, N_I: int) -> _PreBins:
    """One bin per population (uniform sources): fixed and prescribed in-degrees."""
    return _make_bins([np.zeros(N_E), np.zeros(N_I)], [0, N_E], 1)


# ---------------------------------------------------------------------------- bounds
class _Bounds:
    """Upper bounds of m_ab(theta_j, .) on the bins of b, and m on candidate pairs."""

    def __init__(self, kernel, a, b, t_post, t_pre, bins: _PreBins, safety: float, off: int):
        self.kernel, self.a, self.b = kernel, a, b
        self.t_post, self.t_pre = t_post, t_pre
        self.ib = POPULATIONS.index(b)
        self.c0 = int(bins.first[self.ib])
        nb_bins = int(np.sum(bins.pop == self.ib))
        self.nb = nb_bins
        # local (within population b) member indices of each bin
        self.local_members = [bins.members[bins.start[c]:bins.start[c + 1]] - off
                              for c in range(self.c0, self.c0 + nb_bins)]
        self.low_rank = kernel.factors is not None
        if self.low_rank:
            terms = kernel.factors
            self.c = np.array([float(c) for c, _, _ in terms])
            n_a, n_b = len(t_post), len(t_pre)
            self.F = np.stack([np.asarray(f(t_post), float) * np.ones(n_a) for _, f, _ in terms])
            self.G = np.stack([np.asarray(g(t_pre), float) * np.ones(n_b) for _, _, g in terms])
            if not (np.all(np.isfinite(self.F)) and np.all(np.isfinite(self.G))):
                raise ValueError(f"kernel m_{a}{b}: a factor is not finite on the realised labels")
            self.Gmin = np.stack([[g[m].min() for m in self.local_members] for g in self.G])
            self.Gmax = np.stack([[g[m].max() for m in self.local_members] for g in self.G])
            self.safety = 1.0
        else:
            self.safety = float(safety)
            reps, exact = [], []
            tb = np.asarray(t_pre, float)
            for m in self.local_members:
                lab = tb[m]
                if lab.ndim == 1:
                    o = np.argsort(lab, kind="stable")
                    same = lab[o[0]] == lab[o[-1]]
                    extra = []
                else:
                    o = np.argsort(lab[:, 0], kind="stable")
                    same = bool(np.all(lab.min(axis=0) == lab.max(axis=0)))
                    extra = [int(i) for d in range(lab.shape[1])
                             for i in (np.argmin(lab[:, d]), np.argmax(lab[:, d]))]
                idx = o[np.unique(np.linspace(0, len(m) - 1, 9).round().astype(int))].tolist()
                r = np.unique(np.asarray(idx + extra, dtype=np.int64))
                reps.append(m[r])
                exact.append(bool(same))
            self.reps = reps
            self.bin_exact = np.asarray(exact, dtype=bool)

    def bound(self, rows_local: np.ndarray):
        """(M, exact): upper bound (R, nb) and whether it is attained on the whole bin."""
        R = len(rows_local)
        if self.low_rank:
            cF = self.c[:, None] * self.F[:, rows_local]                  # (rank, R)
            lo = cF[:, :, None] * self.Gmin[:, None, :]                    # (rank, R, nb)
            hi = cF[:, :, None] * self.Gmax[:, None, :]
            M = np.maximum(lo, hi).sum(axis=0)
            L = np.minimum(lo, hi).sum(axis=0)
            exact = (M - L) <= 1e-12 * np.maximum(np.abs(M), 1.0)
            return M, exact
        tp = np.asarray(self.t_post, float)[rows_local]
        tb = np.asarray(self.t_pre, float)
        M = np.empty((R, self.nb))
        for c, r in enumerate(self.reps):
            n_r = len(r)
            vals = np.asarray(self.kernel.pairs(np.repeat(tp, n_r, axis=0),
                                                np.tile(tb[r], (R,) + (1,) * (tb.ndim - 1))), float)
            vals = vals.reshape(R, n_r)
            if not np.all(np.isfinite(vals)):
                raise ValueError(f"kernel m_{self.a}{self.b} is not finite on the realised labels")
            M[:, c] = vals.max(axis=1)
        self.last_rep_max = M.copy()
        exact = np.broadcast_to(self.bin_exact[None, :], M.shape)
        M = np.where(exact, M, M * self.safety)
        return M, exact

    def values(self, rows_local: np.ndarray, cols_local: np.ndarray) -> np.ndarray:
        """Evaluate m on candidate pairs (local indices in a and b)."""
        if self.low_rank:
            out = self.c[0] * self.F[0, rows_local] * self.G[0, cols_local]
            for r in range(1, len(self.c)):
                out += self.c[r] * self.F[r, rows_local] * self.G[r, cols_local]
            return out
        return np.asarray(self.kernel.pairs(np.asarray(self.t_post, float)[rows_local],
                                            np.asarray(self.t_pre, float)[cols_local]), float)


class _Thinning:
    """Candidate probabilities q_jc = min(1, p_ab M_jc) and the acceptance step."""

    def __init__(self, params, model, labels, bins: _PreBins, safety: float):
        self.p = params.p
        self.bins = bins
        self.N_E = params.N_E
        offsets = {"E": 0, "I": params.N_E}
        self.bounds = {(a, b): _Bounds(model.kernels[(a, b)], a, b, labels[a], labels[b], bins,
                                       safety, offsets[b])
                       for a in POPULATIONS for b in POPULATIONS}

    def q(self, ia: int, rows_local: np.ndarray, check: bool = False):
        """(q (R, B), exact (R, B)) for rows (local to population ia)."""
        a = POPULATIONS[ia]
        R = len(rows_local)
        q = np.empty((R, self.bins.n_bins))
        exact = np.empty((R, self.bins.n_bins), dtype=bool)
        for ib, b in enumerate(POPULATIONS):
            bd = self.bounds[(a, b)]
            if bd.nb == 0:
                continue
            M, ex = bd.bound(rows_local)
            p = self.p[ia, ib]
            if check:
                self._check(bd, p, M, rows_local)
            sl = slice(bd.c0, bd.c0 + bd.nb)
            q[:, sl] = np.clip(p * M, 0.0, 1.0)
            exact[:, sl] = ex
        return q, exact

    def _check(self, bd: _Bounds, p: float, M: np.ndarray, rows_local):
        """Raise if p m > 1 on realised labels (exact check where the bound exceeds 1/p)."""
        if p == 0:
            return
        if not bd.low_rank:
            raw = bd.last_rep_max
            if np.any(p * raw > 1.0 + 1e-12):
                r, c = np.unravel_index(np.argmax(raw), raw.shape)
                self._raise(bd, p, raw[r, c], rows_local[r])
            return
        # the interval bound exceeds 1/p: evaluate m exactly on those (row, bin) pairs,
        # bin by bin, in chunks of about 4e6 pairs
        bad = p * M > 1.0 + 1e-12
        for c in np.flatnonzero(bad.any(axis=0)):
            rows = np.asarray(rows_local)[bad[:, c]]
            members = bd.local_members[c]
            step = max(1, _TARGET_CANDIDATES // max(len(members), 1))
            for i in range(0, len(rows), step):
                r = rows[i:i + step]
                vals = bd.values(np.repeat(r, len(members)), np.tile(members, len(r)))
                vals = vals.reshape(len(r), len(members)).max(axis=1)
                if np.any(p * vals > 1.0 + 1e-12):
                    j = int(np.argmax(vals))
                    self._raise(bd, p, float(vals[j]), r[j])

    def _raise(self, bd, p, m, row_local):
        t = np.asarray(bd.t_post)[row_local]
        raise ValueError(f"p_{bd.a}{bd.b} * m_{bd.a}{bd.b} = {p:g} * {m:.6g} = {p * m:.6g} "
                         f"for a realised postsynaptic label theta = {t}; allowed: [0, 1] "
                         "(a connection probability); lower p or the kernel's range")

    def accept(self, ia, rows_local, seg_row, seg_bin, seg_q, seg_exact, elem_seg, cols, rng):
        """Boolean mask of accepted candidates, or None when every segment is exact."""
        if seg_exact.all():
            return None
        a = POPULATIONS[ia]
        ne = ~seg_exact[elem_seg]
        idx = np.flatnonzero(ne)
        es = elem_seg[idx]
        ratio = np.empty(len(idx))
        pop_of = self.bins.pop[seg_bin[es]]
        for ib, b in enumerate(POPULATIONS):
            sel = np.flatnonzero(pop_of == ib)
            if len(sel) == 0:
                continue
            bd = self.bounds[(a, b)]
            r_loc = rows_local[seg_row[es[sel]]]
            c_loc = cols[idx[sel]] - (self.N_E if ib == 1 else 0)
            m = bd.values(r_loc, c_loc)
            ratio[sel] = self.p[ia, ib] * m / seg_q[es[sel]]
            if np.any(m < 0) or not np.all(np.isfinite(m)):
                i = int(np.flatnonzero(~(m >= 0))[0])
                raise ValueError(f"kernel m_{a}{b} = {m[i]!r} < 0 (or not finite) on a realised "
                                 "label pair; allowed: m >= 0")
        if np.any(ratio > 1.0 + _RATIO_TOL):
            i = int(np.argmax(ratio))
            if seg_q[es[i]] >= 1.0:
                raise ValueError(f"p * m = {ratio[i]:.6g} > 1 on a realised label pair "
                                 "(population pair of postsynaptic population "
                                 f"{a}); allowed: [0, 1] (a connection probability)")
            raise ValueError("the estimated bound of a non-low-rank kernel was exceeded on a "
                             f"candidate pair (p m / q = {ratio[i]:.6g} > 1): increase "
                             "bound_safety or n_bins, or give the kernel as a LowRankKernel")
        mask = np.ones(len(cols), dtype=bool)
        mask[idx] = rng.random(len(idx)) < ratio
        return mask


# ---------------------------------------------------------------------------- subsets
def _draw_distinct(base, n, k, rng, dt):
    """Sorted keys: for segment s, k[s] distinct uniform values in [base[s], base[s] + n[s])."""
    S = len(n)
    tot = int(k.sum())
    if tot == 0:
        return np.zeros(0, dtype=dt)
    # floor(U n) <= n - 1 for U <= 1 - 2**-53 and integer n < 2**53 (correct rounding)
    keys = rng.random(tot)
    keys *= np.repeat(n.astype(float), k)
    keys = keys.astype(dt)
    keys += np.repeat(base.astype(dt), k)
    keys.sort()
    dup = keys[1:] == keys[:-1]
    if not dup.any():
        return keys
    end = base + n
    deficit = np.bincount(np.searchsorted(end, keys[1:][dup], side="right"), minlength=S)
    keep = np.ones(len(keys), dtype=bool)
    keep[1:] = ~dup
    keys = keys[keep]
    del keep, dup
    added = np.zeros(0, dtype=dt)
    while True:
        segs = np.flatnonzero(deficit)
        if len(segs) == 0:
            break
        sd = np.repeat(segs, deficit[segs])
        new = (rng.random(len(sd)) * n[sd]).astype(dt) + base[sd].astype(dt)
        new.sort()
        if len(new) > 1:
            new = new[np.concatenate(([True], new[1:] != new[:-1]))]
        for arr in (keys, added):
            if len(arr) and len(new):
                p = np.minimum(np.searchsorted(arr, new), len(arr) - 1)
                new = new[arr[p] != new]
        if len(new):
            added = np.sort(np.concatenate([added, new]))
            deficit -= np.bincount(np.searchsorted(end, new, side="right"), minlength=S)
    return np.insert(keys, np.searchsorted(keys, added), added)


def _subsets(n: np.ndarray, k: np.ndarray, rng):
    """Uniform random k[s]-subsets of range(n[s]) for every segment s.

    Returns (keys, base): keys sorted, keys - base[s] are the values of segment s (k[s] of
    them, ascending, segments in order). Exact up to the 2**-53 resolution of the uniform
    variates used to pick values.
    """
    n = np.asarray(n, dtype=np.int64)
    k = np.asarray(k, dtype=np.int64)
    S = len(n)
    base = np.zeros(S, dtype=np.int64)
    if S:
        np.cumsum(n[:-1], out=base[1:])
    total = int(base[-1] + n[-1]) if S else 0
    dt = np.int32 if total < 2**31 else np.int64
    dense = 2 * k > n
    if not dense.any():
        return _draw_distinct(base, n, k, rng, dt), base
    kk = np.where(dense, n - k, k)
    keys = _draw_distinct(base, n, kk, rng, dt)
    seg = np.repeat(np.arange(S), kk)
    dmask = dense[seg]
    excl, keys = keys[dmask], keys[~dmask]
    dn, db = n[dense], base[dense]
    st = np.zeros(len(dn), dtype=np.int64)
    np.cumsum(dn[:-1], out=st[1:])
    full = (np.arange(int(dn.sum()), dtype=np.int64) + np.repeat(db - st, dn)).astype(dt)
    keep = np.ones(len(full), dtype=bool)
    keep[np.searchsorted(full, excl)] = False
    full = full[keep]
    keys = np.concatenate([keys, full])
    keys.sort()
    return keys, base


# ---------------------------------------------------------------------------- engine
def _fill(N, N_E, bins: _PreBins, counts, rng, thin: _Thinning | None, out_capacity: int):
    """Realise candidates (counts per (neuron, bin)) and thinning; return post-major CSR.

    ``counts`` is (N, B): candidates of neuron j in pre bin c; the candidates are uniform
    distinct members of c (self excluded). Rows are processed in chunks of about
    ``_TARGET_CANDIDATES`` candidates. Returns (indptr int64, indices int32 buffer of
    ``out_capacity``, number of entries written).
    """
    B = bins.n_bins
    size = bins.size
    indptr = np.zeros(N + 1, dtype=np.int64)
    indices = np.empty(out_capacity, dtype=np.int32)
    row_cand = counts.sum(axis=1)
    cum = np.zeros(N + 1, dtype=np.int64)
    np.cumsum(row_cand, out=cum[1:])
    max_rows = max(1, (2**31 - 1) // max(N, 1) - 1)  # int32 keys (row * N + col)
    write = 0
    pops = [(0, N_E), (N_E, N)]
    for ia, (lo, hi) in enumerate(pops):
        g0 = lo
        while g0 < hi:
            g1 = int(np.searchsorted(cum, cum[g0] + _TARGET_CANDIDATES, side="right")) - 1
            g1 = min(max(g1, g0 + 1), hi, g0 + max_rows)
            R = g1 - g0
            cnt = counts[g0:g1]
            flat = np.flatnonzero(cnt)
            k = cnt.ravel()[flat].astype(np.int64)
            seg_row = (flat // B).astype(np.int64)
            seg_bin = (flat % B).astype(np.int64)
            rows_g = np.arange(g0, g1)
            own = bins.bin_of[rows_g]                                   # (R,)
            self_in = own[seg_row] == seg_bin
            n_s = size[seg_bin] - self_in
            selfpos = np.where(self_in, bins.pos[rows_g][seg_row].astype(np.int64), np.int64(2**62))
            keys, base = _subsets(n_s, k, rng)
            # member index = start of the bin + value, shifted by one past the neuron itself
            off = bins.start[seg_bin] - base
            thr = np.where(self_in, bins.start[seg_bin] + selfpos, np.int64(2**62))
            idx = keys.astype(np.int32 if N < 2**31 - 1 else np.int64)
            del keys
            idx += np.repeat(off.astype(idx.dtype), k)
            idx += idx >= np.repeat(np.minimum(thr, np.iinfo(idx.dtype).max).astype(idx.dtype), k)
            cols = idx if bins.contiguous else bins.members[idx]
            del idx
            mask = None
            if thin is not None:
                elem_seg = np.repeat(np.arange(len(k), dtype=np.int32), k)
                rows_local = rows_g - lo
                q, exact = thin.q(ia, rows_local)
                mask = thin.accept(ia, rows_local, seg_row, seg_bin, q.ravel()[flat],
                                   exact.ravel()[flat], elem_seg, cols, rng)
                del elem_seg
            if mask is None:
                row_counts = np.bincount(seg_row, weights=k, minlength=R).astype(np.int64)
            if mask is not None or not bins.contiguous:
                elem_row = np.repeat(seg_row.astype(np.int32), k)
                if mask is not None:
                    cols = cols[mask]
                    elem_row = elem_row[mask]
                    # accepted per segment from a running count (no int64 bincount cast)
                    cs = np.zeros(len(mask) + 1, dtype=np.int64)
                    np.cumsum(mask, out=cs[1:])
                    seg_end = np.cumsum(k)
                    acc = np.diff(cs[np.concatenate(([0], seg_end))])
                    row_counts = np.bincount(seg_row, weights=acc, minlength=R).astype(np.int64)
                if not bins.contiguous:
                    # sort within rows: key = row * N + col (int32: R N < 2**31)
                    key = elem_row * np.int32(N)
                    key += cols
                    del cols
                    key.sort()
                    key -= np.repeat(np.arange(R, dtype=np.int32) * np.int32(N), row_counts)
                    cols = key
                del elem_row
            n_out = len(cols)
            indices[write:write + n_out] = cols
            indptr[g0 + 1:g1 + 1] = write + np.cumsum(row_counts)
            write += n_out
            del cols
            g0 = g1
    return indptr, indices, write


def _finish(params, population_labels, indptr, indices, n_written, k_X, seed, model_dict,
            provenance, ext=None):
    """Shrink the buffer, build the presynaptic-major structure and the Network."""
    if n_written < len(indices):
        try:
            indices.resize(n_written, refcheck=False)   # in place, no copy
        except (ValueError, SystemError):              # pragma: no cover - view/refs
            indices = indices[:n_written].copy()
    pre_indptr, pre_indices = transpose_structure(indptr, indices, params.N)
    N_E = params.N_E
    population = np.zeros(params.N, dtype=np.int8)
    population[N_E:] = 1
    ext_indptr, ext_indices = ext if ext is not None else (None, None)
    return Network(params=params, population=population, label=population_labels,
                   post_indptr=indptr, post_indices=indices, pre_indptr=pre_indptr,
                   pre_indices=pre_indices, k_X=np.asarray(k_X, dtype=np.int64),
                   ext_indptr=ext_indptr, ext_indices=ext_indices, seed=seed,
                   model=model_dict, provenance=provenance, seed_rule=SEED_RULE)


def _external_sources(k_X, N_X, rng):
    """Explicit external sources: k_X[j] distinct uniform sources in range(N_X), sorted."""
    N = len(k_X)
    indptr = np.zeros(N + 1, dtype=np.int64)
    np.cumsum(k_X, out=indptr[1:])
    out = np.empty(int(indptr[-1]), dtype=np.int32)
    max_rows = max(1, (2**31 - 1) // max(N_X, 1) - 1)
    for g0, g1 in row_chunks(indptr, _TARGET_CANDIDATES, max_rows):
        k = np.asarray(k_X[g0:g1], dtype=np.int64)
        keys, base = _subsets(np.full(g1 - g0, N_X, dtype=np.int64), k, rng)
        out[indptr[g0]:indptr[g1]] = keys.astype(np.int64) - np.repeat(base, k)
    return indptr, out


def _estimate_bytes(n_syn: float, N: int, n_cand: float | None = None) -> float:
    """Estimate the peak bytes of a draw.

    The larger of the candidate buffer (4 bytes per candidate) and the two int32 index
    arrays (8 bytes per synapse), plus per-neuron arrays and the chunked temporaries.
    """
    cand = n_syn if n_cand is None else n_cand
    return max(4.0 * cand, 8.0 * n_syn) + 100.0 * N + _TEMP_BYTES


def _expected_synapses(params) -> float:
    s = params.sizes.astype(float)
    p = params.p
    return float(sum(p[a, b] * s[a] * (s[b] - (a == b)) for a in range(2) for b in range(2)))


def _check_seed_labels(labels):
    dims = {np.asarray(t).ndim for t in labels.values() if len(t)}
    if len(dims) > 1:
        raise ValueError("the E and I label distributions have different dimensions; a "
                         "Network stores one label array: use labels of the same dimension")
    shapes = {np.asarray(t).shape[1:] for t in labels.values() if len(t)}
    if len(shapes) > 1:
        raise ValueError(f"the E and I labels have different shapes {sorted(shapes)}")


def _bin_key(model, b, t_b):
    """1-d key used to bin the presynaptic neurons of population b."""
    n = len(t_b)
    ks = [model.kernels[(a, b)] for a in POPULATIONS]
    if all(k.factors is not None for k in ks):
        for k in ks:
            for _, _, g in k.factors:
                gv = np.asarray(g(t_b), float) * np.ones(n)
                if n and np.ptp(gv) > 0:
                    return gv
        return np.zeros(n)
    t = np.asarray(t_b, float)
    return t if t.ndim == 1 else t[:, 0]


# ---------------------------------------------------------------------------- public
def sample_network(params, model: DegreeModel | None = None, N: int | None = None, *,
                   seed=None, n_bins: int = 32, external: str = "count", bound_safety: float = 1.25,
                   max_memory: float | None = None, layout: str | None = None,
                   construction: str | None = None) -> Network:
    r"""Draw a network from a degree model: independent connections with P = p_ab m_ab.

    Parameters
    ----------
    params : meanfield.NetworkParams
        Sizes (N_E, N_I, N_X), connection probabilities p_ab and weights.
    model : meanfield.degree.DegreeModel, optional
        Label distributions, kernels m_ab and external in-degree factors kin_aX. Default:
        ``DegreeModel.homogeneous()`` (Erdos-Renyi).
    N : int, optional
        Network size, >= 10; overrides ``params.N`` with the balanced scaling
        (``params.with_N(N)``: j, p, q fixed).
    seed : int >= 0, numpy.random.SeedSequence, numpy.random.Generator or None
        Keyword-only. Randomness: the stream ``"graph"`` of ``meanfield.seeding`` (the
        labels, external in-degrees, recurrent synapses and explicit external sources use
        its independent sub-streams). The same seed given to ``validation.simulate`` draws
        the noise from the independent stream ``"noise"``. None: fresh entropy, recorded
        in ``Network.seed``.
    n_bins : int
        Label bins per presynaptic population used to bound the kernel, in [1, 4096].
        Populations with at most ``n_bins`` distinct labels (or constant kernel factors)
        get one bin per value, which makes the draw thinning-free.
    external : {"count", "explicit"}
        "count": only the external in-degree k_X of each neuron is drawn (independent
        external Poisson sources, docs/theory.md section 1). "explicit": also the identity of
        the k_X distinct external neurons, in 0..N_X-1 (``ext_indptr``/``ext_indices``).
    bound_safety : float
        Factor, >= 1, applied to the kernel maximum over representative labels of a bin for
        kernels that are not low-rank (``kernel.factors is None``). Every candidate checks
        p m <= q; a violation raises.
    max_memory : float, optional
        Byte budget; default: the memory the OS reports as available.
    layout, construction : str, optional
        Spatial models only (``DegreeModel.spatial``): passed to
        ``graphs.spatial.sample_spatial_network`` (defaults "grid" and "bernoulli"), which
        draws the network; ``n_bins``, ``external`` and ``bound_safety`` are then unused.

    Returns
    -------
    Network
        Frozen network with post- and presynaptic-major CSR structures (int32 indices),
        ``population`` (N,), ``label`` (N,) or (N, dim), ``k_X`` (N,), ``k_in`` (N, 3),
        ``k_out`` (N, 2), ``J`` (sparse, post x pre, mV), ``seed`` and ``seed_rule``
        (``meanfield.seeding.seed_from_record`` repeats the draw) and provenance.

    Raises
    ------
    TypeError
        ``params``/``model`` of the wrong type, or a non-integer ``N``.
    ValueError
        ``N`` < 10; p m outside [0, 1] on the model's grid or the realised labels;
        ``p_aX kin_aX`` outside [0, 1]; an estimated size above the available memory. Each
        is raised before the synapse arrays are allocated.

    Notes
    -----
    Connection k -> j (k in b, j in a, k != j) exists independently with probability

    .. math:: P(k \to j) = p_{ab}\, m_{ab}(\theta_j, \theta_k),
              \qquad K^X_j \sim \mathrm{Binomial}(N_X,\, p_{aX}\, k^{in}_{aX}(\theta_j)),

    docs/theory.md section 3. The draw is exact for every kernel whose bound holds (always for
    low-rank kernels ``m = sum_r c_r f_r(t) g_r(t')``, whose bound on a label bin is
    interval arithmetic on the realised factor values; homogeneous and separable kernels
    included): candidate pairs are Bernoulli(q) with q >= p m, thinned with p m / q.
    Uniform variates resolve 2**-53, the only approximation.

    Cost: O(N n_bins rank) for the bounds (O(N n_bins) kernel evaluations at about 10
    representative labels per bin for kernels that are not low-rank) plus
    O(candidates log) for the synapses, where candidates = sum over pairs of q: equal to
    the synapses for homogeneous kernels and separable kernels whose out-factor is
    constant on each bin (no thinning), 1.03 x synapses for the assortative Case C kernel
    with 32 bins. Memory: 8 bytes per synapse for the result plus chunked temporaries
    (about 0.25 GB); no Python loop over neurons or synapses. Measured times and memory:
    benchmarks/README.md (``benchmarks/bench_graphs.py``).

    Examples
    --------
    >>> from meanfield import NetworkParams
    >>> net = sample_network(NetworkParams.preset("akil2021"), N=1000, seed=1)
    >>> net.k_in.shape, net.population[:3].tolist()
    ((1000, 3), [0, 0, 0])
    >>> bool(abs(net.k_in[:, 0].mean() / net.params.K_EE - 1) < 0.05)
    True
    """
    t_start = time.perf_counter()
    if isinstance(model, SpatialModel):
        from .spatial import sample_spatial_network
        return sample_spatial_network(params, model, N, seed=seed, layout=layout or "grid",
                                      construction=construction or "bernoulli",
                                      max_memory=max_memory)
    if layout is not None or construction is not None:
        raise ValueError("layout and construction apply to spatial models only "
                         "(DegreeModel.spatial)")
    params = params_at_size(params, N)
    model = resolve_model(model)
    n_bins = check_int("n_bins", n_bins, lo=1, hi=4096)
    bound_safety = check_in_range("bound_safety", bound_safety, 1.0, 1e6)
    if external not in ("count", "explicit"):
        raise ValueError(f"external = {external!r} is unknown; allowed: 'count', 'explicit'")
    N, N_E, N_I, N_X = params.N, params.N_E, params.N_I, params.N_X
    n_syn = _expected_synapses(params)
    ext_syn = float(np.sum(params.K[:, 2] * np.array([N_E, N_I]))) if external == "explicit" else 0.0
    check_memory(_estimate_bytes(n_syn + ext_syn / 2, N), f"sample_network(N={N})", max_memory)
    model.check_params(params)                          # p m <= 1 on the model's grid
    root, seed_rec = resolve_seed(seed)    # None: fresh entropy, recorded in net.seed
    g = streams(root, *_GRAPH_STREAMS)
    g_ext, g_rec, g_src = (g["graph.external_indegree"], g["graph.recurrent"],
                           g["graph.external_sources"])
    labels = {a: np.asarray(model.labels[a].sample(n, seed=g[f"graph.labels_{a}"]), dtype=float)
              for a, n in zip(POPULATIONS, (N_E, N_I))}
    _check_seed_labels(labels)

    # external in-degrees
    k_X = np.empty(N, dtype=np.int64)
    for ia, (a, lo, hi) in enumerate((("E", 0, N_E), ("I", N_E, N))):
        q = params.p[ia, 2] * np.asarray(model.kin(a, "X", labels[a]), float)
        if hi > lo and (not np.all(np.isfinite(q)) or q.min() < 0 or q.max() > 1.0 + 1e-12):
            i = int(np.argmax(np.abs(np.nan_to_num(q, nan=9.0) - 0.5)))
            raise ValueError(f"p_{a}X * kin_{a}X = {q[i]:.6g} at the realised label "
                             f"{labels[a][i]}; allowed: [0, 1]")
        k_X[lo:hi] = g_ext.binomial(N_X, np.clip(q, 0.0, 1.0))

    # bins, bounds, realised check and candidate counts (first pass, no large arrays)
    keys = [_bin_key(model, b, labels[b]) for b in POPULATIONS]
    bins = _make_bins(keys, [0, N_E], n_bins)
    thin = _Thinning(params, model, labels, bins, bound_safety)
    B = bins.n_bins
    counts = np.zeros((N, B), dtype=np.int32 if N < 2**31 else np.int64)
    size = bins.size
    block = max(1, _BLOCK_SEGMENTS // max(B, 1))
    all_exact = True
    expected_cand = 0.0
    for ia, (lo, hi) in enumerate(((0, N_E), (N_E, N))):
        for r0 in range(lo, hi, block):
            r1 = min(hi, r0 + block)
            rows_local = np.arange(r0, r1) - lo
            q, exact = thin.q(ia, rows_local, check=True)
            n_s = np.broadcast_to(size[None, :], q.shape) - (
                bins.bin_of[r0:r1, None] == np.arange(B)[None, :])
            expected_cand += float(np.sum(n_s * q))
            all_exact &= bool(np.all(exact | (q == 0)))
            counts[r0:r1] = g_rec.binomial(n_s, q)
    n_cand = int(counts.sum(dtype=np.int64))
    check_memory(_estimate_bytes(max(n_syn, 1.0), N, n_cand), f"sample_network(N={N})", max_memory)

    indptr, indices, n_written = _fill(N, N_E, bins, counts, g_rec,
                                       None if all_exact else thin, n_cand)
    del counts
    ext = _external_sources(k_X, N_X, g_src) if external == "explicit" else None
    label = np.concatenate([labels["E"], labels["I"]], axis=0)
    provenance = {
        "sampler": "sample_network", "package_version": meanfield.__version__,
        "numpy_version": np.__version__, "n_bins": n_bins,
        "bins_per_population": [int(np.sum(bins.pop == i)) for i in range(2)],
        "bound_safety": bound_safety, "thinning": not all_exact,
        "candidates": n_cand, "expected_candidates": expected_cand,
        "synapses": int(n_written), "external": external,
        "kernel_kinds": {a + b: ("low_rank" if model.kernels[(a, b)].factors is not None
                                 else type(model.kernels[(a, b)]).__name__)
                         for a in POPULATIONS for b in POPULATIONS},
    }
    net = _finish(params, label, indptr, indices, n_written, k_X, seed_rec,
                  model.to_dict(), provenance, ext)
    provenance["time_s"] = time.perf_counter() - t_start
    return net


def _indegree_network(params, k, seed, label, sampler, extra, external, max_memory):
    """Shared body of the fixed / prescribed in-degree samplers; k is (N, 3) int64."""
    N, N_E, N_I, N_X = params.N, params.N_E, params.N_I, params.N_X
    sizes = np.array([N_E, N_I, N_X])
    is_E = np.arange(N) < N_E
    limits = np.stack([sizes[0] - is_E, sizes[1] - ~is_E, np.full(N, N_X)], axis=1)
    over = k > limits
    if over.any():
        j, b = np.argwhere(over)[0]
        own = " (itself excluded)" if b < 2 and (b == 0) == is_E[j] else ""
        raise ValueError(f"in-degree k_in[{j}, {SOURCES[b]!r}] = {k[j, b]} exceeds the "
                         f"{limits[j, b]} neurons of source {SOURCES[b]} available to neuron "
                         f"{j}{own}; allowed: [0, {limits[j, b]}] (no autapses, no multapses)")
    n_syn = float(k[:, :2].sum())
    check_memory(_estimate_bytes(n_syn, N), f"{sampler}(N={N})", max_memory)
    root, seed_rec = resolve_seed(seed)    # None: fresh entropy, recorded in net.seed
    g = streams(root, "graph.recurrent", "graph.external_sources")
    g_rec, g_src = g["graph.recurrent"], g["graph.external_sources"]
    bins = _single_bins(N_E, N_I)
    counts = k[:, :2][:, bins.pop.astype(np.int64)]      # one bin per non-empty population
    indptr, indices, n_written = _fill(N, N_E, bins, counts, g_rec, None, int(n_syn))
    ext = _external_sources(k[:, 2], N_X, g_src) if external == "explicit" else None
    if label is None:
        label = np.ones(N)
    else:
        label = np.asarray(label, dtype=float)
        if label.shape[:1] != (N,) or label.ndim > 2 or not np.all(np.isfinite(label)):
            raise ValueError(f"label has shape {label.shape}; allowed: finite, ({N},) or ({N}, dim)")
        label = label.copy()
    provenance = {"sampler": sampler, "package_version": meanfield.__version__,
                  "numpy_version": np.__version__, "synapses": int(n_written),
                  "external": external, **extra}
    return _finish(params, label, indptr, indices, n_written, k[:, 2], seed_rec,
                   {"name": sampler}, provenance, ext)


def sample_fixed_indegree(params, K=None, N: int | None = None, *, seed=None,
                          external: str = "count", max_memory: float | None = None) -> Network:
    """Every neuron of population a receives exactly K_ab synapses from each source b.

    Parameters
    ----------
    params : meanfield.NetworkParams
        Sizes and weights.
    K : array-like of int, shape (2, 3), optional
        In-degrees K_ab (rows E, I; columns E, I, X). Default: ``round(params.K)``, i.e.
        ``round(p_ab N_b)``. Each must lie in [0, N_b] ([0, N_b - 1] for b = a).
    N : int, optional
        Network size, >= 10 (``params.with_N(N)``).
    seed : int >= 0, numpy.random.SeedSequence, numpy.random.Generator or None
        Keyword-only. Randomness: the stream ``"graph"``, as in ``sample_network``.
    external : {"count", "explicit"}
        As in ``sample_network``.
    max_memory : float, optional
        Byte budget (default: available memory).

    Returns
    -------
    Network
        ``k_in[j] == K[population[j]]`` exactly for every neuron.

    Notes
    -----
    The sources of each neuron are a uniformly random K_ab-subset of population b (self
    excluded): exact. Out-degrees are then binomial-like with mean K_ab N_a / N_b. Cost
    O(synapses) (sorting within rows is not needed: candidates come out sorted).

    Examples
    --------
    >>> from meanfield import NetworkParams
    >>> net = sample_fixed_indegree(NetworkParams.preset("akil2021"), N=500, seed=0)
    >>> sorted(set(net.k_in[:400, 0].tolist()))
    [40]
    """
    params = params_at_size(params, N)
    if K is None:
        K = np.rint(params.K).astype(np.int64)
    else:
        K = _as_int_array("K", K)
        if K.shape != (2, 3):
            raise ValueError(f"K has shape {K.shape}; allowed: (2, 3) (rows E, I; columns E, I, X)")
    if np.any(K < 0):
        raise ValueError(f"K = {K.tolist()} has negative entries; allowed: integers >= 0")
    for ia, a in enumerate(POPULATIONS):
        for ib, b in enumerate(SOURCES):
            lim = max(0, int(params.sizes[ib]) - (a == b))
            if K[ia, ib] > lim:
                raise ValueError(f"K[{a!r}, {b!r}] = {K[ia, ib]} exceeds the {lim} neurons of "
                                 f"{b} available to each {a} neuron; allowed: [0, {lim}] "
                                 "(no autapses, no multapses)")
    pop = np.repeat(np.array([0, 1]), [params.N_E, params.N_I])
    k = K[pop]
    return _indegree_network(params, k, seed, None, "sample_fixed_indegree",
                             {"K": K.tolist()}, external, max_memory)


def _as_int_array(name, x):
    arr = np.asarray(x)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            bad = arr[~(np.isfinite(arr) & (arr == np.round(np.nan_to_num(arr))))][:1]
            raise TypeError(f"{name} must hold integers, got {bad.tolist()} among its entries")
    return arr.astype(np.int64)


def sample_prescribed_indegree(params, k_in, *, seed=None, label=None, external: str = "count",
                               max_memory: float | None = None) -> Network:
    """Realise a prescribed in-degree sequence exactly, with uniformly random sources.

    Parameters
    ----------
    params : meanfield.NetworkParams
        Sizes (its N must equal ``len(k_in)``) and weights.
    k_in : array-like of int, shape (N, 3) or (N, 2)
        In-degree of every neuron from E, I (and X; if omitted, ``round(p_aX N_X)``).
        Entry (j, b) must lie in [0, N_b], [0, N_b - 1] when j belongs to b.
    seed : int >= 0, numpy.random.SeedSequence, numpy.random.Generator or None
        Keyword-only. Randomness: the stream ``"graph"``, as in ``sample_network``.
    label : array-like, shape (N,) or (N, dim), optional
        Labels to store with the network (e.g. the in-degree factors); default 1.
    external : {"count", "explicit"}
        As in ``sample_network``.
    max_memory : float, optional
        Byte budget (default: available memory).

    Returns
    -------
    Network
        ``net.k_in == k_in`` exactly.

    Notes
    -----
    The sources of neuron j from b are a uniformly random k_in[j, b]-subset of b (self
    excluded) - the in-degree configuration model without multapses. Cost O(synapses).

    Examples
    --------
    >>> import numpy as np
    >>> from meanfield import NetworkParams
    >>> p = NetworkParams.preset("akil2021", N=100)
    >>> k = np.tile([8, 2, 2], (100, 1)); k[0] = [79, 20, 20]
    >>> net = sample_prescribed_indegree(p, k, seed=0)
    >>> bool((net.k_in == k).all())
    True
    """
    params = check_network_params(params)
    k = _as_int_array("k_in", k_in)
    N = params.N
    if k.ndim != 2 or k.shape[0] != N or k.shape[1] not in (2, 3):
        raise ValueError(f"k_in has shape {k.shape}; allowed: ({N}, 3) or ({N}, 2) for "
                         f"N = params.N = {N}")
    if k.shape[1] == 2:
        kx = np.rint(params.K[:, 2]).astype(np.int64)
        pop = np.repeat(np.array([0, 1]), [params.N_E, params.N_I])
        k = np.concatenate([k, kx[pop][:, None]], axis=1)
    if np.any(k < 0):
        j, b = np.argwhere(k < 0)[0]
        raise ValueError(f"k_in[{j}, {SOURCES[b]!r}] = {k[j, b]} is negative; allowed: integers >= 0")
    return _indegree_network(params, k, seed, label, "sample_prescribed_indegree", {},
                             external, max_memory)

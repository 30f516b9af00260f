"""The ``Network`` container: a realised E/I network with external in-degrees.

Connectivity is stored once per orientation as index arrays (no weights: every synapse
b -> a has the weight J_ab = j_ab / sqrt(N) of its population pair), which halves the memory
of a weighted CSR and is what the simulator needs:

- presynaptic-major (``pre_indptr``, ``pre_indices``): the targets of neuron k are
  ``pre_indices[pre_indptr[k]:pre_indptr[k + 1]]`` (spike propagation);
- postsynaptic-major (``post_indptr``, ``post_indices``): the sources of neuron j
  (neuron-level mean-field, statistics).

``Network.weight_matrix()`` builds the weighted ``scipy.sparse.csr_array`` (post x pre, mV)
on request.
Neurons are ordered E first (0 .. N_E - 1), then I.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from meanfield.params import NetworkParams

__all__ = ["Network", "transpose_structure", "row_chunks"]

#: Synapses handled per chunk by the O(nnz) passes below (bounds their temporaries to
#: about 100 MB whatever the network size).
_CHUNK = 1 << 23


def row_chunks(indptr: np.ndarray, target: int = _CHUNK, max_rows: int | None = None):
    """Yield (r0, r1) row ranges of a CSR ``indptr`` holding about ``target`` entries each.

    Every range has at least one row and at most ``max_rows``; the ranges cover all rows in
    order. Used to bound the temporaries of O(synapses) passes.
    """
    n_rows = len(indptr) - 1
    r0 = 0
    while r0 < n_rows:
        r1 = int(np.searchsorted(indptr, indptr[r0] + target, side="right")) - 1
        r1 = max(r1, r0 + 1)
        if max_rows is not None:
            r1 = min(r1, r0 + max_rows)
        r1 = min(r1, n_rows)
        yield r0, r1
        r0 = r1


def transpose_structure(indptr: np.ndarray, indices: np.ndarray, n_cols: int):
    """Transpose a CSR structure (no data): returns ``(indptr_T, indices_T)``.

    Parameters
    ----------
    indptr : ndarray of int, shape (n_rows + 1,)
        Index pointer of the structure to transpose, n_rows < 2**31 - 1.
    indices : ndarray of int, shape (nnz,)
        Column index of each entry, in [0, n_cols).
    n_cols : int
        Number of columns (rows of the result).

    Returns
    -------
    indptr_T : ndarray of int64, shape (n_cols + 1,)
    indices_T : ndarray of int32, shape (nnz,)
        Within each output row the indices come out sorted ascending.

    Notes
    -----
    The output is used as its own workspace: one pass over the input (in chunks of 8e6
    entries) writes the int32 key ``(col - c0) * n_rows + row`` of every entry into the
    output region of its column block (blocks of columns with ``width * n_rows < 2**31``:
    a single block up to n_rows = n_cols = 46340); each block is then sorted in place
    (numpy's SIMD sort of int32) and the keys are turned into row indices. Cost
    O(nnz log nnz) time; memory: the output plus O(chunk) temporaries, never a temporary
    of size nnz.
    """
    indptr = np.asarray(indptr)
    indices = np.asarray(indices)
    n_rows = len(indptr) - 1
    if n_rows >= 2**31 - 1:
        raise ValueError(f"n_rows = {n_rows} is out of range; allowed: < 2**31 - 1")
    nnz = int(indptr[-1]) if len(indptr) else 0
    out = np.empty(nnz, dtype=np.int32)
    indptr_t = np.zeros(n_cols + 1, dtype=np.int64)
    if nnz == 0:
        return indptr_t, out
    width = max(1, (2**31 - 1) // max(n_rows, 1))          # columns per block (int32 keys)
    n_blocks = -(-n_cols // width)
    bounds = np.minimum(np.arange(n_blocks + 1, dtype=np.int64) * width, n_cols)
    # entries per block (count_nonzero is SIMD; np.bincount would cast to int64)
    below = np.zeros(n_blocks + 1, dtype=np.int64)
    below[n_blocks] = nnz
    if n_blocks > 1:
        for r0, r1 in row_chunks(indptr):
            x = indices[int(indptr[r0]):int(indptr[r1])]
            for b in range(1, n_blocks):
                below[b] += np.count_nonzero(x < bounds[b])
    cursor = below[:-1].copy()
    blk_dtype = np.uint8 if n_blocks <= 255 else np.uint16 if n_blocks <= 65535 else np.int64
    for r0, r1 in row_chunks(indptr):
        s, e = int(indptr[r0]), int(indptr[r1])
        if e == s:
            continue
        x = indices[s:e]
        key = np.repeat(np.arange(r0, r1, dtype=np.int32), np.diff(indptr[r0:r1 + 1]))
        if n_blocks == 1:
            key += x.astype(np.int32, copy=False) * np.int32(n_rows)
            out[cursor[0]:cursor[0] + len(key)] = key
            cursor[0] += len(key)
            continue
        blk = (x // width).astype(blk_dtype)
        key += ((x - blk.astype(np.int64) * width) * n_rows).astype(np.int32)
        order = np.argsort(blk, kind="stable")             # radix sort for 8/16-bit ids
        key = key[order]
        blk = blk[order]
        pos = 0
        for b in range(n_blocks):
            c = int(np.searchsorted(blk, b, side="right")) - pos
            if c:
                out[cursor[b]:cursor[b] + c] = key[pos:pos + c]
                cursor[b] += c
                pos += c
        del key, blk, order
    for b in range(n_blocks):
        c0, c1 = int(bounds[b]), int(bounds[b + 1])
        lo, hi = int(below[b]), int(below[b + 1])
        blk_keys = out[lo:hi]
        blk_keys.sort()
        # column c of the block owns the keys in [(c - c0) n_rows, (c - c0 + 1) n_rows)
        # needles in int32 (<= width * n_rows < 2**31): a mixed-dtype search would copy
        # the keys to int64
        needles = (np.arange(c1 - c0 + 1, dtype=np.int64) * n_rows).astype(np.int32)
        edges = np.searchsorted(blk_keys, needles)
        indptr_t[c0 + 1:c1 + 1] = lo + edges[1:]
        counts = np.diff(edges)
        # key - (col - c0) * n_rows is the row; done in slices to keep temporaries small
        for a0, a1 in row_chunks(edges):
            s, e = lo + int(edges[a0]), lo + int(edges[a1])
            out[s:e] -= np.repeat(np.arange(a0, a1, dtype=np.int32) * np.int32(n_rows),
                                  counts[a0:a1])
    return indptr_t, out


@dataclass(frozen=True, eq=False)
class Network:
    """A realised network (frozen).

    Attributes
    ----------
    params : NetworkParams
        The parameters it was drawn for (sizes and weights come from here).
    population : ndarray of int8, shape (N,)
        0 for E, 1 for I; E neurons first.
    label : ndarray of float, shape (N,) or (N, dim)
        The degree label theta_j of each neuron (1 for homogeneous networks).
    post_indptr, post_indices : ndarray (int64, int32)
        Postsynaptic-major CSR structure: the presynaptic partners of each neuron, sorted.
    pre_indptr, pre_indices : ndarray (int64, int32)
        Presynaptic-major structure: the targets of each neuron, sorted.
    k_X : ndarray of int64, shape (N,)
        External in-degree of each neuron (number of external Poisson inputs).
    ext_indptr, ext_indices : ndarray or None
        Optional explicit external connectivity (postsynaptic-major, sources in 0..N_X-1).
    seed : int, dict or None
        The seed of the random draw: the int given, or ``{"entropy", "spawn_key"}`` for a
        SeedSequence, None or Generator seed (``meanfield.seeding.resolve_seed``).
    model : dict
        Description of the degree model (``DegreeModel.to_dict()``) or of the source.
    provenance : dict
        Sampler name, version, timing, anything a reader of a saved file needs.
    seed_rule : str or None
        The rule that turned ``seed`` into the draw (``meanfield.seeding.SEED_RULE``);
        None for networks not drawn by ``graphs``. ``seed_from_record(net.seed,
        net.seed_rule)`` passed back as ``seed=`` repeats the draw.

    Notes
    -----
    Memory: 8 bytes per synapse (two int32 index arrays) plus about 40 bytes per neuron.
    ``k_in`` and ``k_out`` are computed once, on first use, in O(synapses) with chunked
    temporaries. No autapses and no multapses are allowed in networks built by
    ``graphs``; ``validate()`` checks all invariants in O(synapses).

    Examples
    --------
    >>> from meanfield import NetworkParams
    >>> from graphs import sample_network
    >>> net = sample_network(NetworkParams.preset("akil2021"), N=100, seed=0)
    >>> k = 5
    >>> targets = net.pre_indices[net.pre_indptr[k]:net.pre_indptr[k + 1]]
    >>> bool(all(k in net.sources(int(j)) for j in targets))
    True
    >>> net.weight_matrix().shape, net.k_in.shape
    ((100, 100), (100, 3))
    """

    params: NetworkParams
    population: np.ndarray
    label: np.ndarray
    post_indptr: np.ndarray
    post_indices: np.ndarray
    pre_indptr: np.ndarray
    pre_indices: np.ndarray
    k_X: np.ndarray
    ext_indptr: np.ndarray | None = None
    ext_indices: np.ndarray | None = None
    seed: object = None
    model: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    seed_rule: str | None = None

    def __post_init__(self):
        if not isinstance(self.params, NetworkParams):
            raise TypeError(f"Network.params must be a NetworkParams, got {type(self.params).__name__}")
        N = self.params.N
        pop = np.asarray(self.population)
        if pop.shape != (N,):
            raise ValueError(f"population has shape {pop.shape}; the params say N = {N}")
        if not (np.all(pop[: self.params.N_E] == 0) and np.all(pop[self.params.N_E:] == 1)):
            raise ValueError("population must list N_E excitatory (0) neurons first, then "
                             f"N_I inhibitory (1) ones (N_E = {self.params.N_E})")
        lab = np.asarray(self.label)
        if lab.ndim not in (1, 2) or lab.shape[0] != N:
            raise ValueError(f"label has shape {lab.shape}; expected ({N},) or ({N}, dim)")
        for name in ("post_indptr", "pre_indptr"):
            ip = getattr(self, name)
            if ip.shape != (N + 1,) or ip[0] != 0 or np.any(np.diff(ip) < 0):
                raise ValueError(f"{name} is not a valid CSR index pointer for N = {N}")
        if self.post_indptr[-1] != len(self.post_indices) or self.pre_indptr[-1] != len(self.pre_indices):
            raise ValueError("indptr[-1] must equal the number of synapses")
        if len(self.post_indices) != len(self.pre_indices):
            raise ValueError("the pre- and postsynaptic-major structures hold different numbers of synapses")
        if np.asarray(self.k_X).shape != (N,):
            raise ValueError(f"k_X has shape {np.asarray(self.k_X).shape}; expected ({N},)")
        if (self.ext_indptr is None) != (self.ext_indices is None):
            raise ValueError("ext_indptr and ext_indices must be given together")
        if self.ext_indptr is not None:
            if not np.array_equal(np.diff(self.ext_indptr), np.asarray(self.k_X)):
                raise ValueError("the explicit external structure disagrees with k_X")
        for name in ("population", "label", "post_indptr", "post_indices", "pre_indptr",
                     "pre_indices", "k_X", "ext_indptr", "ext_indices"):
            a = getattr(self, name)
            if isinstance(a, np.ndarray):
                a.setflags(write=False)

    # ------------------------------------------------------------------ sizes
    @property
    def N(self) -> int:
        """Number of recurrent neurons, N = N_E + N_I."""
        return self.params.N

    @property
    def N_E(self) -> int:
        """Number of excitatory neurons (indices 0 .. N_E - 1)."""
        return self.params.N_E

    @property
    def N_I(self) -> int:
        """Number of inhibitory neurons (indices N_E .. N - 1)."""
        return self.params.N_I

    @property
    def N_X(self) -> int:
        """Number of external neurons, N_X = q_X N."""
        return self.params.N_X

    @property
    def n_synapses(self) -> int:
        """Number of recurrent synapses."""
        return int(len(self.post_indices))

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays of this network."""
        return int(sum(getattr(self, n).nbytes for n in
                       ("population", "label", "post_indptr", "post_indices", "pre_indptr",
                        "pre_indices", "k_X") if getattr(self, n) is not None)
                   + sum(getattr(self, n).nbytes for n in ("ext_indptr", "ext_indices")
                         if getattr(self, n) is not None))

    # ------------------------------------------------------------------ degrees
    @staticmethod
    def _count_below(indptr, indices, bound, n):
        """Per row, the number of indices < bound (chunked, no temporary of size nnz)."""
        out = np.zeros(n, dtype=np.int64)
        if len(indices) == 0:
            return out
        for r0, r1 in row_chunks(indptr):
            s, e = int(indptr[r0]), int(indptr[r1])
            if e == s:
                continue
            cs = np.zeros(e - s + 1, dtype=np.int64)
            np.cumsum(indices[s:e] < bound, out=cs[1:])
            out[r0:r1] = np.diff(cs[indptr[r0:r1 + 1] - s])
        return out

    @cached_property
    def k_in(self) -> np.ndarray:
        """Realised in-degrees, int64 array of shape (N, 3): from E, I and X (cached)."""
        n = np.diff(self.post_indptr)
        from_E = self._count_below(self.post_indptr, self.post_indices, self.N_E, self.N)
        out = np.stack([from_E, n - from_E, np.asarray(self.k_X, np.int64)], axis=1)
        out.setflags(write=False)
        return out

    @cached_property
    def k_out(self) -> np.ndarray:
        """Realised out-degrees, int64 array of shape (N, 2): onto E and onto I (cached)."""
        n = np.diff(self.pre_indptr)
        onto_E = self._count_below(self.pre_indptr, self.pre_indices, self.N_E, self.N)
        out = np.stack([onto_E, n - onto_E], axis=1)
        out.setflags(write=False)
        return out

    # ------------------------------------------------------------------ weights
    def weight_matrix(self) -> sp.csr_array:
        r"""Build the weighted connectivity :math:`J_{jk}` in mV (post x pre), a new matrix.

        Returns
        -------
        scipy.sparse.csr_array, shape (N, N)
            Entry (j, k) is the weight :math:`J_{ab} = j_{ab}/\sqrt{N}` (mV) of the synapse
            k -> j (k in population b, j in a), from ``params.J``.

        Notes
        -----
        Built on every call: float64 data (8 bytes per synapse, O(synapses) time); the
        index arrays are shared with the network (int32 index pointer whenever the synapse
        count allows it, so nothing is copied). Keep the result if you need it twice.
        """
        Jab = self.params.J
        n_per_row = np.diff(self.post_indptr)
        data = np.empty(self.n_synapses, dtype=float)
        N_E = self.N_E
        for r0, r1 in row_chunks(self.post_indptr):
            s, e = int(self.post_indptr[r0]), int(self.post_indptr[r1])
            post_pop = np.repeat(self.population[r0:r1], n_per_row[r0:r1])
            pre_pop = (self.post_indices[s:e] >= N_E).astype(np.int8)
            data[s:e] = Jab[post_pop, pre_pop]
        indptr = self.post_indptr
        if self.n_synapses < 2**31 - 1 and self.N < 2**31 - 1:
            indptr = indptr.astype(np.int32)
        return sp.csr_array((data, self.post_indices, indptr), shape=(self.N, self.N))

    @property
    def J(self) -> sp.csr_array:
        """Deprecated: ``weight_matrix()`` (the old property rebuilt the matrix on every access)."""
        warnings.warn("Network.J is deprecated; call Network.weight_matrix(), which builds the "
                      "N x N weight matrix (mV) on every call", DeprecationWarning, stacklevel=2)
        return self.weight_matrix()

    # ------------------------------------------------------------------ helpers
    def sources(self, j: int) -> np.ndarray:
        """Presynaptic partners of neuron ``j`` (sorted)."""
        return self.post_indices[self.post_indptr[j]:self.post_indptr[j + 1]]

    def targets(self, k: int) -> np.ndarray:
        """Postsynaptic targets of neuron ``k`` (sorted)."""
        return self.pre_indices[self.pre_indptr[k]:self.pre_indptr[k + 1]]

    def equals(self, other: "Network") -> bool:
        """Return True if ``other`` holds the same neurons, labels and synapses (provenance ignored)."""
        if not isinstance(other, Network) or self.params.to_dict() != other.params.to_dict():
            return False
        for name in ("population", "label", "post_indptr", "post_indices", "pre_indptr",
                     "pre_indices", "k_X"):
            if not np.array_equal(getattr(self, name), getattr(other, name)):
                return False
        for name in ("ext_indptr", "ext_indices"):
            a, b = getattr(self, name), getattr(other, name)
            if (a is None) != (b is None) or (a is not None and not np.array_equal(a, b)):
                return False
        return True

    def validate(self, *, allow_autapses: bool = False, check_transpose: bool = True) -> "Network":
        """Check every invariant in O(synapses); raise ``ValueError`` naming the first violation.

        Checks: indices in [0, N); rows strictly increasing (sorted, hence no multapses);
        no autapses (unless ``allow_autapses``); the presynaptic-major structure is the
        exact transpose of the postsynaptic-major one (unless ``check_transpose`` is
        False); k_X >= 0; explicit external sources in [0, N_X), sorted. Returns ``self``.
        """
        N = self.N
        for orient in ("post", "pre"):
            indptr = getattr(self, f"{orient}_indptr")
            ind = getattr(self, f"{orient}_indices")
            if ind.dtype.kind not in "iu":
                raise ValueError(f"{orient}_indices must be integers, got dtype {ind.dtype}")
            for r0, r1 in row_chunks(indptr):
                s, e = int(indptr[r0]), int(indptr[r1])
                if e == s:
                    continue
                x = ind[s:e]
                if x.min() < 0 or x.max() >= N:
                    raise ValueError(f"{orient}_indices has entries outside [0, {N})")
                d = np.diff(x.astype(np.int64))
                row_start = (indptr[r0 + 1:r1] - s)  # positions where a new row begins
                ok = d > 0
                ok[row_start[(row_start > 0) & (row_start < e - s)] - 1] = True
                if not ok.all():
                    i = int(np.flatnonzero(~ok)[0]) + s
                    row = int(np.searchsorted(indptr, i, side="right")) - 1
                    raise ValueError(f"{orient}_indices row {row} is not strictly increasing: "
                                     "unsorted entries or a multapse (repeated synapse)")
                if not allow_autapses:
                    rows = np.repeat(np.arange(r0, r1), np.diff(indptr[r0:r1 + 1]))
                    self_ = rows == x
                    if self_.any():
                        j = int(rows[np.flatnonzero(self_)[0]])
                        raise ValueError(f"neuron {j} has an autapse (a synapse onto itself); "
                                         "allowed: no autapses")
        if check_transpose:
            pi, px = transpose_structure(self.post_indptr, self.post_indices, N)
            if not (np.array_equal(pi, self.pre_indptr) and np.array_equal(px, self.pre_indices)):
                raise ValueError("pre_indptr/pre_indices are not the transpose of "
                                 "post_indptr/post_indices")
        k_X = np.asarray(self.k_X)
        if k_X.dtype.kind not in "iu" or np.any(k_X < 0):
            raise ValueError("k_X must hold integers >= 0")
        if np.any(k_X > self.N_X) and self.ext_indptr is not None:
            raise ValueError(f"k_X exceeds N_X = {self.N_X} with explicit external sources")
        if self.ext_indptr is not None and len(self.ext_indices):
            x = self.ext_indices
            if x.min() < 0 or x.max() >= self.N_X:
                raise ValueError(f"ext_indices has entries outside [0, {self.N_X})")
            d = np.diff(x.astype(np.int64))
            starts = self.ext_indptr[1:-1]
            ok = d > 0
            ok[starts[(starts > 0) & (starts < len(x))] - 1] = True
            if not ok.all():
                raise ValueError("ext_indices rows must be strictly increasing (no repeated "
                                 "external source)")
        return self

    def __repr__(self) -> str:
        return (f"Network(N={self.N} (E {self.N_E}, I {self.N_I}), synapses={self.n_synapses}, "
                f"model={self.model.get('name', '?')!r}, seed={self.seed!r})")

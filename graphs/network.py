"""The ``Network`` container: a realised E/I network with external in-degrees.

Connectivity is stored once per orientation as index arrays (no weights: every synapse
b -> a has the weight J_ab = j_ab / sqrt(N) of its population pair), which halves the memory
of a weighted CSR and is what the simulator needs:

- presynaptic-major (``pre_indptr``, ``pre_indices``): the targets of neuron k are
  ``pre_indices[pre_indptr[k]:pre_indptr[k + 1]]`` (spike propagation);
- postsynaptic-major (``post_indptr``, ``post_indices``): the sources of neuron j
  (neuron-level mean-field, statistics).

``Network.J`` builds the weighted ``scipy.sparse.csr_array`` (post x pre, mV) on request.
Neurons are ordered E first (0 .. N_E - 1), then I.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from meanfield.params import NetworkParams

__all__ = ["Network", "transpose_structure"]


def transpose_structure(indptr: np.ndarray, indices: np.ndarray, n_cols: int):
    """Transpose a CSR structure (no data) in O(nnz): returns (indptr_T, indices_T).

    Within each output row the indices come out sorted ascending (counting sort).
    """
    n_rows = len(indptr) - 1
    counts = np.bincount(indices, minlength=n_cols)
    indptr_t = np.zeros(n_cols + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr_t[1:])
    # stable sort of the column index keeps row order, i.e. sorted sources per target
    order = np.argsort(indices, kind="stable")
    rows = np.repeat(np.arange(n_rows, dtype=np.int32 if n_rows < 2**31 else np.int64),
                     np.diff(indptr))
    indices_t = rows[order]
    return indptr_t, indices_t


@dataclass(frozen=True, eq=False)
class Network:
    """A realised network (frozen).

    Attributes
    ----------
    params : NetworkParams
        The parameters it was drawn for (sizes and weights come from here).
    population : ndarray of int8, shape (N,)
        0 for E, 1 for I; E neurons first.
    label : ndarray, shape (N,) or (N, dim)
        The degree label theta_j of each neuron.
    post_indptr, post_indices : ndarray (int64, int32)
        Postsynaptic-major CSR structure: the presynaptic partners of each neuron, sorted.
    pre_indptr, pre_indices : ndarray (int64, int32)
        Presynaptic-major structure: the targets of each neuron, sorted.
    k_X : ndarray of int64, shape (N,)
        External in-degree of each neuron (number of external Poisson inputs).
    ext_indptr, ext_indices : ndarray or None
        Optional explicit external connectivity (postsynaptic-major, sources in 0..N_X-1).
    seed : int, dict, str or None
        Provenance of the random draw.
    model : dict
        Description of the degree model (``DegreeModel.to_dict()``) or of the source.
    provenance : dict
        Sampler name, version, timing, anything a reader of a saved file needs.
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

    def __post_init__(self):
        N = self.params.N
        pop = np.asarray(self.population)
        if pop.shape != (N,):
            raise ValueError(f"population has shape {pop.shape}; the params say N = {N}")
        if not (np.all(pop[: self.params.N_E] == 0) and np.all(pop[self.params.N_E:] == 1)):
            raise ValueError("population must list N_E excitatory (0) neurons first, then "
                             f"N_I inhibitory (1) ones (N_E = {self.params.N_E})")
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
        for name in ("population", "label", "post_indptr", "post_indices", "pre_indptr",
                     "pre_indices", "k_X", "ext_indptr", "ext_indices"):
            a = getattr(self, name)
            if isinstance(a, np.ndarray):
                a.setflags(write=False)

    # ------------------------------------------------------------------ sizes
    @property
    def N(self) -> int:
        return self.params.N

    @property
    def N_E(self) -> int:
        return self.params.N_E

    @property
    def N_I(self) -> int:
        return self.params.N_I

    @property
    def n_synapses(self) -> int:
        """Number of recurrent synapses."""
        return int(len(self.post_indices))

    # ------------------------------------------------------------------ degrees
    @property
    def k_in(self) -> np.ndarray:
        """Realised in-degrees, shape (N, 3): from E, I and X."""
        N_E = self.N_E
        n = np.diff(self.post_indptr)
        from_E = np.add.reduceat((self.post_indices < N_E).astype(np.int64),
                                 self.post_indptr[:-1]) if self.n_synapses else np.zeros(self.N, np.int64)
        from_E = np.where(n > 0, from_E, 0)
        return np.stack([from_E, n - from_E, np.asarray(self.k_X, np.int64)], axis=1)

    @property
    def k_out(self) -> np.ndarray:
        """Realised out-degrees, shape (N, 2): onto E and onto I."""
        N_E = self.N_E
        n = np.diff(self.pre_indptr)
        onto_E = np.add.reduceat((self.pre_indices < N_E).astype(np.int64),
                                 self.pre_indptr[:-1]) if self.n_synapses else np.zeros(self.N, np.int64)
        onto_E = np.where(n > 0, onto_E, 0)
        return np.stack([onto_E, n - onto_E], axis=1)

    # ------------------------------------------------------------------ weights
    @property
    def J(self) -> sp.csr_array:
        """Weighted connectivity J_jk in mV (post x pre), built on request (O(synapses))."""
        Jab = self.params.J
        post_pop = np.repeat(self.population, np.diff(self.post_indptr))
        pre_pop = self.population[self.post_indices]
        data = Jab[post_pop, pre_pop]
        return sp.csr_array((data, self.post_indices, self.post_indptr), shape=(self.N, self.N))

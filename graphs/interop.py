"""Networks from and to scipy.sparse matrices and networkx graphs.

networkx holds a graph as dicts of dicts (about 400 bytes per edge; times in
benchmarks/README.md): use it for interoperability on small networks,
never as the working format. ``to_networkx`` refuses networks above a size guard.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import meanfield
from meanfield.params import POPULATIONS, NetworkParams, check_network_params, population_index

from ._util import check_memory
from .network import Network, transpose_structure

__all__ = ["from_sparse", "from_networkx", "to_networkx", "NX_BYTES_PER_EDGE"]

#: Approximate memory of one networkx DiGraph edge with a weight attribute, bytes
#: (measured: 0.4 GB for 1e6 edges; benchmarks/README.md).
NX_BYTES_PER_EDGE = 400


def _population(params):
    pop = np.zeros(params.N, dtype=np.int8)
    pop[params.N_E:] = 1
    return pop


def _default_k_X(params):
    return np.rint(params.K[:, 2]).astype(np.int64)[_population(params)]


def _check_label(label, N):
    if label is None:
        return np.ones(N)
    lab = np.array(label, dtype=float)
    if lab.ndim not in (1, 2) or lab.shape[0] != N or not np.all(np.isfinite(lab)):
        raise ValueError(f"label has shape {lab.shape}; allowed: finite values of shape "
                         f"({N},) or ({N}, dim)")
    return lab


def _check_k_X(k_X, params):
    if k_X is None:
        return _default_k_X(params)
    k = np.asarray(k_X)
    if k.shape != (params.N,) or k.dtype.kind not in "iuf" or not np.all(np.isfinite(k)) \
            or np.any(k != np.round(k)) or np.any(k < 0):
        raise ValueError(f"k_X must be {params.N} integers >= 0 (external in-degrees), got "
                         f"shape {k.shape}")
    return k.astype(np.int64)


def _from_pairs(params, post, pre, weights, *, label, k_X, allow_autapses, check_weights,
                source, extra=None) -> Network:
    """Network from synapse lists (post, pre) with optional weights (mV)."""
    N = params.N
    post = np.asarray(post, dtype=np.int64)
    pre = np.asarray(pre, dtype=np.int64)
    if len(post) and (min(post.min(), pre.min()) < 0 or max(post.max(), pre.max()) >= N):
        raise ValueError(f"synapse indices must lie in [0, {N})")
    if not allow_autapses and np.any(post == pre):
        j = int(post[np.flatnonzero(post == pre)[0]])
        raise ValueError(f"neuron {j} has an autapse (a synapse onto itself); pass "
                         "allow_autapses=True to keep autapses")
    pop = _population(params)
    if weights is not None and check_weights and len(post):
        w = np.asarray(weights, dtype=float)
        ref = params.J[pop[post], pop[pre]]
        ok = np.isclose(w, ref, rtol=1e-9, atol=0.0)
        if not (ok.all() or np.all(w == 1.0)):
            i = int(np.flatnonzero(~ok)[0])
            raise ValueError(
                f"weight of synapse {pre[i]} -> {post[i]} is {w[i]!r} mV but params give "
                f"J = {ref[i]!r} mV for this population pair; a Network holds one weight per "
                "population pair (J_ab = j_ab / sqrt(N)). Give weights equal to params.J or "
                "all 1 (adjacency), or pass check_weights=False to keep only the structure")
    key = post * N + pre
    order = np.argsort(key, kind="stable")
    key = key[order]
    if len(key) > 1:
        dup = key[1:] == key[:-1]
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            raise ValueError(f"synapse {key[i] % N} -> {key[i] // N} appears more than once "
                             "(a multapse); a Network holds at most one synapse per pair")
    post_s = key // N
    indices = (key - post_s * N).astype(np.int32)
    indptr = np.zeros(N + 1, dtype=np.int64)
    np.cumsum(np.bincount(post_s, minlength=N), out=indptr[1:])
    pre_indptr, pre_indices = transpose_structure(indptr, indices, N)
    prov = {"sampler": source, "package_version": meanfield.__version__,
            "allow_autapses": bool(allow_autapses)}
    prov.update(extra or {})
    return Network(params=params, population=pop, label=_check_label(label, N),
                   post_indptr=indptr, post_indices=indices, pre_indptr=pre_indptr,
                   pre_indices=pre_indices, k_X=_check_k_X(k_X, params), seed=None,
                   model={"name": source}, provenance=prov)


def from_sparse(matrix, params: NetworkParams, *, label=None, k_X=None,
                check_weights: bool = True, allow_autapses: bool = False) -> Network:
    """Build a Network from a scipy.sparse connectivity matrix (post x pre).

    Parameters
    ----------
    matrix : scipy.sparse array or matrix, shape (N, N)
        Entry (j, k) != 0 is a synapse k -> j. Stored zeros are not synapses.
    params : NetworkParams
        Sizes and weights; neurons 0 .. N_E - 1 are E, the rest I.
    label : array-like, shape (N,) or (N, dim), optional
        Degree labels to store (default 1).
    k_X : array-like of int, shape (N,), optional
        External in-degrees (default ``round(p_aX N_X)``).
    check_weights : bool
        Require the entries to be either all 1 (an adjacency matrix) or equal to
        ``params.J`` of their population pair (rtol 1e-9); a Network holds one weight per
        population pair. With False the values are ignored.
    allow_autapses : bool
        Keep diagonal entries (default: they raise).

    Returns
    -------
    Network

    Raises
    ------
    TypeError
        ``matrix`` is not scipy.sparse (dense arrays: wrap with ``scipy.sparse.csr_array``).
    ValueError
        Wrong shape, duplicate entries (multapses), autapses, weights that disagree.

    Notes
    -----
    Cost O(nnz log nnz) (one sort of int64 keys: 8 bytes per synapse of temporaries).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from meanfield import NetworkParams
    >>> p = NetworkParams.preset("akil2021", N=10)
    >>> A = sp.csr_array(([1.0, 1.0], ([0, 9], [9, 0])), shape=(10, 10))
    >>> from_sparse(A, p).k_in[:, :2].sum()
    np.int64(2)
    """
    params = check_network_params(params)
    if not (sp.issparse(matrix)):
        raise TypeError(f"matrix must be a scipy.sparse array or matrix, got "
                        f"{type(matrix).__name__}")
    N = params.N
    if matrix.shape != (N, N):
        raise ValueError(f"matrix has shape {matrix.shape}; allowed: ({N}, {N}) (post x pre, "
                         f"N = params.N)")
    coo = sp.coo_array(matrix)
    data = np.asarray(coo.data)
    keep = data != 0
    row, col, data = coo.row[keep], coo.col[keep], data[keep]
    return _from_pairs(params, row, col, data, label=label, k_X=k_X,
                       allow_autapses=allow_autapses, check_weights=check_weights,
                       source="from_sparse")


def to_networkx(net: Network, *, max_edges: int = 2_000_000, max_memory=None):
    """Convert ``net`` to a networkx DiGraph (edges pre -> post, with weights in mV).

    Parameters
    ----------
    net : Network
        The network.
    max_edges : int
        Size guard: networks with more synapses raise ``ValueError`` (networkx needs about
        400 bytes per edge, ``NX_BYTES_PER_EDGE``).
    max_memory : float, optional
        Byte budget for the graph (default: available memory).

    Returns
    -------
    networkx.DiGraph
        Nodes 0 .. N-1 with attributes ``population`` ("E"/"I"), ``label`` (float or
        tuple) and ``k_X``; edges k -> j with attribute ``weight`` (J_jk, mV); graph
        attributes ``params`` (``NetworkParams.to_dict()``), ``model``, ``seed``,
        ``seed_rule``.

    Examples
    --------
    >>> from meanfield import NetworkParams
    >>> from graphs import sample_network
    >>> G = to_networkx(sample_network(NetworkParams.preset("akil2021"), N=100, seed=0))
    >>> G.number_of_nodes(), G.nodes[99]["population"]
    (100, 'I')
    """
    import networkx as nx

    if not isinstance(net, Network):
        raise TypeError(f"net must be a graphs.Network, got {type(net).__name__}")
    if isinstance(max_edges, bool) or not isinstance(max_edges, (int, np.integer)) or max_edges < 0:
        raise ValueError(f"max_edges = {max_edges!r} is out of range; allowed: integers >= 0")
    if net.n_synapses > max_edges:
        raise ValueError(
            f"the network has {net.n_synapses} synapses, more than max_edges = {max_edges}; "
            f"networkx would need about {net.n_synapses * NX_BYTES_PER_EDGE / 1e9:.2g} GB. "
            "Work with net.weight_matrix() (scipy.sparse) or save_network instead, or raise "
            "max_edges")
    check_memory(net.n_synapses * NX_BYTES_PER_EDGE + net.N * 1000.0, "to_networkx", max_memory)
    G = nx.DiGraph()
    G.graph.update(params=net.params.to_dict(), model=net.model, seed=net.seed,
                   seed_rule=net.seed_rule)
    lab = np.asarray(net.label)
    labels = lab.tolist() if lab.ndim == 1 else [tuple(r) for r in lab.tolist()]
    G.add_nodes_from((j, {"population": POPULATIONS[int(pop)], "label": labels[j], "k_X": int(kx)})
                     for j, (pop, kx) in enumerate(zip(net.population.tolist(), net.k_X.tolist())))
    post = np.repeat(np.arange(net.N), np.diff(net.post_indptr))
    J = net.weight_matrix()
    G.add_weighted_edges_from(zip(net.post_indices.tolist(), post.tolist(), J.data.tolist()))
    return G


def from_networkx(G, params: NetworkParams | None = None, *, check_weights: bool = True,
                  allow_autapses: bool = False) -> Network:
    """Build a Network from a networkx DiGraph (edge k -> j is a synapse from k onto j).

    Parameters
    ----------
    G : networkx.DiGraph
        Nodes: if every node has a ``population`` attribute ("E"/"I" or 0/1), E nodes come
        first (in node order), then I; otherwise the node order is taken as is and the
        first ``params.N_E`` nodes are E. Optional node attributes ``label`` and ``k_X``.
        Edge attribute ``weight`` (mV) is checked as in ``from_sparse``.
    params : NetworkParams, optional
        Default: ``G.graph["params"]`` (as written by ``to_networkx``).
    check_weights, allow_autapses : bool
        As in ``from_sparse``.

    Returns
    -------
    Network
        ``from_networkx(to_networkx(net)).equals(net)`` holds for every network.

    Raises
    ------
    TypeError
        Not a directed graph, or a multigraph.
    ValueError
        No parameters, node count or populations disagreeing with them, autapses, weights.
    """
    import networkx as nx

    if not isinstance(G, nx.DiGraph) or isinstance(G, nx.MultiDiGraph):
        raise TypeError(f"G must be a networkx.DiGraph (directed, no parallel edges), got "
                        f"{type(G).__name__}")
    if params is None:
        p = G.graph.get("params")
        if p is None:
            raise ValueError("params is required: G has no graph attribute 'params'")
        params = NetworkParams.from_dict(p) if isinstance(p, dict) else p
    params = check_network_params(params)
    N = params.N
    nodes = list(G.nodes)
    if len(nodes) != N:
        raise ValueError(f"G has {len(nodes)} nodes; params.N = {N}")
    attrs = G.nodes
    if all("population" in attrs[n] for n in nodes):
        pops = np.array([population_index(attrs[n]["population"]) for n in nodes])
        order = np.argsort(pops, kind="stable")
        nodes = [nodes[i] for i in order]
        if int(np.sum(pops == 0)) != params.N_E:
            raise ValueError(f"G has {int(np.sum(pops == 0))} E nodes; params.N_E = {params.N_E}")
    index = {n: i for i, n in enumerate(nodes)}
    label = None
    if all("label" in attrs[n] for n in nodes):
        label = np.array([attrs[n]["label"] for n in nodes], dtype=float)
    k_X = None
    if all("k_X" in attrs[n] for n in nodes):
        k_X = np.array([attrs[n]["k_X"] for n in nodes])
    m = G.number_of_edges()
    pre = np.empty(m, dtype=np.int64)
    post = np.empty(m, dtype=np.int64)
    w = np.empty(m, dtype=float)
    has_w = True
    for i, (u, v, d) in enumerate(G.edges(data=True)):
        pre[i] = index[u]
        post[i] = index[v]
        if "weight" in d:
            w[i] = d["weight"]
        else:
            has_w = False
    return _from_pairs(params, post, pre, w if has_w and m else None, label=label, k_X=k_X,
                       allow_autapses=allow_autapses, check_weights=check_weights,
                       source="from_networkx")

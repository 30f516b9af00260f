r"""Spatial networks on the ring or torus: exact Bernoulli and fixed-out-degree draws.

``sample_spatial_network`` (also reached from ``sample_network`` with a
``meanfield.spatial.SpatialModel``) places the E, I and external (X) neurons on the unit
ring or torus, on regular grids (``layout="grid"``, as in Rosenbaum et al. 2017) or at
independent uniform positions (``layout="random"``), and connects them:

``construction="bernoulli"``
    every pair k -> j (k in b at y, j in a at x, k != j) independently with probability
    :math:`p_{ab}\, g_{ab}(x - y)\, \kappa^{in}_{ab}(j)` (docs/theory.md section 12), no
    multapses. Needs :math:`p_{ab} g_{ab}(0) \max\kappa \le 1`.
``construction="fixed_outdegree"``
    the authors' construction: each presynaptic neuron of b makes exactly
    :math:`K = \lceil p_{ab} N_a \rceil` projections into a; the target's grid coordinates
    are :math:`\mathrm{round}(c\, n_a/n_b + \sigma_{ab} n_a Z) \bmod n_a` per dimension
    (c the presynaptic grid coordinates, n the grid sides, Z standard normal). Multapses
    are allowed and there is no self-exclusion. Grid layout only, no degree factor.

Algorithm of the Bernoulli draw
-------------------------------
A Bernoulli(P) event is the event {Poisson(:math:`\lambda`) >= 1} with
:math:`\lambda = -\log(1 - P)`. For one postsynaptic neuron, the superposition of the
independent Poisson processes over its presynaptic candidates is one Poisson count of
mean :math:`\Lambda = \sum_k \lambda_k`, each event falling on k with probability
:math:`\lambda_k/\Lambda`; the set of distinct k hit is an exact draw of the independent
Bernoulli connections. On regular grids :math:`\lambda_k` depends only on the grid offset
between pre and post, so one table per class of postsynaptic offsets (modulo the
presynaptic spacing: 1 class for a pair on the same grid, 64 for 200^2 on 75^2) serves
every neuron of the class; the draw costs O(synapses log synapses), with no loop over
neurons. Random layouts and degree factors evaluate :math:`P` on every pair in chunks
(O(N_a N_b)) and compare it with uniform variates. Uniform variates resolve
:math:`2^{-53}`, the only approximation (:math:`P = 1` is drawn as :math:`1 - 2^{-53}`).
"""

from __future__ import annotations

import math
import time

import numpy as np

import meanfield
from meanfield.checks import check_int
from meanfield.params import POPULATIONS, params_at_size
from meanfield.seeding import SEED_RULE, resolve_seed, streams
from meanfield.spatial import SpatialModel, grid_positions, wrapped_gaussian

from ._util import check_memory
from .network import Network, transpose_structure

__all__ = ["sample_spatial_network", "LAYOUTS", "CONSTRUCTIONS", "grid_side", "positions_of",
           "connection_probability_by_distance"]

LAYOUTS = ("grid", "random")
"""Allowed ``layout`` values."""
CONSTRUCTIONS = ("bernoulli", "fixed_outdegree")
"""Allowed ``construction`` values."""

_CHUNK_PAIRS = 1 << 23          # dense path: pairs per chunk (~200 MB of temporaries)
_CHUNK_EVENTS = 1 << 23         # Poisson path and fixed out-degree: events per chunk
_MAX_TABLE = 1 << 26            # Poisson path: classes x table entries before going dense
_P_CAP = 1.0 - 2.0 ** -53
_SPATIAL_STREAMS = ("graph.positions", "graph.labels_E", "graph.labels_I", "graph.recurrent",
                    "graph.external_sources")


def grid_side(n: int, dim: int, what: str = "population") -> int:
    """Side of a regular grid of ``n`` points in ``dim`` dimensions; raise if n is not a power.

    Examples
    --------
    >>> grid_side(40000, 2)
    200
    """
    side = int(round(n ** (1.0 / dim)))
    if side ** dim != n:
        raise ValueError(f"{what} has {n} neurons, not a {'square' if dim == 2 else 'power'} "
                         f"of an integer; allowed for layout='grid': n = side**{dim} (e.g. "
                         f"N_E = 200**2), or use layout='random'")
    return side


def positions_of(network: Network) -> np.ndarray:
    """Positions of the recurrent neurons of a spatial network: shape (N,) or (N, 2)."""
    sp = network.provenance.get("spatial")
    if not sp:
        raise ValueError("network was not drawn by sample_spatial_network (no spatial provenance)")
    lab = np.asarray(network.label, float)
    dim = sp["dim"]
    if lab.ndim == 1:
        return lab
    return lab[:, 0] if dim == 1 else lab[:, :2]


def _wrap(d):
    return d - np.round(d)


# ---------------------------------------------------------------------------- Bernoulli
def _dense_pair(x, y, sigma, p, dim, kfac, same, rng):
    """Exact Bernoulli on every pair, in chunks of rows; yields (rows, cols) per chunk."""
    n_a, n_b = len(x), len(y)
    R = max(1, _CHUNK_PAIRS // max(n_b, 1))
    for r0 in range(0, n_a, R):
        r1 = min(n_a, r0 + R)
        d = _wrap(x[r0:r1, None] - y[None, :]) if dim == 1 else \
            _wrap(x[r0:r1, None, :] - y[None, :, :])
        P = p * wrapped_gaussian(d, sigma, dim)
        if kfac is not None:
            P *= kfac[r0:r1, None]
        if P.size and P.max() > 1.0 + 1e-12:
            i, j = np.unravel_index(np.argmax(P), P.shape)
            raise ValueError(f"connection probability p g kappa = {P[i, j]:.4g} > 1 between "
                             f"neurons at {x[r0 + i]} and {y[j]}; allowed: <= 1 for the "
                             f"Bernoulli construction; use construction='fixed_outdegree'")
        hit = rng.random(P.shape) < P
        if same:
            ii = np.arange(r0, r1)
            hit[ii - r0, ii] = False
        rows, cols = np.nonzero(hit)
        yield (rows + r0).astype(np.int32), cols.astype(np.int32)


def _grid_classes(x, n_b, dim):
    """Offset class of each post position relative to a pre grid of side n_b."""
    phi = np.asarray(x, float).reshape(len(x), -1) * n_b
    s = np.floor(phi + 1e-9)
    frac = np.round(phi - s, 9)
    frac[frac >= 1.0] = 0.0
    keys, inv = np.unique(frac, axis=0, return_inverse=True)
    return s.astype(np.int64) % n_b, keys, inv.ravel()


def _poisson_pair(x, n_b, sigma, p, dim, same, rng):
    """Exact Bernoulli via Poisson superposition on a pre grid of side n_b; yields chunks."""
    s, keys, inv = _grid_classes(x, n_b, dim)
    m1 = np.arange(n_b)
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(len(keys) + 1))
    for c in range(len(keys)):
        post = order[bounds[c]:bounds[c + 1]]
        if post.size == 0:
            continue
        if dim == 1:
            d = _wrap((keys[c, 0] - m1) / n_b)
        else:
            d0 = _wrap((keys[c, 0] - m1) / n_b)
            d1 = _wrap((keys[c, 1] - m1) / n_b)
            d = np.stack(np.meshgrid(d0, d1, indexing="ij"), axis=-1).reshape(-1, 2)
        P = p * wrapped_gaussian(d, sigma, dim)
        if P.max() > 1.0 + 1e-12:
            raise ValueError(f"connection probability p g = {P.max():.4g} > 1 (sigma = "
                             f"{sigma:g}, dim = {dim}); allowed: <= 1 for the Bernoulli "
                             f"construction; use construction='fixed_outdegree'")
        lam = -np.log1p(-np.minimum(P, _P_CAP))
        cum = np.cumsum(lam)
        Lam = float(cum[-1])
        counts = rng.poisson(Lam, size=post.size)
        per = max(1, int(_CHUNK_EVENTS // max(Lam, 1.0)))
        for i0 in range(0, post.size, per):
            pc, cc = post[i0:i0 + per], counts[i0:i0 + per]
            n_ev = int(cc.sum())
            m = np.minimum(np.searchsorted(cum, rng.random(n_ev) * Lam, side="right"),
                           len(cum) - 1)
            rows = np.repeat(pc, cc)
            if dim == 1:
                cols = (s[rows, 0] + m) % n_b
            else:
                m0, m1_ = np.divmod(m, n_b)
                cols = ((s[rows, 0] + m0) % n_b) * n_b + (s[rows, 1] + m1_) % n_b
            key = rows.astype(np.int64) * n_b + cols
            key.sort()                                   # sort + mask: faster than np.unique
            key = key[np.concatenate(([True], key[1:] != key[:-1]))] if key.size else key
            rows, cols = np.divmod(key, n_b)
            if same:
                keep = rows != cols
                rows, cols = rows[keep], cols[keep]
            yield rows.astype(np.int32), cols.astype(np.int32)


def _bernoulli_pair(x, y, y_side, sigma, p, dim, kfac, same, rng):
    if p == 0.0 or len(x) == 0 or len(y) == 0:
        return iter(())
    if kfac is None and y_side is not None:
        _, keys, _ = _grid_classes(x, y_side, dim)
        if len(keys) * len(y) <= _MAX_TABLE:
            return _poisson_pair(x, y_side, sigma, p, dim, same, rng)
    return _dense_pair(x, y, sigma, p, dim, kfac, same, rng)


def _assemble(n_rows, parts, offsets):
    """Post-major CSR from per-source chunk lists; each row lies in one chunk per source.

    ``parts[s]`` is a list of (rows, cols) chunks (rows ascending, cols ascending within a
    row), ``offsets[s]`` is added to the columns of source s; in each row the columns of
    source 0 come first, then source 1, ...
    """
    counts = np.zeros((len(parts), n_rows), dtype=np.int64)
    for si, chunks in enumerate(parts):
        for rows, _ in chunks:
            counts[si] += np.bincount(rows, minlength=n_rows)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts.sum(axis=0), out=indptr[1:])
    out = np.empty(int(indptr[-1]), dtype=np.int32)
    before = np.zeros(n_rows, dtype=np.int64)
    for si, chunks in enumerate(parts):
        while chunks:
            rows, cols = chunks.pop(0)
            if rows.size == 0:
                continue
            first = np.searchsorted(rows, rows, side="left")       # rows ascending in a chunk
            pos = indptr[rows] + before[rows] + (np.arange(rows.size) - first)
            out[pos] = cols + offsets[si]
        before += counts[si]
    return indptr, out


# ---------------------------------------------------------------------------- fixed out-degree
def _fixed_out_targets(n_pre_side, n_post_side, dim, sigma, K, rng, r0, r1):
    """Targets (r1 - r0, K) of pre neurons r0..r1-1 on their grid: the authors' rule."""
    idx = np.arange(r0, r1)
    if dim == 1:
        c = idx[:, None].astype(float)
        t = np.rint(c * (n_post_side / n_pre_side)
                    + sigma * n_post_side * rng.standard_normal((r1 - r0, K))).astype(np.int64)
        return t % n_post_side
    c0, c1 = np.divmod(idx, n_pre_side)
    scale = n_post_side / n_pre_side
    t0 = np.rint(c0[:, None] * scale + sigma * n_post_side
                 * rng.standard_normal((r1 - r0, K))).astype(np.int64) % n_post_side
    t1 = np.rint(c1[:, None] * scale + sigma * n_post_side
                 * rng.standard_normal((r1 - r0, K))).astype(np.int64) % n_post_side
    return t0 * n_post_side + t1


def _fixed_outdegree_pre_major(sides, dim, widths, params, pre, posts, rng):
    """Pre-major (indptr, indices) of population ``pre`` into the listed post populations."""
    n_pre = sides[pre] ** dim
    Ks = [int(math.ceil(params.p[POPULATIONS.index(a), ("E", "I", "X").index(pre)]
                        * sides[a] ** dim)) for a in posts]
    offs = [0 if a == "E" else params.N_E for a in posts]
    width = sum(Ks)
    indptr = np.arange(n_pre + 1, dtype=np.int64) * width
    out = np.empty(n_pre * width, dtype=np.int32)
    R = max(1, _CHUNK_EVENTS // max(width, 1))
    for r0 in range(0, n_pre, R):
        r1 = min(n_pre, r0 + R)
        block = np.empty((r1 - r0, width), dtype=np.int32)
        col = 0
        for a, K, off in zip(posts, Ks, offs):
            if K:
                t = _fixed_out_targets(sides[pre], sides[a], dim, widths[a + pre], K, rng, r0, r1)
                block[:, col:col + K] = t + off
            col += K
        block.sort(axis=1)
        out[r0 * width:r1 * width] = block.ravel()
    return indptr, out, Ks


# ---------------------------------------------------------------------------- public
def sample_spatial_network(params, model: SpatialModel, N: int | None = None, *, seed=None,
                           layout: str = "grid", construction: str = "bernoulli",
                           max_memory: float | None = None) -> Network:
    r"""Draw a spatial network on the ring or torus (exact Bernoulli or fixed out-degree).

    Parameters
    ----------
    params : meanfield.NetworkParams
        Sizes, probabilities and weights. For ``layout="grid"``, N_E, N_I and N_X must be
        powers ``side**dim`` (``rosenbaum2017``: 200^2, 100^2, 75^2).
    model : meanfield.spatial.SpatialModel
        From ``DegreeModel.spatial``: dimension, widths (E, I and the external layer X) and
        an optional degree factor kappa.
    N : int, optional
        Network size (balanced scaling), default ``params.N``.
    seed : int, SeedSequence, Generator or None
        Keyword-only; the stream ``"graph"`` of ``meanfield.seeding`` (sub-streams for the
        positions, labels, recurrent and external synapses).
    layout : {"grid", "random"}
        Regular grids per population, or independent uniform positions.
    construction : {"bernoulli", "fixed_outdegree"}
        Independent connections with probability :math:`p g \kappa` (no multapses, no
        autapses), or the authors' K = ceil(p N_post) projections per presynaptic neuron
        (multapses allowed, no self-exclusion; grid layout, no kappa).
    max_memory : float, optional
        Byte budget; default the memory the OS reports as available.

    Returns
    -------
    Network
        ``label``: positions (N,) on the ring, (N, 2) on the torus, with a last kappa column
        when the model has a degree factor. External sources are explicit
        (``ext_indptr``/``ext_indices``, sources 0..N_X-1); their positions are
        ``provenance["spatial"]["x_positions"]`` (random layout) or
        ``grid_positions(side_X, dim)`` (grid layout, ``x_side``).

    Raises
    ------
    TypeError
        ``model`` is not a ``SpatialModel``.
    ValueError
        Unknown ``layout``/``construction``; sizes that are not grid powers; a probability
        :math:`p g \kappa > 1` in the Bernoulli construction; too little memory.

    Notes
    -----
    Cost: Bernoulli on grids O(S log S) for S synapses; random layouts or kappa
    O(N_a N_b) kernel evaluations; fixed out-degree O(S log K). Memory: 8 bytes per synapse
    for both orientations plus chunked temporaries (about 0.3 GB). Measured for the full
    ``rosenbaum2017`` network: benchmarks/README.md.

    Examples
    --------
    >>> from meanfield import NetworkParams, DegreeModel
    >>> p = NetworkParams.preset("rosenbaum2017", N=2000, q_X=400 / 2000)   # 40^2, 20^2, 20^2
    >>> net = sample_spatial_network(p, DegreeModel.spatial(2, 0.1, 0.2), seed=1,
    ...                              construction="fixed_outdegree")
    >>> int(net.k_out[0].sum()), int(np.ceil(0.05 * 1600) + np.ceil(0.05 * 400))
    (100, 100)
    """
    t0 = time.perf_counter()
    params = params_at_size(params, N)
    if not isinstance(model, SpatialModel):
        raise TypeError(f"model must be a meanfield.spatial.SpatialModel "
                        f"(DegreeModel.spatial), got {type(model).__name__}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout = {layout!r} is unknown; allowed: {LAYOUTS}")
    if construction not in CONSTRUCTIONS:
        raise ValueError(f"construction = {construction!r} is unknown; allowed: {CONSTRUCTIONS}")
    dim = model.space_dim
    widths = dict(model.widths)
    N_E, N_I, N_X, Ntot = params.N_E, params.N_I, params.N_X, params.N
    sizes = {"E": N_E, "I": N_I, "X": N_X}
    kap = model.kappa
    if construction == "fixed_outdegree":
        if layout != "grid":
            raise ValueError("construction='fixed_outdegree' needs layout='grid' (the authors' "
                             "rule rescales grid coordinates)")
        if kap is not None:
            raise ValueError("construction='fixed_outdegree' has no degree factor; use a "
                             "model without kappa, or construction='bernoulli'")
        n_syn = sum(math.ceil(params.p[ia, ib] * sizes[a]) * sizes[b]
                    for ia, a in enumerate(POPULATIONS) for ib, b in enumerate("EIX"))
    else:
        n_syn = float(np.sum(params.K * np.array([N_E, N_I])[:, None]))
    check_memory(10.0 * n_syn + 300e6, f"sample_spatial_network(N={Ntot})", max_memory)
    root, seed_rec = resolve_seed(seed)
    g = streams(root, *_SPATIAL_STREAMS)
    sides = {}
    if layout == "grid":
        for b in ("E", "I", "X"):
            sides[b] = grid_side(sizes[b], dim, f"population {b}")
        pos = {b: grid_positions(sides[b], dim) for b in ("E", "I", "X")}
    else:
        rng = g["graph.positions"]
        pos = {b: (rng.random(sizes[b]) if dim == 1 else rng.random((sizes[b], 2)))
               for b in ("E", "I", "X")}
        sides = {b: None for b in ("E", "I", "X")}
    kappa = {}
    for a in POPULATIONS:
        kappa[a] = None if kap is None else np.asarray(kap.sample(sizes[a], seed=g[f"graph.labels_{a}"]),
                                                       float)
    g_rec, g_ext = g["graph.recurrent"], g["graph.external_sources"]
    provenance = {"sampler": "sample_spatial_network", "package_version": meanfield.__version__,
                  "numpy_version": np.__version__, "construction": construction,
                  "external": "explicit",
                  "spatial": {"dim": dim, "layout": layout, "widths": widths,
                              "x_side": sides["X"],
                              "x_positions": None if layout == "grid" else pos["X"].tolist()}}

    if construction == "bernoulli":
        model.check_params(params) if kap is None else None
        post_parts, ext_parts = [], []
        for ia, a in enumerate(POPULATIONS):
            rec = []
            for ib, b in enumerate(POPULATIONS):
                kf = None
                if kap is not None and b in model.in_sources:
                    kf = kappa[a] / kap.mean
                rec.append(list(_bernoulli_pair(pos[a], pos[b], sides[b], widths[a + b],
                                                float(params.p[ia, ib]), dim, kf, a == b, g_rec)))
            post_parts.append(_assemble(sizes[a], rec, [0, N_E]))
            kf = kappa[a] / kap.mean if (kap is not None and "X" in model.in_sources) else None
            ext_parts.append(_assemble(sizes[a], [list(_bernoulli_pair(
                pos[a], pos["X"], sides["X"], widths[a + "X"], float(params.p[ia, 2]), dim, kf,
                False, g_ext))], [0]))
        indptr = np.concatenate([post_parts[0][0], post_parts[1][0][1:] + post_parts[0][0][-1]])
        indices = np.concatenate([post_parts[0][1], post_parts[1][1]])
        del post_parts
        ext_indptr = np.concatenate([ext_parts[0][0], ext_parts[1][0][1:] + ext_parts[0][0][-1]])
        ext_indices = np.concatenate([ext_parts[0][1], ext_parts[1][1]])
        pre_indptr, pre_indices = transpose_structure(indptr, indices, Ntot)
    else:
        ipE, ixE, KE = _fixed_outdegree_pre_major(sides, dim, widths, params, "E", ("E", "I"), g_rec)
        ipI, ixI, KI = _fixed_outdegree_pre_major(sides, dim, widths, params, "I", ("E", "I"), g_rec)
        pre_indptr = np.concatenate([ipE, ipI[1:] + ipE[-1]])
        pre_indices = np.concatenate([ixE, ixI])
        del ixE, ixI
        indptr, indices = transpose_structure(pre_indptr, pre_indices, Ntot)
        ipX, ixX, KX = _fixed_outdegree_pre_major(sides, dim, widths, params, "X", ("E", "I"), g_ext)
        ext_indptr, ext_indices = transpose_structure(ipX, ixX, Ntot)
        del ixX
        provenance["out_degree"] = {"E": dict(zip("EI", KE)), "I": dict(zip("EI", KI)),
                                    "X": dict(zip("EI", KX))}
    k_X = np.diff(ext_indptr).astype(np.int64)
    lab = np.concatenate([pos["E"], pos["I"]], axis=0)
    if kap is not None:
        lab = np.column_stack([lab.reshape(Ntot, -1), np.concatenate([kappa["E"], kappa["I"]])])
    population = np.zeros(Ntot, dtype=np.int8)
    population[N_E:] = 1
    provenance["synapses"] = int(indptr[-1])
    provenance["external_synapses"] = int(ext_indptr[-1])
    net = Network(params=params, population=population, label=lab, post_indptr=indptr,
                  post_indices=indices, pre_indptr=pre_indptr, pre_indices=pre_indices,
                  k_X=k_X, ext_indptr=ext_indptr, ext_indices=ext_indices, seed=seed_rec,
                  model=model.to_dict(), provenance=provenance, seed_rule=SEED_RULE)
    provenance["time_s"] = time.perf_counter() - t0
    return net


def connection_probability_by_distance(network: Network, pair: str = "EE", n_bins: int = 20,
                                       d_max: float | None = None):
    r"""Realised connection probability against distance, with the kernel's expectation.

    Parameters
    ----------
    network : Network
        From ``sample_spatial_network`` with the Bernoulli construction.
    pair : {"EE", "EI", "IE", "II", "EX", "IX"}
        (post, pre).
    n_bins : int
        Number of equal distance bins on [0, d_max], >= 1.
    d_max : float, optional
        Largest distance, default the largest possible (1/2 per dimension).

    Returns
    -------
    dict
        ``edges`` (n_bins + 1,), ``pairs``, ``observed``, ``expected``, ``variance`` (n_bins,):
        pairs counted, connections realised, their expectation :math:`\sum p g \kappa`
        and variance :math:`\sum P(1 - P)` over the pairs of each bin (self-pairs
        excluded); ``z`` = (observed - expected) / sqrt(variance).

    Notes
    -----
    Distances are Euclidean on the ring/torus (minimum image). Cost: O(synapses) for the
    realised counts; the expectation visits every pair (O(N_a N_b) kernel evaluations in
    chunks) except on grid layouts without kappa, where one postsynaptic neuron per grid
    offset class stands for its class (O(classes N_b)).
    """
    n_bins = check_int("n_bins", n_bins, lo=1)
    sp = network.provenance["spatial"]
    dim = sp["dim"]
    widths = sp["widths"]
    if pair not in widths:
        raise ValueError(f"pair = {pair!r}; allowed: {sorted(widths)}")
    a, b = pair[0], pair[1]
    params = network.params
    pos = positions_of(network)
    N_E = params.N_E
    post = np.arange(N_E) if a == "E" else np.arange(N_E, params.N)
    if b == "X":
        px = sp["x_positions"]
        pre_pos = np.asarray(px) if px is not None else grid_positions(sp["x_side"], dim)
        indptr, indices = network.ext_indptr, network.ext_indices
        pre_off = 0
    else:
        pre_idx = np.arange(N_E) if b == "E" else np.arange(N_E, params.N)
        pre_pos = pos[pre_idx]
        indptr, indices = network.post_indptr, network.post_indices
        pre_off = 0 if b == "E" else N_E
    p = float(params.p[POPULATIONS.index(a), "EIX".index(b)])
    lab = np.asarray(network.label, float)
    kfac = None
    if lab.ndim == 2 and lab.shape[1] == dim + 1:
        k = lab[:, -1]
        kfac = k / k.mean()    # the model's in_sources are not stored: assume recurrent
    dmax = (0.5 * math.sqrt(dim)) if d_max is None else float(d_max)
    edges = np.linspace(0.0, dmax, n_bins + 1)
    obs = np.zeros(n_bins)
    exp_ = np.zeros(n_bins)
    var = np.zeros(n_bins)
    npairs = np.zeros(n_bins)
    n_pre = len(pre_pos)

    def add_expected(x, rows, mult):
        d = _wrap(x[:, None] - pre_pos[None, :]) if dim == 1 else _wrap(x[:, None, :] - pre_pos[None])
        dist = np.round(np.abs(d) if dim == 1 else np.sqrt(np.sum(d ** 2, axis=-1)), 9)
        P = p * wrapped_gaussian(d, widths[pair], dim)
        if kfac is not None and b != "X":
            P *= kfac[rows][:, None]
        if a == b:
            P[np.arange(len(rows)), rows - pre_off] = 0.0
            dist[np.arange(len(rows)), rows - pre_off] = np.inf
        bi = np.searchsorted(edges, dist, side="right") - 1
        ok = (bi >= 0) & (bi < n_bins)
        w = np.broadcast_to(mult[:, None], P.shape)[ok]
        exp_[:] += np.bincount(bi[ok], weights=(P[ok] * w), minlength=n_bins)
        var[:] += np.bincount(bi[ok], weights=(P * (1 - P))[ok] * w, minlength=n_bins)
        npairs[:] += np.bincount(bi[ok], weights=w, minlength=n_bins)

    pre_side = sp["x_side"] if b == "X" else None
    if b != "X" and sp["layout"] == "grid":
        pre_side = grid_side(n_pre, dim)
    if kfac is None and pre_side is not None and sp["layout"] == "grid":
        # grid layout: every post neuron of one offset class sees the same distances and
        # probabilities up to a permutation of the pre neurons; one representative each
        # (self-pairs: a post neuron on its own grid is in class 0 and excludes itself)
        _, keys, inv = _grid_classes(pos[post], pre_side, dim)
        for c in range(len(keys)):
            members = np.flatnonzero(inv == c)
            rep = post[members[:1]]
            add_expected(pos[rep], rep, np.array([float(len(members))]))
    else:
        R = max(1, _CHUNK_PAIRS // max(n_pre, 1))
        for r0 in range(0, len(post), R):
            rows = post[r0:r0 + R]
            add_expected(pos[rows], rows, np.ones(len(rows)))
    R = max(1, _CHUNK_EVENTS // max(int(np.mean(np.diff(indptr))) + 1, 1))
    for r0 in range(0, len(post), R):
        rows = post[r0:r0 + R]
        x = pos[rows]
        # realised connections of these rows from b
        lo, hi = indptr[rows[0]], indptr[rows[-1] + 1]
        src = np.asarray(indices[lo:hi], dtype=np.int64) - pre_off
        row_of = np.repeat(np.arange(len(rows)), np.diff(indptr[rows[0]:rows[-1] + 2]))
        keep = (src >= 0) & (src < n_pre)
        src, row_of = src[keep], row_of[keep]
        dd = _wrap(x[row_of] - pre_pos[src])
        dist_s = np.round(np.abs(dd) if dim == 1 else np.sqrt(np.sum(dd ** 2, axis=-1)), 9)
        bs = np.searchsorted(edges, dist_s, side="right") - 1
        okk = (bs >= 0) & (bs < n_bins)
        obs += np.bincount(bs[okk], minlength=n_bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (obs - exp_) / np.sqrt(var)
    return {"edges": edges, "pairs": npairs, "observed": obs, "expected": exp_,
            "variance": var, "z": z}

"""graphs.interop: networkx and scipy.sparse in and out, the size guard, and the weights."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from graphs import (Network, from_networkx, from_sparse, sample_fixed_indegree, sample_network,
                    to_networkx)
from meanfield import NetworkParams
from meanfield.degree import DegreeModel



@pytest.fixture(scope="module")
def net(akil, case_c):
    return sample_network(akil, case_c, N=600, seed=2)


def test_networkx_round_trip(net, akil):
    G = to_networkx(net)
    assert G.number_of_nodes() == net.N and G.number_of_edges() == net.n_synapses
    # independent reference: networkx's own in-degree counts equal the realised k_in
    indeg = np.array([G.in_degree(j) for j in range(net.N)])
    assert np.array_equal(indeg, net.k_in[:, :2].sum(axis=1))
    assert G.nodes[0]["population"] == "E" and G.nodes[net.N - 1]["population"] == "I"
    k, j = int(net.post_indices[0]), 0                      # synapse k -> 0
    assert G.has_edge(k, j)
    assert G[k][j]["weight"] == pytest.approx(akil.with_N(600).J[0, int(k >= net.N_E)])
    back = from_networkx(G)                                  # params from G.graph
    assert back.equals(net)


def test_networkx_round_trip_vector_labels_and_fixed_indegree(akil):
    sep = DegreeModel.separable("gamma", 0.3, "gamma", 0.3, rho=0.5)
    for n in (sample_network(akil, sep, N=300, seed=1),
              sample_fixed_indegree(akil, N=300, seed=1)):
        back = from_networkx(to_networkx(n))
        assert back.equals(n)


def test_from_networkx_reorders_by_population():
    params = NetworkParams.preset("akil2021", N=10)
    G = nx.DiGraph()
    # I nodes first, string names: E nodes must come first in the Network
    names = [f"i{n}" for n in range(2)] + [f"e{n}" for n in range(8)]
    for name in names:
        G.add_node(name, population="I" if name[0] == "i" else "E", k_X=3)
    G.add_edge("e0", "i1")
    G.add_edge("i0", "e7")
    net = from_networkx(G, params)
    net.validate()
    assert list(net.k_in[:, 2]) == [3] * 10
    # node order within a population is kept: e0 -> 0, e7 -> 7, i0 -> 8, i1 -> 9
    assert list(net.sources(9)) == [0] and list(net.sources(7)) == [8]
    with pytest.raises(TypeError, match="DiGraph"):
        from_networkx(nx.Graph(), params)
    with pytest.raises(ValueError, match="params"):
        from_networkx(nx.DiGraph())
    G.add_edge("e1", "e1")
    with pytest.raises(ValueError, match="autapse"):
        from_networkx(G, params)
    assert from_networkx(G, params, allow_autapses=True).n_synapses == 3


def test_size_guard(net):
    with pytest.raises(ValueError, match=r"more than max_edges = 100.*net\.weight_matrix\(\)"):
        to_networkx(net, max_edges=100)
    with pytest.raises(ValueError, match="max_memory"):
        to_networkx(net, max_memory=1e3)


def test_from_sparse_round_trip_and_weights(net):
    J = net.weight_matrix()
    assert from_sparse(J, net.params, label=net.label, k_X=net.k_X).equals(net)
    A = sp.csr_array((np.ones(J.nnz), J.indices, J.indptr), shape=J.shape)   # adjacency
    assert from_sparse(A, net.params, label=net.label, k_X=net.k_X).equals(net)
    W = J.copy()
    W.data = W.data * 2.0
    with pytest.raises(ValueError, match="one weight per population pair"):
        from_sparse(W, net.params)
    assert from_sparse(W, net.params, check_weights=False).n_synapses == net.n_synapses
    # default k_X: round(p_aX N_X)
    assert np.all(from_sparse(A, net.params).k_X == round(0.1 * 120))


def test_from_sparse_rejects_bad_matrices():
    params = NetworkParams.preset("akil2021", N=10)
    dup = sp.coo_array((np.ones(2), ([1, 1], [2, 2])), shape=(10, 10))
    with pytest.raises(ValueError, match="multapse"):
        from_sparse(dup, params)
    auto = sp.coo_array((np.ones(1), ([4], [4])), shape=(10, 10))
    with pytest.raises(ValueError, match="autapse"):
        from_sparse(auto, params)
    assert from_sparse(auto, params, allow_autapses=True).n_synapses == 1
    zeros = sp.coo_array((np.array([0.0, 1.0]), ([1, 2], [2, 3])), shape=(10, 10))
    assert from_sparse(zeros, params).n_synapses == 1           # stored zeros dropped
    with pytest.raises(ValueError, match="shape"):
        from_sparse(sp.eye_array(9, format="csr"), params)
    with pytest.raises(TypeError, match="scipy.sparse"):
        from_sparse(np.zeros((10, 10)), params)
    with pytest.raises(ValueError, match="k_X"):
        from_sparse(zeros, params, k_X=-np.ones(10))


def test_J_blocks_and_k_in(net):
    J = net.weight_matrix().toarray()
    Jab = net.params.J
    sE, sI = slice(0, net.N_E), slice(net.N_E, net.N)
    for (a, sa), (b, sb) in [((0, sE), (0, sE)), ((0, sE), (1, sI)), ((1, sI), (0, sE)), ((1, sI), (1, sI))]:
        block = J[sa, sb]
        assert set(np.unique(block[block != 0])) <= {Jab[a, b]}
    assert np.array_equal((J[:, sE] != 0).sum(axis=1), net.k_in[:, 0])
    assert np.array_equal((J[:, sI] != 0).sum(axis=1), net.k_in[:, 1])
    assert np.array_equal((J[sE, :] != 0).sum(axis=0), net.k_out[:, 0])
    assert np.all(np.diag(J) == 0)
    assert isinstance(net, Network)

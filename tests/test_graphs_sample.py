"""graphs.sample: invariants, exactness of the connection law, prescribed degrees, bad input.

References are independent of the sampler: connection probabilities come from
``kernel.matrix`` on the realised labels (p m, computed densely), degrees from the
binomial law, and every tolerance is a z-score bound with its reason beside it.
"""

import dataclasses
import tracemalloc

import numpy as np
import pytest
from scipy import stats

from graphs import (Network, sample_fixed_indegree, sample_network,
                    sample_prescribed_indegree)
from meanfield import NetworkParams
from meanfield.degree import DegreeModel
from meanfield.labels import Empirical, Uniform



def _callable_model():
    """A non-low-rank kernel (Gaussian in label distance), normalised on its grid."""
    U = Uniform(0.5, 1.5)
    t, w = U.quadrature(64)

    def h(a, b):
        return np.exp(-(a - b) ** 2 / (2 * 0.3 ** 2))

    Z = float(w @ h(t[:, None], t[None, :]) @ w)
    return DegreeModel.from_kernel(lambda a, b: h(a, b) / Z, U, name="gauss")


def _matrix_model():
    """Two label classes with a 2 x 2 kernel matrix (E[m] = 1 under weights 1/2, 1/2)."""
    return DegreeModel.from_kernel(np.array([[1.6, 0.6], [0.4, 1.4]]), np.array([0.5, 0.5]))


MODELS = {
    "homogeneous": DegreeModel.homogeneous(),
    "case_B": DegreeModel.recurrent_indegree("gamma", 0.3),
    "separable_2d": DegreeModel.separable("gamma", 0.3, "gamma", 0.3, rho=0.6),
    "case_C": DegreeModel.assortative(c=3.0, support=(0.5, 1.5)),
    "callable": _callable_model(),
    "matrix": _matrix_model(),
}


def _connection_probability(net, model):
    """Dense p_ab m_ab(theta_j, theta_k) on the realised labels (reference, small N only)."""
    p = net.params
    N_E = p.N_E
    lab = np.asarray(net.label)
    P = np.zeros((net.N, net.N))
    sl = {"E": slice(0, N_E), "I": slice(N_E, net.N)}
    for ia, a in enumerate("EI"):
        for ib, b in enumerate("EI"):
            P[sl[a], sl[b]] = p.p[ia, ib] * model.kernels[(a, b)].matrix(lab[sl[a]], lab[sl[b]])
    np.fill_diagonal(P, 0.0)
    return P


# ---------------------------------------------------------------------------- invariants
@pytest.mark.parametrize("name", sorted(MODELS))
def test_invariants_every_model(name, akil):
    net = sample_network(akil, MODELS[name], N=1500, seed=11)
    assert isinstance(net, Network)
    net.validate()  # sorted rows (no multapses), no autapses, pre = transpose(post)
    post = np.repeat(np.arange(net.N), np.diff(net.post_indptr))
    assert not np.any(post == net.post_indices)                       # no autapses
    key = post.astype(np.int64) * net.N + net.post_indices
    assert len(np.unique(key)) == len(key)                            # no multapses
    assert net.post_indices.dtype == np.int32 and net.post_indptr.dtype == np.int64
    assert net.k_in.shape == (net.N, 3) and net.k_out.shape == (net.N, 2)
    assert net.k_in[:, :2].sum() == net.k_out.sum() == net.n_synapses
    J = net.weight_matrix()
    assert J.shape == (net.N, net.N) and J.nnz == net.n_synapses
    # every weight equals J_ab of its population pair
    pre_pop = (J.indices >= net.N_E).astype(int)
    post_pop = np.repeat((np.arange(net.N) >= net.N_E).astype(int), np.diff(J.indptr))
    assert np.array_equal(J.data, akil.with_N(1500).J[post_pop, pre_pop])


def test_same_seed_same_network_other_seed_different(akil, case_c):
    for model in (MODELS["homogeneous"], case_c):
        a = sample_network(akil, model, N=2000, seed=5)
        b = sample_network(akil, model, N=2000, seed=5)
        c = sample_network(akil, model, N=2000, seed=6)
        assert a.equals(b)
        assert not a.equals(c)
        assert not np.array_equal(a.k_in, c.k_in)
        assert a.seed == 5
    # seed=None: fresh entropy, recorded, and the record reproduces the network
    n1 = sample_network(akil, case_c, N=800)
    ss = np.random.SeedSequence(int(n1.seed["entropy"]))
    assert sample_network(akil, case_c, N=800, seed=ss).equals(n1)
    g1 = sample_network(akil, case_c, N=800, seed=np.random.default_rng(3))
    g2 = sample_network(akil, case_c, N=800, seed=np.random.default_rng(3))
    assert g1.equals(g2)


def test_global_numpy_rng_untouched(akil, case_c):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    sample_network(akil, case_c, N=600, seed=1)
    assert np.array_equal(np.random.get_state()[1], before)


def test_N_override_uses_balanced_scaling(akil):
    net = sample_network(akil, N=1000, seed=0)
    assert net.params.N == 1000 and net.params.j_EE == akil.j_EE and net.params.p_EE == akil.p_EE
    assert net.N_E == 800 and net.N_X == 200


# ---------------------------------------------------------------------------- exactness
@pytest.mark.parametrize("name", ["case_C", "callable", "homogeneous"])
def test_pair_probabilities_are_p_m(name):
    """Frequency of each pair k -> j over many draws against p m (realised labels).

    With labels redrawn every time, A_jk - sum_s P^s_jk has mean 0 and variance
    sum_s P(1 - P) for every pair, independently across pairs: chi-square over the
    N(N-1) pairs and a z-score of the total count test the law (1% / 4-sigma levels,
    both far from what a mis-normalised bound or a biased subset draw would give: a 1%
    error in p m shifts the total z by ~10).
    """
    model = MODELS[name]
    params = NetworkParams.preset("akil2021", N=50, p_EE=0.3, p_EI=0.3, p_IE=0.3, p_II=0.3)
    S = 300
    A = np.zeros((50, 50))
    E = np.zeros((50, 50))
    V = np.zeros((50, 50))
    for s in range(S):
        net = sample_network(params, model, seed=1000 + s, n_bins=4)
        A += net.weight_matrix().toarray() != 0
        P = _connection_probability(net, model)
        E += P
        V += P * (1 - P)
    off = ~np.eye(50, dtype=bool)
    assert A[~off].sum() == 0                                  # never an autapse
    z = (A - E)[off] / np.sqrt(V[off])
    chi2 = float(np.sum(z ** 2))
    assert stats.chi2.sf(chi2, off.sum()) > 0.01               # 1% level, fixed seeds
    assert abs((A - E)[off].sum() / np.sqrt(V[off].sum())) < 4.0   # 4 sigma on the total


def test_homogeneous_degrees_are_binomial(akil):
    """In-degrees of an Erdos-Renyi network: Binomial(N_b - [a = b], p) per neuron."""
    params = akil.with_N(5000)
    net = sample_network(params, seed=2)
    k = net.k_in
    for ia, (a, sl) in enumerate((("E", slice(0, 4000)), ("I", slice(4000, 5000)))):
        for ib, b in enumerate("EIX"):
            n_src = params.sizes[ib] - (a == b)
            p = params.p[ia, ib]
            x = k[sl, ib].astype(float)
            mean, var = n_src * p, n_src * p * (1 - p)
            # mean: 4 standard errors of the mean of len(x) binomials
            assert abs(x.mean() - mean) < 4 * np.sqrt(var / len(x))
            # variance: sample variance has relative SE sqrt(2 / (n - 1)) (normal approx.)
            assert abs(x.var(ddof=1) / var - 1) < 4 * np.sqrt(2 / (len(x) - 1))


def test_dense_rows_use_the_complement_and_stay_exact():
    """p = 0.9: each row draws the 10% it leaves out; degrees remain Binomial(N_b, p)."""
    params = NetworkParams.preset("akil2021", N=400, p_EE=0.9, p_EI=0.9, p_IE=0.9, p_II=0.9)
    net = sample_network(params, seed=4)
    net.validate()
    x = net.k_in[:320, 0].astype(float)
    mean, var = 319 * 0.9, 319 * 0.9 * 0.1
    assert abs(x.mean() - mean) < 4 * np.sqrt(var / len(x))        # 4 SE of the mean
    assert abs(x.var(ddof=1) / var - 1) < 4 * np.sqrt(2 / (len(x) - 1))


def test_thinning_only_where_needed(akil, case_c):
    # Case B: m = alpha(t) with constant out-factor: bounds are exact, no thinning.
    nb = sample_network(akil, MODELS["case_B"], N=2000, seed=1)
    assert nb.provenance["thinning"] is False
    assert nb.provenance["candidates"] == nb.n_synapses
    nh = sample_network(akil, N=2000, seed=1)
    assert nh.provenance["thinning"] is False
    # Case C: thinning with interval bounds on 32 bins: few wasted candidates.
    nc = sample_network(akil, case_c, N=4000, seed=1)
    assert nc.provenance["thinning"] is True
    assert nc.provenance["candidates"] / nc.n_synapses < 1.1


def test_explicit_external_sources(akil, case_c):
    net = sample_network(akil, case_c, N=1000, seed=3, external="explicit")
    net.validate()
    assert np.array_equal(np.diff(net.ext_indptr), net.k_X)
    assert net.ext_indices.max() < net.N_X
    same = sample_network(akil, case_c, N=1000, seed=3)
    # explicit sources use their own stream: the recurrent network is unchanged
    assert np.array_equal(same.post_indices, net.post_indices)
    assert np.array_equal(same.k_X, net.k_X)
    # the sources of each neuron are distinct, sorted and uniform over range(N_X): every
    # source is used about sum(k_X) / N_X times (Binomial counts; chi-square at 0.1 %)
    use = np.bincount(net.ext_indices, minlength=net.N_X)
    assert stats.chi2.sf(((use - use.mean()) ** 2 / use.mean()).sum(), net.N_X - 1) > 1e-3
    # validate() rejects explicit sources outside [0, N_X) and repeated sources
    ix = net.ext_indices.copy()
    for bad, match in ((net.N_X, "outside"), (-1, "outside")):
        ix2 = ix.copy()
        ix2[np.argmax(ix)] = bad
        with pytest.raises(ValueError, match=match):
            dataclasses.replace(net, ext_indices=ix2).validate()
    row = int(np.flatnonzero(net.k_X >= 2)[0])
    ix2 = ix.copy()
    a = net.ext_indptr[row]
    ix2[a + 1] = ix2[a]
    with pytest.raises(ValueError, match="strictly increasing"):
        dataclasses.replace(net, ext_indices=ix2).validate()


# ---------------------------------------------------------------------------- prescribed
def test_fixed_indegree_exact(akil):
    params = akil.with_N(2000)
    net = sample_fixed_indegree(params, seed=1)
    net.validate()
    K = np.rint(params.K).astype(int)
    assert np.all(net.k_in[:1600] == K[0]) and np.all(net.k_in[1600:] == K[1])
    K2 = np.array([[10, 0, 7], [1599, 399, 400]])
    net2 = sample_fixed_indegree(params, K=K2, seed=2)
    net2.validate()
    assert np.all(net2.k_in[:1600] == K2[0]) and np.all(net2.k_in[1600:] == K2[1])


def test_fixed_indegree_sources_are_uniform(akil):
    """Out-degrees under uniform sources: neuron k in b gets each of the N_a (- 1) targets
    with probability K_ab / (N_b - [a = b]); chi-square over neurons (1% level)."""
    params = akil.with_N(2000)
    net = sample_fixed_indegree(params, seed=9)
    ko = net.k_out
    K = np.rint(params.K).astype(int)
    z2, dof = 0.0, 0
    for ib, sl in enumerate((slice(0, 1600), slice(1600, 2000))):
        for ia in range(2):
            n_src = params.sizes[ib] - (ia == ib)
            q = K[ia, ib] / n_src
            n_tgt = params.sizes[ia] - (ia == ib)
            x = ko[sl, ia]
            z2 += np.sum((x - n_tgt * q) ** 2 / (n_tgt * q * (1 - q)))
            dof += len(x)
    # targets of one source are negatively correlated (rows sum to K): chi2 is slightly
    # below dof; the 1% level of chi2(dof) is the reason-bound upper limit.
    assert stats.chi2.sf(z2, dof) > 0.01


def test_prescribed_indegree_exact_including_extremes():
    params = NetworkParams.preset("akil2021", N=300)
    rng = np.random.default_rng(0)
    k = np.stack([rng.integers(0, 240, 300), rng.integers(0, 60, 300),
                  rng.integers(0, 61, 300)], axis=1)
    k[0] = [239, 60, 60]       # all other E neurons (self excluded), all I, all X
    k[299] = [240, 59, 0]      # an I neuron: all E, all other I
    k[1] = [0, 0, 0]
    net = sample_prescribed_indegree(params, k, seed=3, label=np.arange(300.0),
                                     external="explicit")
    net.validate()
    assert np.array_equal(net.k_in, k)
    assert np.array_equal(net.label, np.arange(300.0))
    assert np.array_equal(net.sources(0), np.arange(1, 300))
    again = sample_prescribed_indegree(params, k, seed=3, label=np.arange(300.0),
                                       external="explicit")
    assert again.equals(net)
    # E and I columns only: the external in-degree is round(p_aX N_X) of each population
    two = sample_prescribed_indegree(params, k[:, :2], seed=3)
    assert np.array_equal(two.k_in[:, :2], k[:, :2])
    kx = np.rint(params.p[:, 2] * params.N_X).astype(int)
    assert np.array_equal(two.k_X, np.repeat(kx, [params.N_E, params.N_I]))


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("N, exc", [(-5, ValueError), (5, ValueError), (1e4, TypeError),
                                    (2.5, TypeError), ("100", TypeError)])
def test_bad_N(N, exc, akil):
    with pytest.raises(exc, match="N"):
        sample_network(akil, N=N, seed=0)


def test_kernel_pushing_pm_above_one_on_the_grid(akil, case_c):
    params = akil.replace(p_EE=0.5)      # max m = 3 for c = 3 on [0.5, 1.5]: p m = 1.5
    with pytest.raises(ValueError, match=r"p_EE \* m_EE"):
        sample_network(params, case_c, N=1000, seed=0)


def test_kernel_pushing_pm_above_one_on_realised_labels(akil):
    # One label in 1000 is 6x the others: the quadrature grid (bin means) stays below
    # 1/p, a realised outlier does not.
    samples = np.ones(1000)
    samples[-1] = 6.0
    dist = Empirical(samples / samples.mean())
    model = DegreeModel.separable(dist, 0.5, in_sources=("E", "I"))
    params = akil.replace(p_EE=0.3, p_IE=0.3, p_EI=0.3, p_II=0.3)
    model.check_params(params)             # the grid check passes ...
    with pytest.raises(ValueError, match="realised"):
        sample_network(params, model, N=4000, seed=1)   # ... the realised labels do not


def test_prescribed_degree_above_source_population():
    params = NetworkParams.preset("akil2021", N=100)
    k = np.tile([8, 2, 2], (100, 1))
    k[3, 0] = 80                           # neuron 3 is E: only 79 other E neurons
    with pytest.raises(ValueError, match=r"k_in\[3, 'E'\] = 80"):
        sample_prescribed_indegree(params, k, seed=0)
    k[3, 0] = 8
    k[90, 1] = 20                          # neuron 90 is I: only 19 other I neurons
    with pytest.raises(ValueError, match="19"):
        sample_prescribed_indegree(params, k, seed=0)
    with pytest.raises(ValueError, match="negative"):
        sample_prescribed_indegree(params, -k, seed=0)
    with pytest.raises(TypeError, match="k_in"):
        sample_prescribed_indegree(params, k + 0.5, seed=0)
    with pytest.raises(ValueError, match="K"):
        sample_fixed_indegree(params, K=[[81, 0, 0], [0, 0, 0]], seed=0)


def test_size_above_memory_raises_before_allocating(akil):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="GB"):
            sample_network(akil, N=10_000_000, seed=0)     # 1e13 synapses
        with pytest.raises(ValueError, match="max_memory"):
            sample_network(akil, N=2000, seed=0, max_memory=1e6)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6          # nothing of the network's size was allocated
    # the limit itself must be a positive number of bytes
    for bad in (0, -1.0, True, "1e9"):
        with pytest.raises(ValueError, match=r"max_memory = .* is out of range"):
            sample_network(akil, N=200, seed=0, max_memory=bad)


def test_one_row_chunks_draw_the_same_law(monkeypatch, akil, case_c):
    # rows are drawn in chunks of about _TARGET_CANDIDATES (4M) candidates; with a target
    # of 1 every row is its own chunk (rows above the target must still advance one at a
    # time) and the graph obeys the same law: the degree tables of graphs.stats pass
    # (12 chi-square tests, each at the 0.1 % level)
    import graphs.sample as gs
    from graphs import degree_statistics
    monkeypatch.setattr(gs, "_TARGET_CANDIDATES", 1)
    net = sample_network(akil, case_c, N=400, seed=5, external="explicit")
    net.validate()
    for v in degree_statistics(net, case_c, n_bins=4).values():
        assert v.p_value > 1e-3, v.summary()


def test_nbytes_counts_every_array(akil):
    # by hand: the sum of the arrays' sizes, with and without explicit external sources
    for external in ("count", "explicit"):
        net = sample_network(akil, N=500, seed=1, external=external)
        arrays = [net.population, net.label, net.post_indptr, net.post_indices,
                  net.pre_indptr, net.pre_indices, net.k_X]
        if external == "explicit":
            arrays += [net.ext_indptr, net.ext_indices]
        else:
            assert net.ext_indptr is None
        assert net.nbytes == sum(a.nbytes for a in arrays) > 8 * net.n_synapses


def test_bad_model_and_options(akil):
    with pytest.raises(TypeError, match="model"):
        sample_network(akil, "case_C", N=100)
    with pytest.raises(TypeError, match="params"):
        sample_network({"N": 100}, N=100)
    with pytest.raises(ValueError, match="external"):
        sample_network(akil, N=100, external="poisson")
    with pytest.raises(ValueError, match="n_bins"):
        sample_network(akil, N=100, n_bins=0)

"""The helpers every package shares (one of each) and the renamed public names.

quantile_bins (one binning rule), population_index (one population parser),
atomic_open (one atomic writer), ParameterError.field (errors name their parameter),
check_settings/SIMULATION_DEFAULTS (simulate's rules, used by model files and the CLI),
and the deprecated spellings kept working: Network.J, NetworkMeanFieldResult.R, .elapsed,
solve(n=), balance_feasibility(n=), solve_network(n_quad=).
"""

import inspect

import numpy as np
import pytest
import scipy.sparse as sp

from graphs import sample_network
from graphs.io import atomic_open
from meanfield import (EIF, LIF, DegreeModel, NetworkParams, ParameterError, ParameterTypeError,
                       balance_feasibility, solve, solve_network)
from meanfield.labels import Uniform, quantile_bins
from meanfield.params import population_index
from validation import simulate
from validation.simulator import SIMULATION_DEFAULTS, check_settings


# ============================================================================ quantile_bins
@pytest.mark.parametrize("n, n_bins", [(1000, 10), (400, 8), (30, 3), (12, 12)])
def test_quantile_bins_are_the_bins_between_quantiles(n, n_bins):
    # independent reference: for distinct values and n a multiple of n_bins, bin k holds
    # exactly the values between np.quantile(key, k/n_bins) and np.quantile(key, (k+1)/n_bins)
    key = np.random.default_rng(n).permutation(np.linspace(0.5, 1.5, n) ** 2)
    bin_id, nb = quantile_bins(key, n_bins)
    edges = np.quantile(key, np.linspace(0, 1, n_bins + 1))
    ref = np.clip(np.searchsorted(edges, key, side="right") - 1, 0, n_bins - 1)
    assert nb == n_bins and bin_id.dtype == np.int64
    np.testing.assert_array_equal(bin_id, ref)
    np.testing.assert_array_equal(np.bincount(bin_id), np.full(n_bins, n // n_bins))


def test_quantile_bins_uneven_sizes_ties_and_few_values():
    bin_id, nb = quantile_bins(np.arange(103.0)[::-1], 10)
    counts = np.bincount(bin_id)
    assert nb == 10 and counts.sum() == 103 and set(counts) == {10, 11}
    assert np.all(np.diff(bin_id[::-1]) >= 0)           # non-decreasing in the key
    # at most n_bins distinct values: one bin per value, in increasing order
    bin_id, nb = quantile_bins([3.0, 1.0, 3.0, 2.0, 1.0], 3)
    assert nb == 3 and bin_id.tolist() == [2, 0, 2, 1, 0]
    # more values than bins with ties: equal counts, ties split in index order
    bin_id, nb = quantile_bins([1.0, 1.0, 1.0, 1.0, 2.0, 3.0], 2)
    assert nb == 2 and bin_id.tolist() == [0, 0, 0, 1, 1, 1]
    assert quantile_bins([], 4)[1] == 0
    with pytest.raises(ParameterError, match="n_bins = 0 is out of range") as e:
        quantile_bins([1.0], 0)
    assert e.value.field == "n_bins"


# ============================================================================ population_index
def test_population_index():
    assert [population_index(p) for p in ("E", "I", 0, 1, np.int64(1))] == [0, 1, 0, 1, 1]
    for bad in ("X", "e", 2, -1, True, 0.0, None):
        with pytest.raises(ValueError, match=r"allowed: 'E', 'I', 0 or 1") as e:
            population_index(bad)
        assert e.value.field == "population"


# ============================================================================ atomic_open
def test_atomic_open_complete_or_untouched(tmp_path):
    f = tmp_path / "x.bin"
    with atomic_open(f) as fh:
        fh.write(b"old")
    with pytest.raises(RuntimeError):
        with atomic_open(f) as fh:
            fh.write(b"half of the new")
            raise RuntimeError("interrupted")
    assert f.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.bin"]   # no temporary left
    with pytest.raises(FileNotFoundError):
        with atomic_open(tmp_path / "new" / "y.bin") as fh:
            fh.write(b"y")
    with atomic_open(tmp_path / "new" / "y.bin", parents=True) as fh:
        fh.write(b"y")
    assert (tmp_path / "new" / "y.bin").read_bytes() == b"y"


# ============================================================================ ParameterError
@pytest.mark.parametrize("make, field, kind", [
    (lambda: LIF(tau_m=15.0), "LIF.tau_m", ParameterError),
    (lambda: LIF(theta=0.0, V_r=5.0), "LIF.V_r", ParameterError),
    (lambda: EIF(V_T=-40.0), "EIF.V_T", ParameterError),
    (lambda: NetworkParams(q_E=0.7), "NetworkParams.q_E", ParameterError),
    (lambda: NetworkParams(j_EI=5.0), "NetworkParams.j_EI", ParameterError),
    (lambda: NetworkParams(N=5.0), "NetworkParams.N", ParameterTypeError),
    (lambda: NetworkParams(neuron_E="LIF"), "NetworkParams.neuron_E", ParameterTypeError),
    (lambda: Uniform(2.0, 1.0), "Uniform.hi", ParameterError),
    (lambda: DegreeModel.assortative(3.0, (0.6, 1.5)), "support", ParameterError),
    (lambda: DegreeModel.recurrent_indegree("pareto", 0.2), "dist", ParameterError),
])
def test_errors_carry_the_field(make, field, kind):
    with pytest.raises(kind) as e:
        make()
    assert e.value.field == field
    assert isinstance(e.value, ValueError if kind is ParameterError else TypeError)
    assert field.rpartition(".")[2] in str(e.value)      # the message names it too


# ============================================================================ simulation settings
def test_simulation_defaults_are_simulates():
    sig = inspect.signature(simulate).parameters
    for key in ("dt", "burn_in", "backend"):
        assert sig[key].default == SIMULATION_DEFAULTS[key], key
    p = NetworkParams.preset("akil2021")
    assert check_settings(p, **SIMULATION_DEFAULTS) == SIMULATION_DEFAULTS


def test_check_settings_is_what_simulate_applies():
    p = NetworkParams.preset("brunel_lif", N=100)
    net = sample_network(p, seed=0)
    bad = [dict(T=0.1, dt=0.003), dict(T=0.1, dt=3e-4), dict(T=0.1, burn_in=0.1),
           dict(T=0.1, burn_in=5e-5), dict(T=0.1, backend="gpu")]
    for kw in bad:
        kw = {"dt": 1e-4, "burn_in": 0.0, **kw}
        with pytest.raises(ParameterError) as a:
            check_settings(p, **kw)
        with pytest.raises(ParameterError) as b:
            simulate(net, p, **kw)
        assert str(a.value) == str(b.value) and a.value.field == b.value.field
    # only given keys are checked; relations only when both sides are given
    assert check_settings(burn_in=0.5) == {"burn_in": 0.5}
    assert check_settings(p, dt=8e-4) == {"dt": 8e-4}    # tau_I/5 = 0.8 ms (brunel_lif)
    with pytest.raises(ParameterError, match=r"did you mean 0.0001 s\?"):
        check_settings(p, dt=0.1)                       # 0.1 s looks like 0.1 ms
    with pytest.raises(TypeError, match="unknown simulation setting"):
        check_settings(p, seeds=1)


# ============================================================================ renamed names
def test_network_weight_matrix_and_deprecated_J():
    net = sample_network(NetworkParams.preset("akil2021", N=200), seed=1)
    W = net.weight_matrix()
    assert isinstance(W, sp.csr_array) and W.shape == (200, 200) and W.nnz == net.n_synapses
    assert W is not net.weight_matrix()                  # a new matrix each call
    with pytest.warns(DeprecationWarning, match="weight_matrix"):
        J = net.J
    assert (J != W).nnz == 0


def test_deprecated_result_names_and_keywords(case_b):
    p = NetworkParams.preset("lif_benchmark", N=1000)
    net = sample_network(p, seed=2)
    res = solve_network(p, net.weight_matrix(), net.population, net.k_X, quenched=True,
                        n_nodes=5)
    assert res.R_pooled.shape == (2,) and res.wall_time > 0
    with pytest.warns(DeprecationWarning, match="R_pooled"):
        np.testing.assert_array_equal(res.R, res.R_pooled)
    with pytest.warns(DeprecationWarning, match="wall_time"):
        assert res.elapsed == res.wall_time
    with pytest.warns(DeprecationWarning, match="n_quad= is deprecated"):
        old = solve_network(p, net.weight_matrix(), net.population, net.k_X, quenched=True,
                            n_quad=5)
    np.testing.assert_array_equal(old.rate, res.rate)
    m = case_b
    new = solve(p, m, n_nodes=16)
    assert new.R.shape == (2, 2) and new.t.shape[1] == 16
    with pytest.warns(DeprecationWarning, match="n= is deprecated"):
        np.testing.assert_array_equal(solve(p, m, n=16).rate, new.rate)
    with pytest.warns(DeprecationWarning, match="wall_time"):
        assert new.elapsed == new.wall_time
    with pytest.raises(TypeError, match="both n_nodes= and"):
        solve(p, m, n=16, n_nodes=16)
    with pytest.warns(DeprecationWarning, match="n= is deprecated"):
        f_old = balance_feasibility(p, m, n=16)
    f_new = balance_feasibility(p, m, n_nodes=16)
    assert f_old.feasible == f_new.feasible and f_new.rate.shape == (2, 16)
    with pytest.warns(DeprecationWarning, match="n= is deprecated"):
        t_old, _ = m.grid("E", n=16)
    np.testing.assert_array_equal(t_old, m.grid("E", 16)[0])
    np.testing.assert_array_equal(m.kernel_matrix("E", "I", n_nodes=8),
                                  m.kernel_matrix("E", "I", 8))

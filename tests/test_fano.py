"""solve(fano=...): sub-Poisson presynaptic spike trains scale each source's share of sigma^2.

References: the closed-form input moments of the homogeneous network (docs/theory.md
section 4) from the solved rates, and the unchanged solver at F = 1.
"""

import warnings

import numpy as np
import pytest

from meanfield import DegreeModel, NetworkParams, solve
from meanfield.errors import ParameterError


@pytest.fixture(scope="module")
def lif():
    return NetworkParams.preset("akil2021_lif")


def test_fano_one_is_the_poisson_solver(lif):
    model = DegreeModel.recurrent_indegree("gamma", 0.2, n_nodes=24)
    ref = solve(lif, model, spread=True, fano="poisson")
    for f in ((1.0, 1.0), 1.0):
        got = solve(lif, model, spread=True, fano=f)
        np.testing.assert_array_equal(got.rate, ref.rate)
        np.testing.assert_array_equal(got.sigma, ref.sigma)


def test_sigma_squared_carries_the_factors(lif):
    """Homogeneous: sigma_a^2 = tau_m (F_E J_aE^2 K_aE r_E + F_I J_aI^2 K_aI r_I + J_aX^2 K_aX r_X)."""
    F = (0.7, 0.55)
    res = solve(lif, fano=F, filter="white", tol=1e-12)
    assert res.converged
    r = res.mean_rate
    J, K = lif.J, lif.K
    for a, neuron in enumerate(lif.neurons):
        var = neuron.tau_m * (F[0] * J[a, 0] ** 2 * K[a, 0] * r[0] + F[1] * J[a, 1] ** 2 * K[a, 1] * r[1]
                              + J[a, 2] ** 2 * K[a, 2] * lif.r_X)
        np.testing.assert_allclose(res.sigma[a, 0] ** 2, var, rtol=1e-10)
    # less input noise: the (fluctuation-driven) rates change, the balanced limit does not
    base = solve(lif, filter="white", tol=1e-12)
    assert np.all(res.sigma[:, 0] < base.sigma[:, 0])
    assert not np.allclose(res.mean_rate, base.mean_rate, rtol=1e-3)


def test_fano_with_spread_and_large_N_converges(lif):
    model = DegreeModel.assortative(3.0, (0.5, 1.5), n_nodes=24)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = solve(lif, model, N=10 ** 6, spread=True, fano=(0.8, 0.7))
    assert res.converged


@pytest.mark.parametrize("bad", [0.0, -0.5, 12.5, (1.0, 11.0), "0.8", True, (1.0, 1.0, 1.0), [np.nan, 1]])
def test_bad_fano_names_the_parameter(lif, bad):
    with pytest.raises(ParameterError) as e:
        solve(lif, fano=bad)
    assert e.value.field == "fano" and ("(0, 10]" in str(e.value) or "renewal" in str(e.value))

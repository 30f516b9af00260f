"""Condition (B) of the balanced state as a linear program (docs/theory.md section 6).

Independent references: the closed-form balanced rates -W^{-1} X, the closed-form
moments of Case C (R = -W^{-1} X, Cov(t, r) = -R/c, docs/theory.md section 7), and the
support argument c/(1+c) >= a for labels on [a, 2-a].
"""

from __future__ import annotations

import numpy as np
import pytest

from meanfield import NetworkParams, balanced_rates
from meanfield.degree import DegreeModel
from meanfield.feasibility import FEASIBILITY_TOL, balance_feasibility

LP_TOL = 1e-7     # HiGHS primal feasibility tolerance on O(1)-scaled rows


def test_homogeneous_balanced_rates(akil):
    f = balance_feasibility(akil, DegreeModel.homogeneous())
    assert f.feasible and bool(f)
    np.testing.assert_allclose(f.rate[:, 0], balanced_rates(akil), rtol=LP_TOL)
    np.testing.assert_allclose(f.min_l1_bracket, 0.0, atol=LP_TOL * np.abs(akil.X).max())


def test_homogeneous_negative_balanced_rate_is_infeasible(akil):
    # X_E/X_I < |w_EI|/|w_II| makes r_E = (d X_E - b X_I)/det W < 0 (docs/theory.md section 6)
    p = akil.replace(j_IX=400.0)
    assert balanced_rates(p)[0] < 0
    f = balance_feasibility(p, DegreeModel.homogeneous())
    assert not f.feasible and f.residual > 1e-3
    assert f.rate[0, 0] < 1e-6      # the best non-negative profile silences E (to LP tolerance)


def test_singular_W_identical_populations():
    p = NetworkParams.preset("lif_benchmark")
    f = balance_feasibility(p, DegreeModel.homogeneous())
    assert f.feasible
    np.testing.assert_allclose(p.W @ f.rate[:, 0] + p.X, 0.0, atol=1e-6)
    # tie-break: the uniform profile at -X/(w_E + w_I) = 7.5 Hz (balance.py)
    np.testing.assert_allclose(f.rate[:, 0], [7.5, 7.5], rtol=1e-9)


@pytest.mark.parametrize("cv", [0.1, 0.3, 0.6, 1.0])
def test_case_A_feasible_at_every_cv(cv, akil):
    f = balance_feasibility(akil, DegreeModel.all_indegree("gamma", cv))
    assert f.feasible, f.residual
    np.testing.assert_allclose(f.mean_rate, balanced_rates(akil), rtol=1e-6)


def test_case_B_infeasible_and_where_it_breaks(akil):
    m = DegreeModel.recurrent_indegree("normal", 0.15, support=(0.6, 1.4))
    f = balance_feasibility(akil, m)
    assert not f.feasible and f.residual > 0.1
    # the bracket kappa (W R)_a + X_a of the minimum-L1 profile: positive at low in-degree,
    # negative at high (one profile among many, not the limit: see test_semibalanced.py)
    for a in (0, 1):
        assert f.min_l1_bracket[a, 0] > 0 > f.min_l1_bracket[a, -1]
    assert f.model_name == "recurrent_indegree"
    with pytest.warns(DeprecationWarning, match="semi_balanced"):
        np.testing.assert_array_equal(f.residual_profile, f.min_l1_bracket)


def test_case_C_moments(akil):
    c = 3.0
    f = balance_feasibility(akil, DegreeModel.assortative(c, (0.5, 1.5)))
    assert f.feasible
    t, w = f.t, f.weights
    R = np.sum(w * t * f.rate, axis=1)
    S = np.sum(w * (t - 1) * f.rate, axis=1)
    np.testing.assert_allclose(R, balanced_rates(akil), rtol=1e-6)
    np.testing.assert_allclose(S, -balanced_rates(akil) / c, rtol=1e-6)
    np.testing.assert_allclose(f.R, np.tile(balanced_rates(akil), (2, 1)), rtol=1e-6)


def test_case_C_support_too_narrow_for_c(akil):
    # the balanced profile needs the rate-weighted mean label c/(1+c) = 1/3 >= a = 0.5
    f = balance_feasibility(akil, DegreeModel.assortative(0.5, (0.5, 1.5)))
    assert not f.feasible
    assert balance_feasibility(akil, DegreeModel.assortative(0.5, (0.2, 1.8))).feasible


def test_bad_input(akil):
    with pytest.raises(TypeError, match="model must be a DegreeModel"):
        balance_feasibility(akil, None)
    with pytest.raises(TypeError, match="params must be a NetworkParams"):
        balance_feasibility("akil2021", DegreeModel.homogeneous())
    with pytest.raises(ValueError, match="tol"):
        balance_feasibility(akil, DegreeModel.homogeneous(), tol=0)
    assert FEASIBILITY_TOL > 0

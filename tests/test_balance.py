"""Balanced limit r = -W^{-1} X, the balance conditions and the sympy derivation."""

import numpy as np
import pytest

from meanfield import NetworkParams, balance_conditions, balanced_rates, symbolic


def test_akil2021_balanced_limit_published_values():
    # docs/theory.md section 8: r_E = 1.29 Hz, r_I = 7.71 Hz (exactly 9/7 and 54/7 Hz).
    r = balanced_rates(NetworkParams.preset("akil2021"))
    np.testing.assert_allclose(r, [9 / 7, 54 / 7], rtol=1e-14)


def test_plastic_balanced_network_default_jEI():
    # docs/theory.md section 8: with j_EI = -150 the limit is 5.82 / 15.88 Hz.
    r = balanced_rates(NetworkParams.preset("akil2021", j_EI=-150.0))
    np.testing.assert_allclose(r, [5.82, 15.88], atol=0.006)


def test_balanced_rates_solve_the_balance_equation():
    p = NetworkParams.preset("akil2021", j_EE=40.0, j_IX=100.0)
    r = balanced_rates(p)
    np.testing.assert_allclose(p.W @ r + p.X, 0.0, atol=1e-12)


def test_identical_populations_singular_W():
    p = NetworkParams.preset("lif_benchmark")
    assert abs(np.linalg.det(p.W)) < 1e-12
    # one-population balance: 4 r - 6 r + 15 = 0 -> r = 7.5 Hz
    np.testing.assert_allclose(balanced_rates(p), [7.5, 7.5])
    bc = balance_conditions(p)
    assert bc.all_passed
    assert not bc["inhibition_dominates"].applicable


def test_singular_but_different_populations_raise():
    # w_IE / w_EE = w_II / w_EI = 2 but X differs: W singular and rows not equal.
    p = NetworkParams.preset("akil2021", j_IE=50.0, j_II=-500.0)
    assert abs(np.linalg.det(p.W)) < 1e-9
    with pytest.raises(ValueError, match="singular"):
        balanced_rates(p)


def test_conditions_named_and_explained():
    bc = balance_conditions(NetworkParams.preset("akil2021"))
    names = [c.name for c in bc]
    assert names == ["positive_rates", "external_vs_inhibitory", "inhibition_dominates", "stability"]
    assert all(c.passed and c.explanation for c in bc)
    assert "PASS" in bc.summary()


def test_conditions_fail_when_external_drive_favours_inhibition():
    # X_E/X_I = 180/400 < |w_EI|/|w_II| = 1: r_E = (d X_E - b X_I)/det < 0
    p = NetworkParams.preset("akil2021", j_IX=400.0)
    bc = balance_conditions(p)
    assert not bc["external_vs_inhibitory"].passed
    assert not bc["positive_rates"].passed
    assert balanced_rates(p)[0] < 0
    assert not bc.all_passed


def test_conditions_fail_when_excitation_dominates():
    p = NetworkParams.preset("akil2021", j_EE=200.0)  # w_EE/w_IE = 16/9 > 1 = b/d
    bc = balance_conditions(p)
    assert not bc["inhibition_dominates"].passed


def test_stability_depends_on_rate_time_constants():
    p = NetworkParams.preset("akil2021", j_EE=100.0)  # w_EE = 8, |w_II| = 5, det = 5
    assert balance_conditions(p, tau_rate=(0.01, 0.01))["stability"].passed is False
    assert balance_conditions(p, tau_rate=(0.02, 0.005))["stability"].passed is True


def test_symbolic_matches_numeric():
    f = symbolic.lambdified()
    for kw in ({}, {"j_EI": -150.0}, {"j_EE": 40.0, "j_IX": 100.0}, {"r_X": 3.0}):
        p = NetworkParams.preset("akil2021", **kw)
        np.testing.assert_allclose(f(p), balanced_rates(p), rtol=1e-12)


def test_symbolic_latex_and_case_c():
    tex = symbolic.latex()
    assert r"r_E =" in tex and r"\det W" in tex
    import sympy as sp
    s = symbolic.symbols()
    mom = symbolic.case_c_moments()
    # S = -R / c satisfies W S = X / c (the constant part of condition (B))
    st = symbolic.balanced_state()
    S = sp.Matrix([mom["S_E"], mom["S_I"]])
    assert sp.simplify(st["W"] * S - st["X"] / s["c"]) == sp.zeros(2, 1)


def test_symbolic_inequalities_agree_with_numeric_checks():
    ineq = symbolic.balance_inequalities()
    for kw in ({}, {"j_IX": 400.0}, {"j_EE": 200.0}):
        p = NetworkParams.preset("akil2021", **kw)
        W, X = p.W, p.X
        subs = dict(zip([symbolic.symbols()[k] for k in ("w_EE", "w_EI", "w_IE", "w_II", "X_E", "X_I")],
                        [W[0, 0], W[0, 1], W[1, 0], W[1, 1], X[0], X[1]]))
        bc = balance_conditions(p)
        for name, rel in ineq.items():
            assert bool(rel.subs(subs)) == bc[name].passed, (kw, name)

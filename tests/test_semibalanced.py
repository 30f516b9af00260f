"""The semi-balanced limit ``semi_balanced`` (docs/theory.md sections 6 and 11).

Independent references: every sign pattern of small discrete-label LCPs enumerated and
solved in exact rational arithmetic with sympy; the closed-form balanced rates -W^{-1} X
(homogeneous, Case A) and moments of Case C (R = -W^{-1} X, Cov(t, r) = -R/c); the
closed form of Case B (bracket t (W R)_a + X_a: R = -W^{-1} diag(1/t*) X at the balanced
label t*, -W^{-1} X / t_min without the rate bound). Tolerance 1e-9 relative: the solver is
exact linear algebra, so its error is rounding (~1e-14); 1e-9 leaves room for the
conditioning of W (cond ~ 10).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy

from meanfield import DegreeModel, NetworkParams, balanced_rates, fit_exponent, solve
from meanfield.semibalanced import COMPLEMENTARITY_TOL, SemiBalancedResult, semi_balanced

Rat = sympy.Rational

P = NetworkParams.preset("akil2021_lif")          # W = [[2, -5], [9, -5]] mV, X = (36, 27) mV Hz
RTOL = 1e-9
CASE_B_UNIFORM = DegreeModel.recurrent_indegree("uniform", 0.5 / np.sqrt(3), support=(0.5, 1.5))


# ----------------------------------------------------------------------------- reference
def _exact(x):
    return sympy.nsimplify(float(x), rational=True, tolerance=1e-12)


def _lcp_enumerate(A, c, u):
    """All solutions of the box LCP (A, c, u) by enumerating the 3^P sign patterns (sympy).

    Returns (solutions, families): isolated solutions as tuples of Rationals, and the
    number of patterns whose equations leave free parameters with a non-empty solution set.
    """
    Pn = len(c)
    sols, families = set(), 0
    for pattern in itertools.product((0, 1, 2), repeat=Pn):   # 0 silent, 1 balanced, 2 saturated
        if any(p == 2 and u[i] is sympy.oo for i, p in enumerate(pattern)):
            continue
        Z = [i for i, p in enumerate(pattern) if p == 1]
        r = [u[i] if p == 2 else Rat(0) for i, p in enumerate(pattern)]
        if Z:
            syms = sympy.symbols(f"x0:{len(Z)}")
            for i, s in zip(Z, syms):
                r[i] = s
            eqs = [sum(A[i][j] * r[j] for j in range(Pn)) + c[i] for i in Z]
            sol = sympy.linsolve(eqs, syms)
            if sol == sympy.EmptySet:
                continue
            (vals,) = tuple(sol)
            if any(v.free_symbols for v in vals):
                families += 1
                continue
            r = [vals[Z.index(i)] if i in Z else r[i] for i in range(Pn)]
        beta = [sum(A[i][j] * r[j] for j in range(Pn)) + c[i] for i in range(Pn)]
        ok = all((0 <= r[i]) and (r[i] <= u[i]) for i in range(Pn))
        ok &= all(beta[i] <= 0 for i, p in enumerate(pattern) if p == 0)
        ok &= all(beta[i] >= 0 for i, p in enumerate(pattern) if p == 2)
        if ok:
            sols.add(tuple(r))
    return sorted(sols), families


def _classes_model(mEE, mEI, mIE, wE, kxE=None):
    """Discrete E classes (weights wE), one I class; kernels as class matrices."""
    wE = np.asarray(wE, float)
    kin = {"E": (lambda t: np.asarray(kxE, float)[np.asarray(t).astype(int)]) if kxE is not None
           else (lambda t: np.ones(np.shape(t))),
           "I": lambda t: np.ones(np.shape(t))}
    kern = {("E", "E"): np.array(mEE, float), ("E", "I"): np.array(mEI, float),
            ("I", "E"): np.array(mIE, float), ("I", "I"): np.ones((1, 1))}
    return DegreeModel.from_kernel(kern, {"E": wE, "I": np.ones(1)}, kin_X=kin)


def _reference(params, mEE, mEI, mIE, wE, kxE=None, r_max=None):
    """Exact LCP data of the class model: A_(a,i),(b,j) = w_ab m_ab[i, j] w_b,j, c = X_a kx."""
    W = [[_exact(x) for x in row] for row in params.W]
    X = [_exact(x) for x in params.X]
    nE = len(wE)
    w = [[_exact(x) for x in wE], [Rat(1)]]
    m = {(0, 0): mEE, (0, 1): mEI, (1, 0): mIE, (1, 1): [[1]]}
    kx = [[_exact(x) for x in (kxE if kxE is not None else [1] * nE)], [Rat(1)]]
    idx = [(0, i) for i in range(nE)] + [(1, 0)]
    A = [[W[a][b] * _exact(m[(a, b)][i][j]) * w[b][j] for (b, j) in idx] for (a, i) in idx]
    c = [X[a] * kx[a][i] for (a, i) in idx]
    u = [sympy.oo if r_max is None else _exact(r_max)] * len(idx)
    return A, c, u


def _rates(res):
    """Rates of the real classes: E classes then the I class."""
    nE = int(np.sum(res.weights[0] > 0))
    return np.concatenate([res.rate[0, :nE], res.rate[1, :1]])


# ----------------------------------------------------------------------------- hand cases
HAND = {
    # Case B with two E classes (in-degree factors 1.5 and 0.5): the high class falls silent
    "one_E_class_silent": dict(mEE=[[1.5, 1.5], [0.5, 0.5]], mEI=[[1.5], [0.5]],
                               mIE=[[1.0, 1.0]], wE=[0.5, 0.5]),
    # full-rank classes (different in- and out-degrees, external factor 1.2 / 0.8): all balanced
    "no_class_silent": dict(mEE=[[0.7, 1.3], [1.4, 0.6]], mEI=[[1.2], [0.8]],
                            mIE=[[0.8, 1.2]], wE=[0.5, 0.5], kxE=[1.2, 0.8]),
    # three E classes (factors 0.5, 1, 1.5, weights 1/4, 1/2, 1/4): two fall silent
    "three_classes": dict(mEE=[[0.5] * 3, [1.0] * 3, [1.5] * 3], mEI=[[0.5], [1.0], [1.5]],
                          mIE=[[1.0, 1.0, 1.0]], wE=[0.25, 0.5, 0.25]),
}


@pytest.mark.parametrize("name", sorted(HAND))
def test_hand_cases_match_exact_enumeration(name):
    spec = HAND[name]
    res = semi_balanced(P, _classes_model(**spec), r_max=None)
    sols, families = _lcp_enumerate(*_reference(P, **spec))
    assert families == 0 and len(sols) == 1, (sols, families)     # the reference: one solution
    ref = np.array([float(x) for x in sols[0]])
    assert res.success and res.status == 0 and res.unique, res.message
    np.testing.assert_allclose(_rates(res), ref, rtol=RTOL, atol=RTOL * ref.max())
    assert res.complementarity <= COMPLEMENTARITY_TOL


def test_hand_case_values_by_hand():
    # pencil and paper for "one_E_class_silent": class 1 balanced, class 0 silent:
    # 2 R_E - 5 R_I = -72, 9 R_E - 5 R_I = -27  =>  R_E = 45/7, R_I = 594/35, r_1 = 2 R_E
    res = semi_balanced(P, _classes_model(**HAND["one_E_class_silent"]), r_max=None)
    np.testing.assert_allclose(_rates(res), [0.0, 90 / 7, 594 / 35], rtol=RTOL, atol=1e-12)
    assert res.active[0, :2].tolist() == [False, True]
    np.testing.assert_allclose(res.bracket[0, 0], 1.5 * -72 + 36, rtol=RTOL)   # excess inhibition
    # "no_class_silent": the 3 x 3 balance equations, solved with sympy: (72, 252, 1107) / 145
    res = semi_balanced(P, _classes_model(**HAND["no_class_silent"]), r_max=None)
    np.testing.assert_allclose(_rates(res), np.array([72, 252, 1107]) / 145, rtol=RTOL)
    assert res.feasible and res.active.all()


def test_several_states_balanced_one_returned_and_not_unique():
    # recurrent excitation between E classes: besides the balanced state (123, 63, 621 x 4/5)/64,
    # two states with one E class silent solve the LCP (the enumeration finds all three)
    spec = dict(mEE=[[1.2, 0.8], [0.6, 1.4]], mEI=[[1.1], [0.9]], mIE=[[0.7, 1.3]],
                wE=[0.5, 0.5], kxE=[1.1, 0.9])
    sols, families = _lcp_enumerate(*_reference(P, **spec))
    assert len(sols) == 3 and families == 0
    res = semi_balanced(P, _classes_model(**spec), r_max=None)
    assert res.success and res.feasible and not res.unique
    np.testing.assert_allclose(_rates(res), [123 / 64, 63 / 64, 621 / 80], rtol=RTOL)
    assert "another semi-balanced state" in res.degeneracy


def test_hand_case_with_rate_bound_saturates():
    # r_max = 10 Hz < 90/7: the balanced class cannot reach its rate, it saturates
    spec = HAND["one_E_class_silent"]
    res = semi_balanced(P, _classes_model(**spec), r_max=10.0)
    sols, families = _lcp_enumerate(*_reference(P, **spec, r_max=10.0))
    assert families == 0 and len(sols) == 1
    ref = np.array([float(x) for x in sols[0]])
    np.testing.assert_allclose(_rates(res), ref, rtol=RTOL, atol=1e-12)
    assert res.saturated[0, 1] and res.bracket[0, 1] > 0       # excess excitation only at r_max
    assert "1/tau_ref" in res.message and res.success


def test_several_unbalanced_states_reported_not_unique():
    # with r_max = 20 Hz this network has three semi-balanced states (E class 1 balanced, or
    # saturated with I balanced, or both saturated) and no balanced one: the result is one of
    # them and says that it is not the only one
    spec = dict(mEE=[[0.5, 1.5], [0.5, 1.5]], mEI=[[1.4], [0.6]], mIE=[[1.0, 1.0]],
                wE=[0.5, 0.5], kxE=[1.1, 0.9])
    sols, families = _lcp_enumerate(*_reference(P, **spec, r_max=20.0))
    assert len(sols) == 3 and families == 0
    res = semi_balanced(P, _classes_model(**spec), r_max=20.0)
    assert res.success and not res.feasible and not res.unique
    assert "another semi-balanced state" in res.degeneracy
    r = _rates(res)
    assert any(np.allclose(r, [float(x) for x in sol], rtol=RTOL, atol=1e-12) for sol in sols)


def test_proportional_inputs_are_reported_not_unique():
    # two E classes whose every input (E, I, X) scales by 1.5 and 0.5: both brackets vanish
    # together and only the E mean is fixed (= -W^-1 X); the rates split is free
    spec = dict(mEE=[[1.5, 1.5], [0.5, 0.5]], mEI=[[1.5], [0.5]], mIE=[[1.0, 1.0]],
                wE=[0.5, 0.5], kxE=[1.5, 0.5])
    res = semi_balanced(P, _classes_model(**spec), r_max=None)
    sols, families = _lcp_enumerate(*_reference(P, **spec))
    assert families >= 1                                     # the reference sees the family
    assert res.success and not res.unique
    assert "not unique" in res.degeneracy and "minimum-norm" in res.degeneracy
    R = balanced_rates(P)
    np.testing.assert_allclose(res.mean_rate, R, rtol=RTOL)
    np.testing.assert_allclose(_rates(res), [R[0], R[0], R[1]], rtol=RTOL)   # minimum norm: equal


def test_identical_inputs_get_identical_rates():
    # two E classes with identical inputs but different out-degrees (0.5, 1.5): the LCP fixes
    # only the out-weighted mean; at every finite N their rates are equal, and so here
    spec = dict(mEE=[[0.5, 1.5], [0.5, 1.5]], mEI=[[1.0], [1.0]], mIE=[[0.5, 1.5]],
                wE=[0.5, 0.5])
    res = semi_balanced(P, _classes_model(**spec), r_max=None)
    assert res.success and res.unique and "identical" in res.degeneracy
    r = _rates(res)
    assert r[0] == pytest.approx(r[1], rel=RTOL)
    np.testing.assert_allclose(res.R[:, 0], balanced_rates(P)[0], rtol=RTOL)


# ----------------------------------------------------------------------------- balanced limits
def test_homogeneous_is_minus_W_inverse_X():
    res = semi_balanced(P)
    assert isinstance(res, SemiBalancedResult)
    assert res.feasible and res.unique and res.success and res.rate.shape == (2, 1)
    np.testing.assert_allclose(res.rate[:, 0], balanced_rates(P), rtol=RTOL)
    np.testing.assert_allclose(res.bracket, 0.0, atol=RTOL * np.abs(P.X).max())
    assert res.active.all() and not res.saturated.any()


def test_case_C_moments_are_the_balanced_solution():
    c = 3.0
    res = semi_balanced(P, DegreeModel.assortative(c, (0.5, 1.5)))
    R = balanced_rates(P)
    assert res.feasible and res.success
    np.testing.assert_allclose([res.expect(a, lambda t: t) for a in "EI"], R, rtol=RTOL)
    np.testing.assert_allclose([res.expect(a, lambda t: t - 1) for a in "EI"], -R / c, rtol=RTOL)
    # (B) fixes only the moments: the profile is a choice, and the result says which
    assert not res.unique and "minimum-norm" in res.degeneracy
    # the minimum-norm profile is linear in t where positive (r = max(0, l1 t + l2 (t - 1)))
    t, r = res.label[0], res.rate[0]
    pos = r > 0
    coef = np.polyfit(t[pos], r[pos], 1)
    np.testing.assert_allclose(np.polyval(coef, t[pos]), r[pos], rtol=1e-9, atol=1e-12)
    assert coef[0] < 0                                 # highly connected neurons spike less


def test_case_A_balanced_at_every_label():
    res = semi_balanced(P, DegreeModel.all_indegree("gamma", 0.3))
    assert res.feasible and res.success
    np.testing.assert_allclose(res.mean_rate, balanced_rates(P), rtol=RTOL)


def test_balanced_state_preferred_when_B_is_feasible():
    # lif_benchmark has singular W (identical populations): the balanced set is a line
    p = NetworkParams.preset("lif_benchmark")
    res = semi_balanced(p)
    assert res.feasible and res.success
    np.testing.assert_allclose(p.W @ res.rate[:, 0] + p.X, 0.0, atol=1e-9 * np.abs(p.X).max())
    # only w_E r_E + w_I r_I is fixed; E and I neurons are identical with identical inputs,
    # so they share a rate (as at every finite N): -X / (w_E + w_I) = 7.5 Hz
    assert res.unique and "identical inputs" in res.degeneracy
    np.testing.assert_allclose(res.rate[:, 0], [7.5, 7.5], rtol=RTOL)


# ----------------------------------------------------------------------------- Case B
def test_case_B_without_bound_puts_everything_on_the_lowest_label():
    res = semi_balanced(P, CASE_B_UNIFORM, r_max=None)
    assert res.success and res.unique and not res.feasible
    t1 = res.label[0, 0]
    np.testing.assert_allclose(res.mean_rate, balanced_rates(P) / t1, rtol=RTOL)
    assert res.active[:, 0].all() and not res.active[:, 1:].any()
    # bracket t (W R)_a + X_a: zero at the lowest label, negative above (silent)
    np.testing.assert_allclose(res.bracket, res.label * (P.W @ res.mean_rate)[:, None] + P.X[:, None],
                               rtol=1e-9, atol=1e-9 * P.X.max())
    assert np.all(res.bracket[:, 1:] < 0)


def test_case_B_without_bound_tends_to_t_min_as_the_grid_refines():
    target = balanced_rates(P) / 0.5
    errs = []
    for n in (8, 32, 128):
        res = semi_balanced(P, CASE_B_UNIFORM, n_nodes=n, r_max=None)
        t1 = res.label[0, 0]
        errs.append(np.max(np.abs(res.mean_rate / target - 1)))
        # exact on the grid: -W^-1 X / t_1, so the error is 0.5 / t_1 - 1
        assert errs[-1] == pytest.approx(abs(0.5 / t1 - 1), rel=1e-6)
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-3


def test_case_B_with_rate_bound():
    res = semi_balanced(P, CASE_B_UNIFORM)
    assert res.success and res.unique and not res.feasible
    np.testing.assert_array_equal(res.r_max, [1000.0, 1000.0])      # 1/tau_ref, tau_ref = 1 ms
    for a in (0, 1):
        act = res.active[a]
        # a lower set of labels is active: highly connected neurons are silent
        assert act[0] and not act[-1] and res.label[a][act].max() < res.label[a][~act].min()
        # labels below the balanced one saturate, with a positive bracket
        bal = act & ~res.saturated[a]
        assert bal.sum() == 1 and np.all(res.bracket[a][res.saturated[a]] >= 0)
    # R = -W^-1 diag(1/t*) X at the balanced labels t*
    tstar = np.array([res.label[a][res.active[a] & ~res.saturated[a]][0] for a in (0, 1)])
    np.testing.assert_allclose(res.mean_rate, -np.linalg.solve(P.W, P.X / tstar), rtol=RTOL)
    assert "1/tau_ref" in res.message
    # a high bound recovers -W^-1 X / t_min up to the grid
    hi = semi_balanced(P, CASE_B_UNIFORM, r_max=1e7)
    np.testing.assert_allclose(hi.mean_rate, balanced_rates(P) / 0.5, rtol=2e-3)


def test_gamma_labels_the_bound_enters_and_the_result_says_how():
    m = DegreeModel.recurrent_indegree("gamma", 0.5, n_nodes=128)
    res = semi_balanced(P, m)
    assert res.success and np.all(res.saturated_fraction > 0)
    assert "the rate bound 1/tau_ref enters" in res.message and "saturate at 1000 Hz" in res.message
    free = semi_balanced(P, m, r_max=None)
    assert free.success and free.rate.max() > 1000.0
    assert "exceed 1/tau_ref" in free.message
    # without the bound the mean is -W^-1 X / t_1 with t_1 -> 0 as the grid refines
    np.testing.assert_allclose(free.mean_rate, balanced_rates(P) / free.label[0, 0], rtol=RTOL)


# ----------------------------------------------------------------------------- every model
MODELS = {
    "homogeneous": DegreeModel.homogeneous(),
    "separable_2d": DegreeModel.separable("gamma", 0.2, "gamma", 0.3, rho=0.5, n_nodes=16),
    "out_only": DegreeModel.separable("gamma", 0.0, "gamma", 0.4),
    "case_A": DegreeModel.all_indegree("lognormal", 0.3),
    "case_B_normal": DegreeModel.recurrent_indegree("normal", 0.15, support=(0.6, 1.4)),
    "case_C_wide": DegreeModel.assortative(0.5, (0.2, 1.8)),
}


def _callable_model():
    """A full-rank (not low-rank) kernel, evaluated pointwise: m = 1 + 0.4 sin(2 pi (t - t'))."""
    from meanfield.labels import Uniform
    kern = lambda a, b: 1.0 + 0.4 * np.sin(2 * np.pi * (a - b))    # noqa: E731  (E[m] = 1)
    return DegreeModel.from_kernel(kern, Uniform(0.5, 1.5), n_nodes=24)


@pytest.mark.parametrize("name", ["homogeneous", "separable_2d", "out_only", "case_A",
                                  "case_B_normal", "case_C_wide", "callable"])
def test_every_model_solves_to_tolerance(name):
    m = _callable_model() if name == "callable" else MODELS[name]
    res = semi_balanced(P, m)
    assert res.success, res.message
    assert res.complementarity <= COMPLEMENTARITY_TOL
    w = res.weights > 0
    b, r = res.bracket[w], res.rate[w]
    scale = np.abs(P.X).max()
    assert np.all(r >= 0) and np.all(r <= 1000.0 * (1 + 1e-12))
    assert np.all(b[r == 0] <= 1e-9 * scale)
    assert np.all(np.abs(b[(r > 0) & (r < 1000.0)]) <= 1e-9 * scale)
    assert res.rate.shape == res.weights.shape == res.bracket.shape


def test_vector_labels_neurons_differing_only_in_out_degree_share_a_rate():
    m = MODELS["separable_2d"]
    res = semi_balanced(P, m)
    assert res.success and res.unique
    t = res.t[0]                                               # (n, 2): (in-factor, out-factor)
    for a in (0, 1):
        for x in np.unique(t[:, 0]):
            same = t[:, 0] == x
            np.testing.assert_allclose(res.rate[a][same], res.rate[a][same][0], rtol=1e-9, atol=1e-12)


def test_distance_definitions_on_a_hand_profile():
    lim = semi_balanced(P, CASE_B_UNIFORM, r_max=None, n_nodes=4)      # all activity on label 0
    w, R = lim.weights, lim.mean_rate
    x = np.zeros((2, 4))
    x[:, 1] = R / w[:, 1]                      # the same activity moved up one label
    np.testing.assert_allclose(lim.distance(x, kind="l1"), 2 * R, rtol=1e-12)
    # cumulative: C differs by R on label 0 only
    np.testing.assert_allclose(lim.distance(x), w[:, 0] * R, rtol=1e-12)
    np.testing.assert_allclose(lim.distance(lim.rate), 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="rate has shape"):
        lim.distance(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="kind"):
        lim.distance(lim.rate, kind="sup")


def test_distance_of_finite_N_profiles_falls():
    m = DegreeModel.recurrent_indegree("uniform", 0.5 / np.sqrt(3), support=(0.5, 1.5), n_nodes=24)
    lim = semi_balanced(P, m)
    d = np.array([lim.distance(solve(P, m, N).rate) for N in (10**4, 10**6, 10**8)])
    assert np.all(np.diff(d, axis=0) < 0), d


def test_distance_to_a_degenerate_limit_is_to_the_whole_set():
    # Case C: (B) fixes only the moments, so the distance is to the set of balanced profiles;
    # it falls at least like N^-0.3 (measured -0.36 / -0.78 cumulative, -0.39 / -0.58 l1 for
    # E / I; the moments' error falls like N^-1/2)
    m = DegreeModel.assortative(3.0, (0.5, 1.5), n_nodes=16)
    lim = semi_balanced(P, m)
    assert not lim.unique
    Ns = [10**4, 10**5, 10**6]
    rates = [solve(P, m, N).rate for N in Ns]
    for kind in ("cumulative", "l1"):
        d = np.array([lim.distance(r, kind=kind) for r in rates])
        assert np.all(np.diff(d, axis=0) < 0)
        e = [fit_exponent(Ns, d[:, a]) for a in (0, 1)]
        assert all(-1.0 <= x <= -0.3 for x in e), (kind, e)
        # nearer than the returned (minimum-norm) profile itself
        assert np.all(d[-1] < np.sum(lim.weights * np.abs(rates[-1] - lim.rate), axis=1))


# ----------------------------------------------------------------------------- bad input
def test_no_state_without_bound_gives_a_clear_message():
    # recurrent excitation not contained (det W < 0, -W^-1 X has r_E < 0) and no rate bound:
    # every sign pattern fails (all silent: X > 0; E alone: r_E = -X_E/w_EE < 0; I alone:
    # bracket_E = 9 > 0; both: r_E < 0), and the enumeration below agrees
    p = P.replace(j_EE=400.0)
    res = semi_balanced(p, r_max=None)
    assert not res.success and res.status == 2
    assert "no semi-balanced state" in res.message and "ray" in res.message
    assert np.all(np.isnan(res.rate)) and not res.unique
    sols, _ = _lcp_enumerate(*_reference(p, [[1]], [[1]], [[1]], [1.0]))
    assert sols == []                                           # the reference agrees
    with pytest.raises(Exception, match="no semi-balanced state"):
        semi_balanced(p, r_max=None, strict=True)
    # with the refractory bound a (saturated) state exists
    boxed = semi_balanced(p)
    assert boxed.success and boxed.saturated.all()


def test_bad_arguments():
    from meanfield.errors import ParameterError
    with pytest.raises(ParameterError, match="r_max") as err:
        semi_balanced(P, r_max="fast")
    assert err.value.field == "r_max"
    with pytest.raises(ValueError, match="r_max"):
        semi_balanced(P, r_max=True)
    with pytest.raises(ValueError, match="r_max"):
        semi_balanced(P, r_max=-1.0)
    with pytest.raises(ValueError, match="tol"):
        semi_balanced(P, tol=0)
    with pytest.raises(TypeError, match="params must be a NetworkParams"):
        semi_balanced("akil2021")
    with pytest.raises(TypeError, match="model must be a DegreeModel"):
        semi_balanced(P, "case_B")


def test_silent_network_without_external_drive():
    p = P.replace(r_X=0.0)
    res = semi_balanced(p)
    assert res.success and not res.active.any()
    np.testing.assert_array_equal(res.rate, 0.0)


# ----------------------------------------------------------------------------- work ceiling
def test_work_200_labels():
    # speed bar of the issue (200 labels in <= 0.1 s) as a work ceiling: the two paths take
    # fewer segments than there are labels, each one dense solve of size <= rank + 2
    res = semi_balanced(P, CASE_B_UNIFORM, n_nodes=200)
    assert res.success and res.pivots <= 400
    res = semi_balanced(P, DegreeModel.assortative(3.0, (0.5, 1.5)), n_nodes=200)
    assert res.success and res.pivots <= 40


def test_complementarity_is_checked_not_assumed(monkeypatch):
    # a tolerance below rounding: the exact state (residual ~1e-16) must be reported as failing
    res = semi_balanced(P, CASE_B_UNIFORM, tol=1e-300)
    assert res.status == 1 and not res.success and "NOT a solution to tolerance" in res.message
    # a wrong profile from inside the solver is caught by the final check, never returned as success
    import meanfield.semibalanced as sb
    real = sb._face_profile

    def spoiled(prob, r0):
        face = real(prob, r0)
        if face is not None:
            face = dict(face, r=face["r"] + 1.0)
        return face

    monkeypatch.setattr(sb, "_face_profile", spoiled)
    bad = sb.semi_balanced(P, CASE_B_UNIFORM)
    assert bad.status == 1 and not bad.success and bad.complementarity > 1e-6
    with pytest.raises(Exception, match="NOT a solution"):
        sb.semi_balanced(P, CASE_B_UNIFORM, strict=True)


def test_scan_N_reports_the_distance_to_the_limit():
    from meanfield import scan_N
    m = DegreeModel.recurrent_indegree("uniform", 0.5 / np.sqrt(3), support=(0.5, 1.5), n_nodes=24)
    s = scan_N(P, m, [10**3, 10**5, 10**7])
    assert isinstance(s.limit, SemiBalancedResult) and s.limit.success
    assert s.distance_to_limit.shape == (3, 2)
    np.testing.assert_allclose(s.distance_to_limit[1], s.limit.distance(s.results[1].rate), rtol=1e-12)
    assert np.all(s.exponent_distance_to_limit < 0)
    assert np.all(s.distance_to_limit[-1] < s.distance_to_limit[0])
    assert "distance to the semi-balanced limit" in s.table()
    # balanced network (Case C): the distance falls at least like N^-0.3
    c = scan_N(P, DegreeModel.assortative(3.0, (0.5, 1.5), n_nodes=16), [10**4, 10**5, 10**6])
    assert c.limit.feasible and np.all(c.exponent_distance_to_limit < -0.3)

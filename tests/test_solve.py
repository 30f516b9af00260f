"""Degree-space self-consistency ``solve`` (docs/theory.md sections 4 and 6).

Independent references:
* NNMT 1.3.0 values for ``lif_benchmark`` (docs/theory.md section 8.2): 5.722 Hz, mu = 7.112 mV,
  sigma = 15.617 mV with the Fourcaud-Brunel shift, 8.011 Hz with white noise;
* the analytic balanced limit r = -W^{-1} X (``balanced_rates``) as N -> infinity;
* a direct re-evaluation of the self-consistency from the returned rates, with the full
  kernel matrices and ``meanfield.transfer`` (no moment reduction: ``_direct_rates``);
* a non-low-rank (callable) kernel equal to a low-rank one: the grid formulation and the
  moment formulation must agree.
"""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest

from meanfield import NetworkParams, balanced_rates, colored_rate, effective_filter, roots, transfer
from meanfield.degree import DegreeModel
from meanfield.errors import ConvergenceError
from meanfield.labels import Constant, Uniform
from meanfield.degree_space import SOLVE_METHODS, MeanFieldResult, solve

solve_module = importlib.import_module("meanfield.degree_space")

LIF_PRESETS = ["lif_benchmark", "brunel_lif", "akil2021_lif"]
LADDER = [10**3, 10**4, 10**5, 10**6, 10**7]
SELF_CONSISTENCY_RTOL = 1e-6
"""Rates re-evaluated from the returned solution: the solver stops at a relative moment
residual of 1e-9, which the sqrt(N) gain of mu (tau_m J K r ~ 10^2..10^4 mV per Hz of
moment error times Phi' ~ 1/mV) amplifies to at most ~1e-7 in the rates."""


def models(n=24):
    return {
        "homogeneous": DegreeModel.homogeneous(),
        "case_A": DegreeModel.all_indegree("gamma", 0.3, n_nodes=n),
        "case_B": DegreeModel.recurrent_indegree("normal", 0.15, support=(0.6, 1.4), n_nodes=n),
        "case_C": DegreeModel.assortative(3.0, (0.5, 1.5), n_nodes=n),
    }


def _direct_rates(res: MeanFieldResult, model: DegreeModel) -> np.ndarray:
    """Phi(mu, sigma) recomputed from ``res.rate`` with full kernel matrices (section 4)."""
    p = res.params
    out = np.empty_like(res.rate)
    for a, pop in enumerate("EI"):
        neuron = p.neurons[a]
        mu_parts, var_parts = [], []
        for b, src in enumerate("EI"):
            M = model.kernels[(pop, src)].matrix(res.t[a], res.t[b])
            e = M @ (res.weights[b] * res.rate[b])              # E_t'[m(t, t') r_b(t')]
            mu_parts.append(p.J[a, b] * p.K[a, b] * e)
            var_parts.append(p.J[a, b] ** 2 * p.K[a, b] * e)
        kx = np.asarray(model.kin_X[pop](res.t[a]), float) * np.ones(res.rate.shape[1])
        mu_parts.append(p.J[a, 2] * p.K[a, 2] * kx * p.r_X)
        var_parts.append(p.J[a, 2] ** 2 * p.K[a, 2] * kx * p.r_X)
        mu = neuron.E_L + neuron.tau_m * sum(mu_parts)
        var = neuron.tau_m * np.array(var_parts)
        if res.filter[a] == "fourcaud_brunel":
            tau_s = p.tau_syn @ var / var.sum(axis=0)
            out[a] = transfer.lif_rate(mu, np.sqrt(var.sum(axis=0)), neuron, tau_s)
        elif res.filter[a] == "colored":
            # the moments rule, from its own module (tested there against quadrature)
            tau_s, scale = effective_filter(p.tau_syn, var, tau_m=neuron.tau_m, rule="moments")
            out[a] = colored_rate(neuron, mu, np.sqrt(var.sum(axis=0)) * scale, tau_s)
        else:
            out[a] = transfer.rate(mu, np.sqrt(var.sum(axis=0)), neuron)
        # res.mu comes from the moments G, mu here from the rates Phi(G) = B^-1(G + F): they
        # differ by tau_m J K F, F <= 1e-9 relative: < 1e-5 mV even at N = 10^7
        np.testing.assert_allclose(mu, res.mu[a], rtol=1e-8, atol=1e-5)
    return out


def _assert_self_consistent(res, model):
    assert res.converged, res.message
    assert res.residual <= 1e-9
    direct = _direct_rates(res, model)
    scale = max(float(res.rate.max()), 1e-12)
    assert np.max(np.abs(direct - res.rate)) / scale < SELF_CONSISTENCY_RTOL


# --------------------------------------------------------------------------- anchors
def test_lif_benchmark_nnmt_fourcaud_brunel():
    res = solve(NetworkParams.preset("lif_benchmark"), filter="fourcaud_brunel")
    assert res.converged and res.filter == ("fourcaud_brunel", "fourcaud_brunel")
    # docs/theory.md section 8.2 gives the NNMT values to 4 significant digits: rtol 1e-3
    np.testing.assert_allclose(res.mean_rate, [5.722, 5.722], rtol=1e-3)
    np.testing.assert_allclose(res.mu.ravel(), [7.112, 7.112], rtol=1e-3)
    np.testing.assert_allclose(res.sigma.ravel(), [15.617, 15.617], rtol=1e-3)
    np.testing.assert_allclose(res.tau_s, 0.005, rtol=1e-12)   # every source has 5 ms


def test_lif_benchmark_nnmt_white_noise():
    res = solve(NetworkParams.preset("lif_benchmark"), filter="white")
    assert res.converged and res.filter == ("white", "white")
    np.testing.assert_allclose(res.mean_rate, [8.011, 8.011], rtol=1e-3)
    assert np.all(res.tau_s == 0.0)


def test_singular_W_identical_populations():
    p = NetworkParams.preset("lif_benchmark")
    assert abs(np.linalg.det(p.W)) < 1e-12
    for N in (1500, 2000, 10**6):      # 1500-2000: noise-driven regime with a local extremum
        res = solve(p, N=N)
        _assert_self_consistent(res, DegreeModel.homogeneous())
        np.testing.assert_allclose(res.rate[0], res.rate[1], rtol=1e-10)


# --------------------------------------------------------------------------- ladder
@pytest.mark.parametrize("preset", LIF_PRESETS)
@pytest.mark.parametrize("name", list(models()))
def test_converges_on_the_N_ladder_lif(preset, name):
    p = NetworkParams.preset(preset)
    model = models()[name]
    if name == "case_A" and preset == "lif_benchmark":
        # p_aX = 1 in lif_benchmark: an external in-degree factor > 1 makes p m > 1
        with pytest.raises(ValueError, match=r"p_EX \* kin_X"):
            solve(p, model)
        return
    for N in LADDER:
        _assert_self_consistent(solve(p, model, N), model)


@pytest.mark.parametrize("name", list(models()))
def test_converges_on_the_N_ladder_eif(name):
    model = models(n=12)[name]
    for N in LADDER:
        res = solve(NetworkParams.preset("akil2021"), model, N)
        _assert_self_consistent(res, model)
        assert res.filter == ("colored", "colored")  # filtered noise (tau_s > 0): the default


def test_dense_ladder_lif_benchmark_case_B():
    # 2 sizes per octave across the regime change (silent at 10^3, balanced, then broken)
    model = models()["case_B"]
    for N in np.unique(np.round(np.geomspace(1e3, 1e5, 14)).astype(int)):
        _assert_self_consistent(solve(NetworkParams.preset("lif_benchmark"), model, int(N)), model)


def test_two_dimensional_labels_and_padding(akil_lif):
    p = akil_lif
    sep = DegreeModel.separable("gamma", 0.3, "gamma", 0.3, rho=0.5, n_nodes=24)
    res = solve(p, sep, 10**5)
    assert res.t.shape[-1] == 2 and res.label.shape == res.rate.shape
    _assert_self_consistent(res, sep)
    # E homogeneous (one node, padded with weight 0), I heterogeneous; m = 1 everywhere
    mixed = DegreeModel.from_kernel(lambda t, s: np.ones(np.shape(t)[0]),
                                    {"E": Constant(1.0), "I": Uniform(0.5, 1.5)}, n_nodes=16)
    res = solve(p, mixed, 10**4)
    assert res.rate.shape == (2, 16)
    np.testing.assert_allclose(res.weights.sum(axis=1), 1.0, rtol=1e-14)
    assert np.count_nonzero(res.weights[0]) == 1
    hom = solve(p, N=10**4)
    np.testing.assert_allclose(res.mean_rate, hom.mean_rate, rtol=1e-8)


def test_grid_formulation_equals_moment_formulation(akil_lif):
    """A callable kernel (n unknowns per population) equal to case C (4 moments)."""
    p = akil_lif
    low = DegreeModel.assortative(3.0, (0.5, 1.5), n_nodes=20)
    full = DegreeModel.from_kernel(lambda t, s: t * s + 3.0 * (t - 1) * (s - 1),
                                   Uniform(0.5, 1.5), n_nodes=20)
    for N in (10**3, 10**6):
        a, b = solve(p, low, N), solve(p, full, N)
        assert a.moments.size == 4 and b.moments.size == 40
        np.testing.assert_allclose(b.rate, a.rate, rtol=1e-7)     # both to residual 1e-9


# --------------------------------------------------------------------------- large N
def test_balanced_limit_approached_like_inverse_sqrt_N(akil_lif):
    p = akil_lif
    Ns = np.array([10**4, 10**5, 10**6, 10**7])
    err = [np.linalg.norm(solve(p, N=int(N)).mean_rate - balanced_rates(p)) for N in Ns]
    slope = np.polyfit(np.log(Ns), np.log(err), 1)[0]
    assert -0.6 < slope < -0.4                 # docs/theory.md section 6: O(1/sqrt N) corrections
    assert err[-1] / np.linalg.norm(balanced_rates(p)) < 0.01


def test_balance_index_falls_like_inverse_sqrt_N(akil_lif):
    p = akil_lif
    b5, b7 = (solve(p, N=N).balance_index[:, 0] for N in (10**5, 10**7))
    # |mu - E_L| tends to a constant (-3.3 and 6.8 mV here; E still drifts by 20 % over
    # this range) while the excitatory part grows like sqrt(N): ratio 10 up to that drift
    np.testing.assert_allclose(b5 / b7, 10.0, rtol=0.25)
    assert np.all(b7 < 0.01)


def test_case_A_reports_rate_indegree_sign():
    p = NetworkParams.preset("akil2021")
    res = solve(p, models(n=16)["case_A"], 10**4)
    # the sign is a finding (docs/theory.md section 7, claim 3 counter-example): measured +1
    order = np.argsort(res.indegree[0])
    assert np.all(np.isfinite(res.rate_indegree_slope))
    assert res.rate_indegree_sign[0] == np.sign(res.rate[0, order[-1]] - res.rate[0, order[0]])
    assert res.rate_indegree_sign[0] == 1
    hom = solve(p, N=10**4)
    assert np.all(np.isnan(hom.rate_indegree_slope))   # one label: no slope (documented NaN)


def test_diagnostics_case_B(akil_lif):
    p = akil_lif
    res = solve(p, models()["case_B"], 10**6)
    assert np.all(np.diff(res.rate[0]) < 0) and np.all(np.diff(res.rate[1]) < 0)
    # drive = (mu - E_L)/tau_m is O(sqrt N) and changes sign across the labels
    assert res.drive[0, 0] > 0 > res.drive[0, -1]
    assert res.fraction_silent[0] > 0.5
    # drive / sqrt(N) is the bracket of condition (B), recomputed with full kernel matrices
    model = models()["case_B"]
    for a, pop in enumerate("EI"):
        bracket = p.X[a] * np.asarray(model.kin_X[pop](res.t[a]), float)
        for b, src in enumerate("EI"):
            M = model.kernels[(pop, src)].matrix(res.t[a], res.t[b])
            bracket = bracket + p.W[a, b] * (M @ (res.weights[b] * res.rate[b]))
        # q_b N is an integer here, so K = p q N exactly; the rates carry the 1e-9 residual
        np.testing.assert_allclose(res.drive[a] / np.sqrt(res.N), bracket, rtol=1e-6,
                                   atol=1e-6 * np.abs(p.X).max())
    np.testing.assert_allclose(res.fraction_silent[0],
                               np.sum(res.weights[0] * (res.rate[0] < 0.1)), rtol=1e-14)
    assert np.all((res.balance_index >= 0) & (res.balance_index < 1.5))
    # thresholds are arguments
    res2 = solve(p, models()["case_B"], 10**6, silent_rate=1.0, saturated_rate=20.0)
    assert res2.fraction_silent[0] >= res.fraction_silent[0]
    np.testing.assert_allclose(res2.fraction_saturated[0],
                               np.sum(res.weights[0] * (res.rate[0] > 20.0)), rtol=1e-14)


# --------------------------------------------------------------------------- methods
def test_every_method_agrees(akil_lif):
    """Each registry method (and "auto") reaches the same self-consistent state."""
    p = akil_lif
    model = models()["case_C"]
    ref = solve(p, model, 10**6)
    assert ref.method == "newton" and ref.status == roots.CONVERGED
    for method in ("newton", "relaxation", "continuation", "newton_krylov"):
        res = solve(p, model, 10**6, method=method)
        assert res.converged and res.method == method, res.message
        _assert_self_consistent(res, model)
        # both solutions satisfy the equations to the 1e-9 moment residual, amplified to
        # ~1e-7 in the rates (SELF_CONSISTENCY_RTOL's reason)
        np.testing.assert_allclose(res.rate, ref.rate, rtol=1e-7)
    cont = solve(p, model, 10**6, method="continuation")
    assert cont.message.startswith("continuation in N over 1000 ... 1000000 (")
    small = solve(p, model, 800, method="continuation")       # N <= 10^3: one stage
    assert small.converged and "over 800 ... 800 (1 stages)" in small.message
    allowed = "'auto', 'newton', 'relaxation', 'continuation', 'newton_krylov'"
    with pytest.raises(ValueError, match=f"method = 'secant' is unknown; allowed: {allowed}"):
        solve(p, model, 10**4, method="secant")
    assert set(SOLVE_METHODS) == {"auto", *roots.METHODS}


def _failing(status):
    """A registry method that reports ``status`` at its start point without iterating."""
    def method(problem, x0, *, tol, maxiter=None, deadline=None):
        return roots.RootResult(x=np.array(x0, float), success=status == roots.CONVERGED,
                                status=status, message=f"{roots.status_name(status)} in the test",
                                method="newton")
    return method


def test_relaxation_fallback_agrees(monkeypatch, akil_lif):
    p = akil_lif
    model = models()["case_C"]
    ref = solve(p, model, 10**6)
    monkeypatch.setitem(roots.METHODS, "newton", _failing(roots.STALL))
    res = solve(p, model, 10**6)
    assert res.converged and res.method == "relaxation"
    assert res.message.startswith("from the balanced limit, pseudo-time relaxation: ")
    np.testing.assert_allclose(res.rate, ref.rate, rtol=1e-7)


def test_continuation_fallback_agrees(monkeypatch, akil_lif):
    p = akil_lif
    model = models()["case_B"]
    ref = solve(p, model, 10**6)
    real = roots.attempt
    calls = []

    def first_fails(problem, starts, methods, **kw):
        calls.append(methods)
        r = real(problem, starts, methods, **kw)
        if len(calls) == 1:        # the direct attempt at N = 10^6
            return dataclasses.replace(r, success=False, status=roots.FALLBACKS_FAILED,
                                       message="disabled in the test")
        return r

    monkeypatch.setattr(roots, "attempt", first_fails)
    res = solve(p, model, 10**6)
    assert res.converged and res.method == "continuation", res.message
    assert res.message.startswith("continuation in N over 1000 ... 1000000 (")
    assert len(calls) >= 1 + 11            # log2(10^3) = 10 doublings: >= 11 stages
    np.testing.assert_allclose(res.rate, ref.rate, rtol=1e-7)


# --------------------------------------------------------------------------- not converged
TOL = 1e-9


def _no_lp(*args):
    return None, np.inf, None, "failed in the test", False


NOT_CONVERGED = {
    # path: (solve keyword arguments, monkeypatched registry entry or LP, expected status)
    "maxiter (Newton)": (dict(method="newton", maxiter=1), None, roots.MAXITER),
    "maxiter (relaxation)": (dict(method="relaxation", maxiter=3), None, roots.MAXITER),
    # below round-off the Armijo condition cannot hold: the backtracking runs out
    "line search": (dict(method="newton", tol=1e-20), None, roots.LINE_SEARCH_FAILED),
    "stall": (dict(method="newton"), ("newton", _failing(roots.STALL)), roots.STALL),
    "deadline": (dict(time_budget=1e-9), None, roots.DEADLINE),
    "failed fallbacks": (dict(maxiter=1), None, roots.FALLBACKS_FAILED),
    "continuation": (dict(method="continuation", maxiter=1), None, roots.FALLBACKS_FAILED),
    "no start point": (dict(), ("lp", _no_lp), roots.NO_START),
    "false success": (dict(method="newton"), ("newton", _failing(roots.CONVERGED)),
                      roots.INACCURATE),
}


@pytest.mark.parametrize("path", list(NOT_CONVERGED))
def test_not_converged_says_so_and_strict_raises(path, monkeypatch, akil_lif):
    kwargs, patch, status = NOT_CONVERGED[path]
    if patch is not None and patch[0] == "lp":
        monkeypatch.setattr(solve_module, "_solve_lp", patch[1])
    elif patch is not None:
        monkeypatch.setitem(roots.METHODS, *patch)
    p = akil_lif
    model = models(16)["case_C"]
    res = solve(p, model, 10**4, **kwargs)
    assert not res.converged
    assert res.status == status, (roots.status_name(res.status), res.message)
    tol = kwargs.get("tol", TOL)
    assert res.residual > tol
    # the reported residual is the one at the returned moments, recomputed here
    F, _, _ = solve_module._MomentMap(solve_module.LabelGrid(res.params, model, None),
                                      res.params, _transfer_of(res))(res.moments)
    assert res.residual == roots.relative_residual(F, res.moments)
    assert res.message.startswith("did not converge: ")
    assert "NOT CONVERGED" in res.summary()
    with pytest.raises(ConvergenceError, match="did not converge") as info:
        solve(p, model, 10**4, strict=True, **kwargs)
    assert isinstance(info.value.result, MeanFieldResult)
    assert info.value.result.status == status


def _transfer_of(res):
    from meanfield._phi import PopulationTransfer
    n = res.rate.shape[1]
    return PopulationTransfer(res.params, res.filter, (np.arange(n), np.arange(n, 2 * n)))


def test_converged_means_residual_below_tol(akil_lif):
    p = akil_lif
    for kwargs in (dict(), dict(tol=1e-6), dict(method="newton", maxiter=2),
                   dict(method="newton", maxiter=3, tol=1e-3)):
        res = solve(p, models(16)["case_B"], 10**5, **kwargs)
        assert res.converged == (res.residual <= kwargs.get("tol", TOL)), kwargs


def test_warm_start_and_result_is_frozen(akil_lif):
    p = akil_lif
    model = models()["case_C"]
    a = solve(p, model, 10**5)
    b = solve(p, model, 10**5, initial=a)
    assert b.converged and b.iterations <= 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.converged = False
    d = a.to_dict()
    assert d["N"] == 10**5 and len(d["rate"]) == 2
    assert "converged" in a.summary()
    np.testing.assert_allclose(a.expect("E"), a.mean_rate[0], rtol=1e-14)


# --------------------------------------------------------------------------- bad input
def test_bad_input():
    p = NetworkParams.preset("akil2021")
    with pytest.raises(ValueError, match=r"N = 5 is out of range"):
        solve(p, N=5)
    with pytest.raises(TypeError, match="N must be an integer"):
        solve(p, N=1e4)
    with pytest.raises(TypeError, match="model must be a DegreeModel"):
        solve(p, "homogeneous")
    with pytest.raises(TypeError, match="params must be a NetworkParams"):
        solve({"N": 100})
    with pytest.raises(ValueError, match="filter = 'pink' is unknown"):
        solve(p, filter="pink")
    with pytest.raises(ValueError, match="needs LIF neurons"):
        solve(p, filter="fourcaud_brunel")
    with pytest.raises(ValueError, match=r"p_EE \* m_EE"):       # p m > 1
        solve(p.replace(p_EE=0.5), DegreeModel.assortative(3.0, (0.5, 1.5)))
    with pytest.raises(ValueError, match="silent_rate"):
        solve(p, silent_rate=-1.0)


def test_kernel_negative_on_the_solver_grid_is_an_error(akil_lif):
    # m = 1 + 2 (t-1)(t'-1) on [0.2, 1.8]: >= 0 on the model's 4-node grid (min 0.05) but
    # negative near the corners of the 64-node grid the solver is asked to use
    model = DegreeModel.from_kernel(lambda t, s: 1.0 + 2.0 * (t - 1) * (s - 1),
                                    Uniform(0.2, 1.8), n_nodes=4)
    p = akil_lif
    assert solve(p, model, 10**4).converged
    with pytest.raises(ValueError, match=r"m_EE = .*allowed: \[0, 1\]"):
        solve(p, model, 10**4, n_nodes=64)


@pytest.mark.slow
@pytest.mark.parametrize("preset", NetworkParams.presets())
def test_dense_ladder_every_preset_and_model(preset):
    """4 sizes per decade from 10^3 to 10^7, 32 labels (the fast ladder has 1 per decade)."""
    p = NetworkParams.preset(preset)
    all_models = dict(models(32), case_C_step=DegreeModel.assortative(0.5, (0.2, 1.8), n_nodes=32))
    for name, model in all_models.items():
        if name == "case_A" and preset == "lif_benchmark":
            continue                                   # p_aX = 1: p m > 1 (see above)
        for N in np.unique(np.round(np.geomspace(1e3, 1e7, 17)).astype(int)):
            _assert_self_consistent(solve(p, model, int(N)), model)

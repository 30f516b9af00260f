"""Root-finding methods of ``meanfield.roots`` on closed-form problems.

Each method is checked against problems whose root is known exactly (a linear system,
x^2 = 2, a 2-d cubic system, a root behind a domain boundary), with a ceiling on its work
(``nfev``, like scipy's ``nfev < 40``), and along every way of not converging: stall,
failed line search, iteration limit, deadline, start outside the domain, failed
fallbacks. A failure must report ``success=False``, the right ``status`` and the residual
actually found at ``x`` (recomputed here).

Ceilings are the counts measured when the methods were written plus a margin of about
50 %: a change of algorithm that costs more evaluations fails the test.
"""

from __future__ import annotations

import inspect
import time

import numpy as np
import pytest

from meanfield.roots import (CONVERGED, DEADLINE, DOMAIN, FALLBACKS_FAILED, INACCURATE,
                             LINE_SEARCH_FAILED, MAXITER, METHODS, STALL, STATUS, Homotopy,
                             RootProblem, RootResult, attempt, check_method, continuation,
                             judge, max_residual, newton, relative_residual,
                             relaxation, status_name)

ROOT_TOL = 1e-12
"""Every success case is solved to max|F| <= 1e-12; the roots below are well conditioned
(|J^-1| <= 2), so x is within ~2e-12 of the root: 1e-10 leaves a factor 50."""
X_TOL = 1e-10

DENSE = ("newton", "newton_krylov", "relaxation")

# --------------------------------------------------------------------------- problems
A3 = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
B3 = np.array([1.0, 2.0, 3.0])
A2 = np.array([[2.0, 1.0], [1.0, 3.0]])
X2 = np.array([1.0, -2.0])
B2 = A2 @ X2 + X2 ** 3


def linear():
    """F(x) = b - A x (A symmetric positive definite: a stable root for relaxation)."""
    problem = RootProblem(lambda x: B3 - A3 @ x, jac=lambda x: -A3)
    return problem, np.zeros(3), np.linalg.solve(A3, B3)


def square_root():
    """F(x) = 2 - x^2, root sqrt(2) (stable for dx/ds = F)."""
    return (RootProblem(lambda x: 2.0 - x ** 2, jac=lambda x: np.diag(-2.0 * x)),
            np.array([1.0]), np.array([np.sqrt(2.0)]))


def square_root_fd():
    """The same without a Jacobian: forward differences."""
    return RootProblem(lambda x: 2.0 - x ** 2), np.array([1.0]), np.array([np.sqrt(2.0)])


def cubic_2d():
    """F(x) = b - A x - x^3 (componentwise): minus the gradient of a strictly convex
    potential, so the root (1, -2) is unique and stable."""
    return (RootProblem(lambda x: B2 - A2 @ x - x ** 3, jac=lambda x: -A2 - np.diag(3 * x ** 2)),
            np.zeros(2), X2)


def behind_boundary():
    """F(x) = 2 - sqrt(x) on x >= 0, root 4; from x0 = 100 the full Newton step lands at
    x = -60, outside the domain. ``fun`` raises if it is ever called outside."""
    def fun(x):
        if np.any(x < 0):
            raise AssertionError(f"F evaluated outside the domain at x = {x}")
        return 2.0 - np.sqrt(x)
    return (RootProblem(fun, jac=lambda x: np.diag(-0.5 / np.sqrt(x)),
                        in_domain=lambda x: bool(np.all(x >= 0))),
            np.array([100.0]), np.array([4.0]))


# method -> problem -> (nit, nfev) ceilings (measured: see the module docstring)
CEILINGS = {
    "newton": {"linear": (1, 2), "square_root": (6, 8), "square_root_fd": (6, 16),
               "cubic_2d": (12, 25), "behind_boundary": (15, 25)},
    "newton_krylov": {"linear": (3, 4), "square_root": (6, 8), "square_root_fd": (6, 16),
                      "cubic_2d": (10, 15), "behind_boundary": (10, 12)},
    "relaxation": {"linear": (24, 25), "square_root": (22, 24), "square_root_fd": (22, 48),
                   "cubic_2d": (15, 17), "behind_boundary": (375, 375)},
}
PROBLEMS = {f.__name__: f for f in (linear, square_root, square_root_fd, cubic_2d,
                                    behind_boundary)}


@pytest.mark.parametrize("method", DENSE)
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_closed_form_roots(method, name):
    problem, x0, root = PROBLEMS[name]()
    res = METHODS[method](problem, x0, tol=ROOT_TOL)
    assert res.success and res.status == CONVERGED, res.message
    assert res.method == method
    np.testing.assert_allclose(res.x, root, rtol=0, atol=X_TOL)
    assert res.residual <= ROOT_TOL
    assert res.residual == max_residual(problem.fun(res.x), res.x)   # honest residual
    nit_max, nfev_max = CEILINGS[method][name]
    assert res.nit <= nit_max and res.nfev <= nfev_max, (res.nit, res.nfev)
    assert 1 <= res.njev <= res.nfev


def test_newton_solves_a_linear_system_in_one_step():
    # exact Jacobian: x0 - J^-1 F(x0) is the root; F is evaluated at x0 and at the root
    problem, x0, root = linear()
    res = newton(problem, x0, tol=ROOT_TOL)
    assert (res.nit, res.nfev, res.njev) == (1, 2, 2)
    np.testing.assert_allclose(res.x, root, rtol=0, atol=1e-14)


def test_newton_quadratic_convergence():
    # x_{k+1} = (x_k + 2/x_k)/2 from 1: 1.5, 1.41667, 1.414216, ... exactly Heron's iteration
    problem, x0, _ = square_root()
    x = 1.0
    for k in range(1, 4):
        res = newton(problem, x0, tol=ROOT_TOL, maxiter=k)
        x = 0.5 * (x + 2.0 / x)
        assert res.x[0] == pytest.approx(x, rel=1e-15)


def test_finite_differences_step_back_from_the_boundary():
    # F = 2 - x^2 on x <= 1.5 from x0 = 1.5: the forward point is outside, so the first
    # Jacobian is a backward difference (-2 x + h: relative error 5e-8 at the start)
    problem = RootProblem(lambda x: 2.0 - x ** 2, in_domain=lambda x: bool(np.all(x <= 1.5)))
    res = newton(problem, np.array([1.5]), tol=ROOT_TOL)
    assert res.success and res.x[0] == pytest.approx(np.sqrt(2.0), abs=X_TOL)
    # no side admissible: the point counts as outside the domain
    point = RootProblem(lambda x: 2.0 - x ** 2, in_domain=lambda x: bool(np.all(x == 1.5)))
    assert newton(point, np.array([1.5]), tol=ROOT_TOL).status == DOMAIN


def test_relative_residual():
    assert relative_residual(np.array([1e-3, -2e-3]), np.array([10.0, -4.0])) == 2e-4
    assert relative_residual(np.array([1.0]), np.array([0.0])) == 1e12
    assert relative_residual(np.zeros(0), np.zeros(0)) == 0.0


# --------------------------------------------------------------------------- failures
def _check_failure(res, problem, status, tol):
    assert not res.success
    assert res.status == status, (status_name(res.status), res.message)
    F = problem.fun(res.x) if (problem.in_domain is None or problem.in_domain(res.x)) else None
    if status == DOMAIN:
        assert res.residual == np.inf
    else:
        assert res.residual == (problem.residual or max_residual)(F, res.x)
        assert res.residual > tol


def inverse_log():
    """F(x) = 1/log(x) on x > 1: no root, |F| -> 0 only logarithmically. Newton's full
    step x -> x (1 + log x) gives L = log x the recursion L' = L + log(1 + L), so |F| = 1/L
    falls ever more slowly: a stall."""
    return RootProblem(lambda x: 1.0 / np.log(x),
                       jac=lambda x: np.diag(-1.0 / (x * np.log(x) ** 2)),
                       in_domain=lambda x: bool(np.all(x > 1)))


def test_newton_stall():
    problem = inverse_log()
    res = newton(problem, np.array([np.e]), tol=1e-12)
    _check_failure(res, problem, STALL, 1e-12)
    # the documented rule: STALL after 12 consecutive steps that do not halve the best
    # residual so far, applied to the closed-form sequence |F_k| = 1/L_k
    L, best, stall, k = 1.0, np.inf, 0, 0
    while stall < 12:
        L, k = L + np.log1p(L), k + 1
        if 1 / L < 0.5 * best:
            best, stall = 1 / L, 0
        else:
            stall += 1
    assert res.nit == k == 40 and res.nfev == k + 1      # every step a full Newton step
    assert res.residual == pytest.approx(1 / L, rel=1e-12)
    assert np.log(res.x[0]) == pytest.approx(L, rel=1e-12)


@pytest.mark.parametrize("method", ["newton", "newton_krylov"])
def test_line_search_fails_when_every_step_leaves_the_domain(method):
    # F(x) = x + 1 on x >= 0 from 0: the root -1 is outside and every trial point x = -lam too
    problem = RootProblem(lambda x: x + 1.0, jac=lambda x: np.eye(1),
                          in_domain=lambda x: bool(np.all(x >= 0)))
    res = METHODS[method](problem, np.array([0.0]), tol=1e-12)
    _check_failure(res, problem, LINE_SEARCH_FAILED, 1e-12)
    assert res.x[0] == 0.0 and res.residual == 1.0 and res.nit == 1
    assert res.nfev == 1            # trial points outside the domain are not evaluated


@pytest.mark.parametrize("method", ["newton", "newton_krylov"])
def test_line_search_fails_on_an_ascent_direction(method):
    # a Jacobian of the wrong sign makes -J^-1 F point uphill for |F|^2
    problem = RootProblem(lambda x: x - 1.0, jac=lambda x: -np.eye(1))
    res = METHODS[method](problem, np.array([0.0]), tol=1e-12)
    _check_failure(res, problem, LINE_SEARCH_FAILED, 1e-12)
    assert res.x[0] == 0.0


def test_relaxation_step_underflow():
    # dx/ds = -(1 + x) on x >= 0 from 0: every implicit step lands at x < 0; h = 0.05/4^k
    # falls below 1e-12 after k = 18 rejected steps
    problem = RootProblem(lambda x: -(1.0 + x), jac=lambda x: -np.eye(1),
                          in_domain=lambda x: bool(np.all(x >= 0)))
    res = relaxation(problem, np.array([0.0]), tol=1e-12)
    _check_failure(res, problem, LINE_SEARCH_FAILED, 1e-12)
    assert res.nit == 18 and res.nfev == 1


@pytest.mark.parametrize("method, maxiter", [("newton", 2), ("newton_krylov", 2),
                                             ("relaxation", 3)])
def test_maxiter(method, maxiter):
    problem, x0, _ = square_root()
    res = METHODS[method](problem, np.array([3.0]), tol=1e-12, maxiter=maxiter)
    _check_failure(res, problem, MAXITER, 1e-12)
    assert res.nit == maxiter
    assert "maxiter = %d" % maxiter in res.message


@pytest.mark.parametrize("method", DENSE)
def test_deadline_already_passed(method):
    problem, x0, _ = square_root()
    res = METHODS[method](problem, x0, tol=1e-12, deadline=time.perf_counter() - 1.0)
    _check_failure(res, problem, DEADLINE, 1e-12)
    assert res.nit == 0 and res.x[0] == 1.0 and res.residual == 1.0


@pytest.mark.parametrize("method", DENSE)
def test_start_outside_the_domain(method):
    problem, _, _ = behind_boundary()
    res = METHODS[method](problem, np.array([-1.0]), tol=1e-12)
    _check_failure(res, problem, DOMAIN, 1e-12)
    assert res.nfev == 0 and res.nit == 0
    res = METHODS[method](problem, np.array([np.nan]), tol=1e-12)
    assert res.status == DOMAIN


def test_a_root_found_at_the_start_costs_one_evaluation():
    problem, _, root = square_root()
    for method in DENSE:
        res = METHODS[method](problem, root, tol=1e-12, deadline=time.perf_counter() - 1.0)
        assert res.success and res.nit == 0 and res.nfev == 1


# --------------------------------------------------------------------------- chains
def no_root():
    """F(x) = x^2 + 1: |F| >= 1 everywhere."""
    return RootProblem(lambda x: x ** 2 + 1.0, jac=lambda x: np.diag(2.0 * x))


def test_attempt_falls_back_and_sums_the_work():
    problem, x0, root = square_root()
    # Newton from an inadmissible start fails (DOMAIN), then from x0 succeeds
    bounded = RootProblem(problem.fun, jac=problem.jac, in_domain=lambda x: bool(np.all(x > 0)))
    res = attempt(bounded, [("bad start", np.array([-1.0])), ("good start", x0)],
                  ("newton", "relaxation"), tol=ROOT_TOL)
    alone = newton(bounded, x0, tol=ROOT_TOL)
    assert res.success and res.method == "newton"
    assert res.message.startswith("Newton from the good start: ")
    assert (res.nfev, res.nit) == (alone.nfev, alone.nit)
    np.testing.assert_allclose(res.x, root, atol=X_TOL)


def test_failed_fallbacks():
    problem = no_root()
    res = attempt(problem, [("start", np.array([1.0]))], ("newton", "relaxation"), tol=1e-12,
                  maxiter=20)
    _check_failure(res, problem, FALLBACKS_FAILED, 1e-12)
    assert res.method == "relaxation"               # the last attempt produced x
    parts = res.message.split("; ")
    assert len(parts) == 2 and parts[0].startswith("Newton from the start: ")
    assert parts[1].startswith("from the start, pseudo-time relaxation stopped")
    # one attempt alone keeps its own status
    one = attempt(problem, [("start", np.array([1.0]))], ("newton",), tol=1e-12)
    assert one.status == newton(problem, np.array([1.0]), tol=1e-12).status != FALLBACKS_FAILED
    # the deadline takes precedence over FALLBACKS_FAILED when it stopped the last attempt
    late = attempt(problem, [("start", np.array([1.0]))], ("newton", "relaxation"), tol=1e-12,
                   deadline=time.perf_counter() - 1.0)
    assert late.status == DEADLINE


def cube_path(stages=(1.0, 10.0, 100.0, 1000.0)):
    """F_s(x) = s - x^3 along s; the target root is s_k^(1/3)."""
    def at(s):
        return RootProblem(lambda x: s - x ** 3, jac=lambda x: np.diag(-3.0 * x ** 2))
    hom = Homotopy(stages=stages, problem_at=at, label="s",
                   refine=lambda a, b: 0.5 * (a + b) if b - a > 0.1 else None,
                   predict=lambda history, s: history[-1][1] * (s / history[-1][0]) ** (1 / 3))
    target = at(stages[-1])
    return RootProblem(target.fun, jac=target.jac, homotopy=hom)


def test_continuation_reaches_the_target():
    problem = cube_path()
    res = continuation(problem, np.array([1.0]), tol=ROOT_TOL)
    assert res.success and res.method == "continuation"
    np.testing.assert_allclose(res.x, [10.0], rtol=0, atol=X_TOL)
    assert res.message.startswith("continuation in s over 1.0 ... 1000.0 (4 stages): ")
    # the predictor is exact for this path: one evaluation per later stage
    assert res.nfev <= 4 and res.nit == 0
    assert continuation(problem, np.array([1.0]), tol=ROOT_TOL).nfev == res.nfev


def test_continuation_failure():
    # F_s(x) = 2 - s - x^2 has roots only for s <= 2: the path to s = 3 fails after
    # refining the last step down to 0.1
    tried = []

    def at(s):
        tried.append(s)
        return RootProblem(lambda x: 2.0 - s - x ** 2, jac=lambda x: np.diag(-2.0 * x))
    hom = Homotopy(stages=(0.0, 1.0, 3.0), problem_at=at, label="s",
                   refine=lambda a, b: 0.5 * (a + b) if b - a > 0.1 else None)
    problem = RootProblem(at(3.0).fun, jac=at(3.0).jac, homotopy=hom)
    tried.clear()
    res = continuation(problem, np.array([1.5]), tol=1e-12, maxiter=30)
    assert not res.success and res.status == FALLBACKS_FAILED and res.method == "continuation"
    # bisection of [1, 3] until the step is <= 0.1: the last stage tried is 2.0625 = 1 + 17/16
    assert tried[-1] == 2.0625 and f"failed at s = {tried[-1]}: " in res.message
    assert res.residual > 1e-12
    with pytest.raises(ValueError, match="needs a RootProblem with a homotopy"):
        continuation(square_root()[0], np.array([1.0]), tol=1e-12)


# --------------------------------------------------------------------------- contract
def test_registry_and_contract():
    assert set(METHODS) == {"newton", "newton_krylov", "relaxation", "continuation"}
    for name, method in METHODS.items():
        sig = inspect.signature(method)
        params = list(sig.parameters.values())
        assert [p.name for p in params[:2]] == ["problem", "x0"], name
        for kw in ("tol", "maxiter", "deadline"):
            assert sig.parameters[kw].kind is inspect.Parameter.KEYWORD_ONLY, (name, kw)
        assert sig.return_annotation in ("RootResult", RootResult)
    assert STATUS[CONVERGED] == "CONVERGED" and status_name(STALL) == "STALL"
    assert len(set(STATUS)) == len(STATUS) == 9


def test_result_and_problem_validation():
    with pytest.raises(ValueError, match="contradicts status"):
        RootResult(x=np.zeros(1), success=True, status=MAXITER, message="")
    with pytest.raises(TypeError, match="RootProblem.fun must be callable"):
        RootProblem(fun=3)
    with pytest.raises(TypeError, match="RootProblem.jac must be callable"):
        RootProblem(fun=abs, jac=np.eye(2))
    with pytest.raises(TypeError, match="problem must be a RootProblem"):
        newton(lambda x: x, np.zeros(1), tol=1e-9)
    with pytest.raises(ValueError, match="tol = 0 is out of range"):
        newton(square_root()[0], np.ones(1), tol=0)
    with pytest.raises(ValueError, match="maxiter = 0 is out of range"):
        newton(square_root()[0], np.ones(1), tol=1e-9, maxiter=0)
    with pytest.raises(ValueError,
                       match=r"method = 'secant' is unknown; allowed: 'auto', 'newton'"):
        check_method("secant", ("auto", "newton"))
    with pytest.raises(ValueError, match=r"'relaxation' is not available for X; allowed: 'auto'"):
        check_method("relaxation", ("auto",), " for X")


def test_judge_trusts_only_the_residual():
    ok = RootResult(x=np.zeros(1), success=True, status=CONVERGED, message="m")
    bad = RootResult(x=np.zeros(1), success=False, status=STALL, message="m")
    assert judge(ok, 1e-10, 1e-9) == (CONVERGED, "m")
    status, msg = judge(ok, 1e-8, 1e-9)
    assert status == INACCURATE and msg.startswith("did not converge: m; the residual at")
    status, msg = judge(bad, 1e-8, 1e-9)
    assert status == STALL and msg == "did not converge: m"
    assert judge(bad, 1e-10, 1e-9)[0] == CONVERGED
    assert judge(ok, np.inf, 1e-9)[0] == DOMAIN

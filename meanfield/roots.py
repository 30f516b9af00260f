r"""Root finding for the self-consistency equations: one contract, several methods.

Every solver of the package (degree space: ``solve``; realised graph: ``solve_network``)
poses its self-consistency as a root problem :math:`F(x) = 0` and hands it to a method
of this module, in the manner of ``scipy.optimize.root`` and ``scipy.integrate.solve_ivp``:

- the problem is a ``RootProblem``: the residual ``fun``, optionally its Jacobian (or
  both at once, ``fun_and_jac``), a domain guard ``in_domain`` (is x admissible?), the
  convergence measure ``residual`` and, for continuation, a ``Homotopy``;
- every method has the signature ``method(problem, x0, *, tol, maxiter=None,
  deadline=None) -> RootResult`` and is listed in ``METHODS`` under its name;
- the ``RootResult`` is small and frozen: ``x``, ``success``, an integer ``status``
  (``CONVERGED``, ``MAXITER``, ``STALL``, ...), a ``message`` for people, the counts
  ``nfev``, ``njev``, ``nit`` and the ``residual`` at ``x``. Code decides on ``status``,
  never on the text of ``message``.

Methods (``METHODS``):

``"newton"``
    Newton's method with the dense Jacobian and a backtracking line search on
    :math:`\tfrac12|F|^2` (quadratic-interpolation step lengths, points outside the
    domain rejected). Small systems (the moments of the degree-space theory).
``"newton_krylov"``
    Inexact Newton: each linear system :math:`J\,\delta = -F` solved by GMRES to a
    relative accuracy given by the Eisenstat-Walker forcing term, with the problem's
    preconditioner; an optional projection keeps iterates admissible. Large sparse systems
    (one rate per neuron) whose Jacobian is a ``scipy.sparse.linalg.LinearOperator``.
``"relaxation"``
    Pseudo-transient continuation of :math:`dx/ds = F(x)` with linearly implicit Euler
    steps whose size grows as the residual falls (it turns into Newton's method near the
    root). It follows the rate dynamics, so it finds stable roots; slower, more robust.
``"continuation"``
    Solves a path of problems (``problem.homotopy``) from an easy one to the target, each
    stage started from (an extrapolation of) the previous solution, with Newton then
    relaxation at each stage; a failed stage is retried after inserting an intermediate
    one.

``attempt`` runs several methods from several start points in turn (the fallback chain
of ``solve``).

References: Kelley, *Solving Nonlinear Equations with Newton's Method* (SIAM, 2003);
Eisenstat & Walker, SIAM J. Sci. Comput. 17, 16 (1996); Kelley & Keyes, SIAM J. Numer.
Anal. 35, 508 (1998).

Examples
--------
>>> import numpy as np
>>> from meanfield.roots import RootProblem, newton
>>> prob = RootProblem(lambda x: x ** 2 - 2.0, jac=lambda x: np.diag(2.0 * x))
>>> res = newton(prob, np.array([1.0]), tol=1e-12)
>>> res.success, round(float(res.x[0]), 12), res.status
(True, 1.414213562373, 0)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
from scipy.sparse.linalg import LinearOperator, aslinearoperator, gmres

__all__ = ["RootProblem", "Homotopy", "RootResult", "METHODS", "DEFAULT_MAXITER",
           "newton", "newton_krylov", "relaxation", "continuation", "attempt", "judge",
           "check_method", "max_residual", "relative_residual", "status_name",
           "CONVERGED", "MAXITER", "STALL", "LINE_SEARCH_FAILED", "DEADLINE", "DOMAIN",
           "FALLBACKS_FAILED", "NO_START", "INACCURATE", "STATUS"]

# =============================================================================== status
CONVERGED = 0
"""The residual at ``x`` is <= tol."""
MAXITER = 1
"""The iteration limit was reached with the residual above tol."""
STALL = 2
"""The residual stopped falling (Newton: 12 steps without halving the best residual)."""
LINE_SEARCH_FAILED = 3
"""No acceptable step along the search direction (Newton: step length below its floor;
relaxation: pseudo-time step below 1e-12)."""
DEADLINE = 4
"""The wall-time deadline passed before convergence."""
DOMAIN = 5
"""The start point (or the final point) is outside the domain or F is not finite there."""
FALLBACKS_FAILED = 6
"""Every method tried from every start point (and every continuation stage) failed."""
NO_START = 7
"""No admissible start point could be built (e.g. the balanced-limit linear program
failed), so no method ran."""
INACCURATE = 8
"""The method stopped at its own test but the residual re-evaluated at the returned point
is above tol (round-off in F, or a method that claimed success wrongly)."""

STATUS = {CONVERGED: "CONVERGED", MAXITER: "MAXITER", STALL: "STALL",
          LINE_SEARCH_FAILED: "LINE_SEARCH_FAILED", DEADLINE: "DEADLINE", DOMAIN: "DOMAIN",
          FALLBACKS_FAILED: "FALLBACKS_FAILED", NO_START: "NO_START", INACCURATE: "INACCURATE"}
"""Name of every status code."""

DEFAULT_MAXITER = {"newton": 60, "newton_krylov": 40, "relaxation": 500, "continuation": None}
"""Iterations per attempt when ``maxiter`` is None (continuation: its stages' defaults)."""

_STALL_STEPS = 12          # Newton steps without halving the best residual before STALL
_NEWTON_LAM_MIN = 1e-8     # smallest Newton step length
_KRYLOV_LAM_MIN = 1e-6     # smallest Newton-Krylov step length (projected halving)
_RELAX_H_MIN = 1e-12       # smallest pseudo-time step


def status_name(status: int) -> str:
    """Name of a status code (``status_name(0) == "CONVERGED"``)."""
    return STATUS.get(int(status), f"UNKNOWN({status})")


# =============================================================================== residuals
def max_residual(F, x) -> float:
    r"""Absolute residual :math:`\max_k |F_k|` (the default convergence measure)."""
    return float(np.max(np.abs(F))) if np.size(F) else 0.0


def relative_residual(F, x) -> float:
    r"""Relative residual :math:`\max_k |F_k| / \max(\max_k |x_k|, 10^{-12})`.

    The measure of the degree-space and population-mode solvers: F is in the units of x
    (a fixed-point residual :math:`\Phi(x) - x`), so this is the relative change one
    plain iteration would make.
    """
    return float(np.max(np.abs(F)) / max(float(np.max(np.abs(x))), 1e-12)) if np.size(x) else 0.0


# =============================================================================== problem
@dataclass(frozen=True, eq=False)
class Homotopy:
    """A path of problems from an easy one to the target (for ``continuation``).

    Attributes
    ----------
    stages : tuple of float
        Parameter values s_0, ..., s_k along the path; the last is the target problem.
    problem_at : callable
        ``problem_at(s) -> RootProblem``.
    refine : callable or None
        ``refine(s_prev, s) -> s_mid or None``: a stage to insert between a solved stage
        and one that failed (None: the step cannot be refined; the path fails).
    predict : callable or None
        ``predict(history, s) -> x``: start point of stage s from the solved stages
        ``history`` (list of (s, x)); None: start from the previous solution only.
    label : str
        Name of the parameter in messages (e.g. "N").
    start_name : str
        Name of the first stage's start point in messages.
    methods : tuple of str
        Methods tried at each stage, in order, from each start point.
    """

    stages: tuple
    problem_at: Callable
    refine: Callable | None = None
    predict: Callable | None = None
    label: str = "s"
    start_name: str = "start point"
    methods: tuple = ("newton", "relaxation")

    def __post_init__(self):
        if len(self.stages) < 1:
            raise ValueError("Homotopy.stages is empty; allowed: at least one stage (the target)")
        if not callable(self.problem_at):
            raise TypeError("Homotopy.problem_at must be callable: s -> RootProblem")
        for name in self.methods:
            if name not in METHODS or name == "continuation":
                raise ValueError(f"Homotopy.methods contains {name!r}; allowed: "
                                 f"{[m for m in METHODS if m != 'continuation']}")


@dataclass(frozen=True, eq=False)
class RootProblem:
    r"""The problem :math:`F(x) = 0` handed to every method of ``METHODS``.

    Attributes
    ----------
    fun : callable
        ``fun(x) -> F``, an ndarray of x's shape. Returning None or a non-finite array means
        F cannot be evaluated at x; methods treat x as outside the domain.
    jac : callable, optional
        ``jac(x) -> J``: an ndarray (m, m) for "newton" and "relaxation"; "newton_krylov"
        also accepts a ``scipy.sparse.linalg.LinearOperator`` or a pair (operator,
        preconditioner M approximating :math:`J^{-1}`, or None). Without ``jac`` and
        ``fun_and_jac`` a forward-difference Jacobian is used (step
        :math:`10^{-7}\max(|x_k|, 10^{-3})`, backward where the forward point is outside
        the domain; x counts as outside when neither side can be evaluated).
    fun_and_jac : callable, optional
        ``fun_and_jac(x) -> (F, J)`` when F and J share work (preferred over ``fun`` then
        ``jac`` when a method needs both).
    in_domain : callable, optional
        ``in_domain(x) -> bool``: False for an inadmissible x; F is then not evaluated
        (and no evaluation is counted). Non-finite x is always inadmissible.
    residual : callable, optional
        ``residual(F, x) -> float``, the convergence measure compared with ``tol``;
        default ``max_residual`` (:math:`\max|F|`).
    project : callable, optional
        ``project(x) -> x``: map of a trial point onto the admissible set ("newton_krylov"
        projects every trial point, e.g. rates onto r >= 0).
    homotopy : Homotopy, optional
        The path of problems "continuation" follows.
    """

    fun: Callable
    jac: Callable | None = None
    fun_and_jac: Callable | None = None
    in_domain: Callable | None = None
    residual: Callable | None = None
    project: Callable | None = None
    homotopy: Homotopy | None = None

    def __post_init__(self):
        if not callable(self.fun):
            raise TypeError(f"RootProblem.fun must be callable, got {type(self.fun).__name__}")
        for name in ("jac", "fun_and_jac", "in_domain", "residual", "project"):
            v = getattr(self, name)
            if v is not None and not callable(v):
                raise TypeError(f"RootProblem.{name} must be callable or None, got "
                                f"{type(v).__name__}")
        if self.homotopy is not None and not isinstance(self.homotopy, Homotopy):
            raise TypeError(f"RootProblem.homotopy must be a Homotopy, got "
                            f"{type(self.homotopy).__name__}")


@dataclass(frozen=True, eq=False)
class RootResult:
    """Outcome of a root-finding method (frozen).

    Attributes
    ----------
    x : ndarray
        The last iterate (the root when ``success``).
    success : bool
        True exactly when ``status == CONVERGED``.
    status : int
        ``CONVERGED`` (0), ``MAXITER``, ``STALL``, ``LINE_SEARCH_FAILED``, ``DEADLINE``,
        ``DOMAIN``, ``FALLBACKS_FAILED``, ``NO_START`` or ``INACCURATE`` (``STATUS`` names
        them).
    message : str
        What happened, for people.
    nfev : int
        Evaluations of F (with or without the Jacobian, finite-difference ones included).
    njev : int
        Evaluations of the Jacobian.
    nit : int
        Iterations (all attempts and stages).
    residual : float
        The problem's residual measure at ``x`` (inf where F cannot be evaluated).
    method : str
        Name in ``METHODS`` of the method that produced ``x``.
    """

    x: np.ndarray
    success: bool
    status: int
    message: str
    nfev: int = 0
    njev: int = 0
    nit: int = 0
    residual: float = float("inf")
    method: str = ""

    def __post_init__(self):
        if bool(self.success) != (self.status == CONVERGED):
            raise ValueError(f"RootResult: success = {self.success} contradicts status = "
                             f"{status_name(self.status)}")


# =============================================================================== evaluation
class _Evaluator:
    """Counts evaluations and applies the domain guard of one problem."""

    def __init__(self, problem: RootProblem):
        if not isinstance(problem, RootProblem):
            raise TypeError(f"problem must be a RootProblem, got {type(problem).__name__}")
        self.p = problem
        self.nfev = 0
        self.njev = 0
        self.measure = problem.residual or max_residual
        self.word = "residual" if self.measure is max_residual else "relative residual"

    def admissible(self, x) -> bool:
        return bool(np.all(np.isfinite(x))) and (self.p.in_domain is None
                                                 or bool(self.p.in_domain(x)))

    @staticmethod
    def _finite(F):
        if F is None:
            return None
        F = np.asarray(F, float)
        return F if np.all(np.isfinite(F)) else None

    def f(self, x):
        """F(x), or None outside the domain."""
        if not self.admissible(x):
            return None
        self.nfev += 1
        return self._finite(self.p.fun(x))

    def fj(self, x):
        """(F, J) at x, or (None, None) outside the domain."""
        if not self.admissible(x):
            return None, None
        self.nfev += 1
        self.njev += 1
        if self.p.fun_and_jac is not None:
            F, J = self.p.fun_and_jac(x)
            F = self._finite(F)
            return (F, J) if F is not None else (None, None)
        F = self._finite(self.p.fun(x))
        if F is None:
            return None, None
        if self.p.jac is not None:
            return F, self.p.jac(x)
        J = self._fd_jacobian(x, F)
        return (F, J) if J is not None else (None, None)

    def _fd_jacobian(self, x, F):
        """Return the Jacobian by forward differences (backward where forward is inadmissible).

        None when neither side can be evaluated (x is then treated as inadmissible).
        """
        J = np.empty((F.size, x.size))
        for k in range(x.size):
            h = 1e-7 * max(abs(x[k]), 1e-3)
            xk = x.copy()
            xk[k] += h
            Fk = self.f(xk)
            if Fk is None:
                xk[k] -= 2 * h
                Fk = self.f(xk)
                h = -h
                if Fk is None:
                    return None
            J[:, k] = (Fk - F) / h
        return J

    def residual(self, F, x) -> float:
        return float("inf") if F is None else float(self.measure(F, x))


def _deadline(deadline) -> float:
    return math.inf if deadline is None else float(deadline)


def _check_common(x0, tol, maxiter, name):
    x = np.array(x0, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"x0 has shape {x.shape}; allowed: a 1-d array")
    if not (isinstance(tol, (int, float, np.floating)) and tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol = {tol!r} is out of range; allowed: a finite number > 0")
    if maxiter is None:
        maxiter = DEFAULT_MAXITER[name]
    elif isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or maxiter < 1:
        raise ValueError(f"maxiter = {maxiter!r} is out of range; allowed: an integer >= 1 or None")
    return x, int(maxiter) if maxiter is not None else None


def _result(ev, x, status, message, nit, F, name):
    return RootResult(x=np.asarray(x, float), success=status == CONVERGED, status=status,
                      message=message, nfev=ev.nfev, njev=ev.njev, nit=int(nit),
                      residual=ev.residual(F, x), method=name)


def _dense_solve(A, b):
    try:
        step = np.linalg.solve(A, b)
        if not np.all(np.isfinite(step)):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        step = np.linalg.lstsq(A, b, rcond=None)[0]
    return step


# =============================================================================== newton
def newton(problem: RootProblem, x0, *, tol: float, maxiter: int | None = None,
           deadline: float | None = None) -> RootResult:
    r"""Newton's method with the dense Jacobian and a backtracking line search.

    Parameters
    ----------
    problem : RootProblem
        ``jac`` (or ``fun_and_jac``) must give an ndarray (m, m); without either, a
        forward-difference Jacobian is used.
    x0 : array_like (m,)
        Start point.
    tol : float
        Convergence when ``problem.residual(F, x) <= tol``, > 0.
    maxiter : int, optional
        Newton steps, >= 1 (default 60).
    deadline : float, optional
        ``time.perf_counter()`` value after which no new step starts (None: no limit).

    Returns
    -------
    RootResult
        ``status``: CONVERGED, MAXITER, STALL, LINE_SEARCH_FAILED, DEADLINE or DOMAIN.

    Notes
    -----
    Step :math:`\delta = -J^{-1}F` (least squares if J is singular). Step length
    :math:`\lambda` from 1 down by safeguarded quadratic interpolation of the merit
    :math:`f = \tfrac12|F|^2` (factor 0.1-0.5; 0.25 where the trial point is outside the
    domain) until the Armijo condition :math:`f(x + \lambda\delta) \le (1 -
    10^{-4}\lambda) f(x)` holds; below :math:`\lambda = 10^{-8}` the line search fails.
    The Jacobian is evaluated with F at the full step (it is reused when that step is
    accepted). STALL when 12 consecutive steps fail to halve the best residual so far.
    Cost per step: one evaluation with the Jacobian, a few without, one m x m solve.
    """
    x, maxiter = _check_common(x0, tol, maxiter, "newton")
    ev = _Evaluator(problem)
    deadline = _deadline(deadline)
    F, J = ev.fj(x)
    if F is None:
        return _result(ev, x, DOMAIN, "start point outside the domain (sigma^2 < 0 or "
                       "non-finite rates)", 0, None, "newton")
    best, stall = np.inf, 0
    for it in range(1, maxiter + 1):
        res = ev.residual(F, x)
        if res <= tol:
            return _result(ev, x, CONVERGED, f"{ev.word} {res:.2e} <= tol {tol:.1e}",
                           it - 1, F, "newton")
        if time.perf_counter() > deadline:
            return _result(ev, x, DEADLINE, "time budget exhausted", it - 1, F, "newton")
        step = _dense_solve(J, -F)
        f0 = 0.5 * float(F @ F)
        lam, accepted = 1.0, False
        while lam >= _NEWTON_LAM_MIN:
            xt = x + lam * step
            if lam == 1.0:
                Ft, Jt = ev.fj(xt)
            else:
                Ft, Jt = ev.f(xt), None
            if Ft is not None and 0.5 * float(Ft @ Ft) <= (1.0 - 1e-4 * lam) * f0:
                accepted = True
                break
            if Ft is not None:
                # quadratic model of the merit along the step, safeguarded
                ft = 0.5 * float(Ft @ Ft)
                lam_q = (lam * lam * f0 / (2.0 * (ft - f0 + lam * f0)) if ft > f0 * (1 - lam)
                         else 0.5 * lam)
                lam = float(np.clip(lam_q, 0.1 * lam, 0.5 * lam))
            else:
                lam *= 0.25
        if not accepted:
            return _result(ev, x, LINE_SEARCH_FAILED,
                           f"line search failed at {ev.word} {res:.2e} "
                           "(Newton direction not a descent direction)", it, F, "newton")
        x, F = xt, Ft
        J = Jt if Jt is not None else ev.fj(x)[1]
        r_now = ev.residual(F, x)
        if r_now < 0.5 * best:
            best, stall = r_now, 0
        else:
            stall += 1
            if stall >= _STALL_STEPS and r_now > tol:
                return _result(ev, x, STALL, f"stalled at {ev.word} {r_now:.2e}", it,
                               F, "newton")
    res = ev.residual(F, x)
    if res <= tol:
        return _result(ev, x, CONVERGED, f"{ev.word} {res:.2e} <= tol {tol:.1e}",
                       maxiter, F, "newton")
    return _result(ev, x, MAXITER, f"maxiter = {maxiter} reached at {ev.word} {res:.2e}",
                   maxiter, F, "newton")


# =============================================================================== newton-krylov
def _operators(J, size):
    """Return (A, M) LinearOperators from an ndarray, a LinearOperator or an (A, M) pair."""
    if isinstance(J, tuple):
        A, M = J
    else:
        A, M = J, None
    if not isinstance(A, LinearOperator):
        A = aslinearoperator(np.asarray(A, float))
    if A.shape != (size, size):
        raise ValueError(f"Jacobian has shape {A.shape}; expected ({size}, {size})")
    return A, M


def newton_krylov(problem: RootProblem, x0, *, tol: float, maxiter: int | None = None,
                  deadline: float | None = None) -> RootResult:
    r"""Inexact Newton with GMRES (matrix-free), projected halving line search.

    Parameters
    ----------
    problem : RootProblem
        ``fun_and_jac`` (or ``jac``) gives J as an ndarray, a ``LinearOperator`` or a pair
        (operator, preconditioner or None). ``project``, if given, maps every trial point
        onto the admissible set.
    x0 : array_like (m,)
    tol : float
        Convergence when ``problem.residual(F, x) <= tol``, > 0.
    maxiter : int, optional
        Newton steps, >= 1 (default 40).
    deadline : float, optional
        ``time.perf_counter()`` value after which no new step starts.

    Returns
    -------
    RootResult
        ``status``: CONVERGED, MAXITER, LINE_SEARCH_FAILED, DEADLINE or DOMAIN.

    Notes
    -----
    GMRES (restart 40, at most 5 restarts) solves :math:`J\delta = -F` to the relative
    accuracy :math:`\eta_k = \min(0.5, \eta)`, with the Eisenstat-Walker choice
    :math:`\eta = \max(\min(0.1, (|F_{k+1}|/|F_k|)^2), 10^{-6})` (:math:`\eta_0 = 0.1`).
    Trial points :math:`P(x + \lambda\delta)` (P the projection), :math:`\lambda` halved
    from 1 until the Armijo condition on :math:`\tfrac12|F|^2` holds; below
    :math:`10^{-6}` the line search fails. Every trial point is evaluated with its
    Jacobian. Cost per step: the GMRES products with J (O(nnz) each for a sparse
    operator) and a few evaluations.
    """
    x, maxiter = _check_common(x0, tol, maxiter, "newton_krylov")
    ev = _Evaluator(problem)
    deadline = _deadline(deadline)
    project = problem.project or (lambda y: y)
    F, J = ev.fj(x)
    if F is None:
        return _result(ev, x, DOMAIN, "start point outside the domain", 0, None,
                       "newton_krylov")
    eta = 0.1
    for it in range(1, maxiter + 1):
        res = ev.residual(F, x)
        if res <= tol:
            return _result(ev, x, CONVERGED, f"{ev.word} {res:.2e} <= tol {tol:.1e}",
                           it - 1, F, "newton_krylov")
        if time.perf_counter() > deadline:
            return _result(ev, x, DEADLINE, f"time budget exhausted at residual {res:.2e}",
                           it - 1, F, "newton_krylov")
        A, M = _operators(J, x.size)
        step, _ = gmres(A, -F, rtol=min(eta, 0.5), atol=0.0, restart=40, maxiter=5, M=M)
        f0 = 0.5 * float(F @ F)
        lam, accepted = 1.0, False
        while lam >= _KRYLOV_LAM_MIN:
            xt = project(x + lam * step)
            Ft, Jt = ev.fj(xt)
            if Ft is not None and 0.5 * float(Ft @ Ft) <= (1 - 1e-4 * lam) * f0:
                accepted = True
                break
            lam *= 0.5
        if not accepted:
            return _result(ev, x, LINE_SEARCH_FAILED,
                           f"line search failed at {ev.word} {res:.2e}", it, F,
                           "newton_krylov")
        ratio = math.sqrt(float(Ft @ Ft) / max(2 * f0, 1e-300))
        eta = max(min(0.1, ratio ** 2), 1e-6)
        x, F, J = xt, Ft, Jt
    res = ev.residual(F, x)
    if res <= tol:
        return _result(ev, x, CONVERGED, f"{ev.word} {res:.2e} <= tol {tol:.1e}",
                       maxiter, F, "newton_krylov")
    return _result(ev, x, MAXITER, f"maxiter = {maxiter} reached at residual {res:.2e}",
                   maxiter, F, "newton_krylov")


# =============================================================================== relaxation
def relaxation(problem: RootProblem, x0, *, tol: float, maxiter: int | None = None,
               deadline: float | None = None, h0: float = 0.05) -> RootResult:
    r"""Pseudo-transient continuation of :math:`dx/ds = F(x)` (damped relaxation).

    Parameters
    ----------
    problem : RootProblem
        The Jacobian must be an ndarray (m, m).
    x0 : array_like (m,)
    tol : float
        Convergence when ``problem.residual(F, x) <= tol``, > 0.
    maxiter : int, optional
        Pseudo-time steps tried (accepted or rejected; ``nit`` counts them), >= 1
        (default 500).
    deadline : float, optional
        ``time.perf_counter()`` value after which no new step starts.
    h0 : float
        First pseudo-time step, > 0.

    Returns
    -------
    RootResult
        ``status``: CONVERGED, MAXITER, LINE_SEARCH_FAILED (the step fell below 1e-12),
        DEADLINE or DOMAIN.

    Notes
    -----
    Linearly implicit Euler steps :math:`(I/h - J)\,\delta = F` follow the dynamics
    from the start point in pseudo-time (stable for any h on the stiff modes); h grows as
    the residual falls, :math:`h \leftarrow \mathrm{clip}(h\,|F_k|/|F_{k+1}|, h/4,
    10^{15})` ("switched evolution relaxation", Kelley & Keyes 1998), so the method turns
    into Newton's near the root. A step that leaves the domain or multiplies ``|F|`` by more
    than 1000 is retried with h/4. It converges to roots that are stable for the dynamics
    (for the rates, :math:`F = \Phi - r`: the physical fixed points).
    """
    x, maxiter = _check_common(x0, tol, maxiter, "relaxation")
    if not h0 > 0:
        raise ValueError(f"h0 = {h0!r} is out of range; allowed: > 0")
    ev = _Evaluator(problem)
    deadline = _deadline(deadline)
    F, J = ev.fj(x)
    if F is None:
        return _result(ev, x, DOMAIN, "pseudo-time start point outside the domain", 0, None,
                       "relaxation")
    h = h0
    nF = float(np.linalg.norm(F))
    eye = np.eye(x.size)
    it, stop = 0, MAXITER
    for it in range(1, maxiter + 1):
        res = ev.residual(F, x)
        if res <= tol:
            return _result(ev, x, CONVERGED, f"pseudo-time relaxation: {ev.word} {res:.2e}",
                           it - 1, F, "relaxation")
        if time.perf_counter() > deadline:
            stop, it = DEADLINE, it - 1        # no step attempted in this pass
            break
        try:
            step = np.linalg.solve(eye / h - J, F)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(eye / h - J, F, rcond=None)[0]
        Ft, Jt = ev.fj(x + step)
        if Ft is None or np.linalg.norm(Ft) > 1e3 * max(nF, 1e-300):
            h *= 0.25
            if h < _RELAX_H_MIN:
                stop = LINE_SEARCH_FAILED
                break
            continue
        nFt = float(np.linalg.norm(Ft))
        h = float(np.clip(h * nF / max(nFt, 1e-300), 0.25 * h, 1e15))
        x, F, J, nF = x + step, Ft, Jt, nFt
    res = ev.residual(F, x)
    if res <= tol:
        return _result(ev, x, CONVERGED, f"pseudo-time relaxation: {ev.word} {res:.2e}",
                       it, F, "relaxation")
    why = {MAXITER: f"maxiter = {maxiter} reached", DEADLINE: "time budget exhausted",
           LINE_SEARCH_FAILED: f"pseudo-time step below {_RELAX_H_MIN:g}"}[stop]
    return _result(ev, x, stop, f"pseudo-time relaxation stopped at {ev.word} {res:.2e} "
                   f"({why})", it, F, "relaxation")


# =============================================================================== chains
_ATTEMPT = {"newton": "Newton from the {start}: {message}",
            "newton_krylov": "Newton-Krylov from the {start}: {message}",
            "relaxation": "from the {start}, {message}",
            "continuation": "continuation from the {start}: {message}"}


def _failure_status(results) -> int:
    """Status of a chain whose every attempt failed."""
    if len(results) == 1:
        return results[0].status
    return DEADLINE if results[-1].status == DEADLINE else FALLBACKS_FAILED


def attempt(problem: RootProblem, starts, methods, *, tol: float, maxiter: int | None = None,
            deadline: float | None = None) -> RootResult:
    """Try each method from each start point in turn; the first success is returned.

    Parameters
    ----------
    problem : RootProblem
    starts : sequence of (str, array_like)
        Named start points, tried in order for each method.
    methods : sequence of str
        Names in ``METHODS``, tried in order (all starts with the first method, then all
        with the second, ...).
    tol, maxiter, deadline
        Passed to every method (``maxiter`` None: each method's default).

    Returns
    -------
    RootResult
        On success the successful attempt (its message names method and start), with
        ``nfev``, ``njev``, ``nit`` summed over all attempts. Otherwise the last attempt's
        ``x`` and ``method``, every attempt's message joined by "; ", and ``status`` the
        single attempt's status, DEADLINE when the last attempt ran out of time, or
        FALLBACKS_FAILED.
    """
    starts = list(starts)
    methods = [check_method(m, tuple(METHODS)) for m in methods]
    if not starts or not methods:
        raise ValueError("attempt needs at least one start point and one method")
    done, msgs = [], []
    nfev = njev = nit = 0
    for name in methods:
        for start, x0 in starts:
            r = METHODS[name](problem, x0, tol=tol, maxiter=maxiter, deadline=deadline)
            nfev, njev, nit = nfev + r.nfev, njev + r.njev, nit + r.nit
            text = _ATTEMPT[name].format(start=start, message=r.message)
            done.append(r)
            msgs.append(text)
            if r.success:
                return replace(r, message=text, nfev=nfev, njev=njev, nit=nit)
    last = done[-1]
    status = _failure_status(done)
    return replace(last, message="; ".join(msgs), status=status, success=False, nfev=nfev,
                   njev=njev, nit=nit)


def continuation(problem: RootProblem, x0, *, tol: float, maxiter: int | None = None,
                 deadline: float | None = None) -> RootResult:
    """Follow ``problem.homotopy`` from its first stage to the target.

    Parameters
    ----------
    problem : RootProblem
        Must carry a ``Homotopy``; its last stage is the problem solved.
    x0 : array_like (m,)
        Start point of the first stage.
    tol : float
        Every stage is solved to this tolerance, > 0.
    maxiter : int, optional
        Iterations per attempt within a stage (None: each method's default).
    deadline : float, optional
        ``time.perf_counter()`` value after which nothing new starts.

    Returns
    -------
    RootResult
        The target stage's solution; on failure the failing stage's last iterate and
        status (with the stage named in the message).

    Notes
    -----
    Stage s_i is started from ``predict(history, s_i)`` and from the previous solution
    (the first stage from x0), each with ``homotopy.methods`` in turn (``attempt``). When
    a stage fails, ``refine(s_prev, s_i)`` inserts an intermediate stage, while time
    remains; when no refinement is possible the path fails.
    """
    hom = problem.homotopy
    if hom is None:
        raise ValueError("continuation needs a RootProblem with a homotopy (the path of "
                         "problems to follow); this problem has none")
    _check_common(x0, tol, maxiter, "continuation")
    deadline = _deadline(deadline)
    stages = list(hom.stages)
    history, nfev, njev, nit, i, s_prev = [], 0, 0, 0, 0, None
    r = None
    while i < len(stages):
        s = stages[i]
        sub = hom.problem_at(s)
        if not history:
            starts = [(hom.start_name, x0)]
        elif hom.predict is not None:
            starts = [("extrapolated previous solution", hom.predict(history, s)),
                      ("previous solution", history[-1][1])]
        else:
            starts = [("previous solution", history[-1][1])]
        r = attempt(sub, starts, hom.methods, tol=tol, maxiter=maxiter, deadline=deadline)
        nfev, njev, nit = nfev + r.nfev, njev + r.njev, nit + r.nit
        if not r.success:
            mid = hom.refine(s_prev, s) if (s_prev is not None and hom.refine is not None) \
                else None
            if mid is not None and time.perf_counter() < deadline:
                stages.insert(i, mid)
                continue
            return replace(r, message=f"failed at {hom.label} = {s}: {r.message}",
                           nfev=nfev, njev=njev, nit=nit, method="continuation")
        history.append((s, r.x))
        s_prev = s
        i += 1
    return replace(r, message=(f"continuation in {hom.label} over {stages[0]} ... "
                               f"{stages[-1]} ({len(stages)} stages): {r.message}"),
                   nfev=nfev, njev=njev, nit=nit, method="continuation")


def judge(root: RootResult, residual: float, tol: float, where: str = "the returned point"):
    """(status, message) of a solver's result from the residual re-evaluated at ``root.x``.

    The final word of ``solve`` and ``solve_network``: converged exactly when
    ``residual <= tol``. Otherwise the method's own status; INACCURATE when the method
    claimed success; DOMAIN when F cannot be evaluated there (residual inf). The message
    of a result that did not converge starts with "did not converge: ".
    """
    message = root.message
    if not np.isfinite(residual):
        status = DOMAIN if root.success else root.status
    elif residual <= tol:
        status = CONVERGED
        if not root.success:
            message += f"; the residual at {where}, {residual:.2e}, is <= tol {tol:.1e}"
    elif root.success:
        status = INACCURATE
        message += f"; the residual at {where}, {residual:.2e}, is above tol {tol:.1e}"
    else:
        status = root.status
    if status != CONVERGED:
        message = "did not converge: " + message
    return status, message


# =============================================================================== registry
METHODS = {"newton": newton, "newton_krylov": newton_krylov, "relaxation": relaxation,
           "continuation": continuation}
"""Root-finding methods by name; each is ``method(problem, x0, *, tol, maxiter=None,
deadline=None) -> RootResult``."""


def check_method(method, allowed, context: str = "") -> str:
    """Return ``method`` if it is one of ``allowed``, else raise ValueError naming them.

    ``context`` (e.g. " for presynaptic = 'neuron'") is added to the message when a known
    method is not allowed in that call.
    """
    if isinstance(method, str) and method in allowed:
        return method
    known = isinstance(method, str) and method in METHODS
    why = "is not available" + context if known else "is unknown"
    raise ValueError(f"method = {method!r} {why}; allowed: "
                     + ", ".join(repr(m) for m in allowed))

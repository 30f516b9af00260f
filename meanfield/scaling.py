"""Large-N analysis: balance diagnostics along an N-ladder and their scaling exponents.

Along the balanced scaling (j, p, q fixed, docs/theory.md section 1) a balanced network keeps
every mean input O(1): the slope of mu against the label and the spread of mu across
labels stay bounded and the O(sqrt N) bracket of condition (B) falls like N^(-1/2). Where
balance breaks (docs/theory.md sections 6-7) the mean inputs spread like sqrt(N) and the
silent fraction grows. ``scan_N`` solves the degree-space self-consistency at each N
and fits the exponents by least squares in log-log coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .checks import check_int
from .degree import DegreeModel, resolve_model
from .errors import ConvergenceError
from .feasibility import FeasibilityResult, balance_feasibility
from .params import POPULATIONS, NetworkParams, check_network_params
from .degree_space import solve
from .semibalanced import SemiBalancedResult, semi_balanced

__all__ = ["scan_N", "ScanResult", "fit_exponent", "fit_exponent_se", "ExponentFit"]


def fit_exponent(Ns, values) -> float:
    r"""Least-squares slope of log|values| against log N.

    Parameters
    ----------
    Ns : array_like (k,)
        Network sizes, > 0.
    values : array_like (k,)
        Diagnostic at each N; its absolute value is fitted.

    Returns
    -------
    float
        The exponent e of :math:`|v| \propto N^e`; NaN when fewer than two values are
        finite and non-zero (e.g. a silent fraction that is 0 at every N).

    Examples
    --------
    >>> round(fit_exponent([1e3, 1e4, 1e5], [1.0, 10 ** 0.5, 10.0]), 6)
    0.5
    """
    N = np.asarray(Ns, float)
    v = np.abs(np.asarray(values, float))
    ok = np.isfinite(v) & (v > 0) & (N > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(N[ok]), np.log(v[ok]), 1)[0])


class ExponentFit(NamedTuple):
    r"""Result of ``fit_exponent_se``: the exponent of :math:`|v| \propto N^e` and its SE.

    Attributes
    ----------
    exponent : float
        e (NaN with fewer than two usable points).
    se : float
        Its standard error (NaN with fewer than two usable points).
    chi2 : float
        Weighted sum of squared residuals in log space.
    n : int
        Points used (finite, non-zero values with a finite SE > 0).
    """

    exponent: float
    se: float
    chi2: float
    n: int

    def __str__(self) -> str:
        return f"N^{self.exponent:.2f} +/- {self.se:.2f}"


def fit_exponent_se(Ns, values, se) -> ExponentFit:
    r"""Exponent of :math:`|v| \propto N^e` weighted by the values' standard errors.

    Parameters
    ----------
    Ns : array_like (k,)
        Network sizes, > 0.
    values : array_like (k,)
        Diagnostic at each N (e.g. a slope measured in a simulation); its absolute value
        is fitted.
    se : array_like (k,)
        Standard error of each value, same units, >= 0. Points whose value or SE is not
        finite, or whose value or SE is 0, are left out.

    Returns
    -------
    ExponentFit
        ``(exponent, se, chi2, n)``; unpacks as a tuple.

    Raises
    ------
    ValueError
        Arrays of different lengths, or a negative SE.

    Notes
    -----
    Weighted least squares of :math:`y_i = \log|v_i|` on :math:`x_i = \log N_i` with the
    SE carried to log space, :math:`s_i = SE_i/|v_i|` (first order), weights
    :math:`w_i = 1/s_i^2`:

    .. math::

        e = \frac{\sum_i w_i (x_i - \bar x)(y_i - \bar y)}{S_{xx}},\qquad
        S_{xx} = \sum_i w_i (x_i - \bar x)^2,\qquad
        SE(e) = S_{xx}^{-1/2} \max\left(1, \sqrt{\chi^2/(n - 2)}\right),

    with weighted means :math:`\bar x, \bar y` and :math:`\chi^2 = \sum_i w_i
    (y_i - \bar y - e (x_i - \bar x))^2`. The factor :math:`\sqrt{\chi^2/(n-2)}` (the
    Birge ratio; ``scipy.optimize.curve_fit`` with ``absolute_sigma=False`` applies it
    always) widens the SE when the points scatter about the power law more than their SEs
    allow, e.g. when a finite-N ladder is curved; it never narrows it. With two points
    the fit is exact and the SE is the propagated one.

    Examples
    --------
    >>> fit = fit_exponent_se([1e3, 1e4, 1e5], [1.0, 10 ** 0.5, 10.0], [0.05, 0.05, 0.05])
    >>> round(fit.exponent, 6), round(fit.se, 4), fit.n
    (0.5, 0.0061, 3)
    >>> print(fit)
    N^0.50 +/- 0.01
    """
    N = np.asarray(Ns, float)
    v = np.abs(np.asarray(values, float))
    s = np.asarray(se, float)
    if not (N.shape == v.shape == s.shape) or N.ndim != 1:
        raise ValueError(f"Ns, values and se have shapes {N.shape}, {v.shape}, {s.shape}; "
                         f"allowed: three 1-D arrays of the same length")
    if np.any(s < 0):
        raise ValueError(f"se = {s.tolist()} has a negative entry; allowed: standard errors >= 0")
    ok = np.isfinite(v) & (v > 0) & (N > 0) & np.isfinite(s) & (s > 0)
    n = int(ok.sum())
    if n < 2 or np.ptp(N[ok]) == 0:
        return ExponentFit(float("nan"), float("nan"), float("nan"), n)
    x, y, w = np.log(N[ok]), np.log(v[ok]), (v[ok] / s[ok]) ** 2
    xc = x - np.sum(w * x) / np.sum(w)
    yc = y - np.sum(w * y) / np.sum(w)
    sxx = float(np.sum(w * xc * xc))
    e = float(np.sum(w * xc * yc) / sxx)
    chi2 = float(np.sum(w * (yc - e * xc) ** 2))
    inflate = max(1.0, np.sqrt(chi2 / (n - 2))) if n > 2 else 1.0
    return ExponentFit(e, float(inflate / np.sqrt(sxx)), chi2, n)


@dataclass(frozen=True, eq=False)
class ScanResult:
    r"""Diagnostics of ``scan_N`` (frozen).

    Arrays of shape (k, 2) have one row per N and columns E, I.

    Attributes
    ----------
    Ns : ndarray (k,)
        The network sizes.
    results : tuple of MeanFieldResult
        The full solution at each N.
    converged : ndarray of bool (k,)
        Whether the solve at each N converged.
    mean_rate : ndarray (k, 2)
        Population mean rates, Hz.
    mu_slope : ndarray (k, 2)
        Slope of the mean input mu against the label, mV per unit label.
    mu_spread : ndarray (k, 2)
        Standard deviation of mu across labels, mV.
    fraction_silent, fraction_saturated : ndarray (k, 2)
        Fractions of neurons below the silent and above the saturated rate thresholds
        (``MeanFieldResult.fraction_silent``, ``fraction_saturated``).
    imbalance : ndarray (k, 2)
        RMS O(sqrt N) bracket relative to the external drive (``MeanFieldResult.imbalance``).
    rate_indegree_slope : ndarray (k, 2)
        d rate / d in-degree, Hz per synapse.
    exponent_mu_slope, exponent_mu_spread, exponent_silent, exponent_imbalance : ndarray (2,)
        Fitted exponents e of :math:`|x| \propto N^e` (``fit_exponent``) per population:
        balanced ~ (0, 0, -, -0.5); broken ~ (0.5, 0.5, > 0, 0). NaN where undefined
        (see ``notes``).
    feasibility : FeasibilityResult
        Condition (B) on the label grid.
    notes : tuple of str
        Why an exponent is NaN, which N did not converge.
    limit : SemiBalancedResult
        The N -> infinity limit on the same label grid (``semi_balanced``).
    distance_to_limit : ndarray (k, 2)
        Distance of each finite-N profile to the limit, Hz: the earth-mover distance
        :math:`E_t|C^N_a(t) - C^\infty_a(t)|` between the cumulative rate profiles
        :math:`C_a(t) = E_{t'}[r_a(t') 1\{t' \le t\}]`, to the nearest limit profile when the
        limit is not unique (``SemiBalancedResult.distance``; ``kind="l1"`` there gives the
        pointwise distance). NaN for unconverged sizes.
    exponent_distance_to_limit : ndarray (2,)
        Fitted exponent of ``distance_to_limit`` (converged sizes; negative when the
        finite-N solution approaches the limit).
    unconverged : tuple of int
        The sizes whose solve did not converge (a property); they are excluded from every
        exponent fit and named in ``notes``.
    """

    Ns: np.ndarray
    results: tuple
    converged: np.ndarray
    mean_rate: np.ndarray
    mu_slope: np.ndarray
    mu_spread: np.ndarray
    fraction_silent: np.ndarray
    fraction_saturated: np.ndarray
    imbalance: np.ndarray
    rate_indegree_slope: np.ndarray
    exponent_mu_slope: np.ndarray
    exponent_mu_spread: np.ndarray
    exponent_silent: np.ndarray
    exponent_imbalance: np.ndarray
    feasibility: FeasibilityResult
    notes: tuple
    limit: SemiBalancedResult | None = None
    distance_to_limit: np.ndarray | None = None
    exponent_distance_to_limit: np.ndarray | None = None

    @property
    def unconverged(self) -> tuple:
        """The sizes N whose solve did not converge (excluded from the fits)."""
        return tuple(int(N) for N, c in zip(self.Ns, self.converged) if not c)

    def moments(self, f=None) -> np.ndarray:
        """:math:`E_t[f(t) r_a(t)]` at every N, shape (k, 2), Hz (see ``MeanFieldResult.expect``)."""
        return np.array([[res.expect(a, f) for a in POPULATIONS] for res in self.results])

    def table(self) -> str:
        """Return a plain-text table of the diagnostics, one line per N."""
        head = (f"{'N':>10} {'conv':>5} {'rate_E':>8} {'rate_I':>8} {'slope_mu_E':>11} "
                f"{'spread_mu_E':>11} {'silent_E':>9} {'silent_I':>9} {'imbal_E':>9}")
        rows = [head]
        for k, N in enumerate(self.Ns):
            rows.append(f"{int(N):>10} {str(bool(self.converged[k])):>5} "
                        f"{self.mean_rate[k, 0]:>8.4g} {self.mean_rate[k, 1]:>8.4g} "
                        f"{self.mu_slope[k, 0]:>11.4g} {self.mu_spread[k, 0]:>11.4g} "
                        f"{self.fraction_silent[k, 0]:>9.4f} {self.fraction_silent[k, 1]:>9.4f} "
                        f"{self.imbalance[k, 0]:>9.3g}")
        rows.append("exponents (E, I): mu_slope " + _fmt2(self.exponent_mu_slope)
                    + ", mu_spread " + _fmt2(self.exponent_mu_spread)
                    + ", silent " + _fmt2(self.exponent_silent)
                    + ", imbalance " + _fmt2(self.exponent_imbalance))
        rows.append(f"condition (B): {'feasible' if self.feasibility.feasible else 'infeasible'}"
                    f" (relative residual {self.feasibility.residual:.3g})")
        if self.distance_to_limit is not None:
            rows.append("distance to the semi-balanced limit (E, Hz): "
                        + ", ".join(f"{d:.3g}" for d in self.distance_to_limit[:, 0])
                        + "; exponents (E, I) " + _fmt2(self.exponent_distance_to_limit)
                        + f"; limit mean rates {self.limit.mean_rate[0]:.4g}, "
                        f"{self.limit.mean_rate[1]:.4g} Hz")
        rows.extend(self.notes)
        return "\n".join(rows)


def _fmt2(x) -> str:
    return "(" + ", ".join("nan" if not np.isfinite(v) else f"{v:+.3f}" for v in x) + ")"


def scan_N(params: NetworkParams, model: DegreeModel | None = None, Ns=None, *,
           strict: bool = False, **solve_kwargs) -> ScanResult:
    r"""Solve along an N-ladder and fit how the balance diagnostics scale with N.

    Parameters
    ----------
    params : NetworkParams
        j, p, q and the neurons (kept fixed: the balanced scaling).
    model : DegreeModel, optional
        Default ``DegreeModel.homogeneous()``.
    Ns : sequence of int, optional
        Network sizes, each >= 10, at least two distinct; default 10^3 ... 10^7 (9 sizes,
        two per decade).
    strict : bool
        Raise ``ConvergenceError`` when any N does not converge (otherwise that N is kept,
        flagged in ``converged``, and excluded from the exponent fits).
    **solve_kwargs
        Passed to ``solve`` (``filter``, ``n``, ``tol``, ``silent_rate``,
        ``saturated_rate``, ...).

    Returns
    -------
    ScanResult

    Raises
    ------
    ValueError
        Fewer than two sizes, a size < 10; anything ``solve`` raises.
    ConvergenceError
        With ``strict=True``.

    Notes
    -----
    Each N is solved by ``solve``, started from the previous N's solution (then from the
    balanced limit). Exponents: least squares of :math:`\log|x|` on :math:`\log N` over the
    converged sizes where the diagnostic is non-zero:

    - ``exponent_mu_slope``: slope of mu against the label (0 when balanced, 1/2 when not);
    - ``exponent_mu_spread``: spread of mu across labels (same);
    - ``exponent_silent``: silent fraction (NaN when it is 0 at every N);
    - ``exponent_imbalance``: the O(sqrt N) bracket of (B) (-1/2 when balanced, 0 when not);
    - ``exponent_distance_to_limit``: distance of the profile to the semi-balanced limit
      (``semi_balanced``, same grid; about -1/2 when balanced, slower when broken).

    Exponents are fits over a finite ladder, not limits: a profile that converges slowly
    (e.g. Case C with labels on [0.2, 1.8] and c = 0.5, docs/theory.md section 7) shows an
    apparent exponent between the two regimes.

    Examples
    --------
    >>> from meanfield import DegreeModel, NetworkParams
    >>> p = NetworkParams.preset("brunel_lif")
    >>> s = scan_N(p, DegreeModel.recurrent_indegree("normal", 0.15, support=(0.6, 1.4)),
    ...            [10**4, 10**5, 10**6])
    >>> bool(0.4 < s.exponent_mu_slope[0] < 0.6)
    True
    """
    params = check_network_params(params)
    model = resolve_model(model)
    if Ns is None:
        Ns = np.round(np.geomspace(1e3, 1e7, 9)).astype(int)
    Ns = [check_int(f"Ns[{i}]", N, lo=10) for i, N in enumerate(list(Ns))]
    if len(set(Ns)) < 2:
        raise ValueError(f"Ns = {Ns!r}; allowed: at least two distinct sizes >= 10")
    Ns = sorted(set(Ns))
    results, prev = [], None
    for N in Ns:
        res = solve(params, model, N, initial=prev, strict=False, **solve_kwargs)
        if strict and not res.converged:
            raise ConvergenceError(f"scan_N: N = {N} did not converge: {res.message}", res)
        results.append(res)
        if res.converged:
            prev = res
    conv = np.array([r.converged for r in results])

    def stack(name):
        return np.array([getattr(r, name) for r in results])

    mean_rate, mu_slope, mu_spread = stack("mean_rate"), stack("mu_slope"), stack("mu_spread")
    silent, saturated = stack("fraction_silent"), stack("fraction_saturated")
    imbalance, ri_slope = stack("imbalance"), stack("rate_indegree_slope")
    Narr = np.array(Ns, float)
    notes = []
    if not conv.all():
        notes.append("not converged (excluded from the fits): N = "
                     + ", ".join(str(N) for N, c in zip(Ns, conv) if not c))

    def fit(name, arr):
        out = np.array([fit_exponent(Narr[conv], arr[conv, a]) for a in (0, 1)])
        for a, pop in enumerate(POPULATIONS):
            if not np.isfinite(out[a]):
                notes.append(f"exponent of {name} for {pop} is undefined (fewer than two "
                             f"converged sizes with a non-zero value)")
        return out

    exps = {k: fit(k, v) for k, v in (("mu_slope", mu_slope), ("mu_spread", mu_spread),
                                      ("silent", silent), ("imbalance", imbalance))}
    nodes = solve_kwargs.get("n_nodes", solve_kwargs.get("n"))
    feas = balance_feasibility(params, model, n_nodes=nodes)
    limit = semi_balanced(params, model, n_nodes=nodes)
    dist = np.array([limit.distance(r.rate) if c else np.full(2, np.nan)
                     for r, c in zip(results, conv)])
    exps["distance_to_limit"] = fit("distance_to_limit", dist)
    if not limit.success:
        notes.append(f"semi-balanced limit: {limit.message}")
    return ScanResult(Ns=Narr.astype(np.int64), results=tuple(results), converged=conv,
                      mean_rate=mean_rate, mu_slope=mu_slope, mu_spread=mu_spread,
                      fraction_silent=silent, fraction_saturated=saturated,
                      imbalance=imbalance, rate_indegree_slope=ri_slope,
                      exponent_mu_slope=exps["mu_slope"], exponent_mu_spread=exps["mu_spread"],
                      exponent_silent=exps["silent"], exponent_imbalance=exps["imbalance"],
                      feasibility=feas, notes=tuple(notes), limit=limit,
                      distance_to_limit=dist,
                      exponent_distance_to_limit=exps["distance_to_limit"])



"""Fig 2: correlated in/out-degrees restore balance; highly connected neurons spike less.

Case C of docs/theory.md section 7.2: m(t, t') = t t' + c (t - 1)(t' - 1), c = 3, labels uniform
on [0.5, 1.5], homogeneous external input; preset ``akil2021_lif``.
"""

from __future__ import annotations

import numpy as np

from meanfield import DegreeModel, NetworkParams, balanced_rates
from meanfield.degree_space import solve
from validation import sweep

from ._ladder import (_theory_cov, agreement_claims, eif_claims, eif_panel, eif_report,
                      feasibility_of, ladder_panels, ladder_settings, run_point)
from .claims import Claim, exponent_claim, with_theory

PRESET = "akil2021_lif"
MODEL = DegreeModel.assortative(c=3.0, support=(0.5, 1.5)).spec


THEORY_LADDER = (10**5, 10**6, 10**7)
"""Sizes at which the degree-space theory alone (no simulation) shows the large-N limit."""


def theory_ladder(model_spec: dict, Ns=THEORY_LADDER, preset: str = PRESET) -> list:
    """Degree-space theory at large N: Cov(t, r) per population (Hz) and convergence.

    Cheap (a solve takes well under a second), so it reaches N = 10^7 where the
    simulations stop at 10^4 (quick) or 4 x 10^4 (full).
    """
    out = []
    for N in Ns:
        th = solve(NetworkParams.preset(preset, N=int(N)), DegreeModel.from_spec(model_spec))
        out.append({"N": int(N), "preset": preset, "model": model_spec,
                    "converged": bool(th.converged), "th_residual": float(th.residual),
                    "th_cov_label_rate": _theory_cov(th)})
    return out


def compute(quick: bool = False, *, seed: int = 0, executor="serial", cache_dir=None) -> dict:
    """Simulate Case C on the N-ladder, with its theory and the theory ladder to larger N.

    Parameters
    ----------
    quick : bool
        Reduced sizes and durations (``ladder_settings``).
    seed : int
        Whole-point seed (network and noise).
    executor, cache_dir
        As in ``validation.sweep``.

    Returns
    -------
    dict
        The points, the EIF point, the feasibility of (B), ``c``, the balanced rates ``R``
        (Hz) and the theory ladder.
    """
    s = ladder_settings(quick)
    pts = [dict(preset=PRESET, model_spec=MODEL, N=N, T=s["T"], burn_in=s["burn_in"], seed=seed)
           for N in s["Ns"]]
    eif = [dict(pts[0], preset="akil2021", N=10000)]
    res = sweep(run_point, pts + eif, executor=executor, cache_dir=cache_dir)
    return {"quick": quick, "settings": s, "points": res.results[:-1], "eif": res.results[-1],
            "feasible": feasibility_of(PRESET, MODEL), "c": float(MODEL["c"]),
            "R": balanced_rates(NetworkParams.preset(PRESET)), "theory_ladder": theory_ladder(MODEL)}


def plot(data):
    """Draw the Case C ladder panels and the EIF panel from ``compute``'s data."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    ladder_panels(axes[:3], data["points"], "Case C (c = 3, t ~ U[0.5, 1.5])")
    eif_panel(axes[3], data["eif"])
    fig.suptitle("Fig 2: assortative in/out-degrees restore balance; highly connected neurons "
                 "spike less (akil2021_lif)", fontsize=10)
    fig.tight_layout()
    return fig


CLAIM_IDS = ("fig2.feasible", "fig2.agree_E", "fig2.agree_I", "fig2.slope_exponent_E",
             "fig2.slope_exponent_I", "fig2.spread_exponent_E", "fig2.spread_exponent_I",
             "fig2.connected_spike_less", "fig2.profile_converges", "fig2.cov_E", "fig2.cov_I",
             "fig2.cov_matches_theory_E", "fig2.cov_matches_theory_I", "fig2.cov_theory_limit",
             "fig2.eif_rate_E", "fig2.eif_rate_I", "fig2.eif_agree_E", "fig2.eif_agree_I")
"""Ids of the claims ``check_claims`` returns, in order (pinned by tests/test_claims.py)."""

EIF_RATE_BAR = 0.05
"""Relative bar of the EIF population mean rates in Case C (issue 10)."""

COV_FACTOR = 2.0
"""Bar of ``fig2.cov_E``/``_I`` at the largest simulated N: Cov(t, r) / (-R/c) within
[1/2, 2]. Cov(t, r) = -R/c is a large-N statement; at finite N the theory itself deviates
(ratio 1.62 / 1.47 for E and 0.71 / 0.87 for I at N = 10^4 / 4 x 10^4, moving to 1.05 /
1.00 at N = 10^7; ``fig2.cov_theory_limit`` checks that limit), so the simulation is held
to the same factor-2 band plus its own 2 SE. ``fig2.cov_matches_theory_*`` then holds the
simulated covariance to the finite-N theory within max(20 %, 3 SE)."""

COV_LIMIT_TOL = 0.1
"""Bar of ``fig2.cov_theory_limit``: at N = 10^7 the theory's Cov(t, r) is within 10 % of
-R/c (measured 4.8 % for E, 0.4 % for I: the correction decays like N^-1/2 ... N^-0.4)."""


def _profile_distances(points, a: int) -> list:
    """RMS over labels (theory weights) of r_N'(t) - r_N(t) between successive ladder N, Hz."""
    out = []
    for p, q in zip(points[:-1], points[1:]):
        x0, y0, w0 = (np.asarray(p[k][a], float) for k in ("th_label", "th_rate", "th_weights"))
        x1, y1, w1 = (np.asarray(q[k][a], float) for k in ("th_label", "th_rate", "th_weights"))
        o = np.argsort(x1[w1 > 0])
        y1_at = np.interp(x0, x1[w1 > 0][o], y1[w1 > 0][o])
        out.append(float(np.sqrt(np.sum(w0 * (y1_at - y0) ** 2) / np.sum(w0))))
    return out


def check_claims(data) -> list:
    """Judge the claims of Case C (docs/theory.md section 7.2), each a ``Claim``; ids ``CLAIM_IDS``.

    Exponents are judged by ``claims.exponent_claim`` (target 0: mean inputs stay O(1));
    "spike less" is the sign of the rank correlation of label and rate, judged at 3 SE (its
    size, about -0.5, is set by the spread of mean inputs within a label, about as large as
    the label-driven one, which the degree-space theory leaves out: through Poisson counts
    alone its profile would give -0.88; the size of the effect is judged by the
    covariance claims);
    Cov(t, r) is the covariance of label and rate across the simulated neurons, against
    -R/c with R = -W^-1 X the balanced-limit rates (``COV_FACTOR``) and against the
    finite-N theory; the profile claim uses the theory along the ladder. Claims that use
    theory numbers FAIL where it did not converge.
    """
    pts = data["points"]
    at10k = next(p for p in pts if p["N"] == 10000)
    top = max(pts, key=lambda p: p["N"])
    c, R = float(data["c"]), np.asarray(data["R"], float)
    claims = [Claim("fig2.feasible", "condition (B) is feasible on the label grid (linear program)",
                    data["feasible"])]
    claims += agreement_claims(at10k, "Case C", "fig2")
    for pop in ("E", "I"):
        claims.append(exponent_claim(f"fig2.slope_exponent_{pop}",
                                     "slope of the recorded net mean input vs label", pts, pop,
                                     "net_input_slope", 0.0))
    for pop in ("E", "I"):
        claims.append(exponent_claim(f"fig2.spread_exponent_{pop}",
                                     "spread of the recorded mean inputs across label bins", pts,
                                     pop, "net_input_label_spread", 0.0))
    rho = at10k["E"]["spearman"]
    n = int(np.sum(at10k["E"]["count"]))
    rho_se = float(np.sqrt(1.06 / max(n - 3, 1)))
    claims.append(Claim("fig2.connected_spike_less",
                        f"N=10000: highly connected E neurons spike less: Spearman rho of label "
                        f"and rate {rho:.3f} +/- {rho_se:.3f} over {n} neurons (bar: rho + 3 SE "
                        f"< 0; SE sqrt(1.06/(n - 3)), Fieller et al. 1957)",
                        rho + 3 * rho_se < 0))
    dist = [_profile_distances(pts, a) for a in (0, 1)]
    shrinks = all(len(d) >= 2 and all(b < a for a, b in zip(d[:-1], d[1:])) for d in dist)
    claims.append(with_theory(
        "fig2.profile_converges",
        "the theory's rate-vs-label profile moves less at each step of N (RMS change between "
        "successive N: E " + " -> ".join(f"{x:.3f}" for x in dist[0]) + " Hz, I "
        + " -> ".join(f"{x:.3f}" for x in dist[1]) + " Hz)", shrinks, pts))
    target = -R / c
    for a, pop in enumerate(("E", "I")):
        cov, se = top[pop]["cov_label_rate"], top[pop]["cov_label_rate_se"]
        ratio, ratio_se = cov / target[a], se / abs(target[a])
        ok = (ratio_se <= 0.1 and 1 / COV_FACTOR - 2 * ratio_se <= ratio <= COV_FACTOR + 2 * ratio_se)
        claims.append(with_theory(
            f"fig2.cov_{pop}",
            f"N={top['N']}: simulated Cov(t, r_{pop}) = {cov:.3f} +/- {se:.3f} Hz against the "
            f"large-N -R_{pop}/c = {target[a]:.3f} Hz (R = -W^-1 X, c = {c:g}): ratio "
            f"{ratio:.2f} +/- {ratio_se:.2f}, bar [1/{COV_FACTOR:g}, {COV_FACTOR:g}] +/- 2 SE "
            f"(a finite-N band: the theory's ratio here is "
            f"{top['th_cov_label_rate'][a] / target[a]:.2f})", ok, [top]))
    for a, pop in enumerate(("E", "I")):
        cov, se = top[pop]["cov_label_rate"], top[pop]["cov_label_rate_se"]
        th = float(top["th_cov_label_rate"][a])
        ok = abs(cov - th) <= max(0.2 * abs(th), 3 * se)
        claims.append(with_theory(
            f"fig2.cov_matches_theory_{pop}",
            f"N={top['N']}: simulated Cov(t, r_{pop}) {cov:.3f} +/- {se:.3f} Hz within max(20%, "
            f"3 SE) of the finite-N theory's {th:.3f} Hz ({100 * (cov / th - 1):+.1f}%)", ok, [top]))
    lad = data["theory_ladder"]
    ratios = np.array([np.asarray(t["th_cov_label_rate"], float) / target for t in lad])
    dev = np.abs(ratios - 1)
    ok = bool(np.all(dev[-1] <= COV_LIMIT_TOL) and np.all(np.diff(dev, axis=0) < 0))
    claims.append(with_theory(
        "fig2.cov_theory_limit",
        "theory: Cov(t, r) / (-R/c) -> 1 as N grows (N = " + ", ".join(f"{t['N']:.0e}" for t in lad)
        + ": E " + ", ".join(f"{r:.3f}" for r in ratios[:, 0]) + "; I "
        + ", ".join(f"{r:.3f}" for r in ratios[:, 1])
        + f"; bar: |ratio - 1| shrinking and <= {COV_LIMIT_TOL:g} at the largest N)", ok, lad))
    claims += eif_claims(data["eif"], "Case C", "fig2", EIF_RATE_BAR)
    return claims


def report(data) -> list:
    """Measured numbers shown but not judged: the EIF preset's worst bin and no-spike fractions."""
    return eif_report(data["eif"], "Case C")

"""Fig 3: the counter-example (Case A) and the crossover sqrt(K) CV ~ 1 (Landau et al. 2016).

Left: all in-degrees (E, I and X) scale with the label (Case A): balance holds, and the rate
may rise with in-degree because the input variance grows too. Right: Case B theory over
(N, in-degree CV): spread of mean inputs across neurons in units of the input noise
sigma, with the line sqrt(K) CV = 1 (K = K_EE + K_EI, the recurrent in-degree).
"""

from __future__ import annotations

import numpy as np

from meanfield import DegreeModel, NetworkParams
from meanfield.degree_space import solve
from validation import sweep

from ._ladder import agreement_claims, feasibility_of, run_point
from .claims import Claim, with_theory

PRESET = "akil2021_lif"
CASE_A = DegreeModel.all_indegree("gamma", 0.2).spec


def crossover_index(N: int, cv: float) -> dict:
    """Case B theory at (N, cv): std of mu across labels over the mean sigma (E)."""
    p = NetworkParams.preset(PRESET, N=int(N))
    res = solve(p, DegreeModel.recurrent_indegree("gamma", float(cv), n_nodes=48))
    w = res.weights[0]
    return {"N": int(N), "cv": float(cv), "index": float(res.mu_spread[0] / np.sum(w * res.sigma[0])),
            "converged": bool(res.converged), "K": float(p.K[0, 0] + p.K[0, 1])}


def crossover_cv(Ns, cvs, index) -> np.ndarray:
    """Per N, the CV at which the index crosses 1 (log-log interpolation; NaN if it does not)."""
    out = np.full(len(Ns), np.nan)
    for i in range(len(Ns)):
        li = np.log(index[i])
        k = np.flatnonzero((li[:-1] < 0) & (li[1:] >= 0))
        if k.size:
            j = k[0]
            f = -li[j] / (li[j + 1] - li[j])
            out[i] = np.exp(np.log(cvs[j]) + f * (np.log(cvs[j + 1]) - np.log(cvs[j])))
    return out


def compute(quick: bool = False, *, seed: int = 0, executor="serial", cache_dir=None) -> dict:
    """Simulate Case A and compute the Case B crossover index over (N, in-degree CV).

    Parameters
    ----------
    quick : bool
        Fewer sizes, a coarser (N, CV) grid and shorter runs.
    seed : int
        Whole-point seed (network and noise) of the Case A points.
    executor, cache_dir
        As in ``validation.sweep``.

    Returns
    -------
    dict
        The Case A points and the crossover grid (``Ns``, ``cvs``, ``index``, ``K``).
    """
    T, burn = (2.0, 0.5) if quick else (6.0, 1.0)
    Ns_A = [10000] if quick else [10000, 40000]
    pts = [dict(preset=PRESET, model_spec=CASE_A, N=N, T=T, burn_in=burn, seed=seed) for N in Ns_A]
    case_a = sweep(run_point, pts, executor=executor, cache_dir=cache_dir).results
    Ns = np.logspace(3, 6, 7 if quick else 13).round().astype(int)
    cvs = np.logspace(-2.5, -0.5, 7 if quick else 13)
    grid = [crossover_index(N, cv) for N in Ns for cv in cvs]
    index = np.array([g["index"] for g in grid]).reshape(len(Ns), len(cvs))
    K = np.array([g["K"] for g in grid]).reshape(len(Ns), len(cvs))[:, 0]
    conv = all(g["converged"] for g in grid)
    unconverged = [(g["N"], g["cv"]) for g in grid if not g["converged"]]
    cv_star = crossover_cv(Ns, cvs, index)
    ok = np.isfinite(cv_star)
    slope = float(np.polyfit(np.log(Ns[ok]), np.log(cv_star[ok]), 1)[0]) if ok.sum() >= 2 else np.nan
    return {"quick": quick, "case_a": case_a, "Ns": Ns, "cvs": cvs, "index": index, "K": K,
            "cv_star": cv_star, "cv_star_slope": slope,
            "sqrtK_cv_star": float(np.nanmedian(np.sqrt(K) * cv_star)),
            "crossover_converged": conv, "crossover_unconverged": unconverged,
            "feasible_A": feasibility_of(PRESET, CASE_A)}


def plot(data):
    """Draw the Case A panel and the crossover map with the line sqrt(K) CV = 1."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    for p in data["case_a"]:
        x, y, w = p["th_label"][0], p["th_rate"][0], p["th_weights"][0]
        o = np.argsort(x[w > 0])
        ax.plot(x[w > 0][o], y[w > 0][o], "-", label=f"theory N = {p['N']}")
        ax.errorbar(p["E"]["label_mean"], p["E"]["sim_rate"], yerr=p["E"]["sim_se"], fmt="o", ms=3,
                    label=f"simulation N = {p['N']}")
    ax.set_xlabel("in-degree label t (E, I and X in-degrees scale together)")
    ax.set_ylabel("E rate (Hz)")
    ax.set_title("Case A: balance holds; rate vs in-degree", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1]
    pcm = ax.pcolormesh(data["cvs"], data["Ns"], data["index"], norm=LogNorm(), shading="nearest")
    fig.colorbar(pcm, ax=ax, label="std(mu) / sigma across labels (E)")
    ax.contour(data["cvs"], data["Ns"], data["index"], levels=[1.0], colors="w")
    ax.plot(1 / np.sqrt(data["K"]), data["Ns"], "r--", label="sqrt(K) CV = 1")
    c = data["sqrtK_cv_star"]
    ax.plot(c / np.sqrt(data["K"]), data["Ns"], "r:", label=f"sqrt(K) CV = {c:.1f} (fitted crossover)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("in-degree CV")
    ax.set_ylabel("N")
    ax.set_title("Case B theory: crossover (white: index = 1)", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    fig.suptitle("Fig 3: counter-example and crossover (akil2021_lif)", fontsize=10)
    fig.tight_layout()
    return fig


CLAIM_IDS = ("fig3.feasible_A", "fig3.sign_A", "fig3.agree_E", "fig3.agree_I", "fig3.crossover")
"""Ids of the claims ``check_claims`` returns, in order (pinned by tests/test_claims.py)."""


def check_claims(data) -> list:
    """Judge the claims of Case A and the crossover, each a ``Claim``; ids ``CLAIM_IDS``.

    Claims that use theory numbers FAIL where it did not converge (the Case A point, or
    the (N, CV) points of the crossover grid, named).
    """
    claims = [Claim("fig3.feasible_A", "Case A: condition (B) is feasible (balance holds)",
                    data["feasible_A"])]
    p = data["case_a"][0]
    sign_th, sign_sim = np.sign(p["E"]["theory_slope"]), np.sign(p["E"]["sim_slope"])
    claims.append(with_theory(
        "fig3.sign_A",
        f"Case A N={p['N']}: d rate / d in-degree has sign {int(sign_th):+d} in theory "
        f"(slope {p['E']['theory_slope']:.2f} Hz/label) and {int(sign_sim):+d} in simulation "
        f"({p['E']['sim_slope']:.2f}) - a finding, either sign is allowed",
        sign_th == sign_sim and sign_th != 0, [p]))
    claims += agreement_claims(p, "Case A", "fig3")
    slope = data["cv_star_slope"]
    text = (f"the crossover CV* (mean-input spread = sigma) scales like N^{slope:.2f}, i.e. "
            f"sqrt(K) CV* = const (Landau et al.: exponent -0.5, bar [-0.6, -0.4]); here "
            f"sqrt(K) CV* = {data['sqrtK_cv_star']:.1f}: an O(1) prefactor of this preset")
    bad = data.get("crossover_unconverged", [])
    if bad or not data["crossover_converged"]:
        text += (" -- theory NOT CONVERGED at " + (", ".join(f"N={N}, CV={cv:.3g}" for N, cv in bad)
                                                    or "some grid point"))
    claims.append(Claim("fig3.crossover", text,
                        bool(-0.6 <= slope <= -0.4 and data["crossover_converged"] and not bad)))
    return claims

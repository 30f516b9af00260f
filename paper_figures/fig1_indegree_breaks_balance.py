"""Fig 1: heterogeneous recurrent in-degrees break balance (Case B, docs/theory.md section 7.1).

Preset ``akil2021_lif``, recurrent in-degree factor t ~ gamma (mean 1, CV 0.2) for E and I
sources, homogeneous external in-degree. Theory (degree-space ``solve``) against spiking
simulation on sampled graphs along an N-ladder with j, p, q fixed.
"""

from __future__ import annotations

import numpy as np

from meanfield import DegreeModel
from validation import sweep

from ._ladder import (agreement_claims, eif_panel, eif_report, exponent,
                      feasibility_of, ladder_panels, ladder_settings, run_point)

PRESET = "akil2021_lif"
MODEL = DegreeModel.recurrent_indegree("gamma", 0.2).spec
HOMOGENEOUS = DegreeModel.homogeneous().spec


def compute(quick: bool = False, *, seed: int = 0, executor="serial", cache_dir=None) -> dict:
    s = ladder_settings(quick)
    pts = [dict(preset=PRESET, model_spec=MODEL, N=N, T=s["T"], burn_in=s["burn_in"], seed=seed)
           for N in s["Ns"]]
    hom = [dict(p, model_spec=HOMOGENEOUS) for p in pts]
    eif = [dict(pts[0], preset="akil2021", N=10000)]
    # two more homogeneous points at N = 10^4: whole points (graph and noise) with seed + k
    seeds = [dict(hom[0], N=10000, seed=seed + k) for k in (1, 2)]
    res = sweep(run_point, pts + hom + seeds + eif, executor=executor, cache_dir=cache_dir)
    n = len(pts)
    hom_res = res.results[n:2 * n]
    return {"quick": quick, "settings": s, "points": res.results[:n],
            "homogeneous": hom_res, "eif": res.results[-1],
            "homogeneous_10k": [h for h in hom_res if h["N"] == 10000] + res.results[2 * n:2 * n + 2],
            "feasible": feasibility_of(PRESET, MODEL)}


def plot(data):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    ladder_panels(axes[:3], data["points"], "Case B (in-degree CV 0.2)", data["homogeneous"])
    eif_panel(axes[3], data["eif"])
    fig.suptitle("Fig 1: heterogeneous in-degrees break balance (akil2021_lif)", fontsize=10)
    fig.tight_layout()
    return fig


def check_claims(data) -> list:
    pts, hom = data["points"], data["homogeneous"]
    at10k = next(p for p in pts if p["N"] == 10000)
    claims = [("condition (B) is infeasible on the label grid (linear program)", not data["feasible"])]
    claims += agreement_claims(at10k, "Case B")
    claims.append((f"N=10000: rate falls with in-degree in simulation and theory (E slopes "
                   f"{at10k['E']['sim_slope']:.2f}, {at10k['E']['theory_slope']:.2f} Hz/label)",
                   at10k["E"]["sim_slope"] < 0 and at10k["E"]["theory_slope"] < 0))
    eE, eI = exponent(pts, "E", "net_input_slope"), exponent(pts, "I", "net_input_slope")
    claims.append((f"slope of recorded net mean input vs label grows like N^{eE:.2f} for E "
                   f"(bar [0.35, 0.65]; I: N^{eI:.2f})", 0.35 <= eE <= 0.65))
    higher = [p["E"]["fraction_silent"] > h["E"]["fraction_silent"] for p, h in zip(pts, hom)]
    pairs = ", ".join("%.3f vs %.3f" % (p["E"]["fraction_silent"], h["E"]["fraction_silent"])
                      for p, h in zip(pts, hom))
    claims.append((f"silent fraction of E above the homogeneous network at every N ({pairs})",
                   all(higher)))
    h10 = data["homogeneous_10k"]
    for pop in ("E", "I"):
        sim = np.mean([h[pop]["sim_mean_rate"] for h in h10])
        th = h10[0][pop]["theory_mean_rate"]
        claims.append((f"homogeneous N=10000, {len(h10)} graph seeds: {pop} rate {sim:.3f} Hz within "
                       f"10% of theory {th:.3f} Hz ({100 * (sim / th - 1):+.1f}%)", abs(sim / th - 1) <= 0.10))
    sil = [p["E"]["fraction_silent"] for p in pts]
    claims.append((f"silent fraction of E grows with N ({sil[0]:.3f} -> {sil[-1]:.3f})", sil[-1] > sil[0]))
    return claims


def report(data) -> list:
    """Measured numbers shown but not judged: the EIF preset (akil2021) at N = 10^4."""
    return eif_report(data["eif"], "Case B")

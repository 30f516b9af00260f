"""Fig 2: correlated in/out-degrees restore balance; highly connected neurons spike less.

Case C of docs/theory.md section 7.2: m(t, t') = t t' + c (t - 1)(t' - 1), c = 3, labels uniform
on [0.5, 1.5], homogeneous external input; preset ``akil2021_lif``.
"""

from __future__ import annotations

from meanfield import DegreeModel
from validation import sweep

from ._ladder import (agreement_claims, eif_panel, eif_report, exponent,
                      feasibility_of, ladder_panels, ladder_settings, run_point)

PRESET = "akil2021_lif"
MODEL = DegreeModel.assortative(c=3.0, support=(0.5, 1.5)).spec


def compute(quick: bool = False, *, seed: int = 0, executor="serial", cache_dir=None) -> dict:
    s = ladder_settings(quick)
    pts = [dict(preset=PRESET, model_spec=MODEL, N=N, T=s["T"], burn_in=s["burn_in"], seed=seed)
           for N in s["Ns"]]
    eif = [dict(pts[0], preset="akil2021", N=10000)]
    res = sweep(run_point, pts + eif, executor=executor, cache_dir=cache_dir)
    return {"quick": quick, "settings": s, "points": res.results[:-1], "eif": res.results[-1],
            "feasible": feasibility_of(PRESET, MODEL)}


def plot(data):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    ladder_panels(axes[:3], data["points"], "Case C (c = 3, t ~ U[0.5, 1.5])")
    eif_panel(axes[3], data["eif"])
    fig.suptitle("Fig 2: assortative in/out-degrees restore balance; highly connected neurons "
                 "spike less (akil2021_lif)", fontsize=10)
    fig.tight_layout()
    return fig


def check_claims(data) -> list:
    pts = data["points"]
    at10k = next(p for p in pts if p["N"] == 10000)
    claims = [("condition (B) is feasible on the label grid (linear program)", data["feasible"])]
    claims += agreement_claims(at10k, "Case C")
    eE, eI = exponent(pts, "E", "net_input_slope"), exponent(pts, "I", "net_input_slope")
    claims.append((f"slope of recorded net mean input vs label grows like N^{eE:.2f} for E "
                   f"(bar < 0.2; I: N^{eI:.2f})", eE < 0.2))
    rho = at10k["E"]["spearman"]
    claims.append((f"N=10000: highly connected E neurons spike less (Spearman rho {rho:.2f} < -0.5)",
                   rho < -0.5))
    return claims


def report(data) -> list:
    """Measured numbers shown but not judged: the EIF preset (akil2021) at N = 10^4."""
    return eif_report(data["eif"], "Case C")

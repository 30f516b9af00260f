"""Fig 1: heterogeneous recurrent in-degrees break balance (Case B, docs/theory.md section 7.1).

Preset ``akil2021_lif``, recurrent in-degree factor t ~ gamma (mean 1, CV 0.2) for E and I
sources, homogeneous external in-degree. Theory (degree-space ``solve``) against spiking
simulation on sampled graphs along an N-ladder with j, p, q fixed.
"""

from __future__ import annotations

import numpy as np

from meanfield import DegreeModel
from validation import sweep

from ._ladder import (agreement_claims, eif_claims, eif_panel, eif_report, feasibility_of,
                      ladder_panels, ladder_settings, run_point)
from .claims import Claim, exponent_claim, with_theory

PRESET = "akil2021_lif"
MODEL = DegreeModel.recurrent_indegree("gamma", 0.2).spec
HOMOGENEOUS = DegreeModel.homogeneous().spec
EIF_RATE_BAR = 0.04
"""Relative bar of the EIF population mean rates in Case B (issue 10)."""
NOSPIKE_BAR = 0.10
"""Absolute bar of the theory's no-spike fraction of E against the simulation (issue 10)."""


def compute(quick: bool = False, *, seed: int = 0, executor="serial", cache_dir=None) -> dict:
    """Simulate Case B and the homogeneous network on the N-ladder, with their theory.

    Parameters
    ----------
    quick : bool
        Reduced sizes and durations (``ladder_settings``).
    seed : int
        Whole-point seed (network and noise); extra homogeneous points use ``seed + k``.
    executor, cache_dir
        As in ``validation.sweep``.

    Returns
    -------
    dict
        The points, the homogeneous points, the EIF point and the feasibility of (B).
    """
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
    """Draw the Case B ladder panels and the EIF panel from ``compute``'s data."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    ladder_panels(axes[:3], data["points"], "Case B (in-degree CV 0.2)", data["homogeneous"])
    eif_panel(axes[3], data["eif"])
    fig.suptitle("Fig 1: heterogeneous in-degrees break balance (akil2021_lif)", fontsize=10)
    fig.tight_layout()
    return fig


CLAIM_IDS = ("fig1.infeasible", "fig1.agree_E", "fig1.agree_I", "fig1.rate_falls",
             "fig1.slope_exponent_E", "fig1.slope_exponent_I", "fig1.spread_exponent_E",
             "fig1.spread_exponent_I", "fig1.nospike_above_homogeneous",
             "fig1.nospike_excess_grows", "fig1.nospike_theory", "fig1.homogeneous_rate_E",
             "fig1.homogeneous_rate_I", "fig1.eif_rate_E", "fig1.eif_rate_I",
             "fig1.eif_agree_E", "fig1.eif_agree_I")
"""Ids of the claims ``check_claims`` returns, in order (pinned by tests/test_claims.py)."""


def _binomial_se(f, n):
    return np.sqrt(max(f * (1 - f), 0.0) / max(n, 1))


def check_claims(data) -> list:
    """Judge the claims of Case B (docs/theory.md section 7.1), each a ``Claim``; ids ``CLAIM_IDS``.

    Exponents of N are judged by ``claims.exponent_claim`` (target 1/2). "No spike" is
    counted in the measuring window (printed), compared between Case B and the homogeneous
    network at the same N and the same window; a fraction's SE is binomial,
    sqrt(f (1 - f) / n). Claims that use theory numbers FAIL where it did not converge.
    """
    pts, hom = data["points"], data["homogeneous"]
    at10k = next(p for p in pts if p["N"] == 10000)
    claims = [Claim("fig1.infeasible", "condition (B) is infeasible on the label grid (linear program)",
                    not data["feasible"])]
    claims += agreement_claims(at10k, "Case B", "fig1")
    claims.append(with_theory(
        "fig1.rate_falls",
        f"N=10000: rate falls with in-degree in simulation and theory (E slopes "
        f"{at10k['E']['sim_slope']:.2f}, {at10k['E']['theory_slope']:.2f} Hz/label)",
        at10k["E"]["sim_slope"] < 0 and at10k["E"]["theory_slope"] < 0, [at10k]))
    for pop in ("E", "I"):
        claims.append(exponent_claim(f"fig1.slope_exponent_{pop}",
                                     "slope of the recorded net mean input vs label", pts, pop,
                                     "net_input_slope", 0.5))
    for pop in ("E", "I"):
        claims.append(exponent_claim(f"fig1.spread_exponent_{pop}",
                                     "spread of the recorded mean inputs across label bins", pts,
                                     pop, "net_input_label_spread", 0.5))
    windows = sorted({float(p["window"]) for p in pts + hom})
    same_window = len(windows) == 1 and [p["N"] for p in pts] == [h["N"] for h in hom]
    win = (f"{windows[0]:g} s" if len(windows) == 1
           else "windows " + "/".join(f"{w:g}" for w in windows) + " s")
    excess, se = [], []
    for p, h in zip(pts, hom):
        fb, fh = p["E"]["no_spike_fraction"], h["E"]["no_spike_fraction"]
        excess.append(fb - fh)
        se.append(float(np.hypot(_binomial_se(fb, np.sum(p["E"]["count"])),
                                 _binomial_se(fh, np.sum(h["E"]["count"])))))
    pairs = ", ".join("%.3f vs %.3f" % (p["E"]["no_spike_fraction"], h["E"]["no_spike_fraction"])
                      for p, h in zip(pts, hom))
    claims.append(Claim(
        "fig1.nospike_above_homogeneous",
        f"fraction of E neurons with no spike in the {win} window above the homogeneous "
        f"network's (same N, same window) by more than 2 SE at every N ({pairs})",
        same_window and all(e > 2 * s for e, s in zip(excess, se))))
    grow_se = float(np.hypot(se[0], se[-1]))
    claims.append(Claim(
        "fig1.nospike_excess_grows",
        f"that excess grows with N: {excess[0]:.3f} -> {excess[-1]:.3f} (N = {pts[0]['N']} -> "
        f"{pts[-1]['N']}; by more than 2 SE = {2 * grow_se:.3f})",
        same_window and len(pts) >= 2 and excess[-1] - excess[0] > 2 * grow_se))
    th_ns = float(at10k["th_no_spike_fraction"][0])
    sim_ns = float(at10k["E"]["no_spike_fraction"])
    claims.append(with_theory(
        "fig1.nospike_theory",
        f"N=10000: the theory's fraction of E neurons with no spike in the {win} window "
        f"(zero_spike_fraction, spread within a label) {th_ns:.3f} is within {NOSPIKE_BAR} of "
        f"the simulation's {sim_ns:.3f}", abs(th_ns - sim_ns) <= NOSPIKE_BAR, [at10k]))
    h10 = data["homogeneous_10k"]
    for pop in ("E", "I"):
        sim = np.mean([h[pop]["sim_mean_rate"] for h in h10])
        th = h10[0][pop]["theory_mean_rate"]
        claims.append(with_theory(
            f"fig1.homogeneous_rate_{pop}",
            f"homogeneous N=10000, {len(h10)} graph seeds: {pop} rate {sim:.3f} Hz within 10% of "
            f"theory {th:.3f} Hz ({100 * (sim / th - 1):+.1f}%)", abs(sim / th - 1) <= 0.10, h10[:1]))
    claims += eif_claims(data["eif"], "Case B", "fig1", EIF_RATE_BAR)
    return claims


def report(data) -> list:
    """Measured numbers shown but not judged: the EIF preset's worst bin and no-spike fractions."""
    return eif_report(data["eif"], "Case B")

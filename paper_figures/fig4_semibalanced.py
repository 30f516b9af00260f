"""Fig 4: where balance breaks, in the limit: the semi-balanced state of Case B.

Preset ``akil2021_lif``, recurrent in-degree factor t uniform on [0.5, 1.5] (CV 0.289,
bounded support), homogeneous external input (Case B of docs/theory.md section 7.1). The
N -> infinity limit is the semi-balanced state (docs/theory.md section 11, computed by
``meanfield.semi_balanced``): only the lowest labels stay active, the ones below the
balanced label t* at the maximal rate 1/tau_ref, every other neuron is silenced by excess
inhibition, and the population means are R = -W^{-1} diag(1/t*) X (-> -W^{-1} X / t_min
as 1/tau_ref -> infinity). Panels: finite-N theory profiles on N = 10^3 ... 10^7 with
simulated label bins on the simulation ladder; the cumulative rate profile; the active
fraction, the mean rates and the distance to the limit against N.
"""

from __future__ import annotations

import numpy as np

from meanfield import DegreeModel, NetworkParams, balanced_rates, scan_N
from meanfield.scaling import fit_exponent
from validation import sweep

from ._ladder import ladder_settings, run_point
from .claims import Claim, with_theory

PRESET = "akil2021_lif"
SUPPORT = (0.5, 1.5)
MODEL = DegreeModel.recurrent_indegree("uniform", 0.5 / np.sqrt(3), support=SUPPORT).spec
ACTIVE_RATE = 1.0      # Hz: "active" means a rate above 1 Hz, in theory and in simulation


def _active(weights, rate) -> np.ndarray:
    return np.sum(weights * (rate > ACTIVE_RATE), axis=1)


def _rel_dist(mean, limit) -> float:
    """Relative Euclidean distance of the (E, I) mean rates to the limit's."""
    return float(np.linalg.norm(np.asarray(mean) - limit) / np.linalg.norm(limit))


def compute(quick: bool = False, *, seed: int = 0, executor="serial", cache_dir=None) -> dict:
    """Compute the semi-balanced limit, the finite-N theory ladder and the simulations.

    Parameters
    ----------
    quick : bool
        Fewer sizes and shorter runs.
    seed : int
        Whole-point seed (network and noise) of the simulated points.
    executor, cache_dir
        As in ``validation.sweep``.

    Returns
    -------
    dict
        The theory profiles, the limit, the simulated points and their distances to it.
    """
    params = NetworkParams.preset(PRESET)
    model = DegreeModel.from_spec(MODEL)
    Ns_th = [10**3, 10**4, 10**5, 10**6, 10**7] if quick else \
        np.round(np.geomspace(1e3, 1e7, 9)).astype(int).tolist()
    scan = scan_N(params, model, Ns_th)
    lim = scan.limit
    theory = [{"N": int(N), "label": r.label.copy(), "rate": r.rate.copy(),
               "weights": r.weights.copy(), "mean_rate": r.mean_rate.copy(),
               "active": _active(r.weights, r.rate), "converged": bool(r.converged),
               "th_residual": float(r.residual), "preset": PRESET, "model": MODEL}
              for N, r in zip(scan.Ns, scan.results)]
    bal = lim.active & ~lim.saturated
    tstar = np.array([lim.label[a][bal[a]][0] if bal[a].any() else np.nan for a in (0, 1)])
    s = ladder_settings(quick)
    pts = [dict(preset=PRESET, model_spec=MODEL, N=N, T=s["T"], burn_in=s["burn_in"], seed=seed)
           for N in s["Ns"]]
    sims = sweep(run_point, pts, executor=executor, cache_dir=cache_dir).results
    return {"quick": quick, "settings": s, "theory": theory,
            "distance": scan.distance_to_limit.copy(),
            "exponent_distance": scan.exponent_distance_to_limit.copy(),
            "limit": {"label": lim.label.copy(), "rate": lim.rate.copy(),
                      "weights": lim.weights.copy(), "mean_rate": lim.mean_rate.copy(),
                      "active": lim.active.copy(), "saturated": lim.saturated.copy(),
                      "bracket": lim.bracket.copy(), "active_fraction": lim.active_fraction.copy(),
                      "above_1hz": _active(lim.weights, lim.rate), "r_max": lim.r_max.copy(),
                      "tstar": tstar, "success": bool(lim.success), "unique": bool(lim.unique),
                      "feasible": bool(lim.feasible), "message": lim.message},
            "W": params.W.copy(), "X": params.X.copy(),
            "balanced": balanced_rates(params), "t_min": SUPPORT[0], "sims": sims}


def _fmt(x) -> str:
    return ", ".join(f"{v:.3g}" for v in x)


def plot(data):
    """Draw the profiles, the cumulative profile and the approach to the limit against N."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(16, 8.5))
    th, lim, sims = data["theory"], data["limit"], data["sims"]
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(th)))
    sim_colors = plt.cm.copper(np.linspace(0.15, 0.8, len(sims)))
    floor = 1e-2
    for a, pop in enumerate(("E", "I")):
        ax = axes[0, a]
        for p, c in zip(th, colors):
            keep = p["weights"][a] > 0
            ax.plot(p["label"][a][keep], np.maximum(p["rate"][a][keep], floor), color=c, lw=1.3,
                    label=f"theory N = {p['N']:.0e}")
        act = lim["active"][a] & (lim["weights"][a] > 0)
        ax.axvspan(data["t_min"], lim["label"][a][act].max(), color="red", alpha=0.25,
                   label=f"limit active set (t <= {lim['label'][a][act].max():.3f})")
        ax.plot(lim["label"][a][act], lim["rate"][a][act], "r^", ms=6,
                label="limit rates (1/tau_ref and the balanced label)")
        for p, c in zip(sims, sim_colors):
            d = p[pop]
            ax.errorbar(d["label_mean"], np.maximum(d["sim_rate"], floor), yerr=d["sim_se"], fmt="o",
                        ms=3, color=c, mfc="none", capsize=2, label=f"simulation N = {p['N']}")
        ax.set_yscale("log")
        ax.set_ylim(floor, 3e3)
        ax.set_xlabel("in-degree factor t")
        ax.set_ylabel(f"{pop} rate (Hz)")
        ax.set_title(f"{pop}: rate vs in-degree; red: the semi-balanced limit", fontsize=9)
        ax.legend(fontsize=6, ncol=2)
    ax = axes[0, 2]
    for p, c in zip(th, colors):
        o = np.argsort(p["label"][0])
        ax.plot(p["label"][0][o], np.cumsum((p["weights"][0] * p["rate"][0])[o]), color=c, lw=1.3,
                label=f"N = {p['N']:.0e}")
    o = np.argsort(lim["label"][0])
    ax.step(lim["label"][0][o], np.cumsum((lim["weights"][0] * lim["rate"][0])[o]), "r-", where="post",
            lw=2, label="limit")
    ax.set_xlabel("in-degree factor t")
    ax.set_ylabel("E rate carried by labels <= t (Hz)")
    ax.set_title("cumulative E profile: activity moves to the lowest in-degrees", fontsize=9)
    ax.legend(fontsize=7)

    Nth = np.array([p["N"] for p in th])
    Nsim = np.array([p["N"] for p in sims])
    ax = axes[1, 0]
    for a, (pop, col) in enumerate((("E", "C0"), ("I", "C3"))):
        ax.plot(Nth, [p["active"][a] for p in th], "-", color=col, label=f"{pop} theory (weight > 1 Hz)")
        ax.plot(Nsim, [p[pop]["fraction_above_1hz"] for p in sims], "o", color=col, mfc="none",
                label=f"{pop} simulation (neurons > 1 Hz)")
        ax.axhline(lim["above_1hz"][a], color=col, ls="--", lw=1, label=f"{pop} limit")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel("active fraction")
    ax.set_title("fraction of neurons above 1 Hz", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    for a, (pop, col) in enumerate((("E", "C0"), ("I", "C3"))):
        ax.plot(Nth, [p["mean_rate"][a] for p in th], "-", color=col, label=f"{pop} theory")
        ax.plot(Nsim, [p[pop]["sim_mean_rate"] for p in sims], "o", color=col, mfc="none",
                label=f"{pop} simulation")
        ax.axhline(lim["mean_rate"][a], color=col, ls="--", lw=1.5, label=f"{pop} limit (semi-balanced)")
        ax.axhline(data["balanced"][a] / data["t_min"], color=col, ls=":", lw=1,
                   label=f"{pop}: -W^-1 X / t_min")
    ax.set_xscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel("population mean rate (Hz)")
    ax.set_title("mean rates approach the semi-balanced limit", fontsize=9)
    ax.legend(fontsize=6)
    ax = axes[1, 2]
    dist, ex = data["distance"], data["exponent_distance"]
    for a, (pop, col) in enumerate((("E", "C0"), ("I", "C3"))):
        ax.plot(Nth, dist[:, a], "-o", color=col, ms=3,
                label=f"{pop} theory: earth-mover distance (N^{ex[a]:.2f})")
    rel_th = [_rel_dist(p["mean_rate"], lim["mean_rate"]) for p in th]
    rel_sim = [_rel_dist([p["E"]["sim_mean_rate"], p["I"]["sim_mean_rate"]], lim["mean_rate"]) for p in sims]
    ax.plot(Nth, rel_th, "k--", label=f"mean rates, theory: relative (N^{fit_exponent(Nth, rel_th):.2f})")
    ax.plot(Nsim, rel_sim, "ks", mfc="none", label="mean rates, simulation: relative")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel("distance to the limit (Hz; relative for mean rates)")
    ax.set_title("distance to the semi-balanced limit", fontsize=9)
    ax.legend(fontsize=7)
    for ax in axes[1]:
        ax.grid(alpha=0.3, which="both")
    fig.suptitle("Fig 4: the semi-balanced limit of Case B (akil2021_lif, in-degree factor "
                 "uniform on [0.5, 1.5]): highly connected neurons fall silent", fontsize=10)
    fig.tight_layout()
    return fig


CLAIM_IDS = ("fig4.limit_low_end_active", "fig4.limit_means", "fig4.active_fraction_falls",
             "fig4.distance_falls", "fig4.sim_active_fraction_falls", "fig4.sim_means_approach")
"""Ids of the claims ``check_claims`` returns, in order (pinned by tests/test_claims.py)."""


def check_claims(data) -> list:
    """Judge the claims of the semi-balanced limit, each a ``Claim``; ids ``CLAIM_IDS``.

    The limit's claims need ``semi_balanced`` to have succeeded; the theory-ladder claims
    FAIL, naming the point, where the finite-N theory did not converge.
    """
    th, lim, sims = data["theory"], data["limit"], data["sims"]
    claims = []
    lower = []
    for a in (0, 1):
        act, w, lab = lim["active"][a], lim["weights"][a] > 0, lim["label"][a]
        lower.append(bool(act[w].any() and (~act[w]).any() and lab[act & w].max() < lab[~act & w].min()))
    af = lim["active_fraction"]
    claims.append(Claim(
        "fig4.limit_low_end_active",
        f"the limit (semi_balanced: {'unique' if lim['unique'] else 'NOT unique'}) keeps "
                   f"only the low in-degree end active: E labels t <= "
                   f"{lim['label'][0][lim['active'][0]].max():.4f} (weight {af[0]:.4f}), I t <= "
                   f"{lim['label'][1][lim['active'][1]].max():.4f} (weight {af[1]:.4f}); every more "
                   f"highly connected neuron is silent",
                   bool(lim["success"] and lim["unique"] and not lim["feasible"] and all(lower)
                        and np.all(af < 0.05))))
    tstar = lim["tstar"]
    R = -np.linalg.solve(data["W"], data["X"] / tstar)
    ref = data["balanced"] / data["t_min"]
    claims.append(Claim(
        "fig4.limit_means",
        f"the limit's population means are -W^-1 diag(1/t*) X at the balanced labels "
                   f"t* = ({_fmt(tstar)}) = ({_fmt(lim['mean_rate'])}) Hz; the labels below t* fire "
                   f"at 1/tau_ref = {lim['r_max'][0]:.0f} Hz; -W^-1 X / t_min = ({_fmt(ref)}) Hz is the "
                   f"value without the rate bound",
                   bool(lim["success"] and np.allclose(lim["mean_rate"], R, rtol=1e-9)
                        and np.all(tstar - data["t_min"] < 0.02))))
    Nth = np.array([p["N"] for p in th])
    act = np.array([p["active"] for p in th])
    ea = [fit_exponent(Nth, act[:, a]) for a in (0, 1)]
    claims.append(with_theory(
        "fig4.active_fraction_falls",
        f"theory: the active fraction (weight of labels above 1 Hz) falls with N (never "
                   f"rises along the ladder): E {act[0, 0]:.3f} -> {act[-1, 0]:.3f} (N^{ea[0]:.2f}), I "
                   f"{act[0, 1]:.3f} -> {act[-1, 1]:.3f} (N^{ea[1]:.2f}), toward the limit's "
                   f"({_fmt(lim['above_1hz'])})",
                   bool(all(p["converged"] for p in th) and np.all(np.diff(act, axis=0) <= 0)
                        and np.all(act[-1] < act[0]) and max(ea) < 0), th))
    dist, ex = data["distance"], data["exponent_distance"]
    rel = np.array([_rel_dist(p["mean_rate"], lim["mean_rate"]) for p in th])
    er = fit_exponent(Nth, rel)
    claims.append(with_theory(
        "fig4.distance_falls",
        f"theory: the distance to the limit falls with N: earth-mover distance of the "
                   f"profiles E {dist[0, 0]:.3g} -> {dist[-1, 0]:.3g} Hz (N^{ex[0]:.2f}), I "
                   f"{dist[0, 1]:.3g} -> {dist[-1, 1]:.3g} Hz (N^{ex[1]:.2f}); relative distance of "
                   f"the mean rates {rel[0]:.3f} -> {rel[-1]:.3f} at every step (N^{er:.2f})",
                   bool(np.all(ex < 0) and np.all(dist[-1] < dist[0]) and np.all(np.diff(rel) < 0)), th))
    fa = np.array([p["E"]["fraction_above_1hz"] for p in sims])
    claims.append(Claim(
        "fig4.sim_active_fraction_falls",
        f"simulation: the fraction of E neurons above 1 Hz falls along the ladder "
                   f"N = {', '.join(str(p['N']) for p in sims)}: {_fmt(fa)}",
                   bool(np.all(np.diff(fa) < 0))))
    rs = np.array([_rel_dist([p["E"]["sim_mean_rate"], p["I"]["sim_mean_rate"]], lim["mean_rate"])
                   for p in sims])
    means = "; ".join(f"{p['E']['sim_mean_rate']:.2f}, {p['I']['sim_mean_rate']:.2f}" for p in sims)
    claims.append(Claim(
        "fig4.sim_means_approach",
        f"simulation: the mean rates (E, I: {means} Hz) move toward the limit "
                   f"({_fmt(lim['mean_rate'])}) Hz along the ladder: relative distance {_fmt(rs)}",
                   bool(np.all(np.diff(rs) < 0))))
    return claims


def report(data) -> list:
    """Numbers shown but not judged: the theory ladder and the simulation against theory."""
    th, lim = data["theory"], data["limit"]
    lines = [f"limit: {lim['message']}"]
    for p, d in zip(th, data["distance"]):
        lines.append(f"theory N={p['N']}: mean rates E {p['mean_rate'][0]:.3f}, "
                     f"I {p['mean_rate'][1]:.3f} Hz; active (> 1 Hz) E {p['active'][0]:.4f}, "
                     f"I {p['active'][1]:.4f}; distance to "
                     f"the limit E {d[0]:.3g}, I {d[1]:.3g} Hz")
    mE = [p["mean_rate"][0] for p in th]
    lines.append(f"the E mean rate alone is not monotone in N (theory {_fmt(mE)} Hz, limit "
                 f"{lim['mean_rate'][0]:.3g} Hz): the approach of the (E, I) means is carried by I")
    for p in data["sims"]:
        lines.append(f"simulation N={p['N']} (T = {p['T']:g} s): mean rates E {p['E']['sim_mean_rate']:.3f} "
                     f"(theory {p['E']['theory_mean_rate']:.3f}), I {p['I']['sim_mean_rate']:.3f} "
                     f"(theory {p['I']['theory_mean_rate']:.3f}) Hz; E above 1 Hz "
                     f"{p['E']['fraction_above_1hz']:.3f}, I {p['I']['fraction_above_1hz']:.3f}")
    return lines

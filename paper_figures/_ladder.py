"""Shared computation of the figures: theory and simulation at one point of an N-ladder.

``run_point`` returns a small dict of arrays (picklable, cacheable by ``sweep``); figure
modules only arrange and plot these dicts.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from graphs import sample_network
from meanfield import DegreeModel, NetworkParams, balanced_rates
from meanfield.feasibility import balance_feasibility
from meanfield.labels import quantile_bins
from meanfield.scaling import fit_exponent
from meanfield.degree_space import solve
from validation import simulate
from validation.comparison import compare, scalar_label

from .claims import with_theory


def ladder_settings(quick: bool) -> dict:
    """Return the N-ladder and durations of Figs 1 and 2: quick (CI) or full."""
    if quick:
        return {"Ns": [2500, 5000, 10000], "T": 2.0, "burn_in": 0.5}
    return {"Ns": [2500, 5000, 10000, 20000, 40000], "T": 6.0, "burn_in": 1.0}


def run_point(preset: str, model_spec: dict, N: int, T: float, burn_in: float, *, seed: int,
              n_bins: int = 10) -> dict:
    """Solve the theory, sample a graph, simulate it, and compare (one N-ladder point).

    ``seed`` goes to both ``sample_network`` and ``simulate`` (their independent streams
    "graph" and "noise", ``meanfield.seeding``), as from the command line.

    Returns a dict with the theory profile (``th_label``, ``th_rate``, ``th_mu``), whether
    the theory converged (``converged``, ``th_residual``), the balanced-limit rates ``R`` =
    -W^-1 X (Hz), the measuring window ``window`` = T - burn_in (s), and per population the
    binned comparison, slopes of rate and net mean input against the label, the spread of
    net mean inputs across neurons with its standard error, the covariance of label and
    rate across neurons with its standard error (``cov_label_rate``, Hz; the theory's in
    ``th_cov_label_rate``), the fraction of neurons with no spike in the window
    (``no_spike_fraction``; the theory's ``zero_spike_fraction(window)`` in
    ``th_no_spike_fraction``), mean rates with the standard error of the simulated one
    (``sim_mean_rate_se``, neuron to neuron), and the Spearman correlation of rate and label.

    The theory is ``solve(params, model, spread=True)``: the filtered-noise transfer
    (``filter="auto"``, docs/theory.md section 9) with the spread of mean input within a
    label and the self-consistent sub-Poisson factor of the recurrent input (section 10,
    ``fano="renewal"``, the default with the spread).
    """
    params = NetworkParams.preset(preset, N=N)
    model = DegreeModel.from_spec(model_spec)
    th = solve(params, model, spread=True)
    net = sample_network(params, model, seed=seed)
    sim = simulate(net, params, T=T, burn_in=burn_in, seed=seed, progress=False)
    cmp = compare(th, sim, net, n_bins=n_bins)
    label = scalar_label(net.label)
    out = {"N": N, "preset": preset, "model": model_spec, "T": T, "burn_in": burn_in,
           "seed": seed, "converged": bool(th.converged),
           "th_label": th.label.copy(), "th_rate": th.rate.copy(), "th_mu": th.mu.copy(),
           "th_weights": th.weights.copy(), "th_mean_rate": th.mean_rate.copy(),
           "th_mu_slope": th.mu_slope.copy(), "th_fraction_silent": th.fraction_silent.copy(),
           "th_residual": float(th.residual), "th_cov_label_rate": _theory_cov(th),
           "th_no_spike_fraction": th.zero_spike_fraction(sim.duration),
           "R": balanced_rates(params), "window": float(sim.duration),
           "sim_wall_time": float(sim.wall_time), "backend": sim.backend}
    for a, pc in enumerate(cmp.populations):
        p = pc.population
        idx = net.population == a
        rho = stats.spearmanr(label[idx], sim.rate[idx]).statistic if np.ptp(label[idx]) > 0 else np.nan
        cv = sim.cv[idx]
        cov, cov_se = _cov_se(label[idx], sim.rate[idx])
        net_input = np.asarray(sim.mean_input)[idx].sum(axis=1)
        out[p] = {
            "label_mean": pc.label_mean, "count": pc.count, "sim_rate": pc.sim_rate,
            "sim_se": pc.sim_se, "theory_rate": pc.theory_rate, "z": pc.z,
            "agree": pc.agreement(), "judged": pc.judged_bins(),
            "sim_slope": pc.sim_slope, "theory_slope": pc.theory_slope,
            "net_input_slope": pc.net_input_slope, "net_input_slope_se": pc.net_input_slope_se,
            "net_input_spread": pc.net_input_spread, "balance_index": pc.balance_index,
            "fraction_silent": pc.fraction_silent, "sim_mean_rate": pc.sim_mean_rate,
            "sim_mean_rate_se": float(np.std(sim.rate[idx], ddof=1) / np.sqrt(max(idx.sum(), 1))),
            "fraction_above_1hz": float(np.mean(sim.rate[idx] > 1.0)),
            "theory_mean_rate": pc.theory_mean_rate, "spearman": float(rho),
            "mean_input": pc.mean_input, "isi_cv": float(np.nanmean(cv)) if np.isfinite(cv).any() else np.nan,
            "net_input_spread_se": _std_se(net_input), "cov_label_rate": cov,
            **_label_spread(label[idx], net_input, n_bins),
            "cov_label_rate_se": cov_se,
            "no_spike_fraction": float(np.mean(np.asarray(sim.rate)[idx] == 0)),
        }
    return out


def _std_se(x) -> float:
    r"""Estimate the standard error of the standard deviation of ``x`` (delta method).

    Valid for any distribution.

    :math:`\mathrm{Var}(s^2) \approx (m_4 - s^4)/n`, so :math:`SE(s) = \sqrt{(m_4 - s^4)/n}/(2s)`
    with :math:`m_4` the fourth central moment (Gaussian x: :math:`s/\sqrt{2n}`).
    """
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size < 3:
        return float("nan")
    d = x - x.mean()
    s2 = float(np.mean(d * d))
    if s2 <= 0:
        return float("nan")
    m4 = float(np.mean(d**4))
    return float(np.sqrt(max(m4 - s2 * s2, 0.0) / x.size) / (2 * np.sqrt(s2)))


def _label_spread(t, x, n_bins: int) -> dict:
    r"""Spread of ``x`` across label bins (the label-driven part of the spread), with its SE.

    The bins are those of ``compare``: ``meanfield.labels.quantile_bins(t, n_bins)``.

    By the law of total variance, Var(x) = Var(E[x | bin]) + E[Var(x | bin)]: the second
    term is the O(1) spread within a label (realised in-degrees and presynaptic partners,
    docs/theory.md section 10), the first the spread the degree-space theory's ``mu_spread``
    describes. With bin fractions p_k, bin means m_k and within-bin variances v_k over
    n_k neurons, :math:`S^2 = \sum_k p_k (m_k - \bar m)^2 - \sum_k p_k (1 - p_k) v_k / n_k`
    (the second sum removes the noise of the bin means) and, by the delta method,
    :math:`SE(S) = \sqrt{\sum_k 4 p_k^2 (m_k - \bar m)^2 v_k / n_k} / (2 S)`.
    Returns ``net_input_label_spread`` and ``net_input_label_spread_se`` (units of x).
    """
    which, nb = quantile_bins(t, n_bins)
    n = np.bincount(which, minlength=nb).astype(float)
    ok = n >= 2
    m = np.bincount(which, weights=x, minlength=nb)[ok] / n[ok]
    v = (np.bincount(which, weights=x * x, minlength=nb)[ok] / n[ok] - m * m) * n[ok] / (n[ok] - 1)
    n = n[ok]
    p = n / n.sum()
    if p.size < 2:
        return {"net_input_label_spread": float("nan"), "net_input_label_spread_se": float("nan")}
    dev = m - np.sum(p * m)
    s2 = float(np.sum(p * dev * dev) - np.sum(p * (1 - p) * np.maximum(v, 0) / n))
    s = float(np.sqrt(max(s2, 0.0)))
    se = (float(np.sqrt(np.sum(4 * p * p * dev * dev * np.maximum(v, 0) / n)) / (2 * s)) if s > 0
          else float("nan"))
    return {"net_input_label_spread": s, "net_input_label_spread_se": se}


def _cov_se(t, r) -> tuple:
    r"""Covariance of label and rate across neurons, Hz, and its standard error.

    The covariance is the mean of :math:`d_j = (t_j - \bar t)(r_j - \bar r)`; its SE is
    :math:`\mathrm{sd}(d)/\sqrt n` (neurons independent to leading order).
    """
    t, r = np.asarray(t, float), np.asarray(r, float)
    if t.size < 3:
        return float("nan"), float("nan")
    d = (t - t.mean()) * (r - r.mean())
    return float(d.sum() / (t.size - 1)), float(d.std(ddof=1) / np.sqrt(t.size))


def _theory_cov(th) -> np.ndarray:
    """Cov(t, r) over the label distribution of the degree-space theory, (E, I), Hz."""
    w = th.weights
    tbar = np.sum(w * th.label, axis=1, keepdims=True)
    return np.sum(w * (th.label - tbar) * th.rate, axis=1)


def feasibility_of(preset: str, model_spec: dict) -> bool:
    """Condition (B) on the label grid (linear program): feasible or not."""
    return bool(balance_feasibility(NetworkParams.preset(preset), DegreeModel.from_spec(model_spec)).feasible)


def exponent(points: list, pop: str, key: str) -> float:
    """Fitted exponent of |points[i][pop][key]| against N (log-log least squares)."""
    Ns = np.array([p["N"] for p in points], float)
    vals = np.array([p[pop][key] for p in points], float)
    return float(fit_exponent(Ns, np.abs(vals)))


def ladder_panels(axes, points: list, title: str, homogeneous: list | None = None):
    """Draw the three standard panels: rate vs label per N, silent fraction vs N, slope vs N."""
    import matplotlib.pyplot as plt

    ax_rate, ax_silent, ax_slope = axes
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(points)))
    for p, c in zip(points, colors):
        x, y, w = p["th_label"][0], p["th_rate"][0], p["th_weights"][0]
        keep = w > 0
        order = np.argsort(x[keep])
        ax_rate.plot(x[keep][order], y[keep][order], color=c, lw=1.5, label=f"N = {p['N']}")
        E = p["E"]
        ax_rate.errorbar(E["label_mean"], E["sim_rate"], yerr=E["sim_se"], fmt="o", ms=3,
                         color=c, capsize=2)
    ax_rate.set_xlabel("degree label t")
    ax_rate.set_ylabel("E rate (Hz)")
    ax_rate.set_title(title + ": rate vs label\n(lines theory, dots simulation +/- SE)", fontsize=9)
    ax_rate.legend(fontsize=7)

    Ns = np.array([p["N"] for p in points])
    ax_silent.plot(Ns, [p["E"]["no_spike_fraction"] for p in points], "o-", label="E sim")
    ax_silent.plot(Ns, [p["I"]["no_spike_fraction"] for p in points], "s-", label="I sim")
    ax_silent.plot(Ns, [p["th_no_spike_fraction"][0] for p in points], "k--",
                   label="E theory (zero_spike_fraction)")
    if homogeneous:
        ax_silent.plot([h["N"] for h in homogeneous], [h["E"]["no_spike_fraction"] for h in homogeneous],
                       "x:", color="gray", label="E homogeneous sim")
    ax_silent.set_xscale("log")
    ax_silent.set_xlabel("N")
    ax_silent.set_ylabel(f"fraction with no spike in {points[0]['window']:g} s")
    ax_silent.legend(fontsize=7)

    for pop, mk in (("E", "o"), ("I", "s")):
        s = np.abs([p[pop]["net_input_slope"] for p in points])
        se = [p[pop]["net_input_slope_se"] for p in points]
        ax_slope.errorbar(Ns, s, yerr=se, fmt=mk + "-", label=f"{pop} sim (recorded input)")
    ax_slope.plot(Ns, np.abs([p["th_mu_slope"][0] for p in points]), "k--", label="E theory")
    s0 = abs(points[0]["E"]["net_input_slope"])
    ax_slope.plot(Ns, s0 * np.sqrt(Ns / Ns[0]), ":", color="gray", label="sqrt(N) guide")
    ax_slope.set_xscale("log")
    ax_slope.set_yscale("log")
    ax_slope.set_xlabel("N")
    ax_slope.set_ylabel("|d net mean input / d label| (mV)")
    ax_slope.legend(fontsize=7)
    for ax in (ax_silent, ax_slope):
        ax.set_xticks(Ns)
        ax.set_xticklabels([f"{n:g}" for n in Ns], fontsize=7)
        ax.xaxis.set_minor_formatter(plt.NullFormatter())


def agreement_claims(point: dict, label: str, fig: str, name: str = "agree") -> list:
    """Claims of the theory-vs-simulation bar at one ladder point (E and I).

    Ids ``{fig}.{name}_E`` and ``{fig}.{name}_I``. PASS iff at least one bin is judged (>= 200
    neurons, theory >= 1 Hz), every judged bin is within max(20 %, 0.5 Hz, 3 SE) of the
    theory, and the theory converged at this point.
    """
    claims = []
    for pop in ("E", "I"):
        d = point[pop]
        judged = np.asarray(d["judged"], bool)
        agree = np.asarray(d["agree"], bool)
        ok = bool(judged.any()) and bool(np.all(agree[judged]))
        zmax = np.nanmax(np.abs(np.asarray(d["z"], float)[judged])) if judged.any() else float("nan")
        claims.append(with_theory(
            f"{fig}.{name}_{pop}",
            f"{label} N={point['N']} {pop}: theory and simulation agree within max(20%, 0.5 Hz, "
            f"3 SE) in {int(np.sum(agree & judged))} of {int(judged.sum())} bins of >= 200 neurons "
            f"with theory rate >= 1 Hz (max |z| {zmax:.2f})", ok, [point]))
    return claims


def eif_panel(ax, point: dict):
    """Theory against simulation for the EIF preset at one N (E and I)."""
    for pop, c in (("E", "C0"), ("I", "C3")):
        i = 0 if pop == "E" else 1
        x, y, w = point["th_label"][i], point["th_rate"][i], point["th_weights"][i]
        keep = w > 0
        o = np.argsort(x[keep])
        ax.plot(x[keep][o], y[keep][o], "-", color=c, label=f"{pop} theory (filtered noise)")
        d = point[pop]
        ax.errorbar(d["label_mean"], d["sim_rate"], yerr=d["sim_se"], fmt="o", ms=3, color=c,
                    label=f"{pop} simulation")
    ax.set_xlabel("degree label t")
    ax.set_ylabel("rate (Hz)")
    ax.set_title(f"akil2021 (EIF, tau_s = 4-10 ms), N = {point['N']}", fontsize=9)
    ax.legend(fontsize=7)


def eif_claims(point: dict, label: str, fig: str, bar: float) -> list:
    """Claims of the EIF preset (``akil2021``) at one point: mean rates and label bins.

    Ids ``{fig}.eif_rate_E/I``: the simulated population mean rate within ``bar`` (relative;
    issue 10: 4 % for Case B, 5 % for Case C) of the theory, or within 3 SE of the
    simulated mean (neuron to neuron) where that is wider; ``{fig}.eif_agree_E/I``: the
    label bins as in ``agreement_claims``. All FAIL where the theory did not converge.
    """
    claims = []
    for pop in ("E", "I"):
        d = point[pop]
        sim, th = float(d["sim_mean_rate"]), float(d["theory_mean_rate"])
        se = float(d.get("sim_mean_rate_se", 0.0))
        tol = max(bar * th, 3.0 * se)
        ok = bool(np.isfinite(sim) and np.isfinite(th) and th > 0 and abs(sim - th) <= tol)
        claims.append(with_theory(
            f"{fig}.eif_rate_{pop}",
            f"{label}, akil2021 (EIF, filtered-noise theory with spread), N={point['N']} {pop}: "
            f"mean rate sim {sim:.3f} Hz vs theory {th:.3f} Hz ({100 * (sim / th - 1):+.1f}%), "
            f"bar max({100 * bar:.0f}%, 3 SE = {3 * se:.3f} Hz)", ok, [point]))
    claims += agreement_claims(point, f"{label}, akil2021 (EIF)", fig, name="eif_agree")
    return claims


def eif_report(point: dict, label: str) -> list:
    """Lines reporting the size of the theory-simulation gap for the EIF preset."""
    lines = []
    for pop in ("E", "I"):
        d = point[pop]
        judged = d["judged"]
        rel = np.abs(d["sim_rate"] - d["theory_rate"]) / np.maximum(d["theory_rate"], 1e-12)
        lines.append(f"{label}, preset akil2021 (EIF), N={point['N']} {pop}: largest relative "
                     f"gap of a judged bin "
                     f"{100 * (rel[judged].max() if judged.any() else float('nan')):.0f}%; no "
                     f"spike in the window: sim {d['no_spike_fraction']:.3f}, theory "
                     f"{point['th_no_spike_fraction'][0 if pop == 'E' else 1]:.3f}")
    return lines

"""Network-level accuracy of the degree-space theory against spiking simulation (issue 10).

For ``akil2021`` (EIF) and ``akil2021_lif`` (LIF) at N = 10^4 in three degree models --
homogeneous, Case B (``DegreeModel.recurrent_indegree("gamma", 0.2)``) and Case C
(``DegreeModel.assortative(c=3.0, support=(0.5, 1.5))``, as in Fig 2) -- it simulates 3
graph seeds (``seed`` = 1, 2, 3 passed to both ``sample_network`` and ``simulate``: the
one seeding policy) for 11 s and measures the last 10 s (1 s burn-in), then prints,
for every theory variant:

* population mean rates, theory against the seed-averaged simulation, with the relative
  error (issue 10 bar: 4 % homogeneous and Case B, 5 % Case C);
* ``zero_spike_fraction(10.0)`` of E against the fraction of simulated E neurons with no
  spike in the 10 s window (bar: 0.10 absolute);
* rate quantiles 10/50/90 % per population, theory (``rate_quantiles``) and simulation;
* the label bins of Cases B and C: every bin of >= 200 neurons whose theory rate is
  >= 1 Hz within max(10 %, 0.3 Hz, 3 SE) (``PopulationComparison.agreement``);
* the within-bin spread of the recorded net mean input against the theory's sigma_q.

Theory variants: the closed-form transfer of before issue 10 (Fourcaud-Brunel for
the LIF, white noise for the EIF), with ``spread=False`` and ``spread=True``; and the same
with the filtered-noise transfer (``filter="colored"``, what ``filter="auto"`` means since
issue 10). Every judged label bin outside the bar is printed.

Simulations are cached on disk (``validation.sweep`` with ``cache_dir``; default
``.cache/validate_network_accuracy`` under the current folder), so the theory side
re-runs in seconds. The first run simulates 6 cases x 3 seeds, one after another (numba
backend: about 10-30 s each on an idle core).

Run:  python benchmarks/validate_network_accuracy.py [--cache-dir DIR] [--simulate-only]
      [--seeds 1 2 3] [--N 10000] [--T 10] [--burn-in 1] [--neuron-level]
"""

from __future__ import annotations

import argparse
import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from graphs import sample_network  # noqa: E402
from meanfield import DegreeModel, NetworkParams  # noqa: E402
from validation import simulate, sweep  # noqa: E402

PRESETS = ("akil2021", "akil2021_lif")
MODELS = {
    "homogeneous": DegreeModel.homogeneous().spec,
    "case_B": DegreeModel.recurrent_indegree("gamma", 0.2).spec,
    "case_C": DegreeModel.assortative(c=3.0, support=(0.5, 1.5)).spec,
}
BARS = {"homogeneous": 0.04, "case_B": 0.04, "case_C": 0.05}
"""Issue 10's bars on the relative error of the population mean rates."""
SILENT_BAR = 0.10
"""Issue 10's bar on |zero_spike_fraction(T) - simulated no-spike fraction| of E."""
QUANTILES = (0.1, 0.5, 0.9)


def simulate_case(preset: str, model_spec: dict, N: int, T: float, burn_in: float, *,
                  seed: int) -> dict:
    """Sample one graph and simulate it; the per-neuron numbers the comparison needs.

    Returns a dict of arrays (N,): ``population`` (int8), ``label`` (scalar label),
    ``rate`` (Hz over the window), ``count`` (spikes in the window), ``mean_input`` (N, 3)
    (mV, recorded), ``k_in`` (N, 3) (realised in-degrees from E, I, X), and ``window``,
    ``wall_time``, ``backend``.
    """
    params = NetworkParams.preset(preset, N=N)
    model = DegreeModel.from_spec(model_spec)
    net = sample_network(params, model, seed=seed)
    sim = simulate(net, params, T=T + burn_in, burn_in=burn_in, seed=seed, progress=False)
    label = np.asarray(net.label, float)
    label = label if label.ndim == 1 else label[:, 0]
    count = np.rint(np.asarray(sim.rate) * sim.duration).astype(np.int64)
    return {"population": np.asarray(net.population, np.int8), "label": label,
            "rate": np.asarray(sim.rate, float), "count": count,
            "mean_input": np.asarray(sim.mean_input, float),
            "k_in": np.asarray(net.k_in, np.int64), "window": float(sim.duration),
            "wall_time": float(sim.wall_time), "backend": sim.backend}


def simulations(args) -> dict:
    """{(preset, model name): [dict per seed]} from the cache or freshly simulated."""
    points, keys = [], []
    for preset in PRESETS:
        for name, spec in MODELS.items():
            for seed in args.seeds:
                points.append({"preset": preset, "model_spec": spec, "N": args.N, "T": args.T,
                               "burn_in": args.burn_in, "seed": int(seed)})
                keys.append((preset, name))
    t0 = time.perf_counter()
    res = sweep(simulate_case, points, executor="serial", cache_dir=args.cache_dir,
                progress=True)
    print(f"simulations: {len(points)} points, {res.n_computed} computed, "
          f"{len(points) - res.n_computed} from the cache ({args.cache_dir}), "
          f"{time.perf_counter() - t0:.1f} s")
    out: dict = {}
    for key, r in zip(keys, res.results):
        out.setdefault(key, []).append(r)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache-dir", default=os.path.join(".cache", "validate_network_accuracy"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--N", type=int, default=10_000)
    ap.add_argument("--T", type=float, default=10.0, help="measured window, s")
    ap.add_argument("--burn-in", type=float, default=1.0, help="s")
    ap.add_argument("--simulate-only", action="store_true")
    ap.add_argument("--neuron-level", action="store_true",
                    help="also solve the neuron-level theory (solve_network) on the first "
                         "seed's Case B graphs and compare it with that simulation by label "
                         "decile")
    ap.add_argument("--fano", type=float, nargs=2, default=None, metavar=("F_E", "F_I"),
                    help="solve(fano=(F_E, F_I)): factor on the E and I shares of sigma^2 (all cases)")
    ap.add_argument("--fano-json", default=None,
                    help="JSON {\"preset/model\": [F_E, F_I]} per case (e.g. from renewal_spike_stats.py)")
    ap.add_argument("--variants", nargs="+", default=None,
                    help="only these theory variants (e.g. colored+spread)")
    ap.add_argument("--quick", action="store_true",
                    help="skip the input-spread and noise-slope diagnostics")
    args = ap.parse_args(argv)
    sims = simulations(args)
    if args.simulate_only:
        return
    report(args, sims)
    if args.neuron_level:
        neuron_level(args, sims)


def neuron_level(args, sims):
    """``solve_network`` on the simulated Case B graph of the first seed, by label decile.

    The neuron-level theory uses each neuron's own realised inputs (no spread
    approximation): where it misses the simulation as the degree-space theory does, the
    residual is in the transfer function of a neuron inside the network, not in the spread.
    """
    from meanfield import solve_network

    seed = args.seeds[0]
    for preset in PRESETS:
        params = NetworkParams.preset(preset, N=args.N)
        model = DegreeModel.from_spec(MODELS["case_B"])
        net = sample_network(params, model, seed=seed)
        run = sims[(preset, "case_B")][0]
        res = solve_network(params, net.weight_matrix(), net.population, net.k_X)
        print(f"\n=== neuron-level theory (solve_network, filter {res.filter[0]}) on the "
              f"{preset} Case B graph of seed {seed}: converged {res.converged}")
        for a, pop in enumerate("EI"):
            idx = np.flatnonzero(net.population == a)
            lab, r_sim, r_th = run["label"][idx], run["rate"][idx], res.rate[idx]
            q = np.quantile(lab, np.linspace(0, 1, 11))
            which = np.clip(np.searchsorted(q, lab, side="right") - 1, 0, 9)
            print(f"  {pop}: mean sim {r_sim.mean():.3f} Hz, theory {r_th.mean():.3f} Hz; no "
                  f"spike in {args.T:g} s: sim {np.mean(r_sim == 0):.3f}, theory "
                  f"{np.mean(np.exp(-r_th * args.T)):.3f}")
            for b in range(10):
                sel = which == b
                print(f"    decile {b} (label {lab[sel].mean():.3f}): sim {r_sim[sel].mean():.3f} "
                      f"Hz, theory {r_th[sel].mean():.3f} Hz "
                      f"({100 * (r_sim[sel].mean() / r_th[sel].mean() - 1):+.1f} %)")


# ------------------------------------------------------------------------------ theory
def theory_variants():
    """[(name, solve keyword arguments)]: the closed-form transfer of before issue 10
    (``filter="closed_form"`` stands for Fourcaud-Brunel for the LIF, white noise for the
    EIF) and the filtered-noise transfer (``"colored"``, the default ``"auto"`` since issue
    10), each without and with the spread within a label; with the spread, the Poisson
    input variance (``fano=1.0``) and the default self-consistent sub-Poisson factor
    (``fano="renewal"``, ``meanfield.renewal``)."""
    return [("closed_form", {"filter": "closed_form", "spread": False}),
            ("closed_form+spread", {"filter": "closed_form", "spread": True}),
            ("colored", {"filter": "colored", "spread": False}),
            ("colored+spread+poisson", {"filter": "colored", "spread": True, "fano": 1.0}),
            ("colored+spread", {"filter": "colored", "spread": True})]


def _solve_kwargs(params, kw: dict) -> dict:
    """``kw`` with ``filter="closed_form"`` replaced by the preset's closed-form filter name."""
    if kw.get("filter") == "closed_form":
        kw = dict(kw, filter="fourcaud_brunel" if params.neuron_E.kind == "LIF" else "white")
    return kw


def sim_summary(runs: list) -> dict:
    """Seed-averaged simulated numbers per population (index 0 E, 1 I)."""
    out = {"mean": [], "mean_se": [], "silent": [], "silent_se": [], "quantiles": []}
    for a in (0, 1):
        means = np.array([r["rate"][r["population"] == a].mean() for r in runs])
        silent = np.array([np.mean(r["count"][r["population"] == a] == 0) for r in runs])
        pooled = np.concatenate([r["rate"][r["population"] == a] for r in runs])
        out["mean"].append(means.mean())
        out["mean_se"].append(means.std(ddof=1) / np.sqrt(len(runs)) if len(runs) > 1 else np.nan)
        out["silent"].append(silent.mean())
        out["silent_se"].append(silent.std(ddof=1) / np.sqrt(len(runs)) if len(runs) > 1 else np.nan)
        out["quantiles"].append(np.quantile(pooled, QUANTILES))
    return {k: np.array(v) for k, v in out.items()}


class _Sim:
    """The fields of a ``SimulationResult`` that ``compare`` reads, from a cached run."""

    def __init__(self, run):
        self.rate = run["rate"]
        self.mean_input = run["mean_input"]
        self.N = run["rate"].size
        self.duration = run["window"]


class _Net:
    """The fields of a ``Network`` that ``compare`` reads, from a cached run."""

    def __init__(self, run):
        self.population = run["population"]
        self.label = run["label"]
        self.N = run["rate"].size


def bins_check(th, runs) -> dict:
    """Issue 10's bin bar per population over the seeds: judged bins, failures, worst ratio.

    Bins of ``compare`` (10 label quantile bins per seed); judged: >= 200 neurons and a
    theory rate >= 1 Hz; tolerance max(10 %, 0.3 Hz, 3 SE).
    """
    from validation.comparison import compare

    out = {}
    misses = []
    for a, pop in enumerate("EI"):
        judged = failed = 0
        worst = 0.0
        for k, run in enumerate(runs):
            pc = compare(th, _Sim(run), _Net(run), n_bins=10)[pop]
            j = pc.judged_bins(min_count=200, min_theory_rate=1.0)
            tol = np.maximum.reduce([0.1 * pc.theory_rate, np.full_like(pc.theory_rate, 0.3),
                                     3.0 * pc.sim_se])
            ratio = np.abs(pc.sim_rate - pc.theory_rate) / tol
            judged += int(j.sum())
            failed += int(np.sum(j & (ratio > 1.0)))
            if j.any():
                worst = max(worst, float(ratio[j].max()))
            for b in np.flatnonzero(j & (ratio > 1.0)):
                misses.append(f"{pop} run {k} bin {b} (label {pc.label_mean[b]:.3f}): theory "
                              f"{pc.theory_rate[b]:.3f} Hz, sim {pc.sim_rate[b]:.3f} +/- "
                              f"{pc.sim_se[b]:.3f} Hz "
                              f"({100 * (pc.sim_rate[b] / pc.theory_rate[b] - 1):+.1f} %)")
        out[pop] = (judged, failed, worst)
    out["misses"] = misses
    return out


def input_spread(th, runs) -> np.ndarray:
    r"""Within-label SD of the recorded net mean input against the theory's sigma_q, mV.

    Per population: (simulated, theory). Simulated: each neuron's recorded net input
    minus the theory's mu - E_L at its label (linear interpolation, which removes the
    trend with the label), centred in 20 label quantile bins (which removes what is
    common to a bin), pooled; the sampling noise of a 10 s time average,
    :math:`\sigma^2 \tau_m / T` per neuron (Poisson input counts), is subtracted.
    Theory: the RMS of sigma_q over the same neurons' labels.
    """
    from meanfield.labels import quantile_bins

    out = np.zeros((2, 2))
    for a in (0, 1):
        resid, sq, noise = [], [], []
        tau_m = th.params.neurons[a].tau_m
        for run in runs:
            idx = run["population"] == a
            lab = run["label"][idx]
            net = run["mean_input"][idx].sum(axis=1) \
                - _interp(th, a, lab, th.mu[a] - th.params.neurons[a].E_L)
            which, nb = quantile_bins(lab, 20)
            cnt = np.bincount(which, minlength=nb)
            mean = np.bincount(which, weights=net, minlength=nb) / np.maximum(cnt, 1)
            resid.append((net - mean[which]) * np.sqrt(cnt[which] / np.maximum(cnt[which] - 1, 1)))
            sq.append(_interp(th, a, lab, th.sigma_q[a] ** 2))
            noise.append(_interp(th, a, lab, th.sigma[a] ** 2) * tau_m / run["window"])
        resid, sq, noise = (np.concatenate(x) for x in (resid, sq, noise))
        out[a] = (np.sqrt(max(np.mean(resid ** 2) - np.mean(noise), 0.0)), np.sqrt(np.mean(sq)))
    return out


def _interp(th, a, lab, values):
    """A per-label theory quantity at the given labels (linear; constant outside)."""
    keep = th.weights[a] > 0
    x, y = th.label[a][keep], values[keep]
    order = np.argsort(x)
    if np.ptp(x) == 0:
        return np.full(lab.shape, float(np.sum(th.weights[a][keep] * y)))
    return np.interp(lab, x[order], y[order])


def noise_slope_effect(params, model, kw) -> tuple:
    r"""What the noise-variance slope of the spread changes, and what it leaves out.

    (closed, dropped), each (2,) relative changes of the population mean rates:
    ``closed``: the spread solve with the noise variance varying within a label
    (``MeanFieldResult.noise_slope``, the default) against the same solve with a fixed
    noise variance (the private switch ``meanfield.degree_space._NOISE_SLOPE``, flipped
    here only to measure it); ``dropped``: open loop at the default solution, the exact
    two-dimensional Gaussian (mean input, noise variance) of a label, source by source
    (:math:`\delta\sigma^2_b = J_{ab}\,\delta\mu_b`), against the one-dimensional
    regression the solver uses (6 x 16 x 16 Gauss-Hermite nodes would be needed for the
    exact one; this is its error).
    """
    import meanfield.degree_space as ds
    from meanfield import rate, solve

    kw = _solve_kwargs(params, kw)
    th = solve(params, model, **kw)
    ds._NOISE_SLOPE = False
    try:
        fixed = solve(params, model, **kw)
    finally:
        ds._NOISE_SLOPE = True
    closed = th.mean_rate / fixed.mean_rate - 1.0
    z, w = ds.gauss_hermite(16)
    Z1, Z2 = np.meshgrid(z, z, indexing="ij")
    W = np.outer(w, w)
    dropped = np.zeros(2)
    for a in (0, 1):
        keep = th.weights[a] > 0
        v = th.quenched_variance[a][keep]                        # (n, 3): E, I, X parts
        J = params.J[a]
        a11 = np.sqrt(v.sum(axis=1))
        a21 = (v @ J) / a11
        a22 = np.sqrt(np.maximum(v @ J ** 2 - a21 ** 2, 0.0))
        mu = th.mu[a][keep][:, None, None] + a11[:, None, None] * Z1
        var = th.sigma[a][keep][:, None, None] ** 2 + a21[:, None, None] * Z1
        floor = 0.25 * th.sigma[a][keep][:, None, None] ** 2
        tau = np.broadcast_to(th.tau_s[a][keep][:, None, None], mu.shape)
        neuron = params.neurons[a]

        def mean(v2):
            sig = np.sqrt(np.maximum(v2, floor))
            r = rate(mu, sig, neuron, tau) if neuron.kind == "LIF" else rate(mu, sig, neuron)
            return np.sum(th.weights[a][keep] * np.sum(W * r, axis=(1, 2)))

        dropped[a] = mean(var + a22[:, None, None] * Z2) / mean(var) - 1.0
    return closed, dropped


def homogeneous_spread_from_sim(params, runs) -> np.ndarray:
    r"""Homogeneous network: sigma_q of docs/theory.md (10.1) with the simulated rates, mV (2,).

    :math:`\sigma_q^2 = \tau_m^2 [\sum_b J_{ab}^2 K_{ab} (1 - p_{ab}) E(r_b^2) + J_{aX}^2
    K_{aX} (1 - p_{aX}) r_X^2]` with :math:`E(r_b^2)` of the simulated neurons: the
    formula without the theory's rate distribution (tests the formula, not Phi).
    """
    r2 = np.array([np.mean(np.concatenate([r["rate"][r["population"] == b] ** 2 for r in runs]))
                   for b in (0, 1)])
    out = np.zeros(2)
    for a in (0, 1):
        tau_m = params.neurons[a].tau_m
        J, K, p = params.J[a], params.K[a], params.p[a]
        v = sum(J[b] ** 2 * K[b] * (1 - p[b]) * r2[b] for b in (0, 1)) \
            + J[2] ** 2 * K[2] * (1 - p[2]) * params.r_X ** 2
        out[a] = tau_m * np.sqrt(v)
    return out


def report(args, sims):
    from meanfield import solve

    import json

    variants = theory_variants()
    if args.variants:
        variants = [v for v in variants if v[0] in args.variants]
    per_case = {}
    if args.fano_json:
        with open(args.fano_json) as f:
            per_case = json.load(f)
    print(f"\nN = {args.N}, T = {args.T:g} s after {args.burn_in:g} s, seeds {args.seeds}; "
          f"theory variants: {', '.join(v for v, _ in variants)}")
    rows = []
    for preset in PRESETS:
        for name in MODELS:
            runs = sims[(preset, name)]
            sim = sim_summary(runs)
            params = NetworkParams.preset(preset, N=args.N)
            model = DegreeModel.from_spec(MODELS[name])
            fano = per_case.get(f"{preset}/{name}", args.fano)
            if fano is not None:
                fano = tuple(float(f) for f in fano)
                print(f"\nsolve(fano=...): F_E = {fano[0]:.4f}, F_I = {fano[1]:.4f} (all variants)")
            print(f"\n=== {preset}, {name}: simulation E {sim['mean'][0]:.4f} +/- "
                  f"{sim['mean_se'][0]:.4f} Hz, I {sim['mean'][1]:.4f} +/- {sim['mean_se'][1]:.4f} "
                  f"Hz (mean +/- SE over seeds); no spike in {args.T:g} s: E {sim['silent'][0]:.3f}, "
                  f"I {sim['silent'][1]:.3f}; quantiles 10/50/90 %: E "
                  + "/".join(f"{x:.3g}" for x in sim["quantiles"][0]) + ", I "
                  + "/".join(f"{x:.3g}" for x in sim["quantiles"][1]) + " Hz")
            for vname, kw in variants:
                t0 = time.perf_counter()
                try:
                    th = solve(params, model, **_solve_kwargs(
                        params, kw if fano is None else dict(kw, fano=fano)))
                except (ValueError, TypeError) as exc:
                    print(f"  {vname:15s} not available: {exc}")
                    continue
                dt = time.perf_counter() - t0
                rel = th.mean_rate / sim["mean"] - 1.0
                zsf = th.zero_spike_fraction(args.T)
                q = th.rate_quantiles(QUANTILES)
                bins = bins_check(th, runs) if name != "homogeneous" else None
                ok_rate = bool(np.all(np.abs(rel) <= BARS[name]))
                ok_silent = abs(zsf[0] - sim["silent"][0]) <= SILENT_BAR
                print(f"  {vname:15s} E {th.mean_rate[0]:.4f} Hz ({100 * rel[0]:+.1f} %), "
                      f"I {th.mean_rate[1]:.4f} Hz ({100 * rel[1]:+.1f} %) "
                      f"[bar {100 * BARS[name]:g} %: {'met' if ok_rate else 'NOT met'}]; "
                      f"converged {th.converged}, {dt:.2f} s; F = {th.fano[0]:.3f}/"
                      f"{th.fano[1]:.3f} ({th.fano_rule})")
                print(f"  {'':15s} zero_spike_fraction({args.T:g}) E {zsf[0]:.3f} (sim "
                      f"{sim['silent'][0]:.3f}, diff {zsf[0] - sim['silent'][0]:+.3f} "
                      f"[bar {SILENT_BAR}: {'met' if ok_silent else 'NOT met'}]), I {zsf[1]:.3f} "
                      f"(sim {sim['silent'][1]:.3f})")
                print(f"  {'':15s} quantiles 10/50/90 %: E " + "/".join(f"{x:.3g}" for x in q[0])
                      + ", I " + "/".join(f"{x:.3g}" for x in q[1]) + " Hz")
                if bins is not None:
                    misses = bins.pop("misses")
                    print(f"  {'':15s} bins (>= 200 neurons, theory >= 1 Hz; max(10 %, 0.3 Hz, "
                          f"3 SE)): " + "; ".join(
                              f"{p}: {j - f}/{j} agree, worst |dev|/tol {w:.2f}"
                              for p, (j, f, w) in bins.items()))
                    for line in misses:
                        print(f"  {'':15s}   outside the bar: {line}")
                if th.spread and not args.quick:
                    spread = input_spread(th, runs)
                    extra = ""
                    if name == "homogeneous":
                        fs = homogeneous_spread_from_sim(params, runs)
                        extra = (f" (formula (10.1) with the simulated E(r^2): E {fs[0]:.2f}, "
                                 f"I {fs[1]:.2f} mV)")
                    print(f"  {'':15s} within-label SD of net mean input: E sim {spread[0, 0]:.2f} "
                          f"mV, theory sigma_q {spread[0, 1]:.2f} mV; I sim {spread[1, 0]:.2f}, "
                          f"theory {spread[1, 1]:.2f} mV" + extra)
                    closed, dropped = noise_slope_effect(params, model, kw)
                    print(f"  {'':15s} noise variance varying within a label: moves the rates by "
                          f"E {100 * closed[0]:+.2f} %, I {100 * closed[1]:+.2f} % (closed loop); "
                          f"its part uncorrelated with the mean input (dropped) E "
                          f"{100 * dropped[0]:+.2f} %, I {100 * dropped[1]:+.2f} % (open loop)")
                rows.append((preset, name, vname, rel, zsf[0] - sim["silent"][0],
                             ok_rate, ok_silent, bins))
    print("\n=== summary: relative error of the population mean rates (E, I) and "
          "zero-spike difference of E")
    for preset, name, vname, rel, dz, ok_rate, ok_silent, bins in rows:
        b = "" if bins is None else " bins " + ", ".join(
            f"{p} {j - f}/{j}" for p, (j, f, _) in bins.items())
        print(f"{preset:13s} {name:12s} {vname:15s} E {100 * rel[0]:+6.2f} %  I "
              f"{100 * rel[1]:+6.2f} %  rates {'ok ' if ok_rate else 'NO '} silent {dz:+.3f} "
              f"{'ok' if ok_silent else 'NO'}{b}")


if __name__ == "__main__":
    main()

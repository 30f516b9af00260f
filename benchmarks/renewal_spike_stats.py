"""Issue 10, sub-Poisson input (benchmarks/README_colored.md section 6).

Spike-train statistics of the 6 network cases of
validate_network_accuracy.py, for the sub-Poisson variance correction F_b.

Re-simulates each (preset, model, seed) exactly as ``validate_network_accuracy.simulate_case``
(same seeds, so identical spikes) and measures per population b, over the 10 s window:

* ``cv2_w``: rate-weighted mean ISI CV^2, sum_j r_j CV_j^2 / sum_j r_j (neurons with >= 3
  spikes; the long-window Fano factor of a renewal population as it enters the input
  variance, sum_j J^2 F_j r_j); ``cv2_u``: the unweighted mean CV^2;
* ``fano_W``: count Fano factor in windows W (10, 20, 50, 200, 1000 ms), pooled as
  sum_j Var(n_j) / sum_j E(n_j) (= rate-weighted);
* ``feff_a``: the variance of the spike trains filtered by the kernel that turns an input
  spike into a membrane deflection of a target neuron of population a (synapse tau_b, then
  membrane tau_m), relative to Poisson: 1 + 2 int rho(s) (m(s) - r) ds with rho the
  normalised autocorrelation of the kernel, (tau_m e^{-s/tau_m} - tau_b e^{-s/tau_b}) /
  (tau_m - tau_b), estimated from the pairs of spikes of one neuron (edge-corrected);
  pooled over neurons with rate weights.

Run: python benchmarks/renewal_spike_stats.py OUT.json
"""

from __future__ import annotations

import json
import os
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from graphs import sample_network  # noqa: E402
from meanfield import DegreeModel, NetworkParams  # noqa: E402
from validation import simulate  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from validate_network_accuracy import MODELS, PRESETS  # noqa: E402

WINDOWS = (0.010, 0.020, 0.050, 0.200, 1.0)
LAG_MAX = 0.25


def stats(sim, pop_mask, tau_m, tau_b):
    t0, t1 = sim.t_start, sim.t_stop
    T = t1 - t0
    keep = (sim.spike_times > t0 + 0.5 * sim.dt) & pop_mask[sim.spike_ids]
    ids = sim.spike_ids[keep].astype(np.int64)
    t = sim.spike_times[keep] - t0
    N = pop_mask.size
    n = np.bincount(ids, minlength=N)[pop_mask].astype(float)
    r = n / T
    cv = np.asarray(sim.cv)[pop_mask]
    ok = np.isfinite(cv)
    out = {"rate": float(r.mean()), "frac_cv_defined": float(ok.mean()),
           "rate_share_cv_defined": float(r[ok].sum() / r.sum()),
           "cv2_w": float(np.sum(r[ok] * cv[ok] ** 2) / np.sum(r[ok])),
           "cv2_u": float(np.mean(cv[ok] ** 2)),
           "cv_u": float(np.mean(cv[ok]))}
    # count Fano in windows W: sum_j Var / sum_j mean
    for W in WINDOWS:
        nb = int(round(T / W))
        b = np.minimum((t / W).astype(np.int64), nb - 1)
        c = np.bincount(ids * nb + b, minlength=N * nb).reshape(N, nb)[pop_mask].astype(float)
        out[f"fano_{int(round(W * 1000))}ms"] = float(c.var(axis=1).sum() / c.mean(axis=1).sum())
    # pair lags within one neuron
    order = np.lexsort((t, ids))
    ids, t = ids[order], t[order]
    lags = []
    k = 1
    while True:
        same = ids[k:] == ids[:-k]
        d = t[k:] - t[:-k]
        sel = same & (d < LAG_MAX)
        if not sel.any():
            break
        lags.append(d[sel])
        k += 1
    lags = np.concatenate(lags) if lags else np.zeros(0)
    sum_r = n.sum() / T
    sum_r2 = np.sum(n * (n - 1)) / T ** 2
    s = np.linspace(0, LAG_MAX, 20001)
    for a, tm in enumerate(tau_m):
        tb = tau_b
        rho = lambda x: (tm * np.exp(-x / tm) - tb * np.exp(-x / tb)) / (tm - tb)  # noqa: E731
        term_pairs = np.sum(rho(lags) / (T - lags))
        term_r2 = sum_r2 * np.trapezoid(rho(s), s)
        out[f"feff_{'EI'[a]}"] = float(1.0 + 2.0 * (term_pairs - term_r2) / sum_r)
        # membrane kernel only (white-noise input filtered by tau_m)
        rho_m = lambda x: np.exp(-x / tm)  # noqa: E731
        out[f"feffm_{'EI'[a]}"] = float(1.0 + 2.0 * (np.sum(rho_m(lags) / (T - lags))
                                                      - sum_r2 * np.trapezoid(rho_m(s), s)) / sum_r)
    return out


def main(path):
    results = {}
    if os.path.exists(path):
        with open(path) as f:
            results = json.load(f)
    for preset in PRESETS:
        for name, spec in MODELS.items():
            for seed in (1, 2, 3):
                key = f"{preset}/{name}/{seed}"
                if key in results:
                    continue
                t_0 = time.perf_counter()
                params = NetworkParams.preset(preset, N=10_000)
                net = sample_network(params, DegreeModel.from_spec(spec), seed=seed)
                sim = simulate(net, params, T=11.0, burn_in=1.0, seed=seed, progress=False)
                pop = np.asarray(net.population)
                tau_m = [nr.tau_m for nr in params.neurons]
                res = {}
                for b, tb in ((0, params.tau_E), (1, params.tau_I)):
                    res["EI"[b]] = stats(sim, pop == b, tau_m, tb)
                res["check_rate"] = [float(np.asarray(sim.rate)[pop == b].mean()) for b in (0, 1)]
                results[key] = res
                with open(path, "w") as f:
                    json.dump(results, f, indent=1)
                print(key, f"{time.perf_counter() - t_0:.1f} s", json.dumps(res), flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        raise SystemExit("usage: python benchmarks/renewal_spike_stats.py OUT.json")
    main(sys.argv[1])

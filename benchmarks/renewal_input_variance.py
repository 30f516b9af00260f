"""Issue 10, sub-Poisson input (benchmarks/README_colored.md section 6).

The recurrent input variance a neuron's membrane sees,
measured directly, against the Poisson sum the theory uses.

For 300 recorded neurons per population of one simulated network, the source-b part of the
free membrane potential, V_b = (membrane filter tau_m) of the recorded tau_m I_b(t), has
under Poisson input the variance sum_j J_ij^2 r_j tau_m^2 / (2 (tau_m + tau_b)) (r_j the
simulated rate of presynaptic neuron j). Printed: the ratio measured / Poisson per source
(X is Poisson by construction: the calibration) and for the recurrent sum V_E + V_I
(includes the E-I cross-covariance, i.e. pairwise correlations, which F_b = CV^2 leaves
out), rate-weighted population F_b for comparison.

Run: python benchmarks/renewal_input_variance.py [preset] [case] [seed]
"""

from __future__ import annotations

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from graphs import sample_network  # noqa: E402
from meanfield import DegreeModel, NetworkParams  # noqa: E402
from validation import simulate  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from validate_network_accuracy import MODELS  # noqa: E402


def main(preset="akil2021", case="case_B", seed=1, n_rec=300, every=5):
    params = NetworkParams.preset(preset, N=10_000)
    net = sample_network(params, DegreeModel.from_spec(MODELS[case]), seed=seed)
    pop = np.asarray(net.population)
    rng = np.random.default_rng(0)
    rec = np.sort(np.concatenate([rng.choice(np.flatnonzero(pop == a), n_rec, replace=False)
                                  for a in (0, 1)]))
    sim = simulate(net, params, T=11.0, burn_in=1.0, seed=seed, progress=False, record=rec,
                   record_every=every)
    r = np.asarray(sim.rate)
    W = net.weight_matrix()[rec]
    W2 = W.multiply(W).tocsr()
    dt_s = sim.dt * every
    t = np.asarray(sim.trace_times)
    keep = t >= sim.t_start
    U = np.asarray(sim.trace_input)                      # (M, 3, n_t) tau_m I_b, mV
    taus = params.tau_syn
    kX = np.asarray(net.k_in)[rec, 2]
    ratios = []
    print(f"{preset} {case} seed {seed}: rates E {r[pop == 0].mean():.3f} I {r[pop == 1].mean():.3f} Hz")
    for a in (0, 1):
        ia = np.flatnonzero(pop[rec] == a)
        tau_m = params.neurons[a].tau_m
        decay = np.exp(-dt_s / tau_m)
        Vb = np.zeros((ia.size, 3, U.shape[2]))
        acc = np.zeros((ia.size, 3))
        for k in range(U.shape[2]):
            acc = acc * decay + (1 - decay) * U[ia, :, k]
            Vb[:, :, k] = acc
        Vb = Vb[:, :, keep]
        var = Vb.var(axis=2)                              # (m, 3)
        var_rec = (Vb[:, 0] + Vb[:, 1]).var(axis=1)
        pois = np.zeros((ia.size, 3))
        for b in (0, 1):
            rb = np.where(pop == b, r, 0.0)
            pois[:, b] = (W2[ia] @ rb) * tau_m ** 2 / (2 * (tau_m + taus[b]))
        pois[:, 2] = params.J[a, 2] ** 2 * kX[ia] * params.r_X * tau_m ** 2 / (2 * (tau_m + taus[2]))
        ratio = var.sum(axis=0) / pois.sum(axis=0)
        ratios.append(ratio[:2])
        cov = np.mean([np.cov(Vb[i, 0], Vb[i, 1])[0, 1] for i in range(ia.size)])
        print(f"  target {'EI'[a]} ({ia.size} neurons): measured/Poisson variance of V_b pooled: "
              f"E {ratio[0]:.3f}, I {ratio[1]:.3f}, X {ratio[2]:.3f} (calibration); "
              f"recurrent sum V_E+V_I {var_rec.sum() / pois[:, :2].sum():.3f}; "
              f"mean Cov(V_E, V_I) {cov:.3f} mV^2 vs mean Poisson Var(V_E)+Var(V_I) "
              f"{pois[:, :2].sum(axis=1).mean():.2f} mV^2")
    return np.mean(ratios, axis=0)


if __name__ == "__main__":
    import json
    if sys.argv[1:2] in (["-h"], ["--help"]):
        raise SystemExit("usage: python benchmarks/renewal_input_variance.py --all OUT.json | "
                         "PRESET CASE [SEED]")
    if sys.argv[1:2] == ["--all"]:
        from validate_network_accuracy import PRESETS
        out = {}
        for preset in PRESETS:
            for case in MODELS:
                F = main(preset, case, 1)
                out[f"{preset}/{case}"] = [float(F[0]), float(F[1])]
                print(f"  -> F (mean over the two targets) {F[0]:.3f}, {F[1]:.3f}", flush=True)
        with open(sys.argv[2], "w") as f:
            json.dump(out, f, indent=1)
    else:
        a = sys.argv[1:]
        main(a[0] if a else "akil2021", a[1] if len(a) > 1 else "case_B",
             int(a[2]) if len(a) > 2 else 1)

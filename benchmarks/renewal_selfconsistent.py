"""Issue 10, sub-Poisson input (benchmarks/README_colored.md section 6).

A self-consistent theory value of the sub-Poisson factor F_b.

F_b = the rate-weighted mean ISI CV^2 of population b predicted by the theory itself:
each (label, frozen z) node of ``solve(..., spread=True)`` is a renewal neuron whose CV^2
is the white-noise first-passage CV^2 of its own neuron model (LIF or EIF, Brunel 2000 /
Tuckwell; reflecting at V_lb for the EIF, as the simulator clamps there) evaluated at the
node's mean input and effective noise; the nodes are weighted by the theory's (colored)
rate and label/z mass. Iterate F -> solve -> F to a fixed point (F enters through
``solve(fano=...)``).

Two CV rules:
* ``direct``: CV^2 of the white-noise neuron at (mu, sigma * sigma_scale) of the node;
* ``matched``: CV^2 of the white-noise neuron whose mean input is shifted so that its
  white-noise rate equals the node's colored rate (same sigma): the diffusion neuron at
  the same distance from threshold, in rate terms, as the filtered-noise neuron.

Run: python benchmarks/renewal_selfconsistent.py [--rule direct|matched] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from meanfield import DegreeModel, NetworkParams, solve  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from validate_network_accuracy import MODELS, PRESETS  # noqa: E402

NGRID = 1200


def fpt_moments(mu, sigma, neuron):
    """White-noise first-passage moments: (rate Hz, CV^2) at arrays mu, sigma (mV).

    tau_m dV = [-(V - mu) + psi(V)] dt + sigma sqrt(tau_m) dW; psi = Delta_T e^{(V-V_T)/Delta_T}
    for the EIF (cut at V_th, reflecting at V_lb), 0 for the LIF (threshold theta).
    T_n(v) = int_v^th (tau/D) e^{-Phi(x)} int_lo^x e^{Phi(y)} n T_{n-1}(y) dy dx,
    D = sigma^2/2, Phi = 2 A / sigma^2, A' = drift.
    """
    mu = np.atleast_1d(np.asarray(mu, float))
    sigma = np.atleast_1d(np.asarray(sigma, float))
    tau = neuron.tau_m
    eif = neuron.kind == "EIF"
    th = neuron.V_th if eif else neuron.theta
    vr = neuron.V_re if eif else neuron.V_r
    rate = np.empty(mu.size)
    cv2 = np.empty(mu.size)
    for s in range(0, mu.size, 500):
        m, sg = mu[s:s + 500, None], sigma[s:s + 500, None]
        lo = np.minimum(m - 9.0 * sg, vr - 1.0)
        if eif:
            lo = np.maximum(lo, neuron.V_lb)
        u = np.linspace(0.0, 1.0, NGRID)[None, :]
        x = lo + (th - lo) * u                                  # (p, NGRID)
        dx = (th - lo) / (NGRID - 1)
        A = -0.5 * (x - m) ** 2
        if eif:
            A = A + neuron.Delta_T ** 2 * np.exp((x - neuron.V_T) / neuron.Delta_T)
        Phi = 2.0 * A / sg ** 2
        Phi = Phi - Phi.max(axis=1, keepdims=True)
        D = 0.5 * sg ** 2
        eP = np.exp(Phi)

        def cumtrap(f):
            c = np.concatenate([np.zeros((f.shape[0], 1)),
                                np.cumsum(0.5 * (f[:, 1:] + f[:, :-1]), axis=1)], axis=1)
            return c * dx

        def moment(prev, n):
            inner = cumtrap(eP * n * prev)                        # int_lo^x e^Phi T_{n-1}
            g = (tau / D) * inner * np.exp(-Phi)                 # T_n'(x) = -g
            G = cumtrap(g)
            return G[:, -1:] - G                                 # int_x^th g

        T1 = moment(np.ones_like(x), 1)
        T2 = moment(T1, 2)
        j = np.clip(np.rint((vr - lo) / dx).astype(int), 0, NGRID - 1)[:, 0]
        rows = np.arange(x.shape[0])
        # linear interpolation at V_r
        xf = ((vr - lo) / dx)[:, 0]
        j0 = np.clip(np.floor(xf).astype(int), 0, NGRID - 2)
        fr = xf - j0
        t1 = (1 - fr) * T1[rows, j0] + fr * T1[rows, j0 + 1]
        t2 = (1 - fr) * T2[rows, j0] + fr * T2[rows, j0 + 1]
        del j
        mean_isi = neuron.tau_ref + t1
        rate[s:s + 500] = 1.0 / mean_isi
        cv2[s:s + 500] = np.maximum(t2 - t1 ** 2, 0.0) / mean_isi ** 2
    return rate, cv2


def matched_mu(r_target, sigma, neuron, mu_lo, mu_hi, iters=24):
    """mu with white-noise rate(mu, sigma) = r_target (bisection in mu, vectorised)."""
    lo, hi = mu_lo.copy(), mu_hi.copy()
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        r, _ = fpt_moments(mid, sigma, neuron)
        up = r > r_target
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
    return 0.5 * (lo + hi)


def predicted_F(th, rule="direct", min_rate=1e-4):
    """(F_E, F_I) rate-weighted CV^2 over labels and z nodes; and the rate check."""
    z, mass, prof = th._z_profile                               # prof (2, n, nz)
    F = np.zeros(2)
    for a in (0, 1):
        neuron = th.params.neurons[a]
        w = th.weights[a][:, None] * mass[None, :]              # (n, nz)
        mu = th.mu[a][:, None] + th.sigma_q[a][:, None] * z[None, :]
        var = th.sigma[a][:, None] ** 2 + th.noise_slope[a][:, None] * z[None, :]
        sig = np.sqrt(np.maximum(var, 0.25 * th.sigma[a][:, None] ** 2)) \
            * np.asarray(th.sigma_scale)[a][:, None]
        r = prof[a]
        keep = (w > 0) & (r > min_rate)
        m_, s_, r_ = mu[keep], sig[keep], r[keep]
        if rule == "matched":
            m_ = matched_mu(r_, s_, neuron, m_ - 40.0, m_ + 40.0)
        rw, cv2 = fpt_moments(m_, s_, neuron)
        F[a] = np.sum(w[keep] * r_ * cv2) / np.sum(w[keep] * r_)
    return F


def self_consistent(params, model, rule, iters=6, tol=5e-3, log=print):
    F = np.ones(2)
    for k in range(iters):
        th = solve(params, model, spread=True, fano=(float(F[0]), float(F[1])))
        F_new = predicted_F(th, rule)
        log(f"    iter {k}: F in ({F[0]:.4f}, {F[1]:.4f}) -> predicted ({F_new[0]:.4f}, "
            f"{F_new[1]:.4f}); rates E {th.mean_rate[0]:.4f} I {th.mean_rate[1]:.4f} Hz")
        if np.max(np.abs(F_new - F)) < tol:
            F = F_new
            break
        F = F_new
    return F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rule", default="direct", choices=("direct", "matched"))
    ap.add_argument("--check", action="store_true",
                    help="only: predicted F at F = 1 and at the measured F (F_cv2w.json)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--measured", default="F_cv2w.json",
                    help="with --check: JSON {\"preset/model\": [F_E, F_I]} of measured F")
    args = ap.parse_args()
    if args.check:
        from meanfield.transfer import rate as white_rate
        for preset in PRESETS:
            nr = NetworkParams.preset(preset, N=10_000).neurons[0]
            mu = np.array([-70.0, -60.0, -50.0, -80.0])
            sg = np.array([10.0, 8.0, 5.0, 16.0])
            r, cv2 = fpt_moments(mu, sg, nr)
            print(preset, "rate check own", r, "package", white_rate(mu, sg, nr), "CV2", cv2)
        meas = json.load(open(args.measured))
        for preset in PRESETS:
            params = NetworkParams.preset(preset, N=10_000)
            for name, spec in MODELS.items():
                model = DegreeModel.from_spec(spec)
                out = []
                for F in ((1.0, 1.0), tuple(meas[f"{preset}/{name}"])):
                    th = solve(params, model, spread=True, fano=F)
                    out.append((F, predicted_F(th, args.rule)))
                print(f"{preset} {name} [{args.rule}]: measured rate-weighted CV^2 "
                      f"{meas[f'{preset}/{name}'][0]:.3f}/{meas[f'{preset}/{name}'][1]:.3f}; "
                      + "; ".join(f"at F=({F[0]:.3f},{F[1]:.3f}) predicted "
                                  f"{p[0]:.3f}/{p[1]:.3f}" for F, p in out), flush=True)
        return
    res = {}
    for preset in PRESETS:
        params = NetworkParams.preset(preset, N=10_000)
        for name, spec in MODELS.items():
            print(f"{preset} {name} [{args.rule}]", flush=True)
            F = self_consistent(params, DegreeModel.from_spec(spec), args.rule)
            res[f"{preset}/{name}"] = [float(F[0]), float(F[1])]
            print(f"  -> F = {F[0]:.4f}, {F[1]:.4f}", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()

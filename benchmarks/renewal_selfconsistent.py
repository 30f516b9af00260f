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

The package's default (``solve(spread=True)``, ``meanfield.renewal``) is the ``matched``
rule, solved with the rates by Newton; this script keeps both rules and the plain
iteration, as measured for benchmarks/README_colored.md section 6. Each solve here passes
``fano`` explicitly.

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
from meanfield.renewal import isi_moments  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from validate_network_accuracy import MODELS, PRESETS  # noqa: E402

def fpt_moments(mu, sigma, neuron):
    """White-noise first-passage (rate Hz, CV^2) at arrays mu, sigma (mV):
    ``meanfield.renewal.isi_moments`` (this script had its own trapezoid version, which
    overflowed below sigma ~ 2 mV)."""
    return isi_moments(neuron, mu, sigma)


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

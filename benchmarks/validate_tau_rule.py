"""Which single tau_s stands in for three synaptic time constants? (issue 10, item 2)

    PYTHONPATH=$PWD python benchmarks/validate_tau_rule.py            # the table (~15 min)
    PYTHONPATH=$PWD python benchmarks/validate_tau_rule.py --quick    # 2 points, ~1 min
    PYTHONPATH=$PWD python benchmarks/validate_tau_rule.py --poisson  # shot noise (~25 min)

A neuron of the presets receives independent filtered noise from E, I and X with time
constants tau_E, tau_I, tau_X (8/4/10 ms in ``akil2021`` and ``akil2021_lif``) and shares
w_b of sigma^2; ``colored_rate`` takes one tau_s. For each rule of
``meanfield.filtering.RULES`` this script compares ``colored_rate(neuron, mu,
sigma * sigma_scale, tau_eff)`` with a Gaussian Monte Carlo of the neuron driven by the
THREE Ornstein-Uhlenbeck currents (docs/theory.md (9.1) with the sum over sources),

    tau_m dV/dt = -(V - mu) + psi(V) + sum_b u_b,
    tau_b du_b = -u_b dt + sigma sqrt(w_b) sqrt(tau_m) dW_b,

u_b updated exactly in distribution, V by Euler with dt = 10 us (as ``ou_euler`` in
``benchmarks/validate_colored.py``, whose one-source version agrees with
``colored_rate`` within -2.6 .. +0.8 %), V clamped at the reset for tau_ref, the EIF
floor V_lb. This isolates the reduction from the shot noise of Poisson input.
``--poisson`` drives the neuron instead with Poisson trains through three exponential
synapses, with the equations and step order of ``validation.simulate`` (docs/theory.md
section 2; re-implemented here because ``simulate`` drives unconnected neurons through the
external synapse only, i.e. with one time constant): kicks J = sigma/40 (E and X
excitatory, I inhibitory), rates sigma_b^2 / (tau_m J^2), a DC drive for mu, dt = 25 us.

Points: the operating point (mu, sigma and the shares sigma_b^2 = J_ab * mean_input_b of
``solve(NetworkParams.preset(name))``) of E and I of both presets, and mu raised by 4-12 mV
(the filtered-noise operating points lie above the white-noise ones); plus one point a
neuron with equal shares, where the rules differ most. Each point gets 1.1 x 10^4 / r
neuron-seconds (r: the theory's rate) where r >= 1 Hz, else min(10^4 / r, ``--max-ns``).
Column "1-src": the same Monte Carlo with ONE OU current at the ``"moments"`` rule's
(tau_s, sigma_eff): the error of ``colored_rate`` and of the Euler scheme themselves, the
floor under every rule's error.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from meanfield import NetworkParams, colored_rate, solve  # noqa: E402
from meanfield.filtering import RULES, effective_filter  # noqa: E402

DT = 1e-5
N_NEURONS = 200


def _kernel():
    import numba

    @numba.njit(cache=False)
    def run(n, T, dt, tau_m, mu, s_u, tau_b, eif, V_T, D, V_c, V_r, V_lb, tau_ref, seed):
        np.random.seed(seed)
        m = tau_b.size
        a = np.exp(-dt / tau_b)
        b = s_u * np.sqrt(1 - a * a)
        n_steps = int(T / dt)
        R = int(round(tau_ref / dt))
        counts = np.zeros(n, np.int64)
        z = np.zeros(m)
        k = dt / tau_m
        for i in range(n):
            V = min(max(mu, V_lb), V_r)
            for j in range(m):
                z[j] = np.random.randn() * s_u[j]
            ref = 0
            for _ in range(n_steps):
                if ref > 0:
                    ref -= 1
                else:
                    current = 0.0
                    for j in range(m):
                        current += z[j]
                    dV = mu + current - V
                    if eif:
                        dV += D * math.exp(min((V - V_T) / D, 30.0))
                    V += k * dV
                    if V < V_lb:
                        V = V_lb
                    if V >= V_c:
                        counts[i] += 1
                        V = V_r
                        ref = R
                for j in range(m):
                    z[j] = a[j] * z[j] + b[j] * np.random.randn()
        return counts

    return run


def _poisson_kernel():
    import numba

    @numba.njit(cache=False)
    def run(n, T, dt, tau_m, E_L, drive, lam, J, tau_b, eif, V_T, D, V_c, V_r, V_lb,
            tau_ref, seed):
        # validation.simulate's step order (docs/theory.md section 2): membrane update (not
        # when refractory), synaptic decay, threshold and reset, then this step's kicks
        # J_b / tau_b of Poisson(lam_b dt) events. I_b in mV/s.
        np.random.seed(seed)
        m = tau_b.size
        n_steps = int(T / dt)
        R = int(round(tau_ref / dt))
        counts = np.zeros(n, np.int64)
        cur = np.zeros(m)
        k = dt / tau_m
        for i in range(n):
            V = min(max(E_L + drive, V_lb), V_r)
            for j in range(m):
                cur[j] = J[j] * lam[j]          # start at the mean
            ref = 0
            for _ in range(n_steps):
                if ref > 0:
                    ref -= 1
                else:
                    total = 0.0
                    for j in range(m):
                        total += cur[j]
                    psi = D * math.exp(min((V - V_T) / D, 30.0)) if eif else 0.0
                    V = V * (1 - k) + k * (E_L + drive + psi) + dt * total
                    if V < V_lb:
                        V = V_lb
                for j in range(m):
                    cur[j] *= 1 - dt / tau_b[j]
                if ref == 0 and V >= V_c:
                    counts[i] += 1
                    V = V_r
                    ref = R
                for j in range(m):
                    cur[j] += J[j] / tau_b[j] * np.random.poisson(lam[j] * dt)
        return counts

    return run


def poisson_mc(run, neuron, mu, sigma, tau_b, share, neuron_seconds, seed, j_ratio=40.0,
               dt=2.5e-5):
    """Rate +- SE (Hz), spikes: Poisson inputs through exponential synapses (shot noise).

    Every source has kicks of size J = sigma / j_ratio (E and X excitatory, I inhibitory)
    and rate lam_b = w_b sigma^2 / (tau_m J^2), so that sigma_b^2 = tau_m J^2 lam_b =
    w_b sigma^2; a DC drive sets mu = E_L + drive + tau_m sum_b J_b lam_b.
    """
    tau_b = np.asarray(tau_b, float)
    w = np.asarray(share, float) / np.sum(share)
    J = sigma / j_ratio * np.array([1.0, -1.0, 1.0])
    lam = w * sigma ** 2 / (neuron.tau_m * J ** 2)
    drive = mu - neuron.E_L - neuron.tau_m * float(J @ lam)
    T = neuron_seconds / N_NEURONS
    c = run(N_NEURONS, T, dt, neuron.tau_m, neuron.E_L, drive, lam, J, tau_b,
            neuron.kind == "EIF", getattr(neuron, "V_T", 0.0), getattr(neuron, "Delta_T", 1.0),
            neuron.V_spike, neuron.V_reset, getattr(neuron, "V_lb", -1e9), neuron.tau_ref, seed)
    r = c / (int(T / dt) * dt)
    return float(r.mean()), float(r.std(ddof=1) / math.sqrt(r.size)), int(c.sum())


def gaussian_mc(run, neuron, mu, sigma, tau_b, share, neuron_seconds, seed, dt=DT):
    """Rate +- SE (Hz) and spike count of the neuron driven by len(tau_b) OU currents."""
    tau_b = np.asarray(tau_b, float)
    w = np.asarray(share, float) / np.sum(share)
    keep = w > 0
    tau_b, w = tau_b[keep], w[keep]
    s_u = sigma * np.sqrt(w) * np.sqrt(neuron.tau_m / (2.0 * tau_b))   # sd of each u_b, mV
    T = neuron_seconds / N_NEURONS
    eif = neuron.kind == "EIF"
    c = run(N_NEURONS, T, dt, neuron.tau_m, float(mu), s_u, tau_b, eif,
            getattr(neuron, "V_T", 0.0), getattr(neuron, "Delta_T", 1.0), neuron.V_spike,
            neuron.V_reset, getattr(neuron, "V_lb", -1e9), neuron.tau_ref, seed)
    r = c / (int(T / dt) * dt)
    return float(r.mean()), float(r.std(ddof=1) / math.sqrt(r.size)), int(c.sum())


def points(quick=False):
    """(preset, population, mu, sigma, shares (3,), tau (3,), neuron) at the operating points."""
    out = []
    offsets = {("akil2021", 0): (0.0, 8.0, 12.0), ("akil2021", 1): (0.0, 4.0, 8.0),
               ("akil2021_lif", 0): (0.0, 4.0, 8.0), ("akil2021_lif", 1): (0.0, 4.0)}
    if quick:
        offsets = {("akil2021", 0): (12.0,), ("akil2021_lif", 0): (4.0,)}
    for name in ("akil2021", "akil2021_lif"):
        p = NetworkParams.preset(name)
        res = solve(p)
        var_src = np.asarray(p.J) * res.mean_input[:, 0, :]         # (2, 3) mV^2
        for a in (0, 1):
            for dm in offsets.get((name, a), ()):
                out.append((name, "EI"[a], float(res.mu[a, 0]) + dm, float(res.sigma[a, 0]),
                            var_src[a] / var_src[a].sum(), np.asarray(p.tau_syn, float),
                            p.neurons[a]))
        if not quick:     # equal shares, E neuron, mu where the rate is a few Hz
            mu = float(res.mu[0, 0]) + (8.0 if name == "akil2021" else 4.0)
            out.append((name, "E=", mu, float(res.sigma[0, 0]), np.full(3, 1 / 3),
                        np.asarray(p.tau_syn, float), p.neurons[0]))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 points")
    ap.add_argument("--spikes", type=float, default=1e4, help="target spikes a point")
    ap.add_argument("--max-ns", type=float, default=4000.0,
                    help="neuron-seconds cap a point where the rate is below 1 Hz")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-control", action="store_true", help="skip the 1-source column")
    ap.add_argument("--poisson", action="store_true",
                    help="Poisson input through three exponential synapses (J = sigma/40, "
                         "dt = 25 us, the simulator's step order) instead of Gaussian; no "
                         "1-source column")
    args = ap.parse_args(argv)
    run = _poisson_kernel() if args.poisson else _kernel()
    mc_fn = poisson_mc if args.poisson else gaussian_mc
    t_all = time.perf_counter()
    rows = []
    seed = args.seed
    for name, pop, mu, sigma, w, tau, nrn in points(args.quick):
        th = {}
        for rule in RULES:
            ts, sc = effective_filter(tau, w, tau_m=nrn.tau_m, rule=rule)
            th[rule] = (float(ts), float(sc), float(colored_rate(nrn, mu, sigma * sc, ts)))
        ts_m, sc_m = th["moments"][0], th["moments"][1]
        th["moments, sigma kept"] = (ts_m, 1.0, float(colored_rate(nrn, mu, sigma, ts_m)))
        r_guess = th["moments"][2]
        # >= 10^4 spikes where the rate is >= 1 Hz (10 % margin on the theory's guess)
        ns = args.spikes / r_guess * 1.1 if r_guess >= 1.0 else min(args.max_ns,
                                                                     args.spikes / r_guess)
        seed += 1
        t0 = time.perf_counter()
        mc = mc_fn(run, nrn, mu, sigma, tau, w, ns, seed)
        ctrl = None
        if not (args.no_control or args.poisson):
            seed += 1
            ctrl = gaussian_mc(run, nrn, mu, sigma * sc_m, [ts_m], [1.0], ns, seed)
        rows.append((name, pop, mu, sigma, w, th, mc, ctrl))
        print(f"  {name} {pop} mu={mu:.1f} sigma={sigma:.1f} shares={np.round(w, 3)}: "
              f"MC {mc[0]:.4g} +- {mc[1]:.2g} Hz, {mc[2]} spikes, {ns:.0f} neuron-s, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    rules = list(RULES) + ["moments, sigma kept"]
    print()
    print(("Poisson input (J = sigma/40) through three exponential synapses" if args.poisson
           else "Gaussian Monte Carlo with three OU currents")
          + " against colored_rate(tau_eff) per rule")
    print("(relative error of colored_rate = theory/MC - 1, in %, +- SE of the MC; tau_eff in ms)")
    head = f"{'preset':13} {'pop':3} {'mu':>6} {'sigma':>5} {'MC rate (Hz)':>16} {'spikes':>6}"
    for r in rules:
        head += f" | {r[:19]:>19}"
    print(head + f" | {'1-src (moments)':>16}")
    errs = {r: [] for r in rules}
    for name, pop, mu, sigma, w, th, mc, ctrl in rows:
        line = (f"{name:13} {pop:3} {mu:6.1f} {sigma:5.1f} {mc[0]:9.4g} +- {mc[1]:<4.2g}"
                f" {mc[2]:6d}")
        for r in rules:
            ts, sc, col = th[r]
            e = col / mc[0] - 1
            se = col / mc[0] * mc[1] / mc[0]
            if mc[0] >= 1.0:
                errs[r].append((e, se))
            line += f" | {1e3 * ts:4.2f}: {100 * e:+5.1f}+-{100 * se:3.1f}"
        if ctrl is not None:
            e = th["moments"][2] / ctrl[0] - 1
            se = th["moments"][2] / ctrl[0] * ctrl[1] / ctrl[0]
            line += f" | {100 * e:+6.1f} +- {100 * se:3.1f}"
        print(line)
    print()
    print("summary over points with MC rate >= 1 Hz: mean error, rms error, max |error|, "
          "chi^2/n against 0 (%)")
    for r in rules:
        a = np.array(errs[r])
        if a.size:
            chi = np.mean((a[:, 0] / a[:, 1]) ** 2)
            print(f"  {r:22}: mean {100 * a[:, 0].mean():+5.2f}, rms "
                  f"{100 * np.sqrt((a[:, 0] ** 2).mean()):4.2f}, max |.| "
                  f"{100 * np.abs(a[:, 0]).max():4.2f}, chi^2/n {chi:5.1f} ({len(a)} points)")
    print(f"wall {time.perf_counter() - t_all:.0f} s, dt = {2.5e-5 if args.poisson else DT:g} s, "
          f"{N_NEURONS} neurons a point")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fig 0: the transfer functions against single-neuron simulations.

Unconnected neurons (p = 0) driven by their own Poisson inputs (4,000 at 20 Hz, J = 0.1 mV)
plus a constant drive that sets mu: LIF with exponential synapses (tau_s = 1 ms) against
``lif_rate`` with the Fourcaud-Brunel shift (and the white-noise Siegert rate, to show
what the shift corrects), and EIF with delta synapses against ``eif_rate``.
"""

from __future__ import annotations

import math

import numpy as np

from graphs import sample_network
from meanfield import EIF, LIF, NetworkParams, eif_rate, lif_rate
from validation import simulate

from .claims import Claim

N = 1000
J_X = 0.1          # mV per external spike (small: the diffusion limit)
K_X = 4000         # external inputs per neuron
R_X = 20.0         # Hz
LEVELS = 20        # drive levels; N / LEVELS neurons each


def _params(neuron, tau_X):
    return NetworkParams(
        N=N, q_E=0.8, q_I=0.2, q_X=K_X / N,
        p_EE=0.0, p_EI=0.0, p_IE=0.0, p_II=0.0, p_EX=1.0, p_IX=1.0,
        j_EX=J_X * math.sqrt(N), j_IX=J_X * math.sqrt(N), r_X=R_X,
        tau_E=0.005, tau_I=0.005, tau_X=tau_X, neuron_E=neuron, neuron_I=neuron, name="fig0")


def _run(neuron, tau_X, mu_range, T, *, seed):
    params = _params(neuron, tau_X)
    net = sample_network(params, seed=seed)
    mu_X = neuron.tau_m * J_X * net.k_X * R_X                   # mV, per neuron
    sigma = np.sqrt(neuron.tau_m * J_X**2 * net.k_X * R_X)      # mV
    level = np.arange(N) % LEVELS
    mu_target = np.linspace(*mu_range, LEVELS)[level]
    drive = mu_target - (neuron.E_L + mu_X)                     # mu_j = E_L + drive + mu_X
    sim = simulate(net, params, T=T, burn_in=0.2, seed=seed, drive=drive, progress=False)
    mu = neuron.E_L + drive + mu_X
    if neuron.kind == "LIF":
        th = lif_rate(mu, sigma, neuron, tau_s=tau_X)
        white = lif_rate(mu, sigma, neuron)
    else:
        th = eif_rate(mu, sigma, neuron)
        white = th
    cnt = np.bincount(level, minlength=LEVELS)

    def m(x):
        return np.bincount(level, weights=x, minlength=LEVELS) / cnt
    r = m(sim.rate)
    se = np.sqrt(np.maximum(m(sim.rate**2) - r**2, 0) / (cnt - 1))
    return {"mu": m(mu), "sigma": float(np.mean(sigma)), "sim": r, "se": se,
            "theory": m(th), "white": m(white), "T": T}


def compute(quick: bool = False, *, seed: int = 0, **_) -> dict:
    """Simulate the LIF and EIF panels and compute their transfer curves.

    Each panel is one whole point (network and noise) with its own integer seed, ``seed``
    and ``seed + 1``, so the two panels are independent.
    """
    T = 5.0 if quick else 30.0
    lif = LIF(tau_m=0.02, E_L=0.0, theta=20.0, V_r=10.0, tau_ref=0.002)
    eif = EIF()
    return {"quick": quick,
            "lif": _run(lif, 0.001, (8.0, 26.0), T, seed=seed),
            "eif": _run(eif, 0.0, (-62.0, -50.0), T, seed=seed + 1)}


def plot(data):
    """Draw the LIF and EIF panels: simulated rates (with SE) against the theory, Hz vs mV."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, title in ((axes[0], "lif", "LIF, tau_s = 1 ms"), (axes[1], "eif", "EIF, delta synapses")):
        d = data[key]
        ax.errorbar(d["mu"], d["sim"], yerr=d["se"], fmt="o", ms=3, label="simulation +/- SE")
        ax.plot(d["mu"], d["theory"], "-", label="lif_rate, Fourcaud-Brunel" if key == "lif" else "eif_rate")
        if key == "lif":
            ax.plot(d["mu"], d["white"], "--", label="lif_rate, white noise")
        ax.set_yscale("log")
        ax.set_xlabel("mu (mV)")
        ax.set_ylabel("rate (Hz)")
        ax.set_title(f"{title} (sigma = {d['sigma']:.2f} mV)", fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle("Fig 0: transfer functions against single-neuron simulations", fontsize=10)
    fig.tight_layout()
    return fig


def _stats(d, min_rate=1.0):
    """Largest relative deviation where theory >= min_rate: (|max|, signed value at it, mu, max |z|)."""
    theory, sim, se, mu = (np.asarray(d[k], float) for k in ("theory", "sim", "se", "mu"))
    ok = theory >= min_rate
    if not ok.any():
        return float("nan"), float("nan"), float("nan"), float("nan")
    signed = (sim[ok] - theory[ok]) / theory[ok]
    i = int(np.argmax(np.abs(signed)))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (sim - theory) / se
    return float(abs(signed[i])), float(signed[i]), float(mu[ok][i]), float(np.nanmax(np.abs(z[ok])))


CLAIM_IDS = ("fig0.lif_within_10pct", "fig0.eif_within_10pct", "fig0.lif_filter_correction")
"""Ids of the claims ``check_claims`` returns, in order (pinned by tests/test_claims.py)."""


def check_claims(data) -> list:
    """Judge the transfer-function claims, each a ``Claim``; ids ``CLAIM_IDS``.

    The 10 % bar applies where the theory rate is >= 1 Hz; the largest deviation is printed
    with its sign (+: simulation above theory) and where it occurs.
    """
    claims = []
    for key, cid, name in (("lif", "fig0.lif_within_10pct", "LIF with Fourcaud-Brunel shift (tau_s = 1 ms)"),
                           ("eif", "fig0.eif_within_10pct", "EIF (delta synapses)")):
        rel, signed, mu, zmax = _stats(data[key])
        side = "above" if signed > 0 else "below"
        claims.append(Claim(cid, f"{name}: simulated rates within 10% of theory wherever theory >= "
                                 f"1 Hz (largest deviation {100 * signed:+.1f}%, simulation {side} "
                                 f"theory, at mu = {mu:.1f} mV; max |z| {zmax:.1f})",
                            bool(rel <= 0.10)))
    d = data["lif"]
    theory, sim, white = (np.asarray(d[k], float) for k in ("theory", "sim", "white"))
    ok = theory >= 1.0
    err_fb = np.mean(np.abs(sim[ok] / theory[ok] - 1)) if ok.any() else float("nan")
    err_w = np.mean(np.abs(sim[ok] / white[ok] - 1)) if ok.any() else float("nan")
    claims.append(Claim("fig0.lif_filter_correction",
                        f"LIF: the filter correction reduces the mean relative error "
                        f"({100 * err_w:.1f}% white noise -> {100 * err_fb:.1f}% shifted)",
                        bool(err_fb < err_w)))
    return claims

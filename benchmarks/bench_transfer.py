"""Speed of the transfer functions (a script that prints numbers, not a test).

Targets: 10^6 LIF evaluations < 1 s and 10^4 EIF evaluations < 2 s on one core.

Run:  python benchmarks/bench_transfer.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time

# one core: keep any threaded BLAS out of the picture (the kernels are elementwise numpy)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from meanfield.params import EIF, LIF  # noqa: E402
from meanfield.transfer import (DEFAULT_DV, eif_rate, eif_rate_dmu, lif_rate,  # noqa: E402
                                lif_rate_dmu, lif_rate_dsigma)


def best_time(func, repeat: int) -> float:
    """Best wall-clock time of ``repeat`` calls, s."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def lif_cases(rng, n):
    brunel = LIF(tau_m=0.02, E_L=0.0, theta=20.0, V_r=10.0, tau_ref=0.002)
    return brunel, {
        "full test domain: mu U[-60,60], sigma logU[0.05,40]":
            (rng.uniform(-60, 60, n), np.geomspace(0.05, 40, n)[rng.permutation(n)]),
        "noise-driven: mu U[0,20], sigma U[2,10]":
            (rng.uniform(0, 20, n), rng.uniform(2, 10, n)),
        "mean-driven: mu U[20,60], sigma U[0.5,5]":
            (rng.uniform(20, 60, n), rng.uniform(0.5, 5, n)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n-lif", type=int, default=10 ** 6)
    parser.add_argument("--n-eif", type=int, default=10 ** 4)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)

    print(f"LIF, {args.n_lif:.0e} points (target < 1 s for lif_rate)")
    neuron, cases = lif_cases(rng, args.n_lif)
    for label, (mu, sigma) in cases.items():
        for func in (lif_rate, lif_rate_dmu, lif_rate_dsigma):
            t = best_time(lambda: func(mu, sigma, neuron), args.repeat)
            ns = t / args.n_lif * 1e9
            print(f"  {func.__name__:16s} {t:7.3f} s  ({ns:6.0f} ns/point)  {label}")
        t = best_time(lambda: lif_rate(mu, sigma, neuron, 0.005), args.repeat)
        ns = t / args.n_lif * 1e9
        print(f"  {'lif_rate tau_s':16s} {t:7.3f} s  ({ns:6.0f} ns/point)  {label}")

    print(f"EIF (default neuron), {args.n_eif:.0e} points, dV = {DEFAULT_DV} mV "
          f"(target < 2 s for eif_rate)")
    eif = EIF()
    mu, sigma = rng.uniform(-70, -40, args.n_eif), rng.uniform(1, 20, args.n_eif)
    for func in (eif_rate, eif_rate_dmu):
        t = best_time(lambda: func(mu, sigma, eif), args.repeat)
        print(f"  {func.__name__:16s} {t:7.3f} s  ({t / args.n_eif * 1e6:6.1f} us/point)  "
              f"mu U[-70,-40], sigma U[1,20]")
    t = best_time(lambda: eif_rate(-60.0, 4.0, eif), args.repeat)
    print(f"  {'eif_rate 1 point':16s} {t * 1e3:7.1f} ms  (fixed cost of the voltage loop)")


if __name__ == "__main__":
    main()
